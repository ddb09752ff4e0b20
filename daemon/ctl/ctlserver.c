/* SPDX-License-Identifier: MIT */
/* The control socket itself: bound where no live daemon answers (a stale
 * socket replaced), accepted a burst at a time while non-root peers are
 * within their share (and after EMFILE, a pause), closed and unlinked only
 * if it is still ours. A connection's life is ctlconn.c's. */
#include "ctl/ctlserver.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "ctl/ctlconn-internal.h"
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

/* The same for one connection of an accept burst: the loop's wakeup is
 * charged once per burst (loop_charged), to the first non-root peer. */
static void conn_charge_accept(CtlServer *s, bool root, uid_t uid, uint64_t t0, bool *loop_charged) {
        if (!root) {
                uint64_t t1 = now_usec();
                ctl_budget_charge(&s->budget, uid, t1, t1 - t0 + (*loop_charged ? 0 : CTL_BUDGET_LOOP_USEC));
                *loop_charged = true;
        }
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
                if (ctl_conn_new(s, cfd, &uid, &root) < 0)
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
                ctl_conn_free(s->conns);
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
