/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "ctlserver.h"
#include "manager-internal.h"
#include "procfs.h"
#include "util.h"

/* The kernel doubles this to 32 MiB of socket buffer; each connector message
 * costs ~800 bytes of it, so ~40,000 events can queue (measured by test 19):
 * a fork storm becomes latency rather than loss. */
#define CN_RCVBUF (16 * 1024 * 1024)
#define CN_ACK_TIMEOUT_MS 1000
#define BATCH_MAX 65536
/* One callback reads at most this many datagrams, so a storm that never
 * ends cannot keep the loop from timers and the control socket. */
#define DRAIN_MAX (4 * BATCH_MAX)
/* recvmmsg takes up to RX_BATCH datagrams per call; a proc event datagram
 * is 76 bytes, RX_SIZE leaves room for a kernel that sends more. */
#define RX_BATCH 64
#define RX_SIZE 1024
/* Rescans after lost events are at least this far apart: a sustained
 * overflow costs one rescan per interval, not one per callback. */
#define LOST_RESCAN_INTERVAL_USEC (100 * 1000)
#define POLL_DEFAULT_SEC 2

static void log_diags(Manager *m, const ConfDiags *d, StrVec *errors) {
        for (size_t i = 0; i < d->n; i++) {
                _cleanup_(freep) char *s = conf_diag_format_bare(&d->v[i]);
                if (!s)
                        continue;
                log_msg(m->log, d->v[i].warning ? LOG_WARNING : LOG_ERR, "%s", s);
                if (errors && !d->v[i].warning)
                        (void) strvec_push(errors, s);
        }
}

static int load_config(Manager *m, Config **ret, StrVec *errors) {
        ConfLoadOptions o = {
                .main_path = m->opt.config_path,
                .dir = m->opt.config_dir,
                .possible = m->host->possible,
                .host = m->host, /* terms with no CPU here warn */
                .check_owner = m->opt.check_owner,
        };
        ConfDiags d = {0};
        int r = conf_load(&o, ret, &d);
        log_diags(m, &d, errors);
        conf_diags_done(&d);
        return r;
}

static void storm_timer_update(Manager *m);

const char *manager_event_source(const Manager *m) {
        if (m->opt.once)
                return "single scan";
        return m->connector ? "proc-connector" : "polling";
}

/* ---- facts ---------------------------------------------------------------- */

/* Before reading everything about pid: could any rule match it at all? Only
 * its name is read, and a name of COMM_USER_MAX bytes (which may be a cut
 * kernel thread name) never rules anything out. Processes with remembered threads always
 * get the full look. Most processes of an exec storm end here. */
static bool worth_a_look(Manager *m, pid_t pid) {
        char comm[COMM_MAX + 2];

        if (thread_table_has_pid(m->threads, pid))
                return true;
        if (procfs_read_comm(m->procfd, pid, comm, sizeof comm) < 0)
                return false; /* gone */
        if (strlen(comm) >= COMM_USER_MAX)
                return true;
        return match_comm_possible(m->config, comm, false) || match_comm_possible(m->config, comm, true);
}

void proc_facts_done(ProcFacts *p) {
        free(p->exe);
        free(p->cmdline);
        free(p->cgroup_raw);
        task_cgroups_done(&p->cgroups);
        *p = (ProcFacts){0};
}

int manager_read_proc_facts(Manager *m, pid_t pid, bool force, ProcFacts *ret) {
        ProcFacts p = {0};
        unsigned need = m->config->facts;
        int r;

        r = procfs_read_stat(m->procfd, pid, pid, &p.stat);
        if (r < 0)
                return r;
        p.candidate = match_comm_possible(m->config, p.stat.comm, p.stat.flags & PROC_PF_KTHREAD);
        if (p.candidate || force) {
                /* A fact that cannot be read stays NULL and matches nothing. */
                if (need & FACT_EXE)
                        (void) procfs_read_exe(m->procfd, pid, &p.exe);
                if (need & FACT_CMDLINE)
                        (void) procfs_read_cmdline(m->procfd, pid, &p.cmdline);
                if (need & FACT_UID)
                        p.has_uid = procfs_read_uid(m->procfd, pid, &p.uid) >= 0;
                if ((need & FACT_CGROUP) && procfs_read_cgroup(m->procfd, pid, pid, &p.cgroup_raw) >= 0)
                        (void) task_cgroups_parse_buf(p.cgroup_raw, &p.cgroups);
                if (need & FACT_PARENT) {
                        TaskStat ps;
                        if (p.stat.ppid > 0 &&
                            procfs_read_stat(m->procfd, p.stat.ppid, p.stat.ppid, &ps) >= 0) {
                                memcpy(p.parent_comm, ps.comm, sizeof p.parent_comm);
                                p.has_parent = true;
                        }
                }
        }
        *ret = p;
        return 0;
}

void manager_task_facts(const ProcFacts *p, pid_t tid, const char *thread_name, TaskFacts *ret) {
        *ret = (TaskFacts){
                .pid = p->stat.pid,
                .tid = tid,
                .comm = p->stat.comm,
                .thread = thread_name,
                .exe = p->exe,
                .cmdline = p->cmdline,
                .uid = p->uid,
                .has_uid = p->has_uid,
                .cgroup = task_cgroups_match_path(&p->cgroups),
                .parent_comm = p->has_parent ? p->parent_comm : NULL,
                .kthread = p->stat.flags & PROC_PF_KTHREAD,
        };
}

static void cpuset_cache_clear(Manager *m) {
        for (size_t i = 0; i < m->n_cpuset_cache; i++) {
                free(m->cpuset_cache[i].key);
                cpuset_free(m->cpuset_cache[i].set);
        }
        m->n_cpuset_cache = 0;
}

