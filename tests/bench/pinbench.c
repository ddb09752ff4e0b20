/* SPDX-License-Identifier: MIT */
/* pinbench — the measuring half of `make bench`; tests/bench/run.sh drives it.
 *
 * Every subcommand prints "key=value" lines that run.sh turns into the table.
 * Nothing here asserts: a number that misses its goal is still a number.
 *
 *   pinbench exec-latency COPY CPU N POLL_US STAGGER_US TIMEOUT_MS
 *   pinbench thread-latency COPY CPU N
 *   pinbench storm TRUE COPY CPU N LONG_EVERY PARALLEL DAEMON_PID
 *   pinbench escape COPY CPU N DAEMON_PID
 *   pinbench idle DAEMON_PID SECONDS [SETTLE_SEC]
 *   pinbench spawn COPY PROCS THREADS
 *   pinbench cpu PID SECONDS
 *
 * COPY is a copy of this binary under a name only the benchmark's rules match
 * (the exec'd process's comm is the file name), so the daemon never touches
 * another engineer's processes. The copy runs the child modes below.
 *
 * Times are CLOCK_MONOTONIC, the clock the proc connector stamps its events
 * with (ktime_get_ns), so "kernel event -> pinned" needs no conversion. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernel/cnproc.h"

/* Children that a crashed run leaves behind go away by themselves. */
#define CHILD_LIFETIME_SEC 600

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static void sleep_ns(uint64_t ns) {
        struct timespec ts = {.tv_sec = (time_t) (ns / 1000000000u), .tv_nsec = (long) (ns % 1000000000u)};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static void die(const char *what) {
        fprintf(stderr, "pinbench: %s: %s\n", what, strerror(errno));
        exit(2);
}

static long arg_long(const char *s, const char *what) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || *end || end == s) {
                fprintf(stderr, "pinbench: %s: not a number: '%s'\n", what, s);
                exit(2);
        }
        return v;
}

/* ---- masks ------------------------------------------------------------------ */

/* The bench CPU alone, as the daemon's rule asks. */
static bool pinned_to(pid_t tid, int cpu) {
        cpu_set_t s;
        if (sched_getaffinity(tid, sizeof s, &s) < 0)
                return false;
        return CPU_COUNT(&s) == 1 && CPU_ISSET(cpu, &s);
}

/* ---- statistics ------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return (x > y) - (x < y);
}

/* p50/p90/p99/max/mean in microseconds of n samples in nanoseconds, as
 * PREFIX_p50_us=... lines. Sorts v. */
static void print_dist(const char *prefix, uint64_t *v, size_t n) {
        double sum = 0;

        printf("%s_n=%zu\n", prefix, n);
        if (n == 0)
                return;
        qsort(v, n, sizeof *v, cmp_u64);
        for (size_t i = 0; i < n; i++)
                sum += (double) v[i];
        /* Nearest rank. */
        size_t p50 = (n * 50 + 99) / 100, p90 = (n * 90 + 99) / 100, p99 = (n * 99 + 99) / 100;
        printf("%s_min_us=%.1f\n", prefix, (double) v[0] / 1e3);
        printf("%s_p50_us=%.1f\n", prefix, (double) v[p50 ? p50 - 1 : 0] / 1e3);
        printf("%s_p90_us=%.1f\n", prefix, (double) v[p90 ? p90 - 1 : 0] / 1e3);
        printf("%s_p99_us=%.1f\n", prefix, (double) v[p99 ? p99 - 1 : 0] / 1e3);
        printf("%s_max_us=%.1f\n", prefix, (double) v[n - 1] / 1e3);
        printf("%s_mean_us=%.1f\n", prefix, sum / (double) n / 1e3);
}

/* ---- /proc readers ------------------------------------------------------------ */

/* On-CPU nanoseconds of every thread of pid (schedstat's first field): far
 * finer than utime+stime's 10 ms ticks. */
static int64_t cpu_ns(pid_t pid) {
        char path[64];
        DIR *d;
        struct dirent *de;
        int64_t sum = 0;

        snprintf(path, sizeof path, "/proc/%d/task", (int) pid);
        d = opendir(path);
        if (!d)
                return -1;
        while ((de = readdir(d))) {
                char p[320];
                unsigned long long ns;
                FILE *f;
                if (de->d_name[0] == '.')
                        continue;
                snprintf(p, sizeof p, "/proc/%d/task/%s/schedstat", (int) pid, de->d_name);
                f = fopen(p, "re");
                if (!f)
                        continue;
                if (fscanf(f, "%llu", &ns) == 1)
                        sum += (int64_t) ns;
                fclose(f);
        }
        closedir(d);
        return sum;
}

/* utime + stime in clock ticks, from /proc/PID/stat (fields 14 and 15). */
static int64_t cpu_ticks(pid_t pid) {
        char path[64], buf[2048];
        unsigned long long ut, st;
        ssize_t n;
        int fd;

        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
                return -1;
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
                return -1;
        return (int64_t) (ut + st);
}

/* The same field summed over every thread of pid: TuneD does its work in
 * threads, pinnerd in one. */
