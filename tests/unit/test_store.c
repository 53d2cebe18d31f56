/*
 * test_store.c: the store end to end through the library: init, append,
 * seal, proofs (generated from stored nodes, checked by the independent
 * verifier), check, tamper detection with raw LMDB writes, map growth,
 * concurrent appenders in separate processes, bad input, and appends
 * mixed with other changes to a table in one transaction.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "merkle.h"
#include "note.h"
#include "payload.h"
#include "retention.h"
#include "store_int.h"
#include "testutil.h"

static char *dir;

static int flip(st_txn *txn, void *a);
static int put_other(st_txn *txn, void *a);
static int del_payload(st_txn *txn, void *a);

static void setup(void)
{
    ck_assert(sodium_init() >= 0);
    setenv("SEALTRAIL_NO_SYSLOG", "1", 1);
    dir = tu_tmpdir();
    ck_assert_ptr_nonnull(dir);
}

static void teardown(void)
{
    tu_rmrf(dir);
    free(dir);
}

static st_store *make_store(uint64_t seal_n)
{
    char vkey[ST_VKEY_MAX];
    st_init_opts o = { .origin = "example.com/test-log", .seal_max_entries = seal_n, .seal_max_age_us = 3600LL * 1000000 };
    ck_assert_int_eq(st_store_init(dir, &o, vkey), 0);
    ck_assert(strncmp(vkey, "example.com/test-log+", 21) == 0);
    st_store *s;
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_NOSYSLOG), 0);
    return s;
}

/* Appends n simple records with a tool_input payload; returns the first index. */
static uint64_t append_n(st_store *s, size_t n, const char *tool)
{
    st_json_doc *doc = st_json_doc_new();
    st_record_in *recs = calloc(n, sizeof *recs);
    char (*bufs)[64] = calloc(n, 64);
    for (size_t i = 0; i < n; i++) {
        st_json *m = st_json_new_object(doc);
        ck_assert_int_eq(st_json_object_add(doc, m, "kind", 4, st_json_new_str(doc, "event")), 0);
        ck_assert_int_eq(st_json_object_add(doc, m, "tool", 4, st_json_new_str(doc, tool)), 0);
        ck_assert_int_eq(st_json_object_add(doc, m, "event", 5, st_json_new_str(doc, "PostToolUse")), 0);
        snprintf(bufs[i], 64, "{\"command\":\"echo %zu\"}", i);
        recs[i].meta = m;
        recs[i].npayloads = 1;
        recs[i].payloads[0].name = "tool_input";
        recs[i].payloads[0].data = (const uint8_t *)bufs[i];
        recs[i].payloads[0].len = strlen(bufs[i]);
    }
    uint64_t first = 0;
    int rc = st_append_records(s, recs, n, &first);
    ck_assert_msg(rc == 0, "append: %s: %s", st_strerror(rc), st_store_error(s));
    free(bufs);
    free(recs);
    st_json_doc_free(doc);
    return first;
}

START_TEST(init_append_seal_check)
{
    st_store *s = make_store(1000000);
    ck_assert_uint_eq(append_n(s, 5, "Bash"), 0);
    ck_assert_uint_eq(append_n(s, 3, "Edit"), 5);
    char *note;
    size_t len;
    ck_assert_int_eq(st_checkpoint_latest(s, &note, &len), ST_ENOTFOUND);
    ck_assert_int_eq(st_seal(s, &note, &len), 0);
    st_note n;
    st_checkpoint cp;
    ck_assert_int_eq(st_note_parse(&n, note, len, NULL), 0);
    ck_assert_int_eq(st_checkpoint_parse(&cp, n.text, n.text_len, NULL), 0);
    ck_assert_uint_eq(cp.size, 8);
    ck_assert_str_eq(cp.origin, "example.com/test-log");
    st_vkey vk;
    ck_assert_int_eq(st_vkey_parse(&vk, st_store_vkey(s), strlen(st_store_vkey(s)), NULL), 0);
    ck_assert_int_eq(st_note_verify(&n, &vk, 1, NULL, NULL), 0);
    /* The root is the RFC 6962 root of the entry bytes. */
    st_frontier f;
    st_frontier_init(&f);
    for (uint64_t i = 0; i < 8; i++) {
        uint8_t *b;
        size_t bl;
        ck_assert_int_eq(st_entry_get(s, i, &b, &bl), 0);
        st_entry e;
        ck_assert_int_eq(st_entry_parse(&e, b, bl, NULL), 0);
        ck_assert_uint_eq(e.index, i);
        st_entry_free(&e);
        st_hash lh;
        st_leaf_hash(lh, b, bl);
        st_frontier_push_leaf(&f, lh);
        free(b);
    }
    st_hash root;
    st_frontier_root(&f, root);
    ck_assert_mem_eq(root, cp.root, 32);
    /* Sealing again with nothing new returns the same checkpoint. */
    char *note2;
    size_t len2;
    ck_assert_int_eq(st_seal(s, &note2, &len2), 0);
    ck_assert_uint_eq(len, len2);
    ck_assert_mem_eq(note, note2, len);
    free(note);
    free(note2);
    /* Payload round trip and commitment. */
    uint8_t *p, salt[16];
    size_t pl;
    ck_assert_int_eq(st_payload_get(s, 6, "tool_input", &p, &pl, salt), 0);
    ck_assert_uint_eq(pl, strlen("{\"command\":\"echo 1\"}"));
    ck_assert_mem_eq(p, "{\"command\":\"echo 1\"}", pl);
    free(p);
    ck_assert_int_eq(st_payload_get(s, 6, "tool_response", &p, &pl, salt), ST_ENOTFOUND);
    ck_assert_int_eq(st_check(s), 0);
    st_store_close(s);
}
END_TEST

