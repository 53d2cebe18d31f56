/*
 * test_vectors.c: checks the C implementation against the known-answer
 * vectors in the vectors/ JSON files, which vectors/gen.py produces from a second,
 * independent implementation (Python standard library, Ed25519 from RFC 8032).
 *
 * Every case runs; a mismatch is printed with the case name and both values,
 * and each test fails at the end if any case failed.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "entry.h"
#include "entry_store.h"
#include "json.h"
#include "merkle.h"
#include "note.h"
#include "payload.h"
#include "sign.h"
#include "store_int.h"
#include "testutil.h"
#include "util.h"

/* ---- helpers --------------------------------------------------------------- */

static int failures;

#define FAILF(...) do { fprintf(stderr, "test_vectors: " __VA_ARGS__); fputc('\n', stderr); failures++; } while (0)

static cJSON *load(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "vectors/%s", name);
    const char *path = tu_source_path(rel);
    size_t len = 0;
    char *text = tu_read_file(path, &len);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    ck_assert_msg(j != NULL, "cannot parse %s", path);
    return j;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int jbool(const cJSON *o, const char *key)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* Integers in the vectors are within +-(2^53-1), so a double holds them exactly. */
static int64_t jint(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    ck_assert_msg(cJSON_IsNumber(v), "missing number %s", key);
    return (int64_t)v->valuedouble;
}

static const cJSON *jget(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* Decodes lowercase hex into a fresh buffer (NUL-terminated for convenience). */
static uint8_t *unhex(const char *hex, size_t *len_out)
{
    ck_assert_msg(hex != NULL, "missing hex field");
    size_t n = strlen(hex) / 2;
    uint8_t *b = malloc(n + 1);
    ck_assert(b != NULL);
    ck_assert_msg(st_hex_decode(b, n, hex, 2 * n) == 0, "bad hex in vectors: %.40s", hex);
    b[n] = 0;
    *len_out = n;
    return b;
}

static void hash_hex(st_hash out, const char *hex)
{
    ck_assert_msg(hex && st_hash_from_hex(out, hex, strlen(hex)) == 0, "bad hash hex %s", hex ? hex : "(null)");
}

static void tohex(char out[2 * ST_HASH_BYTES + 1], const st_hash h)
{
    st_hex_encode(out, h, ST_HASH_BYTES);
}

/* A proof from a JSON array of hex hashes; caller frees. */
static st_hash *proof_of(const cJSON *arr, size_t *n)
{
    *n = (size_t)cJSON_GetArraySize(arr);
    st_hash *p = malloc((*n ? *n : 1) * sizeof(st_hash));
    ck_assert(p != NULL);
    size_t i = 0;
    const cJSON *h;
    cJSON_ArrayForEach(h, arr) hash_hex(p[i++], h->valuestring);
    return p;
}

static void expect_hash(const char *what, const char *desc, const st_hash got, const char *want_hex)
{
    st_hash want;
    hash_hex(want, want_hex);
    if (memcmp(got, want, ST_HASH_BYTES) != 0) {
        char g[65];
        tohex(g, got);
        FAILF("%s [%s]: got %s, want %s", what, desc, g, want_hex);
    }
}

static void expect_bytes(const char *what, const char *desc, const uint8_t *got, size_t gn,
                         const uint8_t *want, size_t wn)
{
    if (gn != wn || memcmp(got, want, wn) != 0)
        FAILF("%s [%s]: got %zu bytes \"%.*s\", want %zu bytes \"%.*s\"", what, desc, gn, (int)(gn > 400 ? 400 : gn),
              (const char *)got, wn, (int)(wn > 400 ? 400 : wn), (const char *)want);
}

/* ---- canonical.json ------------------------------------------------------- */

START_TEST(test_canonical)
{
    failures = 0;
    cJSON *root = load("canonical.json");
    unsigned max_depth = (unsigned)jint(root, "max_depth");
    int n = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, jget(root, "cases")) {
        const char *desc = jstr(c, "desc");
        size_t len;
        uint8_t *in = unhex(jstr(c, "input_hex"), &len);
        int want_err = jbool(c, "want_err");
        st_json_doc *doc = NULL;
        st_err err = { { 0 } };
        int rc = st_json_parse_canonical(&doc, in, len, max_depth, &err);
        if (want_err && rc == 0) FAILF("canonical [%s]: accepted, want rejection", desc);
        if (!want_err && rc != 0) FAILF("canonical [%s]: rejected (%d: %s), want acceptance", desc, rc, err.msg);
        if (!want_err && rc == 0 && doc) {
            st_buf b = { 0 };
            st_json_write(&b, st_json_doc_root(doc), ST_JSON_SORT_KEYS);
            expect_bytes("canonical re-serialization", desc, b.data, b.len, in, len);
            st_buf_free(&b);
        }
        st_json_doc_free(doc);

        /* Normalization: a lenient parse written back with sorted keys. */
        if (want_err) {
            const char *norm_hex = jstr(c, "normalized_hex");
            st_json_opts o = { ST_JSON_ALLOW_WS | ST_JSON_INTEGERS_ONLY, 512, 0 };
            doc = NULL;
            rc = st_json_parse(&doc, (const char *)in, len, &o, NULL, &err);
            if (norm_hex) {
                if (rc != 0) {
                    FAILF("normalize [%s]: lenient parse failed (%d: %s)", desc, rc, err.msg);
                } else {
                    size_t wn;
                    uint8_t *want = unhex(norm_hex, &wn);
                    st_buf b = { 0 };
                    st_json_write(&b, st_json_doc_root(doc), ST_JSON_SORT_KEYS);
                    expect_bytes("normalize", desc, b.data, b.len, want, wn);
                    st_buf_free(&b);
                    free(want);
                }
            } else if (rc == 0) {
                FAILF("normalize [%s]: lenient parse accepted input that has no canonical form", desc);
            }
            st_json_doc_free(doc);
        }
        free(in);
        n++;
    }
    cJSON_Delete(root);
    ck_assert_int_gt(n, 50);
    ck_assert_msg(failures == 0, "%d canonical.json mismatches (details on stderr)", failures);
}
END_TEST

