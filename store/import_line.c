/*
 * import_line.c: one line of an imported JSONL audit log turned into a
 * record (import.h). Pure: parsing, redaction, mapping; no I/O.
 *
 * Hook-shaped lines go through st_event_build (the hook's own conversion),
 * then become kind "import" with recorded_us. Seed lines are parsed,
 * redacted as a whole tree (strings and keys at every depth, with the same
 * rules as the hook), and mapped here:
 *
 *   timestamp        -> time_us                 toolName   -> tool
 *   input            -> payload tool_input      sessionId  -> session
 *   output           -> payload tool_response   cwd        -> cwd
 *   errorMessage     -> payload error, envelope error (first line, 200 bytes)
 *   executionTimeMs  -> duration_ms (whole milliseconds; a number or "41")
 *   status / success / error -> status succeeded|failed|interrupted|denied, event
 *   everything else  -> payload event (including the original timestamp text)
 *
 * Also read: "tool", "session", "session_id" and "tool_use_id" as their
 * envelope fields; "ts", "@timestamp" or "time" when there is no
 * "timestamp" (if it is a time after 2001); "error" as an object (failed,
 * its "message" the envelope error). A line with session_id but neither
 * hook_event_name nor tool_name, and the members of an audit-log line and a
 * timestamp, is an audit-log line that copied session_id from the hook.
 */
#include "import_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"

#define TS_MAX 64u

/* ---- small builders ------------------------------------------------------------- */

static int meta_str(st_event *ev, const char *k, const char *v, size_t n)
{
    st_json *s = st_json_new_strn(ev->doc, v, n);
    return s && st_json_object_add(ev->doc, ev->meta, k, strlen(k), s) == 0 ? 0 : ENOMEM;
}

static int meta_int(st_event *ev, const char *k, int64_t v)
{
    st_json *s = st_json_new_int(ev->doc, v);
    return s && st_json_object_add(ev->doc, ev->meta, k, strlen(k), s) == 0 ? 0 : ENOMEM;
}

/* ---- the members a line is read by ----------------------------------------------------- */

/* The first member of the line with each name, found in one pass (redaction
 * later changes nodes in place and renames only keys it redacted, which then
 * hold a marker and match none of these names: the table stays valid). */
enum {
    M_TIMESTAMP, M_HOOK_EVENT_NAME, M_TOOL_NAME, M_SESSION_ID, M_TOOLNAME, M_INPUT, M_OUTPUT, M_STATUS, M_ERROR,
    M_ERRORMESSAGE, M_TOOL, M_SESSIONID, M_SESSION, M_CWD, M_TOOLUSEID, M_TOOL_USE_ID, M_EXECUTIONTIMEMS,
    M_DURATIONMS, M_DURATION_MS, M_SUCCESS, M_TS, M_ATTIMESTAMP, M_TIME, M_COUNT
};
#define MN(s) { s, sizeof s - 1 }
static const struct { const char *s; size_t n; } member_names[M_COUNT] = {
    MN("timestamp"), MN("hook_event_name"), MN("tool_name"), MN("session_id"), MN("toolName"), MN("input"),
    MN("output"), MN("status"), MN("error"), MN("errorMessage"), MN("tool"), MN("sessionId"), MN("session"),
    MN("cwd"), MN("toolUseId"), MN("tool_use_id"), MN("executionTimeMs"), MN("durationMs"), MN("duration_ms"),
    MN("success"), MN("ts"), MN("@timestamp"), MN("time"),
};
#undef MN

static void find_members(const st_json *root, const st_json *m[M_COUNT])
{
    for (size_t k = 0; k < M_COUNT; k++) m[k] = NULL;
    for (const st_json *c = root->child; c; c = c->next)
        for (size_t k = 0; k < M_COUNT; k++)
            if (c->key_len == member_names[k].n && !m[k] && memcmp(c->key, member_names[k].s, c->key_len) == 0) {
                m[k] = c;
                break;
            }
}

/* ---- timestamps --------------------------------------------------------------------- */

