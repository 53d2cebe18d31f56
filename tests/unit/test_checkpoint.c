/*
 * test_checkpoint.c: tlog-checkpoint bodies [CP-1], [CP-2]: every checkpoint
 * in shared/vectors-upstream/checkpoints/ (Tessera and serverless-log:
 * signatures, sizes, roots over the 15 leaves, byte-exact re-signing with
 * the published keys), the sum.golang.org origin that [CP-1] refuses, and
 * hand-written parse and format cases. Upstream cases are skipped with a
 * message when shared/ is absent.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "merkle.h"
#include "note.h"
#include "sign.h"
#include "testutil.h"
#include "util.h"

/* ---- helpers ---------------------------------------------------------------------- */

static void vkey_must_parse(st_vkey *k, const char *s)
{
    st_err e = { "" };
    ck_assert_msg(st_vkey_parse(k, s, strlen(s), &e) == 0, "%s: %s", s, e.msg);
}

/* ---- checkpoints/ ------------------------------------------------------------------- */

/* One upstream log: every checkpoint file verifies, parses to the right size
 * and to the root of the first `size` leaves, and re-signing with the
 * published skey reproduces it byte for byte. */
static void check_log(const char *json_rel, const char *file_prefix, const int *sizes, int nsizes)
{
    cJSON *j = tu_load_shared_json(json_rel);
    if (!j) return;
    const char *lp = tu_shared_path("vectors-upstream/checkpoints/leaves-one-to-fivten.txt");
    ck_assert_ptr_nonnull(lp);
    char *leaves = tu_read_file(lp, NULL);
    st_hash roots[16];
    st_frontier f;
    st_frontier_init(&f);
    st_frontier_root(&f, roots[0]);
    int nl = 0;
    for (char *save = NULL, *t = strtok_r(leaves, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
        st_hash lh;
        st_leaf_hash(lh, (const uint8_t *)t, strlen(t));
        st_frontier_push_leaf(&f, lh);
        st_frontier_root(&f, roots[++nl]);
    }
    ck_assert_int_eq(nl, 15);
    free(leaves);

    st_vkey vk;
    vkey_must_parse(&vk, tu_jstr(j, "vkey"));
    const char *sks = tu_jstr(j, "skey"), *origin = tu_jstr(j, "origin");
    st_signer *signer;
    st_err e = { "" };
    ck_assert_msg(st_signer_from_string(&signer, sks, strlen(sks), &e) == 0, "%s", e.msg);
    st_note *note = malloc(sizeof *note);
    for (int i = 0; i < nsizes; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "vectors-upstream/checkpoints/%s.%d", file_prefix, sizes[i]);
        const char *p = tu_shared_path(rel);
        ck_assert_msg(p != NULL, "missing %s", rel);
        size_t len;
        char *bytes = tu_read_file(p, &len);
        ck_assert_msg(st_note_parse(note, bytes, len, &e) == 0, "%s: %s", rel, e.msg);
        int ok = 0;
        ck_assert_msg(st_note_verify(note, &vk, 1, &ok, &e) == 0, "%s: %s", rel, e.msg);
        ck_assert_int_eq(ok, 1);
        st_checkpoint cp;
        ck_assert_msg(st_checkpoint_parse(&cp, note->text, note->text_len, &e) == 0, "%s: %s", rel, e.msg);
        ck_assert_str_eq(cp.origin, origin);
        ck_assert_uint_eq(cp.size, (uint64_t)sizes[i]);
        ck_assert(memcmp(cp.root, roots[sizes[i]], 32) == 0);
        ck_assert_int_eq(cp.time_s, -1);
        ck_assert_uint_eq(cp.n_ext, 0);
        /* The wrong key: no trusted signature. A flipped text byte: bad signature. */
        st_vkey other;
        vkey_must_parse(&other, "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
        ck_assert_int_eq(st_note_verify(note, &other, 1, NULL, NULL), ST_EUNTRUSTED);
        bytes[note->text_len - 2] ^= 1;
        st_note tampered;
        ck_assert_int_eq(st_note_parse(&tampered, bytes, len, NULL), 0);
        ck_assert_int_eq(st_note_verify(&tampered, &vk, 1, NULL, NULL), ST_EBADSIG);
        bytes[note->text_len - 2] ^= 1;
        /* Byte-exact re-signing. */
        st_buf out = { 0 };
        ck_assert_msg(st_checkpoint_sign(&out, &signer, 1, origin, cp.size, cp.root, -1, &e) == 0, "%s", e.msg);
        ck_assert_uint_eq(out.len, len);
        ck_assert_msg(memcmp(out.data, bytes, len) == 0, "%s: re-signed bytes differ", rel);
        st_buf_free(&out);
        free(bytes);
    }
    free(note);
    st_signer_free(signer);
    cJSON_Delete(j);
}

START_TEST(test_checkpoint_files)
{
    int all[16], three[3] = { 0, 1, 15 };
    for (int i = 0; i < 16; i++) all[i] = i;
    check_log("vectors-upstream/tessera-testdata-log.json", "tessera-checkpoint", all, 16);
    check_log("vectors-upstream/serverless-log-testdata.json", "serverless-astra-checkpoint", three, 3);
}
END_TEST

/* sum.golang.org's origin "go.sum database tree" has spaces: a valid C2SP
 * checkpoint, but not a sealtrail one [CP-1]. The note itself verifies. */
START_TEST(test_sumdb_origin_rejected)
{
    cJSON *j = tu_load_shared_json("vectors-upstream/signed-note-vectors.json");
    if (!j) return;
    cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "notes")) {
        if (strcmp(tu_jstr(c, "id"), "sumdb-real-checkpoint") != 0) continue;
        st_checkpoint cp;
        const char *t = tu_jstr(c, "text");
        st_err e = { "" };
        ck_assert_int_eq(st_checkpoint_parse(&cp, t, strlen(t), &e), ST_EFORMAT);
        ck_assert_ptr_nonnull(strstr(e.msg, "origin"));
    }
    cJSON_Delete(j);
}
END_TEST

