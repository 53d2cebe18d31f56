/*
 * test_blobs.c: large JSON string literals stored once in `blobs`, their
 * reference counts in `blob_refs` (format version 4; store/payload.c), the
 * counts older stores keep at the head of the blob row, and what `check`
 * finds wrong with either.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <zstd.h>

#include "db.h"
#include "import.h"
#include "payload.h"
#include "retention.h"
#include "store_int.h"
#include "testutil.h"

#define LIT_LEN 9000   /* content characters of the shared literal: its row spans overflow pages */

static char *dir;
static char content[LIT_LEN + 1];     /* the shared file content */
static uint8_t key[32];              /* SHA-256 of "content" with its quotes: the blob's key */

static void setup_content(char fill)
{
    for (size_t i = 0; i < LIT_LEN; i++) content[i] = (char)(fill + i % 23);
    content[LIT_LEN] = 0;
    char *lit = malloc(LIT_LEN + 3);
    ck_assert_ptr_nonnull(lit);
    snprintf(lit, LIT_LEN + 3, "\"%s\"", content);
    crypto_hash_sha256(key, (const uint8_t *)lit, LIT_LEN + 2);   /* libsodium: not the code under test */
    free(lit);
}

/* Appends one Write event (alone, as the hook does) whose tool_input holds
 * the shared content (and no file_path: the record carries no parsed
 * input for the path index); the append's result, *at its index. */
static int try_append_write(st_store *s, const char *path, uint64_t *at)
{
    static char input[LIT_LEN + 200];
    snprintf(input, sizeof input, "{\"content\":\"%s\",\"note\":\"%s\"}", content, path);
    st_json_doc *doc = st_json_doc_new();
    st_json *m = st_json_new_object(doc);
    ck_assert_int_eq(st_json_object_add(doc, m, "kind", 4, st_json_new_str(doc, "event")), 0);
    ck_assert_int_eq(st_json_object_add(doc, m, "tool", 4, st_json_new_str(doc, "Write")), 0);
    st_record_in r;
    memset(&r, 0, sizeof r);
    r.meta = m;
    r.npayloads = 1;
    r.payloads[0] = (st_payload_in){ .name = "tool_input", .data = (const uint8_t *)input, .len = strlen(input) };
    int rc = st_append_records(s, &r, 1, at);
    st_json_doc_free(doc);
    return rc;
}

static uint64_t append_write(st_store *s, const char *path)
{
    uint64_t at;
    int rc = try_append_write(s, path, &at);
    ck_assert_msg(rc == 0, "append: %s", st_store_error(s));
    return at;
}

/* What the two tables hold for the shared blob. */
typedef struct blob_state {
    int have_blob, have_refs;
    uint32_t head;            /* the count at the head of the blob row */
    uint64_t refs;            /* the blob_refs row */
    uint64_t count;           /* st_payload_blob_count, or UINT64_MAX on error */
    uint64_t nblobs, nrefs;   /* rows in each table */
} blob_state;

static blob_state read_state(st_store *s)
{
    blob_state b = { 0 };
    st_txn *txn;
    const void *v;
    size_t vl;
    ck_assert_int_eq(st_db_read_begin(s->db, &txn, NULL), 0);
    if (st_db_get(txn, ST_T_BLOBS, key, 32, &v, &vl) == 0) {
        ck_assert_uint_ge(vl, 4);
        b.have_blob = 1;
        b.head = st_be32_get(v);
    }
    if (st_db_get(txn, ST_T_BLOB_REFS, key, 32, &v, &vl) == 0) {
        ck_assert_uint_eq(vl, 8);
        b.have_refs = 1;
        b.refs = st_be64_get(v);
    }
    if (st_payload_blob_count(txn, key, &b.count) != 0) b.count = UINT64_MAX;
    ck_assert_int_eq(st_db_count(txn, ST_T_BLOBS, &b.nblobs), 0);
    ck_assert_int_eq(st_db_count(txn, ST_T_BLOB_REFS, &b.nrefs), 0);
    st_db_read_end(txn);
    return b;
}

static void assert_reads_back(st_store *s, uint64_t index)
{
    st_txn *txn;
    uint8_t salt[ST_SALT_BYTES], *data;
    size_t len;
    ck_assert_int_eq(st_db_read_begin(s->db, &txn, NULL), 0);
    ck_assert_int_eq(st_payload_read(txn, index, "tool_input", salt, &data, &len), 0);
    st_db_read_end(txn);
    ck_assert_ptr_nonnull(memmem(data, len, content, LIT_LEN));
    free(data);
}

