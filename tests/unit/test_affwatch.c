/* SPDX-License-Identifier: MIT */
/* The sched_setaffinity watch: format files, perf samples, enter/exit
 * pairing (pure), and, where the kernel lets us, the real tracepoints. */
#include <check.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel/affwatch.h"
#include "lib/util.h"

/* Captured from /sys/kernel/tracing/events/syscalls/ on Linux 6.18. */
static const char enter_fmt[] = "name: sys_enter_sched_setaffinity\n"
                                "ID: 392\n"
                                "format:\n"
                                "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
                                "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
                                "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
                                "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
                                "\n"
                                "\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n"
                                "\tfield:pid_t pid;\toffset:16;\tsize:8;\tsigned:0;\n"
                                "\tfield:unsigned int len;\toffset:24;\tsize:8;\tsigned:0;\n"
                                "\tfield:unsigned long * user_mask_ptr;\toffset:32;\tsize:8;\tsigned:0;\n"
                                "\n"
                                "print fmt: \"pid: 0x%08lx, len: 0x%08lx\", ((unsigned long)(REC->pid))\n";
static const char exit_fmt[] = "name: sys_exit_sched_setaffinity\n"
                               "ID: 391\n"
                               "format:\n"
                               "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
                               "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
                               "\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n"
                               "\tfield:long ret;\toffset:16;\tsize:8;\tsigned:1;\n";

static const AffLayout L = {
        .enter_id = 392, .exit_id = 391, .pid_off = 16, .pid_size = 8, .ret_off = 16, .ret_size = 8};

START_TEST(test_format) {
        unsigned off = 0, size = 0;
        ck_assert_int_eq(affwatch_parse_format(enter_fmt, "pid", &off, &size), 0);
        ck_assert_uint_eq(off, 16);
        ck_assert_uint_eq(size, 8);
        ck_assert_int_eq(affwatch_parse_format(enter_fmt, "user_mask_ptr", &off, &size), 0);
        ck_assert_uint_eq(off, 32);
        ck_assert_int_eq(affwatch_parse_format(enter_fmt, "common_pid", &off, &size), 0);
        ck_assert_uint_eq(off, 4);
        ck_assert_uint_eq(size, 4);
        ck_assert_int_eq(affwatch_parse_format(exit_fmt, "ret", &off, &size), 0);
        ck_assert_uint_eq(off, 16);
        /* Names are whole words: "pi" and "id" are not "pid". */
        ck_assert_int_eq(affwatch_parse_format(enter_fmt, "pi", &off, &size), -ENOENT);
        ck_assert_int_eq(affwatch_parse_format(enter_fmt, "id", &off, &size), -ENOENT);
        ck_assert_int_eq(affwatch_parse_format(exit_fmt, "pid", &off, &size), -ENOENT);
        ck_assert_int_eq(affwatch_parse_format("", "pid", &off, &size), -ENOENT);
        /* Arrays by their bare name. */
        ck_assert_int_eq(
                affwatch_parse_format("\tfield:char comm[16];\toffset:8;\tsize:16;\n", "comm", &off, &size),
                -EBADMSG); /* 16 bytes is no integer */
}
END_TEST

START_TEST(test_format_hostile) {
        unsigned off = 7, size = 7;
        /* Offsets and sizes that would read out of a record. */
        ck_assert_int_eq(
                affwatch_parse_format("\tfield:pid_t pid;\toffset:16;\tsize:0;\n", "pid", &off, &size),
                -EBADMSG);
        ck_assert_int_eq(
                affwatch_parse_format("\tfield:pid_t pid;\toffset:99999;\tsize:8;\n", "pid", &off, &size),
                -EBADMSG);
        ck_assert_int_eq(
                affwatch_parse_format("\tfield:pid_t pid;\toffset:x;\tsize:8;\n", "pid", &off, &size),
                -EBADMSG);
        /* The numbers must be on the field's own line. */
        ck_assert_int_eq(
                affwatch_parse_format("\tfield:pid_t pid;\n\toffset:16;\tsize:8;\n", "pid", &off, &size),
                -EBADMSG);
        ck_assert_int_eq(affwatch_parse_format("field:pid_t pid", "pid", &off, &size), -ENOENT);
        ck_assert_uint_eq(off, 7); /* untouched on failure */
        ck_assert_uint_eq(size, 7);
}
END_TEST