int manager_thread_cpuset(Manager *m, const ProcFacts *p, pid_t tid, const CpuSet **ret) {
        _cleanup_(freep) char *raw = NULL;
        _cleanup_(task_cgroups_done) TaskCgroups cg = {0};
        const char *key;
        uint64_t now = now_usec();
        CpuSet *set = NULL;
        int r;

        /* Threads can sit in different v1 cpusets (or v2 threaded cgroups), so
         * the thread's own file decides; the leader's may be read already. */
        if (tid == p->stat.pid && p->cgroup_raw)
                key = p->cgroup_raw;
        else {
                r = procfs_read_cgroup(m->procfd, p->stat.pid, tid, &raw);
                if (r < 0)
                        return r;
                key = raw;
        }
        for (size_t i = 0; i < m->n_cpuset_cache; i++)
                if (now - m->cpuset_cache[i].read_usec < CPUSET_CACHE_TTL_USEC &&
                    strcmp(m->cpuset_cache[i].key, key) == 0) {
                        *ret = m->cpuset_cache[i].set;
                        return 0;
                }
        r = task_cgroups_parse_buf(key, &cg);
        if (r < 0)
                return r;
        r = host_task_cpuset(m->host, &cg, &set);
        if (r < 0)
                return r;
        if (m->n_cpuset_cache == CPUSET_CACHE_SIZE)
                cpuset_cache_clear(m);
        char *k = raw ? TAKE_PTR(raw) : strdup(key);
        if (!k) {
                cpuset_free(set);
                return -ENOMEM;
        }
        m->cpuset_cache[m->n_cpuset_cache++] = (CpusetCacheEntry){.key = k, .set = set, .read_usec = now};
        *ret = set;
        return 0;
}

/* Thread entries name their rule by a string that outlives any one config:
 * one copy per distinct rule name ever loaded, instead of one per thread. */
static const char *intern_rule_name(Manager *m, const char *name) {
        for (size_t i = 0; i < m->rule_names.n; i++)
                if (strcmp(m->rule_names.v[i], name) == 0)
                        return m->rule_names.v[i];
        if (strvec_push(&m->rule_names, name) < 0)
                return NULL;
        return m->rule_names.v[m->rule_names.n - 1];
}

/* ---- deciding and applying -------------------------------------------------- */

char *manager_fmt_cpus(const CpuSet *s) {
        return s ? cpuset_format_list(s) : strdup("-");
}

static void thread_fields(const Thread *th, LogFields *f) {
        *f = (LogFields){
                .rule = th->rule, .pid = th->pid, .tid = th->tid, .comm = th->comm, .thread = th->name};
}

/* Is the thread an entry remembers still that thread (not gone, tid not
 * recycled)? */
static bool thread_still_there(Manager *m, const Thread *th) {
        TaskStat ts;
        return procfs_read_stat(m->procfd, th->pid, th->tid, &ts) >= 0 && ts.starttime == th->start;
}

/* Report a problem once per (tid, start time, reason). */
static bool report_once(Thread *th, unsigned bit) {
        if (th->reported & bit)
                return false;
        th->reported |= bit;
        return true;
}

static bool restore_thread(Manager *m, Thread *th, const char *why) {
        _cleanup_(cpuset_freep) CpuSet *prev = NULL, *now = NULL;
        _cleanup_(freep) char *orig_s = NULL, *prev_s = NULL;
        AffinityResult res;
        LogFields f;
        int err;

        if (!th->original)
                return false;
        res = affinity_apply(&m->aff, th->pid, th->tid, th->start, th->original, &prev, &now, &err);
        thread_fields(th, &f);
        orig_s = manager_fmt_cpus(th->original);
        prev_s = manager_fmt_cpus(prev);
        f.cpus = orig_s;
        f.previous = prev_s;
        f.reason = why;
        switch (res) {
        case AFF_SET:
        case AFF_DRY_RUN:
                m->counters.restored++;
                log_event(m->log, EV_RESTORED, LOG_INFO, &f,
                          "restored %s/%s (pid %d, tid %d) to CPUs %s (was %s): %s%s", th->comm, th->name,
                          (int) th->pid, (int) th->tid, orig_s, prev_s, why,
                          res == AFF_DRY_RUN ? " (dry run)" : "");
                return true;
        case AFF_UNCHANGED:
        case AFF_GONE:
        case AFF_RECYCLED:
                return false;
        default:
                f.reason = affinity_result_reason(res);
                m->counters.failed++;
                log_event(m->log, EV_FAILED, LOG_WARNING, &f, "could not restore %s/%s (pid %d, tid %d): %s",
                          th->comm, th->name, (int) th->pid, (int) th->tid, strerror(err ? err : EINVAL));
                return false;
        }
}

/* A thread no rule applies to any more: put its mask back and forget it. */
static void release_thread(Manager *m, Thread *th, const char *why) {
        if (m->config->settings.restore)
                restore_thread(m, th, why);
        thread_table_remove(m->threads, th->tid);
}

static void set_skip(Thread *th, const char *reason) {
        free(th->skip_reason);
        th->skip_reason = reason ? strdup(reason) : NULL;
}

/* A thread created by a thread we pinned starts on our mask, so nothing is
 * "replaced" when we look at it; what it would have had without us is its
 * creator's original (or, failing that, its process leader's). */
static void inherit_original(Manager *m, Thread *th, pid_t creator) {
        const Thread *src = creator > 0 ? thread_table_get(m->threads, creator) : NULL;

        if (!src || src->pid != th->pid || !src->original)
                src = thread_table_get(m->threads, th->pid);
        if (src && src != th && src->pid == th->pid && src->original)
                th->original = cpuset_dup(src->original);
}

