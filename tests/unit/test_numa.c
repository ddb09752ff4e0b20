/* SPDX-License-Identifier: MIT */
/* kernel/numa.c and kernel/pagemove.c: numa_maps and maps parsed from the
 * two- and four-node fixtures and from hostile text, the locality figure,
 * the nodes of a set of CPUs, where pages go; and the real syscalls on this
 * machine (move_pages on our own pages, set_mempolicy on this thread). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kernel/host.h"
#include "kernel/numa.h"
#include "kernel/pagemove.h"
#include "kernel/procfs.h"
#include "lib/output.h"
#include "lib/util.h"
#include "testutil.h"

static CpuSet *set_of(const char *list) {
        CpuSet *s = NULL;
        CpuSetError err;
        ck_assert_int_eq(cpuset_parse_list(list, &s, &err), 0);
        return s;
}

static void assert_set(const CpuSet *s, const char *expected) {
        _cleanup_(freep) char *f = cpuset_format_list(s);
        ck_assert_ptr_nonnull(f);
        ck_assert_str_eq(f, expected);
}

/* The maps of a fixture process, through the proc handle as the daemon reads them. */
static int read_fixture_maps(const char *fixture, pid_t pid, NumaMaps *ret) {
        _cleanup_(host_freep) Host *h = fixture_load_host(fixture);
        int procfd = host_open_proc(h);
        ck_assert_int_ge(procfd, 0);
        int r = numa_read_maps(procfd, pid, ret);
        dirfd_close(procfd);
        return r;
}

/* ---- nodes ---- */

static const struct {
        const char *fixture, *cpus, *nodes;
} nodes_of[] = {
        {"host-numa2", "4-5", "1"},    {"host-numa2", "3-4", "0-1"},  {"host-numa2", "0", "0"},
        {"host-numa2", "", ""},        {"host-numa2", "8-100", ""},   {"host-numa4", "8-15", "2-3"},
        {"host-numa4", "1,13", "0,3"}, {"host-numa4", "0-15", "0-3"}, {"host-2cpu", "0-1", "0"},
        {"host-4096", "4095", "7"},    {"host-far64", "32", "0"},     {"host-far64", "16,48", "1"},
};

START_TEST(test_nodes_of_cpus) {
        _cleanup_(host_freep) Host *h = fixture_load_host(nodes_of[_i].fixture);
        _cleanup_(cpuset_freep) CpuSet *cpus = set_of(nodes_of[_i].cpus), *nodes = NULL;
        ck_assert_int_eq(numa_nodes_of_cpus(h, cpus, &nodes), 0);
        assert_set(nodes, nodes_of[_i].nodes);
}
END_TEST

START_TEST(test_node_count) {
        static const struct {
                const char *fixture;
                unsigned n;
                const char *cpu_nodes;
        } t[] = {{"host-numa2", 2, "0-1"},
                 {"host-numa4", 4, "0-3"},
                 {"host-2cpu", 1, "0"},
                 {"host-4096", 8, "0-7"}};
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_(host_freep) Host *h = fixture_load_host(t[i].fixture);
                _cleanup_(cpuset_freep) CpuSet *all = NULL;
                ck_assert_uint_eq(numa_node_count(h), t[i].n);
                ck_assert_int_eq(numa_cpu_nodes(h, &all), 0);
                assert_set(all, t[i].cpu_nodes);
        }
        /* A memory-only node (no CPUs) counts as a node but has no CPU. */
        static const char *const files[] = {"sys/devices/system/cpu/possible",
                                            "0-3\n",
                                            "sys/devices/system/cpu/online",
                                            "0-3\n",
                                            "sys/devices/system/node/node0/cpulist",
                                            "0-3\n",
                                            "sys/devices/system/node/node2/cpulist",
                                            "\n",
                                            "proc/self/mountinfo",
                                            "",
                                            NULL};
        _cleanup_(fake_tree_free) char *dir = fake_tree_make(files);
        Host *h = NULL;
        _cleanup_(freep) char *error = NULL;
        ck_assert_int_eq(host_load(dir, &h, &error), 0);
        _cleanup_(cpuset_freep) CpuSet *all = NULL;
        ck_assert_uint_eq(numa_node_count(h), 2);
        ck_assert_int_eq(numa_cpu_nodes(h, &all), 0);
        assert_set(all, "0");
        host_free(h);
}
END_TEST

/* ---- numa_maps ---- */

