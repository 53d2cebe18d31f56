/*
 * test_prefault.c: the page cache made ready ahead of bulk appends
 * (prefault.c) and the trim that follows it (db.c). The thread allocates
 * the data file past LMDB's last page and only there; appends made while it
 * runs land in that range and read back intact; once it stops, the next
 * write transaction cuts the file back to exactly LMDB's last page, and the
 * store checks clean. Also: a bulk import (past the threshold at which it
 * starts the thread) leaves no allocation behind.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import.h"
#include "prefault.h"
#include "store_int.h"
#include "testutil.h"

static char *dir;
static st_store *S;

static void setup(void)
{
    S = tu_store_fresh("example.com/prefault-test", &dir);
}

static void teardown(void)
{
    st_store_close(S);
    tu_rmrf(dir);
    free(dir);
}

static uint64_t file_size(void)
{
    char path[4096];
    struct stat sb;
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    ck_assert_int_eq(stat(path, &sb), 0);
    return (uint64_t)sb.st_size;
}

static uint64_t used_bytes(void)
{
    uint64_t used;
    st_db_info(S->db, NULL, &used, NULL);
    return used;
}

/* n records of about 3 KiB each, in one transaction. */
static void append_some(size_t n, uint64_t *first)
{
    static char body[3000];
    memset(body, 'x', sizeof body);
    st_json_doc *d = st_json_doc_new();
    st_json *m = st_json_new_object(d);
    st_json_object_add(d, m, "kind", 4, st_json_new_str(d, "event"));
    st_json_object_add(d, m, "tool", 4, st_json_new_str(d, "Bash"));
    st_record_in *r = calloc(n, sizeof *r);
    ck_assert_ptr_nonnull(r);
    for (size_t i = 0; i < n; i++) {
        body[i % sizeof body] = (char)('a' + i % 26);          /* no two payloads alike */
        r[i] = (st_record_in){ .meta = m, .time_us = 1700000000000000 + (int64_t)i, .npayloads = 1 };
        r[i].payloads[0] = (st_payload_in){ "raw", (const uint8_t *)body, sizeof body, NULL };
        ck_assert_int_eq(st_append_records(S, &r[i], 1, i == 0 ? first : &(uint64_t){ 0 }), 0);
    }
    free(r);
    st_json_doc_free(d);
}

START_TEST(ahead_then_trimmed)
{
    uint64_t first;
    append_some(50, &first);
    ck_assert_uint_eq(file_size(), used_bytes());

    const uint64_t ahead = 4u << 20;
    st_prefault *pf = st_prefault_start(S->db, ahead);
    ck_assert_ptr_nonnull(pf);
    st_prefault_note(pf);
    uint64_t want = used_bytes() + ahead;
    for (int i = 0; i < 500 && file_size() < want; i++) usleep(10000);
    ck_assert_msg(file_size() >= want, "file %llu bytes, want at least %llu (allocated ahead)",
                  (unsigned long long)file_size(), (unsigned long long)want);

    /* Appends go on into the allocated range, and read back. */
    append_some(400, &first);
    st_prefault_note(pf);
    ck_assert_uint_gt(used_bytes(), want - ahead);
    st_prefault_stop(pf);
    ck_assert_uint_gt(file_size(), used_bytes());             /* allocated and not used: still there */

    append_some(1, &first);                                    /* the next write cuts it off */
    ck_assert_uint_eq(file_size(), used_bytes());
    ck_assert_int_eq(st_check(S), 0);
    uint8_t *data = NULL;
    size_t len = 0;
    uint8_t salt[ST_SALT_BYTES];
    st_txn *txn;
    st_err err = { "" };
    ck_assert_int_eq(st_db_read_begin(S->db, &txn, &err), 0);
    ck_assert_int_eq(st_payload_read(txn, 449, "raw", salt, &data, &len), 0);
    st_db_read_end(txn);
    ck_assert_uint_eq(len, 3000);
    ck_assert_int_eq(data[398 % 3000], 'a' + 398 % 26);
    free(data);
}
END_TEST

START_TEST(stop_without_note)
{
    st_prefault *pf = st_prefault_start(S->db, 1u << 20);
    ck_assert_ptr_nonnull(pf);
    st_prefault_stop(pf);                                      /* never woken: nothing allocated */
    st_prefault_stop(NULL);
    st_prefault_note(NULL);
    uint64_t first;
    append_some(1, &first);
    ck_assert_uint_eq(file_size(), used_bytes());
}
END_TEST

/* A bulk import past the threshold starts the thread; nothing allocated remains. */
START_TEST(bulk_import_leaves_no_tail)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/in.jsonl", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 24000; i++)
        fprintf(f,
                "{\"timestamp\":\"2025-01-01T00:00:%02d.%03dZ\",\"toolName\":\"Read\",\"input\":{\"file_path\":\"/r/%d.c\"},"
                "\"output\":{\"stdout\":\"%0400d\"},\"executionTimeMs\":%d,\"status\":\"success\"}\n",
                i / 1000 % 60, i % 1000, i, i, i % 977);
    ck_assert_int_eq(fclose(f), 0);
    FILE *in = fopen(path, "r");
    ck_assert_ptr_nonnull(in);
    st_import_result res;
    st_err err = { "" };
    ck_assert_int_eq(st_import_fd(S, fileno(in), NULL, &res, &err), 0);
    fclose(in);
    ck_assert_uint_eq(res.imported, 24000);
    ck_assert_uint_eq(file_size(), used_bytes());
    ck_assert_int_eq(st_check(S), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("prefault");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, ahead_then_trimmed);
    tcase_add_test(tc, stop_without_note);
    tcase_add_test(tc, bulk_import_leaves_no_tail);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