#define TS_MAX_US 9007199254740991LL   /* 2^53-1 us: entries hold integers within +-(2^53-1) [ENTRY-4] */
#define TS_ALIAS_MIN_US 1000000000000000LL   /* 2001-09-09: a "ts"/"time" before it is not a timestamp */

static int parse_timestamp_raw(const st_json *v, int64_t *us);

/* RFC 3339 (zone optional: UTC), or epoch seconds/ms/us/ns by magnitude,
 * after the epoch itself and up to 2255 (time_us must stay within 2^53-1;
 * a time of exactly 0 is a missing time written as one, not a time). 0 or -1. */
static int parse_timestamp(const st_json *v, int64_t *us)
{
    return parse_timestamp_raw(v, us) == 0 && *us > 0 && *us <= TS_MAX_US ? 0 : -1;
}

/* The value of a decimal number written as JSON number or as a JSON string
 * of digits with at most one '.' ("34", "1736937000123"). 0 or -1. */
static int number_of(const st_json *v, double *x)
{
    char buf[TS_MAX + 1], *end;
    if (!v) return -1;
    if (v->type == ST_JSON_STRING) {
        size_t dots = 0;
        if (v->len == 0 || v->len > TS_MAX) return -1;
        for (size_t i = 0; i < v->len; i++) {
            if (v->str[i] == '.') dots++;
            else if (v->str[i] < '0' || v->str[i] > '9') return -1;
        }
        if (dots > 1 || v->str[0] == '.') return -1;
    } else if (v->type != ST_JSON_NUMBER || v->len > TS_MAX) {
        return -1;
    }
    memcpy(buf, v->str, v->len);
    buf[v->len] = 0;
    *x = strtod(buf, &end);
    return end == buf + v->len && isfinite(*x) ? 0 : -1;
}

/* An RFC 3339 string, also without a zone (UTC) or with an ISO 8601 offset
 * without colon or minutes ("+0200", "+02", as strftime's %z writes). */
static int parse_time_text(const char *str, size_t len, int64_t *us)
{
    char buf[TS_MAX + 4];
    if (len == 0 || len > TS_MAX || memchr(str, 0, len)) return -1;
    memcpy(buf, str, len);
    buf[len] = 0;
    if (st_time_parse_rfc3339(buf, us) == 0) return 0;
    size_t z = len;
    while (z > 19 && buf[z - 1] >= '0' && buf[z - 1] <= '9') z--;
    if (z > 19 && (buf[z - 1] == '+' || buf[z - 1] == '-') && (len - z == 4 || len - z == 2)) {
        if (len - z == 4) {                               /* "+0200" -> "+02:00" */
            memmove(buf + z + 3, buf + z + 2, 3);
            buf[z + 2] = ':';
        } else {                                          /* "+02" -> "+02:00" */
            memcpy(buf + len, ":00", 4);
        }
        return st_time_parse_rfc3339(buf, us);
    }
    buf[len] = 'Z';                                       /* "2025-01-15T10:30:00.123" */
    buf[len + 1] = 0;
    return st_time_parse_rfc3339(buf, us);
}

static int parse_timestamp_raw(const st_json *v, int64_t *us)
{
    double x;
    if (!v) return -1;
    if (v->type == ST_JSON_STRING && parse_time_text(v->str, v->len, us) == 0) return 0;
    /* epoch numbers; as a string, "1736937000" or longer (no date like "20250115") */
    if (number_of(v, &x) != 0 || x <= 0) return -1;
    if (v->type == ST_JSON_STRING && x < 1e9) return -1;
    double scale = x >= 1e17 ? 1e-3 : x >= 1e14 ? 1.0 : x >= 1e11 ? 1e3 : 1e6;   /* ns, us, ms, s */
    double t = x * scale;
    if (t >= 9.2e18) return -1;
    *us = (int64_t)t;
    return 0;
}

/* ---- status ---------------------------------------------------------------------------- */

