/* SPDX-License-Identifier: MIT */
/* shieldbench — the measuring half of the shield phase of `make bench`
 * (tests/bench/shield.sh drives it). Prints "key=value" lines.
 *
 *   shieldbench owner SECONDS
 *       Spin on the CPU it was started on (taskset or a rule puts it there),
 *       reading CLOCK_MONOTONIC in a tight loop. Every gap of at least
 *       GAP_NS between two reads is an interruption: something else ran
 *       (an IRQ, a softirq, a timer tick, another task). Prints the stolen
 *       time per second, the interruptions per second and their p50, p99 and
 *       largest duration.
 *   shieldbench burn SECONDS
 *       A CPU-bound neighbour: spin without measuring.
 *   shieldbench forker CPU SECONDS
 *       Fork a short-lived child every millisecond. Each child reads its mask
 *       at once: born with CPU in it, it spins until CPU leaves its mask (at
 *       most 200 ms) and reports how long it held CPU; the parent notes when
 *       its own mask lost CPU. So, with a shield starting meanwhile: how many
 *       children were born with the shielded CPU after their parent had left
 *       it (a shield that moves parents first leaves none) and how long those
 *       born before kept it (the window the fork event closes). Children are
 *       forked only from SIGUSR1 on (sent as the shield starts).
 *
 * Nothing here asserts; every figure is printed as measured. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Two back-to-back clock reads take tens of nanoseconds, a few hundred on a
 * VM's clock; anything from 2 us on is something else running. */
#define GAP_NS 2000u
#define MAX_GAPS (4u * 1024 * 1024)

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return (x > y) - (x < y);
}

static uint64_t pct(const uint64_t *v, size_t n, double p) {
        if (n == 0)
                return 0;
        size_t k = (size_t) (p * (double) (n - 1) + 0.5);
        return v[k < n ? k : n - 1];
}

static int owner(double secs) {
        uint64_t *gaps = calloc(MAX_GAPS, sizeof *gaps);
        uint64_t start = now_ns(), end = start + (uint64_t) (secs * 1e9), prev = start, stolen = 0;
        size_t n = 0, dropped = 0;
        int cpu = sched_getcpu();
        bool moved = false;

        if (!gaps)
                return 1;
        for (;;) {
                uint64_t t = now_ns();
                if (t - prev >= GAP_NS) {
                        stolen += t - prev;
                        if (n < MAX_GAPS)
                                gaps[n++] = t - prev;
                        else
                                dropped++;
                        if (sched_getcpu() != cpu)
                                moved = true;
                }
                prev = t;
                if (t >= end)
                        break;
        }
        double wall = (double) (prev - start) / 1e9;
        qsort(gaps, n, sizeof *gaps, cmp_u64);
        printf("owner_cpu=%d\nowner_moved=%d\nowner_seconds=%.2f\n", cpu, moved, wall);
        printf("stolen_ms_per_s=%.1f\n", (double) stolen / 1e6 / wall);
        printf("interruptions_per_s=%.0f\n", (double) (n + dropped) / wall);
        printf("gap_p50_us=%.1f\ngap_p99_us=%.1f\ngap_max_us=%.1f\n", (double) pct(gaps, n, 0.50) / 1e3,
               (double) pct(gaps, n, 0.99) / 1e3, n ? (double) gaps[n - 1] / 1e3 : 0.0);
        free(gaps);
        return 0;
}

static int burn(double secs) {
        uint64_t end = now_ns() + (uint64_t) (secs * 1e9);
        volatile uint64_t x = 0;
        while (now_ns() < end)
                for (int i = 0; i < 100000; i++)
                        x += (uint64_t) i;
        return 0;
}

static bool has_cpu(int cpu) {
        cpu_set_t s;
        CPU_ZERO(&s);
        return sched_getaffinity(0, sizeof s, &s) == 0 && CPU_ISSET(cpu, &s);
}

typedef struct Report {
        uint64_t born_ns;
        uint64_t held_ns; /* how long it kept the CPU (0: born without it) */
        int had;
} Report;

static volatile sig_atomic_t armed;
static void on_usr1(int sig) {
        armed = 1;
}

/* Children report through a pipe made large enough for every report, and
 * are reaped by the kernel, so the parent forks on schedule. */
static int forker(int cpu, double secs) {
        uint64_t end = now_ns() + (uint64_t) (secs * 1e9), parent_left = 0;
        size_t cap = (size_t) (secs * 1000) + 64, n = 0, forked = 0;
        Report *r = calloc(cap, sizeof *r);
        int fds[2];

        if (!r || pipe(fds) < 0)
                return 1;
        (void) fcntl(fds[1], F_SETPIPE_SZ, 4 * 1024 * 1024);
        signal(SIGCHLD, SIG_IGN);
        signal(SIGUSR1, on_usr1);
        printf("forker_ready=1\n");
        fflush(stdout);
        while (now_ns() < end && forked < cap) {
                if (armed && !parent_left && !has_cpu(cpu))
                        parent_left = now_ns();
                /* Only children of the armed window are measured. */
                if (!armed) {
                        struct timespec ts = {0, 1000000};
                        nanosleep(&ts, NULL);
                        continue;
                }
                /* Taken before the fork: a child scheduled late would
                 * otherwise look born after its parent moved. */
                uint64_t fork_ns = now_ns();
                pid_t p = fork();
                if (p == 0) {
                        Report me = {.born_ns = fork_ns};
                        if ((me.had = has_cpu(cpu))) {
                                uint64_t limit = me.born_ns + 200000000u;
                                while (has_cpu(cpu) && now_ns() < limit)
                                        ;
                                me.held_ns = now_ns() - me.born_ns;
                        }
                        (void) !write(fds[1], &me, sizeof me);
                        _exit(0);
                }
                if (p > 0)
                        forked++;
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
        }
        close(fds[1]);
        /* The last children may still be spinning: at most 200 ms. */
        while (n < forked && read(fds[0], &r[n], sizeof r[n]) == (ssize_t) sizeof r[n])
                n++;
        size_t born_with = 0, after = 0, nh = 0;
        uint64_t *held = calloc(n + 1, sizeof *held), last_with = 0;
        for (size_t i = 0; i < n; i++) {
                if (!r[i].had)
                        continue;
                born_with++;
                held[nh++] = r[i].held_ns;
                if (parent_left && r[i].born_ns >= parent_left)
                        after++;
                if (r[i].born_ns > last_with)
                        last_with = r[i].born_ns;
        }
        qsort(held, nh, sizeof *held, cmp_u64);
        printf("children=%zu\nborn_with_cpu=%zu\nborn_with_cpu_after_parent_left=%zu\n", n, born_with, after);
        printf("parent_left=%d\n", parent_left != 0);
        printf("held_p50_us=%.0f\nheld_p99_us=%.0f\nheld_max_us=%.0f\n", (double) pct(held, nh, 0.5) / 1e3,
               (double) pct(held, nh, 0.99) / 1e3, nh ? (double) held[nh - 1] / 1e3 : 0.0);
        free(held);
        free(r);
        return 0;
}

int main(int argc, char **argv) {
        if (argc == 3 && strcmp(argv[1], "owner") == 0)
                return owner(atof(argv[2]));
        if (argc == 3 && strcmp(argv[1], "burn") == 0)
                return burn(atof(argv[2]));
        if (argc == 4 && strcmp(argv[1], "forker") == 0)
                return forker(atoi(argv[2]), atof(argv[3]));
        fprintf(stderr, "usage: shieldbench owner SECONDS | burn SECONDS | forker CPU SECONDS\n");
        return 2;
}
