/* SPDX-License-Identifier: MIT */
/* pinnerd.conf from disk: the main file and the drop-in directory, each
 * refused unless root owns it and nobody else can write it (as sshd does),
 * read whole through the descriptor that was checked, with bounded sizes. */
#include "conf-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#define CONF_MAX_FILE_BYTES (4u << 20) /* 4096 rules fit easily */
#define CONF_MAX_FILES 1024            /* drop-ins */

int conf_push_file(Loader *l, const char *name) {
        if (strvec_push(&l->files, name) < 0) {
                l->oom = true;
                return -ENOMEM;
        }
        l->file = l->files.v[l->files.n - 1];
        return 0;
}

static void check_owner(Loader *l, const struct stat *st, const ConfLoadOptions *o) {
        bool warn;

        if (!o->check_owner && !o->owner_warn)
                return;
        warn = !o->check_owner;
        if (st->st_uid != 0)
                conf_diag(l, warn, 0, "%s: owned by uid %u, not root",
                          warn ? "pinnerd would refuse it" : "refusing", (unsigned) st->st_uid);
        else if (st->st_mode & (S_IWGRP | S_IWOTH))
                conf_diag(l, warn, 0, "%s: writable by group or others (mode %04o)",
                          warn ? "pinnerd would refuse it" : "refusing", (unsigned) (st->st_mode & 07777));
}

void conf_load_file(Loader *l, const char *path, const ConfLoadOptions *o) {
        _cleanup_(closep) int fd = -1;
        _cleanup_(freep) char *buf = NULL;
        size_t before = l->diags->n_errors;
        size_t len = 0;
        struct stat st;

        if (conf_push_file(l, path) < 0)
                return;
        l->line = 0;
        /* O_NONBLOCK: a FIFO dropped into the directory must not hang us. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                conf_diag(l, false, 0, "cannot open: %s", strerror(errno));
                return;
        }
        if (fstat(fd, &st) < 0) {
                conf_diag(l, false, 0, "cannot stat: %s", strerror(errno));
                return;
        }
        if (!S_ISREG(st.st_mode)) {
                conf_diag(l, false, 0, "not a regular file");
                return;
        }
        check_owner(l, &st, o);
        if (l->diags->n_errors > before)
                return;
        if (st.st_size > (off_t) CONF_MAX_FILE_BYTES) {
                conf_diag(l, false, 0, "file too large (%lld bytes; at most %u)", (long long) st.st_size,
                          CONF_MAX_FILE_BYTES);
                return;
        }
        /* Read through the fd we checked, not the path (it may have been swapped). */
        buf = malloc(CONF_MAX_FILE_BYTES + 1);
        if (!buf) {
                l->oom = true;
                return;
        }
        for (;;) {
                ssize_t n = read(fd, buf + len, CONF_MAX_FILE_BYTES + 1 - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        conf_diag(l, false, 0, "cannot read: %s", strerror(errno));
                        return;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > CONF_MAX_FILE_BYTES) {
                        conf_diag(l, false, 0, "file too large (at most %u bytes)", CONF_MAX_FILE_BYTES);
                        return;
                }
        }
        buf[len] = '\0';
        const char *nul = memchr(buf, '\0', len);
        if (nul) {
                unsigned line = 1;
                for (const char *p = buf; p < nul; p++)
                        line += *p == '\n';
                conf_diag(l, false, line, "contains a NUL byte");
                return;
        }
        conf_ini_parse(l, buf, len);
}

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

void conf_load_dir(Loader *l, const char *dir, const ConfLoadOptions *o) {
        _cleanup_(strvec_done) StrVec names = {0};
        DIR *d = opendir(dir);
        struct dirent *de;
        struct stat st;

        if (!d) {
                if (errno == ENOENT)
                        return; /* no drop-ins: fine */
                int e = errno;
                if (conf_push_file(l, dir) == 0)
                        conf_diag(l, false, 0, "cannot open directory: %s", strerror(e));
                return;
        }
        if (fstat(dirfd(d), &st) == 0 && (o->check_owner || o->owner_warn)) {
                /* Whoever can write the directory can add or replace rules. */
                size_t before = l->diags->n_errors;
                l->file = dir;
                check_owner(l, &st, o);
                l->file = NULL;
                if (l->diags->n_errors > before) {
                        closedir(d);
                        return;
                }
        }
        while ((de = readdir(d))) {
                size_t n = strlen(de->d_name);
                if (de->d_name[0] == '.' || n < 6 || strcmp(de->d_name + n - 5, ".conf") != 0)
                        continue;
                if (names.n >= CONF_MAX_FILES) {
                        l->file = dir;
                        conf_diag(l, false, 0, "too many *.conf files (at most %d)", CONF_MAX_FILES);
                        l->file = NULL;
                        break;
                }
                if (strvec_push(&names, de->d_name) < 0) {
                        l->oom = true;
                        break;
                }
        }
        closedir(d);
        if (names.n > 0)
                qsort(names.v, names.n, sizeof(char *), name_cmp);
        for (size_t i = 0; i < names.n && !l->stop && !l->oom; i++) {
                _cleanup_(freep) char *path = xasprintf("%s/%s", dir, names.v[i]);
                if (!path) {
                        l->oom = true;
                        return;
                }
                conf_load_file(l, path, o);
        }
}
