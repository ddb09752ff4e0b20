/* SPDX-License-Identifier: MIT */
#include "core/state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/output.h"
#include "lib/util.h"

#define STATE_HEADER "pinnerd-state 2\n"
/* Written by earlier versions: the same, without appended lines. */
#define STATE_HEADER_V1 "pinnerd-state 1\n"

void state_entries_done(StateEntries *e) {
        for (size_t i = 0; i < e->n; i++)
                cpuset_free(e->v[i].original);
        free(e->v);
        for (size_t i = 0; i < e->n_k; i++) {
                free(e->k[i].name);
                cpuset_free(e->k[i].original);
        }
        free(e->k);
        *e = (StateEntries){0};
}

static int parse_dec_range(const char *s, const char *end, uint64_t *ret) {
        uint64_t v = 0;

        if (s == end)
                return -EINVAL;
        for (; s < end; s++) {
                if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
                        return -EINVAL;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        *ret = v;
        return 0;
}

/* ---- the kernel entries: I, D and W lines ---- */

static bool kernel_line(const char *line, const char *end) {
        return end - line >= 2 && (line[0] == 'I' || line[0] == 'D' || line[0] == 'W') && line[1] == ' ';
}

/* A workqueue name as one field: '\' and bytes outside '!'..'~' as \xHH. */
static void put_name(OutBuf *o, const char *name) {
        for (const unsigned char *p = (const unsigned char *) name; *p; p++)
                if (*p <= ' ' || *p > '~' || *p == '\\')
                        outbuf_printf(o, "\\x%02x", *p);
                else
                        outbuf_putc(o, (char) *p);
}

static int hexval(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static char *get_name(const char *s, const char *end) {
        char *out = malloc((size_t) (end - s) + 1), *w = out;

        if (!out)
                return NULL;
        while (s < end) {
                if (*s != '\\') {
                        *w++ = *s++;
                        continue;
                }
                if (end - s < 4 || s[1] != 'x' || hexval(s[2]) < 0 || hexval(s[3]) < 0 ||
                    (hexval(s[2]) == 0 && hexval(s[3]) == 0)) {
                        free(out);
                        return NULL;
                }
                *w++ = (char) (hexval(s[2]) * 16 + hexval(s[3]));
                s += 4;
        }
        *w = '\0';
        return out;
}

static int parse_kernel_list(const char *s, const char *end, CpuSet **ret) {
        char text[8192];
        size_t n = (size_t) (end - s);

        if (n == 0 || n >= sizeof text || memchr(s, ' ', n))
                return -EINVAL;
        memcpy(text, s, n);
        text[n] = '\0';
        if (cpuset_parse_list(text, ret, NULL) < 0)
                return -EINVAL;
        if (cpuset_empty(*ret)) {
                cpuset_free(*ret);
                *ret = NULL;
                return -EINVAL;
        }
        return 0;
}

/* "I IRQ CPULIST", "D CPULIST", "W NAME CPULIST". */
static int parse_kernel_entry(const char *line, const char *end, StateKernelEntry *ret) {
        StateKernelEntry e = {.kind = line[0]};
        const char *p = line + 2, *sp;
        uint64_t irq;

        if (e.kind == 'D')
                return parse_kernel_list(p, end, &e.original) < 0 ? -EINVAL : (*ret = e, 0);
        sp = memchr(p, ' ', (size_t) (end - p));
        if (!sp || sp == p)
                return -EINVAL;
        if (e.kind == 'I') {
                if (parse_dec_range(p, sp, &irq) < 0 || irq >= 1048576)
                        return -EINVAL;
                e.irq = (unsigned) irq;
        } else {
                e.name = get_name(p, sp);
                if (!e.name || !*e.name) {
                        free(e.name);
                        return -EINVAL;
                }
        }
        if (parse_kernel_list(sp + 1, end, &e.original) < 0) {
                free(e.name);
                return -EINVAL;
        }
        *ret = e;
        return 0;
}

static void format_kernel_entries(OutBuf *o, const StateKernelEntry *k, size_t n_k, size_t *count) {
        for (size_t i = 0; i < n_k; i++) {
                _cleanup_(freep) char *list = cpuset_format_list(k[i].original);
                if (!list) {
                        o->error = -ENOMEM;
                        return;
                }
                if (k[i].kind == 'I')
                        outbuf_printf(o, "I %u %s\n", k[i].irq, list);
                else if (k[i].kind == 'D')
                        outbuf_printf(o, "D %s\n", list);
                else {
                        outbuf_puts(o, "W ");
                        put_name(o, k[i].name);
                        outbuf_printf(o, " %s\n", list);
                }
                (*count)++;
        }
}

/* "T TID START PID CPULIST POLICY": five space-separated fields after the tag. */
static int parse_entry(const char *line, const char *end, StateEntry *ret) {
        const char *f[5], *fe[5], *p = line + 2;

        uint64_t tid, start, pid;
        char text[8192];
        StateEntry e = {0};

        if (end - line < 2 || line[0] != 'T' || line[1] != ' ')
                return -EINVAL;
        for (int i = 0; i < 5; i++) {
                f[i] = p;
                while (p < end && *p != ' ')
                        p++;
                fe[i] = p;
                if (i < 4) {
                        if (p == end)
                                return -EINVAL;
                        p++;
                }
        }
        if (p != end || parse_dec_range(f[0], fe[0], &tid) < 0 || parse_dec_range(f[1], fe[1], &start) < 0 ||
            parse_dec_range(f[2], fe[2], &pid) < 0 || tid == 0 || pid == 0 || tid > INT32_MAX ||
            pid > INT32_MAX)
                return -EINVAL;
        for (int i = 3; i < 5; i++) {
                size_t ll = (size_t) (fe[i] - f[i]);
                if (ll == 0 || ll >= sizeof text)
                        return -EINVAL;
                memcpy(text, f[i], ll);
                text[ll] = '\0';
                if (strcmp(text, "-") == 0)
                        continue;
                if (i == 4) {
                        if (policy_parse(text, &e.policy) < 0)
                                goto bad;
                        e.has_policy = true;
                        continue;
                }
                if (cpuset_parse_list(text, &e.original, NULL) < 0)
                        goto bad;
                if (cpuset_empty(e.original))
                        goto bad;
        }
        if (!e.original && !e.has_policy)
                goto bad;
        e.pid = (pid_t) pid;
        e.tid = (pid_t) tid;
        e.start = start;
        *ret = e;
        return 0;
bad:
        cpuset_free(e.original);
        return -EINVAL;
}

static int entries_push(StateEntries *e, size_t *cap, StateEntry *v) {
        if (e->n == *cap) {
                size_t nc = *cap ? *cap * 2 : 64;
                StateEntry *nv = reallocarray(e->v, nc, sizeof *nv);
                if (!nv)
                        return -ENOMEM;
                e->v = nv;
                *cap = nc;
        }
        e->v[e->n++] = *v;
        return 0;
}

/* An appended line is newer than the snapshot and than earlier appended
 * lines: it replaces the entry of a thread that is not the same thread any
 * more (another start time), and otherwise sets the originals it names. */
static int entries_apply(StateEntries *e, size_t *cap, StateEntry *v) {
        for (size_t i = 0; i < e->n; i++) {
                StateEntry *o = &e->v[i];
                if (o->tid != v->tid)
                        continue;
                if (o->start != v->start || o->pid != v->pid) {
                        cpuset_free(o->original);
                        *o = *v;
                        return 0;
                }
                if (v->original) {
                        cpuset_free(o->original);
                        o->original = v->original;
                }
                if (v->has_policy) {
                        o->has_policy = true;
                        o->policy = v->policy;
                }
                return 0;
        }
        return entries_push(e, cap, v);
}

int state_parse_buf(const char *buf, size_t len, StateEntries *ret, char **ret_error) {
        _cleanup_(state_entries_done) StateEntries e = {0};
        size_t cap = 0, lineno = 1, hl;
        const char *p = buf, *end = buf + len;
        bool ended = false, v1;

        if (len >= strlen(STATE_HEADER) && memcmp(buf, STATE_HEADER, strlen(STATE_HEADER)) == 0)
                v1 = false, hl = strlen(STATE_HEADER);
        else if (len >= strlen(STATE_HEADER_V1) && memcmp(buf, STATE_HEADER_V1, strlen(STATE_HEADER_V1)) == 0)
                v1 = true, hl = strlen(STATE_HEADER_V1);
        else {
                *ret_error = strdup("not a pinnerd state file (bad header)");
                return -EBADMSG;
        }
        if (memchr(buf, '\0', len)) {
                *ret_error = strdup("contains a NUL byte");
                return -EBADMSG;
        }
        p += hl;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                StateEntry v;
                lineno++;
                if (!nl) {
                        /* An append cut short by a crash: that write had not
                         * returned, so nothing relied on it yet. */
                        if (ended && !v1 && end - p >= 2 && memcmp(p, "A ", 2) == 0)
                                break;
                        *ret_error = xasprintf("line %zu: truncated", lineno);
                        return -EBADMSG;
                }
                if (ended) {
                        if (v1 || nl - p < 2 || memcmp(p, "A ", 2) != 0) {
                                *ret_error = xasprintf("line %zu: data after the end line", lineno);
                                return -EBADMSG;
                        }
                        if (parse_entry(p + 2, nl, &v) < 0) {
                                *ret_error = xasprintf("line %zu: malformed appended entry", lineno);
                                return -EBADMSG;
                        }
                        if (entries_apply(&e, &cap, &v) < 0) {
                                cpuset_free(v.original);
                                return -ENOMEM;
                        }
                } else if (nl - p > 4 && memcmp(p, "end ", 4) == 0) {
                        uint64_t count;
                        if (parse_dec_range(p + 4, nl, &count) < 0 || count != e.n + e.n_k) {
                                *ret_error = xasprintf("line %zu: end line does not match %zu entries",
                                                       lineno, e.n + e.n_k);
                                return -EBADMSG;
                        }
                        ended = true;
                } else if (kernel_line(p, nl)) {
                        StateKernelEntry *nv = reallocarray(e.k, e.n_k + 1, sizeof *nv);
                        if (!nv)
                                return -ENOMEM;
                        e.k = nv;
                        if (parse_kernel_entry(p, nl, &e.k[e.n_k]) < 0) {
                                *ret_error = xasprintf("line %zu: malformed entry", lineno);
                                return -EBADMSG;
                        }
                        e.n_k++;
                } else {
                        if (parse_entry(p, nl, &v) < 0) {
                                *ret_error = xasprintf("line %zu: malformed entry", lineno);
                                return -EBADMSG;
                        }
                        if (entries_push(&e, &cap, &v) < 0) {
                                cpuset_free(v.original);
                                return -ENOMEM;
                        }
                }
                p = nl + 1;
        }
        if (!ended) {
                *ret_error = strdup("truncated (no end line)");
                return -EBADMSG;
        }
        *ret = e;
        e = (StateEntries){0};
        return 0;
}

/* One entry line (without a tag), "-" for what was not changed. */
static int format_entry(OutBuf *o, pid_t tid, uint64_t start, pid_t pid, const CpuSet *original,
                        const SchedPolicy *policy) {
        char pol[32] = "-";
        _cleanup_(freep) char *list = original ? cpuset_format_list(original) : strdup("-");

        if (!list || (policy && policy_format(policy, pol, sizeof pol) < 0))
                return -ENOMEM;
        outbuf_printf(o, "T %d %" PRIu64 " %d %s %s\n", (int) tid, start, (int) pid, list, pol);
        return 0;
}

char *state_format(const ThreadTable *t, const StateKernelEntry *k, size_t n_k, size_t *ret_len) {
        OutBuf o = {.max = STATE_MAX_BYTES};
        size_t i = 0, n = 0;
        Thread *th;

        outbuf_puts(&o, STATE_HEADER);
        while ((th = thread_table_next(t, &i))) {
                if (!th->original && !th->policy_original)
                        continue;
                if (format_entry(&o, th->tid, th->start, th->pid, th->original, th->policy_original) < 0) {
                        outbuf_done(&o);
                        return NULL;
                }
                n++;
        }
        format_kernel_entries(&o, k, n_k, &n);
        outbuf_printf(&o, "end %zu\n", n);
        if (outbuf_error(&o) < 0) {
                outbuf_done(&o);
                return NULL;
        }
        *ret_len = o.len;
        return o.data;
}

int state_dir_open(StateDir *s, const char *socket_path, char **ret_error) {
        _cleanup_(freep) char *dir = NULL;
        const char *slash = strrchr(socket_path, '/');

        *s = (StateDir){.dirfd = -1, .lock_fd = -1, .append_fd = -1};
        if (!slash)
                dir = strdup(".");
        else if (slash == socket_path)
                dir = strdup("/");
        else
                dir = strndup(socket_path, (size_t) (slash - socket_path));
        if (!dir)
                return -ENOMEM;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
                int e = errno;
                *ret_error = xasprintf("cannot create %s: %s", dir, strerror(e));
                return -e;
        }
        s->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (s->dirfd < 0) {
                int e = errno;
                *ret_error = xasprintf("cannot open %s: %s", dir, strerror(e));
                return -e;
        }
        /* Whoever may write here may take the lock (and keep pinnerd from
         * starting) or plant the state file: only a directory of ours. */
        struct stat st;
        if (fstat(s->dirfd, &st) < 0) {
                int e = errno;
                *ret_error = xasprintf("cannot stat %s: %s", dir, strerror(e));
                state_dir_close(s);
                return -e;
        }
        if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
                *ret_error = xasprintf("refusing %s for the control socket, lock and state: %s (uid %u, mode "
                                       "%04o), so other users could take the lock or replace the state; "
                                       "use a directory only root can write, such as /run/pinnerd",
                                       dir,
                                       st.st_mode & (S_IWGRP | S_IWOTH) ? "writable by group or others"
                                                                        : "owned by another user",
                                       (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777));
                state_dir_close(s);
                return -EPERM;
        }
        s->dir = TAKE_PTR(dir);
        return 0;
}

