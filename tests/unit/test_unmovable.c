/* SPDX-License-Identifier: MIT */
/* Kernel threads that cannot move: said once per rule and kind of name. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/unmovable.h"

START_TEST(test_kind) {
        char k[64];
        unmovable_kind("kworker/0:1H", k, sizeof k);
        ck_assert_str_eq(k, "kworker/N:NH");
        unmovable_kind("ksoftirqd/127", k, sizeof k);
        ck_assert_str_eq(k, "ksoftirqd/N");
        unmovable_kind("rcu_preempt", k, sizeof k);
        ck_assert_str_eq(k, "rcu_preempt");
        unmovable_kind("irq/125-nvme0q12", k, sizeof k);
        ck_assert_str_eq(k, "irq/N-nvmeNqN");
        unmovable_kind("migration/3", k, 6); /* cut, never overrun */
        ck_assert_str_eq(k, "migra");
        unmovable_kind("", k, sizeof k);
        ck_assert_str_eq(k, "");
}
END_TEST

START_TEST(test_once_per_rule_and_kind) {
        Unmovable u = {0};
        char *kinds;
        unsigned n;
        char name[32];

        for (int cpu = 0; cpu < 4; cpu++) {
                snprintf(name, sizeof name, "ksoftirqd/%d", cpu);
                ck_assert_int_eq(unmovable_note(&u, "shield", name), 0);
                snprintf(name, sizeof name, "cpuhp/%d", cpu);
                ck_assert_int_eq(unmovable_note(&u, "shield", name), 0);
        }
        ck_assert_int_eq(unmovable_note(&u, "other", "migration/0"), 0);
        ck_assert(u.pending);

        const char *r = unmovable_take(&u, &kinds, &n);
        ck_assert_str_eq(r, "shield");
        ck_assert_str_eq(kinds, "cpuhp/N (4), ksoftirqd/N (4)"); /* sorted */
        ck_assert_uint_eq(n, 8);
        free(kinds);
        r = unmovable_take(&u, &kinds, &n);
        ck_assert_str_eq(r, "other");
        ck_assert_str_eq(kinds, "migration/N (1)");
        free(kinds);
        ck_assert_ptr_null(unmovable_take(&u, &kinds, &n));
        ck_assert_ptr_null(kinds);
        ck_assert(!u.pending);

        /* More of a kind already said: silent. A new kind: said alone. */
        ck_assert_int_eq(unmovable_note(&u, "shield", "ksoftirqd/9"), 0);
        ck_assert(!u.pending);
        ck_assert_ptr_null(unmovable_take(&u, &kinds, &n));
        ck_assert_int_eq(unmovable_note(&u, "shield", "kworker/1:0H"), 0);
        r = unmovable_take(&u, &kinds, &n);
        ck_assert_str_eq(r, "shield");
        ck_assert_str_eq(kinds, "kworker/N:NH (1)");
        ck_assert_uint_eq(n, 1);
        free(kinds);
        unmovable_reset(&u);
        ck_assert_uint_eq(u.n, 0);
}
END_TEST

START_TEST(test_bounded) {
        Unmovable u = {0};
        char name[32], *kinds;
        unsigned n, total = 0;
        size_t said = 0;

        /* Names that never repeat a kind (letters, not digits): the table
         * stops at its bound instead of growing without end. */
        for (unsigned i = 0; i < UNMOVABLE_MAX_KINDS + 100; i++) {
                snprintf(name, sizeof name, "k%c%c%c", 'a' + i % 26, 'a' + (i / 26) % 26, 'a' + i / 676);
                ck_assert_int_eq(unmovable_note(&u, "r", name), 0);
        }
        ck_assert_uint_eq(u.n, UNMOVABLE_MAX_KINDS);
        while (unmovable_take(&u, &kinds, &n)) {
                total += n;
                said++;
                free(kinds);
        }
        ck_assert_uint_eq(said, 1);
        ck_assert_uint_eq(total, UNMOVABLE_MAX_KINDS);
        unmovable_reset(&u);
}
END_TEST

Suite *unmovable_suite(void) {
        Suite *s = suite_create("unmovable");
        TCase *tc = tcase_create("unmovable");
        tcase_add_test(tc, test_kind);
        tcase_add_test(tc, test_once_per_rule_and_kind);
        tcase_add_test(tc, test_bounded);
        suite_add_tcase(s, tc);
        return s;
}