/* now: the mask read back after the write (NULL when nothing was written). */
static void apply_result(Manager *m, Thread *th, const Rule *rule, const Plan *plan, AffinityResult res,
                         const CpuSet *prev, const CpuSet *now, int err, pid_t creator) {
        _cleanup_(freep) char *eff_s = manager_fmt_cpus(plan->effective),
                              *req_s = manager_fmt_cpus(plan->requested), *prev_s = manager_fmt_cpus(prev);
        bool kthread_quiet;
        LogFields f;

        thread_fields(th, &f);
        f.cpus = eff_s;
        f.requested = req_s;
        f.previous = prev_s;

        switch (res) {
        case AFF_SET:
        case AFF_DRY_RUN:
                if (!th->original && prev)
                        th->original = cpuset_dup(prev);
                m->counters.applied++;
                th->reported &= ~(unsigned) REPORTED_DRIFT;
                log_event(m->log, EV_APPLIED, LOG_INFO, &f,
                          "%s %s/%s (pid %d, tid %d) to CPU%s %s by rule %s (was %s)",
                          res == AFF_DRY_RUN ? "would pin" : "pinned", th->comm, th->name, (int) th->pid,
                          (int) th->tid, cpuset_count(plan->effective) == 1 ? "" : "s", eff_s, rule->name,
                          prev_s);
                break;
        case AFF_UNCHANGED:
                if (!th->original)
                        inherit_original(m, th, creator);
                break;
        case AFF_GONE:
        case AFF_RECYCLED:
                log_msg(m->log, LOG_DEBUG, "tid %d: %s", (int) th->tid, affinity_result_reason(res));
                thread_table_remove(m->threads, th->tid);
                return;
        case AFF_EINVAL:
        case AFF_EBUSY:
                f.reason = affinity_result_reason(res);
                set_skip(th, f.reason);
                kthread_quiet = rule->kthreads && res == AFF_EINVAL;
                if (report_once(th, res == AFF_EINVAL ? REPORTED_EINVAL : REPORTED_EBUSY)) {
                        m->counters.skipped++;
                        log_event(m->log, EV_SKIPPED, kthread_quiet ? LOG_DEBUG : LOG_NOTICE, &f,
                                  "skipped %s/%s (pid %d, tid %d) for rule %s: %s", th->comm, th->name,
                                  (int) th->pid, (int) th->tid, rule->name, f.reason);
                }
                return;
        case AFF_EPERM:
        case AFF_ERROR:
        default:
                f.reason = affinity_result_reason(res);
                set_skip(th, f.reason);
                if (report_once(th, res == AFF_EPERM ? REPORTED_EPERM : REPORTED_ERROR)) {
                        m->counters.failed++;
                        log_event(m->log, EV_FAILED, LOG_ERR, &f,
                                  "failed to pin %s/%s (pid %d, tid %d) to CPUs %s by rule %s: %s", th->comm,
                                  th->name, (int) th->pid, (int) th->tid, eff_s, rule->name,
                                  strerror(err ? err : EINVAL));
                }
                return;
        }
        set_skip(th, NULL);
        cpuset_free(th->applied);
        /* What the kernel holds is what drift is measured against: it may
         * have narrowed the mask (a cpuset changed since the plan). */
        th->applied = cpuset_dup(now ? now : plan->effective);
}

/* CPUs a rule asked for but the thread may not use: said once per rule and
 * process, whichever of its threads the rule reaches first. The map holds,
 * per pid, the (interned) rule last reported; exits and scans prune it. */
static void report_dropped(Manager *m, const ProcFacts *p, const Rule *rule, const Plan *plan, Thread *th) {
        uintptr_t seen;

        if (!plan->dropped || cpuset_empty(plan->dropped) || !th->rule)
                return;
        if (intmap_get(&m->dropped_reported, p->stat.pid, &seen) && seen == (uintptr_t) th->rule)
                return;
        (void) intmap_put(&m->dropped_reported, p->stat.pid, (uintptr_t) th->rule, NULL);

        _cleanup_(freep) char *d = manager_fmt_cpus(plan->dropped), *req = manager_fmt_cpus(plan->requested),
                              *eff = manager_fmt_cpus(plan->effective);
        LogFields f;
        thread_fields(th, &f);
        f.requested = req;
        f.cpus = eff;
        f.reason = "requested CPUs outside what the thread may use";
        log_note(m->log, LOG_NOTICE, &f,
                 "rule %s: CPUs %s of %s left out for %s (pid %d): not online, outside its cpuset, or "
                 "isolated",
                 rule->name, d, req, p->stat.comm, (int) p->stat.pid);
}

int manager_spread_load(Manager *m, pid_t pid, const Rule *rule, pid_t tid, int held_cpu, unsigned **ret,
                        unsigned *ret_n) {
        _cleanup_(freep) unsigned *load = NULL;
        unsigned n_load = 0;
        int r;

        r = thread_table_spread_load(m->threads, pid, rule->name, tid, &load, &n_load);
        if (r < 0)
                return r;
        /* A placed thread keeps its CPU while that CPU stays allowed: weigh
         * every other CPU one thread heavier. */
        if (held_cpu >= 0) {
                unsigned n = m->host->nr_cpu_ids;
                if (n < n_load)
                        n = n_load;
                if ((unsigned) held_cpu >= n)
                        n = (unsigned) held_cpu + 1;
                unsigned *biased = calloc(n, sizeof(unsigned));
                if (!biased)
                        return -ENOMEM;
                for (unsigned c = 0; c < n; c++)
                        biased[c] = (int) c == held_cpu ? 0 : (c < n_load ? load[c] : 0) + 1;
                free(load);
                load = biased;
                n_load = n;
        }
        *ret = TAKE_PTR(load);
        *ret_n = n_load;
        return 0;
}

