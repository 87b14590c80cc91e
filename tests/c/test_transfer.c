/* Transfers through the C API against vsftpd and pure-ftpd: callbacks, cancellation,
 * data handles, whole-file transfers, listings, passive and active, IPv4 and IPv6; the line
 * functions (tests/c/lines.h) against bsd-ftpd too. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "lines.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BIG (3u * 1024u * 1024u + 123u)

static unsigned char *pattern(size_t n, unsigned seed)
{
    unsigned char *p = (unsigned char *)malloc(n);
    uint32_t x = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)x;
    }
    return p;
}

struct source { const unsigned char *data; size_t len, pos; size_t stop_after; };

static int read_source(void *userdata, uint8_t *buf, size_t len, size_t *out_len)
{
    struct source *s = (struct source *)userdata;
    if (s->stop_after && s->pos >= s->stop_after)
        return 1;
    size_t n = s->len - s->pos < len ? s->len - s->pos : len;
    memcpy(buf, s->data + s->pos, n);
    s->pos += n;
    *out_len = n;
    return 0;
}

struct sink { unsigned char *data; size_t len, cap; size_t stop_after; int blocks; };

static int write_sink(void *userdata, const uint8_t *data, size_t len)
{
    struct sink *s = (struct sink *)userdata;
    if (s->len + len > s->cap) {
        s->cap = (s->len + len) * 2;
        s->data = (unsigned char *)realloc(s->data, s->cap);
    }
    memcpy(s->data + s->len, data, len);
    s->len += len;
    s->blocks++;
    return s->stop_after && s->len >= s->stop_after;
}

struct lines { int count; int found; const char *want; };

static int on_line(void *userdata, const char *line, size_t len)
{
    struct lines *l = (struct lines *)userdata;
    l->count++;
    if (strlen(line) != len)
        return 1;
    if (l->want && strstr(line, l->want))
        l->found = 1;
    return 0;
}

static int progress_calls;
static int on_progress(void *userdata, uint64_t done, int64_t total)
{
    (void)userdata;
    progress_calls++;
    return total >= 0 && done > (uint64_t)total;
}

/* The last (done, total) a progress callback saw. */
struct last_progress { uint64_t done; int64_t total; };
static int remember_progress(void *userdata, uint64_t done, int64_t total)
{
    struct last_progress *p = (struct last_progress *)userdata;
    p->done = done;
    p->total = total;
    return 0;
}

