/* SPDX-License-Identifier: MIT */
/* The state file (state.c) and the batch merge (intake.c): pure parts, and
 * the file's refusals of hostile contents and owners. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cpuset.h"
#include "core/intake.h"
#include "core/state.h"
#include "testutil.h"
#include "core/threads.h"
#include "lib/util.h"

static CpuSet *list(const char *text) {
        CpuSet *s = NULL;
        ck_assert_int_eq(cpuset_parse_list(text, &s, NULL), 0);
        return s;
}

static int parse(const char *text, StateEntries *e, char **err) {
        return state_parse_buf(text, strlen(text), e, err);
}

START_TEST(test_state_round_trip) {
        ThreadTable *t = thread_table_new();
        StateEntries e = {0};
        char *err = NULL, *text;
        size_t len;
        CpuSet *a = list("0-3,8"), *b = list("1");

        Thread *x = thread_table_put(t, 100, 100, 5000);
        Thread *y = thread_table_put(t, 100, 101, 5001);
        thread_table_put(t, 200, 200, 6000); /* no original: not written */
        Thread *z = thread_table_put(t, 300, 300, 7000);
        SchedPolicy pol = {.kind = POLICY_OTHER, .nice = -3};
        ck_assert_int_eq(thread_remember_original(x, a), 0);
        ck_assert_int_eq(thread_remember_original(y, b), 0);
        ck_assert_int_eq(thread_remember_policy(y, &pol), 0);
        ck_assert_int_eq(thread_remember_policy(z, &pol), 0); /* a policy only */
        text = state_format(t, NULL, 0, &len);
        ck_assert_ptr_nonnull(text);
        ck_assert_int_eq(state_parse_buf(text, len, &e, &err), 0);
        ck_assert_uint_eq(e.n, 3);
        for (size_t i = 0; i < e.n; i++) {
                if (e.v[i].tid == 100) {
                        ck_assert_int_eq(e.v[i].pid, 100);
                        ck_assert_uint_eq(e.v[i].start, 5000);
                        ck_assert(cpuset_equal(e.v[i].original, a));
                        ck_assert(!e.v[i].has_policy);
                } else if (e.v[i].tid == 101) {
                        ck_assert(cpuset_equal(e.v[i].original, b));
                        ck_assert(e.v[i].has_policy && policy_equal(&e.v[i].policy, &pol));
                } else {
                        ck_assert_int_eq(e.v[i].tid, 300);
                        ck_assert_ptr_null(e.v[i].original);
                        ck_assert(e.v[i].has_policy && policy_equal(&e.v[i].policy, &pol));
                }
        }
        state_entries_done(&e);
        free(text);
        cpuset_free(a);
        cpuset_free(b);
        thread_table_free(t);
}
END_TEST

