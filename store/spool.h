/*
 * spool.h: where a hook event goes when the store cannot take it (lock held
 * past the bound, store missing or unwritable, disk full, key missing), and
 * how the next successful run appends it first, in order, exactly once.
 *
 * A spool file holds one record already built and redacted (st_event after
 * st_event_build: envelope and payload bytes), never the unredacted input.
 * Files live in DIR/spool/ (0700), are created 0600 with O_EXCL under a
 * dot-name, written whole, fsync'd, then renamed to their final name
 * (so a reader never sees a torn file), and are named
 *
 *   <time_us, 20 digits>-<pid, 10 digits>-<counter, 6 digits>.rec
 *
 * so that name order is record-time order. A hook killed before the rename
 * (kill -9, a client's hook timeout) leaves its dot-name, .<name>.tmp: an
 * event it never reported as spooled. Once the pid in the name is gone, the
 * next replay renames such a file to <name> when it ends with the trailer
 * (written whole: the event is kept, and replayed like any other) and
 * removes it otherwise (torn: nothing readable). Layout (integers big-endian):
 *
 *   0   "STSPOOL1"
 *   8   u64 from       log size before the last append attempt of this
 *                      record, or all ones: "never attempted"
 *   16  i64 time_us    the record time
 *   24  u32 meta_len   then meta_len bytes: the envelope, compact JSON object
 *   28  u32 npayloads  then per payload: u8 name_len, name, u64 len, bytes
 *   ..  "STSPOOLE"     trailer; the file ends here
 *
 * EXACTLY ONCE. A record may have reached the log although its spool file
 * survives: the process died (or its watchdog fired) between the commit and
 * the unlink. Before each append attempt the replayer writes the current log
 * size into `from` (in place, fdatasync'd); the hook's own watchdog writes
 * it into the file it spools. A file whose `from` is set is appended only if
 * no entry in [from, size) is that record (same time_us, every envelope
 * member equal, and no other spool id). So every crash point either leaves
 * the file (appended later, or found and dropped) or removes it after the
 * commit: no loss, no duplicate. Replayers exclude each other with an
 * flock on DIR/spool/.lock; a replayed entry carries `spool` = its file's
 * name without ".rec", so auditors see which events were recorded late.
 * A spooled PostToolUse(Failure) without duration_ms gets it at replay from
 * its PreToolUse, as it would have when recorded live.
 *
 * st_spool_image_write() is async-signal-safe: the hook calls it from its
 * watchdog's SIGALRM handler.
 */
#ifndef ST_SPOOL_H
#define ST_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "record.h"
#include "util.h"

#define ST_SPOOL_SUBDIR     "spool"
#define ST_SPOOL_LOCK       ".lock"
#define ST_SPOOL_NAME_MAX   64u
#define ST_SPOOL_FROM_NONE  UINT64_MAX
#define ST_SPOOL_FILE_MAX   ((uint64_t)1 << 30)   /* bigger spool files are refused as corrupt */

/* A record prepared for writing to the spool without allocating: the bytes
 * are referenced by an iovec list. Payload data stays owned by the caller
 * and must outlive the image. */
typedef struct st_spool_image {
    char name[ST_SPOOL_NAME_MAX];      /* final file name */
    char tmp[ST_SPOOL_NAME_MAX + 8];   /* "." name ".tmp" */
    uint8_t head[32];
    uint8_t phead[ST_ENTRY_MAX_PAYLOADS][1 + 32 + 8];
    st_buf meta;
    struct iovec iov[2 + 2 * ST_ENTRY_MAX_PAYLOADS + 1];
    int iovcnt;
    uint64_t total;                     /* file size */
} st_spool_image;

/* Serializes rec into im (name from rec->time_us, the pid and a counter).
 * 0 or ENOMEM. Free with st_spool_image_free. */
ST_NODISCARD int st_spool_image_build(st_spool_image *im, const st_record_in *rec);
void st_spool_image_free(st_spool_image *im);

/* Writes the image as a new spool file into the directory open at dirfd,
 * with `from` in its header. Async-signal-safe (open/writev/fsync/rename
 * only, no allocation). 0 or errno. */
int st_spool_image_write(st_spool_image *im, int dirfd, uint64_t from);

/* Creates DIR (0700) and DIR/spool (0700) if missing and opens the spool
 * directory. *dirfd_out = an O_DIRECTORY fd. 0 or errno. */
ST_NODISCARD int st_spool_open_dir(const char *dir, int *dirfd_out);

/* Number of spool files waiting (".rec" names), or -errno. */
long st_spool_pending(int dirfd);

/* The same, and in *stale (if not NULL) the number of dot-names left by
 * writers that are gone (killed before their rename): the next replay
 * settles them, so a hook replays when either count is not 0. */
long st_spool_pending_stale(int dirfd, long *stale);

/* Takes the replayers' lock (blocking; the caller bounds the wait with its
 * watchdog). Returns the lock fd (close to release) or -errno. */
int st_spool_lock(int dirfd);

typedef struct st_spool_stats {
    unsigned appended;      /* spool files appended to the log */
    unsigned duplicates;    /* found already in the log and dropped */
    unsigned bad;           /* unreadable or invalid: renamed to NAME.bad */
    uint64_t first_index;   /* index of the first appended entry (if appended) */
    unsigned wants_seal;    /* appended a Stop, StopFailure or SessionEnd: the caller seals, as the hook
                               would have when it recorded the event */
} st_spool_stats;

struct st_store;

/* Called before each append attempt with the record's size in bytes, so a
 * caller can re-arm a watchdog. May be NULL. */
typedef void (*st_spool_before_fn)(void *ctx, uint64_t bytes);

/* Appends every spool file of dirfd to s in name order (the caller holds the
 * lock). Stops at the first store failure and returns it (files not yet
 * appended stay); a file that is itself invalid (or no regular file: a
 * symlink, a directory) or that the store refuses as malformed is renamed
 * NAME.bad and counted. */
ST_NODISCARD int st_spool_replay(struct st_store *s, int dirfd, st_spool_before_fn before, void *ctx,
                                 st_spool_stats *stats);

/* The log size (number of entries) now. 0 or an st error. */
ST_NODISCARD int st_spool_log_size(struct st_store *s, uint64_t *size_out);

/* Parses spool file bytes into a record: meta is parsed into *doc_out (caller
 * frees); payload data points into buf. ST_EFORMAT with err if invalid. */
ST_NODISCARD int st_spool_parse(const uint8_t *buf, size_t len, st_record_in *rec, uint64_t *from_out,
                                st_json_doc **doc_out, st_err *err);

#endif
