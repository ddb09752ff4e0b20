/* SPDX-License-Identifier: MIT */
/* IRQs in the flow: decide, remember, write, report (irqs.h). */
#include "core/irqs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/irq.h"
#include "lib/output.h"
#include "rules/cpuspec.h"
#include "rules/irqplan.h"

void irqs_init(IrqStep *s) {
        *s = (IrqStep){0};
}

static void entry_done(IrqEntry *e) {
        free(e->actions);
        free(e->rule);
        kmask_done(&e->m);
        *e = (IrqEntry){0};
}

void irqs_done(IrqStep *s) {
        for (size_t i = 0; i < s->n; i++)
                entry_done(&s->v[i]);
        free(s->v);
        kmask_done(&s->dflt);
        free(s->default_rule);
        free(s->before_default);
        free(s->irqbalance_fix);
        *s = (IrqStep){0};
}

/* ---- the table ---- */

static size_t lower_bound(const IrqStep *s, unsigned irq) {
        size_t lo = 0, hi = s->n;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (s->v[mid].irq < irq)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

const IrqEntry *irqs_find(const IrqStep *s, unsigned irq) {
        size_t i = lower_bound(s, irq);
        return i < s->n && s->v[i].irq == irq ? &s->v[i] : NULL;
}

static IrqEntry *entry_get(IrqStep *s, unsigned irq) {
        return (IrqEntry *) irqs_find(s, irq);
}

static IrqEntry *entry_put(IrqStep *s, unsigned irq) {
        size_t i = lower_bound(s, irq);

        if (i < s->n && s->v[i].irq == irq)
                return &s->v[i];
        if (s->n == s->cap) {
                size_t nc = s->cap ? s->cap * 2 : 64;
                IrqEntry *nv = reallocarray(s->v, nc, sizeof *nv);
                if (!nv)
                        return NULL;
                s->v = nv;
                s->cap = nc;
        }
        memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof *s->v);
        s->v[i] = (IrqEntry){.irq = irq};
        s->n++;
        return &s->v[i];
}

static void entry_remove(IrqStep *s, IrqEntry *e) {
        size_t i = (size_t) (e - s->v);

        if (e->m.original)
                s->originals_changed = true;
        entry_done(e);
        memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof *s->v);
        s->n--;
}

/* "IRQ 38 (virtio2-input.0)" and the journal fields. */
static void ref_init(KmaskRef *r, const void *obj) {
        const IrqEntry *e = obj;

        snprintf(r->num, sizeof r->num, "%u", e->irq);
        r->label = e->actions && *e->actions ? xasprintf("IRQ %u (%s)", e->irq, e->actions)
                                             : xasprintf("IRQ %u", e->irq);
        r->t = (TargetRef){.label = r->label ? r->label : "an IRQ",
                           .irq = r->num,
                           .irq_name = e->actions && *e->actions ? e->actions : NULL};
}

static const TargetRef default_ref = {.label = "default_smp_affinity (IRQs that appear later)",
                                      .irq = "default"};

/* ---- following a task rule ---- */

CpuSet *irqs_follow_cpus(const Reconciler *rc, const char *rule) {
        CpuSet *u = NULL;
        size_t i = 0;
        Thread *th;

        while ((th = thread_table_next(rc->threads, &i))) {
                if (!th->rule || !th->applied || strcmp(th->rule, rule) != 0)
                        continue;
                if (!u && !(u = cpuset_new()))
                        return NULL;
                if (cpuset_or(u, th->applied) < 0) {
                        cpuset_free(u);
                        return NULL;
                }
        }
        return u;
}

/* ---- deciding ---- */

static bool was_before_default(const IrqStep *s, unsigned irq) {
        size_t lo = 0, hi = s->n_before_default;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (s->before_default[mid] == irq)
                        return true;
                if (s->before_default[mid] < irq)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return false;
}

