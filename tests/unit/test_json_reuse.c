/*
 * test_json_reuse.c: documents reused across parses (st_json_doc_reset,
 * st_json_parse_reuse in store/verify/json.c) and the import's per-line
 * conversion with a reused document and payload buffer
 * (st_import_line_reuse in store/import_line.c).
 *
 *  - a parse into a reused document gives exactly the tree of a fresh parse
 *    (written bytes, replaced count), over large, small and large inputs
 *    again, and nothing of the previous parse is left in it;
 *  - an error leaves an empty document that the next parse reuses, with the
 *    same error text, offset and code as a fresh parse;
 *  - a reset document builds values again, and a far too big one is replaced;
 *  - converting a sequence of lines (audit-log, hook, blank, malformed, long,
 *    escaped, invalid UTF-8, secrets) handing each line's document and buffer
 *    to the next gives the same kinds, errors, envelopes and payload bytes as
 *    converting each line on its own.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import_int.h"
#include "json.h"
#include "testutil.h"

#define LENIENT (ST_JSON_ALLOW_WS | ST_JSON_LENIENT_UTF8 | ST_JSON_ALLOW_DUP_KEYS)

static char *written(const st_json *v, size_t *n)
{
    st_buf b = { 0 };
    st_json_write(&b, v, 0);
    ck_assert(!b.oom);
    st_buf_putc(&b, 0);
    *n = b.len - 1;
    return (char *)b.data;
}

/* A document with `members` members, each a string of `width` bytes. */
static char *make_doc(size_t members, size_t width, char fill)
{
    st_buf b = { 0 };
    st_buf_putc(&b, '{');
    for (size_t i = 0; i < members; i++) {
        st_buf_printf(&b, "%s\"k%zu\": [\"", i ? ", " : "", i);
        for (size_t j = 0; j < width; j++) st_buf_putc(&b, (uint8_t)fill);
        st_buf_printf(&b, "\\u00e9\\n\", %zu, true, null, {\"n\": -1.5e3}]", i);
    }
    st_buf_puts(&b, "}");
    st_buf_putc(&b, 0);
    ck_assert(!b.oom);
    return (char *)b.data;
}

/* Parses s into *io and compares with a fresh parse. */
static void same_as_fresh(st_json_doc **io, const char *s, size_t n, unsigned flags)
{
    st_json_opts o = { flags, 0, 0 };
    st_json_info fi, ri;
    st_err fe = { { 0 } }, re = { { 0 } };
    st_json_doc *fresh = NULL;
    int frc = st_json_parse(&fresh, s, n, &o, &fi, &fe);
    int rrc = st_json_parse_reuse(io, s, n, &o, &ri, &re);
    ck_assert_int_eq(rrc, frc);
    ck_assert_ptr_nonnull(*io);
    ck_assert_uint_eq(ri.replaced, fi.replaced);
    ck_assert_uint_eq(ri.error_offset, fi.error_offset);
    if (frc) {
        ck_assert_ptr_null(fresh);
        ck_assert_str_eq(re.msg, fe.msg);
        ck_assert_ptr_null(st_json_doc_root(*io));   /* empty, nothing of before */
        return;
    }
    size_t fn, rn;
    char *fw = written(st_json_doc_root(fresh), &fn), *rw = written(st_json_doc_root(*io), &rn);
    ck_assert_uint_eq(rn, fn);
    ck_assert(memcmp(rw, fw, fn) == 0);
    free(fw);
    free(rw);
    st_json_doc_free(fresh);
}

