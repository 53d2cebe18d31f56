/*
 * query_fmt.c: the output formats of `query` and `tail` (query_fmt.h).
 * Each format reads the entry's envelope and, where it needs them, its
 * decoded payloads (as stored: redacted) from the caller's read transaction.
 */
#include "query_fmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "json.h"
#include "note.h"
#include "render.h"
#include "store_int.h"

int qf_parse_format(const char *s, qf_format *out)
{
    static const char *const names[] = { "jsonl", "json", "seed", "csv", "table" };
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) { *out = (qf_format)i; return 0; }
    return -1;
}

/* ---- entry and payload access -------------------------------------------------------- */

typedef struct view {
    st_json_doc *doc;
    const st_json *root;
} view;

static int view_open(view *v, const uint8_t *entry, size_t len)
{
    st_json_opts o = { 0 };
    v->doc = NULL;
    if (st_json_parse(&v->doc, (const char *)entry, len, &o, NULL, NULL)) return ST_ECORRUPT;
    v->root = st_json_doc_root(v->doc);
    return 0;
}

static const char *vstr(const view *v, const char *k, size_t *n)
{
    const char *s = st_json_get_str(v->root, k, n);
    if (!s) *n = 0;
    return s;
}

/* A payload, parsed if it is JSON. *raw keeps the bytes (caller frees). */
typedef struct pl {
    uint8_t *raw;
    size_t len;
    st_json_doc *doc;
    const st_json *val;   /* NULL when absent or not JSON */
    int present;
} pl;

static int pl_load(pl *p, st_txn *txn, uint64_t index, const char *name)
{
    memset(p, 0, sizeof *p);
    int rc = st_payload_read(txn, index, name, NULL, &p->raw, &p->len);
    if (rc == ST_ENOTFOUND) return 0;
    if (rc) return rc;
    p->present = 1;
    st_json_opts o = { .flags = ST_JSON_ALLOW_DUP_KEYS };
    if (st_json_parse(&p->doc, (const char *)p->raw, p->len, &o, NULL, NULL) == 0) p->val = st_json_doc_root(p->doc);
    return 0;
}

static void pl_free(pl *p)
{
    free(p->raw);
    st_json_doc_free(p->doc);
    memset(p, 0, sizeof *p);
}

/* The payload as a JSON value: itself if JSON, else a string, null if absent. */
static void pl_json(st_buf *out, const pl *p)
{
    if (!p->present) st_buf_puts(out, "null");
    else if (p->val) st_buf_put(out, p->raw, p->len);
    else st_render_lossy_string(out, p->raw, p->len);
}

/* ---- proofs -------------------------------------------------------------------------- */

int qf_proof_init(qf_proof *p, st_txn *txn, st_err *err)
{
    st_cursor *c;
    const void *k, *v;
    size_t kl, vl;
    memset(p, 0, sizeof *p);
    int rc = st_cursor_open(txn, ST_T_CHECKPOINTS, &c);
    if (rc == ST_ENOTFOUND) return 0;
    if (rc) return rc;
    rc = st_cursor_last(c, &k, &kl, &v, &vl);
    if (rc == ST_ENOTFOUND) { st_cursor_close(c); return 0; }
    if (rc) { st_cursor_close(c); return rc; }
    st_note *note = malloc(sizeof *note);
    st_checkpoint cp;
    if (!note) { st_cursor_close(c); return ENOMEM; }
    rc = st_note_parse(note, v, vl, err);
    if (rc == 0) rc = st_checkpoint_parse(&cp, note->text, note->text_len, err);
    free(note);
    st_cursor_close(c);
    if (rc) return rc;
    st_hash root;
    if ((rc = st_tree_root_txn(txn, cp.size, root)) != 0) return st_fail(err, rc, "tree root at size %llu", (unsigned long long)cp.size);
    if (memcmp(root, cp.root, sizeof root) != 0) {
        char a[65], b[65];
        st_hex_encode(a, root, 32);
        st_hex_encode(b, cp.root, 32);
        return st_fail(err, ST_ECORRUPT, "checkpoint %llu: root %s, stored tree gives %s", (unsigned long long)cp.size, b, a);
    }
    p->have = 1;
    p->size = cp.size;
    memcpy(p->root, cp.root, sizeof root);
    return 0;
}

static void put_hex(st_buf *out, const uint8_t *h)
{
    char hex[65];
    st_hex_encode(hex, h, 32);
    st_buf_putc(out, '"');
    st_buf_put(out, hex, 64);
    st_buf_putc(out, '"');
}