/* What the IRQ would have without pinnerd, given its mask now: an IRQ that
 * appeared after pinnerd set default_smp_affinity and still has that
 * default got it from pinnerd; its own is the default pinnerd replaced. */
static const CpuSet *true_original(const IrqStep *s, unsigned irq, const CpuSet *cur) {
        if (s->dflt.original && s->dflt.applied && cpuset_equal(cur, s->dflt.applied) &&
            !was_before_default(s, irq))
                return s->dflt.original;
        return cur;
}

/* The IRQs listed now, as the ones that were there before the default. */
static void note_before_default(IrqStep *s, const Interrupts *t) {
        free(s->before_default);
        s->before_default = calloc(t ? t->n_rows + 1 : 1, sizeof *s->before_default);
        s->n_before_default = 0;
        for (size_t i = 0; s->before_default && t && i < t->n_rows; i++)
                if (t->rows[i].numbered)
                        s->before_default[s->n_before_default++] = t->rows[i].irq;
        /* /proc/interrupts lists them in order; sorted all the same. */
        for (size_t i = 1; i < s->n_before_default; i++)
                for (size_t k = i; k > 0 && s->before_default[k - 1] > s->before_default[k]; k--) {
                        unsigned x = s->before_default[k];
                        s->before_default[k] = s->before_default[k - 1];
                        s->before_default[k - 1] = x;
                }
}

/* The write a plan asks for, or a skip. cur: the mask now. */
static void plan_entry(IrqStep *s, Reconciler *rc, IrqEntry *e, const Rule *rule, const CpuSet *cur,
                       bool replanning) {
        _cleanup_(target_plan_done) TargetPlan p = {0};
        _cleanup_(cpuset_freep) CpuSet *follow = NULL;
        const CpuSet *base = e->m.original ? e->m.original : cur;

        if (!e->rule || strcmp(e->rule, rule->name) != 0) {
                kmask_set_str(&e->rule, rule->name);
                e->m.reported = 0;
        }
        if (e->unmovable_errno) {
                kmask_set_str(&e->m.skip_reason, irq_unmovable_reason(e->unmovable_errno));
                return;
        }
        if (rule->follow)
                follow = irqs_follow_cpus(rc, rule->follow);
        if (plan_target(rc->host, rule, base, follow, &p) < 0) {
                log_msg(rc->log, LOG_ERR, "planning IRQ %u for rule %s: out of memory", e->irq, rule->name);
                return;
        }
        if (kmask_plan(&e->m, rc, rule, &p, cur, true_original(s, e->irq, cur), replanning, ref_init, e))
                s->originals_added = s->originals_changed = true;
}

/* No rule takes it (any more): give the original back, then forget it. */
static void plan_release(IrqStep *s, Reconciler *rc, IrqEntry *e) {
        if (!kmask_release(&e->m, rc->config->settings.restore))
                entry_remove(s, e);
}