START_TEST(init_refuses_existing_store)
{
    st_store *s = make_store(1000);
    st_store_close(s);
    char vkey[ST_VKEY_MAX];
    ck_assert_int_eq(st_store_init(dir, NULL, vkey), ST_EEXIST);
    struct stat st;
    ck_assert_int_eq(stat(dir, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0700);
    char path[4096];
    snprintf(path, sizeof path, "%s/log.key", dir);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0077, 0);
}
END_TEST

/* Every inclusion and consistency proof at every size up to 70 verifies with the RFC 9162 verifier. */
START_TEST(proofs_verify_at_all_sizes)
{
    st_store *s = make_store(1000000);
    for (uint64_t size = 1; size <= 70; size++) {
        append_n(s, 1, "Read");
        st_hash root;
        ck_assert_int_eq(st_tree_root(s, size, root), 0);
        for (uint64_t i = 0; i < size; i++) {
            uint8_t *h, r[32], leaf[32];
            size_t n;
            ck_assert_int_eq(st_prove_inclusion(s, i, size, &h, &n, r, leaf), 0);
            ck_assert_mem_eq(r, root, 32);
            ck_assert_int_eq(st_verify_inclusion(i, size, leaf, (const st_hash *)h, n, root), 0);
            if (n) {   /* a flipped bit must fail */
                h[0] ^= 1;
                ck_assert_int_ne(st_verify_inclusion(i, size, leaf, (const st_hash *)h, n, root), 0);
            }
            free(h);
        }
        for (uint64_t m = 1; m <= size; m++) {
            uint8_t *h, a[32], b[32];
            size_t n;
            ck_assert_int_eq(st_prove_consistency(s, m, size, &h, &n, a, b), 0);
            ck_assert_int_eq(st_verify_consistency(m, size, a, b, (const st_hash *)h, n), 0);
            free(h);
        }
    }
    uint8_t *h, r[32], leaf[32];
    size_t n;
    ck_assert_int_eq(st_prove_inclusion(s, 70, 70, &h, &n, r, leaf), ST_EINVAL);
    ck_assert_int_eq(st_prove_inclusion(s, 0, 71, &h, &n, r, leaf), ST_EINVAL);
    st_store_close(s);
}
END_TEST

START_TEST(seal_policy_after_n_entries)
{
    st_store *s = make_store(10);
    append_n(s, 9, "Bash");
    st_status st;
    ck_assert_int_eq(st_store_status(s, &st), 0);
    ck_assert_uint_eq(st.sealed_size, 0);
    append_n(s, 1, "Bash");
    ck_assert_int_eq(st_store_status(s, &st), 0);
    ck_assert_uint_eq(st.sealed_size, 10);
    ck_assert_uint_eq(st.checkpoints, 1);
    append_n(s, 25, "Bash");    /* one transaction of 25: sealed at its end */
    ck_assert_int_eq(st_store_status(s, &st), 0);
    ck_assert_uint_eq(st.sealed_size, 35);
    ck_assert_int_eq(st_check(s), 0);
    st_store_close(s);
}
END_TEST

START_TEST(seal_policy_after_t_seconds)
{
    st_store *s = make_store(1000000);   /* age limit: 1 hour */
    setenv("SEALTRAIL_FAKE_TIME", "2026-01-01T00:00:00Z", 1);
    append_n(s, 1, "Bash");
    setenv("SEALTRAIL_FAKE_TIME", "2026-01-01T00:59:00Z", 1);
    append_n(s, 1, "Bash");
    st_status st;
    ck_assert_int_eq(st_store_status(s, &st), 0);
    ck_assert_uint_eq(st.sealed_size, 0);
    setenv("SEALTRAIL_FAKE_TIME", "2026-01-01T01:00:01Z", 1);
    append_n(s, 1, "Bash");
    ck_assert_int_eq(st_store_status(s, &st), 0);
    ck_assert_uint_eq(st.sealed_size, 3);
    unsetenv("SEALTRAIL_FAKE_TIME");
    st_store_close(s);
}
END_TEST

