/* SPDX-License-Identifier: MIT */
#include "ctl/ctlserver.h"
#include "ctl/budget.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "ctl/ctlproto.h"
#include "lib/util.h"

/* How long accepting pauses after EMFILE and friends: the listening socket is
 * level-triggered, so without a pause the loop would spin at 100% CPU until a
 * descriptor frees up. */
#define CTL_ACCEPT_BACKOFF_USEC (250 * 1000ULL)
/* Connections taken per wakeup, so a flood cannot starve other sources. */
#define CTL_ACCEPT_BURST 16
/* Connections the kernel queues for us. While non-root peers are over their
 * share, accepting pauses (a connection's uid is known only once it is
 * accepted), so root's connection may wait behind this many others, each
 * taken at the non-root pace: ~64 x 10 x 20 us, about 13 ms. SOMAXCONN
 * (4096) would make that most of a second. */
#define CTL_LISTEN_BACKLOG 512

typedef enum ConnPhase {
        CONN_READING,
        CONN_VIEWING, /* a non-root peer's view (peer.h) is read before its request is answered */
        CONN_WORKING, /* a stepped handler is not done yet */
        CONN_SEND_OUT,
        CONN_SEND_ERR,
        CONN_SEND_NOTE,
        CONN_SEND_EXIT,
} ConnPhase;

typedef struct CtlConn CtlConn;

struct CtlServer {
        sd_event *event;
        char *path;
        int fd;
        dev_t dev; /* of the socket inode we bound, to unlink only our own */
        ino_t ino;
        sd_event_source *listen_source;
        sd_event_source *backoff_source;
        CtlHandler handler;
        void *userdata;
        CtlConn *conns;
        size_t n_conns, n_root_conns;
        size_t max_connections;
        uint64_t request_timeout_usec;
        uint64_t drain_timeout_usec;
        CtlBudget budget; /* what non-root peers may cost */
};

struct CtlConn {
        CtlServer *server;
        CtlConn *prev, *next;
        int fd;
        sd_event_source *io_source;
        sd_event_source *timer_source;
        uid_t uid;
        pid_t pid;
        bool root;
        PeerCreds creds;     /* at connect: what the verbs show this peer */
        PeerViewReader view; /* its view, read in slices once it asks */
        char *request;       /* the request, kept while the view is read */
        size_t request_len;
        ConnPhase phase;
        sd_event_source *step_source;
        sd_event_source *pause_source; /* non-root work waits between slices */
        const char *verb;              /* for the failure note of a stepped handler */
        char verb_buf[CTL_MAX_VERB + 1];
        size_t offset;    /* into the buffer being sent */
        const char *note; /* extra stderr line after the reply, or NULL */
        CtlReply reply;
};

bool ctl_verb_needs_root(const char *verb) {
        const CtlVerbInfo *v = ctl_verb_find(verb); /* the one verb table, ctlproto.c */
        return v && v->needs_root;
}

bool ctl_request_privileged(const CtlRequest *req) {
        /* The daemon's own user is as good as root for its own state: it can
         * signal or ptrace the daemon anyway. This lets an unprivileged
         * `pinnerd --root` (tests, explaining a captured host) be reloaded. */
        return req->uid == 0 || req->uid == geteuid();
}

static void conn_free(CtlConn *c) {
        CtlServer *s;

        if (!c)
                return;
        s = c->server;
        if (c->prev)
                c->prev->next = c->next;
        else
                s->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        if (c->root)
                s->n_root_conns--;
        else
                s->n_conns--;
        /* Safe from the source's own callback: sd-event defers the free. */
        sd_event_source_disable_unref(c->io_source);
        sd_event_source_disable_unref(c->timer_source);
        sd_event_source_disable_unref(c->step_source);
        sd_event_source_disable_unref(c->pause_source);
        if (c->reply.step_free)
                c->reply.step_free(c->reply.step_state);
        peer_view_reader_done(&c->view);
        free(c->request);
        if (c->fd >= 0)
                close(c->fd);
        outbuf_done(&c->reply.out);
        outbuf_done(&c->reply.err);
        free(c);
}

