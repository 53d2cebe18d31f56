/*
 * index.c: writing the secondary indexes. The key layouts are documented in
 * index.h. ix_emit() is the single row generator: it turns one entry's facts
 * (time, tool, event, session, status, duration, tool_use_id, paths) into
 * rows and aggregate deltas, and three sinks consume them: st_index_add
 * (append path, inside the entry's write transaction), st_index_rebuild
 * (reindex) and st_index_check (index_check.c).
 */
#include "index_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "entry_store.h"
#include "sha256.h"
#include "store_int.h"

/* ---- key helpers ---------------------------------------------------------- */

uint64_t st_ix_time_key(int64_t time_us) { return (uint64_t)time_us ^ (1ULL << 63); }
int64_t st_ix_time_from_key(uint64_t k) { return (int64_t)(k ^ (1ULL << 63)); }

size_t st_ix_cut_len(const char *s, size_t len)
{
    size_t head = len < ST_IX_STR_CAP ? len : ST_IX_STR_CAP;
    if (!memchr(s, 0, head)) return head;      /* the usual string: no NUL to escape */
    size_t n = 0, i = 0;
    for (; i < len; i++) {
        size_t w = s[i] ? 1 : 2;
        if (n + w > ST_IX_STR_CAP) break;
        n += w;
    }
    return i;
}

int st_ix_at_cap(const char *s, size_t len)
{
    size_t n = len;
    for (size_t i = 0; i < len; i++) n += s[i] == 0;
    return n + 1 >= ST_IX_STR_CAP;
}

size_t st_ix_enc_str(uint8_t *out, const char *s, size_t len, int *cut)
{
    size_t n = 0, keep = st_ix_cut_len(s, len);
    if (cut) *cut = keep < len;
    len = keep;
    if (!memchr(s, 0, len)) {                  /* the usual string: no NUL to escape */
        memcpy(out, s, len);
        n = len;
    } else {
        for (size_t i = 0; i < len; i++) {
            out[n++] = (uint8_t)s[i];
            if (s[i] == 0) out[n++] = 0xFF;
        }
    }
    out[n++] = 0x00;
    out[n++] = 0x01;
    return n;
}

size_t st_ix_enc_end(const uint8_t *key, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (key[i] != 0) continue;
        if (key[i + 1] == 0x01) return i + 2;
        i++; /* 0x00 0xFF: an escaped NUL */
    }
    return 0;
}

size_t st_ix_dec_str(char *out, size_t cap, const uint8_t *enc, size_t enc_len)
{
    size_t n = 0;
    for (size_t i = 0; i < enc_len && n < cap; i++) {
        out[n++] = (char)enc[i];
        if (enc[i] == 0) i++; /* skip the 0xFF */
    }
    return n;
}

/* ---- duration histogram ----------------------------------------------------- */

#define IX_SUB_BITS 5u

unsigned st_ix_bucket(uint64_t d)
{
    if (d < 64) return (unsigned)d;
    unsigned e = 63u - (unsigned)__builtin_clzll(d);          /* >= 6 */
    unsigned mant = (unsigned)(d >> (e - IX_SUB_BITS)) & ((1u << IX_SUB_BITS) - 1);
    return 64u + (e - 6u) * (1u << IX_SUB_BITS) + mant;
}

void st_ix_bucket_range(unsigned b, uint64_t *lo, uint64_t *hi)
{
    if (b < 64) { *lo = *hi = b; return; }
    unsigned e = 6u + (b - 64u) / (1u << IX_SUB_BITS);
    unsigned mant = (b - 64u) % (1u << IX_SUB_BITS);
    uint64_t width = 1ULL << (e - IX_SUB_BITS);
    *lo = (1ULL << e) + (uint64_t)mant * width;
    *hi = *lo + width - 1;
}

/* ---- facts -------------------------------------------------------------- */

static void get_str(const st_json *o, const char *k, const char **s, size_t *n)
{
    *s = st_json_get_str(o, k, n);
    if (!*s) *n = 0;
}

int st_ix_facts_from_envelope(st_ix_facts *f, const st_json *env)
{
    memset(f, 0, sizeof *f);
    int64_t idx, t, d;
    if (!env || env->type != ST_JSON_OBJECT || st_json_get_i64(env, "index", &idx) != 0 || idx < 0 ||
        st_json_get_i64(env, "time_us", &t) != 0)
        return ST_EFORMAT;
    f->index = (uint64_t)idx;
    f->time_us = t;
    if (st_json_get_i64(env, "duration_ms", &d) == 0 && d >= 0) {
        f->has_duration = 1;
        f->duration_ms = (uint64_t)d;
    }
    get_str(env, "tool", &f->tool, &f->tool_len);
    get_str(env, "event", &f->event, &f->event_len);
    get_str(env, "session", &f->session, &f->session_len);
    get_str(env, "status", &f->status, &f->status_len);
    get_str(env, "kind", &f->kind, &f->kind_len);
    get_str(env, "tool_use_id", &f->tool_use_id, &f->tool_use_id_len);
    return 0;
}

/* ---- the time-index summary ----------------------------------------------
 *   u8 version (2) | u8 flags (bit 0: has duration) | u64 duration_ms |
 *   for tool, event, session, status, kind: (u16 len, bytes), absent: len 0,
 *   or 0xFF then the number of one of the common values in SUM_CODES
 *   (a length never starts with 0xFF: it is at most IX_SUM_STR_MAX)
 */