static int64_t task_status_sum(pid_t pid, const char *key) {
        char path[64];
        DIR *d;
        struct dirent *de;
        int64_t sum = 0;

        snprintf(path, sizeof path, "/proc/%d/task", (int) pid);
        d = opendir(path);
        if (!d)
                return -1;
        while ((de = readdir(d))) {
                char p[320], line[256];
                size_t kl = strlen(key);
                FILE *f;
                if (de->d_name[0] == '.')
                        continue;
                snprintf(p, sizeof p, "/proc/%d/task/%s/status", (int) pid, de->d_name);
                f = fopen(p, "re");
                if (!f)
                        continue;
                while (fgets(line, sizeof line, f))
                        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
                                sum += strtoll(line + kl + 1, NULL, 10);
                                break;
                        }
                fclose(f);
        }
        closedir(d);
        return sum;
}

/* What the daemon did over a phase: CPU time, time spent runnable but waiting
 * for a CPU (schedstat's second field: the scheduler's share of the
 * latency), and how often it went to sleep and woke up again. */
typedef struct DaemonSample {
        int64_t cpu_ns, wait_ns, vol;
} DaemonSample;

static DaemonSample daemon_sample(pid_t pid) {
        DaemonSample d = {-1, -1, -1};
        char path[64];
        unsigned long long c, w;
        FILE *f;

        if (pid <= 0)
                return d;
        snprintf(path, sizeof path, "/proc/%d/schedstat", (int) pid);
        f = fopen(path, "re");
        if (f) {
                if (fscanf(f, "%llu %llu", &c, &w) == 2) {
                        d.cpu_ns = (int64_t) c;
                        d.wait_ns = (int64_t) w;
                }
                fclose(f);
        }
        d.vol = task_status_sum(pid, "voluntary_ctxt_switches");
        return d;
}

/* PREFIX_daemon_* lines; per_event: the phase's number of matching events. */
static void daemon_print(const char *prefix, DaemonSample a, DaemonSample b, uint64_t per) {
        if (a.cpu_ns < 0 || b.cpu_ns < 0)
                return;
        int64_t wake = b.vol - a.vol;
        printf("%s_daemon_cpu_us=%.1f\n%s_daemon_wakeups=%" PRId64 "\n", prefix,
               (double) (b.cpu_ns - a.cpu_ns) / 1e3, prefix, wake);
        if (per)
                printf("%s_daemon_cpu_us_per_sample=%.1f\n", prefix,
                       (double) (b.cpu_ns - a.cpu_ns) / 1e3 / (double) per);
        if (wake > 0)
                printf("%s_daemon_runq_wait_us_per_wakeup=%.1f\n%s_daemon_cpu_us_per_wakeup=%.1f\n", prefix,
                       (double) (b.wait_ns - a.wait_ns) / 1e3 / (double) wake, prefix,
                       (double) (b.cpu_ns - a.cpu_ns) / 1e3 / (double) wake);
}

/* ---- our own proc connector listener ------------------------------------------ */

/* Independent of the daemon's parser on purpose: it counts what the kernel
 * sent, to check the daemon's own counter against. */
typedef struct Listener {
        int fd;
        uint64_t fork, exec, exit, comm, other, lost;
        /* Optional: exec timestamps by pid, for "kernel event -> pinned". */
        uint64_t *exec_ts;
        size_t exec_ts_size;
} Listener;

/* The socket and subscription are the daemon's (cnproc.c); the counting
 * below is the bench's own, so it does not share the parser it measures. */
static int listener_open(Listener *l) {
        int r;

        memset(l, 0, sizeof *l);
        r = cnproc_open(16 * 1024 * 1024, &l->fd);
        if (r < 0) {
                l->fd = -1;
                return r;
        }
        r = cnproc_subscribe(l->fd, true);
        if (r < 0) {
                close(l->fd);
                l->fd = -1;
        }
        return r;
}

static void listener_drain(Listener *l) {
        char buf[16384] __attribute__((aligned(8)));

        if (l->fd < 0)
                return;
        for (;;) {
                ssize_t len = recv(l->fd, buf, sizeof buf, MSG_DONTWAIT);
                if (len < 0) {
                        if (errno == ENOBUFS) {
                                l->lost++;
                                continue;
                        }
                        if (errno == EINTR)
                                continue;
                        return;
                }
                int left = (int) len;
                for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK(h, (unsigned) left);
                     h = NLMSG_NEXT(h, left)) {
                        struct cn_msg *cn = NLMSG_DATA(h);
                        struct proc_event *ev = (struct proc_event *) cn->data;
                        if (h->nlmsg_type != NLMSG_DONE || cn->id.idx != CN_IDX_PROC)
                                continue;
                        switch (ev->what) {
                        case PROC_EVENT_FORK:
                                l->fork++;
                                break;
                        case PROC_EVENT_EXEC:
                                l->exec++;
                                if (l->exec_ts) {
                                        pid_t p = ev->event_data.exec.process_pid;
                                        if (p > 0 && (size_t) p < l->exec_ts_size)
                                                l->exec_ts[p] = ev->timestamp_ns;
                                }
                                break;
                        case PROC_EVENT_EXIT:
                                l->exit++;
                                break;
                        case PROC_EVENT_COMM:
                                l->comm++;
                                break;
                        case PROC_EVENT_NONE:
                                break;
                        default:
                                l->other++;
                                break;
                        }
                }
        }
}

static uint64_t listener_total(const Listener *l) {
        return l->fork + l->exec + l->exit + l->comm + l->other;
}

