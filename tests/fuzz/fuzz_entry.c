/*
 * fuzz_entry.c: libFuzzer target for st_entry_parse, the first thing the
 * verifier does with every leaf of a hostile bundle. For an accepted entry it
 * checks the invariants the rest of the verifier relies on (payload table
 * bounded and well-formed, lookups consistent, the document freed cleanly)
 * and that the canonical bytes parse to the same result a second time.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_entry e;
    st_err err;
    int rc = st_entry_parse(&e, data, size, &err);
    if (rc != 0) {
        if (e.doc != NULL) abort();      /* nothing leaks out of a failed parse */
        return 0;
    }
    if (e.root == NULL || e.kind == NULL || e.kind[0] == 0) abort();
    if (e.npayloads > ST_ENTRY_MAX_PAYLOADS) abort();
    for (size_t i = 0; i < e.npayloads; i++) {
        const st_entry_payload *p = &e.payloads[i];
        if (!st_payload_name_valid(p->name, strlen(p->name))) abort();
        if (st_entry_find_payload(&e, p->name) != p) abort();
        if (p->truncated && p->full_len <= p->len) abort();
    }
    st_entry again;
    if (st_entry_parse(&again, data, size, NULL) != 0) abort();
    if (again.index != e.index || again.time_us != e.time_us || again.npayloads != e.npayloads ||
        strcmp(again.kind, e.kind) != 0)
        abort();
    st_entry_free(&again);
    st_entry_free(&e);
    return 0;
}
