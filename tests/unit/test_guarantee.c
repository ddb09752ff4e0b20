/* SPDX-License-Identifier: MIT */
/* The pure parts of guarantees and drift events, with hostile input: the
 * fanotify event buffer, the inotify buffer, which files a guarantee rule
 * holds, the `guarantee` key, pinnerctl run's answer and a BPF drift
 * record. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>

#include "ctl/run.h"
#include "kernel/bpfwatch.h"
#include "kernel/dirwatch.h"
#include "kernel/fanotify.h"
#include "rules/conf.h"
#include "rules/execmark.h"
#include "testutil.h"

/* ---- fanotify events ---------------------------------------------------------- */

static size_t put_event(unsigned char *buf, size_t off, unsigned vers, unsigned event_len, unsigned meta_len,
                        uint64_t mask, int fd, int pid) {
        struct fanotify_event_metadata m = {.event_len = event_len,
                                            .vers = (unsigned char) vers,
                                            .metadata_len = (unsigned short) meta_len,
                                            .mask = mask,
                                            .fd = fd,
                                            .pid = pid};
        memcpy(buf + off, &m, sizeof m);
        return off + (event_len >= sizeof m ? event_len : sizeof m);
}

#define META ((unsigned) sizeof(struct fanotify_event_metadata))

START_TEST(test_fan_parse_good) {
        unsigned char buf[256] = {0};
        FanEvent ev[4];
        size_t used, off = 0;

        off = put_event(buf, off, FANOTIFY_METADATA_VERSION, META, META, FAN_OPEN_EXEC_PERM, 7, 100);
        /* An event with an info record after its metadata. */
        off = put_event(buf, off, FANOTIFY_METADATA_VERSION, META + 16, META, FAN_OPEN_EXEC_PERM, 8, 101);
        ck_assert_int_eq(fan_parse_events(buf, off, ev, 4, &used), 2);
        ck_assert_uint_eq(used, off);
        ck_assert_int_eq(ev[0].fd, 7);
        ck_assert_int_eq(ev[0].tid, 100);
        ck_assert_int_eq(ev[1].fd, 8);
        ck_assert(ev[1].mask & FAN_OPEN_EXEC_PERM);
        /* max bounds what is parsed; used says how far. */
        ck_assert_int_eq(fan_parse_events(buf, off, ev, 1, &used), 1);
        ck_assert_uint_eq(used, META);
        /* Nothing, and a tail shorter than the metadata: nothing parsed. */
        ck_assert_int_eq(fan_parse_events(buf, 0, ev, 4, &used), 0);
        ck_assert_uint_eq(used, 0);
        ck_assert_int_eq(fan_parse_events(buf, META - 1, ev, 4, &used), 0);
}
END_TEST

static const struct {
        const char *what;
        unsigned vers, event_len, meta_len;
} bad_events[] = {
        {"unknown version", FANOTIFY_METADATA_VERSION + 1, META, META},
        {"metadata shorter than the struct", FANOTIFY_METADATA_VERSION, META, META - 8},
        {"event shorter than its metadata", FANOTIFY_METADATA_VERSION, META - 4, META},
        {"event longer than the buffer", FANOTIFY_METADATA_VERSION, 4096, META},
        {"event length 0", FANOTIFY_METADATA_VERSION, 0, META},
};

START_TEST(test_fan_parse_hostile) {
        unsigned char buf[128] = {0};
        FanEvent ev[4];
        size_t used = 99;

        put_event(buf, 0, bad_events[_i].vers, bad_events[_i].event_len, bad_events[_i].meta_len,
                  FAN_OPEN_EXEC_PERM, 5, 1);
        ck_assert_msg(fan_parse_events(buf, META, ev, 4, &used) == -EBADMSG, "%s", bad_events[_i].what);
        /* After a good event, a bad one ends the parse there. */
        size_t off = put_event(buf, 0, FANOTIFY_METADATA_VERSION, META, META, FAN_OPEN_EXEC_PERM, 5, 1);
        put_event(buf, off, bad_events[_i].vers, bad_events[_i].event_len, bad_events[_i].meta_len, 0, 6, 2);
        ck_assert_int_eq(fan_parse_events(buf, 2 * META, ev, 4, &used), 1);
        ck_assert_uint_eq(used, META);
}
END_TEST

/* ---- inotify buffer ------------------------------------------------------------ */

