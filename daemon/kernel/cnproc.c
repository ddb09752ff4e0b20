/* SPDX-License-Identifier: MIT */
#include "kernel/cnproc.h"

#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <arpa/inet.h>
#include <poll.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/util.h"

int cnproc_parse(const void *buf, size_t len, CnEvent *out, size_t max) {
        const struct nlmsghdr *nlh = buf;
        size_t n = 0;
        size_t left = len;

        /* NLMSG_OK and friends take an int length. */
        if (len > (size_t) 1 << 30)
                return -EBADMSG;
        for (int l = (int) left; NLMSG_OK(nlh, (unsigned) l); nlh = NLMSG_NEXT(nlh, l)) {
                const struct cn_msg *cn;
                struct proc_event evbuf = {0}, *ev = &evbuf;
                CnEvent e = {0};

                if (nlh->nlmsg_type == NLMSG_NOOP)
                        continue;
                if (nlh->nlmsg_type == NLMSG_ERROR || nlh->nlmsg_type == NLMSG_OVERRUN)
                        return -EBADMSG;
                if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct cn_msg)))
                        return -EBADMSG;
                cn = NLMSG_DATA(nlh);
                if (cn->id.idx != CN_IDX_PROC || cn->id.val != CN_VAL_PROC)
                        continue;
                if (cn->len < sizeof(struct proc_event) - sizeof(ev->event_data) ||
                    NLMSG_LENGTH(sizeof(struct cn_msg) + cn->len) > nlh->nlmsg_len)
                        return -EBADMSG;
                /* The event sits at offset 36 of the datagram: not 8-byte
                 * aligned, so copy it out rather than cast. */
                memcpy(&evbuf, cn->data, cn->len < sizeof evbuf ? cn->len : sizeof evbuf);
                e.timestamp_ns = ev->timestamp_ns;
                switch (ev->what) {
                case PROC_EVENT_NONE:
                        e.type = CN_EV_ACK;
                        e.err = (int) ev->event_data.ack.err;
                        break;
                case PROC_EVENT_FORK:
                        e.type = CN_EV_FORK;
                        e.parent_pid = ev->event_data.fork.parent_pid;
                        e.parent_tgid = ev->event_data.fork.parent_tgid;
                        e.pid = ev->event_data.fork.child_pid;
                        e.tgid = ev->event_data.fork.child_tgid;
                        break;
                case PROC_EVENT_EXEC:
                        e.type = CN_EV_EXEC;
                        e.pid = ev->event_data.exec.process_pid;
                        e.tgid = ev->event_data.exec.process_tgid;
                        break;
                case PROC_EVENT_COMM:
                        e.type = CN_EV_COMM;
                        e.pid = ev->event_data.comm.process_pid;
                        e.tgid = ev->event_data.comm.process_tgid;
                        /* A cut message leaves zeros: an empty name, which
                         * callers treat as "read it from /proc". */
                        memcpy(e.comm, ev->event_data.comm.comm, sizeof e.comm - 1);
                        e.comm[sizeof e.comm - 1] = 0;
                        break;
                case PROC_EVENT_EXIT:
                        e.type = CN_EV_EXIT;
                        e.pid = ev->event_data.exit.process_pid;
                        e.tgid = ev->event_data.exit.process_tgid;
                        break;
                case PROC_EVENT_UID:
                        e.type = CN_EV_UID;
                        e.pid = ev->event_data.id.process_pid;
                        e.tgid = ev->event_data.id.process_tgid;
                        e.ruid = ev->event_data.id.r.ruid;
                        e.euid = ev->event_data.id.e.euid;
                        break;
                case PROC_EVENT_SID:
                        e.type = CN_EV_SID;
                        e.pid = ev->event_data.sid.process_pid;
                        e.tgid = ev->event_data.sid.process_tgid;
                        break;
                default:
                        continue;
                }
                if (n < max)
                        out[n++] = e;
                if (nlh->nlmsg_type == NLMSG_DONE && !(nlh->nlmsg_flags & NLM_F_MULTI))
                        break;
        }
        return (int) n;
}

