/* SPDX-License-Identifier: MIT */
/* kernel/irq.c, kernel/workqueue.c and kernel/cpustat.c: the parsers on
 * captured samples and hostile text, the readers and writers on fixture and
 * scratch trees below a root handle. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/cpustat.h"
#include "kernel/irq.h"
#include "kernel/workqueue.h"
#include "lib/util.h"
#include "testutil.h"

static char *slurp(const char *rel) {
        _cleanup_(freep) char *path = xasprintf("%s/%s", fixture_path("samples"), rel);
        char *buf = NULL;
        ck_assert_int_eq(read_file_alloc_at(AT_FDCWD, path, 1 << 20, &buf, NULL), 0);
        return buf;
}

static Interrupts *parse_ok(const char *text) {
        Interrupts *t = NULL;
        int r = irq_parse_interrupts_buf(text, strlen(text), &t);
        ck_assert_msg(r == 0, "parse = %d", r);
        return t;
}

static void assert_list(const CpuSet *s, const char *expected) {
        _cleanup_(freep) char *f = NULL;
        ck_assert_ptr_nonnull(s);
        f = cpuset_format_list(s);
        ck_assert_str_eq(f, expected);
}

static int open_root(const char *dir) {
        int fd = dirfd_open_root(dir);
        ck_assert_int_ge(fd, 0);
        return fd;
}

static char *read_text(const char *root, const char *rel) {
        _cleanup_(freep) char *path = xasprintf("%s/%s", root, rel);
        char *buf = NULL;
        ck_assert_int_eq(read_file_alloc_at(AT_FDCWD, path, 4096, &buf, NULL), 0);
        return buf;
}

/* ---- /proc/interrupts ---- */

START_TEST(test_fixture_x86) {
        _cleanup_(dirfd_closep) int root = open_root(fixture_path("host-irq"));
        _cleanup_(interrupts_freep) Interrupts *t = NULL;
        const IrqRow *r;
        const char *v[4];
        char buf[256];

        ck_assert_int_eq(irq_read_interrupts(root, &t), 0);
        ck_assert_uint_eq(t->n_cpus, 4);
        ck_assert_uint_eq(t->cpus[3], 3);
        ck_assert_uint_eq(t->n_rows, 11 + 7 + 2);
        ck_assert_uint_eq(t->skipped, 0);

        r = interrupts_find(t, 24);
        ck_assert_ptr_nonnull(r);
        ck_assert(r->numbered && r->kind == IRQ_KIND_DEVICE && !r->short_row);
        ck_assert_str_eq(r->chip, "PCI-MSIX-0000:00:04.0");
        ck_assert_str_eq(r->hwirq, "1-edge");
        ck_assert_str_eq(r->actions, "virtio1-req.0");
        ck_assert_uint_eq(irq_row_count(t, r, 0), 3100);
        ck_assert_uint_eq(r->total, 3100);

        r = interrupts_find(t, 32);
        ck_assert_str_eq(r->actions, "PCIe PME, pciehp");
        ck_assert_uint_eq(irq_split_actions(r->actions, buf, sizeof buf, v, 4), 2);
        ck_assert_str_eq(v[0], "PCIe PME");
        ck_assert_str_eq(v[1], "pciehp");
        ck_assert_ptr_null(interrupts_find(t, 2));

        /* Named rows by kind; ERR and MIS have one count for the machine. */
        size_t kinds[_IRQ_KIND_MAX] = {0}, totals_only = 0;
        for (size_t i = 0; i < t->n_rows; i++)
                if (!t->rows[i].numbered) {
                        kinds[t->rows[i].kind]++;
                        if (!t->rows[i].counts)
                                totals_only++;
                }
        ck_assert_uint_eq(kinds[IRQ_KIND_TIMER], 1);
        ck_assert_uint_eq(kinds[IRQ_KIND_RESCHED], 1);
        ck_assert_uint_eq(kinds[IRQ_KIND_CALL], 1);
        ck_assert_uint_eq(kinds[IRQ_KIND_TLB], 1);
        ck_assert_uint_eq(kinds[IRQ_KIND_OTHER], 5);
        ck_assert_uint_eq(totals_only, 2);
}
END_TEST