static void plan_default(IrqStep *s, Reconciler *rc, const Interrupts *t, bool replanning) {
        const Rule *rule = decide_default_affinity_rule(rc->config);
        _cleanup_(cpuset_freep) CpuSet *cur = NULL;
        _cleanup_(target_plan_done) TargetPlan p = {0};
        int r = irq_read_default_affinity(rc->host->root, &cur);

        if (r < 0)
                return; /* no /proc/irq (a captured tree without it): nothing to do */
        if (!rule) {
                (void) kmask_release(&s->dflt, rc->config->settings.restore);
                kmask_set_str(&s->default_rule, NULL);
                return;
        }
        kmask_set_str(&s->default_rule, rule->name);
        if (plan_target(rc->host, rule, s->dflt.original ? s->dflt.original : cur, NULL, &p) < 0)
                return;
        if (!p.effective) {
                kmask_set_str(&s->dflt.skip_reason, p.skip_reason);
                return;
        }
        kmask_set_str(&s->dflt.skip_reason, NULL);
        if (cpuset_equal(cur, p.effective) ||
            (rc->dry_run && s->dflt.applied && cpuset_equal(s->dflt.applied, p.effective))) {
                kmask_set(&s->dflt.applied, p.effective);
                return;
        }
        if (!replanning && s->dflt.applied && cpuset_equal(s->dflt.applied, p.effective) &&
            rule->drift != DRIFT_REAPPLY)
                return;
        kmask_set(&s->dflt.pending, p.effective);
        s->dflt.releasing = false;
        if (!s->dflt.original && !rc->dry_run) {
                s->dflt.original = cpuset_dup(cur);
                s->originals_added = s->originals_changed = true;
        }
        /* Also after a restart took the default's original over: what is
         * listed now counts as there before (their own masks are theirs). */
        if (s->dflt.original && !s->before_default)
                note_before_default(s, t);
        /* An IRQ that left the listing and comes back (a driver unbound and
         * bound again) is a new IRQ, started on the default. */
        size_t k = 0;
        for (size_t i = 0; i < s->n_before_default; i++)
                if (interrupts_find(t, s->before_default[i]))
                        s->before_default[k++] = s->before_default[i];
        s->n_before_default = k;
}

size_t irqs_plan(IrqStep *s, Reconciler *rc, bool follow_only, bool replanning) {
        _cleanup_(interrupts_freep) Interrupts *t = NULL;
        size_t pending = 0;
        int r;

        if (follow_only) {
                for (size_t i = 0; i < s->n; i++) {
                        IrqEntry *e = &s->v[i];
                        const Rule *rule = e->rule ? config_find_rule(rc->config, e->rule) : NULL;
                        _cleanup_(cpuset_freep) CpuSet *cur = NULL;
                        if (!rule || !rule->follow ||
                            irq_read_affinity(rc->host->root, e->irq, &cur, NULL) < 0)
                                continue;
                        /* The followed threads moved: a new decision, not drift. */
                        plan_entry(s, rc, e, rule, cur, true);
                }
                goto count;
        }
        r = irq_read_interrupts(rc->host->root, &t);
        if (r < 0) {
                if (!s->listing_failed && config_has_kind(rc->config, RULE_IRQS))
                        log_msg(rc->log, LOG_WARNING,
                                "cannot read /proc/interrupts: %s; IRQ rules wait for it", strerror(-r));
                s->listing_failed = true;
                return 0;
        }
        s->listing_failed = false;
        s->generation++;
        for (size_t i = 0; i < t->n_rows; i++) {
                const IrqRow *row = &t->rows[i];
                if (!row->numbered)
                        continue;
                IrqFacts f = {row->irq, row->actions};
                const Rule *rule = decide_irq_rule(rc->config, &f, NULL);
                IrqEntry *e = entry_get(s, row->irq);
                if (!rule) {
                        if (e) {
                                e->generation = s->generation;
                                plan_release(s, rc, e);
                        }
                        continue;
                }
                _cleanup_(cpuset_freep) CpuSet *cur = NULL;
                if (irq_read_affinity(rc->host->root, row->irq, &cur, NULL) < 0)
                        continue; /* gone since the listing, or no /proc/irq/N (chained) */
                if (!e && !(e = entry_put(s, row->irq))) {
                        log_msg(rc->log, LOG_ERR, "out of memory tracking IRQ %u", row->irq);
                        continue;
                }
                e->generation = s->generation;
                kmask_set_str(&e->actions, row->actions ? row->actions : "");
                plan_entry(s, rc, e, rule, cur, replanning);
        }
        /* IRQs that left the listing: their devices went away. */
        for (size_t i = s->n; i-- > 0;)
                if (s->v[i].generation != s->generation)
                        entry_remove(s, &s->v[i]);
        plan_default(s, rc, t, replanning);
count:
        for (size_t i = 0; i < s->n; i++)
                if (s->v[i].m.pending)
                        pending++;
        return pending + (s->dflt.pending ? 1 : 0);
}

/* ---- writing ---- */

