/* SPDX-License-Identifier: MIT */
/* CPUs isolated at run time by cgroup v2 isolated partitions, and which
 * partition isolates each, read below a root directory handle.
 *
 * Where the set comes from: the cgroup2 root's cpuset.cpus.isolated (Linux
 * 6.7 and later) when it exists: the kernel's own union, which also covers
 * partitions we cannot see from our cgroup namespace. The partitions' names
 * come from a walk of the hierarchy in both cases; without that root file
 * (6.1-6.6) the walk's valid isolated partitions are the set. The walk goes
 * into the root's children and below a cgroup only when that cgroup is a
 * partition root or holds exclusive CPUs (the only places a partition can
 * be, local or remote), so a host with thousands of container cgroups costs
 * a few reads per top-level cgroup, and the walk is bounded in depth and
 * size besides. */
#pragma once

/* The source named for an isolated CPU that the cgroup root's
 * cpuset.cpus.isolated lists but no partition found by the walk holds. */
#define PART_UNNAMED "partition (cgroup root cpuset.cpus.isolated)"

#include <stddef.h>

#include "lib/cpuset.h"

typedef enum PartitionState {
        PARTITION_MEMBER,
        PARTITION_ROOT,
        PARTITION_ISOLATED,
        PARTITION_INVALID, /* "root invalid (...)" / "isolated invalid (...)": isolates nothing */
        PARTITION_UNKNOWN, /* a word this code does not know: treated as isolating nothing */
} PartitionState;

typedef struct Partition {
        /* As an admin would cat it: "/sys/fs/cgroup/iso". Raw bytes of the
         * cgroup names (any byte but '/'): escape them for display. */
        char *path;
        char *source; /* "partition /sys/fs/cgroup/iso" */
        CpuSet *cpus; /* its cpuset.cpus.effective */
} Partition;

typedef struct Partitions {
        Partition *v; /* valid isolated partitions, in walk order (sorted by path) */
        size_t n;
        CpuSet *isolated;    /* every CPU isolated by a partition; never NULL */
        bool from_root_file; /* isolated is the root's cpuset.cpus.isolated */
} Partitions;

/* Pure: the text of a cpuset.cpus.partition file. Empty text or text with
 * bytes other than a word and an optional " invalid (...)" tail is
 * -EBADMSG. */
int partitions_parse_state(const char *text, PartitionState *ret);

/* Read the partitions of the cgroup2 hierarchy mounted at v2_path (relative
 * to rootfd, as CgroupMounts has it; NULL = no cgroup2: no partitions). A
 * hierarchy without the cpuset controller has none. Unreadable or garbage
 * partition files of single cgroups are skipped (the kernel wrote neither);
 * a garbage root cpuset.cpus.isolated is -EBADMSG with *ret_error saying
 * so. *ret untouched on failure. */
int partitions_load(int rootfd, const char *v2_path, Partitions **ret, char **ret_error);
void partitions_free(Partitions *p);
static inline void partitions_freep(Partitions **p) {
        partitions_free(*p);
}

/* Where an isolated-by-partition CPU comes from: the source of the first
 * partition holding it; for a CPU only the root's cpuset.cpus.isolated
 * names (a partition outside what we can see) "partition (cgroup root
 * cpuset.cpus.isolated)"; NULL when no partition isolates it. */
const char *partitions_source(const Partitions *p, unsigned cpu);
