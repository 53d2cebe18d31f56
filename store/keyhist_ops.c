/*
 * keyhist_ops.c: the key-management operations other than rotation
 * (keyhist_rotate.c). On the log host: `key request` (a new key and its
 * self-signed request), `key epochs` (a batch of epoch keys and their
 * request), `key install` (verify a root-signed certificate, epoch schedule
 * or revocation against the pinned root and record it in the log). On the
 * security team's machine, without a store: `key certify` and `key revoke`.
 * Every note is a C2SP signed note in the formats of docs/KEYS.md, built
 * from an st_keynote and parsed back before it leaves this file.
 */
#include "keys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_VALIDITY_DEFAULT (400LL * 86400)

static void fmt_time(char out[32], int64_t t)
{
    st_time_format_rfc3339(out, t * 1000000);
    char *dot = strstr(out, ".000000Z");
    if (dot) strcpy(dot, "Z");
}

/* Formats kn's text, signs it, and checks that the result parses back to the same note. */
static int sign_keynote(const st_keynote *kn, st_signer *const *signers, size_t n, char **out, size_t *len_out, st_err *err)
{
    st_buf text = { 0 }, note = { 0 };
    st_keynote_format_text(&text, kn);
    if (text.oom) return st_fail(err, ENOMEM, "out of memory");
    int rc = st_note_sign(&note, (const char *)text.data, text.len, signers, n, err);
    st_buf_free(&text);
    if (rc) { st_buf_free(&note); return rc; }
    st_keynote *back = malloc(sizeof *back);
    if (!back) { st_buf_free(&note); return st_fail(err, ENOMEM, "out of memory"); }
    rc = st_keynote_parse(back, (const char *)note.data, note.len, err);
    free(back);
    if (rc) { st_buf_free(&note); return rc; }
    *out = st_buf_steal_str(&note, len_out);
    return *out ? 0 : st_fail(err, ENOMEM, "out of memory");
}

/* ---- requests (log host) ---------------------------------------------------------------------------- */

int st_key_request(st_store *s, int current, int64_t not_before, int64_t not_after, char **note_out, size_t *len_out)
{
    *note_out = NULL;
    if (not_before < 0 || not_after <= not_before || not_after > ST_KN_TIME_MAX)
        return st_store_fail(s, ST_EINVAL, "validity: not-before %lld must be before not-after %lld", (long long)not_before,
                             (long long)not_after);
    st_signer *sg = NULL;
    char *path = NULL;
    int rc = current ? st_keys_load_current_any(s, &sg) : st_keys_generate(s->dir, "next-", s->origin, &sg, &path, &s->err);
    if (rc) return rc;
    st_keynote *kn = calloc(1, sizeof *kn);
    if (!kn) { rc = ENOMEM; goto out; }
    kn->type = ST_KN_REQUEST;
    snprintf(kn->origin, sizeof kn->origin, "%s", s->origin);
    kn->nkeys = 1;
    kn->keys[0].key = *st_signer_vkey(sg);
    kn->keys[0].not_before = not_before;
    kn->keys[0].not_after = not_after;
    rc = sign_keynote(kn, &sg, 1, note_out, len_out, &s->err);
out:
    if (rc && path) st_keys_wipe(path, NULL);
    free(kn);
    free(path);
    st_signer_free(sg);
    return rc;
}

typedef struct expiry_ctx {
    int64_t na;
} expiry_ctx;

static int set_expiry(st_txn *txn, void *arg)
{
    expiry_ctx *c = arg;
    uint64_t cur = 0;
    int rc = st_meta_get_u64(txn, ST_META_EPOCH_EXPIRY, &cur);
    if (rc && rc != ST_ENOTFOUND) return rc;
    if (rc == 0 && cur != 0 && (int64_t)cur <= c->na) return 0;
    return st_meta_put_u64(txn, ST_META_EPOCH_EXPIRY, (uint64_t)c->na);
}

