/*
 * fuzz_import.c: st_import_line, the conversion of one JSONL audit-log line
 * (hook event or "seed" audit-log line) into a record. The input is split
 * on LF and every line converted. Properties:
 *  - the result is BLANK, SEED or HOOK with a record, or ST_EJSON/ST_EFORMAT
 *    with a reason (never an empty message), or ENOMEM;
 *  - a record has kind "import" and recorded_us, at most 16 payloads with
 *    valid, distinct names and non-NULL bytes; its tool_input value (when
 *    kept) is an object or any JSON value the indexer must accept;
 *  - its envelope, completed as append.c does and written with sorted keys,
 *    is canonical (so append can never build an entry the verifier rejects),
 *    and its packed row (store/entry_store.c) gives the same bytes back;
 *  - no GitHub token (ghp_ + 36 alphanumerics, at a word start) survives
 *    into the envelope or any payload: redaction ran before anything was kept;
 *  - the path extractor accepts whatever tool_input came out.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entry_store.h"
#include "import.h"
#include "index.h"
#include "json.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fuzz_import: %s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int alnum(uint8_t c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static int has_token(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 40 <= n; i++) {
        if (memcmp(p + i, "ghp_", 4) != 0 || (i > 0 && alnum(p[i - 1]))) continue;  /* the redactor wants a word boundary */
        size_t k = 0;
        while (k < 36 && alnum(p[i + 4 + k])) k++;
        if (k == 36) return 1;
    }
    return 0;
}

static void check_record(const st_event *ev)
{
    const st_record_in *r = &ev->rec;
    CHECK(r->meta && r->meta->type == ST_JSON_OBJECT);
    size_t kl;
    const char *kind = st_json_get_str(r->meta, "kind", &kl);
    CHECK(kind && kl == 6 && memcmp(kind, "import", 6) == 0);
    int64_t rec_us;
    CHECK(st_json_get_i64(r->meta, "recorded_us", &rec_us) == 0);
    CHECK(r->npayloads <= ST_ENTRY_MAX_PAYLOADS);
    for (size_t i = 0; i < r->npayloads; i++) {
        CHECK(r->payloads[i].name && st_payload_name_valid(r->payloads[i].name, strlen(r->payloads[i].name)));
        CHECK(r->payloads[i].data != NULL || r->payloads[i].len == 0);
        for (size_t j = 0; j < i; j++) CHECK(strcmp(r->payloads[i].name, r->payloads[j].name) != 0);
        CHECK(!has_token(r->payloads[i].data, r->payloads[i].len));
        if (strcmp(r->payloads[i].name, "tool_input") == 0) {
            st_buf p = { 0 };
            (void)st_ix_paths(&p, "Bash", 4, "/w", 2, r->payloads[i].value);
            st_buf_free(&p);
        }
    }
    /* complete the envelope as append.c does; it must be canonical */
    st_json_doc *d = st_json_doc_new();
    CHECK(d);
    st_json *o = st_json_clone(d, r->meta);
    CHECK(o);
    CHECK(st_json_object_add(d, o, "v", 1, st_json_new_int(d, 1)) == 0);
    CHECK(st_json_object_add(d, o, "index", 5, st_json_new_int(d, 7)) == 0);
    CHECK(st_json_object_add(d, o, "time_us", 7, st_json_new_int(d, r->time_us)) == 0);
    st_buf b = { 0 };
    st_json_write(&b, o, ST_JSON_SORT_KEYS);
    CHECK(!b.oom);
    CHECK(!has_token(b.data, b.len));
    st_json_doc *c = NULL;
    st_err err;
    CHECK(st_json_parse_canonical(&c, b.data, b.len, 16, &err) == 0);
    st_json_doc_free(c);
    /* as stored: the packed row gives the same bytes back (store/entry_store.c) */
    st_buf row = { 0 }, back = { 0 };
    CHECK(st_entry_row_pack(&row, b.data, b.len) == 0);
    const uint8_t *eb = b.data;
    size_t el = b.len;
    if (row.len) CHECK(row.len < b.len && st_entry_row_decode(row.data, row.len, &back, &eb, &el) == 0);
    CHECK(el == b.len && memcmp(eb, b.data, el) == 0);
    st_buf_free(&row);
    st_buf_free(&back);
    st_buf_free(&b);
    st_json_doc_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_import_line_opts o = { .now_us = 1760000000000000LL, .host = "fuzz", .user = "u" };
    size_t start = 0;
    while (start <= size) {
        const uint8_t *nl = memchr(data + start, '\n', size - start);
        size_t end = nl ? (size_t)(nl - data) : size;
        st_event ev;
        int kind = -1;
        st_err why;
        why.msg[0] = 0;
        int rc = st_import_line(&ev, &kind, (const char *)data + start, end - start, &o, &why);
        if (rc == 0) {
            CHECK(kind == ST_IMPORT_BLANK || kind == ST_IMPORT_SEED || kind == ST_IMPORT_HOOK);
            if (kind != ST_IMPORT_BLANK) check_record(&ev);
            st_event_free(&ev);
        } else {
            CHECK(rc == ST_EJSON || rc == ST_EFORMAT || rc == 12 /* ENOMEM */);
            CHECK(why.msg[0] != 0);
        }
        if (!nl) break;
        start = end + 1;
    }
    return 0;
}
