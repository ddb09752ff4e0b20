/* SPDX-License-Identifier: MIT */
/* Reporting: one journald record and one counter per outcome. Every message
 * about a thread is worded here, so the journal reads the same whichever
 * path (event, scan, drift check, reload, stop) produced it. */
#pragma once

#include <stdint.h>

#include "rules/config.h"
#include "lib/cpuset.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "rules/plan.h"
#include "core/threads.h"

typedef struct Counters {
        uint64_t events, lost_rescans, rescans, applied, restored, skipped, failed, drift;
} Counters;

/* The outcomes of one rule's threads, for the per-rule metrics, by the rule
 * name its threads carry: its counts survive a reload that keeps the name. */
typedef struct RuleCounters {
        char *rule;
        uint64_t applied, restored, skipped, failed, drift;
} RuleCounters;

typedef struct Reporter {
        Logger *log; /* not owned */
        int procfd;  /* not owned; -1: records carry no owner */
        Counters counters;
        RuleCounters *per_rule; /* in the order rules first had an outcome */
        size_t n_per_rule, cap_per_rule;
        size_t last_rule; /* the entry of the last outcome: outcomes come in runs */
        bool dry_run;
        /* Kernel timestamp (CLOCK_MONOTONIC ns) of the event being handled,
         * 0 in a scan: a mask set meanwhile is observed in event_to_pin. */
        uint64_t event_ns;
        MetricsHistogram event_to_pin;
} Reporter;

void report_done(Reporter *rp);
/* The counters of rule `name`, or NULL when it had no outcome yet. */
const RuleCounters *report_rule_counters(const Reporter *rp, const char *name);

/* A cpulist for messages and tables; "-" for NULL. malloc'd. */
char *fmt_cpus(const CpuSet *s);

/* Where the host's isolated CPUs come from, grouped: n sources (at most
 * max), each a name ("isolcpus", "partition /sys/fs/cgroup/iso") and its
 * CPUs (malloc'd cpulist). Returns n. */
typedef struct IsolatedSource {
        const char *name; /* the host's; valid until it is refreshed */
        char *cpus;
} IsolatedSource;
struct Host;
size_t isolated_sources(const struct Host *h, IsolatedSource *v, size_t max);
void isolated_sources_done(IsolatedSource *v, size_t n);
/* "2 (isolcpus), 3 (partition /sys/fs/cgroup/iso)", or "none". malloc'd. */
char *fmt_isolated(const struct Host *h);

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
/* A rule's scheduling policy set (prev: what the thread had), put back, or
 * refused. */
void report_policy_applied(Reporter *rp, const Thread *th, const Rule *rule, const char *policy,
                           const SchedPolicy *prev, bool dry_run);
void report_policy_restored(Reporter *rp, const Thread *th, const char *policy, const char *why,
                            bool dry_run);
void report_policy_failed(Reporter *rp, const Thread *th, const Rule *rule, const char *policy,
                          const char *reason, int err);
void report_dropped(Reporter *rp, const Thread *th, const Rule *rule, const Plan *plan);

/* ---- IRQs, default_smp_affinity and workqueues (core/irqs.c, core/workqueues.c) ---- */

/* What a record is about, when it is no thread. */
typedef struct TargetRef {
        const char *label;     /* "IRQ 38 (virtio2-input.0)", "workqueue writeback", ... */
        const char *irq;       /* PINNERD_IRQ: "38", "default", or NULL */
        const char *irq_name;  /* PINNERD_IRQ_NAME: its action names, or NULL */
        const char *workqueue; /* PINNERD_WORKQUEUE: a name, "*" (global), or NULL */
} TargetRef;

/* effective: where an IRQ is delivered now (NULL: not known, or not an
 * IRQ); when it is not within want yet, the record says the move waits for
 * the IRQ's next interrupt. */
void report_target_applied(Reporter *rp, const TargetRef *t, const Rule *rule, const CpuSet *want,
                           const CpuSet *prev, const CpuSet *effective, bool dry_run);
void report_target_restored(Reporter *rp, const TargetRef *t, const CpuSet *orig, const CpuSet *prev,
                            const char *why, bool dry_run);
/* A write that failed and may pass later (rule NULL: a restore). */
void report_target_failed(Reporter *rp, const TargetRef *t, const Rule *rule, const CpuSet *want, int err);
/* Left as it is, for a reason (said once per target and rule). */
void report_target_skipped(Reporter *rp, const TargetRef *t, const Rule *rule, const char *why);
void report_target_drift(Reporter *rp, const TargetRef *t, const char *rule, const CpuSet *now,
                         const CpuSet *applied, bool reapply);
/* IRQs a rule cannot move, said once per rule: n of them, listed with
 * their reasons ("24 virtio1-req.0: kernel-managed ..."). */
void report_irqs_unmovable(Reporter *rp, const char *rule, unsigned n, const char *list);
/* Another tool would undo what rules do (irqbalance): the text says what
 * and the fix. Said once per change of the text. */
void report_conflict(Reporter *rp, const char *rule, const char *text);
