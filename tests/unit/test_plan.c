/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules/conf.h"
#include "kernel/host.h"
#include "rules/plan.h"
#include "testutil.h"

static CpuSet *list(const char *text) {
        CpuSet *s = NULL;
        ck_assert_int_eq(cpuset_parse_list(text, &s, NULL), 0);
        return s;
}

static void assert_list(const CpuSet *s, const char *expect, const char *what) {
        char *l = cpuset_format_list(s);
        ck_assert_ptr_nonnull(l);
        ck_assert_msg(strcmp(l, expect) == 0, "%s: got '%s', want '%s'", what, l, expect);
        free(l);
}

/* A Host built by hand, as host_load would leave it: no files needed. */
static Host *host_make(const char *possible, const char *online, const char *isolated, unsigned n_nodes,
                       unsigned node_size) {
        Host *h = calloc(1, sizeof(Host));

        ck_assert_ptr_nonnull(h);
        h->rootfd = -1;
        h->possible = list(possible);
        h->online = list(online);
        h->isolated = list(isolated);
        h->nohz_full = list("");
        h->housekeeping = cpuset_dup(h->online);
        cpuset_andnot(h->housekeeping, h->isolated);
        h->nr_cpu_ids = (unsigned) cpuset_last(h->possible) + 1;
        h->affinity_bytes = (h->nr_cpu_ids + 63) / 64 * 8;
        h->n_nodes = n_nodes;
        if (n_nodes) {
                h->nodes = calloc(n_nodes, sizeof(CpuSet *));
                ck_assert_ptr_nonnull(h->nodes);
                for (unsigned i = 0; i < n_nodes; i++) {
                        h->nodes[i] = cpuset_new();
                        ck_assert_int_eq(
                                cpuset_add_range(h->nodes[i], i * node_size, (i + 1) * node_size - 1), 0);
                }
        }
        return h;
}

static void host_unmake(Host *h) {
        cpuset_free(h->possible);
        cpuset_free(h->online);
        cpuset_free(h->isolated);
        cpuset_free(h->nohz_full);
        cpuset_free(h->housekeeping);
        for (unsigned i = 0; i < h->n_nodes; i++)
                cpuset_free(h->nodes[i]);
        free(h->nodes);
        free(h);
}

/* One rule "r" with the given action lines. A `cpus` with the isolated term
 * in a rule that excludes isolated CPUs is refused at load (conf-lint.c);
 * the planner still meets such a Rule and must say why it skips, so it is
 * loaded with isolated = allow and then told to exclude them. */
static Config *rule(const char *actions) {
        bool exclude = strstr(actions, "isolated") && !strstr(actions, "isolated = allow");
        char *text = xasprintf("[rule:r]\ncomm = x\n%s\n%s", actions, exclude ? "isolated = allow\n" : "");
        Config *c = NULL;
        ConfDiags d = {0};

        ck_assert_int_eq(conf_load_string(text, "p.conf", NULL, &c, &d), 0);
        if (exclude)
                c->rules[0].isolated_allow = false;
        conf_diags_done(&d);
        free(text);
        return c;
}

START_TEST(test_steps_kept) {
        Host *h = host_make("0-7", "0-5", "4-5", 0, 0);
        Config *c = rule("cpus = 2-7");
        CpuSet *cs = list("0-6");
        Plan p;

        ck_assert_int_eq(plan_thread(h, &c->rules[0], cs, NULL, 0, &p), 0);
        assert_list(p.requested, "2-7", "requested");
        assert_list(p.in_cpuset, "2-6", "in_cpuset");
        assert_list(p.in_online, "2-5", "in_online");
        assert_list(p.effective, "2-3", "effective");
        assert_list(p.dropped, "4-7", "dropped");
        ck_assert_ptr_null(p.skip_reason);
        plan_done(&p);
        plan_done(&p); /* idempotent */

        /* No cpuset limit. */
        ck_assert_int_eq(plan_thread(h, &c->rules[0], NULL, NULL, 0, &p), 0);
        assert_list(p.in_cpuset, "2-7", "in_cpuset");
        assert_list(p.effective, "2-3", "effective");
        plan_done(&p);
        config_free(c);

        /* isolated = allow keeps the isolated CPUs. */
        c = rule("cpus = 2-7\nisolated = allow");
        ck_assert_int_eq(plan_thread(h, &c->rules[0], cs, NULL, 0, &p), 0);
        assert_list(p.effective, "2-5", "effective");
        assert_list(p.dropped, "6-7", "dropped");
        plan_done(&p);
        config_free(c);

        cpuset_free(cs);
        host_unmake(h);
}
END_TEST

