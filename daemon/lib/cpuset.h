/* SPDX-License-Identifier: MIT */
/* Dynamically sized CPU sets. A set grows as CPUs are added, so it is never
 * limited by cpu_set_t's 1024 bits; the syscall buffer size comes from the
 * host's possible CPUs (host.h), as util-linux does. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The largest CPU number we accept anywhere (kernel NR_CPUS tops out at 8192
 * today; this leaves room and still bounds what a config line can allocate). */
#define CPUSET_MAX_CPUS 65536u

typedef struct CpuSet CpuSet;

/* Where a parse failed: the offending token (truncated, NUL-terminated) and
 * a short reason such as "bad range" or "CPU number too large". */
typedef struct CpuSetError {
        char token[64];
        const char *reason;
} CpuSetError;

CpuSet *cpuset_new(void);
CpuSet *cpuset_dup(const CpuSet *s);
void cpuset_free(CpuSet *s);
static inline void cpuset_freep(CpuSet **s) {
        cpuset_free(*s);
}

int cpuset_add(CpuSet *s, unsigned cpu); /* -ERANGE past CPUSET_MAX_CPUS, -ENOMEM */
int cpuset_add_range(CpuSet *s, unsigned first, unsigned last);
void cpuset_del(CpuSet *s, unsigned cpu);
void cpuset_clear(CpuSet *s);
bool cpuset_has(const CpuSet *s, unsigned cpu);
unsigned cpuset_count(const CpuSet *s);
bool cpuset_empty(const CpuSet *s);
bool cpuset_equal(const CpuSet *a, const CpuSet *b);
bool cpuset_subset(const CpuSet *a, const CpuSet *b); /* a ⊆ b */

/* dst = dst op src. They may differ in size; cpuset_or may grow dst. */
void cpuset_and(CpuSet *dst, const CpuSet *src);
int cpuset_or(CpuSet *dst, const CpuSet *src);
void cpuset_andnot(CpuSet *dst, const CpuSet *src);
int cpuset_copy(CpuSet *dst, const CpuSet *src);

/* Iterate: for (int c = cpuset_next(s, -1); c >= 0; c = cpuset_next(s, c)) */
int cpuset_next(const CpuSet *s, int prev);
int cpuset_last(const CpuSet *s); /* -1 when empty */
/* The n-th CPU (0-based) in ascending order, -1 when n >= count. */
int cpuset_nth(const CpuSet *s, unsigned n);

/* Kernel cpulist syntax: "0-3,8,10-15:2", whitespace around tokens and a
 * trailing newline allowed; "" is the empty set. */
int cpuset_parse_list(const char *text, CpuSet **ret, CpuSetError *err);
/* Hex masks: "0xff", "ff", and the comma-grouped "ff,ffffffff" of
 * /proc/PID/status and sysfs. */
int cpuset_parse_mask(const char *text, CpuSet **ret, CpuSetError *err);

/* Canonical cpulist ("0-3,8", "" when empty); malloc'd, NULL on ENOMEM. */
char *cpuset_format_list(const CpuSet *s);
/* Kernel mask form, 32-bit groups: "ff,ffffffff"; "0" when empty. */
char *cpuset_format_mask(const CpuSet *s);

/* Copy into / out of a kernel affinity buffer of `bytes` bytes (a multiple of
 * sizeof(unsigned long)). CPUs at or past bytes*8 are dropped by _to_. */
void cpuset_to_kernel(const CpuSet *s, void *buf, size_t bytes);
int cpuset_from_kernel(const void *buf, size_t bytes, CpuSet **ret);
