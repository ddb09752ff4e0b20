/* SPDX-License-Identifier: MIT */
#include "kernel/topology.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

/* A cpulist of every other CPU up to 65535 is ~190 KiB (as in host.c). */
#define TOPO_FILE_MAX (1024 * 1024)
/* Linux has at most a handful of cache indices (index0..index3 on x86 and
 * arm64); this only bounds a hostile tree. */
#define TOPO_MAX_CACHE_INDEX 64u

struct Topology {
        unsigned n_cpus;
        int *core;         /* core[cpu] = lowest CPU of its core */
        int *package;      /* physical_package_id or -1 */
        int *llc;          /* index into llcs or -1 */
        CpuSet **siblings; /* siblings[k] for k a core's lowest CPU, else NULL */
        CpuSet *smt_primary;
        CpuSet **packages; /* by id; NULL where no CPU has that id */
        unsigned n_packages;
        CpuSet **llcs; /* ordered by lowest CPU */
        unsigned n_llcs;
};

void topology_free(Topology *t) {
        if (!t)
                return;
        if (t->siblings)
                for (unsigned i = 0; i < t->n_cpus; i++)
                        cpuset_free(t->siblings[i]);
        if (t->packages)
                for (unsigned i = 0; i < t->n_packages; i++)
                        cpuset_free(t->packages[i]);
        if (t->llcs)
                for (unsigned i = 0; i < t->n_llcs; i++)
                        cpuset_free(t->llcs[i]);
        free(t->siblings);
        free(t->packages);
        free(t->llcs);
        free(t->core);
        free(t->package);
        free(t->llc);
        cpuset_free(t->smt_primary);
        free(t);
}

/* The lowest CPU of `text` ∪ {cpu}: the key that groups CPUs into one core
 * or one cache domain. */
static int list_key(const char *text, unsigned cpu, int *ret) {
        _cleanup_(cpuset_freep) CpuSet *s = NULL;
        CpuSetError err;
        int r, first;

        r = cpuset_parse_list(text, &s, &err);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        first = cpuset_next(s, -1);
        *ret = first >= 0 && (unsigned) first < cpu ? first : (int) cpu;
        return 0;
}

static int parse_package_id(const char *text, int *ret) {
        _cleanup_(freep) char *copy = strdup(text);
        const char *s;
        unsigned id;

        if (!copy)
                return -ENOMEM;
        s = strstrip(copy);
        /* Platforms that do not know print -1. */
        if (strcmp(s, "-1") == 0) {
                *ret = -1;
                return 0;
        }
        if (parse_uint(s, &id) < 0 || id >= CPUSET_MAX_CPUS)
                return -EBADMSG;
        *ret = (int) id;
        return 0;
}

static int fail(char **ret_error, int r, unsigned cpu, const char *file) {
        if (ret_error && r == -EBADMSG)
                *ret_error = xasprintf("cpu%u: cannot parse %s", cpu, file);
        return r;
}

/* Group CPUs by key (key[cpu] <= cpu, or -1): one set per distinct key, in
 * ascending key order, and index[cpu] = the set's position (or -1). */
static int group_by_key(const int *key, unsigned n, CpuSet ***ret, unsigned *ret_n, int *index) {
        int *slot = NULL;
        CpuSet **sets = NULL;
        unsigned m = 0;
        int r = 0;

        slot = malloc((n ? n : 1) * sizeof(int));
        if (!slot)
                return -ENOMEM;
        for (unsigned i = 0; i < n; i++)
                slot[i] = -1;
        /* Keys ascend with the lowest CPU, so walking CPUs in order meets
         * every key for the first time in ascending order. */
        for (unsigned c = 0; c < n; c++)
                if (key[c] >= 0 && slot[key[c]] < 0)
                        slot[key[c]] = (int) m++;
        sets = calloc(m ? m : 1, sizeof(CpuSet *));
        if (!sets) {
                free(slot);
                return -ENOMEM;
        }
        for (unsigned c = 0; c < n && r >= 0; c++) {
                index[c] = key[c] >= 0 ? slot[key[c]] : -1;
                if (index[c] < 0)
                        continue;
                if (!sets[index[c]] && !(sets[index[c]] = cpuset_new()))
                        r = -ENOMEM;
                else
                        r = cpuset_add(sets[index[c]], c);
        }
        free(slot);
        if (r < 0) {
                for (unsigned i = 0; i < m; i++)
                        cpuset_free(sets[i]);
                free(sets);
                return r;
        }
        *ret = sets;
        *ret_n = m;
        return 0;
}

