/* The line functions of the C API (ftp_retrlines, ftp_nlst, ftp_dir) checked byte for byte
 * on a logged-in session, plain or FTPS: shared by test_transfer.c and test_tls.c. Each line
 * is handed to the callback in place with a NUL over its end, so every line is also checked
 * for a NUL at `len` and none before it. Include after check.h, with _POSIX_C_SOURCE set. */
#ifndef FTPC_TEST_LINES_H
#define FTPC_TEST_LINES_H

#include "check.h"

#include <stdint.h>
#include <unistd.h>

/* The longest line ftp_retrlines takes (see ftp_retrlines in ftpc.h). */
#define LINES_MAX 8192
#define LINES_FILLER 300

/* A text file with LF line ends and no CR (so its lines are plain to find), and its lines. */
struct line_text {
    char *bytes;
    size_t len;
    size_t count;
    size_t starts[LINES_FILLER + 16];
    size_t lens[LINES_FILLER + 16];
};

static void line_text_add(struct line_text *t, const char *line, size_t len)
{
    t->starts[t->count] = t->len;
    t->lens[t->count] = len;
    t->count++;
    memcpy(t->bytes + t->len, line, len);
    t->len += len;
    t->bytes[t->len++] = '\n';
}

/* Lines that matter to a line splitter: an empty one after the first and another before the
 * last, a tab and trailing spaces, UTF-8, one of 5000 bytes and one of the longest length
 * taken (8192), short ones enough to make the file span more than one 16 KiB TLS record
 * (so that some lines arrive split across reads), and a last line sent without an end
 * (storlines adds one). */
static void line_text_make(struct line_text *t)
{
    static const char *const fixed[] = {
        "first line",
        "",
        "\tindented by a tab, two spaces at the end  ",
        "UTF-8: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
    };
    char *longest = (char *)malloc(LINES_MAX + 1);
    char filler[64];
    memset(t, 0, sizeof *t);
    t->bytes = (char *)malloc(64 * 1024);
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        line_text_add(t, fixed[i], strlen(fixed[i]));
    for (size_t i = 0; i <= LINES_MAX; i++) /* printable ASCII, never CR or LF */
        longest[i] = (char)(33 + (i * 7 + i / 94) % 94);
    line_text_add(t, longest, 5000);
    for (int i = 0; i < LINES_FILLER; i++) {
        int n = snprintf(filler, sizeof filler, "filler line %03d: the quick brown fox", i);
        line_text_add(t, filler, (size_t)n);
    }
    line_text_add(t, longest + 1, LINES_MAX);
    line_text_add(t, "", 0);
    line_text_add(t, "last line, sent without an end", strlen("last line, sent without an end"));
    t->len--; /* no LF after the last line */
    free(longest);
}

/* What a line callback got: a copy of each line, and how many lines came without their NUL
 * at `len` (or with a NUL before it). */
struct line_sink {
    char **lines;
    size_t *lens;
    size_t count, cap;
    size_t unterminated;
    size_t stop_after; /* non-zero: stop the transfer once this many lines came */
};

static void line_sink_init(struct line_sink *s, size_t stop_after)
{
    memset(s, 0, sizeof *s);
    s->stop_after = stop_after;
}

static void line_sink_free(struct line_sink *s)
{
    for (size_t i = 0; i < s->count; i++)
        free(s->lines[i]);
    free(s->lines);
    free(s->lens);
    line_sink_init(s, 0);
}

static int line_sink_take(void *userdata, const char *line, size_t len)
{
    struct line_sink *s = (struct line_sink *)userdata;
    if (s->count == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->lines = (char **)realloc(s->lines, s->cap * sizeof *s->lines);
        s->lens = (size_t *)realloc(s->lens, s->cap * sizeof *s->lens);
    }
    char *copy = (char *)malloc(len + 1);
    if (line == NULL) {
        s->unterminated++;
        len = 0;
    } else {
        if (line[len] != '\0' || memchr(line, '\0', len) != NULL) {
            s->unterminated++;
            fprintf(stderr, "line %zu (%zu bytes): byte at len is %d, NUL before it at %ld\n", s->count, len,
                    line[len], memchr(line, '\0', len) ? (long)((const char *)memchr(line, '\0', len) - line) : -1L);
        }
        memcpy(copy, line, len);
    }
    copy[len] = '\0';
    s->lines[s->count] = copy;
    s->lens[s->count] = len;
    s->count++;
    return s->stop_after != 0 && s->count >= s->stop_after;
}