static void listener_close(Listener *l) {
        if (l->fd < 0)
                return;
        /* The kernel counts listeners; tell it we are gone. */
        (void) cnproc_subscribe(l->fd, false);
        close(l->fd);
        l->fd = -1;
        free(l->exec_ts);
        l->exec_ts = NULL;
}

static void listener_print(const char *prefix, const Listener *l) {
        printf("%s_events=%" PRIu64 "\n%s_fork=%" PRIu64 "\n%s_exec=%" PRIu64 "\n%s_exit=%" PRIu64
               "\n%s_comm=%" PRIu64 "\n%s_other=%" PRIu64 "\n%s_lost=%" PRIu64 "\n",
               prefix, listener_total(l), prefix, l->fork, prefix, l->exec, prefix, l->exit, prefix, l->comm,
               prefix, l->other, prefix, l->lost);
}

/* ---- child modes (run as COPY) ------------------------------------------------------ */

/* Result of one exec'd child, written whole into a pipe (< PIPE_BUF). */
typedef struct ExecRecord {
        int32_t pid;
        int32_t first_check_pinned;
        uint64_t t_before_exec, t_main, t_pinned; /* t_pinned 0: never within the timeout */
} ExecRecord;

/* exec-child T0 CPU FD POLL_US TIMEOUT_MS: wait until the daemon has pinned us,
 * spinning on our own mask (POLL_US 0) or sleeping between looks. */
static int child_exec(int argc, char **argv) {
        ExecRecord rec = {.pid = (int32_t) getpid(), .t_main = now_ns()};
        if (argc < 7)
                return 2;
        rec.t_before_exec = strtoull(argv[2], NULL, 10);
        int cpu = (int) arg_long(argv[3], "cpu"), fd = (int) arg_long(argv[4], "fd");
        uint64_t poll_ns = (uint64_t) arg_long(argv[5], "poll") * 1000u;
        uint64_t deadline = rec.t_before_exec + (uint64_t) arg_long(argv[6], "timeout") * 1000000u;

        for (bool first = true;; first = false) {
                if (pinned_to(0, cpu)) {
                        rec.t_pinned = now_ns();
                        rec.first_check_pinned = first;
                        break;
                }
                if (now_ns() > deadline)
                        break;
                if (poll_ns)
                        sleep_ns(poll_ns);
        }
        if (write(fd, &rec, sizeof rec) != (ssize_t) sizeof rec)
                return 1;
        return 0;
}

/* sleeper THREADS READY_FD: THREADS - 1 sleeping threads besides the main one,
 * one byte on READY_FD once they all exist, then sleep until killed. */
static void *sleep_thread(void *arg) {
        for (;;)
                pause();
        return NULL;
}

static int child_sleeper(int argc, char **argv) {
        long n = argc > 2 ? arg_long(argv[2], "threads") : 1;
        int ready = argc > 3 ? (int) arg_long(argv[3], "fd") : -1;
        pthread_attr_t attr;

        alarm(CHILD_LIFETIME_SEC);
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        for (long i = 1; i < n; i++) {
                pthread_t t;
                if (pthread_create(&t, &attr, sleep_thread, NULL) != 0) {
                        fprintf(stderr, "pinbench sleeper: thread %ld of %ld: cannot create\n", i, n);
                        break;
                }
        }
        if (ready >= 0) {
                (void) !write(ready, "x", 1);
                close(ready);
        }
        for (;;)
                pause();
        return 0;
}

typedef struct ThreadBench {
        int cpu;
        cpu_set_t all;
        uint64_t t0;
        uint64_t elapsed; /* 0: not pinned within the timeout */
        unsigned idx;
} ThreadBench;

#define THREAD_TIMEOUT_NS (2000u * 1000000u)

static void wait_pinned_self(ThreadBench *b) {
        for (;;) {
                if (pinned_to(0, b->cpu)) {
                        b->elapsed = now_ns() - b->t0;
                        return;
                }
                if (now_ns() - b->t0 > THREAD_TIMEOUT_NS) {
                        b->elapsed = 0;
                        return;
                }
        }
}

/* Born with a name the rule matches (inherited from the spawner). */
static void *new_thread_main(void *arg) {
        wait_pinned_self(arg);
        return NULL;
}

/* Born with the process name (no match), then renamed into the rule. */
static void *rename_thread_main(void *arg) {
        ThreadBench *b = arg;
        char name[16];
        snprintf(name, sizeof name, "worker-%u", b->idx % 100000u);
        b->t0 = now_ns();
        prctl(PR_SET_NAME, name, 0, 0, 0);
        wait_pinned_self(b);
        return NULL;
}

typedef struct Spawner {
        ThreadBench b;
        long n;
        uint64_t *v;
        size_t nv, missed;
} Spawner;

/* Named "worker-spawn" so that its children inherit a matching name; its own
 * mask is widened again before each creation, or the child would inherit the
 * pin and there would be nothing to measure. */
static void *spawner_main(void *arg) {
        Spawner *s = arg;

        prctl(PR_SET_NAME, "worker-spawn", 0, 0, 0);
        for (long i = 0; i < s->n; i++) {
                pthread_t t;
                (void) sched_setaffinity(0, sizeof s->b.all, &s->b.all);
                s->b.t0 = now_ns();
                if (pthread_create(&t, NULL, new_thread_main, &s->b) != 0)
                        break;
                pthread_join(t, NULL);
                if (s->b.elapsed)
                        s->v[s->nv++] = s->b.elapsed;
                else
                        s->missed++;
        }
        return NULL;
}

