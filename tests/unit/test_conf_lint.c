/* SPDX-License-Identifier: MIT */
/* The checks an administrator meets at `pinnerd --check`, `pinnerctl check`
 * and reload: "did you mean" from the key tables, configurations that can
 * never work (isolated CPUs a rule may not use, a rule another one always
 * beats), diagnostics in file and line order, the files read, and the JSON
 * form of it all. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/host.h"
#include "rules/conf.h"
#include "testutil.h"

static char *diags_text(const ConfDiags *d) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        ck_assert_ptr_nonnull(f);
        for (size_t i = 0; i < d->n; i++) {
                char *s = conf_diag_format(&d->v[i]);
                ck_assert_ptr_nonnull(s);
                fprintf(f, "%s\n", s);
                free(s);
        }
        fclose(f);
        return buf;
}

/* Load text as t.conf; returns conf_load_string's result, *ret_text every
 * diagnostic. */
static int load(const char *text, char **ret_text) {
        Config *c = NULL;
        ConfDiags d = {0};
        int r = conf_load_string(text, "t.conf", NULL, &c, &d);
        *ret_text = diags_text(&d);
        conf_diags_done(&d);
        config_free(c);
        return r;
}

static const struct {
        const char *text;
        const char *expect; /* the whole diagnostic */
} mistakes[] = {
        /* Misspelled keys, from the key tables. */
        {"[rule:a]\ncomm = x\ncpu = 1\n", "t.conf:3: unknown key 'cpu' in [rule:a] (did you mean 'cpus'?)"},
        {"[rule:a]\ncomm = x\ncpus = 1\nthread = w*\n",
         "t.conf:4: unknown key 'thread' in [rule:a] (did you mean 'threads'?)"},
        {"[rule:a]\ncomm = x\ncpus = 1\npriorty = 3\n",
         "t.conf:4: unknown key 'priorty' in [rule:a] (did you mean 'priority'?)"},
        {"[pinnerd]\nrestor = no\n", "t.conf:2: unknown key 'restor' in [pinnerd] (did you mean 'restore'?)"},
        {"[pinnerd]\nrescan-interval = 3\n", "t.conf:2: unknown key 'rescan-interval' in [pinnerd]"},
        {"[rule:a]\ncomm = x\ncpus = 1\nfrobnicate = 1\n", "t.conf:4: unknown key 'frobnicate' in [rule:a]"},
        /* A key of the other section says where it belongs. */
        {"[rule:a]\ncomm = x\ncpus = 1\nverify = 3\n",
         "t.conf:4: unknown key 'verify' in [rule:a]: 'verify' is a [pinnerd] key"},
        {"[pinnerd]\ncpus = 1\n", "t.conf:2: unknown key 'cpus' in [pinnerd]: 'cpus' is a [rule:NAME] key"},
        /* Sections. */
        {"[rules:a]\n", "t.conf:1: unknown section '[rules:a]' (did you mean '[rule:a]'?)"},
        {"[Rule:a]\n", "t.conf:1: unknown section '[Rule:a]' (did you mean '[rule:a]'?)"},
        {"[pinned]\n", "t.conf:1: unknown section '[pinned]' (did you mean '[pinnerd]'?)"},
        {"[global]\n", "t.conf:1: unknown section '[global]' (expected [pinnerd] or [rule:NAME])"},
        /* Isolated CPUs only, in a rule that may not use them: every
         * thread would be skipped, on every host. */
        {"[rule:vm]\ncomm = q\ncpus = isolated & smt-primary\n",
         "t.conf:3: [rule:vm]: cpus 'isolated & smt-primary' names isolated CPUs only, but isolated CPUs are "
         "excluded for this rule (isolated = exclude), so every thread it matches would be skipped; add "
         "'isolated = allow' to [rule:vm] (or to [pinnerd])"},
        {"[rule:vm]\ncomm = q\ncpus = isolated\nisolated = exclude\n[pinnerd]\nisolated = allow\n",
         "t.conf:3: [rule:vm]: cpus 'isolated' names isolated CPUs only, but isolated CPUs are excluded for "
         "this rule (isolated = exclude), so every thread it matches would be skipped; add 'isolated = "
         "allow' "
         "to [rule:vm] (or to [pinnerd])"},
};

