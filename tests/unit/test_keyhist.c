/*
 * test_keyhist.c: the key-note formats [KEYS-1..8] and the history rules
 * [KEYS-9..13] of store/verify/keyhist*.c.
 *
 * Known answers: tests/fuzz/corpus/keyhist/kat-*.note were written by
 * Python's `cryptography` package, not by sealtrail, from fixed seeds
 * (root: 32 bytes 0x52 named example.com/root; log keys 0x01, 0x02 named
 * example.com/log; other origin 0x03 example.org/other; epochs 0x10..0x12;
 * T0 = 1763683200). The generator, for the record:
 *
 *   sk = Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)
 *   kid = sha256(name + "\n\x01" + pub)[:4]; vkey = f"{name}+{kid.hex()}+{b64(b'\1' + pub)}"
 *   note = text + "\n" + "".join(f"\u2014 {name} {b64(kid + sk.sign(text))}\n" for each signer)
 *
 * Tests check that sealtrail parses and verifies them, formats the same text
 * back, and signs byte-identical notes from the same seeds. Negative cases
 * are named after the mutation.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keyhist.h"
#include "note.h"
#include "sign.h"
#include "testutil.h"
#include "util.h"

#define T0 1763683200LL
#define DAY 86400LL

/* ---- helpers ---------------------------------------------------------------------------- */

/* A signer from a seed of 32 equal bytes. */
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
    st_err e = { "" };
    ck_assert_msg(st_signer_from_string(&s, line, strlen(line), &e) == 0, "%s", e.msg);
    sodium_memzero(sk, sizeof sk);
    return s;
}

static char *load_kat(const char *name, size_t *len)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tests/fuzz/corpus/keyhist/%s", name);
    char *t = tu_read_file(tu_source_path(rel), len);
    ck_assert_msg(t != NULL, "cannot read %s", rel);
    return t;
}

/* The key the KAT certificate certifies, as a vkey string in vk; returns
 * a malloc'd st_keynote for the test's own parses. */
static st_keynote *kat_certified_key(char vk[ST_VKEY_MAX])
{
    size_t len;
    char *txt = load_kat("kat-certificate.note", &len);
    st_keynote *kn = malloc(sizeof *kn);
    ck_assert_ptr_nonnull(kn);
    ck_assert_int_eq(st_keynote_parse(kn, txt, len, NULL), 0);
    st_vkey_format(vk, &kn->keys[0].key);
    free(txt);
    return kn;
}

/* Signs text with signers into a malloc'd NUL-terminated note. */
static char *sign_text(const char *text, st_signer **signers, size_t n)
{
    st_buf b = { 0 };
    st_err e = { "" };
    ck_assert_msg(st_note_sign(&b, text, strlen(text), signers, n, &e) == 0, "%s", e.msg);
    return st_buf_steal_str(&b, NULL);
}

static char *sign_keynote(const st_keynote *kn, st_signer **signers, size_t n)
{
    st_buf t = { 0 };
    st_keynote_format_text(&t, kn);
    st_buf_putc(&t, 0);
    char *note = sign_text((const char *)t.data, signers, n);
    st_buf_free(&t);
    return note;
}

/* A checkpoint note of example.com/log at (size, time) signed by signers. */
static char *checkpoint(uint64_t size, int64_t time_s, st_signer **signers, size_t n)
{
    st_hash root;
    memset(root, (int)size, sizeof root);
    st_buf b = { 0 };
    st_err e = { "" };
    ck_assert_msg(st_checkpoint_sign(&b, signers, n, "example.com/log", size, root, time_s, &e) == 0, "%s", e.msg);
    return st_buf_steal_str(&b, NULL);
}

/* Verdict of the history for a checkpoint note; msg (optional) gets the message. */
static int verdict(st_keyhist *h, const char *cpnote, unsigned flags, char *msg)
{
    st_note n;
    st_checkpoint cp;
    st_err e = { "" };
    ck_assert_int_eq(st_note_parse(&n, cpnote, strlen(cpnote), &e), 0);
    ck_assert_int_eq(st_checkpoint_parse(&cp, n.text, n.text_len, &e), 0);
    int rc = st_keyhist_verify_checkpoint(h, &n, &cp, flags, NULL, &e);
    if (msg) snprintf(msg, 512, "%s", e.msg);
    return rc;
}

static st_keynote *kn_new(st_keynote_type t)
{
    st_keynote *kn = calloc(1, sizeof *kn);
    ck_assert_ptr_nonnull(kn);
    kn->type = t;
    snprintf(kn->origin, sizeof kn->origin, "example.com/log");
    return kn;
}

static void add_ok(st_keyhist *h, uint64_t index, const char *note)
{
    st_err e = { "" };
    ck_assert_msg(st_keyhist_add_note(h, index, note, strlen(note), &e) == 0, "entry %llu: %s", (unsigned long long)index, e.msg);
}

static st_keyhist *hist_with_root(st_signer *root)
{
    st_keyhist *h = st_keyhist_new("example.com/log");
    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq(st_keyhist_add_root(h, st_signer_vkey(root), NULL), 0);
    return h;
}

static char *cert(st_signer *root, st_signer *key, int64_t nb, int64_t na)
{
    st_keynote *kn = kn_new(ST_KN_CERTIFICATE);
    kn->nkeys = 1;
    kn->keys[0].key = *st_signer_vkey(key);
    kn->keys[0].not_before = nb;
    kn->keys[0].not_after = na;
    char *n = sign_keynote(kn, &root, 1);
    free(kn);
    return n;
}

