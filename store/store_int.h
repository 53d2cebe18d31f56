/*
 * store_int.h: the st_store handle and the internal functions shared by the
 * store's modules (open/init, append, seal, prove, check, payloads).
 */
#ifndef ST_STORE_INT_H
#define ST_STORE_INT_H

#include <stdint.h>

#include "db.h"
#include "note.h"
#include "record.h"
#include "sealtrail.h"

/* Defaults for the seal policy [docs/FORMAT.md §5, README]. */
#define ST_SEAL_MAX_ENTRIES_DEFAULT 1000u
#define ST_SEAL_MAX_AGE_US_DEFAULT  (60LL * 1000000)

struct st_store {
    st_db *db;
    char *dir;
    unsigned flags;                 /* ST_OPEN_* */
    char origin[ST_KEY_NAME_MAX + 1];
    char vkey[ST_VKEY_MAX];
    st_vkey verifier;               /* the current log key's public half */
    uint64_t seal_max_entries;
    int64_t seal_max_age_us;
    size_t payload_cap;             /* bytes stored whole per payload */
    int syslog;                     /* publish checkpoints to syslog */
    char publish_line[640];         /* set by a seal inside a transaction, logged after commit */
    st_err err;                     /* detail of the last failure */
    int gate_fd;                    /* writer gate (compact.c): shared flock on DIR/gate, -1 if none */
    int seal_on_append;             /* st_seal_on_append(): appends force a seal in their transaction */
    int defer_paths;                /* appends leave their path rows pending (import; index.h) */
};

/* mkdir -p, mode 0700 for each directory created. 0 or errno. */
int st_make_dirs(const char *dir);

/* 1 if pid (as read from a temporary file's name) is certainly no running
 * process, so that the file it left can be settled: not this process, and
 * kill(pid, 0) says ESRCH. A live process, or one we may not signal, is 0. */
int st_pid_gone(long pid);

/* Sets s->err and returns rc. */
int st_store_fail(struct st_store *s, int rc, const char *fmt, ...) ST_PRINTF(3, 4);

/* Meta names */
#define ST_META_VERSION      "format_version"
#define ST_FORMAT_VERSION    4      /* store.c: what each version means */

/* Inside a write transaction that appends entries (packed rows, no leaf
 * rows) or compacts: an older store becomes version ST_FORMAT_VERSION
 * (store.c). */
ST_NODISCARD int st_store_format_upgrade(st_txn *txn);
#define ST_META_ORIGIN       "origin"
#define ST_META_SIZE         "size"          /* number of entries */
#define ST_META_SEALED       "sealed_size"   /* size of the latest checkpoint */
#define ST_META_UNSEALED_US  "oldest_unsealed_us"
#define ST_META_SEAL_N       "seal_max_entries"
#define ST_META_SEAL_T       "seal_max_age_us"
#define ST_META_PAYLOAD_CAP  "payload_cap"
#define ST_META_VKEY         "vkey"          /* current log verifier key string */
#define ST_META_SYSLOG       "syslog"        /* 1 = publish checkpoints to syslog */

#define ST_KEY_FILE  "log.key"
#define ST_VKEY_FILE "log.vkey"

/* Loads the signing key of the store (DIR/log.key). */
struct st_signer;
ST_NODISCARD int st_store_load_signer(struct st_store *s, struct st_signer **out);

/* Tree (store/tree.c): stored perfect-subtree hashes, keyed by post-order
 * number; leaf hashes (level 0) are computed from the entries. */
void st_tree_node_key(uint8_t key[8], unsigned level, uint64_t pos);
ST_NODISCARD int st_tree_append_leaf(struct st_txn *txn, uint64_t index, const st_hash leaf_hash);
/* Any node; level 0 is entry pos's leaf hash (st_tree_leaf). */
ST_NODISCARD int st_tree_get_node(struct st_txn *txn, unsigned level, uint64_t pos, st_hash out);
/* Entry index's leaf hash, from its stored row (ST_ENOTFOUND, ST_ECORRUPT: damaged row). */
ST_NODISCARD int st_tree_leaf(struct st_txn *txn, uint64_t index, st_hash out);
/* The leaf row a store of format version 2 or older kept (ST_ENOTFOUND: none). */
ST_NODISCARD int st_tree_stored_leaf(struct st_txn *txn, uint64_t index, st_hash out);
/* 1 if a tree key is a leaf's (level 0). */
int st_tree_key_is_leaf(const uint8_t key[8]);
/* MTH(D[begin:end]) from stored nodes (end <= size). */
ST_NODISCARD int st_tree_range_hash(struct st_txn *txn, uint64_t begin, uint64_t end, st_hash out);
ST_NODISCARD int st_tree_root_txn(struct st_txn *txn, uint64_t size, st_hash out);

