/* SPDX-License-Identifier: MIT */
/* What pinnerd remembers about threads it has decided about: the mask it
 * found (to restore), the mask it set (to detect drift), and which problems it
 * already reported (to report each once). Keyed by tid; an entry is valid only
 * for its start time. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/cpuset.h"
#include "kernel/procfs.h"
#include "kernel/schedpolicy.h"

/* Problems reported at most once per (tid, start time). */
enum {
        REPORTED_SKIPPED = 1u << 0,
        REPORTED_EINVAL = 1u << 1,
        REPORTED_EPERM = 1u << 2,
        REPORTED_EBUSY = 1u << 3,
        REPORTED_ERROR = 1u << 4,
        REPORTED_DRIFT = 1u << 5,
        REPORTED_DROPPED = 1u << 6, /* CPUs left out: said once per (process, rule) */
        REPORTED_POLICY = 1u << 7,  /* the policy could not be set */
};

/* Kept small: a host may have tens of thousands of managed threads
 * (tests/bench measures the RSS at 10,000). */
typedef struct Thread {
        pid_t pid, tid;
        uint64_t start;
        /* The thread that forked this process (its leader's entry only),
         * when pinnerd saw the fork: a child of a pinned thread starts on
         * pinnerd's mask, and its original is its creator's. 0: unknown. */
        pid_t creator;
        char *comm;                         /* process name; `name` shares its allocation */
        char *name;                         /* thread name */
        const char *rule;                   /* the rule that placed it, NULL if none; interned by the owner */
        CpuSet *original;                   /* first mask we replaced; NULL until we change it */
        bool original_inherited;            /* original is what its creator would have had: nothing
                                             * was written to this thread (it started on pinnerd's mask) */
        CpuSet *applied;                    /* what we set (effective), NULL if nothing */
        SchedPolicy *policy_original;       /* policy we replaced; NULL until a rule sets one */
        int spread_cpu;                     /* -1 unless a spread rule placed it */
        unsigned reported;                  /* REPORTED_* */
        char *skip_reason;                  /* last skip, for list/explain */
        uint64_t generation;                /* scan generation that last saw it */
        struct Thread *pid_next, *pid_prev; /* the other entries of the same process */
} Thread;

/* Set both names (one allocation); no-op when unchanged. -ENOMEM. */
int thread_set_names(Thread *th, const char *comm, const char *name);

typedef struct ThreadTable ThreadTable;

ThreadTable *thread_table_new(void);
void thread_table_free(ThreadTable *t);
size_t thread_table_size(const ThreadTable *t);

Thread *thread_table_get(ThreadTable *t, pid_t tid);
/* Insert a fresh entry for tid (replacing any stale one). */
Thread *thread_table_put(ThreadTable *t, pid_t pid, pid_t tid, uint64_t start);
void thread_table_remove(ThreadTable *t, pid_t tid);

/* Iterate: size_t i = 0; Thread *th; while ((th = thread_table_next(t, &i))) ...
 * Removing the current entry while iterating is not allowed; collect first. */
Thread *thread_table_next(const ThreadTable *t, size_t *iter);

/* Does the table hold any thread of process pid? Lets a process no rule can
 * match skip listing its threads. */
bool thread_table_has_pid(const ThreadTable *t, pid_t pid);
/* The entries of process pid: for (th = thread_table_first_of(t, pid); th; th = th->pid_next). */
Thread *thread_table_first_of(const ThreadTable *t, pid_t pid);

/* Is creator (the thread that forked pid's leader) a thread of another
 * process that pinnerd has pinned? */
bool thread_table_pinned_creator(const ThreadTable *t, pid_t pid, pid_t creator);
/* What a thread pinnerd meets for the first time would have had without
 * pinnerd, given its mask now. A thread created by a thread pinnerd pinned
 * starts on pinnerd's mask (the kernel copies the creator's; the fork event
 * names the process's parent, not the creating thread): when `now` is the
 * applied mask of a pinned thread of the same process, that thread's
 * original is the answer; so is the original of creator (the thread that
 * forked this process, 0 when unknown) when `now` is creator's applied
 * mask. Otherwise what it has now is its own. Returns a borrowed set (the
 * table's or `now`). */
const CpuSet *thread_table_true_original(const ThreadTable *t, pid_t pid, pid_t creator, const CpuSet *now);
/* What a thread would have without pinnerd (the base `avoid` works from):
 * its entry's original, else the true original of its mask now (now may be
 * NULL when the entry has an original). */
const CpuSet *thread_table_base_mask(const ThreadTable *t, const Thread *entry, pid_t pid, const CpuSet *now);

/* th is given back (no rule wants it any more) while its process lives on:
 * threads it created on pinnerd's mask, still to be met, get its original
 * through thread_table_true_original. One such memory per process, the
 * last; forgotten with the process (thread_table_forget_process). */
void thread_table_note_released(ThreadTable *t, const Thread *th);
void thread_table_forget_process(ThreadTable *t, pid_t pid);
/* Has pid such a memory? */
bool thread_table_has_released(const ThreadTable *t, pid_t pid);
/* Up to size pids with such a memory (for scans to drop dead ones). */
size_t thread_table_released_pids(const ThreadTable *t, pid_t *buf, size_t size);

/* Record the original of th (a copy), once: later calls keep the first.
 * -ENOMEM. */
int thread_remember_original(Thread *th, const CpuSet *original);

/* The policy counterpart of thread_table_true_original: a thread created
 * by a thread whose policy pinnerd set carries that policy (`now` equals
 * `ruled`, the policy the rule sets): its original is that thread's. */
const SchedPolicy *thread_table_true_policy(const ThreadTable *t, pid_t pid, pid_t creator,
                                            const SchedPolicy *now, const SchedPolicy *ruled);
/* Record the original policy of th (a copy), once. -ENOMEM. */
int thread_remember_policy(Thread *th, const SchedPolicy *original);

/* Has some thread of th's process under th's rule already had its dropped
 * CPUs reported? */
bool thread_dropped_reported(const ThreadTable *t, const Thread *th);

/* For spread rules: how many of pid's threads (pid 0: of every process)
 * placed by `rule` sit on each CPU (excluding `except_tid`). *ret is calloc'd with *ret_n entries. */
int thread_table_spread_load(const ThreadTable *t, pid_t pid, const char *rule, pid_t except_tid,
                             unsigned **ret, unsigned *ret_n);
