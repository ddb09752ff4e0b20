/* SPDX-License-Identifier: MIT */
#include "lib/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include <linux/openat2.h>

int dirfd_open_root(const char *root) {
        int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        if (strcmp(root, "/") == 0)
                return fd;
        if (fd & DIRFD_IN_ROOT) {
                close(fd);
                return -EMFILE;
        }
        return fd | DIRFD_IN_ROOT;
}

void dirfd_close(int dirfd) {
        if (dirfd >= 0)
                close(dirfd_fd(dirfd));
}

int dirfd_openat_walk(int dirfd, const char *path, int flags) {
        char buf[PATH_MAX];
        char *p, *next;
        int cur = dirfd_fd(dirfd), owned = -1, fd;
        size_t n = strlen(path);

        if (n >= sizeof buf)
                return -ENAMETOOLONG;
        memcpy(buf, path, n + 1);
        /* Components of the path; the last one is opened with the caller's
         * flags. Nothing is followed: a symlink anywhere is refused. */
        for (p = buf;; p = next) {
                while (*p == '/')
                        p++;
                next = strchr(p, '/');
                if (next) {
                        *next++ = '\0';
                        while (*next == '/')
                                next++;
                        if (*next == '\0')
                                next = NULL; /* a trailing slash */
                }
                if (strcmp(p, "..") == 0) {
                        fd = -ELOOP;
                        break;
                }
                if (*p == '\0' || strcmp(p, ".") == 0) {
                        if (next)
                                continue;
                        fd = openat(cur, ".", flags | O_CLOEXEC);
                        fd = fd < 0 ? -errno : fd;
                        break;
                }
                if (!next) {
                        fd = openat(cur, p, flags | O_NOFOLLOW | O_CLOEXEC);
                        fd = fd < 0 ? -errno : fd;
                        break;
                }
                fd = openat(cur, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        struct stat st;
                        fd = -errno;
                        /* O_NOFOLLOW | O_DIRECTORY on a symlink says ENOTDIR. */
                        if (fd == -ENOTDIR && fstatat(cur, p, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                            S_ISLNK(st.st_mode))
                                fd = -ELOOP;
                        break;
                }
                if (owned >= 0)
                        close(owned);
                owned = cur = fd;
        }
        if (owned >= 0)
                close(owned);
        return fd;
}

int dirfd_openat(int dirfd, const char *path, int flags) {
        int fd;

        if (!dirfd_in_root(dirfd)) {
                fd = openat(dirfd, path, flags | O_CLOEXEC);
                return fd < 0 ? -errno : fd;
        }
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC),
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        fd = (int) syscall(SYS_openat2, dirfd_fd(dirfd), path, &how, sizeof how);
        if (fd >= 0)
                return fd;
        /* No openat2 (Linux < 5.6), or a filter that refuses it. */
        if (errno == ENOSYS || errno == EPERM)
                return dirfd_openat_walk(dirfd, path, flags);
        return -errno;
}

int dirfd_open_dir(int dirfd, const char *path) {
        int fd = dirfd_openat(dirfd, path, O_RDONLY | O_DIRECTORY);

        if (fd < 0 || !dirfd_in_root(dirfd))
                return fd;
        if (fd & DIRFD_IN_ROOT) {
                close(fd);
                return -EMFILE;
        }
        return fd | DIRFD_IN_ROOT;
}

/* Split path into its directory (opened as a confined O_PATH handle) and
 * last component. */
static int open_parent(int dirfd, const char *path, const char **ret_last) {
        char dir[PATH_MAX];
        const char *slash = strrchr(path, '/');

        if (!slash) {
                *ret_last = path;
                return -EBADF; /* no parent to open: use dirfd itself */
        }
        if ((size_t) (slash - path) >= sizeof dir)
                return -ENAMETOOLONG;
        memcpy(dir, path, (size_t) (slash - path));
        dir[slash - path] = '\0';
        *ret_last = slash + 1;
        return dirfd_openat(dirfd, *dir ? dir : ".", O_PATH | O_DIRECTORY);
}

ssize_t dirfd_readlinkat(int dirfd, const char *path, char *buf, size_t size) {
        const char *last;
        ssize_t n;
        int fd;

        if (!dirfd_in_root(dirfd)) {
                n = readlinkat(dirfd, path, buf, size);
                return n < 0 ? -errno : n;
        }
        fd = open_parent(dirfd, path, &last);
        if (fd < 0 && fd != -EBADF)
                return fd;
        if (strcmp(last, "..") == 0 || *last == '\0') {
                if (fd >= 0)
                        close(fd);
                return -EINVAL;
        }
        n = readlinkat(fd >= 0 ? fd : dirfd_fd(dirfd), last, buf, size);
        n = n < 0 ? -errno : n;
        if (fd >= 0)
                close(fd);
        return n;
}

