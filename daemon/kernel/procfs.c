/* SPDX-License-Identifier: MIT */
#include "kernel/procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"

/* "2147483647/task/2147483647/cmdline" and the like. */
#define PROC_PATH_MAX 64
/* A stat line is 52 fields of at most 20 digits each plus a comm of at most
 * 63 bytes: about 1.2 KiB. A buffer it fills is not a stat line. */
#define STAT_BUF_SIZE 2048
/* The Uid: line is the 9th of status, after Name: (at most 2 * 63 bytes
 * escaped); the whole file can be 5 KiB on hosts with 8192 CPUs, but only
 * this prefix is read. */
#define STATUS_PREFIX_SIZE 1024
#define CGROUP_FILE_MAX (64 * 1024)
/* Entries per getdents64() call: ~1,000 pids each, so a 10,000-thread scan
 * lists proc/ in a dozen calls. */
#define DENTS_BUF_SIZE (32 * 1024)

static int pid_path(char *buf, pid_t pid, pid_t tid, const char *file) {
        int n;

        if (pid <= 0 || tid < 0)
                return -EINVAL;
        if (tid == 0 || tid == pid)
                n = snprintf(buf, PROC_PATH_MAX, "%d/%s", (int) pid, file);
        else
                n = snprintf(buf, PROC_PATH_MAX, "%d/task/%d/%s", (int) pid, (int) tid, file);
        if (n < 0 || n >= PROC_PATH_MAX)
                return -ENAMETOOLONG;
        return 0;
}

/* One open, one read, one close. proc's stat, status and cmdline are
 * produced whole by the first read() when the buffer is large enough
 * (seq_file single_open; get_mm_cmdline loops until count), and a regular
 * file in a fake tree reads whole too; skipping the read() that would return
 * 0 saves a quarter of the syscalls of a full scan. Returns the length (the
 * buffer is NUL-terminated); a buffer filled to size - 1 means "at least
 * that much": callers that need the whole file treat it as -EFBIG. */
