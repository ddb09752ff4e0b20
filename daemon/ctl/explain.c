/* SPDX-License-Identifier: MIT */
/* `pinnerctl explain PID`: for each thread, which rule matched and why the
 * others did not, and the mask at each step. It asks decide.c exactly what
 * the event loop asks, so the two cannot disagree.
 *
 * What is about the process (a rule whose comm, exe, user, cgroup... does
 * not match) is said once, before the threads; threads whose explanation is
 * then the same (the 40 worker threads of a process no rule matches) are
 * said once as a group. `--thread TID` explains one thread.
 *
 * Threads are read a slice at a time (CtlReply.step), then the groups are
 * written a slice at a time; a non-root peer gets at most
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
#include "ctl/memview.h"
#include "rules/decide.h"
#include "core/manager-internal.h"
#include "lib/intmap.h"
#include "lib/output.h"
#include "ctl/peer.h"
#include "kernel/procfs.h"

#define EXPLAIN_UNPRIV_THREADS 256
#define EXPLAIN_GROUP_NAMES 3 /* thread names quoted in a group's header */

/* Threads whose explanation reads the same. */
typedef struct ExplainGroup {
        char *text; /* verdict line remainder and body: the grouping key */
        uint32_t hash;
        size_t next; /* the next group with the same hash, or SIZE_MAX */
        pid_t *tids;
        size_t n_tids, cap_tids;
        char *names[EXPLAIN_GROUP_NAMES];
        size_t n_names;
        bool more_names;
} ExplainGroup;

typedef struct ExplainJob {
        ProcFacts p;
        DIR *task;      /* PID/task, read a slice at a time: a process may have 100,000 threads */
        pid_t only_tid; /* --thread: 0 = every thread */
        size_t limit;   /* tids listed at most */
        bool json;
        bool exe_withheld;
        /* Four phases, each in slices: the heading (the process's memory
         * read first), list the tids (then sort them, so the output does
         * not depend on the directory's order), explain them, write the
         * groups (text). */
        enum { PHASE_HEAD, PHASE_LIST, PHASE_EXPLAIN, PHASE_WRITE } phase;
        pid_t pid, tgid; /* asked about, and its process */
        PeerView peer;
        /* Memory locality where there is more than one node, or a rule
         * moves memory (on one node it is all local, always): numa_maps is
         * read a piece per slice before the heading (memview.h). */
        bool show_mem;
        MemView mem;
        pid_t *tids;
        size_t n_tids, cap_tids, next_tid;
        StrVec common; /* process-level lines said once */
        ExplainGroup *groups;
        size_t n_groups, cap_groups, next_group;
        IntMap by_hash; /* hash → first group with it */
        JsonWriter w;
} ExplainJob;

static void explain_job_free(void *state) {
        ExplainJob *j = state;
        if (!j)
                return;
        proc_facts_done(&j->p);
        memview_done(&j->mem);
        if (j->task)
                closedir(j->task);
        strvec_done(&j->common);
        free(j->tids);
        for (size_t i = 0; i < j->n_groups; i++) {
                free(j->groups[i].text);
                free(j->groups[i].tids);
                for (size_t k = 0; k < j->groups[i].n_names; k++)
                        free(j->groups[i].names[k]);
        }
        free(j->groups);
        intmap_done(&j->by_hash);
        free(j);
}

static void explain_job_freep(ExplainJob **j) {
        explain_job_free(*j);
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

/* What guarantee = exec does for this process; NULL when the rule has none. */
static const char *guarantee_says(const Manager *m, const Rule *rule, const ExplainJob *j, char *buf,
                                  size_t size) {
        const Guarantee *g = &m->guarantee;

        if (!rule || !rule->guarantee_exec)
                return NULL;
        if (g->fan_fd < 0) {
                snprintf(buf, size, "guarantee = exec not in force (%s): pinned from the exec event instead",
                         g->error ? g->error : "no fanotify group");
                return buf;
        }
        if (j->exe_withheld || !j->p.exe)
                return "guarantee = exec in force (whether this executable is marked is withheld)";
        return guarantee_marks(g, j->p.exe, rule)
                       ? "guarantee = exec: its executable is marked, its execs wait for the pin"
                       : "guarantee = exec in force, but its executable is not marked (not a file in the "
                         "rule's "
                         "directories, or a symlink): pinned from the exec event";
}

static bool in_strvec(const StrVec *v, const char *s) {
        for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->v[i], s) == 0)
                        return true;
        return false;
}

