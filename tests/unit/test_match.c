/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rules/conf.h"
#include "rules/match.h"
#include "testutil.h"

static Config *load(const char *text) {
        Config *c = NULL;
        ConfDiags d = {0};
        int r = conf_load_string(text, "m.conf", NULL, &c, &d);

        for (size_t i = 0; i < d.n; i++)
                fprintf(stderr, "%s:%u: %s\n", d.v[i].file, d.v[i].line, d.v[i].message);
        ck_assert_int_eq(r, 0);
        conf_diags_done(&d);
        return c;
}

/* ---- cgroup path → unit ---- */

START_TEST(test_cgroup_path_unit) {
        static const struct {
                const char *path, *unit;
        } t[] = {
                {"/system.slice/nginx.service", "nginx.service"},
                {"/system.slice/nginx.service/worker", "nginx.service"},
                {"/user.slice/user-1000.slice/user@1000.service/app.slice/x.service", "user@1000.service"},
                {"/user.slice/user-1000.slice/session-3.scope", "session-3.scope"},
                {"/machine.slice/machine-qemu\\x2d1\\x2dvm.scope/libvirt/vcpu0",
                 "machine-qemu\\x2d1\\x2dvm.scope"},
                {"/init.scope", "init.scope"},
                {"/system.slice/systemd-journald.socket", "systemd-journald.socket"},
                {"/system.slice/-.mount", "-.mount"},
                {"/system.slice/dev-sda2.swap", "dev-sda2.swap"},
                {"/x.target", "x.target"},
                {"/x.timer", "x.timer"},
                {"/x.device", "x.device"},
                {"/x.path", "x.path"},
                {"/proc-sys-fs-binfmt_misc.automount", "proc-sys-fs-binfmt_misc.automount"},
                {"//system.slice//a.service//", "a.service"},
                {"system.slice/a.service", "a.service"},
                {"/", NULL},
                {"", NULL},
                {"/system.slice", NULL},
                {"/system.slice/", NULL},
                {"/docker/0123abcd", NULL},
                {"/system.slice/docker/x.service", NULL}, /* first non-slice is no unit */
                {"/.service", NULL},
                {"/a.services", NULL},
                {"/a.slice.service", "a.slice.service"},
        };
        char buf[256];

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                const char *u = cgroup_path_unit(t[i].path, buf, sizeof buf);
                if (!t[i].unit)
                        ck_assert_msg(u == NULL, "%s → %s", t[i].path, u);
                else {
                        ck_assert_msg(u != NULL, "%s → NULL", t[i].path);
                        ck_assert_str_eq(u, t[i].unit);
                }
        }
        /* A unit name that does not fit the buffer is no unit, never a prefix. */
        ck_assert_ptr_null(cgroup_path_unit("/system.slice/nginx.service", buf, 13));
        ck_assert_ptr_nonnull(cgroup_path_unit("/system.slice/nginx.service", buf, 14));
        ck_assert_ptr_null(cgroup_path_unit(NULL, buf, sizeof buf));
}
END_TEST

/* ---- which rule wins ---- */

static const char rules_text[] = "[rule:qemu-vcpu]\n"
                                 "comm = qemu-system-*\n"
                                 "comm = kvm\n"
                                 "threads = CPU */KVM\n"
                                 "cpus = 1\n"
                                 "priority = 10\n"
                                 "[rule:qemu-rest]\n"
                                 "comm = qemu-system-*\n"
                                 "comm = kvm\n"
                                 "cpus = 0\n"
                                 "[rule:paren]\n"
                                 "comm = )\n"
                                 "cpus = 0\n"
                                 "[rule:space]\n"
                                 "comm = a b*\n"
                                 "cpus = 0\n"
                                 "[rule:newline]\n"
                                 "comm = new?line\n"
                                 "cpus = 0\n"
                                 "[rule:fifteen]\n"
                                 "comm = 12345678901234?\n"
                                 "cpus = 0\n"
                                 "[rule:and]\n"
                                 "comm = worker\n"
                                 "user = 1000\n"
                                 "user = 1001\n"
                                 "parent = sshd\n"
                                 "cpus = 0\n"
                                 "[rule:exe]\n"
                                 "exe = /usr/bin/*\n"
                                 "cmdline = ^python3 .*server\n"
                                 "cmdline = ^ruby\n"
                                 "cpus = 0\n"
                                 "[rule:unit]\n"
                                 "unit = nginx.service\n"
                                 "cgroup = /system.slice/*\n"
                                 "cpus = 0\n"
                                 "[rule:kworkers]\n"
                                 "kthreads = yes\n"
                                 "comm = kworker/*\n"
                                 "cpus = 0\n"
                                 "[rule:tie-a]\n"
                                 "comm = tie\n"
                                 "cpus = 0\n"
                                 "priority = 5\n"
                                 "[rule:tie-b]\n"
                                 "comm = ti*\n"
                                 "cpus = 0\n"
                                 "priority = 5\n"
                                 "[rule:tie-high]\n"
                                 "comm = tie\n"
                                 "threads = hot\n"
                                 "cpus = 0\n"
                                 "priority = 7\n"
                                 "[rule:low]\n"
                                 "comm = *\n"
                                 "cpus = 0\n"
                                 "priority = -1\n";

