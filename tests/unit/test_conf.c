/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/ere.h"
#include "rules/conf.h"
#include "rules/match.h"
#include "testutil.h"

/* A host with CPUs 0-7, for the "beyond possible" warning. */
static CpuSet *possible8(void) {
        CpuSet *s = cpuset_new();
        ck_assert_ptr_nonnull(s);
        ck_assert_int_eq(cpuset_add_range(s, 0, 7), 0);
        return s;
}

/* Every diagnostic formatted, one per line. */
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

static char *repeat(char c, size_t n) {
        char *s = malloc(n + 1);
        ck_assert_ptr_nonnull(s);
        memset(s, c, n);
        s[n] = '\0';
        return s;
}

/* ---- bad configurations: each names file:line and the offending text ---- */

#define R "[rule:a]\ncomm = x\n"            /* lines 1-2: a valid rule start */
#define RC "[rule:a]\ncomm = x\ncpus = 1\n" /* lines 1-3: a complete rule */

static const struct {
        const char *text;
        const char *expect[3]; /* substrings of the formatted diagnostics */
} bad[] = {
        {"[foo]\n", {"t.conf:1: unknown section '[foo]'"}},
        {"[Pinnerd]\n", {"t.conf:1: unknown section '[Pinnerd]'"}},
        {"[pinnerd]\nfoo = 1\n", {"t.conf:2: unknown key 'foo' in [pinnerd]"}},
        {RC "cpu = 1\n", {"t.conf:4: unknown key 'cpu' in [rule:a]"}},
        {R "cpus = 0-3,x\n", {"t.conf:3: cpus '0-3,x': not a CPU number: 'x'"}},
        {R "cpus = 3-1\n", {"t.conf:3: cpus '3-1': range end before its start: '3-1'"}},
        {R "cpus = 0-7:0\n", {"t.conf:3: cpus '0-7:0': bad stride: '0-7:0'"}},
        {R "cpus = 0,,1\n", {"t.conf:3: cpus '0,,1': empty entry"}},
        {R "cpus = 1,\n", {"t.conf:3: cpus '1,': trailing comma"}},
        {R "cpus = 70000\n", {"t.conf:3: cpus '70000': CPU number too large: '70000'"}},
        {R "cpus = 0-\n", {"t.conf:3: cpus '0-': bad range: '0-'"}},
        {R "cpus = 0xZZ\n", {"t.conf:3: cpus '0xZZ': not a hex digit"}},
        {R "cpus = 0x1,2\n", {"t.conf:3: cpus '0x1,2': bad mask grouping"}},
        {R "cpus = 0x0\n", {"t.conf:3: cpus '0x0': selects no CPU: '0x0'"}},
        {R "cpus =\n", {"t.conf:3: 'cpus' has an empty value"}},
        {R "cpus = node:x\n", {"t.conf:3: cpus 'node:x': not a NUMA node number"}},
        {R "cpus = node:1024\n", {"t.conf:3: cpus 'node:1024': node number too large (at most 1023)"}},
        {R "cpus = everything\n",
         {"t.conf:3: cpus 'everything': unknown term (all, housekeeping, isolated, "
          "smt-primary, node:N, package:N, llc:N, a CPU list or a 0x mask): 'everything'"}},
        {R "cpus = package:\n", {"t.conf:3: cpus 'package:': not a package number: 'package:'"}},
        {R "cpus = package:x\n", {"t.conf:3: cpus 'package:x': not a package number: 'package:x'"}},
        {R "cpus = package:+1\n", {"t.conf:3: cpus 'package:+1': not a package number"}},
        {R "cpus = package:65536\n",
         {"t.conf:3: cpus 'package:65536': package number too large (at most 65535)"}},
        {R "cpus = llc:-1\n", {"t.conf:3: cpus 'llc:-1': not an LLC domain number: 'llc:-1'"}},
        {R "cpus = llc:99999999999\n", {"t.conf:3: cpus 'llc:99999999999': LLC domain number too large"}},
        {R "cpus = & smt-primary\n", {"t.conf:3: cpus '& smt-primary': '&' without a term before it"}},
        {R "cpus = smt-primary &\n", {"t.conf:3: cpus 'smt-primary &': '&' without a term after it"}},
        {R "cpus = a & & b\n", {"t.conf:3: cpus 'a & & b': unknown term"}},
        {R "cpus = 1 & & 2\n", {"t.conf:3: cpus '1 & & 2': '&' without a term between two '&'"}},
        {R "cpus = &\n", {"t.conf:3: cpus '&': '&' without a term before it"}},
        {R "cpus = smt-primary & smt-primry\n", {"t.conf:3: cpus 'smt-primary & smt-primry': unknown term"}},
        {R "cpus = SMT-primary\n", {"t.conf:3: cpus 'SMT-primary': unknown term"}},
        {R "cpus = node:0 & 0-3,x\n", {"t.conf:3: cpus 'node:0 & 0-3,x': not a CPU number: 'x'"}},
        {R "cpus = 2-11 & 0x0\n", {"t.conf:3: cpus '2-11 & 0x0': selects no CPU: '0x0'"}},
        {R "cpus = smt\x01primary\n", {"t.conf:3: cpus 'smt\\x01primary': unknown term"}},
        {R "cpus = 1&1&1&1&1&1&1&1&1&1&1&1&1&1&1&1&1\n", {"more than 16 terms joined by '&'"}},
        {"[rule:a]\ncmdline = a(\ncpus = 1\n",
         {"t.conf:2: cmdline 'a(' is not a valid regular expression: unmatched ( (at offset 2)"}},
        {"[rule:a]\ncmdline = [z-a]\ncpus = 1\n",
         {"t.conf:2: cmdline '[z-a]' is not a valid regular expression: range out of order (at offset 4)"}},
        {"[rule:a]\nuser = no_such_user_pinnerd\ncpus = 1\n",
         {"t.conf:2: unknown user 'no_such_user_pinnerd'"}},
        {"[rule:a]\nuser = 4294967295\ncpus = 1\n", {"t.conf:2: user '4294967295' is not a valid uid"}},
        {"[rule:a]\ncpus = 1\n", {"t.conf:1: [rule:a] has no match key"}},
        {"[rule:a]\nthreads = x\ncpus = 1\n", {"t.conf:1: [rule:a] has no match key"}},
        {"[rule:a]\nkthreads = no\ncpus = 1\n", {"t.conf:1: [rule:a] has no match key"}},
        {"[rule:a]\ncomm = x\n", {"t.conf:1: [rule:a] has no 'cpus'"}},
        {"\n[rule:e]\n", {"t.conf:2: [rule:e] has no match key", "t.conf:2: [rule:e] has no 'cpus'"}},
        {RC "[rule:a]\ncomm = y\ncpus = 2\n", {"t.conf:4: duplicate rule 'a' (first defined at t.conf:1)"}},
        {RC "spread = maybe\n", {"t.conf:4: spread 'maybe' must be no, yes, rule or index"}},
        {RC "avoid = 2\n", {"t.conf:4: [rule:a] has both 'cpus' (line 3) and 'avoid': give one of them"}},
        {"[rule:a]\ncomm = x\navoid = bogus\n", {"t.conf:3: avoid 'bogus'"}},
        {RC "policy = deadline\n", {"t.conf:4: policy 'deadline' must be other, batch, idle, fifo or rr"}},
        {RC "policy = fifo\n", {"t.conf:4: [rule:a]: policy = fifo needs rtprio (1-99)"}},
        {RC "rtprio = 5\n", {"t.conf:4: [rule:a]: rtprio needs policy = fifo or rr"}},
        {RC "policy = batch\nrtprio = 5\n",
         {"t.conf:5: [rule:a]: rtprio is only for policy = fifo or rr, not batch"}},
        {RC "policy = rr\nrtprio = 0\n", {"t.conf:5: rtprio '0' must be an integer from 1 to 99"}},
        {RC "policy = rr\nrtprio = 100\n", {"t.conf:5: rtprio '100' must be an integer from 1 to 99"}},
        {RC "policy = fifo\nrtprio = 1\nnice = -5\n",
         {"t.conf:6: [rule:a]: nice is only for policy = other or batch, not fifo"}},
        {RC "policy = idle\nnice = 1\n",
         {"t.conf:5: [rule:a]: nice is only for policy = other or batch, not idle"}},
        {RC "nice = 1\n", {"t.conf:4: [rule:a]: nice needs policy = other or batch"}},
        {RC "policy = other\nnice = 20\n", {"t.conf:5: nice '20' must be an integer from -20 to 19"}},
        {RC "policy = other\nnice = -21\n", {"t.conf:5: nice '-21' must be an integer from -20 to 19"}},
        {RC "policy = other\nnice = x\n", {"t.conf:5: nice 'x' must be an integer from -20 to 19"}},
        {RC "policy = fifo\npolicy = rr\nrtprio = 1\n",
         {"t.conf:5: 'policy' given twice in [rule:a] (first on line 4): 'rr'"}},
        {RC "kthreads = 2\n", {"t.conf:4: kthreads '2' is not a boolean (yes or no)"}},
        {"[pinnerd]\nrestore = sometimes\n", {"t.conf:2: restore 'sometimes' is not a boolean (yes or no)"}},
        {RC "priority = high\n", {"t.conf:4: priority 'high' is not an integer"}},
        {RC "priority = 1.5\n", {"t.conf:4: priority '1.5' is not an integer"}},
        {RC "priority = 99999999999\n", {"t.conf:4: priority '99999999999' is out of range"}},
        {"[pinnerd]\nrescan = -1\n", {"t.conf:2: rescan '-1' is not a number of seconds"}},
        {"[pinnerd]\nrescan = 2s\n", {"t.conf:2: rescan '2s' is not a number of seconds"}},
        {"[pinnerd]\nverify = 100000\n", {"t.conf:2: verify '100000' is out of range (0-86400 seconds)"}},
        {"[pinnerd]\ndrift = panic\n", {"t.conf:2: drift 'panic' must be reapply, log or ignore"}},
        {"[pinnerd]\nisolated = maybe\n", {"t.conf:2: isolated 'maybe' must be exclude or allow"}},
        {RC "isolated = yes\n", {"t.conf:4: isolated 'yes' must be exclude or allow"}},
        {"[rule:]\ncomm = x\ncpus = 1\n", {"t.conf:1: rule name is empty: '[rule:]'"}},
        {"[rule:a b]\ncomm = x\ncpus = 1\n", {"t.conf:1: rule name 'a b' may only hold letters, digits and"}},
        {"[rule:a/b]\ncomm = x\ncpus = 1\n", {"t.conf:1: rule name 'a/b' may only hold"}},
        {"[rule:a'b]\ncomm = x\ncpus = 1\n", {"t.conf:1: rule name 'a\\'b' may only hold"}},
        {"[rule:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\ncomm = x\ncpus = 1\n",
         {"t.conf:1: rule name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' too long "
          "(65 bytes; "
          "at most 64)"}},
        {RC "cpus = 2\n", {"t.conf:4: 'cpus' given twice in [rule:a] (first on line 3): '2'"}},
        {RC "spread = yes\nspread = no\n", {"t.conf:5: 'spread' given twice in [rule:a] (first on line 4)"}},
        {RC "priority = 1\npriority = 1\n",
         {"t.conf:5: 'priority' given twice in [rule:a] (first on line 4)"}},
        {RC "isolated = allow\nisolated = allow\n", {"t.conf:5: 'isolated' given twice in [rule:a]"}},
        {RC "kthreads = no\nkthreads = no\n", {"t.conf:5: 'kthreads' given twice in [rule:a]"}},
        {"[pinnerd]\nverify = 1\n\n[pinnerd]\nverify = 2\n",
         {"t.conf:5: 'verify' given twice in [pinnerd] (first on line 2): '2'"}},
        {"comm = x\n", {"t.conf:1: key 'comm' outside of any section"}},
        {RC "garbage\n", {"t.conf:4: expected 'key = value': 'garbage'"}},
        {RC "  garbage ; comment = no\n", {"t.conf:4: expected 'key = value': 'garbage ; comment = no'"}},
        {"[rule:a\ncomm = x\n", {"t.conf:1: bad section header '[rule:a': missing ']'"}},
        {"[pinnerd] restore = no\n",
         {"t.conf:1: unexpected text after section header: '[pinnerd] restore = no'"}},
        {R "cpus = 1\ncomm =\n", {"t.conf:4: 'comm' has an empty value"}},
        {R "cpus = 1\ncmdline =   ; nothing\n", {"t.conf:4: 'cmdline' has an empty value"}},
        {RC "= 5\n", {"t.conf:4: missing key name before '= 5'"}},
        {RC "\x01key = 1\n", {"t.conf:4: unknown key '\\x01key' in [rule:a]"}},
        {"[rule:a\x01"
         "b]\nbogus = 1\n",
         {"t.conf:1: rule name 'a\\x01b' may only hold", "t.conf:2: unknown key 'bogus' in [rule:a\\x01b]",
          "t.conf:1: [rule:a\\x01b] has no 'cpus'"}},
        {RC "k\xffy = 1\n", {"t.conf:4: unknown key 'k\\xffy' in [rule:a]"}},
/* Rules about IRQs and workqueues: one kind per rule, their keys. */
#define I "[rule:i]\nirqs = virtio*\n" /* lines 1-2 */
        {I "comm = x\navoid = 1\n",
         {"t.conf:3: [rule:i] targets IRQs (irqs, line 2) and tasks (comm): a rule targets exactly one "
          "kind"}},
        {"[rule:i]\ncomm = x\nirqs = 5\ncpus = 1\n",
         {"t.conf:3: [rule:i] targets tasks (comm, line 2) and IRQs (irqs): a rule targets exactly one "
          "kind"}},
        {I "kthreads = yes\ncpus = 1\n",
         {"t.conf:3: [rule:i] targets IRQs (irqs, line 2) and kernel threads"}},
        {I "workqueues = yes\ncpus = 1\n", {"t.conf:3: [rule:i] targets IRQs (irqs, line 2) and workqueues"}},
        {"[rule:w]\nworkqueues = yes\nunit = x.service\navoid = 1\n",
         {"t.conf:3: [rule:w] targets workqueues (workqueues, line 2) and tasks (unit)"}},
        {"[rule:w]\nworkqueues = no\navoid = 1\n", {"t.conf:1: [rule:w] has no match key"}},
        {"[rule:w]\nworkqueues = maybe\navoid = 1\n", {"t.conf:2: workqueues 'maybe' is not a boolean"}},
        {"[rule:w]\nworkqueues = yes\n", {"t.conf:1: [rule:w] has no 'cpus' (or 'avoid')"}},
        {"[rule:w]\nworkqueues = yes\nfollow = vm\n",
         {"t.conf:3: [rule:w]: 'follow' is only for irqs rules", "t.conf:1: [rule:w] has no 'cpus'"}},
        {RC "follow = vm\n", {"t.conf:4: [rule:a]: 'follow' is only for irqs rules"}},
        {I, {"t.conf:1: [rule:i] has no 'cpus', 'avoid' or 'follow'"}},
        {I "cpus = 1\navoid = 2\n", {"t.conf:4: [rule:i] has both 'cpus' (line 3) and 'avoid'"}},
        {I "avoid = 1\nfollow = a\n[rule:a]\ncomm = x\ncpus = 1\n",
         {"t.conf:4: [rule:i] has both 'avoid' (line 3) and 'follow'"}},
        {I "cpus = 1\nspread = yes\n", {"t.conf:4: [rule:i]: 'spread' applies to threads, not to IRQs"}},
        {I "cpus = 1\nthreads = x\n", {"t.conf:4: [rule:i]: 'threads' applies to threads, not to IRQs"}},
        {I "cpus = 1\nmemory = follow\n", {"t.conf:4: [rule:i]: 'memory' applies to threads, not to IRQs"}},
        {"[rule:w]\nworkqueues = yes\ncpus = 1\nguarantee = exec\n",
         {"t.conf:4: [rule:w]: 'guarantee' applies to threads, not to workqueues"}},
        {"[rule:w]\nworkqueues = yes\ncpus = 1\npolicy = fifo\nrtprio = 1\n",
         {"t.conf:4: [rule:w]: 'policy' applies to threads, not to workqueues",
          "t.conf:5: [rule:w]: 'rtprio' applies to threads"}},
        {"[rule:i]\nirqs =\ncpus = 1\n", {"t.conf:2: 'irqs' has an empty value"}},
        {"[rule:i]\nirqs = a,,b\ncpus = 1\n", {"t.conf:2: irqs 'a,,b': an empty item"}},
        {"[rule:i]\nirqs = a,\ncpus = 1\n", {"t.conf:2: irqs 'a,': an empty item"}},
        {"[rule:i]\nirqs = ,\ncpus = 1\n", {"t.conf:2: irqs ',': an empty item"}},
        {"[rule:i]\nirqs = !\ncpus = 1\n", {"t.conf:2: irqs '!': '!' negates nothing"}},
        {"[rule:i]\nirqs = *, !!x\ncpus = 1\n", {"t.conf:2: irqs '*, !!x': one '!' negates an item"}},
        {"[rule:i]\nirqs = ! x\ncpus = 1\n", {"t.conf:2: irqs '! x': no space may follow '!'"}},
        {"[rule:i]\nirqs = 5\nfollow = no such\n", {"t.conf:3: follow 'no such' is not a rule name"}},
        {"[rule:i]\nirqs = 5\nfollow = nosuch\n", {"t.conf:3: [rule:i]: follow 'nosuch' names no rule"}},
        {"[rule:i]\nirqs = 5\nfollow = i\n", {"t.conf:3: [rule:i]: follow 'i' names a rule about IRQs"}},
        {"[rule:i]\nirqs = 5\nfollow = w\n[rule:w]\nworkqueues = yes\navoid = 1\n",
         {"t.conf:3: [rule:i]: follow 'w' names a rule about workqueues"}},
        {"[rule:i]\nirqs = 5\nfollow = a\nfollow = b\n", {"t.conf:4: 'follow' given twice in [rule:i]"}},
        {"[rule:i]\nirqs = 5\ncpus = 1\nirqs = 6,\n", {"t.conf:4: irqs '6,': an empty item"}},
        {I "cpus = isolated\n",
         {"t.conf:3: [rule:i]: cpus 'isolated' names isolated CPUs only", "every IRQ it"}},
        {"[rule:w]\nworkqueues = yes\ncpus = isolated & 1\n", {"so every workqueue mask it matches"}},
#undef I
        /* memory = keep | follow | interleave, exactly. */
        {RC "memory = Follow\n", {"t.conf:4: memory 'Follow' must be keep, follow or interleave"}},
        {RC "memory = yes\n", {"t.conf:4: memory 'yes' must be keep, follow or interleave"}},
        {RC "memory = follow interleave\n",
         {"t.conf:4: memory 'follow interleave' must be keep, follow or interleave"}},
        {RC "memory = bind:1\n", {"t.conf:4: memory 'bind:1' must be keep, follow or interleave"}},
        {RC "memory = follow\x01\n", {"t.conf:4: memory 'follow\\x01' must be keep"}},
        {RC "memory = \xff\xfe\n", {"t.conf:4: memory '\\xff\\xfe' must be keep"}},
        {RC "memory =\n", {"t.conf:4: 'memory' has an empty value"}},
        {RC "memory = !follow\n", {"t.conf:4: memory '!follow': only match values can be negated"}},
        {RC "memory = follow\nmemory = keep\n",
         {"t.conf:5: 'memory' given twice in [rule:a] (first on line 4): 'keep'"}},
        {"[rule:k]\nkthreads = yes\ncpus = 0\nmemory = follow\n",
         {"t.conf:4: [rule:k]: memory = follow is for processes: kernel threads (kthreads = yes) have no "
          "memory of their own"}},
        {"[pinnerd]\nmemory = follow\n", {"t.conf:2: unknown key 'memory' in [pinnerd]"}},
        /* Several errors in one file: every one is reported. */
        {"[rule:a]\ncomm = x\ncpus = 0-3,x\nspread = perhaps\n[bogus]\n",
         {"t.conf:3: cpus '0-3,x'", "t.conf:4: spread 'perhaps'", "t.conf:5: unknown section '[bogus]'"}},
        {"[pinnerd]\nrestore = 2\nverify = x\n[rule:b]\npriority = z\n",
         {"t.conf:2: restore '2'", "t.conf:3: verify 'x'", "t.conf:5: priority 'z'"}},
};

