/*
 * export.c: lays out a bundle (docs/FORMAT.md section 6 [BUNDLE-3]) from a source and
 * a plan, streaming every record through the bundle writer:
 *
 *   MANIFEST, KEY*, KEYNOTE* (the key history), CHECKPOINT+ (ascending), CONSISTENCY between each
 *   consecutive pair, [PREVIOUS + CONSISTENCY to the final checkpoint],
 *   (SUPPORT + INCLUSION)* for the records that explain absent payloads and
 *   the retention policy in force, [FRONTIER at begin], per entry: ENTRY
 *   [INCLUSION for filtered selections] (PAYLOAD | ABSENT)*, [RIGHT from end
 *   to the final size], TRAILER.
 *
 * Which checkpoints: for a contiguous selection [begin, end), every
 * checkpoint of size in (begin, end], the first one at or after end (it
 * seals the last entry) and the latest (the final one). For a filtered
 * selection, the one sealing its last entry and the latest.
 */
#include "export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "sealtrail.h"

typedef struct sizes {
    uint64_t *v;
    size_t n, cap;
} sizes;

static int sizes_add(sizes *s, uint64_t x)
{
    if (s->n && s->v[s->n - 1] == x) return 0;      /* added in ascending order: dedup the tail */
    uint64_t *p = st_array_room(s->v, &s->cap, s->n, sizeof *p, 64);
    if (!p) return ENOMEM;
    s->v = p;
    s->v[s->n++] = x;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The sorted, distinct checkpoint sizes the bundle carries. */
static int pick_checkpoints(const st_export_src *src, const st_export_plan *p, sizes *out, st_err *err)
{
    int rc;
    uint64_t sz;
    char *note = NULL;
    size_t len;
    int contiguous = p->kind != ST_SEL_FILTER;
    uint64_t last_end = contiguous ? p->end : (p->nindices ? p->indices[p->nindices - 1] + 1 : 0);
    if (contiguous && p->end > p->begin) {
        uint64_t at = p->begin + 1;
        while (at <= p->end) {
            rc = src->checkpoint(src->ctx, at, ST_CP_AT_LEAST, &sz, &note, &len);
            free(note);
            note = NULL;
            if (rc == ST_ENOTFOUND || (rc == 0 && sz > p->end)) break;
            if (rc) return st_fail(err, rc, "checkpoint at least %llu: %s", (unsigned long long)at, st_strerror(rc));
            if ((rc = sizes_add(out, sz))) return rc;
            if (out->n > ST_BUNDLE_MAX_CHECKPOINTS)
                return st_fail(err, ST_ETOOBIG, "more than %llu checkpoints in the selection: export a smaller range",
                               (unsigned long long)ST_BUNDLE_MAX_CHECKPOINTS);
            at = sz + 1;
        }
    }
    /* the checkpoint that seals the last selected entry */
    rc = src->checkpoint(src->ctx, last_end, ST_CP_AT_LEAST, &sz, &note, &len);
    free(note);
    note = NULL;
    if (rc) return st_fail(err, rc == ST_ENOTFOUND ? ST_ENOTSEALED : rc,
                           "no checkpoint covers entry %llu: seal first", (unsigned long long)last_end);
    if (sz > p->final_size)
        return st_fail(err, ST_EINVAL, "checkpoint %llu is newer than the final size %llu", (unsigned long long)sz,
                       (unsigned long long)p->final_size);
    if ((rc = sizes_add(out, sz))) return rc;
    if ((rc = sizes_add(out, p->final_size))) return rc;
    qsort(out->v, out->n, sizeof *out->v, cmp_u64);
    size_t k = 0;
    for (size_t i = 0; i < out->n; i++)
        if (k == 0 || out->v[i] != out->v[k - 1]) out->v[k++] = out->v[i];
    out->n = k;
    return 0;
}

/* ---- support entries: records that explain absences, and the policy ---------- */

typedef struct abs_ctx {
    sizes recs;
    const st_export_plan *p;
    size_t cursor;          /* filter: position in p->indices */
} abs_ctx;

/* Adds a supporting record's index (sorted and deduplicated later). */
static int push_rec(abs_ctx *a, uint64_t record)
{
    if (a->recs.n && a->recs.v[a->recs.n - 1] == record) return 0;   /* repeats (an archive) */
    if (a->recs.n == a->recs.cap) {
        size_t ncap = a->recs.cap ? a->recs.cap * 2 : 64;
        uint64_t *v = realloc(a->recs.v, ncap * sizeof *v);
        if (!v) return ENOMEM;
        a->recs.v = v;
        a->recs.cap = ncap;
    }
    a->recs.v[a->recs.n++] = record;
    return 0;
}

static int on_absence(void *fctx, uint64_t index, const char *name, uint64_t record)
{
    abs_ctx *a = fctx;
    (void)name;
    if (a->p->kind == ST_SEL_FILTER) {     /* only absences of selected entries */
        while (a->cursor < a->p->nindices && a->p->indices[a->cursor] < index) a->cursor++;
        if (a->cursor >= a->p->nindices || a->p->indices[a->cursor] != index) return 0;
    }
    return push_rec(a, record);
}

static int pick_supports(const st_export_src *src, const st_export_plan *p, sizes *out, st_err *err)
{
    abs_ctx a = { { NULL, 0, 0 }, p, 0 };
    if (p->end > p->begin) {
        int rc = src->absences(src->ctx, p->begin, p->end, on_absence, &a);
        if (rc) {
            free(a.recs.v);
            return st_fail(err, rc, "listing absent payloads: %s", st_strerror(rc));
        }
    }
    /* The retention policy in force, for every kind of selection (a filter
     * selects entries, never the policy away). */
    if (p->policy_index >= 0 && push_rec(&a, (uint64_t)p->policy_index) != 0) {
        free(a.recs.v);
        return ENOMEM;
    }
    /* keys (issue 5): every key note's entry, so its place in the log is proven */
    for (size_t i = 0; i < p->nkeynotes; i++) {
        if (push_rec(&a, p->keynote_index[i]) != 0) {
            free(a.recs.v);
            return ENOMEM;
        }
    }
    if (a.recs.n) qsort(a.recs.v, a.recs.n, sizeof *a.recs.v, cmp_u64);
    size_t k = 0;
    for (size_t i = 0; i < a.recs.n; i++)
        if (k == 0 || a.recs.v[i] != a.recs.v[k - 1]) a.recs.v[k++] = a.recs.v[i];
    a.recs.n = k;
    if (k > ST_BUNDLE_MAX_SUPPORTS) {
        free(a.recs.v);
        return st_fail(err, ST_ETOOBIG, "%zu records explain absent payloads (at most %u per bundle): export a "
                       "smaller range", k, ST_BUNDLE_MAX_SUPPORTS);
    }
    for (size_t i = 0; i < k; i++)
        if (a.recs.v[i] >= p->final_size) {
            uint64_t r = a.recs.v[i];
            free(a.recs.v);
            return st_fail(err, ST_ENOTSEALED, "record %llu (which explains an absent payload) is not sealed yet",
                           (unsigned long long)r);
        }
    *out = a.recs;
    return 0;
}

/* ---- the manifest [BUNDLE-6] ---------------------------------------------------------------- */

static int write_manifest(const st_export_plan *p, size_t ncp, st_bundle_writer *w, st_err *err)
{
    st_json_doc *doc = st_json_doc_new();
    if (!doc) return ENOMEM;
    st_json *m = st_json_new_object(doc);
    uint64_t entries = p->kind == ST_SEL_FILTER ? p->nindices : p->end - p->begin;
    int bad = !m;
#define ADD(k, val) bad |= (val) == NULL || st_json_object_add(doc, m, k, strlen(k), (val)) != 0
    ADD("begin", st_json_new_int(doc, (int64_t)p->begin));
    ADD("checkpoints", st_json_new_int(doc, (int64_t)ncp));
    ADD("created_us", st_json_new_int(doc, p->created_us));
    ADD("end", st_json_new_int(doc, (int64_t)p->end));
    ADD("entries", st_json_new_int(doc, (int64_t)entries));
    ADD("exporter", st_json_new_str(doc, p->exporter ? p->exporter : "sealtrail " SEALTRAIL_VERSION_STRING));
    ADD("final_size", st_json_new_int(doc, (int64_t)p->final_size));
    ADD("origin", st_json_new_str(doc, p->origin));
    if (p->previous_note) ADD("previous_size", st_json_new_int(doc, (int64_t)p->previous_size));
    ADD("selection", st_json_clone(doc, p->selection));
    ADD("v", st_json_new_int(doc, ST_BUNDLE_VERSION));
#undef ADD
    st_buf out = { 0 };
    if (!bad) st_json_write(&out, m, ST_JSON_SORT_KEYS);
    st_json_doc_free(doc);
    if (bad || out.oom) {
        st_buf_free(&out);
        return ENOMEM;
    }
    if (out.len > ST_BREC_MANIFEST_MAX) {
        st_buf_free(&out);
        return st_fail(err, ST_ETOOBIG, "manifest of %zu bytes (the filter is too long)", out.len);
    }
    int rc = st_bw_manifest(w, out.data, out.len);
    st_buf_free(&out);
    return rc;
}

/* ---- entries and payloads -------------------------------------------------------------------- */

typedef struct pay_ctx {
    st_bundle_writer *w;
    uint64_t index;
    st_export_stats *stats;
} pay_ctx;

static int on_payload(void *fctx, const char *name, int present, const uint8_t *bytes, size_t len,
                      const uint8_t salt[ST_SALT_BYTES], uint64_t record)
{
    pay_ctx *c = fctx;
    if (present) {
        c->stats->payloads++;
        return st_bw_payload(c->w, c->index, name, salt, bytes, len);
    }
    c->stats->absent++;
    return st_bw_absent(c->w, c->index, name, record);
}

static int write_proof(const st_export_src *src, st_bundle_writer *w, uint8_t type, uint64_t a, uint64_t b,
                       st_err *err)
{
    st_hash *h = NULL;
    size_t n = 0;
    int rc = type == ST_BREC_CONSISTENCY ? src->prove_consistency(src->ctx, a, b, &h, &n)
                                         : src->prove_inclusion(src->ctx, a, b, &h, &n);
    if (rc) return st_fail(err, rc, "%s proof %llu/%llu: %s", type == ST_BREC_CONSISTENCY ? "consistency" : "inclusion",
                           (unsigned long long)a, (unsigned long long)b, st_strerror(rc));
    rc = st_bw_proof(w, type, a, b, (const st_hash *)h, n);
    free(h);
    return rc;
}

static int write_entry(const st_export_src *src, const st_export_plan *p, st_bundle_writer *w, uint64_t index,
                       uint8_t type, st_export_stats *stats, st_err *err)
{
    const uint8_t *bytes;
    size_t len;
    int rc = src->entry(src->ctx, index, &bytes, &len);
    if (rc)   /* ST_ECORRUPT: the stored row is not an entry row (entry_store.h) */
        return st_fail(err, rc, "entry %llu: %s", (unsigned long long)index,
                       rc == ST_ECORRUPT ? "stored row is damaged" : st_strerror(rc));
    if ((rc = st_bw_entry(w, type, index, bytes, len, NULL))) return rc;
    if (type == ST_BREC_SUPPORT || p->kind == ST_SEL_FILTER)
        if ((rc = write_proof(src, w, ST_BREC_INCLUSION, index, p->final_size, err))) return rc;
    if (type == ST_BREC_SUPPORT) return 0;
    pay_ctx c = { w, index, stats };
    rc = src->payloads(src->ctx, index, on_payload, &c);
    if (rc) return st_fail(err, rc, "entry %llu: payloads: %s", (unsigned long long)index, st_strerror(rc));
    stats->entries++;
    return 0;
}

/* The perfect subtrees of [0, begin), largest first. */
static int write_frontier(const st_export_src *src, uint64_t begin, st_bundle_writer *w, st_err *err)
{
    unsigned levels[64];
    unsigned n = st_frontier_levels(begin, levels);
    st_hash h[64];
    uint64_t off = 0;
    for (unsigned i = 0; i < n; i++) {
        int rc = src->node(src->ctx, levels[i], off >> levels[i], h[i]);
        if (rc) return st_fail(err, rc, "tree node %u/%llu: %s", levels[i], (unsigned long long)(off >> levels[i]),
                               st_strerror(rc));
        off += (uint64_t)1 << levels[i];
    }
    return st_bw_frontier(w, begin, (const st_hash *)h, n);
}

static int write_right(const st_export_src *src, uint64_t end, uint64_t final, st_bundle_writer *w, st_err *err)
{
    unsigned levels[128];
    uint64_t idx[128];
    unsigned n = st_range_decompose(end, final, levels, idx);
    st_hash h[128];
    for (unsigned i = 0; i < n; i++) {
        int rc = src->node(src->ctx, levels[i], idx[i], h[i]);
        if (rc) return st_fail(err, rc, "tree node %u/%llu: %s", levels[i], (unsigned long long)idx[i], st_strerror(rc));
    }
    return st_bw_proof(w, ST_BREC_RIGHT, end, final, (const st_hash *)h, n);
}

int st_export_write(const st_export_src *src, const st_export_plan *p, st_bundle_writer *w, st_export_stats *stats,
                    st_err *err)
{
    st_export_stats local;
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    if (p->begin > p->end || p->end > p->final_size)
        return st_fail(err, ST_EINVAL, "selection [%llu, %llu) is not within the sealed log (size %llu)",
                       (unsigned long long)p->begin, (unsigned long long)p->end, (unsigned long long)p->final_size);
    if (p->previous_note && p->previous_size > p->final_size)
        return st_fail(err, ST_EPROOF, "the checkpoint you hold (size %llu) is newer than this store's latest (%llu)",
                       (unsigned long long)p->previous_size, (unsigned long long)p->final_size);
    sizes cps = { 0 }, sups = { 0 };
    int rc = pick_checkpoints(src, p, &cps, err);
    if (!rc) rc = pick_supports(src, p, &sups, err);
    if (!rc) rc = write_manifest(p, cps.n, w, err);
    for (size_t i = 0; !rc && i < p->nvkeys; i++) rc = st_bw_key(w, p->vkeys[i]);
    for (size_t i = 0; !rc && i < p->nkeynotes; i++) {         /* keys (issue 5): KEYNOTE records [BUNDLE-13] */
        uint8_t *body = malloc(8 + p->keynote_lens[i]);
        if (!body) { rc = ENOMEM; break; }
        st_be64_put(body, p->keynote_index[i]);
        memcpy(body + 8, p->keynotes[i], p->keynote_lens[i]);
        rc = st_bw_record(w, ST_BREC_KEYNOTE, body, 8 + p->keynote_lens[i]);
        free(body);
    }
    for (size_t i = 0; !rc && i < cps.n; i++) {
        char *note = NULL;
        size_t len = 0;
        uint64_t sz;
        rc = src->checkpoint(src->ctx, cps.v[i], ST_CP_EXACT, &sz, &note, &len);
        if (rc) st_fail(err, rc, "checkpoint %llu: %s", (unsigned long long)cps.v[i], st_strerror(rc));
        else rc = st_bw_note(w, ST_BREC_CHECKPOINT, note, len);
        free(note);
        stats->checkpoints++;
    }
    for (size_t i = 0; !rc && i + 1 < cps.n; i++)
        rc = write_proof(src, w, ST_BREC_CONSISTENCY, cps.v[i], cps.v[i + 1], err);
    if (!rc && p->previous_note) {
        rc = st_bw_note(w, ST_BREC_PREVIOUS, p->previous_note, p->previous_len);
        if (!rc) rc = write_proof(src, w, ST_BREC_CONSISTENCY, p->previous_size, p->final_size, err);
    }
    for (size_t i = 0; !rc && i < sups.n; i++) {
        rc = write_entry(src, p, w, sups.v[i], ST_BREC_SUPPORT, stats, err);
        stats->supports++;
    }
    if (p->kind != ST_SEL_FILTER) {
        if (!rc) rc = write_frontier(src, p->begin, w, err);
        for (uint64_t i = p->begin; !rc && i < p->end; i++) rc = write_entry(src, p, w, i, ST_BREC_ENTRY, stats, err);
        if (!rc) rc = write_right(src, p->end, p->final_size, w, err);
    } else {
        for (size_t i = 0; !rc && i < p->nindices; i++)
            rc = write_entry(src, p, w, p->indices[i], ST_BREC_ENTRY, stats, err);
    }
    if (!rc) rc = st_bw_finish(w);
    if (rc && err && !err->msg[0]) st_fail(err, rc, "writing the bundle: %s", st_strerror(rc));
    stats->bytes = st_bw_bytes(w);
    free(cps.v);
    free(sups.v);
    return rc;
}
