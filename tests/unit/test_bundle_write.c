/*
 * test_bundle_write.c: the bundle writer (store/bundle_write.c) against a
 * reference built here: the framing [BUNDLE-2] and the trailer digest
 * [BUNDLE-5] computed with libsodium's SHA-256 (not the writer's), for every
 * kind of record, records around the writer's 2 MiB block size (a record
 * that fills a block exactly, and ones too large for a block, which take
 * another path), tens of MiB (every block reused many times, write-back
 * started as the file grows), to memory, to a file at an offset, and write
 * errors seen on either thread (a closed pipe, a full device).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "bundle_write.h"
#include "entry.h"
#include "sealtrail.h"
#include "testutil.h"

#define MIB ((size_t)1 << 20)
#define BLOCK (2 * MIB)            /* the writer's block size (white box: the boundary cases) */

/* ---- the reference ---------------------------------------------------------------- */

typedef struct ref {
    st_buf bytes;                  /* the expected bundle */
    crypto_hash_sha256_state chain;
    uint64_t count;
} ref;

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

static void ref_init(ref *r)
{
    memset(r, 0, sizeof *r);
    st_buf_put(&r->bytes, "sealtrail-bundle/v1\n", 20);
    crypto_hash_sha256_init(&r->chain);
    crypto_hash_sha256_update(&r->chain, (const uint8_t *)"sealtrail-bundle/v1\n", 20);
}

/* One record as the format defines its bytes and its H. */
static void ref_add(ref *r, uint8_t type, const uint8_t *body, size_t len)
{
    uint8_t hdr[5], h[8 + 1 + 32 + 32];
    size_t hl;
    hdr[0] = type;
    put_be(hdr + 1, len, 4);
    st_buf_put(&r->bytes, hdr, 5);
    st_buf_put(&r->bytes, body, len);
    if ((type == ST_BREC_ENTRY || type == ST_BREC_SUPPORT) && len >= 8) {
        crypto_hash_sha256_state s;
        crypto_hash_sha256_init(&s);
        crypto_hash_sha256_update(&s, (const uint8_t *)"", 1);          /* the 0x00 leaf prefix */
        crypto_hash_sha256_update(&s, body + 8, len - 8);
        memcpy(h, body, 8);
        crypto_hash_sha256_final(&s, h + 8);
        hl = 40;
    } else if (type == ST_BREC_PAYLOAD && len >= 9 && len >= 9u + body[8] + 16) {
        size_t n = body[8];
        crypto_hash_sha256_state s;
        crypto_hash_sha256_init(&s);
        crypto_hash_sha256_update(&s, (const uint8_t *)"sealtrail/payload/v1", 20);
        crypto_hash_sha256_update(&s, (const uint8_t *)"", 1);
        crypto_hash_sha256_update(&s, body + 9 + n, len - 9 - n);        /* salt || bytes */
        memcpy(h, body, 9 + n);
        crypto_hash_sha256_final(&s, h + 9 + n);
        hl = 9 + n + 32;
    } else {
        crypto_hash_sha256(h, body, len);
        hl = 32;
    }
    crypto_hash_sha256_update(&r->chain, hdr, 5);
    crypto_hash_sha256_update(&r->chain, h, hl);
    r->count++;
}

static void ref_finish(ref *r)
{
    uint8_t body[40];
    put_be(body, r->count, 8);
    crypto_hash_sha256_final(&r->chain, body + 8);
    uint8_t hdr[5] = { ST_BREC_TRAILER, 0, 0, 0, 40 };
    st_buf_put(&r->bytes, hdr, 5);
    st_buf_put(&r->bytes, body, 40);
    ck_assert(!r->bytes.oom);
}

/* ---- one bundle of every kind of record, written both ways ---------------------------- */

static uint8_t *pattern(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(p);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)(x >> 16);
    }
    return p;
}

static void payload(st_bundle_writer *w, ref *r, uint64_t index, const char *name, size_t len, unsigned seed)
{
    uint8_t salt[16], body[ST_BREC_PAYLOAD_HEAD_MAX];
    uint8_t *bytes = pattern(len, seed);
    size_t n = strlen(name);
    memset(salt, (int)seed, sizeof salt);
    put_be(body, index, 8);
    body[8] = (uint8_t)n;
    memcpy(body + 9, name, n);
    memcpy(body + 9 + n, salt, 16);
    ck_assert_int_eq(st_bw_payload(w, index, name, salt, bytes, len), 0);
    uint8_t *whole = malloc(9 + n + 16 + len);
    memcpy(whole, body, 9 + n + 16);
    memcpy(whole + 9 + n + 16, bytes, len);
    ref_add(r, ST_BREC_PAYLOAD, whole, 9 + n + 16 + len);
    free(whole);
    free(bytes);
}

