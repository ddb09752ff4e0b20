/* SPDX-License-Identifier: MIT */
/* IRQ and workqueue decisions: the rule, then requested → ∩ online →
 * − isolated = the mask written. */
#include "rules/irqplan.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/irq.h"
#include "lib/output.h"
#include "rules/cpuspec.h"

/* Names shown in explanations: action lists are short, but bounded anyway. */
#define WHY_MAX 200

/* The first item of v matching the number or one of the action names. */
static const char *irq_item_hit(const StrVec *v, const char *num, const char *const *names, size_t n) {
        for (size_t i = 0; i < v->n; i++) {
                if (fnmatch(v->v[i], num, 0) == 0)
                        return v->v[i];
                for (size_t k = 0; k < n; k++)
                        if (fnmatch(v->v[i], names[k], 0) == 0)
                                return v->v[i];
        }
        return NULL;
}

static char *irq_label(const IrqFacts *f) {
        _cleanup_(freep) char *a = f->actions ? conf_escape(f->actions, WHY_MAX) : NULL;
        return a && *a ? xasprintf("IRQ %u (%s)", f->irq, a) : xasprintf("IRQ %u", f->irq);
}

bool rule_match_irq(const Rule *r, const IrqFacts *f, char **why) {
        char num[16], buf[IRQ_ACTIONS_MAX + 1];
        const char *names[32];
        size_t n;
        const char *hit;

        if (r->kind != RULE_IRQS) {
                if (why)
                        *why = xasprintf("the rule is about %s, not IRQs", rule_kind_name(r->kind));
                return false;
        }
        snprintf(num, sizeof num, "%u", f->irq);
        n = irq_split_actions(f->actions, buf, sizeof buf, names, ELEMENTSOF(names));
        if (r->irqs.n > 0 && !irq_item_hit(&r->irqs, num, names, n)) {
                if (why) {
                        _cleanup_(freep) char *l = irq_label(f);
                        OutBuf o = OUTBUF_INIT;
                        for (size_t i = 0; i < r->irqs.n; i++) {
                                _cleanup_(freep) char *e = conf_escape(r->irqs.v[i], WHY_MAX);
                                outbuf_printf(&o, "%s'%s'",
                                              i == 0               ? ""
                                              : i + 1 == r->irqs.n ? " or "
                                                                   : ", ",
                                              e ? e : "");
                        }
                        *why = xasprintf("%s does not match %s", l ? l : "IRQ", outbuf_str(&o));
                        outbuf_done(&o);
                }
                return false;
        }
        hit = irq_item_hit(&r->not_irqs, num, names, n);
        if (hit) {
                if (why) {
                        _cleanup_(freep) char *l = irq_label(f), *e = conf_escape(hit, WHY_MAX);
                        *why = xasprintf("%s is excluded by '!%s'", l ? l : "IRQ", e ? e : "");
                }
                return false;
        }
        return true;
}

const Rule *decide_irq_rule(const Config *c, const IrqFacts *f, StrVec *why) {
        const Rule *winner = NULL;

        for (size_t i = 0; i < c->n_rules; i++) {
                const Rule *rule = c->by_priority[i];
                char *no = NULL;

                if (rule->kind != RULE_IRQS)
                        continue;
                if (winner && !why)
                        break;
                if (!rule_match_irq(rule, f, why ? &no : NULL)) {
                        if (why)
                                (void) strvec_push_take(why, xasprintf("rule %s: %s", rule->name,
                                                                       no ? no : "does not match"));
                        free(no);
                        continue;
                }
                if (!winner)
                        winner = rule;
                else
                        (void) strvec_push_take(
                                why, xasprintf("rule %s: matches too, but rule %s wins (priority %d vs %d%s)",
                                               rule->name, winner->name, winner->priority, rule->priority,
                                               winner->priority == rule->priority ? ", defined first" : ""));
        }
        return winner;
}

