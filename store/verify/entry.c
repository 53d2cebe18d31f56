/*
 * entry.c: parsing and validation of entries, the leaf data of the tree
 * (docs/FORMAT.md sections 1 and 2), and the salted payload commitment.
 *
 * st_entry_parse first requires the canonical encoding [ENTRY-1..6] (via
 * st_json_parse_canonical: one meaning, one byte string), then checks the
 * members: v == 1 [ENTRY-7], index and time_us integers, kind a string, the
 * payload table [PAYLOAD-2], [PAYLOAD-3], and the types of the other members
 * listed in FORMAT.md section 1.1. Unknown members are tolerated [ENTRY-9].
 * Building entries is store/envelope.c's job.
 */
#include "entry.h"
#include "sha256.h"

#include <string.h>

#include <sodium.h>

#define ENTRY_MAX_DEPTH 16u   /* [ENTRY-6] */

/* ---- payload commitments [PAYLOAD-1] ---------------------------------------------- */

/* commit = SHA-256("sealtrail/payload/v1" || 0x00 || salt[16] || bytes) */
void st_payload_commit(st_hash out, const uint8_t salt[ST_SALT_BYTES], const uint8_t *bytes, size_t len)
{
    static const uint8_t zero = 0x00;
    st_sha256_ctx st;
    st_sha256_init(&st);
    st_sha256_update(&st, (const uint8_t *)ST_PAYLOAD_TAG, sizeof ST_PAYLOAD_TAG - 1);
    st_sha256_update(&st, &zero, 1);
    st_sha256_update(&st, salt, ST_SALT_BYTES);
    if (len) st_sha256_update(&st, bytes, len);
    st_sha256_final(&st, out);
}