static void entry(st_bundle_writer *w, ref *r, uint8_t type, uint64_t index, size_t len, unsigned seed)
{
    uint8_t *bytes = pattern(len, seed), *whole = malloc(8 + len);
    st_hash leaf;
    ck_assert_int_eq(st_bw_entry(w, type, index, bytes, len, leaf), 0);
    put_be(whole, index, 8);
    memcpy(whole + 8, bytes, len);
    ref_add(r, type, whole, 8 + len);
    uint8_t want[32];
    whole[7] = 0;                  /* leaf = SHA-256(0x00 || bytes): reuse the buffer's byte 7 */
    crypto_hash_sha256(want, whole + 7, 1 + len);
    ck_assert_mem_eq(leaf, want, 32);
    free(whole);
    free(bytes);
}

static void record(st_bundle_writer *w, ref *r, uint8_t type, const void *body, size_t len)
{
    ck_assert_int_eq(st_bw_record(w, type, body, len), 0);
    ref_add(r, type, body, len);
}

/* Writes the bundle through w and the same records into r. big: tens of MiB more. */
static void write_all(st_bundle_writer *w, ref *r, int big)
{
    static const char manifest[] = "{\"v\":1}";
    ck_assert_int_eq(st_bw_manifest(w, (const uint8_t *)manifest, sizeof manifest - 1), 0);
    ref_add(r, ST_BREC_MANIFEST, (const uint8_t *)manifest, sizeof manifest - 1);
    static const char key[] = "example.com/log+9be5d3c6+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c";
    ck_assert_int_eq(st_bw_key(w, key), 0);
    ref_add(r, ST_BREC_KEY, (const uint8_t *)key, sizeof key - 1);
    static const char note[] = "example.com/log\n3\nroot\n\n- sig\n";
    ck_assert_int_eq(st_bw_note(w, ST_BREC_CHECKPOINT, note, sizeof note - 1), 0);
    ref_add(r, ST_BREC_CHECKPOINT, (const uint8_t *)note, sizeof note - 1);

    st_hash hs[3];
    uint8_t body[16 + sizeof hs], *pat = pattern(sizeof hs, 7);
    memcpy(hs, pat, sizeof hs);
    free(pat);
    put_be(body, 2, 8);
    put_be(body + 8, 3, 8);
    memcpy(body + 16, hs, sizeof hs);
    ck_assert_int_eq(st_bw_proof(w, ST_BREC_CONSISTENCY, 2, 3, (const st_hash *)hs, 3), 0);
    ref_add(r, ST_BREC_CONSISTENCY, body, 16 + sizeof hs);
    ck_assert_int_eq(st_bw_proof(w, ST_BREC_RIGHT, 3, 3, NULL, 0), 0);
    put_be(body, 3, 8);
    ref_add(r, ST_BREC_RIGHT, body, 16);
    put_be(body, 5, 8);
    memcpy(body + 8, hs, 2 * 32);
    ck_assert_int_eq(st_bw_frontier(w, 5, (const st_hash *)hs, 2), 0);
    ref_add(r, ST_BREC_FRONTIER, body, 8 + 64);

    entry(w, r, ST_BREC_SUPPORT, 2, 133, 1);
    entry(w, r, ST_BREC_ENTRY, 0, 359, 2);
    payload(w, r, 0, "tool_input", 20, 3);
    payload(w, r, 0, "tool_output", 0, 4);                 /* an empty payload */
    ck_assert_int_eq(st_bw_absent(w, 0, "tool_response", 2), 0);
    uint8_t ab[8 + 1 + 13 + 8];
    put_be(ab, 0, 8);
    ab[8] = 13;
    memcpy(ab + 9, "tool_response", 13);
    put_be(ab + 22, 2, 8);
    ref_add(r, ST_BREC_ABSENT, ab, sizeof ab);
    record(w, r, ST_BREC_ENTRY, "\x01\x02\x03", 3);        /* bodies too short to decode: hashed whole */
    record(w, r, ST_BREC_PAYLOAD, "\0\0\0\0\0\0\0\1\x05" "ab", 11);
    record(w, r, ST_BREC_KEY, "", 0);                      /* an empty body */

    /* around the block size: need = 5 + 35 + len for a 10-letter name */
    payload(w, r, 1, "tool_input", BLOCK - 40 - 1, 5);     /* one byte short of a block */
    payload(w, r, 1, "tool_inpuu", BLOCK - 40, 6);         /* exactly one block */
    payload(w, r, 1, "tool_inpuv", BLOCK - 40 + 1, 7);     /* one byte too many: written directly */
    entry(w, r, ST_BREC_ENTRY, 1, ST_ENTRY_MAX, 8);        /* the largest entry fits a block */
    payload(w, r, 1, "z", 3 * MIB + 7, 9);                 /* large, after a partly filled block */
    payload(w, r, 1, "zz", 5, 10);
    if (big) {
        /* ~25 MiB of small records, framed faster than the writer hashes
         * them (the reference is built after), so the caller's thread
         * writes blocks of a file itself */
        uint8_t *bytes = pattern(2000, 12), salt[16];
        memset(salt, 1, sizeof salt);
        for (int pass = 0; pass < 2; pass++)
            for (unsigned i = 0; i < 20000; i++) {
                size_t el = 900 + i % 300, pl = 100 + i % 50;
                if (pass == 0) {
                    ck_assert_int_eq(st_bw_entry(w, ST_BREC_ENTRY, 2 + i, bytes + i % 500, el, NULL), 0);
                    ck_assert_int_eq(st_bw_payload(w, 2 + i, "tool_input", salt, bytes + i % 700, pl), 0);
                    continue;
                }
                uint8_t rec[8 + 1200];
                put_be(rec, 2 + i, 8);
                memcpy(rec + 8, bytes + i % 500, el);
                ref_add(r, ST_BREC_ENTRY, rec, 8 + el);
                rec[8] = 10;
                memcpy(rec + 9, "tool_input", 10);
                memcpy(rec + 19, salt, 16);
                memcpy(rec + 35, bytes + i % 700, pl);
                ref_add(r, ST_BREC_PAYLOAD, rec, 35 + pl);
            }
        free(bytes);
        payload(w, r, 20002, "last", 9 * MIB, 11);
    }
    ck_assert_int_eq(st_bw_finish(w), 0);
    ref_finish(r);
    ck_assert_uint_eq(st_bw_bytes(w), r->bytes.len);
}

