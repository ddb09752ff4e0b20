/* SPDX-License-Identifier: MIT */
/* Small helpers shared by every module: cleanup attributes, bounded file
 * reads relative to a directory handle, number parsing, string vectors. */
#pragma once

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

static inline void freep(void *p) {
        free(*(void **) p);
}
static inline void closep(int *fd) {
        if (*fd >= 0)
                close(*fd);
}
static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

/* Hand ownership out of a _cleanup_ variable. */
#define TAKE_PTR(p)                                                                                          \
        ({                                                                                                   \
                __typeof__(p) _p = (p);                                                                      \
                (p) = NULL;                                                                                  \
                _p;                                                                                          \
        })
/* The same for a struct whose members a _cleanup_ function would free. */
#define TAKE_STRUCT(s)                                                                                       \
        ({                                                                                                   \
                __typeof__(s) _s = (s);                                                                      \
                (s) = (__typeof__(s)){0};                                                                    \
                _s;                                                                                          \
        })
#define TAKE_FD(fd)                                                                                          \
        ({                                                                                                   \
                int _fd = (fd);                                                                              \
                (fd) = -1;                                                                                   \
                _fd;                                                                                         \
        })

/* ---- Directory handles ----
 *
 * Files are read below a root: "/" in production, a captured tree with
 * --root. A handle is a plain directory fd (below "/": one openat(), the fast
 * path) or, for any other root, that fd with DIRFD_IN_ROOT set: every path
 * below it is then resolved with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS), so absolute symlinks and ".." resolve inside the
 * tree and never reach the host's files. On a kernel without openat2 (or a
 * seccomp filter that refuses it) the path is walked one component at a
 * time with O_NOFOLLOW and any symlink or ".." is refused (-ELOOP).
 * The bit lies above every fd number the kernel hands out (fs.nr_open is at
 * most 2^30 - 64), so a tagged handle given to a raw syscall fails with EBADF
 * instead of escaping. Every helper below takes either kind. */
#define DIRFD_IN_ROOT (1 << 30)

static inline int dirfd_fd(int dirfd) {
        return dirfd >= 0 ? dirfd & ~DIRFD_IN_ROOT : dirfd;
}
static inline bool dirfd_in_root(int dirfd) {
        return dirfd >= 0 && (dirfd & DIRFD_IN_ROOT);
}
/* Open the directory `root` as a handle: plain for "/", tagged otherwise. */
int dirfd_open_root(const char *root);
/* openat() below a handle (O_CLOEXEC added): a plain fd, closed with
 * close(), or -errno. */
int dirfd_openat(int dirfd, const char *path, int flags);
/* A directory below a handle as a handle of the same kind (tagged below a
 * tagged one: resolution is then confined to it, which lies in the tree).
 * Closed with dirfd_close(). */
int dirfd_open_dir(int dirfd, const char *path);
/* The same, always confined as for a tagged handle, without trying openat2:
 * the fallback, for tests. */
int dirfd_openat_walk(int dirfd, const char *path, int flags);
/* readlinkat() of path below a handle (the link itself is not followed; the
 * directories leading to it are resolved as dirfd_openat() does). Returns
 * the length (not NUL-terminated, like readlink) or -errno. */
ssize_t dirfd_readlinkat(int dirfd, const char *path, char *buf, size_t size);
/* Does path exist below the handle (without following a final symlink)? 0 or -errno. */
int dirfd_exists(int dirfd, const char *path);
/* The directory path below a handle, opened for readdir (as dirfd_openat()
 * resolves it): 0 and *ret (closed with closedir()), or -errno. */
int dirfd_opendir(int dirfd, const char *path, DIR **ret);
/* The next entry of d: 1 and *ret, 0 at its end, or -errno. */
int dir_next(DIR *d, struct dirent **ret);
void dirfd_close(int dirfd);
static inline void dirfd_closep(int *dirfd) {
        if (*dirfd >= 0)
                dirfd_close(*dirfd);
}

/* Read a whole small file below dirfd into buf (NUL-terminated). Returns the
 * length, or -errno. -EFBIG when the file does not fit: /proc files we read
 * have known bounds, and a longer one is malformed. */
ssize_t read_file_at(int dirfd, const char *path, char *buf, size_t size);

/* Read a file of unknown size (at most max bytes) into a malloc'd,
 * NUL-terminated buffer. Returns 0 or -errno; *ret untouched on failure. */
int read_file_alloc_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len);

/* Strict decimal parsing: whole string, no sign for unsigned, no overflow. */
int parse_uint(const char *s, unsigned *ret);
int parse_int(const char *s, int *ret);
int parse_u64(const char *s, uint64_t *ret);
/* yes/no/true/false/on/off/1/0, case-insensitive. */
int parse_boolean(const char *s, bool *ret);

/* Strip leading and trailing whitespace in place; returns s advanced. */
char *strstrip(char *s);

char *xasprintf(const char *fmt, ...) _printf_(1, 2);
/* Zeroed scratch memory in pages of its own (an anonymous mapping, not the
 * heap), for large arrays a burst fills and a quiet time leaves unused:
 * scratch_release() gives the kernel back what lies past the first keep
 * bytes (those pages read as zeros afterwards), so resident memory returns
 * to what quiet times need. NULL with errno on failure. */
void *scratch_alloc(size_t size);
void scratch_release(void *p, size_t size, size_t keep);
void scratch_free(void *p, size_t size);

/* A growable, NULL-terminated vector of owned strings. */
typedef struct StrVec {
        char **v;
        size_t n, cap;
} StrVec;
int strvec_push(StrVec *s, const char *str); /* copies str */
int strvec_push_take(StrVec *s, char *str);  /* takes ownership */
void strvec_done(StrVec *s);

/* Monotonic clock in microseconds. */
uint64_t now_usec(void);
/* Wall clock (CLOCK_REALTIME) in microseconds since the epoch. */
uint64_t realtime_usec(void);
