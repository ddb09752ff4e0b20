/* SPDX-License-Identifier: MIT */
/* The control verbs: they read the manager's state and render it through
 * output.h, for people or as JSON. reload and rescan act through the same
 * functions SIGHUP and the timers use. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "ctlserver.h"
#include "manager-internal.h"
#include "output.h"
#include "procfs.h"

static size_t rule_thread_count(const Manager *m, const char *rule) {
        size_t i = 0, n = 0;
        Thread *th;
        while ((th = thread_table_next(m->threads, &i)))
                if (th->rule && th->applied && strcmp(th->rule, rule) == 0)
                        n++;
        return n;
}

static void fmt_duration(uint64_t usec, char *buf, size_t size) {
        uint64_t s = usec / 1000000u;
        if (s >= 86400)
                snprintf(buf, size, "%" PRIu64 "d %" PRIu64 "h %" PRIu64 "m", s / 86400, s % 86400 / 3600,
                         s % 3600 / 60);
        else if (s >= 3600)
                snprintf(buf, size, "%" PRIu64 "h %" PRIu64 "m %" PRIu64 "s", s / 3600, s % 3600 / 60,
                         s % 60);
        else if (s >= 60)
                snprintf(buf, size, "%" PRIu64 "m %" PRIu64 "s", s / 60, s % 60);
        else
                snprintf(buf, size, "%" PRIu64 "s", s);
}

static const struct {
        const char *name;
        size_t offset;
} counter_fields[] = {
        {"events", offsetof(Counters, events)},     {"lost-event rescans", offsetof(Counters, lost_rescans)},
        {"rescans", offsetof(Counters, rescans)},   {"applied", offsetof(Counters, applied)},
        {"restored", offsetof(Counters, restored)}, {"skipped", offsetof(Counters, skipped)},
        {"failed", offsetof(Counters, failed)},     {"drift", offsetof(Counters, drift)},
};

static uint64_t counter_value(const Counters *c, size_t i) {
        return *(const uint64_t *) ((const char *) c + counter_fields[i].offset);
}

static int verb_status(Manager *m, const CtlRequest *req, CtlReply *reply) {
        _cleanup_(freep) char *online = manager_fmt_cpus(m->host->online),
                              *isolated = manager_fmt_cpus(m->host->isolated);
        uint64_t up = now_usec() - m->start_usec;

        if (req->json) {
                JsonWriter w;
                json_init(&w, &reply->out);
                json_object_begin(&w);
                json_field_string(&w, "version", PINNERD_VERSION);
                json_field_uint(&w, "uptime_usec", up);
                json_key(&w, "config_files");
                json_array_begin(&w);
                for (size_t i = 0; i < m->config->files.n; i++)
                        json_string(&w, m->config->files.v[i]);
                json_array_end(&w);
                json_field_string(&w, "event_source", manager_event_source(m));
                if (m->connector_error)
                        json_field_string(&w, "event_source_reason", m->connector_error);
                json_field_bool(&w, "dry_run", m->opt.dry_run);
                json_field_string(&w, "online_cpus", online);
                json_field_string(&w, "isolated_cpus", isolated);
                json_field_uint(&w, "managed_threads", thread_table_size(m->threads));
                json_key(&w, "rules");
                json_array_begin(&w);
                for (size_t i = 0; i < m->config->n_rules; i++) {
                        const Rule *r = &m->config->rules[i];
                        json_object_begin(&w);
                        json_field_string(&w, "name", r->name);
                        json_field_int(&w, "priority", r->priority);
                        json_field_string(&w, "cpus", r->cpus.text);
                        json_field_uint(&w, "threads", rule_thread_count(m, r->name));
                        json_object_end(&w);
                }
                json_array_end(&w);
                json_key(&w, "counters");
                json_object_begin(&w);
                for (size_t i = 0; i < ELEMENTSOF(counter_fields); i++) {
                        char key[32];
                        snprintf(key, sizeof key, "%s", counter_fields[i].name);
                        for (char *p = key; *p; p++)
                                if (*p == ' ' || *p == '-')
                                        *p = '_';
                        json_field_uint(&w, key, counter_value(&m->counters, i));
                }
                json_object_end(&w);
                json_object_end(&w);
                return json_finish(&w);
        }

        char upbuf[64];
        fmt_duration(up, upbuf, sizeof upbuf);
        outbuf_printf(&reply->out, "pinnerd %s%s, up %s\n", PINNERD_VERSION,
                      m->opt.dry_run ? " (dry run)" : "", upbuf);
        outbuf_puts(&reply->out, "config:       ");
        for (size_t i = 0; i < m->config->files.n; i++) {
                if (i)
                        outbuf_puts(&reply->out, ", ");
                text_escape_append(&reply->out, m->config->files.v[i], strlen(m->config->files.v[i]));
        }
        outbuf_printf(&reply->out, "\nevents:       %s%s%s%s\n", manager_event_source(m),
                      m->connector_error ? " (" : "", m->connector_error ? m->connector_error : "",
                      m->connector_error ? ")" : "");
        outbuf_printf(&reply->out, "online CPUs:  %s\nisolated:     %s\nmanaged:      %zu threads\n", online,
                      *isolated ? isolated : "none", thread_table_size(m->threads));
        outbuf_puts(&reply->out, "counters:     ");
        for (size_t i = 0; i < ELEMENTSOF(counter_fields); i++)
                outbuf_printf(&reply->out, "%s%s %" PRIu64, i ? ", " : "", counter_fields[i].name,
                              counter_value(&m->counters, i));
        outbuf_printf(&reply->out, "\n\nrules (%zu):\n", m->config->n_rules);

        Table t;
        table_init(&t);
        table_add_column(&t, "RULE", TABLE_LEFT);
        table_add_column(&t, "PRIORITY", TABLE_RIGHT);
        table_add_column(&t, "THREADS", TABLE_RIGHT);
        table_add_column(&t, "CPUS", TABLE_LEFT);
        for (size_t i = 0; i < m->config->n_rules; i++) {
                const Rule *r = &m->config->rules[i];
                table_add_cell(&t, r->name);
                table_add_cellf(&t, "%d", r->priority);
                table_add_cellf(&t, "%zu", rule_thread_count(m, r->name));
                table_add_cell(&t, r->cpus.text);
        }
        int r = table_render(&t, &reply->out);
        table_done(&t);
        return r;
}

static int thread_cmp(const void *a, const void *b) {
        const Thread *x = *(const Thread *const *) a, *y = *(const Thread *const *) b;
        if (x->pid != y->pid)
                return (x->pid > y->pid) - (x->pid < y->pid);
        return (x->tid > y->tid) - (x->tid < y->tid);
}

/* What the thread's rule asks for on this host now. */
static char *rule_requested(const Manager *m, const char *rule_name) {
        const Rule *r = rule_name ? config_find_rule(m->config, rule_name) : NULL;
        _cleanup_(cpuset_freep) CpuSet *set = NULL;

        if (!r || plan_resolve_cpus(m->host, &r->cpus, &set) < 0)
                return NULL;
        return cpuset_format_list(set);
}