START_TEST(test_bad_configs) {
        Config *c = NULL;
        ConfDiags d = {0};
        int r = conf_load_string(bad[_i].text, "t.conf", NULL, &c, &d);
        char *all = diags_text(&d);

        ck_assert_msg(r == -EINVAL, "config %d accepted (r=%d):\n%s", _i, r, bad[_i].text);
        ck_assert_ptr_null(c);
        ck_assert_uint_ge(d.n_errors, 1);
        for (size_t k = 0; k < ELEMENTSOF(bad[_i].expect) && bad[_i].expect[k]; k++)
                ck_assert_msg(strstr(all, bad[_i].expect[k]), "config %d: expected\n  %s\ngot\n%s", _i,
                              bad[_i].expect[k], all);
        free(all);
        conf_diags_done(&d);
}
END_TEST

/* ---- over-long input ---- */

START_TEST(test_value_too_long) {
        char *v = repeat('a', CONF_MAX_VALUE + 1);
        char *text = xasprintf("[rule:a]\ncomm = %s\ncpus = 1\n[foo]\n", v);
        Config *c = NULL;
        ConfDiags d = {0};
        char *all;

        ck_assert_int_eq(conf_load_string(text, "t.conf", NULL, &c, &d), -EINVAL);
        all = diags_text(&d);
        ck_assert_msg(strstr(all, "t.conf:2: value of 'comm' too long (4097 bytes; at most 4096)"), "%s",
                      all);
        /* Line numbers stay right after a long line. */
        ck_assert_msg(strstr(all, "t.conf:4: unknown section '[foo]'"), "%s", all);
        ck_assert_msg(d.n_errors == 2, "%s", all);
        free(all);
        free(text);
        free(v);
        conf_diags_done(&d);
}
END_TEST

