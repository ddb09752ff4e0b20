/* SPDX-License-Identifier: MIT */
/* pollpin — the baseline pinnerd is compared with: a pinner that polls, as the
 * shell loops and small daemons that predate the proc connector do.
 *
 *   pollpin INTERVAL_MS CPU PATTERN...
 *
 * Every INTERVAL_MS (a sleep after each scan, like `while :; do ...; sleep 1;
 * done`) it walks /proc/PID/task/TID/comm for every task on the host and calls
 * sched_setaffinity(TID, {CPU}) on each task whose name matches one of the
 * globs. No state is kept between scans: a polling pinner re-sets what it
 * finds every time. On SIGTERM or SIGINT it prints, on stdout:
 *   scans=N scan_ms_mean=X scan_ms_max=X tasks_per_scan=N set_calls=N
 * Used only by tests/bench/run.sh; the globs there match the benchmark's
 * own processes only. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_stop(int sig) {
        stop = 1;
}

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static bool numeric(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

static bool matches(const char *comm, char **patterns, int n) {
        for (int i = 0; i < n; i++)
                if (fnmatch(patterns[i], comm, 0) == 0)
                        return true;
        return false;
}

typedef struct Stats {
        uint64_t scans, tasks, sets, scan_ns, scan_ns_max;
} Stats;

static void scan(int cpu, char **patterns, int n, Stats *st) {
        DIR *proc = opendir("/proc");
        struct dirent *p;
        cpu_set_t want;

        CPU_ZERO(&want);
        CPU_SET(cpu, &want);
        if (!proc)
                return;
        while ((p = readdir(proc))) {
                char path[600];
                DIR *task;
                struct dirent *t;

                if (!numeric(p->d_name))
                        continue;
                snprintf(path, sizeof path, "/proc/%s/task", p->d_name);
                task = opendir(path);
                if (!task)
                        continue; /* gone meanwhile */
                while ((t = readdir(task))) {
                        char comm[64];
                        ssize_t len;
                        int fd;

                        if (!numeric(t->d_name))
                                continue;
                        snprintf(path, sizeof path, "/proc/%s/task/%s/comm", p->d_name, t->d_name);
                        fd = open(path, O_RDONLY | O_CLOEXEC);
                        if (fd < 0)
                                continue;
                        len = read(fd, comm, sizeof comm - 1);
                        close(fd);
                        if (len <= 0)
                                continue;
                        comm[len] = '\0';
                        if (comm[len - 1] == '\n')
                                comm[len - 1] = '\0';
                        st->tasks++;
                        if (matches(comm, patterns, n)) {
                                (void) sched_setaffinity((pid_t) atoi(t->d_name), sizeof want, &want);
                                st->sets++;
                        }
                }
                closedir(task);
        }
        closedir(proc);
}

int main(int argc, char **argv) {
        struct sigaction sa = {.sa_handler = on_stop};
        Stats st = {0};

        if (argc < 4) {
                fprintf(stderr, "usage: pollpin INTERVAL_MS CPU PATTERN...\n");
                return 2;
        }
        long interval_ms = atol(argv[1]);
        int cpu = atoi(argv[2]);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        /* Lives no longer than a benchmark run, even if orphaned. */
        alarm(600);

        while (!stop) {
                uint64_t t0 = now_ns();
                scan(cpu, argv + 3, argc - 3, &st);
                uint64_t d = now_ns() - t0;
                st.scans++;
                st.scan_ns += d;
                if (d > st.scan_ns_max)
                        st.scan_ns_max = d;
                struct timespec ts = {.tv_sec = interval_ms / 1000,
                                      .tv_nsec = (interval_ms % 1000) * 1000000L};
                nanosleep(&ts, NULL); /* a signal cuts it short: then we stop */
        }
        printf("scans=%llu\nscan_ms_mean=%.2f\nscan_ms_max=%.2f\ntasks_per_scan=%llu\nset_calls=%llu\n",
               (unsigned long long) st.scans, st.scans ? (double) st.scan_ns / (double) st.scans / 1e6 : 0.0,
               (double) st.scan_ns_max / 1e6, st.scans ? (unsigned long long) (st.tasks / st.scans) : 0ULL,
               (unsigned long long) st.sets);
        return 0;
}