static uint32_t fnv1a(const char *s) {
        uint32_t h = 2166136261u;
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 16777619u;
        return h;
}

/* Add tid (named name) to the group whose text is `text`, or a new one. */
static int group_add(ExplainJob *j, char *text_owned, pid_t tid, const char *name) {
        _cleanup_(freep) char *text = text_owned;
        uint32_t h = fnv1a(text);
        uintptr_t first;
        size_t g = SIZE_MAX;

        if (intmap_get(&j->by_hash, (int32_t) (h & 0x7fffffff), &first))
                for (g = first; g != SIZE_MAX && strcmp(j->groups[g].text, text) != 0; g = j->groups[g].next)
                        ;
        if (g == SIZE_MAX) {
                if (j->n_groups == j->cap_groups) {
                        size_t ncap = j->cap_groups ? j->cap_groups * 2 : 16;
                        ExplainGroup *nv = realloc(j->groups, ncap * sizeof *nv);
                        if (!nv)
                                return -ENOMEM;
                        j->groups = nv;
                        j->cap_groups = ncap;
                }
                g = j->n_groups++;
                j->groups[g] = (ExplainGroup){.text = TAKE_PTR(text), .hash = h, .next = SIZE_MAX};
                /* New groups go to the front of their hash chain. */
                if (intmap_get(&j->by_hash, (int32_t) (h & 0x7fffffff), &first))
                        j->groups[g].next = first;
                if (intmap_put(&j->by_hash, (int32_t) (h & 0x7fffffff), g, NULL) < 0)
                        return -ENOMEM;
        }
        ExplainGroup *gr = &j->groups[g];
        if (gr->n_tids == gr->cap_tids) {
                size_t ncap = gr->cap_tids ? gr->cap_tids * 2 : 4;
                pid_t *nv = realloc(gr->tids, ncap * sizeof *nv);
                if (!nv)
                        return -ENOMEM;
                gr->tids = nv;
                gr->cap_tids = ncap;
        }
        gr->tids[gr->n_tids++] = tid;
        bool known = false;
        for (size_t k = 0; k < gr->n_names && !known; k++)
                known = strcmp(gr->names[k], name) == 0;
        if (!known) {
                if (gr->n_names < EXPLAIN_GROUP_NAMES) {
                        gr->names[gr->n_names] = strdup(name);
                        if (!gr->names[gr->n_names])
                                return -ENOMEM;
                        gr->n_names++;
                } else
                        gr->more_names = true;
        }
        return 0;
}

/* An empty CPU list, said. */
static const char *none(const char *cpus) {
        return cpus && *cpus ? cpus : "(none)";
}

/* One thread's explanation: JSON into j->w, text into o (the verdict and
 * the body, without the thread's name: the group header says it). name
 * gets the thread's name; nothing is written for a thread gone meanwhile. */
