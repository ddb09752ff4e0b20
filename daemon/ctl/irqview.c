/* SPDX-License-Identifier: MIT */
/* IRQs and workqueues in `status` (a summary, and irqbalance when it would
 * undo the rules) and in `explain irq:N`: which rule takes the IRQ and why
 * the others do not, the mask at each step, what was written and where the
 * IRQ lands, movable or not. The same decision the loop takes
 * (rules/irqplan.c). */
#include "ctl/irqview.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctlproto.h"
#include "kernel/irq.h"
#include "lib/output.h"
#include "rules/irqplan.h"

typedef struct Summary {
        size_t moved, unmovable, skipped, failing;
        size_t wq_set, wq_skipped;
} Summary;

static Summary summarize(const Manager *m) {
        Summary s = {0};
        for (size_t i = 0; i < m->irqs.n; i++) {
                const IrqEntry *e = &m->irqs.v[i];
                s.moved += e->m.applied != NULL;
                s.unmovable += e->unmovable_errno != 0;
                s.skipped += !e->m.applied && !e->unmovable_errno && e->m.skip_reason;
                s.failing += (e->m.reported & KMASK_REPORTED_FAILED) != 0;
        }
        for (size_t i = 0; i < m->wqs.n; i++) {
                s.wq_set += m->wqs.v[i].m.applied != NULL;
                s.wq_skipped += m->wqs.v[i].m.applied == NULL;
        }
        return s;
}

/* How many IRQs (or workqueue masks) a rule holds. */
size_t irqview_rule_count(const Manager *m, const Rule *r) {
        size_t n = 0;
        if (r->kind == RULE_IRQS) {
                for (size_t i = 0; i < m->irqs.n; i++)
                        n += m->irqs.v[i].rule && m->irqs.v[i].m.applied &&
                             strcmp(m->irqs.v[i].rule, r->name) == 0;
        } else if (r->kind == RULE_WORKQUEUES && m->wqs.rule && strcmp(m->wqs.rule, r->name) == 0)
                for (size_t i = 0; i < m->wqs.n; i++)
                        n += m->wqs.v[i].m.applied != NULL;
        return n;
}

void irqview_status_text(const Manager *m, OutBuf *o) {
        bool irqs = config_has_kind(m->rc.config, RULE_IRQS) || m->irqs.n > 0;
        bool wqs = config_has_kind(m->rc.config, RULE_WORKQUEUES) || m->wqs.n > 0;
        Summary s = summarize(m);

        if (irqs) {
                outbuf_printf(o, "irqs:         %zu held by rules, %zu cannot move, %zu left as they are",
                              s.moved, s.unmovable, s.skipped);
                if (s.failing)
                        outbuf_printf(o, ", %zu failing (journalctl -u pinnerd PINNERD_EVENT=failed)",
                                      s.failing);
                if (m->irqs.dflt.applied) {
                        _cleanup_(freep) char *d = cpuset_format_list(m->irqs.dflt.applied),
                                              *orig = m->irqs.dflt.original
                                                              ? cpuset_format_list(m->irqs.dflt.original)
                                                              : NULL;
                        outbuf_printf(o, "; new IRQs on %s (default_smp_affinity%s%s)", d ? d : "?",
                                      orig ? ", was " : "", orig ? orig : "");
                }
                outbuf_putc(o, '\n');
        }
        if (wqs)
                outbuf_printf(o, "workqueues:   %zu masks held by rule %s, %zu left as they are\n", s.wq_set,
                              m->wqs.rule ? m->wqs.rule : "-", s.wq_skipped);
        if (m->irqs.irqbalance_fix)
                outbuf_printf(o, "irqbalance:   %s\n", m->irqs.irqbalance_fix);
}

