/* SPDX-License-Identifier: MIT */
/* metrics.c: the latency histogram's buckets and the Prometheus text
 * exposition, including rule names no config should hold but a renderer
 * must survive. */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "lib/metrics.h"

START_TEST(test_bounds_ascending) {
        for (size_t i = 1; i < METRICS_N_BUCKETS; i++)
                ck_assert_uint_lt(metrics_bucket_bound_ns(i - 1), metrics_bucket_bound_ns(i));
        ck_assert_uint_eq(metrics_bucket_bound_ns(0), 10000);
        ck_assert_uint_eq(metrics_bucket_bound_ns(METRICS_N_BUCKETS), UINT64_MAX);
}
END_TEST

START_TEST(test_observe_buckets) {
        MetricsHistogram h = {0};
        metrics_observe(&h, 0);                /* le 1e-05 */
        metrics_observe(&h, 10000);            /* exactly on a bound: that bucket */
        metrics_observe(&h, 10001);            /* next one */
        metrics_observe(&h, 120000);           /* 120 µs: le 0.00025 */
        metrics_observe(&h, 3600000000000ull); /* an hour: +Inf */
        ck_assert_uint_eq(h.counts[0], 2);
        ck_assert_uint_eq(h.counts[1], 1);
        ck_assert_uint_eq(h.counts[4], 1);
        ck_assert_uint_eq(h.counts[METRICS_N_BUCKETS], 1);
        ck_assert_uint_eq(h.count, 5);
        ck_assert_uint_eq(h.sum_ns, 10000 + 10001 + 120000 + 3600000000000ull);
}
END_TEST

static char *render(const MetricsSnapshot *s) {
        OutBuf o = OUTBUF_INIT;
        ck_assert_int_eq(metrics_render(s, &o), 0);
        char *r = strdup(outbuf_str(&o));
        outbuf_done(&o);
        return r;
}

static bool has_line(const char *text, const char *line) {
        size_t n = strlen(line);
        for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
                        return true;
        return false;
}