static void explain_one(Manager *m, ExplainJob *j, pid_t tid, OutBuf *o, char name[COMM_MAX + 1]) {
        _cleanup_(strvec_done) StrVec why_p = {0}, why = {0};
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
        snprintf(name, COMM_MAX + 1, "%s", ts.comm);
        facts_task_view(&j->p, tid, ts.comm, &f);
        if (j->exe_withheld)
                f.withheld |= FACT_EXE;
        const Rule *rule = decide_rule_why(m->rc.config, &f, &why_p, &why);
        /* What is about the process is said once, unless this thread differs. */
        for (size_t k = 0; k < why_p.n; k++)
                if (!in_strvec(&j->common, why_p.v[k]))
                        (void) strvec_push(&why, why_p.v[k]);
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

        _cleanup_(freep) char *cur = fmt_cpus(current), *orig = entry ? fmt_cpus(entry->original) : NULL,
                              *req = planned ? fmt_cpus(d.plan.requested) : NULL,
                              *cs_s = planned ? fmt_cpus(cpuset) : NULL,
                              *a = planned ? fmt_cpus(d.plan.in_cpuset) : NULL,
                              *b = planned ? fmt_cpus(d.plan.in_online) : NULL,
                              *eff = planned ? fmt_cpus(d.plan.effective) : NULL,
                              *online = fmt_cpus(m->rc.host->online),
                              *isolated = fmt_cpus(m->rc.host->isolated), *iso_src = fmt_isolated(m->rc.host),
                              *cand = planned && d.plan.candidates ? fmt_cpus(d.plan.candidates) : NULL,
                              *does = rule ? rule_describe(rule) : NULL;

        char pol[32] = "-", cur_pol[32] = "-";
        SchedPolicy now_pol;
        bool have_pol = !m->rc.aff.from_status && policy_get(tid, &now_pol) == 0 &&
                        policy_format(&now_pol, cur_pol, sizeof cur_pol) == 0;
        if (rule && rule->has_policy)
                (void) policy_format(&rule->policy, pol, sizeof pol);
        char gbuf[512];
        const char *guarantee = guarantee_says(m, rule, j, gbuf, sizeof gbuf);

        if (j->json) {
                JsonWriter *w = &j->w;
                json_object_begin(w);
                json_field_int(w, "tid", tid);
                json_field_string(w, "thread", ts.comm);
                json_field_string(w, "rule", rule ? rule->name : NULL);
                json_field_string(w, "does", does);
                json_key(w, "not_matched");
                json_array_begin(w);
                for (size_t k = 0; k < why.n; k++)
                        json_text(w, why.v[k]); /* escaped once already, by match.c */
                json_array_end(w);
                if (planned) {
                        json_key(w, "steps");
                        json_object_begin(w);
                        if (rule->avoid) {
                                _cleanup_(freep) char *av = fmt_cpus(d.plan.avoided);
                                json_field_string(w, "avoided", av);
                                json_field_string(w, "kept", req);
                        } else
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
                if (guarantee) /* only for a rule with guarantee = exec */
                        json_field_string(w, "guarantee", guarantee);
                json_field_string(w, "original", entry && entry->original ? orig : NULL);
                json_object_end(w);
                return;
        }

        /* The group key: the verdict, then the body, one line each. */
        if (rule) {
                outbuf_puts(o, "rule ");
                text_escape_append(o, rule->name, strlen(rule->name));
                outbuf_printf(o, " (%s)", does ? does : "?");
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
                                _cleanup_(freep) char *term = cpuspec_term_format(&rule->cpus.terms[t]);
                                _cleanup_(cpuset_freep) CpuSet *set = NULL;
                                _cleanup_(freep) char *cpus = NULL;
                                if (cpuspec_resolve_term(m->rc.host, &rule->cpus.terms[t], &set) >= 0)
                                        cpus = cpuset_format_list(set);
                                outbuf_printf(o, "%s %s = %s", t ? "," : "", term ? term : "?",
                                              cpus ? (*cpus ? cpus : "(none)") : "?");
                        }
                        outbuf_putc(o, '\n');
                }
                if (rule->avoid) {
                        _cleanup_(freep) char *av = fmt_cpus(d.plan.avoided);
                        outbuf_printf(o, "  its own mask minus avoided %s (%s) = %s\n", av, rule->cpus.text,
                                      none(req));
                } else
                        outbuf_printf(o, "  requested %s (%s)\n", none(req), rule->cpus.text);
                outbuf_printf(o, "  ∩ cpuset %s = %s\n", cpuset ? cs_s : "(no limit)", none(a));
                outbuf_printf(o, "  ∩ online %s = %s\n", online, none(b));
                if (rule->isolated_allow || rule->avoid)
                        outbuf_printf(o, "  isolated CPUs %s\n",
                                      rule->avoid ? "kept where it had them (avoid never widens)"
                                                  : "allowed by the rule");
                else
                        outbuf_printf(o, "  − isolated %s = %s\n",
                                      iso_src     ? iso_src
                                      : *isolated ? isolated
                                                  : "(none)",
                                      none(cand ? cand : eff));
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
        if (guarantee)
                outbuf_printf(o, "  %s\n", guarantee);
        outbuf_printf(o, "  current mask %s", cur);
        if (entry && entry->original)
                outbuf_printf(o, ", original %s (restored when no rule applies)", orig);
        if (entry && entry->skip_reason)
                outbuf_printf(o, ", last attempt skipped: %s", entry->skip_reason);
        outbuf_putc(o, '\n');
}