START_TEST(test_line_too_long) {
        char *v = repeat('b', 20000);
        char *text = xasprintf("[rule:a]\ncomm = x\ncpus = 1\nexe = %s\nbogus = 1\n", v);
        Config *c = NULL;
        ConfDiags d = {0};
        char *all;

        ck_assert_int_eq(conf_load_string(text, "t.conf", NULL, &c, &d), -EINVAL);
        all = diags_text(&d);
        ck_assert_msg(strstr(all, "t.conf:4: line too long (20006 bytes; at most 16384): 'exe = bbb"), "%s",
                      all);
        ck_assert_msg(strstr(all, "t.conf:5: unknown key 'bogus'"), "%s", all);
        free(all);
        free(text);
        free(v);
        conf_diags_done(&d);
}
END_TEST

/* Lines longer than inih's 200-byte buffer are neither truncated nor split. */
START_TEST(test_long_lines_parsed_whole) {
        char *mask = repeat('f', 1024); /* 4096 CPUs */
        char *glob = repeat('g', 300);
        char *text = xasprintf("[rule:a]\ncomm = %s*  ; a comment\ncpus = 0x%s\nthreads = x\n"
                               "bogus%s = 1\n",
                               glob, mask, glob);
        Config *c = NULL;
        ConfDiags d = {0};
        char *all;

        ck_assert_int_eq(conf_load_string(text, "t.conf", NULL, &c, &d), -EINVAL);
        all = diags_text(&d);
        ck_assert_msg(strstr(all, "t.conf:5: unknown key 'bogusggg"), "%s", all);
        ck_assert_uint_eq(d.n_errors, 1);
        free(all);
        conf_diags_done(&d);
        free(text);

        text = xasprintf("[rule:a]\ncomm = %s*  ; a comment\ncpus = 0x%s\nthreads = x\n", glob, mask);
        ck_assert_int_eq(conf_load_string(text, "t.conf", NULL, &c, &d), 0);
        ck_assert_uint_eq(strlen(c->rules[0].comm.v[0]), 301);
        ck_assert_int_eq(c->rules[0].comm.v[0][300], '*');
        ck_assert_int_eq(c->rules[0].cpus.terms[0].kind, CPU_TERM_LIST);
        ck_assert_uint_eq(cpuset_count(c->rules[0].cpus.terms[0].set), 4096);
        ck_assert_str_eq(c->rules[0].threads.v[0], "x");
        config_free(c);
        conf_diags_done(&d);
        free(text);
        free(glob);
        free(mask);
}
END_TEST

/* ---- good configurations ---- */

START_TEST(test_defaults) {
        Config *c = NULL;
        ConfDiags d = {0};

        ck_assert_int_eq(conf_load_string("; nothing yet\n", "t.conf", NULL, &c, &d), 0);
        ck_assert_uint_eq(d.n, 0);
        ck_assert(!c->settings.isolated_allow);
        ck_assert(c->settings.restore);
        ck_assert_uint_eq(c->settings.rescan, 0);
        ck_assert_uint_eq(c->settings.verify, 60);
        ck_assert_int_eq(c->settings.drift, DRIFT_REAPPLY);
        ck_assert_uint_eq(c->n_rules, 0);
        ck_assert_uint_eq(c->facts, 0);
        ck_assert_uint_eq(c->files.n, 1);
        ck_assert_str_eq(c->files.v[0], "t.conf");
        config_free(c);
        conf_diags_done(&d);
}
END_TEST

START_TEST(test_good_config) {
        static const char text[] = "\xef\xbb\xbf; pinnerd test\r\n"
                                   "# hash comment\n"
                                   "[pinnerd]\n"
                                   "isolated = allow\n"
                                   "restore = no\n"
                                   "rescan = 30\n"
                                   "verify = 0\n"
                                   "drift = log\n"
                                   "\n"
                                   "[rule:qemu-vcpus]\n"
                                   "comm     = qemu-system-*   ; glob\n"
                                   "threads  = CPU */KVM\n"
                                   "threads  = vhost-*\n"
                                   "cpus     = 2-5,8-15:2\n"
                                   "spread   = yes\n"
                                   "isolated = exclude\n"
                                   "priority = 10\n"
                                   "\n"
                                   "[ rule:db@main ]\r\n"
                                   "  unit = postgresql@*.service\n"
                                   "\tuser = root\n"
                                   "user = 1234\n"
                                   "cmdline = ^postgres: (a|b);x\n"
                                   "cpus = node:1\n"
                                   "[rule:kw]\n"
                                   "kthreads = yes\n"
                                   "comm = kworker/*\n"
                                   "cpus = housekeeping\n"
                                   "[rule:misc.1_x:y]\n"
                                   "exe = /usr/bin/*\n"
                                   "parent: sshd\n"
                                   "cgroup = /system.slice/*\n"
                                   "cpus = 0xf0\n"
                                   "priority = -5\n"
                                   "[rule:iso]\n"
                                   "comm = rt-*\n"
                                   "cpus = isolated\n"
                                   "[rule:every]\n"
                                   "comm = *\n"
                                   "cpus = all\n"
                                   "priority = 10\n";
        Config *c = NULL;
        ConfDiags d = {0};
        const Rule *r;

        ck_assert_int_eq(conf_load_string(text, "t.conf", NULL, &c, &d), 0);
        ck_assert_uint_eq(d.n, 0);
        ck_assert(c->settings.isolated_allow);
        ck_assert(!c->settings.restore);
        ck_assert_uint_eq(c->settings.rescan, 30);
        ck_assert_uint_eq(c->settings.verify, 0);
        ck_assert_int_eq(c->settings.drift, DRIFT_LOG);
        ck_assert_uint_eq(c->n_rules, 6);

        r = config_find_rule(c, "qemu-vcpus");
        ck_assert_ptr_nonnull(r);
        ck_assert_uint_eq(r->index, 0);
        ck_assert_uint_eq(r->line, 10);
        ck_assert_str_eq(r->file, "t.conf");
        ck_assert_uint_eq(r->comm.n, 1);
        ck_assert_str_eq(r->comm.v[0], "qemu-system-*");
        ck_assert_uint_eq(r->threads.n, 2);
        ck_assert_str_eq(r->threads.v[0], "CPU */KVM");
        ck_assert_str_eq(r->threads.v[1], "vhost-*");
        ck_assert_int_eq(r->cpus.terms[0].kind, CPU_TERM_LIST);
        char *l = cpuset_format_list(r->cpus.terms[0].set);
        ck_assert_str_eq(l, "2-5,8,10,12,14");
        free(l);
        ck_assert_str_eq(r->cpus.text, "2-5,8-15:2");
        ck_assert(r->spread);
        ck_assert(!r->isolated_allow); /* the rule overrides [pinnerd] */
        ck_assert_int_eq(r->priority, 10);
        ck_assert(!r->kthreads);

        r = config_find_rule(c, "db@main");
        ck_assert_ptr_nonnull(r);
        ck_assert_str_eq(r->unit.v[0], "postgresql@*.service");
        ck_assert_uint_eq(r->n_users, 2);
        ck_assert_uint_eq(r->users[0], 0);
        ck_assert_uint_eq(r->users[1], 1234);
        ck_assert_str_eq(r->user_src.v[0], "root");
        ck_assert_str_eq(r->cmdline_src.v[0], "^postgres: (a|b);x");
        ck_assert(ere_match(r->cmdline[0], "postgres: b;x y", strlen("postgres: b;x y")));
        ck_assert(!ere_match(r->cmdline[0], "xpostgres: b;x", strlen("xpostgres: b;x")));
        ck_assert_int_eq(r->cpus.terms[0].kind, CPU_TERM_NODE);
        ck_assert_uint_eq(r->cpus.terms[0].id, 1);
        ck_assert(r->isolated_allow); /* inherited from [pinnerd] */
        ck_assert_int_eq(r->priority, 0);

        r = config_find_rule(c, "kw");
        ck_assert(r->kthreads);
        ck_assert_int_eq(r->cpus.terms[0].kind, CPU_TERM_HOUSEKEEPING);

        r = config_find_rule(c, "misc.1_x:y");
        ck_assert_ptr_nonnull(r);
        ck_assert_str_eq(r->parent.v[0], "sshd");
        ck_assert_str_eq(r->exe.v[0], "/usr/bin/*");
        ck_assert_str_eq(r->cgroup.v[0], "/system.slice/*");
        l = cpuset_format_list(r->cpus.terms[0].set);
        ck_assert_str_eq(l, "4-7");
        free(l);
        ck_assert_int_eq(r->priority, -5);

        ck_assert_int_eq(config_find_rule(c, "iso")->cpus.terms[0].kind, CPU_TERM_ISOLATED);
        ck_assert_int_eq(config_find_rule(c, "every")->cpus.terms[0].kind, CPU_TERM_ALL);
        ck_assert_ptr_null(config_find_rule(c, "nope"));

        /* priority desc, then definition order */
        static const char *const order[] = {"qemu-vcpus", "every", "db@main", "kw", "iso", "misc.1_x:y"};
        for (size_t i = 0; i < ELEMENTSOF(order); i++)
                ck_assert_str_eq(c->by_priority[i]->name, order[i]);
        ck_assert_uint_eq(c->facts, FACT_EXE | FACT_CMDLINE | FACT_UID | FACT_CGROUP | FACT_PARENT);
        config_free(c);
        conf_diags_done(&d);
}
END_TEST

START_TEST(test_inline_comments) {
        Config *c = NULL;
        ConfDiags d = {0};

        ck_assert_int_eq(conf_load_string("[rule:a]\ncomm = a;b\ncomm = c ;d\ncomm = e#f\ncomm = ;g\n"
                                          "cpus = 1 ; one\n",
                                          "t.conf", NULL, &c, &d),
                         -EINVAL); /* "comm = ;g" is empty */
        conf_diags_done(&d);
        ck_assert_int_eq(conf_load_string("[rule:a]\ncomm = a;b\ncomm = c ;d\ncomm = e#f\ncpus = 1 ; one\n",
                                          "t.conf", NULL, &c, &d),
                         0);
        ck_assert_str_eq(c->rules[0].comm.v[0], "a;b");
        ck_assert_str_eq(c->rules[0].comm.v[1], "c");
        ck_assert_str_eq(c->rules[0].comm.v[2], "e#f");
        config_free(c);
        conf_diags_done(&d);
}
END_TEST

