/* SPDX-License-Identifier: MIT */
/* What may run on which CPU, for `pinnerctl cpus` and `pinnerctl audit`: a
 * census of every thread (its mask, and whether a rule put it there, could
 * move it, or the kernel keeps it), every IRQ (requested and effective
 * CPUs, movable or not), the unbound workqueue masks, and interrupts and
 * context switches per CPU over a sample. It runs as a stepped control
 * request (ctlserver.h): the thread walk in slices, and the sample as a
 * timer, so the event loop keeps pinning while it works. A non-root peer's
 * census holds only the processes it could see itself (peer.h).
 *
 * Classifying a thread, an IRQ or a workqueue mask is pure (cpuscan_task_class,
 * cpuscan_irq_state) and unit-tested. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/manager-internal.h"
#include "ctl/ctlserver.h"
#include "ctl/peer.h"
#include "kernel/cpustat.h"
#include "kernel/procfs.h"
#include "lib/cpuset.h"
#include "lib/output.h"

/* `--sample SECONDS`: at most this long. */
#define CPUSCAN_MAX_SAMPLE_SEC 60
/* Threads a non-root peer's census covers at most. */
#define CPUSCAN_UNPRIV_THREADS 100000

typedef enum TaskClass {
        TASK_OWNER,   /* a rule put it on these CPUs */
        TASK_OTHER,   /* a user task that may run there and could be moved */
        TASK_KTHREAD, /* a kernel thread that could be moved (a kthreads = yes rule) */
        TASK_FIXED,   /* a kernel thread the kernel keeps where it is */
        TASK_MOVING,  /* an IRQ thread whose IRQ moves off at its next interrupt: it follows */
        _TASK_CLASS_MAX,
} TaskClass;

typedef enum IrqState {
        IRQ_STATE_OWNED,     /* a cpus or follow rule put it there */
        IRQ_STATE_UNMOVABLE, /* the kernel refused to move it */
        IRQ_STATE_PENDING,   /* requested off, delivered there until its next interrupt */
        IRQ_STATE_INTRUDER,  /* may be delivered there, and could be moved */
        IRQ_STATE_AWAY,      /* neither requested nor delivered there */
} IrqState;

/* What the census knows of one thread. */
typedef struct TaskInfo {
        bool kthread;
        bool no_setaffinity;  /* PF_NO_SETAFFINITY */
        const char *name;     /* thread name, for the kind of kernel thread */
        const CpuSet *mask;   /* where it may run now */
        const CpuSet *online; /* the host's online CPUs */
        /* pinnerd's entry for it, when it has one: */
        const char *rule;
        const CpuSet *applied; /* what the rule set; NULL when it left it alone */
        const char *skip_reason;
        bool avoid_rule; /* the entry's rule is an avoid rule (it never widens) */
        bool dry_run;    /* pinnerd changes nothing: applied is what it would set */
        /* An IRQ thread ("irq/N-name") follows its IRQ: the state of IRQ N
         * for these CPUs, and why; irq -1 for any other thread. */
        int irq;
        IrqState irq_state;
        const char *irq_why;
} TaskInfo;

/* Pure: the class, and why (malloc'd) for everything but owners. */
TaskClass cpuscan_task_class(const TaskInfo *t, char **ret_why);

typedef struct IrqInfo {
        const CpuSet *requested, *effective; /* effective NULL: unknown (old kernels) */
        const char *rule;                    /* the rule pinnerd holds it to, NULL when none */
        bool rule_places;                    /* that rule is cpus or follow (not avoid) */
        const CpuSet *applied;               /* what pinnerd wrote; NULL when nothing stands */
        const char *skip_reason;
        int unmovable_errno;
        bool dry_run; /* applied is what pinnerd would write */
} IrqInfo;

/* Pure: the state of an IRQ for the CPUs `on`, and why (malloc'd). */
IrqState cpuscan_irq_state(const IrqInfo *q, const CpuSet *on, char **ret_why);
const char *cpuscan_irq_state_name(IrqState s);

/* One thread that may run on the CPUs asked about (audit). */
typedef struct TaskSeen {
        pid_t pid, tid;
        char comm[COMM_MAX + 1], thread[COMM_MAX + 1];
        char *mask;
        const char *rule; /* owners: their rule (interned by the daemon) */
        TaskClass cls;
        char *why;
} TaskSeen;

typedef struct IrqSeen {
        unsigned irq;
        char *actions;
        CpuSet *requested, *effective; /* effective NULL: unknown */
        IrqState state;                /* for the CPUs asked about */
        char *why;
        char *rule;
        bool unmovable;
} IrqSeen;

