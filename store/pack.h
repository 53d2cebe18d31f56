/*
 * pack.h: token packing of JSON text, for the rows that keep short texts
 * (entry rows: entry_store.h; small payloads: payload.c, enc 3). Not part
 * of any signed format: a row gives back exactly the bytes packed.
 *
 * Packed text is a sequence of tokens:
 *   a byte 0x20..0xFF   stands for itself;
 *   0x01 + 16 bytes     32 lowercase hex digits, high nibble first;
 *   0x02..0x1F          fragment number t - 0x02 of the table;
 *   0x00                never written: damage.
 * Text holding a byte below 0x20 cannot be packed (JSON text escapes them).
 * The packer is greedy from the left: 32 hex digits where the next 32
 * bytes all are lowercase hex digits, else the longest fragment that
 * matches, else the byte itself (docs/FORMAT.md section 5).
 */
#ifndef ST_PACK_H
#define ST_PACK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define ST_PACK_TOKEN_HEX  0x01
#define ST_PACK_FRAG_FIRST 0x02
#define ST_PACK_FRAG_LAST  0x1F
#define ST_PACK_NFRAG      (ST_PACK_FRAG_LAST - ST_PACK_FRAG_FIRST + 1)
#define ST_PACK_FRAG_MIN   4u
#define ST_PACK_FRAG_MAX   64u
#define ST_PACK_BUCKETS    128

/* A fragment table and the lookup built from it once (ST_PACK_TABLE). Every
 * fragment is ST_PACK_FRAG_MIN..ST_PACK_FRAG_MAX bytes and starts with one
 * of { " , } (never a hex digit). Never change or reorder a table in use:
 * the rows depend on it. */
typedef struct st_pack_ref { uint32_t head; uint8_t token, len; } st_pack_ref;
typedef struct st_pack_table {
    const char *const *frags;              /* ST_PACK_NFRAG strings */
    pthread_once_t once;
    void (*build)(void);                   /* calls st_pack_table_build on this table */
    uint8_t byte_class[256];
    st_pack_ref refs[ST_PACK_NFRAG];
    uint8_t first[ST_PACK_BUCKETS + 1];
} st_pack_table;

/* Defines table NAME over the fragment array FRAGS. */
#define ST_PACK_TABLE(name, frags)                                                         \
    static void name##_build(void);                                                        \
    static st_pack_table name = { (frags), PTHREAD_ONCE_INIT, name##_build, { 0 }, { { 0, 0, 0 } }, { 0 } }; \
    static void name##_build(void) { st_pack_table_build(&name); }

void st_pack_table_build(st_pack_table *t);

/* Packs s[0..n) into o (room for n bytes): the packed length, or SIZE_MAX
 * if s holds a byte below 0x20. A packed text is never longer than s. */
size_t st_pack(st_pack_table *t, const uint8_t *s, size_t n, uint8_t *o);

/* Expands packed r[0..n) into out (reset first). ST_ECORRUPT if a hex token
 * is cut short, a 0x00 token appears or the text would exceed max bytes;
 * ENOMEM. */
ST_NODISCARD int st_unpack(st_pack_table *t, const uint8_t *r, size_t n, size_t max, st_buf *out);

#endif