START_TEST(test_state_hostile) {
        /* clang-format off */
        static const char *const bad[] = {
                "",
                "garbage\n",
                "pinnerd-state 3\nend 0\n",                      /* a version we do not know */
                "pinnerd-state 1\nend 0\nA T 1 2 1 0 -\n",          /* version 1 has no appended lines */
                "pinnerd-state 2\nA T 1 2 1 0 -\nend 0\n",          /* appended before the end */
                "pinnerd-state 2\nend 0\nA T 1 2 1 x -\n",          /* a malformed appended line */
                "pinnerd-state 2\nend 0\nA T 1 2 1 0 -\nT 3 4 3 0 -\n", /* an untagged line after the end */
                "pinnerd-state 2\nend 0\nB T 1 2 1 0 -\n",          /* an unknown tag */
                "pinnerd-state 1\n",                              /* no end line: truncated */
                "pinnerd-state 1\nT 1 2 1 0-1 -\n",                 /* truncated after an entry */
                "pinnerd-state 1\nT 1 2 1 0-1 -\nend 2\n",          /* count mismatch */
                "pinnerd-state 1\nT 1 2 1 0-1 -\nend 1",            /* no final newline */
                "pinnerd-state 1\nT 1 2 1 0-1 -\nend 1\nT 3 4 3 0 -\n", /* after the end */
                "pinnerd-state 1\nT 0 2 1 0-1 -\nend 1\n",          /* tid 0 */
                "pinnerd-state 1\nT -1 2 1 0-1 -\nend 1\n",
                "pinnerd-state 1\nT 1 2 0 0-1 -\nend 1\n",          /* pid 0 */
                "pinnerd-state 1\nT 3000000000 2 1 0-1 -\nend 1\n", /* tid past pid_t */
                "pinnerd-state 1\nT 1 99999999999999999999 1 0-1 -\nend 1\n", /* overflow */
                "pinnerd-state 1\nT 1 2 1 x -\nend 1\n",            /* bad cpulist */
                "pinnerd-state 1\nT 1 2 1  -\nend 1\n",          /* empty cpulist */
                "pinnerd-state 1\nT 1 2 1 - -\nend 1\n",          /* neither */
                "pinnerd-state 1\nT 1 2 1 - fifo:0\nend 1\n",     /* bad policy */
                "pinnerd-state 1\nT 1 2 1 0 fifo:1 x\nend 1\n",   /* a sixth field */
                "pinnerd-state 1\nT 1 2 1 0-1 extra\nend 1\n",
                "pinnerd-state 1\nT 1  2 1 0-1 -\nend 1\n",         /* double space */
                "pinnerd-state 1\nX 1 2 1 0-1\nend 1\n",
                "pinnerd-state 1\nend x\n",
        };
        /* clang-format on */
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                StateEntries e = {0};
                char *err = NULL;
                ck_assert_msg(parse(bad[i], &e, &err) == -EBADMSG, "accepted case %zu", i);
                ck_assert_msg(err != NULL, "no reason for case %zu", i);
                ck_assert_uint_eq(e.n, 0);
                free(err);
        }
        /* A NUL byte inside. */
        static const char nul[] = "pinnerd-state 1\nT 1 2 1 0\0\nend 1\n";
        StateEntries e = {0};
        char *err = NULL;
        ck_assert_int_eq(state_parse_buf(nul, sizeof nul - 1, &e, &err), -EBADMSG);
        free(err);
}
END_TEST

/* IRQ, default_smp_affinity and workqueue originals beside the threads'. */
START_TEST(test_state_kernel_entries) {
        ThreadTable *t = thread_table_new();
        CpuSet *a = list("0-3"), *b = list("0-2,8"), *c = list("1");
        char wq_odd[] = "odd name\\x";
        StateKernelEntry k[] = {
                {.kind = 'D', .original = a},
                {.kind = 'I', .irq = 38, .original = b},
                {.kind = 'I', .irq = 0, .original = c},
                {.kind = 'W', .name = (char *) "*", .original = a},
                {.kind = 'W', .name = (char *) "writeback", .original = c},
                {.kind = 'W', .name = wq_odd, .original = b},
        };
        StateEntries e = {0};
        char *err = NULL, *text;
        size_t len;

        thread_remember_original(thread_table_put(t, 100, 100, 5000), c);
        text = state_format(t, k, ELEMENTSOF(k), &len);
        ck_assert_ptr_nonnull(text);
        ck_assert_msg(strstr(text, "\nD 0-3\nI 38 0-2,8\nI 0 1\nW * 0-3\nW writeback 1\n"
                                   "W odd\\x20name\\x5cx 0-2,8\nend 7\n"),
                      "%s", text);
        ck_assert_int_eq(state_parse_buf(text, len, &e, &err), 0);
        ck_assert_uint_eq(e.n, 1);
        ck_assert_uint_eq(e.n_k, ELEMENTSOF(k));
        for (size_t i = 0; i < e.n_k; i++) {
                ck_assert_int_eq(e.k[i].kind, k[i].kind);
                ck_assert_uint_eq(e.k[i].irq, k[i].irq);
                ck_assert(cpuset_equal(e.k[i].original, k[i].original));
                if (k[i].name)
                        ck_assert_str_eq(e.k[i].name, k[i].name);
                else
                        ck_assert_ptr_null(e.k[i].name);
        }
        state_entries_done(&e);
        free(text);

        /* clang-format off */
        static const char *const bad[] = {
                "pinnerd-state 1\nI 38 0-1\nend 0\n",          /* not counted */
                "pinnerd-state 2\nend 0\nA I 38 0-1\n",       /* never appended */
                "pinnerd-state 2\nend 0\nI 38 0-1\n",
                "pinnerd-state 1\nI 38\nend 1\n",
                "pinnerd-state 1\nI x 0-1\nend 1\n",
                "pinnerd-state 1\nI -1 0-1\nend 1\n",
                "pinnerd-state 1\nI 9999999 0-1\nend 1\n",     /* past any IRQ */
                "pinnerd-state 1\nI 38 \nend 1\n",
                "pinnerd-state 1\nI 38 0-1 x\nend 1\n",
                "pinnerd-state 1\nI 38 0x3\nend 1\n",
                "pinnerd-state 1\nD\nend 1\n",
                "pinnerd-state 1\nD \nend 1\n",
                "pinnerd-state 1\nD 0-1 2\nend 1\n",
                "pinnerd-state 1\nW 0-1\nend 1\n",
                "pinnerd-state 1\nW  0-1\nend 1\n",
                "pinnerd-state 1\nW a\\x0 0-1\nend 1\n",     /* a cut escape */
                "pinnerd-state 1\nW a\\x00 0-1\nend 1\n",    /* NUL */
                "pinnerd-state 1\nW a\\q1 0-1\nend 1\n",
                "pinnerd-state 1\nW writeback x\nend 1\n",
                "pinnerd-state 1\nI 1 0\nI 2 0\nend 1\n",
        };
        /* clang-format on */
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                err = NULL;
                ck_assert_msg(parse(bad[i], &e, &err) == -EBADMSG, "accepted case %zu", i);
                free(err);
        }
        /* A file of an older pinnerd (only T lines) still loads. */
        ck_assert_int_eq(parse("pinnerd-state 1\nT 1 2 1 0-1 -\nend 1\n", &e, &err), 0);
        ck_assert_uint_eq(e.n_k, 0);
        state_entries_done(&e);
        cpuset_free(a);
        cpuset_free(b);
        cpuset_free(c);
        thread_table_free(t);
}
END_TEST