/* Explain one thread into its group (text) or straight out (JSON). */
static int explain_thread(Manager *m, ExplainJob *j, pid_t tid, CtlReply *reply) {
        OutBuf text = OUTBUF_INIT;
        char name[COMM_MAX + 1] = "";
        int r;

        if (j->json) {
                explain_one(m, j, tid, &reply->out, name);
                return 0;
        }
        explain_one(m, j, tid, &text, name);
        if (text.len == 0 || outbuf_error(&text) < 0) {
                r = outbuf_error(&text);
                outbuf_done(&text);
                return r; /* gone meanwhile: nothing to say */
        }
        r = group_add(j, TAKE_PTR(text.data), tid, name);
        outbuf_done(&text);
        return r;
}

/* "812-815,830": tids (ascending as /proc lists them) as ranges. */
static void tids_append(OutBuf *o, const pid_t *t, size_t n) {
        for (size_t i = 0; i < n;) {
                size_t k = i;
                while (k + 1 < n && t[k + 1] == t[k] + 1)
                        k++;
                outbuf_printf(o, "%s%d", i ? "," : "", (int) t[i]);
                if (k > i)
                        outbuf_printf(o, "-%d", (int) t[k]);
                i = k + 1;
        }
}

static void group_write(const ExplainGroup *g, OutBuf *o) {
        outbuf_putc(o, '\n');
        if (g->n_tids == 1) {
                outbuf_printf(o, "tid %d \"", (int) g->tids[0]);
                text_escape_append(o, g->names[0], strlen(g->names[0]));
                outbuf_puts(o, "\": ");
        } else {
                outbuf_printf(o, "%zu threads (tids ", g->n_tids);
                tids_append(o, g->tids, g->n_tids);
                outbuf_puts(o, ": ");
                for (size_t k = 0; k < g->n_names; k++) {
                        outbuf_puts(o, k ? ", \"" : "\"");
                        text_escape_append(o, g->names[k], strlen(g->names[k]));
                        outbuf_putc(o, '"');
                }
                if (g->more_names)
                        outbuf_puts(o, ", ...");
                outbuf_puts(o, "): ");
        }
        outbuf_puts(o, g->text);
}

static int pid_cmp(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
        return (x > y) - (x < y);
}

/* The heading: the process, its exe, its memory, the rules that do not
 * match it at all. */
