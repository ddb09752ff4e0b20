/* SPDX-License-Identifier: MIT */
#include "kernel/irq.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/util.h"

/* A cpulist of every other CPU up to 65535 is ~190 KiB. */
#define IRQ_CPULIST_MAX (1024 * 1024)

const char *irq_kind_name(IrqKind k) {
        static const char *const names[_IRQ_KIND_MAX] = {"device", "timer", "resched",
                                                         "call",   "tlb",   "other"};
        return (unsigned) k < _IRQ_KIND_MAX ? names[k] : "other";
}

void interrupts_free(Interrupts *t) {
        if (!t)
                return;
        for (size_t i = 0; i < t->n_rows; i++) {
                free(t->rows[i].counts);
                free(t->rows[i].chip);
                free(t->rows[i].hwirq);
                free(t->rows[i].actions);
        }
        free(t->rows);
        free(t->cpus);
        free(t);
}

static bool all_digits(const char *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

static int parse_u64_n(const char *s, size_t n, uint64_t *ret) {
        char tmp[24];

        if (n == 0 || n >= sizeof tmp || !all_digits(s, n))
                return -EINVAL;
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        return parse_u64(tmp, ret);
}

/* The named rows' kinds: x86 names them, arm64 numbers its IPIs and says
 * what each is in the description. */
static IrqKind named_kind(const char *name, const char *desc) {
        static const struct {
                const char *name;
                IrqKind kind;
        } names[] = {{"LOC", IRQ_KIND_TIMER},
                     {"RES", IRQ_KIND_RESCHED},
                     {"CAL", IRQ_KIND_CALL},
                     {"TLB", IRQ_KIND_TLB}};

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcmp(name, names[i].name) == 0)
                        return names[i].kind;
        if (!desc)
                return IRQ_KIND_OTHER;
        if (strcasestr(desc, "rescheduling"))
                return IRQ_KIND_RESCHED;
        if (strcasestr(desc, "function call"))
                return IRQ_KIND_CALL;
        if (strcasestr(desc, "tlb"))
                return IRQ_KIND_TLB;
        if (strcasestr(desc, "timer"))
                return IRQ_KIND_TIMER;
        return IRQ_KIND_OTHER;
}

/* The header: "           CPU0       CPU1 ..." (online CPUs only, so the
 * numbers may have gaps). */
static int parse_header(const char *line, size_t n, Interrupts *t) {
        const char *p = line, *end = line + n;
        size_t cap = 0;

        for (;;) {
                while (p < end && isspace((unsigned char) *p))
                        p++;
                if (p == end)
                        break;
                const char *tok = p;
                while (p < end && !isspace((unsigned char) *p))
                        p++;
                uint64_t cpu;
                if ((size_t) (p - tok) < 4 || memcmp(tok, "CPU", 3) != 0 ||
                    parse_u64_n(tok + 3, (size_t) (p - tok - 3), &cpu) < 0 || cpu >= CPUSET_MAX_CPUS)
                        return -EBADMSG;
                if (t->n_cpus > 0 && cpu <= t->cpus[t->n_cpus - 1])
                        return -EBADMSG; /* the kernel lists them ascending */
                if (t->n_cpus == cap) {
                        size_t nc = cap ? cap * 2 : 16;
                        unsigned *nv = reallocarray(t->cpus, nc, sizeof *nv);
                        if (!nv)
                                return -ENOMEM;
                        t->cpus = nv;
                        cap = nc;
                }
                t->cpus[t->n_cpus++] = (unsigned) cpu;
        }
        return t->n_cpus > 0 ? 0 : -EBADMSG;
}

static char *strndup_trim(const char *s, size_t n, size_t max) {
        while (n > 0 && isspace((unsigned char) *s)) {
                s++;
                n--;
        }
        while (n > 0 && isspace((unsigned char) s[n - 1]))
                n--;
        if (n == 0)
                return strdup("");
        return strndup(s, n < max ? n : max);
}

