/* SPDX-License-Identifier: MIT */
#include "ctl/peer.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kernel/procfs.h"
#include "lib/util.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5: a pidfd of exactly the peer */
#endif

static int parse_hidepid(const char *v) {
        static const struct {
                const char *name;
                int value;
        } names[] = {
                {"off", PEER_HIDEPID_OFF},
                {"noaccess", PEER_HIDEPID_NOACCESS},
                {"invisible", PEER_HIDEPID_INVISIBLE},
                {"ptraceable", PEER_HIDEPID_PTRACEABLE},
        };
        unsigned n;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcmp(v, names[i].name) == 0)
                        return names[i].value;
        if (parse_uint(v, &n) >= 0 && n <= 4)
                return (int) n;
        /* An option we do not know: assume the strictest. */
        return PEER_HIDEPID_INVISIBLE;
}

void peer_parse_proc_mount_line(const char *line, size_t len, PeerProcMount *acc) {
        char buf[PEER_MOUNTINFO_LINE_MAX + 1];

        /* Most lines are other mounts: two searches rule them out. */
        if (len > PEER_MOUNTINFO_LINE_MAX || !memmem(line, len, " /proc ", 7) ||
            !memmem(line, len, " - proc ", 8))
                return;
        memcpy(buf, line, len);
        buf[len] = '\0';
        /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - FSTYPE SOURCE SUPEROPTS */
        char mp[1024], fstype[64], super[2048];
        const char *dash = strstr(buf, " - ");
        if (!dash || sscanf(buf, "%*s %*s %*s %*s %1023s", mp) != 1 || strcmp(mp, "/proc") != 0 ||
            sscanf(dash + 3, "%63s %*s %2047s", fstype, super) != 2 || strcmp(fstype, "proc") != 0)
                return;
        /* Mounts stack: the last one at /proc is what is seen. */
        PeerProcMount m = {.found = true};
        char *save = NULL;
        for (char *o = strtok_r(super, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
                unsigned g;
                if (strncmp(o, "hidepid=", 8) == 0)
                        m.hidepid = parse_hidepid(o + 8);
                else if (strncmp(o, "gid=", 4) == 0 && parse_uint(o + 4, &g) >= 0) {
                        m.gid = (gid_t) g;
                        m.has_gid = true;
                }
        }
        *acc = m;
}

void peer_parse_proc_mount(const char *mountinfo, PeerProcMount *ret) {
        const char *line = mountinfo;

        *ret = (PeerProcMount){0};
        while (line && *line) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t) (nl - line) : strlen(line);
                peer_parse_proc_mount_line(line, len, ret);
                line = nl ? nl + 1 : NULL;
        }
}

/* The four ids (real, effective, saved, filesystem) of a status line. */
static bool status_ids(const char *status, const char *key, uint32_t ids[4]) {
        size_t n;
        return procfs_parse_status_ids(status, key, ids, 4, &n) == 0 && n == 4;
}

bool peer_ptrace_readable_buf(const PeerCreds *c, pid_t pid, const char *status, uid_t proc_owner,
                              uint64_t start) {
        uint32_t uids[4], gids[4], tgid;
        size_t n;

        if (c->root)
                return true;
        if (procfs_parse_status_ids(status, "Tgid", &tgid, 1, &n) == 0 && n == 1 && (pid_t) tgid == c->pid &&
            c->start != 0 && start == c->start)
                return true; /* its own process, not another one with its pid since */
        if (!status_ids(status, "Uid", uids) || !status_ids(status, "Gid", gids))
                return false;
        for (int i = 0; i < 3; i++)
                if (uids[i] != c->uid || gids[i] != c->gid)
                        return false;
        /* Not dumpable (it dropped privileges, or asked): the kernel gives
         * its /proc files to root, and denies the access. */
        return proc_owner == (uid_t) uids[1];
}

