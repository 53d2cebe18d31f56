/*
 * test_keys.c: the store side of key management through the library:
 * request -> certify -> install -> rotate in root mode; install refusals
 * (another origin, expired, not yet valid, root mismatch, no root);
 * rotation crash-safety (the process dies between commit and file rename);
 * --keep-old; revocation before and after a checkpoint; epoch keys (wiped
 * when their epoch ends; a re-signed earlier checkpoint is detected by
 * `check`); loose key-file permissions; and three rotations while 8
 * processes append.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "keys.h"
#include "testutil.h"

#define T0 1763683200LL   /* 2025-11-21T00:00:00Z */
#define DAY 86400LL

static char *dir;

static void set_time(int64_t t)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", (long long)t);
    setenv("SEALTRAIL_FAKE_TIME", b, 1);
}

static void setup(void)
{
    ck_assert(sodium_init() >= 0);
    setenv("SEALTRAIL_NO_SYSLOG", "1", 1);
    set_time(T0 + 3600);
    dir = tu_tmpdir();
    ck_assert_ptr_nonnull(dir);
}

static void teardown(void)
{
    unsetenv("SEALTRAIL_FAKE_TIME");
    tu_rmrf(dir);
    free(dir);
}

static st_store *make_store_at(const char *d, const char *origin, uint64_t seal_n)
{
    char vkey[ST_VKEY_MAX];
    st_init_opts o = { .origin = origin, .seal_max_entries = seal_n, .seal_max_age_us = 3600LL * 1000000 };
    ck_assert_int_eq(st_store_init(d, &o, vkey), 0);
    st_store *s;
    ck_assert_int_eq(st_store_open(&s, d, ST_OPEN_NOSYSLOG), 0);
    return s;
}

static st_store *make_store(uint64_t seal_n) { return make_store_at(dir, "example.com/log", seal_n); }

static void append_n(st_store *s, size_t n)
{
    st_json_doc *doc = st_json_doc_new();
    for (size_t i = 0; i < n; i++) {
        st_json *m = st_json_new_object(doc);
        ck_assert_int_eq(st_json_object_add(doc, m, "kind", 4, st_json_new_str(doc, "event")), 0);
        ck_assert_int_eq(st_json_object_add(doc, m, "tool", 4, st_json_new_str(doc, "Bash")), 0);
        st_record_in r = { .meta = m };
        int rc = st_append_records(s, &r, 1, NULL);
        ck_assert_msg(rc == 0, "append: %s: %s", st_strerror(rc), st_store_error(s));
    }
    st_json_doc_free(doc);
}

static void seal(st_store *s)
{
    int rc = st_seal(s, NULL, NULL);
    ck_assert_msg(rc == 0, "seal: %s: %s", st_strerror(rc), st_store_error(s));
}

static void check_ok(st_store *s)
{
    int rc = st_check(s);
    ck_assert_msg(rc == 0, "check: %s: %s", st_strerror(rc), st_store_error(s));
}

static st_signer *root_signer(uint8_t b, const char *name)
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

static char *path_in(const char *rel)
{
    char *p = malloc(strlen(dir) + strlen(rel) + 2);
    sprintf(p, "%s/%s", dir, rel);
    return p;
}

/* request (new key, or current) -> certify by root -> note */
static char *certified(st_store *s, st_signer *root, int current, int64_t nb, int64_t na)
{
    char *req = NULL, *cert = NULL;
    size_t rl, cl;
    int rc = st_key_request(s, current, nb, na, &req, &rl);
    ck_assert_msg(rc == 0, "request: %s", st_store_error(s));
    st_err e = { "" };
    st_key_certify_opts o = { .origin = "example.com/log" };
    rc = st_key_certify(root, req, rl, &o, &cert, &cl, &e);
    ck_assert_msg(rc == 0, "certify: %s", e.msg);
    free(req);
    return cert;
}

