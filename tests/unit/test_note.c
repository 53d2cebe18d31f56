/*
 * test_note.c: C2SP signed notes and verifier keys [CP-3..5] against every
 * case of shared/vectors-upstream/signed-note-vectors.json (keys, notes with
 * their expected verdicts, exact signing outputs, bad vkeys, structural
 * examples), plus hand-written edge cases of the note grammar and of the
 * verification rules. Upstream cases are skipped with a message when shared/
 * is absent. Checkpoint bodies are tested in test_checkpoint.c.
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

/* note_hex -> malloc'd bytes */
static char *unhex(const char *hex, size_t *len)
{
    size_t hl = strlen(hex);
    char *b = malloc(hl / 2 + 1);
    ck_assert_int_eq(st_hex_decode((uint8_t *)b, hl / 2, hex, hl), 0);
    b[hl / 2] = 0;
    *len = hl / 2;
    return b;
}

static void vkey_must_parse(st_vkey *k, const char *s)
{
    st_err e = { "" };
    ck_assert_msg(st_vkey_parse(k, s, strlen(s), &e) == 0, "%s: %s", s, e.msg);
}

/* Verdict of the whole pipeline, in the vectors' words. */
static const char *verdict(const char *note, size_t len, const st_vkey *keys, size_t nk, st_note *out, int *ver)
{
    st_err e = { "" };
    if (st_note_parse(out, note, len, &e) != 0) return "malformed";
    int rc = st_note_verify(out, keys, nk, ver, &e);
    if (rc == 0) return "ok";
    if (rc == ST_EBADSIG) return "invalid-signature";
    if (rc == ST_EUNTRUSTED) return "no-known-signature";
    return "other";
}

static int sig_is_known(const st_note_sig *sg, const st_vkey *keys, size_t nk)
{
    for (size_t k = 0; k < nk; k++)
        if (keys[k].key_id == sg->key_id && strlen(keys[k].name) == sg->name_len &&
            memcmp(keys[k].name, sg->name, sg->name_len) == 0)
            return 1;
    return 0;
}

/* ---- keys ------------------------------------------------------------------------- */

START_TEST(test_vector_keys)
{
    cJSON *j = tu_load_shared_json("vectors-upstream/signed-note-vectors.json");
    if (!j) return;
    cJSON *k;
    int n = 0;
    cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(j, "keys")) {
        const char *vk = tu_jstr(k, "vkey"), *name = tu_jstr(k, "name");
        st_vkey key;
        vkey_must_parse(&key, vk);
        ck_assert_str_eq(key.name, name);
        char idhex[9], pubhex[65], back[ST_VKEY_MAX];
        snprintf(idhex, sizeof idhex, "%08x", (unsigned)key.key_id);
        ck_assert_str_eq(idhex, tu_jstr(k, "key_id_hex"));
        st_hex_encode(pubhex, key.pub, 32);
        ck_assert_str_eq(pubhex, tu_jstr(k, "public_key_hex"));
        ck_assert_uint_eq(st_key_id(name, strlen(name), key.pub), key.key_id);
        st_vkey_format(back, &key);
        ck_assert_str_eq(back, vk);
        /* Where the secret key is published, it derives the same public key. */
        const char *sk = tu_jstr(k, "skey");
        if (sk) {
            st_signer *s;
            st_err e = { "" };
            ck_assert_msg(st_signer_from_string(&s, sk, strlen(sk), &e) == 0, "%s", e.msg);
            st_signer_vkey_string(s, back);
            ck_assert_str_eq(back, vk);
            st_signer_free(s);
        }
        n++;
    }
    ck_assert_int_eq(n, 13);
    cJSON_Delete(j);
}
END_TEST

START_TEST(test_bad_vkeys)
{
    cJSON *j = tu_load_shared_json("vectors-upstream/signed-note-vectors.json");
    if (j) {
        cJSON *b;
        int n = 0;
        cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(j, "bad_vkeys")) {
            st_vkey k;
            const char *s = tu_jstr(b, "vkey");
            ck_assert_msg(st_vkey_parse(&k, s, strlen(s), NULL) == ST_EBADKEY, "accepted %s", s);
            n++;
        }
        ck_assert_int_eq(n, 3);
        cJSON_Delete(j);
    }
    /* Hand-made defects of the C2SP example key. */
    static const char *bad[] = {
        "",
        "example.com/foo",
        "example.com/foo+530d903a",
        "example.com/foo+530d903a+",
        "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",   /* uppercase ID */
        "example.com/foo+530d903+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",    /* 7 hex digits */
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k\n", /* trailing LF */
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2l",   /* unused bits */
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2",    /* unpadded */
        "example.com foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",   /* space in name */
        "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",                  /* empty name */
        "example.com/fop+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",   /* ID of another name */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        st_vkey k;
        ck_assert_msg(st_vkey_parse(&k, bad[i], strlen(bad[i]), NULL) == ST_EBADKEY, "accepted [%s]", bad[i]);
    }
    st_vkey k;
    vkey_must_parse(&k, "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k");
}
END_TEST

