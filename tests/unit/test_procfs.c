/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel/procfs.h"
#include "testutil.h"
#include "lib/util.h"

/* A literal with its length, so NULs and missing terminators can be tested. */
#define BUF(x) x, sizeof(x) - 1
/* A string literal and its length, for the parsers. */
#define STR(s) (s), sizeof(s) - 1

/* A line parse_stat must reject. */
#define BAD(x)                                                                                               \
        { BUF(x), -EBADMSG, NULL, 0, 0, 0, 0, 0 }

/* Fields 3.. of a user task's stat line, as the kernel writes them: ppid 1,
 * flags 4194560, starttime 12345. */
#define TAIL                                                                                                 \
        " S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345 44331008 3361 18446744073709551615 1 1 0 "   \
        "0 0 0 0 4096 1256 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"

static int open_proc(const char *fixture) {
        _cleanup_(freep) char *p = xasprintf("%s/proc", fixture_path(fixture));
        int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_msg(fd >= 0, "open %s: %m", p);
        return fd;
}

/* clang-format off */
static const struct {
        const char *buf;
        size_t len;
        int r;
        const char *comm;
        pid_t pid, ppid;
        char state;
        unsigned flags;
        uint64_t starttime;
} stat_cases[] = {
        {BUF("42 (bash)" TAIL), 0, "bash", 42, 1, 'S', 4194560, 12345},
        {BUF("42 ())" TAIL), 0, ")", 42, 1, 'S', 4194560, 12345},
        {BUF("42 (()" TAIL), 0, "(", 42, 1, 'S', 4194560, 12345},
        {BUF("42 (a) b (c)" TAIL), 0, "a) b (c", 42, 1, 'S', 4194560, 12345},
        {BUF("42 (x\ny)" TAIL), 0, "x\ny", 42, 1, 'S', 4194560, 12345},
        {BUF("42 (a) S 9 9)" TAIL), 0, "a) S 9 9", 42, 1, 'S', 4194560, 12345},
        {BUF("42 (   )" TAIL), 0, "   ", 42, 1, 'S', 4194560, 12345},
        {BUF("42 (\\n\t\x01\xff)" TAIL), 0, "\\n\t\x01\xff", 42, 1, 'S', 4194560, 12345},
        {BUF("42 (123456789012345)" TAIL), 0, "123456789012345", 42, 1, 'S', 4194560, 12345},
        /* prctl(PR_SET_NAME, "") */
        {BUF("42 ()" TAIL), 0, "", 42, 1, 'S', 4194560, 12345},
        /* Kernel threads print up to 63 bytes. */
        {BUF("12 (kworker/u8:0-events_unbound) I 2 0 0 0 -1 69239136 0 0 0 0 0 18 0 0 20 0 1 0 25 0 0 "
             "18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"),
         0, "kworker/u8:0-events_unbound", 12, 2, 'I', 69239136, 25},
        {BUF("7 (123456789012345678901234567890123456789012345678901234567890123)" TAIL), 0,
         "123456789012345678901234567890123456789012345678901234567890123", 7, 1, 'S', 4194560, 12345},
        BAD("7 (1234567890123456789012345678901234567890123456789012345678901234)" TAIL),
        {BUF("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 25 0 0 18446744073709551615 0 0 0 0 "
             "0 0 0 2147483647 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"),
         0, "kthreadd", 2, 0, 'S', 2129984, 25},
        /* RT priority and nice are negative; tpgid is -1. */
        {BUF("9 (rt) R 1 9 9 0 -1 64 0 0 0 0 0 0 0 0 -100 -20 1 0 777\n"), 0, "rt", 9, 1, 'R', 64, 777},
        /* The line may end right after starttime, with or without newline. */
        {BUF("9 (rt) Z 1 9 9 0 -1 64 0 0 0 0 0 0 0 0 20 0 1 0 18446744073709551615"), 0, "rt", 9, 1, 'Z', 64,
         UINT64_MAX},
        {BUF("2147483647 (max) S 2147483647 0 0 0 -1 4294967295 0 0 0 0 0 0 0 0 20 0 1 0 1\n"), 0, "max",
         INT_MAX, INT_MAX, 'S', UINT_MAX, 1},
        /* Malformed. */
        BAD(""),
        BAD("42"),
        BAD("42 "),
        BAD("42 (bash"),
        BAD("42 (bash S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345\n"),
        BAD("(bash)" TAIL),
        BAD("0 (bash)" TAIL),
        BAD("-1 (bash)" TAIL),
        BAD("4x (bash)" TAIL),
        BAD("42(bash)" TAIL),
        BAD("2147483648 (bash)" TAIL),
        BAD("42 (bash)"),
        BAD("42 (bash) S"),
        BAD("42 (bash)  1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345\n"),
        BAD("42 (bash) SS 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345\n"),
        BAD("42 (bash) S 1 42 42 0 -1 4194560 0 0\n"),
        BAD("42 (bash) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0\n"),
        BAD("42 (bash) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 "),
        BAD("42 (bash) S x 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345\n"),
        BAD("42 (bash) S -1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345\n"),
        BAD("42 (bash) S 2147483648 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345\n"),
        BAD("42 (bash) S 1 42 42 0 -1 0x400100 0 0 0 0 0 0 0 0 20 0 1 0 12345\n"),
        BAD("42 (bash) S 1 42 42 0 -1 -5 0 0 0 0 0 0 0 0 20 0 1 0 12345\n"),
        BAD("42 (bash) S 1 42 42 0 -1 4294967296 0 0 0 0 0 0 0 0 20 0 1 0 12345\n"),
        BAD("42 (bash) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12a45\n"),
        BAD("42 (bash) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 18446744073709551616\n"),
        BAD("42 (bash) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 -5\n"),
        BAD("42 (bash) S 1 42  42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345\n"),
        BAD("42 (bash) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 - 1 0 12345\n"),
        {BUF("42 (bash) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345\n\n"), 0, "bash", 42, 1, 'S',
         4194560, 12345},
        BAD("42 (bash) S 1 42 42 0\n-1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345\n"),
        /* A NUL in comm or in the fields. */
        BAD("42 (a\0b)" TAIL),
        BAD("42 (bash) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12\0" "345\n"),
};
/* clang-format on */

