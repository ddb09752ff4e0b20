/* SPDX-License-Identifier: MIT */
#include "core/facts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

/* Before reading everything about pid: could any rule match it at all? Only
 * its name is read, and a name of COMM_USER_MAX bytes (which may be a cut
 * kernel thread name) never rules anything out. Most processes of an exec
 * storm end here. */
bool facts_worth_a_look(const Facts *fx, const Config *c, pid_t pid) {
        char comm[COMM_MAX + 2];

        if (procfs_read_comm(fx->procfd, pid, comm, sizeof comm) < 0)
                return false; /* gone */
        return facts_name_worth_a_look(c, comm);
}

bool facts_name_worth_a_look(const Config *c, const char *comm) {
        if (strlen(comm) >= COMM_USER_MAX)
                return true;
        return match_comm_possible(c, comm, false) || match_comm_possible(c, comm, true);
}

void proc_facts_done(ProcFacts *p) {
        free(p->exe);
        free(p->cmdline);
        free(p->cgroup_raw);
        task_cgroups_done(&p->cgroups);
        *p = (ProcFacts){0};
}

/* The facts `need` names, beyond the stat file p already holds. tid's own
 * cgroup file is read (threads may sit in other v1 cpusets). */
static void read_more(const Facts *fx, ProcFacts *p, pid_t tid, unsigned need) {
        pid_t pid = p->stat.pid;

        /* A fact that cannot be read stays NULL and matches nothing. */
        if (need & FACT_EXE)
                (void) procfs_read_exe(fx->procfd, pid, &p->exe);
        if (need & FACT_CMDLINE)
                (void) procfs_read_cmdline(fx->procfd, pid, &p->cmdline);
        if (need & FACT_UID)
                p->has_uid = procfs_read_uid(fx->procfd, pid, &p->uid) >= 0;
        if ((need & FACT_CGROUP) && procfs_read_cgroup(fx->procfd, pid, tid, &p->cgroup_raw) >= 0)
                (void) task_cgroups_parse_buf(p->cgroup_raw, &p->cgroups);
        if (need & FACT_PARENT) {
                TaskStat ps;
                if (p->stat.ppid > 0 && procfs_read_stat(fx->procfd, p->stat.ppid, p->stat.ppid, &ps) >= 0) {
                        memcpy(p->parent_comm, ps.comm, sizeof p->parent_comm);
                        p->has_parent = true;
                }
        }
}

int facts_read_process(const Facts *fx, const Config *c, pid_t pid, bool force, ProcFacts *ret) {
        ProcFacts p = {0};
        unsigned need = c->facts;
        int r;

        r = procfs_read_stat(fx->procfd, pid, pid, &p.stat);
        if (r < 0)
                return r;
        p.candidate = match_comm_possible(c, p.stat.comm, p.stat.flags & PROC_PF_KTHREAD);
        if (p.candidate || force)
                read_more(fx, &p, pid, force ? need | FACT_UID : need);
        *ret = p;
        return 0;
}

int facts_reread(const Facts *fx, const ProcFacts *p, pid_t tid, unsigned need, ProcFacts *ret) {
        ProcFacts q = {.stat = p->stat, .candidate = p->candidate};
        int r;

        r = procfs_read_stat(fx->procfd, p->stat.pid, p->stat.pid, &q.stat);
        if (r < 0)
                return r;
        read_more(fx, &q, tid, need);
        *ret = q;
        return 0;
}

void facts_task_view(const ProcFacts *p, pid_t tid, const char *thread_name, TaskFacts *ret) {
        *ret = (TaskFacts){
                .pid = p->stat.pid,
                .tid = tid,
                .comm = p->stat.comm,
                .thread = thread_name,
                .exe = p->exe,
                .cmdline = p->cmdline,
                .uid = p->uid,
                .has_uid = p->has_uid,
                .cgroup = task_cgroups_match_path(&p->cgroups),
                .parent_comm = p->has_parent ? p->parent_comm : NULL,
                .kthread = p->stat.flags & PROC_PF_KTHREAD,
        };
}

int facts_read_thread(const Facts *fx, const ProcFacts *p, pid_t tid, TaskStat *ret) {
        if (tid == p->stat.pid) {
                *ret = p->stat; /* read a moment ago */
                return 0;
        }
        return procfs_read_stat(fx->procfd, p->stat.pid, tid, ret);
}

void facts_cache_clear(Facts *fx) {
        for (size_t i = 0; i < fx->n_cache; i++) {
                free(fx->cache[i].key);
                cpuset_free(fx->cache[i].set);
        }
        fx->n_cache = 0;
}

int facts_thread_cpuset(Facts *fx, const ProcFacts *p, pid_t tid, const CpuSet **ret) {
        _cleanup_(freep) char *raw = NULL;
        _cleanup_(task_cgroups_done) TaskCgroups cg = {0};
        const char *key;
        uint64_t now = now_usec();
        CpuSet *set = NULL;
        int r;

        /* Threads can sit in different v1 cpusets (or v2 threaded cgroups), so
         * the thread's own file decides; the leader's may be read already. */
        if (tid == p->stat.pid && p->cgroup_raw)
                key = p->cgroup_raw;
        else {
                r = procfs_read_cgroup(fx->procfd, p->stat.pid, tid, &raw);
                if (r < 0)
                        return r;
                key = raw;
        }
        for (size_t i = 0; i < fx->n_cache; i++)
                if (now - fx->cache[i].read_usec < CPUSET_CACHE_TTL_USEC &&
                    strcmp(fx->cache[i].key, key) == 0) {
                        *ret = fx->cache[i].set;
                        return 0;
                }
        r = task_cgroups_parse_buf(key, &cg);
        if (r < 0)
                return r;
        r = host_task_cpuset(fx->host, &cg, &set);
        if (r < 0)
                return r;
        if (fx->n_cache == CPUSET_CACHE_SIZE)
                facts_cache_clear(fx);
        char *k = raw ? TAKE_PTR(raw) : strdup(key);
        if (!k) {
                cpuset_free(set);
                return -ENOMEM;
        }
        fx->cache[fx->n_cache++] = (CpusetCacheEntry){.key = k, .set = set, .read_usec = now};
        *ret = set;
        return 0;
}
