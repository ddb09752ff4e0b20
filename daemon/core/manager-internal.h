/* SPDX-License-Identifier: MIT */
/* The daemon's state: the flow's (reconcile.h) and the event loop's around
 * it. The modules below the manager get only their own part:
 *
 *   intake.c     proc connector → a batch of work items → reconcile
 *   irqs.c       IRQs and default_smp_affinity; workqueues.c the unbound
 *                workqueue masks (decide, remember, write, report)
 *   driftwatch.c sched_setaffinity events → reconcile's drift check
 *   guarantee.c  exec-permission events: pin, then allow the exec
 *   reconcile.c  facts → decide → apply → record → report, for one task;
 *                reconcile-scan.c full scans, reconcile-drift.c drift checks,
 *                reconciler.c the state they share and a thread entry's books
 *   memory.c     pages that follow the CPUs (memory = follow | interleave)
 *   reload.c     a new configuration, whole or not at all
 *   state.c      the originals that survive a crash
 *   manager.c    the event loop, timers, signals, hotplug, start and stop:
 *                it acts on what the others leave in their flags
 *
 * Read here by manager.c and, read-only, by the control verbs (daemon/ctl/). */
#pragma once

#include <systemd/sd-device.h>
#include <systemd/sd-event.h>

#include "core/driftwatch.h"
#include "core/guarantee.h"
#include "core/intake.h"
#include "core/irqs.h"
#include "core/manager.h"
#include "core/memory.h"
#include "core/reconcile.h"
#include "core/reload.h"
#include "core/state.h"
#include "core/workqueues.h"

struct Manager {
        ManagerOptions opt;
        Logger *log;
        sd_event *event;
        Reconciler rc;       /* reconciler.c: host, config, threads, counters */
        ConfigSource source; /* reload.c */
        StateDir state;      /* state.c; dirfd -1 without a socket */
        bool state_enabled;
        Intake intake;       /* intake.c */
        DriftWatch drift;    /* driftwatch.c */
        IrqStep irqs;        /* irqs.c */
        WqStep wqs;          /* workqueues.c */
        MemoryStep memory;   /* memory.c */
        Guarantee guarantee; /* guarantee.c */

        sd_event_source *rescan_timer, *verify_timer, *storm_timer, *state_timer, *after_dispatch;
        sd_event_source *sig_term, *sig_int, *sig_hup;
        sd_device_monitor *hotplug;
        /* Device uevents while an irqs rule is loaded: IRQs that appear
         * later are decided a moment after their device's events. */
        sd_device_monitor *devices;
        sd_event_source *irq_timer;

        uint64_t start_usec;          /* CLOCK_MONOTONIC */
        uint64_t start_realtime_usec; /* CLOCK_REALTIME, for pinnerd_start_time_seconds */
        bool reload_ok;               /* the last reload (or the start) read a valid config */
        uint64_t reload_success_realtime_usec;
        bool scanned; /* the first scan ran: masks may have changed, stop restores */
        int exit_code;
};
