/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* Every successful sched_setaffinity, as a record in a ring buffer for
 * pinnerd's drift check (kernel/bpfwatch.c). fexit on the kernel's
 * sched_setaffinity(): the native and the 32-bit (compat, int 0x80)
 * syscalls both end there, and attaching it needs the bpf syscall only
 * (CAP_BPF and CAP_PERFMON), not perf_event_open, which
 * kernel.perf_event_paranoid = 3 refuses to anything without
 * CAP_SYS_ADMIN. No vmlinux.h: the two fields read are relocated by
 * name against the running kernel's BTF (CO-RE). Built with
 * clang -target bpf; embedded in pinnerd. */
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Only what is read; offsets come from the kernel's BTF at load. */
struct pid {
        unsigned int level;
} __attribute__((preserve_access_index));
struct thread_info {
        __u32 status;
} __attribute__((preserve_access_index));
struct task_struct {
        struct thread_info thread_info;
        struct pid *thread_pid;
} __attribute__((preserve_access_index));
struct pt_regs {
        unsigned long bx, di, orig_ax;
} __attribute__((preserve_access_index));
struct cpumask;

/* kernel/bpfwatch.h: BpfAffRecord. */
struct aff_record {
        __u32 caller_pid, caller_tid;
        __s32 target; /* -1: named by a pid of another pid namespace */
        __u32 flags;
        __u64 time;
};

struct {
        __uint(type, BPF_MAP_TYPE_RINGBUF);
        __uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* [0]: pinnerd's tgid (its own calls are not drift). */
struct {
        __uint(type, BPF_MAP_TYPE_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, __u32);
} config SEC(".maps");

/* [0]: records the ring buffer had no room for. */
struct {
        __uint(type, BPF_MAP_TYPE_ARRAY);
        __uint(max_entries, 1);
        __type(key, __u32);
        __type(value, __u64);
} lost SEC(".maps");

/* One successful call by the current task naming pid (0: itself). */
static __always_inline int report(int pid) {
        __u64 id = bpf_get_current_pid_tgid();
        __u32 zero = 0, *self;
        struct aff_record *e;
        __s32 target;

        self = bpf_map_lookup_elem(&config, &zero);
        if (self && *self == (__u32) (id >> 32))
                return 0;
        if (pid == 0)
                target = (__s32) (__u32) id; /* the caller itself, as pinnerd sees it */
        else {
                /* A pid number means the caller's pid namespace: only in
                 * the initial one is it pinnerd's. */
                struct task_struct *t = (struct task_struct *) bpf_get_current_task();
                unsigned int level = BPF_CORE_READ(t, thread_pid, level);
                target = level == 0 ? pid : -1;
        }
        e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
        if (!e) {
                __u64 *n = bpf_map_lookup_elem(&lost, &zero);
                if (n)
                        __sync_fetch_and_add(n, 1);
                return 0;
        }
        e->caller_pid = (__u32) (id >> 32);
        e->caller_tid = (__u32) id;
        e->target = target;
        e->flags = 0;
        e->time = bpf_ktime_get_ns();
        bpf_ringbuf_submit(e, 0);
        return 0;
}

/* The first choice: the kernel function both syscalls call. Runs only for
 * sched_setaffinity calls. */
SEC("fexit/sched_setaffinity")
int BPF_PROG(on_setaffinity, int pid, const struct cpumask *in_mask, long ret) {
        return ret == 0 ? report(pid) : 0;
}

#if defined(__TARGET_ARCH_x86)
/* For kernels that refuse BPF trampolines (fexit: EPERM or ENOTSUPP): the
 * raw syscall-exit tracepoint, attached with the bpf syscall too. It runs
 * at every syscall's exit (as the perf tracepoint path already makes every
 * syscall take the traced exit), so it is the second choice. 32-bit calls
 * (TS_COMPAT) have their own number and registers. */
#define NR_SCHED_SETAFFINITY_64 203
#define NR_SCHED_SETAFFINITY_32 241
#define TS_COMPAT 0x0002

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret) {
        struct task_struct *t;
        unsigned long nr;
        int compat;

        if (ret != 0)
                return 0;
        nr = BPF_CORE_READ(regs, orig_ax);
        if (nr != NR_SCHED_SETAFFINITY_64 && nr != NR_SCHED_SETAFFINITY_32)
                return 0;
        t = (struct task_struct *) bpf_get_current_task();
        compat = (BPF_CORE_READ(t, thread_info.status) & TS_COMPAT) != 0;
        if (!compat && nr == NR_SCHED_SETAFFINITY_64)
                return report((int) BPF_CORE_READ(regs, di));
        if (compat && nr == NR_SCHED_SETAFFINITY_32)
                return report((int) (__u32) BPF_CORE_READ(regs, bx));
        return 0;
}
#endif
