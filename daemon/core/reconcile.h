/* SPDX-License-Identifier: MIT */
/* Reconciling tasks with the rules: facts → decide → apply → record →
 * report, for one task at a time, and the scans, exits, execs and drift
 * checks built on it. Every path that changes a mask comes through here, so
 * the thread table, the journal and the counters agree.
 *
 * The Reconciler is the state this flow works on. It knows nothing of the
 * event loop: what the loop must act on (originals to save, the host
 * re-read) is left in its flags, which the caller reads and clears. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/facts.h"
#include "core/report.h"
#include "core/state.h"
#include "core/threads.h"
#include "core/unmovable.h"
#include "kernel/affinity.h"
#include "kernel/host.h"
#include "lib/intmap.h"
#include "lib/log.h"
#include "rules/config.h"

#define RECONCILE_HELD_MAX 64
#define RECONCILE_HELD_USEC 1000000

typedef struct Reconciler {
        Logger *log;    /* not owned */
        Host *host;     /* owned */
        int procfd;     /* owned; below --root like every read */
        Config *config; /* owned; replaced whole by a reload */
        bool dry_run;

        Facts facts;          /* facts.c */
        ThreadTable *threads; /* threads.c */
        StrVec rule_names;    /* interned names thread entries point at */
        Affinity aff;         /* affinity.c */
        Reporter report;      /* report.c */
        Unmovable unmovable;  /* kernel threads that cannot move, said once */

        /* Where an original goes before pinnerd relies on it (state.h's
         * appended lines); NULL without a state file (a dry run, no socket). */
        StateDir *state;
        bool state_failing; /* an append failed: said once, until one works */
        /* What happened, for the owner of the state file: an original was
         * remembered or forgotten since its last snapshot. */
        bool originals_changed;
        /* A managed thread's applied mask changed, or such a thread went:
         * IRQs that follow a rule's threads may have to move too. */
        bool placements_changed;

        /* Processes whose managed threads were placed, moved, released or
         * went away, while some rule moves memory: pid → 1, for the memory
         * step (core/memory.c), which takes and clears them. */
        IntMap placement_changed;

        /* Called between two processes of a full scan, so a long scan never
         * keeps waiting execs (core/guarantee.c) waiting for all of it. */
        void (*between_tasks)(void *userdata);
        void *between_userdata;

        /* Tasks whose exec pinnerd held and pinned (reconcile_held_exec),
         * until their exec event: an event about them that comes before it
         * (their fork, read late) sees the program they are leaving, and
         * must not undo the pin. A failed exec sends no exec event: the
         * hold lapses after RECONCILE_HELD_USEC. */
        struct {
                pid_t tid;
                uint64_t until;
        } held[RECONCILE_HELD_MAX];
        size_t n_held;

        bool host_fresh; /* re-read during this drift pass */
        bool replanning; /* a reload: every decision is written again, drifted ones too */
        uint64_t generation;
} Reconciler;

/* Take the host (read below root: "/" or a captured tree) and open its
 * proc; the config comes later (reconcile_set_config). -errno with
 * *ret_error set; the caller still owns host then. */
int reconcile_init(Reconciler *rc, Logger *log, Host *host, bool dry_run, const char *root, char **ret_error);
void reconcile_done(Reconciler *rc);
/* Swap in a new configuration (owned from now on); the old one is freed. */
void reconcile_set_config(Reconciler *rc, Config *c);

/* These return whether the task needed work (something of it is remembered,
 * or a rule could match it): intake's pacing tells storms apart by it.
 * comm, when not NULL, is the process's name as a COMM event just gave it;
 * creator, when not 0, the thread that forked it (its fork event). */
bool reconcile_process(Reconciler *rc, pid_t pid, const char *comm, pid_t creator);
/* is_new: from the thread's fork event (its mask is its creator's). */
bool reconcile_thread(Reconciler *rc, pid_t pid, pid_t tid, bool is_new);
/* The exit event of tid: forget it (exits are authoritative). */
bool reconcile_exit(Reconciler *rc, pid_t pid, pid_t tid);
/* The exec event of pid: a non-leader thread that exec'd took the leader's
 * tid; its entry moves with it. */
void reconcile_exec(Reconciler *rc, pid_t pid);

/* A full /proc scan: every process against the rules, entries the scan did
 * not reach released or forgotten. The host is re-read first. */
void reconcile_rescan(Reconciler *rc, const char *why);
/* Re-read what can change on the host (online and isolated CPUs, the
 * partitions, NUMA nodes, mounts); on failure keep the old and say so. */
void reconcile_refresh_host(Reconciler *rc, const char *why);
/* Say which kernel threads rules could not move and that were not said yet:
 * one record per rule, after a scan or a batch of events. */
void reconcile_say_unmovable(Reconciler *rc);

/* Every remembered thread against the mask pinnerd set (verify). */
void reconcile_check_drift(Reconciler *rc);
/* Someone else's sched_setaffinity named tid (a drift event): check that one
 * thread against what pinnerd set and apply the drift policy. */
void reconcile_drift_event(Reconciler *rc, pid_t tid);

/* What an exec held by guarantee = exec got (core/guarantee.c), recorded
 * after the exec was allowed: the entry of tid with its original (prev, the
 * mask it had) and what was set, and one journal record. res and err:
 * affinity_held_set's; policy_res: policy_held_set's (AFF_UNCHANGED when the
 * rule sets none). new_comm: what the task's name becomes with the exec. */
void reconcile_held_exec(Reconciler *rc, pid_t tid, const Rule *rule, const char *new_comm,
                         const CpuSet *prev, const CpuSet *set, AffinityResult res, int err,
                         const SchedPolicy *prev_policy, AffinityResult policy_res, int policy_err);

/* Restore every remembered thread (stop). Returns how many were restored. */
size_t reconcile_restore_all(Reconciler *rc, const char *why);
/* Seed remembered originals from a previous run's state file (start): an
 * entry is trusted only while (tid, start time) still names its thread. */
void reconcile_adopt_originals(Reconciler *rc, const StateEntries *e, const char *from);

/* The spread load for tid under rule (see decide_spread_load). */
int reconcile_spread_load(Reconciler *rc, pid_t pid, const Rule *rule, pid_t tid, int held_cpu,
                          unsigned **ret, unsigned *ret_n);
