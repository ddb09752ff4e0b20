/* SPDX-License-Identifier: MIT */
/* The Reconciler's state and the bookkeeping of a thread's entry that every
 * step of the flow shares: the original saved before a write, the outcome of
 * a write recorded (entry, skip reason, journal record), a thread restored,
 * released or forgotten; the host re-read, the configuration swapped, the
 * originals of a previous run adopted, every thread restored at stop. What
 * the loop must act on is left in the Reconciler's flags. */
#include "core/reconciler.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/procfs.h"
#include "kernel/schedpolicy.h"
#include "lib/util.h"

/* Thread entries name their rule by a string that outlives any one config:
 * one copy per distinct rule name ever loaded, instead of one per thread. */
const char *reconciler_intern_rule_name(Reconciler *rc, const char *name) {
        for (size_t i = 0; i < rc->rule_names.n; i++)
                if (strcmp(rc->rule_names.v[i], name) == 0)
                        return rc->rule_names.v[i];
        if (strvec_push(&rc->rule_names, name) < 0)
                return NULL;
        return rc->rule_names.v[rc->rule_names.n - 1];
}

/* Is the thread an entry remembers still that thread (not gone, tid not
 * recycled)? */
bool reconciler_thread_still_there(Reconciler *rc, const Thread *th) {
        TaskStat ts;
        return procfs_read_stat(rc->procfd, th->pid, th->tid, &ts) >= 0 && ts.starttime == th->start;
}

/* Report a problem once per (tid, start time, reason). */
bool reconciler_report_once(Thread *th, unsigned bit) {
        if (th->reported & bit)
                return false;
        th->reported |= bit;
        return true;
}

/* An original on disk before the write that replaces it: a crash right
 * after the write still leaves a successor the true original. A failed
 * append (a full /run) does not stop pinning: it is said once, and the
 * original is still kept in memory and in the next snapshot. */
void reconciler_save_original(Reconciler *rc, pid_t pid, pid_t tid, uint64_t start, const CpuSet *original,
                              const SchedPolicy *policy) {
        _cleanup_(freep) char *err = NULL;

        if (!rc->state)
                return;
        int r = state_append(rc->state, pid, tid, start, original, policy, &err);
        if (r < 0) {
                if (!rc->state_failing)
                        log_msg(rc->log, LOG_WARNING,
                                "cannot save an original before pinning: %s; pinning goes on, but a crash "
                                "before the next snapshot would lose it",
                                err ? err : strerror(-r));
                rc->state_failing = true;
        } else
                rc->state_failing = false;
}

/* Before the first write of th's mask: what it would have had without
 * pinnerd, when the write (or an inherited mask) makes it an original. */
void reconciler_save_original_mask(Reconciler *rc, const Thread *th, const CpuSet *want) {
        _cleanup_(cpuset_freep) CpuSet *cur = NULL;

        if (!rc->state || th->original || affinity_get(&rc->aff, th->pid, th->tid, &cur) < 0)
                return;
        const CpuSet *orig = thread_table_true_original(rc->threads, th->pid, th->creator, cur);
        if (orig != cur || !cpuset_equal(cur, want))
                reconciler_save_original(rc, th->pid, th->tid, th->start, orig, NULL);
}

void reconciler_set_skip(Thread *th, const char *reason) {
        free(th->skip_reason);
        th->skip_reason = reason ? strdup(reason) : NULL;
}

/* Where pinnerd keeps pid's threads changed: the memory step looks at the
 * process again (only while some rule moves memory). */
void reconciler_note_placement(Reconciler *rc, pid_t pid) {
        if (rc->config && rc->config->memory)
                (void) intmap_put(&rc->placement_changed, pid, 1, NULL);
}

/* What pinnerd holds the thread to (NULL: nothing); takes `now`. A change
 * is noted for the memory step and for IRQs that follow a rule's threads. */
void reconciler_set_applied(Reconciler *rc, Thread *th, CpuSet *now) {
        if ((th->applied || now) && (!th->applied || !now || !cpuset_equal(th->applied, now))) {
                rc->placements_changed = true;
                reconciler_note_placement(rc, th->pid);
        }
        cpuset_free(th->applied);
        th->applied = now;
}

