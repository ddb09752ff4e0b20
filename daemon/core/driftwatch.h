/* SPDX-License-Identifier: MIT */
/* Drift from an event: affwatch's records of other processes'
 * sched_setaffinity calls, fed from the event loop to the drift check of the
 * one thread they name. Without the tracepoints (no CAP_PERFMON, no tracefs,
 * an older kernel) `verify` stays the only drift check, and status says why. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "core/pacing.h"
#include "core/reconcile.h"
#include "kernel/affwatch.h"

/* Drift events: past 4 in 10 ms (400/s), whatever they are about, read
 * every 20 ms (50 wakeups/s) until the rate falls below half that. */
#define DRIFT_PACING                                                                                         \
        ((PacingConfig){.window_usec = 10000, .storm_events = 4, .quiet_share = 0, .defer_usec = 20000})

typedef struct DriftWatch {
        AffWatch *watch;
        sd_event_source **sources;
        size_t n_sources;
        char *error; /* why drift events are off */
        uint64_t events, lost, full_checks;
        Pacing pacing; /* records read every few ms while they come fast */
        sd_event_source *defer_timer, *check_timer;
        uint64_t last_full_check;
        sd_event *event; /* not owned; from driftwatch_start */
        Reconciler *rc;  /* not owned; where drift is checked */
} DriftWatch;

/* Open the tracepoints on rc's online CPUs and watch them from e (again
 * after CPU hotplug). Returns 0, or -errno with d->error set (the daemon
 * goes on). */
int driftwatch_start(DriftWatch *d, sd_event *e, Reconciler *rc);
void driftwatch_stop(DriftWatch *d);
/* "tracepoint" or "verify". */
const char *driftwatch_source(const DriftWatch *d);
