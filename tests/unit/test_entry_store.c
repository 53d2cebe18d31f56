/*
 * test_entry_store.c: entry rows (store/entry_store.c). The fragment table
 * is the one docs/FORMAT.md section 5 gives; entries of every shape pack
 * and expand back to the same bytes, hex runs around 32 digits and
 * fragment text inside strings included; text that is not entry text
 * stays raw; damaged rows are refused with ST_ECORRUPT (by the decoder,
 * st_entry_get, st_check and query) without reading out of bounds; a
 * store's appends write packed rows, and raw and packed rows mix.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entry_store.h"
#include "query.h"
#include "retention.h"
#include "store_int.h"
#include "testutil.h"

static st_buf scratch;

static void teardown(void) { st_buf_free(&scratch); }

/* pack, expect a packed row (or raw), expand, compare. Returns the row length (0: kept raw). */
static size_t round_trip(const char *text, size_t len)
{
    st_buf row = { 0 };
    ck_assert_int_eq(st_entry_row_pack(&row, (const uint8_t *)text, len), 0);
    size_t rl = row.len;
    const uint8_t *b;
    size_t bl;
    if (rl) {
        ck_assert_uint_lt(rl, len);
        ck_assert_uint_eq(row.data[0], ST_ENTRY_ROW_PACKED);
        ck_assert_int_eq(st_entry_row_decode(row.data, rl, &scratch, &b, &bl), 0);
    } else {
        ck_assert_int_eq(st_entry_row_decode(text, len, &scratch, &b, &bl), 0);
        ck_assert_ptr_eq(b, (const uint8_t *)text);   /* a raw row is its own bytes */
    }
    ck_assert_uint_eq(bl, len);
    ck_assert_msg(memcmp(b, text, len) == 0, "round trip changed \"%.*s\"", (int)(len > 200 ? 200 : len), text);
    st_buf_free(&row);
    return rl;
}

static const char HOOK_ENTRY[] =
    "{\"cwd\":\"/home/dev/acme-billing\",\"duration_ms\":4187,\"error\":\"Exit code 1\",\"event\":\"PostToolUseFailure\","
    "\"host\":\"vm\",\"index\":36,\"kind\":\"event\",\"payloads\":{\"error\":{\"commit\":"
    "\"2d71eb62f4f09bbf9cf986e693b33c27dad1eb891bf31ff4aa48700aa12954b8\",\"len\":129},\"event\":{\"commit\":"
    "\"3c91325bf2e44268c5318c1a23882e4c1cdb96f1eb186d715f683edcf24400b4\",\"len\":161},\"tool_input\":{\"commit\":"
    "\"622df4e354cb4d70a30b15d8a5107c2feb061b4d5ee1529139d55e9e2743b1b0\",\"len\":53}},\"permission_mode\":\"default\","
    "\"prompt_id\":\"dcb0d7d1-f66a-431b-b8fd-ce32e2076329\",\"session\":\"bc9086c5-7b15-40c5-9849-dab471d76062\","
    "\"status\":\"failed\",\"time_us\":1795397308517314,\"tool\":\"Bash\",\"tool_use_id\":\"toolu_013MTenxsYS0bOffN8eFNzYe\","
    "\"user\":\"root\",\"v\":1}";

static const char IMPORT_ENTRY[] =
    "{\"duration_ms\":110,\"event\":\"PostToolUse\",\"host\":\"vm\",\"index\":5,\"kind\":\"import\",\"payloads\":{\"event\":"
    "{\"commit\":\"ded4ea1d9db49f609b05808b61317a75734a28c3917e26c35470610a334246a1\",\"len\":115},\"tool_input\":{\"commit\":"
    "\"aaba58656dc496ab08899b43b40e8a32b11acce11751815809b98419b274bf5f\",\"len\":42},\"tool_response\":{\"commit\":"
    "\"572070a4fe6cf9145e3fe52fe272d245899d2498d6c82da0f4c2f42f1ac4f827\",\"len\":735}},\"recorded_us\":1795396491497469,"
    "\"session\":\"38fb223199bebe64ef68f8197af7c051\",\"status\":\"succeeded\",\"time_us\":1717200157680000,\"tool\":\"Glob\","
    "\"user\":\"root\",\"v\":1}";