/* A sample as the kernel writes it: header, pid/tid, time, raw size, raw. */
static size_t mk_sample(unsigned char *b, uint32_t type, unsigned tp, uint32_t pid, uint32_t tid,
                        uint64_t time, uint64_t arg) {
        unsigned char raw[40] = {0};
        uint16_t t16 = (uint16_t) tp;
        uint32_t raw_size = sizeof raw;
        struct perf_event_header h = {.type = type, .size = (uint16_t) (8 + 8 + 8 + 4 + sizeof raw)};
        memcpy(raw, &t16, 2);
        memcpy(raw + 4, &tid, 4);
        memcpy(raw + 16, &arg, 8);
        memcpy(b, &h, 8);
        memcpy(b + 8, &pid, 4);
        memcpy(b + 12, &tid, 4);
        memcpy(b + 16, &time, 8);
        memcpy(b + 24, &raw_size, 4);
        memcpy(b + 28, raw, sizeof raw);
        return h.size;
}

START_TEST(test_sample) {
        unsigned char b[128];
        AffSample s;
        size_t n = mk_sample(b, PERF_RECORD_SAMPLE, 392, 100, 101, 5000, 4242);
        ck_assert_int_eq(affwatch_parse_sample(&L, b, n, &s), 1);
        ck_assert_int_eq(s.kind, AFF_ENTER);
        ck_assert_int_eq(s.pid, 100);
        ck_assert_int_eq(s.tid, 101);
        ck_assert_int_eq(s.target, 4242);
        ck_assert_uint_eq(s.time, 5000);
        /* pid 0 is the caller itself. */
        n = mk_sample(b, PERF_RECORD_SAMPLE, 392, 100, 101, 5000, 0);
        ck_assert_int_eq(affwatch_parse_sample(&L, b, n, &s), 1);
        ck_assert_int_eq(s.target, 101);
        /* The kernel takes a pid_t: high bits do not hide the target. */
        n = mk_sample(b, PERF_RECORD_SAMPLE, 392, 100, 101, 5000, (1ull << 32) | 4242);
        ck_assert_int_eq(affwatch_parse_sample(&L, b, n, &s), 1);
        ck_assert_int_eq(s.target, 4242);
        n = mk_sample(b, PERF_RECORD_SAMPLE, 391, 100, 101, 6000, (uint64_t) -22);
        ck_assert_int_eq(affwatch_parse_sample(&L, b, n, &s), 1);
        ck_assert_int_eq(s.kind, AFF_EXIT);
        ck_assert_int_eq(s.ret, -22);
}
END_TEST

START_TEST(test_sample_hostile) {
        unsigned char b[128];
        AffSample s = {.pid = 77};
        size_t n = mk_sample(b, PERF_RECORD_SAMPLE, 392, 100, 101, 5000, 1);
        /* Other records and other tracepoints are skipped. */
        mk_sample(b, PERF_RECORD_LOST, 392, 100, 101, 5000, 1);
        ck_assert_int_eq(affwatch_parse_sample(&L, b, n, &s), 0);
        mk_sample(b, PERF_RECORD_SAMPLE, 500, 100, 101, 5000, 1);
        ck_assert_int_eq(affwatch_parse_sample(&L, b, n, &s), 0);
        /* Sizes that do not add up. */
        mk_sample(b, PERF_RECORD_SAMPLE, 392, 100, 101, 5000, 1);
        ck_assert_int_eq(affwatch_parse_sample(&L, b, n - 1, &s), -EBADMSG);
        ck_assert_int_eq(affwatch_parse_sample(&L, b, 4, &s), -EBADMSG);
        uint32_t big = 1000;
        memcpy(b + 24, &big, 4);
        ck_assert_int_eq(affwatch_parse_sample(&L, b, n, &s), -EBADMSG);
        uint32_t small = 12; /* holds common fields but not the pid */
        memcpy(b + 24, &small, 4);
        ck_assert_int_eq(affwatch_parse_sample(&L, b, n, &s), -EBADMSG);
        struct perf_event_header h = {.type = PERF_RECORD_SAMPLE, .size = 2};
        memcpy(b, &h, sizeof h);
        ck_assert_int_eq(affwatch_parse_sample(&L, b, n, &s), -EBADMSG);
        ck_assert_int_eq(s.pid, 77); /* untouched */
}
END_TEST

