/* SPDX-License-Identifier: MIT */
/* The thread table: growth, backward-shift deletion, iteration, spread load. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/affinity.h"
#include "lib/intmap.h"
#include "core/threads.h"

START_TEST(test_put_get_remove_many) {
        ThreadTable *t = thread_table_new();
        ck_assert_ptr_nonnull(t);
        /* Enough entries to grow several times and collide a lot. */
        for (pid_t tid = 1; tid <= 20000; tid++) {
                Thread *th = thread_table_put(t, tid / 10 + 1, tid, (uint64_t) tid * 3);
                ck_assert_ptr_nonnull(th);
        }
        ck_assert_uint_eq(thread_table_size(t), 20000);
        /* Remove every third, then every entry must still be found or gone. */
        for (pid_t tid = 1; tid <= 20000; tid += 3)
                thread_table_remove(t, tid);
        for (pid_t tid = 1; tid <= 20000; tid++) {
                Thread *th = thread_table_get(t, tid);
                if ((tid - 1) % 3 == 0)
                        ck_assert_ptr_null(th);
                else {
                        ck_assert_ptr_nonnull(th);
                        ck_assert_int_eq(th->tid, tid);
                        ck_assert_uint_eq(th->start, (uint64_t) tid * 3);
                }
        }
        size_t i = 0, n = 0;
        while (thread_table_next(t, &i))
                n++;
        ck_assert_uint_eq(n, thread_table_size(t));
        ck_assert_uint_eq(n, 20000 - 6667);
        thread_table_remove(t, 999999); /* absent: no-op */
        ck_assert_uint_eq(thread_table_size(t), n);
        thread_table_free(t);
}
END_TEST

START_TEST(test_put_replaces_stale) {
        ThreadTable *t = thread_table_new();
        Thread *th = thread_table_put(t, 10, 10, 100);
        th->rule = "old";
        ck_assert_int_eq(thread_set_names(th, "proc", "thr"), 0);
        th = thread_table_put(t, 10, 10, 200);
        ck_assert_uint_eq(thread_table_size(t), 1);
        ck_assert_uint_eq(thread_table_get(t, 10)->start, 200);
        ck_assert_ptr_null(thread_table_get(t, 10)->rule);
        ck_assert_int_eq(th->spread_cpu, -1);
        thread_table_free(t);
}
END_TEST

START_TEST(test_spread_load) {
        ThreadTable *t = thread_table_new();
        static const struct {
                pid_t pid, tid;
                const char *rule;
                int cpu;
        } rows[] = {
                {100, 101, "vcpu", 2},  {100, 102, "vcpu", 3}, {100, 103, "vcpu", 2},
                {100, 104, "other", 2}, {200, 201, "vcpu", 5}, {100, 105, "vcpu", -1},
        };
        for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
                Thread *th = thread_table_put(t, rows[k].pid, rows[k].tid, 1);
                th->rule = rows[k].rule;
                th->spread_cpu = rows[k].cpu;
        }
        unsigned *load = NULL, n = 0;
        ck_assert_int_eq(thread_table_spread_load(t, 100, "vcpu", 0, &load, &n), 0);
        ck_assert_uint_eq(n, 4);
        ck_assert_uint_eq(load[0], 0);
        ck_assert_uint_eq(load[2], 2);
        ck_assert_uint_eq(load[3], 1);
        free(load);
        /* The thread being placed does not count against itself. */
        ck_assert_int_eq(thread_table_spread_load(t, 100, "vcpu", 103, &load, &n), 0);
        ck_assert_uint_eq(load[2], 1);
        free(load);
        ck_assert_int_eq(thread_table_spread_load(t, 300, "vcpu", 0, &load, &n), 0);
        ck_assert_uint_eq(n, 0);
        free(load);
        thread_table_free(t);
}
END_TEST

