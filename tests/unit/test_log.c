/* SPDX-License-Identifier: MIT */
/* The stderr form of log records and the storm limiter. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"

typedef struct {
        Logger l;
        char *buf;
        FILE *f;
} Capture;

/* stderr records go to a file of ours (writes never wait on it). */
static void capture_start(Capture *c, int level) {
        log_setup(&c->l, LOG_TARGET_STDERR, level);
        c->buf = NULL;
        c->f = tmpfile();
        ck_assert_ptr_nonnull(c->f);
        log_set_stderr_fd(&c->l, fileno(c->f));
}

static const char *capture_text(Capture *c) {
        struct stat st;
        ck_assert_int_eq(fstat(fileno(c->f), &st), 0);
        free(c->buf);
        c->buf = calloc(1, (size_t) st.st_size + 1);
        ck_assert_ptr_nonnull(c->buf);
        ck_assert_int_eq(pread(fileno(c->f), c->buf, (size_t) st.st_size, 0), st.st_size);
        return c->buf;
}

static void capture_done(Capture *c) {
        log_done(&c->l);
        fclose(c->f);
        free(c->buf);
}

START_TEST(test_fields_on_one_line) {
        Capture c;
        capture_start(&c, LOG_DEBUG);
        LogFields f = {.rule = "qemu vcpus",
                       .pid = 812,
                       .tid = 830,
                       .comm = "qemu\nx",
                       .thread = "CPU 1/KVM",
                       .cpus = "3",
                       .requested = "2-5",
                       .previous = "0-7"};
        log_event(&c.l, EV_APPLIED, LOG_INFO, &f, "pinned %s", "it");
        const char *t = capture_text(&c);
        ck_assert_str_eq(t, "pinnerd: info: pinned it [event=applied rule=\"qemu vcpus\" pid=812 tid=830 "
                            "comm=qemu\\nx thread=\"CPU 1/KVM\" cpus=3 requested=2-5 previous=0-7]\n");
        capture_done(&c);
}
END_TEST

START_TEST(test_hostile_values) {
        Capture c;
        capture_start(&c, LOG_DEBUG);
        LogFields f = {.tid = 5, .comm = "a\" b\\\xff", .thread = "x]y"};
        log_event(&c.l, EV_SKIPPED, LOG_NOTICE, &f, "m");
        ck_assert_str_eq(capture_text(&c),
                         "pinnerd: notice: m [event=skipped tid=5 comm=\"a\\\" b\\\\\\xff\" "
                         "thread=x]y]\n");
        capture_done(&c);
}
END_TEST

START_TEST(test_note_without_event) {
        Capture c;
        capture_start(&c, LOG_DEBUG);
        LogFields f = {.rule = "wide", .pid = 7, .tid = 8, .cpus = "1", .requested = "1-3"};
        log_note(&c.l, LOG_NOTICE, &f, "rule %s: CPUs 2-3 left out", "wide");
        ck_assert_str_eq(capture_text(&c), "pinnerd: notice: rule wide: CPUs 2-3 left out [rule=wide pid=7 "
                                           "tid=8 cpus=1 requested=1-3]\n");
        capture_done(&c);
}
END_TEST

START_TEST(test_level_filter) {
        Capture c;
        capture_start(&c, LOG_NOTICE);
        log_msg(&c.l, LOG_INFO, "hidden");
        log_msg(&c.l, LOG_WARNING, "shown %d", 1);
        ck_assert_str_eq(capture_text(&c), "pinnerd: warning: shown 1\n");
        capture_done(&c);
}
END_TEST

START_TEST(test_message_escaped) {
        Capture c;
        capture_start(&c, LOG_DEBUG);
        log_msg(&c.l, LOG_ERR, "a\nb\x01");
        ck_assert_str_eq(capture_text(&c), "pinnerd: err: a\\nb\\x01\n");
        capture_done(&c);
}
END_TEST

START_TEST(test_storm_summary) {
        Capture c;
        capture_start(&c, LOG_DEBUG);
        LogFields f = {.rule = "r", .pid = 1, .tid = 2};
        for (unsigned i = 0; i < LOG_STORM_BURST + 250; i++)
                log_event(&c.l, i % 2 ? EV_APPLIED : EV_SKIPPED, LOG_INFO, &f, "record %u", i);
        /* Records without a thread are never held back. */
        log_event(&c.l, EV_RELOADED, LOG_INFO, NULL, "reloaded");
        const char *t = capture_text(&c);
        size_t lines = 0;
        for (const char *p = t; *p; p++)
                lines += *p == '\n';
        ck_assert_uint_eq(lines, LOG_STORM_BURST + 1);
        ck_assert_ptr_null(strstr(t, "record 1000 "));
        ck_assert(log_storm_flush(&c.l, now_usec()));
        ck_assert(!log_storm_flush(&c.l, now_usec() + LOG_STORM_WINDOW_USEC + 1));
        ck_assert_ptr_nonnull(strstr(capture_text(&c),
                                     "suppressed 250 thread records in 10 s (applied 125, skipped 125; about "
                                     "processes of other 250)"));
        capture_done(&c);
}
END_TEST

