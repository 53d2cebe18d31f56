/*
 * event.c: a Claude Code hook event (stdin JSON) -> an st_record_in, as
 * docs/FORMAT.md §1.1 and §2 specify: lenient parse, redaction of the whole
 * tree, the envelope (with the event name inferred for old clients), the
 * payloads, and the `malformed` entry for input that is not one JSON
 * object. The contract is in event.h.
 *
 * Top to bottom: small helpers (UTF-8 cut, MCP names, host and user); the
 * envelope builder; malformed input; the mapping of a parsed object; the
 * store edge (duration lookup by tool_use_id, st_append_event).
 *
 * "Carried" members. The envelope carries a member of the input when it
 * can give it back exactly: the first member with that key, of the right
 * type, not shortened. Every other member (later duplicates, shortened or
 * mistyped values, and everything the envelope has no place for) goes into
 * payload `event`, in input order, so nothing the client sent is lost.
 */
#include "event.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index.h"
#include "redact.h"
#include "seal.h"
#include "store_int.h"

/* ==== helpers ============================================================ */

size_t st_error_summary_len(const char *s, size_t len)
{
    size_t n = 0;
    while (n < len && s[n] != '\n' && s[n] != '\r') n++;
    return st_utf8_cut(s, n, ST_ENV_ERROR_MAX);
}

size_t st_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max) return len;
    size_t n = max;
    /* back off continuation bytes so that s[n] starts a character */
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) n--;
    return n;
}

size_t st_utf8_sanitize(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0, k; i < n; i += k) {
        const uint8_t *p = (const uint8_t *)s + i;
        const char *src = (const char *)p;
        uint32_t cp;
        size_t w = k = *p < 0x80 ? 1 : st_utf8_next(p, n - i, &cp);
        if (k == 0) { k = 1; src = "\xef\xbf\xbd"; w = 3; }
        if (o + w >= cap) break;
        memcpy(out + o, src, w);
        o += w;
    }
    out[o] = 0;
    return o;
}

int st_mcp_server_from_tool(const char *name, size_t len, const char **srv, size_t *n)
{
    if (!name || len < 8 || memcmp(name, "mcp__", 5) != 0) return -1;
    const char *p = name + 5, *end = name + len;
    for (const char *q = p; q + 1 < end; q++) {
        if (q[0] == '_' && q[1] == '_') {
            if (q == p || q + 2 >= end) return -1;  /* empty server or empty tool */
            *srv = p;
            *n = (size_t)(q - p);
            return 0;
        }
    }
    return -1;
}

const char *st_event_host(void)
{
    static char host[256];
    char raw[256] = "";
    if (!host[0] && gethostname(raw, sizeof raw - 1) == 0) st_utf8_sanitize(raw, strlen(raw), host, sizeof host);
    return host;
}

const char *st_event_user(void)
{
    static char user[128];
    if (user[0]) return user;
    const char *u = getenv("USER");
    if (!u || !*u) u = getenv("LOGNAME");
    if (!u || !*u) {
        struct passwd *pw = getpwuid(geteuid());   /* NSS: only when the environment says nothing */
        u = pw ? pw->pw_name : NULL;
    }
    if (u) st_utf8_sanitize(u, strlen(u), user, sizeof user);
    return user;
}

/* ==== envelope builder ===================================================== */

typedef struct builder {
    st_event *ev;
    st_json_doc *doc;
    int oom;
} builder;

static void env_str(builder *b, const char *key, const char *s, size_t len)
{
    if (b->oom) return;
    st_json *v = st_json_new_strn(b->doc, s, len);
    if (!v || st_json_object_add(b->doc, b->ev->meta, key, strlen(key), v)) b->oom = 1;
}

static void env_int(builder *b, const char *key, int64_t x)
{
    if (b->oom) return;
    st_json *v = st_json_new_int(b->doc, x);
    if (!v || st_json_object_add(b->doc, b->ev->meta, key, strlen(key), v)) b->oom = 1;
}