int st_key_epochs_request(st_store *s, int64_t start, int64_t length, unsigned count, char **note_out, size_t *len_out)
{
    *note_out = NULL;
    if (count == 0 || count > ST_KN_MAX_EPOCHS)
        return st_store_fail(s, ST_EINVAL, "--count %u: between 1 and %u epochs per batch", count, ST_KN_MAX_EPOCHS);
    if (length < 60 || start < 0 || start > ST_KN_TIME_MAX - (int64_t)count * length)
        return st_store_fail(s, ST_EINVAL, "epochs: length %lld s (at least 60) from %lld does not fit", (long long)length,
                             (long long)start);
    st_keynote *kn = calloc(1, sizeof *kn);
    st_signer **sg = calloc(count, sizeof *sg);
    char **paths = calloc(count, sizeof *paths);
    int rc = 0;
    if (!kn || !sg || !paths) { rc = ENOMEM; goto out; }
    kn->type = ST_KN_EPOCHS_REQUEST;
    snprintf(kn->origin, sizeof kn->origin, "%s", s->origin);
    kn->nkeys = count;
    for (unsigned i = 0; i < count && rc == 0; i++) {
        int64_t nb = start + (int64_t)i * length, na = nb + length;
        char prefix[64];
        snprintf(prefix, sizeof prefix, "epoch-%lld-%lld-", (long long)nb, (long long)na);
        if ((rc = st_keys_generate(s->dir, prefix, s->origin, &sg[i], &paths[i], &s->err)) != 0) break;
        kn->keys[i].key = *st_signer_vkey(sg[i]);
        kn->keys[i].not_before = nb;
        kn->keys[i].not_after = na;
    }
    if (rc == 0) rc = sign_keynote(kn, sg, count, note_out, len_out, &s->err);
    if (rc == 0) {
        expiry_ctx c = { start + length };
        rc = st_db_write(s->db, set_expiry, &c, &s->err);
    }
out:
    for (unsigned i = 0; sg && i < count; i++) {
        if (rc && paths[i]) st_keys_wipe(paths[i], NULL);
        st_signer_free(sg[i]);
        free(paths ? paths[i] : NULL);
    }
    if (rc) { free(*note_out); *note_out = NULL; }
    free(kn);
    free(sg);
    free(paths);
    return rc;
}

/* ---- install (log host) ---------------------------------------------------------------------------------- */

typedef struct install_ctx {
    st_store *s;
    const char *note;
    size_t len;
    const st_keynote *kn;
    const char *root_str;     /* pin this root if none is pinned */
    int seal;
    st_key_install_info *info;
} install_ctx;

typedef struct dup_ctx {
    const char *note;
    size_t len;
    int found;
    uint64_t index;
} dup_ctx;

static int find_dup(void *arg, uint64_t index, const char *note, size_t len)
{
    dup_ctx *d = arg;
    if (len == d->len && memcmp(note, d->note, len) == 0) {
        d->found = 1;
        d->index = index;
    }
    return 0;
}

static int install_txn(st_txn *txn, void *arg)
{
    install_ctx *c = arg;
    c->info->already = c->info->sealed = c->info->pinned_root = 0;
    dup_ctx d = { c->note, c->len, 0, 0 };
    int rc = st_keys_each(txn, find_dup, &d);
    if (rc) return rc;
    if (d.found) {
        c->info->already = 1;
        c->info->index = d.index;
        return 0;
    }
    const char *str;
    size_t len;
    rc = st_meta_get_str(txn, ST_META_ROOT_VKEY, &str, &len);
    if (rc == ST_ENOTFOUND) {
        if ((rc = st_meta_put_str(txn, ST_META_ROOT_VKEY, c->root_str, strlen(c->root_str))) != 0) return rc;
        c->info->pinned_root = 1;
    } else if (rc) {
        return rc;
    } else if (len != strlen(c->root_str) || memcmp(str, c->root_str, len) != 0) {
        return st_store_fail(c->s, ST_EUNTRUSTED, "the store's pinned root changed while installing; try again");
    }
    if ((rc = st_keys_append_txn(c->s, txn, c->kn->type, c->note, c->len, &c->info->index)) != 0) return rc;
    if (c->seal) {
        int src = st_seal_txn(c->s, txn, 1, &c->info->sealed);
        if (src == ST_EDB) return src;             /* map full: the whole transaction is retried */
        if (src) c->info->sealed = 0;              /* recorded; sealed by the next seal */
    }
    return 0;
}

/* The root to check against: the pinned one, or root_vkey (pinned by this install). */
static int choose_root(st_store *s, const char *root_vkey, st_vkey *root, char out[ST_VKEY_MAX])
{
    st_txn *txn;
    int rc = st_db_read_begin(s->db, &txn, &s->err);
    if (rc) return rc;
    const char *str;
    size_t len;
    rc = st_meta_get_str(txn, ST_META_ROOT_VKEY, &str, &len);
    char pinned[ST_VKEY_MAX] = "";
    if (rc == 0 && len < sizeof pinned) { memcpy(pinned, str, len); pinned[len] = 0; }
    st_db_read_end(txn);
    if (rc && rc != ST_ENOTFOUND) return rc;
    st_vkey given;
    st_err e2;   /* not s->err: st_store_fail formats into it */
    if (root_vkey && st_vkey_parse(&given, root_vkey, strlen(root_vkey), &e2) != 0)
        return st_store_fail(s, ST_EBADKEY, "--root-vkey: %s", e2.msg);
    if (pinned[0]) {
        if (st_vkey_parse(root, pinned, strlen(pinned), &s->err) != 0)
            return st_store_fail(s, ST_ECORRUPT, "meta %s: not a verifier key", ST_META_ROOT_VKEY);
        if (root_vkey && !st_vkey_equal(&given, root))
            return st_store_fail(s, ST_EUNTRUSTED, "root mismatch: this store pins the root %s, --root-vkey is %s", pinned, root_vkey);
    } else {
        if (!root_vkey)
            return st_store_fail(s, ST_EUNTRUSTED, "no root is pinned yet: give --root-vkey with the root's verifier key "
                                 "(from the security team, out of band); this install pins it");
        *root = given;
    }
    if (strcmp(root->name, s->origin) == 0)
        return st_store_fail(s, ST_EINVAL, "the root key is named like this log's origin (%s): a root needs a name of its own",
                             s->origin);
    st_vkey_format(out, root);
    return 0;
}

