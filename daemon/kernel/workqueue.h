/* SPDX-License-Identifier: MIT */
/* Unbound workqueues' CPUs, and the only code that changes them:
 * sys/devices/virtual/workqueue/cpumask (every unbound workqueue's workers
 * run within it) and the cpumask of each workqueue directory there that has
 * one (WQ_SYSFS workqueues; the kernel intersects it with the global one).
 * Both files take and show hex masks ("f", "ff,ffffffff"). Newer kernels
 * (6.10+) show the global mask minus isolated CPUs in cpumask and what was
 * written in cpumask_requested: what pinnerd remembers and puts back is the
 * requested mask when there is one. Read below a root directory handle. */
#pragma once

#include <stdbool.h>

#include "kernel/irq.h"
#include "lib/cpuset.h"
#include "lib/util.h"

#define WQ_DIR "sys/devices/virtual/workqueue"
/* The name pinnerd gives the global unbound cpumask (never a workqueue's:
 * those are kernel identifiers). */
#define WQ_GLOBAL "*"
/* Workqueue directories listed, at most (a host has a few dozen). */
#define WQ_MAX 4096
/* Workqueue names are kernel strings of at most WQ_NAME_LEN (32) bytes. */
#define WQ_NAME_MAX 64

/* Is name a workqueue directory name we accept (1..WQ_NAME_MAX bytes, no
 * '/', not "." or "..")? Pure. */
bool wq_name_valid(const char *name);

/* The workqueues that have a cpumask file, sorted by name (WQ_GLOBAL is not
 * among them). A kernel without the directory has none: 0 and an empty
 * vector. */
int wq_list(int rootfd, StrVec *ret);

/* The mask of a workqueue, or of every unbound workqueue for WQ_GLOBAL: for
 * the global one, cpumask_requested where the kernel has it (what to put
 * back), else cpumask. -ENOENT: no such workqueue. */
int wq_read_mask(int rootfd, const char *name, CpuSet **ret);
/* Where unbound work may run now: the global cpumask as the kernel applies
 * it (isolated CPUs already left out on newer kernels). */
int wq_read_effective(int rootfd, CpuSet **ret);
/* Pure: a cpumask file's text. */
int wq_parse_mask_buf(const char *buf, CpuSet **ret);

/* Write want (read first: equal is IRQ_WRITE_UNCHANGED). The errno sorting
 * is the IRQ one: EINVAL (no usable CPU, a workqueue that refuses), EPERM,
 * EIO are for good; the rest may pass. */
IrqWrite wq_write_mask(int rootfd, const char *name, const CpuSet *want, bool dry_run, int *ret_errno);
