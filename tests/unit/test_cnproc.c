/* SPDX-License-Identifier: MIT */
/* The proc connector parser, on datagrams built as the kernel lays them out. */
#include <check.h>
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <linux/filter.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kernel/cnproc.h"
#include "lib/util.h"

typedef struct {
        struct nlmsghdr nlh;
        struct cn_msg cn;
        struct proc_event ev;
} __attribute__((packed)) Msg;

static size_t build(void *buf, unsigned what, int a, int b, int c, int d, uint32_t idx) {
        Msg *m = buf;
        memset(m, 0, sizeof *m);
        m->nlh.nlmsg_len = NLMSG_LENGTH(sizeof(struct cn_msg) + sizeof(struct proc_event));
        m->nlh.nlmsg_type = NLMSG_DONE;
        m->cn.id.idx = idx;
        m->cn.id.val = CN_VAL_PROC;
        m->cn.len = sizeof(struct proc_event);
        m->ev.what = what;
        m->ev.timestamp_ns = 12345;
        switch (what) {
        case PROC_EVENT_FORK:
                m->ev.event_data.fork.parent_pid = a;
                m->ev.event_data.fork.parent_tgid = b;
                m->ev.event_data.fork.child_pid = c;
                m->ev.event_data.fork.child_tgid = d;
                break;
        case PROC_EVENT_EXEC:
                m->ev.event_data.exec.process_pid = a;
                m->ev.event_data.exec.process_tgid = b;
                break;
        case PROC_EVENT_UID:
                m->ev.event_data.id.process_pid = a;
                m->ev.event_data.id.process_tgid = b;
                m->ev.event_data.id.r.ruid = (__u32) c;
                m->ev.event_data.id.e.euid = (__u32) d;
                break;
        case PROC_EVENT_COMM:
                m->ev.event_data.comm.process_pid = a;
                m->ev.event_data.comm.process_tgid = b;
                memcpy(m->ev.event_data.comm.comm, "worker-1", 9);
                m->ev.event_data.comm.comm[15] = 'X'; /* not NUL-terminated by the kernel's contract */
                break;
        case PROC_EVENT_EXIT:
                m->ev.event_data.exit.process_pid = a;
                m->ev.event_data.exit.process_tgid = b;
                break;
        case PROC_EVENT_NONE:
                m->ev.event_data.ack.err = (uint32_t) a;
                break;
        }
        return NLMSG_ALIGN(m->nlh.nlmsg_len);
}

START_TEST(test_fork_thread) {
        char buf[256] __attribute__((aligned(8)));
        CnEvent e[4];
        size_t len = build(buf, PROC_EVENT_FORK, 100, 100, 105, 100, CN_IDX_PROC);
        ck_assert_int_eq(cnproc_parse(buf, len, e, 4), 1);
        ck_assert_int_eq(e[0].type, CN_EV_FORK);
        ck_assert_int_eq(e[0].parent_pid, 100);
        ck_assert_int_eq(e[0].pid, 105);
        ck_assert_int_eq(e[0].tgid, 100);
        ck_assert_uint_eq(e[0].timestamp_ns, 12345);
}
END_TEST

START_TEST(test_kinds) {
        static const struct {
                unsigned what;
                CnEventType type;
                int pid, tgid;
        } t[] = {
                {PROC_EVENT_EXEC, CN_EV_EXEC, 7, 7},
                {PROC_EVENT_COMM, CN_EV_COMM, 8, 7},
                {PROC_EVENT_EXIT, CN_EV_EXIT, 9, 7},
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
                char buf[256] __attribute__((aligned(8)));
                CnEvent e;
                size_t len = build(buf, t[i].what, t[i].pid, t[i].tgid, 0, 0, CN_IDX_PROC);
                ck_assert_int_eq(cnproc_parse(buf, len, &e, 1), 1);
                ck_assert_int_eq(e.type, t[i].type);
                ck_assert_int_eq(e.pid, t[i].pid);
                ck_assert_int_eq(e.tgid, t[i].tgid);
        }
}
END_TEST

/* setuid() without exec: the new real and effective uid come with it. */
START_TEST(test_uid) {
        char buf[256] __attribute__((aligned(8)));
        CnEvent e;
        size_t len = build(buf, PROC_EVENT_UID, 31, 30, 65534, 65533, CN_IDX_PROC);
        ck_assert_int_eq(cnproc_parse(buf, len, &e, 1), 1);
        ck_assert_int_eq(e.type, CN_EV_UID);
        ck_assert_int_eq(e.pid, 31);
        ck_assert_int_eq(e.tgid, 30);
        ck_assert_uint_eq(e.ruid, 65534);
        ck_assert_uint_eq(e.euid, 65533);
}
END_TEST

