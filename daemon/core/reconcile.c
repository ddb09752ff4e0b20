/* SPDX-License-Identifier: MIT */
/* Reconciling one task: facts → decide → apply → record → report. Every path
 * that changes a mask (events, scans, drift checks, reload, stop) comes
 * through here, so the table, the state file and the journal agree. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "rules/decide.h"
#include "kernel/schedpolicy.h"
#include "core/reconcile.h"
#include "core/scanorder.h"
#include "kernel/procfs.h"
#include "lib/util.h"

/* Thread entries name their rule by a string that outlives any one config:
 * one copy per distinct rule name ever loaded, instead of one per thread. */
static const char *intern_rule_name(Reconciler *rc, const char *name) {
        for (size_t i = 0; i < rc->rule_names.n; i++)
                if (strcmp(rc->rule_names.v[i], name) == 0)
                        return rc->rule_names.v[i];
        if (strvec_push(&rc->rule_names, name) < 0)
                return NULL;
        return rc->rule_names.v[rc->rule_names.n - 1];
}

/* Is the thread an entry remembers still that thread (not gone, tid not
 * recycled)? */
static bool thread_still_there(Reconciler *rc, const Thread *th) {
        TaskStat ts;
        return procfs_read_stat(rc->procfd, th->pid, th->tid, &ts) >= 0 && ts.starttime == th->start;
}

/* Report a problem once per (tid, start time, reason). */
static bool report_once(Thread *th, unsigned bit) {
        if (th->reported & bit)
                return false;
        th->reported |= bit;
        return true;
}

/* An original on disk before the write that replaces it: a crash right
 * after the write still leaves a successor the true original. A failed
 * append (a full /run) does not stop pinning: it is said once, and the
 * original is still kept in memory and in the next snapshot. */
static void save_original(Reconciler *rc, pid_t pid, pid_t tid, uint64_t start, const CpuSet *original,
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
static void save_original_mask(Reconciler *rc, const Thread *th, const CpuSet *want) {
        _cleanup_(cpuset_freep) CpuSet *cur = NULL;

        if (!rc->state || th->original || affinity_get(&rc->aff, th->pid, th->tid, &cur) < 0)
                return;
        const CpuSet *orig = thread_table_true_original(rc->threads, th->pid, th->creator, cur);
        if (orig != cur || !cpuset_equal(cur, want))
                save_original(rc, th->pid, th->tid, th->start, orig, NULL);
}

static void set_skip(Thread *th, const char *reason) {
        free(th->skip_reason);
        th->skip_reason = reason ? strdup(reason) : NULL;
}

/* Where pinnerd keeps pid's threads changed: the memory step looks at the
 * process again (only while some rule moves memory). */
static void note_placement(Reconciler *rc, pid_t pid) {
        if (rc->config && rc->config->memory)
                (void) intmap_put(&rc->placement_changed, pid, 1, NULL);
}

/* What pinnerd holds the thread to (NULL: nothing); takes `now`. A change
 * is noted for the memory step and for IRQs that follow a rule's threads. */
static void set_applied(Reconciler *rc, Thread *th, CpuSet *now) {
        if ((th->applied || now) && (!th->applied || !now || !cpuset_equal(th->applied, now))) {
                rc->placements_changed = true;
                note_placement(rc, th->pid);
        }
        cpuset_free(th->applied);
        th->applied = now;
}

static void forget(Reconciler *rc, Thread *th) {
        note_placement(rc, th->pid);
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
static void release_thread(Reconciler *rc, Thread *th, const char *why) {
        if (rc->config->settings.restore) {
                restore_thread(rc, th, why);
                thread_table_note_released(rc->threads, th);
        }
        forget(rc, th);
}

/* The kernel refused a mask for a reason that will not change (EINVAL,
 * EBUSY): said once per thread; a kernel thread that cannot move is said
 * at debug per thread and once per kind of name in a summary. */
static void note_refused(Reconciler *rc, Thread *th, const Rule *rule, AffinityResult res, const char *why) {
        if (!why)
                why = affinity_result_reason(res);
        bool kthread = rule->kthreads && res == AFF_EINVAL;

        set_skip(th, why);
        if (!report_once(th, res == AFF_EINVAL ? REPORTED_EINVAL : REPORTED_EBUSY))
                return;
        report_refused(&rc->report, th, rule, why, kthread);
        if (kthread && unmovable_note(&rc->unmovable, rule->name, th->name) < 0)
                log_msg(rc->log, LOG_ERR, "out of memory noting tid %d", (int) th->tid);
}

/* The outcome of one affinity_apply for th. now: the mask read back after the
 * write (NULL when nothing was written). */
static void record_result(Reconciler *rc, Thread *th, const Rule *rule, const Plan *plan, AffinityResult res,
                          const CpuSet *prev, const CpuSet *now, int err) {
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
                forget(rc, th);
                return;
        case AFF_EINVAL:
        case AFF_EBUSY:
                th->spread_cpu = -1;
                note_refused(rc, th, rule, res, NULL);
                return;
        case AFF_EPERM:
        case AFF_ERROR:
        default:
                set_skip(th, affinity_result_reason(res));
                th->spread_cpu = -1;
                if (report_once(th, res == AFF_EPERM ? REPORTED_EPERM : REPORTED_ERROR))
                        report_failed(&rc->report, th, rule, plan, affinity_result_reason(res), err);
                return;
        }
        set_skip(th, NULL);
        if (rule->spread)
                th->spread_cpu = cpuset_next(plan->effective, -1);
        /* What the kernel holds is what drift is measured against: it may
         * have narrowed the mask (a cpuset changed since the plan). */
        set_applied(rc, th, cpuset_dup(now ? now : plan->effective));
}

/* The rule's scheduling policy, with the mask and under the same identity
 * check; a rule without one gives back a policy an earlier rule set. */
static void apply_policy(Reconciler *rc, Thread *th, const Rule *rule) {
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
                        save_original(rc, th->pid, th->tid, th->start, NULL, orig);
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
                if (report_once(th, REPORTED_POLICY))
                        report_policy_failed(&rc->report, th, rule, pol, affinity_result_reason(res), err);
                return;
        }
}