/* ---- entries.json --------------------------------------------------------- */

static void check_entry_case(const cJSON *c)
{
    const char *desc = jstr(c, "desc");
    size_t len;
    uint8_t *bytes = unhex(jstr(c, "canonical_hex"), &len);
    st_hash lh;
    st_leaf_hash(lh, bytes, len);
    expect_hash("leaf hash", desc, lh, jstr(c, "leaf_hash_hex"));

    st_entry e;
    memset(&e, 0, sizeof e);
    st_err err = { { 0 } };
    int rc = st_entry_parse(&e, bytes, len, &err);
    if (rc != 0) {
        FAILF("entry [%s]: st_entry_parse failed (%d: %s)", desc, rc, err.msg);
        free(bytes);
        return;
    }
    if ((int64_t)e.index != jint(c, "index")) FAILF("entry [%s]: index %llu", desc, (unsigned long long)e.index);
    if (e.time_us != jint(c, "time_us")) FAILF("entry [%s]: time_us %lld", desc, (long long)e.time_us);
    if (!e.kind || strcmp(e.kind, jstr(c, "kind")) != 0)
        FAILF("entry [%s]: kind %s, want %s", desc, e.kind ? e.kind : "(null)", jstr(c, "kind"));
    const cJSON *ps = jget(c, "payloads");
    if (e.npayloads != (size_t)cJSON_GetArraySize(ps))
        FAILF("entry [%s]: %zu payloads, want %d", desc, e.npayloads, cJSON_GetArraySize(ps));
    const cJSON *p;
    cJSON_ArrayForEach(p, ps) {
        const char *name = jstr(p, "name");
        size_t sl, pl;
        uint8_t *salt = unhex(jstr(p, "salt_hex"), &sl);
        uint8_t *data = unhex(jstr(p, "payload_hex"), &pl);
        ck_assert_uint_eq(sl, ST_SALT_BYTES);
        st_hash cm;
        st_payload_commit(cm, salt, data, pl);
        expect_hash("payload commit (recomputed)", desc, cm, jstr(p, "commit_hex"));
        if (!st_payload_name_valid(name, strlen(name))) FAILF("entry [%s]: payload name %s invalid", desc, name);
        const st_entry_payload *ep = st_entry_find_payload(&e, name);
        if (!ep) {
            FAILF("entry [%s]: payload %s not found", desc, name);
        } else {
            expect_hash("payload commit (parsed)", desc, ep->commit, jstr(p, "commit_hex"));
            if ((int64_t)ep->len != jint(p, "len")) FAILF("entry [%s]: payload %s len %llu", desc, name,
                                                          (unsigned long long)ep->len);
            const cJSON *tr = jget(p, "truncated");
            if (cJSON_IsObject(tr)) {
                if (!ep->truncated) FAILF("entry [%s]: payload %s not marked truncated", desc, name);
                if ((int64_t)ep->full_len != jint(tr, "len")) FAILF("entry [%s]: truncated len", desc);
                expect_hash("truncated sha256", desc, ep->full_sha256, jstr(tr, "sha256_hex"));
                size_t fl;
                uint8_t *full = unhex(jstr(tr, "full_hex"), &fl);
                st_hash fh;
                crypto_hash_sha256(fh, full, fl);
                expect_hash("SHA-256 of full content", desc, fh, jstr(tr, "sha256_hex"));
                if ((int64_t)fl != jint(tr, "len")) FAILF("entry [%s]: full_hex length", desc);
                free(full);
            } else if (ep->truncated) {
                FAILF("entry [%s]: payload %s marked truncated", desc, name);
            }
        }
        free(salt);
        free(data);
    }
    st_entry_free(&e);
    free(bytes);
}

START_TEST(test_entries)
{
    failures = 0;
    cJSON *root = load("entries.json");
    int n = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, jget(root, "entries")) { check_entry_case(c); n++; }
    ck_assert_int_ge(n, 10);

    cJSON_ArrayForEach(c, jget(root, "entry_negatives")) {
        size_t len;
        uint8_t *bytes = unhex(jstr(c, "input_hex"), &len);
        st_entry e;
        memset(&e, 0, sizeof e);
        st_err err = { { 0 } };
        int rc = st_entry_parse(&e, bytes, len, &err);
        if (rc == 0) {
            FAILF("entry negative [%s]: accepted, want rejection (%s)", jstr(c, "desc"), jstr(c, "why"));
            st_entry_free(&e);
        }
        free(bytes);
    }

    cJSON_ArrayForEach(c, jget(root, "size_limit")) {
        const char *pre = jstr(c, "prefix"), *fill = jstr(c, "fill"), *post = jstr(c, "suffix");
        size_t total = (size_t)jint(c, "total_len"), lp = strlen(pre), ls = strlen(post);
        uint8_t *b = malloc(total);
        ck_assert(b != NULL);
        memcpy(b, pre, lp);
        memset(b + lp, fill[0], total - lp - ls);
        memcpy(b + total - ls, post, ls);
        st_hash lh;
        st_leaf_hash(lh, b, total);
        expect_hash("leaf hash", jstr(c, "desc"), lh, jstr(c, "leaf_hash_hex"));
        st_entry e;
        memset(&e, 0, sizeof e);
        st_err err = { { 0 } };
        int rc = st_entry_parse(&e, b, total, &err);
        if (jbool(c, "want_err") && rc == 0) FAILF("size limit [%s]: accepted", jstr(c, "desc"));
        if (!jbool(c, "want_err") && rc != 0) FAILF("size limit [%s]: rejected (%d: %s)", jstr(c, "desc"), rc, err.msg);
        if (rc == 0) st_entry_free(&e);
        free(b);
    }

    cJSON_ArrayForEach(c, jget(root, "commitments")) {
        size_t sl, pl;
        uint8_t *salt = unhex(jstr(c, "salt_hex"), &sl);
        uint8_t *data = unhex(jstr(c, "payload_hex"), &pl);
        ck_assert_uint_eq(sl, ST_SALT_BYTES);
        st_hash cm;
        st_payload_commit(cm, salt, data, pl);
        expect_hash("commitment", jstr(c, "desc"), cm, jstr(c, "commit_hex"));
        free(salt);
        free(data);
    }
    cJSON_Delete(root);
    ck_assert_msg(failures == 0, "%d entries.json mismatches (details on stderr)", failures);
}
END_TEST