START_TEST(test_maps_fixture_postgres) {
        _cleanup_(numa_maps_done) NumaMaps m = {0};
        _cleanup_(numa_usage_done) NumaUsage u = {0};
        ck_assert_int_eq(read_fixture_maps("host-numa2", 4000, &m), 0);
        ck_assert_uint_eq(m.n_vmas, 6);
        ck_assert_uint_eq(m.n_bad, 0);
        ck_assert_uint_eq(m.vmas[0].start, 0x55d1c2a00000ull);
        ck_assert_int_eq(m.vmas[0].kind, NUMA_VMA_FILE);
        ck_assert_uint_eq(m.vmas[0].mapped, 1200);
        ck_assert_uint_eq(m.vmas[0].mapmax, 9);
        ck_assert(m.vmas[0].policy_default);
        ck_assert_int_eq(m.vmas[1].kind, NUMA_VMA_HEAP);
        ck_assert_uint_eq(m.vmas[1].anon, 2048);
        ck_assert_uint_eq(m.vmas[1].dirty, 2048);
        /* "file=/dev/zero\040(deleted)": the kernel's escape keeps it one token. */
        ck_assert_int_eq(m.vmas[2].kind, NUMA_VMA_FILE);
        ck_assert_uint_eq(m.vmas[2].n_nodes, 2);
        ck_assert_uint_eq(m.pages[m.vmas[2].first + 1].node, 1);
        ck_assert_uint_eq(m.pages[m.vmas[2].first + 1].pages, 2048);
        /* A line without pages: no page size, nothing resident. */
        ck_assert_int_eq(m.vmas[4].kind, NUMA_VMA_OTHER);
        ck_assert_uint_eq(m.vmas[4].n_nodes, 0);
        ck_assert_uint_eq(m.vmas[4].page_kb, 0);
        ck_assert_int_eq(m.vmas[5].kind, NUMA_VMA_STACK);

        ck_assert_int_eq(numa_usage(&m, &u), 0);
        ck_assert_uint_eq(u.n, 2);
        ck_assert_uint_eq(u.total_kb, (1200 + 2048 + 32768 + 400 + 33) * 4);
        ck_assert_uint_eq(u.kb[1], (2048 + 100) * 4);
        ck_assert_uint_eq(u.file_kb, (1200 + 32768 + 400) * 4);
        ck_assert_uint_eq(u.anon_kb, (2048 + 33) * 4);
        _cleanup_(cpuset_freep) CpuSet *n1 = set_of("1"), *n0 = set_of("0"), *both = set_of("0-1");
        ck_assert_int_eq(numa_locality_permille(&u, n1), 58); /* 8,592 of 145,796 KiB */
        ck_assert_int_eq(numa_locality_permille(&u, n0), 941);
        ck_assert_int_eq(numa_locality_permille(&u, both), 1000);
        _cleanup_(numa_usage_done) NumaUsage copy = {0};
        ck_assert_int_eq(numa_usage_copy(&u, &copy), 0);
        ck_assert_ptr_ne(copy.kb, u.kb);
        ck_assert_uint_eq(copy.total_kb, u.total_kb);
        ck_assert_int_eq(numa_locality_permille(&copy, n1), 58);
        _cleanup_(freep) char *f = numa_locality_format(&u, n1), *by = numa_usage_format(&u);
        ck_assert_str_eq(f, "5% of 142 MiB on node 1");
        ck_assert_str_eq(by, "node 0: 134 MiB, node 1: 8.4 MiB");
}
END_TEST

/* Huge pages weigh their size: 256 pages of 2 MiB are 512 MiB. */
START_TEST(test_maps_fixture_vm) {
        _cleanup_(numa_maps_done) NumaMaps m = {0};
        _cleanup_(numa_usage_done) NumaUsage u = {0};
        ck_assert_int_eq(read_fixture_maps("host-numa2", 4100, &m), 0);
        ck_assert_uint_eq(m.n_vmas, 4);
        ck_assert(m.vmas[2].huge);
        ck_assert(!m.vmas[2].policy_default); /* bind:1 */
        ck_assert_uint_eq(m.vmas[2].page_kb, 2048);
        ck_assert_int_eq(numa_usage(&m, &u), 0);
        ck_assert_uint_eq(u.huge_kb, 512 * 1024);
        ck_assert_uint_eq(u.total_kb, (2000 + 262144 + 40) * 4 + 512 * 1024);
        _cleanup_(cpuset_freep) CpuSet *n1 = set_of("1");
        ck_assert_int_eq(numa_locality_permille(&u, n1), 497);
        _cleanup_(freep) char *f = numa_locality_format(&u, n1);
        ck_assert_str_eq(f, "49% of 1.5 GiB on node 1");
}
END_TEST

START_TEST(test_maps_fixture_four_nodes) {
        _cleanup_(numa_maps_done) NumaMaps m = {0};
        _cleanup_(numa_usage_done) NumaUsage u = {0};
        ck_assert_int_eq(read_fixture_maps("host-numa4", 5000, &m), 0);
        ck_assert_int_eq(numa_usage(&m, &u), 0);
        ck_assert_uint_eq(u.n, 4);
        _cleanup_(cpuset_freep) CpuSet *n2 = set_of("2"), *n23 = set_of("2-3"), *n9 = set_of("9");
        ck_assert_int_eq(numa_locality_permille(&u, n2), 250);
        ck_assert_int_eq(numa_locality_permille(&u, n23), 500);
        ck_assert_int_eq(numa_locality_permille(&u, n9), 0);
        _cleanup_(freep) char *f = numa_locality_format(&u, n23);
        ck_assert_str_eq(f, "50% of 15.6 MiB on nodes 2-3");

        /* Nothing resident: no figure. */
        _cleanup_(numa_maps_done) NumaMaps idle = {0};
        _cleanup_(numa_usage_done) NumaUsage ui = {0};
        ck_assert_int_eq(read_fixture_maps("host-numa4", 5200, &idle), 0);
        ck_assert_uint_eq(idle.n_vmas, 2);
        ck_assert_int_eq(numa_usage(&idle, &ui), 0);
        ck_assert_int_eq(numa_locality_permille(&ui, n2), -1);
        _cleanup_(freep) char *fi = numa_locality_format(&ui, n2), *bi = numa_usage_format(&ui);
        ck_assert_str_eq(fi, "no resident memory");
        ck_assert_str_eq(bi, "none");
}
END_TEST