START_TEST(test_mistakes) {
        char *all;
        ck_assert_int_eq(load(mistakes[_i].text, &all), -EINVAL);
        ck_assert_msg(strstr(all, mistakes[_i].expect), "case %d: want '%s' in:\n%s", _i, mistakes[_i].expect,
                      all);
        free(all);
}
END_TEST

/* What is fine stays fine: allow given in the rule, in [pinnerd] (in any
 * order), or an avoid of the isolated CPUs. */
static const char *const fine[] = {
        "[rule:vm]\ncomm = q\ncpus = isolated & smt-primary\nisolated = allow\n",
        "[rule:vm]\ncomm = q\ncpus = isolated\n[pinnerd]\nisolated = allow\n",
        "[pinnerd]\nisolated = allow\n[rule:vm]\ncomm = q\ncpus = isolated\n",
        "[rule:off]\ncomm = *\navoid = isolated\n",
        "[rule:k]\nkthreads = yes\ncpus = housekeeping\n",
};

START_TEST(test_fine) {
        char *all;
        ck_assert_msg(load(fine[_i], &all) == 0, "%s: %s", fine[_i], all);
        ck_assert_str_eq(all, "");
        free(all);
}
END_TEST

/* Shadowed rules: a warning at the shadowed rule's header. */
static const struct {
        const char *text;
        const char *expect; /* NULL: no warning */
} shadows[] = {
        {"[rule:a]\ncomm = q*\ncpus = 1\n[rule:b]\ncomm = q*\ncpus = 0\n",
         "t.conf:4: warning: [rule:b] can never apply: [rule:a] (line 1) matches every thread it matches and "
         "wins (same priority, defined first); give [rule:b] a higher priority or remove it"},
        /* Lower priority, narrower by a thread filter: still beaten. */
        {"[rule:b]\ncomm = q*\nthreads = CPU*\ncpus = 0\n[rule:a]\ncomm = q*\ncpus = 1\npriority = 5\n",
         "t.conf:1: warning: [rule:b] can never apply: [rule:a] (line 5) matches every thread it matches and "
         "wins (higher priority); give [rule:b] a higher priority or remove it"},
        /* Values in another order are the same values. */
        {"[rule:a]\ncomm = x\ncomm = y\ncpus = 1\n[rule:b]\ncomm = y\ncomm = x\nuser = 0\ncpus = 0\n",
         "t.conf:5: warning: [rule:b] can never apply: [rule:a]"},
        /* Higher priority for the narrower rule: both apply. */
        {"[rule:a]\ncomm = q*\ncpus = 1\n[rule:b]\ncomm = q*\nthreads = CPU*\ncpus = 0\npriority = 1\n",
         NULL},
        /* Different values, different negations, kernel threads or not. */
        {"[rule:a]\ncomm = q*\ncpus = 1\n[rule:b]\ncomm = r*\ncpus = 0\n", NULL},
        {"[rule:a]\ncomm = q*\ncomm = !qa\ncpus = 1\n[rule:b]\ncomm = q*\ncpus = 0\n", NULL},
        {"[rule:a]\ncomm = k*\ncpus = 1\n[rule:b]\nkthreads = yes\ncomm = k*\ncpus = 0\n", NULL},
        /* The broader rule later and lower: the narrow one wins for its threads. */
        {"[rule:a]\ncomm = q*\nthreads = CPU*\ncpus = 1\n[rule:b]\ncomm = q*\ncpus = 0\n", NULL},
        /* Every kernel thread beats a later kernel-thread rule. */
        {"[rule:a]\nkthreads = yes\ncpus = 0\n[rule:b]\nkthreads = yes\ncomm = ksoftirqd*\ncpus = 1\n",
         "t.conf:4: warning: [rule:b] can never apply: [rule:a] (line 1)"},
};

