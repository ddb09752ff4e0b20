/* SPDX-License-Identifier: MIT */
#include "core/intake.h"

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "core/reconcile-scan.h"
#include "lib/util.h"

/* The kernel doubles this to 32 MiB of socket buffer; each connector message
 * costs ~800 bytes of it, so ~40,000 events can queue (measured by test 19):
 * a fork storm becomes latency rather than loss. */
#define CN_RCVBUF (16 * 1024 * 1024)
#define CN_ACK_TIMEOUT_MS 1000
#define BATCH_MAX 65536
#define BURST_KEEP 1024 /* events a read fills without a burst */
/* One callback reads at most this many datagrams, so a storm that never
 * ends cannot keep the loop from timers and the control socket. */
#define DRAIN_MAX (4 * BATCH_MAX)
/* recvmmsg takes up to RX_BATCH datagrams per call; a proc event datagram
 * is 76 bytes, RX_SIZE leaves room for a kernel that sends more. */
#define RX_BATCH 64
#define RX_SIZE 1024
/* Rescans after lost events are at least this far apart: a sustained
 * overflow costs one rescan per interval, not one per callback. */
#define LOST_RESCAN_INTERVAL_USEC (100 * 1000)
/* The filter probe's child exits within microseconds; a kernel that sent
 * nothing of it in this long is treated as not filtering for us. */
#define CN_FILTER_PROBE_TIMEOUT_MS 200

typedef struct Pending {
        pid_t tid, pid;
        unsigned want;
        size_t seq;
        uint64_t ts;
        pid_t creator;
} Pending;

static int pending_cmp(const void *a, const void *b) {
        const Pending *x = a, *y = b;
        if (x->tid != y->tid)
                return (x->tid > y->tid) - (x->tid < y->tid);
        return (x->seq > y->seq) - (x->seq < y->seq);
}

size_t intake_merge(const CnEvent *ev, size_t n, WorkItem *out) {
        /* out has room for n items; the pending list is built in place. */
        Pending *pend = malloc((n ? n : 1) * sizeof(Pending));
        size_t np = 0, no = 0;

        if (!pend)
                return (size_t) -1;
        for (size_t i = 0; i < n; i++) {
                const CnEvent *e = &ev[i];
                unsigned want;
                switch (e->type) {
                case CN_EV_FORK:
                        want = e->pid == e->tgid ? WANT_PROCESS : WANT_THREAD | WANT_NEW;
                        break;
                case CN_EV_EXEC:
                        want = WANT_PROCESS | WANT_EXEC;
                        break;
                case CN_EV_COMM:
                        /* The leader's name is the process name every thread matches on. */
                        want = e->pid == e->tgid ? WANT_PROCESS : WANT_THREAD;
                        break;
                case CN_EV_EXIT:
                        want = WANT_GONE;
                        break;
                case CN_EV_UID:
                        /* Credentials are per thread, but `user` is the
                         * process's: one item for the process. */
                        want = WANT_CREDS;
                        break;
                default:
                        continue;
                }
                bool by_process = e->type == CN_EV_EXEC || e->type == CN_EV_UID;
                pend[np++] = (Pending){by_process ? e->tgid : e->pid,
                                       e->tgid,
                                       want,
                                       i,
                                       e->timestamp_ns,
                                       e->type == CN_EV_FORK && e->pid == e->tgid ? e->parent_pid : 0};
        }
        qsort(pend, np, sizeof *pend, pending_cmp);
        for (size_t i = 0; i < np;) {
                WorkItem w = {.tid = pend[i].tid};
                for (; i < np && pend[i].tid == w.tid; i++) {
                        if (pend[i].want == WANT_GONE)
                                w.want = WANT_GONE;
                        else
                                w.want |= pend[i].want;
                        w.pid = pend[i].pid;
                        w.timestamp_ns = pend[i].ts;
                        if (pend[i].creator)
                                w.creator = pend[i].creator;
                        const CnEvent *e = &ev[pend[i].seq];
                        if (e->type == CN_EV_COMM && e->pid == e->tgid)
                                memcpy(w.comm, e->comm, sizeof w.comm);
                        else
                                w.comm[0] = 0;
                }
                out[no++] = w;
        }
        free(pend);
        return no;
}

