/* SPDX-License-Identifier: MIT */
/* Small helpers shared by every module: cleanup attributes, bounded file
 * reads relative to a directory handle, number parsing, string vectors. */
#pragma once

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
#define TAKE_FD(fd)                                                                                          \
        ({                                                                                                   \
                int _fd = (fd);                                                                              \
                (fd) = -1;                                                                                   \
                _fd;                                                                                         \
        })

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
