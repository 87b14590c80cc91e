/*
 * runner RESULT_FILE PROGRAM [ARGS...]: runs PROGRAM and writes
 * "status user_s sys_s maxrss_kb" (from wait4(2)) to RESULT_FILE; exits 0.
 *
 * bench/bench.py starts every measured client through this small process instead of
 * directly: Linux keeps a process's peak RSS across execve, so a client forked straight from
 * the Python harness would report the harness's own RSS (~20 MiB) as its peak. Forked from
 * here it starts from this program's few hundred KiB.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: runner RESULT_FILE PROGRAM [ARGS...]\n");
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("runner: fork");
        return 2;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        fprintf(stderr, "runner: %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("runner: wait4");
            return 2;
        }
    }
    FILE *f = fopen(argv[1], "w");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    fprintf(f, "%d %ld.%06ld %ld.%06ld %ld\n", status, (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec,
            (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec, ru.ru_maxrss);
    return fclose(f) == 0 ? 0 : 2;
}