static char *rotation(st_signer *old, st_signer *new_, int64_t t)
{
    st_keynote *kn = kn_new(ST_KN_ROTATION);
    kn->nkeys = 2;
    kn->keys[0].key = *st_signer_vkey(old);
    kn->keys[1].key = *st_signer_vkey(new_);
    kn->time = t;
    st_signer *both[2] = { old, new_ };
    char *n = sign_keynote(kn, both, 2);
    free(kn);
    return n;
}

/* ---- known answers ---------------------------------------------------------------------------- */

START_TEST(test_kat_parse_verify_resign)
{
    static const struct { const char *file; st_keynote_type type; size_t nkeys; } kats[] = {
        { "kat-request.note", ST_KN_REQUEST, 1 },
        { "kat-certificate.note", ST_KN_CERTIFICATE, 1 },
        { "kat-certificate-other-origin.note", ST_KN_CERTIFICATE, 1 },
        { "kat-epochs-request.note", ST_KN_EPOCHS_REQUEST, 3 },
        { "kat-epochs.note", ST_KN_EPOCHS, 3 },
        { "kat-revocation.note", ST_KN_REVOCATION, 1 },
        { "kat-rotation.note", ST_KN_ROTATION, 2 },
    };
    st_signer *root = seed_signer(0x52, "example.com/root");
    st_signer *log1 = seed_signer(0x01, "example.com/log"), *log2 = seed_signer(0x02, "example.com/log");
    st_signer *ep[3];
    for (int i = 0; i < 3; i++) ep[i] = seed_signer((uint8_t)(0x10 + i), "example.com/log");
    for (size_t i = 0; i < sizeof kats / sizeof kats[0]; i++) {
        size_t len;
        char *txt = load_kat(kats[i].file, &len);
        st_keynote *kn = malloc(sizeof *kn);
        st_err e = { "" };
        ck_assert_msg(st_keynote_parse(kn, txt, len, &e) == 0, "%s: %s", kats[i].file, e.msg);
        ck_assert_int_eq(kn->type, kats[i].type);
        ck_assert_uint_eq(kn->nkeys, kats[i].nkeys);
        /* formatting the parse gives the signed text back */
        st_buf b = { 0 };
        st_keynote_format_text(&b, kn);
        ck_assert_uint_eq(b.len, kn->note.text_len);
        ck_assert(memcmp(b.data, kn->note.text, b.len) == 0);
        /* the signatures verify, by the party each type requires [KEYS-8] */
        st_signer *signers[3];
        size_t ns = 0;
        switch (kn->type) {
        case ST_KN_REQUEST:
            ck_assert_int_eq(st_keynote_verify_self(kn, &e), 0);
            signers[ns++] = log2;
            break;
        case ST_KN_EPOCHS_REQUEST:
            ck_assert_int_eq(st_keynote_verify_self(kn, &e), 0);
            for (int k = 0; k < 3; k++) signers[ns++] = ep[k];
            break;
        case ST_KN_ROTATION:
            ck_assert_int_eq(st_keynote_verify_self(kn, &e), 0);
            signers[ns++] = log1;
            signers[ns++] = log2;
            break;
        default:
            ck_assert_int_eq(st_keynote_verify_root(kn, st_signer_vkey(root), 1, NULL, &e), 0);
            signers[ns++] = root;
            break;
        }
        /* sealtrail's signer makes byte-identical notes from the same seeds (Ed25519 is deterministic) */
        st_buf_putc(&b, 0);
        char *again = sign_text((const char *)b.data, signers, ns);
        ck_assert_str_eq(again, txt);
        free(again);
        st_buf_free(&b);
        free(kn);
        free(txt);
    }
    st_signer_free(root);
    st_signer_free(log1);
    st_signer_free(log2);
    for (int i = 0; i < 3; i++) st_signer_free(ep[i]);
}
END_TEST

START_TEST(test_kinds)
{
    ck_assert_str_eq(st_keynote_kind(ST_KN_CERTIFICATE), "key-certificate");
    ck_assert_str_eq(st_keynote_kind(ST_KN_ROTATION), "key-rotation");
    ck_assert_str_eq(st_keynote_kind(ST_KN_REVOCATION), "key-revocation");
    ck_assert_str_eq(st_keynote_kind(ST_KN_EPOCHS), "key-epochs");
    ck_assert_int_eq(st_keynote_type_of_kind("key-epochs", 10), ST_KN_EPOCHS);
    ck_assert_int_eq(st_keynote_type_of_kind("key-request", 11), 0);   /* requests are not history */
    ck_assert_int_eq(st_keynote_type_of_kind("key-epoch", 9), 0);
    ck_assert_ptr_null(st_keynote_kind((st_keynote_type)99));
}
END_TEST

/* ---- structural negatives [KEYS-1..7] ------------------------------------------------------------- */