#define F(...) ((TaskFacts){.pid = 10, .tid = 11, __VA_ARGS__})

START_TEST(test_match_table) {
        const struct {
                TaskFacts f;
                const char *rule;
        } t[] = {
                {F(.comm = "qemu-system-x86", .thread = "CPU 0/KVM"), "qemu-vcpu"},
                {F(.comm = "kvm", .thread = "CPU 12/KVM"), "qemu-vcpu"},
                {F(.comm = "qemu-system-x86", .thread = "qemu-system-x86"), "qemu-rest"},
                {F(.comm = "qemu-system-x86", .thread = "IO mon_iothread"), "qemu-rest"},
                {F(.comm = "qemu-system-x86", .thread = NULL), "qemu-rest"},
                {F(.comm = ")", .thread = ")"), "paren"},
                {F(.comm = ") (", .thread = "x"), "low"},
                {F(.comm = "a b", .thread = "x"), "space"},
                {F(.comm = "a bc d", .thread = "x"), "space"},
                {F(.comm = "ab", .thread = "x"), "low"},
                {F(.comm = "new\nline", .thread = "x"), "newline"},
                {F(.comm = "123456789012345", .thread = "x"), "fifteen"},
                {F(.comm = "12345678901234", .thread = "x"), "low"},
                /* AND across keys, OR within a key */
                {F(.comm = "worker", .uid = 1000, .has_uid = true, .parent_comm = "sshd"), "and"},
                {F(.comm = "worker", .uid = 1001, .has_uid = true, .parent_comm = "sshd"), "and"},
                {F(.comm = "worker", .uid = 1002, .has_uid = true, .parent_comm = "sshd"), "low"},
                {F(.comm = "worker", .uid = 1000, .has_uid = true, .parent_comm = "bash"), "low"},
                {F(.comm = "worker", .uid = 1000, .has_uid = true, .parent_comm = NULL), "low"},
                {F(.comm = "worker", .uid = 1000, .parent_comm = "sshd"), "low"},
                {F(.comm = "python3", .exe = "/usr/bin/python3.11", .cmdline = "python3 -m http.server"),
                 "exe"},
                {F(.comm = "ruby", .exe = "/usr/bin/ruby", .cmdline = "ruby app.rb"), "exe"},
                {F(.comm = "python3", .exe = "/usr/local/bin/python3", .cmdline = "python3 -m http.server"),
                 "low"},
                {F(.comm = "python3", .exe = "/usr/bin/python3", .cmdline = "/usr/bin/python3 server"),
                 "low"},
                {F(.comm = "python3", .exe = "/usr/bin/python3", .cmdline = NULL), "low"},
                {F(.comm = "nginx", .cgroup = "/system.slice/nginx.service"), "unit"},
                {F(.comm = "nginx", .cgroup = "/system.slice/nginx.service/worker"), "unit"},
                {F(.comm = "nginx", .cgroup = "/user.slice/nginx.service"), "low"},
                {F(.comm = "nginx", .cgroup = "/system.slice/apache2.service"), "low"},
                {F(.comm = "nginx", .cgroup = NULL), "low"},
                /* kernel threads: only kthreads rules, and those only kernel threads */
                {F(.comm = "kworker/0:1", .thread = "kworker/0:1", .kthread = true), "kworkers"},
                {F(.comm = "ksoftirqd/0", .thread = "ksoftirqd/0", .kthread = true), NULL},
                {F(.comm = "kworker/0:1", .thread = "kworker/0:1", .kthread = false), "low"},
                {F(.comm = "qemu-system-x86", .thread = "CPU 0/KVM", .kthread = true), NULL},
                /* priority, then definition order */
                {F(.comm = "tie", .thread = "cold"), "tie-a"},
                {F(.comm = "tie", .thread = "hot"), "tie-high"},
                {F(.comm = "tiz", .thread = "hot"), "tie-b"},
                {F(.comm = NULL), NULL},
        };
        Config *c = load(rules_text);

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                const Rule *r = match_thread(c, &t[i].f);
                if (!t[i].rule)
                        ck_assert_msg(r == NULL, "case %zu matched %s", i, r ? r->name : "");
                else {
                        ck_assert_msg(r != NULL, "case %zu: no rule, expected %s", i, t[i].rule);
                        ck_assert_msg(strcmp(r->name, t[i].rule) == 0, "case %zu: %s, expected %s", i,
                                      r->name, t[i].rule);
                }
        }
        config_free(c);
}
END_TEST