START_TEST(test_skip_reasons) {
        const struct {
                const char *actions;
                const char *cpuset;
                const char *reason;
                const char *requested;
        } t[] = {
                {"cpus = 2-3", "0-1", "no requested CPU is in the thread's cpuset (0-1)", "2-3"},
                {"cpus = 6-7", NULL, "no requested CPU is online", "6-7"},
                {"cpus = 64-127", NULL, "no requested CPU is online", "64-127"},
                {"cpus = 4-5", NULL, "every remaining CPU is isolated (set isolated = allow)", "4-5"},
                {"cpus = 4-7", "0-5", "every remaining CPU is isolated (set isolated = allow)", "4-7"},
                {"cpus = isolated", NULL,
                 "cpus = isolated, but the rule does not allow isolated CPUs (set isolated = allow)", "4-5"},
                {"cpus = node:9", NULL, "node:9 has no CPU on this host (NUMA nodes: 0-1)", ""},
                {"cpus = node:1", "0-3", "no requested CPU is in the thread's cpuset (0-3)", "4-7"},
        };
        Host *h = host_make("0-7", "0-5", "4-5", 2, 4);

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                Config *c = rule(t[i].actions);
                CpuSet *cs = t[i].cpuset ? list(t[i].cpuset) : NULL;
                Plan p;

                ck_assert_int_eq(plan_thread(h, &c->rules[0], cs, NULL, 0, &p), 0);
                ck_assert_msg(cpuset_empty(p.effective), "case %zu", i);
                ck_assert_msg(p.skip_reason && strcmp(p.skip_reason, t[i].reason) == 0, "case %zu: '%s'", i,
                              p.skip_reason);
                assert_list(p.requested, t[i].requested, t[i].actions);
                ck_assert(cpuset_equal(p.dropped, p.requested));
                plan_done(&p);
                cpuset_free(cs);
                config_free(c);
        }
        host_unmake(h);

        /* A host with nothing isolated. */
        h = host_make("0-3", "0-3", "", 1, 4);
        Config *c = rule("cpus = isolated\nisolated = allow");
        Plan p;
        ck_assert_int_eq(plan_thread(h, &c->rules[0], NULL, NULL, 0, &p), 0);
        ck_assert_str_eq(p.skip_reason, "no CPU is isolated on this host");
        plan_done(&p);
        config_free(c);
        host_unmake(h);
}
END_TEST

START_TEST(test_resolve) {
        const struct {
                const char *actions, *expect;
        } t[] = {
                {"cpus = 1,3", "1,3"},          {"cpus = 0xc", "2-3"},      {"cpus = all", "0-5"},
                {"cpus = housekeeping", "0-3"}, {"cpus = isolated", "4-5"}, {"cpus = node:0", "0-3"},
                {"cpus = node:1", "4-7"},       {"cpus = node:2", ""},
        };
        Host *h = host_make("0-7", "0-5", "4-5", 2, 4);

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                Config *c = rule(t[i].actions);
                CpuSet *s = NULL;
                ck_assert_int_eq(plan_resolve_cpus(h, &c->rules[0].cpus, &s), 0);
                assert_list(s, t[i].expect, t[i].actions);
                cpuset_free(s);
                config_free(c);
        }
        /* housekeeping falls back to online − isolated when the host has none computed. */
        cpuset_free(h->housekeeping);
        h->housekeeping = NULL;
        Config *c = rule("cpus = housekeeping");
        CpuSet *s = NULL;
        ck_assert_int_eq(plan_resolve_cpus(h, &c->rules[0].cpus, &s), 0);
        assert_list(s, "0-3", "housekeeping fallback");
        cpuset_free(s);
        config_free(c);
        host_unmake(h);
}
END_TEST

