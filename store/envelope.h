/*
 * envelope.h: the canonical entry bytes of a record, written directly.
 *
 * An entry is the producer's metadata object plus `v`, `index`, `time_us`
 * and the `payloads` commitment table, written with sorted keys
 * (docs/FORMAT.md [ENTRY-1..5]). Building that object as a DOM and writing
 * it with ST_JSON_SORT_KEYS was most of the cost of preparing a record for
 * bulk import; this writes the same bytes from the parts: the top-level
 * members are ordered once (a handful of keys), each metadata value is
 * written by the JSON writer, and the members append.c adds are formatted
 * here. The unit tests hold it to the DOM writer's output byte for byte.
 */
#ifndef ST_ENVELOPE_H
#define ST_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "util.h"

/* One row of the `payloads` table. */
typedef struct st_envelope_payload {
    const char *name;          /* valid payload name [PAYLOAD-2]; names distinct */
    const uint8_t *commit;     /* ST_HASH_BYTES */
    uint64_t len;              /* bytes committed to (and stored) */
    int truncated;             /* [PAYLOAD-3]: the payload had full_len bytes, hashing to full_sha */
    uint64_t full_len;
    const uint8_t *full_sha;   /* ST_HASH_BYTES */
} st_envelope_payload;

/* Appends to out the canonical entry for meta (an object holding none of
 * v/index/time_us/payloads; NULL = no members) at index and time_us, with
 * the payload table pl[0..n) (no `payloads` member when n is 0). Exactly
 * st_json_write(ST_JSON_SORT_KEYS) of that envelope built as a DOM, equal
 * keys in their metadata order. 0 or ENOMEM. */
ST_NODISCARD int st_envelope_write(st_buf *out, const st_json *meta, uint64_t index, int64_t time_us,
                                   const st_envelope_payload *pl, size_t n);

/* Decimal text of x as st_json_new_int writes it, NUL-terminated in buf
 * (at least 24 bytes); returns its length. */
size_t st_envelope_int(char *buf, int64_t x);

#endif