START_TEST(test_dirwatch_count) {
        unsigned char buf[256] = {0};
        struct inotify_event e = {.wd = 1, .mask = IN_CREATE, .len = 16};

        memcpy(buf, &e, sizeof e);
        memcpy(buf + sizeof e, "engine", 7);
        memcpy(buf + sizeof e + 16, &e, sizeof e);
        ck_assert_int_eq(dirwatch_count_events(buf, 2 * (sizeof e + 16)), 2);
        ck_assert_int_eq(dirwatch_count_events(buf, 0), 0);
        /* A name running past the buffer, and a torn header. */
        ck_assert_int_eq(dirwatch_count_events(buf, sizeof e + 8), -EBADMSG);
        ck_assert_int_eq(dirwatch_count_events(buf, sizeof e + 16 + 3), -EBADMSG);
        e.len = UINT32_MAX;
        memcpy(buf, &e, sizeof e);
        ck_assert_int_eq(dirwatch_count_events(buf, sizeof buf), -EBADMSG);
}
END_TEST

/* ---- which files a rule holds ----------------------------------------------- */

static const struct {
        const char *pattern, *dir, *name; /* dir NULL: refused */
} splits[] = {
        {"/opt/trade/bin/engine*", "/opt/trade/bin", "engine*"},
        {"/usr/bin/x", "/usr/bin", "x"},
        {"/engine", "/", "engine"},
        {"/opt/bin/[ab]?x", "/opt/bin", "[ab]?x"},
        {"relative/x", NULL, NULL},
        {"", NULL, NULL},
        {"/", NULL, NULL},
        {"/opt/bin/", NULL, NULL},
        {"/opt/*/bin/x", NULL, NULL},
        {"*/engine", NULL, NULL},
        {"/opt/b?n/x", NULL, NULL},
        {"/opt/[x]/y", NULL, NULL},
        {"/opt/a\\*/y", NULL, NULL},
        {"/opt/bin/x\n/y", "/opt/bin/x\n", "y"}, /* any byte but '/' and wildcards is a name */
};

START_TEST(test_execmark_split) {
        char *dir = (char *) "untouched";
        const char *name = "untouched";
        int r = execmark_split(splits[_i].pattern, &dir, &name);

        if (!splits[_i].dir) {
                ck_assert_msg(r == -EINVAL, "'%s' accepted", splits[_i].pattern);
                ck_assert_str_eq(dir, "untouched");
                return;
        }
        ck_assert_msg(r == 0, "'%s': %d", splits[_i].pattern, r);
        ck_assert_str_eq(dir, splits[_i].dir);
        ck_assert_str_eq(name, splits[_i].name);
        free(dir);
}
END_TEST

START_TEST(test_execmark_rule_for) {
        _cleanup_(config_freep) Config *c = NULL;
        ConfDiags d = {0};
        const char *text = "[rule:low]\n"
                           "exe = /opt/bin/eng*\n"
                           "cpus = 0\n"
                           "guarantee = exec\n"
                           "[rule:high]\n"
                           "exe = /opt/bin/engine\n"
                           "exe = !/opt/bin/engine-old\n"
                           "cpus = 1\n"
                           "priority = 5\n"
                           "guarantee = exec\n"
                           "[rule:plain]\n"
                           "exe = /opt/bin/*\n"
                           "cpus = 1\n"
                           "priority = 9\n";

        ck_assert_int_eq(conf_load_string(text, "t.conf", NULL, &c, &d), 0);
        conf_diags_done(&d);
        ck_assert(execmark_wanted(c));
        ck_assert_str_eq(execmark_rule_for(c, "/opt/bin/engine")->name, "high");
        ck_assert_str_eq(execmark_rule_for(c, "/opt/bin/engine-old")->name, "low");
        ck_assert_str_eq(execmark_rule_for(c, "/opt/bin/eng")->name, "low");
        /* plain has no guarantee: never the answer. */
        ck_assert_ptr_null(execmark_rule_for(c, "/opt/bin/other"));
        /* '*' spans '/' in exe values, as everywhere (match.c); only the
         * directory's own entries are ever marked (guarantee.c). */
        ck_assert_str_eq(execmark_rule_for(c, "/opt/bin/engine/x")->name, "low");
}
END_TEST

