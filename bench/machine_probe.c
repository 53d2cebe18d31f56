/*
 * machine_probe.c: what this machine gives a process, for reading the other
 * figures of bench/run. Three things decide the import's rate besides our
 * code: whether the cores are equally fast (a VM's vCPUs need not be: a
 * pipeline is then limited by the slow one), what a system call costs and
 * what a first touch of a fresh anonymous page costs (both are paid per
 * batch and per buffer grown). Prints one line per figure; never part of
 * the test suite.
 *
 * Usage: machine_probe
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A fixed amount of integer work (no memory traffic), in seconds. */
static double spin(void)
{
    volatile uint64_t x = 0;
    double t0 = now_s();
    for (uint64_t i = 0; i < 200000000u; i++) x = x + i * i;
    double t = now_s() - t0;
    (void)x;
    return t;
}

static double best_spin(void)
{
    double best = 1e9;
    for (int r = 0; r < 3; r++) {
        double t = spin();
        if (t < best) best = t;
    }
    return best;
}

/* First touch of n fresh anonymous pages, per page in microseconds; with
 * populate, the pages are populated in one call first (Linux 5.14+). */
static double fault_us(size_t n, int populate)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), len = n * pg;
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return -1;
    double t0 = now_s();
#ifdef MADV_POPULATE_WRITE
    if (populate && madvise(p, len, MADV_POPULATE_WRITE) != 0) {
        munmap(p, len);
        return -1;
    }
#else
    if (populate) {
        munmap(p, len);
        return -1;
    }
#endif
    for (size_t i = 0; i < len; i += pg) p[i] = 1;
    double t = now_s() - t0;
    munmap(p, len);
    return t * 1e6 / (double)n;
}

int main(void)
{
    cpu_set_t all;
    if (sched_getaffinity(0, sizeof all, &all) != 0) {
        perror("machine_probe: sched_getaffinity");
        return 1;
    }
    double fastest = 1e9, slowest = 0, t[CPU_SETSIZE];
    int ncpu = 0, fast_cpu = -1, slow_cpu = -1;
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, &all)) continue;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(c, &one);
        if (sched_setaffinity(0, sizeof one, &one) != 0) continue;
        t[c] = best_spin();
        ncpu++;
        if (t[c] < fastest) fastest = t[c], fast_cpu = c;
        if (t[c] > slowest) slowest = t[c], slow_cpu = c;
    }
    sched_setaffinity(0, sizeof all, &all);
    if (!ncpu) {
        fputs("machine_probe: could not run on any CPU of the affinity mask\n", stderr);
        return 1;
    }
    printf("  CPUs: %d; the same integer loop takes %.0f ms on cpu%d (fastest), %.0f ms on cpu%d (slowest): %.2fx\n", ncpu,
           fastest * 1e3, fast_cpu, slowest * 1e3, slow_cpu, slowest / fastest);
    double cap = 0;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &all) && t[c] > 0) cap += fastest / t[c];
    printf("  compute capacity: %.2f fastest-CPU equivalents (a pipeline of %d busy threads gets at most this)\n", cap, ncpu);

    enum { CALLS = 200000 };
    double t0 = now_s();
    for (int i = 0; i < CALLS; i++) (void)syscall(SYS_getppid);
    printf("  system call (getppid): %.2f us\n", (now_s() - t0) * 1e6 / CALLS);
    double f = fault_us(16384, 0), fp = fault_us(16384, 1);
    if (fp >= 0)
        printf("  first touch of a fresh 4 KiB page: %.2f us faulted one by one, %.2f us populated in one call (%.2fx)\n", f,
               fp, f / fp);
    else
        printf("  first touch of a fresh 4 KiB page: %.2f us\n", f);
    return 0;
}