#define IX_SUMMARY_VERSION 2u
#define IX_SUM_STR_MAX 4096u
#define IX_SUM_CODE 0xFFu

/* The values most entries have, two bytes each in a summary instead of a
 * length and the text (an import's "PostToolUse", "succeeded", "import"
 * were 32 of its 80 bytes). Never change or reorder: rows depend on it. */
#define C(s) { s, sizeof s - 1 }
static const struct { const char *s; size_t n; } SUM_CODES[] = {
    C("PostToolUse"), C("PreToolUse"), C("PostToolUseFailure"), C("UserPromptSubmit"), C("Stop"),
    C("SubagentStop"), C("SessionStart"), C("SessionEnd"), C("Notification"), C("PreCompact"),
    C("PermissionRequest"), C("PermissionDenied"), C("succeeded"), C("started"), C("failed"), C("denied"),
    C("interrupted"), C("event"), C("import"), C("key-rotation"), C("Bash"), C("Read"), C("Edit"), C("Write"),
    C("Grep"), C("Glob"), C("Task"), C("WebFetch"), C("WebSearch"), C("TodoWrite"), C("MultiEdit"),
    C("NotebookEdit"), C("LS")
};
#undef C
#define NSUM_CODES (sizeof SUM_CODES / sizeof SUM_CODES[0])

static int sum_code(const char *s, size_t n)
{
    if (n == 0) return -1;
    for (size_t i = 0; i < NSUM_CODES; i++)
        if (SUM_CODES[i].n == n && SUM_CODES[i].s[0] == s[0] && memcmp(SUM_CODES[i].s, s, n) == 0) return (int)i;
    return -1;
}

/* The summary's five strings, in order, with their codes (-1: written out). */
typedef struct sum_strs { const char *s[5]; size_t n[5]; int code[5]; } sum_strs;

static void sum_strs_of(sum_strs *t, const st_ix_facts *f)
{
    const char *s[5] = { f->tool, f->event, f->session, f->status, f->kind };
    size_t n[5] = { f->tool_len, f->event_len, f->session_len, f->status_len, f->kind_len };
    for (int i = 0; i < 5; i++) {
        t->s[i] = s[i];
        t->n[i] = n[i] > IX_SUM_STR_MAX ? IX_SUM_STR_MAX : n[i];
        t->code[i] = i == 2 ? -1 : sum_code(s[i], n[i]);   /* sessions are never common values */
    }
}

static size_t summary_len(const sum_strs *t)
{
    size_t l = 10;
    for (int i = 0; i < 5; i++) l += 2 + (t->code[i] >= 0 ? 0 : t->n[i]);
    return l;
}

/* Writes summary_len(t) bytes. */
static void summary_encode(uint8_t *o, const st_ix_facts *f, const sum_strs *t)
{
    o[0] = IX_SUMMARY_VERSION;
    o[1] = f->has_duration ? 1 : 0;
    st_be64_put(o + 2, f->duration_ms);
    o += 10;
    for (int i = 0; i < 5; i++) {
        if (t->code[i] >= 0) {
            o[0] = IX_SUM_CODE;
            o[1] = (uint8_t)t->code[i];
            o += 2;
            continue;
        }
        o[0] = (uint8_t)(t->n[i] >> 8);
        o[1] = (uint8_t)t->n[i];
        if (t->n[i]) memcpy(o + 2, t->s[i], t->n[i]);
        o += 2 + t->n[i];
    }
}

static int get_lstr(const uint8_t *v, size_t len, size_t *off, const char **s, size_t *n)
{
    if (*off + 2 > len) return ST_ECORRUPT;
    if (v[*off] == IX_SUM_CODE) {
        size_t c = v[*off + 1];
        if (c >= NSUM_CODES) return ST_ECORRUPT;
        *s = SUM_CODES[c].s;
        *n = SUM_CODES[c].n;
        *off += 2;
        return 0;
    }
    size_t l = ((size_t)v[*off] << 8) | v[*off + 1];
    *off += 2;
    if (*off + l > len) return ST_ECORRUPT;
    *s = l ? (const char *)v + *off : NULL;
    *n = l;
    *off += l;
    return 0;
}

int st_ix_summary_decode(st_ix_summary *o, const void *val, size_t len)
{
    const uint8_t *v = val;
    memset(o, 0, sizeof *o);
    if (len < 10 || v[0] != IX_SUMMARY_VERSION) return ST_ECORRUPT;
    o->has_duration = v[1] & 1;
    o->duration_ms = st_be64_get(v + 2);
    size_t off = 10;
    if (get_lstr(v, len, &off, &o->tool, &o->tool_len) || get_lstr(v, len, &off, &o->event, &o->event_len) ||
        get_lstr(v, len, &off, &o->session, &o->session_len) || get_lstr(v, len, &off, &o->status, &o->status_len) ||
        get_lstr(v, len, &off, &o->kind, &o->kind_len) || off != len)
        return ST_ECORRUPT;
    return 0;
}

/* ---- the row generator ---------------------------------------------------- */

int st_ix_status_common(const char *s, size_t n)
{
    return (n == 9 && memcmp(s, "succeeded", 9) == 0) || (n == 7 && memcmp(s, "started", 7) == 0);
}

static int is_str(const char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return s && n == l && memcmp(s, lit, l) == 0;
}

