/* SPDX-License-Identifier: MIT */
/* Other processes' sched_setaffinity calls from a BPF program (fexit on the
 * kernel's sched_setaffinity, kernel/bpf/affinity.bpf.c) and a BPF ring
 * buffer: the drift events that work on a stock Debian kernel. The syscall
 * tracepoints (affwatch.h) go through perf_event_open, which Debian's
 * kernel.perf_event_paranoid = 3 refuses without CAP_SYS_ADMIN, and they
 * miss the 32-bit syscall; this needs the bpf syscall with CAP_BPF and
 * CAP_PERFMON, and the kernel's BTF (/sys/kernel/btf/vmlinux, in Debian's
 * kernels). Loaded with libbpf; the program is built into pinnerd. Parsing a
 * record is pure; the rest is thin. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kernel/affwatch.h"

/* One record as the BPF program writes it. */
typedef struct BpfAffRecord {
        uint32_t caller_pid, caller_tid;
        int32_t target; /* -1: a pid of another pid namespace, unknown here */
        uint32_t flags;
        uint64_t time;
} BpfAffRecord;

/* A record of len bytes into *ret (target -1 stays -1: "check every
 * thread"). -EBADMSG for a size that is not a record's or a target below
 * -1 or 0. Pure. */
int bpfwatch_parse_record(const void *data, size_t len, AffRecord *ret);

typedef struct BpfWatch BpfWatch;

/* Load and attach, ignoring calls by process self. On failure *ret_why says
 * why in words an administrator can act on (malloc'd). */
int bpfwatch_open(pid_t self, BpfWatch **ret, char **ret_why);
void bpfwatch_free(BpfWatch *w);
static inline void bpfwatch_freep(BpfWatch **w) {
        if (*w)
                bpfwatch_free(*w);
}
/* Which program runs: "fexit on sched_setaffinity" (the first choice), or
 * "raw syscall exit tracepoint" where the kernel refuses BPF trampolines
 * (then bpfwatch_fallback_reason says why). */
const char *bpfwatch_how(const BpfWatch *w);
const char *bpfwatch_fallback_reason(const BpfWatch *w);
/* The fd to poll (readable: records to read). */
int bpfwatch_fd(const BpfWatch *w);
/* Take every record there is, at most max into out; *ret_lost when any was
 * lost (the ring buffer was full, or out): then a full check is due.
 * Returns how many were written, or -errno. */
int bpfwatch_read(BpfWatch *w, AffRecord *out, size_t max, bool *ret_lost);