/* Raw LMDB write: replace the value of (table, key) with f(value). */
static void raw_flip(st_table t, const void *key, size_t klen, size_t byte)
{
    st_db *db;
    ck_assert_int_eq(st_db_open(&db, dir, 0, NULL), 0);
    struct { const void *k; size_t kl; size_t byte; st_table t; } arg = { key, klen, byte, t };
    ck_assert_int_eq(st_db_write(db, flip, &arg, NULL), 0);
    st_db_close(db);
}

static int flip(st_txn *txn, void *a)
{
    struct { const void *k; size_t kl; size_t byte; st_table t; } *arg = a;
    const void *v;
    size_t vl;
    int rc = st_db_get(txn, arg->t, arg->k, arg->kl, &v, &vl);
    if (rc) return rc;
    uint8_t *copy = malloc(vl);
    memcpy(copy, v, vl);
    copy[arg->byte % vl] ^= 0x01;
    rc = st_db_put(txn, arg->t, arg->k, arg->kl, copy, vl, 0);
    free(copy);
    return rc;
}

static void expect_check_fails(const char *needle)
{
    st_store *s;
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_RDONLY), 0);
    int rc = st_check(s);
    ck_assert_int_eq(rc, ST_ECORRUPT);
    ck_assert_msg(strstr(st_store_error(s), needle), "check said \"%s\", expected it to mention \"%s\"",
                  st_store_error(s), needle);
    st_store_close(s);
}

static void tamper_setup(void)
{
    st_store *s = make_store(1000000);
    append_n(s, 9, "Bash");
    char *note;
    size_t len;
    ck_assert_int_eq(st_seal(s, &note, &len), 0);
    free(note);
    append_n(s, 4, "Bash");
    ck_assert_int_eq(st_seal(s, &note, &len), 0);
    free(note);
    ck_assert_int_eq(st_check(s), 0);
    st_store_close(s);
}

START_TEST(tamper_entry_byte)
{
    tamper_setup();
    uint8_t key[8];
    st_be64_put(key, 4);
    raw_flip(ST_T_ENTRIES, key, 8, 30);
    expect_check_fails("entry 4");
}
END_TEST

static st_store *open_store(void)
{
    st_store *s;
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_NOSYSLOG), 0);
    return s;
}

static int put_raw(st_txn *txn, void *a)
{
    struct { st_table t; const void *k; size_t kl; const void *v; size_t vl; } *arg = a;
    return st_db_put(txn, arg->t, arg->k, arg->kl, arg->v, arg->vl, 0);
}

/* Writes a tree leaf row for entry i, as a store of format version 2 kept them. */
static void put_leaf_row(uint64_t i, const st_hash h)
{
    st_db *db;
    uint8_t key[8];
    st_tree_node_key(key, 0, i);
    struct { st_table t; const void *k; size_t kl; const void *v; size_t vl; } arg = { ST_T_TREE, key, 8, h, ST_HASH_BYTES };
    ck_assert_int_eq(st_db_open(&db, dir, 0, NULL), 0);
    ck_assert_int_eq(st_db_write(db, put_raw, &arg, NULL), 0);
    st_db_close(db);
}

static uint64_t tree_rows(void)
{
    st_db *db;
    st_txn *txn;
    uint64_t n = 0;
    ck_assert_int_eq(st_db_open(&db, dir, ST_DB_RDONLY, NULL), 0);
    ck_assert_int_eq(st_db_read_begin(db, &txn, NULL), 0);
    ck_assert_int_eq(st_db_count(txn, ST_T_TREE, &n), 0);
    st_db_read_end(txn);
    st_db_close(db);
    return n;
}

/* Leaf hashes are not stored (tree.c): 13 entries leave the 13 - popcount(13)
 * interior nodes. A changed entry that still reads as one shows where the
 * level-1 node over it no longer matches, naming both its entries. */
START_TEST(tamper_entry_under_level_1)
{
    tamper_setup();
    ck_assert_uint_eq(tree_rows(), 13 - 3);
    st_store *s = open_store();
    uint8_t *e;
    size_t el;
    ck_assert_int_eq(st_entry_get(s, 6, &e, &el), 0);
    char *text = malloc(el + 1);
    memcpy(text, e, el);
    text[el] = 0;
    free(e);
    st_store_close(s);
    char *tool = strstr(text, "\"tool\":\"Bash\"");
    ck_assert_ptr_nonnull(tool);
    tool[9] = 'C';                                   /* "Cash": still an entry, and the same length */
    uint8_t key[8];
    st_be64_put(key, 6);
    struct { st_table t; const void *k; size_t kl; const void *v; size_t vl; } arg = { ST_T_ENTRIES, key, 8, text, el };
    st_db *db;
    ck_assert_int_eq(st_db_open(&db, dir, 0, NULL), 0);
    ck_assert_int_eq(st_db_write(db, put_raw, &arg, NULL), 0);
    st_db_close(db);
    free(text);
    expect_check_fails("entry 6 or entry 7: their leaf hashes give");
}
END_TEST

