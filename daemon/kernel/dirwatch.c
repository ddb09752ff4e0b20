/* SPDX-License-Identifier: MIT */
#include "kernel/dirwatch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "lib/util.h"

#define DIRWATCH_MASK (IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

int dirwatch_open(DirWatch *w) {
        *w = (DirWatch){.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)};
        return w->fd < 0 ? -errno : 0;
}

void dirwatch_clear(DirWatch *w) {
        for (size_t i = 0; i < w->n_wds; i++)
                (void) inotify_rm_watch(w->fd, w->wds[i]);
        free(w->wds);
        w->wds = NULL;
        w->n_wds = 0;
}

void dirwatch_close(DirWatch *w) {
        if (w->fd >= 0) {
                free(w->wds);
                close(w->fd);
        }
        *w = (DirWatch){.fd = -1};
}

int dirwatch_add(DirWatch *w, const char *dir) {
        int wd = inotify_add_watch(w->fd, dir, DIRWATCH_MASK);
        if (wd < 0)
                return -errno;
        /* The same directory twice gives the same wd. */
        for (size_t i = 0; i < w->n_wds; i++)
                if (w->wds[i] == wd)
                        return 0;
        int *nv = realloc(w->wds, (w->n_wds + 1) * sizeof(int));
        if (!nv) {
                (void) inotify_rm_watch(w->fd, wd);
                return -ENOMEM;
        }
        w->wds = nv;
        w->wds[w->n_wds++] = wd;
        return 0;
}

int dirwatch_count_events(const void *buf, size_t len) {
        const unsigned char *p = buf;
        size_t off = 0;
        int n = 0;

        while (len - off >= sizeof(struct inotify_event)) {
                struct inotify_event e;
                memcpy(&e, p + off, sizeof e);
                if (e.len > len - off - sizeof e)
                        return -EBADMSG;
                off += sizeof e + e.len;
                n++;
        }
        return off == len ? n : -EBADMSG;
}

int dirwatch_drain(DirWatch *w) {
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        int total = 0;

        for (;;) {
                ssize_t n = read(w->fd, buf, sizeof buf);
                if (n < 0)
                        return errno == EAGAIN ? total : (total ? total : -errno);
                if (n == 0)
                        return total;
                int k = dirwatch_count_events(buf, (size_t) n);
                total += k > 0 ? k : 1;
        }
}
