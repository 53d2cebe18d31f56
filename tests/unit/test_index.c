/*
 * test_index.c: the index layer. Pure parts: the order-preserving string
 * encoding, the duration histogram, path extraction from tool input
 * and shell commands. Store parts: rows written at append match a rebuild,
 * st_index_check accepts them and names the table and entry of every kind of
 * tampering (missing row, changed row, extra row, changed aggregate, a
 * tool_use_id pointing at an older PreToolUse), st_index_rebuild repairs
 * them, and the tool_use_id lookup returns the latest PreToolUse. Layouts:
 * a log indexed by an older release (no layout mark) is refused by query,
 * stats and check with a message naming reindex, which repairs it. Path
 * write-behind: queries find entries whose path rows are pending and
 * merged ones, check expects the split (and catches a missing 'i' row or
 * an early 'p' row), reindex and merge leave nothing pending, erasing a
 * pending or a merged entry's tool_input keeps check passing. Rows gathered
 * for a transaction and written in key order (ix_rows) store what one-by-one
 * puts would.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "index.h"
#include "index_int.h"
#include "query.h"
#include "retention.h"
#include "stats.h"
#include "store_int.h"
#include "testutil.h"

/* ---- pure ---------------------------------------------------------------------------- */

static size_t keyof(uint8_t *k, const char *s, size_t n, uint64_t t)
{
    size_t l = st_ix_enc_str(k, s, n, NULL);
    st_be64_put(k + l, t);
    return l + 8;
}

static int keycmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

/* Aggregate sums saturate instead of wrapping (hostile durations near 2^53
 * ms, a few thousand of them); maxima and minima stay exact. */
START_TEST(aggregates_saturate)
{
    uint64_t cur[ST_IXA__COUNT] = { 0 }, d[ST_IXA__COUNT] = { 0 };
    cur[ST_IXA_DUR_TOTAL] = UINT64_MAX - 5;
    cur[ST_IXA_DUR_MAX] = 7;
    d[ST_IXA_ENTRIES] = 1;
    d[ST_IXA_DUR_TOTAL] = 10;
    d[ST_IXA_DUR_MAX] = 3;
    ix_merge((const uint8_t *)"aX", cur, d, ST_IXA__COUNT);
    ck_assert_uint_eq(cur[ST_IXA_DUR_TOTAL], UINT64_MAX);
    ck_assert_uint_eq(cur[ST_IXA_DUR_MAX], 7);
    ck_assert_uint_eq(cur[ST_IXA_ENTRIES], 1);
    ix_merge((const uint8_t *)"aX", cur, d, ST_IXA__COUNT);
    ck_assert_uint_eq(cur[ST_IXA_DUR_TOTAL], UINT64_MAX);
    uint64_t h[3] = { UINT64_MAX - 1, 4, 9 }, hd[3] = { 5, 2, 2 };
    ix_merge((const uint8_t *)"hX", h, hd, 3);
    ck_assert_uint_eq(h[0], UINT64_MAX);
    ck_assert_uint_eq(h[1], 2);
    ck_assert_uint_eq(h[2], 9);
}
END_TEST

START_TEST(encoding)
{
    uint8_t a[64], b[64];
    char d[16];
    int cut;
    size_t n = st_ix_enc_str(a, "s\0x", 3, &cut);
    ck_assert_int_eq(cut, 0);
    ck_assert_uint_eq(n, 6);
    ck_assert_mem_eq(a, "s\0\xffx\0\x01", 6);
    ck_assert_uint_eq(st_ix_enc_end(a, n), 6);
    ck_assert_uint_eq(st_ix_dec_str(d, sizeof d, a, n - 2), 3);
    ck_assert_mem_eq(d, "s\0x", 3);
    /* every row of a string sorts before every row of a longer string it prefixes */
    const char *pairs[][2] = { { "a", "ab" }, { "a", "a\0" }, { "", "a" }, { "a\0", "a\0\0" }, { "a\0b", "ab" } };
    size_t lens[][2] = { { 1, 2 }, { 1, 2 }, { 0, 1 }, { 2, 3 }, { 3, 2 } };
    for (size_t i = 0; i < 5; i++) {
        size_t al = keyof(a, pairs[i][0], lens[i][0], UINT64_MAX);
        size_t bl = keyof(b, pairs[i][1], lens[i][1], 0);
        ck_assert_msg(keycmp(a, al, b, bl) < 0, "pair %zu", i);
    }
    char big[1000];
    memset(big, 'x', sizeof big);
    uint8_t kb[ST_IX_ENC_MAX];
    n = st_ix_enc_str(kb, big, sizeof big, &cut);
    ck_assert_int_eq(cut, 1);
    ck_assert_uint_eq(n, ST_IX_STR_CAP + 2);
    ck_assert(st_ix_at_cap(big, ST_IX_STR_CAP) && st_ix_at_cap(big, ST_IX_STR_CAP - 1) && !st_ix_at_cap(big, 400));
    /* NUL bytes take two: the head is cut by its encoded length, so no key passes 511 bytes */
    char nuls[1000] = { 0 };
    n = st_ix_enc_str(kb, nuls, 300, &cut);
    ck_assert_int_eq(cut, 1);
    ck_assert_uint_eq(st_ix_cut_len(nuls, 300), ST_IX_STR_CAP / 2);
    ck_assert_uint_eq(n, ST_IX_STR_CAP + 2);
    ck_assert(st_ix_at_cap(nuls, ST_IX_STR_CAP / 2) && !st_ix_at_cap(nuls, 100));
    big[ST_IX_STR_CAP - 1] = 0;                      /* 447 bytes, then a NUL that would need two */
    ck_assert_uint_eq(st_ix_cut_len(big, ST_IX_STR_CAP), ST_IX_STR_CAP - 1);
    n = st_ix_enc_str(kb, big, ST_IX_STR_CAP, &cut);
    ck_assert_int_eq(cut, 1);
    ck_assert_uint_eq(n, ST_IX_STR_CAP + 1);
    n = st_ix_enc_str(kb, nuls, 200, &cut);          /* 400 bytes encoded: whole */
    ck_assert_int_eq(cut, 0);
    ck_assert_uint_eq(n, 402);
    ck_assert_uint_eq(st_ix_time_key(-1) < st_ix_time_key(0), 1);
    ck_assert_int_eq(st_ix_time_from_key(st_ix_time_key(-123456789)), -123456789);
}
END_TEST

