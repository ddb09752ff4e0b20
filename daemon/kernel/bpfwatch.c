/* SPDX-License-Identifier: MIT */
#include "kernel/bpfwatch.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <malloc.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"

/* The BPF object, built by clang -target bpf (Makefile: BPF_OBJ) and
 * embedded here, so the daemon is one file and the program always matches
 * it. */
__asm__(".section .rodata\n"
        ".balign 8\n"
        ".globl bpfwatch_obj\n"
        "bpfwatch_obj:\n"
        ".incbin \"" BPFWATCH_OBJ "\"\n"
        ".globl bpfwatch_obj_end\n"
        "bpfwatch_obj_end:\n"
        ".previous\n");
extern const unsigned char bpfwatch_obj[], bpfwatch_obj_end[];

struct BpfWatch {
        const char *how; /* which program is attached */
        struct bpf_object *obj;
        struct bpf_link *link;
        struct ring_buffer *rb;
        int lost_fd;
        uint64_t lost_seen;
        /* Where the ring buffer callback writes. */
        AffRecord *out;
        size_t n, max;
        bool overflow;
        char *fexit_why; /* why fexit was refused, when the fallback runs */
};

int bpfwatch_parse_record(const void *data, size_t len, AffRecord *ret) {
        BpfAffRecord r;

        if (len != sizeof r)
                return -EBADMSG;
        memcpy(&r, data, sizeof r);
        if (r.target < -1 || r.target == 0 || r.caller_pid == 0 || r.caller_tid == 0 ||
            r.caller_pid > INT32_MAX || r.caller_tid > INT32_MAX)
                return -EBADMSG;
        *ret = (AffRecord){.caller_pid = (pid_t) r.caller_pid,
                           .caller_tid = (pid_t) r.caller_tid,
                           .target = r.target,
                           .time = r.time};
        return 0;
}

/* libbpf prints to stderr unless told otherwise: the daemon's stderr is a
 * log that must never block, so the last warning is kept for the reason
 * instead. Only used while opening (the loop is single-threaded). */
static char libbpf_last[256];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap) {
        if (level == LIBBPF_WARN) {
                vsnprintf(libbpf_last, sizeof libbpf_last, fmt, ap);
                libbpf_last[strcspn(libbpf_last, "\n")] = '\0';
        }
        return 0;
}

static int on_record(void *ctx, void *data, size_t len) {
        BpfWatch *w = ctx;
        AffRecord r;

        if (bpfwatch_parse_record(data, len, &r) < 0 || w->n >= w->max) {
                w->overflow = true;
                return 0;
        }
        w->out[w->n++] = r;
        return 0;
}

const char *bpfwatch_fallback_reason(const BpfWatch *w) {
        return w->fexit_why;
}

void bpfwatch_free(BpfWatch *w) {
        free(w->fexit_why);
        ring_buffer__free(w->rb);
        bpf_link__destroy(w->link);
        bpf_object__close(w->obj);
        free(w);
}

/* Are CAP_BPF (39) and CAP_PERFMON (38) effective? */
static bool have_bpf_caps(void) {
        struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct d[2] = {0};
        if (syscall(SYS_capget, &h, d) < 0)
                return false;
        return (d[1].effective & (1u << (39 - 32))) && (d[1].effective & (1u << (38 - 32)));
}

static char *why_load_failed(int err) {
        const char *detail = libbpf_last[0] ? libbpf_last : strerror(err);

        if ((err == EPERM || err == EACCES) && have_bpf_caps())
                return xasprintf("the kernel refused the program with CAP_BPF and CAP_PERFMON (%s; a kernel "
                                 "without BPF trampolines, or a security module)",
                                 detail);
        if (err == EPERM || err == EACCES)
                return xasprintf(
                        "loading the BPF program was refused (%s): it needs CAP_BPF and CAP_PERFMON, "
                        "and the bpf system call allowed (SystemCallFilter=)",
                        detail);
        if (access("/sys/kernel/btf/vmlinux", F_OK) != 0)
                return xasprintf("the kernel has no BTF (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF) for "
                                 "the BPF program (%s)",
                                 detail);
        return xasprintf("cannot load the BPF program: %s", detail);
}

