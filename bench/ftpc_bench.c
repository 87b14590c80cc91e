/*
 * ftpc_bench: the ftpc side of the benchmarks in bench/ (see docs/BENCHMARKS.md).
 *
 * One process runs one case, so that the harness (bench/bench.py) can take its wall time,
 * CPU seconds and peak RSS from wait4(2), exactly as for the peer clients (curl, lftp,
 * Python's ftplib).
 *
 *   ftpc_bench CMD [options]
 *
 * CMD (every one connects, logs in, does its work, and QUITs, unless said otherwise):
 *   retr-cb      RETR --path with ftp_retrbinary and a callback that discards each block, or
 *                with --file writes it there (write(2); the file is checked and emptied after)
 *                (--blocksize, 0 = the library's default of 64 KiB)
 *   retr-lines   RETR --path with ftp_retrlines (TYPE A) and a callback that counts the lines
 *                and their bytes (without line ends); --expect counts lines
 *   retr-fd      RETR --path with ftp_retrieve_to_fd into --file (default /dev/null,
 *                which takes splice(2); a regular file is truncated to 0 afterwards)
 *   pget         RETR --path with ftp_retrieve_segmented over --count connections (default
 *                4) into the regular file --file, checked against the size received
 *   stor-cb      STOR --path with ftp_storbinary, a read callback read(2)ing --file
 *   stor-fd      STOR --path with ftp_store_from_fd from --file (sendfile(2) when plain)
 *   many         --count RETRs over one control connection with ftp_retrbinary;
 *                --path is a printf pattern taking the index, e.g. "d/f%04d"
 *   noop         --count NOOPs (ftp_voidcmd)
 *   size         TYPE I, then --count SIZEs of --path (ftp_size)
 *   connect      --count times: connect, login, QUIT (no login when --count is 0)
 *   list         LIST of --path parsed by ftp_list; every entry's name and size are read
 *   mlsd         MLSD of --path parsed by ftp_mlsd (facts type;size;modify)
 *   splice-check whether splice(2) from a pipe into --file (default /dev/null) works
 *   tcp-copy     the single-stream loopback TCP limit: a forked sender sendfile(2)s --file
 *                over a loopback TCP connection; this process read(2)s it into a
 *                --blocksize buffer (default 256 KiB) and discards it. No FTP.
 *
 * Options: --host H (127.0.0.1) --port P (21) --user U --pass W --tls (explicit FTPS,
 *   PROT P) --ca FILE (CA file for --tls) --path REMOTE --file LOCAL --count N
 *   --blocksize N --expect N (fail unless at least N bytes/entries) --trace (debug level 2
 *   to stderr: shows the TLS version and cipher)
 *
 * Prints one line: "ok bytes=B ops=N entries=E secs=S" where secs is the time of the work
 * itself (after login, before QUIT). Exits 1 with a message on stderr on any failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftpc.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

static const char *host = "127.0.0.1";
static int port = 21;
static const char *user = "ftpc";
static const char *pass = "ftpc-pass";
static int use_tls = 0;
static const char *ca_file = NULL;
static const char *path = NULL;
static const char *local_file = NULL;
static long count = 1;
static size_t blocksize = 0;
static long long expect = -1;
static int trace = 0;

static uint64_t total_bytes = 0;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, ftp_client *c, int rc) {
    fprintf(stderr, "ftpc_bench: %s failed: %d %s: %s\n", what, rc, ftp_strerror(rc),
            c ? ftp_last_error(c) : "");
    exit(1);
}

static void die_errno(const char *what) {
    fprintf(stderr, "ftpc_bench: %s: %s\n", what, strerror(errno));
    exit(1);
}

#define CHECK(what, c, call)                  \
    do {                                      \
        int rc_ = (call);                     \
        if (rc_ != FTP_OK) die(what, c, rc_); \
    } while (0)

static ftp_client *new_client(void) {
    ftp_client *c = use_tls ? ftp_tls_new() : ftp_new();
    if (!c) {
        fprintf(stderr, "ftpc_bench: out of memory\n");
        exit(1);
    }
    if (use_tls && ca_file) CHECK("ftp_set_tls_ca_file", c, ftp_set_tls_ca_file(c, ca_file));
    if (trace) CHECK("ftp_set_debuglevel", c, ftp_set_debuglevel(c, 2));
    return c;
}

static ftp_client *open_session(void) {
    ftp_client *c = new_client();
    CHECK("ftp_connect", c, ftp_connect(c, host, (uint16_t)port, 30000, NULL));
    CHECK("ftp_login", c, ftp_login(c, user, pass, NULL));
    return c;
}

static void close_session(ftp_client *c) {
    CHECK("ftp_quit", c, ftp_quit(c));
    ftp_free(c);
}

static int discard(void *userdata, const uint8_t *data, size_t len) {
    (void)userdata;
    (void)data;
    total_bytes += len;
    return 0;
}

/* What a program saving a download does with each block: write(2) it whole. */
static int write_block(void *userdata, const uint8_t *data, size_t len) {
    int fd = *(int *)userdata;
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return 1;
        data += n, len -= (size_t)n, total_bytes += (uint64_t)n;
    }
    return 0;
}

