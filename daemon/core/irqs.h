/* SPDX-License-Identifier: MIT */
/* IRQs in the flow: listing (/proc/interrupts) → decide (rules/irqplan.c)
 * → remember the original → write /proc/irq/N/smp_affinity_list → report;
 * and /proc/irq/default_smp_affinity for the IRQs that appear later, when an
 * `irqs = *` rule avoids CPUs.
 *
 * A pass has two halves so that an original is on disk before pinnerd
 * relies on it: irqs_plan() decides and remembers the originals of what it
 * will change (irqs->originals_added says a save is due), the manager saves
 * the state file, then irqs_apply() writes. An IRQ is known by its number;
 * one that leaves /proc/interrupts (its device went away) is forgotten with
 * its original, since the kernel sets a new IRQ's mask afresh.
 *
 * IRQs the kernel will not move (kernel-managed queues, per-CPU IRQs,
 * chips that refuse) are tried once, remembered as unmovable and named
 * once per rule with the reason. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/kmask.h"
#include "core/reconcile.h"
#include "core/state.h"
#include "kernel/irqbalance.h"
#include "lib/cpuset.h"
#include "rules/config.h"

/* Said once per rule, beside the KMASK_REPORTED_* bits. */
enum { IRQ_REPORTED_UNMOVABLE = KMASK_REPORTED_OWN };

typedef struct IrqEntry {
        unsigned irq;
        char *actions;       /* as /proc/interrupts lists them now ("" when none) */
        char *rule;          /* the rule that takes it, NULL when none */
        KernelMask m;        /* smp_affinity_list: its original, what pinnerd wrote, what waits */
        int unmovable_errno; /* the kernel refused for good (EPERM, EIO, EINVAL); 0 otherwise */
        uint64_t generation;
} IrqEntry;

typedef struct IrqStep {
        IrqEntry *v; /* sorted by irq */
        size_t n, cap;
        uint64_t generation;
        /* /proc/irq/default_smp_affinity (its reported bits unused) */
        KernelMask dflt;
        char *default_rule;
        /* The IRQs there were when default_smp_affinity was first written
         * (sorted): one that appears later starts on pinnerd's default, so
         * what it would have had without pinnerd is dflt.original. */
        unsigned *before_default;
        size_t n_before_default;
        /* For the manager: an original was remembered (save before
         * irqs_apply) or dropped (save some time). */
        bool originals_added, originals_changed;
        /* The listing failed (said once until it works again). */
        bool listing_failed;
        /* irqbalance, when it would undo the rules (status and explain say it). */
        pid_t irqbalance_pid;
        char *irqbalance_fix; /* NULL when it leaves the rules alone or does not run */
} IrqStep;

void irqs_init(IrqStep *s);
void irqs_done(IrqStep *s);

/* Decide every IRQ of /proc/interrupts (follow_only: only the IRQs of
 * follow rules, from the thread table as it is now, without reading the
 * listing). replanning: a reload or hotplug, where a mask someone else
 * changed is written again whatever the rule's drift says. Returns how many
 * writes wait for irqs_apply(). */
size_t irqs_plan(IrqStep *s, Reconciler *rc, bool follow_only, bool replanning);
/* Write what irqs_plan() decided; report. A pass at `verify` is the drift
 * check: an IRQ someone else moved (irqbalance) is written again, said, or
 * left, by the rule's drift policy. */
void irqs_apply(IrqStep *s, Reconciler *rc);
/* Put every original back (stop); returns how many were written. */
size_t irqs_restore_all(IrqStep *s, Reconciler *rc, const char *why);
/* Seed originals from a previous run's state file: an IRQ that is still
 * listed keeps its original. */
void irqs_adopt(IrqStep *s, Reconciler *rc, const StateEntries *e);
/* The originals as state file lines (the entries point into s). */
size_t irqs_state_entries(const IrqStep *s, StateKernelEntry *v, size_t max);
/* How many state entries irqs_state_entries() would give. */
size_t irqs_state_count(const IrqStep *s);

const IrqEntry *irqs_find(const IrqStep *s, unsigned irq);
/* The CPUs the threads of task rule `rule` are on now (NULL when none). */
CpuSet *irqs_follow_cpus(const Reconciler *rc, const char *rule);
/* Look for irqbalance and work out what it must be told (s->irqbalance_*);
 * a new finding is logged once. */
void irqs_check_irqbalance(IrqStep *s, Reconciler *rc);
