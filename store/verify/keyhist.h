/*
 * keyhist.h: key history for root-certified logs (docs/KEYS.md). Two layers:
 *
 *  1. Key notes (keyhist_note.c): the signed notes of key management, all
 *     C2SP signed notes like checkpoints. Parsing, formatting and the
 *     structural rules [KEYS-1..8]; signature checks against roots (for
 *     certificates, epoch schedules, revocations) or against the keys named
 *     inside (requests: proof of possession; rotations: old and new key).
 *
 *       sealtrail key-request v1          signed by the requested key
 *       sealtrail key-certificate v1      signed by the root
 *       sealtrail key-epochs-request v1   signed by every epoch key
 *       sealtrail key-epochs v1           signed by the root
 *       sealtrail key-revocation v1       signed by the root
 *       sealtrail key-rotation v1         signed by the old and the new key
 *
 *  2. The history (keyhist.c): trust anchors (roots; log keys pinned
 *     directly) plus the notes a log recorded, in log order; and the one
 *     decision the store and auditverify share: which keys may sign a
 *     checkpoint of this origin with size n and time t [KEYS-9..13].
 *
 * Pure: links only libsodium (part of stverify). No LMDB, no secret keys,
 * no I/O. Every function that rejects data names the place and both values
 * in err. A history holds at most ST_KH_MAX_GRANTS keys and
 * ST_KH_MAX_LIMITS revocations and retirements (ST_ETOOBIG beyond).
 *
 * ERRORS
 *  ST_EFORMAT    a note or its text is malformed (err says which line)
 *  ST_EBADSIG    a signature by a trusted root, or by a key a note names,
 *                does not verify: tamper evidence
 *  ST_EUNTRUSTED a note or checkpoint is signed by no acceptable key (err
 *                says, for each signer, why: unknown, certificate for
 *                another origin, expired, not yet valid, revoked, retired,
 *                certified by an untrusted root)
 *  ST_EINVAL     bad arguments (a root named like the origin, a pinned key
 *                of another origin, a request added to a history)
 *  ST_ETOOBIG    more keys or limits than a history holds
 *  ENOMEM
 */
#ifndef ST_KEYHIST_H
#define ST_KEYHIST_H

#include <stddef.h>
#include <stdint.h>

#include "note.h"
#include "util.h"

/* ---- key notes --------------------------------------------------------------------- */

#define ST_KN_MAX_EPOCHS  96u     /* epochs per batch (a request carries one signature per key) */
#define ST_KN_REASON_MAX  200u    /* bytes of a revocation's reason line */
#define ST_KN_TIME_MAX    ((int64_t)253402300799)  /* 9999-12-31T23:59:59Z: times are below this */

typedef enum st_keynote_type {
    ST_KN_REQUEST = 1,        /* "sealtrail key-request v1" */
    ST_KN_CERTIFICATE,        /* "sealtrail key-certificate v1" */
    ST_KN_EPOCHS_REQUEST,     /* "sealtrail key-epochs-request v1" */
    ST_KN_EPOCHS,             /* "sealtrail key-epochs v1" */
    ST_KN_REVOCATION,         /* "sealtrail key-revocation v1" */
    ST_KN_ROTATION,           /* "sealtrail key-rotation v1" */
} st_keynote_type;

/* One key and its window [not_before, not_after) in unix seconds. */
typedef struct st_keywin {
    st_vkey key;
    int64_t not_before, not_after;
} st_keywin;

/* A parsed key note. Large (tens of KiB): allocate it. */
typedef struct st_keynote {
    st_keynote_type type;
    char origin[ST_KEY_NAME_MAX + 1];
    /* request, certificate: keys[0] with its window. epochs (request): keys[0..nkeys) in
     * window order. revocation: keys[0] (window unused). rotation: keys[0] = old, keys[1] = new. */
    size_t nkeys;
    st_keywin keys[ST_KN_MAX_EPOCHS];
    int64_t time;             /* revocation: "after" (compromised after this second); rotation: "time" */
    char reason[ST_KN_REASON_MAX + 1];   /* revocation: optional reason, "" if none */
    st_note note;             /* signatures; text points into the parsed buffer (empty after text_parse) */
} st_keynote;

/* "key-request", "key-certificate", "key-epochs-request", "key-epochs",
 * "key-revocation", "key-rotation": also the entry kinds of the recorded
 * notes (docs/FORMAT.md section 1.3). NULL for an unknown type. */
const char *st_keynote_kind(st_keynote_type t);
/* The type whose entry kind is `kind` (history kinds only: certificate, epochs,
 * revocation, rotation); 0 if none. */
st_keynote_type st_keynote_type_of_kind(const char *kind, size_t len);

/* Parses a whole signed key note (text and signature lines) and checks the
 * structure [KEYS-1..8]. Verifies no signature. out->note points into buf. */
ST_NODISCARD int st_keynote_parse(st_keynote *out, const char *buf, size_t len, st_err *err);
/* Parses and checks the text alone (the signed message). */
ST_NODISCARD int st_keynote_text_parse(st_keynote *out, const char *text, size_t len, st_err *err);
/* Writes the text of kn (type line, fields, final LF). The inverse of text_parse. */
void st_keynote_format_text(st_buf *out, const st_keynote *kn);