START_TEST(buckets)
{
    unsigned prev = 0;
    for (uint64_t d = 0; d < 300000; d += d < 20000 ? 1 : 37) {     /* every value up to 20000, then a stride */
        unsigned b = st_ix_bucket(d);
        uint64_t lo, hi;
        st_ix_bucket_range(b, &lo, &hi);
        ck_assert_msg(lo <= d && d <= hi, "d=%llu bucket %u [%llu,%llu]", (unsigned long long)d, b,
                      (unsigned long long)lo, (unsigned long long)hi);
        ck_assert_uint_ge(b, prev);
        ck_assert(d < 64 ? lo == hi : (hi - lo + 1) * 32 <= lo);     /* width <= 1/32 of the value */
        prev = b;
    }
    uint64_t big[] = { 1ULL << 40, (1ULL << 52) + 12345, UINT64_MAX };
    for (size_t i = 0; i < 3; i++) {
        uint64_t lo, hi;
        st_ix_bucket_range(st_ix_bucket(big[i]), &lo, &hi);
        ck_assert(lo <= big[i] && big[i] <= hi);
    }
}
END_TEST

/* Runs st_ix_paths on a tool_input JSON text; returns the paths joined by '|'. */
static char *paths_of(const char *tool, const char *cwd, const char *json)
{
    static char out[4096];
    st_json_doc *doc = NULL;
    st_json_opts o = { .flags = ST_JSON_ALLOW_WS };
    ck_assert_int_eq(st_json_parse(&doc, json, strlen(json), &o, NULL, NULL), 0);
    st_buf b = { 0 };
    size_t n = st_ix_paths(&b, tool, strlen(tool), cwd, cwd ? strlen(cwd) : 0, st_json_doc_root(doc));
    size_t off = 0, w = 0;
    out[0] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = ((size_t)b.data[off] << 8) | b.data[off + 1];
        if (i) out[w++] = '|';
        memcpy(out + w, b.data + off + 2, l);
        w += l;
        off += 2 + l;
    }
    out[w] = 0;
    ck_assert_uint_eq(off, b.len);
    st_buf_free(&b);
    st_json_doc_free(doc);
    return out;
}

START_TEST(path_extraction)
{
    static const struct { const char *tool, *input, *want; } cases[] = {
        { "Edit", "{\"file_path\":\"/repo/src/a.ts\",\"old_string\":\"x\"}", "/repo/src/a.ts" },
        { "Read", "{\"file_path\":\"src/../lib/./b.c\"}", "/repo/lib/b.c" },
        { "NotebookEdit", "{\"notebook_path\":\"/n/r.ipynb\"}", "/n/r.ipynb" },
        { "Grep", "{\"pattern\":\"TODO\",\"path\":\"/repo\"}", "/repo" },
        { "Write", "{\"file_path\":\"C:\\\\Users\\\\dev\\\\x.py\"}", "C:\\Users\\dev\\x.py" },
        { "Bash", "{\"command\":\"cat src/auth/token.ts | grep secret\"}", "/repo/src/auth/token.ts" },
        { "Bash", "{\"command\":\"rm -rf node_modules && npm ci\"}", "/repo/node_modules" },
        { "Bash", "{\"command\":\"make test 2>&1 > build.log\"}", "/repo/build.log" },
        { "Bash", "{\"command\":\"echo hi > /dev/null\"}", "" },
        { "Bash", "{\"command\":\"git log --oneline -3\"}", "" },
        { "Bash", "{\"command\":\"curl https://x.test/a/b -o out/page.html\"}", "/repo/out/page.html" },
        { "Bash", "{\"command\":\"FOO=1 ./run.sh --config=conf/app.yaml 'my dir/x y.txt'\"}",
          "/repo/run.sh|/repo/conf/app.yaml|/repo/my dir/x y.txt" },
        { "Bash", "{\"command\":\"npm version 1.4.0; ls ~/notes.md\"}", "~/notes.md" },
        { "Bash", "{\"command\":\"cp a.txt b.txt; cp a.txt c.txt\"}", "/repo/a.txt|/repo/b.txt|/repo/c.txt" },
        { "Bash", "{\"command\":\"grep -r \\\"x\\\" src/*.ts $HOME/y\"}", "" },
        { "Glob", "{\"pattern\":\"**/*.ts\"}", "" },
        { "mcp__fs__read", "{\"command\":\"cat /etc/passwd\"}", "" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *got = paths_of(cases[i].tool, "/repo", cases[i].input);
        ck_assert_msg(strcmp(got, cases[i].want) == 0, "case %zu (%s): got '%s', want '%s'", i, cases[i].input, got,
                      cases[i].want);
    }
    /* many words: capped */
    char cmd[8192] = "{\"command\":\"touch";
    for (int i = 0; i < 100; i++) snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " f%d.txt", i);
    strcat(cmd, "\"}");
    char *got = paths_of("Bash", "/r", cmd);
    size_t bars = 0;
    for (char *c = got; *c; c++) bars += *c == '|';
    ck_assert_uint_eq(bars + 1, ST_IX_MAX_PATHS);
}
END_TEST

