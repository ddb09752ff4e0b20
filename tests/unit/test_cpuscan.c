/* SPDX-License-Identifier: MIT */
/* ctl/cpuscan.c: the pure classification behind `cpus` and `audit`. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "ctl/cpuscan.h"
#include "testutil.h"

static CpuSet *L(const char *l) {
        CpuSet *s = NULL;
        if (!l)
                return NULL;
        ck_assert_int_eq(cpuset_parse_list(l, &s, NULL), 0);
        return s;
}

static const struct {
        bool kthread, nsa;
        const char *name, *mask, *rule, *applied, *skip;
        bool avoid, dry;
        int irq;
        IrqState irq_state;
        TaskClass cls;
        const char *why; /* substring; NULL: none */
} tasks[] = {
        {false, false, "sshd", "0-3", NULL, NULL, NULL, false, false, -1, 0, TASK_OTHER,
         "no rule matches it"},
        {false, false, "spin", "3", NULL, NULL, NULL, false, false, -1, 0, TASK_OTHER,
         "no rule matches it; its owner narrowed it to CPUs 3"},
        {false, false, "vcpu", "3", "vm", "3", NULL, false, false, -1, 0, TASK_OWNER, NULL},
        /* The kernel narrowed what the rule set (a cpuset): still the rule's. */
        {false, false, "vcpu", "3", "vm", "2-3", NULL, false, false, -1, 0, TASK_OWNER, NULL},
        {false, false, "vcpu", "0-3", "vm", "3", NULL, false, false, -1, 0, TASK_OTHER,
         "moved to CPUs 0-3 by someone else (rule vm set 3)"},
        {false, false, "vcpu", "0-3", "vm", "3", NULL, false, true, -1, 0, TASK_OTHER,
         "rule vm would set CPUs 3 (a dry run changes nothing)"},
        {false, false, "spin", "3", "shield", NULL, "no CPU of its own mask is left after 'avoid'", true,
         false, -1, 0, TASK_OTHER,
         "its owner narrowed it to CPUs 3, and rule shield (avoid) never widens a mask"},
        {false, false, "x", "0-3", "r", NULL, "every remaining CPU is isolated", false, false, -1, 0,
         TASK_OTHER, "rule r leaves it as it is: every remaining CPU is isolated"},
        {true, false, "kswapd0", "0-3", NULL, NULL, NULL, false, false, -1, 0, TASK_KTHREAD,
         "no kthreads = yes rule takes it"},
        {true, true, "ksoftirqd/3", "3", NULL, NULL, NULL, false, false, -1, 0, TASK_FIXED,
         "per-CPU kernel thread"},
        {true, true, "kworker/3:1-events", "3", NULL, NULL, NULL, false, false, -1, 0, TASK_FIXED,
         "per-CPU workqueue worker"},
        {true, true, "kworker/u8:2-events_unbound", "0-3", NULL, NULL, NULL, false, false, -1, 0, TASK_FIXED,
         "unbound workqueue worker"},
        {true, true, "kworker/R-rcu_gp", "0-3", NULL, NULL, NULL, false, false, -1, 0, TASK_FIXED, "rescuer"},
        /* An IRQ thread goes with its IRQ. */
        {true, false, "irq/25-ACPI:Ged", "3", "kshield", NULL, "no CPU", true, false, 25, IRQ_STATE_PENDING,
         TASK_MOVING, "IRQ 25's thread: it follows its IRQ, which moves off at its next interrupt"},
        {true, false, "irq/36-virtio1", "3", NULL, NULL, NULL, false, false, 36, IRQ_STATE_UNMOVABLE,
         TASK_FIXED, "which cannot move"},
        {true, false, "irq/38-eth0", "3", NULL, NULL, NULL, false, false, 38, IRQ_STATE_INTRUDER,
         TASK_KTHREAD, "which may be delivered there"},
        {true, false, "irq/39-eth0", "3", NULL, NULL, NULL, false, false, 39, IRQ_STATE_OWNED, TASK_OWNER,
         NULL},
        /* An IRQ thread whose IRQ is away: judged as any kernel thread. */
        {true, false, "irq/40-x", "0", NULL, NULL, NULL, false, false, 40, IRQ_STATE_AWAY, TASK_KTHREAD,
         "no kthreads = yes rule"},
};

START_TEST(test_task_class) {
        _cleanup_(cpuset_freep) CpuSet *mask = L(tasks[_i].mask), *applied = L(tasks[_i].applied),
                                       *online = L("0-3");
        _cleanup_(freep) char *why = NULL;
        TaskInfo t = {
                .kthread = tasks[_i].kthread,
                .no_setaffinity = tasks[_i].nsa,
                .name = tasks[_i].name,
                .mask = mask,
                .online = online,
                .rule = tasks[_i].rule,
                .applied = applied,
                .skip_reason = tasks[_i].skip,
                .avoid_rule = tasks[_i].avoid,
                .dry_run = tasks[_i].dry,
                .irq = tasks[_i].irq,
                .irq_state = tasks[_i].irq_state,
                .irq_why = "because",
        };
        TaskClass c = cpuscan_task_class(&t, &why);

        ck_assert_msg(c == tasks[_i].cls, "case %d: class %d", _i, c);
        if (tasks[_i].why) {
                ck_assert_ptr_nonnull(why);
                ck_assert_msg(strstr(why, tasks[_i].why), "case %d: %s", _i, why);
        } else if (c == TASK_OWNER && tasks[_i].irq < 0)
                ck_assert_ptr_null(why);
}
END_TEST