/* The unmovable IRQs of each rule not said yet: one record per rule. */
static void say_unmovable(IrqStep *s, Reconciler *rc) {
        for (size_t i = 0; i < s->n; i++) {
                IrqEntry *first = &s->v[i];
                if (!first->unmovable_errno || !first->rule || (first->m.reported & IRQ_REPORTED_UNMOVABLE))
                        continue;
                OutBuf o = OUTBUF_INIT;
                unsigned n = 0;
                for (size_t k = i; k < s->n; k++) {
                        IrqEntry *e = &s->v[k];
                        if (!e->unmovable_errno || !e->rule || strcmp(e->rule, first->rule) != 0 ||
                            (e->m.reported & IRQ_REPORTED_UNMOVABLE))
                                continue;
                        e->m.reported |= IRQ_REPORTED_UNMOVABLE;
                        outbuf_printf(&o, "%s%u %s: %s", n ? "; " : "", e->irq,
                                      *e->actions ? e->actions : "-",
                                      irq_unmovable_reason(e->unmovable_errno));
                        n++;
                }
                if (outbuf_error(&o) == 0)
                        report_irqs_unmovable(&rc->report, first->rule, n, outbuf_str(&o));
                outbuf_done(&o);
        }
}

static void apply_entry(IrqStep *s, Reconciler *rc, IrqEntry *e) {
        _cleanup_(cpuset_freep) CpuSet *want = TAKE_PTR(e->m.pending), *prev = NULL, *eff = NULL;
        const Rule *rule = e->rule ? config_find_rule(rc->config, e->rule) : NULL;
        KmaskRef ref;
        int err;

        (void) irq_read_affinity(rc->host->root, e->irq, &prev, NULL);
        IrqWrite w = irq_write_affinity(rc->host->root, e->irq, want, rc->dry_run, &err);
        if (w == IRQ_WRITE_UNMOVABLE) {
                /* Nothing changed: its original is not pinnerd's to keep;
                 * said once per rule by say_unmovable(). */
                e->unmovable_errno = err ? err : EIO;
                kmask_set_str(&e->m.skip_reason, irq_unmovable_reason(e->unmovable_errno));
                kmask_set(&e->m.applied, NULL);
                if (kmask_drop_original(&e->m))
                        s->originals_changed = true;
                if (e->m.releasing)
                        entry_remove(s, e);
                return;
        }
        /* Where it lands now: a move may wait for its next interrupt. */
        if (w == IRQ_WRITE_OK && rule && !e->m.releasing)
                (void) irq_read_affinity(rc->host->root, e->irq, NULL, &eff);
        ref_init(&ref, e);
        bool forget =
                kmask_written(&e->m, rc, w, err, rule, want, prev, eff, "no rule takes it any more", &ref.t);
        kmask_ref_done(&ref);
        if (forget)
                entry_remove(s, e);
}

static void apply_default(IrqStep *s, Reconciler *rc) {
        _cleanup_(cpuset_freep) CpuSet *want = TAKE_PTR(s->dflt.pending), *prev = NULL;
        const Rule *rule = s->default_rule ? config_find_rule(rc->config, s->default_rule) : NULL;
        int err;

        (void) irq_read_default_affinity(rc->host->root, &prev);
        IrqWrite w = irq_write_default_affinity(rc->host->root, want, rc->dry_run, &err);
        if (w == IRQ_WRITE_OK || w == IRQ_WRITE_DRY_RUN || w == IRQ_WRITE_UNCHANGED) {
                if (s->dflt.releasing) {
                        if (w != IRQ_WRITE_UNCHANGED)
                                report_target_restored(&rc->report, &default_ref, want, prev,
                                                       "no irqs = * rule avoids CPUs any more",
                                                       w == IRQ_WRITE_DRY_RUN);
                        kmask_set(&s->dflt.original, NULL);
                        kmask_set(&s->dflt.applied, NULL);
                        free(TAKE_PTR(s->before_default));
                        s->n_before_default = 0;
                        s->dflt.releasing = false;
                        s->originals_changed = true;
                        return;
                }
                kmask_set(&s->dflt.applied, want);
                if (w != IRQ_WRITE_UNCHANGED && rule)
                        report_target_applied(&rc->report, &default_ref, rule, want, prev, NULL,
                                              w == IRQ_WRITE_DRY_RUN);
                return;
        }
        report_target_failed(&rc->report, &default_ref, s->dflt.releasing ? NULL : rule, want, err);
}