/* 4096 CPUs, isolated 4-63, 8 nodes of 512: nothing here fits a cpu_set_t. */
START_TEST(test_big_host) {
        Host *h = host_make("0-4095", "0-4095", "4-63", 8, 512);
        Config *c;
        Plan p;

        c = rule("cpus = node:3");
        ck_assert_int_eq(plan_thread(h, &c->rules[0], NULL, NULL, 0, &p), 0);
        assert_list(p.effective, "1536-2047", "node:3");
        ck_assert(cpuset_empty(p.dropped));
        plan_done(&p);
        config_free(c);

        c = rule("cpus = all");
        ck_assert_int_eq(plan_thread(h, &c->rules[0], NULL, NULL, 0, &p), 0);
        assert_list(p.effective, "0-3,64-4095", "all, isolated excluded");
        ck_assert(cpuset_equal(p.effective, h->housekeeping));
        assert_list(p.dropped, "4-63", "dropped");
        plan_done(&p);
        config_free(c);

        c = rule("cpus = all\nisolated = allow");
        ck_assert_int_eq(plan_thread(h, &c->rules[0], NULL, NULL, 0, &p), 0);
        ck_assert_uint_eq(cpuset_count(p.effective), 4096);
        plan_done(&p);
        config_free(c);

        c = rule("cpus = node:0");
        CpuSet *cs = list("0-7,4000-4095");
        ck_assert_int_eq(plan_thread(h, &c->rules[0], cs, NULL, 0, &p), 0);
        assert_list(p.in_cpuset, "0-7", "node:0 in cpuset");
        assert_list(p.effective, "0-3", "node:0 effective");
        assert_list(p.dropped, "4-511", "node:0 dropped");
        plan_done(&p);
        cpuset_free(cs);
        config_free(c);

        c = rule("cpus = 4000-4095\nspread = yes");
        unsigned *load = calloc(4096, sizeof(unsigned));
        for (unsigned i = 0; i < 200; i++) {
                ck_assert_int_eq(plan_thread(h, &c->rules[0], NULL, load, 4096, &p), 0);
                int cpu = cpuset_next(p.effective, -1);
                ck_assert_int_eq(cpu, 4000 + (int) (i % 96));
                load[cpu]++;
                plan_done(&p);
        }
        free(load);
        config_free(c);
        host_unmake(h);
}
END_TEST

/* Ten threads of one process placed in tid order over four CPUs: round
 * robin; when one exits, the others keep their CPUs and a newcomer fills
 * the gap. The daemon plans a thread with its own placement not counted. */
START_TEST(test_spread) {
        Host *h = host_make("0-7", "0-7", "", 1, 8);
        Config *c = rule("cpus = 0-3\nspread = yes");
        unsigned load[8] = {0};
        int placed[11];
        Plan p;

        for (int i = 0; i < 10; i++) {
                ck_assert_int_eq(plan_thread(h, &c->rules[0], NULL, load, 8, &p), 0);
                ck_assert_uint_eq(cpuset_count(p.effective), 1);
                placed[i] = cpuset_next(p.effective, -1);
                ck_assert_int_eq(placed[i], i % 4);
                /* dropped is taken before spread picks: nothing was dropped */
                ck_assert(cpuset_empty(p.dropped));
                assert_list(p.in_online, "0-3", "in_online");
                load[placed[i]]++;
                plan_done(&p);
        }
        ck_assert_uint_eq(load[0], 3);
        ck_assert_uint_eq(load[1], 3);
        ck_assert_uint_eq(load[2], 2);
        ck_assert_uint_eq(load[3], 2);

        /* Thread 5 (on CPU 1) exits. */
        load[placed[5]]--;
        for (int i = 0; i < 10; i++) {
                if (i == 5)
                        continue;
                load[placed[i]]--;
                ck_assert_int_eq(plan_thread(h, &c->rules[0], NULL, load, 8, &p), 0);
                ck_assert_msg(cpuset_next(p.effective, -1) == placed[i], "thread %d moved", i);
                load[placed[i]]++;
                plan_done(&p);
        }
        ck_assert_int_eq(plan_thread(h, &c->rules[0], NULL, load, 8, &p), 0);
        ck_assert_int_eq(cpuset_next(p.effective, -1), 1);
        plan_done(&p);

        /* A load table shorter than the host: CPUs past it carry no load. */
        unsigned short_load[2] = {5, 5};
        ck_assert_int_eq(plan_thread(h, &c->rules[0], NULL, short_load, 2, &p), 0);
        ck_assert_int_eq(cpuset_next(p.effective, -1), 2);
        plan_done(&p);
        /* No table at all: the lowest CPU. */
        ck_assert_int_eq(plan_thread(h, &c->rules[0], NULL, NULL, 0, &p), 0);
        ck_assert_int_eq(cpuset_next(p.effective, -1), 0);
        plan_done(&p);
        config_free(c);

        /* Spread within what is left after the cpuset. */
        c = rule("cpus = 0-3\nspread = yes");
        CpuSet *cs = list("2-7");
        unsigned l2[8] = {0, 0, 1, 0};
        ck_assert_int_eq(plan_thread(h, &c->rules[0], cs, l2, 8, &p), 0);
        ck_assert_int_eq(cpuset_next(p.effective, -1), 3);
        assert_list(p.dropped, "0-1", "dropped");
        plan_done(&p);
        cpuset_free(cs);
        config_free(c);
        host_unmake(h);
}
END_TEST