/* Proof generation (store/prove.c), from stored nodes. hashes: caller frees. */
ST_NODISCARD int st_prove_inclusion_txn(struct st_txn *txn, uint64_t index, uint64_t size, st_hash **hashes, size_t *n);
ST_NODISCARD int st_prove_consistency_txn(struct st_txn *txn, uint64_t m, uint64_t n, st_hash **hashes, size_t *np);

/* Payloads (store/payload.c): storage encoding, compression, dedup. */
ST_NODISCARD int st_payload_put(struct st_txn *txn, uint64_t index, const char *name, const uint8_t salt[ST_SALT_BYTES],
                                const uint8_t *data, size_t len);
/* The same with st_db_put flags: the append path passes ST_PUT_APPEND (payloads
 * of a new entry, written in name order, sort after every existing row). */
ST_NODISCARD int st_payload_put_flags(struct st_txn *txn, uint64_t index, const char *name,
                                      const uint8_t salt[ST_SALT_BYTES], const uint8_t *data, size_t len,
                                      unsigned put_flags);
/* Returns ST_ENOTFOUND if absent or erased. *data_out: malloc'd. */
ST_NODISCARD int st_payload_read(struct st_txn *txn, uint64_t index, const char *name, uint8_t salt_out[ST_SALT_BYTES],
                                 uint8_t **data_out, size_t *len_out);
/* st_payload_read, also appending the key (32 bytes) of each blob the payload references to digests (check). */
ST_NODISCARD int st_payload_read_blobs(struct st_txn *txn, uint64_t index, const char *name,
                                       uint8_t salt_out[ST_SALT_BYTES], uint8_t **data_out, size_t *len_out,
                                       st_buf *digests);
/* Decodes a `payloads` row as a cursor found it (value = salt || encoding || body): the salt (if
 * salt_out) and the payload bytes appended to out (caller resets and frees out). ST_ECORRUPT for a
 * damaged row. */
ST_NODISCARD int st_payload_decode(struct st_txn *txn, const void *row, size_t rowlen, uint8_t salt_out[ST_SALT_BYTES],
                                   st_buf *out);
/* Deletes a payload and its salt; wipes its bytes from pages this transaction frees. */
ST_NODISCARD int st_payload_delete(struct st_txn *txn, uint64_t index, const char *name);

/* Seal inside an existing write transaction (used by append's policy check and by st_seal). */
ST_NODISCARD int st_seal_txn(struct st_store *s, struct st_txn *txn, int force, int *sealed_out);

/* Writes the pending checkpoint line to syslog (after the sealing transaction committed). */
void st_seal_publish(struct st_store *s);

/* Keys (store/keys.c): the verifier keys that may sign checkpoint cp
 * (simple mode: the store's log key; with key history: every key certified
 * for this origin and valid at cp's time). */
#define ST_KEYS_MAX 16u
ST_NODISCARD int st_keys_for_checkpoint(struct st_txn *txn, const struct st_store *s, const st_checkpoint *cp,
                                        st_vkey keys_out[ST_KEYS_MAX], size_t *n_out);

/* Retention (store/retention.c): whether a signed erasure or archive record
 * explains why payload `name` of entry `index` is absent from the store.
 * ST_ABSENT_EXPLAINED, or why not: no record is named for it, or the record
 * the retention table names (*record_out) cannot be read as a retention
 * record, or does not cover it. */
enum { ST_ABSENT_UNNAMED = 0, ST_ABSENT_EXPLAINED = 1, ST_ABSENT_RECORD_UNREADABLE = 2, ST_ABSENT_RECORD_SILENT = 3 };
int st_retention_payload_absent_ok(struct st_txn *txn, uint64_t index, const char *name, uint64_t *record_out);

/* ---- writer gate (retention, issue 7; store/compact.c) ----
 * st_store_open holds a shared flock on DIR/gate for the handle's lifetime;
 * compaction takes it exclusively (bounded waits) to swap data.mdb. */
ST_NODISCARD int st_gate_open_shared(struct st_store *s);
/* 1 if DIR/data.mdb is no longer the file s has open: deleted (with its
 * directory or alone) or replaced by another file. A compaction swaps the
 * file, but not while s is open (s holds the gate), so for an open handle
 * this means the store was removed or made again under it. 0 while it is
 * there, and when that cannot be told (stat fails but for ENOENT, ENOTDIR). */
int st_store_gone(struct st_store *s);
/* 1 if a compactor holds DIR's turnstile, waiting for the other handles of
 * the store to close (a long-lived reader should close and reopen), else 0. */
int st_gate_compaction_waiting(const char *dir);
void st_gate_close(struct st_store *s);
/* ---- end writer gate ---- */

/* st_checkpoint_get inside a transaction (read.c). */
ST_NODISCARD int st_checkpoint_get_txn(struct st_txn *txn, uint64_t size, unsigned mode, uint64_t *size_out,
                                       char **note_out, size_t *len_out);

/* Current size inside a transaction. */
ST_NODISCARD int st_size_txn(struct st_txn *txn, uint64_t *size_out);

#endif