void irqview_status_json(const Manager *m, JsonWriter *w) {
        /* As in the text: only on a host with rules about them (or what
         * they still hold after a reload took the rules away). */
        bool irqs = config_has_kind(m->rc.config, RULE_IRQS) || m->irqs.n > 0;
        bool wqs = config_has_kind(m->rc.config, RULE_WORKQUEUES) || m->wqs.n > 0;
        Summary s = summarize(m);
        _cleanup_(freep) char *d = m->irqs.dflt.applied ? cpuset_format_list(m->irqs.dflt.applied) : NULL,
                              *orig = m->irqs.dflt.original ? cpuset_format_list(m->irqs.dflt.original)
                                                            : NULL;

        if (irqs) {
                json_key(w, "irqs");
                json_object_begin(w);
                json_field_uint(w, "held", s.moved);
                json_field_uint(w, "unmovable", s.unmovable);
                json_field_uint(w, "left", s.skipped);
                json_field_uint(w, "failing", s.failing);
                json_field_string(w, "default_smp_affinity", d);
                json_field_string(w, "default_smp_affinity_original", orig);
                json_object_end(w);
        }
        if (wqs) {
                json_key(w, "workqueues");
                json_object_begin(w);
                json_field_string(w, "rule", m->wqs.rule);
                json_field_uint(w, "held", s.wq_set);
                json_field_uint(w, "left", s.wq_skipped);
                json_object_end(w);
        }
        if (m->irqs.irqbalance_pid) {
                json_key(w, "irqbalance");
                json_object_begin(w);
                json_field_int(w, "pid", m->irqs.irqbalance_pid);
                json_field_text(w, "fix", m->irqs.irqbalance_fix);
                json_object_end(w);
        }
}

/* ---- explain irq:N ---- */

static char *fmt(const CpuSet *s) {
        return s ? cpuset_format_list(s) : strdup("-");
}