int st_event_meta_add_str(st_json_doc *doc, st_json *meta, const char *key, const char *val, size_t len)
{
    st_json *v = st_json_new_strn(doc, val, len);
    return v && st_json_object_add(doc, meta, key, strlen(key), v) == 0 ? 0 : ENOMEM;
}

/* Adds payload name with the bytes in ev->pbuf[slot]. */
static st_payload_in *add_payload(st_event *ev, const char *name)
{
    size_t i = ev->rec.npayloads++;
    st_payload_in *p = &ev->rec.payloads[i];
    p->name = name;
    p->data = ev->pbuf[i].data;
    p->len = ev->pbuf[i].len;
    p->value = NULL;
    return p;
}

static void env_common(builder *b, const st_event_opts *o)
{
    env_str(b, "kind", "event", 5);
    if (o->host && *o->host) env_str(b, "host", o->host, st_utf8_cut(o->host, strlen(o->host), ST_ENV_STR_MAX));
    if (o->user && *o->user) env_str(b, "user", o->user, st_utf8_cut(o->user, strlen(o->user), ST_ENV_STR_MAX));
}

/* The session id from the environment (CLAUDE_CODE_SESSION_ID), for input
 * without one: redacted like the input, since it comes from outside too. */
static void env_session_fallback(builder *b, const st_event_opts *o, st_redact_counts *counts)
{
    if (!o->session_fallback || !*o->session_fallback || b->oom) return;
    char clean[ST_ENV_STR_MAX + 1];      /* the environment may hold any bytes; an entry is UTF-8 */
    size_t n = st_utf8_cut(o->session_fallback, strlen(o->session_fallback), ST_ENV_STR_MAX), rn;
    n = st_utf8_sanitize(o->session_fallback, n, clean, sizeof clean);
    char *red;
    if (st_redact_text(o->redactor, clean, n, &red, &rn, counts) != 0) { b->oom = 1; return; }
    env_str(b, "session", red, st_utf8_cut(red, rn, ST_ENV_STR_MAX));
    free(red);
}

static void env_redactions(builder *b, const st_redactor *r, const st_redact_counts *rc)
{
    if (b->oom || !rc || rc->total == 0) return;
    st_json *o = st_redact_counts_to_json(r, rc, b->doc);
    if (!o || st_json_object_add(b->doc, b->ev->meta, "redactions", 10, o)) b->oom = 1;
    b->ev->redactions = rc->total;
}

/* ==== malformed input ======================================================= */

/* The entry for input that is not one JSON object: status "malformed", the
 * reason, and the redacted input bytes as payload `raw`. */
static int build_malformed(builder *b, const char *in, size_t len, const st_event_opts *o, const char *why)
{
    st_event *ev = b->ev;
    ev->malformed = 1;
    ev->event = "unknown";
    ev->event_len = 7;
    st_redact_counts counts;
    st_redact_counts_init(&counts);
    if (len && !o->withhold) {
        int rc = st_redact_bytes(o->redactor, (const uint8_t *)in, len, &ev->pbuf[0], &counts);
        if (rc) return rc;
        if (ev->pbuf[0].oom) return ENOMEM;
        add_payload(ev, "raw");
    }
    env_common(b, o);
    env_str(b, "event", "unknown", 7);
    env_str(b, "status", "malformed", 9);
    env_str(b, "parse_error", why, st_utf8_cut(why, strlen(why), ST_ENV_PARSE_ERR_MAX));
    if (o->input_len > len) env_int(b, "input_len", (int64_t)o->input_len);
    env_session_fallback(b, o, &counts);
    env_redactions(b, o->redactor, &counts);
    if (o->withhold) env_str(b, "withheld", o->withhold, st_utf8_cut(o->withhold, strlen(o->withhold), ST_ENV_STR_MAX));
    return b->oom ? ENOMEM : 0;
}

/* ==== mapping a parsed object ================================================ */

typedef struct mapper {
    builder *b;
    const st_json *root;
    const st_json **carried;   /* members the envelope carries exactly */
    size_t ncarried, cap;
    const st_json *payload_src[4];  /* tool_input, tool_response, prompt, error */
} mapper;

