/* SPDX-License-Identifier: MIT */
#include "kernel/schedpolicy.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kernel/procfs.h"
#include "lib/util.h"

/* The kernel's struct sched_attr (SCHED_ATTR_SIZE_VER0), under a name of our
 * own: newer C libraries declare the struct themselves, older ones do not. */
typedef struct KernelSchedAttr {
        uint32_t size;
        uint32_t sched_policy;
        uint64_t sched_flags;
        int32_t sched_nice;
        uint32_t sched_priority;
        uint64_t sched_runtime, sched_deadline, sched_period;
} KernelSchedAttr;

#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif
#ifndef SCHED_RESET_ON_FORK
#define SCHED_RESET_ON_FORK 0x40000000
#endif

static const struct {
        const char *name;
        int kernel;
} kinds[_POLICY_MAX] = {
        [POLICY_OTHER] = {"other", SCHED_OTHER}, [POLICY_BATCH] = {"batch", SCHED_BATCH},
        [POLICY_IDLE] = {"idle", SCHED_IDLE},    [POLICY_FIFO] = {"fifo", SCHED_FIFO},
        [POLICY_RR] = {"rr", SCHED_RR},
};

const char *policy_kind_name(PolicyKind k) {
        return k < _POLICY_MAX ? kinds[k].name : "?";
}

int policy_kind_parse(const char *s, PolicyKind *ret) {
        for (int k = 0; k < _POLICY_MAX; k++)
                if (strcmp(s, kinds[k].name) == 0) {
                        *ret = (PolicyKind) k;
                        return 0;
                }
        return -EINVAL;
}

bool policy_is_realtime(PolicyKind k) {
        return k == POLICY_FIFO || k == POLICY_RR;
}

static bool policy_has_nice(PolicyKind k) {
        return k == POLICY_OTHER || k == POLICY_BATCH;
}

bool policy_equal(const SchedPolicy *a, const SchedPolicy *b) {
        return a->kind == b->kind && a->rtprio == b->rtprio && a->nice == b->nice;
}

int policy_format(const SchedPolicy *p, char *buf, size_t size) {
        int n;

        if (p->kind >= _POLICY_MAX)
                return -EINVAL;
        if (policy_is_realtime(p->kind))
                n = snprintf(buf, size, "%s:%u", kinds[p->kind].name, p->rtprio);
        else if (policy_has_nice(p->kind))
                n = snprintf(buf, size, "%s:nice=%d", kinds[p->kind].name, p->nice);
        else
                n = snprintf(buf, size, "%s", kinds[p->kind].name);
        return n < 0 || (size_t) n >= size ? -ENOBUFS : 0;
}

int policy_parse(const char *s, SchedPolicy *ret) {
        char name[16];
        const char *colon = strchr(s, ':');
        size_t nl = colon ? (size_t) (colon - s) : strlen(s);
        SchedPolicy p = {0};
        char *end;

        if (nl == 0 || nl >= sizeof name)
                return -EINVAL;
        memcpy(name, s, nl);
        name[nl] = '\0';
        if (policy_kind_parse(name, &p.kind) < 0)
                return -EINVAL;
        if (policy_is_realtime(p.kind)) {
                if (!colon || colon[1] < '1' || colon[1] > '9')
                        return -EINVAL;
                errno = 0;
                unsigned long v = strtoul(colon + 1, &end, 10);
                if (errno || *end || v < 1 || v > 99)
                        return -EINVAL;
                p.rtprio = (unsigned) v;
        } else if (policy_has_nice(p.kind)) {
                if (!colon || strncmp(colon + 1, "nice=", 5) != 0 || !colon[6])
                        return -EINVAL;
                errno = 0;
                long v = strtol(colon + 6, &end, 10);
                if (errno || *end || v < -20 || v > 19)
                        return -EINVAL;
                p.nice = (int) v;
        } else if (colon)
                return -EINVAL;
        *ret = p;
        return 0;
}

int policy_get(pid_t tid, SchedPolicy *ret) {
        KernelSchedAttr attr = {0};
        SchedPolicy p = {0};

        if (syscall(SYS_sched_getattr, tid, &attr, (unsigned) sizeof attr, 0u) < 0)
                return -errno;
        int kp = (int) (attr.sched_policy & ~(uint32_t) SCHED_RESET_ON_FORK);
        if (kp == SCHED_DEADLINE)
                return -EBUSY;
        for (int k = 0; k < _POLICY_MAX; k++)
                if (kinds[k].kernel == kp)
                        p.kind = (PolicyKind) k;
        if (policy_is_realtime(p.kind))
                p.rtprio = attr.sched_priority;
        if (policy_has_nice(p.kind))
                p.nice = attr.sched_nice;
        *ret = p;
        return 0;
}

static AffinityResult classify(int err) {
        switch (err) {
        case ESRCH:
                return AFF_GONE;
        case EPERM:
                return AFF_EPERM;
        case EBUSY:
                return AFF_EBUSY;
        case EINVAL:
                return AFF_EINVAL;
        default:
                return AFF_ERROR;
        }
}

/* Read, compare, (re-check identity unless the task is held), write. */
static AffinityResult apply(const Affinity *a, pid_t pid, pid_t tid, const uint64_t *start,
                            const SchedPolicy *want, SchedPolicy *ret_previous, int *ret_errno) {
        SchedPolicy prev;
        TaskStat st;
        int r;

        *ret_errno = 0;
        r = policy_get(tid, &prev);
        if (r < 0) {
                *ret_errno = -r;
                return classify(-r);
        }
        *ret_previous = prev;
        if (policy_equal(&prev, want))
                return AFF_UNCHANGED;
        if (start) {
                r = procfs_read_stat(a->procfd, pid, tid, &st);
                if (r < 0)
                        return AFF_GONE;
                if (st.starttime != *start)
                        return AFF_RECYCLED;
        }
        if (a->dry_run)
                return AFF_DRY_RUN;
        KernelSchedAttr attr = {
                .size = sizeof attr,
                .sched_policy = (uint32_t) kinds[want->kind].kernel,
                .sched_nice = want->nice,
                .sched_priority = want->rtprio,
        };
        if (syscall(SYS_sched_setattr, tid, &attr, 0u) < 0) {
                *ret_errno = errno;
                return classify(errno);
        }
        return AFF_SET;
}

AffinityResult policy_apply(const Affinity *a, pid_t pid, pid_t tid, uint64_t start, const SchedPolicy *want,
                            SchedPolicy *ret_previous, int *ret_errno) {
        if (a->from_status) {
                /* A captured tree has no live thread to ask: say what would be set. */
                *ret_errno = 0;
                *ret_previous = (SchedPolicy){.kind = POLICY_OTHER};
                return AFF_DRY_RUN;
        }
        return apply(a, pid, tid, &start, want, ret_previous, ret_errno);
}

AffinityResult policy_held_set(const Affinity *a, pid_t tid, const SchedPolicy *want,
                               SchedPolicy *ret_previous, int *ret_errno) {
        return apply(a, 0, tid, NULL, want, ret_previous, ret_errno);
}
