/* SPDX-License-Identifier: MIT */
/* Logging: every decision goes to journald with structured fields, or to
 * stderr as one line carrying the same fields. Thread records are
 * rate-limited: past a burst they give way to a summary (log-budget.c).
 * A record's bytes are log-record.c's; this header's queue and sinks log.c's.
 *
 * Nothing waits on a log reader. Records are serialised into a bounded
 * queue; while an event handler runs they stay there and are written after
 * it (a defer source on the event loop, or an explicit log_flush()), so no
 * journald or stderr write sits between an event and its
 * sched_setaffinity(). The journal is written in journald's native protocol
 * on a non-blocking datagram socket of our own: a slow or stopped journald
 * costs records (counted, and said once when it takes them again, as a
 * records-lost record), never time. sd_journal_send() would block the daemon
 * as soon as journald has 10 datagrams unread (net.unix.max_dgram_qlen).
 * stderr gets the same bounded, non-blocking, counted path: a descriptor of
 * our own with O_NONBLOCK (a reader that stops reading — a terminal paused
 * with Ctrl-S, a full pipe — holds records in the queue, then costs them),
 * written again when it takes more. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <syslog.h>

#include "lib/log-record.h"
#include "lib/output.h"
#include "lib/util.h"

typedef enum LogTarget { LOG_TARGET_AUTO, LOG_TARGET_JOURNAL, LOG_TARGET_STDERR } LogTarget;

/* Per window, a burst of this many thread records about the processes of
 * one user passes, and of this many in all; the rest are counted and
 * summarised once the window ends. One user starting processes a broad rule
 * matches fills only its own budget: records about everyone else's still
 * pass. Users past LOG_STORM_USERS in a window share one budget. */
#define LOG_STORM_BURST 1000u
#define LOG_STORM_TOTAL 4000u
#define LOG_STORM_USERS 16u
#define LOG_STORM_WINDOW_USEC (10u * 1000000u)

/* Records waiting to be written: at most this many, and this many bytes
 * (a record is ~300 bytes; 4096 of them cover a rescan of a big host while
 * journald is busy). Past either, new records are dropped and counted. */
#define LOG_QUEUE_MAX_RECORDS 4096u
#define LOG_QUEUE_MAX_BYTES ((size_t) 4 * 1024 * 1024)
/* An empty queue keeps at most this much allocated. */
#define LOG_QUEUE_KEEP_BYTES ((size_t) 64 * 1024)
/* While journald is unreachable, connecting is tried again at most this often. */
#define LOG_RECONNECT_USEC (250u * 1000u)

#define LOG_JOURNAL_SOCKET "/run/systemd/journal/socket"

typedef struct sd_event sd_event;
typedef struct sd_event_source sd_event_source;

typedef struct Logger {
        LogTarget target; /* resolved: JOURNAL or STDERR */
        int max_level;    /* LOG_ERR .. LOG_DEBUG */
        /* stderr: a non-blocking descriptor of our own when one could be
         * had (log_setup), else fd 2 written only when poll() says it takes
         * more. err_sock: a stream socket (journald's stdout stream). */
        int err_fd;
        bool err_owned, err_sock, err_guarded;
        size_t head_done;         /* bytes of the record at the queue's head already on stderr */
        const char *journal_path; /* LOG_JOURNAL_SOCKET; tests point it elsewhere */
        int journal_fd;           /* connected datagram socket, or -1 */
        uint64_t reconnect_at;    /* no connect() before this (CLOCK_MONOTONIC µs) */
        bool journal_down;        /* the last write found no journald (said once); records go to stderr */
        uint64_t to_stderr;       /* records sent to stderr while journald was down, not said yet */
        bool journal_full;        /* journald's queue was full: wait for EPOLLOUT */
        bool err_broken;          /* stderr failed hard (EPIPE): not written again */

        /* Records waiting: [u32 length][u8 sink][bytes], from queue_head on. */
        OutBuf queue;
        size_t queue_head;
        unsigned queued;

        /* Records lost since that was last said, by cause; and in all. */
        uint64_t lost_full, lost_down, lost_stderr, lost_other;
        uint64_t lost_total;

        sd_event *event;               /* while set and running, records wait for its post source */
        sd_event_source *post_source;  /* flushes after each dispatched event */
        sd_event_source *write_source; /* EPOLLOUT on journal_fd while journald's queue is full */
        sd_event_source *err_source;   /* EPOLLOUT on err_fd while stderr's reader lags */

        uint64_t window_start;
        unsigned window_count;
        struct {
                uid_t uid; /* (uid_t) -1: records without an owner, and users past the table */
                unsigned count, suppressed;
        } window_users[LOG_STORM_USERS + 1];
        unsigned n_window_users;
        unsigned suppressed[_EV_MAX];
        unsigned suppressed_other; /* notes (log_note) */
        unsigned suppressed_total;
} Logger;

void log_setup(Logger *l, LogTarget target, int max_level);
/* Write stderr records to fd instead (tests), opened the way log_setup opens
 * fd 2: fd stays the caller's, and is never made non-blocking itself. */
void log_set_stderr_fd(Logger *l, int fd);
/* Write what is queued (waiting a bounded time for a busy journald) and
 * release everything; the Logger can be set up again afterwards. */
void log_done(Logger *l);
int log_parse_target(const char *s, LogTarget *ret);

/* Defer writes to the end of each event-loop iteration of e (which must be
 * the loop the daemon runs): records logged from inside an event handler are
 * written after it returns. Without it (or while e is not dispatching),
 * every record is written when it is logged. Returns 0 or -errno. */
int log_attach_event(Logger *l, sd_event *e);
/* Write queued records now, as far as the sinks take them without waiting. */
void log_flush(Logger *l);
/* One record, past the record budget, into its sink's queue: written now,
 * or after the running event handler (log-budget.c's entry points call it). */
void log_emit(Logger *l, EventKind kind, int priority, const LogFields *lf, const char *message,
              bool escaped);
/* Records that no sink took (queue full, journald gone, stderr broken). */
uint64_t log_lost_total(const Logger *l);

/* ---- the entry points, behind the record budget (log-budget.c) ---- */

void log_msg(Logger *l, int priority, const char *fmt, ...) _printf_(3, 4);
/* A message that is already escaped for people (configuration diagnostics
 * quote their values with conf_escape()): only what escaped text cannot hold
 * (control bytes, invalid UTF-8) is escaped, so nothing is escaped twice. */
void log_msg_escaped(Logger *l, int priority, const char *text);
/* A record with PINNERD_EVENT=kind. Thread records (those with a tid) go
 * through the storm limiter. The formatted message is raw text: the logger
 * escapes it (C-style, text_escape_append) in MESSAGE and on stderr. */
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