/* ---- store ----------------------------------------------------------------------------------- */

static char *dir;
static st_store *S;
static const char *add_session = "sess-1";   /* the session of the entries add() appends */
static size_t add_session_len;               /* its length, if it holds NUL bytes (else 0) */

static void setup(void)
{
    S = tu_store_fresh("example.com/index-test", &dir);
}

static void teardown(void)
{
    add_session = "sess-1";
    add_session_len = 0;
    st_store_close(S);
    tu_rmrf(dir);
    free(dir);
}

static uint64_t add(const char *event, const char *tool, const char *status, const char *tuid, int64_t t, int64_t dur,
                    const char *file)
{
    st_json_doc *d = st_json_doc_new();
    st_json *m = st_json_new_object(d);
    st_json_object_add(d, m, "kind", 4, st_json_new_str(d, "event"));
    st_json_object_add(d, m, "event", 5, st_json_new_str(d, event));
    st_json_object_add(d, m, "tool", 4, st_json_new_str(d, tool));
    st_json_object_add(d, m, "status", 6, st_json_new_str(d, status));
    st_json_object_add(d, m, "session", 7,
                       st_json_new_strn(d, add_session, add_session_len ? add_session_len : strlen(add_session)));
    st_json_object_add(d, m, "tool_use_id", 11, st_json_new_str(d, tuid));
    if (dur >= 0) st_json_object_add(d, m, "duration_ms", 11, st_json_new_int(d, dur));
    st_json *in = st_json_new_object(d);
    st_json_object_add(d, in, "file_path", 9, st_json_new_str(d, file));
    st_buf b = { 0 };
    st_json_write(&b, in, 0);
    st_record_in r = { .meta = m, .time_us = t, .npayloads = 1 };
    r.payloads[0] = (st_payload_in){ "tool_input", b.data, b.len, in };
    uint64_t idx;
    ck_assert_int_eq(st_append_records(S, &r, 1, &idx), 0);
    st_buf_free(&b);
    st_json_doc_free(d);
    return idx;
}

static int check_now(char *msg, size_t cap)
{
    st_txn *txn;
    st_err err = { "" };
    uint64_t size;
    ck_assert_int_eq(st_db_read_begin(S->db, &txn, &err), 0);
    ck_assert_int_eq(st_size_txn(txn, &size), 0);
    int rc = st_index_check(txn, size, &err);
    st_db_read_end(txn);
    snprintf(msg, cap, "%s", err.msg);
    return rc;
}

typedef struct tamper { int kind; } tamper;

/* Finds the first key of table t with the given first byte (or any, if first < 0). */
static int first_key(st_txn *txn, st_table t, int first, uint8_t *k, size_t *kl)
{
    st_cursor *c;
    const void *kk, *v;
    size_t kkl, vl;
    int rc = st_cursor_open(txn, t, &c);
    if (rc) return rc;
    uint8_t f = (uint8_t)first;
    for (rc = st_cursor_seek(c, first < 0 ? NULL : &f, first < 0 ? 0 : 1, &kk, &kkl, &v, &vl); rc == 0;
         rc = st_cursor_next(c, &kk, &kkl, &v, &vl)) {
        if (first < 0 || ((const uint8_t *)kk)[0] == f) {
            memcpy(k, kk, kkl);
            *kl = kkl;
            break;
        }
    }
    st_cursor_close(c);
    return rc;
}

/* Flips the low bit of byte `byte` of the value of table t's first row. */
static int flip_first_value(st_txn *txn, st_table t, size_t byte)
{
    uint8_t k[1024], nv[512];
    size_t kl, vl;
    const void *v;
    int rc;
    if ((rc = first_key(txn, t, -1, k, &kl)) || (rc = st_db_get(txn, t, k, kl, &v, &vl))) return rc;
    ck_assert_uint_lt(byte, vl);
    memcpy(nv, v, vl);
    nv[byte] ^= 1;
    return st_db_put(txn, t, k, kl, nv, vl, 0);
}

static int do_tamper(st_txn *txn, void *arg)
{
    const tamper *tp = arg;
    uint8_t k[1024];
    size_t kl;
    int rc;
    switch (tp->kind) {
    case 0: /* remove a tool row */
        if ((rc = first_key(txn, ST_T_IX_TOOL, -1, k, &kl))) return rc;
        return st_db_del(txn, ST_T_IX_TOOL, k, kl);
    case 1: /* change a time-index summary (duration) */
        return flip_first_value(txn, ST_T_IX_TIME, 9);
    case 2: { /* an extra status row */
        uint8_t key[32];
        size_t l = st_ix_enc_str(key, "failed", 6, NULL);
        memset(key + l, 0x80, 16);
        return st_db_put(txn, ST_T_IX_STATUS, key, l + 16, "", 0, 0);
    }
    case 3: { /* a changed aggregate */
        const void *v;
        size_t vl;
        uint8_t nv[64];
        if ((rc = first_key(txn, ST_T_STATS, 'a', k, &kl)) || (rc = st_db_get(txn, ST_T_STATS, k, kl, &v, &vl))) return rc;
        memcpy(nv, v, vl);
        nv[7] += 1;
        return st_db_put(txn, ST_T_STATS, k, kl, nv, vl, 0);
    }
    case 4: { /* tool_use_id pointing at the older PreToolUse */
        uint8_t v[16];
        st_be64_put(v, 0);
        st_be64_put(v + 8, (uint64_t)1000);
        return st_db_put(txn, ST_T_IX_TOOLUSE, "toolu_A", 7, v, 16, 0);
    }
    case 5: /* a path row removed */
        if ((rc = first_key(txn, ST_T_IX_PATH, 'p', k, &kl))) return rc;
        return st_db_del(txn, ST_T_IX_PATH, k, kl);
    case 6: /* a tool row's duration changed (a split table: the row is replaced, not added) */
        return flip_first_value(txn, ST_T_IX_TOOL, 8);
    case 7: { /* a row left in the tool table of layout 3 */
        uint8_t key[32];
        size_t l = st_ix_enc_str(key, "Edit", 4, NULL);
        memset(key + l, 0x80, 16);
        return st_db_put(txn, ST_T_IX_TOOL_L3, key, l + 16, "", 0, 0);
    }
    case 8: /* a session row removed */
        if ((rc = first_key(txn, ST_T_IX_SESSION, -1, k, &kl))) return rc;
        return st_db_del(txn, ST_T_IX_SESSION, k, kl);
    default: return ST_EINVAL;
    }
}

