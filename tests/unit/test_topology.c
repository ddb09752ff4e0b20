/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/host.h"
#include "testutil.h"
#include "kernel/topology.h"
#include "lib/util.h"

static void assert_set(const CpuSet *s, const char *expected) {
        _cleanup_(freep) char *f = NULL;
        if (!expected) {
                ck_assert_msg(s == NULL, "expected no set");
                return;
        }
        ck_assert_msg(s != NULL, "expected %s, got no set", expected);
        f = cpuset_format_list(s);
        ck_assert_str_eq(f, expected);
}

/* clang-format off */
static const struct {
        const char *fixture;
        const char *smt_primary;
        const char *packages[3]; /* package:0..2 (NULL = no such package) */
        unsigned n_llc;
        const char *llcs[5];
        /* spot checks: cpu -> core, siblings, package, llc */
        struct { unsigned cpu; int core; const char *siblings; int package, llc; } cpus[4];
} fixtures[] = {
        {"host-smt", "0,2,4,6,8,10,12,14", {"0-7", "8-15", NULL}, 4, {"0-3", "4-7", "8-11", "12-15"},
         {{0, 0, "0-1", 0, 0}, {1, 0, "0-1", 0, 0}, {13, 12, "12-13", 1, 3}, {7, 6, "6-7", 0, 1}}},
        /* Siblings far apart, CPU 63 offline (no topology: its own core, no
         * package, no LLC; CPU 31 has no sibling). */
        {"host-far64", "0-31,63", {"0-15,32-47", "16-31,48-62", NULL}, 2, {"0-15,32-47", "16-31,48-62"},
         {{32, 0, "0,32", 0, 0}, {47, 15, "15,47", 0, 0}, {31, 31, "31", 1, 1}, {63, 63, "63", -1, -1}}},
        {"host-cgv2iso", "0-7", {"0-7", NULL, NULL}, 1, {"0-7"},
         {{3, 3, "3", 0, 0}, {7, 7, "7", 0, 0}, {0, 0, "0", 0, 0}, {0, 0, "0", 0, 0}}},
        /* No topology files at all: every CPU its own core, nothing else. */
        {"host-cgv2", "0-7", {NULL, NULL, NULL}, 0, {NULL},
         {{5, 5, "5", -1, -1}, {0, 0, "0", -1, -1}, {7, 7, "7", -1, -1}, {7, 7, "7", -1, -1}}},
        {"host-2cpu", "0-1", {NULL, NULL, NULL}, 0, {NULL},
         {{1, 1, "1", -1, -1}, {0, 0, "0", -1, -1}, {0, 0, "0", -1, -1}, {0, 0, "0", -1, -1}}},
};
/* clang-format on */

START_TEST(test_fixture) {
        _cleanup_(host_freep) Host *h = fixture_load_host(fixtures[_i].fixture);
        const Topology *t = h->topology;

        ck_assert_ptr_nonnull(t);
        assert_set(topology_smt_primary(t), fixtures[_i].smt_primary);
        for (unsigned p = 0; p < 3; p++)
                assert_set(topology_package(t, p), fixtures[_i].packages[p]);
        ck_assert_ptr_null(topology_package(t, 1u << 20));
        ck_assert_uint_eq(topology_n_llc(t), fixtures[_i].n_llc);
        for (unsigned n = 0; n < fixtures[_i].n_llc; n++)
                assert_set(topology_llc(t, n), fixtures[_i].llcs[n]);
        ck_assert_ptr_null(topology_llc(t, fixtures[_i].n_llc));
        for (unsigned k = 0; k < 4; k++) {
                unsigned c = fixtures[_i].cpus[k].cpu;
                ck_assert_int_eq(topology_core_of(t, c), fixtures[_i].cpus[k].core);
                assert_set(topology_siblings(t, c), fixtures[_i].cpus[k].siblings);
                ck_assert_int_eq(topology_package_of(t, c), fixtures[_i].cpus[k].package);
                ck_assert_int_eq(topology_llc_of(t, c), fixtures[_i].cpus[k].llc);
        }
        /* Past the host. */
        ck_assert_int_eq(topology_core_of(t, h->nr_cpu_ids), -1);
        ck_assert_ptr_null(topology_siblings(t, h->nr_cpu_ids));
        ck_assert_int_eq(topology_package_of(t, 100000), -1);
        ck_assert_int_eq(topology_llc_of(t, 100000), -1);
}
END_TEST

