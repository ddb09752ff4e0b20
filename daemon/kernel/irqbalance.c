/* SPDX-License-Identifier: MIT */
#include "kernel/irqbalance.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/procfs.h"
#include "lib/util.h"

/* An environment or argv larger than this is not irqbalance's. */
#define IRQBALANCE_FILE_MAX (1024 * 1024)
#define IRQBALANCE_MAX_BANIRQ 4096

/* The value of KEY= in a NUL-separated buffer, or NULL (the last one wins,
 * as getenv() after a later setenv()). */
static const char *env_value(const char *buf, size_t len, const char *key) {
        size_t k = strlen(key);
        const char *found = NULL;

        for (const char *p = buf, *end = buf + len; p < end;) {
                size_t n = strnlen(p, (size_t) (end - p));
                if (n > k && memcmp(p, key, k) == 0 && p[k] == '=')
                        found = p + k + 1;
                p += n + 1;
        }
        return found;
}

int irqbalance_parse_environ_buf(const char *buf, size_t len, CpuSet **ret, const char **ret_from) {
        _cleanup_(freep) char *copy = NULL;
        const char *v, *from = "IRQBALANCE_BANNED_CPULIST";
        CpuSet *s = NULL;
        int r;

        /* The buffer may end without a NUL (a cut read): copy, terminated. */
        copy = malloc(len + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, buf, len);
        copy[len] = '\0';
        v = env_value(copy, len, from);
        if (!v) {
                from = "IRQBALANCE_BANNED_CPUS";
                v = env_value(copy, len, from);
        }
        if (!v) {
                *ret = NULL;
                *ret_from = NULL;
                return 0;
        }
        _cleanup_(freep) char *val = strdup(v);
        if (!val)
                return -ENOMEM;
        if (strcmp(from, "IRQBALANCE_BANNED_CPULIST") == 0)
                r = cpuset_parse_list(strstrip(val), &s, NULL);
        else
                r = cpuset_parse_mask(strstrip(val), &s, NULL);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return -EBADMSG;
        *ret = s;
        *ret_from = from;
        return 0;
}

static int push_irq(unsigned **v, size_t *n, const char *s) {
        unsigned irq;

        if (parse_uint(s, &irq) < 0 || *n >= IRQBALANCE_MAX_BANIRQ)
                return 0;
        unsigned *nv = reallocarray(*v, *n + 1, sizeof *nv);
        if (!nv)
                return -ENOMEM;
        nv[(*n)++] = irq;
        *v = nv;
        return 0;
}

int irqbalance_parse_cmdline_buf(const char *buf, size_t len, unsigned **ret, size_t *ret_n) {
        _cleanup_(freep) char *copy = malloc(len + 1);
        _cleanup_(freep) unsigned *v = NULL;
        size_t n = 0;
        bool next_is_irq = false;

        if (!copy)
                return -ENOMEM;
        memcpy(copy, buf, len);
        copy[len] = '\0';
        for (char *p = copy, *end = copy + len; p < end; p += strlen(p) + 1) {
                const char *val = NULL;
                if (next_is_irq)
                        val = p;
                else if (strncmp(p, "--banirq=", 9) == 0)
                        val = p + 9;
                else if (strncmp(p, "-i", 2) == 0 && p[2])
                        val = p + 2;
                next_is_irq = !val && (strcmp(p, "--banirq") == 0 || strcmp(p, "-i") == 0);
                if (val && push_irq(&v, &n, val) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

void irqbalance_done(IrqBalance *b) {
        cpuset_free(b->banned);
        free(b->banned_irqs);
        *b = (IrqBalance){0};
}

int irqbalance_find(int procfd, IrqBalance *ret) {
        _cleanup_(freep) pid_t *pids = NULL;
        IrqBalance b = {0};
        size_t n = 0;
        char path[64];
        int r;

        *ret = b;
        if (procfs_list_pids(procfd, &pids, &n) < 0)
                return 0;
        for (size_t i = 0; i < n && b.pid == 0; i++) {
                char comm[COMM_MAX + 2];
                if (procfs_read_comm(procfd, pids[i], comm, sizeof comm) >= 0 &&
                    strcmp(comm, "irqbalance") == 0)
                        b.pid = pids[i];
        }
        if (b.pid == 0)
                return 0;

        _cleanup_(freep) char *env = NULL, *cmd = NULL;
        size_t len = 0;
        snprintf(path, sizeof path, "%d/environ", (int) b.pid);
        r = read_file_alloc_at(procfd, path, IRQBALANCE_FILE_MAX, &env, &len);
        if (r >= 0)
                r = irqbalance_parse_environ_buf(env, len, &b.banned, &b.banned_from);
        if (r == -ENOMEM)
                return r;
        b.environ_unknown = r < 0;
        snprintf(path, sizeof path, "%d/cmdline", (int) b.pid);
        if (read_file_alloc_at(procfd, path, IRQBALANCE_FILE_MAX, &cmd, &len) >= 0 &&
            irqbalance_parse_cmdline_buf(cmd, len, &b.banned_irqs, &b.n_banned_irqs) == -ENOMEM) {
                irqbalance_done(&b);
                return -ENOMEM;
        }
        *ret = b;
        return 0;
}