int qf_proof_json(st_buf *out, qf_proof *p, st_txn *txn, uint64_t index, const uint8_t *entry, size_t len)
{
    if (!p->have || index >= p->size) {
        p->unsealed++;
        st_buf_puts(out, "null");
        return 0;
    }
    st_hash *hashes = NULL, leaf;
    size_t n = 0;
    int rc = st_prove_inclusion_txn(txn, index, p->size, &hashes, &n);
    if (rc) return rc;
    st_leaf_hash(leaf, entry, len);
    if (st_verify_inclusion(index, p->size, leaf, (const st_hash *)hashes, n, p->root) != 0) {
        free(hashes);
        return ST_EPROOF;
    }
    st_buf_puts(out, "{\"hashes\":[");
    for (size_t i = 0; i < n; i++) {
        if (i) st_buf_putc(out, ',');
        put_hex(out, hashes[i]);
    }
    st_buf_printf(out, "],\"index\":%llu,\"leaf_hash\":", (unsigned long long)index);
    put_hex(out, leaf);
    st_buf_puts(out, ",\"root\":");
    put_hex(out, p->root);
    st_buf_printf(out, ",\"size\":%llu,\"type\":\"inclusion\"}", (unsigned long long)p->size);
    free(hashes);
    return out->oom ? ENOMEM : 0;
}

/* ---- JSON lines and seed ------------------------------------------------------------------ */

int qf_jsonl(st_buf *out, st_txn *txn, uint64_t index, const uint8_t *entry, size_t len, const st_buf *proof)
{
    size_t start = out->len;
    int rc = st_render_entry(out, txn, index, entry, len, 1);
    if (rc || !proof) return rc;
    if (out->len < start + 2 || out->data[out->len - 1] != '\n' || out->data[out->len - 2] != '}') return ST_ECORRUPT;
    out->len -= 2;
    st_buf_puts(out, ",\"proof\":");
    st_buf_put(out, proof->data, proof->len);
    st_buf_puts(out, "}\n");
    return out->oom ? ENOMEM : 0;
}

/* 2025-01-15T10:30:00.123Z, as JavaScript's toISOString writes it. */
static void iso_ms(char out[32], int64_t us)
{
    char full[32];
    st_time_format_rfc3339(full, us);          /* ...SS.ffffffZ */
    size_t n = strlen(full);
    memcpy(out, full, n - 4);
    out[n - 4] = 'Z';
    out[n - 3] = 0;
}

/* The seed line's "error" is true for a call that did not succeed: failed,
 * interrupted (both "status":"error", the seed vocabulary's word) and denied
 * (the permission system refused it: "status":"denied"). started,
 * requested and malformed entries are not a call's outcome: "error":false
 * and the status as stored. */
static int is_status(const char *s, size_t n, const char *w)
{
    return s && n == strlen(w) && memcmp(s, w, n) == 0;
}

int qf_seed(st_buf *out, st_txn *txn, uint64_t index, const uint8_t *entry, size_t len)
{
    view v;
    pl in, outp, err, ev;
    int rc = view_open(&v, entry, len);
    if (rc) return rc;
    size_t start = out->len;
    memset(&ev, 0, sizeof ev);
    if ((rc = pl_load(&in, txn, index, "tool_input")) || (rc = pl_load(&outp, txn, index, "tool_response")) ||
        (rc = pl_load(&err, txn, index, "error"))) {
        st_json_doc_free(v.doc);
        return rc;
    }
    int64_t t = 0, d;
    size_t tn, sn, en, rn = 0;
    char ts[32];
    st_json_get_i64(v.root, "time_us", &t);
    iso_ms(ts, t);
    const char *tool = vstr(&v, "tool", &tn), *status = vstr(&v, "status", &sn), *e = vstr(&v, "error", &en);
    const char *reason = NULL;
    int failed = is_status(status, sn, "failed") || is_status(status, sn, "interrupted");
    int denied = is_status(status, sn, "denied");
    if (denied && !err.present && !e) {     /* PermissionDenied: the hook's "reason", kept in payload `event` */
        if ((rc = pl_load(&ev, txn, index, "event")) != 0) goto done;
        if (ev.val) reason = st_json_get_str(ev.val, "reason", &rn);
    }
    st_buf_printf(out, "{\"timestamp\":\"%s\",\"toolName\":", ts);
    if (tool) st_json_write_string(out, tool, tn); else st_buf_puts(out, "null");
    st_buf_puts(out, ",\"input\":");
    pl_json(out, &in);
    st_buf_puts(out, ",\"output\":");
    pl_json(out, &outp);
    st_buf_puts(out, ",\"executionTimeMs\":");
    if (st_json_get_i64(v.root, "duration_ms", &d) == 0) st_buf_printf(out, "%lld", (long long)d);
    else st_buf_puts(out, "null");
    st_buf_printf(out, ",\"error\":%s,\"errorMessage\":", failed || denied ? "true" : "false");
    if (err.present && err.val && err.val->type == ST_JSON_STRING) st_json_write_string(out, err.val->str, err.val->len);
    else if (err.present) pl_json(out, &err);
    else if (e) st_json_write_string(out, e, en);
    else if (reason) st_json_write_string(out, reason, rn);
    else st_buf_puts(out, "null");
    st_buf_puts(out, ",\"status\":");
    if (!status) st_buf_puts(out, "null");
    else if (is_status(status, sn, "succeeded")) st_buf_puts(out, "\"success\"");
    else if (failed) st_buf_puts(out, "\"error\"");
    else st_json_write_string(out, status, sn);
    st_buf_puts(out, "}\n");
    st_render_escape_controls(out, start);      /* as the jsonl rendering (render.h) */
    rc = out->oom ? ENOMEM : 0;
done:
    pl_free(&in);
    pl_free(&outp);
    pl_free(&err);
    pl_free(&ev);
    st_json_doc_free(v.doc);
    return rc;
}

