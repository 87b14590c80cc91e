/* The multi handle from C: many sessions on one thread, driven by epoll through the socket
 * callback and by ftp_multi_wait/ftp_multi_perform, plain and explicit FTPS; a cancel from
 * the loop; ftp_free of a client whose job runs; ftp_multi_free with jobs running; misuse. */
#include "check.h"

#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define FILE_SIZE (1u << 20)
#define MAX_CONNECTING 8

static const char *host, *user, *pass;
static char dir[128];
static unsigned char *expected;

/* Sessions started whose ftp_connect has not returned: the loops start more only below
 * MAX_CONNECTING, since a burst larger than a server's listen backlog loses connections. */
static int connecting = 0;

struct session {
    ftp_client *ftp;
    uint16_t port;
    int tls;
    size_t got;
    int same;
    int done;
    int status;
    int reply_after;
};

static int compare_block(void *userdata, const uint8_t *data, size_t len)
{
    struct session *s = (struct session *)userdata;
    if (s->got + len > FILE_SIZE || memcmp(expected + s->got, data, len) != 0) {
        s->same = 0;
    }
    s->got += len;
    return 0;
}

/* The job: what a blocking program would write. */
static int download_job(ftp_client *ftp, void *userdata)
{
    struct session *s = (struct session *)userdata;
    int rc = ftp_connect(ftp, host, s->port, 20000, NULL);
    connecting--;
    if (rc != FTP_OK) {
        return rc;
    }
    if ((rc = ftp_login(ftp, user, pass, NULL)) != FTP_OK || (rc = ftp_cwd(ftp, dir)) != FTP_OK) {
        return rc;
    }
    if ((rc = ftp_retrbinary(ftp, "RETR one.bin", compare_block, s, 16384, FTP_NO_REST)) != FTP_OK) {
        return rc;
    }
    return ftp_quit(ftp);
}

static void record_done(ftp_client *ftp, int status, void *userdata)
{
    struct session *s = (struct session *)userdata;
    s->done++;
    s->status = status;
    s->reply_after = ftp_last_reply_code(ftp);
    if (status != FTP_OK) {
        fprintf(stderr, "session on port %u: %s (%s)\n", s->port, ftp_strerror(status), ftp_last_error(ftp));
    }
}

static struct session *new_sessions(int n, uint16_t port, int tls, const char *ca)
{
    struct session *s = (struct session *)calloc((size_t)n, sizeof *s);
    for (int i = 0; i < n; i++) {
        s[i].ftp = tls ? ftp_tls_new() : ftp_new();
        s[i].port = port;
        s[i].tls = tls;
        s[i].same = 1;
        if (tls) {
            CHECK_RC(s[i].ftp, ftp_set_tls_ca_file(s[i].ftp, ca), FTP_OK);
        }
    }
    return s;
}

static void check_and_free(struct session *s, int n, const char *what)
{
    int good = 0;
    for (int i = 0; i < n; i++) {
        if (s[i].done == 1 && s[i].status == FTP_OK && s[i].got == FILE_SIZE && s[i].same && s[i].reply_after == 221 &&
            !ftp_is_connected(s[i].ftp)) {
            good++;
        }
        ftp_free(s[i].ftp);
    }
    printf("%s: %d of %d sessions downloaded the file whole\n", what, good, n);
    CHECK(good == n);
    free(s);
}

static int start_some(ftp_multi *m, struct session *s, int n, int *next)
{
    while (*next < n && connecting < MAX_CONNECTING) {
        connecting++;
        int rc = ftp_multi_start(m, s[*next].ftp, download_job, record_done, &s[*next]);
        if (rc != FTP_OK) {
            connecting--;
            return rc;
        }
        (*next)++;
    }
    return FTP_OK;
}

/* ---- epoll through the socket callback ---- */

