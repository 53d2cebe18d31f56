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

/* Table and first 7 key bytes, then insertion order: integers only. The
 * rows of one tool or session usually come in key order already (their
 * keys go on with T I), so this order is usually the full one. */
static int row_cmp_fast(const void *pa, const void *pb)
{
    const row_ref *a = pa, *b = pb;
    if (a->prefix != b->prefix) return a->prefix < b->prefix ? -1 : 1;
    return a->rec < b->rec ? -1 : a->rec > b->rec;
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
    qsort(order, rs->n, sizeof *order, row_cmp_fast);
    for (size_t i = 1; i < rs->n; i++)
        if (row_cmp(&order[i - 1], &order[i]) > 0) {   /* not the full order after all: sort by whole keys */
            qsort(order, rs->n, sizeof *order, row_cmp);
            break;
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