/* creator: the thread that created tid, when a fork event said so (else 0). */
static void evaluate_thread(Manager *m, const ProcFacts *p, pid_t tid, pid_t creator) {
        _cleanup_(cpuset_freep) CpuSet *prev = NULL, *now = NULL;
        _cleanup_(freep) unsigned *load = NULL;
        unsigned n_load = 0;
        const CpuSet *task_cpuset = NULL;
        const Rule *rule = NULL;
        TaskStat ts;
        TaskFacts facts;
        Thread *th;
        Plan plan = {0};
        int r, err = 0;

        if (tid == p->stat.pid) {
                ts = p->stat; /* read a moment ago */
                r = 0;
        } else
                r = procfs_read_stat(m->procfd, p->stat.pid, tid, &ts);
        th = thread_table_get(m->threads, tid);
        if (r < 0) {
                if (th)
                        thread_table_remove(m->threads, tid);
                return;
        }
        if (th && (th->start != ts.starttime || th->pid != p->stat.pid)) {
                /* The tid was recycled: the old entry is about a dead thread. */
                thread_table_remove(m->threads, tid);
                th = NULL;
        }

        if (p->candidate) {
                manager_task_facts(p, tid, ts.comm, &facts);
                rule = match_thread(m->config, &facts);
        }
        if (!rule) {
                if (th) {
                        th->generation = m->generation;
                        release_thread(m, th, "no rule applies any more");
                }
                return;
        }

        if (!th) {
                th = thread_table_put(m->threads, p->stat.pid, tid, ts.starttime);
                if (!th) {
                        log_msg(m->log, LOG_ERR, "out of memory tracking tid %d", (int) tid);
                        return;
                }
        }
        th->generation = m->generation;
        if (thread_set_names(th, p->stat.comm, ts.comm) < 0) {
                log_msg(m->log, LOG_ERR, "out of memory tracking tid %d", (int) tid);
                return;
        }
        if (!th->rule || strcmp(th->rule, rule->name) != 0) {
                th->rule = intern_rule_name(m, rule->name);
                th->spread_cpu = -1;
                th->reported = 0;
        }

        r = manager_thread_cpuset(m, p, tid, &task_cpuset);
        if (r == -ESRCH || r == -ENOENT) {
                thread_table_remove(m->threads, tid);
                return;
        }
        if (r < 0)
                task_cpuset = NULL; /* unreadable: the kernel still enforces it */

        if (rule->spread) {
                r = manager_spread_load(m, p->stat.pid, rule, tid, th->spread_cpu, &load, &n_load);
                if (r < 0)
                        return;
        }
        r = plan_thread(m->host, rule, task_cpuset, load, n_load, &plan);
        if (r < 0) {
                log_msg(m->log, LOG_ERR, "planning tid %d for rule %s: %s", (int) tid, rule->name,
                        strerror(-r));
                return;
        }

        if (!plan.effective || cpuset_empty(plan.effective)) {
                const char *why = plan.skip_reason ? plan.skip_reason : "no CPU left";
                set_skip(th, why);
                /* No decision stands any more: nothing to hold against drift. */
                cpuset_free(th->applied);
                th->applied = NULL;
                if (report_once(th, REPORTED_SKIPPED)) {
                        _cleanup_(freep) char *req_s = manager_fmt_cpus(plan.requested);
                        LogFields f;
                        thread_fields(th, &f);
                        f.requested = req_s;
                        f.reason = why;
                        m->counters.skipped++;
                        log_event(m->log, EV_SKIPPED, LOG_NOTICE, &f,
                                  "left %s/%s (pid %d, tid %d) as it is: rule %s asks for CPUs %s but %s",
                                  th->comm, th->name, (int) th->pid, (int) tid, rule->name, req_s, why);
                }
                plan_done(&plan);
                return;
        }
        th->reported &= ~(unsigned) REPORTED_SKIPPED;
        report_dropped(m, p, rule, &plan, th);
        if (rule->spread)
                th->spread_cpu = cpuset_next(plan.effective, -1);

        /* In a dry run the kernel's mask never changes: compare with what we
         * decided last time, or every re-evaluation would say "would pin". */
        AffinityResult res;
        if (m->opt.dry_run && th->applied && cpuset_equal(th->applied, plan.effective))
                res = AFF_UNCHANGED;
        else
                res = affinity_apply(&m->aff, p->stat.pid, tid, ts.starttime, plan.effective, &prev, &now,
                                     &err);
        apply_result(m, th, rule, &plan, res, prev, now, err, creator);
        plan_done(&plan);
}

/* Every thread of pid. The comm pre-check keeps unrelated processes cheap, but
 * threads we placed earlier are still looked at so they can be released. */
static void evaluate_process(Manager *m, pid_t pid) {
        _cleanup_(proc_facts_done) ProcFacts p = {0};
        _cleanup_(freep) pid_t *tids = NULL;
        size_t n = 0;
        int r;

        if (!worth_a_look(m, pid))
                return;
        r = manager_read_proc_facts(m, pid, false, &p);
        if (r < 0)
                return;
        /* No rule can match and nothing of it is remembered: its threads
         * need no look (most processes of an event storm end here). */
        if (!p.candidate && !thread_table_has_pid(m->threads, pid))
                return;
        if (p.stat.num_threads == 1) {
                /* Always so right after exec: no need to list the task
                 * directory. A thread created since has its own event. */
                tids = malloc(sizeof(pid_t));
                if (!tids)
                        return;
                tids[0] = pid;
                n = 1;
        } else {
                r = procfs_list_tids(m->procfd, pid, &tids, &n);
                if (r < 0)
                        return;
        }
        for (size_t i = 0; i < n; i++)
                if (p.candidate || thread_table_get(m->threads, tids[i]))
                        evaluate_thread(m, &p, tids[i], 0);
}

static void evaluate_one_thread(Manager *m, pid_t pid, pid_t tid, pid_t creator) {
        _cleanup_(proc_facts_done) ProcFacts p = {0};

        if (!thread_table_get(m->threads, tid) && !worth_a_look(m, pid))
                return;
        if (manager_read_proc_facts(m, pid, false, &p) < 0)
                return;
        if (p.candidate || thread_table_get(m->threads, tid))
                evaluate_thread(m, &p, tid, creator);
}

/* ---- scans ------------------------------------------------------------------ */

static void scan_all(Manager *m) {
        _cleanup_(freep) pid_t *pids = NULL;
        size_t n = 0, i = 0;
        Thread *th;
        int r;

        m->generation++;
        cpuset_cache_clear(m);
        r = procfs_list_pids(m->procfd, &pids, &n);
        if (r < 0) {
                log_msg(m->log, LOG_ERR, "cannot list processes: %s", strerror(-r));
                return;
        }
        for (size_t k = 0; k < n; k++)
                evaluate_process(m, pids[k]);

        /* Entries the scan did not reach are gone, or no longer candidates. */
        _cleanup_(freep) pid_t *stale = calloc(thread_table_size(m->threads) + 1, sizeof(pid_t));
        size_t n_stale = 0;
        if (!stale)
                return;
        while ((th = thread_table_next(m->threads, &i)))
                if (th->generation != m->generation)
                        stale[n_stale++] = th->tid;
        for (size_t k = 0; k < n_stale; k++) {
                th = thread_table_get(m->threads, stale[k]);
                if (th && thread_still_there(m, th))
                        release_thread(m, th, "no rule applies any more");
                else if (th)
                        thread_table_remove(m->threads, stale[k]);
        }
        /* Reports of dropped CPUs are forgotten with the process's threads. */
        const IntMapSlot *slot;
        size_t si = 0, n_gone = 0;
        _cleanup_(freep) pid_t *gone = calloc(intmap_size(&m->dropped_reported) + 1, sizeof(pid_t));
        while (gone && (slot = intmap_next(&m->dropped_reported, &si)))
                if (!thread_table_has_pid(m->threads, slot->key))
                        gone[n_gone++] = slot->key;
        for (size_t k = 0; k < n_gone; k++)
                (void) intmap_remove(&m->dropped_reported, gone[k], NULL);
}

