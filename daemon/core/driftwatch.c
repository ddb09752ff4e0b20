/* SPDX-License-Identifier: MIT */
#include "core/driftwatch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/reconcile.h"
#include "lib/util.h"

#define RECORDS_MAX 256

static int on_affwatch(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        DriftWatch *d = userdata;
        Reconciler *rc = d->rc;
        AffRecord rec[RECORDS_MAX];
        bool lost = false;
        pid_t self = getpid();
        int n = affwatch_read(d->watch, rec, RECORDS_MAX, &lost);

        if (n < 0)
                return 0;
        /* A dry run never sets a mask, so there is nothing to drift from. */
        if (rc->dry_run)
                return 0;
        if (lost) {
                /* Calls we could not see may have moved anything. */
                d->lost++;
                reconcile_check_drift(rc);
        } else
                for (int i = 0; i < n; i++) {
                        /* The kernel filters our own tid; belt and braces
                         * for any other thread of ours. */
                        if (rec[i].caller_pid == self)
                                continue;
                        d->events++;
                        reconcile_drift_event(rc, rec[i].target);
                }
        return 0;
}

int driftwatch_start(DriftWatch *d, sd_event *e, Reconciler *rc) {
        int r;

        driftwatch_stop(d);
        d->event = e;
        d->rc = rc;
        r = affwatch_open(NULL, rc->host->online, (pid_t) syscall(SYS_gettid), &d->watch, &d->error);
        if (r < 0) {
                if (!d->error)
                        d->error = xasprintf("cannot watch sched_setaffinity: %s", strerror(-r));
                return r;
        }
        size_t n = affwatch_n_fds(d->watch);
        d->sources = calloc(n ? n : 1, sizeof(sd_event_source *));
        if (!d->sources) {
                driftwatch_stop(d);
                d->error = strdup("out of memory");
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                r = sd_event_add_io(e, &d->sources[i], affwatch_fd(d->watch, i), EPOLLIN, on_affwatch, d);
                if (r < 0) {
                        driftwatch_stop(d);
                        d->error = xasprintf("cannot watch the perf buffers: %s", strerror(-r));
                        return r;
                }
                d->n_sources++;
                /* After process events: a new thread is pinned before its
                 * mask is judged. */
                (void) sd_event_source_set_priority(d->sources[i], SD_EVENT_PRIORITY_NORMAL);
        }
        return 0;
}

void driftwatch_stop(DriftWatch *d) {
        for (size_t i = 0; i < d->n_sources; i++)
                sd_event_source_disable_unref(d->sources[i]);
        free(d->sources);
        d->sources = NULL;
        d->n_sources = 0;
        if (d->watch)
                affwatch_free(d->watch);
        d->watch = NULL;
        free(d->error);
        d->error = NULL;
}

const char *driftwatch_source(const DriftWatch *d) {
        return d->watch ? "tracepoint" : "verify";
}
