/*
 * test_textscan.c: the chunked substring search auditverify runs over a
 * streamed payload (store/verify/textscan.c, VERIFYING.md step 11.5).
 *
 *  - over random bytes of a 3-letter alphabet (so needles occur, partly and
 *    wholly, all over) cut into chunks of every size from 1 up and at random
 *    sizes, the search agrees with memmem over the whole input, for either
 *    needle, both, and needles of 1 to 9 bytes;
 *  - a needle straddling a chunk boundary at every offset is found; a
 *    needle spread over many one-byte chunks is found;
 *  - a near miss (the needle less its last byte at the end) is not.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "textscan.h"
#include "testutil.h"

static uint32_t rng = 12345;
static uint32_t rnd(void)
{
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
}

/* Feeds data in chunks: size `step` each, or random sizes in 1..2*len when step is 0. */
static int scan(const char *a, const char *b, const uint8_t *data, size_t n, size_t step)
{
    st_textscan t;
    ck_assert_int_eq(st_textscan_init(&t, a, strlen(a), b, b ? strlen(b) : 0), 0);
    size_t off = 0;
    while (off < n) {
        size_t k = step ? step : 1 + rnd() % (2 * strlen(a) + 2);
        if (k > n - off) k = n - off;
        st_textscan_feed(&t, data + off, k);
        off += k;
    }
    int hit = t.hit;
    st_textscan_free(&t);
    return hit;
}

static int oracle(const char *a, const char *b, const uint8_t *data, size_t n)
{
    return memmem(data, n, a, strlen(a)) != NULL || (b && memmem(data, n, b, strlen(b)) != NULL);
}

START_TEST(agrees_with_memmem)
{
    uint8_t data[200];
    char a[10], b[12];
    for (int round = 0; round < 3000; round++) {
        size_t n = 1 + rnd() % sizeof data;
        for (size_t i = 0; i < n; i++) data[i] = (uint8_t)('x' + rnd() % 3);
        size_t al = 1 + rnd() % 9, bl = 1 + rnd() % 11;
        for (size_t i = 0; i < al; i++) a[i] = (char)('x' + rnd() % 3);
        for (size_t i = 0; i < bl; i++) b[i] = (char)('x' + rnd() % 3);
        a[al] = 0;
        b[bl] = 0;
        const char *bb = round % 3 ? b : NULL;
        int want = oracle(a, bb, data, n);
        for (size_t step = 0; step <= 13; step++)
            ck_assert_msg(scan(a, bb, data, n, step) == want, "round %d step %zu: want %d", round, step, want);
    }
}
END_TEST

START_TEST(straddling_every_boundary)
{
    const char *needle = "needle-7f3a";
    size_t nl = strlen(needle);
    uint8_t data[64];
    for (size_t at = 0; at + nl <= sizeof data; at++) {
        memset(data, '.', sizeof data);
        memcpy(data + at, needle, nl);
        for (size_t step = 1; step <= sizeof data; step++)
            ck_assert_msg(scan(needle, NULL, data, sizeof data, step), "needle at %zu, chunks of %zu", at, step);
        /* the escaped form as the only match, the plain one absent */
        ck_assert(scan("absent", needle, data, sizeof data, 5));
    }
    memset(data, '.', sizeof data);
    memcpy(data + sizeof data - (nl - 1), needle, nl - 1);    /* all but the last byte, at the end */
    for (size_t step = 1; step <= sizeof data; step++)
        ck_assert(!scan(needle, NULL, data, sizeof data, step));
}
END_TEST

static Suite *textscan_suite(void)
{
    Suite *s = suite_create("textscan");
    TCase *t = tcase_create("search");
    tcase_add_test(t, agrees_with_memmem);
    tcase_add_test(t, straddling_every_boundary);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return tu_run_suite(textscan_suite());
}
