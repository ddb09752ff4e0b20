/* SPDX-License-Identifier: MIT */
/* The manager's state, shared only by manager.c (the loop and reconcile) and
 * manager-ctl.c (the control verbs that read it). */
#pragma once

#include <systemd/sd-device.h>
#include <systemd/sd-event.h>

#include "affinity.h"
#include "conf.h"
#include "cnproc.h"
#include "host.h"
#include "intmap.h"
#include "manager.h"
#include "match.h"
#include "metrics.h"
#include "plan.h"
#include "threads.h"

typedef struct Counters {
        uint64_t events, lost_rescans, rescans, applied, restored, skipped, failed, drift;
} Counters;

/* Cpusets looked up recently, keyed by the raw cgroup file: threads of one
 * cgroup share one read, and an exec costs no cpuset read when its cgroup was
 * seen within the last second. A full scan starts afresh. Cgroup files give
 * no change notification; the kernel enforces cpusets regardless, and a
 * drift check catches a cpuset change that moved a pinned thread. */
typedef struct CpusetCacheEntry {
        char *key;
        CpuSet *set; /* NULL = no cpuset limit */
        uint64_t read_usec;
} CpusetCacheEntry;
#define CPUSET_CACHE_SIZE 64
#define CPUSET_CACHE_TTL_USEC (1000 * 1000)

/* Facts of one process, read once and shared by its threads. Only the facts
 * some rule needs are read. */
typedef struct ProcFacts {
        TaskStat stat;
        char *exe, *cmdline, *cgroup_raw;
        TaskCgroups cgroups;
        uid_t uid;
        bool has_uid;
        char parent_comm[COMM_MAX + 1];
        bool has_parent;
        bool candidate; /* some rule's comm/kthread keys can match */
} ProcFacts;

struct Manager {
        ManagerOptions opt;
        Logger *log;
        sd_event *event;
        Host *host;
        int procfd;
        Config *config;
        ThreadTable *threads;
        StrVec rule_names;       /* interned names thread entries point at */
        IntMap dropped_reported; /* pid → rule whose dropped CPUs were reported */
        Affinity aff;

        int cn_fd;
        bool connector; /* events come from the proc connector, else polling */
        char *connector_error;
        bool in_lost_burst;
        uint64_t last_lost_rescan;
        CnEvent *batch;
        char *rxbuf; /* datagrams of one recvmmsg */

        sd_event_source *cn_source, *rescan_timer, *verify_timer, *storm_timer, *lost_timer;
        sd_event_source *sig_term, *sig_int, *sig_hup;
        sd_device_monitor *hotplug;
        struct CtlServer *ctl;

        CpusetCacheEntry cpuset_cache[CPUSET_CACHE_SIZE];
        size_t n_cpuset_cache;

        uint64_t generation;
        uint64_t start_usec;
        Counters counters;
        /* Kernel timestamp (CLOCK_MONOTONIC ns) of the event being handled,
         * 0 in a scan: a mask set meanwhile is observed in event_to_pin. */
        uint64_t event_ns;
        MetricsHistogram event_to_pin;
        int exit_code;
};

/* Read what the config needs to know about pid. Unless `force`, facts beyond
 * the stat file are read only when some rule's comm can match. -ESRCH when it
 * is gone. */
int manager_read_proc_facts(Manager *m, pid_t pid, bool force, ProcFacts *ret);
void proc_facts_done(ProcFacts *p);
/* Fill a TaskFacts view for one thread of p. */
void manager_task_facts(const ProcFacts *p, pid_t tid, const char *thread_name, TaskFacts *ret);
/* The thread's cpuset (NULL = no limit), through the cache. Not owned; valid
 * until the next lookup. */
int manager_thread_cpuset(Manager *m, const ProcFacts *p, pid_t tid, const CpuSet **ret);

/* Re-read the config; on success swap and reconcile. `out` (may be NULL)
 * gets the one-line result or every error. Returns 0 or -EINVAL. */
int manager_reload(Manager *m, char **ret_summary, StrVec *ret_errors);
void manager_rescan(Manager *m, const char *why);

/* A cpulist for messages and tables; "-" for NULL. malloc'd. */
char *manager_fmt_cpus(const CpuSet *s);

/* For a spread rule: how many of pid's threads placed by `rule` sit on each
 * CPU (tid itself left out); a CPU the thread holds (held_cpu >= 0) is
 * preferred while it stays allowed. */
int manager_spread_load(Manager *m, pid_t pid, const Rule *rule, pid_t tid, int held_cpu, unsigned **ret,
                        unsigned *ret_n);

/* "proc-connector", "polling", or "single scan" (--once). */
const char *manager_event_source(const Manager *m);

/* The control socket handler (manager-ctl.c). */
struct CtlRequest;
struct CtlReply;
int manager_ctl_handler(void *userdata, const struct CtlRequest *req, struct CtlReply *reply);
