/*
 * keys.h: the store side of key management (docs/KEYS.md): the key history
 * table, which key files sign, requests, installation of certificates,
 * epoch schedules and revocations, rotation, and the security team's
 * certify/revoke (which need no store). The decisions themselves (which key
 * may sign which checkpoint) are store/verify/keyhist.c, shared with
 * auditverify.
 *
 * Files in the store directory (all 0600, created O_EXCL|O_NOFOLLOW, in
 * DIR/keys/ mode 0700):
 *
 *   log.key                               the current long-lived log key
 *   keys/next-<hex8>.key                  requested by `key request`, waiting for rotation
 *   keys/epoch-<nb>-<na>-<hex8>.key       epoch keys; wiped when the window [nb, na) ends
 *   keys/retired-<hex8>.key               an old key kept by `key rotate --keep-old`
 *   keys/lock                             flock(2) serializing key-file changes
 *
 * Meta (in the store's meta table):
 *
 *   root_vkey     the pinned root (first `key install`)
 *   key_first     the store's key before any key history: its own anchor
 *                 for `sealtrail check` (auditors pin the root instead)
 *   key_mode      "epochs" once a rotation handed over to epoch keys
 *   epoch_expiry  u64: earliest end of an epoch whose key file may still exist
 *
 * A key-history entry is recorded together with a row of the keys table
 * (u64be index -> the signed note) in the entry's write transaction.
 *
 * CAVEATS
 *  - Rotation commits first (entry, handover checkpoint signed by both keys,
 *    meta vkey), then replaces the key files under keys/lock. A crash in
 *    between is finished by the next seal (st_keys_seal_signers) or
 *    st_store_load_signer: the files follow the meta, never the reverse.
 *  - "Wiped" means overwritten with zeros, fsynced and unlinked: the best a
 *    program can do; journaling and copy-on-write file systems and SSDs may
 *    keep old blocks (docs/KEYS.md says what that means).
 */
#ifndef ST_KEYS_H
#define ST_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "keyhist.h"
#include "sign.h"
#include "store_int.h"

#define ST_KEYS_DIR          "keys"
#define ST_META_ROOT_VKEY    "root_vkey"
#define ST_META_KEY_FIRST    "key_first"
#define ST_META_KEY_MODE     "key_mode"
#define ST_META_EPOCH_EXPIRY "epoch_expiry"

/* The store's key mode: "epochs" once a rotation handed over to epoch keys,
 * "root-certified" when a root is pinned, else "simple". cap >= 16. */
ST_NODISCARD int st_key_mode_txn(struct st_txn *txn, char *out, size_t cap);

#define ST_KEYS_VALIDITY_DEFAULT (365LL * 86400)   /* requested validity of a certificate */
#define ST_KEYS_MAX_SIGNERS 4u

/* ---- history (keys.c) ---------------------------------------------------------------- */

/* The store's key history as of txn: roots = the pinned root, pinned = the
 * store's first key (or current key when there is no history), and every
 * recorded note. Caller frees with st_keyhist_free. */
ST_NODISCARD int st_keys_history(struct st_txn *txn, const struct st_store *s, st_keyhist **out, st_err *err);

/* st_keys_for_checkpoint with keyhist flags (ST_KH_IGNORE_REVOCATIONS: the
 * seal's "is the previous checkpoint ours?" check, which a revocation must
 * not turn into "this store can never seal again"). */
ST_NODISCARD int st_keys_for_checkpoint_flags(struct st_txn *txn, const struct st_store *s, const st_checkpoint *cp,
                                              unsigned flags, st_vkey keys_out[ST_KEYS_MAX], size_t *n_out);

/* Verifies a signed checkpoint note against the store's key history, with
 * the reason for each signer that may not sign it (st_keyhist_verify_checkpoint).
 * For callers that want the reason `check` cannot give through st_keys_for_checkpoint. */
ST_NODISCARD int st_keys_verify_checkpoint(struct st_txn *txn, const struct st_store *s, const char *note, size_t len,
                                           st_err *err);

/* The keys the store itself would give auditverify as --trust: the pinned
 * root (if any) and the store's first key (or the current key when there is
 * no key history). With them, bundles of this store verify across every
 * rotation; trusting only the current key (st_store_vkey) does not verify
 * checkpoints signed before the last rotation. out[2]. */
ST_NODISCARD int st_keys_trust_anchors(struct st_store *s, st_vkey out[2], size_t *n_out);

/* The key that signs now, in a read snapshot (st_store_load_signer). In
 * root mode a certified key that may not sign now (expired, revoked) is
 * refused with ST_EPOLICY; _any loads it anyway (rotation away from it,
 * a request for it). */
