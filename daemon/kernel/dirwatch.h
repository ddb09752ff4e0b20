/* SPDX-License-Identifier: MIT */
/* Directories to watch for files that appear (created, renamed into place:
 * a package upgrade renames the new file over the old path, which is a new
 * inode that no mark covers yet). inotify: fanotify's own directory events
 * (FAN_CREATE, FAN_MOVED_TO) need FAN_REPORT_FID, which the kernel refuses
 * for a permission group (fanotify_init: EINVAL for a fid mode with any class
 * but FAN_CLASS_NOTIF), and a second fanotify group would need privilege
 * that inotify does not. Only "something changed here" is reported; the
 * caller looks again. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct DirWatch {
        int fd; /* inotify, non-blocking; -1 when closed */
        int *wds;
        size_t n_wds;
} DirWatch;

/* -errno. */
int dirwatch_open(DirWatch *w);
void dirwatch_close(DirWatch *w);
/* Watch dir for entries created or moved in, and for itself going away.
 * -errno (ENOENT, ENOTDIR, ENOSPC past fs.inotify.max_user_watches). */
int dirwatch_add(DirWatch *w, const char *dir);
/* Stop watching every directory (the fd stays). */
void dirwatch_clear(DirWatch *w);
/* Read every pending event. Returns how many there were (>= 0), or -errno;
 * an overflow counts as one. */
int dirwatch_drain(DirWatch *w);
/* Pure: how many whole inotify events buf[len] holds, -EBADMSG when one
 * claims more than is there. */
int dirwatch_count_events(const void *buf, size_t len);
