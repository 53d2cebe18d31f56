/*
 * test_bundle_mutate.c: the exhaustive mutation test of issue 4. Every byte
 * of small bundles (a full selection with an erased payload, a filtered
 * selection, a range with a previous checkpoint) is changed in turn (xor
 * 0x01 and xor 0xff), and the verifier runs in-process on each result:
 *
 *  1. as is: the result must never verify (the trailer digest alone covers
 *     every byte [BUNDLE-5]);
 *  2. with the trailer recomputed ("reframed"), so that only signatures,
 *     proofs, commitments and the checked manifest claims stand in the way:
 *     the bytes whose change still verifies are "not covered"; the test
 *     lists them and requires every one to lie inside the manifest's
 *     unsigned claims (`created_us`, `exporter`), i.e. none carry meaning.
 *     (The magic and the trailer are left to mode 1: reframing rewrites them.)
 *
 * Set ST_MUTATE_VERBOSE=1 to print the uncovered bytes.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_synth.h"
#include "testutil.h"

/* Byte ranges [lo, hi) of the manifest's unsigned claims' values, as file offsets. */
typedef struct claims {
    size_t lo[2], hi[2];
} claims;

static void find_claims(const st_buf *b, claims *c)
{
    size_t mbody = ST_BUNDLE_MAGIC_LEN + 5;
    uint32_t mlen = st_be32_get(b->data + ST_BUNDLE_MAGIC_LEN + 1);
    const char *m = (const char *)b->data + mbody;
    const char *keys[2] = { "\"created_us\":", "\"exporter\":\"" };
    for (int i = 0; i < 2; i++) {
        const char *p = memmem(m, mlen, keys[i], strlen(keys[i]));
        ck_assert_ptr_nonnull(p);
        size_t lo = (size_t)(p - (const char *)b->data) + strlen(keys[i]);
        size_t hi = lo;
        if (i == 0)
            while (b->data[hi] >= '0' && b->data[hi] <= '9') hi++;
        else
            while (b->data[hi] != '"') hi++;
        c->lo[i] = lo;
        c->hi[i] = hi;
    }
}

static int in_claims(const claims *c, size_t off)
{
    for (int i = 0; i < 2; i++)
        if (off >= c->lo[i] && off < c->hi[i]) return 1;
    return 0;
}

static void mutate_all(const st_buf *orig, const st_vkey *trust, const char *what)
{
    st_verify_report *rep = calloc(1, sizeof *rep);
    ck_assert_int_eq(syn_verify(orig, trust, NULL, 1, rep), 0);
    claims cl;
    find_claims(orig, &cl);
    int verbose = getenv("ST_MUTATE_VERBOSE") && getenv("ST_MUTATE_VERBOSE")[0] == '1';
    static const uint8_t masks[2] = { 0x01, 0xff };
    size_t uncovered = 0, meaningful = 0, reframed = 0;
    size_t verdicts[4] = { 0 };
    st_buf m = { 0 }, j = { 0 };
    st_buf_put(&m, orig->data, orig->len);
    for (size_t off = 0; off < orig->len; off++) {
        for (int k = 0; k < 2; k++) {
            m.data[off] ^= masks[k];
            /* 1. as is */
            int v = syn_verify(&m, trust, NULL, 1, rep);
            ck_assert_msg(v != 0, "%s: byte %zu ^ 0x%02x verified as is", what, off, masks[k]);
            ck_assert_msg(rep->failure[0] != 0, "%s: byte %zu: no failure message", what, off);
            verdicts[v]++;
            /* 2. reframed: records only (reframing rewrites the magic and the trailer, which mode 1 covers) */
            rbundle rb;
            memset(&rb, 0, sizeof rb);
            int in_records = off >= ST_BUNDLE_MAGIC_LEN && off < orig->len - 5 - ST_BREC_TRAILER_LEN;
            if (in_records && rb_split(&m, &rb) == 0) {
                st_buf_reset(&j);
                rb_join(&rb, &j);
                reframed++;
                v = syn_verify(&j, trust, NULL, 1, rep);
                if (v == 0) {
                    uncovered++;
                    if (verbose)
                        fprintf(stderr, "%s: byte %zu ^ 0x%02x not covered (%s)\n", what, off, masks[k],
                                in_claims(&cl, off) ? "unsigned claim" : "CARRIES MEANING");
                    if (!in_claims(&cl, off)) meaningful++;
                }
            }
            rb_free(&rb);
            m.data[off] ^= masks[k];
        }
    }
    fprintf(stderr, "%s: %zu bytes x 2 mutations: as is 0 verified (%zu tampered, %zu could not verify, %zu "
                    "untrusted); reframed %zu, of which %zu verified, all inside the unsigned claims "
                    "(created_us bytes %zu..%zu, exporter bytes %zu..%zu): %zu outside\n",
            what, orig->len, verdicts[1], verdicts[2], verdicts[3], reframed, uncovered, cl.lo[0], cl.hi[0] - 1,
            cl.lo[1], cl.hi[1] - 1, meaningful);
    ck_assert_uint_eq(meaningful, 0);
    st_buf_free(&m);
    st_buf_free(&j);
    free(rep);
}

START_TEST(test_mutate_full)
{
    syn *s = syn_new(5, 1, 2, 1, "example.com/log");    /* entry 1's tool_response erased by record 4 */
    syn_sel sel;
    memset(&sel, 0, sizeof sel);
    st_buf b = { 0 };
    ck_assert_int_eq(syn_export(s, &sel, &b), 0);
    mutate_all(&b, &s->vk, "full");
    st_buf_free(&b);
    syn_free(s);
}
END_TEST

START_TEST(test_mutate_filter)
{
    syn *s = syn_new(7, -1, 3, 1, "example.com/log");
    syn_sel sel;
    memset(&sel, 0, sizeof sel);
    sel.kind = ST_SEL_FILTER;
    sel.tool = "Edit";
    st_buf b = { 0 };
    ck_assert_int_eq(syn_export(s, &sel, &b), 0);
    mutate_all(&b, &s->vk, "filter");
    st_buf_free(&b);
    syn_free(s);
}
END_TEST

START_TEST(test_mutate_range_previous)
{
    syn *s = syn_new(9, -1, 2, 1, "example.com/log");
    syn_sel sel;
    memset(&sel, 0, sizeof sel);
    sel.kind = ST_SEL_RANGE;
    sel.begin = 5;
    sel.end = 7;
    sel.prev_note = s->notes[0];
    sel.prev_size = 2;
    st_buf b = { 0 };
    ck_assert_int_eq(syn_export(s, &sel, &b), 0);
    mutate_all(&b, &s->vk, "range+previous");
    st_buf_free(&b);
    syn_free(s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("bundle_mutate");
    TCase *tc = tcase_create("flip_every_byte");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_mutate_full);
    tcase_add_test(tc, test_mutate_filter);
    tcase_add_test(tc, test_mutate_range_previous);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
