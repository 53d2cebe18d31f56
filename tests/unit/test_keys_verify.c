/*
 * test_keys_verify.c: key histories through the whole path a store and an
 * auditor take: build a store state, export a bundle (st_export_store),
 * verify it (st_verify_bundle_mem) with the root as the only trust anchor.
 * Covers what the CLI cannot produce on purpose: forward security (the
 * thief of the current epoch key re-signs an earlier checkpoint), a
 * checkpoint signed after its key's certificate expired, a certificate of
 * another origin recorded in the log, and an exporter that hides or moves
 * key notes (KEYNOTE records dropped, a rotation's index shifted, the note
 * altered), each with the verdict and the message VERIFYING.md step 5b
 * promises.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "bundle_write.h"
#include "export.h"
#include "keys.h"
#include "testutil.h"
#include "verifier.h"

#define T0 1763683200LL   /* 2025-11-21T00:00:00Z */
#define DAY 86400LL

static char *dir;
static st_signer *root;

static void set_time(int64_t t)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", (long long)t);
    setenv("SEALTRAIL_FAKE_TIME", b, 1);
}

static st_signer *seed_signer(uint8_t b, const char *name)
{
    unsigned char seed33[33], pk[32], sk[64];
    seed33[0] = 1;
    memset(seed33 + 1, b, 32);
    crypto_sign_seed_keypair(pk, sk, seed33 + 1);
    char b64[64], line[512];
    st_b64_encode(b64, seed33, 33);
    snprintf(line, sizeof line, "PRIVATE+KEY+%s+%08x+%s", name, (unsigned)st_key_id(name, strlen(name), pk), b64);
    st_signer *s = NULL;
    ck_assert_int_eq(st_signer_from_string(&s, line, strlen(line), NULL), 0);
    return s;
}

static void setup(void)
{
    ck_assert(sodium_init() >= 0);
    setenv("SEALTRAIL_NO_SYSLOG", "1", 1);
    set_time(T0 + 3600);
    dir = tu_tmpdir();
    root = seed_signer(0x52, "example.com/root");
}

static void teardown(void)
{
    unsetenv("SEALTRAIL_FAKE_TIME");
    st_signer_free(root);
    tu_rmrf(dir);
    free(dir);
}

static st_store *make_store(void)
{
    char vkey[ST_VKEY_MAX];
    st_init_opts o = { .origin = "example.com/log", .seal_max_entries = 1000, .seal_max_age_us = 3600LL * 1000000 };
    ck_assert_int_eq(st_store_init(dir, &o, vkey), 0);
    st_store *s;
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_NOSYSLOG), 0);
    return s;
}

static void append_n(st_store *s, size_t n)
{
    st_json_doc *doc = st_json_doc_new();
    for (size_t i = 0; i < n; i++) {
        st_json *m = st_json_new_object(doc);
        ck_assert_int_eq(st_json_object_add(doc, m, "kind", 4, st_json_new_str(doc, "event")), 0);
        st_record_in r = { .meta = m };
        ck_assert_int_eq(st_append_records(s, &r, 1, NULL), 0);
    }
    st_json_doc_free(doc);
}

static void seal(st_store *s)
{
    int rc = st_seal(s, NULL, NULL);
    ck_assert_msg(rc == 0, "seal: %s", st_store_error(s));
}

static void install(st_store *s, const char *note)
{
    char rv[ST_VKEY_MAX];
    st_signer_vkey_string(root, rv);
    st_key_install_info info;
    int rc = st_key_install(s, note, strlen(note), rv, &info);
    ck_assert_msg(rc == 0, "install: %s", st_store_error(s));
}

/* The store's own key certified by the root from T0 for `days`. */
static void certify_current(st_store *s, int64_t days)
{
    char *req, *cert;
    size_t rl, cl;
    ck_assert_int_eq(st_key_request(s, 1, T0, T0 + days * DAY, &req, &rl), 0);
    st_err e = { "" };
    ck_assert_msg(st_key_certify(root, req, rl, NULL, &cert, &cl, &e) == 0, "%s", e.msg);
    install(s, cert);
    free(req);
    free(cert);
}

static void export_full(st_store *s, st_buf *out)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    st_export_opts o;
    memset(&o, 0, sizeof o);
    o.kind = ST_SEL_FULL;
    st_export_stats stats;
    int rc = st_export_store(s, &o, fileno(f), &stats);
    ck_assert_msg(rc == 0, "export: %s", st_store_error(s));
    rewind(f);
    uint8_t buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) st_buf_put(out, buf, n);
    fclose(f);
}

