/*
 * retention_record.c: reading the `data` member of the four retention
 * record kinds (docs/RETENTION.md "Records"): retention-policy, archive,
 * prune, erasure. One parser for the store (which reads back the policy in
 * force and its archive list) and the verifier (auditverify --retention).
 *
 * Rules common to all four: integers are non-negative and fit the entry
 * integer range [ENTRY-4]; ranges [begin, end) lie before the record itself
 * (a record explains what happened to entries already in the log); unknown
 * members are ignored [ENTRY-9]. Anything else is ST_EFORMAT with the member
 * named.
 */
#include "retention_check.h"

#include <stdio.h>
#include <string.h>

static int get_u64(const st_json *data, const char *key, int required, int *has, uint64_t *out, st_err *err)
{
    const st_json *v = st_json_get(data, key);
    if (has) *has = 0;
    if (!v) return required ? st_fail(err, ST_EFORMAT, "data.%s is missing", key) : 0;
    int64_t i;
    if (st_json_as_i64(v, &i) != 0 || i < 0)
        return st_fail(err, ST_EFORMAT, "data.%s is not a non-negative integer", key);
    *out = (uint64_t)i;
    if (has) *has = 1;
    return 0;
}

static int get_i64(const st_json *data, const char *key, int required, int *has, int64_t *out, st_err *err)
{
    uint64_t u = 0;
    int rc = get_u64(data, key, required, has, &u, err);
    if (rc == 0) *out = (int64_t)u;
    return rc;
}

static int get_hash(const st_json *data, const char *key, uint8_t out[32], st_err *err)
{
    size_t len;
    const char *s = st_json_get_str(data, key, &len);
    if (!s) return st_fail(err, ST_EFORMAT, "data.%s is missing or not a string", key);
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return st_fail(err, ST_EFORMAT, "data.%s is not lowercase hex", key);
    if (len != 64 || st_hex_decode(out, 32, s, len) != 0)
        return st_fail(err, ST_EFORMAT, "data.%s: expected 64 hex digits, got %zu", key, len);
    return 0;
}

static void get_reason(const st_json *data, char out[ST_RREC_REASON_MAX + 1])
{
    size_t len = 0;
    const char *s = st_json_get_str(data, "reason", &len);
    out[0] = 0;
    if (!s) return;
    if (len > ST_RREC_REASON_MAX) len = ST_RREC_REASON_MAX;
    memcpy(out, s, len);
    out[len] = 0;                          /* a NUL inside the string ends it for C users */
}