START_TEST(test_text_negatives)
{
    char vk[ST_VKEY_MAX];
    st_keynote *kn = kat_certified_key(vk);
    char other[ST_VKEY_MAX];
    st_signer *o = seed_signer(3, "example.org/other");
    st_signer_vkey_string(o, other);
    st_signer_free(o);

    struct { const char *desc; char text[2048]; } bad[32];
    size_t nb = 0;
#define BAD(d, ...) do { bad[nb].desc = d; snprintf(bad[nb].text, sizeof bad[nb].text, __VA_ARGS__); nb++; } while (0)
    const char *head = "sealtrail key-certificate v1\norigin example.com/log\n";
    BAD("wrong-version", "sealtrail key-certificate v2\norigin example.com/log\nkey %s\nnot-before 1\nnot-after 2\n", vk);
    BAD("checkpoint-text", "example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\ntime 1\n");
    BAD("missing-not-after", "%skey %s\nnot-before 1\n", head, vk);
    BAD("fields-swapped", "%skey %s\nnot-after 2\nnot-before 1\n", head, vk);
    BAD("extra-line", "%skey %s\nnot-before 1\nnot-after 2\nepoch 3\n", head, vk);
    BAD("trailing-space", "%skey %s\nnot-before 1 \nnot-after 2\n", head, vk);
    BAD("leading-zero-time", "%skey %s\nnot-before 01\nnot-after 2\n", head, vk);
    BAD("negative-time", "%skey %s\nnot-before -1\nnot-after 2\n", head, vk);
    BAD("time-past-9999", "%skey %s\nnot-before 1\nnot-after 253402300800\n", head, vk);
    BAD("empty-window", "%skey %s\nnot-before 5\nnot-after 5\n", head, vk);
    BAD("key-of-other-origin", "%skey %s\nnot-before 1\nnot-after 2\n", head, other);
    BAD("origin-with-space", "sealtrail key-certificate v1\norigin example.com/ log\nkey %s\nnot-before 1\nnot-after 2\n", vk);
    BAD("no-final-newline", "%skey %s\nnot-before 1\nnot-after 2", head, vk);
    BAD("crlf", "%skey %s\r\nnot-before 1\nnot-after 2\n", head, vk);
    BAD("blank-line", "%s\nkey %s\nnot-before 1\nnot-after 2\n", head, vk);
    BAD("key-not-canonical", "%skey %.*s\nnot-before 1\nnot-after 2\n", head, (int)strlen(vk) - 1, vk);
    BAD("rotation-to-self", "sealtrail key-rotation v1\norigin example.com/log\nold %s\nnew %s\ntime 3\n", vk, vk);
    BAD("revocation-empty-reason", "sealtrail key-revocation v1\norigin example.com/log\nkey %s\nafter 3\nreason \n", vk);
    BAD("epochs-none", "sealtrail key-epochs v1\norigin example.com/log\n");
    BAD("epochs-overlap", "sealtrail key-epochs v1\norigin example.com/log\nepoch 1 10 %s\nepoch 9 20 %s\n", vk, vk);
    BAD("epochs-reused-key", "sealtrail key-epochs v1\norigin example.com/log\nepoch 1 10 %s\nepoch 10 20 %s\n", vk, vk);
    BAD("epochs-missing-key", "sealtrail key-epochs v1\norigin example.com/log\nepoch 1 10\n");
#undef BAD
    for (size_t i = 0; i < nb; i++) {
        st_err e = { "" };
        int rc = st_keynote_text_parse(kn, bad[i].text, strlen(bad[i].text), &e);
        ck_assert_msg(rc == ST_EFORMAT, "%s: accepted (rc %d)", bad[i].desc, rc);
        ck_assert_msg(e.msg[0] != 0, "%s: no message", bad[i].desc);
    }
    /* a long reason (201 bytes) */
    char reason[260];
    memset(reason, 'x', 201);
    reason[201] = 0;
    char txt[1024];
    snprintf(txt, sizeof txt, "sealtrail key-revocation v1\norigin example.com/log\nkey %s\nafter 3\nreason %s\n", vk, reason);
    ck_assert_int_eq(st_keynote_text_parse(kn, txt, strlen(txt), NULL), ST_EFORMAT);
    reason[200] = 0;
    snprintf(txt, sizeof txt, "sealtrail key-revocation v1\norigin example.com/log\nkey %s\nafter 3\nreason %s\n", vk, reason);
    ck_assert_int_eq(st_keynote_text_parse(kn, txt, strlen(txt), NULL), 0);
    ck_assert_uint_eq(strlen(kn->reason), 200);

    /* 97 epochs: one over the limit [KEYS-5] */
    st_buf b = { 0 };
    st_buf_puts(&b, "sealtrail key-epochs v1\norigin example.com/log\n");
    for (int i = 0; i < 97; i++) {
        st_signer *s = seed_signer((uint8_t)(0x20 + i), "example.com/log");
        char v[ST_VKEY_MAX];
        st_signer_vkey_string(s, v);
        st_signer_free(s);
        st_buf_printf(&b, "epoch %d %d %s\n", i * 10, i * 10 + 10, v);
    }
    ck_assert_int_eq(st_keynote_text_parse(kn, (const char *)b.data, b.len, NULL), ST_EFORMAT);
    st_buf_free(&b);
    free(kn);
}
END_TEST

/* Messages quote the offending line or value, and only that: the text is
 * not NUL-terminated, so quoting "%.60s" of a line read past its LF into
 * whatever followed the text in memory (the next bundle record, or past
 * the end of the caller's buffer: the fuzzer's first ASan report). */
