/*
 * entry_store.c: entry rows, raw or packed (layout in entry_store.h).
 *
 * WHY. An entry is about 560 bytes: 40% hex digits (commitments, often the
 * session) and most of the rest member names that every entry repeats.
 * Kept raw, entries were a third of a store's bytes and of what an import
 * writes, and this VM charges for every new page written. Packing halves
 * the hex and writes each common member name as one byte: 558 bytes become
 * about 200, in 0.6 us (and 0.2 us back). zstd with a trained dictionary made
 * them 231 bytes but cost 2.2 us per entry to compress (its per-frame setup
 * dominates at this size), more CPU than the bytes saved were worth.
 */
#include "entry_store.h"

#include "pack.h"
#include "store_int.h"

#include <errno.h>
#include <string.h>

/* Token 0x02 + i stands for FRAGMENTS[i] (pack.h): the member names of
 * entries with their separators, in the canonical order in which they meet
 * (FORMAT.md section 1.1), the common values with them. Never change or
 * reorder. */
static const char *const FRAGMENTS[ST_PACK_NFRAG] = {
    "{\"cwd\":\"",                                /* 0x02 */
    "\",\"duration_ms\":",                        /* 0x03 */
    "{\"duration_ms\":",                          /* 0x04 */
    ",\"error\":\"",                              /* 0x05 */
    ",\"event\":\"PostToolUse\",\"host\":\"",     /* 0x06 */
    ",\"event\":\"PreToolUse\",\"host\":\"",      /* 0x07 */
    "\",\"event\":\"PostToolUseFailure\",\"host\":\"", /* 0x08 */
    ",\"event\":\"",                              /* 0x09 */
    "\",\"host\":\"",                             /* 0x0a */
    "\",\"index\":",                              /* 0x0b */
    ",\"kind\":\"event\",\"payloads\":{",         /* 0x0c */
    ",\"kind\":\"import\",\"payloads\":{",        /* 0x0d */
    "\",\"payloads\":{",                          /* 0x0e */
    "\"event\":{\"commit\":\"",                   /* 0x0f */
    "\"error\":{\"commit\":\"",                   /* 0x10 */
    "\",\"len\":",                                /* 0x11 */
    "},\"tool_input\":{\"commit\":\"",            /* 0x12 */
    "},\"tool_response\":{\"commit\":\"",         /* 0x13 */
    "}},\"permission_mode\":\"default\"",         /* 0x14 */
    "}},\"recorded_us\":",                        /* 0x15 */
    ",\"prompt_id\":\"",                          /* 0x16 */
    ",\"session\":\"",                            /* 0x17 */
    "\",\"status\":\"succeeded\",\"time_us\":",   /* 0x18 */
    "\",\"status\":\"started\",\"time_us\":",     /* 0x19 */
    "\",\"status\":\"failed\",\"time_us\":",      /* 0x1a */
    "\",\"time_us\":",                            /* 0x1b */
    ",\"tool\":\"",                               /* 0x1c */
    "\",\"tool_use_id\":\"toolu_01",              /* 0x1d */
    "\",\"user\":\"",                             /* 0x1e */
    "\",\"v\":1}",                                /* 0x1f */
};
ST_PACK_TABLE(entry_table, FRAGMENTS)

const char *st_entry_fragment(unsigned t, size_t *len)
{
    if (t < ST_ENTRY_FRAG_FIRST || t > ST_ENTRY_FRAG_LAST) return NULL;
    const char *f = FRAGMENTS[t - ST_ENTRY_FRAG_FIRST];
    if (len) *len = strlen(f);
    return f;
}

int st_entry_row_pack(st_buf *out, const uint8_t *s, size_t n)
{
    st_buf_reset(out);
    if (n < 2 || n > ST_ENTRY_MAX || s[0] != '{') return 0;
    /* A packed row is never longer than 1 + n: every token is at most as long as what it stands for. */
    if (st_buf_reserve(out, 1 + n) != 0) return ENOMEM;
    out->data[0] = ST_ENTRY_ROW_PACKED;
    size_t k = st_pack(&entry_table, s, n, out->data + 1);
    out->len = k < n - 1 ? 1 + k : 0;   /* below 0x20 (not entry text), or no smaller: raw */
    return 0;
}

int st_entry_row_decode(const void *row, size_t rowlen, st_buf *scratch, const uint8_t **bytes, size_t *len)
{
    const uint8_t *r = row;
    if (rowlen >= 1 && r[0] == '{') {
        *bytes = r;
        *len = rowlen;
        return 0;
    }
    if (rowlen < 2 || r[0] != ST_ENTRY_ROW_PACKED) return ST_ECORRUPT;
    int rc = st_unpack(&entry_table, r + 1, rowlen - 1, ST_ENTRY_MAX, scratch);
    if (rc) return rc;
    if (scratch->len == 0 || scratch->data[0] != '{') return ST_ECORRUPT;
    *bytes = scratch->data;
    *len = scratch->len;
    return 0;
}

int st_entry_load(st_txn *txn, uint64_t index, const char *what, st_entry *out, st_err *err)
{
    const uint8_t *b;
    size_t bl;
    st_buf row = { 0 };
    int rc = st_entry_row_get(txn, index, &row, &b, &bl);
    if (rc) rc = st_fail(err, rc, "%s %llu: %s", what, (unsigned long long)index,
                         rc == ST_ECORRUPT ? "stored row is damaged" : st_strerror(rc));
    else rc = st_entry_parse(out, b, bl, err);    /* the parse copies what it keeps */
    st_buf_free(&row);
    return rc;
}

int st_entry_row_get(st_txn *txn, uint64_t index, st_buf *scratch, const uint8_t **bytes, size_t *len)
{
    uint8_t key[8];
    const void *v;
    size_t vl;
    st_be64_put(key, index);
    int rc = st_db_get(txn, ST_T_ENTRIES, key, 8, &v, &vl);
    if (rc) return rc;
    return st_entry_row_decode(v, vl, scratch, bytes, len);
}