static int verb_list(Manager *m, const CtlRequest *req, CtlReply *reply) {
        size_t n = 0, i = 0;
        Thread *th;
        _cleanup_(freep) Thread **v = calloc(thread_table_size(m->threads) + 1, sizeof(Thread *));
        Table t;
        int r;

        if (!v)
                return -ENOMEM;
        while ((th = thread_table_next(m->threads, &i)))
                if (th->rule)
                        v[n++] = th;
        qsort(v, n, sizeof *v, thread_cmp);

        if (req->json) {
                JsonWriter w;
                json_init(&w, &reply->out);
                json_array_begin(&w);
                for (size_t k = 0; k < n; k++) {
                        _cleanup_(freep) char *req_s = rule_requested(m, v[k]->rule),
                                              *eff = manager_fmt_cpus(v[k]->applied),
                                              *orig = manager_fmt_cpus(v[k]->original);
                        json_object_begin(&w);
                        json_field_int(&w, "pid", v[k]->pid);
                        json_field_int(&w, "tid", v[k]->tid);
                        json_field_string(&w, "comm", v[k]->comm);
                        json_field_string(&w, "thread", v[k]->name);
                        json_field_string(&w, "rule", v[k]->rule);
                        json_field_string(&w, "requested", req_s);
                        json_field_string(&w, "effective", v[k]->applied ? eff : NULL);
                        json_field_string(&w, "original", v[k]->original ? orig : NULL);
                        json_field_string(&w, "skipped", v[k]->skip_reason);
                        json_object_end(&w);
                }
                json_array_end(&w);
                return json_finish(&w);
        }

        table_init(&t);
        table_add_column(&t, "PID", TABLE_RIGHT);
        table_add_column(&t, "TID", TABLE_RIGHT);
        table_add_column(&t, "PROCESS", TABLE_LEFT);
        table_add_column(&t, "THREAD", TABLE_LEFT);
        table_add_column(&t, "RULE", TABLE_LEFT);
        table_add_column(&t, "REQUESTED", TABLE_LEFT);
        table_add_column(&t, "EFFECTIVE", TABLE_LEFT);
        table_add_column(&t, "ORIGINAL", TABLE_LEFT);
        for (size_t k = 0; k < n; k++) {
                _cleanup_(freep) char *req_s = rule_requested(m, v[k]->rule),
                                      *eff = manager_fmt_cpus(v[k]->applied),
                                      *orig = manager_fmt_cpus(v[k]->original);
                table_add_cellf(&t, "%d", (int) v[k]->pid);
                table_add_cellf(&t, "%d", (int) v[k]->tid);
                table_add_cell(&t, v[k]->comm);
                table_add_cell(&t, v[k]->name);
                table_add_cell(&t, v[k]->rule);
                table_add_cell(&t, req_s);
                if (v[k]->skip_reason)
                        table_add_cellf(&t, "skipped: %s", v[k]->skip_reason);
                else
                        table_add_cell(&t, eff);
                table_add_cell(&t, orig);
        }
        r = table_render(&t, &reply->out);
        table_done(&t);
        if (r >= 0)
                outbuf_printf(&reply->out, "%zu threads\n", n);
        return r;
}

