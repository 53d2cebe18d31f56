/*
 * import_bench.c: the converting stage of `sealtrail import` alone: the
 * import's own line reader and converter (store/import_conv.c: read, parse,
 * map, redact, duration matching) over a JSONL file, segment by segment as
 * the import's converting thread runs it, then the same with each record
 * prepared for the append as the import prepares it on that thread
 * (st_prepare_record against a temporary empty store: salts, payload
 * commitments, compressed payload rows, canonical entry, leaf hash, index
 * facts). Nothing is appended. Prints CPU time per line for the conversion
 * alone, for conversion + preparation, and their difference, to set against
 * the store's write path (store_bench "batched ingest") and the whole import
 * (bench/query_bench.sh).
 *
 * Usage: import_bench FILE [--iters N]   (FILE from bench/gen_audit.py; best of N)
 */
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <ftw.h>
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

typedef struct run_out {
    double cpu;                     /* best of the iterations */
    uint64_t lines, bad, bytes, payload;
} run_out;

/* One pass over file (s NULL: conversion only). 0, or 1 with a message printed. */
static int run_once(const char *file, const st_store *s, imp_seg *sg, size_t batch, run_out *o)
{
    int fd = open(file, O_RDONLY);
    if (fd < 0) { perror(file); return 1; }
    imp_reader r = { .fd = fd, .cap = 1u << 20, .max_line = ST_EVENT_MAX_DEFAULT };
    imp_conv c = { .r = &r, .batch = batch, .s = s, .next_index = s ? 0 : UINT64_MAX };
    c.lo = (st_import_line_opts){ .now_us = st_now_us(), .host = st_event_host(), .user = st_event_user() };
    if (s && !(c.z = st_payload_zctx_new())) { fprintf(stderr, "import_bench: out of memory\n"); close(fd); return 1; }
    if (!(r.buf = malloc(r.cap))) { perror("import_bench"); close(fd); return 1; }
    uint64_t bad = 0, payload = 0;
    int rc = 0;
    double t0 = cpu_s();
    do {
        imp_produce(&c, sg);
        if (sg->rc) { fprintf(stderr, "import_bench: %s\n", sg->err.msg); rc = 1; break; }
        bad += sg->bad;
        for (size_t i = 0; i < sg->n; i++) {
            if (s && !sg->prep[i]) { fprintf(stderr, "import_bench: line not prepared\n"); rc = 1; }
            for (size_t k = 0; k < sg->evs[i].rec.npayloads; k++) payload += sg->evs[i].rec.payloads[k].len;
        }
        sg->done = sg->n;               /* freed by the next imp_produce, as in the import */
    } while (!rc && !sg->last);
    double t = cpu_s() - t0;
    if (t < o->cpu) o->cpu = t;
    o->lines = c.lineno;
    o->bad = bad;
    o->bytes = r.bytes;
    o->payload = payload;
    for (size_t i = 0; i < sg->n; i++) {
        st_prepared_free(sg->prep[i]);
        sg->prep[i] = NULL;
        st_event_free(&sg->evs[i]);
    }
    sg->n = sg->done = 0;
    imp_conv_free(&c);
    st_payload_zctx_free(c.z);
    free(r.buf);
    close(fd);
    return rc;
}

static int rm_one(const char *p, const struct stat *st, int fl, struct FTW *f)
{
    (void)st; (void)fl; (void)f;
    return remove(p);
}

/* A fresh store in a temporary directory, for st_prepare_record (payload cap). */
static st_store *temp_store(char *dir)
{
    st_store *s = NULL;
    char vkey[ST_VKEY_MAX];
    st_init_opts io = { .origin = "import-bench", .no_syslog = 1 };
    if (!mkdtemp(dir)) { perror("mkdtemp"); return NULL; }
    if (st_store_init(dir, &io, vkey) != 0 || st_store_open(&s, dir, ST_OPEN_NOSYSLOG | ST_OPEN_NOSEAL) != 0) {
        fprintf(stderr, "import_bench: cannot create a store in %s\n", dir);
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        return NULL;
    }
    return s;
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
    if (!sg || imp_seg_alloc(sg, batch) != 0) { perror("import_bench"); return 2; }
    char dir[] = "/tmp/import_bench.XXXXXX";
    st_store *s = temp_store(dir);
    if (!s) return 2;
    run_out conv = { .cpu = 1e30 }, prep = { .cpu = 1e30 };
    int rc = 0;
    for (int it = 0; it < iters && !rc; it++)
        rc = run_once(argv[1], NULL, sg, batch, &conv) || run_once(argv[1], s, sg, batch, &prep);
    st_store_close(s);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    imp_seg_release(sg);
    free(sg);
    if (rc) return 1;
    double n = (double)(conv.lines ? conv.lines : 1);
    printf("import conversion: %llu lines (%llu malformed), %.1f MiB in, %.1f MiB payload out: "
           "%.2f us/line CPU, %.0f lines/s, %.0f MB/s\n",
           (unsigned long long)conv.lines, (unsigned long long)conv.bad, (double)conv.bytes / 1048576.0,
           (double)conv.payload / 1048576.0, conv.cpu * 1e6 / n, n / conv.cpu, (double)conv.bytes / conv.cpu / 1e6);
    printf("import conversion + preparation: %.2f us/line CPU (preparation %.2f us/line), %.0f lines/s\n",
           prep.cpu * 1e6 / n, (prep.cpu - conv.cpu) * 1e6 / n, n / prep.cpu);
    return 0;
}