void state_dir_close(StateDir *s) {
        if (s->append_fd >= 0)
                close(s->append_fd);
        if (s->lock_fd >= 0)
                close(s->lock_fd);
        if (s->dirfd >= 0)
                close(s->dirfd);
        free(s->dir);
        *s = (StateDir){.dirfd = -1, .lock_fd = -1, .append_fd = -1};
}

int state_lock(StateDir *s, char **ret_error) {
        int fd = openat(s->dirfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);

        if (fd < 0) {
                int e = errno;
                *ret_error = xasprintf("cannot open %s/lock: %s", s->dir, strerror(e));
                return -e;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                int e = errno;
                close(fd);
                if (e == EWOULDBLOCK) {
                        *ret_error = xasprintf("another pinnerd is running in %s (it holds %s/lock)", s->dir,
                                               s->dir);
                        return -EBUSY;
                }
                *ret_error = xasprintf("cannot lock %s/lock: %s", s->dir, strerror(e));
                return -e;
        }
        s->lock_fd = fd;
        return 0;
}

int state_load(StateDir *s, StateEntries *ret, char **ret_error) {
        _cleanup_(closep) int fd = -1;
        _cleanup_(freep) char *buf = NULL;
        struct stat st;
        size_t len = 0;

        *ret = (StateEntries){0};
        fd = openat(s->dirfd, "state", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                int e = errno;
                *ret_error =
                        e == ELOOP ? strdup("is a symbolic link") : xasprintf("cannot open: %s", strerror(e));
                return -e;
        }
        if (fstat(fd, &st) < 0) {
                int e = errno;
                *ret_error = xasprintf("cannot stat: %s", strerror(e));
                return -e;
        }
        if (!S_ISREG(st.st_mode)) {
                *ret_error = strdup("not a regular file");
                return -EPERM;
        }
        if (st.st_uid != geteuid() || (st.st_mode & 022)) {
                *ret_error = xasprintf(
                        "owned by uid %u with mode %04o; it must be ours (uid %u) and writable by "
                        "nobody else",
                        (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777), (unsigned) geteuid());
                return -EPERM;
        }
        if ((uint64_t) st.st_size > STATE_MAX_BYTES) {
                *ret_error = xasprintf("larger than %zu bytes", STATE_MAX_BYTES);
                return -EFBIG;
        }
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        while (len < (size_t) st.st_size + 1) {
                ssize_t n = read(fd, buf + len, (size_t) st.st_size + 1 - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int e = errno;
                        *ret_error = xasprintf("cannot read: %s", strerror(e));
                        return -e;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (len > (size_t) st.st_size) {
                *ret_error = strdup("grew while being read");
                return -EBADMSG;
        }
        return state_parse_buf(buf, len, ret, ret_error);
}

int state_save(StateDir *s, const ThreadTable *t, const StateKernelEntry *k, size_t n_k, char **ret_error) {
        _cleanup_(freep) char *text = NULL;
        size_t len = 0, off = 0;
        int fd, e;

        text = state_format(t, k, n_k, &len);
        if (!text) {
                *ret_error = strdup("out of memory formatting the state");
                return -ENOMEM;
        }
        /* A temporary file left by a crash is ours to replace. */
        (void) unlinkat(s->dirfd, "state.tmp", 0);
        fd = openat(s->dirfd, "state.tmp", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                    0600);
        if (fd < 0) {
                e = errno;
                *ret_error = xasprintf("cannot create %s/state.tmp: %s", s->dir, strerror(e));
                return -e;
        }
        while (off < len) {
                ssize_t n = write(fd, text + off, len - off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        e = errno;
                        close(fd);
                        (void) unlinkat(s->dirfd, "state.tmp", 0);
                        *ret_error = xasprintf("cannot write %s/state.tmp: %s", s->dir, strerror(e));
                        return -e;
                }
                off += (size_t) n;
        }
        if (close(fd) < 0) {
                e = errno;
                (void) unlinkat(s->dirfd, "state.tmp", 0);
                *ret_error = xasprintf("cannot write %s/state.tmp: %s", s->dir, strerror(e));
                return -e;
        }
        if (renameat(s->dirfd, "state.tmp", s->dirfd, "state") < 0) {
                e = errno;
                (void) unlinkat(s->dirfd, "state.tmp", 0);
                *ret_error = xasprintf("cannot rename %s/state.tmp: %s", s->dir, strerror(e));
                return -e;
        }
        s->writes++;
        /* Additions from now on are appended to the file just written. */
        if (s->append_fd >= 0)
                close(s->append_fd);
        s->append_fd = openat(s->dirfd, "state", O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (s->append_fd < 0) {
                e = errno;
                *ret_error = xasprintf("cannot open %s/state to append: %s", s->dir, strerror(e));
                return -e;
        }
        return 0;
}

int state_append(StateDir *s, pid_t pid, pid_t tid, uint64_t start, const CpuSet *original,
                 const SchedPolicy *policy, char **ret_error) {
        OutBuf o = {.max = 64 * 1024};
        int r;

        if (s->append_fd < 0) {
                *ret_error = xasprintf("%s/state is not written yet", s->dir);
                return -EBADF;
        }
        outbuf_puts(&o, "A ");
        r = format_entry(&o, tid, start, pid, original, policy);
        if (r < 0 || outbuf_error(&o) < 0) {
                outbuf_done(&o);
                *ret_error = strdup("out of memory formatting an original");
                return -ENOMEM;
        }
        /* One write of one whole line (O_APPEND): a crash leaves it whole or
         * not begun, and a cut line is ignored at load. */
        ssize_t n;
        do
                n = write(s->append_fd, o.data, o.len);
        while (n < 0 && errno == EINTR);
        r = n < 0 ? -errno : (size_t) n == o.len ? 0 : -ENOSPC;
        if (r < 0) {
                *ret_error = xasprintf("cannot append to %s/state: %s", s->dir, strerror(-r));
                /* A cut line at the end would hide later ones: start afresh
                 * with the next snapshot. */
                close(s->append_fd);
                s->append_fd = -1;
        } else {
                s->appends++;
                s->append_bytes += o.len;
        }
        outbuf_done(&o);
        return r;
}
