/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/host.h"
#include "kernel/procfs.h"
#include "testutil.h"
#include "lib/util.h"

static Host *load(const char *fixture) {
        Host *h = NULL;
        _cleanup_(freep) char *error = NULL;
        int r = host_load(fixture_path(fixture), &h, &error);
        ck_assert_msg(r == 0, "host_load(%s) = %d: %s", fixture, r, error ? error : "(no message)");
        ck_assert_ptr_null(error);
        return h;
}

static void assert_set(const CpuSet *s, const char *expected) {
        _cleanup_(freep) char *f = NULL;
        ck_assert_ptr_nonnull(s);
        f = cpuset_format_list(s);
        ck_assert_str_eq(f, expected);
}

static void assert_str_or_null(const char *got, const char *expected) {
        if (expected) {
                ck_assert_msg(got != NULL, "expected \"%s\", got NULL", expected);
                ck_assert_str_eq(got, expected);
        } else
                ck_assert_msg(got == NULL, "expected NULL, got \"%s\"", got);
}

/* ---- fake trees built on the fly, for the failure cases ---- */

#define CPU "sys/devices/system/cpu/"
#define NODE "sys/devices/system/node/"

/* ---- host_load on the fixtures ---- */

/* clang-format off */
static const struct {
        const char *fixture;
        const char *possible, *online, *isolated, *nohz_full, *housekeeping;
        unsigned nr_cpu_ids;
        size_t affinity_bytes;
        unsigned n_nodes;
        const char *nodes[8];
        const char *v2, *v1_cpuset, *v1_systemd;
} fixtures[] = {
        {"host-2cpu", "0-1", "0-1", "", "", "0-1", 2, 8, 1, {"0-1"}, "sys/fs/cgroup/unified",
         "sys/fs/cgroup/cpuset", "sys/fs/cgroup/systemd"},
        {"host-4096", "0-4095", "0-4095", "4-63", "4-63", "0-3,64-4095", 4096, 512, 8,
         {"0-511", "512-1023", "1024-1535", "1536-2047", "2048-2559", "2560-3071", "3072-3583", "3584-4095"},
         "sys/fs/cgroup", NULL, NULL},
        {"host-cgv2", "0-7", "0-7", "", "", "0-7", 8, 8, 1, {"0-7"}, "sys/fs/cgroup", NULL, NULL},
        {"host-cgv1", "0-3", "0-3", "", "", "0-3", 4, 8, 1, {"0-3"}, NULL, "sys/fs/cgroup/cpuset",
         "sys/fs/cgroup/systemd"},
};
/* clang-format on */

START_TEST(test_load_fixture) {
        _cleanup_(host_freep) Host *h = load(fixtures[_i].fixture);

        ck_assert_int_ge(h->rootfd, 0);
        assert_set(h->possible, fixtures[_i].possible);
        assert_set(h->online, fixtures[_i].online);
        assert_set(h->isolated, fixtures[_i].isolated);
        assert_set(h->nohz_full, fixtures[_i].nohz_full);
        assert_set(h->housekeeping, fixtures[_i].housekeeping);
        ck_assert_uint_eq(h->nr_cpu_ids, fixtures[_i].nr_cpu_ids);
        ck_assert_uint_eq(h->affinity_bytes, fixtures[_i].affinity_bytes);
        ck_assert_uint_eq(h->n_nodes, fixtures[_i].n_nodes);
        for (unsigned n = 0; n < h->n_nodes; n++) {
                ck_assert_ptr_eq(host_node_cpus(h, n), h->nodes[n]);
                assert_set(host_node_cpus(h, n), fixtures[_i].nodes[n]);
        }
        ck_assert_ptr_null(host_node_cpus(h, h->n_nodes));
        ck_assert_ptr_null(host_node_cpus(h, 100000));
        assert_str_or_null(h->mounts.v2_path, fixtures[_i].v2);
        assert_str_or_null(h->mounts.v1_cpuset_path, fixtures[_i].v1_cpuset);
        assert_str_or_null(h->mounts.v1_systemd_path, fixtures[_i].v1_systemd);
        assert_str_or_null(h->mounts.v2_root, fixtures[_i].v2 ? "/" : NULL);
        assert_str_or_null(h->mounts.v1_cpuset_root, fixtures[_i].v1_cpuset ? "/" : NULL);
        assert_str_or_null(h->mounts.v1_systemd_root, fixtures[_i].v1_systemd ? "/" : NULL);
}
END_TEST

