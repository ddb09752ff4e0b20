/* SPDX-License-Identifier: MIT */
/* lib/util.c's scratch memory: what a burst touched is given back past the
 * kept part, which keeps its contents; the rest reads as zeros again. */
#include <check.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/util.h"

/* Resident pages of [p, p + size). */
static size_t resident_pages(void *p, size_t size) {
        size_t page = (size_t) sysconf(_SC_PAGESIZE), n = (size + page - 1) / page, count = 0;
        unsigned char vec[1024];

        ck_assert_uint_le(n, sizeof vec);
        ck_assert_int_eq(mincore(p, size, vec), 0);
        for (size_t i = 0; i < n; i++)
                count += vec[i] & 1;
        return count;
}

START_TEST(test_release_keeps_head) {
        size_t page = (size_t) sysconf(_SC_PAGESIZE), size = 256 * page;
        unsigned char *p = scratch_alloc(size);

        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq(p[0], 0);
        ck_assert_uint_eq(p[size - 1], 0);
        memset(p, 0xab, size);
        ck_assert_uint_eq(resident_pages(p, size), 256);
        /* keep is rounded up to a whole page: 1.5 pages keep 2. */
        scratch_release(p, size, page + page / 2);
        ck_assert_uint_eq(resident_pages(p, size), 2);
        ck_assert_uint_eq(p[0], 0xab);
        ck_assert_uint_eq(p[2 * page - 1], 0xab);
        ck_assert_uint_eq(p[2 * page], 0);
        ck_assert_uint_eq(p[size - 1], 0);
        /* Keeping all, or more than there is, changes nothing. */
        memset(p, 0xcd, size);
        scratch_release(p, size, size);
        scratch_release(p, size, 10 * size);
        ck_assert_uint_eq(resident_pages(p, size), 256);
        ck_assert_uint_eq(p[size - 1], 0xcd);
        scratch_release(NULL, size, 0);
        scratch_free(p, size);
        scratch_free(NULL, size);
}
END_TEST

extern Suite *scratch_suite(void);
Suite *scratch_suite(void) {
        Suite *s = suite_create("scratch");
        TCase *tc = tcase_create("scratch");
        tcase_add_test(tc, test_release_keeps_head);
        suite_add_tcase(s, tc);
        return s;
}
