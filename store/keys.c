/*
 * keys.c: which verifier keys may sign a checkpoint, and which key files
 * sign now. In simple mode (no root, no history recorded) that is the
 * store's one log key, at no cost. With a key history (certificates,
 * rotations, revocations, epochs: docs/KEYS.md) the keys table is loaded
 * into an st_keyhist (store/verify/keyhist.c, the same rules auditverify
 * applies) and asked. A loaded history is cached per process, keyed by a
 * fingerprint of the table, so `sealtrail check` over thousands of
 * checkpoints loads it once.
 */
#include "keys.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

/* ---- loading the history -------------------------------------------------------------------- */

int st_keys_count(st_txn *txn, uint64_t *n_out)
{
    int rc = st_db_count(txn, ST_T_KEYS, n_out);
    if (rc == ST_ENOTFOUND) { *n_out = 0; rc = 0; }
    return rc;
}

int st_keys_each(st_txn *txn, st_keys_note_fn fn, void *ctx)
{
    st_cursor *c;
    int rc = st_cursor_open(txn, ST_T_KEYS, &c);
    if (rc) return rc == ST_ENOTFOUND ? 0 : rc;
    const void *k, *v;
    size_t kl, vl;
    for (rc = st_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); rc == 0; rc = st_cursor_next(c, &k, &kl, &v, &vl)) {
        if (kl != 8) { rc = ST_ECORRUPT; break; }
        if ((rc = fn(ctx, st_be64_get(k), v, vl)) != 0) break;
    }
    st_cursor_close(c);
    return rc == ST_ENOTFOUND ? 0 : rc;
}

static int meta_vkey(st_txn *txn, const char *name, st_vkey *out, int *present, st_err *err)
{
    const char *str;
    size_t len;
    *present = 0;
    int rc = st_meta_get_str(txn, name, &str, &len);
    if (rc == ST_ENOTFOUND) return 0;
    if (rc) return rc;
    st_err e2;
    if (len >= ST_VKEY_MAX || st_vkey_parse(out, str, len, &e2) != 0)
        return st_fail(err, ST_ECORRUPT, "meta %s: not a verifier key", name);
    *present = 1;
    return 0;
}

typedef struct load_ctx {
    st_keyhist *h;
    st_err *err;
} load_ctx;

static int load_note(void *arg, uint64_t index, const char *note, size_t len)
{
    load_ctx *c = arg;
    st_err e2;
    int rc = st_keyhist_add_note(c->h, index, note, len, &e2);
    if (rc == ENOMEM || rc == ST_ETOOBIG) return st_fail(c->err, rc, "key history: %s", e2.msg);
    if (rc) return st_fail(c->err, ST_ECORRUPT, "key history: %s", e2.msg);
    return 0;
}

int st_keys_history(st_txn *txn, const st_store *s, st_keyhist **out, st_err *err)
{
    *out = NULL;
    st_keyhist *h = st_keyhist_new(s->origin);
    if (!h) return st_fail(err, ENOMEM, "key history: out of memory");
    st_vkey k;
    int present, rc;
    if ((rc = meta_vkey(txn, ST_META_ROOT_VKEY, &k, &present, err)) != 0) goto fail;
    if (present && (rc = st_keyhist_add_root(h, &k, err)) != 0) { rc = ST_ECORRUPT; goto fail; }
    if ((rc = meta_vkey(txn, ST_META_KEY_FIRST, &k, &present, err)) != 0) goto fail;
    if (!present && (rc = meta_vkey(txn, ST_META_VKEY, &k, &present, err)) != 0) goto fail;
    if (present && strcmp(k.name, s->origin) == 0 && (rc = st_keyhist_add_pinned(h, &k, err)) != 0) goto fail;
    load_ctx c = { h, err };
    if ((rc = st_keys_each(txn, load_note, &c)) != 0) goto fail;
    *out = h;
    return 0;
fail:
    st_keyhist_free(h);
    return rc;
}

