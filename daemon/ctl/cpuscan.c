/* SPDX-License-Identifier: MIT */
/* The census behind `cpus` and `audit` (cpuscan.h). */
#include "ctl/cpuscan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctlproto.h"
#include "kernel/irq.h"
#include "kernel/workqueue.h"
#include "lib/output.h"
#include "rules/decide.h"

/* ---- pure classification ---- */

static char *fmt(const CpuSet *s) {
        return s ? cpuset_format_list(s) : strdup("-");
}

TaskClass cpuscan_task_class(const TaskInfo *t, char **ret_why) {
        _cleanup_(freep) char *m = fmt(t->mask);
        bool narrowed = t->online && t->mask && !cpuset_subset(t->online, t->mask);
        TaskClass movable = t->kthread ? TASK_KTHREAD : TASK_OTHER;

        *ret_why = NULL;
        /* An IRQ thread runs where its IRQ is delivered: the kernel moves it
         * with the IRQ, whatever its mask says. */
        if (t->kthread && t->irq >= 0 && t->irq_state != IRQ_STATE_AWAY) {
                switch (t->irq_state) {
                case IRQ_STATE_UNMOVABLE:
                        *ret_why = xasprintf("IRQ %d's thread: it follows its IRQ, which cannot move (%s)",
                                             t->irq, t->irq_why ? t->irq_why : "?");
                        return TASK_FIXED;
                case IRQ_STATE_PENDING:
                        *ret_why =
                                xasprintf("IRQ %d's thread: it follows its IRQ, which moves off at its next "
                                          "interrupt",
                                          t->irq);
                        return TASK_MOVING;
                case IRQ_STATE_OWNED:
                        *ret_why = xasprintf("IRQ %d's thread: it follows its IRQ (%s)", t->irq,
                                             t->irq_why ? t->irq_why : "?");
                        return TASK_OWNER;
                default:
                        *ret_why = xasprintf(
                                "IRQ %d's thread: it follows its IRQ, which may be delivered there (%s)",
                                t->irq, t->irq_why ? t->irq_why : "?");
                        return TASK_KTHREAD;
                }
        }
        if (t->kthread && t->no_setaffinity) {
                const char *n = t->name ? t->name : "";
                *ret_why = strdup(
                        strncmp(n, "kworker/u", 9) == 0
                                ? "an unbound workqueue worker: it runs where the workqueue cpumask lets it"
                        : strncmp(n, "kworker/R-", 10) == 0
                                ? "a workqueue rescuer: the kernel runs it on whichever CPU needs it"
                        : strncmp(n, "kworker/", 8) == 0
                                ? "a per-CPU workqueue worker: the kernel keeps it on its CPU"
                                : "a per-CPU kernel thread: the kernel keeps it there (PF_NO_SETAFFINITY)");
                return TASK_FIXED;
        }
        if (t->rule && t->applied) {
                /* The kernel may have narrowed what the rule set (a cpuset). */
                if (t->mask && cpuset_subset(t->mask, t->applied))
                        return TASK_OWNER;
                _cleanup_(freep) char *a = fmt(t->applied);
                if (t->dry_run)
                        *ret_why = xasprintf("rule %s would set CPUs %s (a dry run changes nothing)", t->rule,
                                             a ? a : "?");
                else
                        *ret_why = xasprintf("moved to CPUs %s by someone else (rule %s set %s)", m ? m : "?",
                                             t->rule, a ? a : "?");
                return movable;
        }
        if (t->rule) {
                if (t->avoid_rule && narrowed)
                        *ret_why = xasprintf(
                                "its owner narrowed it to CPUs %s, and rule %s (avoid) never widens a "
                                "mask: %s",
                                m ? m : "?", t->rule, t->skip_reason ? t->skip_reason : "no CPU left");
                else
                        *ret_why = xasprintf("rule %s leaves it as it is: %s", t->rule,
                                             t->skip_reason ? t->skip_reason : "no CPU left");
                return movable;
        }
        if (t->kthread)
                *ret_why = strdup("no kthreads = yes rule takes it");
        else if (narrowed)
                *ret_why = xasprintf("no rule matches it; its owner narrowed it to CPUs %s", m ? m : "?");
        else
                *ret_why = strdup("no rule matches it");
        return movable;
}

