/*
 * test_entry.c: entry parsing and validation (docs/FORMAT.md sections 1-2):
 * valid entries, each required-member violation [ENTRY-7], [ENTRY-8],
 * payload-table violations [PAYLOAD-2], [PAYLOAD-3], non-canonical input
 * [ENTRY-1..6], and the payload commitment known answer [PAYLOAD-1]
 * (computed here independently and also fixed as a hex value from Python's
 * hashlib).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "entry.h"
#include "testutil.h"
#include "util.h"

#define C64 "9f2c000000000000000000000000000000000000000000000000000000000001"
#define D64 "01ab000000000000000000000000000000000000000000000000000000000002"

static int parse_rc(const char *s)
{
    st_entry e;
    st_err err = { "" };
    int rc = st_entry_parse(&e, (const uint8_t *)s, strlen(s), &err);
    if (rc == 0) st_entry_free(&e);
    return rc;
}

#define ASSERT_RC(s, want) do { \
        int rc_ = parse_rc(s); \
        ck_assert_msg(rc_ == (want), "%s: want %d (%s), got %d (%s)", s, (want), st_strerror(want), rc_, st_strerror(rc_)); \
    } while (0)

/* ---- valid entries -------------------------------------------------------------------- */

START_TEST(test_minimal)
{
    const char *s = "{\"index\":0,\"kind\":\"event\",\"time_us\":1763787173123456,\"v\":1}";
    st_entry e;
    st_err err = { "" };
    ck_assert_msg(st_entry_parse(&e, (const uint8_t *)s, strlen(s), &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(e.index, 0);
    ck_assert_int_eq(e.time_us, 1763787173123456LL);
    ck_assert_str_eq(e.kind, "event");
    ck_assert_uint_eq(e.npayloads, 0);
    ck_assert_ptr_nonnull(e.root);
    ck_assert_ptr_null(st_entry_find_payload(&e, "tool_input"));
    st_entry_free(&e);
    ck_assert_ptr_null(e.doc);
    st_entry_free(&e);          /* twice is harmless */
    st_entry_free(NULL);
}
END_TEST

START_TEST(test_full_example)
{
    /* The FORMAT.md section 1 example, with real hex. */
    const char *s =
        "{\"cwd\":\"/home/dev/app\",\"duration_ms\":412,\"event\":\"PostToolUse\",\"host\":\"build-7\","
        "\"index\":41,\"kind\":\"event\",\"payloads\":{\"tool_input\":{\"commit\":\"" C64 "\",\"len\":57},"
        "\"tool_response\":{\"commit\":\"" D64 "\",\"len\":2310}},\"redactions\":{\"github-token\":1},"
        "\"session\":\"4b0c\",\"status\":\"succeeded\",\"time_us\":1763787173123456,\"tool\":\"Bash\","
        "\"tool_use_id\":\"toolu_01\",\"user\":\"dev\",\"v\":1}";
    st_entry e;
    st_err err = { "" };
    ck_assert_msg(st_entry_parse(&e, (const uint8_t *)s, strlen(s), &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(e.index, 41);
    ck_assert_uint_eq(e.npayloads, 2);
    const st_entry_payload *p = st_entry_find_payload(&e, "tool_response");
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->len, 2310);
    ck_assert_int_eq(p->truncated, 0);
    ck_assert_uint_eq(p->commit[0], 0x01);
    ck_assert_uint_eq(p->commit[1], 0xab);
    ck_assert_uint_eq(p->commit[31], 0x02);
    p = st_entry_find_payload(&e, "tool_input");
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->name, "tool_input");
    ck_assert_uint_eq(p->len, 57);
    ck_assert_ptr_null(st_entry_find_payload(&e, "prompt"));
    st_entry_free(&e);
}
END_TEST

START_TEST(test_truncated_payload)
{
    const char *s = "{\"index\":7,\"kind\":\"event\",\"payloads\":{\"tool_response\":{\"commit\":\"" C64 "\",\"len\":100,"
                    "\"truncated\":{\"len\":5000,\"sha256\":\"" D64 "\"}}},\"time_us\":1,\"v\":1}";
    st_entry e;
    st_err err = { "" };
    ck_assert_msg(st_entry_parse(&e, (const uint8_t *)s, strlen(s), &err) == 0, "%s", err.msg);
    const st_entry_payload *p = st_entry_find_payload(&e, "tool_response");
    ck_assert_int_eq(p->truncated, 1);
    ck_assert_uint_eq(p->full_len, 5000);
    ck_assert_uint_eq(p->full_sha256[1], 0xab);
    st_entry_free(&e);
}
END_TEST

START_TEST(test_tolerated)
{
    /* Unknown members [ENTRY-9], record kinds, negative times, empty payload table, zero-length payload. */
    ASSERT_RC("{\"future_member\":[1,{\"x\":null}],\"index\":1,\"kind\":\"event\",\"time_us\":1,\"v\":1}", 0);
    ASSERT_RC("{\"data\":{\"key\":\"x\"},\"index\":1,\"kind\":\"key-rotation\",\"time_us\":-5,\"v\":1}", 0);
    ASSERT_RC("{\"index\":1,\"kind\":\"import\",\"payloads\":{},\"recorded_us\":9,\"time_us\":1,\"v\":1}", 0);
    ASSERT_RC("{\"index\":9007199254740991,\"kind\":\"e\",\"payloads\":{\"raw\":{\"commit\":\"" C64 "\",\"len\":0}},"
              "\"time_us\":1,\"v\":1}", 0);
    /* A commitment object with an extra member is tolerated too. */
    ASSERT_RC("{\"index\":1,\"kind\":\"e\",\"payloads\":{\"raw\":{\"commit\":\"" C64 "\",\"len\":0,\"z\":1}},"
              "\"time_us\":1,\"v\":1}", 0);
}
END_TEST

/* ---- required members ------------------------------------------------------------------- */

START_TEST(test_required_members)
{
    /* v [ENTRY-7] */
    ASSERT_RC("{\"index\":0,\"kind\":\"event\",\"time_us\":1}", ST_EFORMAT);
    ASSERT_RC("{\"index\":0,\"kind\":\"event\",\"time_us\":1,\"v\":2}", ST_EVERSION);
    ASSERT_RC("{\"index\":0,\"kind\":\"event\",\"time_us\":1,\"v\":0}", ST_EVERSION);
    ASSERT_RC("{\"index\":0,\"kind\":\"event\",\"time_us\":1,\"v\":-1}", ST_EVERSION);
    ASSERT_RC("{\"index\":0,\"kind\":\"event\",\"time_us\":1,\"v\":\"1\"}", ST_EFORMAT);
    ASSERT_RC("{\"index\":0,\"kind\":\"event\",\"time_us\":1,\"v\":true}", ST_EFORMAT);
    /* A future version is reported as such even if the rest would not parse as v1. */
    ASSERT_RC("{\"v\":2}", ST_EVERSION);
    /* index [ENTRY-8] */
    ASSERT_RC("{\"kind\":\"event\",\"time_us\":1,\"v\":1}", ST_EFORMAT);
    ASSERT_RC("{\"index\":-1,\"kind\":\"event\",\"time_us\":1,\"v\":1}", ST_EFORMAT);
    ASSERT_RC("{\"index\":\"0\",\"kind\":\"event\",\"time_us\":1,\"v\":1}", ST_EFORMAT);
    ASSERT_RC("{\"index\":null,\"kind\":\"event\",\"time_us\":1,\"v\":1}", ST_EFORMAT);
    /* time_us */
    ASSERT_RC("{\"index\":0,\"kind\":\"event\",\"v\":1}", ST_EFORMAT);
    ASSERT_RC("{\"index\":0,\"kind\":\"event\",\"time_us\":\"1\",\"v\":1}", ST_EFORMAT);
    ASSERT_RC("{\"index\":0,\"kind\":\"event\",\"time_us\":[1],\"v\":1}", ST_EFORMAT);
    /* kind */
    ASSERT_RC("{\"index\":0,\"time_us\":1,\"v\":1}", ST_EFORMAT);
    ASSERT_RC("{\"index\":0,\"kind\":1,\"time_us\":1,\"v\":1}", ST_EFORMAT);
    ASSERT_RC("{\"index\":0,\"kind\":\"\",\"time_us\":1,\"v\":1}", ST_EFORMAT);
    ASSERT_RC("{\"index\":0,\"kind\":\"a\\u0000b\",\"time_us\":1,\"v\":1}", ST_EFORMAT);
    /* not an object */
    ASSERT_RC("[]", ST_EFORMAT);
    ASSERT_RC("1", ST_EFORMAT);
    ASSERT_RC("\"x\"", ST_EFORMAT);
    /* known optional members of the wrong type */
    ASSERT_RC("{\"index\":0,\"kind\":\"e\",\"time_us\":1,\"tool\":1,\"v\":1}", ST_EFORMAT);
    ASSERT_RC("{\"cwd\":null,\"index\":0,\"kind\":\"e\",\"time_us\":1,\"v\":1}", ST_EFORMAT);
    ASSERT_RC("{\"duration_ms\":\"5\",\"index\":0,\"kind\":\"e\",\"time_us\":1,\"v\":1}", ST_EFORMAT);
    ASSERT_RC("{\"index\":0,\"kind\":\"e\",\"redactions\":{\"x\":-1},\"time_us\":1,\"v\":1}", ST_EFORMAT);
    ASSERT_RC("{\"index\":0,\"kind\":\"e\",\"redactions\":[],\"time_us\":1,\"v\":1}", ST_EFORMAT);
    ASSERT_RC("{\"data\":[],\"index\":0,\"kind\":\"e\",\"time_us\":1,\"v\":1}", ST_EFORMAT);
}
END_TEST

/* ---- payload table ------------------------------------------------------------------------ */

static int payload_rc(const char *table)
{
    char s[4096];
    snprintf(s, sizeof s, "{\"index\":0,\"kind\":\"event\",\"payloads\":%s,\"time_us\":1,\"v\":1}", table);
    return parse_rc(s);
}

START_TEST(test_payload_table)
{
    ck_assert_int_eq(payload_rc("{\"tool_input\":{\"commit\":\"" C64 "\",\"len\":57}}"), 0);
    static const char *bad[] = {
        "[]",
        "\"x\"",
        "{\"tool_input\":[]}",
        "{\"tool_input\":{\"len\":57}}",                                         /* no commit */
        "{\"tool_input\":{\"commit\":\"" C64 "\"}}",                             /* no len */
        "{\"tool_input\":{\"commit\":\"" C64 "\",\"len\":-1}}",
        "{\"tool_input\":{\"commit\":\"" C64 "\",\"len\":\"57\"}}",
        "{\"tool_input\":{\"commit\":1,\"len\":57}}",
        "{\"tool_input\":{\"commit\":\"9F2C000000000000000000000000000000000000000000000000000000000001\",\"len\":1}}",
        "{\"tool_input\":{\"commit\":\"9f2c00000000000000000000000000000000000000000000000000000000001\",\"len\":1}}",
        "{\"tool_input\":{\"commit\":\"9f2c0000000000000000000000000000000000000000000000000000000000001\",\"len\":1}}",
        "{\"tool_input\":{\"commit\":\"9f2c00000000000000000000000000000000000000000000000000000000000g\",\"len\":1}}",
        "{\"Tool\":{\"commit\":\"" C64 "\",\"len\":1}}",                         /* uppercase name */
        "{\"a-b\":{\"commit\":\"" C64 "\",\"len\":1}}",
        "{\"\":{\"commit\":\"" C64 "\",\"len\":1}}",
        "{\"abcdefghijklmnopqrstuvwxyz0123456\":{\"commit\":\"" C64 "\",\"len\":1}}", /* 33 bytes */
        /* truncated */
        "{\"t\":{\"commit\":\"" C64 "\",\"len\":1,\"truncated\":1}}",
        "{\"t\":{\"commit\":\"" C64 "\",\"len\":1,\"truncated\":{\"len\":5}}}",
        "{\"t\":{\"commit\":\"" C64 "\",\"len\":1,\"truncated\":{\"sha256\":\"" D64 "\"}}}",
        "{\"t\":{\"commit\":\"" C64 "\",\"len\":1,\"truncated\":{\"len\":-5,\"sha256\":\"" D64 "\"}}}",
        "{\"t\":{\"commit\":\"" C64 "\",\"len\":1,\"truncated\":{\"len\":5,\"sha256\":\"xyz\"}}}",
        "{\"t\":{\"commit\":\"" C64 "\",\"len\":5,\"truncated\":{\"len\":5,\"sha256\":\"" D64 "\"}}}",   /* not longer */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(payload_rc(bad[i]) == ST_EFORMAT, "accepted payloads %s", bad[i]);
    ck_assert_int_eq(payload_rc("{\"abcdefghijklmnopqrstuvwxyz012345\":{\"commit\":\"" C64 "\",\"len\":1}}"), 0);

    /* 16 payloads pass, 17 do not [PAYLOAD-2]. */
    for (int k = 16; k <= 17; k++) {
        st_buf b = { 0 };
        st_buf_putc(&b, '{');
        for (int i = 0; i < k; i++) st_buf_printf(&b, "%s\"p%02d\":{\"commit\":\"" C64 "\",\"len\":1}", i ? "," : "", i);
        st_buf_puts(&b, "}");
        st_buf_putc(&b, 0);
        ck_assert_int_eq(payload_rc((const char *)b.data), k == 16 ? 0 : ST_EFORMAT);
        st_buf_free(&b);
    }
}
END_TEST

/* ---- canonical encoding --------------------------------------------------------------------- */

static void assert_noncanon(const char *s)
{
    int rc = parse_rc(s);
    ck_assert_msg(rc == ST_ENONCANON || rc == ST_EJSON || rc == ST_EDEPTH, "%s: got %d (%s)", s, rc, st_strerror(rc));
}

START_TEST(test_noncanonical)
{
    assert_noncanon("{\"index\":0, \"kind\":\"event\",\"time_us\":1,\"v\":1}");       /* whitespace */
    assert_noncanon("{\"index\":0,\"kind\":\"event\",\"time_us\":1,\"v\":1}\n");      /* trailing byte */
    assert_noncanon("{\"kind\":\"event\",\"index\":0,\"time_us\":1,\"v\":1}");        /* unsorted */
    assert_noncanon("{\"index\":0,\"index\":0,\"kind\":\"event\",\"time_us\":1,\"v\":1}"); /* duplicate */
    assert_noncanon("{\"index\":0,\"kind\":\"event\",\"time_us\":1.0,\"v\":1}");      /* fraction */
    assert_noncanon("{\"index\":0,\"kind\":\"event\",\"time_us\":1e3,\"v\":1}");      /* exponent */
    assert_noncanon("{\"index\":0,\"kind\":\"event\",\"time_us\":9007199254740992,\"v\":1}"); /* > 2^53-1 */
    assert_noncanon("{\"index\":0,\"kind\":\"ev\\u0065nt\",\"time_us\":1,\"v\":1}");  /* needless escape */
    assert_noncanon("{\"index\":0,\"kind\":\"a\\/b\",\"time_us\":1,\"v\":1}");
    assert_noncanon("{\"index\":0,\"kind\":\"\xC0\xAF\",\"time_us\":1,\"v\":1}");     /* overlong UTF-8 */
    assert_noncanon("\xEF\xBB\xBF{\"index\":0,\"kind\":\"event\",\"time_us\":1,\"v\":1}"); /* BOM */
    assert_noncanon("");
    /* Depth 16 is allowed, 17 is not [ENTRY-6]: the root is level 1. */
    char deep[256];
    int lvl;
    for (int depth = 16; depth <= 17; depth++) {
        size_t n = (size_t)snprintf(deep, sizeof deep, "{\"data\":");
        for (lvl = 2; lvl < depth; lvl++) n += (size_t)snprintf(deep + n, sizeof deep - n, "{\"a\":");
        n += (size_t)snprintf(deep + n, sizeof deep - n, "{}");
        for (lvl = 2; lvl < depth; lvl++) deep[n++] = '}';
        snprintf(deep + n, sizeof deep - n, ",\"index\":0,\"kind\":\"e\",\"time_us\":1,\"v\":1}");
        if (depth == 16) ASSERT_RC(deep, 0);
        else ck_assert_int_ne(parse_rc(deep), 0);
    }
    /* Over 1 MiB [ENTRY-6]. */
    size_t big = ST_ENTRY_MAX + 1;
    uint8_t *b = malloc(big);
    memset(b, ' ', big);
    st_entry e;
    ck_assert_int_eq(st_entry_parse(&e, b, big, NULL), ST_ETOOBIG);
    free(b);
}
END_TEST

/* ---- commitments [PAYLOAD-1] ------------------------------------------------------------------ */

START_TEST(test_commitment)
{
    uint8_t salt[ST_SALT_BYTES];
    for (unsigned i = 0; i < ST_SALT_BYTES; i++) salt[i] = (uint8_t)i;
    const char *payload = "hello";
    st_hash got, want;
    st_payload_commit(got, salt, (const uint8_t *)payload, 5);

    /* Independently: one SHA-256 over the concatenation. */
    uint8_t buf[64];
    size_t n = 0;
    memcpy(buf, "sealtrail/payload/v1", 20); n += 20;
    buf[n++] = 0x00;
    memcpy(buf + n, salt, 16); n += 16;
    memcpy(buf + n, payload, 5); n += 5;
    crypto_hash_sha256(want, buf, n);
    ck_assert(memcmp(got, want, 32) == 0);

    /* And as fixed hex from Python: hashlib.sha256(b"sealtrail/payload/v1\0" + bytes(range(16)) + b"hello") */
    ck_assert_int_eq(st_hash_from_hex(want, "910b6cf0a3ce36f5ea163b2a950c9161c9d48e161fa668e58a6b826cdf576ea3", 64), 0);
    ck_assert(memcmp(got, want, 32) == 0);

    /* Empty payload, zero salt. */
    uint8_t zero[ST_SALT_BYTES] = { 0 };
    st_payload_commit(got, zero, NULL, 0);
    ck_assert_int_eq(st_hash_from_hex(want, "5702fb7d1e26307910034c7b6b71a23f9ed1ee6f7f7fe286a12d9350d4797492", 64), 0);
    ck_assert(memcmp(got, want, 32) == 0);

    /* The salt matters. */
    salt[15] ^= 1;
    st_payload_commit(want, salt, (const uint8_t *)payload, 5);
    st_payload_commit(got, zero, (const uint8_t *)payload, 5);
    ck_assert(memcmp(got, want, 32) != 0);
}
END_TEST

START_TEST(test_payload_names)
{
    ck_assert(st_payload_name_valid("tool_input", 10));
    ck_assert(st_payload_name_valid("raw", 3));
    ck_assert(st_payload_name_valid("a", 1));
    ck_assert(st_payload_name_valid("0_9", 3));
    ck_assert(st_payload_name_valid("abcdefghijklmnopqrstuvwxyz012345", 32));
    ck_assert(!st_payload_name_valid("abcdefghijklmnopqrstuvwxyz0123456", 33));
    ck_assert(!st_payload_name_valid("", 0));
    ck_assert(!st_payload_name_valid(NULL, 0));
    ck_assert(!st_payload_name_valid("Tool", 4));
    ck_assert(!st_payload_name_valid("a-b", 3));
    ck_assert(!st_payload_name_valid("a b", 3));
    ck_assert(!st_payload_name_valid("a\0b", 3));
    ck_assert(!st_payload_name_valid("\xC3\xA9", 2));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("entry");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_minimal);
    tcase_add_test(tc, test_full_example);
    tcase_add_test(tc, test_truncated_payload);
    tcase_add_test(tc, test_tolerated);
    tcase_add_test(tc, test_required_members);
    tcase_add_test(tc, test_payload_table);
    tcase_add_test(tc, test_noncanonical);
    tcase_add_test(tc, test_commitment);
    tcase_add_test(tc, test_payload_names);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
