/*
 * index_check.c: st_index_check, the comparison of the index tables with a
 * recomputation from the entries. It runs the same row generator as the
 * append path (ix_emit) with a sink that, instead of writing,
 *   - looks every plain row up and compares its value,
 *   - sums the aggregate deltas in memory (ix_agg_map, index_agg.c: one slot
 *     per distinct tool, session, path, histogram bucket…),
 *   - checks that each PreToolUse's tool_use_id row points at or after it
 * (an entry whose path rows are pending, index.h PATH WRITE-BEHIND, is
 * expected to have its 'i' row only), then compares row counts per table (so nothing extra is there), every
 * aggregate row, and that each tool_use_id row points at a PreToolUse with
 * that id (so it is the latest one). The first difference is reported with
 * the table, the entry and both values.
 */
#include "index_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entry_store.h"
#include "store_int.h"

static const char *table_name(st_table t)
{
    switch (t) {
    case ST_T_IX_TIME: return "time index";
    case ST_T_IX_TOOL: return "tool index";
    case ST_T_IX_EVENT: return "event index";
    case ST_T_IX_SESSION: return "session index";
    case ST_T_IX_STATUS: return "status index";
    case ST_T_IX_PATH: return "path index";
    case ST_T_IX_DURATION: return "duration index";
    case ST_T_IX_TOOLUSE: return "tool_use_id index";
    case ST_T_STATS: return "stats table";
    case ST_T_IX_TOOL_L3: return "tool index of layout 3";
    case ST_T_IX_SESSION_L3: return "session index of layout 3";
    default: return "table";
    }
}

/* ---- the checking sink ---------------------------------------------------------- */

typedef struct check_ctx {
    st_txn *txn;
    st_err *err;
    uint64_t index;                 /* entry being checked */
    uint64_t rows[ST_T__COUNT];     /* expected plain rows per table */
    ix_agg_map aggs;
} check_ctx;

static void hexcut(char *out, size_t cap, const void *p, size_t n)
{
    size_t m = (cap - 4) / 2;
    if (n > m) n = m;
    st_hex_encode(out, p, n);
}

static int chk_row(void *vc, st_table t, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    check_ctx *c = vc;
    const void *sv;
    size_t svl;
    char a[64], b[64];
    c->rows[t]++;
    int rc = st_db_get(c->txn, t, k, kl, &sv, &svl);
    if (rc == ST_ENOTFOUND) {
        hexcut(a, sizeof a, k, kl);
        return st_fail(c->err, ST_ECORRUPT, "%s: entry %llu: row %s… missing", table_name(t),
                       (unsigned long long)c->index, a);
    }
    if (rc) return st_fail(c->err, rc, "%s: entry %llu: lookup failed", table_name(t), (unsigned long long)c->index);
    if (svl != vl || (vl && memcmp(sv, v, vl) != 0)) {
        hexcut(a, sizeof a, v, vl);
        hexcut(b, sizeof b, sv, svl);
        return st_fail(c->err, ST_ECORRUPT, "%s: entry %llu: row value differs: computed %s (%zu bytes), stored %s (%zu bytes)",
                       table_name(t), (unsigned long long)c->index, a, vl, b, svl);
    }
    return 0;
}

static int chk_stat(void *vc, st_table t, const uint8_t *k, size_t kl, const uint64_t *d, size_t n)
{
    check_ctx *c = vc;
    return ix_agg_add(&c->aggs, t, k, kl, d, n);
}

static int chk_tooluse(void *vc, const uint8_t *k, size_t kl, uint64_t index, int64_t time_us)
{
    check_ctx *c = vc;
    uint64_t got;
    (void)time_us;
    int rc = st_index_find_tooluse(c->txn, (const char *)k, kl, &got);
    if (rc == ST_ENOTFOUND)
        return st_fail(c->err, ST_ECORRUPT, "tool_use_id index: entry %llu: PreToolUse '%.*s' not indexed",
                       (unsigned long long)index, (int)(kl > 80 ? 80 : kl), (const char *)k);
    if (rc) return st_fail(c->err, rc, "tool_use_id index: entry %llu: lookup failed", (unsigned long long)index);
    if (got < index)
        return st_fail(c->err, ST_ECORRUPT, "tool_use_id index: '%.*s' points at entry %llu, computed %llu or later",
                       (int)(kl > 80 ? 80 : kl), (const char *)k, (unsigned long long)got, (unsigned long long)index);
    return 0;
}

/* ---- the passes ------------------------------------------------------------------- */

static int check_aggregates(check_ctx *c)
{
    char a[64];
    for (size_t i = 0; i < c->aggs.cap; i++) {
        const ix_agg_slot *s = &c->aggs.slots[i];
        if (!s->hash) continue;
        const uint8_t *k = c->aggs.keys.data + s->koff;
        const void *v;
        size_t vl;
        int rc = st_db_get(c->txn, (st_table)s->table, k, s->klen, &v, &vl);
        hexcut(a, sizeof a, k, s->klen);
        if (rc == ST_ENOTFOUND)
            return st_fail(c->err, ST_ECORRUPT, "%s: aggregate row %s… missing", table_name((st_table)s->table), a);
        if (rc) return rc;
        if (vl != 8u * s->n)
            return st_fail(c->err, ST_ECORRUPT, "%s: aggregate row %s…: %zu bytes, expected %u",
                           table_name((st_table)s->table), a, vl, 8u * s->n);
        for (unsigned f = 0; f < s->n; f++) {
            uint64_t got = st_be64_get((const uint8_t *)v + 8 * f);
            if (got != s->v[f])
                return st_fail(c->err, ST_ECORRUPT, "%s: aggregate row %s… field %u: computed %llu, stored %llu",
                               table_name((st_table)s->table), a, f, (unsigned long long)s->v[f],
                               (unsigned long long)got);
        }
        c->rows[s->table]++;
    }
    return 0;
}

