/* SPDX-License-Identifier: MIT */
/* Reads below a --root tree stay in the tree: a copy of a fixture whose
 * files are swapped for absolute and climbing symlinks to a secret outside
 * it (and to the host's own /sys and /proc). Nothing outside is read, and no
 * error quotes it; the real root keeps its one-openat() fast path. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/host.h"
#include "kernel/procfs.h"
#include "testutil.h"
#include "lib/util.h"

#define CPU "sys/devices/system/cpu/"
#define SECRET "SECRET-root:$6$not-a-cpulist:19000:0:99999:7:::"

typedef struct Trees {
        char root[64];    /* the --root copy */
        char secret[64];  /* a directory outside it */
        char shadow[128]; /* secret/shadow: must never be read */
} Trees;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void trees_start(Trees *t, const char *fixture) {
        _cleanup_(freep) char *cmd = NULL;
        FILE *f;

        snprintf(t->root, sizeof t->root, "/tmp/pinnerd-inroot-XXXXXX");
        snprintf(t->secret, sizeof t->secret, "/tmp/pinnerd-secret-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(t->root));
        ck_assert_ptr_nonnull(mkdtemp(t->secret));
        snprintf(t->shadow, sizeof t->shadow, "%s/shadow", t->secret);
        f = fopen(t->shadow, "we");
        ck_assert_ptr_nonnull(f);
        fputs(SECRET "\n", f);
        fclose(f);
        cmd = xasprintf("cp -a '%s'/. '%s'/", fixture_path(fixture), t->root);
        ck_assert_int_eq(system(cmd), 0);
}

static void trees_done(Trees *t) {
        nftw(t->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        nftw(t->secret, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Replace root/rel by a symlink to target. */
static void link_at(const Trees *t, const char *rel, const char *target) {
        _cleanup_(freep) char *p = xasprintf("%s/%s", t->root, rel);
        nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        ck_assert_msg(symlink(target, p) == 0, "symlink %s: %m", p);
}

static void write_at(const Trees *t, const char *rel, const char *content) {
        _cleanup_(freep) char *p = xasprintf("%s/%s", t->root, rel);
        FILE *f = fopen(p, "we");
        ck_assert_ptr_nonnull(f);
        fputs(content, f);
        fclose(f);
}

/* An absolute symlink to a shadow-like file: not followed out of the tree,
 * and its contents appear in no error. */
START_TEST(test_absolute_link_to_secret) {
        Trees t;
        Host *h = NULL;
        _cleanup_(freep) char *error = NULL;

        trees_start(&t, "host-2cpu");
        link_at(&t, CPU "online", t.shadow);
        int r = host_load(t.root, &h, &error);
        ck_assert_int_lt(r, 0);
        ck_assert_ptr_nonnull(error);
        ck_assert_msg(!strstr(error, "SECRET") && !strstr(error, "not-a-cpulist"),
                      "error quotes the secret: %s", error);
        ck_assert_msg(strstr(error, "online"), "error does not name the file: %s", error);
        ck_assert_int_eq(r, -ENOENT);
        trees_done(&t);
}
END_TEST

/* The same with a relative link that climbs out: ".." stops at the root. */
START_TEST(test_climbing_link_to_secret) {
        Trees t;
        Host *h = NULL;
        _cleanup_(freep) char *error = NULL, *target = NULL;

        trees_start(&t, "host-2cpu");
        target = xasprintf("../../../../../../../../../..%s", t.shadow);
        link_at(&t, CPU "online", target);
        ck_assert_int_lt(host_load(t.root, &h, &error), 0);
        ck_assert_msg(!strstr(error, "SECRET"), "error quotes the secret: %s", error);
        trees_done(&t);
}
END_TEST

/* An absolute link that names a path of the tree resolves in the tree, not
 * on the host: the tree says 0-7 where this machine's /sys says otherwise. */
START_TEST(test_absolute_link_stays_in_tree) {
        Trees t;
        _cleanup_(host_freep) Host *h = NULL;
        _cleanup_(freep) char *error = NULL, *online = NULL;

        trees_start(&t, "host-2cpu");
        write_at(&t, CPU "possible", "0-7\n");
        link_at(&t, CPU "online", "/" CPU "possible");
        ck_assert_msg(host_load(t.root, &h, &error) == 0, "%s", error);
        online = cpuset_format_list(h->online);
        ck_assert_str_eq(online, "0-7");
        ck_assert(dirfd_in_root(h->root));
        trees_done(&t);
}
END_TEST

/* A task's cgroup cpuset file that links out is absent, not the secret: the
 * parent's cpuset applies. */
START_TEST(test_cgroup_file_link) {
        Trees t;
        _cleanup_(host_freep) Host *h = NULL;
        _cleanup_(freep) char *error = NULL, *got = NULL;
        _cleanup_(task_cgroups_done) TaskCgroups c = {0};
        CpuSet *s = NULL;

        trees_start(&t, "host-2cpu");
        link_at(&t, "sys/fs/cgroup/cpuset/pinned/cpuset.effective_cpus", t.shadow);
        ck_assert_msg(host_load(t.root, &h, &error) == 0, "%s", error);
        ck_assert_int_eq(task_cgroups_parse_buf("5:cpuset:/pinned\n", &c), 0);
        ck_assert_int_eq(host_task_cpuset(h, &c, &s), 0);
        ck_assert_ptr_nonnull(s);
        got = cpuset_format_list(s);
        ck_assert_str_eq(got, "0-1");
        cpuset_free(s);
        trees_done(&t);
}
END_TEST

/* procfs through host_open_proc(): a cmdline that links to the secret, a
 * process directory that links to the host's /proc/1, an exe link below a
 * linked directory. */
START_TEST(test_procfs_links) {
        Trees t;
        _cleanup_(host_freep) Host *h = NULL;
        _cleanup_(freep) char *error = NULL, *cmdline = NULL, *exe = NULL;
        TaskStat st;

        trees_start(&t, "host-2cpu");
        link_at(&t, "proc/777/cmdline", t.shadow);
        link_at(&t, "proc/420", "/proc/1");
        ck_assert_msg(host_load(t.root, &h, &error) == 0, "%s", error);
        int procfd = host_open_proc(h);
        ck_assert_int_ge(procfd, 0);
        ck_assert(dirfd_in_root(procfd));

        int r = procfs_read_cmdline(procfd, 777, &cmdline);
        ck_assert_msg(r < 0 || !strstr(cmdline, "SECRET"), "read the secret through proc/777/cmdline");
        ck_assert_int_eq(r, -ESRCH);
        /* Below the proc handle "/" is the tree's proc/: proc/420 -> /proc/1
         * names proc/proc/1, which does not exist; never the host's pid 1. */
        ck_assert_int_eq(procfs_read_stat(procfd, 420, 420, &st), -ESRCH);
        ck_assert_int_eq(procfs_read_stat(procfd, 1, 1, &st), 0);
        ck_assert_str_eq(st.comm, "systemd");
        /* Listing and the unaffected process still work. */
        ck_assert_int_eq(procfs_read_stat(procfd, 2, 2, &st), 0);
        ck_assert_str_eq(st.comm, "kthreadd");
        r = procfs_read_exe(procfd, 777, &exe);
        ck_assert_int_eq(r, 0);
        ck_assert_ptr_nonnull(strstr(exe, "(deleted)"));
        dirfd_close(procfd);
        trees_done(&t);
}
END_TEST

/* The fallback for kernels without openat2: a walk that follows nothing. */
START_TEST(test_walk_fallback) {
        Trees t;
        char buf[256];
        int root, fd;

        trees_start(&t, "host-2cpu");
        link_at(&t, CPU "online", t.shadow);
        link_at(&t, "proc/777", "/proc/1");
        root = dirfd_open_root(t.root);
        ck_assert_int_ge(root, 0);
        ck_assert(dirfd_in_root(root));

        fd = dirfd_openat_walk(root, CPU "possible", O_RDONLY);
        ck_assert_int_ge(fd, 0);
        ssize_t n = read(fd, buf, sizeof buf - 1);
        ck_assert_int_gt(n, 0);
        close(fd);
        ck_assert_int_eq(dirfd_openat_walk(root, CPU "online", O_RDONLY), -ELOOP);
        ck_assert_int_eq(dirfd_openat_walk(root, "proc/777/stat", O_RDONLY), -ELOOP);
        ck_assert_int_eq(dirfd_openat_walk(root, "sys/../../etc/passwd", O_RDONLY), -ELOOP);
        ck_assert_int_eq(dirfd_openat_walk(root, "proc/2/nonexistent", O_RDONLY), -ENOENT);
        fd = dirfd_openat_walk(root, "proc//2/./stat", O_RDONLY);
        ck_assert_int_ge(fd, 0);
        close(fd);
        fd = dirfd_openat_walk(root, "proc/", O_RDONLY | O_DIRECTORY);
        ck_assert_int_ge(fd, 0);
        close(fd);
        dirfd_close(root);
        trees_done(&t);
}
END_TEST

/* The real root keeps plain fds (one openat() per file); a tagged handle is
 * useless to a raw syscall. */
START_TEST(test_real_root_fast_path) {
        int root = dirfd_open_root("/");
        char buf[64];

        ck_assert_int_ge(root, 0);
        ck_assert(!dirfd_in_root(root));
        ck_assert_int_eq(dirfd_fd(root), root);
        ck_assert_int_gt(read_file_at(root, "proc/self/comm", buf, sizeof buf), 0);
        dirfd_close(root);

        root = dirfd_open_root(fixture_path("host-2cpu"));
        ck_assert_int_ge(root, 0);
        ck_assert(dirfd_in_root(root));
        ck_assert_int_lt(openat(root, "proc", O_RDONLY), 0);
        ck_assert_int_eq(errno, EBADF);
        dirfd_close(root);
}
END_TEST

Suite *inroot_suite(void) {
        Suite *s = suite_create("inroot");
        TCase *tc = tcase_create("links");
        tcase_add_test(tc, test_absolute_link_to_secret);
        tcase_add_test(tc, test_climbing_link_to_secret);
        tcase_add_test(tc, test_absolute_link_stays_in_tree);
        tcase_add_test(tc, test_cgroup_file_link);
        tcase_add_test(tc, test_procfs_links);
        tcase_add_test(tc, test_walk_fallback);
        tcase_add_test(tc, test_real_root_fast_path);
        suite_add_tcase(s, tc);
        return s;
}