static int conn_set_timeout(CtlConn *c, uint64_t usec) {
        int r;

        /* Not sd_event_now(): that is the start of this iteration, and the
         * handler may just have spent seconds re-applying a reload. */
        r = sd_event_source_set_time(c->timer_source, now_usec() + usec);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(c->timer_source, SD_EVENT_ONESHOT);
}

/* Send chunks until the socket is full (wait for EPOLLOUT) or the reply is
 * done (close). Returns 1 when the connection was freed. */
static int conn_flush(CtlConn *c) {
        char buf[CTL_MAX_CHUNK];

        for (;;) {
                const OutBuf *src = NULL;
                size_t len = 0;
                ssize_t n;

                switch (c->phase) {
                case CONN_SEND_OUT:
                case CONN_SEND_ERR:
                        src = c->phase == CONN_SEND_OUT ? &c->reply.out : &c->reply.err;
                        if (c->offset >= src->len) {
                                c->phase++;
                                c->offset = 0;
                                continue;
                        }
                        len = src->len - c->offset;
                        if (len > CTL_MAX_CHUNK - 1)
                                len = CTL_MAX_CHUNK - 1;
                        ctl_chunk_encode_data(c->phase == CONN_SEND_OUT ? CTL_CHUNK_STDOUT : CTL_CHUNK_STDERR,
                                              src->data + c->offset, len, buf, sizeof buf, &len);
                        break;
                case CONN_SEND_NOTE:
                        if (!c->note) {
                                c->phase++;
                                continue;
                        }
                        ctl_chunk_encode_data(CTL_CHUNK_STDERR, c->note, strlen(c->note), buf, sizeof buf,
                                              &len);
                        break;
                case CONN_SEND_EXIT:
                        ctl_chunk_encode_exit(c->reply.exit_code, buf, sizeof buf, &len);
                        break;
                case CONN_READING:
                default:
                        return 0;
                }

                n = send(c->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        /* EPIPE, ECONNRESET: the client went away. */
                        conn_free(c);
                        return 1;
                }
                switch (c->phase) {
                case CONN_SEND_OUT:
                case CONN_SEND_ERR:
                        c->offset += len - 1;
                        break;
                case CONN_SEND_NOTE:
                        c->phase++;
                        break;
                default:
                        /* 'X' sent. The data sits in the peer's receive queue,
                         * so closing now loses nothing. */
                        conn_free(c);
                        return 1;
                }
        }
}

/* A handler (or its last step) returned r: settle the exit code and notes. */
static void conn_settle(CtlConn *c, int r) {
        if (r < 0) {
                /* The buffer may have overflowed; the note still gets out. */
                if (outbuf_printf(&c->reply.err, "pinnerd: %s: %s\n", c->verb, strerror(-r)) < 0)
                        c->note = "pinnerd: internal error\n";
                c->reply.exit_code = CTL_EXIT_FAILED;
        }
        if (outbuf_error(&c->reply.out) < 0 || outbuf_error(&c->reply.err) < 0) {
                c->note = outbuf_error(&c->reply.out) == -ENOMEM || outbuf_error(&c->reply.err) == -ENOMEM
                                  ? "pinnerd: out of memory, reply truncated\n"
                                  : "pinnerd: reply too large, truncated\n";
                c->reply.exit_code = CTL_EXIT_FAILED;
        }
        if (c->reply.exit_code < 0 || c->reply.exit_code > 255)
                c->reply.exit_code = CTL_EXIT_FAILED;
}

static void conn_dispatch(CtlConn *c, const CtlWireRequest *w) {
        CtlServer *s = c->server;
        CtlRequest req = {
                .verb = w->verb,
                .args = w->args,
                .n_args = w->n_args,
                .json = w->flags & CTL_FLAG_JSON,
                .uid = c->uid,
                .pid = c->pid,
                .peer = &c->creds,
                .privileged = c->root,
        };
        int r;

        snprintf(c->verb_buf, sizeof c->verb_buf, "%s", w->verb);
        c->verb = c->verb_buf;
        if (ctl_verb_needs_root(req.verb) && !req.privileged) {
                outbuf_printf(&c->reply.err, "permission denied: '%s' needs root\n", req.verb);
                c->reply.exit_code = CTL_EXIT_DENIED;
                return;
        }
        if (!req.privileged)
                c->reply.out.max = CTL_SERVER_UNPRIV_REPLY_MAX;
        /* Its cost is charged with the rest of the callback (conn_charge). */
        r = s->handler(s->userdata, &req, &c->reply);
        if (r >= 0 && c->reply.step) {
                c->phase = CONN_WORKING;
                return;
        }
        conn_settle(c, r);
}