void irqs_apply(IrqStep *s, Reconciler *rc) {
        /* In IRQ order; a released entry leaves the table. */
        for (size_t i = 0; i < s->n;) {
                size_t n = s->n;
                if (s->v[i].m.pending)
                        apply_entry(s, rc, &s->v[i]);
                if (s->n == n)
                        i++;
        }
        if (s->dflt.pending)
                apply_default(s, rc);
        say_unmovable(s, rc);
}

size_t irqs_restore_all(IrqStep *s, Reconciler *rc, const char *why) {
        size_t n = 0;

        for (size_t i = 0; i < s->n; i++) {
                IrqEntry *e = &s->v[i];
                _cleanup_(cpuset_freep) CpuSet *prev = NULL;
                int err;
                if (!e->m.original)
                        continue;
                (void) irq_read_affinity(rc->host->root, e->irq, &prev, NULL);
                IrqWrite w = irq_write_affinity(rc->host->root, e->irq, e->m.original, rc->dry_run, &err);
                KmaskRef ref;
                ref_init(&ref, e);
                n += kmask_restored(&e->m, rc, w, err, prev, why, &ref.t);
                kmask_ref_done(&ref);
        }
        if (s->dflt.original) {
                _cleanup_(cpuset_freep) CpuSet *prev = NULL;
                int err;
                (void) irq_read_default_affinity(rc->host->root, &prev);
                IrqWrite w = irq_write_default_affinity(rc->host->root, s->dflt.original, rc->dry_run, &err);
                if (w == IRQ_WRITE_OK || w == IRQ_WRITE_DRY_RUN) {
                        report_target_restored(&rc->report, &default_ref, s->dflt.original, prev, why,
                                               w == IRQ_WRITE_DRY_RUN);
                        n++;
                } else if (w != IRQ_WRITE_UNCHANGED)
                        report_target_failed(&rc->report, &default_ref, NULL, s->dflt.original, err);
        }
        return n;
}

/* ---- originals that survive a crash ---- */

void irqs_adopt(IrqStep *s, Reconciler *rc, const StateEntries *e) {
        size_t kept = 0, seen = 0;

        for (size_t i = 0; i < e->n_k; i++) {
                const StateKernelEntry *k = &e->k[i];
                if (k->kind == 'D') {
                        seen++;
                        kmask_set(&s->dflt.original, k->original);
                        kept++;
                        continue;
                }
                if (k->kind != 'I')
                        continue;
                seen++;
                /* Only while the IRQ is there: a new one starts afresh. */
                _cleanup_(cpuset_freep) CpuSet *cur = NULL;
                if (irq_read_affinity(rc->host->root, k->irq, &cur, NULL) < 0)
                        continue;
                IrqEntry *x = entry_put(s, k->irq);
                if (!x) {
                        log_msg(rc->log, LOG_ERR, "out of memory loading IRQ originals");
                        return;
                }
                kmask_set(&x->m.original, k->original);
                kmask_set_str(&x->actions, "");
                x->generation = s->generation;
                kept++;
        }
        if (seen)
                log_msg(rc->log, LOG_NOTICE,
                        "%zu IRQ originals taken over from a previous run, %zu dropped (IRQs gone)", kept,
                        seen - kept);
        if (kept != seen)
                s->originals_changed = true;
}

