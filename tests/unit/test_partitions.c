/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/host.h"
#include "kernel/partitions.h"
#include "testutil.h"
#include "lib/util.h"

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

START_TEST(test_parse_state) {
        /* clang-format off */
        static const struct {
                const char *text;
                int r;
                PartitionState state;
        } t[] = {
                {"member\n", 0, PARTITION_MEMBER},
                {"root\n", 0, PARTITION_ROOT},
                {"isolated\n", 0, PARTITION_ISOLATED},
                {"isolated", 0, PARTITION_ISOLATED},
                {"isolated invalid (Cpu list in cpuset.cpus not exclusive)\n", 0, PARTITION_INVALID},
                {"root invalid (Parent is not a partition root)\n", 0, PARTITION_INVALID},
                {"isolated invalid\n", 0, PARTITION_INVALID},
                {"shielded\n", 0, PARTITION_UNKNOWN},
                {"", -EBADMSG, 0},
                {"\n", -EBADMSG, 0},
                {"Isolated\n", -EBADMSG, 0},
                {" isolated\n", -EBADMSG, 0},
                {"isolated\nisolated\n", -EBADMSG, 0},
                {"isolated junk\n", -EBADMSG, 0},
                {"isolated invalid (x)\nmore\n", -EBADMSG, 0},
                {"isolatedinvalid\n", 0, PARTITION_UNKNOWN},
        };
        /* clang-format on */

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                PartitionState s = (PartitionState) 99;
                int r = partitions_parse_state(t[i].text, &s);
                ck_assert_msg(r == t[i].r, "case %zu (%s): r = %d", i, t[i].text, r);
                if (r == 0)
                        ck_assert_msg(s == t[i].state, "case %zu: state %d", i, s);
                else
                        ck_assert_int_eq(s, 99);
        }
}
END_TEST

/* Both kernels' layouts give the same partitions and sources: 6.7+ through
 * the root's cpuset.cpus.isolated, 6.1-6.6 by the walk alone. */
static const char *const iso_fixtures[] = {"host-cgv2iso", "host-cgv2iso-6.1"};

START_TEST(test_fixture_cgv2iso) {
        _cleanup_(host_freep) Host *h = fixture_load_host(iso_fixtures[_i]);
        const Partitions *p = h->partitions;

        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(p->from_root_file, _i == 0);
        /* Walk order is sorted by path; /broken ("isolated invalid") and
         * /rt (a root partition: exclusive, not isolated) are not there. */
        ck_assert_uint_eq(p->n, 3);
        ck_assert_str_eq(p->v[0].path, "/sys/fs/cgroup/iso");
        assert_set(p->v[0].cpus, "3-4");
        ck_assert_str_eq(p->v[1].path, "/sys/fs/cgroup/machine.slice/vm2.scope");
        assert_set(p->v[1].cpus, "6");
        ck_assert_str_eq(p->v[2].path, "/sys/fs/cgroup/rt/inner");
        assert_set(p->v[2].cpus, "7");
        assert_set(p->isolated, "3-4,6-7");

        /* The host's isolated set is isolcpus ∪ partitions. */
        assert_set(h->isolcpus, "1");
        assert_set(h->isolated, "1,3-4,6-7");
        assert_set(h->housekeeping, "0,2,5");
        assert_str_or_null(host_isolated_source(h, 0), NULL);
        assert_str_or_null(host_isolated_source(h, 1), "isolcpus");
        assert_str_or_null(host_isolated_source(h, 2), NULL);
        assert_str_or_null(host_isolated_source(h, 3), "partition /sys/fs/cgroup/iso");
        assert_str_or_null(host_isolated_source(h, 4), "partition /sys/fs/cgroup/iso");
        assert_str_or_null(host_isolated_source(h, 5), NULL);
        assert_str_or_null(host_isolated_source(h, 6), "partition /sys/fs/cgroup/machine.slice/vm2.scope");
        assert_str_or_null(host_isolated_source(h, 7), "partition /sys/fs/cgroup/rt/inner");
        assert_str_or_null(host_isolated_source(h, 8), NULL);
        assert_str_or_null(host_isolated_source(h, 100000), NULL);
}
END_TEST

