/* FTPS through the C API: explicit (vsftpd with require_ssl_reuse, pure-ftpd), implicit,
 * verification failures, PROT C, CCC, stops (callback, ftp_cancel, ftp_abort), the line
 * functions over PROT P, and a caller's own SSL_CTX built with OpenSSL. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "lines.h"

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

struct sink { size_t len; unsigned long sum; };

static int count(void *userdata, const uint8_t *data, size_t len)
{
    struct sink *s = (struct sink *)userdata;
    for (size_t i = 0; i < len; i++)
        s->sum = s->sum * 31 + data[i];
    s->len += len;
    return 0;
}

struct source { size_t len, pos; };

static int produce(void *userdata, uint8_t *buf, size_t len, size_t *out_len)
{
    struct source *s = (struct source *)userdata;
    size_t n = s->len - s->pos < len ? s->len - s->pos : len;
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)((s->pos + i) * 7 + 3);
    s->pos += n;
    *out_len = n;
    return 0;
}

static char trace[16384];
static void on_trace(void *userdata, const char *line)
{
    (void)userdata;
    if (strlen(trace) + strlen(line) + 2 < sizeof trace) {
        strcat(trace, line);
        strcat(trace, "\n");
    }
}

/* Upload then download 2 MiB over PROT P and compare. */
static void round_trip(ftp_client *ftp, const char *name)
{
    struct source src = {2u << 20, 0};
    CHECK_RC(ftp, ftp_storbinary(ftp, "STOR tls.bin", produce, &src, 0, NULL, FTP_NO_REST), FTP_OK);
    struct sink a = {0, 0}, b = {0, 0};
    CHECK_RC(ftp, ftp_retrbinary(ftp, "RETR tls.bin", count, &a, 0, FTP_NO_REST), FTP_OK);
    src.pos = 0;
    uint8_t buf[65536];
    size_t n = 0;
    while (produce(&src, buf, sizeof buf, &n) == 0 && n > 0)
        count(&b, buf, n);
    CHECK(a.len == (2u << 20) && a.sum == b.sum);
    CHECK_RC(ftp, ftp_delete(ftp, "tls.bin"), FTP_OK);
    printf("   %s: 2 MiB round trip ok\n", name);
}

/* tests/c/lines.h's checks of ftp_retrlines, ftp_nlst and ftp_dir after PROT P; the trace
 * shows each of their data connections (9: 4 uploads, 2 RETR, 2 NLST, 1 LIST) as TLS. */
