/*
 * test_payload.c: payload rows (store/payload.c): every storage encoding
 * round-trips at the sizes around its thresholds, rows of the older
 * encoding 1 still read, corrupt and truncated rows are refused with
 * ST_ECORRUPT (by the decoder, st_payload_get and st_check) without
 * crashing, and the built-in dictionary of encoding 2 is pinned by its
 * SHA-256.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zstd.h>

#include "payload.h"
#include "payload_dict.h"
#include "store_int.h"
#include "testutil.h"

#define ROW_HDR (ST_SALT_BYTES + 1)   /* salt || enc */

static char *dir;
static st_payload_zctx *zc;

static void setup(void)
{
    ck_assert(sodium_init() >= 0);
    setenv("SEALTRAIL_NO_SYSLOG", "1", 1);
    dir = tu_tmpdir();
    ck_assert_ptr_nonnull(dir);
    zc = st_payload_zctx_new();
    ck_assert_ptr_nonnull(zc);
}

static void teardown(void)
{
    st_payload_zctx_free(zc);
    tu_rmrf(dir);
    free(dir);
}

/* len bytes of kind k: 0 JSON-like text (no string literal long enough for
 * `blobs`), 1 random bytes, 2 one byte repeated. */
static uint8_t *make_data(size_t len, int k, uint32_t seed)
{
    static const char words[][12] = { "\"stdout\":", "lorem ", "int ", "return ", "{", "}", "\\n", "0x1f, ",
                                      "\"path\":\"/a\",", "static ", "\"", "\\\"", "ok" };
    uint8_t *d = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(d);
    if (k == 1) {
        uint8_t key[randombytes_SEEDBYTES] = { (uint8_t)seed, (uint8_t)(seed >> 8) };
        randombytes_buf_deterministic(d, len, key);
        return d;
    }
    if (k == 2) {
        memset(d, 'a', len);
        return d;
    }
    size_t p = 0;
    uint32_t x = seed * 2654435761u + 1;
    while (p < len) {
        x = x * 1103515245u + 12345u;
        const char *w = words[(x >> 16) % (sizeof words / sizeof words[0])];
        size_t n = strlen(w);
        if (n > len - p) n = len - p;
        memcpy(d + p, w, n);
        p += n;
    }
    return d;
}

#define SMALL (-1)   /* want_enc: 0 or 3 */

/* Builds the row of data (with z or without), checks its encoding and that it decodes back. */
static void round_trip(const uint8_t *data, size_t len, st_payload_zctx *z, int want_enc)
{
    uint8_t salt[ST_SALT_BYTES];
    randombytes_buf(salt, sizeof salt);
    st_buf row = { 0 }, out = { 0 };
    ck_assert_int_eq(st_payload_row_build(&row, salt, data, len, z), 0);
    ck_assert_uint_ge(row.len, ROW_HDR);
    if (want_enc == SMALL) {                  /* under 128 bytes: packed if that is shorter, else raw */
        ck_assert_msg(row.data[ST_SALT_BYTES] == 0 || row.data[ST_SALT_BYTES] == 3, "len %zu: enc %d", len, row.data[ST_SALT_BYTES]);
        ck_assert(row.data[ST_SALT_BYTES] == 0 ? row.len == ROW_HDR + len : row.len < ROW_HDR + len);
    } else {
        ck_assert_msg(row.data[ST_SALT_BYTES] == want_enc, "len %zu: enc %d, expected %d", len, row.data[ST_SALT_BYTES],
                      want_enc);
    }
    ck_assert(memcmp(row.data, salt, ST_SALT_BYTES) == 0);
    uint8_t salt2[ST_SALT_BYTES];
    ck_assert_int_eq(st_payload_decode(NULL, row.data, row.len, salt2, &out), 0);
    ck_assert(memcmp(salt2, salt, ST_SALT_BYTES) == 0);
    ck_assert_uint_eq(out.len, len);
    ck_assert(len == 0 || memcmp(out.data, data, len) == 0);
    st_buf_free(&row);
    st_buf_free(&out);
}

