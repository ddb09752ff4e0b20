/* memtouch — a process whose memory pinnerd moves, and which measures what
 * that costs it. For tests/system/guest-numa.sh, tests/integration/95 and
 * the memory bench.
 *
 *   memtouch [-t] [-H yes|no] NAME MIB CPUS REPORT
 *
 * Pins itself to CPUS (sched_setaffinity, a cpulist like "0-1") so that the
 * MIB MiB it fills land on their node (first touch), then renames itself to
 * NAME (prctl PR_SET_NAME: the event a `comm = NAME` rule matches on) and
 * from then on keeps writing one byte of every page, over and over, timing
 * itself: the longest gap between two timestamps taken every 64 pages is
 * the longest the process stalled (and the last 16 gaps over 20 ms are
 * listed with when they happened). A "reporter" thread writes REPORT
 * (atomically, every 500 ms) with where the pages are (move_pages(2) on its
 * own pages, which moves nothing):
 *
 *   phase=running pages=65536 resident=65536 node0=12 node1=65524 other=0
 *   max_stall_us=5230 max_blocked_us=1200 touch_passes=17 elapsed_ms=31000
 *   renamed_ms=2200 stalls=23100/300@5120,41000/22000@7310 (wall/blocked µs @ ms)
 *
 * -H: madvise MADV_HUGEPAGE (yes) or MADV_NOHUGEPAGE (no); default: as the
 * kernel does. max_blocked_us is the longest gap less the thread's own CPU
 * time in it: what it waited for in the guest (for its pages or a CPU), not
 * the time an emulator did not run its virtual CPU at all, which shows in
 * max_stall_us alone. -t: no rename (the name is NAME from the start). Runs until
 * SIGTERM or SIGINT; writes a last report and exits 0. Needs nothing but
 * libc, so run.sh builds it for the guest with cc. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_NODES 64

static char *buf;
static size_t n_pages, page_size;
static const char *report_path;
static volatile sig_atomic_t stop;
static atomic_int phase; /* 0 filling, 1 running */
static atomic_uint_fast64_t max_stall_ns, max_blocked_ns, passes;
static uint64_t t_start;
/* The last stalls over 20 ms: how long, and when (ms since the start). */
#define N_STALLS 16
static atomic_uint_fast64_t stall_us[N_STALLS], blocked_us[N_STALLS], stall_at_ms[N_STALLS];
static atomic_uint n_stalls;
static atomic_uint_fast64_t renamed_ms; /* when it took NAME */

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* CPU time of the calling thread. Under an emulator the wall clock also
 * runs while the emulator does not run the virtual CPU at all, and the
 * guest kernel counts that as the thread's CPU time: wall time minus CPU
 * time is what the thread waited for in the guest (for a page being moved,
 * or for a CPU), whatever the host does. */
static uint64_t cpu_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static void on_signal(int sig) {
        (void) sig;
        stop = 1;
}

static int parse_cpulist(const char *s, cpu_set_t *set) {
        CPU_ZERO(set);
        while (*s) {
                char *end;
                long a = strtol(s, &end, 10), b;
                if (end == s || a < 0 || a >= CPU_SETSIZE)
                        return -1;
                b = a;
                if (*end == '-') {
                        s = end + 1;
                        b = strtol(s, &end, 10);
                        if (end == s || b < a || b >= CPU_SETSIZE)
                                return -1;
                }
                for (long c = a; c <= b; c++)
                        CPU_SET((int) c, set);
                s = end;
                if (*s == ',')
                        s++;
                else if (*s)
                        return -1;
        }
        return 0;
}

/* Where our pages are: move_pages with no target nodes moves nothing. One
 * page in SAMPLE is looked at (the counts are scaled back): the reporter
 * shares the CPUs it measures, and under an emulator a look at every page
 * costs them more than what is measured. */
#define SAMPLE 8
static void write_report(void) {
        static void **pages;
        static int *status;
        const size_t chunk = 4096;
        uint64_t on[MAX_NODES] = {0}, other = 0, resident = 0;
        char tmp[4096], line[4096];
        size_t len = 0;

        if (!pages) {
                pages = malloc(chunk * sizeof *pages);
                status = malloc(chunk * sizeof *status);
                if (!pages || !status)
                        return;
        }
        for (size_t i = 0; i < n_pages; i += chunk * SAMPLE) {
                size_t n = 0;
                for (size_t k = i; k < n_pages && n < chunk; k += SAMPLE)
                        pages[n++] = buf + k * page_size;
                if (syscall(SYS_move_pages, 0, n, pages, NULL, status, 0) < 0)
                        return;
                for (size_t k = 0; k < n; k++) {
                        if (status[k] < 0)
                                continue;
                        resident += SAMPLE;
                        if (status[k] < MAX_NODES)
                                on[status[k]] += SAMPLE;
                        else
                                other += SAMPLE;
                }
        }
        len += (size_t) snprintf(line + len, sizeof line - len, "phase=%s pages=%zu resident=%llu",
                                 atomic_load(&phase) ? "running" : "filling", n_pages,
                                 (unsigned long long) resident);
        for (int nd = 0; nd < MAX_NODES && len < sizeof line; nd++)
                if (on[nd] || nd < 2)
                        len += (size_t) snprintf(line + len, sizeof line - len, " node%d=%llu", nd,
                                                 (unsigned long long) on[nd]);
        if (len < sizeof line)
                snprintf(line + len, sizeof line - len,
                         " other=%llu max_stall_us=%llu max_blocked_us=%llu touch_passes=%llu "
                         "elapsed_ms=%llu\n",
                         (unsigned long long) other, (unsigned long long) (atomic_load(&max_stall_ns) / 1000),
                         (unsigned long long) (atomic_load(&max_blocked_ns) / 1000),
                         (unsigned long long) atomic_load(&passes),
                         (unsigned long long) ((now_ns() - t_start) / 1000000));
        /* The long stalls, oldest first: "stalls=23100@5120,41000@7310". */
        unsigned ns = atomic_load(&n_stalls), first = ns > N_STALLS ? ns - N_STALLS : 0;
        len = strlen(line);
        if (len > 0 && line[len - 1] == '\n')
                len--;
        len += (size_t) snprintf(line + len, sizeof line - len,
                                 " renamed_ms=%llu stalls=", (unsigned long long) atomic_load(&renamed_ms));
        for (unsigned k = first; k < ns && len < sizeof line; k++)
                len += (size_t) snprintf(line + len, sizeof line - len, "%s%llu/%llu@%llu",
                                         k > first ? "," : "",
                                         (unsigned long long) atomic_load(&stall_us[k % N_STALLS]),
                                         (unsigned long long) atomic_load(&blocked_us[k % N_STALLS]),
                                         (unsigned long long) atomic_load(&stall_at_ms[k % N_STALLS]));
        if (len < sizeof line)
                snprintf(line + len, sizeof line - len, "\n");
        snprintf(tmp, sizeof tmp, "%s.tmp", report_path);
        FILE *f = fopen(tmp, "w");
        if (!f)
                return;
        fputs(line, f);
        if (fclose(f) == 0)
                rename(tmp, report_path);
}