int reconcile_spread_load(Reconciler *rc, pid_t pid, const Rule *rule, pid_t tid, int held_cpu,
                          unsigned **ret, unsigned *ret_n) {
        _cleanup_(freep) unsigned *counts = NULL;
        unsigned n = 0;
        int r;

        /* spread = rule counts the rule's threads of every process. */
        r = thread_table_spread_load(rc->threads, rule->spread == SPREAD_RULE ? 0 : pid, rule->name, tid,
                                     &counts, &n);
        if (r < 0)
                return r;
        return decide_spread_load(counts, n, held_cpu, rc->host->nr_cpu_ids, ret, ret_n);
}

/* A thread no rule wants, created by a thread pinnerd pinned, starts on
 * pinnerd's mask: give it what it would have had without pinnerd. creator:
 * the thread that forked its process, for a leader (0: unknown). */
static void undo_inherited(Reconciler *rc, const ProcFacts *p, const TaskStat *ts, pid_t creator) {
        _cleanup_(cpuset_freep) CpuSet *cur = NULL, *prev = NULL, *now = NULL;
        const CpuSet *orig;
        int err;

        if (affinity_get(&rc->aff, p->stat.pid, ts->pid, &cur) < 0)
                return;
        orig = thread_table_true_original(rc->threads, p->stat.pid, creator, cur);
        if (orig == cur)
                return;
        AffinityResult res =
                affinity_apply(&rc->aff, p->stat.pid, ts->pid, ts->starttime, orig, &prev, &now, &err);
        if (res != AFF_SET && res != AFF_DRY_RUN)
                return;
        Thread tmp = {.pid = p->stat.pid,
                      .tid = ts->pid,
                      .comm = (char *) p->stat.comm,
                      .name = (char *) ts->comm,
                      .original = (CpuSet *) orig};
        report_restored(&rc->report, &tmp, prev,
                        "no rule applies; it had inherited pinnerd's mask from its creator",
                        res == AFF_DRY_RUN);
        /* Threads it created meanwhile, on the same mask, get the same. */
        tmp.applied = cur;
        thread_table_note_released(rc->threads, &tmp);
}

