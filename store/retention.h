/*
 * retention.h: the store side of retention (docs/RETENTION.md): the signed
 * policy, archive, prune, erasure, and the compaction that makes removed
 * bytes leave the store's files.
 *
 * Every removal follows the same order, so that a crash at any point leaves
 * either nothing removed or a signed record explaining the removal:
 *   1. a journal row (meta "retention_journal") says what is about to happen;
 *   2. the signed record (erasure, archive, prune, retention-policy) is
 *      appended and sealed;
 *   3. payload rows are deleted and `retention` rows (u64be index || name ->
 *      u64be record index) written, in bounded transactions; the last one
 *      clears the journal;
 *   4. the store is compacted (a logical copy into a fresh file under the
 *      writer gate), so the removed bytes are gone from data.mdb too.
 * The next retention command finishes an interrupted step 3 (recovery). The
 * last transaction of step 3 also sets meta "retention_compact_pending",
 * which the compacted copy leaves out: after an interrupted step 4 the next
 * erase, archive or prune compacts even with nothing else to do.
 *
 * Bookkeeping (meta table): retention_policy_index, retention_archived_end,
 * retention_pruned_end, retention_erasures, retention_archive/<begin, 20
 * digits> -> u64 record index, retention_prune/<begin> -> u64 record index.
 *
 * ERRORS: ST_EPOLICY (refused by the policy: st_store_error says which
 * rule and both values), ST_EBUSY (another retention command is running, or
 * the writer gate was not obtained in time), ST_ENOTFOUND, ST_EEXIST (already
 * erased), ST_ECORRUPT (an archive failed its own verification), errno.
 */
#ifndef ST_RETENTION_H
#define ST_RETENTION_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "retention_check.h"
#include "sealtrail.h"

struct st_store;

/* ---- policy (retention.c) ------------------------------------------------------- */

typedef struct st_policy_in {
    int64_t min_us;             /* minimum retention: nothing may be removed earlier */
    int has_max;
    int64_t max_us;             /* maximum retention for payloads (prune's default age) */
    int has_archive_after;
    int64_t archive_after_us;   /* archive's default age */
    const char *reason;         /* optional, kept in the record */
} st_policy_in;

/* The policy in force: out->kind == ST_RREC_POLICY, or ST_RREC_NONE if none was ever set. */
ST_NODISCARD int st_retention_policy(struct st_store *s, st_rrec *out);

/* Appends a retention-policy record (and seals). Refused with ST_EPOLICY when
 * max < min, or when min is lower than the minimum in force while some entry
 * is still protected by it. */
ST_NODISCARD int st_retention_set(struct st_store *s, const st_policy_in *p, uint64_t *index_out);

typedef struct st_retention_state {
    uint64_t size, sealed_size;
    uint64_t archived_end;      /* payloads of [0, archived_end) are in archives (or pruned, erased) */
    uint64_t pruned_end;        /* payloads of [0, pruned_end) are pruned (or erased) */
    uint64_t archives, prunes, erasures;   /* records written by this store */
    uint64_t payload_rows;      /* payloads in the hot store */
    uint64_t removed_rows;      /* payloads absent with a record */
    uint64_t file_bytes;        /* data.mdb on disk */
    uint64_t used_bytes;        /* LMDB pages in use */
    int journal_pending;        /* an interrupted command will be finished by the next one */
    int compact_pending;        /* removed bytes wait in free pages for a compaction (--no-compact, busy, a crash) */
} st_retention_state;

ST_NODISCARD int st_retention_state_get(struct st_store *s, st_retention_state *out);

/* Calls fn for each archive record of this store, by begin. */
typedef int (*st_archive_list_fn)(void *ctx, const st_rrec *archive);
ST_NODISCARD int st_retention_archives(struct st_store *s, st_archive_list_fn fn, void *ctx);

/* 1 if an erasure, archive or prune has removed payloads since the last
 * compaction (its bytes are still in free pages of data.mdb): erase, archive
 * and prune then compact even when they have nothing else to do. */
