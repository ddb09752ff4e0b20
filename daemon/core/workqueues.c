/* SPDX-License-Identifier: MIT */
/* Unbound workqueues in the flow (workqueues.h). */
#include "core/workqueues.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/workqueue.h"
#include "rules/irqplan.h"

void wqs_init(WqStep *s) {
        *s = (WqStep){0};
}

static void entry_done(WqEntry *e) {
        free(e->name);
        cpuset_free(e->original);
        cpuset_free(e->applied);
        cpuset_free(e->pending);
        free(e->skip_reason);
        *e = (WqEntry){0};
}

void wqs_done(WqStep *s) {
        for (size_t i = 0; i < s->n; i++)
                entry_done(&s->v[i]);
        free(s->v);
        free(s->rule);
        *s = (WqStep){0};
}

static void set_set(CpuSet **p, const CpuSet *v) {
        cpuset_free(*p);
        *p = v ? cpuset_dup(v) : NULL;
}

static void set_str(char **p, const char *v) {
        if ((*p && v && strcmp(*p, v) == 0) || (!*p && !v))
                return;
        free(*p);
        *p = v ? strdup(v) : NULL;
}

static WqEntry *entry_get(WqStep *s, const char *name) {
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->v[i].name, name) == 0)
                        return &s->v[i];
        return NULL;
}

static WqEntry *entry_put(WqStep *s, const char *name) {
        WqEntry *e = entry_get(s, name);

        if (e)
                return e;
        if (s->n == s->cap) {
                size_t nc = s->cap ? s->cap * 2 : 16;
                WqEntry *nv = reallocarray(s->v, nc, sizeof *nv);
                if (!nv)
                        return NULL;
                s->v = nv;
                s->cap = nc;
        }
        e = &s->v[s->n];
        *e = (WqEntry){.name = strdup(name)};
        if (!e->name)
                return NULL;
        s->n++;
        return e;
}

static void entry_remove(WqStep *s, WqEntry *e) {
        size_t i = (size_t) (e - s->v);

        if (e->original)
                s->originals_changed = true;
        entry_done(e);
        memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof *s->v);
        s->n--;
}

typedef struct Ref {
        TargetRef t;
        char *label;
} Ref;

static void ref_init(Ref *r, const WqEntry *e) {
        bool global = strcmp(e->name, WQ_GLOBAL) == 0;
        r->label = global ? strdup("the unbound workqueue cpumask") : xasprintf("workqueue %s", e->name);
        r->t = (TargetRef){.label = r->label ? r->label : "a workqueue", .workqueue = e->name};
}

static void ref_done(Ref *r) {
        free(r->label);
}

static void plan_entry(WqStep *s, Reconciler *rc, WqEntry *e, const Rule *rule, bool replanning) {
        _cleanup_(cpuset_freep) CpuSet *cur = NULL;
        _cleanup_(target_plan_done) TargetPlan p = {0};

        if (wq_read_mask(rc->host->root, e->name, &cur) < 0)
                return;
        if (e->refused_errno)
                return;
        if (plan_target(rc->host, rule, e->original ? e->original : cur, NULL, &p) < 0)
                return;
        if (!p.effective) {
                set_str(&e->skip_reason, p.skip_reason);
                set_set(&e->applied, NULL);
                if (!e->reported_skip) {
                        Ref ref;
                        e->reported_skip = true;
                        ref_init(&ref, e);
                        report_target_skipped(&rc->report, &ref.t, rule, p.skip_reason);
                        ref_done(&ref);
                }
                return;
        }
        e->reported_skip = false;
        set_str(&e->skip_reason, NULL);
        if (cpuset_equal(cur, p.effective) ||
            (rc->dry_run && e->applied && cpuset_equal(e->applied, p.effective))) {
                set_set(&e->applied, p.effective);
                return;
        }
        /* Someone else changed a mask whose decision stands: drift. */
        if (!replanning && e->applied && cpuset_equal(e->applied, p.effective)) {
                if (rule->drift == DRIFT_IGNORE)
                        return;
                if (!e->reported_drift) {
                        Ref ref;
                        e->reported_drift = rule->drift == DRIFT_LOG;
                        ref_init(&ref, e);
                        report_target_drift(&rc->report, &ref.t, rule->name, cur, e->applied,
                                            rule->drift == DRIFT_REAPPLY);
                        ref_done(&ref);
                }
                if (rule->drift == DRIFT_LOG)
                        return;
        }
        set_set(&e->pending, p.effective);
        e->releasing = false;
        if (!e->original && !rc->dry_run) {
                e->original = cpuset_dup(cur);
                s->originals_added = s->originals_changed = true;
        }
}

