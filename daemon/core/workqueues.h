/* SPDX-License-Identifier: MIT */
/* Unbound workqueues in the flow: the global cpumask ("*") and each
 * workqueue's own (kernel/workqueue.h) against the highest-priority
 * `workqueues = yes` rule: decide (rules/irqplan.c), remember the original,
 * write, report; the original back when no rule applies any more and at
 * stop. Two halves like IRQs (irqs.h): wqs_plan() remembers originals
 * (wqs->originals_added: save before writing), wqs_apply() writes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/kmask.h"
#include "core/reconcile.h"
#include "core/state.h"
#include "lib/cpuset.h"

typedef struct WqEntry {
        char *name;        /* WQ_GLOBAL ("*") or a workqueue */
        KernelMask m;      /* its cpumask: original, what pinnerd wrote, what waits */
        int refused_errno; /* the kernel refused for good */
        uint64_t generation;
} WqEntry;

typedef struct WqStep {
        WqEntry *v; /* the global one first, then by name */
        size_t n, cap;
        char *rule; /* the rule that applies, NULL when none */
        uint64_t generation;
        bool originals_added, originals_changed;
} WqStep;

void wqs_init(WqStep *s);
void wqs_done(WqStep *s);
/* replanning: reload or hotplug (a mask someone else changed is written
 * again whatever the rule's drift says). Returns the writes waiting. */
size_t wqs_plan(WqStep *s, Reconciler *rc, bool replanning);
void wqs_apply(WqStep *s, Reconciler *rc);
size_t wqs_restore_all(WqStep *s, Reconciler *rc, const char *why);
void wqs_adopt(WqStep *s, Reconciler *rc, const StateEntries *e);
size_t wqs_state_count(const WqStep *s);
size_t wqs_state_entries(const WqStep *s, StateKernelEntry *v, size_t max);