static void watch(int fd, int what, void *userdata)
{
    int ep = *(int *)userdata;
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.data.fd = fd;
    if (what & FTP_POLL_REMOVE) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, &ev); /* may already be closed: ENOENT/EBADF */
        return;
    }
    ev.events = ((what & FTP_POLL_IN) ? EPOLLIN : 0u) | ((what & FTP_POLL_OUT) ? EPOLLOUT : 0u);
    if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT) {
        CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
    }
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void run_with_epoll(struct session *s, int n)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    ftp_multi *m = ftp_multi_new();
    CHECK_RC(NULL, ftp_multi_set_socket_callback(m, watch, &ep), FTP_OK);
    int next = 0, running = 0;
    double start = now();
    CHECK_RC(NULL, start_some(m, s, n, &next), FTP_OK);
    CHECK_RC(NULL, ftp_multi_socket_action(m, FTP_SOCKET_TIMEOUT, &running), FTP_OK);
    while ((running > 0 || next < n) && now() - start < 120) {
        long ms = -1;
        CHECK_RC(NULL, ftp_multi_timeout(m, &ms), FTP_OK);
        struct epoll_event events[64];
        int k = epoll_wait(ep, events, 64, ms < 0 || ms > 1000 ? 1000 : (int)ms);
        if (k <= 0) {
            CHECK_RC(NULL, ftp_multi_socket_action(m, FTP_SOCKET_TIMEOUT, &running), FTP_OK);
        }
        for (int i = 0; i < k; i++) {
            CHECK_RC(NULL, ftp_multi_socket_action(m, events[i].data.fd, &running), FTP_OK);
        }
        /* New jobs run at the next action (ftp_multi_timeout then says 0). */
        CHECK_RC(NULL, start_some(m, s, n, &next), FTP_OK);
    }
    printf("epoll loop: %d sessions in %.2f s\n", n, now() - start);
    CHECK(running == 0);
    ftp_multi_free(m);
    close(ep);
}

/* ---- the multi handle's own wait ---- */

static void run_with_wait(struct session *s, int n)
{
    ftp_multi *m = ftp_multi_new();
    int next = 0, running = 0;
    double start = now();
    while (now() - start < 120) {
        CHECK_RC(NULL, start_some(m, s, n, &next), FTP_OK);
        CHECK_RC(NULL, ftp_multi_perform(m, &running), FTP_OK);
        if (running == 0 && next == n) {
            break;
        }
        CHECK_RC(NULL, ftp_multi_wait(m, 1000, NULL), FTP_OK);
    }
    printf("wait/perform loop: %d sessions in %.2f s\n", n, now() - start);
    CHECK(running == 0);
    ftp_multi_free(m);
}

/* ---- stops ---- */

struct slow {
    size_t got;
    int done_calls;
    int status;
    int connected;
};

static int slow_block(void *userdata, const uint8_t *data, size_t len)
{
    (void)data;
    struct slow *s = (struct slow *)userdata;
    s->got += len;
    struct timespec pause = {0, 200000};
    nanosleep(&pause, NULL);
    return 0;
}

static uint16_t slow_port;

static int long_download_job(ftp_client *ftp, void *userdata)
{
    int rc = ftp_connect(ftp, host, slow_port, 20000, NULL);
    if (rc == FTP_OK) rc = ftp_login(ftp, user, pass, NULL);
    if (rc == FTP_OK) rc = ftp_cwd(ftp, dir);
    if (rc == FTP_OK) rc = ftp_retrbinary(ftp, "RETR big.bin", slow_block, userdata, 4096, FTP_NO_REST);
    return rc;
}

static void note_end(ftp_client *ftp, int status, void *userdata)
{
    struct slow *e = (struct slow *)userdata;
    e->done_calls++;
    e->status = status;
    e->connected = ftp_is_connected(ftp);
}

/* A job that makes no call: returns the code its userdata holds. */
struct fixed {
    int code;
    int done_calls;
    int status;
};

static int job_returns(ftp_client *ftp, void *userdata)
{
    (void)ftp;
    return ((struct fixed *)userdata)->code;
}

