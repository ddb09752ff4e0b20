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

#include "cnproc.h"

/* What a batch asks for one task. */
enum {
        WANT_THREAD = 1,  /* (re)evaluate this thread: fork of a thread, rename */
        WANT_PROCESS = 2, /* (re)evaluate every thread: new process, exec, process rename */
        WANT_GONE = 4,    /* it exited: forget it (before anything else the item asks) */
        WANT_EXEC = 8,    /* it exec'd: a non-leader thread's entry moves to the leader's tid */
        WANT_NEW = 16,    /* a new thread: its mask is its creator's */
};

typedef struct WorkItem {
        pid_t tid, pid;
        unsigned want;
        uint64_t timestamp_ns; /* the newest event's kernel timestamp */
} WorkItem;

/* Pure: merge n events into work items (at most n), one per tid, sorted by
 * tid. An exit clears what earlier events of the tid asked; events after an
 * exit (a recycled tid) keep WANT_GONE so the old entry goes first. Returns
 * the number of items, or (size_t) -1 when out of memory. */
size_t intake_merge(const CnEvent *ev, size_t n, WorkItem *out);

typedef struct Manager Manager;

typedef struct Intake {
        int fd; /* -1 without the connector */
        bool connector;
        char *error; /* why the connector is not used */
        bool in_lost_burst;
        uint64_t last_lost_rescan;
        CnEvent *batch;
        WorkItem *items;
        char *rxbuf; /* datagrams of one recvmmsg */
        sd_event_source *source, *lost_timer;
} Intake;

int intake_init(Intake *in);
void intake_done(Intake *in);
/* Subscribe (before the first scan, so nothing started in between is
 * missed). On failure in->error says why; the daemon polls instead. */
int intake_connect(Intake *in);
/* Watch the connector from the loop. */
int intake_attach(Manager *m);
