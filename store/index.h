/*
 * index.h: the secondary indexes (time, tool, session, path, tool_use_id)
 * and the running aggregates behind `sealtrail query` and `sealtrail
 * stats`. Rows are written inside the append transaction (st_index_add,
 * declared in record.h, or a batch: st_index_add_entry), so an entry and its
 * index rows commit together; st_index_rebuild recomputes them from the
 * entries and st_index_check compares them with a recomputation.
 *
 * KEY LAYOUTS (all integers big-endian; "T" = time_us with the sign bit
 * flipped so that signed order equals byte order; "I" = u64 index;
 * enc(s) = s with every 0x00 byte written as 0x00 0xFF, then the
 * terminator 0x00 0x01, so that a string's rows form one contiguous range
 * sorted by time and no string is a key prefix of another's range):
 *
 *   IX_TIME      T I                       -> summary (see ST_IXS_* below)
 *   IX_TOOL      enc(tool) T I             -> u8 flags, u64 duration, status bytes
 *                                             (split table, db.h; cut: see CAPS)
 *   IX_SESSION   enc(session) T I          -> "" (split table; cut: see CAPS)
 *   IX_STATUS    enc(status) T I           -> "" (only statuses other than the
 *                                             common "succeeded" and "started")
 *   IX_PATH      'p' enc(path) T I         -> ""
 *                'd' enc(path)             -> u64 number of 'p' rows (distinct paths)
 *                'i' I                     -> T, then the entry's paths: (u16 len, bytes)*
 *   IX_TOOLUSE   tool_use_id               -> u64 index, T of its latest PreToolUse
 *   STATS        'c' u8 field enc(value)   -> u64 entries with that value (planner;
 *                                             sessions, indexed statuses; tools: 'a')
 *                'a' enc(tool)             -> 7 x u64: entries, calls, failures,
 *                                             denied, dur_n, dur_total, dur_max
 *                'h' enc(tool) u16 bucket  -> u64 count, min, max (duration histogram)
 *                (counts and sums saturate at 2^64 - 1 rather than wrap)
 *
 * So "tool X between T1 and T2" is one range scan of IX_TOOL, and the time
 * index value carries every field a filter needs, so combined filters never
 * parse entries. Event and duration have no table of their own, nor do the
 * two common statuses: each has few distinct values, so a filter on them
 * reads the time-index summaries of the window (or of the rows another
 * filter selects); rare statuses (failed, denied, interrupted...) keep their
 * rows. An append writes 3 index rows per entry (time, tool, session) plus
 * its path rows and, for a rare status, one more; aggregate rows are summed
 * per transaction (st_ix_batch), and its rows other than time rows are put
 * at the end of the transaction in key order (index_rows.c).
 *
 * PATH WRITE-BEHIND. The 'p' and 'd' rows of an entry land at random places
 * in IX_PATH (one row per path, thousands of paths), so writing them with
 * every transaction dirties a page per row. An append may instead write
 * only the entry's 'i' row (it sorts by index, so it appends) and leave its
 * 'p' and 'd' rows pending: meta ST_META_IX_PATH_MERGED = m says that the
 * entries [m, size) are pending and [0, m) are merged; absent, nothing is
 * pending. st_ix_paths_merge writes the pending rows in one pass and
 * removes the marker. Bulk appends (import) defer their rows and merge
 * when ST_IX_PATH_PENDING_MAX entries are pending and at the end; an append
 * while rows are pending also defers (so the order of 'p' rows never
 * matters). Marker and rows change in the append's own transaction, so
 * every committed state is consistent. Path queries read the 'p' rows and
 * the 'i' rows of the pending entries; check expects exactly that split.
 *
 * CAPS. LMDB keys are at most 511 bytes: a string whose encoding is longer
 * than ST_IX_STR_CAP bytes is keyed by its head (the first ST_IX_STR_CAP
 * bytes, fewer when NUL bytes take two; st_ix_cut_len) and the
 * row's value holds the whole string (an empty value means "not cut"), so
 * exact matching stays exact; in the split tables (tool, session), whose
 * values are bounded, it holds the SHA-256 of the whole string instead
 * (after the tool row's own value). Stats rows ('a', 'h', 'c') key long tool names
 * by the cut prefix only. The 'i' row keeps at most ST_IX_MAX_PATHS paths.
 *
 * DURATION HISTOGRAM. Bucket of d ms: d itself for d < 64; above, 32
 * buckets per power of two (HDR-style: exponent and 5 mantissa bits), each
 * with its count and the smallest and largest duration seen in it. All-time
 * p50/p95 are the midpoint of the bucket holding the rank, clamped to that
 * bucket's observed [min, max]: exact below 64 ms and whenever the bucket's
 * samples are equal, otherwise within +-1.6%. Windowed stats are exact.
 */
#ifndef ST_INDEX_H
#define ST_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "json.h"
#include "record.h"

