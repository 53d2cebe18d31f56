/*
 * payload.h: building a payload row outside the write transaction.
 *
 * The append path prepares each payload's whole `payloads` row (salt, enc,
 * zstd frame of the segment list) before it takes the write lock, on up to
 * two threads, so that compression does not run inside the transaction. A
 * payload holding a JSON string literal long enough to be stored in `blobs`
 * needs the transaction (blob lookup and reference count) and is left to
 * st_payload_put_flags (store_int.h).
 */
#ifndef ST_PAYLOAD_H
#define ST_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "entry.h"

/* Compression context and salt pool of one thread that stores many
 * payloads (NULL-safe free). Rows built with one use the built-in
 * dictionary (enc 2, store/payload.c); without one, enc 1. */
typedef struct st_payload_zctx st_payload_zctx;
st_payload_zctx *st_payload_zctx_new(void);
void st_payload_zctx_free(st_payload_zctx *z);

/* len fresh random bytes (payload salts) from z's pool of pre-drawn ones,
 * refilled as needed; z NULL: drawn directly. */
void st_payload_salts(st_payload_zctx *z, uint8_t *out, size_t len);

/* Builds the row of a payload into row (reset first). 0: done; 1: the
 * payload holds a blob-sized string literal and must go through
 * st_payload_put_flags; ENOMEM or ST_EDB (compression failed). z may be NULL
 * (the calling thread's own context, standard frames). */
ST_NODISCARD int st_payload_row_build(st_buf *row, const uint8_t salt[ST_SALT_BYTES], const uint8_t *data, size_t len,
                                      st_payload_zctx *z);

/* The fragment that token t (0x02..0x1F) stands for in a packed small
 * payload (enc 3, pack.h), or NULL. Part of the row format: never changes. */
const char *st_payload_fragment(unsigned t);

/* Writes a row made by st_payload_row_build. */
ST_NODISCARD int st_payload_put_row(st_txn *txn, uint64_t index, const char *name, const uint8_t *row, size_t len,
                                    unsigned put_flags);

#endif
