/* SPDX-License-Identifier: MIT */
/* prefork: a pre-fork server's shape (nginx, Apache prefork, php-fpm): the
 * master, running as root, forks a worker that changes its user with
 * setresuid() and never execs.
 *
 *   prefork UID [THREADS] [--wait]
 *
 * Prints "master PID" and "worker PID", then reads commands on stdin, one a
 * line: "drop" (the worker switches every one of its threads to UID: glibc's
 * setresuid() does all threads) and "exit". The worker starts THREADS extra
 * threads (default 0) first, so the change is seen on several threads. With
 * --wait the master forks the worker only at a "fork" command. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static void *idle(void *arg) {
        (void) arg;
        for (;;)
                pause();
        return NULL;
}

int main(int argc, char **argv) {
        int pipefd[2];
        char line[64];

        if (argc < 2) {
                fprintf(stderr, "usage: prefork UID [THREADS]\n");
                return 2;
        }
        uid_t uid = (uid_t) strtoul(argv[1], NULL, 10);
        int threads = argc > 2 ? atoi(argv[2]) : 0;
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (pipe(pipefd) < 0)
                return 1;
        printf("master %d\n", (int) getpid());
        if (argc > 3 && strcmp(argv[3], "--wait") == 0)
                while (fgets(line, sizeof line, stdin) && strncmp(line, "fork", 4) != 0)
                        ;
        pid_t worker = fork();
        if (worker < 0)
                return 1;
        if (worker == 0) {
                char c;
                close(pipefd[1]);
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                for (int i = 0; i < threads; i++) {
                        pthread_t t;
                        pthread_create(&t, NULL, idle, NULL);
                }
                printf("worker %d\n", (int) getpid());
                while (read(pipefd[0], &c, 1) == 1) {
                        if (c == 'd') {
                                if (setresuid(uid, uid, uid) < 0) {
                                        perror("setresuid");
                                        _exit(1);
                                }
                                printf("dropped %d\n", (int) getpid());
                        }
                }
                _exit(0);
        }
        close(pipefd[0]);
        while (fgets(line, sizeof line, stdin)) {
                if (strncmp(line, "drop", 4) == 0) {
                        if (write(pipefd[1], "d", 1) != 1)
                                break;
                } else if (strncmp(line, "exit", 4) == 0)
                        break;
        }
        kill(worker, SIGKILL);
        waitpid(worker, NULL, 0);
        return 0;
}
