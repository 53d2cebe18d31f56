/*
 * bundle_write.h: the bundle writer (docs/FORMAT.md section 6). Buffered output to a
 * file descriptor or a memory buffer; one call per record; the trailer digest
 * chain [BUNDLE-5] is kept as records go out, so memory stays bounded however
 * large the bundle. The writer does not enforce the record order: that is
 * the exporter's job (store/export.c), and tests use the freedom to build
 * malformed bundles whose trailer is nonetheless right.
 *
 * ERRORS: 0, errno from write(2), ENOMEM, ST_EINVAL (a record that cannot be
 * framed: too large, bad payload name), ST_ETOOBIG.
 */
#ifndef ST_BUNDLE_WRITE_H
#define ST_BUNDLE_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "util.h"

typedef struct st_bundle_writer st_bundle_writer;

/* Starts a bundle (writes the magic). The writer does not close fd.
 * ST_BW_WRITEBACK: the caller will fsync fd (a regular file), so start
 * writing it back to disk as it grows, and fsync only waits for the tail;
 * not for a temporary file that is read back and dropped (an archive's). */
#define ST_BW_WRITEBACK 1u
ST_NODISCARD int st_bw_open_fd(st_bundle_writer **out, int fd, unsigned flags);
/* Appends to out (the caller frees out). */
ST_NODISCARD int st_bw_open_buf(st_bundle_writer **out, st_buf *buf);
void st_bw_free(st_bundle_writer *w);        /* NULL is a no-op; does not finish */

/* Any record: type and body as given. H for the trailer chain is derived
 * from the body by the type's rule (ENTRY/SUPPORT: leaf hash; PAYLOAD:
 * commitment; others: SHA-256 of the body). ENTRY/SUPPORT/PAYLOAD bodies
 * too short to decode are hashed whole (tests only). */
ST_NODISCARD int st_bw_record(st_bundle_writer *w, uint8_t type, const uint8_t *body, size_t len);

/* Typed helpers. */
ST_NODISCARD int st_bw_manifest(st_bundle_writer *w, const uint8_t *json, size_t len);
ST_NODISCARD int st_bw_key(st_bundle_writer *w, const char *vkey);
ST_NODISCARD int st_bw_note(st_bundle_writer *w, uint8_t type, const char *note, size_t len); /* CHECKPOINT, PREVIOUS */
/* CONSISTENCY (a = m, b = n), INCLUSION (a = index, b = size), RIGHT (a = begin, b = end). */
ST_NODISCARD int st_bw_proof(st_bundle_writer *w, uint8_t type, uint64_t a, uint64_t b,
                             const st_hash *hashes, size_t n);
ST_NODISCARD int st_bw_frontier(st_bundle_writer *w, uint64_t size, const st_hash *hashes, size_t n);
/* ENTRY or SUPPORT. leaf_out (optional) receives the leaf hash. */
ST_NODISCARD int st_bw_entry(st_bundle_writer *w, uint8_t type, uint64_t index, const uint8_t *bytes, size_t len,
                             st_hash leaf_out);
ST_NODISCARD int st_bw_payload(st_bundle_writer *w, uint64_t index, const char *name,
                               const uint8_t salt[ST_SALT_BYTES], const uint8_t *bytes, size_t len);
ST_NODISCARD int st_bw_absent(st_bundle_writer *w, uint64_t index, const char *name, uint64_t record);

/* Writes the trailer and flushes. No record may follow. */
ST_NODISCARD int st_bw_finish(st_bundle_writer *w);

/* Bytes written so far (magic included). */
uint64_t st_bw_bytes(const st_bundle_writer *w);

/* leaf = SHA-256(0x00 || bytes) and the payload commitment, with the
 * verifier's fast SHA-256 (same values as st_leaf_hash / st_payload_commit). */
void st_bw_leaf_hash(st_hash out, const uint8_t *bytes, size_t len);
void st_bw_payload_commit(st_hash out, const uint8_t salt[ST_SALT_BYTES], const uint8_t *bytes, size_t len);

#endif
