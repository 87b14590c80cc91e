/*
 * multi_epoll: many downloads at once from one thread, with ftpc's multi handle driven by
 * an epoll loop (Linux).
 *
 *   multi_epoll HOST PORT USER PASSWORD FILE COUNT [AT_ONCE]
 *
 * Downloads FILE COUNT times over COUNT sessions, at most AT_ONCE (default 64) running at
 * a time, and checks that every copy has the size and the FNV-1a hash of the first. Each
 * session is a job: the same calls a blocking program makes (connect, login, retrbinary,
 * quit); the multi handle runs them on one thread, and the loop below only watches the
 * sockets the library names and calls it back.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <ftpc.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

/* Sessions connecting at once: servers accept connections at their own pace, and a burst
 * larger than their listen backlog (pure-ftpd: 9 with 50 clients) is lost in it. */
#define MAX_CONNECTING 8

struct session {
    const char *host, *user, *pass, *file;
    uint16_t port;
    uint64_t size, hash;
    int status;
};

static int connecting = 0;

static int hash_block(void *userdata, const uint8_t *data, size_t len)
{
    struct session *s = (struct session *)userdata;
    for (size_t i = 0; i < len; i++)
        s->hash = (s->hash ^ data[i]) * 1099511628211u;
    s->size += len;
    return 0;
}

/* The job: a blocking program's calls. Each call that would wait lets the loop go on. */
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

static int finished = 0, failed = 0;

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

/* The socket callback: epoll watches what the library asks for, level-triggered. */
static void watch(int fd, int what, void *userdata)
{
    int ep = *(int *)userdata;
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.data.fd = fd;
    if (what & FTP_POLL_REMOVE) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, &ev); /* the socket may be closed already */
        return;
    }
    ev.events = ((what & FTP_POLL_IN) ? EPOLLIN : 0u) | ((what & FTP_POLL_OUT) ? EPOLLOUT : 0u);
    if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT)
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: %s HOST PORT USER PASSWORD FILE COUNT [AT_ONCE]\n", argv[0]);
        return 2;
    }
    int count = atoi(argv[6]), at_once = argc > 7 ? atoi(argv[7]) : 64;
    if (count <= 0 || at_once <= 0)
        return 2;
    struct session *sessions = (struct session *)calloc((size_t)count, sizeof *sessions);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    ftp_multi *multi = ftp_multi_new();
    if (!sessions || ep < 0 || !multi)
        return 1;
    ftp_multi_set_socket_callback(multi, watch, &ep);

    int started = 0, running = 0, peak = 0;
    double t0 = now();
    while (finished < count) {
        /* Start what the limits allow; a started job runs at the next action. */
        while (started < count && started - finished < at_once && connecting < MAX_CONNECTING) {
            struct session *s = &sessions[started];
            s->host = argv[1], s->port = (uint16_t)atoi(argv[2]), s->user = argv[3];
            s->pass = argv[4], s->file = argv[5], s->hash = 14695981039346656037u;
            ftp_client *ftp = ftp_new();
            if (!ftp || ftp_multi_start(multi, ftp, download, done, s) != FTP_OK)
                return 1;
            connecting++;
            started++;
        }
        long timeout = -1;
        ftp_multi_timeout(multi, &timeout);
        struct epoll_event events[256];
        int n = epoll_wait(ep, events, 256, timeout < 0 || timeout > 1000 ? 1000 : (int)timeout);
        if (n <= 0)
            ftp_multi_socket_action(multi, FTP_SOCKET_TIMEOUT, &running);
        for (int i = 0; i < n; i++)
            ftp_multi_socket_action(multi, events[i].data.fd, &running);
        if (running > peak)
            peak = running;
    }
    double took = now() - t0;

    int same = 0;
    for (int i = 0; i < count; i++)
        if (sessions[i].status == FTP_OK && sessions[i].size == sessions[0].size &&
            sessions[i].hash == sessions[0].hash)
            same++;
    printf("%d downloads of %s (%llu bytes, fnv1a %016llx) in %.2f s from one thread, at most %d at once:"
           " %d identical, %d failed\n",
           count, argv[5], (unsigned long long)sessions[0].size, (unsigned long long)sessions[0].hash, took, peak,
           same, failed);
    ftp_multi_free(multi);
    close(ep);
    free(sessions);
    return same == count ? 0 : 1;
}