START_TEST(test_messages_quote_inside_the_text)
{
    char vk[ST_VKEY_MAX];
    st_keynote *kn = kat_certified_key(vk);
    static const char after[] = "AFTER-THE-TEXT";
    struct { const char *text, *quote; } cases[4];
    char rev[1024], cert[1024];
    snprintf(rev, sizeof rev, "sealtrail key-revocation v1\norigin example.com/log\nkey %s\nafter 12x\n", vk);
    snprintf(cert, sizeof cert, "sealtrail key-certificate v1\norigin example.com/log\nkey %s\nnot-before 1\nnot-after\n", vk);
    cases[0].text = "x\n", cases[0].quote = "line 1: \"x\" is not";
    cases[1].text = "sealtrail key-rotation v1\norigin example.com/log\nold\n", cases[1].quote = "found \"old\"";
    cases[2].text = rev, cases[2].quote = "\"12x\" is not unix seconds";
    cases[3].text = cert, cases[3].quote = "found \"not-after\"";
    for (size_t i = 0; i < 4; i++) {
        size_t n = strlen(cases[i].text);
        char *buf = malloc(n + sizeof after);
        memcpy(buf, cases[i].text, n);
        memcpy(buf + n, after, sizeof after);   /* what follows the text in memory */
        st_err e = { "" };
        ck_assert_int_eq(st_keynote_text_parse(kn, buf, n, &e), ST_EFORMAT);
        ck_assert_msg(strstr(e.msg, cases[i].quote) != NULL, "case %zu: %s", i, e.msg);
        ck_assert_msg(strstr(e.msg, after) == NULL && strchr(e.msg, '\n') == NULL, "case %zu: %s", i, e.msg);
        free(buf);
    }
    free(kn);
}
END_TEST

START_TEST(test_signature_checks)
{
    st_signer *root = seed_signer(0x52, "example.com/root"), *root2 = seed_signer(0x53, "example.com/root2");
    st_signer *log1 = seed_signer(0x01, "example.com/log"), *log2 = seed_signer(0x02, "example.com/log");
    st_keynote *kn = kn_new(ST_KN_REQUEST);
    kn->nkeys = 1;
    kn->keys[0].key = *st_signer_vkey(log2);
    kn->keys[0].not_before = T0;
    kn->keys[0].not_after = T0 + DAY;
    st_keynote *p = malloc(sizeof *p);
    st_err e = { "" };

    /* a request signed by another key than the one it names: no proof of possession */
    char *n = sign_keynote(kn, &log1, 1);
    ck_assert_int_eq(st_keynote_parse(p, n, strlen(n), &e), 0);
    ck_assert_int_eq(st_keynote_verify_self(p, &e), ST_EUNTRUSTED);
    ck_assert_msg(strstr(e.msg, "proof of possession") != NULL, "%s", e.msg);
    free(n);

    /* a request whose signature was altered */
    n = sign_keynote(kn, &log2, 1);
    char *sig = strrchr(n, ' ') + 10;
    *sig = *sig == 'A' ? 'B' : 'A';
    ck_assert_int_eq(st_keynote_parse(p, n, strlen(n), &e), 0);
    ck_assert_int_eq(st_keynote_verify_self(p, &e), ST_EBADSIG);
    free(n);

    /* a certificate by root2 checked against root: untrusted, names the signer */
    kn->type = ST_KN_CERTIFICATE;
    n = sign_keynote(kn, &root2, 1);
    ck_assert_int_eq(st_keynote_parse(p, n, strlen(n), &e), 0);
    ck_assert_int_eq(st_keynote_verify_root(p, st_signer_vkey(root), 1, NULL, &e), ST_EUNTRUSTED);
    ck_assert_msg(strstr(e.msg, "example.com/root2+") != NULL && strstr(e.msg, "not by a trusted root") != NULL, "%s", e.msg);
    const st_vkey roots[2] = { *st_signer_vkey(root), *st_signer_vkey(root2) };
    size_t which = 9;
    ck_assert_int_eq(st_keynote_verify_root(p, roots, 2, &which, &e), 0);
    ck_assert_uint_eq(which, 1);
    /* verify_self is for requests and rotations only, verify_root for root-signed types */
    ck_assert_int_eq(st_keynote_verify_self(p, &e), ST_EINVAL);
    free(n);
    n = rotation(log1, log2, T0);
    ck_assert_int_eq(st_keynote_parse(p, n, strlen(n), &e), 0);
    ck_assert_int_eq(st_keynote_verify_root(p, roots, 2, NULL, &e), ST_EINVAL);
    free(n);

    /* a rotation signed by the old key only */
    kn->type = ST_KN_ROTATION;
    kn->nkeys = 2;
    kn->keys[0].key = *st_signer_vkey(log1);
    kn->keys[1].key = *st_signer_vkey(log2);
    kn->time = T0;
    n = sign_keynote(kn, &log1, 1);
    ck_assert_int_eq(st_keynote_parse(p, n, strlen(n), &e), 0);
    ck_assert_int_eq(st_keynote_verify_self(p, &e), ST_EUNTRUSTED);
    ck_assert_msg(strstr(e.msg, "new key") != NULL, "%s", e.msg);
    /* ... which a history refuses as tamper evidence */
    st_keyhist *h = hist_with_root(root);
    ck_assert_int_eq(st_keyhist_add_note(h, 3, n, strlen(n), &e), ST_EBADSIG);
    st_keyhist_free(h);
    free(n);

    free(p);
    free(kn);
    st_signer_free(root);
    st_signer_free(root2);
    st_signer_free(log1);
    st_signer_free(log2);
}
END_TEST

/* ---- history rules [KEYS-9..13] ------------------------------------------------------------------ */

