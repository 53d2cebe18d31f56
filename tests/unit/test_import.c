/*
 * test_import.c: st_import_fd (store/import.c, store/import_conv.c) through
 * a real store. The import converts in a second thread while it appends
 * (a third helps prepare records);
 * what callers see must be exactly what converting and appending line by
 * line in one thread gives (opts.serial):
 *
 *  - the same entries (envelope and payload lengths; payload commitments
 *    differ only by their random salts), counters and malformed-line
 *    reports (line numbers and messages, in order);
 *  - the same transactions: with the policy "seal after 1 entry" every
 *    transaction ends in a checkpoint, so checkpoint sizes show where each
 *    transaction ended, also across runs of malformed lines longer than a
 *    segment holds;
 *  - a store that refuses the first transaction stops the import there:
 *    nothing appended, and no malformed line after that transaction is
 *    reported (the converter ran ahead; its reports must not show);
 *  - strict: a malformed line writes nothing and names the line;
 *  - progress points every 65536 lines with the entries and bytes so far;
 *  - a PostToolUse takes its duration from a PreToolUse in the store
 *    (an earlier import) as well as from one in the same file;
 *  - records prepared on the converting thread for a predicted index land
 *    at their real index when another writer got in first;
 *  - the preparer thread lowers its own priority only: the thread that
 *    called the import (the appender) keeps its own.
 *
 * And the pieces the converting thread's preparation is made of:
 *  - the direct envelope writer (store/envelope.c) gives exactly the bytes
 *    of the envelope built as a DOM and written with sorted keys, on random
 *    metadata (keys sorting around the reserved ones, prefixes, duplicates,
 *    escapes, nested unsorted objects) and payload tables;
 *  - the salt pool hands out bytes that never repeat, across refills;
 *  - records prepared in pairs (interleaved hashing), also into reused
 *    preparations, give the entries, payloads and index rows of plain
 *    appends, with payload counts that differ within a pair, empty and
 *    truncated payloads, and one record of a pair not built ahead.
 *
 * And the line shapes real audit hooks write (import_line.c): timestamps
 * with "+0200" offsets or as strings of epoch digits, "ts"/"@timestamp"
 * /"time", durations as strings, "success": false, "error" objects, "tool"
 * instead of "toolName", session_id copied into an audit-log line.
 * And check on an imported store finds a payload row no entry names.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sodium.h>

#include "envelope.h"
#include "import.h"
#include "import_int.h"
#include "payload.h"
#include "record.h"
#include "store_int.h"
#include "testutil.h"

static char *dir;

static void setup(void)
{
    ck_assert(sodium_init() >= 0);
    setenv("SEALTRAIL_NO_SYSLOG", "1", 1);
    setenv("SEALTRAIL_FAKE_TIME", "2025-06-01T00:00:00Z", 1);   /* same recorded_us in every run */
    dir = tu_tmpdir();
    ck_assert_ptr_nonnull(dir);
}

static void teardown(void)
{
    tu_rmrf(dir);
    free(dir);
    unsetenv("SEALTRAIL_FAKE_TIME");
}

static st_store *make_store(const char *name, uint64_t seal_n)
{
    char path[4096], vkey[ST_VKEY_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    st_init_opts o = { .origin = "example.com/test-import", .seal_max_entries = seal_n, .seal_max_age_us = 3600LL * 1000000 };
    ck_assert_int_eq(st_store_init(path, &o, vkey), 0);
    st_store *s;
    ck_assert_int_eq(st_store_open(&s, path, ST_OPEN_NOSYSLOG), 0);
    return s;
}

static int open_text(const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    fclose(f);
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    return fd;
}

/* ---- what the callbacks saw ---------------------------------------------------------- */

typedef struct seen {
    st_buf log;            /* "bad LINE MSG\n" and "progress LINES IMPORTED BYTES\n", in call order */
} seen;

static void on_bad(void *ctx, uint64_t line, const char *why)
{
    char b[700];
    int n = snprintf(b, sizeof b, "bad %llu %s\n", (unsigned long long)line, why);
    st_buf_put(&((seen *)ctx)->log, b, (size_t)n);
}

static void on_progress(void *ctx, uint64_t lines, uint64_t imported, uint64_t bytes)
{
    char b[100];
    int n = snprintf(b, sizeof b, "progress %llu %llu %llu\n", (unsigned long long)lines, (unsigned long long)imported,
                     (unsigned long long)bytes);
    st_buf_put(&((seen *)ctx)->log, b, (size_t)n);
}

static int import_text(st_store *s, const char *name, const char *text, st_import_opts *o, st_import_result *res,
                       st_err *err, seen *sn)
{
    int fd = open_text(name, text);
    o->on_bad = on_bad;
    o->on_progress = on_progress;
    o->ctx = sn;
    err->msg[0] = 0;
    int rc = st_import_fd(s, fd, o, res, err);
    close(fd);
    st_buf_putc(&sn->log, 0);
    return rc;
}

/* ---- the fixture ---------------------------------------------------------------------- */

/* Seed lines, hook Pre/Post pairs (some Posts before their Pre, some with
 * their own duration), blank lines, malformed lines alone and in runs of
 * 150 (more than a segment's notes), a secret now and then. */
static char *fixture(size_t n)
{
    st_buf b = { 0 };
    char line[600];
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        unsigned r = (x >> 16) % 100;
        int len;
        if (r < 45)
            len = snprintf(line, sizeof line,
                           "{\"timestamp\":\"2025-01-%02zuT08:%02zu:00.%03zuZ\",\"toolName\":\"%s\",\"input\":{\"command\":\"%s\"},"
                           "\"output\":{\"stdout\":\"%.*s\"},\"executionTimeMs\":%u,\"status\":\"%s\",\"sessionId\":\"s%zu\"}\n",
                           1 + i % 28, i % 60, i % 1000, r % 3 ? "Bash" : "Read",
                           r % 7 ? "ls" : "git push https://u:ghp_Zz0123456789abcdefghijABCDEFGHIJ0123@github.com/x",
                           (int)(x % 200), "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
                           "incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud exercitation "
                           "ullamco laboris nisi",
                           x % 900, r % 11 ? "success" : "error", i % 5);
        else if (r < 75)
            len = snprintf(line, sizeof line,
                           "{\"hook_event_name\":\"%s\",\"timestamp\":\"2025-02-01T00:%02zu:%02zu.%03uZ\",\"session_id\":\"s1\","
                           "\"tool_name\":\"Bash\",\"tool_use_id\":\"toolu_%u\",\"tool_input\":{\"command\":\"make\"}%s}\n",
                           r < 60 ? "PreToolUse" : "PostToolUse", (i / 60) % 60, i % 60, x % 1000, (x >> 8) % 40,
                           r < 60 ? "" : r < 70 ? ",\"tool_response\":{\"stdout\":\"ok\"}" : ",\"tool_response\":{},\"duration_ms\":5");
        else if (r < 80)
            len = snprintf(line, sizeof line, "%s\n", r % 2 ? "" : "  \t");
        else if (r < 98)
            len = snprintf(line, sizeof line, "%s\n",
                           r % 4 == 0 ? "not json" : r % 4 == 1 ? "[1,2]" : r % 4 == 2 ? "{\"foo\":1}"
                                                    : "{\"timestamp\":\"soon\",\"toolName\":\"X\"}");
        else {
            for (int k = 0; k < 150; k++) st_buf_put(&b, "{oops\n", 6);
            continue;
        }
        st_buf_put(&b, line, (size_t)len);
    }
    st_buf_putc(&b, 0);
    ck_assert(!b.oom);
    return (char *)b.data;
}

