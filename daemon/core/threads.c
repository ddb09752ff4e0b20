/* SPDX-License-Identifier: MIT */
#include "core/threads.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/intmap.h"
#include "lib/util.h"

/* Threads are allocated separately so pointers stay valid while the maps
 * grow; a second map heads each process's chain of entries, so per-process
 * questions (spread load, inherited originals) cost that process's threads,
 * not the table's. */
struct ThreadTable {
        IntMap by_tid;   /* tid → Thread* */
        IntMap by_pid;   /* pid → first Thread* of the process */
        IntMap released; /* pid → Released*: the last entry given back, for inheritance */
};

/* A thread pinnerd gave back may have created threads on its mask first. */
typedef struct Released {
        CpuSet *applied, *original;
} Released;

static void released_free(Released *r) {
        if (!r)
                return;
        cpuset_free(r->applied);
        cpuset_free(r->original);
        free(r);
}

static const char empty_name[] = "";

ThreadTable *thread_table_new(void) {
        return calloc(1, sizeof(ThreadTable));
}

static void thread_free(Thread *th) {
        if (!th)
                return;
        if (th->comm != empty_name)
                free(th->comm);
        free(th->skip_reason);
        cpuset_free(th->original);
        cpuset_free(th->applied);
        free(th->policy_original);
        free(th);
}

void thread_table_free(ThreadTable *t) {
        size_t i = 0;
        const IntMapSlot *s;

        if (!t)
                return;
        while ((s = intmap_next(&t->by_tid, &i)))
                thread_free((Thread *) s->value);
        i = 0;
        while ((s = intmap_next(&t->released, &i)))
                released_free((Released *) s->value);
        intmap_done(&t->released);
        intmap_done(&t->by_tid);
        intmap_done(&t->by_pid);
        free(t);
}

size_t thread_table_size(const ThreadTable *t) {
        return intmap_size(&t->by_tid);
}

int thread_set_names(Thread *th, const char *comm, const char *name) {
        size_t lc = strlen(comm), ln = strlen(name);
        char *buf;

        if (strcmp(th->comm, comm) == 0 && strcmp(th->name, name) == 0)
                return 0;
        buf = malloc(lc + ln + 2);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, comm, lc + 1);
        memcpy(buf + lc + 1, name, ln + 1);
        if (th->comm != empty_name)
                free(th->comm);
        th->comm = buf;
        th->name = buf + lc + 1;
        return 0;
}

Thread *thread_table_get(ThreadTable *t, pid_t tid) {
        uintptr_t v;
        return intmap_get(&t->by_tid, tid, &v) ? (Thread *) v : NULL;
}

static void pid_link(ThreadTable *t, Thread *th) {
        uintptr_t head = 0;

        (void) intmap_get(&t->by_pid, th->pid, &head);
        th->pid_prev = NULL;
        th->pid_next = (Thread *) head;
        if (th->pid_next)
                th->pid_next->pid_prev = th;
        /* Cannot fail for a pid already present; for a new one an allocation
         * failure leaves the entry reachable by tid only, which costs nothing
         * but per-process lookups. */
        (void) intmap_put(&t->by_pid, th->pid, (uintptr_t) th, NULL);
}

static void pid_unlink(ThreadTable *t, Thread *th) {
        if (th->pid_next)
                th->pid_next->pid_prev = th->pid_prev;
        if (th->pid_prev)
                th->pid_prev->pid_next = th->pid_next;
        else if (th->pid_next)
                (void) intmap_put(&t->by_pid, th->pid, (uintptr_t) th->pid_next, NULL);
        else
                (void) intmap_remove(&t->by_pid, th->pid, NULL);
        th->pid_next = th->pid_prev = NULL;
}

Thread *thread_table_put(ThreadTable *t, pid_t pid, pid_t tid, uint64_t start) {
        Thread *th = calloc(1, sizeof *th);
        uintptr_t old;

        if (!th)
                return NULL;
        th->pid = pid;
        th->tid = tid;
        th->start = start;
        th->spread_cpu = -1;
        th->comm = th->name = (char *) empty_name;
        if (intmap_get(&t->by_tid, tid, &old)) {
                pid_unlink(t, (Thread *) old);
                thread_free((Thread *) old);
        }
        if (intmap_put(&t->by_tid, tid, (uintptr_t) th, NULL) < 0) {
                (void) intmap_remove(&t->by_tid, tid, NULL);
                free(th);
                return NULL;
        }
        pid_link(t, th);
        return th;
}

void thread_table_remove(ThreadTable *t, pid_t tid) {
        uintptr_t v;

        if (!intmap_remove(&t->by_tid, tid, &v))
                return;
        pid_unlink(t, (Thread *) v);
        thread_free((Thread *) v);
}

Thread *thread_table_next(const ThreadTable *t, size_t *iter) {
        const IntMapSlot *s = intmap_next(&t->by_tid, iter);
        return s ? (Thread *) s->value : NULL;
}

bool thread_table_has_pid(const ThreadTable *t, pid_t pid) {
        return intmap_get(&t->by_pid, pid, NULL);
}

Thread *thread_table_first_of(const ThreadTable *t, pid_t pid) {
        uintptr_t v;
        return intmap_get(&t->by_pid, pid, &v) ? (Thread *) v : NULL;
}

