/* SPDX-License-Identifier: MIT */
/* Reconciling tasks with the rules: facts → decide → apply → record →
 * report, for one task at a time (an event about a process or a thread, an
 * exit, an exec, an exec held by guarantee = exec). Full scans are
 * reconcile-scan.h's, drift checks reconcile-drift.h's; the state they all
 * work on is reconciler.h's. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "core/reconciler.h"

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

/* What an exec held by guarantee = exec got (core/guarantee.c), recorded
 * after the exec was allowed: the entry of tid with its original (prev, the
 * mask it had) and what was set, and one journal record. res and err:
 * affinity_held_set's; policy_res: policy_held_set's (AFF_UNCHANGED when the
 * rule sets none). new_comm: what the task's name becomes with the exec. */
void reconcile_held_exec(Reconciler *rc, pid_t tid, const Rule *rule, const char *new_comm,
                         const CpuSet *prev, const CpuSet *set, AffinityResult res, int err,
                         const SchedPolicy *prev_policy, AffinityResult policy_res, int policy_err);

/* The spread load for tid under rule (see decide_spread_load). */
int reconcile_spread_load(Reconciler *rc, pid_t pid, const Rule *rule, pid_t tid, int held_cpu,
                          unsigned **ret, unsigned *ret_n);
