/*
 * fuzz_bundle.c: the bundle reader and verifier on arbitrary bytes. Runs the
 * whole verifier (framing, manifest, notes, proofs, entries, payloads,
 * trailer) single-threaded against the key of the corpus bundles (tests/
 * fuzz/corpus/bundle/, made from synthetic logs signed by
 * example.com/log+9be5d3c6+...), so mutated corpus files reach deep checks;
 * also walks the records with the reader and decoders alone. Invariants:
 * no crash, no sanitizer report, a verdict in 0..3, and a failure message
 * whenever the verdict is not 0.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bundle.h"
#include "verifier.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char TRUSTED[] = "example.com/log+9be5d3c6+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c";

static void walk_records(const uint8_t *data, size_t size)
{
    st_bundle_reader *r = NULL;
    st_err err;
    if (st_bundle_reader_mem(&r, data, size)) return;
    if (st_bundle_read_magic(r, &err) == 0) {
        st_brec rec;
        static uint8_t buf[4096];
        while (st_bundle_next(r, &rec, &err) == 0) {
            if (rec.streamed) {
                while (st_bundle_body_read(r, buf, sizeof buf, &err) > 0) {}
                continue;
            }
            st_brec_proof p;
            st_brec_frontier f;
            st_brec_entry e;
            st_brec_payload pl;
            st_brec_absent a;
            int n = 0;   /* the decoders must reject or accept without reading out of bounds */
            n += st_brec_proof_decode(&p, rec.body, rec.len, &err) == 0;
            n += st_brec_frontier_decode(&f, rec.body, rec.len, &err) == 0;
            n += st_brec_entry_decode(&e, rec.body, rec.len, &err) == 0;
            n += st_brec_payload_decode(&pl, rec.body, rec.len, rec.len, &err) == 0;
            n += st_brec_absent_decode(&a, rec.body, rec.len, &err) == 0;
            if (n > 5) abort();
        }
    }
    st_bundle_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    static st_vkey key;
    static st_verify_report *rep;
    if (!init) {
        st_err err;
        if (sodium_init() < 0 || st_vkey_parse(&key, TRUSTED, strlen(TRUSTED), &err) != 0) abort();
        rep = calloc(1, sizeof *rep);
        if (!rep) abort();
        init = 1;
    }
    walk_records(data, size);
    st_verify_opts o = { .trust = &key, .ntrust = 1, .threads = 1 };
    int v = st_verify_bundle_mem(data, size, &o, rep);
    if (v < 0 || v > 3) abort();
    if (v != 0 && rep->failure[0] == 0) abort();
    if (v == 0 && rep->step != 0) abort();
    return 0;
}
