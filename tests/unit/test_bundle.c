/*
 * test_bundle.c: bundle round trips and tamper cases over synthetic logs
 * (bundle_synth.h), running the real layout (store/export.c), writer and
 * verifier in-process. Covers [BUNDLE-1..9] and docs/VERIFYING.md's
 * verdicts: round trips at sizes 0..257 for every selection kind, with one
 * and two threads; reordered, deleted, duplicated and inserted entries;
 * truncation and trailing bytes; an older checkpoint swapped in; forks
 * caught by --previous; wrong keys and a key taken from the bundle itself;
 * altered and deleted payloads; unknown versions.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_synth.h"
#include "testutil.h"

static const uint64_t sizes[] = { 0, 1, 2, 3, 7, 8, 9, 255, 256, 257 };
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* A callback source in uneven pieces: the reader copies every body (the
 * path of pipes and zstd input), where the memory source reads in place. */
typedef struct chunk_src {
    const uint8_t *p;
    size_t len, pos, step;
} chunk_src;

static ssize_t chunk_read(void *ctx, uint8_t *buf, size_t n)
{
    chunk_src *c = ctx;
    size_t k = c->len - c->pos;
    if (k > n) k = n;
    if (k > c->step) k = c->step;
    memcpy(buf, c->p + c->pos, k);
    c->pos += k;
    c->step = c->step * 7 % 65521 + 1;
    return (ssize_t)k;
}

static int verify_copying(const st_buf *b, const st_vkey *trust, const char *prev, unsigned threads,
                          st_verify_report *rep)
{
    chunk_src c = { b->data, b->len, 0, 1000 };
    st_bundle_reader *r;
    ck_assert_int_eq(st_bundle_reader_new(&r, chunk_read, &c), 0);
    st_verify_opts o = { .trust = trust, .ntrust = 1, .previous = prev, .previous_len = prev ? strlen(prev) : 0,
                         .threads = threads };
    int v = st_verify_bundle(r, &o, rep);
    st_bundle_reader_free(r);
    return v;
}

/* Both sources, one and two threads: the same verdict, step, place and message. */
static void expect_verdict(const st_buf *b, const st_vkey *trust, const char *prev, int want, const char *what)
{
    st_verify_report *rep = calloc(1, sizeof *rep), *rep2 = calloc(1, sizeof *rep2);
    for (unsigned threads = 1; threads <= 2; threads++) {
        int v = syn_verify(b, trust, prev, threads, rep);
        ck_assert_msg(v == want, "%s (threads %u): verdict %d, want %d: step %u: %s", what, threads, v, want,
                      rep->step, rep->failure);
        int v2 = verify_copying(b, trust, prev, threads, rep2);
        ck_assert_msg(v2 == v && rep2->step == rep->step && rep2->fail_offset == rep->fail_offset &&
                      strcmp(rep2->failure, rep->failure) == 0 && rep2->entries == rep->entries &&
                      rep2->payloads == rep->payloads && rep2->payload_bytes == rep->payload_bytes,
                      "%s (threads %u): in place: %d step %u: %s; copied: %d step %u: %s", what, threads, v,
                      rep->step, rep->failure, v2, rep2->step, rep2->failure);
    }
    free(rep);
    free(rep2);
}

/* st_sha256_2 against libsodium: prefix lengths around the block size, lengths across block edges */
START_TEST(test_sha256_pair)
{
    uint8_t buf[700], pre[64], a[32], b[32], want[32], cat[800];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i * 131 + 7);
    for (size_t i = 0; i < sizeof pre; i++) pre[i] = (uint8_t)(i * 17 + 3);
    static const size_t plens[] = { 0, 1, 37, 55, 56, 63, 64 };
    for (size_t pi = 0; pi < sizeof plens / sizeof plens[0]; pi++)
        for (size_t la = 0; la <= 300; la += (la < 140 ? 1 : 13)) {
            size_t pb = plens[(pi + 3) % (sizeof plens / sizeof plens[0])], lb = (la * 5 + 11) % 650;
            st_sha256_2(a, pre, plens[pi], buf + 1, la, b, pre + 64 - pb, pb, buf + 3, lb);
            memcpy(cat, pre, plens[pi]);
            memcpy(cat + plens[pi], buf + 1, la);
            crypto_hash_sha256(want, cat, plens[pi] + la);
            ck_assert_msg(memcmp(a, want, 32) == 0, "first: prefix %zu, length %zu", plens[pi], la);
            memcpy(cat, pre + 64 - pb, pb);
            memcpy(cat + pb, buf + 3, lb);
            crypto_hash_sha256(want, cat, pb + lb);
            ck_assert_msg(memcmp(b, want, 32) == 0, "second: prefix %zu, length %zu", pb, lb);
        }
}
END_TEST

