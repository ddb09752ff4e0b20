/* SPDX-License-Identifier: MIT */
/* decide.c: the one rule walk, the verdicts and the spread load. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "rules/conf.h"
#include "rules/decide.h"
#include "kernel/host.h"
#include "rules/match.h"
#include "testutil.h"
#include "lib/util.h"

static Config *load(const char *text) {
        Config *c = NULL;
        ConfDiags d = {0};
        int r = conf_load_string(text, "d.conf", NULL, &c, &d);
        for (size_t i = 0; i < d.n; i++)
                fprintf(stderr, "%s:%u: %s\n", d.v[i].file, d.v[i].line, d.v[i].message);
        ck_assert_int_eq(r, 0);
        conf_diags_done(&d);
        return c;
}

static const char conf_text[] =
        "[rule:low]\ncomm = qemu*\ncpus = 0\n"
        "[rule:high]\ncomm = qemu-system*\nthreads = CPU */KVM\ncpus = 1\npriority = 5\n"
        "[rule:tie]\ncomm = qemu-system*\nthreads = CPU */KVM\ncpus = 0-1\npriority = 5\n";

/* The walk explain uses (with reasons) and the loop uses (without) agree with
 * each other and with match_thread, for every name. */
START_TEST(test_decide_rule_agrees) {
        Config *c = load(conf_text);
        static const char *const comms[] = {"qemu-system-x86", "qemu", "bash", "", "qemu-system-\n"};
        static const char *const threads[] = {"CPU 0/KVM", "worker", "", "CPU 1/KVM\xff"};

        for (size_t i = 0; i < ELEMENTSOF(comms); i++)
                for (size_t k = 0; k < ELEMENTSOF(threads); k++) {
                        TaskFacts f = {.pid = 1, .tid = 2, .comm = comms[i], .thread = threads[k]};
                        StrVec why = {0};
                        const Rule *a = decide_rule(c, &f, NULL), *b = decide_rule(c, &f, &why);
                        ck_assert_ptr_eq(a, b);
                        ck_assert_ptr_eq(a, match_thread(c, &f));
                        /* One line for every rule that did not win. */
                        ck_assert_uint_eq(why.n, c->n_rules - (a ? 1 : 0));
                        strvec_done(&why);
                }
        TaskFacts f = {.pid = 1, .tid = 2, .comm = "qemu-system-x86", .thread = "CPU 0/KVM"};
        StrVec why = {0};
        const Rule *r = decide_rule(c, &f, &why);
        ck_assert_str_eq(r->name, "high");
        int tie = 0;
        for (size_t i = 0; i < why.n; i++)
                tie += strstr(why.v[i],
                              "rule tie: matches too, but rule high wins (priority 5 vs 5, defined first)") !=
                       NULL;
        ck_assert_int_eq(tie, 1);
        strvec_done(&why);
        config_free(c);
}
END_TEST

/* explain says what is about the process once: the walk sorts its lines
 * into the process part and the thread part, and loses none. */
START_TEST(test_decide_rule_why) {
        Config *c = load(conf_text);
        static const struct {
                const char *comm, *thread, *winner;
                size_t n_process, n_thread;
        } t[] = {
                {"bash", "bash", NULL, 3, 0},                   /* no rule's comm */
                {"qemu", "worker", "low", 2, 0},                /* high, tie: comm qemu-system* */
                {"qemu-system-x86", "worker", "low", 0, 2},     /* high, tie: thread name */
                {"qemu-system-x86", "CPU 0/KVM", "high", 0, 2}, /* low, tie: beaten */
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                TaskFacts f = {.pid = 1, .tid = 2, .comm = t[i].comm, .thread = t[i].thread};
                StrVec wp = {0}, wt = {0}, all = {0};
                const Rule *r = decide_rule_why(c, &f, &wp, &wt);
                ck_assert_ptr_eq(r, decide_rule(c, &f, &all));
                if (t[i].winner)
                        ck_assert_str_eq(r->name, t[i].winner);
                else
                        ck_assert_ptr_null(r);
                ck_assert_msg(wp.n == t[i].n_process && wt.n == t[i].n_thread, "case %zu: %zu + %zu", i, wp.n,
                              wt.n);
                ck_assert_uint_eq(wp.n + wt.n, all.n);
                ck_assert_ptr_eq(decide_rule_why(c, &f, NULL, NULL), r);
                strvec_done(&wp);
                strvec_done(&wt);
                strvec_done(&all);
        }
        config_free(c);
}
END_TEST

