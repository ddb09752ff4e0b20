/* SPDX-License-Identifier: MIT */
/* rules/memplan.c: "every managed thread of this process that a memory rule
 * manages is confined to the CPUs of which set of nodes?", on the two- and
 * four-node fixtures, and the policy `pinnerctl run` sets before the exec. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "kernel/host.h"
#include "lib/util.h"
#include "rules/memplan.h"
#include "testutil.h"

static CpuSet *set_of(const char *list) {
        CpuSet *s = NULL;
        CpuSetError err;
        if (!list)
                return NULL;
        ck_assert_int_eq(cpuset_parse_list(list, &s, &err), 0);
        return s;
}

#define K MEMORY_KEEP
#define F MEMORY_FOLLOW
#define I MEMORY_INTERLEAVE

/* Threads as "mode:cpus" pairs; cpus NULL = no mask from pinnerd. */
typedef struct T {
        MemoryMode mode;
        const char *cpus;
} T;

/* clang-format off */
static const struct {
        const char *fixture;
        T threads[4];
        size_t n;
        const char *mems;      /* NULL: every node */
        MemVerdict verdict;
        MemoryMode mode;
        const char *cpu_nodes; /* NULL: none */
        const char *nodes;     /* NULL: none */
} cases[] = {
        /* Two nodes: 0-3 and 4-7. */
        {"host-numa2", {{F, "4-5"}}, 1, NULL, MEM_MOVE, F, "1", "1"},
        {"host-numa2", {{F, "4"}, {F, "7"}}, 2, NULL, MEM_MOVE, F, "1", "1"},
        {"host-numa2", {{F, "3-4"}}, 1, NULL, MEM_EVERYWHERE, F, "0-1", NULL},
        {"host-numa2", {{F, "0"}, {F, "7"}}, 2, NULL, MEM_EVERYWHERE, F, "0-1", NULL},
        {"host-numa2", {{F, "0-7"}}, 1, NULL, MEM_EVERYWHERE, F, "0-1", NULL},
        /* Interleaving over every node is a placement of its own. */
        {"host-numa2", {{I, "0-7"}}, 1, NULL, MEM_MOVE, I, "0-1", "0-1"},
        {"host-numa2", {{I, "0-1"}}, 1, NULL, MEM_MOVE, I, "0", "0"},
        /* Threads of a keep rule do not count: the vCPUs follow, the rest stay. */
        {"host-numa2", {{F, "4"}, {F, "5"}, {K, "0-3"}}, 3, NULL, MEM_MOVE, F, "1", "1"},
        {"host-numa2", {{K, "0-3"}, {K, "4"}}, 2, NULL, MEM_KEEP, K, NULL, NULL},
        {"host-numa2", {{0}}, 0, NULL, MEM_KEEP, K, NULL, NULL},
        /* Follow and interleave together: follow. */
        {"host-numa2", {{F, "4"}, {I, "5"}}, 2, NULL, MEM_MOVE, F, "1", "1"},
        /* A thread the rule could not place: nowhere to follow. */
        {"host-numa2", {{F, "4"}, {F, NULL}}, 2, NULL, MEM_UNPLACED, F, NULL, NULL},
        {"host-numa2", {{F, ""}}, 1, NULL, MEM_UNPLACED, F, NULL, NULL},
        {"host-numa2", {{K, NULL}, {F, "4"}}, 2, NULL, MEM_MOVE, F, "1", "1"},
        /* The cpuset's mems. */
        {"host-numa2", {{F, "4-5"}}, 1, "0", MEM_FORBIDDEN, F, "1", NULL},
        {"host-numa2", {{F, "4-5"}}, 1, "0-1", MEM_MOVE, F, "1", "1"},
        {"host-numa2", {{I, "0-7"}}, 1, "1", MEM_MOVE, I, "0-1", "1"},
        {"host-numa2", {{F, "4-5"}}, 1, "", MEM_FORBIDDEN, F, "1", NULL},
        /* CPUs no node has (a mask past the host): nothing to follow. */
        {"host-numa2", {{F, "100-101"}}, 1, NULL, MEM_EVERYWHERE, F, "", NULL},
        /* Four nodes: 0-3, 4-7, 8-11, 12-15. */
        {"host-numa4", {{F, "8-9"}}, 1, NULL, MEM_MOVE, F, "2", "2"},
        {"host-numa4", {{F, "8"}, {F, "12"}}, 2, NULL, MEM_MOVE, F, "2-3", "2-3"},
        {"host-numa4", {{F, "1"}, {F, "13"}}, 2, NULL, MEM_MOVE, F, "0,3", "0,3"},
        {"host-numa4", {{F, "0-11"}}, 1, NULL, MEM_MOVE, F, "0-2", "0-2"},
        {"host-numa4", {{F, "0-15"}}, 1, NULL, MEM_EVERYWHERE, F, "0-3", NULL},
        {"host-numa4", {{I, "8-15"}}, 1, NULL, MEM_MOVE, I, "2-3", "2-3"},
        {"host-numa4", {{I, "8-15"}}, 1, "2", MEM_MOVE, I, "2-3", "2"},
        {"host-numa4", {{F, "8-15"}}, 1, "0-1", MEM_FORBIDDEN, F, "2-3", NULL},
        /* One node: memory is local already. */
        {"host-2cpu", {{F, "1"}}, 1, NULL, MEM_ONE_NODE, F, NULL, NULL},
        {"host-2cpu", {{K, "1"}}, 1, NULL, MEM_KEEP, K, NULL, NULL},
        /* Eight nodes of 512 CPUs: a 4096-CPU mask. */
        {"host-4096", {{F, "3584-4095"}}, 1, NULL, MEM_MOVE, F, "7", "7"},
        {"host-4096", {{F, "511-512"}}, 1, NULL, MEM_MOVE, F, "0-1", "0-1"},
};
/* clang-format on */