/* Lines appended after a snapshot: newer than it, applied in order; a last
 * line cut short by a crash is ignored. */
START_TEST(test_state_appended) {
        static const char text[] = "pinnerd-state 2\n"
                                   "T 10 100 10 0-3 -\n"
                                   "T 11 110 10 0-3 -\n"
                                   "end 2\n"
                                   "A T 12 120 10 0-1 -\n"          /* a new thread */
                                   "A T 12 120 10 - fifo:2\n"       /* its policy, later */
                                   "A T 11 999 11 2 -\n"            /* tid 11 recycled: replaced */
                                   "A T 10 100 10 - other:nice=3\n" /* a policy for a snapshot entry */
                                   "A T 13 130 1";                  /* cut by a crash */
        StateEntries e = {0};
        char *err = NULL;
        SchedPolicy fifo2, nice3;

        ck_assert_int_eq(policy_parse("fifo:2", &fifo2), 0);
        ck_assert_int_eq(policy_parse("other:nice=3", &nice3), 0);
        ck_assert_int_eq(state_parse_buf(text, sizeof text - 1, &e, &err), 0);
        ck_assert_uint_eq(e.n, 3);
        ck_assert_int_eq(e.v[0].tid, 10);
        char *l0 = cpuset_format_list(e.v[0].original);
        ck_assert_str_eq(l0, "0-3");
        free(l0);
        ck_assert(e.v[0].has_policy && policy_equal(&e.v[0].policy, &nice3));
        ck_assert_int_eq(e.v[1].tid, 11);
        ck_assert_uint_eq(e.v[1].start, 999);
        ck_assert_int_eq(e.v[1].pid, 11);
        ck_assert_int_eq(e.v[2].tid, 12);
        ck_assert(e.v[2].has_policy && policy_equal(&e.v[2].policy, &fifo2));
        ck_assert_ptr_nonnull(e.v[2].original);
        state_entries_done(&e);
        /* Version 1, as earlier pinnerds wrote it, is still read. */
        static const char v1[] = "pinnerd-state 1\nT 1 2 1 0-1 -\nend 1\n";
        ck_assert_int_eq(state_parse_buf(v1, sizeof v1 - 1, &e, &err), 0);
        ck_assert_uint_eq(e.n, 1);
        state_entries_done(&e);
}
END_TEST

