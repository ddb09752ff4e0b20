/* SPDX-License-Identifier: MIT */
#include "kernel/fanotify.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <string.h>
#include <sys/fanotify.h>
#include <unistd.h>

#include "lib/util.h"

#ifndef FAN_REPORT_TID
#define FAN_REPORT_TID 0x00000100
#endif
#ifndef FAN_OPEN_EXEC_PERM
#define FAN_OPEN_EXEC_PERM 0x00040000
#endif

int fan_parse_events(const void *buf, size_t len, FanEvent *out, size_t max, size_t *ret_used) {
        const unsigned char *p = buf;
        size_t off = 0, n = 0;

        while (n < max && len - off >= sizeof(struct fanotify_event_metadata)) {
                struct fanotify_event_metadata m;
                memcpy(&m, p + off, sizeof m);
                /* event_len covers the metadata and any info records after
                 * it; a length that runs past the buffer, or one smaller
                 * than the metadata, means we cannot find the next event. */
                if (m.vers != FANOTIFY_METADATA_VERSION || m.metadata_len < sizeof m ||
                    m.event_len < m.metadata_len || m.event_len > len - off) {
                        if (n == 0)
                                return -EBADMSG;
                        break;
                }
                out[n++] = (FanEvent){.mask = m.mask, .fd = m.fd, .tid = m.pid};
                off += m.event_len;
        }
        *ret_used = off;
        return (int) n;
}

int fan_open(char **ret_why) {
        int fd = fanotify_init(FAN_CLASS_CONTENT | FAN_REPORT_TID | FAN_CLOEXEC | FAN_NONBLOCK,
                               O_RDONLY | O_CLOEXEC | O_LARGEFILE);
        if (fd >= 0)
                return fd;
        int err = errno;
        if (err == EPERM)
                *ret_why = strdup("fanotify permission events need CAP_SYS_ADMIN (the shipped unit does not "
                                  "grant it: see pinnerd.conf(5), GUARANTEES, for the drop-in)");
        else if (err == ENOSYS)
                *ret_why = strdup("the kernel has no fanotify (CONFIG_FANOTIFY)");
        else if (err == EINVAL)
                *ret_why = strdup("the kernel has no fanotify permission events with thread ids "
                                  "(CONFIG_FANOTIFY_ACCESS_PERMISSIONS, Linux 5.0 or later)");
        else
                *ret_why = xasprintf("fanotify_init: %s", strerror(err));
        return -err;
}

int fan_mark_exec(int fan_fd, const char *path) {
        if (fanotify_mark(fan_fd, FAN_MARK_ADD, FAN_OPEN_EXEC_PERM, AT_FDCWD, path) < 0)
                return -errno;
        return 0;
}

int fan_unmark_exec(int fan_fd, const char *path) {
        if (fanotify_mark(fan_fd, FAN_MARK_REMOVE, FAN_OPEN_EXEC_PERM, AT_FDCWD, path) < 0)
                return -errno;
        return 0;
}

int fan_unmark_all(int fan_fd) {
        if (fanotify_mark(fan_fd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL) < 0)
                return -errno;
        return 0;
}

int fan_allow(int fan_fd, int event_fd) {
        struct fanotify_response resp = {.fd = event_fd, .response = FAN_ALLOW};
        ssize_t n = write(fan_fd, &resp, sizeof resp);
        if (n < 0)
                return -errno;
        return n == (ssize_t) sizeof resp ? 0 : -EIO;
}

int fan_drop_admin(void) {
        struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct d[2];

        if (syscall(SYS_capget, &h, d) < 0)
                return -errno;
        d[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
        d[CAP_SYS_ADMIN / 32].permitted &= ~(1u << (CAP_SYS_ADMIN % 32));
        d[CAP_SYS_ADMIN / 32].inheritable &= ~(1u << (CAP_SYS_ADMIN % 32));
        if (syscall(SYS_capset, &h, d) < 0)
                return -errno;
        return 0;
}