START_TEST(test_render_names_help_type) {
        MetricsRule rules[] = {{.name = "vms", .threads = 4, .applied = 6, .failed = 1},
                               {.name = "postgres"}};
        MetricsSnapshot s = {.events = 17,
                             .lost_event_rescans = 1,
                             .rescans = 3,
                             .applied = 9,
                             .restored = 2,
                             .skipped = 5,
                             .failed = 6,
                             .drift = 7,
                             .managed_threads = 4,
                             .rules = rules,
                             .n_rules = 2,
                             .memory_moved = 65536,
                             .memory_shared = 12,
                             .memory_busy = 3,
                             .memory_no_memory = 0,
                             .memory_other = 1,
                             .memory_usec = 2500001};
        char *t = render(&s);
        static const struct {
                const char *name, *type;
        } metrics[] = {
                {"pinnerd_events_total", "counter"},
                {"pinnerd_lost_event_rescans_total", "counter"},
                {"pinnerd_rescans_total", "counter"},
                {"pinnerd_applied_total", "counter"},
                {"pinnerd_restored_total", "counter"},
                {"pinnerd_skipped_total", "counter"},
                {"pinnerd_failed_total", "counter"},
                {"pinnerd_drift_total", "counter"},
                {"pinnerd_managed_threads", "gauge"},
                {"pinnerd_rule_threads", "gauge"},
                {"pinnerd_rule_outcomes_total", "counter"},
                {"pinnerd_event_to_pin_seconds", "histogram"},
                {"pinnerd_memory_pages_moved_total", "counter"},
                {"pinnerd_memory_pages_unmovable_total", "counter"},
                {"pinnerd_memory_move_seconds_total", "counter"},
        };
        for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++) {
                char line[128], help[128];
                snprintf(line, sizeof line, "# TYPE %s %s", metrics[i].name, metrics[i].type);
                ck_assert_msg(has_line(t, line), "missing '%s' in:\n%s", line, t);
                snprintf(help, sizeof help, "# HELP %s ", metrics[i].name);
                ck_assert_msg(strstr(t, help), "missing HELP of %s", metrics[i].name);
        }
        ck_assert(has_line(t, "pinnerd_events_total 17"));
        ck_assert(has_line(t, "pinnerd_lost_event_rescans_total 1"));
        ck_assert(has_line(t, "pinnerd_failed_total 6"));
        ck_assert(has_line(t, "pinnerd_drift_total 7"));
        ck_assert(has_line(t, "pinnerd_managed_threads 4"));
        ck_assert(has_line(t, "pinnerd_rule_threads{rule=\"vms\"} 4"));
        ck_assert(has_line(t, "pinnerd_rule_threads{rule=\"postgres\"} 0"));
        /* Every outcome of every rule, zeros too (rate() needs the series). */
        ck_assert(has_line(t, "pinnerd_rule_outcomes_total{rule=\"vms\",outcome=\"applied\"} 6"));
        ck_assert(has_line(t, "pinnerd_rule_outcomes_total{rule=\"vms\",outcome=\"failed\"} 1"));
        ck_assert(has_line(t, "pinnerd_rule_outcomes_total{rule=\"postgres\",outcome=\"drift\"} 0"));
        /* No histogram yet: all zero, every bucket present. */
        ck_assert(has_line(t, "pinnerd_event_to_pin_seconds_bucket{le=\"+Inf\"} 0"));
        ck_assert(has_line(t, "pinnerd_event_to_pin_seconds_count 0"));
        ck_assert(has_line(t, "pinnerd_event_to_pin_seconds_sum 0.000000000"));
        ck_assert(has_line(t, "pinnerd_memory_pages_moved_total 65536"));
        ck_assert(has_line(t, "pinnerd_memory_pages_unmovable_total{reason=\"shared\"} 12"));
        ck_assert(has_line(t, "pinnerd_memory_pages_unmovable_total{reason=\"busy\"} 3"));
        ck_assert(has_line(t, "pinnerd_memory_pages_unmovable_total{reason=\"no-memory\"} 0"));
        ck_assert(has_line(t, "pinnerd_memory_pages_unmovable_total{reason=\"other\"} 1"));
        ck_assert(has_line(t, "pinnerd_memory_move_seconds_total 2.500001"));
        /* Never a pid or tid label. */
        ck_assert_ptr_null(strstr(t, "pid="));
        ck_assert_ptr_null(strstr(t, "tid="));
        /* Ends with a newline, no blank lines. */
        ck_assert_int_eq(t[strlen(t) - 1], '\n');
        ck_assert_ptr_null(strstr(t, "\n\n"));
        free(t);
}
END_TEST

START_TEST(test_render_histogram_cumulative) {
        MetricsHistogram h = {0};
        metrics_observe(&h, 80000);       /* 80 µs */
        metrics_observe(&h, 90000);       /* 90 µs */
        metrics_observe(&h, 3000000);     /* 3 ms */
        metrics_observe(&h, 20000000000); /* 20 s */
        MetricsSnapshot s = {.event_to_pin = &h};
        char *t = render(&s);
        ck_assert(has_line(t, "pinnerd_event_to_pin_seconds_bucket{le=\"5e-05\"} 0"));
        ck_assert(has_line(t, "pinnerd_event_to_pin_seconds_bucket{le=\"0.0001\"} 2"));
        ck_assert(has_line(t, "pinnerd_event_to_pin_seconds_bucket{le=\"0.0025\"} 2"));
        ck_assert(has_line(t, "pinnerd_event_to_pin_seconds_bucket{le=\"0.005\"} 3"));
        ck_assert(has_line(t, "pinnerd_event_to_pin_seconds_bucket{le=\"10\"} 3"));
        ck_assert(has_line(t, "pinnerd_event_to_pin_seconds_bucket{le=\"+Inf\"} 4"));
        ck_assert(has_line(t, "pinnerd_event_to_pin_seconds_count 4"));
        ck_assert(has_line(t, "pinnerd_event_to_pin_seconds_sum 20.003170000"));
        /* Buckets in ascending order, +Inf last, then sum and count. */
        const char *a = strstr(t, "le=\"1e-05\""), *b = strstr(t, "le=\"2.5\""),
                   *c = strstr(t, "le=\"+Inf\""), *d = strstr(t, "_sum "), *e = strstr(t, "_count ");
        ck_assert(a && b && c && d && e && a < b && b < c && c < d && d < e);
        free(t);
}
END_TEST