/* ---- topology terms and partitions on the fixture hosts ---- */

static Host *fixture_host(const char *name) {
        Host *h = NULL;
        char *error = NULL;
        int r = host_load(fixture_path(name), &h, &error);
        ck_assert_msg(r == 0, "host_load(%s): %s", name, error ? error : "");
        free(error);
        return h;
}

/* clang-format off */
static const struct {
        const char *fixture, *cpus;
        const char *requested;
        const char *effective; /* NULL: skipped with `reason` */
        const char *reason;
} terms[] = {
        {"host-smt", "smt-primary", "0,2,4,6,8,10,12,14", "0,2,8,10", NULL},
        {"host-smt", "package:1", "8-15", "8-11", NULL},
        {"host-smt", "package:1 & smt-primary", "8,10,12,14", "8,10", NULL},
        {"host-smt", "smt-primary&package:1", "8,10,12,14", "8,10", NULL},
        {"host-smt", "llc:1", "4-7", NULL, "every remaining CPU is isolated (set isolated = allow)"},
        {"host-smt", "llc:2 & smt-primary", "8,10", "8,10", NULL},
        {"host-smt", "node:1 & smt-primary", "8,10,12,14", "8,10", NULL},
        {"host-smt", "2-11 & smt-primary", "2,4,6,8,10", "2,8,10", NULL},
        {"host-smt", "isolated & smt-primary", "4,6,12,14", NULL,
         "every remaining CPU is isolated (set isolated = allow)"},
        {"host-smt", "housekeeping & smt-primary", "0,2,8,10", "0,2,8,10", NULL},
        {"host-smt", "all & 0xff & smt-primary", "0,2,4,6", "0,2", NULL},
        {"host-smt", "package:2", "", NULL, "package:2 has no CPU on this host (packages: 0-1)"},
        {"host-smt", "llc:4 & smt-primary", "", NULL, "llc:4 has no CPU on this host (LLC domains: 0-3)"},
        {"host-smt", "node:0 & package:1", "", NULL,
         "node:0 & package:1 share no CPU on this host"},
        {"host-smt", "node:2", "", NULL, "node:2 has no CPU on this host (NUMA nodes: 0-1)"},
        /* Siblings far apart; CPU 63 offline. */
        {"host-far64", "smt-primary", "0-31,63", "0-31", NULL},
        {"host-far64", "package:0 & smt-primary", "0-15", "0-15", NULL},
        {"host-far64", "package:1 & smt-primary", "16-31", "16-31", NULL},
        {"host-far64", "llc:1", "16-31,48-62", "16-31,48-62", NULL},
        {"host-far64", "node:1 & smt-primary", "16-31", "16-31", NULL},
        {"host-far64", "30-34 & smt-primary", "30-31", "30-31", NULL},
        {"host-far64", "32-47 & smt-primary", "", NULL,
         "32-47 & smt-primary share no CPU on this host"},
        {"host-far64", "llc:2", "", NULL, "llc:2 has no CPU on this host (LLC domains: 0-1)"},
        /* isolcpus and partitions. */
        {"host-cgv2iso", "isolated", "1,3-4,6-7", NULL,
         "cpus = isolated, but the rule does not allow isolated CPUs (set isolated = allow)"},
        {"host-cgv2iso", "housekeeping", "0,2,5", "0,2,5", NULL},
        {"host-cgv2iso", "isolated & smt-primary", "1,3-4,6-7", NULL,
         "every remaining CPU is isolated (set isolated = allow)"},
        {"host-cgv2iso-6.1", "housekeeping & package:0", "0,2,5", "0,2,5", NULL},
        /* No topology files: every CPU its own core, no package, no LLC. */
        {"host-2cpu", "smt-primary", "0-1", "0-1", NULL},
        {"host-2cpu", "package:0", "", NULL, "package:0 has no CPU on this host (no packages known)"},
        {"host-2cpu", "llc:0", "", NULL, "llc:0 has no CPU on this host (no LLC domains known)"},
        {"host-4096", "smt-primary & node:7", "3584-4095", "3584-4095", NULL},
};
/* clang-format on */