/* Entry i's canonical bytes with every payload commitment blanked (salts are random). */
static char *entry_text(st_store *s, uint64_t i)
{
    uint8_t *e;
    size_t n;
    ck_assert_int_eq(st_entry_get(s, i, &e, &n), 0);
    char *t = malloc(n + 1);
    memcpy(t, e, n);
    t[n] = 0;
    free(e);
    for (char *p = t; (p = strstr(p, "\"commit\":\"")) != NULL;) {
        p += 10;
        for (; *p && *p != '"'; p++) *p = '0';
    }
    return t;
}

/* ---- tests ---------------------------------------------------------------------------- */

START_TEST(threaded_equals_serial)
{
    char *text = fixture(3000);
    static const size_t batches[] = { 7, 1000, 1 };
    for (size_t bi = 0; bi < 3; bi++) {
        st_store *st[2];
        st_import_result res[2];
        seen sn[2];
        memset(sn, 0, sizeof sn);
        for (int k = 0; k < 2; k++) {
            char name[32];
            snprintf(name, sizeof name, "s%zu%d", bi, k);
            st[k] = make_store(name, 1);
            st_import_opts o = { .batch = batches[bi], .serial = k == 0 };
            st_err err;
            ck_assert_int_eq(import_text(st[k], "in.jsonl", text, &o, &res[k], &err, &sn[k]), 0);
        }
        ck_assert_uint_gt(res[0].imported, 1000);
        ck_assert_uint_gt(res[0].bad, 300);
        ck_assert_uint_gt(res[0].hook, 500);
        ck_assert_mem_eq(&res[0], &res[1], sizeof res[0]);
        ck_assert_str_eq((char *)sn[0].log.data, (char *)sn[1].log.data);
        uint64_t nbad = 0;
        for (const char *p = (char *)sn[0].log.data; (p = strstr(p, "bad ")) != NULL; p++) nbad++;
        ck_assert_uint_eq(nbad, res[0].bad);
        for (uint64_t i = 0; i < res[0].imported; i++) {
            char *a = entry_text(st[0], i), *b = entry_text(st[1], i);
            ck_assert_str_eq(a, b);
            free(a);
            free(b);
        }
        /* one transaction per batch: a checkpoint at every multiple of the batch and at the end, nowhere else */
        for (uint64_t size = 1; size <= res[0].imported; size++) {
            int want = size % batches[bi] == 0 || size == res[0].imported;
            for (int k = 0; k < 2; k++) {
                uint64_t got;
                char *note;
                size_t nl;
                int rc = st_checkpoint_get(st[k], size, ST_CP_EXACT, &got, &note, &nl);
                ck_assert_msg(want ? rc == 0 : rc == ST_ENOTFOUND, "batch %zu, size %llu: rc %d", batches[bi],
                              (unsigned long long)size, rc);
                if (rc == 0) free(note);
            }
        }
        for (int k = 0; k < 2; k++) {
            ck_assert_int_eq(st_check(st[k]), 0);
            st_store_close(st[k]);
            st_buf_free(&sn[k].log);
        }
    }
    free(text);
}
END_TEST

/* A transaction ends at the batch size or after the line with which its
 * lines reach batch_bytes, whichever comes first (a log of large lines
 * must not hold batch x line size in memory): the checkpoints show exactly
 * those ends, in both modes. Malformed and blank lines count for neither. */
START_TEST(transactions_end_at_a_byte_budget)
{
    enum { N = 120, BATCH = 40, BUDGET = 9000 };
    st_buf text = { 0 };
    size_t len[N];
    int good[N];
    for (size_t i = 0; i < N; i++) {
        size_t start = text.len;
        good[i] = i % 17 != 5;
        if (i % 23 == 7) {
            good[i] = 0;
            st_buf_puts(&text, "");                  /* blank */
        } else if (!good[i]) {
            st_buf_puts(&text, "{\"timestamp\": nope}");
        } else {
            st_buf_printf(&text, "{\"timestamp\":\"2025-01-15T10:30:%02zu.000Z\",\"toolName\":\"Bash\","
                                 "\"input\":{\"command\":\"ls\"},\"output\":\"", i % 60);
            size_t fill = 50 + (i * 997) % 4000;     /* 50..4049 bytes */
            for (size_t k = 0; k < fill; k++) st_buf_putc(&text, (uint8_t)('a' + k % 26));
            st_buf_puts(&text, "\",\"status\":\"success\"}");
        }
        len[i] = text.len - start;
        st_buf_putc(&text, '\n');
    }
    st_buf_putc(&text, 0);
    /* the expected transaction ends, as entry counts */
    uint64_t ends[N + 1];
    size_t nends = 0, in_txn = 0, bytes = 0, imported = 0;
    for (size_t i = 0; i < N; i++) {
        if (!good[i]) continue;
        imported++;
        bytes += len[i];
        if (++in_txn == BATCH || bytes >= BUDGET) {
            ends[nends++] = imported;
            in_txn = bytes = 0;
        }
    }
    if (!nends || ends[nends - 1] != imported) ends[nends++] = imported;
    ck_assert_uint_gt(nends, 20);                    /* the budget, not the batch, ends most of them */
    for (int k = 0; k < 2; k++) {
        char name[32];
        snprintf(name, sizeof name, "bb%d", k);
        st_store *s = make_store(name, 1);
        st_import_opts o = { .batch = BATCH, .batch_bytes = BUDGET, .serial = k == 0 };
        st_import_result res;
        st_err err;
        seen sn = { { 0 } };
        ck_assert_int_eq(import_text(s, "bb.jsonl", (char *)text.data, &o, &res, &err, &sn), 0);
        ck_assert_uint_eq(res.imported, imported);
        size_t e = 0;
        for (uint64_t size = 1; size <= imported; size++) {
            int want = e < nends && ends[e] == size;
            uint64_t got;
            char *note;
            size_t nl;
            int rc = st_checkpoint_get(s, size, ST_CP_EXACT, &got, &note, &nl);
            ck_assert_msg(want ? rc == 0 : rc == ST_ENOTFOUND, "serial %d, size %llu: rc %d", k == 0,
                          (unsigned long long)size, rc);
            if (rc == 0) free(note);
            e += want;
        }
        ck_assert_uint_eq(e, nends);
        ck_assert_int_eq(st_check(s), 0);
        st_store_close(s);
        st_buf_free(&sn.log);
    }
    st_buf_free(&text);
}
END_TEST

