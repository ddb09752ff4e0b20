/* SPDX-License-Identifier: MIT */
/* Facts: what the kernel says about a task, read through /proc, only as much
 * as some rule needs. The comm pre-check lets most processes of an exec storm
 * cost one small read; a process's facts are read once and shared by its
 * threads; cpusets are cached per cgroup file for a second. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "rules/config.h"
#include "lib/cpuset.h"
#include "kernel/host.h"
#include "rules/match.h"
#include "kernel/procfs.h"

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

typedef struct Facts {
        int procfd;       /* not owned */
        const Host *host; /* not owned */
        CpusetCacheEntry cache[CPUSET_CACHE_SIZE];
        size_t n_cache;
} Facts;

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

/* Could any rule match pid, judging by its name alone? One small read. */
bool facts_worth_a_look(const Facts *fx, const Config *c, pid_t pid);
/* The same judgement on a name already known (a COMM event carries it). */
bool facts_name_worth_a_look(const Config *c, const char *comm);

/* Read what the config needs to know about pid. Unless `force`, facts beyond
 * the stat file are read only when some rule's comm can match. -ESRCH when it
 * is gone. */
int facts_read_process(const Facts *fx, const Config *c, pid_t pid, bool force, ProcFacts *ret);
void proc_facts_done(ProcFacts *p);
/* Fresh copies of the facts `need` names (FACT_*), for the re-check right
 * before a write: tid's cgroup, the process's exe, cmdline, uid, parent. */
int facts_reread(const Facts *fx, const ProcFacts *p, pid_t tid, unsigned need, ProcFacts *ret);

/* The TaskFacts view of one thread of p, for matching. */
void facts_task_view(const ProcFacts *p, pid_t tid, const char *thread_name, TaskFacts *ret);

/* The thread's identity and name (its stat file; for the leader the one read
 * with p). -ESRCH when it is gone. */
int facts_read_thread(const Facts *fx, const ProcFacts *p, pid_t tid, TaskStat *ret);

/* The thread's cpuset (NULL = no limit), through the cache. Not owned; valid
 * until the next lookup. */
int facts_thread_cpuset(Facts *fx, const ProcFacts *p, pid_t tid, const CpuSet **ret);
/* Forget every cached cpuset (a scan starts afresh; the host changed). */
void facts_cache_clear(Facts *fx);
