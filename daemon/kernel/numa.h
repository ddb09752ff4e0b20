/* SPDX-License-Identifier: MIT */
/* NUMA: which nodes a set of CPUs lies on (from the host's node CPU lists,
 * host.h), where a process's pages are (/proc/PID/numa_maps), the address
 * ranges whose pages may be moved (/proc/PID/maps), the nodes a process may
 * have memory on (its cpuset's mems, /proc/PID/status), the locality figure
 * `list` and `explain` show, and set_mempolicy(2) for a program about to be
 * exec'd (`pinnerctl run`). A pure parse_*_buf() beside each reader; the
 * readers go through the proc handle, so a --root tree works. Moving pages
 * is pagemove.h's. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kernel/host.h"
#include "lib/cpuset.h"

/* numa_maps and maps are one line per mapping: vm.max_map_count (65530 by
 * default) lines of ~100-200 bytes. Larger files are refused, not cut. */
#define NUMA_MAPS_FILE_MAX (32u * 1024 * 1024)

/* ---- nodes ------------------------------------------------------------------ */

/* How many NUMA nodes the host has (node directories in sysfs; 0 on a
 * kernel without NUMA, which is one node for every purpose here). */
unsigned numa_node_count(const Host *h);
/* The nodes that hold at least one CPU of cpus (a new set, maybe empty). */
int numa_nodes_of_cpus(const Host *h, const CpuSet *cpus, CpuSet **ret);
/* The nodes that have CPUs at all (memory-only nodes are left out). */
int numa_cpu_nodes(const Host *h, CpuSet **ret);

/* ---- reading a piece at a time --------------------------------------------------- */

/* proc/PID/maps and numa_maps a piece at a time: the kernel walks the
 * mappings (and for numa_maps their page tables) as the file is read: maps
 * took ~19 ms for the 40,000 mappings of a 20,000-thread process at once,
 * numa_maps ~26 ms for 60,000. A caller that must not hold the loop reads
 * NUMA_PIECE bytes of whole lines per call. The kernel resumes each read
 * after the last mapping it gave, so mappings that change in between are
 * seen as they are then. A reader holds a file descriptor until the end. */
#define NUMA_PIECE (64u * 1024)
/* What a piece may leave of a cut line: a maps line is a path (at most
 * PATH_MAX) and ~100 bytes, a numa_maps line ~20 bytes per node the mapping
 * has pages on (1,024 nodes at most in Debian's kernels), so a line longer
 * than a piece is garbage. */
#define NUMA_LINE_MAX NUMA_PIECE
typedef struct NumaPieceReader {
        int fd;     /* -1: not open, or read to the end */
        char *part; /* the start of a line the last piece cut */
        size_t part_len;
} NumaPieceReader;
#define NUMA_PIECE_READER_INIT ((NumaPieceReader){.fd = -1})

/* ---- numa_maps ---------------------------------------------------------------- */

typedef enum NumaVmaKind {
        NUMA_VMA_ANON,  /* anonymous memory (anon=, no file) */
        NUMA_VMA_FILE,  /* file= (shared libraries, mapped files, shared memory) */
        NUMA_VMA_HEAP,  /* heap */
        NUMA_VMA_STACK, /* stack */
        NUMA_VMA_OTHER, /* no pages, no file: nothing to say */
} NumaVmaKind;

/* Resident pages of one mapping on one node. */
typedef struct NumaNodePages {
        unsigned node;
        uint64_t pages; /* of the mapping's page size (kernelpagesize_kB) */
} NumaNodePages;

/* One line of numa_maps. Counters the line does not have are 0. */
typedef struct NumaVma {
        uint64_t start;
        NumaVmaKind kind;
        bool huge;           /* a hugetlbfs mapping */
        bool policy_default; /* "default": no memory policy of its own or the task's */
        uint64_t anon, dirty, mapped, mapmax, swapcache, active, writeback;
        unsigned page_kb;      /* kernelpagesize_kB; 0 on a line without pages */
        size_t first, n_nodes; /* its entries in NumaMaps.pages */
} NumaVma;

typedef struct NumaMaps {
        NumaVma *vmas;
        size_t n_vmas;
        NumaNodePages *pages; /* per VMA, vmas[i].first .. + n_nodes */
        size_t n_pages;
        size_t n_bad; /* lines that were not numa_maps lines: skipped */
} NumaMaps;

/* Pure. Each line is "ADDR POLICY [key=value | flag]...": N<node>=<pages>,
 * anon=, dirty=, mapped=, mapmax=, swapcache=, active=, writeback=,
 * kernelpagesize_kB=, file=, and the flags heap, stack, huge. Keys a later
 * kernel adds are ignored; the policy may hold a space ("prefer (many):0-1").
 * A line without a hexadecimal address, with a count that is not a number,
 * or with a node beyond NUMA_MAX_NODE is garbage: skipped and counted in
 * n_bad, not an error. -EBADMSG only when no line at all could be read from
 * a non-empty buffer. *ret untouched on failure. */
#define NUMA_MAX_NODE 4095u
int numa_parse_maps_buf(const char *buf, size_t len, NumaMaps *ret);
void numa_maps_done(NumaMaps *m);
/* proc/PID/numa_maps. It is a walk of the page tables in the kernel (about
 * 1 ms per GiB of 4 KiB pages): for list and explain, not for every event.
 * -ESRCH gone, -EACCES without ptrace read access, -ENOENT on a kernel
 * without NUMA. */
int numa_read_maps(int procfd, pid_t pid, NumaMaps *ret);

/* Where the resident memory of a NumaMaps is, in KiB (hugetlb pages
 * weighted by their size). */