static void fixed_end(ftp_client *ftp, int status, void *userdata)
{
    (void)ftp;
    struct fixed *f = (struct fixed *)userdata;
    f->done_calls++;
    f->status = status;
}

/* Runs the loop until no job runs or `seconds` passed, calling `each` every turn. */
static int run_until_idle(ftp_multi *m, double seconds, void (*each)(void *), void *arg)
{
    int running = 1;
    double start = now();
    while (running > 0 && now() - start < seconds) {
        CHECK_RC(NULL, ftp_multi_wait(m, 100, NULL), FTP_OK);
        if (each) each(arg);
        CHECK_RC(NULL, ftp_multi_perform(m, &running), FTP_OK);
    }
    return running;
}

struct cancel_at {
    ftp_client *ftp;
    struct slow *got;
    int cancelled;
};

static void cancel_after_100k(void *arg)
{
    struct cancel_at *c = (struct cancel_at *)arg;
    if (!c->cancelled && c->got->got > 100000) {
        /* While the job waits in a call, the client is busy for everyone else. */
        CHECK_RC(c->ftp, ftp_voidcmd(c->ftp, "NOOP", NULL), FTP_ERR_BUSY);
        CHECK_RC(c->ftp, ftp_cancel(c->ftp), FTP_OK);
        c->cancelled = 1;
    }
}

static void stops(void)
{
    /* ftp_cancel from the loop: the download stops with ABOR, the connection stays. */
    {
        ftp_multi *m = ftp_multi_new();
        ftp_client *ftp = ftp_new();
        struct slow got = {0, 0, 0, 0};
        CHECK_RC(NULL, ftp_multi_start(m, ftp, long_download_job, note_end, &got), FTP_OK);
        CHECK_RC(NULL, ftp_multi_start(m, ftp, long_download_job, note_end, &got), FTP_ERR_BUSY); /* one job per client */
        struct cancel_at c = {ftp, &got, 0};
        CHECK(run_until_idle(m, 30, cancel_after_100k, &c) == 0);
        CHECK(c.cancelled);
        CHECK(got.done_calls == 1);
        CHECK(got.status == FTP_ERR_STOPPED);
        CHECK(got.connected);
        /* The job has ended: the client is the caller's again, in step with its server. */
        CHECK_RC(ftp, ftp_voidcmd(ftp, "NOOP", NULL), FTP_OK);
        ftp_multi_free(m);
        ftp_free(ftp);
        printf("cancel from the loop: stopped after %zu bytes\n", got.got);
    }
    /* A job's return value reaches its done callback; the client can run another job. */
    {
        ftp_multi *m = ftp_multi_new();
        ftp_client *ftp = ftp_new();
        struct fixed f = {FTP_ERR_PERM, 0, 0};
        int running = -1;
        CHECK_RC(NULL, ftp_multi_start(m, ftp, job_returns, fixed_end, &f), FTP_OK);
        CHECK_RC(NULL, ftp_multi_perform(m, &running), FTP_OK);
        CHECK(running == 0);
        CHECK(f.done_calls == 1 && f.status == FTP_ERR_PERM);
        f.code = 7;
        CHECK_RC(NULL, ftp_multi_start(m, ftp, job_returns, fixed_end, &f), FTP_OK);
        CHECK_RC(NULL, ftp_multi_perform(m, &running), FTP_OK);
        CHECK(f.done_calls == 2 && f.status == 7);
        ftp_multi_free(m);
        ftp_free(ftp);
    }
    /* ftp_free while the job runs: the job is cancelled, the client freed at its end, no
     * done callback; ASan and valgrind check that nothing leaks or is used after free. */
    {
        ftp_multi *m = ftp_multi_new();
        ftp_client *ftp = ftp_new();
        struct slow got = {0, 0, 0, 0};
        CHECK_RC(NULL, ftp_multi_start(m, ftp, long_download_job, note_end, &got), FTP_OK);
        int running = 1;
        double start = now();
        while (got.got == 0 && now() - start < 30) {
            CHECK_RC(NULL, ftp_multi_wait(m, 100, NULL), FTP_OK);
            CHECK_RC(NULL, ftp_multi_perform(m, &running), FTP_OK);
        }
        CHECK(got.got > 0);
        ftp_free(ftp);
        CHECK(run_until_idle(m, 30, NULL, NULL) == 0);
        CHECK(got.done_calls == 0);
        ftp_multi_free(m);
    }
    /* ftp_multi_free in the middle of a download: the job's calls fail without waiting, it
     * returns, the done callback says FTP_ERR_STOPPED. (The connection is closed unless the
     * server's answer to ABOR had already arrived: it is then still in step.) */
    {
        ftp_multi *m = ftp_multi_new();
        ftp_client *ftp = ftp_new();
        struct slow got = {0, 0, 0, 0};
        CHECK_RC(NULL, ftp_multi_start(m, ftp, long_download_job, note_end, &got), FTP_OK);
        CHECK(run_until_idle(m, 1.5, NULL, NULL) == 1);
        size_t before = got.got;
        CHECK(before > 0);
        double start = now();
        ftp_multi_free(m);
        double took = now() - start;
        CHECK(got.done_calls == 1);
        CHECK(got.status == FTP_ERR_STOPPED);
        /* At most a few blocks more were read: the job did not run the download on. */
        CHECK(got.got - before <= 16 * 4096);
        CHECK(took < 1.0);
        if (got.connected) {
            CHECK_RC(ftp, ftp_voidcmd(ftp, "NOOP", NULL), FTP_OK);
        }
        printf("ftp_multi_free mid-download: ended in %.3f s, %zu bytes after, connection %s\n", took,
               got.got - before, got.connected ? "kept (in step)" : "closed");
        ftp_free(ftp);
    }
}