int topology_build(const TopologyCpuText *cpus, unsigned n_cpus, Topology **ret, char **ret_error) {
        _cleanup_(topology_freep) Topology *t = NULL;
        _cleanup_(freep) int *core_key = NULL, *llc_key = NULL, *core_index = NULL;
        CpuSet **cores = NULL;
        unsigned n_cores = 0;
        int r;

        if (n_cpus > CPUSET_MAX_CPUS)
                return -ERANGE;
        t = calloc(1, sizeof(Topology));
        if (!t)
                return -ENOMEM;
        t->n_cpus = n_cpus;
        size_t cells = n_cpus ? n_cpus : 1;
        t->core = calloc(cells, sizeof(int));
        t->package = calloc(cells, sizeof(int));
        t->llc = calloc(cells, sizeof(int));
        t->siblings = calloc(cells, sizeof(CpuSet *));
        t->smt_primary = cpuset_new();
        core_key = calloc(cells, sizeof(int));
        llc_key = calloc(cells, sizeof(int));
        core_index = calloc(cells, sizeof(int));
        if (!t->core || !t->package || !t->llc || !t->siblings || !t->smt_primary || !core_key || !llc_key ||
            !core_index)
                return -ENOMEM;

        for (unsigned c = 0; c < n_cpus; c++) {
                const TopologyCpuText *x = &cpus[c];

                core_key[c] = (int) c;
                if (x->thread_siblings && (r = list_key(x->thread_siblings, c, &core_key[c])) < 0)
                        return fail(ret_error, r, c, "topology/thread_siblings_list");
                t->package[c] = -1;
                if (x->package_id && (r = parse_package_id(x->package_id, &t->package[c])) < 0)
                        return fail(ret_error, r, c, "topology/physical_package_id");
                llc_key[c] = -1;
                if (x->llc_shared && (r = list_key(x->llc_shared, c, &llc_key[c])) < 0)
                        return fail(ret_error, r, c, "the last-level cache's shared_cpu_list");
                if (t->package[c] >= 0 && (unsigned) t->package[c] >= t->n_packages)
                        t->n_packages = (unsigned) t->package[c] + 1;
        }

        /* Cores: the siblings set of each is stored at its lowest CPU. */
        r = group_by_key(core_key, n_cpus, &cores, &n_cores, core_index);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < n_cores; i++) {
                int low = cpuset_next(cores[i], -1);
                t->siblings[low] = cores[i];
                if (r >= 0)
                        r = cpuset_add(t->smt_primary, (unsigned) low);
        }
        /* core[cpu] is its group's lowest CPU, not its key: the two differ
         * only when sysfs contradicts itself. */
        for (unsigned c = 0; c < n_cpus; c++)
                t->core[c] = cpuset_next(cores[core_index[c]], -1);
        free(cores);
        if (r < 0)
                return r;

        r = group_by_key(llc_key, n_cpus, &t->llcs, &t->n_llcs, t->llc);
        if (r < 0)
                return r;

        if (t->n_packages) {
                t->packages = calloc(t->n_packages, sizeof(CpuSet *));
                if (!t->packages)
                        return -ENOMEM;
        }
        for (unsigned c = 0; c < n_cpus; c++) {
                int p = t->package[c];
                if (p < 0)
                        continue;
                if (!t->packages[p] && !(t->packages[p] = cpuset_new()))
                        return -ENOMEM;
                r = cpuset_add(t->packages[p], c);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(t);
        return 0;
}

/* ---- reading ---- */

/* A file below dirfd into *ret (malloc'd); absent is NULL, not an error. */
static int read_optional(int dirfd, const char *path, char **ret) {
        int r = read_file_alloc_at(dirfd, path, TOPO_FILE_MAX, ret, NULL);
        if (r == -ENOENT || r == -ENOTDIR) {
                *ret = NULL;
                return 0;
        }
        return r;
}

/* shared_cpu_list of the highest-level cache; at one level a data or
 * unified cache wins over an instruction cache. Types are read only when
 * levels tie at the top, the list only for the winner: on a 4096-CPU host
 * every read saved per CPU is 4096 saved per load. */