int st_keys_trust_anchors(st_store *s, st_vkey out[2], size_t *n_out)
{
    *n_out = 0;
    st_txn *txn;
    int rc = st_db_read_begin(s->db, &txn, &s->err);
    if (rc) return rc;
    int present;
    if ((rc = meta_vkey(txn, ST_META_ROOT_VKEY, &out[*n_out], &present, &s->err)) == 0 && present) (*n_out)++;
    if (rc == 0 && (rc = meta_vkey(txn, ST_META_KEY_FIRST, &out[*n_out], &present, &s->err)) == 0 && !present)
        rc = meta_vkey(txn, ST_META_VKEY, &out[*n_out], &present, &s->err);
    if (rc == 0 && present) (*n_out)++;
    st_db_read_end(txn);
    return rc;
}

/* ---- the per-process cache ----------------------------------------------------------------------- */

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static uint8_t cache_fp[32];
static st_keyhist *cache_h;

/* Fingerprint of everything st_keys_history reads (rows only grow: their
 * count, the last one's index and bytes stand for the table). */
static int fingerprint(st_txn *txn, const st_store *s, uint8_t out[32])
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)s->dir, strlen(s->dir) + 1);
    crypto_hash_sha256_update(&st, (const uint8_t *)s->origin, strlen(s->origin) + 1);
    static const char *const metas[] = { ST_META_ROOT_VKEY, ST_META_KEY_FIRST, ST_META_VKEY };
    for (size_t i = 0; i < sizeof metas / sizeof metas[0]; i++) {
        const char *str = "";
        size_t len = 0;
        int rc = st_meta_get_str(txn, metas[i], &str, &len);
        if (rc && rc != ST_ENOTFOUND) return rc;
        uint8_t l8[8];
        st_be64_put(l8, rc ? UINT64_MAX : len);
        crypto_hash_sha256_update(&st, l8, 8);
        crypto_hash_sha256_update(&st, (const uint8_t *)str, rc ? 0 : len);
    }
    uint64_t n;
    int rc = st_keys_count(txn, &n);
    if (rc) return rc;
    uint8_t n8[8];
    st_be64_put(n8, n);
    crypto_hash_sha256_update(&st, n8, 8);
    if (n) {
        st_cursor *c;
        const void *k, *v;
        size_t kl, vl;
        if ((rc = st_cursor_open(txn, ST_T_KEYS, &c)) != 0) return rc;
        rc = st_cursor_last(c, &k, &kl, &v, &vl);
        if (rc == 0) {
            crypto_hash_sha256_update(&st, k, kl);
            crypto_hash_sha256_update(&st, v, vl);
        }
        st_cursor_close(c);
        if (rc) return rc;
    }
    crypto_hash_sha256_final(&st, out);
    return 0;
}

/* Runs fn on the (cached) history of txn under the cache lock. */
typedef int (*with_fn)(st_keyhist *h, void *ctx);

static int with_history(st_txn *txn, const st_store *s, with_fn fn, void *ctx, st_err *err)
{
    uint8_t fp[32];
    int rc = fingerprint(txn, s, fp);
    if (rc) return rc;
    pthread_mutex_lock(&cache_mu);
    if (!cache_h || memcmp(fp, cache_fp, 32) != 0) {
        st_keyhist *h;
        if ((rc = st_keys_history(txn, s, &h, err)) != 0) {
            pthread_mutex_unlock(&cache_mu);
            return rc;
        }
        st_keyhist_free(cache_h);
        cache_h = h;
        memcpy(cache_fp, fp, 32);
    }
    rc = fn(cache_h, ctx);
    pthread_mutex_unlock(&cache_mu);
    return rc;
}

/* ---- keys for a checkpoint ---------------------------------------------------------------------------- */

typedef struct for_ctx {
    const st_checkpoint *cp;
    unsigned flags;
    st_vkey *keys;
    size_t *n;
} for_ctx;

static int keys_for(st_keyhist *h, void *arg)
{
    for_ctx *c = arg;
    return st_keyhist_keys_for(h, c->cp->size, c->cp->time_s, c->flags, c->keys, ST_KEYS_MAX, c->n);
}

static int keys_for_checkpoint(st_txn *txn, const st_store *s, const st_checkpoint *cp, unsigned flags,
                               st_vkey keys_out[ST_KEYS_MAX], size_t *n_out)
{
    *n_out = 0;
    uint64_t rows;
    const char *root;
    size_t rl;
    int rc = st_keys_count(txn, &rows);
    if (rc) return rc;
    int rooted = st_meta_get_str(txn, ST_META_ROOT_VKEY, &root, &rl) == 0;
    if (rows == 0 && !rooted) {            /* simple mode: the log key, nothing to load */
        keys_out[0] = s->verifier;
        *n_out = 1;
        return 0;
    }
    st_err err;
    for_ctx c = { cp, flags, keys_out, n_out };
    return with_history(txn, s, keys_for, &c, &err);
}

