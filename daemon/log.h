/* SPDX-License-Identifier: MIT */
/* Logging: every decision goes to journald with structured fields
 * (sd_journal_sendv), or to stderr as one line carrying the same fields.
 * Thread records are rate-limited: past a burst they give way to a summary. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <syslog.h>

#include "util.h"

typedef enum LogTarget { LOG_TARGET_AUTO, LOG_TARGET_JOURNAL, LOG_TARGET_STDERR } LogTarget;

typedef enum EventKind {
        EV_STARTED,
        EV_RELOADED,
        EV_RELOAD_FAILED,
        EV_APPLIED,
        EV_RESTORED,
        EV_SKIPPED,
        EV_FAILED,
        EV_DRIFT,
        EV_EVENTS_LOST,
        EV_RESCAN,
        EV_STOPPING,
        _EV_MAX,
} EventKind;

/* Fields of a record about one thread; NULL / 0 members are left out. */
typedef struct LogFields {
        const char *rule;
        pid_t pid, tid;
        const char *comm, *thread;
        const char *cpus, *requested, *previous;
        const char *reason;
} LogFields;

/* A burst of this many thread records per window passes; the rest are
 * counted and summarised once the window ends. */
#define LOG_STORM_BURST 1000u
#define LOG_STORM_WINDOW_USEC (10u * 1000000u)

typedef struct Logger {
        LogTarget target; /* resolved: JOURNAL or STDERR */
        int max_level;    /* LOG_ERR .. LOG_DEBUG */
        FILE *err;
        uint64_t window_start;
        unsigned window_count;
        unsigned suppressed[_EV_MAX];
        unsigned suppressed_other; /* notes (log_note) */
        unsigned suppressed_total;
} Logger;

void log_setup(Logger *l, LogTarget target, int max_level);
int log_parse_target(const char *s, LogTarget *ret);
int log_parse_level(const char *s, int *ret);

const char *event_kind_name(EventKind k);
const char *event_message_id(EventKind k);

void log_msg(Logger *l, int priority, const char *fmt, ...) _printf_(3, 4);
/* A record with PINNERD_EVENT=kind. Thread records (those with a tid) go
 * through the storm limiter. */
void log_event(Logger *l, EventKind kind, int priority, const LogFields *f, const char *fmt, ...)
        _printf_(5, 6);
/* A note about a thread that is no decision of its own (for example CPUs a
 * rule asked for but the thread may not use): the thread's fields, no
 * PINNERD_EVENT. Rate-limited like thread records. */
void log_note(Logger *l, int priority, const LogFields *f, const char *fmt, ...) _printf_(4, 5);

/* Emit the summary of records suppressed in an ended window (the manager
 * calls this from a timer); returns true while records are being held back. */
bool log_storm_flush(Logger *l, uint64_t now);
/* When the summary of held-back records is due (CLOCK_MONOTONIC µs), or 0
 * when nothing is held back: an idle daemon needs no timer. */
uint64_t log_storm_deadline(const Logger *l);