/* kthreads = yes alone: every kernel thread, no user thread. */
START_TEST(test_kthreads_only_rule) {
        Config *c = load("[rule:k]\nkthreads = yes\ncpus = 0\n");
        TaskFacts k = F(.comm = "rcu_sched", .kthread = true), u = F(.comm = "bash");

        ck_assert_ptr_eq(match_thread(c, &k), &c->rules[0]);
        ck_assert_ptr_null(match_thread(c, &u));
        config_free(c);
}
END_TEST

/* A no from match_comm_possible must never hide a match: check it against
 * match_thread over names that do and do not match, with and without a
 * rule that has no comm key. */
START_TEST(test_comm_possible) {
        Config *c = load("[rule:q]\ncomm = qemu-*\ncomm = kvm\nthreads = CPU *\ncpus = 0\n\n"
                         "[rule:k]\nkthreads = yes\ncomm = kworker/*\ncpus = 0\n");
        static const struct {
                const char *comm;
                bool kthread, possible;
        } t[] = {
                {"qemu-system-x86", false, true},
                {"kvm", false, true},
                {"bash", false, false},
                {"kworker/0:1", true, true},
                {"kworker/0:1", false, false},
                {"qemu-x", true, false},
                {"", false, false},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                ck_assert_msg(match_comm_possible(c, t[i].comm, t[i].kthread) == t[i].possible, "case %zu",
                              i);
                TaskFacts f = F(.comm = t[i].comm, .thread = "CPU 0/KVM", .kthread = t[i].kthread);
                if (match_thread(c, &f))
                        ck_assert(t[i].possible);
        }
        config_free(c);

        /* A rule without a comm key can match any name. */
        c = load("[rule:u]\nuser = 0\ncpus = 0\n");
        ck_assert(match_comm_possible(c, "anything", false));
        ck_assert(!match_comm_possible(c, "anything", true));
        config_free(c);
}
END_TEST

/* ---- why ---- */

