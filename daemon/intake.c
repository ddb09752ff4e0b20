/* SPDX-License-Identifier: MIT */
#include "intake.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "manager-internal.h"
#include "util.h"

/* The kernel doubles this to 32 MiB of socket buffer; each connector message
 * costs ~800 bytes of it, so ~40,000 events can queue (measured by test 19):
 * a fork storm becomes latency rather than loss. */
#define CN_RCVBUF (16 * 1024 * 1024)
#define CN_ACK_TIMEOUT_MS 1000
#define BATCH_MAX 65536
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

typedef struct Pending {
        pid_t tid, pid;
        unsigned want;
        size_t seq;
        uint64_t ts;
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
                default:
                        continue;
                }
                pend[np++] = (Pending){e->type == CN_EV_EXEC ? e->tgid : e->pid, e->tgid, want, i,
                                       e->timestamp_ns};
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
                }
                out[no++] = w;
        }
        free(pend);
        return no;
}

int intake_init(Intake *in) {
        *in = (Intake){.fd = -1};
        in->batch = calloc(BATCH_MAX, sizeof(CnEvent));
        in->items = calloc(BATCH_MAX, sizeof(WorkItem));
        in->rxbuf = aligned_alloc(8, RX_BATCH * RX_SIZE);
        if (!in->batch || !in->items || !in->rxbuf)
                return -ENOMEM;
        return 0;
}

void intake_done(Intake *in) {
        sd_event_source_unref(in->source);
        sd_event_source_unref(in->lost_timer);
        if (in->fd >= 0)
                close(in->fd);
        free(in->batch);
        free(in->items);
        free(in->rxbuf);
        free(in->error);
        *in = (Intake){.fd = -1};
}

/* Subscribe and wait for the kernel's answer: none within the timeout means
 * we are not in the initial namespaces or the kernel lacks the connector. */
int intake_connect(Intake *in) {
        _cleanup_(closep) int fd = -1;
        int r;

        r = cnproc_open(CN_RCVBUF, &fd);
        if (r < 0) {
                in->error = xasprintf("cannot open the proc connector: %s", strerror(-r));
                return r;
        }
        r = cnproc_subscribe(fd, true);
        if (r < 0) {
                in->error = xasprintf("cannot subscribe to the proc connector: %s", strerror(-r));
                return r;
        }
        uint64_t deadline = now_usec() + CN_ACK_TIMEOUT_MS * 1000u;
        for (;;) {
                uint64_t now = now_usec();
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                if (now >= deadline) {
                        in->error = strdup("the proc connector did not answer (not the initial namespaces?)");
                        return -ETIMEDOUT;
                }
                r = poll(&pfd, 1, (int) ((deadline - now) / 1000u) + 1);
                if (r < 0 && errno != EINTR)
                        return -errno;
                if (r <= 0)
                        continue;
                char buf[4096] __attribute__((aligned(8)));
                CnEvent ev[64];
                ssize_t len = cnproc_receive(fd, buf, sizeof buf);
                if (len < 0)
                        continue;
                int k = cnproc_parse(buf, (size_t) len, ev, ELEMENTSOF(ev));
                for (int i = 0; i < k; i++)
                        if (ev[i].type == CN_EV_ACK) {
                                if (ev[i].err != 0) {
                                        in->error = xasprintf("the proc connector refused us: %s",
                                                              strerror(ev[i].err));
                                        return -ev[i].err;
                                }
                                in->fd = TAKE_FD(fd);
                                in->connector = true;
                                return 0;
                        }
        }
}

static int on_lost_rescan(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        m->intake.last_lost_rescan = now_usec();
        manager_rescan(m, "events lost");
        manager_state_flush(m, false);
        return 0;
}

/* Events were lost: rescan now, or soon if we just did. */
static void rescan_after_loss(Manager *m) {
        Intake *in = &m->intake;
        uint64_t now = now_usec();

        m->report.counters.lost_rescans++;
        if (now - in->last_lost_rescan >= LOST_RESCAN_INTERVAL_USEC) {
                in->last_lost_rescan = now;
                manager_rescan(m, "events lost");
                return;
        }
        uint64_t due = in->last_lost_rescan + LOST_RESCAN_INTERVAL_USEC;
        if (!in->lost_timer) {
                if (sd_event_add_time(m->event, &in->lost_timer, CLOCK_MONOTONIC, due, 1000, on_lost_rescan,
                                      m) < 0) {
                        manager_rescan(m, "events lost");
                        return;
                }
        } else
                (void) sd_event_source_set_time(in->lost_timer, due);
        (void) sd_event_source_set_enabled(in->lost_timer, SD_EVENT_ONESHOT);
}

/* Exits first: a non-leader thread that exec'd is found among the entries of
 * its process once the threads the exec killed are forgotten. */
static void process_items(Manager *m, const WorkItem *items, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (items[i].want & WANT_GONE)
                        reconcile_exit(m, items[i].pid, items[i].tid);
        for (size_t i = 0; i < n; i++) {
                const WorkItem *w = &items[i];
                if (w->want == WANT_GONE)
                        continue;
                if (w->want & WANT_EXEC)
                        reconcile_exec(m, w->pid);
                if (w->want & WANT_PROCESS)
                        reconcile_process(m, w->pid);
                else
                        reconcile_thread(m, w->pid, w->tid, w->want & WANT_NEW);
        }
}

static int on_connector(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        Intake *in = &m->intake;
        ssize_t lens[RX_BATCH];
        size_t n = 0;
        bool lost = false;

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
                        log_msg(m->log, LOG_ERR, "proc connector: %s; rescanning", strerror(-k));
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
                                m->report.counters.events += (uint64_t) e;
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
                        log_event(m->log, EV_EVENTS_LOST, LOG_WARNING, NULL,
                                  "kernel dropped process events (receive buffer full); rescanning /proc");
                }
                rescan_after_loss(m);
        } else {
                in->in_lost_burst = false;
                size_t ni = intake_merge(in->batch, n, in->items);
                if (ni == (size_t) -1)
                        manager_rescan(m, "out of memory for events");
                else
                        process_items(m, in->items, ni);
        }
        manager_state_flush(m, false);
        manager_storm_timer_update(m);
        return 0;
}

int intake_attach(Manager *m) {
        int r = sd_event_add_io(m->event, &m->intake.source, m->intake.fd, EPOLLIN, on_connector, m);
        if (r < 0)
                return r;
        /* Events outrank the control socket and timers. */
        (void) sd_event_source_set_priority(m->intake.source, SD_EVENT_PRIORITY_IMPORTANT);
        return 0;
}