START_TEST(refused_append_stops_where_serial_stops)
{
    char *text = fixture(3000);
    for (int k = 0; k < 2; k++) {
        char name[32];
        snprintf(name, sizeof name, "ro%d", k);
        st_store *s = make_store(name, 1);
        st_store_close(s);
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        ck_assert_int_eq(st_store_open(&s, path, ST_OPEN_RDONLY), 0);
        st_import_opts o = { .batch = 10, .serial = k == 0 };
        st_import_result res;
        st_err err;
        seen sn = { 0 };
        int rc = import_text(s, "in.jsonl", text, &o, &res, &err, &sn);
        ck_assert_int_eq(rc, ST_ERDONLY);
        ck_assert_ptr_nonnull(strstr(err.msg, "appending lines"));
        ck_assert_uint_eq(res.imported, 0);
        ck_assert_uint_eq(res.seed + res.hook, 10);
        /* reports only up to the line that completed the first transaction */
        const char *log = (const char *)sn.log.data, *last = NULL;
        for (const char *p = log; (p = strstr(p, "bad ")) != NULL; p++) last = p;
        ck_assert_ptr_nonnull(last);
        ck_assert_uint_lt(strtoull(last + 4, NULL, 10), res.lines);
        st_buf_free(&sn.log);
        st_store_close(s);
    }
    free(text);
}
END_TEST

START_TEST(strict_writes_nothing)
{
    st_store *s = make_store("st", 0);
    st_import_opts o = { .strict = 1, .batch = 2 };
    st_import_result res;
    st_err err;
    seen sn = { 0 };
    char text[4096] = "";
    for (int i = 0; i < 9; i++) strcat(text, "{\"timestamp\":\"2025-01-01T00:00:00Z\",\"toolName\":\"X\",\"input\":{}}\n");
    strcat(text, "{\"timestamp\":\"2025-01-01T00:00:00Z\",\"toolName\":\"X\",\"input\":{}\n");
    strcat(text, "{\"timestamp\":\"2025-01-01T00:00:00Z\",\"toolName\":\"X\",\"input\":{}}\n");
    ck_assert_int_eq(import_text(s, "in.jsonl", text, &o, &res, &err, &sn), ST_EJSON);
    ck_assert_ptr_nonnull(strstr(err.msg, "line 10: not JSON"));
    ck_assert_uint_eq(res.imported, 0);
    st_status stt;
    ck_assert_int_eq(st_store_status(s, &stt), 0);
    ck_assert_uint_eq(stt.size, 0);
    st_buf_free(&sn.log);
    st_store_close(s);
}
END_TEST

/* Editors on Windows start UTF-8 files with a byte order mark: the first
 * line is still a line, in the strict pass and the import alike; a BOM
 * anywhere else is not whitespace and leaves its line malformed. */
/* ---- the preparer's priority ----------------------------------------------------------- */

static int my_nice(void)
{
    errno = 0;
    int n = getpriority(PRIO_PROCESS, (id_t)gettid());
    ck_assert(n != -1 || errno == 0);
    return n;
}

static void *lower_in_a_thread(void *arg)
{
    int *out = arg;
    out[0] = my_nice();                       /* inherited from the creator */
    out[1] = imp_lower_thread_priority();
    out[2] = my_nice();
    return NULL;
}

START_TEST(preparer_priority_is_its_own)
{
    int before = my_nice();
    int want = before + IMP_PREPARER_NICE > 19 ? 19 : before + IMP_PREPARER_NICE;
    int out[3];
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, lower_in_a_thread, out), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_int_eq(out[0], before);
    ck_assert_int_eq(out[1], want);
    ck_assert_int_eq(out[2], want);
    ck_assert_int_eq(my_nice(), before);     /* the rest of the process as it was */

    /* A threaded import (converter and preparer) leaves its caller's priority alone. */
    st_store *s = make_store("nice", 0);
    st_import_opts o = { 0 };
    st_import_result res;
    st_err err;
    seen sn = { 0 };
    ck_assert_int_eq(import_text(s, "in.jsonl", "{\"timestamp\":\"2025-01-01T00:00:00Z\",\"toolName\":\"X\",\"input\":{}}\n",
                                 &o, &res, &err, &sn), 0);
    ck_assert_uint_eq(res.imported, 1);
    ck_assert_int_eq(my_nice(), before);
    st_buf_free(&sn.log);
    st_store_close(s);
}
END_TEST

START_TEST(leading_bom_is_skipped)
{
    static const char line[] = "{\"timestamp\":\"2025-01-01T00:00:00Z\",\"toolName\":\"X\",\"input\":{}}\n";
    char text[1024];
    snprintf(text, sizeof text, "\xEF\xBB\xBF%s\xEF\xBB\xBF%s%s", line, line, line);
    for (int strict = 0; strict < 2; strict++) {
        char name[16];
        snprintf(name, sizeof name, "bom%d", strict);
        st_store *s = make_store(name, 0);
        st_import_opts o = { .strict = strict };
        st_import_result res;
        st_err err;
        seen sn = { 0 };
        int rc = import_text(s, "in.jsonl", text, &o, &res, &err, &sn);
        if (strict) {
            ck_assert_int_eq(rc, ST_EJSON);
            ck_assert_ptr_nonnull(strstr(err.msg, "line 2: not JSON"));
            ck_assert_uint_eq(res.imported, 0);
        } else {
            ck_assert_int_eq(rc, 0);
            ck_assert_uint_eq(res.imported, 2);
            ck_assert_uint_eq(res.bad, 1);
            ck_assert_ptr_nonnull(strstr((char *)sn.log.data, "bad 2 "));
            char *e = entry_text(s, 0);
            ck_assert_ptr_nonnull(strstr(e, "\"tool\":\"X\""));
            free(e);
        }
        st_buf_free(&sn.log);
        st_store_close(s);
    }
}
END_TEST

/* opts->stop, as a signal handler sets it: the import ends at the next
 * transaction boundary, keeping whole batches, and says how far it got.
 * Here the malformed line 15 raises the flag while its batch (lines
 * 11..21, ten good ones) is applied: lines 1..21 are done, the rest is not
 * appended. */
static volatile sig_atomic_t stop_at_bad;

static void bad_stops(void *ctx, uint64_t line, const char *why)
{
    (void)ctx;
    (void)line;
    (void)why;
    stop_at_bad = 1;
}

