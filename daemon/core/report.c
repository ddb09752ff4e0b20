/* SPDX-License-Identifier: MIT */
#include "core/report.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "kernel/host.h"
#include "lib/output.h"
#include "lib/util.h"

char *fmt_cpus(const CpuSet *s) {
        return s ? cpuset_format_list(s) : strdup("-");
}

size_t isolated_sources(const Host *h, IsolatedSource *v, size_t max) {
        CpuSet *sets[16] = {0};
        size_t n = 0;

        if (max > 16)
                max = 16;
        for (int c = h->isolated ? cpuset_next(h->isolated, -1) : -1; c >= 0;
             c = cpuset_next(h->isolated, c)) {
                const char *src = host_isolated_source(h, (unsigned) c);
                size_t k;
                if (!src)
                        src = "isolcpus";
                for (k = 0; k < n && strcmp(v[k].name, src) != 0; k++)
                        ;
                if (k == n) {
                        if (n == max || !(sets[n] = cpuset_new()))
                                continue;
                        v[n++] = (IsolatedSource){.name = src};
                }
                (void) cpuset_add(sets[k], (unsigned) c);
        }
        for (size_t k = 0; k < n; k++) {
                v[k].cpus = cpuset_format_list(sets[k]);
                cpuset_free(sets[k]);
        }
        return n;
}

void isolated_sources_done(IsolatedSource *v, size_t n) {
        for (size_t k = 0; k < n; k++)
                free(v[k].cpus);
}

char *fmt_isolated(const Host *h) {
        IsolatedSource v[16];
        size_t n = isolated_sources(h, v, ELEMENTSOF(v));
        OutBuf o = OUTBUF_INIT;

        for (size_t k = 0; k < n; k++) {
                outbuf_printf(&o, "%s%s (", k ? ", " : "", v[k].cpus ? v[k].cpus : "?");
                /* Partition paths are raw cgroup names: escaped for people. */
                text_escape_append(&o, v[k].name, strlen(v[k].name));
                outbuf_putc(&o, ')');
        }
        isolated_sources_done(v, n);
        if (n == 0)
                outbuf_puts(&o, "none");
        if (outbuf_error(&o) < 0) {
                outbuf_done(&o);
                return NULL;
        }
        return o.data;
}

void report_done(Reporter *rp) {
        for (size_t i = 0; i < rp->n_per_rule; i++)
                free(rp->per_rule[i].rule);
        free(rp->per_rule);
        rp->per_rule = NULL;
        rp->n_per_rule = rp->cap_per_rule = 0;
}

const RuleCounters *report_rule_counters(const Reporter *rp, const char *name) {
        for (size_t i = 0; name && i < rp->n_per_rule; i++)
                if (strcmp(rp->per_rule[i].rule, name) == 0)
                        return &rp->per_rule[i];
        return NULL;
}

/* The counters of the thread's rule, made on its first outcome; NULL for a
 * thread without a rule (or out of memory: the totals still count). The
 * last one found is tried first: outcomes come in runs of one rule. */
static RuleCounters *rule_counters(Reporter *rp, const char *rule) {
        size_t *last = &rp->last_rule;

        if (!rule)
                return NULL;
        if (*last < rp->n_per_rule && strcmp(rp->per_rule[*last].rule, rule) == 0)
                return &rp->per_rule[*last];
        for (size_t i = 0; i < rp->n_per_rule; i++)
                if (strcmp(rp->per_rule[i].rule, rule) == 0)
                        return &rp->per_rule[*last = i];
        if (rp->n_per_rule == rp->cap_per_rule) {
                size_t ncap = rp->cap_per_rule ? rp->cap_per_rule * 2 : 16;
                RuleCounters *nv = realloc(rp->per_rule, ncap * sizeof *nv);
                if (!nv)
                        return NULL;
                rp->per_rule = nv;
                rp->cap_per_rule = ncap;
        }
        RuleCounters *c = &rp->per_rule[rp->n_per_rule];
        *c = (RuleCounters){.rule = strdup(rule)};
        if (!c->rule)
                return NULL;
        *last = rp->n_per_rule++;
        return c;
}

/* Count one outcome in the totals and for the thread's rule. */
#define COUNT(rp, th, what)                                                                                  \
        do {                                                                                                 \
                RuleCounters *_c = rule_counters((rp), (th)->rule);                                          \
                (rp)->counters.what++;                                                                       \
                if (_c)                                                                                      \
                        _c->what++;                                                                          \
        } while (0)

