/* SPDX-License-Identifier: MIT */
/* The logger's non-blocking path: records queued (bounded, counted when
 * dropped), written after the event handler that logged them, to journald's
 * datagram socket or to a stderr descriptor that never blocks; journald's
 * absence said once and bridged by stderr; what was lost said when a sink
 * takes records again. The bytes of a record are log-record.c's; the
 * entry points and the per-user record budget log-budget.c's. */
#include "lib/log.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <systemd/sd-event.h>

#include "lib/output.h"

/* Where a queued record goes. */
enum { SINK_STDERR = 1, SINK_JOURNAL = 2 };
/* Queue record header: u32 length, u8 sink. */
#define REC_HDR 5u
/* How long log_done() waits for a busy journald to take what is queued. */
#define LOG_DONE_WAIT_MS 1000
/* journald's own sender asks for this much; the kernel caps it at wmem_max. */
#define JOURNAL_SNDBUF (8 * 1024 * 1024)

int log_parse_target(const char *s, LogTarget *ret) {
        if (strcmp(s, "auto") == 0)
                *ret = LOG_TARGET_AUTO;
        else if (strcmp(s, "journal") == 0)
                *ret = LOG_TARGET_JOURNAL;
        else if (strcmp(s, "stderr") == 0)
                *ret = LOG_TARGET_STDERR;
        else
                return -EINVAL;
        return 0;
}

/* A descriptor for stderr that never blocks the daemon, without touching
 * the open file fd 2 shares with the shell or the service manager (setting
 * O_NONBLOCK on it would make their writes fail). A pipe or a terminal is
 * opened again through /proc (a new open file of the same pipe or tty); a
 * socket takes MSG_DONTWAIT; a regular file never waits on a reader. */
static void err_open(Logger *l, int fd) {
        struct stat st;
        char path[64];

        l->err_fd = fd;
        l->err_owned = l->err_sock = l->err_guarded = false;
        if (fstat(fd, &st) < 0)
                return; /* closed: written to, and found broken */
        if (S_ISSOCK(st.st_mode)) {
                l->err_sock = true;
                return;
        }
        if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
                return;
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0 && (fl & O_NONBLOCK))
                return;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        int own = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (own >= 0) {
                l->err_fd = own;
                l->err_owned = true;
                return;
        }
        /* No /proc: every write waits for poll() to say it takes more. */
        l->err_guarded = true;
}

static void err_close(Logger *l) {
        if (l->err_owned && l->err_fd >= 0)
                close(l->err_fd);
        l->err_owned = false;
        l->err_fd = -1;
}

void log_set_stderr_fd(Logger *l, int fd) {
        err_close(l);
        l->err_broken = false;
        l->head_done = 0;
        err_open(l, fd);
}

void log_setup(Logger *l, LogTarget target, int max_level) {
        *l = (Logger){.target = target,
                      .max_level = max_level,
                      .err_fd = -1,
                      .journal_path = LOG_JOURNAL_SOCKET,
                      .journal_fd = -1};
        err_open(l, STDERR_FILENO);
        l->queue.max = LOG_QUEUE_MAX_BYTES;
        if (target == LOG_TARGET_AUTO) {
                struct stat st;
                /* Under systemd stderr is a journal stream; by hand, the journal
                 * socket tells whether journald runs at all. */
                if (getenv("JOURNAL_STREAM") || stat(LOG_JOURNAL_SOCKET, &st) == 0)
                        l->target = LOG_TARGET_JOURNAL;
                else
                        l->target = LOG_TARGET_STDERR;
        }
}

uint64_t log_lost_total(const Logger *l) {
        return l->lost_total;
}

/* ---- sinks ---- */

typedef enum WriteResult {
        WRITE_OK,
        WRITE_AGAIN, /* the sink is busy: keep the record, try later */
        WRITE_LOST,  /* the record is gone (counted) */
} WriteResult;

