/*
 * test_bundle_scan.c: the verifier's one-pass entry scanner (store/verify/
 * entry_scan.c) against the reference, st_entry_parse. On hand-written edge
 * cases and on 100,000 random mutations of them, both must accept the same
 * byte strings and, when they accept, extract the same facts. (The safety
 * property is "scan accepts => parse accepts"; the converse keeps the fast
 * path fast.) [ENTRY-1..9], [PAYLOAD-2], [PAYLOAD-3].
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "entry.h"
#include "entry_scan.h"
#include "testutil.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Canonical entries (valid) and near misses (invalid), with what st_entry_parse says. */
static const char *const cases[] = {
    "{\"index\":0,\"kind\":\"event\",\"time_us\":0,\"v\":1}",
    "{\"index\":9007199254740991,\"kind\":\"k\",\"time_us\":-9007199254740991,\"v\":1}",
    "{\"\\u0001\":1,\"a\":[],\"ab\":{},\"index\":3,\"kind\":\"x\",\"time_us\":5,\"v\":1,\"z\":[true,false,null,\"s\",-1,0]}",
    "{\"agent_id\":\"a\",\"agent_type\":\"t\",\"cwd\":\"/h\\\\o\\\"m\\ne\",\"duration_ms\":12,\"error\":\"e\",\"event\":\"PostToolUse\","
    "\"host\":\"h\",\"index\":7,\"kind\":\"event\",\"mcp_server\":\"m\",\"payloads\":{\"tool_input\":{\"commit\":\"" H64 "\",\"len\":5},"
    "\"tool_response\":{\"commit\":\"" H64 "\",\"len\":3,\"truncated\":{\"len\":99,\"sha256\":\"" H64 "\"}}},"
    "\"permission_mode\":\"default\",\"prompt_id\":\"p\",\"recorded_us\":-4,\"redactions\":{\"aws\":2,\"gh\":0},"
    "\"session\":\"s\\u0000\\u001f\\t\",\"status\":\"ok\",\"time_us\":1,\"tool\":\"Bash\\u0007\",\"tool_use_id\":\"t\",\"user\":\"u\",\"v\":1}",
    "{\"cwd\":\"\xc3\xa9\xf0\x9f\x98\x80\xe2\x80\xa8\x7f\",\"index\":1,\"kind\":\"\xe2\x82\xac\",\"time_us\":1,\"v\":1}",
    "{\"data\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":{\"j\":{\"k\":{\"l\":{\"m\":{\"n\":[1]}}}}}}}}}}}}}},"
    "\"index\":1,\"kind\":\"erasure\",\"time_us\":1,\"v\":1}",
    /* depth 17 */
    "{\"data\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":{\"j\":{\"k\":{\"l\":{\"m\":{\"n\":[[1]]}}}}}}}}}}}}}},"
    "\"index\":1,\"kind\":\"erasure\",\"time_us\":1,\"v\":1}",
    "{\"index\":9007199254740992,\"kind\":\"k\",\"time_us\":0,\"v\":1}",
    "{\"index\":-0,\"kind\":\"k\",\"time_us\":0,\"v\":1}",
    "{\"index\":01,\"kind\":\"k\",\"time_us\":0,\"v\":1}",
    "{\"index\":1.0,\"kind\":\"k\",\"time_us\":0,\"v\":1}",
    "{\"index\":1e3,\"kind\":\"k\",\"time_us\":0,\"v\":1}",
    "{\"index\":1,\"kind\":\"k\",\"time_us\":0,\"v\":2}",
    "{\"index\":1,\"kind\":\"k\",\"time_us\":0}",
    "{\"index\":1,\"kind\":\"\",\"time_us\":0,\"v\":1}",
    "{\"index\":1,\"kind\":\"a\\u0000\",\"time_us\":0,\"v\":1}",
    "{\"index\":1,\"kind\":\"a\\\\u0000\",\"time_us\":0,\"v\":1}",
    "{\"index\":1,\"kind\":\"\\/\",\"time_us\":0,\"v\":1}",
    "{\"index\":1,\"kind\":\"\\u0041\",\"time_us\":0,\"v\":1}",
    "{\"index\":1,\"kind\":\"\\u000a\",\"time_us\":0,\"v\":1}",
    "{\"index\":1,\"kind\":\"\\u001F\",\"time_us\":0,\"v\":1}",
    "{\"index\":1,\"kind\":\"\xed\xa0\x80\",\"time_us\":0,\"v\":1}",
    "{\"index\":1,\"kind\":\"\xc0\xaf\",\"time_us\":0,\"v\":1}",
    "{\"index\":1,\"kind\":\"k\",\"kind\":\"k\",\"time_us\":0,\"v\":1}",
    "{\"kind\":\"k\",\"index\":1,\"time_us\":0,\"v\":1}",
    "{\"index\":1,\"kind\":\"k\",\"time_us\":0,\"v\":1} ",
    "{\"index\":1, \"kind\":\"k\",\"time_us\":0,\"v\":1}",
    "{\"index\":1,\"kind\":\"k\",\"payloads\":{\"Tool\":{\"commit\":\"" H64 "\",\"len\":1}},\"time_us\":0,\"v\":1}",
    "{\"index\":1,\"kind\":\"k\",\"payloads\":{\"t\":{\"commit\":\"" H64 "\",\"len\":1,\"truncated\":{\"len\":1,\"sha256\":\"" H64 "\"}}},\"time_us\":0,\"v\":1}",
    "{\"index\":1,\"kind\":\"k\",\"payloads\":{\"t\":{\"len\":1}},\"time_us\":0,\"v\":1}",
    "{\"index\":1,\"kind\":\"k\",\"redactions\":{\"a\":-1},\"time_us\":0,\"v\":1}",
    "{\"data\":[],\"index\":1,\"kind\":\"k\",\"time_us\":0,\"v\":1}",
    "{\"duration_ms\":\"5\",\"index\":1,\"kind\":\"k\",\"time_us\":0,\"v\":1}",
    "{\"index\":1,\"kind\":\"k\",\"time_us\":0,\"tool\":5,\"v\":1}",
};
#define NCASES (sizeof cases / sizeof cases[0])

static unsigned long g_checked, g_accepted;

static void compare(const uint8_t *b, size_t n, const char *what)
{
    st_entry e;
    st_entry_facts f;
    st_err err;
    int ref = st_entry_parse(&e, b, n, &err);
    int fast = st_entry_scan(&f, b, n);
    g_checked++;
    if (fast == 0 && ref != 0)
        ck_abort_msg("%s: the scanner accepts what st_entry_parse rejects (%s): %.*s", what, err.msg, (int)n, b);
    if (fast != 0 && ref == 0)
        ck_abort_msg("%s: the scanner rejects a valid entry: %.*s", what, (int)n, b);
    if (ref == 0) {
        g_accepted++;
        ck_assert_uint_eq(f.index, e.index);
        ck_assert_int_eq(f.time_us, e.time_us);
        char kind[4096];
        size_t kl = st_span_decode(&f.kind, kind, sizeof kind);
        ck_assert_uint_eq(kl, strlen(e.kind));
        ck_assert_int_eq(memcmp(kind, e.kind, kl < sizeof kind ? kl : sizeof kind), 0);
        ck_assert_uint_eq(f.npayloads, e.npayloads);
        for (size_t i = 0; i < e.npayloads; i++)
            ck_assert_int_eq(memcmp(&f.payloads[i], &e.payloads[i], sizeof f.payloads[i]), 0);
        const char *keys[4] = { "tool", "event", "status", "session" };
        const st_span *spans[4] = { &f.tool, &f.event, &f.status, &f.session };
        int has[4] = { f.has_tool, f.has_event, f.has_status, f.has_session };
        for (int k = 0; k < 4; k++) {
            size_t len;
            const char *s = st_json_get_str(e.root, keys[k], &len);
            ck_assert_int_eq(has[k], s != NULL);
            if (s) {
                char buf[4096];
                size_t dl = st_span_decode(spans[k], buf, sizeof buf);
                ck_assert_uint_eq(dl, len);
                ck_assert_int_eq(memcmp(buf, s, len < sizeof buf ? len : sizeof buf), 0);
            }
        }
        st_entry_free(&e);
    }
}

START_TEST(test_scan_cases)
{
    for (size_t i = 0; i < NCASES; i++) compare((const uint8_t *)cases[i], strlen(cases[i]), "case");
    ck_assert_uint_ge(g_accepted, 6);
}
END_TEST

/* The scanner's eight-digit (numbers) and sixteen-byte (strings) steps: numbers
 * of 1..18 digits, with each kind of byte after them, and every prefix of an
 * entry (input ending inside a number or a string), each in a buffer of
 * exactly its length (ASan: no read past the end). */
START_TEST(test_scan_word_steps)
{
    static const char *const after[] = { ",", "a", ":", "/", ".5", "e1", "0", "}" };
    char num[32], buf[256];
    for (int digits = 1; digits <= 18; digits++)
        for (int lead = 0; lead < 3; lead++)
            for (size_t a = 0; a < sizeof after / sizeof after[0]; a++) {
                size_t k = 0;
                if (lead == 1) num[k++] = '-';
                for (int d = 0; d < digits; d++) num[k++] = (char)(lead == 2 && d == 0 ? '0' : '1' + (d * 7) % 9);
                num[k] = 0;
                int n = snprintf(buf, sizeof buf, "{\"index\":1,\"kind\":\"k\",\"time_us\":%s%s\"v\":1}", num,
                                 strcmp(after[a], ",") == 0 ? "," : after[a]);
                uint8_t *exact = malloc((size_t)n);
                memcpy(exact, buf, (size_t)n);
                compare(exact, (size_t)n, "number");
                free(exact);
            }
    const char *e = "{\"cwd\":\"/home/dev/src/abcdefghabcdefghabcdefgh/project\",\"index\":12345678,"
                    "\"kind\":\"import\",\"time_us\":1795339920959348,\"v\":1}";
    size_t len = strlen(e);
    for (size_t n = 1; n <= len; n++) {
        uint8_t *exact = malloc(n);
        memcpy(exact, e, n);
        compare(exact, n, "prefix");
        free(exact);
    }
}
END_TEST

START_TEST(test_scan_mutations)
{
    static const uint8_t interesting[] = { '"', '\\', '{', '}', '[', ']', ',', ':', '0', '1', '-', 'u', 'e', '.',
                                           0x00, 0x1f, 0x20, 0x7f, 0x80, 0xc3, 0xe2, 0xed, 0xf0, 0xf4, 'n', 't' };
    uint8_t buf[4096];
    unsigned long n_iter = 100000;
    for (unsigned long it = 0; it < n_iter; it++) {
        const char *base = cases[tu_rand() % NCASES];
        size_t n = strlen(base);
        memcpy(buf, base, n);
        int nmut = 1 + (int)(tu_rand() % 3);
        for (int m = 0; m < nmut && n > 1; m++) {
            size_t at = tu_rand() % n;
            switch (tu_rand() % 5) {
            case 0: buf[at] ^= (uint8_t)(1u << (tu_rand() % 8)); break;
            case 1: buf[at] = interesting[tu_rand() % sizeof interesting]; break;
            case 2: memmove(buf + at, buf + at + 1, n - at - 1); n--; break;
            case 3:
                if (n < sizeof buf - 1) {
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = interesting[tu_rand() % sizeof interesting];
                    n++;
                }
                break;
            default: {                      /* duplicate a short piece */
                size_t len = 1 + tu_rand() % 12;
                if (at + len <= n && n + len < sizeof buf) {
                    memmove(buf + at + len, buf + at, n - at);
                    n += len;
                }
                break;
            }
            }
        }
        compare(buf, n, "mutation");
    }
    fprintf(stderr, "scan vs parse: %lu inputs, %lu accepted by both, none accepted by one only\n", g_checked,
            g_accepted);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("bundle_scan");
    TCase *tc = tcase_create("differential");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_scan_cases);
    tcase_add_test(tc, test_scan_word_steps);
    tcase_add_test(tc, test_scan_mutations);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