static void install_ok(st_store *s, const char *note, st_signer *root, st_key_install_info *info)
{
    char rv[ST_VKEY_MAX];
    st_signer_vkey_string(root, rv);
    int rc = st_key_install(s, note, strlen(note), rv, info);
    ck_assert_msg(rc == 0, "install: %s: %s", st_strerror(rc), st_store_error(s));
}

static int install_rc(st_store *s, const char *note, const char *root_vkey, char msg[512])
{
    st_key_install_info info;
    int rc = st_key_install(s, note, strlen(note), root_vkey, &info);
    snprintf(msg, 512, "%s", st_store_error(s));
    return rc;
}

/* The latest checkpoint's number of signature lines. */
static size_t latest_sigs(st_store *s)
{
    char *note;
    size_t len;
    ck_assert_int_eq(st_checkpoint_latest(s, &note, &len), 0);
    st_note n;
    ck_assert_int_eq(st_note_parse(&n, note, len, NULL), 0);
    free(note);
    return n.nsigs;
}

static uint32_t current_key_id(st_store *s)
{
    st_signer *sg;
    int rc = st_store_load_signer(s, &sg);
    ck_assert_msg(rc == 0, "load signer: %s", st_store_error(s));
    uint32_t id = st_signer_vkey(sg)->key_id;
    st_signer_free(sg);
    return id;
}

/* The stored checkpoint of `size` against the store's key history, with the reason. */
static int verify_stored(st_store *s, uint64_t size, char why[512])
{
    char *note;
    size_t len;
    uint64_t got;
    ck_assert_int_eq(st_checkpoint_get(s, size, ST_CP_EXACT, &got, &note, &len), 0);
    st_txn *txn;
    ck_assert_int_eq(st_db_read_begin(s->db, &txn, NULL), 0);
    st_err e = { "" };
    int rc = st_keys_verify_checkpoint(txn, s, note, len, &e);
    snprintf(why, 512, "%s", e.msg);
    st_db_read_end(txn);
    free(note);
    return rc;
}

/* ---- root mode end to end ---------------------------------------------------------------------- */

START_TEST(root_request_certify_install_rotate)
{
    st_store *s = make_store(1000);
    append_n(s, 5);
    seal(s);
    st_signer *root = root_signer(0x52, "example.com/root");
    char *cert = certified(s, root, 0, T0, T0 + 30 * DAY);
    st_key_install_info info;
    install_ok(s, cert, root, &info);
    ck_assert_int_eq(info.type, ST_KN_CERTIFICATE);
    ck_assert_uint_eq(info.index, 5);
    ck_assert(info.pinned_root && info.sealed && info.have_key_file && !info.already);
    /* installing it again appends nothing */
    install_ok(s, cert, root, &info);
    ck_assert(info.already);
    ck_assert_uint_eq(info.index, 5);

    uint32_t old = current_key_id(s);
    st_key_rotate_result r;
    int rc = st_key_rotate(s, NULL, 0, &r);
    ck_assert_msg(rc == 0, "rotate: %s", st_store_error(s));
    ck_assert_uint_eq(r.index, 6);
    ck_assert_uint_eq(r.handover_size, 7);
    ck_assert(!r.to_epochs && !r.kept_old);
    ck_assert_uint_eq(latest_sigs(s), 2);                 /* the handover is signed by both keys */
    ck_assert_str_eq(st_store_vkey(s), r.new_vkey);
    uint32_t now_id = current_key_id(s);
    ck_assert_uint_ne(now_id, old);
    st_vkey anchors[2];
    size_t na;
    ck_assert_int_eq(st_keys_trust_anchors(s, anchors, &na), 0);
    ck_assert_uint_eq(na, 2);                             /* the pinned root and the store's first key */
    ck_assert(st_vkey_equal(&anchors[0], st_signer_vkey(root)));
    ck_assert_uint_eq(anchors[1].key_id, old);
    st_keyfile files[8];
    size_t nf;
    ck_assert_int_eq(st_keys_list_files(dir, files, 8, &nf), 0);
    ck_assert_uint_eq(nf, 0);                             /* next-*.key became log.key */
    check_ok(s);

    /* the entry is a key-rotation record whose note verifies */
    uint8_t *b;
    size_t bl;
    ck_assert_int_eq(st_entry_get(s, 6, &b, &bl), 0);
    st_entry e;
    ck_assert_int_eq(st_entry_parse(&e, b, bl, NULL), 0);
    ck_assert_str_eq(e.kind, "key-rotation");
    size_t nl;
    const char *note = st_json_get_str(st_json_get(e.root, "data"), "note", &nl);
    ck_assert_ptr_nonnull(note);
    st_keynote *kn = malloc(sizeof *kn);
    ck_assert_int_eq(st_keynote_parse(kn, note, nl, NULL), 0);
    ck_assert_int_eq(st_keynote_verify_self(kn, NULL), 0);
    ck_assert_uint_eq(kn->keys[0].key.key_id, old);
    ck_assert_uint_eq(kn->keys[1].key.key_id, now_id);
    free(kn);
    st_entry_free(&e);
    free(b);

    /* after the handover only the new key signs; a reopened store agrees */
    append_n(s, 3);
    seal(s);
    ck_assert_uint_eq(latest_sigs(s), 1);
    st_store_close(s);
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_NOSYSLOG), 0);
    ck_assert_uint_eq(current_key_id(s), now_id);
    check_ok(s);
    free(cert);
    st_signer_free(root);
    st_store_close(s);
}
END_TEST