static int rebuild(st_txn *txn, void *arg)
{
    uint64_t size;
    int rc = st_size_txn(txn, &size);
    return rc ? rc : st_index_rebuild(txn, size, NULL, NULL, arg);
}

START_TEST(check_and_rebuild)
{
    add("PreToolUse", "Edit", "started", "toolu_A", 1000, -1, "/repo/a.ts");
    add("PostToolUse", "Edit", "succeeded", "toolu_A", 2000, 5, "/repo/a.ts");
    add("PreToolUse", "Edit", "started", "toolu_A", 3000, -1, "/repo/b.ts");       /* same id again: latest wins */
    add("PostToolUseFailure", "Bash", "failed", "toolu_B", 4000, 700, "/repo/c.ts");
    char msg[600];
    ck_assert_msg(check_now(msg, sizeof msg) == 0, "%s", msg);

    st_txn *txn;
    st_err err = { "" };
    uint64_t idx;
    int64_t t;
    ck_assert_int_eq(st_db_read_begin(S->db, &txn, &err), 0);
    ck_assert_int_eq(st_index_find_tooluse_time(txn, "toolu_A", 7, &idx, &t), 0);
    ck_assert_uint_eq(idx, 2);
    ck_assert_int_eq(t, 3000);
    ck_assert_int_eq(st_index_find_tooluse(txn, "toolu_B", 7, &idx), ST_ENOTFOUND);   /* not a PreToolUse */
    ck_assert_int_eq(st_index_find_tooluse(txn, "toolu_Z", 7, &idx), ST_ENOTFOUND);
    st_db_read_end(txn);

    static const char *const want[] = { "tool index: entry 3: row", "time index: entry", "status index: 2 rows stored, 1 computed",
                                        "stats table: aggregate row", "tool_use_id index: 'toolu_A' points at entry 0",
                                        "path index: entry 0: row", "tool index: entry 3: row value differs",
                                        "tool index of layout 3: 1 rows stored, 0 computed", "session index: entry 0: row" };
    for (int k = 0; k < 9; k++) {
        tamper tp = { k };
        ck_assert_int_eq(st_db_write(S->db, do_tamper, &tp, &err), 0);
        int rc = check_now(msg, sizeof msg);
        ck_assert_msg(rc == ST_ECORRUPT, "tamper %d: rc %d (%s)", k, rc, msg);
        ck_assert_msg(strstr(msg, want[k]) != NULL, "tamper %d: message '%s' lacks '%s'", k, msg, want[k]);
        ck_assert_int_eq(st_db_write(S->db, rebuild, &err, &err), 0);
        ck_assert_msg(check_now(msg, sizeof msg) == 0, "after rebuild %d: %s", k, msg);
    }
}
END_TEST

/* A layout-1 log: no mark in meta, rows in the retired event table. */
static int make_layout1(st_txn *txn, void *arg)
{
    (void)arg;
    uint8_t key[32];
    size_t l = st_ix_enc_str(key, "PreToolUse", 10, NULL);
    memset(key + l, 0x80, 16);
    int rc = st_db_del(txn, ST_T_META, ST_META_INDEX_LAYOUT, strlen(ST_META_INDEX_LAYOUT));
    return rc ? rc : st_db_put(txn, ST_T_IX_EVENT, key, l + 16, "", 0, 0);
}

static int count_one(void *ctx, st_txn *txn, uint64_t index, const uint8_t *entry, size_t len)
{
    (void)txn; (void)index; (void)entry; (void)len;
    (*(int *)ctx)++;
    return 0;
}