START_TEST(test_kthreads_alone) {
        Config *c = NULL;
        ConfDiags d = {0};

        ck_assert_int_eq(conf_load_string("[rule:k]\nkthreads = yes\ncpus = 0\n", "t.conf", NULL, &c, &d), 0);
        ck_assert(c->rules[0].kthreads);
        ck_assert_uint_eq(c->facts, 0);
        config_free(c);
        conf_diags_done(&d);
}
END_TEST

/* ---- warnings ---- */

START_TEST(test_warnings) {
        _cleanup_(cpuset_freep) CpuSet *p = possible8();
        Config *c = NULL;
        ConfDiags d = {0};
        char *all;

        ck_assert_int_eq(conf_load_string("[rule:a]\ncomm = x\ncpus = 0-3,64-127\n"
                                          "[rule:b]\ncomm = qemu-system-x86_64\nexe = qemu\ncpus = 0xff00\n"
                                          "[rule:c]\ncomm = c\ncpus = node:7\n",
                                          "t.conf", p, &c, &d),
                         0);
        ck_assert_ptr_nonnull(c);
        ck_assert_uint_eq(d.n_errors, 0);
        all = diags_text(&d);
        ck_assert_msg(strstr(all, "t.conf:3: warning: cpus '0-3,64-127': CPUs 64-127 beyond this host's "
                                  "possible CPUs 0-7\n"),
                      "%s", all);
        ck_assert_msg(strstr(all, "t.conf:5: warning: comm 'qemu-system-x86_64' can never match"), "%s", all);
        ck_assert_msg(strstr(all, "t.conf:6: warning: exe 'qemu' can never match: it is an absolute path"),
                      "%s", all);
        ck_assert_msg(strstr(all, "t.conf:7: warning: cpus '0xff00': CPUs 8-15 beyond"), "%s", all);
        ck_assert_uint_eq(d.n, 4); /* node:7 is resolved at plan time, silently */
        free(all);
        config_free(c);
        conf_diags_done(&d);
}
END_TEST

START_TEST(test_too_many_rules) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        Config *c = NULL;
        ConfDiags d = {0};
        char *all;

        ck_assert_ptr_nonnull(f);
        for (int i = 0; i < CONF_MAX_RULES; i++)
                fprintf(f, "[rule:r%d]\ncomm = p%d\ncpus = 0\n", i, i);
        fflush(f);
        ck_assert_int_eq(conf_load_string(buf, "t.conf", NULL, &c, &d), 0);
        ck_assert_uint_eq(c->n_rules, CONF_MAX_RULES);
        config_free(c);
        c = NULL;
        conf_diags_done(&d);

        fprintf(f, "[rule:extra]\ncomm = e\ncpus = 0\n[rule:extra2]\ncomm = e\ncpus = 0\n");
        fclose(f);
        ck_assert_int_eq(conf_load_string(buf, "t.conf", NULL, &c, &d), -EINVAL);
        ck_assert_ptr_null(c);
        all = diags_text(&d);
        ck_assert_msg(strstr(all, "t.conf:12289: too many rules: at most 4096 ('[rule:extra]'"), "%s", all);
        ck_assert_uint_eq(d.n, 1); /* said once */
        free(all);
        free(buf);
        conf_diags_done(&d);
}
END_TEST

START_TEST(test_too_many_errors_bounded) {
        char *text = malloc(200000);
        Config *c = NULL;
        ConfDiags d = {0};

        ck_assert_ptr_nonnull(text);
        text[0] = '\0';
        for (int i = 0; i < 20000; i++)
                strcat(text + (size_t) i * 8, "garbage\n");
        ck_assert_int_eq(conf_load_string(text, "t.conf", NULL, &c, &d), -EINVAL);
        ck_assert_uint_le(d.n, 1001);
        ck_assert_str_eq(d.v[d.n - 1].message, "too many problems; giving up on the rest");
        free(text);
        conf_diags_done(&d);
}
END_TEST

/* ---- rule_equal ---- */

START_TEST(test_memory_key) {
        static const struct {
                const char *text;
                MemoryMode mode;
                bool config_memory;
        } t[] = {
                {"[rule:a]\ncomm = x\ncpus = 1\n", MEMORY_KEEP, false},
                {"[rule:a]\ncomm = x\ncpus = 1\nmemory = keep\n", MEMORY_KEEP, false},
                {"[rule:a]\ncomm = x\ncpus = 1\nmemory = follow\n", MEMORY_FOLLOW, true},
                {"[rule:a]\ncomm = x\ncpus = 1\nmemory = interleave ; spread over the rule's nodes\n",
                 MEMORY_INTERLEAVE, true},
                {"[rule:a]\ncomm = x\ncpus = 1\nmemory =   follow   \n", MEMORY_FOLLOW, true},
                /* avoid rules may move memory too: their CPUs are known once placed. */
                {"[rule:a]\ncomm = x\navoid = 1\nmemory = follow\n", MEMORY_FOLLOW, true},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                Config *c = NULL;
                ConfDiags d = {0};
                char *all;
                int r = conf_load_string(t[i].text, "m.conf", NULL, &c, &d);
                all = diags_text(&d);
                ck_assert_msg(r == 0, "case %zu: %s", i, all);
                ck_assert_int_eq(c->rules[0].memory, t[i].mode);
                ck_assert_int_eq(c->memory, t[i].config_memory);
                free(all);
                config_free(c);
                conf_diags_done(&d);
        }
        ck_assert_str_eq(memory_mode_name(MEMORY_KEEP), "keep");
        ck_assert_str_eq(memory_mode_name(MEMORY_FOLLOW), "follow");
        ck_assert_str_eq(memory_mode_name(MEMORY_INTERLEAVE), "interleave");
        ck_assert_str_eq(memory_mode_name((MemoryMode) 7), "?");
}
END_TEST

START_TEST(test_rule_equal) {
        static const char base[] = "[rule:a]\ncomm = x\nuser = 0\ncpus = 0-3\nspread = yes\n";
        static const struct {
                const char *text;
                bool equal;
        } t[] = {
                {"[rule:a]\ncomm = x\nuser = root\ncpus = 0,1,2,3 ; same set\nspread = yes\n", true},
                {"[rule:a]\ncomm = x\nuser = 0\ncpus = 0xf\nspread = yes\npriority = 0\n", true},
                {"[rule:a]\ncomm = y\nuser = 0\ncpus = 0-3\nspread = yes\n", false},
                {"[rule:a]\ncomm = x\nuser = 1\ncpus = 0-3\nspread = yes\n", false},
                {"[rule:a]\ncomm = x\nuser = 0\ncpus = 0-4\nspread = yes\n", false},
                {"[rule:a]\ncomm = x\nuser = 0\ncpus = 0-3\n", false},
                {"[rule:a]\ncomm = x\nuser = 0\ncpus = 0-3\nspread = yes\nthreads = t\n", false},
                {"[rule:a]\ncomm = x\nuser = 0\ncpus = 0-3\nspread = yes\nisolated = allow\n", false},
                {"[rule:a]\ncomm = x\nuser = 0\ncpus = 0-3\nspread = yes\npriority = 1\n", false},
                {"[rule:a]\ncomm = x\ncomm = z\nuser = 0\ncpus = 0-3\nspread = yes\n", false},
                {"[rule:a]\ncomm = x\nuser = 0\ncpus = all\nspread = yes\n", false},
                {"[rule:a]\ncomm = x\nuser = 0\ncpus = 0-3\nspread = yes\ncmdline = q\n", false},
                {"[rule:a]\ncomm = x\nuser = 0\ncpus = 0-3\nspread = yes\nmemory = keep\n", true},
                {"[rule:a]\ncomm = x\nuser = 0\ncpus = 0-3\nspread = yes\nmemory = follow\n", false},
                {"[rule:a]\ncomm = x\nuser = 0\ncpus = 0-3\nspread = yes\nmemory = interleave\n", false},
        };
        Config *a = NULL;
        ConfDiags d = {0};

        ck_assert_int_eq(conf_load_string(base, "a.conf", NULL, &a, &d), 0);
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                Config *b = NULL;
                ck_assert_int_eq(conf_load_string(t[i].text, "b.conf", NULL, &b, &d), 0);
                ck_assert_msg(rule_equal(&a->rules[0], &b->rules[0]) == t[i].equal, "case %zu", i);
                ck_assert_msg(rule_equal(&b->rules[0], &a->rules[0]) == t[i].equal, "case %zu", i);
                config_free(b);
        }
        config_free(a);
        conf_diags_done(&d);
}
END_TEST

/* ---- files ---- */

typedef struct TmpTree {
        char dir[64];
        char main[96];
        char dropin[96];
} TmpTree;

static void write_file(const char *path, const char *text, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        ck_assert_int_eq(fchmod(fd, mode), 0);
        close(fd);
}

static void tree_make(TmpTree *t) {
        strcpy(t->dir, "/tmp/pinnerd-conf-test.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(t->dir));
        snprintf(t->main, sizeof t->main, "%s/pinnerd.conf", t->dir);
        snprintf(t->dropin, sizeof t->dropin, "%s/pinnerd.d", t->dir);
}

static void tree_remove(TmpTree *t) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
        ck_assert_int_eq(system(cmd), 0);
}

static void write_dropin(TmpTree *t, const char *name, const char *text) {
        char path[160];
        snprintf(path, sizeof path, "%s/%s", t->dropin, name);
        write_file(path, text, 0644);
}