/* A leaf row that a store of format version 2 kept must agree with its entry. */
START_TEST(tamper_tree_leaf)
{
    tamper_setup();
    st_store *s = open_store();
    st_hash root;
    ck_assert_int_eq(st_tree_node(s, 0, 6, root), 0);   /* entry 6's leaf hash, computed */
    st_store_close(s);
    put_leaf_row(6, root);
    s = open_store();
    ck_assert_msg(st_check(s) == 0, "a leaf row that agrees: %s", st_store_error(s));
    st_store_close(s);
    root[3] ^= 1;
    put_leaf_row(6, root);
    expect_check_fails("entry 6: leaf hash mismatch");
}
END_TEST

/* Compaction leaves out the leaf rows an older store kept. */
START_TEST(compaction_drops_leaf_rows)
{
    tamper_setup();
    st_store *s = open_store();
    st_hash h[13];
    for (uint64_t i = 0; i < 13; i++) ck_assert_int_eq(st_tree_node(s, 0, i, h[i]), 0);
    st_store_close(s);
    for (uint64_t i = 0; i < 13; i++) put_leaf_row(i, h[i]);
    ck_assert_uint_eq(tree_rows(), 13 + 10);
    s = open_store();
    uint64_t b, a;
    ck_assert_msg(st_store_compact(s, 0, &b, &a) == 0, "compact: %s", st_store_error(s));
    st_store_close(s);
    ck_assert_uint_eq(tree_rows(), 10);
    s = open_store();
    ck_assert_msg(st_check(s) == 0, "after compaction: %s", st_store_error(s));
    st_store_close(s);
}
END_TEST

START_TEST(tamper_tree_interior)
{
    tamper_setup();
    uint8_t key[8];
    st_tree_node_key(key, 2, 1);     /* level 2, position 1: leaves 4..7 */
    raw_flip(ST_T_TREE, key, 8, 0);
    expect_check_fails("tree node (level 2, position 1)");
}
END_TEST

START_TEST(tamper_checkpoint)
{
    tamper_setup();
    uint8_t key[8];
    st_be64_put(key, 9);
    raw_flip(ST_T_CHECKPOINTS, key, 8, 40);
    expect_check_fails("checkpoint");
}
END_TEST

START_TEST(tamper_payload)
{
    tamper_setup();
    /* Replace payload 3's bytes (re-encoded validly) with different content: the commitment catches it. */
    st_db *db;
    ck_assert_int_eq(st_db_open(&db, dir, 0, NULL), 0);
    ck_assert_int_eq(st_db_write(db, put_other, NULL, NULL), 0);
    st_db_close(db);
    expect_check_fails("entry 3: payload \"tool_input\": commitment mismatch");
}
END_TEST

static int put_other(st_txn *txn, void *a)
{
    (void)a;
    uint8_t salt[16];
    uint8_t *old;
    size_t ol;
    int rc = st_payload_read(txn, 3, "tool_input", salt, &old, &ol);
    if (rc) return rc;
    old[ol - 3] = '9';   /* "echo 3" -> "echo 9": same length, different bytes */
    rc = st_payload_put(txn, 3, "tool_input", salt, old, ol);
    free(old);
    return rc;
}

START_TEST(tamper_payload_deleted)
{
    tamper_setup();
    st_db *db;
    ck_assert_int_eq(st_db_open(&db, dir, 0, NULL), 0);
    ck_assert_int_eq(st_db_write(db, del_payload, NULL, NULL), 0);
    st_db_close(db);
    expect_check_fails("entry 2: payload \"tool_input\" is missing");
}
END_TEST

static int del_payload(st_txn *txn, void *a)
{
    (void)a;
    return st_payload_delete(txn, 2, "tool_input");
}

START_TEST(map_grows_when_full)
{
    setenv("SEALTRAIL_MAPSIZE", "262144", 1);   /* 256 KiB: must grow many times */
    st_store *s = make_store(1000000);
    for (int k = 0; k < 20; k++) append_n(s, 100, "Write");
    unsetenv("SEALTRAIL_MAPSIZE");
    st_status st;
    ck_assert_int_eq(st_store_status(s, &st), 0);
    ck_assert_uint_eq(st.size, 2000);
    ck_assert_uint_gt(st.map_bytes, 262144);
    ck_assert_int_eq(st_check(s), 0);
    st_store_close(s);
}
END_TEST

/* nproc processes, each opening the store and appending `rounds` batches of
 * `batch` entries of tool tools[p % ntools]; waits for all, asserting each
 * exited 0. */