/* The first `n` lines of `got` are the first `n` of `t`, byte for byte; says where not. */
static int lines_same(const struct line_sink *got, const struct line_text *t, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (i >= got->count || i >= t->count) {
            fprintf(stderr, "%s: %zu lines, %zu expected\n", what, got->count, t->count);
            return 0;
        }
        const char *want = t->bytes + t->starts[i];
        if (got->lens[i] != t->lens[i] || memcmp(got->lines[i], want, t->lens[i]) != 0) {
            size_t at = 0;
            while (at < got->lens[i] && at < t->lens[i] && got->lines[i][at] == want[at])
                at++;
            fprintf(stderr, "%s: line %zu differs from byte %zu: %zu bytes \"%.40s\", expected %zu bytes \"%.40s\"\n",
                    what, i, at, got->lens[i], got->lines[i] + at, t->lens[i], want + at);
            return 0;
        }
    }
    return 1;
}

/* The index of `line` in `names` (`count` of them), also when it is `dir`/name; -1 if none. */
static int line_names(const char *line, const char *const *names, size_t count, const char *dir)
{
    size_t dlen = dir ? strlen(dir) : 0;
    for (size_t i = 0; i < count; i++) {
        if (strcmp(line, names[i]) == 0)
            return (int)i;
        if (dir && strncmp(line, dir, dlen) == 0 && line[dlen] == '/' && strcmp(line + dlen + 1, names[i]) == 0)
            return (int)i;
    }
    return -1;
}

/* A LIST line names `name` as its last field (after a space). */
static int line_ends_with_name(const char *line, size_t len, const char *name)
{
    size_t n = strlen(name);
    return len > n && line[len - n - 1] == ' ' && memcmp(line + len - n, name, n) == 0;
}

static int dot_entry(const char *line, const char *dir)
{
    const char *base = line;
    size_t dlen = strlen(dir);
    if (strncmp(line, dir, dlen) == 0 && line[dlen] == '/')
        base = line + dlen + 1;
    return strcmp(base, ".") == 0 || strcmp(base, "..") == 0;
}

/* An upload source of `len` bytes (from `bytes`, or a pattern when NULL). */
struct line_source { const char *bytes; size_t len, pos; };

static int line_source_read(void *userdata, uint8_t *buf, size_t len, size_t *out_len)
{
    struct line_source *s = (struct line_source *)userdata;
    size_t n = s->len - s->pos < len ? s->len - s->pos : len;
    for (size_t i = 0; i < n; i++)
        buf[i] = s->bytes ? (uint8_t)s->bytes[s->pos + i] : (uint8_t)((s->pos + i) * 13 + 5);
    s->pos += n;
    *out_len = n;
    return 0;
}

/* In a fresh directory of the current one: storlines a text file, ftp_retrlines it (each
 * line's bytes and its NUL; a stop after 3 lines leaves the connection in step), then puts
 * three binary files with spaces in their names beside it and lists the directory from
 * its parent: ftp_nlst (from inside, each name once; from the parent, each name once, bare
 * or as dir/name, as the server gives it) and ftp_dir (one line per file, ending with its
 * name, with its size). "." and ".." are let through in NLST and LIST (pure-ftpd lists them
 * in NLST), "total N" in LIST. Everything is removed again. */
