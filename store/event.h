/*
 * event.h: one Claude Code hook event (the JSON the client writes on the
 * hook's stdin) turned into a record for st_append_records.
 *
 * The input is hostile and arrives in every shape old and new clients
 * produce (docs/FORMAT.md §1.1, ../shared/claude-code/HOOKS.md §3):
 *
 *   1. parse leniently: whitespace allowed, invalid UTF-8 and lone surrogate
 *      escapes become U+FFFD (counted in `utf8_replaced`), duplicate keys
 *      kept (the first one is the one the envelope reads), depth bounded;
 *   2. redact the whole value tree (decoded strings and object keys, every
 *      depth) before anything else looks at it;
 *   3. map the envelope (event, session, tool, status, ...), inferring the
 *      event name for clients that send no hook_event_name;
 *   4. split the payloads: tool_input, tool_response, prompt, error, and
 *      `event` = every member the envelope does not carry exactly, so that
 *      nothing the client sent is lost.
 *
 * Input that cannot be parsed into an object (not JSON, too deep, a top-level
 * array, two objects, over the size limit, a tree too big for the memory at
 * hand) becomes an entry with status
 * `malformed`, a `parse_error`, and the redacted input bytes as payload `raw`.
 *
 * Nothing here touches the store except st_event_lookup_duration and
 * st_append_event (sealtrail.h), at the end of event.c.
 */
#ifndef ST_EVENT_H
#define ST_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "record.h"
#include "util.h"

#define ST_EVENT_MAX_DEPTH   512u    /* JSON nesting accepted from the client */
#define ST_ENV_STR_MAX       1024u   /* envelope strings (FORMAT.md §1.1) */
#define ST_ENV_CWD_MAX       4096u
#define ST_ENV_ERROR_MAX     200u
#define ST_ENV_PARSE_ERR_MAX 200u

struct st_redactor;

typedef struct st_event_opts {
    const char *host;              /* envelope `host`; NULL or "" = omitted */
    const char *user;              /* envelope `user`; NULL or "" = omitted */
    const char *session_fallback;  /* used when the input has no session_id ($CLAUDE_CODE_SESSION_ID) */
    int64_t now_us;                /* record time; 0 = st_now_us() */
    size_t input_len;              /* full input length when the caller kept only a head (> len); 0 = len */
    unsigned stalled_ms;           /* the input ended because its writer kept it open this long without
                                      writing (not at EOF); 0 = it ended at EOF. Said in parse_error */
    const struct st_redactor *redactor; /* NULL = the built-in rules */
    /* Non-NULL: the redaction the store asks for is not available (its
     * redact.conf does not load), so only the call's identity is kept:
     * event, status, session, tool, ids, times, duration, with the built-in
     * rules; no payloads and no free text (cwd, error); envelope `withheld`
     * holds this reason. */
    const char *withhold;
} st_event_opts;

typedef struct st_event {
    st_record_in rec;              /* ready for st_append_records; points into this struct */
    st_json_doc *doc;              /* owns the parsed input and the envelope */
    st_json *meta;                 /* the envelope object (rec.meta) */
    st_buf pbuf[ST_ENTRY_MAX_PAYLOADS]; /* payload bytes */
    const char *event;             /* envelope `event` (NUL-terminated, in doc; may hold a NUL: */
    size_t event_len;              /* compare with st_event_is, not strcmp) */
    const char *tool_use_id;       /* NULL if none */
    size_t tool_use_id_len;
    int malformed;                 /* status "malformed" */
    int wants_seal;                /* Stop, StopFailure or SessionEnd: seal after appending */
    int is_pretool;                /* PreToolUse: the event a fail-closed hook may block */
    int needs_duration;            /* PostToolUse(Failure) with a tool_use_id and no client duration_ms */
    uint64_t redactions;           /* total redactions made */
} st_event;

/* Builds ev from the input bytes. Only allocation failure (ENOMEM) past
 * the parse or a redaction engine failure is an error: malformed input is a
 * valid (malformed) event, and so is input whose parse ran out of memory. On error ev is freed and zeroed. */
