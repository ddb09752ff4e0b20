/* SPDX-License-Identifier: MIT */
/* core/scanorder.c: parents before children, whatever their pids. */
#include <check.h>
#include <sys/types.h>

#include "core/scanorder.h"
#include "lib/util.h"

static const struct {
        pid_t pids[8], ppids[8], want[8];
        size_t n;
} cases[] = {
        {{0}, {0}, {0}, 0},
        {{1}, {0}, {1}, 1},
        /* 9 forked 5 after the pids wrapped: 5 comes after 9. */
        {{1, 2, 5, 7, 9}, {0, 0, 9, 1, 1}, {1, 2, 7, 9, 5}, 5},
        /* A chain with descending pids. */
        {{10, 20, 30, 40}, {20, 30, 40, 1}, {40, 30, 20, 10}, 4},
        /* Parent unknown (exited: reparented later) or not readable (0): roots. */
        {{3, 4, 6}, {99, 0, 3}, {3, 4, 6}, 3},
        /* Its own parent (a garbage read): a root. */
        {{7, 8}, {7, 7}, {7, 8}, 2},
        /* A cycle only a racy snapshot can show: last, in pid order. */
        {{1, 3, 4}, {0, 4, 3}, {1, 3, 4}, 3},
        /* Siblings in pid order, level by level. */
        {{1, 2, 3, 4, 5, 6}, {0, 1, 1, 2, 2, 3}, {1, 2, 3, 4, 5, 6}, 6},
};

START_TEST(test_order) {
        pid_t out[8] = {0};

        ck_assert_int_eq(scan_order_parents_first(cases[_i].pids, cases[_i].ppids, cases[_i].n, out), 0);
        for (size_t k = 0; k < cases[_i].n; k++)
                ck_assert_msg(out[k] == cases[_i].want[k], "case %d, position %zu: %d, want %d", _i, k,
                              out[k], cases[_i].want[k]);
}
END_TEST

/* A big flat tree under pid 1, pids descending from the parent. */
START_TEST(test_big) {
        enum { N = 20000 };
        pid_t *pids = calloc(N, sizeof *pids), *ppids = calloc(N, sizeof *ppids),
              *out = calloc(N, sizeof *out);

        for (int i = 0; i < N; i++) {
                pids[i] = i + 1;
                ppids[i] = i == N - 1 ? 0 : i + 2; /* each the child of the next one */
        }
        ck_assert_int_eq(scan_order_parents_first(pids, ppids, N, out), 0);
        for (int i = 0; i < N; i++)
                ck_assert_int_eq(out[i], N - i);
        free(pids);
        free(ppids);
        free(out);
}
END_TEST

extern Suite *scanorder_suite(void);
Suite *scanorder_suite(void) {
        Suite *s = suite_create("scanorder");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_order, 0, (int) ELEMENTSOF(cases));
        tcase_add_test(tc, test_big);
        suite_add_tcase(s, tc);
        return s;
}