static void misuse(void)
{
    ftp_multi *m = ftp_multi_new();
    ftp_client *ftp = ftp_new();
    long ms = 0;
    int running = -1;
    CHECK_RC(NULL, ftp_multi_timeout(m, &ms), FTP_OK);
    CHECK(ms == -1);
    CHECK_RC(NULL, ftp_multi_perform(m, &running), FTP_OK);
    CHECK(running == 0);
    struct fixed f = {FTP_ERR_PERM, 0, 0};
    CHECK_RC(NULL, ftp_multi_start(NULL, ftp, job_returns, NULL, &f), FTP_ERR_NULL_ARGUMENT);
    CHECK_RC(NULL, ftp_multi_start(m, NULL, job_returns, NULL, &f), FTP_ERR_NULL_ARGUMENT);
    CHECK_RC(NULL, ftp_multi_start(m, ftp, NULL, NULL, &f), FTP_ERR_NULL_ARGUMENT);
    CHECK_RC(NULL, ftp_multi_remove(m, ftp), FTP_ERR_WRONG_STATE);
    CHECK_RC(NULL, ftp_multi_wait(m, -1, NULL), FTP_ERR_INVALID_ARGUMENT);
    CHECK_RC(NULL, ftp_multi_timeout(m, NULL), FTP_ERR_NULL_ARGUMENT);
    CHECK_RC(NULL, ftp_multi_set_stack_size(m, 4096), FTP_OK); /* raised to the minimum */
    CHECK_RC(NULL, ftp_multi_start(m, ftp, job_returns, fixed_end, &f), FTP_OK);
    CHECK_RC(NULL, ftp_multi_timeout(m, &ms), FTP_OK);
    CHECK(ms == 0); /* a job waits to start */
    /* Removed before it ran: the job still runs (its calls would fail), done says STOPPED. */
    CHECK_RC(NULL, ftp_multi_remove(m, ftp), FTP_OK);
    CHECK(f.done_calls == 1 && f.status == FTP_ERR_STOPPED);
    CHECK_RC(NULL, ftp_multi_perform(m, &running), FTP_OK);
    CHECK(running == 0);
    ftp_multi_free(m);
    ftp_multi_free(NULL);
    ftp_free(ftp);
}

struct source {
    const unsigned char *data;
    size_t len, pos;
};