static int conn_start_sending(CtlConn *c);

static int conn_read_request(CtlConn *c);

/* What a non-root peer's callback cost since t0 (reading its request,
 * answering, sending, closing), charged to its uid and to non-root peers as
 * a whole. Taken apart from the connection, which the callback may free. */
static void conn_charge(CtlServer *s, bool root, uid_t uid, uint64_t t0) {
        if (!root) {
                uint64_t t1 = now_usec();
                ctl_budget_charge(&s->budget, uid, t1, t1 - t0 + CTL_BUDGET_LOOP_USEC);
        }
}

/* The same for one connection of an accept burst: the loop's wakeup is
 * charged once per burst (loop_charged), to the first non-root peer. */
static void conn_charge_accept(CtlServer *s, bool root, uid_t uid, uint64_t t0, bool *loop_charged) {
        if (!root) {
                uint64_t t1 = now_usec();
                ctl_budget_charge(&s->budget, uid, t1, t1 - t0 + (*loop_charged ? 0 : CTL_BUDGET_LOOP_USEC));
                *loop_charged = true;
        }
}
static int on_conn_resume(sd_event_source *src, uint64_t usec, void *userdata);

/* A non-root peer's next piece of work waits until its uid, and non-root
 * peers as a whole, are within their share (budget.h). Returns true when
 * it was put off (pause_source brings it back). */
static bool conn_wait_turn(CtlConn *c) {
        uint64_t now = now_usec(), due;
        int k;

        if (c->root)
                return false;
        due = ctl_budget_ready_at(&c->server->budget, c->uid);
        if (due <= now + CTL_BUDGET_SLACK_USEC)
                return false;
        if (!c->pause_source)
                /* Accuracy 0 would be sd-event's default, 250 ms. */
                k = sd_event_add_time(c->server->event, &c->pause_source, CLOCK_MONOTONIC, due, 100,
                                      on_conn_resume, c);
        else
                k = sd_event_source_set_time(c->pause_source, due);
        if (k >= 0)
                k = sd_event_source_set_enabled(c->pause_source, SD_EVENT_ONESHOT);
        if (k < 0)
                return false; /* cannot wait: work now rather than never */
        if (c->phase == CONN_READING) {
                (void) sd_event_source_set_enabled(c->io_source, SD_EVENT_OFF);
                /* The wait is the daemon's, not the client's: the request
                 * timeout counts from when its turn comes. */
                (void) conn_set_timeout(c, due - now + c->server->request_timeout_usec);
        } else
                (void) sd_event_source_set_enabled(c->step_source, SD_EVENT_OFF);
        return true;
}

static int on_conn_resume(sd_event_source *src, uint64_t usec, void *userdata) {
        CtlConn *c = userdata;
        if (c->phase == CONN_READING) {
                CtlServer *s = c->server;
                bool root = c->root;
                uid_t uid = c->uid;
                /* Its uid did more meanwhile (another of its connections):
                 * wait again, and charge nothing for finding that out, or
                 * its connections would push each other's turns away. */
                if (conn_wait_turn(c))
                        return 0;
                uint64_t t0 = now_usec();
                (void) sd_event_source_set_enabled(c->io_source, SD_EVENT_ON);
                (void) conn_read_request(c);
                conn_charge(s, root, uid, t0);
        } else
                (void) sd_event_source_set_enabled(c->step_source, SD_EVENT_ON);
        return 0;
}

static int conn_answer(CtlConn *c, const char *buf, size_t n);

/* A slice of the peer's view; its request is answered once it is read. */
static int conn_view_step(CtlConn *c) {
        uint64_t t0 = now_usec();
        int r = peer_view_step(&c->view, &c->creds, CTL_STEP_BUDGET_USEC);

        conn_charge(c->server, c->root, c->uid, t0);
        if (r > 0) {
                (void) conn_wait_turn(c);
                return 0;
        }
        /* Done (or out of memory: then nothing is shown). */
        peer_view_reader_done(&c->view);
        sd_event_source_set_enabled(c->step_source, SD_EVENT_OFF);
        _cleanup_(freep) char *req = TAKE_PTR(c->request);
        t0 = now_usec();
        CtlServer *s = c->server;
        bool root = c->root;
        uid_t uid = c->uid;
        (void) conn_answer(c, req, c->request_len);
        conn_charge(s, root, uid, t0);
        return 0;
}