/* The thread's fields, and whose process it is (the owner of /proc/PID: its
 * effective uid, root when it is not dumpable), for the logger's per-user
 * record budget: one user's flood does not push out everyone's records. */
static void thread_fields(const Reporter *rp, const Thread *th, LogFields *f) {
        char name[16];
        struct stat st;

        *f = (LogFields){
                .rule = th->rule, .pid = th->pid, .tid = th->tid, .comm = th->comm, .thread = th->name};
        snprintf(name, sizeof name, "%d", (int) th->pid);
        if (rp->procfd >= 0 && fstatat(rp->procfd, name, &st, 0) == 0) {
                f->uid = st.st_uid;
                f->has_uid = true;
        }
}

void report_applied(Reporter *rp, const Thread *th, const Rule *rule, const Plan *plan, const CpuSet *prev,
                    bool dry_run) {
        _cleanup_(freep) char *eff_s = fmt_cpus(plan->effective), *req_s = fmt_cpus(plan->requested),
                              *prev_s = fmt_cpus(prev);
        LogFields f;

        thread_fields(rp, th, &f);
        f.cpus = eff_s;
        f.requested = req_s;
        f.previous = prev_s;
        COUNT(rp, th, applied);
        /* Kernel event timestamp → mask set, for the metrics histogram. */
        if (!dry_run && rp->event_ns) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                uint64_t now_ns = (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
                metrics_observe(&rp->event_to_pin, now_ns > rp->event_ns ? now_ns - rp->event_ns : 0);
        }
        log_event(rp->log, EV_APPLIED, LOG_INFO, &f,
                  "%s %s/%s (pid %d, tid %d) to CPU%s %s by rule %s (was %s)",
                  dry_run ? "would pin" : "pinned", th->comm, th->name, (int) th->pid, (int) th->tid,
                  cpuset_count(plan->effective) == 1 ? "" : "s", eff_s, rule->name, prev_s);
}

void report_restored(Reporter *rp, const Thread *th, const CpuSet *prev, const char *why, bool dry_run) {
        _cleanup_(freep) char *orig_s = fmt_cpus(th->original), *prev_s = fmt_cpus(prev);
        LogFields f;

        thread_fields(rp, th, &f);
        f.cpus = orig_s;
        f.previous = prev_s;
        f.reason = why;
        COUNT(rp, th, restored);
        log_event(rp->log, EV_RESTORED, LOG_INFO, &f,
                  "restored %s/%s (pid %d, tid %d) to CPUs %s (was %s): %s%s", th->comm, th->name,
                  (int) th->pid, (int) th->tid, orig_s, prev_s, why, dry_run ? " (dry run)" : "");
}

void report_restore_failed(Reporter *rp, const Thread *th, const char *reason, int err) {
        LogFields f;

        thread_fields(rp, th, &f);
        f.reason = reason;
        COUNT(rp, th, failed);
        log_event(rp->log, EV_FAILED, LOG_WARNING, &f, "could not restore %s/%s (pid %d, tid %d): %s",
                  th->comm, th->name, (int) th->pid, (int) th->tid, strerror(err ? err : EINVAL));
}

void report_no_cpu(Reporter *rp, const Thread *th, const Rule *rule, const Plan *plan, const char *why) {
        _cleanup_(freep) char *req_s = fmt_cpus(plan->requested);
        LogFields f;

        thread_fields(rp, th, &f);
        f.requested = req_s;
        f.reason = why;
        COUNT(rp, th, skipped);
        /* An empty request (a term empty on this host) is said by the reason. */
        if (req_s && *req_s)
                log_event(rp->log, EV_SKIPPED, LOG_NOTICE, &f,
                          "left %s/%s (pid %d, tid %d) as it is: rule %s asks for CPUs %s but %s", th->comm,
                          th->name, (int) th->pid, (int) th->tid, rule->name, req_s, why);
        else
                log_event(rp->log, EV_SKIPPED, LOG_NOTICE, &f,
                          "left %s/%s (pid %d, tid %d) as it is: rule %s: %s", th->comm, th->name,
                          (int) th->pid, (int) th->tid, rule->name, why);
}

void report_refused(Reporter *rp, const Thread *th, const Rule *rule, const char *reason, bool quiet) {
        LogFields f;

        thread_fields(rp, th, &f);
        f.reason = reason;
        COUNT(rp, th, skipped);
        log_event(rp->log, EV_SKIPPED, quiet ? LOG_DEBUG : LOG_NOTICE, &f,
                  "skipped %s/%s (pid %d, tid %d) for rule %s: %s", th->comm, th->name, (int) th->pid,
                  (int) th->tid, rule->name, reason);
}