static const char *const payload_keys[4] = { "tool_input", "tool_response", "prompt", "error" };

static void carry(mapper *m, const st_json *member)
{
    if (m->ncarried < m->cap) m->carried[m->ncarried++] = member;
}

/* Envelope string from input member `in` (first occurrence, must be a string). */
static const st_json *map_str(mapper *m, const char *in, const char *out, size_t max)
{
    const st_json *v = st_json_get(m->root, in);
    if (!v || v->type != ST_JSON_STRING) return NULL;
    size_t n = st_utf8_cut(v->str, v->len, max);
    env_str(m->b, out, v->str, n);
    if (n == v->len) carry(m, v);
    return v;
}

/* The event name for clients that send no hook_event_name (1.0.38-1.0.40). */
static const char *infer_event(const st_json *r)
{
    int tool = st_json_get(r, "tool_name") != NULL;
    if (st_json_get(r, "tool_response")) return "PostToolUse";
    if (tool && st_json_get(r, "error")) return "PostToolUseFailure";
    if (tool && st_json_get(r, "reason")) return "PermissionDenied";
    if (tool) return "PreToolUse";
    if (st_json_get(r, "prompt")) return "UserPromptSubmit";
    if (st_json_get(r, "agent_transcript_path")) return "SubagentStop";
    if (st_json_get(r, "stop_hook_active")) return "Stop";
    if (st_json_get(r, "message") && st_json_get(r, "notification_type")) return "Notification";
    if (st_json_get(r, "message")) return "Notification";
    if (st_json_get(r, "custom_instructions")) return "PreCompact";
    if (st_json_get(r, "compact_summary")) return "PostCompact";
    if (st_json_get(r, "reason")) return "SessionEnd";
    if (st_json_get(r, "source")) return "SessionStart";
    return "unknown";
}

static void map_event_and_status(mapper *m)
{
    st_event *ev = m->b->ev;
    const st_json *r = m->root;
    const st_json *name = st_json_get(r, "hook_event_name");
    if (name && name->type == ST_JSON_STRING && name->len > 0) {
        size_t n = st_utf8_cut(name->str, name->len, ST_ENV_STR_MAX);
        env_str(m->b, "event", name->str, n);
        if (n == name->len) carry(m, name);
        ev->event = m->b->oom ? "unknown" : st_json_get(ev->meta, "event")->str;
        ev->event_len = m->b->oom ? 7 : n;
    } else {
        ev->event = infer_event(r);
        ev->event_len = strlen(ev->event);
        env_str(m->b, "event", ev->event, ev->event_len);
    }
    const char *status = NULL;
    if (st_event_is(ev, "PreToolUse")) {
        status = "started";
        ev->is_pretool = 1;
    } else if (st_event_is(ev, "PostToolUse")) {
        const st_json *resp = st_json_get(r, "tool_response");
        const st_json *intr = st_json_get(resp, "interrupted");
        status = intr && intr->type == ST_JSON_TRUE ? "interrupted" : "succeeded";
    } else if (st_event_is(ev, "PostToolUseFailure")) {
        const st_json *intr = st_json_get(r, "is_interrupt");
        status = intr && intr->type == ST_JSON_TRUE ? "interrupted" : "failed";
    } else if (st_event_is(ev, "PermissionDenied")) {
        status = "denied";
    } else if (st_event_is(ev, "PermissionRequest")) {
        status = "requested";
    } else if (st_event_is(ev, "StopFailure")) {
        status = "failed";
    }
    if (status) env_str(m->b, "status", status, strlen(status));
    ev->wants_seal = st_event_seals(ev->event, ev->event_len);
}

/* A turn ends with Stop, or with StopFailure in its place (an API error);
 * a session with SessionEnd: seal there, so that a turn's events do not
 * wait for the seal policy. */
int st_event_seals(const char *event, size_t len)
{
    return st_event_name_is(event, len, "Stop") || st_event_name_is(event, len, "StopFailure") ||
           st_event_name_is(event, len, "SessionEnd");
}

int st_event_name_is(const char *s, size_t len, const char *name)
{
    return len == strlen(name) && memcmp(s, name, len) == 0;
}

