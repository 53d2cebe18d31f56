/*
 * fuzz_event.c: hook input -> record (store/event.c) and spool files
 * (store/spool.c) on hostile bytes. Properties, any violation aborts:
 *  - st_event_build never fails on input (only ENOMEM may), whatever the bytes;
 *  - the envelope is a flat object that serializes canonically, well under
 *    the entry size limit, with kind "event" and an event name;
 *  - malformed input has status "malformed", a parse_error, and a raw
 *    payload (the redacted input), missing only when there
 *    was no input or all of it was cut off at the end ([RED-8]: input
 *    that ends inside a value loses its last word, and "-" is all word);
 *  - every payload name is valid, at most 16;
 *  - the record's spool image parses back to the same record;
 *  - the input itself, read as a spool file, is parsed or refused cleanly,
 *    with a message that names the spool file.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "spool.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fuzz_event: %s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_spool_round_trip(const st_event *ev)
{
    st_spool_image im;
    CHECK(st_spool_image_build(&im, &ev->rec) == 0);
    st_buf file = { 0 };
    for (int i = 0; i < im.iovcnt; i++) st_buf_put(&file, im.iov[i].iov_base, im.iov[i].iov_len);
    CHECK(!file.oom && file.len == im.total);
    st_record_in rec;
    uint64_t from;
    st_json_doc *doc;
    CHECK(st_spool_parse(file.data, file.len, &rec, &from, &doc, NULL) == 0);
    CHECK(from == ST_SPOOL_FROM_NONE && rec.time_us == ev->rec.time_us && rec.npayloads == ev->rec.npayloads);
    for (size_t i = 0; i < rec.npayloads; i++) {
        CHECK(strcmp(rec.payloads[i].name, ev->rec.payloads[i].name) == 0);
        CHECK(rec.payloads[i].len == ev->rec.payloads[i].len);
        CHECK(memcmp(rec.payloads[i].data, ev->rec.payloads[i].data, rec.payloads[i].len) == 0);
    }
    st_buf a = { 0 }, b = { 0 };
    st_json_write(&a, rec.meta, ST_JSON_SORT_KEYS);
    st_json_write(&b, ev->meta, ST_JSON_SORT_KEYS);
    CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    st_buf_free(&a);
    st_buf_free(&b);
    st_json_doc_free(doc);
    st_buf_free(&file);
    st_spool_image_free(&im);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_event ev;
    st_event_opts o = { .host = "fuzz", .user = "fuzz", .now_us = 1763787173000000LL };
    st_err err;
    int rc = st_event_build(&ev, (const char *)data, size, &o, &err);
    if (rc == ENOMEM) return 0;
    CHECK(rc == 0);
    CHECK(ev.meta && ev.meta->type == ST_JSON_OBJECT && ev.rec.meta == ev.meta);
    CHECK(ev.event && *ev.event);
    CHECK(ev.rec.npayloads <= ST_ENTRY_MAX_PAYLOADS);
    for (size_t i = 0; i < ev.rec.npayloads; i++)
        CHECK(st_payload_name_valid(ev.rec.payloads[i].name, strlen(ev.rec.payloads[i].name)));
    const char *kind = st_json_get_str(ev.meta, "kind", NULL);
    CHECK(kind && strcmp(kind, "event") == 0);
    for (const st_json *m = ev.meta->child; m; m = m->next)
        CHECK(m->type != ST_JSON_ARRAY && (m->type != ST_JSON_OBJECT || (m->key_len == 10 && !memcmp(m->key, "redactions", 10))));
    st_buf b = { 0 };
    st_json_write(&b, ev.meta, ST_JSON_SORT_KEYS);
    CHECK(!b.oom && b.len < 64 * 1024);
    CHECK(st_json_parse_canonical(NULL, b.data, b.len, 16, &err) == 0);
    st_buf_free(&b);
    if (ev.malformed) {
        const char *status = st_json_get_str(ev.meta, "status", NULL);
        CHECK(status && strcmp(status, "malformed") == 0 && st_json_get(ev.meta, "parse_error"));
        const char *why = st_json_get_str(ev.meta, "parse_error", NULL);
        CHECK(ev.rec.npayloads <= 1);
        if (ev.rec.npayloads) CHECK(strcmp(ev.rec.payloads[0].name, "raw") == 0);
        else CHECK(size == 0 || (why && strstr(why, "its last ") && strstr(why, " bytes are not kept")));
    }
    check_spool_round_trip(&ev);
    st_event_free(&ev);

    /* the same bytes as a (hostile) spool file */
    st_record_in rec;
    uint64_t from;
    st_json_doc *doc;
    err.msg[0] = 0;
    rc = st_spool_parse(data, size, &rec, &from, &doc, &err);
    CHECK(rc == 0 || rc == ST_EFORMAT || rc == ENOMEM);
    CHECK(rc != ST_EFORMAT || strncmp(err.msg, "spool file", 10) == 0 || strncmp(err.msg, "not a spool file", 16) == 0);
    /* an envelope the JSON parser refused: its message, once ("offset N: ...") */
    CHECK(rc != ST_EFORMAT || strncmp(err.msg, "spool file: envelope: ", 22) != 0 ||
          strncmp(err.msg + 22, "offset ", 7) == 0);
    if (rc == 0) {
        CHECK(rec.meta && rec.meta->type == ST_JSON_OBJECT && rec.npayloads <= ST_ENTRY_MAX_PAYLOADS);
        for (size_t i = 0; i < rec.npayloads; i++)
            CHECK(rec.payloads[i].data >= data && rec.payloads[i].data + rec.payloads[i].len <= data + size);
        st_json_doc_free(doc);
    } else {
        CHECK(doc == NULL);
    }
    return 0;
}