void manager_rescan(Manager *m, const char *why) {
        uint64_t t0 = now_usec();
        Counters before = m->counters;

        m->counters.rescans++;
        scan_all(m);
        log_event(m->log, EV_RESCAN, LOG_DEBUG, NULL,
                  "rescan (%s) took %.1f ms: %" PRIu64 " applied, %" PRIu64 " restored, %zu threads managed",
                  why, (double) (now_usec() - t0) / 1000.0, m->counters.applied - before.applied,
                  m->counters.restored - before.restored, thread_table_size(m->threads));
        storm_timer_update(m);
}

/* ---- events ----------------------------------------------------------------- */

/* What a batch asks for each task; an exit wins, a whole-process pass covers
 * its threads. */
enum { WANT_THREAD = 1, WANT_PROCESS = 2, WANT_GONE = 4 };

typedef struct Pending {
        pid_t tid, pid;
        unsigned want;
        size_t seq;    /* arrival order */
        pid_t creator; /* fork: the creating thread */
} Pending;

static int pending_cmp(const void *a, const void *b) {
        const Pending *x = a, *y = b;
        if (x->tid != y->tid)
                return (x->tid > y->tid) - (x->tid < y->tid);
        return (x->seq > y->seq) - (x->seq < y->seq);
}

static void process_batch(Manager *m, size_t n) {
        _cleanup_(freep) Pending *pend = malloc((n ? n : 1) * sizeof(Pending));
        size_t np = 0;

        if (!pend) {
                manager_rescan(m, "out of memory for events");
                return;
        }
        for (size_t i = 0; i < n; i++) {
                const CnEvent *e = &m->batch[i];
                switch (e->type) {
                case CN_EV_FORK:
                        pend[np++] =
                                (Pending){e->pid, e->tgid, e->pid == e->tgid ? WANT_PROCESS : WANT_THREAD, i,
                                          e->parent_pid};
                        break;
                case CN_EV_EXEC:
                        pend[np++] = (Pending){e->tgid, e->tgid, WANT_PROCESS, i, 0};
                        break;
                case CN_EV_COMM:
                        /* The leader's name is the process name every thread matches on. */
                        pend[np++] = (Pending){e->pid, e->tgid,
                                               e->pid == e->tgid ? WANT_PROCESS : WANT_THREAD, i, 0};
                        break;
                case CN_EV_EXIT:
                        pend[np++] = (Pending){e->pid, e->tgid, WANT_GONE, i, 0};
                        break;
                default:
                        break;
                }
        }
        /* Merge per tid, keeping the arrival order of the last event: an exit
         * followed by a new fork of a recycled tid must still be evaluated. */
        qsort(pend, np, sizeof *pend, pending_cmp);
        for (size_t i = 0; i < np;) {
                size_t j = i;
                unsigned want = 0;
                pid_t pid = pend[i].pid, creator = 0;
                for (; j < np && pend[j].tid == pend[i].tid; j++) {
                        if (pend[j].creator > 0)
                                creator = pend[j].creator;
                        if (pend[j].want == WANT_GONE)
                                want = WANT_GONE;
                        else
                                want = (want & ~(unsigned) WANT_GONE) | pend[j].want;
                        pid = pend[j].pid;
                }
                pid_t tid = pend[i].tid;
                i = j;
                if (want & WANT_GONE) {
                        if (tid == pid)
                                (void) intmap_remove(&m->dropped_reported, tid, NULL);
                        /* Also catches a tid exiting after a newer fork reused it:
                         * evaluate checks identity, a dead one is dropped. */
                        Thread *th = thread_table_get(m->threads, tid);
                        if (th && !thread_still_there(m, th))
                                thread_table_remove(m->threads, tid);
                        continue;
                }
                if (want & WANT_PROCESS)
                        evaluate_process(m, pid);
                else
                        evaluate_one_thread(m, pid, tid, creator);
        }
}

static int on_lost_rescan(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        m->last_lost_rescan = now_usec();
        manager_rescan(m, "events lost");
        return 0;
}

/* Events were lost: rescan now, or soon if we just did. */
static void rescan_after_loss(Manager *m) {
        uint64_t now = now_usec();

        m->counters.lost_rescans++;
        if (now - m->last_lost_rescan >= LOST_RESCAN_INTERVAL_USEC) {
                m->last_lost_rescan = now;
                manager_rescan(m, "events lost");
                return;
        }
        uint64_t due = m->last_lost_rescan + LOST_RESCAN_INTERVAL_USEC;
        if (!m->lost_timer) {
                if (sd_event_add_time(m->event, &m->lost_timer, CLOCK_MONOTONIC, due, 1000, on_lost_rescan,
                                      m) < 0) {
                        manager_rescan(m, "events lost");
                        return;
                }
        } else
                (void) sd_event_source_set_time(m->lost_timer, due);
        (void) sd_event_source_set_enabled(m->lost_timer, SD_EVENT_ONESHOT);
}