START_TEST(test_key_names)
{
    ck_assert(st_key_name_valid("example.com/log", 15));
    ck_assert(st_key_name_valid("\xC3\xA9t\xC3\xA9", 5));          /* été */
    ck_assert(!st_key_name_valid("", 0));
    ck_assert(!st_key_name_valid("a b", 3));
    ck_assert(!st_key_name_valid("a+b", 3));
    ck_assert(!st_key_name_valid("a\tb", 3));
    ck_assert(!st_key_name_valid("a\x01" "b", 3));
    ck_assert(!st_key_name_valid("a\xC2\xA0" "b", 4));            /* NBSP */
    ck_assert(!st_key_name_valid("a\xC2\x85" "b", 4));            /* NEL */
    ck_assert(!st_key_name_valid("a\xE2\x80\x83" "b", 5));        /* EM SPACE */
    ck_assert(!st_key_name_valid("a\xE3\x80\x80" "b", 5));        /* IDEOGRAPHIC SPACE */
    ck_assert(!st_key_name_valid("a\xFF" "b", 3));                /* invalid UTF-8 */
    char longname[300];
    memset(longname, 'a', sizeof longname);
    ck_assert(st_key_name_valid(longname, 255));
    ck_assert(!st_key_name_valid(longname, 256));
}
END_TEST

/* ---- notes -------------------------------------------------------------------------- */

static size_t load_vkeys(st_vkey *keys, const cJSON *arr)
{
    size_t n = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, arr) vkey_must_parse(&keys[n++], v->valuestring);
    return n;
}

START_TEST(test_vector_notes)
{
    cJSON *j = tu_load_shared_json("vectors-upstream/signed-note-vectors.json");
    if (!j) return;
    cJSON *c;
    int n = 0;
    st_note *note = malloc(sizeof *note);
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "notes")) {
        const char *id = tu_jstr(c, "id"), *expect = tu_jstr(c, "expect");
        st_vkey keys[8];
        size_t nk = load_vkeys(keys, cJSON_GetObjectItemCaseSensitive(c, "vkeys"));
        size_t len;
        char *bytes = unhex(tu_jstr(c, "note_hex"), &len);
        int ver[8];
        const char *got = verdict(bytes, len, keys, nk, note, ver);
        const char *want = strcmp(expect, "ok") == 0 ? "ok" : tu_jstr(c, "reject_kind");
        ck_assert_msg(strcmp(got, want) == 0, "%s: want %s, got %s", id, want, got);
        if (strcmp(want, "ok") == 0) {
            const char *text = tu_jstr(c, "text");
            ck_assert_uint_eq(note->text_len, strlen(text));
            ck_assert(memcmp(note->text, text, note->text_len) == 0);
            /* verified / unverified: name+keyid in line order */
            const cJSON *vl = cJSON_GetObjectItemCaseSensitive(c, "verified");
            const cJSON *ul = cJSON_GetObjectItemCaseSensitive(c, "unverified");
            int vi = 0, ui = 0;
            for (size_t i = 0; i < note->nsigs; i++) {
                char nk_id[ST_KEY_NAME_MAX + 16];
                snprintf(nk_id, sizeof nk_id, "%.*s+%08x", (int)note->sigs[i].name_len, note->sigs[i].name,
                         (unsigned)note->sigs[i].key_id);
                if (sig_is_known(&note->sigs[i], keys, nk))
                    ck_assert_str_eq(nk_id, cJSON_GetArrayItem(vl, vi++)->valuestring);
                else
                    ck_assert_str_eq(nk_id, cJSON_GetArrayItem(ul, ui++)->valuestring);
            }
            ck_assert_int_eq(vi, cJSON_GetArraySize(vl));
            ck_assert_int_eq(ui, ul ? cJSON_GetArraySize(ul) : 0);
            for (size_t k = 0; k < nk; k++) ck_assert_int_eq(ver[k], 1);
        }
        free(bytes);
        n++;
    }
    free(note);
    ck_assert_int_eq(n, 18);
    cJSON_Delete(j);
}
END_TEST

