/*
 * test_query.c: queries and stats against a hand-built data set whose
 * expected answers are computed here by brute force over the same records
 * (not from the indexes): every filter alone, combinations, multi-value
 * fields, time windows, path globs and substrings (including paths from
 * shell commands and a path longer than the index key cap), text search,
 * both sort orders, reverse and limit, strings with NUL bytes and tool names
 * that share their first 448 bytes; then stats (all time from the
 * aggregates within the stated histogram precision, windowed exactly).
 */
#include <check.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "index.h"
#include "query.h"
#include "stats.h"
#include "store_int.h"
#include "testutil.h"

#define NREC 400
#define T0 1760000000000000LL   /* 2025-10-09 */
#define HOUR 3600000000LL

typedef struct rec {
    int64_t t;
    char tool[600];
    size_t tool_len;
    const char *event, *status;
    char session[8];
    size_t session_len;
    int has_dur;
    uint64_t dur;
    const char *cmd, *file;
    char resp[64];
    const char *paths[4];
    size_t npaths;
} rec;

static rec R[NREC];
static char *dir;
static st_store *S;
static char longpath[600], longtool_a[600], longtool_b[600];

typedef struct shell { const char *cmd; const char *paths[3]; } shell;
static const shell shells[] = {
    { "cat src/auth/token.ts | grep secret", { "/repo/src/auth/token.ts" } },
    { "rm -rf node_modules && npm ci", { "/repo/node_modules" } },
    { "ls -la > /tmp/out.txt 2>&1", { "/tmp/out.txt" } },
    { "git log --oneline -3", { NULL } },
    { "cp ./a/b.c ../lib/x.h", { "/repo/a/b.c", "/lib/x.h" } },
};
static const char *files[] = { "/repo/src/auth/login.ts", "/repo/src/billing/refund.py", "/repo/README.md", NULL };
static const char *tools[] = { "Bash", "Edit", "Write", "Read", "mcp__gh__issue" };

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 8) & 0xffffff;
}

static void make_data(void)
{
    memset(longpath, 0, sizeof longpath);
    strcpy(longpath, "/repo/deep/");
    memset(longpath + 11, 'a', 480);
    strcpy(longpath + 491, "/auth.ts");
    files[3] = longpath;
    memset(longtool_a, 'T', 500);
    memset(longtool_b, 'T', 500);
    longtool_a[499] = 'A';
    longtool_b[499] = 'B';
    for (int i = 0; i < NREC; i++) {
        rec *r = &R[i];
        memset(r, 0, sizeof *r);
        /* times mostly increase but every 7th record is back-dated: time order != index order */
        r->t = T0 + (int64_t)i * HOUR + (i % 7 == 3 ? -50 * HOUR : 0) + (int64_t)(rnd() % 1000);
        int tk = (int)(rnd() % 5);
        if (i % 50 == 7) { memcpy(r->tool, longtool_a, 500); r->tool_len = 500; tk = -1; }
        else if (i % 50 == 8) { memcpy(r->tool, longtool_b, 500); r->tool_len = 500; tk = -1; }
        else { strcpy(r->tool, tools[tk]); r->tool_len = strlen(tools[tk]); }
        int ev = (int)(rnd() % 3);
        r->event = ev == 0 ? "PreToolUse" : ev == 1 ? "PostToolUse" : "PostToolUseFailure";
        r->status = ev == 0 ? "started" : ev == 1 ? "succeeded" : (rnd() % 2 ? "failed" : "interrupted");
        int sk = (int)(rnd() % 4);
        r->session_len = 2;
        r->session[0] = 's';
        r->session[1] = (char)('1' + sk);
        if (sk == 3) { r->session[1] = 0; r->session[2] = 'x'; r->session_len = 3; }   /* "s\0x" */
        if (ev != 0 && rnd() % 5) { r->has_dur = 1; r->dur = rnd() % 3000 + (rnd() % 10 == 0 ? 100000 : 0); }
        if (tk == 0) {
            const shell *sh = &shells[rnd() % 5];
            r->cmd = sh->cmd;
            for (int k = 0; k < 3 && sh->paths[k]; k++) r->paths[r->npaths++] = sh->paths[k];
        } else if (tk >= 1 && tk <= 3) {
            r->file = files[rnd() % 4];
            r->paths[r->npaths++] = r->file;
        }
        snprintf(r->resp, sizeof r->resp, "result needle-%d %s", i % 7, i % 11 == 0 ? "say \"hi\"\nbye" : "");
    }
}