static void assert_check(st_store *s, const char *want)
{
    int rc = st_check(s);
    if (!want) {
        ck_assert_msg(rc == 0, "check: %s", st_store_error(s));
        return;
    }
    ck_assert_int_eq(rc, ST_ECORRUPT);
    ck_assert_msg(strstr(st_store_error(s), want), "check said \"%s\", wanted \"%s\"", st_store_error(s), want);
}

/* ---- raw edits of the two tables (the store closed) ---- */

typedef struct edit {
    st_table t;
    const uint8_t *k;
    size_t kl;
    const void *v;            /* NULL: delete */
    size_t vl;
} edit;

static int apply_edit(st_txn *txn, void *ctx)
{
    const edit *e = ctx;
    if (!e->v) return st_db_del(txn, e->t, e->k, e->kl);
    return st_db_put(txn, e->t, e->k, e->kl, e->v, e->vl, 0);
}

static void edit_table(st_table t, const uint8_t *k, size_t kl, const void *v, size_t vl)
{
    st_db *db;
    edit e = { t, k, kl, v, vl };
    ck_assert_int_eq(st_db_open(&db, dir, 0, NULL), 0);
    ck_assert_int_eq(st_db_write(db, apply_edit, &e, NULL), 0);
    st_db_close(db);
}

/* The blob row's value with its head set to `head`. */
static uint8_t *blob_value_with_head(st_store *s, uint32_t head, size_t *vl)
{
    st_txn *txn;
    const void *v;
    ck_assert_int_eq(st_db_read_begin(s->db, &txn, NULL), 0);
    ck_assert_int_eq(st_db_get(txn, ST_T_BLOBS, key, 32, &v, vl), 0);
    uint8_t *copy = malloc(*vl);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, v, *vl);
    st_db_read_end(txn);
    st_be32_put(copy, head);
    return copy;
}

/* Rewrites the shared blob as a store of format version 3 kept it: its
 * count at the head of its row, no blob_refs row. */
static st_store *make_old_layout(st_store *s, uint32_t count)
{
    size_t vl;
    uint8_t *v = blob_value_with_head(s, count, &vl);
    st_store_close(s);
    edit_table(ST_T_BLOBS, key, 32, v, vl);
    edit_table(ST_T_BLOB_REFS, key, 32, NULL, 0);
    free(v);
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_NOSYSLOG | ST_OPEN_NOSEAL), 0);
    return s;
}

/* Opens the store again (closed for a raw edit). */
static st_store *reopen(void)
{
    st_store *s;
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_NOSYSLOG | ST_OPEN_NOSEAL), 0);
    return s;
}

static void teardown(st_store *s)
{
    st_store_close(s);
    tu_rmrf(dir);
    free(dir);
}

static void erase_input(st_store *s, uint64_t index)
{
    static const char *const names[] = { "tool_input" };
    st_erase_opts o = { .index = index, .names = names, .nnames = 1, .reason = "test", .no_compact = 1 };
    st_erase_result r;
    ck_assert_msg(st_erase(s, &o, &r) == 0, "erase: %s", st_store_error(s));
}

/* Three Writes of the same content: one blob row, written once with head 0,
 * and a count row that goes 1, 2, 3; the blob's key is the SHA-256 of the
 * literal (libsodium's; the append hashes it alongside the payload's
 * commitment); every payload reads back and check passes. */
START_TEST(references_are_counted_apart)
{
    setup_content('a');
    st_store *s = tu_store_fresh("example.com/blobs", &dir);
    size_t first_len = 0;
    uint8_t *first = NULL;
    for (uint64_t n = 1; n <= 3; n++) {
        uint64_t at = append_write(s, n == 2 ? "/b" : "/a");
        blob_state b = read_state(s);
        ck_assert(b.have_blob && b.have_refs);
        ck_assert_uint_eq(b.head, 0);
        ck_assert_uint_eq(b.refs, n);
        ck_assert_uint_eq(b.count, n);
        ck_assert_uint_eq(b.nblobs, 1);
        ck_assert_uint_eq(b.nrefs, 1);
        size_t vl;
        uint8_t *v = blob_value_with_head(s, 0, &vl);
        if (!first) {
            first = v;
            first_len = vl;
        } else {                                   /* the row as first written */
            ck_assert_uint_eq(vl, first_len);
            ck_assert_mem_eq(v, first, vl);
            free(v);
        }
        assert_reads_back(s, at);
    }
    free(first);
    assert_check(s, NULL);
    teardown(s);
}
END_TEST

