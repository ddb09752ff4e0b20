/* SPDX-License-Identifier: MIT */
/* status and metrics: the daemon's state, counters and per-rule counts
 * (counted by count.c), for people, as JSON, or as the Prometheus text
 * exposition. */
#include "ctl/status.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/count.h"
#include "ctl/irqview.h"
#include "lib/output.h"

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

int verb_status(Manager *m, const CtlRequest *req, CtlReply *reply) {
        return count_job_start(m, req, reply, status_render);
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

int verb_metrics(Manager *m, const CtlRequest *req, CtlReply *reply) {
        return count_job_start(m, req, reply, metrics_render_counts);
}