/* Is tid's exec held and pinned, its exec event still to come? */
static bool exec_pending(Reconciler *rc, pid_t tid) {
        uint64_t now = 0;
        for (size_t i = 0; i < rc->n_held; i++) {
                if (rc->held[i].tid != tid)
                        continue;
                if (!now)
                        now = now_usec();
                if (now < rc->held[i].until)
                        return true;
                rc->held[i] = rc->held[--rc->n_held];
                return false;
        }
        return false;
}

static void exec_pending_add(Reconciler *rc, pid_t tid) {
        uint64_t now = now_usec();
        size_t i = 0;

        /* Drop the lapsed ones; when full, the oldest goes. */
        while (i < rc->n_held)
                if (rc->held[i].until <= now)
                        rc->held[i] = rc->held[--rc->n_held];
                else
                        i++;
        if (rc->n_held == RECONCILE_HELD_MAX) {
                memmove(&rc->held[0], &rc->held[1], (RECONCILE_HELD_MAX - 1) * sizeof rc->held[0]);
                rc->n_held--;
        }
        rc->held[rc->n_held].tid = tid;
        rc->held[rc->n_held++].until = now + RECONCILE_HELD_USEC;
}

static void exec_pending_done(Reconciler *rc, pid_t pid) {
        for (size_t i = 0; i < rc->n_held;)
                if (rc->held[i].tid == pid)
                        rc->held[i] = rc->held[--rc->n_held];
                else
                        i++;
}