size_t intake_merge_held(const WorkItem *a, size_t na, const WorkItem *held, size_t nh, WorkItem *out) {
        size_t i = 0, j = 0, n = 0;

        while (i < na || j < nh) {
                if (j == nh || (i < na && a[i].tid < held[j].tid))
                        out[n++] = a[i++];
                else if (i == na || held[j].tid < a[i].tid) {
                        out[n] = held[j++];
                        out[n++].held = true;
                } else {
                        WorkItem w = a[i++];
                        if (!(w.want & WANT_GONE)) {
                                /* The newer name wins; an exec since is in w.want. */
                                w.want |= held[j].want;
                                if (!w.comm[0] && !(w.want & WANT_EXEC))
                                        memcpy(w.comm, held[j].comm, sizeof w.comm);
                                if (!w.creator)
                                        w.creator = held[j].creator;
                                w.held = true;
                        }
                        j++;
                        out[n++] = w;
                }
        }
        return n;
}

int intake_init(Intake *in) {
        *in = (Intake){.fd = -1, .filter = CN_FILTER_NONE};
        pacing_init(&in->pacing, &PACING_DEFAULTS);
        /* ~15 MiB of address space, resident only as far as a burst fills
         * it, and given back once the burst is over (release_after_burst). */
        in->batch = scratch_alloc(BATCH_MAX * sizeof(CnEvent));
        in->items = scratch_alloc(BATCH_MAX * sizeof(WorkItem));
        in->held = scratch_alloc(BATCH_MAX * sizeof(WorkItem));
        in->merged = scratch_alloc(2 * BATCH_MAX * sizeof(WorkItem));
        in->rxbuf = aligned_alloc(8, RX_BATCH * RX_SIZE);
        if (!in->batch || !in->items || !in->held || !in->merged || !in->rxbuf)
                return -ENOMEM;
        return 0;
}

void intake_done(Intake *in) {
        sd_event_source_unref(in->source);
        sd_event_source_unref(in->lost_timer);
        sd_event_source_unref(in->defer_timer);
        if (in->fd >= 0)
                close(in->fd);
        scratch_free(in->batch, BATCH_MAX * sizeof(CnEvent));
        scratch_free(in->items, BATCH_MAX * sizeof(WorkItem));
        scratch_free(in->held, BATCH_MAX * sizeof(WorkItem));
        scratch_free(in->merged, 2 * BATCH_MAX * sizeof(WorkItem));
        free(in->rxbuf);
        free(in->error);
        *in = (Intake){.fd = -1};
}

int intake_connect(Intake *in, uint32_t events) {
        const char *force = getenv("PINNERD_PROC_FILTER");
        CnStart st;
        int r;

        in->filter_forced = force && strcmp(force, "socket") == 0;
        r = cnproc_start(CN_RCVBUF, events, !in->filter_forced, CN_FILTER_PROBE_TIMEOUT_MS, CN_ACK_TIMEOUT_MS,
                         &st, &in->error);
        if (r < 0)
                return r;
        in->fd = st.fd;
        in->filter = st.mode;
        in->kernel_filter_error = st.kernel_filter_error;
        in->connector = true;
        in->events = events;
        return 0;
}

int intake_set_events(Intake *in, uint32_t events) {
        if (!in->connector || events == in->events)
                return 0;
        int r = cnproc_set_events(in->fd, in->filter, events);
        if (r >= 0)
                in->events = events;
        return r;
}

const char *intake_filter_name(const Intake *in) {
        return cnproc_filter_mode_name(in->filter);
}

static int on_lost_rescan(sd_event_source *s, uint64_t usec, void *userdata) {
        Intake *in = userdata;
        in->last_lost_rescan = now_usec();
        reconcile_rescan(in->rc, "events lost");
        return 0;
}

/* Events were lost: rescan now, or soon if we just did. */
static void rescan_after_loss(Intake *in) {
        uint64_t now = now_usec();

        in->rc->report.counters.lost_rescans++;
        if (now - in->last_lost_rescan >= LOST_RESCAN_INTERVAL_USEC) {
                in->last_lost_rescan = now;
                reconcile_rescan(in->rc, "events lost");
                return;
        }
        uint64_t due = in->last_lost_rescan + LOST_RESCAN_INTERVAL_USEC;
        if (!in->lost_timer) {
                if (sd_event_add_time(in->event, &in->lost_timer, CLOCK_MONOTONIC, due, 1000, on_lost_rescan,
                                      in) < 0) {
                        reconcile_rescan(in->rc, "events lost");
                        return;
                }
        } else
                (void) sd_event_source_set_time(in->lost_timer, due);
        (void) sd_event_source_set_enabled(in->lost_timer, SD_EVENT_ONESHOT);
}