static int read_llc(int cpufd, char **ret) {
        unsigned levels[TOPO_MAX_CACHE_INDEX], n = 0, top = 0, n_top = 0;
        int best = -1, r;
        char path[64];

        for (; n < TOPO_MAX_CACHE_INDEX; n++) {
                _cleanup_(freep) char *level = NULL;

                snprintf(path, sizeof path, "cache/index%u/level", n);
                r = read_optional(cpufd, path, &level);
                if (r < 0)
                        return r;
                if (!level)
                        break;
                /* Not a cache level: never a candidate. */
                if (parse_uint(strstrip(level), &levels[n]) < 0)
                        levels[n] = 0;
                if (levels[n] > top) {
                        top = levels[n];
                        n_top = 0;
                }
                if (levels[n] == top && top > 0)
                        n_top++;
        }
        for (unsigned k = 0; k < n && top > 0; k++) {
                _cleanup_(freep) char *type = NULL;

                if (levels[k] != top)
                        continue;
                if (best < 0)
                        best = (int) k;
                if (n_top == 1)
                        break;
                snprintf(path, sizeof path, "cache/index%u/type", k);
                r = read_optional(cpufd, path, &type);
                if (r < 0)
                        return r;
                if (!type || strcmp(strstrip(type), "Instruction") != 0) {
                        best = (int) k;
                        break;
                }
        }
        if (best < 0) {
                *ret = NULL;
                return 0;
        }
        snprintf(path, sizeof path, "cache/index%d/shared_cpu_list", best);
        return read_optional(cpufd, path, ret);
}

typedef struct TextStore {
        TopologyCpuText *v;
        unsigned n;
} TextStore;

static void text_store_done(TextStore *s) {
        if (s->v)
                for (unsigned i = 0; i < s->n; i++) {
                        free((char *) s->v[i].thread_siblings);
                        free((char *) s->v[i].package_id);
                        free((char *) s->v[i].llc_shared);
                }
        free(s->v);
        *s = (TextStore){0};
}

int topology_load(int rootfd, const CpuSet *possible, Topology **ret, char **ret_error) {
        _cleanup_(text_store_done) TextStore st = {0};
        int last = cpuset_last(possible), r;

        st.n = last < 0 ? 0 : (unsigned) last + 1;
        st.v = calloc(st.n ? st.n : 1, sizeof(TopologyCpuText));
        if (!st.v)
                return -ENOMEM;
        for (int c = cpuset_next(possible, -1); c >= 0; c = cpuset_next(possible, c)) {
                char path[64];
                char *s = NULL, *p = NULL, *l = NULL;
                int fd;

                snprintf(path, sizeof path, "sys/devices/system/cpu/cpu%d", c);
                /* A handle of the root's kind: below --root it stays in the tree. */
                fd = dirfd_open_dir(rootfd, path);
                if (fd < 0) {
                        if (fd == -ENOENT || fd == -ENOTDIR)
                                continue; /* offline or not captured: nothing known */
                        r = fd;
                        if (ret_error)
                                *ret_error = xasprintf("cannot open %s: %s", path, strerror(-r));
                        return r;
                }
                r = read_optional(fd, "topology/thread_siblings_list", &s);
                if (r >= 0)
                        r = read_optional(fd, "topology/physical_package_id", &p);
                if (r >= 0)
                        r = read_llc(fd, &l);
                dirfd_close(fd);
                st.v[c] = (TopologyCpuText){s, p, l};
                if (r < 0) {
                        if (ret_error)
                                *ret_error = xasprintf("cannot read %s: %s", path, strerror(-r));
                        return r;
                }
        }
        return topology_build(st.v, st.n, ret, ret_error);
}

/* ---- queries ---- */

const CpuSet *topology_smt_primary(const Topology *t) {
        return t->smt_primary;
}

const CpuSet *topology_package(const Topology *t, unsigned id) {
        return id < t->n_packages ? t->packages[id] : NULL;
}

unsigned topology_n_packages(const Topology *t) {
        return t->n_packages;
}

const CpuSet *topology_llc(const Topology *t, unsigned n) {
        return n < t->n_llcs ? t->llcs[n] : NULL;
}

unsigned topology_n_llc(const Topology *t) {
        return t->n_llcs;
}

int topology_core_of(const Topology *t, unsigned cpu) {
        return cpu < t->n_cpus ? t->core[cpu] : -1;
}

const CpuSet *topology_siblings(const Topology *t, unsigned cpu) {
        return cpu < t->n_cpus ? t->siblings[t->core[cpu]] : NULL;
}

int topology_package_of(const Topology *t, unsigned cpu) {
        return cpu < t->n_cpus ? t->package[cpu] : -1;
}

int topology_llc_of(const Topology *t, unsigned cpu) {
        return cpu < t->n_cpus ? t->llc[cpu] : -1;
}