static bool meets(const CpuSet *a, const CpuSet *b) {
        if (!a || !b)
                return false;
        for (int c = cpuset_next(a, -1); c >= 0; c = cpuset_next(a, c))
                if (cpuset_has(b, (unsigned) c))
                        return true;
        return false;
}

IrqState cpuscan_irq_state(const IrqInfo *q, const CpuSet *on, char **ret_why) {
        _cleanup_(freep) char *req = fmt(q->requested), *eff = fmt(q->effective);
        bool asked = meets(q->requested, on), lands = meets(q->effective, on);

        *ret_why = NULL;
        if (!asked && !lands)
                return IRQ_STATE_AWAY;
        if (q->unmovable_errno) {
                *ret_why = strdup(irq_unmovable_reason(q->unmovable_errno));
                return IRQ_STATE_UNMOVABLE;
        }
        if (q->rule && q->rule_places && q->applied && cpuset_subset(q->requested, q->applied)) {
                *ret_why = xasprintf("rule %s puts it there", q->rule);
                return IRQ_STATE_OWNED;
        }
        if (!asked) {
                *ret_why = xasprintf("requested off (CPUs %s); delivered on CPUs %s until its next interrupt",
                                     req ? req : "?", eff ? eff : "?");
                return IRQ_STATE_PENDING;
        }
        if (q->rule && q->applied && !cpuset_equal(q->requested, q->applied)) {
                _cleanup_(freep) char *a = fmt(q->applied);
                if (q->dry_run)
                        *ret_why = xasprintf("rule %s would write CPUs %s (a dry run changes nothing)",
                                             q->rule, a ? a : "?");
                else
                        *ret_why = xasprintf("moved to CPUs %s by someone else (rule %s wrote %s)",
                                             req ? req : "?", q->rule, a ? a : "?");
        } else if (q->rule && q->skip_reason)
                *ret_why = xasprintf("rule %s leaves it as it is: %s", q->rule, q->skip_reason);
        else if (q->rule)
                *ret_why = xasprintf("rule %s lets it use CPUs %s", q->rule, req ? req : "?");
        else
                *ret_why = strdup("no IRQ rule takes it");
        return IRQ_STATE_INTRUDER;
}

const char *cpuscan_irq_state_name(IrqState s) {
        switch (s) {
        case IRQ_STATE_OWNED:
                return "owned";
        case IRQ_STATE_UNMOVABLE:
                return "cannot move";
        case IRQ_STATE_PENDING:
                return "moving";
        case IRQ_STATE_INTRUDER:
                return "intruder";
        case IRQ_STATE_AWAY:
        default:
                return "away";
        }
}

/* ---- arguments ---- */

int cpuscan_parse_cpus(const Manager *m, const char *arg, CpuSet **ret, OutBuf *err) {
        CpuSetError e = {0};
        CpuSet *s = NULL;

        if (strcmp(arg, "all") == 0)
                s = cpuset_dup(m->rc.host->online);
        else if (cpuset_parse_list(arg, &s, &e) < 0) {
                outbuf_puts(err, "not a CPU list (like 2-3,8, or all): '");
                text_escape_append(err, arg, strlen(arg));
                outbuf_puts(err, "'\n");
                return -EINVAL;
        }
        if (!s)
                return -ENOMEM;
        if (cpuset_empty(s) || !cpuset_subset(s, m->rc.host->possible)) {
                _cleanup_(freep) char *p = fmt(m->rc.host->possible);
                outbuf_puts(err, "no such CPU on this host: '");
                text_escape_append(err, arg, strlen(arg));
                outbuf_printf(err, "' (possible CPUs: %s)\n", p ? p : "?");
                cpuset_free(s);
                return -EINVAL;
        }
        *ret = s;
        return 0;
}

