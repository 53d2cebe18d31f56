/*
 * sealtrail.h: public API of the sealtrail audit store.
 *
 * sealtrail records Claude Code hook events as entries of one RFC 6962 Merkle
 * tree held in LMDB, and seals them in batches under Ed25519-signed C2SP
 * checkpoints. The byte formats are specified in docs/FORMAT.md.
 *
 * CAVEATS
 *  - A store handle (st_store) belongs to one thread at a time. Several
 *    processes may open the same store and append at once: LMDB's writer lock
 *    serializes them and indices stay contiguous.
 *  - Do not open the same store twice in one process (an LMDB rule: the
 *    second open would break the first handle's locks).
 *  - Every append is one durable LMDB write transaction; there is no
 *    "unsafe but fast" mode for audit data. Bulk import batches many entries
 *    per transaction instead (st_batch_*).
 *  - Entries are never rewritten. Payloads can be erased (st_erase): the
 *    entry keeps its salted commitment and every proof stays valid.
 *  - Returned buffers are owned by the caller and freed with free() unless
 *    the function says otherwise.
 *
 * ERRORS
 *  Functions return 0 on success, a positive errno value for system errors,
 *  or one of the negative ST_E* codes below. st_strerror() describes both.
 *  st_store_error() adds the detail of the last failure on a store (which
 *  entry, which value was expected and which was found).
 */
#ifndef SEALTRAIL_H
#define SEALTRAIL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define ST_NODISCARD __attribute__((warn_unused_result))
#else
#define ST_NODISCARD
#endif

/* Error codes: reserved range -30999..-30900; never renumbered. */
#define ST_E_FIRST     (-30900)
#define ST_EINVAL      (-30900) /* invalid argument or usage */
#define ST_EJSON       (-30901) /* malformed JSON */
#define ST_ENONCANON   (-30902) /* bytes are not the canonical encoding */
#define ST_ETOOBIG     (-30903) /* input over a size limit */
#define ST_EDEPTH      (-30904) /* JSON nested too deep */
#define ST_ENOTFOUND   (-30905) /* no such entry, payload, checkpoint or key */
#define ST_ECORRUPT    (-30906) /* stored or bundled data fails verification */
#define ST_EKEYPERM    (-30907) /* key file accessible by group or others */
#define ST_ENOKEY      (-30908) /* signing key missing */
#define ST_EBADKEY     (-30909) /* malformed key or verifier key */
#define ST_EBADSIG     (-30910) /* signature does not verify */
#define ST_EVERSION    (-30911) /* unsupported format version */
#define ST_EBUSY       (-30912) /* store lock not obtained within the bound */
#define ST_EDB         (-30913) /* LMDB failure (detail in st_store_error) */
#define ST_EPROOF      (-30914) /* proof does not verify */
#define ST_EEXIST      (-30915) /* already exists (store, key file) */
#define ST_ENOTSEALED  (-30916) /* entries not covered by a checkpoint */
#define ST_EFORMAT     (-30917) /* malformed note, key, proof or bundle */
#define ST_EUNTRUSTED  (-30918) /* signed by no trusted key */
#define ST_EPOLICY     (-30919) /* refused by retention or key policy */
#define ST_ERDONLY     (-30920) /* store opened read-only, or not writable */
#define ST_E_LAST      (-30920)

#define SEALTRAIL_VERSION_STRING "0.1.0"
const char *st_version(void);

/* Returns a static description of rc (>= 0: strerror(rc); ST_E*: ours). Never NULL. */
const char *st_strerror(int rc);

/* Sizes */
#define ST_HASH_BYTES      32u
#define ST_SALT_BYTES      16u
#define ST_VKEY_MAX        512u     /* verifier key string, with NUL */
#define ST_ENTRY_MAX       (1u << 20)   /* canonical entry bytes */
#define ST_EVENT_MAX_DEFAULT ((size_t)256 << 20) /* raw hook event accepted on stdin */
#define ST_PAYLOAD_CAP_DEFAULT ((size_t)64 << 20) /* payload stored whole up to this */

size_t st_hash_bytes(void);   /* == ST_HASH_BYTES */
size_t st_salt_bytes(void);   /* == ST_SALT_BYTES */

/* ---- the store ------------------------------------------------------------ */

typedef struct st_store st_store;

#define ST_OPEN_RDONLY   0x01u  /* no write transactions; no key needed */
#define ST_OPEN_NOSYSLOG 0x02u  /* do not publish checkpoints to syslog */
#define ST_OPEN_NOSEAL   0x04u  /* do not apply the N/T seal policy on append */

typedef struct st_init_opts {
    const char *origin;        /* checkpoint origin and key name; NULL = a generated default */
    uint64_t seal_max_entries; /* seal after this many unsealed entries; 0 = default (1000) */
    int64_t  seal_max_age_us;  /* seal when the oldest unsealed entry is this old; 0 = default (60 s) */
    uint64_t payload_cap;      /* payload bytes stored whole; 0 = default (64 MiB) */
    int      no_syslog;        /* do not publish checkpoints to syslog */
} st_init_opts;

/* Creates dir (0700) with an empty store and a new Ed25519 signing key
 * (dir/log.key, 0600, O_EXCL|O_NOFOLLOW). Writes the C2SP verifier key string
 * into vkey_out. ST_EEXIST if a store is already there. */
ST_NODISCARD int st_store_init(const char *dir, const st_init_opts *opts, char vkey_out[ST_VKEY_MAX]);