START_TEST(stop_flag_ends_at_a_batch_boundary)
{
    char text[8192] = "";
    for (int i = 1; i <= 40; i++)
        strcat(text, i == 15 ? "not json\n" : "{\"timestamp\":\"2025-01-01T00:00:00Z\",\"toolName\":\"X\",\"input\":{}}\n");
    for (int mode = 0; mode < 3; mode++) {  /* threaded, serial, strict (flag up at once: stops in the check pass) */
        char name[16];
        snprintf(name, sizeof name, "stop%d", mode);
        st_store *s = make_store(name, 0);
        stop_at_bad = mode == 2;
        st_import_opts o = { .batch = 10, .serial = mode == 1, .strict = mode == 2, .on_bad = bad_stops,
                             .stop = &stop_at_bad };
        st_import_result res;
        st_err err;
        err.msg[0] = 0;
        int fd = open_text("stop.jsonl", text);
        ck_assert_int_eq(st_import_fd(s, fd, &o, &res, &err), 0);
        close(fd);
        ck_assert_int_eq(res.interrupted, 1);
        st_status stt;
        ck_assert_int_eq(st_store_status(s, &stt), 0);
        if (mode == 2) {
            ck_assert_uint_eq(res.imported, 0);
            ck_assert_uint_eq(stt.size, 0);
        } else {
            ck_assert_uint_eq(res.lines, 21);
            ck_assert_uint_eq(res.imported, 20);
            ck_assert_uint_eq(res.bad, 1);
            ck_assert_uint_eq(stt.size, 20);
        }
        st_store_close(s);
    }
}
END_TEST

START_TEST(progress_every_65536_lines)
{
    st_store *s = make_store("pr", 0);
    const char *good = "{\"timestamp\":1736496180,\"toolName\":\"X\",\"input\":{}}\n";
    size_t gl = strlen(good);
    st_buf b = { 0 };
    for (size_t ln = 1; ln <= 140000; ln++) {
        if (ln == 1 || ln == 65536 || ln == 131072 || ln == 140000) st_buf_put(&b, good, gl);
        else if (ln == 131071) st_buf_put(&b, "x\n", 2);
        else st_buf_putc(&b, '\n');
    }
    st_buf_putc(&b, 0);
    st_import_opts o = { .batch = 3 };
    st_import_result res;
    st_err err;
    seen sn = { 0 };
    ck_assert_int_eq(import_text(s, "in.jsonl", (char *)b.data, &o, &res, &err, &sn), 0);
    char want[512];
    snprintf(want, sizeof want, "progress 65536 2 %zu\nbad 131071 not JSON: offset 0: expected a value, found 'x'\n"
             "progress 131072 3 %zu\nprogress 140000 4 %zu\n",
             65534 + 2 * gl, 131070 + 3 * gl, b.len - 1);
    ck_assert_str_eq((char *)sn.log.data, want);
    ck_assert_uint_eq(res.imported, 4);
    ck_assert_uint_eq(res.blank, 140000 - 5);
    st_buf_free(&sn.log);
    st_buf_free(&b);
    st_store_close(s);
}
END_TEST

START_TEST(duration_from_the_store)
{
    st_store *s = make_store("du", 0);
    st_import_opts o = { .batch = 2 };
    st_import_result res;
    st_err err;
    seen sn = { 0 };
    ck_assert_int_eq(import_text(s, "a.jsonl",
                                 "{\"hook_event_name\":\"PreToolUse\",\"timestamp\":\"2025-01-01T00:00:00Z\",\"session_id\":\"s\","
                                 "\"tool_name\":\"Bash\",\"tool_use_id\":\"toolu_A\",\"tool_input\":{}}\n",
                                 &o, &res, &err, &sn), 0);
    ck_assert_int_eq(import_text(s, "b.jsonl",
                                 "{\"hook_event_name\":\"PreToolUse\",\"timestamp\":\"2025-01-01T00:00:01Z\",\"session_id\":\"s\","
                                 "\"tool_name\":\"Bash\",\"tool_use_id\":\"toolu_B\",\"tool_input\":{}}\n"
                                 "{\"hook_event_name\":\"PostToolUse\",\"timestamp\":\"2025-01-01T00:00:02.5Z\",\"session_id\":\"s\","
                                 "\"tool_name\":\"Bash\",\"tool_use_id\":\"toolu_A\",\"tool_input\":{},\"tool_response\":{}}\n"
                                 "{\"hook_event_name\":\"PostToolUse\",\"timestamp\":\"2025-01-01T00:00:04Z\",\"session_id\":\"s\","
                                 "\"tool_name\":\"Bash\",\"tool_use_id\":\"toolu_B\",\"tool_input\":{},\"tool_response\":{}}\n",
                                 &o, &res, &err, &sn), 0);
    ck_assert_uint_eq(res.imported, 3);
    char *a = entry_text(s, 2), *b = entry_text(s, 3);
    ck_assert_ptr_nonnull(strstr(a, "\"duration_ms\":2500"));     /* its PreToolUse was in the store */
    ck_assert_ptr_nonnull(strstr(b, "\"duration_ms\":3000"));     /* in the same file */
    ck_assert_ptr_nonnull(strstr(a, "\"kind\":\"import\""));
    free(a);
    free(b);
    st_buf_free(&sn.log);
    st_store_close(s);
}
END_TEST

/* The converting thread prepares every record for the index the store size
 * predicts; here another writer gets in first again and again (the
 * malformed-line callback, on the appending thread, appends a record before
 * the transaction that follows), so those predictions go stale and the
 * entries are rebuilt at their real index. Every entry carries its own
 * index and check (tree, payloads, index rows) passes. */
typedef struct intruder {
    st_store *s;
    st_json_doc *doc;
    uint64_t appended;
} intruder;

static void on_bad_intrude(void *ctx, uint64_t line, const char *why)
{
    (void)line;
    (void)why;
    intruder *in = ctx;
    st_json *m = st_json_new_object(in->doc);
    ck_assert_int_eq(st_json_object_add(in->doc, m, "kind", 4, st_json_new_str(in->doc, "event")), 0);
    ck_assert_int_eq(st_json_object_add(in->doc, m, "tool", 4, st_json_new_str(in->doc, "Intruder")), 0);
    st_record_in r = { .meta = m, .npayloads = 1 };
    r.payloads[0] = (st_payload_in){ .name = "tool_input", .data = (const uint8_t *)"{\"command\":\"intrude\"}", .len = 21 };
    ck_assert_int_eq(st_append_records(in->s, &r, 1, NULL), 0);
    in->appended++;
}

