/* SPDX-License-Identifier: MIT */
/* manythreads: one process with N threads that only sleep, as any user can
 * make, for tests of what a request about a huge process costs the daemon.
 *
 *   manythreads N [SECONDS]
 *
 * Starts N - 1 threads besides the main one (small stacks), prints
 * "ready PID THREADS" on stdout once they all exist, then sleeps SECONDS
 * (default 600) and exits. Exit 1 when a thread cannot be created.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *sleeper(void *arg) {
        for (;;)
                pause();
        return arg;
}

int main(int argc, char **argv) {
        pthread_attr_t attr;
        long n, secs = 600;

        if (argc < 2 || (n = strtol(argv[1], NULL, 10)) < 1) {
                fprintf(stderr, "usage: manythreads N [SECONDS]\n");
                return 2;
        }
        if (argc > 2)
                secs = strtol(argv[2], NULL, 10);
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN > 65536 ? PTHREAD_STACK_MIN : 65536);
        for (long i = 1; i < n; i++) {
                pthread_t t;
                int r = pthread_create(&t, &attr, sleeper, NULL);
                if (r != 0) {
                        fprintf(stderr, "manythreads: thread %ld of %ld: %s\n", i, n, strerror(r));
                        return 1;
                }
        }
        printf("ready %d %ld\n", (int) getpid(), n);
        fflush(stdout);
        /* alarm() ends the process even when every thread is in pause(). */
        alarm((unsigned) secs);
        for (;;)
                pause();
}