static ssize_t read_proc_once(int procfd, const char *path, char *buf, size_t size) {
        _cleanup_(closep) int fd = -1;
        ssize_t n;

        fd = dirfd_openat(procfd, path, O_RDONLY | O_NOCTTY);
        if (fd < 0)
                return fd == -ENOENT ? -ESRCH : fd;
        do
                n = read(fd, buf, size - 1);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        return n;
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* One decimal stat field at *p, then its separator: a space, or a newline /
 * the end when it is the last field. Negative values are allowed where the
 * kernel prints signed numbers; their value is not needed, so *ret is 0. */
static int stat_field(const char **p, const char *end, bool allow_negative, uint64_t *ret) {
        const char *s = *p;
        uint64_t v = 0;
        bool neg = false;

        if (allow_negative && s < end && *s == '-') {
                neg = true;
                s++;
        }
        if (s >= end || !is_digit(*s))
                return -EBADMSG;
        while (s < end && is_digit(*s)) {
                unsigned d = (unsigned) (*s - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -EBADMSG;
                v = v * 10 + d;
                s++;
        }
        if (s < end) {
                if (*s == ' ')
                        s++;
                else if (*s != '\n')
                        return -EBADMSG;
        }
        *p = s;
        *ret = neg ? 0 : v;
        return 0;
}

int procfs_parse_stat_buf(const char *buf, size_t len, TaskStat *ret) {
        const char *end = buf + len, *p = buf, *open, *close;
        TaskStat st = {0};
        uint64_t v;
        size_t comm_len;
        int r;

        /* "PID (" */
        r = stat_field(&p, end, false, &v);
        if (r < 0 || v == 0 || v > INT_MAX || p[-1] != ' ')
                return -EBADMSG;
        st.pid = (pid_t) v;
        if (p >= end || *p != '(')
                return -EBADMSG;
        open = p;

        /* comm may hold ')' and anything else but NUL; the fields after it
         * never hold ')', so the last one in the line closes it. */
        close = memrchr(open + 1, ')', (size_t) (end - open - 1));
        if (!close)
                return -EBADMSG;
        comm_len = (size_t) (close - open - 1);
        if (comm_len > COMM_MAX || memchr(open + 1, '\0', comm_len))
                return -EBADMSG;
        memcpy(st.comm, open + 1, comm_len);
        st.comm[comm_len] = '\0';

        /* ") S " */
        p = close + 1;
        if (end - p < 3 || p[0] != ' ' || p[1] == ' ' || p[1] == '\n' || p[1] == '\0' || p[2] != ' ')
                return -EBADMSG;
        st.state = p[1];
        p += 3;

        /* Fields 4 (ppid) to 22 (starttime). */
        for (unsigned field = 4; field <= 22; field++) {
                bool wanted = field == 4 || field == 9 || field == 20 || field == 22;
                r = stat_field(&p, end, !wanted, &v);
                if (r < 0)
                        return r;
                switch (field) {
                case 4:
                        if (v > INT_MAX)
                                return -EBADMSG;
                        st.ppid = (pid_t) v;
                        break;
                case 9:
                        if (v > UINT_MAX)
                                return -EBADMSG;
                        st.flags = (unsigned) v;
                        break;
                case 20:
                        if (v > UINT_MAX)
                                return -EBADMSG;
                        st.num_threads = (unsigned) v;
                        break;
                case 22:
                        st.starttime = v;
                        break;
                }
                /* Every field but the last needs a space after it. */
                if (field < 22 && p[-1] != ' ')
                        return -EBADMSG;
        }

        *ret = st;
        return 0;
}

int procfs_read_stat(int procfd, pid_t pid, pid_t tid, TaskStat *ret) {
        char path[PROC_PATH_MAX], buf[STAT_BUF_SIZE];
        TaskStat st;
        ssize_t n;
        int r;

        /* Always a task's own file: proc/PID/stat of the process sums the
         * times of every thread (~3.5 ms for 20,000 of them), and nothing
         * read here differs (comm, state, flags and start are the leader's,
         * num_threads the group's in both). */
        if (pid <= 0 || tid < 0)
                return -EINVAL;
        r = snprintf(path, sizeof path, "%d/task/%d/stat", (int) pid, (int) (tid > 0 ? tid : pid));
        if (r < 0 || (size_t) r >= sizeof path)
                return -ENAMETOOLONG;
        n = read_proc_once(procfd, path, buf, sizeof buf);
        if (n < 0)
                return (int) n;
        if ((size_t) n >= sizeof buf - 1)
                return -EBADMSG;
        r = procfs_parse_stat_buf(buf, (size_t) n, &st);
        if (r < 0)
                return r;
        if (st.pid != (tid > 0 ? tid : pid))
                return -EBADMSG;
        *ret = st;
        return 0;
}

int procfs_read_comm(int procfd, pid_t pid, char *buf, size_t size) {
        char path[PROC_PATH_MAX];
        ssize_t n;
        int r;

        if (size < 2)
                return -EINVAL;
        r = pid_path(path, pid, 0, "comm");
        if (r < 0)
                return r;
        n = read_proc_once(procfd, path, buf, size);
        if (n < 0)
                return (int) n;
        if ((size_t) n >= size - 1)
                return -EBADMSG;
        /* The kernel ends it with a newline; the name itself may hold one. */
        if (n > 0 && buf[n - 1] == '\n')
                buf[n - 1] = '\0';
        return 0;
}

/* The text after "KEY:" on its own line of a status buffer, or NULL. */
static const char *status_line(const char *buf, const char *key) {
        size_t k = strlen(key);

        for (const char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (strncmp(p, key, k) == 0 && p[k] == ':')
                        return p + k + 1;
        return NULL;
}

/* One number of a status line at *pp (blanks first); 32 bits, never -1. */
static int status_number(const char **pp, uint32_t *ret) {
        const char *p = *pp + strspn(*pp, " \t");
        uint64_t v = 0;

        if (!is_digit(*p))
                return -EBADMSG;
        for (; is_digit(*p); p++) {
                v = v * 10 + (uint64_t) (*p - '0');
                /* uid_t is 32 bits; (uid_t) -1 is "no uid". */
                if (v >= UINT32_MAX)
                        return -EBADMSG;
        }
        if (*p != '\t' && *p != ' ' && *p != '\n' && *p != '\0')
                return -EBADMSG;
        *pp = p;
        *ret = (uint32_t) v;
        return 0;
}

static bool at_line_end(const char *p) {
        p += strspn(p, " \t");
        return *p == '\n' || *p == '\0';
}

int procfs_parse_status_ids(const char *buf, const char *key, uint32_t *ids, size_t max, size_t *ret_n) {
        const char *p = status_line(buf, key);
        size_t n = 0;

        if (!p)
                return -ENOENT;
        while (n < max && !at_line_end(p)) {
                int r = status_number(&p, &ids[n]);
                if (r < 0)
                        return r;
                n++;
        }
        *ret_n = n;
        return 0;
}

bool procfs_status_has_id(const char *buf, const char *key, uint32_t id) {
        const char *p = status_line(buf, key);
        uint32_t v;

        while (p && !at_line_end(p)) {
                if (status_number(&p, &v) < 0)
                        return false;
                if (v == id)
                        return true;
        }
        return false;
}

int procfs_parse_status_uid_buf(const char *buf, uid_t *ret) {
        uint32_t id;
        size_t n;
        int r = procfs_parse_status_ids(buf, "Uid", &id, 1, &n);

        if (r < 0 || n < 1)
                return -EBADMSG;
        *ret = (uid_t) id;
        return 0;
}

ssize_t procfs_read_status(int procfd, pid_t pid, char *buf, size_t size) {
        char path[PROC_PATH_MAX];
        int r = pid_path(path, pid, 0, "status");

        if (r < 0)
                return r;
        return read_file_at(procfd, path, buf, size);
}

int procfs_read_uid(int procfd, pid_t pid, uid_t *ret) {
        char path[PROC_PATH_MAX], buf[STATUS_PREFIX_SIZE];
        ssize_t n;
        int r;

        r = pid_path(path, pid, 0, "status");
        if (r < 0)
                return r;
        n = read_proc_once(procfd, path, buf, sizeof buf);
        if (n < 0)
                return (int) n;
        /* A full buffer is fine: the Uid: line is near the top. */
        return procfs_parse_status_uid_buf(buf, ret);
}

int procfs_parse_cmdline_buf(const char *buf, size_t len, char **ret) {
        char *s;

        if (len > PROCFS_CMDLINE_MAX)
                len = PROCFS_CMDLINE_MAX;
        while (len > 0 && buf[len - 1] == '\0')
                len--;
        s = malloc(len + 1);
        if (!s)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++)
                s[i] = buf[i] == '\0' ? ' ' : buf[i];
        s[len] = '\0';
        *ret = s;
        return 0;
}

int procfs_read_cmdline(int procfd, pid_t pid, char **ret) {
        char path[PROC_PATH_MAX], buf[PROCFS_CMDLINE_MAX + 1];
        ssize_t n;
        int r;

        r = pid_path(path, pid, 0, "cmdline");
        if (r < 0)
                return r;
        /* A longer cmdline is cut at PROCFS_CMDLINE_MAX, as documented. */
        n = read_proc_once(procfd, path, buf, sizeof buf);
        if (n < 0)
                return (int) n;
        return procfs_parse_cmdline_buf(buf, (size_t) n, ret);
}

int procfs_read_exe(int procfd, pid_t pid, char **ret) {
        char path[PROC_PATH_MAX], target[PATH_MAX];
        ssize_t n;
        char *s;
        int r;

        r = pid_path(path, pid, 0, "exe");
        if (r < 0)
                return r;
        n = dirfd_readlinkat(procfd, path, target, sizeof target);
        if (n < 0) {
                if (n != -ENOENT)
                        return (int) n;
                /* ENOENT is also what a kernel thread's exe gives: tell a
                 * task without executable from one that is gone. */
                r = pid_path(path, pid, 0, "");
                if (r < 0)
                        return r;
                return dirfd_exists(procfd, path) < 0 ? -ESRCH : -ENOENT;
        }
        if ((size_t) n >= sizeof target)
                return -ENAMETOOLONG;
        s = strndup(target, (size_t) n);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int procfs_read_cgroup(int procfd, pid_t pid, pid_t tid, char **ret) {
        char path[PROC_PATH_MAX];
        int r;

        r = pid_path(path, pid, tid, "cgroup");
        if (r < 0)
                return r;
        r = read_file_alloc_at(procfd, path, CGROUP_FILE_MAX, ret, NULL);
        return r == -ENOENT ? -ESRCH : r;
}

static int pid_cmp(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
        return (x > y) - (x < y);
}

/* A directory entry that names a task: digits only, 1 .. INT_MAX. */
static pid_t dirent_pid(const struct dirent64 *d) {
        const char *s = d->d_name;
        uint64_t v = 0;

        if (d->d_type != DT_DIR && d->d_type != DT_UNKNOWN)
                return 0;
        if (!is_digit(*s))
                return 0;
        for (; *s; s++) {
                if (!is_digit(*s))
                        return 0;
                v = v * 10 + (uint64_t) (*s - '0');
                if (v > INT_MAX)
                        return 0;
        }
        return (pid_t) v;
}

/* getdents64() into a stack buffer: no DIR allocation, no stdio, no
 * per-entry stat(). */
static int list_numeric(int procfd, const char *path, pid_t **ret, size_t *ret_n) {
        _cleanup_(closep) int fd = -1;
        _cleanup_(freep) pid_t *v = NULL;
        size_t n = 0, cap = 0;
        bool sorted = true;
        char buf[DENTS_BUF_SIZE] __attribute__((aligned(8)));

        fd = dirfd_openat(procfd, path, O_RDONLY | O_DIRECTORY);
        if (fd < 0)
                return fd == -ENOENT ? -ESRCH : fd;
        for (;;) {
                ssize_t len = getdents64(fd, buf, sizeof buf);
                if (len < 0)
                        return errno == ENOENT ? -ESRCH : -errno;
                if (len == 0)
                        break;
                for (size_t off = 0; off < (size_t) len;) {
                        const struct dirent64 *d = (const struct dirent64 *) (buf + off);
                        pid_t pid = dirent_pid(d);

                        off += d->d_reclen;
                        if (pid <= 0)
                                continue;
                        if (n == cap) {
                                size_t ncap = cap ? cap * 2 : 256;
                                pid_t *nv;
                                if (cap >= PROCFS_MAX_TASKS)
                                        return -E2BIG;
                                if (ncap > PROCFS_MAX_TASKS)
                                        ncap = PROCFS_MAX_TASKS;
                                nv = realloc(v, ncap * sizeof(pid_t));
                                if (!nv)
                                        return -ENOMEM;
                                v = nv;
                                cap = ncap;
                        }
                        if (n > 0 && v[n - 1] > pid)
                                sorted = false;
                        v[n++] = pid;
                }
        }
        /* proc lists tasks in pid order already; a fake tree may not. */
        if (!sorted)
                qsort(v, n, sizeof(pid_t), pid_cmp);
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

int procfs_tids_open(int procfd, pid_t pid) {
        char path[PROC_PATH_MAX];
        int r = pid_path(path, pid, 0, "task"), fd;

        if (r < 0)
                return r;
        fd = dirfd_openat(procfd, path, O_RDONLY | O_DIRECTORY);
        return fd == -ENOENT ? -ESRCH : fd;
}

int procfs_tids_next(int fd, pid_t *buf, size_t max, size_t *ret_n) {
        char d_buf[PROCFS_TIDS_CHUNK_BYTES] __attribute__((aligned(8)));
        ssize_t len = getdents64(fd, d_buf, sizeof d_buf);
        size_t n = 0;

        if (len < 0)
                return errno == ENOENT ? -ESRCH : -errno;
        /* A dirent64 is at least 24 bytes: max >= what fits in d_buf. */
        for (size_t off = 0; off < (size_t) len && n < max;) {
                const struct dirent64 *d = (const struct dirent64 *) (d_buf + off);
                pid_t pid = dirent_pid(d);

                off += d->d_reclen;
                if (pid > 0)
                        buf[n++] = pid;
        }
        *ret_n = n;
        return len > 0;
}

int procfs_list_pids(int procfd, pid_t **ret, size_t *ret_n) {
        return list_numeric(procfd, ".", ret, ret_n);
}

int procfs_list_tids(int procfd, pid_t pid, pid_t **ret, size_t *ret_n) {
        char path[PROC_PATH_MAX];
        int r;

        r = pid_path(path, pid, 0, "task");
        if (r < 0)
                return r;
        return list_numeric(procfd, path, ret, ret_n);
}
