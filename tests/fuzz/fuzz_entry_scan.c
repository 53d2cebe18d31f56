/*
 * fuzz_entry_scan.c: differential fuzzing of the verifier's one-pass entry
 * scanner (store/verify/entry_scan.c) against the reference st_entry_parse.
 * Aborts if the scanner accepts bytes the reference rejects (a verifier that
 * would pass a non-canonical entry), if the two disagree on the facts of an
 * accepted entry, or if the scanner rejects a valid entry (the fast path
 * would silently stop being taken).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "entry_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_entry e;
    st_entry_facts f;
    st_err err;
    int ref = st_entry_parse(&e, data, size, &err);
    int fast = st_entry_scan(&f, data, size);
    if ((ref == 0) != (fast == 0)) abort();
    if (ref != 0) return 0;
    char kind[4096];
    size_t kl = st_span_decode(&f.kind, kind, sizeof kind);
    if (f.index != e.index || f.time_us != e.time_us || f.npayloads != e.npayloads || kl != strlen(e.kind) ||
        memcmp(kind, e.kind, kl < sizeof kind ? kl : sizeof kind) != 0)
        abort();
    for (size_t i = 0; i < e.npayloads; i++)
        if (memcmp(&f.payloads[i], &e.payloads[i], sizeof f.payloads[i]) != 0) abort();
    st_entry_free(&e);
    return 0;
}