int cnproc_open(int rcvbuf, int *ret_fd) {
        _cleanup_(closep) int fd = -1;
        struct sockaddr_nl addr = {
                .nl_family = AF_NETLINK,
                .nl_groups = CN_IDX_PROC,
        };

        fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR);
        if (fd < 0)
                return -errno;
        /* A fork storm produces events faster than we read them for a moment:
         * a large buffer turns most bursts into latency instead of loss. */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        if (bind(fd, (struct sockaddr *) &addr, sizeof addr) < 0)
                return -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* struct proc_input of Linux >= 6.6 (include/uapi/linux/cn_proc.h). */
typedef struct CnProcInput {
        uint32_t mcast_op;
        uint32_t event_type;
} CnProcInput;

size_t cnproc_build_subscribe(void *buf, bool on, uint32_t events) {
        struct nlmsghdr *nlh = buf;
        struct cn_msg *cn = (struct cn_msg *) ((char *) buf + sizeof *nlh);
        uint32_t op = on ? PROC_CN_MCAST_LISTEN : PROC_CN_MCAST_IGNORE;
        /* The classic payload is the op alone; the kernel tells the two
         * forms apart by cn_msg.len only. */
        size_t payload = events ? sizeof(CnProcInput) : sizeof op;
        size_t len = sizeof *nlh + sizeof *cn + payload;

        memset(buf, 0, len);
        nlh->nlmsg_len = (uint32_t) len;
        nlh->nlmsg_type = NLMSG_DONE;
        nlh->nlmsg_pid = 0;
        cn->id.idx = CN_IDX_PROC;
        cn->id.val = CN_VAL_PROC;
        cn->seq = 1;
        cn->ack = 1;
        cn->len = (uint16_t) payload;
        if (events) {
                CnProcInput in = {.mcast_op = op, .event_type = events};
                memcpy(cn->data, &in, sizeof in);
        } else
                memcpy(cn->data, &op, sizeof op);
        return len;
}

int cnproc_subscribe_events(int fd, bool on, uint32_t events) {
        char msg[CNPROC_SUBSCRIBE_MAX] __attribute__((aligned(8)));
        struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
        size_t len = cnproc_build_subscribe(msg, on, events);

        if (sendto(fd, msg, len, MSG_NOSIGNAL, (struct sockaddr *) &kernel, sizeof kernel) < 0)
                return -errno;
        return 0;
}

int cnproc_subscribe(int fd, bool on) {
        return cnproc_subscribe_events(fd, on, 0);
}

/* Offsets in a proc connector datagram: netlink header, cn_msg, proc_event. */
#define OFF_CN_IDX (NLMSG_HDRLEN + offsetof(struct cn_msg, id.idx))
#define OFF_CN_VAL (NLMSG_HDRLEN + offsetof(struct cn_msg, id.val))
#define OFF_WHAT (NLMSG_HDRLEN + sizeof(struct cn_msg) + offsetof(struct proc_event, what))

size_t cnproc_build_filter(struct sock_filter *prog, uint32_t events) {
        /* Classic BPF loads words in network byte order, the connector
         * writes host order: compare with htonl() of the host values, which
         * is right on either endianness. A word load past the end would make
         * the kernel drop the datagram, so short ones are let through first
         * (userspace calls them truncated, i.e. lost events). Jump offsets
         * count instructions skipped, to the final ACCEPT (index 10). */
        const struct sock_filter p[] = {
                /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
                /* 1 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (uint32_t) OFF_WHAT + 4, 0, 8),
                /* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t) OFF_CN_IDX),
                /* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(CN_IDX_PROC), 0, 6),
                /* 4 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t) OFF_CN_VAL),
                /* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(CN_VAL_PROC), 0, 4),
                /* 6 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t) OFF_WHAT),
                /* 7: PROC_EVENT_NONE, the answer to a subscription */
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, 0),
                /* 8: `what` is one bit; any bit we asked for passes */
                BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, htonl(events), 1, 0),
                /* 9 */ BPF_STMT(BPF_RET | BPF_K, 0),
                /* 10: ACCEPT, the whole datagram */
                BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
        };
        _Static_assert(ELEMENTSOF(p) <= CNPROC_FILTER_MAX, "filter too long");
        memcpy(prog, p, sizeof p);
        return ELEMENTSOF(p);
}

