/*
 * keyhist_rotate.c: `sealtrail key rotate`, without downtime. Hooks keep
 * appending throughout; the handover is one write transaction (LMDB's
 * writer lock orders it among the appends):
 *
 *   1. append the key-rotation entry (a note signed by the old and the new key);
 *   2. seal: the checkpoint covering it (size = its index + 1) is signed by
 *      BOTH keys, and verified against the key history before commit;
 *   3. switch meta vkey to the new key (meta key_mode "epochs" when the new
 *      key is an epoch key).
 *
 * Appends that commit before it are sealed by the handover checkpoint;
 * appends after it are sealed by the new key, because every seal re-reads
 * the current key inside its own transaction (keys.c). Only then are the
 * files replaced, under keys/lock: the old log.key is wiped (or, with
 * --keep-old, left as keys/retired-<hex8>.key, a hard link made before the
 * commit) and keys/next-<hex8>.key renamed to log.key, after log.vkey has
 * been rewritten. If the process dies between commit and rename, the next
 * seal or st_store_load_signer finds meta and files disagreeing and finishes
 * the job, log.vkey included (keyhist_files.c). If it dies before the commit,
 * with --keep-old, the retired-<hex8>.key link stays beside log.key: the next
 * rotation takes it over (--keep-old) or removes it before the old key is
 * wiped (else the wipe, which overwrites only a last name, would leave the key).
 */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct rotate_ctx {
    st_store *s;
    st_signer *old, *new_;
    const char *note;
    size_t len;
    int from_epochs, to_epochs;
    uint64_t index, size;
} rotate_ctx;

/* May `k` sign a checkpoint of `size` at `now` by the history in txn? why gets the reason. */
static int may_sign(st_store *s, st_txn *txn, const st_vkey *k, uint64_t size, int64_t now, char *why, size_t cap)
{
    st_keyhist *h;
    st_err err;
    if (st_keys_history(txn, s, &h, &err) != 0) {
        if (snprintf(why, cap, "%s", err.msg) >= (int)cap && cap > 4) memcpy(why + cap - 4, "...", 4);
        return 0;
    }
    int ok = st_keyhist_explain(h, k->name, strlen(k->name), k->key_id, size, now, 0, why, cap);
    st_keyhist_free(h);
    return ok;
}

