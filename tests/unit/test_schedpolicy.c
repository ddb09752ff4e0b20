/* SPDX-License-Identifier: MIT */
/* schedpolicy.c: the text form (journal, state file, list) and the syscalls
 * on the test's own thread. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kernel/procfs.h"
#include "kernel/schedpolicy.h"
#include "testutil.h"
#include "lib/util.h"

START_TEST(test_policy_text_round_trip) {
        static const char *const good[] = {"fifo:1",         "fifo:99",       "rr:50", "other:nice=0",
                                           "other:nice=-20", "batch:nice=19", "idle"};
        static const char *const bad[] = {"",
                                          "fifo",
                                          "fifo:0",
                                          "fifo:100",
                                          "fifo:01",
                                          "fifo:-1",
                                          "fifo:1x",
                                          "rr:",
                                          "other",
                                          "other:nice=",
                                          "other:5",
                                          "other:nice=20",
                                          "other:nice=-21",
                                          "idle:1",
                                          "deadline",
                                          "FIFO:1",
                                          "fifo:1:2",
                                          "other:nice=1 ",
                                          ":1"};
        char buf[32];

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                SchedPolicy p;
                ck_assert_msg(policy_parse(good[i], &p) == 0, "rejected '%s'", good[i]);
                ck_assert_int_eq(policy_format(&p, buf, sizeof buf), 0);
                ck_assert_str_eq(buf, good[i]);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                SchedPolicy p;
                ck_assert_msg(policy_parse(bad[i], &p) == -EINVAL, "accepted '%s'", bad[i]);
        }
        SchedPolicy p = {.kind = POLICY_FIFO, .rtprio = 1};
        ck_assert_int_eq(policy_format(&p, buf, 3), -ENOBUFS);
}
END_TEST

/* On the test's own thread: read, set idle (allowed without privilege),
 * read back, and the unchanged case writes nothing. */
START_TEST(test_policy_apply_self) {
        int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        pid_t tid = (pid_t) syscall(SYS_gettid);
        SchedPolicy orig, now, prev, want = {.kind = POLICY_BATCH, .nice = 5};
        Affinity a = {.procfd = procfd};
        TaskStat st;
        int err;

        ck_assert_int_ge(procfd, 0);
        ck_assert_int_eq(policy_get(tid, &orig), 0);
        ck_assert_int_eq(procfs_read_stat(procfd, getpid(), tid, &st), 0);
        /* A wrong start time is a recycled tid: nothing is written. */
        ck_assert_int_eq(policy_apply(&a, getpid(), tid, st.starttime + 1, &want, &prev, &err), AFF_RECYCLED);
        ck_assert_int_eq(policy_get(tid, &now), 0);
        ck_assert(policy_equal(&now, &orig));
        ck_assert_int_eq(policy_apply(&a, getpid(), tid, st.starttime, &want, &prev, &err), AFF_SET);
        ck_assert(policy_equal(&prev, &orig));
        ck_assert_int_eq(policy_get(tid, &now), 0);
        ck_assert(policy_equal(&now, &want));
        ck_assert_int_eq(policy_apply(&a, getpid(), tid, st.starttime, &want, &prev, &err), AFF_UNCHANGED);
        /* Back (lowering nice needs CAP_SYS_NICE: only as root). */
        if (geteuid() == 0)
                ck_assert_int_eq(policy_apply(&a, getpid(), tid, st.starttime, &orig, &prev, &err), AFF_SET);
        /* A tid that does not exist. */
        ck_assert_int_eq(policy_get(0x7ffffff0, &now), -ESRCH);
        close(procfd);
}
END_TEST

extern Suite *schedpolicy_suite(void);
Suite *schedpolicy_suite(void) {
        Suite *s = suite_create("schedpolicy");
        TCase *tc = tcase_create("schedpolicy");
        tcase_add_test(tc, test_policy_text_round_trip);
        tcase_add_test(tc, test_policy_apply_self);
        suite_add_tcase(s, tc);
        return s;
}
