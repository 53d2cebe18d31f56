/*
 * entry_store.h: how an entry's canonical bytes are kept in the `entries`
 * table. Not part of any signed format: the leaf hash and every bundle are
 * over the canonical bytes, which a row gives back exactly.
 *
 * Row value, by its first byte:
 *   '{'   the canonical bytes themselves (stores written before packed
 *         rows existed; rows that packing would not make smaller);
 *   0x01  a packed row: 0x01, then tokens that expand to the canonical
 *         bytes (docs/FORMAT.md section 5):
 *           a byte 0x20..0xFF   stands for itself;
 *           0x01 + 16 bytes     32 lowercase hex digits, high nibble first;
 *           0x02..0x1F          a fixed fragment (st_entry_fragment);
 *           0x00                never written.
 *   anything else is damage.
 * Packing is lossless for any text without bytes below 0x20, which a
 * canonical entry never holds ([ENTRY-5] escapes them); text that has one
 * is kept raw.
 */
#ifndef ST_ENTRY_STORE_H
#define ST_ENTRY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "entry.h"

#define ST_ENTRY_ROW_PACKED 0x01
#define ST_ENTRY_TOKEN_HEX  0x01    /* + 16 bytes: 32 hex digits */
#define ST_ENTRY_FRAG_FIRST 0x02
#define ST_ENTRY_FRAG_LAST  0x1F

/* The fragment that token t (ST_ENTRY_FRAG_FIRST..ST_ENTRY_FRAG_LAST)
 * stands for, and its length. The table is part of the row format: it
 * never changes (a different one would be another row tag). */
const char *st_entry_fragment(unsigned t, size_t *len);

/* The packed row of entry bytes into out (reset first). out is left empty
 * when the bytes are not entry text (empty, over ST_ENTRY_MAX, not starting
 * with '{', or holding a byte below 0x20) or packing would not make them
 * smaller: store them as they are. 0 or ENOMEM. */
ST_NODISCARD int st_entry_row_pack(st_buf *out, const uint8_t *bytes, size_t len);

/* The canonical bytes held by a row: a raw row's own bytes, or a packed
 * row expanded into scratch (reset first; *bytes points into it until its
 * next use). ST_ECORRUPT for a row that is neither, a packed row with a
 * cut-short or 0x00 token, or one that expands to more than ST_ENTRY_MAX
 * bytes or to text that does not start with '{'; ENOMEM if scratch cannot
 * grow. A raw row's *bytes point into row itself (for a table row: the
 * txn's map). */
ST_NODISCARD int st_entry_row_decode(const void *row, size_t rowlen, st_buf *scratch, const uint8_t **bytes,
                                     size_t *len);

/* Entry `index` of txn's log, read, expanded and parsed (st_entry_parse;
 * st_entry_free it). A row that cannot be read fails naming it as `what`
 * ("entry", "record"): "entry 7: stored row is damaged" (ST_ECORRUPT),
 * or the error's own text (ST_ENOTFOUND...); err may be NULL. */
ST_NODISCARD int st_entry_load(st_txn *txn, uint64_t index, const char *what, st_entry *out, st_err *err);

/* Entry `index` of txn's log, decoded as above (*bytes valid until scratch
 * is next used or txn ends). ST_ENOTFOUND if absent. */
ST_NODISCARD int st_entry_row_get(st_txn *txn, uint64_t index, st_buf *scratch, const uint8_t **bytes, size_t *len);

#endif
