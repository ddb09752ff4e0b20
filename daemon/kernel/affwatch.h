/* SPDX-License-Identifier: MIT */
/* Watch other processes' sched_setaffinity(2) calls, so a pinned thread
 * whose mask someone else changes is noticed at once rather than at the next
 * `verify`. The syscall tracepoints (syscalls:sys_enter_ and
 * sys_exit_sched_setaffinity) are opened with perf_event_open on every CPU,
 * one ring buffer per CPU; only the exit wakes the reader, after the mask has
 * changed, and the kernel filters out our own tid, so with nobody else calling
 * sched_setaffinity there is not a single wakeup. Parsing and pairing are
 * pure; the perf plumbing is thin. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/cpuset.h"

/* Where the fields are, from the tracepoints' format files. */
typedef struct AffLayout {
        unsigned enter_id, exit_id; /* tracepoint ids: common_type of a record */
        unsigned pid_off, pid_size; /* sys_enter: the pid argument */
        unsigned ret_off, ret_size; /* sys_exit: the return value */
} AffLayout;

/* From a tracefs `format` file: offset and size of field `name`. -ENOENT
 * when absent, -EBADMSG when its line is malformed. */
int affwatch_parse_format(const char *text, const char *name, unsigned *ret_off, unsigned *ret_size);

typedef enum AffKind {
        AFF_ENTER,
        AFF_EXIT,
} AffKind;

typedef struct AffSample {
        AffKind kind;
        pid_t pid, tid; /* the caller */
        uint64_t time;
        pid_t target; /* AFF_ENTER: the tid it names (0 already means the caller) */
        int64_t ret;  /* AFF_EXIT */
} AffSample;

/* One perf record (header included) of len bytes. Returns 1 and fills
 * *ret for a sample of ours, 0 for a record to skip, -EBADMSG when malformed
 * (sizes that do not add up). */
int affwatch_parse_sample(const AffLayout *l, const void *rec, size_t len, AffSample *ret);

/* A successful call: the caller and the thread whose mask it set. */
typedef struct AffRecord {
        pid_t caller_pid, caller_tid;
        pid_t target;
        uint64_t time;
} AffRecord;

/* Enters wait here for their exit (callers can migrate mid-call, so the two
 * may come from different CPUs' buffers). */
#define AFF_PENDING_MAX 64
typedef struct AffPairs {
        struct {
                pid_t tid, target;
                uint64_t time;
        } v[AFF_PENDING_MAX];
        size_t n;
} AffPairs;

/* Feed samples in time order. Returns true and fills *ret when s completes a
 * successful call. A full table forgets its oldest enter. */
bool affwatch_pair(AffPairs *p, const AffSample *s, AffRecord *ret);

typedef struct AffWatch AffWatch;

/* Open the watch on every CPU of cpus, ignoring tid self. tracefs = NULL
 * tries /sys/kernel/tracing then /sys/kernel/debug/tracing. On failure
 * *ret_why says why in words an administrator can act on (malloc'd). */
int affwatch_open(const char *tracefs, const CpuSet *cpus, pid_t self, AffWatch **ret, char **ret_why);
/* Why perf_event_open failed with err on cpu, in words an administrator can
 * act on (malloc'd): paranoid is kernel.perf_event_paranoid as read, perfmon
 * whether CAP_PERFMON is effective. Pure. */
char *affwatch_open_error(int err, unsigned cpu, const char *paranoid, bool perfmon);
void affwatch_free(AffWatch *w);
static inline void affwatch_freep(AffWatch **w) {
        if (*w)
                affwatch_free(*w);
}
/* The fds to poll (one per CPU); any of them readable means "call read". */
size_t affwatch_n_fds(const AffWatch *w);
int affwatch_fd(const AffWatch *w, size_t i);
/* Drain every CPU's buffer. Returns how many records were written to out
 * (at most max), and sets *ret_lost when records were lost (the kernel's
 * buffer or out was full): then a full check is due. */
int affwatch_read(AffWatch *w, AffRecord *out, size_t max, bool *ret_lost);