START_TEST(test_load_real_root) {
        _cleanup_(host_freep) Host *h = NULL;
        _cleanup_(freep) char *error = NULL;
        _cleanup_(freep) unsigned long *mask = NULL;
        _cleanup_(cpuset_freep) CpuSet *affinity = NULL;

        ck_assert_int_eq(host_load("/", &h, &error), 0);
        ck_assert(cpuset_subset(h->online, h->possible));
        ck_assert(cpuset_subset(h->housekeeping, h->online));
        ck_assert_uint_eq(h->affinity_bytes % sizeof(unsigned long), 0);
        ck_assert_uint_ge(h->affinity_bytes * 8, h->nr_cpu_ids);
        /* The size is one the kernel accepts, and what it reports fits. */
        mask = calloc(1, h->affinity_bytes);
        ck_assert_int_eq(sched_getaffinity(0, h->affinity_bytes, (cpu_set_t *) mask), 0);
        ck_assert_int_eq(cpuset_from_kernel(mask, h->affinity_bytes, &affinity), 0);
        ck_assert(cpuset_subset(affinity, h->online));
}
END_TEST

START_TEST(test_load_errors) {
        /* clang-format off */
        static const struct {
                const char *files[12];
                const char *message; /* a substring of the error */
                int r;
        } t[] = {
                {{CPU "online", "0-1\n", NULL}, "sys/devices/system/cpu/possible: No such file or directory",
                 -ENOENT},
                {{CPU "possible", "0-1\n", NULL}, "sys/devices/system/cpu/online: No such file or directory",
                 -ENOENT},
                {{CPU "possible", "0-x\n", CPU "online", "0\n", NULL}, "possible: bad range: '0-x'", -EBADMSG},
                {{CPU "possible", "\n", CPU "online", "0\n", NULL}, "no possible CPUs", -EBADMSG},
                {{CPU "possible", "0-1\n", CPU "online", "0-1\n", CPU "isolated", "junk\n", NULL},
                 "isolated: not a CPU number: 'junk'", -EBADMSG},
                {{CPU "possible", "0-1\n", CPU "online", "0-1\n", NODE "node0/cpulist", "0-1,\n", NULL},
                 "node0/cpulist: trailing comma", -EBADMSG},
                {{CPU "possible", "0-1\n", CPU "online", "0-1\n", NODE "node99999/cpulist", "0-1\n", NULL},
                 "node99999: id too large", -ERANGE},
        };
        /* clang-format on */

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_(fake_tree_free) char *root = fake_tree_make(t[i].files);
                _cleanup_(freep) char *error = NULL;
                Host *h = (Host *) 0x1;
                int r = host_load(root, &h, &error);

                ck_assert_msg(r == t[i].r, "case %zu: r = %d (%s)", i, r, error ? error : "");
                ck_assert_ptr_eq(h, (Host *) 0x1);
                ck_assert_ptr_nonnull(error);
                ck_assert_msg(strstr(error, t[i].message), "case %zu: \"%s\" lacks \"%s\"", i, error,
                              t[i].message);
                /* The message names the file under the root. */
                if (t[i].r != -ERANGE)
                        ck_assert_msg(strncmp(error + strcspn(error, "/"), root, strlen(root)) == 0, "%s",
                                      error);
        }

        /* No such root. */
        {
                _cleanup_(freep) char *error = NULL;
                Host *h = NULL;
                ck_assert_int_eq(host_load("/nonexistent/pinnerd-root", &h, &error), -ENOENT);
                ck_assert_ptr_null(h);
                ck_assert_ptr_nonnull(strstr(error, "cannot open root directory /nonexistent/pinnerd-root"));
                /* A NULL ret_error is allowed. */
                ck_assert_int_eq(host_load("/nonexistent/pinnerd-root", &h, NULL), -ENOENT);
        }
}
END_TEST