START_TEST(test_parse_stat) {
        TaskStat st;

        memset(&st, 0x5a, sizeof st);
        int r = procfs_parse_stat_buf(stat_cases[_i].buf, stat_cases[_i].len, &st);
        ck_assert_msg(r == stat_cases[_i].r, "case %d: r = %d, expected %d", _i, r, stat_cases[_i].r);
        if (r < 0) {
                /* Untouched on failure. */
                ck_assert_int_eq(st.pid, 0x5a5a5a5a);
                return;
        }
        ck_assert_str_eq(st.comm, stat_cases[_i].comm);
        ck_assert_int_eq(st.pid, stat_cases[_i].pid);
        ck_assert_int_eq(st.ppid, stat_cases[_i].ppid);
        ck_assert_int_eq(st.state, stat_cases[_i].state);
        ck_assert_uint_eq(st.flags, stat_cases[_i].flags);
        ck_assert(st.starttime == stat_cases[_i].starttime);
}
END_TEST

START_TEST(test_parse_stat_num_threads) {
        TaskStat st;

        ck_assert_int_eq(
                procfs_parse_stat_buf(STR("42 (qemu) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 17 0 "
                                          "12345\n"),
                                      &st),
                0);
        ck_assert_uint_eq(st.num_threads, 17);
        ck_assert_int_eq(
                procfs_parse_stat_buf(STR("42 (bash) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 -1 0 "
                                          "12345\n"),
                                      &st),
                -EBADMSG);
}
END_TEST

START_TEST(test_parse_stat_respects_len) {
        static const char line[] = "42 (bash) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345 99999";
        TaskStat st;

        /* Cut right after starttime: the rest of the buffer is not read. */
        ck_assert_int_eq(procfs_parse_stat_buf(line, strlen(line) - 6, &st), 0);
        ck_assert(st.starttime == 12345);
        /* Cut inside starttime: a shorter number, still well-formed. */
        ck_assert_int_eq(procfs_parse_stat_buf(line, strlen(line) - 8, &st), 0);
        ck_assert(st.starttime == 123);
        /* Cut before the ')' that closes comm. */
        ck_assert_int_eq(procfs_parse_stat_buf(line, 8, &st), -EBADMSG);
}
END_TEST

