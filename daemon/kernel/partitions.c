/* SPDX-License-Identifier: MIT */
#include "kernel/partitions.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/util.h"

#define PART_FILE_MAX (1024 * 1024) /* cpulists, as in host.c */
/* Partitions nest a few levels at most (slice/scope/leaf); these bound a
 * hostile or runaway tree, not a real one. */
#define PART_MAX_DEPTH 32u
#define PART_MAX_VISITS 65536u

int partitions_parse_state(const char *text, PartitionState *ret) {
        static const struct {
                const char *word;
                PartitionState state;
        } words[] = {
                {"member", PARTITION_MEMBER}, {"root", PARTITION_ROOT}, {"isolated", PARTITION_ISOLATED}};
        size_t n = strspn(text, "abcdefghijklmnopqrstuvwxyz");
        const char *rest = text + n;
        PartitionState s = PARTITION_UNKNOWN;

        if (n == 0)
                return -EBADMSG;
        for (size_t i = 0; i < ELEMENTSOF(words); i++)
                if (strlen(words[i].word) == n && memcmp(words[i].word, text, n) == 0)
                        s = words[i].state;
        /* The kernel writes "WORD\n" or "WORD invalid (REASON)\n". */
        if (strncmp(rest, " invalid", 8) == 0 && (rest[8] == '\0' || rest[8] == '\n' || rest[8] == ' ')) {
                const char *nl = strchr(rest, '\n');
                if (nl && nl[1] != '\0')
                        return -EBADMSG;
                *ret = PARTITION_INVALID;
                return 0;
        }
        if (!(rest[0] == '\0' || (rest[0] == '\n' && rest[1] == '\0')))
                return -EBADMSG;
        *ret = s;
        return 0;
}

void partitions_free(Partitions *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n; i++) {
                free(p->v[i].path);
                free(p->v[i].source);
                cpuset_free(p->v[i].cpus);
        }
        free(p->v);
        cpuset_free(p->isolated);
        free(p);
}

/* NULL when absent (or not a readable cpulist: *bad set). */
static int read_cpus(int dirfd, const char *file, CpuSet **ret, bool *bad) {
        _cleanup_(freep) char *text = NULL;
        CpuSetError err;
        int r;

        *ret = NULL;
        r = read_file_alloc_at(dirfd, file, PART_FILE_MAX, &text, NULL);
        if (r == -ENOENT || r == -ENOTDIR)
                return 0;
        if (r < 0)
                return r;
        r = cpuset_parse_list(text, ret, &err);
        if (r == -EINVAL) {
                *bad = true;
                *ret = NULL;
                return 0;
        }
        return r;
}

typedef struct Walk {
        Partitions *p;
        size_t cap;
        unsigned visits;
} Walk;

