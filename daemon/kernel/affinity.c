/* SPDX-License-Identifier: MIT */
#include "kernel/affinity.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "kernel/procfs.h"
#include "lib/util.h"

int affinity_parse_status_buf(const char *buf, CpuSet **ret) {
        const char *p = strstr(buf, "\nCpus_allowed_list:");
        char line[4096];
        size_t n;

        if (!p)
                return -EBADMSG;
        p += strlen("\nCpus_allowed_list:");
        n = strcspn(p, "\n");
        if (n >= sizeof line)
                return -EBADMSG;
        memcpy(line, p, n);
        line[n] = '\0';
        return cpuset_parse_list(line, ret, NULL) < 0 ? -EBADMSG : 0;
}

int affinity_get(const Affinity *a, pid_t pid, pid_t tid, CpuSet **ret) {
        if (a->from_status) {
                char path[64], buf[8192];
                snprintf(path, sizeof path, "%d/task/%d/status", (int) pid, (int) tid);
                ssize_t r = read_file_at(a->procfd, path, buf, sizeof buf);
                if (r == -ENOENT)
                        return -ESRCH;
                if (r < 0)
                        return (int) r;
                return affinity_parse_status_buf(buf, ret);
        }

        unsigned long buf[a->bytes / sizeof(unsigned long)];
        if (sched_getaffinity(tid, a->bytes, (cpu_set_t *) buf) < 0)
                return -errno;
        return cpuset_from_kernel(buf, a->bytes, ret);
}

static AffinityResult identity_check(const Affinity *a, pid_t pid, pid_t tid, uint64_t start) {
        TaskStat st;
        int r = procfs_read_stat(a->procfd, pid, tid, &st);
        if (r < 0)
                return AFF_GONE;
        return st.starttime == start ? AFF_SET : AFF_RECYCLED;
}

static AffinityResult classify(int err) {
        switch (err) {
        case ESRCH:
                return AFF_GONE;
        case EINVAL:
                return AFF_EINVAL;
        case EPERM:
                return AFF_EPERM;
        case EBUSY:
                return AFF_EBUSY;
        default:
                return AFF_ERROR;
        }
}

AffinityResult affinity_apply(const Affinity *a, pid_t pid, pid_t tid, uint64_t start, const CpuSet *want,
                              CpuSet **ret_previous, CpuSet **ret_now, int *ret_errno) {
        _cleanup_(cpuset_freep) CpuSet *previous = NULL;
        AffinityResult res;
        int r;

        *ret_errno = 0;
        r = affinity_get(a, pid, tid, &previous);
        if (r < 0) {
                *ret_errno = -r;
                return r == -ESRCH || r == -ENOENT ? AFF_GONE : classify(-r);
        }
        /* Reading first keeps repeated plans free: no write, no IPI, no log. */
        if (cpuset_equal(previous, want)) {
                *ret_previous = TAKE_PTR(previous);
                return AFF_UNCHANGED;
        }
        res = identity_check(a, pid, tid, start);
        if (res != AFF_SET)
                return res;
        if (a->dry_run) {
                *ret_now = cpuset_dup(want);
                *ret_previous = TAKE_PTR(previous);
                return AFF_DRY_RUN;
        }

        unsigned long buf[a->bytes / sizeof(unsigned long)];
        cpuset_to_kernel(want, buf, a->bytes);
        if (sched_setaffinity(tid, a->bytes, (cpu_set_t *) buf) < 0) {
                *ret_errno = errno;
                return classify(errno);
        }
        r = affinity_get(a, pid, tid, ret_now);
        if (r < 0)
                *ret_now = cpuset_dup(want);
        *ret_previous = TAKE_PTR(previous);
        return AFF_SET;
}

int affinity_held_get(const Affinity *a, pid_t tid, unsigned long *ret_mask) {
        if (sched_getaffinity(tid, a->bytes, (cpu_set_t *) ret_mask) < 0)
                return -errno;
        return 0;
}

AffinityResult affinity_held_set(const Affinity *a, pid_t tid, const unsigned long *mask, int *ret_errno) {
        *ret_errno = 0;
        if (a->dry_run)
                return AFF_DRY_RUN;
        if (sched_setaffinity(tid, a->bytes, (const cpu_set_t *) mask) < 0) {
                *ret_errno = errno;
                return classify(errno);
        }
        return AFF_SET;
}

const char *affinity_result_reason(AffinityResult r) {
        switch (r) {
        case AFF_SET:
                return "set";
        case AFF_UNCHANGED:
                return "unchanged";
        case AFF_DRY_RUN:
                return "dry-run";
        case AFF_GONE:
                return "thread exited";
        case AFF_RECYCLED:
                return "tid now names another thread";
        case AFF_EINVAL:
                return "kernel refused the mask: no allowed CPU, or a thread that cannot move";
        case AFF_EPERM:
                return "permission denied";
        case AFF_EBUSY:
                return "SCHED_DEADLINE thread cannot change affinity";
        case AFF_ERROR:
        default:
                return "sched_setaffinity failed";
        }
}