START_TEST(test_kthread_flag) {
        /* clang-format off */
        static const struct {
                const char *line;
                bool kthread;
        } t[] = {
                {"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 25\n", true},
                {"12 (kworker/0:1-events) I 2 0 0 0 -1 69238880 0 0 0 0 0 0 0 0 20 0 1 0 25\n", true},
                {"1 (systemd) S 0 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 20\n", false},
                /* A user process that names itself after a kernel thread. */
                {"500 (kworker/0:1) S 1 500 500 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 20\n", false},
        };
        /* clang-format on */
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                TaskStat st;
                ck_assert_int_eq(procfs_parse_stat_buf(t[i].line, strlen(t[i].line), &st), 0);
                ck_assert_msg(!!(st.flags & PROC_PF_KTHREAD) == t[i].kthread, "%s", t[i].line);
        }
}
END_TEST

START_TEST(test_parse_status_uid) {
        /* clang-format off */
        static const struct {
                const char *buf;
                int r;
                uid_t uid;
        } t[] = {
                {"Name:\tbash\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1000\t1001\t1002\t1003\nGid:\t5\t5\t5\t5\n",
                 0, 1000},
                {"Uid:\t0\t0\t0\t0\n", 0, 0},
                {"Uid: 65534 65534 65534 65534", 0, 65534},
                {"Uid:\t4294967294\t0\t0\t0\n", 0, 4294967294u},
                /* Only a line that starts with "Uid:" counts (status escapes
                 * the newline in a comm, but be strict anyway). */
                {"Name:\tUid:\t5\nRealUid:\t6\nUid:\t7\t7\t7\t7\n", 0, 7},
                {"Name:\tbash\nGid:\t0\n", -EBADMSG, 0},
                {"", -EBADMSG, 0},
                {"Uid:", -EBADMSG, 0},
                {"Uid:\t\n", -EBADMSG, 0},
                {"Uid:\tabc\t0\n", -EBADMSG, 0},
                {"Uid:\t12x\t0\n", -EBADMSG, 0},
                {"Uid:\t-1\t0\n", -EBADMSG, 0},
                {"Uid:\t4294967295\t0\n", -EBADMSG, 0},
                {"Uid:\t99999999999999999999\t0\n", -EBADMSG, 0},
        };
        /* clang-format on */
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                uid_t uid = 4242;
                int r = procfs_parse_status_uid_buf(t[i].buf, &uid);
                ck_assert_msg(r == t[i].r, "case %zu: r = %d", i, r);
                ck_assert_uint_eq(uid, r == 0 ? t[i].uid : 4242);
        }
}
END_TEST

START_TEST(test_parse_status_ids) {
        static const char st[] = "Name:\tTgid: 9\nTgid:\t4242\nPid:\t4250\nUid:\t1000\t1001\t1002\t1003\n"
                                 "Gid:\t5\t6\t7\t8\nGroups:\t4 24 27 100 \nNSpid:\t4250\n";
        uint32_t ids[4];
        size_t n;

        ck_assert_int_eq(procfs_parse_status_ids(st, "Tgid", ids, 4, &n), 0); /* the line, not the name */
        ck_assert_uint_eq(n, 1);
        ck_assert_uint_eq(ids[0], 4242);
        ck_assert_int_eq(procfs_parse_status_ids(st, "Gid", ids, 4, &n), 0);
        ck_assert_uint_eq(n, 4);
        ck_assert_uint_eq(ids[0], 5);
        ck_assert_uint_eq(ids[3], 8);
        ck_assert_int_eq(procfs_parse_status_ids(st, "Uid", ids, 2, &n), 0); /* at most max */
        ck_assert_uint_eq(n, 2);
        ck_assert_uint_eq(ids[1], 1001);
        ck_assert_int_eq(procfs_parse_status_ids(st, "Ppid", ids, 4, &n), -ENOENT);
        ck_assert_int_eq(procfs_parse_status_ids(st, "Gi", ids, 4, &n), -ENOENT); /* whole key */
        ck_assert_int_eq(procfs_parse_status_ids("Tgid:\t12x\n", "Tgid", ids, 4, &n), -EBADMSG);
        ck_assert_int_eq(procfs_parse_status_ids("Tgid:\t4294967295\n", "Tgid", ids, 4, &n), -EBADMSG);
        ck_assert_int_eq(procfs_parse_status_ids("Groups:\n", "Groups", ids, 4, &n), 0);
        ck_assert_uint_eq(n, 0);

        ck_assert(procfs_status_has_id(st, "Groups", 27));
        ck_assert(procfs_status_has_id(st, "Groups", 100));
        ck_assert(!procfs_status_has_id(st, "Groups", 2));
        ck_assert(!procfs_status_has_id(st, "Groups", 1000));                /* Uid's, not a group */
        ck_assert(!procfs_status_has_id("Groups:\t4 x 27\n", "Groups", 27)); /* malformed: no */
        ck_assert(!procfs_status_has_id("Name:\tx\n", "Groups", 0));
}
END_TEST

