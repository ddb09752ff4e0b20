/* SPDX-License-Identifier: MIT */
/* IRQs as the kernel shows them, and the only code that moves them: the
 * /proc/interrupts table (which IRQs exist, their chips and action names,
 * per-CPU counts), /proc/irq/N/{smp_affinity_list,effective_affinity_list}
 * and /proc/irq/default_smp_affinity. Everything is read below a root
 * directory handle (util.h), so `--root FIXTURE` reads a captured tree; a
 * pure parse_*_buf() sits beside each reader.
 *
 * smp_affinity_list is what was asked for; effective_affinity_list is where
 * the IRQ is delivered. Without interrupt remapping (most VMs, many x86
 * hosts) a move is carried out at the IRQ's next interrupt, so for a while
 * the two disagree: "requested off, pending". */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/cpuset.h"

/* /proc/interrupts of a 512-CPU host with thousands of IRQs is several MiB. */
#define IRQ_INTERRUPTS_MAX ((size_t) 64 * 1024 * 1024)
/* IRQ numbers are below nr_irqs (NR_IRQS + 8 * NR_CPUS at most). */
#define IRQ_MAX_NUMBER 1048576u
/* Bytes of an IRQ's action names we keep ("PCIe PME, pciehp"). */
#define IRQ_ACTIONS_MAX 256

/* What the counts of a row are about. Numbered rows are device IRQs; the
 * named rows are the architecture's own (x86: LOC, RES, CAL, TLB; arm64:
 * IPI0..n, named by their description). */
typedef enum IrqKind {
        IRQ_KIND_DEVICE,
        IRQ_KIND_TIMER,   /* LOC: local timer */
        IRQ_KIND_RESCHED, /* RES: rescheduling IPIs */
        IRQ_KIND_CALL,    /* CAL: function call IPIs */
        IRQ_KIND_TLB,     /* TLB shootdowns */
        IRQ_KIND_OTHER,   /* NMI, IWI, PMI, thermal, ... */
        _IRQ_KIND_MAX,
} IrqKind;

const char *irq_kind_name(IrqKind k); /* "device", "timer", "resched", "call", "tlb", "other" */

typedef struct IrqRow {
        bool numbered;    /* "38:" (a device IRQ) or a named row ("LOC:") */
        unsigned irq;     /* numbered rows */
        char name[16];    /* named rows: "LOC", "IPI0" */
        IrqKind kind;     /* numbered rows are IRQ_KIND_DEVICE */
        uint64_t *counts; /* per column (Interrupts.cpus); NULL for a total-only row (ERR, MIS) */
        uint64_t total;   /* sum over the columns, or the one count of ERR/MIS */
        bool short_row;   /* fewer counts than columns: the missing ones are 0 */
        char *chip;       /* numbered: "IO-APIC", "PCI-MSIX-0000:00:01.0"; may be NULL */
        char *hwirq;      /* numbered: "5-edge", "27 Level"; may be NULL */
        char *actions;    /* numbered: "virtio0-config", "PCIe PME, pciehp"; named: the description */
} IrqRow;

typedef struct Interrupts {
        unsigned *cpus; /* CPU number of each column, as the header names them (online CPUs) */
        size_t n_cpus;
        IrqRow *rows;
        size_t n_rows;
        size_t skipped; /* lines that did not look like a row */
} Interrupts;

/* Pure. The header ("CPU0 CPU1 ...") is required (-EBADMSG without one);
 * lines that are not rows are skipped and counted, never an error, so an
 * architecture's odd row never hides the others. Rows of more than one
 * line, columns past the header, IRQ numbers past IRQ_MAX_NUMBER: skipped.
 * *ret untouched on failure. */
int irq_parse_interrupts_buf(const char *buf, size_t len, Interrupts **ret);
/* proc/interrupts below the root handle. */
int irq_read_interrupts(int rootfd, Interrupts **ret);
void interrupts_free(Interrupts *t);
static inline void interrupts_freep(Interrupts **t) {
        interrupts_free(*t);
}
/* The row of IRQ irq, or NULL. */
const IrqRow *interrupts_find(const Interrupts *t, unsigned irq);
/* The column of CPU cpu, or -1 when the header does not list it (offline). */
int interrupts_column(const Interrupts *t, unsigned cpu);
/* The count of row r on cpu (0 when the CPU has no column). */
uint64_t irq_row_count(const Interrupts *t, const IrqRow *r, unsigned cpu);

/* Split "a, b" into its action names (", " separates them, as the kernel
 * prints them). Returns how many were stored into v (at most max), pointing
 * into buf, which receives a copy of actions. */
size_t irq_split_actions(const char *actions, char *buf, size_t size, const char **v, size_t max);

/* The numbered directories of proc/irq, ascending; *ret malloc'd (NULL when
 * none). At most IRQ_MAX_NUMBER entries. */
int irq_list(int rootfd, unsigned **ret, size_t *ret_n);

/* proc/irq/N/smp_affinity_list and effective_affinity_list. A kernel (or
 * architecture) without effective_affinity_list gives *ret_effective NULL
 * and 0. -ENOENT: the IRQ is gone. Either pointer may be NULL. */
int irq_read_affinity(int rootfd, unsigned irq, CpuSet **ret_requested, CpuSet **ret_effective);
/* proc/irq/default_smp_affinity: a hex mask ("f", "ff,ffffffff"). */
int irq_parse_default_affinity_buf(const char *buf, CpuSet **ret);
int irq_read_default_affinity(int rootfd, CpuSet **ret);

typedef enum IrqWrite {
        IRQ_WRITE_OK,
        IRQ_WRITE_UNCHANGED, /* it already was: nothing written */
        IRQ_WRITE_DRY_RUN,   /* would have written */
        IRQ_WRITE_GONE,      /* the IRQ's directory is gone */
        /* The kernel will not move it and never will: kernel-managed queue
         * IRQs (EPERM on 6.x, EIO before), per-CPU IRQs and chips that cannot
         * be balanced (EIO), a chip that refuses the mask (EINVAL; the mask
         * always holds an online CPU when pinnerd writes it), and a mask file
         * the kernel made read-only for such IRQs (EACCES without
         * CAP_DAC_OVERRIDE, as under the unit). */
        IRQ_WRITE_UNMOVABLE,
        /* Worth trying again later: vector space full (ENOSPC), a move in
         * progress (EBUSY), EAGAIN, ENOMEM, an offline CPU (ERANGE), and
         * anything else. */
        IRQ_WRITE_TRANSIENT,
} IrqWrite;

/* Sort a write's errno. Pure. */
IrqWrite irq_classify_errno(int err);
/* Why an unmovable write failed, for people: "kernel-managed (EPERM)", ... */
const char *irq_unmovable_reason(int err);

/* Write want to proc/irq/N/smp_affinity_list (read first: equal is
 * IRQ_WRITE_UNCHANGED, no write). dry_run writes nothing. *ret_errno gets the
 * error of a failed write (0 otherwise). */
IrqWrite irq_write_affinity(int rootfd, unsigned irq, const CpuSet *want, bool dry_run, int *ret_errno);
/* The same for proc/irq/default_smp_affinity (a hex mask). */
IrqWrite irq_write_default_affinity(int rootfd, const CpuSet *want, bool dry_run, int *ret_errno);
/* Write a mask file's text below rootfd in one write (text NULL: out of
 * memory): IRQ_WRITE_OK, or the errno sorted by irq_classify_errno() and
 * left in *ret_errno. IRQ and workqueue masks alike. */
IrqWrite irq_write_text_at(int rootfd, const char *path, const char *text, int *ret_errno);