static void journal_close(Logger *l) {
        l->write_source = sd_event_source_disable_unref(l->write_source);
        if (l->journal_fd >= 0)
                close(l->journal_fd);
        l->journal_fd = -1;
        l->journal_full = false;
}

static int journal_connect(Logger *l) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        size_t n = strlen(l->journal_path);
        int fd, sndbuf = JOURNAL_SNDBUF;

        if (n >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, l->journal_path, n);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* Room for a burst; the kernel caps it at net.core.wmem_max. */
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        /* Connected, so that EPOLLOUT says when journald has room again. */
        if (connect(fd, (struct sockaddr *) &sa, (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n)) <
            0) {
                int r = -errno;
                close(fd);
                return r;
        }
        l->journal_fd = fd;
        return 0;
}

/* One non-blocking attempt at a whole line on stderr, outside the queue
 * (notes about the journal itself): -EAGAIN when it does not take it now. */
static ssize_t err_write(Logger *l, const void *data, size_t len) {
        ssize_t n;

        if (l->err_fd < 0)
                return -EBADF;
        if (l->err_guarded) {
                struct pollfd p = {.fd = l->err_fd, .events = POLLOUT};
                if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLOUT))
                        return -EAGAIN;
                /* A pipe takes up to PIPE_BUF bytes whole once it says so. */
                if (len > PIPE_BUF)
                        len = PIPE_BUF;
        }
        do
                n = l->err_sock ? send(l->err_fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL)
                                : write(l->err_fd, data, len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        return n;
}

/* Said once per outage, on stderr when that is not broken: the journal is
 * where records would have said it. Dropped when stderr does not take it at
 * once. Records logged from now on go to stderr (log_emit() picks it while
 * journald is down), so a daemon started with --log-target journal where no
 * journald runs still says what it does. */
static void say_journal_down(Logger *l, int error) {
        if (l->journal_down)
                return;
        l->journal_down = true;
        if (l->err_broken)
                return;
        _cleanup_(freep) char *m =
                xasprintf("pinnerd: warning: journald is not reachable at %s (%s); records "
                          "go to stderr until it is back\n",
                          l->journal_path, strerror(-error));
        if (m)
                (void) err_write(l, m, strlen(m));
}

static void lost(Logger *l, uint64_t *cause) {
        (*cause)++;
        l->lost_total++;
}

static int on_journal_writable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Logger *l = userdata;

        l->journal_full = false;
        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        log_flush(l);
        return 0;
}

