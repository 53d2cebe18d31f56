/*
 * retention_check.h: the verifier's side of retention (docs/RETENTION.md).
 * Pure code in stverify: no LMDB, no secret keys, no zstd.
 *
 * Two parts.
 *
 * 1. Record parsing (retention_record.c). The four record kinds that
 *    retention writes into the log, `retention-policy`, `archive`, `prune`
 *    and `erasure`, are entries; st_rrec_parse reads their `data` member
 *    into one struct. The store uses the same parser to read back what it
 *    wrote, so there is one definition of each member.
 *
 * 2. The retention accumulator (retention_check.c). auditverify --retention
 *    verifies every bundle it is given (integrity, docs/VERIFYING.md steps
 *    1-18) and feeds what it saw into an st_rc: per bundle its span, the
 *    roots it vouches for, the retention records it carries and, for every
 *    entry, its time and how many of its payloads were present, erased,
 *    archived or pruned. st_rc_finish then judges the whole set:
 *
 *      R1 the bundles belong to one history (equal roots at equal sizes)
 *         and are linked to each other by a shared root;
 *      R2 no gap: every index in [0, the largest end) is carried by some
 *         bundle, or its payloads were pruned by a prune record;
 *      R3 every archived payload is held by a bundle given (its archive),
 *         unless a prune record removed it;
 *      R4 every prune record removed only entries at least the minimum
 *         retention old (the policy in force when it was written);
 *      R5 no policy change shortened the protection of an existing entry;
 *         every policy has max >= min;
 *      R6 (reported, not a violation) payloads still held after the
 *         maximum retention in force at the evaluation time.
 *
 *    Memory: 9 bytes per log index covered (time and flags, in chunks of
 *    64 Ki indices allocated on demand), plus the records and roots.
 *    Logs over ST_RC_MAX_INDEX entries are refused (inconclusive).
 *
 * CAVEATS
 *  - The accumulator trusts its caller to feed only bundles that verified;
 *    it adds the cross-bundle checks, not the per-bundle ones.
 *  - Entries arrive per bundle in ascending index order; bundles may come in
 *    any order and may overlap.
 */
#ifndef ST_RETENTION_CHECK_H
#define ST_RETENTION_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "entry.h"
#include "merkle.h"
#include "util.h"

/* ---- records ------------------------------------------------------------------ */

enum {
    ST_RREC_NONE = 0,     /* not a retention record */
    ST_RREC_POLICY,       /* kind "retention-policy" */
    ST_RREC_ARCHIVE,      /* kind "archive" */
    ST_RREC_PRUNE,        /* kind "prune" */
    ST_RREC_ERASURE,      /* kind "erasure" */
};

#define ST_RREC_FILE_MAX    128u   /* archive file names: [A-Za-z0-9._-]{1,128}, not "." or ".." */
#define ST_RREC_REASON_MAX  1024u  /* bytes of a reason kept by the parser */
#define ST_RREC_ARCHIVES_MAX 64u   /* archive names listed by one prune record */

typedef struct st_rrec {
    int kind;                  /* ST_RREC_* */
    uint64_t index;            /* the record's own index */
    int64_t time_us;           /* the record's time_us */

    /* retention-policy */
    int64_t min_us;            /* min_retention_us: nothing may be removed earlier */
    int has_max;
    int64_t max_us;            /* max_retention_us: payloads kept at most this long */
    int has_archive_after;
    int64_t archive_after_us;  /* archive_after_us: default age for `sealtrail archive` */
    int has_previous;
    uint64_t previous;         /* index of the policy this one replaces */

    /* archive, prune: the entries [begin, end) whose payloads left the hot store */
    uint64_t begin, end;
    int has_policy;
    uint64_t policy;           /* index of the policy in force when written */
    int has_older_than;
    int64_t older_than_us;     /* the cutoff the command used */
    uint64_t payloads;         /* payloads removed (a count; 0 if absent) */

    /* archive */
    char file[ST_RREC_FILE_MAX + 1];
    uint8_t sha256[32];        /* SHA-256 of the archive file as written */
    uint64_t bytes;            /* its length */
    uint8_t bundle_sha256[32]; /* SHA-256 of the bundle inside (decompressed) */
    uint64_t bundle_bytes;
    uint64_t final_size;       /* the archive bundle's final checkpoint size */

    /* prune */
    int has_max_time;
    int64_t max_time_us;       /* newest time_us among the pruned entries (a signed claim) */
    size_t narchives;          /* archive files deleted (at most ST_RREC_ARCHIVES_MAX listed) */
    char archives[ST_RREC_ARCHIVES_MAX][ST_RREC_FILE_MAX + 1];

    /* erasure */
    uint64_t target;           /* data.index: the entry whose payloads were erased */
    int all_names;             /* no data.payloads: every payload */
    size_t nnames;
    char names[ST_ENTRY_MAX_PAYLOADS][ST_PAYLOAD_NAME_MAX + 1];
    char reason[ST_RREC_REASON_MAX + 1];  /* erasure and policy: data.reason ("" if none) */
} st_rrec;

