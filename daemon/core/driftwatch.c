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
/* A full check of every pinned thread (after lost records) at most this
 * often: with 2,000 pinned threads, lost records once triggered 4.3 million
 * sched_getaffinity calls in 4 s. Drift is then seen within this long. */
#define FULL_CHECK_INTERVAL_USEC (1000 * 1000)

static void watch_sources(DriftWatch *d, bool on) {
        for (size_t i = 0; i < d->n_sources; i++)
                (void) sd_event_source_set_enabled(d->sources[i], on ? SD_EVENT_ON : SD_EVENT_OFF);
}

/* Arm a one-shot timer at due (created on first use). */
static int arm(DriftWatch *d, sd_event_source **src, uint64_t due, sd_event_time_handler_t cb) {
        int r;
        if (!*src)
                r = sd_event_add_time(d->event, src, CLOCK_MONOTONIC, due, 1000, cb, d);
        else
                r = sd_event_source_set_time(*src, due);
        if (r >= 0)
                r = sd_event_source_set_enabled(*src, SD_EVENT_ONESHOT);
        return r;
}

static int on_full_check(sd_event_source *s, uint64_t usec, void *userdata) {
        DriftWatch *d = userdata;
        d->last_full_check = now_usec();
        d->full_checks++;
        reconcile_check_drift(d->rc);
        return 0;
}

/* Calls we could not see may have moved anything: check every pinned
 * thread, now or when the last full check is an interval old. */
static void full_check(DriftWatch *d) {
        uint64_t now = now_usec();
        if (d->last_full_check == 0 || now - d->last_full_check >= FULL_CHECK_INTERVAL_USEC) {
                on_full_check(NULL, now, d);
                return;
        }
        if (arm(d, &d->check_timer, d->last_full_check + FULL_CHECK_INTERVAL_USEC, on_full_check) < 0)
                on_full_check(NULL, now, d); /* cannot wait: check now */
}

static void read_records(DriftWatch *d);

static int on_defer_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        DriftWatch *d = userdata;
        watch_sources(d, true);
        read_records(d);
        return 0;
}

static void read_records(DriftWatch *d) {
        Reconciler *rc = d->rc;
        AffRecord rec[RECORDS_MAX];
        bool lost = false;
        pid_t self = getpid();
        int n = affwatch_read(d->watch, rec, RECORDS_MAX, &lost);

        if (n < 0)
                return;
        /* A dry run never sets a mask, so there is nothing to drift from. */
        if (rc->dry_run)
                return;
        if (lost) {
                d->lost++;
                full_check(d);
        } else
                for (int i = 0; i < n; i++) {
                        /* The kernel filters our own tid; belt and braces
                         * for any other thread of ours. */
                        if (rec[i].caller_pid == self)
                                continue;
                        d->events++;
                        reconcile_drift_event(rc, rec[i].target);
                }
        /* Once calls come fast (a thread setting its own mask in a loop),
         * the records are read every few milliseconds instead of one
         * wakeup each: the ring buffers hold them meanwhile, and a full
         * check covers any they drop. */
        uint64_t delay = pacing_after_read(&d->pacing, now_usec(), (unsigned) (n > 0 ? n : 0), 0);
        if (delay > 0 && arm(d, &d->defer_timer, now_usec() + delay, on_defer_timer) >= 0)
                watch_sources(d, false);
}

static int on_affwatch(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        read_records(userdata);
        return 0;
}

int driftwatch_start(DriftWatch *d, sd_event *e, Reconciler *rc) {
        int r;

        driftwatch_stop(d);
        d->event = e;
        d->rc = rc;
        pacing_init(&d->pacing, &DRIFT_PACING);
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
        d->defer_timer = sd_event_source_disable_unref(d->defer_timer);
        d->check_timer = sd_event_source_disable_unref(d->check_timer);
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