static int on_conn_step(sd_event_source *src, void *userdata) {
        CtlConn *c = userdata;
        if (c->phase == CONN_VIEWING)
                return conn_view_step(c);
        uint64_t t0 = now_usec();
        int r = c->reply.step(c->server->userdata, c->reply.step_state, &c->reply);

        conn_charge(c->server, c->root, c->uid, t0);
        if (r > 0 && outbuf_error(&c->reply.out) == 0 && outbuf_error(&c->reply.err) == 0 &&
            c->reply.step_delay_usec > 0) {
                /* Called again later (a sample): a timer, nothing in between. */
                uint64_t delay = c->reply.step_delay_usec;
                int k;
                if (delay > CTL_STEP_MAX_DELAY_USEC)
                        delay = CTL_STEP_MAX_DELAY_USEC;
                c->reply.step_delay_usec = 0;
                if (!c->pause_source)
                        k = sd_event_add_time(c->server->event, &c->pause_source, CLOCK_MONOTONIC,
                                              now_usec() + delay, 1000, on_conn_resume, c);
                else
                        k = sd_event_source_set_time(c->pause_source, now_usec() + delay);
                if (k >= 0)
                        k = sd_event_source_set_enabled(c->pause_source, SD_EVENT_ONESHOT);
                /* The wait does not count against the client's time to drain. */
                if (k >= 0)
                        k = conn_set_timeout(c, delay + c->server->drain_timeout_usec);
                if (k >= 0) {
                        (void) sd_event_source_set_enabled(c->step_source, SD_EVENT_OFF);
                        return 0;
                }
                /* No timer: finish now, with what there is. */
        }
        if (r > 0 && outbuf_error(&c->reply.out) == 0 && outbuf_error(&c->reply.err) == 0) {
                /* More: called again after the loop's other work, and a
                 * non-root peer's only when its share allows. */
                (void) conn_wait_turn(c);
                return 0;
        }
        sd_event_source_set_enabled(c->step_source, SD_EVENT_OFF);
        conn_settle(c, r > 0 ? 0 : r);
        conn_start_sending(c);
        return 0;
}

/* Call on_conn_step (a slice of a view or of a handler) until it is done:
 * nothing to read or send meanwhile. Returns 1 when the connection was
 * freed. */
static int conn_start_stepping(CtlConn *c) {
        int r = sd_event_source_set_enabled(c->io_source, SD_EVENT_OFF);

        if (r >= 0 && !c->step_source) {
                r = sd_event_add_defer(c->server->event, &c->step_source, on_conn_step, c);
                if (r >= 0)
                        r = sd_event_source_set_priority(c->step_source, SD_EVENT_PRIORITY_IDLE);
        }
        if (r >= 0)
                r = sd_event_source_set_enabled(c->step_source, SD_EVENT_ON);
        if (r >= 0)
                r = conn_set_timeout(c, c->server->drain_timeout_usec);
        if (r < 0) {
                conn_free(c);
                return 1;
        }
        return 0;
}

/* Does answering this request show the peer anything of /proc, so that its
 * view must be read first? Not for root, nor for what is refused anyway. */
static bool conn_needs_view(const CtlConn *c, const char *buf, size_t n) {
        CtlWireRequest w;
        return !c->root && !c->creds.view_known && c->view.mountinfo_fd >= 0 &&
               ctl_request_decode(buf, n, &w) >= 0 && !ctl_verb_needs_root(w.verb);
}

/* Read the request, answer it and start streaming. Returns 1 when the
 * connection was freed. */
