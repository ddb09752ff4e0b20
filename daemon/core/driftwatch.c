/* SPDX-License-Identifier: MIT */
#include "core/driftwatch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/reconcile-drift.h"
#include "lib/util.h"

/* A full check of every pinned thread (after lost records) at most this
 * often: with 2,000 pinned threads, lost records once triggered 4.3 million
 * sched_getaffinity calls in 4 s. Drift is then seen within this long. */
#define FULL_CHECK_INTERVAL_USEC (1000 * 1000)

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

static int pid_cmp(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
        return (x > y) - (x < y);
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
        /* Each thread once: a loop of calls on one thread is one check. The
         * targets are gathered in place (the k-th pid lies within the first
         * k records, already read). */
        pid_t *targets = (pid_t *) d->rec;
        for (int i = 0; i < n && !lost; i++) {
                /* The kernel filters our own calls; belt and braces for any
                 * other thread of ours. */
                if (d->rec[i].caller_pid == self)
                        continue;
                if (d->rec[i].target < 0)
                        lost = true; /* a pid of another pid namespace: which thread, we cannot tell */
                else
                        targets[k++] = d->rec[i].target;
        }
        if (lost) {
                d->lost++;
                full_check(d);
        } else {
                qsort(targets, k, sizeof *targets, pid_cmp);
                for (size_t i = 0; i < k; i++) {
                        if (i > 0 && targets[i] == targets[i - 1])
                                continue;
                        d->events++;
                        reconcile_drift_event(rc, targets[i]);
                }
        }
        /* Once calls come fast (a thread setting its own mask in a loop),
         * the records are read every few milliseconds instead of one
         * wakeup each: the buffers hold them meanwhile, and a full check
         * covers any they drop. */
        uint64_t delay = pacing_after_read(&d->pacing, now_usec(), (unsigned) (n > 0 ? n : 0), 0);
        if (delay > 0 && arm(d, &d->defer_timer, now_usec() + delay, on_defer_timer) >= 0)
                watch_sources(d, false);
}

static int on_records(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        read_records(userdata);
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
                        return 0;
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
                                return 0;
                        }
                        if (!tp_why)
                                tp_why = xasprintf("cannot watch the perf buffers: %s", strerror(-r));
                }
                if (!tp_why)
                        tp_why = xasprintf("cannot watch sched_setaffinity: %s", strerror(-r));
        } else
                tp_why = xasprintf("not tried (PINNERD_DRIFT_SOURCE=%s)", force);
        driftwatch_stop(d);
        d->event = e;
        d->rc = rc;
        d->error = xasprintf("no bpf: %s; no tracepoint: %s", bpf_why, tp_why);
        return -EOPNOTSUPP;
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
        if (d->bpf)
                bpfwatch_free(d->bpf);
        d->bpf = NULL;
        free(d->rec);
        d->rec = NULL;
        free(d->error);
        d->error = NULL;
        d->source = DRIFT_SOURCE_VERIFY;
}