/* ---- CSV ----------------------------------------------------------------------------------- */

/* A text cell that starts with = + - @ TAB or CR is a formula to a spreadsheet
 * (CSV injection: an agent's output could run in the auditor's Excel): such
 * a cell gets a leading ' and is quoted, as OWASP advises. JSON lines keep
 * the exact value. */
void qf_csv_field(st_buf *out, const char *s, size_t n)
{
    int formula = n && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r');
    int quote = formula;
    for (size_t i = 0; i < n && !quote; i++) quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote) { st_buf_put(out, s, n); return; }
    st_buf_putc(out, '"');
    if (formula) st_buf_putc(out, '\'');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') st_buf_putc(out, '"');
        st_buf_putc(out, (uint8_t)s[i]);
    }
    st_buf_putc(out, '"');
}

static const char *const csv_cols[] = { "index", "time", "kind", "event", "tool", "status", "duration_ms",
                                        "session", "tool_use_id", "cwd", "error", "input", "output" };

void qf_csv_header(st_buf *out)
{
    for (size_t i = 0; i < sizeof csv_cols / sizeof *csv_cols; i++) {
        if (i) st_buf_putc(out, ',');
        st_buf_puts(out, csv_cols[i]);
    }
    st_buf_puts(out, "\r\n");
}

/* A text cell (a name, the error line): what a terminal or spreadsheet
 * would act on (controls, bidi) is U+FFFD, then RFC 4180 (qf_csv_field). */
static void csv_text(st_buf *out, const char *s, size_t n)
{
    st_buf tmp = { 0 };
    qf_text_safe(&tmp, s, n);
    qf_csv_field(out, tmp.data ? (const char *)tmp.data : "", tmp.len);
    if (tmp.oom) out->oom = 1;
    st_buf_free(&tmp);
}

/* A payload cell: the payload as JSON (a payload that is not JSON as a JSON
 * string, invalid UTF-8 as U+FFFD), its terminal controls written as \u
 * escapes as in jsonl (render.h): the same value to a JSON parser. */
static void csv_payload(st_buf *out, const pl *p)
{
    if (!p->present) return;
    st_buf tmp = { 0 };
    pl_json(&tmp, p);
    st_render_escape_controls(&tmp, 0);
    qf_csv_field(out, tmp.data ? (const char *)tmp.data : "", tmp.len);
    if (tmp.oom) out->oom = 1;
    st_buf_free(&tmp);
}

int qf_csv_row(st_buf *out, st_txn *txn, uint64_t index, const uint8_t *entry, size_t len)
{
    view v;
    pl in, outp;
    int rc = view_open(&v, entry, len);
    if (rc) return rc;
    if ((rc = pl_load(&in, txn, index, "tool_input")) || (rc = pl_load(&outp, txn, index, "tool_response"))) {
        st_json_doc_free(v.doc);
        return rc;
    }
    int64_t t = 0, d;
    char ts[32];
    st_json_get_i64(v.root, "time_us", &t);
    st_time_format_rfc3339(ts, t);
    st_buf_printf(out, "%llu,%s", (unsigned long long)index, ts);
    static const char *const strs[] = { "kind", "event", "tool", "status" };
    for (size_t i = 0; i < 4; i++) {
        size_t n;
        const char *s = vstr(&v, strs[i], &n);
        st_buf_putc(out, ',');
        if (s) csv_text(out, s, n);
    }
    st_buf_putc(out, ',');
    if (st_json_get_i64(v.root, "duration_ms", &d) == 0) st_buf_printf(out, "%lld", (long long)d);
    static const char *const strs2[] = { "session", "tool_use_id", "cwd", "error" };
    for (size_t i = 0; i < 4; i++) {
        size_t n;
        const char *s = vstr(&v, strs2[i], &n);
        st_buf_putc(out, ',');
        if (s) csv_text(out, s, n);
    }
    st_buf_putc(out, ',');
    csv_payload(out, &in);
    st_buf_putc(out, ',');
    csv_payload(out, &outp);
    st_buf_puts(out, "\r\n");
    pl_free(&in);
    pl_free(&outp);
    st_json_doc_free(v.doc);
    return out->oom ? ENOMEM : 0;
}

