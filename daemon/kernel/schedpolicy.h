/* SPDX-License-Identifier: MIT */
/* Scheduling policy, real-time priority and nice of one thread: the only
 * module that calls sched_setattr(2). Like affinity.c, a thread is named by
 * (pid, tid, start time), re-checked just before the write, and the current
 * value is read first so an unchanged thread costs no write. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "kernel/affinity.h"

typedef enum PolicyKind {
        POLICY_OTHER,
        POLICY_BATCH,
        POLICY_IDLE,
        POLICY_FIFO,
        POLICY_RR,
        _POLICY_MAX,
} PolicyKind;

typedef struct SchedPolicy {
        PolicyKind kind;
        unsigned rtprio; /* 1..99 for fifo/rr, 0 otherwise */
        int nice;        /* -20..19 for other/batch, 0 otherwise */
} SchedPolicy;

const char *policy_kind_name(PolicyKind k);
/* "fifo" → POLICY_FIFO; -EINVAL for anything else. */
int policy_kind_parse(const char *s, PolicyKind *ret);
bool policy_is_realtime(PolicyKind k);
bool policy_equal(const SchedPolicy *a, const SchedPolicy *b);
/* "fifo:1", "rr:50", "other:nice=-5", "batch:nice=0", "idle" (pure). */
int policy_format(const SchedPolicy *p, char *buf, size_t size);
/* The inverse of policy_format; -EINVAL for anything else (pure). */
int policy_parse(const char *s, SchedPolicy *ret);

/* The thread's current policy. -ESRCH when gone. (A deadline thread is
 * -EBUSY: pinnerd never touches those.) */
int policy_get(pid_t tid, SchedPolicy *ret);
/* Make tid's policy `want`; *ret_previous gets what it had. Results as
 * affinity_apply: AFF_UNCHANGED, AFF_SET, AFF_DRY_RUN, AFF_GONE, AFF_RECYCLED,
 * AFF_EPERM (no CAP_SYS_NICE, or RLIMIT_RTPRIO), AFF_EINVAL, AFF_EBUSY.
 * On a captured tree (a->from_status) nothing can be read: AFF_DRY_RUN. */
AffinityResult policy_apply(const Affinity *a, pid_t pid, pid_t tid, uint64_t start, const SchedPolicy *want,
                            SchedPolicy *ret_previous, int *ret_errno);
/* The same for a task held in an exec-permission event, or the caller itself
 * (tid 0): no identity re-read (see affinity_held_set). */
AffinityResult policy_held_set(const Affinity *a, pid_t tid, const SchedPolicy *want,
                               SchedPolicy *ret_previous, int *ret_errno);