START_TEST(test_dropin_order) {
        TmpTree t;
        Config *c = NULL;
        ConfDiags d = {0};
        char path[160];

        tree_make(&t);
        write_file(t.main, "[pinnerd]\nverify = 10\n[rule:main]\ncomm = m\ncpus = 0\n", 0644);
        ck_assert_int_eq(mkdir(t.dropin, 0755), 0);
        write_dropin(&t, "20-b.conf", "[rule:b]\ncomm = b\ncpus = 0\n");
        write_dropin(&t, "10-a.conf", "[pinnerd]\nverify = 20\n[rule:a]\ncomm = a\ncpus = 0\n");
        write_dropin(&t, "5.conf", "[rule:five]\ncomm = f\ncpus = 0\n");
        write_dropin(&t, "a.conf.disabled", "[junk\n");
        write_dropin(&t, ".hidden.conf", "[junk\n");
        write_dropin(&t, "README", "[junk\n");
        snprintf(path, sizeof path, "%s/dir.conf", t.dropin);
        ck_assert_int_eq(mkdir(path, 0755), 0);
        ck_assert_int_eq(rmdir(path), 0);

        ConfLoadOptions o = {.main_path = t.main, .dir = t.dropin, .check_owner = geteuid() == 0};
        ck_assert_int_eq(conf_load(&o, &c, &d), 0);
        ck_assert_uint_eq(c->files.n, 4);
        ck_assert_str_eq(c->files.v[0], t.main);
        ck_assert(strstr(c->files.v[1], "/10-a.conf"));
        ck_assert(strstr(c->files.v[2], "/20-b.conf"));
        ck_assert(strstr(c->files.v[3], "/5.conf"));
        ck_assert_uint_eq(c->n_rules, 4);
        ck_assert_str_eq(c->rules[0].name, "main");
        ck_assert_str_eq(c->rules[1].name, "a");
        ck_assert_str_eq(c->rules[2].name, "b");
        ck_assert_str_eq(c->rules[3].name, "five");
        ck_assert_uint_eq(c->rules[3].index, 3);
        ck_assert_str_eq(c->rules[1].file, c->files.v[1]);
        /* A later file overrides a setting. */
        ck_assert_uint_eq(c->settings.verify, 20);
        config_free(c);
        c = NULL;

        /* Errors in several files are all reported, and a duplicate names
         * the first definition. */
        write_dropin(&t, "30-c.conf", "[rule:main]\ncomm = m\ncpus = 0\n");
        write_dropin(&t, "40-d.conf", "[rule:d]\ncpus = z\ncomm = d\n");
        ck_assert_int_eq(conf_load(&o, &c, &d), -EINVAL);
        char *all = diags_text(&d);
        char expect[256];
        snprintf(expect, sizeof expect, "%s/30-c.conf:1: duplicate rule 'main' (first defined at %s:3)",
                 t.dropin, t.main);
        ck_assert_msg(strstr(all, expect), "%s", all);
        snprintf(expect, sizeof expect, "%s/40-d.conf:2: cpus 'z'", t.dropin);
        ck_assert_msg(strstr(all, expect), "%s", all);
        free(all);
        conf_diags_done(&d);

        /* A missing directory is fine; a missing main file is not. */
        tree_remove(&t);
        ck_assert_int_eq(conf_load(&o, &c, &d), -EINVAL);
        all = diags_text(&d);
        snprintf(expect, sizeof expect, "%s: cannot open: No such file or directory\n", t.main);
        ck_assert_str_eq(all, expect);
        free(all);
        conf_diags_done(&d);

        tree_make(&t);
        write_file(t.main, "[rule:main]\ncomm = m\ncpus = 0\n", 0644);
        ConfLoadOptions o2 = {.main_path = t.main, .dir = t.dropin};
        ck_assert_int_eq(conf_load(&o2, &c, &d), 0);
        ck_assert_uint_eq(c->files.n, 1);
        config_free(c);
        conf_diags_done(&d);
        tree_remove(&t);
}
END_TEST

START_TEST(test_owner_and_mode) {
        TmpTree t;
        Config *c = NULL;
        ConfDiags d = {0};
        char expect[256], *all;

        if (geteuid() != 0) {
                /* chown to root needs root; the mode check runs anyway. */
                fprintf(stderr, "test_owner_and_mode: not root, ownership part skipped\n");
        }
        tree_make(&t);
        write_file(t.main, "[rule:a]\ncomm = a\ncpus = 0\n", 0666);
        ConfLoadOptions o = {.main_path = t.main, .dir = t.dropin, .check_owner = true};
        ck_assert_int_eq(conf_load(&o, &c, &d), -EINVAL);
        all = diags_text(&d);
        if (geteuid() == 0)
                snprintf(expect, sizeof expect, "%s: refusing: writable by group or others (mode 0666)\n",
                         t.main);
        else /* the directory above it is this user's */
                snprintf(expect, sizeof expect, "%s: refusing: directory '%s' is owned by uid %u, not root\n",
                         t.main, t.dir, (unsigned) geteuid());
        ck_assert_str_eq(all, expect);
        free(all);
        conf_diags_done(&d);

        ck_assert_int_eq(chmod(t.main, 0620), 0);
        ck_assert_int_eq(conf_load(&o, &c, &d), -EINVAL);
        conf_diags_done(&d);

        /* Without the check (tests, --root) the same file loads. */
        o.check_owner = false;
        ck_assert_int_eq(conf_load(&o, &c, &d), 0);
        config_free(c);
        conf_diags_done(&d);

        /* As `check` by an ordinary user: a warning only. */
        o.owner_warn = true;
        ck_assert_int_eq(conf_load(&o, &c, &d), 0);
        ck_assert_uint_eq(d.n, 1);
        ck_assert(d.v[0].warning);
        ck_assert(strstr(d.v[0].message, "pinnerd would refuse it: "));
        config_free(c);
        conf_diags_done(&d);
        o.owner_warn = false;
        o.check_owner = true;

        if (geteuid() == 0) {
                ck_assert_int_eq(chmod(t.main, 0644), 0);
                ck_assert_int_eq(conf_load(&o, &c, &d), 0);
                config_free(c);
                conf_diags_done(&d);

                ck_assert_int_eq(chown(t.main, 65534, 65534), 0);
                ck_assert_int_eq(conf_load(&o, &c, &d), -EINVAL);
                all = diags_text(&d);
                snprintf(expect, sizeof expect, "%s: refusing: owned by uid 65534, not root\n", t.main);
                ck_assert_str_eq(all, expect);
                free(all);
                conf_diags_done(&d);
                ck_assert_int_eq(chown(t.main, 0, 0), 0);

                /* A drop-in directory others can write is refused, and so is a drop-in. */
                ck_assert_int_eq(mkdir(t.dropin, 0777), 0);
                ck_assert_int_eq(chmod(t.dropin, 0777), 0);
                ck_assert_int_eq(conf_load(&o, &c, &d), -EINVAL);
                all = diags_text(&d);
                snprintf(expect, sizeof expect, "%s: refusing: writable by group or others (mode 0777)\n",
                         t.dropin);
                ck_assert_str_eq(all, expect);
                free(all);
                conf_diags_done(&d);
                ck_assert_int_eq(chmod(t.dropin, 0755), 0);
                write_dropin(&t, "x.conf", "[rule:x]\ncomm = x\ncpus = 0\n");
                char path[160];
                snprintf(path, sizeof path, "%s/x.conf", t.dropin);
                ck_assert_int_eq(chmod(path, 0646), 0);
                ck_assert_int_eq(conf_load(&o, &c, &d), -EINVAL);
                all = diags_text(&d);
                snprintf(expect, sizeof expect, "%s: refusing: writable by group or others (mode 0646)\n",
                         path);
                ck_assert_str_eq(all, expect);
                free(all);
                conf_diags_done(&d);
        }
        tree_remove(&t);
}
END_TEST

/* The directories above a config file are checked as sshd's StrictModes
 * checks those above ~/.ssh/authorized_keys, except that a sticky directory
 * (as /tmp) may be writable by others. */
START_TEST(test_parent_dirs) {
        TmpTree t;
        Config *c = NULL;
        ConfDiags d = {0};
        char expect[512], sub[160], link[256], *all;

        if (geteuid() != 0) {
                fprintf(stderr, "test_parent_dirs: not root, skipped (needs root-owned directories)\n");
                return;
        }
        tree_make(&t); /* /tmp (1777, root) / pinnerd-conf-test.X (0700, root) */
        write_file(t.main, "[rule:a]\ncomm = a\ncpus = 0\n", 0644);
        ConfLoadOptions o = {.main_path = t.main, .dir = t.dropin, .check_owner = true};

        /* /tmp is sticky: accepted, as `make run` and the tests stage there. */
        ck_assert_int_eq(conf_load(&o, &c, &d), 0);
        config_free(c);
        conf_diags_done(&d);

        /* A parent directory others can write: refused, naming it. */
        ck_assert_int_eq(chmod(t.dir, 0775), 0);
        ck_assert_int_eq(conf_load(&o, &c, &d), -EINVAL);
        all = diags_text(&d);
        snprintf(expect, sizeof expect,
                 "%s: refusing: directory '%s' is writable by group or others (mode 0775)\n", t.main, t.dir);
        ck_assert_str_eq(all, expect);
        free(all);
        conf_diags_done(&d);

        /* Sticky and world-writable, as /tmp: accepted. */
        ck_assert_int_eq(chmod(t.dir, 01777), 0);
        ck_assert_int_eq(conf_load(&o, &c, &d), 0);
        config_free(c);
        conf_diags_done(&d);

        /* A parent directory owned by someone else: refused, however strict its mode. */
        ck_assert_int_eq(chmod(t.dir, 0755), 0);
        ck_assert_int_eq(chown(t.dir, 65534, 65534), 0);
        ck_assert_int_eq(conf_load(&o, &c, &d), -EINVAL);
        all = diags_text(&d);
        snprintf(expect, sizeof expect, "%s: refusing: directory '%s' is owned by uid 65534, not root\n",
                 t.main, t.dir);
        ck_assert_str_eq(all, expect);
        free(all);
        conf_diags_done(&d);

        /* `check` by an ordinary user: a warning, and the file is read. */
        o.check_owner = false;
        o.owner_warn = true;
        ck_assert_int_eq(conf_load(&o, &c, &d), 0);
        ck_assert_uint_eq(d.n, 1);
        ck_assert(d.v[0].warning);
        ck_assert(strstr(d.v[0].message, "pinnerd would refuse it: directory '"));
        ck_assert_uint_eq(c->n_rules, 1);
        config_free(c);
        conf_diags_done(&d);
        o.check_owner = true;
        o.owner_warn = false;
        ck_assert_int_eq(chown(t.dir, 0, 0), 0);

        /* Deeper: the drop-in directory's parent, and a symlink's target are
         * judged where they really are. */
        ck_assert_int_eq(mkdir(t.dropin, 0755), 0);
        write_dropin(&t, "x.conf", "[rule:x]\ncomm = x\ncpus = 0\n");
        snprintf(sub, sizeof sub, "%s/unsafe", t.dir);
        ck_assert_int_eq(mkdir(sub, 0755), 0);
        ck_assert_int_eq(chmod(sub, 0757), 0);
        snprintf(link, sizeof link, "%s/real.conf", sub);
        write_file(link, "[rule:b]\ncomm = b\ncpus = 0\n", 0644);
        snprintf(link, sizeof link, "%s/link.conf", t.dropin);
        snprintf(expect, sizeof expect, "%s/real.conf", sub);
        ck_assert_int_eq(symlink(expect, link), 0);
        ck_assert_int_eq(conf_load(&o, &c, &d), -EINVAL);
        all = diags_text(&d);
        snprintf(expect, sizeof expect,
                 "%s: refusing: directory '%s' is writable by group or others (mode 0757)\n", link, sub);
        ck_assert_str_eq(all, expect);
        free(all);
        conf_diags_done(&d);
        ck_assert_int_eq(unlink(link), 0);
        ck_assert_int_eq(conf_load(&o, &c, &d), 0);
        ck_assert_uint_eq(c->n_rules, 2);
        config_free(c);
        conf_diags_done(&d);

        /* The main file named through a relative path: its real directories count. */
        ck_assert_int_eq(chmod(t.dir, 0770), 0);
        char cwd[4096];
        ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
        ck_assert_int_eq(chdir(t.dir), 0);
        ConfLoadOptions rel = {.main_path = "pinnerd.conf", .check_owner = true};
        ck_assert_int_eq(conf_load(&rel, &c, &d), -EINVAL);
        all = diags_text(&d);
        snprintf(expect, sizeof expect,
                 "pinnerd.conf: refusing: directory '%s' is writable by group or others (mode 0770)\n",
                 t.dir);
        ck_assert_str_eq(all, expect);
        free(all);
        conf_diags_done(&d);
        ck_assert_int_eq(chdir(cwd), 0);
        tree_remove(&t);
}
END_TEST