/* The table in FORMAT.md is the one the code uses, token for token. */
static const char *entry_fragment(unsigned t) { return st_entry_fragment(t, NULL); }

START_TEST(fragments_match_format_md)
{
    tu_check_doc_fragments("Packed entry rows", "Every append is one write", entry_fragment);
    for (unsigned t = ST_ENTRY_FRAG_FIRST; t <= ST_ENTRY_FRAG_LAST; t++) {
        size_t fl;
        const char *f = st_entry_fragment(t, &fl);
        ck_assert_uint_ge(fl, 4);
        ck_assert_uint_le(fl, 40);
        ck_assert(strchr("{\",}", f[0]) != NULL);
    }
    /* Each fragment, after a literal, packs to its own token. */
    for (unsigned t = ST_ENTRY_FRAG_FIRST; t <= ST_ENTRY_FRAG_LAST; t++) {
        size_t fl;
        const char *f = st_entry_fragment(t, &fl);
        char text[64];
        size_t tl = (size_t)snprintf(text, sizeof text, "{x%s", f);
        st_buf row = { 0 };
        ck_assert_int_eq(st_entry_row_pack(&row, (const uint8_t *)text, tl), 0);
        ck_assert_uint_eq(row.len, 4);
        ck_assert_msg(memcmp(row.data, (const uint8_t[]){ ST_ENTRY_ROW_PACKED, '{', 'x', (uint8_t)t }, 4) == 0,
                      "fragment 0x%02x packed otherwise", t);
        st_buf_free(&row);
    }
    ck_assert_ptr_null(st_entry_fragment(0x01, NULL));
    ck_assert_ptr_null(st_entry_fragment(0x20, NULL));
}
END_TEST

START_TEST(entries_round_trip)
{
    size_t hl = round_trip(HOOK_ENTRY, sizeof HOOK_ENTRY - 1);
    size_t il = round_trip(IMPORT_ENTRY, sizeof IMPORT_ENTRY - 1);
    ck_assert_uint_gt(hl, 0);
    ck_assert_uint_le(il * 100, (sizeof IMPORT_ENTRY - 1) * 40);   /* the import's entries pack to < 40% */
    ck_assert_uint_le(hl * 100, (sizeof HOOK_ENTRY - 1) * 60);
    /* Fragment text, hex runs and escapes inside string values. */
    static const char *const texts[] = {
        "{\"a\":\"\\\",\\\"len\\\":\",\"b\":\"},\\\"tool_input\\\":{\\\"commit\\\":\\\"\",\"v\":1}",
        "{\"x\":\",\\\"session\\\":\\\",\\\"tool\\\":\\\"\",\"v\":1}",
        ("{\"cwd\":\"" "\",\"v\":1}"),                                   /* fragments back to back */
        "{\"u\":\"\xc3\xa9\xe2\x80\xa8\xf0\x9f\x94\x91\",\"v\":1}",      /* UTF-8 bytes stand for themselves */
        "{\"k\":\"\\u0000\\n\\t\",\"v\":1}",                              /* escaped control characters */
        "{\"cwd\":\"",                                                    /* a fragment at the very end */
        "{\"v\":1,\",\"v\":1}",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) round_trip(texts[i], strlen(texts[i]));
    /* Hex runs of every length around 32 and 64, at the start, middle and end, upper case too. */
    char buf[256];
    for (int n = 28; n <= 100; n++) {
        for (int where = 0; where < 3; where++) {
            size_t k = 0;
            buf[k++] = '{';
            if (where > 0) k += (size_t)snprintf(buf + k, sizeof buf - k, "\"h\":\"");
            for (int j = 0; j < n; j++) buf[k++] = "0123456789abcdef"[(j * 7 + n) % 16];
            if (where == 1) k += (size_t)snprintf(buf + k, sizeof buf - k, "\",\"v\":1}");
            round_trip(buf, k);
            for (int j = 1; j < n; j += 9) buf[1 + j] = 'F';      /* an upper-case digit breaks the run */
            round_trip(buf, k);
        }
    }
}
END_TEST