START_TEST(older_layout_needs_reindex)
{
    add("PreToolUse", "Edit", "started", "toolu_A", 1000, -1, "/repo/a.ts");
    add("PostToolUse", "Edit", "succeeded", "toolu_A", 2000, 5, "/repo/a.ts");
    st_txn *txn;
    st_err err = { "" };
    uint64_t layout = 0;
    ck_assert_int_eq(st_db_read_begin(S->db, &txn, &err), 0);
    ck_assert_int_eq(st_meta_get_u64(txn, ST_META_INDEX_LAYOUT, &layout), 0);   /* entry 0 marked it */
    ck_assert_uint_eq(layout, ST_INDEX_LAYOUT);
    ck_assert_int_eq(st_index_layout_ok(txn, &err), 0);
    st_db_read_end(txn);

    ck_assert_int_eq(st_db_write(S->db, make_layout1, NULL, &err), 0);
    add("PostToolUse", "Bash", "succeeded", "toolu_C", 3000, 9, "/repo/c.ts");   /* appending still works */
    char msg[600];
    ck_assert_int_eq(check_now(msg, sizeof msg), ST_EFORMAT);
    ck_assert_msg(strstr(msg, "sealtrail reindex") != NULL && strstr(msg, "layout 1") != NULL, "%s", msg);
    st_query q;
    memset(&q, 0, sizeof q);
    q.no_entry = 1;
    int n = 0;
    ck_assert_int_eq(st_db_read_begin(S->db, &txn, &err), 0);
    err.msg[0] = 0;
    ck_assert_int_eq(st_query_run(txn, &q, count_one, &n, NULL, &err), ST_EFORMAT);
    ck_assert_msg(strstr(err.msg, "sealtrail reindex") != NULL, "%s", err.msg);
    st_stats_query sq;
    memset(&sq, 0, sizeof sq);
    st_tool_stats *ts;
    size_t nts;
    err.msg[0] = 0;
    ck_assert_int_eq(st_stats_run(txn, &sq, &ts, &nts, &err), ST_EFORMAT);
    ck_assert_msg(strstr(err.msg, "sealtrail reindex") != NULL, "%s", err.msg);
    st_db_read_end(txn);
    /* erasing a payload leaves indexes of another layout to the reindex */
    static const char *const names[] = { "tool_input" };
    st_erase_opts eo = { .index = 0, .names = names, .nnames = 1, .reason = "test", .no_compact = 1 };
    st_erase_result er;
    ck_assert_int_eq(st_erase(S, &eo, &er), 0);

    ck_assert_int_eq(st_db_write(S->db, rebuild, &err, &err), 0);
    ck_assert_msg(check_now(msg, sizeof msg) == 0, "after reindex: %s", msg);
    ck_assert_int_eq(st_db_read_begin(S->db, &txn, &err), 0);
    ck_assert_int_eq(st_query_run(txn, &q, count_one, &n, NULL, &err), 0);
    ck_assert_int_eq(n, 4);                      /* and the erasure record */
    ck_assert_int_eq(st_stats_run(txn, &sq, &ts, &nts, &err), 0);
    ck_assert_uint_eq(nts, 2);
    st_stats_free(ts, nts);
    st_db_read_end(txn);
}
END_TEST

/* ---- path write-behind (index.h) ------------------------------------------------------------ */

static int count_path_tool(const char *pat, const char *tool)
{
    st_txn *txn;
    st_err err = { "" };
    st_query q;
    memset(&q, 0, sizeof q);
    q.no_entry = 1;
    q.path = pat;
    char tb[256];
    snprintf(tb, sizeof tb, "%s", tool ? tool : "");
    if (tool) ck_assert_int_eq(st_qfield_add_list(&q.tool, tb), 0);
    int n = 0;
    ck_assert_int_eq(st_db_read_begin(S->db, &txn, &err), 0);
    ck_assert_msg(st_query_run(txn, &q, count_one, &n, NULL, &err) == 0, "%s", err.msg);
    st_db_read_end(txn);
    return n;
}

static int count_path(const char *pat) { return count_path_tool(pat, NULL); }

static uint64_t pending_from(void)
{
    st_txn *txn;
    st_err err = { "" };
    uint64_t size, merged;
    ck_assert_int_eq(st_db_read_begin(S->db, &txn, &err), 0);
    ck_assert_int_eq(st_size_txn(txn, &size), 0);
    ck_assert_int_eq(st_ix_paths_merged(txn, size, &merged), 0);
    st_db_read_end(txn);
    return merged;
}

static int merge(st_txn *txn, void *arg)
{
    uint64_t size;
    (void)arg;
    int rc = st_size_txn(txn, &size);
    return rc ? rc : st_ix_paths_merge(txn, size);
}

typedef struct rowop { int kind; uint64_t index; } rowop;

/* kind 0: delete entry index's 'i' row; 1: add a 'p' row for it (as if merged). */
static int do_rowop(st_txn *txn, void *arg)
{
    const rowop *o = arg;
    uint8_t k[64];
    if (o->kind == 0) {
        k[0] = 'i';
        st_be64_put(k + 1, o->index);
        return st_db_del(txn, ST_T_IX_PATH, k, 9);
    }
    k[0] = 'p';
    size_t kl = 1 + st_ix_enc_str(k + 1, "/repo/b.ts", 10, NULL);
    st_be64_put(k + kl, st_ix_time_key(5000));
    st_be64_put(k + kl + 8, o->index);
    return st_db_put(txn, ST_T_IX_PATH, k, kl + 16, "", 0, 0);
}

