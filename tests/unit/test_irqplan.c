/* SPDX-License-Identifier: MIT */
/* rules/irqplan.c: which rule takes an IRQ, the mask written for IRQs and
 * workqueues, and what irqbalance must be told. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "kernel/host.h"
#include "rules/conf.h"
#include "rules/irqplan.h"
#include "testutil.h"

static Config *load(const char *text) {
        Config *c = NULL;
        ConfDiags d = {0};
        int r = conf_load_string(text, "t.conf", NULL, &c, &d);
        ck_assert_msg(r == 0, "config rejected: %s", d.n ? d.v[0].message : "?");
        conf_diags_done(&d);
        return c;
}

static Host *host(const char *fixture) {
        Host *h = NULL;
        ck_assert_int_eq(host_load(fixture_path(fixture), &h, NULL), 0);
        return h;
}

static CpuSet *list(const char *l) {
        CpuSet *s = NULL;
        ck_assert_int_eq(cpuset_parse_list(l, &s, NULL), 0);
        return s;
}

static void assert_set(const CpuSet *s, const char *expected) {
        _cleanup_(freep) char *f = NULL;
        if (!expected) {
                ck_assert_ptr_null(s);
                return;
        }
        ck_assert_ptr_nonnull(s);
        f = cpuset_format_list(s);
        ck_assert_str_eq(f, expected);
}

static const struct {
        const char *irqs; /* the rule's irqs line */
        unsigned irq;
        const char *actions;
        bool match;
        const char *why; /* substring of why, when not */
} matches[] = {
        {"*", 38, "virtio2-input.0", true, NULL},
        {"*", 7, NULL, true, NULL},
        {"virtio2-*", 38, "virtio2-input.0", true, NULL},
        {"virtio2-*", 39, "virtio3-input.0", false, "IRQ 39 (virtio3-input.0) does not match 'virtio2-*'"},
        {"38", 38, "virtio2-input.0", true, NULL},
        {"3?", 38, "x", true, NULL},
        {"38", 380, "x", false, "does not match '38'"},
        {"pciehp", 32, "PCIe PME, pciehp", true, NULL},
        {"PCIe PME", 32, "PCIe PME, pciehp", true, NULL},
        {"PCIe*", 32, "PCIe PME, pciehp", true, NULL},
        {"PCIe PME, pciehp", 32, "PCIe PME, pciehp", true, NULL}, /* two items */
        {"*, !virtio1-req.*", 24, "virtio1-req.0", false,
         "IRQ 24 (virtio1-req.0) is excluded by '!virtio1-req.*'"},
        {"*, !virtio1-req.*", 29, "virtio2-input.0", true, NULL},
        {"!24", 24, "x", false, "excluded by '!24'"},
        {"!24", 25, "x", true, NULL}, /* only exclusions: every other IRQ */
        {"a, b", 5, "c", false, "does not match 'a' or 'b'"},
        {"a, b, c", 5, "d", false, "does not match 'a', 'b' or 'c'"},
        {"x\\*y", 5, "x*y", true, NULL},
        {"[0-9]", 5, NULL, true, NULL},
        {"*", 5, "", true, NULL},
        {"virtio*", 5, "", false, "IRQ 5 does not match"},
};

START_TEST(test_match) {
        _cleanup_(freep) char *text = xasprintf("[rule:r]\nirqs = %s\ncpus = 0\n", matches[_i].irqs);
        _cleanup_(config_freep) Config *c = load(text);
        _cleanup_(freep) char *why = NULL;
        IrqFacts f = {matches[_i].irq, matches[_i].actions};
        bool m = rule_match_irq(&c->rules[0], &f, &why);

        ck_assert_msg(m == matches[_i].match, "case %d: %d", _i, m);
        if (!m) {
                ck_assert_ptr_nonnull(why);
                ck_assert_msg(strstr(why, matches[_i].why), "case %d: %s", _i, why);
        }
}
END_TEST

