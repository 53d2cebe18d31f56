/*
 * store_bench.c: the store's own figures (issue 2): durable appends (one
 * transaction and fsync each), batched appends (1000 per transaction) of
 * ~1 KiB entries, seal time against the number of unsealed entries, and
 * inclusion/consistency proof generation at 1M entries.
 *
 *   store_bench DIR [N]     N = entries for the large store (default 1000000)
 *
 * Prints one line per figure; bench/run turns them into ratios. The batched
 * phase is also given in CPU time (all threads, and the calling thread
 * alone), steadier than wall time on a shared machine.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "store_int.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static st_json_doc *doc;
static st_json *meta;
static char payload[1024];

/* A ~1 KiB entry: envelope plus a tool_input payload of 700 bytes. */
static void make_record(st_record_in *r, size_t i)
{
    memset(r, 0, sizeof *r);
    r->meta = meta;
    r->npayloads = 1;
    r->payloads[0].name = "tool_input";
    r->payloads[0].data = (const uint8_t *)payload;
    r->payloads[0].len = 700;
    payload[20 + i % 600] ^= 1;   /* vary content a little */
}

static st_store *open_fresh(const char *dir, const char *sub, uint64_t seal_n)
{
    char path[4096], vkey[ST_VKEY_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    st_init_opts o = { .origin = "bench.example/log", .seal_max_entries = seal_n, .seal_max_age_us = 1LL << 50, .no_syslog = 1 };
    if (st_store_init(path, &o, vkey) != 0) { fprintf(stderr, "init %s failed\n", path); exit(1); }
    st_store *s;
    if (st_store_open(&s, path, ST_OPEN_NOSYSLOG | ST_OPEN_NOSEAL) != 0) { fprintf(stderr, "open failed\n"); exit(1); }
    return s;
}

static void append_batch(st_store *s, size_t n, size_t base)
{
    st_record_in *recs = malloc(n * sizeof *recs);
    for (size_t i = 0; i < n; i++) make_record(&recs[i], base + i);
    uint64_t first;
    int rc = st_append_records(s, recs, n, &first);
    if (rc) { fprintf(stderr, "append: %s %s\n", st_strerror(rc), st_store_error(s)); exit(1); }
    free(recs);
}

int main(int argc, char **argv)
{
    if (argc < 2 || sodium_init() < 0) { fprintf(stderr, "usage: store_bench DIR [N]\n"); return 2; }
    const char *dir = argv[1];
    size_t big = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
    setenv("SEALTRAIL_NO_SYSLOG", "1", 1);
    doc = st_json_doc_new();
    meta = st_json_new_object(doc);
    st_json_object_add(doc, meta, "kind", 4, st_json_new_str(doc, "event"));
    st_json_object_add(doc, meta, "event", 5, st_json_new_str(doc, "PostToolUse"));
    st_json_object_add(doc, meta, "tool", 4, st_json_new_str(doc, "Bash"));
    st_json_object_add(doc, meta, "session", 7, st_json_new_str(doc, "7c1f3e2a-5b8d-4f60-9a41-2d7e8c9b0a13"));
    st_json_object_add(doc, meta, "cwd", 3, st_json_new_str(doc, "/home/dev/shop-api"));
    st_json_object_add(doc, meta, "status", 6, st_json_new_str(doc, "succeeded"));
    st_json_object_add(doc, meta, "duration_ms", 11, st_json_new_int(doc, 412));
    for (size_t i = 0; i < sizeof payload; i++) payload[i] = "abcdefghij klmnopqrstuvwxyz0123456789"[i * 7 % 37];
    memcpy(payload, "{\"command\":\"", 12);
    memcpy(payload + 690, "\"}", 2);

    /* 0. baseline: one JSONL line appended and fdatasync'd per event (the same durability) */
    {
        char path[4096];
        snprintf(path, sizeof path, "%s/baseline.jsonl", dir);
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0600);
        if (fd < 0) { perror(path); return 1; }
        double b0 = now_s();
        for (int i = 0; i < 1000; i++) {
            if (write(fd, payload, 700) != 700 || write(fd, "\n", 1) != 1 || fdatasync(fd) != 0) { perror("write"); return 1; }
        }
        double b1 = now_s();
        close(fd);
        printf("baseline_jsonl_fsync_append_us %.1f\n", (b1 - b0) / 1000 * 1e6);
    }

    /* 1. durable single appends */
    st_store *s = open_fresh(dir, "durable", 1u << 30);
    int n1 = 1000;
    double t0 = now_s();
    for (int i = 0; i < n1; i++) append_batch(s, 1, (size_t)i);
    double t1 = now_s();
    uint8_t *eb;
    size_t el;
    if (st_entry_get(s, 0, &eb, &el) == 0) { printf("entry_bytes %zu\n", el); free(eb); }
    printf("durable_append_us %.1f\n", (t1 - t0) / n1 * 1e6);
    st_store_close(s);

    /* 2. batched appends (1000 per transaction) into the big store */
    s = open_fresh(dir, "big", 1u << 30);
    t0 = now_s();
    double c0 = cpu_s(), m0 = thread_cpu_s();
    for (size_t done = 0; done < big; done += 1000) append_batch(s, big - done < 1000 ? big - done : 1000, done);
    double c1 = cpu_s(), m1 = thread_cpu_s();
    t1 = now_s();
    printf("batched_entries_per_s %.0f\n", big / (t1 - t0));
    /* CPU time of the batched phase (all threads): steadier than wall time on a shared machine */
    printf("batched_cpu_entries_per_s %.0f\n", big / (c1 - c0));
    /* the calling thread alone: the serial path (write transaction and commit) plus its share of preparation */
    printf("batched_main_thread_cpu_entries_per_s %.0f\n", big / (m1 - m0));

    /* 3. seal time against the number of unsealed entries */
    char *note;
    size_t nl;
    t0 = now_s();
    if (st_seal(s, &note, &nl) != 0) { fprintf(stderr, "seal: %s\n", st_store_error(s)); return 1; }
    t1 = now_s();
    free(note);
    printf("seal_ms_unsealed_%zu %.3f\n", big, (t1 - t0) * 1e3);
    size_t counts[] = { 1, 100, 10000 };
    for (size_t k = 0; k < 3; k++) {
        for (size_t done = 0; done < counts[k]; done += 1000) append_batch(s, counts[k] - done < 1000 ? counts[k] - done : 1000, done);
        t0 = now_s();
        if (st_seal(s, &note, &nl) != 0) return 1;
        t1 = now_s();
        free(note);
        printf("seal_ms_unsealed_%zu %.3f\n", counts[k], (t1 - t0) * 1e3);
    }

    /* 4. proofs at the big size */
    st_status stt;
    if (st_store_status(s, &stt) != 0) return 1;
    int reps = 2000;
    t0 = now_s();
    for (int i = 0; i < reps; i++) {
        uint8_t *h, root[32], leaf[32];
        size_t n;
        uint64_t idx = (uint64_t)i * 7919u % stt.size;
        if (st_prove_inclusion(s, idx, stt.size, &h, &n, root, leaf) != 0) return 1;
        free(h);
    }
    t1 = now_s();
    printf("inclusion_proof_us_at_%llu %.1f\n", (unsigned long long)stt.size, (t1 - t0) / reps * 1e6);
    /* The same proofs again: the first pass pays first-touch page faults of the
     * memory map (a fresh process, as `sealtrail prove` is); this is the
     * figure for a long-running reader. */
    t0 = now_s();
    for (int i = 0; i < reps; i++) {
        uint8_t *h, root[32], leaf[32];
        size_t n;
        uint64_t idx = (uint64_t)i * 7919u % stt.size;
        if (st_prove_inclusion(s, idx, stt.size, &h, &n, root, leaf) != 0) return 1;
        free(h);
    }
    t1 = now_s();
    printf("inclusion_proof_warm_us %.1f\n", (t1 - t0) / reps * 1e6);
    t0 = now_s();
    for (int i = 0; i < reps; i++) {
        uint8_t *h, a[32], b[32];
        size_t n;
        if (st_prove_consistency(s, 1 + (uint64_t)i * 104729u % (stt.size - 1), stt.size, &h, &n, a, b) != 0) return 1;
        free(h);
    }
    t1 = now_s();
    printf("consistency_proof_us_at_%llu %.1f\n", (unsigned long long)stt.size, (t1 - t0) / reps * 1e6);
    printf("store_bytes_per_entry %.0f\n", (double)stt.used_bytes / stt.size);
    st_store_close(s);
    st_json_doc_free(doc);
    return 0;
}
