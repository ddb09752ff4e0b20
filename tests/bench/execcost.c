/* SPDX-License-Identifier: MIT */
/* execcost PREFIX PROGRAM N MASK: fork and execve PROGRAM (firstmask, which
 * prints the mask it saw at its first instruction) N times, one at a time,
 * and time each from fork to its reaped exit. Prints key=value lines:
 * PREFIX_p50_us, PREFIX_p99_us, PREFIX_max_us, PREFIX_mean_us, and
 * PREFIX_first_on=K/N, how many saw MASK (e.g. 0x2) at their first
 * instruction. For the guarantee rows of `make bench`: a marked file's exec
 * against the same file unmarked and against no pinnerd at all. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return (x > y) - (x < y);
}

int main(int argc, char **argv) {
        if (argc != 5) {
                fprintf(stderr, "usage: execcost PREFIX PROGRAM N MASK\n");
                return 2;
        }
        const char *prefix = argv[1], *prog = argv[2], *want = argv[4];
        long n = atol(argv[3]);
        if (n <= 0 || n > 1000000)
                return 2;
        uint64_t *t = calloc((size_t) n, sizeof *t);
        long on = 0;
        double sum = 0;
        if (!t)
                return 1;
        for (long i = 0; i < n; i++) {
                int p[2];
                char buf[64] = "";
                if (pipe(p) < 0)
                        return 1;
                uint64_t t0 = now_ns();
                pid_t c = fork();
                if (c < 0)
                        return 1;
                if (c == 0) {
                        dup2(p[1], 1);
                        close(p[0]);
                        close(p[1]);
                        execl(prog, prog, (char *) NULL);
                        _exit(127);
                }
                close(p[1]);
                int st;
                waitpid(c, &st, 0);
                t[i] = now_ns() - t0;
                ssize_t k = read(p[0], buf, sizeof buf - 1);
                close(p[0]);
                if (k > 0) {
                        buf[k] = '\0';
                        buf[strcspn(buf, "\n")] = '\0';
                        on += strcmp(buf, want) == 0;
                }
                sum += (double) t[i];
        }
        qsort(t, (size_t) n, sizeof *t, cmp_u64);
        printf("%s_p50_us=%.1f\n", prefix, (double) t[n / 2] / 1000);
        printf("%s_p99_us=%.1f\n", prefix, (double) t[(n * 99) / 100] / 1000);
        printf("%s_max_us=%.1f\n", prefix, (double) t[n - 1] / 1000);
        printf("%s_mean_us=%.1f\n", prefix, sum / (double) n / 1000);
        printf("%s_first_on=%ld/%ld\n", prefix, on, n);
        free(t);
        return 0;
}