START_TEST(large_entry_round_trips)
{
    size_t n = ST_ENTRY_MAX;
    char *t = malloc(n);
    ck_assert_ptr_nonnull(t);
    memcpy(t, "{\"a\":\"", 6);
    for (size_t i = 6; i < n - 2; i++) t[i] = "0123456789abcdef\",\"len\":"[i % 24];
    memcpy(t + n - 2, "\"}", 2);
    ck_assert_uint_gt(round_trip(t, n), 0);
    st_buf row = { 0 };
    ck_assert_int_eq(st_entry_row_pack(&row, (const uint8_t *)t, n + 0), 0);
    ck_assert_uint_gt(row.len, 0);
    st_buf_free(&row);
    free(t);
}
END_TEST

/* What is not entry text, or would not shrink, is left for the caller to store raw. */
START_TEST(raw_kept)
{
    st_buf row = { 0 };
    static const char *const texts[] = {
        "",
        "{",
        "[\"cwd\",\",\\\"v\\\":1}\"]",                              /* not an object */
        "{\"a\":\"\x01\",\"session\":\"x\",\"tool\":\"y\"}",          /* a byte below 0x20 */
        "{\"a\":\"b\t\",\"session\":\"x\",\"tool\":\"y\"}",
        "{\"qwerty\":\"uiop\"}",                                     /* nothing to pack */
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        row.len = 99;
        ck_assert_int_eq(st_entry_row_pack(&row, (const uint8_t *)texts[i], strlen(texts[i])), 0);
        ck_assert_msg(row.len == 0, "\"%s\" was packed", texts[i]);
    }
    /* Over the entry limit. */
    size_t n = ST_ENTRY_MAX + 1;
    char *t = malloc(n);
    ck_assert_ptr_nonnull(t);
    memset(t, 'a', n);
    t[0] = '{';
    ck_assert_int_eq(st_entry_row_pack(&row, (const uint8_t *)t, n), 0);
    ck_assert_uint_eq(row.len, 0);
    free(t);
    st_buf_free(&row);
}
END_TEST

static void refused(const void *row, size_t len, const char *why)
{
    const uint8_t *b = NULL;
    size_t bl = 0;
    ck_assert_msg(st_entry_row_decode(row, len, &scratch, &b, &bl) == ST_ECORRUPT, "accepted: %s", why);
}

START_TEST(damaged_rows_refused)
{
    refused("", 0, "empty row");
    refused("\x01", 1, "tag alone");
    refused("\x02{\"v\":1}", 8, "unknown tag");
    refused("[\"v\"]", 5, "raw row that is not an object");
    refused("\x01{\"a\":\x00}", 8, "0x00 token");
    uint8_t cut[1 + 1 + 15];
    memset(cut, 0xab, sizeof cut);
    cut[0] = ST_ENTRY_ROW_PACKED;
    cut[1] = ST_ENTRY_TOKEN_HEX;
    refused(cut, sizeof cut, "hex token cut short");
    refused("\x01" "abc", 4, "expands to text that is not an object");
    refused("\x01\x1f{", 3, "expands to text that starts with a fragment that is not '{'");
    /* Expansion over 1 MiB: the longest fragment (token 0x08, 39 bytes) after '{'. */
    size_t fl;
    ck_assert_ptr_nonnull(st_entry_fragment(0x08, &fl));
    ck_assert_uint_eq(fl, 39);
    size_t nt = ST_ENTRY_MAX / fl + 1;
    uint8_t *big = malloc(2 + nt + 64);
    ck_assert_ptr_nonnull(big);
    big[0] = ST_ENTRY_ROW_PACKED;
    big[1] = '{';
    memset(big + 2, 0x08, nt);
    refused(big, 2 + nt, "expansion over 1 MiB");
    /* Exactly 1 MiB expands. */
    size_t exact = (ST_ENTRY_MAX - 1) / fl, rest = (ST_ENTRY_MAX - 1) % fl;
    memset(big + 2, 0x08, exact);
    memset(big + 2 + exact, 'x', rest);
    const uint8_t *b;
    size_t bl;
    ck_assert_int_eq(st_entry_row_decode(big, 2 + exact + rest, &scratch, &b, &bl), 0);
    ck_assert_uint_eq(bl, ST_ENTRY_MAX);
    big[2 + exact + rest] = 'y';
    refused(big, 3 + exact + rest, "one byte over 1 MiB");
    free(big);
}
END_TEST

