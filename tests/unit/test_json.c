/*
 * test_json.c: the strict JSON parser, writer and canonical check
 * (store/verify/json.c). RFC 8259 edge cases, every parse flag, NUL in keys
 * and values, surrogates, UTF-8 edge cases (Unicode 15 section 3.9 tables),
 * depth and size limits, duplicate keys, builders, and the canonical-entry
 * check of docs/FORMAT.md [ENTRY-1..6] with negatives named after the
 * mutation. Every case asserts exact bytes or exact error text.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "testutil.h"

#define S(lit) (lit), (sizeof(lit) - 1)
#define SHOWN(n) ((int)((n) > 200 ? 200 : (n))) /* Check caps message length */

/* ---- helpers --------------------------------------------------------------- */

static int parse_f(const char *s, size_t n, unsigned flags, unsigned depth, st_json_doc **d,
                   st_json_info *info, st_err *err)
{
    st_json_opts o = { flags, depth, 0 };
    return st_json_parse(d, s, n, &o, info, err);
}

/* Parses, writes with wflags; returns the output (caller frees) or NULL with *rc. */
static char *rt(const char *s, size_t n, unsigned pflags, unsigned wflags, int *rc, size_t *outlen)
{
    st_json_doc *d = NULL;
    st_err err = { { 0 } };
    *rc = parse_f(s, n, pflags, 0, &d, NULL, &err);
    if (*rc) return NULL;
    st_buf b = { 0 };
    st_json_write(&b, st_json_doc_root(d), wflags);
    st_json_doc_free(d);
    ck_assert(!b.oom);
    return st_buf_steal_str(&b, outlen);
}

/* parse(in) then write == want, byte for byte. */
static void expect_rt(const char *in, size_t n, unsigned pflags, unsigned wflags, const char *want, size_t wn)
{
    int rc;
    size_t outlen = 0;
    char *out = rt(in, n, pflags, wflags, &rc, &outlen);
    ck_assert_msg(rc == 0, "parse of [%.*s] failed: %d", SHOWN(n), in, rc);
    ck_assert_msg(outlen == wn && memcmp(out, want, wn) == 0, "[%.*s] wrote [%.*s], want [%.*s]", SHOWN(n), in,
                  (int)outlen, out, (int)wn, want);
    free(out);
}

/* parse(in) fails with rc and err->msg == want_msg exactly (or contains it when substr). */
static void expect_err(const char *in, size_t n, unsigned flags, int want_rc, const char *want_msg)
{
    st_json_doc *d = (st_json_doc *)1;
    st_err err = { { 0 } };
    st_json_info info;
    int rc = parse_f(in, n, flags, 0, &d, &info, &err);
    ck_assert_msg(rc == want_rc, "[%.*s]: rc %d (%s), want %d", SHOWN(n), in, rc, err.msg, want_rc);
    ck_assert_ptr_null(d);
    if (want_msg) ck_assert_msg(strcmp(err.msg, want_msg) == 0, "[%.*s]: msg [%s], want [%s]", SHOWN(n), in, err.msg, want_msg);
    /* the message starts with the offset info reports */
    char pre[40];
    snprintf(pre, sizeof pre, "offset %zu: ", info.error_offset);
    ck_assert_msg(strncmp(err.msg, pre, strlen(pre)) == 0, "msg [%s] vs error_offset %zu", err.msg, info.error_offset);
    /* info tells a duplicate key from every other error (hook install relies on it) */
    int dup = strncmp(err.msg + strlen(pre), "duplicate key ", 14) == 0;
    ck_assert_msg(info.duplicate_key == dup, "[%s]: duplicate_key %d", err.msg, info.duplicate_key);
}

static void expect_str(const char *in, size_t n, unsigned flags, const char *want, size_t wn, size_t want_replaced)
{
    st_json_doc *d = NULL;
    st_err err = { { 0 } };
    st_json_info info;
    int rc = parse_f(in, n, flags, 0, &d, &info, &err);
    ck_assert_msg(rc == 0, "[%.*s]: %s", SHOWN(n), in, err.msg);
    const st_json *v = st_json_doc_root(d);
    ck_assert_int_eq(v->type, ST_JSON_STRING);
    ck_assert_uint_eq(v->len, wn);
    ck_assert_msg(memcmp(v->str, want, wn) == 0, "decoded bytes differ for [%.*s]", SHOWN(n), in);
    ck_assert_int_eq(v->str[wn], 0);
    ck_assert_uint_eq(info.replaced, want_replaced);
    st_json_doc_free(d);
}

static void expect_canon_ok(const char *in, size_t n)
{
    st_json_doc *d = NULL;
    st_err err = { { 0 } };
    int rc = st_json_parse_canonical(&d, (const uint8_t *)in, n, 0, &err);
    ck_assert_msg(rc == 0, "[%.*s] not canonical: %s", SHOWN(n), in, err.msg);
    ck_assert_ptr_nonnull(d);
    st_buf b = { 0 };
    st_json_write(&b, st_json_doc_root(d), ST_JSON_SORT_KEYS);
    ck_assert(b.len == n && memcmp(b.data, in, n) == 0);
    st_buf_free(&b);
    st_json_doc_free(d);
}

static void expect_canon_bad(const char *in, size_t n, int want_rc, const char *want_msg)
{
    st_json_doc *d = (st_json_doc *)1;
    st_err err = { { 0 } };
    int rc = st_json_parse_canonical(&d, (const uint8_t *)in, n, 0, &err);
    ck_assert_msg(rc == want_rc, "[%.*s]: rc %d (%s), want %d", SHOWN(n), in, rc, err.msg, want_rc);
    ck_assert_ptr_null(d);
    if (want_msg) ck_assert_msg(strcmp(err.msg, want_msg) == 0, "[%.*s]: msg [%s], want [%s]", SHOWN(n), in, err.msg, want_msg);
}

/* ---- RFC 8259 --------------------------------------------------------------- */

/* util.c's growable array: room only when full, doubling from `first`,
 * and no reallocation whose size would overflow. */
START_TEST(array_room_doubles_and_refuses_overflow)
{
    size_t cap = 0;
    uint32_t *v = NULL;
    for (size_t n = 0; n < 100; n++) {
        uint32_t *p = st_array_room(v, &cap, n, sizeof *p, 4);
        ck_assert_ptr_nonnull(p);
        v = p;
        v[n] = (uint32_t)n;
        ck_assert_uint_ge(cap, n + 1);
    }
    ck_assert_uint_eq(cap, 128);
    ck_assert_ptr_eq(st_array_room(v, &cap, 50, sizeof *v, 4), v);   /* not full: unchanged */
    for (uint32_t i = 0; i < 100; i++) ck_assert_uint_eq(v[i], i);
    size_t huge = SIZE_MAX / 2 + 1;
    ck_assert_ptr_null(st_array_room(v, &huge, huge, sizeof *v, 4));
    ck_assert_uint_eq(huge, SIZE_MAX / 2 + 1);
    free(v);
}
END_TEST

START_TEST(rfc8259_valid_roundtrip)
{
    const unsigned W = ST_JSON_ALLOW_WS;
    expect_rt(S(" [1, 2 ,3 ] "), W, 0, S("[1,2,3]"));
    expect_rt(S("\t{\r\n\"a\" : { \"b\" : [ { } , [ ] ] } }\n"), W, 0, S("{\"a\":{\"b\":[{},[]]}}"));
    expect_rt(S("{}"), 0, 0, S("{}"));
    expect_rt(S("[]"), 0, 0, S("[]"));
    expect_rt(S("\"a\""), 0, 0, S("\"a\""));
    expect_rt(S("\"\""), 0, 0, S("\"\""));
    expect_rt(S("true"), 0, 0, S("true"));
    expect_rt(S("false"), 0, 0, S("false"));
    expect_rt(S("null"), 0, 0, S("null"));
    expect_rt(S("[true,false,null]"), 0, 0, S("[true,false,null]"));
    /* numbers keep their literal text */
    expect_rt(S("0"), 0, 0, S("0"));
    expect_rt(S("-0"), 0, 0, S("-0"));
    expect_rt(S("-1.5e+10"), 0, 0, S("-1.5e+10"));
    expect_rt(S("1E5"), 0, 0, S("1E5"));
    expect_rt(S("1e-05"), 0, 0, S("1e-05"));
    expect_rt(S("0.000"), 0, 0, S("0.000"));
    expect_rt(S("123456789012345678901234567890"), 0, 0, S("123456789012345678901234567890"));
    /* escapes decode; the writer re-escapes minimally [ENTRY-5] */
    expect_rt(S("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""), 0, 0, S("\"\\\"\\\\/\\b\\f\\n\\r\\t\""));
    expect_rt(S("\"\\u0041\\u00e9\\u2028\\u007f\""), 0, 0, S("\"A\xc3\xa9\xe2\x80\xa8\x7f\""));
    expect_rt(S("\"\\u001F\\u0001\\u000b\""), 0, 0, S("\"\\u001f\\u0001\\u000b\""));
    expect_rt(S("\"\\u000A\\u0008\""), 0, 0, S("\"\\n\\b\""));
    /* raw DEL, U+2028 and non-ASCII pass through */
    expect_rt(S("\"\x7f\xe2\x80\xa8\xc3\xa9\""), 0, 0, S("\"\x7f\xe2\x80\xa8\xc3\xa9\""));
}
END_TEST

