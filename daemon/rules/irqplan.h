/* SPDX-License-Identifier: MIT */
/* Deciding for IRQs and unbound workqueues, pure: which rule takes an IRQ,
 * and the mask pinnerd writes for an IRQ, default_smp_affinity or a
 * workqueue: requested (the rule's cpus; avoid: what it had − the avoided
 * CPUs; follow: the CPUs the followed rule's threads are on now) → ∩ online
 * → − isolated unless the rule says isolated = allow. Never empty: an empty
 * result is a skip with its reason. The daemon's loop and `explain irq:N`
 * both call these. */
#pragma once

#include <stdbool.h>

#include "kernel/host.h"
#include "lib/cpuset.h"
#include "lib/util.h"
#include "rules/config.h"

/* What is known about an IRQ: its number and action names as
 * /proc/interrupts lists them ("a, b"; NULL when it has none). */
typedef struct IrqFacts {
        unsigned irq;
        const char *actions;
} IrqFacts;

/* Does the irqs rule take this IRQ? Its positive items (none: every IRQ)
 * against the number and each action name, then every "!" item. *why (when
 * wanted and not matching) says which. */
bool rule_match_irq(const Rule *r, const IrqFacts *f, char **why);
/* The highest-priority irqs rule taking the IRQ (ties to the first
 * defined), or NULL; why gets a line per rule that did not win. */
const Rule *decide_irq_rule(const Config *c, const IrqFacts *f, StrVec *why);
/* The highest-priority workqueues rule, or NULL. */
const Rule *decide_workqueue_rule(const Config *c);
/* The irqs rule that sets default_smp_affinity: the highest-priority one
 * with "*" among its items and avoid; NULL when none. */
const Rule *decide_default_affinity_rule(const Config *c);

typedef struct TargetPlan {
        CpuSet *requested;       /* see above */
        CpuSet *avoided;         /* avoid: the CPUs avoided, resolved */
        CpuSet *in_online;       /* requested ∩ online */
        CpuSet *effective;       /* − isolated unless allowed: what is written; NULL when skipped */
        CpuSet *dropped;         /* requested − effective */
        const char *skip_reason; /* non-NULL when there is nothing to write */
        char *skip_reason_buf;
} TargetPlan;

/* base: the mask it had before pinnerd (avoid works from it; NULL when
 * unknown; when it holds only avoided CPUs, the other online CPUs). follow: the CPUs the followed rule's
 * threads are on (NULL: that rule manages no thread now). what: "IRQ", "workqueue", for reasons. */
int plan_target(const Host *h, const Rule *r, const CpuSet *base, const CpuSet *follow, TargetPlan *ret);
void target_plan_done(TargetPlan *p);

/* What irqbalance must be told so it does not undo the IRQ rules: the CPUs
 * it must not use (the avoided CPUs of avoid rules on this host, online)
 * and the IRQs it must leave alone (those placed by cpus and follow
 * rules). `banned` is what it bans (its IRQBALANCE_BANNED_CPULIST, or
 * its default: isolated and nohz_full CPUs); `banned_irqs` the IRQs it was
 * told to leave (--banirq). Returns a malloc'd sentence naming what is
 * missing and the fix, or NULL when irqbalance leaves the rules alone. */
char *irqplan_irqbalance_fix(const CpuSet *need_banned, const CpuSet *banned, const unsigned *need_irqs,
                             size_t n_need_irqs, const unsigned *banned_irqs, size_t n_banned_irqs);