START_TEST(test_ack) {
        char buf[256] __attribute__((aligned(8)));
        CnEvent e;
        size_t len = build(buf, PROC_EVENT_NONE, 1 /* EPERM */, 0, 0, 0, CN_IDX_PROC);
        ck_assert_int_eq(cnproc_parse(buf, len, &e, 1), 1);
        ck_assert_int_eq(e.type, CN_EV_ACK);
        ck_assert_int_eq(e.err, 1);
}
END_TEST

START_TEST(test_other_connector_ignored) {
        char buf[256] __attribute__((aligned(8)));
        CnEvent e;
        size_t len = build(buf, PROC_EVENT_EXEC, 1, 1, 0, 0, CN_IDX_PROC + 1);
        ck_assert_int_eq(cnproc_parse(buf, len, &e, 1), 0);
}
END_TEST

START_TEST(test_truncated) {
        char buf[256] __attribute__((aligned(8)));
        CnEvent e;
        size_t len = build(buf, PROC_EVENT_EXEC, 1, 1, 0, 0, CN_IDX_PROC);
        /* cn->len claims more than the netlink message holds. */
        ((Msg *) buf)->cn.len = 4096;
        ck_assert_int_eq(cnproc_parse(buf, len, &e, 1), -EBADMSG);
        /* A header cut short is simply not a message. */
        build(buf, PROC_EVENT_EXEC, 1, 1, 0, 0, CN_IDX_PROC);
        ck_assert_int_eq(cnproc_parse(buf, 8, &e, 1), 0);
        /* nlmsg_len too short for a cn_msg. */
        ((Msg *) buf)->nlh.nlmsg_len = NLMSG_LENGTH(4);
        ck_assert_int_eq(cnproc_parse(buf, len, &e, 1), -EBADMSG);
}
END_TEST

START_TEST(test_unknown_event_ignored) {
        char buf[256] __attribute__((aligned(8)));
        CnEvent e;
        size_t len = build(buf, PROC_EVENT_GID, 1, 1, 0, 0, CN_IDX_PROC);
        ck_assert_int_eq(cnproc_parse(buf, len, &e, 1), 0);
}
END_TEST

START_TEST(test_two_messages) {
        char buf[512] __attribute__((aligned(8)));
        CnEvent e[4];
        size_t a = build(buf, PROC_EVENT_EXEC, 5, 5, 0, 0, CN_IDX_PROC);
        ((Msg *) buf)->nlh.nlmsg_flags = NLM_F_MULTI;
        size_t b = build(buf + a, PROC_EVENT_EXIT, 6, 6, 0, 0, CN_IDX_PROC);
        ck_assert_int_eq(cnproc_parse(buf, a + b, e, 4), 2);
        ck_assert_int_eq(e[0].type, CN_EV_EXEC);
        ck_assert_int_eq(e[1].type, CN_EV_EXIT);
        /* Output bounded by max. */
        ck_assert_int_eq(cnproc_parse(buf, a + b, e, 1), 1);
}
END_TEST

START_TEST(test_comm_name) {
        char buf[256] __attribute__((aligned(8)));
        CnEvent e;
        size_t len = build(buf, PROC_EVENT_COMM, 8, 7, 0, 0, CN_IDX_PROC);
        ck_assert_int_eq(cnproc_parse(buf, len, &e, 1), 1);
        ck_assert_str_eq(e.comm, "worker-1");
        /* A full 16-byte name without NUL is cut to 15, never overrun. */
        memset(((Msg *) buf)->ev.event_data.comm.comm, 'a', 16);
        ck_assert_int_eq(cnproc_parse(buf, len, &e, 1), 1);
        ck_assert_uint_eq(strlen(e.comm), 15);
}
END_TEST