int st_retention_compact_pending(struct st_store *s);

/* Finishes an interrupted retention command, if any (every command below calls it). */
ST_NODISCARD int st_retention_recover(struct st_store *s);

/* ---- erase (erase.c) ------------------------------------------------------------ */

typedef struct st_erase_opts {
    uint64_t index;
    const char *const *names;   /* payload names; NULL/0 = every payload of the entry */
    size_t nnames;
    const char *reason;         /* required: why (kept in the signed record) */
    int no_compact;             /* leave compaction to a later `retention compact` */
    unsigned wait_ms;           /* writer gate wait; 0 = default */
} st_erase_opts;

typedef struct st_erase_result {
    uint64_t record;            /* index of the erasure record */
    size_t nnames;
    char names[ST_ENTRY_MAX_PAYLOADS][ST_PAYLOAD_NAME_MAX + 1];
    uint64_t shared;            /* other payloads still referencing identical large content */
    int in_archive;             /* the bytes are also in an (immutable) archive file */
    char archive_file[ST_RREC_FILE_MAX + 1];
    int compacted;
    uint64_t bytes_before, bytes_after;
} st_erase_result;

ST_NODISCARD int st_erase(struct st_store *s, const st_erase_opts *o, st_erase_result *r);

/* ---- archive (archive.c) ----------------------------------------------------------- */

typedef struct st_archive_opts {
    int has_older_than;
    int64_t older_than_us;      /* archive entries at least this old; else the policy's archive_after */
    const char *dir;            /* archive directory; NULL = STORE/archive */
    uint64_t max_entries;       /* at most this many entries per archive file; 0 = no limit */
    int level;                  /* zstd level; 0 = 9 */
} st_archive_opts;

typedef struct st_archive_result {
    int archived;               /* 0: nothing old enough and sealed */
    uint64_t begin, end, record, payloads;
    char path[PATH_MAX];
    uint64_t bytes, bundle_bytes;
    uint8_t sha256[32], bundle_sha256[32];
    uint64_t final_size;
} st_archive_result;

/* Writes one archive (the oldest unarchived sealed range older than the
 * cutoff), verifies it, records it, and removes its payloads from the hot
 * store. Does not compact (call st_store_compact once after a series). */
ST_NODISCARD int st_archive_one(struct st_store *s, const st_archive_opts *o, st_archive_result *r);

/* zstd-compressed archive files: reading one into the verifier (archive_io.c). */
struct st_verify_report;
ST_NODISCARD int st_archive_verify_file(const char *path, struct st_store *s, struct st_verify_report *rep,
                                        uint8_t file_sha256[32], uint8_t bundle_sha256[32], uint64_t *bundle_bytes);

/* ---- prune (prune.c) --------------------------------------------------------------- */

typedef struct st_prune_opts {
    int has_older_than;
    int64_t older_than_us;      /* else the policy's maximum retention */
    const char *dir;            /* archive directory; NULL = STORE/archive */
} st_prune_opts;

typedef struct st_prune_result {
    int pruned;
    uint64_t begin, end, record, payloads;
    int64_t max_time_us;
    size_t narchives, deleted;  /* archive files covered; deleted from the archive directory */
    char archives[ST_RREC_ARCHIVES_MAX][ST_RREC_FILE_MAX + 1];
} st_prune_result;

ST_NODISCARD int st_prune(struct st_store *s, const st_prune_opts *o, st_prune_result *r);

/* ---- compaction and the writer gate (compact.c) ------------------------------------- */

/* Rewrites data.mdb as a logical copy (live records only) under the writer
 * gate held exclusively, replaces the file, and wipes the old one. Hooks and
 * other processes wait at the gate (bounded) or spool; nothing is lost.
 * ST_EBUSY if other handles stay open past wait_ms (0 = default 10 s). */
ST_NODISCARD int st_store_compact(struct st_store *s, unsigned wait_ms, uint64_t *before, uint64_t *after);

#endif