/* k[0..kp) already holds the key prefix; appends enc(s) T I. The value is
 * pv[0..pl) followed, if s was cut, by the whole string, or in the tool and
 * session tables (split tables, whose values are bounded: db.h) by its
 * SHA-256. */
static int emit_str_row(const ix_sink *sk, st_table t, uint8_t *k, size_t kp, const char *s, size_t n,
                        const uint8_t ti[16], const uint8_t *pv, size_t pl)
{
    int cut;
    size_t kl = kp + st_ix_enc_str(k + kp, s, n, &cut);
    memcpy(k + kl, ti, 16);
    kl += 16;
    if (!cut) return sk->row(sk->ctx, t, k, kl, pv, pl);
    if (st_db_split(t)) {
        uint8_t v[10 + 255 + 32];
        if (pl > sizeof v - 32) return ST_EINVAL;
        if (pl) memcpy(v, pv, pl);
        st_sha256(v + pl, s, n);
        return sk->row(sk->ctx, t, k, kl, v, pl + 32);
    }
    st_buf big = { 0 };
    if (pl) st_buf_put(&big, pv, pl);
    st_buf_put(&big, s, n);
    if (big.oom) { st_buf_free(&big); return ENOMEM; }
    int rc = sk->row(sk->ctx, t, k, kl, big.data, big.len);
    st_buf_free(&big);
    return rc;
}

static int emit_counter(const ix_sink *sk, uint8_t *k, unsigned field, const char *s, size_t n)
{
    static const uint64_t one = 1;
    k[0] = 'c';
    k[1] = (uint8_t)field;
    size_t kl = 2 + st_ix_enc_str(k + 2, s, n, NULL);
    return sk->stat(sk->ctx, ST_T_STATS, k, kl, &one, 1);
}

static int emit_tool(const ix_sink *sk, const st_ix_facts *f, uint8_t *k, const uint8_t ti[16])
{
    int rc;
    /* IX_TOOL value: u8 flags, u64 duration, u8 status length, status, [whole tool if cut] */
    uint8_t pv[10 + 255];
    size_t sl = f->status_len > 255 ? 255 : f->status_len;
    pv[0] = f->has_duration ? 1 : 0;
    st_be64_put(pv + 1, f->duration_ms);
    pv[9] = (uint8_t)sl;
    if (sl) memcpy(pv + 10, f->status, sl);
    if ((rc = emit_str_row(sk, ST_T_IX_TOOL, k, 0, f->tool, f->tool_len, ti, pv, 10 + sl)))   /* counted by the 'a' row */
        return rc;
    uint64_t agg[ST_IXA__COUNT] = { 0 };
    int ok = is_str(f->status, f->status_len, "succeeded");
    int calls = ok || is_str(f->status, f->status_len, "failed") || is_str(f->status, f->status_len, "interrupted");
    agg[ST_IXA_ENTRIES] = 1;
    agg[ST_IXA_CALLS] = (uint64_t)calls;
    agg[ST_IXA_FAILURES] = (uint64_t)(calls && !ok);
    agg[ST_IXA_DENIED] = (uint64_t)is_str(f->status, f->status_len, "denied");
    if (f->has_duration) {
        agg[ST_IXA_DUR_N] = 1;
        agg[ST_IXA_DUR_TOTAL] = f->duration_ms;
        agg[ST_IXA_DUR_MAX] = f->duration_ms;
    }
    k[0] = 'a';
    size_t kl = 1 + st_ix_enc_str(k + 1, f->tool, f->tool_len, NULL);
    if ((rc = sk->stat(sk->ctx, ST_T_STATS, k, kl, agg, ST_IXA__COUNT))) return rc;
    if (!f->has_duration) return 0;
    k[0] = 'h';
    unsigned b = st_ix_bucket(f->duration_ms);
    k[kl++] = (uint8_t)(b >> 8);
    k[kl++] = (uint8_t)b;
    uint64_t h[3] = { 1, f->duration_ms, f->duration_ms };   /* count, min, max */
    return sk->stat(sk->ctx, ST_T_STATS, k, kl, h, 3);
}

int ix_emit_path_rows(const ix_sink *sk, const uint8_t ti[16], const uint8_t *paths, size_t paths_len, size_t npaths)
{
    static const uint64_t one = 1;
    uint8_t k[8 + ST_IX_ENC_MAX + 32];
    size_t off = 0;
    int rc;
    for (size_t i = 0; i < npaths; i++) {
        if (off + 2 > paths_len) return ST_EINVAL;
        size_t l = ((size_t)paths[off] << 8) | paths[off + 1];
        if (off + 2 + l > paths_len) return ST_EINVAL;
        const char *p = (const char *)paths + off + 2;
        off += 2 + l;
        k[0] = 'p';
        if ((rc = emit_str_row(sk, ST_T_IX_PATH, k, 1, p, l, ti, NULL, 0))) return rc;
        k[0] = 'd';
        size_t kl = 1 + st_ix_enc_str(k + 1, p, l, NULL);
        if ((rc = sk->stat(sk->ctx, ST_T_IX_PATH, k, kl, &one, 1))) return rc;
    }
    return 0;
}