int cpuscan_parse_sample(const char *arg, uint64_t *ret_usec, OutBuf *err) {
        unsigned v;

        if (arg[strspn(arg, "0123456789")] != '\0' || parse_uint(arg, &v) < 0 || v > CPUSCAN_MAX_SAMPLE_SEC) {
                outbuf_puts(err, "--sample takes whole seconds from 0 to 60: '");
                text_escape_append(err, arg, strlen(arg));
                outbuf_puts(err, "'\n");
                return -EINVAL;
        }
        *ret_usec = (uint64_t) v * 1000000u;
        return 0;
}

/* ---- the job ---- */

static void scan_process_done(CpuScan *s);

int cpuscan_init(CpuScan *s, Manager *m, const CtlRequest *req, const CpuSet *cpus, bool keep_tasks,
                 uint64_t sample_usec) {
        unsigned nr = m->rc.host->nr_cpu_ids;

        *s = (CpuScan){.keep_tasks = keep_tasks, .sample_usec = sample_usec, .nr = nr};
        s->cpus = cpuset_dup(cpus);
        s->count = calloc(nr ? nr : 1, sizeof *s->count);
        s->rules_on = calloc(nr ? nr : 1, sizeof *s->rules_on);
        s->n_rules_on = calloc(nr ? nr : 1, sizeof *s->n_rules_on);
        if (!s->cpus || !s->count || !s->rules_on || !s->n_rules_on)
                return -ENOMEM;
        peer_view_init(&s->peer, m->rc.procfd, req->peer);
        s->privileged = req->privileged;
        return 0;
}

void cpuscan_done(CpuScan *s) {
        cpuset_free(s->cpus);
        cpustat_sample_done(&s->a);
        cpustat_sample_done(&s->b);
        free(s->pids);
        free(s->count);
        for (unsigned c = 0; s->rules_on && c < s->nr; c++)
                free(s->rules_on[c]);
        free(s->rules_on);
        free(s->n_rules_on);
        for (size_t i = 0; i < s->n_tasks; i++) {
                free(s->tasks[i].mask);
                free(s->tasks[i].why);
        }
        free(s->tasks);
        for (size_t i = 0; i < s->n_irqs; i++) {
                free(s->irqs[i].actions);
                cpuset_free(s->irqs[i].requested);
                cpuset_free(s->irqs[i].effective);
                free(s->irqs[i].why);
                free(s->irqs[i].rule);
        }
        free(s->irqs);
        for (size_t i = 0; i < s->n_wqs; i++) {
                free(s->wqs[i].name);
                cpuset_free(s->wqs[i].mask);
                free(s->wqs[i].why);
        }
        free(s->wqs);
        cpuset_free(s->wq_effective);
        scan_process_done(s);
        *s = (CpuScan){0};
}

static int count_rule(CpuScan *s, unsigned cpu, const char *rule) {
        struct RuleCount *v = s->rules_on[cpu];
        size_t n = s->n_rules_on[cpu];

        for (size_t i = 0; i < n; i++)
                if (v[i].rule == rule) {
                        v[i].n++;
                        return 0;
                }
        v = reallocarray(v, n + 1, sizeof *v);
        if (!v)
                return -ENOMEM;
        v[n] = (struct RuleCount){rule, 1};
        s->rules_on[cpu] = v;
        s->n_rules_on[cpu]++;
        return 0;
}