START_TEST(path_write_behind)
{
    char msg[600];
    st_err err = { "" };
    add("PreToolUse", "Edit", "started", "toolu_A", 1000, -1, "/repo/a.ts");      /* 0: merged at once */
    ck_assert_uint_eq(pending_from(), 1);
    S->defer_paths = 1;
    add("PostToolUse", "Edit", "succeeded", "toolu_A", 2000, 5, "/repo/a.ts");   /* 1, 2: pending */
    add("PreToolUse", "Read", "started", "toolu_B", 3000, -1, "/repo/b.ts");
    S->defer_paths = 0;
    add("PostToolUse", "Read", "succeeded", "toolu_B", 4000, 7, "/repo/b.ts");   /* 3: pending too (rows are) */
    ck_assert_uint_eq(pending_from(), 1);
    ck_assert_msg(check_now(msg, sizeof msg) == 0, "pending: %s", msg);
    /* queries see the merged rows and the pending ones */
    ck_assert_int_eq(count_path("/repo/a.ts"), 2);
    ck_assert_int_eq(count_path("b.ts"), 2);
    ck_assert_int_eq(count_path("/repo/*.ts"), 4);
    ck_assert_int_eq(count_path("/nowhere"), 0);
    ck_assert_int_eq(count_path_tool("b.ts", "Read"), 2);      /* tool driver, path read from pending 'i' rows */
    ck_assert_int_eq(count_path_tool("a.ts", "Edit"), 2);
    ck_assert_int_eq(count_path_tool("a.ts", "Read"), 0);
    /* a pending entry's 'i' row missing; a merged-style 'p' row for a pending entry */
    rowop ops[] = { { 0, 2 }, { 1, 3 } };
    static const char *const want[] = { "path index: entry 2: row", "path index: " };
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(st_db_write(S->db, do_rowop, &ops[k], &err), 0);
        int rc = check_now(msg, sizeof msg);
        ck_assert_msg(rc == ST_ECORRUPT && strstr(msg, want[k]), "rowop %d: rc %d (%s)", k, rc, msg);
        ck_assert_int_eq(st_db_write(S->db, rebuild, &err, &err), 0);     /* reindex merges everything */
        ck_assert_uint_eq(pending_from(), 4 + (uint64_t)k);
        ck_assert_msg(check_now(msg, sizeof msg) == 0, "after rebuild %d: %s", k, msg);
        if (k == 0) {                        /* pending again for the next case */
            S->defer_paths = 1;
            add("PostToolUse", "Read", "succeeded", "toolu_C", 5000, 7, "/repo/c.ts");
            S->defer_paths = 0;
            ck_assert_uint_eq(pending_from(), 4);
        }
    }
    ck_assert_int_eq(count_path("/repo/*.ts"), 5);
    /* erasing a pending entry's tool_input drops its 'i' row and touches no 'd' count */
    S->defer_paths = 1;
    add("PostToolUse", "Edit", "succeeded", "toolu_D", 6000, 7, "/repo/a.ts");    /* 5 */
    S->defer_paths = 0;
    static const char *const names[] = { "tool_input" };
    st_erase_opts eo = { .index = 5, .names = names, .nnames = 1, .reason = "test", .no_compact = 1 };
    st_erase_result er;
    ck_assert_int_eq(st_erase(S, &eo, &er), 0);
    ck_assert_msg(check_now(msg, sizeof msg) == 0, "after erase: %s", msg);
    ck_assert_int_eq(count_path("/repo/a.ts"), 2);
    /* merging: same answers, marker gone, check passes */
    ck_assert_int_eq(st_db_write(S->db, merge, NULL, &err), 0);
    uint64_t size;
    st_txn *txn;
    ck_assert_int_eq(st_db_read_begin(S->db, &txn, &err), 0);
    ck_assert_int_eq(st_size_txn(txn, &size), 0);
    const void *v;
    size_t vl;
    ck_assert_int_eq(st_meta_get_str(txn, ST_META_IX_PATH_MERGED, (const char **)&v, &vl), ST_ENOTFOUND);
    st_db_read_end(txn);
    ck_assert_uint_eq(pending_from(), size);
    ck_assert_msg(check_now(msg, sizeof msg) == 0, "after merge: %s", msg);
    ck_assert_int_eq(count_path("/repo/a.ts"), 2);
    ck_assert_int_eq(count_path("/repo/*.ts"), 5);
    /* erasing a merged entry's tool_input removes its rows and its 'd' count */
    eo.index = 0;
    ck_assert_int_eq(st_erase(S, &eo, &er), 0);
    ck_assert_msg(check_now(msg, sizeof msg) == 0, "after erase of a merged entry: %s", msg);
    ck_assert_int_eq(count_path("/repo/a.ts"), 1);
}
END_TEST

/* A merge reads the pending 'i' rows a chunk at a time (so that the rows of
 * entries naming many long paths need not fit in memory at once): with
 * chunks of one row, of a few rows, and of all of them, the merged 'p' rows
 * and 'd' counts are exactly those check recomputes from the entries, and
 * queries count every entry once. */
static size_t merge_chunk;

static int merge_chunked(st_txn *txn, void *arg)
{
    uint64_t size;
    (void)arg;
    int rc = st_size_txn(txn, &size);
    return rc ? rc : st_ix_paths_merge_chunked(txn, size, merge_chunk);
}

START_TEST(merge_in_chunks)
{
    static const size_t chunks[] = { 1, 100, (size_t)1 << 20 };
    char msg[600], path[64], tuid[32];
    st_err err = { "" };
    for (int c = 0; c < 3; c++) {
        S->defer_paths = 1;
        for (int i = 0; i < 40; i++) {
            snprintf(path, sizeof path, "/repo/src/f%d.ts", (i * 7) % 13);   /* paths repeat: 'd' counts over 1 */
            snprintf(tuid, sizeof tuid, "toolu_%d_%d", c, i);
            add("PostToolUse", i % 3 ? "Edit" : "Read", "succeeded", tuid, 1000 + 100 * c + i, 5, path);
        }
        S->defer_paths = 0;
        uint64_t size = 40 * (uint64_t)(c + 1);
        ck_assert_uint_eq(pending_from(), size - 40);
        merge_chunk = chunks[c];
        ck_assert_int_eq(st_db_write(S->db, merge_chunked, NULL, &err), 0);
        ck_assert_uint_eq(pending_from(), size);
        ck_assert_msg(check_now(msg, sizeof msg) == 0, "chunks of %zu bytes: %s", chunks[c], msg);
        ck_assert_int_eq(count_path("/repo/src/f0.ts"), 4 * (c + 1));   /* i = 0, 13, 26, 39 */
        ck_assert_int_eq(count_path("/repo/src/*.ts"), 40 * (c + 1));
        ck_assert_int_eq(count_path_tool("/repo/src/*.ts", "Read"), 14 * (c + 1));
    }
}
END_TEST

static int collect_index(void *ctx, st_txn *txn, uint64_t index, const uint8_t *entry, size_t len)
{
    (void)txn; (void)entry; (void)len;
    uint64_t *got = ctx;
    got[1 + got[0]++] = index;
    return 0;
}

/* Two session ids that share their first 448 bytes (the key cap) are keyed
 * alike; the session index (a split table: its rows hold the SHA-256 of a
 * cut id, not the id) still tells them apart, in queries, stats and check.
 * Ids of NUL bytes (two bytes each in a key) are cut by their encoded
 * length: they are recorded, not refused for a key over LMDB's limit. */
