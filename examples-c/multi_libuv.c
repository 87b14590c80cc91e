/*
 * multi_libuv: many downloads at once from one thread, with ftpc's multi handle driven by
 * libuv (a uv_poll_t per socket the library names, one uv_timer_t for its timeout).
 *
 *   multi_libuv HOST PORT USER PASSWORD FILE COUNT [AT_ONCE]
 *
 * As multi_epoll: FILE downloaded COUNT times, at most AT_ONCE (default 64) sessions at a
 * time, every copy checked against the first (size and FNV-1a hash).
 */
#define _POSIX_C_SOURCE 200809L /* what <uv.h> needs under -std=c11 */
#include <ftpc.h>
#include <uv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONNECTING 8 /* see multi_epoll.c */
#define MAX_FD 65536

struct session {
    const char *host, *user, *pass, *file;
    uint16_t port;
    uint64_t size, hash;
    int status;
};

static ftp_multi *multi;
static uv_loop_t *loop;
static uv_timer_t timer;
static uv_poll_t *polls[MAX_FD]; /* the watch of each socket, by descriptor */
static struct session *sessions;
static int count, at_once, started, finished, failed, connecting, running, peak;
static char **args;

static int hash_block(void *userdata, const uint8_t *data, size_t len)
{
    struct session *s = (struct session *)userdata;
    for (size_t i = 0; i < len; i++)
        s->hash = (s->hash ^ data[i]) * 1099511628211u;
    s->size += len;
    return 0;
}

static int download(ftp_client *ftp, void *userdata)
{
    struct session *s = (struct session *)userdata;
    int rc = ftp_connect(ftp, s->host, s->port, 30000, NULL);
    connecting--;
    if (rc == FTP_OK)
        rc = ftp_login(ftp, s->user, s->pass, NULL);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "RETR %s", s->file);
    if (rc == FTP_OK)
        rc = ftp_retrbinary(ftp, cmd, hash_block, s, 0, FTP_NO_REST);
    if (rc == FTP_OK)
        rc = ftp_quit(ftp);
    return rc;
}

static void done(ftp_client *ftp, int status, void *userdata)
{
    struct session *s = (struct session *)userdata;
    s->status = status;
    finished++;
    if (status != FTP_OK) {
        failed++;
        fprintf(stderr, "session failed: %s: %s\n", ftp_strerror(status), ftp_last_error(ftp));
    }
    ftp_free(ftp);
}

static void start_more(void);

/* After every action: new jobs, and the timer set to what the library asks. */
static void after_action(void)
{
    if (running > peak)
        peak = running;
    start_more();
    long ms = -1;
    ftp_multi_timeout(multi, &ms);
    if (ms < 0 && started == count)
        uv_timer_stop(&timer);
    else
        uv_timer_start(&timer, NULL, ms < 0 ? 1000 : (uint64_t)ms, 0);
}

static void on_timer(uv_timer_t *t)
{
    (void)t;
    ftp_multi_socket_action(multi, FTP_SOCKET_TIMEOUT, &running);
    after_action();
}

static void on_poll(uv_poll_t *handle, int status, int events)
{
    (void)status;
    (void)events;
    /* An error status is also the socket's to report: the library reads it. */
    ftp_multi_socket_action(multi, (int)(intptr_t)handle->data, &running);
    after_action();
}

static void free_poll(uv_handle_t *handle)
{
    free(handle);
}

/* The socket callback: a uv_poll_t per socket, stopped and closed when told. */
static void watch(int fd, int what, void *userdata)
{
    (void)userdata;
    if (fd < 0 || fd >= MAX_FD)
        return;
    if (what & FTP_POLL_REMOVE) {
        if (polls[fd]) {
            uv_poll_stop(polls[fd]);
            uv_close((uv_handle_t *)polls[fd], free_poll);
            polls[fd] = NULL;
        }
        return;
    }
    if (!polls[fd]) {
        polls[fd] = (uv_poll_t *)malloc(sizeof(uv_poll_t));
        uv_poll_init_socket(loop, polls[fd], fd);
        polls[fd]->data = (void *)(intptr_t)fd;
    }
    uv_poll_start(polls[fd], ((what & FTP_POLL_IN) ? UV_READABLE : 0) | ((what & FTP_POLL_OUT) ? UV_WRITABLE : 0),
                  on_poll);
}

static void start_more(void)
{
    while (started < count && started - finished < at_once && connecting < MAX_CONNECTING) {
        struct session *s = &sessions[started];
        s->host = args[1], s->port = (uint16_t)atoi(args[2]), s->user = args[3];
        s->pass = args[4], s->file = args[5], s->hash = 14695981039346656037u;
        ftp_client *ftp = ftp_new();
        if (!ftp || ftp_multi_start(multi, ftp, download, done, s) != FTP_OK) {
            fprintf(stderr, "cannot start a session\n");
            exit(1);
        }
        connecting++;
        started++;
    }
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: %s HOST PORT USER PASSWORD FILE COUNT [AT_ONCE]\n", argv[0]);
        return 2;
    }
    args = argv;
    count = atoi(argv[6]);
    at_once = argc > 7 ? atoi(argv[7]) : 64;
    if (count <= 0 || at_once <= 0)
        return 2;
    sessions = (struct session *)calloc((size_t)count, sizeof *sessions);
    loop = uv_default_loop();
    multi = ftp_multi_new();
    if (!sessions || !multi)
        return 1;
    ftp_multi_set_socket_callback(multi, watch, NULL);
    uv_timer_init(loop, &timer);
    uint64_t t0 = uv_hrtime();
    start_more();
    uv_timer_start(&timer, on_timer, 0, 0);
    while (finished < count)
        uv_run(loop, UV_RUN_ONCE);
    double took = (double)(uv_hrtime() - t0) / 1e9;

    int same = 0;
    for (int i = 0; i < count; i++)
        if (sessions[i].status == FTP_OK && sessions[i].size == sessions[0].size &&
            sessions[i].hash == sessions[0].hash)
            same++;
    printf("%d downloads of %s (%llu bytes, fnv1a %016llx) in %.2f s from one thread (libuv), at most %d at once:"
           " %d identical, %d failed\n",
           count, argv[5], (unsigned long long)sessions[0].size, (unsigned long long)sessions[0].hash, took, peak,
           same, failed);
    ftp_multi_free(multi);
    uv_close((uv_handle_t *)&timer, NULL);
    for (int fd = 0; fd < MAX_FD; fd++)
        if (polls[fd]) {
            uv_poll_stop(polls[fd]);
            uv_close((uv_handle_t *)polls[fd], free_poll);
            polls[fd] = NULL;
        }
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    free(sessions);
    return same == count ? 0 : 1;
}
