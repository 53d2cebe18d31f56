/*
 * verifier.h: verifies an auditor bundle (docs/FORMAT.md section 6) following the
 * numbered steps of docs/VERIFYING.md, and fills a report of what was
 * verified. Used by auditverify; part of stverify, which links only
 * libsodium and pthreads (no LMDB, no secret-key code).
 *
 * Trust comes only from opts->trust: keys carried inside the bundle are
 * reported, never trusted.
 *
 * CAVEATS
 *  - st_verify_bundle_mem reads the buffer in place (entries and payloads
 *    are not copied); each entry is copied once into a worker's scratch
 *    before it is checked, so every check sees the same bytes.
 *  - Streaming: memory is bounded by the batch ring (a few MiB per thread),
 *    one record body, the checkpoint table (40 bytes per checkpoint) and the
 *    report's bounded tables, whatever the bundle's size.
 *  - Fails closed and fails fast: the first failure, in stream order, ends
 *    verification; report->verdict, ->step and ->failure say what and where.
 *  - The report is large (tens of KiB): allocate it, do not put it on a
 *    small stack.
 */
#ifndef ST_VERIFIER_H
#define ST_VERIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "keyhist.h"
#include "merkle.h"
#include "note.h"

/* Verdicts = auditverify exit codes (DESIGN.md section 6). */
typedef enum st_verdict {
    ST_VERDICT_VERIFIED = 0,     /* every check passed */
    ST_VERDICT_TAMPERED = 1,     /* the evidence contradicts its signatures, proofs or claims */
    ST_VERDICT_UNVERIFIABLE = 2, /* usage, I/O, malformed or oversized input */
    ST_VERDICT_UNTRUSTED = 3,    /* signed by no trusted key, or an unsupported version */
} st_verdict;

struct st_verify_report;

/* Observer (retention, issue 7: auditverify --retention feeds
 * store/verify/retention_check.h from it). Called on the reading thread, in
 * stream order, with what the bundle vouches for; any callback may be NULL.
 * Nothing is undone when verification fails later: use what was observed
 * only when the verdict is "verified". */
typedef struct st_verify_observer {
    void *ctx;
    /* after step 4: report->origin, ->selection, ->begin, ->end are set */
    void (*manifest)(void *ctx, const struct st_verify_report *report);
    /* a root at `size`: every checkpoint and the previous checkpoint (time_s >= 0), the frontier at
     * begin and the compact range at end of a contiguous selection (time_s = -1) */
    void (*root)(void *ctx, uint64_t size, const st_hash root, int64_t time_s);
    /* the exact bytes of support entries, and of entries whose kind is retention-policy, archive,
     * prune or erasure */
    void (*record)(void *ctx, uint64_t index, const uint8_t *bytes, size_t len);
    /* each entry, in index order: its payload table size and how each member was carried */
    void (*entry)(void *ctx, uint64_t index, int64_t time_us, unsigned npayloads, unsigned present,
                  unsigned erased, unsigned archived, unsigned pruned);
} st_verify_observer;

typedef struct st_verify_opts {
    const st_vkey *trust;        /* trust anchors (--trust); at least one */
    size_t ntrust;
    const char *previous;        /* a signed checkpoint the auditor holds (--previous), or NULL */
    size_t previous_len;
    unsigned threads;            /* hashing threads; 0 = one per online CPU */
    const st_verify_observer *observer;   /* retention (issue 7); NULL = none */
    /* keys (issue 5): key notes the auditor received beside the bundle
     * (--key-note), e.g. a revocation from the security team; root-signed
     * notes only (docs/KEYS.md). */
    const char *const *key_notes;
    const size_t *key_note_lens;
    size_t nkey_notes;
} st_verify_opts;

/* Bounded tables of the report. */
#define ST_VR_NAMES     64u      /* distinct tools / events / statuses / kinds listed */
#define ST_VR_NAME_MAX  48u
#define ST_VR_ABSENT    100u     /* absent payloads listed one by one */
#define ST_VR_KEYS      16u
#define ST_VR_SESSIONS  ((size_t)1 << 20)   /* distinct sessions counted exactly up to this */