START_TEST(reuse_large_small_large)
{
    char *big = make_doc(400, 300, 'a'), *small = make_doc(2, 3, 'b'), *mid = make_doc(40, 5000, 'c');
    st_json_doc *d = NULL;
    same_as_fresh(&d, big, strlen(big), ST_JSON_ALLOW_WS);
    same_as_fresh(&d, small, strlen(small), ST_JSON_ALLOW_WS);
    /* nothing of the big document is visible in the small one */
    const st_json *root = st_json_doc_root(d);
    ck_assert_uint_eq(root->count, 2);
    ck_assert_ptr_null(st_json_get(root, "k2"));
    ck_assert_ptr_null(st_json_get(root, "k399"));
    same_as_fresh(&d, big, strlen(big), ST_JSON_ALLOW_WS);
    same_as_fresh(&d, mid, strlen(mid), ST_JSON_ALLOW_WS);
    same_as_fresh(&d, small, strlen(small), ST_JSON_ALLOW_WS);
    same_as_fresh(&d, small, strlen(small), ST_JSON_ALLOW_WS);
    same_as_fresh(&d, big, strlen(big), ST_JSON_ALLOW_WS);
    /* many small parses into one document: its memory is reused, not grown */
    for (int i = 0; i < 10000; i++) same_as_fresh(&d, small, strlen(small), ST_JSON_ALLOW_WS);
    st_json_doc_free(d);
    free(big);
    free(small);
    free(mid);
}
END_TEST

START_TEST(reuse_same_size_keeps_document)
{
    static const char a[] = "{\"x\":\"aaaa\",\"y\":[1,2,3]}", b[] = "{\"z\":\"bbbb\",\"w\":[4,5,6]}";
    st_json_doc *d = NULL;
    st_json_opts o = { 0, 0, 0 };
    st_err e = { { 0 } };
    ck_assert_int_eq(st_json_parse_reuse(&d, a, sizeof a - 1, &o, NULL, &e), 0);
    st_json_doc *first = d;
    const st_json *old_x = st_json_get(st_json_doc_root(d), "x");
    ck_assert_ptr_nonnull(old_x);
    ck_assert_int_eq(st_json_parse_reuse(&d, b, sizeof b - 1, &o, NULL, &e), 0);
    ck_assert_ptr_eq(d, first);                          /* the same memory, reused */
    ck_assert_ptr_null(st_json_get(st_json_doc_root(d), "x"));
    ck_assert_str_eq(st_json_get_str(st_json_doc_root(d), "z", NULL), "bbbb");
    st_json_doc_free(d);
}
END_TEST

START_TEST(reuse_after_errors)
{
    static const char *const inputs[] = {
        "{\"a\":1,\"a\":2}",                 /* duplicate key (strict) */
        "{\"a\":\"unterminated",
        "[1,2,3] x",
        "{\"s\":\"\xff\xfe\"}",              /* invalid UTF-8 (strict), replaced (lenient) */
        "{\"s\":\"\\ud800\"}",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]",
        "{\"ok\":[true,false,null,-0.5e-3,\"\\u0000\\\"\"]}",
        "",
        "{}",
    };
    st_json_doc *d = NULL;
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
            same_as_fresh(&d, inputs[i], strlen(inputs[i]), 0);
            same_as_fresh(&d, inputs[i], strlen(inputs[i]), LENIENT);
        }
    /* over max_bytes: the error of a fresh parse, an empty document */
    st_json_opts o = { 0, 0, 4 };
    st_err e = { { 0 } }, fe = { { 0 } };
    st_json_doc *fresh = NULL;
    ck_assert_int_eq(st_json_parse_reuse(&d, "[1,2,3]", 7, &o, NULL, &e), ST_ETOOBIG);
    ck_assert_int_eq(st_json_parse(&fresh, "[1,2,3]", 7, &o, NULL, &fe), ST_ETOOBIG);
    ck_assert_str_eq(e.msg, fe.msg);
    ck_assert_ptr_null(fresh);
    ck_assert_ptr_null(st_json_doc_root(d));
    same_as_fresh(&d, "[1,2]", 5, 0);
    st_json_doc_free(d);
    /* a failed first parse still gives a document to free (or reuse) */
    d = NULL;
    ck_assert_int_eq(st_json_parse_reuse(&d, "nope", 4, NULL, NULL, &e), ST_EJSON);
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_null(st_json_doc_root(d));
    st_json_doc_free(d);
}
END_TEST