/* The retired tables of layout 1 (event, duration) and of layouts 1..3
 * (tool, session) must be empty: no row is computed for them. */
static int check_counts(check_ctx *c)
{
    static const st_table ts[] = { ST_T_IX_TIME, ST_T_IX_TOOL, ST_T_IX_EVENT, ST_T_IX_SESSION, ST_T_IX_STATUS,
                                   ST_T_IX_PATH, ST_T_IX_DURATION, ST_T_STATS, ST_T_IX_TOOL_L3, ST_T_IX_SESSION_L3 };
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        uint64_t n = 0;
        int rc = st_db_count(c->txn, ts[i], &n);
        if (rc == ST_ENOTFOUND) n = 0;
        else if (rc) return rc;
        if (n != c->rows[ts[i]])
            return st_fail(c->err, ST_ECORRUPT, "%s: %llu rows stored, %llu computed from the entries",
                           table_name(ts[i]), (unsigned long long)n, (unsigned long long)c->rows[ts[i]]);
    }
    return 0;
}

/* Every tool_use_id row must name an entry below size that is a PreToolUse with that id. */
static int check_tooluse_rows(check_ctx *c, uint64_t size)
{
    st_cursor *cur;
    const void *k, *v;
    size_t kl, vl;
    st_buf row = { 0 };        /* an entry's decoded row */
    int rc = st_cursor_open(c->txn, ST_T_IX_TOOLUSE, &cur);
    if (rc == ST_ENOTFOUND) return 0;
    if (rc) return rc;
    for (rc = st_cursor_seek(cur, NULL, 0, &k, &kl, &v, &vl); rc == 0; rc = st_cursor_next(cur, &k, &kl, &v, &vl)) {
        int lk = (int)(kl > 80 ? 80 : kl);
        if (vl != 16) { rc = st_fail(c->err, ST_ECORRUPT, "tool_use_id index: '%.*s': value of %zu bytes", lk, (const char *)k, vl); break; }
        uint64_t idx = st_be64_get(v);
        if (idx >= size) { rc = st_fail(c->err, ST_ECORRUPT, "tool_use_id index: '%.*s' points at entry %llu, log size %llu", lk, (const char *)k, (unsigned long long)idx, (unsigned long long)size); break; }
        const uint8_t *ev;
        size_t evl;
        if ((rc = st_entry_row_get(c->txn, idx, &row, &ev, &evl)) != 0) break;
        st_entry e;
        if ((rc = st_entry_parse(&e, ev, evl, c->err)) != 0) break;
        size_t il = 0, el = 0;
        const char *id = st_json_get_str(e.root, "tool_use_id", &il);
        const char *evn = st_json_get_str(e.root, "event", &el);
        int64_t t = 0;
        int ok = id && il == kl && memcmp(id, k, kl) == 0 && evn && el == 10 && memcmp(evn, "PreToolUse", 10) == 0 &&
                 st_json_get_i64(e.root, "time_us", &t) == 0 && (uint64_t)t == st_be64_get((const uint8_t *)v + 8);
        st_entry_free(&e);
        if (!ok) { rc = st_fail(c->err, ST_ECORRUPT, "tool_use_id index: '%.*s' points at entry %llu, which is not its PreToolUse", lk, (const char *)k, (unsigned long long)idx); break; }
    }
    st_cursor_close(cur);
    st_buf_free(&row);
    return rc == ST_ENOTFOUND ? 0 : rc;
}

int st_index_check(st_txn *txn, uint64_t size, st_err *err)
{
    check_ctx c;
    memset(&c, 0, sizeof c);
    c.txn = txn;
    c.err = err;
    ix_sink sk = { chk_row, chk_stat, chk_tooluse, &c, 0 };
    st_buf paths = { 0 };
    uint64_t merged;
    int rc = st_index_layout_ok(txn, err);
    if (rc) return rc;
    if ((rc = st_ix_paths_merged(txn, size, &merged)) != 0)
        return st_fail(err, rc, "path index: pending-rows marker is unreadable or beyond the log size %llu",
                       (unsigned long long)size);
    for (uint64_t i = 0; i < size && rc == 0; i++) {
        sk.defer_paths = i >= merged;          /* pending: only the 'i' row (index.h) */
        st_json_doc *doc;
        st_ix_facts f;
        size_t np;
        st_buf_reset(&paths);
        c.index = i;
        if ((rc = ix_load_entry(txn, i, &doc, &f, &paths, &np, err)) != 0) break;
        rc = ix_emit(&f, paths.data, paths.len, np, &sk);
        st_json_doc_free(doc);
    }
    if (rc == 0) rc = check_aggregates(&c);
    if (rc == 0) rc = check_counts(&c);
    if (rc == 0) rc = check_tooluse_rows(&c, size);
    st_buf_free(&paths);
    ix_agg_free(&c.aggs);
    return rc;
}