int st_event_is(const st_event *ev, const char *name)
{
    return ev->event && st_event_name_is(ev->event, ev->event_len, name);
}

static void map_mcp(mapper *m)
{
    const st_json *r = m->root;
    const st_json *obj = st_json_get(r, "mcp_server");
    const st_json *nm = obj && obj->type == ST_JSON_OBJECT ? st_json_get(obj, "name") : obj;
    if (nm && nm->type == ST_JSON_STRING && nm->len) {
        /* the object (name, source) stays in payload `event`: only its name is carried */
        env_str(m->b, "mcp_server", nm->str, st_utf8_cut(nm->str, nm->len, ST_ENV_STR_MAX));
        return;
    }
    const st_json *en = st_json_get(r, "mcp_server_name");   /* Elicitation, ElicitationResult */
    if (en && en->type == ST_JSON_STRING && en->len) {
        map_str(m, "mcp_server_name", "mcp_server", ST_ENV_STR_MAX);
        return;
    }
    const st_json *tool = st_json_get(r, "tool_name");
    const char *srv;
    size_t n;
    if (tool && tool->type == ST_JSON_STRING && st_mcp_server_from_tool(tool->str, tool->len, &srv, &n) == 0)
        env_str(m->b, "mcp_server", srv, st_utf8_cut(srv, n, ST_ENV_STR_MAX));
}

static void map_duration(mapper *m)
{
    st_event *ev = m->b->ev;
    const st_json *d = st_json_get(m->root, "duration_ms");
    int64_t ms;
    if (d && st_json_as_i64(d, &ms) == 0 && ms >= 0 && ms <= 9007199254740991LL) {   /* [ENTRY-4]: <= 2^53-1 */
        env_int(m->b, "duration_ms", ms);
        carry(m, d);
        return;
    }
    if (d && d->type == ST_JSON_NUMBER && d->str[0] != '-') {
        /* a fraction or exponent: the envelope holds whole milliseconds, the payload the literal */
        double x = strtod(d->str, NULL);
        if (x >= 0 && x < 9007199254740991.0) { env_int(m->b, "duration_ms", (int64_t)x); return; }
    }
    if (ev->tool_use_id && (st_event_is(ev, "PostToolUse") || st_event_is(ev, "PostToolUseFailure")))
        ev->needs_duration = 1;
}

static void map_error_summary(mapper *m)
{
    const st_json *e = st_json_get(m->root, "error");
    if (!e || e->type != ST_JSON_STRING || e->len == 0) return;
    env_str(m->b, "error", e->str, st_error_summary_len(e->str, e->len));
}

/* Payload `event`: every member not carried and not a payload of its own. */
static void write_rest(mapper *m, st_buf *out)
{
    const st_json **skip = malloc((m->ncarried + 4) * sizeof *skip);
    if (!skip) { out->oom = 1; return; }
    size_t n = 0;
    for (size_t i = 0; i < m->ncarried; i++) skip[n++] = m->carried[i];
    for (int k = 0; k < 4; k++)
        if (m->payload_src[k]) skip[n++] = m->payload_src[k];
    if (st_json_write_object_except(out, m->root, skip, n) == 0) out->len = 0;
    free(skip);
}

