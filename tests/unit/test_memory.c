/* SPDX-License-Identifier: MIT */
/* core/memory.c: how big a move_pages call is, for a call whose cost is a
 * fixed part (the TLB flush) plus a part per page. */
#include <check.h>

#include "core/memory.h"
#include "lib/util.h"

/* clang-format off */
static const struct {
        const char *what;
        uint64_t fixed_us, per_page_ns;
        size_t expect;
} costs[] = {
        /* A real machine: ~20 µs a call, ~0.4 µs a page: calls of ~0.4-0.8 ms. */
        {"real machine", 20, 400, 1024},
        {"real machine, cheaper pages", 20, 100, 4096},
        /* Cheap pages: up to the largest batch. */
        {"cheap pages", 5, 10, MEMORY_BATCH_MAX},
        /* Slow pages, no fixed cost: down to the smallest batch, a huge page's. */
        {"slow pages", 0, 100000, MEMORY_BATCH_MIN},
        /* Proportional, 1 µs a page: the largest batch within 1 ms. */
        {"proportional", 0, 1000, 512},
        /* An emulator: 16 ms a call whatever its size; halving stops paying. */
        {"emulator", 16000, 30000, 512},
        {"emulator, cheap pages", 50000, 1000, 1024},
};
/* clang-format on */

START_TEST(test_batch_converges) {
        MemoryStep ms = {.batch = MEMORY_BATCH_START};
        for (int call = 0; call < 100; call++) {
                uint64_t dt = costs[_i].fixed_us + ms.batch * costs[_i].per_page_ns / 1000;
                memory_adapt_batch(&ms, ms.batch, dt);
                ck_assert_uint_ge(ms.batch, MEMORY_BATCH_MIN);
                ck_assert_uint_le(ms.batch, MEMORY_BATCH_MAX);
        }
        ck_assert_msg(ms.batch == costs[_i].expect, "%s: batch %zu, expected %zu", costs[_i].what, ms.batch,
                      costs[_i].expect);
}
END_TEST

/* The end of a range is a short call: it changes nothing. */
START_TEST(test_batch_short_call) {
        MemoryStep ms = {.batch = 1024};
        memory_adapt_batch(&ms, 3, 1);
        ck_assert_uint_eq(ms.batch, 1024);
        memory_adapt_batch(&ms, 100, 10 * 1000 * 1000);
        ck_assert_uint_eq(ms.batch, 1024);
        /* The machine gets slower: a floor found earlier gives way once calls are cheap again. */
        ms = (MemoryStep){.batch = 512, .batch_floor = 512};
        memory_adapt_batch(&ms, 512, 100);
        ck_assert_uint_eq(ms.batch, 1024);
        ck_assert_uint_eq(ms.batch_floor, 0);
}
END_TEST

Suite *memory_suite(void) {
        Suite *s = suite_create("memory");
        TCase *tc = tcase_create("memory");
        tcase_add_loop_test(tc, test_batch_converges, 0, (int) (sizeof costs / sizeof costs[0]));
        tcase_add_test(tc, test_batch_short_call);
        suite_add_tcase(s, tc);
        return s;
}