START_TEST(test_why) {
        const struct {
                const char *rule;
                TaskFacts f;
                bool thread; /* ask rule_match_thread instead */
                const char *why;
        } t[] = {
                {"qemu-vcpu", F(.comm = "bash"), false,
                 "comm 'bash' does not match any of 'qemu-system-*' or 'kvm'"},
                {"paren", F(.comm = "bash"), false, "comm 'bash' does not match ')'"},
                {"paren", F(.comm = "new\nline\t'x'\\"), false,
                 "comm 'new\\nline\\t\\'x\\'\\\\' does not match ')'"},
                {"paren", F(.comm = "\x1b[2J\xff"), false, "comm '\\x1b[2J\\xff' does not match ')'"},
                {"paren", F(.comm = NULL), false,
                 "comm is unknown (the task is gone or the file was unreadable)"},
                {"qemu-vcpu", F(.comm = "kvm", .thread = "kvm-nx-lpage-re"), true,
                 "thread name 'kvm-nx-lpage-re' does not match 'CPU */KVM'"},
                {"qemu-vcpu", F(.comm = "kvm", .thread = NULL), true,
                 "thread name is unknown (the task is gone or the file was unreadable)"},
                {"and", F(.comm = "worker", .uid = 7, .has_uid = true, .parent_comm = "sshd"), false,
                 "uid 7 is not any of '1000' or '1001'"},
                {"and", F(.comm = "worker", .has_uid = false, .parent_comm = "sshd"), false,
                 "uid is unknown (the task is gone or the file was unreadable)"},
                {"and", F(.comm = "worker", .uid = 1000, .has_uid = true, .parent_comm = "bash"), false,
                 "parent 'bash' does not match 'sshd'"},
                {"exe", F(.comm = "x", .exe = "/bin/x"), false, "exe '/bin/x' does not match '/usr/bin/*'"},
                {"exe", F(.comm = "x", .exe = "/usr/bin/x", .cmdline = "x y"), false,
                 "cmdline 'x y' does not match any of '^python3 .*server' or '^ruby'"},
                {"unit", F(.comm = "x", .cgroup = "/"), false, "cgroup '/' does not match '/system.slice/*'"},
                {"unit", F(.comm = "x", .cgroup = "/system.slice/docker/x"), false,
                 "cgroup '/system.slice/docker/x' belongs to no systemd unit"},
                {"unit", F(.comm = "x", .cgroup = "/system.slice/a.service"), false,
                 "unit 'a.service' does not match 'nginx.service'"},
                {"kworkers", F(.comm = "kworker/0:1"), false,
                 "not a kernel thread, and the rule sets kthreads = yes"},
                {"low", F(.comm = "kworker/0:1", .kthread = true), false,
                 "a kernel thread, and the rule does not set kthreads = yes"},
        };
        Config *c = load(rules_text);

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                const Rule *r = config_find_rule(c, t[i].rule);
                char *why = NULL;
                bool m;

                ck_assert_ptr_nonnull(r);
                m = t[i].thread ? rule_match_thread(r, &t[i].f, &why) : rule_match_process(r, &t[i].f, &why);
                ck_assert_msg(!m, "case %zu matched", i);
                ck_assert_msg(why != NULL, "case %zu: no why", i);
                ck_assert_msg(strcmp(why, t[i].why) == 0, "case %zu:\n  got  %s\n  want %s", i, why,
                              t[i].why);
                free(why);
                /* A match leaves why alone. */
        }
        const Rule *r = config_find_rule(c, "paren");
        TaskFacts f = F(.comm = ")");
        char *why = NULL;
        ck_assert(rule_match_process(r, &f, &why));
        ck_assert_ptr_null(why);
        ck_assert(rule_match_thread(r, &f, &why)); /* no thread filter: every thread */
        ck_assert_ptr_null(why);
        config_free(c);
}
END_TEST

/* ---- negation ---- */

static const char neg_text[] = "[rule:not-ssh]\n" /* only negated: anything but */
                               "comm = !ssh*\n"
                               "cpus = 0\n"
                               "[rule:vms]\n" /* positive OR'ed, then each negated AND NOT */
                               "comm = qemu-*\n"
                               "comm = kvm\n"
                               "cgroup = !/kubepods.slice/*\n"
                               "cgroup = !*/docker-*.scope\n"
                               "threads = !*worker*\n"
                               "cpus = 1\n"
                               "[rule:units]\n"
                               "unit = !nginx.service\n"
                               "user = !0\n"
                               "cmdline = !--no-pin\n"
                               "exe = !/usr/sbin/*\n"
                               "parent = !cron\n"
                               "cpus = 0\n"
                               "[rule:both]\n"
                               "unit = *.service\n"
                               "unit = !nginx.service\n"
                               "cpus = 0\n";