/* Layout of the index tables described above, kept in meta (ST_META_INDEX_LAYOUT).
 *   1: (absent from meta) also IX_EVENT, IX_DURATION, IX_STATUS rows for
 *      every status, and 'c' rows for events and every status;
 *   2: IX_EVENT and IX_DURATION are empty and IX_STATUS holds only the rare
 *      statuses (st_ix_status_common): the other filters read the
 *      time-index summary;
 *   3: the 'i' rows start with the entry's time key T, and 'p'/'d' rows
 *      may be pending (PATH WRITE-BEHIND above);
 *   4: IX_TOOL and IX_SESSION are split tables (db.h; LMDB tables
 *      ix_tool4 and ix_session4, the older ix_tool and ix_session stay
 *      empty), and their cut rows end in the SHA-256 of the whole string;
 *      time-index summaries are version 2 (common values as numbers).
 * Queries, stats and check refuse a log of another layout, naming
 * `sealtrail reindex`, which rebuilds every table and records this one. */
#define ST_INDEX_LAYOUT      4u
#define ST_META_INDEX_LAYOUT "index_layout"

/* Entries [m, size) have pending path rows (absent: none); see PATH WRITE-BEHIND. */
#define ST_META_IX_PATH_MERGED "ix_path_merged"
/* A deferring append merges once this many entries are pending. A merge
 * dirties a page for nearly every path in the table, however few rows it
 * adds, so the fewer the better. (Its memory does not grow with this: it
 * reads the pending rows IX_MERGE_CHUNK_BYTES at a time.) At 65536, the
 * merges of a 1M-line import wrote 0.6 GB on top of its 0.97 GB store and
 * took 1.1 s of its appending thread. */
#define ST_IX_PATH_PENDING_MAX 262144u

#define ST_IX_STR_CAP    448u
#define ST_IX_MAX_PATHS  32u
#define ST_IX_PATH_MAX   4096u

/* Stat counter fields ('c' rows; ST_IXF_TOOL is read from the 'a' row; layout 1
 * also had 2 = event). */
enum { ST_IXF_TOOL = 1, ST_IXF_SESSION = 3, ST_IXF_STATUS = 4 };

/* 1 for the statuses too common to be worth an index row ("succeeded", "started"). */
int st_ix_status_common(const char *s, size_t n);

/* Aggregate fields ('a' rows), in order. */
enum {
    ST_IXA_ENTRIES = 0, ST_IXA_CALLS, ST_IXA_FAILURES, ST_IXA_DENIED,
    ST_IXA_DUR_N, ST_IXA_DUR_TOTAL, ST_IXA_DUR_MAX, ST_IXA__COUNT
};

/* The facts of one entry that the indexes hold (strings borrowed). */
typedef struct st_ix_facts {
    uint64_t index;
    int64_t time_us;
    int has_duration;
    uint64_t duration_ms;
    const char *tool;    size_t tool_len;    /* NULL if absent */
    const char *event;   size_t event_len;
    const char *session; size_t session_len;
    const char *status;  size_t status_len;
    const char *kind;    size_t kind_len;
    const char *tool_use_id; size_t tool_use_id_len;
} st_ix_facts;

/* Extracts the facts from a parsed envelope. ST_EFORMAT if index/time_us are missing. */
ST_NODISCARD int st_ix_facts_from_envelope(st_ix_facts *out, const st_json *envelope);

/* Decoded time-index summary (strings point into the value). */
typedef struct st_ix_summary {
    int has_duration;
    uint64_t duration_ms;
    const char *tool;    size_t tool_len;
    const char *event;   size_t event_len;
    const char *session; size_t session_len;
    const char *status;  size_t status_len;
    const char *kind;    size_t kind_len;
} st_ix_summary;
ST_NODISCARD int st_ix_summary_decode(st_ix_summary *out, const void *val, size_t len);

/* Key helpers used by query.c and stats.c. */
uint64_t st_ix_time_key(int64_t time_us);               /* sign-flipped */
int64_t  st_ix_time_from_key(uint64_t k);
/* enc(s) into out; returns bytes written. Its first part (before the
 * terminator) is at most ST_IX_STR_CAP bytes: s is cut after st_ix_cut_len
 * bytes (*cut set), so that no key passes LMDB's 511 bytes, NUL bytes
 * (two bytes each) and all. */
size_t   st_ix_enc_str(uint8_t *out, const char *s, size_t len, int *cut);
/* How many bytes of s enc() keeps: ST_IX_STR_CAP, fewer if s has NUL bytes. */
size_t   st_ix_cut_len(const char *s, size_t len);
/* 1 if s, decoded from a key, may be the cut head of a longer string (its
 * encoding fills the cap, or nearly: the next byte may have been a NUL). */
int      st_ix_at_cap(const char *s, size_t len);
#define  ST_IX_ENC_MAX (2u * ST_IX_STR_CAP + 2u)
/* Finds the end of enc(...) at key[0..len): returns the offset just past 0x00 0x01, or 0 if none. */
size_t   st_ix_enc_end(const uint8_t *key, size_t len);
/* Decodes enc(...) (without terminator) into out (cap bytes); returns decoded length. */
size_t   st_ix_dec_str(char *out, size_t cap, const uint8_t *enc, size_t enc_len);

