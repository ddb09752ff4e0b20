/* SPDX-License-Identifier: MIT */
/* Planning: requested → ∩ cpuset → ∩ online → − isolated = effective. Every
 * intermediate set is kept, so `explain` shows where CPUs went, and an empty
 * result carries the first step that emptied it. */
#include "rules/plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

int plan_resolve_cpus(const Host *h, const CpuSpec *spec, CpuSet **ret) {
        return cpuspec_resolve(h, spec, ret);
}

static unsigned load_of(const unsigned *load, unsigned n_load, int c) {
        return load && c >= 0 && (unsigned) c < n_load ? load[c] : 0;
}

/* Least loaded core first (its SMT siblings' load added up), then the least
 * loaded CPU, then the lowest number. Without a topology every CPU is its
 * own core. */
static int spread_pick(const Host *h, const CpuSet *s, const unsigned *load, unsigned n_load) {
        int best = -1;
        unsigned best_core = 0, best_cpu = 0;

        for (int c = cpuset_next(s, -1); c >= 0; c = cpuset_next(s, c)) {
                const CpuSet *sib = h->topology ? topology_siblings(h->topology, (unsigned) c) : NULL;
                unsigned core = 0, own = load_of(load, n_load, c);
                if (sib)
                        for (int t = cpuset_next(sib, -1); t >= 0; t = cpuset_next(sib, t))
                                core += load_of(load, n_load, t);
                else
                        core = own;
                if (best < 0 || core < best_core || (core == best_core && own < best_cpu)) {
                        best = c;
                        best_core = core;
                        best_cpu = own;
                }
        }
        return best;
}

int plan_name_index(const char *s) {
        const char *p = s;

        if (!s)
                return -1;
        while (*p && (*p < '0' || *p > '9'))
                p++;
        if (!*p)
                return -1;
        int v = 0, digits = 0;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (++digits > 9)
                        return -1;
                v = v * 10 + (*p - '0');
        }
        return v;
}

/* The Nth CPU of s in ascending order, N modulo its size. */
static int nth_cpu(const CpuSet *s, unsigned n) {
        unsigned count = cpuset_count(s), k = 0;

        n %= count;
        for (int c = cpuset_next(s, -1); c >= 0; c = cpuset_next(s, c))
                if (k++ == n)
                        return c;
        return -1;
}

/* The "− isolated" step. A thread inside an isolated partition lives on
 * that partition's CPUs: its cpuset is all it has, so those are not taken
 * from it (SPEC: "for a thread inside such a partition its CPUs are simply
 * its cpuset"); every other isolated CPU is. */
static int remove_isolated(const Host *h, const CpuSet *task_cpuset, CpuSet *s) {
        /* Inside a partition the kernel confines the task to the partition's
         * CPUs: its cpuset lies within them. Any other task (a cpuset that
         * reaches beyond, as the root's does) loses every isolated CPU, also
         * where the root's cpuset.cpus.isolated lists isolcpus= CPUs too. */
        if (task_cpuset && h->partitions && !cpuset_empty(h->partitions->isolated) &&
            !cpuset_empty(task_cpuset) && cpuset_subset(task_cpuset, h->partitions->isolated)) {
                _cleanup_(cpuset_freep) CpuSet *remove = cpuset_dup(h->isolated);
                if (!remove)
                        return -ENOMEM;
                cpuset_andnot(remove, task_cpuset);
                cpuset_andnot(s, remove);
                return 0;
        }
        cpuset_andnot(s, h->isolated);
        return 0;
}