static int cp_rc(const char *t)
{
    st_checkpoint cp;
    return st_checkpoint_parse(&cp, t, strlen(t), NULL);
}

START_TEST(test_checkpoint_edges)
{
    const char *R = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    char t[512];
    st_checkpoint cp;
    snprintf(t, sizeof t, "example.com/log\n42\n%s\ntime 1763787173\nother ext\n", R);
    ck_assert_int_eq(st_checkpoint_parse(&cp, t, strlen(t), NULL), 0);
    ck_assert_str_eq(cp.origin, "example.com/log");
    ck_assert_uint_eq(cp.size, 42);
    ck_assert_int_eq(cp.time_s, 1763787173);
    ck_assert_uint_eq(cp.n_ext, 2);
    st_hash e;
    st_empty_root(e);
    ck_assert(memcmp(cp.root, e, 32) == 0);

    snprintf(t, sizeof t, "o\n18446744073709551615\n%s\n", R);
    ck_assert_int_eq(cp_rc(t), 0);
    static const char *bad_fmt[] = {
        "o\n18446744073709551616\n%s\n",   /* > u64 */
        "o\n042\n%s\n",                    /* leading zero */
        "o\n-1\n%s\n",
        "o\n+1\n%s\n",
        "o\n1 \n%s\n",
        "o\n1\n%s",                        /* no final LF */
        "o\n1\n%s\n\n",                    /* empty extension line */
        "o\n1\n%s\ntime 01\n",
        "o\n1\n%s\ntime -5\n",
        "o\n1\n%s\ntime \n",
        "o\n1\n%s\ntime 5\ntime 5\n",
        "o o\n1\n%s\n",                    /* [CP-1] no whitespace */
        "o+o\n1\n%s\n",                    /* [CP-1] no '+' */
        "\n1\n%s\n",
        "o\n1\n",
        "o\r\n1\n%s\n",
    };
    for (size_t i = 0; i < sizeof bad_fmt / sizeof *bad_fmt; i++) {
        /* substitute the root for "%s" (no non-literal format strings) */
        const char *at = strstr(bad_fmt[i], "%s");
        if (at) snprintf(t, sizeof t, "%.*s%s%s", (int)(at - bad_fmt[i]), bad_fmt[i], R, at + 2);
        else snprintf(t, sizeof t, "%s", bad_fmt[i]);
        ck_assert_msg(cp_rc(t) == ST_EFORMAT, "accepted: %s", t);
    }
    ck_assert_int_eq(cp_rc("o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\n"), ST_EFORMAT); /* unused bits */
    ck_assert_int_eq(cp_rc("o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n"), ST_EFORMAT);  /* no padding */
    ck_assert_int_eq(cp_rc("o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n"), ST_EFORMAT); /* 33 bytes */
    /* "timeout 5" is not the time line. Extension lines are opaque and any
     * number of them is valid (c2sp.org/tlog-checkpoint): only the note's
     * size bounds them. */
    snprintf(t, sizeof t, "o\n1\n%s\ntimeout 5\n", R);
    ck_assert_int_eq(st_checkpoint_parse(&cp, t, strlen(t), NULL), 0);
    ck_assert_int_eq(cp.time_s, -1);
    st_buf b = { 0 };
    st_buf_printf(&b, "o\n1\n%s\n", R);
    for (int i = 0; i < 16; i++) st_buf_printf(&b, "x%d\n", i);
    ck_assert_int_eq(st_checkpoint_parse(&cp, (const char *)b.data, b.len, NULL), 0);
    ck_assert_uint_eq(cp.n_ext, 16);
    st_buf_puts(&b, "x16\n");
    ck_assert_int_eq(st_checkpoint_parse(&cp, (const char *)b.data, b.len, NULL), 0);
    ck_assert_uint_eq(cp.n_ext, 17);
    for (int i = 17; i < 1000; i++) st_buf_printf(&b, "x%d\n", i);
    st_buf_printf(&b, "time 1763787173\n");
    ck_assert_int_eq(st_checkpoint_parse(&cp, (const char *)b.data, b.len, NULL), 0);
    ck_assert_uint_eq(cp.n_ext, 1001);
    ck_assert_int_eq(cp.time_s, 1763787173);
    st_buf_puts(&b, "\n");                       /* an empty extension line is still malformed */
    ck_assert_int_eq(st_checkpoint_parse(&cp, (const char *)b.data, b.len, NULL), ST_EFORMAT);
    st_buf_free(&b);
}
END_TEST