const Rule *decide_workqueue_rule(const Config *c) {
        for (size_t i = 0; c && i < c->n_rules; i++)
                if (c->by_priority[i]->kind == RULE_WORKQUEUES)
                        return c->by_priority[i];
        return NULL;
}

const Rule *decide_default_affinity_rule(const Config *c) {
        for (size_t i = 0; c && i < c->n_rules; i++) {
                const Rule *r = c->by_priority[i];
                if (r->kind == RULE_IRQS && r->avoid && rule_irqs_all(r))
                        return r;
        }
        return NULL;
}

void target_plan_done(TargetPlan *p) {
        cpuset_free(p->requested);
        cpuset_free(p->avoided);
        cpuset_free(p->in_online);
        cpuset_free(p->effective);
        cpuset_free(p->dropped);
        free(p->skip_reason_buf);
        *p = (TargetPlan){0};
}

static void skip(TargetPlan *p, char *reason, const char *fallback) {
        free(p->skip_reason_buf);
        p->skip_reason_buf = reason;
        p->skip_reason = reason ? reason : fallback;
        cpuset_free(p->effective);
        p->effective = NULL;
}

int plan_target(const Host *h, const Rule *r, const CpuSet *base, const CpuSet *follow, TargetPlan *ret) {
        _cleanup_(target_plan_done) TargetPlan p = {0};
        int k;

        if (r->follow) {
                if (!follow || cpuset_empty(follow)) {
                        skip(&p, xasprintf("rule %s manages no thread now: nothing to follow", r->follow),
                             "nothing to follow");
                        *ret = p;
                        p = (TargetPlan){0};
                        return 0;
                }
                p.requested = cpuset_dup(follow);
        } else if (r->avoid) {
                k = cpuspec_resolve(h, &r->cpus, &p.avoided);
                if (k < 0)
                        return k;
                if (!base) {
                        skip(&p, NULL, "its mask before pinnerd is unknown");
                        *ret = p;
                        p = (TargetPlan){0};
                        return 0;
                }
                p.requested = cpuset_dup(base);
                if (p.requested)
                        cpuset_andnot(p.requested, p.avoided);
                /* An IRQ or a workqueue whose mask holds only avoided CPUs
                 * (irqbalance or a driver's hint put it there; a per-CPU
                 * queue) goes to the other online CPUs: unlike a task, nobody
                 * narrowed it to keep it there, and a shield is for keeping
                 * it off. The kernel says which IRQs cannot go. */
                if (p.requested && cpuset_empty(p.requested)) {
                        cpuset_free(p.requested);
                        p.requested = cpuset_dup(h->online);
                        if (p.requested)
                                cpuset_andnot(p.requested, p.avoided);
                }
        } else {
                k = cpuspec_resolve(h, &r->cpus, &p.requested);
                if (k < 0)
                        return k;
        }
        if (!p.requested)
                return -ENOMEM;
        p.in_online = cpuset_dup(p.requested);
        if (!p.in_online)
                return -ENOMEM;
        cpuset_and(p.in_online, h->online);
        p.effective = cpuset_dup(p.in_online);
        if (!p.effective)
                return -ENOMEM;
        if (!r->isolated_allow && h->isolated)
                cpuset_andnot(p.effective, h->isolated);
        p.dropped = cpuset_dup(p.requested);
        if (!p.dropped)
                return -ENOMEM;
        cpuset_andnot(p.dropped, p.effective);

        if (cpuset_empty(p.effective)) {
                _cleanup_(freep) char *req = cpuset_format_list(p.requested), *av = NULL, *b = NULL;
                char *why = NULL;
                if (cpuset_empty(p.requested)) {
                        if (r->avoid) {
                                av = cpuset_format_list(p.avoided);
                                b = cpuset_format_list(h->online);
                                why = xasprintf("avoiding CPUs %s leaves no online CPU (online: %s)",
                                                av ? av : "?", b ? b : "?");
                        } else if (cpuspec_empty_reason(h, &r->cpus, &why) < 0)
                                return -ENOMEM;
                } else if (cpuset_empty(p.in_online))
                        why = xasprintf("none of CPUs %s is online", req ? req : "?");
                else if (r->follow)
                        why = xasprintf(
                                "the threads of rule %s are on isolated CPUs %s (isolated = allow lets "
                                "the IRQs follow them)",
                                r->follow, req ? req : "?");
                else
                        why = xasprintf("CPUs %s are isolated (isolated = allow lets the rule use them)",
                                        req ? req : "?");
                skip(&p, why, "no CPU left");
        }
        *ret = p;
        p = (TargetPlan){0};
        return 0;
}

