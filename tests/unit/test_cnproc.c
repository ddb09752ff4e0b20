/* SPDX-License-Identifier: MIT */
/* The proc connector parser, on datagrams built as the kernel lays them out. */
#include <check.h>
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <string.h>

#include "cnproc.h"

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
        case PROC_EVENT_COMM:
                m->ev.event_data.comm.process_pid = a;
                m->ev.event_data.comm.process_tgid = b;
                memcpy(m->ev.event_data.comm.comm, "worker-1", 9);
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
        size_t len = build(buf, PROC_EVENT_UID, 1, 1, 0, 0, CN_IDX_PROC);
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

Suite *cnproc_suite(void) {
        Suite *s = suite_create("cnproc");
        TCase *tc = tcase_create("parse");
        tcase_add_test(tc, test_fork_thread);
        tcase_add_test(tc, test_kinds);
        tcase_add_test(tc, test_ack);
        tcase_add_test(tc, test_other_connector_ignored);
        tcase_add_test(tc, test_truncated);
        tcase_add_test(tc, test_unknown_event_ignored);
        tcase_add_test(tc, test_two_messages);
        suite_add_tcase(s, tc);
        return s;
}