START_TEST(test_checkpoint_format)
{
    st_hash root;
    for (int i = 0; i < 32; i++) root[i] = (uint8_t)(i * 7);
    st_buf b = { 0 };
    st_checkpoint_format(&b, "sealtrail.local/h/3f9a1c", 1042, root, 1763787173);
    char b64[48], want[256];
    st_b64_encode(b64, root, 32);
    snprintf(want, sizeof want, "sealtrail.local/h/3f9a1c\n1042\n%s\ntime 1763787173\n", b64);
    ck_assert_uint_eq(b.len, strlen(want));
    ck_assert(memcmp(b.data, want, b.len) == 0);
    st_checkpoint cp;
    ck_assert_int_eq(st_checkpoint_parse(&cp, (const char *)b.data, b.len, NULL), 0);
    ck_assert_uint_eq(cp.size, 1042);
    ck_assert_int_eq(cp.time_s, 1763787173);
    ck_assert(memcmp(cp.root, root, 32) == 0);
    st_buf_reset(&b);
    st_checkpoint_format(&b, "o", 0, root, -1);
    ck_assert_int_eq(st_checkpoint_parse(&cp, (const char *)b.data, b.len, NULL), 0);
    ck_assert_int_eq(cp.time_s, -1);
    ck_assert_uint_eq(cp.n_ext, 0);
    st_buf_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_checkpoint_files);
    tcase_add_test(tc, test_sumdb_origin_rejected);
    tcase_add_test(tc, test_checkpoint_edges);
    tcase_add_test(tc, test_checkpoint_format);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
