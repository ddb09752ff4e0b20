/* SPDX-License-Identifier: MIT */
/* guarantee = exec: an exec of a file a guarantee rule names waits in the
 * kernel (a fanotify exec-permission event, kernel/fanotify.h) until the
 * rule's mask and policy are set on the exec'ing task; then it is allowed.
 * So the program's first instruction already runs where the rule says,
 * instead of racing the daemon that pins it from the exec event.
 *
 * Between an event and its answer there is nothing but the pin: fstat of the
 * event's file, sched_getaffinity, sched_setaffinity, sched_setattr when the
 * rule has a policy. No log record, no /proc read, no other request: an
 * answer that waited behind those is how permission listeners deadlock
 * hosts (a journald that execs, a log write that blocks). The thread table
 * and the journal learn of the pin after the answer.
 *
 * pinnerd never denies: every event is answered FAN_ALLOW, on any error, for
 * a file it no longer knows, and past GUARANTEE_DEADLINE_USEC of work on a
 * batch (then without a pin). The fanotify source has the loop's highest
 * priority, and a full scan answers waiting execs between two processes.
 *
 * What the kernel does when pinnerd cannot answer: when its fanotify fd
 * closes (stop, crash, kill -9) every waiting exec is allowed at once, and
 * no exec waits again. A pinnerd that is stopped (SIGSTOP, a debugger) still
 * holds the fd, and marked execs wait until it runs again; it cannot be
 * helped from inside a stopped process. Marks are removed before any stop
 * pinnerd makes itself (SIGTERM, SIGINT), and the fd is closed first of all.
 * pinnerd never marks its own executable (it would wait for itself). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "core/reconcile.h"
#include "kernel/dirwatch.h"

/* Events of a batch not yet answered after the daemon has spent this much
 * CPU time on the batch are allowed without a pin (its own work, not time
 * it waited for a CPU: see guarantee.c). */
#define GUARANTEE_DEADLINE_USEC 2000
/* Files marked at most (the directories named by guarantee rules hold
 * more: the rest are left unmarked, and status says so). */
#define GUARANTEE_MAX_FILES 4096

typedef struct GuaranteeFile {
        dev_t dev;
        ino_t ino;
        unsigned slot; /* index into Guarantee.rules */
        char *path;
} GuaranteeFile;

/* What the event handler needs of one rule, in the kernel's mask format. */
typedef struct GuaranteeRule {
        const Rule *rule;
        CpuSet *set; /* cpus rules: requested ∩ online − isolated; avoid rules: the CPUs avoided */
        unsigned long *kmask; /* cpus rules: set as the kernel takes it */
} GuaranteeRule;

typedef struct GuaranteeStats {
        uint64_t held;       /* exec events answered */
        uint64_t pinned;     /* ... after a pin */
        uint64_t late;       /* ... past the deadline, without a pin */
        uint64_t unknown;    /* ... for a file no rule holds any more (or during a reload) */
        uint64_t failed;     /* ... after a pin the kernel refused */
        uint64_t max_usec;   /* longest time from reading an event to its answer */
        uint64_t total_usec; /* the sum of those times (mean = total / held) */
        uint64_t remarks;    /* marking passes after a directory changed */
        uint64_t bad_events; /* malformed reads */
} GuaranteeStats;

typedef struct Guarantee {
        int fan_fd; /* -1 when off */
        DirWatch dirs;
        sd_event_source *fan_src, *dir_src;
        char *error;          /* why guarantees are off, while a rule wants them */
        char *mark_problem;   /* the last file or directory that could not be marked or watched */
        bool wanted;          /* some rule has guarantee = exec */
        bool warned;          /* said once that it is not in force */
        GuaranteeFile *files; /* sorted by (dev, ino) */
        size_t n_files, n_skipped;
        unsigned long *scratch; /* two kernel masks per event of a batch */
        GuaranteeRule *rules;
        size_t n_rules;
        const Config *config; /* what rules were built from (not owned) */
        dev_t self_dev;
        ino_t self_ino;
        GuaranteeStats stats;
        sd_event *event; /* not owned */
        Reconciler *rc;  /* not owned */
        Logger *log;     /* not owned */
} Guarantee;

void guarantee_init(Guarantee *g);
/* At start, whether or not a rule wants it yet: make the fanotify group
 * (CAP_SYS_ADMIN), then drop CAP_SYS_ADMIN. Without the privilege (the
 * shipped unit) g->error says why, and guarantee rules work as without. */
void guarantee_prepare(Guarantee *g, sd_event *e, Reconciler *rc);
/* Take the config in rc (at start, after a reload, after CPU hotplug): mark
 * the files the rules name now, unmark the rest. Never fails: what does not
 * work is in g->error (the rules then work as without guarantee) or
 * g->mark_problem. */
void guarantee_update(Guarantee *g, sd_event *e, Reconciler *rc);
/* Answer every exec waiting now (between two processes of a scan). */
void guarantee_service(Guarantee *g);
/* Close the group first (every waiting exec is allowed), then the rest. */
void guarantee_stop(Guarantee *g);

/* For status and explain: "exec" (active), "off" (no rule wants it), or
 * "unavailable" (a rule wants it, g->error says why). */
const char *guarantee_state(const Guarantee *g);
/* Is the resolved path of an executable marked for rule (explain)? */
bool guarantee_marks(const Guarantee *g, const char *path, const Rule *rule);
