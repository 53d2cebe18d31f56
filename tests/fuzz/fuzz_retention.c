/*
 * fuzz_retention.c: the retention record parser and accumulator
 * (store/verify/retention_check.h) on hostile input. The input is lines:
 * each line is parsed as a record entry (st_rrec_parse_bytes) and fed to
 * an accumulator as a record of one synthetic bundle; the bytes of the
 * input also drive 64 entries (time and payload counts) of that bundle and
 * of a second, overlapping one (and, for input starting "#far" LF, of a
 * third just below ST_RC_MAX_INDEX: records reaching back over the span
 * between must be judged in time). Invariants: no crash or leak, a parsed
 * record re-checks (begin < end <= index, covers only what it names), and
 * the verdict agrees with the counted findings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "retention_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void feed_entries(st_rc *rc, const uint8_t *d, size_t n, uint64_t b, uint64_t e)
{
    for (uint64_t i = b; i < e; i++) {
        uint8_t x = n ? d[i % n] : 0;
        st_rc_entry en = { i, (int64_t)i * 1000000 + (int64_t)(x & 7), x & 3, 0, 0, 0, 0 };
        unsigned k = en.npayloads;
        en.present = k && (x & 4) ? k : 0;
        if (k && !en.present) {
            if (x & 8) en.archived = k;
            else if (x & 16) en.pruned = k;
            else en.erased = k;
        }
        if (st_rc_entry_add(rc, &en) != 0) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static st_rrec r;
    st_rc *rc;
    if (st_rc_new(&rc, NULL) != 0) return 0;
    st_rc_bundle b = { "fuzz", "fuzz.example/log", 1, 0, 64, 0, { 0 } };
    if (st_rc_bundle_begin(rc, &b) != 0) abort();
    st_hash h;
    memset(h, size & 0xff, sizeof h);
    if (st_rc_root(rc, 64, h, (int64_t)size) != 0) abort();
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i < size && data[i] != '\n') continue;
        const uint8_t *line = data + start;
        size_t len = i - start;
        start = i + 1;
        st_err err;
        if (st_rrec_parse_bytes(&r, line, len, &err) == 0 && r.kind != ST_RREC_NONE) {
            if ((r.kind == ST_RREC_ARCHIVE || r.kind == ST_RREC_PRUNE) && !(r.begin < r.end && r.end <= r.index))
                abort();
            if (r.kind == ST_RREC_ERASURE && (r.target >= r.index || st_rrec_covers(&r, r.index, "x"))) abort();
            if (r.kind == ST_RREC_POLICY && r.has_max && r.max_us < r.min_us) abort();
        }
        if (st_rc_record(rc, line, len) != 0) abort();
    }
    feed_entries(rc, data, size, 0, 64);
    if (st_rc_bundle_end(rc) != 0) abort();
    st_rc_bundle b2 = { "fuzz2", "fuzz.example/log", 1, 32, 96, 0, { 0 } };
    if (st_rc_bundle_begin(rc, &b2) != 0 || st_rc_root(rc, 64, h, 0) != 0) abort();
    feed_entries(rc, data, size, 32, 96);
    if (st_rc_bundle_end(rc) != 0) abort();
    /* "#far" first: a third bundle of 64 entries just below ST_RC_MAX_INDEX,
     * so records reaching back over the huge span between are judged (fast) */
    int far = size >= 5 && memcmp(data, "#far\n", 5) == 0;
    if (far) {
        st_rc_bundle b3 = { "far", "fuzz.example/log", 1, ST_RC_MAX_INDEX - 64, ST_RC_MAX_INDEX, 0, { 0 } };
        if (st_rc_bundle_begin(rc, &b3) != 0 || st_rc_root(rc, ST_RC_MAX_INDEX, h, 0) != 0) abort();
        feed_entries(rc, data, size, ST_RC_MAX_INDEX - 64, ST_RC_MAX_INDEX);
        if (st_rc_bundle_end(rc) != 0) abort();
    }
    st_rc_report *rep = malloc(sizeof *rep);
    if (rep && st_rc_finish(rc, rep) == 0) {
        if ((rep->violations > 0) != (rep->verdict == ST_RC_VIOLATED)) abort();
        if (rep->nfindings > ST_RC_FINDINGS) abort();
        if (rep->span_end != (far ? ST_RC_MAX_INDEX : 96)) abort();
    }
    free(rep);
    st_rc_free(rc);
    return 0;
}