ST_NODISCARD int st_keys_load_current(struct st_store *s, st_signer **out);
ST_NODISCARD int st_keys_load_current_any(struct st_store *s, st_signer **out);

/* Number of history rows (0 = simple mode without history). */
ST_NODISCARD int st_keys_count(struct st_txn *txn, uint64_t *n_out);

/* Calls fn for every history note in index order (export, key list). */
typedef int (*st_keys_note_fn)(void *ctx, uint64_t index, const char *note, size_t len);
ST_NODISCARD int st_keys_each(struct st_txn *txn, st_keys_note_fn fn, void *ctx);

/* The signers of a seal at now_s, inside a write transaction: re-reads the
 * current key from meta (another process may have rotated), finishes an
 * interrupted rotation, wipes epoch keys whose window ended, and loads the
 * key that signs now (the epoch key in epoch mode, else log.key). */
ST_NODISCARD int st_keys_seal_signers(struct st_store *s, struct st_txn *txn, int64_t now_s,
                                      st_signer **out, size_t cap, size_t *n_out);

/* The same, inside a write transaction, only when meta epoch_expiry says an
 * epoch has ended (otherwise one meta read): called by every seal attempt,
 * so by every append that checks the seal policy. */
ST_NODISCARD int st_keys_expire_due(struct st_store *s, struct st_txn *txn, int64_t now_s);

/* Wipes the key files of epochs that ended before now_s (any process; takes
 * keys/lock). *wiped gets how many. Used by `key list` and `status`. */
ST_NODISCARD int st_keys_expire_epochs(struct st_store *s, int64_t now_s, unsigned *wiped);

/* Seals inside txn as st_seal_txn does, signed by exactly `signers` when
 * n > 0 (a rotation's handover: old and new key), else by the current key
 * (st_keys_seal_signers). Implemented in seal.c. */
ST_NODISCARD int st_seal_txn_signers(struct st_store *s, struct st_txn *txn, int force,
                                     st_signer *const *signers, size_t n, int *sealed_out);

/* ---- key files (keyhist_files.c) --------------------------------------------------------------- */

/* DIR/keys created 0700 if absent. */
ST_NODISCARD int st_keys_dir_ensure(const char *store_dir, st_err *err);
/* flock(LOCK_EX) on DIR/keys/lock; returns the fd (>= 0) or -errno. */
int st_keys_lock(const char *store_dir, st_err *err);
void st_keys_unlock(int fd);
/* Overwrites a key file with zeros, fsyncs and unlinks it (unless another
 * hard link keeps it: then only unlinks this name). ENOENT is success. */
int st_keys_wipe(const char *path, st_err *err);
/* Wipes DIR/keys/.tmp-<pid>-<tag>.key files whose process is gone (a key
 * generation killed mid-way); st_keys_generate and st_key_rotate call it. */
void st_keys_wipe_stale_tmp(const char *store_dir);
/* Generates a key named `name` into DIR/keys/<prefix><hex8>.key via a
 * temporary name (O_EXCL throughout). path_out (optional) gets the path (malloc'd). */
ST_NODISCARD int st_keys_generate(const char *store_dir, const char *prefix, const char *name,
                                  st_signer **out, char **path_out, st_err *err);
/* Finds DIR/keys/<prefix>*<hex8>.key for key_id; malloc'd path or NULL. */
char *st_keys_find_file(const char *store_dir, const char *prefix, uint32_t key_id);
/* The key files in DIR/keys (next-, epoch-, retired-), at most cap. */
typedef struct st_keyfile {
    char name[96];             /* file name inside DIR/keys */
    char kind;                 /* 'n' next, 'e' epoch, 'r' retired */
    uint32_t key_id;
    int64_t not_before, not_after;   /* epoch files: the window in the name */
    int64_t mtime;
} st_keyfile;
ST_NODISCARD int st_keys_list_files(const char *store_dir, st_keyfile *out, size_t cap, size_t *n_out);
/* Epoch key file of a key whose window contains now_s, skipping the first
 * skip such files (latest not-before first, then by name); NULL if none. More
 * than one can cover now (a 'key epochs' batch that was killed, or never
 * certified): callers take the first one the key history lets sign. */
char *st_keys_find_epoch(const char *store_dir, int64_t now_s, size_t skip, uint32_t *key_id_out);
/* Wipes epoch files whose window ended at or before now_s; *next_expiry gets
 * the earliest end among the rest (0 if none). Caller holds keys/lock. */
ST_NODISCARD int st_keys_wipe_expired(const char *store_dir, int64_t now_s, unsigned *wiped,
                                      int64_t *next_expiry, st_err *err);