START_TEST(test_decide) {
        _cleanup_(host_freep) Host *h = fixture_load_host(cases[_i].fixture);
        _cleanup_(cpuset_freep) CpuSet *mems = set_of(cases[_i].mems);
        CpuSet *masks[4] = {0};
        MemThread t[4];
        static const char *const names[] = {"a", "b", "c", "d"};
        _cleanup_(memplan_done) MemPlan p = {0};

        for (size_t k = 0; k < cases[_i].n; k++) {
                masks[k] = set_of(cases[_i].threads[k].cpus);
                t[k] = (MemThread){.applied = masks[k], .mode = cases[_i].threads[k].mode, .rule = names[k]};
        }
        ck_assert_int_eq(memplan_decide(h, t, cases[_i].n, mems, &p), 0);
        ck_assert_msg(p.verdict == cases[_i].verdict, "case %d: verdict %d, expected %d (%s)", _i, p.verdict,
                      cases[_i].verdict, p.reason ? p.reason : "");
        ck_assert_msg(p.mode == cases[_i].mode, "case %d: mode %d", _i, p.mode);
        if (cases[_i].cpu_nodes) {
                ck_assert_msg(p.cpu_nodes, "case %d: no cpu_nodes", _i);
                _cleanup_(freep) char *f = cpuset_format_list(p.cpu_nodes);
                ck_assert_msg(strcmp(f, cases[_i].cpu_nodes) == 0, "case %d: cpu_nodes %s", _i, f);
        } else
                ck_assert_ptr_null(p.cpu_nodes);
        if (cases[_i].nodes) {
                _cleanup_(freep) char *f = cpuset_format_list(p.nodes);
                ck_assert_msg(strcmp(f, cases[_i].nodes) == 0, "case %d: nodes %s", _i, f);
                ck_assert_ptr_null(p.reason);
        } else {
                ck_assert_ptr_null(p.nodes);
                ck_assert_ptr_nonnull(p.reason);
        }
        /* The first rule that asks names the plan. */
        if (p.verdict != MEM_KEEP)
                ck_assert_ptr_nonnull(p.rule);
        for (size_t k = 0; k < cases[_i].n; k++)
                cpuset_free(masks[k]);
}
END_TEST

