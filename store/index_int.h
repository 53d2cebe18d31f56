/*
 * index_int.h: what index.c shares with index_check.c: the row generator.
 * One function turns an entry's facts and paths into every index row and
 * every aggregate delta; st_index_add writes them, st_index_rebuild writes
 * them from stored entries, st_index_check compares them with the tables.
 * Keeping one generator is what makes "check" mean "same as a rebuild".
 */
#ifndef ST_INDEX_INT_H
#define ST_INDEX_INT_H

#include "index.h"

typedef struct ix_sink {
    /* A plain row: key -> value (rows of one entry never repeat a key). */
    int (*row)(void *ctx, st_table t, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl);
    /* An aggregate delta: n u64 fields added to the row (field ST_IXA_DUR_MAX of
     * 'a' rows takes the maximum instead). */
    int (*stat)(void *ctx, st_table t, const uint8_t *k, size_t kl, const uint64_t *delta, size_t n);
    /* IX_TOOLUSE: the latest PreToolUse wins. */
    int (*tooluse)(void *ctx, const uint8_t *k, size_t kl, uint64_t index, int64_t time_us);
    void *ctx;
    int defer_paths;        /* emit the 'i' row only: 'p' and 'd' rows pending (index.h) */
} ix_sink;

/* Emits every row of one entry. paths: (u16 len, bytes)* as st_ix_paths made them. */
int ix_emit(const st_ix_facts *f, const uint8_t *paths, size_t paths_len, size_t npaths, const ix_sink *sink);

/* The 'p' rows and 'd' deltas of one entry: ti = T I, paths as in ix_emit. */
int ix_emit_path_rows(const ix_sink *sink, const uint8_t ti[16], const uint8_t *paths, size_t paths_len,
                      size_t npaths);

/* Merges delta into cur (n fields) following the rule above; key[0] says the row kind. */
void ix_merge(const uint8_t *key, uint64_t *cur, const uint64_t *delta, size_t n);

/* Aggregate deltas summed in memory, keyed by (table, row key) (index_agg.c). */
typedef struct ix_agg_slot {
    uint64_t hash;          /* 0 = empty */
    size_t koff;
    uint32_t klen;
    uint8_t table, n;
    uint64_t v[ST_IXA__COUNT];
} ix_agg_slot;

typedef struct ix_agg_map {
    ix_agg_slot *slots;
    size_t cap, used;
    st_buf keys;
} ix_agg_map;

/* Merges an aggregate delta into the map (ix_merge). 0, ENOMEM, ST_EINVAL (field count differs). */
int ix_agg_add(ix_agg_map *m, st_table t, const uint8_t *k, size_t kl, const uint64_t *d, size_t n);
/* The same with the key's hash computed ahead (ix_agg_hash). */
uint64_t ix_agg_hash(st_table t, const uint8_t *k, size_t kl);
int ix_agg_add_hashed(ix_agg_map *m, st_table t, const uint8_t *k, size_t kl, const uint64_t *d, size_t n, uint64_t h);
/* Adds every slot to its stored row (one read-modify-write per distinct row), then empties the map. */
int ix_agg_flush(ix_agg_map *m, st_txn *txn);
void ix_agg_reset(ix_agg_map *m);
void ix_agg_free(ix_agg_map *m);

/* Plain rows gathered for a transaction and written in key order, so that
 * consecutive puts land on the page the cursor is on (index_rows.c). Only
 * for rows whose keys are unique in the batch (they end in T I) and that
 * nothing reads before the flush. */
typedef struct ix_rows {
    st_buf buf;             /* records: u8 table, u16 klen, u32 vlen, key, value */
    uint32_t *off;          /* where each record starts, in insertion order */
    size_t n, cap;
} ix_rows;

/* Past this many bytes a batch writes its rows before gathering more (reindex). */
#define IX_ROWS_FLUSH_BYTES ((size_t)64 << 20)
/* A merge of pending path rows reads the 'i' rows this many bytes at a time. */
#define IX_MERGE_CHUNK_BYTES ((size_t)16 << 20)
/* st_ix_paths_merge reading chunk_bytes at a time (tests use small chunks). */
ST_NODISCARD int st_ix_paths_merge_chunked(st_txn *txn, uint64_t size, size_t chunk_bytes);

int ix_rows_add(ix_rows *rs, st_table t, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl);
/* Puts every row in (table, key) order, then empties rs (also on failure). */
int ix_rows_flush(ix_rows *rs, st_txn *txn);
void ix_rows_reset(ix_rows *rs);
void ix_rows_free(ix_rows *rs);

/* Facts and paths of stored entry `index` (parses the entry and reads its
 * tool_input payload). *doc_out owns the strings; paths appended to pbuf. */
int ix_load_entry(st_txn *txn, uint64_t index, st_json_doc **doc_out, st_ix_facts *f, st_buf *pbuf,
                  size_t *npaths, st_err *err);

#endif
