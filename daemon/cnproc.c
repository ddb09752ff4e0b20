/* SPDX-License-Identifier: MIT */
#include "cnproc.h"

#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

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
                        break;
                case PROC_EVENT_EXIT:
                        e.type = CN_EV_EXIT;
                        e.pid = ev->event_data.exit.process_pid;
                        e.tgid = ev->event_data.exit.process_tgid;
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

int cnproc_subscribe(int fd, bool on) {
        struct {
                struct nlmsghdr nlh;
                struct cn_msg cn;
                enum proc_cn_mcast_op op;
        } __attribute__((packed)) msg;
        struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};

        memset(&msg, 0, sizeof msg);
        msg.nlh.nlmsg_len = sizeof msg;
        msg.nlh.nlmsg_type = NLMSG_DONE;
        msg.nlh.nlmsg_pid = 0;
        msg.cn.id.idx = CN_IDX_PROC;
        msg.cn.id.val = CN_VAL_PROC;
        msg.cn.seq = 1;
        msg.cn.ack = 1;
        msg.cn.len = sizeof(enum proc_cn_mcast_op);
        msg.op = on ? PROC_CN_MCAST_LISTEN : PROC_CN_MCAST_IGNORE;
        if (sendto(fd, &msg, sizeof msg, MSG_NOSIGNAL, (struct sockaddr *) &kernel, sizeof kernel) < 0)
                return -errno;
        return 0;
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