/* A downloaded file must hold every byte received; it is then emptied, so that runs do not
 * keep hundreds of MiB on tmpfs. */
static int check_and_empty(int fd, const char *path, uint64_t got) {
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        if ((uint64_t)st.st_size != got) {
            fprintf(stderr, "ftpc_bench: %s holds %lld bytes, %" PRIu64 " received\n", path,
                    (long long)st.st_size, got);
            return 1;
        }
        if (ftruncate(fd, 0) != 0) die_errno("ftruncate");
    }
    return 0;
}

static long long line_count = 0;

static int count_line(void *userdata, const char *line, size_t len) {
    (void)userdata;
    (void)line;
    total_bytes += len;
    line_count++;
    return 0;
}

static int read_fd(void *userdata, uint8_t *buf, size_t len, size_t *out_len) {
    int fd = *(int *)userdata;
    for (;;) {
        ssize_t n = read(fd, buf, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return 1;
        *out_len = (size_t)n;
        total_bytes += (uint64_t)n;
        return 0;
    }
}

static const char *need(const char *value, const char *name) {
    if (!value) {
        fprintf(stderr, "ftpc_bench: %s is required\n", name);
        exit(2);
    }
    return value;
}

static char *retr_cmd(const char *name) {
    size_t n = strlen(name) + 6;
    char *cmd = malloc(n);
    if (!cmd) die_errno("malloc");
    snprintf(cmd, n, "RETR %s", name);
    return cmd;
}

static int splice_check(const char *file) {
    int p[2];
    if (pipe(p) != 0) die_errno("pipe");
    char buf[4096];
    memset(buf, 'x', sizeof buf);
    if (write(p[1], buf, sizeof buf) != (ssize_t)sizeof buf) die_errno("write to pipe");
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) die_errno(file);
    ssize_t n = splice(p[0], NULL, fd, NULL, sizeof buf, SPLICE_F_MOVE);
    if (n < 0) {
        printf("splice to %s: failed: %s\n", file, strerror(errno));
        return 1;
    }
    printf("splice to %s: ok (%zd bytes)\n", file, n);
    return 0;
}

/* The loopback TCP limit: sendfile on one side, read into a buffer on the other, as in a
 * RETR from a server that uses sendfile (vsftpd, pure-ftpd) into a client's buffer. */
static int tcp_copy(void) {
    const char *file = need(local_file, "--file");
    size_t bs = blocksize ? blocksize : 256 * 1024;
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ls < 0) die_errno("socket");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0) die_errno("bind");
    if (listen(ls, 1) != 0) die_errno("listen");
    socklen_t alen = sizeof a;
    if (getsockname(ls, (struct sockaddr *)&a, &alen) != 0) die_errno("getsockname");
    pid_t pid = fork();
    if (pid < 0) die_errno("fork");
    if (pid == 0) {
        int in = open(file, O_RDONLY | O_CLOEXEC);
        if (in < 0) die_errno(file);
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0) die_errno("connect");
        for (;;) {
            ssize_t n = sendfile(s, in, NULL, 1 << 20);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) die_errno("sendfile");
            if (n == 0) break;
        }
        close(s);
        _exit(0);
    }
    int s = accept(ls, NULL, NULL);
    if (s < 0) die_errno("accept");
    char *buf = malloc(bs);
    if (!buf) die_errno("malloc");
    double t0 = now();
    for (;;) {
        ssize_t n = read(s, buf, bs);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) die_errno("read");
        if (n == 0) break;
        total_bytes += (uint64_t)n;
    }
    double secs = now() - t0;
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "ftpc_bench: the sender failed\n");
        return 1;
    }
    printf("ok bytes=%" PRIu64 " ops=1 entries=0 secs=%.6f\n", total_bytes, secs);
    return 0;
}

