/*
 * entry_scan.h: a single-pass check of entry bytes for the verifier's hot
 * path. It accepts exactly the entries st_entry_parse accepts ([ENTRY-1..9],
 * [PAYLOAD-2], [PAYLOAD-3]) without building a tree, and extracts the facts
 * the verifier needs. It never explains a rejection: on any doubt it returns
 * -1 and the caller runs st_entry_parse, the reference, for the verdict and
 * the message. So the scanner can only make verification faster, never
 * laxer, as long as it does not accept what st_entry_parse rejects; the
 * differential tests (tests/unit/test_bundle_scan.c, tests/fuzz/
 * fuzz_entry_scan.c) hold it to that.
 */
#ifndef ST_ENTRY_SCAN_H
#define ST_ENTRY_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "entry.h"

/* A JSON string's content as it appears in the entry (between the quotes). */
typedef struct st_span {
    const uint8_t *p;
    size_t n;
    int esc;        /* contains escape sequences: decode with st_span_decode */
} st_span;

typedef struct st_entry_facts {
    uint64_t index;
    int64_t time_us;
    st_span kind;
    int has_tool, has_event, has_status, has_session;
    st_span tool, event, status, session;
    int has_duration;
    int64_t duration_ms;
    size_t npayloads;
    st_entry_payload payloads[ST_ENTRY_MAX_PAYLOADS];
} st_entry_facts;

/* 0: canonical and well-formed, facts filled. -1: not accepted (ask st_entry_parse). */
int st_entry_scan(st_entry_facts *out, const uint8_t *bytes, size_t len);

/* Decodes a span into out (cap bytes); returns the decoded length, which may
 * exceed cap (then out holds the first cap bytes). Spans come from accepted
 * entries, whose escapes are the canonical ones. */
size_t st_span_decode(const st_span *s, char *out, size_t cap);

#endif