typedef struct st_vr_count {
    char name[ST_VR_NAME_MAX + 1];
    uint64_t n;
} st_vr_count;

typedef struct st_vr_table {
    size_t n;                    /* names listed */
    uint64_t other;              /* entries whose name did not fit */
    st_vr_count v[ST_VR_NAMES];
} st_vr_table;

typedef struct st_vr_absent {
    uint64_t index;
    char name[33];
    uint64_t record;             /* the signed record explaining the absence */
    char reason[16];             /* "erasure", "archive", "prune" */
} st_vr_absent;

typedef struct st_vr_key {
    char vkey[ST_VKEY_MAX];
    int trusted;                 /* equals a --trust key */
    uint64_t signed_checkpoints; /* checkpoints it signed (keys valid by the key history) */
    int in_bundle;               /* listed in a KEY record */
} st_vr_key;

typedef struct st_verify_report {
    /* verdict */
    int verdict;                 /* st_verdict */
    unsigned step;               /* docs/VERIFYING.md step that failed; 0 if verified */
    char failure[1024];          /* place and both values */
    uint64_t fail_offset;        /* file offset of the failing record */

    /* the manifest (claims, each checked unless noted) */
    int manifest_ok;
    char origin[ST_KEY_NAME_MAX + 1];
    char selection[16];          /* full | range | time | filter */
    char selection_json[2048];   /* the manifest's selection object, canonical JSON */
    uint64_t begin, end;         /* selected index span [begin, end) */
    int64_t created_us;          /* unsigned claim: not checked */
    char exporter[128];          /* unsigned claim: not checked */

    /* entries */
    uint64_t entries;
    uint64_t first_index, last_index;     /* valid when entries > 0 */
    int64_t time_min_us, time_max_us;     /* valid when entries > 0 */
    uint64_t in_window;          /* time selection: entries inside [since, until) */
    uint64_t sessions;           /* distinct sessions (exact up to ST_VR_SESSIONS) */
    int sessions_capped;
    st_vr_table tools, events, statuses, kinds;

    /* payloads */
    uint64_t payloads, payload_bytes;
    uint64_t absent, absent_erasure, absent_archive, absent_prune;
    size_t absent_listed;
    st_vr_absent absent_list[ST_VR_ABSENT];

    /* checkpoints and proofs */
    uint64_t checkpoints;
    uint64_t cp_first_size, cp_final_size;
    int64_t cp_first_time, cp_final_time;
    st_hash final_root;
    uint64_t consistency_proofs, inclusion_proofs, roots_recomputed;

    /* keys */
    size_t nkeys;
    st_vr_key keys[ST_VR_KEYS];

    /* key history (step 5, docs/KEYS.md): KEYNOTE records and --key-note files */
    uint64_t keynotes;
    size_t key_notes_given;
    st_keyhist_stats keyhist;

    /* support entries (records the bundle refers to) */
    uint64_t supports;
    int64_t retention_policy_index;       /* -1 if none */

    /* linking to checkpoints the auditor holds */
    int has_previous_record;              /* bundle carries a PREVIOUS checkpoint */
    uint64_t previous_record_size;
    int previous_checked;                 /* --previous given and linked */
    uint64_t previous_size;
    char previous_how[96];                /* how --previous was linked */

    uint64_t bytes, records;
    double seconds;
    unsigned threads;
} st_verify_report;

/* Verifies the bundle read from r (st_bundle_read_magic not yet called).
 * Returns the verdict (also in report->verdict). */
int st_verify_bundle(st_bundle_reader *r, const st_verify_opts *opts, st_verify_report *report);
int st_verify_bundle_fd(int fd, const st_verify_opts *opts, st_verify_report *report);
int st_verify_bundle_mem(const uint8_t *buf, size_t len, const st_verify_opts *opts, st_verify_report *report);

/* Parses a --trust argument: a verifier key string, or the path of a file
 * holding one (first line; at most 4 KiB). 0, ST_EBADKEY, or errno. */
ST_NODISCARD int st_trust_arg_parse(st_vkey *out, const char *arg, st_err *err);

const char *st_verdict_name(int verdict);   /* "verified", "tampered", ... */

#endif