/* Histogram bucket of a duration, and a bucket's [lo, hi] range in ms. */
unsigned st_ix_bucket(uint64_t duration_ms);
void     st_ix_bucket_range(unsigned bucket, uint64_t *lo, uint64_t *hi);

/* An entry's index facts and paths, computed before the write transaction
 * (strings borrowed from the envelope's document). Zero-initialize, then
 * st_ix_entry_prepare; st_ix_entry_free releases the paths. */
typedef struct st_ix_entry {
    st_ix_facts f;
    st_buf paths;
    size_t npaths;
} st_ix_entry;
ST_NODISCARD int st_ix_entry_prepare(st_ix_entry *e, const st_json *envelope, const st_json *tool_input);
void st_ix_entry_free(st_ix_entry *e);

/* Index rows of many entries in one transaction: time rows are written at
 * once, the other plain rows gathered and written by st_ix_batch_flush in
 * key order, aggregate deltas (stats and distinct-path counts) summed in
 * memory and added by st_ix_batch_flush, each distinct row's sum in one
 * read-modify-write. Nothing may read the gathered rows before the flush
 * (tool_use_id rows, which the duration lookup reads, are written at once). st_ix_batch_begin first (size: the log size before the
 * batch; defer: leave the path rows pending, which the batch also does when
 * rows are pending already); flush before the transaction commits: it also
 * merges the pending path rows once ST_IX_PATH_PENDING_MAX entries are
 * pending. After a failed or retried transaction, st_ix_batch_discard. */
typedef struct st_ix_batch st_ix_batch;
st_ix_batch *st_ix_batch_new(void);
void st_ix_batch_free(st_ix_batch *b);
ST_NODISCARD int st_ix_batch_begin(st_txn *txn, st_ix_batch *b, uint64_t size, int defer);
ST_NODISCARD int st_index_add_entry(st_txn *txn, st_ix_batch *b, const st_ix_entry *e);
/* The same rows, generated ahead of the transaction by the thread that
 * prepares the record (an import's preparers), so that the writing thread
 * only writes them: st_ix_rows_record encodes e's rows as an append with
 * path rows deferred (defer) or not would write them; st_index_add_recorded
 * writes them, or falls back to st_index_add_entry when the transaction
 * defers otherwise. e must be the entry the rows were recorded from. */
ST_NODISCARD int st_ix_rows_record(st_buf *out, const st_ix_entry *e, int defer);
ST_NODISCARD int st_index_add_recorded(st_txn *txn, st_ix_batch *b, const st_ix_entry *e, const st_buf *rows, int defer);
ST_NODISCARD int st_ix_batch_flush(st_txn *txn, st_ix_batch *b);
void st_ix_batch_discard(st_ix_batch *b);

/* The first entry whose path rows are pending (size if none; ST_ECORRUPT if
 * the marker is beyond size). */
ST_NODISCARD int st_ix_paths_merged(st_txn *txn, uint64_t size, uint64_t *merged);
/* Writes the pending 'p' and 'd' rows of entries [merged, size) and removes
 * the marker (nothing to do if none are pending). */
ST_NODISCARD int st_ix_paths_merge(st_txn *txn, uint64_t size);

/* Paths an entry touched: tool_input.file_path/path/notebook_path, and for
 * Bash/PowerShell best-effort path-like words of `command`; relative paths
 * are joined to cwd and normalized lexically. Appends (u16 len, bytes)* to
 * out; returns the number of paths (<= ST_IX_MAX_PATHS, deduplicated). */
size_t st_ix_paths(st_buf *out, const char *tool, size_t tool_len, const char *cwd, size_t cwd_len,
                   const st_json *tool_input);

/* The index and record time of the latest PreToolUse with this tool_use_id.
 * 0, or ST_ENOTFOUND. Used by the hook to compute durations. */
ST_NODISCARD int st_index_find_tooluse(st_txn *txn, const char *id, size_t len, uint64_t *index_out);
ST_NODISCARD int st_index_find_tooluse_time(st_txn *txn, const char *id, size_t len, uint64_t *index_out,
                                            int64_t *time_us_out);

/* Rebuilds every index table from entries [0, size) in the given write
 * transaction: clears them, then parses each entry (st_entry_parse) and its
 * tool_input payload. progress (optional) is called every 4096 entries. */
typedef void (*st_index_progress_fn)(void *ctx, uint64_t done, uint64_t total);
ST_NODISCARD int st_index_rebuild(st_txn *txn, uint64_t size, st_index_progress_fn progress, void *pctx,
                                  st_err *err);

/* Recomputes the rows of entries [0, size) and compares them with the
 * tables: every expected row present with the expected value, no other row,
 * aggregates equal. 0 or ST_ECORRUPT with err naming the first difference. */
ST_NODISCARD int st_index_check(st_txn *txn, uint64_t size, st_err *err);

/* 0 if the indexes of the log are in layout ST_INDEX_LAYOUT (or it is empty);
 * ST_EFORMAT with err naming `sealtrail reindex` otherwise. */
ST_NODISCARD int st_index_layout_ok(st_txn *txn, st_err *err);

#endif