START_TEST(reset_then_build)
{
    st_json_doc *d = st_json_doc_new();
    ck_assert_ptr_nonnull(d);
    for (int round = 0; round < 3; round++) {
        st_json *o = st_json_new_object(d);
        ck_assert_ptr_nonnull(o);
        for (int i = 0; i < 2000; i++) {                /* several chunks and big blocks */
            char key[32], val[3000];
            snprintf(key, sizeof key, "key%d", i);
            size_t vn = (size_t)(i % 7 == 0 ? 2500 : 10);
            memset(val, 'a' + round, vn);
            ck_assert_int_eq(st_json_object_add(d, o, key, strlen(key), st_json_new_strn(d, val, vn)), 0);
        }
        st_json_doc_set_root(d, o);
        ck_assert_uint_eq(st_json_doc_root(d)->count, 2000);
        const st_json *v = st_json_get(o, "key7");
        ck_assert_uint_eq(v->len, 2500);
        ck_assert_int_eq(v->str[0], 'a' + round);
        st_json_doc_reset(d);
        ck_assert_ptr_null(st_json_doc_root(d));
    }
    st_json_doc_reset(NULL);
    st_json_doc_free(d);
}
END_TEST

/* ---- st_import_line_reuse ------------------------------------------------------------------ */

static void event_bytes(const st_event *ev, st_buf *out)
{
    st_json_write(out, ev->rec.meta, ST_JSON_SORT_KEYS);
    st_buf_printf(out, "|t=%lld|n=%zu|", (long long)ev->rec.time_us, ev->rec.npayloads);
    for (size_t i = 0; i < ev->rec.npayloads; i++) {
        const st_payload_in *p = &ev->rec.payloads[i];
        st_buf_printf(out, "%s:%zu:", p->name, p->len);
        st_buf_put(out, p->data, p->len);
        st_buf_printf(out, "|v=%d|", p->value != NULL);
        if (p->value) st_json_write(out, p->value, 0);
    }
    st_buf_printf(out, "|ev=%s|tu=%.*s|pre=%d|nd=%d|red=%llu", ev->event ? ev->event : "-",
                  (int)ev->tool_use_id_len, ev->tool_use_id ? ev->tool_use_id : "", ev->is_pretool,
                  ev->needs_duration, (unsigned long long)ev->redactions);
}