/* Opens an existing store. ST_ENOTFOUND if dir holds no store. */
ST_NODISCARD int st_store_open(st_store **out, const char *dir, unsigned flags);
void st_store_close(st_store *s);            /* NULL is a no-op */

/* Detail of the last failure on s ("" if none). Valid until the next call on s. */
const char *st_store_error(const st_store *s);

/* Origin (checkpoint first line) and the verifier key string. Borrowed; valid while s is open. */
const char *st_store_origin(const st_store *s);
const char *st_store_vkey(const st_store *s);

typedef struct st_status {
    uint64_t size;            /* entries in the log */
    uint64_t sealed_size;     /* size of the latest checkpoint */
    int64_t  oldest_unsealed_us; /* record time of the oldest unsealed entry, 0 if none */
    int64_t  last_seal_us;    /* time of the latest checkpoint, 0 if none */
    uint64_t checkpoints;     /* number of stored checkpoints */
    uint64_t seal_max_entries;   /* policy N */
    int64_t  seal_max_age_us;    /* policy T */
    uint64_t map_bytes;          /* LMDB map size */
    uint64_t used_bytes;         /* pages in use * page size */
    char key_mode[16];           /* "simple", "root-certified" or "epochs" (docs/KEYS.md) */
} st_status;

ST_NODISCARD int st_store_status(st_store *s, st_status *out);

/* ---- appending ------------------------------------------------------------ */

/* Appends one Claude Code hook event (JSON as the client sends it on stdin):
 * parses, redacts, builds the envelope and payload commitments, and commits
 * durably. Applies the seal policy afterwards unless ST_OPEN_NOSEAL.
 * *index_out receives the new entry's index. */
ST_NODISCARD int st_append_event(st_store *s, const char *json, size_t len, uint64_t *index_out);

/* ---- sealing and checkpoints ---------------------------------------------- */

/* Seals now: recomputes the root, proves consistency with the previous
 * checkpoint, signs, verifies its own signature, stores, and publishes the
 * note to syslog (unless ST_OPEN_NOSYSLOG). If nothing is unsealed, returns the
 * latest checkpoint unchanged. *note_out: the signed note (NUL-terminated, caller frees). */
ST_NODISCARD int st_seal(st_store *s, char **note_out, size_t *len_out);

/* The latest signed checkpoint note. ST_ENOTFOUND if the store was never sealed. */
ST_NODISCARD int st_checkpoint_latest(st_store *s, char **note_out, size_t *len_out);

/* ---- reading ---------------------------------------------------------------- */

/* The exact canonical entry bytes (the leaf data) of entry `index`. */
ST_NODISCARD int st_entry_get(st_store *s, uint64_t index, uint8_t **bytes_out, size_t *len_out);

/* The bytes and salt of payload `name` of entry `index`. ST_ENOTFOUND if the
 * entry has no such payload or it was erased (st_store_error says which). */
ST_NODISCARD int st_payload_get(st_store *s, uint64_t index, const char *name,
                                uint8_t **bytes_out, size_t *len_out, uint8_t salt_out[ST_SALT_BYTES]);

/* ---- proofs ----------------------------------------------------------------- */

/* Inclusion proof of leaf `index` in the tree of size `size` (0 = latest
 * checkpoint's size). hashes_out: n*32 bytes, leaf-to-root order (RFC 6962 PATH). */
ST_NODISCARD int st_prove_inclusion(st_store *s, uint64_t index, uint64_t size,
                                    uint8_t **hashes_out, size_t *n_out, uint8_t root_out[ST_HASH_BYTES],
                                    uint8_t leaf_hash_out[ST_HASH_BYTES]);

/* Consistency proof from size m to size n (RFC 6962 PROOF), with both roots. */
ST_NODISCARD int st_prove_consistency(st_store *s, uint64_t m, uint64_t n,
                                      uint8_t **hashes_out, size_t *n_out,
                                      uint8_t old_root_out[ST_HASH_BYTES], uint8_t new_root_out[ST_HASH_BYTES]);

/* Root of the tree of size n (n <= log size). */
ST_NODISCARD int st_tree_root(st_store *s, uint64_t n, uint8_t root_out[ST_HASH_BYTES]);

/* The stored hash of the perfect subtree covering leaves [pos*2^level, (pos+1)*2^level). */
ST_NODISCARD int st_tree_node(st_store *s, unsigned level, uint64_t pos, uint8_t hash_out[ST_HASH_BYTES]);

/* The signed checkpoint note of exactly `size`, or with `size` = the smallest
 * checkpoint size >= the argument when ST_CP_AT_LEAST is given. *size_out gets its size. */
#define ST_CP_EXACT    0u
#define ST_CP_AT_LEAST 1u
#define ST_CP_AT_MOST  2u  /* largest checkpoint size <= the argument */
ST_NODISCARD int st_checkpoint_get(st_store *s, uint64_t size, unsigned mode, uint64_t *size_out,
                                   char **note_out, size_t *len_out);

/* ---- verification ------------------------------------------------------------- */

/* Re-verifies the whole store: every entry canonical, every leaf hash from
 * the stored bytes, every stored payload against its commitment, every tree
 * node, every checkpoint signature and root, consistency between consecutive
 * checkpoints, and the secondary indexes. Returns 0 or ST_ECORRUPT with the
 * first failure named in st_store_error(). */
ST_NODISCARD int st_check(st_store *s);

#ifdef __cplusplus
}
#endif
#endif