/* ---- in a store ------------------------------------------------------------------ */

static void append_some(st_store *s, size_t n, const char *tool)
{
    st_json_doc *doc = st_json_doc_new();
    st_record_in *r = calloc(n, sizeof *r);
    ck_assert_ptr_nonnull(r);
    for (size_t i = 0; i < n; i++) {
        st_json *m = st_json_new_object(doc);
        ck_assert_int_eq(st_json_object_add(doc, m, "kind", 4, st_json_new_str(doc, "event")), 0);
        ck_assert_int_eq(st_json_object_add(doc, m, "tool", 4, st_json_new_str(doc, tool)), 0);
        ck_assert_int_eq(st_json_object_add(doc, m, "event", 5, st_json_new_str(doc, "PostToolUse")), 0);
        ck_assert_int_eq(st_json_object_add(doc, m, "status", 6, st_json_new_str(doc, "succeeded")), 0);
        r[i].meta = m;
        r[i].npayloads = 1;
        r[i].payloads[0] = (st_payload_in){ .name = "tool_input", .data = (const uint8_t *)"{\"command\":\"ls\"}", .len = 16 };
    }
    uint64_t first;
    ck_assert_int_eq(st_append_records(s, r, n, &first), 0);
    free(r);
    st_json_doc_free(doc);
}

typedef struct rewrite { uint64_t index; int how; } rewrite;

/* how 0: store the row raw (expanded); 1: add a 0x00 token; 2: change its tag; 3: cut its last byte. */
static int rewrite_row(st_txn *txn, void *ctx)
{
    rewrite *w = ctx;
    uint8_t key[8];
    st_be64_put(key, w->index);
    const void *v;
    size_t vl;
    int rc = st_db_get(txn, ST_T_ENTRIES, key, 8, &v, &vl);
    if (rc) return rc;
    uint8_t *copy = malloc(vl + 1);
    memcpy(copy, v, vl);
    copy[vl] = 0;
    if (w->how == 0) {
        const uint8_t *b;
        size_t bl;
        st_buf sc = { 0 };
        ck_assert_int_eq(st_entry_row_decode(copy, vl, &sc, &b, &bl), 0);
        rc = st_db_put(txn, ST_T_ENTRIES, key, 8, b, bl, 0);
        st_buf_free(&sc);
    } else {
        if (w->how == 2) copy[0] = 0x02;
        rc = st_db_put(txn, ST_T_ENTRIES, key, 8, copy, w->how == 1 ? vl + 1 : w->how == 3 ? vl - 1 : vl, 0);
    }
    free(copy);
    return rc;
}

static void rewrite_store(const char *dir, uint64_t index, int how)
{
    st_db *db;
    rewrite w = { index, how };
    ck_assert_int_eq(st_db_open(&db, dir, 0, NULL), 0);
    ck_assert_int_eq(st_db_write(db, rewrite_row, &w, NULL), 0);
    st_db_close(db);
}

static int first_byte_of(const char *dir, uint64_t index)
{
    st_db *db;
    st_txn *txn;
    ck_assert_int_eq(st_db_open(&db, dir, ST_DB_RDONLY, NULL), 0);
    ck_assert_int_eq(st_db_read_begin(db, &txn, NULL), 0);
    uint8_t key[8];
    st_be64_put(key, index);
    const void *v;
    size_t vl;
    ck_assert_int_eq(st_db_get(txn, ST_T_ENTRIES, key, 8, &v, &vl), 0);
    int b = ((const uint8_t *)v)[0];
    st_db_read_end(txn);
    st_db_close(db);
    return b;
}

static int count_fn(void *ctx, st_txn *txn, uint64_t index, const uint8_t *entry, size_t len)
{
    (void)txn; (void)index;
    ck_assert_uint_gt(len, 0);
    ck_assert_uint_eq(entry[0], '{');
    (*(int *)ctx)++;
    return 0;
}