/* ---- entry-rows.json ------------------------------------------------------ */

/* As expect_bytes, for binary rows: a mismatch is printed in hex from the first difference on. */
static void expect_row(const char *what, const char *desc, const uint8_t *got, size_t gn, const uint8_t *want,
                       size_t wn)
{
    if (gn == wn && memcmp(got, want, wn) == 0) return;
    size_t d = 0;
    while (d < gn && d < wn && got[d] == want[d]) d++;
    char g[2 * 48 + 1], w[2 * 48 + 1];
    size_t gl = gn - d < 48 ? gn - d : 48, wl = wn - d < 48 ? wn - d : 48;
    st_hex_encode(g, got + d, gl);
    st_hex_encode(w, want + d, wl);
    FAILF("%s [%s]: got %zu bytes, want %zu; from offset %zu got %s%s, want %s%s", what, desc, gn, wn, d, g,
          gn - d > gl ? "..." : "", w, wn - d > wl ? "..." : "");
}

/* bytes = prefix + unit * count + suffix (entry-rows.json size_limit). */
static uint8_t *sized_bytes(const cJSON *c, size_t *len_out)
{
    size_t pl, ul, sl;
    uint8_t *pre = unhex(jstr(c, "prefix_hex"), &pl);
    uint8_t *unit = unhex(jstr(c, "unit_hex"), &ul);
    uint8_t *suf = unhex(jstr(c, "suffix_hex"), &sl);
    size_t count = (size_t)jint(c, "count"), len = pl + ul * count + sl;
    ck_assert_uint_eq(len, (size_t)jint(c, "len"));
    uint8_t *b = malloc(len);
    ck_assert(b != NULL);
    memcpy(b, pre, pl);
    for (size_t i = 0; i < count; i++) memcpy(b + pl + i * ul, unit, ul);
    memcpy(b + pl + count * ul, suf, sl);
    free(pre);
    free(unit);
    free(suf);
    *len_out = len;
    return b;
}

static void expect_sha256(const char *what, const char *desc, const uint8_t *b, size_t len, const char *want_hex)
{
    st_hash h;
    crypto_hash_sha256(h, b, len);
    expect_hash(what, desc, h, want_hex);
}

/* Reads row as an entry row; the bytes it gives back are compared with want
 * (NULL: the row must be refused with ST_ECORRUPT). */
static void expect_row_decode(const char *what, const char *desc, const uint8_t *row, size_t rowlen,
                              const uint8_t *want, size_t wantlen, st_buf *scratch)
{
    const uint8_t *b = NULL;
    size_t bl = 0;
    int rc = st_entry_row_decode(row, rowlen, scratch, &b, &bl);
    if (!want) {
        if (rc != ST_ECORRUPT) FAILF("%s [%s]: decode gave %d, want ST_ECORRUPT", what, desc, rc);
    } else if (rc != 0) {
        FAILF("%s [%s]: decode refused the row (%d)", what, desc, rc);
    } else {
        expect_row(what, desc, b, bl, want, wantlen);
    }
}

/* A vector file's fragment table equals the code's (frag), token by token,
 * each of 0x02..0x1F once. */
static void expect_fragments(const char *what, const cJSON *list, const char *(*frag)(unsigned t))
{
    const cJSON *c;
    int n = 0;
    cJSON_ArrayForEach(c, list) {
        unsigned t = (unsigned)jint(c, "token");
        const char *want = jstr(c, "text"), *f = frag(t);
        char desc[16];
        snprintf(desc, sizeof desc, "0x%02x", t);
        if (!f) FAILF("%s [%s]: none, want %s", what, desc, want);
        else expect_bytes(what, desc, (const uint8_t *)f, strlen(f), (const uint8_t *)want, strlen(want));
        n++;
    }
    ck_assert_int_eq(n, ST_ENTRY_FRAG_LAST - ST_ENTRY_FRAG_FIRST + 1);
}

static const char *entry_fragment(unsigned t) { return st_entry_fragment(t, NULL); }