START_TEST(prepared_records_after_another_writer)
{
    char *text = fixture(3000);
    static const size_t batches[] = { 7, 100 };
    for (size_t bi = 0; bi < 2; bi++) {
        char name[32];
        snprintf(name, sizeof name, "iw%zu", bi);
        st_store *s = make_store(name, 0);
        intruder in = { .s = s, .doc = st_json_doc_new() };
        int fd = open_text("in.jsonl", text);
        st_import_opts o = { .batch = batches[bi], .on_bad = on_bad_intrude, .ctx = &in };
        st_import_result res;
        st_err err;
        ck_assert_int_eq(st_import_fd(s, fd, &o, &res, &err), 0);
        close(fd);
        ck_assert_uint_gt(in.appended, 300);
        ck_assert_uint_eq(in.appended, res.bad);
        st_status stt;
        ck_assert_int_eq(st_store_status(s, &stt), 0);
        ck_assert_uint_eq(stt.size, res.imported + in.appended);
        uint64_t intruders = 0, first = UINT64_MAX, last = 0;
        for (uint64_t i = 0; i < stt.size; i++) {
            char *t = entry_text(s, i), want[48];
            snprintf(want, sizeof want, "\"index\":%llu,", (unsigned long long)i);
            ck_assert_msg(strstr(t, want) != NULL, "entry %llu does not carry its own index", (unsigned long long)i);
            if (strstr(t, "\"tool\":\"Intruder\"")) intruders++;
            else if (first == UINT64_MAX) first = last = i;
            else last = i;
            free(t);
        }
        ck_assert_uint_eq(intruders, in.appended);
        ck_assert_uint_eq(res.first_index, first);   /* the range the import reports spans the intruders */
        ck_assert_uint_eq(res.last_index, last);
        ck_assert_uint_gt(res.last_index - res.first_index + 1, res.imported);
        ck_assert_int_eq(st_check(s), 0);
        st_json_doc_free(in.doc);
        st_store_close(s);
    }
    free(text);
}
END_TEST

/* ---- the envelope writer against the DOM writer ----------------------------------------- */

static uint32_t rnd(uint32_t *x)
{
    *x = *x * 1103515245u + 12345u;
    return *x >> 8;
}

#define COUNT(a) (sizeof (a) / sizeof *(a))

/* Keys that sort around the reserved members and each other (prefixes), escapes, UTF-8, empty. */
static const char *const some_keys[] = {
    "kind", "event", "tool", "session", "status", "cwd", "u", "va", "v0", "ind", "indexx", "time", "time_usx",
    "payload", "payloads0", "a", "", "\xc3\xa9t\xc3\xa9", "q\"uote", "back\\slash", "ctl\x01", "tab\t", "Z", "~",
};
static const char *const some_strs[] = {
    "", "import", "PostToolUse", "a \"quoted\" word", "line\nbreak\tand\rmore", "\x01\x1f\x7f", "\xe2\x82\xac uro",
    "\\", "/path/to/x",
};
static const char *const some_nums[] = { "0", "-1", "42", "9007199254740991", "1.5", "-0.25e3" };
static const char *const some_names[] = { "tool_input", "tool_response", "event", "error", "prompt", "raw", "a", "z9", "tool" };

static st_json *random_value(st_json_doc *doc, uint32_t *x, int depth)
{
    switch (rnd(x) % (depth < 3 ? 8 : 5)) {
    case 0: return st_json_new_str(doc, some_strs[rnd(x) % COUNT(some_strs)]);
    case 1: {
        const char *n = some_nums[rnd(x) % COUNT(some_nums)];
        return st_json_new_raw_number(doc, n, strlen(n));
    }
    case 2: return st_json_new_int(doc, (int64_t)(rnd(x) % 100000) - 5000);
    case 3: return st_json_new_bool(doc, (int)(rnd(x) & 1));
    case 4: return st_json_new_null(doc);
    case 5:
    case 6: {
        st_json *o = st_json_new_object(doc);
        for (unsigned i = 0, n = rnd(x) % 6; i < n; i++) {
            const char *key = some_keys[rnd(x) % COUNT(some_keys)];
            ck_assert_int_eq(st_json_object_add(doc, o, key, strlen(key), random_value(doc, x, depth + 1)), 0);
        }
        return o;
    }
    default: {
        st_json *a = st_json_new_array(doc);
        for (unsigned i = 0, n = rnd(x) % 4; i < n; i++)
            ck_assert_int_eq(st_json_array_add(doc, a, random_value(doc, x, depth + 1)), 0);
        return a;
    }
    }
}

static st_json *int_node(st_json_doc *doc, int64_t v)
{
    st_json *n = st_json_new_int(doc, v);
    ck_assert_ptr_nonnull(n);
    return n;
}

static st_json *hash_node(st_json_doc *doc, const uint8_t *h)
{
    char hex[2 * ST_HASH_BYTES + 1];
    st_hex_encode(hex, h, ST_HASH_BYTES);
    return st_json_new_str(doc, hex);
}

/* The envelope as append.c built it before envelope.c: a DOM of the metadata's
 * members (cloned), v, index, time_us and the payload table, in that order. */
static st_json *dom_envelope(st_json_doc *doc, const st_json *meta, uint64_t index, int64_t time_us,
                             const st_envelope_payload *pl, size_t n)
{
    st_json *o = st_json_new_object(doc);
    for (const st_json *m = meta->child; m; m = m->next)
        ck_assert_int_eq(st_json_object_add(doc, o, m->key, m->key_len, st_json_clone(doc, m)), 0);
    ck_assert_int_eq(st_json_object_add(doc, o, "v", 1, int_node(doc, ST_ENTRY_VERSION)), 0);
    ck_assert_int_eq(st_json_object_add(doc, o, "index", 5, int_node(doc, (int64_t)index)), 0);
    ck_assert_int_eq(st_json_object_add(doc, o, "time_us", 7, int_node(doc, time_us)), 0);
    if (!n) return o;
    st_json *tab = st_json_new_object(doc);
    for (size_t i = 0; i < n; i++) {
        st_json *c = st_json_new_object(doc);
        ck_assert_int_eq(st_json_object_add(doc, c, "commit", 6, hash_node(doc, pl[i].commit)), 0);
        ck_assert_int_eq(st_json_object_add(doc, c, "len", 3, int_node(doc, (int64_t)pl[i].len)), 0);
        if (pl[i].truncated) {
            st_json *t = st_json_new_object(doc);
            ck_assert_int_eq(st_json_object_add(doc, t, "len", 3, int_node(doc, (int64_t)pl[i].full_len)), 0);
            ck_assert_int_eq(st_json_object_add(doc, t, "sha256", 6, hash_node(doc, pl[i].full_sha)), 0);
            ck_assert_int_eq(st_json_object_add(doc, c, "truncated", 9, t), 0);
        }
        ck_assert_int_eq(st_json_object_add(doc, tab, pl[i].name, strlen(pl[i].name), c), 0);
    }
    ck_assert_int_eq(st_json_object_add(doc, o, "payloads", 8, tab), 0);
    return o;
}