static int query_tool(st_store *s, const char *tool, int *n)
{
    st_query q;
    memset(&q, 0, sizeof q);
    q.tool.v[0] = tool;
    q.tool.len[0] = strlen(tool);
    q.tool.n = 1;
    *n = 0;
    st_txn *txn;
    ck_assert_int_eq(st_db_read_begin(s->db, &txn, NULL), 0);
    st_err err;
    int rc = st_query_run(txn, &q, count_fn, n, NULL, &err);
    st_db_read_end(txn);
    return rc;
}

START_TEST(store_writes_packed_rows_and_reads_both)
{
    char *dir;
    st_store *s = tu_store_fresh("example.com/rows", &dir);
    append_some(s, 1, "Bash");        /* a single append (the hook's path) */
    append_some(s, 300, "Read");      /* a batch (import's path: prepared on a helper thread) */
    st_store_close(s);
    ck_assert_int_eq(first_byte_of(dir, 0), ST_ENTRY_ROW_PACKED);
    ck_assert_int_eq(first_byte_of(dir, 1), ST_ENTRY_ROW_PACKED);
    ck_assert_int_eq(first_byte_of(dir, 300), ST_ENTRY_ROW_PACKED);

    /* A raw row among packed ones (a store from before packing) reads and checks the same. */
    rewrite_store(dir, 7, 0);
    ck_assert_int_eq(first_byte_of(dir, 7), '{');
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_RDONLY), 0);
    ck_assert_msg(st_check(s) == 0, "check: %s", st_store_error(s));
    uint8_t *a;
    size_t al;
    ck_assert_int_eq(st_entry_get(s, 7, &a, &al), 0);
    st_entry e;
    ck_assert_int_eq(st_entry_parse(&e, a, al, NULL), 0);
    ck_assert_uint_eq(e.index, 7);
    st_entry_free(&e);
    free(a);
    ck_assert_int_eq(st_entry_get(s, 8, &a, &al), 0);
    ck_assert_int_eq(st_entry_parse(&e, a, al, NULL), 0);
    ck_assert_uint_eq(e.index, 8);
    st_entry_free(&e);
    free(a);
    int n;
    ck_assert_int_eq(query_tool(s, "Read", &n), 0);
    ck_assert_int_eq(n, 300);
    st_store_close(s);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

static int set_version(st_txn *txn, void *ctx) { return st_meta_put_u64(txn, ST_META_VERSION, *(uint64_t *)ctx); }

static void force_version(const char *dir, uint64_t v)
{
    st_db *db;
    ck_assert_int_eq(st_db_open(&db, dir, 0, NULL), 0);
    ck_assert_int_eq(st_db_write(db, set_version, &v, NULL), 0);
    st_db_close(db);
}

static uint64_t version_of(const char *dir)
{
    st_db *db;
    st_txn *txn;
    uint64_t v = 0;
    ck_assert_int_eq(st_db_open(&db, dir, ST_DB_RDONLY, NULL), 0);
    ck_assert_int_eq(st_db_read_begin(db, &txn, NULL), 0);
    ck_assert_int_eq(st_meta_get_u64(txn, ST_META_VERSION, &v), 0);
    st_db_read_end(txn);
    st_db_close(db);
    return v;
}

/* A version 1 store (raw rows only) reads, and its first append (packed
 * rows, no leaf rows: tree.c) makes it ST_FORMAT_VERSION, which
 * an older build refuses to open rather than taking packed rows or missing
 * leaf rows for damage; a newer version is refused by name. */
START_TEST(format_version_upgrade)
{
    char *dir;
    st_store *s = tu_store_fresh("example.com/rows", &dir);
    st_store_close(s);
    ck_assert_uint_eq(version_of(dir), ST_FORMAT_VERSION);
    force_version(dir, 1);
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_RDONLY), 0);
    st_store_close(s);
    ck_assert_uint_eq(version_of(dir), 1);               /* reading changes nothing */
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_NOSYSLOG | ST_OPEN_NOSEAL), 0);
    append_some(s, 3, "Bash");
    st_store_close(s);
    ck_assert_uint_eq(version_of(dir), ST_FORMAT_VERSION);
    force_version(dir, ST_FORMAT_VERSION + 1);
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_RDONLY), ST_EVERSION);
    char want[32];
    snprintf(want, sizeof want, "version %d", ST_FORMAT_VERSION + 1);
    ck_assert_msg(strstr(st_store_error(s), want) && strstr(st_store_error(s), "newer"), "%s", st_store_error(s));
    st_store_close(s);                                   /* handed out on failure too */
    force_version(dir, 0);
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_RDONLY), ST_EVERSION);
    st_store_close(s);
    /* Compaction of a version 1 store packs its rows and says so. */
    force_version(dir, 1);
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_NOSYSLOG | ST_OPEN_NOSEAL), 0);
    uint64_t b, a;
    ck_assert_msg(st_store_compact(s, 0, &b, &a) == 0, "compact: %s", st_store_error(s));
    st_store_close(s);
    ck_assert_uint_eq(version_of(dir), ST_FORMAT_VERSION);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* Compaction packs the raw rows of an older store: same entries, fewer bytes. */