static void explain_head(Manager *m, ExplainJob *j, CtlReply *reply) {
        _cleanup_(freep) char *online = fmt_cpus(m->rc.host->online),
                              *isolated = fmt_cpus(m->rc.host->isolated);
        if (j->json) {
                JsonWriter *w = &j->w;
                json_init(w, &reply->out);
                json_object_begin(w);
                json_field_int(w, "pid", j->tgid);
                if (j->tgid != j->pid)
                        json_field_int(w, "explained_for_tid", j->pid);
                json_field_string(w, "comm", j->p.stat.comm);
                json_field_bool(w, "kernel_thread", j->p.stat.flags & PROC_PF_KTHREAD);
                json_field_string(w, "exe", j->exe_withheld ? "withheld" : j->p.exe);
                json_field_string(w, "online", online);
                json_field_string(w, "isolated", isolated);
                json_key(w, "not_matched");
                json_array_begin(w);
                for (size_t k = 0; k < j->common.n; k++)
                        json_text(w, j->common.v[k]);
                json_array_end(w);
                if (j->show_mem)
                        memview_explain_json(m, &j->mem, j->tgid, w);
                json_key(w, "threads");
                json_array_begin(w);
        } else {
                OutBuf *o = &reply->out;
                unsigned nt = j->p.stat.num_threads;
                outbuf_printf(o, "pid %d (", (int) j->tgid);
                text_escape_append(o, j->p.stat.comm, strlen(j->p.stat.comm));
                outbuf_printf(o, "), %u thread%s%s\n", nt, nt == 1 ? "" : "s",
                              (j->p.stat.flags & PROC_PF_KTHREAD) ? ", kernel thread" : "");
                if (j->tgid != j->pid)
                        outbuf_printf(o, "tid %d is a thread of this process; explaining the whole process\n",
                                      (int) j->pid);
                if (j->exe_withheld)
                        outbuf_puts(o, "exe: withheld (you could not read it yourself)\n");
                else if (j->p.exe) {
                        outbuf_puts(o, "exe: ");
                        text_escape_append(o, j->p.exe, strlen(j->p.exe));
                        outbuf_putc(o, '\n');
                }
                if (j->show_mem)
                        memview_explain_text(m, &j->mem, j->tgid, o);
                if (j->common.n > 0) {
                        outbuf_printf(o, "%s not match the process (so none of its threads):\n",
                                      j->common.n == 1 ? "this rule does" : "these rules do");
                        for (size_t k = 0; k < j->common.n; k++) {
                                outbuf_puts(o, "  ");
                                outbuf_puts(o, j->common.v[k]);
                                outbuf_putc(o, '\n');
                        }
                }
        }
}