/* Requests and rotations: every key the note names must have signed it
 * (proof of possession; old and new key). 0, ST_EUNTRUSTED (a key did not
 * sign: err names it) or ST_EBADSIG. */
ST_NODISCARD int st_keynote_verify_self(const st_keynote *kn, st_err *err);
/* Certificates, epoch schedules, revocations: signed by one of roots.
 * *root_index (optional) gets the index of the first root that signed.
 * ST_EUNTRUSTED: err names who signed it instead; ST_EBADSIG. */
ST_NODISCARD int st_keynote_verify_root(const st_keynote *kn, const st_vkey *roots, size_t nroots,
                                        size_t *root_index, st_err *err);

/* Two verifier keys are the same key: same name and public key. */
int st_vkey_equal(const st_vkey *a, const st_vkey *b);

/* ---- the history ------------------------------------------------------------------------ */

#define ST_KH_MAX_ROOTS   16u
#define ST_KH_MAX_GRANTS  16384u
#define ST_KH_MAX_LIMITS  16384u

#define ST_KH_IGNORE_REVOCATIONS 0x1u
#define ST_KH_CERTIFIED_ONLY     0x2u   /* only root certificates count: what an auditor trusting only the root accepts */
#define ST_KH_OUT_OF_BAND UINT64_MAX    /* index of a note given beside the log (auditverify --key-notes) */   /* keys_for: the store's own "is this checkpoint ours?" check */

typedef struct st_keyhist st_keyhist;

/* A history for the log `origin`. NULL on ENOMEM or an invalid origin. */
st_keyhist *st_keyhist_new(const char *origin);
void st_keyhist_free(st_keyhist *h);               /* NULL is a no-op */

/* Trust anchors, before any note. A root's name must differ from the origin
 * (a root certifies log keys; it never signs checkpoints); a pinned log
 * key's name must equal it (simple mode). */
ST_NODISCARD int st_keyhist_add_root(st_keyhist *h, const st_vkey *root, st_err *err);
ST_NODISCARD int st_keyhist_add_pinned(st_keyhist *h, const st_vkey *key, st_err *err);

/* Adds the history note recorded at log index `index` (notes must come in
 * increasing index order). Certificates, epoch schedules and revocations
 * must be signed by a trusted root, rotations by their old and new key.
 * A certificate or schedule signed by no trusted root, or for another
 * origin, is kept as rejected (returns 0) so that a checkpoint signed by its
 * key is refused with the reason. Errors: ST_EFORMAT, ST_EBADSIG, ST_EINVAL
 * (a request, or an index not after the previous one), ST_ETOOBIG, ENOMEM. */
ST_NODISCARD int st_keyhist_add_note(st_keyhist *h, uint64_t index, const char *note, size_t len, st_err *err);
/* index ST_KH_OUT_OF_BAND: a root-signed note (certificate, epochs,
 * revocation) given beside the log, e.g. a revocation the auditor received
 * from the security team; it may come at any point. */
/* The same, for a note the caller parsed already. */
ST_NODISCARD int st_keyhist_add_keynote(st_keyhist *h, uint64_t index, const st_keynote *kn, st_err *err);

/* The keys that may sign a checkpoint of size `size` sealed at `time_s`
 * (-1: no time; only keys without a window qualify), at most cap, most
 * recently granted first. */
ST_NODISCARD int st_keyhist_keys_for(st_keyhist *h, uint64_t size, int64_t time_s, unsigned flags,
                                     st_vkey *out, size_t cap, size_t *n_out);

/* Verifies a checkpoint note: only signatures of keys valid for (cp->size,
 * cp->time_s) count [KEYS-12]. 0; ST_EBADSIG (a valid key's signature fails);
 * ST_EUNTRUSTED (err: each signer and why it may not sign this checkpoint).
 * signed_by (optional) gets the first valid key that signed. */
ST_NODISCARD int st_keyhist_verify_checkpoint(st_keyhist *h, const st_note *note, const st_checkpoint *cp,
                                              unsigned flags, st_vkey *signed_by, st_err *err);
/* The same; signers (at most cap) gets every valid key that signed, in the
 * order of the note's signature lines (the handover checkpoint of a rotation:
 * the old key and the new). */
ST_NODISCARD int st_keyhist_verify_checkpoint_signers(st_keyhist *h, const st_note *note, const st_checkpoint *cp,
                                                      unsigned flags, st_vkey *signers, size_t cap, size_t *n_signers,
                                                      st_err *err);

/* Why key (name, key_id) may or may not sign a checkpoint (size, time_s):
 * writes a phrase into out ("certified until 2025-11-21T00:00:00Z", "revoked
 * after …"). Returns 1 if it may, 0 if not. */
int st_keyhist_explain(st_keyhist *h, const char *name, size_t name_len, uint32_t key_id,
                       uint64_t size, int64_t time_s, unsigned flags, char *out, size_t cap);

/* 1 if a trusted root certified k for this origin (any window). */
int st_keyhist_certified(st_keyhist *h, const st_vkey *k);

/* Counts for reports. */
typedef struct st_keyhist_stats {
    size_t roots, pinned;
    size_t certificates, epoch_schedules, epoch_keys, revocations, rotations;
    size_t rejected;          /* certificates or schedules of another origin or an untrusted root */
} st_keyhist_stats;
void st_keyhist_get_stats(const st_keyhist *h, st_keyhist_stats *out);

#endif
