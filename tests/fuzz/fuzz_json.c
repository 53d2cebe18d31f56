/*
 * fuzz_json.c: st_json_parse under every flag combination that matters, then
 * the round-trip properties the rest of sealtrail relies on:
 *  - whatever parses, written compactly, parses again strictly (no whitespace,
 *    strict UTF-8) and writes back to the same bytes: the writer's output is a
 *    fixed point, in input order and with sorted keys;
 *  - a clone writes the same bytes as its original;
 *  - LENIENT_UTF8 accepts everything the strict parse accepts, with the same
 *    result and no replacements;
 *  - errors always carry "offset N: " matching info.error_offset.
 * Any violation aborts, so the corpus replay in ctest fails loudly.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fuzz_json: %s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void write_doc(st_buf *b, const st_json *v, unsigned wflags)
{
    st_buf_reset(b);
    st_json_write(b, v, wflags);
    CHECK(!b->oom);
}

static void check_error(int rc, const st_err *err, const st_json_info *info, size_t size)
{
    CHECK(rc == ST_EJSON || rc == ST_EDEPTH);
    char pre[48];
    snprintf(pre, sizeof pre, "offset %zu: ", info->error_offset);
    CHECK(strncmp(err->msg, pre, strlen(pre)) == 0);
    CHECK(info->error_offset <= size);
}

/* parse(out) strictly and write again: must reproduce out exactly. */
static void check_fixed_point(const st_buf *out, unsigned pflags, unsigned max_depth, unsigned wflags)
{
    st_json_opts o = { pflags & (ST_JSON_ALLOW_DUP_KEYS | ST_JSON_INTEGERS_ONLY), max_depth, 0 };
    st_json_doc *d = NULL;
    st_json_info info;
    st_err err;
    int rc = st_json_parse(&d, (const char *)out->data, out->len, &o, &info, &err);
    if (rc != 0) fprintf(stderr, "reparse failed: %s\n", err.msg);
    CHECK(rc == 0);
    CHECK(info.replaced == 0);
    st_buf again = { 0 };
    write_doc(&again, st_json_doc_root(d), wflags);
    CHECK(again.len == out->len && memcmp(again.data, out->data, out->len) == 0);
    st_buf_free(&again);
    st_json_doc_free(d);
}

static void one(const uint8_t *data, size_t size, unsigned flags, unsigned max_depth)
{
    st_json_opts o = { flags, max_depth, 0 };
    st_json_doc *d = NULL;
    st_json_info info;
    st_err err;
    int rc = st_json_parse(&d, (const char *)data, size, &o, &info, &err);
    if (rc != 0) {
        CHECK(d == NULL);
        check_error(rc, &err, &info, size);
        return;
    }
    if (!(flags & ST_JSON_LENIENT_UTF8)) CHECK(info.replaced == 0);

    st_buf out = { 0 }, sorted = { 0 }, cl = { 0 };
    const st_json *root = st_json_doc_root(d);
    write_doc(&out, root, 0);
    write_doc(&sorted, root, ST_JSON_SORT_KEYS);
    CHECK(out.len == sorted.len);
    /* without whitespace, replacements or escapes the output is never longer than the input */
    if (!(flags & ST_JSON_LENIENT_UTF8)) CHECK(out.len <= size || memchr(data, '\\', size));
    check_fixed_point(&out, flags, max_depth, 0);
    check_fixed_point(&sorted, flags, max_depth, ST_JSON_SORT_KEYS);

    st_json_doc *d2 = st_json_doc_new();
    CHECK(d2 != NULL);
    const st_json *c = st_json_clone(d2, root);
    CHECK(c != NULL);
    st_json_doc_free(d); /* the clone must not point into the original */
    write_doc(&cl, c, 0);
    CHECK(cl.len == out.len && memcmp(cl.data, out.data, out.len) == 0);
    st_json_doc_free(d2);

    /* what parses strictly parses leniently to the same thing */
    if (!(flags & ST_JSON_LENIENT_UTF8)) {
        o.flags = flags | ST_JSON_LENIENT_UTF8;
        rc = st_json_parse(&d, (const char *)data, size, &o, &info, &err);
        CHECK(rc == 0 && info.replaced == 0);
        write_doc(&cl, st_json_doc_root(d), 0);
        CHECK(cl.len == out.len && memcmp(cl.data, out.data, out.len) == 0);
        st_json_doc_free(d);
    }
    st_buf_free(&out);
    st_buf_free(&sorted);
    st_buf_free(&cl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size, 0, 0);
    one(data, size, ST_JSON_ALLOW_WS, 0);
    one(data, size, ST_JSON_ALLOW_WS | ST_JSON_LENIENT_UTF8, 0);
    one(data, size, ST_JSON_ALLOW_WS | ST_JSON_LENIENT_UTF8 | ST_JSON_ALLOW_DUP_KEYS, 0);
    one(data, size, ST_JSON_ALLOW_WS | ST_JSON_INTEGERS_ONLY, 0);
    one(data, size, ST_JSON_ALLOW_WS | ST_JSON_LENIENT_UTF8, 4);
    return 0;
}