START_TEST(test_entry_rows)
{
    failures = 0;
    cJSON *root = load("entry-rows.json");
    ck_assert_int_eq(jint(root, "row_packed_tag"), ST_ENTRY_ROW_PACKED);
    ck_assert_int_eq(jint(root, "hex_token"), ST_ENTRY_TOKEN_HEX);
    ck_assert_int_eq(jint(root, "max_bytes"), ST_ENTRY_MAX);
    st_buf row = { 0 }, scratch = { 0 };

    /* The fragment table, token by token. */
    expect_fragments("fragment", jget(root, "fragments"), entry_fragment);
    const cJSON *c;
    int n;

    /* Packing gives exactly the row (or nothing), and the row gives back the text. */
    n = 0;
    cJSON_ArrayForEach(c, jget(root, "cases")) {
        const char *desc = jstr(c, "desc"), *row_hex = jstr(c, "row_hex");
        size_t tl;
        uint8_t *text = unhex(jstr(c, "text_hex"), &tl);
        ck_assert_uint_eq(tl, (size_t)jint(c, "text_len"));
        ck_assert_int_eq(st_entry_row_pack(&row, text, tl), 0);
        ck_assert(!row.oom);
        if (row_hex) {
            size_t wl;
            uint8_t *want = unhex(row_hex, &wl);
            expect_row("packed row", desc, row.data, row.len, want, wl);
            expect_row_decode("packed row read back", desc, want, wl, text, tl, &scratch);
            free(want);
        } else if (row.len != 0) {
            FAILF("packed row [%s]: %zu bytes, want none (the entry stays raw)", desc, row.len);
        }
        /* The text itself as a raw row. */
        expect_row_decode("raw row", desc, text, tl, jbool(c, "raw_row_decodes") ? text : NULL, tl, &scratch);
        free(text);
        n++;
    }
    ck_assert_int_gt(n, 50);

    cJSON_ArrayForEach(c, jget(root, "readable_rows")) {
        size_t rl, tl;
        uint8_t *r = unhex(jstr(c, "row_hex"), &rl);
        uint8_t *text = unhex(jstr(c, "text_hex"), &tl);
        expect_row_decode("readable row", jstr(c, "desc"), r, rl, text, tl, &scratch);
        free(r);
        free(text);
    }

    n = 0;
    cJSON_ArrayForEach(c, jget(root, "damaged_rows")) {
        size_t rl;
        uint8_t *r = unhex(jstr(c, "row_hex"), &rl);
        expect_row_decode("damaged row", jstr(c, "desc"), r, rl, NULL, 0, &scratch);
        free(r);
        n++;
    }
    ck_assert_int_ge(n, 10);

    cJSON_ArrayForEach(c, jget(root, "size_limit")) {
        const char *desc = jstr(c, "desc"), *op = jstr(c, "op");
        size_t len;
        uint8_t *b = sized_bytes(c, &len);
        if (strcmp(op, "pack") == 0) {
            ck_assert_int_eq(st_entry_row_pack(&row, b, len), 0);
            ck_assert(!row.oom);
            const cJSON *rlen = jget(c, "row_len");
            if (cJSON_IsNumber(rlen)) {
                if (row.len != (size_t)rlen->valuedouble)
                    FAILF("size limit [%s]: packed row of %zu bytes, want %.0f", desc, row.len, rlen->valuedouble);
                else expect_sha256("size limit packed row", desc, row.data, row.len, jstr(c, "row_sha256_hex"));
                expect_row_decode("size limit packed row read back", desc, row.data, row.len, b, len, &scratch);
            } else if (row.len != 0) {
                FAILF("size limit [%s]: packed row of %zu bytes, want none", desc, row.len);
            }
        } else {
            ck_assert_str_eq(op, "decode");
            const uint8_t *out = NULL;
            size_t ol = 0;
            int rc = st_entry_row_decode(b, len, &scratch, &out, &ol);
            if (jbool(c, "want_err")) {
                if (rc != ST_ECORRUPT) FAILF("size limit [%s]: decode gave %d, want ST_ECORRUPT", desc, rc);
            } else if (rc != 0) {
                FAILF("size limit [%s]: decode refused the row (%d)", desc, rc);
            } else if (ol != (size_t)jint(c, "text_len")) {
                FAILF("size limit [%s]: expands to %zu bytes, want %lld", desc, ol, (long long)jint(c, "text_len"));
            } else {
                expect_sha256("size limit expansion", desc, out, ol, jstr(c, "text_sha256_hex"));
            }
        }
        free(b);
    }
    st_buf_free(&row);
    st_buf_free(&scratch);
    cJSON_Delete(root);
    ck_assert_msg(failures == 0, "%d entry-rows.json mismatches (details on stderr)", failures);
}
END_TEST

/* ---- payload-rows.json ------------------------------------------------------ */

#define PROW_HDR (ST_SALT_BYTES + 1)   /* salt || encoding */

/* The payload row of salt 0x5a.., encoding enc and body b[0..n). */
static uint8_t *payload_row(uint8_t enc, const uint8_t *b, size_t n, size_t *len)
{
    uint8_t *r = malloc(PROW_HDR + n + 1);
    ck_assert(r != NULL);
    memset(r, 0x5a, ST_SALT_BYTES);
    r[ST_SALT_BYTES] = enc;
    if (n) memcpy(r + PROW_HDR, b, n);
    *len = PROW_HDR + n;
    return r;
}