static int rotate_txn(st_txn *txn, void *arg)
{
    rotate_ctx *c = arg;
    st_store *s = c->s;
    const char *str;
    size_t len;
    int rc = st_meta_get_str(txn, ST_META_VKEY, &str, &len);
    if (rc) return rc;
    char cur[ST_VKEY_MAX], oldv[ST_VKEY_MAX], newv[ST_VKEY_MAX];
    if (len >= sizeof cur) return ST_ECORRUPT;
    memcpy(cur, str, len);
    cur[len] = 0;
    st_signer_vkey_string(c->old, oldv);
    st_signer_vkey_string(c->new_, newv);
    const char *m;
    size_t ml;
    int epochs = st_meta_get_str(txn, ST_META_KEY_MODE, &m, &ml) == 0 && ml == 6 && memcmp(m, "epochs", 6) == 0;
    if (epochs != c->from_epochs || (!epochs && strcmp(cur, oldv) != 0))
        return st_store_fail(s, ST_EBUSY, "the store's key changed while rotating (now %s); run 'key rotate' again", cur);

    if ((rc = st_keys_append_txn(s, txn, ST_KN_ROTATION, c->note, c->len, &c->index)) != 0) return rc;
    st_signer *both[2] = { c->old, c->new_ };
    int sealed = 0;
    if ((rc = st_seal_txn_signers(s, txn, 1, both, 2, &sealed)) != 0) return rc;
    if ((rc = st_size_txn(txn, &c->size)) != 0) return rc;
    if (!sealed || c->size != c->index + 1)
        return st_store_fail(s, ST_ECORRUPT, "handover checkpoint: sealed %d at size %llu, expected size %llu", sealed,
                             (unsigned long long)c->size, (unsigned long long)c->index + 1);

    /* Before commit: the handover verifies by the history, and the new key may sign what comes next. */
    uint8_t key[8];
    const void *v;
    size_t vl;
    st_be64_put(key, c->size);
    if ((rc = st_db_get(txn, ST_T_CHECKPOINTS, key, 8, &v, &vl)) != 0) return rc;
    st_note note;
    st_checkpoint cp;
    st_err err;
    if (st_note_parse(&note, v, vl, &err) || st_checkpoint_parse(&cp, note.text, note.text_len, &err))
        return st_store_fail(s, ST_ECORRUPT, "handover checkpoint: %s", err.msg);
    st_keyhist *h;
    if ((rc = st_keys_history(txn, s, &h, &s->err)) != 0) return rc;
    rc = st_keyhist_verify_checkpoint(h, &note, &cp, ST_KH_IGNORE_REVOCATIONS, NULL, &err);
    char why[256];
    const st_vkey *nk = st_signer_vkey(c->new_);
    int next_ok = st_keyhist_explain(h, nk->name, strlen(nk->name), nk->key_id, c->size + 1, cp.time_s, 0, why, sizeof why);
    st_keyhist_free(h);
    if (rc) return st_store_fail(s, rc, "handover checkpoint %llu would not verify: %s", (unsigned long long)c->size, err.msg);
    if (!next_ok) return st_store_fail(s, ST_EUNTRUSTED, "the new key could not sign after the handover: %s", why);

    if ((rc = st_meta_put_str(txn, ST_META_VKEY, newv, strlen(newv))) != 0) return rc;
    if (c->to_epochs) return st_meta_put_str(txn, ST_META_KEY_MODE, "epochs", 6);
    rc = st_meta_get_str(txn, ST_META_KEY_MODE, &m, &ml);
    if (rc == 0) rc = st_db_del(txn, ST_T_META, ST_META_KEY_MODE, strlen(ST_META_KEY_MODE));
    return rc == ST_ENOTFOUND ? 0 : rc;
}

/* The key to rotate to: --key, else the newest requested key the history lets
 * sign (any requested key in simple mode), else the current epoch key, else
 * (simple mode only) a fresh one. */