static int build_object(builder *b, const st_json *root, size_t replaced, const st_event_opts *o,
                        const st_redact_counts *counts)
{
    st_event *ev = b->ev;
    mapper m = { .b = b, .root = root, .cap = 32 };
    const st_json *carried[32];
    m.carried = carried;
    st_redact_counts all = *counts;

    env_common(b, o);
    map_event_and_status(&m);
    if (!map_str(&m, "session_id", "session", ST_ENV_STR_MAX)) env_session_fallback(b, o, &all);
    map_str(&m, "tool_name", "tool", ST_ENV_STR_MAX);
    const st_json *tu = map_str(&m, "tool_use_id", "tool_use_id", ST_ENV_STR_MAX);
    if (tu && tu->len && tu->len <= ST_ENV_STR_MAX) {
        ev->tool_use_id = tu->str;
        ev->tool_use_id_len = tu->len;
    }
    map_mcp(&m);
    map_str(&m, "agent_id", "agent_id", ST_ENV_STR_MAX);
    map_str(&m, "agent_type", "agent_type", ST_ENV_STR_MAX);
    if (!o->withhold) map_str(&m, "cwd", "cwd", ST_ENV_CWD_MAX);
    map_str(&m, "permission_mode", "permission_mode", ST_ENV_STR_MAX);
    map_str(&m, "prompt_id", "prompt_id", ST_ENV_STR_MAX);
    map_duration(&m);
    if (!o->withhold) map_error_summary(&m);
    env_redactions(b, o->redactor, &all);
    if (replaced) env_int(b, "utf8_replaced", (int64_t)replaced);
    if (o->withhold) {                          /* the call's identity only: no payloads */
        env_str(b, "withheld", o->withhold, st_utf8_cut(o->withhold, strlen(o->withhold), ST_ENV_STR_MAX));
        return b->oom ? ENOMEM : 0;
    }
    if (b->oom) return ENOMEM;

    /* payloads: the four named ones (first occurrence), then `event` */
    for (int k = 0; k < 4; k++) {
        const st_json *v = st_json_get(root, payload_keys[k]);
        if (!v) continue;
        m.payload_src[k] = v;
        st_buf *out = &ev->pbuf[ev->rec.npayloads];
        st_json_write(out, v, 0);
        if (out->oom) return ENOMEM;
        st_payload_in *p = add_payload(ev, payload_keys[k]);
        if (k == 0) p->value = v;
    }
    st_buf *rest = &ev->pbuf[ev->rec.npayloads];
    write_rest(&m, rest);
    if (rest->oom) return ENOMEM;
    if (rest->len) add_payload(ev, "event");
    return 0;
}

/* ==== entry point ============================================================ */

static const char *json_type_name(st_json_type t)
{
    switch (t) {
    case ST_JSON_ARRAY: return "an array";
    case ST_JSON_STRING: return "a string";
    case ST_JSON_NUMBER: return "a number";
    case ST_JSON_NULL: return "null";
    default: return "a boolean";
    }
}

/* The event from parsed (an object; NULL: the input is malformed, for the
 * reason why). Takes parsed. */
static int build(st_event *ev, st_json_doc *parsed, size_t replaced, const char *json, size_t len, const char *why,
                 const st_event_opts *o, st_err *err)
{
    memset(ev, 0, sizeof *ev);
    ev->rec.time_us = o->now_us ? o->now_us : st_now_us();
    builder b = { .ev = ev };
    int rc = 0;
    if (!parsed && !(parsed = st_json_doc_new())) return st_fail(err, ENOMEM, "event: out of memory");
    ev->doc = b.doc = parsed;
    ev->meta = st_json_new_object(ev->doc);
    ev->rec.meta = ev->meta;
    if (!ev->meta) { rc = ENOMEM; goto fail; }

    if (why) {
        rc = build_malformed(&b, json, len, o, why);
    } else {
        st_json *root = st_json_doc_root(ev->doc);
        st_redact_counts counts;
        st_redact_counts_init(&counts);
        rc = st_redact_json(o->redactor, ev->doc, root, &counts);
        if (rc == 0) rc = build_object(&b, root, replaced, o, &counts);
    }
    if (rc) goto fail;
    for (size_t i = 0; i < ev->rec.npayloads; i++) {   /* pbuf may have moved while building */
        ev->rec.payloads[i].data = ev->pbuf[i].data ? ev->pbuf[i].data : (const uint8_t *)"";
        ev->rec.payloads[i].len = ev->pbuf[i].len;
    }
    return 0;
fail:
    st_event_free(ev);
    return st_fail(err, rc, "event: %s", rc == ENOMEM ? "out of memory" : st_strerror(rc));
}

