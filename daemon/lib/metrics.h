/* SPDX-License-Identifier: MIT */
/* Prometheus metrics: the event→pin latency histogram and the text
 * exposition (format 0.0.4) of a snapshot of the daemon's counters. Pure: the
 * manager fills a snapshot, this module renders it into an OutBuf. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/output.h"

/* Upper bounds of the latency buckets, 10 µs .. 10 s in 1-2.5-5 steps: an
 * exec is pinned in ~100 µs at SCHED_FIFO and in a few ms at SCHED_OTHER;
 * seconds mean the daemon was starved. Past the last is +Inf. */
#define METRICS_N_BUCKETS 18

typedef struct MetricsHistogram {
        uint64_t counts[METRICS_N_BUCKETS + 1]; /* per bucket, not cumulative; last = +Inf */
        uint64_t count;
        uint64_t sum_ns;
} MetricsHistogram;

/* The bucket bounds in nanoseconds (index < METRICS_N_BUCKETS). */
uint64_t metrics_bucket_bound_ns(size_t i);
/* Count one observation of `ns` nanoseconds. */
void metrics_observe(MetricsHistogram *h, uint64_t ns);

typedef struct MetricsRule {
        const char *name;
        uint64_t threads; /* held pinned now */
        /* Outcomes of its threads since start (pinnerd_rule_outcomes_total). */
        uint64_t applied, restored, skipped, failed, drift;
} MetricsRule;

typedef struct MetricsSnapshot {
        const char *version;          /* pinnerd_build_info{version=...} 1; NULL: left out */
        uint64_t start_realtime_usec; /* pinnerd_start_time_seconds */
        /* The last reload (or the start) read a valid configuration, and when
         * one last did: the configuration on disk is what a restart reads. */
        bool config_ok;
        uint64_t config_success_realtime_usec;
        /* Degraded modes, as enum gauges: every known state, 1 for this one. */
        const char *event_source; /* "proc-connector" or "polling"; NULL: left out */
        const char *drift_events; /* "tracepoint" or "verify"; NULL: left out */
        uint64_t events, lost_event_rescans, rescans, applied, restored, skipped, failed, drift;
        uint64_t managed_threads;
        const MetricsRule *rules;
        size_t n_rules;
        const MetricsHistogram *event_to_pin; /* NULL: rendered empty */
        /* Memory that follows the CPUs: pages moved, pages that could not
         * move by reason, and the time spent moving. */
        uint64_t memory_moved;
        uint64_t memory_shared, memory_busy, memory_no_memory, memory_other;
        uint64_t memory_usec;
} MetricsSnapshot;

/* The exposition: HELP and TYPE for every metric, label values escaped
 * (backslash, quote, newline; invalid UTF-8 becomes U+FFFD). Returns the
 * OutBuf's error (0 or -errno). */
int metrics_render(const MetricsSnapshot *s, OutBuf *out);
/* The same snapshot as one JSON object (pinnerctl metrics --json): the
 * metric names without the pinnerd_ prefix as keys, per-rule values in a
 * "rules" array, the histogram as cumulative buckets. */
int metrics_render_json(const MetricsSnapshot *s, OutBuf *out);
/* A label value as the text format wants it, without the quotes. */
int metrics_escape_label(OutBuf *out, const char *s);
