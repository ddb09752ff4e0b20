/* SPDX-License-Identifier: MIT */
/* When intake defers reads: only while many events need no work. */
#include <check.h>

#include "core/driftwatch.h"
#include "core/pacing.h"

/* Feed reads of n events (busy of them needing work) every step_us for
 * total_us; returns the delay the last read asked for. */
static uint64_t feed(Pacing *p, uint64_t *t, uint64_t step_us, uint64_t total_us, unsigned n, unsigned busy) {
        uint64_t d = 0;
        for (uint64_t end = *t + total_us; *t < end; *t += step_us)
                d = pacing_after_read(p, *t, n, busy);
        return d;
}

START_TEST(test_quiet_never_defers) {
        Pacing p;
        uint64_t t = 1000000;
        pacing_init(&p, &PACING_DEFAULTS);
        /* One event every 10 ms: the idle host's background. */
        ck_assert_uint_eq(feed(&p, &t, 10000, 2000000, 1, 0), 0);
        /* A slow trickle read after a long gap is no storm either. */
        ck_assert_uint_eq(pacing_after_read(&p, t + 5000000, 40, 0), 0);
        ck_assert_uint_eq(p.storms, 0);
}
END_TEST

START_TEST(test_storm_defers_then_ends) {
        Pacing p;
        uint64_t t = 1000000;
        pacing_init(&p, &PACING_DEFAULTS);
        /* 4,500 events/s, one read per event (FIFO), 1 in 300 needs work:
         * deferral begins after the first window. */
        uint64_t d = 0;
        for (int i = 0; i < 100; i++, t += 222)
                d = pacing_after_read(&p, t, 1, i == 50);
        ck_assert_uint_eq(d, PACING_DEFAULTS.defer_usec);
        ck_assert_uint_eq(p.storms, 1);
        /* Deferred reads of ~18 events each keep it going. */
        ck_assert_uint_eq(feed(&p, &t, 4000, 200000, 18, 0), PACING_DEFAULTS.defer_usec);
        ck_assert_uint_eq(p.storms, 1);
        /* A dip to half the rate that started it does not end it. */
        ck_assert_uint_eq(feed(&p, &t, 4000, 24000, 4, 0), PACING_DEFAULTS.defer_usec);
        ck_assert_uint_eq(p.storms, 1);
        /* The storm stops: the next window's reads see almost nothing. */
        d = feed(&p, &t, 4000, 24000, 0, 0);
        ck_assert_uint_eq(d, 0);
        ck_assert(!p.storm);
}
END_TEST

START_TEST(test_busy_events_never_defer) {
        Pacing p;
        uint64_t t = 1000000;
        pacing_init(&p, &PACING_DEFAULTS);
        /* Sequential matching execs: fork, exec (needs work), exit, as fast
         * as they come: many events, but one in three needs work. */
        uint64_t d = 0;
        for (int i = 0; i < 3000; i++, t += 100)
                d = pacing_after_read(&p, t, 1, i % 3 == 1);
        ck_assert_uint_eq(d, 0);
        ck_assert_uint_eq(p.storms, 0);
}
END_TEST

START_TEST(test_work_during_storm_ends_it) {
        Pacing p;
        uint64_t t = 1000000;
        pacing_init(&p, &PACING_DEFAULTS);
        ck_assert_uint_ne(feed(&p, &t, 200, 20000, 1, 0), 0);
        /* Matching processes start in bulk: a window with work in it ends
         * the deferral. */
        ck_assert_uint_eq(feed(&p, &t, 4000, 16000, 18, 6), 0);
}
END_TEST

START_TEST(test_clock_backwards) {
        Pacing p;
        pacing_init(&p, &PACING_DEFAULTS);
        (void) pacing_after_read(&p, 5000000, 1, 0);
        /* A time before the window's start restarts it instead of
         * underflowing into a huge elapsed time. */
        ck_assert_uint_eq(pacing_after_read(&p, 1000, 1000, 0), 0);
        ck_assert_uint_eq(p.window_start, 1000);
}
END_TEST

/* Drift events: a thread setting a mask in a loop is read in batches
 * whatever the events are about (each may need work: a pinned thread that
 * drifted); a drift now and then is read at once. */
START_TEST(test_drift_pacing) {
        Pacing p;
        uint64_t t = 1000000;
        pacing_init(&p, &DRIFT_PACING);
        ck_assert_uint_eq(feed(&p, &t, 50000, 2000000, 1, 1), 0);
        ck_assert_uint_eq(p.storms, 0);
        /* 10,000 calls a second, each about a pinned thread. */
        ck_assert_uint_eq(feed(&p, &t, 100, 50000, 1, 1), DRIFT_PACING.defer_usec);
        ck_assert_uint_eq(p.storms, 1);
        /* Deferred reads of ~200 records each keep it going... */
        ck_assert_uint_eq(feed(&p, &t, 20000, 200000, 200, 200), DRIFT_PACING.defer_usec);
        /* ... until the loop stops. */
        ck_assert_uint_eq(feed(&p, &t, 20000, 100000, 0, 0), 0);
}
END_TEST

Suite *pacing_suite(void) {
        Suite *s = suite_create("pacing");
        TCase *tc = tcase_create("pacing");
        tcase_add_test(tc, test_quiet_never_defers);
        tcase_add_test(tc, test_storm_defers_then_ends);
        tcase_add_test(tc, test_busy_events_never_defer);
        tcase_add_test(tc, test_work_during_storm_ends_it);
        tcase_add_test(tc, test_clock_backwards);
        tcase_add_test(tc, test_drift_pacing);
        suite_add_tcase(s, tc);
        return s;
}