/* Reads the kind and `data` of a parsed entry. Returns 0 with out->kind set
 * (ST_RREC_NONE for every other kind, data not read), or ST_EFORMAT with err
 * naming the member when a retention record's data is malformed: a required
 * member missing or of the wrong type, a negative count, begin > end, an
 * erasure that targets itself or a later entry, a policy with max < min. */
ST_NODISCARD int st_rrec_parse(st_rrec *out, const st_entry *e, st_err *err);
/* The same from canonical entry bytes (parses them first: ST_ENONCANON etc.). */
ST_NODISCARD int st_rrec_parse_bytes(st_rrec *out, const uint8_t *bytes, size_t len, st_err *err);

/* Whether record r explains the absence of payload `name` of entry `index`
 * ([BUNDLE-9]): an erasure of that entry naming it (or all payloads), or an
 * archive or prune whose range holds the entry; r must come later in the log. */
int st_rrec_covers(const st_rrec *r, uint64_t index, const char *name);

/* Archive file names are plain: [A-Za-z0-9._-]{1,128}, not "." or "..". */
int st_rrec_file_name_valid(const char *name, size_t len);

/* "7y", "90d", "36h", "0s": the largest unit of st_duration_parse that divides us exactly. */
void st_rrec_format_duration(char out[32], int64_t us);

/* ---- the accumulator ------------------------------------------------------------ */

#define ST_RC_MAX_INDEX   ((uint64_t)1 << 28)  /* 268 M entries: 2.4 GiB of state */
#define ST_RC_FINDINGS    64u                   /* findings listed one by one */
#define ST_RC_ARCHIVES    256u                  /* archive records listed one by one */

enum { ST_RC_COMPLIANT = 0, ST_RC_VIOLATED = 1, ST_RC_INCONCLUSIVE = 2 };

enum {
    ST_RCF_FORK = 1,          /* two bundles, two roots at one size */
    ST_RCF_UNLINKED,          /* a bundle shares no root with the others */
    ST_RCF_FILTERED,          /* a filtered bundle proves no completeness */
    ST_RCF_GAP,               /* entries carried by no bundle */
    ST_RCF_MISSING_ARCHIVE,   /* archived payloads held by no bundle given */
    ST_RCF_PREMATURE_PRUNE,   /* pruned before the minimum retention */
    ST_RCF_POLICY_SHORTENED,  /* a policy change cut an entry's protection */
    ST_RCF_POLICY_INVALID,    /* max < min */
    ST_RCF_RECORD_CONFLICT,   /* the same record index, different bytes */
    ST_RCF_TOO_BIG,           /* beyond ST_RC_MAX_INDEX */
    ST_RCF_HELD_PAST_MAX,     /* a warning: payloads kept past the maximum */
    ST_RCF_ORIGIN,            /* bundles of different logs */
    ST_RCF_MALFORMED,         /* a retention record whose data cannot be read */
    ST_RCF_TIME_CONFLICT,     /* two bundles, two times for one entry */
    ST_RCF_INCOMPLETE,        /* entries a checkpoint covers beyond every bundle's end */
};

/* Severity of a finding. */
enum { ST_RCS_WARNING = 0, ST_RCS_INCONCLUSIVE = 1, ST_RCS_VIOLATION = 2 };

typedef struct st_rc_finding {
    int kind;                  /* ST_RCF_* */
    int severity;              /* ST_RCS_*: violations and inconclusive findings decide the verdict */
    uint64_t begin, end;       /* the entries concerned, [begin, end) */
    char msg[400];
} st_rc_finding;

