/*
 * multi_bench: N sessions at once, from one thread through the multi handle or from N
 * threads through the blocking calls, each downloading one file; prints one JSON line.
 *
 *   multi_bench multi|multiK|threads HOST PORT USER PASS FILE N [CAFILE]
 *
 * multi: one thread, one multi handle over epoll; multiK: K such threads, each with its
 * share of the sessions; threads: a thread per session.
 * CAFILE given: explicit FTPS (ftp_tls_new, the CA trusted). Two phases, both modes:
 *   1. every session connects and logs in (at most 8 connecting at a time: the server's
 *      listen backlog), and stays logged in: the RSS with N idle sessions is measured;
 *   2. all N download FILE at once (RETR to a hashing callback) and quit: wall and CPU
 *      time of this phase, and the peak RSS.
 * RSS per session = (RSS at the end of phase 1, or peak) minus the RSS before phase 1.
 */
#define _GNU_SOURCE
#include <ftpc.h>

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTING 8

static const char *host, *user, *pass, *file, *cafile;
static uint16_t port;
static int n;

struct loop_state;

struct session {
    struct loop_state *owner;
    ftp_client *ftp;
    uint64_t size, hash;
    /* The word hash's state (see hash_block): four lanes, the words mixed so far, and the
     * bytes of a word not yet complete. */
    uint64_t lane[4], words, tail;
    unsigned tail_len;
    int status;
};
static struct session *sessions;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)r.ru_utime.tv_sec + (double)r.ru_utime.tv_usec / 1e6 + (double)r.ru_stime.tv_sec +
           (double)r.ru_stime.tv_usec / 1e6;
}

/* Resident set now, KiB (from /proc/self/statm). */
static long rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static long peak_rss_kib(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_maxrss;
}

/* The copy check: a 64-bit word hash in four lanes (FNV-1a's step on whole words), the
 * same whatever the blocks' boundaries. A byte-at-a-time FNV-1a was half of the client's
 * CPU in this benchmark (perf), which measured the hash more than the library. */
#define HASH_PRIME 1099511628211u

static void mix(struct session *s, uint64_t word)
{
    uint64_t *h = &s->lane[s->words++ & 3];
    *h = (*h ^ word) * HASH_PRIME;
}

static int hash_block(void *userdata, const uint8_t *data, size_t len)
{
    struct session *s = (struct session *)userdata;
    size_t i = 0;
    for (; s->tail_len && i < len; i++) {
        s->tail |= (uint64_t)data[i] << (8 * s->tail_len);
        if (++s->tail_len == 8) {
            mix(s, s->tail);
            s->tail = 0;
            s->tail_len = 0;
        }
    }
    for (; i + 8 <= len; i += 8) {
        uint64_t word;
        memcpy(&word, data + i, 8); /* little-endian, as the tail's bytes */
        mix(s, word);
    }
    for (; i < len; i++)
        s->tail |= (uint64_t)data[i] << (8 * s->tail_len++);
    s->size += len;
    return 0;
}

/* The hash of everything received: the lanes folded, with the last partial word. */
static uint64_t final_hash(struct session *s)
{
    uint64_t h = 14695981039346656037u;
    for (int k = 0; k < 4; k++)
        h = (h ^ s->lane[k]) * HASH_PRIME;
    return (h ^ s->tail ^ ((uint64_t)s->tail_len << 56)) * HASH_PRIME;
}

static ftp_client *new_client(void)
{
    ftp_client *ftp = cafile ? ftp_tls_new() : ftp_new();
    if (cafile)
        ftp_set_tls_ca_file(ftp, cafile);
    return ftp;
}

static int log_in(struct session *s)
{
    int rc = ftp_connect(s->ftp, host, port, 60000, NULL);
    if (rc == FTP_OK)
        rc = ftp_login(s->ftp, user, pass, NULL);
    return rc;
}

static int fetch(struct session *s)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "RETR %s", file);
    int rc = ftp_retrbinary(s->ftp, cmd, hash_block, s, 0, FTP_NO_REST);
    if (rc == FTP_OK)
        rc = ftp_quit(s->ftp);
    return rc;
}

/* ---- one thread, the multi handle ---- */

/* One event loop's state: a multi handle runs the sessions [first, first + count). */
struct loop_state {
    int first, count, connecting, finished;
    double runq_wait_s; /* time the download loop was ready to run but waited for a CPU */
};