START_TEST(test_write_mem_matches_reference)
{
    for (int big = 0; big <= 1; big++) {
        st_buf out = { 0 };
        ref r;
        ref_init(&r);
        st_bundle_writer *w;
        ck_assert_int_eq(st_bw_open_buf(&w, &out), 0);
        write_all(w, &r, big);
        /* nothing after the trailer */
        ck_assert_int_eq(st_bw_record(w, ST_BREC_KEY, (const uint8_t *)"k", 1), ST_EINVAL);
        ck_assert_int_eq(st_bw_finish(w), ST_EINVAL);
        st_bw_free(w);
        ck_assert_uint_eq(out.len, r.bytes.len);
        ck_assert_msg(memcmp(out.data, r.bytes.data, out.len) == 0, "bundle bytes differ from the reference");
        st_buf_free(&out);
        st_buf_free(&r.bytes);
    }
}
END_TEST

/* To a regular file that already holds 3 bytes (the bundle follows them
 * and the offset ends after it): written in place (pwrite, from both
 * threads) with and without write-back as it grows, and appended (O_APPEND:
 * write(2) in order). */
START_TEST(test_write_file_at_offset)
{
    char *dir = tu_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/b.stb", dir);
    struct { int oflags; unsigned flags; } cases[] = { { 0, 0 }, { 0, ST_BW_WRITEBACK }, { O_APPEND, ST_BW_WRITEBACK } };
    for (size_t c = 0; c < 3; c++) {
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | cases[c].oflags, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "abc", 3), 3);
        ref r;
        ref_init(&r);
        st_bundle_writer *w;
        ck_assert_int_eq(st_bw_open_fd(&w, fd, cases[c].flags), 0);
        write_all(w, &r, 1);
        st_bw_free(w);
        ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), (off_t)(3 + r.bytes.len));
        ck_assert_int_eq(fsync(fd), 0);
        close(fd);
        size_t len;
        char *got = tu_read_file(path, &len);
        ck_assert_ptr_nonnull(got);
        ck_assert_uint_eq(len, 3 + r.bytes.len);
        ck_assert(memcmp(got, "abc", 3) == 0);
        ck_assert_msg(memcmp(got + 3, r.bytes.data, r.bytes.len) == 0, "case %zu: file bytes differ from the reference", c);
        free(got);
        st_buf_free(&r.bytes);
    }
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* Write errors: at open (a full device), on the writer thread (a pipe whose
 * reader has gone, many small records), and on the caller's thread (the
 * same with a record too large for a block). Each is sticky. */