/* Garbage among good lines: the good ones count, the rest are skipped. */
START_TEST(test_maps_fixture_garbage) {
        _cleanup_(numa_maps_done) NumaMaps m = {0};
        _cleanup_(numa_usage_done) NumaUsage u = {0};
        ck_assert_int_eq(read_fixture_maps("host-numa2", 4200, &m), 0);
        ck_assert_uint_eq(m.n_vmas, 2);
        ck_assert_uint_eq(m.n_bad, 5);
        ck_assert_uint_eq(m.vmas[0].start, 0x55e0);
        ck_assert_uint_eq(m.vmas[1].start, 0x7f20);
        ck_assert(!m.vmas[1].policy_default); /* "prefer (many):0-1" */
        ck_assert_uint_eq(m.vmas[1].anon, 7);
        ck_assert_int_eq(numa_usage(&m, &u), 0);
        ck_assert_uint_eq(u.total_kb, 17 * 4);
        /* Nothing from a bad line leaked into the node entries. */
        ck_assert_uint_eq(m.n_pages, 2);
}
END_TEST

static const struct {
        const char *text;
        int r;
        size_t n_vmas, n_bad;
        uint64_t total_kb;
} hostile[] = {
        {"", 0, 0, 0, 0},
        {"\n\n\n", 0, 0, 0, 0},
        {"garbage\n", -EBADMSG, 0, 0, 0},
        {"zzzz default\nyyyy default\n", -EBADMSG, 0, 0, 0},
        {"1000\n", 0 - EBADMSG, 0, 0, 0}, /* no policy */
        {"1000 default\n", 0, 1, 0, 0},
        {"1000 default N0=1 kernelpagesize_kB=4", 0, 1, 0, 4}, /* no trailing newline */
        {"1000 default N0=18446744073709551616 kernelpagesize_kB=4\n", -EBADMSG, 0, 0, 0},
        {"1000 default N0=1 kernelpagesize_kB=0\n", -EBADMSG, 0, 0, 0},
        {"1000 default N0=-1 kernelpagesize_kB=4\n", -EBADMSG, 0, 0, 0},
        {"1000 default N4096=1 kernelpagesize_kB=4\n", -EBADMSG, 0, 0, 0},
        {"1000 default N4095=1 kernelpagesize_kB=4\n", 0, 1, 0, 4},
        {"1000 default N=1 kernelpagesize_kB=4\n", 0, 1, 0, 0}, /* not a node key: ignored */
        {"1000 default Nx=1 kernelpagesize_kB=4\n", 0, 1, 0, 0},
        {"10000000000000000 default N0=1 kernelpagesize_kB=4\n", -EBADMSG, 0, 0, 0}, /* 17 hex digits */
        {"1000 default anon=1 future_key=7 N0=1 kernelpagesize_kB=4 newflag\n", 0, 1, 0, 4},
        {"1000 default anon=x N0=1 kernelpagesize_kB=4\n1000 default N0=2 kernelpagesize_kB=4\n", 0, 1, 1, 8},
        {"1000\tdefault\tN1=3\tkernelpagesize_kB=4\n", 0, 1, 0, 12},
        {"1000 default N0=1 N0=1 kernelpagesize_kB=4\n", 0, 1, 0, 8}, /* as written */
        {"1000 default\x01 N0=1 kernelpagesize_kB=4\n", 0, 1, 0, 4},
        {"1000 default N0=1\xff kernelpagesize_kB=4\n", -EBADMSG, 0, 0, 0},
        {"1000 default N0=1 kernelpagesize_kB=4\n\x00zz default\n", 0, 1, 1, 4}, /* a NUL is a bad byte */
};

START_TEST(test_maps_hostile) {
        const char *text = hostile[_i].text;
        size_t len = strlen(text);
        if (_i == (int) ELEMENTSOF(hostile) - 1)
                len += 1 + strlen(text + len + 1);
        NumaMaps m = {.n_bad = 777};
        int r = numa_parse_maps_buf(text, len, &m);
        ck_assert_msg(r == hostile[_i].r, "case %d: r=%d", _i, r);
        if (r < 0) {
                ck_assert_uint_eq(m.n_bad, 777); /* untouched on failure */
                return;
        }
        _cleanup_(numa_usage_done) NumaUsage u = {0};
        ck_assert_uint_eq(m.n_vmas, hostile[_i].n_vmas);
        ck_assert_uint_eq(m.n_bad, hostile[_i].n_bad);
        ck_assert_int_eq(numa_usage(&m, &u), 0);
        ck_assert_uint_eq(u.total_kb, hostile[_i].total_kb);
        numa_maps_done(&m);
}
END_TEST

