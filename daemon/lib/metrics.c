/* SPDX-License-Identifier: MIT */
#include "lib/metrics.h"

#include <inttypes.h>
#include <stddef.h>
#include <string.h>

/* Bounds and their `le` labels, written out so the label is exact (no
 * float formatting) and stable across versions. */
static const struct {
        uint64_t ns;
        const char *le;
} buckets[METRICS_N_BUCKETS] = {
        {10000, "1e-05"},   {25000, "2.5e-05"},   {50000, "5e-05"},
        {100000, "0.0001"}, {250000, "0.00025"},  {500000, "0.0005"},
        {1000000, "0.001"}, {2500000, "0.0025"},  {5000000, "0.005"},
        {10000000, "0.01"}, {25000000, "0.025"},  {50000000, "0.05"},
        {100000000, "0.1"}, {250000000, "0.25"},  {500000000, "0.5"},
        {1000000000, "1"},  {2500000000u, "2.5"}, {UINT64_C(10000000000), "10"},
};

uint64_t metrics_bucket_bound_ns(size_t i) {
        return i < METRICS_N_BUCKETS ? buckets[i].ns : UINT64_MAX;
}

void metrics_observe(MetricsHistogram *h, uint64_t ns) {
        size_t i = 0;
        while (i < METRICS_N_BUCKETS && ns > buckets[i].ns)
                i++;
        h->counts[i]++;
        h->count++;
        h->sum_ns += ns;
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, nothing past U+10FFFF), or 0. */
static size_t utf8_valid_len(const unsigned char *s) {
        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                return (s[1] & 0xc0) == 0x80 ? 2 : 0;
        if (s[0] >= 0xe0 && s[0] <= 0xef) {
                unsigned char lo = s[0] == 0xe0 ? 0xa0 : 0x80, hi = s[0] == 0xed ? 0x9f : 0xbf;
                return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
        }
        if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                unsigned char lo = s[0] == 0xf0 ? 0x90 : 0x80, hi = s[0] == 0xf4 ? 0x8f : 0xbf;
                return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80 ? 4 : 0;
        }
        return 0;
}

int metrics_escape_label(OutBuf *out, const char *s) {
        const unsigned char *p = (const unsigned char *) s;
        while (*p) {
                size_t n;
                if (*p == '\\')
                        outbuf_puts(out, "\\\\");
                else if (*p == '"')
                        outbuf_puts(out, "\\\"");
                else if (*p == '\n')
                        outbuf_puts(out, "\\n");
                else if ((n = utf8_valid_len(p)) > 0) {
                        outbuf_append(out, p, n);
                        p += n;
                        continue;
                } else
                        /* The format is UTF-8; an invalid byte has no escape. */
                        outbuf_puts(out, "\xef\xbf\xbd");
                p++;
        }
        return outbuf_error(out);
}