ST_NODISCARD int st_event_build(st_event *ev, const char *json, size_t len, const st_event_opts *opts, st_err *err);
void st_event_free(st_event *ev);     /* NULL-safe; leaves ev zeroed */

/* 1 for the events that end a turn or a session (Stop, StopFailure,
 * SessionEnd): recorded, live or from the spool, they seal. event[0..len)
 * as decoded from JSON: "Stop\u0000X" is not Stop. */
int st_event_seals(const char *event, size_t len);
/* 1 if ev's event name is exactly name (the whole length: an embedded NUL
 * does not end it). */
int st_event_is(const st_event *ev, const char *name);
/* The same for a decoded string s[0..len). */
int st_event_name_is(const char *s, size_t len, const char *name);

/* The parse st_event_build applies to its input. */
#define ST_EVENT_JSON_FLAGS (ST_JSON_ALLOW_WS | ST_JSON_LENIENT_UTF8 | ST_JSON_ALLOW_DUP_KEYS)
/* st_event_build for input the caller already parsed with ST_EVENT_JSON_FLAGS
 * and ST_EVENT_MAX_DEPTH into an object (doc, which this takes, also on
 * error); replaced = st_json_info.replaced of that parse. */
ST_NODISCARD int st_event_build_parsed(st_event *ev, st_json_doc *doc, size_t replaced, const st_event_opts *opts,
                                       st_err *err);

/* Adds `duration_ms` = (record time - pre_time_us) / 1000 (clamped at 0) and
 * clears needs_duration. 0 or ENOMEM. */
ST_NODISCARD int st_event_set_duration(st_event *ev, int64_t pre_time_us);

/* Adds a string member to the envelope (used by the spool replay: `spool`). 0 or ENOMEM. */
ST_NODISCARD int st_event_meta_add_str(st_json_doc *doc, st_json *meta, const char *key, const char *val, size_t len);

/* Host and user names for the envelope, without slow lookups: gethostname(),
 * then $USER / $LOGNAME, then the password database. Static strings, always
 * valid UTF-8 (a byte that is not becomes U+FFFD: entries must be UTF-8). */
const char *st_event_host(void);
const char *st_event_user(void);

/* Length of the envelope `error` summary of s: its first line, cut to
 * ST_ENV_ERROR_MAX bytes at a UTF-8 boundary. */
size_t st_error_summary_len(const char *s, size_t len);
/* Cuts s[0..len) to at most max bytes at a UTF-8 boundary; returns the new length. */
size_t st_utf8_cut(const char *s, size_t len, size_t max);
/* Copies s[0..n) to out (cap >= 1 bytes, NUL-terminated), each byte that does not
 * start a valid UTF-8 character replaced by U+FFFD, cut at a character boundary
 * to fit; returns the length written. For strings from outside the JSON input
 * (environment, host name), which the entry's strict reader would refuse. */
size_t st_utf8_sanitize(const char *s, size_t n, char *out, size_t cap);

/* Server name from an MCP tool name "mcp__<server>__<tool>": 0 with *srv and
 * *n set, or -1 if name is not of that form. */
int st_mcp_server_from_tool(const char *name, size_t len, const char **srv, size_t *n);

/* Custom redaction rules of a store: DIR/redact.conf (format in
 * docs/REDACTION.md) when it exists. *out: a redactor to pass in
 * st_event_opts (free with st_redactor_free), or NULL when there is no file
 * (the built-in rules apply). ST_EFORMAT etc. with err when the file is bad:
 * the caller must not record with fewer rules than configured. */
#define ST_REDACT_CONF_FILE "redact.conf"
ST_NODISCARD int st_event_redactor_for_dir(const char *dir, struct st_redactor **out, st_err *err);

struct st_store;
/* When ev->needs_duration: finds the matching PreToolUse by tool_use_id in
 * the store's index and sets duration_ms. Not finding it is not an error. */
ST_NODISCARD int st_event_lookup_duration(struct st_store *s, st_event *ev);

#endif