/* The subscription datagrams, byte for byte as the kernel reads them. */
START_TEST(test_subscribe_classic) {
        unsigned char b[CNPROC_SUBSCRIBE_MAX];
        size_t len = cnproc_build_subscribe(b, true, 0);
        const struct nlmsghdr *nlh = (const void *) b;
        const struct cn_msg *cn = (const void *) (b + sizeof *nlh);
        uint32_t op;

        ck_assert_uint_eq(len, sizeof *nlh + sizeof *cn + 4);
        ck_assert_uint_eq(nlh->nlmsg_len, len);
        ck_assert_uint_eq(nlh->nlmsg_type, NLMSG_DONE);
        ck_assert_uint_eq(cn->id.idx, CN_IDX_PROC);
        ck_assert_uint_eq(cn->id.val, CN_VAL_PROC);
        ck_assert_uint_eq(cn->ack, 1);
        ck_assert_uint_eq(cn->len, 4);
        memcpy(&op, cn->data, 4);
        ck_assert_uint_eq(op, PROC_CN_MCAST_LISTEN);
        len = cnproc_build_subscribe(b, false, 0);
        memcpy(&op, cn->data, 4);
        ck_assert_uint_eq(op, PROC_CN_MCAST_IGNORE);
}
END_TEST

START_TEST(test_subscribe_filtered) {
        unsigned char b[CNPROC_SUBSCRIBE_MAX];
        size_t len = cnproc_build_subscribe(b, true, CNPROC_EVENTS_USED);
        const struct nlmsghdr *nlh = (const void *) b;
        const struct cn_msg *cn = (const void *) (b + sizeof *nlh);
        uint32_t in[2];

        /* struct proc_input: two 32-bit enums, op then event bits. */
        ck_assert_uint_eq(len, sizeof *nlh + sizeof *cn + 8);
        ck_assert_uint_eq(len, 44);
        ck_assert_uint_eq(nlh->nlmsg_len, len);
        ck_assert_uint_eq(cn->len, 8);
        memcpy(in, cn->data, 8);
        ck_assert_uint_eq(in[0], PROC_CN_MCAST_LISTEN);
        ck_assert_uint_eq(in[1], PROC_EVENT_FORK | PROC_EVENT_EXEC | PROC_EVENT_COMM | PROC_EVENT_EXIT);
        /* Our names match the kernel's bits. */
        ck_assert_uint_eq(CNPROC_EV_UID, PROC_EVENT_UID);
        ck_assert_uint_eq(CNPROC_EV_GID, PROC_EVENT_GID);
        ck_assert_uint_eq(CNPROC_EV_SID, PROC_EVENT_SID);
        ck_assert_uint_eq(CNPROC_EV_PTRACE, PROC_EVENT_PTRACE);
        ck_assert_uint_eq(CNPROC_EV_COREDUMP, PROC_EVENT_COREDUMP);
        ck_assert(cnproc_build_subscribe(b, true, ~0u) <= CNPROC_SUBSCRIBE_MAX);
}
END_TEST

/* The socket filter, run by the kernel's own BPF interpreter: attached to
 * one end of a datagram socketpair, crafted datagrams are sent through it and
 * we see which arrive. */
static int filter_pair(int sv[2]) {
        if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
                return -1;
        return cnproc_attach_filter(sv[1], CNPROC_EVENTS_USED);
}

static bool passes(int sv[2], const void *buf, size_t len) {
        char rx[512];
        ck_assert_int_eq(send(sv[0], buf, len, 0), (ssize_t) len);
        ssize_t n = recv(sv[1], rx, sizeof rx, MSG_DONTWAIT);
        if (n < 0)
                return false;
        ck_assert_int_eq(n, (ssize_t) len); /* never cut */
        ck_assert(memcmp(rx, buf, len) == 0);
        return true;
}

START_TEST(test_filter_kinds) {
        static const struct {
                unsigned what;
                bool pass;
        } t[] = {
                {PROC_EVENT_NONE, true},      {PROC_EVENT_FORK, true}, {PROC_EVENT_EXEC, true},
                {PROC_EVENT_COMM, true},      {PROC_EVENT_EXIT, true}, {PROC_EVENT_UID, false},
                {PROC_EVENT_GID, false},      {PROC_EVENT_SID, false}, {PROC_EVENT_PTRACE, false},
                {PROC_EVENT_COREDUMP, false}, {0x00000400, false}, /* a kind not known yet */
        };
        int sv[2];
        ck_assert_int_eq(filter_pair(sv), 0);
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                char buf[256] __attribute__((aligned(8)));
                size_t len = build(buf, t[i].what, 1, 1, 2, 2, CN_IDX_PROC);
                ck_assert_msg(passes(sv, buf, len) == t[i].pass, "what=%#x", t[i].what);
        }
        close(sv[0]);
        close(sv[1]);
}
END_TEST