void reconciler_forget(Reconciler *rc, Thread *th) {
        reconciler_note_placement(rc, th->pid);
        if (th->original)
                rc->originals_changed = true;
        if (th->applied)
                rc->placements_changed = true;
        thread_table_remove(rc->threads, th->tid);
}

/* Put back the policy a rule replaced. */
static bool restore_policy(Reconciler *rc, Thread *th, const char *why) {
        SchedPolicy prev;
        char pol[32];
        int err;

        if (!th->policy_original)
                return false;
        AffinityResult res =
                policy_apply(&rc->aff, th->pid, th->tid, th->start, th->policy_original, &prev, &err);
        if (res == AFF_SET || res == AFF_DRY_RUN) {
                (void) policy_format(th->policy_original, pol, sizeof pol);
                report_policy_restored(&rc->report, th, pol, why, res == AFF_DRY_RUN);
                return true;
        }
        if (res != AFF_UNCHANGED && res != AFF_GONE && res != AFF_RECYCLED)
                report_restore_failed(&rc->report, th, affinity_result_reason(res), err);
        return false;
}

static bool restore_thread(Reconciler *rc, Thread *th, const char *why) {
        _cleanup_(cpuset_freep) CpuSet *prev = NULL, *now = NULL;
        AffinityResult res;
        bool done;
        int err;

        done = restore_policy(rc, th, why);
        if (!th->original)
                return done;
        res = affinity_apply(&rc->aff, th->pid, th->tid, th->start, th->original, &prev, &now, &err);
        switch (res) {
        case AFF_SET:
        case AFF_DRY_RUN:
                report_restored(&rc->report, th, prev, why, res == AFF_DRY_RUN);
                return true;
        case AFF_UNCHANGED:
        case AFF_GONE:
        case AFF_RECYCLED:
                return done;
        default:
                report_restore_failed(&rc->report, th, affinity_result_reason(res), err);
                return done;
        }
}

/* A thread no rule applies to any more: put its mask back and forget it. */
void reconciler_release_thread(Reconciler *rc, Thread *th, const char *why) {
        if (rc->config->settings.restore) {
                restore_thread(rc, th, why);
                thread_table_note_released(rc->threads, th);
        }
        reconciler_forget(rc, th);
}

/* The kernel refused a mask for a reason that will not change (EINVAL,
 * EBUSY): said once per thread; a kernel thread that cannot move is said
 * at debug per thread and once per kind of name in a summary. */
void reconciler_note_refused(Reconciler *rc, Thread *th, const Rule *rule, AffinityResult res,
                             const char *why) {
        if (!why)
                why = affinity_result_reason(res);
        bool kthread = rule->kthreads && res == AFF_EINVAL;

        reconciler_set_skip(th, why);
        if (!reconciler_report_once(th, res == AFF_EINVAL ? REPORTED_EINVAL : REPORTED_EBUSY))
                return;
        report_refused(&rc->report, th, rule, why, kthread);
        if (kthread && unmovable_note(&rc->unmovable, rule->name, th->name) < 0)
                log_msg(rc->log, LOG_ERR, "out of memory noting tid %d", (int) th->tid);
}

/* The outcome of one affinity_apply for th. now: the mask read back after the
 * write (NULL when nothing was written). */
