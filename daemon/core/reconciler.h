/* SPDX-License-Identifier: MIT */
/* The Reconciler: the state the flow works on (reconcile.h is the flow).
 * Every path that changes a mask goes through the entry bookkeeping below,
 * so the thread table, the state file, the journal and the counters agree.
 *
 * It knows nothing of the event loop: what the loop must act on (originals
 * to save, the host re-read) is left in its flags, which the caller reads
 * and clears. */
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
#include "rules/plan.h"

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

/* Re-read what can change on the host (online and isolated CPUs, the
 * partitions, NUMA nodes, mounts); on failure keep the old and say so. */
void reconcile_refresh_host(Reconciler *rc, const char *why);
/* Restore every remembered thread (stop). Returns how many were restored. */
size_t reconcile_restore_all(Reconciler *rc, const char *why);
/* Seed remembered originals from a previous run's state file (start): an
 * entry is trusted only while (tid, start time) still names its thread. */
void reconcile_adopt_originals(Reconciler *rc, const StateEntries *e, const char *from);

/* ---- the entry bookkeeping, for the reconcile*.c files ------------------------- */

/* Thread entries name their rule by a string that outlives any one config:
 * one copy per distinct rule name ever loaded. NULL: out of memory. */
const char *reconciler_intern_rule_name(Reconciler *rc, const char *name);
/* Is the thread an entry remembers still that thread (not gone, tid not
 * recycled)? */
bool reconciler_thread_still_there(Reconciler *rc, const Thread *th);
/* Report a problem once per (tid, start time, reason): true the first time. */
bool reconciler_report_once(Thread *th, unsigned bit);
/* An original (a mask, a policy, or both) on disk before the write that
 * replaces it; a failed append is said once and pinning goes on. */
void reconciler_save_original(Reconciler *rc, pid_t pid, pid_t tid, uint64_t start, const CpuSet *original,
                              const SchedPolicy *policy);
/* Before the first write of th's mask (want): its original, when the write
 * (or an inherited mask) makes it one. */
void reconciler_save_original_mask(Reconciler *rc, const Thread *th, const CpuSet *want);
void reconciler_set_skip(Thread *th, const char *reason);
/* Where pinnerd keeps pid's threads changed (for the memory step). */
void reconciler_note_placement(Reconciler *rc, pid_t pid);
/* What pinnerd holds the thread to (NULL: nothing); takes `now`. */
void reconciler_set_applied(Reconciler *rc, Thread *th, CpuSet *now);
/* Drop th's entry, noting what the loop must act on. */
void reconciler_forget(Reconciler *rc, Thread *th);
/* A thread no rule applies to any more: its mask back (restore = yes), then
 * forgotten. */
void reconciler_release_thread(Reconciler *rc, Thread *th, const char *why);
/* The kernel refused a mask for a reason that will not change; why NULL:
 * the result's own reason. */
void reconciler_note_refused(Reconciler *rc, Thread *th, const Rule *rule, AffinityResult res,
                             const char *why);
/* The outcome of one affinity_apply for th; now: the mask read back after
 * the write (NULL when nothing was written). */
void reconciler_record_result(Reconciler *rc, Thread *th, const Rule *rule, const Plan *plan,
                              AffinityResult res, const CpuSet *prev, const CpuSet *now, int err);
/* The rule's scheduling policy, or a policy an earlier rule set given back. */
void reconciler_apply_policy(Reconciler *rc, Thread *th, const Rule *rule);