START_TEST(test_parse_cmdline) {
        /* clang-format off */
        static const struct {
                const char *buf;
                size_t len;
                const char *out;
        } t[] = {
                {BUF("/bin/sh\0-c\0echo hi\0"), "/bin/sh -c echo hi"},
                {BUF(""), ""},
                {BUF("\0"), ""},
                {BUF("\0\0\0"), ""},
                {BUF("a\0\0b\0"), "a  b"},
                {BUF("a\0b"), "a b"}, /* setproctitle(): no final NUL */
                {BUF("nginx: master process\0\0\0\0"), "nginx: master process"},
                {BUF("x\ny\0\xff\0"), "x\ny \xff"},
                {BUF("\0a\0"), " a"},
        };
        /* clang-format on */
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_(freep) char *s = NULL;
                ck_assert_int_eq(procfs_parse_cmdline_buf(t[i].buf, t[i].len, &s), 0);
                ck_assert_str_eq(s, t[i].out);
        }
}
END_TEST

START_TEST(test_parse_cmdline_cap) {
        _cleanup_(freep) char *big = malloc(PROCFS_CMDLINE_MAX * 2), *s = NULL;

        memset(big, 'a', PROCFS_CMDLINE_MAX * 2);
        big[10] = '\0';
        ck_assert_int_eq(procfs_parse_cmdline_buf(big, PROCFS_CMDLINE_MAX * 2, &s), 0);
        ck_assert_uint_eq(strlen(s), PROCFS_CMDLINE_MAX);
        ck_assert_int_eq(s[10], ' ');
}
END_TEST

START_TEST(test_read_fixture_stat) {
        /* clang-format off */
        static const struct {
                pid_t pid, tid;
                int r;
                const char *comm;
                pid_t ppid;
                bool kthread;
                uint64_t starttime;
        } t[] = {
                {1, 0, 0, "systemd", 0, false, 20},
                {1, 1, 0, "systemd", 0, false, 20},
                {2, 0, 0, "kthreadd", 0, true, 21},
                {12, 12, 0, "kworker/u8:0-events_unbound", 2, true, 25},
                {420, 0, 0, "qemu-system-x86", 1, false, 12345},
                {420, 421, 0, "CPU 0/KVM", 1, false, 12346},
                {420, 422, 0, "CPU 1/KVM", 1, false, 12347},
                {420, 425, 0, "worker", 1, false, 12348},
                {777, 777, 0, "a) b (c", 1, false, 23456},
                {777, 778, 0, "x\ny", 1, false, 23457},
                /* Gone, or not a thread of that process. */
                {99999, 0, -ESRCH, NULL, 0, false, 0},
                {420, 778, -ESRCH, NULL, 0, false, 0},
                {420, 99999, -ESRCH, NULL, 0, false, 0},
                {0, 0, -EINVAL, NULL, 0, false, 0},
                {-1, 0, -EINVAL, NULL, 0, false, 0},
                {420, -1, -EINVAL, NULL, 0, false, 0},
        };
        /* clang-format on */
        _cleanup_(closep) int procfd = open_proc("host-2cpu");

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                TaskStat st = {.pid = -7};
                int r = procfs_read_stat(procfd, t[i].pid, t[i].tid, &st);
                ck_assert_msg(r == t[i].r, "%d/%d: r = %d", t[i].pid, t[i].tid, r);
                if (r < 0) {
                        ck_assert_int_eq(st.pid, -7);
                        continue;
                }
                ck_assert_int_eq(st.pid, t[i].tid ? t[i].tid : t[i].pid);
                ck_assert_str_eq(st.comm, t[i].comm);
                ck_assert_int_eq(st.ppid, t[i].ppid);
                ck_assert_int_eq(!!(st.flags & PROC_PF_KTHREAD), t[i].kthread);
                ck_assert(st.starttime == t[i].starttime);
        }
}
END_TEST