START_TEST(test_decide_verdicts) {
        Config *c = load("[rule:a]\ncomm = x\ncpus = 1\n[rule:gone]\ncomm = y\ncpus = 7\n");
        Host *h = NULL;
        char *err = NULL;
        Decision d;

        ck_assert_int_eq(host_load(fixture_path("host-2cpu"), &h, &err), 0);
        ck_assert_int_eq(decide_thread(h, NULL, false, NULL, NULL, 0, NULL, NULL, &d), 0);
        ck_assert_int_eq(d.verdict, VERDICT_NONE);
        decision_done(&d);
        ck_assert_int_eq(decide_thread(h, NULL, true, NULL, NULL, 0, NULL, NULL, &d), 0);
        ck_assert_int_eq(d.verdict, VERDICT_RELEASE);
        ck_assert_str_eq(d.reason, "no rule applies any more");
        decision_done(&d);
        ck_assert_int_eq(decide_thread(h, &c->rules[0], true, NULL, NULL, 0, NULL, NULL, &d), 0);
        ck_assert_int_eq(d.verdict, VERDICT_APPLY);
        ck_assert_uint_eq(cpuset_count(d.plan.effective), 1);
        decision_done(&d);
        /* CPU 7 is not on this 2-CPU host: skipped with a reason. */
        ck_assert_int_eq(decide_thread(h, &c->rules[1], false, NULL, NULL, 0, NULL, NULL, &d), 0);
        ck_assert_int_eq(d.verdict, VERDICT_SKIP);
        ck_assert_ptr_nonnull(d.reason);
        decision_done(&d);
        host_free(h);
        config_free(c);
}
END_TEST

START_TEST(test_decide_spread_load) {
        unsigned counts[] = {1, 0, 2};
        unsigned *load = NULL, n = 0;

        ck_assert_int_eq(decide_spread_load(counts, 3, -1, 4, &load, &n), 0);
        ck_assert_uint_eq(n, 3);
        ck_assert_uint_eq(load[0], 1);
        ck_assert_uint_eq(load[2], 2);
        free(load);
        /* Holding CPU 2: it weighs nothing, every other CPU one more. */
        ck_assert_int_eq(decide_spread_load(counts, 3, 2, 4, &load, &n), 0);
        ck_assert_uint_eq(n, 4);
        ck_assert_uint_eq(load[0], 2);
        ck_assert_uint_eq(load[1], 1);
        ck_assert_uint_eq(load[2], 0);
        ck_assert_uint_eq(load[3], 1);
        free(load);
        /* A held CPU past the table and the host. */
        ck_assert_int_eq(decide_spread_load(NULL, 0, 9, 4, &load, &n), 0);
        ck_assert_uint_eq(n, 10);
        ck_assert_uint_eq(load[9], 0);
        ck_assert_uint_eq(load[0], 1);
        free(load);
}
END_TEST

/* Spread on an SMT host (host-smt: CPUs 2k and 2k+1 are one core): distinct
 * cores before siblings; index mode by the number in the name. */
START_TEST(test_spread_modes) {
        Config *c = load("[rule:yes]\ncomm = a\ncpus = 0-3\nspread = yes\n"
                         "[rule:idx]\ncomm = b\ncpus = 0-3\nspread = index\n");
        Host *h = NULL;
        char *err = NULL;
        unsigned load[4] = {0};
        int order[4];
        Decision d;

        ck_assert_int_eq(host_load(fixture_path("host-smt"), &h, &err), 0);
        for (int k = 0; k < 4; k++) {
                ck_assert_int_eq(decide_thread(h, &c->rules[0], false, NULL, load, 4, "w", NULL, &d), 0);
                ck_assert_int_eq(d.verdict, VERDICT_APPLY);
                order[k] = d.plan.spread_cpu;
                ck_assert_int_eq(cpuset_count(d.plan.effective), 1);
                load[order[k]]++;
                decision_done(&d);
        }
        /* Both cores first (0 then 2), then their siblings. */
        ck_assert_int_eq(order[0], 0);
        ck_assert_int_eq(order[1], 2);
        ck_assert_int_eq(order[2], 1);
        ck_assert_int_eq(order[3], 3);

        /* Index: created out of order, each lands by its number, mod 4. */
        static const struct {
                const char *name;
                int cpu;
        } idx[] = {{"CPU 3/KVM", 3}, {"CPU 1/KVM", 1}, {"CPU 0/KVM", 0},
                   {"CPU 2/KVM", 2}, {"CPU 6/KVM", 2}, {"vcpu12", 0}};
        for (size_t k = 0; k < ELEMENTSOF(idx); k++) {
                ck_assert_int_eq(decide_thread(h, &c->rules[1], false, NULL, NULL, 0, idx[k].name, NULL, &d),
                                 0);
                ck_assert_int_eq(d.plan.spread_cpu, idx[k].cpu);
                decision_done(&d);
        }
        /* No number: spread = yes. */
        unsigned busy[4] = {1, 0, 0, 0};
        ck_assert_int_eq(decide_thread(h, &c->rules[1], false, NULL, busy, 4, "worker", NULL, &d), 0);
        ck_assert_int_eq(d.plan.spread_index, -1);
        ck_assert_int_eq(d.plan.spread_cpu, 2);
        decision_done(&d);
        host_free(h);
        config_free(c);
}
END_TEST