static int eq(const st_json *v, const char *lit)
{
    size_t l = strlen(lit);
    if (!v || v->type != ST_JSON_STRING || v->len != l) return 0;
    for (size_t i = 0; i < l; i++) {
        char c = v->str[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
        if (c != lit[i]) return 0;
    }
    return 1;
}

/* The envelope status of a seed line: a known "status" word, else "success"
 * false, else an error (true, a non-empty string, an object or array) or
 * an error message means failed. */
static const char *seed_status(const st_json *status, const st_json *error, const st_json *msg, const st_json *success)
{
    static const char *const ok[] = { "success", "succeeded", "ok", "completed", "complete", "done", "passed" };
    static const char *const bad[] = { "error", "failed", "failure", "fail", "errored" };
    static const char *const intr[] = { "interrupted", "cancelled", "canceled", "aborted", "timeout" };
    static const char *const den[] = { "denied", "blocked", "rejected" };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) if (eq(status, ok[i])) return "succeeded";
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) if (eq(status, bad[i])) return "failed";
    for (size_t i = 0; i < sizeof intr / sizeof *intr; i++) if (eq(status, intr[i])) return "interrupted";
    for (size_t i = 0; i < sizeof den / sizeof *den; i++) if (eq(status, den[i])) return "denied";
    if (success && success->type == ST_JSON_FALSE) return "failed";
    int failed = (error && error->type == ST_JSON_TRUE) || (error && error->type == ST_JSON_STRING && error->len) ||
                 (error && (error->type == ST_JSON_OBJECT || error->type == ST_JSON_ARRAY) && error->count) ||
                 (msg && msg->type == ST_JSON_STRING && msg->len);
    return failed ? "failed" : "succeeded";
}

/* ---- seed lines ------------------------------------------------------------------------ */

/* The payloads of a seed line are written one after the other into
 * ev->pbuf[0], sized once for the whole line (their text comes from it):
 * one allocation instead of a growing buffer per payload. rec.payloads[i].len
 * is each one's length; st_import_line points them into the buffer at the end. */
static int add_payload(st_event *ev, const char *name, const st_json *v, int keep_value)
{
    size_t i = ev->rec.npayloads, at = ev->pbuf[0].len;
    st_json_write(&ev->pbuf[0], v, 0);
    if (ev->pbuf[0].oom) return ENOMEM;
    st_payload_in *p = &ev->rec.payloads[i];
    p->name = name;
    p->len = ev->pbuf[0].len - at;
    p->value = keep_value ? v : NULL;
    ev->rec.npayloads++;
    return 0;
}