typedef struct EscapeCase {
        const char *in, *out;
} EscapeCase;

static const EscapeCase escapes[] = {
        {"plain", "plain"},
        {"a\\b", "a\\\\b"},
        {"say \"hi\"", "say \\\"hi\\\""},
        {"two\nlines", "two\\nlines"},
        {"\\\"\n", "\\\\\\\"\\n"},
        {"} 1\nfake_metric 99", "} 1\\nfake_metric 99"},
        {"caf\xc3\xa9", "caf\xc3\xa9"},
        {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},
        /* Invalid UTF-8 has no escape in the format: U+FFFD, byte by byte. */
        {"x\xff", "x\xef\xbf\xbd"},
        {"\xc3", "\xef\xbf\xbd"},
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"", ""},
};

START_TEST(test_escape_label) {
        const EscapeCase *c = &escapes[_i];
        OutBuf o = OUTBUF_INIT;
        ck_assert_int_eq(metrics_escape_label(&o, c->in), 0);
        ck_assert_str_eq(outbuf_str(&o), c->out);
        outbuf_done(&o);
}
END_TEST

/* A rule name that tries to end the label, the sample and the line and add a
 * sample of its own: it stays one label value on one line. */
START_TEST(test_hostile_rule_name) {
        MetricsRule rules[] = {{.name = "x\"} 1\npinnerd_failed_total 0\n# \\", .threads = 3}};
        MetricsSnapshot s = {.failed = 5, .rules = rules, .n_rules = 1};
        char *t = render(&s);
        ck_assert(has_line(t, "pinnerd_rule_threads{rule=\"x\\\"} 1\\npinnerd_failed_total 0\\n# \\\\\"} 3"));
        ck_assert(has_line(t, "pinnerd_failed_total 5"));
        ck_assert(!has_line(t, "pinnerd_failed_total 0"));
        size_t lines = 0;
        for (const char *p = t; *p; p++)
                lines += *p == '\n';
        /* 8 counters (3 lines each), outcomes per rule (2 + 5), managed
         * (3), rule_threads (2 + 1), histogram (2 + 19 buckets + sum +
         * count), memory: pages moved (3), unmovable by 4 reasons (2 + 4),
         * seconds (3); no version: no build info, start time or reload
         * gauges. */
        ck_assert_uint_eq(lines, 8 * 3 + 2 + 5 + 3 + 3 + 2 + 19 + 2 + 3 + 2 + 4 + 3);
        free(t);
}
END_TEST

/* What an operator alerts on: the build, the start, the last reload, and the
 * degraded modes as enum gauges (every state listed, one of them 1). */