/* Next whitespace-separated token of [*p, end): its start and length. */
static bool next_token(const char **p, const char *end, const char **tok, size_t *n) {
        const char *s = *p;

        while (s < end && isspace((unsigned char) *s))
                s++;
        if (s == end)
                return false;
        *tok = s;
        while (s < end && !isspace((unsigned char) *s))
                s++;
        *n = (size_t) (s - *tok);
        *p = s;
        return true;
}

/* What follows a numbered row's counts: " CHIP [HWIRQ[-FLOW]] [Level|Edge]
 * [-FLOW]  ACTION[, ACTION...]". The chip name is one token; the action
 * names are the rest, verbatim (they may hold spaces: "PCIe PME"). */
static int parse_device_info(const char *p, const char *end, IrqRow *r) {
        const char *tok, *save;
        size_t n;

        if (!next_token(&p, end, &tok, &n))
                return 0; /* counts only: a capture cut short */
        r->chip = strndup(tok, n);
        if (!r->chip)
                return -ENOMEM;
        save = p;
        /* The hardware IRQ number, maybe with the flow handler's name. */
        if (next_token(&p, end, &tok, &n) && n > 0 && isdigit((unsigned char) tok[0])) {
                const char *hw = tok;
                size_t hn = n;
                save = p;
                /* arm's " 27 Level" (GENERIC_IRQ_SHOW_LEVEL) */
                if (next_token(&p, end, &tok, &n) &&
                    ((n == 5 && memcmp(tok, "Level", 5) == 0) || (n == 4 && memcmp(tok, "Edge", 4) == 0))) {
                        hn = (size_t) (p - hw);
                        save = p;
                }
                r->hwirq = strndup_trim(hw, hn, 64);
                if (!r->hwirq)
                        return -ENOMEM;
        }
        p = save;
        /* A flow handler's name without a hardware number: " -edge". */
        if (next_token(&p, end, &tok, &n) && tok[0] == '-')
                save = p;
        p = save;
        r->actions = strndup_trim(p, (size_t) (end - p), IRQ_ACTIONS_MAX);
        return r->actions ? 0 : -ENOMEM;
}

/* One row; 1 when it is one, 0 when the line is not a row (skipped). */
static int parse_row(const char *line, size_t len, const Interrupts *t, IrqRow *ret) {
        const char *end = line + len, *colon = memchr(line, ':', len), *p, *label;
        _cleanup_(freep) uint64_t *counts = NULL;
        IrqRow r = {0};
        size_t label_n, n_counts = 0;
        int k;

        if (!colon)
                return 0;
        label = line;
        while (label < colon && isspace((unsigned char) *label))
                label++;
        label_n = (size_t) (colon - label);
        if (label_n == 0)
                return 0;
        if (all_digits(label, label_n)) {
                uint64_t irq;
                if (parse_u64_n(label, label_n, &irq) < 0 || irq >= IRQ_MAX_NUMBER)
                        return 0;
                r.numbered = true;
                r.irq = (unsigned) irq;
                r.kind = IRQ_KIND_DEVICE;
        } else {
                /* "LOC", "IPI0", "Err": a letter, then letters and digits. */
                if (label_n >= sizeof r.name || !isalpha((unsigned char) label[0]))
                        return 0;
                for (size_t i = 0; i < label_n; i++)
                        if (!isalnum((unsigned char) label[i]) && label[i] != '_')
                                return 0;
                memcpy(r.name, label, label_n);
        }
        counts = calloc(t->n_cpus, sizeof *counts);
        if (!counts)
                return -ENOMEM;
        /* At most one count per column; what follows is the row's text. */
        p = colon + 1;
        for (;;) {
                const char *save = p, *tok;
                size_t n;
                uint64_t v;
                if (n_counts == t->n_cpus || !next_token(&p, end, &tok, &n) || parse_u64_n(tok, n, &v) < 0) {
                        p = save;
                        break;
                }
                counts[n_counts++] = v;
                r.total += v;
        }
        if (n_counts == 0)
                return 0;
        if (r.numbered) {
                const char *q = p, *tok;
                size_t n;
                /* More counts than the header has columns: not this table's row. */
                if (n_counts == t->n_cpus && next_token(&q, end, &tok, &n) && all_digits(tok, n))
                        return 0;
                r.short_row = n_counts < t->n_cpus;
                r.counts = TAKE_PTR(counts);
                k = parse_device_info(p, end, &r);
        } else {
                const char *rest = p;
                while (rest < end && isspace((unsigned char) *rest))
                        rest++;
                /* ERR and MIS: one system-wide count, no description. */
                if (n_counts == 1 && t->n_cpus > 1 && rest == end)
                        r.counts = NULL;
                else {
                        r.short_row = n_counts < t->n_cpus;
                        r.counts = TAKE_PTR(counts);
                }
                r.actions = strndup_trim(rest, (size_t) (end - rest), IRQ_ACTIONS_MAX);
                k = r.actions ? 0 : -ENOMEM;
                r.kind = named_kind(r.name, r.actions);
        }
        if (k < 0) {
                free(r.counts);
                free(r.chip);
                free(r.hwirq);
                free(r.actions);
                return k;
        }
        *ret = r;
        return 1;
}