/* The 'i' row (T, then the paths) and, unless deferred, the 'p' and 'd' rows. */
static int emit_paths(const ix_sink *sk, const uint8_t *paths, size_t paths_len, size_t npaths, const uint8_t ti[16])
{
    uint8_t k[9], small[512];
    int rc;
    if (npaths == 0) return 0;
    if (!sk->defer_paths && (rc = ix_emit_path_rows(sk, ti, paths, paths_len, npaths))) return rc;
    uint8_t *v = paths_len + 8 <= sizeof small ? small : malloc(paths_len + 8);
    if (!v) return ENOMEM;
    memcpy(v, ti, 8);
    memcpy(v + 8, paths, paths_len);
    k[0] = 'i';
    memcpy(k + 1, ti + 8, 8);
    rc = sk->row(sk->ctx, ST_T_IX_PATH, k, 9, v, paths_len + 8);
    if (v != small) free(v);
    return rc;
}

int ix_emit(const st_ix_facts *f, const uint8_t *paths, size_t paths_len, size_t npaths, const ix_sink *sk)
{
    uint8_t k[8 + ST_IX_ENC_MAX + 32];
    uint8_t ti[16];
    int rc;
    st_be64_put(ti, st_ix_time_key(f->time_us));
    st_be64_put(ti + 8, f->index);

    uint8_t small[512];                         /* the usual summary: no allocation */
    sum_strs strs;
    sum_strs_of(&strs, f);
    size_t sl = summary_len(&strs);
    uint8_t *sum = sl <= sizeof small ? small : malloc(sl);
    if (!sum) return ENOMEM;
    summary_encode(sum, f, &strs);
    rc = sk->row(sk->ctx, ST_T_IX_TIME, ti, 16, sum, sl);
    if (sum != small) free(sum);
    if (rc) return rc;

    if (f->tool && (rc = emit_tool(sk, f, k, ti))) return rc;
    /* Event and duration have no tables of their own (layout 2): they are
     * few values each, so their rows only duplicated the time index, whose
     * summary carries them for every filter. Status is indexed only for the
     * rare values (failures, denials...), which a filter should find without
     * reading every summary. */
    if (f->status && !st_ix_status_common(f->status, f->status_len) &&
        ((rc = emit_str_row(sk, ST_T_IX_STATUS, k, 0, f->status, f->status_len, ti, NULL, 0)) ||
         (rc = emit_counter(sk, k, ST_IXF_STATUS, f->status, f->status_len))))
        return rc;
    if (f->session && ((rc = emit_str_row(sk, ST_T_IX_SESSION, k, 0, f->session, f->session_len, ti, NULL, 0)) ||
                       (rc = emit_counter(sk, k, ST_IXF_SESSION, f->session, f->session_len))))
        return rc;
    if (f->tool_use_id_len && f->tool_use_id_len <= 480 && is_str(f->event, f->event_len, "PreToolUse") &&
        (rc = sk->tooluse(sk->ctx, (const uint8_t *)f->tool_use_id, f->tool_use_id_len, f->index, f->time_us)))
        return rc;
    return emit_paths(sk, paths, paths_len, npaths, ti);
}

/* Sums saturate at 2^64 - 1: a few thousand hostile durations near 2^53 ms
 * must not wrap a tool's total back to a small number. */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

void ix_merge(const uint8_t *key, uint64_t *cur, const uint64_t *delta, size_t n)
{
    if (key[0] == 'h' && n == 3) {              /* histogram bucket: count, min, max */
        cur[1] = cur[0] == 0 || delta[1] < cur[1] ? delta[1] : cur[1];
        cur[2] = delta[2] > cur[2] ? delta[2] : cur[2];
        cur[0] = sat_add(cur[0], delta[0]);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (key[0] == 'a' && i == ST_IXA_DUR_MAX)
            cur[i] = delta[i] > cur[i] ? delta[i] : cur[i];
        else
            cur[i] = sat_add(cur[i], delta[i]);
    }
}

/* ---- the write sink (append and rebuild) ------------------------------------ */

static int put_row(void *ctx, st_table t, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    static const uint8_t empty[1] = { 0 };
    const void *val = v ? (const void *)v : (const void *)empty;
    if (t == ST_T_IX_TIME) {
        /* Time keys of new entries nearly always sort last: an append fills
         * pages (LMDB splits them in half for any other insert). */
        int rc = st_db_put(ctx, t, k, kl, val, vl, ST_PUT_APPEND);
        if (rc != ST_EEXIST) return rc;
    }
    return st_db_put(ctx, t, k, kl, val, vl, 0);
}

static int put_stat(void *ctx, st_table t, const uint8_t *k, size_t kl, const uint64_t *delta, size_t n)
{
    uint64_t cur[ST_IXA__COUNT] = { 0 };
    uint8_t out[8 * ST_IXA__COUNT];
    const void *v;
    size_t vl;
    int rc = st_db_get(ctx, t, k, kl, &v, &vl);
    if (rc == 0) {
        if (vl != 8 * n) return ST_ECORRUPT;
        for (size_t i = 0; i < n; i++) cur[i] = st_be64_get((const uint8_t *)v + 8 * i);
    } else if (rc != ST_ENOTFOUND) {
        return rc;
    }
    ix_merge(k, cur, delta, n);
    for (size_t i = 0; i < n; i++) st_be64_put(out + 8 * i, cur[i]);
    return st_db_put(ctx, t, k, kl, out, 8 * n, 0);
}

static int put_tooluse(void *ctx, const uint8_t *k, size_t kl, uint64_t index, int64_t time_us)
{
    uint8_t v[16];
    st_be64_put(v, index);
    st_be64_put(v + 8, (uint64_t)time_us);
    return st_db_put(ctx, ST_T_IX_TOOLUSE, k, kl, v, 16, 0);
}

