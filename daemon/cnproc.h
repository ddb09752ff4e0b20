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
        CN_EV_ACK, /* answer to our subscribe: err is its errno */
        CN_EV_OTHER,
} CnEventType;

typedef struct CnEvent {
        CnEventType type;
        pid_t pid, tgid; /* the task the event is about (child for fork) */
        pid_t parent_pid, parent_tgid;
        int err;               /* CN_EV_ACK */
        uint64_t timestamp_ns; /* kernel monotonic clock */
} CnEvent;

/* Parse one datagram (one or more netlink messages). Events are appended to
 * out (at most max); returns how many, or -EBADMSG for a malformed datagram.
 * Messages not from the proc connector are ignored. */
int cnproc_parse(const void *buf, size_t len, CnEvent *out, size_t max);

/* Open a non-blocking connector socket bound to the proc group with a receive
 * buffer of rcvbuf bytes (forced when privileged). */
int cnproc_open(int rcvbuf, int *ret_fd);
/* Ask the kernel to start (or stop) multicasting proc events; the answer
 * arrives as a CN_EV_ACK. */
int cnproc_subscribe(int fd, bool on);
/* Receive one datagram; only messages the kernel sent (sender port 0) are
 * accepted, others are dropped with -EPERM. Returns the length, -EAGAIN when
 * empty, -ENOBUFS when the kernel dropped events, -EBADMSG when truncated. */
ssize_t cnproc_receive(int fd, void *buf, size_t size);

/* Receive up to n datagrams with one recvmmsg(2) into n buffers of `size`
 * bytes laid out back to back in bufs. lens[i] is each one's length, or
 * -EPERM (not from the kernel: ignore it) or -EBADMSG (truncated: an event
 * was lost). Returns how many, or -EAGAIN, -ENOBUFS, another -errno. */
int cnproc_receive_many(int fd, void *bufs, size_t size, unsigned n, ssize_t *lens);
