/*
 * test_sign.c: signing keys and signing (store/sign.h): key files created
 * 0600 with O_EXCL [KEY-1], loading refuses open permissions (with the
 * OpenSSH-style message), symlinks, and truncated or garbled files; sign ->
 * verify round trips through the verifier code; and byte-exact signatures
 * with the x/mod PeterNeumann key loaded from a 0600 file.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "note.h"
#include "sign.h"
#include "testutil.h"
#include "util.h"

static char *dir;

static void setup(void)
{
    dir = tu_tmpdir();
    ck_assert_ptr_nonnull(dir);
    ck_assert_int_eq(chdir(dir), 0);   /* each test runs in its own forked process */
}

static void teardown(void)
{
    tu_rmrf(dir);
    free(dir);
}

static void write_file(const char *path, const char *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
    ck_assert_int_eq(chmod(path, mode), 0);
}

static int load_rc(const char *path, st_err *e)
{
    st_signer *s = NULL;
    int rc = st_signer_load(&s, path, e);
    if (rc == 0) ck_assert_ptr_nonnull(s);
    else ck_assert_ptr_null(s);
    st_signer_free(s);
    return rc;
}

/* ---- key files ------------------------------------------------------------------------ */

START_TEST(test_generate_file)
{
    umask(0277);   /* would make 0400: the file must still come out 0600 */
    st_signer *s = NULL;
    st_err e = { "" };
    ck_assert_msg(st_signer_generate(&s, "log.key", "sealtrail.local/test", &e) == 0, "%s", e.msg);
    umask(022);
    struct stat sb;
    ck_assert_int_eq(lstat("log.key", &sb), 0);
    ck_assert(S_ISREG(sb.st_mode));
    ck_assert_uint_eq(sb.st_mode & 07777, 0600);

    size_t len;
    char *txt = tu_read_file("log.key", &len);
    ck_assert_ptr_nonnull(txt);
    char vk[ST_VKEY_MAX], prefix[128];
    st_signer_vkey_string(s, vk);
    const st_vkey *pub = st_signer_vkey(s);
    snprintf(prefix, sizeof prefix, "PRIVATE+KEY+sealtrail.local/test+%08x+", (unsigned)pub->key_id);
    ck_assert_uint_eq(len, strlen(prefix) + 44 + 1);
    ck_assert(strncmp(txt, prefix, strlen(prefix)) == 0);
    ck_assert_int_eq(txt[strlen(prefix)], 'A');        /* 0x01 type byte: b64 starts with 'A' */
    ck_assert_int_eq(txt[len - 1], '\n');

    /* The vkey parses, and reloading the file gives the same key. */
    st_vkey parsed;
    ck_assert_int_eq(st_vkey_parse(&parsed, vk, strlen(vk), NULL), 0);
    st_signer *again = NULL;
    ck_assert_msg(st_signer_load(&again, "log.key", &e) == 0, "%s", e.msg);
    char vk2[ST_VKEY_MAX];
    st_signer_vkey_string(again, vk2);
    ck_assert_str_eq(vk, vk2);
    st_signer_free(again);

    /* O_EXCL: a second create fails and leaves the first key alone. */
    st_signer *t = (st_signer *)1;
    ck_assert_int_eq(st_signer_generate(&t, "log.key", "sealtrail.local/test", &e), ST_EEXIST);
    ck_assert_ptr_null(t);
    ck_assert_ptr_nonnull(strstr(e.msg, "already exists"));
    size_t len2;
    char *txt2 = tu_read_file("log.key", &len2);
    ck_assert_uint_eq(len, len2);
    ck_assert(memcmp(txt, txt2, len) == 0);
    free(txt);
    free(txt2);
    st_signer_free(s);

    /* Without an out pointer the file is still written. */
    ck_assert_int_eq(st_signer_generate(NULL, "other.key", "o", &e), 0);
    ck_assert_int_eq(load_rc("other.key", &e), 0);
}
END_TEST