static void fork_appenders(int nproc, int rounds, size_t batch, const char *const *tools, int ntools)
{
    pid_t pids[8];
    ck_assert_int_le(nproc, 8);
    for (int p = 0; p < nproc; p++) {
        pids[p] = fork();
        ck_assert_int_ge(pids[p], 0);
        if (pids[p] == 0) {
            st_store *cs;
            if (st_store_open(&cs, dir, ST_OPEN_NOSYSLOG) != 0) _exit(1);
            for (int i = 0; i < rounds; i++) append_n(cs, batch, tools[p % ntools]);
            st_store_close(cs);
            _exit(0);
        }
    }
    for (int p = 0; p < nproc; p++) {
        int status;
        ck_assert_int_eq(waitpid(pids[p], &status, 0), pids[p]);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
}

/* 4 processes x 500 single appends: 2000 contiguous entries, valid tree. */
START_TEST(concurrent_appenders)
{
    static const char *const tools[] = { "Edit", "Bash" };
    st_store *s = make_store(1000000);
    st_store_close(s);
    fork_appenders(4, 500, 1, tools, 2);
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_NOSYSLOG), 0);
    st_status st;
    ck_assert_int_eq(st_store_status(s, &st), 0);
    ck_assert_uint_eq(st.size, 2000);
    for (uint64_t i = 0; i < 2000; i++) {
        uint8_t *b;
        size_t bl;
        ck_assert_int_eq(st_entry_get(s, i, &b, &bl), 0);
        free(b);
    }
    char *note;
    size_t len;
    ck_assert_int_eq(st_seal(s, &note, &len), 0);
    free(note);
    ck_assert_int_eq(st_check(s), 0);
    st_store_close(s);
}
END_TEST

/* Entry `index` carries "index":<index> in its canonical bytes. */
static void assert_carries_index(st_store *s, uint64_t index)
{
    uint8_t *b;
    size_t bl;
    char want[48];
    ck_assert_int_eq(st_entry_get(s, index, &b, &bl), 0);
    int n = snprintf(want, sizeof want, "\"index\":%llu,", (unsigned long long)index);
    ck_assert_msg(memmem(b, bl, want, (size_t)n) != NULL, "entry %llu does not carry its own index",
                  (unsigned long long)index);
    free(b);
}

/* Every payload of r, appended as entry `index`, reads back byte for byte. */
static void assert_payloads_read_back(st_store *s, uint64_t index, const st_record_in *r)
{
    for (size_t j = 0; j < r->npayloads; j++) {
        uint8_t *data, salt[ST_SALT_BYTES];
        size_t dl;
        ck_assert_int_eq(st_payload_get(s, index, r->payloads[j].name, &data, &dl, salt), 0);
        ck_assert_uint_eq(dl, r->payloads[j].len);
        ck_assert(memcmp(data, r->payloads[j].data, dl) == 0);
        free(data);
    }
}

/* buf := {"stdout":"lorem ipsum ..."} filling size bytes with its NUL: a
 * tool output big enough to be compressed. */
static void fill_lorem_output(char *buf, size_t size)
{
    memcpy(buf, "{\"stdout\":\"", 11);
    for (size_t i = 11; i < size - 3; i++) buf[i] = "lorem ipsum dolor sit amet "[i % 27];
    memcpy(buf + size - 3, "\"}", 3);
}

/* The metadata of a Write event record. */
static st_json *write_event_meta(st_json_doc *doc)
{
    st_json *m = st_json_new_object(doc);
    ck_assert_int_eq(st_json_object_add(doc, m, "kind", 4, st_json_new_str(doc, "event")), 0);
    ck_assert_int_eq(st_json_object_add(doc, m, "tool", 4, st_json_new_str(doc, "Write")), 0);
    return m;
}

/* r: a Write event record (metadata in doc) with payloads tool_input and
 * tool_response of the given bytes. */
static void write_event_record(st_record_in *r, st_json_doc *doc, const char *input, const char *response, size_t response_len)
{
    memset(r, 0, sizeof *r);
    r->meta = write_event_meta(doc);
    r->npayloads = 2;
    r->payloads[0] = (st_payload_in){ .name = "tool_input", .data = (const uint8_t *)input, .len = strlen(input) };
    r->payloads[1] = (st_payload_in){ .name = "tool_response", .data = (const uint8_t *)response, .len = response_len };
}

/* Batches big enough to be built before the write lock at the index the log
 * size predicts: 3 processes x 5 batches of 100 race, so most predictions
 * go stale and the transaction must rebuild those entries at their real
 * index. Every entry's index member matches its key, and check (tree,
 * payloads, every index row and aggregate) passes. */
START_TEST(concurrent_batch_appenders)
{
    static const char *const tools[] = { "Bash", "Edit", "Read" };
    st_store *s = make_store(1000000);
    st_store_close(s);
    fork_appenders(3, 5, 100, tools, 3);
    ck_assert_int_eq(st_store_open(&s, dir, ST_OPEN_NOSYSLOG), 0);
    st_status st;
    ck_assert_int_eq(st_store_status(s, &st), 0);
    ck_assert_uint_eq(st.size, 1500);
    for (uint64_t i = 0; i < 1500; i++) assert_carries_index(s, i);
    ck_assert_int_eq(st_check(s), 0);
    st_store_close(s);
}
END_TEST

/* A big batch mixing payloads built before the lock (tiny ones stored raw,
 * mid-sized ones compressed) with one that holds a blob-sized string literal
 * (stored inside the transaction, deduplicated): every payload reads back
 * byte for byte. */