START_TEST(rfc8259_invalid)
{
    expect_err(S(""), 0, ST_EJSON, "offset 0: expected a value, found end of input");
    expect_err(S("   "), ST_JSON_ALLOW_WS, ST_EJSON, "offset 3: expected a value, found end of input");
    expect_err(S("{"), 0, ST_EJSON, "offset 1: expected '\"' (an object key), found end of input");
    expect_err(S("["), 0, ST_EJSON, "offset 1: expected a value, found end of input");
    expect_err(S("[1,]"), 0, ST_EJSON, "offset 3: expected a value, found ']'");
    expect_err(S("[1,,2]"), 0, ST_EJSON, "offset 3: expected a value, found ','");
    expect_err(S("{\"a\":1,}"), 0, ST_EJSON, "offset 7: expected '\"' (an object key), found '}'");
    expect_err(S("{\"a\"}"), 0, ST_EJSON, "offset 4: expected ':', found '}'");
    expect_err(S("{a:1}"), 0, ST_EJSON, "offset 1: expected '\"' (an object key), found 'a'");
    expect_err(S("{1:1}"), 0, ST_EJSON, "offset 1: expected '\"' (an object key), found '1'");
    expect_err(S("'a'"), 0, ST_EJSON, "offset 0: expected a value, found '''");
    expect_err(S("[1 2]"), ST_JSON_ALLOW_WS, ST_EJSON, "offset 3: expected ',' or ']', found '2'");
    expect_err(S("{\"a\":1 \"b\":2}"), ST_JSON_ALLOW_WS, ST_EJSON, "offset 7: expected ',' or '}', found '\"'");
    expect_err(S("[1}"), 0, ST_EJSON, "offset 2: expected ',' or ']', found '}'");
    expect_err(S("{\"a\":1]"), 0, ST_EJSON, "offset 6: expected ',' or '}', found ']'");
    expect_err(S("[\"a\""), 0, ST_EJSON, "offset 4: expected ',' or ']', found end of input");
    /* numbers */
    expect_err(S("01"), 0, ST_EJSON, "offset 0: number with a leading zero");
    expect_err(S("-01"), 0, ST_EJSON, "offset 0: number with a leading zero");
    expect_err(S("-"), 0, ST_EJSON, "offset 1: invalid number: expected a digit, found end of input");
    expect_err(S("1."), 0, ST_EJSON, "offset 2: invalid number: expected a digit, found end of input");
    expect_err(S("1.e5"), 0, ST_EJSON, "offset 2: invalid number: expected a digit, found 'e'");
    expect_err(S("1e"), 0, ST_EJSON, "offset 2: invalid number: expected a digit, found end of input");
    expect_err(S("1e+"), 0, ST_EJSON, "offset 3: invalid number: expected a digit, found end of input");
    expect_err(S(".5"), 0, ST_EJSON, "offset 0: expected a value, found '.'");
    expect_err(S("+1"), 0, ST_EJSON, "offset 0: expected a value, found '+'");
    expect_err(S("NaN"), 0, ST_EJSON, "offset 0: expected a value, found 'N'");
    expect_err(S("Infinity"), 0, ST_EJSON, "offset 0: expected a value, found 'I'");
    expect_err(S("-Infinity"), 0, ST_EJSON, "offset 1: invalid number: expected a digit, found 'I'");
    expect_err(S("[-NaN]"), 0, ST_EJSON, "offset 2: invalid number: expected a digit, found 'N'");
    expect_err(S("0x10"), 0, ST_EJSON, "offset 1: trailing bytes after the JSON value ('x')");
    /* literals */
    expect_err(S("tru"), 0, ST_EJSON, "offset 0: expected a value, found 't'");
    expect_err(S("nul"), 0, ST_EJSON, "offset 0: expected a value, found 'n'");
    expect_err(S("True"), 0, ST_EJSON, "offset 0: expected a value, found 'T'");
    expect_err(S("nulls"), 0, ST_EJSON, "offset 4: trailing bytes after the JSON value ('s')");
    /* strings */
    expect_err(S("\"abc"), 0, ST_EJSON, "offset 4: unterminated string (opened at offset 0)");
    expect_err(S("\"abc\\"), 0, ST_EJSON, "offset 5: unterminated string (opened at offset 0)");
    expect_err(S("\"\\x\""), 0, ST_EJSON, "offset 1: invalid escape \\'x'");
    expect_err(S("\"\\U0041\""), 0, ST_EJSON, "offset 1: invalid escape \\'U'");
    expect_err(S("\"\\u12\""), 0, ST_EJSON, "offset 1: invalid \\u escape (four hex digits expected)");
    expect_err(S("\"\\u12G4\""), 0, ST_EJSON, "offset 1: invalid \\u escape (four hex digits expected)");
    expect_err(S("\"\\u004"), 0, ST_EJSON, "offset 1: invalid \\u escape (four hex digits expected)");
    expect_err(S("\"a\x01" "b\""), 0, ST_EJSON, "offset 2: control character 0x01 in string (must be escaped)");
    expect_err(S("\"\t\""), 0, ST_EJSON, "offset 1: control character 0x09 in string (must be escaped)");
    expect_err(S("\"a\nb\""), ST_JSON_LENIENT_UTF8, ST_EJSON, "offset 2: control character 0x0a in string (must be escaped)");
    expect_err(S("[\"\0\"]"), 0, ST_EJSON, "offset 2: control character 0x00 in string (must be escaped)");
    /* comments, BOM, other whitespace */
    expect_err(S("//c\n1"), ST_JSON_ALLOW_WS, ST_EJSON, "offset 0: expected a value, found '/'");
    expect_err(S("/*c*/1"), ST_JSON_ALLOW_WS, ST_EJSON, "offset 0: expected a value, found '/'");
    expect_err(S("[1]//"), ST_JSON_ALLOW_WS, ST_EJSON, "offset 3: trailing bytes after the JSON value ('/')");
    expect_err(S("\xef\xbb\xbf{}"), ST_JSON_ALLOW_WS, ST_EJSON, "offset 0: expected a value, found '\\xef'");
    expect_err(S("\f1"), ST_JSON_ALLOW_WS, ST_EJSON, "offset 0: expected a value, found '\\x0c'");
    expect_err(S("[1,\v2]"), ST_JSON_ALLOW_WS, ST_EJSON, "offset 3: expected a value, found '\\x0b'");
    expect_err(S("\xc2\xa0" "1"), ST_JSON_ALLOW_WS, ST_EJSON, "offset 0: expected a value, found '\\xc2'");
}
END_TEST

START_TEST(trailing_garbage)
{
    expect_err(S("{}x"), 0, ST_EJSON, "offset 2: trailing bytes after the JSON value ('x')");
    expect_err(S("{}{}"), 0, ST_EJSON, "offset 2: trailing bytes after the JSON value ('{')");
    expect_err(S("{} {}"), ST_JSON_ALLOW_WS, ST_EJSON, "offset 3: trailing bytes after the JSON value ('{')");
    expect_err(S("{\"a\":1}\n{\"a\":2}"), ST_JSON_ALLOW_WS, ST_EJSON, "offset 8: trailing bytes after the JSON value ('{')");
    expect_err(S("1 2"), ST_JSON_ALLOW_WS, ST_EJSON, "offset 2: trailing bytes after the JSON value ('2')");
    expect_err(S("\"a\"\"b\""), 0, ST_EJSON, "offset 3: trailing bytes after the JSON value ('\"')");
    expect_err(S("[]]"), 0, ST_EJSON, "offset 2: trailing bytes after the JSON value (']')");
    expect_err(S("[]\0"), ST_JSON_ALLOW_WS, ST_EJSON, "offset 2: trailing bytes after the JSON value ('\\x00')");
    expect_err(S("{}\n"), 0, ST_EJSON, "offset 2: trailing bytes after the JSON value ('\\x0a')");
    expect_rt(S("{} \n\t\r"), ST_JSON_ALLOW_WS, 0, S("{}"));
    /* a top-level array is fine */
    expect_rt(S("[{\"a\":1},{\"a\":2}]"), 0, 0, S("[{\"a\":1},{\"a\":2}]"));
}
END_TEST

START_TEST(flag_allow_ws)
{
    expect_err(S("{\"a\": 1}"), 0, ST_EJSON, "offset 5: whitespace is not allowed here (expected a value)");
    expect_err(S(" {}"), 0, ST_EJSON, "offset 0: whitespace is not allowed here (expected a value)");
    expect_err(S("{ }"), 0, ST_EJSON, "offset 1: whitespace is not allowed here (expected '\"' (an object key))");
    expect_err(S("[1 ]"), 0, ST_EJSON, "offset 2: whitespace is not allowed here (expected ',' or ']')");
    expect_err(S("{\"a\" :1}"), 0, ST_EJSON, "offset 4: whitespace is not allowed here (expected ':')");
    expect_rt(S("{\"a\": 1}"), ST_JSON_ALLOW_WS, 0, S("{\"a\":1}"));
    expect_rt(S(" { \"a\" : [ 1 , \" x \" ] } "), ST_JSON_ALLOW_WS, 0, S("{\"a\":[1,\" x \"]}"));
    /* whitespace inside strings is content, not whitespace */
    expect_rt(S("\" a \""), 0, 0, S("\" a \""));
}
END_TEST

/* ---- strings: NUL, surrogates, UTF-8 ------------------------------------------ */

START_TEST(nul_in_keys_and_values)
{
    const char in[] = "{\"a\\u0000b\":\"x\\u0000y\",\"a\":\"\\u0000\"}";
    st_json_doc *d = NULL;
    st_err err;
    ck_assert_int_eq(parse_f(S(in), 0, 0, &d, NULL, &err), 0);
    const st_json *r = st_json_doc_root(d);
    ck_assert_uint_eq(r->count, 2);
    const st_json *m = r->child;
    ck_assert_uint_eq(m->key_len, 3);
    ck_assert(memcmp(m->key, "a\0b", 3) == 0);
    ck_assert_uint_eq(m->len, 3);
    ck_assert(memcmp(m->str, "x\0y", 4) == 0);
    /* lookup is length-aware: "a" finds the second member, not the first */
    const st_json *a = st_json_get(r, "a");
    ck_assert_ptr_eq(a, m->next);
    ck_assert_uint_eq(a->len, 1);
    ck_assert_int_eq(a->str[0], 0);
    ck_assert_ptr_eq(st_json_getn(r, "a\0b", 3), m);
    ck_assert_ptr_null(st_json_getn(r, "a\0c", 3));
    size_t len = 0;
    const char *s = st_json_get_str(r, "a", &len);
    ck_assert_ptr_eq(s, a->str);
    ck_assert_uint_eq(len, 1);
    st_json_doc_free(d);
    expect_rt(S(in), 0, 0, S("{\"a\\u0000b\":\"x\\u0000y\",\"a\":\"\\u0000\"}"));
    expect_rt(S(in), 0, ST_JSON_SORT_KEYS, S("{\"a\":\"\\u0000\",\"a\\u0000b\":\"x\\u0000y\"}"));
}
END_TEST

START_TEST(surrogate_pairs)
{
    expect_str(S("\"\\ud83d\\ude00\""), 0, S("\xf0\x9f\x98\x80"), 0);
    expect_str(S("\"\\uD83D\\uDE00\""), 0, S("\xf0\x9f\x98\x80"), 0);
    expect_str(S("\"\\ud800\\udc00\""), 0, S("\xf0\x90\x80\x80"), 0);          /* U+10000 */
    expect_str(S("\"\\udbff\\udfff\""), 0, S("\xf4\x8f\xbf\xbf"), 0);          /* U+10FFFF */
    expect_str(S("\"x\\ud83d\\ude00y\""), ST_JSON_LENIENT_UTF8, S("x\xf0\x9f\x98\x80y"), 0);
    expect_rt(S("\"\\ud83d\\ude00\""), 0, 0, S("\"\xf0\x9f\x98\x80\""));
}
END_TEST

START_TEST(lone_surrogates_strict)
{
    expect_err(S("\"\\ud83d\""), 0, ST_EJSON, "offset 1: lone surrogate escape \\ud83d");
    expect_err(S("\"\\ude00\""), 0, ST_EJSON, "offset 1: lone surrogate escape \\ude00");
    expect_err(S("\"ab\\ud83dx\""), 0, ST_EJSON, "offset 3: lone surrogate escape \\ud83d");
    expect_err(S("\"\\ud83d\\u0041\""), 0, ST_EJSON, "offset 1: lone surrogate escape \\ud83d");
    expect_err(S("\"\\ud83d\\ud83d\\ude00\""), 0, ST_EJSON, "offset 1: lone surrogate escape \\ud83d");
    expect_err(S("\"\\ude00\\ud83d\""), 0, ST_EJSON, "offset 1: lone surrogate escape \\ude00");
    expect_err(S("\"\\ud83d\\n\""), 0, ST_EJSON, "offset 1: lone surrogate escape \\ud83d");
    expect_err(S("{\"\\udfff\":1}"), 0, ST_EJSON, "offset 2: lone surrogate escape \\udfff");
}
END_TEST

