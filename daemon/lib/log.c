/* SPDX-License-Identifier: MIT */
#include "lib/log.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <systemd/sd-event.h>

#include "lib/output.h"

/* Fixed per event kind; listed in pinnerd(8) so `journalctl MESSAGE_ID=` works. */
static const struct {
        const char *name, *id;
} event_table[_EV_MAX] = {
        [EV_STARTED] = {"started", "1dd75684d45344ff90c42355c31a62c8"},
        [EV_RELOADED] = {"reloaded", "567cbaafd73b4e9a9c85d322f6c40718"},
        [EV_RELOAD_FAILED] = {"reload-failed", "4eeca4b5ec9e403bbb9c137b1f434313"},
        [EV_APPLIED] = {"applied", "7aaa90cf301a46b488d3364334aa4de9"},
        [EV_RESTORED] = {"restored", "b78f5b1109c243028428ef1679cc3a67"},
        [EV_SKIPPED] = {"skipped", "bf2d050d99e841f0bc947a9831321980"},
        [EV_FAILED] = {"failed", "0dce1f6feed34b5b83ae916ead3d64b9"},
        [EV_DRIFT] = {"drift", "785cac1b954b4ce7b72332131a32e800"},
        [EV_EVENTS_LOST] = {"events-lost", "d88dc9d6409e40c381ed1f3609431cd2"},
        [EV_RESCAN] = {"rescan", "16eb8956c74f47bb81c430f189093fd2"},
        [EV_STOPPING] = {"stopping", "3d046bde37ee4fb5a0ea66a563060e17"},
        [EV_RECORDS_LOST] = {"records-lost", "1c267f9d81864239b29d524d4ddc7f37"},
        [EV_CONFLICT] = {"conflict", "c63a61b28b164334b5b9b11d7b5b837c"},
        [EV_TARGET_APPLIED] = {"applied", "0cd02ba8737945ccbac46699f4b537f5"},
        [EV_TARGET_RESTORED] = {"restored", "220edff2318447b4a527ac5104ea10b4"},
        [EV_TARGET_SKIPPED] = {"skipped", "3b50f058bed84725a12ec2345ac09ecd"},
        [EV_TARGET_FAILED] = {"failed", "675e2edd4fff4c40ac97ceacc0cb096d"},
        [EV_TARGET_DRIFT] = {"drift", "b12072b7b306408291e1adb74cfcb98e"},
        [EV_MEMORY] = {"memory", "6009e67406cd4304857ad9bd4fab670b"},
};

