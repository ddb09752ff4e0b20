/* SPDX-License-Identifier: MIT */
/* A kernel object's mask that pinnerd writes, with its original (kmask.h). */
#include "core/kmask.h"

#include <stdlib.h>
#include <string.h>

void kmask_ref_done(KmaskRef *r) {
        free(r->label);
}

void kmask_done(KernelMask *m) {
        cpuset_free(m->original);
        cpuset_free(m->applied);
        cpuset_free(m->pending);
        free(m->skip_reason);
        *m = (KernelMask){0};
}

void kmask_set(CpuSet **p, const CpuSet *v) {
        cpuset_free(*p);
        *p = v ? cpuset_dup(v) : NULL;
}

void kmask_set_str(char **p, const char *v) {
        if ((*p && v && strcmp(*p, v) == 0) || (!*p && !v))
                return;
        free(*p);
        *p = v ? strdup(v) : NULL;
}

bool kmask_plan(KernelMask *m, Reconciler *rc, const Rule *rule, const TargetPlan *p, const CpuSet *cur,
                const CpuSet *original, bool replanning, KmaskNameFn name, const void *obj) {
        KmaskRef ref;

        if (!p->effective) {
                kmask_set_str(&m->skip_reason, p->skip_reason);
                /* No decision stands: nothing to hold against drift. */
                kmask_set(&m->applied, NULL);
                if (!(m->reported & KMASK_REPORTED_SKIPPED)) {
                        m->reported |= KMASK_REPORTED_SKIPPED;
                        name(&ref, obj);
                        report_target_skipped(&rc->report, &ref.t, rule, p->skip_reason);
                        kmask_ref_done(&ref);
                }
                return false;
        }
        m->reported &= ~(unsigned) KMASK_REPORTED_SKIPPED;
        kmask_set_str(&m->skip_reason, NULL);
        if (cpuset_equal(cur, p->effective) ||
            (rc->dry_run && m->applied && cpuset_equal(m->applied, p->effective))) {
                kmask_set(&m->applied, p->effective);
                return false;
        }
        /* Someone else changed a mask whose decision stands (irqbalance):
         * drift, by the rule's policy, unless this is a re-plan. */
        if (!replanning && m->applied && cpuset_equal(m->applied, p->effective)) {
                if (rule->drift == DRIFT_IGNORE)
                        return false;
                if (!(m->reported & KMASK_REPORTED_DRIFT)) {
                        name(&ref, obj);
                        report_target_drift(&rc->report, &ref.t, rule->name, cur, m->applied,
                                            rule->drift == DRIFT_REAPPLY);
                        kmask_ref_done(&ref);
                        if (rule->drift == DRIFT_LOG)
                                m->reported |= KMASK_REPORTED_DRIFT;
                }
                if (rule->drift == DRIFT_LOG)
                        return false;
        }
        kmask_set(&m->pending, p->effective);
        m->releasing = false;
        if (m->original || rc->dry_run)
                return false;
        m->original = cpuset_dup(original);
        return true;
}

bool kmask_release(KernelMask *m, bool restore) {
        if (!m->original || !restore)
                return false;
        kmask_set(&m->pending, m->original);
        m->releasing = true;
        return true;
}

void kmask_failed(KernelMask *m, Reconciler *rc, const Rule *rule, const CpuSet *want, int err,
                  const TargetRef *t) {
        if (m->reported & KMASK_REPORTED_FAILED)
                return;
        m->reported |= KMASK_REPORTED_FAILED;
        report_target_failed(&rc->report, t, m->releasing ? NULL : rule, want, err);
}

bool kmask_written(KernelMask *m, Reconciler *rc, IrqWrite w, int err, const Rule *rule, const CpuSet *want,
                   const CpuSet *prev, const CpuSet *eff, const char *release_why, const TargetRef *t) {
        switch (w) {
        case IRQ_WRITE_OK:
        case IRQ_WRITE_DRY_RUN:
        case IRQ_WRITE_UNCHANGED:
                if (m->releasing) {
                        if (w != IRQ_WRITE_UNCHANGED)
                                report_target_restored(&rc->report, t, want, prev, release_why,
                                                       w == IRQ_WRITE_DRY_RUN);
                        return true;
                }
                kmask_set(&m->applied, want);
                m->reported &= ~(unsigned) (KMASK_REPORTED_FAILED | KMASK_REPORTED_DRIFT);
                if (w != IRQ_WRITE_UNCHANGED && rule)
                        report_target_applied(&rc->report, t, rule, want, prev, eff, w == IRQ_WRITE_DRY_RUN);
                return false;
        case IRQ_WRITE_GONE:
                return true;
        case IRQ_WRITE_UNMOVABLE:
        case IRQ_WRITE_TRANSIENT:
        default:
                kmask_failed(m, rc, rule, want, err, t);
                return false;
        }
}

bool kmask_drop_original(KernelMask *m) {
        if (!m->original)
                return false;
        kmask_set(&m->original, NULL);
        return true;
}

size_t kmask_restored(const KernelMask *m, Reconciler *rc, IrqWrite w, int err, const CpuSet *prev,
                      const char *why, const TargetRef *t) {
        if (w == IRQ_WRITE_OK || w == IRQ_WRITE_DRY_RUN) {
                report_target_restored(&rc->report, t, m->original, prev, why, w == IRQ_WRITE_DRY_RUN);
                return 1;
        }
        if (w == IRQ_WRITE_UNMOVABLE || w == IRQ_WRITE_TRANSIENT)
                report_target_failed(&rc->report, t, NULL, m->original, err);
        return 0;
}
