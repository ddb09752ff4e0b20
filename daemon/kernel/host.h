/* SPDX-License-Identifier: MIT */
/* The host model: CPU topology and cgroup cpusets, all read below a root
 * directory handle ("/" in production, a fake tree in tests, --root). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lib/cpuset.h"
#include "kernel/partitions.h"
#include "kernel/topology.h"

/* Where the cgroup hierarchies we care about are mounted, relative to the
 * root (no leading '/'), and which part of the hierarchy each mount shows. */
typedef struct CgroupMounts {
        char *v2_path;        /* cgroup2 mount point, or NULL */
        char *v2_root;        /* root of the hierarchy at that mount ("/" normally) */
        char *v1_cpuset_path; /* v1 hierarchy with the cpuset controller, or NULL */
        char *v1_cpuset_root;
        char *v1_systemd_path; /* v1 name=systemd hierarchy, or NULL */
        char *v1_systemd_root;
} CgroupMounts;

typedef struct Host {
        /* Owned directory handle (util.h) for every read below the root:
         * tagged DIRFD_IN_ROOT for any root but "/", so nothing read through
         * it leaves the tree. */
        int root;
        /* The same directory as a plain fd (not owned): reads through it are
         * not confined. Kept until every caller uses host_open_proc(). */
        int rootfd;
        char *root_path;
        /* isolated = isolcpus (sysfs cpu/isolated) ∪ partitions->isolated;
         * housekeeping = online − isolated. */
        CpuSet *possible, *online, *isolated, *nohz_full, *housekeeping;
        CpuSet *isolcpus;       /* cpu/isolated as the kernel prints it */
        Partitions *partitions; /* cgroup v2 isolated partitions */
        Topology *topology;     /* cores, packages, LLC domains */
        unsigned nr_cpu_ids;    /* last possible CPU + 1: sizes syscall buffers */
        size_t affinity_bytes;  /* sched_{get,set}affinity buffer size for this host */
        CpuSet **nodes;         /* nodes[i] = cpulist of NUMA node i, or NULL */
        unsigned n_nodes;       /* highest node id + 1 */
        CgroupMounts mounts;
} Host;

/* A task's cgroup membership, parsed from proc/PID[/task/TID]/cgroup. */
typedef struct TaskCgroups {
        char *v2;         /* "0::" path, or NULL */
        char *v1_cpuset;  /* path in the v1 cpuset hierarchy, or NULL */
        char *v1_systemd; /* path in the v1 name=systemd hierarchy, or NULL */
} TaskCgroups;

/* Open `root` ("/" or a directory) and load the topology and mounts.
 * Missing isolated/nohz_full files mean "none"; missing possible/online are
 * an error. On failure *ret is untouched and *ret_error (malloc'd) says what. */
int host_load(const char *root, Host **ret, char **ret_error);
/* Re-read everything that can change while the daemon runs: online,
 * isolated (isolcpus and the cgroup v2 isolated partitions), nohz_full (and
 * housekeeping), the topology when the online CPUs changed, every NUMA
 * node's CPUs, and the cgroup mounts; possible is fixed at boot and stays. All of it is read
 * first and swapped in only when every file was read and parsed, so on
 * failure h is unchanged and *ret_error (malloc'd, if non-NULL) says what.
 * The CpuSets h held are freed: callers must not keep pointers to them (or
 * to host_node_cpus() results) across a refresh. For CPU hotplug and reload. */
int host_refresh(Host *h, char **ret_error);
/* host_refresh() without the message. */
int host_refresh_cpus(Host *h);
/* The proc/ directory below the root as a handle for procfs.h (confined like
 * h->root); closed with dirfd_close(). -errno on failure. */
int host_open_proc(const Host *h);
void host_free(Host *h);

/* Pure parsers, unit-tested on their own.
 * mountinfo: octal escapes (\040 ...) decoded; the first mount of each kind
 * wins; lines without the kernel's shape are skipped, not an error (only
 * cgroup lines matter). Mount points are stored without the leading '/'
 * ("." for "/"). */
int host_parse_mountinfo_buf(const char *buf, CgroupMounts *ret);
void cgroup_mounts_done(CgroupMounts *m);
/* "ID:controllers:path" lines (the path may hold ':'); the first line of each
 * kind wins; a line without two ':' or with a non-numeric ID is -EBADMSG.
 * Paths are kept verbatim (".." is refused later, by host_task_cpuset). */
int task_cgroups_parse_buf(const char *buf, TaskCgroups *ret);
void task_cgroups_done(TaskCgroups *c);

/* The cgroup path rules match against: the name=systemd path when the task
 * has one (hybrid and legacy hosts, where the unified hierarchy may show "/"
 * for everything), else the v2 path; NULL when neither. */
const char *task_cgroups_match_path(const TaskCgroups *c);

/* The task's cpuset CPUs: v1 cpuset.effective_cpus when the cpuset
 * controller lives on a v1 hierarchy, else v2 cpuset.cpus.effective; in both,
 * of the nearest ancestor (up to the mount) that has the file. *ret = NULL
 * (and 0) when the host has no cpuset information for the task (no file, or
 * the task's cgroup is outside what the mount shows): no limit beyond online.
 * -EINVAL for a path that is not absolute or has a ".." component; -EBADMSG
 * for a file that is not a cpulist. Reads every time: callers cache. */
int host_task_cpuset(const Host *h, const TaskCgroups *c, CpuSet **ret);

/* The resolved CPU words a config may use. */
const CpuSet *host_node_cpus(const Host *h, unsigned node); /* NULL if no such node */

/* Where an isolated CPU comes from: the partition's source ("partition
 * /sys/fs/cgroup/iso") when a cgroup v2 isolated partition holds it (newer
 * kernels list partition CPUs in cpu/isolated too, so that file cannot tell),
 * else "isolcpus"; NULL for a CPU that is not isolated. */
const char *host_isolated_source(const Host *h, unsigned cpu);