START_TEST(test_read_fixture_facts) {
        _cleanup_(closep) int procfd = open_proc("host-2cpu");
        /* clang-format off */
        static const struct {
                pid_t pid;
                int r_uid;
                uid_t uid;
                int r_cmdline;
                const char *cmdline;
                int r_exe;
                const char *exe;
        } t[] = {
                {1, 0, 0, 0, "/sbin/init splash", 0, "/usr/lib/systemd/systemd"},
                {2, 0, 0, 0, "", -ENOENT, NULL},
                {12, 0, 0, 0, "", -ENOENT, NULL},
                {420, 0, 107, 0, "/usr/bin/qemu-system-x86_64 -name guest=vm1 -smp 2", 0,
                 "/usr/bin/qemu-system-x86_64"},
                {777, 0, 1000, 0, "./hostile a b", 0, "/home/user/hostile (deleted)"},
                {99999, -ESRCH, 0, -ESRCH, NULL, -ESRCH, NULL},
        };
        /* clang-format on */

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_(freep) char *cmdline = NULL, *exe = NULL;
                uid_t uid = 4242;

                ck_assert_int_eq(procfs_read_uid(procfd, t[i].pid, &uid), t[i].r_uid);
                ck_assert_uint_eq(uid, t[i].r_uid == 0 ? t[i].uid : 4242);
                ck_assert_int_eq(procfs_read_cmdline(procfd, t[i].pid, &cmdline), t[i].r_cmdline);
                if (t[i].cmdline)
                        ck_assert_str_eq(cmdline, t[i].cmdline);
                else
                        ck_assert_ptr_null(cmdline);
                ck_assert_int_eq(procfs_read_exe(procfd, t[i].pid, &exe), t[i].r_exe);
                if (t[i].exe)
                        ck_assert_str_eq(exe, t[i].exe);
                else
                        ck_assert_ptr_null(exe);
        }
}
END_TEST