static void plan_of(const Host *h, MemoryMode mode, const char *cpus, MemPlan *p) {
        _cleanup_(cpuset_freep) CpuSet *m = set_of(cpus);
        MemThread t = {.applied = m, .mode = mode, .rule = "r"};
        ck_assert_int_eq(memplan_decide(h, &t, 1, NULL, p), 0);
}

/* Once per change of placement: what counts as a change. */
START_TEST(test_same) {
        _cleanup_(host_freep) Host *h = fixture_load_host("host-numa4");
        static const struct {
                MemoryMode am;
                const char *a;
                MemoryMode bm;
                const char *b;
                bool same;
        } t[] = {
                {F, "8", F, "9-11", true},     /* another CPU of the same node */
                {F, "8", F, "12", false},      /* another node */
                {F, "8", F, "8-12", false},    /* a node more */
                {F, "8-11", I, "8-11", false}, /* another way */
                {F, "0-15", F, "0-15", true},  /* nowhere, twice */
                {F, "0-15", K, "4", true},     /* nowhere either way */
                {F, "0-15", F, "4", false},    /* from nowhere to somewhere */
                {I, "0-15", I, "0-15", true},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_(memplan_done) MemPlan a = {0}, b = {0};
                plan_of(h, t[i].am, t[i].a, &a);
                plan_of(h, t[i].bm, t[i].b, &b);
                ck_assert_msg(memplan_same(&a, &b) == t[i].same, "case %zu", i);
                ck_assert_msg(memplan_same(&b, &a) == t[i].same, "case %zu reversed", i);
        }
}
END_TEST

/* What `pinnerctl run` sets before the exec. */
START_TEST(test_run_policy) {
        _cleanup_(host_freep) Host *two = fixture_load_host("host-numa2"),
                                   *one = fixture_load_host("host-2cpu");
        static const struct {
                int host; /* 0 two nodes, 1 one node */
                MemoryMode mode;
                const char *cpus, *mems;
                int r;
                NumaPolicy policy;
                const char *nodes;
        } t[] = {
                {0, F, "4-7", NULL, 0, NUMA_POLICY_PREFERRED, "1"},
                {0, F, "6", "0-1", 0, NUMA_POLICY_PREFERRED, "1"},
                {0, I, "0-7", NULL, 0, NUMA_POLICY_INTERLEAVE, "0-1"},
                {0, F, "0-7", NULL, 0, NUMA_POLICY_DEFAULT, NULL},
                {0, K, "4-7", NULL, 0, NUMA_POLICY_DEFAULT, NULL},
                {0, F, "4-7", "0", -EACCES, NUMA_POLICY_DEFAULT, NULL},
                {1, F, "0-1", NULL, 0, NUMA_POLICY_DEFAULT, NULL},
                {1, I, "0-1", NULL, 0, NUMA_POLICY_DEFAULT, NULL},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_(cpuset_freep) CpuSet *cpus = set_of(t[i].cpus), *mems = set_of(t[i].mems),
                                               *nodes = NULL;
                NumaPolicy p = (NumaPolicy) 99;
                int r = memplan_run_policy(t[i].host ? one : two, t[i].mode, cpus, mems, &p, &nodes);
                ck_assert_msg(r == t[i].r, "case %zu: r=%d", i, r);
                if (r < 0) {
                        ck_assert_int_eq(p, 99); /* untouched */
                        continue;
                }
                ck_assert_msg(p == t[i].policy, "case %zu: policy %d", i, p);
                if (!t[i].nodes) {
                        ck_assert_ptr_null(nodes);
                        continue;
                }
                _cleanup_(freep) char *f = cpuset_format_list(nodes);
                ck_assert_str_eq(f, t[i].nodes);
        }
}
END_TEST

Suite *memplan_suite(void) {
        Suite *s = suite_create("memplan");
        TCase *tc = tcase_create("memplan");
        tcase_add_loop_test(tc, test_decide, 0, (int) ELEMENTSOF(cases));
        tcase_add_test(tc, test_same);
        tcase_add_test(tc, test_run_policy);
        suite_add_tcase(s, tc);
        return s;
}