int st_key_install(st_store *s, const char *note, size_t len, const char *root_vkey, st_key_install_info *info)
{
    memset(info, 0, sizeof *info);
    if (s->flags & ST_OPEN_RDONLY) return st_store_fail(s, ST_ERDONLY, "store opened read-only");
    st_keynote *kn = malloc(sizeof *kn);
    if (!kn) return ENOMEM;
    st_err e2;
    int rc = st_keynote_parse(kn, note, len, &e2);
    if (rc) { rc = st_store_fail(s, rc, "%s", e2.msg); goto out; }
    info->type = kn->type;
    const char *kind = st_keynote_kind(kn->type);
    if (kn->type == ST_KN_REQUEST || kn->type == ST_KN_EPOCHS_REQUEST) {
        rc = st_store_fail(s, ST_EINVAL, "this is a %s: the security team certifies it ('sealtrail key certify --root "
                           "ROOT.key REQUEST') and you install the certificate", kind);
        goto out;
    }
    if (kn->type == ST_KN_ROTATION) {
        rc = st_store_fail(s, ST_EINVAL, "a key-rotation is recorded by 'sealtrail key rotate', not installed");
        goto out;
    }
    if (strcmp(kn->origin, s->origin) != 0) {
        rc = st_store_fail(s, ST_EPOLICY, "the %s is for origin %s; this store's origin is %s", kind, kn->origin, s->origin);
        goto out;
    }
    st_vkey root;
    char root_str[ST_VKEY_MAX];
    if ((rc = choose_root(s, root_vkey, &root, root_str)) != 0) goto out;
    if ((rc = st_keynote_verify_root(kn, &root, 1, NULL, &e2)) != 0) {
        rc = st_store_fail(s, rc, "%s%s", rc == ST_EUNTRUSTED ? "root mismatch: " : "", e2.msg);
        goto out;
    }
    int64_t now = st_now_us() / 1000000;
    char a[32], b[32];
    if (kn->type == ST_KN_CERTIFICATE) {
        fmt_time(a, kn->keys[0].not_before);
        fmt_time(b, kn->keys[0].not_after);
        if (kn->keys[0].not_after <= now) {
            rc = st_store_fail(s, ST_EPOLICY, "the certificate expired at %s (valid %s to %s)", b, a, b);
            goto out;
        }
        if (kn->keys[0].not_before > now) {
            rc = st_store_fail(s, ST_EPOLICY, "the certificate is not valid yet: valid from %s (install it then)", a);
            goto out;
        }
        uint32_t id = kn->keys[0].key.key_id;
        char *p = st_keys_find_file(s->dir, "next-", id);
        info->have_key_file = p != NULL || s->verifier.key_id == id;
        info->in_use = s->verifier.key_id == id;
        free(p);
    } else if (kn->type == ST_KN_EPOCHS) {
        fmt_time(b, kn->keys[kn->nkeys - 1].not_after);
        if (kn->keys[kn->nkeys - 1].not_after <= now) {
            rc = st_store_fail(s, ST_EPOLICY, "every epoch of the schedule has ended (the last at %s)", b);
            goto out;
        }
        unsigned have = 0;
        for (size_t i = 0; i < kn->nkeys; i++) {
            char *p = st_keys_find_file(s->dir, "epoch-", kn->keys[i].key.key_id);
            have += p != NULL || kn->keys[i].not_after <= now;
            free(p);
        }
        info->have_key_file = have == kn->nkeys;
        snprintf(info->detail, sizeof info->detail, "%zu epochs, %u key files present or already ended", kn->nkeys, have);
    } else {   /* revocation */
        st_signer *cur = NULL;
        if (st_keys_load_current_any(s, &cur) == 0) {
            info->revokes_current = st_vkey_equal(st_signer_vkey(cur), &kn->keys[0].key) && kn->time < now;
            st_signer_free(cur);
        }
    }
    install_ctx c = { s, note, len, kn, root_str, !info->revokes_current, info };
    s->publish_line[0] = 0;
    if ((rc = st_db_write(s->db, install_txn, &c, &s->err)) != 0) goto out;
    if (info->sealed) st_seal_publish(s);
out:
    free(kn);
    return rc;
}

