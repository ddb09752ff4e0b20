/* SPDX-License-Identifier: MIT */
/* The daemon's state, one object handed to the modules of the flow:
 *
 *   intake.c     proc connector → a batch of work items
 *   facts.c      what the kernel says about a task
 *   decide.c     pure: facts → rule, plan, verdict
 *   reconcile.c  facts → decide → apply → record → report, for one task
 *   threads.c    what pinnerd remembers of each thread
 *   state.c      the originals that survive a crash
 *   report.c     one journald record and one counter per outcome
 *   reload.c     a new configuration, whole or not at all
 *   manager.c    the event loop, timers, signals, hotplug, start and stop
 *   ctl-verbs.c, explain.c   the control verbs
 *
 * Each module owns its part of this struct; others read through the module's
 * functions. */
#pragma once

#include <systemd/sd-device.h>
#include <systemd/sd-event.h>

#include "kernel/affinity.h"
#include "kernel/cnproc.h"
#include "rules/conf.h"
#include "core/driftwatch.h"
#include "core/facts.h"
#include "kernel/host.h"
#include "core/intake.h"
#include "core/manager.h"
#include "core/report.h"
#include "core/state.h"
#include "core/threads.h"
#include "core/unmovable.h"

struct Manager {
        ManagerOptions opt;
        Logger *log;
        sd_event *event;
        Host *host;
        int procfd;
        Config *config;

        Facts facts;          /* facts.c */
        ThreadTable *threads; /* threads.c */
        StrVec rule_names;    /* interned names thread entries point at */
        Affinity aff;         /* affinity.c */
        Reporter report;      /* report.c */
        StateDir state;       /* state.c; dirfd -1 without a socket */
        bool state_enabled;
        Intake intake;       /* intake.c */
        DriftWatch drift;    /* driftwatch.c */
        Unmovable unmovable; /* kernel threads that cannot move, said once */

        sd_event_source *rescan_timer, *verify_timer, *storm_timer, *state_timer;
        sd_event_source *sig_term, *sig_int, *sig_hup;
        sd_device_monitor *hotplug;
        struct CtlServer *ctl;

        bool host_fresh; /* re-read during this verify pass */
        bool replanning; /* a reload: every decision is written again, drifted ones too */
        uint64_t generation;
        uint64_t start_usec;
        int exit_code;
};

/* reconcile.c */
/* These return whether the task needed work (something of it is remembered,
 * or a rule could match it): intake's pacing tells storms apart by it.
 * comm, when not NULL, is the process's name as a COMM event just gave it. */
bool reconcile_process(Manager *m, pid_t pid, const char *comm);
/* is_new: from the thread's fork event (its mask is its creator's). */
bool reconcile_thread(Manager *m, pid_t pid, pid_t tid, bool is_new);
/* The exit event of tid: forget it (exits are authoritative). */
bool reconcile_exit(Manager *m, pid_t pid, pid_t tid);
/* The exec event of pid: a non-leader thread that exec'd took the leader's
 * tid; its entry moves with it. */
void reconcile_exec(Manager *m, pid_t pid);
void manager_rescan(Manager *m, const char *why);
/* Say which kernel threads rules could not move and that were not said yet:
 * one record per rule, after a scan or a batch of events. */
void manager_say_unmovable(Manager *m);
void reconcile_check_drift(Manager *m);
/* Someone else's sched_setaffinity named tid (a drift event): check that one
 * thread against what pinnerd set and apply the drift policy. */
void reconcile_drift_event(Manager *m, pid_t tid);
/* Restore every remembered thread (stop). Returns how many were restored. */
size_t reconcile_restore_all(Manager *m, const char *why);
/* Seed remembered originals from the state file (start). */
void reconcile_load_state(Manager *m);
/* Write the state file if an original changed (at most every
 * STATE_WRITE_INTERVAL_USEC; a timer takes the rest). */
void manager_state_flush(Manager *m, bool force);

/* The spread load for tid under rule (see decide_spread_load). */
int reconcile_spread_load(Manager *m, pid_t pid, const Rule *rule, pid_t tid, int held_cpu, unsigned **ret,
                          unsigned *ret_n);

/* reload.c */
int manager_load_config(Manager *m, Config **ret, StrVec *errors);
/* Re-read the config; on success swap and reconcile. ret_summary (may be
 * NULL) gets the one-line result, ret_errors every error. 0 or -EINVAL. */
int manager_reload(Manager *m, char **ret_summary, StrVec *ret_errors);

/* manager.c */
/* Re-read what can change on the host (online and isolated CPUs, the
 * partitions, NUMA nodes, mounts); on failure keep the old and say so. */
void manager_refresh_host(Manager *m, const char *why);
/* "proc-connector", "polling", or "single scan" (--once). */
const char *manager_event_source(const Manager *m);
void manager_storm_timer_update(Manager *m);
void manager_notify_status(Manager *m, const char *prefix);
int manager_arm_timers(Manager *m);

/* ctl-verbs.c: the control socket handler. */
struct CtlRequest;
struct CtlReply;
int manager_ctl_handler(void *userdata, const struct CtlRequest *req, struct CtlReply *reply);
/* explain.c */
int verb_explain(Manager *m, const struct CtlRequest *req, struct CtlReply *reply);