static void append_all(void)
{
    for (int base = 0; base < NREC; base += 100) {
        st_record_in recs[100];
        st_json_doc *docs[100];
        st_buf bufs[100][2];
        memset(recs, 0, sizeof recs);
        memset(bufs, 0, sizeof bufs);
        for (int j = 0; j < 100; j++) {
            rec *r = &R[base + j];
            st_json_doc *d = docs[j] = st_json_doc_new();
            st_json *m = st_json_new_object(d);
            st_json_object_add(d, m, "kind", 4, st_json_new_str(d, "event"));
            st_json_object_add(d, m, "event", 5, st_json_new_str(d, r->event));
            st_json_object_add(d, m, "status", 6, st_json_new_str(d, r->status));
            st_json_object_add(d, m, "tool", 4, st_json_new_strn(d, r->tool, r->tool_len));
            st_json_object_add(d, m, "session", 7, st_json_new_strn(d, r->session, r->session_len));
            st_json_object_add(d, m, "cwd", 3, st_json_new_str(d, "/repo"));
            if (r->has_dur) st_json_object_add(d, m, "duration_ms", 11, st_json_new_int(d, (int64_t)r->dur));
            st_json *in = st_json_new_object(d);
            if (r->cmd) st_json_object_add(d, in, "command", 7, st_json_new_str(d, r->cmd));
            if (r->file) st_json_object_add(d, in, "file_path", 9, st_json_new_str(d, r->file));
            st_json *out = st_json_new_object(d);
            st_json_object_add(d, out, "text", 4, st_json_new_str(d, r->resp));
            st_json_write(&bufs[j][0], in, 0);
            st_json_write(&bufs[j][1], out, 0);
            recs[j].meta = m;
            recs[j].time_us = r->t;
            recs[j].npayloads = 2;
            recs[j].payloads[0] = (st_payload_in){ "tool_input", bufs[j][0].data, bufs[j][0].len, in };
            recs[j].payloads[1] = (st_payload_in){ "tool_response", bufs[j][1].data, bufs[j][1].len, NULL };
        }
        uint64_t first;
        ck_assert_int_eq(st_append_records(S, recs, 100, &first), 0);
        ck_assert_uint_eq(first, (uint64_t)base);
        for (int j = 0; j < 100; j++) {
            st_buf_free(&bufs[j][0]);
            st_buf_free(&bufs[j][1]);
            st_json_doc_free(docs[j]);
        }
    }
}

static void setup(void)
{
    S = tu_store_fresh("example.com/query-test", &dir);
    make_data();
    append_all();
}

static void teardown(void)
{
    st_store_close(S);
    tu_rmrf(dir);
    free(dir);
}

/* ---- brute force --------------------------------------------------------------------- */

static int in_field(const st_qfield *f, const char *s, size_t n)
{
    if (!f->n) return 1;
    for (size_t i = 0; i < f->n; i++)
        if (f->len[i] == n && memcmp(f->v[i], s, n) == 0) return 1;
    return 0;
}

static int ref_path(const char *pat, const char *p)
{
    if (!strpbrk(pat, "*?[")) return strstr(p, pat) != NULL;
    if (fnmatch(pat, p, 0) == 0) return 1;
    if (pat[0] == '/' || pat[0] == '*') return 0;
    for (const char *c = p; *c; c++)
        if (*c == '/' && fnmatch(pat, c + 1, 0) == 0) return 1;
    return 0;
}