/* A line far longer than any the kernel writes, and many lines. */
START_TEST(test_maps_big) {
        size_t n = 100000;
        OutBuf o = OUTBUF_INIT;
        for (size_t i = 0; i < n; i++)
                outbuf_printf(&o, "%zx default anon=1 N%zu=1 kernelpagesize_kB=4\n", 0x1000 + i * 0x1000,
                              i % 4);
        outbuf_puts(&o, "1000 default ");
        for (int i = 0; i < 10000; i++)
                outbuf_puts(&o, "N1=1 ");
        outbuf_puts(&o, "kernelpagesize_kB=4\n");
        _cleanup_(numa_maps_done) NumaMaps m = {0};
        _cleanup_(numa_usage_done) NumaUsage u = {0};
        ck_assert_int_eq(numa_parse_maps_buf(outbuf_str(&o), strlen(outbuf_str(&o)), &m), 0);
        ck_assert_uint_eq(m.n_vmas, n + 1);
        ck_assert_int_eq(numa_usage(&m, &u), 0);
        ck_assert_uint_eq(u.total_kb, (n + 10000) * 4);
        ck_assert_uint_eq(u.kb[1], (n / 4 + 10000) * 4);
        outbuf_done(&o);
}
END_TEST

START_TEST(test_format_kb) {
        static const struct {
                uint64_t kb;
                const char *s;
        } t[] = {{0, "0 KiB"},        {12, "12 KiB"},     {1023, "1023 KiB"},
                 {1024, "1 MiB"},     {1536, "1.5 MiB"},  {102400, "100 MiB"},
                 {262144, "256 MiB"}, {1048576, "1 GiB"}, {UINT64_MAX, "16777216 PiB"}};
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                char buf[32];
                numa_format_kb(t[i].kb, buf, sizeof buf);
                ck_assert_str_eq(buf, t[i].s);
        }
}
END_TEST

/* ---- maps: the ranges to move ---- */

START_TEST(test_ranges_fixture) {
        _cleanup_(host_freep) Host *h = fixture_load_host("host-numa2");
        int procfd = host_open_proc(h);
        _cleanup_(freep) NumaRange *v = NULL;
        size_t n = 0;
        ck_assert_int_eq(numa_read_ranges(procfd, 4000, &v, &n), 0);
        /* The binary, heap, shared buffers, libc, stack; not the guard page,
         * [vvar], [vdso] or [vsyscall]. */
        ck_assert_uint_eq(n, 5);
        ck_assert_uint_eq(v[0].start, 0x55d1c2a00000ull);
        ck_assert_uint_eq(v[0].end, 0x55d1c2f00000ull);
        ck_assert(!v[0].shared_write);
        ck_assert(v[2].shared_write);
        ck_assert_uint_eq(v[4].start, 0x7ffd1c000000ull);
        free(TAKE_PTR(v));
        ck_assert_int_eq(numa_read_ranges(procfd, 4200, &v, &n), -EBADMSG);
        ck_assert_int_eq(numa_read_ranges(procfd, 99999, &v, &n), -ESRCH);
        NumaMaps m;
        ck_assert_int_eq(numa_read_maps(procfd, 99999, &m), -ESRCH);
        ck_assert_int_eq(numa_read_maps(procfd, 0, &m), -EINVAL);
        dirfd_close(procfd);
}
END_TEST

static const struct {
        const char *line;
        int r;
        size_t n;
} range_lines[] = {
        {"1000-2000 rw-p 00000000 00:00 0\n", 0, 1},
        {"1000-2000 rw-p 00000000 00:00 0 [anon:jemalloc]\n", 0, 1},
        {"1000-2000 rw-s 00000000 00:01 7 /memfd:pc.ram (deleted)\n", 0, 1},
        {"1000-2000 ---p 00000000 00:00 0\n", 0, 0},
        {"1000-2000 r--p 00000000 00:00 0 [vvar_vclock]\n", 0, 0},
        {"1000-2000 r-xp 00000000 00:00 0 [uprobes]\n", 0, 0},
        {"2000-1000 rw-p 00000000 00:00 0\n", -EBADMSG, 0},
        {"1000-1000 rw-p 00000000 00:00 0\n", -EBADMSG, 0},
        {"1000 rw-p 00000000 00:00 0\n", -EBADMSG, 0},
        {"1000-2000\n", -EBADMSG, 0},
        {"1000-2000 rwzp 00000000 00:00 0\n", -EBADMSG, 0},
        {"1000-2000 rw-p\n", -EBADMSG, 0},
        {"1000-2000 rw-p 0 00:00\n", -EBADMSG, 0},
        {"g000-2000 rw-p 00000000 00:00 0\n", -EBADMSG, 0},
        {"1000-20000000000000000 rw-p 00000000 00:00 0\n", -EBADMSG, 0},
        {"", 0, 0},
};