START_TEST(test_arm64) {
        _cleanup_(freep) char *text = slurp("interrupts-arm64");
        _cleanup_(interrupts_freep) Interrupts *t = parse_ok(text);
        static const struct {
                const char *name;
                IrqKind kind;
        } ipis[] = {{"IPI0", IRQ_KIND_RESCHED}, {"IPI1", IRQ_KIND_CALL},  {"IPI2", IRQ_KIND_OTHER},
                    {"IPI3", IRQ_KIND_OTHER},   {"IPI4", IRQ_KIND_TIMER}, {"IPI5", IRQ_KIND_OTHER}};

        ck_assert_uint_eq(t->n_cpus, 2);
        const IrqRow *r = interrupts_find(t, 11);
        ck_assert_str_eq(r->chip, "GICv3");
        ck_assert_str_eq(r->hwirq, "27 Level");
        ck_assert_str_eq(r->actions, "arch_timer");
        r = interrupts_find(t, 20);
        ck_assert_str_eq(r->chip, "ITS-MSI");
        ck_assert_str_eq(r->hwirq, "16384 Edge");
        ck_assert_str_eq(r->actions, "virtio0-config");
        for (size_t k = 0; k < ELEMENTSOF(ipis); k++) {
                bool found = false;
                for (size_t i = 0; i < t->n_rows; i++)
                        if (!t->rows[i].numbered && strcmp(t->rows[i].name, ipis[k].name) == 0) {
                                ck_assert_msg(t->rows[i].kind == ipis[k].kind, "%s: kind %d", ipis[k].name,
                                              t->rows[i].kind);
                                found = true;
                        }
                ck_assert_msg(found, "%s missing", ipis[k].name);
        }
        ck_assert_str_eq(t->rows[t->n_rows - 1].name, "Err");
        ck_assert_ptr_null(t->rows[t->n_rows - 1].counts);
}
END_TEST

START_TEST(test_odd_columns) {
        _cleanup_(freep) char *text = slurp("interrupts-odd");
        _cleanup_(interrupts_freep) Interrupts *t = parse_ok(text);
        const IrqRow *r;

        /* CPU 1 offline: no column; counts are by CPU number. */
        ck_assert_uint_eq(t->n_cpus, 2);
        ck_assert_int_eq(interrupts_column(t, 2), 1);
        ck_assert_int_eq(interrupts_column(t, 1), -1);
        r = interrupts_find(t, 0);
        ck_assert_uint_eq(irq_row_count(t, r, 0), 46);
        ck_assert_uint_eq(irq_row_count(t, r, 1), 0);
        /* A short row keeps what it has. */
        r = interrupts_find(t, 8);
        ck_assert(r->short_row);
        ck_assert_uint_eq(r->counts[0], 1);
        ck_assert_uint_eq(r->counts[1], 0);
        ck_assert_str_eq(r->chip, "IO-APIC");
        ck_assert_str_eq(r->actions, "rtc0");
        /* No hardware number, only the flow: " -edge". */
        r = interrupts_find(t, 16);
        ck_assert_str_eq(r->chip, "XT-PIC");
        ck_assert_ptr_null(r->hwirq);
        ck_assert_str_eq(r->actions, "cascade");
        /* Counts only. */
        r = interrupts_find(t, 17);
        ck_assert_ptr_null(r->chip);
        ck_assert_ptr_null(r->actions);
        ck_assert_uint_eq(r->total, 11);
        /* A row with a column more than the header, garbage, a number past
         * any IRQ and a label with a space are skipped and counted. */
        ck_assert_ptr_null(interrupts_find(t, 18));
        ck_assert_uint_eq(t->skipped, 4);
        ck_assert_str_eq(t->rows[t->n_rows - 1].name, "ERR");
        ck_assert_uint_eq(t->rows[t->n_rows - 1].total, 3);
}
END_TEST