static int keep_task(CpuScan *s, pid_t pid, pid_t tid, const char *comm, const char *thread,
                     const CpuSet *mask, const char *rule, TaskClass cls, char **why) {
        if (s->n_tasks == s->cap_tasks) {
                size_t nc = s->cap_tasks ? s->cap_tasks * 2 : 64;
                TaskSeen *nv = reallocarray(s->tasks, nc, sizeof *nv);
                if (!nv)
                        return -ENOMEM;
                s->tasks = nv;
                s->cap_tasks = nc;
        }
        TaskSeen *t = &s->tasks[s->n_tasks];
        *t = (TaskSeen){.pid = pid, .tid = tid, .rule = rule, .cls = cls, .why = TAKE_PTR(*why)};
        snprintf(t->comm, sizeof t->comm, "%s", comm);
        snprintf(t->thread, sizeof t->thread, "%s", thread);
        t->mask = fmt(mask);
        if (!t->mask) {
                free(t->why);
                return -ENOMEM;
        }
        s->n_tasks++;
        return 0;
}

/* Why an unmanaged task is not taken by any rule, when a rule excludes it
 * on purpose ("excluded by rule shield: cgroup ... is excluded by '!...'"). */
static char *excluded_by(Manager *m, const ProcFacts *p, pid_t tid, const char *thread) {
        _cleanup_(strvec_done) StrVec why = {0};
        TaskFacts f;

        facts_task_view(p, tid, thread, &f);
        (void) decide_rule(m->rc.config, &f, &why);
        for (size_t i = 0; i < why.n; i++)
                if (strstr(why.v[i], "is excluded by '!"))
                        return strdup(why.v[i]);
        return NULL;
}

static const IrqSeen *irq_seen(const CpuScan *s, unsigned irq) {
        for (size_t i = 0; i < s->n_irqs; i++)
                if (s->irqs[i].irq == irq)
                        return &s->irqs[i];
        return NULL;
}

/* The process the census is in (cur_*), let go of. */
static void scan_process_done(CpuScan *s) {
        /* cur_fd is only ever open while cur_pid is set (a zeroed scan has 0). */
        if (s->cur_pid > 0 && s->cur_fd >= 0)
                close(s->cur_fd);
        s->cur_fd = -1;
        s->cur_n = s->cur_k = 0;
        s->cur_pid = 0;
        proc_facts_done(&s->cur_facts);
        s->cur_facts = (ProcFacts){0};
        s->cur_have_facts = false;
}

/* Look at the next pid: its threads become the walk's. false when it is
 * gone or the peer may not see it. */
static bool scan_process_begin(CpuScan *s, Manager *m, pid_t pid) {
        scan_process_done(s);
        if (!peer_may_see(&s->peer, pid) || procfs_read_stat(m->rc.procfd, pid, pid, &s->cur_leader) < 0 ||
            (s->cur_fd = procfs_tids_open(m->rc.procfd, pid)) < 0)
                return false;
        s->cur_pid = pid;
        return true;
}

/* The threads of the current process, until they are done (0) or the
 * slice that began at t0 is (1): a process of any user may have tens of
 * thousands of threads, each a few reads of /proc, and listing them all at
 * once is itself tens of ms, so they are listed a piece at a time too. */