START_TEST(install_refusals)
{
    st_store *s = make_store(1000);
    append_n(s, 2);
    st_signer *root = root_signer(0x52, "example.com/root"), *root2 = root_signer(0x53, "example.com/root2");
    char rv2[ST_VKEY_MAX], msg[512];
    st_signer_vkey_string(root2, rv2);
    char *cert = certified(s, root, 0, T0, T0 + 30 * DAY);

    ck_assert_int_eq(install_rc(s, cert, NULL, msg), ST_EUNTRUSTED);                  /* nothing pinned, no root given */
    ck_assert_msg(strstr(msg, "no root is pinned yet") != NULL, "%s", msg);
    ck_assert_int_eq(install_rc(s, cert, "example.com/root", msg), ST_EBADKEY);     /* --root-vkey is no key */
    ck_assert_str_eq(msg, "--root-vkey: verifier key: expected name+keyid+key");
    ck_assert_int_eq(install_rc(s, cert, rv2, msg), ST_EUNTRUSTED);                   /* signed by another root */
    ck_assert_msg(strstr(msg, "root mismatch") && strstr(msg, "signed by example.com/root+"), "%s", msg);
    st_key_install_info info;
    install_ok(s, cert, root, &info);                                                  /* pins root */
    ck_assert_int_eq(install_rc(s, cert, rv2, msg), ST_EUNTRUSTED);                   /* --root-vkey differs from the pin */
    ck_assert_msg(strstr(msg, "root mismatch: this store pins the root example.com/root+") != NULL, "%s", msg);

    char *c2 = certified(s, root2, 0, T0, T0 + DAY);                                   /* certified by root2 */
    ck_assert_int_eq(install_rc(s, c2, NULL, msg), ST_EUNTRUSTED);
    ck_assert_msg(strstr(msg, "signed by example.com/root2+") && strstr(msg, "trusted: example.com/root+"), "%s", msg);
    free(c2);

    set_time(T0 - 20 * DAY);                                                           /* made back then, expired now */
    char *old = certified(s, root, 0, T0 - 20 * DAY, T0 - 10 * DAY);
    set_time(T0 + 3600);
    ck_assert_int_eq(install_rc(s, old, NULL, msg), ST_EPOLICY);
    ck_assert_msg(strstr(msg, "expired at 2025-11-11T00:00:00Z") != NULL, "%s", msg);
    free(old);

    char *future = certified(s, root, 0, T0 + 5 * DAY, T0 + 30 * DAY);
    ck_assert_int_eq(install_rc(s, future, NULL, msg), ST_EPOLICY);
    ck_assert_msg(strstr(msg, "not valid yet: valid from 2025-11-26T00:00:00Z") != NULL, "%s", msg);
    free(future);

    /* a certificate for another origin */
    char *d2 = tu_tmpdir();
    st_store *o = make_store_at(d2, "example.org/other", 1000);
    char *req = NULL, *oc = NULL;
    size_t rl, cl;
    ck_assert_int_eq(st_key_request(o, 0, T0, T0 + DAY, &req, &rl), 0);
    st_err e = { "" };
    st_key_certify_opts co = { .origin = "example.com/log" };
    ck_assert_int_eq(st_key_certify(root, req, rl, &co, &oc, &cl, &e), ST_EPOLICY);   /* --origin guards the team too */
    ck_assert_int_eq(st_key_certify(root, req, rl, NULL, &oc, &cl, &e), 0);
    ck_assert_int_eq(install_rc(s, oc, NULL, msg), ST_EPOLICY);
    ck_assert_msg(strstr(msg, "is for origin example.org/other; this store's origin is example.com/log") != NULL, "%s", msg);
    /* requests are for the team, not for install */
    ck_assert_int_eq(install_rc(s, req, NULL, msg), ST_EINVAL);
    ck_assert_msg(strstr(msg, "key certify") != NULL, "%s", msg);
    free(req);
    free(oc);
    st_store_close(o);
    tu_rmrf(d2);
    free(d2);

    /* nothing of the refused notes reached the log: one certificate entry */
    uint64_t n;
    st_txn *txn;
    ck_assert_int_eq(st_db_read_begin(s->db, &txn, NULL), 0);
    ck_assert_int_eq(st_keys_count(txn, &n), 0);
    st_db_read_end(txn);
    ck_assert_uint_eq(n, 1);
    check_ok(s);
    free(cert);
    st_signer_free(root);
    st_signer_free(root2);
    st_store_close(s);
}
END_TEST