/* No partitions on the other fixtures: hybrid (cpuset on v1), v1 only, and
 * v2 without any partition file; isolcpus alone. */
START_TEST(test_fixture_none) {
        static const char *const names[] = {"host-2cpu", "host-cgv1", "host-cgv2", "host-4096", "host-smt"};
        _cleanup_(host_freep) Host *h = fixture_load_host(names[_i]);

        ck_assert_ptr_nonnull(h->partitions);
        ck_assert_uint_eq(h->partitions->n, 0);
        assert_set(h->partitions->isolated, "");
        ck_assert(cpuset_equal(h->isolated, h->isolcpus));
        if (strcmp(names[_i], "host-4096") == 0) {
                assert_str_or_null(host_isolated_source(h, 4), "isolcpus");
                assert_str_or_null(host_isolated_source(h, 3), NULL);
        }
}
END_TEST

/* ---- trees built on the fly ---- */

static int load_tree(const char *root, const char *v2, Partitions **ret, char **error) {
        _cleanup_(closep) int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        return partitions_load(fd, v2, ret, error);
}

#define G "cg/"

START_TEST(test_hostile_trees) {
        /* Garbage in single cgroups is skipped; the walk does not follow a
         * member cgroup without exclusive CPUs (its isolated child is not a
         * valid partition: the kernel would say "invalid" there anyway). */
        static const char *const files[] = {
                G "cpuset.cpus.effective",
                "0-7\n",
                G "a/cpuset.cpus.partition",
                "isolated\n",
                G "a/cpuset.cpus.effective",
                "junk\n",
                G "b/cpuset.cpus.partition",
                "\x01\x02garbage",
                G "c/cpuset.cpus.partition",
                "isolated\n",
                G "c/cpuset.cpus.effective",
                "\n", /* empty: isolates nothing */
                G "d/cpuset.cpus.partition",
                "member\n",
                G "d/cpuset.cpus.exclusive",
                "\n",
                G "d/x/cpuset.cpus.partition",
                "isolated\n",
                G "d/x/cpuset.cpus.effective",
                "5\n",
                G "e/cpuset.cpus.partition",
                "isolated\n",
                G "e/cpuset.cpus.effective",
                "2\n",
                G "f/cpuset.cpus.partition",
                "member\n",
                G "f/cpuset.cpus.exclusive",
                "zz\n",
                G "f/y/cpuset.cpus.partition",
                "isolated\n",
                G "f/y/cpuset.cpus.effective",
                "6\n",
                NULL,
        };
        _cleanup_(fake_tree_free) char *root = fake_tree_make(files);
        _cleanup_(partitions_freep) Partitions *p = NULL;
        _cleanup_(freep) char *error = NULL;
        _cleanup_(freep) char *link = xasprintf("%s/" G "link", root);

        /* A symlink to another cgroup is not followed. */
        ck_assert_int_eq(symlink("e", link), 0);
        ck_assert_int_eq(load_tree(root, "cg", &p, &error), 0);
        ck_assert_ptr_null(error);
        ck_assert_uint_eq(p->n, 1);
        ck_assert_str_eq(p->v[0].path, "/cg/e");
        ck_assert_str_eq(p->v[0].source, "partition /cg/e");
        assert_set(p->isolated, "2");
        ck_assert_str_eq(partitions_source(p, 2), "partition /cg/e");
        ck_assert_ptr_null(partitions_source(p, 5));
}
END_TEST