static int explain_step(void *userdata, void *state, CtlReply *reply) {
        Manager *m = userdata;
        ExplainJob *j = state;
        uint64_t t0 = now_usec();
        struct dirent *de;
        int r;

        if (j->phase == PHASE_HEAD) {
                if (j->show_mem && memview_read(m, &j->peer, j->tgid, &j->mem) > 0)
                        return 1; /* more of numa_maps, in the next slice */
                explain_head(m, j, reply);
                j->phase = PHASE_LIST;
                if (now_usec() - t0 >= CTL_STEP_BUDGET_USEC)
                        return 1;
        }
        while (j->phase == PHASE_LIST && j->n_tids < j->limit && (de = readdir(j->task))) {
                unsigned tid;
                if (parse_uint(de->d_name, &tid) < 0 || tid == 0 || tid > INT32_MAX)
                        continue;
                if (j->only_tid && (pid_t) tid != j->only_tid)
                        continue;
                if (j->n_tids == j->cap_tids) {
                        size_t ncap = j->cap_tids ? j->cap_tids * 2 : 64;
                        pid_t *nv = realloc(j->tids, ncap * sizeof *nv);
                        if (!nv)
                                return -ENOMEM;
                        j->tids = nv;
                        j->cap_tids = ncap;
                }
                j->tids[j->n_tids++] = (pid_t) tid;
                if ((j->n_tids & 255) == 0 && now_usec() - t0 >= CTL_STEP_BUDGET_USEC)
                        return 1;
        }
        if (j->phase == PHASE_LIST) {
                qsort(j->tids, j->n_tids, sizeof(pid_t), pid_cmp);
                j->phase = PHASE_EXPLAIN;
        }
        while (j->phase == PHASE_EXPLAIN && j->next_tid < j->n_tids) {
                r = explain_thread(m, j, j->tids[j->next_tid++], reply);
                if (r < 0)
                        return r;
                if (now_usec() - t0 >= CTL_STEP_BUDGET_USEC)
                        return 1;
        }
        j->phase = PHASE_WRITE;
        while (j->next_group < j->n_groups) {
                group_write(&j->groups[j->next_group++], &reply->out);
                if (now_usec() - t0 >= CTL_STEP_BUDGET_USEC)
                        return 1;
        }
        /* Not listed further for the count: the stat file's thread count
         * says how many were left out. */
        size_t total = j->p.stat.num_threads;
        size_t left = j->only_tid || j->n_tids < j->limit || total <= j->n_tids ? 0 : total - j->n_tids;
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

/* The lines about the process, from its leader (or the thread asked for):
 * said once, before the threads. */
static void common_reasons(Manager *m, ExplainJob *j, pid_t tgid) {
        pid_t tid = j->only_tid ? j->only_tid : tgid;
        TaskStat ts;
        TaskFacts f;

        if (facts_read_thread(&m->rc.facts, &j->p, tid, &ts) < 0)
                return;
        facts_task_view(&j->p, tid, ts.comm, &f);
        if (j->exe_withheld)
                f.withheld |= FACT_EXE;
        (void) decide_rule_why(m->rc.config, &f, &j->common, NULL);
}

static int usage(CtlReply *reply) {
        outbuf_puts(&reply->err,
                    "usage: explain PID [thread=TID] (positive process and thread ids) or explain irq:N\n");
        reply->exit_code = CTL_EXIT_USAGE;
        return 0;
}

int verb_explain(Manager *m, const CtlRequest *req, CtlReply *reply) {
        _cleanup_(explain_job_freep) ExplainJob *j = NULL;
        PeerView peer;
        unsigned arg, thread = 0;
        pid_t pid, tgid;
        int r;

        if (req->n_args == 1 && strncmp(req->args[0], "irq:", 4) == 0)
                return irqview_explain(m, req, req->args[0] + 4, reply);
        if (req->n_args < 1 || req->n_args > 2 || parse_uint(req->args[0], &arg) < 0 || arg == 0 ||
            arg > INT32_MAX)
                return usage(reply);
        if (req->n_args == 2 &&
            (strncmp(req->args[1], "thread=", 7) != 0 || parse_uint(req->args[1] + 7, &thread) < 0 ||
             thread == 0 || thread > INT32_MAX))
                return usage(reply);
        pid = (pid_t) arg;
        peer_view_init(&peer, m->rc.procfd, req->peer);
        r = tgid_of(m->rc.procfd, pid, &tgid);
        if (r < 0 || !peer_may_see(&peer, tgid)) {
                /* Said the same way whether it does not exist or may not be seen. */
                outbuf_printf(&reply->err, "no such process: %u\n", arg);
                reply->exit_code = CTL_EXIT_FAILED;
                return 0;
        }
        char tpath[64];
        snprintf(tpath, sizeof tpath, "%d/task/%u", (int) tgid, thread);
        if (thread && dirfd_exists(m->rc.procfd, tpath) < 0) {
                outbuf_printf(&reply->err, "no thread %u in process %d\n", thread, (int) tgid);
                reply->exit_code = CTL_EXIT_FAILED;
                return 0;
        }
        j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        j->by_hash = INTMAP_INIT;
        j->only_tid = (pid_t) thread;
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
        common_reasons(m, j, tgid);

        j->pid = pid;
        j->tgid = tgid;
        j->peer = peer;
        j->show_mem = numa_node_count(m->rc.host) > 1 || m->rc.config->memory;
        j->phase = PHASE_HEAD;
        reply->step = explain_step;
        reply->step_free = explain_job_free;
        reply->step_state = TAKE_PTR(j);
        return 0;
}