/* ---- explain ------------------------------------------------------------------ */

typedef struct ExplainThread {
        pid_t tid;
        char name[COMM_MAX + 1];
        const Rule *rule;
        StrVec why; /* one line per rule that did not match */
        Plan plan;
        bool planned;
        CpuSet *cpuset; /* dup of the thread's cpuset, NULL = no limit */
        CpuSet *current;
        const Thread *entry; /* what pinnerd remembers, if anything */
} ExplainThread;

static void explain_thread_done(ExplainThread *e) {
        strvec_done(&e->why);
        plan_done(&e->plan);
        cpuset_free(e->cpuset);
        cpuset_free(e->current);
}

static int explain_one(Manager *m, const ProcFacts *p, pid_t tid, ExplainThread *e) {
        TaskStat ts;
        TaskFacts f;
        int r;

        r = procfs_read_stat(m->procfd, p->stat.pid, tid, &ts);
        if (r < 0)
                return r;
        e->tid = tid;
        memcpy(e->name, ts.comm, sizeof e->name);
        manager_task_facts(p, tid, ts.comm, &f);
        for (size_t i = 0; i < m->config->n_rules; i++) {
                const Rule *rule = m->config->by_priority[i];
                char *why = NULL;
                if (!rule_match_process(rule, &f, &why) || !rule_match_thread(rule, &f, &why)) {
                        _cleanup_(freep) char *line =
                                xasprintf("rule %s: %s", rule->name, why ? why : "does not match");
                        free(why);
                        if (line)
                                strvec_push(&e->why, line);
                        continue;
                }
                free(why);
                if (!e->rule)
                        e->rule = rule;
                else
                        strvec_push_take(
                                &e->why,
                                xasprintf("rule %s: matches too, but rule %s wins (priority %d vs %d%s)",
                                          rule->name, e->rule->name, e->rule->priority, rule->priority,
                                          e->rule->priority == rule->priority ? ", defined first" : ""));
        }
        (void) affinity_get(&m->aff, p->stat.pid, tid, &e->current);
        e->entry = thread_table_get(m->threads, tid);
        if (e->entry && e->entry->start != ts.starttime)
                e->entry = NULL;
        if (!e->rule)
                return 0;

        const CpuSet *cs = NULL;
        if (manager_thread_cpuset(m, p, tid, &cs) >= 0 && cs)
                e->cpuset = cpuset_dup(cs);
        _cleanup_(freep) unsigned *load = NULL;
        unsigned n_load = 0;
        /* The same placement evaluation would make: a held CPU is kept. */
        if (e->rule->spread) {
                bool holds = e->entry && e->entry->rule && strcmp(e->entry->rule, e->rule->name) == 0;
                (void) manager_spread_load(m, p->stat.pid, e->rule, tid, holds ? e->entry->spread_cpu : -1,
                                           &load, &n_load);
        }
        r = plan_thread(m->host, e->rule, e->cpuset, load, n_load, &e->plan);
        e->planned = r >= 0;
        return 0;
}