int st_keys_for_checkpoint(st_txn *txn, const st_store *s, const st_checkpoint *cp, st_vkey keys_out[ST_KEYS_MAX],
                           size_t *n_out)
{
    return keys_for_checkpoint(txn, s, cp, 0, keys_out, n_out);
}

int st_keys_for_checkpoint_flags(st_txn *txn, const st_store *s, const st_checkpoint *cp, unsigned flags,
                                 st_vkey keys_out[ST_KEYS_MAX], size_t *n_out)
{
    return keys_for_checkpoint(txn, s, cp, flags, keys_out, n_out);
}

typedef struct verify_ctx {
    const st_note *note;
    const st_checkpoint *cp;
    st_err *err;
} verify_ctx;

static int verify_with(st_keyhist *h, void *arg)
{
    verify_ctx *c = arg;
    return st_keyhist_verify_checkpoint(h, c->note, c->cp, 0, NULL, c->err);
}

int st_keys_verify_checkpoint(st_txn *txn, const st_store *s, const char *note, size_t len, st_err *err)
{
    st_note *n = malloc(sizeof *n);
    if (!n) return st_fail(err, ENOMEM, "out of memory");
    st_checkpoint cp;
    int rc = st_note_parse(n, note, len, err);
    if (rc == 0) rc = st_checkpoint_parse(&cp, n->text, n->text_len, err);
    if (rc == 0) {
        verify_ctx c = { n, &cp, err };
        rc = with_history(txn, s, verify_with, &c, err);
    }
    free(n);
    return rc;
}

/* ---- which key signs now ----------------------------------------------------------------------------- */

/* Re-reads the current key from meta; another process may have rotated since we opened the store. */
static int refresh_current(st_store *s, st_txn *txn)
{
    const char *str;
    size_t len;
    int rc = st_meta_get_str(txn, ST_META_VKEY, &str, &len);
    if (rc) return rc == ST_ENOTFOUND ? st_store_fail(s, ST_ECORRUPT, "meta: verifier key missing") : rc;
    if (len == strlen(s->vkey) && memcmp(str, s->vkey, len) == 0) return 0;
    st_vkey k;
    if (len >= ST_VKEY_MAX || st_vkey_parse(&k, str, len, &s->err) != 0)
        return st_store_fail(s, ST_ECORRUPT, "meta: verifier key is malformed");
    memcpy(s->vkey, str, len);
    s->vkey[len] = 0;
    s->verifier = k;
    return 0;
}

static int epoch_mode(st_txn *txn)
{
    const char *m;
    size_t ml;
    return st_meta_get_str(txn, ST_META_KEY_MODE, &m, &ml) == 0 && ml == 6 && memcmp(m, "epochs", 6) == 0;
}

int st_key_mode_txn(st_txn *txn, char *out, size_t cap)
{
    const char *r;
    size_t rl;
    int rc = st_meta_get_str(txn, ST_META_ROOT_VKEY, &r, &rl);
    if (rc && rc != ST_ENOTFOUND) return rc;
    const char *mode = epoch_mode(txn) ? "epochs" : rc == 0 && rl > 0 ? "root-certified" : "simple";
    if (cap <= strlen(mode)) return EINVAL;
    memcpy(out, mode, strlen(mode) + 1);
    return 0;
}

typedef struct explain_ctx {
    const st_vkey *k;
    uint64_t size;
    int64_t now;
    char why[256];
    int ok;
} explain_ctx;

static int explain(st_keyhist *h, void *arg)
{
    explain_ctx *c = arg;
    c->ok = st_keyhist_explain(h, c->k->name, strlen(c->k->name), c->k->key_id, c->size, c->now, 0, c->why, sizeof c->why);
    return 0;
}

/* In epoch mode: the epoch key file for now, which the history must certify for now.
 * Another file may cover now too (a 'key epochs' killed mid-way, or a batch never
 * certified): the first one the history lets sign is taken; if none, the first one's
 * reason is given. */