/* thread-child CPU N: N new threads, then N renamed ones, one at a time;
 * prints the two distributions. */
static int child_threads(int argc, char **argv) {
        Spawner s = {0};
        uint64_t *rv;
        size_t nr = 0, rmissed = 0;
        pthread_t t;

        if (argc < 4)
                return 2;
        alarm(CHILD_LIFETIME_SEC);
        s.b.cpu = (int) arg_long(argv[2], "cpu");
        s.n = arg_long(argv[3], "n");
        if (sched_getaffinity(0, sizeof s.b.all, &s.b.all) < 0)
                die("sched_getaffinity");
        s.v = calloc((size_t) s.n + 1, sizeof(uint64_t));
        rv = calloc((size_t) s.n + 1, sizeof(uint64_t));
        if (!s.v || !rv)
                die("calloc");

        if (pthread_create(&t, NULL, spawner_main, &s) != 0)
                die("pthread_create");
        pthread_join(t, NULL);

        for (long i = 0; i < s.n; i++) {
                ThreadBench b = s.b;
                b.idx = (unsigned) i;
                if (pthread_create(&t, NULL, rename_thread_main, &b) != 0)
                        break;
                pthread_join(t, NULL);
                if (b.elapsed)
                        rv[nr++] = b.elapsed;
                else
                        rmissed++;
        }
        print_dist("newthread", s.v, s.nv);
        printf("newthread_unpinned=%zu\n", s.missed);
        print_dist("rename", rv, nr);
        printf("rename_unpinned=%zu\n", rmissed);
        fflush(stdout);
        return 0;
}

/* ---- driver modes -------------------------------------------------------------------- */

/* quiet: the child's stdout goes to /dev/null, so a long-lived one does not
 * hold the pipe of a caller that reads our output to its end. */
static pid_t spawn_copy(const char *copy, char **args, bool quiet) {
        pid_t pid = fork();
        if (pid < 0)
                die("fork");
        if (pid == 0) {
                if (quiet) {
                        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
                        if (fd >= 0)
                                dup2(fd, STDOUT_FILENO);
                }
                /* argv[0] is the copy's path, so its command line holds the
                 * name too: TuneD matches command lines, pinnerd comm. */
                args[0] = (char *) copy;
                execv(copy, args);
                _exit(127);
        }
        return pid;
}

/* exec-latency COPY CPU N POLL_US STAGGER_US TIMEOUT_MS [DAEMON_PID]
 *
 * STAGGER_US 0: one child at a time, each spinning on its mask (pinnerd).
 * STAGGER_US > 0: a new child every STAGGER_US, all waiting at once and
 * looking every POLL_US (a 1 s poller: waiting one by one would take minutes). */
