/*
 * record.h: what producers (the hook, import, key and retention commands)
 * hand to the append path. A record is the envelope metadata (a JSON object
 * the producer builds) plus payload bytes. append.c adds `v`, `index`,
 * `time_us` and the `payloads` commitment table, serializes canonically,
 * and writes entry, tree nodes, payloads and index rows in one transaction.
 */
#ifndef ST_RECORD_H
#define ST_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "entry.h"
#include "json.h"

typedef struct st_payload_in {
    const char *name;          /* [a-z0-9_]{1,32} */
    const uint8_t *data;       /* payload bytes (already redacted); for truncated payloads, the full content */
    size_t len;
    const st_json *value;      /* parsed value when available (indexing reads tool_input paths); may be NULL */
} st_payload_in;

typedef struct st_record_in {
    const st_json *meta;       /* object: envelope members other than v/index/time_us/payloads; may be NULL */
    int64_t time_us;           /* 0 = now */
    size_t npayloads;
    st_payload_in payloads[ST_ENTRY_MAX_PAYLOADS];
} st_record_in;

struct st_store;
struct st_txn;

/* Appends n records in one durable transaction (n == 1 for the hook; many for
 * import). *first_index_out receives the first new index. Applies the seal
 * policy afterwards unless the store was opened with ST_OPEN_NOSEAL. */
ST_NODISCARD int st_append_records(struct st_store *s, const st_record_in *recs, size_t n, uint64_t *first_index_out);

/* Record preparation ahead of the append (import prepares on its converting
 * thread): validation, salts, payload commitments, the stored payload rows
 * (compressed) and, unless index is UINT64_MAX, the canonical entry built
 * for `index` (the index the caller predicts). Touches no database, so any
 * thread may call it; z is that thread's compression context and salt pool
 * (NULL: the thread's own context, salts drawn one record at a time). The preparation refers to r's metadata and payload bytes,
 * which must stay alive and unchanged until it is appended; metadata that
 * will still change (a duration looked up in the store) wants index
 * UINT64_MAX. 0, or an error (then *out is NULL and the record can still be
 * handed to st_append_prepared unprepared, which reports the error). */
typedef struct st_prepared st_prepared;
struct st_payload_zctx;
ST_NODISCARD int st_prepare_record(const struct st_store *s, const st_record_in *r, uint64_t index,
                                   struct st_payload_zctx *z, st_prepared **out);
/* st_prepare_record into *io: a preparation already there (appended, no
 * longer needed) is emptied and its buffers reused; NULL: a new one. On
 * error *io is freed and set to NULL. */
ST_NODISCARD int st_prepare_record_reuse(const struct st_store *s, const st_record_in *r, uint64_t index,
                                         struct st_payload_zctx *z, st_prepared **io);
/* st_prepare_record_reuse for two records at once (their SHA-256 work runs
 * interleaved): io[k] becomes record k's preparation, or NULL when it
 * failed. 0, or the first record's error, else the second's. */
int st_prepare_record_pair(const struct st_store *s, const st_record_in *const r[2], const uint64_t index[2],
                           struct st_payload_zctx *z, st_prepared *io[2]);
void st_prepared_free(st_prepared *p);   /* NULL-safe; wipes the salts */

/* st_append_records with prep[k] the preparation of recs[k] (or NULL). An
 * entry built for another index than the one it gets (another writer came
 * first) is rebuilt in the transaction; a preparation that no longer
 * matches its record (other payload bytes or metadata object) is redone.
 * With (nearly) every record prepared, no helper thread is started. The
 * caller frees the preparations afterwards. */
ST_NODISCARD int st_append_prepared(struct st_store *s, const st_record_in *recs, st_prepared *const *prep, size_t n,
                                    uint64_t *first_index_out);

/* Index hook, called by append.c inside the write transaction for every new
 * entry (index.c implements it). envelope: the full canonical entry object;
 * tool_input: the tool_input payload value if any (NULL otherwise). */
ST_NODISCARD int st_index_add(struct st_txn *txn, uint64_t index, const st_json *envelope, const st_json *tool_input);

#endif