START_TEST(test_not_regular_file) {
        Config *c = NULL;
        ConfDiags d = {0};
        ConfLoadOptions o = {.main_path = "/tmp"};

        ck_assert_int_eq(conf_load(&o, &c, &d), -EINVAL);
        ck_assert_str_eq(d.v[0].message, "not a regular file");
        conf_diags_done(&d);
}
END_TEST

START_TEST(test_nul_byte) {
        TmpTree t;
        Config *c = NULL;
        ConfDiags d = {0};
        int fd;

        tree_make(&t);
        fd = open(t.main, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "[pinnerd]\n\nverify = 1\0\n", 23), 23);
        close(fd);
        ConfLoadOptions o = {.main_path = t.main};
        ck_assert_int_eq(conf_load(&o, &c, &d), -EINVAL);
        ck_assert_uint_eq(d.v[0].line, 3);
        ck_assert_str_eq(d.v[0].message, "contains a NUL byte");
        conf_diags_done(&d);
        tree_remove(&t);
}
END_TEST

/* ---- conf_check_main ---- */

static int run_check(const char *main_path, const char *dir, const CpuSet *possible, char **out, char **err) {
        size_t ol = 0, el = 0;
        FILE *fo = open_memstream(out, &ol), *fe = open_memstream(err, &el);
        int r;

        ck_assert_ptr_nonnull(fo);
        ck_assert_ptr_nonnull(fe);
        r = conf_check_main(main_path, dir, possible, fo, fe);
        fclose(fo);
        fclose(fe);
        return r;
}

START_TEST(test_check_main) {
        _cleanup_(cpuset_freep) CpuSet *p = possible8();
        TmpTree t;
        char *out, *err, expect[1024];

        tree_make(&t);
        write_file(t.main, "[rule:a]\ncomm = a\ncpus = 0-15\n[rule:b]\ncomm = b\ncpus = 1\n", 0644);
        ck_assert_int_eq(run_check(t.main, t.dropin, p, &out, &err), 0);
        snprintf(expect, sizeof expect, "configuration OK: 2 rules (files read: %s)\n", t.main);
        ck_assert_str_eq(out, expect);
        snprintf(expect, sizeof expect,
                 "%s:3: warning: cpus '0-15': CPUs 8-15 beyond this host's possible CPUs 0-7\n", t.main);
        ck_assert_str_eq(err, expect);
        free(out);
        free(err);

        write_file(t.main, "[rule:a]\ncomm = a\ncpus = 0-15\n[rule:b]\ncpus = x\n", 0644);
        ck_assert_int_eq(run_check(t.main, t.dropin, p, &out, &err), 1);
        ck_assert_str_eq(out, "");
        /* In line order, though "no match key" is found at the rule's end. */
        snprintf(expect, sizeof expect,
                 "%s:3: warning: cpus '0-15': CPUs 8-15 beyond this host's possible CPUs 0-7\n"
                 "%s:4: [rule:b] has no match key (comm, exe, cmdline, user, cgroup, unit, parent, "
                 "kthreads = yes, irqs or workqueues = yes)\n"
                 "%s:5: cpus 'x': unknown term (all, housekeeping, isolated, smt-primary, node:N, "
                 "package:N, llc:N, a CPU list or a 0x mask): 'x'\n"
                 "configuration invalid: 2 errors (files read: %s)\n",
                 t.main, t.main, t.main, t.main);
        ck_assert_str_eq(err, expect);
        free(out);
        free(err);
        tree_remove(&t);
}
END_TEST

/* The shipped configuration parses cleanly. */
START_TEST(test_shipped_config) {
        const char *src = getenv("PINNERD_SRCDIR");
        char path[4096];
        Config *c = NULL;
        ConfDiags d = {0};
        _cleanup_(cpuset_freep) CpuSet *p = possible8();

        snprintf(path, sizeof path, "%s/conf/pinnerd.conf", src ? src : ".");
        ConfLoadOptions o = {.main_path = path, .possible = p};
        int r = conf_load(&o, &c, &d);
        char *all = diags_text(&d);
        ck_assert_msg(r == 0 && d.n == 0, "%s", all);
        ck_assert_uint_ge(c->n_rules, 1);
        free(all);
        config_free(c);
        conf_diags_done(&d);
}
END_TEST

START_TEST(test_escape) {
        static const struct {
                const char *in;
                size_t max;
                const char *out;
        } t[] = {
                {"plain", 80, "plain"},         {"a\nb\tc", 80, "a\\nb\\tc"},
                {"it's \\", 80, "it\\'s \\\\"}, {"\x01\x7f\xff)", 80, "\\x01\\x7f\\xff)"},
                {"abcdef", 3, "abc..."},        {"", 3, ""},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                char *e = conf_escape(t[i].in, t[i].max);
                ck_assert_str_eq(e, t[i].out);
                free(e);
        }
}
END_TEST

/* Kernel threads show names longer than a user task's 15 bytes: a
 * workqueue worker is "kworker/u8:1-events_unbound". A kthreads rule may
 * name them, whichever line says kthreads = yes; past 63 bytes it warns. */
START_TEST(test_kthread_long_names) {
        Config *c = NULL;
        ConfDiags d = {0};
        char *all, *n64 = repeat('k', 64);

        ck_assert_int_eq(conf_load_string("[rule:k]\ncomm = kworker/u8:1-events_unbound\n"
                                          "threads = kworker/u8:1-events_unbound\ncpus = 0\nkthreads = yes\n"
                                          "[rule:j]\nkthreads = yes\ncomm = rcu_exp_par_gp_kthread_worker\n"
                                          "cpus = 0\n",
                                          "t.conf", NULL, &c, &d),
                         0);
        all = diags_text(&d);
        ck_assert_msg(d.n == 0, "%s", all);
        free(all);
        config_free(c);
        conf_diags_done(&d);

        char *text = xasprintf("[rule:k]\nkthreads = yes\ncomm = %s\ncpus = 0\n"
                               "[rule:u]\ncomm = kworker/u8:1-events_unbound\nparent = %s\ncpus = 0\n",
                               n64, n64);
        ck_assert_int_eq(conf_load_string(text, "t.conf", NULL, &c, &d), 0);
        all = diags_text(&d);
        char expect[256];
        snprintf(expect, sizeof expect,
                 "t.conf:3: warning: comm '%s' can never match: the kernel shows at most 63 bytes of a "
                 "kernel thread's name\n",
                 n64);
        ck_assert_msg(strstr(all, expect), "%s", all);
        ck_assert_msg(strstr(all, "t.conf:6: warning: comm 'kworker/u8:1-events_unbound' can never match: "
                                  "the kernel truncates task names to 15 bytes\n"),
                      "%s", all);
        ck_assert_msg(strstr(all, "t.conf:7: warning: parent 'kkkk"), "%s", all);
        ck_assert_uint_eq(d.n, 3);
        free(all);
        free(text);
        free(n64);
        config_free(c);
        conf_diags_done(&d);
}
END_TEST

/* A formatted diagnostic is printable ASCII, escaped once: the file name too,
 * and the "bare" form (for loggers with their own severity) has no
 * "warning: " word, so no log line says it twice. */
START_TEST(test_diag_format) {
        ConfDiag w = {.file = (char *) "/etc/pinnerd.d/a\nb's.conf",
                      .line = 3,
                      .warning = true,
                      .message = (char *) "comm 'it\\'s' can never match"};
        ConfDiag e = {.file = (char *) "t.conf", .line = 0, .message = (char *) "cannot open: x"};
        char *s;

        s = conf_diag_format(&w);
        ck_assert_str_eq(s, "/etc/pinnerd.d/a\\nb\\'s.conf:3: warning: comm 'it\\'s' can never match");
        free(s);
        s = conf_diag_format_bare(&w);
        ck_assert_str_eq(s, "/etc/pinnerd.d/a\\nb\\'s.conf:3: comm 'it\\'s' can never match");
        free(s);
        s = conf_diag_format_bare(&e);
        ck_assert_str_eq(s, "t.conf: cannot open: x");
        free(s);
}
END_TEST

/* Every diagnostic of every bad configuration above: printable ASCII only. */
START_TEST(test_diags_printable) {
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Config *c = NULL;
                ConfDiags d = {0};
                (void) conf_load_string(bad[i].text, "t\x01.conf", NULL, &c, &d);
                for (size_t k = 0; k < d.n; k++) {
                        char *f = conf_diag_format(&d.v[k]);
                        for (const char *p = f; *p; p++)
                                ck_assert_msg(*p >= 0x20 && *p < 0x7f, "config %zu: %s", i, f);
                        free(f);
                }
                config_free(c);
                conf_diags_done(&d);
        }
}
END_TEST

/* ---- negated match values ---- */

START_TEST(test_negation_parse) {
        static const struct {
                const char *line;
                const char *expect; /* error on t.conf:3, or NULL: accepted */
        } t[] = {
                {"comm = !", "t.conf:3: comm '!' negates nothing: write '!VALUE'"},
                {"comm = !!x",
                 "t.conf:3: comm '!!x': one '!' negates; a value that starts with '!' is written "
                 "'\\!...'"},
                {"cgroup = ! /kubepods.slice/*", "t.conf:3: cgroup '! /kubepods.slice/*': no space may "
                                                 "follow '!' (write '!/kubepods.slice/*')"},
                {"comm = !\tx", "t.conf:3: comm '!\\tx': no space may follow '!' (write '!x')"},
                {"kthreads = !yes", "t.conf:3: kthreads '!yes': only match values can be negated with '!' "
                                    "(kthreads = no is the default)"},
                {"kthreads = !no", "t.conf:3: kthreads '!no': only match values can be negated"},
                {"spread = !yes", "t.conf:3: spread '!yes': only match values can be negated with '!'"},
                {"priority = !1", "t.conf:3: priority '!1': only match values"},
                {"isolated = !allow", "t.conf:3: isolated '!allow': only match values"},
                {"cmdline = !(", "t.conf:3: cmdline '(' is not a valid regular expression: "},
                {"cmdline = !(a)\\1",
                 "t.conf:3: cmdline '(a)\\\\1' is not a valid regular expression: back-references"},
                {"user = !no-such-user-here", "t.conf:3: unknown user 'no-such-user-here'"},
                {"comm = !ssh*", NULL},
                {"comm = \\!x", NULL}, /* a name starting with '!', escaped for fnmatch */
                {"cmdline = !^/usr/bin/foo( |$)", NULL},
                {"user = !root", NULL},
                /* threads filters threads; it is no match key, negated or not */
                {"threads = !CPU */KVM", "t.conf:1: [rule:a] has no match key"},
                {"exe = !/usr/sbin/*", NULL},
                {"unit = !*.scope", NULL},
                {"parent = !cron", NULL},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                char *text = xasprintf("[rule:a]\ncpus = 0\n%s\n", t[i].line);
                Config *c = NULL;
                ConfDiags d = {0};
                int r = conf_load_string(text, "t.conf", NULL, &c, &d);
                char *all = diags_text(&d);
                if (t[i].expect) {
                        ck_assert_msg(r == -EINVAL, "%s: accepted", t[i].line);
                        ck_assert_msg(strstr(all, t[i].expect), "%s:\n  want %s\n  got  %s", t[i].line,
                                      t[i].expect, all);
                        /* a rejected match value still counts as the key given */
                        if (strncmp(t[i].line, "comm", 4) == 0)
                                ck_assert_msg(!strstr(all, "has no match key"), "%s", all);
                } else {
                        /* Alone, a negated key is a whole rule: "anything but". */
                        ck_assert_msg(r == 0 && d.n == 0, "%s: %s", t[i].line, all);
                        config_free(c);
                }
                free(all);
                free(text);
                conf_diags_done(&d);
        }
}
END_TEST