static int seed_build(st_event *ev, const st_json *root, const st_json *const mb[M_COUNT], int64_t time_us,
                      const st_import_line_opts *o)
{
    const st_json *status = mb[M_STATUS], *error = mb[M_ERROR];
    const st_json *msg = mb[M_ERRORMESSAGE];
    const st_json *errtext = msg && msg->type == ST_JSON_STRING ? msg
                           : error && error->type == ST_JSON_STRING ? error : NULL;
    const char *st = seed_status(status, error, msg, mb[M_SUCCESS]);
    const char *event = strcmp(st, "succeeded") == 0 ? "PostToolUse"
                      : strcmp(st, "denied") == 0 ? "PermissionDenied" : "PostToolUseFailure";
    const st_json *carried[8];
    size_t nc = 0;
    int rc;
    ev->rec.time_us = time_us;
    ev->event = event;
    ev->event_len = strlen(event);
    if ((rc = meta_str(ev, "kind", "import", 6)) || (rc = meta_str(ev, "event", event, strlen(event))) ||
        (rc = meta_str(ev, "status", st, strlen(st))) ||
        (rc = meta_int(ev, "recorded_us", o->now_us ? o->now_us : st_now_us())))
        return rc;
    if (o->host && *o->host && (rc = meta_str(ev, "host", o->host, st_utf8_cut(o->host, strlen(o->host), ST_ENV_STR_MAX)))) return rc;
    if (o->user && *o->user && (rc = meta_str(ev, "user", o->user, st_utf8_cut(o->user, strlen(o->user), ST_ENV_STR_MAX)))) return rc;
    static const struct { int in[3]; const char *out; size_t max; } strs[] = {
        { { M_TOOLNAME, M_TOOL_NAME, M_TOOL }, "tool", ST_ENV_STR_MAX },
        { { M_SESSIONID, M_SESSION_ID, M_SESSION }, "session", ST_ENV_STR_MAX },
        { { M_CWD, -1, -1 }, "cwd", ST_ENV_CWD_MAX },
        { { M_TOOLUSEID, M_TOOL_USE_ID, -1 }, "tool_use_id", ST_ENV_STR_MAX },
    };
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
        for (size_t j = 0; j < 3 && strs[i].in[j] >= 0; j++) {
            const st_json *v = mb[strs[i].in[j]];
            if (!v || v->type != ST_JSON_STRING || v->len == 0) continue;
            size_t n = st_utf8_cut(v->str, v->len, strs[i].max);
            if ((rc = meta_str(ev, strs[i].out, v->str, n))) return rc;
            if (n == v->len) carried[nc++] = v;
            if (strcmp(strs[i].out, "tool_use_id") == 0 && n == v->len) {
                ev->tool_use_id = v->str;
                ev->tool_use_id_len = v->len;
            }
            break;
        }
    }
    static const int durs[] = { M_EXECUTIONTIMEMS, M_DURATIONMS, M_DURATION_MS };
    for (size_t i = 0; i < 3; i++) {
        double x;
        if (number_of(mb[durs[i]], &x) != 0) continue;       /* 41, 41.5 or "41" */
        if (x >= 0 && x < 9007199254740991.0 && (rc = meta_int(ev, "duration_ms", (int64_t)x))) return rc;
        break;
    }
    const st_json *summary = errtext;
    if (!summary && error && error->type == ST_JSON_OBJECT)  /* "error":{"message":"…"}: kept whole in "event" */
        for (const st_json *c = error->child; c; c = c->next)
            if (c->key_len == 7 && memcmp(c->key, "message", 7) == 0 && c->type == ST_JSON_STRING) { summary = c; break; }
    if (summary && strcmp(st, "succeeded") != 0) {
        size_t n = st_error_summary_len(summary->str, summary->len);
        if (n && (rc = meta_str(ev, "error", summary->str, n))) return rc;
    }
    /* payloads */
    const st_json *in = mb[M_INPUT], *out = mb[M_OUTPUT];
    if (in && (rc = add_payload(ev, "tool_input", in, 1))) return rc;
    if (out && (rc = add_payload(ev, "tool_response", out, 0))) return rc;
    if (errtext && (rc = add_payload(ev, "error", errtext, 0))) return rc;
    st_buf *rest = &ev->pbuf[0];
    size_t at = rest->len;
    const st_json *skip[8 + 3];
    size_t ns = 0;
    for (size_t i = 0; i < nc; i++) skip[ns++] = carried[i];
    skip[ns++] = in;
    skip[ns++] = out;
    skip[ns++] = errtext;
    int any = st_json_write_object_except(rest, root, skip, ns) > 0;
    if (rest->oom) return ENOMEM;
    if (any) {
        ev->rec.payloads[ev->rec.npayloads].name = "event";
        ev->rec.payloads[ev->rec.npayloads].len = rest->len - at;
        ev->rec.payloads[ev->rec.npayloads].value = NULL;
        ev->rec.npayloads++;
    } else {
        rest->len = at;
    }
    return 0;
}

/* ---- one line -------------------------------------------------------------------------- */

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
    return 1;
}

/* The hook path: the hook's own mapping of the parsed line (doc, taken), then
 * kind "import" and recorded_us. */
static int hook_build(st_event *ev, st_json_doc *doc, size_t replaced, int64_t time_us, const st_import_line_opts *o,
                      st_err *why)
{
    st_event_opts eo = { .host = o->host, .user = o->user, .now_us = time_us, .redactor = o->redactor };
    int rc = st_event_build_parsed(ev, doc, replaced, &eo, why);
    if (rc) return rc;
    for (st_json *c = ev->meta->child; c; c = c->next) {
        if (c->key_len == 4 && memcmp(c->key, "kind", 4) == 0 && c->type == ST_JSON_STRING) {
            char *s = st_json_doc_alloc(ev->doc, 7);
            if (!s) return ENOMEM;
            memcpy(s, "import", 7);
            c->str = s;
            c->len = 6;
        }
    }
    return meta_int(ev, "recorded_us", o->now_us ? o->now_us : st_now_us());
}