int st_rrec_file_name_valid(const char *name, size_t len)
{
    if (len == 0 || len > ST_RREC_FILE_MAX) return 0;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.')) return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

static int get_range(st_rrec *r, const st_json *data, st_err *err)
{
    int rc;
    if ((rc = get_u64(data, "begin", 1, NULL, &r->begin, err)) || (rc = get_u64(data, "end", 1, NULL, &r->end, err)))
        return rc;
    if (r->begin >= r->end)
        return st_fail(err, ST_EFORMAT, "data.begin %llu is not below data.end %llu", (unsigned long long)r->begin,
                       (unsigned long long)r->end);
    if (r->end > r->index)
        return st_fail(err, ST_EFORMAT, "data.end %llu is after the record itself (index %llu)",
                       (unsigned long long)r->end, (unsigned long long)r->index);
    if ((rc = get_u64(data, "policy", 0, &r->has_policy, &r->policy, err)) ||
        (rc = get_i64(data, "older_than_us", 0, &r->has_older_than, &r->older_than_us, err)) ||
        (rc = get_u64(data, "payloads", 0, NULL, &r->payloads, err)))
        return rc;
    if (r->has_policy && r->policy >= r->index)
        return st_fail(err, ST_EFORMAT, "data.policy %llu is not before the record (index %llu)",
                       (unsigned long long)r->policy, (unsigned long long)r->index);
    return 0;
}

static int parse_policy(st_rrec *r, const st_json *data, st_err *err)
{
    int rc;
    if ((rc = get_i64(data, "min_retention_us", 1, NULL, &r->min_us, err)) ||
        (rc = get_i64(data, "max_retention_us", 0, &r->has_max, &r->max_us, err)) ||
        (rc = get_i64(data, "archive_after_us", 0, &r->has_archive_after, &r->archive_after_us, err)) ||
        (rc = get_u64(data, "previous", 0, &r->has_previous, &r->previous, err)))
        return rc;
    if (r->has_max && r->max_us < r->min_us)
        return st_fail(err, ST_EFORMAT, "data.max_retention_us %lld is below data.min_retention_us %lld",
                       (long long)r->max_us, (long long)r->min_us);
    if (r->has_previous && r->previous >= r->index)
        return st_fail(err, ST_EFORMAT, "data.previous %llu is not before the record (index %llu)",
                       (unsigned long long)r->previous, (unsigned long long)r->index);
    get_reason(data, r->reason);
    return 0;
}

static int parse_archive(st_rrec *r, const st_json *data, st_err *err)
{
    int rc = get_range(r, data, err);
    if (rc) return rc;
    size_t len;
    const char *f = st_json_get_str(data, "file", &len);
    if (!f || !st_rrec_file_name_valid(f, len))
        return st_fail(err, ST_EFORMAT, "data.file is missing or not a plain file name ([A-Za-z0-9._-]{1,%u})",
                       ST_RREC_FILE_MAX);
    memcpy(r->file, f, len);
    r->file[len] = 0;
    if ((rc = get_hash(data, "sha256", r->sha256, err))) return rc;
    if (st_json_get(data, "bundle_sha256") && (rc = get_hash(data, "bundle_sha256", r->bundle_sha256, err))) return rc;
    if ((rc = get_u64(data, "bytes", 0, NULL, &r->bytes, err)) ||
        (rc = get_u64(data, "bundle_bytes", 0, NULL, &r->bundle_bytes, err)) ||
        (rc = get_u64(data, "final_size", 0, NULL, &r->final_size, err)))
        return rc;
    return 0;
}

static int parse_prune(st_rrec *r, const st_json *data, st_err *err)
{
    int rc = get_range(r, data, err);
    if (rc) return rc;
    if ((rc = get_i64(data, "max_time_us", 0, &r->has_max_time, &r->max_time_us, err))) return rc;
    const st_json *a = st_json_get(data, "archives");
    if (!a) return 0;
    if (a->type != ST_JSON_ARRAY) return st_fail(err, ST_EFORMAT, "data.archives is not an array");
    for (const st_json *c = a->child; c; c = c->next) {
        if (c->type != ST_JSON_STRING || !st_rrec_file_name_valid(c->str, c->len))
            return st_fail(err, ST_EFORMAT, "data.archives[%zu] is not a plain file name", r->narchives);
        if (r->narchives < ST_RREC_ARCHIVES_MAX) memcpy(r->archives[r->narchives], c->str, c->len + 1);
        r->narchives++;
    }
    return 0;
}

static int parse_erasure(st_rrec *r, const st_json *data, st_err *err)
{
    int rc = get_u64(data, "index", 1, NULL, &r->target, err);
    if (rc) return rc;
    if (r->target >= r->index)
        return st_fail(err, ST_EFORMAT, "data.index %llu is not before the erasure record (index %llu)",
                       (unsigned long long)r->target, (unsigned long long)r->index);
    get_reason(data, r->reason);
    const st_json *names = st_json_get(data, "payloads");
    if (!names) {
        r->all_names = 1;
        return 0;
    }
    if (names->type != ST_JSON_ARRAY || names->count == 0 || names->count > ST_ENTRY_MAX_PAYLOADS)
        return st_fail(err, ST_EFORMAT, "data.payloads is not an array of 1..%u payload names", ST_ENTRY_MAX_PAYLOADS);
    for (const st_json *c = names->child; c; c = c->next) {
        if (c->type != ST_JSON_STRING || !st_payload_name_valid(c->str, c->len))
            return st_fail(err, ST_EFORMAT, "data.payloads[%zu] is not a payload name", r->nnames);
        memcpy(r->names[r->nnames++], c->str, c->len + 1);
    }
    return 0;
}

int st_rrec_parse(st_rrec *out, const st_entry *e, st_err *err)
{
    memset(out, 0, sizeof *out);
    out->index = e->index;
    out->time_us = e->time_us;
    static const struct { const char *name; int kind; } kinds[] = {
        { "retention-policy", ST_RREC_POLICY }, { "archive", ST_RREC_ARCHIVE },
        { "prune", ST_RREC_PRUNE }, { "erasure", ST_RREC_ERASURE },
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(e->kind, kinds[i].name) == 0) out->kind = kinds[i].kind;
    if (out->kind == ST_RREC_NONE) return 0;
    const st_json *data = st_json_get(e->root, "data");
    if (!data || data->type != ST_JSON_OBJECT)
        return st_fail(err, ST_EFORMAT, "%s record %llu has no data object", e->kind, (unsigned long long)e->index);
    int rc;
    switch (out->kind) {
    case ST_RREC_POLICY: rc = parse_policy(out, data, err); break;
    case ST_RREC_ARCHIVE: rc = parse_archive(out, data, err); break;
    case ST_RREC_PRUNE: rc = parse_prune(out, data, err); break;
    default: rc = parse_erasure(out, data, err); break;
    }
    if (rc && err) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        st_fail(err, rc, "%s record %llu: %s", e->kind, (unsigned long long)e->index, msg);
    }
    return rc;
}

int st_rrec_parse_bytes(st_rrec *out, const uint8_t *bytes, size_t len, st_err *err)
{
    st_entry e;
    memset(out, 0, sizeof *out);
    int rc = st_entry_parse(&e, bytes, len, err);
    if (rc) return rc;
    rc = st_rrec_parse(out, &e, err);
    st_entry_free(&e);
    return rc;
}

int st_rrec_covers(const st_rrec *r, uint64_t index, const char *name)
{
    if (r->index <= index) return 0;
    switch (r->kind) {
    case ST_RREC_ERASURE:
        if (r->target != index) return 0;
        if (r->all_names) return 1;
        for (size_t i = 0; i < r->nnames; i++)
            if (strcmp(r->names[i], name) == 0) return 1;
        return 0;
    case ST_RREC_ARCHIVE:
    case ST_RREC_PRUNE: return r->begin <= index && index < r->end;
    default: return 0;
    }
}

void st_rrec_format_duration(char out[32], int64_t us)
{
    static const struct { char unit; int64_t us; } units[] = {
        { 'y', 365LL * 86400 * 1000000 }, { 'w', 7LL * 86400 * 1000000 }, { 'd', 86400LL * 1000000 },
        { 'h', 3600LL * 1000000 }, { 'm', 60LL * 1000000 }, { 's', 1000000 },
    };
    if (us <= 0) {
        snprintf(out, 32, "0s");
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (us % units[i].us == 0) {
            snprintf(out, 32, "%lld%c", (long long)(us / units[i].us), units[i].unit);
            return;
        }
    snprintf(out, 32, "%lldus", (long long)us);
}