static int ref_match(const st_query *q, int i)
{
    const rec *r = &R[i];
    if (!in_field(&q->tool, r->tool, r->tool_len) || !in_field(&q->event, r->event, strlen(r->event)) ||
        !in_field(&q->session, r->session, r->session_len) || !in_field(&q->status, r->status, strlen(r->status)))
        return 0;
    if (q->has_since && r->t < q->since_us) return 0;
    if (q->has_until && r->t >= q->until_us) return 0;
    if (q->has_min_duration && (!r->has_dur || r->dur < q->min_duration_ms)) return 0;
    if (q->sort == ST_QSORT_DURATION && !r->has_dur) return 0;
    if (q->path) {
        int ok = 0;
        for (size_t k = 0; k < r->npaths; k++) ok |= ref_path(q->path, r->paths[k]);
        if (!ok) return 0;
    }
    if (q->text) {
        /* payload bytes: {"text":"<resp JSON-escaped>"} and the tool_input JSON */
        st_buf b = { 0 };
        st_json_write_string(&b, r->resp, strlen(r->resp));
        if (r->cmd) st_json_write_string(&b, r->cmd, strlen(r->cmd));
        if (r->file) st_json_write_string(&b, r->file, strlen(r->file));
        st_buf esc = { 0 };
        st_json_write_string(&esc, q->text, q->text_len);
        int ok = memmem(b.data, b.len, q->text, q->text_len) || memmem(b.data, b.len, esc.data + 1, esc.len - 2);
        st_buf_free(&b);
        st_buf_free(&esc);
        if (!ok) return 0;
    }
    return 1;
}

static const st_query *cmp_q;
static int cmp_ref(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    if (cmp_q->sort == ST_QSORT_DURATION && R[x].dur != R[y].dur) return R[x].dur < R[y].dur ? -1 : 1;
    if (R[x].t != R[y].t) return R[x].t < R[y].t ? -1 : 1;
    return x - y;
}

static size_t expected(const st_query *q, int *out)
{
    size_t n = 0;
    for (int i = 0; i < NREC; i++)
        if (ref_match(q, i)) out[n++] = i;
    cmp_q = q;
    qsort(out, n, sizeof *out, cmp_ref);
    if (q->reverse)
        for (size_t i = 0; i < n / 2; i++) { int t = out[i]; out[i] = out[n - 1 - i]; out[n - 1 - i] = t; }
    if (q->limit && n > q->limit) n = (size_t)q->limit;
    return n;
}

typedef struct got { int v[NREC]; size_t n; } got;