static int drive_exec_latency(int argc, char **argv) {
        if (argc < 8)
                return 2;
        const char *copy = argv[2];
        const char *cpu = argv[3];
        long n = arg_long(argv[4], "n"), stagger = arg_long(argv[6], "stagger");
        const char *poll_us = argv[5], *timeout_ms = argv[7];
        int pfd[2];
        Listener l;
        size_t got = 0, first_pinned = 0, unpinned = 0, nk = 0;
        long running = 0;
        uint64_t *e2p = calloc((size_t) n, sizeof(uint64_t)), *k2p = calloc((size_t) n, sizeof(uint64_t)),
                 *e2m = calloc((size_t) n, sizeof(uint64_t)), *m2p = calloc((size_t) n, sizeof(uint64_t));
        ExecRecord *recs = calloc((size_t) n, sizeof(ExecRecord));

        pid_t daemon = argc > 8 ? (pid_t) arg_long(argv[8], "daemon pid") : 0;
        DaemonSample d0 = daemon_sample(daemon), d1;

        if (!e2p || !k2p || !e2m || !m2p || !recs)
                die("calloc");
        if (pipe2(pfd, O_CLOEXEC) < 0)
                die("pipe");
        (void) fcntl(pfd[0], F_SETPIPE_SZ, 1024 * 1024);
        (void) fcntl(pfd[0], F_SETFL, O_NONBLOCK);
        if (listener_open(&l) == 0) {
                FILE *f = fopen("/proc/sys/kernel/pid_max", "re");
                long pid_max = 4L * 1024 * 1024; /* the kernel's limit */
                if (f) {
                        if (fscanf(f, "%ld", &pid_max) != 1)
                                pid_max = 4L * 1024 * 1024;
                        fclose(f);
                }
                l.exec_ts_size = (size_t) pid_max + 1;
                l.exec_ts = calloc(l.exec_ts_size, sizeof(uint64_t));
        }

        for (long i = 0; i < n || running > 0;) {
                ssize_t r;
                /* Collect what has arrived. */
                while ((r = read(pfd[0], &recs[got], sizeof *recs)) == (ssize_t) sizeof *recs)
                        got++;
                while (waitpid(-1, NULL, WNOHANG) > 0)
                        running--;
                if (i < n && (stagger == 0 ? running == 0 : true)) {
                        char t0s[32], fds[16];
                        char *args[] = {(char *) "child", (char *) "exec-child", t0s, (char *) cpu, fds,
                                        (char *) poll_us, (char *) timeout_ms,   NULL};
                        snprintf(fds, sizeof fds, "%d", pfd[1]);
                        pid_t pid = fork();
                        if (pid < 0)
                                die("fork");
                        if (pid == 0) {
                                /* The write end must survive exec; the read end must not. */
                                (void) fcntl(pfd[1], F_SETFD, 0);
                                args[0] = (char *) copy; /* as spawn_copy does */
                                snprintf(t0s, sizeof t0s, "%" PRIu64, now_ns());
                                execv(copy, args);
                                _exit(127);
                        }
                        running++;
                        i++;
                        if (stagger > 0) {
                                sleep_ns((uint64_t) stagger * 1000u);
                                listener_drain(&l);
                        }
                        continue;
                }
                if (stagger == 0 && running > 0) {
                        if (waitpid(-1, NULL, 0) > 0)
                                running--;
                } else if (running > 0)
                        sleep_ns(1000000);
                listener_drain(&l);
        }
        for (ssize_t r; (r = read(pfd[0], &recs[got], sizeof *recs)) == (ssize_t) sizeof *recs;)
                got++;
        listener_drain(&l);
        d1 = daemon_sample(daemon);

        size_t ne = 0, nm = 0;
        for (size_t i = 0; i < got; i++) {
                ExecRecord *x = &recs[i];
                e2m[nm++] = x->t_main - x->t_before_exec;
                if (!x->t_pinned) {
                        unpinned++;
                        continue;
                }
                /* From main(): what the program itself waits, 0 when the
                 * daemon had pinned it before it ran (its first look). */
                m2p[ne] = x->first_check_pinned ? 0 : x->t_pinned - x->t_main;
                e2p[ne++] = x->t_pinned - x->t_before_exec;
                first_pinned += x->first_check_pinned;
                if (l.exec_ts && x->pid > 0 && (size_t) x->pid < l.exec_ts_size && l.exec_ts[x->pid] &&
                    x->t_pinned >= l.exec_ts[x->pid])
                        k2p[nk++] = x->t_pinned - l.exec_ts[x->pid];
        }
        const char *raw = getenv("PINBENCH_RAW");
        FILE *rf = raw ? fopen(raw, "we") : NULL;
        if (rf) {
                for (size_t i = 0; i < got; i++) {
                        ExecRecord *x = &recs[i];
                        uint64_t ev = l.exec_ts && x->pid > 0 && (size_t) x->pid < l.exec_ts_size
                                              ? l.exec_ts[x->pid]
                                              : 0;
                        fprintf(rf, "%d %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", (int) x->pid,
                                x->t_before_exec, ev, x->t_main, x->t_pinned);
                }
                fclose(rf);
        }
        printf("execs=%ld\nreports=%zu\nunpinned=%zu\nfirst_check_pinned=%zu\n", n, got, unpinned,
               first_pinned);
        print_dist("exec2pinned", e2p, ne);
        print_dist("event2pinned", k2p, nk);
        print_dist("exec2main", e2m, nm);
        print_dist("main2pinned", m2p, ne);
        daemon_print("exec", d0, d1, (uint64_t) n);
        listener_close(&l);
        return 0;
}

/* perf-join RAW PERFSCRIPT: the exec records PINBENCH_RAW saved, joined with
 * `perf script --ns` of the daemon's sched_setaffinity calls recorded with
 * -k CLOCK_MONOTONIC. The child can look at its mask only once its main()
 * runs, and exec alone takes longer than the goal on a small VM; the exit of
 * the daemon's sched_setaffinity(pid) is the moment the pin took effect. */
static int drive_perf_join(int argc, char **argv) {
        if (argc < 4)
                return 2;
        FILE *rf = fopen(argv[2], "re"), *pf = fopen(argv[3], "re");
        size_t cap = 1 << 20, nset = 0, n = 0, nb = 0, ne = 0, before_main = 0;
        typedef struct {
                int pid;
                uint64_t t;
        } Set;
        Set *sets = calloc(cap, sizeof(Set));
        char line[1024];
        int pending = -1;

        if (!rf || !pf || !sets)
                die("perf-join: open");
        while (fgets(line, sizeof line, pf) && nset < cap) {
                /* "comm pid [cpu] SECONDS.NANOS:  syscalls:sys_...: args" */
                char *c = strstr(line, "syscalls:sys_"), *b;
                double t;
                if (!c)
                        continue;
                b = c;
                while (b > line && b[-1] == ' ')
                        b--;
                if (b == line || b[-1] != ':')
                        continue;
                b--;
                while (b > line && b[-1] != ' ')
                        b--;
                t = strtod(b, NULL);
                if (strncmp(c, "syscalls:sys_enter_sched_setaffinity:", 37) == 0) {
                        char *p = strstr(c, "pid: ");
                        pending = p ? (int) strtol(p + 5, NULL, 16) : -1;
                } else if (strncmp(c, "syscalls:sys_exit_sched_setaffinity:", 36) == 0 && pending > 0) {
                        if (strtol(c + 36, NULL, 16) == 0)
                                sets[nset++] = (Set){pending, (uint64_t) (t * 1e9 + 0.5)};
                        pending = -1;
                }
        }
        fclose(pf);
        uint64_t *b2s = calloc(1 << 16, sizeof(uint64_t)), *e2s = calloc(1 << 16, sizeof(uint64_t));
        if (!b2s || !e2s)
                die("calloc");
        while (fgets(line, sizeof line, rf) && n < (1 << 16)) {
                int pid;
                unsigned long long tb, te, tm, tp;
                if (sscanf(line, "%d %llu %llu %llu %llu", &pid, &tb, &te, &tm, &tp) != 5)
                        continue;
                n++;
                /* The first set of this pid after its exec. */
                for (size_t k = 0; k < nset; k++)
                        if (sets[k].pid == pid && sets[k].t >= tb) {
                                /* A double's 53 bits keep about 0.1 us of an uptime in ns. */
                                b2s[nb++] = sets[k].t - tb;
                                if (te && sets[k].t >= te)
                                        e2s[ne++] = sets[k].t - te;
                                before_main += sets[k].t < tm;
                                break;
                        }
        }
        fclose(rf);
        printf("perf_execs=%zu\nperf_sets=%zu\nperf_set_before_main=%zu\n", n, nb, before_main);
        print_dist("perf_exec2set", b2s, nb);
        print_dist("perf_event2set", e2s, ne);
        return 0;
}

