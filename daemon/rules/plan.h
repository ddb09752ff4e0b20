/* SPDX-License-Identifier: MIT */
/* Planning: from a rule and what the kernel allows a thread to the mask we
 * set. Pure; every step is kept so `explain` can show it. */
#pragma once

#include <stdbool.h>

#include "rules/config.h"
#include "lib/cpuset.h"
#include "kernel/host.h"

typedef struct Plan {
        CpuSet *requested;       /* the rule's cpus resolved on this host (avoid: base − avoided) */
        CpuSet *avoided;         /* avoid rules: the CPUs avoided, resolved; else NULL */
        CpuSet *candidates;      /* spread rules: the set before one CPU was picked */
        CpuSet *in_cpuset;       /* requested ∩ the thread's cpuset */
        CpuSet *in_online;       /* ... ∩ online */
        CpuSet *effective;       /* ... − isolated (unless allowed); spread: one CPU */
        CpuSet *dropped;         /* requested − effective, before spread picks one */
        const char *skip_reason; /* non-NULL when effective is empty */
        char *skip_reason_buf;   /* owns skip_reason when it had to be formatted */
        /* Spread rules: the slot taken and why, for explain. */
        int spread_cpu;             /* -1 when the rule does not spread */
        int spread_index;           /* spread = index: N from the name, -1 if it has none */
        unsigned spread_candidates; /* CPUs it chose from */
        const char *spread_how;     /* "vCPU/thread number N", "least used core", ... */
} Plan;

/* Resolve a CpuSpec against the host: each term (node:N, package:N, llc:N,
 * smt-primary, housekeeping, isolated, all, a list) on this host, then their
 * intersection ("node:7" on a 2-node host is empty, never an error). The
 * terms themselves are in cpuspec.c, which the config loader shares for its
 * load-time warnings. */
int plan_resolve_cpus(const Host *h, const CpuSpec *spec, CpuSet **ret);

/* task_cpuset NULL = no cpuset limit. For spread rules, `spread_load` is the
 * number of sibling threads (same process, same rule) already placed on each
 * CPU, indexed by CPU number, n_load entries (may be shorter than the host);
 * the thread gets the least loaded CPU of the effective set, ties to the
 * lowest number: round robin in tid order when threads are placed in tid order,
 * and stable as threads come and go. */
int plan_thread(const Host *h, const Rule *r, const CpuSet *task_cpuset, const unsigned *spread_load,
                unsigned n_load, Plan *ret);
/* The same, knowing the thread's name: spread = index takes the first
 * decimal number in it (CPU 3/KVM → 3) as the slot, modulo the number of
 * CPUs, in ascending CPU order; a name without a number falls back to
 * spread = yes. spread = yes and rule take the least loaded core first (the
 * sum over its SMT siblings, from the host's topology), then the least
 * loaded CPU of it, then the lowest number: distinct cores before siblings. */
int plan_thread_named(const Host *h, const Rule *r, const CpuSet *task_cpuset, const unsigned *spread_load,
                      unsigned n_load, const char *thread_name, const CpuSet *base, Plan *ret);
/* For avoid rules, `base` is the thread's original mask (what it would have
 * without pinnerd): requested = base − the rule's CPUs, then ∩ cpuset ∩
 * online, and no "− isolated" step, so the thread never gains a CPU it did
 * not have. A NULL base plans nothing (skipped: mask unknown). */

/* The first decimal number in s (at most 9 digits), or -1 (pure). */
int plan_name_index(const char *s);
void plan_done(Plan *p);
