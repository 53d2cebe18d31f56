/*
 * seal.c: signing checkpoints. A seal recomputes the root from the stored
 * tree, proves consistency with the previous checkpoint and verifies that
 * proof with the independent verifier, signs, verifies its own signature
 * (st_checkpoint_sign does), and stores the note, all inside the caller's
 * write transaction. After commit the checkpoint is published to syslog, so
 * a store rolled back later contradicts the journal.
 */
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "keys.h"
#include "seal.h"
#include "sign.h"

/* Reads and checks the latest checkpoint at or below `size`; out->size = 0 if none. */
static int latest_checkpoint(st_store *s, st_txn *txn, st_checkpoint *out)
{
    memset(out, 0, sizeof *out);
    st_cursor *c;
    int rc = st_cursor_open(txn, ST_T_CHECKPOINTS, &c);
    if (rc) return rc == ST_ENOTFOUND ? 0 : rc;
    const void *k, *v;
    size_t kl, vl;
    rc = st_cursor_last(c, &k, &kl, &v, &vl);
    if (rc == ST_ENOTFOUND) { st_cursor_close(c); return 0; }
    if (rc) { st_cursor_close(c); return rc; }
    st_note note;
    st_err err;
    if (kl != 8 || st_note_parse(&note, v, vl, &err) != 0 ||
        st_checkpoint_parse(out, note.text, note.text_len, &err) != 0) {
        st_cursor_close(c);
        return st_store_fail(s, ST_ECORRUPT, "latest checkpoint: malformed: %s", err.msg);
    }
    if (out->size != st_be64_get(k)) {
        st_cursor_close(c);
        return st_store_fail(s, ST_ECORRUPT, "checkpoint stored under size %llu says size %llu",
                             (unsigned long long)st_be64_get(k), (unsigned long long)out->size);
    }
    /* --- keys (issue 5): any key of this store's history that may sign it; a
     * revocation does not make the store's own last checkpoint foreign --- */
    st_vkey keys[ST_KEYS_MAX];
    size_t nkeys = 0;
    rc = st_keys_for_checkpoint_flags(txn, s, out, ST_KH_IGNORE_REVOCATIONS, keys, &nkeys);
    if (rc == 0) rc = st_note_verify(&note, keys, nkeys, NULL, &err);
    else snprintf(err.msg, sizeof err.msg, "key history: %s", st_strerror(rc));
    /* --- end keys --- */
    st_cursor_close(c);
    if (rc) return st_store_fail(s, ST_ECORRUPT, "checkpoint %llu: signature: %s", (unsigned long long)out->size, err.msg);
    return 0;
}

static int policy_wants_seal(const st_store *s, uint64_t unsealed, uint64_t oldest_us)
{
    if (unsealed >= s->seal_max_entries) return 1;
    return oldest_us && st_now_us() - (int64_t)oldest_us >= s->seal_max_age_us;
}

int st_seal_txn(st_store *s, st_txn *txn, int force, int *sealed_out)
{
    return st_seal_txn_signers(s, txn, force, NULL, 0, sealed_out);
}