/* One thread of a process whose facts were just read. */
/* creator: the thread that forked the process, for its leader (0: unknown). */
static void evaluate_thread(Reconciler *rc, const ProcFacts *p, pid_t tid, bool is_new, pid_t creator) {
        _cleanup_(cpuset_freep) CpuSet *prev = NULL, *now = NULL;
        _cleanup_(freep) unsigned *load = NULL;
        _cleanup_(decision_done) Decision d = {0};
        unsigned n_load = 0;
        const CpuSet *task_cpuset = NULL;
        const Rule *rule = NULL;
        TaskStat ts;
        Thread *th;
        int r, err = 0;

        /* Its facts are the program it is leaving: wait for its exec event. */
        if (rc->n_held && exec_pending(rc, tid))
                return;
        r = facts_read_thread(&rc->facts, p, tid, &ts);
        th = thread_table_get(rc->threads, tid);
        if (r < 0) {
                if (th)
                        forget(rc, th);
                return;
        }
        if (th && (th->start != ts.starttime || th->pid != p->stat.pid)) {
                /* The tid was recycled: the old entry is about a dead thread. */
                forget(rc, th);
                th = NULL;
        }

        if (p->candidate) {
                TaskFacts facts;
                facts_task_view(p, tid, ts.comm, &facts);
                rule = decide_rule(rc->config, &facts, NULL);
        }
        if (!rule) {
                if (th) {
                        th->generation = rc->generation;
                        release_thread(rc, th, "no rule applies any more");
                } else if (!rc->dry_run && rc->config->settings.restore &&
                           ((is_new && (thread_table_has_pid(rc->threads, p->stat.pid) ||
                                        thread_table_has_released(rc->threads, p->stat.pid))) ||
                            thread_table_pinned_creator(rc->threads, p->stat.pid, creator)))
                        /* A new thread of a pinned process, or a process a
                         * pinned thread forked that no rule wants by the
                         * time its fork event is read (a worker that left
                         * the rule's user at once). */
                        undo_inherited(rc, p, &ts, creator);
                return;
        }

        if (!th) {
                th = thread_table_put(rc->threads, p->stat.pid, tid, ts.starttime);
                if (!th) {
                        log_msg(rc->log, LOG_ERR, "out of memory tracking tid %d", (int) tid);
                        return;
                }
                th->creator = creator;
        }
        th->generation = rc->generation;
        if (thread_set_names(th, p->stat.comm, ts.comm) < 0) {
                log_msg(rc->log, LOG_ERR, "out of memory tracking tid %d", (int) tid);
                return;
        }
        if (!th->rule || strcmp(th->rule, rule->name) != 0) {
                th->rule = intern_rule_name(rc, rule->name);
                th->spread_cpu = -1;
                th->reported = 0;
        }

        /* A kernel thread the kernel keeps on its CPUs: no write can move
         * it (and a shield's avoid would leave it no CPU). Said once per
         * kind of name, not per thread. */
        if (rule->kthreads && (ts.flags & PROC_PF_NO_SETAFFINITY)) {
                set_applied(rc, th, NULL);
                th->spread_cpu = -1;
                note_refused(rc, th, rule, AFF_EINVAL,
                             "the kernel keeps this kernel thread on its CPUs (PF_NO_SETAFFINITY)");
                return;
        }

        r = facts_thread_cpuset(&rc->facts, p, tid, &task_cpuset);
        if (r == -ESRCH || r == -ENOENT) {
                forget(rc, th);
                return;
        }
        if (r < 0)
                task_cpuset = NULL; /* unreadable: the kernel still enforces it */

        if (rule->spread) {
                r = reconcile_spread_load(rc, p->stat.pid, rule, tid, th->spread_cpu, &load, &n_load);
                if (r < 0)
                        return;
        }
        /* A thread that started on pinnerd's mask (its creator's: nothing
         * was written to it) and has a mask of its own now (taskset -c or a
         * launcher before exec, a thread placing itself): that mask is its
         * own choice, not its creator's original to give back or to work
         * from. (A rule that holds drift, log or ignore, keeps the decision
         * as it stands.) */
        if (th->original_inherited && th->applied && (rule->drift == DRIFT_REAPPLY || rc->replanning)) {
                _cleanup_(cpuset_freep) CpuSet *own = NULL;
                if (affinity_get(&rc->aff, p->stat.pid, tid, &own) >= 0 && !cpuset_equal(own, th->applied)) {
                        cpuset_free(TAKE_PTR(th->original));
                        cpuset_free(TAKE_PTR(th->applied));
                        th->original_inherited = false;
                        th->creator = 0;
                        rc->originals_changed = true;
                }
        }
        /* avoid works from what the thread would have without pinnerd. */
        _cleanup_(cpuset_freep) CpuSet *cur = NULL;
        const CpuSet *base = NULL;
        if (rule->avoid) {
                if (!th->original)
                        (void) affinity_get(&rc->aff, p->stat.pid, tid, &cur);
                base = thread_table_base_mask(rc->threads, th, p->stat.pid, cur);
        }
        r = decide_thread(rc->host, rule, true, task_cpuset, load, n_load, ts.comm, base, &d);
        if (r < 0) {
                log_msg(rc->log, LOG_ERR, "planning tid %d for rule %s: %s", (int) tid, rule->name,
                        strerror(-r));
                return;
        }
        if (d.verdict == VERDICT_SKIP) {
                set_skip(th, d.reason);
                /* No decision stands any more: nothing to hold against drift. */
                set_applied(rc, th, NULL);
                th->spread_cpu = -1;
                if (report_once(th, REPORTED_SKIPPED))
                        report_no_cpu(&rc->report, th, rule, &d.plan, d.reason);
                return;
        }
        th->reported &= ~(unsigned) REPORTED_SKIPPED;
        if (d.plan.dropped && !cpuset_empty(d.plan.dropped) && th->rule &&
            !thread_dropped_reported(rc->threads, th)) {
                th->reported |= REPORTED_DROPPED;
                report_dropped(&rc->report, th, rule, &d.plan);
        }

        /* The task may have moved (into a container a rule excludes) since
         * its facts were read: the keys that can change without an event
         * are read again, and a rule that no longer matches writes nothing. */
        unsigned recheck = rule_recheck_facts(rule);
        if (recheck) {
                _cleanup_(proc_facts_done) ProcFacts fresh = {0};
                _cleanup_(freep) char *why = NULL;
                TaskFacts tf;
                if (facts_reread(&rc->facts, p, tid, recheck, &fresh) < 0) {
                        forget(rc, th);
                        return;
                }
                facts_task_view(&fresh, tid, ts.comm, &tf);
                if (!rule_still_matches(rule, &tf, &why)) {
                        log_msg(rc->log, LOG_DEBUG,
                                "tid %d: rule %s no longer matches right before the write: %s", (int) tid,
                                rule->name, why ? why : "changed");
                        release_thread(rc, th, why ? why : "the rule no longer matches");
                        return;
                }
        }

        /* Someone else moved a thread whose rule says to leave it so (drift =
         * log | ignore): a rescan or an event about the thread does not undo
         * that while the decision stands; a reload, or a new decision, does. */
        if (!rc->replanning && !rc->dry_run && rule->drift != DRIFT_REAPPLY && th->applied &&
            cpuset_equal(th->applied, d.plan.effective)) {
                _cleanup_(cpuset_freep) CpuSet *held = NULL;
                if (affinity_get(&rc->aff, p->stat.pid, tid, &held) >= 0 &&
                    !cpuset_equal(held, th->applied)) {
                        if (rule->drift == DRIFT_LOG && report_once(th, REPORTED_DRIFT))
                                report_drift(&rc->report, th, held, false);
                        return;
                }
        }

        /* In a dry run the kernel's mask never changes: compare with what we
         * decided last time, or every re-evaluation would say "would pin". */
        AffinityResult res;
        if (rc->dry_run && th->applied && cpuset_equal(th->applied, d.plan.effective))
                res = AFF_UNCHANGED;
        else {
                save_original_mask(rc, th, d.plan.effective);
                res = affinity_apply(&rc->aff, p->stat.pid, tid, ts.starttime, d.plan.effective, &prev, &now,
                                     &err);
        }
        record_result(rc, th, rule, &d.plan, res, prev, now, err);
        if (res == AFF_SET || res == AFF_DRY_RUN || res == AFF_UNCHANGED)
                apply_policy(rc, th, rule);
}