START_TEST(test_render_alerting_gauges) {
        MetricsSnapshot s = {.version = "1.2.3",
                             .start_realtime_usec = 1700000000123456ull,
                             .config_ok = false,
                             .config_success_realtime_usec = 1700000100000001ull,
                             .event_source = "polling",
                             .drift_events = "tracepoint"};
        char *t = render(&s);
        static const char *const types[] = {
                "# TYPE pinnerd_build_info gauge",
                "# TYPE pinnerd_start_time_seconds gauge",
                "# TYPE pinnerd_config_last_reload_successful gauge",
                "# TYPE pinnerd_config_last_reload_success_timestamp_seconds gauge",
                "# TYPE pinnerd_event_source gauge",
                "# TYPE pinnerd_drift_events_source gauge",
        };
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
                ck_assert_msg(has_line(t, types[i]), "missing '%s' in:\n%s", types[i], t);
        ck_assert(has_line(t, "pinnerd_build_info{version=\"1.2.3\"} 1"));
        ck_assert(has_line(t, "pinnerd_start_time_seconds 1700000000.123456"));
        ck_assert(has_line(t, "pinnerd_config_last_reload_successful 0"));
        ck_assert(has_line(t, "pinnerd_config_last_reload_success_timestamp_seconds 1700000100.000001"));
        ck_assert(has_line(t, "pinnerd_event_source{source=\"proc-connector\"} 0"));
        ck_assert(has_line(t, "pinnerd_event_source{source=\"polling\"} 1"));
        ck_assert(has_line(t, "pinnerd_drift_events_source{source=\"tracepoint\"} 1"));
        ck_assert(has_line(t, "pinnerd_drift_events_source{source=\"verify\"} 0"));
        free(t);
        /* A state no list knows is still one series with 1, escaped. */
        s.event_source = "single \"scan\"";
        t = render(&s);
        ck_assert(has_line(t, "pinnerd_event_source{source=\"single \\\"scan\\\"\"} 1"));
        ck_assert(has_line(t, "pinnerd_event_source{source=\"polling\"} 0"));
        free(t);
}
END_TEST

/* --json: one document with the same numbers. */
START_TEST(test_render_json) {
        MetricsHistogram h = {0};
        metrics_observe(&h, 80000);
        MetricsRule rules[] = {{.name = "vms", .threads = 2, .skipped = 3}};
        MetricsSnapshot s = {.version = "1.2.3",
                             .config_ok = true,
                             .event_source = "proc-connector",
                             .drift_events = "verify",
                             .applied = 4,
                             .rules = rules,
                             .n_rules = 1,
                             .event_to_pin = &h};
        OutBuf o = OUTBUF_INIT;
        ck_assert_int_eq(metrics_render_json(&s, &o), 0);
        const char *t = outbuf_str(&o);
        ck_assert_ptr_nonnull(strstr(t, "\"version\":\"1.2.3\""));
        ck_assert_ptr_nonnull(strstr(t, "\"config_last_reload_successful\":true"));
        ck_assert_ptr_nonnull(strstr(t, "\"event_source\":\"proc-connector\""));
        ck_assert_ptr_nonnull(strstr(t, "\"applied\":4"));
        ck_assert_ptr_nonnull(
                strstr(t, "{\"name\":\"vms\",\"threads\":2,\"outcomes\":{\"applied\":0,\"restored\":0,"
                          "\"skipped\":3,\"failed\":0,\"drift\":0}}"));
        ck_assert_ptr_nonnull(strstr(t, "{\"le\":\"0.0001\",\"count\":1}"));
        ck_assert_ptr_nonnull(strstr(t, "{\"le\":\"+Inf\",\"count\":1}"));
        ck_assert_ptr_nonnull(strstr(t, "\"sum_ns\":80000,\"count\":1}"));
        ck_assert_int_eq(t[strlen(t) - 1], '\n');
        outbuf_done(&o);
}
END_TEST

/* A reply past the buffer's limit is an error, not a truncated exposition. */
START_TEST(test_render_bounded) {
        MetricsRule rules[] = {{.name = "r", .threads = 1}};
        MetricsSnapshot s = {.rules = rules, .n_rules = 1};
        OutBuf o = {.max = 64};
        ck_assert_int_eq(metrics_render(&s, &o), -ENOBUFS);
        outbuf_done(&o);
}
END_TEST

Suite *metrics_suite(void) {
        Suite *s = suite_create("metrics");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_bounds_ascending);
        tcase_add_test(tc, test_observe_buckets);
        tcase_add_test(tc, test_render_alerting_gauges);
        tcase_add_test(tc, test_render_json);
        tcase_add_test(tc, test_render_names_help_type);
        tcase_add_test(tc, test_render_histogram_cumulative);
        tcase_add_loop_test(tc, test_escape_label, 0, sizeof escapes / sizeof escapes[0]);
        tcase_add_test(tc, test_hostile_rule_name);
        tcase_add_test(tc, test_render_bounded);
        suite_add_tcase(s, tc);
        return s;
}