START_TEST(test_vector_sign)
{
    cJSON *j = tu_load_shared_json("vectors-upstream/signed-note-vectors.json");
    if (!j) return;
    cJSON *c;
    int n = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "sign")) {
        st_signer *signers[4];
        size_t ns = 0;
        cJSON *sk;
        cJSON_ArrayForEach(sk, cJSON_GetObjectItemCaseSensitive(c, "skeys")) {
            st_err e = { "" };
            ck_assert_msg(st_signer_from_string(&signers[ns], sk->valuestring, strlen(sk->valuestring), &e) == 0,
                          "%s", e.msg);
            ns++;
        }
        const char *text = tu_jstr(c, "text"), *want = tu_jstr(c, "expected_note");
        st_buf out = { 0 };
        st_err e = { "" };
        ck_assert_msg(st_note_sign(&out, text, strlen(text), signers, ns, &e) == 0, "%s", e.msg);
        ck_assert_uint_eq(out.len, strlen(want));
        ck_assert_msg(memcmp(out.data, want, out.len) == 0, "%s: signed note differs", tu_jstr(c, "id"));
        st_buf_free(&out);
        for (size_t i = 0; i < ns; i++) st_signer_free(signers[i]);
        n++;
    }
    ck_assert_int_eq(n, 2);
    cJSON_Delete(j);
}
END_TEST

START_TEST(test_structural_only)
{
    cJSON *j = tu_load_shared_json("vectors-upstream/signed-note-vectors.json");
    if (!j) return;
    cJSON *c;
    int n = 0;
    st_note *note = malloc(sizeof *note);
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "structural_only")) {
        if (!tu_jstr(c, "note_hex")) continue;   /* the cosignature message bytes */
        size_t len;
        char *bytes = unhex(tu_jstr(c, "note_hex"), &len);
        st_err e = { "" };
        ck_assert_msg(st_note_parse(note, bytes, len, &e) == 0, "%s: %s", tu_jstr(c, "id"), e.msg);
        const char *text = tu_jstr(c, "text");
        ck_assert_uint_eq(note->text_len, strlen(text));
        ck_assert(memcmp(note->text, text, note->text_len) == 0);
        cJSON *lines = cJSON_GetObjectItemCaseSensitive(c, "signature_lines");
        ck_assert_uint_eq(note->nsigs, (size_t)cJSON_GetArraySize(lines));
        for (size_t i = 0; i < note->nsigs; i++) {
            cJSON *l = cJSON_GetArrayItem(lines, (int)i);
            const char *kn = tu_jstr(l, "key_name");
            char idhex[9];
            snprintf(idhex, sizeof idhex, "%08x", (unsigned)note->sigs[i].key_id);
            ck_assert_uint_eq(note->sigs[i].name_len, strlen(kn));
            ck_assert(memcmp(note->sigs[i].name, kn, strlen(kn)) == 0);
            ck_assert_str_eq(idhex, tu_jstr(l, "key_id_hex"));
            int sl = cJSON_GetObjectItemCaseSensitive(l, "signature_len")->valueint;
            ck_assert_int_eq(note->sigs[i].sig_len_ok, sl == 64);
        }
        /* No key is known: verification finds no trusted signature. */
        ck_assert_int_eq(st_note_verify(note, NULL, 0, NULL, NULL), ST_EUNTRUSTED);
        if (strstr(tu_jstr(c, "id"), "checkpoint") || strstr(tu_jstr(c, "id"), "cosignature")) {
            st_checkpoint cp;
            ck_assert_int_eq(st_checkpoint_parse(&cp, note->text, note->text_len, &e), 0);
            ck_assert_str_eq(cp.origin, "example.com/behind-the-sofa");
            ck_assert_uint_eq(cp.size, 20852163u);
            ck_assert_int_eq(cp.time_s, -1);
        }
        free(bytes);
        n++;
    }
    free(note);
    ck_assert_int_eq(n, 3);
    cJSON_Delete(j);
}
END_TEST

/* ---- hand-written edge cases -------------------------------------------------------- */

static const char *PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char *PETER_TEXT = "If you think cryptography is the answer to your problem,\n"
                                "then you don't know what your problem is.\n";
static const char *PETER_SIG = "\xE2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

static const char *note_verdict(const char *s, size_t len)
{
    st_vkey k;
    vkey_must_parse(&k, PETER_VKEY);
    st_note *n = malloc(sizeof *n);
    const char *v = verdict(s, len, &k, 1, n, NULL);
    free(n);
    return v;
}

static const char *build_verdict(const char *text, const char *sigs)
{
    st_buf b = { 0 };
    st_buf_puts(&b, text);
    st_buf_puts(&b, "\n");
    st_buf_puts(&b, sigs);
    const char *v = note_verdict((const char *)b.data, b.len);
    st_buf_free(&b);
    return v;
}