START_TEST(test_negation_stored) {
        Config *c = NULL, *c2 = NULL;
        ConfDiags d = {0};

        ck_assert_int_eq(conf_load_string("[rule:a]\ncomm = qemu-*\ncomm = !qemu-img\ncmdline = !--x\n"
                                          "cmdline = y\nuser = !0\nthreads = !io*\ncpus = 0\n",
                                          "t.conf", NULL, &c, &d),
                         0);
        const Rule *r = &c->rules[0];
        ck_assert_uint_eq(r->comm.n, 1);
        ck_assert_str_eq(r->comm.v[0], "qemu-*");
        ck_assert_uint_eq(r->not_comm.n, 1);
        ck_assert_str_eq(r->not_comm.v[0], "qemu-img");
        ck_assert_uint_eq(r->not_cmdline_src.n, 1);
        ck_assert_str_eq(r->not_cmdline_src.v[0], "--x");
        ck_assert_uint_eq(r->cmdline_src.n, 1);
        ck_assert_uint_eq(r->n_not_users, 1);
        ck_assert_uint_eq(r->not_users[0], 0);
        ck_assert_str_eq(r->not_threads.v[0], "io*");
        ck_assert_uint_eq(c->facts, FACT_CMDLINE | FACT_UID);

        /* `x` and `!x` are different rules for reload. */
        ck_assert_int_eq(conf_load_string("[rule:a]\ncomm = qemu-*\ncomm = qemu-img\ncmdline = !--x\n"
                                          "cmdline = y\nuser = !0\nthreads = !io*\ncpus = 0\n",
                                          "t.conf", NULL, &c2, &d),
                         0);
        ck_assert(!rule_equal(&c->rules[0], &c2->rules[0]));
        ck_assert(rule_equal(&c->rules[0], &c->rules[0]));
        config_free(c2);
        config_free(c);
        conf_diags_done(&d);

        /* A negated literal the kernel could never show excludes nothing. */
        ck_assert_int_eq(conf_load_string("[rule:a]\ncomm = !qemu-system-x86_64\nexe = !qemu\ncpus = 0\n",
                                          "t.conf", NULL, &c, &d),
                         0);
        char *all = diags_text(&d);
        ck_assert_msg(strstr(all,
                             "t.conf:2: warning: comm '!qemu-system-x86_64' excludes nothing: the kernel "
                             "truncates task names to 15 bytes"),
                      "%s", all);
        ck_assert_msg(strstr(all, "t.conf:3: warning: exe '!qemu' excludes nothing: it is an absolute path "
                                  "(try '!*/qemu')"),
                      "%s", all);
        free(all);
        config_free(c);
        conf_diags_done(&d);
}
END_TEST

/* ---- per-rule drift, restore-at-stop ---- */

START_TEST(test_drift_and_restore_at_stop) {
        Config *c = NULL;
        ConfDiags d = {0};
        char *all;

        ck_assert_int_eq(conf_load_string("[rule:own]\ncomm = a\ncpus = 0\ndrift = log\n"
                                          "[rule:inherit]\ncomm = b\ncpus = 0\n"
                                          "[pinnerd]\ndrift = ignore\nrestore-at-stop = no\n",
                                          "t.conf", NULL, &c, &d),
                         0);
        ck_assert_int_eq(c->rules[0].drift, DRIFT_LOG);
        ck_assert_int_eq(c->rules[1].drift, DRIFT_IGNORE); /* [pinnerd] came later: still resolved */
        ck_assert_int_eq(c->settings.drift, DRIFT_IGNORE);
        ck_assert(c->settings.restore);
        ck_assert(!c->settings.restore_at_stop);
        config_free(c);
        conf_diags_done(&d);

        ck_assert_int_eq(conf_load_string("[rule:a]\ncomm = a\ncpus = 0\n", "t.conf", NULL, &c, &d), 0);
        ck_assert(c->settings.restore_at_stop);
        ck_assert_int_eq(c->rules[0].drift, DRIFT_REAPPLY);
        config_free(c);
        conf_diags_done(&d);

        static const struct {
                const char *text, *expect;
        } bad_t[] = {
                {"[pinnerd]\nrestore = no\nrestore-at-stop = no\n",
                 "t.conf:3: restore-at-stop needs restore = yes"},
                {"[pinnerd]\nrestore-at-stop = yes\nrestore = no\n",
                 "t.conf:2: restore-at-stop needs restore = yes"},
                {"[pinnerd]\nrestore-at-stop = sometimes\n",
                 "t.conf:2: restore-at-stop 'sometimes' is not a boolean"},
                {"[pinnerd]\nrestore-at-stop = no\nrestore-at-stop = no\n",
                 "t.conf:3: 'restore-at-stop' given twice in [pinnerd]"},
                {RC "drift = sometimes\n", "t.conf:4: drift 'sometimes' must be reapply, log or ignore"},
                {RC "drift = log\ndrift = log\n", "t.conf:5: 'drift' given twice in [rule:a]"},
                {RC "drift = !log\n", "t.conf:4: drift '!log': only match values can be negated"},
                {RC "drift =\n", "t.conf:4: 'drift' has an empty value"},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad_t); i++) {
                ck_assert_int_eq(conf_load_string(bad_t[i].text, "t.conf", NULL, &c, &d), -EINVAL);
                all = diags_text(&d);
                ck_assert_msg(strstr(all, bad_t[i].expect), "case %zu:\n  want %s\n  got  %s", i,
                              bad_t[i].expect, all);
                free(all);
                conf_diags_done(&d);
        }

        /* A rule whose drift changed is another rule for reload. */
        Config *c2 = NULL;
        ck_assert_int_eq(conf_load_string(RC "drift = log\n", "t.conf", NULL, &c, &d), 0);
        ck_assert_int_eq(conf_load_string(RC, "t.conf", NULL, &c2, &d), 0);
        ck_assert(!rule_equal(&c->rules[0], &c2->rules[0]));
        config_free(c);
        config_free(c2);
        conf_diags_done(&d);
}
END_TEST

/* restore-at-stop in the main file, restore = no in a drop-in: the error
 * names the line that set restore-at-stop. */
START_TEST(test_restore_at_stop_across_files) {
        TmpTree t;
        Config *c = NULL;
        ConfDiags d = {0};
        char expect[256], *all;

        tree_make(&t);
        write_file(t.main, "[pinnerd]\nrestore-at-stop = no\n", 0644);
        ck_assert_int_eq(mkdir(t.dropin, 0755), 0);
        write_dropin(&t, "10.conf", "[pinnerd]\nrestore = no\n");
        ConfLoadOptions o = {.main_path = t.main, .dir = t.dropin};
        ck_assert_int_eq(conf_load(&o, &c, &d), -EINVAL);
        all = diags_text(&d);
        snprintf(expect, sizeof expect, "%s:2: restore-at-stop needs restore = yes", t.main);
        ck_assert_msg(strstr(all, expect), "%s", all);
        ck_assert_uint_eq(d.n_errors, 1);
        free(all);
        conf_diags_done(&d);
        tree_remove(&t);
}
END_TEST

/* ---- rules about IRQs and workqueues ---- */

START_TEST(test_targets_parse) {
        Config *c = NULL;
        ConfDiags d = {0};
        const char *text = "[rule:vm]\ncomm = qemu*\ncpus = 2\n"
                           "[rule:nic]\nirqs = virtio3-input.*, 45 ,!virtio3-input.7\nirqs = ahci*\n"
                           "follow = vm\npriority = 5\n"
                           "[rule:shield]\nirqs = *\navoid = 2-3\nisolated = allow\ndrift = log\n"
                           "[rule:wq]\nworkqueues = yes\navoid = 2-3\n"
                           "[rule:kt]\nkthreads = yes\ncomm = kswapd*\navoid = 3\n"
                           "[rule:odd]\nirqs = PCIe PME\ncpus = 0\n";
        int r = conf_load_string(text, "t.conf", NULL, &c, &d);
        char *all = diags_text(&d);

        ck_assert_msg(r == 0, "%s", all);
        free(all);
        const Rule *vm = config_find_rule(c, "vm"), *nic = config_find_rule(c, "nic"),
                   *sh = config_find_rule(c, "shield"), *wq = config_find_rule(c, "wq"),
                   *kt = config_find_rule(c, "kt"), *odd = config_find_rule(c, "odd");
        ck_assert_int_eq(vm->kind, RULE_TASKS);
        ck_assert_int_eq(nic->kind, RULE_IRQS);
        ck_assert_int_eq(sh->kind, RULE_IRQS);
        ck_assert_int_eq(wq->kind, RULE_WORKQUEUES);
        ck_assert_int_eq(kt->kind, RULE_KTHREADS);
        ck_assert_uint_eq(nic->irqs.n, 3);
        ck_assert_str_eq(nic->irqs.v[0], "virtio3-input.*");
        ck_assert_str_eq(nic->irqs.v[1], "45");
        ck_assert_str_eq(nic->irqs.v[2], "ahci*");
        ck_assert_uint_eq(nic->not_irqs.n, 1);
        ck_assert_str_eq(nic->not_irqs.v[0], "virtio3-input.7");
        ck_assert_str_eq(nic->follow, "vm");
        ck_assert_uint_eq(nic->follow_line, 7);
        ck_assert(!rule_irqs_all(nic));
        ck_assert(rule_irqs_all(sh));
        ck_assert(sh->avoid && sh->isolated_allow && sh->drift == DRIFT_LOG);
        ck_assert_str_eq(odd->irqs.v[0], "PCIe PME");
        ck_assert(config_has_kind(c, RULE_WORKQUEUES));
        ck_assert(config_has_kind(c, RULE_IRQS));
        ck_assert_uint_eq(c->facts, 0);
        /* Rules about IRQs and workqueues match no task. */
        ck_assert(!match_comm_possible(c, "bash", false));
        ck_assert(match_comm_possible(c, "qemu-kvm", false));
        config_free(c);
        conf_diags_done(&d);
}
END_TEST