/* Open the object with only program `name` to load. */
static int load_one(BpfWatch *w, const char *name, char **ret_why) {
        struct bpf_program *p;
        bool found = false;
        int r;

        libbpf_last[0] = '\0';
        LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "pinnerd_affinity");
        w->obj = bpf_object__open_mem(bpfwatch_obj, (size_t) (bpfwatch_obj_end - bpfwatch_obj), &opts);
        if (!w->obj) {
                r = -errno;
                w->obj = NULL;
                *ret_why = xasprintf("cannot open the built-in BPF program: %s", strerror(-r));
                return r;
        }
        bpf_object__for_each_program(p, w->obj) {
                bool this = strcmp(bpf_program__name(p), name) == 0;
                found |= this;
                (void) bpf_program__set_autoload(p, this);
        }
        if (!found) {
                *ret_why = xasprintf("this build has no %s program (not x86?)", name);
                r = -ENOENT;
        } else if ((r = bpf_object__load(w->obj)) < 0)
                *ret_why = why_load_failed(-r);
        else {
                struct bpf_program *prog = bpf_object__find_program_by_name(w->obj, name);
                w->link = bpf_program__attach(prog);
                if (w->link)
                        return 0;
                r = -errno;
                w->link = NULL;
                *ret_why = xasprintf("cannot attach the BPF program: %s",
                                     libbpf_last[0] ? libbpf_last : strerror(-r));
        }
        bpf_object__close(w->obj);
        w->obj = NULL;
        return r;
}

const char *bpfwatch_how(const BpfWatch *w) {
        return w->how;
}

static int open_watch(pid_t self, BpfWatch **ret, char **ret_why) {
        _cleanup_(bpfwatch_freep) BpfWatch *w = calloc(1, sizeof *w);
        _cleanup_(freep) char *fexit_why = NULL, *tp_why = NULL;
        struct bpf_map *m;
        uint32_t zero = 0, tgid = (uint32_t) self;
        int r;

        if (!w)
                return -ENOMEM;
        w->lost_fd = -1;
        (void) libbpf_set_print(libbpf_print);
        /* fexit first: it runs for sched_setaffinity calls only. Some
         * kernels refuse BPF trampolines (EPERM, ENOTSUPP): then the raw
         * syscall-exit tracepoint, which runs at every syscall's exit. */
        r = load_one(w, "on_setaffinity", &fexit_why);
        if (r >= 0)
                w->how = "fexit on sched_setaffinity";
        else if ((r = load_one(w, "on_sys_exit", &tp_why)) < 0) {
                *ret_why = tp_why ? xasprintf("%s (fexit: %s)", tp_why, fexit_why) : TAKE_PTR(fexit_why);
                return r;
        } else
                w->how = "raw syscall exit tracepoint";
        /* Why the first choice was refused, for status. */
        w->fexit_why = TAKE_PTR(fexit_why);
        m = bpf_object__find_map_by_name(w->obj, "config");
        if (!m || bpf_map_update_elem(bpf_map__fd(m), &zero, &tgid, BPF_ANY) < 0) {
                r = m ? -errno : -ENOENT;
                *ret_why = xasprintf("cannot configure the BPF program: %s", strerror(-r));
                return r;
        }
        m = bpf_object__find_map_by_name(w->obj, "lost");
        w->lost_fd = m ? bpf_map__fd(m) : -1;
        m = bpf_object__find_map_by_name(w->obj, "events");
        w->rb = m ? ring_buffer__new(bpf_map__fd(m), on_record, w, NULL) : NULL;
        if (!w->rb) {
                r = m ? -errno : -ENOENT;
                *ret_why = xasprintf("cannot map the BPF ring buffer: %s", strerror(-r));
                return r;
        }
        *ret = TAKE_PTR(w);
        return 0;
}

int bpfwatch_open(pid_t self, BpfWatch **ret, char **ret_why) {
        int r = open_watch(self, ret, ret_why);
        /* Loading parsed the kernel's whole BTF (several MiB) for the
         * relocations and freed it, whether or not the program loaded: give
         * that memory back (measured: 11.6 MiB of RSS kept otherwise, three
         * times the daemon's own). */
        (void) malloc_trim(0);
        return r;
}

int bpfwatch_fd(const BpfWatch *w) {
        return ring_buffer__epoll_fd(w->rb);
}

int bpfwatch_read(BpfWatch *w, AffRecord *out, size_t max, bool *ret_lost) {
        uint32_t zero = 0;
        uint64_t lost = 0;
        int r;

        w->out = out;
        w->n = 0;
        w->max = max;
        w->overflow = false;
        r = ring_buffer__consume(w->rb);
        w->out = NULL;
        if (r < 0)
                return r;
        /* The kernel's count of records it had no room for: any new one
         * means a call we did not see. */
        if (w->lost_fd >= 0 && bpf_map_lookup_elem(w->lost_fd, &zero, &lost) == 0 && lost != w->lost_seen) {
                w->lost_seen = lost;
                w->overflow = true;
        }
        *ret_lost = w->overflow;
        return (int) w->n;
}
