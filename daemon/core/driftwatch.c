/* SPDX-License-Identifier: MIT */
#include "core/driftwatch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/reconcile.h"
#include "lib/util.h"

const char *driftwatch_source(const DriftWatch *d) {
        switch (d->source) {
        case DRIFT_SOURCE_BPF:
                return "bpf";
        case DRIFT_SOURCE_TRACEPOINT:
                return "tracepoint";
        default:
                return "verify";
        }
}

bool driftwatch_per_cpu(const DriftWatch *d) {
        return d->source == DRIFT_SOURCE_TRACEPOINT;
}

static void full_check(DriftWatch *d) {
        d->last_full_check = now_usec();
        d->full_checks++;
        reconcile_check_drift(d->rc);
}

static int on_check_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        full_check(userdata);
        return 0;
}

/* Calls we could not see may have moved anything: check every thread, but
 * at most once per DRIFT_FULL_CHECK_USEC, however often records are lost. */
static void want_full_check(DriftWatch *d) {
        uint64_t now = now_usec(), wait = pacing_rate_limit(d->last_full_check, now, DRIFT_FULL_CHECK_USEC);

        if (wait == 0) {
                full_check(d);
                return;
        }
        if (d->check_timer && sd_event_source_get_enabled(d->check_timer, NULL) > 0)
                return; /* one is due already */
        if (!d->check_timer) {
                if (sd_event_add_time(d->event, &d->check_timer, CLOCK_MONOTONIC, now + wait, 1000,
                                      on_check_timer, d) < 0)
                        return;
        } else
                (void) sd_event_source_set_time(d->check_timer, now + wait);
        (void) sd_event_source_set_enabled(d->check_timer, SD_EVENT_ONESHOT);
}

static int pid_cmp(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
        return (x > y) - (x < y);
}

static void set_sources(DriftWatch *d, int enabled) {
        for (size_t i = 0; i < d->n_sources; i++)
                (void) sd_event_source_set_enabled(d->sources[i], enabled);
}

/* Read every record, check each named thread once, then decide when to
 * read next. */
static void drain(DriftWatch *d) {
        Reconciler *rc = d->rc;
        bool lost = false;
        pid_t self = getpid();
        int n = d->source == DRIFT_SOURCE_BPF ? bpfwatch_read(d->bpf, d->rec, DRIFT_RECORDS_MAX, &lost)
                                              : affwatch_read(d->watch, d->rec, DRIFT_RECORDS_MAX, &lost);
        size_t k = 0;

        if (n < 0)
                return;
        /* A dry run never sets a mask, so there is nothing to drift from. */
        if (rc->dry_run)
                return;
        /* Each thread once: a loop of calls on one thread is one check. */
        pid_t *targets = (pid_t *) d->rec; /* reuse: records are read in order below */
        for (int i = 0; i < n; i++) {
                /* The kernel filters our own calls; belt and braces for any
                 * other thread of ours. */
                if (d->rec[i].caller_pid == self)
                        continue;
                if (d->rec[i].target < 0) {
                        lost = true; /* a pid of another namespace: which thread, we cannot tell */
                        continue;
                }
                targets[k++] = d->rec[i].target;
        }
        qsort(targets, k, sizeof *targets, pid_cmp);
        for (size_t i = 0; i < k; i++) {
                if (i > 0 && targets[i] == targets[i - 1])
                        continue;
                d->events++;
                reconcile_drift_event(rc, targets[i]);
        }
        if (lost) {
                d->lost++;
                want_full_check(d);
        }
        uint64_t defer = pacing_after_read(&d->pacing, now_usec(), (unsigned) n, (unsigned) n);
        if (defer == 0 || !d->event)
                return;
        /* Coming fast: read again in a while, not on every call. */
        if (!d->defer_timer) {
                if (sd_event_add_time_relative(d->event, &d->defer_timer, CLOCK_MONOTONIC, defer, 0, NULL,
                                               NULL) < 0)
                        return;
        } else
                (void) sd_event_source_set_time_relative(d->defer_timer, defer);
        set_sources(d, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(d->defer_timer, SD_EVENT_ONESHOT);
        d->deferred_reads++;
}

static int on_defer_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        DriftWatch *d = userdata;
        set_sources(d, SD_EVENT_ON);
        drain(d);
        return 0;
}

static int on_records(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        drain(userdata);
        return 0;
}

static int add_source(DriftWatch *d, int fd) {
        sd_event_source **nv = realloc(d->sources, (d->n_sources + 1) * sizeof *nv);
        if (!nv)
                return -ENOMEM;
        d->sources = nv;
        int r = sd_event_add_io(d->event, &d->sources[d->n_sources], fd, EPOLLIN, on_records, d);
        if (r < 0)
                return r;
        /* After process events: a new thread is pinned before its mask is
         * judged. */
        (void) sd_event_source_set_priority(d->sources[d->n_sources], SD_EVENT_PRIORITY_NORMAL);
        d->n_sources++;
        return 0;
}

