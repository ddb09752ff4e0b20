/* SPDX-License-Identifier: MIT */
/* Drift from an event: other processes' sched_setaffinity calls, fed from
 * the event loop to the drift check of the one thread they name. Sources,
 * best first:
 *
 *   bpf         a BPF program on the kernel's sched_setaffinity (bpfwatch.h):
 *               works at Debian's kernel.perf_event_paranoid = 3, sees the
 *               32-bit syscall too; needs CAP_BPF, CAP_PERFMON, BTF
 *   tracepoint  the syscall tracepoints through perf_event_open (affwatch.h):
 *               needs paranoid <= 2 or CAP_SYS_ADMIN; misses int 0x80
 *   verify      no events: only the periodic check finds drift
 *
 * status says which one is active and why the better ones are not.
 * PINNERD_DRIFT_SOURCE=bpf|tracepoint|verify in the environment picks one
 * (for tests and benchmarks of each). Both sources are paced alike (below),
 * and each thread named in one read is checked once. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "core/pacing.h"
#include "core/reconcile.h"
#include "kernel/affwatch.h"
#include "kernel/bpfwatch.h"

/* Drift events: past 4 in 10 ms (400/s), whatever they are about, read
 * every 20 ms (50 wakeups/s) until the rate falls below half that. */
#define DRIFT_PACING                                                                                         \
        ((PacingConfig){.window_usec = 10000, .storm_events = 4, .quiet_share = 0, .defer_usec = 20000})
/* Records taken per read (the BPF ring buffer is read whole: any beyond
 * this are lost, and a full check covers them). */
#define DRIFT_RECORDS_MAX 4096

typedef enum DriftSource {
        DRIFT_SOURCE_VERIFY,
        DRIFT_SOURCE_TRACEPOINT,
        DRIFT_SOURCE_BPF,
} DriftSource;

typedef struct DriftWatch {
        DriftSource source;
        BpfWatch *bpf;
        AffWatch *watch;
        sd_event_source **sources;
        size_t n_sources;
        char *error; /* bpf: which program; else why the better sources are off */
        uint64_t events, lost, full_checks;
        Pacing pacing; /* records read every few ms while they come fast */
        sd_event_source *defer_timer, *check_timer;
        uint64_t last_full_check;
        AffRecord *rec;  /* DRIFT_RECORDS_MAX */
        sd_event *event; /* not owned; from driftwatch_start */
        Reconciler *rc;  /* not owned; where drift is checked */
} DriftWatch;

/* Open the best source that works (again after CPU hotplug: tracepoints are
 * per CPU) and watch it from e. Returns 0, or -errno with d->error set (the
 * daemon goes on with verify). */
int driftwatch_start(DriftWatch *d, sd_event *e, Reconciler *rc);
void driftwatch_stop(DriftWatch *d);
/* "bpf", "tracepoint" or "verify". */
const char *driftwatch_source(const DriftWatch *d);
/* Does a CPU hotplug need a restart (per-CPU tracepoints)? */
bool driftwatch_per_cpu(const DriftWatch *d);