typedef struct NumaUsage {
        uint64_t *kb; /* kb[n]: KiB on node n */
        unsigned n;   /* entries in kb */
        uint64_t total_kb;
        uint64_t anon_kb; /* anonymous, heap and stack mappings */
        uint64_t file_kb; /* file mappings (libraries, mapped files, shared memory) */
        uint64_t huge_kb; /* hugetlbfs mappings */
} NumaUsage;

/* Pure. -ENOMEM. */
int numa_usage(const NumaMaps *m, NumaUsage *ret);
void numa_usage_done(NumaUsage *u);
int numa_usage_copy(const NumaUsage *u, NumaUsage *ret);
/* The usage of proc/PID/numa_maps, a piece at a time (see NumaPieceReader):
 * the usage of each piece's lines is added up as it comes. */
typedef struct NumaUsageReader {
        NumaPieceReader p;
        NumaUsage usage; /* so far */
        bool any_line;
        size_t n_vmas;
} NumaUsageReader;
#define NUMA_USAGE_READER_INIT ((NumaUsageReader){.p = NUMA_PIECE_READER_INIT})
/* -ESRCH gone, -EACCES, -ENOENT without NUMA. */
int numa_usage_reader_open(int procfd, pid_t pid, NumaUsageReader *ret);
/* 1: more to read; 0: *ret is the whole file's usage (the reader is closed);
 * -errno, -EBADMSG when no line of it was a numa_maps line. */
int numa_usage_reader_next(NumaUsageReader *r, NumaUsage *ret);
void numa_usage_reader_done(NumaUsageReader *r);
/* KiB on the given nodes. */
uint64_t numa_usage_on(const NumaUsage *u, const CpuSet *nodes);
/* The locality figure: the share of the resident memory that is on `nodes`,
 * in per mille (0-1000, rounded down), or -1 when nothing is resident. */
int numa_locality_permille(const NumaUsage *u, const CpuSet *nodes);
/* "97% of 256 MiB on node 1" / "no resident memory": malloc'd. */
char *numa_locality_format(const NumaUsage *u, const CpuSet *nodes);
/* "node 0: 12 MiB, node 1: 244 MiB" (nodes with memory only): malloc'd. */
char *numa_usage_format(const NumaUsage *u);
/* "256 MiB", "1.5 GiB", "12 KiB" into buf. */
void numa_format_kb(uint64_t kb, char *buf, size_t size);

/* ---- maps: the ranges to move ---------------------------------------------------- */

typedef struct NumaRange {
        uint64_t start, end;
        bool shared_write; /* rw-s: shared memory the process writes */
} NumaRange;

/* Pure. The mappings of proc/PID/maps whose pages may be moved: those with
 * some access (a PROT_NONE guard holds no page), not the kernel's special
 * mappings ([vdso], [vvar], [vsyscall], ...; [heap], [stack] and named
 * anonymous memory are kept). A malformed line is -EBADMSG: unlike
 * numa_maps, a range read wrong would move the wrong addresses. */
int numa_parse_ranges_buf(const char *buf, size_t len, NumaRange **ret, size_t *ret_n);

/* maps: the ranges to move, a piece at a time. */
typedef NumaPieceReader NumaRangeReader;
#define NUMA_RANGE_READER_INIT NUMA_PIECE_READER_INIT
/* -ESRCH when the process is gone. */
int numa_range_reader_open(int procfd, pid_t pid, NumaRangeReader *ret);
/* The ranges of the next piece's whole lines into *ret (the old vector is
 * freed; it may come back empty while more remain). 1: more to read; 0: that
 * was the last piece (the reader is closed); -errno (-EBADMSG as
 * numa_parse_ranges_buf, or a line longer than a piece). */
int numa_range_reader_next(NumaRangeReader *r, NumaRange **ret, size_t *ret_n);
void numa_range_reader_done(NumaRangeReader *r);
/* The whole file at once (tests, tools): the reader to its end. */
int numa_read_ranges(int procfd, pid_t pid, NumaRange **ret, size_t *ret_n);

/* ---- the nodes a process may use -------------------------------------------------- */

/* Pure: the "Mems_allowed_list:" line of a status file (its cpuset's
 * mems). -ENOENT without one (a kernel without cpusets: every node). */
int numa_parse_mems_allowed_buf(const char *status, CpuSet **ret);
int numa_read_mems_allowed(int procfd, pid_t pid, CpuSet **ret);

/* ---- the memory policy of the calling thread -------------------------------------- */

typedef enum NumaPolicy {
        NUMA_POLICY_DEFAULT,    /* the kernel's: local to the CPU that touches first */
        NUMA_POLICY_PREFERRED,  /* these nodes first, others when they are full */
        NUMA_POLICY_INTERLEAVE, /* round robin over the nodes */
} NumaPolicy;

/* "default", "preferred", "interleave", and back (-EINVAL otherwise): the
 * names a reply may carry the policy in. */
const char *numa_policy_name(NumaPolicy p);
int numa_policy_parse(const char *name, NumaPolicy *ret);
/* set_mempolicy(2) for the calling thread; it is inherited by threads and
 * processes it creates and kept across execve(2), so `pinnerctl run` calls
 * this right before the exec. PREFERRED is MPOL_PREFERRED for one node and
 * MPOL_PREFERRED_MANY for several (Linux 5.15; an older kernel gets
 * MPOL_PREFERRED on the first of them). Never MPOL_BIND: a full node then
 * means the OOM killer, with memory free on the others. DEFAULT needs no
 * nodes. -EINVAL for an empty node set, else the kernel's -errno. */
int numa_set_policy(NumaPolicy p, const CpuSet *nodes);
/* The calling thread's policy as get_mempolicy(2) says (for tests and
 * `pinnerctl run` to confirm). */
int numa_get_policy(NumaPolicy *ret, CpuSet **ret_nodes);
