/* SPDX-License-Identifier: MIT */
/* Memory that follows the CPUs (memory = follow | interleave): once every
 * thread of a process that such a rule manages is confined to the CPUs of a
 * set of NUMA nodes (rules/memplan.c decides), its pages elsewhere are moved
 * there (kernel/pagemove.c), once per change of placement.
 *
 * Moving never competes with pinning. It runs from a timer at the event
 * loop's lowest priority, so every pending event is dispatched first; each
 * turn holds the loop at most MEMORY_SLICE_USEC, in move_pages calls sized
 * to take at most MEMORY_CALL_USEC each (which also bounds how long the
 * moving process waits for a page); after a turn the loop rests at least as
 * long as the turn took, so moving takes at most half a CPU even at the
 * daemon's SCHED_FIFO priority. Several processes take turns.
 *
 * What could not move is counted and said once per placement, in the one
 * record that ends the pass; a host with one node says once that memory
 * does nothing. The reconciler notes which processes' placement may have
 * changed (rc->placement_changed); the manager calls memory_update() after
 * every dispatch. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "core/reconcile.h"
#include "kernel/numa.h"
#include "kernel/pagemove.h"
#include "lib/intmap.h"
#include "rules/memplan.h"

#define MEMORY_SLICE_USEC 2000u /* the event loop is held at most this long per turn */
/* Passes reading their process's mappings at once, each holding a file
 * descriptor; others wait their turn. */
#define MEMORY_READERS_MAX 16u
#define MEMORY_CALL_USEC 1000u /* one move_pages call, and a page's wait, at most about this */
#define MEMORY_REST_MIN_USEC 1000u
/* Pages per call: adapted between these. Never fewer than a transparent
 * huge page's 512: a huge page moves whole, and a batch that ends inside one
 * would leave its other pages to the next batch, found there already. */
#define MEMORY_BATCH_MIN 512u
#define MEMORY_BATCH_MAX 16384u
#define MEMORY_BATCH_START 1024u

/* What one process's memory placement is, and its pass. */
typedef struct MemProc {
        pid_t pid;
        uint64_t start; /* the leader's start time: a recycled pid is another process */
        char comm[COMM_MAX + 1];
        char rule[CONF_MAX_NAME + 1]; /* the rule that asked (plan.rule is the config's) */
        MemPlan plan;                 /* the placement last judged (acted on when MEM_MOVE) */
        /* The pass: under way while `running`. */
        bool running, queued;
        NumaRangeReader maps; /* its mappings, read a piece at a time as the pass goes */
        bool maps_open;       /* it holds one of MemoryStep.readers */
        bool maps_read;       /* every piece of them is in */
        NumaRange *ranges;    /* the ranges of the last piece */
        size_t n_ranges, range;
        uint64_t cursor;
        int *targets;
        PageTargets tg;
        PageMoveStats stats;                           /* of the pass under way, or of the last one */
        uint64_t started_usec, spent_usec, ended_usec; /* ended 0: none ended yet */
        uint64_t calls, longest_call_usec; /* move_pages batches, and the longest: a page's wait */
        int error;                         /* the pass ended on this error (-errno), 0 */
        struct MemProc *next;              /* run queue */
} MemProc;

typedef struct MemoryCounters {
        uint64_t passes;                         /* placements acted on */
        uint64_t moved;                          /* pages */
        uint64_t shared, busy, no_memory, other; /* pages that could not move, by reason */
        uint64_t usec;                           /* time spent moving */
} MemoryCounters;

/* Where a process's resident memory is (numa_maps), as list and explain
 * last read it: reading is a walk of its page tables in the kernel (26 ms
 * for a process with 60,000 mappings), so it is read a piece at a time
 * (numa.h), and at most once per MEMORY_USAGE_TTL_USEC per process, whatever
 * asks how often. */
#define MEMORY_USAGE_CACHE 64
#define MEMORY_USAGE_TTL_USEC (1000u * 1000u)
typedef struct MemoryUsageEntry {
        pid_t pid;
        uint64_t start; /* the process's start time: a recycled pid is another */
        uint64_t read_usec;
        int error; /* the read's -errno, or 0 */
        NumaUsage usage;
        bool reading; /* reader is open: usage is not known yet */
        NumaUsageReader reader;
        uint64_t step_usec; /* the last piece read */
} MemoryUsageEntry;

typedef struct MemoryStep {
        Reconciler *rc; /* not owned: host, config, threads, procfd, log */
        IntMap procs;   /* pid → MemProc* */
        MemProc *head, *tail;
        sd_event *event;        /* not owned; NULL: passes run only through memory_run_all */
        sd_event_source *timer; /* at SD_EVENT_PRIORITY_IDLE */
        PageMover mover;
        size_t batch;      /* pages per move_pages call */
        size_t last_batch; /* the size before the last halving, and how long a call took then */
        uint64_t last_dt;
        size_t batch_floor; /* halving below this made calls hardly cheaper */
        size_t page_size;
        bool one_node_said;
        unsigned readers; /* passes whose maps reader is open */
        size_t n_queued;  /* processes in the run queue */
        MemoryCounters counters;
        MemoryUsageEntry usage[MEMORY_USAGE_CACHE];
} MemoryStep;

void memory_init(MemoryStep *ms, Reconciler *rc);
/* Passes run from e's idle-priority timer from now on. */
int memory_attach(MemoryStep *ms, sd_event *e);
void memory_done(MemoryStep *ms);

/* Judge again the processes the reconciler noted, and start, restart or
 * stop their passes. Cheap when nothing was noted or no rule moves memory. */
void memory_update(MemoryStep *ms);
/* The configuration changed (start, reload): say once, on a one-node host,
 * that memory does nothing, and judge every managed process again. */
void memory_config_changed(MemoryStep *ms);
/* Run every pass to its end now (--once: no event loop to share). */
void memory_run_all(MemoryStep *ms);

/* After a move_pages call of n pages (the batch size, or fewer at the end
 * of a range) took dt µs: the size of the next one (ms->batch). Pure. */
void memory_adapt_batch(MemoryStep *ms, size_t n, uint64_t dt);

/* Where pid's resident memory is, read at most once a second (see
 * MemoryUsageEntry), a piece of numa_maps per call: 1 while the read goes
 * on (ask again, in a later slice); 0 with *ret valid until the next call;
 * or the read's -errno (-ESRCH gone, -EACCES, -ENOENT no NUMA; -EBUSY when
 * MEMORY_USAGE_CACHE other reads are under way). */
int memory_usage(MemoryStep *ms, pid_t pid, const NumaUsage **ret);

/* What the memory step knows of pid (NULL: no memory rule manages it). */
const MemProc *memory_process(const MemoryStep *ms, pid_t pid);