/* follow may name a rule defined later, in a later file; the error names
 * the follow line of the file it is in. */
START_TEST(test_follow_across_files) {
        TmpTree t;
        Config *c = NULL;
        ConfDiags d = {0};
        char expect[256], *all;

        tree_make(&t);
        write_file(t.main, "[rule:nic]\nirqs = eth0-*\nfollow = vm\n", 0644);
        ck_assert_int_eq(mkdir(t.dropin, 0755), 0);
        write_dropin(&t, "10.conf", "[rule:vm]\ncomm = qemu*\ncpus = 1\n");
        ConfLoadOptions o = {.main_path = t.main, .dir = t.dropin};
        ck_assert_int_eq(conf_load(&o, &c, &d), 0);
        ck_assert_str_eq(config_find_rule(c, "nic")->follow, "vm");
        config_free(c);
        c = NULL;
        conf_diags_done(&d);
        write_dropin(&t, "10.conf", "[rule:vm]\nirqs = 3\ncpus = 1\n");
        ck_assert_int_eq(conf_load(&o, &c, &d), -EINVAL);
        all = diags_text(&d);
        snprintf(expect, sizeof expect, "%s:3: [rule:nic]: follow 'vm' names a rule about IRQs", t.main);
        ck_assert_msg(strstr(all, expect), "%s", all);
        ck_assert_uint_eq(d.n_errors, 1);
        free(all);
        conf_diags_done(&d);
        tree_remove(&t);
}
END_TEST

START_TEST(test_targets_equal) {
        Config *a = NULL, *b = NULL;
        ConfDiags d = {0};

        ck_assert_int_eq(conf_load_string("[rule:i]\nirqs = 5\ncpus = 1\n", "t", NULL, &a, &d), 0);
        ck_assert_int_eq(conf_load_string("[rule:i]\nirqs = 6\ncpus = 1\n", "t", NULL, &b, &d), 0);
        ck_assert(!rule_equal(&a->rules[0], &b->rules[0]));
        ck_assert(rule_equal(&a->rules[0], &a->rules[0]));
        config_free(b);
        b = NULL;
        ck_assert_int_eq(conf_load_string("[rule:i]\nirqs = 5\nfollow = v\n[rule:v]\ncomm = x\ncpus = 1\n",
                                          "t", NULL, &b, &d),
                         0);
        ck_assert(!rule_equal(&a->rules[0], &b->rules[0]));
        config_free(a);
        config_free(b);
        conf_diags_done(&d);
}
END_TEST

START_TEST(test_irqs_number_warning) {
        Config *c = NULL;
        ConfDiags d = {0};
        ck_assert_int_eq(
                conf_load_string("[rule:i]\nirqs = 99999999, !12345678\ncpus = 1\n", "t", NULL, &c, &d), 0);
        char *all = diags_text(&d);
        ck_assert_msg(strstr(all, "t:2: warning: irqs '99999999, !12345678': '99999999' can never match"),
                      "%s", all);
        ck_assert_msg(strstr(all, "'12345678' excludes nothing"), "%s", all);
        free(all);
        config_free(c);
        conf_diags_done(&d);
}
END_TEST

/* ---- cmdline patterns: linear-time matching (lib/ere.h) ---- */

/* Refused at load, with file:line and the reason. */
static const struct {
        const char *re;
        const char *why; /* a substring of the reason */
} refused[] = {
        {"(a)\\1", "back-references"},
        {"a{256}", "a repetition count past 255"},
        {"a{1,99999999999999999999}", "a repetition count past 255"},
        {"((((((((((((((((((((((((((((((((((a)))))))))))))))))))))))))))))))))", "nested deeper than 32"},
        {"((a{1,255}){1,255}){1,255}", "more than 1280 states"},
        {"(x{255}){6}", "more than 1280 states"},
        {"(ab", "unmatched ("},
        {"[a-z", "unmatched ["},
        {"a{2,x}", "'{' starts no repetition"},
        {"*a", "'*' has nothing to repeat"},
        {"a|+b", "'+' has nothing to repeat"},
        {"a{3,1}", "the bound is below the count"},
        {"\\", "trailing backslash"},
        {"[[:nope:]]", "unknown character class [:nope:]"},
        {"[z-a]", "range out of order"},
        {"[[.ab.]]", "must name exactly one character"},
};

START_TEST(test_regex_refused) {
        char *text = xasprintf("[rule:a]\ncomm = x\ncmdline = %s\ncpus = 1\n", refused[_i].re);
        Config *c = NULL;
        ConfDiags d = {0};
        char *all;

        ck_assert_int_eq(conf_load_string(text, "t.conf", NULL, &c, &d), -EINVAL);
        all = diags_text(&d);
        ck_assert_msg(strstr(all, "t.conf:3: cmdline '") && strstr(all, refused[_i].why), "%s", all);
        ck_assert_uint_eq(d.n_errors, 1);
        free(all);
        free(text);
        conf_diags_done(&d);
}
END_TEST

START_TEST(test_regex_too_long) {
        char *lit = repeat('a', ERE_MAX_PATTERN), *longer = repeat('a', ERE_MAX_PATTERN + 1);
        char *why = NULL;
        Ere *re = NULL;

        ck_assert_int_eq(ere_compile(lit, &re, &why), 0);
        ere_free(re);
        ck_assert_int_eq(ere_compile(longer, &re, &why), -E2BIG);
        ck_assert_str_eq(why, "longer than 1024 bytes");
        free(why);
        free(lit);
        free(longer);
}
END_TEST

/* What people write is accepted and matches as glibc's regexec would; the
 * patterns glibc's own matcher explodes on are accepted too, since matching
 * them here costs at most (length + 1) x states. */
START_TEST(test_regex_accepted) {
        static const struct {
                const char *re, *yes, *no;
        } ok[] = {
                {"-name guest=[a-z0-9-]+", "qemu -name guest=vm-1,debug", "qemu -name guest="},
                {"^/usr/bin/qemu", "/usr/bin/qemu-system-x86_64 -m 1", "x /usr/bin/qemu"},
                {"(ovs|dpdk)-.*", "/usr/sbin/ovs-vswitchd", "ovs"},
                {"java .*-Dapp\\.name=(kafka|zookeeper)\\b", "java -Dapp.name=kafka -x",
                 "java -Dapp.name=kafkaX"},
                {"(^| )--numa(=| )[0-9]{1,3}( |$)", "x --numa 12", "x --numa 1234"},
                {"[[:space:]]-c[[:space:]]+/etc/[[:alnum:]_-]+\\.conf", "nginx -c /etc/n_x.conf",
                 "nginx -c /etc/.conf"},
                {"[]a*+{]+x", "{]x", "x"},
                {"a)b+", "a)bb", "ab"},
                {"(a|b)*a(a|b){20}x$", "bbbabbbbbbbbbbbbbbbbbbbbx", "bbbabbbbbbbbbbbbbbbbbbbx"},
                {"^x (a++++++++++++++++++++++++++|b)+$", "x aab", "x c"},
                {"(x{255}){4}", NULL, "xxx"},
        };
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                char *text = xasprintf("[rule:a]\ncomm = x\ncmdline = %s\ncpus = 1\n", ok[i].re);
                Config *c = NULL;
                ConfDiags d = {0};
                int r = conf_load_string(text, "t.conf", NULL, &c, &d);
                char *all = diags_text(&d);
                ck_assert_msg(r == 0, "%s: %s", ok[i].re, all);
                const Rule *rule = &c->rules[0];
                if (ok[i].yes)
                        ck_assert_msg(ere_match(rule->cmdline[0], ok[i].yes, strlen(ok[i].yes)), "%s ~ %s",
                                      ok[i].re, ok[i].yes);
                ck_assert_msg(!ere_match(rule->cmdline[0], ok[i].no, strlen(ok[i].no)), "%s !~ %s", ok[i].re,
                              ok[i].no);
                free(all);
                free(text);
                conf_diags_done(&d);
                config_free(c);
        }
}
END_TEST

extern Suite *conf_suite(void); /* for -Wmissing-prototypes; the runner declares it too */
Suite *conf_suite(void) {
        Suite *s = suite_create("conf");
        TCase *tc = tcase_create("parse");

        tcase_set_timeout(tc, 60);
        tcase_add_loop_test(tc, test_bad_configs, 0, (int) ELEMENTSOF(bad));
        tcase_add_test(tc, test_value_too_long);
        tcase_add_test(tc, test_line_too_long);
        tcase_add_test(tc, test_long_lines_parsed_whole);
        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_good_config);
        tcase_add_test(tc, test_inline_comments);
        tcase_add_test(tc, test_kthreads_alone);
        tcase_add_test(tc, test_warnings);
        tcase_add_test(tc, test_kthread_long_names);
        tcase_add_test(tc, test_diag_format);
        tcase_add_test(tc, test_diags_printable);
        tcase_add_test(tc, test_negation_parse);
        tcase_add_test(tc, test_negation_stored);
        tcase_add_test(tc, test_drift_and_restore_at_stop);
        tcase_add_test(tc, test_too_many_rules);
        tcase_add_test(tc, test_too_many_errors_bounded);
        tcase_add_test(tc, test_rule_equal);
        tcase_add_test(tc, test_targets_parse);
        tcase_add_test(tc, test_targets_equal);
        tcase_add_test(tc, test_irqs_number_warning);
        tcase_add_test(tc, test_escape);
        suite_add_tcase(s, tc);

        tc = tcase_create("files");
        tcase_add_test(tc, test_dropin_order);
        tcase_add_test(tc, test_owner_and_mode);
        tcase_add_test(tc, test_parent_dirs);
        tcase_add_test(tc, test_restore_at_stop_across_files);
        tcase_add_test(tc, test_follow_across_files);
        tcase_add_test(tc, test_not_regular_file);
        tcase_add_test(tc, test_nul_byte);
        tcase_add_test(tc, test_check_main);
        tcase_add_test(tc, test_shipped_config);
        tcase_add_test(tc, test_memory_key);
        suite_add_tcase(s, tc);

        tc = tcase_create("regex");
        tcase_add_loop_test(tc, test_regex_refused, 0, (int) ELEMENTSOF(refused));
        tcase_add_test(tc, test_regex_too_long);
        tcase_add_test(tc, test_regex_accepted);
        suite_add_tcase(s, tc);
        return s;
}