/* The entry of the thread that forked pid's leader, when it is another
 * process's and still pinned. */
static const Thread *creator_of(const ThreadTable *t, pid_t pid, pid_t creator) {
        const Thread *c = creator > 0 ? thread_table_get((ThreadTable *) t, creator) : NULL;
        return c && c->pid != pid && c->applied ? c : NULL;
}

bool thread_table_has_released(const ThreadTable *t, pid_t pid) {
        uintptr_t v;
        return intmap_get(&t->released, pid, &v);
}

bool thread_table_pinned_creator(const ThreadTable *t, pid_t pid, pid_t creator) {
        return creator_of(t, pid, creator) != NULL;
}

const CpuSet *thread_table_true_original(const ThreadTable *t, pid_t pid, pid_t creator, const CpuSet *now) {
        const Thread *c = creator_of(t, pid, creator);
        uintptr_t v;

        if (c && c->original && now && cpuset_equal(c->applied, now))
                return c->original;

        for (const Thread *th = thread_table_first_of(t, pid); th; th = th->pid_next)
                if (th->original && th->applied && now && cpuset_equal(th->applied, now))
                        return th->original;
        if (now && intmap_get(&t->released, pid, &v) && cpuset_equal(((Released *) v)->applied, now))
                return ((Released *) v)->original;
        return now;
}

const CpuSet *thread_table_base_mask(const ThreadTable *t, const Thread *entry, pid_t pid,
                                     const CpuSet *now) {
        if (entry && entry->original)
                return entry->original;
        return now ? thread_table_true_original(t, pid, entry ? entry->creator : 0, now) : NULL;
}

void thread_table_note_released(ThreadTable *t, const Thread *th) {
        Released *r;
        uintptr_t old = 0;
        int k;

        if (!th->original || !th->applied || cpuset_equal(th->original, th->applied))
                return;
        r = calloc(1, sizeof *r);
        if (!r)
                return;
        r->applied = cpuset_dup(th->applied);
        r->original = cpuset_dup(th->original);
        if (!r->applied || !r->original || (k = intmap_put(&t->released, th->pid, (uintptr_t) r, &old)) < 0) {
                released_free(r);
                return;
        }
        if (k == 1)
                released_free((Released *) old);
}

void thread_table_forget_process(ThreadTable *t, pid_t pid) {
        uintptr_t v;
        if (intmap_remove(&t->released, pid, &v))
                released_free((Released *) v);
}

size_t thread_table_released_pids(const ThreadTable *t, pid_t *buf, size_t size) {
        const IntMapSlot *s;
        size_t i = 0, n = 0;
        while (n < size && (s = intmap_next(&t->released, &i)))
                buf[n++] = s->key;
        return n;
}

int thread_remember_original(Thread *th, const CpuSet *original) {
        if (th->original || !original)
                return 0;
        th->original = cpuset_dup(original);
        return th->original ? 0 : -ENOMEM;
}

const SchedPolicy *thread_table_true_policy(const ThreadTable *t, pid_t pid, pid_t creator,
                                            const SchedPolicy *now, const SchedPolicy *ruled) {
        const Thread *c = creator_of(t, pid, creator);

        if (!policy_equal(now, ruled))
                return now;
        if (c && c->policy_original)
                return c->policy_original;
        for (const Thread *th = thread_table_first_of(t, pid); th; th = th->pid_next)
                if (th->policy_original && th->applied)
                        return th->policy_original;
        return now;
}

int thread_remember_policy(Thread *th, const SchedPolicy *original) {
        if (th->policy_original || !original)
                return 0;
        th->policy_original = malloc(sizeof *th->policy_original);
        if (!th->policy_original)
                return -ENOMEM;
        *th->policy_original = *original;
        return 0;
}

bool thread_dropped_reported(const ThreadTable *t, const Thread *th) {
        for (const Thread *o = thread_table_first_of(t, th->pid); o; o = o->pid_next)
                if ((o->reported & REPORTED_DROPPED) && o->rule == th->rule)
                        return true;
        return false;
}

int thread_table_spread_load(const ThreadTable *t, pid_t pid, const char *rule, pid_t except_tid,
                             unsigned **ret, unsigned *ret_n) {
        unsigned n = 0;
        unsigned *load;
        size_t i = 0;
        const Thread *th;

        /* pid 0: every process (spread = rule), a walk of the whole table. */
#define EACH(body)                                                                                           \
        if (pid > 0)                                                                                         \
                for (th = thread_table_first_of(t, pid); th; th = th->pid_next) {                            \
                        body                                                                                 \
                }                                                                                            \
        else                                                                                                 \
                for (i = 0; (th = thread_table_next(t, &i));) {                                              \
                        body                                                                                 \
                }
        EACH(if (th->tid != except_tid && th->spread_cpu >= 0 && th->rule && strcmp(th->rule, rule) == 0 &&
                 (unsigned) th->spread_cpu + 1 > n) n = (unsigned) th->spread_cpu + 1;)
        load = calloc(n ? n : 1, sizeof(unsigned));
        if (!load)
                return -ENOMEM;
        EACH(if (th->tid != except_tid && th->spread_cpu >= 0 && th->rule && strcmp(th->rule, rule) == 0)
                     load[th->spread_cpu]++;)
#undef EACH
        *ret = load;
        *ret_n = n;
        return 0;
}