size_t wqs_plan(WqStep *s, Reconciler *rc, bool replanning) {
        const Rule *rule = decide_workqueue_rule(rc->config);
        _cleanup_(strvec_done) StrVec names = {0};
        size_t pending = 0;

        if (!rule || wq_list(rc->host->root, &names) < 0) {
                set_str(&s->rule, NULL);
                /* No rule any more: give every original back. */
                for (size_t i = s->n; i-- > 0;) {
                        WqEntry *e = &s->v[i];
                        if (e->original && rc->config->settings.restore) {
                                set_set(&e->pending, e->original);
                                e->releasing = true;
                        } else
                                entry_remove(s, e);
                }
                goto count;
        }
        if (!s->rule || strcmp(s->rule, rule->name) != 0) {
                set_str(&s->rule, rule->name);
                for (size_t i = 0; i < s->n; i++)
                        s->v[i].reported_skip = s->v[i].reported_failed = s->v[i].reported_drift = false;
        }
        s->generation++;
        /* The global mask first: it bounds every other one. */
        for (size_t i = 0; i <= names.n; i++) {
                const char *name = i == 0 ? WQ_GLOBAL : names.v[i - 1];
                WqEntry *e = entry_put(s, name);
                if (!e) {
                        log_msg(rc->log, LOG_ERR, "out of memory tracking workqueue masks");
                        break;
                }
                e->generation = s->generation;
                plan_entry(s, rc, e, rule, replanning);
        }
        for (size_t i = s->n; i-- > 0;)
                if (s->v[i].generation != s->generation)
                        entry_remove(s, &s->v[i]);
count:
        for (size_t i = 0; i < s->n; i++)
                if (s->v[i].pending)
                        pending++;
        return pending;
}

static void apply_entry(WqStep *s, Reconciler *rc, WqEntry *e) {
        _cleanup_(cpuset_freep) CpuSet *want = TAKE_PTR(e->pending), *prev = NULL;
        const Rule *rule = s->rule ? config_find_rule(rc->config, s->rule) : NULL;
        Ref ref;
        int err;

        (void) wq_read_mask(rc->host->root, e->name, &prev);
        IrqWrite w = wq_write_mask(rc->host->root, e->name, want, rc->dry_run, &err);
        ref_init(&ref, e);
        switch (w) {
        case IRQ_WRITE_OK:
        case IRQ_WRITE_DRY_RUN:
        case IRQ_WRITE_UNCHANGED:
                if (e->releasing) {
                        if (w != IRQ_WRITE_UNCHANGED)
                                report_target_restored(&rc->report, &ref.t, want, prev,
                                                       "no workqueues rule applies any more",
                                                       w == IRQ_WRITE_DRY_RUN);
                        ref_done(&ref);
                        entry_remove(s, e);
                        return;
                }
                set_set(&e->applied, want);
                e->reported_failed = e->reported_drift = false;
                if (w != IRQ_WRITE_UNCHANGED && rule)
                        report_target_applied(&rc->report, &ref.t, rule, want, prev, NULL,
                                              w == IRQ_WRITE_DRY_RUN);
                break;
        case IRQ_WRITE_GONE:
                ref_done(&ref);
                entry_remove(s, e);
                return;
        case IRQ_WRITE_UNMOVABLE:
                e->refused_errno = err ? err : EIO;
                set_str(&e->skip_reason, strerror(e->refused_errno));
                if (e->original) {
                        set_set(&e->original, NULL);
                        s->originals_changed = true;
                }
                __attribute__((fallthrough)); /* said once, as a failure */
        case IRQ_WRITE_TRANSIENT:
        default:
                if (!e->reported_failed) {
                        e->reported_failed = true;
                        report_target_failed(&rc->report, &ref.t, e->releasing ? NULL : rule, want, err);
                }
                if (w == IRQ_WRITE_UNMOVABLE && e->releasing) {
                        ref_done(&ref);
                        entry_remove(s, e);
                        return;
                }
                break;
        }
        ref_done(&ref);
}