/* Exits first: a non-leader thread that exec'd is found among the entries of
 * its process once the threads the exec killed are forgotten. Returns how
 * many items needed work (a remembered task or a possible match), which is
 * what tells a storm of unrelated events from a burst of wanted ones. */
static unsigned process_items(Intake *in, const WorkItem *items, size_t n) {
        Reconciler *rc = in->rc;
        unsigned busy = 0;

        for (size_t i = 0; i < n; i++)
                if (items[i].want & WANT_GONE)
                        busy += reconcile_exit(rc, items[i].pid, items[i].tid);
        for (size_t i = 0; i < n; i++) {
                const WorkItem *w = &items[i];
                unsigned want = w->want;
                if (want == WANT_GONE)
                        continue;
                /* A user change matters only to rules that match on users. */
                if (want & WANT_CREDS) {
                        want &= ~(unsigned) WANT_CREDS;
                        if (rc->config->facts & FACT_UID)
                                want |= WANT_PROCESS;
                        else if (want == 0)
                                continue;
                }
                /* In a storm, a task nothing is remembered of waits for the
                 * next read (once): if it exits by then, not even its name
                 * is read. A remembered one is never held back. */
                if (in->pacing.storm && !w->held && !(w->want & WANT_GONE) && in->n_held < BATCH_MAX &&
                    !thread_table_has_pid(rc->threads, w->pid) && !thread_table_get(rc->threads, w->tid)) {
                        in->held[in->n_held++] = *w;
                        continue;
                }
                rc->report.event_ns = w->timestamp_ns;
                if (want & WANT_EXEC)
                        reconcile_exec(rc, w->pid);
                if (want & WANT_PROCESS)
                        busy += reconcile_process(rc, w->pid, w->comm[0] ? w->comm : NULL, w->creator);
                else
                        busy += reconcile_thread(rc, w->pid, w->tid, want & WANT_NEW);
                /* A storm's batch is long: held execs wait one item, not all. */
                if (rc->between_tasks)
                        rc->between_tasks(rc->between_userdata);
        }
        rc->report.event_ns = 0;
        return busy;
}

static int on_connector(sd_event_source *s, int fd, uint32_t revents, void *userdata);

/* A burst (20,000 new threads at once: ~2 MiB of these arrays touched)
 * leaves its pages resident: give them back at the first quiet read after
 * it, outside a storm, keeping what an ordinary read fills. Held items are
 * kept. */
static void release_after_burst(Intake *in, size_t n) {
        if (n > in->burst_high)
                in->burst_high = n;
        if (in->burst_high <= BURST_KEEP || n > BURST_KEEP || in->pacing.storm)
                return;
        size_t keep_held = in->n_held > BURST_KEEP ? in->n_held : BURST_KEEP;
        scratch_release(in->batch, BATCH_MAX * sizeof(CnEvent), BURST_KEEP * sizeof(CnEvent));
        scratch_release(in->items, BATCH_MAX * sizeof(WorkItem), BURST_KEEP * sizeof(WorkItem));
        scratch_release(in->held, BATCH_MAX * sizeof(WorkItem), keep_held * sizeof(WorkItem));
        scratch_release(in->merged, 2 * BATCH_MAX * sizeof(WorkItem), 2 * BURST_KEEP * sizeof(WorkItem));
        /* And what the burst's reads freed on the heap, as far as it can. */
        (void) malloc_trim(0);
        in->burst_high = 0;
}

/* A storm's deferral is over: read what queued meanwhile. */
static int on_defer_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Intake *in = userdata;
        (void) sd_event_source_set_enabled(in->source, SD_EVENT_ON);
        return on_connector(in->source, in->fd, EPOLLIN, in);
}

/* While a storm of events nobody cares about lasts, stop watching the socket
 * and read it again after the pacing's delay: one wakeup for many events.
 * The kernel queues them meanwhile (the receive buffer holds ~40,000). */
