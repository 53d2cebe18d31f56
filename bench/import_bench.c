/*
 * import_bench.c: the converting stage of `sealtrail import` alone, without
 * a store: the import's own line reader and converter (store/import_conv.c:
 * read, parse, map, redact, envelope and payloads, duration matching) over
 * a JSONL file, segment by segment as the import's converting thread runs
 * it, the events then freed. Prints CPU time per line, lines/s and MB/s, to
 * set against the store's write path (store_bench "batched ingest") and the
 * whole import (bench/query_bench.sh).
 *
 * Usage: import_bench FILE [--iters N]   (FILE from bench/gen_audit.py; best of N)
 */
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "import_int.h"

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: import_bench FILE [--iters N]\n"); return 2; }
    int iters = argc > 3 && strcmp(argv[2], "--iters") == 0 ? atoi(argv[3]) : 1;
    if (iters < 1) iters = 1;
#ifdef __GLIBC__
    /* Alone, freeing a segment's events shrinks the heap and the next segment
     * faults it back in (two page faults a line, half the time measured); in
     * the import the store's own allocations keep the heap from shrinking. */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
    const size_t batch = 1000;
    imp_seg *sg = calloc(1, sizeof *sg);
    if (!sg || !(sg->evs = calloc(batch, sizeof *sg->evs)) || !(sg->prep = calloc(batch, sizeof *sg->prep))) { perror("import_bench"); return 2; }
    double best = 1e30;
    uint64_t lines = 0, bad = 0, bytes = 0, payload = 0;
    for (int it = 0; it < iters; it++) {
        int fd = open(argv[1], O_RDONLY);
        if (fd < 0) { perror(argv[1]); return 2; }
        imp_reader r = { .fd = fd, .cap = 1u << 20, .max_line = ST_EVENT_MAX_DEFAULT };
        imp_conv c = { .r = &r, .batch = batch };
        c.lo = (st_import_line_opts){ .now_us = st_now_us(), .host = st_event_host(), .user = st_event_user() };
        if (!(r.buf = malloc(r.cap))) { perror("import_bench"); return 2; }
        bad = payload = 0;
        double t0 = cpu_s();
        do {
            imp_produce(&c, sg);
            if (sg->rc) { fprintf(stderr, "import_bench: %s\n", sg->err.msg); return 1; }
            bad += sg->bad;
            for (size_t i = 0; i < sg->n; i++)
                for (size_t k = 0; k < sg->evs[i].rec.npayloads; k++) payload += sg->evs[i].rec.payloads[k].len;
            sg->done = sg->n;           /* freed by the next imp_produce, as in the import */
        } while (!sg->last);
        double t = cpu_s() - t0;
        if (t < best) best = t;
        lines = c.lineno;
        bytes = r.bytes;
        imp_conv_free(&c);
        free(r.buf);
        close(fd);
    }
    for (size_t i = 0; i < sg->done; i++) st_event_free(&sg->evs[i]);
    printf("import conversion: %llu lines (%llu malformed), %.1f MiB in, %.1f MiB payload out: "
           "%.2f us/line CPU, %.0f lines/s, %.0f MB/s\n",
           (unsigned long long)lines, (unsigned long long)bad, (double)bytes / 1048576.0, (double)payload / 1048576.0,
           best * 1e6 / (double)(lines ? lines : 1), (double)lines / best, (double)bytes / best / 1e6);
    free(sg->evs);
    free(sg->prep);
    free(sg);
    return 0;
}
