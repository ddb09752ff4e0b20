/* SPDX-License-Identifier: MIT */
#include "threads.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "intmap.h"
#include "util.h"

/* Threads are allocated separately so pointers stay valid while the maps
 * grow; a second map counts each process's entries. */
struct ThreadTable {
        IntMap by_tid; /* tid → Thread* */
        IntMap by_pid; /* pid → number of entries */
};

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
        free(th);
}

void thread_table_free(ThreadTable *t) {
        size_t i = 0;
        const IntMapSlot *s;

        if (!t)
                return;
        while ((s = intmap_next(&t->by_tid, &i)))
                thread_free((Thread *) s->value);
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

static void pid_count_add(ThreadTable *t, pid_t pid, int delta) {
        uintptr_t n = 0;

        (void) intmap_get(&t->by_pid, pid, &n);
        n += (uintptr_t) (intptr_t) delta;
        if (n == 0)
                (void) intmap_remove(&t->by_pid, pid, NULL);
        else
                (void) intmap_put(&t->by_pid, pid, n, NULL);
}

Thread *thread_table_put(ThreadTable *t, pid_t pid, pid_t tid, uint64_t start) {
        Thread *th = calloc(1, sizeof *th);
        uintptr_t old;
        int r;

        if (!th)
                return NULL;
        th->pid = pid;
        th->tid = tid;
        th->start = start;
        th->spread_cpu = -1;
        th->comm = th->name = (char *) empty_name;
        r = intmap_put(&t->by_tid, tid, (uintptr_t) th, &old);
        if (r < 0) {
                free(th);
                return NULL;
        }
        if (r == 1) {
                pid_count_add(t, ((Thread *) old)->pid, -1);
                thread_free((Thread *) old);
        }
        pid_count_add(t, pid, +1);
        return th;
}

void thread_table_remove(ThreadTable *t, pid_t tid) {
        uintptr_t v;

        if (!intmap_remove(&t->by_tid, tid, &v))
                return;
        pid_count_add(t, ((Thread *) v)->pid, -1);
        thread_free((Thread *) v);
}

Thread *thread_table_next(const ThreadTable *t, size_t *iter) {
        const IntMapSlot *s = intmap_next(&t->by_tid, iter);
        return s ? (Thread *) s->value : NULL;
}

bool thread_table_has_pid(const ThreadTable *t, pid_t pid) {
        return intmap_get(&t->by_pid, pid, NULL);
}

int thread_table_spread_load(const ThreadTable *t, pid_t pid, const char *rule, pid_t except_tid,
                             unsigned **ret, unsigned *ret_n) {
        unsigned n = 0;
        unsigned *load;
        size_t i = 0;
        Thread *th;

        /* Spread processes have a handful of threads and the walk is cheap
         * next to the syscalls around it. */
        while ((th = thread_table_next(t, &i)))
                if (th->pid == pid && th->tid != except_tid && th->spread_cpu >= 0 && th->rule &&
                    strcmp(th->rule, rule) == 0 && (unsigned) th->spread_cpu + 1 > n)
                        n = (unsigned) th->spread_cpu + 1;
        load = calloc(n ? n : 1, sizeof(unsigned));
        if (!load)
                return -ENOMEM;
        i = 0;
        while ((th = thread_table_next(t, &i)))
                if (th->pid == pid && th->tid != except_tid && th->spread_cpu >= 0 && th->rule &&
                    strcmp(th->rule, rule) == 0)
                        load[th->spread_cpu]++;
        *ret = load;
        *ret_n = n;
        return 0;
}