int cnproc_attach_filter(int fd, uint32_t events) {
        struct sock_filter prog[CNPROC_FILTER_MAX];
        struct sock_fprog fp = {.filter = prog};

        fp.len = (unsigned short) cnproc_build_filter(prog, events);
        if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp) < 0)
                return -errno;
        return 0;
}

const char *cnproc_filter_mode_name(CnFilterMode m) {
        switch (m) {
        case CN_FILTER_KERNEL:
                return "kernel";
        case CN_FILTER_SOCKET:
                return "socket";
        default:
                return "none";
        }
}

/* Wait for the answer to a subscription: 0 when the kernel agreed, its
 * -errno when it refused, -ETIMEDOUT when nothing came. */
static int wait_ack(int fd, unsigned timeout_ms) {
        uint64_t deadline = now_usec() + (uint64_t) timeout_ms * 1000u;

        for (;;) {
                uint64_t now = now_usec();
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                char buf[4096] __attribute__((aligned(8)));
                CnEvent ev[64];
                int r;

                if (now >= deadline)
                        return -ETIMEDOUT;
                r = poll(&pfd, 1, (int) ((deadline - now + 999) / 1000u));
                if (r < 0 && errno != EINTR)
                        return -errno;
                if (r <= 0)
                        continue;
                /* Drain: other listeners' events may be queued before it. */
                for (;;) {
                        ssize_t len = cnproc_receive(fd, buf, sizeof buf);
                        if (len == -EAGAIN)
                                break;
                        if (len == -ENOBUFS || len == -EPERM || len == -EBADMSG)
                                continue; /* lost, foreign sender, truncated: not the answer */
                        if (len < 0)
                                return (int) len;
                        int k = cnproc_parse(buf, (size_t) len, ev, ELEMENTSOF(ev));
                        for (int i = 0; i < k; i++)
                                if (ev[i].type == CN_EV_ACK)
                                        return ev[i].err ? -ev[i].err : 0;
                }
        }
}

/* Does the kernel filter for us? A child of ours calls setsid() and exits:
 * its exit event without its setsid event first (the kernel sends both from
 * the child, in that order) proves it. 0, -EOPNOTSUPP, -ETIMEDOUT. */
static int probe_kernel_filter(int fd, unsigned timeout_ms) {
        uint64_t deadline = now_usec() + (uint64_t) timeout_ms * 1000u;
        bool saw_sid = false;
        int r = -ETIMEDOUT;
        pid_t child = fork();

        if (child < 0)
                return -errno;
        if (child == 0) {
                (void) setsid();
                _exit(0);
        }
        while (r == -ETIMEDOUT) {
                uint64_t now = now_usec();
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                char buf[4096] __attribute__((aligned(8)));
                CnEvent ev[64];

                if (now >= deadline)
                        break;
                if (poll(&pfd, 1, (int) ((deadline - now + 999) / 1000u)) <= 0)
                        continue;
                for (;;) {
                        ssize_t len = cnproc_receive(fd, buf, sizeof buf);
                        if (len < 0)
                                break;
                        int k = cnproc_parse(buf, (size_t) len, ev, ELEMENTSOF(ev));
                        for (int i = 0; i < k && r == -ETIMEDOUT; i++) {
                                if (ev[i].tgid != child)
                                        continue;
                                if (ev[i].type == CN_EV_SID)
                                        saw_sid = true;
                                else if (ev[i].type == CN_EV_EXIT)
                                        r = saw_sid ? -EOPNOTSUPP : 0;
                        }
                }
        }
        (void) waitpid(child, NULL, 0);
        return r;
}