int irq_parse_interrupts_buf(const char *buf, size_t len, Interrupts **ret) {
        Interrupts *t = calloc(1, sizeof *t);
        const char *p = buf, *end = buf + len;
        size_t cap = 0;
        bool header = false;
        int r = 0;

        if (!t)
                return -ENOMEM;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);

                if (memchr(p, '\0', n)) {
                        r = -EBADMSG;
                        break;
                }
                if (!header) {
                        /* The first line that is not blank is the header. */
                        const char *q = p;
                        while (q < p + n && isspace((unsigned char) *q))
                                q++;
                        if (q < p + n) {
                                r = parse_header(p, n, t);
                                if (r < 0)
                                        break;
                                header = true;
                        }
                } else {
                        IrqRow row;
                        int k = parse_row(p, n, t, &row);
                        if (k < 0) {
                                r = k;
                                break;
                        }
                        if (k == 0) {
                                /* Not blank and not a row: counted. */
                                const char *q = p;
                                while (q < p + n && isspace((unsigned char) *q))
                                        q++;
                                if (q < p + n)
                                        t->skipped++;
                        } else {
                                if (t->n_rows == cap) {
                                        size_t nc = cap ? cap * 2 : 64;
                                        IrqRow *nv = reallocarray(t->rows, nc, sizeof *nv);
                                        if (!nv) {
                                                free(row.counts);
                                                free(row.chip);
                                                free(row.hwirq);
                                                free(row.actions);
                                                r = -ENOMEM;
                                                break;
                                        }
                                        t->rows = nv;
                                        cap = nc;
                                }
                                t->rows[t->n_rows++] = row;
                        }
                }
                p = nl ? nl + 1 : end;
        }
        if (r == 0 && !header)
                r = -EBADMSG;
        if (r < 0) {
                interrupts_free(t);
                return r;
        }
        *ret = t;
        return 0;
}

int irq_read_interrupts(int rootfd, Interrupts **ret) {
        _cleanup_(freep) char *buf = NULL;
        size_t len = 0;
        int r = read_file_alloc_at(rootfd, "proc/interrupts", IRQ_INTERRUPTS_MAX, &buf, &len);

        if (r < 0)
                return r;
        return irq_parse_interrupts_buf(buf, len, ret);
}

const IrqRow *interrupts_find(const Interrupts *t, unsigned irq) {
        for (size_t i = 0; t && i < t->n_rows; i++)
                if (t->rows[i].numbered && t->rows[i].irq == irq)
                        return &t->rows[i];
        return NULL;
}