/* Segment list of one literal = 5 + len bytes; encoding 2 holds lists under 64 KiB. */
#define DICT_LIMIT (64 * 1024 - 5)

START_TEST(round_trip_sizes)
{
    static const size_t sizes[] = { 0, 1, 127, 128, 129, 1023, 1024, 1025, 4095, 4096, 4097, 20000,
                                    DICT_LIMIT - 1, DICT_LIMIT, DICT_LIMIT + 1, 200000, 3u << 20 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t len = sizes[i];
        for (int k = 0; k < 3; k++) {
            uint8_t *d = make_data(len, k, (uint32_t)(i * 3 + (size_t)k));
            int small = len < 128;
            round_trip(d, len, zc, small ? SMALL : len < DICT_LIMIT ? 2 : 1);   /* bulk: the dictionary */
            round_trip(d, len, NULL, small ? SMALL : 1);                        /* a single append: enc 1 */
            free(d);
        }
    }
}
END_TEST

/* Real hook payloads from shared/ (when present) round-trip in both ways. */
START_TEST(round_trip_shared_payloads)
{
    static const char *const names[] = { "tool-PostToolUse-Read-text.json", "tool-PostToolUse-Edit.json",
                                         "tool-PostToolUse-Bash-ok.json", "ev-SessionStart-startup.json" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "claude-code/payloads/%s", names[i]);
        const char *path = tu_shared_path(rel);
        size_t n;
        char *buf = path ? tu_read_file(path, &n) : NULL;
        if (!buf) continue;                       /* shared/ absent */
        round_trip((const uint8_t *)buf, n, zc, n < 128 ? SMALL : 2);
        round_trip((const uint8_t *)buf, n, NULL, n < 128 ? SMALL : 1);
        free(buf);
    }
}
END_TEST

/* An encoding-1 row as every earlier version wrote it: a standard zstd frame
 * (level 3) of the segment list, made here with zstd directly. */
static void old_row(st_buf *row, const uint8_t salt[ST_SALT_BYTES], const uint8_t *d, size_t len)
{
    size_t sl = 5 + len;
    uint8_t *segs = malloc(sl);
    ck_assert_ptr_nonnull(segs);
    segs[0] = 0;
    st_be32_put(segs + 1, (uint32_t)len);
    memcpy(segs + 5, d, len);
    size_t bound = ZSTD_compressBound(sl);
    ck_assert_int_eq(st_buf_reserve(row, ROW_HDR + bound), 0);
    st_buf_put(row, salt, ST_SALT_BYTES);
    st_buf_putc(row, 1);
    size_t n = ZSTD_compress(row->data + row->len, bound, segs, sl, 3);
    ck_assert(!ZSTD_isError(n));
    row->len += n;
    free(segs);
}

/* Small payloads (enc 3, pack.h): an imported line's "event" payload and
 * common tool inputs shrink to their values; text with a byte below 0x20
 * (a raw payload) or that packing would not shorten stays enc 0. */