void reconciler_record_result(Reconciler *rc, Thread *th, const Rule *rule, const Plan *plan,
                              AffinityResult res, const CpuSet *prev, const CpuSet *now, int err) {
        switch (res) {
        case AFF_SET:
        case AFF_DRY_RUN:
        case AFF_UNCHANGED:
                if (!th->original && prev) {
                        /* What it would have had without pinnerd: its own mask,
                         * or, if it carries a mask we set on a sibling (it was
                         * created by a pinned thread), that sibling's original. */
                        const CpuSet *orig =
                                thread_table_true_original(rc->threads, th->pid, th->creator, prev);
                        if (res != AFF_UNCHANGED || orig != prev) {
                                if (thread_remember_original(th, orig) < 0)
                                        log_msg(rc->log, LOG_ERR, "out of memory remembering tid %d",
                                                (int) th->tid);
                                th->original_inherited = res == AFF_UNCHANGED;
                                rc->originals_changed = true;
                        }
                }
                if (res != AFF_UNCHANGED) {
                        th->reported &= ~(unsigned) REPORTED_DRIFT;
                        report_applied(&rc->report, th, rule, plan, prev, res == AFF_DRY_RUN);
                }
                break;
        case AFF_GONE:
        case AFF_RECYCLED:
                log_msg(rc->log, LOG_DEBUG, "tid %d: %s", (int) th->tid, affinity_result_reason(res));
                reconciler_forget(rc, th);
                return;
        case AFF_EINVAL:
        case AFF_EBUSY:
                th->spread_cpu = -1;
                reconciler_note_refused(rc, th, rule, res, NULL);
                return;
        case AFF_EPERM:
        case AFF_ERROR:
        default:
                reconciler_set_skip(th, affinity_result_reason(res));
                th->spread_cpu = -1;
                if (reconciler_report_once(th, res == AFF_EPERM ? REPORTED_EPERM : REPORTED_ERROR))
                        report_failed(&rc->report, th, rule, plan, affinity_result_reason(res), err);
                return;
        }
        reconciler_set_skip(th, NULL);
        if (rule->spread)
                th->spread_cpu = cpuset_next(plan->effective, -1);
        /* What the kernel holds is what drift is measured against: it may
         * have narrowed the mask (a cpuset changed since the plan). */
        reconciler_set_applied(rc, th, cpuset_dup(now ? now : plan->effective));
}

/* The rule's scheduling policy, with the mask and under the same identity
 * check; a rule without one gives back a policy an earlier rule set. */
void reconciler_apply_policy(Reconciler *rc, Thread *th, const Rule *rule) {
        SchedPolicy prev;
        char pol[32];
        int err;

        if (!rule->has_policy) {
                if (th->policy_original && restore_policy(rc, th, "the rule sets no policy any more")) {
                        free(TAKE_PTR(th->policy_original));
                        rc->originals_changed = true;
                }
                return;
        }
        if (rc->state && !th->policy_original && policy_get(th->tid, &prev) == 0) {
                const SchedPolicy *orig =
                        thread_table_true_policy(rc->threads, th->pid, th->creator, &prev, &rule->policy);
                if (orig != &prev || !policy_equal(&prev, &rule->policy))
                        reconciler_save_original(rc, th->pid, th->tid, th->start, NULL, orig);
        }
        AffinityResult res = policy_apply(&rc->aff, th->pid, th->tid, th->start, &rule->policy, &prev, &err);
        (void) policy_format(&rule->policy, pol, sizeof pol);
        switch (res) {
        case AFF_SET:
        case AFF_DRY_RUN:
        case AFF_UNCHANGED:
                if (!th->policy_original) {
                        /* Inherited from a thread whose policy we set? Then that
                         * thread's original; else what it had. */
                        const SchedPolicy *orig = thread_table_true_policy(rc->threads, th->pid, th->creator,
                                                                           &prev, &rule->policy);
                        if (res != AFF_UNCHANGED || orig != &prev) {
                                if (thread_remember_policy(th, orig) < 0)
                                        log_msg(rc->log, LOG_ERR, "out of memory remembering tid %d",
                                                (int) th->tid);
                                rc->originals_changed = true;
                        }
                }
                th->reported &= ~(unsigned) REPORTED_POLICY;
                if (res != AFF_UNCHANGED)
                        report_policy_applied(&rc->report, th, rule, pol, &prev, res == AFF_DRY_RUN);
                return;
        case AFF_GONE:
        case AFF_RECYCLED:
                return; /* the next event or scan forgets it */
        default:
                if (reconciler_report_once(th, REPORTED_POLICY))
                        report_policy_failed(&rc->report, th, rule, pol, affinity_result_reason(res), err);
                return;
        }
}