/* The kept head of an input cut at the cap (or by a client that stopped
 * writing) may end inside a secret whose
 * rest lies past the cap ("ghp_0123", "DB_PASSWORD=hun", "https://u:pa"):
 * too short or unterminated for its rule, it would be stored as it is. The
 * cut word goes the way of the bytes past the cap: the head ends before the
 * last run of printable ASCII that is not a space, quote or bracket (runs
 * longer than 16 KiB, longer than any secret, are kept whole), and for a cut
 * number, the space-separated digit groups before it (a card number). An
 * escape cut short at the end ("\\", "\\u00") goes first: it may have
 * continued the word before it ("\\u0041" is a letter). */
#define CUT_WORD_MAX ((size_t)16 << 10)
static size_t cut_escape(const char *s, size_t len)
{
    size_t k = len, b = 0;
    while (k > 0 && len - k < 3 && isxdigit((unsigned char)s[k - 1])) k--;   /* "\u" and up to 3 digits, */
    if (k > 0 && s[k - 1] == 'u') k--;
    else k = len;                                                              /* or a backslash alone */
    while (b < k && s[k - 1 - b] == '\\') b++;
    return b % 2 ? k - 1 : len;     /* an odd run of backslashes: its last one opens the escape */
}

static size_t cut_head(const char *s, size_t len)
{
    len = cut_escape(s, len);
    size_t n = len;
    while (n > 0 && len - n <= CUT_WORD_MAX) {
        unsigned char c = (unsigned char)s[n - 1];
        if (c <= ' ' || c >= 0x7f || strchr("\"'`,;(){}[]<>\\", c)) break;
        n--;
    }
    if (len - n > CUT_WORD_MAX) return len;
    /* a card number cut inside ("4111 1111 1111 11", or after a group:
     * "4111 1111 "): its earlier groups too */
    int digits = n < len || (n >= 2 && s[n - 1] == ' ' && s[n - 2] >= '0' && s[n - 2] <= '9');
    for (size_t k = n; k < len; k++) digits &= s[k] >= '0' && s[k] <= '9';
    size_t m = n;
    while (digits && m >= 2 && n - m < 24 && s[m - 1] == ' ' && s[m - 2] >= '0' && s[m - 2] <= '9') {
        m--;
        while (m > 0 && s[m - 1] >= '0' && s[m - 1] <= '9') m--;
        n = m;
    }
    return n;
}

int st_event_build(st_event *ev, const char *json, size_t len, const st_event_opts *opts, st_err *err)
{
    st_event_opts dflt = { 0 };
    const st_event_opts *o = opts ? opts : &dflt;
    char why[ST_ENV_PARSE_ERR_MAX + 1];
    st_json_doc *parsed = NULL;
    st_json_info info;
    memset(&info, 0, sizeof info);
    st_err perr;
    perr.msg[0] = 0;
    int prc = ST_EJSON;
    if (o->input_len > len) {
        size_t kept = cut_head(json, len);
        snprintf(why, sizeof why, "input of %zu bytes is over the %zu-byte limit; the first %zu bytes are kept",
                 o->input_len, len, kept);
        len = kept;
    } else if (len == 0) {
        snprintf(why, sizeof why, "empty input");
    } else {
        st_json_opts jo = { .flags = ST_EVENT_JSON_FLAGS, .max_depth = ST_EVENT_MAX_DEPTH };
        prc = st_json_parse(&parsed, json, len, &jo, &info, &perr);
        if (prc == ENOMEM) {
            /* A parse tree takes up to ~25x its input (small values, each a
             * node): past the memory at hand, keep the input as unparsed
             * bytes, which take about their own size, rather than lose it. */
            snprintf(why, sizeof why, "out of memory parsing %zu bytes: the input is kept unparsed", len);
            memset(&info, 0, sizeof info);
        } else if (prc) {
            snprintf(why, sizeof why, "%.200s", perr.msg[0] ? perr.msg : st_strerror(prc));
        }
        if (prc == ST_EJSON && (info.error_offset >= len || (json[info.error_offset] == '\\' && len - info.error_offset < 6))) {
            /* the input ends inside a value or an escape: the client stopped
             * writing early, maybe inside a secret, as at the cap */
            size_t kept = cut_head(json, len);
            if (kept < len) {
                snprintf(why, sizeof why, "%.100s; the input ends inside a value: its last %zu bytes are not kept",
                         perr.msg[0] ? perr.msg : st_strerror(prc), len - kept);
                len = kept;
            }
        } else if (!prc && st_json_doc_root(parsed)->type != ST_JSON_OBJECT) {
            snprintf(why, sizeof why, "top-level value is %s, not an object", json_type_name(st_json_doc_root(parsed)->type));
            prc = ST_EJSON;
        }
    }
    if (prc) {
        st_json_doc_free(parsed);
        parsed = NULL;
        if (o->stalled_ms) {
            char cause[sizeof why];
            snprintf(cause, sizeof cause, "%s", why);
            snprintf(why, sizeof why, "stdin still open after %u ms without data; %.140s", o->stalled_ms, cause);
        }
    }
    return build(ev, parsed, info.replaced, json, len, prc ? why : NULL, o, err);
}