START_TEST(test_payload_rows)
{
    failures = 0;
    cJSON *root = load("payload-rows.json");
    ck_assert_int_eq(jint(root, "raw_max"), 128);
    expect_fragments("payload fragment", jget(root, "fragments"), st_payload_fragment);
    const cJSON *c;
    int n;
    st_buf row = { 0 }, out = { 0 };
    uint8_t salt[ST_SALT_BYTES];
    memset(salt, 0x5a, sizeof salt);
    n = 0;
    cJSON_ArrayForEach(c, jget(root, "cases")) {
        const char *desc = jstr(c, "desc"), *body_hex = jstr(c, "body_hex");
        size_t tl;
        uint8_t *text = unhex(jstr(c, "text_hex"), &tl);
        ck_assert_uint_eq(tl, (size_t)jint(c, "text_len"));
        ck_assert_int_eq(st_payload_row_build(&row, salt, text, tl, NULL), 0);
        ck_assert_uint_ge(row.len, PROW_HDR);
        if (body_hex) {
            size_t wl;
            uint8_t *want = unhex(body_hex, &wl);
            if (row.data[ST_SALT_BYTES] != 3) FAILF("payload row [%s]: encoding %d, want 3", desc, row.data[ST_SALT_BYTES]);
            else expect_row("payload row body", desc, row.data + PROW_HDR, row.len - PROW_HDR, want, wl);
            free(want);
        } else if (tl >= 128) {                       /* not small: zstd (encoding 1), never packed */
            if (row.data[ST_SALT_BYTES] != 1) FAILF("payload row [%s]: encoding %d, want 1", desc, row.data[ST_SALT_BYTES]);
        } else if (row.data[ST_SALT_BYTES] != 0) {
            FAILF("payload row [%s]: encoding %d, want 0 (as it is)", desc, row.data[ST_SALT_BYTES]);
        } else {
            expect_row("payload row body", desc, row.data + PROW_HDR, row.len - PROW_HDR, text, tl);
        }
        st_buf_reset(&out);
        if (st_payload_decode(NULL, row.data, row.len, NULL, &out) != 0) FAILF("payload row [%s]: refused", desc);
        else expect_row("payload read back", desc, out.data, out.len, text, tl);
        free(text);
        n++;
    }
    ck_assert_int_gt(n, 60);
    cJSON_ArrayForEach(c, jget(root, "damaged_bodies")) {
        size_t bl, rl;
        uint8_t *b = unhex(jstr(c, "body_hex"), &bl), *r = payload_row(3, b, bl, &rl);
        st_buf_reset(&out);
        int rc = st_payload_decode(NULL, r, rl, NULL, &out);
        if (rc != ST_ECORRUPT) FAILF("damaged payload body [%s]: decode gave %d, want ST_ECORRUPT", jstr(c, "desc"), rc);
        free(b);
        free(r);
    }
    cJSON_ArrayForEach(c, jget(root, "readable_bodies")) {
        size_t bl, rl, tl;
        uint8_t *b = unhex(jstr(c, "body_hex"), &bl), *r = payload_row(3, b, bl, &rl);
        uint8_t *text = unhex(jstr(c, "text_hex"), &tl);
        st_buf_reset(&out);
        if (st_payload_decode(NULL, r, rl, NULL, &out) != 0) FAILF("readable payload body [%s]: refused", jstr(c, "desc"));
        else expect_row("readable payload body", jstr(c, "desc"), out.data, out.len, text, tl);
        free(b);
        free(r);
        free(text);
    }
    st_buf_free(&row);
    st_buf_free(&out);
    cJSON_Delete(root);
    ck_assert_msg(failures == 0, "%d payload-rows.json mismatches (details on stderr)", failures);
}
END_TEST

/* ---- trees.json ----------------------------------------------------------- */

START_TEST(test_trees)
{
    failures = 0;
    cJSON *root = load("trees.json");
    const cJSON *leaves = jget(root, "leaves_text"), *lhs = jget(root, "leaf_hashes_hex");
    int nleaves = cJSON_GetArraySize(leaves);
    ck_assert_int_eq(nleaves, cJSON_GetArraySize(lhs));
    st_hash *lh = malloc((size_t)nleaves * sizeof(st_hash));
    ck_assert(lh != NULL);
    for (int i = 0; i < nleaves; i++) {
        const char *d = cJSON_GetArrayItem(leaves, i)->valuestring;
        st_leaf_hash(lh[i], (const uint8_t *)d, strlen(d));
        char desc[32];
        snprintf(desc, sizeof desc, "leaf %d", i);
        expect_hash("leaf hash", desc, lh[i], cJSON_GetArrayItem(lhs, i)->valuestring);
        /* every leaf is itself a valid entry */
        st_entry e;
        memset(&e, 0, sizeof e);
        st_err err = { { 0 } };
        if (st_entry_parse(&e, (const uint8_t *)d, strlen(d), &err) != 0) FAILF("leaf %d: not an entry: %s", i, err.msg);
        else {
            if (e.index != (uint64_t)i) FAILF("leaf %d: index %llu", i, (unsigned long long)e.index);
            st_entry_free(&e);
        }
    }
    st_hash h;
    st_empty_root(h);
    expect_hash("empty root", "size 0", h, jstr(root, "empty_root_hex"));

    const cJSON *c;
    cJSON_ArrayForEach(c, jget(root, "roots")) {
        uint64_t size = (uint64_t)jint(c, "size");
        char desc[32];
        snprintf(desc, sizeof desc, "size %llu", (unsigned long long)size);
        st_frontier f;
        st_frontier_init(&f);
        for (uint64_t i = 0; i < size; i++) st_frontier_push_leaf(&f, lh[i]);
        st_frontier_root(&f, h);
        expect_hash("frontier root", desc, h, jstr(c, "root_hex"));
        const cJSON *fr = jget(c, "frontier_hex");
        if (f.size != size || f.n != (unsigned)cJSON_GetArraySize(fr)) {
            FAILF("frontier [%s]: size %llu n %u, want %d hashes", desc, (unsigned long long)f.size, f.n,
                  cJSON_GetArraySize(fr));
        } else {
            for (unsigned k = 0; k < f.n; k++)
                expect_hash("frontier hash", desc, f.h[k], cJSON_GetArrayItem(fr, (int)k)->valuestring);
        }
        /* the same tree from its perfect subtrees */
        unsigned levels[64];
        unsigned nl = st_frontier_levels(size, levels);
        if (nl != (unsigned)cJSON_GetArraySize(fr)) {
            FAILF("frontier levels [%s]: %u, want %d", desc, nl, cJSON_GetArraySize(fr));
        } else {
            st_frontier g;
            st_frontier_init(&g);
            for (unsigned k = 0; k < nl; k++) {
                st_hash sub;
                hash_hex(sub, cJSON_GetArrayItem(fr, (int)k)->valuestring);
                if (st_frontier_push_subtree(&g, levels[k], sub) != 0) FAILF("push_subtree [%s] level %u", desc, levels[k]);
            }
            st_frontier_root(&g, h);
            expect_hash("root from subtrees", desc, h, jstr(c, "root_hex"));
        }
    }

    int ni = 0, nc = 0;
    cJSON_ArrayForEach(c, jget(root, "inclusion")) {
        size_t np;
        st_hash *p = proof_of(jget(c, "proof_hex"), &np);
        st_hash leaf, rt;
        hash_hex(leaf, jstr(c, "leaf_hash_hex"));
        hash_hex(rt, jstr(c, "root_hex"));
        uint64_t idx = (uint64_t)jint(c, "index"), size = (uint64_t)jint(c, "size");
        if (st_verify_inclusion(idx, size, leaf, (const st_hash *)p, np, rt) != 0)
            FAILF("inclusion %llu/%llu: does not verify", (unsigned long long)idx, (unsigned long long)size);
        if (st_root_from_inclusion(h, idx, size, leaf, (const st_hash *)p, np) != 0)
            FAILF("root_from_inclusion %llu/%llu: failed", (unsigned long long)idx, (unsigned long long)size);
        else
            expect_hash("root_from_inclusion", "inclusion", h, jstr(c, "root_hex"));
        free(p);
        ni++;
    }
    const char *cons_sets[] = { "consistency", "consistency_from_zero" };
    for (size_t s = 0; s < 2; s++) {
        cJSON_ArrayForEach(c, jget(root, cons_sets[s])) {
            size_t np;
            st_hash *p = proof_of(jget(c, "proof_hex"), &np);
            st_hash o, nw;
            hash_hex(o, jstr(c, "old_root_hex"));
            hash_hex(nw, jstr(c, "new_root_hex"));
            uint64_t m = (uint64_t)jint(c, "old_size"), n = (uint64_t)jint(c, "new_size");
            if (st_verify_consistency(m, n, o, nw, (const st_hash *)p, np) != 0)
                FAILF("%s %llu->%llu: does not verify", cons_sets[s], (unsigned long long)m, (unsigned long long)n);
            free(p);
            nc++;
        }
    }
    cJSON_ArrayForEach(c, jget(root, "inclusion_negative")) {
        size_t np;
        st_hash *p = proof_of(jget(c, "proof_hex"), &np);
        st_hash leaf, rt;
        hash_hex(leaf, jstr(c, "leaf_hash_hex"));
        hash_hex(rt, jstr(c, "root_hex"));
        if (st_verify_inclusion((uint64_t)jint(c, "index"), (uint64_t)jint(c, "size"), leaf, (const st_hash *)p, np, rt) == 0)
            FAILF("inclusion negative [%s]: verified, want failure", jstr(c, "desc"));
        free(p);
        ni++;
    }
    cJSON_ArrayForEach(c, jget(root, "consistency_negative")) {
        size_t np;
        st_hash *p = proof_of(jget(c, "proof_hex"), &np);
        st_hash o, nw;
        hash_hex(o, jstr(c, "old_root_hex"));
        hash_hex(nw, jstr(c, "new_root_hex"));
        if (st_verify_consistency((uint64_t)jint(c, "old_size"), (uint64_t)jint(c, "new_size"), o, nw,
                                  (const st_hash *)p, np) == 0)
            FAILF("consistency negative [%s]: verified, want failure", jstr(c, "desc"));
        free(p);
        nc++;
    }
    free(lh);
    cJSON_Delete(root);
    ck_assert_int_gt(ni, 300);
    ck_assert_int_gt(nc, 300);
    ck_assert_msg(failures == 0, "%d trees.json mismatches (details on stderr)", failures);
}
END_TEST

