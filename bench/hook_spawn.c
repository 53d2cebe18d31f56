/*
 * hook_spawn.c: the timing loop behind bench/hook_bench.sh. Runs a command
 * N times as a separate process, the way Claude Code runs a hook: stdin is
 * a pipe fed with the payload file then closed, stdout and stderr go to
 * /dev/null; measures wall time from spawn to exit. Prints one line:
 *
 *   <label> <n> <p50 ms> <p90 ms> <p99 ms> <max ms> <failures> <short writes>
 *   <cpu ms p50> <minor faults p50>
 *
 * failures: non-zero exits; short writes: the child closed stdin before the
 * payload was written (a hook that does this makes Claude Code report EPIPE;
 * the empty program does it by design). cpu: the child's user + system time
 * (wait4), the number that does not depend on how busy the machine is.
 *
 * A payload holding the marker @@VARY@@ gets the run's number (8 hex
 * digits) in its place each run: every run then sends new content (a file
 * Written for the first time) instead of content the store already holds.
 *
 * usage: hook_spawn LABEL N PAYLOAD_FILE -- CMD [ARGS...]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 6 || strcmp(argv[4], "--") != 0) {
        fprintf(stderr, "usage: hook_spawn LABEL N PAYLOAD_FILE -- CMD [ARGS...]\n");
        return 2;
    }
    const char *label = argv[1];
    int n = atoi(argv[2]);
    FILE *f = fopen(argv[3], "rb");
    if (!f || n <= 0) { perror(argv[3]); return 2; }
    struct stat st;
    fstat(fileno(f), &st);
    size_t len = (size_t)st.st_size;
    char *payload = malloc(len ? len : 1);
    if (fread(payload, 1, len, f) != len) { perror("read"); return 2; }
    fclose(f);
    char *vary = len >= 8 ? memmem(payload, len, "@@VARY@@", 8) : NULL;
    double *t = malloc(sizeof(double) * (size_t)n);
    double *cpu = malloc(sizeof(double) * (size_t)n);
    double *flt = malloc(sizeof(double) * (size_t)n);
    if (!t || !cpu || !flt) { perror("malloc"); return 2; }
    int fails = 0, shorts = 0;
    signal(SIGPIPE, SIG_IGN);
    int devnull = open("/dev/null", O_WRONLY);
    for (int i = 0; i < n; i++) {
        if (vary) {
            char num[9];
            snprintf(num, sizeof num, "%08x", (unsigned)i ^ (unsigned)getpid() << 12);
            memcpy(vary, num, 8);
        }
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0) { perror("pipe"); return 2; }
        fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, p[0], 0);
        posix_spawn_file_actions_adddup2(&fa, devnull, 1);
        posix_spawn_file_actions_adddup2(&fa, devnull, 2);
        double t0 = now_ms();
        pid_t pid;
        if (posix_spawn(&pid, argv[5], &fa, NULL, argv + 5, environ) != 0) { perror(argv[5]); return 2; }
        close(p[0]);
        size_t off = 0;
        while (off < len) {
            ssize_t w = write(p[1], payload + off, len - off);
            if (w < 0) { if (errno == EINTR) continue; break; }   /* EPIPE: the child closed early */
            off += (size_t)w;
        }
        close(p[1]);
        int status;
        struct rusage ru;
        while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {}
        t[i] = now_ms() - t0;
        cpu[i] = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
        flt[i] = (double)ru.ru_minflt;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fails++;
        if (off < len) shorts++;
        posix_spawn_file_actions_destroy(&fa);
    }
    qsort(t, (size_t)n, sizeof *t, cmp);
    qsort(cpu, (size_t)n, sizeof *cpu, cmp);
    qsort(flt, (size_t)n, sizeof *flt, cmp);
    int i50 = n / 2, i90 = (int)(n * 0.9), i99 = (int)(n * 0.99);
    if (i99 >= n) i99 = n - 1;
    printf("%s %d %.3f %.3f %.3f %.3f %d %d %.3f %.0f\n", label, n, t[i50], t[i90], t[i99], t[n - 1], fails, shorts,
           cpu[i50], flt[i50]);
    return 0;
}