START_TEST(test_root_file) {
        /* The root file is the set; a CPU no visible partition holds gets
         * the unnamed source; garbage there is an error naming the file. */
        static const char *const ok[] = {
                G "cpuset.cpus.effective",
                "0-7\n",
                G "cpuset.cpus.isolated",
                "2,4\n",
                G "p/cpuset.cpus.partition",
                "isolated\n",
                G "p/cpuset.cpus.effective",
                "2\n",
                NULL,
        };
        static const char *const bad[] = {
                G "cpuset.cpus.effective", "0-7\n", G "cpuset.cpus.isolated", "2-\n", NULL,
        };
        static const char *const nocpuset[] = {
                G "cgroup.controllers",
                "memory pids\n",
                G "p/cpuset.cpus.partition",
                "isolated\n",
                G "p/cpuset.cpus.effective",
                "2\n",
                NULL,
        };
        {
                _cleanup_(fake_tree_free) char *root = fake_tree_make(ok);
                _cleanup_(partitions_freep) Partitions *p = NULL;
                ck_assert_int_eq(load_tree(root, "cg", &p, NULL), 0);
                ck_assert(p->from_root_file);
                assert_set(p->isolated, "2,4");
                ck_assert_str_eq(partitions_source(p, 2), "partition /cg/p");
                ck_assert_str_eq(partitions_source(p, 4), "partition (cgroup root cpuset.cpus.isolated)");
        }
        {
                _cleanup_(fake_tree_free) char *root = fake_tree_make(bad);
                _cleanup_(freep) char *error = NULL;
                Partitions *p = (Partitions *) 0x1;
                ck_assert_int_eq(load_tree(root, "cg", &p, &error), -EBADMSG);
                ck_assert_ptr_eq(p, (Partitions *) 0x1);
                ck_assert_ptr_nonnull(strstr(error, "/cg/cpuset.cpus.isolated"));
        }
        {
                /* No cpuset on the cgroup2 root: nothing is read below it. */
                _cleanup_(fake_tree_free) char *root = fake_tree_make(nocpuset);
                _cleanup_(partitions_freep) Partitions *p = NULL;
                ck_assert_int_eq(load_tree(root, "cg", &p, NULL), 0);
                ck_assert_uint_eq(p->n, 0);
        }
        {
                /* No cgroup2, or a mount point that is not there. */
                _cleanup_(fake_tree_free) char *root = fake_tree_make(nocpuset);
                _cleanup_(partitions_freep) Partitions *p = NULL, *q = NULL;
                ck_assert_int_eq(load_tree(root, NULL, &p, NULL), 0);
                ck_assert_uint_eq(p->n, 0);
                ck_assert_int_eq(load_tree(root, "nonexistent", &q, NULL), 0);
                assert_set(q->isolated, "");
                ck_assert_ptr_null(partitions_source(NULL, 0));
        }
}
END_TEST

/* A deep chain of partitions is cut at the depth bound, not followed to a
 * stack overflow or a PATH_MAX failure. */
START_TEST(test_deep_tree) {
        _cleanup_(fake_tree_free) char *root = NULL;
        _cleanup_(partitions_freep) Partitions *p = NULL;
        char tmpl[] = "/tmp/pinnerd-part-XXXXXX";
        char rel[4096] = G;

        root = strdup(mkdtemp(tmpl));
        fake_tree_write(root, G "cpuset.cpus.effective", "0-7\n");
        for (unsigned d = 0; d < 100; d++) {
                _cleanup_(freep) char *f1 = NULL, *f2 = NULL;
                strcat(rel, "p/");
                f1 = xasprintf("%scpuset.cpus.partition", rel);
                f2 = xasprintf("%scpuset.cpus.effective", rel);
                fake_tree_write(root, f1, d == 99 ? "isolated\n" : "root\n");
                fake_tree_write(root, f2, "1\n");
                if (d == 2) {
                        _cleanup_(freep) char *q1 = xasprintf("%sq/cpuset.cpus.partition", rel);
                        _cleanup_(freep) char *q2 = xasprintf("%sq/cpuset.cpus.effective", rel);
                        fake_tree_write(root, q1, "isolated\n");
                        fake_tree_write(root, q2, "2\n");
                }
        }
        ck_assert_int_eq(load_tree(root, "cg", &p, NULL), 0);
        ck_assert_uint_eq(p->n, 1);
        ck_assert_str_eq(p->v[0].path, "/cg/p/p/p/q");
}
END_TEST

extern Suite *partitions_suite(void);
Suite *partitions_suite(void) {
        Suite *s = suite_create("partitions");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_parse_state);
        tcase_add_loop_test(tc, test_fixture_cgv2iso, 0, (int) ELEMENTSOF(iso_fixtures));
        tcase_add_loop_test(tc, test_fixture_none, 0, 5);
        tcase_add_test(tc, test_hostile_trees);
        tcase_add_test(tc, test_root_file);
        tcase_add_test(tc, test_deep_tree);
        suite_add_tcase(s, tc);
        return s;
}