size_t irqs_state_count(const IrqStep *s) {
        size_t n = s->dflt.original ? 1 : 0;
        for (size_t i = 0; i < s->n; i++)
                if (s->v[i].m.original)
                        n++;
        return n;
}

size_t irqs_state_entries(const IrqStep *s, StateKernelEntry *v, size_t max) {
        size_t n = 0;

        if (s->dflt.original && n < max)
                v[n++] = (StateKernelEntry){.kind = 'D', .original = s->dflt.original};
        for (size_t i = 0; i < s->n && n < max; i++)
                if (s->v[i].m.original)
                        v[n++] = (StateKernelEntry){
                                .kind = 'I', .irq = s->v[i].irq, .original = s->v[i].m.original};
        return n;
}

/* ---- irqbalance ---- */

void irqs_check_irqbalance(IrqStep *s, Reconciler *rc) {
        _cleanup_(irqbalance_done) IrqBalance b = {0};
        _cleanup_(cpuset_freep) CpuSet *need = NULL, *banned = NULL;
        _cleanup_(freep) unsigned *irqs = NULL;
        _cleanup_(freep) char *fix = NULL;
        size_t n_irqs = 0;
        const char *rule = NULL;

        if (!config_has_kind(rc->config, RULE_IRQS) || irqbalance_find(rc->procfd, &b) < 0 || b.pid == 0) {
                free(TAKE_PTR(s->irqbalance_fix));
                s->irqbalance_pid = 0;
                return;
        }
        need = cpuset_new();
        irqs = calloc(s->n + 1, sizeof *irqs);
        if (!need || !irqs)
                return;
        /* What the rules keep IRQs off, and the IRQs they place. */
        for (size_t i = 0; i < rc->config->n_rules; i++) {
                const Rule *r = &rc->config->rules[i];
                _cleanup_(cpuset_freep) CpuSet *avoided = NULL;
                if (r->kind != RULE_IRQS || !r->avoid || cpuspec_resolve(rc->host, &r->cpus, &avoided) < 0)
                        continue;
                cpuset_and(avoided, rc->host->online);
                if (!cpuset_empty(avoided)) {
                        (void) cpuset_or(need, avoided);
                        rule = rule ? rule : r->name;
                }
        }
        for (size_t i = 0; i < s->n; i++) {
                const Rule *r = s->v[i].rule ? config_find_rule(rc->config, s->v[i].rule) : NULL;
                if (r && !r->avoid && s->v[i].m.applied) {
                        irqs[n_irqs++] = s->v[i].irq;
                        rule = rule ? rule : r->name;
                }
        }
        /* Without the variables it bans the isolated (isolcpus=) and
         * nohz_full CPUs. */
        banned = b.banned ? cpuset_dup(b.banned) : cpuset_new();
        if (!banned)
                return;
        if (!b.banned && rc->host->isolcpus)
                (void) cpuset_or(banned, rc->host->isolcpus);
        if (!b.banned && rc->host->nohz_full)
                (void) cpuset_or(banned, rc->host->nohz_full);
        if (b.environ_unknown)
                fix = xasprintf(
                        "irqbalance (pid %d) runs, and its environment cannot be read to tell whether "
                        "it bans the CPUs rules keep IRQs off; if it does not, it will undo them: set "
                        "IRQBALANCE_BANNED_CPULIST in /etc/default/irqbalance (or stop it)",
                        (int) b.pid);
        else {
                _cleanup_(freep) char *what =
                        irqplan_irqbalance_fix(need, banned, irqs, n_irqs, b.banned_irqs, b.n_banned_irqs);
                if (what)
                        fix = xasprintf("irqbalance (pid %d) %s", (int) b.pid, what);
        }
        if (fix && (!s->irqbalance_fix || strcmp(fix, s->irqbalance_fix) != 0))
                report_conflict(&rc->report, rule, fix);
        free(s->irqbalance_fix);
        s->irqbalance_fix = TAKE_PTR(fix);
        s->irqbalance_pid = b.pid;
}