static void explain_text(Manager *m, const ProcFacts *p, ExplainThread *v, size_t n, OutBuf *o) {
        _cleanup_(freep) char *online = manager_fmt_cpus(m->host->online),
                              *isolated = manager_fmt_cpus(m->host->isolated);

        outbuf_printf(o, "pid %d (", (int) p->stat.pid);
        text_escape_append(o, p->stat.comm, strlen(p->stat.comm));
        outbuf_printf(o, "), %zu thread%s%s\n", n, n == 1 ? "" : "s",
                      (p->stat.flags & PROC_PF_KTHREAD) ? ", kernel thread" : "");
        for (size_t i = 0; i < n; i++) {
                ExplainThread *e = &v[i];
                _cleanup_(freep) char *cur = manager_fmt_cpus(e->current);
                outbuf_printf(o, "\ntid %d \"", (int) e->tid);
                text_escape_append(o, e->name, strlen(e->name));
                outbuf_printf(o, "\": %s%s%s\n", e->rule ? "rule " : "no rule matches",
                              e->rule ? e->rule->name : "", "");
                for (size_t k = 0; k < e->why.n; k++) {
                        outbuf_puts(o, "  ");
                        text_escape_append(o, e->why.v[k], strlen(e->why.v[k]));
                        outbuf_putc(o, '\n');
                }
                if (e->rule && e->planned) {
                        _cleanup_(freep) char *req = manager_fmt_cpus(e->plan.requested),
                                              *cs = manager_fmt_cpus(e->cpuset),
                                              *a = manager_fmt_cpus(e->plan.in_cpuset),
                                              *b = manager_fmt_cpus(e->plan.in_online),
                                              *eff = manager_fmt_cpus(e->plan.effective);
                        outbuf_printf(o, "  requested %s (%s)\n", req, e->rule->cpus.text);
                        outbuf_printf(o, "  ∩ cpuset %s = %s\n", e->cpuset ? cs : "(no limit)", a);
                        outbuf_printf(o, "  ∩ online %s = %s\n", online, b);
                        if (e->rule->isolated_allow)
                                outbuf_printf(o, "  isolated CPUs allowed by the rule\n");
                        else
                                outbuf_printf(o, "  − isolated %s = %s\n", *isolated ? isolated : "(none)",
                                              eff);
                        if (e->rule->spread)
                                outbuf_printf(o, "  spread: one CPU per thread → %s\n", eff);
                        if (e->plan.skip_reason)
                                outbuf_printf(o, "  effective: empty, thread left as it is: %s\n",
                                              e->plan.skip_reason);
                        else
                                outbuf_printf(o, "  effective %s\n", eff);
                }
                outbuf_printf(o, "  current mask %s", cur);
                if (e->entry && e->entry->original) {
                        _cleanup_(freep) char *orig = manager_fmt_cpus(e->entry->original);
                        outbuf_printf(o, ", original %s (restored when no rule applies)", orig);
                }
                if (e->entry && e->entry->skip_reason)
                        outbuf_printf(o, ", last attempt skipped: %s", e->entry->skip_reason);
                outbuf_putc(o, '\n');
        }
}

static void explain_json(Manager *m, const ProcFacts *p, ExplainThread *v, size_t n, OutBuf *o) {
        _cleanup_(freep) char *online = manager_fmt_cpus(m->host->online),
                              *isolated = manager_fmt_cpus(m->host->isolated);
        JsonWriter w;

        json_init(&w, o);
        json_object_begin(&w);
        json_field_int(&w, "pid", p->stat.pid);
        json_field_string(&w, "comm", p->stat.comm);
        json_field_bool(&w, "kernel_thread", p->stat.flags & PROC_PF_KTHREAD);
        json_field_string(&w, "online", online);
        json_field_string(&w, "isolated", isolated);
        json_key(&w, "threads");
        json_array_begin(&w);
        for (size_t i = 0; i < n; i++) {
                ExplainThread *e = &v[i];
                _cleanup_(freep) char *cur = manager_fmt_cpus(e->current);
                json_object_begin(&w);
                json_field_int(&w, "tid", e->tid);
                json_field_string(&w, "thread", e->name);
                json_field_string(&w, "rule", e->rule ? e->rule->name : NULL);
                json_key(&w, "not_matched");
                json_array_begin(&w);
                for (size_t k = 0; k < e->why.n; k++)
                        json_string(&w, e->why.v[k]);
                json_array_end(&w);
                if (e->rule && e->planned) {
                        _cleanup_(freep) char *req = manager_fmt_cpus(e->plan.requested),
                                              *cs = manager_fmt_cpus(e->cpuset),
                                              *a = manager_fmt_cpus(e->plan.in_cpuset),
                                              *b = manager_fmt_cpus(e->plan.in_online),
                                              *eff = manager_fmt_cpus(e->plan.effective);
                        json_key(&w, "steps");
                        json_object_begin(&w);
                        json_field_string(&w, "requested", req);
                        json_field_string(&w, "cpuset", e->cpuset ? cs : NULL);
                        json_field_string(&w, "after_cpuset", a);
                        json_field_string(&w, "after_online", b);
                        json_field_bool(&w, "isolated_allowed", e->rule->isolated_allow);
                        json_field_bool(&w, "spread", e->rule->spread);
                        json_field_string(&w, "effective", eff);
                        json_field_string(&w, "skip_reason", e->plan.skip_reason);
                        json_object_end(&w);
                }
                json_field_string(&w, "current", e->current ? cur : NULL);
                if (e->entry && e->entry->original) {
                        _cleanup_(freep) char *orig = manager_fmt_cpus(e->entry->original);
                        json_field_string(&w, "original", orig);
                } else
                        json_field_string(&w, "original", NULL);
                json_object_end(&w);
        }
        json_array_end(&w);
        json_object_end(&w);
        (void) json_finish(&w);
}

