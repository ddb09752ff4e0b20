/* SPDX-License-Identifier: MIT */
/* pintest: a process with named threads for the integration tests.
 *
 *   pintest [--threads N] [--name-prefix P] [--late-after MS] [--rename-after MS NEWNAME]
 *           [--hold SECONDS] [--commands]
 *
 * The process name is argv[0]'s basename (the kernel sets it on exec; copy the
 * binary to a unique name so rules match only the test's own processes).
 * --threads N starts N workers named P0..P(N-1) (P defaults to "w");
 * --late-after MS starts one more worker, named P"late", MS ms later;
 * --rename-after MS NEWNAME renames the first worker MS ms after start;
 * --hold S exits after S seconds (default: until killed);
 * --commands reads commands from stdin, one a line, and acts on them in order:
 *     spawn NAME        start a worker named NAME
 *     rename TID NAME   rename thread TID (the main thread included)
 *     exit TID          end worker TID
 *     child TID NAME    worker TID itself starts a worker named NAME (the new
 *                       thread inherits TID's mask, as a pool thread's would)
 *     execfrom TID ARGS worker TID calls execve() of this program with ARGS
 *                       (exec from a non-leader thread: TID takes over the pid)
 *     quit              exit the process
 *   EOF on stdin does not end the process (a FIFO writer may come and go).
 *
 * Every change is one flushed stdout line, so a shell reads tids as they come:
 *     main TID NAME     the main thread, first line
 *     thread TID NAME   a worker was started and has its name
 *     renamed TID NAME  a thread was renamed
 *     exited TID        a worker ended
 *     ready             the workers from --threads are all there
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 256

/* What a worker is asked to do in its own thread (child, execfrom). */
typedef enum WorkerJob { JOB_NONE, JOB_STOP, JOB_CHILD, JOB_EXEC } WorkerJob;

typedef struct Worker {
        pthread_t thread;
        pid_t tid;
        char name[16];
        sem_t named;
        sem_t stop; /* posted with job set */
        sem_t job_done;
        WorkerJob job;
        char job_arg[256];
        int used, done;
} Worker;

static Worker workers[MAX_WORKERS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const char *self_path; /* argv[0], for execfrom */

static Worker *spawn(const char *name);
static void run_exec(const char *args);

static pid_t gettid_(void) {
        return (pid_t) syscall(SYS_gettid);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
        va_list ap;
        pthread_mutex_lock(&lock);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        fflush(stdout);
        pthread_mutex_unlock(&lock);
}

static void *worker_main(void *arg) {
        Worker *w = arg;
        /* Name ourselves before anyone learns our tid: the test's first look
         * at the thread already sees the final name. */
        prctl(PR_SET_NAME, w->name);
        w->tid = gettid_();
        sem_post(&w->named);
        for (;;) {
                while (sem_wait(&w->stop) < 0 && errno == EINTR)
                        ;
                switch (w->job) {
                case JOB_CHILD:
                        /* Created from this thread, so it starts with this
                         * thread's mask, not the main thread's. */
                        spawn(w->job_arg);
                        break;
                case JOB_EXEC:
                        run_exec(w->job_arg);
                        break;
                default:
                        return NULL;
                }
                w->job = JOB_NONE;
                sem_post(&w->job_done);
        }
}

static Worker *spawn(const char *name) {
        Worker *w = NULL;
        for (int i = 0; i < MAX_WORKERS; i++)
                if (!workers[i].used) {
                        w = &workers[i];
                        break;
                }
        if (!w) {
                fprintf(stderr, "pintest: too many workers\n");
                return NULL;
        }
        memset(w, 0, sizeof *w);
        w->used = 1;
        snprintf(w->name, sizeof w->name, "%s", name);
        sem_init(&w->named, 0, 0);
        sem_init(&w->stop, 0, 0);
        sem_init(&w->job_done, 0, 0);
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
                perror("pintest: pthread_create");
                w->used = 0;
                return NULL;
        }
        while (sem_wait(&w->named) < 0 && errno == EINTR)
                ;
        say("thread %d %s\n", (int) w->tid, w->name);
        return w;
}

static Worker *find(pid_t tid) {
        for (int i = 0; i < MAX_WORKERS; i++)
                if (workers[i].used && !workers[i].done && workers[i].tid == tid)
                        return &workers[i];
        return NULL;
}

static int rename_tid(pid_t tid, const char *name) {
        char path[64];
        FILE *f;
        /* Writing the thread's comm file is what pthread_setname_np does for
         * another thread; it raises the same comm event. */
        snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int) tid);
        f = fopen(path, "w");
        if (!f)
                return -errno;
        fputs(name, f);
        if (fclose(f) != 0)
                return -errno;
        Worker *w = find(tid);
        if (w)
                snprintf(w->name, sizeof w->name, "%s", name);
        say("renamed %d %s\n", (int) tid, name);
        return 0;
}

/* execve() of this program from the calling thread; returns only on failure. */
static void run_exec(const char *args) {
        char buf[256], *argv[32], *save = NULL;
        int n = 0;

        snprintf(buf, sizeof buf, "%s", args);
        argv[n++] = (char *) self_path;
        for (char *t = strtok_r(buf, " \t\n", &save); t && n < 31; t = strtok_r(NULL, " \t\n", &save))
                argv[n++] = t;
        argv[n] = NULL;
        fflush(stdout);
        execv(self_path, argv);
        fprintf(stderr, "pintest: execv %s: %s\n", self_path, strerror(errno));
}

