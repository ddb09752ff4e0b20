/* SPDX-License-Identifier: MIT */
/* Planning: from a rule and what the kernel allows a thread to the mask we
 * set. Pure; every step is kept so `explain` can show it. */
#pragma once

#include <stdbool.h>

#include "conf.h"
#include "cpuset.h"
#include "host.h"

typedef struct Plan {
        CpuSet *requested;       /* the rule's cpus resolved on this host */
        CpuSet *in_cpuset;       /* requested ∩ the thread's cpuset */
        CpuSet *in_online;       /* ... ∩ online */
        CpuSet *effective;       /* ... − isolated (unless allowed); spread: one CPU */
        CpuSet *dropped;         /* requested − effective, before spread picks one */
        const char *skip_reason; /* non-NULL when effective is empty */
        char *skip_reason_buf;   /* owns skip_reason when it had to be formatted */
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
void plan_done(Plan *p);
