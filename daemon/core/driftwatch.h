/* SPDX-License-Identifier: MIT */
/* Drift from an event: affwatch's records of other processes'
 * sched_setaffinity calls, fed from the event loop to the drift check of the
 * one thread they name. Without the tracepoints (no CAP_PERFMON, no tracefs,
 * an older kernel) `verify` stays the only drift check, and status says why. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "core/reconcile.h"
#include "kernel/affwatch.h"

typedef struct DriftWatch {
        AffWatch *watch;
        sd_event_source **sources;
        size_t n_sources;
        char *error; /* why drift events are off */
        uint64_t events, lost;
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
