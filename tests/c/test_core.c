/* The core C API against real servers (vsftpd, pure-ftpd, IPv4 and IPv6) and bad input. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_version_and_strerror(void)
{
    char expect[64];
    snprintf(expect, sizeof expect, "%d.%d.%d", FTPC_VERSION_MAJOR, FTPC_VERSION_MINOR, FTPC_VERSION_PATCH);
    CHECK(strcmp(expect, ftp_version()) == 0);
    CHECK(strcmp(FTPC_VERSION_STRING, ftp_version()) == 0);
    for (int code = -40; code <= 1; code++)
        CHECK(ftp_strerror(code) != NULL);
    CHECK(strcmp(ftp_strerror(FTP_ERR_TEMP), ftp_strerror(FTP_ERR_PERM)) != 0);
    CHECK(strcmp(ftp_strerror(-999), "unknown status code") == 0);
    CHECK(FTP_OK == 0 && FTP_ERR_REPLY < 0 && FTP_ERR_NETRC < 0);
}

static void test_null_and_state(void)
{
    ftp_free(NULL);
    CHECK_RC(NULL, ftp_connect(NULL, "127.0.0.1", 21, 0, NULL), FTP_ERR_NULL_ARGUMENT);
    CHECK_RC(NULL, ftp_login(NULL, "u", "p", NULL), FTP_ERR_NULL_ARGUMENT);
    CHECK(ftp_getwelcome(NULL) == NULL);
    CHECK(ftp_last_reply_code(NULL) == 0);

    ftp_client *ftp = ftp_new();
    CHECK(ftp != NULL);
    CHECK_RC(ftp, ftp_connect(ftp, NULL, 21, 0, NULL), FTP_ERR_NULL_ARGUMENT);
    CHECK(strstr(ftp_last_error(ftp), "host") != NULL);
    CHECK(ftp_last_error_code(ftp) == FTP_ERR_NULL_ARGUMENT);
    CHECK(ftp_getwelcome(ftp) == NULL);
    const char *out = "untouched";
    CHECK_RC(ftp, ftp_pwd(ftp, &out), FTP_ERR_WRONG_STATE);
    CHECK(strcmp(out, "untouched") == 0);
    CHECK_RC(ftp, ftp_pwd(ftp, NULL), FTP_ERR_NULL_ARGUMENT);
    CHECK_RC(ftp, ftp_cwd(ftp, NULL), FTP_ERR_NULL_ARGUMENT);
    CHECK_RC(ftp, ftp_rename(ftp, "a", NULL), FTP_ERR_NULL_ARGUMENT);
    CHECK_RC(ftp, ftp_connect(ftp, "127.0.0.1", 21, -5, NULL), FTP_ERR_INVALID_ARGUMENT);
    CHECK_RC(ftp, ftp_set_timeout_ms(ftp, -1), FTP_ERR_INVALID_ARGUMENT);
    CHECK_RC(ftp, ftp_set_timeout_ms(ftp, 0), FTP_OK);
    CHECK_RC(ftp, ftp_set_encoding(ftp, "koi8-r"), FTP_ERR_INVALID_ARGUMENT);
    CHECK_RC(ftp, ftp_set_debuglevel(ftp, -1), FTP_ERR_INVALID_ARGUMENT);
    CHECK_RC(ftp, ftp_connect(ftp, "127.0.0.1", 21, 1000, "not-an-ip"), FTP_ERR_INVALID_ARGUMENT);
    /* Nothing listens on port 1: connection refused is an I/O error. */
    CHECK_RC(ftp, ftp_connect(ftp, "127.0.0.1", 1, 2000, NULL), FTP_ERR_IO);
    CHECK(ftp_is_connected(ftp) == 0);
    CHECK(ftp_last_reply_code(ftp) == 0);
    const char *addr = "untouched";
    uint16_t addr_port = 7;
    CHECK_RC(ftp, ftp_peer_address(ftp, &addr, &addr_port), FTP_ERR_WRONG_STATE);
    CHECK_RC(ftp, ftp_local_address(ftp, &addr, &addr_port), FTP_ERR_WRONG_STATE);
    CHECK(strcmp(addr, "untouched") == 0 && addr_port == 7);
    /* Nothing runs: there is nothing to cancel, and nothing is remembered. */
    CHECK_RC(ftp, ftp_cancel(ftp), FTP_ERR_WRONG_STATE);
    CHECK(ftp_last_error_code(NULL) == FTP_ERR_NULL_ARGUMENT);
    CHECK_RC(ftp, ftp_close(ftp), FTP_OK);
    CHECK_RC(ftp, ftp_quit(ftp), FTP_ERR_WRONG_STATE);
    ftp_free(ftp);
}