/* [a-z0-9_]{1,32} [PAYLOAD-2] */
int st_payload_name_valid(const char *name, size_t len)
{
    if (name == NULL || len == 0 || len > ST_PAYLOAD_NAME_MAX) return 0;
    static const uint8_t ok[256] = {
        ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1,
        ['9'] = 1, ['_'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
        ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
        ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1,
        ['z'] = 1,
    };
    unsigned good = 1;
    for (size_t i = 0; i < len; i++) good &= ok[(unsigned char)name[i]];
    return (int)good;
}

/* ---- member helpers ---------------------------------------------------------------- */

/* An integer member >= 0 (canonical parse already bounds it to 2^53-1). */
static int get_uint(const st_json *obj, const char *key, uint64_t *out)
{
    const st_json *v = st_json_get(obj, key);
    int64_t i;
    if (!v || v->type != ST_JSON_NUMBER || st_json_as_i64(v, &i) != 0 || i < 0) return -1;
    *out = (uint64_t)i;
    return 0;
}

/* A 64-char lowercase hex string member. */
static int get_hash(const st_json *obj, const char *key, st_hash out)
{
    const st_json *v = st_json_get(obj, key);
    if (!v || v->type != ST_JSON_STRING) return -1;
    return st_hash_from_hex(out, v->str, v->len) == 0 ? 0 : -1;
}

/* Types of the optional members of FORMAT.md 1.1 (unknown members pass). */
static const char *const string_members[] = {
    "event", "session", "tool", "tool_use_id", "mcp_server", "agent_id", "agent_type",
    "cwd", "permission_mode", "prompt_id", "status", "error", "host", "user", "parse_error",
    "withheld", "spool", NULL,
};
static const char *const int_members[] = { "duration_ms", "recorded_us", "input_len", "utf8_replaced", NULL };

static int check_optional_types(const st_json *root, st_err *err)
{
    for (const char *const *k = string_members; *k; k++) {
        const st_json *v = st_json_get(root, *k);
        if (v && v->type != ST_JSON_STRING) return st_fail(err, ST_EFORMAT, "entry: member \"%s\" is not a string", *k);
    }
    for (const char *const *k = int_members; *k; k++) {
        const st_json *v = st_json_get(root, *k);
        if (v && v->type != ST_JSON_NUMBER) return st_fail(err, ST_EFORMAT, "entry: member \"%s\" is not an integer", *k);
    }
    const st_json *r = st_json_get(root, "redactions");
    if (r) {
        if (r->type != ST_JSON_OBJECT) return st_fail(err, ST_EFORMAT, "entry: \"redactions\" is not an object");
        for (const st_json *c = r->child; c; c = c->next) {
            int64_t n;
            if (c->type != ST_JSON_NUMBER || st_json_as_i64(c, &n) != 0 || n < 0)
                return st_fail(err, ST_EFORMAT, "entry: redaction count for \"%.*s\" is not an integer >= 0",
                               (int)(c->key_len > 64 ? 64 : c->key_len), c->key);
        }
    }
    const st_json *d = st_json_get(root, "data");
    if (d && d->type != ST_JSON_OBJECT) return st_fail(err, ST_EFORMAT, "entry: \"data\" is not an object");
    return 0;
}

/* One member of the payload table: {"commit":hex,"len":int[,"truncated":{"len":int,"sha256":hex}]} */
static int parse_payload(st_entry_payload *p, const st_json *m, st_err *err)
{
    memset(p, 0, sizeof *p);
    if (!st_payload_name_valid(m->key, m->key_len))
        return st_fail(err, ST_EFORMAT, "entry: payload name \"%.*s\" is not [a-z0-9_]{1,32}",
                       (int)(m->key_len > 64 ? 64 : m->key_len), m->key);
    memcpy(p->name, m->key, m->key_len);
    p->name[m->key_len] = 0;
    if (m->type != ST_JSON_OBJECT) return st_fail(err, ST_EFORMAT, "entry: payload %s: not an object", p->name);
    if (get_hash(m, "commit", p->commit) != 0)
        return st_fail(err, ST_EFORMAT, "entry: payload %s: \"commit\" is not 64 lowercase hex digits", p->name);
    if (get_uint(m, "len", &p->len) != 0)
        return st_fail(err, ST_EFORMAT, "entry: payload %s: \"len\" is not an integer >= 0", p->name);
    const st_json *t = st_json_get(m, "truncated");
    if (t) {
        if (t->type != ST_JSON_OBJECT) return st_fail(err, ST_EFORMAT, "entry: payload %s: \"truncated\" is not an object", p->name);
        if (get_uint(t, "len", &p->full_len) != 0)
            return st_fail(err, ST_EFORMAT, "entry: payload %s: truncated \"len\" is not an integer >= 0", p->name);
        if (get_hash(t, "sha256", p->full_sha256) != 0)
            return st_fail(err, ST_EFORMAT, "entry: payload %s: truncated \"sha256\" is not 64 lowercase hex digits", p->name);
        if (p->full_len <= p->len)
            return st_fail(err, ST_EFORMAT, "entry: payload %s: truncated length %llu is not more than the stored %llu",
                           p->name, (unsigned long long)p->full_len, (unsigned long long)p->len);
        p->truncated = 1;
    }
    return 0;
}

/* ---- entries ---------------------------------------------------------------------- */

static int entry_check(st_entry *out, st_err *err)
{
    const st_json *root = out->root;
    if (root == NULL || root->type != ST_JSON_OBJECT) return st_fail(err, ST_EFORMAT, "entry: not a JSON object");

    /* v first: a different version may change any other meaning [ENTRY-7], [ENTRY-9]. */
    const st_json *v = st_json_get(root, "v");
    int64_t ver;
    if (!v) return st_fail(err, ST_EFORMAT, "entry: member \"v\" missing");
    if (v->type != ST_JSON_NUMBER || st_json_as_i64(v, &ver) != 0)
        return st_fail(err, ST_EFORMAT, "entry: member \"v\" is not an integer");
    if (ver != ST_ENTRY_VERSION)
        return st_fail(err, ST_EVERSION, "entry: version %lld, this reader knows %d", (long long)ver, ST_ENTRY_VERSION);

    if (get_uint(root, "index", &out->index) != 0)
        return st_fail(err, ST_EFORMAT, "entry: member \"index\" missing or not an integer >= 0");
    const st_json *t = st_json_get(root, "time_us");
    if (!t || t->type != ST_JSON_NUMBER || st_json_as_i64(t, &out->time_us) != 0)
        return st_fail(err, ST_EFORMAT, "entry: member \"time_us\" missing or not an integer");
    const st_json *k = st_json_get(root, "kind");
    if (!k || k->type != ST_JSON_STRING)
        return st_fail(err, ST_EFORMAT, "entry: member \"kind\" missing or not a string");
    if (k->len == 0 || memchr(k->str, 0, k->len) != NULL)
        return st_fail(err, ST_EFORMAT, "entry: member \"kind\" is empty or contains NUL");
    out->kind = k->str;

    const st_json *pl = st_json_get(root, "payloads");
    if (pl) {
        if (pl->type != ST_JSON_OBJECT) return st_fail(err, ST_EFORMAT, "entry: \"payloads\" is not an object");
        if (pl->count > ST_ENTRY_MAX_PAYLOADS)
            return st_fail(err, ST_EFORMAT, "entry: %zu payloads, at most %u allowed", pl->count, ST_ENTRY_MAX_PAYLOADS);
        for (const st_json *m = pl->child; m; m = m->next) {
            if (out->npayloads >= ST_ENTRY_MAX_PAYLOADS)
                return st_fail(err, ST_EFORMAT, "entry: more than %u payloads", ST_ENTRY_MAX_PAYLOADS);
            int rc = parse_payload(&out->payloads[out->npayloads], m, err);
            if (rc != 0) return rc;
            out->npayloads++;
        }
    }
    return check_optional_types(root, err);
}

int st_entry_parse(st_entry *out, const uint8_t *bytes, size_t len, st_err *err)
{
    memset(out, 0, sizeof *out);
    if (bytes == NULL && len > 0) return st_fail(err, ST_EINVAL, "entry: no bytes");
    if (len > ST_ENTRY_MAX)
        return st_fail(err, ST_ETOOBIG, "entry: %zu bytes, over the limit of %u [ENTRY-6]", len, ST_ENTRY_MAX);
    st_json_doc *doc = NULL;
    int rc = st_json_parse_canonical(&doc, bytes ? bytes : (const uint8_t *)"", len, ENTRY_MAX_DEPTH, err);
    if (rc != 0) {
        st_json_doc_free(doc);
        return rc;
    }
    out->doc = doc;
    out->root = st_json_doc_root(doc);
    rc = entry_check(out, err);
    if (rc != 0) st_entry_free(out);
    return rc;
}

void st_entry_free(st_entry *e)
{
    if (e == NULL) return;
    st_json_doc_free(e->doc);
    memset(e, 0, sizeof *e);
}

const st_entry_payload *st_entry_find_payload(const st_entry *e, const char *name)
{
    if (e == NULL || name == NULL) return NULL;
    for (size_t i = 0; i < e->npayloads; i++)
        if (strcmp(e->payloads[i].name, name) == 0) return &e->payloads[i];
    return NULL;
}