/* ---- crash safety, --keep-old, permissions --------------------------------------------------------- */

static char *slurp(const char *p, size_t *len)
{
    char *b = tu_read_file(p, len);
    ck_assert_ptr_nonnull(b);
    return b;
}

static void spit(const char *p, const char *b, size_t len)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, b, len), (ssize_t)len);
    close(fd);
}

START_TEST(rotation_crash_is_finished_later)
{
    st_store *s = make_store(1000);
    append_n(s, 4);
    seal(s);
    char *logp = path_in("log.key");
    size_t ol;
    char *old_bytes = slurp(logp, &ol);
    uint32_t old = current_key_id(s);
    st_key_rotate_result r;
    ck_assert_int_eq(st_key_rotate(s, NULL, 0, &r), 0);      /* simple mode: a fresh key */
    uint32_t nid = current_key_id(s);
    st_store_close(s);

    /* Put the files back as they were at the commit: the new key still in keys/, the old in log.key. */
    char rel[64];
    snprintf(rel, sizeof rel, "keys/next-%08x.key", (unsigned)nid);
    char *nextp = path_in(rel);
    ck_assert_int_eq(rename(logp, nextp), 0);
    spit(logp, old_bytes, ol);
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_NOSYSLOG), 0);
    append_n(s, 2);                                           /* the next seal finishes the job */
    seal(s);
    ck_assert_uint_eq(latest_sigs(s), 1);
    ck_assert_uint_eq(current_key_id(s), nid);
    ck_assert_int_eq(access(nextp, F_OK), -1);
    check_ok(s);
    st_store_close(s);

    /* Died after wiping the old key but before the rename: log.key absent. */
    ck_assert_int_eq(rename(logp, nextp), 0);
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_NOSYSLOG), 0);
    ck_assert_uint_eq(current_key_id(s), nid);               /* st_store_load_signer finishes it */
    ck_assert_int_eq(access(logp, F_OK), 0);
    ck_assert_int_eq(access(nextp, F_OK), -1);
    ck_assert_uint_ne(old, nid);
    st_store_close(s);
    free(old_bytes);
    free(logp);
    free(nextp);
}
END_TEST

