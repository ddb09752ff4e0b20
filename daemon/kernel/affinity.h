/* SPDX-License-Identifier: MIT */
/* The only module that calls sched_setaffinity. A thread is named by
 * (pid, tid, start time); the start time is re-read just before the syscall so
 * a recycled tid is never touched. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/cpuset.h"

typedef enum AffinityResult {
        AFF_SET,       /* mask changed */
        AFF_UNCHANGED, /* it already was what we want: no write */
        AFF_DRY_RUN,   /* would have changed it */
        AFF_GONE,      /* ESRCH or the task's files vanished */
        AFF_RECYCLED,  /* the tid now names another task */
        AFF_EINVAL,    /* no allowed CPU in the mask, or a thread that cannot move */
        AFF_EPERM,
        AFF_EBUSY, /* SCHED_DEADLINE task */
        AFF_ERROR, /* anything else; errno in *ret_errno */
} AffinityResult;

typedef struct Affinity {
        int procfd;       /* not owned */
        size_t bytes;     /* kernel mask size for this host */
        bool dry_run;     /* never call sched_setaffinity */
        bool from_status; /* read masks from proc/.../status (a captured tree) */
} Affinity;

/* The thread's current mask. -ESRCH when it is gone. */
int affinity_get(const Affinity *a, pid_t pid, pid_t tid, CpuSet **ret);

/* Make tid's mask `want`. *ret_previous gets the mask it had (when it could be
 * read), *ret_now the mask read back after the write (or `want` in dry-run). */
AffinityResult affinity_apply(const Affinity *a, pid_t pid, pid_t tid, uint64_t start, const CpuSet *want,
                              CpuSet **ret_previous, CpuSet **ret_now, int *ret_errno);

/* A task the kernel holds in an exec-permission event (kernel/fanotify.h),
 * and the caller of `pinnerctl run` on itself (tid 0), in the kernel's mask
 * format (a->bytes bytes). No identity re-read here, by design: a held task
 * cannot exec or exit-and-be-reaped before we answer it, and the kernel hands
 * out pids cyclically, so its tid cannot name another task in the
 * microseconds between the event and this call; reading /proc/TID/stat
 * would double the time the exec waits. The kernel intersects the mask
 * with the task's cpuset itself (EINVAL when nothing is left). Returns
 * 0 or -errno. */
int affinity_held_get(const Affinity *a, pid_t tid, unsigned long *ret_mask);
AffinityResult affinity_held_set(const Affinity *a, pid_t tid, const unsigned long *mask, int *ret_errno);

/* Short, stable reason text for logs: "gone", "recycled", "no allowed CPU or
 * thread cannot move", ... */
const char *affinity_result_reason(AffinityResult r);
/* Pure: the Cpus_allowed_list of a status file. */
int affinity_parse_status_buf(const char *buf, CpuSet **ret);
