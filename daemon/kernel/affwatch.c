/* SPDX-License-Identifier: MIT */
#include "kernel/affwatch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"

/* ---- pure: format files, samples, pairing ------------------------------------ */

int affwatch_parse_format(const char *text, const char *name, unsigned *ret_off, unsigned *ret_size) {
        size_t nlen = strlen(name);

        /* Lines look like "\tfield:pid_t pid;\toffset:16;\tsize:8;\tsigned:0;":
         * the name is the last word before the first ';'. */
        for (const char *line = text; line && *line;
             line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
                const char *f = strstr(line, "field:");
                const char *eol = strchr(line, '\n');
                if (!f || (eol && f > eol))
                        continue;
                const char *semi = strchr(f, ';');
                if (!semi || (eol && semi > eol))
                        continue;
                const char *w = semi;
                while (w > f && w[-1] != ' ' && w[-1] != '*' && w[-1] != ':')
                        w--;
                /* An array field is "char comm[16]": compare the bare name. */
                const char *br = memchr(w, '[', (size_t) (semi - w));
                size_t wlen = (size_t) ((br ? br : semi) - w);
                if (wlen != nlen || memcmp(w, name, nlen) != 0)
                        continue;
                const char *o = strstr(semi, "offset:"), *s = strstr(semi, "size:");
                unsigned off, size;
                if (!o || !s || (eol && (o > eol || s > eol)))
                        return -EBADMSG;
                if (sscanf(o, "offset:%u;", &off) != 1 || sscanf(s, "size:%u;", &size) != 1)
                        return -EBADMSG;
                if (size == 0 || size > 8 || off > 4096)
                        return -EBADMSG;
                *ret_off = off;
                *ret_size = size;
                return 0;
        }
        return -ENOENT;
}

static uint64_t load_uint(const unsigned char *p, unsigned size) {
        uint64_t v = 0;
        switch (size) {
        case 1:
                return p[0];
        case 2: {
                uint16_t x;
                memcpy(&x, p, 2);
                return x;
        }
        case 4: {
                uint32_t x;
                memcpy(&x, p, 4);
                return x;
        }
        default:
                memcpy(&v, p, 8);
                return v;
        }
}

/* PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_RAW, in that order. */
typedef struct SampleHead {
        struct perf_event_header h;
        uint32_t pid, tid;
        uint64_t time;
        uint32_t raw_size;
} __attribute__((packed)) SampleHead;

int affwatch_parse_sample(const AffLayout *l, const void *rec, size_t len, AffSample *ret) {
        SampleHead sh;
        const unsigned char *raw;

        if (len < sizeof sh.h)
                return -EBADMSG;
        memcpy(&sh.h, rec, sizeof sh.h);
        if (sh.h.size < sizeof sh.h || sh.h.size > len)
                return -EBADMSG;
        if (sh.h.type != PERF_RECORD_SAMPLE)
                return 0;
        if (sh.h.size < sizeof sh)
                return -EBADMSG;
        memcpy(&sh, rec, sizeof sh);
        if (sh.raw_size > sh.h.size - sizeof sh || sh.raw_size < 8)
                return -EBADMSG;
        raw = (const unsigned char *) rec + sizeof sh;
        unsigned type = (unsigned) load_uint(raw, 2);
        AffSample s = {.pid = (pid_t) sh.pid, .tid = (pid_t) sh.tid, .time = sh.time};
        if (type == l->enter_id) {
                if ((uint64_t) l->pid_off + l->pid_size > sh.raw_size)
                        return -EBADMSG;
                /* The tracepoint keeps the whole register; the syscall takes
                 * a pid_t, so the kernel acts on its low 32 bits. Do as it
                 * does, or a caller passing 1<<32 | tid would hide. */
                int32_t target = (int32_t) (uint32_t) load_uint(raw + l->pid_off, l->pid_size);
                s.kind = AFF_ENTER;
                s.target = target == 0 ? s.tid : target;
        } else if (type == l->exit_id) {
                if ((uint64_t) l->ret_off + l->ret_size > sh.raw_size)
                        return -EBADMSG;
                uint64_t v = load_uint(raw + l->ret_off, l->ret_size);
                s.kind = AFF_EXIT;
                s.ret = l->ret_size == 8 ? (int64_t) v : (int64_t) (int32_t) (uint32_t) v;
        } else
                return 0;
        *ret = s;
        return 1;
}