/* Every thread of pid. The comm pre-check keeps unrelated processes cheap, but
 * threads we placed earlier are still looked at so they can be released. */
bool reconcile_process(Reconciler *rc, pid_t pid, const char *comm, pid_t creator) {
        _cleanup_(proc_facts_done) ProcFacts p = {0};
        _cleanup_(freep) pid_t *tids = NULL;
        bool remembered = thread_table_has_pid(rc->threads, pid);
        size_t n = 0;
        int r;

        if (!remembered && !(comm ? facts_name_worth_a_look(rc->config, comm)
                                  : facts_worth_a_look(&rc->facts, rc->config, pid)))
                return false;
        r = facts_read_process(&rc->facts, rc->config, pid, false, &p);
        if (r < 0)
                return remembered;
        /* No rule can match and nothing of it is remembered: its threads
         * need no look (most processes of an event storm end here). */
        if (!p.candidate && !remembered)
                return false;
        if (p.stat.num_threads == 1) {
                /* Always so right after exec: no need to list the task
                 * directory. A thread created since has its own event. */
                tids = malloc(sizeof(pid_t));
                if (!tids)
                        return true;
                tids[0] = pid;
                n = 1;
        } else {
                r = procfs_list_tids(rc->procfd, pid, &tids, &n);
                if (r < 0)
                        return true;
        }
        for (size_t i = 0; i < n; i++)
                if (p.candidate || thread_table_get(rc->threads, tids[i]))
                        evaluate_thread(rc, &p, tids[i], false, tids[i] == pid ? creator : 0);
        return true;
}

bool reconcile_thread(Reconciler *rc, pid_t pid, pid_t tid, bool is_new) {
        _cleanup_(proc_facts_done) ProcFacts p = {0};
        bool remembered = thread_table_get(rc->threads, tid);

        if (!remembered && !thread_table_has_pid(rc->threads, pid) &&
            !facts_worth_a_look(&rc->facts, rc->config, pid))
                return false;
        if (facts_read_process(&rc->facts, rc->config, pid, false, &p) < 0)
                return remembered;
        if (!p.candidate && !remembered && !is_new)
                return false;
        evaluate_thread(rc, &p, tid, is_new, 0);
        return true;
}