static const char *const level_names[] = {
        [LOG_EMERG] = "emerg",     [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit", [LOG_ERR] = "err",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

/* Where a queued record goes. */
enum { SINK_STDERR = 1, SINK_JOURNAL = 2 };
/* Queue record header: u32 length, u8 sink. */
#define REC_HDR 5u
/* How long log_done() waits for a busy journald to take what is queued. */
#define LOG_DONE_WAIT_MS 1000
/* journald's own sender asks for this much; the kernel caps it at wmem_max. */
#define JOURNAL_SNDBUF (8 * 1024 * 1024)

const char *event_kind_name(EventKind k) {
        return k >= 0 && k < _EV_MAX ? event_table[k].name : NULL;
}

const char *event_message_id(EventKind k) {
        return k >= 0 && k < _EV_MAX ? event_table[k].id : NULL;
}

int log_parse_level(const char *s, int *ret) {
        for (int i = LOG_ERR; i <= LOG_DEBUG; i++)
                if (strcasecmp(s, level_names[i]) == 0) {
                        *ret = i;
                        return 0;
                }
        return -EINVAL;
}

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

/* ---- building records ---- */

int log_journal_field(OutBuf *out, const char *key, const char *value, size_t len) {
        if (!memchr(value, '\n', len)) {
                outbuf_puts(out, key);
                outbuf_putc(out, '=');
                outbuf_append(out, value, len);
                return outbuf_putc(out, '\n');
        }
        uint8_t le[8];
        for (int i = 0; i < 8; i++)
                le[i] = (uint8_t) ((uint64_t) len >> (8 * i));
        outbuf_puts(out, key);
        outbuf_putc(out, '\n');
        outbuf_append(out, le, sizeof le);
        outbuf_append(out, value, len);
        return outbuf_putc(out, '\n');
}

static void jfield(OutBuf *out, const char *key, const char *value) {
        if (value)
                log_journal_field(out, key, value, strlen(value));
}

/* The longest prefix of escaped text s[0..len) of at most max bytes that
 * ends between two escapes or characters: never half a \xHH or a UTF-8
 * sequence. */
static size_t escaped_prefix(const char *s, size_t len, size_t max) {
        size_t i = 0;

        while (i < len) {
                unsigned char c = (unsigned char) s[i];
                size_t t;
                if (c == '\\')
                        t = i + 1 < len && s[i + 1] == 'x' ? 4 : 2;
                else
                        t = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
                if (i + t > max)
                        break;
                i += t;
        }
        return i;
}

/* The message as people see it: raw text escaped once (text_escape_append),
 * or already escaped text checked (text_sanitize_append); cut to
 * LOG_MESSAGE_MAX so a record always fits a datagram. */
static void put_message(OutBuf *out, const char *message, bool escaped) {
        OutBuf m = OUTBUF_INIT;
        size_t n = strlen(message);

        m.max = LOG_MESSAGE_MAX * 4 + 16;
        if (n > LOG_MESSAGE_MAX)
                n = LOG_MESSAGE_MAX;
        if (escaped)
                text_sanitize_append(&m, message, n);
        else
                text_escape_append(&m, message, n);
        if (outbuf_error(&m) < 0) {
                outbuf_puts(out, "(unprintable)");
                outbuf_done(&m);
                return;
        }
        size_t len = m.len;
        bool cut = n < strlen(message) || len > LOG_MESSAGE_MAX;
        if (len > LOG_MESSAGE_MAX)
                len = escaped_prefix(m.data, len, LOG_MESSAGE_MAX);
        outbuf_append(out, m.data, len);
        if (cut)
                outbuf_puts(out, "...");
        outbuf_done(&m);
}

static void build_journal(OutBuf *out, EventKind kind, int priority, const LogFields *lf, const char *message,
                          bool escaped) {
        char num[24];

        jfield(out, "SYSLOG_IDENTIFIER", "pinnerd");
        snprintf(num, sizeof num, "%d", priority & 7);
        jfield(out, "PRIORITY", num);
        outbuf_puts(out, "MESSAGE=");
        put_message(out, message, escaped);
        outbuf_putc(out, '\n');
        if (kind >= 0 && kind < _EV_MAX) {
                jfield(out, "MESSAGE_ID", event_table[kind].id);
                jfield(out, "PINNERD_EVENT", event_table[kind].name);
        }
        if (!lf)
                return;
        jfield(out, "PINNERD_RULE", lf->rule);
        if (lf->pid > 0) {
                snprintf(num, sizeof num, "%d", (int) lf->pid);
                jfield(out, "PINNERD_PID", num);
        }
        if (lf->tid > 0) {
                snprintf(num, sizeof num, "%d", (int) lf->tid);
                jfield(out, "PINNERD_TID", num);
        }
        jfield(out, "PINNERD_COMM", lf->comm);
        jfield(out, "PINNERD_THREAD", lf->thread);
        jfield(out, "PINNERD_CPUS", lf->cpus);
        jfield(out, "PINNERD_REQUESTED", lf->requested);
        jfield(out, "PINNERD_POLICY", lf->policy);
        jfield(out, "PINNERD_IRQ", lf->irq);
        jfield(out, "PINNERD_IRQ_NAME", lf->irq_name);
        jfield(out, "PINNERD_WORKQUEUE", lf->workqueue);
        jfield(out, "PINNERD_PREVIOUS", lf->previous);
        jfield(out, "PINNERD_REASON", lf->reason);
        jfield(out, "PINNERD_NODES", lf->nodes);
        jfield(out, "PINNERD_PAGES_MOVED", lf->pages_moved);
        jfield(out, "PINNERD_PAGES_FAILED", lf->pages_failed);
}

/* A field value on the stderr line: escaped as for a terminal (output.h),
 * and quotes too, so a comm holding a newline or a quote cannot forge a
 * second line or a field. */
static void put_escaped(OutBuf *out, const char *s, bool escaped) {
        OutBuf b = OUTBUF_INIT;

        if ((escaped ? text_sanitize_append(&b, s, strlen(s)) : text_escape_append(&b, s, strlen(s))) < 0) {
                outbuf_done(&b);
                outbuf_puts(out, "(unprintable)");
                return;
        }
        for (const char *p = outbuf_str(&b); *p; p++) {
                if (*p == '"')
                        outbuf_putc(out, '\\');
                outbuf_putc(out, *p);
        }
        outbuf_done(&b);
}

/* " key=value", or "key=value" for the first field after the bracket. */
static void put_field_as(OutBuf *out, bool *first, const char *key, const char *value, bool escaped) {
        if (!value)
                return;
        outbuf_printf(out, "%s%s=", *first ? "" : " ", key);
        *first = false;
        bool quote = strpbrk(value, " \"") != NULL || *value == '\0';
        if (quote)
                outbuf_putc(out, '"');
        put_escaped(out, value, escaped);
        if (quote)
                outbuf_putc(out, '"');
}

static void put_field(OutBuf *out, bool *first, const char *key, const char *value) {
        put_field_as(out, first, key, value, false);
}

/* One stderr line: the message, then the fields as key=value. */
static void build_stderr(OutBuf *out, EventKind kind, int priority, const LogFields *lf, const char *message,
                         bool escaped) {
        char pid[24], tid[24];
        bool first = true;

        outbuf_printf(out, "pinnerd: %s: ", level_names[priority & 7]);
        put_message(out, message, escaped);
        if (kind >= 0 && kind < _EV_MAX) {
                outbuf_printf(out, " [event=%s", event_table[kind].name);
                first = false;
        } else if (lf)
                outbuf_puts(out, " [");
        if (lf) {
                snprintf(pid, sizeof pid, "%d", (int) lf->pid);
                snprintf(tid, sizeof tid, "%d", (int) lf->tid);
                put_field(out, &first, "rule", lf->rule);
                put_field(out, &first, "pid", lf->pid > 0 ? pid : NULL);
                put_field(out, &first, "tid", lf->tid > 0 ? tid : NULL);
                put_field(out, &first, "comm", lf->comm);
                put_field(out, &first, "thread", lf->thread);
                put_field(out, &first, "cpus", lf->cpus);
                put_field(out, &first, "requested", lf->requested);
                put_field(out, &first, "policy", lf->policy);
                put_field(out, &first, "irq", lf->irq);
                put_field(out, &first, "irq_name", lf->irq_name);
                put_field(out, &first, "workqueue", lf->workqueue);
                put_field(out, &first, "previous", lf->previous);
                put_field_as(out, &first, "reason", lf->reason, lf->reason_escaped);
                put_field(out, &first, "nodes", lf->nodes);
                put_field(out, &first, "pages_moved", lf->pages_moved);
                put_field(out, &first, "pages_failed", lf->pages_failed);
        }
        if ((kind >= 0 && kind < _EV_MAX) || lf)
                outbuf_putc(out, ']');
        outbuf_putc(out, '\n');
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
 * once. Records logged from now on go to stderr (emit() picks it while
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
                                        build_journal(&rec, _EV_MAX, LOG_WARNING, NULL, m, false);
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
                                build_journal(&rec, _EV_MAX, LOG_NOTICE, NULL, msg, false);
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
                        build_journal(&rec, EV_RECORDS_LOST, LOG_WARNING, NULL, outbuf_str(&m), false);
                else
                        build_stderr(&rec, EV_RECORDS_LOST, LOG_WARNING, NULL, outbuf_str(&m), false);
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

static void emit(Logger *l, EventKind kind, int priority, const LogFields *lf, const char *message,
                 bool escaped) {
        OutBuf rec = OUTBUF_INIT;
        int sink = pick_sink(l);

        if (sink == SINK_JOURNAL)
                build_journal(&rec, kind, priority, lf, message, escaped);
        else
                build_stderr(&rec, kind, priority, lf, message, escaped);
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

/* ---- the storm limiter and the entry points ---- */

bool log_storm_flush(Logger *l, uint64_t now) {
        if (l->window_start != 0 && now - l->window_start >= LOG_STORM_WINDOW_USEC) {
                if (l->suppressed_total > 0) {
                        char detail[256] = "", users[256] = "";
                        size_t len = 0, ulen = 0;
                        for (int k = 0; k < _EV_MAX; k++)
                                if (l->suppressed[k] && len < sizeof detail)
                                        len += (size_t) snprintf(detail + len, sizeof detail - len, "%s%s %u",
                                                                 len ? ", " : "", event_table[k].name,
                                                                 l->suppressed[k]);
                        if (l->suppressed_other && len < sizeof detail)
                                snprintf(detail + len, sizeof detail - len, "%snotes %u", len ? ", " : "",
                                         l->suppressed_other);
                        /* Whose processes they were about. */
                        for (unsigned k = 0; k < l->n_window_users && ulen < sizeof users; k++) {
                                if (!l->window_users[k].suppressed)
                                        continue;
                                if (l->window_users[k].uid == (uid_t) -1)
                                        ulen += (size_t) snprintf(users + ulen, sizeof users - ulen,
                                                                  "%sother %u", ulen ? ", " : "",
                                                                  l->window_users[k].suppressed);
                                else
                                        ulen += (size_t) snprintf(users + ulen, sizeof users - ulen,
                                                                  "%suid %u: %u", ulen ? ", " : "",
                                                                  (unsigned) l->window_users[k].uid,
                                                                  l->window_users[k].suppressed);
                        }
                        _cleanup_(freep) char *m = xasprintf(
                                "suppressed %u thread records in %u s (%s; about processes of %s); see "
                                "pinnerctl status for counters",
                                l->suppressed_total, LOG_STORM_WINDOW_USEC / 1000000u, detail,
                                *users ? users : "all users");
                        if (m)
                                emit(l, _EV_MAX, LOG_NOTICE, NULL, m, false);
                }
                memset(l->suppressed, 0, sizeof l->suppressed);
                l->suppressed_other = 0;
                l->suppressed_total = 0;
                l->window_start = 0;
                l->window_count = 0;
                l->n_window_users = 0;
        }
        return l->suppressed_total > 0;
}

/* The window's budget for records about uid's processes: its own entry,
 * or the shared one past LOG_STORM_USERS (and for records with no owner). */
static unsigned window_user(Logger *l, const LogFields *f) {
        uid_t uid = f->has_uid ? f->uid : (uid_t) -1;
        unsigned i;

        for (i = 0; i < l->n_window_users; i++)
                if (l->window_users[i].uid == uid)
                        return i;
        if (uid != (uid_t) -1 && l->n_window_users >= LOG_STORM_USERS)
                return window_user(l, &(LogFields){0});
        l->window_users[i].uid = uid;
        l->window_users[i].count = 0;
        l->window_users[i].suppressed = 0;
        l->n_window_users++;
        return i;
}

uint64_t log_storm_deadline(const Logger *l) {
        return l->suppressed_total > 0 ? l->window_start + LOG_STORM_WINDOW_USEC : 0;
}

/* Thread records (those with a tid) go through the storm limiter; daemon
 * messages never do. */
static void log_vevent(Logger *l, EventKind kind, int priority, const LogFields *f, const char *fmt,
                       va_list ap) {
        _cleanup_(freep) char *m = NULL;

        if (priority > l->max_level)
                return;
        if (f && f->tid > 0) {
                uint64_t now = now_usec();
                log_storm_flush(l, now);
                if (l->window_start == 0)
                        l->window_start = now;
                unsigned u = window_user(l, f);
                if (++l->window_users[u].count > LOG_STORM_BURST || ++l->window_count > LOG_STORM_TOTAL) {
                        if (kind >= 0 && kind < _EV_MAX)
                                l->suppressed[kind]++;
                        else
                                l->suppressed_other++;
                        l->suppressed_total++;
                        l->window_users[u].suppressed++;
                        return;
                }
        }
        char *text;
        /* On failure vasprintf leaves its pointer undefined. */
        if (vasprintf(&text, fmt, ap) < 0)
                return;
        m = text;
        emit(l, kind, priority, f, m, false);
}

void log_event(Logger *l, EventKind kind, int priority, const LogFields *f, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        log_vevent(l, kind, priority, f, fmt, ap);
        va_end(ap);
}

void log_note(Logger *l, int priority, const LogFields *f, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        log_vevent(l, _EV_MAX, priority, f, fmt, ap);
        va_end(ap);
}

void log_msg(Logger *l, int priority, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        log_vevent(l, _EV_MAX, priority, NULL, fmt, ap);
        va_end(ap);
}

void log_msg_escaped(Logger *l, int priority, const char *text) {
        if (priority > l->max_level)
                return;
        emit(l, _EV_MAX, priority, NULL, text, true);
}
