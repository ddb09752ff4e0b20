/* SPDX-License-Identifier: MIT */
/* The control socket's connections, from request to reply: the request
 * read, a non-root peer's view read first where the answer shows /proc,
 * the handler (in slices when it says so), then out, err, a note and the
 * exit code sent. Each piece of a non-root peer's work is charged to its
 * uid and waits its turn (budget.h). The listening socket is ctlserver.c's. */
#include "ctl/ctlconn-internal.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "ctl/ctlproto.h"
#include "lib/util.h"

typedef enum ConnPhase {
        CONN_READING,
        CONN_VIEWING, /* a non-root peer's view (peer.h) is read before its request is answered */
        CONN_WORKING, /* a stepped handler is not done yet */
        CONN_SEND_OUT,
        CONN_SEND_ERR,
        CONN_SEND_NOTE,
        CONN_SEND_EXIT,
} ConnPhase;

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

void ctl_conn_free(CtlConn *c) {
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
                        ctl_conn_free(c);
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
                        ctl_conn_free(c);
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
                ctl_conn_free(c);
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
                ctl_conn_free(c);
                return 1;
        }
        if (n == 0) {
                /* Closed before asking anything (or an empty datagram). */
                ctl_conn_free(c);
                return 1;
        }
        if ((size_t) n <= sizeof buf && conn_needs_view(c, buf, (size_t) n)) {
                c->request = malloc((size_t) n);
                if (!c->request) {
                        ctl_conn_free(c);
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
                ctl_conn_free(c);
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
        ctl_conn_free(userdata);
        return 0;
}

static size_t conns_of_uid(const CtlServer *s, uid_t uid) {
        size_t n = 0;
        for (const CtlConn *c = s->conns; c; c = c->next)
                if (c->uid == uid)
                        n++;
        return n;
}

int ctl_conn_new(CtlServer *s, int fd, uid_t *ret_uid, bool *ret_root) {
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
                ctl_conn_free(c);
                return r;
        }
        return 0;
}
