/* SPDX-License-Identifier: MIT */
/* The control verbs: they read the daemon's state and render it through
 * output.h, for people or as JSON. reload and rescan act through the same
 * functions SIGHUP and the timers use; explain lives in explain.c. Long
 * answers are built in slices (CtlReply.step), so the event loop keeps
 * pinning while a big `list` is rendered. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctlproto.h"
#include "ctl/ctl-verbs.h"
#include "ctl/cpus.h"
#include "ctl/irqview.h"
#include "ctl/explain.h"
#include "ctl/memview.h"
#include "ctl/run.h"
#include "core/manager-internal.h"
#include "lib/output.h"
#include "ctl/peer.h"
#include "kernel/procfs.h"
#include "lib/suggest.h"

/* Pinned threads per rule of the config and managed threads in all, counting
 * only processes the peer could see, for status and metrics. For a non-root
 * peer each process is looked at in its /proc (peer.h): with thousands of
 * managed processes under hidepid that took ~40 ms in one go, holding the
 * loop for every user's `status`. So the entries are taken at once (cheap)
 * and looked at a slice at a time, like list's rows; then the answer is
 * rendered. Entries name their rule by an interned string (reconcile.c),
 * which outlives any reload. */
typedef struct CountEntry {
        pid_t pid;
        const char *rule; /* NULL: not pinned by a rule now */
} CountEntry;

typedef int (*CountRender)(Manager *m, bool json, CtlReply *reply, const size_t *per_rule, size_t total);

typedef struct CountJob {
        CountEntry *v;
        size_t n, next;
        PeerView peer;
        pid_t last_pid;
        bool last_visible;
        bool json;
        const char **names; /* the interned rule names, at the start */
        size_t n_names;
        size_t *per_name, total;
        CountRender render;
} CountJob;

static void count_job_free(void *p) {
        CountJob *j = p;
        if (!j)
                return;
        free(j->v);
        free(j->names);
        free(j->per_name);
        free(j);
}

static void count_job_freep(CountJob **j) {
        count_job_free(*j);
}

static int count_entry_cmp(const void *a, const void *b) {
        const CountEntry *x = a, *y = b;
        return (x->pid > y->pid) - (x->pid < y->pid);
}

static int count_step(void *userdata, void *state, CtlReply *reply) {
        Manager *m = userdata;
        CountJob *j = state;
        uint64_t t0 = now_usec();

        while (j->next < j->n) {
                /* Before an entry is skipped too: looking costs the same. */
                if (j->next > 0 && (j->next & 7) == 0 && now_usec() - t0 >= CTL_STEP_BUDGET_USEC)
                        return 1;
                const CountEntry *e = &j->v[j->next++];
                if (e->pid != j->last_pid) {
                        j->last_pid = e->pid;
                        j->last_visible = peer_may_see(&j->peer, e->pid);
                }
                if (!j->last_visible)
                        continue;
                j->total++;
                if (e->rule)
                        for (size_t k = 0; k < j->n_names; k++)
                                if (j->names[k] == e->rule) {
                                        j->per_name[k]++;
                                        break;
                                }
        }
        /* The config now (a reload may have come between slices). */
        size_t n_rules = m->rc.config->n_rules;
        _cleanup_(freep) size_t *per_rule = calloc(n_rules ? n_rules : 1, sizeof(size_t));
        if (!per_rule)
                return -ENOMEM;
        for (size_t r = 0; r < n_rules; r++)
                for (size_t k = 0; k < j->n_names; k++)
                        if (strcmp(j->names[k], m->rc.config->rules[r].name) == 0)
                                per_rule[r] = j->per_name[k];
        return j->render(m, j->json, reply, per_rule, j->total);
}