static AffSample en(pid_t tid, pid_t target, uint64_t t) {
        return (AffSample){.kind = AFF_ENTER, .pid = 1, .tid = tid, .target = target, .time = t};
}
static AffSample ex(pid_t tid, int64_t ret, uint64_t t) {
        return (AffSample){.kind = AFF_EXIT, .pid = 1, .tid = tid, .ret = ret, .time = t};
}

START_TEST(test_pairing) {
        AffPairs p = {0};
        AffRecord r;
        AffSample s;

        s = en(10, 500, 1);
        ck_assert(!affwatch_pair(&p, &s, &r));
        s = en(11, 600, 2);
        ck_assert(!affwatch_pair(&p, &s, &r));
        s = ex(11, 0, 3);
        ck_assert(affwatch_pair(&p, &s, &r));
        ck_assert_int_eq(r.target, 600);
        ck_assert_int_eq(r.caller_tid, 11);
        /* A failed call changed nothing. */
        s = ex(10, -1, 4);
        ck_assert(!affwatch_pair(&p, &s, &r));
        ck_assert_uint_eq(p.n, 0);
        /* An exit whose enter we never saw. */
        s = ex(12, 0, 5);
        ck_assert(!affwatch_pair(&p, &s, &r));
        /* A second enter of one tid (the first one's exit lost) wins. */
        s = en(13, 1, 6);
        (void) affwatch_pair(&p, &s, &r);
        s = en(13, 2, 7);
        (void) affwatch_pair(&p, &s, &r);
        ck_assert_uint_eq(p.n, 1);
        s = ex(13, 0, 8);
        ck_assert(affwatch_pair(&p, &s, &r));
        ck_assert_int_eq(r.target, 2);
}
END_TEST

START_TEST(test_pairing_full) {
        AffPairs p = {0};
        AffRecord r;
        AffSample s;
        /* Callers killed mid-call never exit: the oldest is forgotten. */
        for (int i = 0; i < AFF_PENDING_MAX + 5; i++) {
                s = en(1000 + i, i, (uint64_t) i);
                (void) affwatch_pair(&p, &s, &r);
        }
        ck_assert_uint_eq(p.n, AFF_PENDING_MAX);
        s = ex(1000, 0, 999);
        ck_assert(!affwatch_pair(&p, &s, &r));
        s = ex(1000 + AFF_PENDING_MAX + 4, 0, 999);
        ck_assert(affwatch_pair(&p, &s, &r));
        ck_assert_int_eq(r.target, AFF_PENDING_MAX + 4);
}
END_TEST

/* The real tracepoints, where this process may open them (root with
 * tracefs mounted); otherwise says why and passes nothing off as tested. */