/* Every CPU has exactly one core; the core's lowest CPU is its primary. */
START_TEST(test_fixture_consistent) {
        _cleanup_(host_freep) Host *h = fixture_load_host(fixtures[_i].fixture);
        const Topology *t = h->topology;

        for (unsigned c = 0; c < h->nr_cpu_ids; c++) {
                const CpuSet *s = topology_siblings(t, c);
                int core = topology_core_of(t, c);
                ck_assert(cpuset_has(s, c));
                ck_assert_int_eq(cpuset_next(s, -1), core);
                ck_assert(cpuset_has(topology_smt_primary(t), (unsigned) core));
                ck_assert_int_eq(cpuset_has(topology_smt_primary(t), c), core == (int) c);
        }
}
END_TEST

/* ---- the pure builder on hostile or contradictory text ---- */

START_TEST(test_build_contradictions) {
        _cleanup_(topology_freep) Topology *t = NULL;
        _cleanup_(freep) char *error = NULL;
        /* cpu1 says it shares a core with 0, cpu0 says it is alone; cpu2's
         * list does not hold cpu2; cpu3's package is -1; a list with
         * surrounding whitespace. */
        TopologyCpuText in[] = {
                {"0\n", "0\n", "0-3\n"},
                {"0-1\n", "0\n", "0-3\n"},
                {"5\n", " 1 \n", "2\n"},
                {" 3 \n", "-1\n", NULL},
        };

        ck_assert_int_eq(topology_build(in, ELEMENTSOF(in), &t, &error), 0);
        ck_assert_ptr_null(error);
        /* cpu1's key is 0: one core {0,1}; cpu2's key is 2 (lowest of {5} ∪ {2}). */
        assert_set(topology_smt_primary(t), "0,2-3");
        assert_set(topology_siblings(t, 1), "0-1");
        ck_assert_int_eq(topology_core_of(t, 1), 0);
        assert_set(topology_package(t, 0), "0-1");
        assert_set(topology_package(t, 1), "2");
        ck_assert_int_eq(topology_package_of(t, 3), -1);
        ck_assert_uint_eq(topology_n_llc(t), 2);
        assert_set(topology_llc(t, 0), "0-1");
        assert_set(topology_llc(t, 1), "2");
        ck_assert_int_eq(topology_llc_of(t, 3), -1);
}
END_TEST

START_TEST(test_build_errors) {
        /* clang-format off */
        static const struct {
                TopologyCpuText cpu1;
                const char *message;
        } t[] = {
                {{"0-x\n", "0", "0-1"}, "cpu1: cannot parse topology/thread_siblings_list"},
                {{"1", "zero", "0-1"}, "cpu1: cannot parse topology/physical_package_id"},
                {{"1", "-2", "0-1"}, "cpu1: cannot parse topology/physical_package_id"},
                {{"1", "99999999999", "0-1"}, "cpu1: cannot parse topology/physical_package_id"},
                {{"1", "65536", "0-1"}, "cpu1: cannot parse topology/physical_package_id"},
                {{"1", "", "0-1"}, "cpu1: cannot parse topology/physical_package_id"},
                {{"1", "0", "0-70000"}, "cpu1: cannot parse the last-level cache's shared_cpu_list"},
                {{"1", "0", "1,,"}, "cpu1: cannot parse the last-level cache's shared_cpu_list"},
        };
        /* clang-format on */

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                TopologyCpuText in[2] = {{"0", "0", "0-1"}, t[i].cpu1};
                _cleanup_(freep) char *error = NULL;
                Topology *out = (Topology *) 0x1;
                int r = topology_build(in, 2, &out, &error);
                ck_assert_msg(r == -EBADMSG, "case %zu: r = %d", i, r);
                ck_assert_ptr_eq(out, (Topology *) 0x1);
                ck_assert_ptr_nonnull(error);
                ck_assert_msg(strstr(error, t[i].message), "case %zu: \"%s\"", i, error);
        }
}
END_TEST

START_TEST(test_build_empty_and_large) {
        _cleanup_(topology_freep) Topology *t0 = NULL, *t = NULL;
        TopologyCpuText *in = calloc(4096, sizeof(TopologyCpuText));
        char(*sib)[32] = calloc(4096, 32);

        ck_assert_int_eq(topology_build(NULL, 0, &t0, NULL), 0);
        assert_set(topology_smt_primary(t0), "");
        ck_assert_ptr_null(topology_siblings(t0, 0));
        /* 4096 CPUs in the far-apart numbering: c and c+2048 are one core. */
        for (unsigned c = 0; c < 4096; c++) {
                snprintf(sib[c], 32, "%u,%u", c % 2048, c % 2048 + 2048);
                in[c].thread_siblings = sib[c];
        }
        ck_assert_int_eq(topology_build(in, 4096, &t, NULL), 0);
        assert_set(topology_smt_primary(t), "0-2047");
        ck_assert_int_eq(topology_core_of(t, 4095), 2047);
        free(in);
        free(sib);
}
END_TEST

