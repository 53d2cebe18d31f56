/*
 * export.h: writing auditor bundles (docs/FORMAT.md section 6).
 *
 * Two layers. st_export_write lays a bundle out from an abstract source (the
 * log's entries, payloads, checkpoints, tree nodes and proofs) and a plan
 * (what is selected): it decides which checkpoints, proofs, support entries
 * and hashes go in, and streams them through a bundle writer. The store
 * implements the source over one LMDB read transaction (export_store.c:
 * st_export_store); the unit tests implement it over synthetic logs.
 *
 * Memory: the plan's index list (filtered selections), the checkpoint sizes
 * and the support indices; everything else streams.
 */
#ifndef ST_EXPORT_H
#define ST_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "bundle_write.h"
#include "json.h"
#include "merkle.h"

/* Selection kinds [BUNDLE-6]. */
typedef enum st_sel_kind { ST_SEL_FULL = 0, ST_SEL_RANGE, ST_SEL_TIME, ST_SEL_FILTER } st_sel_kind;

/* One payload of an entry, in name order: present (bytes, salt) or absent
 * (record = the index of the signed erasure/archive/prune record). */
typedef int (*st_export_payload_fn)(void *fctx, const char *name, int present, const uint8_t *bytes, size_t len,
                                    const uint8_t salt[ST_SALT_BYTES], uint64_t record);
/* One absent payload in [begin, end): (index, name, record), ascending index. */
typedef int (*st_export_absence_fn)(void *fctx, uint64_t index, const char *name, uint64_t record);

typedef struct st_export_src {
    void *ctx;
    /* st_checkpoint_get semantics (ST_CP_EXACT / AT_LEAST / AT_MOST); *note malloc'd. ST_ENOTFOUND if none. */
    int (*checkpoint)(void *ctx, uint64_t size, unsigned mode, uint64_t *size_out, char **note, size_t *len);
    /* Hash of the perfect subtree [pos*2^level, (pos+1)*2^level). */
    int (*node)(void *ctx, unsigned level, uint64_t pos, st_hash out);
    /* RFC 6962 proofs, leaf-to-root; *hashes malloc'd (may be NULL when *n == 0). */
    int (*prove_consistency)(void *ctx, uint64_t m, uint64_t n, st_hash **hashes, size_t *np);
    int (*prove_inclusion)(void *ctx, uint64_t index, uint64_t size, st_hash **hashes, size_t *np);
    /* Entry bytes, borrowed until the next call. */
    int (*entry)(void *ctx, uint64_t index, const uint8_t **bytes, size_t *len);
    /* Every payload of entry `index`, in name order. */
    int (*payloads)(void *ctx, uint64_t index, st_export_payload_fn fn, void *fctx);
    /* Every absent payload of entries in [begin, end). */
    int (*absences)(void *ctx, uint64_t begin, uint64_t end, st_export_absence_fn fn, void *fctx);
} st_export_src;

typedef struct st_export_plan {
    const char *origin;
    st_sel_kind kind;
    const st_json *selection;     /* the manifest's "selection" object (kind and criteria) */
    uint64_t begin, end;          /* contiguous: the range; filter: the span of the indices */
    const uint64_t *indices;      /* filter: ascending selected indices */
    size_t nindices;
    uint64_t final_size;          /* the latest checkpoint's size: the bundle's final checkpoint */
    const char *previous_note;    /* --from-checkpoint: a note of this log, or NULL */
    size_t previous_len;
    uint64_t previous_size;
    const char *const *vkeys;     /* public key history (verifier key strings) */
    size_t nvkeys;
    int64_t policy_index;         /* the retention-policy entry in force, or -1 */
    /* keys (issue 5): the key-history notes the log recorded below final_size,
     * in index order (KEYNOTE records; their entries go in as support entries) */
    const uint64_t *keynote_index;
    const char *const *keynotes;
    const size_t *keynote_lens;
    size_t nkeynotes;
    int64_t created_us;
    const char *exporter;         /* "sealtrail 0.1.0" */
} st_export_plan;

typedef struct st_export_stats {
    uint64_t entries, payloads, absent, checkpoints, supports, bytes;
} st_export_stats;

/* Writes the whole bundle, trailer included. 0, or an error with err set. */
ST_NODISCARD int st_export_write(const st_export_src *src, const st_export_plan *plan, st_bundle_writer *w,
                                 st_export_stats *stats, st_err *err);

/* ---- the store front end (export_store.c) ------------------------------------ */

struct st_store;

typedef struct st_export_opts {
    st_sel_kind kind;
    uint64_t from, to;            /* range: inclusive indices (to = UINT64_MAX: the last sealed entry) */
    int has_since, has_until;     /* time window, and time criteria of a filter */
    int64_t since_us, until_us;
    const char *tool, *event, *session, *status;  /* filter: comma-separated lists */
    const char *path, *text;      /* filter */
    const char *from_checkpoint;  /* note bytes of a checkpoint the auditor holds, or NULL */
    size_t from_checkpoint_len;
    int seal;                     /* seal unsealed entries first instead of refusing */
    int writeback;                /* fd is a file the caller fsyncs: ST_BW_WRITEBACK */
} st_export_opts;

/* Exports from an open store to fd: resolves the selection (the query engine
 * for filters and time windows), checks that everything selected is sealed,
 * and writes the bundle in one read transaction. Errors: ST_ENOTSEALED
 * (selected entries after the latest checkpoint; use seal), ST_ENOTFOUND
 * (never sealed), ST_EINVAL (bad range or filter), ST_EPROOF (the
 * --from-checkpoint note is not of this log), st_store_error() has detail. */
ST_NODISCARD int st_export_store(struct st_store *s, const st_export_opts *o, int fd, st_export_stats *stats);

/* The checks of st_export_store's input alone, writing nothing: the selection,
 * an index range within the log, a --from-checkpoint of this log. The same
 * errors; the CLI runs it before it looks at the output file. */
ST_NODISCARD int st_export_check(struct st_store *s, const st_export_opts *o);

#endif
