/* SPDX-License-Identifier: MIT */
#include "threads.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Open addressing with linear probing and backward-shift deletion: no
 * tombstones, so a long-running daemon's table never degrades. Threads are
 * allocated separately so pointers stay valid across growth. */
struct ThreadTable {
        Thread **slots;
        size_t cap, n; /* cap is a power of two */
};

static size_t hash_tid(pid_t tid, size_t cap) {
        uint32_t x = (uint32_t) tid;
        x ^= x >> 16;
        x *= 0x7feb352dU;
        x ^= x >> 15;
        x *= 0x846ca68bU;
        x ^= x >> 16;
        return x & (cap - 1);
}

ThreadTable *thread_table_new(void) {
        ThreadTable *t = calloc(1, sizeof *t);
        if (!t)
                return NULL;
        t->cap = 64;
        t->slots = calloc(t->cap, sizeof(Thread *));
        if (!t->slots) {
                free(t);
                return NULL;
        }
        return t;
}

static void thread_free(Thread *th) {
        if (!th)
                return;
        free(th->rule);
        free(th->skip_reason);
        cpuset_free(th->original);
        cpuset_free(th->applied);
        cpuset_free(th->requested);
        free(th);
}

void thread_table_free(ThreadTable *t) {
        if (!t)
                return;
        for (size_t i = 0; i < t->cap; i++)
                thread_free(t->slots[i]);
        free(t->slots);
        free(t);
}

size_t thread_table_size(const ThreadTable *t) {
        return t->n;
}

static size_t find_slot(const ThreadTable *t, pid_t tid) {
        size_t i = hash_tid(tid, t->cap);
        while (t->slots[i] && t->slots[i]->tid != tid)
                i = (i + 1) & (t->cap - 1);
        return i;
}

Thread *thread_table_get(ThreadTable *t, pid_t tid) {
        return t->slots[find_slot(t, tid)];
}

static int grow(ThreadTable *t) {
        size_t ncap = t->cap * 2;
        Thread **ns = calloc(ncap, sizeof(Thread *));
        if (!ns)
                return -ENOMEM;
        for (size_t i = 0; i < t->cap; i++) {
                Thread *th = t->slots[i];
                if (!th)
                        continue;
                size_t j = hash_tid(th->tid, ncap);
                while (ns[j])
                        j = (j + 1) & (ncap - 1);
                ns[j] = th;
        }
        free(t->slots);
        t->slots = ns;
        t->cap = ncap;
        return 0;
}

Thread *thread_table_put(ThreadTable *t, pid_t pid, pid_t tid, uint64_t start) {
        Thread *th;
        size_t i;

        if ((t->n + 1) * 4 > t->cap * 3 && grow(t) < 0)
                return NULL;
        i = find_slot(t, tid);
        th = calloc(1, sizeof *th);
        if (!th)
                return NULL;
        th->pid = pid;
        th->tid = tid;
        th->start = start;
        th->spread_cpu = -1;
        if (t->slots[i])
                thread_free(t->slots[i]);
        else
                t->n++;
        t->slots[i] = th;
        return th;
}

void thread_table_remove(ThreadTable *t, pid_t tid) {
        size_t i = find_slot(t, tid), j;

        if (!t->slots[i])
                return;
        thread_free(t->slots[i]);
        t->slots[i] = NULL;
        t->n--;
        /* Backward shift: move later entries of the probe run into the hole
         * when their home slot does not lie cyclically in (i, j]. */
        j = i;
        for (;;) {
                j = (j + 1) & (t->cap - 1);
                if (!t->slots[j])
                        break;
                size_t home = hash_tid(t->slots[j]->tid, t->cap);
                bool stay = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
                if (stay)
                        continue;
                t->slots[i] = t->slots[j];
                t->slots[j] = NULL;
                i = j;
        }
}

Thread *thread_table_next(const ThreadTable *t, size_t *iter) {
        while (*iter < t->cap) {
                Thread *th = t->slots[(*iter)++];
                if (th)
                        return th;
        }
        return NULL;
}

int thread_table_spread_load(const ThreadTable *t, pid_t pid, const char *rule, pid_t except_tid,
                             unsigned **ret, unsigned *ret_n) {
        unsigned n = 0;
        unsigned *load;
        size_t i = 0;
        Thread *th;

        /* Spread processes have a handful of threads and the scan is cheap
         * next to the syscalls around it; measured in tests/bench. */
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