static int on_connector(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        ssize_t lens[RX_BATCH];
        size_t n = 0;
        bool lost = false;

        /* Drain what is queued before any slow work, so the kernel buffer
         * empties as fast as we can read; recvmmsg takes many at once. */
        for (unsigned reads = 0; reads < DRAIN_MAX;) {
                int k = cnproc_receive_many(fd, m->rxbuf, RX_SIZE, RX_BATCH, lens);
                if (k == -EAGAIN || k == -EWOULDBLOCK)
                        break;
                if (k == -ENOBUFS) {
                        lost = true;
                        continue;
                }
                if (k < 0) {
                        log_msg(m->log, LOG_ERR, "proc connector: %s; rescanning", strerror(-k));
                        lost = true;
                        break;
                }
                reads += (unsigned) k;
                for (int i = 0; i < k; i++) {
                        if (lens[i] == -EBADMSG)
                                lost = true; /* truncated: an event we cannot read */
                        if (lens[i] < 0)
                                continue;
                        if (n == BATCH_MAX) {
                                lost = true; /* more than we keep: a rescan covers it */
                                continue;
                        }
                        int e = cnproc_parse(m->rxbuf + (size_t) i * RX_SIZE, (size_t) lens[i], m->batch + n,
                                             BATCH_MAX - n);
                        if (e > 0) {
                                n += (size_t) e;
                                m->counters.events += (uint64_t) e;
                        }
                }
                /* Fewer than asked: the queue is empty (the socket is
                 * level-triggered, so anything newer wakes us again). */
                if ((unsigned) k < RX_BATCH)
                        break;
        }
        if (lost) {
                if (!m->in_lost_burst) {
                        m->in_lost_burst = true;
                        log_event(m->log, EV_EVENTS_LOST, LOG_WARNING, NULL,
                                  "kernel dropped process events (receive buffer full); rescanning /proc");
                }
                rescan_after_loss(m);
        } else {
                m->in_lost_burst = false;
                process_batch(m, n);
        }
        storm_timer_update(m);
        return 0;
}

/* Subscribe and wait for the kernel's answer: none within the timeout means
 * we are not in the initial namespaces or the kernel lacks the connector. */
static int connector_start(Manager *m) {
        _cleanup_(closep) int fd = -1;
        int r;

        r = cnproc_open(CN_RCVBUF, &fd);
        if (r < 0) {
                m->connector_error = xasprintf("cannot open the proc connector: %s", strerror(-r));
                return r;
        }
        r = cnproc_subscribe(fd, true);
        if (r < 0) {
                m->connector_error = xasprintf("cannot subscribe to the proc connector: %s", strerror(-r));
                return r;
        }
        uint64_t deadline = now_usec() + CN_ACK_TIMEOUT_MS * 1000u;
        for (;;) {
                uint64_t now = now_usec();
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                if (now >= deadline) {
                        m->connector_error =
                                strdup("the proc connector did not answer (not the initial namespaces?)");
                        return -ETIMEDOUT;
                }
                r = poll(&pfd, 1, (int) ((deadline - now) / 1000u) + 1);
                if (r < 0 && errno != EINTR)
                        return -errno;
                if (r <= 0)
                        continue;
                char buf[4096] __attribute__((aligned(8)));
                CnEvent ev[64];
                ssize_t len = cnproc_receive(fd, buf, sizeof buf);
                if (len < 0)
                        continue;
                int k = cnproc_parse(buf, (size_t) len, ev, ELEMENTSOF(ev));
                for (int i = 0; i < k; i++)
                        if (ev[i].type == CN_EV_ACK) {
                                if (ev[i].err != 0) {
                                        m->connector_error = xasprintf("the proc connector refused us: %s",
                                                                       strerror(ev[i].err));
                                        return -ev[i].err;
                                }
                                m->cn_fd = TAKE_FD(fd);
                                return 0;
                        }
        }
}

/* ---- timers, signals, hotplug ----------------------------------------------- */

static uint64_t rescan_interval(const Manager *m) {
        unsigned s = m->config->settings.rescan;
        if (s == 0 && !m->connector)
                s = POLL_DEFAULT_SEC;
        return (uint64_t) s * 1000000u;
}

static int on_rescan_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        manager_rescan(m, m->connector ? "periodic" : "polling");
        (void) sd_event_source_set_time_relative(s, rescan_interval(m));
        return 0;
}

static void check_drift(Manager *m) {
        size_t i = 0;
        Thread *th;
        _cleanup_(freep) pid_t *reapply = calloc(thread_table_size(m->threads) + 1, sizeof(pid_t));
        size_t n_reapply = 0;

        if (!reapply)
                return;
        while ((th = thread_table_next(m->threads, &i))) {
                _cleanup_(cpuset_freep) CpuSet *cur = NULL;
                if (!th->applied)
                        continue;
                if (affinity_get(&m->aff, th->pid, th->tid, &cur) < 0)
                        continue; /* gone: the exit event or the next scan forgets it */
                if (cpuset_equal(cur, th->applied))
                        continue;
                /* A different mask may belong to a new thread with a recycled tid. */
                if (!thread_still_there(m, th)) {
                        reapply[n_reapply++] = th->tid; /* re-evaluated below: identity drops it */
                        continue;
                }
                /* Someone else changed a mask we set. */
                if (m->config->settings.drift == DRIFT_IGNORE)
                        continue;
                if (report_once(th, REPORTED_DRIFT)) {
                        _cleanup_(freep) char *cur_s = manager_fmt_cpus(cur),
                                              *app_s = manager_fmt_cpus(th->applied);
                        LogFields f;
                        thread_fields(th, &f);
                        f.cpus = app_s;
                        f.previous = cur_s;
                        f.reason = "mask changed by someone else";
                        m->counters.drift++;
                        log_event(m->log, EV_DRIFT, LOG_WARNING, &f,
                                  "%s/%s (pid %d, tid %d) was moved to CPUs %s outside pinnerd (rule %s "
                                  "wants %s)%s",
                                  th->comm, th->name, (int) th->pid, (int) th->tid, cur_s,
                                  th->rule ? th->rule : "-", app_s,
                                  m->config->settings.drift == DRIFT_REAPPLY ? "; re-applying" : "");
                }
                if (m->config->settings.drift == DRIFT_REAPPLY)
                        reapply[n_reapply++] = th->tid;
        }
        for (size_t k = 0; k < n_reapply; k++) {
                th = thread_table_get(m->threads, reapply[k]);
                if (th)
                        evaluate_one_thread(m, th->pid, th->tid, 0);
        }
}

static int on_verify_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        /* A dry run never sets a mask, so there is nothing to drift from. */
        if (!m->opt.dry_run)
                check_drift(m);
        storm_timer_update(m);
        (void) sd_event_source_set_time_relative(s, (uint64_t) m->config->settings.verify * 1000000u);
        return 0;
}

static int on_storm_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        (void) log_storm_flush(m->log, now_usec());
        storm_timer_update(m);
        return 0;
}

/* The summary timer runs only while the logger holds records back, so an
 * idle daemon has no timer at all (benchmarked: zero wakeups when idle). */