START_TEST(test_negation) {
        Config *c = load(neg_text);
        const Rule *not_ssh = config_find_rule(c, "not-ssh"), *vms = config_find_rule(c, "vms"),
                   *units = config_find_rule(c, "units"), *both = config_find_rule(c, "both");
        const struct {
                const Rule *r;
                TaskFacts f;
                bool process, thread;
                const char *why; /* for a mismatch */
        } t[] = {
                {not_ssh, F(.comm = "bash", .thread = "bash"), true, true, NULL},
                {not_ssh, F(.comm = "sshd", .thread = "sshd"), false, true,
                 "comm 'sshd' is excluded by '!ssh*'"},
                {not_ssh, F(.comm = NULL), false, true,
                 "comm is unknown (the task is gone or the file was unreadable)"},
                {vms, F(.comm = "qemu-kvm", .cgroup = "/machine.slice/vm1.scope", .thread = "CPU 0/KVM"),
                 true, true, NULL},
                {vms, F(.comm = "kvm", .cgroup = "/kubepods.slice/pod1/x", .thread = "CPU 0/KVM"), false,
                 true, "cgroup '/kubepods.slice/pod1/x' is excluded by '!/kubepods.slice/*'"},
                {vms, F(.comm = "kvm", .cgroup = "/system.slice/docker-ab12.scope", .thread = "t"), false,
                 true, "cgroup '/system.slice/docker-ab12.scope' is excluded by '!*/docker-*.scope'"},
                {vms, F(.comm = "bash", .cgroup = "/"), false, true,
                 "comm 'bash' does not match any of 'qemu-*' or 'kvm'"},
                /* An unreadable cgroup is not taken as "not excluded". */
                {vms, F(.comm = "kvm", .cgroup = NULL), false, true,
                 "cgroup is unknown (the task is gone or the file was unreadable)"},
                {vms, F(.comm = "kvm", .cgroup = "/", .thread = "io-worker-1"), true, false,
                 "thread name 'io-worker-1' is excluded by '!*worker*'"},
                {units,
                 F(.comm = "x", .cgroup = "/system.slice/a.service", .uid = 1000, .has_uid = true,
                   .cmdline = "x --pin", .exe = "/usr/bin/x", .parent_comm = "bash"),
                 true, true, NULL},
                /* No unit at all is not the excluded unit. */
                {units,
                 F(.comm = "x", .cgroup = "/docker/123", .uid = 1000, .has_uid = true, .cmdline = "x",
                   .exe = "/usr/bin/x", .parent_comm = "bash"),
                 true, true, NULL},
                {units,
                 F(.comm = "x", .cgroup = "/system.slice/nginx.service/w", .uid = 1000, .has_uid = true,
                   .cmdline = "x", .exe = "/usr/bin/x", .parent_comm = "bash"),
                 false, true, "unit 'nginx.service' is excluded by '!nginx.service'"},
                {units,
                 F(.comm = "x", .cgroup = "/", .uid = 0, .has_uid = true, .cmdline = "x", .exe = "/usr/bin/x",
                   .parent_comm = "bash"),
                 false, true, "uid '0' is excluded by '!0'"},
                {units,
                 F(.comm = "x", .cgroup = "/", .uid = 5, .has_uid = true, .cmdline = "x --no-pin",
                   .exe = "/usr/bin/x", .parent_comm = "bash"),
                 false, true, "cmdline 'x --no-pin' is excluded by '!--no-pin'"},
                {units,
                 F(.comm = "x", .cgroup = "/", .uid = 5, .has_uid = true, .cmdline = "x",
                   .exe = "/usr/sbin/x", .parent_comm = "bash"),
                 false, true, "exe '/usr/sbin/x' is excluded by '!/usr/sbin/*'"},
                {units,
                 F(.comm = "x", .cgroup = "/", .uid = 5, .has_uid = true, .cmdline = "x", .exe = "/usr/bin/x",
                   .parent_comm = "cron"),
                 false, true, "parent 'cron' is excluded by '!cron'"},
                {units, F(.comm = "x", .cgroup = "/", .exe = "/usr/bin/x", .cmdline = "x", .has_uid = false),
                 false, true, "uid is unknown (the task is gone or the file was unreadable)"},
                /* Positive and negated lines of one key. */
                {both, F(.comm = "x", .cgroup = "/system.slice/a.service"), true, true, NULL},
                {both, F(.comm = "x", .cgroup = "/system.slice/nginx.service"), false, true,
                 "unit 'nginx.service' is excluded by '!nginx.service'"},
                {both, F(.comm = "x", .cgroup = "/docker/1"), false, true,
                 "cgroup '/docker/1' belongs to no systemd unit"},
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                char *why = NULL;
                bool p = rule_match_process(t[i].r, &t[i].f, &why);
                ck_assert_msg(p == t[i].process, "case %zu: process %d", i, p);
                if (p) {
                        ck_assert_ptr_null(why);
                        p = rule_match_thread(t[i].r, &t[i].f, &why);
                        ck_assert_msg(p == t[i].thread, "case %zu: thread %d", i, p);
                }
                if (!p) {
                        ck_assert_msg(why && strcmp(why, t[i].why) == 0, "case %zu:\n  got  %s\n  want %s", i,
                                      why, t[i].why);
                        free(why);
                }
        }
        /* The fact reader is told what negated keys need. */
        ck_assert_uint_eq(c->facts, FACT_EXE | FACT_CMDLINE | FACT_UID | FACT_CGROUP | FACT_PARENT);
        ck_assert_uint_eq(rule_facts(vms), FACT_CGROUP);
        config_free(c);

        c = load("[rule:a]\ncomm = !ssh*\ncpus = 0\n[rule:b]\ncomm = qemu*\ncomm = !qemu-img\ncpus = 0\n");
        ck_assert(!match_comm_possible(c, "sshd", false));
        ck_assert(match_comm_possible(c, "bash", false));
        ck_assert(match_comm_possible(c, "qemu-kvm", false));
        config_free(c);
        c = load("[rule:b]\ncomm = qemu*\ncomm = !qemu-img\ncpus = 0\n");
        ck_assert(!match_comm_possible(c, "qemu-img", false));
        ck_assert(match_comm_possible(c, "qemu-kvm", false));
        ck_assert(!match_comm_possible(c, "bash", false));
        config_free(c);
}
END_TEST