/* Seconds the calling thread has waited on a run queue (Linux schedstat's second field),
 * -1 where the kernel does not say. */
static double runq_wait(void)
{
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    unsigned long long on_cpu = 0, waited = 0;
    int got = f ? fscanf(f, "%llu %llu", &on_cpu, &waited) : 0;
    if (f)
        fclose(f);
    return got == 2 ? (double)waited / 1e9 : -1;
}

static int login_job(ftp_client *ftp, void *userdata)
{
    (void)ftp;
    struct session *s = (struct session *)userdata;
    int rc = log_in(s);
    s->owner->connecting--;
    return rc;
}

static int fetch_job(ftp_client *ftp, void *userdata)
{
    (void)ftp;
    return fetch((struct session *)userdata);
}

static void job_done(ftp_client *ftp, int status, void *userdata)
{
    (void)ftp;
    struct session *s = (struct session *)userdata;
    s->owner->finished++;
    if (status != FTP_OK && s->status == FTP_OK) {
        s->status = status;
        fprintf(stderr, "session %d: %s: %s\n", (int)(s - sessions), ftp_strerror(status), ftp_last_error(ftp));
    }
}

static void watch(int fd, int what, void *userdata)
{
    int ep = *(int *)userdata;
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.data.fd = fd;
    if (what & FTP_POLL_REMOVE) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, &ev);
        return;
    }
    ev.events = ((what & FTP_POLL_IN) ? EPOLLIN : 0u) | ((what & FTP_POLL_OUT) ? EPOLLOUT : 0u);
    if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT)
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Runs `job` on every session of `st` until all have finished: as the connect limit allows
 * (`paced`) or all at once. */
static void loop(ftp_multi *m, int ep, struct loop_state *st, ftp_multi_job_cb job, int paced)
{
    int next = st->first, end = st->first + st->count, running = 0;
    st->finished = 0;
    while (st->finished < st->count) {
        while (next < end && (!paced || st->connecting < MAX_CONNECTING)) {
            if (ftp_multi_start(m, sessions[next].ftp, job, job_done, &sessions[next]) != FTP_OK)
                exit(1);
            st->connecting += paced;
            next++;
        }
        long ms = -1;
        ftp_multi_timeout(m, &ms);
        struct epoll_event events[256];
        int k = epoll_wait(ep, events, 256, ms < 0 || ms > 1000 ? 1000 : (int)ms);
        if (k <= 0)
            ftp_multi_socket_action(m, FTP_SOCKET_TIMEOUT, &running);
        for (int i = 0; i < k; i++)
            ftp_multi_socket_action(m, events[i].data.fd, &running);
    }
}

/* multi mode with several loops: each thread runs its own multi handle and epoll over its
 * share of the sessions (one loop per core, as event-driven servers run), logging in, then
 * downloading when all threads have logged in. */
static pthread_barrier_t loops_logged_in, loops_go;

static void *loop_thread(void *arg)
{
    struct loop_state *st = (struct loop_state *)arg;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    ftp_multi *m = ftp_multi_new();
    ftp_multi_set_socket_callback(m, watch, &ep);
    for (int i = st->first; i < st->first + st->count; i++)
        sessions[i].owner = st;
    loop(m, ep, st, login_job, 1);
    pthread_barrier_wait(&loops_logged_in);
    pthread_barrier_wait(&loops_go);
    double waited = runq_wait();
    loop(m, ep, st, fetch_job, 0);
    st->runq_wait_s = waited < 0 ? -1 : runq_wait() - waited;
    ftp_multi_free(m);
    close(ep);
    return NULL;
}

/* ---- N threads, the blocking calls ---- */

static sem_t connect_slots;
static pthread_barrier_t logged_in, go;

