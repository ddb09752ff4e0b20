/* SPDX-License-Identifier: MIT */
/* Deciding, pure: from a thread's facts (and what pinnerd remembers of it) to
 * what should happen — which rule, which mask, apply, skip or release. The
 * event loop (reconcile.c) and `pinnerctl explain` (explain.c) both call
 * these, so the two can never disagree. No I/O: the caller reads the facts,
 * the cpuset and the spread load first. */
#pragma once

#include <stdbool.h>

#include "rules/config.h"
#include "kernel/host.h"
#include "rules/match.h"
#include "rules/plan.h"
#include "lib/util.h"

/* The one walk over the rules: the highest-priority rule whose process and
 * thread parts both match (ties to the rule defined first), or NULL. When why
 * is non-NULL it gets one line per rule that did not win, saying why. */
const Rule *decide_rule(const Config *c, const TaskFacts *f, StrVec *why);
/* The same walk, with each line sorted by what it is about: why_process gets
 * the rules whose process part does not match (the same for every thread of
 * a process, when its threads share a cgroup), why_thread the rules whose
 * thread filter does not match or that another rule beats. Either may be
 * NULL to drop those lines. */
const Rule *decide_rule_why(const Config *c, const TaskFacts *f, StrVec *why_process, StrVec *why_thread);

typedef enum Verdict {
        VERDICT_NONE,    /* no rule, nothing remembered: leave it alone */
        VERDICT_RELEASE, /* no rule any more, but pinnerd changed it: restore, forget */
        VERDICT_SKIP,    /* a rule, but no CPU left for it: leave the mask */
        VERDICT_APPLY,   /* set plan.effective */
} Verdict;

typedef struct Decision {
        Verdict verdict;
        const Rule *rule;   /* NULL for NONE and RELEASE */
        Plan plan;          /* planned for SKIP and APPLY */
        const char *reason; /* SKIP: why; RELEASE: "no rule applies any more" */
} Decision;

/* rule: decide_rule()'s answer; remembered: pinnerd has an entry for the
 * thread; thread_name for spread = index; base: for avoid rules, the
 * thread's original mask. task_cpuset NULL = no cpuset limit. load/n_load: see
 * decide_spread_load (ignored unless the rule spreads). */
int decide_thread(const Host *h, const Rule *rule, bool remembered, const CpuSet *task_cpuset,
                  const unsigned *load, unsigned n_load, const char *thread_name, const CpuSet *base,
                  Decision *ret);
void decision_done(Decision *d);

/* The spread load a thread is planned against: `counts` is how many threads
 * of the same rule sit on each CPU (the thread itself left out). A thread
 * holding a CPU (held_cpu >= 0) keeps it while it stays allowed: every other
 * CPU weighs one thread more. Returns a malloc'd table of *ret_n entries. */
int decide_spread_load(const unsigned *counts, unsigned n_counts, int held_cpu, unsigned nr_cpu_ids,
                       unsigned **ret, unsigned *ret_n);