START_TEST(long_sessions_are_exact)
{
    char a[470], b[470], z1[301], z2[301];
    memset(a, 'a', sizeof a - 2);
    memcpy(b, a, sizeof a);
    a[sizeof a - 2] = '1';
    b[sizeof b - 2] = '2';
    a[sizeof a - 1] = b[sizeof b - 1] = 0;
    memset(z1, 0, sizeof z1);
    memset(z2, 0, sizeof z2);
    z1[300] = '1';
    z2[300] = '2';
    add_session = a; add("PreToolUse", "Edit", "started", "toolu_A", 1000, -1, "/repo/a.ts");
    add_session = b; add("PreToolUse", "Edit", "started", "toolu_B", 2000, -1, "/repo/b.ts");
    add_session = a; add("PostToolUse", "Edit", "succeeded", "toolu_A", 3000, 5, "/repo/a.ts");
    add_session = "short"; add("PostToolUse", "Bash", "succeeded", "toolu_C", 4000, 7, "/repo/c.ts");
    add_session = z1; add_session_len = sizeof z1; add("PostToolUse", "Bash", "succeeded", "toolu_D", 5000, 1, "/repo/d.ts");
    add_session = z2; add("PostToolUse", "Bash", "succeeded", "toolu_E", 6000, 2, "/repo/e.ts");
    add_session_len = 0;
    char msg[600];
    ck_assert_msg(check_now(msg, sizeof msg) == 0, "%s", msg);

    st_txn *txn;
    st_err err = { "" };
    ck_assert_int_eq(st_db_read_begin(S->db, &txn, &err), 0);
    uint8_t key[ST_IX_ENC_MAX + 16], h[32];
    size_t kl = st_ix_enc_str(key, a, strlen(a), NULL);
    st_be64_put(key + kl, st_ix_time_key(1000));
    st_be64_put(key + kl + 8, 0);
    const void *v;
    size_t vl;
    ck_assert_int_eq(st_db_get(txn, ST_T_IX_SESSION, key, kl + 16, &v, &vl), 0);
    crypto_hash_sha256(h, (const uint8_t *)a, strlen(a));
    ck_assert_uint_eq(vl, 32);
    ck_assert_int_eq(memcmp(v, h, 32), 0);

    const char *const sessions[] = { a, b, "short", z1, z2 };
    const size_t session_lens[] = { strlen(a), strlen(b), 5, sizeof z1, sizeof z2 };
    const uint64_t want[][3] = { { 2, 0, 2 }, { 1, 1 }, { 1, 3 }, { 1, 4 }, { 1, 5 } };
    for (int i = 0; i < 5; i++) {
        st_query q;
        memset(&q, 0, sizeof q);
        q.no_entry = 1;
        q.session.n = 1;
        q.session.v[0] = sessions[i];
        q.session.len[0] = session_lens[i];
        uint64_t got[8] = { 0 };
        ck_assert_int_eq(st_query_run(txn, &q, collect_index, got, NULL, &err), 0);
        ck_assert_uint_eq(got[0], want[i][0]);
        for (uint64_t j = 0; j < got[0]; j++) ck_assert_uint_eq(got[1 + j], want[i][1 + j]);
        st_stats_query sq;
        memset(&sq, 0, sizeof sq);
        sq.session = q.session;
        st_tool_stats *ts;
        size_t nts;
        ck_assert_int_eq(st_stats_run(txn, &sq, &ts, &nts, &err), 0);
        ck_assert_uint_eq(nts, 1);
        ck_assert_uint_eq(ts[0].entries, want[i][0]);
        st_stats_free(ts, nts);
    }
    st_db_read_end(txn);
}
END_TEST

/* Time-index summaries (index.c): common values (event, status, kind, the
 * built-in tools) take two bytes, 0xFF and their number; others their
 * length and text. Either way they decode to the entry's values, and a
 * number past the table or a cut summary is damage. */
START_TEST(summary_codes)
{
    add("PostToolUse", "Bash", "succeeded", "toolu_A", 1000, 5, "/repo/a.ts");
    add("CustomEvent", "mcp__db__query", "weird", "toolu_B", 2000, -1, "/repo/b.ts");
    st_txn *txn;
    st_err err = { "" };
    ck_assert_int_eq(st_db_read_begin(S->db, &txn, &err), 0);
    static const char *const want[][5] = { { "Bash", "PostToolUse", "sess-1", "succeeded", "event" },
                                           { "mcp__db__query", "CustomEvent", "sess-1", "weird", "event" } };
    static const size_t want_len[] = { 10 + 2 + 2 + 2 + 6 + 2 + 2, 10 + 2 + 14 + 2 + 11 + 2 + 6 + 2 + 5 + 2 };
    for (uint64_t i = 0; i < 2; i++) {
        uint8_t key[16];
        st_be64_put(key, st_ix_time_key((int64_t)(1000 * (i + 1))));
        st_be64_put(key + 8, i);
        const void *v;
        size_t vl;
        ck_assert_int_eq(st_db_get(txn, ST_T_IX_TIME, key, 16, &v, &vl), 0);
        ck_assert_uint_eq(vl, want_len[i]);
        st_ix_summary sum;
        ck_assert_int_eq(st_ix_summary_decode(&sum, v, vl), 0);
        const char *got[5] = { sum.tool, sum.event, sum.session, sum.status, sum.kind };
        size_t gl[5] = { sum.tool_len, sum.event_len, sum.session_len, sum.status_len, sum.kind_len };
        for (int f = 0; f < 5; f++)
            ck_assert_msg(gl[f] == strlen(want[i][f]) && memcmp(got[f], want[i][f], gl[f]) == 0, "entry %llu field %d",
                          (unsigned long long)i, f);
        uint8_t bad[64];
        memcpy(bad, v, vl);
        bad[10] = 0xFF;                                  /* the tool as number 0xFF... */
        bad[11] = 0xF0;                                  /* ...past the table */
        st_ix_summary d;
        ck_assert_int_eq(st_ix_summary_decode(&d, bad, vl), ST_ECORRUPT);
        ck_assert_int_eq(st_ix_summary_decode(&d, v, vl - 1), ST_ECORRUPT);   /* cut */
    }
    st_db_read_end(txn);
}
END_TEST