static int collect(void *ctx, st_txn *txn, uint64_t index, const uint8_t *entry, size_t len)
{
    got *g = ctx;
    (void)txn;
    if (entry) ck_assert(len > 0 && entry[0] == '{');
    ck_assert_uint_lt(g->n, NREC);
    g->v[g->n++] = (int)index;
    return 0;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* A run that renews its snapshot after every result (query.h: yield, renew). */
typedef struct ygot {
    got g;
    st_txn *txn;         /* the live snapshot: the caller ends it */
    unsigned renews;
} ygot;

static int y_yield(void *ctx) { (void)ctx; return 1; }

static int y_renew(void *ctx, st_txn **txn)
{
    ygot *y = ctx;
    st_err e = { "" };
    st_db_read_end(*txn);
    y->txn = NULL;
    int rc = st_db_read_begin(S->db, txn, &e);
    if (rc == 0) y->txn = *txn;
    y->renews++;
    return rc;
}

static void check_query(const st_query *q, const char *what, const char *want_driver)
{
    int exp[NREC];
    got g = { .n = 0 };
    size_t ne = expected(q, exp);
    st_txn *txn;
    st_err err = { "" };
    st_query_info info;
    ck_assert_int_eq(st_db_read_begin(S->db, &txn, &err), 0);
    int rc = st_query_run(txn, q, collect, &g, &info, &err);
    st_db_read_end(txn);
    ck_assert_msg(rc == 0, "%s: rc %d (%s)", what, rc, err.msg);
    ck_assert_msg(g.n == ne, "%s: %zu results, expected %zu (driver %s)", what, g.n, ne, info.driver);
    for (size_t i = 0; i < ne; i++)
        ck_assert_msg(g.v[i] == exp[i], "%s: result %zu is entry %d, expected %d (driver %s)", what, i, g.v[i], exp[i], info.driver);
    /* renewing the snapshot after every result gives the same answer, in the same order */
    st_query qy = *q;
    ygot y = { .g = { .n = 0 } };
    qy.yield = y_yield;
    qy.renew = y_renew;
    ck_assert_int_eq(st_db_read_begin(S->db, &y.txn, &err), 0);
    rc = st_query_run(y.txn, &qy, collect, &y, NULL, &err);
    st_db_read_end(y.txn);
    ck_assert_msg(rc == 0, "%s: renewing run: rc %d (%s)", what, rc, err.msg);
    ck_assert_msg(y.g.n == ne && memcmp(y.g.v, g.v, ne * sizeof *g.v) == 0, "%s: renewing run differs (%zu results)", what, y.g.n);
    ck_assert_msg(ne < 2 || y.renews >= ne - 1, "%s: %u renewals for %zu results", what, y.renews, ne);
    /* counting without entry bytes gives the same answer */
    st_query qc = *q;
    got gc = { .n = 0 };
    qc.no_entry = 1;
    ck_assert_int_eq(st_db_read_begin(S->db, &txn, &err), 0);
    ck_assert_int_eq(st_query_run(txn, &qc, collect, &gc, NULL, &err), 0);
    st_db_read_end(txn);
    /* (without a limit, counting may skip the sort: compare as sets) */
    int a[NREC], b[NREC];
    memcpy(a, g.v, ne * sizeof *a);
    memcpy(b, gc.v, gc.n * sizeof *b);
    qsort(a, ne, sizeof *a, cmp_int);
    qsort(b, gc.n, sizeof *b, cmp_int);
    ck_assert_msg(gc.n == ne && memcmp(a, b, ne * sizeof *a) == 0, "%s: no_entry run differs", what);
    if (want_driver) ck_assert_msg(strcmp(info.driver, want_driver) == 0, "%s: driver %s, expected %s", what, info.driver, want_driver);
}

static void field(st_qfield *f, const char *list)
{
    static char bufs[64][256];                 /* values are borrowed: each call its own copy */
    static size_t nb;
    char *b = bufs[nb++ % 64];
    snprintf(b, 256, "%s", list);
    ck_assert_int_eq(st_qfield_add_list(f, b), 0);
}

/* ---- tests --------------------------------------------------------------------------- */

START_TEST(single_filters)
{
    st_query q;
    memset(&q, 0, sizeof q); check_query(&q, "no filter", "time");
    memset(&q, 0, sizeof q); field(&q.tool, "Bash"); check_query(&q, "tool", "tool");
    memset(&q, 0, sizeof q); field(&q.tool, "Bash,Edit,Bash"); check_query(&q, "tool given twice", "tool");
    memset(&q, 0, sizeof q); field(&q.session, "s1"); field(&q.session, "s1"); check_query(&q, "session given twice", "session");
    memset(&q, 0, sizeof q); field(&q.tool, "Nope"); check_query(&q, "unknown tool", "none");
    memset(&q, 0, sizeof q); field(&q.event, "PostToolUseFailure"); check_query(&q, "event", "time");
    memset(&q, 0, sizeof q); field(&q.status, "interrupted"); check_query(&q, "status", "status");
    memset(&q, 0, sizeof q); field(&q.status, "succeeded"); check_query(&q, "common status", "time");
    memset(&q, 0, sizeof q); field(&q.status, "failed,started"); check_query(&q, "rare and common status", "time");
    memset(&q, 0, sizeof q); q.session.n = 1; q.session.v[0] = "s"; q.session.len[0] = 1; check_query(&q, "session s (not s\\0x)", "none");
    memset(&q, 0, sizeof q); q.session.n = 1; q.session.v[0] = "s\0x"; q.session.len[0] = 3; check_query(&q, "session with NUL", "session");
    memset(&q, 0, sizeof q); q.has_since = 1; q.since_us = T0 + 100 * HOUR; check_query(&q, "since", "time");
    memset(&q, 0, sizeof q); q.has_until = 1; q.until_us = T0 + 100 * HOUR; check_query(&q, "until", "time");
    memset(&q, 0, sizeof q); q.has_min_duration = 1; q.min_duration_ms = 2500; check_query(&q, "min-duration", "time");
    memset(&q, 0, sizeof q); q.path = "auth"; check_query(&q, "path substring", "path");
    memset(&q, 0, sizeof q); q.text = "needle-3"; q.text_len = 8; check_query(&q, "text", "time");
    memset(&q, 0, sizeof q); q.text = "say \"hi\"\nbye"; q.text_len = strlen(q.text); check_query(&q, "text with quote and newline", NULL);
}
END_TEST

START_TEST(paths)
{
    st_query q;
    const char *pats[] = { "/repo/src/auth/*", "src/auth/*", "*.ts", "/tmp/out.txt", "node_modules", "/lib/x.?",
                           "/repo/deep/*", "auth.ts", "/repo/deep/aaaa*aaa/auth.ts", "*/billing/*", "no-such",
                           "*.?" /* both paths of one command: the entry once */ };
    for (size_t i = 0; i < sizeof pats / sizeof *pats; i++) {
        memset(&q, 0, sizeof q);
        q.path = pats[i];
        check_query(&q, pats[i], NULL);
        q.reverse = 1;
        check_query(&q, pats[i], NULL);
    }
    memset(&q, 0, sizeof q);
    q.path = "/repo/src/auth/login.ts";
    field(&q.tool, "Edit");
    check_query(&q, "path + tool", NULL);
}
END_TEST

START_TEST(path_unicode)
{
    static const char p[] = "/repo/caf\xc3\xa9/\xe6\x97\xa5.ts";      /* /repo/café/日.ts */
    ck_assert(st_query_path_match("/repo/caf?/?.ts", p, sizeof p - 1));
    ck_assert(st_query_path_match("caf[\xc3\xa9" "e]/*", p, sizeof p - 1));
    ck_assert(!st_query_path_match("/repo/caf?" "?/?.ts", p, sizeof p - 1));
    ck_assert(st_query_path_match("caf\xc3\xa9", p, sizeof p - 1));
    ck_assert(st_query_path_match("/repo/*/?.ts", p, sizeof p - 1));
    static const char bad[] = "/repo/\xff\xfe/x.ts";                    /* not UTF-8: bytes */
    ck_assert(st_query_path_match("/repo/?" "?/x.ts", bad, sizeof bad - 1));
}
END_TEST

START_TEST(combinations)
{
    st_query q;
    memset(&q, 0, sizeof q);
    field(&q.tool, "Bash"); field(&q.status, "failed"); check_query(&q, "tool+status", NULL);
    memset(&q, 0, sizeof q);
    field(&q.tool, "Edit,Write"); q.has_since = 1; q.since_us = T0 + 90 * HOUR; q.has_until = 1; q.until_us = T0 + 300 * HOUR;
    check_query(&q, "2 tools + window", "tool");
    q.reverse = 1; check_query(&q, "2 tools + window reversed", NULL);
    q.limit = 5; check_query(&q, "2 tools + window reversed limit", NULL);
    memset(&q, 0, sizeof q);
    q.session.n = 1; q.session.v[0] = "s2"; q.session.len[0] = 2;
    field(&q.event, "PostToolUse,PostToolUseFailure"); q.has_min_duration = 1; q.min_duration_ms = 1000;
    check_query(&q, "session+events+min-duration", NULL);
    memset(&q, 0, sizeof q);
    field(&q.tool, "Read,Write,Edit"); q.path = "auth"; q.text = "needle-1"; q.text_len = 8;
    check_query(&q, "tools+path+text", NULL);
    memset(&q, 0, sizeof q);
    q.tool.n = 1; q.tool.v[0] = longtool_a; q.tool.len[0] = 500;
    check_query(&q, "long tool A (cut key)", "tool");
    q.tool.v[0] = longtool_b; check_query(&q, "long tool B (cut key)", "tool");
    field(&q.status, "started"); check_query(&q, "long tool B + status", NULL);
    memset(&q, 0, sizeof q);
    field(&q.tool, "Bash"); q.has_since = 1; q.since_us = T0 + 1000 * HOUR;
    check_query(&q, "window after the data", NULL);
    memset(&q, 0, sizeof q);
    field(&q.tool, "Bash"); q.has_since = 1; q.since_us = T0 + 10 * HOUR; q.has_until = 1; q.until_us = T0 + 10 * HOUR;
    check_query(&q, "empty window", NULL);
}
END_TEST

START_TEST(sorting)
{
    st_query q;
    memset(&q, 0, sizeof q); q.sort = ST_QSORT_DURATION; check_query(&q, "sort duration", "time");
    q.reverse = 1; q.limit = 10; check_query(&q, "ten slowest", "time");
    memset(&q, 0, sizeof q); q.sort = ST_QSORT_DURATION; q.reverse = 1; field(&q.tool, "Bash");
    check_query(&q, "slowest Bash", "tool");
    memset(&q, 0, sizeof q); q.sort = ST_QSORT_DURATION; field(&q.status, "failed"); q.has_since = 1; q.since_us = T0 + 50 * HOUR;
    check_query(&q, "failed by duration in window", "status");
    memset(&q, 0, sizeof q); q.has_min_duration = 1; q.min_duration_ms = 100; q.reverse = 1; q.limit = 7;
    check_query(&q, "min-duration time order reversed", "time");
    memset(&q, 0, sizeof q); q.reverse = 1; q.limit = 3; check_query(&q, "latest 3", "time");
    for (uint64_t lim = 1; lim <= 40; lim += 13) {       /* bounded top-k in collect mode */
        memset(&q, 0, sizeof q); q.path = "/repo"; q.limit = lim; check_query(&q, "path, limit", "path");
        q.reverse = 1; check_query(&q, "path, reverse, limit", "path");
        memset(&q, 0, sizeof q); field(&q.tool, "Edit,Read"); q.sort = ST_QSORT_DURATION; q.limit = lim;
        check_query(&q, "2 tools by duration, limit", NULL);
        q.reverse = 1; check_query(&q, "2 tools by duration, reverse, limit", NULL);
    }
    memset(&q, 0, sizeof q); q.limit = 1; q.has_since = 1; q.since_us = T0; field(&q.event, "PreToolUse");
    check_query(&q, "first Pre", "time");
}
END_TEST

START_TEST(bad_queries)
{
    st_query q;
    st_txn *txn;
    st_err err = { "" };
    got g = { .n = 0 };
    memset(&q, 0, sizeof q);
    q.path = "";
    ck_assert_int_eq(st_db_read_begin(S->db, &txn, &err), 0);
    ck_assert_int_eq(st_query_run(txn, &q, collect, &g, NULL, &err), ST_EINVAL);
    memset(&q, 0, sizeof q);
    q.text = "x";
    q.text_len = 0;
    ck_assert_int_eq(st_query_run(txn, &q, collect, &g, NULL, &err), ST_EINVAL);
    st_db_read_end(txn);
    st_qfield f;
    memset(&f, 0, sizeof f);
    ck_assert_int_eq(st_qfield_add_list(&f, "a,,b"), ST_EINVAL);
    memset(&f, 0, sizeof f);
    ck_assert_int_eq(st_qfield_add_list(&f, "a,b,c"), 0);
    ck_assert_uint_eq(f.n, 3);
    ck_assert_uint_eq(f.len[1], 1);
    ck_assert_int_eq(st_qfield_add_list(&f, "c,b,a,c"), 0);        /* repeated values count once */
    ck_assert_uint_eq(f.n, 3);
    ck_assert_int_eq(st_qfield_add_list(&f, "d,e,f,g,h,i,j,k,l,m,n,o,p"), 0);
    ck_assert_uint_eq(f.n, 16);
    ck_assert_int_eq(st_qfield_add_list(&f, "a,q"), ST_ETOOBIG);
    /* \, is a comma inside a value, \\ a backslash; any other backslash is itself */
    char esc[] = "mcp__x__a\\,b,c\\\\d,C:\\dir,e\\";
    memset(&f, 0, sizeof f);
    ck_assert_int_eq(st_qfield_add_list(&f, esc), 0);
    ck_assert_uint_eq(f.n, 4);
    ck_assert(f.len[0] == 11 && memcmp(f.v[0], "mcp__x__a,b", 11) == 0);
    ck_assert(f.len[1] == 3 && memcmp(f.v[1], "c\\d", 3) == 0);
    ck_assert(f.len[2] == 6 && memcmp(f.v[2], "C:\\dir", 6) == 0);
    ck_assert(f.len[3] == 2 && memcmp(f.v[3], "e\\", 2) == 0);
    char only[] = "\\,";
    memset(&f, 0, sizeof f);
    ck_assert_int_eq(st_qfield_add_list(&f, only), 0);
    ck_assert(f.n == 1 && f.len[0] == 1 && f.v[0][0] == ',');
}
END_TEST

/* ---- stats ----------------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void check_stats(const st_stats_query *q, int exact)
{
    st_txn *txn;
    st_err err = { "" };
    st_tool_stats *v;
    size_t n;
    ck_assert_int_eq(st_db_read_begin(S->db, &txn, &err), 0);
    ck_assert_int_eq(st_stats_run(txn, q, &v, &n, &err), 0);
    st_db_read_end(txn);
    size_t seen_tools = 0;
    for (size_t k = 0; k < n; k++) {
        uint64_t entries = 0, calls = 0, fails = 0, dn = 0, tot = 0, max = 0, durs[NREC];
        for (int i = 0; i < NREC; i++) {
            const rec *r = &R[i];
            size_t tl = r->tool_len > ST_IX_STR_CAP ? ST_IX_STR_CAP : r->tool_len;   /* stats key long names by their head */
            if (tl != v[k].tool_len || memcmp(r->tool, v[k].tool, tl)) continue;
            if (q->has_since && r->t < q->since_us) continue;
            if (q->has_until && r->t >= q->until_us) continue;
            if (q->session.n && (r->session_len != q->session.len[0] || memcmp(r->session, q->session.v[0], r->session_len))) continue;
            entries++;
            int c = strcmp(r->status, "started") != 0;
            calls += (uint64_t)c;
            fails += (uint64_t)(c && strcmp(r->status, "succeeded") != 0);
            if (r->has_dur) { durs[dn++] = r->dur; tot += r->dur; if (r->dur > max) max = r->dur; }
        }
        ck_assert_msg(entries == v[k].entries, "%.20s: entries %llu, expected %llu", v[k].tool,
                      (unsigned long long)v[k].entries, (unsigned long long)entries);
        ck_assert_uint_eq(v[k].calls, calls);
        ck_assert_uint_eq(v[k].failures, fails);
        ck_assert_uint_eq(v[k].dur_n, dn);
        ck_assert_uint_eq(v[k].dur_total, tot);
        ck_assert_uint_eq(v[k].dur_max, max);
        ck_assert_int_eq(v[k].exact, exact);
        qsort(durs, dn, sizeof *durs, cmp_u64);
        uint64_t p50 = st_stats_percentile(durs, dn, 50), p95 = st_stats_percentile(durs, dn, 95);
        if (exact || p50 < 64) ck_assert_uint_eq(v[k].p50, p50);
        else ck_assert_msg(v[k].p50 * 1000 >= p50 * 984 && v[k].p50 * 1000 <= p50 * 1016, "p50 %llu vs %llu",
                           (unsigned long long)v[k].p50, (unsigned long long)p50);
        if (exact || p95 < 64) ck_assert_uint_eq(v[k].p95, p95);
        else ck_assert_msg(v[k].p95 * 1000 >= p95 * 984 && v[k].p95 * 1000 <= p95 * 1016, "p95 %llu vs %llu",
                           (unsigned long long)v[k].p95, (unsigned long long)p95);
        if (k) ck_assert_uint_le(v[k].dur_total, v[k - 1].dur_total);
        seen_tools++;
    }
    ck_assert_uint_ge(seen_tools, q->session.n ? 1 : 5);
    st_stats_free(v, n);
}

START_TEST(stats)
{
    st_stats_query q;
    memset(&q, 0, sizeof q);
    check_stats(&q, 0);
    q.has_since = 1; q.since_us = T0 + 40 * HOUR; q.has_until = 1; q.until_us = T0 + 250 * HOUR;
    check_stats(&q, 1);
    memset(&q, 0, sizeof q);
    q.session.n = 1; q.session.v[0] = "s\0x"; q.session.len[0] = 3;
    check_stats(&q, 1);
    ck_assert_uint_eq(st_stats_percentile((const uint64_t[]){ 1, 2, 3, 4 }, 4, 50), 2);
    ck_assert_uint_eq(st_stats_percentile((const uint64_t[]){ 1, 2, 3, 4 }, 4, 95), 4);
    ck_assert_uint_eq(st_stats_percentile((const uint64_t[]){ 7 }, 1, 50), 7);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("query");
    TCase *tc = tcase_create("query");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, single_filters);
    tcase_add_test(tc, paths);
    tcase_add_test(tc, path_unicode);
    tcase_add_test(tc, combinations);
    tcase_add_test(tc, sorting);
    tcase_add_test(tc, bad_queries);
    tcase_add_test(tc, stats);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