START_TEST(batch_payloads_read_back)
{
    st_store *s = make_store(1000000);
    enum { N = 80 };
    st_json_doc *doc = st_json_doc_new();
    st_record_in recs[N];
    static char small[N][64];
    size_t biglen = 9000;
    char *big = malloc(biglen + 1);
    memcpy(big, "{\"content\":\"", 12);
    for (size_t i = 12; i < biglen - 2; i++) big[i] = (char)('a' + i % 26);
    memcpy(big + biglen - 2, "\"}", 2);
    big[biglen] = 0;
    static char mid[700];
    fill_lorem_output(mid, sizeof mid);
    for (size_t i = 0; i < N; i++) {
        snprintf(small[i], sizeof small[i], "{\"command\":\"echo \\\"%zu\\\"\"}", i);
        const char *response = i % 10 == 3 ? big : i % 2 ? mid : small[i];
        write_event_record(&recs[i], doc, small[i], response, i % 10 == 3 ? biglen : strlen(response));
    }
    uint64_t first;
    ck_assert_int_eq(st_append_records(s, recs, N, &first), 0);
    for (size_t i = 0; i < N; i++) assert_payloads_read_back(s, first + i, &recs[i]);
    ck_assert_int_eq(st_check(s), 0);
    st_json_doc_free(doc);
    free(big);
    st_store_close(s);
}
END_TEST

/* Batches of many shapes (the tree's right edge carried across each
 * transaction, entries built before the lock from 64 records up): every
 * tree node equals the hash of its children and every index row matches. */
START_TEST(batches_of_every_shape)
{
    st_store *s = make_store(1000000);
    static const size_t sizes[] = { 1, 2, 3, 64, 65, 127, 300, 1, 63, 255 };
    uint64_t expect = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        ck_assert_uint_eq(append_n(s, sizes[i], i % 2 ? "Bash" : "Edit"), expect);
        expect += sizes[i];
    }
    st_status st;
    ck_assert_int_eq(st_store_status(s, &st), 0);
    ck_assert_uint_eq(st.size, expect);
    ck_assert_int_eq(st_check(s), 0);
    st_store_close(s);
}
END_TEST

/* Records prepared ahead (st_prepare_record, as import's converting thread
 * does) for the index the log size predicts: appended at that index they
 * are used as built; after another writer got in first they are rebuilt at
 * their real index. A record handed over unprepared, one whose payload
 * changed after its preparation and one prepared with no index are
 * prepared or built in the append. Every entry carries its own index,
 * every payload reads back as appended, and check passes. */
START_TEST(prepared_records_append)
{
    st_store *s = make_store(1000000);
    enum { N = 100 };
    st_json_doc *doc = st_json_doc_new();
    static st_record_in recs[N];
    static char small[N][64], mid[700], other[700];
    fill_lorem_output(mid, sizeof mid);
    memcpy(other, mid, sizeof other);
    other[20] = 'X';
    st_payload_zctx *z = st_payload_zctx_new();
    ck_assert_ptr_nonnull(z);
    st_prepared *prep[N];
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < N; i++) {
            snprintf(small[i], sizeof small[i], "{\"command\":\"echo %d.%zu\"}", round, i);
            write_event_record(&recs[i], doc, small[i], mid, strlen(mid));
        }
        st_status st;
        ck_assert_int_eq(st_store_status(s, &st), 0);
        for (size_t i = 0; i < N; i++) {
            uint64_t at = i == 11 ? UINT64_MAX : st.size + i;
            ck_assert_int_eq(st_prepare_record(s, &recs[i], at, i % 2 ? z : NULL, &prep[i]), 0);
        }
        st_prepared_free(prep[7]);
        prep[7] = NULL;                                   /* handed over unprepared */
        recs[9].payloads[1].data = (const uint8_t *)other; /* changed after its preparation */
        uint64_t want = st.size;
        if (round == 1) {                                 /* another writer got in first */
            ck_assert_uint_eq(append_n(s, 5, "Bash"), st.size);
            want += 5;
        }
        uint64_t first;
        int rc = st_append_prepared(s, recs, prep, N, &first);
        ck_assert_msg(rc == 0, "append: %s", st_store_error(s));
        ck_assert_uint_eq(first, want);
        for (size_t i = 0; i < N; i++) {
            assert_carries_index(s, first + i);
            assert_payloads_read_back(s, first + i, &recs[i]);
            st_prepared_free(prep[i]);
        }
        ck_assert_int_eq(st_check(s), 0);
    }
    /* a record that fails validation is not prepared; the append names the error */
    st_json *bad = st_json_new_object(doc);
    ck_assert_int_eq(st_json_object_add(doc, bad, "index", 5, st_json_new_int(doc, 7)), 0);
    st_record_in r = { .meta = bad };
    st_prepared *p = (st_prepared *)&r;
    ck_assert_int_eq(st_prepare_record(s, &r, 0, NULL, &p), ST_EINVAL);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(st_append_prepared(s, &r, &p, 1, NULL), ST_EINVAL);
    ck_assert(strstr(st_store_error(s), "reserved member \"index\""));
    st_payload_zctx_free(z);
    st_json_doc_free(doc);
    st_store_close(s);
}
END_TEST

