/* SPDX-License-Identifier: MIT */
/* pinnerd.conf from disk: the main file and the drop-in directory, each
 * refused unless root owns it and nobody else can write it, nor any
 * directory above it (as sshd's StrictModes), read whole through the
 * descriptor that was checked, with bounded sizes. */
#include "rules/conf-load.h"
#include "rules/conf-ini.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#define CONF_MAX_FILE_BYTES (4u << 20) /* 4096 rules fit easily */
#define CONF_MAX_FILES 1024            /* drop-ins */

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

/* Whoever can replace a directory above a file can replace the file. So,
 * as sshd's StrictModes does for ~/.ssh, every directory on the file's
 * canonical path must be owned by root and not writable by group or others.
 * One exception, which sshd does not need for home directories but /tmp
 * needs: a sticky directory may be writable by others, because there only
 * the owner of an entry may rename or remove it, and the entry below is
 * itself checked to be root's. Returns true when loading must stop. */
static bool dir_refused(Loader *l, const char *dir, size_t dir_len, const struct stat *st,
                        const ConfLoadOptions *o) {
        bool warn = !o->check_owner;
        const char *verdict = warn ? "pinnerd would refuse it" : "refusing";
        _cleanup_(freep) char *copy = strndup(dir, dir_len), *d = NULL;

        if (!copy) {
                l->oom = true;
                return true;
        }
        d = conf_quote(copy);
        if (st->st_uid != 0)
                conf_diag(l, warn, 0, "%s: directory '%s' is owned by uid %u, not root", verdict, d,
                          (unsigned) st->st_uid);
        else if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(st->st_mode & S_ISVTX))
                conf_diag(l, warn, 0, "%s: directory '%s' is writable by group or others (mode %04o)",
                          verdict, d, (unsigned) (st->st_mode & 07777));
        else
                return false;
        return !warn;
}

/* open(path, flags), with every directory above path checked as above when
 * the options ask for ownership checks. The walk goes down the canonical
 * path from / one O_NOFOLLOW step at a time, so the directories checked are
 * the ones the file is opened through, whatever is renamed meanwhile.
 * Returns the fd or -errno; -EPERM with *refused when a directory was
 * refused (and reported). */
static int open_checked(Loader *l, const char *path, int flags, const ConfLoadOptions *o, bool *refused) {
        _cleanup_(freep) char *canon = NULL;
        _cleanup_(closep) int dfd = -1;
        struct stat st;
        char *p;
        int fd;

        *refused = false;
        if (!o->check_owner && !o->owner_warn) {
                fd = open(path, flags);
                return fd < 0 ? -errno : fd;
        }
        canon = realpath(path, NULL);
        if (!canon)
                return -errno;
        dfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        p = canon + 1;
        for (;;) {
                char *slash;
                int nfd;

                if (fstat(dfd, &st) < 0)
                        return -errno;
                if (dir_refused(l, canon, p - canon > 1 ? (size_t) (p - canon - 1) : 1, &st, o)) {
                        *refused = true;
                        return -EPERM;
                }
                slash = strchr(p, '/');
                if (!slash)
                        break;
                *slash = '\0';
                nfd = openat(dfd, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                *slash = '/';
                if (nfd < 0)
                        return -errno;
                close(dfd);
                dfd = nfd;
                p = slash + 1;
        }
        fd = openat(dfd, *p ? p : ".", flags | O_NOFOLLOW);
        return fd < 0 ? -errno : fd;
}

void conf_load_file(Loader *l, const char *path, const ConfLoadOptions *o) {
        _cleanup_(closep) int fd = -1;
        _cleanup_(freep) char *buf = NULL;
        size_t before = l->diags->n_errors;
        size_t len = 0;
        struct stat st;
        bool refused;

        if (conf_push_file(l, path) < 0)
                return;
        l->line = 0;
        /* O_NONBLOCK: a FIFO dropped into the directory must not hang us. */
        fd = open_checked(l, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, o, &refused);
        if (fd < 0) {
                if (!refused)
                        conf_diag(l, false, 0, "cannot open: %s", strerror(-fd));
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
        struct dirent *de;
        struct stat st;
        bool refused;
        DIR *d = NULL;
        int fd;

        l->file = dir;
        fd = open_checked(l, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, o, &refused);
        l->file = NULL;
        if (fd >= 0) {
                d = fdopendir(fd);
                if (!d) {
                        int e = -errno;
                        close(fd);
                        fd = e;
                }
        }
        if (!d) {
                if (fd == -ENOENT || refused)
                        return; /* no drop-ins: fine; refused: reported */
                if (conf_push_file(l, dir) == 0)
                        conf_diag(l, false, 0, "cannot open directory: %s", strerror(-fd));
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