START_TEST(envelope_writer_equals_dom_writer)
{
    uint32_t x = 777;
    uint8_t hashes[2 * ST_ENTRY_MAX_PAYLOADS][ST_HASH_BYTES];
    for (size_t i = 0; i < sizeof hashes; i++) (&hashes[0][0])[i] = (uint8_t)rnd(&x);
    for (int round = 0; round < 3000; round++) {
        st_json_doc *doc = st_json_doc_new();
        ck_assert_ptr_nonnull(doc);
        /* Metadata: up to 60 members (past the writer's small-array size), duplicates included. */
        st_json *meta = st_json_new_object(doc);
        unsigned nm = round % 50 == 0 ? 60 : rnd(&x) % 16;
        for (unsigned i = 0; i < nm; i++) {
            const char *key = some_keys[rnd(&x) % COUNT(some_keys)];
            ck_assert_int_eq(st_json_object_add(doc, meta, key, strlen(key), random_value(doc, &x, 1)), 0);
        }
        /* Payloads: distinct names in any order, some truncated. */
        st_envelope_payload pl[ST_ENTRY_MAX_PAYLOADS];
        size_t n = 0;
        for (size_t i = rnd(&x) % COUNT(some_names), want = rnd(&x) % 5; n < want; i = (i + 3) % COUNT(some_names)) {
            int dup = 0;
            for (size_t j = 0; j < n; j++) dup |= strcmp(pl[j].name, some_names[i]) == 0;
            if (dup) break;
            int tr = (int)(rnd(&x) % 4 == 0);
            pl[n] = (st_envelope_payload){ some_names[i], hashes[2 * n], rnd(&x) % 5000, tr, 5000 + rnd(&x), hashes[2 * n + 1] };
            n++;
        }
        uint64_t index = round % 7 == 0 ? (uint64_t)round : ((uint64_t)rnd(&x) << 24 | rnd(&x)) % 9007199254740991ULL;
        int64_t t = (int64_t)(((uint64_t)rnd(&x) << 24) | rnd(&x)) - (round % 3 == 0 ? 4000000000000LL : 0);
        st_buf want = { 0 }, got = { 0 };
        st_json_write(&want, dom_envelope(doc, meta, index, t, pl, n), ST_JSON_SORT_KEYS);
        ck_assert_int_eq(st_envelope_write(&got, meta, index, t, pl, n), 0);
        ck_assert(!want.oom && !got.oom);
        ck_assert_msg(got.len == want.len && memcmp(got.data, want.data, got.len) == 0, "round %d:\n%.*s\n%.*s", round,
                      (int)want.len, (const char *)want.data, (int)got.len, (const char *)got.data);
        st_buf_free(&want);
        st_buf_free(&got);
        st_json_doc_free(doc);
    }
}
END_TEST

/* Integers as printf writes them: every digit count, both signs, the extremes. */
START_TEST(envelope_int_equals_printf)
{
    int64_t xs[200];
    size_t n = 0;
    xs[n++] = INT64_MIN;
    xs[n++] = INT64_MAX;
    for (int64_t p = 1; n + 6 <= sizeof xs / sizeof *xs; p *= 10) {
        xs[n++] = p - 1;
        xs[n++] = p;
        xs[n++] = p + 1;
        xs[n++] = -p;
        xs[n++] = -(p - 1);
        xs[n++] = p * 7 + 3;
        if (p > INT64_MAX / 10) break;
    }
    for (size_t i = 0; i < n; i++) {
        char got[24], want[24];
        size_t len = st_envelope_int(got, xs[i]);
        snprintf(want, sizeof want, "%lld", (long long)xs[i]);
        ck_assert_str_eq(got, want);
        ck_assert_uint_eq(len, strlen(want));
    }
}
END_TEST

/* ---- the salt pool ------------------------------------------------------------------------ */

static int cmp_salt(const void *a, const void *b)
{
    return memcmp(a, b, ST_SALT_BYTES);
}

START_TEST(salt_pool_never_repeats)
{
    /* Record-sized draws (1 to 5 payloads) across many refills of the pool, then direct draws (no context). */
    enum { N = 3000 };
    uint8_t *salts = calloc(N, ST_SALT_BYTES);
    ck_assert_ptr_nonnull(salts);
    st_payload_zctx *z = st_payload_zctx_new();
    ck_assert_ptr_nonnull(z);
    size_t k = 0;
    for (unsigned r = 0; k < N; r++) {
        size_t np = 1 + r % 5;
        if (np > N - k) np = N - k;
        st_payload_salts(k < N - 100 ? z : NULL, salts + k * ST_SALT_BYTES, np * ST_SALT_BYTES);
        k += np;
    }
    st_payload_zctx_free(z);
    qsort(salts, N, ST_SALT_BYTES, cmp_salt);
    static const uint8_t zero[ST_SALT_BYTES];
    for (size_t i = 0; i < N; i++) {
        ck_assert(memcmp(salts + i * ST_SALT_BYTES, zero, ST_SALT_BYTES) != 0);
        if (i) ck_assert(memcmp(salts + (i - 1) * ST_SALT_BYTES, salts + i * ST_SALT_BYTES, ST_SALT_BYTES) != 0);
    }
    free(salts);
}
END_TEST

/* ---- records prepared in pairs ------------------------------------------------------------ */

static const char *const pair_names[] = { "tool_input", "tool_response", "event", "error" };

/* Record k of a set: metadata and payloads of the given lengths, with a
 * two-byte UTF-8 character every 7 bytes (truncation cuts at a boundary). */
static void pair_record(st_json_doc *doc, st_record_in *r, uint8_t (*buf)[400], const size_t *lens, size_t n, int k)
{
    memset(r, 0, sizeof *r);
    st_json *meta = st_json_new_object(doc);
    char tool[16];
    snprintf(tool, sizeof tool, "Tool%d", k);
    ck_assert_int_eq(st_json_object_add(doc, meta, "kind", 4, st_json_new_str(doc, "import")), 0);
    ck_assert_int_eq(st_json_object_add(doc, meta, "tool", 4, st_json_new_str(doc, tool)), 0);
    ck_assert_int_eq(st_json_object_add(doc, meta, "cwd", 3, st_json_new_str(doc, "/repo")), 0);
    r->meta = meta;
    r->time_us = 1700000000000000LL + k;
    r->npayloads = n;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < lens[i]; j++) buf[i][j] = j % 7 == 5 ? 0xc3 : j % 7 == 6 ? 0xa9 : (uint8_t)('a' + (j + (size_t)k) % 26);
        if (lens[i] && buf[i][lens[i] - 1] == 0xc3) buf[i][lens[i] - 1] = 'z';
        r->payloads[i] = (st_payload_in){ .name = pair_names[i], .data = buf[i], .len = lens[i] };
    }
}