/* The file itself: missing is fine, foreign or loose or a symlink is not. */
START_TEST(test_state_file_checks) {
        char dir[] = "/tmp/pinnerd-state.XXXXXX", sock[128], path[160], *err = NULL;
        StateDir s, other;
        StateEntries e = {0};
        ThreadTable *t = thread_table_new();

        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(sock, sizeof sock, "%s/run/control", dir);
        snprintf(path, sizeof path, "%s/run/state", dir);
        /* The parent is created; but only one level, as the socket's own. */
        char run[160];
        snprintf(run, sizeof run, "%s/run", dir);
        ck_assert_int_eq(state_dir_open(&s, sock, &err), 0);
        ck_assert_int_eq(state_lock(&s, &err), 0);
        /* A second instance cannot take the lock. */
        ck_assert_int_eq(state_dir_open(&other, sock, &err), 0);
        ck_assert_int_eq(state_lock(&other, &err), -EBUSY);
        ck_assert_ptr_nonnull(strstr(err, "another pinnerd"));
        free(err);
        err = NULL;
        state_dir_close(&other);

        ck_assert_int_eq(state_load(&s, &e, &err), 0); /* none yet */
        ck_assert_uint_eq(e.n, 0);
        Thread *th = thread_table_put(t, 7, 7, 70);
        CpuSet *a = list("0");
        ck_assert_int_eq(thread_remember_original(th, a), 0);
        ck_assert_int_eq(state_save(&s, t, NULL, 0, &err), 0);
        struct stat st;
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_int_eq(st.st_mode & 0777, 0600);
        ck_assert_int_eq(state_load(&s, &e, &err), 0);
        ck_assert_uint_eq(e.n, 1);
        state_entries_done(&e);

        /* Writable by others: refused. */
        ck_assert_int_eq(chmod(path, 0666), 0);
        ck_assert_int_eq(state_load(&s, &e, &err), -EPERM);
        ck_assert_ptr_nonnull(strstr(err, "mode"));
        free(err);
        err = NULL;
        /* Not ours. */
        if (geteuid() == 0) {
                ck_assert_int_eq(chmod(path, 0600), 0);
                ck_assert_int_eq(chown(path, 65534, 65534), 0);
                ck_assert_int_eq(state_load(&s, &e, &err), -EPERM);
                free(err);
                err = NULL;
        }
        /* A symlink in its place is not followed. */
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(symlink("/etc/passwd", path), 0);
        ck_assert_int_lt(state_load(&s, &e, &err), 0);
        ck_assert_ptr_nonnull(strstr(err, "symbolic link"));
        free(err);
        err = NULL;
        /* Saving replaces the link, never writes through it. */
        ck_assert_int_eq(state_save(&s, t, NULL, 0, &err), 0);
        ck_assert_int_eq(lstat(path, &st), 0);
        ck_assert(S_ISREG(st.st_mode));
        /* A directory in its place. */
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(mkdir(path, 0700), 0);
        ck_assert_int_lt(state_load(&s, &e, &err), 0);
        free(err);
        err = NULL;
        ck_assert_int_eq(rmdir(path), 0);

        state_dir_close(&s);
        cpuset_free(a);
        thread_table_free(t);
        char cmd[200];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static CnEvent ev(CnEventType type, pid_t pid, pid_t tgid) {
        return (CnEvent){.type = type, .pid = pid, .tgid = tgid};
}

START_TEST(test_intake_merge) {
        CnEvent e[] = {
                ev(CN_EV_FORK, 10, 10),  /* new process */
                ev(CN_EV_FORK, 11, 10),  /* its thread */
                ev(CN_EV_COMM, 11, 10),  /* renamed */
                ev(CN_EV_EXIT, 12, 12),  /* an exit ... */
                ev(CN_EV_FORK, 12, 12),  /* ... and its tid recycled */
                ev(CN_EV_FORK, 13, 13),  /* a fork ... */
                ev(CN_EV_EXIT, 13, 13),  /* ... that exited: only the exit stays */
                ev(CN_EV_EXEC, 20, 20),  /* an exec */
                ev(CN_EV_OTHER, 21, 21), /* ignored */
                ev(CN_EV_COMM, 20, 20),  /* leader renamed: the process */
                ev(CN_EV_UID, 31, 30),   /* a worker's threads change user: ... */
                ev(CN_EV_UID, 30, 30),   /* ... one item, for the process */
        };
        WorkItem w[ELEMENTSOF(e)];
        size_t n = intake_merge(e, ELEMENTSOF(e), w);

        ck_assert_uint_eq(n, 6);
        ck_assert_int_eq(w[0].tid, 10);
        ck_assert_uint_eq(w[0].want, WANT_PROCESS);
        ck_assert_int_eq(w[1].tid, 11);
        ck_assert_uint_eq(w[1].want, WANT_THREAD | WANT_NEW);
        ck_assert_int_eq(w[1].pid, 10);
        ck_assert_int_eq(w[2].tid, 12);
        ck_assert_uint_eq(w[2].want, WANT_GONE | WANT_PROCESS);
        ck_assert_int_eq(w[3].tid, 13);
        ck_assert_uint_eq(w[3].want, WANT_GONE);
        ck_assert_int_eq(w[4].tid, 20);
        ck_assert_uint_eq(w[4].want, WANT_PROCESS | WANT_EXEC);
        ck_assert_int_eq(w[5].tid, 30);
        ck_assert_int_eq(w[5].pid, 30);
        ck_assert_uint_eq(w[5].want, WANT_CREDS);
        ck_assert_uint_eq(intake_merge(e, 0, w), 0);
}
END_TEST

/* A thread created by a pinned thread carries pinnerd's mask: its original is
 * the pinned sibling's original, not that mask. */
START_TEST(test_true_original) {
        ThreadTable *t = thread_table_new();
        CpuSet *orig = list("0-1"), *pinned = list("1"), *own = list("0");
        Thread *leader = thread_table_put(t, 50, 50, 1);

        ck_assert_int_eq(thread_remember_original(leader, orig), 0);
        leader->applied = cpuset_dup(pinned);
        ck_assert(cpuset_equal(thread_table_true_original(t, 50, 0, pinned), orig));
        /* Its own mask: its own. */
        ck_assert_ptr_eq(thread_table_true_original(t, 50, 0, own), own);
        /* Another process: not inherited... */
        ck_assert_ptr_eq(thread_table_true_original(t, 51, 0, pinned), pinned);
        /* ... unless the pinned thread forked it: a pre-fork server's worker. */
        ck_assert(cpuset_equal(thread_table_true_original(t, 51, 50, pinned), orig));
        ck_assert_ptr_eq(thread_table_true_original(t, 51, 50, own), own);
        ck_assert_ptr_eq(thread_table_true_original(t, 51, 77, pinned), pinned);
        /* The first original stays. */
        ck_assert_int_eq(thread_remember_original(leader, own), 0);
        ck_assert(cpuset_equal(leader->original, orig));
        /* Per-process chains survive removals in any order. */
        thread_table_put(t, 50, 52, 2);
        thread_table_put(t, 50, 53, 3);
        thread_table_remove(t, 52);
        size_t k = 0;
        for (Thread *th = thread_table_first_of(t, 50); th; th = th->pid_next)
                k++;
        ck_assert_uint_eq(k, 2);
        thread_table_remove(t, 50);
        thread_table_remove(t, 53);
        ck_assert(!thread_table_has_pid(t, 50));
        cpuset_free(orig);
        cpuset_free(pinned);
        cpuset_free(own);
        thread_table_free(t);
}
END_TEST

extern Suite *state_suite(void);
Suite *state_suite(void) {
        Suite *s = suite_create("state");
        TCase *tc = tcase_create("state");
        tcase_add_test(tc, test_state_round_trip);
        tcase_add_test(tc, test_state_hostile);
        tcase_add_test(tc, test_state_kernel_entries);
        tcase_add_test(tc, test_state_appended);
        tcase_add_test(tc, test_state_file_checks);
        tcase_add_test(tc, test_intake_merge);
        tcase_add_test(tc, test_true_original);
        suite_add_tcase(s, tc);
        return s;
}