START_TEST(test_shadowed) {
        char *all;
        ck_assert_int_eq(load(shadows[_i].text, &all), 0);
        if (shadows[_i].expect)
                ck_assert_msg(strstr(all, shadows[_i].expect), "case %d: want '%s' in:\n%s", _i,
                              shadows[_i].expect, all);
        else
                ck_assert_msg(!strstr(all, "can never apply"), "case %d: %s", _i, all);
        free(all);
}
END_TEST

/* Diagnostics in line order, though some are found at a rule's end. */
START_TEST(test_line_order) {
        Config *c = NULL;
        ConfDiags d = {0};
        const char *text = "[rule:a]\n"              /* 1: no cpus (said at the end of the rule) */
                           "comm = x\n"              /* 2 */
                           "cpu = 1\n"               /* 3: unknown key */
                           "[rule:b]\n"              /* 4: no match key (said at the end) */
                           "cpus = 1-zz\n"           /* 5: bad cpulist */
                           "[pinnerd]\n"             /* 6 */
                           "restore = no\n"          /* 7 */
                           "restore-at-stop = no\n"; /* 8: needs restore (said after the last file) */

        ck_assert_int_eq(conf_load_string(text, "t.conf", NULL, &c, &d), -EINVAL);
        ck_assert_uint_ge(d.n, 5);
        for (size_t i = 1; i < d.n; i++)
                ck_assert_msg(d.v[i - 1].line <= d.v[i].line, "line %u before %u", d.v[i - 1].line,
                              d.v[i].line);
        ck_assert_uint_eq(d.v[0].line, 1);
        ck_assert_uint_eq(d.v[d.n - 1].line, 8);
        ck_assert_uint_eq(d.files.n, 1);
        ck_assert_str_eq(d.files.v[0], "t.conf");
        conf_diags_done(&d);
}
END_TEST

/* Files: in the order read, also on failure; diagnostics follow them. */
typedef struct Tree {
        char dir[64], main[96], dropin[96];
} Tree;

static void put(const char *path, const char *text) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        ck_assert_int_eq(fchmod(fd, 0644), 0);
        close(fd);
}

static void tree(Tree *t, const char *main_text) {
        strcpy(t->dir, "/tmp/pinnerd-lint-test.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(t->dir));
        snprintf(t->main, sizeof t->main, "%s/pinnerd.conf", t->dir);
        snprintf(t->dropin, sizeof t->dropin, "%s/pinnerd.d", t->dir);
        ck_assert_int_eq(mkdir(t->dropin, 0755), 0);
        put(t->main, main_text);
}

static void dropin(Tree *t, const char *name, const char *text) {
        char path[160];
        snprintf(path, sizeof path, "%s/%s", t->dropin, name);
        put(path, text);
}

static void untree(Tree *t) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
        ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_files_and_order_across_files) {
        Tree t;
        Config *c = NULL;
        ConfDiags d = {0};

        tree(&t, "[rule:a]\ncomm = x\ncpus = 1\n[pinnerd]\nverfy = 3\n");
        dropin(&t, "20-b.conf", "[rule:b]\ncomm = y\ncpu = 1\n");
        dropin(&t, "10-a.conf", "[rule:c]\ncomm = x\ncpus = 0\n");
        ConfLoadOptions o = {.main_path = t.main, .dir = t.dropin};
        ck_assert_int_eq(conf_load(&o, &c, &d), -EINVAL);
        ck_assert_uint_eq(d.files.n, 3);
        ck_assert_str_eq(d.files.v[0], t.main);
        ck_assert_ptr_nonnull(strstr(d.files.v[1], "/10-a.conf"));
        ck_assert_ptr_nonnull(strstr(d.files.v[2], "/20-b.conf"));
        /* main:5 (verfy), 10-a.conf:1 (c shadowed by a, said after the last
         * file), 20-b.conf:1 (no cpus, at the rule's end), 20-b.conf:3. */
        char *all = diags_text(&d);
        const char *p1 =
                strstr(all, "pinnerd.conf:5: unknown key 'verfy' in [pinnerd] (did you mean 'verify'?)");
        const char *p2 = strstr(all, "10-a.conf:1: warning: [rule:c] can never apply: [rule:a] (");
        const char *p3 = strstr(all, "20-b.conf:1: [rule:b] has no 'cpus'");
        const char *p4 = strstr(all, "20-b.conf:3: unknown key 'cpu' in [rule:b] (did you mean 'cpus'?)");
        ck_assert_msg(p1 && p2 && p3 && p4 && p1 < p2 && p2 < p3 && p3 < p4, "%s", all);
        free(all);
        conf_diags_done(&d);
        untree(&t);
}
END_TEST