/* Writes DIR/log.vkey: the verifier key vkey and LF, for people (mode 0600),
 * through a temporary file renamed over it (init, and every rotation). */
ST_NODISCARD int st_keys_write_vkey_file(const char *store_dir, const char *vkey, st_err *err);
/* Makes the files agree with the meta's current key `vkey` (ID `want`),
 * finishing an interrupted rotation: log.vkey is rewritten to vkey (first,
 * atomically), a leftover old log.key is wiped (kept if --keep-old linked
 * it) and keys/next-<want>.key renamed over it. In epoch mode (want_log_key
 * 0) a leftover log.key is only wiped. Caller holds keys/lock. */
ST_NODISCARD int st_keys_complete_files(const char *store_dir, const char *vkey, uint32_t want, int want_log_key,
                                        st_err *err);

/* ---- operations (keyhist_ops.c, keyhist_rotate.c) ---------------------------------------------- */

/* `key request`: a new key in keys/next-<hex8>.key and its request note
 * signed by it (current != 0: a request for the key in log.key instead).
 * Validity [not_before, not_after). */
ST_NODISCARD int st_key_request(struct st_store *s, int current, int64_t not_before, int64_t not_after,
                                char **note_out, size_t *len_out);

/* `key epochs`: count keys in keys/epoch-*.key for windows of `length`
 * seconds from `start`, and the batch request signed by all of them. */
ST_NODISCARD int st_key_epochs_request(struct st_store *s, int64_t start, int64_t length, unsigned count,
                                       char **note_out, size_t *len_out);

typedef struct st_key_install_info {
    st_keynote_type type;
    uint64_t index;            /* entry recording it */
    int already;               /* the same note was installed before (nothing appended) */
    int pinned_root;           /* this install pinned the root */
    int sealed;                /* a checkpoint now covers it */
    int have_key_file;         /* certificate/epochs: we hold the secret key(s) */
    int in_use;                /* certificate: for the key now signing (nothing to rotate to) */
    int revokes_current;       /* revocation of the key now signing */
    char detail[256];
} st_key_install_info;

/* `key install`: verifies a certificate, epoch schedule or revocation
 * against the pinned root (or root_vkey, which it pins at the first
 * install; a different one is ST_EUNTRUSTED), refuses another origin,
 * expired or not yet valid certificates (ST_EPOLICY), and records it. */
ST_NODISCARD int st_key_install(struct st_store *s, const char *note, size_t len, const char *root_vkey,
                                st_key_install_info *info);

typedef struct st_key_rotate_result {
    char old_vkey[ST_VKEY_MAX], new_vkey[ST_VKEY_MAX];
    uint64_t index;            /* the key-rotation entry */
    uint64_t handover_size;    /* the checkpoint signed by both keys */
    int to_epochs;
    int kept_old;              /* keys/retired-<hex8>.key */
} st_key_rotate_result;

/* `key rotate`: to `new_vkey` if given, else to the newest certified
 * keys/next-*.key, else (epoch schedule installed) to the current epoch
 * key, else (simple mode) to a fresh key. One write transaction appends the
 * key-rotation entry, seals it under a checkpoint signed by both keys and
 * switches meta vkey; then the key files are replaced. */
ST_NODISCARD int st_key_rotate(struct st_store *s, const char *new_vkey, int keep_old, st_key_rotate_result *out);

/* In-transaction append of one key-history record (keyhist_append.c):
 * the entry {"data":{"note":…},"kind":<kind>,…}, its tree leaf and index
 * rows, and the keys-table row. */
ST_NODISCARD int st_keys_append_txn(struct st_store *s, struct st_txn *txn, st_keynote_type type,
                                    const char *note, size_t len, uint64_t *index_out);

/* ---- the security team's side (keyhist_ops.c; no store) ------------------------------------------ */

typedef struct st_key_certify_opts {
    const char *origin;        /* refuse a request for another origin; NULL: any */
    int64_t not_before, not_after;  /* override the requested window (0: as requested) */
    int64_t max_validity;      /* refuse longer windows (0: 400 days) */
} st_key_certify_opts;

/* Checks a request (proof of possession, names, window) and signs the
 * certificate (or, for an epochs request, the epoch schedule) with root. */
ST_NODISCARD int st_key_certify(st_signer *root, const char *request, size_t len, const st_key_certify_opts *o,
                                char **note_out, size_t *len_out, st_err *err);

/* Signs a revocation of `key` effective after `after` (unix seconds). */
ST_NODISCARD int st_key_revoke(st_signer *root, const st_vkey *key, int64_t after, const char *reason,
                               char **note_out, size_t *len_out, st_err *err);

#endif