static const struct {
        const char *req, *eff, *rule, *applied, *skip;
        bool places, dry;
        int err;
        const char *on;
        IrqState state;
        const char *why;
} irqs[] = {
        {"0-2", "0", NULL, NULL, NULL, false, false, 0, "3", IRQ_STATE_AWAY, NULL},
        {"0-3", "0", NULL, NULL, NULL, false, false, 0, "3", IRQ_STATE_INTRUDER, "no IRQ rule takes it"},
        {"3", "3", "all", NULL, NULL, false, false, EPERM, "3", IRQ_STATE_UNMOVABLE, "kernel-managed"},
        {"0-2", "3", "all", "0-2", NULL, false, false, 0, "3", IRQ_STATE_PENDING,
         "requested off (CPUs 0-2); delivered on CPUs 3 until its next interrupt"},
        {"3", "3", "nic", "3", NULL, true, false, 0, "3", IRQ_STATE_OWNED, "rule nic puts it there"},
        {"0-3", "3", "all", "0-2", NULL, false, false, 0, "3", IRQ_STATE_INTRUDER,
         "moved to CPUs 0-3 by someone else (rule all wrote 0-2)"},
        {"0-3", "3", "all", "0-2", NULL, false, true, 0, "3", IRQ_STATE_INTRUDER, "would write CPUs 0-2"},
        {"0-3", "3", "nic", NULL, "rule vm manages no thread now", true, false, 0, "3", IRQ_STATE_INTRUDER,
         "rule nic leaves it as it is: rule vm manages no thread now"},
        {"0-3", NULL, NULL, NULL, NULL, false, false, 0, "3", IRQ_STATE_INTRUDER, "no IRQ rule"},
        {"0-3", "1", "some", "0-3", NULL, false, false, 0, "2-3", IRQ_STATE_INTRUDER,
         "rule some lets it use CPUs 0-3"},
};

START_TEST(test_irq_state) {
        _cleanup_(cpuset_freep) CpuSet *req = L(irqs[_i].req), *eff = L(irqs[_i].eff),
                                       *applied = L(irqs[_i].applied), *on = L(irqs[_i].on);
        _cleanup_(freep) char *why = NULL;
        IrqInfo q = {
                .requested = req,
                .effective = eff,
                .rule = irqs[_i].rule,
                .rule_places = irqs[_i].places,
                .applied = applied,
                .skip_reason = irqs[_i].skip,
                .unmovable_errno = irqs[_i].err,
                .dry_run = irqs[_i].dry,
        };
        IrqState st = cpuscan_irq_state(&q, on, &why);

        ck_assert_msg(st == irqs[_i].state, "case %d: %s", _i, cpuscan_irq_state_name(st));
        if (irqs[_i].why)
                ck_assert_msg(why && strstr(why, irqs[_i].why), "case %d: %s", _i, why ? why : "(none)");
}
END_TEST

START_TEST(test_sample_arg) {
        static const struct {
                const char *arg;
                int r;
                uint64_t usec;
        } t[] = {{"0", 0, 0},        {"1", 0, 1000000},   {"60", 0, 60000000}, {"61", -EINVAL, 0},
                 {"-1", -EINVAL, 0}, {"1.5", -EINVAL, 0}, {"", -EINVAL, 0},    {"99999999999", -EINVAL, 0},
                 {" 1", -EINVAL, 0}, {"0x1", -EINVAL, 0}};
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                OutBuf err = OUTBUF_INIT;
                uint64_t u = 7;
                ck_assert_msg(cpuscan_parse_sample(t[i].arg, &u, &err) == t[i].r, "case %zu", i);
                if (t[i].r == 0)
                        ck_assert_uint_eq(u, t[i].usec);
                else
                        ck_assert_ptr_nonnull(strstr(outbuf_str(&err), "--sample takes whole seconds"));
                outbuf_done(&err);
        }
}
END_TEST

extern Suite *cpuscan_suite(void);
Suite *cpuscan_suite(void) {
        Suite *s = suite_create("cpuscan");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_task_class, 0, (int) ELEMENTSOF(tasks));
        tcase_add_loop_test(tc, test_irq_state, 0, (int) ELEMENTSOF(irqs));
        tcase_add_test(tc, test_sample_arg);
        suite_add_tcase(s, tc);
        return s;
}
