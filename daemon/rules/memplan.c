/* SPDX-License-Identifier: MIT */
#include "rules/memplan.h"

#include <errno.h>
#include <stdlib.h>

#include "lib/util.h"

void memplan_done(MemPlan *p) {
        cpuset_free(p->cpu_nodes);
        cpuset_free(p->nodes);
        *p = (MemPlan){0};
}

/* Nothing to move: the plan says why. */
static int nothing(MemPlan *ret, MemVerdict v, MemoryMode mode, const char *rule, const char *reason,
                   CpuSet *cpu_nodes) {
        *ret = (MemPlan){.verdict = v, .mode = mode, .rule = rule, .reason = reason, .cpu_nodes = cpu_nodes};
        return 0;
}

int memplan_decide(const Host *h, const MemThread *threads, size_t n, const CpuSet *mems_allowed,
                   MemPlan *ret) {
        _cleanup_(cpuset_freep) CpuSet *cpus = cpuset_new(), *cpu_nodes = NULL, *all = NULL, *nodes = NULL;
        const char *rule = NULL;
        bool interleave = true;
        size_t counted = 0;
        int r;

        if (!cpus)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const MemThread *t = &threads[i];
                if (t->mode == MEMORY_KEEP)
                        continue;
                if (!rule)
                        rule = t->rule;
                counted++;
                interleave &= t->mode == MEMORY_INTERLEAVE;
                if (!t->applied || cpuset_empty(t->applied))
                        return nothing(ret, MEM_UNPLACED, t->mode, t->rule,
                                       "a thread of the rule has no CPUs from pinnerd (skipped or refused): "
                                       "nowhere to follow",
                                       NULL);
                if (cpuset_or(cpus, t->applied) < 0)
                        return -ENOMEM;
        }
        MemoryMode mode = interleave ? MEMORY_INTERLEAVE : MEMORY_FOLLOW;
        if (counted == 0)
                return nothing(ret, MEM_KEEP, MEMORY_KEEP, NULL, "no rule of its threads moves memory", NULL);
        if (numa_node_count(h) < 2)
                return nothing(ret, MEM_ONE_NODE, mode, rule,
                               "this host has one NUMA node: memory is local to every CPU", NULL);

        r = numa_nodes_of_cpus(h, cpus, &cpu_nodes);
        if (r < 0)
                return r;
        r = numa_cpu_nodes(h, &all);
        if (r < 0)
                return r;
        /* Following every node is staying; interleaving over every node
         * is numactl --interleave=all, a placement of its own. CPUs no node
         * lists (a captured tree without node files): nothing either way. */
        if (cpuset_empty(cpu_nodes) || (mode == MEMORY_FOLLOW && cpuset_subset(all, cpu_nodes)))
                return nothing(ret, MEM_EVERYWHERE, mode, rule,
                               "its threads run on CPUs of every node: no node to follow",
                               TAKE_PTR(cpu_nodes));
        nodes = cpuset_dup(cpu_nodes);
        if (!nodes)
                return -ENOMEM;
        if (mems_allowed)
                cpuset_and(nodes, mems_allowed);
        if (cpuset_empty(nodes))
                return nothing(ret, MEM_FORBIDDEN, mode, rule,
                               "its cpuset's memory nodes (cpuset.mems) allow none of its CPUs' nodes",
                               TAKE_PTR(cpu_nodes));
        *ret = (MemPlan){
                .verdict = MEM_MOVE,
                .mode = mode,
                .rule = rule,
                .cpu_nodes = TAKE_PTR(cpu_nodes),
                .nodes = TAKE_PTR(nodes),
        };
        return 0;
}

bool memplan_same(const MemPlan *a, const MemPlan *b) {
        bool am = a->verdict == MEM_MOVE, bm = b->verdict == MEM_MOVE;
        if (!am || !bm)
                return am == bm;
        return a->mode == b->mode && cpuset_equal(a->nodes, b->nodes);
}

int memplan_run_policy(const Host *h, MemoryMode mode, const CpuSet *cpus, const CpuSet *mems_allowed,
                       NumaPolicy *ret_policy, CpuSet **ret_nodes) {
        MemThread t = {.applied = cpus, .mode = mode, .rule = ""};
        _cleanup_(memplan_done) MemPlan p = {0};
        int r = memplan_decide(h, &t, 1, mems_allowed, &p);

        if (r < 0)
                return r;
        if (p.verdict == MEM_FORBIDDEN)
                return -EACCES;
        if (p.verdict != MEM_MOVE) {
                *ret_policy = NUMA_POLICY_DEFAULT;
                *ret_nodes = NULL;
                return 0;
        }
        *ret_policy = p.mode == MEMORY_INTERLEAVE ? NUMA_POLICY_INTERLEAVE : NUMA_POLICY_PREFERRED;
        *ret_nodes = TAKE_PTR(p.nodes);
        return 0;
}
