/* Soak test of the C API: N connect / login / PWD / quit cycles against a real server on
 * loopback (pure-ftpd by default), watching the process's own resident memory, open file
 * descriptors and threads. Even cycles reuse one long-lived handle (reconnecting it);
 * odd cycles use a fresh handle (ftp_new ... ftp_free), so both the per-connection and the
 * per-handle paths are soaked. Any failed call fails the test at once.
 *
 * At cycle 100, 1000, 10000, ... and N it prints VmRSS (from /proc/self/status), the
 * number of open descriptors (/proc/self/fd), the thread count, the elapsed time and the
 * rate. It fails when, between the baseline cycle (1000; N/5 for runs shorter than 2000
 * cycles) and cycle N, RSS grew by more than FTPC_SOAK_RSS_SLACK_KB (default 1024 kB),
 * or the descriptor or thread count grew at all.
 *
 * Usage: soak [CYCLES] [--no-rss-check]
 *   CYCLES           default $FTPC_SOAK_CYCLES, else 10000
 *   --no-rss-check   report RSS but do not judge it (under valgrind or ASan, whose own
 *                    allocators and quarantine make RSS meaningless); fds and threads
 *                    are still checked
 * Env: FTPC_SOAK_SERVER = pureftpd (default) or vsftpd; FTPC_TEST_HOST, FTPC_TEST_USER,
 *      FTPC_TEST_PASS, FTPC_PUREFTPD_PORT / FTPC_VSFTPD_PORT (source target/ftp-servers/env).
 * Not named test_*.c: tests/c/run.sh builds and runs it on its own, with a short count. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <dirent.h>
#include <stdint.h>
#include <time.h>

struct sample {
    long cycle;
    long rss_kb;
    long fds;
    long threads;
    double elapsed;
};

/* A "Name:   value kB" line of /proc/self/status, -1 when missing. */
static long status_field(const char *name)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long value = -1;
    size_t n = strlen(name);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, name, n) == 0 && line[n] == ':') {
            value = strtol(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return value;
}

static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the descriptor opendir itself holds */
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct sample take(long cycle, double start)
{
    struct sample s;
    s.cycle = cycle;
    s.rss_kb = status_field("VmRSS");
    s.fds = open_fds();
    s.threads = status_field("Threads");
    s.elapsed = now_s() - start;
    printf("soak: cycle %7ld  rss %6ld kB  fds %3ld  threads %2ld  %8.2f s  %7.1f cycles/s\n", s.cycle,
           s.rss_kb, s.fds, s.threads, s.elapsed, s.elapsed > 0 ? (double)s.cycle / s.elapsed : 0.0);
    fflush(stdout);
    return s;
}

static const char *host;
static const char *user;
static const char *pass;
static uint16_t port;

/* One cycle on `ftp`; 0 on success, else prints what failed and returns 1. */
static int cycle(ftp_client *ftp, long i)
{
    int rc = ftp_connect(ftp, host, port, 10000, NULL);
    const char *what = "ftp_connect";
    if (rc == FTP_OK) {
        what = "ftp_login";
        rc = ftp_login(ftp, user, pass, NULL);
    }
    if (rc == FTP_OK) {
        const char *cwd = NULL;
        what = "ftp_pwd";
        rc = ftp_pwd(ftp, &cwd);
        if (rc == FTP_OK && (cwd == NULL || cwd[0] != '/')) {
            fprintf(stderr, "soak: cycle %ld: PWD gave %s\n", i, cwd ? cwd : "(null)");
            return 1;
        }
    }
    if (rc == FTP_OK) {
        what = "ftp_quit";
        rc = ftp_quit(ftp);
    }
    if (rc != FTP_OK) {
        fprintf(stderr, "soak: cycle %ld: %s returned %d (%s): %s\n", i, what, rc, ftp_strerror(rc),
                ftp_last_error(ftp) ? ftp_last_error(ftp) : "(null)");
        ftp_close(ftp);
        return 1;
    }
    if (ftp_is_connected(ftp)) {
        fprintf(stderr, "soak: cycle %ld: still connected after ftp_quit\n", i);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long cycles = strtol(env_or("FTPC_SOAK_CYCLES", "10000"), NULL, 10);
    int judge_rss = 1;
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--no-rss-check") == 0)
            judge_rss = 0;
        else
            cycles = strtol(argv[a], NULL, 10);
    }
    if (cycles < 10) {
        fprintf(stderr, "usage: soak [CYCLES>=10] [--no-rss-check]\n");
        return 2;
    }
    long slack_kb = strtol(env_or("FTPC_SOAK_RSS_SLACK_KB", "1024"), NULL, 10);
    const char *server = env_or("FTPC_SOAK_SERVER", "pureftpd");
    host = env_or("FTPC_TEST_HOST", "127.0.0.1");
    user = env_or("FTPC_TEST_USER", "ftpc");
    pass = env_or("FTPC_TEST_PASS", "ftpc-pass");
    if (strcmp(server, "vsftpd") == 0)
        port = env_port("FTPC_VSFTPD_PORT");
    else if (strcmp(server, "pureftpd") == 0)
        port = env_port("FTPC_PUREFTPD_PORT");
    else {
        fprintf(stderr, "FTPC_SOAK_SERVER must be pureftpd or vsftpd, not %s\n", server);
        return 2;
    }
    long baseline = cycles >= 2000 ? 1000 : cycles / 5;
    printf("soak: %ld cycles (connect, login, PWD, quit) against %s on %s:%u; baseline at cycle %ld; "
           "RSS %s (slack %ld kB)\n",
           cycles, server, host, port, baseline, judge_rss ? "checked" : "not checked", slack_kb);

    ftp_client *reused = ftp_new();
    if (!reused) {
        fprintf(stderr, "soak: ftp_new returned NULL\n");
        return 1;
    }
    struct sample base = {0, 0, 0, 0, 0.0}, last = {0, 0, 0, 0, 0.0};
    double start = now_s(), slowest = 0;
    long slowest_cycle = 0, next_decade = 100;
    int failed = 0;
    for (long i = 1; i <= cycles && !failed; i++) {
        double t0 = now_s();
        if (i % 2 == 0) {
            failed = cycle(reused, i);
        } else {
            ftp_client *fresh = ftp_new();
            if (!fresh) {
                fprintf(stderr, "soak: cycle %ld: ftp_new returned NULL\n", i);
                failed = 1;
                break;
            }
            failed = cycle(fresh, i);
            ftp_free(fresh);
        }
        double dt = now_s() - t0;
        if (dt > slowest) {
            slowest = dt;
            slowest_cycle = i;
        }
        int decade = i == next_decade;
        if (decade)
            next_decade *= 10;
        if (decade || i == baseline || i == cycles) {
            struct sample s = take(i, start);
            if (i == baseline)
                base = s;
            last = s;
        }
    }
    ftp_free(reused);
    if (failed)
        return 1;

    printf("soak: slowest cycle %ld took %.1f ms\n", slowest_cycle, slowest * 1000);
    long grew = last.rss_kb - base.rss_kb;
    printf("soak: from cycle %ld to %ld: RSS %+ld kB, fds %+ld, threads %+ld; %.1f cycles/s overall\n",
           base.cycle, last.cycle, grew, last.fds - base.fds, last.threads - base.threads,
           (double)last.cycle / last.elapsed);
    CHECK(base.rss_kb > 0 && last.rss_kb > 0);
    if (judge_rss && grew > slack_kb)
        fprintf(stderr, "soak: RSS grew by %ld kB, more than %ld kB\n", grew, slack_kb);
    CHECK(!judge_rss || grew <= slack_kb);
    if (last.fds != base.fds)
        fprintf(stderr, "soak: %ld descriptors open at the end, %ld at the baseline\n", last.fds, base.fds);
    CHECK(last.fds == base.fds);
    CHECK(last.threads == base.threads);
    return check_report("soak");
}
