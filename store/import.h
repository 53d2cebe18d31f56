/*
 * import.h: bringing an existing JSONL audit log into a store
 * (`sealtrail import`). Each non-blank line is one JSON object of either
 * shape:
 *
 *  - a Claude Code hook event (has hook_event_name, tool_name or
 *    session_id): converted by the hook's own code (event.h), so it gets the
 *    same envelope, payloads and redaction as a live event; a "timestamp"
 *    member, if any, gives the entry time;
 *  - a "seed" audit-log line as common JSONL audit hooks write it:
 *      {"timestamp":"2025-01-15T10:30:00.123Z","toolName":"Bash",
 *       "input":{…},"output":{…},"executionTimeMs":41,"error":false,
 *       "errorMessage":null,"status":"success","sessionId":"…"}
 *    timestamp is RFC 3339 (a missing zone means UTC; "+0200" offsets too)
 *    or a number (or string of digits) of epoch seconds / milliseconds /
 *    microseconds / nanoseconds (by magnitude); import_line.c lists the
 *    other member names read.
 *
 * Either way the entry has kind "import", time_us = the original time,
 * recorded_us = the import time, event PostToolUse or PostToolUseFailure
 * (PermissionDenied for status denied), payloads tool_input (input),
 * tool_response (output), error (errorMessage) and event (every other
 * member, so nothing is lost), all redacted before anything is stored.
 *
 * A line that is not a JSON object, or an object of neither shape, or a
 * seed line without a usable timestamp, is malformed: reported with its
 * line number and skipped, or with `strict` the whole import is refused
 * before anything is written.
 */
#ifndef ST_IMPORT_H
#define ST_IMPORT_H

#include <stddef.h>
#include <signal.h>
#include <stdint.h>

#include "event.h"
#include "sealtrail.h"

typedef struct st_import_line_opts {
    int64_t now_us;                    /* recorded_us; 0 = st_now_us() */
    const char *host, *user;           /* envelope host/user; NULL = omitted */
    const struct st_redactor *redactor; /* NULL = built-in rules */
} st_import_line_opts;

/* Kinds of line. */
enum { ST_IMPORT_BLANK = 0, ST_IMPORT_SEED = 1, ST_IMPORT_HOOK = 2 };

/* Converts one line (without its LF) into a record in ev. Pure: no I/O.
 * Returns 0 with *kind set (BLANK: ev is empty, nothing to append), ST_EJSON
 * or ST_EFORMAT with why->msg saying what is wrong with the line (ev
 * zeroed), ENOMEM. Free ev with st_event_free. */
ST_NODISCARD int st_import_line(st_event *ev, int *kind, const char *line, size_t len,
                                const st_import_line_opts *o, st_err *why);

/* Records per durable transaction unless told: bigger batches write each
 * index page and sync fewer times per entry; the import holds about three
 * batches of records (converting, waiting, appending). */
#define ST_IMPORT_BATCH_DEFAULT 4000u
/* A transaction also ends after the line with which its lines reach this
 * many input bytes: a log of large lines (file contents, long outputs)
 * would otherwise hold batch x line size in memory three times over, and
 * as dirty pages of one transaction (4000 lines of 1 MiB: gigabytes). */
#define ST_IMPORT_BATCH_BYTES_DEFAULT ((size_t)16 << 20)

typedef struct st_import_opts {
    int strict;                        /* any malformed line: import nothing */
    size_t batch;                      /* records per transaction; 0 = ST_IMPORT_BATCH_DEFAULT */
    size_t batch_bytes;                /* and input bytes; 0 = ST_IMPORT_BATCH_BYTES_DEFAULT */
    size_t max_line;                   /* 0 = ST_EVENT_MAX_DEFAULT */
    int serial;                        /* convert and append in one thread (default: two) */
    const struct st_redactor *redactor;
    /* Each malformed line (line numbers from 1). */
    void (*on_bad)(void *ctx, uint64_t line, const char *why);
    /* Every 65536 lines and at the end. */
    void (*on_progress)(void *ctx, uint64_t lines, uint64_t imported, uint64_t bytes);
    void *ctx;
    /* Set (by a signal handler, say) to stop: the import ends at the next
     * transaction boundary, keeping the batches committed so far, with
     * st_import_result.interrupted set. NULL: never. */
    const volatile sig_atomic_t *stop;
} st_import_opts;

typedef struct st_import_result {
    uint64_t lines;                    /* lines read (including blank and bad) */
    uint64_t imported;                 /* entries appended */
    uint64_t bad, blank;
    uint64_t seed, hook;               /* imported lines of each shape */
    uint64_t first_index;              /* index of the first imported entry (imported > 0) */
    uint64_t last_index;               /* and of the last (other writers' entries may lie between) */
    uint64_t redactions;               /* secrets redacted */
    int interrupted;                   /* stopped by opts->stop: lines 1..lines are done, the rest not read */
} st_import_result;

/* Imports JSONL from fd. A second thread reads and converts the next
 * lines while this one appends, and a third helps prepare their records
 * (opts->serial: one thread); the callbacks
 * run on this thread in line order, as when converting and appending one
 * line at a time. With strict, a seekable fd is read twice (check, then
 * import); a pipe is held in memory for the check (up to 1 GiB, else
 * ST_ETOOBIG, nothing written). Returns 0 (bad
 * lines skipped and counted), ST_EJSON if strict and a line was bad
 * (nothing written; err names the first), an append error (err, and
 * entries before the failing batch stay), or an errno value. */
ST_NODISCARD int st_import_fd(st_store *s, int fd, const st_import_opts *o, st_import_result *res, st_err *err);

#endif