START_TEST(keep_old_and_loose_permissions)
{
    st_store *s = make_store(1000);
    append_n(s, 2);
    uint32_t old = current_key_id(s);
    st_key_rotate_result r;
    ck_assert_int_eq(st_key_rotate(s, NULL, 1, &r), 0);
    ck_assert(r.kept_old);
    char rel[64];
    snprintf(rel, sizeof rel, "keys/retired-%08x.key", (unsigned)old);
    char *ret = path_in(rel);
    st_signer *sg;
    ck_assert_int_eq(st_signer_load(&sg, ret, NULL), 0);     /* the old key, intact */
    ck_assert_uint_eq(st_signer_vkey(sg)->key_id, old);
    st_signer_free(sg);
    struct stat sb;
    ck_assert_int_eq(stat(ret, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 0777, 0600);
    free(ret);

    /* a requested key file that group can read is refused, by name and mode */
    char *req;
    size_t rl;
    ck_assert_int_eq(st_key_request(s, 0, T0, T0 + DAY, &req, &rl), 0);
    free(req);
    st_keyfile files[8];
    size_t nf;
    ck_assert_int_eq(st_keys_list_files(dir, files, 8, &nf), 0);
    char *np = NULL;
    for (size_t i = 0; i < nf; i++)
        if (files[i].kind == 'n') {
            char rr[1100];
            ck_assert_int_lt(snprintf(rr, sizeof rr, "keys/%s", files[i].name), (int)sizeof rr);
            np = path_in(rr);
        }
    ck_assert_ptr_nonnull(np);
    ck_assert_int_eq(chmod(np, 0640), 0);
    int rc = st_key_rotate(s, NULL, 0, &r);
    ck_assert_int_eq(rc, ST_EKEYPERM);
    ck_assert_msg(strstr(st_store_error(s), "permissions 0640 are too open") != NULL, "%s", st_store_error(s));
    /* log.key too: sealing refuses it */
    char *logp = path_in("log.key");
    ck_assert_int_eq(chmod(logp, 0644), 0);
    append_n(s, 1);
    ck_assert_int_eq(st_seal(s, NULL, NULL), ST_EKEYPERM);
    ck_assert_int_eq(chmod(logp, 0600), 0);
    seal(s);
    check_ok(s);
    free(logp);
    free(np);
    st_store_close(s);
}
END_TEST

/* ---- revocation ---------------------------------------------------------------------------------------- */

START_TEST(revocation_before_and_after)
{
    st_store *s = make_store(1000);
    st_signer *root = root_signer(0x52, "example.com/root");
    /* bring the store's own key under the root, from the start */
    char *cert = certified(s, root, 1, T0, T0 + 30 * DAY);
    st_key_install_info info;
    install_ok(s, cert, root, &info);
    set_time(T0 + 3600);
    append_n(s, 2);
    seal(s);                                   /* checkpoint at T0 + 1 h: before the compromise */
    set_time(T0 + 7200);
    append_n(s, 2);
    seal(s);                                   /* checkpoint at T0 + 2 h: after it */
    check_ok(s);
    st_signer *cur;
    ck_assert_int_eq(st_store_load_signer(s, &cur), 0);
    char *rev = NULL;
    size_t len;
    st_err e = { "" };
    ck_assert_int_eq(st_key_revoke(root, st_signer_vkey(cur), T0 + 5400, "laptop stolen", &rev, &len, &e), 0);
    st_signer_free(cur);
    set_time(T0 + 9000);
    install_ok(s, rev, root, &info);
    ck_assert(info.revokes_current);
    ck_assert(!info.sealed);                   /* never seal with a revoked key */
    int rc = st_check(s);
    ck_assert_int_eq(rc, ST_ECORRUPT);                       /* the checkpoint at T0 + 2 h fails, the one before passed */
    ck_assert_msg(strstr(st_store_error(s), "checkpoint 5:") != NULL, "%s", st_store_error(s));
    char why[512];
    ck_assert_int_eq(verify_stored(s, 5, why), ST_EUNTRUSTED);
    ck_assert_msg(strstr(why, "revoked") && strstr(why, "after 2025-11-21T01:30:00Z"), "%s", why);
    ck_assert_int_eq(verify_stored(s, 3, why), 0);

    /* the store refuses to sign with the revoked key rather than make checkpoints auditors reject */
    append_n(s, 1);
    ck_assert_int_eq(st_seal(s, NULL, NULL), ST_EPOLICY);
    ck_assert_msg(strstr(st_store_error(s), "may not sign now: it was revoked") != NULL, "%s", st_store_error(s));

    /* rotate away: the handover (signed by the revoked and the new key) verifies by the new key */
    char *c2 = certified(s, root, 0, T0, T0 + 30 * DAY);
    install_ok(s, c2, root, &info);
    st_key_rotate_result r;
    rc = st_key_rotate(s, NULL, 0, &r);
    ck_assert_msg(rc == 0, "rotate: %s", st_store_error(s));
    ck_assert_uint_eq(latest_sigs(s), 2);
    free(c2);
    free(rev);
    free(cert);
    st_signer_free(root);
    st_store_close(s);
}
END_TEST

START_TEST(expired_certificate_stops_sealing)
{
    st_store *s = make_store(1000);
    st_signer *root = root_signer(0x52, "example.com/root");
    char *cert = certified(s, root, 1, T0, T0 + DAY);
    st_key_install_info info;
    install_ok(s, cert, root, &info);
    append_n(s, 2);
    seal(s);
    set_time(T0 + DAY);                        /* not-after is exclusive */
    append_n(s, 2);                            /* appends go on; the policy seal fails quietly */
    ck_assert_int_eq(st_seal(s, NULL, NULL), ST_EPOLICY);
    ck_assert_msg(strstr(st_store_error(s), "expired at 2025-11-22T00:00:00Z") != NULL, "%s", st_store_error(s));
    st_status st;
    ck_assert_int_eq(st_store_status(s, &st), 0);
    ck_assert_uint_eq(st.size - st.sealed_size, 2);
    /* a new certified key and a rotation fix it; the handover covers the unsealed entries */
    char *c2 = certified(s, root, 0, T0 + DAY, T0 + 30 * DAY);
    install_ok(s, c2, root, &info);
    st_key_rotate_result r;
    int rc = st_key_rotate(s, NULL, 0, &r);
    ck_assert_msg(rc == 0, "rotate: %s", st_store_error(s));
    ck_assert_int_eq(st_store_status(s, &st), 0);
    ck_assert_uint_eq(st.size, st.sealed_size);
    free(c2);
    free(cert);
    st_signer_free(root);
    st_store_close(s);
}
END_TEST

/* ---- epochs and forward security ------------------------------------------------------------------------- */

static int put_checkpoint(st_txn *txn, void *arg)
{
    st_buf *b = arg;
    st_note n;
    st_checkpoint cp;
    if (st_note_parse(&n, (const char *)b->data, b->len, NULL) || st_checkpoint_parse(&cp, n.text, n.text_len, NULL)) return ST_EINVAL;
    uint8_t key[8];
    st_be64_put(key, cp.size);
    return st_db_put(txn, ST_T_CHECKPOINTS, key, 8, b->data, b->len, 0);
}

START_TEST(epochs_forward_security)
{
    set_time(T0 + 3600);
    st_store *s = make_store(1000);
    st_signer *root = root_signer(0x52, "example.com/root");
    char *req = NULL, *sched = NULL;
    size_t rl, sl;
    ck_assert_int_eq(st_key_epochs_request(s, T0, DAY, 3, &req, &rl), 0);
    st_err e = { "" };
    ck_assert_int_eq(st_key_certify(root, req, rl, NULL, &sched, &sl, &e), 0);
    st_key_install_info info;
    install_ok(s, sched, root, &info);
    ck_assert_int_eq(info.type, ST_KN_EPOCHS);
    ck_assert(info.have_key_file);
    st_key_rotate_result r;
    int rc = st_key_rotate(s, NULL, 0, &r);
    ck_assert_msg(rc == 0, "rotate: %s", st_store_error(s));
    ck_assert(r.to_epochs);
    char *logp = path_in("log.key");
    ck_assert_int_eq(access(logp, F_OK), -1);                /* the long-lived key is gone */

    append_n(s, 3);
    seal(s);                                                  /* day 0: epoch key 0 */
    char *cp0;
    size_t cpl;
    ck_assert_int_eq(st_checkpoint_latest(s, &cp0, &cpl), 0);
    st_keyfile files[8];
    size_t nf;
    ck_assert_int_eq(st_keys_list_files(dir, files, 8, &nf), 0);
    ck_assert_uint_eq(nf, 3);

    set_time(T0 + DAY + 3600);                               /* day 1 */
    append_n(s, 1);                                           /* an append after the window wipes epoch 0's key */
    ck_assert_int_eq(st_keys_list_files(dir, files, 8, &nf), 0);
    ck_assert_uint_eq(nf, 2);
    for (size_t i = 0; i < nf; i++) ck_assert_int_ge(files[i].not_before, T0 + DAY);
    seal(s);
    check_ok(s);

    /* The thief of the day-1 key re-signs the day-0 checkpoint (same text, its own signature). */
    st_signer *thief;
    ck_assert_int_eq(st_store_load_signer(s, &thief), 0);
    st_note n;
    ck_assert_int_eq(st_note_parse(&n, cp0, cpl, NULL), 0);
    st_buf forged = { 0 };
    ck_assert_int_eq(st_note_sign(&forged, n.text, n.text_len, &thief, 1, &e), 0);
    ck_assert_int_eq(st_db_write(s->db, put_checkpoint, &forged, NULL), 0);
    rc = st_check(s);
    ck_assert_int_eq(rc, ST_ECORRUPT);
    ck_assert_msg(strstr(st_store_error(s), "checkpoint 5:") != NULL, "%s", st_store_error(s));
    char why[512];
    ck_assert_int_eq(verify_stored(s, 5, why), ST_EUNTRUSTED);
    ck_assert_msg(strstr(why, "not yet valid: valid from 2025-11-22T00:00:00Z") != NULL, "%s", why);
    /* the genuine note goes back: check passes again */
    st_buf genuine = { 0 };
    st_buf_put(&genuine, cp0, cpl);
    ck_assert_int_eq(st_db_write(s->db, put_checkpoint, &genuine, NULL), 0);
    check_ok(s);

    /* after the last epoch: appends still work, seals say why they cannot sign */
    set_time(T0 + 3 * DAY + 60);
    append_n(s, 1);
    ck_assert_int_eq(st_seal(s, NULL, NULL), ST_ENOKEY);
    ck_assert_msg(strstr(st_store_error(s), "no epoch key covers") != NULL, "%s", st_store_error(s));
    unsigned wiped;
    ck_assert_int_eq(st_keys_expire_epochs(s, T0 + 3 * DAY + 60, &wiped), 0);
    ck_assert_int_eq(st_keys_list_files(dir, files, 8, &nf), 0);
    ck_assert_uint_eq(nf, 0);
    st_buf_free(&forged);
    st_buf_free(&genuine);
    st_signer_free(thief);
    free(cp0);
    free(logp);
    free(req);
    free(sched);
    st_signer_free(root);
    st_store_close(s);
}
END_TEST

/* ---- rotation under load ------------------------------------------------------------------------------------ */

START_TEST(three_rotations_while_8_processes_append)
{
    st_store *s = make_store(7);               /* the seal policy fires every 7 entries, in the appenders */
    append_n(s, 3);
    st_store_close(s);
    pid_t pids[8];
    for (int p = 0; p < 8; p++) {
        pids[p] = fork();
        ck_assert_int_ge(pids[p], 0);
        if (pids[p] == 0) {
            st_store *cs;
            if (st_store_open(&cs, dir, ST_OPEN_NOSYSLOG) != 0) _exit(1);
            for (int i = 0; i < 30; i++) append_n(cs, 1);
            st_store_close(cs);
            _exit(0);
        }
    }
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_NOSYSLOG), 0);
    for (int k = 0; k < 3; k++) {
        usleep(15000);
        st_key_rotate_result r;
        int rc = st_key_rotate(s, NULL, 0, &r);
        ck_assert_msg(rc == 0, "rotation %d: %s", k, st_store_error(s));
    }
    for (int p = 0; p < 8; p++) {
        int status;
        ck_assert_int_eq(waitpid(pids[p], &status, 0), pids[p]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "appender %d failed", p);
    }
    seal(s);
    st_status st;
    ck_assert_int_eq(st_store_status(s, &st), 0);
    ck_assert_uint_eq(st.size, 3 + 8 * 30 + 3);   /* nothing lost */
    ck_assert_uint_eq(st.sealed_size, st.size);   /* nothing left unsealed */
    check_ok(s);                                   /* every checkpoint verifies by the key history */
    /* an auditor in simple mode pins only the first key: the rotations carry trust over */
    st_txn *txn;
    ck_assert_int_eq(st_db_read_begin(s->db, &txn, NULL), 0);
    st_keyhist *h;
    ck_assert_int_eq(st_keys_history(txn, s, &h, NULL), 0);
    st_keyhist_stats stt;
    st_keyhist_get_stats(h, &stt);
    ck_assert_uint_eq(stt.rotations, 3);
    ck_assert_uint_eq(stt.pinned, 1);
    st_cursor *c;
    const void *k, *v;
    size_t kl, vl;
    uint64_t checked = 0;
    ck_assert_int_eq(st_cursor_open(txn, ST_T_CHECKPOINTS, &c), 0);
    for (int rc = st_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); rc == 0; rc = st_cursor_next(c, &k, &kl, &v, &vl)) {
        st_note n;
        st_checkpoint cp;
        st_err e = { "" };
        ck_assert_int_eq(st_note_parse(&n, v, vl, NULL), 0);
        ck_assert_int_eq(st_checkpoint_parse(&cp, n.text, n.text_len, NULL), 0);
        ck_assert_msg(st_keyhist_verify_checkpoint(h, &n, &cp, 0, NULL, &e) == 0, "checkpoint %llu: %s",
                      (unsigned long long)cp.size, e.msg);
        checked++;
    }
    st_cursor_close(c);
    ck_assert_uint_eq(checked, st.checkpoints);
    st_keyhist_free(h);
    st_db_read_end(txn);
    st_store_close(s);
}
END_TEST