START_TEST(test_terms_on_fixtures) {
        Host *h = fixture_host(terms[_i].fixture);
        char *actions = xasprintf("cpus = %s", terms[_i].cpus);
        Config *c = rule(actions);
        Plan p;

        ck_assert_int_eq(plan_thread(h, &c->rules[0], NULL, NULL, 0, &p), 0);
        assert_list(p.requested, terms[_i].requested, terms[_i].cpus);
        if (terms[_i].effective) {
                assert_list(p.effective, terms[_i].effective, terms[_i].cpus);
                ck_assert_ptr_null(p.skip_reason);
        } else {
                ck_assert(cpuset_empty(p.effective));
                ck_assert_msg(p.skip_reason && strcmp(p.skip_reason, terms[_i].reason) == 0, "%s: '%s'",
                              terms[_i].cpus, p.skip_reason);
        }
        plan_done(&p);
        config_free(c);
        free(actions);
        host_free(h);
}
END_TEST

/* A thread inside an isolated partition runs on its partition's CPUs; a
 * thread outside loses every isolated CPU (SPEC: runtime isolation). */
START_TEST(test_partition_threads) {
        static const struct {
                const char *cpuset, *effective;
        } t[] = {
                {"3-4", "3-4"},   /* /iso */
                {"6", "6"},       /* /machine.slice/vm2.scope */
                {"0-1,5", "0,5"}, /* the root: isolcpus CPU 1 still removed */
                {NULL, "0,2,5"},  /* no cpuset known */
                {"1", ""},        /* isolcpus is not a partition */
        };
        Host *h = fixture_host("host-cgv2iso");
        Config *c = rule("cpus = all");

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                CpuSet *cs = t[i].cpuset ? list(t[i].cpuset) : NULL;
                Plan p;
                ck_assert_int_eq(plan_thread(h, &c->rules[0], cs, NULL, 0, &p), 0);
                assert_list(p.effective, t[i].effective, t[i].cpuset ? t[i].cpuset : "(none)");
                plan_done(&p);
                cpuset_free(cs);
        }
        config_free(c);
        host_free(h);
}
END_TEST

/* A term with no CPU on the host warns at load, naming file:line; it is
 * never an error. */
START_TEST(test_load_warnings) {
        char dir[] = "/tmp/pinnerd-plan-XXXXXX";
        Host *h = fixture_host("host-smt");
        Config *c = NULL;
        ConfDiags d = {0};
        char *path;
        FILE *f;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        path = xasprintf("%s/p.conf", dir);
        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        fputs("[rule:a]\ncomm = a\ncpus = package:1 & smt-primary\n"
              "[rule:b]\ncomm = b\ncpus = package:3\n"
              "[rule:c]\ncomm = c\ncpus = node:0 & llc:3\n"
              "[rule:d]\ncomm = d\ncpus = 0-3 & llc:9\n",
              f);
        fclose(f);
        ConfLoadOptions o = {.main_path = path, .possible = h->possible, .host = h};
        ck_assert_int_eq(conf_load(&o, &c, &d), 0);
        ck_assert_uint_eq(d.n, 3);
        ck_assert_uint_eq(d.n_errors, 0);
        const char *expect[] = {
                ":6: warning: cpus 'package:3': package:3 has no CPU on this host (packages: 0-1); the "
                "rule's "
                "threads are skipped here",
                ":9: warning: cpus 'node:0 & llc:3': node:0 & llc:3 share no CPU on this host",
                ":12: warning: cpus '0-3 & llc:9': llc:9 has no CPU on this host (LLC domains: 0-3)",
        };
        for (size_t i = 0; i < 3; i++) {
                char *m = conf_diag_format(&d.v[i]);
                ck_assert_msg(strstr(m, expect[i]), "%s lacks %s", m, expect[i]);
                free(m);
        }
        /* Without a host, nothing to say. */
        conf_diags_done(&d);
        config_free(c);
        c = NULL;
        o.host = NULL;
        ck_assert_int_eq(conf_load(&o, &c, &d), 0);
        ck_assert_uint_eq(d.n, 0);
        conf_diags_done(&d);
        config_free(c);
        unlink(path);
        rmdir(dir);
        free(path);
        host_free(h);
}
END_TEST

extern Suite *plan_suite(void);
Suite *plan_suite(void) {
        Suite *s = suite_create("plan");
        TCase *tc = tcase_create("plan");

        tcase_add_test(tc, test_steps_kept);
        tcase_add_test(tc, test_skip_reasons);
        tcase_add_test(tc, test_resolve);
        tcase_add_test(tc, test_big_host);
        tcase_add_test(tc, test_spread);
        tcase_add_loop_test(tc, test_terms_on_fixtures, 0, (int) ELEMENTSOF(terms));
        tcase_add_test(tc, test_partition_threads);
        tcase_add_test(tc, test_load_warnings);
        suite_add_tcase(s, tc);
        return s;
}
