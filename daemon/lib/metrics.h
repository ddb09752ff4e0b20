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
        uint64_t threads;
} MetricsRule;

typedef struct MetricsSnapshot {
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
/* A label value as the text format wants it, without the quotes. */
int metrics_escape_label(OutBuf *out, const char *s);