/* ftp_cancel from another thread ends a wait for a greeting that never comes (a listener
   that never accepts) within its 50 ms tick, long before the 10 s timeout. */
struct canceller { ftp_client *ftp; int rc; };

static void *cancel_later(void *arg)
{
    struct canceller *c = (struct canceller *)arg;
    struct timespec t = {0, 200 * 1000 * 1000};
    nanosleep(&t, NULL);
    c->rc = ftp_cancel(c->ftp);
    return NULL;
}

static void test_cancel_waits(void)
{
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(listener >= 0 && bind(listener, (struct sockaddr *)&addr, sizeof addr) == 0 && listen(listener, 4) == 0);
    CHECK(getsockname(listener, (struct sockaddr *)&addr, &len) == 0);
    ftp_client *ftp = ftp_new();
    struct canceller c = {ftp, -100};
    pthread_t thread;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(pthread_create(&thread, NULL, cancel_later, &c) == 0);
    CHECK_RC(ftp, ftp_connect(ftp, "127.0.0.1", ntohs(addr.sin_port), 10000, NULL), FTP_ERR_STOPPED);
    pthread_join(thread, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(c.rc == FTP_OK);
    CHECK(waited > 0.15 && waited < 2.0);
    CHECK(strstr(ftp_last_error(ftp), "cancelled") != NULL);
    CHECK(ftp_is_connected(ftp) == 0);
    ftp_free(ftp);
    close(listener);
}

struct trace { char text[8192]; size_t len; int busy_rc; int cancel_during_call; int cancel_rc; ftp_client *ftp; };

static void on_trace(void *userdata, const char *line)
{
    struct trace *t = (struct trace *)userdata;
    size_t n = strlen(line);
    if (t->len + n + 2 < sizeof t->text) {
        memcpy(t->text + t->len, line, n);
        t->len += n;
        t->text[t->len++] = '\n';
        t->text[t->len] = 0;
    }
    /* Calling back into the handle from its own callback must be refused, not deadlock. */
    const char *cwd = NULL;
    t->busy_rc = ftp_pwd(t->ftp, &cwd);
    /* A stop asked for once the call's last wait is over (its reply is being traced)
       reaches nothing: it must not stop the next transfer (checked in session()). */
    if (t->cancel_during_call && strncmp(line, "*resp*", 6) == 0)
        t->cancel_rc = ftp_cancel(t->ftp);
}

static int discard(void *userdata, const uint8_t *data, size_t len)
{
    (void)data;
    *(size_t *)userdata += len;
    return 0;
}

struct walk_seen { int count; int depth; int type; int busy_rc; int stop; char last[256]; ftp_client *ftp; };

static int on_walk(void *userdata, const char *path, size_t len, const ftp_entry *entry, int depth)
{
    struct walk_seen *w = (struct walk_seen *)userdata;
    const char *cwd = NULL;
    w->count++;
    w->depth = depth;
    w->type = ftp_entry_type(entry);
    snprintf(w->last, sizeof w->last, "%.*s", (int)len, path);
    /* The handle is busy walking: a call into it from the callback is refused. */
    w->busy_rc = ftp_pwd(w->ftp, &cwd);
    return w->stop ? 42 : FTP_WALK_CONTINUE;
}

/* A port nothing is bound to right now on the IP address `ip` (0 on failure). */
static uint16_t unused_port(const char *ip)
{
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        len = sizeof *v4;
    } else if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        len = sizeof *v6;
    } else {
        return 0;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    uint16_t found = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&ss, len) == 0 && getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
        found = ntohs(ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
    if (fd >= 0)
        close(fd);
    return found;
}