START_TEST(test_write_errors)
{
    signal(SIGPIPE, SIG_IGN);
    st_bundle_writer *w = NULL;
    int full = open("/dev/full", O_WRONLY);
    if (full >= 0) {
        ck_assert_int_eq(st_bw_open_fd(&w, full, ST_BW_WRITEBACK), ENOSPC);
        ck_assert_ptr_null(w);
        close(full);
    }
    uint8_t *bytes = pattern(4 * MIB, 1), salt[16] = { 0 };
    for (int large = 0; large <= 1; large++) {
        int p[2];
        ck_assert_int_eq(pipe(p), 0);
        ck_assert_int_eq(st_bw_open_fd(&w, p[1], ST_BW_WRITEBACK), 0);     /* the magic fits in the pipe */
        close(p[0]);
        int rc = 0;
        for (unsigned i = 0; i < 10000 && !rc; i++)        /* up to ~10 MiB: the writer fails, we hear of it */
            rc = large ? st_bw_payload(w, i, "big", salt, bytes, 3 * MIB) : st_bw_entry(w, ST_BREC_ENTRY, i, bytes, 1000, NULL);
        if (!rc) rc = st_bw_finish(w);
        ck_assert_int_eq(rc, EPIPE);
        ck_assert_int_eq(st_bw_entry(w, ST_BREC_ENTRY, 0, bytes, 10, NULL), EPIPE);
        ck_assert_int_eq(st_bw_finish(w), EPIPE);
        st_bw_free(w);
        close(p[1]);
    }
    free(bytes);
}
END_TEST

/* Freed without finishing (an export that failed half way): whatever was
 * queued is dropped, the writer thread ends, nothing is written after. */
START_TEST(test_write_abandoned)
{
    st_buf out = { 0 };
    st_bundle_writer *w;
    uint8_t *bytes = pattern(1000, 3);
    ck_assert_int_eq(st_bw_open_buf(&w, &out), 0);
    for (unsigned i = 0; i < 20000; i++) ck_assert_int_eq(st_bw_entry(w, ST_BREC_ENTRY, i, bytes, 1000, NULL), 0);
    uint64_t framed = st_bw_bytes(w);
    st_bw_free(w);
    ck_assert_uint_lt(out.len, framed);
    size_t len = out.len;
    usleep(10000);
    ck_assert_uint_eq(out.len, len);
    ck_assert(memcmp(out.data, "sealtrail-bundle/v1\n", 20) == 0);
    st_buf_free(&out);
    free(bytes);
}
END_TEST

/* Records that cannot be framed are refused before anything is written. */
START_TEST(test_write_refusals)
{
    st_buf out = { 0 };
    st_bundle_writer *w;
    uint8_t salt[16] = { 0 };
    ck_assert_int_eq(st_bw_open_buf(&w, &out), 0);
    ck_assert_int_eq(st_bw_payload(w, 0, "Bad-Name", salt, salt, 1), ST_EINVAL);
    ck_assert_int_eq(st_bw_absent(w, 0, "", 1), ST_EINVAL);
    ck_assert_int_eq(st_bw_entry(w, ST_BREC_ENTRY, 0, salt, ST_ENTRY_MAX + 1, NULL), ST_ETOOBIG);
    ck_assert_int_eq(st_bw_proof(w, ST_BREC_INCLUSION, 0, 1, NULL, 129), ST_EINVAL);
    ck_assert_int_eq(st_bw_frontier(w, 0, NULL, 65), ST_EINVAL);
    ck_assert_int_eq(st_bw_finish(w), 0);
    st_bw_free(w);
    ck_assert_uint_eq(out.len, 20 + 45);                   /* magic and trailer only */
    ck_assert_uint_eq(out.data[20 + 12], 0);               /* count 0 */
    st_buf_free(&out);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("bundle_write");
    TCase *tc = tcase_create("write");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_write_mem_matches_reference);
    tcase_add_test(tc, test_write_file_at_offset);
    tcase_add_test(tc, test_write_errors);
    tcase_add_test(tc, test_write_refusals);
    tcase_add_test(tc, test_write_abandoned);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
