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

int ix_agg_add(ix_agg_map *m, st_table t, const uint8_t *k, size_t kl, const uint64_t *d, size_t n)
{
    if ((m->used + 1) * 4 >= m->cap * 3 && ix_agg_grow(m)) return ENOMEM;
    uint64_t h = fnv((uint8_t)t, k, kl);
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


int ix_agg_flush(ix_agg_map *m, st_txn *txn)
{
    uint64_t cur[ST_IXA__COUNT];
    uint8_t out[8 * ST_IXA__COUNT];
    for (size_t i = 0; i < m->cap; i++) {
        const ix_agg_slot *s = &m->slots[i];
        if (!s->hash) continue;
        const uint8_t *k = m->keys.data + s->koff;
        const void *v;
        size_t vl;
        memset(cur, 0, sizeof cur);
        int rc = st_db_get(txn, (st_table)s->table, k, s->klen, &v, &vl);
        if (rc == 0) {
            if (vl != 8u * s->n) return ST_ECORRUPT;
            for (unsigned f = 0; f < s->n; f++) cur[f] = st_be64_get((const uint8_t *)v + 8 * f);
        } else if (rc != ST_ENOTFOUND) {
            return rc;
        }
        ix_merge(k, cur, s->v, s->n);
        for (unsigned f = 0; f < s->n; f++) st_be64_put(out + 8 * f, cur[f]);
        if ((rc = st_db_put(txn, (st_table)s->table, k, s->klen, out, 8u * s->n, 0)) != 0) return rc;
    }
    ix_agg_reset(m);
    return 0;
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