static void usage(void) {
    fprintf(stderr,
            "usage: ftpc_bench retr-cb|retr-lines|retr-fd|pget|stor-cb|stor-fd|many|noop|size|connect|list|mlsd|"
            "splice-check|tcp-copy\n"
            "       [--host H] [--port P] [--user U] [--pass W] [--tls] [--ca FILE] [--path P]\n"
            "       [--file F] [--count N] [--blocksize N] [--expect N] [--trace]\n");
    exit(2);
}

int main(int argc, char **argv) {
    if (argc < 2) usage();
    const char *cmd = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--tls")) { use_tls = 1; continue; }
        if (!strcmp(a, "--trace")) { trace = 1; continue; }
        if (!v) usage();
        if (!strcmp(a, "--host")) host = v;
        else if (!strcmp(a, "--port")) port = atoi(v);
        else if (!strcmp(a, "--user")) user = v;
        else if (!strcmp(a, "--pass")) pass = v;
        else if (!strcmp(a, "--ca")) ca_file = v;
        else if (!strcmp(a, "--path")) path = v;
        else if (!strcmp(a, "--file")) local_file = v;
        else if (!strcmp(a, "--count")) count = atol(v);
        else if (!strcmp(a, "--blocksize")) blocksize = (size_t)strtoull(v, NULL, 10);
        else if (!strcmp(a, "--expect")) expect = atoll(v);
        else usage();
        i++;
    }
    if (!strcmp(cmd, "splice-check")) return splice_check(local_file ? local_file : "/dev/null");
    if (!strcmp(cmd, "tcp-copy")) return tcp_copy();

    long ops = 0;
    long long entries = 0;
    double t0, secs;

    if (!strcmp(cmd, "connect")) {
        ftp_client *c = new_client();
        t0 = now();
        for (long i = 0; i < count; i++) {
            CHECK("ftp_connect", c, ftp_connect(c, host, (uint16_t)port, 30000, NULL));
            CHECK("ftp_login", c, ftp_login(c, user, pass, NULL));
            CHECK("ftp_quit", c, ftp_quit(c));
            ops++;
        }
        secs = now() - t0;
        ftp_free(c);
        printf("ok bytes=0 ops=%ld entries=0 secs=%.6f\n", ops, secs);
        return 0;
    }

    ftp_client *c = open_session();
    t0 = now();
    if (!strcmp(cmd, "retr-cb")) {
        char *rc = retr_cmd(need(path, "--path"));
        if (local_file) {
            int fd = open(local_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            if (fd < 0) die_errno(local_file);
            CHECK("ftp_retrbinary", c, ftp_retrbinary(c, rc, write_block, &fd, blocksize, FTP_NO_REST));
            if (check_and_empty(fd, local_file, total_bytes)) return 1;
            close(fd);
        } else {
            CHECK("ftp_retrbinary", c, ftp_retrbinary(c, rc, discard, NULL, blocksize, FTP_NO_REST));
        }
        free(rc);
        ops = 1;
    } else if (!strcmp(cmd, "retr-lines")) {
        char *rc = retr_cmd(need(path, "--path"));
        CHECK("ftp_retrlines", c, ftp_retrlines(c, rc, count_line, NULL));
        free(rc);
        entries = line_count;
        ops = 1;
    } else if (!strcmp(cmd, "retr-fd")) {
        const char *out = local_file ? local_file : "/dev/null";
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) die_errno(out);
        uint64_t got = 0;
        CHECK("ftp_retrieve_to_fd",
              c, ftp_retrieve_to_fd(c, need(path, "--path"), fd, FTP_NO_REST, NULL, NULL, &got));
        total_bytes = got;
        if (check_and_empty(fd, out, got)) return 1;
        close(fd);
        ops = 1;
    } else if (!strcmp(cmd, "pget")) {
        const char *out = need(local_file, "--file");
        int fd = open(out, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) die_errno(out);
        uint64_t got = 0;
        int connections = 0;
        CHECK("ftp_retrieve_segmented", c,
              ftp_retrieve_segmented(c, need(path, "--path"), fd, count > 0 ? (int)count : 4, NULL, NULL, &got,
                                     &connections));
        total_bytes = got;
        struct stat st;
        if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != got) {
            fprintf(stderr, "ftpc_bench: %s does not hold the %" PRIu64 " bytes received\n", out, got);
            return 1;
        }
        close(fd);
        entries = connections;
        ops = 1;
    } else if (!strcmp(cmd, "stor-cb") || !strcmp(cmd, "stor-fd")) {
        const char *in = need(local_file, "--file");
        int fd = open(in, O_RDONLY | O_CLOEXEC);
        if (fd < 0) die_errno(in);
        if (cmd[5] == 'c') {
            const char *name = need(path, "--path");
            size_t n = strlen(name) + 6;
            char *sc = malloc(n);
            if (!sc) die_errno("malloc");
            snprintf(sc, n, "STOR %s", name);
            CHECK("ftp_storbinary", c, ftp_storbinary(c, sc, read_fd, &fd, blocksize, NULL, FTP_NO_REST));
            free(sc);
        } else {
            uint64_t sent = 0;
            CHECK("ftp_store_from_fd",
                  c, ftp_store_from_fd(c, need(path, "--path"), fd, FTP_NO_REST, 0, NULL, NULL, &sent));
            total_bytes = sent;
        }
        close(fd);
        ops = 1;
    } else if (!strcmp(cmd, "many")) {
        const char *pattern = need(path, "--path");
        char name[4096], rc[4200];
        for (long i = 0; i < count; i++) {
            snprintf(name, sizeof name, pattern, (int)i);
            snprintf(rc, sizeof rc, "RETR %s", name);
            CHECK("ftp_retrbinary", c, ftp_retrbinary(c, rc, discard, NULL, blocksize, FTP_NO_REST));
            ops++;
        }
    } else if (!strcmp(cmd, "noop")) {
        for (long i = 0; i < count; i++) {
            CHECK("ftp_voidcmd NOOP", c, ftp_voidcmd(c, "NOOP", NULL));
            ops++;
        }
    } else if (!strcmp(cmd, "size")) {
        const char *name = need(path, "--path");
        CHECK("TYPE I", c, ftp_voidcmd(c, "TYPE I", NULL));
        for (long i = 0; i < count; i++) {
            int64_t sz = -1;
            CHECK("ftp_size", c, ftp_size(c, name, &sz));
            if (sz < 0) {
                fprintf(stderr, "ftpc_bench: no size for %s\n", name);
                return 1;
            }
            ops++;
        }
    } else if (!strcmp(cmd, "list") || !strcmp(cmd, "mlsd")) {
        ftp_listing *l = NULL;
        if (cmd[0] == 'l')
            CHECK("ftp_list", c, ftp_list(c, need(path, "--path"), &l));
        else
            CHECK("ftp_mlsd", c, ftp_mlsd(c, need(path, "--path"), "type;size;modify", &l));
        size_t n = ftp_listing_count(l);
        uint64_t names = 0;
        for (size_t i = 0; i < n; i++) {
            const ftp_entry *e = ftp_listing_get(l, i);
            size_t len = 0;
            if (ftp_entry_name(e, &len)) names += len;
            if (ftp_entry_type(e) == FTP_ENTRY_FILE) {
                int64_t sz = ftp_entry_size(e);
                if (sz > 0) total_bytes += (uint64_t)sz;
                entries++;
            }
        }
        ftp_listing_free(l);
        ops = 1;
        (void)names;
    } else {
        usage();
    }
    secs = now() - t0;
    close_session(c);
    long long got = (!strcmp(cmd, "list") || !strcmp(cmd, "mlsd") || !strcmp(cmd, "retr-lines"))
                        ? entries
                        : (long long)total_bytes;
    if (expect >= 0 && got < expect) {
        fprintf(stderr, "ftpc_bench: %s: got %lld, expected at least %lld\n", cmd, got, expect);
        return 1;
    }
    printf("ok bytes=%" PRIu64 " ops=%ld entries=%lld secs=%.6f\n", total_bytes, ops, entries, secs);
    return 0;
}