START_TEST(test_ranges_hostile) {
        _cleanup_(freep) NumaRange *v = NULL;
        size_t n = 99;
        int r = numa_parse_ranges_buf(range_lines[_i].line, strlen(range_lines[_i].line), &v, &n);
        ck_assert_msg(r == range_lines[_i].r, "case %d: r=%d", _i, r);
        if (r == 0)
                ck_assert_uint_eq(n, range_lines[_i].n);
        else
                ck_assert_uint_eq(n, 99);
}
END_TEST

/* maps read a piece at a time: the ranges of every piece together are the
 * file's, whatever line a piece ends inside; a line a piece cannot hold
 * is garbage. */
START_TEST(test_ranges_pieces) {
        size_t cap = 1 << 20, len = 0;
        _cleanup_(freep) char *text = malloc(cap);
        _cleanup_(fake_tree_free) char *dir = NULL;
        _cleanup_(freep) NumaRange *whole = NULL, *piece = NULL, *all = NULL;
        size_t n_whole = 0, n_piece = 0, n_all = 0;
        unsigned pieces = 0;
        NumaRangeReader rd = NUMA_RANGE_READER_INIT;
        int r;

        ck_assert_ptr_nonnull(text);
        for (unsigned i = 0; i < 5000; i++)
                len += (size_t) snprintf(text + len, cap - len, "%x000-%x000 %s 00000000 00:00 0 %s\n",
                                         0x1000 + 2 * i, 0x1001 + 2 * i, i % 7 ? "rw-p" : "---p",
                                         i % 11 == 0 ? "[anon:a-longer-name-for-some-lines]" : "");
        /* The last line has no newline. */
        len += (size_t) snprintf(text + len, cap - len, "ffff0000-ffff1000 rw-s 00000000 00:01 7 /memfd:x");
        ck_assert_int_eq(numa_parse_ranges_buf(text, len, &whole, &n_whole), 0);
        ck_assert_uint_gt(n_whole, 4000);

        const char *files[] = {"77/maps", text, "78/maps", NULL, NULL};
        char *big = malloc(2 * NUMA_PIECE + 200);
        ck_assert_ptr_nonnull(big);
        int k = snprintf(big, 64, "1000-2000 rw-p 00000000 00:00 0 /");
        memset(big + k, 'x', 2 * NUMA_PIECE + 100);
        big[k + 2 * NUMA_PIECE + 100] = 0;
        files[3] = big;
        dir = fake_tree_make(files);
        free(big);
        int procfd = dirfd_open_root(dir);
        ck_assert_int_ge(procfd, 0);

        ck_assert_int_eq(numa_range_reader_open(procfd, 77, &rd), 0);
        do {
                r = numa_range_reader_next(&rd, &piece, &n_piece);
                ck_assert_int_ge(r, 0);
                pieces++;
                all = realloc(all, (n_all + n_piece + 1) * sizeof *all);
                ck_assert_ptr_nonnull(all);
                memcpy(all + n_all, piece, n_piece * sizeof *piece);
                n_all += n_piece;
        } while (r > 0);
        ck_assert_int_eq(rd.fd, -1); /* closed at the end */
        ck_assert_uint_ge(pieces, len / NUMA_PIECE);
        ck_assert_uint_eq(n_all, n_whole);
        for (size_t i = 0; i < n_all; i++) /* field by field: the padding is not set */
                ck_assert_msg(all[i].start == whole[i].start && all[i].end == whole[i].end &&
                                      all[i].shared_write == whole[i].shared_write,
                              "range %zu differs", i);
        ck_assert(all[n_all - 1].shared_write);

        /* The same through numa_read_ranges. */
        free(TAKE_PTR(all));
        ck_assert_int_eq(numa_read_ranges(procfd, 77, &all, &n_all), 0);
        ck_assert_uint_eq(n_all, n_whole);

        ck_assert_int_eq(numa_range_reader_open(procfd, 78, &rd), 0);
        while ((r = numa_range_reader_next(&rd, &piece, &n_piece)) > 0)
                ;
        ck_assert_int_eq(r, -EBADMSG);
        numa_range_reader_done(&rd);
        ck_assert_int_eq(numa_range_reader_open(procfd, 79, &rd), -ESRCH);
        ck_assert_int_eq(rd.fd, -1);
        dirfd_close(procfd);
}
END_TEST

/* numa_maps read a piece at a time adds up to the usage of the whole file;
 * a file of garbage alone is -EBADMSG, garbage among good lines is not. */