static void *reporter(void *arg) {
        (void) arg;
        while (!stop) {
                write_report();
                usleep(500 * 1000);
        }
        return NULL;
}

int main(int argc, char **argv) {
        const char *thp = NULL;
        bool rename_later = true;
        int opt;

        while ((opt = getopt(argc, argv, "tH:")) != -1) {
                if (opt == 't')
                        rename_later = false;
                else if (opt == 'H')
                        thp = optarg;
                else
                        goto usage;
        }
        if (argc - optind != 4) {
        usage:
                fprintf(stderr, "usage: memtouch [-t] [-H yes|no] NAME MIB CPUS REPORT\n");
                return 2;
        }
        const char *name = argv[optind];
        long mib = strtol(argv[optind + 1], NULL, 10);
        cpu_set_t cpus;
        report_path = argv[optind + 3];
        if (mib <= 0 || mib > 1 << 20 || parse_cpulist(argv[optind + 2], &cpus) < 0)
                goto usage;
        t_start = now_ns();
        page_size = (size_t) sysconf(_SC_PAGESIZE);
        n_pages = (size_t) mib * 1024 * 1024 / page_size;
        signal(SIGTERM, on_signal);
        signal(SIGINT, on_signal);
        if (!rename_later)
                prctl(PR_SET_NAME, name);
        if (sched_setaffinity(0, sizeof cpus, &cpus) < 0) {
                perror("memtouch: sched_setaffinity");
                return 1;
        }
        buf = mmap(NULL, n_pages * page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (buf == MAP_FAILED) {
                perror("memtouch: mmap");
                return 1;
        }
        if (thp &&
            madvise(buf, n_pages * page_size, strcmp(thp, "yes") == 0 ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) < 0)
                perror("memtouch: madvise");
        pthread_t rep;
        if (pthread_create(&rep, NULL, reporter, NULL) != 0) {
                fprintf(stderr, "memtouch: cannot start the reporter\n");
                return 1;
        }
        pthread_setname_np(rep, "reporter");
        /* First touch, on the CPUs given. */
        for (size_t i = 0; i < n_pages; i++)
                buf[i * page_size] = 1;
        write_report();
        if (rename_later)
                prctl(PR_SET_NAME, name);
        atomic_store(&renamed_ms, (now_ns() - t_start) / 1000000);
        atomic_store(&phase, 1);
        printf("memtouch %s: %zu pages filled in %.1f s\n", name, n_pages,
               (double) (now_ns() - t_start) / 1e9);
        fflush(stdout);

        /* Touch every page, timing every 64: a page being moved makes the
         * write wait, and that is what a gap measures. */
        uint64_t last = now_ns(), last_cpu = cpu_ns();
        while (!stop) {
                for (size_t i = 0; i < n_pages && !stop; i++) {
                        buf[i * page_size]++;
                        if ((i & 63) == 63) {
                                uint64_t t = now_ns(), c = cpu_ns();
                                uint64_t wall = t - last, ran = c - last_cpu;
                                uint64_t blocked = wall > ran ? wall - ran : 0;
                                if (wall > atomic_load(&max_stall_ns))
                                        atomic_store(&max_stall_ns, wall);
                                if (blocked > atomic_load(&max_blocked_ns))
                                        atomic_store(&max_blocked_ns, blocked);
                                if (wall > 20 * 1000000u) {
                                        unsigned k = atomic_load(&n_stalls);
                                        atomic_store(&stall_us[k % N_STALLS], wall / 1000);
                                        atomic_store(&blocked_us[k % N_STALLS], blocked / 1000);
                                        atomic_store(&stall_at_ms[k % N_STALLS], (t - t_start) / 1000000);
                                        atomic_store(&n_stalls, k + 1);
                                }
                                last = t;
                                last_cpu = c;
                        }
                }
                atomic_fetch_add(&passes, 1);
        }
        pthread_join(rep, NULL);
        write_report();
        return 0;
}