int st_ix_entry_prepare(st_ix_entry *e, const st_json *envelope, const st_json *tool_input)
{
    int rc = st_ix_facts_from_envelope(&e->f, envelope);
    if (rc) return rc;
    const char *cwd;
    size_t cwd_len;
    get_str(envelope, "cwd", &cwd, &cwd_len);
    st_buf_reset(&e->paths);
    e->npaths = st_ix_paths(&e->paths, e->f.tool, e->f.tool_len, cwd, cwd_len, tool_input);
    return e->paths.oom ? ENOMEM : 0;
}

void st_ix_entry_free(st_ix_entry *e)
{
    st_buf_free(&e->paths);
}

/* ---- the layout marker ------------------------------------------------------------ */

int st_index_layout_ok(st_txn *txn, st_err *err)
{
    uint64_t size = 0, layout = 0;
    int rc = st_size_txn(txn, &size);
    if (rc == ST_ENOTFOUND) size = 0;
    else if (rc) return rc;
    rc = st_meta_get_u64(txn, ST_META_INDEX_LAYOUT, &layout);
    if (rc && rc != ST_ENOTFOUND) return rc;
    if (size == 0 || layout == ST_INDEX_LAYOUT) return 0;
    if (rc == ST_ENOTFOUND) layout = 1;
    return st_fail(err, ST_EFORMAT,
                   "the indexes are in layout %llu (an older release), this release reads layout %u: run 'sealtrail reindex'",
                   (unsigned long long)layout, ST_INDEX_LAYOUT);
}

/* Entry 0 marks a new log's indexes with the current layout; a log whose
 * entry 0 was indexed by an older release stays unmarked until reindex. */
static int mark_layout(st_txn *txn, uint64_t index)
{
    return index == 0 ? st_meta_put_u64(txn, ST_META_INDEX_LAYOUT, ST_INDEX_LAYOUT) : 0;
}

int st_index_add(st_txn *txn, uint64_t index, const st_json *envelope, const st_json *tool_input)
{
    st_ix_entry e = { 0 };
    int rc = st_ix_entry_prepare(&e, envelope, tool_input);
    if (rc == 0 && e.f.index != index) rc = ST_EINVAL;
    if (rc == 0) rc = mark_layout(txn, index);
    uint64_t merged = index;
    if (rc == 0 && e.npaths) rc = st_ix_paths_merged(txn, index, &merged);   /* rows pending: this one's too */
    if (rc == 0) {
        ix_sink sk = { put_row, put_stat, put_tooluse, txn, merged < index };
        rc = ix_emit(&e.f, e.paths.data, e.paths.len, e.npaths, &sk);
    }
    st_ix_entry_free(&e);
    return rc;
}

/* ---- batches: rows now, aggregates summed and written once per distinct row ---- */

struct st_ix_batch {
    st_txn *txn;
    ix_agg_map aggs;
    ix_rows rows;           /* plain rows other than time rows, written in key order at the flush */
    int defer;              /* path rows of this batch stay pending */
    uint64_t merged;        /* first pending entry (when defer) */
    uint64_t end;           /* one past the last entry added */
};

st_ix_batch *st_ix_batch_new(void) { return calloc(1, sizeof(st_ix_batch)); }

void st_ix_batch_free(st_ix_batch *b)
{
    if (!b) return;
    ix_agg_free(&b->aggs);
    ix_rows_free(&b->rows);
    free(b);
}

/* Time rows append, so they go in at once; the others wait for the batch's
 * flush, to go in key order (index_rows.c). */
static int batch_row(void *ctx, st_table t, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    st_ix_batch *b = ctx;
    if (t == ST_T_IX_TIME) return put_row(b->txn, t, k, kl, v, vl);
    int rc = ix_rows_add(&b->rows, t, k, kl, v, vl);
    if (rc == 0 && b->rows.buf.len >= IX_ROWS_FLUSH_BYTES) rc = ix_rows_flush(&b->rows, b->txn);
    return rc;
}

static int batch_stat(void *ctx, st_table t, const uint8_t *k, size_t kl, const uint64_t *delta, size_t n)
{
    return ix_agg_add(&((st_ix_batch *)ctx)->aggs, t, k, kl, delta, n);
}

static int batch_tooluse(void *ctx, const uint8_t *k, size_t kl, uint64_t index, int64_t time_us)
{
    return put_tooluse(((st_ix_batch *)ctx)->txn, k, kl, index, time_us);
}

int st_ix_paths_merged(st_txn *txn, uint64_t size, uint64_t *merged)
{
    int rc = st_meta_get_u64(txn, ST_META_IX_PATH_MERGED, merged);
    if (rc == ST_ENOTFOUND) {
        *merged = size;
        return 0;
    }
    if (rc) return rc;
    return *merged <= size ? 0 : ST_ECORRUPT;
}

int st_ix_batch_begin(st_txn *txn, st_ix_batch *b, uint64_t size, int defer)
{
    uint64_t merged;
    int rc = st_ix_paths_merged(txn, size, &merged);
    if (rc) return rc;
    ix_agg_reset(&b->aggs);
    ix_rows_reset(&b->rows);
    b->txn = txn;
    b->defer = defer || merged < size;
    b->merged = merged;
    b->end = size;
    if (b->defer && merged == size) return st_meta_put_u64(txn, ST_META_IX_PATH_MERGED, size);
    return 0;
}