START_TEST(test_usage_pieces) {
        OutBuf o = OUTBUF_INIT;
        _cleanup_(fake_tree_free) char *dir = NULL;
        _cleanup_(numa_maps_done) NumaMaps m = {0};
        _cleanup_(numa_usage_done) NumaUsage whole = {0}, got = {0};
        NumaUsageReader rd = NUMA_USAGE_READER_INIT;
        unsigned pieces = 0;
        int r;

        for (size_t i = 0; i < 20000; i++)
                outbuf_printf(&o, "%zx %s anon=%zu N%zu=%zu kernelpagesize_kB=4%s\n", 0x1000 + i * 0x1000,
                              i % 5 ? "default" : "prefer (many):0-1", i % 9, i % 4, i % 9,
                              i % 13 ? "" : " file=/usr/lib/x86_64-linux-gnu/libc.so.6 mapped=3");
        outbuf_puts(&o, "not a numa_maps line\n7f00 default huge anon=2 N1=2 kernelpagesize_kB=2048");
        ck_assert_int_eq(numa_parse_maps_buf(outbuf_str(&o), strlen(outbuf_str(&o)), &m), 0);
        ck_assert_int_eq(numa_usage(&m, &whole), 0);

        const char *files[] = {"90/numa_maps", outbuf_str(&o), "91/numa_maps", "garbage\nand more\n", NULL};
        dir = fake_tree_make(files);
        int procfd = dirfd_open_root(dir);
        ck_assert_int_ge(procfd, 0);
        ck_assert_int_eq(numa_usage_reader_open(procfd, 90, &rd), 0);
        while ((r = numa_usage_reader_next(&rd, &got)) > 0)
                pieces++;
        ck_assert_int_eq(r, 0);
        ck_assert_uint_ge(pieces, strlen(outbuf_str(&o)) / NUMA_PIECE);
        ck_assert_int_eq(rd.p.fd, -1);
        ck_assert_uint_eq(got.total_kb, whole.total_kb);
        ck_assert_uint_eq(got.anon_kb, whole.anon_kb);
        ck_assert_uint_eq(got.file_kb, whole.file_kb);
        ck_assert_uint_eq(got.huge_kb, whole.huge_kb);
        ck_assert_uint_eq(got.n, whole.n);
        for (unsigned i = 0; i < got.n; i++)
                ck_assert_uint_eq(got.kb[i], whole.kb[i]);
        ck_assert_uint_gt(got.huge_kb, 0);

        ck_assert_int_eq(numa_usage_reader_open(procfd, 91, &rd), 0);
        ck_assert_int_eq(numa_usage_reader_next(&rd, &got), -EBADMSG);
        numa_usage_reader_done(&rd);
        ck_assert_int_eq(numa_usage_reader_open(procfd, 92, &rd), -ESRCH);
        dirfd_close(procfd);
        outbuf_done(&o);
}
END_TEST

/* ---- mems allowed ---- */

START_TEST(test_mems_allowed) {
        _cleanup_(host_freep) Host *h = fixture_load_host("host-numa2");
        int procfd = host_open_proc(h);
        _cleanup_(cpuset_freep) CpuSet *a = NULL, *b = NULL, *c = NULL;
        ck_assert_int_eq(numa_read_mems_allowed(procfd, 4000, &a), 0);
        assert_set(a, "0-1");
        ck_assert_int_eq(numa_read_mems_allowed(procfd, 4300, &b), 0);
        assert_set(b, "0");
        dirfd_close(procfd);
        ck_assert_int_eq(numa_parse_mems_allowed_buf("Name:\tx\nMems_allowed_list:\t0-3,8\n", &c), 0);
        assert_set(c, "0-3,8");
        CpuSet *d = NULL;
        ck_assert_int_eq(numa_parse_mems_allowed_buf("Name:\tx\n", &d), -ENOENT);
        ck_assert_int_eq(numa_parse_mems_allowed_buf("Mems_allowed_list:\tjunk\n", &d), -EBADMSG);
        ck_assert_int_eq(numa_parse_mems_allowed_buf("Mems_allowed_list:\t99999999\n", &d), -EBADMSG);
        ck_assert_int_eq(numa_parse_mems_allowed_buf("", &d), -ENOENT);
        ck_assert_ptr_null(d);
        /* A key that only starts the same way is not the line. */
        ck_assert_int_eq(numa_parse_mems_allowed_buf("Mems_allowed:\t1\n", &d), -ENOENT);
}
END_TEST

/* ---- where pages go ---- */

START_TEST(test_targets) {
        static const int one[] = {1}, two[] = {0, 1}, far[] = {2, 3};
        const PageTargets follow1 = {one, 1, false}, inter2 = {two, 2, true}, follow23 = {far, 2, false},
                          none = {NULL, 0, false};
        const uint64_t S = 1ull << PAGEMOVE_STRIPE_SHIFT;
        static const struct {
                int t; /* 0 follow1, 1 inter2, 2 follow23, 3 none */
                uint64_t addr;
                int current, want;
        } t[] = {
                {0, 0, 0, 1},         {0, 0, 1, -1},    {0, 4096, 2, 1},  {0, 0, -ENOENT, -1},
                {0, 0, -EFAULT, -1},  {1, 0, 1, 0},     {1, 0, 0, -1},    {1, S, 0, 1},
                {1, S + 4096, 1, -1}, {1, 2 * S, 1, 0}, {2, 0, 0, 2},     {2, S, 0, 3},
                {2, 0, 3, -1},        {2, S, 2, -1},    {2, 5 * S, 1, 3}, {3, 0, 0, -1},
        };
        const PageTargets *tg[] = {&follow1, &inter2, &follow23, &none};
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                ck_assert_msg(pagemove_target(tg[t[i].t], t[i].addr, t[i].current) == t[i].want, "case %zu",
                              i);
}
END_TEST

