/*
 * test_db_split.c: split tables (db.h: SPLIT TABLES). The tool and session
 * indexes are MDB_DUPSORT tables keyed by a row key's prefix, but through
 * st_db they must behave exactly like a plain table. So every operation is
 * done on a split table (ST_T_IX_TOOL) and on a plain one (ST_T_IX_STATUS)
 * with the same rows, and every read must give the same answer: get, seek
 * (with whole keys, prefixes, cut keys and keys that fall between rows),
 * next, prev, last, count, and after puts in any order, replacements and
 * deletes. Then the bounds, and that appended rows fill their pages.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "store_int.h"
#include "testutil.h"

static char *dir;
static st_store *S;

static void setup(void) { S = tu_store_fresh("example.com/split-test", &dir); }

static void teardown(void)
{
    st_store_close(S);
    tu_rmrf(dir);
    free(dir);
}

/* Prefixes as the index writes them: enc() keeps them prefix-free. */
static const char *const names[] = { "a", "ab", "abc", "b", "ba", "", "x", "Bash", "mcp__github__create_issue",
                                     "mcp__github__create_pr" };
#define NNAMES (sizeof names / sizeof names[0])

typedef struct row { uint8_t k[600]; size_t kl; } row;
static row known[4096];
static size_t nknown;

static size_t make_key(uint8_t *k, size_t name, uint64_t t, uint64_t i)
{
    size_t l;
    if (name == NNAMES) {                      /* a name with a NUL (escaped) and one cut at the cap */
        char big[ST_IX_STR_CAP + 20];
        memset(big, 'z', sizeof big);
        big[3] = 0;
        l = st_ix_enc_str(k, big, sizeof big, NULL);
    } else {
        l = st_ix_enc_str(k, names[name], strlen(names[name]), NULL);
    }
    st_be64_put(k + l, t);
    st_be64_put(k + l + 8, i);
    return l + 16;
}

typedef struct both { int rc; const void *k, *v; size_t kl, vl; } both;

static void same(const both *a, const both *b, const char *what)
{
    ck_assert_msg(a->rc == b->rc, "%s: split rc %d, plain rc %d", what, a->rc, b->rc);
    if (a->rc) return;
    ck_assert_msg(a->kl == b->kl && memcmp(a->k, b->k, a->kl) == 0, "%s: keys differ", what);
    ck_assert_msg(a->vl == b->vl && (a->vl == 0 || memcmp(a->v, b->v, a->vl) == 0), "%s: values differ", what);
}

/* Every read of the split table equals the same read of the plain one. */
static void compare_tables(st_txn *txn)
{
    st_cursor *cs, *cp;
    both a, b;
    uint64_t ns, np;
    ck_assert_int_eq(st_db_count(txn, ST_T_IX_TOOL, &ns), 0);
    ck_assert_int_eq(st_db_count(txn, ST_T_IX_STATUS, &np), 0);
    ck_assert_uint_eq(ns, np);
    ck_assert_int_eq(st_cursor_open(txn, ST_T_IX_TOOL, &cs), 0);
    ck_assert_int_eq(st_cursor_open(txn, ST_T_IX_STATUS, &cp), 0);
    /* forward and backward walks */
    size_t n = 0;
    a.rc = st_cursor_seek(cs, NULL, 0, &a.k, &a.kl, &a.v, &a.vl);
    b.rc = st_cursor_seek(cp, NULL, 0, &b.k, &b.kl, &b.v, &b.vl);
    for (;; n++) {
        same(&a, &b, "forward walk");
        if (a.rc) break;
        a.rc = st_cursor_next(cs, &a.k, &a.kl, &a.v, &a.vl);
        b.rc = st_cursor_next(cp, &b.k, &b.kl, &b.v, &b.vl);
    }
    ck_assert_uint_eq(n, np);
    a.rc = st_cursor_last(cs, &a.k, &a.kl, &a.v, &a.vl);
    b.rc = st_cursor_last(cp, &b.k, &b.kl, &b.v, &b.vl);
    for (n = 0;; n++) {
        same(&a, &b, "backward walk");
        if (a.rc) break;
        a.rc = st_cursor_prev(cs, &a.k, &a.kl, &a.v, &a.vl);
        b.rc = st_cursor_prev(cp, &b.k, &b.kl, &b.v, &b.vl);
    }
    ck_assert_uint_eq(n, np);
    /* seeks: whole keys, keys cut anywhere, keys moved by one, other names, then a step either way */
    for (int s = 0; s < 400; s++) {
        uint8_t key[600];
        size_t kl;
        if (nknown && s % 4 != 3) {
            const row *r = &known[tu_rand() % nknown];
            memcpy(key, r->k, r->kl);
            kl = r->kl;
            if (s % 4 == 1) kl = 1 + tu_rand() % kl;                /* a cut key: prefix, part of the tail */
            if (s % 4 == 2) key[kl - 1 - tu_rand() % 16] += (tu_rand() & 1) ? 1 : 0xFF;   /* between rows */
        } else {
            kl = make_key(key, tu_rand() % (NNAMES + 1), tu_rand() % 8, tu_rand() % 64);
        }
        a.rc = st_cursor_seek(cs, key, kl, &a.k, &a.kl, &a.v, &a.vl);
        b.rc = st_cursor_seek(cp, key, kl, &b.k, &b.kl, &b.v, &b.vl);
        same(&a, &b, "seek");
        if (a.rc) continue;
        int back = s & 1;
        a.rc = back ? st_cursor_prev(cs, &a.k, &a.kl, &a.v, &a.vl) : st_cursor_next(cs, &a.k, &a.kl, &a.v, &a.vl);
        b.rc = back ? st_cursor_prev(cp, &b.k, &b.kl, &b.v, &b.vl) : st_cursor_next(cp, &b.k, &b.kl, &b.v, &b.vl);
        same(&a, &b, back ? "prev after seek" : "next after seek");
        a.rc = st_db_get(txn, ST_T_IX_TOOL, key, kl, &a.v, &a.vl);
        b.rc = st_db_get(txn, ST_T_IX_STATUS, key, kl, &b.v, &b.vl);
        a.k = b.k = key;
        a.kl = b.kl = kl;
        same(&a, &b, "get");
    }
    st_cursor_close(cs);
    st_cursor_close(cp);
}

