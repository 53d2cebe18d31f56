/*
 * fuzz_entry_row.c: libFuzzer target for the packed row codecs: the entries
 * table's rows (store/entry_store.c) and small payload rows (payload.c,
 * enc 3; both pack.c). The input is used as a stored entry row, which
 * st_entry_row_decode must refuse or expand to at most ST_ENTRY_MAX bytes of
 * text starting with '{' (never reading past the row), and as entry text,
 * which st_entry_row_pack must leave raw or pack into a shorter row that
 * expands back to exactly the same bytes. Text that a row expands to must
 * survive packing and expanding again unchanged. Then as the body of a
 * payload row stored raw (enc 0: itself), packed (enc 3: refused, or under
 * 128 bytes) or of an unknown encoding (refused), and as a payload, whose
 * row must decode back to exactly it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "entry_store.h"
#include "payload.h"
#include "store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void pack_round_trip(const uint8_t *text, size_t len)
{
    st_buf row = { 0 }, back = { 0 };
    if (st_entry_row_pack(&row, text, len) != 0) abort();
    if (row.len) {
        if (row.len >= len || row.data[0] != ST_ENTRY_ROW_PACKED) abort();
        const uint8_t *b;
        size_t bl;
        if (st_entry_row_decode(row.data, row.len, &back, &b, &bl) != 0) abort();
        if (bl != len || memcmp(b, text, len) != 0) abort();
    }
    st_buf_free(&row);
    st_buf_free(&back);
}

/* data as the body of a payload row of encoding 0..3, and as a payload. */
static void payload_rows(const uint8_t *data, size_t size)
{
    uint8_t row[ST_SALT_BYTES + 1 + 4096];
    if (size > 4096) size = 4096;
    memset(row, 0x5a, ST_SALT_BYTES);
    memcpy(row + ST_SALT_BYTES + 1, data, size);
    static const uint8_t encs[] = { 0, 3, 4 };           /* zstd rows (1, 2) need a transaction for their blobs */
    for (size_t e = 0; e < sizeof encs; e++) {
        uint8_t enc = encs[e];
        st_buf out = { 0 };
        row[ST_SALT_BYTES] = enc;
        int rc = st_payload_decode(NULL, row, ST_SALT_BYTES + 1 + size, NULL, &out);
        if ((rc == 0) != (enc != 4) && !(enc == 3 && rc == ST_ECORRUPT)) abort();
        if (rc == 0 && enc == 3 && out.len >= 128) abort();
        if (rc == 0 && enc == 0 && (out.len != size || (size && memcmp(out.data, data, size) != 0))) abort();
        st_buf_free(&out);
    }
    if (size < 128) {
        st_buf built = { 0 }, back = { 0 };
        uint8_t salt[ST_SALT_BYTES] = { 1 }, salt2[ST_SALT_BYTES];
        if (st_payload_row_build(&built, salt, data, size, NULL) != 0) abort();
        if (built.len > ST_SALT_BYTES + 1 + size) abort();           /* never longer than raw */
        if (st_payload_decode(NULL, built.data, built.len, salt2, &back) != 0) abort();
        if (back.len != size || (size && memcmp(back.data, data, size) != 0) || memcmp(salt, salt2, sizeof salt)) abort();
        st_buf_free(&built);
        st_buf_free(&back);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    payload_rows(data, size);
    st_buf scratch = { 0 };
    const uint8_t *b;
    size_t bl;
    int rc = st_entry_row_decode(data, size, &scratch, &b, &bl);
    if (rc == 0) {
        if (bl == 0 || bl > ST_ENTRY_MAX || b[0] != '{') abort();
        if (size && data[0] == '{' && (b != data || bl != size)) abort();   /* raw rows are their own bytes */
        pack_round_trip(b, bl);
    } else if (rc != ST_ECORRUPT) {
        abort();
    }
    pack_round_trip(data, size);
    st_buf_free(&scratch);
    return 0;
}