START_TEST(compaction_packs_raw_rows)
{
    char *dir;
    st_store *s = tu_store_fresh("example.com/rows", &dir);
    append_some(s, 40, "Read");
    st_store_close(s);
    for (uint64_t i = 0; i < 40; i += 3) rewrite_store(dir, i, 0);
    ck_assert_int_eq(first_byte_of(dir, 0), '{');
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_NOSYSLOG | ST_OPEN_NOSEAL), 0);
    uint8_t *before[40];
    size_t blen[40];
    for (uint64_t i = 0; i < 40; i++) ck_assert_int_eq(st_entry_get(s, i, &before[i], &blen[i]), 0);
    uint64_t b, a;
    ck_assert_msg(st_store_compact(s, 0, &b, &a) == 0, "compact: %s", st_store_error(s));
    st_store_close(s);
    for (uint64_t i = 0; i < 40; i++) ck_assert_int_eq(first_byte_of(dir, i), ST_ENTRY_ROW_PACKED);
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_RDONLY), 0);
    ck_assert_msg(st_check(s) == 0, "check: %s", st_store_error(s));
    for (uint64_t i = 0; i < 40; i++) {
        uint8_t *e;
        size_t el;
        ck_assert_int_eq(st_entry_get(s, i, &e, &el), 0);
        ck_assert(el == blen[i] && memcmp(e, before[i], el) == 0);
        free(e);
        free(before[i]);
    }
    st_store_close(s);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(store_damaged_rows_refused)
{
    for (int how = 1; how <= 3; how++) {
        char *dir;
        st_store *s = tu_store_fresh("example.com/rows", &dir);
        append_some(s, 20, "Read");
        st_store_close(s);
        rewrite_store(dir, 12, how);
        ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_RDONLY), 0);
        ck_assert_int_eq(st_check(s), ST_ECORRUPT);
        ck_assert_msg(strstr(st_store_error(s), "entry 12"), "check said \"%s\"", st_store_error(s));
        if (how == 3) {                /* a row cut short at a token's end expands: the entry does not parse */
            st_store_close(s);
            tu_rmrf(dir);
            free(dir);
            continue;
        }
        uint8_t *a = NULL;
        size_t al;
        ck_assert_int_eq(st_entry_get(s, 12, &a, &al), ST_ECORRUPT);
        ck_assert_msg(strstr(st_store_error(s), "entry 12"), "get said \"%s\"", st_store_error(s));
        int n;
        ck_assert_int_eq(query_tool(s, "Read", &n), ST_ECORRUPT);
        ck_assert_int_eq(n, 12);      /* the entries before it were given */
        st_store_close(s);
        tu_rmrf(dir);
        free(dir);
    }
}
END_TEST

int main(void)
{
    Suite *su = suite_create("entry_store");
    TCase *tc = tcase_create("rows");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, fragments_match_format_md);
    tcase_add_test(tc, entries_round_trip);
    tcase_add_test(tc, large_entry_round_trips);
    tcase_add_test(tc, raw_kept);
    tcase_add_test(tc, damaged_rows_refused);
    tcase_add_test(tc, store_writes_packed_rows_and_reads_both);
    tcase_add_test(tc, compaction_packs_raw_rows);
    tcase_add_test(tc, format_version_upgrade);
    tcase_add_test(tc, store_damaged_rows_refused);
    suite_add_tcase(su, tc);
    return tu_run_suite(su);
}