static int random_ops(st_txn *txn, void *arg)
{
    int round = *(int *)arg;
    for (int op = 0; op < 300; op++) {
        unsigned r = (unsigned)(tu_rand() % 100);
        uint8_t key[600], val[ST_DB_SPLIT_VAL_MAX];
        size_t kl;
        if (r < 75 || nknown == 0) {                    /* put: new (mostly appending), or over a known row */
            if (r < 10 && nknown) {
                const row *k = &known[tu_rand() % nknown];
                memcpy(key, k->k, k->kl);
                kl = k->kl;
            } else {
                uint64_t t = r < 50 ? (uint64_t)(round * 1000 + op) : tu_rand() % 8;   /* growing, or anywhere */
                kl = make_key(key, tu_rand() % (NNAMES + 1), t, tu_rand() % 64);
                if (nknown < sizeof known / sizeof known[0]) {
                    memcpy(known[nknown].k, key, kl);
                    known[nknown++].kl = kl;
                }
            }
            size_t vl = tu_rand() % 41;
            if (r % 7 == 0) vl = ST_DB_SPLIT_VAL_MAX;
            for (size_t i = 0; i < vl; i++) val[i] = (uint8_t)tu_rand();
            ck_assert_int_eq(st_db_put(txn, ST_T_IX_TOOL, key, kl, val, vl, 0), 0);
            ck_assert_int_eq(st_db_put(txn, ST_T_IX_STATUS, key, kl, val, vl, 0), 0);
        } else if (r < 90) {                            /* delete a known row (maybe gone already) */
            const row *k = &known[tu_rand() % nknown];
            int a = st_db_del(txn, ST_T_IX_TOOL, k->k, k->kl);
            int b = st_db_del(txn, ST_T_IX_STATUS, k->k, k->kl);
            ck_assert_int_eq(a, b);
        } else {                                        /* delete through a cursor, where a seek lands */
            const row *k = &known[tu_rand() % nknown];
            st_cursor *cs, *cp;
            both a, b;
            ck_assert_int_eq(st_cursor_open(txn, ST_T_IX_TOOL, &cs), 0);
            ck_assert_int_eq(st_cursor_open(txn, ST_T_IX_STATUS, &cp), 0);
            a.rc = st_cursor_seek(cs, k->k, k->kl, &a.k, &a.kl, &a.v, &a.vl);
            b.rc = st_cursor_seek(cp, k->k, k->kl, &b.k, &b.kl, &b.v, &b.vl);
            same(&a, &b, "seek before a cursor delete");
            if (a.rc == 0) {
                ck_assert_int_eq(st_cursor_del(cs), 0);
                ck_assert_int_eq(st_cursor_del(cp), 0);
            }
            st_cursor_close(cs);
            st_cursor_close(cp);
        }
    }
    compare_tables(txn);                                /* inside the write transaction */
    return 0;
}