START_TEST(test_decide) {
        _cleanup_(config_freep) Config *c = load("[rule:vm]\ncomm = qemu*\ncpus = 1\n"
                                                 "[rule:all]\nirqs = *\navoid = 3\n"
                                                 "[rule:nic]\nirqs = virtio2-*\nfollow = vm\npriority = 5\n"
                                                 "[rule:ahci]\nirqs = ahci*\ncpus = 0\n"
                                                 "[rule:wq1]\nworkqueues = yes\navoid = 3\n"
                                                 "[rule:wq2]\nworkqueues = yes\ncpus = 0\npriority = 1\n");
        _cleanup_(strvec_done) StrVec why = {0};
        IrqFacts nic = {29, "virtio2-input.0"}, ahci = {31, "ahci[0000:00:1f.2]"},
                 blk = {24, "virtio1-req.0"};

        ck_assert_str_eq(decide_irq_rule(c, &nic, NULL)->name, "nic");
        /* Ties go to the rule defined first. */
        ck_assert_str_eq(decide_irq_rule(c, &ahci, &why)->name, "all");
        ck_assert_uint_eq(why.n, 2);
        ck_assert_ptr_nonnull(
                strstr(why.v[0], "rule nic: IRQ 31 (ahci[0000:00:1f.2]) does not match 'virtio2-*'"));
        ck_assert_ptr_nonnull(strstr(
                why.v[1], "rule ahci: matches too, but rule all wins (priority 0 vs 0, defined first)"));
        ck_assert_str_eq(decide_irq_rule(c, &blk, NULL)->name, "all");
        ck_assert_str_eq(decide_workqueue_rule(c)->name, "wq2");
        ck_assert_str_eq(decide_default_affinity_rule(c)->name, "all");

        _cleanup_(config_freep) Config *none = load("[rule:vm]\ncomm = qemu*\ncpus = 1\n"
                                                    "[rule:some]\nirqs = virtio*\navoid = 3\n"
                                                    "[rule:all]\nirqs = *\ncpus = 0-2\n");
        ck_assert_ptr_null(decide_default_affinity_rule(none));
        ck_assert_ptr_null(decide_workqueue_rule(none));
        IrqFacts other = {99, "other"};
        ck_assert_str_eq(decide_irq_rule(none, &other, NULL)->name, "all");
}
END_TEST

static const struct {
        const char *fixture;
        const char *rule; /* cpus/avoid/follow and extras */
        const char *base, *follow;
        const char *requested, *effective; /* NULL effective: skipped */
        const char *reason;                /* substring of the skip reason */
} plans[] = {
        {"host-irq", "cpus = 0-1", NULL, NULL, "0-1", "0-1", NULL},
        {"host-irq", "cpus = 2-9", NULL, NULL, "2-9", "2-3", NULL},
        {"host-irq", "avoid = 3", "0-3", NULL, "0-2", "0-2", NULL},
        {"host-irq", "avoid = 3", "2", NULL, "2", "2", NULL},     /* never widened */
        {"host-irq", "avoid = 3", "3", NULL, "0-2", "0-2", NULL}, /* off the shield, unlike a task */
        {"host-irq", "avoid = 0-3", "0-3", NULL, "", NULL,
         "avoiding CPUs 0-3 leaves no online CPU (online: 0-3)"},
        {"host-irq", "avoid = 3", NULL, NULL, NULL, NULL, "its mask before pinnerd is unknown"},
        {"host-irq", "cpus = 8-9", NULL, NULL, "8-9", NULL, "none of CPUs 8-9 is online"},
        {"host-irq", "cpus = node:3", NULL, NULL, "", NULL, "node:3"},
        {"host-irq", "follow = vm", NULL, "1", "1", "1", NULL},
        {"host-irq", "follow = vm", NULL, "1,3", "1,3", "1,3", NULL},
        {"host-irq", "follow = vm", NULL, NULL, NULL, NULL, "rule vm manages no thread now"},
        {"host-irq", "follow = vm", NULL, "", NULL, NULL, "rule vm manages no thread now"},
        /* host-smt: isolated 4-7,12-15 */
        {"host-smt", "cpus = 2-5", NULL, NULL, "2-5", "2-3", NULL},
        {"host-smt", "cpus = 4-7", NULL, NULL, "4-7", NULL, "CPUs 4-7 are isolated"},
        {"host-smt", "cpus = 4-7\nisolated = allow", NULL, NULL, "4-7", "4-7", NULL},
        {"host-smt", "avoid = 0", "0-15", NULL, "1-15", "1-3,8-11", NULL},
        {"host-smt", "follow = vm", NULL, "4", "4", NULL, "the threads of rule vm are on isolated CPUs 4"},
        {"host-smt", "follow = vm\nisolated = allow", NULL, "4", "4", "4", NULL},
};

