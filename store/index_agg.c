/*
 * index_agg.c: the in-memory aggregate map (index_int.h). st_index_check sums
 * the recomputed aggregate deltas in it; the append path and reindex sum a
 * batch's deltas in it and then read-modify-write each distinct stats row
 * once (ix_agg_flush) instead of once per entry.
 */
#include "index_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fnv(uint8_t table, const uint8_t *k, size_t n)
{
    uint64_t h = 1469598103934665603ULL ^ table;
    for (size_t i = 0; i < n; i++) h = (h ^ k[i]) * 1099511628211ULL;
    return h ? h : 1;
}

static int ix_agg_grow(ix_agg_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    ix_agg_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns) return ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].hash) continue;
        size_t j = m->slots[i].hash & (ncap - 1);
        while (ns[j].hash) j = (j + 1) & (ncap - 1);
        ns[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

uint64_t ix_agg_hash(st_table t, const uint8_t *k, size_t kl)
{
    return fnv((uint8_t)t, k, kl);
}

int ix_agg_add(ix_agg_map *m, st_table t, const uint8_t *k, size_t kl, const uint64_t *d, size_t n)
{
    return ix_agg_add_hashed(m, t, k, kl, d, n, ix_agg_hash(t, k, kl));
}

int ix_agg_add_hashed(ix_agg_map *m, st_table t, const uint8_t *k, size_t kl, const uint64_t *d, size_t n, uint64_t h)
{
    if ((m->used + 1) * 4 >= m->cap * 3 && ix_agg_grow(m)) return ENOMEM;
    size_t j = h & (m->cap - 1);
    for (;; j = (j + 1) & (m->cap - 1)) {
        ix_agg_slot *s = &m->slots[j];
        if (!s->hash) break;
        if (s->hash == h && s->table == t && s->klen == kl && memcmp(m->keys.data + s->koff, k, kl) == 0) {
            if (s->n != n) return ST_EINVAL;
            ix_merge(k, s->v, d, n);
            return 0;
        }
    }
    ix_agg_slot *s = &m->slots[j];
    s->hash = h;
    s->koff = m->keys.len;
    s->klen = (uint32_t)kl;
    s->table = (uint8_t)t;
    s->n = (uint8_t)n;
    memset(s->v, 0, sizeof s->v);
    ix_merge(k, s->v, d, n);
    st_buf_put(&m->keys, k, kl);
    if (m->keys.oom) return ENOMEM;
    m->used++;
    return 0;
}


typedef struct flush_one {
    const ix_agg_map *m;
    const ix_agg_slot *s;
} flush_one;

/* st_db_update's step: the stored sums (none: zeros) plus the deltas. */
static int add_deltas(void *ctx, const void *old, size_t oldlen, uint8_t *out)
{
    const flush_one *f = ctx;
    const ix_agg_slot *s = f->s;
    uint64_t cur[ST_IXA__COUNT] = { 0 };
    if (old) {
        if (oldlen != 8u * s->n) return ST_ECORRUPT;
        for (unsigned i = 0; i < s->n; i++) cur[i] = st_be64_get((const uint8_t *)old + 8 * i);
    }
    ix_merge(f->m->keys.data + s->koff, cur, s->v, s->n);
    for (unsigned i = 0; i < s->n; i++) st_be64_put(out + 8 * i, cur[i]);
    return 0;
}

/* Flush order: by table, then by key, so that consecutive rows share leaf
 * pages (LMDB's byte order: a prefix first). */
typedef struct flush_key {
    const uint8_t *k;
    const ix_agg_slot *s;
} flush_key;

static int flush_key_cmp(const void *pa, const void *pb)
{
    const flush_key *a = pa, *b = pb;
    if (a->s->table != b->s->table) return a->s->table < b->s->table ? -1 : 1;
    size_t n = a->s->klen < b->s->klen ? a->s->klen : b->s->klen;
    int r = n ? memcmp(a->k, b->k, n) : 0;
    return r ? r : a->s->klen < b->s->klen ? -1 : a->s->klen > b->s->klen;
}

int ix_agg_flush(ix_agg_map *m, st_txn *txn)
{
    flush_key *order = malloc((m->used ? m->used : 1) * sizeof *order);
    if (!order) return ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].hash) order[n++] = (flush_key){ m->keys.data + m->slots[i].koff, &m->slots[i] };
    qsort(order, n, sizeof *order, flush_key_cmp);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        flush_one f = { m, order[i].s };
        rc = st_db_update(txn, (st_table)order[i].s->table, order[i].k, order[i].s->klen, 8u * order[i].s->n,
                          add_deltas, &f);
    }
    free(order);
    if (rc == 0) ix_agg_reset(m);
    return rc;
}

void ix_agg_reset(ix_agg_map *m)
{
    if (m->slots) memset(m->slots, 0, m->cap * sizeof *m->slots);
    m->used = 0;
    st_buf_reset(&m->keys);
}

void ix_agg_free(ix_agg_map *m)
{
    free(m->slots);
    st_buf_free(&m->keys);
    memset(m, 0, sizeof *m);
}