START_TEST(test_generate_refusals)
{
    st_err e = { "" };
    /* A dangling symlink: O_EXCL|O_NOFOLLOW must not create its target. */
    ck_assert_int_eq(symlink("target.key", "link.key"), 0);
    ck_assert_int_eq(st_signer_generate(NULL, "link.key", "n", &e), ST_EEXIST);
    ck_assert_int_eq(access("target.key", F_OK), -1);
    /* Bad names; nothing is written. */
    ck_assert_int_eq(st_signer_generate(NULL, "a.key", "has space", &e), ST_EBADKEY);
    ck_assert_int_eq(st_signer_generate(NULL, "a.key", "has+plus", &e), ST_EBADKEY);
    ck_assert_int_eq(st_signer_generate(NULL, "a.key", "", &e), ST_EBADKEY);
    ck_assert_int_eq(access("a.key", F_OK), -1);
    /* A missing directory is an errno. */
    ck_assert_int_eq(st_signer_generate(NULL, "no/such/dir.key", "n", &e), ENOENT);
}
END_TEST

START_TEST(test_load_permissions)
{
    st_err e = { "" };
    ck_assert_int_eq(st_signer_generate(NULL, "log.key", "n", &e), 0);
    static const mode_t bad[] = { 0644, 0640, 0604, 0660, 0600 | 0001, 0600 | 0020, 0666, 0700 | 0070 };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(chmod("log.key", bad[i]), 0);
        ck_assert_int_eq(load_rc("log.key", &e), ST_EKEYPERM);
        char want[256];
        snprintf(want, sizeof want,
                 "log.key: permissions %04o are too open; the key must be readable by its owner only (chmod 600 log.key)",
                 (unsigned)bad[i]);
        ck_assert_str_eq(e.msg, want);
    }
    static const mode_t good[] = { 0600, 0400, 0700 };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        ck_assert_int_eq(chmod("log.key", good[i]), 0);
        ck_assert_msg(load_rc("log.key", &e) == 0, "mode %04o: %s", (unsigned)good[i], e.msg);
    }
}
END_TEST

START_TEST(test_load_refusals)
{
    st_err e = { "" };
    ck_assert_int_eq(st_signer_generate(NULL, "log.key", "n", &e), 0);
    /* A symlink to a good key is refused. */
    ck_assert_int_eq(symlink("log.key", "link.key"), 0);
    ck_assert_int_eq(load_rc("link.key", &e), ELOOP);
    ck_assert_ptr_nonnull(strstr(e.msg, "symbolic link"));
    /* Missing, a directory. */
    ck_assert_int_eq(load_rc("absent.key", &e), ST_ENOKEY);
    ck_assert_int_eq(mkdir("d.key", 0700), 0);
    ck_assert_int_eq(load_rc("d.key", &e), ST_EBADKEY);

    size_t len;
    char *good = tu_read_file("log.key", &len);
    ck_assert_ptr_nonnull(good);
    /* Truncated at every length (0..len-2: the final LF alone is optional). */
    for (size_t n = 0; n + 1 < len; n++) {
        write_file("t.key", good, n, 0600);
        ck_assert_msg(load_rc("t.key", &e) == ST_EBADKEY, "truncated at %zu accepted", n);
    }
    write_file("t.key", good, len - 1, 0600);        /* without the LF: accepted */
    ck_assert_int_eq(load_rc("t.key", &e), 0);
    /* Every single-character change in the key ID or key is caught. */
    char *bad = malloc(len + 2);
    size_t id_at = strlen("PRIVATE+KEY+n+");
    for (size_t i = id_at; i < len - 1; i++) {
        if (good[i] == '+') continue;
        memcpy(bad, good, len);
        bad[i] = good[i] == 'a' ? 'b' : 'a';
        write_file("t.key", bad, len, 0600);
        ck_assert_msg(load_rc("t.key", &e) == ST_EBADKEY, "change at %zu accepted", i);
    }
    /* Structure. */
    static const char *garbled[] = {
        "PRIVATE+KEY+n+00000000+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",   /* wrong ID */
        "PRIVATE+KEY+n+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
        "PRIVATE+KEY+\n",
        "PUBLIC+KEY+n+00000000+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
        "garbage\n",
        "\n",
    };
    for (size_t i = 0; i < sizeof garbled / sizeof *garbled; i++) {
        write_file("t.key", garbled[i], strlen(garbled[i]), 0600);
        ck_assert_msg(load_rc("t.key", &e) == ST_EBADKEY, "accepted %s", garbled[i]);
    }
    memcpy(bad, good, len);
    memcpy(bad + len, "\n", 1);                      /* two LFs */
    write_file("t.key", bad, len + 1, 0600);
    ck_assert_int_eq(load_rc("t.key", &e), ST_EBADKEY);
    memcpy(bad, good, len);
    bad[len - 1] = '\r';                              /* CRLF */
    bad[len] = '\n';
    write_file("t.key", bad, len + 1, 0600);
    ck_assert_int_eq(load_rc("t.key", &e), ST_EBADKEY);
    free(bad);
    /* Over the size cap. */
    char *huge = malloc(ST_SKEY_FILE_MAX + 10);
    memcpy(huge, good, len);
    memset(huge + len, 'A', ST_SKEY_FILE_MAX + 10 - len);
    write_file("t.key", huge, ST_SKEY_FILE_MAX + 10, 0600);
    ck_assert_int_eq(load_rc("t.key", &e), ST_EBADKEY);
    free(huge);
    free(good);
    /* Algorithm byte other than 0x01 (x/mod skey for the zero seed, type byte changed). */
    st_signer *s = NULL;
    const char *alg2 = "PRIVATE+KEY+EnochRoot+af0cfe78+AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    ck_assert_int_eq(st_signer_from_string(&s, alg2, strlen(alg2), &e), ST_EBADKEY);
    ck_assert_ptr_null(s);
}
END_TEST