/* Erasing the references one by one counts down; the last takes both rows. */
START_TEST(erase_counts_down)
{
    setup_content('c');
    st_store *s = tu_store_fresh("example.com/blobs", &dir);
    uint64_t at[3];
    for (int i = 0; i < 3; i++) at[i] = append_write(s, "/a");
    erase_input(s, at[1]);
    blob_state b = read_state(s);
    ck_assert_uint_eq(b.count, 2);
    ck_assert_uint_eq(b.refs, 2);
    assert_check(s, NULL);
    assert_reads_back(s, at[0]);
    erase_input(s, at[0]);
    erase_input(s, at[2]);
    b = read_state(s);
    ck_assert(!b.have_blob && !b.have_refs);
    ck_assert_uint_eq(b.nblobs, 0);
    ck_assert_uint_eq(b.nrefs, 0);
    assert_check(s, NULL);
    teardown(s);
}
END_TEST

/* A blob an older release stored (count 2 at the head of its row, no count
 * row) is counted from its head; a new reference moves the count to
 * blob_refs and leaves the head alone; erasing a reference of an old blob
 * keeps its count where it was (the store stays readable by that release). */
START_TEST(older_blob_counts)
{
    setup_content('e');
    st_store *s = tu_store_fresh("example.com/blobs", &dir);
    uint64_t at[4];
    for (int i = 0; i < 2; i++) at[i] = append_write(s, "/a");
    s = make_old_layout(s, 2);
    blob_state b = read_state(s);
    ck_assert(b.have_blob && !b.have_refs);
    ck_assert_uint_eq(b.count, 2);
    assert_check(s, NULL);
    at[2] = append_write(s, "/a");                    /* a new reference */
    b = read_state(s);
    ck_assert(b.have_refs);
    ck_assert_uint_eq(b.head, 2);
    ck_assert_uint_eq(b.refs, 3);
    ck_assert_uint_eq(b.count, 3);
    assert_check(s, NULL);
    assert_reads_back(s, at[2]);

    s = make_old_layout(s, 3);                        /* old again: erase counts down the head */
    erase_input(s, at[0]);
    b = read_state(s);
    ck_assert(b.have_blob && !b.have_refs);
    ck_assert_uint_eq(b.head, 2);
    ck_assert_uint_eq(b.count, 2);
    assert_check(s, NULL);
    erase_input(s, at[1]);
    erase_input(s, at[2]);
    b = read_state(s);
    ck_assert(!b.have_blob && !b.have_refs);
    assert_check(s, NULL);
    at[3] = append_write(s, "/a");                    /* stored anew, counted apart */
    b = read_state(s);
    ck_assert_uint_eq(b.head, 0);
    ck_assert_uint_eq(b.refs, 1);
    assert_check(s, NULL);
    teardown(s);
}
END_TEST

/* An import stores the blobs of its lines (prepared two records at a time)
 * under the same keys, and counts them with the hook's. */