/* [BUNDLE-5] the trailer chain fed a run of records at once (the verifier's
 * merge, st_bundle_chain_add_run) equals the chain fed record by record */
START_TEST(test_chain_run)
{
    st_bundle_chain one, run;
    st_bundle_chain_init(&one);
    st_bundle_chain_init(&run);
    uint8_t bytes[64 * (5 + 73)], h[73];
    size_t len = 0;
    for (unsigned i = 0; i < 64; i++) {
        size_t hlen = 32 + i % 42;
        for (size_t j = 0; j < hlen; j++) h[j] = (uint8_t)(i * 7 + j);
        uint8_t type = i % 3 ? ST_BREC_PAYLOAD : ST_BREC_ENTRY;
        uint32_t rlen = 100u + i * 977u;
        st_bundle_chain_add(&one, type, rlen, h, hlen);
        bytes[len] = type;
        st_be32_put(bytes + len + 1, rlen);
        memcpy(bytes + len + 5, h, hlen);
        len += 5 + hlen;
        if (i % 5 == 4 || i == 63) {         /* runs of uneven lengths, across block edges */
            st_bundle_chain_add_run(&run, bytes, len, i % 5 == 4 ? 5 : 4);
            len = 0;
        }
    }
    uint8_t a[ST_BREC_TRAILER_LEN], b[ST_BREC_TRAILER_LEN];
    st_bundle_chain_trailer(&one, a);
    st_bundle_chain_trailer(&run, b);
    ck_assert_uint_eq(one.count, 64);
    ck_assert_uint_eq(run.count, 64);
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
}
END_TEST

/* [BUNDLE-3] [BUNDLE-6] every selection kind round-trips at every size */
START_TEST(test_roundtrip_sizes)
{
    for (size_t si = 0; si < NSIZES; si++) {
        uint64_t n = sizes[si];
        syn *s = syn_new(n, -1, 4, 1, NULL);
        for (int kind = 0; kind < 4; kind++) {
            syn_sel sel;
            memset(&sel, 0, sizeof sel);
            sel.kind = (st_sel_kind)kind;
            sel.begin = n / 3;
            sel.end = n - n / 4;
            sel.tool = "Edit";
            st_buf b = { 0 };
            ck_assert_int_eq(syn_export(s, &sel, &b), 0);
            st_verify_report *rep = calloc(1, sizeof *rep);
            for (unsigned threads = 1; threads <= 2; threads++) {
                int v = syn_verify(&b, &s->vk, NULL, threads, rep);
                ck_assert_msg(v == 0, "size %llu kind %d threads %u: verdict %d step %u: %s", (unsigned long long)n,
                              kind, threads, v, rep->step, rep->failure);
                uint64_t want = kind == ST_SEL_FULL ? n : kind == ST_SEL_FILTER ? 0 : sel.end - sel.begin;
                if (kind == ST_SEL_FILTER)
                    for (uint64_t i = 0; i < n; i++) want += i % 3 == 1;
                ck_assert_uint_eq(rep->entries, want);
                ck_assert_uint_eq(rep->cp_final_size, n);
                if (want) {
                    ck_assert_uint_eq(rep->payloads, 2 * want);
                    ck_assert_int_ge(rep->time_max_us, rep->time_min_us);
                }
                if (kind == ST_SEL_FILTER) {
                    ck_assert_uint_eq(rep->inclusion_proofs, want);
                    if (want) {
                        ck_assert_uint_eq(rep->tools.n, 1);
                        ck_assert_str_eq(rep->tools.v[0].name, "Edit");
                    }
                } else {
                    ck_assert_uint_ge(rep->roots_recomputed, 1);
                }
                ck_assert_uint_eq(rep->consistency_proofs, rep->checkpoints - 1);
            }
            free(rep);
            st_buf_free(&b);
        }
        syn_free(s);
    }
}
END_TEST

/* A 100,000-entry full round trip over a synthetic log with an erased payload
 * (every selection kind at 100,000 runs on a real store: test_bundle_store.c). */
START_TEST(test_roundtrip_100k)
{
    syn *s = syn_new(100000, 4242, 1000, 1, NULL);
    syn_sel sel;
    memset(&sel, 0, sizeof sel);
    st_buf b = { 0 };
    ck_assert_int_eq(syn_export(s, &sel, &b), 0);
    st_verify_report *rep = calloc(1, sizeof *rep);
    int v = syn_verify(&b, &s->vk, NULL, 0, rep);
    ck_assert_msg(v == 0, "verdict %d step %u: %s", v, rep->step, rep->failure);
    ck_assert_uint_eq(rep->entries, 100000);
    ck_assert_uint_eq(rep->absent, 1);
    ck_assert_uint_eq(rep->absent_erasure, 1);
    ck_assert_uint_eq(rep->absent_list[0].index, 4242);
    ck_assert_str_eq(rep->absent_list[0].reason, "erasure");
    ck_assert_uint_eq(rep->supports, 1);
    ck_assert_uint_eq(rep->checkpoints, 100);
    ck_assert_uint_eq(rep->roots_recomputed, 100);
    ck_assert_uint_eq(rep->sessions, 20000);
    free(rep);
    st_buf_free(&b);
    syn_free(s);
}
END_TEST

