/* SPDX-License-Identifier: MIT */
/* execpin: is an exec'd process pinned before its main() runs?
 *
 *   execpin COPY CPU N [TIMEOUT_MS]
 *
 * Runs COPY (a copy of this binary under a name a rule matches, so its comm
 * is the rule's) N times, one after the other. Each child looks at its own
 * mask first thing in main(): "pinned before main" when it is CPU alone
 * already; then it spins until it is (or TIMEOUT_MS, default 2000, passes)
 * and reports how long that took from the clock read just before execve.
 * Prints key=value lines:
 *     execs= reports= pinned= before_main= p50_us= p99_us= max_us=
 * The same measure as tests/bench/pinbench.c exec-latency, small enough for
 * the integration tests.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct Report {
        int32_t before_main;
        int32_t pinned;
        uint64_t ns; /* before execve -> pinned */
} Report;

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static bool pinned_to(int cpu) {
        cpu_set_t s;
        if (sched_getaffinity(0, sizeof s, &s) < 0)
                return false;
        return CPU_COUNT(&s) == 1 && CPU_ISSET(cpu, &s);
}

/* child T0 CPU FD TIMEOUT_MS */
static int child(char **argv) {
        bool first = true;
        Report r = {0};
        uint64_t t0 = strtoull(argv[2], NULL, 10);
        int cpu = atoi(argv[3]), fd = atoi(argv[4]);
        uint64_t deadline = t0 + strtoull(argv[5], NULL, 10) * 1000000u;

        r.before_main = pinned_to(cpu);
        for (;; first = false) {
                if (first ? r.before_main : pinned_to(cpu)) {
                        r.pinned = 1;
                        r.ns = now_ns() - t0;
                        break;
                }
                if (now_ns() > deadline)
                        break;
        }
        return write(fd, &r, sizeof r) == (ssize_t) sizeof r ? 0 : 1;
}

static int cmp(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return (x > y) - (x < y);
}

int main(int argc, char **argv) {
        if (argc >= 6 && strcmp(argv[1], "child") == 0)
                return child(argv);
        if (argc < 4) {
                fprintf(stderr, "usage: execpin COPY CPU N [TIMEOUT_MS]\n");
                return 2;
        }
        const char *copy = argv[1], *cpu = argv[2], *timeout = argc > 4 ? argv[4] : "2000";
        long n = strtol(argv[3], NULL, 10);
        uint64_t *v = calloc((size_t) (n > 0 ? n : 1), sizeof *v);
        long reports = 0, pinned = 0, before = 0;
        int pfd[2];

        if (!v || n < 1 || pipe(pfd) < 0) {
                perror("execpin");
                return 2;
        }
        for (long i = 0; i < n; i++) {
                char t0[32], fd[16];
                pid_t pid = fork();
                if (pid < 0) {
                        perror("execpin: fork");
                        return 2;
                }
                if (pid == 0) {
                        close(pfd[0]);
                        snprintf(fd, sizeof fd, "%d", pfd[1]);
                        snprintf(t0, sizeof t0, "%" PRIu64, now_ns());
                        execl(copy, copy, "child", t0, cpu, fd, timeout, (char *) NULL);
                        _exit(127);
                }
                Report r;
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                if (read(pfd[0], &r, sizeof r) != (ssize_t) sizeof r)
                        continue;
                reports++;
                before += r.before_main;
                if (r.pinned)
                        v[pinned++] = r.ns;
        }
        qsort(v, (size_t) pinned, sizeof *v, cmp);
        printf("execs=%ld\nreports=%ld\npinned=%ld\nbefore_main=%ld\n", n, reports, pinned, before);
        if (pinned) {
                long p50 = (pinned * 50 + 99) / 100, p99 = (pinned * 99 + 99) / 100;
                printf("p50_us=%.1f\np99_us=%.1f\nmax_us=%.1f\n", (double) v[p50 - 1] / 1e3,
                       (double) v[p99 - 1] / 1e3, (double) v[pinned - 1] / 1e3);
        }
        return 0;
}