/* Verifies with the root as the only trust anchor; msg gets the failure. */
static int verify(const st_buf *b, char msg[1024])
{
    st_verify_opts o;
    memset(&o, 0, sizeof o);
    o.trust = st_signer_vkey(root);
    o.ntrust = 1;
    o.threads = 1;
    st_verify_report *rep = calloc(1, sizeof *rep);
    int v = st_verify_bundle_mem(b->data, b->len, &o, rep);
    snprintf(msg, 1024, "%s", rep->failure);
    free(rep);
    return v;
}

/* Signs a checkpoint of the store's current tree with exactly `sg` (no policy). */
typedef struct force_ctx {
    st_store *s;
    st_signer *sg;
} force_ctx;

static int force_seal(st_txn *txn, void *arg)
{
    force_ctx *c = arg;
    int sealed = 0;
    int rc = st_seal_txn_signers(c->s, txn, 1, &c->sg, 1, &sealed);
    return rc ? rc : sealed ? 0 : ST_EINVAL;
}

/* ---- rewriting bundles: what a dishonest exporter could do ---------------------------------------- */

typedef int (*rec_filter)(uint8_t type, uint8_t *body, size_t *len, void *ctx);   /* 0 keep, 1 drop */

static void rewrite(const st_buf *in, st_buf *out, rec_filter f, void *ctx)
{
    st_bundle_reader *r;
    st_bundle_writer *w;
    st_err e = { "" };
    ck_assert_int_eq(st_bundle_reader_mem(&r, in->data, in->len), 0);
    ck_assert_int_eq(st_bundle_read_magic(r, &e), 0);
    ck_assert_int_eq(st_bw_open_buf(&w, out), 0);
    int drop_next_inclusion = 0;
    for (;;) {
        st_brec rec;
        int rc = st_bundle_next(r, &rec, &e);
        if (rc == 1) break;
        ck_assert_msg(rc == 0, "%s", e.msg);
        ck_assert(!rec.streamed);
        if (rec.type == ST_BREC_TRAILER) break;
        uint8_t *body = malloc(rec.len + 1);
        memcpy(body, rec.body, rec.len);
        size_t len = rec.len;
        int drop = (rec.type == ST_BREC_INCLUSION && drop_next_inclusion) ? 1 : f(rec.type, body, &len, ctx);
        drop_next_inclusion = drop && rec.type == ST_BREC_SUPPORT;
        if (!drop) ck_assert_int_eq(st_bw_record(w, rec.type, body, len), 0);
        free(body);
    }
    ck_assert_int_eq(st_bw_finish(w), 0);
    st_bw_free(w);
    st_bundle_reader_free(r);
}

static int keep_all(uint8_t type, uint8_t *body, size_t *len, void *ctx)
{
    (void)type; (void)body; (void)len; (void)ctx;
    return 0;
}

static int drop_rotation_keynote(uint8_t type, uint8_t *body, size_t *len, void *ctx)
{
    (void)ctx;
    return type == ST_BREC_KEYNOTE && memmem(body + 8, *len - 8, "key-rotation", 12) != NULL;
}

/* also drop the rotation's support entry (and its inclusion proof, by rewrite()) */
static int drop_rotation_everywhere(uint8_t type, uint8_t *body, size_t *len, void *ctx)
{
    (void)ctx;
    if (type == ST_BREC_SUPPORT) return memmem(body + 8, *len - 8, "\"kind\":\"key-rotation\"", 21) != NULL;
    return drop_rotation_keynote(type, body, len, ctx);
}

static int shift_rotation_index(uint8_t type, uint8_t *body, size_t *len, void *ctx)
{
    (void)ctx;
    if (type == ST_BREC_KEYNOTE && memmem(body + 8, *len - 8, "key-rotation", 12))
        st_be64_put(body, st_be64_get(body) + 5);         /* "the old key was retired later" */
    return 0;
}

static int alter_keynote_sig(uint8_t type, uint8_t *body, size_t *len, void *ctx)
{
    (void)ctx;
    if (type == ST_BREC_KEYNOTE) {
        uint8_t *sig = body + *len - 10;                  /* inside the last signature's base64 */
        *sig = *sig == 'A' ? 'B' : 'A';
    }
    return 0;
}

/* ---- tests ------------------------------------------------------------------------------------------- */