START_TEST(test_plan) {
        _cleanup_(freep) char *text =
                xasprintf("[rule:vm]\ncomm = qemu*\ncpus = 1\n[rule:r]\nirqs = *\n%s\n", plans[_i].rule);
        _cleanup_(config_freep) Config *c = load(text);
        _cleanup_(cpuset_freep) CpuSet *base = plans[_i].base ? list(plans[_i].base) : NULL;
        _cleanup_(cpuset_freep) CpuSet *follow = plans[_i].follow ? list(plans[_i].follow) : NULL;
        Host *h = host(plans[_i].fixture);
        TargetPlan p;

        ck_assert_int_eq(plan_target(h, config_find_rule(c, "r"), base, follow, &p), 0);
        assert_set(p.requested, plans[_i].requested);
        assert_set(p.effective, plans[_i].effective);
        if (plans[_i].reason) {
                ck_assert_ptr_nonnull(p.skip_reason);
                ck_assert_msg(strstr(p.skip_reason, plans[_i].reason), "case %d: %s", _i, p.skip_reason);
        } else
                ck_assert_ptr_null(p.skip_reason);
        target_plan_done(&p);
        host_free(h);
}
END_TEST

START_TEST(test_irqbalance_fix) {
        _cleanup_(cpuset_freep) CpuSet *need = list("2-3"), *none = list(""), *some = list("3"),
                                       *all = list("2-5");
        unsigned need_irqs[] = {38, 41, 38}, banned_irqs[] = {41};
        char *s;

        /* Nothing to ask for, or everything banned already. */
        ck_assert_ptr_null(irqplan_irqbalance_fix(NULL, NULL, NULL, 0, NULL, 0));
        ck_assert_ptr_null(irqplan_irqbalance_fix(need, all, NULL, 0, NULL, 0));
        ck_assert_ptr_null(irqplan_irqbalance_fix(none, NULL, need_irqs, 0, NULL, 0));

        s = irqplan_irqbalance_fix(need, some, NULL, 0, NULL, 0);
        ck_assert_ptr_nonnull(s);
        ck_assert_msg(strstr(s, "does not ban CPUs 2, which rules keep IRQs off") &&
                              strstr(s, "IRQBALANCE_BANNED_CPULIST=2-3"),
                      "%s", s);
        free(s);
        s = irqplan_irqbalance_fix(need, NULL, need_irqs, 3, banned_irqs, 1);
        ck_assert_msg(strstr(s, "IRQBALANCE_BANNED_CPULIST=2-3") &&
                              strstr(s, "it also does not leave alone IRQ 38, which rules place") &&
                              strstr(s, "add --banirq=38 to IRQBALANCE_ARGS"),
                      "%s", s);
        free(s);
        s = irqplan_irqbalance_fix(NULL, NULL, need_irqs, 2, NULL, 0);
        ck_assert_msg(strstr(s, "does not leave alone IRQs 38, 41") && strstr(s, "--banirq=38 --banirq=41"),
                      "%s", s);
        free(s);
}
END_TEST

extern Suite *irqplan_suite(void);
Suite *irqplan_suite(void) {
        Suite *s = suite_create("irqplan");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_match, 0, (int) ELEMENTSOF(matches));
        tcase_add_test(tc, test_decide);
        tcase_add_loop_test(tc, test_plan, 0, (int) ELEMENTSOF(plans));
        tcase_add_test(tc, test_irqbalance_fix);
        suite_add_tcase(s, tc);
        return s;
}