/* Many batches (a ring's worth and more) with one, two and three threads:
 * the reader checks queued batches itself when its workers are behind, so
 * a batch may be checked on any thread. The same report, and the same
 * failure when a payload late in the stream is altered. */
START_TEST(test_threads_agree)
{
    syn *s = syn_new(60000, -1, 5000, 1, NULL);
    syn_sel sel;
    memset(&sel, 0, sizeof sel);
    st_buf b = { 0 };
    ck_assert_int_eq(syn_export(s, &sel, &b), 0);
    st_verify_report *rep = calloc(1, sizeof *rep), *one = calloc(1, sizeof *one);
    ck_assert_int_eq(syn_verify(&b, &s->vk, NULL, 1, one), 0);
    ck_assert_uint_eq(one->entries, 60000);
    for (unsigned threads = 2; threads <= 3; threads++) {
        ck_assert_int_eq(syn_verify(&b, &s->vk, NULL, threads, rep), 0);
        ck_assert_uint_eq(rep->threads, threads);
        ck_assert(rep->entries == one->entries && rep->payloads == one->payloads &&
                  rep->payload_bytes == one->payload_bytes && rep->sessions == one->sessions &&
                  rep->roots_recomputed == one->roots_recomputed && rep->time_min_us == one->time_min_us &&
                  rep->time_max_us == one->time_max_us);
    }
    rbundle rb;
    ck_assert_int_eq(rb_split(&b, &rb), 0);
    long i = rb_find(&rb, ST_BREC_ENTRY, 51234);
    ck_assert_int_ge(i, 0);
    st_buf *p = &rb.r[(size_t)i + 1].body;
    p->data[p->len - 2] ^= 0x20;
    st_buf t = { 0 };
    rb_join(&rb, &t);
    expect_verdict(&t, &s->vk, NULL, ST_VERDICT_TAMPERED, "late payload altered");
    ck_assert_int_eq(syn_verify(&t, &s->vk, NULL, 1, one), ST_VERDICT_TAMPERED);
    ck_assert_ptr_nonnull(strstr(one->failure, "entry 51234: payload "));
    ck_assert_int_eq(syn_verify(&t, &s->vk, NULL, 3, rep), ST_VERDICT_TAMPERED);
    ck_assert(rep->step == one->step && rep->fail_offset == one->fail_offset && strcmp(rep->failure, one->failure) == 0);
    st_buf_free(&t);
    rb_free(&rb);
    free(rep);
    free(one);
    st_buf_free(&b);
    syn_free(s);
}
END_TEST

/* Step 13 with the workers' subtrees (verify_tree.c): checkpoints at odd
 * sizes (777, 1554, ...) fall inside a batch's runs of entries, a range
 * selection begins at an odd index, --previous names one of those sizes.
 * Every root is still computed at its size, with one, two and three threads
 * and both sources; an entry rewritten in the middle of a subtree fails at
 * the first checkpoint after it, as an entry appended alone would. */