static char *fmt_irq_list(const unsigned *v, size_t n, const char *prefix, const char *sep) {
        OutBuf o = OUTBUF_INIT;
        for (size_t i = 0; i < n; i++)
                outbuf_printf(&o, "%s%s%u", i ? sep : "", prefix, v[i]);
        if (outbuf_error(&o) < 0) {
                outbuf_done(&o);
                return NULL;
        }
        return o.data ? o.data : strdup("");
}

static bool has_irq(const unsigned *v, size_t n, unsigned irq) {
        for (size_t i = 0; i < n; i++)
                if (v[i] == irq)
                        return true;
        return false;
}

char *irqplan_irqbalance_fix(const CpuSet *need_banned, const CpuSet *banned, const unsigned *need_irqs,
                             size_t n_need_irqs, const unsigned *banned_irqs, size_t n_banned_irqs) {
        _cleanup_(cpuset_freep) CpuSet *missing = need_banned ? cpuset_dup(need_banned) : cpuset_new();
        _cleanup_(cpuset_freep) CpuSet *want = NULL;
        _cleanup_(freep) unsigned *irqs = calloc(n_need_irqs + 1, sizeof *irqs);
        size_t n_irqs = 0;
        OutBuf o = OUTBUF_INIT;

        if (!missing || !irqs)
                return NULL;
        if (banned)
                cpuset_andnot(missing, banned);
        for (size_t i = 0; i < n_need_irqs; i++)
                if (!has_irq(banned_irqs, n_banned_irqs, need_irqs[i]) &&
                    !has_irq(irqs, n_irqs, need_irqs[i]))
                        irqs[n_irqs++] = need_irqs[i];
        if (cpuset_empty(missing) && n_irqs == 0)
                return NULL;
        if (!cpuset_empty(missing)) {
                _cleanup_(freep) char *m = cpuset_format_list(missing), *w = NULL;
                want = banned ? cpuset_dup(banned) : cpuset_new();
                if (!want || cpuset_or(want, missing) < 0)
                        return NULL;
                w = cpuset_format_list(want);
                outbuf_printf(&o,
                              "does not ban CPUs %s, which rules keep IRQs off, and will move IRQs back onto "
                              "them: set IRQBALANCE_BANNED_CPULIST=%s in /etc/default/irqbalance and restart "
                              "it (or stop it)",
                              m ? m : "?", w ? w : "?");
        }
        if (n_irqs > 0) {
                _cleanup_(freep) char *l = fmt_irq_list(irqs, n_irqs, "", ", "),
                                      *a = fmt_irq_list(irqs, n_irqs, "--banirq=", " ");
                outbuf_printf(
                        &o,
                        "%sdoes not leave alone IRQ%s %s, which rules place, and will move %s: add %s to "
                        "IRQBALANCE_ARGS in /etc/default/irqbalance and restart it",
                        cpuset_empty(missing) ? "" : "; it also ", n_irqs == 1 ? "" : "s", l ? l : "?",
                        n_irqs == 1 ? "it" : "them", a ? a : "?");
        }
        if (outbuf_error(&o) < 0) {
                outbuf_done(&o);
                return NULL;
        }
        return o.data;
}