static int verb_explain(Manager *m, const CtlRequest *req, CtlReply *reply) {
        _cleanup_(proc_facts_done) ProcFacts p = {0};
        _cleanup_(freep) pid_t *tids = NULL;
        _cleanup_(freep) ExplainThread *v = NULL;
        unsigned pid;
        size_t n = 0, nv = 0;
        int r;

        if (req->n_args != 1 || parse_uint(req->args[0], &pid) < 0 || pid == 0 || pid > INT32_MAX) {
                outbuf_puts(&reply->err, "usage: explain PID (a positive process id)\n");
                reply->exit_code = CTL_EXIT_USAGE;
                return 0;
        }
        r = manager_read_proc_facts(m, (pid_t) pid, true, &p);
        if (r >= 0)
                r = procfs_list_tids(m->procfd, (pid_t) pid, &tids, &n);
        if (r < 0) {
                outbuf_printf(&reply->err, "no such process: %u\n", pid);
                reply->exit_code = CTL_EXIT_FAILED;
                return 0;
        }
        v = calloc(n ? n : 1, sizeof *v);
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (explain_one(m, &p, tids[i], &v[nv]) >= 0)
                        nv++;
                else
                        explain_thread_done(&v[nv]);
        if (req->json)
                explain_json(m, &p, v, nv, &reply->out);
        else
                explain_text(m, &p, v, nv, &reply->out);
        for (size_t i = 0; i < nv; i++)
                explain_thread_done(&v[i]);
        return outbuf_error(&reply->out);
}

static int verb_reload(Manager *m, const CtlRequest *req, CtlReply *reply) {
        _cleanup_(freep) char *summary = NULL;
        StrVec errors = {0};
        int r = manager_reload(m, &summary, &errors);

        if (r < 0) {
                for (size_t i = 0; i < errors.n; i++) {
                        /* Already escaped once, by conf_diag_format_bare(). */
                        outbuf_puts(&reply->err, errors.v[i]);
                        outbuf_putc(&reply->err, '\n');
                }
                outbuf_puts(&reply->err, "kept previous configuration\n");
                reply->exit_code = CTL_EXIT_FAILED;
        } else
                outbuf_printf(&reply->out, "%s\n", summary ? summary : "reloaded");
        strvec_done(&errors);
        return 0;
}

static int verb_rescan(Manager *m, const CtlRequest *req, CtlReply *reply) {
        uint64_t t0 = now_usec();
        Counters before = m->counters;

        manager_rescan(m, "requested");
        outbuf_printf(&reply->out,
                      "rescanned in %.1f ms: %" PRIu64 " applied, %" PRIu64
                      " restored, %zu threads managed\n",
                      (double) (now_usec() - t0) / 1000.0, m->counters.applied - before.applied,
                      m->counters.restored - before.restored, thread_table_size(m->threads));
        return 0;
}

static const struct {
        const char *verb;
        int (*fn)(Manager *m, const CtlRequest *req, CtlReply *reply);
        bool takes_args;
} verbs[] = {
        {"status", verb_status, false}, {"list", verb_list, false},     {"explain", verb_explain, true},
        {"reload", verb_reload, false}, {"rescan", verb_rescan, false},
};

int manager_ctl_handler(void *userdata, const CtlRequest *req, CtlReply *reply) {
        Manager *m = userdata;

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                if (strcmp(req->verb, verbs[i].verb) != 0)
                        continue;
                if (!verbs[i].takes_args && req->n_args > 0) {
                        outbuf_printf(&reply->err, "%s takes no arguments\n", req->verb);
                        reply->exit_code = CTL_EXIT_USAGE;
                        return 0;
                }
                return verbs[i].fn(m, req, reply);
        }
        outbuf_puts(&reply->err, "unknown verb '");
        text_escape_append(&reply->err, req->verb, strlen(req->verb));
        outbuf_puts(&reply->err, "'\n");
        reply->exit_code = CTL_EXIT_USAGE;
        return 0;
}