int st_import_line(st_event *ev, int *kind, const char *line, size_t len, const st_import_line_opts *o, st_err *why)
{
    st_json_doc *doc = NULL;
    st_buf buf = { 0 };
    int rc = st_import_line_reuse(ev, kind, line, len, o, why, &doc, &buf);
    st_json_doc_free(doc);
    st_buf_free(&buf);
    return rc;
}

int st_import_line_reuse(st_event *ev, int *kind, const char *line, size_t len, const st_import_line_opts *o,
                         st_err *why, st_json_doc **spare_doc, st_buf *spare_buf)
{
    st_import_line_opts dflt = { 0 };
    if (!o) o = &dflt;
    memset(ev, 0, sizeof *ev);
    *kind = ST_IMPORT_BLANK;
    if (blank(line, len)) return 0;
    if (len >= 2 && ((line[0] == '\xFF' && line[1] == '\xFE') || (line[0] == '\xFE' && line[1] == '\xFF')))
        return st_fail(why, ST_EJSON, "UTF-16 text (byte order mark %s): convert the file to UTF-8 first "
                       "(iconv -f UTF-16 -t UTF-8)", line[0] == '\xFF' ? "FF FE" : "FE FF");
    if ((len >= 2 && memcmp(line, "\x1F\x8B", 2) == 0) || (len >= 4 && memcmp(line, "\x28\xB5\x2F\xFD", 4) == 0))
        return st_fail(why, ST_EJSON, "%s-compressed data: decompress it first (%s FILE | sealtrail import -)",
                       line[0] == '\x1F' ? "gzip" : "zstd", line[0] == '\x1F' ? "zcat" : "zstdcat");
    st_json_opts jo = { .flags = ST_EVENT_JSON_FLAGS, .max_depth = ST_EVENT_MAX_DEPTH };
    st_json_info info;
    memset(&info, 0, sizeof info);
    st_err perr;
    perr.msg[0] = 0;
    int rc = st_json_parse_reuse(spare_doc, line, len, &jo, &info, &perr);
    if (rc == ENOMEM) return st_fail(why, ENOMEM, "out of memory");
    if (rc) {
        size_t a = 0, b = len;                       /* "[" or "{" alone: a pretty-printed document */
        while (a < b && (line[a] == ' ' || line[a] == '\t')) a++;
        while (b > a && (line[b - 1] == ' ' || line[b - 1] == '\t' || line[b - 1] == '\r')) b--;
        if (b - a == 1 && (line[a] == '[' || line[a] == '{'))
            return st_fail(why, ST_EJSON, "not JSON: a lone '%c' (an indented JSON document, not JSON Lines? "
                           "jq -c '%s' FILE | sealtrail import -)", line[a], line[a] == '[' ? ".[]" : ".");
        const char *cr = memchr(line + a, '\r', b - a);   /* a CR inside the line: CR line endings */
        if (cr)
            return st_fail(why, ST_EJSON, "not JSON: %.200s; a carriage return at offset %zu ends no line here: "
                           "lines end with LF or CRLF, not CR alone (classic Mac line endings? "
                           "tr '\\r' '\\n' < FILE | sealtrail import -)", perr.msg[0] ? perr.msg : st_strerror(rc),
                           (size_t)(cr - line));
        return st_fail(why, ST_EJSON, "not JSON: %.300s", perr.msg[0] ? perr.msg : st_strerror(rc));
    }
    st_json_doc *doc = *spare_doc;         /* the caller's until the line is an event */
    st_json *root = st_json_doc_root(doc);
    if (root->type != ST_JSON_OBJECT)
        return st_fail(why, ST_EFORMAT, "%s", root->type == ST_JSON_ARRAY ? "not a JSON object but an array (one "
                       "object a line: jq -c '.[]' FILE | sealtrail import -)" : "not a JSON object");
    const st_json *mb[M_COUNT];
    find_members(root, mb);
    int64_t t = 0;
    const st_json *ts = mb[M_TIMESTAMP];
    if (ts && ts->type == ST_JSON_NULL) ts = NULL;   /* "timestamp": null, as jq writes a missing one */
    int has_t = parse_timestamp(ts, &t) == 0;
    static const int aliases[] = { M_TS, M_ATTIMESTAMP, M_TIME };   /* lines without "timestamp" */
    for (size_t i = 0; !ts && !has_t && i < sizeof aliases / sizeof *aliases; i++)
        has_t = parse_timestamp(mb[aliases[i]], &t) == 0 && t >= TS_ALIAS_MIN_US;
    int hook = mb[M_HOOK_EVENT_NAME] || mb[M_TOOL_NAME] || mb[M_SESSION_ID];
    int seed_like = mb[M_TOOLNAME] || mb[M_INPUT] || mb[M_OUTPUT] || (mb[M_TOOL] && mb[M_TOOL]->type == ST_JSON_STRING);
    /* {"timestamp","session_id","tool":"Bash",…}: an audit-log line that copied session_id */
    if (hook && !mb[M_HOOK_EVENT_NAME] && !mb[M_TOOL_NAME] && seed_like && has_t) hook = 0;
    int seed = !hook && seed_like;
    if (hook && ts && !has_t)
        return st_fail(why, ST_EFORMAT, "\"timestamp\" is not a time after 1970-01-01T00:00:00Z and up to 2255 (RFC 3339 or epoch number; 0 is no time)");
    if (hook) {
        *spare_doc = NULL;                 /* hook_build takes it */
        if ((rc = hook_build(ev, doc, info.replaced, has_t ? t : 0, o, why)) != 0) { st_event_free(ev); return rc; }
        if (ev->malformed) { st_event_free(ev); return st_fail(why, ST_EFORMAT, "hook event does not parse"); }
        *kind = ST_IMPORT_HOOK;
        return 0;
    }
    if (!seed)
        return st_fail(why, ST_EFORMAT, "neither a hook event (hook_event_name, tool_name, session_id) nor an audit-log line (toolName, tool, input, output)");
    if (!has_t) return st_fail(why, ST_EFORMAT, "no usable \"timestamp\" (RFC 3339 or epoch number, after 1970-01-01T00:00:00Z and up to 2255; 0 is no time)");
    ev->doc = doc;
    *spare_doc = NULL;
    ev->pbuf[0] = *spare_buf;              /* its bytes are rewritten from the start */
    ev->pbuf[0].len = 0;
    ev->pbuf[0].oom = 0;
    memset(spare_buf, 0, sizeof *spare_buf);
    ev->meta = st_json_new_object(doc);
    ev->rec.meta = ev->meta;
    st_redact_counts counts;
    st_redact_counts_init(&counts);
    rc = ev->meta ? st_redact_json(o->redactor, doc, root, &counts) : ENOMEM;
    /* exactly the line's length (the payloads are about as long): no
     * power-of-two slack; a longer output still grows the buffer */
    if (rc == 0 && st_buf_reserve_exact(&ev->pbuf[0], len) != 0) rc = ENOMEM;
    if (rc == 0) rc = seed_build(ev, root, mb, t, o);
    if (rc == 0 && counts.total) {
        st_json *rj = st_redact_counts_to_json(o->redactor, &counts, doc);
        if (!rj || st_json_object_add(doc, ev->meta, "redactions", 10, rj)) rc = ENOMEM;
        ev->redactions = counts.total;
    }
    if (rc) {
        st_event_free(ev);
        return st_fail(why, rc, "%s", rc == ENOMEM ? "out of memory" : "redaction failed");
    }
    for (size_t i = 0, at = 0; i < ev->rec.npayloads; i++) {    /* see add_payload */
        ev->rec.payloads[i].data = ev->pbuf[0].data + at;
        at += ev->rec.payloads[i].len;
    }
    *kind = ST_IMPORT_SEED;
    return 0;
}
