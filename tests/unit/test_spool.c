/*
 * test_spool.c: the hook's spool (store/spool.h): the file format round
 * trip, rejection of every truncation and corruption, file names and modes,
 * and replay into a real store: order, the `spool` member, and the
 * exactly-once rule (a record already in the log at or after `from` is
 * dropped; one whose attempt never committed is appended).
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "event.h"
#include "sealtrail.h"
#include "spool.h"
#include "testutil.h"

static void build_event(st_event *ev, const char *json, int64_t t)
{
    st_event_opts o = { .host = "h", .user = "u", .now_us = t };
    st_err err;
    ck_assert_msg(st_event_build(ev, json, strlen(json), &o, &err) == 0, "%s", err.msg);
}

static uint8_t *read_all(int dirfd, const char *name, size_t *len)
{
    int fd = openat(dirfd, name, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    uint8_t *b = malloc((size_t)st.st_size + 1);
    ck_assert_int_eq(read(fd, b, (size_t)st.st_size), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return b;
}

START_TEST(image_round_trip)
{
    char *dir = tu_tmpdir();
    int dfd;
    ck_assert_int_eq(st_spool_open_dir(dir, &dfd), 0);
    st_event ev;
    build_event(&ev, "{\"hook_event_name\":\"PostToolUse\",\"tool_name\":\"Bash\",\"tool_input\":{\"c\":\"x\"},"
                     "\"tool_response\":\"\",\"extra\":[1,2]}", 1763787173123456LL);
    st_spool_image im;
    ck_assert_int_eq(st_spool_image_build(&im, &ev.rec), 0);
    /* <20 digits>-<10 digits>-<6 digits>.rec */
    ck_assert_uint_eq(strlen(im.name), 20 + 1 + 10 + 1 + 6 + 4);
    ck_assert(strncmp(im.name, "00001763787173123456-", 21) == 0);
    ck_assert_int_eq(st_spool_image_write(&im, dfd, 42), 0);
    ck_assert_int_eq(st_spool_pending(dfd), 1);
    size_t len;
    uint8_t *buf = read_all(dfd, im.name, &len);
    ck_assert_uint_eq(len, im.total);
    st_record_in rec;
    uint64_t from;
    st_json_doc *doc;
    st_err err;
    ck_assert_int_eq(st_spool_parse(buf, len, &rec, &from, &doc, &err), 0);
    ck_assert_uint_eq(from, 42);
    ck_assert_int_eq(rec.time_us, 1763787173123456LL);
    ck_assert_uint_eq(rec.npayloads, ev.rec.npayloads);
    for (size_t i = 0; i < rec.npayloads; i++) {
        ck_assert_str_eq(rec.payloads[i].name, ev.rec.payloads[i].name);
        ck_assert_uint_eq(rec.payloads[i].len, ev.rec.payloads[i].len);
        ck_assert(memcmp(rec.payloads[i].data, ev.rec.payloads[i].data, rec.payloads[i].len) == 0);
    }
    st_buf a = { 0 }, b = { 0 };
    st_json_write(&a, rec.meta, 0);
    st_json_write(&b, ev.meta, 0);
    ck_assert(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    st_buf_free(&a);
    st_buf_free(&b);
    st_json_doc_free(doc);

    /* every truncation and a flipped magic are refused, never crash */
    for (size_t cut = 0; cut < len; cut++) {
        int rc = st_spool_parse(buf, cut, &rec, &from, &doc, &err);
        ck_assert_msg(rc == ST_EFORMAT, "prefix of %zu bytes: rc %d", cut, rc);
        ck_assert_ptr_null(doc);
    }
    buf[0] ^= 1;
    ck_assert_int_eq(st_spool_parse(buf, len, &rec, &from, &doc, &err), ST_EFORMAT);
    buf[0] ^= 1;
    uint8_t np = buf[28 + 3];
    buf[28 + 3] = 17;   /* 17 payloads */
    ck_assert_int_eq(st_spool_parse(buf, len, &rec, &from, &doc, &err), ST_EFORMAT);
    buf[28 + 3] = np;
    /* an envelope that is not JSON: the message quotes the parser's once (it
     * was formatted into the buffer it read from, and came out garbled) */
    buf[32] = 'x';
    ck_assert_int_eq(st_spool_parse(buf, len, &rec, &from, &doc, &err), ST_EFORMAT);
    ck_assert_ptr_null(doc);
    ck_assert_msg(strncmp(err.msg, "spool file: envelope: offset 0: ", 32) == 0, "%s", err.msg);
    ck_assert_msg(strstr(err.msg + 1, "spool file") == NULL, "%s", err.msg);
    free(buf);

    /* a second image of the same record gets another name */
    st_spool_image im2;
    ck_assert_int_eq(st_spool_image_build(&im2, &ev.rec), 0);
    ck_assert_str_ne(im.name, im2.name);
    /* leftovers (.tmp, .bad, .lock) are not pending */
    close(openat(dfd, ".x.rec.tmp", O_CREAT | O_WRONLY, 0600));
    close(openat(dfd, "y.rec.bad", O_CREAT | O_WRONLY, 0600));
    int lk = st_spool_lock(dfd);
    ck_assert_int_ge(lk, 0);
    close(lk);
    ck_assert_int_eq(st_spool_pending(dfd), 1);
    st_spool_image_free(&im);
    st_spool_image_free(&im2);
    st_event_free(&ev);
    close(dfd);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

static st_store *new_store(char **dir_out)
{
    char *dir = tu_tmpdir();
    char vkey[ST_VKEY_MAX];
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/st", dir);
    ck_assert_int_eq(st_store_init(sub, NULL, vkey), 0);
    st_store *s;
    ck_assert_int_eq(st_store_open(&s, sub, ST_OPEN_NOSYSLOG | ST_OPEN_NOSEAL), 0);
    *dir_out = dir;
    return s;
}

static void spool_one(int dfd, const char *id, int64_t t, uint64_t from, st_event *keep)
{
    char json[256];
    snprintf(json, sizeof json, "{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\",\"tool_use_id\":\"%s\","
                                "\"tool_input\":{\"file_path\":\"/src/%s.c\"}}", id, id);
    st_event ev;
    build_event(&ev, json, t);
    st_spool_image im;
    ck_assert_int_eq(st_spool_image_build(&im, &ev.rec), 0);
    ck_assert_int_eq(st_spool_image_write(&im, dfd, from), 0);
    st_spool_image_free(&im);
    if (keep) *keep = ev;
    else st_event_free(&ev);
}

static void assert_log(st_store *s, const char *const *ids, size_t n, int spooled_from)
{
    uint64_t size;
    ck_assert_int_eq(st_spool_log_size(s, &size), 0);
    ck_assert_uint_eq(size, n);
    for (size_t i = 0; i < n; i++) {
        uint8_t *b;
        size_t len;
        ck_assert_int_eq(st_entry_get(s, i, &b, &len), 0);
        st_entry e;
        ck_assert_int_eq(st_entry_parse(&e, b, len, NULL), 0);
        ck_assert_str_eq(st_json_get_str(e.root, "tool_use_id", NULL), ids[i]);
        const char *sp = st_json_get_str(e.root, "spool", NULL);
        if ((int)i >= spooled_from) ck_assert_ptr_nonnull(sp);
        else ck_assert_ptr_null(sp);
        st_entry_free(&e);
        free(b);
    }
}

START_TEST(replay_in_order_exactly_once)
{
    char *dir;
    st_store *s = new_store(&dir);
    char sp[4200];
    snprintf(sp, sizeof sp, "%s/st", dir);
    int dfd;
    ck_assert_int_eq(st_spool_open_dir(sp, &dfd), 0);

    /* a live entry first */
    st_event live;
    build_event(&live, "{\"hook_event_name\":\"PreToolUse\",\"tool_use_id\":\"live\"}", 1000);
    uint64_t idx;
    ck_assert_int_eq(st_append_records(s, &live.rec, 1, &idx), 0);
    st_event_free(&live);

    /* spooled out of name order on disk: names sort by time */
    spool_one(dfd, "c", 3000, ST_SPOOL_FROM_NONE, NULL);
    spool_one(dfd, "a", 1500, ST_SPOOL_FROM_NONE, NULL);
    spool_one(dfd, "b", 2000, ST_SPOOL_FROM_NONE, NULL);
    st_spool_stats stats;
    ck_assert_int_eq(st_spool_replay(s, dfd, NULL, NULL, &stats), 0);
    ck_assert_uint_eq(stats.appended, 3);
    ck_assert_uint_eq(stats.first_index, 1);
    ck_assert_int_eq(st_spool_pending(dfd), 0);
    const char *ids[] = { "live", "a", "b", "c", "d" };
    assert_log(s, ids, 4, 1);

    /* the record of entry "d" reached the log, but its spool file survived (from = 4) */
    st_event d;
    spool_one(dfd, "d", 4000, ST_SPOOL_FROM_NONE, &d);
    ck_assert_int_eq(st_spool_replay(s, dfd, NULL, NULL, &stats), 0);
    ck_assert_uint_eq(stats.appended, 1);
    st_spool_image im;
    ck_assert_int_ge(st_event_meta_add_str(d.doc, d.meta, "spool", "x", 1), 0);
    ck_assert_int_eq(st_spool_image_build(&im, &d.rec), 0);
    ck_assert_int_eq(st_spool_image_write(&im, dfd, 4), 0);
    st_spool_image_free(&im);
    st_event_free(&d);
    /* ...its spool id differs from the one logged ("x" vs the file name), so it is not the same record */
    ck_assert_int_eq(st_spool_replay(s, dfd, NULL, NULL, &stats), 0);
    ck_assert_uint_eq(stats.appended, 1);
    ck_assert_uint_eq(stats.duplicates, 0);

    /* a record whose entry is at index >= from (no spool member: a live attempt) is dropped */
    st_event e;
    build_event(&e, "{\"hook_event_name\":\"PreToolUse\",\"tool_use_id\":\"e\"}", 5000);
    uint64_t before;
    ck_assert_int_eq(st_spool_log_size(s, &before), 0);
    ck_assert_int_eq(st_append_records(s, &e.rec, 1, &idx), 0);
    ck_assert_int_eq(st_spool_image_build(&im, &e.rec), 0);
    ck_assert_int_eq(st_spool_image_write(&im, dfd, before), 0);
    st_spool_image_free(&im);
    ck_assert_int_eq(st_spool_replay(s, dfd, NULL, NULL, &stats), 0);
    ck_assert_uint_eq(stats.duplicates, 1);
    ck_assert_uint_eq(stats.appended, 0);
    /* the same record with from = NONE (never attempted) is appended: NONE means "not in the log" */
    ck_assert_int_eq(st_spool_image_build(&im, &e.rec), 0);
    ck_assert_int_eq(st_spool_image_write(&im, dfd, ST_SPOOL_FROM_NONE), 0);
    st_spool_image_free(&im);
    ck_assert_int_eq(st_spool_replay(s, dfd, NULL, NULL, &stats), 0);
    ck_assert_uint_eq(stats.appended, 1);
    st_event_free(&e);

    /* an invalid file is set aside, the others still go in */
    int fd = openat(dfd, "00000000000000000001-0000000001-000000.rec", O_CREAT | O_WRONLY, 0600);
    ck_assert_int_eq(write(fd, "STSPOOL1junk", 12), 12);
    close(fd);
    spool_one(dfd, "f", 6000, ST_SPOOL_FROM_NONE, NULL);
    ck_assert_int_eq(st_spool_replay(s, dfd, NULL, NULL, &stats), 0);
    ck_assert_uint_eq(stats.bad, 1);
    ck_assert_uint_eq(stats.appended, 1);
    ck_assert_int_eq(faccessat(dfd, "00000000000000000001-0000000001-000000.rec.bad", F_OK, 0), 0);
    /* a spooled PostToolUse without duration_ms gets it from its spooled PreToolUse */
    st_event pre, post;
    build_event(&pre, "{\"hook_event_name\":\"PreToolUse\",\"tool_use_id\":\"g\",\"tool_name\":\"Bash\"}", 7000000);
    build_event(&post, "{\"hook_event_name\":\"PostToolUse\",\"tool_use_id\":\"g\",\"tool_name\":\"Bash\"}", 9500000);
    ck_assert(post.needs_duration);
    st_spool_image ia, ib;
    ck_assert_int_eq(st_spool_image_build(&ib, &post.rec), 0);
    ck_assert_int_eq(st_spool_image_build(&ia, &pre.rec), 0);
    ck_assert_int_eq(st_spool_image_write(&ib, dfd, ST_SPOOL_FROM_NONE), 0);
    ck_assert_int_eq(st_spool_image_write(&ia, dfd, ST_SPOOL_FROM_NONE), 0);
    st_spool_image_free(&ia);
    st_spool_image_free(&ib);
    st_event_free(&pre);
    st_event_free(&post);
    ck_assert_int_eq(st_spool_replay(s, dfd, NULL, NULL, &stats), 0);
    ck_assert_uint_eq(stats.appended, 2);
    uint8_t *b;
    size_t blen;
    ck_assert_int_eq(st_entry_get(s, stats.first_index + 1, &b, &blen), 0);
    st_entry en;
    ck_assert_int_eq(st_entry_parse(&en, b, blen, NULL), 0);
    int64_t dur;
    ck_assert_str_eq(st_json_get_str(en.root, "event", NULL), "PostToolUse");
    ck_assert_int_eq(st_json_get_i64(en.root, "duration_ms", &dur), 0);
    ck_assert_int_eq(dur, 2500);
    st_entry_free(&en);
    free(b);
    ck_assert_int_eq(st_check(s), 0);

    close(dfd);
    st_store_close(s);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* st_spool_pending reads the directory in 4 KiB batches: more names than fit in one. */
START_TEST(pending_counts_past_one_batch)
{
    char *dir = tu_tmpdir();
    int dfd;
    ck_assert_int_eq(st_spool_open_dir(dir, &dfd), 0);
    for (int i = 0; i < 300; i++) {
        char name[ST_SPOOL_NAME_MAX];
        snprintf(name, sizeof name, "%020d-%010d-%06d.rec", 1000 + i, 42, i);
        close(openat(dfd, name, O_CREAT | O_WRONLY, 0600));
        if (i % 3 == 0) {
            snprintf(name, sizeof name, "%020d-%010d-%06d.rec.bad", 1000 + i, 43, i);
            close(openat(dfd, name, O_CREAT | O_WRONLY, 0600));
        }
    }
    ck_assert_int_eq(st_spool_pending(dfd), 300);
    ck_assert_int_eq(st_spool_pending(dfd), 300);    /* again: reads from the start */
    close(dfd);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("spool");
    TCase *tc = tcase_create("spool");
    tcase_add_test(tc, pending_counts_past_one_batch);
    tcase_add_test(tc, image_round_trip);
    tcase_add_test(tc, replay_in_order_exactly_once);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
