/* SPDX-License-Identifier: MIT */
/* withpid: run a program as the given pid, to recycle a pid (or tid) on
 * purpose: clone3() with set_tid (Linux 5.5; needs CAP_CHECKPOINT_RESTORE or
 * CAP_SYS_ADMIN in the pid namespace's user namespace).
 *
 *   withpid PID PROGRAM [ARGS...]
 *
 * The child gets PID in the caller's pid namespace and execs PROGRAM; withpid
 * waits for it and exits with its status. Exit 75 when PID is in use (EEXIST),
 * 77 when the kernel cannot do it (ENOSYS, EPERM, EINVAL), 127 when the exec fails.
 */
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
        if (argc < 3) {
                fprintf(stderr, "usage: withpid PID PROGRAM [ARGS...]\n");
                return 2;
        }
        pid_t want = (pid_t) atoi(argv[1]);
        pid_t set_tid[1] = {want};
        struct clone_args args;
        memset(&args, 0, sizeof args);
        args.exit_signal = SIGCHLD;
        args.set_tid = (uint64_t) (uintptr_t) set_tid;
        args.set_tid_size = 1;

        long r = syscall(SYS_clone3, &args, sizeof args);
        if (r < 0) {
                int e = errno;
                fprintf(stderr, "withpid: clone3 with pid %d: %s\n", (int) want, strerror(e));
                return e == EEXIST ? 75 : (e == ENOSYS || e == EPERM || e == EINVAL) ? 77 : 1;
        }
        if (r == 0) {
                execv(argv[2], argv + 2);
                fprintf(stderr, "withpid: exec %s: %s\n", argv[2], strerror(errno));
                _exit(127);
        }
        int st;
        while (waitpid((pid_t) r, &st, 0) < 0)
                if (errno != EINTR)
                        return 1;
        if (WIFEXITED(st))
                return WEXITSTATUS(st);
        return 128 + WTERMSIG(st);
}
