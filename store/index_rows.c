/*
 * index_rows.c: index rows gathered for one transaction and written in key
 * order (index_int.h).
 *
 * Why: an entry's tool, session, status and path rows each land at the end
 * of their own key range, somewhere in the middle of a B-tree. Put in
 * entry order, consecutive rows jump between those ranges, so every put
 * searches the tree from the root. Put in key order, consecutive rows
 * mostly fall on the page the cursor is already on, and LMDB then skips
 * the search. The rows and their values are the same either way: keys end
 * in the entry index, so no two rows of a batch share a key.
 */
#include "index_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A record per row: u8 table, u16 klen, u32 vlen, key, value. */
#define ROW_HEAD 7u

typedef struct row_ref {
    uint64_t prefix;          /* table, then the key's first 7 bytes (zero-padded): most comparisons end here */
    const uint8_t *rec;
} row_ref;

static size_t rec_klen(const uint8_t *r) { return (size_t)r[1] << 8 | r[2]; }
static size_t rec_vlen(const uint8_t *r) { return st_be32_get(r + 3); }

int ix_rows_add(ix_rows *rs, st_table t, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    if (kl > 0xffff || vl > 0xffffffffu || (uint64_t)rs->buf.len + ROW_HEAD + kl + vl > 0xffffffffu)
        return ST_EINVAL;                   /* offsets are 32-bit (a batch flushes at IX_ROWS_FLUSH_BYTES) */
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? 2 * rs->cap : 1024;
        uint32_t *off = realloc(rs->off, cap * sizeof *off);
        if (!off) return ENOMEM;
        rs->off = off;
        rs->cap = cap;
    }
    uint8_t h[ROW_HEAD] = { (uint8_t)t, (uint8_t)(kl >> 8), (uint8_t)kl };
    st_be32_put(h + 3, (uint32_t)vl);
    size_t at = rs->buf.len;
    st_buf_put(&rs->buf, h, ROW_HEAD);
    st_buf_put(&rs->buf, k, kl);
    if (vl) st_buf_put(&rs->buf, v, vl);
    if (rs->buf.oom) return ENOMEM;
    rs->off[rs->n++] = (uint32_t)at;
    return 0;
}

/* Sorts by table and first 7 key bytes, then insertion order (stable): an
 * LSD radix sort of the 64-bit prefix, a byte per pass, skipping the bytes
 * all rows share. The rows of one tool or session usually come in key
 * order already (their keys go on with T I), so this order is usually the
 * full one; ix_rows_flush sorts what is left, run by run. qsort of every
 * row took 7% of an import's writing thread. */
static int sort_by_prefix(row_ref *a, size_t n)
{
    row_ref *tmp = malloc(n * sizeof *tmp);
    if (!tmp) return ENOMEM;
    row_ref *src = a, *dst = tmp;
    for (unsigned shift = 0; shift < 64; shift += 8) {
        size_t count[256] = { 0 };
        for (size_t i = 0; i < n; i++) count[(src[i].prefix >> shift) & 0xff]++;
        if (count[(src[0].prefix >> shift) & 0xff] == n) continue;   /* every row has this byte */
        size_t at = 0;
        for (unsigned b = 0; b < 256; b++) {
            size_t c = count[b];
            count[b] = at;
            at += c;
        }
        for (size_t i = 0; i < n; i++) dst[count[(src[i].prefix >> shift) & 0xff]++] = src[i];
        row_ref *t = src;
        src = dst;
        dst = t;
    }
    if (src != a) memcpy(a, src, n * sizeof *a);
    free(tmp);
    return 0;
}

/* Table, then key bytes (a key that is a prefix of another sorts first, as
 * LMDB orders them), then insertion order: a stable order. */
static int row_cmp(const void *pa, const void *pb)
{
    const row_ref *a = pa, *b = pb;
    if (a->prefix != b->prefix) return a->prefix < b->prefix ? -1 : 1;
    size_t ka = rec_klen(a->rec), kb = rec_klen(b->rec), n = ka < kb ? ka : kb;
    int r = n > 7 ? memcmp(a->rec + ROW_HEAD + 7, b->rec + ROW_HEAD + 7, n - 7) : 0;
    if (r) return r;
    if (ka != kb) return ka < kb ? -1 : 1;
    return a->rec < b->rec ? -1 : a->rec > b->rec;
}

int ix_rows_flush(ix_rows *rs, st_txn *txn)
{
    if (rs->n == 0) return 0;
    row_ref *order = malloc(rs->n * sizeof *order);
    if (!order) return ENOMEM;
    for (size_t i = 0; i < rs->n; i++) {
        const uint8_t *r = rs->buf.data + rs->off[i];
        size_t kl = rec_klen(r);
        uint64_t p = (uint64_t)r[0] << 56;
        for (size_t j = 0; j < 7 && j < kl; j++) p |= (uint64_t)r[ROW_HEAD + j] << (48 - 8 * j);
        order[i] = (row_ref){ p, r };
    }
    if (sort_by_prefix(order, rs->n) != 0) {
        free(order);
        return ENOMEM;
    }
    /* Rows whose keys share the first 7 bytes (tools named mcp__github__...)
     * are still in insertion order: sort each such run by whole keys. */
    for (size_t i = 0, j; i < rs->n; i = j) {
        int sorted = 1;
        for (j = i + 1; j < rs->n && order[j].prefix == order[i].prefix; j++)
            if (sorted && row_cmp(&order[j - 1], &order[j]) > 0) sorted = 0;
        if (!sorted) qsort(order + i, j - i, sizeof *order, row_cmp);
    }
    int rc = 0;
    for (size_t i = 0; i < rs->n && rc == 0; i++) {
        const uint8_t *r = order[i].rec;
        size_t kl = rec_klen(r);
        rc = st_db_put(txn, (st_table)r[0], r + ROW_HEAD, kl, r + ROW_HEAD + kl, rec_vlen(r), 0);
    }
    free(order);
    ix_rows_reset(rs);
    return rc;
}

void ix_rows_reset(ix_rows *rs)
{
    st_buf_reset(&rs->buf);
    rs->n = 0;
}

void ix_rows_free(ix_rows *rs)
{
    st_buf_free(&rs->buf);
    free(rs->off);
    memset(rs, 0, sizeof *rs);
}
