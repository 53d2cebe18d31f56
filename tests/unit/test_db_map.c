/*
 * test_db_map.c: the LMDB map size (store/db.c). A store is opened with a
 * map one and a half times its data file (at least 64 MiB), so a hook never
 * remaps right after opening; a map that another process grew is adopted
 * when it shows (MDB_MAP_RESIZED, MDB_MAP_FULL); appends never fail for it.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"
#include "record.h"
#include "sealtrail.h"
#include "testutil.h"

static char *dir;

static void setup(void) { dir = tu_tmpdir(); }
static void teardown(void)
{
    tu_rmrf(dir);
    free(dir);
}

static st_store *open_store(void)
{
    st_store *s;
    int rc = st_store_open(&s, dir, ST_OPEN_NOSYSLOG);
    ck_assert_msg(rc == 0, "open: %s", st_store_error(s));
    return s;
}

static void make_store(void)
{
    char vkey[ST_VKEY_MAX];
    st_init_opts o = { .origin = "example.com/map-test", .seal_max_entries = 1000000, .seal_max_age_us = 3600LL * 1000000 };
    ck_assert_int_eq(st_store_init(dir, &o, vkey), 0);
}

/* Appends n records whose tool_input is a distinct, poorly compressible string of `len` bytes. */
static void append_n(st_store *s, size_t n, size_t len, unsigned seed)
{
    st_json_doc *doc = st_json_doc_new();
    char *buf = malloc(len + 16);
    for (size_t i = 0; i < n; i++) {
        st_json *m = st_json_new_object(doc);
        ck_assert_int_eq(st_json_object_add(doc, m, "kind", 4, st_json_new_str(doc, "event")), 0);
        ck_assert_int_eq(st_json_object_add(doc, m, "tool", 4, st_json_new_str(doc, "Write")), 0);
        ck_assert_int_eq(st_json_object_add(doc, m, "event", 5, st_json_new_str(doc, "PostToolUse")), 0);
        size_t k = 0;
        buf[k++] = '"';
        for (size_t j = 0; j < len; j++) {
            seed = seed * 1103515245u + 12345u;
            buf[k++] = (char)('a' + (seed >> 16) % 26);
        }
        buf[k++] = '"';
        st_record_in rec = { .meta = m, .npayloads = 1 };
        rec.payloads[0].name = "tool_input";
        rec.payloads[0].data = (const uint8_t *)buf;
        rec.payloads[0].len = k;
        uint64_t first;
        int rc = st_append_records(s, &rec, 1, &first);
        ck_assert_msg(rc == 0, "append: %s: %s", st_strerror(rc), st_store_error(s));
    }
    free(buf);
    st_json_doc_free(doc);
}

START_TEST(map_follows_the_data_file)
{
    make_store();
    st_store *s = open_store();
    st_status st;
    ck_assert_int_eq(st_store_status(s, &st), 0);
    ck_assert_uint_eq(st.map_bytes, (uint64_t)64 << 20);   /* a new store: the initial map */
    st_store_close(s);
    /* a data file of 100 MiB (here: zeros past the last page, which LMDB ignores) */
    char path[4096];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    ck_assert_int_eq(truncate(path, (off_t)100 << 20), 0);
    s = open_store();
    ck_assert_int_eq(st_store_status(s, &st), 0);
    ck_assert_uint_ge(st.map_bytes, (uint64_t)150 << 20);
    append_n(s, 3, 1000, 1);
    ck_assert_int_eq(st_check(s), 0);
    st_store_close(s);
}
END_TEST

START_TEST(map_grown_by_another_process)
{
    make_store();
    setenv("SEALTRAIL_MAPSIZE", "262144", 1);   /* 256 KiB in both processes */
    st_store *s = open_store();
    append_n(s, 2, 100, 2);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {     /* grows the map well past 256 KiB */
        st_store *cs;
        if (st_store_open(&cs, dir, ST_OPEN_NOSYSLOG) != 0) _exit(1);
        append_n(cs, 400, 3000, 3);
        st_store_close(cs);
        _exit(0);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    append_n(s, 50, 3000, 4);           /* this process's map was 256 KiB: adopts the grown one */
    unsetenv("SEALTRAIL_MAPSIZE");
    st_status st;
    ck_assert_int_eq(st_store_status(s, &st), 0);
    ck_assert_uint_eq(st.size, 452);
    ck_assert_uint_gt(st.map_bytes, (uint64_t)1 << 20);
    ck_assert_uint_ge(st.map_bytes, st.used_bytes);
    ck_assert_int_eq(st_check(s), 0);
    st_store_close(s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("db_map");
    TCase *tc = tcase_create("map");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, map_follows_the_data_file);
    tcase_add_test(tc, map_grown_by_another_process);
    suite_add_tcase(su, tc);
    return tu_run_suite(su);
}