static void session(const char *host, uint16_t port, const char *name, int full_paths)
{
    const char *user = env_or("FTPC_TEST_USER", "ftpc");
    const char *pass = env_or("FTPC_TEST_PASS", "ftpc-pass");
    printf("-- %s (%s port %u)\n", name, host, port);
    ftp_client *ftp = ftp_new();
    struct trace trace;
    memset(&trace, 0, sizeof trace);
    trace.ftp = ftp;
    CHECK_RC(ftp, ftp_set_trace_callback(ftp, on_trace, &trace), FTP_OK);
    CHECK_RC(ftp, ftp_set_debuglevel(ftp, 1), FTP_OK);

    CHECK_RC(ftp, ftp_connect(ftp, host, port, 10000, NULL), FTP_OK);
    CHECK(ftp_getwelcome(ftp) != NULL && strncmp(ftp_getwelcome(ftp), "220", 3) == 0);
    CHECK(ftp_last_reply_code(ftp) == 220);
    CHECK(trace.busy_rc == FTP_ERR_BUSY);

    /* A wrong password is a 5xx: error_perm. */
    CHECK_RC(ftp, ftp_login(ftp, user, "wrong-password", NULL), FTP_ERR_PERM);
    CHECK(ftp_last_reply_code(ftp) == 530);
    ftp_close(ftp);
    CHECK_RC(ftp, ftp_connect(ftp, host, port, 10000, NULL), FTP_OK);
    CHECK_RC(ftp, ftp_login(ftp, user, pass, NULL), FTP_OK);
    CHECK(ftp_last_reply_code(ftp) == 230);
    CHECK(strstr(trace.text, pass) == NULL);
    CHECK(strstr(trace.text, "PASS *********") != NULL);

    /* The control connection's two ends. */
    const char *peer = NULL, *local = NULL;
    uint16_t peer_port = 0, local_port = 0;
    CHECK_RC(ftp, ftp_peer_address(ftp, &peer, &peer_port), FTP_OK);
    CHECK(peer != NULL && peer_port == port);
    CHECK(peer != NULL && (strcmp(host, "localhost") == 0 ? (strcmp(peer, "127.0.0.1") == 0 || strcmp(peer, "::1") == 0)
                                                         : strcmp(peer, host) == 0));
    CHECK_RC(ftp, ftp_local_address(ftp, &local, &local_port), FTP_OK);
    CHECK(local != NULL && local_port != 0 && local_port != port);

    /* A source address set after connecting binds the next passive data connection, its
       port included (ftplib's source_address); NULL binds nothing again. */
    char local_copy[64];
    snprintf(local_copy, sizeof local_copy, "%s", local ? local : "");
    uint16_t source_port = unused_port(local_copy);
    CHECK(source_port != 0);
    char source[80];
    snprintf(source, sizeof source, strchr(local_copy, ':') ? "[%s]:%u" : "%s:%u", local_copy, (unsigned)source_port);
    CHECK_RC(ftp, ftp_set_source_address(ftp, "not-an-ip"), FTP_ERR_INVALID_ARGUMENT);
    CHECK_RC(ftp, ftp_set_source_address(ftp, source), FTP_OK);
    ftp_data *data = NULL;
    CHECK_RC(ftp, ftp_transfercmd(ftp, "RETR hello.txt", FTP_NO_REST, &data), FTP_OK);
    const char *data_local = NULL;
    uint16_t data_port = 0;
    CHECK_RC(ftp, ftp_data_local_address(data, &data_local, &data_port), FTP_OK);
    CHECK(data_local != NULL && strcmp(data_local, local_copy) == 0 && data_port == source_port);
    CHECK_RC(ftp, ftp_data_local_address(data, NULL, &data_port), FTP_ERR_NULL_ARGUMENT);
    uint8_t drain[256];
    size_t drained = 0;
    int read_rc;
    do
        read_rc = ftp_data_read(data, drain, sizeof drain, &drained);
    while (read_rc == FTP_OK && drained > 0);
    CHECK_RC(ftp, read_rc, FTP_OK);
    CHECK_RC(ftp, ftp_data_close(data), FTP_OK);
    CHECK_RC(ftp, ftp_set_source_address(ftp, NULL), FTP_OK);
    CHECK_RC(ftp, ftp_transfercmd(ftp, "RETR hello.txt", FTP_NO_REST, &data), FTP_OK);
    CHECK_RC(ftp, ftp_data_local_address(data, &data_local, &data_port), FTP_OK);
    CHECK(data_port != 0 && data_port != source_port);
    CHECK_RC(ftp, ftp_data_abort(data), FTP_OK);

    /* ftp_cancel as PWD's reply is traced is delivered, stops nothing, and is forgotten:
       the next download runs to its end. */
    trace.cancel_during_call = 1;
    const char *where = NULL;
    CHECK_RC(ftp, ftp_pwd(ftp, &where), FTP_OK);
    trace.cancel_during_call = 0;
    CHECK(trace.cancel_rc == FTP_OK);
    size_t got = 0;
    CHECK_RC(ftp, ftp_retrbinary(ftp, "RETR hello.txt", discard, &got, 0, FTP_NO_REST), FTP_OK);
    CHECK(got > 10);
    ftp_set_debuglevel(ftp, 0);

    const char *home = NULL;
    CHECK_RC(ftp, ftp_pwd(ftp, &home), FTP_OK);
    char home_copy[4096];
    snprintf(home_copy, sizeof home_copy, "%s", home ? home : "");
    CHECK(home_copy[0] == '/');

    /* Clean up what an earlier failed run may have left. */
    ftp_rmd(ftp, "ftpc dir/sub dir");
    ftp_rmd(ftp, "ftpc dir");
    ftp_rmd(ftp, "ftpc dir 2");

    const char *made = NULL;
    CHECK_RC(ftp, ftp_mkd(ftp, "ftpc dir", &made), FTP_OK);
    CHECK(made != NULL && strstr(made, "ftpc dir") != NULL);
    CHECK_RC(ftp, ftp_mkd(ftp, "ftpc dir", NULL), FTP_ERR_PERM);
    CHECK_RC(ftp, ftp_cwd(ftp, "ftpc dir"), FTP_OK);
    const char *cwd = NULL;
    CHECK_RC(ftp, ftp_pwd(ftp, &cwd), FTP_OK);
    CHECK(cwd != NULL && strstr(cwd, "ftpc dir") != NULL);
    if (full_paths) {
        char want[4200];
        snprintf(want, sizeof want, "%s/ftpc dir", strcmp(home_copy, "/") == 0 ? "" : home_copy);
        CHECK(strcmp(cwd, want) == 0);
    }
    CHECK_RC(ftp, ftp_cwd(ftp, ".."), FTP_OK);
    CHECK_RC(ftp, ftp_pwd(ftp, &cwd), FTP_OK);
    CHECK(strcmp(cwd, home_copy) == 0);
    CHECK_RC(ftp, ftp_cwd(ftp, "no such dir"), FTP_ERR_PERM);
    CHECK(ftp_last_reply_code(ftp) == 550);

    /* The walk: one directory inside, with MLSD or LIST, then with LIST; stopped; bad flags. */
    CHECK_RC(ftp, ftp_mkd(ftp, "ftpc dir/sub dir", NULL), FTP_OK);
    struct walk_seen w;
    memset(&w, 0, sizeof w);
    w.ftp = ftp;
    size_t refused = 99;
    CHECK_RC(ftp, ftp_walk(ftp, "ftpc dir", 0, 0, on_walk, &w, &refused), FTP_OK);
    CHECK(w.count == 1 && w.depth == 1 && w.type == FTP_ENTRY_DIR && refused == 0);
    CHECK(strcmp(w.last, "ftpc dir/sub dir") == 0);
    CHECK(w.busy_rc == FTP_ERR_BUSY);
    w.stop = 1;
    CHECK_RC(ftp, ftp_walk(ftp, "ftpc dir", FTP_WALK_USE_LIST, 0, on_walk, &w, NULL), FTP_ERR_STOPPED);
    CHECK(w.count == 2);
    CHECK_RC(ftp, ftp_walk(ftp, "ftpc dir", 64, 0, on_walk, &w, NULL), FTP_ERR_INVALID_ARGUMENT);
    CHECK_RC(ftp, ftp_walk(ftp, "ftpc dir", 0, -1, on_walk, &w, NULL), FTP_ERR_INVALID_ARGUMENT);
    CHECK_RC(ftp, ftp_pwd(ftp, &cwd), FTP_OK);
    CHECK(strcmp(cwd, home_copy) == 0);
    CHECK_RC(ftp, ftp_rmd(ftp, "ftpc dir/sub dir"), FTP_OK);

    CHECK_RC(ftp, ftp_rename(ftp, "ftpc dir", "ftpc dir 2"), FTP_OK);
    CHECK_RC(ftp, ftp_rename(ftp, "ftpc dir", "x"), FTP_ERR_PERM);

    int64_t size = 12345;
    CHECK_RC(ftp, ftp_voidcmd(ftp, "TYPE I", NULL), FTP_OK);
    CHECK_RC(ftp, ftp_size(ftp, "hello.txt", &size), FTP_OK);
    CHECK(size > 10 && size < 40);
    size = 777;
    CHECK_RC(ftp, ftp_size(ftp, "missing.txt", &size), FTP_ERR_PERM);
    CHECK(size == 777);
    CHECK_RC(ftp, ftp_delete(ftp, "missing.txt"), FTP_ERR_PERM);

    /* Bad input from the caller: refused before anything is sent. */
    CHECK_RC(ftp, ftp_cwd(ftp, "a\r\nDELE hello.txt"), FTP_ERR_INVALID_ARGUMENT);
    CHECK_RC(ftp, ftp_sendcmd(ftp, "NOOP\n", NULL), FTP_ERR_INVALID_ARGUMENT);
    CHECK_RC(ftp, ftp_cwd(ftp, "\xff\xfe"), FTP_ERR_ENCODING);
    CHECK_RC(ftp, ftp_size(ftp, "hello.txt", &size), FTP_OK);

    const char *reply = NULL;
    CHECK_RC(ftp, ftp_sendcmd(ftp, "NOOP", &reply), FTP_OK);
    CHECK(reply != NULL && strncmp(reply, "200", 3) == 0);
    CHECK_RC(ftp, ftp_voidcmd(ftp, "HELP", NULL), FTP_OK);
    CHECK(ftp_last_reply_code(ftp) == 214);
    CHECK_RC(ftp, ftp_sendcmd(ftp, "XYZZY", NULL), FTP_ERR_PERM);
    CHECK(ftp_last_reply_code(ftp) >= 500);

    CHECK_RC(ftp, ftp_rmd(ftp, "ftpc dir 2"), FTP_OK);
    CHECK_RC(ftp, ftp_rmd(ftp, "ftpc dir 2"), FTP_ERR_PERM);
    CHECK_RC(ftp, ftp_quit(ftp), FTP_OK);
    CHECK(ftp_last_reply_code(ftp) == 221);
    CHECK(ftp_is_connected(ftp) == 0);
    ftp_free(ftp);
}