static int count_job_start(Manager *m, const CtlRequest *req, CtlReply *reply, CountRender render) {
        _cleanup_(count_job_freep) CountJob *j = calloc(1, sizeof *j);
        size_t i = 0;
        Thread *th;

        if (!j)
                return -ENOMEM;
        j->json = req->json;
        j->render = render;
        j->last_pid = -1;
        peer_view_init(&j->peer, m->rc.procfd, req->peer);
        j->n_names = m->rc.rule_names.n;
        j->names = calloc(j->n_names ? j->n_names : 1, sizeof(char *));
        j->per_name = calloc(j->n_names ? j->n_names : 1, sizeof(size_t));
        j->v = calloc(thread_table_size(m->rc.threads) + 1, sizeof(CountEntry));
        if (!j->names || !j->per_name || !j->v)
                return -ENOMEM;
        for (size_t k = 0; k < j->n_names; k++)
                j->names[k] = m->rc.rule_names.v[k];
        while ((th = thread_table_next(m->rc.threads, &i)))
                j->v[j->n++] = (CountEntry){th->pid, th->rule && th->applied ? th->rule : NULL};
        /* Root sees everything: no look per process, so no order needed. */
        if (!req->peer->root)
                qsort(j->v, j->n, sizeof *j->v, count_entry_cmp);
        reply->step = count_step;
        reply->step_free = count_job_free;
        reply->step_state = TAKE_PTR(j);
        return 0;
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

/* "guarantee:    exec (2 files marked in 1 directory; 40 execs held, 40
 * pinned, longest hold 31 us)" or "unavailable (why)", when a rule has
 * guarantee = exec. */
static void status_guarantee(Manager *m, OutBuf *o) {
        const Guarantee *g = &m->guarantee;

        /* Said only where a rule asks for it: nothing changes for others. */
        if (!g->wanted)
                return;
        outbuf_printf(o, "guarantee:    %s", guarantee_state(g));
        if (g->wanted && g->fan_fd < 0)
                outbuf_printf(o, " (%s; those rules pin from the exec event)", g->error ? g->error : "?");
        else if (g->wanted)
                outbuf_printf(o,
                              " (%zu file%s marked in %zu director%s; %" PRIu64 " execs held, %" PRIu64
                              " pinned, %" PRIu64 " late, %" PRIu64 " failed; longest hold %" PRIu64 " us)",
                              g->n_files, g->n_files == 1 ? "" : "s", g->dirs.n_wds,
                              g->dirs.n_wds == 1 ? "y" : "ies", g->stats.held, g->stats.pinned, g->stats.late,
                              g->stats.failed, g->stats.max_usec);
        outbuf_puts(o, "\n");
        if (g->wanted && g->mark_problem) {
                outbuf_puts(o, "              ");
                text_escape_append(o, g->mark_problem, strlen(g->mark_problem));
                outbuf_puts(o, "\n");
        }
}

static int status_render(Manager *m, bool json, CtlReply *reply, const size_t *counts, size_t managed) {
        _cleanup_(freep) char *online = fmt_cpus(m->rc.host->online),
                              *isolated = fmt_cpus(m->rc.host->isolated);
        uint64_t up = now_usec() - m->start_usec;

        if (json) {
                JsonWriter w;
                json_init(&w, &reply->out);
                json_object_begin(&w);
                json_field_string(&w, "version", PINNERD_VERSION);
                json_field_uint(&w, "uptime_usec", up);
                json_key(&w, "config_files");
                json_array_begin(&w);
                for (size_t i = 0; i < m->rc.config->files.n; i++)
                        json_string(&w, m->rc.config->files.v[i]);
                json_array_end(&w);
                json_field_string(&w, "event_source", manager_event_source(m));
                if (m->intake.error)
                        json_field_string(&w, "event_source_reason", m->intake.error);
                if (m->intake.connector)
                        json_field_string(&w, "event_filter", intake_filter_name(&m->intake));
                json_field_string(&w, "drift_events", driftwatch_source(&m->drift));
                if (m->drift.error)
                        json_field_string(&w, "drift_events_reason", m->drift.error);
                /* Only where a rule asks for it, as in the text. */
                if (m->guarantee.wanted) {
                        json_key(&w, "guarantee");
                        json_object_begin(&w);
                        json_field_string(&w, "state", guarantee_state(&m->guarantee));
                        if (m->guarantee.wanted && m->guarantee.error)
                                json_field_string(&w, "reason", m->guarantee.error);
                        json_field_uint(&w, "files_marked", m->guarantee.n_files);
                        json_field_uint(&w, "directories_watched", m->guarantee.dirs.n_wds);
                        json_field_uint(&w, "files_skipped", m->guarantee.n_skipped);
                        if (m->guarantee.mark_problem)
                                json_field_string(&w, "mark_problem", m->guarantee.mark_problem);
                        json_field_uint(&w, "execs_held", m->guarantee.stats.held);
                        json_field_uint(&w, "execs_pinned", m->guarantee.stats.pinned);
                        json_field_uint(&w, "execs_late", m->guarantee.stats.late);
                        json_field_uint(&w, "execs_failed", m->guarantee.stats.failed);
                        json_field_uint(&w, "execs_unknown_file", m->guarantee.stats.unknown);
                        json_field_uint(&w, "max_hold_usec", m->guarantee.stats.max_usec);
                        json_field_uint(&w, "total_hold_usec", m->guarantee.stats.total_usec);
                        json_object_end(&w);
                }
                json_field_bool(&w, "dry_run", m->opt.dry_run);
                json_field_string(&w, "online_cpus", online);
                json_field_string(&w, "isolated_cpus", isolated);
                json_key(&w, "isolated_sources");
                json_object_begin(&w);
                IsolatedSource src[16];
                size_t n_src = isolated_sources(m->rc.host, src, ELEMENTSOF(src));
                for (size_t k = 0; k < n_src; k++)
                        json_field_string(&w, src[k].name, src[k].cpus);
                isolated_sources_done(src, n_src);
                json_object_end(&w);
                json_field_uint(&w, "managed_threads", managed);
                json_key(&w, "rules");
                json_array_begin(&w);
                for (size_t i = 0; i < m->rc.config->n_rules; i++) {
                        const Rule *r = &m->rc.config->rules[i];
                        _cleanup_(freep) char *does = rule_describe(r);
                        json_object_begin(&w);
                        json_field_string(&w, "name", r->name);
                        json_field_int(&w, "priority", r->priority);
                        json_field_string(&w, "target", rule_target(r));
                        /* An avoid rule's CPUs are the ones it keeps threads
                         * off: never in "cpus", which names where they go. */
                        json_field_string(&w, "action", r->follow ? "follow" : r->avoid ? "avoid" : "cpus");
                        json_field_string(&w, "cpus", r->avoid || r->follow ? NULL : r->cpus.text);
                        json_field_string(&w, "avoid", r->avoid ? r->cpus.text : NULL);
                        json_field_text(&w, "does", does);
                        char pol[32];
                        if (r->has_policy && policy_format(&r->policy, pol, sizeof pol) == 0)
                                json_field_string(&w, "policy", pol);
                        else
                                json_field_string(&w, "policy", NULL);
                        json_field_string(&w, "spread", spread_mode_name(r->spread));
                        json_field_string(&w, "isolated", r->isolated_allow ? "allow" : "exclude");
                        json_field_uint(&w, "threads", counts[i]);
                        if (r->follow)
                                json_field_string(&w, "follow", r->follow);
                        if (r->kind == RULE_IRQS)
                                json_field_uint(&w, "irqs", irqview_rule_count(m, r));
                        if (r->kind == RULE_WORKQUEUES)
                                json_field_uint(&w, "workqueue_masks", irqview_rule_count(m, r));
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
                        json_field_uint(&w, key, counter_value(&m->rc.report.counters, i));
                }
                json_object_end(&w);
                irqview_status_json(m, &w);
                json_object_end(&w);
                return json_finish(&w);
        }

        char upbuf[64];
        fmt_duration(up, upbuf, sizeof upbuf);
        outbuf_printf(&reply->out, "pinnerd %s%s, up %s\n", PINNERD_VERSION,
                      m->opt.dry_run ? " (dry run)" : "", upbuf);
        outbuf_puts(&reply->out, "config:       ");
        for (size_t i = 0; i < m->rc.config->files.n; i++) {
                if (i)
                        outbuf_puts(&reply->out, ", ");
                text_escape_append(&reply->out, m->rc.config->files.v[i], strlen(m->rc.config->files.v[i]));
        }
        outbuf_printf(&reply->out, "\nevents:       %s%s%s%s\n", manager_event_source(m),
                      m->intake.error ? " (" : "", m->intake.error ? m->intake.error : "",
                      m->intake.error ? ")" : "");
        if (m->intake.connector)
                outbuf_printf(&reply->out, "event-filter: %s\n", intake_filter_name(&m->intake));
        outbuf_printf(&reply->out, "drift-events: %s%s%s%s\n", driftwatch_source(&m->drift),
                      m->drift.error ? " (" : "", m->drift.error ? m->drift.error : "",
                      m->drift.error ? ")" : "");
        status_guarantee(m, &reply->out);
        _cleanup_(freep) char *iso_src = fmt_isolated(m->rc.host);
        outbuf_printf(&reply->out, "online CPUs:  %s\nisolated:     %s\nmanaged:      %zu threads\n", online,
                      iso_src     ? iso_src
                      : *isolated ? isolated
                                  : "none",
                      managed);
        irqview_status_text(m, &reply->out);
        outbuf_puts(&reply->out, "counters:     ");
        for (size_t i = 0; i < ELEMENTSOF(counter_fields); i++)
                outbuf_printf(&reply->out, "%s%s %" PRIu64, i ? ", " : "", counter_fields[i].name,
                              counter_value(&m->rc.report.counters, i));
        outbuf_printf(&reply->out, "\n\nrules (%zu):\n", m->rc.config->n_rules);

        Table t;
        table_init(&t);
        table_add_column(&t, "RULE", TABLE_LEFT);
        table_add_column(&t, "PRIORITY", TABLE_RIGHT);
        table_add_column(&t, "THREADS", TABLE_RIGHT);
        table_add_column(&t, "DOES", TABLE_LEFT);
        for (size_t i = 0; i < m->rc.config->n_rules; i++) {
                const Rule *r = &m->rc.config->rules[i];
                _cleanup_(freep) char *does = rule_describe(r);
                table_add_cell(&t, r->name);
                table_add_cellf(&t, "%d", r->priority);
                if (r->kind == RULE_IRQS || r->kind == RULE_WORKQUEUES)
                        table_add_cellf(&t, "%zu %s", irqview_rule_count(m, r),
                                        r->kind == RULE_IRQS ? "IRQs" : "masks");
                else
                        table_add_cellf(&t, "%zu", counts[i]);
                /* Escaped by rule_describe already; printable ASCII. */
                table_add_cell(&t, does ? does : "?");
        }
        int r = table_render(&t, &reply->out);
        table_done(&t);
        return r;
}

static int verb_status(Manager *m, const CtlRequest *req, CtlReply *reply) {
        return count_job_start(m, req, reply, status_render);
}

static int tid_cmp(const void *a, const void *b) {
        const pid_t *x = a, *y = b;
        if (x[0] != y[0])
                return (x[0] > y[0]) - (x[0] < y[0]);
        return (x[1] > y[1]) - (x[1] < y[1]);
}

/* What the thread's rule asks for on this host now; NULL for an avoid rule
 * (its CPUs are the ones it keeps the thread off) or a rule gone. */
static char *rule_requested(const Manager *m, const Rule *r) {
        _cleanup_(cpuset_freep) CpuSet *set = NULL;

        if (!r || r->avoid || plan_resolve_cpus(m->rc.host, &r->cpus, &set) < 0)
                return NULL;
        return cpuset_format_list(set);
}

/* `list` in slices: the (pid, tid) pairs are taken and sorted at once (cheap),
 * rows are rendered a slice at a time; a thread gone in between is left out.
 * The columns are always the same; a skipped thread has "-" as its
 * effective CPUs and a mark [N] in SKIPPED pointing at the reason below. */
typedef struct ListJob {
        pid_t *pairs; /* pid, tid, pid, tid, ... */
        size_t n, next, shown;
        bool json;
        PeerView peer;
        pid_t last_pid;
        bool last_visible;
        StrVec reasons; /* skip reasons, numbered from 1 in the table */
        size_t *reason_counts;
        /* Several NUMA nodes, or a rule moves memory: a last column LOCAL and
         * memory_local_permille in JSON, the memory locality of last_pid
         * (memview.h). */
        bool memory;
        char local[16];
        int local_permille;
        JsonWriter w;
        Table t;
} ListJob;

static void list_job_free(void *p) {
        ListJob *j = p;
        if (!j)
                return;
        free(j->pairs);
        strvec_done(&j->reasons);
        free(j->reason_counts);
        table_done(&j->t);
        free(j);
}

static void list_job_freep(ListJob **j) {
        list_job_free(*j);
}

/* The policy th's rule sets, "-" when none; the original after a slash. */
static void rule_policy(const Rule *r, const Thread *th, char *buf, size_t size, char *orig, size_t osize) {
        snprintf(buf, size, "-");
        snprintf(orig, osize, "-");
        if (r && r->has_policy)
                (void) policy_format(&r->policy, buf, size);
        if (th->policy_original)
                (void) policy_format(th->policy_original, orig, osize);
}

/* The footnote number of a skip reason, from 1. */
static size_t reason_mark(ListJob *j, const char *reason) {
        size_t i;
        for (i = 0; i < j->reasons.n; i++)
                if (strcmp(j->reasons.v[i], reason) == 0)
                        break;
        if (i == j->reasons.n) {
                size_t *nc = realloc(j->reason_counts, (i + 1) * sizeof *nc);
                if (!nc)
                        return 0;
                j->reason_counts = nc;
                if (strvec_push(&j->reasons, reason) < 0)
                        return 0;
                nc[i] = 0;
        }
        j->reason_counts[i]++;
        return i + 1;
}

static void list_row(Manager *m, ListJob *j, const Thread *th) {
        const Rule *r = th->rule ? config_find_rule(m->rc.config, th->rule) : NULL;
        _cleanup_(freep) char *req_s = rule_requested(m, r), *eff = fmt_cpus(th->applied),
                              *orig = fmt_cpus(th->original);
        char pol[32], pol_orig[32];

        rule_policy(r, th, pol, sizeof pol, pol_orig, sizeof pol_orig);
        if (j->json) {
                json_object_begin(&j->w);
                json_field_int(&j->w, "pid", th->pid);
                json_field_int(&j->w, "tid", th->tid);
                json_field_string(&j->w, "comm", th->comm);
                json_field_string(&j->w, "thread", th->name);
                json_field_string(&j->w, "rule", th->rule);
                json_field_string(&j->w, "target", r ? rule_target(r) : NULL);
                json_field_string(&j->w, "action", r ? (r->avoid ? "avoid" : "cpus") : NULL);
                json_field_string(&j->w, "requested", req_s);
                json_field_string(&j->w, "avoid", r && r->avoid ? r->cpus.text : NULL);
                json_field_string(&j->w, "effective", th->applied ? eff : NULL);
                json_field_string(&j->w, "original", th->original ? orig : NULL);
                json_field_string(&j->w, "skipped", th->skip_reason);
                json_field_string(&j->w, "policy", strcmp(pol, "-") ? pol : NULL);
                json_field_string(&j->w, "original_policy", th->policy_original ? pol_orig : NULL);
                if (j->memory) {
                        json_key(&j->w, "memory_local_permille");
                        if (j->local_permille >= 0)
                                json_int(&j->w, j->local_permille);
                        else
                                json_null(&j->w);
                }
                json_object_end(&j->w);
                return;
        }
        table_add_cellf(&j->t, "%d", (int) th->pid);
        table_add_cellf(&j->t, "%d", (int) th->tid);
        /* Kernel threads in brackets, as ps(1) shows them. */
        if (r && r->kthreads)
                table_add_cellf(&j->t, "[%s]", th->comm);
        else
                table_add_cell(&j->t, th->comm);
        table_add_cell(&j->t, th->name);
        table_add_cell(&j->t, th->rule);
        if (r && r->avoid)
                table_add_cellf(&j->t, "avoid %s", r->cpus.text);
        else
                table_add_cell(&j->t, req_s);
        table_add_cell(&j->t, th->applied ? eff : "-");
        table_add_cell(&j->t, orig);
        table_add_cell(&j->t, pol);
        size_t mark = th->skip_reason ? reason_mark(j, th->skip_reason) : 0;
        if (mark)
                table_add_cellf(&j->t, "[%zu]", mark);
        else
                table_add_cell(&j->t, th->skip_reason ? "yes" : "-");
        if (j->memory)
                table_add_cell(&j->t, j->local);
}

static int list_step(void *userdata, void *state, CtlReply *reply) {
        Manager *m = userdata;
        ListJob *j = state;
        uint64_t t0 = now_usec();

        while (j->next < j->n) {
                /* Checked before any row is skipped: a row the peer may not
                 * see costs a look in /proc too. */
                if (j->next > 0 && (j->next & 7) == 0 && now_usec() - t0 >= CTL_STEP_BUDGET_USEC)
                        return 1;
                pid_t pid = j->pairs[2 * j->next], tid = j->pairs[2 * j->next + 1];
                j->next++;
                Thread *th = thread_table_get(m->rc.threads, tid);
                if (!th || th->pid != pid || !th->rule)
                        continue;
                if (pid != j->last_pid) {
                        j->last_pid = pid;
                        j->last_visible = peer_may_see(&j->peer, pid);
                        if (j->last_visible && j->memory) {
                                /* Once per process: numa_maps walks its page tables. */
                                _cleanup_(memview_done) MemView mv = {0};
                                memview_read(m, &j->peer, pid, &mv);
                                memview_short(&mv, j->local, sizeof j->local);
                                j->local_permille = mv.permille;
                        }
                }
                if (!j->last_visible)
                        continue;
                list_row(m, j, th);
                j->shown++;
        }
        if (j->json) {
                json_array_end(&j->w);
                return json_finish(&j->w);
        }
        int r = table_render(&j->t, &reply->out);
        if (r >= 0) {
                outbuf_printf(&reply->out, "%zu thread%s\n", j->shown, j->shown == 1 ? "" : "s");
                for (size_t i = 0; i < j->reasons.n; i++) {
                        outbuf_printf(&reply->out, "%s[%zu] skipped (%zu thread%s): ", i ? "" : "\n", i + 1,
                                      j->reason_counts[i], j->reason_counts[i] == 1 ? "" : "s");
                        text_escape_append(&reply->out, j->reasons.v[i], strlen(j->reasons.v[i]));
                        outbuf_putc(&reply->out, '\n');
                }
        }
        return r < 0 ? r : outbuf_error(&reply->out);
}

/* list's filters, sent as pid=N and rule=NAME. -EINVAL: a usage error said
 * in reply; 0 with *ret_rule NULL for a rule the configuration lacks (also
 * said, with what was meant). */
static int list_filters(Manager *m, const CtlRequest *req, CtlReply *reply, pid_t *ret_pid,
                        const char **ret_rule) {
        for (size_t i = 0; i < req->n_args; i++) {
                const char *a = req->args[i];
                unsigned v;
                if (strncmp(a, "pid=", 4) == 0 && parse_uint(a + 4, &v) == 0 && v > 0 && v <= INT32_MAX) {
                        /* A thread id stands for its process, as for explain. */
                        const Thread *th = thread_table_get(m->rc.threads, (pid_t) v);
                        *ret_pid = th ? th->pid : (pid_t) v;
                } else if (strncmp(a, "rule=", 5) == 0 && a[5]) {
                        const Rule *r = config_find_rule(m->rc.config, a + 5);
                        if (!r) {
                                const char **names = calloc(m->rc.config->n_rules + 1, sizeof *names);
                                const char *hint = NULL;
                                for (size_t k = 0; names && k < m->rc.config->n_rules; k++)
                                        names[k] = m->rc.config->rules[k].name;
                                if (names)
                                        hint = suggest_word(a + 5, names, m->rc.config->n_rules);
                                outbuf_puts(&reply->err, "no rule '");
                                text_escape_append(&reply->err, a + 5, strlen(a + 5));
                                if (hint)
                                        outbuf_printf(&reply->err,
                                                      "' in the configuration (did you mean '%s'?)\n", hint);
                                else
                                        outbuf_puts(&reply->err, "' in the configuration (pinnerctl status "
                                                                 "lists the rules)\n");
                                free(names);
                                reply->exit_code = CTL_EXIT_FAILED;
                                return -ENOENT;
                        }
                        *ret_rule = r->name;
                } else {
                        outbuf_puts(&reply->err, "usage: list [pid=PID] [rule=NAME]\n");
                        reply->exit_code = CTL_EXIT_USAGE;
                        return -EINVAL;
                }
        }
        return 0;
}

static int verb_list(Manager *m, const CtlRequest *req, CtlReply *reply) {
        _cleanup_(list_job_freep) ListJob *j = calloc(1, sizeof *j);
        const char *only_rule = NULL;
        pid_t only_pid = 0;
        size_t i = 0;
        Thread *th;

        if (!j)
                return -ENOMEM;
        if (list_filters(m, req, reply, &only_pid, &only_rule) < 0)
                return 0;
        j->json = req->json;
        j->last_pid = -1;
        j->local_permille = -1;
        j->memory = numa_node_count(m->rc.host) > 1 || m->rc.config->memory;
        peer_view_init(&j->peer, m->rc.procfd, req->peer);
        j->pairs = calloc(2 * (thread_table_size(m->rc.threads) + 1), sizeof(pid_t));
        if (!j->pairs)
                return -ENOMEM;
        while ((th = thread_table_next(m->rc.threads, &i)))
                if (th->rule && (!only_pid || th->pid == only_pid) &&
                    (!only_rule || strcmp(th->rule, only_rule) == 0)) {
                        j->pairs[2 * j->n] = th->pid;
                        j->pairs[2 * j->n + 1] = th->tid;
                        j->n++;
                }
        qsort(j->pairs, j->n, 2 * sizeof(pid_t), tid_cmp);
        if (j->json) {
                json_init(&j->w, &reply->out);
                json_array_begin(&j->w);
        } else {
                static const struct {
                        const char *name;
                        TableAlign align;
                } columns[] = {
                        {"PID", TABLE_RIGHT},      {"TID", TABLE_RIGHT},     {"PROCESS", TABLE_LEFT},
                        {"THREAD", TABLE_LEFT},    {"RULE", TABLE_LEFT},     {"REQUESTED", TABLE_LEFT},
                        {"EFFECTIVE", TABLE_LEFT}, {"ORIGINAL", TABLE_LEFT}, {"POLICY", TABLE_LEFT},
                        {"SKIPPED", TABLE_LEFT},
                };
                table_init(&j->t);
                for (size_t k = 0; k < ELEMENTSOF(columns); k++)
                        table_add_column(&j->t, columns[k].name, columns[k].align);
                /* Memory locality matters where there is more than one node. */
                if (j->memory)
                        table_add_column(&j->t, "LOCAL", TABLE_RIGHT);
        }
        reply->step = list_step;
        reply->step_free = list_job_free;
        reply->step_state = TAKE_PTR(j);
        return 0;
}

static void reload_json(const ReloadResult *res, OutBuf *out) {
        JsonWriter w;

        json_init(&w, out);
        json_object_begin(&w);
        json_field_bool(&w, "reloaded", res->ok);
        if (res->ok) {
                json_field_uint(&w, "rules", res->n_rules);
                json_field_uint(&w, "threads_changed", res->changed);
                json_field_uint(&w, "restored", res->restored);
                json_key(&w, "unmatched_rules");
                json_array_begin(&w);
                for (size_t i = 0; i < res->unmatched.n; i++)
                        json_string(&w, res->unmatched.v[i]);
                json_array_end(&w);
        } else
                json_field_bool(&w, "kept_previous_configuration", true);
        json_key(&w, "files");
        json_array_begin(&w);
        for (size_t i = 0; i < res->diags.files.n; i++)
                json_string(&w, res->diags.files.v[i]);
        json_array_end(&w);
        json_key(&w, "errors");
        conf_diags_json(&w, &res->diags, false);
        json_key(&w, "warnings");
        conf_diags_json(&w, &res->diags, true);
        json_object_end(&w);
        (void) json_finish(&w);
}

static int verb_reload(Manager *m, const CtlRequest *req, CtlReply *reply) {
        _cleanup_(reload_result_done) ReloadResult res = {0};
        int r = manager_reload(m, &res);

        if (r < 0)
                reply->exit_code = CTL_EXIT_FAILED;
        if (req->json) {
                reload_json(&res, &reply->out);
                return 0;
        }
        /* Every diagnostic, warnings too: what the journal got, where the
         * administrator who reloaded looks. Escaped once already. */
        for (size_t i = 0; i < res.diags.n; i++) {
                _cleanup_(freep) char *d = conf_diag_format(&res.diags.v[i]);
                outbuf_puts(&reply->err, d ? d : res.diags.v[i].message);
                outbuf_putc(&reply->err, '\n');
        }
        if (r < 0) {
                outbuf_puts(&reply->err, "kept previous configuration\n");
                return 0;
        }
        outbuf_printf(&reply->out, "%s\n", res.summary ? res.summary : "reloaded");
        if (res.unmatched.n > 0) {
                outbuf_printf(&reply->out,
                              "rule%s that match%s nothing running: ", res.unmatched.n == 1 ? "" : "s",
                              res.unmatched.n == 1 ? "es" : "");
                for (size_t i = 0; i < res.unmatched.n; i++)
                        outbuf_printf(&reply->out, "%s%s", i ? ", " : "", res.unmatched.v[i]);
                outbuf_putc(&reply->out, '\n');
        }
        return 0;
}

static int verb_rescan(Manager *m, const CtlRequest *req, CtlReply *reply) {
        uint64_t t0 = now_usec();
        Counters before = m->rc.report.counters;

        manager_rescan(m, "requested");
        double ms = (double) (now_usec() - t0) / 1000.0;
        uint64_t applied = m->rc.report.counters.applied - before.applied,
                 restored = m->rc.report.counters.restored - before.restored;
        if (req->json) {
                JsonWriter w;
                json_init(&w, &reply->out);
                json_object_begin(&w);
                json_field_uint(&w, "duration_usec", now_usec() - t0);
                json_field_uint(&w, "applied", applied);
                json_field_uint(&w, "restored", restored);
                json_field_uint(&w, "managed_threads", thread_table_size(m->rc.threads));
                json_object_end(&w);
                return json_finish(&w);
        }
        outbuf_printf(&reply->out,
                      "rescanned in %.1f ms: %" PRIu64 " applied, %" PRIu64
                      " restored, %zu threads managed\n",
                      ms, applied, restored, thread_table_size(m->rc.threads));
        return 0;
}

/* Prometheus text exposition, or the same as JSON. Every rule of the
 * configuration has its series (zeros included, so rate() works from the
 * start), and so have rules a reload removed that had outcomes: counters
 * never go back. */
static int metrics_render_counts(Manager *m, bool json, CtlReply *reply, const size_t *counts,
                                 size_t managed) {
        const Reporter *rp = &m->rc.report;
        size_t n_cfg = m->rc.config->n_rules, n = 0;
        _cleanup_(freep) MetricsRule *rules = calloc(n_cfg + rp->n_per_rule + 1, sizeof *rules);
        const Counters *c = &rp->counters;

        if (!rules)
                return -ENOMEM;
        for (size_t i = 0; i < n_cfg; i++) {
                const char *name = m->rc.config->rules[i].name;
                const RuleCounters *rc = report_rule_counters(rp, name);
                rules[n++] = (MetricsRule){.name = name, .threads = counts[i]};
                if (rc) {
                        rules[n - 1].applied = rc->applied;
                        rules[n - 1].restored = rc->restored;
                        rules[n - 1].skipped = rc->skipped;
                        rules[n - 1].failed = rc->failed;
                        rules[n - 1].drift = rc->drift;
                }
        }
        for (size_t i = 0; i < rp->n_per_rule; i++) {
                const RuleCounters *rc = &rp->per_rule[i];
                if (config_find_rule(m->rc.config, rc->rule))
                        continue;
                rules[n++] = (MetricsRule){.name = rc->rule,
                                           .applied = rc->applied,
                                           .restored = rc->restored,
                                           .skipped = rc->skipped,
                                           .failed = rc->failed,
                                           .drift = rc->drift};
        }
        MetricsSnapshot s = {
                .version = PINNERD_VERSION,
                .start_realtime_usec = m->start_realtime_usec,
                .config_ok = m->reload_ok,
                .config_success_realtime_usec = m->reload_success_realtime_usec,
                .event_source = manager_event_source(m),
                .drift_events = driftwatch_source(&m->drift),
                .events = c->events,
                .lost_event_rescans = c->lost_rescans,
                .rescans = c->rescans,
                .applied = c->applied,
                .restored = c->restored,
                .skipped = c->skipped,
                .failed = c->failed,
                .drift = c->drift,
                .managed_threads = managed,
                .rules = rules,
                .n_rules = n,
                .event_to_pin = &rp->event_to_pin,
                .memory_moved = m->memory.counters.moved,
                .memory_shared = m->memory.counters.shared,
                .memory_busy = m->memory.counters.busy,
                .memory_no_memory = m->memory.counters.no_memory,
                .memory_other = m->memory.counters.other,
                .memory_usec = m->memory.counters.usec,
        };
        return json ? metrics_render_json(&s, &reply->out) : metrics_render(&s, &reply->out);
}

static int verb_metrics(Manager *m, const CtlRequest *req, CtlReply *reply) {
        return count_job_start(m, req, reply, metrics_render_counts);
}

static const struct {
        const char *verb;
        int (*fn)(Manager *m, const CtlRequest *req, CtlReply *reply);
        bool takes_args;
} verbs[] = {
        {"status", verb_status, false}, {"list", verb_list, true},      {"explain", verb_explain, true},
        {"reload", verb_reload, false}, {"rescan", verb_rescan, false}, {"metrics", verb_metrics, false},
        {"cpus", verb_cpus, true},      {"audit", verb_audit, true},    {"run", verb_run, true},
};

int ctl_verbs_handle(void *manager, const CtlRequest *req, CtlReply *reply) {
        Manager *m = manager;

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