/* ---- table ---------------------------------------------------------------------------------- */

#define W_INDEX 6u
#define W_TIME 19u
#define W_TOOL 12u
#define W_EVENT 18u   /* PostToolUseFailure, PermissionRequest uncut */
#define W_STATUS 11u  /* interrupted, the longest status, uncut */
#define W_DUR 7u
#define W_FIXED (W_INDEX + W_TIME + W_TOOL + W_EVENT + W_STATUS + W_DUR + 6u)

void qf_table_header(st_buf *out, unsigned width)
{
    unsigned wd = width > W_FIXED + 20 ? width - W_FIXED : 20;
    st_buf_printf(out, "%*s %-*s %-*s %-*s %-*s %*s ", W_INDEX, "INDEX", W_TIME, "TIME", W_TOOL, "TOOL", W_EVENT, "EVENT",
                  W_STATUS, "STATUS", W_DUR, "MS");
    qf_cell(out, "DETAIL", 6, wd, 0);
    st_buf_putc(out, '\n');
}

/* The most telling part of an entry for a one-line view. */
static void detail(st_buf *d, const view *v, const pl *in, const pl *prompt)
{
    static const char *const keys[] = { "command", "file_path", "notebook_path", "path", "pattern", "url", "query",
                                        "description" };
    if (in->val && in->val->type == ST_JSON_OBJECT) {
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
            size_t n;
            const char *s = st_json_get_str(in->val, keys[i], &n);
            if (s) { st_buf_put(d, s, n); return; }
        }
    }
    if (in->present) { st_buf_put(d, in->raw, in->len); return; }
    if (prompt->val && prompt->val->type == ST_JSON_STRING) { st_buf_put(d, prompt->val->str, prompt->val->len); return; }
    size_t n;
    const char *e = vstr(v, "error", &n);
    if (!e) e = vstr(v, "parse_error", &n);      /* a malformed hook input: why */
    if (e) st_buf_put(d, e, n);
}

int qf_table_row(st_buf *out, st_txn *txn, uint64_t index, const uint8_t *entry, size_t len, unsigned width)
{
    view v;
    pl in, prompt;
    int rc = view_open(&v, entry, len);
    if (rc) return rc;
    if ((rc = pl_load(&in, txn, index, "tool_input")) || (rc = pl_load(&prompt, txn, index, "prompt"))) {
        st_json_doc_free(v.doc);
        return rc;
    }
    int64_t t = 0, dur;
    char ts[32], num[24];
    size_t n;
    const char *s;
    st_json_get_i64(v.root, "time_us", &t);
    st_time_format_rfc3339(ts, t);
    ts[10] = ' ';
    snprintf(num, sizeof num, "%llu", (unsigned long long)index);
    for (size_t i = strlen(num); i < W_INDEX; i++) st_buf_putc(out, ' ');
    st_buf_puts(out, num);
    st_buf_putc(out, ' ');
    qf_cell(out, ts, W_TIME, W_TIME, 1);
    st_buf_putc(out, ' ');
    s = vstr(&v, "tool", &n);
    qf_cell(out, s ? s : "-", s ? n : 1, W_TOOL, 1);
    st_buf_putc(out, ' ');
    s = vstr(&v, "event", &n);
    qf_cell(out, s ? s : "-", s ? n : 1, W_EVENT, 1);
    st_buf_putc(out, ' ');
    s = vstr(&v, "status", &n);
    qf_cell(out, s ? s : "-", s ? n : 1, W_STATUS, 1);
    if (st_json_get_i64(v.root, "duration_ms", &dur) == 0) snprintf(num, sizeof num, "%lld", (long long)dur);
    else snprintf(num, sizeof num, "-");
    st_buf_printf(out, " %*s ", W_DUR, num);
    st_buf d = { 0 };
    detail(&d, &v, &in, &prompt);
    qf_cell(out, d.data ? (const char *)d.data : "", d.len, width > W_FIXED + 20 ? width - W_FIXED : 20, 0);
    st_buf_putc(out, '\n');
    st_buf_free(&d);
    pl_free(&in);
    pl_free(&prompt);
    st_json_doc_free(v.doc);
    return out->oom ? ENOMEM : 0;
}