START_TEST(epoch_thief_cannot_resign_earlier_epoch)
{
    st_store *s = make_store();
    certify_current(s, 30);
    char *req, *sched;
    size_t rl, sl;
    ck_assert_int_eq(st_key_epochs_request(s, T0, DAY, 3, &req, &rl), 0);
    st_err e = { "" };
    ck_assert_int_eq(st_key_certify(root, req, rl, NULL, &sched, &sl, &e), 0);
    install(s, sched);
    st_key_rotate_result r;
    ck_assert_int_eq(st_key_rotate(s, NULL, 0, &r), 0);
    append_n(s, 3);
    seal(s);                                            /* day 0 */
    st_status stt;
    ck_assert_int_eq(st_store_status(s, &stt), 0);
    uint64_t day0 = stt.sealed_size;
    set_time(T0 + DAY + 60);
    append_n(s, 2);
    seal(s);                                            /* day 1: day 0's key is wiped by now */
    st_buf good = { 0 };
    export_full(s, &good);
    char msg[1024];
    ck_assert_msg(verify(&good, msg) == ST_VERDICT_VERIFIED, "%s", msg);

    /* the thief of the day-1 key signs the day-0 checkpoint text, and a rewritten day-0 history */
    st_signer *thief;
    ck_assert_int_eq(st_store_load_signer(s, &thief), 0);
    char *cp0;
    size_t cpl;
    uint64_t got;
    ck_assert_int_eq(st_checkpoint_get(s, day0, ST_CP_EXACT, &got, &cp0, &cpl), 0);
    st_note n;
    ck_assert_int_eq(st_note_parse(&n, cp0, cpl, NULL), 0);
    st_buf forged = { 0 };
    ck_assert_int_eq(st_note_sign(&forged, n.text, n.text_len, &thief, 1, &e), 0);
    /* put the forged note in place of the genuine one in the bundle */
    st_buf tampered = { 0 };
    const uint8_t *at = memmem(good.data, good.len, cp0, cpl);
    ck_assert_ptr_nonnull(at);
    st_buf_put(&tampered, good.data, (size_t)(at - good.data) - 5);
    uint8_t head[5] = { ST_BREC_CHECKPOINT };
    st_be32_put(head + 1, (uint32_t)forged.len);
    st_buf_put(&tampered, head, 5);
    st_buf_put(&tampered, forged.data, forged.len);
    st_buf_put(&tampered, at + cpl, good.len - (size_t)(at + cpl - good.data));
    st_buf fixed = { 0 };
    rewrite(&tampered, &fixed, keep_all, NULL);          /* a valid trailer: only signatures can tell */
    ck_assert_int_eq(verify(&fixed, msg), ST_VERDICT_UNTRUSTED);
    ck_assert_msg(strstr(msg, "signed by no trusted key") && strstr(msg, "epoch certificate (entry") &&
                  strstr(msg, "is not yet valid: valid from 2025-11-22T00:00:00Z"), "%s", msg);
    st_buf_free(&good);
    st_buf_free(&forged);
    st_buf_free(&tampered);
    st_buf_free(&fixed);
    free(cp0);
    free(req);
    free(sched);
    st_signer_free(thief);
    st_store_close(s);
}
END_TEST

START_TEST(expired_certificate_in_a_bundle)
{
    st_store *s = make_store();
    certify_current(s, 1);                              /* [T0, T0 + 1 day) */
    append_n(s, 2);
    seal(s);
    set_time(T0 + 2 * DAY);
    append_n(s, 1);
    st_signer *k;
    ck_assert_int_eq(st_keys_load_current_any(s, &k), 0);
    force_ctx fc = { s, k };                            /* what a store that ignored the expiry would sign */
    ck_assert_int_eq(st_db_write(s->db, force_seal, &fc, NULL), 0);
    st_buf b = { 0 };
    export_full(s, &b);
    char msg[1024];
    ck_assert_int_eq(verify(&b, msg), ST_VERDICT_UNTRUSTED);
    ck_assert_msg(strstr(msg, "its certificate (entry 0) expired at 2025-11-22T00:00:00Z") != NULL, "%s", msg);
    st_buf_free(&b);
    st_signer_free(k);
    st_store_close(s);
}
END_TEST

static int append_foreign(st_txn *txn, void *arg)
{
    void **a = arg;
    return st_keys_append_txn(a[0], txn, ST_KN_CERTIFICATE, a[1], strlen(a[1]), NULL);
}

