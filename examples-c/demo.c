/*
 * demo: one real FTP session through ftpc's C API.
 *
 *   demo HOST PORT USER PASSWORD [FILE]
 *
 * Connects, logs in, prints the welcome, makes a directory, renames it, reads the
 * current directory and the size of FILE (default hello.txt), removes the directory
 * and quits, printing every reply. Exits non-zero on the first failure.
 */
#include <ftpc.h>
#include <stdio.h>
#include <stdlib.h>

static int show(ftp_client *ftp, const char *what, int rc)
{
    if (rc != FTP_OK) {
        fprintf(stderr, "%s failed: %s (%d): %s\n", what, ftp_strerror(rc), rc, ftp_last_error(ftp));
        return 0;
    }
    printf("%-8s -> %s\n", what, ftp_last_reply_text(ftp));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s HOST PORT USER PASSWORD [FILE]\n", argv[0]);
        return 2;
    }
    const char *file = argc > 5 ? argv[5] : "hello.txt";
    int ok = 0;
    ftp_client *ftp = ftp_new();
    if (ftp == NULL)
        return 1;
    printf("ftpc %s\n", ftp_version());

    if (!show(ftp, "connect", ftp_connect(ftp, argv[1], (uint16_t)atoi(argv[2]), 10000, NULL)))
        goto out;
    printf("welcome: %s\n", ftp_getwelcome(ftp));
    if (!show(ftp, "login", ftp_login(ftp, argv[3], argv[4], NULL)))
        goto out;

    const char *made = NULL;
    if (!show(ftp, "mkd", ftp_mkd(ftp, "ftpc-demo", &made)))
        goto out;
    printf("         made %s\n", made);
    if (!show(ftp, "rename", ftp_rename(ftp, "ftpc-demo", "ftpc-demo-renamed")))
        goto out;

    const char *cwd = NULL;
    if (!show(ftp, "pwd", ftp_pwd(ftp, &cwd)))
        goto out;
    printf("         current directory %s\n", cwd);

    int64_t size = -1;
    if (!show(ftp, "type", ftp_voidcmd(ftp, "TYPE I", NULL)) || !show(ftp, "size", ftp_size(ftp, file, &size)))
        goto out;
    printf("         %s is %lld bytes\n", file, (long long)size);

    if (!show(ftp, "rmd", ftp_rmd(ftp, "ftpc-demo-renamed")))
        goto out;
    ok = show(ftp, "quit", ftp_quit(ftp));
out:
    ftp_free(ftp);
    return ok ? 0 : 1;
}