/* Why nothing is left, naming the step that emptied the set. */
static int explain_empty(const Host *h, const Rule *r, const CpuSet *task_cpuset, Plan *p) {
        if (r->avoid && cpuset_empty(p->requested)) {
                p->skip_reason = "no CPU of its own mask is left after 'avoid'";
                return 0;
        }
        if (cpuset_empty(p->requested)) {
                int k = cpuspec_empty_reason(h, &r->cpus, &p->skip_reason_buf);
                if (k < 0)
                        return k;
                p->skip_reason = p->skip_reason_buf ? p->skip_reason_buf
                                                    : "the rule's CPUs resolve to none on this host";
        } else if (cpuset_empty(p->in_cpuset)) {
                _cleanup_(freep) char *cs = cpuset_format_list(task_cpuset);
                if (!cs)
                        return -ENOMEM;
                p->skip_reason_buf = xasprintf("no requested CPU is in the thread's cpuset (%s)", cs);
                if (!p->skip_reason_buf)
                        return -ENOMEM;
                p->skip_reason = p->skip_reason_buf;
        } else if (cpuset_empty(p->in_online))
                p->skip_reason = "no requested CPU is online";
        else if (r->cpus.n_terms == 1 && r->cpus.terms[0].kind == CPU_TERM_ISOLATED)
                p->skip_reason =
                        "cpus = isolated, but the rule does not allow isolated CPUs (set isolated = allow)";
        else
                p->skip_reason = "every remaining CPU is isolated (set isolated = allow)";
        return 0;
}

int plan_thread(const Host *h, const Rule *r, const CpuSet *task_cpuset, const unsigned *spread_load,
                unsigned n_load, Plan *ret) {
        return plan_thread_named(h, r, task_cpuset, spread_load, n_load, NULL, NULL, ret);
}

int plan_thread_named(const Host *h, const Rule *r, const CpuSet *task_cpuset, const unsigned *spread_load,
                      unsigned n_load, const char *thread_name, const CpuSet *base, Plan *ret) {
        _cleanup_(plan_done) Plan p = {.spread_cpu = -1, .spread_index = -1};
        int k;

        k = plan_resolve_cpus(h, &r->cpus, &p.requested);
        if (k < 0)
                return k;
        if (r->avoid) {
                CpuSet *req = base ? cpuset_dup(base) : cpuset_new();
                if (!req)
                        return -ENOMEM;
                cpuset_andnot(req, p.requested);
                p.avoided = p.requested;
                p.requested = req;
        }
        p.in_cpuset = cpuset_dup(p.requested);
        if (!p.in_cpuset)
                return -ENOMEM;
        if (task_cpuset)
                cpuset_and(p.in_cpuset, task_cpuset);
        p.in_online = cpuset_dup(p.in_cpuset);
        if (!p.in_online)
                return -ENOMEM;
        if (h->online)
                cpuset_and(p.in_online, h->online);
        p.effective = cpuset_dup(p.in_online);
        if (!p.effective)
                return -ENOMEM;
        if (!r->isolated_allow && !r->avoid && h->isolated) {
                k = remove_isolated(h, task_cpuset, p.effective);
                if (k < 0)
                        return k;
        }
        p.dropped = cpuset_dup(p.requested);
        if (!p.dropped)
                return -ENOMEM;
        cpuset_andnot(p.dropped, p.effective);

        if (cpuset_empty(p.effective)) {
                k = explain_empty(h, r, task_cpuset, &p);
                if (k < 0)
                        return k;
        } else if (r->spread) {
                int c = -1;
                p.spread_candidates = cpuset_count(p.effective);
                p.candidates = cpuset_dup(p.effective);
                if (!p.candidates)
                        return -ENOMEM;
                if (r->spread == SPREAD_INDEX)
                        p.spread_index = plan_name_index(thread_name);
                if (p.spread_index >= 0) {
                        c = nth_cpu(p.effective, (unsigned) p.spread_index);
                        p.spread_how = "the number in the thread's name";
                } else {
                        c = spread_pick(h, p.effective, spread_load, n_load);
                        p.spread_how =
                                r->spread == SPREAD_RULE ? "least used core among the rule's threads"
                                : r->spread == SPREAD_INDEX
                                        ? "no number in the thread's name: least used core of the process"
                                        : "least used core of the process";
                }
                p.spread_cpu = c;
                cpuset_clear(p.effective);
                k = cpuset_add(p.effective, (unsigned) c);
                if (k < 0)
                        return k;
        }
        *ret = p;
        p = (Plan){0};
        return 0;
}

void plan_done(Plan *p) {
        cpuset_free(p->requested);
        cpuset_free(p->in_cpuset);
        cpuset_free(p->in_online);
        cpuset_free(p->effective);
        cpuset_free(p->dropped);
        cpuset_free(p->avoided);
        cpuset_free(p->candidates);
        free(p->skip_reason_buf);
        *p = (Plan){0};
}