START_TEST(import_shares_blobs)
{
    setup_content('g');
    st_store *s = tu_store_fresh("example.com/blobs", &dir);
    append_write(s, "/a");
    char path[4096];
    snprintf(path, sizeof path, "%s/in.jsonl", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    enum { LINES = 7 };
    for (int i = 0; i < LINES; i++)
        fprintf(f, "{\"timestamp\":\"2025-01-01T00:00:0%dZ\",\"toolName\":\"Write\",\"input\":{\"content\":\"%s\","
                   "\"file_path\":\"/a\"},\"output\":{\"ok\":true},\"status\":\"success\"}\n", i, content);
    fclose(f);
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    st_import_opts o = { 0 };
    st_import_result r;
    st_err err;
    ck_assert_msg(st_import_fd(s, fd, &o, &r, &err) == 0, "import: %s", err.msg);
    close(fd);
    ck_assert_uint_eq(r.imported, LINES);
    blob_state b = read_state(s);
    ck_assert_uint_eq(b.nblobs, 1);
    ck_assert_uint_eq(b.count, LINES + 1);
    for (uint64_t i = r.first_index; i <= r.last_index; i++) assert_reads_back(s, i);
    assert_check(s, NULL);
    teardown(s);
}
END_TEST

/* check names a count that disagrees with the references, a count row
 * without its blob, a blob with no count, a blob nobody references, a blob
 * whose content is not what its key says, and a key of the wrong length. */
START_TEST(check_finds_bad_counts)
{
    setup_content('i');
    st_store *s = tu_store_fresh("example.com/blobs", &dir);
    for (int i = 0; i < 2; i++) append_write(s, "/a");
    assert_check(s, NULL);
    uint8_t v8[8];

    st_store_close(s);
    st_be64_put(v8, 5);
    edit_table(ST_T_BLOB_REFS, key, 32, v8, 8);
    s = reopen();
    assert_check(s, "reference count 5, but the payloads hold 2");
    st_be64_put(v8, 0);
    st_store_close(s);
    edit_table(ST_T_BLOB_REFS, key, 32, v8, 8);
    s = reopen();
    assert_check(s, "reference count is missing, zero or malformed");
    st_store_close(s);
    edit_table(ST_T_BLOB_REFS, key, 32, NULL, 0);     /* head 0, no count row */
    s = reopen();
    assert_check(s, "reference count is missing, zero or malformed");
    st_store_close(s);
    st_be64_put(v8, 2);
    edit_table(ST_T_BLOB_REFS, key, 32, v8, 8);
    s = reopen();
    assert_check(s, NULL);                             /* repaired */

    uint8_t other[32];
    memcpy(other, key, 32);
    other[31] ^= 1;
    st_store_close(s);
    edit_table(ST_T_BLOB_REFS, other, 32, v8, 8);      /* a count for a blob not stored */
    s = reopen();
    assert_check(s, "blob_refs table: the count of blob");
    st_store_close(s);
    edit_table(ST_T_BLOB_REFS, other, 32, NULL, 0);

    /* A second, well-formed blob that no payload references. */
    static char lone[5000];
    memset(lone, 'z', sizeof lone);
    lone[0] = lone[sizeof lone - 1] = '"';
    uint8_t lone_key[32];
    crypto_hash_sha256(lone_key, (const uint8_t *)lone, sizeof lone);
    size_t cap = 4 + ZSTD_compressBound(sizeof lone);
    uint8_t *row = malloc(cap);
    ck_assert_ptr_nonnull(row);
    st_be32_put(row, 1);
    size_t zn = ZSTD_compress(row + 4, cap - 4, lone, sizeof lone, 3);
    ck_assert(!ZSTD_isError(zn));
    edit_table(ST_T_BLOBS, lone_key, 32, row, 4 + zn);
    s = reopen();
    assert_check(s, "reference count 1, but the payloads hold 0");
    st_store_close(s);
    edit_table(ST_T_BLOBS, lone_key, 32, NULL, 0);

    /* Our blob's content swapped for the lone one's: its key no longer fits
     * (the payloads' commitments catch it first, or the blob check does). */
    st_be32_put(row, 0);
    edit_table(ST_T_BLOBS, key, 32, row, 4 + zn);
    s = reopen();
    ck_assert_int_eq(st_check(s), ST_ECORRUPT);
    st_store_close(s);
    free(row);

    /* And a key of the wrong length. */
    edit_table(ST_T_BLOBS, key, 31, "x", 1);
    s = reopen();
    ck_assert_int_eq(st_check(s), ST_ECORRUPT);
    teardown(s);
}
END_TEST

/* A count row whose blob is gone is damage: a new reference to that blob
 * is refused (nothing appended) instead of counting a blob that is not
 * there. */
START_TEST(count_without_blob_refuses_append)
{
    setup_content('m');
    st_store *s = tu_store_fresh("example.com/blobs", &dir);
    append_write(s, "/a");
    st_store_close(s);
    edit_table(ST_T_BLOBS, key, 32, NULL, 0);
    s = reopen();
    uint64_t at;
    ck_assert_int_eq(try_append_write(s, "/a", &at), ST_ECORRUPT);
    st_status st;
    ck_assert_int_eq(st_store_status(s, &st), 0);
    ck_assert_uint_eq(st.size, 1);
    blob_state b = read_state(s);
    ck_assert_uint_eq(b.refs, 1);
    teardown(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("blobs");
    TCase *tc = tcase_create("blobs");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, references_are_counted_apart);
    tcase_add_test(tc, erase_counts_down);
    tcase_add_test(tc, older_blob_counts);
    tcase_add_test(tc, import_shares_blobs);
    tcase_add_test(tc, check_finds_bad_counts);
    tcase_add_test(tc, count_without_blob_refuses_append);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
