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

typedef enum ConnPhase {
        CONN_READING,
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
        PeerCreds creds; /* at connect: what the verbs show this peer */
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
        uint64_t t0 = now_usec();
        r = s->handler(s->userdata, &req, &c->reply);
        if (!c->root) {
                uint64_t t1 = now_usec();
                ctl_budget_charge(&s->budget, c->uid, t1, t1 - t0);
        }
        if (r >= 0 && c->reply.step) {
                c->phase = CONN_WORKING;
                return;
        }
        conn_settle(c, r);
}

static int conn_start_sending(CtlConn *c);

static int conn_read_request(CtlConn *c);
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
        if (due <= now)
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
                (void) sd_event_source_set_enabled(c->io_source, SD_EVENT_ON);
                (void) conn_read_request(c);
        } else
                (void) sd_event_source_set_enabled(c->step_source, SD_EVENT_ON);
        return 0;
}

static int on_conn_step(sd_event_source *src, void *userdata) {
        CtlConn *c = userdata;
        uint64_t t0 = now_usec();
        int r = c->reply.step(c->server->userdata, c->reply.step_state, &c->reply);

        if (!c->root) {
                uint64_t t1 = now_usec();
                ctl_budget_charge(&c->server->budget, c->uid, t1, t1 - t0);
        }
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

/* Read the request, answer it and start streaming. Returns 1 when the
 * connection was freed. */
static int conn_read_request(CtlConn *c) {
        char buf[CTL_MAX_REQUEST];
        CtlWireRequest w;
        ssize_t n;
        int r;

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
        if ((size_t) n > sizeof buf) {
                outbuf_printf(&c->reply.err, "bad request: larger than %d bytes\n", CTL_MAX_REQUEST);
                c->reply.exit_code = CTL_EXIT_USAGE;
        } else if (ctl_request_decode(buf, (size_t) n, &w) < 0) {
                outbuf_puts(&c->reply.err, "bad request\n");
                c->reply.exit_code = CTL_EXIT_USAGE;
        } else
                conn_dispatch(c, &w);
        if (c->phase == CONN_WORKING) {
                /* Nothing to read or send until the work is done. */
                r = sd_event_source_set_enabled(c->io_source, SD_EVENT_OFF);
                if (r >= 0)
                        r = sd_event_add_defer(c->server->event, &c->step_source, on_conn_step, c);
                if (r >= 0)
                        r = sd_event_source_set_priority(c->step_source, SD_EVENT_PRIORITY_IDLE);
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

        if (c->phase == CONN_READING)
                conn_read_request(c);
        else
                conn_flush(c);
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

/* -EUSERS when the peer is over its limit (the caller closes fd). */
static int conn_new(CtlServer *s, int fd) {
        struct ucred cred;
        socklen_t len = sizeof cred;
        CtlConn *c;
        bool root;
        int r;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        root = ctl_request_privileged(&(CtlRequest){.uid = cred.uid});
        if (root ? s->n_root_conns >= CTL_SERVER_MAX_ROOT_CONNECTIONS
                 : s->n_conns >= s->max_connections || conns_of_uid(s, cred.uid) >= CTL_SERVER_MAX_PER_UID)
                return -EUSERS;
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        *c = (CtlConn){
                .server = s, .fd = fd, .uid = cred.uid, .pid = cred.pid, .root = root, .verb = "request"};
        /* The peer's credentials and /proc as they are now, not when its
         * request is read (its pid may be another process's by then). */
        r = peer_creds_read(fd, &c->creds);
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

static int on_backoff(sd_event_source *src, uint64_t usec, void *userdata) {
        CtlServer *s = userdata;
        sd_event_source_set_enabled(s->listen_source, SD_EVENT_ON);
        return 0;
}

/* Stop accepting for a moment; if even that fails, keep accepting. */
static void server_backoff(CtlServer *s) {
        uint64_t now;

        if (sd_event_now(s->event, CLOCK_MONOTONIC, &now) < 0)
                return;
        if (!s->backoff_source) {
                if (sd_event_add_time(s->event, &s->backoff_source, CLOCK_MONOTONIC,
                                      now + CTL_ACCEPT_BACKOFF_USEC, 0, on_backoff, s) < 0)
                        return;
        } else if (sd_event_source_set_time(s->backoff_source, now + CTL_ACCEPT_BACKOFF_USEC) < 0 ||
                   sd_event_source_set_enabled(s->backoff_source, SD_EVENT_ONESHOT) < 0)
                return;
        sd_event_source_set_enabled(s->listen_source, SD_EVENT_OFF);
}

static int on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        CtlServer *s = userdata;

        for (int i = 0; i < CTL_ACCEPT_BURST; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno == EAGAIN)
                                return 0;
                        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                                continue;
                        /* EMFILE, ENFILE, ENOBUFS, ENOMEM */
                        server_backoff(s);
                        return 0;
                }
                /* Over the limit: closing tells the client at once (it reads
                 * EOF) instead of leaving it queued. */
                if (conn_new(s, cfd) < 0)
                        close(cfd);
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
        if (listen(s->fd, SOMAXCONN) < 0)
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
