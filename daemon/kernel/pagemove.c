/* SPDX-License-Identifier: MIT */
#include "kernel/pagemove.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/util.h"

/* <linux/mempolicy.h> */
#define MPOL_MF_MOVE (1 << 1)
#define MPOL_MF_MOVE_ALL (1 << 2)

int pagemove_target(const PageTargets *t, uint64_t addr, int current) {
        if (t->n == 0 || current < 0)
                return -1;
        int want = t->nodes[(addr >> PAGEMOVE_STRIPE_SHIFT) % t->n];
        if (t->interleave)
                return current == want ? -1 : want;
        for (unsigned i = 0; i < t->n; i++)
                if (t->nodes[i] == current)
                        return -1;
        return want;
}

uint64_t pagemove_failed(const PageMoveStats *s) {
        return s->shared + s->busy + s->no_memory + s->other;
}

void pagemove_stats_add(PageMoveStats *into, const PageMoveStats *s) {
        into->looked += s->looked;
        into->resident += s->resident;
        into->already += s->already;
        into->moved += s->moved;
        into->shared += s->shared;
        into->busy += s->busy;
        into->no_memory += s->no_memory;
        into->other += s->other;
        if (s->other_errno)
                into->other_errno = s->other_errno;
}

void pagemove_count_status(PageMoveStats *s, int status, int target) {
        if (status >= 0) {
                if (status == target)
                        s->moved++;
                else {
                        /* The kernel left it elsewhere without saying why. */
                        s->other++;
                        s->other_errno = EIO;
                }
                return;
        }
        switch (-status) {
        case ENOENT:
        case EFAULT:
                /* Gone since it was looked at (unmapped, reclaimed). */
                if (s->resident > 0)
                        s->resident--;
                return;
        case EACCES:
                s->shared++;
                return;
        case EBUSY:
        case EAGAIN:
                s->busy++;
                return;
        case ENOMEM:
                s->no_memory++;
                return;
        default:
                s->other++;
                s->other_errno = -status;
                return;
        }
}

char *pagemove_failed_format(const PageMoveStats *s) {
        char buf[512];
        size_t len = 0;

        buf[0] = '\0';
#define PART(count, text)                                                                                    \
        if ((count) > 0 && len < sizeof buf)                                                                 \
        len += (size_t) snprintf(buf + len, sizeof buf - len, "%s%" PRIu64 " " text, len ? ", " : "", (count))
        PART(s->shared, "shared with other processes");
        PART(s->busy, "pinned or busy (DMA, locked, under I/O)");
        PART(s->no_memory, "no free memory on the target node");
        if (s->other > 0 && len < sizeof buf)
                len += (size_t) snprintf(buf + len, sizeof buf - len, "%s%" PRIu64 " refused (%s)",
                                         len ? ", " : "", s->other,
                                         strerror(s->other_errno ? s->other_errno : EIO));
#undef PART
        return strdup(buf);
}

void pagemover_done(PageMover *pm) {
        free(pm->pages);
        free(pm->nodes);
        free(pm->status);
        free(pm->index);
        *pm = (PageMover){0};
}

static int reserve(PageMover *pm, size_t n) {
        if (n <= pm->cap)
                return 0;
        void **p = realloc(pm->pages, n * sizeof *p);
        if (!p)
                return -ENOMEM;
        pm->pages = p;
        int *nd = realloc(pm->nodes, n * sizeof *nd);
        if (!nd)
                return -ENOMEM;
        pm->nodes = nd;
        int *st = realloc(pm->status, n * sizeof *st);
        if (!st)
                return -ENOMEM;
        pm->status = st;
        size_t *ix = realloc(pm->index, n * sizeof *ix);
        if (!ix)
                return -ENOMEM;
        pm->index = ix;
        pm->cap = n;
        return 0;
}

/* move_pages(2). A positive return (pages not migrated, Linux 4.17+) is no
 * error: each page's status says what happened to it. */
static int move_pages_call(pid_t pid, size_t n, void **pages, const int *nodes, int *status, int flags) {
        long r = syscall(SYS_move_pages, pid, (unsigned long) n, pages, nodes, status, flags);
        return r < 0 ? -errno : 0;
}

int pagemove_range(PageMover *pm, pid_t pid, uint64_t addr, size_t n, size_t page_size, const PageTargets *t,
                   bool move_all, PageMoveStats *stats) {
        size_t n_move = 0, n_busy = 0;
        int flags = move_all ? MPOL_MF_MOVE_ALL : MPOL_MF_MOVE;
        int r;

        if (n == 0)
                return 0;
        r = reserve(pm, n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                pm->pages[i] = (void *) (uintptr_t) (addr + i * page_size);

        /* Where is each page now? */
        r = move_pages_call(pid, n, pm->pages, NULL, pm->status, 0);
        if (r < 0)
                return r;
        stats->looked += n;
        for (size_t i = 0; i < n; i++) {
                int node = pm->status[i];
                if (node < 0)
                        continue; /* not resident (ENOENT), or no page at all (EFAULT) */
                stats->resident++;
                int want = pagemove_target(t, addr + i * page_size, node);
                if (want < 0) {
                        stats->already++;
                        continue;
                }
                /* Compacted in place: index n_move <= i. */
                pm->pages[n_move] = pm->pages[i];
                pm->nodes[n_move] = want;
                n_move++;
        }
        if (n_move == 0)
                return 0;

        r = move_pages_call(pid, n_move, pm->pages, pm->nodes, pm->status, flags);
        if (r < 0) {
                /* Nothing was moved that the caller can count on. */
                stats->resident -= n_move;
                return r;
        }
        for (size_t i = 0; i < n_move; i++) {
                int st = pm->status[i];
                if (st == -EBUSY) {
                        pm->index[n_busy++] = i;
                        continue;
                }
                pagemove_count_status(stats, st, pm->nodes[i]);
        }
        if (n_busy == 0)
                return 0;

        /* The rest of a huge page that moved whole, or a page truly busy:
         * where are they now? Compacted again, keeping each page's target. */
        for (size_t k = 0; k < n_busy; k++) {
                pm->pages[k] = pm->pages[pm->index[k]];
                pm->nodes[k] = pm->nodes[pm->index[k]];
        }
        r = move_pages_call(pid, n_busy, pm->pages, NULL, pm->status, 0);
        for (size_t k = 0; k < n_busy; k++) {
                int st = r < 0 ? -EBUSY : pm->status[k];
                pagemove_count_status(stats, st == pm->nodes[k] ? st : st >= 0 ? -EBUSY : st, pm->nodes[k]);
        }
        return 0;
}