START_TEST(test_count_status) {
        PageMoveStats s = {.resident = 10};
        pagemove_count_status(&s, 1, 1);
        pagemove_count_status(&s, 0, 1); /* elsewhere without a reason */
        pagemove_count_status(&s, -EACCES, 1);
        pagemove_count_status(&s, -EBUSY, 1);
        pagemove_count_status(&s, -EAGAIN, 1);
        pagemove_count_status(&s, -ENOMEM, 1);
        pagemove_count_status(&s, -EIO, 1);
        pagemove_count_status(&s, -ENOENT, 1);
        pagemove_count_status(&s, -EFAULT, 1);
        ck_assert_uint_eq(s.moved, 1);
        ck_assert_uint_eq(s.shared, 1);
        ck_assert_uint_eq(s.busy, 2);
        ck_assert_uint_eq(s.no_memory, 1);
        ck_assert_uint_eq(s.other, 2);
        ck_assert_int_eq(s.other_errno, EIO);
        ck_assert_uint_eq(s.resident, 8); /* two went away */
        ck_assert_uint_eq(pagemove_failed(&s), 6);
        _cleanup_(freep) char *f = pagemove_failed_format(&s);
        ck_assert_str_eq(
                f, "1 shared with other processes, 2 pinned or busy (DMA, locked, under I/O), 1 no free "
                   "memory on the target node, 2 refused (Input/output error)");
        PageMoveStats sum = {0};
        pagemove_stats_add(&sum, &s);
        pagemove_stats_add(&sum, &s);
        ck_assert_uint_eq(pagemove_failed(&sum), 12);
        PageMoveStats zero = {0};
        _cleanup_(freep) char *z = pagemove_failed_format(&zero);
        ck_assert_str_eq(z, "");
}
END_TEST

/* ---- the real kernel, on this machine ---- */

/* Our own pages, through move_pages(2) on our own pid: where they are is
 * where they stay when the target is their node. */