/* ---- trees built on the fly: reading and refreshing ---- */

#define C0 "sys/devices/system/cpu/cpu0/"
#define C1 "sys/devices/system/cpu/cpu1/"

/* Which cache is the last level: the highest level; at a tie a data or
 * unified cache over an instruction one; garbage levels never count. */
START_TEST(test_llc_choice) {
        static const char *const files[] = {
                "sys/devices/system/cpu/possible",
                "0-1\n",
                "sys/devices/system/cpu/online",
                "0-1\n",
                /* cpu0: L2 split into instruction (index1) and data (index2),
                 * then a level that is not a number. */
                C0 "cache/index0/level",
                "1\n",
                C0 "cache/index0/shared_cpu_list",
                "0\n",
                C0 "cache/index1/level",
                "2\n",
                C0 "cache/index1/type",
                "Instruction\n",
                C0 "cache/index1/shared_cpu_list",
                "0\n",
                C0 "cache/index2/level",
                "2\n",
                C0 "cache/index2/type",
                "Data\n",
                C0 "cache/index2/shared_cpu_list",
                "0-1\n",
                C0 "cache/index3/level",
                "three\n",
                C0 "cache/index3/shared_cpu_list",
                "0\n",
                /* cpu1: only an instruction cache at the top; index1 is
                 * missing, so index2 is never looked at. */
                C1 "cache/index0/level",
                "1\n",
                C1 "cache/index0/type",
                "Instruction\n",
                C1 "cache/index0/shared_cpu_list",
                "1\n",
                C1 "cache/index2/level",
                "3\n",
                C1 "cache/index2/shared_cpu_list",
                "0-1\n",
                NULL,
        };
        _cleanup_(fake_tree_free) char *root = fake_tree_make(files);
        _cleanup_(host_freep) Host *h = fixture_load_host(root);

        ck_assert_uint_eq(topology_n_llc(h->topology), 2);
        assert_set(topology_llc(h->topology, 0), "0");
        assert_set(topology_llc(h->topology, 1), "1");
        ck_assert_int_eq(topology_llc_of(h->topology, 0), 0);
}
END_TEST

/* The topology is re-read when the online CPUs change, and kept when they
 * do not (it is costly on big hosts and changes only with them). */
START_TEST(test_refresh) {
        static const char *const files[] = {
                "sys/devices/system/cpu/possible",
                "0-1\n",
                "sys/devices/system/cpu/online",
                "0-1\n",
                C0 "topology/thread_siblings_list",
                "0-1\n",
                C1 "topology/thread_siblings_list",
                "0-1\n",
                NULL,
        };
        _cleanup_(fake_tree_free) char *root = fake_tree_make(files);
        _cleanup_(host_freep) Host *h = fixture_load_host(root);
        const Topology *before = h->topology;

        assert_set(topology_smt_primary(h->topology), "0");
        /* A changed siblings file alone: not re-read. */
        fake_tree_write(root, C0 "topology/thread_siblings_list", "0\n");
        ck_assert_int_eq(host_refresh_cpus(h), 0);
        ck_assert_ptr_eq(h->topology, before);
        /* CPU 1 goes offline: its directory goes and CPU 0 is alone. */
        fake_tree_write(root, "sys/devices/system/cpu/online", "0\n");
        {
                _cleanup_(freep) char *f = xasprintf("%s/" C1 "topology/thread_siblings_list", root);
                ck_assert_int_eq(unlink(f), 0);
        }
        ck_assert_int_eq(host_refresh_cpus(h), 0);
        assert_set(topology_smt_primary(h->topology), "0-1");
        assert_set(topology_siblings(h->topology, 0), "0");
        /* Garbage after a hotplug fails the refresh and keeps the old state. */
        before = h->topology;
        fake_tree_write(root, "sys/devices/system/cpu/online", "0-1\n");
        fake_tree_write(root, C1 "topology/thread_siblings_list", "1-\n");
        ck_assert_int_eq(host_refresh_cpus(h), -EBADMSG);
        ck_assert_ptr_eq(h->topology, before);
        assert_set(h->online, "0");
}
END_TEST

extern Suite *topology_suite(void);
Suite *topology_suite(void) {
        Suite *s = suite_create("topology");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_fixture, 0, (int) ELEMENTSOF(fixtures));
        tcase_add_loop_test(tc, test_fixture_consistent, 0, (int) ELEMENTSOF(fixtures));
        tcase_add_test(tc, test_build_contradictions);
        tcase_add_test(tc, test_build_errors);
        tcase_add_test(tc, test_build_empty_and_large);
        tcase_add_test(tc, test_llc_choice);
        tcase_add_test(tc, test_refresh);
        suite_add_tcase(s, tc);
        return s;
}
