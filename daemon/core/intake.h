/* SPDX-License-Identifier: MIT */
/* Intake: process events from the proc connector, drained before any work and
 * merged into one work item per task. Losing events (a full receive buffer, a
 * truncated datagram, more than a batch holds) turns into a rescan, at most
 * one per LOST_RESCAN_INTERVAL_USEC. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "kernel/cnproc.h"
#include "core/pacing.h"
#include "core/reconcile.h"

/* What a batch asks for one task. */
enum {
        WANT_THREAD = 1,  /* (re)evaluate this thread: fork of a thread, rename */
        WANT_PROCESS = 2, /* (re)evaluate every thread: new process, exec, process rename */
        WANT_GONE = 4,    /* it exited: forget it (before anything else the item asks) */
        WANT_EXEC = 8,    /* it exec'd: a non-leader thread's entry moves to the leader's tid */
        WANT_NEW = 16,    /* a new thread: its mask is its creator's */
        WANT_CREDS = 32,  /* its user changed: every thread again, if a rule matches on users */
};

typedef struct WorkItem {
        pid_t tid, pid;
        unsigned want;
        uint64_t timestamp_ns; /* the newest event's kernel timestamp */
        /* The name a leader's COMM event gave, when that event was the
         * item's last one (nothing since could have renamed it): the comm
         * pre-check needs no /proc read. Empty otherwise. */
        char comm[16];
        bool held;     /* already held back over one storm read: act on it now */
        pid_t creator; /* a new process: the thread that forked it (its original comes from it) */
} WorkItem;

/* Pure: merge n events into work items (at most n), one per tid, sorted by
 * tid. An exit clears what earlier events of the tid asked; events after an
 * exit (a recycled tid) keep WANT_GONE so the old entry goes first. Returns
 * the number of items, or (size_t) -1 when out of memory. */
size_t intake_merge(const CnEvent *ev, size_t n, WorkItem *out);

/* Pure: items held back from the previous read (sorted by tid) merged with
 * this read's (sorted by tid) into out (room for na + nh), sorted by tid. For
 * one tid, an exit in this read ends what was held (it is gone, or its tid
 * was recycled and this read's events say what the new task wants); else the
 * wants add up and the item is marked held. Returns the count. */
size_t intake_merge_held(const WorkItem *a, size_t na, const WorkItem *held, size_t nh, WorkItem *out);

typedef struct Intake {
        int fd; /* -1 without the connector */
        bool connector;
        char *error; /* why the connector is not used */
        bool in_lost_burst;
        uint64_t last_lost_rescan;
        CnFilterMode filter;     /* which events reach us */
        uint32_t events;         /* CNPROC_EV_* subscribed to */
        int kernel_filter_error; /* why not CN_FILTER_KERNEL (-errno; -ETIMEDOUT: an older kernel) */
        bool filter_forced;      /* PINNERD_PROC_FILTER=socket asked for the older kernels' path */
        Pacing pacing;
        sd_event_source *defer_timer; /* armed while a storm defers reads */
        /* During a storm, new processes nothing is known of wait one more
         * read: most of a storm's processes exit by then and cost nothing. */
        WorkItem *held, *merged;
        size_t n_held;
        size_t burst_high; /* most events of one read since the arrays were last given back */
        CnEvent *batch;
        WorkItem *items;
        char *rxbuf; /* datagrams of one recvmmsg */
        sd_event_source *source, *lost_timer;
        sd_event *event; /* not owned; from intake_attach */
        Reconciler *rc;  /* not owned; where the work items go */
} Intake;

int intake_init(Intake *in);
void intake_done(Intake *in);
/* Subscribe (before the first scan, so nothing started in between is
 * missed): with the kernel's per-listener event filter where it has one
 * (Linux >= 6.6), else the classic subscription; a socket filter drops the
 * kinds never used either way. The environment variable PINNERD_PROC_FILTER
 * = socket skips the first attempt (the path older kernels take; for tests
 * and for a kernel whose filter misbehaves). On failure in->error says why;
 * the daemon polls instead. */
int intake_connect(Intake *in, uint32_t events);
/* Receive these CNPROC_EV_* kinds from now on (a reload added or removed a
 * rule on users). 0, or -errno: the old filter stays. */
int intake_set_events(Intake *in, uint32_t events);
/* One line for status and the start record: "kernel", "socket", "none". */
const char *intake_filter_name(const Intake *in);
/* Watch the connector from the loop. */
int intake_attach(Intake *in, sd_event *e, Reconciler *rc);