/* avoid: the thread's own mask minus the CPUs, never widened. */
START_TEST(test_avoid) {
        Config *c = load("[rule:shield]\ncomm = *\navoid = 1\n");
        Host *h = NULL;
        char *err = NULL;
        CpuSet *both = NULL, *one = NULL, *zero = NULL;
        Decision d;

        ck_assert_int_eq(host_load(fixture_path("host-2cpu"), &h, &err), 0);
        ck_assert(c->rules[0].avoid);
        ck_assert_int_eq(cpuset_parse_list("0-1", &both, NULL), 0);
        ck_assert_int_eq(cpuset_parse_list("1", &one, NULL), 0);
        ck_assert_int_eq(cpuset_parse_list("0", &zero, NULL), 0);
        ck_assert_int_eq(decide_thread(h, &c->rules[0], false, NULL, NULL, 0, "t", both, &d), 0);
        ck_assert_int_eq(d.verdict, VERDICT_APPLY);
        ck_assert(cpuset_equal(d.plan.effective, zero));
        decision_done(&d);
        /* Narrowed to 0 on purpose (taskset -c 0): stays 0, never gains 1. */
        ck_assert_int_eq(decide_thread(h, &c->rules[0], false, NULL, NULL, 0, "t", zero, &d), 0);
        ck_assert(cpuset_equal(d.plan.effective, zero));
        decision_done(&d);
        /* Only on the avoided CPU: nothing left, skipped with a reason. */
        ck_assert_int_eq(decide_thread(h, &c->rules[0], false, NULL, NULL, 0, "t", one, &d), 0);
        ck_assert_int_eq(d.verdict, VERDICT_SKIP);
        ck_assert_ptr_nonnull(strstr(d.reason, "avoid"));
        decision_done(&d);
        /* Mask unknown: nothing planned. */
        ck_assert_int_eq(decide_thread(h, &c->rules[0], false, NULL, NULL, 0, "t", NULL, &d), 0);
        ck_assert_int_eq(d.verdict, VERDICT_SKIP);
        decision_done(&d);
        cpuset_free(both);
        cpuset_free(one);
        cpuset_free(zero);
        host_free(h);
        config_free(c);
}
END_TEST

START_TEST(test_name_index) {
        ck_assert_int_eq(plan_name_index("CPU 3/KVM"), 3);
        ck_assert_int_eq(plan_name_index("CPU 12/TCG"), 12);
        ck_assert_int_eq(plan_name_index("lcore-worker-7"), 7);
        ck_assert_int_eq(plan_name_index("worker"), -1);
        ck_assert_int_eq(plan_name_index(""), -1);
        ck_assert_int_eq(plan_name_index(NULL), -1);
        ck_assert_int_eq(plan_name_index("x1234567890"), -1); /* too long a number */
        ck_assert_int_eq(plan_name_index("a007"), 7);
}
END_TEST

extern Suite *decide_suite(void);
Suite *decide_suite(void) {
        Suite *s = suite_create("decide");
        TCase *tc = tcase_create("decide");
        tcase_add_test(tc, test_decide_rule_agrees);
        tcase_add_test(tc, test_decide_rule_why);
        tcase_add_test(tc, test_decide_verdicts);
        tcase_add_test(tc, test_decide_spread_load);
        tcase_add_test(tc, test_spread_modes);
        tcase_add_test(tc, test_name_index);
        tcase_add_test(tc, test_avoid);
        suite_add_tcase(s, tc);
        return s;
}