static int conn_read_request(CtlConn *c) {
        char buf[CTL_MAX_REQUEST];
        ssize_t n;

        if (conn_wait_turn(c))
                return 0;

        n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0) {
                if (errno == EINTR || errno == EAGAIN)
                        return 0;
                conn_free(c);
                return 1;
        }
        if (n == 0) {
                /* Closed before asking anything (or an empty datagram). */
                conn_free(c);
                return 1;
        }
        if ((size_t) n <= sizeof buf && conn_needs_view(c, buf, (size_t) n)) {
                c->request = malloc((size_t) n);
                if (!c->request) {
                        conn_free(c);
                        return 1;
                }
                memcpy(c->request, buf, (size_t) n);
                c->request_len = (size_t) n;
                c->phase = CONN_VIEWING;
                return conn_start_stepping(c);
        }
        return conn_answer(c, buf, (size_t) n);
}

/* Answer the request buf[n] (n past CTL_MAX_REQUEST: it was too large) and
 * start streaming, or stepping. Returns 1 when the connection was freed. */
static int conn_answer(CtlConn *c, const char *buf, size_t n) {
        CtlWireRequest w;

        c->phase = CONN_READING;
        if (n > CTL_MAX_REQUEST) {
                outbuf_printf(&c->reply.err, "bad request: larger than %d bytes\n", CTL_MAX_REQUEST);
                c->reply.exit_code = CTL_EXIT_USAGE;
        } else if (ctl_request_decode(buf, n, &w) < 0) {
                outbuf_puts(&c->reply.err, "bad request\n");
                c->reply.exit_code = CTL_EXIT_USAGE;
        } else
                conn_dispatch(c, &w);
        if (c->phase == CONN_WORKING)
                return conn_start_stepping(c);
        return conn_start_sending(c);
}

/* Returns 1 when the connection was freed. */
static int conn_start_sending(CtlConn *c) {
        int r;

        c->phase = CONN_SEND_OUT;
        c->offset = 0;
        r = sd_event_source_set_io_events(c->io_source, EPOLLOUT);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->io_source, SD_EVENT_ON);
        if (r >= 0)
                r = conn_set_timeout(c, c->server->drain_timeout_usec);
        if (r < 0) {
                conn_free(c);
                return 1;
        }
        return conn_flush(c);
}

static int on_conn_io(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        CtlConn *c = userdata;
        CtlServer *s = c->server;
        bool root = c->root;
        uid_t uid = c->uid;
        uint64_t t0 = now_usec();

        if (c->phase == CONN_READING)
                conn_read_request(c);
        else
                conn_flush(c);
        conn_charge(s, root, uid, t0);
        return 0;
}

static int on_conn_timeout(sd_event_source *src, uint64_t usec, void *userdata) {
        conn_free(userdata);
        return 0;
}

static size_t conns_of_uid(const CtlServer *s, uid_t uid) {
        size_t n = 0;
        for (const CtlConn *c = s->conns; c; c = c->next)
                if (c->uid == uid)
                        n++;
        return n;
}

/* -EUSERS when the peer is over its limit (the caller closes fd). Who it
 * is goes to *ret_uid and *ret_root as soon as it is known, refused or not:
 * the caller charges what taking it cost. */
static int conn_new(CtlServer *s, int fd, uid_t *ret_uid, bool *ret_root) {
        struct ucred cred;
        socklen_t len = sizeof cred;
        CtlConn *c;
        bool root;
        int r;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        root = ctl_request_privileged(&(CtlRequest){.uid = cred.uid});
        *ret_uid = cred.uid;
        *ret_root = root;
        if (root ? s->n_root_conns >= CTL_SERVER_MAX_ROOT_CONNECTIONS
                 : s->n_conns >= s->max_connections || conns_of_uid(s, cred.uid) >= CTL_SERVER_MAX_PER_UID)
                return -EUSERS;
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        *c = (CtlConn){
                .server = s, .fd = fd, .uid = cred.uid, .pid = cred.pid, .root = root, .verb = "request"};
        /* The peer's credentials and its mount namespace as they are now,
         * not when its request is read (its pid may be another process's by
         * then); the view itself is read once it asks, a slice at a time. */
        r = peer_creds_begin(fd, &c->creds, &c->view);
        if (r < 0) {
                free(c);
                return r;
        }
        c->next = s->conns;
        if (s->conns)
                s->conns->prev = c;
        s->conns = c;
        if (root)
                s->n_root_conns++;
        else
                s->n_conns++;

        r = sd_event_add_io(s->event, &c->io_source, fd, EPOLLIN, on_conn_io, c);
        if (r >= 0)
                r = sd_event_add_time_relative(s->event, &c->timer_source, CLOCK_MONOTONIC,
                                               s->request_timeout_usec, 0, on_conn_timeout, c);
        if (r < 0) {
                c->fd = -1; /* the caller closes it */
                conn_free(c);
                return r;
        }
        return 0;
}