void wqs_apply(WqStep *s, Reconciler *rc) {
        /* The global mask first; a released entry leaves the table. */
        for (size_t i = 0; i < s->n;) {
                size_t n = s->n;
                if (s->v[i].pending)
                        apply_entry(s, rc, &s->v[i]);
                if (s->n == n)
                        i++;
        }
}

size_t wqs_restore_all(WqStep *s, Reconciler *rc, const char *why) {
        size_t n = 0;

        /* The global one first (v[0] when present): it bounds the others. */
        for (size_t i = 0; i < s->n; i++) {
                WqEntry *e = &s->v[i];
                _cleanup_(cpuset_freep) CpuSet *prev = NULL;
                int err;
                if (!e->original)
                        continue;
                (void) wq_read_mask(rc->host->root, e->name, &prev);
                IrqWrite w = wq_write_mask(rc->host->root, e->name, e->original, rc->dry_run, &err);
                Ref ref;
                ref_init(&ref, e);
                if (w == IRQ_WRITE_OK || w == IRQ_WRITE_DRY_RUN) {
                        report_target_restored(&rc->report, &ref.t, e->original, prev, why,
                                               w == IRQ_WRITE_DRY_RUN);
                        n++;
                } else if (w == IRQ_WRITE_UNMOVABLE || w == IRQ_WRITE_TRANSIENT)
                        report_target_failed(&rc->report, &ref.t, NULL, e->original, err);
                ref_done(&ref);
        }
        return n;
}

void wqs_adopt(WqStep *s, Reconciler *rc, const StateEntries *e) {
        size_t kept = 0, seen = 0;

        for (size_t i = 0; i < e->n_k; i++) {
                const StateKernelEntry *k = &e->k[i];
                _cleanup_(cpuset_freep) CpuSet *cur = NULL;
                if (k->kind != 'W')
                        continue;
                seen++;
                if ((strcmp(k->name, WQ_GLOBAL) != 0 && !wq_name_valid(k->name)) ||
                    wq_read_mask(rc->host->root, k->name, &cur) < 0)
                        continue;
                WqEntry *x = entry_put(s, k->name);
                if (!x)
                        return;
                set_set(&x->original, k->original);
                kept++;
        }
        /* The global mask first, as wqs_plan() keeps it. */
        for (size_t i = 1; i < s->n; i++)
                if (strcmp(s->v[i].name, WQ_GLOBAL) == 0) {
                        WqEntry g = s->v[i];
                        memmove(&s->v[1], &s->v[0], i * sizeof *s->v);
                        s->v[0] = g;
                }
        if (seen)
                log_msg(rc->log, LOG_NOTICE,
                        "%zu workqueue originals taken over from a previous run, %zu dropped (workqueues "
                        "gone)",
                        kept, seen - kept);
        if (kept != seen)
                s->originals_changed = true;
}

size_t wqs_state_count(const WqStep *s) {
        size_t n = 0;
        for (size_t i = 0; i < s->n; i++)
                if (s->v[i].original)
                        n++;
        return n;
}

size_t wqs_state_entries(const WqStep *s, StateKernelEntry *v, size_t max) {
        size_t n = 0;
        for (size_t i = 0; i < s->n && n < max; i++)
                if (s->v[i].original)
                        v[n++] = (StateKernelEntry){
                                .kind = 'W', .name = s->v[i].name, .original = s->v[i].original};
        return n;
}