int st_event_build_parsed(st_event *ev, st_json_doc *doc, size_t replaced, const st_event_opts *opts, st_err *err)
{
    st_event_opts dflt = { 0 };
    return build(ev, doc, replaced, NULL, 0, NULL, opts ? opts : &dflt, err);
}

void st_event_free(st_event *ev)
{
    if (!ev) return;
    for (size_t i = 0; i < ST_ENTRY_MAX_PAYLOADS; i++) st_buf_free(&ev->pbuf[i]);
    st_json_doc_free(ev->doc);
    memset(ev, 0, sizeof *ev);
}

int st_event_set_duration(st_event *ev, int64_t pre_time_us)
{
    int64_t d = ev->rec.time_us - pre_time_us;
    st_json *v = st_json_new_int(ev->doc, d > 0 ? d / 1000 : 0);
    if (!v || st_json_object_add(ev->doc, ev->meta, "duration_ms", 11, v)) return ENOMEM;
    ev->needs_duration = 0;
    return 0;
}

/* ==== the store edge ============================================================ */

int st_event_lookup_duration(st_store *s, st_event *ev)
{
    if (!ev->needs_duration || !ev->tool_use_id) return 0;
    st_txn *txn;
    int rc = st_db_read_begin(s->db, &txn, &s->err);
    if (rc) return rc;
    uint64_t index;
    int64_t t;
    rc = st_index_find_tooluse_time(txn, ev->tool_use_id, ev->tool_use_id_len, &index, &t);
    st_db_read_end(txn);
    if (rc == ST_ENOTFOUND) return 0;
    if (rc) return rc;
    return st_event_set_duration(ev, t);
}

int st_event_redactor_for_dir(const char *dir, st_redactor **out, st_err *err)
{
    *out = NULL;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, ST_REDACT_CONF_FILE) >= (int)sizeof path)
        return st_fail(err, ST_EINVAL, "%s: path too long", dir);
    st_redactor *r;
    int rc = st_redactor_new(&r);
    if (rc) return st_fail(err, rc, "redactor: out of memory");
    rc = st_redactor_load_file(r, path, err);
    if (rc == ENOENT) {               /* no custom rules: the built-ins */
        st_redactor_free(r);
        return 0;
    }
    if (rc) {
        if (rc > 0) st_fail(err, rc, "%s: %s", path, strerror(rc));
        st_redactor_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int st_append_event(st_store *s, const char *json, size_t len, uint64_t *index_out)
{
    st_event ev;
    st_redactor *r;
    int rc = st_event_redactor_for_dir(s->dir, &r, &s->err);
    if (rc) return rc;
    st_event_opts o = { .host = st_event_host(), .user = st_event_user(), .redactor = r };
    rc = st_event_build(&ev, json, len, &o, &s->err);
    if (rc == 0) {
        if ((rc = st_event_lookup_duration(s, &ev)) == 0) {
            st_seal_on_append(s, ev.wants_seal);     /* Stop, StopFailure, SessionEnd seal, as from the hook */
            rc = st_append_records(s, &ev.rec, 1, index_out);
            st_seal_on_append(s, 0);
        }
        st_event_free(&ev);
    }
    st_redactor_free(r);
    return rc;
}