START_TEST(test_load_sizes_and_nodes) {
        /* Sparse node ids, entries that only look like nodes, a memory-only
         * node, odd CPU counts, no mountinfo (no cgroup information). */
        /* clang-format off */
        static const char *const files[] = {
                CPU "possible", "0-64\n", CPU "online", "0-2,64\n", CPU "isolated", "2,64\n",
                NODE "node0/cpulist", "0-1\n", NODE "node2/cpulist", "2,64\n", NODE "node3/cpulist", "\n",
                NODE "nodeX/cpulist", "5\n", NODE "node01/cpulist", "6\n", NODE "node/cpulist", "7\n",
                NODE "has_cpu", "0-1\n", NULL,
        };
        /* clang-format on */
        _cleanup_(fake_tree_free) char *root = fake_tree_make(files);
        _cleanup_(host_freep) Host *h = NULL;
        _cleanup_(freep) char *error = NULL;

        ck_assert_int_eq(host_load(root, &h, &error), 0);
        ck_assert_uint_eq(h->nr_cpu_ids, 65);
        ck_assert_uint_eq(h->affinity_bytes, 16);
        assert_set(h->housekeeping, "0-1");
        assert_set(h->nohz_full, "");
        ck_assert_uint_eq(h->n_nodes, 4);
        assert_set(host_node_cpus(h, 0), "0-1");
        ck_assert_ptr_null(host_node_cpus(h, 1));
        assert_set(host_node_cpus(h, 2), "2,64");
        assert_set(host_node_cpus(h, 3), "");
        ck_assert_ptr_null(host_node_cpus(h, 4));
        ck_assert_ptr_null(h->mounts.v2_path);
        ck_assert_ptr_null(h->mounts.v1_cpuset_path);
}
END_TEST

START_TEST(test_refresh_cpus) {
        /* clang-format off */
        static const char *const files[] = {
                CPU "possible", "0-7\n", CPU "online", "0-7\n", CPU "isolated", "4-5\n", NULL,
        };
        /* clang-format on */
        _cleanup_(fake_tree_free) char *root = fake_tree_make(files);
        _cleanup_(host_freep) Host *h = NULL;
        _cleanup_(freep) char *error = NULL, *online = NULL;

        ck_assert_int_eq(host_load(root, &h, &error), 0);
        ck_assert_uint_eq(h->n_nodes, 0);
        ck_assert_ptr_null(host_node_cpus(h, 0));
        assert_set(h->housekeeping, "0-3,6-7");

        fake_tree_write(root, CPU "online", "0-2,5\n");
        fake_tree_write(root, CPU "isolated", "1\n");
        fake_tree_write(root, CPU "nohz_full", "1\n");
        ck_assert_int_eq(host_refresh_cpus(h), 0);
        assert_set(h->online, "0-2,5");
        assert_set(h->isolated, "1");
        assert_set(h->nohz_full, "1");
        assert_set(h->housekeeping, "0,2,5");
        assert_set(h->possible, "0-7");

        /* NO_HZ_FULL kernels booted without nohz_full= say "(null)". */
        fake_tree_write(root, CPU "nohz_full", "(null)\n");
        ck_assert_int_eq(host_refresh_cpus(h), 0);
        assert_set(h->nohz_full, "");

        /* A failed refresh changes nothing. */
        fake_tree_write(root, CPU "online", "0-1\n");
        fake_tree_write(root, CPU "isolated", "bad\n");
        ck_assert_int_eq(host_refresh_cpus(h), -EBADMSG);
        assert_set(h->online, "0-2,5");
        assert_set(h->housekeeping, "0,2,5");
        online = xasprintf("%s/" CPU "online", root);
        ck_assert_int_eq(unlink(online), 0);
        ck_assert_int_eq(host_refresh_cpus(h), -ENOENT);
        assert_set(h->online, "0-2,5");
}
END_TEST

/* host_refresh on a copy of a fixture whose files change as hotplug and a
 * reload would see them: node CPU lists shrink and grow, a node appears and
 * one goes, CPUs are isolated, a cgroup mount appears. A refresh that cannot
 * read or parse one file changes nothing. */