START_TEST(test_subtrees_odd_checkpoints)
{
    syn *s = syn_new(7000, -1, 777, 1, NULL);
    st_verify_report *rep = calloc(1, sizeof *rep), *one = calloc(1, sizeof *one);
    for (int kind = 0; kind < 2; kind++) {
        syn_sel sel;
        memset(&sel, 0, sizeof sel);
        sel.kind = kind ? ST_SEL_RANGE : ST_SEL_FULL;
        sel.begin = 1001;
        sel.end = 6501;
        st_buf b = { 0 };
        ck_assert_int_eq(syn_export(s, &sel, &b), 0);
        for (unsigned threads = 1; threads <= 3; threads++) {
            ck_assert_int_eq(syn_verify(&b, &s->vk, NULL, threads, rep), 0);
            ck_assert_uint_eq(rep->entries, kind ? 5500 : 7000);
            /* full: the 10 checkpoints; range [1001, 6501): the 7 sizes 1554..6216 it reaches, and 7000 via RIGHT */
            ck_assert_uint_eq(rep->roots_recomputed, kind ? 8 : 10);
        }
        expect_verdict(&b, &s->vk, s->notes[1], 0, "--previous at size 1554");
        if (kind == 0) {
            rbundle rb;
            ck_assert_int_eq(rb_split(&b, &rb), 0);
            long i = rb_find(&rb, ST_BREC_ENTRY, 2000);
            ck_assert_int_ge(i, 0);
            st_buf *e = &rb.r[i].body;
            uint8_t *t = memmem(e->data, e->len, "\"status\":\"succeeded\"", 20);
            ck_assert_ptr_nonnull(t);
            memcpy(t + 10, "SUCCEEDED", 9);      /* still canonical: only the tree can tell */
            st_buf x = { 0 };
            rb_join(&rb, &x);
            expect_verdict(&x, &s->vk, NULL, ST_VERDICT_TAMPERED, "entry 2000 rewritten");
            for (unsigned threads = 1; threads <= 3; threads++) {
                ck_assert_int_eq(syn_verify(&x, &s->vk, NULL, threads, rep), ST_VERDICT_TAMPERED);
                ck_assert_uint_eq(rep->step, 13);
                ck_assert_msg(strstr(rep->failure, "checkpoint 2331: root mismatch: computed "), "%s", rep->failure);
                ck_assert_uint_eq(rep->roots_recomputed, 2);
            }
            st_buf_free(&x);
            rb_free(&rb);
        }
        st_buf_free(&b);
    }
    free(rep);
    free(one);
    syn_free(s);
}
END_TEST

/* ---- tamper cases (the trailer is recomputed, so only meaning is tested) ------------ */

static syn *g_s;
static st_buf g_b;
static rbundle g_rb;

static void setup(void)
{
    g_s = syn_new(30, 7, 8, 1, NULL);      /* entry 7's tool_response erased by record 29 */
    syn_sel sel;
    memset(&sel, 0, sizeof sel);
    memset(&g_b, 0, sizeof g_b);
    if (syn_export(g_s, &sel, &g_b)) abort();
    if (rb_split(&g_b, &g_rb)) abort();
}

static void teardown(void)
{
    rb_free(&g_rb);
    st_buf_free(&g_b);
    syn_free(g_s);
}

static void expect_rb(int want, const char *what)
{
    st_buf b = { 0 };
    rb_join(&g_rb, &b);
    expect_verdict(&b, &g_s->vk, NULL, want, what);
    st_buf_free(&b);
}

/* The index of entry k's ENTRY record and the number of records of its item. */
static size_t item_at(uint64_t k, size_t *nrec)
{
    long i = rb_find(&g_rb, ST_BREC_ENTRY, k);
    ck_assert_int_ge(i, 0);
    size_t j = (size_t)i + 1;
    while (j < g_rb.n && (g_rb.r[j].type == ST_BREC_PAYLOAD || g_rb.r[j].type == ST_BREC_ABSENT ||
                          g_rb.r[j].type == ST_BREC_INCLUSION))
        j++;
    *nrec = j - (size_t)i;
    return (size_t)i;
}

START_TEST(test_untouched_verifies)
{
    expect_verdict(&g_b, &g_s->vk, NULL, 0, "untouched");
    expect_rb(0, "reframed");
}
END_TEST

START_TEST(test_reordered_entries)
{
    size_t n3, n4;
    size_t i3 = item_at(3, &n3), i4 = item_at(4, &n4);
    ck_assert_uint_eq(i4, i3 + n3);
    rrec tmp[8];
    memcpy(tmp, &g_rb.r[i3], n3 * sizeof *tmp);
    memmove(&g_rb.r[i3], &g_rb.r[i4], n4 * sizeof *tmp);
    memcpy(&g_rb.r[i3 + n4], tmp, n3 * sizeof *tmp);
    expect_rb(ST_VERDICT_TAMPERED, "entries 3 and 4 swapped");
}
END_TEST

START_TEST(test_deleted_entry)
{
    size_t n;
    size_t i = item_at(12, &n);
    rb_remove(&g_rb, i, n);
    expect_rb(ST_VERDICT_TAMPERED, "entry 12 deleted");
}
END_TEST

START_TEST(test_deleted_last_entry)
{
    size_t n;
    size_t i = item_at(29, &n);
    rb_remove(&g_rb, i, n);
    expect_rb(ST_VERDICT_TAMPERED, "last entry deleted");
}
END_TEST

START_TEST(test_duplicated_entry)
{
    size_t n;
    size_t i = item_at(5, &n);
    for (size_t k = 0; k < n; k++) rb_insert_copy(&g_rb, i + n + k, &g_rb.r[i + k]);
    expect_rb(ST_VERDICT_TAMPERED, "entry 5 duplicated");
}
END_TEST