/* ---- proofs-json.json ----------------------------------------------------- */

START_TEST(test_proofs_json)
{
    failures = 0;
    cJSON *root = load("proofs-json.json");
    const cJSON *c;
    int n = 0;
    cJSON_ArrayForEach(c, jget(root, "cases")) {
        const char *desc = jstr(c, "desc"), *line = jstr(c, "line");
        st_err err = { { 0 } };
        st_json_doc *doc = NULL;
        int rc = st_json_parse_canonical(&doc, (const uint8_t *)line, strlen(line), 16, &err);
        if (rc != 0) FAILF("proof line [%s]: not canonical JSON (%d: %s)", desc, rc, err.msg);
        st_json_doc_free(doc);
        cJSON *j = cJSON_Parse(line);
        ck_assert(j != NULL);
        size_t np;
        st_hash *p = proof_of(jget(j, "hashes"), &np);
        const char *type = jstr(j, "type");
        if (strcmp(type, "inclusion") == 0) {
            st_hash leaf, rt;
            hash_hex(leaf, jstr(j, "leaf_hash"));
            hash_hex(rt, jstr(j, "root"));
            if (st_verify_inclusion((uint64_t)jint(j, "index"), (uint64_t)jint(j, "size"), leaf, (const st_hash *)p, np, rt) != 0)
                FAILF("proof line [%s]: does not verify", desc);
        } else {
            st_hash o, nw;
            hash_hex(o, jstr(j, "old_root"));
            hash_hex(nw, jstr(j, "new_root"));
            if (st_verify_consistency((uint64_t)jint(j, "old_size"), (uint64_t)jint(j, "new_size"), o, nw,
                                      (const st_hash *)p, np) != 0)
                FAILF("proof line [%s]: does not verify", desc);
        }
        free(p);
        cJSON_Delete(j);
        n++;
    }
    cJSON_Delete(root);
    ck_assert_int_gt(n, 5);
    ck_assert_msg(failures == 0, "%d proofs-json.json mismatches (details on stderr)", failures);
}
END_TEST

/* ---- checkpoints.json ----------------------------------------------------- */

#define MAXKEYS 4

typedef struct {
    char label[16];
    st_vkey vk;
    char skey[256];   /* key-file line without its LF */
} tkey;

