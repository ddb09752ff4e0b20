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
        kmask_done(&e->m);
        *e = (WqEntry){0};
}

void wqs_done(WqStep *s) {
        for (size_t i = 0; i < s->n; i++)
                entry_done(&s->v[i]);
        free(s->v);
        free(s->rule);
        *s = (WqStep){0};
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

        if (e->m.original)
                s->originals_changed = true;
        entry_done(e);
        memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof *s->v);
        s->n--;
}

static void ref_init(KmaskRef *r, const void *obj) {
        const WqEntry *e = obj;
        bool global = strcmp(e->name, WQ_GLOBAL) == 0;
        r->label = global ? strdup("the unbound workqueue cpumask") : xasprintf("workqueue %s", e->name);
        r->t = (TargetRef){.label = r->label ? r->label : "a workqueue", .workqueue = e->name};
}

static void plan_entry(WqStep *s, Reconciler *rc, WqEntry *e, const Rule *rule, bool replanning) {
        _cleanup_(cpuset_freep) CpuSet *cur = NULL;
        _cleanup_(target_plan_done) TargetPlan p = {0};

        if (wq_read_mask(rc->host->root, e->name, &cur) < 0)
                return;
        if (e->refused_errno)
                return;
        if (plan_target(rc->host, rule, e->m.original ? e->m.original : cur, NULL, &p) < 0)
                return;
        if (kmask_plan(&e->m, rc, rule, &p, cur, cur, replanning, ref_init, e))
                s->originals_added = s->originals_changed = true;
}

size_t wqs_plan(WqStep *s, Reconciler *rc, bool replanning) {
        const Rule *rule = decide_workqueue_rule(rc->config);
        _cleanup_(strvec_done) StrVec names = {0};
        size_t pending = 0;

        if (!rule || wq_list(rc->host->root, &names) < 0) {
                kmask_set_str(&s->rule, NULL);
                /* No rule any more: give every original back. */
                for (size_t i = s->n; i-- > 0;) {
                        if (!kmask_release(&s->v[i].m, rc->config->settings.restore))
                                entry_remove(s, &s->v[i]);
                }
                goto count;
        }
        if (!s->rule || strcmp(s->rule, rule->name) != 0) {
                kmask_set_str(&s->rule, rule->name);
                for (size_t i = 0; i < s->n; i++)
                        s->v[i].m.reported = 0;
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
                if (s->v[i].m.pending)
                        pending++;
        return pending;
}

static void apply_entry(WqStep *s, Reconciler *rc, WqEntry *e) {
        _cleanup_(cpuset_freep) CpuSet *want = TAKE_PTR(e->m.pending), *prev = NULL;
        const Rule *rule = s->rule ? config_find_rule(rc->config, s->rule) : NULL;
        KmaskRef ref;
        bool forget;
        int err;

        (void) wq_read_mask(rc->host->root, e->name, &prev);
        IrqWrite w = wq_write_mask(rc->host->root, e->name, want, rc->dry_run, &err);
        ref_init(&ref, e);
        if (w == IRQ_WRITE_UNMOVABLE) {
                /* Said once, as a failure; its original is not pinnerd's to keep. */
                e->refused_errno = err ? err : EIO;
                kmask_set_str(&e->m.skip_reason, strerror(e->refused_errno));
                if (kmask_drop_original(&e->m))
                        s->originals_changed = true;
                kmask_failed(&e->m, rc, rule, want, err, &ref.t);
                forget = e->m.releasing;
        } else
                forget = kmask_written(&e->m, rc, w, err, rule, want, prev, NULL,
                                       "no workqueues rule applies any more", &ref.t);
        kmask_ref_done(&ref);
        if (forget)
                entry_remove(s, e);
}

void wqs_apply(WqStep *s, Reconciler *rc) {
        /* The global mask first; a released entry leaves the table. */
        for (size_t i = 0; i < s->n;) {
                size_t n = s->n;
                if (s->v[i].m.pending)
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
                if (!e->m.original)
                        continue;
                (void) wq_read_mask(rc->host->root, e->name, &prev);
                IrqWrite w = wq_write_mask(rc->host->root, e->name, e->m.original, rc->dry_run, &err);
                KmaskRef ref;
                ref_init(&ref, e);
                n += kmask_restored(&e->m, rc, w, err, prev, why, &ref.t);
                kmask_ref_done(&ref);
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
                kmask_set(&x->m.original, k->original);
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
                if (s->v[i].m.original)
                        n++;
        return n;
}

size_t wqs_state_entries(const WqStep *s, StateKernelEntry *v, size_t max) {
        size_t n = 0;
        for (size_t i = 0; i < s->n && n < max; i++)
                if (s->v[i].m.original)
                        v[n++] = (StateKernelEntry){
                                .kind = 'W', .name = s->v[i].name, .original = s->v[i].m.original};
        return n;
}