int irqview_explain(Manager *m, const CtlRequest *req, const char *arg, CtlReply *reply) {
        _cleanup_(interrupts_freep) Interrupts *t = NULL;
        _cleanup_(cpuset_freep) CpuSet *req_mask = NULL, *eff = NULL, *follow = NULL;
        _cleanup_(strvec_done) StrVec why = {0};
        _cleanup_(target_plan_done) TargetPlan p = {0};
        unsigned irq;
        int r;

        if (arg[strspn(arg, "0123456789")] != '\0' || parse_uint(arg, &irq) < 0 || irq >= IRQ_MAX_NUMBER) {
                outbuf_puts(&reply->err, "usage: explain irq:N (an IRQ number)\n");
                reply->exit_code = CTL_EXIT_USAGE;
                return 0;
        }
        r = irq_read_interrupts(m->rc.host->root, &t);
        const IrqRow *row = r >= 0 ? interrupts_find(t, irq) : NULL;
        if (!row || irq_read_affinity(m->rc.host->root, irq, &req_mask, &eff) < 0) {
                outbuf_printf(&reply->err, "no such IRQ: %u\n", irq);
                reply->exit_code = CTL_EXIT_FAILED;
                return 0;
        }
        IrqFacts f = {irq, row->actions};
        const Rule *rule = decide_irq_rule(m->rc.config, &f, &why);
        const IrqEntry *e = irqs_find(&m->irqs, irq);
        bool planned = false;
        if (rule) {
                if (rule->follow)
                        follow = irqs_follow_cpus(&m->rc, rule->follow);
                planned = plan_target(m->rc.host, rule, e && e->m.original ? e->m.original : req_mask, follow,
                                      &p) >= 0;
        }
        _cleanup_(freep) char *rq = fmt(req_mask), *ef = eff ? fmt(eff) : NULL,
                              *orig = e ? fmt(e->m.original) : NULL, *pr = planned ? fmt(p.requested) : NULL,
                              *po = planned ? fmt(p.in_online) : NULL,
                              *pe = planned && p.effective ? fmt(p.effective) : NULL,
                              *av = planned && p.avoided ? fmt(p.avoided) : NULL,
                              *fo = follow ? fmt(follow) : NULL;
        bool pending = eff && !cpuset_subset(eff, req_mask);
        const char *movable = e && e->unmovable_errno ? irq_unmovable_reason(e->unmovable_errno) : NULL;

        if (req->json) {
                JsonWriter w;
                json_init(&w, &reply->out);
                json_object_begin(&w);
                json_field_uint(&w, "irq", irq);
                json_field_string(&w, "actions", row->actions);
                json_field_string(&w, "chip", row->chip);
                json_field_string(&w, "hwirq", row->hwirq);
                json_field_string(&w, "rule", rule ? rule->name : NULL);
                json_key(&w, "why");
                json_array_begin(&w);
                for (size_t i = 0; i < why.n; i++)
                        json_text(&w, why.v[i]);
                json_array_end(&w);
                json_field_string(&w, "follow", rule ? rule->follow : NULL);
                json_field_string(&w, "follow_cpus", fo);
                json_field_string(&w, "avoided", av);
                json_field_string(&w, "requested", pr);
                json_field_string(&w, "in_online", po);
                json_field_string(&w, "effective_plan", pe);
                json_field_text(&w, "skipped", planned && !p.effective ? p.skip_reason : NULL);
                json_field_string(&w, "smp_affinity_list", rq);
                json_field_string(&w, "effective_affinity_list", ef);
                json_field_bool(&w, "pending", pending);
                json_field_string(&w, "original", e && e->m.original ? orig : NULL);
                json_field_bool(&w, "movable", !movable);
                json_field_string(&w, "unmovable_reason", movable);
                json_field_text(&w, "irqbalance", m->irqs.irqbalance_fix);
                json_object_end(&w);
                return json_finish(&w);
        }

        OutBuf *o = &reply->out;
        outbuf_printf(o, "IRQ %u", irq);
        if (row->actions && *row->actions) {
                outbuf_puts(o, " (");
                text_escape_append(o, row->actions, strlen(row->actions));
                outbuf_putc(o, ')');
        }
        if (row->chip) {
                outbuf_puts(o, ": chip ");
                text_escape_append(o, row->chip, strlen(row->chip));
                if (row->hwirq) {
                        outbuf_puts(o, ", hardware IRQ ");
                        text_escape_append(o, row->hwirq, strlen(row->hwirq));
                }
        }
        outbuf_putc(o, '\n');
        for (size_t i = 0; i < why.n; i++)
                outbuf_printf(o, "  %s\n", why.v[i]);
        if (!rule)
                outbuf_puts(o, "  no IRQ rule takes it: pinnerd leaves it alone\n");
        else {
                outbuf_printf(o, "  rule %s (priority %d) takes it\n", rule->name, rule->priority);
                if (planned) {
                        if (rule->follow)
                                outbuf_printf(o, "  follow %s: its threads are on CPUs %s\n", rule->follow,
                                              fo ? fo : "- (none now)");
                        else if (rule->avoid)
                                outbuf_printf(o, "  avoid %s: from CPUs %s\n", av ? av : "?",
                                              e && e->m.original ? orig : rq);
                        outbuf_printf(o, "  requested %s → ∩ online %s → %s %s\n", pr ? pr : "-",
                                      po ? po : "-",
                                      rule->isolated_allow ? "(isolated allowed)" : "− isolated",
                                      pe ? pe : "nothing: skipped");
                        if (!p.effective)
                                outbuf_printf(o, "  left as it is: %s\n", p.skip_reason);
                }
        }
        outbuf_printf(o, "  smp_affinity_list %s", rq);
        if (e && e->m.original)
                outbuf_printf(o, " (pinnerd's; originally %s)", orig);
        outbuf_printf(o, "\n  lands on CPUs %s%s\n", ef ? ef : "? (no effective_affinity_list)",
                      pending ? " until its next interrupt (moves are carried out then)" : "");
        if (movable)
                outbuf_printf(o, "  cannot move: %s\n", movable);
        if (m->irqs.irqbalance_fix)
                outbuf_printf(o, "  %s\n", m->irqs.irqbalance_fix);
        return 0;
}
