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

int st_render_entry(st_buf *out, st_txn *txn, uint64_t index, const uint8_t *bytes, size_t len, int with_payloads)
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
