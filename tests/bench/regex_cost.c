/* SPDX-License-Identifier: MIT */
/* regex_cost — what the `cmdline` bounds buy: for the patterns users write
 * and for the most expensive pattern of each hostile shape the bounds still
 * accept, compile with regcomp(3) in a child process and print the time, the
 * peak memory regcomp added, and one regexec(3) over a command line of
 * PROCFS_CMDLINE_MAX bytes. Hostile patterns the bounds refuse are listed
 * with the reason and never compiled (the first one takes glibc 10 s and
 * 4 GB).
 *
 *   build/bench/regex_cost [PATTERN...]
 *
 * Numbers are information, not a pass mark. The exit status is 1 only when
 * a pattern users write is refused, or a known-hostile one is accepted. */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rules/conf-regex.h"
#include "kernel/procfs.h"

static const char *const real_world[] = {
        "-name guest=[a-z0-9-]+",
        "^/usr/bin/qemu",
        "(ovs|dpdk)-.*",
        "^/usr/(s?bin|libexec)/qemu-system-(x86_64|aarch64) ",
        "-name (guest=)?[A-Za-z0-9_.-]+(,debug-threads=on)?",
        "java .*-Dapp\\.name=(kafka|zookeeper)\\b",
        "^(/usr)?/s?bin/(nginx|apache2|httpd)( |$)",
        "--cpu-list[= ][0-9,-]+",
        "^python3? .*/manage\\.py (runserver|celery)",
        "[[:space:]]-c[[:space:]]+/etc/[[:alnum:]_-]+\\.conf",
        "^[^ ]*/postgres(: .*)?$",
        "(^| )--numa(=| )[0-9]{1,3}( |$)",
};

static const char *const hostile[] = {
        "^x (a++++++++++++++++++++++++++|b)+$",
        "(a**)",
        "a+?",
        "a{2}{3}",
        "(a|b?){1000}c",
        "a{256}",
        "\\(a\\)\\1",
        "((a{1,255}){1,255}){1,255}",
        "(((((((((((((((((a)))))))))))))))))",
        "(a?){100}",
        "((((a?){4}){4}){4}){4}",
};

/* Peak resident set of this process, KiB, from /proc/self/status. */
static long vm_hwm_kib(const char *field) {
        char line[256];
        long v = -1;
        FILE *f = fopen("/proc/self/status", "re");

        if (!f)
                return -1;
        while (fgets(line, sizeof line, f))
                if (strncmp(line, field, strlen(field)) == 0)
                        v = strtol(line + strlen(field), NULL, 10);
        fclose(f);
        return v;
}

static double ms_since(const struct timespec *a) {
        struct timespec b;
        clock_gettime(CLOCK_MONOTONIC, &b);
        return (double) (b.tv_sec - a->tv_sec) * 1e3 + (double) (b.tv_nsec - a->tv_nsec) / 1e6;
}

typedef struct Result {
        double compile_ms, exec_ms;
        long rss_kib;
        int rc;
} Result;

/* In a child, so that each measurement starts from the same heap and a
 * surprise cannot take this process with it. */
static int measure(const char *pattern, Result *res) {
        int fds[2];
        pid_t pid;

        if (pipe(fds) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                Result r = {0};
                static char subject[PROCFS_CMDLINE_MAX + 1];
                struct timespec t;
                regex_t re;
                long before;
                FILE *f;

                /* Reset the high-water mark (Linux >= 4.0) so it measures regcomp alone. */
                f = fopen("/proc/self/clear_refs", "we");
                if (f) {
                        fputs("5", f);
                        fclose(f);
                }
                before = vm_hwm_kib("VmRSS:");
                clock_gettime(CLOCK_MONOTONIC, &t);
                r.rc = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB);
                r.compile_ms = ms_since(&t);
                r.rss_kib = vm_hwm_kib("VmHWM:") - before;
                if (r.rc == 0) {
                        /* A command line of the longest kind pinnerd keeps, and one
                         * that keeps a pattern busy: it almost matches everywhere. */
                        for (size_t i = 0; i < PROCFS_CMDLINE_MAX; i++)
                                subject[i] = "aab -x"[i % 6];
                        clock_gettime(CLOCK_MONOTONIC, &t);
                        (void) regexec(&re, subject, 0, NULL, 0);
                        r.exec_ms = ms_since(&t);
                        regfree(&re);
                }
                if (write(fds[1], &r, sizeof r) != (ssize_t) sizeof r)
                        _exit(1);
                _exit(0);
        }
        close(fds[1]);
        ssize_t n = read(fds[0], res, sizeof *res);
        close(fds[0]);
        waitpid(pid, NULL, 0);
        return n == (ssize_t) sizeof *res ? 0 : -EIO;
}