bool affwatch_pair(AffPairs *p, const AffSample *s, AffRecord *ret) {
        size_t i;

        for (i = 0; i < p->n; i++)
                if (p->v[i].tid == s->tid)
                        break;
        if (s->kind == AFF_ENTER) {
                if (i == p->n) {
                        if (p->n == AFF_PENDING_MAX) {
                                /* The oldest enter (a caller killed mid-call)
                                 * makes room: table order is arrival order. */
                                memmove(&p->v[0], &p->v[1], (p->n - 1) * sizeof p->v[0]);
                                p->n--;
                                i = p->n;
                        }
                        p->n++;
                }
                p->v[i].tid = s->tid;
                p->v[i].target = s->target;
                p->v[i].time = s->time;
                return false;
        }
        if (i == p->n)
                return false; /* its enter was lost, or came before we opened */
        AffRecord r = {.caller_pid = s->pid, .caller_tid = s->tid, .target = p->v[i].target, .time = s->time};
        memmove(&p->v[i], &p->v[i + 1], (p->n - i - 1) * sizeof p->v[0]);
        p->n--;
        if (s->ret != 0)
                return false; /* failed: nothing changed */
        *ret = r;
        return true;
}

/* ---- perf plumbing -------------------------------------------------------------- */

/* One data page per CPU holds ~60 calls between two reads; a burst beyond
 * that is reported as lost and answered with a full check. */
#define DATA_PAGES 2
#define SAMPLES_MAX 512

typedef struct AffCpu {
        int enter_fd, exit_fd;
        void *base;
        size_t map_len;
} AffCpu;

struct AffWatch {
        AffLayout layout;
        AffPairs pairs;
        size_t page;
        size_t n;
        AffCpu cpu[];
};

static int read_tp_file(const char *tracefs, const char *event, const char *file, char *buf, size_t size) {
        _cleanup_(freep) char *path = xasprintf("%s/events/syscalls/%s/%s", tracefs, event, file);
        if (!path)
                return -ENOMEM;
        return (int) read_file_at(AT_FDCWD, path, buf, size);
}

static int load_layout(const char *tracefs, AffLayout *l) {
        char buf[4096];
        int r;

        r = read_tp_file(tracefs, "sys_enter_sched_setaffinity", "format", buf, sizeof buf);
        if (r < 0)
                return r;
        if (sscanf(strstr(buf, "ID:") ? strstr(buf, "ID:") : "", "ID: %u", &l->enter_id) != 1)
                return -EBADMSG;
        r = affwatch_parse_format(buf, "pid", &l->pid_off, &l->pid_size);
        if (r < 0)
                return r;
        r = read_tp_file(tracefs, "sys_exit_sched_setaffinity", "format", buf, sizeof buf);
        if (r < 0)
                return r;
        if (sscanf(strstr(buf, "ID:") ? strstr(buf, "ID:") : "", "ID: %u", &l->exit_id) != 1)
                return -EBADMSG;
        return affwatch_parse_format(buf, "ret", &l->ret_off, &l->ret_size);
}