static int scan_process(CpuScan *s, Manager *m, uint64_t t0) {
        pid_t pid = s->cur_pid;
        const pid_t *tids = s->cur_tids;
        unsigned done = 0;
        int r;

        for (;;) {
                _cleanup_(cpuset_freep) CpuSet *mask = NULL;
                _cleanup_(freep) char *why = NULL;
                TaskStat ts;

                /* Each slice does some: a clock read costs as much as a thread. */
                if (done > 0 && (done & 15) == 0 && now_usec() - t0 >= CTL_STEP_BUDGET_USEC)
                        return 1;
                done++;
                if (s->cur_k == s->cur_n) {
                        /* The next piece of the list; gone meanwhile: done. */
                        s->cur_k = s->cur_n = 0;
                        if (s->cur_fd < 0 ||
                            procfs_tids_next(s->cur_fd, s->cur_tids, ELEMENTSOF(s->cur_tids), &s->cur_n) <= 0)
                                return 0;
                        continue;
                }
                size_t k = s->cur_k;
                if (!s->privileged && s->threads_seen >= CPUSCAN_UNPRIV_THREADS) {
                        s->truncated = true;
                        return 0;
                }
                s->cur_k++;

                if (procfs_read_stat(m->rc.procfd, pid, tids[k], &ts) < 0 ||
                    affinity_get(&m->rc.aff, pid, tids[k], &mask) < 0)
                        continue;
                const Thread *th = thread_table_get(m->rc.threads, tids[k]);
                if (th && (th->start != ts.starttime || th->pid != pid))
                        th = NULL;
                const Rule *rule = th && th->rule ? config_find_rule(m->rc.config, th->rule) : NULL;
                unsigned irq;
                const IrqSeen *q = NULL;
                if ((ts.flags & PROC_PF_KTHREAD) && sscanf(ts.comm, "irq/%u-", &irq) == 1)
                        q = irq_seen(s, irq);
                TaskInfo info = {
                        .irq = q ? (int) q->irq : -1,
                        .irq_state = q ? q->state : IRQ_STATE_AWAY,
                        .irq_why = q ? q->why : NULL,
                        .kthread = ts.flags & PROC_PF_KTHREAD,
                        .no_setaffinity = ts.flags & PROC_PF_NO_SETAFFINITY,
                        .name = ts.comm,
                        .mask = mask,
                        .online = m->rc.host->online,
                        .rule = th ? th->rule : NULL,
                        .applied = th ? th->applied : NULL,
                        .skip_reason = th ? th->skip_reason : NULL,
                        .avoid_rule = rule && rule->avoid,
                        .dry_run = m->rc.dry_run,
                };
                TaskClass cls = cpuscan_task_class(&info, &why);
                s->threads_seen++;
                for (int c = cpuset_next(mask, -1); c >= 0 && (unsigned) c < s->nr;
                     c = cpuset_next(mask, c)) {
                        s->count[c][cls]++;
                        if (cls == TASK_OWNER && th->rule && count_rule(s, (unsigned) c, th->rule) < 0)
                                return -ENOMEM;
                }
                if (!s->keep_tasks || !meets(mask, s->cpus))
                        continue;
                /* A rule that excludes it on purpose says more than "no rule". */
                if ((cls == TASK_OTHER || cls == TASK_KTHREAD) && !th && !q) {
                        if (!s->cur_have_facts)
                                s->cur_have_facts = facts_read_process(&m->rc.facts, m->rc.config, pid, true,
                                                                       &s->cur_facts) >= 0;
                        _cleanup_(freep) char *ex =
                                s->cur_have_facts ? excluded_by(m, &s->cur_facts, tids[k], ts.comm) : NULL;
                        if (ex) {
                                free(why);
                                why = TAKE_PTR(ex);
                        }
                }
                r = keep_task(s, pid, tids[k], s->cur_leader.comm, ts.comm, mask, th ? th->rule : NULL, cls,
                              &why);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int scan_irqs(CpuScan *s, Manager *m) {
        _cleanup_(interrupts_freep) Interrupts *t = NULL;
        int r = irq_read_interrupts(m->rc.host->root, &t);

        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0; /* no /proc/interrupts: no IRQ rows */
        s->irqs = calloc(t->n_rows + 1, sizeof *s->irqs);
        if (!s->irqs)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_rows; i++) {
                const IrqRow *row = &t->rows[i];
                IrqSeen *q = &s->irqs[s->n_irqs];
                if (!row->numbered ||
                    irq_read_affinity(m->rc.host->root, row->irq, &q->requested, &q->effective) < 0)
                        continue;
                const IrqEntry *e = irqs_find(&m->irqs, row->irq);
                const Rule *rule = e && e->rule ? config_find_rule(m->rc.config, e->rule) : NULL;
                IrqInfo info = {
                        .requested = q->requested,
                        .effective = q->effective,
                        .rule = e ? e->rule : NULL,
                        .rule_places = rule && !rule->avoid,
                        .applied = e ? e->m.applied : NULL,
                        .skip_reason = e ? e->m.skip_reason : NULL,
                        .unmovable_errno = e ? e->unmovable_errno : 0,
                        .dry_run = m->rc.dry_run,
                };
                q->irq = row->irq;
                q->actions = strdup(row->actions ? row->actions : "");
                q->rule = e && e->rule ? strdup(e->rule) : NULL;
                q->unmovable = e && e->unmovable_errno;
                q->state = cpuscan_irq_state(&info, s->cpus, &q->why);
                s->n_irqs++;
        }
        return 0;
}

static int add_wq(CpuScan *s, Manager *m, const char *name) {
        CpuSet *mask = NULL;
        const WqEntry *e = NULL;

        if (wq_read_mask(m->rc.host->root, name, &mask) < 0)
                return 0;
        for (size_t i = 0; i < m->wqs.n; i++)
                if (strcmp(m->wqs.v[i].name, name) == 0)
                        e = &m->wqs.v[i];
        const Rule *rule = m->wqs.rule ? config_find_rule(m->rc.config, m->wqs.rule) : NULL;
        WqSeen *w = &s->wqs[s->n_wqs];
        *w = (WqSeen){.name = strdup(name), .mask = mask};
        w->managed = e && e->m.applied;
        w->owned = w->managed && rule && !rule->avoid && cpuset_subset(mask, e->m.applied);
        if (!w->owned && meets(mask, s->cpus)) {
                _cleanup_(freep) char *a = e ? fmt(e->m.applied) : NULL, *cur = fmt(mask);
                if (e && e->refused_errno)
                        w->why = xasprintf("the kernel refuses its mask: %s", strerror(e->refused_errno));
                else if (e && e->m.skip_reason)
                        w->why = xasprintf("rule %s leaves it as it is: %s", m->wqs.rule, e->m.skip_reason);
                else if (w->managed && !cpuset_equal(mask, e->m.applied))
                        w->why = m->rc.dry_run
                                         ? xasprintf("rule %s would set CPUs %s (a dry run changes nothing)",
                                                     m->wqs.rule, a ? a : "?")
                                         : xasprintf("changed to CPUs %s by someone else (rule %s wrote %s)",
                                                     cur ? cur : "?", m->wqs.rule, a ? a : "?");
                else if (w->managed)
                        w->why = xasprintf("rule %s lets it use these CPUs", m->wqs.rule);
                else
                        w->why = strdup("no workqueues rule takes it");
        }
        s->n_wqs++;
        return w->name ? 0 : -ENOMEM;
}

static int scan_workqueues(CpuScan *s, Manager *m) {
        _cleanup_(strvec_done) StrVec names = {0};
        int r;

        (void) wq_read_effective(m->rc.host->root, &s->wq_effective);
        r = wq_list(m->rc.host->root, &names);
        if (r == -ENOMEM)
                return r;
        s->wqs = calloc(names.n + 2, sizeof *s->wqs);
        if (!s->wqs)
                return -ENOMEM;
        r = add_wq(s, m, WQ_GLOBAL);
        for (size_t i = 0; r >= 0 && i < names.n; i++)
                r = add_wq(s, m, names.v[i]);
        return r;
}

int cpuscan_step(CpuScan *s, Manager *m, CtlReply *reply) {
        uint64_t t0 = now_usec();
        int r;

        switch (s->phase) {
        case SCAN_START:
                r = cpustat_sample(m->rc.host->root, &s->a);
                if (r < 0)
                        return r;
                r = procfs_list_pids(m->rc.procfd, &s->pids, &s->n_pids);
                if (r < 0)
                        return r;
                s->phase = SCAN_IRQS;
                return 1;
        case SCAN_IRQS:
                /* IRQs before tasks: an IRQ thread goes where its IRQ goes. */
                r = scan_irqs(s, m);
                if (r >= 0)
                        r = scan_workqueues(s, m);
                if (r < 0)
                        return r;
                s->phase = SCAN_TASKS;
                return 1;
        case SCAN_TASKS:
                for (;;) {
                        if (s->cur_pid > 0) {
                                r = scan_process(s, m, t0);
                                if (r != 0)
                                        return r;
                                scan_process_done(s);
                        }
                        if (s->truncated || s->next_pid >= s->n_pids)
                                break;
                        if (!s->privileged && s->threads_seen >= CPUSCAN_UNPRIV_THREADS) {
                                s->truncated = true;
                                break;
                        }
                        if (now_usec() - t0 >= CTL_STEP_BUDGET_USEC)
                                return 1;
                        (void) scan_process_begin(s, m, s->pids[s->next_pid++]);
                }
                s->phase = SCAN_WAIT;
                s->due_usec = s->a.usec + s->sample_usec;
                return 1;
        case SCAN_WAIT:
                if (s->sample_usec > 0 && now_usec() < s->due_usec) {
                        reply->step_delay_usec = s->due_usec - now_usec();
                        return 1;
                }
                if (s->sample_usec > 0) {
                        r = cpustat_sample(m->rc.host->root, &s->b);
                        if (r < 0)
                                return r;
                }
                s->phase = SCAN_DONE;
                return 0;
        case SCAN_DONE:
        default:
                return 0;
        }
}

/* ---- the verbs ---- */

typedef struct CpuScanJob {
        CpuScan scan;
        const CpuScanVerb *verb;
        bool json;
        bool scanned;
        CpuScanOut out;
} CpuScanJob;

static void job_free(void *p) {
        CpuScanJob *j = p;
        if (!j)
                return;
        cpuscan_done(&j->scan);
        table_done(&j->out.table);
        free(j);
}

static void job_freep(CpuScanJob **j) {
        job_free(*j);
}

static int job_step(void *userdata, void *state, CtlReply *reply) {
        Manager *m = userdata;
        CpuScanJob *j = state;
        uint64_t t0 = now_usec();

        if (!j->scanned) {
                int r = cpuscan_step(&j->scan, m, reply);
                if (r != 0)
                        return r;
                j->scanned = true;
        }
        return (j->json ? j->verb->json : j->verb->text)(m, &j->scan, &j->out, reply, t0);
}

int cpuscan_verb(Manager *m, const CtlRequest *req, CtlReply *reply, const CpuScanVerb *v) {
        _cleanup_(job_freep) CpuScanJob *j = calloc(1, sizeof *j);
        _cleanup_(cpuset_freep) CpuSet *cpus = NULL;
        uint64_t sample = 1000000;
        const char *cpus_arg = NULL;
        bool extra = false;

        if (!j)
                return -ENOMEM;
        for (size_t i = 0; i < req->n_args; i++) {
                const char *a = req->args[i];
                if (strncmp(a, "sample=", 7) == 0) {
                        if (cpuscan_parse_sample(a + 7, &sample, &reply->err) < 0) {
                                reply->exit_code = CTL_EXIT_USAGE;
                                return 0;
                        }
                } else if (!cpus_arg)
                        cpus_arg = a;
                else
                        extra = true;
        }
        if (extra || (v->cpus_required && (!cpus_arg || !*cpus_arg))) {
                outbuf_puts(&reply->err, v->usage);
                reply->exit_code = CTL_EXIT_USAGE;
                return 0;
        }
        if (cpus_arg) {
                if (cpuscan_parse_cpus(m, cpus_arg, &cpus, &reply->err) < 0) {
                        reply->exit_code = CTL_EXIT_USAGE;
                        return 0;
                }
        } else if (!(cpus = cpuset_dup(m->rc.host->possible)))
                return -ENOMEM;
        int r = cpuscan_init(&j->scan, m, req, cpus, v->keep_tasks, sample);
        if (r < 0)
                return r;
        j->verb = v;
        j->json = req->json;
        reply->step = job_step;
        reply->step_free = job_free;
        reply->step_state = TAKE_PTR(j);
        return 0;
}