/* While a rule matches on users, UID events pass too; GID events never. */
START_TEST(test_filter_with_users) {
        int sv[2];
        char buf[256] __attribute__((aligned(8)));
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
        ck_assert_int_eq(cnproc_attach_filter(sv[1], CNPROC_EVENTS_USED | CNPROC_EV_UID), 0);
        size_t len = build(buf, PROC_EVENT_UID, 1, 1, 2, 2, CN_IDX_PROC);
        ck_assert(passes(sv, buf, len));
        len = build(buf, PROC_EVENT_GID, 1, 1, 2, 2, CN_IDX_PROC);
        ck_assert(!passes(sv, buf, len));
        /* Replaced: without users again. */
        ck_assert_int_eq(cnproc_set_events(sv[1], CN_FILTER_SOCKET, CNPROC_EVENTS_USED), 0);
        len = build(buf, PROC_EVENT_UID, 1, 1, 2, 2, CN_IDX_PROC);
        ck_assert(!passes(sv, buf, len));
        close(sv[0]);
        close(sv[1]);
}
END_TEST

START_TEST(test_filter_fails_open) {
        char buf[256] __attribute__((aligned(8)));
        int sv[2];
        size_t len;

        ck_assert_int_eq(filter_pair(sv), 0);
        /* Not the proc connector (idx, then val): userspace decides. */
        len = build(buf, PROC_EVENT_PTRACE, 1, 1, 0, 0, CN_IDX_PROC + 1);
        ck_assert(passes(sv, buf, len));
        len = build(buf, PROC_EVENT_PTRACE, 1, 1, 0, 0, CN_IDX_PROC);
        ((Msg *) buf)->cn.id.val = CN_VAL_PROC + 1;
        ck_assert(passes(sv, buf, len));
        /* Too short to hold `what`: passes, and the parser calls it
         * malformed rather than the filter hiding a lost event. */
        len = build(buf, PROC_EVENT_PTRACE, 1, 1, 0, 0, CN_IDX_PROC);
        ck_assert(passes(sv, buf, 39));
        ck_assert(!passes(sv, buf, 40));
        /* Byte order: a UID event's bit read backwards (0x00000004 swapped
         * is 0x04000000) is no kind we use: dropped. */
        ((Msg *) buf)->ev.what = 0x04000000;
        ck_assert(!passes(sv, buf, len));
        close(sv[0]);
        close(sv[1]);
}
END_TEST

START_TEST(test_filter_program_shape) {
        struct sock_filter p[CNPROC_FILTER_MAX];
        size_t n = cnproc_build_filter(p, CNPROC_EVENTS_USED);
        ck_assert(n > 0 && n <= CNPROC_FILTER_MAX);
        /* Every jump lands inside the program and it ends in a return. */
        for (size_t i = 0; i < n; i++)
                if (BPF_CLASS(p[i].code) == BPF_JMP) {
                        ck_assert(i + 1 + p[i].jt < n);
                        ck_assert(i + 1 + p[i].jf < n);
                }
        ck_assert_uint_eq(BPF_CLASS(p[n - 1].code), BPF_RET);
}
END_TEST

Suite *cnproc_suite(void) {
        Suite *s = suite_create("cnproc");
        TCase *tc = tcase_create("parse");
        tcase_add_test(tc, test_fork_thread);
        tcase_add_test(tc, test_kinds);
        tcase_add_test(tc, test_uid);
        tcase_add_test(tc, test_ack);
        tcase_add_test(tc, test_other_connector_ignored);
        tcase_add_test(tc, test_truncated);
        tcase_add_test(tc, test_unknown_event_ignored);
        tcase_add_test(tc, test_two_messages);
        tcase_add_test(tc, test_comm_name);
        suite_add_tcase(s, tc);
        tc = tcase_create("subscribe");
        tcase_add_test(tc, test_subscribe_classic);
        tcase_add_test(tc, test_subscribe_filtered);
        suite_add_tcase(s, tc);
        tc = tcase_create("filter");
        tcase_add_test(tc, test_filter_kinds);
        tcase_add_test(tc, test_filter_fails_open);
        tcase_add_test(tc, test_filter_with_users);
        tcase_add_test(tc, test_filter_program_shape);
        suite_add_tcase(s, tc);
        return s;
}
