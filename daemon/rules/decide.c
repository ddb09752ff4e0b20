/* SPDX-License-Identifier: MIT */
#include "rules/decide.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const Rule *decide_rule_why(const Config *c, const TaskFacts *f, StrVec *why_process, StrVec *why_thread) {
        const Rule *winner = NULL;
        bool explain = why_process || why_thread;

        for (size_t i = 0; i < c->n_rules; i++) {
                const Rule *rule = c->by_priority[i];
                char *no = NULL;
                StrVec *why;

                if (winner && !explain)
                        break;
                if (!rule_match_process(rule, f, explain ? &no : NULL))
                        why = why_process;
                else if (!rule_match_thread(rule, f, explain ? &no : NULL))
                        why = why_thread;
                else {
                        free(no);
                        if (!winner)
                                winner = rule;
                        else if (why_thread)
                                (void) strvec_push_take(
                                        why_thread,
                                        xasprintf("rule %s: matches too, but rule %s wins (priority %d vs "
                                                  "%d%s)",
                                                  rule->name, winner->name, winner->priority, rule->priority,
                                                  winner->priority == rule->priority ? ", defined first"
                                                                                     : ""));
                        continue;
                }
                if (why)
                        (void) strvec_push_take(
                                why, xasprintf("rule %s: %s", rule->name, no ? no : "does not match"));
                free(no);
        }
        return winner;
}

const Rule *decide_rule(const Config *c, const TaskFacts *f, StrVec *why) {
        return decide_rule_why(c, f, why, why);
}

int decide_thread(const Host *h, const Rule *rule, bool remembered, const CpuSet *task_cpuset,
                  const unsigned *load, unsigned n_load, const char *thread_name, const CpuSet *base,
                  Decision *ret) {
        Decision d = {0};
        int r;

        if (!rule) {
                d.verdict = remembered ? VERDICT_RELEASE : VERDICT_NONE;
                d.reason = remembered ? "no rule applies any more" : NULL;
                *ret = d;
                return 0;
        }
        d.rule = rule;
        r = plan_thread_named(h, rule, task_cpuset, rule->spread ? load : NULL, rule->spread ? n_load : 0,
                              thread_name, base, &d.plan);
        if (r < 0)
                return r;
        if (!d.plan.effective || cpuset_empty(d.plan.effective)) {
                d.verdict = VERDICT_SKIP;
                d.reason = d.plan.skip_reason ? d.plan.skip_reason : "no CPU left";
        } else
                d.verdict = VERDICT_APPLY;
        *ret = d;
        return 0;
}

void decision_done(Decision *d) {
        plan_done(&d->plan);
        *d = (Decision){0};
}

int decide_spread_load(const unsigned *counts, unsigned n_counts, int held_cpu, unsigned nr_cpu_ids,
                       unsigned **ret, unsigned *ret_n) {
        unsigned n = n_counts;
        unsigned *load;

        if (held_cpu >= 0) {
                if (n < nr_cpu_ids)
                        n = nr_cpu_ids;
                if ((unsigned) held_cpu >= n)
                        n = (unsigned) held_cpu + 1;
        }
        load = calloc(n ? n : 1, sizeof(unsigned));
        if (!load)
                return -ENOMEM;
        for (unsigned c = 0; c < n; c++) {
                unsigned k = c < n_counts ? counts[c] : 0;
                load[c] = held_cpu < 0 || (int) c == held_cpu ? k : k + 1;
        }
        if (held_cpu >= 0)
                load[held_cpu] = 0;
        *ret = load;
        *ret_n = n;
        return 0;
}