static void header(OutBuf *out, const char *name, const char *type, const char *help) {
        outbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counter(OutBuf *out, const char *name, const char *help, uint64_t v) {
        header(out, name, "counter", help);
        outbuf_printf(out, "%s %" PRIu64 "\n", name, v);
}

/* Seconds since the epoch with microseconds, as Prometheus' own
 * process_start_time_seconds. */
static void seconds(OutBuf *out, uint64_t usec) {
        outbuf_printf(out, "%" PRIu64 ".%06" PRIu64, usec / 1000000u, usec % 1000000u);
}

/* An enum as gauges: one series per known state, 1 for the current one
 * (which is added when it is not one of the known). */
static void enum_gauge(OutBuf *out, const char *name, const char *help, const char *const *states, size_t n,
                       const char *now) {
        bool known = false;

        header(out, name, "gauge", help);
        for (size_t i = 0; i < n; i++) {
                bool is = strcmp(states[i], now) == 0;
                known |= is;
                outbuf_printf(out, "%s{source=\"%s\"} %d\n", name, states[i], is);
        }
        if (!known) {
                outbuf_printf(out, "%s{source=\"", name);
                metrics_escape_label(out, now);
                outbuf_puts(out, "\"} 1\n");
        }
}

static const char *const event_sources[] = {"proc-connector", "polling"};
static const char *const drift_sources[] = {"tracepoint", "verify"};

static const struct {
        const char *name;
        size_t offset;
} outcomes[] = {
        {"applied", offsetof(MetricsRule, applied)}, {"restored", offsetof(MetricsRule, restored)},
        {"skipped", offsetof(MetricsRule, skipped)}, {"failed", offsetof(MetricsRule, failed)},
        {"drift", offsetof(MetricsRule, drift)},
};

static uint64_t outcome(const MetricsRule *r, size_t i) {
        return *(const uint64_t *) ((const char *) r + outcomes[i].offset);
}

int metrics_render(const MetricsSnapshot *s, OutBuf *out) {
        static const MetricsHistogram empty = {0};
        const MetricsHistogram *h = s->event_to_pin ? s->event_to_pin : &empty;
        uint64_t cum = 0;

        if (s->version) {
                header(out, "pinnerd_build_info", "gauge", "Always 1; the version of the running pinnerd.");
                outbuf_puts(out, "pinnerd_build_info{version=\"");
                metrics_escape_label(out, s->version);
                outbuf_puts(out, "\"} 1\n");
                header(out, "pinnerd_start_time_seconds", "gauge",
                       "When pinnerd started, in seconds since the epoch.");
                outbuf_puts(out, "pinnerd_start_time_seconds ");
                seconds(out, s->start_realtime_usec);
                outbuf_putc(out, '\n');
                header(out, "pinnerd_config_last_reload_successful", "gauge",
                       "1 when the last reload (or the start) read a valid configuration; 0: the files on "
                       "disk are rejected and a restart would fail.");
                outbuf_printf(out, "pinnerd_config_last_reload_successful %d\n", s->config_ok);
                header(out, "pinnerd_config_last_reload_success_timestamp_seconds", "gauge",
                       "When a configuration was last read successfully (start or reload).");
                outbuf_puts(out, "pinnerd_config_last_reload_success_timestamp_seconds ");
                seconds(out, s->config_success_realtime_usec);
                outbuf_putc(out, '\n');
        }
        if (s->event_source)
                enum_gauge(out, "pinnerd_event_source",
                           "Where process events come from: the proc connector, or polling /proc (degraded).",
                           event_sources, ELEMENTSOF(event_sources), s->event_source);
        if (s->drift_events)
                enum_gauge(out, "pinnerd_drift_events_source",
                           "How drift is noticed: sched_setaffinity tracepoints, or only the verify timer "
                           "(degraded).",
                           drift_sources, ELEMENTSOF(drift_sources), s->drift_events);

        counter(out, "pinnerd_events_total", "Process events received from the kernel.", s->events);
        counter(out, "pinnerd_lost_event_rescans_total",
                "Full /proc rescans because the kernel dropped process events.", s->lost_event_rescans);
        counter(out, "pinnerd_rescans_total", "Full /proc rescans, for any reason.", s->rescans);
        counter(out, "pinnerd_applied_total", "Thread CPU masks set by a rule.", s->applied);
        counter(out, "pinnerd_restored_total", "Thread CPU masks put back to their original.", s->restored);
        counter(out, "pinnerd_skipped_total",
                "Threads a rule matched but left alone (no usable CPU, EINVAL, EBUSY).", s->skipped);
        counter(out, "pinnerd_failed_total", "Failures to set or restore a thread's CPU mask (EPERM, ...).",
                s->failed);
        counter(out, "pinnerd_drift_total", "Pinned threads whose mask something else changed.", s->drift);

        header(out, "pinnerd_rule_outcomes_total", "counter",
               "Outcomes for the threads of each rule (applied, restored, skipped, failed, drift); the "
               "unlabelled *_total counters are their sums.");
        for (size_t i = 0; i < s->n_rules; i++)
                for (size_t k = 0; k < ELEMENTSOF(outcomes); k++) {
                        outbuf_puts(out, "pinnerd_rule_outcomes_total{rule=\"");
                        metrics_escape_label(out, s->rules[i].name);
                        outbuf_printf(out, "\",outcome=\"%s\"} %" PRIu64 "\n", outcomes[k].name,
                                      outcome(&s->rules[i], k));
                }

        header(out, "pinnerd_managed_threads", "gauge", "Threads pinnerd currently manages.");
        outbuf_printf(out, "pinnerd_managed_threads %" PRIu64 "\n", s->managed_threads);

        header(out, "pinnerd_rule_threads", "gauge", "Threads each rule currently holds pinned.");
        for (size_t i = 0; i < s->n_rules; i++) {
                outbuf_puts(out, "pinnerd_rule_threads{rule=\"");
                metrics_escape_label(out, s->rules[i].name);
                outbuf_printf(out, "\"} %" PRIu64 "\n", s->rules[i].threads);
        }

        header(out, "pinnerd_event_to_pin_seconds", "histogram",
               "From the kernel's process event (its timestamp) to the thread's CPU mask being set.");
        for (size_t i = 0; i < METRICS_N_BUCKETS; i++) {
                cum += h->counts[i];
                outbuf_printf(out, "pinnerd_event_to_pin_seconds_bucket{le=\"%s\"} %" PRIu64 "\n",
                              buckets[i].le, cum);
        }
        cum += h->counts[METRICS_N_BUCKETS];
        outbuf_printf(out, "pinnerd_event_to_pin_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", cum);
        outbuf_printf(out, "pinnerd_event_to_pin_seconds_sum %" PRIu64 ".%09" PRIu64 "\n",
                      h->sum_ns / 1000000000u, h->sum_ns % 1000000000u);
        outbuf_printf(out, "pinnerd_event_to_pin_seconds_count %" PRIu64 "\n", h->count);

        counter(out, "pinnerd_memory_pages_moved_total",
                "Pages moved to the NUMA nodes of their process's CPUs (memory = follow | interleave).",
                s->memory_moved);
        header(out, "pinnerd_memory_pages_unmovable_total", "counter",
               "Pages that could not move, by reason: shared with other processes, pinned or busy, no free "
               "memory on the target node, other.");
        static const char *const reasons[] = {"shared", "busy", "no-memory", "other"};
        const uint64_t counts[] = {s->memory_shared, s->memory_busy, s->memory_no_memory, s->memory_other};
        for (size_t i = 0; i < 4; i++)
                outbuf_printf(out, "pinnerd_memory_pages_unmovable_total{reason=\"%s\"} %" PRIu64 "\n",
                              reasons[i], counts[i]);
        header(out, "pinnerd_memory_move_seconds_total", "counter", "Time pinnerd spent moving pages.");
        outbuf_printf(out, "pinnerd_memory_move_seconds_total %" PRIu64 ".%06" PRIu64 "\n",
                      s->memory_usec / 1000000u, s->memory_usec % 1000000u);
        return outbuf_error(out);
}

int metrics_render_json(const MetricsSnapshot *s, OutBuf *out) {
        static const MetricsHistogram empty = {0};
        const MetricsHistogram *h = s->event_to_pin ? s->event_to_pin : &empty;
        uint64_t cum = 0;
        JsonWriter w;

        json_init(&w, out);
        json_object_begin(&w);
        json_field_string(&w, "version", s->version);
        json_field_uint(&w, "start_time_usec", s->start_realtime_usec);
        json_field_bool(&w, "config_last_reload_successful", s->config_ok);
        json_field_uint(&w, "config_last_reload_success_timestamp_usec", s->config_success_realtime_usec);
        json_field_string(&w, "event_source", s->event_source);
        json_field_string(&w, "drift_events_source", s->drift_events);
        json_key(&w, "counters");
        json_object_begin(&w);
        json_field_uint(&w, "events", s->events);
        json_field_uint(&w, "lost_event_rescans", s->lost_event_rescans);
        json_field_uint(&w, "rescans", s->rescans);
        json_field_uint(&w, "applied", s->applied);
        json_field_uint(&w, "restored", s->restored);
        json_field_uint(&w, "skipped", s->skipped);
        json_field_uint(&w, "failed", s->failed);
        json_field_uint(&w, "drift", s->drift);
        json_object_end(&w);
        json_field_uint(&w, "managed_threads", s->managed_threads);
        json_key(&w, "rules");
        json_array_begin(&w);
        for (size_t i = 0; i < s->n_rules; i++) {
                json_object_begin(&w);
                json_field_string(&w, "name", s->rules[i].name);
                json_field_uint(&w, "threads", s->rules[i].threads);
                json_key(&w, "outcomes");
                json_object_begin(&w);
                for (size_t k = 0; k < ELEMENTSOF(outcomes); k++)
                        json_field_uint(&w, outcomes[k].name, outcome(&s->rules[i], k));
                json_object_end(&w);
                json_object_end(&w);
        }
        json_array_end(&w);
        json_key(&w, "event_to_pin_seconds");
        json_object_begin(&w);
        json_key(&w, "buckets");
        json_array_begin(&w);
        for (size_t i = 0; i <= METRICS_N_BUCKETS; i++) {
                cum += h->counts[i];
                json_object_begin(&w);
                json_field_string(&w, "le", i < METRICS_N_BUCKETS ? buckets[i].le : "+Inf");
                json_field_uint(&w, "count", cum);
                json_object_end(&w);
        }
        json_array_end(&w);
        json_field_uint(&w, "sum_ns", h->sum_ns);
        json_field_uint(&w, "count", h->count);
        json_object_end(&w);
        json_object_end(&w);
        return json_finish(&w);
}