static void server_pause(CtlServer *s, uint64_t until);

static int on_backoff(sd_event_source *src, uint64_t usec, void *userdata) {
        CtlServer *s = userdata;
        uint64_t due = ctl_budget_all_ready_at(&s->budget);
        /* Non-root peers did more meanwhile: wait on, without a wakeup of
         * the listening socket for nothing. */
        if (due > now_usec() + CTL_BUDGET_SLACK_USEC) {
                server_pause(s, due);
                return 0;
        }
        sd_event_source_set_enabled(s->listen_source, SD_EVENT_ON);
        return 0;
}

/* Stop accepting until `until` (CLOCK_MONOTONIC µs); if even that fails,
 * keep accepting. */
static void server_pause(CtlServer *s, uint64_t until) {
        if (!s->backoff_source) {
                /* Accuracy 0 would be sd-event's default, 250 ms: a pause of
                 * 200 µs must not become one of a quarter second. */
                if (sd_event_add_time(s->event, &s->backoff_source, CLOCK_MONOTONIC, until, 100, on_backoff,
                                      s) < 0)
                        return;
        } else if (sd_event_source_set_time(s->backoff_source, until) < 0 ||
                   sd_event_source_set_enabled(s->backoff_source, SD_EVENT_ONESHOT) < 0)
                return;
        sd_event_source_set_enabled(s->listen_source, SD_EVENT_OFF);
}

static int on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        CtlServer *s = userdata;
        bool loop_charged = false;

        for (int i = 0; i < CTL_ACCEPT_BURST; i++) {
                /* Taking a connection costs a few µs even when it is refused,
                 * and reading a non-root peer's view (peer.h) more: a loop of
                 * connects, without a request, kept the SCHED_FIFO daemon at
                 * 95% of a CPU. So accepting is non-root work too, and waits
                 * while non-root peers as a whole are over their share. */
                uint64_t t0 = now_usec(), due = ctl_budget_all_ready_at(&s->budget);
                if (due > t0 + CTL_BUDGET_SLACK_USEC) {
                        server_pause(s, due);
                        return 0;
                }
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno == EAGAIN)
                                return 0;
                        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                                continue;
                        /* EMFILE, ENFILE, ENOBUFS, ENOMEM */
                        server_pause(s, now_usec() + CTL_ACCEPT_BACKOFF_USEC);
                        return 0;
                }
                uid_t uid = 0;
                bool root = true;
                /* Over the limit: closing tells the client at once (it reads
                 * EOF) instead of leaving it queued. */
                if (conn_new(s, cfd, &uid, &root) < 0)
                        close(cfd);
                conn_charge_accept(s, root, uid, t0, &loop_charged);
        }
        return 0;
}

size_t ctl_server_connections(const CtlServer *s) {
        return s->n_conns + s->n_root_conns;
}

void ctl_server_set_limits(CtlServer *s, uint64_t request_timeout_usec, uint64_t drain_timeout_usec,
                           size_t max_connections) {
        if (request_timeout_usec)
                s->request_timeout_usec = request_timeout_usec;
        if (drain_timeout_usec)
                s->drain_timeout_usec = drain_timeout_usec;
        if (max_connections)
                s->max_connections = max_connections;
}

/* mkdir -p for the socket's directory; only missing components are made. */
static int mkdir_parents(const char *path, mode_t mode) {
        _cleanup_(freep) char *p = strdup(path);
        char *slash;

        if (!p)
                return -ENOMEM;
        slash = strrchr(p, '/');
        if (!slash || slash == p)
                return 0;
        *slash = '\0';
        for (char *q = p + 1; *q; q++) {
                if (*q != '/')
                        continue;
                *q = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *q = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

/* Is someone answering on the socket at sa? 1 live, 0 stale, -errno. */
static int socket_is_live(const struct sockaddr_un *sa) {
        _cleanup_(closep) int fd = -1;

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (const struct sockaddr *) sa, sizeof *sa) == 0)
                return 1;
        switch (errno) {
        case EAGAIN: /* backlog full: very much alive */
        case EINPROGRESS:
                return 1;
        case ECONNREFUSED:
        case ENOENT:
                return 0;
        default:
                return -errno;
        }
}