/* One archive record and what the inputs showed of it. */
typedef struct st_rc_archive {
    uint64_t record, begin, end;
    char file[ST_RREC_FILE_MAX + 1];
    char status[16];           /* "given" (a bundle with its digest), "held", "pruned", "missing" */
    int given_as;              /* the bundle number that matched its digest, -1 if none */
} st_rc_archive;

typedef struct st_rc_report {
    int verdict;               /* ST_RC_* */
    int64_t as_of_us;          /* evaluation time */
    int has_policy;
    st_rrec policy;            /* the policy in force at as_of */
    uint64_t bundles, span_end;  /* the span judged is [0, span_end) */
    uint64_t entries_covered, entries_young, entries_held_past_max;
    uint64_t payload_entries_erased, payload_entries_archived, payload_entries_pruned;
    uint64_t records_policy, records_archive, records_prune, records_erasure;
    uint64_t violations, inconclusive, warnings;
    size_t nfindings;
    st_rc_finding findings[ST_RC_FINDINGS];
    size_t narchives;          /* archive records listed */
    uint64_t archives_total;
    st_rc_archive archives[ST_RC_ARCHIVES];
} st_rc_report;

typedef struct st_rc st_rc;

typedef struct st_rc_opts {
    int64_t as_of_us;          /* 0 = the newest checkpoint time seen */
} st_rc_opts;

ST_NODISCARD int st_rc_new(st_rc **out, const st_rc_opts *o);
void st_rc_free(st_rc *rc);                    /* NULL is a no-op */

typedef struct st_rc_bundle {
    const char *name;          /* for messages (file name) */
    const char *origin;
    int contiguous;            /* full, range or time selection */
    uint64_t begin, end;       /* the manifest's span */
    int has_file_sha256;       /* SHA-256 of the input file as read (archives are matched by it) */
    uint8_t file_sha256[32];
} st_rc_bundle;

/* Per bundle, in this order: begin, then any of root/record/entry, then end. */
ST_NODISCARD int st_rc_bundle_begin(st_rc *rc, const st_rc_bundle *b);
/* A root the bundle vouches for: a checkpoint's, or one computed from its
 * entries (the frontier at begin, the compact range at end). */
ST_NODISCARD int st_rc_root(st_rc *rc, uint64_t size, const st_hash root, int64_t cp_time_s);
/* A retention record carried by the bundle (support or entry). Other kinds are ignored. */
ST_NODISCARD int st_rc_record(st_rc *rc, const uint8_t *bytes, size_t len);

typedef struct st_rc_entry {
    uint64_t index;
    int64_t time_us;
    unsigned npayloads;        /* members of its payloads table */
    unsigned present;          /* PAYLOAD records */
    unsigned erased, archived, pruned;   /* ABSENT records by the kind of their record */
} st_rc_entry;
ST_NODISCARD int st_rc_entry_add(st_rc *rc, const st_rc_entry *e);
int st_rc_bundle_end(st_rc *rc);       /* always 0; safe to call after a failed bundle */

/* Feeding from the verifier: fills *obs so that st_verify_bundle (verifier.h)
 * calls st_rc_bundle_begin at the manifest (with the name given to
 * st_rc_next_bundle), then st_rc_root, st_rc_record and st_rc_entry_add.
 * After the verifier returns, call st_rc_bundle_file_sha (optional) and
 * st_rc_bundle_end. A failure inside a callback (out of memory) makes the
 * judgement inconclusive. Feed only bundles whose verdict is "verified"
 * into st_rc_finish: a failed one leaves partial observations. */
struct st_verify_observer;
void st_rc_observer(st_rc *rc, struct st_verify_observer *obs);
void st_rc_next_bundle(st_rc *rc, const char *name);
/* The SHA-256 of the input file of the bundle being fed (archives are matched by it). */
void st_rc_bundle_file_sha(st_rc *rc, const uint8_t sha[32]);

/* Judges everything fed so far. 0 or ENOMEM. */
ST_NODISCARD int st_rc_finish(st_rc *rc, st_rc_report *rep);

const char *st_rc_verdict_name(int verdict);   /* "compliant", "violated", "inconclusive" */
const char *st_rc_finding_name(int kind);      /* "gap", "missing-archive", ... */

#endif