void reconcile_refresh_host(Reconciler *rc, const char *why) {
        _cleanup_(freep) char *err = NULL, *before = fmt_cpus(rc->host->isolated), *after = NULL;
        int r = host_refresh(rc->host, &err);

        if (r < 0) {
                log_msg(rc->log, LOG_ERR, "%s: cannot re-read the host's CPUs, keeping what was known: %s",
                        why, err ? err : strerror(-r));
                return;
        }
        facts_cache_clear(&rc->facts);
        after = fmt_cpus(rc->host->isolated);
        if (before && after && strcmp(before, after) != 0)
                log_msg(rc->log, LOG_NOTICE, "isolated CPUs changed from %s to %s (%s)",
                        *before ? before : "none", *after ? after : "none", why);
}

size_t reconcile_restore_all(Reconciler *rc, const char *why) {
        size_t i = 0, n = 0;
        Thread *th;

        while ((th = thread_table_next(rc->threads, &i)))
                if (restore_thread(rc, th, why))
                        n++;
        return n;
}

/* ---- originals that survive a crash ------------------------------------------ */

void reconcile_adopt_originals(Reconciler *rc, const StateEntries *e, const char *from) {
        size_t trusted = 0;

        for (size_t k = 0; k < e->n; k++) {
                const StateEntry *se = &e->v[k];
                TaskStat ts;
                /* Trusted only while (tid, start time) still names that thread. */
                if (procfs_read_stat(rc->procfd, se->pid, se->tid, &ts) < 0 || ts.starttime != se->start)
                        continue;
                Thread *th = thread_table_get(rc->threads, se->tid);
                if (!th)
                        th = thread_table_put(rc->threads, se->pid, se->tid, se->start);
                if (!th || thread_remember_original(th, se->original) < 0 ||
                    (se->has_policy && thread_remember_policy(th, &se->policy) < 0)) {
                        log_msg(rc->log, LOG_ERR, "out of memory loading %s", from);
                        return;
                }
                if (thread_set_names(th, ts.comm, ts.comm) < 0)
                        return;
                trusted++;
        }
        if (e->n > 0)
                log_msg(rc->log, LOG_NOTICE,
                        "%s: %zu original masks taken over from a previous run, %zu dropped (threads gone)",
                        from, trusted, e->n - trusted);
        if (trusted != e->n)
                rc->originals_changed = true;
}

/* ---- the flow's state ------------------------------------------------------------ */

int reconcile_init(Reconciler *rc, Logger *log, Host *host, bool dry_run, const char *root,
                   char **ret_error) {
        bool from_root = strcmp(root, "/") != 0;
        /* Confined to the tree below --root, like every read of the host. */
        int procfd = host_open_proc(host);

        if (procfd < 0) {
                *ret_error = xasprintf("cannot open %s/proc: %s", from_root ? root : "", strerror(-procfd));
                return procfd;
        }
        ThreadTable *threads = thread_table_new();
        if (!threads) {
                dirfd_close(procfd);
                *ret_error = strdup("out of memory");
                return -ENOMEM;
        }
        *rc = (Reconciler){
                .log = log,
                .host = host,
                .procfd = procfd,
                .dry_run = dry_run,
                .facts = {.procfd = procfd, .host = host},
                .threads = threads,
                .aff = {.procfd = procfd,
                        .bytes = host->affinity_bytes,
                        .dry_run = dry_run,
                        .from_status = from_root},
                .report = {.log = log, .procfd = procfd, .dry_run = dry_run},
        };
        return 0;
}

void reconcile_set_config(Reconciler *rc, Config *c) {
        config_free(rc->config);
        rc->config = c;
}

void reconcile_done(Reconciler *rc) {
        unmovable_reset(&rc->unmovable);
        report_done(&rc->report);
        facts_cache_clear(&rc->facts);
        intmap_done(&rc->placement_changed);
        thread_table_free(rc->threads);
        strvec_done(&rc->rule_names);
        config_free(rc->config);
        if (rc->procfd >= 0)
                dirfd_close(rc->procfd);
        host_free(rc->host);
        *rc = (Reconciler){.procfd = -1};
}
