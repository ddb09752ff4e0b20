/* SPDX-License-Identifier: MIT */
#include "kernel/workqueue.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WQ_MASK_MAX (64 * 1024)

bool wq_name_valid(const char *name) {
        size_t n = name ? strlen(name) : 0;

        return n > 0 && n <= WQ_NAME_MAX && !strchr(name, '/') && strcmp(name, ".") != 0 &&
               strcmp(name, "..") != 0;
}

static int str_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int wq_list(int rootfd, StrVec *ret) {
        _cleanup_(strvec_done) StrVec v = {0};
        struct dirent *de;
        DIR *d;
        int r = dirfd_opendir(rootfd, WQ_DIR, &d);

        if (r == -ENOENT) {
                *ret = (StrVec){0};
                return 0;
        }
        if (r < 0)
                return r;
        while ((r = dir_next(d, &de)) > 0) {
                char path[sizeof(WQ_DIR) + sizeof de->d_name + 16];
                if (!wq_name_valid(de->d_name) || strcmp(de->d_name, "power") == 0 ||
                    (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
                        continue;
                /* Only the workqueues with a mask of their own (unbound, WQ_SYSFS). */
                snprintf(path, sizeof path, WQ_DIR "/%s/cpumask", de->d_name);
                if (dirfd_exists(rootfd, path) < 0)
                        continue;
                if (v.n >= WQ_MAX) {
                        r = -E2BIG;
                        break;
                }
                if (strvec_push(&v, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
        }
        closedir(d);
        if (r < 0)
                return r;
        if (v.n > 1)
                qsort(v.v, v.n, sizeof(char *), str_cmp);
        *ret = v;
        v = (StrVec){0};
        return 0;
}

int wq_parse_mask_buf(const char *buf, CpuSet **ret) {
        /* The hex mask default_smp_affinity has too. */
        return irq_parse_default_affinity_buf(buf, ret);
}

static int read_mask_at(int rootfd, const char *path, CpuSet **ret) {
        _cleanup_(freep) char *text = NULL;
        int r = read_file_alloc_at(rootfd, path, WQ_MASK_MAX, &text, NULL);

        if (r < 0)
                return r;
        return wq_parse_mask_buf(text, ret);
}

static int mask_path(const char *name, char *buf, size_t size) {
        if (strcmp(name, WQ_GLOBAL) == 0)
                snprintf(buf, size, WQ_DIR "/cpumask");
        else if (!wq_name_valid(name))
                return -EINVAL;
        else
                snprintf(buf, size, WQ_DIR "/%s/cpumask", name);
        return 0;
}

int wq_read_mask(int rootfd, const char *name, CpuSet **ret) {
        char path[WQ_NAME_MAX + 64];
        int r;

        if (strcmp(name, WQ_GLOBAL) == 0) {
                r = read_mask_at(rootfd, WQ_DIR "/cpumask_requested", ret);
                if (r != -ENOENT)
                        return r;
        }
        r = mask_path(name, path, sizeof path);
        if (r < 0)
                return r;
        return read_mask_at(rootfd, path, ret);
}

int wq_read_effective(int rootfd, CpuSet **ret) {
        return read_mask_at(rootfd, WQ_DIR "/cpumask", ret);
}

IrqWrite wq_write_mask(int rootfd, const char *name, const CpuSet *want, bool dry_run, int *ret_errno) {
        _cleanup_(cpuset_freep) CpuSet *cur = NULL;
        _cleanup_(freep) char *text = NULL;
        char path[WQ_NAME_MAX + 64];
        int r;

        *ret_errno = 0;
        r = mask_path(name, path, sizeof path);
        if (r < 0) {
                *ret_errno = -r;
                return IRQ_WRITE_UNMOVABLE;
        }
        r = wq_read_mask(rootfd, name, &cur);
        if (r == -ENOENT)
                return IRQ_WRITE_GONE;
        if (r >= 0 && cpuset_equal(cur, want))
                return IRQ_WRITE_UNCHANGED;
        if (dry_run)
                return IRQ_WRITE_DRY_RUN;
        text = cpuset_format_mask(want);
        return irq_write_text_at(rootfd, path, text, ret_errno);
}
