/*
 * stats.h: per-tool figures for `sealtrail stats`: entries, calls
 * (completed invocations: status succeeded, failed or interrupted),
 * failures (failed or interrupted), denials, and durations (total, average,
 * nearest-rank p50 and p95, max) over the entries that carry duration_ms.
 *
 * All time: read from the running aggregates (index.h 'a' and 'h' rows), so
 * the cost depends on the number of tools, not entries; p50/p95 come from
 * the log histogram (exact below 64 ms or when the samples of the bucket are
 * equal, within 1.6% otherwise). With a time
 * window: one range scan of the tool index per tool, exact percentiles.
 * With sessions: one range scan of the session index per session, exact.
 */
#ifndef ST_STATS_H
#define ST_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "query.h"
#include "util.h"

typedef struct st_tool_stats {
    char *tool;                  /* NUL-terminated copy (may contain NUL; use tool_len) */
    size_t tool_len;
    uint64_t entries, calls, failures, denied;
    uint64_t dur_n, dur_total, dur_max;
    uint64_t p50, p95;           /* 0 when dur_n == 0 */
    int exact;                   /* percentiles exact (1) or from the histogram (0) */
} st_tool_stats;

typedef struct st_stats_query {
    int has_since, has_until;
    int64_t since_us, until_us;  /* since <= time_us < until */
    st_qfield session;           /* restrict to these sessions (distinct ids); none = all */
    st_qfield tool;              /* restrict to these tools; none = all */
} st_stats_query;

/* Computes the figures, sorted by total duration (then entries, then name),
 * most expensive first. *out: caller frees with st_stats_free. */
ST_NODISCARD int st_stats_run(st_txn *txn, const st_stats_query *q, st_tool_stats **out, size_t *n, st_err *err);
void st_stats_free(st_tool_stats *v, size_t n);

/* Nearest-rank percentile (p in 1..100) of n sorted values. */
uint64_t st_stats_percentile(const uint64_t *sorted, size_t n, unsigned p);

#endif