static st_store *capped_store(const char *name)
{
    char path[4096], vkey[ST_VKEY_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    st_init_opts o = { .origin = "example.com/test-import", .payload_cap = 100 };
    ck_assert_int_eq(st_store_init(path, &o, vkey), 0);
    st_store *s;
    ck_assert_int_eq(st_store_open(&s, path, ST_OPEN_NOSYSLOG), 0);
    return s;
}

START_TEST(prepared_pairs_equal_plain_appends)
{
    /* Payload counts that differ within a pair, empty and truncated payloads (cap 100). */
    static const size_t lens[2][6][4] = {
        { { 0, 50, 250, 0 }, { 120, 0, 0, 0 }, { 0 }, { 80, 0, 0, 0 }, { 10, 20, 30, 300 }, { 100, 101, 0, 0 } },
        { { 7, 0, 0, 0 }, { 300, 300, 300, 0 }, { 1, 2, 0, 0 }, { 0 }, { 99, 0, 0, 0 }, { 250, 5, 0, 0 } },
    };
    static const size_t counts[2][6] = { { 3, 1, 0, 2, 4, 2 }, { 1, 3, 2, 0, 1, 2 } };
    st_store *a = capped_store("pairs"), *b = capped_store("plain");
    st_payload_zctx *z = st_payload_zctx_new();
    ck_assert_ptr_nonnull(z);
    st_prepared *prep[6] = { 0 };
    static uint8_t bufs[6][4][400];
    for (int round = 0; round < 2; round++) {      /* the second round reuses the first one's preparations */
        st_json_doc *doc = st_json_doc_new();
        st_record_in recs[6];
        for (int k = 0; k < 6; k++) pair_record(doc, &recs[k], bufs[k], lens[round][k], counts[round][k], k + 6 * round);
        for (int k = 0; k < 6; k += 2) {
            const st_record_in *r[2] = { &recs[k], &recs[k + 1] };
            uint64_t at = (uint64_t)(6 * round + k);
            /* record 4 not built ahead (a duration still to come), as the import does */
            const uint64_t idx[2] = { k == 4 ? UINT64_MAX : at, at + 1 };
            ck_assert_int_eq(st_prepare_record_pair(a, r, idx, z, &prep[k]), 0);
            ck_assert_ptr_nonnull(prep[k]);
            ck_assert_ptr_nonnull(prep[k + 1]);
        }
        ck_assert_int_eq(st_append_prepared(a, recs, prep, 6, NULL), 0);
        ck_assert_int_eq(st_append_records(b, recs, 6, NULL), 0);
        for (uint64_t i = 6 * (uint64_t)round; i < 6 * (uint64_t)round + 6; i++) {
            char *ta = entry_text(a, i), *tb = entry_text(b, i);
            ck_assert_str_eq(ta, tb);
            free(ta);
            free(tb);
            const st_record_in *r = &recs[i % 6];
            for (size_t p = 0; p < r->npayloads; p++) {
                uint8_t *got, salt[ST_SALT_BYTES];
                size_t n;
                ck_assert_int_eq(st_payload_get(a, i, r->payloads[p].name, &got, &n, salt), 0);
                ck_assert_uint_le(n, r->payloads[p].len);
                ck_assert_uint_ge(n + 4, r->payloads[p].len < 100 ? r->payloads[p].len + 4 : 100);
                ck_assert(n == 0 || memcmp(got, r->payloads[p].data, n) == 0);
                free(got);
            }
        }
        st_json_doc_free(doc);
    }
    for (int k = 0; k < 6; k++) st_prepared_free(prep[k]);
    st_payload_zctx_free(z);
    ck_assert_int_eq(st_check(a), 0);              /* commitments, leaf hashes and index rows */
    ck_assert_int_eq(st_check(b), 0);
    st_store_close(a);
    st_store_close(b);
}
END_TEST

/* ---- the shapes real audit hooks write (store/import_line.c) ---------------------------------- */

/* Each line becomes an audit-log entry (ST_IMPORT_SEED, or HOOK) with this
 * time and these members in its envelope; "-" as time: malformed. */
static const struct shape_case {
    const char *line;
    int kind;
    int64_t time_us;
    const char *want[4];
} shape_cases[] = {
#define T0 "\"timestamp\":\"2025-01-15T10:30:00Z\",\"toolName\":\"Bash\",\"input\":{}"
    /* timestamps: epoch ms as a string; ISO 8601 offsets without colon, or hours only */
    { "{\"timestamp\":\"1736937000123\",\"toolName\":\"Bash\",\"input\":{}}", ST_IMPORT_SEED, 1736937000123000LL, { NULL } },
    { "{\"timestamp\":\"2025-01-15T10:30:00.123+0000\",\"toolName\":\"Bash\",\"input\":{}}", ST_IMPORT_SEED, 1736937000123000LL, { NULL } },
    { "{\"timestamp\":\"2025-01-15T12:30:00+0200\",\"toolName\":\"Bash\",\"input\":{}}", ST_IMPORT_SEED, 1736937000000000LL, { NULL } },
    { "{\"timestamp\":\"2025-01-15T05:00:00-05:30\",\"toolName\":\"Bash\",\"input\":{}}", ST_IMPORT_SEED, 1736937000000000LL, { NULL } },
    { "{\"timestamp\":\"2025-01-15T12:30:00+02\",\"toolName\":\"Bash\",\"input\":{}}", ST_IMPORT_SEED, 1736937000000000LL, { NULL } },
    { "{\"timestamp\":\"20250115\",\"toolName\":\"Bash\",\"input\":{}}", ST_IMPORT_SEED, -1, { NULL } },
    { "{\"timestamp\":\"1e12\",\"toolName\":\"Bash\",\"input\":{}}", ST_IMPORT_SEED, -1, { NULL } },
    /* "ts" / "@timestamp" / "time" when there is no "timestamp"; not a small number */
    { "{\"ts\":\"2025-01-15T11:30:00+01:00\",\"toolName\":\"Bash\",\"input\":{}}", ST_IMPORT_SEED, 1736937000000000LL, { NULL } },
    { "{\"@timestamp\":1736937000,\"toolName\":\"Bash\",\"input\":{}}", ST_IMPORT_SEED, 1736937000000000LL, { NULL } },
    { "{\"time\":12,\"toolName\":\"Bash\",\"input\":{}}", ST_IMPORT_SEED, -1, { NULL } },
    /* durations as strings */
    { "{" T0 ",\"executionTimeMs\":\"34\"}", ST_IMPORT_SEED, 1736937000000000LL, { "\"duration_ms\":34", NULL } },
    { "{" T0 ",\"executionTimeMs\":\"-3\"}", ST_IMPORT_SEED, 1736937000000000LL, { "\"status\":\"succeeded\"", NULL } },
    /* failures: success false; an error object with a message */
    { "{" T0 ",\"success\":false}", ST_IMPORT_SEED, 1736937000000000LL, { "\"status\":\"failed\"", "PostToolUseFailure", NULL } },
    { "{" T0 ",\"success\":true}", ST_IMPORT_SEED, 1736937000000000LL, { "\"status\":\"succeeded\"", NULL } },
    { "{" T0 ",\"error\":{\"message\":\"boom\\nmore\",\"code\":2}}", ST_IMPORT_SEED, 1736937000000000LL,
      { "\"status\":\"failed\"", "\"error\":\"boom\"", NULL } },
    { "{" T0 ",\"error\":{}}", ST_IMPORT_SEED, 1736937000000000LL, { "\"status\":\"succeeded\"", NULL } },
    /* {timestamp, session, tool, cwd, success} (a jq one-liner over the hook's stdin) */
    { "{\"timestamp\":\"2025-01-15T10:30:00Z\",\"session\":\"s1\",\"tool\":\"Edit\",\"cwd\":\"/r\",\"success\":true}",
      ST_IMPORT_SEED, 1736937000000000LL, { "\"tool\":\"Edit\"", "\"session\":\"s1\"", "\"cwd\":\"/r\"", NULL } },
    /* the same with session_id copied from the hook: an audit-log line, not an unknown hook event */
    { "{\"timestamp\":\"2025-01-15T10:30:00Z\",\"session_id\":\"s1\",\"tool\":\"Edit\"}",
      ST_IMPORT_SEED, 1736937000000000LL, { "\"tool\":\"Edit\"", "\"session\":\"s1\"", "PostToolUse", NULL } },
    /* a hook event with "ts" added by the logging hook: its time */
    { "{\"hook_event_name\":\"PostToolUse\",\"session_id\":\"s1\",\"tool_name\":\"Bash\",\"tool_input\":{},"
      "\"tool_response\":{},\"ts\":\"2025-01-15T10:30:00Z\"}", ST_IMPORT_HOOK, 1736937000000000LL, { "\"tool\":\"Bash\"", NULL } },
    /* "timestamp": null is no timestamp: a hook event gets the import time, "ts" is used */
    { "{\"hook_event_name\":\"Stop\",\"session_id\":\"s1\",\"timestamp\":null}", ST_IMPORT_HOOK, 1748736000000000LL, { NULL } },
    { "{\"timestamp\":null,\"ts\":1736937000000,\"toolName\":\"Bash\",\"input\":{}}", ST_IMPORT_SEED, 1736937000000000LL, { NULL } },
    { "{\"timestamp\":null,\"toolName\":\"Bash\",\"input\":{}}", ST_IMPORT_SEED, -1, { NULL } },
#undef T0
};

START_TEST(audit_hook_shapes)
{
    {   /* a file saved as UTF-16 (PowerShell's > does that), compressed or an indented JSON array */
        static const char u16[] = "\xFF\xFE{\0}\0";
        st_event ev;
        st_err why;
        int kind;
        ck_assert_int_eq(st_import_line(&ev, &kind, u16, sizeof u16 - 1, NULL, &why), ST_EJSON);
        ck_assert_ptr_nonnull(strstr(why.msg, "UTF-16 text (byte order mark FF FE)"));
        ck_assert_int_eq(st_import_line(&ev, &kind, "\x1F\x8B\x08\0", 4, NULL, &why), ST_EJSON);
        ck_assert_ptr_nonnull(strstr(why.msg, "gzip-compressed data: decompress it first (zcat FILE"));
        ck_assert_int_eq(st_import_line(&ev, &kind, "[\r", 2, NULL, &why), ST_EJSON);   /* a pretty-printed array */
        ck_assert_ptr_nonnull(strstr(why.msg, "jq -c '.[]' FILE | sealtrail import -"));
        ck_assert_int_eq(st_import_line(&ev, &kind, "[{}]", 4, NULL, &why), ST_EFORMAT);
        ck_assert_ptr_nonnull(strstr(why.msg, "but an array"));
    }
    st_import_line_opts lo = { .now_us = 1748736000000000LL };
    for (size_t i = 0; i < sizeof shape_cases / sizeof *shape_cases; i++) {
        const struct shape_case *c = &shape_cases[i];
        st_event ev;
        st_err why;
        int kind;
        why.msg[0] = 0;
        int rc = st_import_line(&ev, &kind, c->line, strlen(c->line), &lo, &why);
        if (c->time_us < 0) {
            ck_assert_msg(rc == ST_EFORMAT, "case %zu: rc %d, want malformed", i, rc);
            continue;
        }
        ck_assert_msg(rc == 0, "case %zu: rc %d (%s)", i, rc, why.msg);
        ck_assert_msg(kind == c->kind, "case %zu: kind %d want %d", i, kind, c->kind);
        ck_assert_msg(ev.rec.time_us == c->time_us, "case %zu: time_us %lld want %lld", i, (long long)ev.rec.time_us,
                      (long long)c->time_us);
        st_buf b = { 0 };
        st_json_write(&b, ev.meta, 0);
        st_buf_put(&b, "", 1);
        for (size_t k = 0; k < 4 && c->want[k]; k++)
            ck_assert_msg(strstr((char *)b.data, c->want[k]) != NULL, "case %zu: %s lacks %s", i, (char *)b.data, c->want[k]);
        st_buf_free(&b);
        st_event_free(&ev);
    }
}
END_TEST

/* A payload row that no entry names (left behind by a removal, or slipped
 * in) fails check: the rows stored are counted against those the entries
 * name (store/check.c). */
static int add_orphan_payload(st_txn *txn, void *arg)
{
    (void)arg;
    uint8_t key[8 + 10], row[4096];
    const void *v;
    size_t vl;
    st_be64_put(key, 0);
    memcpy(key + 8, "tool_input", 10);
    int rc = st_db_get(txn, ST_T_PAYLOADS, key, sizeof key, &v, &vl);
    if (rc) return rc;
    if (vl > sizeof row) return ST_ETOOBIG;
    memcpy(row, v, vl);
    key[8 + 9] = 'X';
    return st_db_put(txn, ST_T_PAYLOADS, key, sizeof key, row, vl, 0);
}

START_TEST(check_finds_a_payload_row_no_entry_names)
{
    st_store *s = make_store("orphan", 0);
    st_import_opts o = { 0 };
    st_import_result res;
    st_err err;
    seen sn = { 0 };
    ck_assert_int_eq(import_text(s, "o.jsonl", "{\"timestamp\":\"2025-01-15T10:30:00Z\",\"toolName\":\"Bash\","
                                 "\"input\":{\"command\":\"ls\"}}\n", &o, &res, &err, &sn), 0);
    ck_assert_int_eq(st_check(s), 0);
    ck_assert_int_eq(st_db_write(s->db, add_orphan_payload, NULL, &err), 0);
    ck_assert_int_eq(st_check(s), ST_ECORRUPT);
    ck_assert_msg(strstr(st_store_error(s), "payloads table: 3 rows stored, the entries name 2") != NULL, "%s",
                  st_store_error(s));
    st_buf_free(&sn.log);
    st_store_close(s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("import");
    TCase *tc = tcase_create("import");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, threaded_equals_serial);
    tcase_add_test(tc, transactions_end_at_a_byte_budget);
    tcase_add_test(tc, refused_append_stops_where_serial_stops);
    tcase_add_test(tc, strict_writes_nothing);
    tcase_add_test(tc, leading_bom_is_skipped);
    tcase_add_test(tc, stop_flag_ends_at_a_batch_boundary);
    tcase_add_test(tc, progress_every_65536_lines);
    tcase_add_test(tc, duration_from_the_store);
    tcase_add_test(tc, prepared_records_after_another_writer);
    tcase_add_test(tc, preparer_priority_is_its_own);
    tcase_add_test(tc, envelope_writer_equals_dom_writer);
    tcase_add_test(tc, envelope_int_equals_printf);
    tcase_add_test(tc, salt_pool_never_repeats);
    tcase_add_test(tc, prepared_pairs_equal_plain_appends);
    tcase_add_test(tc, audit_hook_shapes);
    tcase_add_test(tc, check_finds_a_payload_row_no_entry_names);
    suite_add_tcase(su, tc);
    return tu_run_suite(su);
}