static int add_partition(Walk *w, const char *path, CpuSet *cpus) {
        Partition *x;

        if (w->p->n == w->cap) {
                size_t cap = w->cap ? w->cap * 2 : 4;
                Partition *v = realloc(w->p->v, cap * sizeof(Partition));
                if (!v)
                        return -ENOMEM;
                w->p->v = v;
                w->cap = cap;
        }
        x = &w->p->v[w->p->n];
        x->path = strdup(path);
        x->source = xasprintf("partition %s", path);
        if (!x->path || !x->source) {
                free(x->path);
                free(x->source);
                return -ENOMEM;
        }
        x->cpus = cpus;
        w->p->n++;
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Child cgroup directories of dirfd, sorted (readdir order is arbitrary). */
static int list_children(int dirfd, StrVec *ret) {
        struct dirent *de;
        DIR *d;
        int r = dirfd_opendir(dirfd, ".", &d);

        if (r < 0)
                return r;
        while ((r = dir_next(d, &de)) > 0) {
                if (de->d_name[0] == '.')
                        continue;
                if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
                        continue;
                r = strvec_push(ret, de->d_name);
                if (r < 0)
                        break;
        }
        closedir(d);
        if (r >= 0 && ret->n > 1)
                qsort(ret->v, ret->n, sizeof(char *), cmp_str);
        return r;
}

static int walk(Walk *w, int dirfd, const char *path, unsigned depth) {
        _cleanup_(strvec_done) StrVec children = {0};
        int r;

        if (depth >= PART_MAX_DEPTH)
                return 0;
        r = list_children(dirfd, &children);
        if (r < 0)
                return r == -ENOMEM ? r : 0; /* a cgroup removed under us: nothing below it */
        for (size_t i = 0; i < children.n; i++) {
                _cleanup_(dirfd_closep) int fd = -1;
                _cleanup_(freep) char *state_text = NULL, *child = NULL;
                _cleanup_(cpuset_freep) CpuSet *cpus = NULL, *exclusive = NULL;
                PartitionState st;
                bool bad = false;

                if (++w->visits > PART_MAX_VISITS)
                        return 0;
                /* A symlink is no cgroup: not followed. */
                if (dirfd_readlinkat(dirfd, children.v[i], (char[1]){0}, 1) >= 0)
                        continue;
                fd = dirfd_open_dir(dirfd, children.v[i]);
                if (fd < 0)
                        continue;
                r = read_file_alloc_at(fd, "cpuset.cpus.partition", 4096, &state_text, NULL);
                if (r == -ENOMEM)
                        return r;
                /* No cpuset on this cgroup: none below it either. */
                if (r < 0 || partitions_parse_state(state_text, &st) < 0)
                        continue;
                child = xasprintf("%s/%s", path, children.v[i]);
                if (!child)
                        return -ENOMEM;
                if (st == PARTITION_ISOLATED) {
                        r = read_cpus(fd, "cpuset.cpus.effective", &cpus, &bad);
                        if (r < 0)
                                return r;
                        if (cpus && !cpuset_empty(cpus)) {
                                r = add_partition(w, child, cpus);
                                if (r < 0)
                                        return r;
                                cpus = NULL; /* owned by the list */
                        }
                }
                /* Below a partition root, or on the way to a remote partition
                 * (every ancestor of one holds its CPUs as exclusive). */
                if (st != PARTITION_ROOT && st != PARTITION_ISOLATED) {
                        r = read_cpus(fd, "cpuset.cpus.exclusive", &exclusive, &bad);
                        if (r < 0)
                                return r;
                        if (!exclusive || cpuset_empty(exclusive))
                                continue;
                }
                r = walk(w, fd, child, depth + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

int partitions_load(int rootfd, const char *v2_path, Partitions **ret, char **ret_error) {
        _cleanup_(partitions_freep) Partitions *p = NULL;
        _cleanup_(dirfd_closep) int fd = -1;
        _cleanup_(freep) char *top = NULL, *root_text = NULL;
        Walk w = {0};
        int r;

        p = calloc(1, sizeof(Partitions));
        if (!p)
                return -ENOMEM;
        p->isolated = cpuset_new();
        if (!p->isolated)
                return -ENOMEM;
        if (!v2_path)
                goto done;
        /* v2_path is absolute; below the root handle it is relative. */
        fd = dirfd_open_dir(rootfd, v2_path[0] == '/' ? v2_path + 1 : v2_path);
        if (fd < 0)
                goto done; /* mount table names what we cannot open: nothing known */
        /* cpuset bound to a v1 hierarchy (hybrid hosts): no partitions. */
        if (dirfd_exists(fd, "cpuset.cpus.effective") < 0)
                goto done;

        r = read_file_alloc_at(fd, "cpuset.cpus.isolated", PART_FILE_MAX, &root_text, NULL);
        if (r >= 0) {
                CpuSet *s;
                CpuSetError err;
                r = cpuset_parse_list(root_text, &s, &err);
                if (r < 0) {
                        if (ret_error && r == -EINVAL)
                                *ret_error = xasprintf("cannot parse /%s/cpuset.cpus.isolated: %s: '%s'",
                                                       v2_path, err.reason, err.token);
                        return r == -EINVAL ? -EBADMSG : r;
                }
                cpuset_free(p->isolated);
                p->isolated = s;
                p->from_root_file = true;
                /* The kernel says no CPU is isolated: no walk needed. */
                if (cpuset_empty(s))
                        goto done;
        } else if (r != -ENOENT)
                return r;

        top = strcmp(v2_path, ".") == 0 ? strdup("") : xasprintf("/%s", v2_path);
        if (!top)
                return -ENOMEM;
        w.p = p;
        r = walk(&w, fd, top, 0);
        if (r < 0)
                return r;
        if (!p->from_root_file)
                for (size_t i = 0; i < p->n; i++) {
                        r = cpuset_or(p->isolated, p->v[i].cpus);
                        if (r < 0)
                                return r;
                }
done:
        *ret = TAKE_PTR(p);
        return 0;
}

const char *partitions_source(const Partitions *p, unsigned cpu) {
        if (!p)
                return NULL;
        if (!cpuset_has(p->isolated, cpu))
                return NULL;
        for (size_t i = 0; i < p->n; i++)
                if (cpuset_has(p->v[i].cpus, cpu))
                        return p->v[i].source;
        return PART_UNNAMED;
}