START_TEST(behaves_as_a_plain_table)
{
    st_err err = { "" };
    for (int round = 0; round < 12; round++) {
        ck_assert_int_eq(st_db_write(S->db, random_ops, &round, &err), 0);
        st_txn *txn;
        ck_assert_int_eq(st_db_read_begin(S->db, &txn, &err), 0);
        compare_tables(txn);                            /* and committed */
        st_db_read_end(txn);
    }
    ck_assert_uint_gt(nknown, 1000);
}
END_TEST

static int bounds(st_txn *txn, void *arg)
{
    (void)arg;
    uint8_t key[600], val[ST_DB_SPLIT_VAL_MAX + 1] = { 0 };
    size_t kl = make_key(key, 3, 5, 7);
    ck_assert_int_eq(st_db_put(txn, ST_T_IX_TOOL, key, 16, "", 0, 0), ST_EINVAL);              /* no prefix */
    ck_assert_int_eq(st_db_put(txn, ST_T_IX_TOOL, key, kl, val, sizeof val, 0), ST_EINVAL);    /* value too long */
    ck_assert_int_eq(st_db_put(txn, ST_T_IX_TOOL, key, kl, "v1", 2, ST_PUT_NOOVERWRITE), 0);
    ck_assert_int_eq(st_db_put(txn, ST_T_IX_TOOL, key, kl, "v2", 2, ST_PUT_NOOVERWRITE), ST_EEXIST);
    ck_assert_int_eq(st_db_put(txn, ST_T_IX_TOOL, key, kl, "v1", 2, 0), 0);                    /* the same row again */
    const void *v;
    size_t vl;
    ck_assert_int_eq(st_db_get(txn, ST_T_IX_TOOL, key, kl, &v, &vl), 0);
    ck_assert_uint_eq(vl, 2);
    ck_assert_int_eq(memcmp(v, "v1", 2), 0);
    ck_assert_int_eq(st_db_get(txn, ST_T_IX_TOOL, key, 16, &v, &vl), ST_ENOTFOUND);
    uint64_t n;
    ck_assert_int_eq(st_db_count(txn, ST_T_IX_TOOL, &n), 0);
    ck_assert_uint_eq(n, 1);
    void *res;
    ck_assert_int_eq(st_db_put_reserve(txn, ST_T_IX_TOOL, key, kl, 4, &res), ST_EINVAL);
    return 0;
}

START_TEST(bounds_and_refusals)
{
    st_err err = { "" };
    ck_assert_int_eq(st_db_write(S->db, bounds, NULL, &err), 0);
}
END_TEST

/* Rows of 50 prefixes, interleaved as an import writes them (each prefix's
 * rows in time order), into a split table and into a plain one: LMDB
 * splits the plain table's pages in half for such inserts, the split
 * table's duplicates append and fill theirs. */
typedef struct fill { st_table t; int batch; } fill;

static int interleaved(st_txn *txn, void *arg)
{
    const fill *f = arg;
    for (int i = 0; i < 4000; i++) {
        uint8_t key[600], val[19] = { 1, 0, 0, 0, 0, 0, 0, 1, 44, 9 };
        memcpy(val + 10, "succeeded", 9);
        char name[32];
        snprintf(name, sizeof name, "session-%08x", (unsigned)((i * 7919u) % 50u) * 2654435761u);
        size_t l = st_ix_enc_str(key, name, strlen(name), NULL);
        st_be64_put(key + l, (uint64_t)(f->batch * 4000 + i));
        st_be64_put(key + l + 8, (uint64_t)(f->batch * 4000 + i));
        ck_assert_int_eq(st_db_put(txn, f->t, key, l + 16, val, sizeof val, 0), 0);
    }
    return 0;
}

static double bytes_per_row(st_table t)
{
    st_err err = { "" };
    uint64_t before, after;
    st_db_info(S->db, NULL, &before, NULL);
    for (int b = 0; b < 25; b++) {
        fill f = { t, b };
        ck_assert_int_eq(st_db_write(S->db, interleaved, &f, &err), 0);
    }
    st_db_info(S->db, NULL, &after, NULL);
    return (double)(after - before) / (25.0 * 4000);
}

START_TEST(appended_rows_fill_pages)
{
    double split = bytes_per_row(ST_T_IX_TOOL), plain = bytes_per_row(ST_T_IX_STATUS);
    ck_assert_msg(split < 0.6 * plain, "split table %.1f bytes per row, plain %.1f", split, plain);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("db_split");
    TCase *tc = tcase_create("split");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, behaves_as_a_plain_table);
    tcase_add_test(tc, bounds_and_refusals);
    tcase_add_test(tc, appended_rows_fill_pages);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
