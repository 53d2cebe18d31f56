/*
 * render.c: entries as JSON lines. The envelope is copied as stored; each
 * payload's bytes are spliced in as a JSON value when they parse as one
 * (they are compact JSON written by the hook), else as a string.
 */
#include "render.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "store_int.h"

void st_render_lossy_string(st_buf *out, const uint8_t *s, size_t n)
{
    if (st_utf8_valid(s, n)) {
        st_json_write_string(out, (const char *)s, n);
        return;
    }
    st_buf tmp = { 0 };
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = st_utf8_next(s + i, n - i, &cp);
        if (k) {
            st_buf_put(&tmp, s + i, k);
            i += k;
        } else {
            st_buf_put(&tmp, "\xef\xbf\xbd", 3);
            i++;
        }
    }
    st_json_write_string(out, tmp.data ? (const char *)tmp.data : "", tmp.len);
    if (tmp.oom) out->oom = 1;
    st_buf_free(&tmp);
}

/* ---- terminal controls ------------------------------------------------------------ */

size_t st_render_control_at(const uint8_t *s, size_t n, uint32_t *cp)
{
    if (n >= 2 && s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f) { *cp = s[1]; return 2; }        /* C1 */
    if (n >= 2 && s[0] == 0xd8 && s[1] == 0x9c) { *cp = 0x061c; return 2; }                      /* ALM */
    if (n >= 3 && s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0x8e || s[2] == 0x8f || (s[2] >= 0xa8 && s[2] <= 0xae))) {
        *cp = 0x2000u | (s[2] & 0x3fu);                  /* LRM, RLM; LS, PS, LRE, RLE, PDF, LRO, RLO */
        return 3;
    }
    if (n >= 3 && s[0] == 0xe2 && s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9) {
        *cp = 0x2040u | (s[2] & 0x3fu);                  /* LRI, RLI, FSI, PDI */
        return 3;
    }
    return 0;
}

static size_t next_control(const uint8_t *s, size_t i, size_t n, size_t *len, uint32_t *cp)
{
    for (; i < n; i++) {
        uint8_t c = s[i];
        if ((c == 0xc2 || c == 0xd8 || c == 0xe2) && (*len = st_render_control_at(s + i, n - i, cp)) != 0) return i;
    }
    return n;
}

void st_render_escape_controls(st_buf *b, size_t from)
{
    static const char hex[] = "0123456789abcdef";
    size_t len = 0;
    uint32_t cp = 0;
    if (b->oom || from >= b->len) return;
    size_t i = next_control(b->data, from, b->len, &len, &cp);
    if (i == b->len) return;                               /* the common case: nothing to copy */
    st_buf tail = { 0 };
    st_buf_put(&tail, b->data + i, b->len - i);
    if (tail.oom) { b->oom = 1; return; }
    b->len = i;
    for (size_t j = 0; j < tail.len;) {
        size_t k = next_control(tail.data, j, tail.len, &len, &cp);
        st_buf_put(b, tail.data + j, k - j);
        if (k == tail.len) break;
        char e[6] = { '\\', 'u', hex[cp >> 12], hex[(cp >> 8) & 15], hex[(cp >> 4) & 15], hex[cp & 15] };
        st_buf_put(b, e, sizeof e);
        j = k + len;
    }
    st_buf_free(&tail);
}

/* ---- entries ------------------------------------------------------------------------ */

static void render_payload(st_buf *out, const uint8_t *data, size_t len)
{
    st_json_doc *doc = NULL;
    st_json_opts o = { .flags = ST_JSON_ALLOW_DUP_KEYS, .max_depth = 0, .max_bytes = 0 };
    if (st_json_parse(&doc, (const char *)data, len, &o, NULL, NULL) == 0)
        st_buf_put(out, data, len);
    else
        st_render_lossy_string(out, data, len);
    st_json_doc_free(doc);
}

static int render_entry(st_buf *out, st_txn *txn, uint64_t index, const uint8_t *bytes, size_t len, int with_payloads)
{
    if (len < 2 || bytes[0] != '{' || bytes[len - 1] != '}') return ST_ECORRUPT;
    if (!with_payloads) {
        st_buf_put(out, bytes, len);
        st_buf_putc(out, '\n');
        return out->oom ? ENOMEM : 0;
    }
    st_entry e;
    int rc = st_entry_parse(&e, bytes, len, NULL);
    if (rc) return rc;
    st_buf_put(out, bytes, len - 1);             /* the envelope without its closing brace */
    if (e.npayloads) st_buf_puts(out, ",\"content\":{");
    int absent = 0;
    st_buf absent_list = { 0 };
    for (size_t i = 0; i < e.npayloads; i++) {
        const char *name = e.payloads[i].name;
        uint8_t *data = NULL;
        size_t dlen = 0;
        if (i) st_buf_putc(out, ',');
        st_json_write_string(out, name, strlen(name));
        st_buf_putc(out, ':');
        rc = st_payload_read(txn, index, name, NULL, &data, &dlen);
        if (rc == 0) {
            render_payload(out, data, dlen);
            free(data);
        } else if (rc == ST_ENOTFOUND) {
            st_buf_puts(out, "null");
            st_buf_putc(&absent_list, absent++ ? ',' : '[');
            st_json_write_string(&absent_list, name, strlen(name));
        } else {
            st_entry_free(&e);
            st_buf_free(&absent_list);
            return rc;
        }
    }
    if (e.npayloads) st_buf_putc(out, '}');
    st_entry_free(&e);
    if (absent) {
        st_buf_puts(out, ",\"absent_payloads\":");
        st_buf_put(out, absent_list.data, absent_list.len);
        st_buf_putc(out, ']');
    }
    st_buf_free(&absent_list);
    st_buf_puts(out, "}\n");
    return out->oom ? ENOMEM : 0;
}

int st_render_entry(st_buf *out, st_txn *txn, uint64_t index, const uint8_t *bytes, size_t len, int with_payloads)
{
    size_t start = out->len;
    int rc = render_entry(out, txn, index, bytes, len, with_payloads);
    if (rc == 0) st_render_escape_controls(out, start);
    return rc ? rc : out->oom ? ENOMEM : 0;
}