START_TEST(lone_surrogates_lenient)
{
    const unsigned L = ST_JSON_LENIENT_UTF8;
    expect_str(S("\"\\ud83d\""), L, S("\xef\xbf\xbd"), 1);
    expect_str(S("\"\\ude00\""), L, S("\xef\xbf\xbd"), 1);
    expect_str(S("\"\\ud83d\\u0041\""), L, S("\xef\xbf\xbd" "A"), 1);
    expect_str(S("\"\\ud83d\\ud83d\\ude00\""), L, S("\xef\xbf\xbd\xf0\x9f\x98\x80"), 1);
    expect_str(S("\"\\ude00\\ud83d\""), L, S("\xef\xbf\xbd\xef\xbf\xbd"), 2);
    expect_str(S("\"\\ud83d\\n\""), L, S("\xef\xbf\xbd\n"), 1);
    expect_str(S("\"\\ud83d\""), L | ST_JSON_ALLOW_WS, S("\xef\xbf\xbd"), 1);
    /* keys too; the result is valid UTF-8 that a strict parse accepts */
    expect_rt(S("{\"k\\udc00\":\"\\ud800\"}"), L, 0, S("{\"k\xef\xbf\xbd\":\"\xef\xbf\xbd\"}"));
    expect_rt(S("{\"k\xef\xbf\xbd\":\"\xef\xbf\xbd\"}"), 0, 0, S("{\"k\xef\xbf\xbd\":\"\xef\xbf\xbd\"}"));
}
END_TEST

START_TEST(utf8_strict)
{
    /* accepted edges */
    expect_str(S("\"\xc2\x80\xdf\xbf\""), 0, S("\xc2\x80\xdf\xbf"), 0);
    expect_str(S("\"\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\""), 0, S("\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf"), 0);
    expect_str(S("\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\""), 0, S("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"), 0);
    /* overlong encodings */
    expect_err(S("\"\xc0\x80\""), 0, ST_EJSON, "offset 1: invalid UTF-8 byte 0xc0 in string");
    expect_err(S("\"\xc1\xbf\""), 0, ST_EJSON, "offset 1: invalid UTF-8 byte 0xc1 in string");
    expect_err(S("\"ab\xe0\x80\x80\""), 0, ST_EJSON, "offset 3: invalid UTF-8 byte 0xe0 in string");
    expect_err(S("\"\xe0\x9f\xbf\""), 0, ST_EJSON, "offset 1: invalid UTF-8 byte 0xe0 in string");
    expect_err(S("\"\xf0\x80\x80\x80\""), 0, ST_EJSON, "offset 1: invalid UTF-8 byte 0xf0 in string");
    expect_err(S("\"\xf0\x8f\xbf\xbf\""), 0, ST_EJSON, "offset 1: invalid UTF-8 byte 0xf0 in string");
    /* surrogates encoded in UTF-8 */
    expect_err(S("\"\xed\xa0\x80\""), 0, ST_EJSON, "offset 1: invalid UTF-8 byte 0xed in string");
    expect_err(S("\"\xed\xbf\xbf\""), 0, ST_EJSON, "offset 1: invalid UTF-8 byte 0xed in string");
    expect_err(S("\"\xed\xa0\xbd\xed\xb8\x80\""), 0, ST_EJSON, "offset 1: invalid UTF-8 byte 0xed in string");
    /* above U+10FFFF */
    expect_err(S("\"\xf4\x90\x80\x80\""), 0, ST_EJSON, "offset 1: invalid UTF-8 byte 0xf4 in string");
    expect_err(S("\"\xf5\x80\x80\x80\""), 0, ST_EJSON, "offset 1: invalid UTF-8 byte 0xf5 in string");
    expect_err(S("\"\xf8\x88\x80\x80\x80\""), 0, ST_EJSON, "offset 1: invalid UTF-8 byte 0xf8 in string");
    expect_err(S("\"\xff\""), 0, ST_EJSON, "offset 1: invalid UTF-8 byte 0xff in string");
    /* truncated sequences, stray continuation bytes */
    expect_err(S("\"\xe2\x82\""), 0, ST_EJSON, "offset 1: invalid UTF-8 byte 0xe2 in string");
    expect_err(S("\"\xe2\x82"), 0, ST_EJSON, "offset 1: invalid UTF-8 byte 0xe2 in string");
    expect_err(S("\"\x80\""), 0, ST_EJSON, "offset 1: invalid UTF-8 byte 0x80 in string");
    expect_err(S("{\"\xbf\":1}"), 0, ST_EJSON, "offset 2: invalid UTF-8 byte 0xbf in string");
    /* a long ASCII run first, so the bad byte is found by the vector scan */
    expect_err(S("\"0123456789abcdef0123456789abcdef\xc3\""), 0, ST_EJSON, "offset 33: invalid UTF-8 byte 0xc3 in string");
}
END_TEST

START_TEST(utf8_lenient_maximal_subparts)
{
    const unsigned L = ST_JSON_LENIENT_UTF8;
#define R "\xef\xbf\xbd"
    /* Unicode 15 section 3.9, tables 3-8 .. 3-11 */
    expect_str(S("\"\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64\""), L, S("a" R R R "b" R "c" R R "d"), 6);
    expect_str(S("\"\xc0\xaf\xe0\x80\xbf\xf0\x81\x82\x41\""), L, S(R R R R R R R R "A"), 8);
    expect_str(S("\"\xed\xa0\x80\xed\xbf\xbf\xed\xaf\x41\""), L, S(R R R R R R R R "A"), 8);
    expect_str(S("\"\xf4\x91\x92\x93\xff\x41\x80\xbf\x42\""), L, S(R R R R R "A" R R "B"), 7);
    expect_str(S("\"\xe1\x80\xe2\xf0\x91\x92\xf1\xbf\x41\""), L, S(R R R R "A"), 4);
    /* truncated at the closing quote and at the end of input */
    expect_str(S("\"\xe2\x82\""), L, S(R), 1);
    expect_err(S("\"\xe2\x82"), L, ST_EJSON, "offset 3: unterminated string (opened at offset 0)");
    /* valid text is untouched, nothing counted */
    expect_str(S("\"caf\xc3\xa9 \xf0\x9f\x98\x80\""), L, S("caf\xc3\xa9 \xf0\x9f\x98\x80"), 0);
    /* replaced output is valid UTF-8 a strict parser accepts */
    expect_rt(S("{\"\xff\":\"\xc0\"}"), L, 0, S("{\"" R "\":\"" R "\"}"));
#undef R
    st_json_info info;
    st_json_doc *d = NULL;
    ck_assert_int_eq(parse_f(S("[\"\xff\",{\"\xfe\":\"\\ud800\"}]"), L, 0, &d, &info, NULL), 0);
    ck_assert_uint_eq(info.replaced, 3);
    st_json_doc_free(d);
}
END_TEST

START_TEST(control_characters)
{
    for (unsigned c = 0; c < 0x20; c++) {
        char in[4] = { '"', (char)c, '"', 0 };
        char want[80];
        snprintf(want, sizeof want, "offset 1: control character 0x%02x in string (must be escaped)", c);
        expect_err(in, 3, 0, ST_EJSON, want);
        expect_err(in, 3, ST_JSON_LENIENT_UTF8 | ST_JSON_ALLOW_WS, ST_EJSON, want);
    }
    expect_rt(S("\"\x7f\""), 0, 0, S("\"\x7f\""));
}
END_TEST

/* ---- depth ------------------------------------------------------------------------ */

static char *nested(size_t depth, const char *open, const char *close, size_t *len)
{
    size_t on = strlen(open), cn = strlen(close);
    char *s = malloc(depth * (on + cn) + 1);
    size_t n = 0;
    for (size_t i = 0; i < depth; i++) { memcpy(s + n, open, on); n += on; }
    for (size_t i = 0; i < depth; i++) { memcpy(s + n, close, cn); n += cn; }
    s[n] = 0;
    *len = n;
    return s;
}

START_TEST(depth_100000_arrays)
{
    size_t n;
    char *s = nested(100000, "[", "]", &n);
    expect_err(s, n, 0, ST_EDEPTH, "offset 512: nesting deeper than 512 levels");
    expect_err(s, n, ST_JSON_LENIENT_UTF8, ST_EDEPTH, "offset 512: nesting deeper than 512 levels");
    /* only the opening half: still a depth error, never a crash */
    expect_err(s, 100000, 0, ST_EDEPTH, "offset 512: nesting deeper than 512 levels");
    st_json_doc *d = NULL;
    st_err err;
    st_json_info info;
    ck_assert_int_eq(parse_f(s, n, 0, 99999, &d, &info, &err), ST_EDEPTH);
    ck_assert_uint_eq(info.error_offset, 99999);
    /* allowed deep enough, it parses, writes back and clones without recursion */
    ck_assert_int_eq(parse_f(s, n, 0, 100000, &d, NULL, &err), 0);
    st_buf b = { 0 };
    st_json_write(&b, st_json_doc_root(d), ST_JSON_SORT_KEYS);
    ck_assert(b.len == n && memcmp(b.data, s, n) == 0);
    st_json_doc *d2 = st_json_doc_new();
    st_json *c = st_json_clone(d2, st_json_doc_root(d));
    ck_assert_ptr_nonnull(c);
    st_json_doc_free(d);
    st_buf_reset(&b);
    st_json_write(&b, c, 0);
    ck_assert(b.len == n && memcmp(b.data, s, n) == 0);
    st_json_doc_free(d2);
    st_buf_free(&b);
    free(s);
}
END_TEST

START_TEST(depth_100000_objects)
{
    size_t n;
    char *s = nested(100000, "{\"a\":", "}", &n);
    /* the innermost value is missing; the depth limit is hit first */
    expect_err(s, n, 0, ST_EDEPTH, "offset 2560: nesting deeper than 512 levels");
    free(s);
    s = nested(100000, "{\"\":[", "]}", &n);
    expect_err(s, n, ST_JSON_ALLOW_WS, ST_EDEPTH, "offset 1280: nesting deeper than 512 levels");
    free(s);
}
END_TEST

START_TEST(depth_exact_limit)
{
    st_json_doc *d = NULL;
    ck_assert_int_eq(parse_f(S("[[[]]]"), 0, 3, &d, NULL, NULL), 0);
    st_json_doc_free(d);
    ck_assert_int_eq(parse_f(S("[[[1]]]"), 0, 3, &d, NULL, NULL), 0);
    st_json_doc_free(d);
    st_err err;
    ck_assert_int_eq(parse_f(S("[[[[]]]]"), 0, 3, &d, NULL, &err), ST_EDEPTH);
    ck_assert_str_eq(err.msg, "offset 3: nesting deeper than 3 levels");
    ck_assert_int_eq(parse_f(S("[{\"a\":{}}]"), 0, 2, &d, NULL, &err), ST_EDEPTH);
    ck_assert_str_eq(err.msg, "offset 6: nesting deeper than 2 levels");
    /* scalars do not count */
    ck_assert_int_eq(parse_f(S("1"), 0, 1, &d, NULL, NULL), 0);
    st_json_doc_free(d);
}
END_TEST

/* ---- duplicate keys ---------------------------------------------------------------- */