static void test_open_and_netrc(const char *host, uint16_t port)
{
    const char *user = env_or("FTPC_TEST_USER", "ftpc");
    const char *pass = env_or("FTPC_TEST_PASS", "ftpc-pass");
    ftp_client *ftp = ftp_new();
    /* ftp_open connects to port 21: use ftp_connect for the test port, then login_netrc. */
    char path[] = "/tmp/ftpc-netrc-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    char text[512];
    int n = snprintf(text, sizeof text, "machine %s\n  login %s\n  password %s\n", host, user, pass);
    CHECK(write(fd, text, (size_t)n) == n);
    close(fd);
    CHECK(chmod(path, 0600) == 0);
    CHECK_RC(ftp, ftp_connect(ftp, host, port, 10000, NULL), FTP_OK);
    CHECK_RC(ftp, ftp_login_netrc(ftp, path), FTP_OK);
    CHECK(ftp_last_reply_code(ftp) == 230);
    CHECK_RC(ftp, ftp_quit(ftp), FTP_OK);
    CHECK(chmod(path, 0644) == 0);
    CHECK_RC(ftp, ftp_connect(ftp, host, port, 10000, NULL), FTP_OK);
    CHECK_RC(ftp, ftp_login_netrc(ftp, path), FTP_ERR_NETRC);
    CHECK(strstr(ftp_last_error(ftp), "chmod 600") != NULL);
    unlink(path);
    CHECK_RC(ftp, ftp_login_netrc(ftp, path), FTP_ERR_NETRC);
    ftp_free(ftp);

    /* ftp_open: port 21 is not ours, so expect a refusal, with the handle still usable. */
    ftp = ftp_new();
    CHECK_RC(ftp, ftp_open(ftp, host, user, pass, NULL, 2000, NULL, "latin-1"), FTP_ERR_IO);
    CHECK_RC(ftp, ftp_open(ftp, host, user, pass, NULL, 2000, NULL, "ebcdic"), FTP_ERR_INVALID_ARGUMENT);
    ftp_free(ftp);
}

int main(void)
{
    const char *host = env_or("FTPC_TEST_HOST", "127.0.0.1");
    test_version_and_strerror();
    test_null_and_state();
    test_cancel_waits();
    session(host, env_port("FTPC_VSFTPD_PORT"), "vsftpd", 1);
    session("localhost", env_port("FTPC_VSFTPD_PORT"), "vsftpd by name", 1);
    if (getenv("FTPC_TEST_IPV6") && strcmp(getenv("FTPC_TEST_IPV6"), "1") == 0) {
        session("::1", env_port("FTPC_VSFTPD6_PORT"), "vsftpd IPv6", 1);
        session("::1", env_port("FTPC_PUREFTPD_PORT"), "pure-ftpd IPv6", 0);
    }
    session(host, env_port("FTPC_PUREFTPD_PORT"), "pure-ftpd", 0);
    test_open_and_netrc(host, env_port("FTPC_VSFTPD_PORT"));
    return check_report("test_core");
}
