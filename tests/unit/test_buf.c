/*
 * test_buf.c: the growable byte buffer (store/verify/util.c) and the page
 * prefaulting its growth does (st_prefault).
 *
 *  - a buffer grown by appends of every size up to past 4 MiB (through the
 *    sizes where growth prefaults) holds exactly the bytes appended, and
 *    so does one grown with st_buf_reserve_exact;
 *  - st_prefault keeps what memory holds: a filled region, prefaulted
 *    whole, from odd offsets and over odd lengths, reads back the same;
 *  - it makes the pages of a fresh mapping resident (mincore), where the
 *    kernel has MADV_POPULATE_WRITE, and leaves those of a range under
 *    ST_PREFAULT_MIN alone (the call would cost more than it saves);
 *  - empty, tiny and unaligned ranges are harmless.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testutil.h"
#include "util.h"

START_TEST(appends_survive_growth)
{
    size_t total = (4u << 20) + 12345;
    uint8_t *want = malloc(total);
    ck_assert_ptr_nonnull(want);
    for (size_t i = 0; i < total; i++) want[i] = (uint8_t)tu_rand();
    st_buf b = { 0 };
    size_t at = 0, step = 1;
    while (at < total) {                       /* appends of 1, 2, 3, ... bytes */
        size_t n = step < total - at ? step : total - at;
        st_buf_put(&b, want + at, n);
        at += n;
        step++;
    }
    ck_assert_int_eq(b.oom, 0);
    ck_assert_uint_eq(b.len, total);
    ck_assert_int_eq(memcmp(b.data, want, total), 0);

    st_buf e = { 0 };
    st_buf_put(&e, want, 100);
    ck_assert_int_eq(st_buf_reserve_exact(&e, total - 100), 0);
    ck_assert_uint_eq(e.cap, total);
    memcpy(e.data + e.len, want + 100, total - 100);
    e.len = total;
    ck_assert_int_eq(memcmp(e.data, want, total), 0);
    st_buf_free(&e);
    st_buf_free(&b);
    free(want);
}
END_TEST

START_TEST(prefault_keeps_contents)
{
    size_t n = (3u << 20) + 777;
    uint8_t *m = malloc(n), *copy = malloc(n);
    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_nonnull(copy);
    for (size_t i = 0; i < n; i++) m[i] = (uint8_t)tu_rand();
    memcpy(copy, m, n);
    st_prefault(m, n);
    st_prefault(m + 1, n - 3);
    st_prefault(m + 4095, (1u << 20) + 1);
    st_prefault(m + 17, 0);
    st_prefault(m + 17, 1);
    st_prefault(m, ST_PREFAULT_MIN - 1);
    ck_assert_int_eq(memcmp(m, copy, n), 0);
    free(m);
    free(copy);
}
END_TEST

/* Resident pages of a mapping (mincore). */
static size_t resident(void *p, size_t n, size_t page)
{
    size_t pages = n / page, in = 0;
    unsigned char *v = malloc(pages);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(mincore(p, n, v), 0);
    for (size_t i = 0; i < pages; i++) in += v[i] & 1;
    free(v);
    return in;
}

START_TEST(prefault_makes_pages_resident)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = 256 * page;
    uint8_t *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(m, MAP_FAILED);
#ifdef MADV_POPULATE_WRITE
    int have = madvise(m, page, MADV_POPULATE_WRITE) == 0;   /* Linux 5.14+ */
#else
    int have = 0;
#endif
    if (!have) {
        munmap(m, n);
        return;                                /* nothing to see on this kernel */
    }
    size_t small = ST_PREFAULT_MIN / 2;          /* pages [1, 1 + small/page): left alone */
    st_prefault(m + page, small);
    ck_assert_uint_eq(resident(m, n, page), 1);
    /* From the middle of page 100 over exactly ST_PREFAULT_MIN bytes: the
     * whole pages inside (101 ..), not the partial ones at either end. */
    size_t from = 100 * page + page / 2;
    st_prefault(m + from, ST_PREFAULT_MIN);
    size_t whole = (from + ST_PREFAULT_MIN) / page - 101;
    ck_assert_uint_eq(resident(m, n, page), 1 + whole);
    ck_assert_uint_eq(resident(m + 100 * page, page, page), 0);
    ck_assert_uint_eq(resident(m + 101 * page, whole * page, page), whole);
    for (size_t i = 0; i < n; i++) ck_assert_uint_eq(m[i], 0);   /* fresh pages read as zero */
    munmap(m, n);
}
END_TEST

static Suite *buf_suite(void)
{
    Suite *s = suite_create("buf");
    TCase *t = tcase_create("buf");
    tcase_add_test(t, appends_survive_growth);
    tcase_add_test(t, prefault_keeps_contents);
    tcase_add_test(t, prefault_makes_pages_resident);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return tu_run_suite(buf_suite());
}
