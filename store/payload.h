/*
 * payload.h: building a payload row outside the write transaction.
 *
 * The append path prepares each payload's whole `payloads` row (salt, enc,
 * zstd frame of the segment list) before it takes the write lock, on up to
 * two threads, so that compression does not run inside the transaction. A
 * payload holding JSON string literals long enough to be stored in `blobs`
 * has them found and hashed there too (st_payload_blob_lits,
 * st_payload_blob_hash, st_payload_row_build_lits); the transaction only
 * adds their references (st_payload_blobs_ref), compressing a blob that is
 * new to the store.
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

/* A JSON string literal of a payload that is stored once in `blobs`:
 * data[off..off+len), both quotes included, and its SHA-256 (the blob's key). */
typedef struct st_blob_lit {
    size_t off, len;
    uint8_t digest[32];
} st_blob_lit;

/* Appends to lits (an array of st_blob_lit) the blob literals of
 * data[0..len), in order, digests not yet computed. Returns how many, or
 * -ENOMEM. */
int st_payload_blob_lits(const uint8_t *data, size_t len, st_buf *lits);

/* Computes the digests of lits[0..n) (they may also be computed by the
 * caller, two at a time with another hash: SHA-256 of the literal). */
void st_payload_blob_hash(const uint8_t *data, st_blob_lit *lits, size_t n);

/* Builds the row of a payload into row (reset first), given all its blob
 * literals with their digests (lits[0..nlits), from the two above). 0, or
 * ENOMEM or ST_EDB (compression failed). z may be NULL (the calling thread's
 * own context, standard frames). */
ST_NODISCARD int st_payload_row_build_lits(st_buf *row, const uint8_t salt[ST_SALT_BYTES], const uint8_t *data,
                                           size_t len, st_payload_zctx *z, const st_blob_lit *lits, size_t nlits);

/* st_payload_row_build_lits for a payload with no blob literal; 1 (row
 * empty) if it has one. */
ST_NODISCARD int st_payload_row_build(st_buf *row, const uint8_t salt[ST_SALT_BYTES], const uint8_t *data, size_t len,
                                      st_payload_zctx *z);

/* Inside the write transaction, before the row is put: adds a reference to
 * each of the payload's blobs, storing (compressing) the ones new to the
 * store. */
ST_NODISCARD int st_payload_blobs_ref(st_txn *txn, const uint8_t *data, const st_blob_lit *lits, size_t n);

/* The reference count of blob `digest`: its `blob_refs` row, or for a blob
 * stored before format version 4, the count at the head of its `blobs` row.
 * ST_ENOTFOUND: no such blob; ST_ECORRUPT: the count is zero or malformed,
 * or a count row has no blob. */
ST_NODISCARD int st_payload_blob_count(st_txn *txn, const uint8_t digest[32], uint64_t *count);

/* 0 if blob `digest` decompresses to bytes (at least the blob minimum) whose
 * SHA-256 is its key; ST_ECORRUPT if not, ST_ENOTFOUND if absent (check). */
ST_NODISCARD int st_payload_blob_verify(st_txn *txn, const uint8_t digest[32]);

/* The fragment that token t (0x02..0x1F) stands for in a packed small
 * payload (enc 3, pack.h), or NULL. Part of the row format: never changes. */
const char *st_payload_fragment(unsigned t);

/* Writes a row made by st_payload_row_build. */
ST_NODISCARD int st_payload_put_row(st_txn *txn, uint64_t index, const char *name, const uint8_t *row, size_t len,
                                    unsigned put_flags);

#endif
