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
#include "core/manager-internal.h"
#include "lib/output.h"
#include "ctl/peer.h"
#include "kernel/procfs.h"

/* Pinned threads per rule of the config, in one walk of the table (entries
 * point at interned names, so counting per name pointer is cheap); calloc'd,
 * n_rules entries, NULL on ENOMEM. */
static size_t *rule_thread_counts(const Manager *m) {
        size_t n_names = m->rc.rule_names.n, i = 0;
        _cleanup_(freep) size_t *per_name = calloc(n_names ? n_names : 1, sizeof(size_t));
        size_t *per_rule = calloc(m->rc.config->n_rules ? m->rc.config->n_rules : 1, sizeof(size_t));
        Thread *th;

        if (!per_name || !per_rule) {
                free(per_rule);
                return NULL;
        }
        while ((th = thread_table_next(m->rc.threads, &i)))
                if (th->rule && th->applied)
                        for (size_t k = 0; k < n_names; k++)
                                if (m->rc.rule_names.v[k] == th->rule) {
                                        per_name[k]++;
                                        break;
                                }
        for (size_t r = 0; r < m->rc.config->n_rules; r++)
                for (size_t k = 0; k < n_names; k++)
                        if (strcmp(m->rc.rule_names.v[k], m->rc.config->rules[r].name) == 0)
                                per_rule[r] = per_name[k];
        return per_rule;
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

static const char *spread_name(SpreadMode s) {
        static const char *const names[] = {"no", "yes", "rule", "index"};
        return (unsigned) s < ELEMENTSOF(names) ? names[s] : "?";
}

static int verb_status(Manager *m, const CtlRequest *req, CtlReply *reply) {
        _cleanup_(freep) size_t *counts = rule_thread_counts(m);
        if (!counts)
                return -ENOMEM;
        _cleanup_(freep) char *online = fmt_cpus(m->rc.host->online),
                              *isolated = fmt_cpus(m->rc.host->isolated);
        uint64_t up = now_usec() - m->start_usec;

        if (req->json) {
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
                json_field_uint(&w, "managed_threads", thread_table_size(m->rc.threads));
                json_key(&w, "rules");
                json_array_begin(&w);
                for (size_t i = 0; i < m->rc.config->n_rules; i++) {
                        const Rule *r = &m->rc.config->rules[i];
                        json_object_begin(&w);
                        json_field_string(&w, "name", r->name);
                        json_field_int(&w, "priority", r->priority);
                        json_field_string(&w, "cpus", r->cpus.text);
                        char pol[32];
                        if (r->has_policy && policy_format(&r->policy, pol, sizeof pol) == 0)
                                json_field_string(&w, "policy", pol);
                        else
                                json_field_string(&w, "policy", NULL);
                        json_field_string(&w, "spread", spread_name(r->spread));
                        json_field_uint(&w, "threads", counts[i]);
                        json_field_string(&w, "kind", rule_kind_name(r->kind));
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
        _cleanup_(freep) char *iso_src = fmt_isolated(m->rc.host);
        outbuf_printf(&reply->out, "online CPUs:  %s\nisolated:     %s\nmanaged:      %zu threads\n", online,
                      iso_src     ? iso_src
                      : *isolated ? isolated
                                  : "none",
                      thread_table_size(m->rc.threads));
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
        table_add_column(&t, "CPUS", TABLE_LEFT);
        for (size_t i = 0; i < m->rc.config->n_rules; i++) {
                const Rule *r = &m->rc.config->rules[i];
                table_add_cell(&t, r->name);
                table_add_cellf(&t, "%d", r->priority);
                if (r->kind == RULE_IRQS || r->kind == RULE_WORKQUEUES)
                        table_add_cellf(&t, "%zu %s", irqview_rule_count(m, r),
                                        r->kind == RULE_IRQS ? "IRQs" : "masks");
                else
                        table_add_cellf(&t, "%zu", counts[i]);
                if (r->follow)
                        table_add_cellf(&t, "follow %s", r->follow);
                else
                        table_add_cellf(&t, "%s%s", r->avoid ? "avoid " : "",
                                        r->cpus.text ? r->cpus.text : "-");
        }
        int r = table_render(&t, &reply->out);
        table_done(&t);
        return r;
}

static int tid_cmp(const void *a, const void *b) {
        const pid_t *x = a, *y = b;
        if (x[0] != y[0])
                return (x[0] > y[0]) - (x[0] < y[0]);
        return (x[1] > y[1]) - (x[1] < y[1]);
}

/* What the thread's rule asks for on this host now. */
static char *rule_requested(const Manager *m, const char *rule_name) {
        const Rule *r = rule_name ? config_find_rule(m->rc.config, rule_name) : NULL;
        _cleanup_(cpuset_freep) CpuSet *set = NULL;

        if (!r || plan_resolve_cpus(m->rc.host, &r->cpus, &set) < 0)
                return NULL;
        return cpuset_format_list(set);
}

/* `list` in slices: the (pid, tid) pairs are taken and sorted at once (cheap),
 * rows are rendered a slice at a time; a thread gone in between is left out. */
typedef struct ListJob {
        pid_t *pairs; /* pid, tid, pid, tid, ... */
        size_t n, next, shown;
        bool json;
        PeerView peer;
        pid_t last_pid;
        bool last_visible;
        bool policies; /* some rule sets a policy: a POLICY column */
        JsonWriter w;
        Table t;
} ListJob;

static void list_job_free(void *p) {
        ListJob *j = p;
        if (!j)
                return;
        free(j->pairs);
        table_done(&j->t);
        free(j);
}

static void list_job_freep(ListJob **j) {
        list_job_free(*j);
}

/* The policy th's rule sets, "-" when none; the original after a slash. */
static void rule_policy(const Manager *m, const Thread *th, char *buf, size_t size, char *orig,
                        size_t osize) {
        const Rule *r = th->rule ? config_find_rule(m->rc.config, th->rule) : NULL;

        snprintf(buf, size, "-");
        snprintf(orig, osize, "-");
        if (r && r->has_policy)
                (void) policy_format(&r->policy, buf, size);
        if (th->policy_original)
                (void) policy_format(th->policy_original, orig, osize);
}

static void list_row(Manager *m, ListJob *j, const Thread *th) {
        _cleanup_(freep) char *req_s = rule_requested(m, th->rule), *eff = fmt_cpus(th->applied),
                              *orig = fmt_cpus(th->original);
        char pol[32], pol_orig[32];

        rule_policy(m, th, pol, sizeof pol, pol_orig, sizeof pol_orig);
        if (j->json) {
                json_object_begin(&j->w);
                json_field_int(&j->w, "pid", th->pid);
                json_field_int(&j->w, "tid", th->tid);
                json_field_string(&j->w, "comm", th->comm);
                json_field_string(&j->w, "thread", th->name);
                json_field_string(&j->w, "rule", th->rule);
                json_field_string(&j->w, "requested", req_s);
                json_field_string(&j->w, "effective", th->applied ? eff : NULL);
                json_field_string(&j->w, "original", th->original ? orig : NULL);
                json_field_string(&j->w, "skipped", th->skip_reason);
                json_field_string(&j->w, "policy", strcmp(pol, "-") ? pol : NULL);
                json_field_string(&j->w, "original_policy", th->policy_original ? pol_orig : NULL);
                json_object_end(&j->w);
                return;
        }
        table_add_cellf(&j->t, "%d", (int) th->pid);
        table_add_cellf(&j->t, "%d", (int) th->tid);
        table_add_cell(&j->t, th->comm);
        table_add_cell(&j->t, th->name);
        table_add_cell(&j->t, th->rule);
        table_add_cell(&j->t, req_s);
        if (th->skip_reason)
                table_add_cellf(&j->t, "skipped: %s", th->skip_reason);
        else
                table_add_cell(&j->t, eff);
        table_add_cell(&j->t, orig);
        if (j->policies)
                table_add_cell(&j->t, pol);
}

static int list_step(void *userdata, void *state, CtlReply *reply) {
        Manager *m = userdata;
        ListJob *j = state;
        uint64_t t0 = now_usec();

        while (j->next < j->n) {
                pid_t pid = j->pairs[2 * j->next], tid = j->pairs[2 * j->next + 1];
                j->next++;
                Thread *th = thread_table_get(m->rc.threads, tid);
                if (!th || th->pid != pid || !th->rule)
                        continue;
                if (pid != j->last_pid) {
                        j->last_pid = pid;
                        j->last_visible = peer_may_see(&j->peer, pid);
                }
                if (!j->last_visible)
                        continue;
                list_row(m, j, th);
                j->shown++;
                if ((j->next & 63) == 0 && now_usec() - t0 >= CTL_STEP_BUDGET_USEC)
                        return 1;
        }
        if (j->json) {
                json_array_end(&j->w);
                return json_finish(&j->w);
        }
        int r = table_render(&j->t, &reply->out);
        if (r >= 0)
                outbuf_printf(&reply->out, "%zu threads\n", j->shown);
        return r < 0 ? r : 0;
}

static int verb_list(Manager *m, const CtlRequest *req, CtlReply *reply) {
        _cleanup_(list_job_freep) ListJob *j = calloc(1, sizeof *j);
        size_t i = 0;
        Thread *th;

        if (!j)
                return -ENOMEM;
        j->json = req->json;
        j->last_pid = -1;
        peer_view_init(&j->peer, m->rc.procfd, req->privileged, req->uid, req->pid);
        j->pairs = calloc(2 * (thread_table_size(m->rc.threads) + 1), sizeof(pid_t));
        if (!j->pairs)
                return -ENOMEM;
        while ((th = thread_table_next(m->rc.threads, &i)))
                if (th->rule) {
                        j->pairs[2 * j->n] = th->pid;
                        j->pairs[2 * j->n + 1] = th->tid;
                        j->n++;
                }
        qsort(j->pairs, j->n, 2 * sizeof(pid_t), tid_cmp);
        if (j->json) {
                json_init(&j->w, &reply->out);
                json_array_begin(&j->w);
        } else {
                table_init(&j->t);
                table_add_column(&j->t, "PID", TABLE_RIGHT);
                table_add_column(&j->t, "TID", TABLE_RIGHT);
                table_add_column(&j->t, "PROCESS", TABLE_LEFT);
                table_add_column(&j->t, "THREAD", TABLE_LEFT);
                table_add_column(&j->t, "RULE", TABLE_LEFT);
                table_add_column(&j->t, "REQUESTED", TABLE_LEFT);
                table_add_column(&j->t, "EFFECTIVE", TABLE_LEFT);
                table_add_column(&j->t, "ORIGINAL", TABLE_LEFT);
                for (size_t k = 0; k < m->rc.config->n_rules; k++)
                        j->policies |= m->rc.config->rules[k].has_policy;
                if (j->policies)
                        table_add_column(&j->t, "POLICY", TABLE_LEFT);
        }
        reply->step = list_step;
        reply->step_free = list_job_free;
        reply->step_state = TAKE_PTR(j);
        return 0;
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
        Counters before = m->rc.report.counters;

        manager_rescan(m, "requested");
        outbuf_printf(&reply->out,
                      "rescanned in %.1f ms: %" PRIu64 " applied, %" PRIu64
                      " restored, %zu threads managed\n",
                      (double) (now_usec() - t0) / 1000.0, m->rc.report.counters.applied - before.applied,
                      m->rc.report.counters.restored - before.restored, thread_table_size(m->rc.threads));
        return 0;
}

/* Prometheus text exposition; --json does not apply (the format is fixed). */
static int verb_metrics(Manager *m, const CtlRequest *req, CtlReply *reply) {
        _cleanup_(freep) MetricsRule *rules =
                calloc(m->rc.config->n_rules ? m->rc.config->n_rules : 1, sizeof *rules);
        _cleanup_(freep) size_t *counts = rule_thread_counts(m);
        const Counters *c = &m->rc.report.counters;

        if (!rules || !counts)
                return -ENOMEM;
        for (size_t i = 0; i < m->rc.config->n_rules; i++)
                rules[i] = (MetricsRule){m->rc.config->rules[i].name, counts[i]};
        MetricsSnapshot s = {
                .events = c->events,
                .lost_event_rescans = c->lost_rescans,
                .rescans = c->rescans,
                .applied = c->applied,
                .restored = c->restored,
                .skipped = c->skipped,
                .failed = c->failed,
                .drift = c->drift,
                .managed_threads = thread_table_size(m->rc.threads),
                .rules = rules,
                .n_rules = m->rc.config->n_rules,
                .event_to_pin = &m->rc.report.event_to_pin,
        };
        return metrics_render(&s, &reply->out);
}

static const struct {
        const char *verb;
        int (*fn)(Manager *m, const CtlRequest *req, CtlReply *reply);
        bool takes_args;
} verbs[] = {
        {"status", verb_status, false}, {"list", verb_list, false},     {"explain", verb_explain, true},
        {"reload", verb_reload, false}, {"rescan", verb_rescan, false}, {"metrics", verb_metrics, false},
        {"cpus", verb_cpus, true},      {"audit", verb_audit, true},
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
