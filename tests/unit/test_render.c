/*
 * test_render.c: the terminal-control escaping of the JSON outputs (log,
 * query jsonl/json/seed, tail, stats --json: st_render_escape_controls,
 * store/render.h).
 *
 *  - every code point U+0080..U+FFFF but the surrogates, and every 97th
 *    above, inside a JSON string: the C1 controls, U+061C, U+200E, U+200F,
 *    U+2028..U+202E and U+2066..U+2069 (a list written here, not taken from
 *    the code) come out as a lower-case \uXXXX escape and never raw; every
 *    other code point comes out byte for byte; cJSON (not our parser) reads
 *    the same string from the output as from the input;
 *  - bytes before `from` are left alone, even a control;
 *  - a text with none of them is not touched; several in a row and at the
 *    very end are all escaped.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "testutil.h"

static int terminal_control(uint32_t c)
{
    return (c >= 0x80 && c <= 0x9f) || c == 0x061c || c == 0x200e || c == 0x200f || (c >= 0x2028 && c <= 0x202e) ||
           (c >= 0x2066 && c <= 0x2069);
}

static size_t utf8(uint8_t *o, uint32_t c)
{
    if (c < 0x80) { o[0] = (uint8_t)c; return 1; }
    if (c < 0x800) { o[0] = (uint8_t)(0xc0 | c >> 6); o[1] = (uint8_t)(0x80 | (c & 0x3f)); return 2; }
    if (c < 0x10000) {
        o[0] = (uint8_t)(0xe0 | c >> 12); o[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3f)); o[2] = (uint8_t)(0x80 | (c & 0x3f));
        return 3;
    }
    o[0] = (uint8_t)(0xf0 | c >> 18); o[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3f));
    o[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3f)); o[3] = (uint8_t)(0x80 | (c & 0x3f));
    return 4;
}

/* The first string of a JSON array, as cJSON reads it (caller frees). */
static char *cjson_string(const uint8_t *s, size_t n)
{
    cJSON *j = cJSON_ParseWithLength((const char *)s, n);
    ck_assert_ptr_nonnull(j);
    const cJSON *e = cJSON_GetArrayItem(j, 0);
    ck_assert(cJSON_IsString(e));
    char *r = strdup(e->valuestring);
    cJSON_Delete(j);
    return r;
}

static void one(uint32_t c)
{
    uint8_t seq[4];
    size_t sl = utf8(seq, c);
    st_buf b = { 0 };
    st_buf_puts(&b, "[\"a");
    st_buf_put(&b, seq, sl);
    st_buf_puts(&b, "b\",1]");
    ck_assert(!b.oom);
    char *want = cjson_string(b.data, b.len);
    size_t before = b.len;
    st_render_escape_controls(&b, 0);
    ck_assert(!b.oom);
    if (terminal_control(c)) {
        char esc[16];
        snprintf(esc, sizeof esc, "\\u%04x", (unsigned)c);
        ck_assert_uint_eq(b.len, before - sl + 6);
        ck_assert_msg(memcmp(b.data + 3, esc, 6) == 0, "U+%04X not escaped", (unsigned)c);
    } else {
        ck_assert_msg(b.len == before && memcmp(b.data + 3, seq, sl) == 0, "U+%04X changed", (unsigned)c);
    }
    char *got = cjson_string(b.data, b.len);
    ck_assert_msg(strcmp(got, want) == 0, "U+%04X: another value after escaping", (unsigned)c);
    free(got);
    free(want);
    st_buf_free(&b);
}

START_TEST(every_code_point)
{
    for (uint32_t c = 0x80; c <= 0xffff; c++)
        if (c < 0xd800 || c > 0xdfff) one(c);
    for (uint32_t c = 0x10000; c <= 0x10ffff; c += 97) one(c);
}
END_TEST

START_TEST(from_offset_and_runs)
{
    static const char head[] = "[\"\xc2\x9b\"]\n";                        /* before `from`: left alone */
    static const char tail[] = "[\"x\xc2\x9b[31m\xe2\x80\xae\xe2\x81\xa6\xd8\x9c\xe2\x80\x8f\xc2\x85\"]\n";
    st_buf b = { 0 };
    st_buf_puts(&b, head);
    size_t from = b.len;
    st_buf_puts(&b, tail);
    st_render_escape_controls(&b, from);
    static const char want[] = "[\"\xc2\x9b\"]\n[\"x\\u009b[31m\\u202e\\u2066\\u061c\\u200f\\u0085\"]\n";
    ck_assert_uint_eq(b.len, sizeof want - 1);
    ck_assert(memcmp(b.data, want, b.len) == 0);

    st_buf c = { 0 };                                  /* nothing to escape: the same bytes */
    static const char plain[] = "{\"t\":\"\xe2\x80\x94 \xe6\x97\xa5 \xc3\xa9 \xd8\xa8 \xe2\x80\x8b\"}\n";
    st_buf_puts(&c, plain);
    st_render_escape_controls(&c, 0);
    ck_assert_uint_eq(c.len, sizeof plain - 1);
    ck_assert(memcmp(c.data, plain, c.len) == 0);
    st_render_escape_controls(&c, c.len);               /* from at the end: a no-op */
    ck_assert_uint_eq(c.len, sizeof plain - 1);
    st_buf_free(&b);
    st_buf_free(&c);
}
END_TEST

static Suite *render_suite(void)
{
    Suite *s = suite_create("render");
    TCase *t = tcase_create("escape_controls");
    tcase_add_test(t, every_code_point);
    tcase_add_test(t, from_offset_and_runs);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return tu_run_suite(render_suite());
}