static void storm_timer_update(Manager *m) {
        uint64_t due = log_storm_deadline(m->log);

        if (!m->event)
                return;
        if (due == 0) {
                if (m->storm_timer)
                        (void) sd_event_source_set_enabled(m->storm_timer, SD_EVENT_OFF);
                return;
        }
        if (!m->storm_timer) {
                if (sd_event_add_time(m->event, &m->storm_timer, CLOCK_MONOTONIC, due, 100 * 1000,
                                      on_storm_timer, m) < 0)
                        return;
        } else
                (void) sd_event_source_set_time(m->storm_timer, due);
        (void) sd_event_source_set_enabled(m->storm_timer, SD_EVENT_ONESHOT);
}

/* (Re)arm the periodic timers for the current settings. */
static int arm_timer(Manager *m, sd_event_source **src, uint64_t interval, sd_event_time_handler_t cb) {
        int r;

        if (interval == 0) {
                if (*src)
                        (void) sd_event_source_set_enabled(*src, SD_EVENT_OFF);
                return 0;
        }
        if (!*src) {
                r = sd_event_add_time_relative(m->event, src, CLOCK_MONOTONIC, interval, 100 * 1000, cb, m);
                if (r < 0)
                        return r;
        } else
                (void) sd_event_source_set_time_relative(*src, interval);
        return sd_event_source_set_enabled(*src, SD_EVENT_ON);
}

static int arm_timers(Manager *m) {
        int r = arm_timer(m, &m->rescan_timer, rescan_interval(m), on_rescan_timer);
        if (r < 0)
                return r;
        return arm_timer(m, &m->verify_timer, (uint64_t) m->config->settings.verify * 1000000u,
                         on_verify_timer);
}

static void notify_status(Manager *m, const char *prefix) {
        (void) sd_notifyf(false, "%sSTATUS=%zu rules, %zu threads pinned, events from %s", prefix,
                          m->config->n_rules, thread_table_size(m->threads), manager_event_source(m));
}

int manager_reload(Manager *m, char **ret_summary, StrVec *ret_errors) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(strvec_done) StrVec local_errors = {0};
        StrVec *errors = ret_errors ? ret_errors : &local_errors;
        Counters before = m->counters;
        size_t before_managed = thread_table_size(m->threads);
        int r;

        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64 "\nSTATUS=reloading", now_usec());
        r = load_config(m, &c, errors);
        if (r < 0) {
                LogFields f = {.reason = errors->n ? errors->v[0] : "configuration invalid"};
                log_event(m->log, EV_RELOAD_FAILED, LOG_ERR, &f,
                          "reload rejected (%zu error%s); kept previous configuration", errors->n,
                          errors->n == 1 ? "" : "s");
                notify_status(m, "READY=1\n");
                return -EINVAL;
        }
        /* Swap, then reconcile: rules that changed are re-applied, threads no
         * rule wants any more are restored. Thread entries refer to rules by
         * name, so they survive the swap. */
        config_free(m->config);
        m->config = TAKE_PTR(c);
        manager_rescan(m, "reload");
        (void) arm_timers(m);

        uint64_t changed = m->counters.applied - before.applied;
        uint64_t restored = m->counters.restored - before.restored;
        _cleanup_(freep) char *summary =
                xasprintf("reloaded: %zu rules, %" PRIu64 " threads changed, %" PRIu64 " restored",
                          m->config->n_rules, changed, restored);
        log_event(m->log, EV_RELOADED, LOG_INFO, NULL, "%s (%zu threads managed before, %zu now)",
                  summary ? summary : "reloaded", before_managed, thread_table_size(m->threads));
        notify_status(m, "READY=1\n");
        if (ret_summary)
                *ret_summary = TAKE_PTR(summary);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        if (si->ssi_signo == SIGHUP) {
                (void) manager_reload(m, NULL, NULL);
                return 0;
        }
        log_msg(m->log, LOG_INFO, "received %s, stopping", si->ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
        return sd_event_exit(m->event, 0);
}

static int on_hotplug(sd_device_monitor *mon, sd_device *dev, void *userdata) {
        Manager *m = userdata;
        _cleanup_(freep) char *before = manager_fmt_cpus(m->host->online), *after = NULL;
        int r = host_refresh_cpus(m->host);

        if (r < 0) {
                log_msg(m->log, LOG_ERR, "CPU hotplug: cannot re-read CPUs: %s", strerror(-r));
                return 0;
        }
        after = manager_fmt_cpus(m->host->online);
        if (before && after && strcmp(before, after) == 0)
                return 0;
        log_msg(m->log, LOG_NOTICE, "online CPUs changed from %s to %s; re-planning", before, after);
        manager_rescan(m, "CPU hotplug");
        return 0;
}

/* ---- life cycle --------------------------------------------------------------- */

int manager_new(const ManagerOptions *opt, Logger *log, Manager **ret) {
        Manager *m = calloc(1, sizeof *m);
        _cleanup_(freep) char *err = NULL;
        int r;

        if (!m)
                return EXIT_RUNTIME;
        m->opt = *opt;
        m->log = log;
        m->cn_fd = -1;
        m->procfd = -1;
        m->start_usec = now_usec();

        r = host_load(opt->root, &m->host, &err);
        if (r < 0) {
                log_msg(log, LOG_ERR, "cannot read the host's CPUs below %s: %s", opt->root,
                        err ? err : strerror(-r));
                manager_free(m);
                return EXIT_RUNTIME;
        }
        m->procfd = openat(m->host->rootfd, "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (m->procfd < 0) {
                log_msg(log, LOG_ERR, "cannot open %s/proc: %m",
                        strcmp(opt->root, "/") == 0 ? "" : opt->root);
                manager_free(m);
                return EXIT_RUNTIME;
        }
        m->aff = (Affinity){
                .procfd = m->procfd,
                .bytes = m->host->affinity_bytes,
                .dry_run = opt->dry_run,
                .from_status = strcmp(opt->root, "/") != 0,
        };
        r = load_config(m, &m->config, NULL);
        if (r < 0) {
                log_msg(log, LOG_ERR, "configuration rejected; not starting");
                manager_free(m);
                return EXIT_CONFIG;
        }
        m->threads = thread_table_new();
        m->batch = calloc(BATCH_MAX, sizeof(CnEvent));
        m->rxbuf = aligned_alloc(8, RX_BATCH * RX_SIZE);
        if (!m->threads || !m->batch || !m->rxbuf) {
                manager_free(m);
                return EXIT_RUNTIME;
        }
        *ret = m;
        return 0;
}

