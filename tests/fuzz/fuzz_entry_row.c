/*
 * fuzz_entry_row.c: libFuzzer target for the entries table's row codec
 * (store/entry_store.c). The input is used twice: as a stored row, which
 * st_entry_row_decode must refuse or expand to at most ST_ENTRY_MAX bytes of
 * text starting with '{' (never reading past the row), and as entry text,
 * which st_entry_row_pack must leave raw or pack into a shorter row that
 * expands back to exactly the same bytes. Text that a row expands to must
 * survive packing and expanding again unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "entry_store.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
