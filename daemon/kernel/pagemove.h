/* SPDX-License-Identifier: MIT */
/* Moving a process's pages between NUMA nodes: the only caller of
 * move_pages(2), through syscall(2) (libnuma would add a dependency for one
 * call). A batch of pages is looked at first (move_pages with no target
 * nodes says where each page is), only the pages not where they belong are
 * moved, and every page's status is sorted into what the report says:
 * moved, already there, not resident, or could not move and why.
 *
 * Not migrate_pages(2): it moves a whole process in one call, however big,
 * and holds it for as long (minutes for hundreds of GiB). Batches of
 * move_pages are bounded, so the caller decides how long it holds the event
 * loop and the process. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Pages are spread over several target nodes in stripes of this size (2 MiB,
 * a transparent huge page on x86): a huge page then moves once, whole. */
#define PAGEMOVE_STRIPE_SHIFT 21

/* Where pages go. */
typedef struct PageTargets {
        const int *nodes; /* ascending */
        unsigned n;
        /* interleave: every page to nodes[stripe % n]. Else (follow) a page
         * already on one of the nodes stays, and one elsewhere goes to
         * nodes[stripe % n]. */
        bool interleave;
} PageTargets;

/* Pure: the node the page at addr, now on `current` (a node, or a negative
 * status: not resident), must go to; -1 when it stays where it is. */
int pagemove_target(const PageTargets *t, uint64_t addr, int current);

/* What happened to the pages looked at, in pages of the system page size. */
typedef struct PageMoveStats {
        uint64_t looked;    /* addresses looked at */
        uint64_t resident;  /* of them, a page was there */
        uint64_t already;   /* it already was where it belongs */
        uint64_t moved;     /* it is now */
        uint64_t shared;    /* EACCES: mapped by other processes too */
        uint64_t busy;      /* EBUSY, EAGAIN: pinned (DMA, RDMA, vfio), locked, under I/O */
        uint64_t no_memory; /* ENOMEM: the target node is full (or has no free huge page) */
        uint64_t other;     /* any other error */
        int other_errno;    /* the last of those, positive */
} PageMoveStats;

/* Pages that could not move, whatever the reason. */
uint64_t pagemove_failed(const PageMoveStats *s);
void pagemove_stats_add(PageMoveStats *into, const PageMoveStats *s);
/* Pure: count one page's status after a move (its node, or -errno) against
 * the node it was sent to. Not-resident statuses (ENOENT, EFAULT: it went
 * away meanwhile) count as nothing. */
void pagemove_count_status(PageMoveStats *s, int status, int target);
/* "12 shared with other processes, 3 pinned or busy": what could not move,
 * by reason; "" when nothing. malloc'd. */
char *pagemove_failed_format(const PageMoveStats *s);

/* Scratch buffers for one batch, reused from call to call. */
typedef struct PageMover {
        void **pages;
        int *nodes, *status;
        size_t *index;
        size_t cap;
} PageMover;

void pagemover_done(PageMover *pm);

/* n pages from addr, page_size apart, of process pid: look where they are,
 * move those pagemove_target() sends elsewhere, and look again at those
 * the kernel said were busy (the other pages of a transparent huge page
 * that moved whole answer EBUSY: they are counted as moved when they are
 * on their node now). move_all: also pages other processes map (shared
 * memory the process writes; needs CAP_SYS_NICE). The outcome is added to
 * *stats. -ESRCH: the process is gone; -EPERM: not allowed; -EACCES: a
 * target node is outside the process's cpuset mems; -ENODEV: a target node
 * has no memory; -ENOMEM. Pages already looked at are counted even then. */
int pagemove_range(PageMover *pm, pid_t pid, uint64_t addr, size_t n, size_t page_size, const PageTargets *t,
                   bool move_all, PageMoveStats *stats);