/* One user's flood under a broad rule fills its own budget only: records
 * about root's and another user's processes still pass, and the summary
 * names whose records were held back. */
START_TEST(test_storm_per_user) {
        Capture c;
        capture_start(&c, LOG_DEBUG);
        LogFields flood = {.rule = "r", .pid = 1, .tid = 2, .uid = 65534, .has_uid = true};
        LogFields svc = {.rule = "r", .pid = 3, .tid = 4, .uid = 0, .has_uid = true};
        LogFields other = {.rule = "r", .pid = 5, .tid = 6, .uid = 1000, .has_uid = true};
        for (unsigned i = 0; i < 3 * LOG_STORM_BURST; i++)
                log_event(&c.l, EV_APPLIED, LOG_INFO, &flood, "flood %u", i);
        for (unsigned i = 0; i < 10; i++) {
                log_event(&c.l, EV_APPLIED, LOG_INFO, &svc, "service %u", i);
                log_event(&c.l, EV_APPLIED, LOG_INFO, &other, "other %u", i);
        }
        const char *t = capture_text(&c);
        ck_assert_ptr_nonnull(strstr(t, "service 9 "));
        ck_assert_ptr_nonnull(strstr(t, "other 9 "));
        ck_assert_ptr_nonnull(strstr(t, "flood 999 "));
        ck_assert_ptr_null(strstr(t, "flood 1000 "));
        ck_assert(!log_storm_flush(&c.l, now_usec() + LOG_STORM_WINDOW_USEC + 1));
        ck_assert_ptr_nonnull(strstr(capture_text(&c),
                                     "suppressed 2000 thread records in 10 s (applied 2000; about "
                                     "processes of uid 65534: 2000)"));
        capture_done(&c);
}
END_TEST

/* Many users each within their budget: the total still stops at
 * LOG_STORM_TOTAL per window. */
START_TEST(test_storm_total) {
        Capture c;
        capture_start(&c, LOG_DEBUG);
        for (unsigned u = 0; u < 8; u++)
                for (unsigned i = 0; i < LOG_STORM_BURST; i++) {
                        LogFields f = {.pid = 1, .tid = 2, .uid = 2000 + u, .has_uid = true};
                        log_event(&c.l, EV_APPLIED, LOG_INFO, &f, "u%u r%u", u, i);
                }
        const char *t = capture_text(&c);
        size_t lines = 0;
        for (const char *p = t; *p; p++)
                lines += *p == '\n';
        ck_assert_uint_eq(lines, LOG_STORM_TOTAL);
        capture_done(&c);
}
END_TEST

START_TEST(test_names_and_ids) {
        static const char *const names[] = {
                "started",  "reloaded",    "reload-failed", "applied",  "restored",     "skipped",  "failed",
                "drift",    "events-lost", "rescan",        "stopping", "records-lost", "conflict", "applied",
                "restored", "skipped",     "failed",        "drift",    "memory"};
        ck_assert_int_eq(sizeof names / sizeof names[0], _EV_MAX);
        for (int k = 0; k < _EV_MAX; k++) {
                ck_assert_str_eq(event_kind_name((EventKind) k), names[k]);
                const char *id = event_message_id((EventKind) k);
                ck_assert_uint_eq(strlen(id), 32);
                for (int j = 0; j < k; j++)
                        ck_assert_str_ne(id, event_message_id((EventKind) j));
        }
        int level;
        LogTarget target;
        ck_assert_int_eq(log_parse_level("warning", &level), 0);
        ck_assert_int_eq(level, LOG_WARNING);
        ck_assert_int_lt(log_parse_level("loud", &level), 0);
        ck_assert_int_eq(log_parse_target("journal", &target), 0);
        ck_assert_int_eq(target, LOG_TARGET_JOURNAL);
        ck_assert_int_lt(log_parse_target("syslog", &target), 0);
}
END_TEST

Suite *log_suite(void) {
        Suite *s = suite_create("log");
        TCase *tc = tcase_create("stderr");
        tcase_add_test(tc, test_fields_on_one_line);
        tcase_add_test(tc, test_hostile_values);
        tcase_add_test(tc, test_note_without_event);
        tcase_add_test(tc, test_level_filter);
        tcase_add_test(tc, test_message_escaped);
        tcase_add_test(tc, test_storm_summary);
        tcase_add_test(tc, test_storm_per_user);
        tcase_add_test(tc, test_storm_total);
        tcase_add_test(tc, test_names_and_ids);
        suite_add_tcase(s, tc);
        return s;
}
