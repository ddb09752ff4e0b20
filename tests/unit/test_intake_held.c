/* SPDX-License-Identifier: MIT */
/* Items held back over one storm read, merged with the next read's. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "core/intake.h"
#include "lib/util.h"

static WorkItem item(pid_t tid, pid_t pid, unsigned want, const char *comm) {
        WorkItem w = {.tid = tid, .pid = pid, .want = want};
        if (comm)
                snprintf(w.comm, sizeof w.comm, "%s", comm);
        return w;
}

START_TEST(test_merge_held) {
        WorkItem held[] = {
                item(10, 10, WANT_PROCESS, NULL),             /* exits now: gone */
                item(20, 20, WANT_PROCESS, "old"),            /* execs now */
                item(30, 30, WANT_PROCESS | WANT_EXEC, NULL), /* nothing new: acted on now */
                item(50, 50, WANT_PROCESS, NULL),             /* recycled: exit and a new fork */
        };
        WorkItem now[] = {
                item(10, 10, WANT_GONE, NULL),
                item(20, 20, WANT_PROCESS | WANT_EXEC, NULL),
                item(40, 40, WANT_PROCESS, NULL),
                item(50, 50, WANT_GONE | WANT_PROCESS, NULL),
        };
        WorkItem out[8];
        size_t n = intake_merge_held(now, ELEMENTSOF(now), held, ELEMENTSOF(held), out);

        ck_assert_uint_eq(n, 5);
        /* Sorted by tid. */
        for (size_t i = 1; i < n; i++)
                ck_assert_int_lt(out[i - 1].tid, out[i].tid);
        ck_assert_int_eq(out[0].tid, 10);
        ck_assert_uint_eq(out[0].want, WANT_GONE);
        ck_assert_int_eq(out[1].tid, 20);
        ck_assert_uint_eq(out[1].want, WANT_PROCESS | WANT_EXEC);
        ck_assert_str_eq(out[1].comm, ""); /* the held name is from before the exec */
        ck_assert(out[1].held);
        ck_assert_int_eq(out[2].tid, 30);
        ck_assert(out[2].held);
        ck_assert_int_eq(out[3].tid, 40);
        ck_assert(!out[3].held); /* new in this read: may be held once */
        ck_assert_int_eq(out[4].tid, 50);
        ck_assert_uint_eq(out[4].want, WANT_GONE | WANT_PROCESS);
        ck_assert(!out[4].held); /* a new task behind a recycled tid */
}
END_TEST

START_TEST(test_merge_held_name) {
        WorkItem held[] = {item(7, 7, WANT_PROCESS, "renamed")};
        WorkItem now[] = {item(7, 7, WANT_THREAD, NULL)};
        WorkItem out[2];
        ck_assert_uint_eq(intake_merge_held(now, 1, held, 1, out), 1);
        ck_assert_uint_eq(out[0].want, WANT_PROCESS | WANT_THREAD);
        ck_assert_str_eq(out[0].comm, "renamed");
        ck_assert_uint_eq(intake_merge_held(now, 0, held, 1, out), 1);
        ck_assert(out[0].held);
        ck_assert_uint_eq(intake_merge_held(now, 1, held, 0, out), 1);
        ck_assert(!out[0].held);
}
END_TEST

Suite *intake_held_suite(void) {
        Suite *s = suite_create("intake_held");
        TCase *tc = tcase_create("merge");
        tcase_add_test(tc, test_merge_held);
        tcase_add_test(tc, test_merge_held_name);
        suite_add_tcase(s, tc);
        return s;
}