static const struct {
        const char *text, *error; /* error NULL: accepted */
} keys[] = {
        {"exe = /usr/bin/x\ncpus = 1\nguarantee = exec\n", NULL},
        {"exe = /usr/bin/x\ncpus = 1\nguarantee = no\n", NULL},
        {"exe = /usr/bin/x\nexe = !/usr/bin/xy\navoid = 1\npolicy = fifo\nrtprio = 2\nguarantee = exec\n",
         NULL},
        {"comm = x\ncpus = 1\nguarantee = exec\n",
         "t.conf:4: [rule:a]: guarantee = exec needs an exe = match"},
        {"exe = !/usr/bin/x\ncomm = x\ncpus = 1\nguarantee = exec\n", "needs an exe = match"},
        {"exe = /usr/bin/x\ncpus = 1\nguarantee = always\n",
         "t.conf:4: guarantee 'always' must be exec or no"},
        {"exe = /usr/bin/x\ncpus = 1\nguarantee = EXEC\n", "must be exec or no"},
        {"exe = /usr/bin/x\ncpus = 1\nguarantee = exec \xff\n", "must be exec or no"},
        {"exe = /opt/*/x\ncpus = 1\nguarantee = exec\n", "exe '/opt/*/x' must name files in one directory"},
        {"exe = /usr/bin/x\nthreads = w*\ncpus = 1\nguarantee = exec\n",
         "cannot be combined with threads (line 3)"},
        {"exe = /usr/bin/x\ncpus = 1\nguarantee = exec\nguarantee = no\n", "'guarantee' given twice"},
        {"exe = /usr/bin/x\ncpus = 1\nguarantee = !exec\n", "only match values can be negated"},
        {"exe = /usr/bin/x\ncpus = 1\nguarantee =\n", "'guarantee' has an empty value"},
        {"kthreads = yes\nexe = /usr/bin/x\ncpus = 1\nguarantee = exec\n", "not kthreads = yes"},
};

START_TEST(test_guarantee_key) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(freep) char *text = xasprintf("[rule:a]\n%s", keys[_i].text), *all = NULL;
        ConfDiags d = {0};
        int r = conf_load_string(text, "t.conf", NULL, &c, &d);
        size_t len = 0;
        FILE *f = open_memstream(&all, &len);

        for (size_t k = 0; k < d.n; k++) {
                _cleanup_(freep) char *s = conf_diag_format(&d.v[k]);
                fprintf(f, "%s\n", s);
        }
        fclose(f);
        conf_diags_done(&d);
        if (!keys[_i].error) {
                ck_assert_msg(r == 0, "rejected: %s", all);
                ck_assert(c->rules[0].guarantee_exec == (strstr(keys[_i].text, "= exec") != NULL));
        } else {
                ck_assert_msg(r == -EINVAL, "accepted: %s", keys[_i].text);
                ck_assert_msg(strstr(all, keys[_i].error), "expected '%s' in: %s", keys[_i].error, all);
        }
}
END_TEST

/* ---- pinnerctl run's answer ---------------------------------------------------- */

static const struct {
        const char *text;
        const char *cpus;            /* NULL: refused */
        const char *policy, *memory; /* memory: "POLICY" or "POLICY NODES" as parsed */
} plans[] = {
        {"cpus 4-7\npolicy fifo:1\nmemory keep\n", "4-7", "fifo:1", "default"},
        {"memory keep\ncpus 0\npolicy -\n", "0", NULL, "default"},
        {"cpus 1\npolicy other:nice=-5\nmemory default\n", "1", "other:nice=-5", "default"},
        {"cpus 1\npolicy -\nmemory preferred 1\n", "1", NULL, "preferred 1"},
        {"cpus 0-3\npolicy -\nmemory interleave 0-1\n", "0-3", NULL, "interleave 0-1"},
        {"cpus 1\npolicy -\nmemory preferred\n", NULL, NULL, NULL},   /* nodes missing */
        {"cpus 1\npolicy -\nmemory default 0\n", NULL, NULL, NULL},   /* nodes for default */
        {"cpus 1\npolicy -\nmemory preferred x\n", NULL, NULL, NULL}, /* bad nodes */
        {"cpus 1\npolicy -\nmemory bind 0\n", NULL, NULL, NULL},      /* a policy we never send */
        {"cpus 1\npolicy -\nmemory interleave\n", NULL, NULL, NULL},
        {"cpus 4-7\npolicy fifo:1\n", NULL, NULL, NULL},
        {"cpus 4-7\npolicy fifo:1\nmemory keep", NULL, NULL, NULL},
        {"cpus 4-7\ncpus 1\npolicy -\nmemory keep\n", NULL, NULL, NULL},
        {"cpus \npolicy -\nmemory keep\n", NULL, NULL, NULL},
        {"cpus x\npolicy -\nmemory keep\n", NULL, NULL, NULL},
        {"cpus 4-7\npolicy fifo:0\nmemory keep\n", NULL, NULL, NULL},
        {"cpus 4-7\npolicy -\nmemory keep\nextra 1\n", NULL, NULL, NULL},
        {"cpus 4-7\npolicy -\nmemory keep\n\n", NULL, NULL, NULL},
        {"cpus4-7\npolicy -\nmemory keep\n", NULL, NULL, NULL},
        {"", NULL, NULL, NULL},
        {"cpus 1\npolicy -\nmemory 0123456789012345678901234567890123456789\n", NULL, NULL, NULL},
};