static int choose_target(st_store *s, const char *new_vkey, int64_t now, st_signer **out, char **path, int *to_epochs,
                         int *generated)
{
    *out = NULL;
    *path = NULL;
    *to_epochs = *generated = 0;
    st_txn *txn;
    int rc = st_db_read_begin(s->db, &txn, &s->err);
    if (rc) return rc;
    const char *str;
    size_t len;
    uint64_t size = 0;
    int rooted = st_meta_get_str(txn, ST_META_ROOT_VKEY, &str, &len) == 0;
    if ((rc = st_size_txn(txn, &size)) != 0) goto out;
    char why[256] = "";
    char *kd = malloc(strlen(s->dir) + sizeof ST_KEYS_DIR + 2);
    st_keyfile *files = calloc(1024, sizeof *files);
    size_t nf = 0;
    if (!kd || !files) { rc = ENOMEM; goto done; }
    sprintf(kd, "%s/%s", s->dir, ST_KEYS_DIR);
    if ((rc = st_keys_list_files(s->dir, files, 1024, &nf)) != 0) goto done;
    if (new_vkey) {
        st_vkey want;
        if ((rc = st_vkey_parse(&want, new_vkey, strlen(new_vkey), &s->err)) != 0) goto done;
        for (size_t i = 0; i < nf && !*path; i++)
            if ((files[i].kind == 'n' || files[i].kind == 'e') && files[i].key_id == want.key_id) {
                *path = malloc(strlen(kd) + strlen(files[i].name) + 2);
                if (*path) sprintf(*path, "%s/%s", kd, files[i].name);
                *to_epochs = files[i].kind == 'e';
            }
        if (!*path) {
            rc = st_store_fail(s, ST_ENOKEY, "--key: no keys/next-%08x.key or epoch key file in %s", (unsigned)want.key_id, s->dir);
            goto done;
        }
        if ((rc = st_signer_load(out, *path, &s->err)) != 0) goto done;
        if (!st_vkey_equal(st_signer_vkey(*out), &want)) {
            rc = st_store_fail(s, ST_EBADKEY, "%s does not hold the key %s", *path, new_vkey);
            goto done;
        }
        if (rooted && !may_sign(s, txn, &want, size + 1, now, why, sizeof why)) {
            rc = st_store_fail(s, ST_EUNTRUSTED, "--key %s may not sign now: %s", new_vkey, why);
            goto done;
        }
        goto done;
    }
    /* requested keys, newest first */
    int64_t best_mtime = -1;
    for (size_t i = 0; i < nf; i++) {
        if (files[i].kind != 'n' || files[i].mtime < best_mtime) continue;
        char *p = malloc(strlen(kd) + strlen(files[i].name) + 2);
        if (!p) { rc = ENOMEM; goto done; }
        sprintf(p, "%s/%s", kd, files[i].name);
        st_signer *sg = NULL;
        if ((rc = st_signer_load(&sg, p, &s->err)) != 0) { free(p); goto done; }   /* loose permissions: refuse */
        if (!rooted || may_sign(s, txn, st_signer_vkey(sg), size + 1, now, why, sizeof why)) {
            st_signer_free(*out);
            free(*path);
            *out = sg;
            *path = p;
            best_mtime = files[i].mtime;
        } else {
            st_signer_free(sg);
            free(p);
        }
    }
    if (*out) goto done;
    /* the current epoch key (rotation into epoch mode): the first one certified for now
     * (another file may cover now: a 'key epochs' killed mid-way, or never certified) */
    uint32_t eid;
    char *ep;
    for (size_t i = 0; (ep = st_keys_find_epoch(s->dir, now, i, &eid)) != NULL; i++) {
        st_signer *sg = NULL;
        if ((rc = st_signer_load(&sg, ep, &s->err)) != 0) { free(ep); goto done; }
        if (may_sign(s, txn, st_signer_vkey(sg), size + 1, now, why, sizeof why)) {
            *out = sg;
            *path = ep;
            *to_epochs = 1;
            goto done;
        }
        st_signer_free(sg);
        free(ep);
    }
    if (rooted) {
        rc = st_store_fail(s, ST_ENOKEY, "no certified key to rotate to%s%s: run 'sealtrail key request', have the security team "
                           "certify it, and 'sealtrail key install' the certificate", why[0] ? " (" : "", why[0] ? why : "");
        if (why[0]) strncat(s->err.msg, ")", sizeof s->err.msg - strlen(s->err.msg) - 1);
        goto done;
    }
    /* simple mode: a fresh key; the rotation entry itself carries the trust over */
    rc = st_keys_generate(s->dir, "next-", s->origin, out, path, &s->err);
    if (rc == 0) *generated = 1;
done:
    free(kd);
    free(files);
out:
    st_db_read_end(txn);
    if (rc) {
        st_signer_free(*out);
        *out = NULL;
        free(*path);
        *path = NULL;
    }
    return rc;
}