START_TEST(test_hostile_interrupts) {
        static const struct {
                const char *text;
                size_t len; /* 0: strlen */
                int r;
                size_t rows;
        } t[] = {
                {"", 0, -EBADMSG, 0},
                {"\n\n", 0, -EBADMSG, 0},
                {"hello world\n 0: 1 x y\n", 0, -EBADMSG, 0},
                {"  CPU0 CPUx\n", 0, -EBADMSG, 0},
                {"  CPU1 CPU0\n", 0, -EBADMSG, 0},   /* not ascending */
                {"  CPU0 CPU0\n", 0, -EBADMSG, 0},   /* twice */
                {"  CPU99999999\n", 0, -EBADMSG, 0}, /* past any CPU */
                {"  CPU0\n 0: 1 c 1-edge x\n", 0, 0, 1},
                {"  CPU0\n", 0, 0, 0},
                {"  CPU0\n 0: 99999999999999999999999 c 1-edge x\n", 0, 0, 0},
                {"  CPU0\n 0: 1 c\0 1-edge x\n", 22, -EBADMSG, 0},
                {"  CPU0\n:\n::\n 0 1\n0:\nLOC:\n-1: 5 x\n", 0, 0, 0},
                {"  CPU0 CPU1\n 5: 1 2 c 1-edge x", 0, 0, 1}, /* no final newline */
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                Interrupts *x = NULL;
                int r = irq_parse_interrupts_buf(t[i].text, t[i].len ? t[i].len : strlen(t[i].text), &x);
                ck_assert_msg(r == t[i].r, "case %zu: %d, want %d", i, r, t[i].r);
                if (r == 0)
                        ck_assert_msg(x->n_rows == t[i].rows, "case %zu: %zu rows", i, x->n_rows);
                else
                        ck_assert_ptr_null(x);
                interrupts_free(x);
        }
}
END_TEST

START_TEST(test_long_actions) {
        _cleanup_(freep) char *text = NULL;
        char name[600];
        memset(name, 'a', sizeof name - 1);
        name[sizeof name - 1] = '\0';
        text = xasprintf("  CPU0\n 7: 3 chip 1-edge %s\n", name);
        _cleanup_(interrupts_freep) Interrupts *t = parse_ok(text);
        ck_assert_uint_eq(strlen(interrupts_find(t, 7)->actions), IRQ_ACTIONS_MAX);
}
END_TEST

/* ---- /proc/irq ---- */

START_TEST(test_affinity_files) {
        _cleanup_(dirfd_closep) int root = open_root(fixture_path("host-irq"));
        _cleanup_(cpuset_freep) CpuSet *req = NULL, *eff = NULL, *dflt = NULL;
        _cleanup_(freep) unsigned *irqs = NULL;
        size_t n = 0;

        ck_assert_int_eq(irq_read_affinity(root, 24, &req, &eff), 0);
        assert_list(req, "0");
        assert_list(eff, "0");
        cpuset_free(TAKE_PTR(req));
        cpuset_free(TAKE_PTR(eff));
        ck_assert_int_eq(irq_read_affinity(root, 29, &req, &eff), 0);
        assert_list(req, "0-3");
        assert_list(eff, "3");
        ck_assert_int_eq(irq_read_affinity(root, 2, &req, NULL), -ENOENT);
        ck_assert_int_eq(irq_read_default_affinity(root, &dflt), 0);
        assert_list(dflt, "0-3");
        ck_assert_int_eq(irq_list(root, &irqs, &n), 0);
        ck_assert_uint_eq(n, 11);
        ck_assert_uint_eq(irqs[0], 0);
        ck_assert_uint_eq(irqs[2], 24);
        ck_assert_uint_eq(irqs[10], 32);
}
END_TEST

START_TEST(test_default_mask_text) {
        static const struct {
                const char *text;
                const char *list; /* NULL: -EBADMSG */
        } t[] = {
                {"f\n", "0-3"}, {"ff,ffffffff\n", "0-39"}, {"0\n", ""},    {"00000001", "0"}, {"zz\n", NULL},
                {"", NULL},     {"f f\n", NULL},           {"-1\n", NULL}, {"1,,1\n", NULL},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                CpuSet *s = NULL;
                int r = irq_parse_default_affinity_buf(t[i].text, &s);
                if (!t[i].list) {
                        ck_assert_msg(r == -EBADMSG, "case %zu: %d", i, r);
                        continue;
                }
                ck_assert_msg(r == 0, "case %zu: %d", i, r);
                assert_list(s, t[i].list);
                cpuset_free(s);
        }
}
END_TEST