START_TEST(duplicate_keys)
{
    expect_err(S("{\"a\":1,\"a\":2}"), 0, ST_EJSON, "offset 7: duplicate key \"a\"");
    expect_err(S("{\"x\":[{\"b\":1,\"c\":{\"d\":1,\"d\":2}}]}"), 0, ST_EJSON, "offset 24: duplicate key \"d\"");
    expect_err(S("{\"A\":1,\"\\u0041\":2}"), 0, ST_EJSON, "offset 7: duplicate key \"A\"");
    expect_err(S("{\"a\":1,\"b\":2,\"c\":3,\"b\":4}"), 0, ST_EJSON, "offset 19: duplicate key \"b\"");
    expect_err(S("{\"a\":1,\"b\":2,\"c\":3,\"a\":4}"), 0, ST_EJSON, "offset 19: duplicate key \"a\"");
    expect_err(S("{\"\":1,\"\":2}"), 0, ST_EJSON, "offset 6: duplicate key \"\"");
    expect_err(S("{\"a\\u0000b\":1,\"a\\u0000b\":2}"), 0, ST_EJSON, "offset 14: duplicate key \"a\\u0000b\"");
    expect_err(S("{\"q\\\"\":1,\"q\\\"\":2}"), 0, ST_EJSON, "offset 9: duplicate key \"q\\\"\"");
    expect_err(S("{ \"a\" : 1 , \"a\" : 2 }"), ST_JSON_ALLOW_WS, ST_EJSON, "offset 12: duplicate key \"a\"");
    /* same key in different objects, keys differing after a NUL */
    expect_rt(S("{\"a\":{\"a\":1},\"b\":{\"a\":1}}"), 0, 0, S("{\"a\":{\"a\":1},\"b\":{\"a\":1}}"));
    expect_rt(S("{\"a\\u0000b\":1,\"a\\u0000c\":2,\"a\":3}"), 0, 0, S("{\"a\\u0000b\":1,\"a\\u0000c\":2,\"a\":3}"));
    /* a long key is shown cut */
    char longk[256];
    size_t n = (size_t)snprintf(longk, sizeof longk, "{\"%0100d\":1,\"%0100d\":2}", 7, 7);
    expect_err(longk, n, 0, ST_EJSON,
               "offset 106: duplicate key \"0000000000000000000000000000000000000000000000000000000000000000\"...");
}
END_TEST

START_TEST(flag_allow_dup_keys)
{
    const unsigned D = ST_JSON_ALLOW_DUP_KEYS;
    expect_rt(S("{\"a\":1,\"a\":2}"), D, 0, S("{\"a\":1,\"a\":2}"));
    /* the sort is stable: duplicates keep their input order */
    expect_rt(S("{\"b\":0,\"a\":2,\"a\":1}"), D, ST_JSON_SORT_KEYS, S("{\"a\":2,\"a\":1,\"b\":0}"));
    st_json_doc *d = NULL;
    ck_assert_int_eq(parse_f(S("{\"a\":1,\"a\":2}"), D, 0, &d, NULL, NULL), 0);
    const st_json *r = st_json_doc_root(d);
    ck_assert_uint_eq(r->count, 2);
    int64_t v = 0;
    ck_assert_int_eq(st_json_get_i64(r, "a", &v), 0); /* first match */
    ck_assert_int_eq(v, 1);
    st_json_doc_free(d);
}
END_TEST

static char *big_object(size_t members, const char *extra, size_t *len)
{
    st_buf b = { 0 };
    st_buf_putc(&b, '{');
    for (size_t i = 0; i < members; i++) st_buf_printf(&b, "%s\"k%zu\":%zu", i ? "," : "", i, i);
    if (extra) st_buf_puts(&b, extra);
    st_buf_putc(&b, '}');
    return st_buf_steal_str(&b, len);
}

START_TEST(big_object_100k_members)
{
    size_t n;
    char *s = big_object(100000, NULL, &n);
    st_json_doc *d = NULL;
    st_err err;
    ck_assert_int_eq(parse_f(s, n, 0, 0, &d, NULL, &err), 0);
    const st_json *r = st_json_doc_root(d);
    ck_assert_uint_eq(r->count, 100000);
    int64_t v = -1;
    ck_assert_int_eq(st_json_get_i64(r, "k99999", &v), 0);
    ck_assert_int_eq(v, 99999);
    ck_assert_ptr_eq(st_json_get(r, "k99999"), r->last);
    ck_assert_ptr_null(st_json_get(r, "k100000"));
    st_buf b = { 0 };
    st_json_write(&b, r, 0);
    ck_assert(b.len == n && memcmp(b.data, s, n) == 0);
    /* sorted: k0 < k1 < k10 < k100 ... */
    st_buf_reset(&b);
    st_json_write(&b, r, ST_JSON_SORT_KEYS);
    ck_assert_uint_eq(b.len, n);
    const char *head = "{\"k0\":0,\"k1\":1,\"k10\":10,\"k100\":100,\"k1000\":1000,\"k10000\":10000,\"k10001\":10001,";
    const char *tail = ",\"k99998\":99998,\"k99999\":99999}";
    ck_assert(memcmp(b.data, head, strlen(head)) == 0);
    ck_assert(memcmp(b.data + n - strlen(tail), tail, strlen(tail)) == 0);
    st_buf_free(&b);
    st_json_doc_free(d);
    free(s);

    /* a duplicate at the very end is found through the key set */
    s = big_object(100000, ",\"k4242\":0", &n);
    char want[64];
    snprintf(want, sizeof want, "offset %zu: duplicate key \"k4242\"", n - 10);
    expect_err(s, n, 0, ST_EJSON, want);
    free(s);
    /* keys in sorted order skip the search; a late repeat of an early key
     * still fails (the set is built from every member at that point) */
    st_buf sb = { 0 };
    st_buf_putc(&sb, '{');
    for (size_t i = 0; i < 100000; i++) st_buf_printf(&sb, "%s\"k%05zu\":0", i ? "," : "", i);
    size_t sorted_len = sb.len;
    st_buf_puts(&sb, "}");
    ck_assert_int_eq(parse_f((const char *)sb.data, sb.len, 0, 0, &d, NULL, &err), 0);
    ck_assert_uint_eq(st_json_doc_root(d)->count, 100000);
    st_json_doc_free(d);
    sb.len = sorted_len;
    st_buf_puts(&sb, ",\"k00042\":1}");
    snprintf(want, sizeof want, "offset %zu: duplicate key \"k00042\"", sorted_len + 1);
    expect_err((const char *)sb.data, sb.len, 0, ST_EJSON, want);
    st_buf_free(&sb);
    /* around the threshold where the set takes over */
    for (size_t m = 14; m <= 19; m++) {
        char extra[32];
        snprintf(extra, sizeof extra, ",\"k%zu\":0", m - 1);
        s = big_object(m, extra, &n);
        snprintf(want, sizeof want, "offset %zu: duplicate key \"k%zu\"", n - strlen(extra), m - 1);
        expect_err(s, n, 0, ST_EJSON, want);
        free(s);
    }
}
END_TEST

/* ---- integers only ------------------------------------------------------------------ */

START_TEST(flag_integers_only)
{
    const unsigned I = ST_JSON_INTEGERS_ONLY;
    expect_rt(S("[0,-1,1,9007199254740991,-9007199254740991,123]"), I, 0, S("[0,-1,1,9007199254740991,-9007199254740991,123]"));
    expect_err(S("-0"), I, ST_EJSON, "offset 0: number -0: negative zero is not allowed");
    expect_err(S("[1.0]"), I, ST_EJSON, "offset 1: number 1.0: not an integer");
    expect_err(S("1e5"), I, ST_EJSON, "offset 0: number 1e5: not an integer");
    expect_err(S("1E5"), I, ST_EJSON, "offset 0: number 1E5: not an integer");
    expect_err(S("0.5"), I, ST_EJSON, "offset 0: number 0.5: not an integer");
    expect_err(S("9007199254740992"), I, ST_EJSON,
               "offset 0: number 9007199254740992: out of range [-(2^53-1), 2^53-1]");
    expect_err(S("-9007199254740992"), I, ST_EJSON,
               "offset 0: number -9007199254740992: out of range [-(2^53-1), 2^53-1]");
    expect_err(S("12345678901234567890"), I, ST_EJSON,
               "offset 0: number 12345678901234567890: out of range [-(2^53-1), 2^53-1]");
    expect_err(S("[12345678901234567890123456789012345678901234567890]"), I, ST_EJSON,
               "offset 1: number 1234567890123456789012345678901234567890...: out of range [-(2^53-1), 2^53-1]");
    expect_err(S("01"), I, ST_EJSON, "offset 0: number with a leading zero");
    expect_err(S("NaN"), I, ST_EJSON, "offset 0: expected a value, found 'N'");
    expect_err(S("{\"a\":-Infinity}"), I, ST_EJSON, "offset 6: invalid number: expected a digit, found 'I'");
    /* without the flag they are fine */
    expect_rt(S("[-0,1.0,1e5,9007199254740992]"), 0, 0, S("[-0,1.0,1e5,9007199254740992]"));
}
END_TEST

START_TEST(max_bytes_limit)
{
    st_json_opts o = { 0, 0, 4 };
    st_json_doc *d = NULL;
    st_err err;
    st_json_info info;
    ck_assert_int_eq(st_json_parse(&d, "[1,2]", 5, &o, &info, &err), ST_ETOOBIG);
    ck_assert_str_eq(err.msg, "offset 4: input of 5 bytes is over the limit of 4");
    ck_assert_uint_eq(info.error_offset, 4);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(st_json_parse(&d, "[12]", 4, &o, &info, &err), 0);
    st_json_doc_free(d);
    /* NULL opts and info are fine; NULL out is EINVAL */
    ck_assert_int_eq(st_json_parse(&d, "1", 1, NULL, NULL, NULL), 0);
    st_json_doc_free(d);
    ck_assert_int_eq(st_json_parse(NULL, "1", 1, NULL, NULL, NULL), ST_EINVAL);
}
END_TEST

START_TEST(large_strings)
{
    /* strings bigger than any arena chunk, plain and with escapes */
    size_t n = 5u << 20;
    char *s = malloc(n + 2);
    s[0] = '"';
    for (size_t i = 1; i <= n; i++) s[i] = (char)('a' + i % 26);
    s[n + 1] = '"';
    int rc;
    size_t outlen;
    char *out = rt(s, n + 2, 0, 0, &rc, &outlen);
    ck_assert_int_eq(rc, 0);
    ck_assert(outlen == n + 2 && memcmp(out, s, n + 2) == 0);
    free(out);
    for (size_t i = 1; i <= n; i += 64) { s[i] = '\\'; s[i + 1] = 'n'; }
    out = rt(s, n + 2, 0, 0, &rc, &outlen);
    ck_assert_int_eq(rc, 0);
    ck_assert(outlen == n + 2 && memcmp(out, s, n + 2) == 0);
    free(out);
    free(s);
}
END_TEST

/* ---- long strings with escapes ------------------------------------------------------------
 * A string with escapes decodes into the document's scratch buffer and is
 * copied to the arena (json.c). These compare the parser with ref_decode, a
 * byte-at-a-time decoder written here, below, at and far beyond INPLACE_MIN:
 * the length from which long strings are to decode straight into their
 * arena memory instead. */