static int fail(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(char **ret_error, int r, const char *fmt, ...) {
        va_list ap;

        if (ret_error) {
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return r;
}

int ctl_server_new(sd_event *e, const char *path, CtlHandler handler, void *userdata, CtlServer **ret,
                   char **ret_error) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_(ctl_server_freep) CtlServer *s = NULL;
        struct stat st;
        int r;

        if (!e || !path || !handler || !ret)
                return fail(ret_error, -EINVAL, "invalid arguments");
        if (path[0] == '\0' || strlen(path) >= sizeof sa.sun_path)
                return fail(ret_error, -ENAMETOOLONG, "socket path '%s' is empty or longer than %zu bytes",
                            path, sizeof sa.sun_path - 1);
        strcpy(sa.sun_path, path);

        r = mkdir_parents(path, 0755);
        if (r < 0)
                return fail(ret_error, r, "cannot create the directory of %s: %s", path, strerror(-r));

        if (lstat(path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode))
                        return fail(ret_error, -EEXIST, "%s exists and is not a socket", path);
                r = socket_is_live(&sa);
                if (r < 0)
                        return fail(ret_error, r, "cannot check the existing socket %s: %s", path,
                                    strerror(-r));
                if (r > 0)
                        return fail(ret_error, -EADDRINUSE, "another pinnerd is running on %s", path);
                /* Stale: left by a daemon that died without cleaning up. */
                if (unlink(path) < 0 && errno != ENOENT)
                        return fail(ret_error, -errno, "cannot remove the stale socket %s: %m", path);
        } else if (errno != ENOENT)
                return fail(ret_error, -errno, "cannot stat %s: %m", path);

        s = calloc(1, sizeof *s);
        if (!s)
                return fail(ret_error, -ENOMEM, "out of memory");
        s->fd = -1;
        s->handler = handler;
        s->userdata = userdata;
        s->max_connections = CTL_SERVER_MAX_CONNECTIONS;
        s->request_timeout_usec = CTL_SERVER_REQUEST_TIMEOUT_USEC;
        ctl_budget_init(&s->budget, CTL_BUDGET_UID_SHARE, CTL_BUDGET_ALL_SHARE);
        s->drain_timeout_usec = CTL_SERVER_DRAIN_TIMEOUT_USEC;
        s->event = sd_event_ref(e);

        s->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s->fd < 0)
                return fail(ret_error, -errno, "cannot create a socket: %m");
        if (bind(s->fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return fail(ret_error, -errno, "cannot bind %s: %m", path);
        /* From here on the path is ours; free() unlinks it on failure. */
        s->path = strdup(path);
        if (!s->path) {
                unlink(path);
                return fail(ret_error, -ENOMEM, "out of memory");
        }
        if (lstat(path, &st) < 0)
                return fail(ret_error, -errno, "cannot stat %s: %m", path);
        s->dev = st.st_dev;
        s->ino = st.st_ino;
        /* Everyone may ask; SO_PEERCRED decides who may change state. */
        if (chmod(path, 0666) < 0)
                return fail(ret_error, -errno, "cannot chmod %s: %m", path);
        if (listen(s->fd, CTL_LISTEN_BACKLOG) < 0)
                return fail(ret_error, -errno, "cannot listen on %s: %m", path);
        r = sd_event_add_io(e, &s->listen_source, s->fd, EPOLLIN, on_accept, s);
        if (r < 0)
                return fail(ret_error, r, "cannot watch %s: %s", path, strerror(-r));

        *ret = TAKE_PTR(s);
        return 0;
}

void ctl_server_free(CtlServer *s) {
        struct stat st;

        if (!s)
                return;
        while (s->conns)
                conn_free(s->conns);
        sd_event_source_disable_unref(s->listen_source);
        sd_event_source_disable_unref(s->backoff_source);
        if (s->fd >= 0)
                close(s->fd);
        /* Another daemon may have replaced the path since; leave its socket. */
        if (s->path && lstat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
                unlink(s->path);
        free(s->path);
        sd_event_unref(s->event);
        free(s);
}
