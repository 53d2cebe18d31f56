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

static int failed_status(const char *s, size_t n)
{
    return s && ((n == 6 && memcmp(s, "failed", 6) == 0) || (n == 11 && memcmp(s, "interrupted", 11) == 0));
}

int qf_seed(st_buf *out, st_txn *txn, uint64_t index, const uint8_t *entry, size_t len)
{
    view v;
    pl in, outp, err;
    int rc = view_open(&v, entry, len);
    if (rc) return rc;
    if ((rc = pl_load(&in, txn, index, "tool_input")) || (rc = pl_load(&outp, txn, index, "tool_response")) ||
        (rc = pl_load(&err, txn, index, "error"))) {
        st_json_doc_free(v.doc);
        return rc;
    }
    int64_t t = 0, d;
    size_t tn, sn, en;
    char ts[32];
    st_json_get_i64(v.root, "time_us", &t);
    iso_ms(ts, t);
    const char *tool = vstr(&v, "tool", &tn), *status = vstr(&v, "status", &sn), *e = vstr(&v, "error", &en);
    int failed = failed_status(status, sn);
    st_buf_printf(out, "{\"timestamp\":\"%s\",\"toolName\":", ts);
    if (tool) st_json_write_string(out, tool, tn); else st_buf_puts(out, "null");
    st_buf_puts(out, ",\"input\":");
    pl_json(out, &in);
    st_buf_puts(out, ",\"output\":");
    pl_json(out, &outp);
    st_buf_puts(out, ",\"executionTimeMs\":");
    if (st_json_get_i64(v.root, "duration_ms", &d) == 0) st_buf_printf(out, "%lld", (long long)d);
    else st_buf_puts(out, "null");
    st_buf_printf(out, ",\"error\":%s,\"errorMessage\":", failed ? "true" : "false");
    if (err.present && err.val && err.val->type == ST_JSON_STRING) st_json_write_string(out, err.val->str, err.val->len);
    else if (err.present) pl_json(out, &err);
    else if (e) st_json_write_string(out, e, en);
    else st_buf_puts(out, "null");
    st_buf_puts(out, ",\"status\":");
    if (!status) st_buf_puts(out, "null");
    else if (sn == 9 && memcmp(status, "succeeded", 9) == 0) st_buf_puts(out, "\"success\"");
    else if (failed) st_buf_puts(out, "\"error\"");
    else st_json_write_string(out, status, sn);
    st_buf_puts(out, "}\n");
    pl_free(&in);
    pl_free(&outp);
    pl_free(&err);
    st_json_doc_free(v.doc);
    return out->oom ? ENOMEM : 0;
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

/* A payload as CSV text: its JSON, or its bytes (lossy UTF-8) when not JSON. */
static void csv_payload(st_buf *out, const pl *p)
{
    if (!p->present) return;
    if (p->val || st_utf8_valid(p->raw, p->len)) { qf_csv_field(out, (const char *)p->raw, p->len); return; }
    st_buf tmp = { 0 };
    st_render_lossy_string(&tmp, p->raw, p->len);
    qf_csv_field(out, (const char *)tmp.data, tmp.len);
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
        if (s) qf_csv_field(out, s, n);
    }
    st_buf_putc(out, ',');
    if (st_json_get_i64(v.root, "duration_ms", &d) == 0) st_buf_printf(out, "%lld", (long long)d);
    static const char *const strs2[] = { "session", "tool_use_id", "cwd", "error" };
    for (size_t i = 0; i < 4; i++) {
        size_t n;
        const char *s = vstr(&v, strs2[i], &n);
        st_buf_putc(out, ',');
        if (s) qf_csv_field(out, s, n);
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
#define W_STATUS 9u
#define W_DUR 7u
#define W_FIXED (W_INDEX + W_TIME + W_TOOL + W_EVENT + W_STATUS + W_DUR + 6u)

/* One UTF-8 sequence at s (n > 0 bytes): its length, and *cp (U+FFFD for a
 * byte that does not start a valid sequence: then the length is 1). */
static size_t u8_next(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint8_t c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) { *cp = c; return 1; }
    if (c >= 0xc2 && c <= 0xdf) { len = 2; v = c & 0x1fu; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; v = c & 0x0fu; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; v = c & 0x07u; min = 0x10000; }
    else goto bad;
    if (len > n) goto bad;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) goto bad;
        v = v << 6 | (s[i] & 0x3fu);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) goto bad;
    *cp = v;
    return len;
bad:
    *cp = 0xfffd;
    return 1;
}

typedef struct cp_range { uint32_t lo, hi; } cp_range;

static int in_ranges(uint32_t c, const cp_range *r, size_t n)
{
    for (size_t i = 0; i < n && c >= r[i].lo; i++)
        if (c <= r[i].hi) return 1;
    return 0;
}

/* What a terminal must not receive: C0 and C1 controls (U+009B is CSI on
 * some terminals), DEL, and the bidirectional and line/paragraph controls
 * that reorder or break what follows ("Trojan Source"). Shown as a space. */
static int cp_hidden(uint32_t c)
{
    static const cp_range r[] = { { 0x00, 0x1f }, { 0x7f, 0x9f }, { 0x061c, 0x061c }, { 0x200e, 0x200f },
                                  { 0x2028, 0x202e }, { 0x2066, 0x2069 } };
    return in_ranges(c, r, sizeof r / sizeof *r);
}