START_TEST(small_payloads_pack)
{
    static const struct { const char *text; size_t packed; } cases[] = {
        { "{\"timestamp\":\"2024-06-01T00:00:00.000Z\",\"executionTimeMs\":273,\"error\":false,\"errorMessage\":null,"
          "\"status\":\"success\"}", 30 },
        { "{\"file_path\":\"/repo/src/jobs/core/file4682.go\"}", 34 },
        { "{\"command\":\"git status\",\"description\":\"Show status\"}", 25 },
        { "{\"session\":\"38fb223199bebe64ef68f8197af7c051\"}", 31 },       /* a 32-digit hex run: 17 bytes */
        { "\"x\"", 0 },                                                   /* no shorter: raw */
        { "line one\nline two", 0 },                                      /* a raw byte below 0x20 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *t = cases[i].text;
        size_t n = strlen(t);
        uint8_t salt[ST_SALT_BYTES] = { 7 };
        st_buf row = { 0 }, out = { 0 };
        ck_assert_int_eq(st_payload_row_build(&row, salt, (const uint8_t *)t, n, NULL), 0);
        ck_assert_int_eq(row.data[ST_SALT_BYTES], cases[i].packed ? 3 : 0);
        ck_assert_msg(row.len == ROW_HDR + (cases[i].packed ? cases[i].packed : n), "case %zu: row of %zu bytes", i, row.len);
        ck_assert_int_eq(st_payload_decode(NULL, row.data, row.len, NULL, &out), 0);
        ck_assert_uint_eq(out.len, n);
        ck_assert(memcmp(out.data, t, n) == 0);
        st_buf_free(&row);
        st_buf_free(&out);
    }
}
END_TEST

/* Damaged packed rows are refused: a 0x00 token, a hex token cut short,
 * an expansion of 128 bytes or more (the writer packs only shorter ones). */
START_TEST(packed_rows_damaged)
{
    static const struct { const char *body; size_t len; } bad[] = {
        { "ab\0cd", 5 }, { "\x01\x11\x22", 3 }, { "\x04\x04\x04", 3 },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t row[ROW_HDR + 16] = { 0 };
        row[ST_SALT_BYTES] = 3;
        memcpy(row + ROW_HDR, bad[i].body, bad[i].len);
        st_buf out = { 0 };
        ck_assert_int_eq(st_payload_decode(NULL, row, ROW_HDR + bad[i].len, NULL, &out), ST_ECORRUPT);
        st_buf_free(&out);
    }
    uint8_t row[ROW_HDR + 2] = { 0 };                 /* 0x04 twice: 104 bytes, within bounds */
    row[ST_SALT_BYTES] = 3;
    row[ROW_HDR] = row[ROW_HDR + 1] = 0x04;
    st_buf out = { 0 };
    ck_assert_int_eq(st_payload_decode(NULL, row, sizeof row, NULL, &out), 0);
    ck_assert_uint_eq(out.len, 2 * strlen(st_payload_fragment(0x04)));
    st_buf_free(&out);
}
END_TEST

/* The table in FORMAT.md is the one the code uses, token for token. */
START_TEST(small_fragments_match_format_md)
{
    tu_check_doc_fragments("Small payload fragments", "\n\n#", st_payload_fragment);
}
END_TEST

START_TEST(old_enc1_rows_read)
{
    static const size_t sizes[] = { 128, 700, 1024, 5000, 70000 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint8_t *d = make_data(sizes[i], 0, 7);
        uint8_t salt[ST_SALT_BYTES] = { 1, 2, 3 };
        st_buf row = { 0 }, out = { 0 };
        old_row(&row, salt, d, sizes[i]);
        ck_assert_int_eq(st_payload_decode(NULL, row.data, row.len, NULL, &out), 0);
        ck_assert_uint_eq(out.len, sizes[i]);
        ck_assert(memcmp(out.data, d, sizes[i]) == 0);
        st_buf_free(&row);
        st_buf_free(&out);
        free(d);
    }
}
END_TEST

static st_txn *rtxn;           /* a read transaction on an empty store: blob segments resolve (to nothing) */

static int decode_rc(const uint8_t *row, size_t len)
{
    st_buf out = { 0 };
    int rc = st_payload_decode(rtxn, row, len, NULL, &out);
    st_buf_free(&out);
    return rc;
}

/* Every truncation of a compressed row is refused; every single-byte change
 * either decodes (to bytes the entry's commitment then refuses) or is refused. */
static void corrupt_rows(st_payload_zctx *z, size_t len)
{
    uint8_t *d = make_data(len, 0, 11);
    uint8_t salt[ST_SALT_BYTES] = { 0 };
    st_buf row = { 0 };
    ck_assert_int_eq(st_payload_row_build(&row, salt, d, len, z), 0);
    for (size_t cut = 0; cut < row.len; cut++)
        ck_assert_msg(decode_rc(row.data, cut) == ST_ECORRUPT, "enc %d, %zu of %zu bytes", row.data[ST_SALT_BYTES],
                      cut, row.len);
    uint8_t *m = malloc(row.len);
    ck_assert_ptr_nonnull(m);
    for (size_t i = ST_SALT_BYTES + 1; i < row.len; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            memcpy(m, row.data, row.len);
            m[i] ^= (uint8_t)(1u << bit);
            int rc = decode_rc(m, row.len);
            ck_assert_msg(rc == 0 || rc == ST_ECORRUPT, "byte %zu bit %u: %d", i, bit, rc);
        }
    }
    for (unsigned enc = 3; enc < 256; enc++) {   /* unknown encodings */
        memcpy(m, row.data, row.len);
        m[ST_SALT_BYTES] = (uint8_t)enc;
        ck_assert_int_eq(decode_rc(m, row.len), ST_ECORRUPT);
    }
    free(m);
    st_buf_free(&row);
    free(d);
}

static void init_store(void);

START_TEST(corrupt_rows_refused)
{
    init_store();
    st_db *db;
    ck_assert_int_eq(st_db_open(&db, dir, 0, NULL), 0);
    ck_assert_int_eq(st_db_read_begin(db, &rtxn, NULL), 0);
    corrupt_rows(zc, 700);     /* enc 2 */
    corrupt_rows(NULL, 700);   /* enc 1 */
    corrupt_rows(zc, 3000);    /* enc 2, Huffman-coded literals */
    st_db_read_end(rtxn);
    rtxn = NULL;
    st_db_close(db);
}
END_TEST

/* Frames that are valid zstd but not what the row's encoding says are refused:
 * one longer than an enc 2 row may hold, and an enc 2 frame read without
 * its dictionary (labelled enc 1). */
START_TEST(foreign_frames_refused)
{
    uint8_t salt[ST_SALT_BYTES] = { 0 };
    uint8_t *d = make_data(70000, 0, 3);
    st_buf row = { 0 };
    old_row(&row, salt, d, 70000);
    row.data[ST_SALT_BYTES] = 2;
    ck_assert_int_eq(decode_rc(row.data, row.len), ST_ECORRUPT);
    st_buf_reset(&row);
    ck_assert_int_eq(st_payload_row_build(&row, salt, d, 500, zc), 0);
    ck_assert_int_eq(row.data[ST_SALT_BYTES], 2);
    row.data[ST_SALT_BYTES] = 1;
    ck_assert_int_eq(decode_rc(row.data, row.len), ST_ECORRUPT);
    st_buf_free(&row);
    free(d);
}
END_TEST

/* ---- in a store: an enc 2 row reads back and checks; a damaged one is refused ---- */

struct rewrite {
    int truncate;              /* 0: rewrite payload 0 as enc 2; else also cut its last bytes off */
};

static int rewrite_enc2(st_txn *txn, void *a)
{
    const struct rewrite *w = a;
    uint8_t salt[ST_SALT_BYTES];
    uint8_t *data;
    size_t len;
    int rc = st_payload_read(txn, 0, "tool_response", salt, &data, &len);
    if (rc) return rc;
    st_buf row = { 0 };
    rc = st_payload_row_build(&row, salt, data, len, zc);
    free(data);
    if (rc == 0 && row.data[ST_SALT_BYTES] != 2) rc = ST_EINVAL;
    if (rc == 0) rc = st_payload_put_row(txn, 0, "tool_response", row.data, row.len - (size_t)w->truncate, 0);
    st_buf_free(&row);
    return rc;
}

static void init_store(void)
{
    char vkey[ST_VKEY_MAX];
    st_init_opts o = { .origin = "example.com/test-log", .seal_max_entries = 1000000, .seal_max_age_us = 3600LL * 1000000 };
    ck_assert_int_eq(st_store_init(dir, &o, vkey), 0);
}

static void store_with_payload(const uint8_t *resp, size_t len)
{
    init_store();
    st_store *s;
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_NOSYSLOG), 0);
    st_json_doc *doc = st_json_doc_new();
    st_json *m = st_json_new_object(doc);
    ck_assert_int_eq(st_json_object_add(doc, m, "kind", 4, st_json_new_str(doc, "event")), 0);
    ck_assert_int_eq(st_json_object_add(doc, m, "tool", 4, st_json_new_str(doc, "Bash")), 0);
    ck_assert_int_eq(st_json_object_add(doc, m, "event", 5, st_json_new_str(doc, "PostToolUse")), 0);
    st_record_in r = { .meta = m, .npayloads = 1 };
    r.payloads[0] = (st_payload_in){ .name = "tool_response", .data = resp, .len = len };
    uint64_t first;
    ck_assert_int_eq(st_append_records(s, &r, 1, &first), 0);
    st_json_doc_free(doc);
    st_store_close(s);
}

