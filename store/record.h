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

/* Index hook, called by append.c inside the write transaction for every new
 * entry (index.c implements it). envelope: the full canonical entry object;
 * tool_input: the tool_input payload value if any (NULL otherwise). */
ST_NODISCARD int st_index_add(struct st_txn *txn, uint64_t index, const st_json *envelope, const st_json *tool_input);

#endif