START_TEST(test_pid_counts_and_names) {
        ThreadTable *t = thread_table_new();
        Thread *a = thread_table_put(t, 100, 100, 1);
        thread_table_put(t, 100, 101, 1);
        thread_table_put(t, 200, 201, 1);
        ck_assert(thread_table_has_pid(t, 100));
        ck_assert(thread_table_has_pid(t, 200));
        ck_assert(!thread_table_has_pid(t, 300));
        thread_table_remove(t, 100);
        ck_assert(thread_table_has_pid(t, 100));
        thread_table_remove(t, 101);
        ck_assert(!thread_table_has_pid(t, 100));
        /* A recycled tid moving to another process moves the count. */
        thread_table_put(t, 300, 201, 2);
        ck_assert(!thread_table_has_pid(t, 200));
        ck_assert(thread_table_has_pid(t, 300));

        a = thread_table_get(t, 201);
        ck_assert_str_eq(a->comm, "");
        ck_assert_int_eq(thread_set_names(a, "a) b (c", "x\ny"), 0);
        ck_assert_str_eq(a->comm, "a) b (c");
        ck_assert_str_eq(a->name, "x\ny");
        const char *before = a->comm;
        ck_assert_int_eq(thread_set_names(a, "a) b (c", "x\ny"), 0);
        ck_assert_ptr_eq(a->comm, before); /* unchanged: no reallocation */
        ck_assert_int_eq(thread_set_names(a, "kworker/u8:0-events_unbound", "w"), 0);
        ck_assert_str_eq(a->comm, "kworker/u8:0-events_unbound");
        ck_assert_str_eq(a->name, "w");
        thread_table_free(t);
}
END_TEST

START_TEST(test_intmap) {
        IntMap m = INTMAP_INIT;
        uintptr_t v;
        ck_assert(!intmap_get(&m, 5, &v));
        ck_assert(!intmap_remove(&m, 5, NULL));
        ck_assert_int_eq(intmap_put(&m, -1, 1, NULL), -EINVAL);
        /* Dense and colliding keys, then removal of every other one. */
        for (int32_t k = 0; k < 5000; k++)
                ck_assert_int_eq(intmap_put(&m, k * 64, (uintptr_t) k + 1, NULL), 0);
        ck_assert_int_eq(intmap_put(&m, 64, 99, &v), 1);
        ck_assert_uint_eq(v, 2);
        for (int32_t k = 0; k < 5000; k += 2)
                ck_assert(intmap_remove(&m, k * 64, NULL));
        for (int32_t k = 0; k < 5000; k++) {
                bool has = intmap_get(&m, k * 64, &v);
                ck_assert(has == (k % 2 == 1));
                if (has && k != 1)
                        ck_assert_uint_eq(v, (uintptr_t) k + 1);
        }
        ck_assert_uint_eq(intmap_size(&m), 2500);
        size_t i = 0, n = 0;
        while (intmap_next(&m, &i))
                n++;
        ck_assert_uint_eq(n, 2500);
        /* After a peak, the table shrinks with what it holds. */
        size_t peak = m.cap;
        for (int32_t k = 1; k < 5000; k += 2)
                if (k > 9)
                        ck_assert(intmap_remove(&m, k * 64, NULL));
        ck_assert_uint_eq(intmap_size(&m), 5);
        ck_assert_uint_le(m.cap, 64);
        ck_assert_uint_gt(peak, 4096);
        for (int32_t k = 1; k < 10; k += 2)
                ck_assert(intmap_get(&m, k * 64, NULL));
        intmap_done(&m);
}
END_TEST

START_TEST(test_status_mask) {
        CpuSet *s = NULL;
        const char *status = "Name:\tx\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1,4\nMems_allowed:\t1\n";
        ck_assert_int_eq(affinity_parse_status_buf(status, &s), 0);
        char *f = cpuset_format_list(s);
        ck_assert_str_eq(f, "0-1,4");
        free(f);
        cpuset_free(s);
        ck_assert_int_eq(affinity_parse_status_buf("Name:\tx\n", &s), -EBADMSG);
        ck_assert_int_eq(affinity_parse_status_buf("Name:\tx\nCpus_allowed_list:\tjunk\n", &s), -EBADMSG);
}
END_TEST

START_TEST(test_result_reasons) {
        for (int r = AFF_SET; r <= AFF_ERROR; r++) {
                const char *s = affinity_result_reason((AffinityResult) r);
                ck_assert_ptr_nonnull(s);
                ck_assert_uint_gt(strlen(s), 2);
        }
}
END_TEST

Suite *threads_suite(void) {
        Suite *s = suite_create("threads");
        TCase *tc = tcase_create("table");
        tcase_add_test(tc, test_put_get_remove_many);
        tcase_add_test(tc, test_put_replaces_stale);
        tcase_add_test(tc, test_spread_load);
        tcase_add_test(tc, test_pid_counts_and_names);
        tcase_add_test(tc, test_intmap);
        tcase_add_test(tc, test_status_mask);
        tcase_add_test(tc, test_result_reasons);
        suite_add_tcase(s, tc);
        return s;
}
