/*
 * import_bench.c: the conversion stage of `sealtrail import` alone (no
 * store): every line of a JSONL file through st_import_line (parse, map,
 * redact, envelope and payloads), then st_event_free. Prints lines, CPU
 * time per line and lines/s, so that the conversion cost can be compared
 * with the store's write path (store_bench "batched ingest").
 *
 * Usage: import_bench FILE [--iters N]    (FILE from bench/gen_audit.py)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "import.h"

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 20, n = 0, got;
    char *b = malloc(cap);
    while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) { free(b); b = NULL; }
            b = nb;
        }
    }
    fclose(f);
    *len = n;
    return b;
}

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: import_bench FILE [--iters N]\n"); return 2; }
    int iters = argc > 3 && strcmp(argv[2], "--iters") == 0 ? atoi(argv[3]) : 1;
    size_t len;
    char *buf = slurp(argv[1], &len);
    if (!buf) { perror(argv[1]); return 2; }
    st_import_line_opts o = { .now_us = st_now_us(), .host = st_event_host(), .user = st_event_user() };
    double best = 1e9;
    uint64_t lines = 0, bad = 0, bytes = 0, payload = 0;
    for (int it = 0; it < (iters > 0 ? iters : 1); it++) {
        lines = bad = bytes = payload = 0;
        double t0 = cpu_s();
        for (size_t p = 0; p < len;) {
            const char *nl = memchr(buf + p, '\n', len - p);
            size_t n = nl ? (size_t)(nl - (buf + p)) : len - p;
            st_event ev;
            st_err why;
            int kind;
            int rc = st_import_line(&ev, &kind, buf + p, n, &o, &why);
            if (rc) bad++;
            else {
                for (size_t i = 0; i < ev.rec.npayloads; i++) payload += ev.rec.payloads[i].len;
                st_event_free(&ev);
            }
            lines++;
            bytes += n + 1;
            p += n + 1;
        }
        double t = cpu_s() - t0;
        if (t < best) best = t;
    }
    printf("import conversion: %llu lines (%llu bad), %.1f MiB in, %.1f MiB payload out: "
           "%.2f us/line CPU, %.0f lines/s, %.0f MB/s\n",
           (unsigned long long)lines, (unsigned long long)bad, (double)bytes / 1048576.0, (double)payload / 1048576.0,
           best * 1e6 / (double)(lines ? lines : 1), (double)lines / best, (double)bytes / best / 1e6);
    free(buf);
    return bad ? 1 : 0;
}
