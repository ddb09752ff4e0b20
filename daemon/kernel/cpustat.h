/* SPDX-License-Identifier: MIT */
/* What each CPU is doing, as counters to sample twice: interrupts by kind
 * (proc/interrupts, irq.h) and context switches.
 *
 * Context switches come from proc/schedstat, field 9 of each "cpuN" line:
 * rq_sched_info.pcount, the number of times a task (not the idle task)
 * started running on that CPU. It is kept by CONFIG_SCHED_INFO whether or
 * not kernel.sched_schedstats is on (fields 3-4, sched_count and
 * sched_goidle, count only while it is on, and it is off by default), it is
 * per CPU (proc/stat's ctxt is one number for the machine), and it costs one
 * read of a small file, where summing every thread's
 * voluntary/nonvoluntary_ctxt_switches costs a walk of /proc and cannot
 * say on which CPU the switches happened. Debian's kernels have
 * CONFIG_SCHEDSTATS; without it there is no proc/schedstat and the count is
 * unknown (said, never guessed). */
#pragma once

#include <stdint.h>

#include "kernel/irq.h"

/* The schedstat formats whose cpu lines this reads (15: Linux 2.6.25-6.5,
 * 16: 6.6-6.12, 17: 6.13+; the cpu line did not change). */
#define SCHEDSTAT_MIN_VERSION 15

typedef struct CpuSample {
        uint64_t usec;      /* CLOCK_MONOTONIC when it was taken */
        Interrupts *irqs;   /* NULL when proc/interrupts could not be read */
        int irqs_error;     /* -errno then */
        uint64_t *switches; /* per CPU number, n_switches entries; NULL when unknown */
        unsigned n_switches;
        int switches_error; /* -errno when unknown: -ENOENT no proc/schedstat */
} CpuSample;

/* Pure: the pcount of every cpuN line, indexed by N (missing CPUs 0).
 * -EBADMSG for a file without a version line or with cpu lines of fewer
 * than 9 fields; -EPROTONOSUPPORT below SCHEDSTAT_MIN_VERSION. */
int cpustat_parse_schedstat_buf(const char *buf, size_t len, uint64_t **ret, unsigned *ret_n);

/* Take a sample below the root handle. Parts that cannot be read are NULL
 * with their error; only -ENOMEM fails it. */
int cpustat_sample(int rootfd, CpuSample *ret);
void cpustat_sample_done(CpuSample *s);

/* Per second between two samples of the same CPU (b after a); -1 when
 * unknown (no counters, the CPU has no column, or no time passed). A
 * counter that went backwards (a CPU that went away and came back) is
 * taken from zero. */
double cpustat_kind_rate(const CpuSample *a, const CpuSample *b, unsigned cpu, IrqKind kind);
/* Every interrupt on cpu, of every kind. */
double cpustat_irq_total_rate(const CpuSample *a, const CpuSample *b, unsigned cpu);
double cpustat_switch_rate(const CpuSample *a, const CpuSample *b, unsigned cpu);
/* Interrupts of one numbered IRQ on cpu between the two samples (not a rate). */
uint64_t cpustat_irq_delta(const CpuSample *a, const CpuSample *b, unsigned irq, unsigned cpu);