static WriteResult write_journal(Logger *l, const void *data, size_t len) {
        int r;

        if (l->journal_fd < 0) {
                uint64_t now = now_usec();
                if (now < l->reconnect_at) {
                        lost(l, &l->lost_down);
                        return WRITE_LOST;
                }
                r = journal_connect(l);
                if (r < 0) {
                        l->reconnect_at = now + LOG_RECONNECT_USEC;
                        say_journal_down(l, r);
                        lost(l, &l->lost_down);
                        return WRITE_LOST;
                }
        }
        if (send(l->journal_fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
                return WRITE_OK;
        r = -errno;
        switch (r) {
        case -EAGAIN:
        case -ENOBUFS:
                /* journald has net.unix.max_dgram_qlen datagrams unread. */
                l->journal_full = true;
                if (l->event && l->journal_fd >= 0) {
                        if (!l->write_source)
                                (void) sd_event_add_io(l->event, &l->write_source, l->journal_fd, EPOLLOUT,
                                                       on_journal_writable, l);
                        if (l->write_source)
                                (void) sd_event_source_set_enabled(l->write_source, SD_EVENT_ONESHOT);
                }
                return WRITE_AGAIN;
        case -EINTR:
                return WRITE_AGAIN;
        case -ECONNREFUSED:
        case -ENOTCONN:
        case -ECONNRESET:
        case -EPIPE:
        case -ENOENT:
                /* journald went away (a restart binds a new socket). */
                journal_close(l);
                l->reconnect_at = 0;
                say_journal_down(l, r);
                lost(l, &l->lost_down);
                return WRITE_LOST;
        default:
                lost(l, &l->lost_other);
                return WRITE_LOST;
        }
}

static int on_err_writable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Logger *l = userdata;

        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        log_flush(l);
        return 0;
}

/* The rest of a record from *done on. WRITE_AGAIN: the reader lags (the
 * record stays at the queue's head, the loop calls log_flush() again when
 * stderr takes more); a full queue meanwhile costs new records, counted. */
static WriteResult write_stderr(Logger *l, const void *data, size_t len, size_t *done) {
        if (l->err_broken) {
                lost(l, &l->lost_stderr);
                return WRITE_LOST;
        }
        while (*done < len) {
                ssize_t n = err_write(l, (const char *) data + *done, len - *done);
                if (n >= 0) {
                        *done += (size_t) n;
                        continue;
                }
                if (n == -EAGAIN) {
                        if (l->event && l->err_fd >= 0) {
                                if (!l->err_source)
                                        (void) sd_event_add_io(l->event, &l->err_source, l->err_fd, EPOLLOUT,
                                                               on_err_writable, l);
                                if (l->err_source)
                                        (void) sd_event_source_set_enabled(l->err_source, SD_EVENT_ONESHOT);
                        }
                        return WRITE_AGAIN;
                }
                /* EPIPE: the reader is gone, and would be for every later line. */
                int e = (int) -n;
                l->err_broken = true;
                lost(l, &l->lost_stderr);
                if (l->target == LOG_TARGET_STDERR) {
                        struct stat st;
                        if (stat(l->journal_path, &st) == 0 && S_ISSOCK(st.st_mode)) {
                                OutBuf rec = OUTBUF_INIT;
                                l->target = LOG_TARGET_JOURNAL;
                                _cleanup_(freep) char *m =
                                        xasprintf("stderr failed (%s); logging to the journal from now on",
                                                  strerror(e ? e : EIO));
                                if (m) {
                                        log_record_journal(&rec, _EV_MAX, LOG_WARNING, NULL, m, false);
                                        if (outbuf_error(&rec) == 0)
                                                (void) write_journal(l, rec.data, rec.len);
                                }
                                outbuf_done(&rec);
                        }
                }
                return WRITE_LOST;
        }
        return WRITE_OK;
}

static WriteResult write_record(Logger *l, int sink, const void *data, size_t len, size_t *done) {
        return sink == SINK_JOURNAL ? write_journal(l, data, len) : write_stderr(l, data, len, done);
}

/* After a sink took a record again: say, once, how many were lost, and
 * how many went to stderr while journald was away. */
static void say_lost(Logger *l, int sink) {
        uint64_t n = l->lost_full + l->lost_down + l->lost_stderr + l->lost_other;
        OutBuf rec = OUTBUF_INIT, m = OUTBUF_INIT;

        if (sink == SINK_JOURNAL) {
                l->journal_down = false;
                if (l->to_stderr > 0) {
                        _cleanup_(freep) char *msg = xasprintf("journald is reachable again; %" PRIu64
                                                               " records went to stderr meanwhile",
                                                               l->to_stderr);
                        size_t done = 0;
                        if (msg) {
                                log_record_journal(&rec, _EV_MAX, LOG_NOTICE, NULL, msg, false);
                                if (outbuf_error(&rec) == 0 &&
                                    write_record(l, sink, rec.data, rec.len, &done) == WRITE_OK)
                                        l->to_stderr = 0;
                        }
                        outbuf_reset(&rec);
                }
        }
        if (n == 0) {
                outbuf_done(&rec);
                return;
        }
        outbuf_printf(&m, "%" PRIu64 " log records lost (", n);
        const struct {
                uint64_t n;
                const char *why;
        } parts[] = {
                {l->lost_down, "journald unreachable"},
                {l->lost_full, "queue full while the sink was busy"},
                {l->lost_stderr, "stderr failed"},
                {l->lost_other, "write errors"},
        };
        bool first = true;
        for (size_t i = 0; i < ELEMENTSOF(parts); i++)
                if (parts[i].n) {
                        outbuf_printf(&m, "%s%s %" PRIu64, first ? "" : ", ", parts[i].why, parts[i].n);
                        first = false;
                }
        outbuf_puts(&m, "); pinnerctl status counts every decision");
        if (outbuf_error(&m) == 0) {
                if (sink == SINK_JOURNAL)
                        log_record_journal(&rec, EV_RECORDS_LOST, LOG_WARNING, NULL, outbuf_str(&m), false);
                else
                        log_record_stderr(&rec, EV_RECORDS_LOST, LOG_WARNING, NULL, outbuf_str(&m), false);
                /* If this one is lost too, it is counted, and said next time. */
                size_t done = 0;
                if (outbuf_error(&rec) == 0 && write_record(l, sink, rec.data, rec.len, &done) == WRITE_OK)
                        l->lost_full = l->lost_down = l->lost_stderr = l->lost_other = 0;
        }
        outbuf_done(&rec);
        outbuf_done(&m);
}

/* ---- the queue ---- */

void log_flush(Logger *l) {
        OutBuf *q = &l->queue;

        while (l->queue_head < q->len) {
                const unsigned char *h = (const unsigned char *) q->data + l->queue_head;
                uint32_t len;
                int sink = h[4];
                memcpy(&len, h, sizeof len);

                if (sink == SINK_JOURNAL && l->journal_full && l->write_source)
                        break; /* EPOLLOUT will call us */
                WriteResult w = write_record(l, sink, h + REC_HDR, len, &l->head_done);
                if (w == WRITE_AGAIN)
                        break;
                l->head_done = 0;
                l->queue_head += REC_HDR + len;
                l->queued--;
                if (w == WRITE_OK && (l->lost_full + l->lost_down + l->lost_stderr + l->lost_other > 0 ||
                                      (sink == SINK_JOURNAL && l->journal_down)))
                        say_lost(l, sink);
        }
        if (l->queue_head >= q->len) {
                /* A burst may have grown the queue to megabytes: give them
                 * back once it is empty, so RSS follows the load. */
                if (q->cap > LOG_QUEUE_KEEP_BYTES)
                        outbuf_done(q);
                else
                        outbuf_reset(q);
                l->queue_head = 0;
                l->queued = 0;
                /* Flushed by hand after a batch: no loop iteration needed. */
                if (l->post_source)
                        (void) sd_event_source_set_enabled(l->post_source, SD_EVENT_OFF);
        } else if (l->queue_head > q->len / 2) {
                memmove(q->data, q->data + l->queue_head, q->len - l->queue_head);
                q->len -= l->queue_head;
                q->data[q->len] = '\0';
                l->queue_head = 0;
        }
}

static int on_deferred(sd_event_source *s, void *userdata) {
        Logger *l = userdata;

        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        log_flush(l);
        return 0;
}

int log_attach_event(Logger *l, sd_event *e) {
        int r;

        if (l->event)
                return -EBUSY;
        /* A defer source, enabled by the first record a handler logs: it is
         * pending from that iteration on, so it runs right after the handler
         * (before sources that become pending later at its priority), and
         * costs nothing when nothing was logged. A post source would be
         * marked pending only by the next handler. */
        r = sd_event_add_defer(e, &l->post_source, on_deferred, l);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(l->post_source, SD_EVENT_OFF);
        l->event = sd_event_ref(e);
        return 0;
}

static void enqueue(Logger *l, int sink, const OutBuf *rec) {
        OutBuf *q = &l->queue;
        unsigned char hdr[REC_HDR];
        uint32_t len = (uint32_t) rec->len;

        if (outbuf_error(rec) < 0 || rec->len > UINT32_MAX) {
                lost(l, &l->lost_other);
                return;
        }
        if (l->queued >= LOG_QUEUE_MAX_RECORDS || q->len - l->queue_head + REC_HDR + rec->len > q->max) {
                lost(l, &l->lost_full);
                return;
        }
        memcpy(hdr, &len, sizeof len);
        hdr[4] = (unsigned char) sink;
        outbuf_append(q, hdr, sizeof hdr);
        outbuf_append(q, rec->data, rec->len);
        if (outbuf_error(q) < 0) {
                /* Out of memory (the byte limit was checked above): forget
                 * the partial record, keep the rest. */
                q->error = 0;
                lost(l, &l->lost_other);
                return;
        }
        l->queued++;
}

/* Where a record goes: the target, except that while journald is away
 * (said once) records go to stderr, when that works, instead of being
 * dropped; connecting again is tried at most every LOG_RECONNECT_USEC. */
static int pick_sink(Logger *l) {
        uint64_t now;
        int r;

        if (l->target != LOG_TARGET_JOURNAL)
                return SINK_STDERR;
        /* Connected; or stderr is broken too and the journal path counts
         * what it cannot send. */
        if (l->journal_fd >= 0 || l->err_broken)
                return SINK_JOURNAL;
        now = now_usec();
        if (now >= l->reconnect_at) {
                r = journal_connect(l);
                if (r == 0)
                        return SINK_JOURNAL; /* what went to stderr is said with this record */
                l->reconnect_at = now + LOG_RECONNECT_USEC;
                say_journal_down(l, r);
        }
        l->to_stderr++;
        return SINK_STDERR;
}

void log_emit(Logger *l, EventKind kind, int priority, const LogFields *lf, const char *message,
              bool escaped) {
        OutBuf rec = OUTBUF_INIT;
        int sink = pick_sink(l);

        if (sink == SINK_JOURNAL)
                log_record_journal(&rec, kind, priority, lf, message, escaped);
        else
                log_record_stderr(&rec, kind, priority, lf, message, escaped);
        enqueue(l, sink, &rec);
        outbuf_done(&rec);

        /* Inside an event handler the record waits for the defer source: the
         * handler's sched_setaffinity() calls come first. */
        if (l->event && l->post_source && sd_event_get_state(l->event) == SD_EVENT_RUNNING)
                (void) sd_event_source_set_enabled(l->post_source, SD_EVENT_ONESHOT);
        else
                log_flush(l);
}

void log_done(Logger *l) {
        uint64_t deadline = now_usec() + LOG_DONE_WAIT_MS * 1000u;

        l->write_source = sd_event_source_disable_unref(l->write_source);
        log_flush(l);
        /* A busy journald gets a bounded wait: EPOLLOUT on the connected
         * socket says when it has room. */
        while (l->queued > 0 && l->journal_fd >= 0 && l->journal_full) {
                uint64_t now = now_usec();
                struct pollfd p = {.fd = l->journal_fd, .events = POLLOUT};
                if (now >= deadline)
                        break;
                l->journal_full = false;
                if (poll(&p, 1, (int) ((deadline - now + 999) / 1000)) <= 0)
                        break;
                log_flush(l);
        }
        /* A lagging stderr reader gets the same bounded wait. */
        while (l->queued > 0 && l->err_fd >= 0 && !l->err_broken && l->target == LOG_TARGET_STDERR) {
                uint64_t now = now_usec();
                struct pollfd p = {.fd = l->err_fd, .events = POLLOUT};
                if (now >= deadline || poll(&p, 1, (int) ((deadline - now + 999) / 1000)) <= 0)
                        break;
                unsigned before = l->queued;
                size_t done = l->head_done;
                log_flush(l);
                if (l->queued == before && l->head_done == done)
                        break;
        }
        /* Whatever is still queued is lost. */
        l->lost_total += l->queued;
        l->head_done = 0;
        l->err_source = sd_event_source_disable_unref(l->err_source);
        err_close(l);
        l->post_source = sd_event_source_disable_unref(l->post_source);
        l->event = sd_event_unref(l->event);
        journal_close(l);
        outbuf_done(&l->queue);
        l->queue_head = 0;
        l->queued = 0;
}