int interrupts_column(const Interrupts *t, unsigned cpu) {
        size_t lo = 0, hi = t ? t->n_cpus : 0;

        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (t->cpus[mid] == cpu)
                        return (int) mid;
                if (t->cpus[mid] < cpu)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return -1;
}

uint64_t irq_row_count(const Interrupts *t, const IrqRow *r, unsigned cpu) {
        int col = interrupts_column(t, cpu);
        return col >= 0 && r->counts ? r->counts[col] : 0;
}

size_t irq_split_actions(const char *actions, char *buf, size_t size, const char **v, size_t max) {
        size_t n = 0;
        char *p;

        if (!actions || size == 0)
                return 0;
        snprintf(buf, size, "%s", actions);
        for (p = buf; *p && n < max;) {
                char *sep = strstr(p, ", ");
                if (sep)
                        *sep = '\0';
                if (*p)
                        v[n++] = p;
                if (!sep)
                        break;
                p = sep + 2;
        }
        return n;
}

static int uint_cmp(const void *a, const void *b) {
        unsigned x = *(const unsigned *) a, y = *(const unsigned *) b;
        return (x > y) - (x < y);
}

int irq_list(int rootfd, unsigned **ret, size_t *ret_n) {
        _cleanup_(freep) unsigned *v = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        DIR *d;
        int r = dirfd_opendir(rootfd, "proc/irq", &d);

        if (r < 0)
                return r;
        while ((r = dir_next(d, &de)) > 0) {
                unsigned irq;
                if (!all_digits(de->d_name, strlen(de->d_name)) || parse_uint(de->d_name, &irq) < 0 ||
                    irq >= IRQ_MAX_NUMBER)
                        continue;
                if (n == cap) {
                        size_t nc = cap ? cap * 2 : 64;
                        unsigned *nv = reallocarray(v, nc, sizeof *nv);
                        if (!nv) {
                                r = -ENOMEM;
                                break;
                        }
                        v = nv;
                        cap = nc;
                }
                v[n++] = irq;
        }
        closedir(d);
        if (r < 0)
                return r;
        if (n > 1)
                qsort(v, n, sizeof *v, uint_cmp);
        *ret = n ? TAKE_PTR(v) : NULL;
        *ret_n = n;
        return 0;
}

static int read_list_at(int rootfd, const char *path, CpuSet **ret) {
        _cleanup_(freep) char *text = NULL;
        int r = read_file_alloc_at(rootfd, path, IRQ_CPULIST_MAX, &text, NULL);

        if (r < 0)
                return r;
        return cpuset_parse_list(text, ret, NULL) < 0 ? -EBADMSG : 0;
}

