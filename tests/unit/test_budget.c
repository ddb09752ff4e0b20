/* SPDX-License-Identifier: MIT */
/* ctl/budget.c: non-root peers' share of the daemon's CPU, per uid and all
 * together, whatever the number of connections. */
#include <check.h>

#include "ctl/budget.h"

START_TEST(test_one_uid) {
        CtlBudget b;
        ctl_budget_init(&b, 20, 10);
        ck_assert_uint_eq(ctl_budget_ready_at(&b, 1000), 0);
        /* 100 µs of work: that uid waits 1.9 ms, everyone else 0.9 ms. */
        ctl_budget_charge(&b, 1000, 5000, 100);
        ck_assert_uint_eq(ctl_budget_ready_at(&b, 1000), 5000 + 1900);
        ck_assert_uint_eq(ctl_budget_ready_at(&b, 1001), 5000 + 900);
        /* Work charged while still waiting adds up from the wait's end. */
        ctl_budget_charge(&b, 1000, 6000, 100);
        ck_assert_uint_eq(ctl_budget_ready_at(&b, 1000), 6900 + 1900);
}
END_TEST

/* Many uids taking turns: their total share stays at 1/all_share. */
START_TEST(test_all_share) {
        CtlBudget b;
        uint64_t now = 0, busy = 0;
        ctl_budget_init(&b, 20, 10);
        for (int round = 0; round < 1000; round++) {
                uid_t uid = 2000 + (uid_t) (round % 50);
                uint64_t ready = ctl_budget_ready_at(&b, uid);
                if (ready > now)
                        now = ready;
                now += 200;
                busy += 200;
                ctl_budget_charge(&b, uid, now, 200);
        }
        /* busy / elapsed <= 1/10 (first piece free). */
        ck_assert_uint_le(busy * 10, now + 200 * 10);
}
END_TEST

/* More uids than it remembers: still bounded by the overall share. */
START_TEST(test_many_uids) {
        CtlBudget b;
        uint64_t now = 0, busy = 0;
        ctl_budget_init(&b, 20, 10);
        for (int round = 0; round < 5000; round++) {
                uid_t uid = 3000 + (uid_t) round; /* never the same twice */
                uint64_t ready = ctl_budget_ready_at(&b, uid);
                if (ready > now)
                        now = ready;
                now += 50;
                busy += 50;
                ctl_budget_charge(&b, uid, now, 50);
        }
        ck_assert_uint_le(b.n, CTL_BUDGET_UIDS);
        ck_assert_uint_le(busy * 10, now + 50 * 10);
}
END_TEST

Suite *budget_suite(void) {
        Suite *s = suite_create("budget");
        TCase *tc = tcase_create("share");
        tcase_add_test(tc, test_one_uid);
        tcase_add_test(tc, test_all_share);
        tcase_add_test(tc, test_many_uids);
        suite_add_tcase(s, tc);
        return s;
}
