/*
 * fuzz_canonical.c: st_json_parse_canonical, the verifier's gate for entry
 * bytes [ENTRY-1..6]. Properties:
 *  - accepted input writes back (sorted keys) to exactly the same bytes, and
 *    a plain strict parse accepts it too;
 *  - ST_ENONCANON only for valid JSON (a whitespace-tolerant parse accepts
 *    it), ST_EJSON only for input no parse accepts;
 *  - every error message starts with "offset N: " and N is within the input;
 *  - the canonical form of anything JSON (written with sorted keys) is either
 *    accepted or rejected only for a number or duplicate-key reason (the
 *    writer keeps number literals and duplicates as they are).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fuzz_canonical: %s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_msg(const st_err *err, size_t size)
{
    CHECK(strncmp(err->msg, "offset ", 7) == 0);
    char *end = NULL;
    unsigned long long off = strtoull(err->msg + 7, &end, 10);
    CHECK(end && end[0] == ':' && end[1] == ' ');
    CHECK(off <= size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_json_doc *d = NULL;
    st_err err;
    int rc = st_json_parse_canonical(&d, data, size, 0, &err);
    if (rc == 0) {
        CHECK(d != NULL);
        st_buf b = { 0 };
        st_json_write(&b, st_json_doc_root(d), ST_JSON_SORT_KEYS);
        CHECK(!b.oom && b.len == size && memcmp(b.data, data, size) == 0);
        st_json_doc_free(d);
        st_json_opts o = { 0, 16, 0 };
        CHECK(st_json_parse(&d, (const char *)data, size, &o, NULL, NULL) == 0);
        st_json_doc_free(d);
        st_buf_free(&b);
        return 0;
    }
    CHECK(d == NULL);
    CHECK(rc == ST_ENONCANON || rc == ST_EJSON || rc == ST_EDEPTH || rc == ST_ETOOBIG);
    check_msg(&err, size);

    st_json_opts perm = { ST_JSON_ALLOW_WS | ST_JSON_ALLOW_DUP_KEYS, 16, 0 };
    int prc = st_json_parse(&d, (const char *)data, size, &perm, NULL, NULL);
    if (rc == ST_ENONCANON) CHECK(prc == 0);
    if (rc == ST_EJSON) CHECK(prc == ST_EJSON);
    if (prc == 0) {
        /* the canonical rewrite of valid JSON */
        st_buf b = { 0 };
        st_json_write(&b, st_json_doc_root(d), ST_JSON_SORT_KEYS);
        CHECK(!b.oom);
        st_json_doc *d2 = NULL;
        int rc2 = st_json_parse_canonical(&d2, b.data, b.len, 0, &err);
        if (rc2 != 0) {
            CHECK(rc2 == ST_ENONCANON || rc2 == ST_ETOOBIG);
            CHECK(rc2 == ST_ETOOBIG || strstr(err.msg, "duplicate key") || strstr(err.msg, "not an integer") ||
                  strstr(err.msg, "negative zero") || strstr(err.msg, "out of range"));
        }
        st_json_doc_free(d2);
        st_buf_free(&b);
    }
    st_json_doc_free(d);
    return 0;
}