START_TEST(test_errno_sorting) {
        static const struct {
                int err;
                IrqWrite w;
        } t[] = {
                {EIO, IRQ_WRITE_UNMOVABLE},    {EPERM, IRQ_WRITE_UNMOVABLE},
                {EINVAL, IRQ_WRITE_UNMOVABLE}, {ENOSPC, IRQ_WRITE_TRANSIENT},
                {EBUSY, IRQ_WRITE_TRANSIENT},  {EAGAIN, IRQ_WRITE_TRANSIENT},
                {ENOMEM, IRQ_WRITE_TRANSIENT}, {ERANGE, IRQ_WRITE_TRANSIENT},
                {ENOENT, IRQ_WRITE_GONE},      {0, IRQ_WRITE_OK},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                ck_assert_msg(irq_classify_errno(t[i].err) == t[i].w, "errno %d", t[i].err);
        ck_assert_ptr_nonnull(strstr(irq_unmovable_reason(EPERM), "kernel-managed"));
        ck_assert_ptr_nonnull(strstr(irq_unmovable_reason(EIO), "per-CPU"));
        ck_assert_ptr_nonnull(strstr(irq_unmovable_reason(EACCES), "kernel-managed"));
}
END_TEST

START_TEST(test_writes) {
        static const char *const files[] = {
                "proc/irq/5/smp_affinity_list", "0-3\n", "proc/irq/default_smp_affinity", "f\n", NULL,
        };
        _cleanup_(fake_tree_free) char *dir = fake_tree_make(files);
        _cleanup_(dirfd_closep) int root = open_root(dir);
        _cleanup_(cpuset_freep) CpuSet *want = NULL, *all = NULL;
        int err;

        ck_assert_int_eq(cpuset_parse_list("0-2", &want, NULL), 0);
        ck_assert_int_eq(cpuset_parse_list("0-3", &all, NULL), 0);
        /* Dry run and unchanged write nothing. */
        ck_assert_int_eq(irq_write_affinity(root, 5, want, true, &err), IRQ_WRITE_DRY_RUN);
        ck_assert_int_eq(irq_write_affinity(root, 5, all, false, &err), IRQ_WRITE_UNCHANGED);
        _cleanup_(freep) char *before = read_text(dir, "proc/irq/5/smp_affinity_list");
        ck_assert_str_eq(before, "0-3\n");
        ck_assert_int_eq(irq_write_affinity(root, 5, want, false, &err), IRQ_WRITE_OK);
        _cleanup_(freep) char *after = read_text(dir, "proc/irq/5/smp_affinity_list");
        ck_assert_str_eq(after, "0-2");
        ck_assert_int_eq(irq_write_affinity(root, 6, want, false, &err), IRQ_WRITE_GONE);
        ck_assert_int_eq(irq_write_default_affinity(root, want, false, &err), IRQ_WRITE_OK);
        _cleanup_(freep) char *dflt = read_text(dir, "proc/irq/default_smp_affinity");
        ck_assert_str_eq(dflt, "7");
        ck_assert_int_eq(irq_write_default_affinity(root, want, false, &err), IRQ_WRITE_UNCHANGED);
}
END_TEST

/* A --root tree is a tagged handle: a symlink in it never reaches the host. */
START_TEST(test_confined) {
        static const char *const files[] = {"x", "", NULL};
        _cleanup_(fake_tree_free) char *dir = fake_tree_make(files);
        _cleanup_(freep) char *procdir = xasprintf("%s/proc", dir);
        _cleanup_(freep) char *irqdir = xasprintf("%s/proc/irq", dir);
        _cleanup_(freep) char *link = xasprintf("%s/proc/irq/9", dir);
        _cleanup_(cpuset_freep) CpuSet *s = NULL;

        ck_assert_int_eq(mkdir(procdir, 0755), 0);
        ck_assert_int_eq(mkdir(irqdir, 0755), 0);
        ck_assert_int_eq(symlink("/proc/irq/0", link), 0);
        _cleanup_(dirfd_closep) int root = open_root(dir);
        /* Resolved inside the tree: /proc/irq/0 there does not exist. */
        ck_assert_int_eq(irq_read_affinity(root, 9, &s, NULL), -ENOENT);
}
END_TEST

/* ---- workqueues ---- */

START_TEST(test_workqueues) {
        _cleanup_(dirfd_closep) int root = open_root(fixture_path("host-irq"));
        _cleanup_(strvec_done) StrVec v = {0};
        _cleanup_(cpuset_freep) CpuSet *g = NULL, *w = NULL, *eff = NULL;

        ck_assert_int_eq(wq_list(root, &v), 0);
        ck_assert_uint_eq(v.n, 3);
        ck_assert_str_eq(v.v[0], "blkcg_punt_bio");
        ck_assert_str_eq(v.v[1], "scsi_tmf_0");
        ck_assert_str_eq(v.v[2], "writeback");
        ck_assert_int_eq(wq_read_mask(root, WQ_GLOBAL, &g), 0);
        assert_list(g, "0-3");
        ck_assert_int_eq(wq_read_mask(root, "writeback", &w), 0);
        assert_list(w, "0-3");
        ck_assert_int_eq(wq_read_effective(root, &eff), 0);
        assert_list(eff, "0-3");
        CpuSet *x = NULL;
        ck_assert_int_eq(wq_read_mask(root, "kblockd", &x), -ENOENT);
        ck_assert_int_eq(wq_read_mask(root, "../../../proc", &x), -EINVAL);
        ck_assert_int_eq(wq_read_mask(root, "", &x), -EINVAL);
        ck_assert_ptr_null(x);
}
END_TEST

START_TEST(test_wq_names) {
        static const struct {
                const char *name;
                bool ok;
        } t[] = {
                {"writeback", true}, {"nvme-wq", true}, {"", false},   {".", false},   {"..", false},
                {"a/b", false},      {"..a", true},     {NULL, false}, {"x\ny", true}, /* a kernel identifier:
                                                                                          any byte but '/' */
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                ck_assert_msg(wq_name_valid(t[i].name) == t[i].ok, "case %zu", i);
        char longname[WQ_NAME_MAX + 2];
        memset(longname, 'w', sizeof longname - 1);
        longname[sizeof longname - 1] = '\0';
        ck_assert(!wq_name_valid(longname));
}
END_TEST

START_TEST(test_wq_write) {
        static const char *const files[] = {
                WQ_DIR "/cpumask", "f\n", WQ_DIR "/writeback/cpumask", "f\n", NULL,
        };
        _cleanup_(fake_tree_free) char *dir = fake_tree_make(files);
        _cleanup_(dirfd_closep) int root = open_root(dir);
        _cleanup_(cpuset_freep) CpuSet *want = NULL;
        int err;

        ck_assert_int_eq(cpuset_parse_list("0-2", &want, NULL), 0);
        /* No cpumask_requested here (kernels before 6.10): cpumask is it. */
        ck_assert_int_eq(wq_write_mask(root, WQ_GLOBAL, want, false, &err), IRQ_WRITE_OK);
        ck_assert_int_eq(wq_write_mask(root, "writeback", want, true, &err), IRQ_WRITE_DRY_RUN);
        ck_assert_int_eq(wq_write_mask(root, "writeback", want, false, &err), IRQ_WRITE_OK);
        ck_assert_int_eq(wq_write_mask(root, "writeback", want, false, &err), IRQ_WRITE_UNCHANGED);
        ck_assert_int_eq(wq_write_mask(root, "nope", want, false, &err), IRQ_WRITE_GONE);
        _cleanup_(freep) char *g = read_text(dir, WQ_DIR "/cpumask");
        _cleanup_(freep) char *w = read_text(dir, WQ_DIR "/writeback/cpumask");
        ck_assert_str_eq(g, "7");
        ck_assert_str_eq(w, "7");
        /* A tree without workqueues lists none. */
        static const char *const none[] = {"x", "", NULL};
        _cleanup_(fake_tree_free) char *empty = fake_tree_make(none);
        _cleanup_(dirfd_closep) int eroot = open_root(empty);
        _cleanup_(strvec_done) StrVec v = {0};
        ck_assert_int_eq(wq_list(eroot, &v), 0);
        ck_assert_uint_eq(v.n, 0);
}
END_TEST

/* ---- per-CPU activity ---- */

START_TEST(test_schedstat) {
        _cleanup_(freep) char *v15 = slurp("schedstat-v15");
        uint64_t *v = NULL;
        unsigned n = 0;

        ck_assert_int_eq(cpustat_parse_schedstat_buf(v15, strlen(v15), &v, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_uint_eq(v[0], 345678);
        ck_assert_uint_eq(v[1], 234567);
        free(v);

        static const struct {
                const char *text;
                int r;
        } t[] = {
                {"", -EBADMSG},
                {"timestamp 1\ncpu0 1 2 3 4 5 6 7 8 9\n", -EBADMSG},
                {"version 14\ncpu0 1 2 3 4 5 6 7 8 9 10 11 12\n", -EPROTONOSUPPORT},
                {"version 17\ncpu0 1 2 3 4 5 6 7 8\n", -EBADMSG},
                {"version 17\ncpu0 1 2 3 4 5 6 7 8 x\n", -EBADMSG},
                {"version 17\ncpu99999999 1 2 3 4 5 6 7 8 9\n", -EBADMSG},
                {"version 17\ncpu0 1 2 3 4 5 6 7 8 99999999999999999999999\n", -EBADMSG},
                {"version 17\ncpux 1 2 3 4 5 6 7 8 9\n", -EBADMSG},
                {"version 17\n", 0},
                {"version 17\ncpu3 1 2 3 4 5 6 7 8 9 10\ndomain0 f 1\n", 0},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                v = NULL;
                int r = cpustat_parse_schedstat_buf(t[i].text, strlen(t[i].text), &v, &n);
                ck_assert_msg(r == t[i].r, "case %zu: %d", i, r);
                free(v);
        }
}
END_TEST

START_TEST(test_sample_rates) {
        _cleanup_(dirfd_closep) int root = open_root(fixture_path("host-irq"));
        CpuSample a, b;

        ck_assert_int_eq(cpustat_sample(root, &a), 0);
        ck_assert_int_eq(cpustat_sample(root, &b), 0);
        ck_assert_int_eq(a.irqs_error, 0);
        ck_assert_int_eq(a.switches_error, 0);
        ck_assert_uint_eq(a.n_switches, 4);
        ck_assert_uint_eq(a.switches[3], 103000);
        /* Two seconds apart, with traffic on CPU 3 in between. */
        b.usec = a.usec + 2000000;
        for (size_t i = 0; i < b.irqs->n_rows; i++) {
                IrqRow *r = &b.irqs->rows[i];
                if (r->numbered && r->irq == 29)
                        r->counts[3] += 500;
                if (!r->numbered && strcmp(r->name, "LOC") == 0)
                        r->counts[3] += 2000;
        }
        b.switches[3] += 4000;
        ck_assert(cpustat_kind_rate(&a, &b, 3, IRQ_KIND_DEVICE) == 250.0);
        ck_assert(cpustat_kind_rate(&a, &b, 3, IRQ_KIND_TIMER) == 1000.0);
        ck_assert(cpustat_kind_rate(&a, &b, 2, IRQ_KIND_DEVICE) == 0.0);
        ck_assert(cpustat_irq_total_rate(&a, &b, 3) == 1250.0);
        ck_assert(cpustat_switch_rate(&a, &b, 3) == 2000.0);
        ck_assert(cpustat_switch_rate(&a, &b, 9) < 0);
        ck_assert(cpustat_kind_rate(&a, &b, 9, IRQ_KIND_DEVICE) < 0);
        ck_assert_uint_eq(cpustat_irq_delta(&a, &b, 29, 3), 500);
        ck_assert_uint_eq(cpustat_irq_delta(&a, &b, 29, 0), 0);
        /* A counter that went back (a CPU that came back) counts from zero. */
        b.switches[3] = 10;
        ck_assert(cpustat_switch_rate(&a, &b, 3) == 5.0);
        /* No time between them: unknown. */
        b.usec = a.usec;
        ck_assert(cpustat_switch_rate(&a, &b, 3) < 0);
        cpustat_sample_done(&a);
        cpustat_sample_done(&b);
}
END_TEST

START_TEST(test_sample_without_schedstat) {
        _cleanup_(dirfd_closep) int root = open_root(fixture_path("host-2cpu"));
        CpuSample a;

        ck_assert_int_eq(cpustat_sample(root, &a), 0);
        ck_assert_int_eq(a.switches_error, -ENOENT);
        ck_assert_int_eq(a.irqs_error, -ENOENT);
        ck_assert_ptr_null(a.switches);
        cpustat_sample_done(&a);
}
END_TEST

extern Suite *irq_suite(void);
Suite *irq_suite(void) {
        Suite *s = suite_create("irq");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_fixture_x86);
        tcase_add_test(tc, test_arm64);
        tcase_add_test(tc, test_odd_columns);
        tcase_add_test(tc, test_hostile_interrupts);
        tcase_add_test(tc, test_long_actions);
        tcase_add_test(tc, test_affinity_files);
        tcase_add_test(tc, test_default_mask_text);
        tcase_add_test(tc, test_errno_sorting);
        tcase_add_test(tc, test_writes);
        tcase_add_test(tc, test_confined);
        tcase_add_test(tc, test_workqueues);
        tcase_add_test(tc, test_wq_names);
        tcase_add_test(tc, test_wq_write);
        tcase_add_test(tc, test_schedstat);
        tcase_add_test(tc, test_sample_rates);
        tcase_add_test(tc, test_sample_without_schedstat);
        suite_add_tcase(s, tc);
        return s;
}