static int read_source(void *userdata, uint8_t *buf, size_t len, size_t *out_len)
{
    struct source *s = (struct source *)userdata;
    size_t n = s->len - s->pos < len ? s->len - s->pos : len;
    memcpy(buf, s->data + s->pos, n);
    s->pos += n;
    *out_len = n;
    return 0;
}

static void upload(ftp_client *ftp, const char *cmd)
{
    struct source src = {expected, FILE_SIZE, 0};
    CHECK_RC(ftp, ftp_storbinary(ftp, cmd, read_source, &src, 0, NULL, FTP_NO_REST), FTP_OK);
}

int main(void)
{
    host = env_or("FTPC_TEST_HOST", "127.0.0.1");
    user = env_or("FTPC_TEST_USER", "ftpc");
    pass = env_or("FTPC_TEST_PASS", "ftpc-pass");
    const char *ca = env_or("FTPC_TEST_CA", "");
    int n = atoi(env_or("FTPC_MULTI_SESSIONS", "50"));
    uint16_t vsftpd = env_port("FTPC_VSFTPD_PORT"), pureftpd = env_port("FTPC_PUREFTPD_PORT");
    uint16_t tls = env_port("FTPC_VSFTPD_TLS_PORT");
    slow_port = vsftpd;

    expected = (unsigned char *)malloc(FILE_SIZE);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < FILE_SIZE; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        expected[i] = (unsigned char)x;
    }
    /* The test files go up through a blocking session on each server. */
    snprintf(dir, sizeof dir, "cmulti-%d", (int)getpid());
    uint16_t ports[] = {vsftpd, pureftpd, tls};
    for (int p = 0; p < 3; p++) {
        ftp_client *ftp = p == 2 ? ftp_tls_new() : ftp_new();
        if (p == 2) CHECK_RC(ftp, ftp_set_tls_ca_file(ftp, ca), FTP_OK);
        CHECK_RC(ftp, ftp_connect(ftp, host, ports[p], 10000, NULL), FTP_OK);
        CHECK_RC(ftp, ftp_login(ftp, user, pass, NULL), FTP_OK);
        CHECK_RC(ftp, ftp_mkd(ftp, dir, NULL), FTP_OK);
        CHECK_RC(ftp, ftp_cwd(ftp, dir), FTP_OK);
        upload(ftp, "STOR one.bin");
        /* 32 MiB for the stop tests. */
        for (int i = 0; p == 0 && i < 32; i++) upload(ftp, i == 0 ? "STOR big.bin" : "APPE big.bin");
        CHECK_RC(ftp, ftp_quit(ftp), FTP_OK);
        ftp_free(ftp);
    }

    struct session *s = new_sessions(n, vsftpd, 0, ca);
    run_with_epoll(s, n);
    check_and_free(s, n, "vsftpd, epoll");
    s = new_sessions(n, pureftpd, 0, ca);
    run_with_wait(s, n);
    check_and_free(s, n, "pure-ftpd, ftp_multi_wait");
    s = new_sessions(n / 2, tls, 1, ca);
    run_with_epoll(s, n / 2);
    check_and_free(s, n / 2, "vsftpd explicit FTPS, epoll");
    stops();
    misuse();

    /* Clean up through a blocking session per server. */
    for (int p = 0; p < 3; p++) {
        ftp_client *ftp = p == 2 ? ftp_tls_new() : ftp_new();
        if (p == 2) ftp_set_tls_ca_file(ftp, ca);
        if (ftp_connect(ftp, host, ports[p], 10000, NULL) == FTP_OK && ftp_login(ftp, user, pass, NULL) == FTP_OK &&
            ftp_cwd(ftp, dir) == FTP_OK) {
            ftp_delete(ftp, "one.bin");
            ftp_delete(ftp, "big.bin");
            ftp_cwd(ftp, "..");
            ftp_rmd(ftp, dir);
        }
        ftp_free(ftp);
    }
    free(expected);
    return check_report("test_multi");
}
