/* SPDX-License-Identifier: MIT */
/* Reconciling one task: facts → decide → apply → record → report, for an
 * event about a process or a thread, an exit, an exec, and an exec that
 * guarantee = exec held. The entry bookkeeping is core/reconciler.c's; full
 * scans are core/reconcile-scan.c's, drift checks core/reconcile-drift.c's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rules/decide.h"
#include "kernel/schedpolicy.h"
#include "core/reconcile.h"
#include "kernel/procfs.h"
#include "lib/util.h"

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

/* No rule wants the thread: a thread pinnerd placed is let go; a new thread
 * of a pinned process, or a process a pinned thread forked that no rule wants
 * by the time its fork event is read (a worker that left the rule's user at
 * once), gets back what its creator had before pinnerd. */
static void evaluate_unwanted(Reconciler *rc, const ProcFacts *p, Thread *th, const TaskStat *ts, bool is_new,
                              pid_t creator) {
        if (th) {
                th->generation = rc->generation;
                reconciler_release_thread(rc, th, "no rule applies any more");
        } else if (!rc->dry_run && rc->config->settings.restore &&
                   ((is_new && (thread_table_has_pid(rc->threads, p->stat.pid) ||
                                thread_table_has_released(rc->threads, p->stat.pid))) ||
                    thread_table_pinned_creator(rc->threads, p->stat.pid, creator)))
                undo_inherited(rc, p, ts, creator);
}

/* The thread's entry, made or brought up to date for rule; NULL when memory
 * ran out (said). */
static Thread *evaluate_entry(Reconciler *rc, const ProcFacts *p, Thread *th, const TaskStat *ts, pid_t tid,
                              const Rule *rule, pid_t creator) {
        if (!th) {
                th = thread_table_put(rc->threads, p->stat.pid, tid, ts->starttime);
                if (!th) {
                        log_msg(rc->log, LOG_ERR, "out of memory tracking tid %d", (int) tid);
                        return NULL;
                }
                th->creator = creator;
        }
        th->generation = rc->generation;
        if (thread_set_names(th, p->stat.comm, ts->comm) < 0) {
                log_msg(rc->log, LOG_ERR, "out of memory tracking tid %d", (int) tid);
                return NULL;
        }
        if (!th->rule || strcmp(th->rule, rule->name) != 0) {
                th->rule = reconciler_intern_rule_name(rc, rule->name);
                th->spread_cpu = -1;
                th->reported = 0;
        }
        return th;
}

/* What rule makes of the thread now, into *d: its cpuset, the spread load,
 * and for avoid the mask it would have without pinnerd. false when there is
 * nothing to write (gone, skipped, or an error: said). */
