/*
 * stats.c: per-tool figures (stats.h). Three ways in, one accumulator:
 * all time from the aggregate and histogram rows; a time window from the
 * tool index (its row value carries status and duration); a session from
 * the session index plus the time-index summary of each entry.
 */
#include "stats.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "store_int.h"

typedef struct acc {
    st_tool_stats s;
    uint64_t *durs;
    size_t nd, cap;
} acc;

typedef struct acc_set {
    acc *v;
    size_t n, cap;
} acc_set;

static acc *acc_get(acc_set *a, const char *tool, size_t len)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].s.tool_len == len && memcmp(a->v[i].s.tool, tool, len) == 0) return &a->v[i];
    acc *n = st_array_room(a->v, &a->cap, a->n, sizeof *n, 16);
    if (!n) return NULL;
    a->v = n;
    acc *x = &a->v[a->n];
    memset(x, 0, sizeof *x);
    if (!(x->s.tool = malloc(len + 1))) return NULL;
    memcpy(x->s.tool, tool, len);
    x->s.tool[len] = 0;
    x->s.tool_len = len;
    a->n++;
    return x;
}

static int is_str(const char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return s && n == l && memcmp(s, lit, l) == 0;
}

/* Counts one entry the same way index.c's aggregates do. */
static int acc_add(acc *x, const char *status, size_t sl, int has_dur, uint64_t dur)
{
    int ok = is_str(status, sl, "succeeded");
    int calls = ok || is_str(status, sl, "failed") || is_str(status, sl, "interrupted");
    x->s.entries++;
    x->s.calls += (uint64_t)calls;
    x->s.failures += (uint64_t)(calls && !ok);
    x->s.denied += (uint64_t)is_str(status, sl, "denied");
    if (!has_dur) return 0;
    x->s.dur_n++;
    x->s.dur_total = x->s.dur_total + dur < dur ? UINT64_MAX : x->s.dur_total + dur;   /* saturates, as the all-time sums (index.c) */
    if (dur > x->s.dur_max) x->s.dur_max = dur;
    if (x->nd == x->cap) {
        size_t nc = x->cap ? x->cap * 2 : 256;
        uint64_t *n = realloc(x->durs, nc * sizeof *n);
        if (!n) return ENOMEM;
        x->durs = n;
        x->cap = nc;
    }
    x->durs[x->nd++] = dur;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t st_stats_percentile(const uint64_t *sorted, size_t n, unsigned p)
{
    if (n == 0) return 0;
    size_t rank = (size_t)(((unsigned __int128)n * p + 99) / 100);   /* ceil(n*p/100) */
    if (rank == 0) rank = 1;
    return sorted[rank - 1];
}

/* Whether --tool wants a stats row's name, which is a long name's head only
 * (index.h, CAPS): a wanted name matches the row of its head, so the whole
 * name and the head stats prints both find that row. */
static int tool_row_wanted(const st_stats_query *q, const char *t, size_t n)
{
    if (!q->tool.n) return 1;
    for (size_t i = 0; i < q->tool.n; i++)
        if (st_ix_cut_len(q->tool.v[i], q->tool.len[i]) == n && memcmp(q->tool.v[i], t, n) == 0) return 1;
    return 0;
}

/* ---- all time: aggregates and histograms -------------------------------------------- */

static int hist_percentiles(st_txn *txn, const uint8_t *enc, size_t el, st_tool_stats *s)
{
    uint8_t key[1 + ST_IX_ENC_MAX + 2];
    const void *k, *v;
    size_t kl, vl;
    uint64_t r50 = (s->dur_n * 50 + 99) / 100, r95 = (s->dur_n * 95 + 99) / 100, seen = 0;
    int got50 = 0;
    st_cursor *c;
    key[0] = 'h';
    memcpy(key + 1, enc, el);
    int rc = st_cursor_open(txn, ST_T_STATS, &c);
    if (rc) return rc;
    for (rc = st_cursor_seek(c, key, 1 + el, &k, &kl, &v, &vl); rc == 0; rc = st_cursor_next(c, &k, &kl, &v, &vl)) {
        if (kl != 1 + el + 2 || memcmp(k, key, 1 + el) != 0) break;
        if (vl != 24) { rc = ST_ECORRUPT; break; }
        const uint8_t *kb = k;
        unsigned b = ((unsigned)kb[1 + el] << 8) | kb[2 + el];
        uint64_t lo, hi, bmin = st_be64_get((const uint8_t *)v + 8), bmax = st_be64_get((const uint8_t *)v + 16);
        st_ix_bucket_range(b, &lo, &hi);
        uint64_t mid = lo + (hi - lo) / 2;
        if (mid < bmin) mid = bmin;
        if (mid > bmax) mid = bmax;
        seen += st_be64_get(v);
        if (!got50 && seen >= r50) { s->p50 = mid; got50 = 1; }
        if (seen >= r95) { s->p95 = mid; break; }
    }
    st_cursor_close(c);
    return rc == ST_ENOTFOUND ? 0 : rc;
}

static int all_time(st_txn *txn, const st_stats_query *q, acc_set *a)
{
    const void *k, *v;
    size_t kl, vl;
    st_cursor *c;
    char tool[ST_IX_STR_CAP];
    uint8_t first = 'a';
    int rc = st_cursor_open(txn, ST_T_STATS, &c);
    if (rc == ST_ENOTFOUND) return 0;
    if (rc) return rc;
    for (rc = st_cursor_seek(c, &first, 1, &k, &kl, &v, &vl); rc == 0; rc = st_cursor_next(c, &k, &kl, &v, &vl)) {
        const uint8_t *kb = k;
        if (kl < 3 || kb[0] != 'a') break;
        size_t end = st_ix_enc_end(kb + 1, kl - 1);
        if (end != kl - 1 || vl != 8 * ST_IXA__COUNT) { rc = ST_ECORRUPT; break; }
        size_t tl = st_ix_dec_str(tool, sizeof tool, kb + 1, end - 2);
        if (!tool_row_wanted(q, tool, tl)) continue;
        acc *x = acc_get(a, tool, tl);
        if (!x) { rc = ENOMEM; break; }
        const uint8_t *f = v;
        x->s.entries = st_be64_get(f + 8 * ST_IXA_ENTRIES);
        x->s.calls = st_be64_get(f + 8 * ST_IXA_CALLS);
        x->s.failures = st_be64_get(f + 8 * ST_IXA_FAILURES);
        x->s.denied = st_be64_get(f + 8 * ST_IXA_DENIED);
        x->s.dur_n = st_be64_get(f + 8 * ST_IXA_DUR_N);
        x->s.dur_total = st_be64_get(f + 8 * ST_IXA_DUR_TOTAL);
        x->s.dur_max = st_be64_get(f + 8 * ST_IXA_DUR_MAX);
        if (x->s.dur_n && (rc = hist_percentiles(txn, kb + 1, end, &x->s)) != 0) break;
    }
    st_cursor_close(c);
    return rc == ST_ENOTFOUND ? 0 : rc;
}

/* ---- windows and sessions: range scans ------------------------------------------------- */

typedef struct win { int has_since, has_until; uint64_t lo, hi; } win;

/* Tool names from the aggregate rows (the tools that exist). */
static int list_tools(st_txn *txn, const st_stats_query *q, acc_set *a)
{
    acc_set tmp = { 0 };
    int rc = all_time(txn, q, &tmp);
    for (size_t i = 0; i < tmp.n && rc == 0; i++)
        if (!acc_get(a, tmp.v[i].s.tool, tmp.v[i].s.tool_len)) rc = ENOMEM;
    for (size_t i = 0; i < tmp.n; i++) free(tmp.v[i].s.tool);
    free(tmp.v);
    return rc;
}

static int scan_tool(const win *w, acc *x, st_cursor *c)
{
    uint8_t key[ST_IX_ENC_MAX + 16];
    const void *k, *v;
    size_t kl, vl;
    size_t pl = st_ix_enc_str(key, x->s.tool, x->s.tool_len, NULL);
    st_be64_put(key + pl, w->lo);
    memset(key + pl + 8, 0, 8);
    int rc;
    for (rc = st_cursor_seek(c, key, pl + 16, &k, &kl, &v, &vl); rc == 0; rc = st_cursor_next(c, &k, &kl, &v, &vl)) {
        if (kl != pl + 16 || memcmp(k, key, pl) != 0) break;
        uint64_t t = st_be64_get((const uint8_t *)k + pl);
        if (w->has_until && t >= w->hi) break;
        const uint8_t *pv = v;
        if (vl < 10 || 10u + pv[9] > vl) return ST_ECORRUPT;
        if ((rc = acc_add(x, (const char *)pv + 10, pv[9], pv[0] & 1, st_be64_get(pv + 1))) != 0) return rc;
    }
    return rc == ST_ENOTFOUND ? 0 : rc;
}

/* One session's entries. The index key holds the id cut to its cap; each
 * entry's own id is compared whole, so an entry counts for its session
 * alone, whichever other ids share its cut key. */
static int scan_session(st_txn *txn, const st_stats_query *q, const char *sid, size_t slen, const win *w, acc_set *a)
{
    uint8_t key[ST_IX_ENC_MAX + 16];
    const void *k, *v;
    size_t kl, vl;
    st_cursor *c;
    size_t pl = st_ix_enc_str(key, sid, slen, NULL);
    st_be64_put(key + pl, w->lo);
    memset(key + pl + 8, 0, 8);
    int rc = st_cursor_open(txn, ST_T_IX_SESSION, &c);
    if (rc == ST_ENOTFOUND) return 0;
    if (rc) return rc;
    for (rc = st_cursor_seek(c, key, pl + 16, &k, &kl, &v, &vl); rc == 0; rc = st_cursor_next(c, &k, &kl, &v, &vl)) {
        if (kl != pl + 16 || memcmp(k, key, pl) != 0) break;
        const uint8_t *kb = k;
        uint64_t t = st_be64_get(kb + pl);
        if (w->has_until && t >= w->hi) break;
        if (vl != 0 && st_ix_cut_len(sid, slen) == slen) continue;   /* a longer, cut session id */
        const void *sv;
        size_t svl;
        st_ix_summary s;
        if ((rc = st_db_get(txn, ST_T_IX_TIME, kb + pl, 16, &sv, &svl)) != 0 || (rc = st_ix_summary_decode(&s, sv, svl)) != 0) {
            if (rc == ST_ENOTFOUND) rc = ST_ECORRUPT;
            break;
        }
        if (!s.tool) continue;
        size_t row_len = st_ix_cut_len(s.tool, s.tool_len);             /* as the stats rows */
        if (!tool_row_wanted(q, s.tool, row_len)) continue;
        if (s.session_len != slen || (s.session_len && memcmp(s.session, sid, s.session_len) != 0)) continue;
        acc *x = acc_get(a, s.tool, row_len);
        if (!x) { rc = ENOMEM; break; }
        if ((rc = acc_add(x, s.status, s.status_len, s.has_duration, s.duration_ms)) != 0) break;
    }
    st_cursor_close(c);
    return rc == ST_ENOTFOUND ? 0 : rc;
}

static int cmp_stats(const void *a, const void *b)
{
    const st_tool_stats *x = a, *y = b;
    if (x->dur_total != y->dur_total) return x->dur_total > y->dur_total ? -1 : 1;
    if (x->entries != y->entries) return x->entries > y->entries ? -1 : 1;
    size_t n = x->tool_len < y->tool_len ? x->tool_len : y->tool_len;
    int c = memcmp(x->tool, y->tool, n);
    return c ? c : (x->tool_len > y->tool_len) - (x->tool_len < y->tool_len);
}

int st_stats_run(st_txn *txn, const st_stats_query *q, st_tool_stats **out, size_t *n, st_err *err)
{
    acc_set a = { 0 };
    int rc = 0;
    *out = NULL;
    *n = 0;
    if ((rc = st_index_layout_ok(txn, err)) != 0) return rc;
    win w = { q->has_since, q->has_until, q->has_since ? st_ix_time_key(q->since_us) : 0,
              q->has_until ? st_ix_time_key(q->until_us) : 0 };
    if (!q->has_since && !q->has_until && !q->session.n) {
        rc = all_time(txn, q, &a);
    } else if (q->session.n) {
        for (size_t i = 0; i < q->session.n && rc == 0; i++)      /* distinct ids (st_qfield_add_list): no entry twice */
            rc = scan_session(txn, q, q->session.v[i], q->session.len[i], &w, &a);
    } else if (!(w.has_until && w.hi <= w.lo)) {
        st_cursor *c = NULL;
        if ((rc = list_tools(txn, q, &a)) == 0 && (rc = st_cursor_open(txn, ST_T_IX_TOOL, &c)) == 0)
            for (size_t i = 0; i < a.n && rc == 0; i++) rc = scan_tool(&w, &a.v[i], c);
        if (rc == ST_ENOTFOUND) rc = 0;
        st_cursor_close(c);
    }
    size_t m = 0;
    st_tool_stats *res = rc ? NULL : calloc(a.n ? a.n : 1, sizeof *res);
    if (!rc && !res) rc = ENOMEM;
    for (size_t i = 0; i < a.n; i++) {
        acc *x = &a.v[i];
        if (!rc && x->s.entries) {
            if (x->nd) {
                qsort(x->durs, x->nd, sizeof *x->durs, cmp_u64);
                x->s.p50 = st_stats_percentile(x->durs, x->nd, 50);
                x->s.p95 = st_stats_percentile(x->durs, x->nd, 95);
            }
            x->s.exact = q->has_since || q->has_until || q->session.n;
            res[m++] = x->s;
        } else {
            free(x->s.tool);
        }
        free(x->durs);
    }
    free(a.v);
    if (rc) {
        st_stats_free(res, m);
        return rc == ST_ECORRUPT ? st_fail(err, rc, "stats: an index row does not decode (run 'sealtrail reindex')") : rc;
    }
    qsort(res, m, sizeof *res, cmp_stats);
    *out = res;
    *n = m;
    return 0;
}

void st_stats_free(st_tool_stats *v, size_t n)
{
    if (!v) return;
    for (size_t i = 0; i < n; i++) free(v[i].tool);
    free(v);
}