int cnproc_start(int rcvbuf, uint32_t events, bool try_kernel_filter, unsigned probe_timeout_ms,
                 unsigned timeout_ms, CnStart *ret, char **ret_error) {
        _cleanup_(closep) int fd = -1;
        CnStart st = {.fd = -1, .mode = CN_FILTER_NONE, .kernel_filter_error = -ECANCELED};
        int r;

        r = cnproc_open(rcvbuf, &fd);
        if (r < 0) {
                *ret_error = xasprintf("cannot open the proc connector: %s", strerror(-r));
                return r;
        }
        r = cnproc_subscribe(fd, true);
        if (r < 0) {
                *ret_error = xasprintf("cannot subscribe to the proc connector: %s", strerror(-r));
                return r;
        }
        r = wait_ack(fd, timeout_ms);
        if (r == -ETIMEDOUT) {
                *ret_error = strdup("the proc connector did not answer (not the initial namespaces?)");
                return r;
        }
        if (r < 0) {
                *ret_error = xasprintf("the proc connector refused us: %s", strerror(-r));
                return r;
        }
        if (try_kernel_filter) {
                /* Harmless where unknown: a kernel before 6.6 drops it. */
                r = cnproc_subscribe_events(fd, true, events);
                if (r >= 0)
                        r = probe_kernel_filter(fd, probe_timeout_ms);
                st.kernel_filter_error = r;
        }
        st.socket_filter_error = cnproc_attach_filter(fd, events);
        if (st.kernel_filter_error == 0)
                st.mode = CN_FILTER_KERNEL;
        else if (st.socket_filter_error == 0)
                st.mode = CN_FILTER_SOCKET;
        st.fd = TAKE_FD(fd);
        *ret = st;
        return 0;
}

int cnproc_set_events(int fd, CnFilterMode mode, uint32_t events) {
        int r = 0;

        if (mode == CN_FILTER_KERNEL)
                r = cnproc_subscribe_events(fd, true, events);
        if (r >= 0 && mode != CN_FILTER_NONE)
                r = cnproc_attach_filter(fd, events);
        return r;
}

ssize_t cnproc_receive(int fd, void *buf, size_t size) {
        struct sockaddr_nl from;
        struct iovec iov = {.iov_base = buf, .iov_len = size};
        struct msghdr mh = {
                .msg_name = &from,
                .msg_namelen = sizeof from,
                .msg_iov = &iov,
                .msg_iovlen = 1,
        };
        ssize_t n;

        for (;;) {
                n = recvmsg(fd, &mh, MSG_DONTWAIT);
                if (n >= 0)
                        break;
                if (errno == EINTR)
                        continue;
                return -errno;
        }
        if (mh.msg_namelen != sizeof from || from.nl_pid != 0)
                return -EPERM;
        if (mh.msg_flags & MSG_TRUNC)
                return -EBADMSG;
        return n;
}

int cnproc_receive_many(int fd, void *bufs, size_t size, unsigned n, ssize_t *lens) {
        struct mmsghdr msgs[n];
        struct iovec iov[n];
        struct sockaddr_nl from[n];
        int k;

        for (unsigned i = 0; i < n; i++) {
                iov[i] = (struct iovec){.iov_base = (char *) bufs + i * size, .iov_len = size};
                msgs[i] = (struct mmsghdr){.msg_hdr = {
                                                   .msg_name = &from[i],
                                                   .msg_namelen = sizeof from[i],
                                                   .msg_iov = &iov[i],
                                                   .msg_iovlen = 1,
                                           }};
        }
        do
                k = recvmmsg(fd, msgs, n, MSG_DONTWAIT, NULL);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return -errno;
        for (int i = 0; i < k; i++) {
                if (msgs[i].msg_hdr.msg_namelen != sizeof from[i] || from[i].nl_pid != 0)
                        lens[i] = -EPERM;
                else if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
                        lens[i] = -EBADMSG;
                else
                        lens[i] = (ssize_t) msgs[i].msg_len;
        }
        return k;
}