static void row(const char *kind, const char *pattern, double *worst_ms, long *worst_kib) {
        RegexCost c;
        const char *why;
        Result res;
        int r = conf_regex_check(pattern, &c, &why);

        if (r < 0) {
                printf("%-8s %-52.52s refused: %s\n", kind, pattern, why);
                return;
        }
        if (measure(pattern, &res) < 0) {
                printf("%-8s %-52.52s cannot measure\n", kind, pattern);
                return;
        }
        printf("%-8s %-52.52s %6llu %5llu %9.3f %8ld %9.3f%s\n", kind, pattern, (unsigned long long) c.nodes,
               (unsigned long long) c.optional, res.compile_ms, res.rss_kib, res.exec_ms,
               res.rc ? "  (regcomp error)" : "");
        if (res.compile_ms > *worst_ms)
                *worst_ms = res.compile_ms;
        if (res.rss_kib > *worst_kib)
                *worst_kib = res.rss_kib;
}

/* The largest k for which the shape, with k filled in, is accepted. */
static char *largest_accepted(const char *fmt, unsigned lo, unsigned hi) {
        char *best = NULL;

        for (unsigned k = lo; k <= hi; k++) {
                char *s;
                const char *why;
                if (asprintf(&s, fmt, k) < 0)
                        break;
                if (conf_regex_check(s, NULL, &why) < 0) {
                        free(s);
                        break;
                }
                free(best);
                best = s;
        }
        return best;
}

int main(int argc, char **argv) {
        /* Shapes that grow with k: each is filled with the largest k accepted. */
        static const char *const shapes[] = {
                "(a?){%u}",
                "(a|b?){%u}c",
                "(a*b*){%u}",
                "a{0,%u}",
                "(x{255}){%u}",
                "([a-z]{1,%u}){2}",
                "(.*a){%u}",
                "((a|b|c|d)?){%u}",
                "(^|$){%u}",
                "(\\bx){%u}",
                "(a{1,15}){1,%u}",
                "((a?){3}){%u}",
                "(((a{2}){2}){2}){%u}",
                "((ab|cd|ef)*g){%u}",
        };
        double worst_ms = 0;
        long worst_kib = 0;
        int status = 0;
        const char *why;

        printf("bounds: %d bytes, depth %d, {m,n} <= %d, %d nodes, %d optional nodes\n", REGEX_MAX_LENGTH,
               REGEX_MAX_DEPTH, REGEX_MAX_REPEAT, REGEX_MAX_NODES, REGEX_MAX_OPTIONAL);
        printf("%-8s %-52s %6s %5s %9s %8s %9s\n", "kind", "pattern", "nodes", "opt", "regcomp", "peak",
               "regexec");
        printf("%-8s %-52s %6s %5s %9s %8s %9s\n", "", "", "(est)", "(est)", "ms", "KiB", "ms/4 KiB");
        for (int i = 1; i < argc; i++)
                row("arg", argv[i], &worst_ms, &worst_kib);
        for (size_t i = 0; i < sizeof real_world / sizeof *real_world; i++) {
                if (conf_regex_check(real_world[i], NULL, &why) < 0)
                        status = 1;
                row("real", real_world[i], &worst_ms, &worst_kib);
        }
        for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
                char *s = largest_accepted(shapes[i], 1, REGEX_MAX_REPEAT);
                if (s)
                        row("limit", s, &worst_ms, &worst_kib);
                free(s);
        }
        {
                /* The longest pattern accepted: a literal. */
                char lit[REGEX_MAX_LENGTH + 1];
                memset(lit, 'a', REGEX_MAX_LENGTH);
                lit[REGEX_MAX_LENGTH] = '\0';
                row("limit", lit, &worst_ms, &worst_kib);
        }
        for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++) {
                if (conf_regex_check(hostile[i], NULL, &why) == 0)
                        status = 1;
                row("hostile", hostile[i], &worst_ms, &worst_kib);
        }
        printf("worst accepted: regcomp %.3f ms, peak %ld KiB\n", worst_ms, worst_kib);
        if (status)
                printf("FAIL: a pattern users write was refused, or a hostile one accepted\n");
        return status;
}