static int stop_half_way(void *userdata, uint64_t done, int64_t total)
{
    (void)userdata;
    (void)total;
    return done >= BIG / 2;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Calls ftp_abort or ftp_cancel from another thread 200 ms after it starts; `asked` is
 * when (read after pthread_join). */
struct stopper { ftp_client *ftp; int rc; int use_cancel; double asked; };

static void *stop_later(void *arg)
{
    struct stopper *s = (struct stopper *)arg;
    struct timespec t = {0, 200 * 1000 * 1000};
    nanosleep(&t, NULL);
    s->asked = now_s();
    s->rc = s->use_cancel ? ftp_cancel(s->ftp) : ftp_abort(s->ftp);
    return NULL;
}

static int slow_sink(void *userdata, const uint8_t *data, size_t len)
{
    struct timespec t = {0, 20 * 1000 * 1000};
    (void)data;
    *(size_t *)userdata += len;
    nanosleep(&t, NULL);
    return 0;
}

/* A read callback that gives 1 KiB of `source` every 20 ms. */
static int slow_source(void *userdata, uint8_t *buf, size_t len, size_t *out_len)
{
    struct timespec t = {0, 20 * 1000 * 1000};
    nanosleep(&t, NULL);
    return read_source(userdata, buf, len < 1024 ? len : 1024, out_len);
}

/* What a mirror's callback heard. */
struct mirror_events { int gets; int others; int bad_path; };
static void on_mirror(void *userdata, int event, const char *path, size_t len, int64_t value, const char *message)
{
    struct mirror_events *m = (struct mirror_events *)userdata;
    (void)message;
    if (strlen(path) != len || len == 0)
        m->bad_path++;
    if (event == FTP_MIRROR_GET && value == -1)
        m->gets++;
    else
        m->others++;
}

static void session(const char *host, uint16_t port, const char *name, int passive, int has_mlsd)
{
    const char *user = env_or("FTPC_TEST_USER", "ftpc");
    const char *pass = env_or("FTPC_TEST_PASS", "ftpc-pass");
    static int sessions = 0;
    char dir[128];
    snprintf(dir, sizeof dir, "ctx-%s-%d-%d", passive ? "pasv" : "actv", (int)getpid(), ++sessions);
    printf("-- %s %s (%s port %u)\n", name, passive ? "passive" : "active", host, port);

    ftp_client *ftp = ftp_new();
    CHECK_RC(ftp, ftp_set_pasv(ftp, passive), FTP_OK);
    CHECK_RC(ftp, ftp_set_data_timeout_ms(ftp, 20000), FTP_OK);
    CHECK_RC(ftp, ftp_connect(ftp, host, port, 10000, NULL), FTP_OK);
    CHECK_RC(ftp, ftp_login(ftp, user, pass, NULL), FTP_OK);
    CHECK_RC(ftp, ftp_mkd(ftp, dir, NULL), FTP_OK);
    CHECK_RC(ftp, ftp_cwd(ftp, dir), FTP_OK);

    /* storbinary then retrbinary: the same bytes. */
    unsigned char *data = pattern(BIG, port + (unsigned)passive);
    struct source src = {data, BIG, 0, 0};
    CHECK_RC(ftp, ftp_storbinary(ftp, "STOR big.bin", read_source, &src, 0, NULL, FTP_NO_REST), FTP_OK);
    CHECK(src.pos == BIG);
    struct sink got = {NULL, 0, 0, 0, 0};
    CHECK_RC(ftp, ftp_retrbinary(ftp, "RETR big.bin", write_sink, &got, 8192, FTP_NO_REST), FTP_OK);
    CHECK(got.len == BIG && memcmp(got.data, data, BIG) == 0);
    CHECK(got.blocks >= (int)(BIG / 8192));
    int64_t size = -1;
    CHECK_RC(ftp, ftp_size(ftp, "big.bin", &size), FTP_OK);
    CHECK(size == (int64_t)BIG);

    /* REST: the tail only. */
    got.len = 0;
    CHECK_RC(ftp, ftp_retrbinary(ftp, "RETR big.bin", write_sink, &got, 0, 1000000), FTP_OK);
    CHECK(got.len == BIG - 1000000 && memcmp(got.data, data + 1000000, got.len) == 0);

    /* A callback that stops: FTP_ERR_STOPPED within a second on loopback (ABOR and its
     * replies included), then the next command gets its own reply. */
    got.len = 0;
    got.stop_after = 100000;
    double t0 = now_s();
    CHECK_RC(ftp, ftp_retrbinary(ftp, "RETR big.bin", write_sink, &got, 8192, FTP_NO_REST), FTP_ERR_STOPPED);
    CHECK(now_s() - t0 < 1.0);
    printf("   callback stop of a download: %.1f ms\n", (now_s() - t0) * 1e3);
    CHECK(got.len >= 100000 && got.len < BIG);
    const char *cwd = NULL;
    CHECK_RC(ftp, ftp_pwd(ftp, &cwd), FTP_OK);
    CHECK(cwd && strstr(cwd, dir) != NULL);
    CHECK(ftp_last_reply_code(ftp) == 257);
    const char *noop = NULL;
    CHECK_RC(ftp, ftp_voidcmd(ftp, "NOOP", &noop), FTP_OK);
    CHECK(ftp_last_reply_code(ftp) == 200);
    got.stop_after = 0;

    /* An upload stopped by its read callback: the same. */
    struct source partial = {data, BIG, 0, 200000};
    t0 = now_s();
    CHECK_RC(ftp, ftp_storbinary(ftp, "STOR partial.bin", read_source, &partial, 0, NULL, FTP_NO_REST), FTP_ERR_STOPPED);
    CHECK(now_s() - t0 < 1.0);
    CHECK_RC(ftp, ftp_pwd(ftp, &cwd), FTP_OK);
    CHECK(ftp_last_reply_code(ftp) == 257);
    CHECK_RC(ftp, ftp_voidcmd(ftp, "NOOP", &noop), FTP_OK);
    CHECK(ftp_last_reply_code(ftp) == 200);

    /* ftp_abort, then ftp_cancel, from another thread stops a slow download, then a slow
     * upload: FTP_ERR_STOPPED within a second of the call on loopback, the next PWD and
     * NOOP get their own replies (257 with the directory, 200), and a whole download of
     * big.bin follows. */
    for (int upload = 0; upload <= 1; upload++) {
        for (int use_cancel = 0; use_cancel <= 1; use_cancel++) {
            struct stopper stopper = {ftp, -100, use_cancel, 0.0};
            pthread_t thread;
            size_t slow = 0;
            struct source slow_src = {data, BIG, 0, 0};
            CHECK(pthread_create(&thread, NULL, stop_later, &stopper) == 0);
            int rc = upload ? ftp_storbinary(ftp, "STOR partial.bin", slow_source, &slow_src, 1024, NULL, FTP_NO_REST)
                            : ftp_retrbinary(ftp, "RETR big.bin", slow_sink, &slow, 1024, FTP_NO_REST);
            double back = now_s();
            pthread_join(thread, NULL);
            CHECK_RC(ftp, rc, FTP_ERR_STOPPED);
            CHECK(stopper.rc == FTP_OK);
            CHECK(stopper.asked > 0.0 && back - stopper.asked < 1.0);
            printf("   %s from another thread stopped a%s in %.1f ms\n", use_cancel ? "ftp_cancel" : "ftp_abort",
                   upload ? "n upload" : " download", (back - stopper.asked) * 1e3);
            if (upload)
                CHECK(slow_src.pos > 0 && slow_src.pos < BIG);
            else
                CHECK(slow > 0 && slow < BIG);
            cwd = NULL;
            CHECK_RC(ftp, ftp_pwd(ftp, &cwd), FTP_OK);
            CHECK(cwd && strstr(cwd, dir) != NULL);
            CHECK(ftp_last_reply_code(ftp) == 257);
            CHECK_RC(ftp, ftp_voidcmd(ftp, "NOOP", &noop), FTP_OK);
            CHECK(ftp_last_reply_code(ftp) == 200);
            got.len = 0;
            CHECK_RC(ftp, ftp_retrbinary(ftp, "RETR big.bin", write_sink, &got, 0, FTP_NO_REST), FTP_OK);
            CHECK(got.len == BIG && memcmp(got.data, data, BIG) == 0);
        }
    }

    /* Text: storlines converts line ends to CRLF; retrlines gives the lines back. */
    static const char text[] = "one\ntwo\r\nthree\nlast line without end";
    struct source tsrc = {(const unsigned char *)text, sizeof text - 1, 0, 0};
    CHECK_RC(ftp, ftp_storlines(ftp, "STOR text.txt", read_source, &tsrc, NULL), FTP_OK);
    struct lines lines = {0, 0, "three"};
    CHECK_RC(ftp, ftp_retrlines(ftp, "RETR text.txt", on_line, &lines), FTP_OK);
    CHECK(lines.count == 4 && lines.found);
    got.len = 0;
    CHECK_RC(ftp, ftp_retrbinary(ftp, "RETR text.txt", write_sink, &got, 0, FTP_NO_REST), FTP_OK);
    /* The server stores text in its own form: vsftpd keeps the CRLFs, pure-ftpd turns them
     * into LFs (as TYPE A allows), so a binary download gives one or the other. */
    static const char crlf[] = "one\r\ntwo\r\nthree\r\nlast line without end\r\n";
    static const char lf[] = "one\ntwo\nthree\nlast line without end\n";
    const size_t stored = has_mlsd ? sizeof lf - 1 : sizeof crlf - 1;
    CHECK(got.len == stored && memcmp(got.data, has_mlsd ? lf : crlf, got.len) == 0);
    char label[160];
    snprintf(label, sizeof label, "%s %s", name, passive ? "passive" : "active");
    check_line_functions(ftp, label);

    /* Listings. */
    struct lines names = {0, 0, "big.bin"};
    CHECK_RC(ftp, ftp_nlst(ftp, NULL, on_line, &names), FTP_OK);
    CHECK(names.found && names.count >= 3);
    struct lines dirlines = {0, 0, "text.txt"};
    CHECK_RC(ftp, ftp_dir(ftp, NULL, on_line, &dirlines), FTP_OK);
    CHECK(dirlines.found);
    ftp_listing *listing = NULL;
    CHECK_RC(ftp, ftp_list(ftp, NULL, &listing), FTP_OK);
    int seen_big = 0;
    for (size_t i = 0; i < ftp_listing_count(listing); i++) {
        const ftp_entry *e = ftp_listing_get(listing, i);
        size_t len = 0;
        const char *n = ftp_entry_name(e, &len);
        if (strcmp(n, "big.bin") == 0) {
            seen_big = 1;
            CHECK(len == 7);
            CHECK(ftp_entry_type(e) == FTP_ENTRY_FILE);
            CHECK(ftp_entry_size(e) == (int64_t)BIG);
            CHECK(ftp_entry_format(e) == FTP_FORMAT_UNIX);
            int64_t mtime = 0;
            CHECK(ftp_entry_mtime(e, &mtime) == 1 && mtime > 1600000000);
            CHECK(ftp_entry_permissions(e, NULL) != NULL);
        }
    }
    CHECK(seen_big);
    CHECK(ftp_listing_get(listing, 100000) == NULL);
    ftp_listing_free(listing);
    listing = NULL;
    if (has_mlsd) {
        CHECK_RC(ftp, ftp_mlsd(ftp, NULL, "type;size;modify", &listing), FTP_OK);
        int found = 0;
        for (size_t i = 0; i < ftp_listing_count(listing); i++) {
            const ftp_entry *e = ftp_listing_get(listing, i);
            if (strcmp(ftp_entry_name(e, NULL), "big.bin") == 0) {
                found = 1;
                CHECK(ftp_entry_format(e) == FTP_FORMAT_MLSD);
                CHECK(ftp_entry_size(e) == (int64_t)BIG);
                CHECK(ftp_entry_fact(e, "TYPE") != NULL && strcmp(ftp_entry_fact(e, "type"), "file") == 0);
                CHECK(ftp_entry_fact_count(e) >= 2);
            }
        }
        CHECK(found);
        ftp_listing_free(listing);
        CHECK_RC(ftp, ftp_mlst(ftp, "big.bin", &listing), FTP_OK);
        CHECK(ftp_listing_count(listing) == 1);
        CHECK(ftp_entry_size(ftp_listing_get(listing, 0)) == (int64_t)BIG);
        ftp_listing_free(listing);
    } else {
        CHECK_RC(ftp, ftp_mlsd(ftp, NULL, NULL, &listing), FTP_ERR_UNSUPPORTED);
        CHECK(listing == NULL);
    }
    const char *feat = NULL;
    CHECK_RC(ftp, ftp_feat(ftp, &feat), FTP_OK);
    CHECK(feat != NULL && strstr(feat, "SIZE") != NULL);
    int has = -1;
    CHECK_RC(ftp, ftp_has_feature(ftp, "mdtm", &has), FTP_OK);
    CHECK(has == 1);
    int64_t mtime = 0;
    CHECK_RC(ftp, ftp_mdtm(ftp, "big.bin", &mtime), FTP_OK);
    CHECK(mtime > 1600000000 && mtime < (int64_t)time(NULL) + 86400);

    /* A data handle: transfercmd, read until the end, close reads the 226. */
    CHECK_RC(ftp, ftp_voidcmd(ftp, "TYPE I", NULL), FTP_OK);
    ftp_data *conn = NULL;
    CHECK_RC(ftp, ftp_transfercmd(ftp, "RETR text.txt", FTP_NO_REST, &conn), FTP_OK);
    CHECK(conn != NULL);
    size_t total = 0, n = 0;
    unsigned char buf[7];
    do {
        CHECK_RC(ftp, ftp_data_read(conn, buf, sizeof buf, &n), FTP_OK);
        total += n;
    } while (n > 0 && total < 10000);
    CHECK(total == stored);
    CHECK(ftp_data_size(conn) == -1 || ftp_data_size(conn) == (int64_t)total);
    CHECK_RC(ftp, ftp_data_close(conn), FTP_OK);
    CHECK(ftp_last_reply_code(ftp) == 226);
    CHECK_RC(ftp, ftp_transfercmd(ftp, "STOR viadata.bin", FTP_NO_REST, &conn), FTP_OK);
    CHECK_RC(ftp, ftp_data_write(conn, data, 5000, &n), FTP_OK);
    CHECK(n > 0 && n <= 5000);
    CHECK_RC(ftp, ftp_data_close(conn), FTP_OK);
    CHECK_RC(ftp, ftp_size(ftp, "viadata.bin", &size), FTP_OK);
    CHECK(size == (int64_t)n);
    CHECK_RC(ftp, ftp_transfercmd(ftp, "RETR big.bin", FTP_NO_REST, &conn), FTP_OK);
    CHECK_RC(ftp, ftp_data_read(conn, buf, sizeof buf, &n), FTP_OK);
    CHECK_RC(ftp, ftp_data_abort(conn), FTP_OK);
    CHECK_RC(ftp, ftp_pwd(ftp, &cwd), FTP_OK);
    CHECK_RC(ftp, ftp_transfercmd(ftp, "RETR no-such-file", FTP_NO_REST, &conn), FTP_ERR_PERM);

    /* The client freed before its data handle: defined (ASan and valgrind runs check it).
     * ftp_free closes the data connection; the data handle then only frees itself. */
    {
        ftp_client *other = ftp_new();
        CHECK_RC(other, ftp_connect(other, host, port, 10000, NULL), FTP_OK);
        CHECK_RC(other, ftp_login(other, user, pass, NULL), FTP_OK);
        CHECK_RC(other, ftp_cwd(other, dir), FTP_OK);
        CHECK_RC(other, ftp_voidcmd(other, "TYPE I", NULL), FTP_OK);
        ftp_data *orphan = NULL;
        CHECK_RC(other, ftp_transfercmd(other, "RETR big.bin", FTP_NO_REST, &orphan), FTP_OK);
        CHECK_RC(other, ftp_data_read(orphan, buf, sizeof buf, &n), FTP_OK);
        ftp_free(other);
        n = 99;
        CHECK(ftp_data_read(orphan, buf, sizeof buf, &n) == FTP_ERR_WRONG_STATE && n == 99);
        CHECK(ftp_data_write(orphan, buf, sizeof buf, &n) == FTP_ERR_WRONG_STATE);
        CHECK(ftp_data_size(orphan) == -1);
        CHECK(ftp_data_close(orphan) == FTP_ERR_WRONG_STATE);
    }

    /* Whole files through descriptors, with progress; resume of both directions. */
    char local[] = "/tmp/ftpc-ctest-XXXXXX";
    int fd = mkstemp(local);
    CHECK(fd >= 0);
    CHECK(write(fd, data, BIG) == (ssize_t)BIG);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    uint64_t moved = 0;
    progress_calls = 0;
    CHECK_RC(ftp, ftp_store_from_fd(ftp, "fd.bin", fd, FTP_NO_REST, 0, on_progress, NULL, &moved), FTP_OK);
    CHECK(moved == BIG && progress_calls > 0);
    CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
    progress_calls = 0;
    CHECK_RC(ftp, ftp_retrieve_to_fd(ftp, "fd.bin", fd, FTP_NO_REST, on_progress, NULL, &moved), FTP_OK);
    CHECK(moved == BIG && progress_calls > 0);
    CHECK(ftp_last_transfer_bytes(ftp) == BIG);
    /* Into a pipe whose reader is gone: an error, not a SIGPIPE that kills this program
     * (its default action here, unlike in Rust programs); the connection stays usable. */
    {
        int pipefd[2];
        CHECK(pipe(pipefd) == 0);
        close(pipefd[0]);
        uint64_t none = 7;
        int rc = ftp_retrieve_to_fd(ftp, "fd.bin", pipefd[1], FTP_NO_REST, NULL, NULL, &none);
        CHECK(rc == FTP_ERR_IO && none == 7);
        close(pipefd[1]);
        CHECK_RC(ftp, ftp_pwd(ftp, &cwd), FTP_OK);
    }
    /* A download stopped half way: the output is left alone, ftp_last_transfer_bytes says
       how much arrived, and that is what reached the file. */
    CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
    moved = 7;
    CHECK_RC(ftp, ftp_retrieve_to_fd(ftp, "fd.bin", fd, FTP_NO_REST, stop_half_way, NULL, &moved), FTP_ERR_STOPPED);
    CHECK(moved == 7);
    moved = ftp_last_transfer_bytes(ftp);
    CHECK(moved >= BIG / 2 && moved < BIG);
    CHECK(lseek(fd, 0, SEEK_END) == (off_t)moved);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    /* Cut the local copy short, then resume the download. */
    CHECK(ftruncate(fd, 1234567) == 0);
    struct last_progress last = {0, 0};
    CHECK_RC(ftp, ftp_resume_download(ftp, "fd.bin", fd, remember_progress, &last, &moved), FTP_OK);
    CHECK(moved == BIG - 1234567);
    /* The total is the whole remote file, done counts the resumed offset. */
    CHECK(last.done == BIG && last.total == (int64_t)BIG);
    unsigned char *back = (unsigned char *)malloc(BIG);
    CHECK(pread(fd, back, BIG, 0) == (ssize_t)BIG);
    CHECK(memcmp(back, data, BIG) == 0);
    /* The same file over up to 4 connections (3 MiB: 3 ranges of at least 1 MiB), into a
       file that was longer; the connection in step afterwards; bad arguments refused. */
    {
        CHECK(ftruncate(fd, BIG + 5000) == 0);
        memset(back, 0, BIG);
        uint64_t whole = 0;
        int connections = 0;
        last.done = 0;
        last.total = 0;
        CHECK_RC(ftp, ftp_retrieve_segmented(ftp, "fd.bin", fd, 4, remember_progress, &last, &whole, &connections),
                 FTP_OK);
        CHECK(whole == BIG && connections >= 1 && connections <= 3);
        CHECK(last.done == BIG && last.total == (int64_t)BIG);
        CHECK(lseek(fd, 0, SEEK_END) == (off_t)BIG);
        CHECK(pread(fd, back, BIG, 0) == (ssize_t)BIG);
        CHECK(memcmp(back, data, BIG) == 0);
        CHECK_RC(ftp, ftp_pwd(ftp, &cwd), FTP_OK);
        CHECK_RC(ftp, ftp_retrieve_segmented(ftp, "fd.bin", fd, 0, NULL, NULL, NULL, NULL), FTP_ERR_INVALID_ARGUMENT);
        CHECK_RC(ftp, ftp_retrieve_segmented(ftp, "fd.bin", fd, 65, NULL, NULL, NULL, NULL), FTP_ERR_INVALID_ARGUMENT);
        CHECK_RC(ftp, ftp_retrieve_segmented(ftp, "fd.bin", -1, 4, NULL, NULL, NULL, NULL), FTP_ERR_INVALID_ARGUMENT);
        CHECK_RC(ftp, ftp_retrieve_segmented(ftp, "no-such-file", fd, 4, NULL, NULL, NULL, NULL), FTP_ERR_PERM);
        CHECK_RC(ftp, ftp_pwd(ftp, &cwd), FTP_OK);
    }
    /* Upload the first part, then resume the upload with the rest. */
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    struct source head = {data, 777777, 0, 0};
    CHECK_RC(ftp, ftp_storbinary(ftp, "STOR resumed.bin", read_source, &head, 0, NULL, FTP_NO_REST), FTP_OK);
    CHECK_RC(ftp, ftp_resume_upload(ftp, "resumed.bin", fd, NULL, NULL, &moved), FTP_OK);
    CHECK(moved == BIG - 777777);
    got.len = 0;
    CHECK_RC(ftp, ftp_retrbinary(ftp, "RETR resumed.bin", write_sink, &got, 0, FTP_NO_REST), FTP_OK);
    CHECK(got.len == BIG && memcmp(got.data, data, BIG) == 0);
    /* APPE adds to the end. */
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK_RC(ftp, ftp_store_from_fd(ftp, "fd.bin", fd, FTP_NO_REST, 1, NULL, NULL, NULL), FTP_OK);
    CHECK_RC(ftp, ftp_size(ftp, "fd.bin", &size), FTP_OK);
    CHECK(size == 2 * (int64_t)BIG);
    close(fd);
    /* Named local files. */
    CHECK_RC(ftp, ftp_retrieve_file(ftp, "text.txt", local, NULL, NULL), FTP_OK);
    struct stat st;
    CHECK(stat(local, &st) == 0 && st.st_size == (off_t)stored);
    CHECK_RC(ftp, ftp_store_file(ftp, local, "copy.txt", NULL, NULL), FTP_OK);
    /* A refused download leaves the local file as it was, and creates no new one. */
    CHECK_RC(ftp, ftp_retrieve_file(ftp, "no-such-file", local, NULL, NULL), FTP_ERR_PERM);
    CHECK(stat(local, &st) == 0 && st.st_size == (off_t)stored);
    char fresh[sizeof local + 8];
    snprintf(fresh, sizeof fresh, "%s-fresh", local);
    unlink(fresh);
    CHECK_RC(ftp, ftp_retrieve_file(ftp, "no-such-file", fresh, on_progress, NULL), FTP_ERR_PERM);
    CHECK(access(fresh, F_OK) != 0 && errno == ENOENT);
    unlink(local);
    free(back);

    /* Bad arguments. */
    CHECK_RC(ftp, ftp_retrbinary(ftp, "RETR big.bin", NULL, NULL, 0, FTP_NO_REST), FTP_ERR_NULL_ARGUMENT);
    CHECK_RC(ftp, ftp_retrbinary(ftp, "RETR big.bin", write_sink, &got, 0, -7), FTP_ERR_INVALID_ARGUMENT);
    CHECK_RC(ftp, ftp_retrbinary(ftp, "RETR big.bin", write_sink, &got, (size_t)-1, FTP_NO_REST), FTP_ERR_INVALID_ARGUMENT);
    CHECK_RC(ftp, ftp_storbinary(ftp, "STOR x", NULL, NULL, 0, NULL, FTP_NO_REST), FTP_ERR_NULL_ARGUMENT);
    CHECK_RC(ftp, ftp_data_read(NULL, buf, 1, &n), FTP_ERR_NULL_ARGUMENT);
    CHECK_RC(ftp, ftp_data_close(NULL), FTP_ERR_NULL_ARGUMENT);

    /* The directory mirrored into a local one over 2 connections, then again: all up to
       date; bad flags refused. */
    {
        char mdir[] = "/tmp/ftpc-cmirror-XXXXXX";
        CHECK(mkdtemp(mdir) != NULL);
        struct mirror_events ev = {0, 0, 0};
        struct ftp_mirror_summary sum;
        memset(&sum, 0xff, sizeof sum);
        CHECK_RC(ftp, ftp_mirror(ftp, "", mdir, 0, 2, on_mirror, &ev, &sum), FTP_OK);
        CHECK(sum.files >= 5 && sum.files == (uint64_t)ev.gets && ev.bad_path == 0);
        CHECK(sum.refused == 0 && sum.failed == 0 && sum.up_to_date == 0);
        char p[sizeof mdir + 260];
        snprintf(p, sizeof p, "%s/fd.bin", mdir);
        struct stat mst;
        int64_t fsz = -1;
        CHECK_RC(ftp, ftp_size(ftp, "fd.bin", &fsz), FTP_OK);
        CHECK(stat(p, &mst) == 0 && mst.st_size == (off_t)fsz);
        uint64_t files = sum.files;
        CHECK_RC(ftp, ftp_mirror(ftp, "", mdir, 0, 0, NULL, NULL, &sum), FTP_OK);
        CHECK(sum.files == 0 && sum.up_to_date == files);
        CHECK_RC(ftp, ftp_mirror(ftp, "", mdir, 64, 0, NULL, NULL, &sum), FTP_ERR_INVALID_ARGUMENT);
        CHECK_RC(ftp, ftp_mirror(ftp, "", mdir, FTP_MIRROR_UPLOAD, 2, NULL, NULL, &sum), FTP_ERR_INVALID_ARGUMENT);
        CHECK_RC(ftp, ftp_pwd(ftp, &cwd), FTP_OK);
        DIR *d = opendir(mdir);
        CHECK(d != NULL);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(p, sizeof p, "%s/%s", mdir, e->d_name);
            CHECK(unlink(p) == 0);
        }
        if (d)
            closedir(d);
        CHECK(rmdir(mdir) == 0);
    }

    /* Clean up. */
    const char *files[] = {"big.bin", "partial.bin", "text.txt", "viadata.bin", "fd.bin", "resumed.bin", "copy.txt"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        ftp_delete(ftp, files[i]);
    CHECK_RC(ftp, ftp_cwd(ftp, ".."), FTP_OK);
    CHECK_RC(ftp, ftp_rmd(ftp, dir), FTP_OK);
    CHECK_RC(ftp, ftp_quit(ftp), FTP_OK);
    ftp_free(ftp);
    free(got.data);
    free(data);
}

/* Only the line functions (tests/c/lines.h), for a server that fits neither slot of
 * `session`: bsd-ftpd has no MLSD and stores ASCII uploads with LF. */
static void lines_session(const char *host, uint16_t port, const char *name, int passive)
{
    char label[160];
    snprintf(label, sizeof label, "%s %s", name, passive ? "passive" : "active");
    printf("-- %s, line functions only (%s port %u)\n", label, host, port);
    ftp_client *ftp = ftp_new();
    CHECK_RC(ftp, ftp_set_pasv(ftp, passive), FTP_OK);
    CHECK_RC(ftp, ftp_connect(ftp, host, port, 10000, NULL), FTP_OK);
    CHECK_RC(ftp, ftp_login(ftp, env_or("FTPC_TEST_USER", "ftpc"), env_or("FTPC_TEST_PASS", "ftpc-pass"), NULL),
             FTP_OK);
    check_line_functions(ftp, label);
    CHECK_RC(ftp, ftp_quit(ftp), FTP_OK);
    ftp_free(ftp);
}

int main(void)
{
    const char *host = env_or("FTPC_TEST_HOST", "127.0.0.1");
    int v6 = getenv("FTPC_TEST_IPV6") && strcmp(getenv("FTPC_TEST_IPV6"), "1") == 0;
    for (int passive = 1; passive >= 0; passive--) {
        session(host, env_port("FTPC_VSFTPD_PORT"), "vsftpd", passive, 0);
        session(host, env_port("FTPC_PUREFTPD_PORT"), "pure-ftpd", passive, 1);
        if (v6) {
            session("::1", env_port("FTPC_VSFTPD6_PORT"), "vsftpd IPv6", passive, 0);
            session("::1", env_port("FTPC_PUREFTPD_PORT"), "pure-ftpd IPv6", passive, 1);
        }
        lines_session(host, env_port("FTPC_BSDFTPD_PORT"), "bsd-ftpd", passive);
        if (v6)
            lines_session("::1", env_port("FTPC_BSDFTPD_PORT"), "bsd-ftpd IPv6", passive);
    }
    return check_report("test_transfer");
}