/* The re-check right before the write: a task that moved into an excluded
 * cgroup, changed uid into an excluded one, or left the rule's cgroup. */
START_TEST(test_still_matches) {
        Config *c = load(neg_text);
        const Rule *vms = config_find_rule(c, "vms"), *units = config_find_rule(c, "units"),
                   *not_ssh = config_find_rule(c, "not-ssh");
        TaskFacts scan = F(.comm = "kvm", .thread = "CPU 0/KVM", .cgroup = "/machine.slice/vm1.scope");
        char *why = NULL;

        ck_assert_uint_eq(rule_recheck_facts(vms), FACT_CGROUP);
        ck_assert_uint_eq(rule_recheck_facts(units),
                          FACT_CGROUP | FACT_UID | FACT_CMDLINE | FACT_EXE | FACT_PARENT);
        ck_assert_uint_eq(rule_recheck_facts(not_ssh), 0);
        ck_assert(rule_match_process(vms, &scan, NULL) && rule_still_matches(vms, &scan, NULL));

        TaskFacts moved = scan;
        moved.cgroup = "/kubepods.slice/kubepods-pod1.slice/cri-containerd-1.scope";
        ck_assert(!rule_still_matches(vms, &moved, &why));
        ck_assert_str_eq(why,
                         "cgroup '/kubepods.slice/kubepods-pod1.slice/cri-containerd-1.scope' is excluded "
                         "by '!/kubepods.slice/*'");
        free(why);
        why = NULL;
        moved.cgroup = NULL; /* gone, or unreadable: no write */
        ck_assert(!rule_still_matches(vms, &moved, NULL));

        /* A positive cgroup key: leaving it counts too. */
        Config *c2 = load("[rule:m]\ncgroup = /machine.slice/*\ncpus = 0\n");
        const Rule *m = &c2->rules[0];
        ck_assert_uint_eq(rule_recheck_facts(m), FACT_CGROUP);
        ck_assert(rule_still_matches(m, &scan, NULL));
        moved.cgroup = "/system.slice/x.service";
        ck_assert(!rule_still_matches(m, &moved, NULL));
        config_free(c2);

        TaskFacts u = F(.comm = "x", .thread = "x", .cgroup = "/", .uid = 5, .has_uid = true, .cmdline = "x",
                        .exe = "/usr/bin/x", .parent_comm = "bash");
        ck_assert(rule_still_matches(units, &u, NULL));
        u.uid = 0; /* setuid(0) between scan and write */
        ck_assert(!rule_still_matches(units, &u, &why));
        ck_assert_str_eq(why, "uid '0' is excluded by '!0'");
        free(why);
        u.uid = 5;
        u.parent_comm = "cron"; /* reparented */
        ck_assert(!rule_still_matches(units, &u, NULL));
        config_free(c);
}
END_TEST

extern Suite *match_suite(void);
Suite *match_suite(void) {
        Suite *s = suite_create("match");
        TCase *tc = tcase_create("match");

        tcase_add_test(tc, test_cgroup_path_unit);
        tcase_add_test(tc, test_match_table);
        tcase_add_test(tc, test_kthreads_only_rule);
        tcase_add_test(tc, test_comm_possible);
        tcase_add_test(tc, test_why);
        tcase_add_test(tc, test_negation);
        tcase_add_test(tc, test_still_matches);
        suite_add_tcase(s, tc);
        return s;
}