/* Terminal columns of a printable code point: 0 for the common combining
 * marks and joiners, 2 for East Asian Wide and Fullwidth (every W/F code
 * point of Unicode 14's EastAsianWidth.txt is in `wide`; the emoji blocks are
 * taken whole, so a few narrow symbols count 2), else 1. Terminals differ
 * on emoji sequences (ZWJ, VS16): those are approximate. */
static unsigned cp_width(uint32_t c)
{
    static const cp_range zero[] = { { 0x0300, 0x036f }, { 0x0483, 0x0489 }, { 0x0591, 0x05bd }, { 0x0610, 0x061a },
                                     { 0x064b, 0x065f }, { 0x1ab0, 0x1aff }, { 0x1dc0, 0x1dff }, { 0x200b, 0x200d },
                                     { 0x20d0, 0x20ff }, { 0xfe00, 0xfe0f }, { 0xfe20, 0xfe2f }, { 0xe0100, 0xe01ef } };
    static const cp_range wide[] = { { 0x1100, 0x115f }, { 0x231a, 0x231b }, { 0x2329, 0x232a }, { 0x23e9, 0x23ec },
                                     { 0x23f0, 0x23f0 }, { 0x23f3, 0x23f3 }, { 0x25fd, 0x25fe }, { 0x2614, 0x2615 },
                                     { 0x2648, 0x2653 }, { 0x267f, 0x267f }, { 0x2693, 0x2693 }, { 0x26a1, 0x26a1 },
                                     { 0x26aa, 0x26ab }, { 0x26bd, 0x26be }, { 0x26c4, 0x26c5 }, { 0x26ce, 0x26ce },
                                     { 0x26d4, 0x26d4 }, { 0x26ea, 0x26ea }, { 0x26f2, 0x26f3 }, { 0x26f5, 0x26f5 },
                                     { 0x26fa, 0x26fa }, { 0x26fd, 0x26fd }, { 0x2705, 0x2705 }, { 0x270a, 0x270b },
                                     { 0x2728, 0x2728 }, { 0x274c, 0x274c }, { 0x274e, 0x274e }, { 0x2753, 0x2755 },
                                     { 0x2757, 0x2757 }, { 0x2795, 0x2797 }, { 0x27b0, 0x27b0 }, { 0x27bf, 0x27bf },
                                     { 0x2b1b, 0x2b1c }, { 0x2b50, 0x2b50 }, { 0x2b55, 0x2b55 }, { 0x2e80, 0x303e },
                                     { 0x3041, 0x33ff }, { 0x3400, 0x4dbf }, { 0x4e00, 0x9fff }, { 0xa000, 0xa4cf },
                                     { 0xa960, 0xa97f }, { 0xac00, 0xd7a3 }, { 0xf900, 0xfaff }, { 0xfe10, 0xfe19 },
                                     { 0xfe30, 0xfe6f }, { 0xff00, 0xff60 }, { 0xffe0, 0xffe6 }, { 0x16fe0, 0x16ff1 },
                                     { 0x17000, 0x18d08 }, { 0x1aff0, 0x1b2ff }, { 0x1f004, 0x1f004 },
                                     { 0x1f0cf, 0x1f0cf }, { 0x1f18e, 0x1f18e }, { 0x1f191, 0x1f19a },
                                     { 0x1f200, 0x1f265 }, { 0x1f300, 0x1f64f }, { 0x1f680, 0x1f6ff },
                                     { 0x1f7e0, 0x1f7f0 }, { 0x1f900, 0x1f9ff }, { 0x1fa70, 0x1faff },
                                     { 0x20000, 0x2fffd }, { 0x30000, 0x3fffd } };
    if (c < 0x300) return 1;
    if (in_ranges(c, zero, sizeof zero / sizeof *zero)) return 0;
    return in_ranges(c, wide, sizeof wide / sizeof *wide) ? 2 : 1;
}

static unsigned cell_width(const uint8_t *s, size_t n, uint32_t *cp, size_t *len)
{
    *len = u8_next(s, n, cp);
    return cp_hidden(*cp) ? 1 : cp_width(*cp);
}

/* A cell is measured in terminal columns. Cut: the code points that fit in
 * w - 1 columns, then an ellipsis; never inside a UTF-8 sequence. Controls
 * print as a space, undecodable bytes as U+FFFD. */
void qf_cell(st_buf *out, const char *str, size_t n, unsigned w, int pad)
{
    const uint8_t *s = (const uint8_t *)str;
    size_t total = 0, len, i;
    uint32_t cp;
    for (i = 0; i < n && total <= w; i += len) total += cell_width(s + i, n - i, &cp, &len);
    int cuts = total > w;
    size_t room = cuts ? (w ? w - 1 : 0) : w, used = 0;
    for (i = 0; i < n; i += len) {
        unsigned cw = cell_width(s + i, n - i, &cp, &len);
        if (used + cw > room) break;
        used += cw;
        if (cp_hidden(cp)) st_buf_putc(out, ' ');
        else if (cp == 0xfffd && len == 1) st_buf_puts(out, "\xef\xbf\xbd");
        else st_buf_put(out, s + i, len);
    }
    if (cuts && w) { st_buf_puts(out, "\xe2\x80\xa6"); used++; }   /* … */
    if (pad) for (; used < w; used++) st_buf_putc(out, ' ');
}

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
