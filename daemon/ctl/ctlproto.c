/* SPDX-License-Identifier: MIT */
#include "ctl/ctlproto.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "lib/util.h"

/* clang-format off */
const CtlVerbInfo ctl_verb_table[] = {
        /* name      synopsis                      summary (--help)
         *           min max options               root   local */
        {"reload",  "",                           "re-read the configuration, re-plan (root)",
                    0, 0, 0,                      true,  false},
        {"status",  "",                           "event source, what each rule does, counters",
                    0, 0, 0,                      false, false},
        {"list",    " [PID] [--rule NAME]",       "managed threads: rule, CPU masks, skips",
                    0, 1, CTL_OPT_RULE,           false, false},
        {"explain", " PID|irq:N [--thread TID]",  "why each thread of PID (or IRQ N) is where it is",
                    1, 1, CTL_OPT_THREAD,         false, false},
        {"rescan",  "",                           "rescan /proc now (root)",
                    0, 0, 0,                      true,  false},
        {"metrics", "",                           "counters and gauges for Prometheus",
                    0, 0, 0,                      false, false},
        {"cpus",    " [CPUS] [--sample SECONDS]", "per CPU: topology, rules, tasks, IRQs, interrupts/s",
                    0, 1, CTL_OPT_SAMPLE,         false, false},
        {"audit",   " CPUS [--sample SECONDS]",   "what else runs on CPUS and why; exit 1 if it could move",
                    1, 1, CTL_OPT_SAMPLE,         false, false},
        {"check",   " [FILE] [--config-dir DIR]", "validate a configuration, without pinnerd",
                    0, 1, CTL_OPT_CONFIG_DIR,     false, true},
        {"run",     " RULE -- COMMAND [ARGS...]", "set on this process what RULE gives, then run COMMAND",
                    1, 1, CTL_OPT_COMMAND,        false, false},
};
/* clang-format on */
const size_t ctl_verb_table_size = ELEMENTSOF(ctl_verb_table);

const CtlVerbInfo *ctl_verb_find(const char *name) {
        for (size_t i = 0; name && i < ELEMENTSOF(ctl_verb_table); i++)
                if (strcmp(ctl_verb_table[i].name, name) == 0)
                        return &ctl_verb_table[i];
        return NULL;
}