int st_key_rotate(st_store *s, const char *new_vkey, int keep_old, st_key_rotate_result *out)
{
    memset(out, 0, sizeof *out);
    if (s->flags & ST_OPEN_RDONLY) return st_store_fail(s, ST_ERDONLY, "store opened read-only");
    int64_t now = st_now_us() / 1000000;
    st_signer *old = NULL, *nw = NULL;
    char *new_path = NULL, *retired = NULL, *note = NULL;
    int generated = 0, to_epochs = 0, linked = 0, from_epochs = 0;
    size_t note_len = 0;
    int rc = st_keys_load_current_any(s, &old);      /* finishes an interrupted rotation first; even a revoked key */
    if (rc) return rc;
    st_keys_wipe_stale_tmp(s->dir);                  /* and drops what a killed key generation left */
    {
        st_txn *txn;
        if ((rc = st_db_read_begin(s->db, &txn, &s->err)) != 0) goto out;
        const char *m;
        size_t ml;
        from_epochs = st_meta_get_str(txn, ST_META_KEY_MODE, &m, &ml) == 0 && ml == 6 && memcmp(m, "epochs", 6) == 0;
        st_db_read_end(txn);
    }
    if ((rc = choose_target(s, new_vkey, now, &nw, &new_path, &to_epochs, &generated)) != 0) goto out;
    if (st_vkey_equal(st_signer_vkey(old), st_signer_vkey(nw))) {
        rc = st_store_fail(s, ST_EINVAL, "the new key is the key in use");
        goto out;
    }
    st_keynote *kn = calloc(1, sizeof *kn);
    if (!kn) { rc = ENOMEM; goto out; }
    kn->type = ST_KN_ROTATION;
    snprintf(kn->origin, sizeof kn->origin, "%s", s->origin);
    kn->nkeys = 2;
    kn->keys[0].key = *st_signer_vkey(old);
    kn->keys[1].key = *st_signer_vkey(nw);
    kn->time = now;
    st_buf text = { 0 }, nb = { 0 };
    st_keynote_format_text(&text, kn);
    free(kn);
    st_signer *both[2] = { old, nw };
    rc = text.oom ? ENOMEM : st_note_sign(&nb, (const char *)text.data, text.len, both, 2, &s->err);
    st_buf_free(&text);
    if (rc) { st_buf_free(&nb); goto out; }
    note = st_buf_steal_str(&nb, &note_len);
    if (!note) { rc = ENOMEM; goto out; }

    if (!from_epochs) {
        /* A keys/retired-<old id>.key that is another name of log.key itself was left by a
         * --keep-old rotation killed before its commit (the link comes first): --keep-old
         * takes it as its own link; without --keep-old it goes, else the wipe of log.key
         * (which overwrites only a file's last name) would leave the old key's bytes there. */
        size_t n = strlen(s->dir) + 64;
        char *logp = malloc(n);
        retired = malloc(n);
        if (!logp || !retired) { free(logp); rc = ENOMEM; goto out; }
        snprintf(logp, n, "%s/%s", s->dir, ST_KEY_FILE);
        snprintf(retired, n, "%s/%s/retired-%08x.key", s->dir, ST_KEYS_DIR, (unsigned)st_signer_vkey(old)->key_id);
        struct stat ls, rs;
        int left = lstat(logp, &ls) == 0 && lstat(retired, &rs) == 0 && S_ISREG(rs.st_mode) &&
                   ls.st_dev == rs.st_dev && ls.st_ino == rs.st_ino;
        if (keep_old && left) {
            linked = 1;
        } else if (keep_old) {                        /* a second name keeps the old key's bytes alive */
            if ((rc = st_keys_dir_ensure(s->dir, &s->err)) == 0 && link(logp, retired) != 0)
                rc = st_store_fail(s, errno, "%s: %s", retired, strerror(errno));
            linked = rc == 0;
        } else if (left && unlink(retired) != 0 && errno != ENOENT) {
            rc = st_store_fail(s, errno, "%s: cannot remove: %s", retired, strerror(errno));
        }
        free(logp);
        if (rc) goto out;
    }

    rotate_ctx c = { s, old, nw, note, note_len, from_epochs, to_epochs, 0, 0 };
    s->publish_line[0] = 0;
    if ((rc = st_db_write(s->db, rotate_txn, &c, &s->err)) != 0) goto out;
    st_seal_publish(s);
    out->index = c.index;
    out->handover_size = c.size;
    out->to_epochs = to_epochs;
    out->kept_old = linked;
    st_signer_vkey_string(old, out->old_vkey);
    st_signer_vkey_string(nw, out->new_vkey);
    snprintf(s->vkey, sizeof s->vkey, "%s", out->new_vkey);
    s->verifier = *st_signer_vkey(nw);

    /* Committed: now the files follow, log.vkey first (or the next seal makes them follow). */
    int fd = st_keys_lock(s->dir, &s->err);
    if (fd < 0) { rc = -fd; goto out; }
    rc = st_keys_complete_files(s->dir, s->vkey, s->verifier.key_id, !to_epochs, &s->err);
    st_keys_unlock(fd);
    generated = 0;      /* the key is in use now: never wipe it below */
    linked = 0;
out:
    if (rc && linked && retired) unlink(retired);
    if (rc && generated && new_path) st_keys_wipe(new_path, NULL);
    free(retired);
    free(new_path);
    free(note);
    st_signer_free(old);
    st_signer_free(nw);
    return rc;
}