/* ---- the security team's side ------------------------------------------------------------------------------- */

int st_key_certify(st_signer *root, const char *request, size_t len, const st_key_certify_opts *o, char **note_out,
                   size_t *len_out, st_err *err)
{
    *note_out = NULL;
    st_keynote *kn = malloc(sizeof *kn);
    if (!kn) return st_fail(err, ENOMEM, "out of memory");
    int rc = st_keynote_parse(kn, request, len, err);
    if (rc) goto out;
    if (kn->type != ST_KN_REQUEST && kn->type != ST_KN_EPOCHS_REQUEST) {
        rc = st_fail(err, ST_EINVAL, "this is a %s, not a key-request or key-epochs-request", st_keynote_kind(kn->type));
        goto out;
    }
    if ((rc = st_keynote_verify_self(kn, err)) != 0) goto out;
    const st_vkey *rk = st_signer_vkey(root);
    if (o && o->origin && strcmp(o->origin, kn->origin) != 0) {
        rc = st_fail(err, ST_EPOLICY, "the request is for origin %s, not %s", kn->origin, o->origin);
        goto out;
    }
    if (strcmp(rk->name, kn->origin) == 0) {
        rc = st_fail(err, ST_EINVAL, "the root key is named like the log's origin (%s): a root needs a name of its own", rk->name);
        goto out;
    }
    int64_t maxv = o && o->max_validity ? o->max_validity : MAX_VALIDITY_DEFAULT;
    if (kn->type == ST_KN_REQUEST) {
        if (o && o->not_before) kn->keys[0].not_before = o->not_before;
        if (o && o->not_after) kn->keys[0].not_after = o->not_after;
    }
    int64_t now = st_now_us() / 1000000;
    for (size_t i = 0; i < kn->nkeys; i++) {
        const st_keywin *w = &kn->keys[i];
        char a[32], b[32];
        fmt_time(a, w->not_before);
        fmt_time(b, w->not_after);
        if (w->not_before >= w->not_after) {
            rc = st_fail(err, ST_EINVAL, "not-before %s is not before not-after %s", a, b);
            goto out;
        }
        if (w->not_after - w->not_before > maxv) {
            rc = st_fail(err, ST_EPOLICY, "requested validity %s to %s is %lld days, over the maximum of %lld days "
                         "(--max-validity, or shorten it with --not-after)", a, b,
                         (long long)((w->not_after - w->not_before) / 86400), (long long)(maxv / 86400));
            goto out;
        }
        if (kn->type == ST_KN_REQUEST && w->not_after <= now) {
            rc = st_fail(err, ST_EPOLICY, "the requested window ended at %s", b);
            goto out;
        }
    }
    kn->type = kn->type == ST_KN_REQUEST ? ST_KN_CERTIFICATE : ST_KN_EPOCHS;
    rc = sign_keynote(kn, &root, 1, note_out, len_out, err);
out:
    free(kn);
    return rc;
}

int st_key_revoke(st_signer *root, const st_vkey *key, int64_t after, const char *reason, char **note_out, size_t *len_out,
                  st_err *err)
{
    *note_out = NULL;
    const st_vkey *rk = st_signer_vkey(root);
    if (strcmp(rk->name, key->name) == 0)
        return st_fail(err, ST_EINVAL, "the key is named like the root (%s): revoke log keys, whose name is their log's origin", rk->name);
    if (after < 0 || after > ST_KN_TIME_MAX) return st_fail(err, ST_EINVAL, "--after: out of range");
    if (reason && strlen(reason) > ST_KN_REASON_MAX)
        return st_fail(err, ST_EINVAL, "--reason: %zu bytes (at most %u)", strlen(reason), ST_KN_REASON_MAX);
    for (const char *p = reason; p && *p; p++)
        if ((unsigned char)*p < 0x20) return st_fail(err, ST_EINVAL, "--reason: control characters are not allowed");
    st_keynote *kn = calloc(1, sizeof *kn);
    if (!kn) return st_fail(err, ENOMEM, "out of memory");
    kn->type = ST_KN_REVOCATION;
    snprintf(kn->origin, sizeof kn->origin, "%s", key->name);
    kn->nkeys = 1;
    kn->keys[0].key = *key;
    kn->time = after;
    if (reason) snprintf(kn->reason, sizeof kn->reason, "%s", reason);
    int rc = sign_keynote(kn, &root, 1, note_out, len_out, err);
    free(kn);
    return rc;
}