bool ctl_verb_valid(const char *verb) {
        size_t n = 0;

        if (!verb)
                return false;
        for (; verb[n]; n++) {
                char c = verb[n];
                if (n >= CTL_MAX_VERB || !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
                        return false;
        }
        return n > 0;
}

int ctl_request_encode(const char *verb, const char *const *args, size_t n_args, unsigned flags, void *buf,
                       size_t size, size_t *ret_len) {
        size_t limit = size < CTL_MAX_REQUEST ? size : CTL_MAX_REQUEST;
        size_t need = CTL_MAGIC_LEN + 1 + strlen(verb ? verb : "") + 1;
        char *p = buf;

        if (!ctl_verb_valid(verb) || (flags & ~CTL_FLAGS_KNOWN) || n_args > CTL_MAX_ARGS)
                return -EINVAL;
        for (size_t i = 0; i < n_args; i++) {
                if (!args[i])
                        return -EINVAL;
                need += strlen(args[i]) + 1;
                if (need > limit)
                        return -E2BIG;
        }
        if (need > limit)
                return -E2BIG;

        memcpy(p, CTL_MAGIC, CTL_MAGIC_LEN);
        p += CTL_MAGIC_LEN;
        *p++ = (char) flags;
        p = stpcpy(p, verb) + 1;
        for (size_t i = 0; i < n_args; i++)
                p = stpcpy(p, args[i]) + 1;
        *ret_len = need;
        return 0;
}

int ctl_request_decode(const void *buf, size_t len, CtlWireRequest *ret) {
        const char *p = buf, *end = p + len;
        CtlWireRequest req = {0};
        unsigned char flags;

        if (len > CTL_MAX_REQUEST)
                return -E2BIG;
        /* magic, flags, at least a one-byte verb and its NUL */
        if (len < CTL_MAGIC_LEN + 1 + 2 || memcmp(p, CTL_MAGIC, CTL_MAGIC_LEN) != 0)
                return -EBADMSG;
        flags = (unsigned char) p[CTL_MAGIC_LEN];
        if (flags & ~CTL_FLAGS_KNOWN)
                return -EBADMSG;
        req.flags = flags;
        p += CTL_MAGIC_LEN + 1;
        /* Every string must be terminated, including the last one. */
        if (end[-1] != '\0')
                return -EBADMSG;

        req.verb = p;
        if (!ctl_verb_valid(req.verb))
                return -EBADMSG;
        p += strlen(p) + 1;
        while (p < end) {
                if (req.n_args >= CTL_MAX_ARGS)
                        return -EBADMSG;
                req.args[req.n_args++] = p;
                p += strlen(p) + 1;
        }
        *ret = req;
        return 0;
}

int ctl_chunk_encode_data(char type, const void *data, size_t n, void *buf, size_t size, size_t *ret_len) {
        char *p = buf;

        if (type != CTL_CHUNK_STDOUT && type != CTL_CHUNK_STDERR)
                return -EINVAL;
        if (n > CTL_MAX_CHUNK - 1 || n + 1 > size)
                return -E2BIG;
        p[0] = type;
        if (n > 0)
                memcpy(p + 1, data, n);
        *ret_len = n + 1;
        return 0;
}

int ctl_chunk_encode_exit(int code, void *buf, size_t size, size_t *ret_len) {
        char tmp[8];
        int n;

        if (code < 0 || code > 255)
                return -EINVAL;
        n = snprintf(tmp, sizeof tmp, "%c%d", CTL_CHUNK_EXIT, code);
        if ((size_t) n > size)
                return -E2BIG;
        memcpy(buf, tmp, (size_t) n);
        *ret_len = (size_t) n;
        return 0;
}

int ctl_chunk_decode(const void *buf, size_t len, CtlChunk *ret) {
        const char *p = buf;
        int code = 0;

        if (len > CTL_MAX_CHUNK)
                return -E2BIG;
        if (len < 1)
                return -EBADMSG;
        switch (p[0]) {
        case CTL_CHUNK_STDOUT:
        case CTL_CHUNK_STDERR:
                *ret = (CtlChunk){.type = p[0], .data = p + 1, .len = len - 1};
                return 0;
        case CTL_CHUNK_EXIT:
                /* 1..3 digits, no leading zero, at most 255. */
                if (len < 2 || len > 4 || (len > 2 && p[1] == '0'))
                        return -EBADMSG;
                for (size_t i = 1; i < len; i++) {
                        if (p[i] < '0' || p[i] > '9')
                                return -EBADMSG;
                        code = code * 10 + (p[i] - '0');
                }
                if (code > 255)
                        return -EBADMSG;
                *ret = (CtlChunk){.type = CTL_CHUNK_EXIT, .exit_code = code};
                return 0;
        default:
                return -EBADMSG;
        }
}

int ctl_client_connect(const char *path) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        /* A daemon with a full backlog must not hang the client forever. */
        struct timeval tv = {.tv_sec = 10};
        _cleanup_(closep) int fd = -1;

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return errno == EAGAIN ? -ETIMEDOUT : -errno;
        return TAKE_FD(fd);
}

int ctl_client_send(int fd, const char *verb, const char *const *args, size_t n_args, unsigned flags) {
        char buf[CTL_MAX_REQUEST];
        size_t len;
        ssize_t n;
        int r;

        r = ctl_request_encode(verb, args, n_args, flags, buf, sizeof buf, &len);
        if (r < 0)
                return r;
        do
                n = send(fd, buf, len, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == EAGAIN ? -ETIMEDOUT : -errno;
        if ((size_t) n != len)
                return -EIO;
        return 0;
}

int ctl_client_recv(int fd, void *buf, size_t size, int timeout_msec, CtlChunk *ret) {
        uint64_t deadline = timeout_msec < 0 ? 0 : now_usec() + (uint64_t) timeout_msec * 1000;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        ssize_t n;

        if (size < CTL_MAX_CHUNK)
                return -EINVAL;
        for (;;) {
                int wait = -1, r;

                if (timeout_msec >= 0) {
                        uint64_t now = now_usec();
                        if (now >= deadline)
                                return -ETIMEDOUT;
                        wait = (int) ((deadline - now + 999) / 1000);
                }
                r = poll(&pfd, 1, wait);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (r == 0)
                        continue; /* the deadline check above decides */
                n = recv(fd, buf, size, MSG_TRUNC | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return -errno;
                }
                break;
        }
        if (n == 0)
                return -ECONNRESET;
        if ((size_t) n > size)
                return -EBADMSG; /* truncated: the daemon never sends this */
        return ctl_chunk_decode(buf, (size_t) n, ret) < 0 ? -EBADMSG : 0;
}