static int check(const ConfCheckOptions *o, char **out, char **err) {
        size_t ol = 0, el = 0;
        FILE *fo = open_memstream(out, &ol), *fe = open_memstream(err, &el);
        int r = conf_check(o, fo, fe);
        fclose(fo);
        fclose(fe);
        return r;
}

/* `check` says which files it read, in text and JSON; JSON errors are
 * {file, line, message}. */
START_TEST(test_check_output) {
        Tree t;
        char *out, *err, want[1024];

        tree(&t, "[rule:a]\ncomm = x\ncpus = 1\n");
        dropin(&t, "50-b.conf", "[rule:b]\ncomm = y\ncpus = 0\n");
        ConfCheckOptions o = {.main_path = t.main, .dir = t.dropin};
        ck_assert_int_eq(check(&o, &out, &err), 0);
        snprintf(want, sizeof want, "configuration OK: 2 rules (files read: %s, %s/50-b.conf)\n", t.main,
                 t.dropin);
        ck_assert_str_eq(out, want);
        free(out);
        free(err);

        /* No drop-in directory: only the main file. */
        o.dir = NULL;
        ck_assert_int_eq(check(&o, &out, &err), 0);
        snprintf(want, sizeof want, "configuration OK: 1 rules (files read: %s)\n", t.main);
        ck_assert_str_eq(out, want);
        free(out);
        free(err);

        /* A broken drop-in, as JSON. */
        o.dir = t.dropin;
        o.json = true;
        dropin(&t, "60-bad.conf",
               "[rule:c]\ncomm = \"q\\\"\ncpu = 1\ncpus = 2\n[rule:d]\ncomm = x\ncpus = 3\n");
        ck_assert_int_eq(check(&o, &out, &err), 1);
        ck_assert_str_eq(err, "");
        snprintf(want, sizeof want,
                 "{\"valid\":false,\"rules\":null,\"files\":[\"%s\",\"%s/50-b.conf\",\"%s/60-bad.conf\"],"
                 "\"errors\":[{\"file\":\"%s/60-bad.conf\",\"line\":3,\"message\":\"unknown key 'cpu' in "
                 "[rule:c] (did you mean 'cpus'?)\"}],"
                 "\"warnings\":[{\"file\":\"%s/60-bad.conf\",\"line\":5,\"message\":\"[rule:d] can never "
                 "apply: "
                 "[rule:a] (%s line 1) matches every thread it matches and wins (same priority, defined "
                 "first); give [rule:d] a higher priority or remove it\"}]}\n",
                 t.main, t.dropin, t.dropin, t.dropin, t.dropin, t.main);
        ck_assert_str_eq(out, want);
        free(out);
        free(err);

        /* Text: every diagnostic, then what was read. */
        o.json = false;
        ck_assert_int_eq(check(&o, &out, &err), 1);
        ck_assert_str_eq(out, "");
        snprintf(want, sizeof want,
                 "configuration invalid: 1 error (files read: %s, %s/50-b.conf, %s/60-bad.conf)\n", t.main,
                 t.dropin, t.dropin);
        ck_assert_msg(strstr(err, want), "%s", err);
        free(out);
        free(err);

        /* A main file that cannot be opened is still named as read. */
        o.main_path = "/nonexistent/pinnerd.conf";
        o.dir = NULL;
        o.json = true;
        ck_assert_int_eq(check(&o, &out, &err), 1);
        ck_assert_str_eq(out, "{\"valid\":false,\"rules\":null,\"files\":[\"/nonexistent/pinnerd.conf\"],"
                              "\"errors\":[{\"file\":\"/nonexistent/pinnerd.conf\",\"line\":null,\"message\":"
                              "\"cannot open: No such file or directory\"}],\"warnings\":[]}\n");
        free(out);
        free(err);
        untree(&t);
}
END_TEST