static void *thread_session(void *arg)
{
    struct session *s = (struct session *)arg;
    sem_wait(&connect_slots);
    s->status = log_in(s);
    sem_post(&connect_slots);
    pthread_barrier_wait(&logged_in);
    pthread_barrier_wait(&go);
    if (s->status == FTP_OK)
        s->status = fetch(s);
    if (s->status != FTP_OK)
        fprintf(stderr, "session %d: %s: %s\n", (int)(s - sessions), ftp_strerror(s->status), ftp_last_error(s->ftp));
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 8) {
        fprintf(stderr, "usage: %s multi|multiK|threads HOST PORT USER PASS FILE N [CAFILE]\n", argv[0]);
        return 2;
    }
    int threads = strcmp(argv[1], "threads") == 0;
    if (!threads && strncmp(argv[1], "multi", 5) != 0)
        return 2;
    host = argv[2], port = (uint16_t)atoi(argv[3]), user = argv[4], pass = argv[5], file = argv[6];
    n = atoi(argv[7]);
    if (n <= 0 || n > 100000)
        return 2;
    cafile = argc > 8 ? argv[8] : NULL;
    sessions = (struct session *)calloc((size_t)n, sizeof *sessions);
    /* Warm up what every session uses once (OpenSSL's tables, the library's first call). */
    ftp_client *warm = new_client();
    ftp_free(warm);
    long base = rss_kib();
    for (int i = 0; i < n; i++) {
        sessions[i].ftp = new_client();
    }

    double t_login = now(), wall = 0, cpu_used = 0, loop_runq_wait = -1;
    long idle = 0;
    if (!threads) {
        /* "multi" is one loop; "multiK" is K loops on K threads. */
        int loops = argv[1][5] ? atoi(argv[1] + 5) : 1;
        if (loops < 1)
            loops = 1;
        struct loop_state *states = (struct loop_state *)calloc((size_t)loops, sizeof *states);
        pthread_t *tids = (pthread_t *)calloc((size_t)loops, sizeof *tids);
        pthread_barrier_init(&loops_logged_in, NULL, (unsigned)loops + 1);
        pthread_barrier_init(&loops_go, NULL, (unsigned)loops + 1);
        for (int k = 0, first = 0; k < loops; k++) {
            states[k].first = first;
            states[k].count = n / loops + (k < n % loops);
            first += states[k].count;
            pthread_create(&tids[k], NULL, loop_thread, &states[k]);
        }
        pthread_barrier_wait(&loops_logged_in);
        t_login = now() - t_login;
        idle = rss_kib();
        double t0 = now(), c0 = cpu();
        pthread_barrier_wait(&loops_go);
        for (int k = 0; k < loops; k++)
            pthread_join(tids[k], NULL);
        wall = now() - t0, cpu_used = cpu() - c0;
        for (int k = 0; k < loops; k++)
            loop_runq_wait = states[k].runq_wait_s > loop_runq_wait ? states[k].runq_wait_s : loop_runq_wait;
        free(tids);
        free(states);
    } else {
        pthread_t *tids = (pthread_t *)calloc((size_t)n, sizeof *tids);
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        sem_init(&connect_slots, 0, MAX_CONNECTING);
        pthread_barrier_init(&logged_in, NULL, (unsigned)n + 1);
        pthread_barrier_init(&go, NULL, (unsigned)n + 1);
        for (int i = 0; i < n; i++)
            if (pthread_create(&tids[i], &attr, thread_session, &sessions[i]) != 0)
                return 1;
        pthread_barrier_wait(&logged_in);
        t_login = now() - t_login;
        idle = rss_kib();
        double t0 = now(), c0 = cpu();
        pthread_barrier_wait(&go);
        for (int i = 0; i < n; i++)
            pthread_join(tids[i], NULL);
        wall = now() - t0, cpu_used = cpu() - c0;
        free(tids);
    }
    long peak = peak_rss_kib();
    int ok = 0;
    uint64_t bytes = 0;
    for (int i = 0; i < n; i++)
        sessions[i].hash = final_hash(&sessions[i]);
    for (int i = 0; i < n; i++) {
        if (sessions[i].status == FTP_OK && sessions[i].size == sessions[0].size && sessions[i].hash == sessions[0].hash)
            ok++;
        bytes += sessions[i].size;
        ftp_free(sessions[i].ftp);
    }
    printf("{\"mode\": \"%s\", \"tls\": %s, \"sessions\": %d, \"ok\": %d, \"bytes\": %llu, \"login_s\": %.3f, "
           "\"wall_s\": %.3f, \"cpu_s\": %.3f, \"base_kib\": %ld, \"idle_kib\": %ld, \"peak_kib\": %ld, "
           "\"idle_kib_per_session\": %.1f, \"peak_kib_per_session\": %.1f, \"loop_runq_wait_s\": %.3f}\n",
           argv[1], cafile ? "true" : "false", n, ok, (unsigned long long)bytes, t_login, wall, cpu_used, base, idle,
           peak, (double)(idle - base) / n, (double)(peak - base) / n, loop_runq_wait);
    free(sessions);
    return ok == n ? 0 : 1;
}
