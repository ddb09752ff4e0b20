/* SPDX-License-Identifier: MIT */
/* Reporting: one journald record and one counter per outcome. Every message
 * about a thread is worded here, so the journal reads the same whichever
 * path (event, scan, drift check, reload, stop) produced it. */
#pragma once

#include <stdint.h>

#include "conf.h"
#include "cpuset.h"
#include "log.h"
#include "plan.h"
#include "threads.h"

typedef struct Counters {
        uint64_t events, lost_rescans, rescans, applied, restored, skipped, failed, drift;
} Counters;

typedef struct Reporter {
        Logger *log; /* not owned */
        Counters counters;
        bool dry_run;
} Reporter;

/* A cpulist for messages and tables; "-" for NULL. malloc'd. */
char *fmt_cpus(const CpuSet *s);

void report_applied(Reporter *rp, const Thread *th, const Rule *rule, const Plan *plan, const CpuSet *prev,
                    bool dry_run);
void report_restored(Reporter *rp, const Thread *th, const CpuSet *prev, const char *why, bool dry_run);
void report_restore_failed(Reporter *rp, const Thread *th, const char *reason, int err);
/* A rule asks for CPUs but none is left (counted and logged). */
void report_no_cpu(Reporter *rp, const Thread *th, const Rule *rule, const Plan *plan, const char *why);
/* The kernel refused the mask for a reason that will not change (EINVAL,
 * EBUSY); kernel threads that cannot move are logged at debug. */
void report_refused(Reporter *rp, const Thread *th, const Rule *rule, const char *reason, bool quiet);
void report_failed(Reporter *rp, const Thread *th, const Rule *rule, const Plan *plan, const char *reason,
                   int err);
void report_drift(Reporter *rp, const Thread *th, const CpuSet *now, bool reapply);
void report_dropped(Reporter *rp, const Thread *th, const Rule *rule, const Plan *plan);