START_TEST(test_move_own_pages) {
        _cleanup_(host_freep) Host *h = NULL;
        _cleanup_(freep) char *error = NULL;
        ck_assert_int_eq(host_load("/", &h, &error), 0);
        size_t ps = (size_t) sysconf(_SC_PAGESIZE), n = 64;
        char *buf = mmap(NULL, n * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ck_assert(buf != MAP_FAILED);
        for (size_t i = 0; i < n; i += 2)
                buf[i * ps] = 1; /* every other page resident */
        PageMover pm = {0};
        PageMoveStats s = {0};
        /* Which node holds the first page? Ask with a target of every node. */
        int all[64], k = 0;
        for (unsigned i = 0; i < h->n_nodes && k < 64; i++)
                if (h->nodes[i])
                        all[k++] = (int) i;
        if (k == 0)
                all[k++] = 0; /* a kernel without NUMA: node 0 */
        PageTargets anywhere = {all, (unsigned) k, false};
        int r = pagemove_range(&pm, getpid(), (uint64_t) (uintptr_t) buf, n, ps, &anywhere, false, &s);
        if (r == -ENOSYS || r == -EPERM) {
                munmap(buf, n * ps);
                pagemover_done(&pm);
                return; /* no move_pages here (seccomp, a kernel without NUMA) */
        }
        ck_assert_int_eq(r, 0);
        ck_assert_uint_eq(s.looked, n);
        ck_assert_uint_eq(s.resident, n / 2);
        ck_assert_uint_eq(s.already, n / 2);
        ck_assert_uint_eq(s.moved, 0);
        ck_assert_uint_eq(pagemove_failed(&s), 0);
        if (numa_node_count(h) < 2) {
                /* A node that does not exist: refused whole, nothing counted as moved. */
                static const int absent[] = {1};
                PageTargets elsewhere = {absent, 1, false};
                PageMoveStats e = {0};
                r = pagemove_range(&pm, getpid(), (uint64_t) (uintptr_t) buf, n, ps, &elsewhere, false, &e);
                ck_assert_msg(r == -ENODEV || r == -EINVAL || r == -EACCES, "r=%d", r);
                ck_assert_uint_eq(e.moved, 0);
                ck_assert_uint_eq(e.resident, 0);
        }
        /* A process that is not there. */
        PageMoveStats g = {0};
        ck_assert_int_eq(
                pagemove_range(&pm, INT32_MAX, (uint64_t) (uintptr_t) buf, 4, ps, &anywhere, false, &g),
                -ESRCH);
        munmap(buf, n * ps);
        pagemover_done(&pm);
}
END_TEST

/* Our own numa_maps and maps through the real /proc. */
START_TEST(test_read_own_maps) {
        int procfd = dirfd_open_root("/proc");
        ck_assert_int_ge(procfd, 0);
        NumaMaps m = {0};
        int r = numa_read_maps(procfd, getpid(), &m);
        if (r == -ENOENT) { /* a kernel without NUMA has no numa_maps */
                dirfd_close(procfd);
                return;
        }
        ck_assert_int_eq(r, 0);
        ck_assert_uint_gt(m.n_vmas, 3);
        ck_assert_uint_eq(m.n_bad, 0);
        _cleanup_(numa_usage_done) NumaUsage u = {0};
        ck_assert_int_eq(numa_usage(&m, &u), 0);
        ck_assert_uint_gt(u.total_kb, 0);
        numa_maps_done(&m);
        _cleanup_(freep) NumaRange *v = NULL;
        size_t n = 0;
        ck_assert_int_eq(numa_read_ranges(procfd, getpid(), &v, &n), 0);
        ck_assert_uint_gt(n, 3);
        _cleanup_(cpuset_freep) CpuSet *mems = NULL;
        ck_assert_int_eq(numa_read_mems_allowed(procfd, getpid(), &mems), 0);
        ck_assert(cpuset_has(mems, 0));
        dirfd_close(procfd);
}
END_TEST

/* set_mempolicy on this thread (Check runs each test in its own process). */
START_TEST(test_policy) {
        _cleanup_(cpuset_freep) CpuSet *n0 = set_of("0"), *empty = set_of("");
        NumaPolicy p;
        CpuSet *got = NULL;
        int r = numa_set_policy(NUMA_POLICY_PREFERRED, n0);
        if (r == -ENOSYS)
                return; /* a kernel without NUMA */
        ck_assert_int_eq(r, 0);
        ck_assert_int_eq(numa_get_policy(&p, &got), 0);
        ck_assert_int_eq(p, NUMA_POLICY_PREFERRED);
        assert_set(got, "0");
        cpuset_free(TAKE_PTR(got));
        ck_assert_int_eq(numa_set_policy(NUMA_POLICY_INTERLEAVE, n0), 0);
        ck_assert_int_eq(numa_get_policy(&p, &got), 0);
        ck_assert_int_eq(p, NUMA_POLICY_INTERLEAVE);
        assert_set(got, "0");
        cpuset_free(TAKE_PTR(got));
        ck_assert_int_eq(numa_set_policy(NUMA_POLICY_PREFERRED, empty), -EINVAL);
        ck_assert_int_eq(numa_set_policy(NUMA_POLICY_PREFERRED, NULL), -EINVAL);
        ck_assert_int_eq(numa_set_policy(NUMA_POLICY_DEFAULT, NULL), 0);
        ck_assert_int_eq(numa_get_policy(&p, NULL), 0);
        ck_assert_int_eq(p, NUMA_POLICY_DEFAULT);
        ck_assert_str_eq(numa_policy_name(NUMA_POLICY_PREFERRED), "preferred");
        ck_assert_str_eq(numa_policy_name(NUMA_POLICY_INTERLEAVE), "interleave");
        ck_assert_str_eq(numa_policy_name(NUMA_POLICY_DEFAULT), "default");
        static const char *const names[] = {"default", "preferred", "interleave"};
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                ck_assert_int_eq(numa_policy_parse(names[i], &p), 0);
                ck_assert_str_eq(numa_policy_name(p), names[i]);
        }
        p = NUMA_POLICY_PREFERRED;
        static const char *const bad[] = {"", "bind", "Preferred", "preferred ", "interleave\n", NULL};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_int_eq(numa_policy_parse(bad[i], &p), -EINVAL);
        ck_assert_int_eq(p, NUMA_POLICY_PREFERRED); /* untouched */
}
END_TEST

Suite *numa_suite(void) {
        Suite *s = suite_create("numa");
        TCase *tc = tcase_create("numa");
        tcase_add_loop_test(tc, test_nodes_of_cpus, 0, (int) ELEMENTSOF(nodes_of));
        tcase_add_test(tc, test_node_count);
        tcase_add_test(tc, test_maps_fixture_postgres);
        tcase_add_test(tc, test_maps_fixture_vm);
        tcase_add_test(tc, test_maps_fixture_four_nodes);
        tcase_add_test(tc, test_maps_fixture_garbage);
        tcase_add_loop_test(tc, test_maps_hostile, 0, (int) ELEMENTSOF(hostile));
        tcase_add_test(tc, test_maps_big);
        tcase_add_test(tc, test_format_kb);
        tcase_add_test(tc, test_ranges_fixture);
        tcase_add_loop_test(tc, test_ranges_hostile, 0, (int) ELEMENTSOF(range_lines));
        tcase_add_test(tc, test_ranges_pieces);
        tcase_add_test(tc, test_usage_pieces);
        tcase_add_test(tc, test_mems_allowed);
        tcase_add_test(tc, test_targets);
        tcase_add_test(tc, test_count_status);
        tcase_add_test(tc, test_move_own_pages);
        tcase_add_test(tc, test_read_own_maps);
        tcase_add_test(tc, test_policy);
        suite_add_tcase(s, tc);
        return s;
}