START_TEST(test_certificate_window)
{
    st_signer *root = seed_signer(0x52, "example.com/root"), *k = seed_signer(0x02, "example.com/log");
    st_keyhist *h = hist_with_root(root);
    char *c = cert(root, k, T0, T0 + 10 * DAY);
    add_ok(h, 0, c);
    char msg[512];
    char *cp = checkpoint(5, T0 + DAY, &k, 1);
    ck_assert_int_eq(verdict(h, cp, 0, msg), 0);
    free(cp);
    cp = checkpoint(5, T0 - 1, &k, 1);                          /* not yet valid */
    ck_assert_int_eq(verdict(h, cp, 0, msg), ST_EUNTRUSTED);
    ck_assert_msg(strstr(msg, "not yet valid: valid from 2025-11-21T00:00:00Z") != NULL, "%s", msg);
    free(cp);
    cp = checkpoint(5, T0 + 10 * DAY, &k, 1);                   /* not-after is exclusive: expired */
    ck_assert_int_eq(verdict(h, cp, 0, msg), ST_EUNTRUSTED);
    ck_assert_msg(strstr(msg, "expired at 2025-12-01T00:00:00Z") != NULL, "%s", msg);
    free(cp);
    cp = checkpoint(5, -1, &k, 1);                              /* no time line */
    ck_assert_int_eq(verdict(h, cp, 0, msg), ST_EUNTRUSTED);
    ck_assert_msg(strstr(msg, "no time") != NULL, "%s", msg);
    free(cp);
    /* a valid key whose signature was altered: tamper, not "untrusted" */
    cp = checkpoint(5, T0 + DAY, &k, 1);
    char *sig = strrchr(cp, ' ') + 12;
    *sig = *sig == 'A' ? 'B' : 'A';
    ck_assert_int_eq(verdict(h, cp, 0, msg), ST_EBADSIG);
    free(cp);
    /* keys_for */
    st_vkey out[4];
    size_t n = 9;
    ck_assert_int_eq(st_keyhist_keys_for(h, 5, T0 + DAY, 0, out, 4, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert(st_vkey_equal(&out[0], st_signer_vkey(k)));
    ck_assert_int_eq(st_keyhist_keys_for(h, 5, T0 + 11 * DAY, 0, out, 4, &n), 0);
    ck_assert_uint_eq(n, 0);
    st_keyhist_stats stt;
    st_keyhist_get_stats(h, &stt);
    ck_assert_uint_eq(stt.certificates, 1);
    ck_assert_uint_eq(stt.roots, 1);
    free(c);
    st_keyhist_free(h);
    st_signer_free(root);
    st_signer_free(k);
}
END_TEST

START_TEST(test_untrusted_root_and_other_origin)
{
    st_signer *root = seed_signer(0x52, "example.com/root"), *evil = seed_signer(0x66, "evil.example/root");
    st_signer *k = seed_signer(0x02, "example.com/log"), *o = seed_signer(0x03, "example.org/other");
    char msg[512];
    /* root mismatch: certified by a root the auditor does not trust */
    st_keyhist *h = hist_with_root(root);
    char *c = cert(evil, k, T0, T0 + DAY);
    add_ok(h, 0, c);                                  /* kept as rejected, with the reason */
    char *cp = checkpoint(5, T0 + 60, &k, 1);
    ck_assert_int_eq(verdict(h, cp, 0, msg), ST_EUNTRUSTED);
    ck_assert_msg(strstr(msg, "signed by evil.example/root+") != NULL && strstr(msg, "not a trusted root") != NULL, "%s", msg);
    st_keyhist_stats stt;
    st_keyhist_get_stats(h, &stt);
    ck_assert_uint_eq(stt.rejected, 1);
    ck_assert_uint_eq(stt.certificates, 0);
    free(cp);
    free(c);
    st_keyhist_free(h);

    /* a certificate for another origin, and a checkpoint signed with that key */
    h = hist_with_root(root);
    size_t len;
    char *kat = load_kat("kat-certificate-other-origin.note", &len);
    st_err e = { "" };
    ck_assert_int_eq(st_keyhist_add_note(h, 0, kat, len, &e), 0);
    st_hash r = { 0 };
    st_buf b = { 0 };
    ck_assert_int_eq(st_checkpoint_sign(&b, &o, 1, "example.com/log", 5, r, T0 + 60, &e), 0);
    cp = st_buf_steal_str(&b, NULL);
    ck_assert_int_eq(verdict(h, cp, 0, msg), ST_EUNTRUSTED);
    ck_assert_msg(strstr(msg, "is for origin example.org/other, not this log") != NULL, "%s", msg);
    free(cp);
    /* a key nobody certified */
    cp = checkpoint(5, T0 + 60, &k, 1);
    ck_assert_int_eq(verdict(h, cp, 0, msg), ST_EUNTRUSTED);
    ck_assert_msg(strstr(msg, "no certificate for it") != NULL, "%s", msg);
    free(cp);
    free(kat);
    st_keyhist_free(h);

    /* roots may not be named like the origin; pinned keys must be */
    h = st_keyhist_new("example.com/log");
    ck_assert_int_eq(st_keyhist_add_root(h, st_signer_vkey(k), &e), ST_EINVAL);
    ck_assert_int_eq(st_keyhist_add_pinned(h, st_signer_vkey(o), &e), ST_EINVAL);
    st_keyhist_free(h);
    ck_assert_ptr_null(st_keyhist_new("bad origin"));
    st_signer_free(root);
    st_signer_free(evil);
    st_signer_free(k);
    st_signer_free(o);
}
END_TEST

START_TEST(test_revocation)
{
    st_signer *root = seed_signer(0x52, "example.com/root"), *evil = seed_signer(0x66, "evil.example/root");
    st_signer *k = seed_signer(0x01, "example.com/log");
    st_keyhist *h = hist_with_root(root);
    char *c = cert(root, k, T0, T0 + 30 * DAY);
    add_ok(h, 0, c);
    size_t len;
    char *rev = load_kat("kat-revocation.note", &len);   /* key 0x01 compromised after T0 + 3600 */
    add_ok(h, 7, rev);
    char msg[512];
    char *before = checkpoint(5, T0 + 3600, &k, 1), *after = checkpoint(9, T0 + 3601, &k, 1);
    ck_assert_int_eq(verdict(h, before, 0, msg), 0);
    ck_assert_int_eq(verdict(h, after, 0, msg), ST_EUNTRUSTED);
    ck_assert_msg(strstr(msg, "revoked (entry 7) as compromised after 2025-11-21T01:00:00Z") != NULL, "%s", msg);
    /* the store's own "is it ours" check ignores revocations */
    ck_assert_int_eq(verdict(h, after, ST_KH_IGNORE_REVOCATIONS, msg), 0);
    st_keyhist_stats stt;
    st_keyhist_get_stats(h, &stt);
    ck_assert_uint_eq(stt.revocations, 1);
    st_keyhist_free(h);

    /* a revocation by an untrusted root has no effect (and is counted as rejected) */
    h = hist_with_root(evil);
    st_keyhist_free(h);
    h = st_keyhist_new("example.com/log");
    ck_assert_int_eq(st_keyhist_add_pinned(h, st_signer_vkey(k), NULL), 0);
    ck_assert_int_eq(st_keyhist_add_root(h, st_signer_vkey(evil), NULL), 0);
    add_ok(h, 7, rev);
    ck_assert_int_eq(verdict(h, after, 0, msg), 0);
    st_keyhist_get_stats(h, &stt);
    ck_assert_uint_eq(stt.rejected, 1);
    ck_assert_uint_eq(stt.revocations, 0);
    /* a revocation whose trusted-root signature was altered is tamper evidence */
    st_keyhist_free(h);
    h = hist_with_root(root);
    char *bad = strdup(rev);
    char *sig = strrchr(bad, ' ') + 12;
    *sig = *sig == 'A' ? 'B' : 'A';
    st_err e = { "" };
    ck_assert_int_eq(st_keyhist_add_note(h, 7, bad, strlen(bad), &e), ST_EBADSIG);
    ck_assert_msg(strstr(e.msg, "entry 7") != NULL, "%s", e.msg);
    free(bad);
    free(before);
    free(after);
    free(rev);
    free(c);
    st_keyhist_free(h);
    st_signer_free(root);
    st_signer_free(evil);
    st_signer_free(k);
}
END_TEST

START_TEST(test_rotation_root_mode)
{
    st_signer *root = seed_signer(0x52, "example.com/root");
    st_signer *k0 = seed_signer(0x01, "example.com/log"), *k1 = seed_signer(0x02, "example.com/log");
    st_keyhist *h = hist_with_root(root);
    char *c0 = cert(root, k0, T0, T0 + 30 * DAY), *c1 = cert(root, k1, T0, T0 + 30 * DAY);
    add_ok(h, 0, c0);
    add_ok(h, 4, c1);
    size_t len;
    char *rot = load_kat("kat-rotation.note", &len);      /* 0x01 -> 0x02 */
    add_ok(h, 10, rot);                                   /* handover checkpoint: size 11 */
    char msg[512];
    st_signer *both[2] = { k0, k1 };
    char *hand = checkpoint(11, T0 + 7200, both, 2), *old_ok = checkpoint(11, T0 + 7200, &k0, 1);
    char *old_late = checkpoint(12, T0 + 7200, &k0, 1), *new_late = checkpoint(12, T0 + 7300, &k1, 1);
    ck_assert_int_eq(verdict(h, hand, 0, msg), 0);
    ck_assert_int_eq(verdict(h, old_ok, 0, msg), 0);
    ck_assert_int_eq(verdict(h, old_late, 0, msg), ST_EUNTRUSTED);
    ck_assert_msg(strstr(msg, "retired by the rotation in entry 10: it signs no checkpoint beyond size 11") != NULL, "%s", msg);
    ck_assert_int_eq(verdict(h, new_late, 0, msg), 0);
    /* notes must come in log order */
    st_err e = { "" };
    ck_assert_int_eq(st_keyhist_add_note(h, 10, c1, strlen(c1), &e), ST_EINVAL);
    free(hand); free(old_ok); free(old_late); free(new_late);
    free(rot); free(c0); free(c1);
    st_keyhist_free(h);
    st_signer_free(root);
    st_signer_free(k0);
    st_signer_free(k1);
}
END_TEST

START_TEST(test_rotation_chain_simple_mode)
{
    st_signer *k[4], *evil = seed_signer(0x66, "example.com/log");
    for (int i = 0; i < 4; i++) k[i] = seed_signer((uint8_t)(0x01 + i), "example.com/log");
    st_keyhist *h = st_keyhist_new("example.com/log");
    ck_assert_int_eq(st_keyhist_add_pinned(h, st_signer_vkey(k[0]), NULL), 0);
    /* three rotations: k0 -> k1 at entry 5, k1 -> k2 at entry 9, k2 -> k3 at entry 20 */
    uint64_t at[3] = { 5, 9, 20 };
    for (int i = 0; i < 3; i++) {
        char *r = rotation(k[i], k[i + 1], T0 + i);
        add_ok(h, at[i], r);
        free(r);
    }
    char msg[512];
    struct { int key; uint64_t size; int want; const char *why; } cases[] = {
        { 0, 3, 0, NULL }, { 0, 6, 0, NULL }, { 0, 7, ST_EUNTRUSTED, "beyond size 6" },
        { 1, 5, ST_EUNTRUSTED, "only from size 6" }, { 1, 6, 0, NULL }, { 1, 10, 0, NULL }, { 1, 11, ST_EUNTRUSTED, "retired" },
        { 2, 10, 0, NULL }, { 2, 21, 0, NULL }, { 2, 22, ST_EUNTRUSTED, "retired" },
        { 3, 21, 0, NULL }, { 3, 1000, 0, NULL }, { 3, 20, ST_EUNTRUSTED, "only from size 21" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *cp = checkpoint(cases[i].size, T0 + 100, &k[cases[i].key], 1);
        int rc = verdict(h, cp, 0, msg);
        ck_assert_msg(rc == cases[i].want, "key %d size %llu: rc %d: %s", cases[i].key, (unsigned long long)cases[i].size, rc, msg);
        if (cases[i].why) ck_assert_msg(strstr(msg, cases[i].why) != NULL, "key %d: %s", cases[i].key, msg);
        free(cp);
    }
    /* a later rotation from the retired k0 (someone kept a copy) grants nothing */
    char *r = rotation(k[0], evil, T0 + 50);
    add_ok(h, 30, r);
    free(r);
    char *cp = checkpoint(40, T0 + 100, &evil, 1);
    ck_assert_int_eq(verdict(h, cp, 0, msg), ST_EUNTRUSTED);
    free(cp);
    st_keyhist_stats stt;
    st_keyhist_get_stats(h, &stt);
    ck_assert_uint_eq(stt.rotations, 4);
    ck_assert_uint_eq(stt.pinned, 1);
    st_keyhist_free(h);
    for (int i = 0; i < 4; i++) st_signer_free(k[i]);
    st_signer_free(evil);
}
END_TEST

START_TEST(test_epochs_forward_security)
{
    st_signer *root = seed_signer(0x52, "example.com/root");
    st_signer *ep[3];
    for (int i = 0; i < 3; i++) ep[i] = seed_signer((uint8_t)(0x10 + i), "example.com/log");
    st_keyhist *h = hist_with_root(root);
    size_t len;
    char *sched = load_kat("kat-epochs.note", &len);      /* epoch i: [T0 + i days, T0 + (i+1) days) */
    add_ok(h, 2, sched);
    char msg[512];
    for (int e = 0; e < 3; e++)
        for (int s = 0; s < 3; s++) {
            char *cp = checkpoint(10 + (uint64_t)e, T0 + e * DAY + 100, &ep[s], 1);
            int rc = verdict(h, cp, 0, msg);
            ck_assert_msg(rc == (e == s ? 0 : ST_EUNTRUSTED), "epoch %d signed by key %d: rc %d %s", e, s, rc, msg);
            if (s > e) ck_assert_msg(strstr(msg, "not yet valid") != NULL, "%s", msg);
            if (s < e) ck_assert_msg(strstr(msg, "expired") != NULL, "%s", msg);
            free(cp);
        }
    /* The thief of the current (day 2) key re-signs a day-0 checkpoint: detected. */
    char *genuine = checkpoint(10, T0 + 100, &ep[0], 1);
    char *resigned = checkpoint(10, T0 + 100, &ep[2], 1);
    ck_assert_int_eq(verdict(h, genuine, 0, msg), 0);
    ck_assert_int_eq(verdict(h, resigned, 0, msg), ST_EUNTRUSTED);
    ck_assert_msg(strstr(msg, "epoch certificate (entry 2) is not yet valid: valid from 2025-11-23T00:00:00Z") != NULL, "%s", msg);
    /* exactly one key may sign at any time of the schedule */
    st_vkey out[4];
    size_t n;
    ck_assert_int_eq(st_keyhist_keys_for(h, 10, T0 + DAY, 0, out, 4, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert(st_vkey_equal(&out[0], st_signer_vkey(ep[1])));
    ck_assert_int_eq(st_keyhist_keys_for(h, 10, T0 + 3 * DAY, 0, out, 4, &n), 0);
    ck_assert_uint_eq(n, 0);
    st_keyhist_stats stt;
    st_keyhist_get_stats(h, &stt);
    ck_assert_uint_eq(stt.epoch_schedules, 1);
    ck_assert_uint_eq(stt.epoch_keys, 3);
    /* requests are not history */
    char *req = load_kat("kat-epochs-request.note", &len);
    st_err e = { "" };
    ck_assert_int_eq(st_keyhist_add_note(h, 3, req, len, &e), ST_EINVAL);
    free(req);
    free(genuine);
    free(resigned);
    free(sched);
    st_keyhist_free(h);
    st_signer_free(root);
    for (int i = 0; i < 3; i++) st_signer_free(ep[i]);
}
END_TEST

START_TEST(test_many_epochs_index)
{
    /* 40 schedules of 96 one-hour epochs: lookups stay exact through the sorted index */
    st_signer *root = seed_signer(0x52, "example.com/root");
    st_keyhist *h = hist_with_root(root);
    st_keynote *kn = kn_new(ST_KN_EPOCHS);
    st_signer *probe = NULL;
    int64_t probe_t = 0;
    for (int s = 0; s < 40; s++) {
        kn->nkeys = 96;
        for (int i = 0; i < 96; i++) {
            unsigned char pk[32], sk[64], seed[32] = { 0 };
            seed[0] = (unsigned char)s;
            seed[1] = (unsigned char)i;
            seed[2] = 0x77;
            crypto_sign_seed_keypair(pk, sk, seed);
            st_vkey *v = &kn->keys[i].key;
            snprintf(v->name, sizeof v->name, "example.com/log");
            memcpy(v->pub, pk, 32);
            v->key_id = st_key_id(v->name, strlen(v->name), pk);
            kn->keys[i].not_before = T0 + (s * 96 + i) * 3600LL;
            kn->keys[i].not_after = kn->keys[i].not_before + 3600;
            if (s == 33 && i == 57) {
                char b64[64], line[256];
                unsigned char s33[33] = { 1 };
                memcpy(s33 + 1, seed, 32);
                st_b64_encode(b64, s33, 33);
                snprintf(line, sizeof line, "PRIVATE+KEY+example.com/log+%08x+%s", (unsigned)v->key_id, b64);
                ck_assert_int_eq(st_signer_from_string(&probe, line, strlen(line), NULL), 0);
                probe_t = kn->keys[i].not_before + 1800;
            }
        }
        char *n = sign_keynote(kn, &root, 1);
        add_ok(h, (uint64_t)s, n);
        free(n);
    }
    char msg[512];
    char *cp = checkpoint(99, probe_t, &probe, 1);
    ck_assert_int_eq(verdict(h, cp, 0, msg), 0);
    free(cp);
    cp = checkpoint(99, probe_t + 3600, &probe, 1);
    ck_assert_int_eq(verdict(h, cp, 0, msg), ST_EUNTRUSTED);
    ck_assert_msg(strstr(msg, "expired") != NULL, "%s", msg);
    free(cp);
    st_keyhist_stats stt;
    st_keyhist_get_stats(h, &stt);
    ck_assert_uint_eq(stt.epoch_keys, 40 * 96);
    free(kn);
    st_signer_free(probe);
    st_signer_free(root);
    st_keyhist_free(h);
}
END_TEST

START_TEST(test_pinned_and_certified_together)
{
    /* The auditor pins the store's first key and trusts the root: history from
     * before the root (signed by the pinned key) and after (certified) both verify. */
    st_signer *root = seed_signer(0x52, "example.com/root");
    st_signer *k0 = seed_signer(0x01, "example.com/log"), *k1 = seed_signer(0x02, "example.com/log");
    st_keyhist *h = hist_with_root(root);
    ck_assert_int_eq(st_keyhist_add_pinned(h, st_signer_vkey(k0), NULL), 0);
    char *c1 = cert(root, k1, T0, T0 + DAY);
    add_ok(h, 50, c1);
    char *r = rotation(k0, k1, T0 + 10);
    add_ok(h, 60, r);
    char msg[512];
    char *a = checkpoint(20, T0 - 5 * DAY, &k0, 1), *b = checkpoint(70, T0 + 100, &k1, 1), *c = checkpoint(70, T0 + 100, &k0, 1);
    ck_assert_int_eq(verdict(h, a, 0, msg), 0);
    ck_assert_int_eq(verdict(h, b, 0, msg), 0);
    ck_assert_int_eq(verdict(h, c, 0, msg), ST_EUNTRUSTED);
    st_vkey out[4];
    size_t n;
    ck_assert_int_eq(st_keyhist_keys_for(h, 61, T0 + 100, 0, out, 4, &n), 0);
    ck_assert_uint_eq(n, 2);                      /* k1 (chained and certified, listed once), k0 (handover) */
    free(a); free(b); free(c); free(c1); free(r);
    st_keyhist_free(h);
    st_signer_free(root);
    st_signer_free(k0);
    st_signer_free(k1);
}
END_TEST

START_TEST(test_out_of_band_notes)
{
    /* A revocation the auditor got from the security team, beside the bundle. */
    st_signer *root = seed_signer(0x52, "example.com/root"), *k = seed_signer(0x01, "example.com/log");
    st_keyhist *h = hist_with_root(root);
    char *c = cert(root, k, T0, T0 + 30 * DAY);
    add_ok(h, 40, c);
    size_t len;
    char *rev = load_kat("kat-revocation.note", &len);
    st_err e = { "" };
    ck_assert_int_eq(st_keyhist_add_note(h, ST_KH_OUT_OF_BAND, rev, len, &e), 0);
    char *late = checkpoint(50, T0 + 4000, &k, 1), msg[512];
    ck_assert_int_eq(verdict(h, late, 0, msg), ST_EUNTRUSTED);
    ck_assert_msg(strstr(msg, "revoked (a note given out of band)") != NULL, "%s", msg);
    /* indexed notes may still follow (the order applies to them only) */
    st_signer *k2 = seed_signer(0x02, "example.com/log");
    char *c2 = cert(root, k2, T0, T0 + DAY), *rot = rotation(k, k2, T0);
    add_ok(h, 41, c2);
    ck_assert_int_eq(st_keyhist_add_note(h, ST_KH_OUT_OF_BAND, rot, strlen(rot), &e), ST_EINVAL);
    ck_assert_msg(strstr(e.msg, "out of band") != NULL, "%s", e.msg);
    free(rot); free(c2); free(late); free(rev); free(c);
    st_keyhist_free(h);
    st_signer_free(root);
    st_signer_free(k);
    st_signer_free(k2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("keyhist");
    TCase *tc = tcase_create("keyhist");
    tcase_add_test(tc, test_kat_parse_verify_resign);
    tcase_add_test(tc, test_kinds);
    tcase_add_test(tc, test_text_negatives);
    tcase_add_test(tc, test_messages_quote_inside_the_text);
    tcase_add_test(tc, test_signature_checks);
    tcase_add_test(tc, test_certificate_window);
    tcase_add_test(tc, test_untrusted_root_and_other_origin);
    tcase_add_test(tc, test_revocation);
    tcase_add_test(tc, test_rotation_root_mode);
    tcase_add_test(tc, test_rotation_chain_simple_mode);
    tcase_add_test(tc, test_epochs_forward_security);
    tcase_add_test(tc, test_many_epochs_index);
    tcase_add_test(tc, test_pinned_and_certified_together);
    tcase_add_test(tc, test_out_of_band_notes);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