static void rewrite_store(int truncate)
{
    st_db *db;
    struct rewrite w = { truncate };
    ck_assert_int_eq(st_db_open(&db, dir, 0, NULL), 0);
    ck_assert_int_eq(st_db_write(db, rewrite_enc2, &w, NULL), 0);
    st_db_close(db);
}

START_TEST(store_enc2_row_reads_and_checks)
{
    uint8_t *d = make_data(900, 0, 5);
    store_with_payload(d, 900);
    rewrite_store(0);
    st_store *s;
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_RDONLY), 0);
    uint8_t *got, salt[ST_SALT_BYTES];
    size_t gl;
    ck_assert_int_eq(st_payload_get(s, 0, "tool_response", &got, &gl, salt), 0);
    ck_assert_uint_eq(gl, 900);
    ck_assert(memcmp(got, d, gl) == 0);
    free(got);
    ck_assert_msg(st_check(s) == 0, "check: %s", st_store_error(s));
    st_store_close(s);
    free(d);
}
END_TEST

START_TEST(store_truncated_enc2_row_refused)
{
    uint8_t *d = make_data(900, 0, 6);
    store_with_payload(d, 900);
    rewrite_store(3);
    st_store *s;
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_RDONLY), 0);
    uint8_t *got, salt[ST_SALT_BYTES];
    size_t gl;
    ck_assert_int_eq(st_payload_get(s, 0, "tool_response", &got, &gl, salt), ST_ECORRUPT);
    ck_assert_int_eq(st_check(s), ST_ECORRUPT);
    ck_assert_msg(strstr(st_store_error(s), "entry 0"), "check said \"%s\"", st_store_error(s));
    st_store_close(s);
    free(d);
}
END_TEST