START_TEST(test_note_edges)
{
    ck_assert_str_eq(build_verdict(PETER_TEXT, PETER_SIG), "ok");
    /* Unknown key lines around a valid one are ignored; lines in any order. */
    const char *unknown = "\xE2\x80\x94 someone AAAAAAAAAA==\n";
    st_buf s = { 0 };
    st_buf_puts(&s, unknown);
    st_buf_puts(&s, PETER_SIG);
    st_buf_puts(&s, unknown);   /* exact duplicate: dropped */
    st_buf_putc(&s, 0);
    ck_assert_str_eq(build_verdict(PETER_TEXT, (const char *)s.data), "ok");
    st_buf_free(&s);
    /* Exactly 100 lines pass, 101 do not. */
    st_buf many = { 0 };
    for (int i = 0; i < 99; i++) st_buf_printf(&many, "\xE2\x80\x94 k%d AAAAAAAAAA==\n", i);
    st_buf_puts(&many, PETER_SIG);
    st_buf_putc(&many, 0);
    ck_assert_str_eq(build_verdict(PETER_TEXT, (const char *)many.data), "ok");
    many.len--;
    st_buf_puts(&many, unknown);
    st_buf_putc(&many, 0);
    ck_assert_str_eq(build_verdict(PETER_TEXT, (const char *)many.data), "malformed");
    st_buf_free(&many);

    /* Malformed encodings. */
    ck_assert_str_eq(build_verdict(PETER_TEXT, "\xE2\x80\x94 PeterNeumann\n"), "malformed");
    ck_assert_str_eq(build_verdict(PETER_TEXT, "\xE2\x80\x94 someone AAAA\n"), "malformed");         /* < 5 bytes */
    ck_assert_str_eq(build_verdict(PETER_TEXT, "\xE2\x80\x94 someone AAAAAAAAAB==\n"), "malformed"); /* unused bits */
    ck_assert_str_eq(build_verdict(PETER_TEXT, "\xE2\x80\x94 someone AAAAAAAAAA\n"), "malformed");   /* no padding */
    ck_assert_str_eq(build_verdict(PETER_TEXT, "- someone AAAAAAAAAA==\n"), "malformed");            /* ASCII dash */
    ck_assert_str_eq(build_verdict(PETER_TEXT, "\xE2\x80\x94someone AAAAAAAAAA==\n"), "malformed");
    ck_assert_str_eq(build_verdict(PETER_TEXT, "\xE2\x80\x94 some\xC2\xA0one AAAAAAAAAA==\n"), "malformed");
    ck_assert_str_eq(build_verdict(PETER_TEXT, "\xE2\x80\x94 so+me AAAAAAAAAA==\n"), "malformed");
    ck_assert_str_eq(build_verdict("text\r\n", PETER_SIG), "malformed");                             /* CR */
    ck_assert_str_eq(build_verdict("te\txt\n", PETER_SIG), "malformed");                             /* TAB */
    ck_assert_str_eq(note_verdict("", 0), "malformed");
    ck_assert_str_eq(note_verdict("\n\n", 2), "malformed");
    /* Text with internal blank lines: the split is at the last blank line. */
    ck_assert_str_eq(build_verdict("a\n\nb\n", PETER_SIG), "invalid-signature");

    /* A known key with a 72-byte payload (cosignature shape) is a bad signature. */
    uint8_t cosig[4 + 8 + 64] = { 0xc7, 0x4f, 0x20, 0xa3 };
    char line[256] = "\xE2\x80\x94 PeterNeumann ";
    st_b64_encode(line + strlen(line), cosig, sizeof cosig);
    strcat(line, "\n");
    ck_assert_str_eq(build_verdict(PETER_TEXT, line), "invalid-signature");
    /* A second, different line from a known key is not ignored (x/mod would skip it). */
    st_buf two = { 0 };
    st_buf_puts(&two, PETER_SIG);
    st_buf_puts(&two, "\xE2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAA=\n");
    st_buf_putc(&two, 0);
    ck_assert_str_eq(build_verdict(PETER_TEXT, (const char *)two.data), "invalid-signature");
    st_buf_free(&two);

    /* Over 1 MiB. */
    size_t big = ST_NOTE_MAX + 1;
    char *b = malloc(big);
    memset(b, 'a', big);
    ck_assert_str_eq(note_verdict(b, big), "malformed");
    free(b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("note");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_vector_keys);
    tcase_add_test(tc, test_bad_vkeys);
    tcase_add_test(tc, test_key_names);
    tcase_add_test(tc, test_vector_notes);
    tcase_add_test(tc, test_vector_sign);
    tcase_add_test(tc, test_structural_only);
    tcase_add_test(tc, test_note_edges);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
