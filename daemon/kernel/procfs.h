/* SPDX-License-Identifier: MIT */
/* Readers for /proc: one pure parse_*_buf() per file, and a thin reader that
 * opens the file below the proc directory handle (so tests and --root point it
 * at a fake tree). procfd is a handle as util.h describes (host_open_proc()):
 * a plain fd for the real /proc, one openat() per file; below a --root tree
 * every path is resolved inside it. Every reader returns -errno:
 *   -ESRCH    the task went away. openat()'s ENOENT on PID/... is mapped to
 *             it, so callers test one code; treat -ENOENT as "gone" too if in
 *             doubt, it is only returned by procfs_read_exe (see there).
 *   -EBADMSG  the file did not look as the kernel writes it.
 *   -EINVAL   pid <= 0 or tid < 0. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The longest name /proc/PID/stat prints, in bytes. A user task's comm is at
 * most 15 (TASK_COMM_LEN 16), but kernel threads show their full name and
 * workqueue workers "kworker/u8:0-events_unbound": the kernel formats those
 * into a 64-byte buffer, so up to 63. Any byte but NUL. */
#define COMM_MAX 63
/* TASK_COMM_LEN - 1: the longest name a user task can have; a name this long
 * in proc/PID/comm may be a longer kernel thread name cut short. */
#define COMM_USER_MAX 15
/* Kernel thread flag in /proc/PID/stat field 9 (PF_KTHREAD). */
#define PROC_PF_KTHREAD 0x00200000u
/* The kernel keeps the task on its CPUs (per-CPU kernel threads):
 * sched_setaffinity fails with EINVAL (PF_NO_SETAFFINITY). */
#define PROC_PF_NO_SETAFFINITY 0x04000000u

typedef struct TaskStat {
        pid_t pid;
        char comm[COMM_MAX + 1]; /* raw bytes, NUL-terminated; may be "" */
        char state;
        pid_t ppid;
        unsigned flags;
        unsigned num_threads; /* field 20 */
        uint64_t starttime;   /* clock ticks since boot: with the tid, a task's identity */
} TaskStat;

/* comm is between the first '(' and the last ')', raw (proc/PID/comm is raw
 * too plus a newline; status escapes it). prctl(PR_SET_NAME, "") makes "()". */
int procfs_parse_stat_buf(const char *buf, size_t len, TaskStat *ret);
/* proc/PID/task/TID/stat; tid == pid, or 0, reads the leader's
 * (proc/PID/task/PID/stat: what proc/PID/stat says of the process, without
 * its walk over every thread). The pid field must equal the tid asked for,
 * else -EBADMSG. */
int procfs_read_stat(int procfd, pid_t pid, pid_t tid, TaskStat *ret);

/* proc/PID/comm without its trailing newline: cheaper for the kernel than
 * stat. Process names are at most 15 bytes here; kernel threads' may be cut. */
int procfs_read_comm(int procfd, pid_t pid, char *buf, size_t size);

/* proc/PID/status "Uid:" line, the real uid. */
int procfs_parse_status_uid_buf(const char *buf, uid_t *ret);
/* The numbers of the status line "KEY:" (KEY without the colon: "Tgid",
 * "Uid", "Gid"): up to max into ids, how many in *ret_n. -ENOENT when there
 * is no such line, -EBADMSG when a value is not a 32-bit number. */
int procfs_parse_status_ids(const char *buf, const char *key, uint32_t *ids, size_t max, size_t *ret_n);
/* Whether the status line "KEY:" ("Groups") lists id. */
bool procfs_status_has_id(const char *buf, const char *key, uint32_t id);
/* proc/PID/status whole into buf (NUL-terminated); -EFBIG past size. */
ssize_t procfs_read_status(int procfd, pid_t pid, char *buf, size_t size);
int procfs_read_uid(int procfd, pid_t pid, uid_t *ret);

/* At most this many bytes of proc/PID/cmdline are read and kept. */
#define PROCFS_CMDLINE_MAX 4096

/* proc/PID/cmdline: argv joined by single spaces (every NUL but the trailing
 * ones becomes a space; trailing NULs, which setproctitle() padding leaves,
 * are dropped); at most PROCFS_CMDLINE_MAX bytes are kept. A kernel thread or
 * zombie has an empty cmdline: "". Bytes are kept raw. */
int procfs_parse_cmdline_buf(const char *buf, size_t len, char **ret);
int procfs_read_cmdline(int procfd, pid_t pid, char **ret);

/* readlink proc/PID/exe (" (deleted)" kept as the kernel reports it).
 * -ENOENT: the task exists but has no executable (kernel thread, zombie);
 * -ESRCH: the task is gone; -EACCES without ptrace access. */
int procfs_read_exe(int procfd, pid_t pid, char **ret);

/* proc/PID[/task/TID]/cgroup, raw, for task_cgroups_parse_buf (host.h);
 * tid == pid or 0 reads proc/PID/cgroup. At most 64 KiB (-EFBIG). */
int procfs_read_cgroup(int procfd, pid_t pid, pid_t tid, char **ret);

/* Numeric directory entries of proc/ or proc/PID/task/, ascending; *ret
 * malloc'd (NULL when *ret_n is 0). At most PROCFS_MAX_TASKS entries, else
 * -E2BIG. procfs_list_tids: -ESRCH when the process is gone. */
#define PROCFS_MAX_TASKS 4194304 /* PID_MAX_LIMIT */
int procfs_list_pids(int procfd, pid_t **ret, size_t *ret_n);
int procfs_list_tids(int procfd, pid_t pid, pid_t **ret, size_t *ret_n);
/* The same a piece at a time, for a walk that must not hold the loop: a
 * process may have tens of thousands of threads (listing 20,000 took
 * 20-45 ms). procfs_tids_open() returns the directory's fd (-ESRCH when
 * the process is gone); each procfs_tids_next() puts the next tids (in the
 * kernel's order, up to PROCFS_TIDS_CHUNK) in buf: 1 while there were
 * more, 0 at the end, -errno. */
#define PROCFS_TIDS_CHUNK_BYTES 4096
#define PROCFS_TIDS_CHUNK (PROCFS_TIDS_CHUNK_BYTES / 24)
int procfs_tids_open(int procfd, pid_t pid);
int procfs_tids_next(int fd, pid_t *buf, size_t max, size_t *ret_n);
