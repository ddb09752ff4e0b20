/* SPDX-License-Identifier: MIT */
/* fanotify exec-permission events: the kernel holds an exec of a marked file
 * until we answer. A group of class FAN_CLASS_CONTENT (permission events need
 * CAP_SYS_ADMIN at fanotify_init) with FAN_REPORT_TID, so an event names the
 * very thread calling execve, not its process: a non-leader thread that
 * exec's keeps its own task (and the mask set on it) when it takes the
 * leader's pid. Marks are on inodes (FAN_OPEN_EXEC_PERM on the file), so
 * nothing but an exec of those files reaches us.
 *
 * Fail-open is the kernel's too: when the group's last fd closes (stop,
 * crash, kill -9), every event still waiting is allowed at once. A stopped
 * (SIGSTOP) process keeps its fd open and the kernel waits: see core/guarantee.c.
 *
 * Parsing the event buffer is pure; the rest are thin syscall wrappers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct FanEvent {
        uint64_t mask; /* FAN_OPEN_EXEC_PERM, FAN_Q_OVERFLOW, ... */
        int fd;        /* the file being executed (ours to close), or -1 (FAN_NOFD) */
        pid_t tid;     /* the thread calling execve (FAN_REPORT_TID) */
} FanEvent;

/* Split a buffer read from the group into events. Returns how many were
 * written to out (at most max); *ret_used gets the bytes they took (a short
 * or malformed tail is left unparsed). -EBADMSG when the first event is
 * malformed (a metadata version we do not know, lengths that do not add
 * up): its fd, if any, cannot be trusted either. Pure. */
int fan_parse_events(const void *buf, size_t len, FanEvent *out, size_t max, size_t *ret_used);

/* A permission group: FAN_CLASS_CONTENT | FAN_REPORT_TID, non-blocking,
 * close-on-exec, event fds read-only. Returns the fd or -errno (EPERM
 * without CAP_SYS_ADMIN, EINVAL on a kernel without FAN_REPORT_TID or
 * permission events). *ret_why says why in words an administrator can act
 * on (malloc'd). */
int fan_open(char **ret_why);
/* Mark (or unmark) the inode path names (symlinks followed) for exec
 * permission events. -errno. */
int fan_mark_exec(int fan_fd, const char *path);
int fan_unmark_exec(int fan_fd, const char *path);
/* Every mark of the group gone at once (no exec waits for us after this). */
int fan_unmark_all(int fan_fd);
/* Answer one permission event: always FAN_ALLOW (pinnerd never denies). */
int fan_allow(int fan_fd, int event_fd);
/* Drop CAP_SYS_ADMIN from the effective and permitted sets: a group made
 * with it keeps working. -errno (EPERM where capset is filtered). */
int fan_drop_admin(void);