START_TEST(test_payload_records_flood)
{
    /* entry 7's first payload record repeated 5000 times: the reader stops
     * at the item's bound, the item's check names the extra records */
    size_t n;
    size_t i = item_at(7, &n);
    ck_assert_uint_ge(n, 2);
    for (size_t k = 0; k < 5000; k++) rb_insert_copy(&g_rb, i + 1, &g_rb.r[i + 1]);
    st_buf b = { 0 };
    rb_join(&g_rb, &b);
    expect_verdict(&b, &g_s->vk, NULL, ST_VERDICT_TAMPERED, "5000 extra payload records after entry 7");
    st_verify_report *rep = calloc(1, sizeof *rep);
    ck_assert_int_eq(syn_verify(&b, &g_s->vk, NULL, 2, rep), ST_VERDICT_TAMPERED);
    ck_assert_uint_eq(rep->step, 12);
    ck_assert_msg(strstr(rep->failure, "entry 7") != NULL, "failure: %s", rep->failure);
    free(rep);
    st_buf_free(&b);
}
END_TEST

START_TEST(test_inserted_entry)
{
    /* a well-formed item (entry and payloads) for index 10 inserted before entry 10 */
    syn *o = syn_new(30, -1, 8, 2, NULL);
    st_buf_reset(&o->entries[10]);
    syn_make_entry(o, 10, 3, "tool_input");           /* a plausible, different entry 10 */
    size_t n;
    size_t i = item_at(10, &n);
    rrec r;
    memset(&r, 0, sizeof r);
    r.type = ST_BREC_ENTRY;
    uint8_t idx[8];
    st_be64_put(idx, 10);
    st_buf_put(&r.body, idx, 8);
    st_buf_put(&r.body, o->entries[10].data, o->entries[10].len);
    rb_insert_copy(&g_rb, i, &r);
    st_buf_free(&r.body);
    expect_rb(ST_VERDICT_TAMPERED, "an entry inserted before entry 10");
    syn_free(o);
}
END_TEST

START_TEST(test_replaced_entry)
{
    /* entry 10 rewritten (still canonical, same payloads): only the tree can tell */
    size_t n;
    size_t i = item_at(10, &n);
    st_buf *e = &g_rb.r[i].body;
    uint8_t *t = memmem(e->data, e->len, "\"tool\":\"Edit\"", 13);
    ck_assert_ptr_nonnull(t);
    memcpy(t + 8, "Read", 4);
    expect_rb(ST_VERDICT_TAMPERED, "entry 10 rewritten");
    st_verify_report *rep = calloc(1, sizeof *rep);
    st_buf b = { 0 };
    rb_join(&g_rb, &b);
    syn_verify(&b, &g_s->vk, NULL, 1, rep);
    ck_assert_uint_eq(rep->step, 13);
    ck_assert_ptr_nonnull(strstr(rep->failure, "checkpoint 16: root mismatch: computed "));
    st_buf_free(&b);
    free(rep);
}
END_TEST

START_TEST(test_truncated)
{
    /* cut points (every byte of the head, then every 13th) are "could not verify", with one thread or two */
    st_verify_report *rep = calloc(1, sizeof *rep);
    for (size_t cut = 0; cut < g_b.len; cut += cut < 400 ? 1 : 13) {
        st_buf t = { 0 };
        st_buf_put(&t, g_b.data, cut);
        int v = syn_verify(&t, &g_s->vk, NULL, cut % 7 == 0 ? 2 : 1, rep);
        ck_assert_msg(v == ST_VERDICT_UNVERIFIABLE, "cut at %zu: verdict %d: %s", cut, v, rep->failure);
        st_buf_free(&t);
    }
    st_buf t = { 0 };
    st_buf_put(&t, g_b.data, g_b.len - 1);
    ck_assert_int_eq(syn_verify(&t, &g_s->vk, NULL, 1, rep), ST_VERDICT_UNVERIFIABLE);
    ck_assert_uint_eq(rep->step, 3);
    st_buf_free(&t);
    free(rep);
}
END_TEST

START_TEST(test_trailing_garbage)
{
    st_buf t = { 0 };
    st_buf_put(&t, g_b.data, g_b.len);
    st_buf_putc(&t, '\n');
    st_verify_report *rep = calloc(1, sizeof *rep);
    ck_assert_int_eq(syn_verify(&t, &g_s->vk, NULL, 1, rep), ST_VERDICT_UNVERIFIABLE);
    ck_assert_ptr_nonnull(strstr(rep->failure, "trailing bytes"));
    free(rep);
    st_buf_free(&t);
}
END_TEST

