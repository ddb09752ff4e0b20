/* SPDX-License-Identifier: MIT */
/* When to read the proc connector next: at once (every event wakes us, the
 * lowest latency), or after a short deferral while a storm of events nobody
 * cares about lasts. At SCHED_FIFO the daemon preempts a fork storm on every
 * single event, and the wakeup, not the work, is most of its cost (measured:
 * ~3 wakeups and ~80 us per unrelated fork+exec). Reading every few
 * milliseconds instead turns hundreds of wakeups into one, and merges a
 * short-lived process's fork, exec and exit into nothing at all. Pure. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct PacingConfig {
        uint64_t window_usec;  /* events are counted over windows this long */
        unsigned storm_events; /* a window with at least this many events ... */
        unsigned quiet_share;  /* ... of which fewer than 1 in quiet_share needed work, is a storm */
        uint64_t defer_usec;   /* while it lasts: read this long after the last read */
} PacingConfig;

/* 16 events in 10 ms (1,600/s) with under 1 in 16 needing work; it lasts
 * while the rate stays above half that. A sequential run of matching execs
 * (1 in 3 events needs work) never defers. 8 ms: a 1,500/s storm of
 * /bin/true cost 78 ms of daemon CPU per 5,000 spawns and 0.16 wakeups per
 * spawn here, 4 ms 91 ms and 0.14-0.3 (busy machine); a matching process
 * started during a storm waits at most this long to be pinned. */
#define PACING_DEFAULTS                                                                                      \
        ((PacingConfig){.window_usec = 10000, .storm_events = 16, .quiet_share = 16, .defer_usec = 8000})

typedef struct Pacing {
        PacingConfig cfg;
        uint64_t window_start;
        unsigned events, busy;
        bool storm;
        uint64_t storms; /* times a storm began, for status and tests */
        /* The last window judged: what the debug record says. */
        unsigned last_events, last_busy;
        uint64_t last_usec;
} Pacing;

void pacing_init(Pacing *p, const PacingConfig *cfg);

/* After one read: n events, of which busy needed work (a candidate or a
 * remembered task). Returns how long to wait before the next read: 0 means
 * "wake on the next event". */
uint64_t pacing_after_read(Pacing *p, uint64_t now_usec, unsigned n, unsigned busy);
