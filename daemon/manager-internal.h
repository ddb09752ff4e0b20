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

#include "affinity.h"
#include "cnproc.h"
#include "conf.h"
#include "facts.h"
#include "host.h"
#include "intake.h"
#include "manager.h"
#include "report.h"
#include "state.h"
#include "threads.h"

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
        Intake intake; /* intake.c */

        sd_event_source *rescan_timer, *verify_timer, *storm_timer, *state_timer;
        sd_event_source *sig_term, *sig_int, *sig_hup;
        sd_device_monitor *hotplug;
        struct CtlServer *ctl;

        uint64_t generation;
        uint64_t start_usec;
        int exit_code;
};

/* reconcile.c */
void reconcile_process(Manager *m, pid_t pid);
/* is_new: from the thread's fork event (its mask is its creator's). */
void reconcile_thread(Manager *m, pid_t pid, pid_t tid, bool is_new);
/* The exit event of tid: forget it (exits are authoritative). */
void reconcile_exit(Manager *m, pid_t pid, pid_t tid);
/* The exec event of pid: a non-leader thread that exec'd took the leader's
 * tid; its entry moves with it. */
void reconcile_exec(Manager *m, pid_t pid);
void manager_rescan(Manager *m, const char *why);
void reconcile_check_drift(Manager *m);
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