/* --- keys (issue 5): signers given (a rotation's handover) or chosen by keys.c --- */
int st_seal_txn_signers(st_store *s, st_txn *txn, int force, st_signer *const *given, size_t ngiven, int *sealed_out)
/* --- end keys --- */
{
    *sealed_out = 0;
    uint64_t size, sealed, oldest;
    int rc;
    if (s->seal_on_append) force = 1;     /* the hook on Stop/StopFailure/SessionEnd: seal in the append's transaction */
    /* --- keys (issue 5): wipe epoch keys whose window ended (one meta read when none is due) --- */
    if ((rc = st_keys_expire_due(s, txn, st_now_us() / 1000000)) != 0) return rc;
    /* --- end keys --- */
    if ((rc = st_size_txn(txn, &size)) || (rc = st_meta_get_u64(txn, ST_META_SEALED, &sealed)) ||
        (rc = st_meta_get_u64(txn, ST_META_UNSEALED_US, &oldest)))
        return rc;
    if (size == sealed) {                /* nothing new; an empty log is sealed once, on demand */
        uint64_t ncp = 0;
        if (!force || (rc = st_db_count(txn, ST_T_CHECKPOINTS, &ncp)) != 0 || ncp > 0) return rc;
    }
    if (!force && !policy_wants_seal(s, size - sealed, oldest)) return 0;

    st_checkpoint prev;
    if ((rc = latest_checkpoint(s, txn, &prev)) != 0) return rc;
    if (prev.size != sealed)
        return st_store_fail(s, ST_ECORRUPT, "meta says sealed size %llu, latest checkpoint has size %llu",
                             (unsigned long long)sealed, (unsigned long long)prev.size);
    st_hash root;
    if ((rc = st_tree_root_txn(txn, size, root)) != 0)
        return rc == ST_EDB ? rc : st_store_fail(s, ST_ECORRUPT, "tree of size %llu: cannot compute root", (unsigned long long)size);
    if (prev.size > 0) {   /* never sign a checkpoint inconsistent with the last one [CP-6] */
        st_hash *proof = NULL;
        size_t np = 0;
        if ((rc = st_prove_consistency_txn(txn, prev.size, size, &proof, &np)) != 0) return rc;
        rc = st_verify_consistency(prev.size, size, prev.root, root, (const st_hash *)proof, np);
        free(proof);
        if (rc) return st_store_fail(s, ST_ECORRUPT, "tree of size %llu is not consistent with checkpoint %llu",
                                     (unsigned long long)size, (unsigned long long)prev.size);
    }
    int64_t now_s = st_now_us() / 1000000;
    if (now_s < prev.time_s) now_s = prev.time_s;     /* checkpoint times never go backwards [CP-2] */

    /* --- keys (issue 5): the current key (epoch key in epoch mode), or the given signers --- */
    st_signer *loaded[ST_KEYS_MAX_SIGNERS];
    size_t nloaded = 0;
    if (ngiven == 0 && (rc = st_keys_seal_signers(s, txn, now_s, loaded, ST_KEYS_MAX_SIGNERS, &nloaded)) != 0) return rc;
    st_signer *const *signers = ngiven ? given : loaded;
    size_t nsigners = ngiven ? ngiven : nloaded;
    st_buf note = { 0 };
    st_err err;
    rc = st_checkpoint_sign(&note, signers, nsigners, s->origin, size, root, now_s, &err);
    for (size_t i = 0; i < nloaded; i++) st_signer_free(loaded[i]);
    /* --- end keys --- */
    if (rc) { st_buf_free(&note); return st_store_fail(s, rc, "signing checkpoint %llu: %s", (unsigned long long)size, err.msg); }
    uint8_t key[8];
    st_be64_put(key, size);
    rc = st_db_put(txn, ST_T_CHECKPOINTS, key, 8, note.data, note.len, ST_PUT_APPEND);
    st_buf_free(&note);
    if (rc == 0) rc = st_meta_put_u64(txn, ST_META_SEALED, size);
    if (rc == 0) rc = st_meta_put_u64(txn, ST_META_UNSEALED_US, 0);
    if (rc) return rc;
    if (s->syslog) {
        char b64[45];
        st_b64_encode(b64, root, ST_HASH_BYTES);
        snprintf(s->publish_line, sizeof s->publish_line, "checkpoint %s %llu %s %lld", s->origin,
                 (unsigned long long)size, b64, (long long)now_s);
    }
    *sealed_out = 1;
    return 0;
}

void st_seal_publish(st_store *s)
{
    if (!s->publish_line[0]) return;
    openlog("sealtrail", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
    syslog(LOG_INFO, "%s", s->publish_line);
    closelog();
    s->publish_line[0] = 0;
}

typedef struct seal_ctx {
    st_store *s;
    int sealed;
} seal_ctx;

static int seal_txn(st_txn *txn, void *arg)
{
    seal_ctx *c = arg;
    return st_seal_txn(c->s, txn, 1, &c->sealed);
}

void st_seal_on_append(st_store *s, int on) { s->seal_on_append = on; }

int st_sealed_size(st_store *s, uint64_t *sealed_out)
{
    st_txn *txn;
    int rc = st_db_read_begin(s->db, &txn, &s->err);
    if (rc) return rc;
    rc = st_meta_get_u64(txn, ST_META_SEALED, sealed_out);
    st_db_read_end(txn);
    return rc == ST_ENOTFOUND ? ST_ECORRUPT : rc;
}

int st_seal(st_store *s, char **note_out, size_t *len_out)
{
    if (s->flags & ST_OPEN_RDONLY) return st_store_fail(s, ST_ERDONLY, "store opened read-only");
    seal_ctx c = { s, 0 };
    s->publish_line[0] = 0;
    int rc = st_db_write(s->db, seal_txn, &c, &s->err);
    if (rc) return rc;
    if (c.sealed) st_seal_publish(s);
    return note_out ? st_checkpoint_latest(s, note_out, len_out) : 0;
}
