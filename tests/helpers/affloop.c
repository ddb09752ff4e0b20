/* SPDX-License-Identifier: MIT */
/* affloop SECONDS [NAME]: one thread (named NAME, default "affloop") calls
 * sched_setaffinity on itself in a loop for SECONDS, alternating between
 * every CPU and its starting mask, as a program that keeps resetting its
 * own mask does. Prints "tid TID" at start and "calls N" at the end. For the
 * drift-event pacing tests and benchmark. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double seconds;
static const char *name = "affloop";

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void *loop(void *arg) {
        cpu_set_t all, start;
        unsigned long calls = 0;
        double end = now() + seconds;

        prctl(PR_SET_NAME, name);
        printf("tid %ld\n", (long) syscall(SYS_gettid));
        fflush(stdout);
        CPU_ZERO(&all);
        for (int c = 0; c < CPU_SETSIZE && c < sysconf(_SC_NPROCESSORS_CONF); c++)
                CPU_SET(c, &all);
        if (sched_getaffinity(0, sizeof start, &start) < 0)
                return NULL;
        while (now() < end) {
                (void) sched_setaffinity(0, sizeof all, (calls & 1) ? &start : &all);
                calls++;
        }
        printf("calls %lu\n", calls);
        return arg;
}

int main(int argc, char **argv) {
        pthread_t t;

        if (argc < 2 || (seconds = atof(argv[1])) <= 0) {
                fprintf(stderr, "usage: affloop SECONDS [NAME]\n");
                return 2;
        }
        if (argc > 2)
                name = argv[2];
        if (pthread_create(&t, NULL, loop, NULL) != 0)
                return 1;
        pthread_join(t, NULL);
        return 0;
}