/* ---- signing -------------------------------------------------------------------------- */

START_TEST(test_sign_roundtrip)
{
    st_err e = { "" };
    st_signer *a = NULL, *b = NULL;
    ck_assert_int_eq(st_signer_generate(&a, "a.key", "example.com/a", &e), 0);
    ck_assert_int_eq(st_signer_generate(&b, "b.key", "example.com/b", &e), 0);
    const char *text = "hello\n\nworld \xE2\x9C\x93\n";
    st_signer *both[2] = { a, b };
    st_buf out = { 0 };
    st_buf_puts(&out, "PREFIX");                          /* st_note_sign appends */
    ck_assert_msg(st_note_sign(&out, text, strlen(text), both, 2, &e) == 0, "%s", e.msg);
    ck_assert(memcmp(out.data, "PREFIX", 6) == 0);
    st_note note;
    ck_assert_int_eq(st_note_parse(&note, (const char *)out.data + 6, out.len - 6, &e), 0);
    ck_assert_uint_eq(note.text_len, strlen(text));
    ck_assert_uint_eq(note.nsigs, 2);
    ck_assert(note.sigs[0].name_len == 13 && memcmp(note.sigs[0].name, "example.com/a", 13) == 0);
    ck_assert(note.sigs[1].name_len == 13 && memcmp(note.sigs[1].name, "example.com/b", 13) == 0);
    st_vkey keys[2] = { *st_signer_vkey(a), *st_signer_vkey(b) };
    int ok[2];
    ck_assert_int_eq(st_note_verify(&note, keys, 2, ok, &e), 0);
    ck_assert(ok[0] && ok[1]);
    ck_assert_int_eq(st_note_verify(&note, &keys[1], 1, NULL, &e), 0);

    /* Refusals leave out untouched. */
    size_t before = out.len;
    st_signer *dup[2] = { a, a };
    ck_assert_int_eq(st_note_sign(&out, text, strlen(text), dup, 2, &e), ST_EINVAL);
    ck_assert_int_eq(st_note_sign(&out, "no newline", 10, both, 2, &e), ST_EINVAL);
    ck_assert_int_eq(st_note_sign(&out, "", 0, both, 2, &e), ST_EINVAL);
    ck_assert_int_eq(st_note_sign(&out, "tab\there\n", 9, both, 2, &e), ST_EINVAL);
    ck_assert_int_eq(st_note_sign(&out, "bad \xFF\n", 6, both, 2, &e), ST_EINVAL);
    ck_assert_int_eq(st_note_sign(&out, text, strlen(text), both, 0, &e), ST_EINVAL);
    ck_assert_uint_eq(out.len, before);
    st_buf_free(&out);

    /* Checkpoints. */
    st_hash root;
    for (int i = 0; i < 32; i++) root[i] = (uint8_t)i;
    ck_assert_msg(st_checkpoint_sign(&out, &a, 1, "example.com/a", 1042, root, 1763787173, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(st_note_parse(&note, (const char *)out.data, out.len, &e), 0);
    ck_assert_int_eq(st_note_verify(&note, &keys[0], 1, NULL, &e), 0);
    ck_assert_int_eq(st_note_verify(&note, &keys[1], 1, NULL, &e), ST_EUNTRUSTED);
    st_checkpoint cp;
    ck_assert_int_eq(st_checkpoint_parse(&cp, note.text, note.text_len, &e), 0);
    ck_assert_str_eq(cp.origin, "example.com/a");
    ck_assert_uint_eq(cp.size, 1042);
    ck_assert_int_eq(cp.time_s, 1763787173);
    ck_assert(memcmp(cp.root, root, 32) == 0);
    st_buf_free(&out);
    ck_assert_int_eq(st_checkpoint_sign(&out, &a, 1, "bad origin", 1, root, 5, &e), ST_EINVAL);
    ck_assert_int_eq(st_checkpoint_sign(&out, &a, 1, "a+b", 1, root, 5, &e), ST_EINVAL);
    ck_assert_uint_eq(out.len, 0);
    st_buf_free(&out);
    st_signer_free(a);
    st_signer_free(b);
}
END_TEST

START_TEST(test_xmod_vector_from_file)
{
    const char *p = tu_shared_path("vectors-upstream/signed-note-vectors.json");
    if (!p) { fprintf(stderr, "test_sign: shared/ absent: skipping the x/mod vector\n"); return; }
    char *txt = tu_read_file(p, NULL);
    cJSON *j = cJSON_Parse(txt);
    free(txt);
    ck_assert_ptr_nonnull(j);
    cJSON *c, *found = NULL;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "sign"))
        if (strcmp(cJSON_GetObjectItemCaseSensitive(c, "id")->valuestring, "xmod-sign-peter") == 0) found = c;
    ck_assert_ptr_nonnull(found);
    const char *skey = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(found, "skeys"), 0)->valuestring;
    const char *text = cJSON_GetObjectItemCaseSensitive(found, "text")->valuestring;
    const char *want = cJSON_GetObjectItemCaseSensitive(found, "expected_note")->valuestring;
    ck_assert_ptr_nonnull(strstr(skey, "PeterNeumann"));

    char line[256];
    snprintf(line, sizeof line, "%s\n", skey);
    write_file("peter.key", line, strlen(line), 0600);
    st_signer *s = NULL;
    st_err e = { "" };
    ck_assert_msg(st_signer_load(&s, "peter.key", &e) == 0, "%s", e.msg);
    char vk[ST_VKEY_MAX];
    st_signer_vkey_string(s, vk);
    ck_assert_str_eq(vk, "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
    st_buf out = { 0 };
    ck_assert_int_eq(st_note_sign(&out, text, strlen(text), &s, 1, &e), 0);
    ck_assert_uint_eq(out.len, strlen(want));
    ck_assert(memcmp(out.data, want, out.len) == 0);
    /* Signing twice gives the same bytes (Ed25519 is deterministic; the key survives PROT_NONE cycles). */
    st_buf_reset(&out);
    ck_assert_int_eq(st_note_sign(&out, text, strlen(text), &s, 1, &e), 0);
    ck_assert(out.len == strlen(want) && memcmp(out.data, want, out.len) == 0);
    st_buf_free(&out);
    st_signer_free(s);
    cJSON_Delete(j);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sign");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_generate_file);
    tcase_add_test(tc, test_generate_refusals);
    tcase_add_test(tc, test_load_permissions);
    tcase_add_test(tc, test_load_refusals);
    tcase_add_test(tc, test_sign_roundtrip);
    tcase_add_test(tc, test_xmod_vector_from_file);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
