/* SPDX-License-Identifier: MIT */
#include "kernel/cpustat.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

/* A schedstat line per CPU and a few per scheduling domain. */
#define SCHEDSTAT_MAX ((size_t) 64 * 1024 * 1024)

static int u64_field(const char **p, const char *end, uint64_t *ret) {
        const char *s = *p;
        uint64_t v = 0;

        while (s < end && *s == ' ')
                s++;
        if (s == end || *s < '0' || *s > '9')
                return -EBADMSG;
        for (; s < end && *s >= '0' && *s <= '9'; s++) {
                if (v > (UINT64_MAX - 9) / 10)
                        return -EBADMSG;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        if (s < end && *s != ' ')
                return -EBADMSG;
        *p = s;
        *ret = v;
        return 0;
}

int cpustat_parse_schedstat_buf(const char *buf, size_t len, uint64_t **ret, unsigned *ret_n) {
        _cleanup_(freep) uint64_t *v = NULL;
        const char *p = buf, *end = buf + len;
        unsigned n = 0, cap = 0;
        bool version = false;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                const char *le = nl ? nl : end;
                uint64_t f[9], cpu;

                if (le - p > 8 && memcmp(p, "version ", 8) == 0) {
                        const char *q = p + 8;
                        uint64_t ver;
                        if (u64_field(&q, le, &ver) < 0)
                                return -EBADMSG;
                        if (ver < SCHEDSTAT_MIN_VERSION)
                                return -EPROTONOSUPPORT;
                        version = true;
                } else if (le - p > 3 && memcmp(p, "cpu", 3) == 0) {
                        const char *q = p + 3;
                        if (!version || u64_field(&q, le, &cpu) < 0 || cpu >= CPUSET_MAX_CPUS)
                                return -EBADMSG;
                        for (int i = 0; i < 9; i++)
                                if (u64_field(&q, le, &f[i]) < 0)
                                        return -EBADMSG;
                        if (cpu >= cap) {
                                unsigned nc = (unsigned) cpu + 1 > cap * 2 ? (unsigned) cpu + 1 : cap * 2;
                                uint64_t *nv = reallocarray(v, nc, sizeof *nv);
                                if (!nv)
                                        return -ENOMEM;
                                memset(nv + cap, 0, (nc - cap) * sizeof *nv);
                                v = nv;
                                cap = nc;
                        }
                        v[cpu] = f[8];
                        if (cpu + 1 > n)
                                n = (unsigned) cpu + 1;
                }
                p = nl ? nl + 1 : end;
        }
        if (!version)
                return -EBADMSG;
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

int cpustat_sample(int rootfd, CpuSample *ret) {
        CpuSample s = {.usec = now_usec()};
        _cleanup_(freep) char *buf = NULL;
        size_t len = 0;
        int r;

        r = irq_read_interrupts(rootfd, &s.irqs);
        if (r == -ENOMEM)
                return r;
        s.irqs_error = r < 0 ? r : 0;
        r = read_file_alloc_at(rootfd, "proc/schedstat", SCHEDSTAT_MAX, &buf, &len);
        if (r >= 0)
                r = cpustat_parse_schedstat_buf(buf, len, &s.switches, &s.n_switches);
        if (r == -ENOMEM) {
                cpustat_sample_done(&s);
                return r;
        }
        s.switches_error = r < 0 ? r : 0;
        *ret = s;
        return 0;
}

void cpustat_sample_done(CpuSample *s) {
        interrupts_free(s->irqs);
        free(s->switches);
        *s = (CpuSample){0};
}

static double seconds_between(const CpuSample *a, const CpuSample *b) {
        return b->usec > a->usec ? (double) (b->usec - a->usec) / 1e6 : 0;
}

static uint64_t delta(uint64_t before, uint64_t after) {
        return after >= before ? after - before : after;
}

/* Sum of the rows of a kind (kind < 0: every row) on cpu; false when the
 * sample has no column for it. */
static bool kind_sum(const CpuSample *s, unsigned cpu, int kind, uint64_t *ret) {
        int col;
        uint64_t sum = 0;

        if (!s->irqs || (col = interrupts_column(s->irqs, cpu)) < 0)
                return false;
        for (size_t i = 0; i < s->irqs->n_rows; i++) {
                const IrqRow *r = &s->irqs->rows[i];
                if (r->counts && (kind < 0 || r->kind == (IrqKind) kind))
                        sum += r->counts[col];
        }
        *ret = sum;
        return true;
}

static double kind_rate(const CpuSample *a, const CpuSample *b, unsigned cpu, int kind) {
        double secs = seconds_between(a, b);
        uint64_t x, y;

        if (secs <= 0 || !kind_sum(a, cpu, kind, &x) || !kind_sum(b, cpu, kind, &y))
                return -1;
        return (double) delta(x, y) / secs;
}

double cpustat_kind_rate(const CpuSample *a, const CpuSample *b, unsigned cpu, IrqKind kind) {
        return kind_rate(a, b, cpu, (int) kind);
}

double cpustat_irq_total_rate(const CpuSample *a, const CpuSample *b, unsigned cpu) {
        return kind_rate(a, b, cpu, -1);
}

double cpustat_switch_rate(const CpuSample *a, const CpuSample *b, unsigned cpu) {
        double secs = seconds_between(a, b);

        if (secs <= 0 || !a->switches || !b->switches || cpu >= a->n_switches || cpu >= b->n_switches)
                return -1;
        return (double) delta(a->switches[cpu], b->switches[cpu]) / secs;
}

uint64_t cpustat_irq_delta(const CpuSample *a, const CpuSample *b, unsigned irq, unsigned cpu) {
        const IrqRow *ra = interrupts_find(a->irqs, irq), *rb = interrupts_find(b->irqs, irq);

        if (!rb)
                return 0;
        uint64_t before = ra ? irq_row_count(a->irqs, ra, cpu) : 0;
        return delta(before, irq_row_count(b->irqs, rb, cpu));
}