static bool ptrace_readable(const PeerView *v, pid_t pid) {
        char buf[4096], name[48];
        struct stat st;

        if (procfs_read_status(v->procfd, pid, buf, sizeof buf) < 0)
                return false;
        /* The files below /proc/PID, not the directory: their owner follows
         * the process's dumpability (the directory's was measured not to). */
        snprintf(name, sizeof name, "%d/status", (int) pid);
        if (fstatat(v->procfd, name, &st, 0) < 0)
                return false;
        /* The start time matters only for the peer's own pid. */
        TaskStat ts = {0};
        if (pid == v->creds->pid)
                (void) procfs_read_stat(v->procfd, pid, pid, &ts);
        return peer_ptrace_readable_buf(v->creds, pid, buf, st.st_uid, ts.starttime);
}

static bool in_group(const PeerCreds *c, gid_t gid) {
        if (c->gid == gid)
                return true;
        for (size_t i = 0; i < c->n_groups; i++)
                if (c->groups[i] == gid)
                        return true;
        return false;
}

void peer_view_init(PeerView *v, int procfd, const PeerCreds *creds) {
        *v = (PeerView){.creds = creds, .procfd = procfd};
}

bool peer_may_see(const PeerView *v, pid_t pid) {
        const PeerCreds *c = v->creds;

        if (c->root)
                return true;
        if (!c->view_known || !c->proc.found || !c->same_pidns)
                return false;
        if (c->proc.hidepid == PEER_HIDEPID_OFF)
                return true;
        if (c->proc.has_gid && in_group(c, c->proc.gid))
                return true;
        return ptrace_readable(v, pid);
}

bool peer_may_read_exe(const PeerView *v, pid_t pid) {
        return v->creds->root || (peer_may_see(v, pid) && ptrace_readable(v, pid));
}

/* ---- at connect, then a slice at a time ---- */

static int pidfd_of(int sockfd, pid_t pid) {
        int fd = -1;
        socklen_t len = sizeof fd;

        if (getsockopt(sockfd, SOL_SOCKET, SO_PEERPIDFD, &fd, &len) == 0 && fd >= 0)
                return fd;
#ifdef SYS_pidfd_open
        return (int) syscall(SYS_pidfd_open, pid, 0);
#else
        return -1;
#endif
}

/* Signal 0 to its pidfd: ESRCH once it has exited. (EPERM only means the
 * daemon may not signal it: the unit drops CAP_KILL.) */
static bool pidfd_alive(int pidfd) {
        if (pidfd < 0)
                return false;
        return syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0 || errno != ESRCH;
}