START_TEST(import_line_reuse_same_events)
{
    char *longl = NULL;
    {
        st_buf b = { 0 };
        st_buf_puts(&b, "{\"timestamp\":\"2024-06-01T00:00:00Z\",\"toolName\":\"Big\",\"input\":{\"data\":\"");
        for (int i = 0; i < 200000; i++) st_buf_putc(&b, (uint8_t)('a' + i % 26));
        st_buf_puts(&b, "\"},\"output\":\"done\"}");
        st_buf_putc(&b, 0);
        longl = (char *)b.data;
    }
    const char *lines[] = {
        "{\"timestamp\":\"2024-06-01T00:00:00.000Z\",\"toolName\":\"Write\",\"input\":{\"file_path\":\"/r/a.go\"},"
        "\"output\":{\"stdout\":\"lorem ipsum\"},\"executionTimeMs\":273,\"error\":false,\"errorMessage\":null,"
        "\"status\":\"success\",\"sessionId\":\"s1\"}",
        "",
        "  \t",
        "{\"not json",
        "[1,2]",
        "{\"foo\":1}",
        "{\"toolName\":\"X\",\"input\":{}}",
        longl,
        "{\"timestamp\":\"2024-06-01T00:00:00Z\",\"toolName\":\"T\"}",
        "{\"timestamp\":\"2024-06-01T00:00:00Z\",\"toolName\":\"Bash\",\"input\":{\"command\":"
        "\"export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"},\"output\":\"ok\"}",
        "{\"hook_event_name\":\"PreToolUse\",\"session_id\":\"s1\",\"tool_name\":\"Bash\",\"tool_use_id\":\"tu1\","
        "\"tool_input\":{\"command\":\"ls\"},\"timestamp\":\"2024-06-01T00:00:01Z\"}",
        "{\"hook_event_name\":\"PostToolUse\",\"session_id\":\"s1\",\"tool_name\":\"Bash\",\"tool_use_id\":\"tu1\","
        "\"tool_input\":{\"command\":\"ls\"},\"tool_response\":{\"stdout\":\"x\"},\"timestamp\":1717200009}",
        "{\"hook_event_name\":\"PostToolUse\",\"timestamp\":\"yesterday\",\"session_id\":\"s\"}",
        "{\"timestamp\":\"2024-06-01T00:00:00Z\",\"toolName\":\"U\",\"input\":{\"a\":\"\xff\xfe bad \xc3\"},"
        "\"output\":\"\\ud800 lone\",\"toolName\":\"dup\"}",
        "{\"timestamp\":1717200000123,\"toolName\":\"Esc\",\"input\":{\"k\\u0000ey\":\"v\\\"\\\\\\/\\b\\u00e9\"},"
        "\"output\":[1.5e3,-0,true,null],\"error\":\"boom\\nsecond\",\"status\":\"error\",\"executionTimeMs\":12.7}",
        longl,
        "{\"timestamp\":\"2024-06-01T00:00:00Z\",\"toolName\":\"T2\",\"input\":\"x\"}",
    };
    st_import_line_opts lo = { .now_us = 1700000000000000LL, .host = "h", .user = "u" };
    st_json_doc *spare = NULL;
    st_buf sbuf = { 0 };
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
            st_event a, b;
            int ka = -1, kb = -1;
            st_err wa = { { 0 } }, wb = { { 0 } };
            size_t n = strlen(lines[i]);
            int ra = st_import_line(&a, &ka, lines[i], n, &lo, &wa);
            int rb = st_import_line_reuse(&b, &kb, lines[i], n, &lo, &wb, &spare, &sbuf);
            ck_assert_int_eq(rb, ra);
            ck_assert_int_eq(kb, ka);
            ck_assert_str_eq(wb.msg, wa.msg);
            st_buf ea = { 0 }, eb = { 0 };
            if (ra == 0 && ka != ST_IMPORT_BLANK) {
                event_bytes(&a, &ea);
                event_bytes(&b, &eb);
                ck_assert(!ea.oom && !eb.oom);
                ck_assert_uint_eq(eb.len, ea.len);
                ck_assert(memcmp(eb.data, ea.data, ea.len) == 0);
                ck_assert_ptr_null(spare);              /* the event took the document */
            }
            st_buf_free(&ea);
            st_buf_free(&eb);
            st_event_free(&a);
            /* hand b's document and first buffer to the next line, as the import does */
            if (b.doc) {
                st_json_doc_free(spare);
                spare = b.doc;
                b.doc = NULL;
                if (!sbuf.data) {
                    sbuf = b.pbuf[0];
                    memset(&b.pbuf[0], 0, sizeof b.pbuf[0]);
                }
            }
            st_event_free(&b);
        }
    st_json_doc_free(spare);
    st_buf_free(&sbuf);
    free(longl);
}
END_TEST

static Suite *reuse_suite(void)
{
    Suite *s = suite_create("json_reuse");
    TCase *t = tcase_create("json");
    tcase_add_test(t, reuse_large_small_large);
    tcase_add_test(t, reuse_same_size_keeps_document);
    tcase_add_test(t, reuse_after_errors);
    tcase_add_test(t, reset_then_build);
    suite_add_tcase(s, t);
    t = tcase_create("import_line");
    tcase_add_test(t, import_line_reuse_same_events);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return tu_run_suite(reuse_suite());
}