START_TEST(test_read_fixture_comm) {
        _cleanup_(closep) int procfd = open_proc("host-2cpu");
        char buf[COMM_MAX + 2];

        ck_assert_int_eq(procfs_read_comm(procfd, 777, buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "a) b (c");
        ck_assert_int_eq(procfs_read_comm(procfd, 420, buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "qemu-system-x86");
        ck_assert_int_eq(procfs_read_comm(procfd, 999999, buf, sizeof buf), -ESRCH);
        /* A buffer too small for the name is a malformed read, never a cut name. */
        ck_assert_int_eq(procfs_read_comm(procfd, 420, buf, 8), -EBADMSG);
}
END_TEST

START_TEST(test_read_fixture_cgroup) {
        _cleanup_(closep) int procfd = open_proc("host-2cpu");
        _cleanup_(freep) char *p = NULL, *t = NULL, *gone = NULL;

        ck_assert_int_eq(procfs_read_cgroup(procfd, 420, 0, &p), 0);
        ck_assert_ptr_nonnull(strstr(p, "\n3:cpuset:/pinned\n"));
        ck_assert(strncmp(p, "9:name=systemd:/machine.slice/vm1.scope\n", 40) == 0);
        ck_assert_int_eq(procfs_read_cgroup(procfd, 420, 421, &t), 0);
        ck_assert_str_eq(p, t);
        ck_assert_int_eq(procfs_read_cgroup(procfd, 99999, 0, &gone), -ESRCH);
        ck_assert_int_eq(procfs_read_cgroup(procfd, 420, 778, &gone), -ESRCH);
        ck_assert_ptr_null(gone);
}
END_TEST

static void assert_pids(const pid_t *v, size_t n, const pid_t *expected, size_t n_expected) {
        ck_assert_uint_eq(n, n_expected);
        for (size_t i = 0; i < n; i++)
                ck_assert_int_eq(v[i], expected[i]);
}

START_TEST(test_list_fixture) {
        _cleanup_(closep) int procfd = open_proc("host-2cpu");
        _cleanup_(freep) pid_t *pids = NULL, *t420 = NULL, *t777 = NULL, *gone = NULL;
        size_t n = 0;
        static const pid_t e_pids[] = {1, 2, 12, 420, 777}, e_420[] = {420, 421, 422, 425},
                           e_777[] = {777, 778};

        /* "self" and "uptime" are skipped. */
        ck_assert_int_eq(procfs_list_pids(procfd, &pids, &n), 0);
        assert_pids(pids, n, e_pids, ELEMENTSOF(e_pids));
        ck_assert_int_eq(procfs_list_tids(procfd, 420, &t420, &n), 0);
        assert_pids(t420, n, e_420, ELEMENTSOF(e_420));
        ck_assert_int_eq(procfs_list_tids(procfd, 777, &t777, &n), 0);
        assert_pids(t777, n, e_777, ELEMENTSOF(e_777));
        n = 12345;
        ck_assert_int_eq(procfs_list_tids(procfd, 99999, &gone, &n), -ESRCH);
        ck_assert_ptr_null(gone);
        ck_assert_uint_eq(n, 12345);
        ck_assert_int_eq(procfs_list_tids(procfd, 0, &gone, &n), -EINVAL);
}
END_TEST

/* A directory in creation order that the filesystem returns hashed: the
 * listing must come back sorted, with only numeric directories. */
START_TEST(test_list_sorts_and_filters) {
        char tmpl[] = "/tmp/pinnerd-procfs-XXXXXX";
        char *dir = mkdtemp(tmpl);
        _cleanup_(closep) int fd = -1;
        _cleanup_(freep) pid_t *v = NULL;
        static const char *const junk[] = {"self", "thread-self", "12a", "a12", "-5", "99999999999", "0"};
        size_t n = 0;

        ck_assert_ptr_nonnull(dir);
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        for (int i = 300; i > 0; i--) {
                char name[16];
                snprintf(name, sizeof name, "%d", i * 7);
                ck_assert_int_eq(mkdirat(fd, name, 0755), 0);
        }
        for (size_t i = 0; i < ELEMENTSOF(junk); i++)
                ck_assert_int_eq(mkdirat(fd, junk[i], 0755), 0);
        /* A numeric regular file is not a task. */
        close(openat(fd, "77777", O_CREAT | O_WRONLY | O_CLOEXEC, 0644));

        ck_assert_int_eq(procfs_list_pids(fd, &v, &n), 0);
        ck_assert_uint_eq(n, 300);
        for (size_t i = 0; i < n; i++)
                ck_assert_int_eq(v[i], (pid_t) (i + 1) * 7);

        /* Clean up. */
        for (int i = 300; i > 0; i--) {
                char name[16];
                snprintf(name, sizeof name, "%d", i * 7);
                unlinkat(fd, name, AT_REMOVEDIR);
        }
        for (size_t i = 0; i < ELEMENTSOF(junk); i++)
                unlinkat(fd, junk[i], AT_REMOVEDIR);
        unlinkat(fd, "77777", 0);
        rmdir(dir);
}
END_TEST

/* The real /proc: this process, a zombie child, then the reaped child. */
START_TEST(test_real_proc) {
        _cleanup_(closep) int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_(freep) pid_t *pids = NULL, *tids = NULL;
        _cleanup_(freep) char *cmdline = NULL, *exe = NULL, *cg = NULL;
        char comm[64] = "";
        TaskStat st;
        uid_t uid;
        size_t n;
        pid_t self = getpid(), child;
        bool found = false;
        siginfo_t si;

        ck_assert_int_ge(procfd, 0);
        ck_assert_int_eq(procfs_read_stat(procfd, self, 0, &st), 0);
        ck_assert_int_eq(st.pid, self);
        ck_assert_int_eq(st.ppid, getppid());
        ck_assert(!(st.flags & PROC_PF_KTHREAD));
        ck_assert(st.starttime > 0);
        {
                _cleanup_(closep) int cfd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
                ssize_t k = read(cfd, comm, sizeof comm - 1);
                ck_assert_int_gt(k, 0);
                comm[k - 1] = '\0'; /* the newline */
        }
        ck_assert_str_eq(st.comm, comm);
        ck_assert_int_eq(procfs_read_uid(procfd, self, &uid), 0);
        ck_assert_uint_eq(uid, getuid());
        ck_assert_int_eq(procfs_read_cmdline(procfd, self, &cmdline), 0);
        ck_assert_int_gt(strlen(cmdline), 0);
        ck_assert_int_eq(procfs_read_exe(procfd, self, &exe), 0);
        ck_assert_int_eq(exe[0], '/');
        ck_assert_int_eq(procfs_read_cgroup(procfd, self, 0, &cg), 0);
        ck_assert_ptr_nonnull(strchr(cg, ':'));

        ck_assert_int_eq(procfs_list_pids(procfd, &pids, &n), 0);
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        ck_assert_int_lt(pids[i - 1], pids[i]);
                found |= pids[i] == self;
        }
        ck_assert(found);
        ck_assert_int_eq(procfs_list_tids(procfd, self, &tids, &n), 0);
        ck_assert_uint_ge(n, 1);
        ck_assert_int_eq(tids[0], self);

        child = fork();
        ck_assert_int_ge(child, 0);
        if (child == 0)
                _exit(0);
        /* Wait for the exit without reaping: a zombie. */
        ck_assert_int_eq(waitid(P_PID, (id_t) child, &si, WEXITED | WNOWAIT), 0);
        {
                _cleanup_(freep) char *zcmd = NULL, *zexe = NULL;
                ck_assert_int_eq(procfs_read_stat(procfd, child, 0, &st), 0);
                ck_assert_int_eq(st.state, 'Z');
                ck_assert_int_eq(st.ppid, self);
                ck_assert_int_eq(procfs_read_cmdline(procfd, child, &zcmd), 0);
                ck_assert_str_eq(zcmd, "");
                ck_assert_int_eq(procfs_read_exe(procfd, child, &zexe), -ENOENT);
        }
        ck_assert_int_eq(waitpid(child, NULL, 0), child);
        /* Reaped: every reader says "gone" the same way. */
        {
                _cleanup_(freep) char *gcmd = NULL, *gexe = NULL, *gcg = NULL;
                _cleanup_(freep) pid_t *gt = NULL;
                ck_assert_int_eq(procfs_read_stat(procfd, child, 0, &st), -ESRCH);
                ck_assert_int_eq(procfs_read_stat(procfd, child, child, &st), -ESRCH);
                ck_assert_int_eq(procfs_read_uid(procfd, child, &uid), -ESRCH);
                ck_assert_int_eq(procfs_read_cmdline(procfd, child, &gcmd), -ESRCH);
                ck_assert_int_eq(procfs_read_exe(procfd, child, &gexe), -ESRCH);
                ck_assert_int_eq(procfs_read_cgroup(procfd, child, 0, &gcg), -ESRCH);
                ck_assert_int_eq(procfs_list_tids(procfd, child, &gt, &n), -ESRCH);
        }
}
END_TEST

START_TEST(test_real_kthread) {
        _cleanup_(closep) int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_(freep) char *cmdline = NULL, *exe = NULL;
        TaskStat st;

        /* kthreadd is pid 2 outside containers; skip where it is not. */
        if (procfs_read_stat(procfd, 2, 0, &st) < 0 || strcmp(st.comm, "kthreadd") != 0)
                return;
        ck_assert(st.flags & PROC_PF_KTHREAD);
        ck_assert_int_eq(procfs_read_cmdline(procfd, 2, &cmdline), 0);
        ck_assert_str_eq(cmdline, "");
        ck_assert_int_eq(procfs_read_exe(procfd, 2, &exe), -ENOENT);
}
END_TEST

/* Declared for -Wmissing-prototypes; not at the start of a line, so the
 * Makefile's runner generator sees only the definition. */
extern Suite *procfs_suite(void);
Suite *procfs_suite(void) {
        Suite *s = suite_create("procfs");
        TCase *tc = tcase_create("procfs");

        tcase_add_loop_test(tc, test_parse_stat, 0, (int) ELEMENTSOF(stat_cases));
        tcase_add_test(tc, test_parse_stat_num_threads);
        tcase_add_test(tc, test_parse_stat_respects_len);
        tcase_add_test(tc, test_kthread_flag);
        tcase_add_test(tc, test_parse_status_uid);
        tcase_add_test(tc, test_parse_status_ids);
        tcase_add_test(tc, test_parse_cmdline);
        tcase_add_test(tc, test_parse_cmdline_cap);
        tcase_add_test(tc, test_read_fixture_stat);
        tcase_add_test(tc, test_read_fixture_facts);
        tcase_add_test(tc, test_read_fixture_comm);
        tcase_add_test(tc, test_read_fixture_cgroup);
        tcase_add_test(tc, test_list_fixture);
        tcase_add_test(tc, test_list_sorts_and_filters);
        tcase_add_test(tc, test_real_proc);
        tcase_add_test(tc, test_real_kthread);
        suite_add_tcase(s, tc);
        return s;
}