void report_failed(Reporter *rp, const Thread *th, const Rule *rule, const Plan *plan, const char *reason,
                   int err) {
        _cleanup_(freep) char *eff_s = fmt_cpus(plan->effective), *req_s = fmt_cpus(plan->requested);
        LogFields f;

        thread_fields(rp, th, &f);
        f.cpus = eff_s;
        f.requested = req_s;
        f.reason = reason;
        COUNT(rp, th, failed);
        log_event(rp->log, EV_FAILED, LOG_ERR, &f,
                  "failed to pin %s/%s (pid %d, tid %d) to CPUs %s by rule %s: %s", th->comm, th->name,
                  (int) th->pid, (int) th->tid, eff_s, rule->name, strerror(err ? err : EINVAL));
}

void report_drift(Reporter *rp, const Thread *th, const CpuSet *now, bool reapply) {
        _cleanup_(freep) char *cur_s = fmt_cpus(now), *app_s = fmt_cpus(th->applied);
        LogFields f;

        thread_fields(rp, th, &f);
        f.cpus = app_s;
        f.previous = cur_s;
        f.reason = "mask changed by someone else";
        COUNT(rp, th, drift);
        log_event(rp->log, EV_DRIFT, LOG_WARNING, &f,
                  "%s/%s (pid %d, tid %d) was moved to CPUs %s outside pinnerd (rule %s wants %s)%s",
                  th->comm, th->name, (int) th->pid, (int) th->tid, cur_s, th->rule ? th->rule : "-", app_s,
                  reapply ? "; re-applying" : "");
}

void report_dropped(Reporter *rp, const Thread *th, const Rule *rule, const Plan *plan) {
        _cleanup_(freep) char *d = fmt_cpus(plan->dropped), *req = fmt_cpus(plan->requested),
                              *eff = fmt_cpus(plan->effective);
        LogFields f;

        thread_fields(rp, th, &f);
        f.requested = req;
        f.cpus = eff;
        f.reason = "requested CPUs outside what the thread may use";
        log_note(rp->log, LOG_NOTICE, &f,
                 "rule %s: CPUs %s of %s left out for %s (pid %d): not online, outside its cpuset, or "
                 "isolated",
                 rule->name, d, req, th->comm, (int) th->pid);
}

void report_policy_applied(Reporter *rp, const Thread *th, const Rule *rule, const char *policy,
                           const SchedPolicy *prev, bool dry_run) {
        char was[32] = "?";
        LogFields f;

        (void) policy_format(prev, was, sizeof was);
        thread_fields(rp, th, &f);
        f.policy = policy;
        f.reason = "scheduling policy";
        COUNT(rp, th, applied);
        log_event(rp->log, EV_APPLIED, LOG_INFO, &f,
                  "%s %s/%s (pid %d, tid %d) to policy %s by rule %s (was %s)", dry_run ? "would set" : "set",
                  th->comm, th->name, (int) th->pid, (int) th->tid, policy, rule->name, was);
}

void report_policy_restored(Reporter *rp, const Thread *th, const char *policy, const char *why,
                            bool dry_run) {
        LogFields f;

        thread_fields(rp, th, &f);
        f.policy = policy;
        f.reason = why;
        COUNT(rp, th, restored);
        log_event(rp->log, EV_RESTORED, LOG_INFO, &f, "restored %s/%s (pid %d, tid %d) to policy %s: %s%s",
                  th->comm, th->name, (int) th->pid, (int) th->tid, policy, why, dry_run ? " (dry run)" : "");
}

void report_policy_failed(Reporter *rp, const Thread *th, const Rule *rule, const char *policy,
                          const char *reason, int err) {
        LogFields f;

        thread_fields(rp, th, &f);
        f.policy = policy;
        f.reason = reason;
        COUNT(rp, th, failed);
        log_event(rp->log, EV_FAILED, LOG_ERR, &f,
                  "failed to set policy %s on %s/%s (pid %d, tid %d) by rule %s: %s", policy, th->comm,
                  th->name, (int) th->pid, (int) th->tid, rule->name, strerror(err ? err : EINVAL));
}

/* ---- IRQs, default_smp_affinity and workqueues ---- */

static void target_fields(const TargetRef *t, LogFields *f) {
        *f = (LogFields){.irq = t->irq, .irq_name = t->irq_name, .workqueue = t->workqueue};
}