static int open_tp(unsigned id, unsigned cpu, bool wake, const char *filter) {
        struct perf_event_attr a = {
                .type = PERF_TYPE_TRACEPOINT,
                .size = sizeof a,
                .config = id,
                .sample_period = 1,
                .sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_RAW,
                .disabled = 1,
                /* Only the exit wakes the reader (an enter alone changes no
                 * mask yet); the enter shares its buffer. */
                .wakeup_events = wake ? 1 : 0,
                .use_clockid = 1,
                .clockid = CLOCK_MONOTONIC,
        };
        int fd = (int) syscall(SYS_perf_event_open, &a, -1, (int) cpu, -1, PERF_FLAG_FD_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* The kernel drops our own calls before they reach the buffer, so
         * pinning costs no wakeup of its own. */
        if (ioctl(fd, PERF_EVENT_IOC_SET_FILTER, filter) < 0) {
                int e = -errno;
                close(fd);
                return e;
        }
        return fd;
}

char *affwatch_open_error(int err, unsigned cpu, const char *paranoid, bool perfmon) {
        switch (err) {
        case -EACCES:
        case -EPERM:
                /* Debian's kernels refuse every perf event without CAP_SYS_ADMIN
                 * at paranoid 3 (their default), CAP_PERFMON notwithstanding:
                 * measured on Debian 13's 6.12. Say so rather than ask for a
                 * capability the daemon already has. */
                if (perfmon && atoi(paranoid) >= 3)
                        return xasprintf("perf_event_open of the tracepoint on CPU %u: %s: "
                                         "kernel.perf_event_paranoid=%s refuses it even with CAP_PERFMON "
                                         "(CAP_SYS_ADMIN only); at 2 CAP_PERFMON is enough",
                                         cpu, strerror(-err), paranoid);
                return xasprintf("perf_event_open of the tracepoint on CPU %u: %s (needs CAP_PERFMON or "
                                 "CAP_SYS_ADMIN; kernel.perf_event_paranoid=%s; a seccomp filter may refuse "
                                 "it too)",
                                 cpu, strerror(-err), paranoid);
        case -ENOSYS:
                return strdup("the kernel has no perf events (perf_event_open: ENOSYS)");
        default:
                return xasprintf("perf_event_open of the tracepoint on CPU %u: %s", cpu, strerror(-err));
        }
}

/* CAP_PERFMON (38) in our effective set, from /proc/self/status. */
static bool have_perfmon(void) {
        char buf[4096];
        unsigned long long eff;

        if (read_file_at(AT_FDCWD, "/proc/self/status", buf, sizeof buf) < 0)
                return false;
        const char *l = strstr(buf, "\nCapEff:");
        return l && sscanf(l, "\nCapEff: %llx", &eff) == 1 && (eff >> 38 & 1);
}

static char *why_open_failed(int err, unsigned cpu) {
        char paranoid[32] = "?";
        (void) read_file_at(AT_FDCWD, "/proc/sys/kernel/perf_event_paranoid", paranoid, sizeof paranoid);
        paranoid[strcspn(paranoid, "\n")] = 0;
        return affwatch_open_error(err, cpu, paranoid, have_perfmon());
}

void affwatch_free(AffWatch *w) {
        for (size_t i = 0; i < w->n; i++) {
                if (w->cpu[i].base)
                        munmap(w->cpu[i].base, w->cpu[i].map_len);
                if (w->cpu[i].exit_fd >= 0)
                        close(w->cpu[i].exit_fd);
                if (w->cpu[i].enter_fd >= 0)
                        close(w->cpu[i].enter_fd);
        }
        free(w);
}

int affwatch_open(const char *tracefs, const CpuSet *cpus, pid_t self, AffWatch **ret, char **ret_why) {
        static const char *const roots[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};
        _cleanup_(affwatch_freep) AffWatch *w = NULL;
        AffLayout l = {0};
        const char *root = NULL;
        char filter[64];
        int r = -ENOENT;

        for (size_t i = 0; i < ELEMENTSOF(roots) && !root; i++) {
                const char *t = tracefs ? tracefs : roots[i];
                r = load_layout(t, &l);
                if (r >= 0)
                        root = t;
                if (tracefs)
                        break;
        }
        if (!root) {
                if (r == -ENOENT && access(tracefs ? tracefs : "/sys/kernel/tracing/events", F_OK) == 0)
                        *ret_why = strdup(
                                "the kernel has no syscall tracepoints "
                                "(events/syscalls/sys_enter_sched_setaffinity; CONFIG_FTRACE_SYSCALLS)");
                else if (r == -ENOENT)
                        *ret_why = xasprintf("tracefs is not mounted (%s)",
                                             tracefs ? tracefs
                                                     : "/sys/kernel/tracing or /sys/kernel/debug/tracing");
                else
                        *ret_why = xasprintf("cannot read the sched_setaffinity tracepoint format: %s",
                                             strerror(-r));
                return r;
        }

        w = calloc(1, sizeof *w + cpuset_count(cpus) * sizeof(AffCpu));
        if (!w)
                return -ENOMEM;
        w->layout = l;
        w->page = (size_t) sysconf(_SC_PAGESIZE);
        snprintf(filter, sizeof filter, "common_pid != %d", (int) self);
        for (int c = cpuset_next(cpus, -1); c >= 0; c = cpuset_next(cpus, c)) {
                AffCpu *k = &w->cpu[w->n++];
                k->enter_fd = k->exit_fd = -1;
                r = open_tp(l.enter_id, (unsigned) c, false, filter);
                if (r >= 0) {
                        k->enter_fd = r;
                        r = open_tp(l.exit_id, (unsigned) c, true, filter);
                }
                if (r < 0) {
                        *ret_why = why_open_failed(r, (unsigned) c);
                        return r;
                }
                k->exit_fd = r;
                k->map_len = (1 + DATA_PAGES) * w->page;
                k->base = mmap(NULL, k->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, k->enter_fd, 0);
                if (k->base == MAP_FAILED) {
                        r = -errno;
                        k->base = NULL;
                        *ret_why = xasprintf("mmap of the perf buffer on CPU %d: %s", c, strerror(-r));
                        return r;
                }
                if (ioctl(k->exit_fd, PERF_EVENT_IOC_SET_OUTPUT, k->enter_fd) < 0) {
                        r = -errno;
                        *ret_why = xasprintf("sharing the perf buffer on CPU %d: %s", c, strerror(-r));
                        return r;
                }
        }
        for (size_t i = 0; i < w->n; i++)
                if (ioctl(w->cpu[i].enter_fd, PERF_EVENT_IOC_ENABLE, 0) < 0 ||
                    ioctl(w->cpu[i].exit_fd, PERF_EVENT_IOC_ENABLE, 0) < 0) {
                        r = -errno;
                        *ret_why = xasprintf("enabling the tracepoint: %s", strerror(-r));
                        return r;
                }
        *ret = TAKE_PTR(w);
        return 0;
}

size_t affwatch_n_fds(const AffWatch *w) {
        return w->n;
}

int affwatch_fd(const AffWatch *w, size_t i) {
        return i < w->n ? w->cpu[i].enter_fd : -EINVAL;
}

static int sample_cmp(const void *a, const void *b) {
        const AffSample *x = a, *y = b;
        return (x->time > y->time) - (x->time < y->time);
}

/* Copy every record out of one CPU's buffer into samples. */
static void drain_cpu(AffWatch *w, AffCpu *k, AffSample *samples, size_t *n, bool *lost) {
        struct perf_event_mmap_page *meta = k->base;
        unsigned char *data = (unsigned char *) k->base + w->page;
        size_t size = DATA_PAGES * w->page;
        uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
        uint64_t tail = meta->data_tail;
        unsigned char rec[1024] __attribute__((aligned(8)));

        /* A head that ran more than a buffer ahead cannot be trusted. */
        if (head - tail > size) {
                *lost = true;
                tail = head;
        }
        while (tail < head) {
                struct perf_event_header h;
                size_t off = (size_t) (tail % size);
                for (size_t b = 0; b < sizeof h; b++)
                        ((unsigned char *) &h)[b] = data[(off + b) % size];
                if (h.size < sizeof h || h.size > head - tail) {
                        *lost = true;
                        break;
                }
                if (h.type == PERF_RECORD_LOST)
                        *lost = true;
                else if (h.type == PERF_RECORD_SAMPLE && h.size <= sizeof rec) {
                        for (size_t b = 0; b < h.size; b++)
                                rec[b] = data[(off + b) % size];
                        AffSample s;
                        int r = affwatch_parse_sample(&w->layout, rec, h.size, &s);
                        if (r > 0 && *n < SAMPLES_MAX)
                                samples[(*n)++] = s;
                        else if (r > 0 || r < 0)
                                *lost = true;
                }
                tail += h.size;
        }
        __atomic_store_n(&meta->data_tail, head, __ATOMIC_RELEASE);
}

int affwatch_read(AffWatch *w, AffRecord *out, size_t max, bool *ret_lost) {
        _cleanup_(freep) AffSample *samples = malloc(SAMPLES_MAX * sizeof(AffSample));
        size_t n = 0, k = 0;
        bool lost = false;

        if (!samples)
                return -ENOMEM;
        for (size_t i = 0; i < w->n; i++)
                drain_cpu(w, &w->cpu[i], samples, &n, &lost);
        /* Enter and exit of one call may sit in two CPUs' buffers. */
        qsort(samples, n, sizeof *samples, sample_cmp);
        for (size_t i = 0; i < n; i++) {
                AffRecord r;
                if (!affwatch_pair(&w->pairs, &samples[i], &r))
                        continue;
                if (k < max)
                        out[k++] = r;
                else
                        lost = true;
        }
        *ret_lost = lost;
        return (int) k;
}
