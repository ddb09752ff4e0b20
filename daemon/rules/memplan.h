/* SPDX-License-Identifier: MIT */
/* Where a process's memory belongs, pure: "every thread of this process
 * that a memory-moving rule manages is confined to the CPUs of which set of
 * NUMA nodes?" From the masks pinnerd set on those threads (not what the
 * threads could ask for: pinnerd put them there), the host's node CPU lists
 * and the nodes the process's cpuset lets it use. core/memory.c acts on the
 * answer; `explain` shows it; `pinnerctl run` asks the same question of a
 * rule before the exec. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "kernel/host.h"
#include "kernel/numa.h"
#include "lib/cpuset.h"
#include "rules/config.h"

/* One managed thread of the process. */
typedef struct MemThread {
        const CpuSet *applied; /* the mask pinnerd set; NULL: none (skipped, refused) */
        MemoryMode mode;       /* its rule's memory */
        const char *rule;      /* its rule's name */
} MemThread;

typedef enum MemVerdict {
        MEM_KEEP,       /* no managed thread's rule moves memory */
        MEM_ONE_NODE,   /* the host has one node: memory is local already */
        MEM_UNPLACED,   /* such a thread has no mask from pinnerd: nowhere to follow */
        MEM_EVERYWHERE, /* follow: their CPUs lie on every node that has CPUs */
        MEM_FORBIDDEN,  /* the cpuset's mems allow none of those nodes */
        MEM_MOVE,       /* pages go to `nodes` */
} MemVerdict;

typedef struct MemPlan {
        MemVerdict verdict;
        MemoryMode mode;    /* MOVE: follow, or interleave when every such rule says so */
        const char *rule;   /* the (first) rule that asks, NULL for KEEP */
        CpuSet *cpu_nodes;  /* the nodes of their CPUs (NULL for KEEP, ONE_NODE, UNPLACED) */
        CpuSet *nodes;      /* MOVE: cpu_nodes ∩ mems allowed, where pages go */
        const char *reason; /* every verdict but MOVE: why nothing moves */
} MemPlan;

/* threads: the process's managed threads (any rule); only those whose rule
 * moves memory count, and their masks are joined: two such rules confining
 * threads to different nodes make the union. mems_allowed: the process's
 * cpuset mems, NULL = every node. */
int memplan_decide(const Host *h, const MemThread *threads, size_t n, const CpuSet *mems_allowed,
                   MemPlan *ret);
void memplan_done(MemPlan *p);
/* Do two plans send pages to the same place the same way? (KEEP and the
 * other verdicts that move nothing are all "nowhere".) */
bool memplan_same(const MemPlan *a, const MemPlan *b);

/* For `pinnerctl run RULE -- CMD`: the memory policy to set before the exec
 * so the program's memory is where the rule's CPUs are from its first
 * allocation. cpus: the mask the rule gives the caller. keep, or a one-node
 * host, or CPUs on every node: NUMA_POLICY_DEFAULT (and *ret_nodes NULL).
 * follow: PREFERRED on the nodes of cpus (∩ mems_allowed, NULL = all);
 * interleave: INTERLEAVE over them. Then kernel/numa.h's numa_set_policy()
 * sets it. -EACCES when mems_allowed forbids every one of those nodes. */
int memplan_run_policy(const Host *h, MemoryMode mode, const CpuSet *cpus, const CpuSet *mems_allowed,
                       NumaPolicy *ret_policy, CpuSet **ret_nodes);
