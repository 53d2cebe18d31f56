/*
 * query.h: answering "which entries match" from the indexes (index.h).
 *
 * Filters combine with AND; a field given several values (--tool Edit,Write)
 * matches any of them. The planner picks one index to drive the scan (tool,
 * session, rare status, path or else time), the one with the fewest rows
 * for the requested values (exact counts kept in the stats table), always
 * restricted to the time window because every index key ends in time ‖
 * index; event, duration and the common statuses have no index of their own
 * (few distinct values: index.h) and, like every other filter but the
 * driver's, are checked per
 * candidate from the time-index summary (tool, event, session, status,
 * duration), the path rows, and last, for --text, the payloads. Results
 * stream in time order from a single range; several ranges (several values,
 * or a path pattern matching many paths) or --sort duration are collected
 * as (time, index, duration) triples and sorted first (24 bytes a candidate).
 *
 * Time window: since <= time_us < until.
 * Path: a pattern with * ? or [ is a glob (fnmatch without FNM_PATHNAME, so
 * * also matches '/'; ? and [...] match one UTF-8 character); a glob not
 * starting with '/' or '*' also matches any tail of the path after a '/'
 * (the glob src/auth/lo*.ts matches /repo/src/auth/login.ts).
 * Any other pattern is a substring. Paths are indexed as described in
 * index.h (st_ix_paths).
 * Text: a substring of a payload's stored (redacted) bytes, tried both as
 * given and JSON-escaped (so quotes and newlines in the needle match).
 * --sort duration lists only entries that have a duration.
 */
#ifndef ST_QUERY_H
#define ST_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "util.h"

#define ST_Q_MAX_VALUES 16u

typedef struct st_qfield {
    size_t n;                           /* 0 = no filter on this field */
    const char *v[ST_Q_MAX_VALUES];
    size_t len[ST_Q_MAX_VALUES];
} st_qfield;

typedef enum st_qsort { ST_QSORT_TIME = 0, ST_QSORT_DURATION = 1 } st_qsort;

typedef struct st_query {
    st_qfield tool, event, session, status;
    int has_since, has_until;
    int64_t since_us, until_us;
    const char *path;                   /* NULL = no path filter */
    int has_min_duration;
    uint64_t min_duration_ms;
    const char *text;                   /* NULL = no text filter */
    size_t text_len;
    st_qsort sort;
    int reverse;                        /* newest (or slowest) first */
    uint64_t limit;                     /* 0 = no limit */
    int no_entry;                       /* the callback needs no entry bytes (counting): it gets NULL, 0 */
    /* Optional (both or neither): releasing the snapshot while the results
     * are written (cmd_query: a stalled reader must not pin the store's
     * freed pages). After each result the executor calls yield(ctx); when
     * it returns non-zero, the executor closes its cursors and calls
     * renew(ctx, &txn), which ends the snapshot and leaves a new one of the
     * same store in txn (0, or an error that stops the query), then goes
     * on after the last result from its position (an index key). Only
     * entries below the log size at the start are results, so the answer
     * is the one the first snapshot gives, except for payloads erased,
     * archived or pruned meanwhile (they read as absent; --text then no
     * longer matches them). */
    int (*yield)(void *ctx);
    int (*renew)(void *ctx, st_txn **txn);
} st_query;

/* Adds a comma-separated list of values to a field; a value already there
 * is skipped. Inside a value, \, stands for a comma and \\ for a backslash
 * (a tool named "a,b" is "a\,b"); any other backslash is itself. s is
 * unescaped in place and the values are borrowed from it. 0, ST_EINVAL (an
 * empty value) or ST_ETOOBIG (more than ST_Q_MAX_VALUES distinct values),
 * whichever comes first. */
ST_NODISCARD int st_qfield_add_list(st_qfield *f, char *s);

/* Which index drove the scan, and how much work it took (for --explain and tests). */
typedef struct st_query_info {
    const char *driver;                 /* "time", "tool", "session", "status", "path", "none" */
    uint64_t estimate;                  /* rows the planner expected from the driver (all time) */
    uint64_t scanned;                   /* candidates read from the driver */
    uint64_t matched;                   /* results passed to the callback */
} st_query_info;

/* Called once per result in order, with the entry's canonical bytes (valid
 * during the call). A non-zero return stops the query and is returned. */
typedef int (*st_query_fn)(void *ctx, st_txn *txn, uint64_t index, const uint8_t *entry, size_t len);

/* Runs q inside the read transaction txn. 0, the callback's non-zero
 * return, ST_EINVAL (bad query, err says why), ST_ECORRUPT (an index row
 * that does not decode), ENOMEM. info may be NULL. */
ST_NODISCARD int st_query_run(st_txn *txn, const st_query *q, st_query_fn fn, void *ctx, st_query_info *info,
                              st_err *err);

/* Path matching as described above (exposed for tests). */
int st_query_path_match(const char *pattern, const char *path, size_t path_len);

#endif
