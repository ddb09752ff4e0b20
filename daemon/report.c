/* SPDX-License-Identifier: MIT */
#include "report.h"

#include <errno.h>
#include <string.h>

#include "util.h"

char *fmt_cpus(const CpuSet *s) {
        return s ? cpuset_format_list(s) : strdup("-");
}

static void thread_fields(const Thread *th, LogFields *f) {
        *f = (LogFields){
                .rule = th->rule, .pid = th->pid, .tid = th->tid, .comm = th->comm, .thread = th->name};
}

void report_applied(Reporter *rp, const Thread *th, const Rule *rule, const Plan *plan, const CpuSet *prev,
                    bool dry_run) {
        _cleanup_(freep) char *eff_s = fmt_cpus(plan->effective), *req_s = fmt_cpus(plan->requested),
                              *prev_s = fmt_cpus(prev);
        LogFields f;

        thread_fields(th, &f);
        f.cpus = eff_s;
        f.requested = req_s;
        f.previous = prev_s;
        rp->counters.applied++;
        log_event(rp->log, EV_APPLIED, LOG_INFO, &f,
                  "%s %s/%s (pid %d, tid %d) to CPU%s %s by rule %s (was %s)",
                  dry_run ? "would pin" : "pinned", th->comm, th->name, (int) th->pid, (int) th->tid,
                  cpuset_count(plan->effective) == 1 ? "" : "s", eff_s, rule->name, prev_s);
}

void report_restored(Reporter *rp, const Thread *th, const CpuSet *prev, const char *why, bool dry_run) {
        _cleanup_(freep) char *orig_s = fmt_cpus(th->original), *prev_s = fmt_cpus(prev);
        LogFields f;

        thread_fields(th, &f);
        f.cpus = orig_s;
        f.previous = prev_s;
        f.reason = why;
        rp->counters.restored++;
        log_event(rp->log, EV_RESTORED, LOG_INFO, &f,
                  "restored %s/%s (pid %d, tid %d) to CPUs %s (was %s): %s%s", th->comm, th->name,
                  (int) th->pid, (int) th->tid, orig_s, prev_s, why, dry_run ? " (dry run)" : "");
}

void report_restore_failed(Reporter *rp, const Thread *th, const char *reason, int err) {
        LogFields f;

        thread_fields(th, &f);
        f.reason = reason;
        rp->counters.failed++;
        log_event(rp->log, EV_FAILED, LOG_WARNING, &f, "could not restore %s/%s (pid %d, tid %d): %s",
                  th->comm, th->name, (int) th->pid, (int) th->tid, strerror(err ? err : EINVAL));
}

void report_no_cpu(Reporter *rp, const Thread *th, const Rule *rule, const Plan *plan, const char *why) {
        _cleanup_(freep) char *req_s = fmt_cpus(plan->requested);
        LogFields f;

        thread_fields(th, &f);
        f.requested = req_s;
        f.reason = why;
        rp->counters.skipped++;
        log_event(rp->log, EV_SKIPPED, LOG_NOTICE, &f,
                  "left %s/%s (pid %d, tid %d) as it is: rule %s asks for CPUs %s but %s", th->comm, th->name,
                  (int) th->pid, (int) th->tid, rule->name, req_s, why);
}

void report_refused(Reporter *rp, const Thread *th, const Rule *rule, const char *reason, bool quiet) {
        LogFields f;

        thread_fields(th, &f);
        f.reason = reason;
        rp->counters.skipped++;
        log_event(rp->log, EV_SKIPPED, quiet ? LOG_DEBUG : LOG_NOTICE, &f,
                  "skipped %s/%s (pid %d, tid %d) for rule %s: %s", th->comm, th->name, (int) th->pid,
                  (int) th->tid, rule->name, reason);
}

void report_failed(Reporter *rp, const Thread *th, const Rule *rule, const Plan *plan, const char *reason,
                   int err) {
        _cleanup_(freep) char *eff_s = fmt_cpus(plan->effective), *req_s = fmt_cpus(plan->requested);
        LogFields f;

        thread_fields(th, &f);
        f.cpus = eff_s;
        f.requested = req_s;
        f.reason = reason;
        rp->counters.failed++;
        log_event(rp->log, EV_FAILED, LOG_ERR, &f,
                  "failed to pin %s/%s (pid %d, tid %d) to CPUs %s by rule %s: %s", th->comm, th->name,
                  (int) th->pid, (int) th->tid, eff_s, rule->name, strerror(err ? err : EINVAL));
}

void report_drift(Reporter *rp, const Thread *th, const CpuSet *now, bool reapply) {
        _cleanup_(freep) char *cur_s = fmt_cpus(now), *app_s = fmt_cpus(th->applied);
        LogFields f;

        thread_fields(th, &f);
        f.cpus = app_s;
        f.previous = cur_s;
        f.reason = "mask changed by someone else";
        rp->counters.drift++;
        log_event(rp->log, EV_DRIFT, LOG_WARNING, &f,
                  "%s/%s (pid %d, tid %d) was moved to CPUs %s outside pinnerd (rule %s wants %s)%s",
                  th->comm, th->name, (int) th->pid, (int) th->tid, cur_s, th->rule ? th->rule : "-", app_s,
                  reapply ? "; re-applying" : "");
}

void report_dropped(Reporter *rp, const Thread *th, const Rule *rule, const Plan *plan) {
        _cleanup_(freep) char *d = fmt_cpus(plan->dropped), *req = fmt_cpus(plan->requested),
                              *eff = fmt_cpus(plan->effective);
        LogFields f;

        thread_fields(th, &f);
        f.requested = req;
        f.cpus = eff;
        f.reason = "requested CPUs outside what the thread may use";
        log_note(rp->log, LOG_NOTICE, &f,
                 "rule %s: CPUs %s of %s left out for %s (pid %d): not online, outside its cpuset, or "
                 "isolated",
                 rule->name, d, req, th->comm, (int) th->pid);
}