typedef struct WqSeen {
        char *name; /* "*" the global cpumask */
        CpuSet *mask;
        bool owned;   /* a workqueues rule with cpus put it there */
        bool managed; /* a workqueues rule manages it */
        char *why;
} WqSeen;

typedef enum ScanPhase {
        SCAN_START,
        SCAN_IRQS,
        SCAN_TASKS,
        SCAN_WAIT,
        SCAN_DONE,
} ScanPhase;

typedef struct CpuScan {
        CpuSet *cpus;    /* the CPUs asked about */
        bool keep_tasks; /* audit: keep every thread that may run on cpus */
        PeerView peer;
        bool privileged;      /* root: no bound on the census */
        uint64_t sample_usec; /* 0: no rates */
        ScanPhase phase;
        CpuSample a, b;
        uint64_t due_usec;

        pid_t *pids;
        size_t n_pids, next_pid, threads_seen;
        bool truncated; /* a non-root census stopped at CPUSCAN_UNPRIV_THREADS */
        /* The process whose threads are being walked (cur_pid 0: none): a
         * slice may end inside it. */
        pid_t cur_pid;
        TaskStat cur_leader;
        int cur_fd; /* its task directory, listed a piece at a time */
        pid_t cur_tids[PROCFS_TIDS_CHUNK];
        size_t cur_n, cur_k; /* the piece listed, and the next in it */
        ProcFacts cur_facts; /* read once, for the first thread a rule excludes */
        bool cur_have_facts;

        /* Per CPU number (nr_cpu_ids entries): threads of each class that may run there. */
        unsigned nr;
        unsigned (*count)[_TASK_CLASS_MAX];
        /* Per CPU: the rules whose threads sit there, and how many. */
        struct RuleCount {
                const char *rule; /* interned by the daemon: lives as long as it */
                unsigned n;
        } * *rules_on;
        size_t *n_rules_on;

        TaskSeen *tasks;
        size_t n_tasks, cap_tasks;
        IrqSeen *irqs;
        size_t n_irqs;
        WqSeen *wqs;
        size_t n_wqs;
        CpuSet *wq_effective; /* where unbound work may run now; NULL: unknown */
} CpuScan;

/* Set the job up; the first step takes the first sample. */
int cpuscan_init(CpuScan *s, Manager *m, const CtlRequest *req, const CpuSet *cpus, bool keep_tasks,
                 uint64_t sample_usec);
void cpuscan_done(CpuScan *s);
/* Work a slice: > 0 more to do (reply->step_delay_usec set while the sample
 * runs), 0 when the census is complete, -errno. */
int cpuscan_step(CpuScan *s, Manager *m, CtlReply *reply);

/* "CPUS" and "SECONDS" arguments: a cpulist (0-3,8) or "all"; whole
 * seconds 0..CPUSCAN_MAX_SAMPLE_SEC. The error text goes to err. */
int cpuscan_parse_cpus(const Manager *m, const char *arg, CpuSet **ret, OutBuf *err);
int cpuscan_parse_sample(const char *arg, uint64_t *ret_usec, OutBuf *err);

/* What a census verb's rendering has done so far. A long one (audit's table
 * of 20,000 tasks took ~40 ms at once, and a non-root peer's work makes the
 * daemon pause accepting for nine times as long) goes out a slice at a
 * time, each call picking up where the last stopped. */
typedef struct CpuScanOut {
        unsigned part;  /* the verb's own: what comes next */
        size_t pos;     /* where in it */
        size_t omitted; /* rows of it left out: the reply would have grown past its bound */
        bool filled;    /* table holds every row of its part */
        size_t row;     /* the next line of table to render */
        Table table;
        JsonWriter json;
} CpuScanOut;

/* A census verb (`cpus`, `audit`): its arguments, the scan as a stepped
 * request, then one of its renderings by the request's --json, called until
 * it returns 0 (the answer is complete) or -errno; > 0: more to do, within
 * CTL_STEP_BUDGET_USEC of t0 each call. */
typedef int (*CpuScanRender)(Manager *m, const CpuScan *s, CpuScanOut *o, CtlReply *reply, uint64_t t0);
typedef struct CpuScanVerb {
        const char *usage;  /* said on extra arguments (and a missing CPUS when required) */
        bool cpus_required; /* else every possible CPU when none is named */
        bool keep_tasks;    /* cpuscan_init()'s */
        CpuScanRender text, json;
} CpuScanVerb;
/* "[CPUS] [sample=SECONDS]": usage errors go to reply (exit code set,
 * returns 0); otherwise the job is set up in reply. Returns 0 or -errno. */
int cpuscan_verb(Manager *m, const CtlRequest *req, CtlReply *reply, const CpuScanVerb *v);