int irq_read_affinity(int rootfd, unsigned irq, CpuSet **ret_requested, CpuSet **ret_effective) {
        _cleanup_(cpuset_freep) CpuSet *req = NULL, *eff = NULL;
        char path[64];
        int r;

        if (ret_requested) {
                snprintf(path, sizeof path, "proc/irq/%u/smp_affinity_list", irq);
                r = read_list_at(rootfd, path, &req);
                if (r < 0)
                        return r;
        }
        if (ret_effective) {
                snprintf(path, sizeof path, "proc/irq/%u/effective_affinity_list", irq);
                r = read_list_at(rootfd, path, &eff);
                /* Older kernels and some architectures do not have it. */
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        if (ret_requested)
                *ret_requested = TAKE_PTR(req);
        if (ret_effective)
                *ret_effective = TAKE_PTR(eff);
        return 0;
}

int irq_parse_default_affinity_buf(const char *buf, CpuSet **ret) {
        _cleanup_(freep) char *copy = strdup(buf);

        if (!copy)
                return -ENOMEM;
        return cpuset_parse_mask(strstrip(copy), ret, NULL) < 0 ? -EBADMSG : 0;
}

int irq_read_default_affinity(int rootfd, CpuSet **ret) {
        _cleanup_(freep) char *text = NULL;
        int r = read_file_alloc_at(rootfd, "proc/irq/default_smp_affinity", IRQ_CPULIST_MAX, &text, NULL);

        if (r < 0)
                return r;
        return irq_parse_default_affinity_buf(text, ret);
}

IrqWrite irq_classify_errno(int err) {
        switch (err) {
        case 0:
                return IRQ_WRITE_OK;
        case ENOENT:
                return IRQ_WRITE_GONE;
        case EIO:
        case EPERM:
        case EINVAL:
        /* Newer kernels make the mask files of IRQs a user may not move
         * read-only (0444): without CAP_DAC_OVERRIDE, as under the unit,
         * opening one to write fails so. */
        case EACCES:
                return IRQ_WRITE_UNMOVABLE;
        default:
                return IRQ_WRITE_TRANSIENT;
        }
}

const char *irq_unmovable_reason(int err) {
        switch (err) {
        case EPERM:
                return "kernel-managed: the kernel places it (EPERM)";
        case EIO:
                return "per-CPU, or its chip cannot be balanced (EIO)";
        case EINVAL:
                return "its chip refuses the mask (EINVAL)";
        case EACCES:
                return "kernel-managed, per-CPU or not balanceable: the kernel made its mask read-only "
                       "(EACCES)";
        default:
                return "the kernel refuses to move it";
        }
}

/* Write text to path in one write(2): the kernel parses what one write
 * gives it. */
static int write_text_at(int rootfd, const char *path, const char *text) {
        _cleanup_(closep) int fd = dirfd_openat(rootfd, path, O_WRONLY | O_TRUNC | O_NOCTTY);
        size_t n = strlen(text);
        ssize_t w;

        if (fd < 0)
                return fd;
        do
                w = write(fd, text, n);
        while (w < 0 && errno == EINTR);
        if (w < 0)
                return -errno;
        return (size_t) w == n ? 0 : -EIO;
}

IrqWrite irq_write_text_at(int rootfd, const char *path, const char *text, int *ret_errno) {
        int r = text ? write_text_at(rootfd, path, text) : -ENOMEM;

        *ret_errno = r < 0 ? -r : 0;
        return r < 0 ? irq_classify_errno(-r) : IRQ_WRITE_OK;
}

IrqWrite irq_write_affinity(int rootfd, unsigned irq, const CpuSet *want, bool dry_run, int *ret_errno) {
        _cleanup_(cpuset_freep) CpuSet *cur = NULL;
        _cleanup_(freep) char *text = NULL;
        char path[64];
        int r;

        *ret_errno = 0;
        r = irq_read_affinity(rootfd, irq, &cur, NULL);
        if (r == -ENOENT)
                return IRQ_WRITE_GONE;
        if (r >= 0 && cpuset_equal(cur, want))
                return IRQ_WRITE_UNCHANGED;
        if (dry_run)
                return IRQ_WRITE_DRY_RUN;
        text = cpuset_format_list(want);
        snprintf(path, sizeof path, "proc/irq/%u/smp_affinity_list", irq);
        return irq_write_text_at(rootfd, path, text, ret_errno);
}

IrqWrite irq_write_default_affinity(int rootfd, const CpuSet *want, bool dry_run, int *ret_errno) {
        _cleanup_(cpuset_freep) CpuSet *cur = NULL;
        _cleanup_(freep) char *text = NULL;
        int r;

        *ret_errno = 0;
        r = irq_read_default_affinity(rootfd, &cur);
        if (r >= 0 && cpuset_equal(cur, want))
                return IRQ_WRITE_UNCHANGED;
        if (dry_run)
                return IRQ_WRITE_DRY_RUN;
        text = cpuset_format_mask(want);
        return irq_write_text_at(rootfd, "proc/irq/default_smp_affinity", text, ret_errno);
}
