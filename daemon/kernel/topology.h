/* SPDX-License-Identifier: MIT */
/* CPU topology: which core, package and last-level-cache domain each CPU
 * belongs to, from sysfs cpu/cpuN/topology and cpu/cpuN/cache, read below a
 * root directory handle. The builder is pure (text in, Topology out); the
 * reader only collects the texts. */
#pragma once

#include <stdbool.h>

#include "lib/cpuset.h"

/* What sysfs says about one CPU, as text; NULL where the file is absent
 * (an offline CPU has no topology or cache directory). */
typedef struct TopologyCpuText {
        const char *thread_siblings; /* topology/thread_siblings_list */
        const char *package_id;      /* topology/physical_package_id */
        const char *llc_shared;      /* cache/indexK/shared_cpu_list of the highest level */
} TopologyCpuText;

typedef struct Topology Topology;

/* Build from n_cpus entries (index = CPU number). A CPU without a siblings
 * list is its own core; without a package id (or with -1, as some platforms
 * print) it is in no package; without a last-level cache it is in no LLC
 * domain. A siblings or cache list that does not hold the CPU itself is
 * taken with the CPU added: the CPU's key is always the lowest of the two.
 * -EBADMSG for text that is not a cpulist or a package id, with *ret_error
 * (malloc'd) naming the CPU and file; *ret untouched on failure. */
int topology_build(const TopologyCpuText *cpus, unsigned n_cpus, Topology **ret, char **ret_error);

/* Read every CPU below `possible` from sys/devices/system/cpu/cpuN through
 * rootfd, then topology_build(). A host without any topology files (a
 * captured tree, a kernel without sysfs topology) gives a topology where
 * every CPU is its own core in no package and no LLC domain. */
int topology_load(int rootfd, const CpuSet *possible, Topology **ret, char **ret_error);

void topology_free(Topology *t);
static inline void topology_freep(Topology **t) {
        topology_free(*t);
}

/* The lowest-numbered CPU of every core (smt-primary). Never NULL. */
const CpuSet *topology_smt_primary(const Topology *t);
/* CPUs whose physical_package_id is `id`; NULL when no CPU has it. */
const CpuSet *topology_package(const Topology *t, unsigned id);
/* The highest package id + 1 (ids may have gaps). */
unsigned topology_n_packages(const Topology *t);
/* The n-th last-level-cache domain, domains ordered by their lowest CPU;
 * NULL past the last one. */
const CpuSet *topology_llc(const Topology *t, unsigned n);
unsigned topology_n_llc(const Topology *t);

/* The core a CPU belongs to, named by its lowest-numbered thread (CPU 32's
 * core is 0 when 0 and 32 are siblings); the CPU itself when unknown.
 * -1 for a CPU the topology was not built for. */
int topology_core_of(const Topology *t, unsigned cpu);
/* The SMT siblings of a CPU, itself included; NULL for a CPU the topology
 * was not built for. */
const CpuSet *topology_siblings(const Topology *t, unsigned cpu);
/* physical_package_id of a CPU, -1 when unknown. */
int topology_package_of(const Topology *t, unsigned cpu);
/* Index of the CPU's LLC domain (as in topology_llc), -1 when unknown. */
int topology_llc_of(const Topology *t, unsigned cpu);