START_TEST(bad_records_change_nothing)
{
    st_store *s = make_store(1000000);
    append_n(s, 2, "Bash");
    st_json_doc *doc = st_json_doc_new();
    st_json *m = st_json_new_object(doc);
    ck_assert_int_eq(st_json_object_add(doc, m, "kind", 4, st_json_new_str(doc, "event")), 0);
    ck_assert_int_eq(st_json_object_add(doc, m, "index", 5, st_json_new_int(doc, 7)), 0);
    st_record_in r = { .meta = m };
    ck_assert_int_eq(st_append_records(s, &r, 1, NULL), ST_EINVAL);
    ck_assert(strstr(st_store_error(s), "reserved member \"index\""));
    st_json *m2 = st_json_new_object(doc);
    ck_assert_int_eq(st_json_object_add(doc, m2, "kind", 4, st_json_new_str(doc, "event")), 0);
    st_record_in r2 = { .meta = m2, .npayloads = 1 };
    r2.payloads[0].name = "Bad Name";
    r2.payloads[0].data = (const uint8_t *)"x";
    r2.payloads[0].len = 1;
    ck_assert_int_eq(st_append_records(s, &r2, 1, NULL), ST_EINVAL);
    st_json_doc_free(doc);
    st_status st;
    ck_assert_int_eq(st_store_status(s, &st), 0);
    ck_assert_uint_eq(st.size, 2);
    ck_assert_int_eq(st_check(s), 0);
    st_store_close(s);
}
END_TEST

START_TEST(missing_or_loose_key_refuses_seal)
{
    st_store *s = make_store(1000000);
    append_n(s, 1, "Bash");
    char path[4096];
    snprintf(path, sizeof path, "%s/log.key", dir);
    ck_assert_int_eq(chmod(path, 0644), 0);
    char *note;
    size_t len;
    ck_assert_int_eq(st_seal(s, &note, &len), ST_EKEYPERM);
    ck_assert(strstr(st_store_error(s), "0644"));
    ck_assert_int_eq(chmod(path, 0600), 0);
    char moved[4096];
    snprintf(moved, sizeof moved, "%s/log.key.away", dir);
    ck_assert_int_eq(rename(path, moved), 0);
    ck_assert_int_eq(st_seal(s, &note, &len), ST_ENOKEY);
    /* The append path does not lose the event when sealing is impossible. */
    append_n(s, 1, "Bash");
    st_status st;
    ck_assert_int_eq(st_store_status(s, &st), 0);
    ck_assert_uint_eq(st.size, 2);
    ck_assert_uint_eq(st.sealed_size, 0);
    st_store_close(s);
}
END_TEST

START_TEST(open_missing_store)
{
    st_store *s;
    ck_assert_int_eq(st_store_open(&s, dir, 0), ST_ENOTFOUND);
    ck_assert(strstr(st_store_error(s), "sealtrail init"));
    st_store_close(s);
}
END_TEST

/* A path that is a file, or below one, is not "no store here, run init":
 * the error says what it is (ENOTDIR). */
START_TEST(open_store_at_a_file)
{
    char file[4096], below[4104];
    snprintf(file, sizeof file, "%s/f", dir);
    snprintf(below, sizeof below, "%s/sub", file);
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    const char *paths[] = { file, below };
    for (int k = 0; k < 2; k++) {
        st_store *s;
        ck_assert_int_eq(st_store_open(&s, paths[k], 0), ENOTDIR);
        ck_assert_msg(strstr(st_store_error(s), ": not a directory") && !strstr(st_store_error(s), "init"), "%s",
                      st_store_error(s));
        st_store_close(s);
    }
}
END_TEST

/* Post-order keys are strictly increasing in creation order, so tree writes are appends. */
START_TEST(tree_keys_in_creation_order)
{
    uint8_t prev[8] = { 0 }, key[8];
    int first = 1;
    for (uint64_t i = 0; i < 5000; i++) {
        st_tree_node_key(key, 0, i);
        ck_assert(first || memcmp(prev, key, 8) < 0);
        memcpy(prev, key, 8);
        first = 0;
        uint64_t pos = i;
        for (unsigned l = 1; pos & 1; l++) {
            pos >>= 1;
            st_tree_node_key(key, l, pos);
            ck_assert(memcmp(prev, key, 8) < 0);
            memcpy(prev, key, 8);
        }
    }
    /* and the n-th created node has key n - 1: keys are dense */
    ck_assert_uint_eq(st_be64_get(prev) + 1, 2 * 5000 - 5);   /* 2n - popcount(n) nodes for n = 5000 */
}
END_TEST

/* Appends go through a cursor kept at the table's last row (db.c); any
 * other change to the table in the same transaction must not leave it
 * stale: a later append still lands last or is refused. */