/* What adding entry e to batch b does before its rows: the batch's transaction, layout marker and end. */
static int batch_enter(st_txn *txn, st_ix_batch *b, const st_ix_entry *e)
{
    if ((b->aggs.used || b->rows.n) && b->txn != txn) return ST_EINVAL;   /* unflushed rows of another transaction */
    b->txn = txn;
    int rc = mark_layout(txn, e->f.index);
    if (rc == 0 && e->f.index >= b->end) b->end = e->f.index + 1;
    return rc;
}

int st_index_add_entry(st_txn *txn, st_ix_batch *b, const st_ix_entry *e)
{
    int rc = batch_enter(txn, b, e);
    if (rc) return rc;
    ix_sink sk = { batch_row, batch_stat, batch_tooluse, b, b->defer };
    return ix_emit(&e->f, e->paths.data, e->paths.len, e->npaths, &sk);
}

/* ---- rows recorded ahead of the transaction ------------------------------------------
 * A record per row, in emission order:
 *   'R' u8 table, u16 klen, u32 vlen, key, value      a plain row
 *   'S' u8 table, u16 klen, u8 n, u64 hash, key, n x u64 (host order)   an aggregate delta
 *   'U' u16 klen, u64 index, i64 time_us, key          a tool_use_id row */

static void rec_u16(st_buf *b, size_t v) { uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v }; st_buf_put(b, x, 2); }

static int rec_row(void *ctx, st_table t, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    st_buf *b = ctx;
    uint8_t h[2 + 4] = { 'R', (uint8_t)t };
    if (kl > 0xffff || vl > 0xffffffffu) return ST_EINVAL;
    st_buf_put(b, h, 2);
    rec_u16(b, kl);
    st_be32_put(h, (uint32_t)vl);
    st_buf_put(b, h, 4);
    st_buf_put(b, k, kl);
    if (vl) st_buf_put(b, v, vl);
    return b->oom ? ENOMEM : 0;
}

static int rec_stat(void *ctx, st_table t, const uint8_t *k, size_t kl, const uint64_t *delta, size_t n)
{
    st_buf *b = ctx;
    uint8_t h[2] = { 'S', (uint8_t)t };
    if (kl > 0xffff || n > ST_IXA__COUNT) return ST_EINVAL;
    uint64_t hash = ix_agg_hash(t, k, kl);
    st_buf_put(b, h, 2);
    rec_u16(b, kl);
    st_buf_putc(b, (uint8_t)n);
    st_buf_put(b, &hash, 8);
    st_buf_put(b, k, kl);
    st_buf_put(b, delta, 8 * n);
    return b->oom ? ENOMEM : 0;
}

static int rec_tooluse(void *ctx, const uint8_t *k, size_t kl, uint64_t index, int64_t time_us)
{
    st_buf *b = ctx;
    if (kl > 0xffff) return ST_EINVAL;
    st_buf_putc(b, 'U');
    rec_u16(b, kl);
    st_buf_put(b, &index, 8);
    st_buf_put(b, &time_us, 8);
    st_buf_put(b, k, kl);
    return b->oom ? ENOMEM : 0;
}

int st_ix_rows_record(st_buf *out, const st_ix_entry *e, int defer)
{
    st_buf_reset(out);
    ix_sink sk = { rec_row, rec_stat, rec_tooluse, out, defer };
    int rc = ix_emit(&e->f, e->paths.data, e->paths.len, e->npaths, &sk);
    return rc ? rc : out->oom ? ENOMEM : 0;
}

int st_index_add_recorded(st_txn *txn, st_ix_batch *b, const st_ix_entry *e, const st_buf *rows, int defer)
{
    if (defer != b->defer) return st_index_add_entry(txn, b, e);
    int rc = batch_enter(txn, b, e);
    if (rc) return rc;
    const uint8_t *p = rows->data, *end = rows->data + rows->len;
    while (rc == 0 && p < end) {
        size_t kl, vl, n;
        uint64_t h, index, d[ST_IXA__COUNT];
        int64_t t;
        switch (p[0]) {
        case 'R':
            kl = (size_t)p[2] << 8 | p[3];
            vl = st_be32_get(p + 4);
            rc = batch_row(b, (st_table)p[1], p + 8, kl, vl ? p + 8 + kl : NULL, vl);
            p += 8 + kl + vl;
            break;
        case 'S':
            kl = (size_t)p[2] << 8 | p[3];
            n = p[4];
            memcpy(&h, p + 5, 8);
            memcpy(d, p + 13 + kl, 8 * n);
            rc = ix_agg_add_hashed(&b->aggs, (st_table)p[1], p + 13, kl, d, n, h);
            p += 13 + kl + 8 * n;
            break;
        case 'U':
            kl = (size_t)p[1] << 8 | p[2];
            memcpy(&index, p + 3, 8);
            memcpy(&t, p + 11, 8);
            rc = put_tooluse(txn, p + 19, kl, index, t);
            p += 19 + kl;
            break;
        default:
            return ST_EINVAL;
        }
    }
    return rc;
}