static void lines_over_tls(ftp_client *ftp, const char *name)
{
    CHECK_RC(ftp, ftp_prot_p(ftp), FTP_OK);
    trace[0] = 0;
    CHECK_RC(ftp, ftp_set_trace_callback(ftp, on_trace, NULL), FTP_OK);
    CHECK_RC(ftp, ftp_set_debuglevel(ftp, 2), FTP_OK);
    check_line_functions(ftp, name);
    CHECK_RC(ftp, ftp_set_debuglevel(ftp, 0), FTP_OK);
    CHECK_RC(ftp, ftp_set_trace_callback(ftp, NULL, NULL), FTP_OK);
    int tls = 0;
    for (const char *p = trace; (p = strstr(p, "*data* connection open, TLS")) != NULL; p++)
        tls++;
    CHECK(tls == 9);
    CHECK(strstr(trace, "connection open, plain") == NULL);
    CHECK(strlen(trace) + 200 < sizeof trace); /* nothing was left out */
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void pause_ms(long ms)
{
    struct timespec t = {0, ms * 1000 * 1000};
    nanosleep(&t, NULL);
}

/* A download sink that stops after `stop_after` bytes (noting when), or, with 0, takes
 * 8 KiB every 2 ms until stopped from another thread. */
struct stop_sink { size_t len, stop_after; double stopped_at; };

static int stop_sink_cb(void *userdata, const uint8_t *data, size_t len)
{
    struct stop_sink *s = (struct stop_sink *)userdata;
    (void)data;
    s->len += len;
    if (s->stop_after == 0) {
        pause_ms(2);
        return 0;
    }
    if (s->len < s->stop_after)
        return 0;
    s->stopped_at = now_s();
    return 1;
}

/* An upload source of `len` bytes that stops after `stop_after` (noting when), or, with 0,
 * gives 8 KiB every 2 ms until stopped from another thread. */
struct stop_source { struct source src; size_t stop_after; double stopped_at; };

static int stop_source_cb(void *userdata, uint8_t *buf, size_t len, size_t *out_len)
{
    struct stop_source *s = (struct stop_source *)userdata;
    if (s->stop_after == 0)
        pause_ms(2);
    else if (s->src.pos >= s->stop_after) {
        s->stopped_at = now_s();
        return 1;
    }
    return produce(&s->src, buf, len < 8192 ? len : 8192, out_len);
}

/* Calls ftp_cancel or ftp_abort from another thread 200 ms after it starts; `asked` is when
 * (read after pthread_join). */
struct stopper { ftp_client *ftp; int use_cancel; int rc; double asked; };

static void *stop_later(void *arg)
{
    struct stopper *s = (struct stopper *)arg;
    pause_ms(200);
    s->asked = now_s();
    s->rc = s->use_cancel ? ftp_cancel(s->ftp) : ftp_abort(s->ftp);
    return NULL;
}

/* On a logged-in FTPS session: an 8 MiB download and upload stopped by their callback, by
 * ftp_cancel and by ftp_abort from another thread. Each returns FTP_ERR_STOPPED within 1 s
 * of the stop, the next PWD and NOOP get their own replies (257 with the same directory as
 * before, 200), and a whole 2 MiB round trip follows (on servers that require TLS session
 * reuse, its data connections must resume the control connection's session). */
static void stops_over_tls(ftp_client *ftp, const char *name)
{
    static const char *const hows[] = {"callback", "ftp_cancel", "ftp_abort"};
    char down[64], up[64], cmd[96];
    snprintf(down, sizeof down, "stop-%d.bin", (int)getpid());
    snprintf(up, sizeof up, "stopup-%d.bin", (int)getpid());
    const char *pwd = NULL;
    CHECK_RC(ftp, ftp_pwd(ftp, &pwd), FTP_OK);
    char home[1024];
    snprintf(home, sizeof home, "%s", pwd ? pwd : "");
    struct source whole = {8u << 20, 0};
    snprintf(cmd, sizeof cmd, "STOR %s", down);
    CHECK_RC(ftp, ftp_storbinary(ftp, cmd, produce, &whole, 0, NULL, FTP_NO_REST), FTP_OK);
    for (int how = 0; how < 3; how++) {
        for (int upload = 0; upload <= 1; upload++) {
            struct stopper stopper = {ftp, how == 1, -100, 0.0};
            pthread_t thread;
            if (how > 0)
                CHECK(pthread_create(&thread, NULL, stop_later, &stopper) == 0);
            size_t stop_after = how == 0 ? 1u << 20 : 0;
            double asked = 0.0;
            size_t moved = 0;
            int rc;
            if (upload) {
                struct stop_source src = {{8u << 20, 0}, stop_after, 0.0};
                snprintf(cmd, sizeof cmd, "STOR %s", up);
                rc = ftp_storbinary(ftp, cmd, stop_source_cb, &src, 8192, NULL, FTP_NO_REST);
                asked = src.stopped_at;
                moved = src.src.pos;
            } else {
                struct stop_sink sink = {0, stop_after, 0.0};
                snprintf(cmd, sizeof cmd, "RETR %s", down);
                rc = ftp_retrbinary(ftp, cmd, stop_sink_cb, &sink, 8192, FTP_NO_REST);
                asked = sink.stopped_at;
                moved = sink.len;
            }
            double back = now_s();
            if (how > 0) {
                pthread_join(thread, NULL);
                CHECK_RC(ftp, stopper.rc, FTP_OK);
                asked = stopper.asked;
            }
            CHECK_RC(ftp, rc, FTP_ERR_STOPPED);
            CHECK(asked > 0.0 && back - asked < 1.0);
            CHECK(moved > 0 && moved < (8u << 20));
            printf("   %s: %s stopped a%s after %zu bytes, returned %.1f ms after the stop\n", name, hows[how],
                   upload ? "n upload" : " download", moved, (back - asked) * 1e3);
            pwd = NULL;
            CHECK_RC(ftp, ftp_pwd(ftp, &pwd), FTP_OK);
            CHECK(pwd && strcmp(pwd, home) == 0);
            CHECK(ftp_last_reply_code(ftp) == 257);
            CHECK_RC(ftp, ftp_voidcmd(ftp, "NOOP", NULL), FTP_OK);
            CHECK(ftp_last_reply_code(ftp) == 200);
            round_trip(ftp, name);
        }
    }
    CHECK_RC(ftp, ftp_delete(ftp, down), FTP_OK);
    ftp_delete(ftp, up); /* a server may have dropped the partial upload */
}

static ftp_client *tls_client(const char *ca)
{
    ftp_client *ftp = ftp_tls_new();
    CHECK_RC(ftp, ftp_set_tls_ca_file(ftp, ca), FTP_OK);
    return ftp;
}

int main(void)
{
    const char *host = env_or("FTPC_TEST_HOST", "127.0.0.1");
    const char *user = env_or("FTPC_TEST_USER", "ftpc");
    const char *pass = env_or("FTPC_TEST_PASS", "ftpc-pass");
    const char *ca = env_or("FTPC_TEST_CA", "");
    const char *certs = env_or("FTPC_TEST_CERTS", "");
    uint16_t explicit_port = env_port("FTPC_VSFTPD_TLS_PORT");
    uint16_t implicit_port = env_port("FTPC_VSFTPD_IMPLICIT_PORT");
    uint16_t pure_port = env_port("FTPC_PUREFTPD_PORT");

    /* vsftpd, explicit, require_ssl_reuse=YES: login runs AUTH TLS then PROT P. */
    printf("-- vsftpd explicit FTPS\n");
    ftp_client *ftp = tls_client(ca);
    CHECK_RC(ftp, ftp_connect(ftp, host, explicit_port, 10000, NULL), FTP_OK);
    CHECK(ftp_is_tls(ftp) == 0);
    CHECK_RC(ftp, ftp_login(ftp, user, pass, NULL), FTP_OK);
    CHECK(ftp_is_tls(ftp) == 1);
    CHECK_RC(ftp, ftp_auth(ftp), FTP_ERR_WRONG_STATE);
    round_trip(ftp, "vsftpd PROT P passive");
    lines_over_tls(ftp, "vsftpd explicit PROT P passive");
    stops_over_tls(ftp, "vsftpd explicit");
    CHECK_RC(ftp, ftp_set_pasv(ftp, 0), FTP_OK);
    round_trip(ftp, "vsftpd PROT P active");
    lines_over_tls(ftp, "vsftpd explicit PROT P active");
    CHECK_RC(ftp, ftp_set_pasv(ftp, 1), FTP_OK);
    CHECK_RC(ftp, ftp_prot_c(ftp), FTP_OK);
    round_trip(ftp, "vsftpd PROT C");
    CHECK_RC(ftp, ftp_prot_p(ftp), FTP_OK);
    ftp_listing *listing = NULL;
    CHECK_RC(ftp, ftp_list(ftp, NULL, &listing), FTP_OK);
    CHECK(ftp_listing_count(listing) >= 1);
    ftp_listing_free(listing);
    CHECK_RC(ftp, ftp_quit(ftp), FTP_OK);
    ftp_free(ftp);

    /* Explicit AUTH before login, PROT C chosen before login stays. */
    ftp = tls_client(ca);
    CHECK_RC(ftp, ftp_connect(ftp, "localhost", explicit_port, 10000, NULL), FTP_OK);
    CHECK_RC(ftp, ftp_auth(ftp), FTP_OK);
    CHECK_RC(ftp, ftp_prot_c(ftp), FTP_OK);
    CHECK_RC(ftp, ftp_login(ftp, user, pass, NULL), FTP_OK);
    round_trip(ftp, "vsftpd by name, PROT C before login");
    ftp_quit(ftp);
    ftp_free(ftp);

    /* TLS 1.2 and 1.3 forced in turn: data connections must resume the session. */
    for (int v = FTP_TLS_VERSION_1_2; v <= FTP_TLS_VERSION_1_3; v++) {
        ftp = tls_client(ca);
        CHECK_RC(ftp, ftp_set_tls_min_version(ftp, v), FTP_OK);
        CHECK_RC(ftp, ftp_set_tls_max_version(ftp, v), FTP_OK);
        trace[0] = 0;
        CHECK_RC(ftp, ftp_set_trace_callback(ftp, on_trace, NULL), FTP_OK);
        CHECK_RC(ftp, ftp_set_debuglevel(ftp, 2), FTP_OK);
        CHECK_RC(ftp, ftp_connect(ftp, host, explicit_port, 10000, NULL), FTP_OK);
        CHECK_RC(ftp, ftp_login(ftp, user, pass, NULL), FTP_OK);
        round_trip(ftp, v == FTP_TLS_VERSION_1_2 ? "TLS 1.2" : "TLS 1.3");
        CHECK(strstr(trace, v == FTP_TLS_VERSION_1_2 ? "TLSv1.2" : "TLSv1.3") != NULL);
        CHECK(strstr(trace, "session resumed") != NULL);
        ftp_quit(ftp);
        ftp_free(ftp);
    }
    ftp = ftp_tls_new();
    CHECK_RC(ftp, ftp_set_tls_min_version(ftp, 11), FTP_ERR_INVALID_ARGUMENT);
    CHECK_RC(ftp, ftp_set_tls_mode(ftp, 7), FTP_ERR_INVALID_ARGUMENT);
    ftp_free(ftp);

    /* Implicit FTPS. */
    printf("-- vsftpd implicit FTPS\n");
    ftp = tls_client(ca);
    CHECK_RC(ftp, ftp_set_tls_mode(ftp, FTP_TLS_IMPLICIT), FTP_OK);
    CHECK_RC(ftp, ftp_connect(ftp, host, implicit_port, 10000, NULL), FTP_OK);
    CHECK(ftp_is_tls(ftp) == 1);
    CHECK_RC(ftp, ftp_login(ftp, user, pass, NULL), FTP_OK);
    round_trip(ftp, "implicit");
    lines_over_tls(ftp, "implicit PROT P");
    stops_over_tls(ftp, "implicit");
    ftp_quit(ftp);
    ftp_free(ftp);
    CHECK_RC(NULL, ftp_set_tls_mode(NULL, FTP_TLS_IMPLICIT), FTP_ERR_NULL_ARGUMENT);

    /* pure-ftpd with TLS, and CCC where the server allows it. */
    printf("-- pure-ftpd FTPS\n");
    ftp = tls_client(ca);
    CHECK_RC(ftp, ftp_connect(ftp, host, pure_port, 10000, NULL), FTP_OK);
    CHECK_RC(ftp, ftp_login(ftp, user, pass, NULL), FTP_OK);
    round_trip(ftp, "pure-ftpd PROT P");
    lines_over_tls(ftp, "pure-ftpd explicit PROT P");
    stops_over_tls(ftp, "pure-ftpd explicit");
    CHECK_RC(ftp, ftp_mlsd(ftp, NULL, NULL, &listing), FTP_OK);
    ftp_listing_free(listing);
    int rc = ftp_ccc(ftp);
    CHECK(rc == FTP_OK || rc == FTP_ERR_PERM);
    printf("   CCC on pure-ftpd: %s (%d, reply %d)\n", ftp_strerror(rc), rc, ftp_last_reply_code(ftp));
    if (rc == FTP_OK) {
        CHECK(ftp_is_tls(ftp) == 0);
        CHECK_RC(ftp, ftp_voidcmd(ftp, "NOOP", NULL), FTP_OK);
    }
    ftp_quit(ftp);
    ftp_free(ftp);

    /* Verification: the system store alone does not know the test CA. */
    printf("-- certificate checks\n");
    ftp = ftp_tls_new();
    CHECK_RC(ftp, ftp_connect(ftp, host, explicit_port, 10000, NULL), FTP_OK);
    CHECK_RC(ftp, ftp_login(ftp, user, pass, NULL), FTP_ERR_CERTIFICATE);
    CHECK(strstr(ftp_last_error(ftp), "certificate") != NULL);
    CHECK(ftp_is_connected(ftp) == 0);
    ftp_free(ftp);
    /* A self-signed certificate as the only trust anchor does not match the server's. */
    char other[4096];
    snprintf(other, sizeof other, "%s/selfsigned.pem", certs);
    ftp = tls_client(other);
    CHECK_RC(ftp, ftp_set_tls_mode(ftp, FTP_TLS_IMPLICIT), FTP_OK);
    CHECK_RC(ftp, ftp_connect(ftp, host, implicit_port, 10000, NULL), FTP_ERR_CERTIFICATE);
    ftp_free(ftp);
    /* Verification off: works, and the trace says so. */
    ftp = ftp_tls_new();
    trace[0] = 0;
    CHECK_RC(ftp, ftp_set_trace_callback(ftp, on_trace, NULL), FTP_OK);
    CHECK_RC(ftp, ftp_set_debuglevel(ftp, 1), FTP_OK);
    CHECK_RC(ftp, ftp_set_tls_verify(ftp, 0), FTP_OK);
    CHECK_RC(ftp, ftp_connect(ftp, host, explicit_port, 10000, NULL), FTP_OK);
    CHECK_RC(ftp, ftp_login(ftp, user, pass, NULL), FTP_OK);
    CHECK(strstr(trace, "verification is OFF") != NULL);
    ftp_quit(ftp);
    ftp_free(ftp);
    /* The CA from memory (PEM bytes, no NUL): verification passes, data resumes. */
    {
        static char pem[65536];
        size_t pem_len = 0;
        FILE *f = fopen(ca, "rb");
        CHECK(f != NULL);
        if (f) {
            pem_len = fread(pem, 1, sizeof pem, f);
            fclose(f);
        }
        ftp = ftp_tls_new();
        CHECK_RC(ftp, ftp_set_tls_ca_pem(ftp, pem, 0), FTP_ERR_INVALID_ARGUMENT);
        CHECK_RC(ftp, ftp_set_tls_ca_pem(ftp, "not a certificate", 17), FTP_ERR_INVALID_ARGUMENT);
        CHECK_RC(ftp, ftp_set_tls_ca_pem(ftp, pem, pem_len / 2), FTP_ERR_TLS);
        CHECK_RC(ftp, ftp_set_tls_ca_pem(ftp, pem, pem_len), FTP_OK);
        CHECK_RC(ftp, ftp_connect(ftp, host, explicit_port, 10000, NULL), FTP_OK);
        CHECK_RC(ftp, ftp_login(ftp, user, pass, NULL), FTP_OK);
        round_trip(ftp, "CA from ftp_set_tls_ca_pem");
        ftp_quit(ftp);
        /* Removed again: only the system store, which does not know the test CA. */
        CHECK_RC(ftp, ftp_set_tls_ca_pem(ftp, NULL, 0), FTP_OK);
        CHECK_RC(ftp, ftp_connect(ftp, host, explicit_port, 10000, NULL), FTP_OK);
        CHECK_RC(ftp, ftp_login(ftp, user, pass, NULL), FTP_ERR_CERTIFICATE);
        ftp_free(ftp);
    }
    /* TLS files that cannot be used fail at their setter, naming the path, before anything
     * is sent; the previous setting stays, so the session below still verifies. */
    {
        char path[4096];
        ftp = tls_client(ca);
        CHECK_RC(ftp, ftp_set_tls_ca_file(ftp, "/nonexistent/ca.pem"), FTP_ERR_TLS);
        CHECK(strstr(ftp_last_error(ftp), "/nonexistent/ca.pem") != NULL);
        snprintf(path, sizeof path, "%s/server.key", certs); /* PEM, but no certificate */
        CHECK_RC(ftp, ftp_set_tls_ca_file(ftp, path), FTP_ERR_TLS);
        CHECK(strstr(ftp_last_error(ftp), path) != NULL);
        CHECK_RC(ftp, ftp_set_tls_ca_dir(ftp, "/nonexistent/ca-dir"), FTP_ERR_TLS);
        CHECK(strstr(ftp_last_error(ftp), "/nonexistent/ca-dir") != NULL);
        CHECK_RC(ftp, ftp_set_tls_ca_dir(ftp, ca), FTP_ERR_TLS); /* a file, not a directory */
        CHECK_RC(ftp, ftp_set_tls_client_cert(ftp, "/nonexistent/client.pem", NULL), FTP_ERR_TLS);
        CHECK(strstr(ftp_last_error(ftp), "/nonexistent/client.pem") != NULL);
        char cert[4096];
        snprintf(cert, sizeof cert, "%s/client.pem", certs);
        snprintf(path, sizeof path, "%s/server.key", certs);
        CHECK_RC(ftp, ftp_set_tls_client_cert(ftp, cert, path), FTP_ERR_TLS); /* key of another cert */
        CHECK(strstr(ftp_last_error(ftp), path) != NULL);
        CHECK_RC(ftp, ftp_set_tls_ca_dir(ftp, certs), FTP_OK);
        CHECK_RC(ftp, ftp_connect(ftp, host, explicit_port, 10000, NULL), FTP_OK);
        CHECK_RC(ftp, ftp_login(ftp, user, pass, NULL), FTP_OK);
        ftp_quit(ftp);
        ftp_free(ftp);
    }

    /* The caller's own SSL_CTX, built with OpenSSL's API: used for control and data. */
    printf("-- caller's SSL_CTX\n");
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    CHECK(ctx != NULL);
    CHECK(SSL_CTX_load_verify_locations(ctx, ca, NULL) == 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    ftp = ftp_tls_new();
    CHECK_RC(ftp, ftp_set_ssl_ctx(ftp, ctx), FTP_OK);
    SSL_CTX_free(ctx); /* the library holds its own reference */
    CHECK_RC(ftp, ftp_connect(ftp, host, explicit_port, 10000, NULL), FTP_OK);
    CHECK_RC(ftp, ftp_login(ftp, user, pass, NULL), FTP_OK);
    round_trip(ftp, "own SSL_CTX");
    ftp_quit(ftp);
    ftp_free(ftp);
    /* A context that trusts nothing: the certificate check fails. */
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    ftp = ftp_tls_new();
    CHECK_RC(ftp, ftp_set_ssl_ctx(ftp, ctx), FTP_OK);
    CHECK_RC(ftp, ftp_connect(ftp, host, explicit_port, 10000, NULL), FTP_OK);
    CHECK_RC(ftp, ftp_login(ftp, user, pass, NULL), FTP_ERR_CERTIFICATE);
    ftp_free(ftp);
    SSL_CTX_free(ctx);

    /* A plain client cannot log in where TLS is required: a 5xx, not a silent downgrade. */
    ftp = ftp_new();
    CHECK_RC(ftp, ftp_connect(ftp, host, explicit_port, 10000, NULL), FTP_OK);
    CHECK_RC(ftp, ftp_login(ftp, user, pass, NULL), FTP_ERR_PERM);
    CHECK_RC(ftp, ftp_ccc(ftp), FTP_ERR_WRONG_STATE);
    ftp_free(ftp);
    return check_report("test_tls");
}