static bool evaluate_plan(Reconciler *rc, const ProcFacts *p, Thread *th, const TaskStat *ts,
                          const Rule *rule, Decision *d) {
        _cleanup_(freep) unsigned *load = NULL;
        _cleanup_(cpuset_freep) CpuSet *cur = NULL;
        const CpuSet *task_cpuset = NULL, *base = NULL;
        unsigned n_load = 0;
        pid_t tid = th->tid;
        int r;

        r = facts_thread_cpuset(&rc->facts, p, tid, &task_cpuset);
        if (r == -ESRCH || r == -ENOENT) {
                reconciler_forget(rc, th);
                return false;
        }
        if (r < 0)
                task_cpuset = NULL; /* unreadable: the kernel still enforces it */

        if (rule->spread) {
                r = reconcile_spread_load(rc, p->stat.pid, rule, tid, th->spread_cpu, &load, &n_load);
                if (r < 0)
                        return false;
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
        if (rule->avoid) {
                if (!th->original)
                        (void) affinity_get(&rc->aff, p->stat.pid, tid, &cur);
                base = thread_table_base_mask(rc->threads, th, p->stat.pid, cur);
        }
        r = decide_thread(rc->host, rule, true, task_cpuset, load, n_load, ts->comm, base, d);
        if (r < 0) {
                log_msg(rc->log, LOG_ERR, "planning tid %d for rule %s: %s", (int) tid, rule->name,
                        strerror(-r));
                return false;
        }
        if (d->verdict == VERDICT_SKIP) {
                reconciler_set_skip(th, d->reason);
                /* No decision stands any more: nothing to hold against drift. */
                reconciler_set_applied(rc, th, NULL);
                th->spread_cpu = -1;
                if (reconciler_report_once(th, REPORTED_SKIPPED))
                        report_no_cpu(&rc->report, th, rule, &d->plan, d->reason);
                return false;
        }
        th->reported &= ~(unsigned) REPORTED_SKIPPED;
        if (d->plan.dropped && !cpuset_empty(d->plan.dropped) && th->rule &&
            !thread_dropped_reported(rc->threads, th)) {
                th->reported |= REPORTED_DROPPED;
                report_dropped(&rc->report, th, rule, &d->plan);
        }
        return true;
}

/* Right before the write: false when it must not happen. The task may have
 * moved (into a container a rule excludes) since its facts were read: the
 * keys that can change without an event are read again, and a rule that no
 * longer matches writes nothing. And someone else moved a thread whose rule
 * says to leave it so (drift = log | ignore): a rescan or an event about the
 * thread does not undo that while the decision stands; a reload, or a new
 * decision, does. */
static bool evaluate_still_wanted(Reconciler *rc, const ProcFacts *p, Thread *th, const TaskStat *ts,
                                  const Rule *rule, const Decision *d) {
        pid_t tid = th->tid;
        unsigned recheck = rule_recheck_facts(rule);

        if (recheck) {
                _cleanup_(proc_facts_done) ProcFacts fresh = {0};
                _cleanup_(freep) char *why = NULL;
                TaskFacts tf;
                if (facts_reread(&rc->facts, p, tid, recheck, &fresh) < 0) {
                        reconciler_forget(rc, th);
                        return false;
                }
                facts_task_view(&fresh, tid, ts->comm, &tf);
                if (!rule_still_matches(rule, &tf, &why)) {
                        log_msg(rc->log, LOG_DEBUG,
                                "tid %d: rule %s no longer matches right before the write: %s", (int) tid,
                                rule->name, why ? why : "changed");
                        reconciler_release_thread(rc, th, why ? why : "the rule no longer matches");
                        return false;
                }
        }
        if (!rc->replanning && !rc->dry_run && rule->drift != DRIFT_REAPPLY && th->applied &&
            cpuset_equal(th->applied, d->plan.effective)) {
                _cleanup_(cpuset_freep) CpuSet *held = NULL;
                if (affinity_get(&rc->aff, p->stat.pid, tid, &held) >= 0 &&
                    !cpuset_equal(held, th->applied)) {
                        if (rule->drift == DRIFT_LOG && reconciler_report_once(th, REPORTED_DRIFT))
                                report_drift(&rc->report, th, held, false);
                        return false;
                }
        }
        return true;
}

/* One thread of a process whose facts were just read: its identity, the
 * rule, the plan, then the write and its record. creator: the thread that
 * forked the process, for its leader (0: unknown). */
static void evaluate_thread(Reconciler *rc, const ProcFacts *p, pid_t tid, bool is_new, pid_t creator) {
        _cleanup_(cpuset_freep) CpuSet *prev = NULL, *now = NULL;
        _cleanup_(decision_done) Decision d = {0};
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
                        reconciler_forget(rc, th);
                return;
        }
        if (th && (th->start != ts.starttime || th->pid != p->stat.pid)) {
                /* The tid was recycled: the old entry is about a dead thread. */
                reconciler_forget(rc, th);
                th = NULL;
        }

        if (p->candidate) {
                TaskFacts facts;
                facts_task_view(p, tid, ts.comm, &facts);
                rule = decide_rule(rc->config, &facts, NULL);
        }
        if (!rule) {
                evaluate_unwanted(rc, p, th, &ts, is_new, creator);
                return;
        }
        th = evaluate_entry(rc, p, th, &ts, tid, rule, creator);
        if (!th)
                return;

        /* A kernel thread the kernel keeps on its CPUs: no write can move
         * it (and a shield's avoid would leave it no CPU). Said once per
         * kind of name, not per thread. */
        if (rule->kthreads && (ts.flags & PROC_PF_NO_SETAFFINITY)) {
                reconciler_set_applied(rc, th, NULL);
                th->spread_cpu = -1;
                reconciler_note_refused(
                        rc, th, rule, AFF_EINVAL,
                        "the kernel keeps this kernel thread on its CPUs (PF_NO_SETAFFINITY)");
                return;
        }
        if (!evaluate_plan(rc, p, th, &ts, rule, &d) || !evaluate_still_wanted(rc, p, th, &ts, rule, &d))
                return;

        /* In a dry run the kernel's mask never changes: compare with what we
         * decided last time, or every re-evaluation would say "would pin". */
        AffinityResult res;
        if (rc->dry_run && th->applied && cpuset_equal(th->applied, d.plan.effective))
                res = AFF_UNCHANGED;
        else {
                reconciler_save_original_mask(rc, th, d.plan.effective);
                res = affinity_apply(&rc->aff, p->stat.pid, tid, ts.starttime, d.plan.effective, &prev, &now,
                                     &err);
        }
        reconciler_record_result(rc, th, rule, &d.plan, res, prev, now, err);
        if (res == AFF_SET || res == AFF_DRY_RUN || res == AFF_UNCHANGED)
                reconciler_apply_policy(rc, th, rule);
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
        reconciler_note_placement(rc, pid);
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
                        reconciler_forget(rc, th);
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
        reconciler_set_applied(rc, th, TAKE_PTR(applied));
        /* On disk under the leader's tid too: the dead tid's line would be
         * dropped by a successor. */
        reconciler_save_original(rc, pid, pid, ls.starttime, th->original, NULL);
        rc->originals_changed = true;
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
                reconciler_forget(rc, th);
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
                th->rule = reconciler_intern_rule_name(rc, rule->name);
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
        reconciler_record_result(rc, th, rule, &plan, res, prev, now, err);
        rc->report.event_ns = event_ns;
        /* On disk now: nothing could be written before the exec was
         * answered, so this is the earliest (microseconds after the pin). */
        th = thread_table_get(rc->threads, tid);
        if (th && !had_original && th->original)
                reconciler_save_original(rc, th->pid, tid, th->start, th->original, NULL);
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
                                reconciler_save_original(rc, th->pid, tid, th->start, NULL, prev_policy);
                        rc->originals_changed = true;
                }
                report_policy_applied(&rc->report, th, rule, pol, prev_policy, policy_res == AFF_DRY_RUN);
                break;
        case AFF_UNCHANGED:
        case AFF_GONE:
        case AFF_RECYCLED:
                break;
        default:
                if (reconciler_report_once(th, REPORTED_POLICY))
                        report_policy_failed(&rc->report, th, rule, pol, affinity_result_reason(policy_res),
                                             policy_err);
        }
}