static int epoch_signer(st_store *s, st_txn *txn, int64_t now_s, st_signer **out)
{
    uint32_t id = 0;
    char *p = st_keys_find_epoch(s->dir, now_s, 0, &id);
    if (!p) {
        char t[32];
        st_time_format_rfc3339(t, now_s * 1000000);
        return st_store_fail(s, ST_ENOKEY, "%s/%s: no epoch key covers %s: certify more epochs ('sealtrail key epochs', "
                             "'key certify', 'key install')", s->dir, ST_KEYS_DIR, t);
    }
    uint64_t size;
    int rc = st_size_txn(txn, &size);
    uint32_t first_id = id;
    char first_why[256] = "";
    for (size_t i = 1; rc == 0 && p; i++) {
        rc = st_signer_load(out, p, &s->err);
        free(p);
        p = NULL;
        if (rc) break;
        explain_ctx c = { st_signer_vkey(*out), size, now_s, "", 0 };
        st_err err;
        if ((rc = with_history(txn, s, explain, &c, &err)) != 0) {
            st_store_fail(s, rc, "%s", err.msg);
            break;
        }
        if (c.ok) return 0;
        if (i == 1) memcpy(first_why, c.why, sizeof first_why);
        st_signer_free(*out);
        *out = NULL;
        p = st_keys_find_epoch(s->dir, now_s, i, &id);
    }
    free(p);
    if (rc == 0) rc = st_store_fail(s, ST_EUNTRUSTED, "epoch key %08x may not sign now: %s", (unsigned)first_id, first_why);
    st_signer_free(*out);
    *out = NULL;
    return rc;
}

typedef struct certified_ctx {
    const st_vkey *k;
    uint64_t size;
    int64_t now;
    int certified, ok;
    char why[256];
} certified_ctx;

static int certified_check(st_keyhist *h, void *arg)
{
    certified_ctx *c = arg;
    c->certified = st_keyhist_certified(h, c->k);
    if (c->certified)
        c->ok = st_keyhist_explain(h, c->k->name, strlen(c->k->name), c->k->key_id, c->size, c->now, ST_KH_CERTIFIED_ONLY,
                                   c->why, sizeof c->why);
    return 0;
}

/* A root-certified log key must not sign what an auditor trusting the root
 * would refuse (expired, not yet valid, revoked): fail loudly instead. Keys
 * without a certificate (the store's first key, simple mode) are not judged. */
static int certified_may_sign(st_store *s, st_txn *txn, int64_t now_s, st_signer **out)
{
    const char *r;
    size_t rl;
    if (st_meta_get_str(txn, ST_META_ROOT_VKEY, &r, &rl) != 0) return 0;
    uint64_t size;
    int rc = st_size_txn(txn, &size);
    st_err err = { { 0 } };
    certified_ctx c = { st_signer_vkey(*out), size, now_s, 0, 0, "" };
    if (rc == 0) rc = with_history(txn, s, certified_check, &c, &err);
    if (rc == 0 && (!c.certified || c.ok)) return 0;
    if (rc == 0) {
        char vk[ST_VKEY_MAX];
        st_vkey_format(vk, c.k);
        rc = st_store_fail(s, ST_EPOLICY, "the log key %s may not sign now: %s; rotate to a certified key "
                           "('sealtrail key request', 'key certify', 'key install', 'key rotate')", vk, c.why);
    } else {
        st_store_fail(s, rc, "key history: %s", err.msg);
    }
    st_signer_free(*out);
    *out = NULL;
    return rc;
}

static int expire_due(st_store *s, st_txn *txn, int64_t now_s, int writable);

/* Wipes ended epochs when the meta says one is due; writable: update the meta. */
int st_keys_expire_due(st_store *s, st_txn *txn, int64_t now_s)
{
    return expire_due(s, txn, now_s, 1);
}

static int expire_due(st_store *s, st_txn *txn, int64_t now_s, int writable)
{
    uint64_t due;
    int rc = st_meta_get_u64(txn, ST_META_EPOCH_EXPIRY, &due);
    if (rc == ST_ENOTFOUND || (rc == 0 && (due == 0 || (int64_t)due > now_s))) return 0;
    if (rc) return rc;
    int fd = st_keys_lock(s->dir, &s->err);
    if (fd < 0) return -fd;
    unsigned wiped;
    int64_t next;
    rc = st_keys_wipe_expired(s->dir, now_s, &wiped, &next, &s->err);
    st_keys_unlock(fd);
    if (rc == 0 && writable) rc = st_meta_put_u64(txn, ST_META_EPOCH_EXPIRY, (uint64_t)next);
    return rc;
}