static int mixed_puts(st_txn *txn, void *a)
{
    (void)a;
    uint8_t k[8];
    int rc;
#define K(v) (st_be64_put(k, (v)), k)
    for (uint64_t i = 10; i < 20; i++)
        if ((rc = st_db_put(txn, ST_T_CHECKPOINTS, K(i), 8, "a", 1, ST_PUT_APPEND)) != 0) return rc;
    if ((rc = st_db_put(txn, ST_T_CHECKPOINTS, K(15), 8, "a", 1, ST_PUT_APPEND)) != ST_EEXIST) return ST_EINVAL;
    if ((rc = st_db_put(txn, ST_T_CHECKPOINTS, K(5), 8, "b", 1, 0)) != 0) return rc;       /* before them */
    if ((rc = st_db_put(txn, ST_T_CHECKPOINTS, K(20), 8, "c", 1, ST_PUT_APPEND)) != 0) return rc;
    if ((rc = st_db_del(txn, ST_T_CHECKPOINTS, K(20), 8)) != 0) return rc;                 /* the last one */
    if ((rc = st_db_put(txn, ST_T_CHECKPOINTS, K(20), 8, "d", 1, ST_PUT_APPEND)) != 0) return rc;
    st_cursor *c;
    const void *kk, *v;
    size_t kl, vl;
    if ((rc = st_cursor_open(txn, ST_T_CHECKPOINTS, &c)) != 0) return rc;
    if ((rc = st_cursor_seek(c, K(12), 8, &kk, &kl, &v, &vl)) == 0) rc = st_cursor_del(c);  /* a middle one */
    st_cursor_close(c);
    if (rc) return rc;
    if ((rc = st_db_put(txn, ST_T_CHECKPOINTS, K(19), 8, "e", 1, ST_PUT_APPEND)) != ST_EEXIST) return ST_EINVAL;
    return st_db_put(txn, ST_T_CHECKPOINTS, K(21), 8, "f", 1, ST_PUT_APPEND);
#undef K
}

START_TEST(appends_mixed_with_other_changes)
{
    st_store *s = make_store(0);
    st_err err = { "" };
    ck_assert_int_eq(st_db_write(s->db, mixed_puts, NULL, &err), 0);
    st_txn *txn;
    st_cursor *c;
    const void *k, *v;
    size_t kl, vl;
    uint64_t want[] = { 5, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21 }, n = 0;
    ck_assert_int_eq(st_db_read_begin(s->db, &txn, &err), 0);
    ck_assert_int_eq(st_cursor_open(txn, ST_T_CHECKPOINTS, &c), 0);
    int rc;
    for (rc = st_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); rc == 0; rc = st_cursor_next(c, &k, &kl, &v, &vl)) {
        ck_assert_uint_lt(n, sizeof want / sizeof want[0]);
        ck_assert_uint_eq(st_be64_get(k), want[n]);
        n++;
    }
    ck_assert_int_eq(rc, ST_ENOTFOUND);
    ck_assert_uint_eq(n, sizeof want / sizeof want[0]);
    st_cursor_close(c);
    st_db_read_end(txn);
    st_store_close(s);
}
END_TEST

START_TEST(size_constants)
{
    ck_assert_uint_eq(st_hash_bytes(), ST_HASH_BYTES);
    ck_assert_uint_eq(st_salt_bytes(), ST_SALT_BYTES);
    ck_assert_str_eq(st_strerror(ST_ECORRUPT), "data fails verification");
    ck_assert_str_eq(st_strerror(ENOENT), strerror(ENOENT));
}
END_TEST

int main(void)
{
    Suite *su = suite_create("store");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, init_append_seal_check);
    tcase_add_test(tc, init_refuses_existing_store);
    tcase_add_test(tc, proofs_verify_at_all_sizes);
    tcase_add_test(tc, seal_policy_after_n_entries);
    tcase_add_test(tc, seal_policy_after_t_seconds);
    tcase_add_test(tc, tamper_entry_byte);
    tcase_add_test(tc, tamper_tree_leaf);
    tcase_add_test(tc, tamper_entry_under_level_1);
    tcase_add_test(tc, compaction_drops_leaf_rows);
    tcase_add_test(tc, tamper_tree_interior);
    tcase_add_test(tc, tamper_checkpoint);
    tcase_add_test(tc, tamper_payload);
    tcase_add_test(tc, tamper_payload_deleted);
    tcase_add_test(tc, map_grows_when_full);
    tcase_add_test(tc, concurrent_appenders);
    tcase_add_test(tc, concurrent_batch_appenders);
    tcase_add_test(tc, batch_payloads_read_back);
    tcase_add_test(tc, batches_of_every_shape);
    tcase_add_test(tc, prepared_records_append);
    tcase_add_test(tc, bad_records_change_nothing);
    tcase_add_test(tc, missing_or_loose_key_refuses_seal);
    tcase_add_test(tc, open_missing_store);
    tcase_add_test(tc, open_store_at_a_file);
    tcase_add_test(tc, tree_keys_in_creation_order);
    tcase_add_test(tc, appends_mixed_with_other_changes);
    tcase_add_test(tc, size_constants);
    suite_add_tcase(su, tc);
    return tu_run_suite(su);
}