/* Hand a job to worker w and wait until its thread has done it (for
 * JOB_EXEC success means the process image is gone, so there is no wait). */
static void worker_job(Worker *w, WorkerJob job, const char *arg) {
        w->job = job;
        snprintf(w->job_arg, sizeof w->job_arg, "%s", arg);
        sem_post(&w->stop);
        while (sem_wait(&w->job_done) < 0 && errno == EINTR)
                ;
}

static void end_worker(Worker *w) {
        w->job = JOB_STOP;
        sem_post(&w->stop);
        pthread_join(w->thread, NULL);
        w->done = 1;
        say("exited %d\n", (int) w->tid);
}

static void sleep_ms(long ms) {
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static void commands(void) {
        char line[256], a[64], b[64];
        for (;;) {
                if (!fgets(line, sizeof line, stdin)) {
                        /* EOF: a FIFO writer went away. Wait for the next one. */
                        clearerr(stdin);
                        sleep_ms(20);
                        continue;
                }
                a[0] = b[0] = '\0';
                if (sscanf(line, "spawn %63s", a) == 1)
                        spawn(a);
                else if (sscanf(line, "rename %63s %63s", a, b) == 2) {
                        int r = rename_tid((pid_t) atoi(a), b);
                        if (r < 0)
                                fprintf(stderr, "pintest: rename %s: %s\n", a, strerror(-r));
                } else if (sscanf(line, "exit %63s", a) == 1) {
                        Worker *w = find((pid_t) atoi(a));
                        if (w)
                                end_worker(w);
                        else
                                fprintf(stderr, "pintest: no worker %s\n", a);
                } else if (sscanf(line, "child %63s %63s", a, b) == 2) {
                        Worker *w = find((pid_t) atoi(a));
                        if (w)
                                worker_job(w, JOB_CHILD, b);
                        else
                                fprintf(stderr, "pintest: no worker %s\n", a);
                } else if (sscanf(line, "execfrom %63s", a) == 1) {
                        Worker *w = find((pid_t) atoi(a));
                        const char *rest = strstr(line, a) + strlen(a);
                        if (w)
                                worker_job(w, JOB_EXEC, rest);
                        else
                                fprintf(stderr, "pintest: no worker %s\n", a);
                } else if (strncmp(line, "quit", 4) == 0)
                        exit(0);
                else if (line[0] != '\n')
                        fprintf(stderr, "pintest: unknown command: %s", line);
        }
}

static void usage(void) {
        fprintf(stderr, "usage: pintest [--threads N] [--name-prefix P] [--late-after MS] "
                        "[--rename-after MS NEWNAME] [--hold SECONDS] [--commands]\n");
        exit(2);
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                {"threads", required_argument, NULL, 't'},
                {"name-prefix", required_argument, NULL, 'p'},
                {"late-after", required_argument, NULL, 'l'},
                {"rename-after", required_argument, NULL, 'r'},
                {"hold", required_argument, NULL, 'H'},
                {"commands", no_argument, NULL, 'c'},
                {},
        };
        int n = 0, c;
        long late_ms = -1, rename_ms = -1, hold_s = -1;
        const char *prefix = "w", *newname = NULL;
        int use_commands = 0;
        char name[16], comm[16] = "";
        const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

        self_path = argv[0];

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 't':
                        n = atoi(optarg);
                        if (n < 0 || n > MAX_WORKERS - 1)
                                usage();
                        break;
                case 'p':
                        prefix = optarg;
                        break;
                case 'l':
                        late_ms = atol(optarg);
                        break;
                case 'r':
                        rename_ms = atol(optarg);
                        if (optind >= argc)
                                usage();
                        newname = argv[optind++];
                        break;
                case 'H':
                        hold_s = atol(optarg);
                        break;
                case 'c':
                        use_commands = 1;
                        break;
                default:
                        usage();
                }
        }

        /* The kernel already named us after the exec'd file; say it again for
         * a pintest started through a symlink or by another name. */
        snprintf(comm, sizeof comm, "%s", base);
        prctl(PR_SET_NAME, comm);
        say("main %d %s\n", (int) getpid(), comm);

        Worker *first = NULL;
        for (int i = 0; i < n; i++) {
                snprintf(name, sizeof name, "%s%d", prefix, i);
                Worker *w = spawn(name);
                if (!first)
                        first = w;
        }
        say("ready\n");

        if (use_commands)
                commands();

        /* The timed actions, in the order they fall due. */
        long t = 0;
        if (late_ms >= 0 && (rename_ms < 0 || late_ms <= rename_ms)) {
                sleep_ms(late_ms - t);
                t = late_ms;
                snprintf(name, sizeof name, "%slate", prefix);
                spawn(name);
                late_ms = -1;
        }
        if (rename_ms >= 0) {
                sleep_ms(rename_ms - t);
                t = rename_ms;
                if (first)
                        rename_tid(first->tid, newname);
        }
        if (late_ms >= 0) {
                sleep_ms(late_ms - t);
                t = late_ms;
                snprintf(name, sizeof name, "%slate", prefix);
                spawn(name);
        }
        if (hold_s >= 0) {
                long left = hold_s * 1000 - t;
                if (left > 0)
                        sleep_ms(left);
                return 0;
        }
        for (;;)
                pause();
}
