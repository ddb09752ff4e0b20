/* SPDX-License-Identifier: MIT */
/* `pinnerctl explain PID`: for each thread, which rule matched and why the
 * others did not, and the mask at each step. It asks decide.c exactly what
 * the event loop asks, so the two cannot disagree. Threads are explained a
 * slice at a time (CtlReply.step); a non-root peer gets at most
 * EXPLAIN_UNPRIV_THREADS of them, sees only processes it could see itself,
 * and never a fact it could not read itself (exe is "withheld"). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctlproto.h"
#include "ctl/explain.h"
#include "ctl/irqview.h"
#include "rules/decide.h"
#include "core/manager-internal.h"
#include "lib/output.h"
#include "ctl/peer.h"
#include "kernel/procfs.h"

#define EXPLAIN_UNPRIV_THREADS 256

typedef struct ExplainJob {
        ProcFacts p;
        DIR *task; /* PID/task, read a slice at a time: a process may have 100,000 threads */
        size_t limit, shown;
        bool json;
        bool exe_withheld;
        JsonWriter w;
} ExplainJob;

static void explain_job_free(void *state) {
        ExplainJob *j = state;
        if (!j)
                return;
        proc_facts_done(&j->p);
        if (j->task)
                closedir(j->task);
        free(j);
}

static void explain_job_freep(ExplainJob **j) {
        explain_job_free(*j);
}

/* "exe '/path' does not match ..." → "exe (withheld) does not match ...". */
static char *withhold(const char *line, const char *exe) {
        _cleanup_(freep) char *esc = exe ? conf_escape(exe, 4096) : NULL;
        _cleanup_(freep) char *quoted = esc ? xasprintf("'%s'", esc) : NULL;
        const char *at = quoted ? strstr(line, quoted) : NULL;

        if (!at)
                return strdup(line);
        return xasprintf("%.*s(withheld)%s", (int) (at - line), line, at + strlen(quoted));
}

/* Tgid of a tid, from its status file; -ESRCH when it is gone. */
static int tgid_of(int procfd, pid_t tid, pid_t *ret) {
        char buf[4096];
        uint32_t v;
        size_t n;

        if (procfs_read_status(procfd, tid, buf, sizeof buf) < 0)
                return -ESRCH;
        if (procfs_parse_status_ids(buf, "Tgid", &v, 1, &n) < 0 || n != 1)
                return -EBADMSG;
        *ret = (pid_t) v;
        return 0;
}