bool reconcile_exit(Reconciler *rc, pid_t pid, pid_t tid) {
        Thread *th = thread_table_get(rc->threads, tid);

        /* The kernel said so: whatever the entry was about is dead, zombie
         * leader or not. Its line in the state file goes at the next write;
         * until then a restart would drop it by identity. */
        if (tid == pid)
                thread_table_forget_process(rc->threads, pid);
        if (!th)
                return false;
        if (th->applied)
                rc->placements_changed = true;
        note_placement(rc, pid);
        thread_table_remove(rc->threads, tid);
        return true;
}

void reconcile_exec(Reconciler *rc, pid_t pid) {
        _cleanup_(cpuset_freep) CpuSet *cur = NULL, *orig = NULL, *applied = NULL;
        _cleanup_(freep) pid_t *dead = NULL;
        Thread *moved = NULL;
        size_t n = 0, n_dead = 0, n_orig = 0, n_match = 0;

        exec_pending_done(rc, pid);
        /* Most execs are of processes nothing is known of: no syscall. */
        for (Thread *th = thread_table_first_of(rc->threads, pid); th; th = th->pid_next)
                n++;
        if (n == 0)
                return;
        /* A non-leader thread that exec'd took the leader's tid and sent no
         * exit. Its entry is one of those whose tid is gone; the threads the
         * exec killed are gone too, and their exit events may still be on
         * the way. Each entry's task is looked up once. */
        dead = calloc(n, sizeof *dead);
        if (!dead)
                return;
        for (Thread *th = thread_table_first_of(rc->threads, pid); th; th = th->pid_next) {
                TaskStat ts;
                if (th->tid == pid || procfs_read_stat(rc->procfd, pid, th->tid, &ts) >= 0)
                        continue;
                dead[n_dead++] = th->tid;
                if (th->original)
                        n_orig++;
        }
        /* The exec'ing thread kept its mask: the entry whose applied mask the
         * process has now is it; failing that, entries that agree on the
         * original need no choice. */
        if (n_orig > 0)
                (void) affinity_get(&rc->aff, pid, pid, &cur);
        Thread *first = NULL;
        for (size_t k = 0; k < n_dead; k++) {
                Thread *th = thread_table_get(rc->threads, dead[k]);
                if (!th || !th->original)
                        continue;
                if (!first)
                        first = th;
                if (cur && th->applied && cpuset_equal(th->applied, cur) && n_match++ == 0)
                        moved = th;
        }
        if (!moved)
                moved = first;
        if (moved && (n_match > 1 || (n_match == 0 && n_orig > 1)))
                for (size_t k = 0; k < n_dead && moved; k++) {
                        Thread *th = thread_table_get(rc->threads, dead[k]);
                        if (th && th->original && !cpuset_equal(th->original, moved->original))
                                moved = NULL;
                }
        if (moved) {
                log_msg(rc->log, LOG_DEBUG, "pid %d: thread %d exec'd; its original mask moves to the leader",
                        (int) pid, (int) moved->tid);
                orig = cpuset_dup(moved->original);
                applied = moved->applied ? cpuset_dup(moved->applied) : NULL;
        }
        /* Every dead entry goes; their exit events find nothing. */
        for (size_t k = 0; k < n_dead; k++) {
                Thread *th = thread_table_get(rc->threads, dead[k]);
                if (th)
                        forget(rc, th);
        }
        if (!orig)
                return;
        TaskStat ls;
        if (procfs_read_stat(rc->procfd, pid, pid, &ls) < 0)
                return;
        /* Any leader entry is about the thread that exited: replaced. */
        Thread *th = thread_table_put(rc->threads, pid, pid, ls.starttime);
        if (!th || thread_remember_original(th, orig) < 0 || thread_set_names(th, ls.comm, ls.comm) < 0) {
                log_msg(rc->log, LOG_ERR, "out of memory tracking tid %d", (int) pid);
                return;
        }
        set_applied(rc, th, TAKE_PTR(applied));
        /* On disk under the leader's tid too: the dead tid's line would be
         * dropped by a successor. */
        save_original(rc, pid, pid, ls.starttime, th->original, NULL);
        rc->originals_changed = true;
}

