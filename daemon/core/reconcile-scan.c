/* SPDX-License-Identifier: MIT */
/* Full scans: every process of /proc against the rules, parents before
 * children under a shield, entries the scan did not reach released or
 * forgotten; and the kernel threads no rule could move, said once. */
#include "core/reconcile-scan.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/reconcile.h"
#include "core/scanorder.h"
#include "kernel/procfs.h"
#include "lib/util.h"

/* Is a shield loaded: a rule that keeps tasks off CPUs? */
static bool config_shields(const Config *c) {
        for (size_t i = 0; i < c->n_rules; i++)
                if (c->rules[i].avoid &&
                    (c->rules[i].kind == RULE_TASKS || c->rules[i].kind == RULE_KTHREADS))
                        return true;
        return false;
}

/* With a shield, parents are moved before their children (scanorder.h):
 * one stat read per process more, paid only then. */
static void order_for_shield(Reconciler *rc, pid_t *pids, size_t n) {
        _cleanup_(freep) pid_t *ppids = calloc(n + 1, sizeof *ppids), *out = calloc(n + 1, sizeof *out);

        if (!ppids || !out)
                return;
        for (size_t k = 0; k < n; k++) {
                TaskStat ts;
                ppids[k] = procfs_read_stat(rc->procfd, pids[k], pids[k], &ts) >= 0 ? ts.ppid : 0;
        }
        if (scan_order_parents_first(pids, ppids, n, out) == 0)
                memcpy(pids, out, n * sizeof *pids);
}

static void scan_all(Reconciler *rc) {
        _cleanup_(freep) pid_t *pids = NULL;
        size_t n = 0, i = 0;
        Thread *th;
        int r;

        rc->generation++;
        facts_cache_clear(&rc->facts);
        r = procfs_list_pids(rc->procfd, &pids, &n);
        if (r < 0) {
                log_msg(rc->log, LOG_ERR, "cannot list processes: %s", strerror(-r));
                return;
        }
        if (config_shields(rc->config))
                order_for_shield(rc, pids, n);
        for (size_t k = 0; k < n; k++) {
                (void) reconcile_process(rc, pids[k], NULL, 0);
                if (rc->between_tasks)
                        rc->between_tasks(rc->between_userdata);
        }

        /* Entries the scan did not reach are gone, or no longer candidates. */
        _cleanup_(freep) pid_t *stale = calloc(thread_table_size(rc->threads) + 1, sizeof(pid_t));
        size_t n_stale = 0;
        if (!stale)
                return;
        while ((th = thread_table_next(rc->threads, &i)))
                if (th->generation != rc->generation)
                        stale[n_stale++] = th->tid;
        for (size_t k = 0; k < n_stale; k++) {
                th = thread_table_get(rc->threads, stale[k]);
                if (th && reconciler_thread_still_there(rc, th))
                        reconciler_release_thread(rc, th, "no rule applies any more");
                else if (th)
                        reconciler_forget(rc, th);
        }
        /* Memories of processes that are gone (an exit event lost). */
        pid_t dead[256];
        size_t nd = thread_table_released_pids(rc->threads, dead, ELEMENTSOF(dead));
        for (size_t k = 0; k < nd; k++) {
                TaskStat ts;
                if (procfs_read_stat(rc->procfd, dead[k], dead[k], &ts) < 0)
                        thread_table_forget_process(rc->threads, dead[k]);
        }
}

void reconcile_rescan(Reconciler *rc, const char *why) {
        uint64_t t0 = now_usec();
        Counters before = rc->report.counters;

        rc->report.counters.rescans++;
        /* Partitions and NUMA nodes give no event: every rescan re-reads them. */
        reconcile_refresh_host(rc, why);
        scan_all(rc);
        log_event(rc->log, EV_RESCAN, LOG_DEBUG, NULL,
                  "rescan (%s) took %.1f ms: %" PRIu64 " applied, %" PRIu64 " restored, %zu threads managed",
                  why, (double) (now_usec() - t0) / 1000.0, rc->report.counters.applied - before.applied,
                  rc->report.counters.restored - before.restored, thread_table_size(rc->threads));
        reconcile_say_unmovable(rc);
}

void reconcile_say_unmovable(Reconciler *rc) {
        const char *rule;
        char *kinds;
        unsigned n;

        if (!rc->unmovable.pending)
                return;
        while ((rule = unmovable_take(&rc->unmovable, &kinds, &n))) {
                LogFields f = {.rule = rule, .reason = kinds};
                /* Workqueue workers have their own knob. */
                const char *hint =
                        strstr(kinds, "kworker/")
                                ? "; unbound kernel workers follow /sys/devices/virtual/workqueue/cpumask"
                                : "";
                log_event(
                        rc->log, EV_SKIPPED, LOG_NOTICE, &f,
                        "rule %s: %u kernel thread%s cannot move (the kernel keeps %s on %s CPUs) and stay%s "
                        "as %s: %s%s",
                        rule, n, n == 1 ? "" : "s", n == 1 ? "it" : "them", n == 1 ? "its" : "their",
                        n == 1 ? "s" : "", n == 1 ? "it is" : "they are", kinds, hint);
                free(kinds);
        }
}