static void pace(Intake *in, size_t n, unsigned busy) {
        uint64_t now = now_usec();
        bool was = in->pacing.storm;
        uint64_t delay =
                pacing_after_read(&in->pacing, now, (unsigned) (n > UINT32_MAX ? UINT32_MAX : n), busy);

        if (was != in->pacing.storm)
                log_msg(in->rc->log, LOG_DEBUG, "%s (%u events in %.1f ms, %u needed work)",
                        in->pacing.storm ? "event storm: reading the connector every few milliseconds"
                                         : "event storm over: reading every event at once",
                        in->pacing.last_events, (double) in->pacing.last_usec / 1000.0, in->pacing.last_busy);

        /* Held-back tasks get their read within one deferral even when the
         * storm just ended and no further event comes; the socket stays
         * watched meanwhile. */
        bool watch = delay == 0;
        if (delay == 0 && in->n_held > 0)
                delay = in->pacing.cfg.defer_usec;
        if (delay == 0) {
                if (in->defer_timer)
                        (void) sd_event_source_set_enabled(in->defer_timer, SD_EVENT_OFF);
                return;
        }
        if (!in->defer_timer) {
                if (sd_event_add_time(in->event, &in->defer_timer, CLOCK_MONOTONIC, now + delay, 250,
                                      on_defer_timer, in) < 0)
                        return; /* keep reading on every wakeup */
                (void) sd_event_source_set_priority(in->defer_timer, SD_EVENT_PRIORITY_IMPORTANT);
        } else
                (void) sd_event_source_set_time(in->defer_timer, now + delay);
        if (sd_event_source_set_enabled(in->defer_timer, SD_EVENT_ONESHOT) >= 0 && !watch)
                (void) sd_event_source_set_enabled(in->source, SD_EVENT_OFF);
}

static int on_connector(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Intake *in = userdata;
        Reconciler *rc = in->rc;
        ssize_t lens[RX_BATCH];
        size_t n = 0;
        bool lost = false;
        unsigned busy = 0;

        /* Drain what is queued before any slow work, so the kernel buffer
         * empties as fast as we can read; recvmmsg takes many at once. */
        for (unsigned reads = 0; reads < DRAIN_MAX;) {
                int k = cnproc_receive_many(fd, in->rxbuf, RX_SIZE, RX_BATCH, lens);
                if (k == -EAGAIN || k == -EWOULDBLOCK)
                        break;
                if (k == -ENOBUFS) {
                        lost = true;
                        continue;
                }
                if (k < 0) {
                        log_msg(rc->log, LOG_ERR, "proc connector: %s; rescanning", strerror(-k));
                        lost = true;
                        break;
                }
                reads += (unsigned) k;
                for (int i = 0; i < k; i++) {
                        if (lens[i] == -EBADMSG)
                                lost = true; /* truncated: an event we cannot read */
                        if (lens[i] < 0)
                                continue;
                        if (n == BATCH_MAX) {
                                lost = true; /* more than we keep: a rescan covers it */
                                continue;
                        }
                        int e = cnproc_parse(in->rxbuf + (size_t) i * RX_SIZE, (size_t) lens[i],
                                             in->batch + n, BATCH_MAX - n);
                        if (e > 0) {
                                n += (size_t) e;
                                rc->report.counters.events += (uint64_t) e;
                        }
                }
                /* Fewer than asked: the queue is empty (the socket is
                 * level-triggered, so anything newer wakes us again). */
                if ((unsigned) k < RX_BATCH)
                        break;
        }
        if (lost) {
                if (!in->in_lost_burst) {
                        in->in_lost_burst = true;
                        log_event(rc->log, EV_EVENTS_LOST, LOG_WARNING, NULL,
                                  "kernel dropped process events (receive buffer full); rescanning /proc");
                }
                in->n_held = 0; /* the rescan looks at them */
                rescan_after_loss(in);
        } else {
                in->in_lost_burst = false;
                size_t ni = intake_merge(in->batch, n, in->items);
                if (ni == (size_t) -1)
                        reconcile_rescan(rc, "out of memory for events");
                else {
                        const WorkItem *items = in->items;
                        if (in->n_held > 0) {
                                ni = intake_merge_held(in->items, ni, in->held, in->n_held, in->merged);
                                items = in->merged;
                                in->n_held = 0;
                        }
                        busy = process_items(in, items, ni);
                }
        }
        pace(in, n, lost ? (unsigned) n : busy);
        release_after_burst(in, n);
        reconcile_say_unmovable(rc);
        return 0;
}

int intake_attach(Intake *in, sd_event *e, Reconciler *rc) {
        in->event = e;
        in->rc = rc;
        int r = sd_event_add_io(e, &in->source, in->fd, EPOLLIN, on_connector, in);
        if (r < 0)
                return r;
        /* Events outrank the control socket and timers. */
        (void) sd_event_source_set_priority(in->source, SD_EVENT_PRIORITY_IMPORTANT);
        return 0;
}
