/* SPDX-License-Identifier: MIT */
/* Drift: a remembered thread's mask against the one pinnerd set, told apart
 * from a mask the kernel narrowed (a cpuset shrank, a partition took CPUs),
 * and the rule's drift policy applied: reapply, log or ignore. */
#include "core/reconcile-drift.h"

#include <stdlib.h>

#include "core/reconcile.h"
#include "lib/util.h"

/* Is cur what the kernel makes of the applied mask within the thread's
 * cpuset now? The host is re-read first (once per pass), so partitions made
 * since are known to status and to the re-plan. */
static bool kernel_narrowed(Reconciler *rc, const Thread *th, const CpuSet *cur) {
        _cleanup_(proc_facts_done) ProcFacts p = {0};
        _cleanup_(cpuset_freep) CpuSet *within = NULL;
        const CpuSet *cs = NULL;

        if (!rc->host_fresh) {
                reconcile_refresh_host(rc, "a pinned mask was narrowed");
                rc->host_fresh = true;
        }
        if (facts_read_process(&rc->facts, rc->config, th->pid, false, &p) < 0 ||
            facts_thread_cpuset(&rc->facts, &p, th->tid, &cs) < 0 || !cs)
                return false;
        within = cpuset_dup(th->applied);
        if (!within)
                return false;
        cpuset_and(within, cs);
        return cpuset_equal(within, cur);
}

/* One remembered thread against the mask pinnerd set: true when it is to be
 * re-evaluated (reapply, a mask the kernel narrowed, or a recycled tid that
 * identity will drop). */
static bool drift_check(Reconciler *rc, Thread *th) {
        _cleanup_(cpuset_freep) CpuSet *cur = NULL;

        if (!th->applied)
                return false;
        if (affinity_get(&rc->aff, th->pid, th->tid, &cur) < 0)
                return false; /* gone: the exit event or the next scan forgets it */
        if (cpuset_equal(cur, th->applied))
                return false;
        /* A different mask may belong to a new thread with a recycled tid. */
        if (!reconciler_thread_still_there(rc, th))
                return true;
        /* Narrowed by the kernel (its cpuset shrank, or CPUs went to an
         * isolated partition): re-planned, not drift. */
        if (cpuset_subset(cur, th->applied) && kernel_narrowed(rc, th, cur))
                return true;
        /* Someone else changed a mask we set: the rule's own drift policy,
         * else [pinnerd] drift. */
        const Rule *rule = th->rule ? config_find_rule(rc->config, th->rule) : NULL;
        DriftAction drift = rule ? rule->drift : rc->config->settings.drift;
        if (drift == DRIFT_IGNORE)
                return false;
        if (reconciler_report_once(th, REPORTED_DRIFT))
                report_drift(&rc->report, th, cur, drift == DRIFT_REAPPLY);
        return drift == DRIFT_REAPPLY;
}

void reconcile_check_drift(Reconciler *rc) {
        size_t i = 0;
        Thread *th;
        _cleanup_(freep) pid_t *reapply = calloc(thread_table_size(rc->threads) + 1, sizeof(pid_t));
        size_t n_reapply = 0;

        if (!reapply)
                return;
        rc->host_fresh = false;
        facts_cache_clear(&rc->facts);
        while ((th = thread_table_next(rc->threads, &i)))
                if (drift_check(rc, th))
                        reapply[n_reapply++] = th->tid;
        for (size_t k = 0; k < n_reapply; k++) {
                th = thread_table_get(rc->threads, reapply[k]);
                if (th)
                        (void) reconcile_thread(rc, th->pid, th->tid, false);
        }
}

void reconcile_drift_event(Reconciler *rc, pid_t tid) {
        Thread *th = thread_table_get(rc->threads, tid);

        /* Not ours: someone may set any mask on a thread pinnerd leaves alone. */
        rc->host_fresh = false;
        if (th && drift_check(rc, th))
                (void) reconcile_thread(rc, th->pid, th->tid, false);
}