#define INPLACE_MIN ((size_t)16 << 10)
#define MIB ((size_t)1 << 20)
#define FFFD "\xef\xbf\xbd"

static int ref_hex4(const unsigned char *c, size_t n, size_t i, unsigned *out)
{
    unsigned v = 0;
    if (i > n || n - i < 4) return -1;
    for (size_t k = i; k < i + 4; k++) {
        unsigned x = c[k];
        if (x >= '0' && x <= '9') v = v * 16 + (x - '0');
        else if (x >= 'a' && x <= 'f') v = v * 16 + (x - 'a' + 10);
        else if (x >= 'A' && x <= 'F') v = v * 16 + (x - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

static void ref_utf8(st_buf *out, unsigned cp)
{
    if (cp < 0x80) {
        st_buf_putc(out, (uint8_t)cp);
    } else if (cp < 0x800) {
        st_buf_putc(out, (uint8_t)(0xc0 | cp >> 6));
        st_buf_putc(out, (uint8_t)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        st_buf_putc(out, (uint8_t)(0xe0 | cp >> 12));
        st_buf_putc(out, (uint8_t)(0x80 | (cp >> 6 & 0x3f)));
        st_buf_putc(out, (uint8_t)(0x80 | (cp & 0x3f)));
    } else {
        st_buf_putc(out, (uint8_t)(0xf0 | cp >> 18));
        st_buf_putc(out, (uint8_t)(0x80 | (cp >> 12 & 0x3f)));
        st_buf_putc(out, (uint8_t)(0x80 | (cp >> 6 & 0x3f)));
        st_buf_putc(out, (uint8_t)(0x80 | (cp & 0x3f)));
    }
}

/* Continuation bytes after lead byte c and the range of the first one
 * (Unicode Table 3-7); 0 when c cannot lead. */
static unsigned ref_lead(unsigned c, unsigned *lo, unsigned *hi)
{
    *lo = 0x80;
    *hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) return 1;
    if (c == 0xe0) { *lo = 0xa0; return 2; }
    if (c == 0xed) { *hi = 0x9f; return 2; }
    if (c >= 0xe1 && c <= 0xef) return 2;
    if (c == 0xf0) { *lo = 0x90; return 3; }
    if (c == 0xf4) { *hi = 0x8f; return 3; }
    if (c >= 0xf1 && c <= 0xf3) return 3;
    return 0;
}

/* The content c[0..n) of a JSON string (without its quotes) decoded to out;
 * lenient: lone surrogates and maximal ill-formed subparts become U+FFFD,
 * counted in *replaced. -1 for what a strict parse refuses. */
static int ref_decode(const unsigned char *c, size_t n, int lenient, st_buf *out, size_t *replaced)
{
    size_t i = 0;
    while (i < n) {
        unsigned b = c[i], u, lo, hi;
        if (b == '"' || b < 0x20) return -1;
        if (b < 0x80 && b != '\\') {
            st_buf_putc(out, (uint8_t)b);
            i++;
        } else if (b == '\\') {
            if (n - i < 2) return -1;
            i += 2;
            switch (c[i - 1]) {
            case '"': st_buf_putc(out, '"'); break;
            case '\\': st_buf_putc(out, '\\'); break;
            case '/': st_buf_putc(out, '/'); break;
            case 'b': st_buf_putc(out, '\b'); break;
            case 'f': st_buf_putc(out, '\f'); break;
            case 'n': st_buf_putc(out, '\n'); break;
            case 'r': st_buf_putc(out, '\r'); break;
            case 't': st_buf_putc(out, '\t'); break;
            case 'u':
                if (ref_hex4(c, n, i, &u)) return -1;
                i += 4;
                if (u >= 0xd800 && u <= 0xdbff && n - i >= 6 && c[i] == '\\' && c[i + 1] == 'u' &&
                    !ref_hex4(c, n, i + 2, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
                    ref_utf8(out, 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00));
                    i += 6;
                } else if (u >= 0xd800 && u <= 0xdfff) {
                    if (!lenient) return -1;
                    st_buf_put(out, FFFD, 3);
                    (*replaced)++;
                } else {
                    ref_utf8(out, u);
                }
                break;
            default: return -1;
            }
        } else {
            unsigned need = ref_lead(b, &lo, &hi), k = 0;
            while (k < need && i + 1 + k < n) {
                unsigned x = c[i + 1 + k];
                if (x < (k ? 0x80 : lo) || x > (k ? 0xbf : hi)) break;
                k++;
            }
            if (need && k == need) {
                st_buf_put(out, c + i, need + 1);
            } else {
                if (!lenient) return -1;
                st_buf_put(out, FFFD, 3);     /* the lead and the k bytes that fit it */
                (*replaced)++;
            }
            i += 1 + k;
        }
    }
    return 0;
}

enum {
    GEN_STRICT,     /* escapes of every kind, surrogate pairs, raw UTF-8 */
    GEN_LENIENT,    /* and lone surrogates, ill-formed UTF-8 */
    GEN_GROW,       /* mostly bytes that U+FFFD replaces: 3 bytes out for 1 in */
    GEN_SHRINK,     /* mostly \u0041: 1 byte out for 6 in */
};

static void gen_token(st_buf *b, int kind)
{
    static const char *const strict[] = {
        "\\n", "\\t", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\r", "\\u00e9", "\\u20AC", "\\u0000",
        "\\ud83d\\ude00", "\\uDBFF\\uDFFF", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\\u0041", "\x7f",
    };
    static const char *const lenient[] = {
        "\\ud800", "\\udc00", "\\ud83d\\u0041", "\xff", "\x80", "\xc0\xaf", "\xe2\x82", "\xf0\x9f\x98",
        "\xed\xa0\x80", "\xf4\x90\x80\x80",
    };
    uint64_t r = tu_rand();
    const char *t;
    if (kind == GEN_GROW) t = r % 4 ? (r % 8 == 1 ? "\x80" : "\xff") : r % 16 < 2 ? "\\n" : "ab";
    else if (kind == GEN_SHRINK) t = r % 8 ? "\\u0041" : "\\ud83d\\ude00";
    else if (r % 3 == 0) t = &"lorem ipsum dolor sit amet, consectetur adipiscing elit"[r / 3 % 50];
    else if (kind == GEN_LENIENT && r % 3 == 1) t = lenient[r / 3 % (sizeof lenient / sizeof *lenient)];
    else t = strict[r / 3 % (sizeof strict / sizeof *strict)];
    st_buf_puts(b, t);
}

#define AT_START 1u     /* content starts with an escaped quote */
#define AT_END 2u       /* content ends with an escape (see end below) */

/* Exactly n bytes of string content: random tokens of kind (at most 55
 * bytes each), then ASCII, and with AT_END the escape `end` as its last bytes. */
static void gen_content(st_buf *b, size_t n, int kind, unsigned where, const char *end)
{
    size_t el = where & AT_END ? strlen(end) : 0;
    st_buf_reset(b);
    if (where & AT_START) st_buf_puts(b, "\\\"");
    while (b->len + 55 + el < n) gen_token(b, kind);
    while (b->len + el < n) st_buf_putc(b, (uint8_t)('a' + b->len % 26));
    if (el) st_buf_puts(b, end);
    ck_assert(!b->oom && b->len == n);
}

static void expect_node_str(const st_json *v, const st_buf *want)
{
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(v->type, ST_JSON_STRING);
    ck_assert_uint_eq(v->len, want->len);
    ck_assert_msg(memcmp(v->str, want->data, want->len) == 0, "decoded bytes differ (%zu bytes)", want->len);
    ck_assert_int_eq(v->str[v->len], 0);
}

/* {"<c>":["<c>","z\n"]} parsed into *io with flags decodes c as ref_decode
 * does, as a key and as a value, and the string after it too. */
static void expect_decoded_into(st_json_doc **io, const st_buf *c, unsigned flags)
{
    st_buf want = { 0 }, in = { 0 };
    size_t want_replaced = 0;
    ck_assert_int_eq(ref_decode(c->data, c->len, (flags & ST_JSON_LENIENT_UTF8) != 0, &want, &want_replaced), 0);
    st_buf_puts(&in, "{\"");
    st_buf_put(&in, c->data, c->len);
    st_buf_puts(&in, "\":[\"");
    st_buf_put(&in, c->data, c->len);
    st_buf_puts(&in, "\",\"z\\n\"]}");
    ck_assert(!in.oom && !want.oom);
    st_json_opts o = { flags, 0, 0 };
    st_json_info info;
    st_err err = { { 0 } };
    int rc = st_json_parse_reuse(io, (const char *)in.data, in.len, &o, &info, &err);
    ck_assert_msg(rc == 0, "content of %zu bytes: %s", c->len, err.msg);
    const st_json *m = st_json_doc_root(*io)->child;
    ck_assert_uint_eq(m->key_len, want.len);
    ck_assert(memcmp(m->key, want.data, want.len) == 0 && m->key[want.len] == 0);
    ck_assert_uint_eq(m->count, 2);
    expect_node_str(m->child, &want);
    ck_assert_str_eq(m->child->next->str, "z\n");
    ck_assert_uint_eq(info.replaced, 2 * want_replaced);
    st_buf_free(&want);
    st_buf_free(&in);
}

static void expect_decoded(const st_buf *c, unsigned flags)
{
    st_json_doc *d = NULL;
    expect_decoded_into(&d, c, flags);
    st_json_doc_free(d);
}

static const size_t long_sizes[] = {
    INPLACE_MIN - 1, INPLACE_MIN, INPLACE_MIN + 1, INPLACE_MIN + 2, 3 * INPLACE_MIN + 7, MIB,
};
#define NSIZES (sizeof long_sizes / sizeof *long_sizes)

static const char *const long_ends[] = { "\\n", "\\\\", "\\\"", "\\\\\\\"", "\\ud83d\\ude00", "\\u00e9" };

/* Strict and lenient text: every size around INPLACE_MIN and far past it,
 * escapes at the very start and the very end (an escaped backslash or
 * quote right before the closing quote: the quote scan counts backslashes). */
START_TEST(long_escaped_strings_match_reference)
{
    st_buf c = { 0 };
    for (int kind = GEN_STRICT; kind <= GEN_LENIENT; kind++) {
        unsigned flags = kind == GEN_LENIENT ? ST_JSON_LENIENT_UTF8 : 0;
        for (size_t s = 0; s < NSIZES; s++)
            for (unsigned where = 0; where <= (AT_START | AT_END); where++)
                for (size_t e = 0; e < (where & AT_END ? sizeof long_ends / sizeof *long_ends : 1); e++) {
                    gen_content(&c, long_sizes[s], kind, where, long_ends[e]);
                    expect_decoded(&c, flags);
                }
        /* where a run of plain text meets INPLACE_MIN, at every offset */
        for (size_t n = INPLACE_MIN - 40; n <= INPLACE_MIN + 40; n++) {
            gen_content(&c, n, kind, AT_END, "\\t");
            expect_decoded(&c, flags);
        }
    }
    /* one escape only, at the start or at the end of a long plain string */
    st_buf_reset(&c);
    st_buf_puts(&c, "\\n");
    while (c.len < MIB) st_buf_putc(&c, 'x');
    expect_decoded(&c, 0);
    c.data[0] = c.data[1] = 'y';
    st_buf_put(&c, "\\\\", 2);
    expect_decoded(&c, 0);
    st_buf_free(&c);
}
END_TEST

/* Lenient U+FFFD grows the text (3 bytes for 1) past its raw length,
 * throughout or only by its last bytes, after escapes saved some; \u0041
 * shrinks it to a sixth. Counts of replacements match. */
START_TEST(long_strings_lenient_growth)
{
    st_buf c = { 0 };
    for (size_t s = 0; s < NSIZES; s++) {
        gen_content(&c, long_sizes[s], GEN_GROW, 0, NULL);
        expect_decoded(&c, ST_JSON_LENIENT_UTF8);
        gen_content(&c, long_sizes[s], GEN_SHRINK, AT_END, "\\ud800");
        expect_decoded(&c, ST_JSON_LENIENT_UTF8);
        /* saved by escapes first, then more replaced bytes than that saved */
        for (size_t bad = 1; bad <= 4; bad++) {
            st_buf_reset(&c);
            size_t escapes = long_sizes[s] / 8;
            for (size_t i = 0; i < escapes; i++) st_buf_puts(&c, i % 2 ? "abcdef\\n" : "\\u0041xx");
            while (c.len < long_sizes[s] + escapes / 2 + bad) st_buf_put(&c, "\xff", 1);
            expect_decoded(&c, ST_JSON_LENIENT_UTF8);
            while (c.len < long_sizes[s] + escapes * 2 + bad) st_buf_put(&c, "\xe2\x82", 2);
            st_buf_putc(&c, '\x80');
            expect_decoded(&c, ST_JSON_LENIENT_UTF8);
        }
    }
    st_buf_free(&c);
}
END_TEST

/* "<content of n bytes with bad at offset at>" and, when closed, the
 * closing quote: the parse fails with what at offset 1 + at + off. */
static void expect_far_error(size_t n, size_t at, const char *bad, size_t off, int closed, unsigned flags,
                             const char *what)
{
    st_buf in = { 0 }, pre = { 0 };
    st_buf_putc(&in, '"');
    if (at >= 16) gen_content(&pre, at, GEN_STRICT, 0, NULL);
    else while (pre.len < at) st_buf_putc(&pre, 'a');
    st_buf_put(&in, pre.data, pre.len);
    st_buf_puts(&in, bad);
    while (in.len < 1 + n) st_buf_puts(&in, "\\nabc");
    if (closed) st_buf_putc(&in, '"');
    char want[160];
    snprintf(want, sizeof want, "offset %zu: %s", 1 + at + off, what);
    expect_err((const char *)in.data, in.len, flags, ST_EJSON, want);
    st_buf_free(&in);
    st_buf_free(&pre);
}

/* Errors in long strings, before INPLACE_MIN, around it and a MiB in, with
 * the closing quote far after them and without one: the message and offset
 * of the byte at fault, as for a short string. */
START_TEST(long_string_errors_at_far_offsets)
{
    static const struct { const char *bad; size_t off; unsigned flags; const char *what; } cases[] = {
        { "\\x", 0, 0, "invalid escape \\'x'" },
        { "\\x", 0, ST_JSON_LENIENT_UTF8, "invalid escape \\'x'" },
        { "\x01", 0, ST_JSON_LENIENT_UTF8, "control character 0x01 in string (must be escaped)" },
        { "\x1f", 0, 0, "control character 0x1f in string (must be escaped)" },
        { "\\u12G4", 0, 0, "invalid \\u escape (four hex digits expected)" },
        { "\\n\\ud800x", 2, 0, "lone surrogate escape \\ud800" },
        { "\\udc00", 0, 0, "lone surrogate escape \\udc00" },
        { "\xff", 0, 0, "invalid UTF-8 byte 0xff in string" },
        { "\xe2\x82" "a", 0, 0, "invalid UTF-8 byte 0xe2 in string" },
    };
    static const size_t ats[] = { 3, INPLACE_MIN - 1, INPLACE_MIN, INPLACE_MIN + 5, MIB - 100 };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++)
        for (size_t a = 0; a < sizeof ats / sizeof *ats; a++)
            for (int closed = 0; closed <= 1; closed++)
                expect_far_error(MIB + 50, ats[a], cases[k].bad, cases[k].off, closed, cases[k].flags, cases[k].what);

    /* the input ends inside the string: after text, after a lone backslash,
     * inside \u, after a high surrogate (lenient: replaced, then the end) */
    st_buf in = { 0 }, c = { 0 };
    for (size_t s = 0; s < NSIZES; s++) {
        static const char *const tails[] = { "", "\\", "\\\"", "\\u12", "\\ud83d" };
        for (size_t t = 0; t < sizeof tails / sizeof *tails; t++)
            for (unsigned lenient = 0; lenient <= ST_JSON_LENIENT_UTF8; lenient += ST_JSON_LENIENT_UTF8) {
                gen_content(&c, long_sizes[s], GEN_STRICT, 0, NULL);
                st_buf_reset(&in);
                st_buf_putc(&in, '"');
                st_buf_put(&in, c.data, c.len);
                size_t esc = in.len;
                st_buf_puts(&in, tails[t]);
                char want[120];
                if (t == 3 || (t == 4 && !lenient))
                    snprintf(want, sizeof want, "offset %zu: %s", esc,
                             t == 3 ? "invalid \\u escape (four hex digits expected)" : "lone surrogate escape \\ud83d");
                else
                    snprintf(want, sizeof want, "offset %zu: unterminated string (opened at offset 0)", in.len);
                expect_err((const char *)in.data, in.len, lenient, ST_EJSON, want);
            }
    }
    st_buf_free(&in);
    st_buf_free(&c);
}
END_TEST

/* Bytes malloc has handed out and not had back (glibc; under ASan's
 * allocator a constant, and the bounds below hold trivially). */
static size_t heap_in_use(void)
{
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

/* One document reused for long strings (strict, grown by lenient U+FFFD,
 * unterminated) and short ones: each parse decodes as a
 * fresh one does, and a short parse after a long one holds no long
 * string's memory (st_json_parse_reuse, DOC_KEEP). */
START_TEST(reuse_long_then_short)
{
    st_json_doc *d = NULL;
    st_buf c = { 0 }, in = { 0 };
    st_err err = { { 0 } };
    st_json_opts lenient = { ST_JSON_LENIENT_UTF8, 0, 0 };
    ck_assert_int_eq(st_buf_reserve(&c, MIB + 64), 0);     /* the test's own, before base */
    size_t base = heap_in_use();
    for (int round = 0; round < 3; round++) {
        gen_content(&c, MIB, round == 1 ? GEN_GROW : GEN_STRICT, AT_END, "\\\\");
        if (round < 2) {
            expect_decoded_into(&d, &c, ST_JSON_LENIENT_UTF8);
        } else {                                    /* unterminated: the scratch grows to a MiB */
            st_buf_reset(&in);
            st_buf_putc(&in, '"');
            st_buf_put(&in, c.data, c.len);
            ck_assert_int_eq(st_json_parse_reuse(&d, (const char *)in.data, in.len, &lenient, NULL, &err), ST_EJSON);
            ck_assert_uint_eq(strtoull(err.msg + 7, NULL, 10), in.len);
            st_buf_free(&in);
        }
        gen_content(&c, 40, GEN_STRICT, AT_START | AT_END, "\\n");
        expect_decoded_into(&d, &c, ST_JSON_LENIENT_UTF8);
        ck_assert_uint_lt(heap_in_use() - base, 64u << 10);
    }
    st_json_doc_free(d);
    d = NULL;

    /* A document kept (its size fits both inputs) for ~80 KB of short
     * strings after one string of 100 KB that grew past 200 KB in the scratch:
     * the scratch is not kept. */
    st_buf_reset(&in);
    st_buf_put(&in, "[\"", 2);
    gen_content(&c, 100000, GEN_GROW, 0, NULL);
    st_buf_put(&in, c.data, c.len);
    st_buf_put(&in, "\"]", 2);
    ck_assert_int_eq(st_json_parse_reuse(&d, (const char *)in.data, in.len, &lenient, NULL, &err), 0);
    ck_assert_uint_gt(st_json_doc_root(d)->child->len, 200000);
    st_json_doc *first = d;
    st_buf_reset(&in);
    st_buf_putc(&in, '[');
    while (in.len < 80000) {
        gen_content(&c, 60, GEN_STRICT, AT_END, "\\u00e9");
        st_buf_puts(&in, in.len > 1 ? ",\"" : "\"");
        st_buf_put(&in, c.data, c.len);
        st_buf_putc(&in, '"');
    }
    st_buf_putc(&in, ']');
    ck_assert_int_eq(st_json_parse_reuse(&d, (const char *)in.data, in.len, &lenient, NULL, &err), 0);
    ck_assert_ptr_eq(d, first);
    size_t kept = heap_in_use();
    st_json_doc_free(d);
    d = NULL;
    ck_assert_int_eq(st_json_parse_reuse(&d, (const char *)in.data, in.len, &lenient, NULL, &err), 0);
    size_t fresh = heap_in_use();
    /* the kept document's first chunk is bigger (sized for the first input), by less than 256 KiB */
    ck_assert_msg(kept < fresh + (256u << 10), "reused document holds %zu bytes, a fresh one %zu", kept, fresh);
    st_json_doc_free(d);
    st_buf_free(&c);
    st_buf_free(&in);
}
END_TEST

/* ---- getters ---------------------------------------------------------------------------- */

START_TEST(getters_exact)
{
    st_json_doc *d = NULL;
    const char in[] = "{\"Tool\":1,\"tool\":2,\"toolx\":3,\"s\":\"str\",\"n\":null,\"f\":1.5,"
                      "\"max\":9223372036854775807,\"min\":-9223372036854775808,\"over\":9223372036854775808,"
                      "\"under\":-9223372036854775809,\"e\":1e3,\"neg0\":-0}";
    ck_assert_int_eq(parse_f(S(in), 0, 0, &d, NULL, NULL), 0);
    const st_json *r = st_json_doc_root(d);
    int64_t v = 0;
    ck_assert_int_eq(st_json_get_i64(r, "tool", &v), 0);
    ck_assert_int_eq(v, 2);
    ck_assert_int_eq(st_json_get_i64(r, "Tool", &v), 0);
    ck_assert_int_eq(v, 1);
    ck_assert_ptr_null(st_json_get(r, "TOOL"));
    ck_assert_ptr_null(st_json_get(r, "too"));
    ck_assert_ptr_eq(st_json_getn(r, "toolx", 4), st_json_get(r, "tool"));
    ck_assert_ptr_null(st_json_get(r, ""));
    size_t len = 99;
    ck_assert_str_eq(st_json_get_str(r, "s", &len), "str");
    ck_assert_uint_eq(len, 3);
    ck_assert_ptr_null(st_json_get_str(r, "tool", &len));
    ck_assert_ptr_null(st_json_get_str(r, "n", &len));
    ck_assert_ptr_null(st_json_get_str(r, "missing", &len));
    ck_assert_int_eq(st_json_get_i64(r, "s", &v), -1);
    ck_assert_int_eq(st_json_get_i64(r, "f", &v), -1);
    ck_assert_int_eq(st_json_get_i64(r, "e", &v), -1);
    ck_assert_int_eq(st_json_get_i64(r, "over", &v), -1);
    ck_assert_int_eq(st_json_get_i64(r, "under", &v), -1);
    ck_assert_int_eq(st_json_get_i64(r, "max", &v), 0);
    ck_assert(v == INT64_MAX);
    ck_assert_int_eq(st_json_get_i64(r, "min", &v), 0);
    ck_assert(v == INT64_MIN);
    ck_assert_int_eq(st_json_get_i64(r, "neg0", &v), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_str_eq(st_json_get(r, "f")->str, "1.5");
    /* not an object */
    ck_assert_ptr_null(st_json_get(r->child, "x"));
    ck_assert_ptr_null(st_json_get(NULL, "x"));
    st_json_doc_free(d);
}
END_TEST

/* ---- builders and writer ------------------------------------------------------------------- */

START_TEST(writer_escaping)
{
    char all[0x80 + 8];
    for (int i = 0; i < 0x80; i++) all[i] = (char)i;
    memcpy(all + 0x80, "\xc3\xa9\xe2\x80\xa8", 5);
    st_buf b = { 0 };
    st_json_write_string(&b, all, 0x85);
    const char want[] =
        "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f"
        "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f"
        " !\\\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\x7f"
        "\xc3\xa9\xe2\x80\xa8\"";
    ck_assert_uint_eq(b.len, sizeof want - 1);
    ck_assert(memcmp(b.data, want, b.len) == 0);
    st_buf_reset(&b);
    st_json_write_string(&b, NULL, 0);
    ck_assert(b.len == 2 && memcmp(b.data, "\"\"", 2) == 0);
    st_buf_free(&b);
}
END_TEST

/* Short strings take their own path in the writer: every length around it,
 * with each byte that needs escaping at every position, against the escaping
 * written out by hand here. */
static void escape_ref(st_buf *b, const unsigned char *s, size_t n)
{
    st_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        char e[8];
        unsigned c = s[i];
        if (c == '"' || c == '\\') { e[0] = '\\'; e[1] = (char)c; st_buf_put(b, e, 2); }
        else if (c == '\n') st_buf_put(b, "\\n", 2);
        else if (c == '\t') st_buf_put(b, "\\t", 2);
        else if (c == '\r') st_buf_put(b, "\\r", 2);
        else if (c == '\b') st_buf_put(b, "\\b", 2);
        else if (c == '\f') st_buf_put(b, "\\f", 2);
        else if (c < 0x20) { snprintf(e, sizeof e, "\\u%04x", c); st_buf_put(b, e, 6); }
        else st_buf_putc(b, (uint8_t)c);
    }
    st_buf_putc(b, '"');
}

START_TEST(writer_short_strings)
{
    static const unsigned char special[] = { '"', '\\', 0, 1, '\n', 0x1f, 0x7f, 0x80, 0xff };
    unsigned char s[40];
    st_buf got = { 0 }, want = { 0 };
    for (size_t n = 0; n <= sizeof s; n++) {
        for (size_t at = 0; at <= n; at++) {
            for (size_t k = 0; k < sizeof special; k++) {
                for (size_t i = 0; i < n; i++) s[i] = (unsigned char)('a' + i % 26);
                if (at < n) s[at] = special[k];
                st_buf_reset(&got);
                st_buf_reset(&want);
                st_buf_put(&got, "xx", k % 3);        /* also where the buffer is not empty */
                st_json_write_string(&got, (const char *)s, n);
                escape_ref(&want, s, n);
                ck_assert(!got.oom && !want.oom);
                ck_assert_uint_eq(got.len - k % 3, want.len);
                ck_assert_msg(memcmp(got.data + k % 3, want.data, want.len) == 0, "length %zu, byte %02x at %zu", n,
                              special[k], at);
            }
        }
    }
    st_buf_free(&got);
    st_buf_free(&want);
}
END_TEST

START_TEST(writer_sort_keys)
{
    const char in[] = "{\"b\":1,\"a\":{\"d\":1,\"c\":[{\"z\":1,\"y\":2}]},\"aa\":3,\"\":0,\"\xc3\xa9\":1,\"z\":2,\"B\":0}";
    expect_rt(S(in), 0, 0, S(in));
    expect_rt(S(in), 0, ST_JSON_SORT_KEYS,
              S("{\"\":0,\"B\":0,\"a\":{\"c\":[{\"y\":2,\"z\":1}],\"d\":1},\"aa\":3,\"b\":1,\"z\":2,\"\xc3\xa9\":1}"));
    /* arrays keep their order */
    expect_rt(S("[3,1,2]"), 0, ST_JSON_SORT_KEYS, S("[3,1,2]"));
    /* unsigned byte order: 0x7f < 0xc3 and "a\0" after "a" */
    expect_rt(S("{\"\xc3\xa9\":1,\"\x7f\":2,\"a\\u0000\":3,\"a\":4}"), 0, ST_JSON_SORT_KEYS,
              S("{\"a\":4,\"a\\u0000\":3,\"\x7f\":2,\"\xc3\xa9\":1}"));
}
END_TEST

START_TEST(builders)
{
    st_json_doc *d = st_json_doc_new();
    ck_assert_ptr_nonnull(d);
    st_json *o = st_json_new_object(d);
    st_json *arr = st_json_new_array(d);
    ck_assert_int_eq(st_json_object_add(d, o, "z", 1, st_json_new_int(d, INT64_MIN)), 0);
    ck_assert_int_eq(st_json_object_add(d, o, "max", 3, st_json_new_int(d, INT64_MAX)), 0);
    ck_assert_int_eq(st_json_array_add(d, arr, st_json_new_int(d, 0)), 0);
    ck_assert_int_eq(st_json_array_add(d, arr, st_json_new_int(d, -1)), 0);
    ck_assert_int_eq(st_json_array_add(d, arr, st_json_new_null(d)), 0);
    ck_assert_int_eq(st_json_array_add(d, arr, st_json_new_bool(d, 1)), 0);
    ck_assert_int_eq(st_json_array_add(d, arr, st_json_new_bool(d, 0)), 0);
    ck_assert_int_eq(st_json_array_add(d, arr, st_json_new_raw_number(d, "1.5e3", 5)), 0);
    ck_assert_int_eq(st_json_array_add(d, arr, st_json_new_strn(d, "a\0\"b", 4)), 0);
    ck_assert_int_eq(st_json_array_add(d, arr, st_json_new_str(d, "t\xc3\xa9")), 0);
    ck_assert_int_eq(st_json_object_add(d, o, "a\0k", 3, arr), 0);
    ck_assert_int_eq(st_json_object_add(d, o, "", 0, st_json_new_object(d)), 0);
    ck_assert_uint_eq(o->count, 4);
    ck_assert_uint_eq(arr->count, 8);
    /* invalid raw numbers, wrong container types, self-insertion */
    ck_assert_ptr_null(st_json_new_raw_number(d, "01", 2));
    ck_assert_ptr_null(st_json_new_raw_number(d, "abc", 3));
    ck_assert_ptr_null(st_json_new_raw_number(d, "1 ", 2));
    ck_assert_ptr_null(st_json_new_raw_number(d, "", 0));
    ck_assert_int_eq(st_json_array_add(d, o, st_json_new_null(d)), -1);
    ck_assert_int_eq(st_json_object_add(d, arr, "k", 1, st_json_new_null(d)), -1);
    ck_assert_int_eq(st_json_array_add(d, arr, arr), -1);
    ck_assert_int_eq(st_json_array_add(d, arr, NULL), -1);
    st_json_doc_set_root(d, o);
    ck_assert_ptr_eq(st_json_doc_root(d), o);

    const char want[] = "{\"z\":-9223372036854775808,\"max\":9223372036854775807,"
                        "\"a\\u0000k\":[0,-1,null,true,false,1.5e3,\"a\\u0000\\\"b\",\"t\xc3\xa9\"],\"\":{}}";
    const char want_sorted[] = "{\"\":{},\"a\\u0000k\":[0,-1,null,true,false,1.5e3,\"a\\u0000\\\"b\",\"t\xc3\xa9\"],"
                               "\"max\":9223372036854775807,\"z\":-9223372036854775808}";
    st_buf b = { 0 };
    st_json_write(&b, o, 0);
    ck_assert(b.len == sizeof want - 1 && memcmp(b.data, want, b.len) == 0);
    st_buf_reset(&b);
    st_json_write(&b, o, ST_JSON_SORT_KEYS);
    ck_assert(b.len == sizeof want_sorted - 1 && memcmp(b.data, want_sorted, b.len) == 0);

    /* a clone into another document outlives the original */
    st_json_doc *d2 = st_json_doc_new();
    st_json *c = st_json_clone(d2, o);
    st_json_doc_free(d);
    st_buf_reset(&b);
    st_json_write(&b, c, 0);
    ck_assert(b.len == sizeof want - 1 && memcmp(b.data, want, b.len) == 0);
    ck_assert_uint_eq(c->count, 4);
    ck_assert_ptr_eq(st_json_getn(c, "a\0k", 3), c->child->next->next);
    st_buf_free(&b);

    /* arena allocation is max-aligned and survives big requests */
    void *p1 = st_json_doc_alloc(d2, 3), *p2 = st_json_doc_alloc(d2, 1 << 20), *p3 = st_json_doc_alloc(d2, 8);
    ck_assert_ptr_nonnull(p1);
    ck_assert_ptr_nonnull(p2);
    ck_assert_ptr_nonnull(p3);
    ck_assert_uint_eq((uintptr_t)p2 % _Alignof(max_align_t), 0);
    ck_assert_uint_eq((uintptr_t)p3 % _Alignof(max_align_t), 0);
    memset(p2, 0xab, 1 << 20);
    st_json_doc_free(d2);
    st_json_doc_free(NULL);
}
END_TEST

START_TEST(deep_builder_write)
{
    /* builders have no depth limit; the writer handles any depth iteratively */
    st_json_doc *d = st_json_doc_new();
    st_json *root = st_json_new_array(d), *cur = root;
    for (int i = 0; i < 200000; i++) {
        st_json *o = st_json_new_object(d);
        ck_assert_int_eq(st_json_array_add(d, cur, o), 0);
        st_json *a = st_json_new_array(d);
        ck_assert_int_eq(st_json_object_add(d, o, "k", 1, a), 0);
        cur = a;
    }
    st_buf b = { 0 };
    st_json_write(&b, root, ST_JSON_SORT_KEYS);
    ck_assert(!b.oom);
    ck_assert_uint_eq(b.len, 2 + 200000 * 8);
    ck_assert(memcmp(b.data, "[{\"k\":[{\"k\":[", 13) == 0);
    ck_assert(memcmp(b.data + b.len - 5, "]}]}]", 5) == 0);
    st_buf_free(&b);
    st_json_doc_free(d);
}
END_TEST

/* ---- canonical entries [ENTRY-1..6] ---------------------------------------------------------- */

START_TEST(canonical_positive)
{
    expect_canon_ok(S("{}"));
    expect_canon_ok(S("{\"a\":1,\"aa\":[true,false,null],\"b\":\"x\\u0000\\n\\\"\\\\\xc3\xa9\xf0\x9f\x98\x80\x7f\"}"));
    expect_canon_ok(S("{\"cwd\":\"/home/dev/app\",\"duration_ms\":412,\"event\":\"PostToolUse\",\"host\":\"build-7\","
                      "\"index\":41,\"kind\":\"event\",\"payloads\":{\"tool_input\":{\"commit\":\"9f2c\",\"len\":57},"
                      "\"tool_response\":{\"commit\":\"01ab\",\"len\":2310}},\"redactions\":{\"github-token\":1},"
                      "\"session\":\"4b0c\",\"status\":\"succeeded\",\"time_us\":1763787173123456,\"tool\":\"Bash\","
                      "\"tool_use_id\":\"toolu_01\",\"user\":\"dev\",\"v\":1}"));
    expect_canon_ok(S("{\"n\":[-9007199254740991,9007199254740991,0,-1]}"));
    expect_canon_ok(S("{\"c\":\"\\u001f\\b\\f\\t\\r\\u000b\"}"));
    /* depth 16 is allowed, 17 is not [ENTRY-6] */
    st_buf b = { 0 };
    for (int i = 0; i < 15; i++) st_buf_puts(&b, "{\"a\":");
    st_buf_puts(&b, "{}");
    for (int i = 0; i < 15; i++) st_buf_putc(&b, '}');
    expect_canon_ok((const char *)b.data, b.len);
    st_buf_reset(&b);
    for (int i = 0; i < 16; i++) st_buf_puts(&b, "{\"a\":");
    st_buf_puts(&b, "{}");
    for (int i = 0; i < 16; i++) st_buf_putc(&b, '}');
    expect_canon_bad((const char *)b.data, b.len, ST_EDEPTH, "offset 80: nesting deeper than 16 levels");
    st_buf_free(&b);
}
END_TEST

START_TEST(canonical_negative_named)
{
    /* whitespace */
    expect_canon_bad(S("{\"a\": 1}"), ST_ENONCANON, "offset 5: not canonical (expected '1', found ' ')");
    expect_canon_bad(S(" {}"), ST_ENONCANON, "offset 0: not canonical (expected '{', found ' ')");
    expect_canon_bad(S("{\"a\":1 }"), ST_ENONCANON, "offset 6: not canonical (expected '}', found ' ')");
    expect_canon_bad(S("{\n\"a\":1}"), ST_ENONCANON, "offset 1: not canonical (expected '\"', found '\\n')");
    /* trailing newline */
    expect_canon_bad(S("{\"a\":1}\n"), ST_ENONCANON, "offset 7: not canonical (expected end of input, found '\\n')");
    /* unsorted keys */
    expect_canon_bad(S("{\"b\":1,\"a\":2}"), ST_ENONCANON, "offset 2: not canonical (expected 'a', found 'b')");
    expect_canon_bad(S("{\"aa\":1,\"a\":2}"), ST_ENONCANON, "offset 3: not canonical (expected '\"', found 'a')");
    expect_canon_bad(S("{\"x\":{\"b\":1,\"a\":2}}"), ST_ENONCANON, "offset 7: not canonical (expected 'a', found 'b')");
    /* non-minimal escapes */
    expect_canon_bad(S("{\"a\":\"\\u0041\"}"), ST_ENONCANON, "offset 6: not canonical (expected 'A', found '\\u0041')");
    expect_canon_bad(S("{\"\\u0061\":1}"), ST_ENONCANON, "offset 2: not canonical (expected 'a', found '\\u0061')");
    expect_canon_bad(S("{\"a\":\"\\/\"}"), ST_ENONCANON, "offset 6: not canonical (expected '/', found '\\/')");
    expect_canon_bad(S("{\"a\":\"\\u00e9\"}"), ST_ENONCANON, "offset 6: not canonical (expected '\xc3\xa9', found '\\u00e9')");
    expect_canon_bad(S("{\"a\":\"\\u007f\"}"), ST_ENONCANON, "offset 6: not canonical (expected '\\x7f', found '\\u007f')");
    expect_canon_bad(S("{\"a\":\"\\ud83d\\ude00\"}"), ST_ENONCANON,
                     "offset 6: not canonical (expected '\xf0\x9f\x98\x80', found '\\ud83d')");
    /* uppercase hex escape */
    expect_canon_bad(S("{\"a\":\"\\u001F\"}"), ST_ENONCANON, "offset 11: not canonical (expected 'f', found 'F')");
    /* \u000a instead of \n */
    expect_canon_bad(S("{\"a\":\"\\u000a\"}"), ST_ENONCANON, "offset 7: not canonical (expected 'n', found 'u')");
    /* numbers */
    expect_canon_bad(S("{\"a\":-0}"), ST_ENONCANON,
                     "offset 5: not canonical (number -0: negative zero is not allowed)");
    expect_canon_bad(S("{\"a\":1.0}"), ST_ENONCANON,
                     "offset 5: not canonical (number 1.0: not an integer)");
    expect_canon_bad(S("{\"a\":1e5}"), ST_ENONCANON,
                     "offset 5: not canonical (number 1e5: not an integer)");
    expect_canon_bad(S("{\"a\":9007199254740992}"), ST_ENONCANON,
                     "offset 5: not canonical (number 9007199254740992: out of range [-(2^53-1), 2^53-1])");
    /* duplicate key */
    expect_canon_bad(S("{\"a\":1,\"a\":1}"), ST_ENONCANON, "offset 7: not canonical (duplicate key \"a\")");
    expect_canon_bad(S("{\"a\":1,\"a\":2}"), ST_ENONCANON, "offset 7: not canonical (duplicate key \"a\")");
    /* the earlier of two defects is named */
    expect_canon_bad(S("{\"a\":1.0,\"c\":1, \"b\":2}"), ST_ENONCANON,
                     "offset 5: not canonical (number 1.0: not an integer)");
    expect_canon_bad(S("{\"b\":1,\"a\":1.0}"), ST_ENONCANON, "offset 2: not canonical (expected 'a', found 'b')");
    /* not JSON at all */
    expect_canon_bad(S("{\"a\":1}x"), ST_EJSON, "offset 7: trailing bytes after the JSON value ('x')");
    expect_canon_bad(S("{\"a\":1}{}"), ST_EJSON, "offset 7: trailing bytes after the JSON value ('{')");
    expect_canon_bad(S("{\"a\": }"), ST_EJSON, "offset 6: expected a value, found '}'");
    expect_canon_bad(S("\xef\xbb\xbf{}"), ST_EJSON, "offset 0: expected a value, found '\\xef'");
    expect_canon_bad(S("{\"a\":\"\xc0\x80\"}"), ST_EJSON, "offset 6: invalid UTF-8 byte 0xc0 in string");
    expect_canon_bad(S("{\"a\":\"\xed\xa0\x80\"}"), ST_EJSON, "offset 6: invalid UTF-8 byte 0xed in string");
    expect_canon_bad(S("{\"a\":\"\\ud800\"}"), ST_EJSON, "offset 6: lone surrogate escape \\ud800");
    expect_canon_bad(S("{\"a\":NaN}"), ST_EJSON, "offset 5: expected a value, found 'N'");
    expect_canon_bad(S(""), ST_EJSON, "offset 0: expected a value, found end of input");
    /* too big [ENTRY-6] */
    char *big = malloc(ST_ENTRY_MAX + 1);
    memset(big, ' ', ST_ENTRY_MAX + 1);
    expect_canon_bad(big, ST_ENTRY_MAX + 1, ST_ETOOBIG,
                     "offset 1048576: entry of 1048577 bytes is over the limit of 1048576 bytes");
    free(big);
    /* NULL doc_out and NULL err are fine */
    ck_assert_int_eq(st_json_parse_canonical(NULL, (const uint8_t *)"{}", 2, 0, NULL), 0);
    ck_assert_int_eq(st_json_parse_canonical(NULL, (const uint8_t *)"{} ", 3, 0, NULL), ST_ENONCANON);
}
END_TEST

/* ---- real hook payloads ------------------------------------------------------------------------ */

START_TEST(claude_code_payloads)
{
    const char *dir = tu_shared_path("claude-code/payloads");
    if (!dir) return; /* shared/ absent: nothing to check */
    DIR *dp = opendir(dir);
    ck_assert_ptr_nonnull(dp);
    struct dirent *de;
    int files = 0;
    while ((de = readdir(dp)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        size_t n;
        char *s = tu_read_file(path, &n);
        ck_assert_ptr_nonnull(s);
        int rc;
        size_t on, on2;
        char *out = rt(s, n, ST_JSON_ALLOW_WS, 0, &rc, &on);
        ck_assert_msg(rc == 0, "%s: %d", de->d_name, rc);
        /* the compact form is a fixed point under a strict parse */
        char *out2 = rt(out, on, 0, 0, &rc, &on2);
        ck_assert_int_eq(rc, 0);
        ck_assert(on == on2 && memcmp(out, out2, on) == 0);
        ck_assert(on <= n);
        free(out);
        free(out2);
        free(s);
        files++;
    }
    closedir(dp);
    ck_assert_int_gt(files, 10);
}
END_TEST

static Suite *json_suite(void)
{
    Suite *s = suite_create("json");
    TCase *t = tcase_create("parse");
    tcase_add_test(t, rfc8259_valid_roundtrip);
    tcase_add_test(t, array_room_doubles_and_refuses_overflow);
    tcase_add_test(t, rfc8259_invalid);
    tcase_add_test(t, trailing_garbage);
    tcase_add_test(t, flag_allow_ws);
    tcase_add_test(t, nul_in_keys_and_values);
    tcase_add_test(t, surrogate_pairs);
    tcase_add_test(t, lone_surrogates_strict);
    tcase_add_test(t, lone_surrogates_lenient);
    tcase_add_test(t, utf8_strict);
    tcase_add_test(t, utf8_lenient_maximal_subparts);
    tcase_add_test(t, control_characters);
    tcase_add_test(t, depth_100000_arrays);
    tcase_add_test(t, depth_100000_objects);
    tcase_add_test(t, depth_exact_limit);
    tcase_add_test(t, duplicate_keys);
    tcase_add_test(t, flag_allow_dup_keys);
    tcase_add_test(t, big_object_100k_members);
    tcase_add_test(t, flag_integers_only);
    tcase_add_test(t, max_bytes_limit);
    tcase_add_test(t, large_strings);
    tcase_add_test(t, long_escaped_strings_match_reference);
    tcase_add_test(t, long_strings_lenient_growth);
    tcase_add_test(t, long_string_errors_at_far_offsets);
    tcase_add_test(t, reuse_long_then_short);
    tcase_add_test(t, getters_exact);
    tcase_add_test(t, claude_code_payloads);
    suite_add_tcase(s, t);
    t = tcase_create("write");
    tcase_add_test(t, writer_escaping);
    tcase_add_test(t, writer_short_strings);
    tcase_add_test(t, writer_sort_keys);
    tcase_add_test(t, builders);
    tcase_add_test(t, deep_builder_write);
    suite_add_tcase(s, t);
    t = tcase_create("canonical");
    tcase_add_test(t, canonical_positive);
    tcase_add_test(t, canonical_negative_named);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return tu_run_suite(json_suite());
}
