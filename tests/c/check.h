/* A tiny assertion harness for ftpc's C tests: counts failures, never aborts early. */
#ifndef FTPC_TEST_CHECK_H
#define FTPC_TEST_CHECK_H

#include <ftpc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures = 0;
static int check_passes = 0;

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (cond) {                                                                     \
            check_passes++;                                                             \
        } else {                                                                        \
            check_failures++;                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);    \
        }                                                                               \
    } while (0)

/* Checks a status code, showing the handle's last error when it differs. */
#define CHECK_RC(ftp, expr, want)                                                       \
    do {                                                                                \
        int rc_ = (expr);                                                               \
        if (rc_ == (want)) {                                                            \
            check_passes++;                                                             \
        } else {                                                                        \
            const char *e_ = (ftp) ? ftp_last_error(ftp) : "";                          \
            check_failures++;                                                           \
            fprintf(stderr, "%s:%d: %s returned %d (%s), wanted %d (%s); last error: %s\n", \
                    __FILE__, __LINE__, #expr, rc_, ftp_strerror(rc_), (int)(want),     \
                    ftp_strerror(want), e_ ? e_ : "(null)");                            \
        }                                                                               \
    } while (0)

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

static uint16_t env_port(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "%s is not set: source target/ftp-servers/env first\n", name);
        exit(2);
    }
    return (uint16_t)atoi(v);
}

static int check_report(const char *name)
{
    printf("%s: %d checks passed, %d failed\n", name, check_passes, check_failures);
    return check_failures == 0 && check_passes > 0 ? 0 : 1;
}

#endif