void report_target_applied(Reporter *rp, const TargetRef *t, const Rule *rule, const CpuSet *want,
                           const CpuSet *prev, const CpuSet *effective, bool dry_run) {
        _cleanup_(freep) char *want_s = fmt_cpus(want), *prev_s = fmt_cpus(prev), *eff_s = NULL;
        LogFields f;
        bool pending = effective && !cpuset_empty(effective) && !cpuset_subset(effective, want);

        target_fields(t, &f);
        f.rule = rule->name;
        f.cpus = want_s;
        f.previous = prev_s;
        if (pending) {
                eff_s = fmt_cpus(effective);
                f.reason = "delivered on its old CPUs until its next interrupt";
        }
        rp->counters.applied++;
        log_event(rp->log, EV_TARGET_APPLIED, LOG_INFO, &f, "%s %s to CPU%s %s by rule %s (was %s)%s%s%s",
                  dry_run ? "would move" : "moved", t->label, cpuset_count(want) == 1 ? "" : "s", want_s,
                  rule->name, prev_s, pending ? "; it still lands on CPU " : "", pending ? eff_s : "",
                  pending ? " until its next interrupt" : "");
}

void report_target_restored(Reporter *rp, const TargetRef *t, const CpuSet *orig, const CpuSet *prev,
                            const char *why, bool dry_run) {
        _cleanup_(freep) char *orig_s = fmt_cpus(orig), *prev_s = fmt_cpus(prev);
        LogFields f;

        target_fields(t, &f);
        f.cpus = orig_s;
        f.previous = prev_s;
        f.reason = why;
        rp->counters.restored++;
        log_event(rp->log, EV_TARGET_RESTORED, LOG_INFO, &f, "restored %s to CPUs %s (was %s): %s%s",
                  t->label, orig_s, prev_s, why, dry_run ? " (dry run)" : "");
}

void report_target_failed(Reporter *rp, const TargetRef *t, const Rule *rule, const CpuSet *want, int err) {
        _cleanup_(freep) char *want_s = fmt_cpus(want);
        LogFields f;

        target_fields(t, &f);
        f.rule = rule ? rule->name : NULL;
        f.cpus = want_s;
        f.reason = strerror(err ? err : EIO);
        rp->counters.failed++;
        if (rule)
                log_event(rp->log, EV_TARGET_FAILED, LOG_WARNING, &f,
                          "could not move %s to CPUs %s by rule %s: %s; tried again at the next IRQ event or "
                          "verify",
                          t->label, want_s, rule->name, f.reason);
        else
                log_event(rp->log, EV_TARGET_FAILED, LOG_WARNING, &f, "could not restore %s to CPUs %s: %s",
                          t->label, want_s, f.reason);
}

void report_target_skipped(Reporter *rp, const TargetRef *t, const Rule *rule, const char *why) {
        LogFields f;

        target_fields(t, &f);
        f.rule = rule->name;
        f.reason = why;
        rp->counters.skipped++;
        log_event(rp->log, EV_TARGET_SKIPPED, LOG_NOTICE, &f, "left %s as it is: rule %s: %s", t->label,
                  rule->name, why);
}

void report_target_drift(Reporter *rp, const TargetRef *t, const char *rule, const CpuSet *now,
                         const CpuSet *applied, bool reapply) {
        _cleanup_(freep) char *now_s = fmt_cpus(now), *app_s = fmt_cpus(applied);
        LogFields f;

        target_fields(t, &f);
        f.rule = rule;
        f.cpus = app_s;
        f.previous = now_s;
        f.reason = "mask changed by someone else";
        rp->counters.drift++;
        log_event(rp->log, EV_TARGET_DRIFT, LOG_WARNING, &f,
                  "%s was moved to CPUs %s outside pinnerd (rule %s wants %s)%s", t->label, now_s,
                  rule ? rule : "-", app_s, reapply ? "; re-applying" : "");
}

void report_irqs_unmovable(Reporter *rp, const char *rule, unsigned n, const char *list) {
        LogFields f = {.rule = rule, .reason = list};

        rp->counters.skipped += n;
        log_event(rp->log, EV_TARGET_SKIPPED, LOG_NOTICE, &f,
                  "rule %s: %u IRQ%s cannot move and stay%s where %s: %s", rule, n, n == 1 ? "" : "s",
                  n == 1 ? "s" : "", n == 1 ? "it is" : "they are", list);
}

void report_conflict(Reporter *rp, const char *rule, const char *text) {
        LogFields f = {.rule = rule, .reason = text};

        log_event(rp->log, EV_CONFLICT, LOG_WARNING, &f, "%s", text);
}