START_TEST(test_live) {
        _cleanup_(cpuset_freep) CpuSet *cpus = cpuset_new();
        AffWatch *w = NULL;
        _cleanup_(freep) char *why = NULL;
        cpu_set_t mine;

        ck_assert(cpus);
        ck_assert_int_eq(sched_getaffinity(0, sizeof mine, &mine), 0);
        for (long c = 0; c < sysconf(_SC_NPROCESSORS_CONF); c++)
                ck_assert_int_eq(cpuset_add(cpus, (unsigned) c), 0);
        int r = affwatch_open(NULL, cpus, (pid_t) syscall(SYS_gettid), &w, &why);
        if (r < 0) {
                fprintf(stderr, "affwatch live test not run: %s\n", why ? why : strerror(-r));
                return;
        }
        ck_assert_uint_eq(affwatch_n_fds(w), cpuset_count(cpus));
        /* Our own call is filtered out in the kernel. */
        ck_assert_int_eq(sched_setaffinity(0, sizeof mine, &mine), 0);
        pid_t target = fork();
        if (target == 0) {
                pause();
                _exit(0);
        }
        pid_t caller = fork();
        if (caller == 0) {
                _exit(sched_setaffinity(target, sizeof mine, &mine) == 0 ? 0 : 1);
        }
        int st;
        ck_assert_int_eq(waitpid(caller, &st, 0), caller);
        ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);

        struct pollfd pfd[64];
        size_t nf = affwatch_n_fds(w) < 64 ? affwatch_n_fds(w) : 64;
        for (size_t i = 0; i < nf; i++)
                pfd[i] = (struct pollfd){.fd = affwatch_fd(w, i), .events = POLLIN};
        ck_assert_int_gt(poll(pfd, nf, 2000), 0);
        AffRecord rec[16];
        bool lost = true;
        int n = affwatch_read(w, rec, 16, &lost);
        ck_assert(!lost);
        int found = 0;
        for (int i = 0; i < n; i++) {
                ck_assert_int_ne(rec[i].caller_pid, getpid());
                if (rec[i].caller_pid == caller && rec[i].target == target)
                        found++;
        }
        ck_assert_int_eq(found, 1);
        /* Our own calls never show up (other processes on the host may
         * call sched_setaffinity meanwhile, so a wakeup itself proves
         * nothing). */
        ck_assert_int_eq(sched_setaffinity(0, sizeof mine, &mine), 0);
        if (poll(pfd, nf, 50) > 0) {
                n = affwatch_read(w, rec, 16, &lost);
                for (int i = 0; i < n; i++)
                        ck_assert_int_ne(rec[i].caller_pid, getpid());
        }
        kill(target, SIGKILL);
        waitpid(target, &st, 0);
        affwatch_free(w);
}
END_TEST

/* Debian 13 (6.12, paranoid 3) refused the unit's daemon with CAP_PERFMON
 * effective: the reason must not ask for a capability it already has. */
START_TEST(test_open_error) {
        char *w = affwatch_open_error(-EACCES, 0, "3", true);
        ck_assert_ptr_nonnull(strstr(w, "kernel.perf_event_paranoid=3 refuses it even with CAP_PERFMON"));
        ck_assert_ptr_nonnull(strstr(w, "at 2 CAP_PERFMON is enough"));
        free(w);
        w = affwatch_open_error(-EACCES, 1, "3", false);
        ck_assert_ptr_nonnull(strstr(w, "on CPU 1"));
        ck_assert_ptr_nonnull(strstr(w, "needs CAP_PERFMON or CAP_SYS_ADMIN; kernel.perf_event_paranoid=3"));
        free(w);
        /* Below 3 the capability is what is missing (or seccomp). */
        w = affwatch_open_error(-EPERM, 0, "2", true);
        ck_assert_ptr_nonnull(strstr(w, "needs CAP_PERFMON or CAP_SYS_ADMIN; kernel.perf_event_paranoid=2"));
        free(w);
        /* An unreadable sysctl ("?") is not taken for 3. */
        w = affwatch_open_error(-EACCES, 0, "?", true);
        ck_assert_ptr_nonnull(strstr(w, "kernel.perf_event_paranoid=?"));
        ck_assert_ptr_null(strstr(w, "even with"));
        free(w);
        w = affwatch_open_error(-ENOSYS, 0, "3", true);
        ck_assert_str_eq(w, "the kernel has no perf events (perf_event_open: ENOSYS)");
        free(w);
        w = affwatch_open_error(-ENOENT, 2, "3", true);
        ck_assert_ptr_nonnull(strstr(w, "on CPU 2: No such file or directory"));
        free(w);
}
END_TEST

Suite *affwatch_suite(void) {
        Suite *s = suite_create("affwatch");
        TCase *tc = tcase_create("parse");
        tcase_add_test(tc, test_format);
        tcase_add_test(tc, test_format_hostile);
        tcase_add_test(tc, test_sample);
        tcase_add_test(tc, test_sample_hostile);
        tcase_add_test(tc, test_pairing);
        tcase_add_test(tc, test_pairing_full);
        tcase_add_test(tc, test_open_error);
        suite_add_tcase(s, tc);
        tc = tcase_create("live");
        tcase_add_test(tc, test_live);
        suite_add_tcase(s, tc);
        return s;
}