START_TEST(test_trailer_digest)
{
    st_buf t = { 0 };
    st_buf_put(&t, g_b.data, g_b.len);
    t.data[t.len - 1] ^= 1;
    st_verify_report *rep = calloc(1, sizeof *rep);
    ck_assert_int_eq(syn_verify(&t, &g_s->vk, NULL, 1, rep), ST_VERDICT_UNVERIFIABLE);
    ck_assert_uint_eq(rep->step, 17);
    ck_assert_ptr_nonnull(strstr(rep->failure, "digest mismatch"));
    free(rep);
    st_buf_free(&t);
}
END_TEST

START_TEST(test_older_checkpoint_swapped_in)
{
    /* the final checkpoint (size 30) replaced by the one of size 24 */
    long last = rb_find(&g_rb, ST_BREC_CHECKPOINT, 3);
    long prev = rb_find(&g_rb, ST_BREC_CHECKPOINT, 2);
    ck_assert_int_ge(last, 0);
    st_buf_reset(&g_rb.r[last].body);
    st_buf_put(&g_rb.r[last].body, g_rb.r[prev].body.data, g_rb.r[prev].body.len);
    expect_rb(ST_VERDICT_TAMPERED, "final checkpoint replaced by an older one");
}
END_TEST

START_TEST(test_consistency_removed)
{
    long i = rb_find(&g_rb, ST_BREC_CONSISTENCY, 1);
    rb_remove(&g_rb, (size_t)i, 1);
    expect_rb(ST_VERDICT_TAMPERED, "a consistency proof removed");
}
END_TEST

START_TEST(test_payload_altered)
{
    size_t n;
    size_t i = item_at(4, &n);
    st_buf *p = &g_rb.r[i + 1].body;
    p->data[p->len - 2] ^= 0x20;
    expect_rb(ST_VERDICT_TAMPERED, "payload byte altered");
    st_verify_report *rep = calloc(1, sizeof *rep);
    st_buf b = { 0 };
    rb_join(&g_rb, &b);
    syn_verify(&b, &g_s->vk, NULL, 1, rep);
    ck_assert_uint_eq(rep->step, 12);
    ck_assert_ptr_nonnull(strstr(rep->failure, "entry 4: payload tool_input: commitment mismatch: computed "));
    st_buf_free(&b);
    free(rep);
}
END_TEST

START_TEST(test_payload_deleted_without_record)
{
    size_t n;
    size_t i = item_at(4, &n);
    rb_remove(&g_rb, i + 2, 1);
    expect_rb(ST_VERDICT_TAMPERED, "payload record deleted");
}
END_TEST

START_TEST(test_payload_replaced_by_false_absence)
{
    /* entry 4's tool_input claimed erased by record 29, which erased entry 7 */
    size_t n;
    size_t i = item_at(4, &n);
    st_buf *p = &g_rb.r[i + 1].body;
    uint8_t body[64];
    st_be64_put(body, 4);
    body[8] = 10;
    memcpy(body + 9, "tool_input", 10);
    st_be64_put(body + 19, 29);
    g_rb.r[i + 1].type = ST_BREC_ABSENT;
    st_buf_reset(p);
    st_buf_put(p, body, 27);
    expect_rb(ST_VERDICT_TAMPERED, "false absence");
    /* and one naming a record the bundle does not carry */
    st_be64_put(body + 19, 28);
    st_buf_reset(p);
    st_buf_put(p, body, 27);
    expect_rb(ST_VERDICT_TAMPERED, "absence explained by a missing record");
}
END_TEST

START_TEST(test_support_removed)
{
    long i = rb_find(&g_rb, ST_BREC_SUPPORT, 0);
    ck_assert_int_ge(i, 0);
    rb_remove(&g_rb, (size_t)i, 2);
    expect_rb(ST_VERDICT_TAMPERED, "the erasure record removed");
}
END_TEST

START_TEST(test_manifest_claims)
{
    long i = rb_find(&g_rb, ST_BREC_MANIFEST, 0);
    st_buf *m = &g_rb.r[i].body;
    char *s = strndup((const char *)m->data, m->len);
    char *p = strstr(s, "\"entries\":30");
    ck_assert_ptr_nonnull(p);
    p[11] = '1';                          /* entries 31: no longer end - begin */
    st_buf_reset(m);
    st_buf_puts(m, s);
    expect_rb(ST_VERDICT_UNVERIFIABLE, "manifest entries != end - begin");
    p = strstr(s, "\"v\":1");
    p[4] = '2';
    st_buf_reset(m);
    st_buf_puts(m, s);
    expect_rb(ST_VERDICT_UNTRUSTED, "manifest version 2");
    free(s);
}
END_TEST

