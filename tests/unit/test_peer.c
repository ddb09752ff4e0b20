/* SPDX-License-Identifier: MIT */
/* ctl/peer.c: what an unprivileged peer may see, decided the way the kernel
 * decides it for its own /proc. */
#include <check.h>
#include <string.h>

#include "ctl/peer.h"
#include "lib/util.h"

static const char *const mi_plain =
        "22 1 0:5 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n";
static const char *const mi_invisible =
        "22 1 0:5 / /proc rw,nosuid shared:12 - proc proc rw,hidepid=invisible,gid=27\n";
/* A sandbox: the host's proc below, its own stacked on top. */
static const char *const mi_stacked = "22 1 0:5 / /proc rw - proc proc rw\n"
                                      "30 22 0:40 / /proc/sys ro - proc proc rw\n"
                                      "41 22 0:44 / /proc rw - proc proc rw,hidepid=2,subset=pid\n";
static const char *const mi_none = "25 1 254:0 / / rw - ext4 /dev/vda rw\n";
static const char *const mi_elsewhere = "26 1 0:5 / /mnt/proc rw - proc proc rw,hidepid=off\n";

START_TEST(test_proc_mount) {
        PeerProcMount m;
        peer_parse_proc_mount(mi_plain, &m);
        ck_assert(m.found);
        ck_assert_int_eq(m.hidepid, PEER_HIDEPID_OFF);
        peer_parse_proc_mount(mi_invisible, &m);
        ck_assert(m.found && m.hidepid == PEER_HIDEPID_INVISIBLE && m.has_gid && m.gid == 27);
        peer_parse_proc_mount(mi_stacked, &m);
        ck_assert(m.found && m.hidepid == PEER_HIDEPID_INVISIBLE && !m.has_gid);
        peer_parse_proc_mount(mi_none, &m);
        ck_assert(!m.found);
        peer_parse_proc_mount(mi_elsewhere, &m);
        ck_assert(!m.found);
        peer_parse_proc_mount("22 1 0:5 / /proc rw - proc proc rw,hidepid=ptraceable\n", &m);
        ck_assert_int_eq(m.hidepid, PEER_HIDEPID_PTRACEABLE);
        peer_parse_proc_mount("22 1 0:5 / /proc rw - proc proc rw,hidepid=1\n", &m);
        ck_assert_int_eq(m.hidepid, PEER_HIDEPID_NOACCESS);
        /* Something we do not know: the strictest reading. */
        peer_parse_proc_mount("22 1 0:5 / /proc rw - proc proc rw,hidepid=someday\n", &m);
        ck_assert_int_eq(m.hidepid, PEER_HIDEPID_INVISIBLE);
        /* Garbage never crashes and finds nothing. */
        peer_parse_proc_mount("/proc - proc\n\n - \n22 1 /proc\n", &m);
        ck_assert(!m.found);
}
END_TEST

static const struct {
        const char *status;
        uid_t owner;
        bool readable;
        const char *what;
} ptrace_cases[] = {
        {"Tgid:\t500\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n", 1000, true,
         "its own user's"},
        {"Tgid:\t500\nUid:\t1000\t1000\t0\t1000\nGid:\t1000\t1000\t1000\t1000\n", 1000, false,
         "a saved uid of root"},
        {"Tgid:\t500\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t50\t1000\t50\n", 1000, false, "another gid"},
        {"Tgid:\t500\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n", 0, false,
         "not dumpable (ssh-agent)"},
        {"Tgid:\t500\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n", 0, false, "root's"},
        {"Tgid:\t77\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n", 0, true, "the peer's own process"},
        {"garbage", 1000, false, "an unreadable status"},
};

START_TEST(test_ptrace_readable) {
        PeerCreds c = {.pid = 77, .uid = 1000, .gid = 1000, .view_known = true, .same_pidns = true};
        ck_assert_msg(peer_ptrace_readable_buf(&c, 500, ptrace_cases[_i].status, ptrace_cases[_i].owner) ==
                              ptrace_cases[_i].readable,
                      "%s", ptrace_cases[_i].what);
        PeerCreds root = {.root = true};
        ck_assert(peer_ptrace_readable_buf(&root, 500, ptrace_cases[_i].status, ptrace_cases[_i].owner));
}
END_TEST

/* Without a known view, another pid namespace or no /proc: nothing. */
START_TEST(test_nothing_without_a_view) {
        PeerCreds c = {.pid = 77, .uid = 1000, .gid = 1000};
        PeerView v;
        peer_view_init(&v, -1, &c);
        ck_assert(!peer_may_see(&v, 1));
        c.view_known = true;
        c.same_pidns = true;
        ck_assert(!peer_may_see(&v, 1)); /* no proc at its /proc */
        c.proc.found = true;
        ck_assert(peer_may_see(&v, 1)); /* hidepid off: everything */
        c.same_pidns = false;
        ck_assert(!peer_may_see(&v, 1));
        c.same_pidns = true;
        c.proc.hidepid = PEER_HIDEPID_INVISIBLE;
        c.proc.has_gid = true;
        c.proc.gid = 27;
        c.groups[0] = 27;
        c.n_groups = 1;
        ck_assert(peer_may_see(&v, 1)); /* in the gid= group */
}
END_TEST

Suite *peer_suite(void) {
        Suite *s = suite_create("peer");
        TCase *tc = tcase_create("view");
        tcase_add_test(tc, test_proc_mount);
        tcase_add_loop_test(tc, test_ptrace_readable, 0, (int) ELEMENTSOF(ptrace_cases));
        tcase_add_test(tc, test_nothing_without_a_view);
        suite_add_tcase(s, tc);
        return s;
}