int dirfd_exists(int dirfd, const char *path) {
        int fd;

        if (!dirfd_in_root(dirfd))
                return faccessat(dirfd, path, F_OK, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
        fd = dirfd_openat(dirfd, path, O_PATH | O_NOFOLLOW);
        if (fd < 0)
                return fd;
        close(fd);
        return 0;
}

int dirfd_opendir(int dirfd, const char *path, DIR **ret) {
        int fd = dirfd_openat(dirfd, path, O_RDONLY | O_DIRECTORY);
        DIR *d;

        if (fd < 0)
                return fd;
        d = fdopendir(fd);
        if (!d) {
                int r = -errno;
                close(fd);
                return r;
        }
        *ret = d;
        return 0;
}

int dir_next(DIR *d, struct dirent **ret) {
        struct dirent *de;

        errno = 0;
        de = readdir(d);
        if (!de)
                return errno ? -errno : 0;
        *ret = de;
        return 1;
}

ssize_t read_file_at(int dirfd, const char *path, char *buf, size_t size) {
        _cleanup_(closep) int fd = -1;
        size_t len = 0;

        if (size == 0)
                return -EINVAL;
        fd = dirfd_openat(dirfd, path, O_RDONLY | O_NOCTTY);
        if (fd < 0)
                return fd;
        for (;;) {
                ssize_t n = read(fd, buf + len, size - 1 - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len == size - 1) {
                        char extra;
                        n = read(fd, &extra, 1);
                        if (n > 0)
                                return -EFBIG;
                        break;
                }
        }
        buf[len] = '\0';
        return (ssize_t) len;
}

int read_file_alloc_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len) {
        _cleanup_(closep) int fd = -1;
        _cleanup_(freep) char *buf = NULL;
        size_t len = 0, cap = 0;

        fd = dirfd_openat(dirfd, path, O_RDONLY | O_NOCTTY);
        if (fd < 0)
                return fd;
        for (;;) {
                if (cap - len < 2) {
                        size_t ncap = cap ? cap * 2 : 4096;
                        char *n;
                        if (cap >= max + 1)
                                return -EFBIG;
                        if (ncap > max + 1)
                                ncap = max + 1;
                        n = realloc(buf, ncap);
                        if (!n)
                                return -ENOMEM;
                        buf = n;
                        cap = ncap;
                }
                ssize_t k = read(fd, buf + len, cap - 1 - len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                len += (size_t) k;
                if (len > max)
                        return -EFBIG;
        }
        if (!buf) {
                buf = malloc(1);
                if (!buf)
                        return -ENOMEM;
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

int parse_u64(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long v;

        if (!s || !isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_uint(const char *s, unsigned *ret) {
        uint64_t v;
        int r = parse_u64(s, &v);
        if (r < 0)
                return r;
        if (v > UINT_MAX)
                return -ERANGE;
        *ret = (unsigned) v;
        return 0;
}

int parse_int(const char *s, int *ret) {
        char *end;
        long v;

        if (!s ||
            !(isdigit((unsigned char) *s) || ((*s == '-' || *s == '+') && isdigit((unsigned char) s[1]))))
                return -EINVAL;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno == ERANGE || v > INT_MAX || v < INT_MIN)
                return -ERANGE;
        if (*end != '\0')
                return -EINVAL;
        *ret = (int) v;
        return 0;
}

int parse_boolean(const char *s, bool *ret) {
        static const char *const yes[] = {"yes", "true", "on", "1"};
        static const char *const no[] = {"no", "false", "off", "0"};

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        return -EINVAL;
}

char *strstrip(char *s) {
        size_t n;

        while (isspace((unsigned char) *s))
                s++;
        n = strlen(s);
        while (n > 0 && isspace((unsigned char) s[n - 1]))
                s[--n] = '\0';
        return s;
}

char *xasprintf(const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

int strvec_push_take(StrVec *s, char *str) {
        if (!str)
                return -ENOMEM;
        if (s->n + 2 > s->cap) {
                size_t ncap = s->cap ? s->cap * 2 : 4;
                char **nv = realloc(s->v, ncap * sizeof(char *));
                if (!nv) {
                        free(str);
                        return -ENOMEM;
                }
                s->v = nv;
                s->cap = ncap;
        }
        s->v[s->n++] = str;
        s->v[s->n] = NULL;
        return 0;
}

int strvec_push(StrVec *s, const char *str) {
        return strvec_push_take(s, strdup(str));
}

void strvec_done(StrVec *s) {
        for (size_t i = 0; i < s->n; i++)
                free(s->v[i]);
        free(s->v);
        *s = (StrVec){0};
}

uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

uint64_t realtime_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

void *scratch_alloc(size_t size) {
        void *p = mmap(NULL, size ? size : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? NULL : p;
}

void scratch_release(void *p, size_t size, size_t keep) {
        size_t page = (size_t) sysconf(_SC_PAGESIZE);
        size_t from = (keep + page - 1) / page * page;

        if (!p || from >= size)
                return;
        (void) madvise((char *) p + from, size - from, MADV_DONTNEED);
}

void scratch_free(void *p, size_t size) {
        if (p)
                (void) munmap(p, size ? size : 1);
}