START_TEST(test_magic_version)
{
    st_buf t = { 0 };
    st_buf_put(&t, g_b.data, g_b.len);
    t.data[18] = '2';
    st_verify_report *rep = calloc(1, sizeof *rep);
    ck_assert_int_eq(syn_verify(&t, &g_s->vk, NULL, 1, rep), ST_VERDICT_UNTRUSTED);
    ck_assert_ptr_nonnull(strstr(rep->failure, "\"2\" is not supported"));
    t.data[0] = 'S';
    ck_assert_int_eq(syn_verify(&t, &g_s->vk, NULL, 1, rep), ST_VERDICT_UNVERIFIABLE);
    free(rep);
    st_buf_free(&t);
}
END_TEST

START_TEST(test_unknown_record_type)
{
    g_rb.r[1].type = 0x42;
    expect_rb(ST_VERDICT_UNVERIFIABLE, "unknown record type");
}
END_TEST

/* ---- keys and trust ---------------------------------------------------------------- */

START_TEST(test_wrong_key)
{
    st_vkey other;
    char vk[ST_VKEY_MAX];
    st_signer *sg = syn_signer(g_s->origin, 9, vk, &other);
    expect_verdict(&g_b, &other, NULL, ST_VERDICT_UNTRUSTED, "wrong key");
    st_signer_free(sg);
    st_verify_report *rep = calloc(1, sizeof *rep);
    st_verify_opts o = { .threads = 1 };
    ck_assert_int_eq(st_verify_bundle_mem(g_b.data, g_b.len, &o, rep), ST_VERDICT_UNVERIFIABLE);
    ck_assert_ptr_nonnull(strstr(rep->failure, "no trusted key"));
    free(rep);
}
END_TEST

START_TEST(test_key_from_bundle_not_trusted)
{
    /* An attacker re-signs an altered log with their own key, and ships
     * that key in the bundle's KEY record. The auditor trusts the real key. */
    syn *evil = syn_new(30, 7, 8, 66, NULL);
    st_buf b = { 0 };
    syn_sel sel;
    memset(&sel, 0, sizeof sel);
    ck_assert_int_eq(syn_export(evil, &sel, &b), 0);
    ck_assert_ptr_nonnull(memmem(b.data, b.len, evil->vkey, strlen(evil->vkey)));
    expect_verdict(&b, &g_s->vk, NULL, ST_VERDICT_UNTRUSTED, "attacker key in the bundle");
    st_verify_report *rep = calloc(1, sizeof *rep);
    syn_verify(&b, &g_s->vk, NULL, 1, rep);
    ck_assert_ptr_nonnull(strstr(rep->failure, "signed by no trusted key"));
    ck_assert_uint_eq(rep->step, 6);
    free(rep);
    st_buf_free(&b);
    syn_free(evil);
}
END_TEST

/* ---- --previous and --from-checkpoint ------------------------------------------------ */

START_TEST(test_previous_linked_and_fork)
{
    /* the auditor holds the checkpoint of size 16 */
    expect_verdict(&g_b, &g_s->vk, g_s->notes[1], 0, "previous of the same log");
    st_verify_report *rep = calloc(1, sizeof *rep);
    ck_assert_int_eq(syn_verify(&g_b, &g_s->vk, g_s->notes[1], 1, rep), 0);
    ck_assert_int_eq(rep->previous_checked, 1);
    ck_assert_uint_eq(rep->previous_size, 16);

    /* a fork: another log under the same key and origin */
    syn *fork = syn_new(30, 7, 8, 1, NULL);
    st_buf_reset(&fork->entries[3]);
    syn_make_entry(fork, 3, 1, "tool_input");   /* entry 3 differs */
    uint64_t cps[] = { 5, 30 };
    syn_seal(fork, cps, 2);
    expect_verdict(&g_b, &g_s->vk, fork->notes[0], ST_VERDICT_TAMPERED, "fork at size 5");
    syn_verify(&g_b, &g_s->vk, fork->notes[0], 1, rep);
    ck_assert_ptr_nonnull(strstr(rep->failure, "fork"));
    ck_assert_uint_eq(rep->step, 16);
    free(rep);
    syn_free(fork);
}
END_TEST

START_TEST(test_previous_needs_link)
{
    /* a range export [20, 30) cannot say anything about size 9 ... */
    syn_sel sel;
    memset(&sel, 0, sizeof sel);
    sel.kind = ST_SEL_RANGE;
    sel.begin = 20;
    sel.end = 30;
    syn *s = syn_new(30, -1, 8, 1, NULL);
    uint64_t cps[] = { 9, 20, 30 };
    syn_seal(s, cps, 3);
    st_buf b = { 0 };
    ck_assert_int_eq(syn_export(s, &sel, &b), 0);
    expect_verdict(&b, &s->vk, s->notes[0], ST_VERDICT_UNVERIFIABLE, "unlinkable previous");
    /* ... unless exported with --from-checkpoint */
    sel.prev_note = s->notes[0];
    sel.prev_size = 9;
    st_buf_reset(&b);
    ck_assert_int_eq(syn_export(s, &sel, &b), 0);
    expect_verdict(&b, &s->vk, s->notes[0], 0, "previous linked by the bundle's consistency proof");
    expect_verdict(&b, &s->vk, NULL, 0, "previous record without --previous");
    /* a fork at 9 is caught through that proof */
    syn *fork = syn_new(30, -1, 8, 1, NULL);
    st_buf_reset(&fork->entries[2]);
    syn_make_entry(fork, 2, 0, "tool_input");
    syn_seal(fork, cps, 3);
    expect_verdict(&b, &s->vk, fork->notes[0], ST_VERDICT_TAMPERED, "fork via previous record");
    st_buf_free(&b);
    syn_free(fork);
    syn_free(s);
}
END_TEST

