/* SPDX-License-Identifier: MIT */
/* forkstorm: raise process events as fast as this machine allows, to overflow
 * the proc connector's receive buffer of a (stopped) daemon.
 *
 *   forkstorm [-j JOBS] fork N [PROGRAM [ARGS...]]   N fork+exit (or fork+exec PROGRAM) per job
 *   forkstorm [-j JOBS] thread N                     N thread create+exit per job
 *   forkstorm [-j JOBS] comm N                       N prctl(PR_SET_NAME) per job: one comm event
 *                                                    each, the cheapest event there is
 *
 * Prints "EVENTS events in SECONDS s (RATE/s)" on stdout when all jobs are done
 * (an estimate: fork/thread raise a fork and an exit event each, exec one more).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void *nothing(void *arg) {
        return arg;
}

static int run_job(const char *mode, long n, char **prog) {
        if (strcmp(mode, "fork") == 0) {
                for (long i = 0; i < n; i++) {
                        pid_t p = fork();
                        if (p < 0) {
                                if (errno == EAGAIN) {
                                        i--;
                                        continue;
                                }
                                perror("forkstorm: fork");
                                return 1;
                        }
                        if (p == 0) {
                                if (prog && prog[0]) {
                                        execv(prog[0], prog);
                                        _exit(127);
                                }
                                _exit(0);
                        }
                        while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
                                ;
                }
        } else if (strcmp(mode, "thread") == 0) {
                for (long i = 0; i < n; i++) {
                        pthread_t t;
                        if (pthread_create(&t, NULL, nothing, NULL) != 0) {
                                i--;
                                continue;
                        }
                        pthread_join(t, NULL);
                }
        } else if (strcmp(mode, "comm") == 0) {
                char name[16];
                for (long i = 0; i < n; i++) {
                        snprintf(name, sizeof name, "fs%ld", i & 0xffff);
                        prctl(PR_SET_NAME, name);
                }
        } else {
                fprintf(stderr, "forkstorm: unknown mode %s\n", mode);
                return 2;
        }
        return 0;
}

int main(int argc, char **argv) {
        int jobs = 1, rc = 0;
        int i = 1;

        if (i + 1 < argc && strcmp(argv[i], "-j") == 0) {
                jobs = atoi(argv[i + 1]);
                i += 2;
        }
        if (argc - i < 2 || jobs < 1) {
                fprintf(stderr, "usage: forkstorm [-j JOBS] fork|thread|comm N [PROGRAM [ARGS...]]\n");
                return 2;
        }
        const char *mode = argv[i];
        long n = atol(argv[i + 1]);
        char **prog = argc - i > 2 ? argv + i + 2 : NULL;
        double t0 = now();

        if (jobs == 1)
                rc = run_job(mode, n, prog);
        else {
                for (int j = 0; j < jobs; j++) {
                        pid_t p = fork();
                        if (p == 0)
                                _exit(run_job(mode, n, prog));
                        if (p < 0) {
                                perror("forkstorm: fork");
                                return 1;
                        }
                }
                int st;
                while (wait(&st) > 0)
                        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                                rc = 1;
        }
        double secs = now() - t0;
        long per = strcmp(mode, "comm") == 0 ? 1 : (prog ? 3 : 2);
        long events = n * jobs * per;
        printf("%ld events in %.2f s (%.0f/s)\n", events, secs, secs > 0 ? (double) events / secs : 0.0);
        return rc;
}