/* ---- scans ------------------------------------------------------------------ */

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
                if (th && thread_still_there(rc, th))
                        release_thread(rc, th, "no rule applies any more");
                else if (th)
                        forget(rc, th);
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
        if (!thread_still_there(rc, th))
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
        if (report_once(th, REPORTED_DRIFT))
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

void reconcile_held_exec(Reconciler *rc, pid_t tid, const Rule *rule, const char *new_comm,
                         const CpuSet *prev, const CpuSet *set, AffinityResult res, int err,
                         const SchedPolicy *prev_policy, AffinityResult policy_res, int policy_err) {
        _cleanup_(cpuset_freep) CpuSet *now = NULL;
        char status[4096], pol[32];
        uint32_t tgid;
        size_t n_ids = 0;
        TaskStat ts;

        /* By now the exec may have gone on: a non-leader thread that exec'd
         * has taken its leader's pid, and its old tid is gone. Then the exec
         * event finds a process whose original pinnerd cannot know. */
        if (procfs_read_status(rc->procfd, tid, status, sizeof status) < 0 ||
            procfs_parse_status_ids(status, "Tgid", &tgid, 1, &n_ids) < 0 || n_ids != 1 ||
            procfs_read_stat(rc->procfd, (pid_t) tgid, tid, &ts) < 0) {
                log_msg(rc->log, LOG_DEBUG, "tid %d: exec held for rule %s, but the task is gone already",
                        (int) tid, rule->name);
                return;
        }
        Thread *th = thread_table_get(rc->threads, tid);
        if (th && (th->start != ts.starttime || th->pid != (pid_t) tgid)) {
                forget(rc, th);
                th = NULL;
        }
        if (!th)
                th = thread_table_put(rc->threads, (pid_t) tgid, tid, ts.starttime);
        if (!th || thread_set_names(th, new_comm, new_comm) < 0) {
                log_msg(rc->log, LOG_ERR, "out of memory tracking tid %d", (int) tid);
                return;
        }
        th->generation = rc->generation;
        if (!th->rule || strcmp(th->rule, rule->name) != 0) {
                th->rule = intern_rule_name(rc, rule->name);
                th->spread_cpu = -1;
                th->reported = 0;
        }
        if ((res == AFF_SET || res == AFF_DRY_RUN) && affinity_get(&rc->aff, (pid_t) tgid, tid, &now) < 0)
                now = cpuset_dup(set);
        Plan plan = {.requested = (CpuSet *) set, .effective = (CpuSet *) set, .spread_cpu = -1};
        bool had_original = th->original != NULL;
        /* Not an event of the connector's: no event->pin sample (this may
         * run between two items of a batch, whose timestamp is set). */
        uint64_t event_ns = rc->report.event_ns;
        rc->report.event_ns = 0;
        record_result(rc, th, rule, &plan, res, prev, now, err);
        rc->report.event_ns = event_ns;
        /* On disk now: nothing could be written before the exec was
         * answered, so this is the earliest (microseconds after the pin). */
        th = thread_table_get(rc->threads, tid);
        if (th && !had_original && th->original)
                save_original(rc, th->pid, tid, th->start, th->original, NULL);
        if (res == AFF_SET || res == AFF_UNCHANGED || res == AFF_DRY_RUN)
                exec_pending_add(rc, tid);
        if (!th || !rule->has_policy)
                return;
        (void) policy_format(&rule->policy, pol, sizeof pol);
        switch (policy_res) {
        case AFF_SET:
        case AFF_DRY_RUN:
                if (!th->policy_original) {
                        if (thread_remember_policy(th, prev_policy) < 0)
                                log_msg(rc->log, LOG_ERR, "out of memory remembering tid %d", (int) tid);
                        else
                                save_original(rc, th->pid, tid, th->start, NULL, prev_policy);
                        rc->originals_changed = true;
                }
                report_policy_applied(&rc->report, th, rule, pol, prev_policy, policy_res == AFF_DRY_RUN);
                break;
        case AFF_UNCHANGED:
        case AFF_GONE:
        case AFF_RECYCLED:
                break;
        default:
                if (report_once(th, REPORTED_POLICY))
                        report_policy_failed(&rc->report, th, rule, pol, affinity_result_reason(policy_res),
                                             policy_err);
        }
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