START_TEST(test_run_plan) {
        RunPlan p = {.cpus = NULL, .memory = NUMA_POLICY_INTERLEAVE};
        int r = run_plan_parse(plans[_i].text, strlen(plans[_i].text), &p);

        if (!plans[_i].cpus) {
                ck_assert_msg(r == -EBADMSG, "accepted: %s", plans[_i].text);
                ck_assert_ptr_null(p.cpus);
                ck_assert_ptr_null(p.memory_nodes);
                ck_assert_int_eq(p.memory, NUMA_POLICY_INTERLEAVE);
                return;
        }
        ck_assert_msg(r == 0, "refused: %s", plans[_i].text);
        _cleanup_(freep) char *cpus = cpuset_format_list(p.cpus);
        ck_assert_str_eq(cpus, plans[_i].cpus);
        ck_assert(p.has_policy == (plans[_i].policy != NULL));
        if (plans[_i].policy) {
                char pol[32];
                ck_assert_int_eq(policy_format(&p.policy, pol, sizeof pol), 0);
                ck_assert_str_eq(pol, plans[_i].policy);
        }
        _cleanup_(freep) char *nodes = p.memory_nodes ? cpuset_format_list(p.memory_nodes) : NULL;
        _cleanup_(freep) char *mem = nodes ? xasprintf("%s %s", numa_policy_name(p.memory), nodes)
                                           : strdup(numa_policy_name(p.memory));
        ck_assert_str_eq(mem, plans[_i].memory);
        run_plan_done(&p);
}
END_TEST

START_TEST(test_run_plan_nul) {
        static const char text[] = "cpus 1\npolicy -\nmemory ke\0p\n";
        RunPlan p = {0};
        ck_assert_int_eq(run_plan_parse(text, sizeof text - 1, &p), -EBADMSG);
}
END_TEST

/* ---- a BPF drift record ------------------------------------------------------- */

START_TEST(test_bpf_record) {
        BpfAffRecord b = {.caller_pid = 10, .caller_tid = 11, .target = 12, .time = 99};
        AffRecord r = {.target = 777};

        ck_assert_int_eq(bpfwatch_parse_record(&b, sizeof b, &r), 0);
        ck_assert_int_eq(r.caller_pid, 10);
        ck_assert_int_eq(r.caller_tid, 11);
        ck_assert_int_eq(r.target, 12);
        ck_assert_uint_eq(r.time, 99);
        /* -1: a pid of another pid namespace, kept as "check everything". */
        b.target = -1;
        ck_assert_int_eq(bpfwatch_parse_record(&b, sizeof b, &r), 0);
        ck_assert_int_eq(r.target, -1);

        static const struct {
                uint32_t caller_pid, caller_tid;
                int32_t target;
                size_t len;
        } bad[] = {
                {10, 11, 12, sizeof(BpfAffRecord) - 1},
                {10, 11, 12, sizeof(BpfAffRecord) + 8},
                {10, 11, 12, 0},
                {10, 11, -2, sizeof(BpfAffRecord)},
                {10, 11, 0, sizeof(BpfAffRecord)},
                {0, 11, 12, sizeof(BpfAffRecord)},
                {10, 0, 12, sizeof(BpfAffRecord)},
                {UINT32_MAX, 11, 12, sizeof(BpfAffRecord)},
                {10, 0x80000000u, 12, sizeof(BpfAffRecord)},
                {10, 11, INT32_MIN, sizeof(BpfAffRecord)},
        };
        unsigned char buf[64] = {0};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                BpfAffRecord x = {.caller_pid = bad[i].caller_pid,
                                  .caller_tid = bad[i].caller_tid,
                                  .target = bad[i].target};
                memcpy(buf, &x, sizeof x);
                r.target = 777;
                ck_assert_msg(bpfwatch_parse_record(buf, bad[i].len, &r) == -EBADMSG, "case %zu", i);
                ck_assert_int_eq(r.target, 777);
        }
}
END_TEST

Suite *guarantee_suite(void) {
        Suite *s = suite_create("guarantee");
        TCase *tc = tcase_create("pure");

        tcase_add_test(tc, test_fan_parse_good);
        tcase_add_loop_test(tc, test_fan_parse_hostile, 0, ELEMENTSOF(bad_events));
        tcase_add_test(tc, test_dirwatch_count);
        tcase_add_loop_test(tc, test_execmark_split, 0, ELEMENTSOF(splits));
        tcase_add_test(tc, test_execmark_rule_for);
        tcase_add_loop_test(tc, test_guarantee_key, 0, ELEMENTSOF(keys));
        tcase_add_loop_test(tc, test_run_plan, 0, ELEMENTSOF(plans));
        tcase_add_test(tc, test_run_plan_nul);
        tcase_add_test(tc, test_bpf_record);
        suite_add_tcase(s, tc);
        return s;
}