/* The dictionary is part of the storage format: its bytes never change. */
START_TEST(dictionary_pinned)
{
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, st_payload_dict, st_payload_dict_size);
    char hex[2 * sizeof h + 1];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    ck_assert_str_eq(hex, ST_PAYLOAD_DICT_SHA256);
    ck_assert_str_eq(hex, "8f123a918558066538dea800389fd050d6f0b0ef20fd0853de430035b7a135fa");
    ck_assert_uint_eq(st_payload_dict_size, 2009);
    ck_assert_uint_eq(ZSTD_getDictID_fromDict(st_payload_dict, st_payload_dict_size), ST_PAYLOAD_DICT_ID);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("payload");
    TCase *tc = tcase_create("rows");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, round_trip_sizes);
    tcase_add_test(tc, round_trip_shared_payloads);
    tcase_add_test(tc, small_payloads_pack);
    tcase_add_test(tc, packed_rows_damaged);
    tcase_add_test(tc, small_fragments_match_format_md);
    tcase_add_test(tc, old_enc1_rows_read);
    tcase_add_test(tc, corrupt_rows_refused);
    tcase_add_test(tc, foreign_frames_refused);
    tcase_add_test(tc, store_enc2_row_reads_and_checks);
    tcase_add_test(tc, store_truncated_enc2_row_refused);
    tcase_add_test(tc, dictionary_pinned);
    suite_add_tcase(su, tc);
    return tu_run_suite(su);
}