START_TEST(test_refresh_all) {
        /* clang-format off */
        static const char *const files[] = {
                CPU "possible", "0-7\n", CPU "online", "0-7\n", CPU "isolated", "\n",
                NODE "node0/cpulist", "0-3\n", NODE "node1/cpulist", "4-7\n", NULL,
        };
        /* clang-format on */
        _cleanup_(fake_tree_free) char *root = fake_tree_make(files);
        _cleanup_(host_freep) Host *h = NULL;
        _cleanup_(freep) char *error = NULL, *e2 = NULL, *e3 = NULL, *node1 = NULL;

        ck_assert_int_eq(host_load(root, &h, &error), 0);
        ck_assert_uint_eq(h->n_nodes, 2);
        assert_set(host_node_cpus(h, 1), "4-7");
        ck_assert_ptr_null(h->mounts.v2_path);

        /* CPUs 6-7 go offline, 3 is isolated, node 2 (CPUs 6-7 back later)
         * appears, cgroup2 gets mounted. */
        fake_tree_write(root, CPU "online", "0-5\n");
        fake_tree_write(root, CPU "isolated", "3\n");
        fake_tree_write(root, NODE "node1/cpulist", "4-5\n");
        fake_tree_write(root, NODE "node2/cpulist", "\n");
        fake_tree_write(root, "proc/self/mountinfo", "41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        ck_assert_int_eq(host_refresh(h, &e2), 0);
        ck_assert_ptr_null(e2);
        assert_set(h->online, "0-5");
        assert_set(h->isolated, "3");
        assert_set(h->housekeeping, "0-2,4-5");
        assert_set(h->possible, "0-7");
        ck_assert_uint_eq(h->n_nodes, 3);
        assert_set(host_node_cpus(h, 0), "0-3");
        assert_set(host_node_cpus(h, 1), "4-5");
        assert_set(host_node_cpus(h, 2), "");
        assert_str_or_null(h->mounts.v2_path, "sys/fs/cgroup");

        /* Node 1 goes away; a broken node file keeps everything as it was,
         * including the online set read before it. */
        node1 = xasprintf("%s/" NODE "node1", root);
        char *gone = strdup(node1);
        fake_tree_free(&gone);
        fake_tree_write(root, CPU "online", "0-7\n");
        fake_tree_write(root, NODE "node2/cpulist", "6-7,junk\n");
        ck_assert_int_eq(host_refresh(h, &e3), -EBADMSG);
        ck_assert_ptr_nonnull(e3);
        ck_assert_msg(strstr(e3, "node2/cpulist"), "%s", e3);
        assert_set(h->online, "0-5");
        ck_assert_uint_eq(h->n_nodes, 3);
        assert_set(host_node_cpus(h, 1), "4-5");

        fake_tree_write(root, NODE "node2/cpulist", "6-7\n");
        ck_assert_int_eq(host_refresh(h, NULL), 0);
        assert_set(h->online, "0-7");
        ck_assert_uint_eq(h->n_nodes, 3);
        ck_assert_ptr_null(host_node_cpus(h, 1));
        assert_set(host_node_cpus(h, 2), "6-7");
        /* Hotplug's entry point re-reads the nodes too. */
        fake_tree_write(root, NODE "node2/cpulist", "7\n");
        ck_assert_int_eq(host_refresh_cpus(h), 0);
        assert_set(host_node_cpus(h, 2), "7");
}
END_TEST

/* ---- mountinfo ---- */

/* clang-format off */
#define HYBRID                                                                                             \
        "22 27 0:21 / /proc rw,relatime - proc proc rw\n"                                                  \
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"                              \
        "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"                             \
        "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"                       \
        "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"                \
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
/* clang-format on */

/* clang-format off */
static const struct {
        const char *name, *buf;
        const char *v2, *v2_root, *cpuset, *cpuset_root, *systemd, *systemd_root;
} mountinfo_cases[] = {
        {"hybrid", HYBRID, "sys/fs/cgroup/unified", "/", "sys/fs/cgroup/cpuset", "/", "sys/fs/cgroup/systemd",
         "/"},
        {"v2 only",
         "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
         "31 23 0:28 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
         "rw,nsdelegate,memory_recursiveprot\n",
         "sys/fs/cgroup", "/", NULL, NULL, NULL, NULL},
        {"v1 only, optional fields, controllers sharing a hierarchy",
         "32 31 0:29 / /sys/fs/cgroup/systemd rw,nosuid shared:10 master:3 - cgroup cgroup "
         "rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd\n"
         "33 31 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:11 - cgroup cgroup rw,cpu,cpuacct\n"
         "34 31 0:31 / /sys/fs/cgroup/cpuset,cpu rw,nosuid shared:12 - cgroup cgroup rw,cpuset,cpu\n",
         NULL, NULL, "sys/fs/cgroup/cpuset,cpu", "/", "sys/fs/cgroup/systemd", "/"},
        {"non-/ roots (a container's view)",
         "34 31 0:31 /docker/abc /sys/fs/cgroup/cpuset ro - cgroup cgroup rw,cpuset\n"
         "35 31 0:32 /docker/abc /sys/fs/cgroup/systemd ro - cgroup cgroup rw,name=systemd\n"
         "36 31 0:33 /kubepods/pod1 /sys/fs/cgroup/unified ro - cgroup2 cgroup2 rw\n",
         "sys/fs/cgroup/unified", "/kubepods/pod1", "sys/fs/cgroup/cpuset", "/docker/abc",
         "sys/fs/cgroup/systemd", "/docker/abc"},
        {"escapes",
         "36 31 0:33 /a\\040b\\134c /sys/fs/my\\040cg\\011x\\012y\\134z rw - cgroup2 cgroup2 rw\n"
         "37 31 0:34 / /mnt/odd\\\\ rw - cgroup cgroup rw,cpuset\n",
         "sys/fs/my cg\tx\ny\\z", "/a b\\c", "mnt/odd\\\\", "/", NULL, NULL},
        {"first of each wins",
         "41 31 0:38 / /first2 rw - cgroup2 cgroup2 rw\n"
         "42 31 0:38 / /second2 rw - cgroup2 cgroup2 rw\n"
         "43 31 0:31 / /first1 rw - cgroup cgroup rw,cpuset,name=systemd\n"
         "44 31 0:31 / /second1 rw - cgroup cgroup rw,cpuset\n"
         "45 31 0:37 / /second-systemd rw - cgroup cgroup rw,name=systemd\n",
         "first2", "/", "first1", "/", "first1", "/"},
        {"look-alikes are not cgroup mounts",
         "50 31 0:40 / /tmpfs-cpuset rw - tmpfs tmpfs rw,cpuset\n"
         "51 31 0:41 / /named rw - cgroup cgroup rw,name=cpuset\n"
         "52 31 0:42 / /cpusetx rw - cgroup cgroup rw,cpusetx\n"
         "53 31 0:43 / /sd rw - cgroup cgroup rw,name=systemd2\n"
         "54 31 0:44 / /c2 rw - cgroup2fs cgroup2 rw\n",
         NULL, NULL, NULL, NULL, NULL, NULL},
        {"mounted on / (a cgroup namespace), empty source",
         "60 1 0:50 / / rw - cgroup2  rw\n", ".", "/", NULL, NULL, NULL, NULL},
        {"garbage lines are skipped",
         "garbage\n"
         "\n"
         "1 2 3\n"
         "41 31 0:38 / /x rw - cgroup2\n"
         "41 31 0:38 / /y rw cgroup2 cgroup2 rw\n"
         "41 31 0:38 relative /z rw - cgroup2 cgroup2 rw\n"
         "41 31 0:38 / /sys/../../etc rw - cgroup2 cgroup2 rw\n"
         "41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw",
         "sys/fs/cgroup", "/", NULL, NULL, NULL, NULL},
        {"empty", "", NULL, NULL, NULL, NULL, NULL, NULL},
};
/* clang-format on */

START_TEST(test_mountinfo) {
        CgroupMounts m = {0};

        ck_assert_int_eq(host_parse_mountinfo_buf(mountinfo_cases[_i].buf, &m), 0);
        assert_str_or_null(m.v2_path, mountinfo_cases[_i].v2);
        assert_str_or_null(m.v2_root, mountinfo_cases[_i].v2_root);
        assert_str_or_null(m.v1_cpuset_path, mountinfo_cases[_i].cpuset);
        assert_str_or_null(m.v1_cpuset_root, mountinfo_cases[_i].cpuset_root);
        assert_str_or_null(m.v1_systemd_path, mountinfo_cases[_i].systemd);
        assert_str_or_null(m.v1_systemd_root, mountinfo_cases[_i].systemd_root);
        cgroup_mounts_done(&m);
        ck_assert_ptr_null(m.v2_path);
}
END_TEST

/* ---- /proc/PID/cgroup ---- */

/* clang-format off */
static const struct {
        const char *buf;
        int r;
        const char *v2, *cpuset, *systemd, *match;
} cgroup_cases[] = {
        {"9:name=systemd:/machine.slice/vm1.scope\n8:pids:/\n3:cpuset:/pinned\n1:cpu:/\n0::/\n", 0, "/",
         "/pinned", "/machine.slice/vm1.scope", "/machine.slice/vm1.scope"},
        {"0::/system.slice/nginx.service\n", 0, "/system.slice/nginx.service", NULL, NULL,
         "/system.slice/nginx.service"},
        {"6:memory:/x\n5:cpuset:/rt\n4:cpu,cpuacct:/\n1:name=systemd:/system.slice/rtapp.service\n", 0, NULL,
         "/rt", "/system.slice/rtapp.service", "/system.slice/rtapp.service"},
        {"4:cpu,cpuset,cpuacct:/x\n", 0, NULL, "/x", NULL, NULL},
        {"1:name=systemd:/user.slice", 0, NULL, NULL, "/user.slice", "/user.slice"},
        {"0::/a:b:c\n", 0, "/a:b:c", NULL, NULL, "/a:b:c"},
        {"0::/gone (deleted)\n", 0, "/gone (deleted)", NULL, NULL, "/gone (deleted)"},
        {"0::/../../outside\n", 0, "/../../outside", NULL, NULL, "/../../outside"},
        {"0::/first\n0::/second\n3:cpuset:/a\n7:cpuset:/b\n", 0, "/first", "/a", NULL, "/first"},
        {"3:name=cpuset:/n\n2:cpusetx:/x\n1:name=systemd2:/s\n", 0, NULL, NULL, NULL, NULL},
        {"", 0, NULL, NULL, NULL, NULL},
        {"\n\n", 0, NULL, NULL, NULL, NULL},
        {"garbage\n", -EBADMSG, NULL, NULL, NULL, NULL},
        {"0::/ok\n1:cpuset\n", -EBADMSG, NULL, NULL, NULL, NULL},
        {"x:cpuset:/a\n", -EBADMSG, NULL, NULL, NULL, NULL},
        {":cpuset:/a\n", -EBADMSG, NULL, NULL, NULL, NULL},
        {"1x:cpuset:/a\n", -EBADMSG, NULL, NULL, NULL, NULL},
};
/* clang-format on */

START_TEST(test_task_cgroups) {
        TaskCgroups c = {.v2 = (char *) "untouched"};
        int r = task_cgroups_parse_buf(cgroup_cases[_i].buf, &c);

        ck_assert_msg(r == cgroup_cases[_i].r, "case %d: r = %d", _i, r);
        if (r < 0) {
                ck_assert_str_eq(c.v2, "untouched");
                return;
        }
        assert_str_or_null(c.v2, cgroup_cases[_i].v2);
        assert_str_or_null(c.v1_cpuset, cgroup_cases[_i].cpuset);
        assert_str_or_null(c.v1_systemd, cgroup_cases[_i].systemd);
        assert_str_or_null(task_cgroups_match_path(&c), cgroup_cases[_i].match);
        task_cgroups_done(&c);
        ck_assert_ptr_null(c.v2);
}
END_TEST

/* ---- host_task_cpuset ---- */

/* clang-format off */
static const struct {
        const char *fixture;
        pid_t pid, tid;
        const char *cpus; /* NULL: no cpuset information */
} task_cpuset_cases[] = {
        {"host-2cpu", 420, 0, "1"},      /* v1 child "pinned" */
        {"host-2cpu", 420, 421, "1"},    /* a thread of it */
        {"host-2cpu", 1, 0, "0-1"},      /* v1 root */
        {"host-2cpu", 777, 778, "0-1"},
        {"host-cgv1", 300, 0, "2-3"},    /* v1 child "rt" */
        {"host-cgv1", 300, 301, "2-3"},
        {"host-cgv1", 1, 0, "0-3"},
        {"host-cgv2", 600, 0, "4-5"},    /* machine.slice/vm1.scope */
        {"host-cgv2", 600, 602, "4-5"},
        {"host-cgv2", 700, 0, "4-5"},    /* .../leaf has no file: vm1.scope's */
        {"host-cgv2", 500, 0, "0-7"},    /* system.slice has no cpuset: the root's */
        {"host-cgv2", 1, 0, "0-7"},      /* init.scope is not even a directory here */
        {"host-4096", 1000, 0, "0-4095"},
};
/* clang-format on */

START_TEST(test_task_cpuset_fixture) {
        _cleanup_(host_freep) Host *h = load(task_cpuset_cases[_i].fixture);
        _cleanup_(closep) int procfd = openat(h->rootfd, "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_(freep) char *raw = NULL;
        _cleanup_(task_cgroups_done) TaskCgroups c = {0};
        _cleanup_(cpuset_freep) CpuSet *s = NULL;

        ck_assert_int_ge(procfd, 0);
        ck_assert_int_eq(
                procfs_read_cgroup(procfd, task_cpuset_cases[_i].pid, task_cpuset_cases[_i].tid, &raw), 0);
        ck_assert_int_eq(task_cgroups_parse_buf(raw, &c), 0);
        ck_assert_int_eq(host_task_cpuset(h, &c, &s), 0);
        if (task_cpuset_cases[_i].cpus)
                assert_set(s, task_cpuset_cases[_i].cpus);
        else
                ck_assert_ptr_null(s);
}
END_TEST

/* clang-format off */
static const struct {
        const char *fixture;
        const char *v2, *cpuset, *systemd;
        int r;
        const char *cpus;
} task_path_cases[] = {
        /* No cpuset information. */
        {"host-cgv2", NULL, NULL, "/system.slice/x.service", 0, NULL},
        {"host-cgv1", "/", NULL, NULL, 0, NULL}, /* no cgroup2 mount */
        {"host-2cpu", "/", NULL, NULL, 0, NULL}, /* cgroup2 without the cpuset controller */
        {"host-cgv2", NULL, "/rt", NULL, 0, NULL}, /* no v1 cpuset mount */
        /* Paths are untrusted: no "..", absolute only. */
        {"host-cgv2", "/../x", NULL, NULL, -EINVAL, NULL},
        {"host-cgv2", "/machine.slice/../..", NULL, NULL, -EINVAL, NULL},
        {"host-cgv2", "/..", NULL, NULL, -EINVAL, NULL},
        {"host-cgv2", "/a/../machine.slice", NULL, NULL, -EINVAL, NULL},
        {"host-cgv2", "machine.slice", NULL, NULL, -EINVAL, NULL},
        {"host-cgv2", "", NULL, NULL, -EINVAL, NULL},
        {"host-cgv1", NULL, "/rt/..", NULL, -EINVAL, NULL},
        {"host-cgv1", NULL, "/rt/../../..", NULL, -EINVAL, NULL},
        /* Odd but harmless names. */
        {"host-cgv2", "/a/..b/...", NULL, NULL, 0, "0-7"},
        {"host-cgv2", "//machine.slice//vm1.scope/", NULL, NULL, 0, "4-5"},
        {"host-cgv2", "/machine.slice/vm1.scope/./leaf", NULL, NULL, 0, "4-5"},
        {"host-cgv2", "/", NULL, NULL, 0, "0-7"},
        /* A file is not a cgroup directory: walk up. */
        {"host-cgv2", "/machine.slice/vm1.scope/cgroup.procs/x", NULL, NULL, 0, "4-5"},
        /* v1 wins when the host has a v1 cpuset hierarchy. */
        {"host-2cpu", "/", "/pinned", NULL, 0, "1"},
};
/* clang-format on */

START_TEST(test_task_cpuset_paths) {
        _cleanup_(host_freep) Host *h = load(task_path_cases[_i].fixture);
        TaskCgroups c = {
                .v2 = (char *) task_path_cases[_i].v2,
                .v1_cpuset = (char *) task_path_cases[_i].cpuset,
                .v1_systemd = (char *) task_path_cases[_i].systemd,
        };
        CpuSet *s = (CpuSet *) 0x1;
        int r = host_task_cpuset(h, &c, &s);

        ck_assert_msg(r == task_path_cases[_i].r, "case %d: r = %d", _i, r);
        if (r < 0) {
                ck_assert_ptr_eq(s, (CpuSet *) 0x1);
                return;
        }
        if (task_path_cases[_i].cpus)
                assert_set(s, task_path_cases[_i].cpus);
        else
                ck_assert_ptr_null(s);
        cpuset_free(s);
}
END_TEST

/* A v1 cpuset hierarchy mounted from /docker/abc: task paths are mapped
 * below that root, and paths outside it have no information. */
START_TEST(test_task_cpuset_mount_root) {
        /* clang-format off */
        static const struct {
                const char *mount_root, *path;
                int r;
                const char *cpus;
        } t[] = {
                {"/docker/abc", "/docker/abc/rt", 0, "2-3"},
                {"/docker/abc", "/docker/abc", 0, "0-3"},
                {"/docker/abc", "/docker/abc/", 0, "0-3"},
                {"/docker/abc", "/docker/abc/rt/deeper", 0, "2-3"},
                {"/docker/abc", "/docker/abcdef/rt", 0, NULL},
                {"/docker/abc", "/docker", 0, NULL},
                {"/docker/abc", "/other", 0, NULL},
                {"/docker/abc", "/docker/abc/../abc/rt", -EINVAL, NULL},
                {"/docker/abc/", "/docker/abc/rt", 0, "2-3"},
                {"/..", "/rt", 0, NULL}, /* hierarchy outside our namespace */
        };
        /* clang-format on */
        _cleanup_(host_freep) Host *h = load("host-cgv1");

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_(freep) char *mi =
                        xasprintf("34 31 0:31 %s /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset\n",
                                  t[i].mount_root);
                TaskCgroups c = {.v1_cpuset = (char *) t[i].path};
                CpuSet *s = NULL;
                int r;

                cgroup_mounts_done(&h->mounts);
                ck_assert_int_eq(host_parse_mountinfo_buf(mi, &h->mounts), 0);
                ck_assert_str_eq(h->mounts.v1_cpuset_root, t[i].mount_root);
                r = host_task_cpuset(h, &c, &s);
                ck_assert_msg(r == t[i].r, "case %zu: r = %d", i, r);
                if (t[i].cpus)
                        assert_set(s, t[i].cpus);
                else
                        ck_assert_ptr_null(s);
                cpuset_free(s);
        }
}
END_TEST

START_TEST(test_task_cpuset_bad_file) {
        /* clang-format off */
        static const char *const files[] = {
                CPU "possible", "0-3\n", CPU "online", "0-3\n",
                "proc/self/mountinfo", "31 23 0:28 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
                "sys/fs/cgroup/cpuset.cpus.effective", "0-3\n",
                "sys/fs/cgroup/bad/cpuset.cpus.effective", "0-3,zz\n",
                "sys/fs/cgroup/empty/cpuset.cpus.effective", "\n", NULL,
        };
        /* clang-format on */
        _cleanup_(fake_tree_free) char *root = fake_tree_make(files);
        _cleanup_(host_freep) Host *h = NULL;
        _cleanup_(freep) char *error = NULL;
        TaskCgroups bad = {.v2 = (char *) "/bad/child"}, empty = {.v2 = (char *) "/empty"};
        CpuSet *s = (CpuSet *) 0x1;

        ck_assert_int_eq(host_load(root, &h, &error), 0);
        ck_assert_int_eq(host_task_cpuset(h, &bad, &s), -EBADMSG);
        ck_assert_ptr_eq(s, (CpuSet *) 0x1);
        /* An empty effective set is returned as such: the caller skips. */
        ck_assert_int_eq(host_task_cpuset(h, &empty, &s), 0);
        assert_set(s, "");
        cpuset_free(s);
}
END_TEST

START_TEST(test_task_cpuset_real) {
        _cleanup_(host_freep) Host *h = NULL;
        _cleanup_(freep) char *error = NULL, *raw = NULL;
        _cleanup_(closep) int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_(task_cgroups_done) TaskCgroups c = {0};
        _cleanup_(cpuset_freep) CpuSet *s = NULL, *affinity = NULL;
        _cleanup_(freep) unsigned long *mask = NULL;

        ck_assert_int_eq(host_load("/", &h, &error), 0);
        ck_assert_int_eq(procfs_read_cgroup(procfd, getpid(), 0, &raw), 0);
        ck_assert_int_eq(task_cgroups_parse_buf(raw, &c), 0);
        ck_assert_int_eq(host_task_cpuset(h, &c, &s), 0);
        if (!s)
                return; /* no cpuset controller visible here */
        /* The kernel keeps our affinity inside our cpuset. */
        mask = calloc(1, h->affinity_bytes);
        ck_assert_int_eq(sched_getaffinity(0, h->affinity_bytes, (cpu_set_t *) mask), 0);
        ck_assert_int_eq(cpuset_from_kernel(mask, h->affinity_bytes, &affinity), 0);
        ck_assert(cpuset_subset(affinity, s));
}
END_TEST

/* Declared for -Wmissing-prototypes; not at the start of a line, so the
 * Makefile's runner generator sees only the definition. */
extern Suite *host_suite(void);
Suite *host_suite(void) {
        Suite *s = suite_create("host");
        TCase *tc = tcase_create("host");

        tcase_add_loop_test(tc, test_load_fixture, 0, (int) ELEMENTSOF(fixtures));
        tcase_add_test(tc, test_load_real_root);
        tcase_add_test(tc, test_load_errors);
        tcase_add_test(tc, test_load_sizes_and_nodes);
        tcase_add_test(tc, test_refresh_cpus);
        tcase_add_test(tc, test_refresh_all);
        tcase_add_loop_test(tc, test_mountinfo, 0, (int) ELEMENTSOF(mountinfo_cases));
        tcase_add_loop_test(tc, test_task_cgroups, 0, (int) ELEMENTSOF(cgroup_cases));
        tcase_add_loop_test(tc, test_task_cpuset_fixture, 0, (int) ELEMENTSOF(task_cpuset_cases));
        tcase_add_loop_test(tc, test_task_cpuset_paths, 0, (int) ELEMENTSOF(task_path_cases));
        tcase_add_test(tc, test_task_cpuset_mount_root);
        tcase_add_test(tc, test_task_cpuset_bad_file);
        tcase_add_test(tc, test_task_cpuset_real);
        suite_add_tcase(s, tc);
        return s;
}