/* ix_rows (index_rows.c): rows added in any order end up stored as if put
 * one by one: every row, in LMDB's key order, a key that is a prefix of
 * another and keys that share their first 7 bytes kept apart, and a key
 * given twice keeps the value given last (the sort is stable). */
typedef struct rows_case {
    const char *key;
    st_table t;
    const char *val;
} rows_case;

/* Plain tables (status, path): the keys of a split table (tool, session;
 * test_db_split.c) may not be prefixes of each other. */
static const rows_case rows_in[] = {
    { "session-zzzz", ST_T_IX_PATH, "" },       { "tool-Bash-2", ST_T_IX_STATUS, "b2" },
    { "tool-Bash-10", ST_T_IX_STATUS, "b10" },  { "tool-Bash-1", ST_T_IX_STATUS, "b1" },
    { "session-aaaa", ST_T_IX_PATH, "first" },  { "tool-Bash", ST_T_IX_STATUS, "prefix" },
    { "session-aaaa", ST_T_IX_PATH, "second" }, { "tool-Ba", ST_T_IX_STATUS, "short" },
    { "session-aaab", ST_T_IX_PATH, "" },       { "tool-Bash-1", ST_T_IX_STATUS, "b1-again" },
};

static int rows_write(st_txn *txn, void *ctx)
{
    (void)ctx;
    ix_rows rs = { 0 };
    for (size_t i = 0; i < sizeof rows_in / sizeof rows_in[0]; i++) {
        const rows_case *c = &rows_in[i];
        ck_assert_int_eq(ix_rows_add(&rs, c->t, (const uint8_t *)c->key, strlen(c->key), (const uint8_t *)c->val,
                                     strlen(c->val)),
                         0);
    }
    ck_assert_uint_eq(rs.n, 10);
    int rc = ix_rows_flush(&rs, txn);
    ck_assert_uint_eq(rs.n, 0);
    ck_assert_uint_eq(rs.buf.len, 0);
    ck_assert_int_eq(ix_rows_flush(&rs, txn), 0);   /* nothing left: a no-op */
    ix_rows_free(&rs);
    return rc;
}

static void rows_expect(st_txn *txn, st_table t, const char *const *want, size_t n)
{
    st_cursor *c;
    const void *k, *v;
    size_t kl, vl, i = 0;
    ck_assert_int_eq(st_cursor_open(txn, t, &c), 0);
    for (int rc = st_cursor_seek(c, "", 0, &k, &kl, &v, &vl); rc == 0; rc = st_cursor_next(c, &k, &kl, &v, &vl), i++) {
        ck_assert_uint_lt(i, n);
        size_t wl = strlen(want[2 * i]);
        ck_assert_msg(kl == wl && memcmp(k, want[2 * i], kl) == 0, "row %zu: key %.*s, want %s", i, (int)kl,
                      (const char *)k, want[2 * i]);
        ck_assert_msg(vl == strlen(want[2 * i + 1]) && memcmp(v, want[2 * i + 1], vl) == 0, "row %zu (%s): value %.*s",
                      i, want[2 * i], (int)vl, (const char *)v);
    }
    st_cursor_close(c);
    ck_assert_uint_eq(i, n);
}

START_TEST(rows_in_key_order)
{
    st_err err = { 0 };
    ck_assert_int_eq(st_db_write(S->db, rows_write, NULL, &err), 0);
    st_txn *txn;
    ck_assert_int_eq(st_db_read_begin(S->db, &txn, &err), 0);
    static const char *const tool[] = { "tool-Ba", "short", "tool-Bash", "prefix", "tool-Bash-1", "b1-again",
                                        "tool-Bash-10", "b10", "tool-Bash-2", "b2" };
    static const char *const session[] = { "session-aaaa", "second", "session-aaab", "", "session-zzzz", "" };
    rows_expect(txn, ST_T_IX_STATUS, tool, 5);
    rows_expect(txn, ST_T_IX_PATH, session, 3);
    st_db_read_end(txn);

    /* Bounds: a key over 64 KiB cannot be recorded. */
    ix_rows rs = { 0 };
    static uint8_t big[0x10000];
    ck_assert_int_eq(ix_rows_add(&rs, ST_T_IX_TOOL, big, sizeof big, NULL, 0), ST_EINVAL);
    ck_assert_uint_eq(rs.n, 0);
    ix_rows_free(&rs);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("index");
    TCase *pure = tcase_create("pure");
    tcase_add_test(pure, encoding);
    tcase_add_test(pure, buckets);
    tcase_add_test(pure, aggregates_saturate);
    tcase_add_test(pure, path_extraction);
    suite_add_tcase(s, pure);
    TCase *store = tcase_create("store");
    tcase_add_checked_fixture(store, setup, teardown);
    tcase_add_test(store, check_and_rebuild);
    tcase_add_test(store, older_layout_needs_reindex);
    tcase_add_test(store, path_write_behind);
    tcase_add_test(store, merge_in_chunks);
    tcase_add_test(store, rows_in_key_order);
    tcase_add_test(store, long_sessions_are_exact);
    tcase_add_test(store, summary_codes);
    suite_add_tcase(s, store);
    return tu_run_suite(s);
}