START_TEST(test_previous_untrusted)
{
    syn *evil = syn_new(30, -1, 8, 77, NULL);
    expect_verdict(&g_b, &g_s->vk, evil->notes[0], ST_VERDICT_UNTRUSTED, "--previous signed by another key");
    syn_free(evil);
}
END_TEST

/* ---- the trust argument ------------------------------------------------------------------ */

START_TEST(test_trust_arg)
{
    st_vkey k;
    st_err err;
    ck_assert_int_eq(st_trust_arg_parse(&k, g_s->vkey, &err), 0);
    ck_assert_int_eq(memcmp(k.pub, g_s->vk.pub, 32), 0);
    char *dir = tu_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/k.vkey", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "%s\n", g_s->vkey);
    fclose(f);
    ck_assert_int_eq(st_trust_arg_parse(&k, path, &err), 0);
    ck_assert_int_eq(memcmp(k.pub, g_s->vk.pub, 32), 0);
    f = fopen(path, "w");
    fprintf(f, "%s\nsomething else\n", g_s->vkey);
    fclose(f);
    ck_assert_int_eq(st_trust_arg_parse(&k, path, &err), ST_EBADKEY);
    ck_assert_int_ne(st_trust_arg_parse(&k, "nonsense", &err), 0);
    /* VERIFYING.md 1.1: the key, then nothing but LF: a NUL byte after the key
     * (or after its LF) is not an LF, and the file is malformed */
    static const char *const tails[] = { "\0", "\n\0", "\0\n", "\n\0\0\n", "\0\0" };
    static const size_t tail_lens[] = { 1, 2, 2, 4, 2 };
    for (size_t i = 0; i < sizeof tails / sizeof *tails; i++) {
        f = fopen(path, "w");
        fputs(g_s->vkey, f);
        fwrite(tails[i], 1, tail_lens[i], f);
        fclose(f);
        ck_assert_msg(st_trust_arg_parse(&k, path, &err) == ST_EBADKEY, "tail %zu accepted", i);
        ck_assert_ptr_nonnull(strstr(err.msg, "NUL"));
    }
    tu_rmrf(dir);
    free(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("bundle");
    TCase *tc = tcase_create("roundtrip");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_roundtrip_sizes);
    tcase_add_test(tc, test_roundtrip_100k);
    tcase_add_test(tc, test_threads_agree);
    tcase_add_test(tc, test_subtrees_odd_checkpoints);
    tcase_add_test(tc, test_sha256_pair);
    tcase_add_test(tc, test_chain_run);
    suite_add_tcase(s, tc);
    tc = tcase_create("tamper");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_untouched_verifies);
    tcase_add_test(tc, test_reordered_entries);
    tcase_add_test(tc, test_deleted_entry);
    tcase_add_test(tc, test_deleted_last_entry);
    tcase_add_test(tc, test_duplicated_entry);
    tcase_add_test(tc, test_payload_records_flood);
    tcase_add_test(tc, test_inserted_entry);
    tcase_add_test(tc, test_replaced_entry);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_trailing_garbage);
    tcase_add_test(tc, test_trailer_digest);
    tcase_add_test(tc, test_older_checkpoint_swapped_in);
    tcase_add_test(tc, test_consistency_removed);
    tcase_add_test(tc, test_payload_altered);
    tcase_add_test(tc, test_payload_deleted_without_record);
    tcase_add_test(tc, test_payload_replaced_by_false_absence);
    tcase_add_test(tc, test_support_removed);
    tcase_add_test(tc, test_manifest_claims);
    tcase_add_test(tc, test_magic_version);
    tcase_add_test(tc, test_unknown_record_type);
    tcase_add_test(tc, test_wrong_key);
    tcase_add_test(tc, test_key_from_bundle_not_trusted);
    tcase_add_test(tc, test_previous_linked_and_fork);
    tcase_add_test(tc, test_previous_needs_link);
    tcase_add_test(tc, test_previous_untrusted);
    tcase_add_test(tc, test_trust_arg);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
