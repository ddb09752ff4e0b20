/* SPDX-License-Identifier: MIT */
/* One log record's bytes (pure): the event kinds, the fields of a record
 * about a thread, and the record built for journald's native protocol or as
 * one stderr line. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/output.h"

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
        EV_RECORDS_LOST, /* the logger's own: records journald or stderr did not take */
        EV_CONFLICT,     /* another tool would undo a rule (irqbalance) */
        /* The same events about an IRQ, default_smp_affinity or a workqueue
         * mask: PINNERD_EVENT is the same word, the MESSAGE_ID their own, so
         * the catalog explains them as what they are. */
        EV_TARGET_APPLIED,
        EV_TARGET_RESTORED,
        EV_TARGET_SKIPPED,
        EV_TARGET_FAILED,
        EV_TARGET_DRIFT,
        EV_MEMORY, /* a process's pages moved to its CPUs' NUMA nodes (memory =) */
        _EV_MAX,
} EventKind;

/* Fields of a record about one thread; NULL / 0 members are left out.
 * Strings are raw (as /proc gives them): the logger escapes them where the
 * sink needs it and sends the exact bytes in the PINNERD_* fields. */
typedef struct LogFields {
        const char *rule;
        pid_t pid, tid;
        const char *comm, *thread;
        const char *cpus, *requested, *previous;
        const char *policy;    /* "fifo:1", "other:nice=-5": a rule's scheduling policy */
        const char *irq;       /* an IRQ's number, or "default" for default_smp_affinity */
        const char *irq_name;  /* its action names as /proc/interrupts lists them */
        const char *workqueue; /* a workqueue's name, or "*" for the global unbound cpumask */
        const char *reason;
        /* memory records: the nodes pages went to ("1"), and how many pages
         * moved and could not (decimal text). */
        const char *nodes, *pages_moved, *pages_failed;
        bool reason_escaped; /* reason is already escaped text (a configuration error) */
        uid_t uid;           /* whose process the record is about: its record budget */
        bool has_uid;
} LogFields;

/* Escaped MESSAGE text longer than this is cut (with "..."): a record must
 * fit one datagram. */
#define LOG_MESSAGE_MAX 4096u

/* The PINNERD_EVENT word and the MESSAGE_ID of an event kind (NULL: none). */
const char *event_kind_name(EventKind k);
const char *event_message_id(EventKind k);
/* "err" .. "debug" (as syslog names them) → LOG_ERR .. LOG_DEBUG; -EINVAL. */
int log_parse_level(const char *s, int *ret);

/* Pure: one record in journald's native protocol: KEY=value lines, and
 * KEY\n<le64 length><bytes>\n for a value holding a newline, so every byte
 * of a value arrives as it was. Appended to out; returns 0 or -errno. */
int log_journal_field(OutBuf *out, const char *key, const char *value, size_t len);

/* One whole record appended to out, MESSAGE escaped once (escaped: message
 * is escaped text already, only checked) and cut to LOG_MESSAGE_MAX; kind
 * _EV_MAX for a message with no PINNERD_EVENT, lf NULL for no fields. */
void log_record_journal(OutBuf *out, EventKind kind, int priority, const LogFields *lf, const char *message,
                        bool escaped);
/* The same as one stderr line: "pinnerd: LEVEL: message [event=... key=value]". */
void log_record_stderr(OutBuf *out, EventKind kind, int priority, const LogFields *lf, const char *message,
                       bool escaped);
