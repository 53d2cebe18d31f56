/*
 * retention_ops.h: internals shared by the store's retention modules
 * (retention.c, retention_apply.c, erase.c, archive.c, prune.c): meta
 * names, the journal, record appends, and the removal engine.
 */
#ifndef ST_RETENTION_OPS_H
#define ST_RETENTION_OPS_H

#include <stdint.h>

#include "db.h"
#include "json.h"
#include "retention.h"

/* Meta names (docs/RETENTION.md "Store bookkeeping"). */
#define ST_RET_POLICY          "retention_policy_index"   /* read by export_store.c too */
#define ST_RET_ARCHIVED_END    "retention_archived_end"
#define ST_RET_PRUNED_END      "retention_pruned_end"
#define ST_RET_ERASURES        "retention_erasures"
#define ST_RET_JOURNAL         "retention_journal"
#define ST_RET_COMPACT_PENDING "retention_compact_pending" /* u64 record whose removed bytes wait in free pages;
                                                             set with its removal, absent from a compacted copy */
#define ST_RET_ARCHIVE_PREFIX  "retention_archive/"       /* + begin (20 digits) -> u64 record */
#define ST_RET_PRUNE_PREFIX    "retention_prune/"         /* + begin (20 digits) -> u64 record */

#define ST_RET_ARCHIVE_SUBDIR  "archive"
#define ST_RET_LOCK_FILE       "retention.lock"

struct st_store;
struct st_txn;

/* A reason kept in a signed record (a policy's, an erasure's): valid UTF-8, at
 * most ST_RET_REASON_MAX bytes, one line without control characters (C0, DEL:
 * it is printed as typed). 0, or ST_EINVAL after st_store_fail naming the byte. */
#define ST_RET_REASON_MAX 1000u
ST_NODISCARD int st_ret_reason_check(struct st_store *s, const char *reason);

/* Reads and parses the record entry at index. */
ST_NODISCARD int st_ret_read_record(struct st_txn *txn, uint64_t index, st_rrec *out, st_err *err);
uint64_t st_ret_meta_u64(struct st_txn *txn, const char *name);   /* 0 if absent */
void st_ret_list_key(char out[64], const char *prefix, uint64_t begin);

/* Appends {kind, data, host, user} as one record and seals it. data lives in doc. */
ST_NODISCARD int st_ret_append_record(struct st_store *s, const char *kind, st_json_doc *doc, st_json *data,
                                      uint64_t *index_out);

/* Journal: writes fields (an object in doc, with "op") plus "size" (the log
 * size now) to meta before the record is appended; cleared in the last
 * transaction of st_ret_apply. */
ST_NODISCARD int st_ret_journal_begin(struct st_store *s, st_json_doc *doc, st_json *fields);
ST_NODISCARD int st_ret_journal_clear_txn(struct st_txn *txn);

/* Carries out what record rec says (it is already in the log): erasure,
 * archive, prune: delete the payload rows it covers and write retention
 * rows pointing at it, in bounded transactions; then the bookkeeping (the
 * policy index, archived/pruned ends, the archive list) and the journal
 * cleared. Idempotent: rerunning it after a crash finishes the job.
 * *changed (optional): payloads whose state changed. */
ST_NODISCARD int st_ret_apply(struct st_store *s, const st_rrec *rec, uint64_t *changed);

/* Payload names of entry `index` (its commitment table), in table order. */
ST_NODISCARD int st_ret_entry_names(struct st_txn *txn, uint64_t index, char names[][ST_PAYLOAD_NAME_MAX + 1],
                                    size_t *n, int64_t *time_us, st_err *err);

/* One retention command at a time per store: an exclusive flock on
 * DIR/retention.lock (ST_EBUSY at once if another one holds it). */
ST_NODISCARD int st_ret_oplock(struct st_store *s, int *fd_out);
void st_ret_opunlock(int fd);

/* Compresses fd in (a bundle) into fd out (zstd, level, with a frame
 * checksum), fsyncs out, and returns the SHA-256 and length of both sides. */
ST_NODISCARD int st_aio_compress(int in, int out, int level, uint8_t in_sha[32], uint64_t *in_bytes,
                                 uint8_t out_sha[32], uint64_t *out_bytes);

/* Deletes the archive files a prune record lists from dir (NULL = STORE/archive);
 * *deleted counts those that were there. */
ST_NODISCARD int st_prune_delete_files(struct st_store *s, const char *dir, const st_rrec *rec, size_t *deleted);

/* The archive directory: dir, or STORE/archive; created 0700. out: PATH_MAX. */
ST_NODISCARD int st_ret_archive_dir(struct st_store *s, const char *dir, char *out, size_t outlen);

#endif