static void explain_one(Manager *m, ExplainJob *j, pid_t tid, OutBuf *o) {
        _cleanup_(strvec_done) StrVec why = {0};
        _cleanup_(cpuset_freep) CpuSet *current = NULL, *cpuset = NULL;
        _cleanup_(decision_done) Decision d = {0};
        _cleanup_(freep) unsigned *load = NULL;
        unsigned n_load = 0;
        const Thread *entry;
        TaskStat ts;
        TaskFacts f;
        bool planned = false;

        if (facts_read_thread(&m->rc.facts, &j->p, tid, &ts) < 0)
                return; /* gone since the listing */
        facts_task_view(&j->p, tid, ts.comm, &f);
        const Rule *rule = decide_rule(m->rc.config, &f, &why);
        (void) affinity_get(&m->rc.aff, j->p.stat.pid, tid, &current);
        entry = thread_table_get(m->rc.threads, tid);
        if (entry && entry->start != ts.starttime)
                entry = NULL;
        if (rule) {
                const CpuSet *cs = NULL;
                if (facts_thread_cpuset(&m->rc.facts, &j->p, tid, &cs) >= 0 && cs)
                        cpuset = cpuset_dup(cs);
                /* The same placement the loop makes: a held CPU is kept. */
                if (rule->spread) {
                        bool holds = entry && entry->rule && strcmp(entry->rule, rule->name) == 0;
                        (void) reconcile_spread_load(&m->rc, j->p.stat.pid, rule, tid,
                                                     holds ? entry->spread_cpu : -1, &load, &n_load);
                }
                const CpuSet *base =
                        rule->avoid ? thread_table_base_mask(m->rc.threads, entry, j->p.stat.pid, current)
                                    : NULL;
                planned = decide_thread(m->rc.host, rule, entry != NULL, cpuset, load, n_load, ts.comm, base,
                                        &d) >= 0;
        }
        if (j->exe_withheld)
                for (size_t k = 0; k < why.n; k++) {
                        char *w = withhold(why.v[k], j->p.exe);
                        if (w) {
                                free(why.v[k]);
                                why.v[k] = w;
                        }
                }

        _cleanup_(freep) char *cur = fmt_cpus(current), *orig = entry ? fmt_cpus(entry->original) : NULL,
                              *req = planned ? fmt_cpus(d.plan.requested) : NULL,
                              *cs_s = planned ? fmt_cpus(cpuset) : NULL,
                              *a = planned ? fmt_cpus(d.plan.in_cpuset) : NULL,
                              *b = planned ? fmt_cpus(d.plan.in_online) : NULL,
                              *eff = planned ? fmt_cpus(d.plan.effective) : NULL,
                              *online = fmt_cpus(m->rc.host->online),
                              *isolated = fmt_cpus(m->rc.host->isolated), *iso_src = fmt_isolated(m->rc.host),
                              *cand = planned && d.plan.candidates ? fmt_cpus(d.plan.candidates) : NULL;

        char pol[32] = "-", cur_pol[32] = "-";
        SchedPolicy now_pol;
        bool have_pol = !m->rc.aff.from_status && policy_get(tid, &now_pol) == 0 &&
                        policy_format(&now_pol, cur_pol, sizeof cur_pol) == 0;
        if (rule && rule->has_policy)
                (void) policy_format(&rule->policy, pol, sizeof pol);

        if (j->json) {
                JsonWriter *w = &j->w;
                json_object_begin(w);
                json_field_int(w, "tid", tid);
                json_field_string(w, "thread", ts.comm);
                json_field_string(w, "rule", rule ? rule->name : NULL);
                json_key(w, "not_matched");
                json_array_begin(w);
                for (size_t k = 0; k < why.n; k++)
                        json_text(w, why.v[k]); /* escaped once already, by match.c */
                json_array_end(w);
                if (planned) {
                        json_key(w, "steps");
                        json_object_begin(w);
                        json_field_string(w, "requested", req);
                        json_field_string(w, "cpuset", cpuset ? cs_s : NULL);
                        json_field_string(w, "after_cpuset", a);
                        json_field_string(w, "after_online", b);
                        json_field_bool(w, "isolated_allowed", rule->isolated_allow);
                        json_field_bool(w, "spread", rule->spread);
                        if (rule->spread && d.plan.spread_cpu >= 0) {
                                json_field_int(w, "spread_cpu", d.plan.spread_cpu);
                                json_field_int(w, "spread_index", d.plan.spread_index);
                                json_field_string(w, "spread_how", d.plan.spread_how);
                        }
                        json_field_string(w, "effective", eff);
                        json_field_string(w, "skip_reason", d.verdict == VERDICT_SKIP ? d.reason : NULL);
                        json_object_end(w);
                }
                json_field_string(w, "current", current ? cur : NULL);
                json_field_string(w, "policy", rule && rule->has_policy ? pol : NULL);
                json_field_string(w, "current_policy", have_pol ? cur_pol : NULL);
                json_field_string(w, "original", entry && entry->original ? orig : NULL);
                json_object_end(w);
                return;
        }

        outbuf_printf(o, "\ntid %d \"", (int) tid);
        text_escape_append(o, ts.comm, strlen(ts.comm));
        outbuf_puts(o, "\": ");
        if (rule) {
                outbuf_puts(o, "rule ");
                text_escape_append(o, rule->name, strlen(rule->name));
        } else
                outbuf_puts(o, "no rule matches");
        outbuf_putc(o, '\n');
        for (size_t k = 0; k < why.n; k++) {
                outbuf_puts(o, "  ");
                outbuf_puts(o, why.v[k]);
                outbuf_putc(o, '\n');
        }
        if (planned) {
                /* How each term resolved here, when there is more than a list. */
                if (rule->cpus.n_terms > 1 ||
                    (rule->cpus.n_terms == 1 && rule->cpus.terms[0].kind != CPU_TERM_LIST)) {
                        outbuf_puts(o, "  terms on this host:");
                        for (size_t t = 0; t < rule->cpus.n_terms; t++) {
                                _cleanup_(freep) char *name = cpuspec_term_format(&rule->cpus.terms[t]);
                                _cleanup_(cpuset_freep) CpuSet *set = NULL;
                                _cleanup_(freep) char *cpus = NULL;
                                if (cpuspec_resolve_term(m->rc.host, &rule->cpus.terms[t], &set) >= 0)
                                        cpus = cpuset_format_list(set);
                                outbuf_printf(o, "%s %s = %s", t ? "," : "", name ? name : "?",
                                              cpus ? (*cpus ? cpus : "(none)") : "?");
                        }
                        outbuf_putc(o, '\n');
                }
                if (rule->avoid) {
                        _cleanup_(freep) char *av = fmt_cpus(d.plan.avoided);
                        outbuf_printf(o, "  its own mask minus avoided %s (%s) = %s\n", av, rule->cpus.text,
                                      req);
                } else
                        outbuf_printf(o, "  requested %s (%s)\n", req, rule->cpus.text);
                outbuf_printf(o, "  ∩ cpuset %s = %s\n", cpuset ? cs_s : "(no limit)", a);
                outbuf_printf(o, "  ∩ online %s = %s\n", online, b);
                if (rule->isolated_allow || rule->avoid)
                        outbuf_printf(o, "  isolated CPUs %s\n",
                                      rule->avoid ? "kept where it had them (avoid never widens)"
                                                  : "allowed by the rule");
                else
                        outbuf_printf(o, "  − isolated %s = %s\n",
                                      iso_src     ? iso_src
                                      : *isolated ? isolated
                                                  : "(none)",
                                      cand ? cand : eff);
                if (rule->spread && d.plan.spread_cpu >= 0) {
                        if (d.plan.spread_index >= 0)
                                outbuf_printf(o, "  spread: slot %d of %u CPUs (%s) → CPU %d\n",
                                              d.plan.spread_index, d.plan.spread_candidates,
                                              d.plan.spread_how, d.plan.spread_cpu);
                        else
                                outbuf_printf(o, "  spread: %s of %u CPUs → CPU %d\n", d.plan.spread_how,
                                              d.plan.spread_candidates, d.plan.spread_cpu);
                }
                if (d.verdict == VERDICT_SKIP)
                        outbuf_printf(o, "  effective: empty, thread left as it is: %s\n", d.reason);
                else
                        outbuf_printf(o, "  effective %s\n", eff);
        }
        if (rule && rule->has_policy)
                outbuf_printf(o, "  policy %s (now %s)\n", pol, have_pol ? cur_pol : "unknown");
        outbuf_printf(o, "  current mask %s", cur);
        if (entry && entry->original)
                outbuf_printf(o, ", original %s (restored when no rule applies)", orig);
        if (entry && entry->skip_reason)
                outbuf_printf(o, ", last attempt skipped: %s", entry->skip_reason);
        outbuf_putc(o, '\n');
}