/* On this host (host-smt: isolated 4-7,12-15), a cpus that is all isolated
 * CPUs in a rule that excludes them is a warning: another host may differ. */
START_TEST(test_isolated_on_this_host) {
        Host *h = NULL;
        char *error = NULL;
        Tree t;
        Config *c = NULL;
        ConfDiags d = {0};

        ck_assert_int_eq(host_load(fixture_path("host-smt"), &h, &error), 0);
        tree(&t, "[rule:a]\ncomm = x\ncpus = 4-7\n[rule:b]\ncomm = y\ncpus = 3-4\n[rule:c]\ncomm = z\ncpus = "
                 "12-15\nisolated = allow\n");
        ConfLoadOptions o = {.main_path = t.main, .host = h, .possible = h->possible};
        ck_assert_int_eq(conf_load(&o, &c, &d), 0);
        char *all = diags_text(&d);
        ck_assert_msg(strstr(all, "pinnerd.conf:3: warning: [rule:a]: cpus '4-7' is CPUs 4-7 here, all "
                                  "isolated, and isolated CPUs are excluded for this rule: its threads are "
                                  "skipped on this host; add 'isolated = allow' if they belong there"),
                      "%s", all);
        ck_assert_msg(!strstr(all, "[rule:b]") && !strstr(all, "[rule:c]"), "%s", all);
        free(all);
        conf_diags_done(&d);
        config_free(c);
        host_free(h);
        free(error);
        untree(&t);
}
END_TEST

/* What status, list and explain say a rule does. */
START_TEST(test_describe) {
        static const struct {
                const char *text, *does, *target;
        } t[] = {
                {"[rule:r]\ncomm = x\ncpus = 2-5\nspread = index\n", "cpus 2-5, spread index", "threads"},
                {"[rule:r]\ncomm = *\navoid = 1\n", "avoid 1", "threads"},
                {"[rule:r]\nkthreads = yes\navoid = 2-5\n", "kernel threads: avoid 2-5", "kernel-threads"},
                {"[rule:r]\ncomm = x\ncpus = isolated & smt-primary\nisolated = allow\npolicy = fifo\nrtprio "
                 "= 1\n",
                 "cpus isolated & smt-primary, policy fifo:1, isolated allowed", "threads"},
                {"[rule:r]\ncomm = x\navoid = 0\nisolated = allow\n", "avoid 0", "threads"},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                Config *c = NULL;
                ConfDiags d = {0};
                ck_assert_int_eq(conf_load_string(t[i].text, "t.conf", NULL, &c, &d), 0);
                char *does = rule_describe(&c->rules[0]);
                ck_assert_str_eq(does, t[i].does);
                ck_assert_str_eq(rule_target(&c->rules[0]), t[i].target);
                free(does);
                conf_diags_done(&d);
                config_free(c);
        }
}
END_TEST

Suite *conf_lint_suite(void) {
        Suite *s = suite_create("conf-lint");
        TCase *tc = tcase_create("core");
        tcase_add_loop_test(tc, test_mistakes, 0, (int) ELEMENTSOF(mistakes));
        tcase_add_loop_test(tc, test_fine, 0, (int) ELEMENTSOF(fine));
        tcase_add_loop_test(tc, test_shadowed, 0, (int) ELEMENTSOF(shadows));
        tcase_add_test(tc, test_line_order);
        tcase_add_test(tc, test_files_and_order_across_files);
        tcase_add_test(tc, test_check_output);
        tcase_add_test(tc, test_isolated_on_this_host);
        tcase_add_test(tc, test_describe);
        suite_add_tcase(s, tc);
        return s;
}