static int load_keys(const cJSON *root, tkey *keys)
{
    int n = 0;
    const cJSON *k;
    cJSON_ArrayForEach(k, jget(root, "keys")) {
        ck_assert_int_lt(n, MAXKEYS);
        tkey *t = &keys[n];
        memset(t, 0, sizeof *t);
        snprintf(t->label, sizeof t->label, "%s", jstr(k, "label"));
        const char *vkey = jstr(k, "vkey"), *line = jstr(k, "key_file_line");
        st_err err = { { 0 } };
        if (st_vkey_parse(&t->vk, vkey, strlen(vkey), &err) != 0) FAILF("vkey %s: rejected: %s", vkey, err.msg);
        if (strcmp(t->vk.name, jstr(k, "name")) != 0) FAILF("vkey %s: name %s", vkey, t->vk.name);
        size_t pl;
        uint8_t *pub = unhex(jstr(k, "public_key_hex"), &pl);
        ck_assert_uint_eq(pl, 32);
        if (memcmp(t->vk.pub, pub, 32) != 0) FAILF("vkey %s: public key differs", vkey);
        char idhex[9];
        snprintf(idhex, sizeof idhex, "%08x", t->vk.key_id);
        if (strcmp(idhex, jstr(k, "key_id_hex")) != 0) FAILF("vkey %s: key id %s", vkey, idhex);
        uint32_t kid = st_key_id(jstr(k, "name"), strlen(jstr(k, "name")), pub);
        if (kid != t->vk.key_id) FAILF("st_key_id(%s): %08x, want %s", jstr(k, "name"), kid, jstr(k, "key_id_hex"));
        char out[ST_VKEY_MAX];
        st_vkey_format(out, &t->vk);
        if (strcmp(out, vkey) != 0) FAILF("st_vkey_format: %s, want %s", out, vkey);
        size_t ll = strlen(line);
        ck_assert(ll > 1 && line[ll - 1] == '\n' && ll - 1 < sizeof t->skey);
        memcpy(t->skey, line, ll - 1);
        free(pub);
        n++;
    }
    return n;
}

static const tkey *key_by_label(const tkey *keys, int n, const char *label)
{
    for (int i = 0; i < n; i++)
        if (strcmp(keys[i].label, label) == 0) return &keys[i];
    ck_abort_msg("unknown key label %s", label);
    return NULL;
}

static void check_verify_sets(const char *desc, const st_note *note, const cJSON *sets, const tkey *keys, int nkeys)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, sets) {
        const cJSON *trusted = jget(v, "trusted"), *verified = jget(v, "verified");
        const char *want = jstr(v, "want");
        st_vkey vks[MAXKEYS];
        int ok[MAXKEYS] = { 0 };
        size_t nt = 0;
        const cJSON *l;
        cJSON_ArrayForEach(l, trusted) vks[nt++] = key_by_label(keys, nkeys, l->valuestring)->vk;
        st_err err = { { 0 } };
        int rc = st_note_verify(note, vks, nt, ok, &err);
        int want_rc = strcmp(want, "ok") == 0 ? 0 : strcmp(want, "badsig") == 0 ? ST_EBADSIG : ST_EUNTRUSTED;
        char tl[64] = "";
        cJSON_ArrayForEach(l, trusted) { strncat(tl, l->valuestring, sizeof tl - strlen(tl) - 2); strcat(tl, ","); }
        if (rc != want_rc) {
            FAILF("note [%s] trusting {%s}: rc %d (%s), want %s (%d)", desc, tl, rc, err.msg, want, want_rc);
            continue;
        }
        if (rc != 0) continue;
        size_t i = 0;
        cJSON_ArrayForEach(l, trusted) {
            int signed_by = 0;
            const cJSON *s;
            cJSON_ArrayForEach(s, verified) if (strcmp(s->valuestring, l->valuestring) == 0) signed_by = 1;
            if (ok[i] != signed_by) FAILF("note [%s] trusting {%s}: verified[%zu] = %d, want %d", desc, tl, i, ok[i], signed_by);
            i++;
        }
    }
}