START_TEST(simple_mode_unchanged)
{
    st_store *s = make_store(1000);
    append_n(s, 3);
    seal(s);
    check_ok(s);
    char *kd = path_in("keys");
    ck_assert_int_eq(access(kd, F_OK), -1);       /* no history, no key directory, nothing loaded */
    st_txn *txn;
    ck_assert_int_eq(st_db_read_begin(s->db, &txn, NULL), 0);
    st_checkpoint cp = { .size = 3, .time_s = T0 };
    st_vkey keys[ST_KEYS_MAX];
    size_t n;
    ck_assert_int_eq(st_keys_for_checkpoint(txn, s, &cp, keys, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert(st_vkey_equal(&keys[0], &s->verifier));
    st_db_read_end(txn);
    free(kd);
    st_store_close(s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("keys");
    TCase *tc = tcase_create("keys");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, simple_mode_unchanged);
    tcase_add_test(tc, root_request_certify_install_rotate);
    tcase_add_test(tc, install_refusals);
    tcase_add_test(tc, rotation_crash_is_finished_later);
    tcase_add_test(tc, keep_old_and_loose_permissions);
    tcase_add_test(tc, revocation_before_and_after);
    tcase_add_test(tc, expired_certificate_stops_sealing);
    tcase_add_test(tc, epochs_forward_security);
    suite_add_tcase(su, tc);
    TCase *load = tcase_create("load");
    tcase_add_checked_fixture(load, setup, teardown);
    tcase_set_timeout(load, 120);
    tcase_add_test(load, three_rotations_while_8_processes_append);
    suite_add_tcase(su, load);
    return tu_run_suite(su);
}
