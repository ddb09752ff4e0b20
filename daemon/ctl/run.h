/* SPDX-License-Identifier: MIT */
/* `pinnerctl run RULE -- COMMAND`, the daemon's half: what RULE would give
 * the calling process, planned as the loop plans it (the caller's cpuset,
 * online and isolated CPUs, its own mask for avoid rules), for pinnerctl to
 * set on itself before it executes COMMAND. The wire format of the answer is
 * here too, pure, for both sides. */
#pragma once

#include <stddef.h>

#include "ctl/ctlserver.h"
#include "kernel/schedpolicy.h"
#include "lib/cpuset.h"

typedef struct Manager Manager;

int verb_run(Manager *m, const CtlRequest *req, CtlReply *reply);

/* The answer, one "key value" line each:
 *
 *     cpus 4-7
 *     policy fifo:1        ("-": the rule sets none)
 *     memory keep          (the memory policy to set before the exec; only
 *                           "keep" until rules have a memory key)
 */
typedef struct RunPlan {
        CpuSet *cpus;
        bool has_policy;
        SchedPolicy policy;
        char memory[32];
} RunPlan;

/* Pure: parse an answer of len bytes. -EBADMSG for anything but the three
 * lines above, each once, in any order. ret untouched on failure. */
int run_plan_parse(const char *buf, size_t len, RunPlan *ret);
void run_plan_done(RunPlan *p);