static int current_signer(st_store *s, st_txn *txn, int64_t now_s, int writable, int judge, st_signer **out)
{
    *out = NULL;
    int rc;
    if ((rc = refresh_current(s, txn)) != 0 || (rc = expire_due(s, txn, now_s, writable)) != 0) return rc;
    char *logp = malloc(strlen(s->dir) + sizeof ST_KEY_FILE + 2);
    if (!logp) return ENOMEM;
    sprintf(logp, "%s/%s", s->dir, ST_KEY_FILE);
    int epochs = epoch_mode(txn);
    if (epochs) {
        if (st_eaccess(logp, F_OK) == 0) {         /* a rotation into epochs did not finish: drop the old key */
            int fd = st_keys_lock(s->dir, &s->err);
            if (fd < 0) { free(logp); return -fd; }
            rc = st_keys_complete_files(s->dir, s->vkey, 0, 0, &s->err);
            st_keys_unlock(fd);
        }
        free(logp);
        return rc ? rc : epoch_signer(s, txn, now_s, out);
    }
    st_err e2;
    rc = st_signer_load(out, logp, &e2);
    if (rc == 0 && st_signer_vkey(*out)->key_id == s->verifier.key_id) {
        free(logp);
        return judge ? certified_may_sign(s, txn, now_s, out) : 0;
    }
    st_signer_free(*out);
    *out = NULL;
    if (rc == ST_EKEYPERM) { free(logp); return st_store_fail(s, rc, "%s", e2.msg); }
    /* log.key is not the current key: finish the rotation that left it so */
    int fd = st_keys_lock(s->dir, &s->err);
    if (fd < 0) { free(logp); return -fd; }
    rc = st_keys_complete_files(s->dir, s->vkey, s->verifier.key_id, 1, &s->err);
    st_keys_unlock(fd);
    if (rc == 0) rc = st_signer_load(out, logp, &s->err);
    if (rc == 0 && st_signer_vkey(*out)->key_id != s->verifier.key_id) {
        rc = st_store_fail(s, ST_EBADKEY, "%s: key ID %08x is not the store's current key %08x", logp,
                           (unsigned)st_signer_vkey(*out)->key_id, (unsigned)s->verifier.key_id);
        st_signer_free(*out);
        *out = NULL;
    }
    free(logp);
    return rc || !judge ? rc : certified_may_sign(s, txn, now_s, out);
}

int st_keys_seal_signers(st_store *s, st_txn *txn, int64_t now_s, st_signer **out, size_t cap, size_t *n_out)
{
    *n_out = 0;
    if (cap == 0) return ST_EINVAL;
    int rc = current_signer(s, txn, now_s, 1, 1, &out[0]);
    if (rc == 0) *n_out = 1;
    return rc;
}

/* st_store_load_signer (store.c) lands here: the same choice in a read snapshot. */
static int load_current(st_store *s, int judge, st_signer **out)
{
    st_txn *txn;
    int rc = st_db_read_begin(s->db, &txn, &s->err);
    if (rc) return rc;
    rc = current_signer(s, txn, st_now_us() / 1000000, 0, judge, out);
    st_db_read_end(txn);
    return rc;
}

int st_keys_load_current(st_store *s, st_signer **out) { return load_current(s, 1, out); }

int st_keys_load_current_any(st_store *s, st_signer **out) { return load_current(s, 0, out); }

int st_keys_expire_epochs(st_store *s, int64_t now_s, unsigned *wiped)
{
    *wiped = 0;
    char *kd = malloc(strlen(s->dir) + sizeof ST_KEYS_DIR + 2);
    if (!kd) return ENOMEM;
    sprintf(kd, "%s/%s", s->dir, ST_KEYS_DIR);
    int exists = st_eaccess(kd, F_OK) == 0;
    free(kd);
    if (!exists) return 0;
    int fd = st_keys_lock(s->dir, &s->err);
    if (fd < 0) return -fd;
    int64_t next;
    int rc = st_keys_wipe_expired(s->dir, now_s, wiped, &next, &s->err);
    st_keys_unlock(fd);
    return rc;
}
