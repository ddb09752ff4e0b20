/* SPDX-License-Identifier: MIT */
/* The run-time directory beside the control socket (/run/pinnerd by
 * default): the instance lock, and the originals that must survive a crash.
 *
 * `lock` is flock()ed for the daemon's life: a second pinnerd on the same
 * socket stops before it touches anything. `state` holds, for every thread
 * whose mask pinnerd replaced, the mask to put back, keyed by (tid, start
 * time). It is written whole to a temporary file and renamed over the old
 * one, so a reader sees the old or the new file, never half of one; these
 * snapshots are coalesced (at most one per STATE_WRITE_INTERVAL_USEC), never
 * one per thread. An original is on disk before pinnerd relies on it: the
 * first time it replaces a thread's mask or policy it appends that one line
 * to the file (one small write), and only then writes the thread; the next
 * snapshot folds the appended lines in. No fsync: the directory is a tmpfs
 * that does not outlive a reboot, and the threads it describes do not either.
 *
 * Format (text, one entry a line):
 *
 *     pinnerd-state 2
 *     T TID START PID CPULIST POLICY
 *     I IRQ CPULIST       an IRQ's smp_affinity_list before pinnerd
 *     D CPULIST           /proc/irq/default_smp_affinity before pinnerd
 *     W NAME CPULIST      a workqueue's cpumask before pinnerd; NAME "*" is
 *                         the global unbound cpumask, other bytes outside
 *                         '!'..'~' and '\' are written \xHH
 *     ...
 *     end COUNT           COUNT: every entry line above, of any kind
 *     A T TID START PID CPULIST POLICY
 *     ...
 *
 * CPULIST is the original mask and POLICY the original scheduling policy
 * (schedpolicy.h's text form), each "-" when pinnerd did not change it. The
 * "A" lines after the end line were appended since the snapshot: each sets
 * the originals it names for its (tid, start time), replacing an entry of
 * an earlier thread with that tid; a last line without its newline (a crash
 * during the append) is ignored. Version 1 files (no "A" lines) are read too.
 * IRQ, default_smp_affinity and workqueue originals are never appended: the
 * first write of one waits for a whole snapshot that holds it.
 *
 * Anything else — a wrong header, a malformed line, a missing or wrong end
 * line (truncation), a file not owned by us, writable by others, not a
 * regular file, or larger than STATE_MAX_BYTES — makes the whole file
 * untrusted: reported once, ignored, and replaced at the next write. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/cpuset.h"
#include "core/threads.h"

#define STATE_MAX_BYTES ((size_t) 64 * 1024 * 1024)
#define STATE_WRITE_INTERVAL_USEC (100 * 1000)

typedef struct StateEntry {
        pid_t pid, tid;
        uint64_t start;
        CpuSet *original; /* NULL: the mask was not changed */
        bool has_policy;
        SchedPolicy policy;
} StateEntry;

/* The originals of IRQs, default_smp_affinity and workqueues (core/irqs.c,
 * core/workqueues.c). Parsed entries own name and original; entries given
 * to state_format() are borrowed. */
typedef struct StateKernelEntry {
        char kind;        /* 'I', 'D' or 'W' */
        unsigned irq;     /* 'I' */
        char *name;       /* 'W' */
        CpuSet *original; /* never empty */
} StateKernelEntry;

typedef struct StateEntries {
        StateEntry *v;
        size_t n;
        StateKernelEntry *k;
        size_t n_k;
} StateEntries;
void state_entries_done(StateEntries *e);

/* Pure. -EBADMSG with *ret_error saying what and where (line N). */
int state_parse_buf(const char *buf, size_t len, StateEntries *ret, char **ret_error);
/* Pure: every entry of the table that has an original, then the kernel
 * entries. malloc'd text. */
char *state_format(const ThreadTable *t, const StateKernelEntry *k, size_t n_k, size_t *ret_len);

typedef struct StateDir {
        char *dir;     /* the socket's directory */
        int dirfd;     /* O_PATH|O_DIRECTORY, -1 when closed */
        int lock_fd;   /* -1 until locked */
        int append_fd; /* the state file last written, to append to; -1 before */
        bool dirty;    /* an original changed since the last write */
        bool failing;  /* the last write failed (said once) */
        uint64_t last_write_usec;
        uint64_t writes, write_failures, appends, append_bytes;
} StateDir;

/* The directory of socket_path; created 0755 when missing. -errno with
 * *ret_error set. */
int state_dir_open(StateDir *s, const char *socket_path, char **ret_error);
void state_dir_close(StateDir *s);
/* Take the instance lock: -EBUSY when another pinnerd holds it. */
int state_lock(StateDir *s, char **ret_error);
/* Read and validate `state`. 0 with no entries when the file does not exist;
 * -EBADMSG/-EPERM/-EFBIG/... with *ret_error naming the problem otherwise. */
int state_load(StateDir *s, StateEntries *ret, char **ret_error);
/* Write the table's originals and the kernel entries atomically (a
 * snapshot). -errno with *ret_error. */
int state_save(StateDir *s, const ThreadTable *t, const StateKernelEntry *k, size_t n_k, char **ret_error);
/* Append one thread's originals (NULL: not changed) to the last snapshot,
 * before pinnerd writes the thread. -EBADF before the first snapshot,
 * -errno with *ret_error on a failed write (later appends wait for the
 * next snapshot). */
int state_append(StateDir *s, pid_t pid, pid_t tid, uint64_t start, const CpuSet *original,
                 const SchedPolicy *policy, char **ret_error);
