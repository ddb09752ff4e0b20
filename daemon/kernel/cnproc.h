/* SPDX-License-Identifier: MIT */
/* The netlink proc connector: the kernel tells us about every fork, exec,
 * comm change and exit. Parsing is pure; the socket code is thin. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum CnEventType {
        CN_EV_FORK, /* child_pid/child_tgid created by parent */
        CN_EV_EXEC,
        CN_EV_COMM,
        CN_EV_EXIT,
        CN_EV_UID, /* setuid() and friends: ruid and euid are the new ones */
        CN_EV_ACK, /* answer to our subscribe: err is its errno */
        CN_EV_SID, /* setsid(): only the filter probe looks at it */
        CN_EV_OTHER,
} CnEventType;

typedef struct CnEvent {
        CnEventType type;
        pid_t pid, tgid; /* the task the event is about (child for fork) */
        pid_t parent_pid, parent_tgid;
        int err;               /* CN_EV_ACK */
        uint64_t timestamp_ns; /* kernel monotonic clock */
        char comm[16];         /* CN_EV_COMM: the new name, NUL-terminated */
        uid_t ruid, euid;      /* CN_EV_UID */
} CnEvent;

/* The kernel's event bits (linux/cn_proc.h `what`), named here because the
 * 6.6 filter ABI (struct proc_input) is missing from older headers. */
#define CNPROC_EV_FORK 0x00000001u
#define CNPROC_EV_EXEC 0x00000002u
#define CNPROC_EV_UID 0x00000004u
#define CNPROC_EV_GID 0x00000040u
#define CNPROC_EV_SID 0x00000080u
#define CNPROC_EV_PTRACE 0x00000100u
#define CNPROC_EV_COMM 0x00000200u
#define CNPROC_EV_NONZERO_EXIT 0x20000000u
#define CNPROC_EV_COREDUMP 0x40000000u
#define CNPROC_EV_EXIT 0x80000000u
/* What the daemon always acts on: new tasks, exec, renames, exits (every
 * exit, not only non-zero ones: exits are authoritative). User changes
 * (CNPROC_EV_UID: a pre-fork server's worker that calls setuid() without
 * exec) are asked for too while some rule matches on users. */
#define CNPROC_EVENTS_USED (CNPROC_EV_FORK | CNPROC_EV_EXEC | CNPROC_EV_COMM | CNPROC_EV_EXIT)

/* Parse one datagram (one or more netlink messages). Events are appended to
 * out (at most max); returns how many, or -EBADMSG for a malformed datagram.
 * Messages not from the proc connector are ignored. */
int cnproc_parse(const void *buf, size_t len, CnEvent *out, size_t max);

/* Open a non-blocking connector socket bound to the proc group with a receive
 * buffer of rcvbuf bytes (forced when privileged). */
int cnproc_open(int rcvbuf, int *ret_fd);
/* Ask the kernel to start (or stop) multicasting proc events; the answer
 * arrives as a CN_EV_ACK. cnproc_subscribe asks for every event (any
 * kernel). cnproc_subscribe_events with events = 0 sends the classic message (every event,
 * any kernel); otherwise the Linux >= 6.6 form with a per-listener filter of
 * CNPROC_EV_* bits. Kernels before 6.6 drop the longer message without an
 * answer (cn_proc_mcast_ctl checks the length first). */
int cnproc_subscribe(int fd, bool on);
int cnproc_subscribe_events(int fd, bool on, uint32_t events);
/* The datagram cnproc_subscribe sends, built into buf (at least
 * CNPROC_SUBSCRIBE_MAX bytes); returns its length. Pure. */
#define CNPROC_SUBSCRIBE_MAX 64
size_t cnproc_build_subscribe(void *buf, bool on, uint32_t events);

/* A classic BPF socket filter that drops, in the kernel, proc connector
 * events whose kind is not in `events` (on any kernel: uid, gid, sid,
 * ptrace, coredump when given CNPROC_EVENTS_USED). Acks and anything that is
 * not plainly a proc connector event pass, so userspace still validates and
 * counts them. Writes at most CNPROC_FILTER_MAX instructions (struct
 * sock_filter) into prog, returns how many. Pure. */
#define CNPROC_FILTER_MAX 16
struct sock_filter;
size_t cnproc_build_filter(struct sock_filter *prog, uint32_t events);
/* Attach it to fd (SO_ATTACH_FILTER). */
int cnproc_attach_filter(int fd, uint32_t events);

/* How the subscription was made. */
typedef enum CnFilterMode {
        CN_FILTER_KERNEL, /* the kernel's per-listener filter, and the socket filter */
        CN_FILTER_SOCKET, /* the socket filter only: every kind is multicast to us */
        CN_FILTER_NONE,   /* neither (the socket filter could not be attached) */
} CnFilterMode;
const char *cnproc_filter_mode_name(CnFilterMode m);

typedef struct CnStart {
        int fd;
        CnFilterMode mode;
        /* Why not CN_FILTER_KERNEL: -EOPNOTSUPP (unfiltered kinds still
         * came: a kernel before 6.6), -ETIMEDOUT (the probe saw nothing),
         * -ECANCELED (not tried), another -errno. */
        int kernel_filter_error;
        int socket_filter_error;
} CnStart;

/* Open, subscribe (the classic message, which every kernel answers within
 * timeout_ms), then, when try_kernel_filter, narrow the subscription with the
 * per-listener filter. The kernel never answers that one: its answer is an
 * event of kind "none", which its own filter then drops for a listener that
 * asked for less than everything (Linux 6.6 to at least 6.18), and a kernel
 * before 6.6 ignores the request. So the filter is proved instead: a child
 * calls setsid() and exits; seeing its exit without its setsid event means the
 * kernel filters for us (probe_timeout_ms at most). The socket filter is
 * attached last. Events that arrive meanwhile are dropped (a scan follows).
 * events: the CNPROC_EV_* bits to receive (CNPROC_EVENTS_USED and more).
 * Returns 0, or -errno with *ret_error saying why (malloc'd). */
int cnproc_start(int rcvbuf, uint32_t events, bool try_kernel_filter, unsigned probe_timeout_ms,
                 unsigned timeout_ms, CnStart *ret, char **ret_error);
/* Receive one datagram; only messages the kernel sent (sender port 0) are
 * accepted, others are dropped with -EPERM. Returns the length, -EAGAIN when
 * empty, -ENOBUFS when the kernel dropped events, -EBADMSG when truncated. */
/* Receive other events from now on, in the mode cnproc_start found: the
 * kernel's filter takes a new subscription with the new bits (it replaces
 * the listener's filter and does not count it again), and the socket
 * filter is replaced. 0 or -errno. */
int cnproc_set_events(int fd, CnFilterMode mode, uint32_t events);

ssize_t cnproc_receive(int fd, void *buf, size_t size);

/* Receive up to n datagrams with one recvmmsg(2) into n buffers of `size`
 * bytes laid out back to back in bufs. lens[i] is each one's length, or
 * -EPERM (not from the kernel: ignore it) or -EBADMSG (truncated: an event
 * was lost). Returns how many, or -EAGAIN, -ENOBUFS, another -errno. */
int cnproc_receive_many(int fd, void *bufs, size_t size, unsigned n, ssize_t *lens);
