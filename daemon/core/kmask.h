/* SPDX-License-Identifier: MIT */
/* A kernel object's CPU mask that pinnerd writes (an IRQ's, a workqueue's,
 * irqs.h and workqueues.h): what it was before pinnerd, what pinnerd wrote,
 * what waits to be written, and what has been said about it.
 *
 * Both steps share what follows the plan (skip, drift, a write queued with
 * its original remembered), what follows a write, and the record of a
 * restore; each keeps its own table, listing, reads and writes (its key is
 * an IRQ number or a workqueue name). */
#pragma once

#include <stdbool.h>

#include "core/reconcile.h"
#include "kernel/irq.h"
#include "lib/cpuset.h"
#include "rules/irqplan.h"

enum {
        KMASK_REPORTED_SKIPPED = 1u << 0,
        KMASK_REPORTED_FAILED = 1u << 1,
        KMASK_REPORTED_DRIFT = 1u << 2,
        KMASK_REPORTED_OWN = 1u << 3, /* the first bit the owner may use for its own */
};

typedef struct KernelMask {
        CpuSet *original;  /* the mask before pinnerd wrote it; NULL until it did */
        CpuSet *applied;   /* what pinnerd wrote (dry run: would have); NULL when nothing stands */
        CpuSet *pending;   /* decided, to be written by the owner's apply */
        bool releasing;    /* pending is the original: no rule takes it any more */
        char *skip_reason; /* why the last plan left it as it is; NULL when it did not */
        unsigned reported; /* KMASK_REPORTED_* and the owner's bits, reset when the rule changes */
} KernelMask;

/* The name a record gives the object: built only when something is said. */
typedef struct KmaskRef {
        TargetRef t;
        char num[16];
        char *label;
} KmaskRef;
typedef void (*KmaskNameFn)(KmaskRef *r, const void *obj);
void kmask_ref_done(KmaskRef *r);

void kmask_done(KernelMask *m);

/* *p becomes a copy of v (NULL: none); a string left alone when equal. */
void kmask_set(CpuSet **p, const CpuSet *v);
void kmask_set_str(char **p, const char *v);

/* After plan_target() gave p for `rule` and the mask is `cur` now: a skip
 * (said once), nothing to do, drift (by the rule's drift policy unless
 * replanning), or a write queued in m->pending. When a write is queued and
 * no original is kept yet (and this is no dry run), `original` becomes it:
 * returns true then, the owner's state file is due a save. */
bool kmask_plan(KernelMask *m, Reconciler *rc, const Rule *rule, const TargetPlan *p, const CpuSet *cur,
                const CpuSet *original, bool replanning, KmaskNameFn name, const void *obj);

/* No rule takes it any more: its original is queued (settings.restore).
 * Returns false when there is nothing to give back and the owner forgets
 * the object. */
bool kmask_release(KernelMask *m, bool restore);

/* The write of `want` (taken from m->pending; prev the mask before) came
 * back w: OK, DRY_RUN, UNCHANGED, GONE or TRANSIENT (UNMOVABLE is the
 * owner's). eff: where it lands now (NULL: not known). Returns true when
 * the owner forgets the object (released or gone). */
bool kmask_written(KernelMask *m, Reconciler *rc, IrqWrite w, int err, const Rule *rule, const CpuSet *want,
                   const CpuSet *prev, const CpuSet *eff, const char *release_why, const TargetRef *t);

/* A write that failed, said once until one passes (rule NULL: a restore). */
void kmask_failed(KernelMask *m, Reconciler *rc, const Rule *rule, const CpuSet *want, int err,
                  const TargetRef *t);

/* The kernel will never take it: the original is not pinnerd's to keep.
 * Returns true when one was dropped (the state file changed). */
bool kmask_drop_original(KernelMask *m);

/* The record for putting the original back at stop, the write having come
 * back w; returns 1 when it was restored, 0 otherwise. */
size_t kmask_restored(const KernelMask *m, Reconciler *rc, IrqWrite w, int err, const CpuSet *prev,
                      const char *why, const TargetRef *t);
