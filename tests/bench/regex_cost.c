/* SPDX-License-Identifier: MIT */
/* regex_cost — what a `cmdline` pattern costs per exec: for the patterns
 * users write and for hostile ones, one match over a command line of
 * PROCFS_CMDLINE_MAX bytes with pinnerd's matcher (lib/ere.h: at most
 * (length + 1) x states steps) beside glibc's regexec(3) (which pinnerd used
 * before), the latter in a child process with a 20 s CPU limit, printing
 * time and the memory it added.
 *
 *   build/bench/regex_cost [PATTERN...]
 *
 * Numbers are information, not a pass mark. Exit 1 only when pinnerd's
 * matcher refuses a pattern users write, or answers differently from glibc
 * where glibc finishes. */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernel/procfs.h"
#include "lib/ere.h"

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

/* Cheap to compile, expensive for glibc to match (its lazy DFA has 2^k states). */
static const char *const hostile[] = {
        "(a|b)*a(a|b){12}x$", "(a|b)*a(a|b){20}x$",
        "(a|b)*a(a|b){40}x$", "^x (a++++++++++++++++++++++++++|b)+$",
        "(x{255}){4}",
};

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static long hwm_kib(void) {
        char line[256];
        long v = -1;
        FILE *f = fopen("/proc/self/status", "re");
        while (f && fgets(line, sizeof line, f))
                if (strncmp(line, "VmHWM:", 6) == 0)
                        v = strtol(line + 6, NULL, 10);
        if (f)
                fclose(f);
        return v;
}

/* A command line the pattern is built against: a/b noise for the hostile
 * ones, a long realistic one otherwise. */
static void subject(char *buf, size_t len, bool noise) {
        unsigned seed = 1;
        static const char words[] = "/usr/bin/qemu-system-x86_64 -name guest=vm1,debug-threads=on -m 4096 ";
        for (size_t i = 0; i < len; i++)
                buf[i] = noise ? "ab"[rand_r(&seed) % 2] : words[i % (sizeof words - 1)];
        buf[len] = 0;
}

/* glibc in a child: prints "us kib match", or a reason it did not finish. */
static void glibc_row(const char *pattern, const char *text, char *out, size_t size, int *ret_match) {
        int p[2];
        *ret_match = -1;
        if (pipe(p) < 0) {
                snprintf(out, size, "pipe failed");
                return;
        }
        pid_t pid = fork();
        if (pid == 0) {
                struct rlimit cpu = {20, 20};
                setrlimit(RLIMIT_CPU, &cpu);
                regex_t re;
                long before = hwm_kib();
                if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
                        _exit(3);
                double t0 = now();
                int m = regexec(&re, text, 0, NULL, 0) == 0;
                double dt = now() - t0;
                dprintf(p[1], "%.0f %ld %d", dt * 1e6, hwm_kib() - before, m);
                _exit(0);
        }
        close(p[1]);
        char buf[128] = "";
        ssize_t n = read(p[0], buf, sizeof buf - 1);
        close(p[0]);
        int st;
        waitpid(pid, &st, 0);
        double us;
        long kib;
        if (n > 0 && sscanf(buf, "%lf %ld %d", &us, &kib, ret_match) == 3)
                snprintf(out, size, "%10.0f µs %8ld KiB", us, kib);
        else if (WIFSIGNALED(st))
                snprintf(out, size, "killed (signal %d) after the 20 s CPU limit", WTERMSIG(st));
        else
                snprintf(out, size, "glibc refuses it");
}

static int row(const char *pattern, bool must_compile, bool noise) {
        static char text[PROCFS_CMDLINE_MAX + 1];
        char g[96];
        Ere *e = NULL;
        char *why = NULL;
        int gm;

        subject(text, PROCFS_CMDLINE_MAX, noise);
        int r = ere_compile(pattern, &e, &why);
        if (r < 0) {
                printf("%-52.52s refused: %s\n", pattern, why);
                free(why);
                return must_compile ? 1 : 0;
        }
        const int reps = 20;
        double t0 = now();
        bool m = false;
        for (int i = 0; i < reps; i++)
                m = ere_match(e, text, PROCFS_CMDLINE_MAX);
        double us = (now() - t0) / reps * 1e6;
        glibc_row(pattern, text, g, sizeof g, &gm);
        printf("%-52.52s %6zu %10.1f µs %5s | %s\n", pattern, ere_states(e), us, m ? "yes" : "no", g);
        ere_free(e);
        return gm >= 0 && gm != m;
}

int main(int argc, char **argv) {
        int bad = 0;
        printf("one match over a %d-byte command line (bounds: %d states, {m,n} <= %d)\n", PROCFS_CMDLINE_MAX,
               ERE_MAX_STATES, ERE_MAX_REPEAT);
        printf("%-52s %6s %13s %5s | %s\n", "pattern", "states", "pinnerd", "match",
               "glibc regexec, memory added");
        if (argc > 1) {
                for (int i = 1; i < argc; i++)
                        bad |= row(argv[i], false, true);
                return bad;
        }
        for (size_t i = 0; i < sizeof real_world / sizeof *real_world; i++)
                bad |= row(real_world[i], true, false);
        for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++)
                bad |= row(hostile[i], false, true);
        return bad;
}