/* thread-latency COPY CPU N [DAEMON_PID]: runs the thread-child in COPY (its name is what
 * the rule's comm matches) and passes its output through. */
static int drive_thread_latency(int argc, char **argv) {
        int status;
        if (argc < 5)
                return 2;
        char *args[] = {(char *) "child", (char *) "thread-child", argv[3], argv[4], NULL};
        pid_t daemon = argc > 5 ? (pid_t) arg_long(argv[5], "daemon pid") : 0;
        DaemonSample d0 = daemon_sample(daemon);
        pid_t pid = spawn_copy(argv[2], args, false);
        if (waitpid(pid, &status, 0) < 0)
                die("waitpid");
        daemon_print("threads", d0, daemon_sample(daemon), 2 * (uint64_t) arg_long(argv[4], "n"));
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* Wait until the daemon's CPU time stops moving: it has caught up with the
 * event queue. Returns how long that took. */
static uint64_t wait_settled(pid_t daemon, uint64_t quiet_ns, uint64_t max_ns) {
        uint64_t t0 = now_ns(), since = now_ns();
        int64_t last = cpu_ns(daemon);
        while (now_ns() - t0 < max_ns) {
                sleep_ns(50 * 1000000u);
                int64_t c = cpu_ns(daemon);
                if (c != last) {
                        last = c;
                        since = now_ns();
                } else if (now_ns() - since >= quiet_ns)
                        break;
        }
        return since - t0;
}

/* storm TRUE COPY CPU N LONG_EVERY PARALLEL DAEMON_PID
 *
 * N fork+execs, PARALLEL at a time: every LONG_EVERY-th one execs COPY as a
 * long-lived sleeper the rule matches, the rest exec TRUE and exit at once. */
static int drive_storm(int argc, char **argv) {
        if (argc < 9)
                return 2;
        const char *truep = argv[2], *copy = argv[3];
        int cpu = (int) arg_long(argv[4], "cpu");
        long n = arg_long(argv[5], "n"), every = arg_long(argv[6], "long_every"),
             par = arg_long(argv[7], "parallel");
        pid_t daemon = (pid_t) arg_long(argv[8], "daemon pid");
        pid_t *longs = calloc((size_t) (n / every + 2), sizeof(pid_t));
        size_t nlong = 0, pinned = 0;
        long running = 0;
        Listener l;
        char *sleeper_args[] = {(char *) "child", (char *) "sleeper", (char *) "1", NULL};
        char *true_args[] = {(char *) truep, NULL};

        if (!longs)
                die("calloc");
        if (listener_open(&l) < 0)
                fprintf(stderr, "pinbench storm: no connector listener of our own: %s\n", strerror(errno));

        int64_t c0 = cpu_ns(daemon), k0 = cpu_ticks(daemon),
                w0 = task_status_sum(daemon, "voluntary_ctxt_switches");
        uint64_t t0 = now_ns();
        for (long i = 0; i < n;) {
                pid_t p;
                while (running >= par) {
                        p = waitpid(-1, NULL, 0);
                        if (p > 0)
                                running--;
                }
                if ((i + 1) % every == 0) {
                        longs[nlong++] = spawn_copy(copy, sleeper_args, true);
                } else {
                        spawn_copy(truep, true_args, true);
                        running++;
                }
                i++;
                if ((i & 255) == 0)
                        listener_drain(&l);
        }
        while (running > 0)
                if (waitpid(-1, NULL, 0) > 0)
                        running--;
        uint64_t t_storm = now_ns() - t0;

        /* Every long-lived matching one pinned, and how long after the storm? */
        uint64_t t_end = now_ns(), t_all = 0;
        while (now_ns() - t_end < 10ull * 1000000000u) {
                pinned = 0;
                for (size_t k = 0; k < nlong; k++)
                        pinned += pinned_to(longs[k], cpu);
                if (pinned == nlong) {
                        t_all = now_ns() - t_end;
                        break;
                }
                sleep_ns(1000000);
        }
        uint64_t settle = wait_settled(daemon, 300u * 1000000u, 30ull * 1000000000u);
        int64_t c1 = cpu_ns(daemon), k1 = cpu_ticks(daemon),
                w1 = task_status_sum(daemon, "voluntary_ctxt_switches");
        listener_drain(&l);

        for (size_t k = 0; k < nlong; k++)
                kill(longs[k], SIGKILL);
        for (size_t k = 0; k < nlong; k++)
                waitpid(longs[k], NULL, 0);

        printf("storm_forks=%ld\nstorm_long=%zu\nstorm_long_pinned=%zu\n", n, nlong, pinned);
        printf("storm_wall_ms=%.1f\nstorm_rate_per_s=%.0f\n", (double) t_storm / 1e6,
               (double) n / ((double) t_storm / 1e9));
        printf("storm_all_pinned_after_ms=%.1f\n", pinned == nlong ? (double) t_all / 1e6 : -1.0);
        printf("storm_daemon_settled_after_ms=%.1f\n", (double) settle / 1e6);
        printf("storm_daemon_wakeups=%" PRId64 "\n", w1 - w0);
        printf("storm_daemon_cpu_ns=%" PRId64 "\nstorm_daemon_cpu_ticks=%" PRId64 "\nclk_tck=%ld\n", c1 - c0,
               k1 - k0, sysconf(_SC_CLK_TCK));
        listener_print("storm_seen", &l);
        if (listener_total(&l))
                printf("storm_ns_per_seen_event=%.0f\n", (double) (c1 - c0) / (double) listener_total(&l));
        listener_close(&l);
        return 0;
}

/* escape COPY CPU N DAEMON_PID: a long-lived COPY (a rule pins it to CPU,
 * drift = reapply) is pinned; then, N times, we (another process) widen its
 * mask with sched_setaffinity and time how long until the daemon puts it
 * back. With `verify = 0` only an event path can. */
static int drive_escape(int argc, char **argv) {
        if (argc < 6)
                return 2;
        const char *copy = argv[2];
        int cpu = (int) arg_long(argv[3], "cpu");
        long n = arg_long(argv[4], "n");
        pid_t daemon = (pid_t) arg_long(argv[5], "daemon pid");
        char *args[] = {(char *) "child", (char *) "sleeper", (char *) "1", NULL};
        uint64_t *lat = calloc((size_t) n, sizeof(uint64_t));
        size_t got = 0, missed = 0;
        cpu_set_t all;

        if (!lat)
                die("calloc");
        if (sched_getaffinity(0, sizeof all, &all) < 0)
                die("sched_getaffinity");
        pid_t child = spawn_copy(copy, args, true);
        uint64_t t0 = now_ns();
        while (!pinned_to(child, cpu) && now_ns() - t0 < 5000000000ull)
                sleep_ns(1000000);
        if (!pinned_to(child, cpu)) {
                printf("escape_n=0\nescape_error=never pinned in the first place\n");
                kill(child, SIGKILL);
                waitpid(child, NULL, 0);
                return 0;
        }
        DaemonSample d0 = daemon_sample(daemon);
        for (long i = 0; i < n; i++) {
                if (sched_setaffinity(child, sizeof all, &all) < 0)
                        die("sched_setaffinity");
                uint64_t t = now_ns();
                for (;;) {
                        if (pinned_to(child, cpu)) {
                                lat[got++] = now_ns() - t;
                                break;
                        }
                        if (now_ns() - t > 1000000000ull) {
                                missed++;
                                break;
                        }
                }
                if (missed > 3)
                        break; /* no event path: do not spend N seconds proving it */
                sleep_ns(2000000);
        }
        DaemonSample d1 = daemon_sample(daemon);
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        printf("escape_tries=%zu\nescape_missed=%zu\n", got + missed, missed);
        print_dist("escape", lat, got);
        daemon_print("escape", d0, d1, (uint64_t) (got + missed));
        return 0;
}

/* The daemon's armed timerfds (sd-event keeps one per clock): how many, and
 * the soonest expiry in seconds (-1: none). A timer due within the window is
 * a wakeup no process event explains. */
static int armed_timers(pid_t pid, double *ret_next) {
        char path[64];
        DIR *d;
        struct dirent *de;
        int n = 0;

        *ret_next = -1;
        snprintf(path, sizeof path, "/proc/%d/fd", (int) pid);
        d = opendir(path);
        if (!d)
                return -1;
        while ((de = readdir(d))) {
                char link[320], target[64], line[256];
                ssize_t len;
                FILE *f;
                snprintf(link, sizeof link, "/proc/%d/fd/%s", (int) pid, de->d_name);
                len = readlink(link, target, sizeof target - 1);
                if (len <= 0)
                        continue;
                target[len] = '\0';
                if (!strstr(target, "timerfd"))
                        continue;
                snprintf(link, sizeof link, "/proc/%d/fdinfo/%s", (int) pid, de->d_name);
                f = fopen(link, "re");
                if (!f)
                        continue;
                while (fgets(line, sizeof line, f)) {
                        long long sec, nsec;
                        if (sscanf(line, "it_value: (%lld, %lld)", &sec, &nsec) == 2 && (sec || nsec)) {
                                double t = (double) sec + (double) nsec / 1e9;
                                n++;
                                if (*ret_next < 0 || t < *ret_next)
                                        *ret_next = t;
                        }
                }
                fclose(f);
        }
        closedir(d);
        return n;
}

/* idle DAEMON_PID SECONDS [SETTLE_SEC]: the daemon's context switches over
 * the window, and every process event the machine produced meanwhile (each
 * one wakes it). With SETTLE_SEC the window starts once the daemon has had
 * no timer armed for a whole second (at most SETTLE_SEC of waiting): the
 * phases before leave timers that are theirs, not idleness's (the log storm
 * summary, storm pacing). Checked from here, without forking: a fork would
 * be a process event. */
static int drive_idle(int argc, char **argv) {
        if (argc < 4)
                return 2;
        pid_t daemon = (pid_t) arg_long(argv[2], "pid");
        long secs = arg_long(argv[3], "seconds");
        long settle = argc > 4 ? arg_long(argv[4], "seconds") : 0;
        Listener l;
        double next;

        uint64_t s0 = now_ns(), quiet_since = 0;
        while (settle > 0 && now_ns() - s0 < (uint64_t) settle * 1000000000u) {
                uint64_t t = now_ns();
                if (armed_timers(daemon, &next) != 0)
                        quiet_since = 0;
                else if (quiet_since == 0)
                        quiet_since = t;
                else if (t - quiet_since >= 1000000000u)
                        break;
                sleep_ns(50 * 1000000u);
        }
        printf("idle_settle_s=%.1f\n", (double) (now_ns() - s0) / 1e9);

        bool have = listener_open(&l) == 0;
        int timers = armed_timers(daemon, &next);
        int64_t v0 = task_status_sum(daemon, "voluntary_ctxt_switches"),
                n0 = task_status_sum(daemon, "nonvoluntary_ctxt_switches"), c0 = cpu_ns(daemon);
        uint64_t t0 = now_ns();
        while (now_ns() - t0 < (uint64_t) secs * 1000000000u) {
                struct pollfd p = {.fd = have ? l.fd : -1, .events = POLLIN};
                (void) poll(&p, 1, 200);
                listener_drain(&l);
        }
        int64_t v1 = task_status_sum(daemon, "voluntary_ctxt_switches"),
                n1 = task_status_sum(daemon, "nonvoluntary_ctxt_switches"), c1 = cpu_ns(daemon);
        listener_drain(&l);
        printf("idle_seconds=%ld\nidle_voluntary=%" PRId64 "\nidle_nonvoluntary=%" PRId64
               "\nidle_cpu_us=%.1f\n",
               secs, v1 - v0, n1 - n0, (double) (c1 - c0) / 1e3);
        printf("idle_timers_armed=%d\nidle_next_timer_s=%.1f\n", timers, next);
        if (have)
                listener_print("idle_machine", &l);
        else
                printf("idle_machine_events=-1\n");
        listener_close(&l);
        return 0;
}

/* spawn COPY PROCS THREADS: PROCS sleepers of THREADS threads each, left
 * running (pids on stdout, one a line) once every thread exists. */
static int drive_spawn(int argc, char **argv) {
        if (argc < 5)
                return 2;
        long procs = arg_long(argv[3], "procs");
        int pfd[2];
        char fds[16];
        char *args[] = {(char *) "child", (char *) "sleeper", argv[4], fds, NULL};

        if (pipe(pfd) < 0)
                die("pipe");
        snprintf(fds, sizeof fds, "%d", pfd[1]);
        for (long i = 0; i < procs; i++) {
                pid_t pid = spawn_copy(argv[2], args, true);
                printf("%d\n", (int) pid);
        }
        close(pfd[1]);
        for (long got = 0; got < procs;) {
                char c;
                ssize_t r = read(pfd[0], &c, 1);
                if (r <= 0)
                        break;
                got++;
        }
        fflush(stdout);
        return 0;
}

/* cpu PID SECONDS: the CPU time PID uses per wall second over the window. */
static int drive_cpu(int argc, char **argv) {
        if (argc < 4)
                return 2;
        pid_t pid = (pid_t) arg_long(argv[2], "pid");
        long secs = arg_long(argv[3], "seconds");
        int64_t c0 = cpu_ns(pid);
        uint64_t t0 = now_ns();
        sleep_ns((uint64_t) secs * 1000000000u);
        int64_t c1 = cpu_ns(pid);
        uint64_t t1 = now_ns();
        printf("cpu_ms_per_s=%.3f\n", (double) (c1 - c0) / 1e6 / ((double) (t1 - t0) / 1e9));
        return 0;
}

int main(int argc, char **argv) {
        static const struct {
                const char *name;
                int (*fn)(int argc, char **argv);
        } modes[] = {
                {"exec-child", child_exec},
                {"sleeper", child_sleeper},
                {"thread-child", child_threads},
                {"exec-latency", drive_exec_latency},
                {"thread-latency", drive_thread_latency},
                {"storm", drive_storm},
                {"escape", drive_escape},
                {"idle", drive_idle},
                {"spawn", drive_spawn},
                {"cpu", drive_cpu},
                {"perf-join", drive_perf_join},
        };

        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc >= 2)
                for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
                        if (strcmp(argv[1], modes[i].name) == 0) {
                                int r = modes[i].fn(argc, argv);
                                if (r == 2 && argc < 3)
                                        fprintf(stderr, "pinbench %s: missing arguments\n", argv[1]);
                                return r;
                        }
        fprintf(stderr, "usage: see the comment at the top of tests/bench/pinbench.c\n");
        return 2;
}