static bool same_inode(const char *a, const char *b) {
        struct stat x, y;
        return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

void peer_view_reader_done(PeerViewReader *r) {
        if (r->mountinfo_fd >= 0)
                close(r->mountinfo_fd);
        if (r->pidfd >= 0)
                close(r->pidfd);
        free(r->line);
        *r = (PeerViewReader){.mountinfo_fd = -1, .pidfd = -1};
}

int peer_creds_begin(int sockfd, PeerCreds *ret, PeerViewReader *reader) {
        struct ucred cred;
        socklen_t len = sizeof cred;
        PeerCreds c = {0};
        PeerViewReader r = {.mountinfo_fd = -1, .pidfd = -1};

        if (getsockopt(sockfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        c.pid = cred.pid;
        c.uid = cred.uid;
        c.gid = cred.gid;
        /* The daemon's own user is as good as root for its own state: it can
         * signal or ptrace the daemon anyway. This lets an unprivileged
         * `pinnerd --root` (tests, explaining a captured host) be reloaded. */
        c.root = cred.uid == 0 || cred.uid == geteuid();
        if (!c.root) {
                len = sizeof c.groups;
                if (getsockopt(sockfd, SOL_SOCKET, SO_PEERGROUPS, c.groups, &len) == 0)
                        c.n_groups = len / sizeof(gid_t);
                /* More groups than we take: those past the first are not
                 * known, so they cannot widen the view. */
                if (c.pid > 0)
                        r.pidfd = pidfd_of(sockfd, c.pid);
                if (r.pidfd >= 0) {
                        char path[64];
                        snprintf(path, sizeof path, "/proc/%d/mountinfo", (int) c.pid);
                        /* The file holds the mount namespace of the task it
                         * was opened for: the peer's, if it is alive after. */
                        r.mountinfo_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                        if (r.mountinfo_fd >= 0 && !pidfd_alive(r.pidfd)) {
                                close(r.mountinfo_fd);
                                r.mountinfo_fd = -1;
                        }
                }
        }
        *ret = c;
        *reader = r;
        return 0;
}

/* The whole view is known: the peer's uid and start time, its pid
 * namespace, and then, last, that the pid still names the peer (its
 * pidfd): a pid recycled by another user's process would lend the peer its
 * view. */
static void view_finish(PeerViewReader *r, PeerCreds *c) {
        char path[64], status[4096];
        uint32_t uids[4];
        TaskStat ts;
        int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (proc < 0)
                return;
        bool ok = procfs_read_status(proc, c->pid, status, sizeof status) >= 0 &&
                  status_ids(status, "Uid", uids) && uids[1] == c->uid &&
                  procfs_read_stat(proc, c->pid, c->pid, &ts) >= 0;
        close(proc);
        if (!ok)
                return;
        snprintf(path, sizeof path, "/proc/%d/ns/pid", (int) c->pid);
        c->same_pidns = same_inode(path, "/proc/self/ns/pid");
        if (!pidfd_alive(r->pidfd))
                return;
        c->start = ts.starttime;
        c->proc = r->mount;
        c->view_known = true;
}

/* One line of mountinfo, whole or the end of one begun in an earlier slice. */
static void view_line(PeerViewReader *r, const char *s, size_t n) {
        if (r->line_len + n > PEER_MOUNTINFO_LINE_MAX) {
                r->failed = true; /* nothing the kernel writes for a /proc mount */
                return;
        }
        if (r->line_len == 0) {
                peer_parse_proc_mount_line(s, n, &r->mount);
                return;
        }
        memcpy(r->line + r->line_len, s, n);
        peer_parse_proc_mount_line(r->line, r->line_len + n, &r->mount);
        r->line_len = 0;
}

int peer_view_step(PeerViewReader *r, PeerCreds *c, uint64_t max_usec) {
        /* Small reads: the kernel lists only as many mounts as one read
         * takes, and one mount of a deep stack costs it ~56 us (measured,
         * 10,000 bind mounts stacked on one directory: 0.56 s for the whole
         * file). So a slice ends on time, a few mounts past its budget at
         * worst. */
        char buf[1024];
        uint64_t t0 = now_usec();

        if (c->root || c->view_known)
                return 0;
        if (r->mountinfo_fd < 0)
                return 0; /* not known: nothing is shown */
        if (!r->line) {
                r->line = malloc(PEER_MOUNTINFO_LINE_MAX);
                if (!r->line)
                        return -ENOMEM;
        }
        /* At least one read, whatever the budget. */
        for (bool first = true; (first || now_usec() - t0 < max_usec) && !r->failed; first = false) {
                ssize_t n = read(r->mountinfo_fd, buf, sizeof buf);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r->failed = true;
                        break;
                }
                if (n == 0) {
                        if (r->line_len > 0)
                                view_line(r, "", 0);
                        if (!r->failed)
                                view_finish(r, c);
                        peer_view_reader_done(r);
                        return 0;
                }
                r->bytes += (size_t) n;
                if (r->bytes > PEER_MOUNTINFO_MAX) {
                        r->failed = true;
                        break;
                }
                const char *p = buf, *end = buf + n;
                for (;;) {
                        const char *nl = memchr(p, '\n', (size_t) (end - p));
                        if (!nl) {
                                /* The rest of this line comes with the next read. */
                                size_t k = (size_t) (end - p);
                                if (r->line_len + k > PEER_MOUNTINFO_LINE_MAX)
                                        r->failed = true;
                                else {
                                        memcpy(r->line + r->line_len, p, k);
                                        r->line_len += k;
                                }
                                break;
                        }
                        view_line(r, p, (size_t) (nl - p));
                        p = nl + 1;
                }
        }
        if (r->failed) {
                peer_view_reader_done(r);
                return 0;
        }
        return 1;
}