int st_ix_batch_flush(st_txn *txn, st_ix_batch *b)
{
    int rc = ix_rows_flush(&b->rows, txn);
    if (rc == 0 && b->aggs.used) rc = ix_agg_flush(&b->aggs, txn);
    if (rc) ix_agg_reset(&b->aggs);
    if (rc == 0 && b->defer && b->end - b->merged >= ST_IX_PATH_PENDING_MAX) rc = st_ix_paths_merge(txn, b->end);
    return rc;
}

void st_ix_batch_discard(st_ix_batch *b)
{
    ix_agg_reset(&b->aggs);
    ix_rows_reset(&b->rows);
}

/* ---- merging the pending path rows ------------------------------------------------ */

/* The pending 'i' rows are copied out first, a chunk of at most
 * chunk_bytes at a time (and at least one row): inserting into the table a
 * cursor walks would move it, and the rows of 262144 entries that name many
 * long paths would not fit in memory at once; so are the sums of
 * distinct-path counts once their keys take as much. Each chunk's rows are
 * put in key order; a later chunk dirties the same pages again, which
 * within one transaction costs searches, not writes. */
int st_ix_paths_merge_chunked(st_txn *txn, uint64_t size, size_t chunk_bytes)
{
    uint64_t merged;
    int rc = st_ix_paths_merged(txn, size, &merged);
    if (rc || merged == size) {
        if (rc == 0) rc = st_db_del(txn, ST_T_META, ST_META_IX_PATH_MERGED, strlen(ST_META_IX_PATH_MERGED));
        return rc == ST_ENOTFOUND ? 0 : rc;
    }
    st_buf rows = { 0 };       /* (u64 I, u32 len, T ‖ paths)* */
    st_ix_batch b = { .txn = txn };
    ix_sink sk = { batch_row, batch_stat, batch_tooluse, &b, 0 };
    uint64_t next = merged;    /* the first pending entry not yet read */
    int more = 1;
    while (rc == 0 && more) {
        st_cursor *c;
        const void *k, *v;
        size_t kl, vl;
        uint8_t key[9];
        key[0] = 'i';
        st_be64_put(key + 1, next);
        st_buf_reset(&rows);
        if ((rc = st_cursor_open(txn, ST_T_IX_PATH, &c)) != 0) break;
        more = 0;
        for (rc = st_cursor_seek(c, key, 9, &k, &kl, &v, &vl); rc == 0; rc = st_cursor_next(c, &k, &kl, &v, &vl)) {
            const uint8_t *kb = k;
            if (kl != 9 || kb[0] != 'i' || st_be64_get(kb + 1) >= size) break;
            if (rows.len && rows.len + 12 + vl > chunk_bytes) {
                more = 1;          /* this row starts the next chunk */
                break;
            }
            if (vl < 8) { rc = ST_ECORRUPT; break; }
            uint8_t h[12];
            next = st_be64_get(kb + 1) + 1;
            st_be64_put(h, next - 1);
            st_be32_put(h + 8, (uint32_t)vl);
            st_buf_put(&rows, h, 12);
            st_buf_put(&rows, v, vl);
        }
        st_cursor_close(c);
        if (rc == ST_ENOTFOUND) rc = 0;
        if (rc == 0 && rows.oom) rc = ENOMEM;
        for (size_t off = 0; rc == 0 && off < rows.len;) {
            const uint8_t *r = rows.data + off;
            size_t len = st_be32_get(r + 8);
            uint8_t ti[16];
            memcpy(ti, r + 12, 8);           /* T */
            memcpy(ti + 8, r, 8);            /* I */
            const uint8_t *paths = r + 20;
            size_t plen = len - 8, np = 0;
            for (size_t p = 0; p + 2 <= plen; np++) p += 2 + (((size_t)paths[p] << 8) | paths[p + 1]);
            rc = ix_emit_path_rows(&sk, ti, paths, plen, np);
            off += 12 + len;
        }
        if (rc == 0) rc = ix_rows_flush(&b.rows, txn);
        /* the distinct-path counts too, once their keys fill a chunk (many distinct paths) */
        if (rc == 0 && b.aggs.keys.len >= chunk_bytes) rc = ix_agg_flush(&b.aggs, txn);
    }
    st_buf_free(&rows);
    if (rc == 0 && b.aggs.used) rc = ix_agg_flush(&b.aggs, txn);
    ix_agg_free(&b.aggs);
    ix_rows_free(&b.rows);
    if (rc == 0) rc = st_db_del(txn, ST_T_META, ST_META_IX_PATH_MERGED, strlen(ST_META_IX_PATH_MERGED));
    return rc;
}

int st_ix_paths_merge(st_txn *txn, uint64_t size)
{
    return st_ix_paths_merge_chunked(txn, size, IX_MERGE_CHUNK_BYTES);
}

/* ---- tool_use_id lookup --------------------------------------------------------- */

int st_index_find_tooluse_time(st_txn *txn, const char *id, size_t len, uint64_t *index_out, int64_t *time_us_out)
{
    const void *v;
    size_t vl;
    if (len == 0 || len > 480) return ST_ENOTFOUND;
    int rc = st_db_get(txn, ST_T_IX_TOOLUSE, id, len, &v, &vl);
    if (rc) return rc;
    if (vl != 16) return ST_ECORRUPT;
    if (index_out) *index_out = st_be64_get(v);
    if (time_us_out) *time_us_out = (int64_t)st_be64_get((const uint8_t *)v + 8);
    return 0;
}

int st_index_find_tooluse(st_txn *txn, const char *id, size_t len, uint64_t *index_out)
{
    return st_index_find_tooluse_time(txn, id, len, index_out, NULL);
}

