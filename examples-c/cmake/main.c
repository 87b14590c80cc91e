/*
 * The CMake consumer example: an ordinary project that finds the installed ftpc with
 * find_package(ftpc) and links its imported targets (see CMakeLists.txt).
 *
 *   ftpc-pwd HOST PORT USER PASSWORD
 *
 * Connects, logs in, prints the library version, the welcome and the current directory,
 * then quits. Exits non-zero on the first failure.
 */
#include <ftpc.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s HOST PORT USER PASSWORD\n", argv[0]);
        return 2;
    }
    ftp_client *ftp = ftp_new();
    if (ftp == NULL)
        return 1;
    int rc;
    const char *cwd = NULL;
    printf("ftpc %s (header %s)\n", ftp_version(), FTPC_VERSION_STRING);
    if ((rc = ftp_connect(ftp, argv[1], (uint16_t)atoi(argv[2]), 10000, NULL)) != FTP_OK ||
        (rc = ftp_login(ftp, argv[3], argv[4], NULL)) != FTP_OK ||
        (rc = ftp_pwd(ftp, &cwd)) != FTP_OK) {
        fprintf(stderr, "failed: %s (%d): %s\n", ftp_strerror(rc), rc, ftp_last_error(ftp));
        ftp_free(ftp);
        return 1;
    }
    printf("welcome: %s\ncwd: %s\n", ftp_getwelcome(ftp), cwd);
    rc = ftp_quit(ftp);
    ftp_free(ftp);
    return rc == FTP_OK ? 0 : 1;
}
