/* SPDX-License-Identifier: MIT */
/* `pinnerctl run RULE -- COMMAND`, the daemon's half: what RULE would give
 * the calling process, planned as the loop plans it (the caller's cpuset,
 * online and isolated CPUs, its own mask for avoid rules), for pinnerctl to
 * set on itself before it executes COMMAND. The wire format of the answer is
 * here too, pure, for both sides. */
#pragma once

#include <stddef.h>

#include "ctl/ctlserver.h"
#include "kernel/numa.h"
#include "kernel/schedpolicy.h"
#include "lib/cpuset.h"

typedef struct Manager Manager;

int verb_run(Manager *m, const CtlRequest *req, CtlReply *reply);

/* The answer, one "key value" line each:
 *
 *     cpus 4-7
 *     policy fifo:1        ("-": the rule sets none)
 *     memory preferred 1   (the memory policy to set before the exec and its
 *                           nodes: "default" alone for memory = keep, one
 *                           node, or CPUs on every node; an older daemon's
 *                           "keep" reads as default)
 */
typedef struct RunPlan {
        CpuSet *cpus;
        bool has_policy;
        SchedPolicy policy;
        NumaPolicy memory;
        CpuSet *memory_nodes; /* NULL with NUMA_POLICY_DEFAULT */
} RunPlan;

/* Pure: parse an answer of len bytes. -EBADMSG for anything but the three
 * lines above, each once, in any order. ret untouched on failure. */
int run_plan_parse(const char *buf, size_t len, RunPlan *ret);
void run_plan_done(RunPlan *p);