int manager_start(Manager *m) {
        _cleanup_(freep) char *online = NULL, *isolated = NULL;
        int r;

        r = sd_event_default(&m->event);
        if (r < 0) {
                log_msg(m->log, LOG_ERR, "cannot create the event loop: %s", strerror(-r));
                return EXIT_RUNTIME;
        }

        /* Subscribe before the scan, so nothing started in between is missed. */
        if (!m->opt.once && strcmp(m->opt.root, "/") == 0) {
                r = connector_start(m);
                m->connector = r >= 0;
                if (!m->connector)
                        log_msg(m->log, LOG_WARNING, "%s; polling /proc every %u s instead",
                                m->connector_error ? m->connector_error : "no proc connector",
                                m->config->settings.rescan ? m->config->settings.rescan : POLL_DEFAULT_SEC);
        }

        manager_rescan(m, "start");
        online = manager_fmt_cpus(m->host->online);
        isolated = manager_fmt_cpus(m->host->isolated);
        log_event(m->log, EV_STARTED, LOG_INFO, NULL,
                  "pinnerd %s started: %zu rules, %zu threads managed, online CPUs %s, isolated %s, events "
                  "from %s%s",
                  PINNERD_VERSION, m->config->n_rules, thread_table_size(m->threads), online,
                  isolated && *isolated ? isolated : "none", manager_event_source(m),
                  m->opt.dry_run ? " (dry run)" : "");
        if (m->opt.once)
                return 0;

        sigset_t ss;
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGHUP);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        if ((r = sd_event_add_signal(m->event, &m->sig_term, SIGTERM, on_signal, m)) < 0 ||
            (r = sd_event_add_signal(m->event, &m->sig_int, SIGINT, on_signal, m)) < 0 ||
            (r = sd_event_add_signal(m->event, &m->sig_hup, SIGHUP, on_signal, m)) < 0) {
                log_msg(m->log, LOG_ERR, "cannot watch signals: %s", strerror(-r));
                return EXIT_RUNTIME;
        }
        if (m->connector) {
                r = sd_event_add_io(m->event, &m->cn_source, m->cn_fd, EPOLLIN, on_connector, m);
                if (r < 0) {
                        log_msg(m->log, LOG_ERR, "cannot watch the proc connector: %s", strerror(-r));
                        return EXIT_RUNTIME;
                }
                /* Events outrank the control socket and timers. */
                (void) sd_event_source_set_priority(m->cn_source, SD_EVENT_PRIORITY_IMPORTANT);
        }
        r = arm_timers(m);
        if (r < 0) {
                log_msg(m->log, LOG_ERR, "cannot arm timers: %s", strerror(-r));
                return EXIT_RUNTIME;
        }
        storm_timer_update(m);

        if (strcmp(m->opt.root, "/") == 0) {
                r = sd_device_monitor_new(&m->hotplug);
                if (r >= 0)
                        r = sd_device_monitor_filter_add_match_subsystem_devtype(m->hotplug, "cpu", NULL);
                if (r >= 0)
                        r = sd_device_monitor_attach_event(m->hotplug, m->event);
                if (r >= 0)
                        r = sd_device_monitor_start(m->hotplug, on_hotplug, m);
                if (r < 0) {
                        log_msg(m->log, LOG_WARNING, "no CPU hotplug events (%s); a rescan picks changes up",
                                strerror(-r));
                        m->hotplug = sd_device_monitor_unref(m->hotplug);
                }
        }

        if (m->opt.socket_path) {
                _cleanup_(freep) char *err = NULL;
                r = ctl_server_new(m->event, m->opt.socket_path, manager_ctl_handler, m, &m->ctl, &err);
                if (r < 0) {
                        log_msg(m->log, LOG_ERR, "control socket %s: %s", m->opt.socket_path,
                                err ? err : strerror(-r));
                        return EXIT_RUNTIME;
                }
        }

        /* Keeps systemd's watchdog fed when WATCHDOG_USEC is set. */
        (void) sd_event_set_watchdog(m->event, true);
        notify_status(m, "READY=1\n");
        return 0;
}

int manager_run(Manager *m) {
        int r = sd_event_loop(m->event);
        if (r < 0) {
                log_msg(m->log, LOG_ERR, "event loop failed: %s", strerror(-r));
                return EXIT_RUNTIME;
        }
        return m->exit_code;
}

void manager_stop(Manager *m) {
        size_t i = 0, n = 0;
        Thread *th;

        (void) sd_notify(false, "STOPPING=1\nSTATUS=stopping: restoring masks");
        if (m->config && m->config->settings.restore && m->threads) {
                while ((th = thread_table_next(m->threads, &i)))
                        if (restore_thread(m, th, "pinnerd stopping"))
                                n++;
        }
        log_event(m->log, EV_STOPPING, LOG_INFO, NULL, "pinnerd stopping: %zu threads managed, %zu restored",
                  m->threads ? thread_table_size(m->threads) : 0, n);
}

void manager_free(Manager *m) {
        if (!m)
                return;
        ctl_server_free(m->ctl);
        sd_device_monitor_unref(m->hotplug);
        sd_event_source_unref(m->cn_source);
        sd_event_source_unref(m->rescan_timer);
        sd_event_source_unref(m->verify_timer);
        sd_event_source_unref(m->storm_timer);
        sd_event_source_unref(m->lost_timer);
        sd_event_source_unref(m->sig_term);
        sd_event_source_unref(m->sig_int);
        sd_event_source_unref(m->sig_hup);
        sd_event_unref(m->event);
        if (m->cn_fd >= 0)
                close(m->cn_fd);
        cpuset_cache_clear(m);
        free(m->batch);
        free(m->rxbuf);
        free(m->connector_error);
        thread_table_free(m->threads);
        strvec_done(&m->rule_names);
        intmap_done(&m->dropped_reported);
        config_free(m->config);
        if (m->procfd >= 0)
                close(m->procfd);
        host_free(m->host);
        free(m);
}
