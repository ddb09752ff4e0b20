/* SPDX-License-Identifier: MIT */
/* Is irqbalance running, and what does it leave alone? It moves every IRQ
 * it may every 10 seconds, so a rule that keeps IRQs off CPUs is undone
 * unless irqbalance bans those CPUs: IRQBALANCE_BANNED_CPULIST (a cpulist,
 * irqbalance >= 1.8) or the older IRQBALANCE_BANNED_CPUS (a hex mask) in its
 * environment (Debian: /etc/default/irqbalance), else by default the
 * isolated (isolcpus=) and nohz_full CPUs; and IRQs placed on purpose must be
 * banned one by one with --banirq=N. Read from /proc/PID/{comm,environ,
 * cmdline} below the proc handle (procfs.h), pure parsers beside. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/cpuset.h"

typedef struct IrqBalance {
        pid_t pid;               /* 0: not running */
        CpuSet *banned;          /* what its environment bans; NULL: its default */
        const char *banned_from; /* "IRQBALANCE_BANNED_CPULIST", "IRQBALANCE_BANNED_CPUS" or NULL */
        bool environ_unknown;    /* its environment could not be read (then banned is NULL) */
        unsigned *banned_irqs;   /* --banirq / -i */
        size_t n_banned_irqs;
} IrqBalance;

/* The variables, from an environ buffer (NUL-separated KEY=VALUE): the
 * cpulist one wins over the mask one, as in irqbalance. *ret NULL and
 * *ret_from NULL when neither is set. -EBADMSG for a value that is no
 * cpulist / mask (irqbalance would not start with it). */
int irqbalance_parse_environ_buf(const char *buf, size_t len, CpuSet **ret, const char **ret_from);
/* --banirq=N, --banirq N, -i N, -iN from a NUL-separated argv. Values
 * that are not numbers are skipped (irqbalance ignores them too). */
int irqbalance_parse_cmdline_buf(const char *buf, size_t len, unsigned **ret, size_t *ret_n);

/* Look for a process named irqbalance (proc/PID/comm) and read what it
 * bans. ret->pid 0 when none runs. Only -ENOMEM fails. */
int irqbalance_find(int procfd, IrqBalance *ret);
void irqbalance_done(IrqBalance *b);