/* Nothing open, ready to try a source. */
static int reset(DriftWatch *d, sd_event *e, Reconciler *rc) {
        driftwatch_stop(d);
        d->event = e;
        d->rc = rc;
        pacing_init(&d->pacing, &DRIFT_PACING);
        d->rec = malloc(DRIFT_RECORDS_MAX * sizeof *d->rec);
        return d->rec ? 0 : -ENOMEM;
}

int driftwatch_start(DriftWatch *d, sd_event *e, Reconciler *rc) {
        _cleanup_(freep) char *bpf_why = NULL, *tp_why = NULL;
        const char *force = getenv("PINNERD_DRIFT_SOURCE");
        int r;

        if (reset(d, e, rc) < 0)
                return -ENOMEM;
        if (force && strcmp(force, "bpf") != 0 && strcmp(force, "tracepoint") != 0 &&
            strcmp(force, "verify") != 0)
                force = NULL;

        if (!force || strcmp(force, "bpf") == 0) {
                r = bpfwatch_open(getpid(), &d->bpf, &bpf_why);
                if (r >= 0 && (r = add_source(d, bpfwatch_fd(d->bpf))) >= 0) {
                        const char *fb = bpfwatch_fallback_reason(d->bpf);
                        d->source = DRIFT_SOURCE_BPF;
                        /* Which program: said in status, as the reason is for the others. */
                        d->error = fb ? xasprintf("%s; fexit refused: %s", bpfwatch_how(d->bpf), fb)
                                      : strdup(bpfwatch_how(d->bpf));
                        goto armed;
                }
                if (!bpf_why)
                        bpf_why = xasprintf("cannot watch the BPF ring buffer: %s", strerror(-r));
        } else
                bpf_why = xasprintf("not tried (PINNERD_DRIFT_SOURCE=%s)", force);
        if (reset(d, e, rc) < 0)
                return -ENOMEM;

        if (!force || strcmp(force, "tracepoint") == 0) {
                r = affwatch_open(NULL, rc->host->online, (pid_t) syscall(SYS_gettid), &d->watch, &tp_why);
                if (r >= 0) {
                        for (size_t i = 0; i < affwatch_n_fds(d->watch) && r >= 0; i++)
                                r = add_source(d, affwatch_fd(d->watch, i));
                        if (r >= 0) {
                                d->source = DRIFT_SOURCE_TRACEPOINT;
                                d->error = xasprintf("no bpf: %s", bpf_why);
                                goto armed;
                        }
                        if (!tp_why)
                                tp_why = xasprintf("cannot watch the perf buffers: %s", strerror(-r));
                }
                if (!tp_why)
                        tp_why = xasprintf("cannot watch sched_setaffinity: %s", strerror(-r));
        } else
                tp_why = xasprintf("not tried (PINNERD_DRIFT_SOURCE=%s)", force);
        free(d->rec);
        d->rec = NULL;
        for (size_t i = 0; i < d->n_sources; i++)
                sd_event_source_disable_unref(d->sources[i]);
        d->n_sources = 0;
        if (d->watch)
                affwatch_free(d->watch);
        d->watch = NULL;
        d->source = DRIFT_SOURCE_VERIFY;
        d->error = xasprintf("no bpf: %s; no tracepoint: %s", bpf_why, tp_why);
        return -EOPNOTSUPP;

armed:
        r = sd_event_add_time_relative(e, &d->defer_timer, CLOCK_MONOTONIC, 0, 0, on_defer_timer, d);
        if (r >= 0)
                (void) sd_event_source_set_enabled(d->defer_timer, SD_EVENT_OFF);
        return 0;
}

void driftwatch_stop(DriftWatch *d) {
        for (size_t i = 0; i < d->n_sources; i++)
                sd_event_source_disable_unref(d->sources[i]);
        free(d->sources);
        d->sources = NULL;
        d->n_sources = 0;
        d->defer_timer = sd_event_source_disable_unref(d->defer_timer);
        d->check_timer = sd_event_source_disable_unref(d->check_timer);
        if (d->watch)
                affwatch_free(d->watch);
        d->watch = NULL;
        if (d->bpf)
                bpfwatch_free(d->bpf);
        d->bpf = NULL;
        free(d->rec);
        d->rec = NULL;
        free(d->error);
        d->error = NULL;
        d->source = DRIFT_SOURCE_VERIFY;
}