static int explain_step(void *userdata, void *state, CtlReply *reply) {
        Manager *m = userdata;
        ExplainJob *j = state;
        uint64_t t0 = now_usec();

        struct dirent *de;

        while (j->shown < j->limit && (de = readdir(j->task))) {
                unsigned tid;
                if (parse_uint(de->d_name, &tid) < 0 || tid == 0 || tid > INT32_MAX)
                        continue;
                explain_one(m, j, (pid_t) tid, &reply->out);
                j->shown++;
                if (now_usec() - t0 >= CTL_STEP_BUDGET_USEC)
                        return 1;
        }
        /* Not listed further for the count: the stat file's thread count
         * says how many were left out. */
        size_t total = j->p.stat.num_threads;
        size_t left = j->shown < j->limit || total <= j->shown ? 0 : total - j->shown;
        if (j->json) {
                json_array_end(&j->w);
                if (left)
                        json_field_uint(&j->w, "threads_not_shown", left);
                json_object_end(&j->w);
                return json_finish(&j->w);
        }
        if (left)
                outbuf_printf(&reply->out,
                              "\n(%zu more threads not shown: only root is shown more than %d)\n", left,
                              EXPLAIN_UNPRIV_THREADS);
        return outbuf_error(&reply->out);
}

int verb_explain(Manager *m, const CtlRequest *req, CtlReply *reply) {
        _cleanup_(explain_job_freep) ExplainJob *j = NULL;
        PeerView peer;
        unsigned arg;
        pid_t pid, tgid;
        int r;

        if (req->n_args == 1 && strncmp(req->args[0], "irq:", 4) == 0)
                return irqview_explain(m, req, req->args[0] + 4, reply);
        if (req->n_args != 1 || parse_uint(req->args[0], &arg) < 0 || arg == 0 || arg > INT32_MAX) {
                outbuf_puts(&reply->err, "usage: explain PID (a positive process id) or explain irq:N\n");
                reply->exit_code = CTL_EXIT_USAGE;
                return 0;
        }
        pid = (pid_t) arg;
        peer_view_init(&peer, m->rc.procfd, req->privileged, req->uid, req->pid);
        r = tgid_of(m->rc.procfd, pid, &tgid);
        if (r < 0 || !peer_may_see(&peer, tgid)) {
                /* Said the same way whether it does not exist or may not be seen. */
                outbuf_printf(&reply->err, "no such process: %u\n", arg);
                reply->exit_code = CTL_EXIT_FAILED;
                return 0;
        }
        j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        r = facts_read_process(&m->rc.facts, m->rc.config, tgid, true, &j->p);
        if (r >= 0) {
                char path[64];
                snprintf(path, sizeof path, "%d/task", (int) tgid);
                int fd = dirfd_openat(m->rc.procfd, path, O_RDONLY | O_DIRECTORY);
                j->task = fd >= 0 ? fdopendir(fd) : NULL;
                if (!j->task) {
                        if (fd >= 0)
                                close(fd);
                        r = -ESRCH;
                }
        }
        if (r < 0) {
                outbuf_printf(&reply->err, "no such process: %u\n", arg);
                reply->exit_code = CTL_EXIT_FAILED;
                return 0;
        }
        j->json = req->json;
        j->limit = req->privileged ? SIZE_MAX : EXPLAIN_UNPRIV_THREADS;
        j->exe_withheld = !peer_may_read_exe(&peer, tgid);

        _cleanup_(freep) char *online = fmt_cpus(m->rc.host->online),
                              *isolated = fmt_cpus(m->rc.host->isolated);
        if (j->json) {
                JsonWriter *w = &j->w;
                json_init(w, &reply->out);
                json_object_begin(w);
                json_field_int(w, "pid", tgid);
                if (tgid != pid)
                        json_field_int(w, "explained_for_tid", pid);
                json_field_string(w, "comm", j->p.stat.comm);
                json_field_bool(w, "kernel_thread", j->p.stat.flags & PROC_PF_KTHREAD);
                json_field_string(w, "exe", j->exe_withheld ? "withheld" : j->p.exe);
                json_field_string(w, "online", online);
                json_field_string(w, "isolated", isolated);
                json_key(w, "threads");
                json_array_begin(w);
        } else {
                OutBuf *o = &reply->out;
                unsigned nt = j->p.stat.num_threads;
                outbuf_printf(o, "pid %d (", (int) tgid);
                text_escape_append(o, j->p.stat.comm, strlen(j->p.stat.comm));
                outbuf_printf(o, "), %u thread%s%s\n", nt, nt == 1 ? "" : "s",
                              (j->p.stat.flags & PROC_PF_KTHREAD) ? ", kernel thread" : "");
                if (tgid != pid)
                        outbuf_printf(o, "tid %d is a thread of this process; explaining the whole process\n",
                                      (int) pid);
                if (j->exe_withheld)
                        outbuf_puts(o, "exe: withheld (you could not read it yourself)\n");
                else if (j->p.exe) {
                        outbuf_puts(o, "exe: ");
                        text_escape_append(o, j->p.exe, strlen(j->p.exe));
                        outbuf_putc(o, '\n');
                }
        }
        reply->step = explain_step;
        reply->step_free = explain_job_free;
        reply->step_state = TAKE_PTR(j);
        return 0;
}