START_TEST(certificate_for_another_origin_in_a_bundle)
{
    st_store *s = make_store();
    certify_current(s, 30);
    append_n(s, 1);
    seal(s);
    /* a certificate of example.org/other recorded in this log, and a checkpoint signed by that key */
    st_signer *other = seed_signer(0x03, "example.org/other");
    st_keynote *kn = calloc(1, sizeof *kn);
    kn->type = ST_KN_CERTIFICATE;
    snprintf(kn->origin, sizeof kn->origin, "example.org/other");
    kn->nkeys = 1;
    kn->keys[0].key = *st_signer_vkey(other);
    kn->keys[0].not_before = T0;
    kn->keys[0].not_after = T0 + DAY;
    st_buf t = { 0 }, note = { 0 };
    st_keynote_format_text(&t, kn);
    st_err e = { "" };
    ck_assert_int_eq(st_note_sign(&note, (const char *)t.data, t.len, &root, 1, &e), 0);
    st_buf_putc(&note, 0);
    void *args[2] = { s, note.data };
    ck_assert_int_eq(st_db_write(s->db, append_foreign, args, NULL), 0);
    force_ctx fc = { s, other };
    ck_assert_int_eq(st_db_write(s->db, force_seal, &fc, NULL), 0);
    st_buf b = { 0 };
    export_full(s, &b);
    char msg[1024];
    ck_assert_int_eq(verify(&b, msg), ST_VERDICT_UNTRUSTED);
    ck_assert_msg(strstr(msg, "is for origin example.org/other, not this log") != NULL, "%s", msg);
    st_buf_free(&b);
    st_buf_free(&t);
    st_buf_free(&note);
    free(kn);
    st_signer_free(other);
    st_store_close(s);
}
END_TEST

START_TEST(exporter_cannot_hide_or_move_key_notes)
{
    st_store *s = make_store();
    certify_current(s, 30);
    append_n(s, 2);
    seal(s);
    char *req, *cert;
    size_t rl, cl;
    ck_assert_int_eq(st_key_request(s, 0, T0, T0 + 30 * DAY, &req, &rl), 0);
    st_err e = { "" };
    ck_assert_int_eq(st_key_certify(root, req, rl, NULL, &cert, &cl, &e), 0);
    install(s, cert);
    st_key_rotate_result r;
    ck_assert_int_eq(st_key_rotate(s, NULL, 0, &r), 0);
    append_n(s, 2);
    seal(s);
    st_buf b = { 0 }, x = { 0 };
    export_full(s, &b);
    char msg[1024];
    ck_assert_msg(verify(&b, msg) == ST_VERDICT_VERIFIED, "%s", msg);
    rewrite(&b, &x, keep_all, NULL);
    ck_assert_msg(verify(&x, msg) == ST_VERDICT_VERIFIED, "rewrite changed the bundle: %s", msg);
    ck_assert_uint_eq(x.len, b.len);
    ck_assert(memcmp(x.data, b.data, b.len) == 0);

    struct { rec_filter f; int verdict; const char *want; } cases[] = {
        { drop_rotation_keynote, ST_VERDICT_TAMPERED, "is a key-rotation that the bundle's key history (its key note records) leaves out" },
        { drop_rotation_everywhere, ST_VERDICT_TAMPERED, "is a key-rotation that the bundle's key history (its key note records) leaves out" },
        { shift_rotation_index, ST_VERDICT_TAMPERED, "key-rotation that the bundle's key history" },
        { alter_keynote_sig, ST_VERDICT_TAMPERED, "does not verify" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        st_buf_reset(&x);
        rewrite(&b, &x, cases[i].f, NULL);
        int v = verify(&x, msg);
        ck_assert_msg(v == cases[i].verdict && strstr(msg, cases[i].want), "case %zu: verdict %d: %s", i, v, msg);
    }
    st_buf_free(&b);
    st_buf_free(&x);
    free(req);
    free(cert);
    st_store_close(s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("keys_verify");
    TCase *tc = tcase_create("keys_verify");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, epoch_thief_cannot_resign_earlier_epoch);
    tcase_add_test(tc, expired_certificate_in_a_bundle);
    tcase_add_test(tc, certificate_for_another_origin_in_a_bundle);
    tcase_add_test(tc, exporter_cannot_hide_or_move_key_notes);
    suite_add_tcase(su, tc);
    return tu_run_suite(su);
}