static void check_line_functions(ftp_client *ftp, const char *name)
{
    static int runs = 0;
    char dir[96];
    snprintf(dir, sizeof dir, "lines-%d-%d", (int)getpid(), ++runs);
    CHECK_RC(ftp, ftp_mkd(ftp, dir, NULL), FTP_OK);
    CHECK_RC(ftp, ftp_cwd(ftp, dir), FTP_OK);

    /* The text, stored in TYPE A, comes back line for line. */
    struct line_text text;
    line_text_make(&text);
    struct line_source src = {text.bytes, text.len, 0};
    CHECK_RC(ftp, ftp_storlines(ftp, "STOR lines.txt", line_source_read, &src, NULL), FTP_OK);
    CHECK(src.pos == text.len);
    struct line_sink got;
    line_sink_init(&got, 0);
    CHECK_RC(ftp, ftp_retrlines(ftp, "RETR lines.txt", line_sink_take, &got), FTP_OK);
    CHECK(ftp_last_reply_code(ftp) == 226);
    CHECK(got.count == text.count);
    CHECK(got.unterminated == 0);
    CHECK(lines_same(&got, &text, text.count, name));
    size_t longest = 0;
    for (size_t i = 0; i < got.count; i++)
        longest = got.lens[i] > longest ? got.lens[i] : longest;
    CHECK(longest == LINES_MAX);
    size_t retrieved = got.count;
    line_sink_free(&got);

    /* A callback that stops after 3 lines: FTP_ERR_STOPPED, those 3 lines whole, and the
     * next commands get their own replies. */
    line_sink_init(&got, 3);
    CHECK_RC(ftp, ftp_retrlines(ftp, "RETR lines.txt", line_sink_take, &got), FTP_ERR_STOPPED);
    CHECK(got.count == 3 && got.unterminated == 0 && lines_same(&got, &text, 3, name));
    line_sink_free(&got);
    CHECK_RC(ftp, ftp_voidcmd(ftp, "NOOP", NULL), FTP_OK);
    CHECK(ftp_last_reply_code(ftp) == 200);

    /* A refused RETR: FTP_ERR_PERM with the server's 550, no line handed over, and the
     * connection in step. */
    line_sink_init(&got, 0);
    CHECK_RC(ftp, ftp_retrlines(ftp, "RETR no-such-file.txt", line_sink_take, &got), FTP_ERR_PERM);
    CHECK(ftp_last_reply_code(ftp) == 550);
    CHECK(got.count == 0);
    line_sink_free(&got);
    CHECK_RC(ftp, ftp_voidcmd(ftp, "NOOP", NULL), FTP_OK);
    CHECK(ftp_last_reply_code(ftp) == 200);

    /* Binary files beside it; SIZE in TYPE I gives each size as LIST shows it. */
    static const char *const names[] = {"lines.txt", "with space.bin", "two  spaces, then more.dat", "x"};
    enum { NAMES = sizeof names / sizeof names[0] };
    int64_t sizes[NAMES] = {-1, 1234, 77, 0};
    char cmd[160];
    for (size_t i = 1; i < NAMES; i++) {
        struct line_source bin = {NULL, (size_t)sizes[i], 0};
        snprintf(cmd, sizeof cmd, "STOR %s", names[i]);
        CHECK_RC(ftp, ftp_storbinary(ftp, cmd, line_source_read, &bin, 0, NULL, FTP_NO_REST), FTP_OK);
    }
    CHECK_RC(ftp, ftp_voidcmd(ftp, "TYPE I", NULL), FTP_OK);
    CHECK_RC(ftp, ftp_size(ftp, "lines.txt", &sizes[0]), FTP_OK);
    /* Stored with the CRLF ends storlines sent (vsftpd converts nothing) or with LF. */
    CHECK(sizes[0] == (int64_t)(text.len + text.count + 1) || sizes[0] == (int64_t)text.len + 1);

    /* NLST from inside: the bare names. */
    int seen[NAMES];
    size_t dots = 0, others = 0;
    memset(seen, 0, sizeof seen);
    line_sink_init(&got, 0);
    CHECK_RC(ftp, ftp_nlst(ftp, NULL, line_sink_take, &got), FTP_OK);
    CHECK(got.unterminated == 0);
    for (size_t i = 0; i < got.count; i++) {
        int k = line_names(got.lines[i], names, NAMES, NULL);
        if (k >= 0)
            seen[k]++;
        else if (strcmp(got.lines[i], ".") == 0 || strcmp(got.lines[i], "..") == 0)
            dots++;
        else {
            others++;
            fprintf(stderr, "%s: NLST gave \"%s\"\n", name, got.lines[i]);
        }
    }
    CHECK(others == 0 && (dots == 0 || dots == 2));
    for (size_t k = 0; k < NAMES; k++)
        CHECK(seen[k] == 1);
    line_sink_free(&got);

    /* NLST of the directory from its parent: names, or dir/names (the server's choice, but
     * one or the other for all). */
    CHECK_RC(ftp, ftp_cwd(ftp, ".."), FTP_OK);
    memset(seen, 0, sizeof seen);
    dots = others = 0;
    size_t with_dir = 0;
    line_sink_init(&got, 0);
    CHECK_RC(ftp, ftp_nlst(ftp, dir, line_sink_take, &got), FTP_OK);
    CHECK(got.unterminated == 0);
    for (size_t i = 0; i < got.count; i++) {
        int k = line_names(got.lines[i], names, NAMES, dir);
        if (strncmp(got.lines[i], dir, strlen(dir)) == 0 && got.lines[i][strlen(dir)] == '/')
            with_dir++;
        if (k >= 0)
            seen[k]++;
        else if (dot_entry(got.lines[i], dir))
            dots++;
        else {
            others++;
            fprintf(stderr, "%s: NLST %s gave \"%s\"\n", name, dir, got.lines[i]);
        }
    }
    CHECK(others == 0 && (dots == 0 || dots == 2));
    CHECK(with_dir == 0 || with_dir == got.count);
    for (size_t k = 0; k < NAMES; k++)
        CHECK(seen[k] == 1);
    const char *nlst_form = with_dir ? "dir/name" : "bare names";
    size_t nlst_dots = dots;
    line_sink_free(&got);

    /* LIST of the directory from its parent: one line per file, ending with its name (after
     * a space), with its size as a field. */
    memset(seen, 0, sizeof seen);
    dots = others = 0;
    size_t totals = 0;
    line_sink_init(&got, 0);
    CHECK_RC(ftp, ftp_dir(ftp, dir, line_sink_take, &got), FTP_OK);
    CHECK(got.unterminated == 0);
    for (size_t i = 0; i < got.count; i++) {
        const char *line = got.lines[i];
        size_t len = got.lens[i];
        int k = -1;
        /* The longest name that ends the line ("x" ends others too). */
        for (size_t j = 0; j < NAMES; j++)
            if (line_ends_with_name(line, len, names[j]) && (k < 0 || strlen(names[j]) > strlen(names[k])))
                k = (int)j;
        if (strncmp(line, "total ", 6) == 0)
            totals++;
        else if (line_ends_with_name(line, len, ".") || line_ends_with_name(line, len, ".."))
            dots++;
        else if (k >= 0 && line[0] == '-') {
            char size[32];
            snprintf(size, sizeof size, " %lld ", (long long)sizes[k]);
            if (strstr(line, size) == NULL) {
                fprintf(stderr, "%s: LIST line without the size %lld: \"%s\"\n", name, (long long)sizes[k], line);
                others++;
            }
            seen[k]++;
        } else {
            others++;
            fprintf(stderr, "%s: LIST %s gave \"%s\"\n", name, dir, line);
        }
    }
    CHECK(others == 0 && totals <= 1 && (dots == 0 || dots == 2));
    for (size_t k = 0; k < NAMES; k++)
        CHECK(seen[k] == 1);
    printf("   %s: ftp_retrlines %zu lines (%zu bytes stored as %lld), NLST of a directory: %s%s, LIST: %zu lines\n",
           name, retrieved, text.len, (long long)sizes[0], nlst_form, nlst_dots ? " with . and .." : "", got.count);
    line_sink_free(&got);

    for (size_t k = 0; k < NAMES; k++) {
        snprintf(cmd, sizeof cmd, "%s/%s", dir, names[k]);
        CHECK_RC(ftp, ftp_delete(ftp, cmd), FTP_OK);
    }
    CHECK_RC(ftp, ftp_rmd(ftp, dir), FTP_OK);
    free(text.bytes);
}

#endif