/* ---- loading a stored entry (rebuild, check) ------------------------------------- */

int ix_load_entry(st_txn *txn, uint64_t index, st_json_doc **doc_out, st_ix_facts *f, st_buf *pbuf, size_t *npaths,
                  st_err *err)
{
    *doc_out = NULL;
    *npaths = 0;
    st_entry e;
    int rc = st_entry_load(txn, index, "entry", &e, err);
    if (rc == ST_ENOTFOUND) return st_fail(err, ST_ECORRUPT, "entry %llu: missing", (unsigned long long)index);
    if (rc) return rc;
    if (e.index != index) {
        st_entry_free(&e);
        return st_fail(err, ST_ECORRUPT, "entry %llu: index member is %llu", (unsigned long long)index,
                       (unsigned long long)e.index);
    }
    if ((rc = st_ix_facts_from_envelope(f, e.root)) != 0) {
        st_entry_free(&e);
        return st_fail(err, ST_ECORRUPT, "entry %llu: envelope lacks index or time_us", (unsigned long long)index);
    }
    const char *cwd;
    size_t cwd_len;
    get_str(e.root, "cwd", &cwd, &cwd_len);
    st_json_doc *pdoc = NULL;
    const st_json *ti = NULL;
    if (st_entry_find_payload(&e, "tool_input")) {
        uint8_t salt[ST_SALT_BYTES];
        uint8_t *data = NULL;
        size_t dl = 0;
        rc = st_payload_read(txn, index, "tool_input", salt, &data, &dl);
        if (rc == 0) {
            st_json_opts o = { .flags = ST_JSON_ALLOW_WS | ST_JSON_LENIENT_UTF8 | ST_JSON_ALLOW_DUP_KEYS };
            if (st_json_parse(&pdoc, (const char *)data, dl, &o, NULL, NULL) == 0) ti = st_json_doc_root(pdoc);
            free(data);
        } else if (rc != ST_ENOTFOUND) {
            st_entry_free(&e);
            return st_fail(err, rc, "entry %llu: tool_input payload unreadable", (unsigned long long)index);
        }
    }
    *npaths = st_ix_paths(pbuf, f->tool, f->tool_len, cwd, cwd_len, ti);
    st_json_doc_free(pdoc);
    *doc_out = e.doc;
    e.doc = NULL;
    st_entry_free(&e);
    return pbuf->oom ? ENOMEM : 0;
}

/* ---- rebuild --------------------------------------------------------------------- */

/* Every table the indexes own, including the event, status and duration
 * tables of layout 1 and the tool and session tables of layouts 1..3
 * (emptied by reindex, checked to be empty). */
static const st_table ix_tables[] = { ST_T_IX_TIME, ST_T_IX_TOOL, ST_T_IX_EVENT, ST_T_IX_SESSION, ST_T_IX_STATUS,
                                      ST_T_IX_PATH, ST_T_IX_DURATION, ST_T_IX_TOOLUSE, ST_T_STATS,
                                      ST_T_IX_TOOL_L3, ST_T_IX_SESSION_L3 };

int st_index_rebuild(st_txn *txn, uint64_t size, st_index_progress_fn progress, void *pctx, st_err *err)
{
    int rc;
    for (size_t i = 0; i < sizeof ix_tables / sizeof ix_tables[0]; i++)
        if ((rc = st_db_clear(txn, ix_tables[i])) != 0) return st_fail(err, rc, "cannot clear index table %zu", i);
    /* Aggregates are summed in memory over the whole log and written once. */
    st_ix_batch b = { .txn = txn };
    ix_sink sk = { batch_row, batch_stat, batch_tooluse, &b, 0 };
    st_buf paths = { 0 };
    for (uint64_t i = 0; i < size; i++) {
        st_json_doc *doc;
        st_ix_facts f;
        size_t np;
        st_buf_reset(&paths);
        if ((rc = ix_load_entry(txn, i, &doc, &f, &paths, &np, err)) != 0) break;
        rc = ix_emit(&f, paths.data, paths.len, np, &sk);
        st_json_doc_free(doc);
        if (rc) {
            st_fail(err, rc, "entry %llu: writing index rows failed", (unsigned long long)i);
            break;
        }
        if (progress && (i + 1) % 4096 == 0) progress(pctx, i + 1, size);
    }
    st_buf_free(&paths);
    if (rc == 0 && (rc = ix_rows_flush(&b.rows, txn)) != 0) st_fail(err, rc, "writing the index rows failed");
    ix_rows_free(&b.rows);
    if (rc == 0 && (rc = ix_agg_flush(&b.aggs, txn)) != 0) st_fail(err, rc, "writing the aggregate rows failed");
    if (rc == 0 && (rc = st_meta_put_u64(txn, ST_META_INDEX_LAYOUT, ST_INDEX_LAYOUT)) != 0)
        st_fail(err, rc, "cannot record the index layout");
    if (rc == 0) {
        rc = st_db_del(txn, ST_T_META, ST_META_IX_PATH_MERGED, strlen(ST_META_IX_PATH_MERGED));
        if (rc == ST_ENOTFOUND) rc = 0;
        if (rc) st_fail(err, rc, "cannot clear the pending path marker");
    }
    ix_agg_free(&b.aggs);
    if (rc == 0 && progress) progress(pctx, size, size);
    return rc;
}