START_TEST(test_checkpoints)
{
    failures = 0;
    cJSON *root = load("checkpoints.json");
    tkey keys[MAXKEYS];
    int nkeys = load_keys(root, keys);
    ck_assert_int_ge(nkeys, 2);

    st_signer *signers[MAXKEYS] = { 0 };
    for (int i = 0; i < nkeys; i++) {
        st_err err = { { 0 } };
        if (st_signer_from_string(&signers[i], keys[i].skey, strlen(keys[i].skey), &err) != 0) {
            FAILF("st_signer_from_string(%s): %s", keys[i].label, err.msg);
            signers[i] = NULL;
            continue;
        }
        char vk[ST_VKEY_MAX];
        st_signer_vkey_string(signers[i], vk);
        char want[ST_VKEY_MAX];
        st_vkey_format(want, &keys[i].vk);
        if (strcmp(vk, want) != 0) FAILF("signer %s: vkey %s, want %s", keys[i].label, vk, want);
    }

    int n = 0, nsigned = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, jget(root, "notes")) {
        const char *desc = jstr(c, "desc"), *stage = jstr(c, "stage");
        size_t len;
        uint8_t *bytes = unhex(jstr(c, "note_hex"), &len);
        n++;
        static st_note note;
        memset(&note, 0, sizeof note);
        st_err err = { { 0 } };
        int rc = st_note_parse(&note, (const char *)bytes, len, &err);
        if (stage && strcmp(stage, "note_parse") == 0) {
            if (rc == 0) FAILF("note [%s]: parsed, want a parse error", desc);
            free(bytes);
            continue;
        }
        if (rc != 0) {
            FAILF("note [%s]: parse failed (%d: %s)", desc, rc, err.msg);
            free(bytes);
            continue;
        }
        check_verify_sets(desc, &note, jget(c, "verify"), keys, nkeys);

        const char *text = jstr(c, "text");
        if (text && (note.text_len != strlen(text) || memcmp(note.text, text, note.text_len) != 0))
            FAILF("note [%s]: parsed text differs", desc);

        st_checkpoint cp;
        memset(&cp, 0, sizeof cp);
        rc = st_checkpoint_parse(&cp, note.text, note.text_len, &err);
        if (stage && strcmp(stage, "checkpoint") == 0) {
            if (rc == 0 && cp.time_s >= 0)
                FAILF("note [%s]: checkpoint accepted (time %lld), want rejection: %s", desc, (long long)cp.time_s,
                      jstr(c, "why"));
        } else if (stage) {
            if (rc != 0) FAILF("note [%s]: checkpoint parse failed (%d: %s)", desc, rc, err.msg);
        } else {
            const cJSON *w = jget(c, "checkpoint");
            if (rc != 0) {
                FAILF("note [%s]: checkpoint parse failed (%d: %s)", desc, rc, err.msg);
            } else {
                if (strcmp(cp.origin, jstr(w, "origin")) != 0) FAILF("cp [%s]: origin %s", desc, cp.origin);
                if ((int64_t)cp.size != jint(w, "size")) FAILF("cp [%s]: size %llu", desc, (unsigned long long)cp.size);
                expect_hash("checkpoint root", desc, cp.root, jstr(w, "root_hex"));
                if (cp.time_s != jint(w, "time_s")) FAILF("cp [%s]: time %lld", desc, (long long)cp.time_s);
                if ((int64_t)cp.n_ext != jint(w, "n_ext")) FAILF("cp [%s]: n_ext %zu", desc, cp.n_ext);
                if (jint(w, "n_ext") == 1) {
                    st_buf b = { 0 };
                    st_checkpoint_format(&b, cp.origin, cp.size, cp.root, cp.time_s);
                    expect_bytes("st_checkpoint_format", desc, b.data, b.len, (const uint8_t *)note.text, note.text_len);
                    st_buf_free(&b);
                }
            }
        }

        /* Signing reproduces the note byte for byte (Ed25519 is deterministic). */
        const cJSON *sl = jget(c, "signers");
        if (cJSON_IsArray(sl) && text) {
            st_signer *use[MAXKEYS];
            size_t ns = 0;
            int have = 1;
            const cJSON *l;
            cJSON_ArrayForEach(l, sl) {
                const tkey *k = key_by_label(keys, nkeys, l->valuestring);
                st_signer *s = signers[k - keys];
                if (!s) have = 0;
                use[ns++] = s;
            }
            if (have) {
                st_buf b = { 0 };
                rc = st_note_sign(&b, text, strlen(text), use, ns, &err);
                if (rc != 0) FAILF("st_note_sign [%s]: %d: %s", desc, rc, err.msg);
                else expect_bytes("st_note_sign", desc, b.data, b.len, bytes, len);
                st_buf_free(&b);
                if (!stage && jint(jget(c, "checkpoint"), "n_ext") == 1) {
                    st_buf_reset(&b);
                    rc = st_checkpoint_sign(&b, use, ns, cp.origin, cp.size, cp.root, cp.time_s, &err);
                    if (rc != 0) FAILF("st_checkpoint_sign [%s]: %d: %s", desc, rc, err.msg);
                    else expect_bytes("st_checkpoint_sign", desc, b.data, b.len, bytes, len);
                    st_buf_free(&b);
                }
                nsigned++;
            }
        }
        free(bytes);
    }
    cJSON_ArrayForEach(c, jget(root, "bad_vkeys")) {
        const char *vkey = jstr(c, "vkey");
        st_vkey vk;
        st_err err = { { 0 } };
        if (st_vkey_parse(&vk, vkey, strlen(vkey), &err) == 0) FAILF("bad vkey [%s]: accepted: %s", jstr(c, "desc"), vkey);
        n++;
    }
    cJSON_ArrayForEach(c, jget(root, "bad_key_files")) {
        const char *skey = jstr(c, "skey");
        st_signer *s = NULL;
        st_err err = { { 0 } };
        if (st_signer_from_string(&s, skey, strlen(skey), &err) == 0) {
            FAILF("bad key file [%s]: accepted", jstr(c, "desc"));
            st_signer_free(s);
        }
        n++;
    }
    for (int i = 0; i < nkeys; i++) st_signer_free(signers[i]);
    cJSON_Delete(root);
    ck_assert_int_gt(n, 20);
    ck_assert_int_gt(nsigned, 10);
    ck_assert_msg(failures == 0, "%d checkpoints.json mismatches (details on stderr)", failures);
}
END_TEST

/* [KEY-1]: the key-file line loads from a 0600 file and is refused at 0640. */
START_TEST(test_key_file)
{
    failures = 0;
    cJSON *root = load("checkpoints.json");
    const cJSON *k = cJSON_GetArrayItem(jget(root, "keys"), 0);
    const char *line = jstr(k, "key_file_line"), *vkey = jstr(k, "vkey");
    char *dir = tu_tmpdir();
    ck_assert(dir != NULL);
    char path[4096];
    snprintf(path, sizeof path, "%s/log.key", dir);
    FILE *f = fopen(path, "wb");
    ck_assert(f != NULL);
    ck_assert_uint_eq(fwrite(line, 1, strlen(line), f), strlen(line));
    fclose(f);
    ck_assert_int_eq(chmod(path, 0600), 0);
    st_signer *s = NULL;
    st_err err = { { 0 } };
    int rc = st_signer_load(&s, path, &err);
    ck_assert_msg(rc == 0, "st_signer_load: %d %s", rc, err.msg);
    char vk[ST_VKEY_MAX];
    st_signer_vkey_string(s, vk);
    ck_assert_str_eq(vk, vkey);
    st_signer_free(s);
    ck_assert_int_eq(chmod(path, 0640), 0);
    s = NULL;
    rc = st_signer_load(&s, path, &err);
    ck_assert_int_eq(rc, ST_EKEYPERM);
    st_signer_free(s);
    tu_rmrf(dir);
    free(dir);
    cJSON_Delete(root);
}
END_TEST

static Suite *vectors_suite(void)
{
    Suite *s = suite_create("vectors");
    TCase *tc = tcase_create("known-answer");
    tcase_add_test(tc, test_canonical);
    tcase_add_test(tc, test_entries);
    tcase_add_test(tc, test_entry_rows);
    tcase_add_test(tc, test_payload_rows);
    tcase_add_test(tc, test_trees);
    tcase_add_test(tc, test_proofs_json);
    tcase_add_test(tc, test_checkpoints);
    tcase_add_test(tc, test_key_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(vectors_suite());
}
