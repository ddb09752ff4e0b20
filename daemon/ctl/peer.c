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

void peer_parse_proc_mount(const char *mountinfo, PeerProcMount *ret) {
        const char *line = mountinfo;

        *ret = (PeerProcMount){0};
        while (line && *line) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t) (nl - line) : strlen(line);
                char buf[4096];
                if (len < sizeof buf) {
                        memcpy(buf, line, len);
                        buf[len] = '\0';
                        /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - FSTYPE SOURCE SUPEROPTS */
                        char mp[1024], fstype[64], super[2048];
                        const char *dash = strstr(buf, " - ");
                        if (dash && sscanf(buf, "%*s %*s %*s %*s %1023s", mp) == 1 &&
                            strcmp(mp, "/proc") == 0 &&
                            sscanf(dash + 3, "%63s %*s %2047s", fstype, super) == 2 &&
                            strcmp(fstype, "proc") == 0) {
                                /* Mounts stack: the last one at /proc is what is seen. */
                                PeerProcMount m = {.found = true};
                                char *save = NULL;
                                for (char *o = strtok_r(super, ",", &save); o;
                                     o = strtok_r(NULL, ",", &save)) {
                                        unsigned g;
                                        if (strncmp(o, "hidepid=", 8) == 0)
                                                m.hidepid = parse_hidepid(o + 8);
                                        else if (strncmp(o, "gid=", 4) == 0 && parse_uint(o + 4, &g) >= 0) {
                                                m.gid = (gid_t) g;
                                                m.has_gid = true;
                                        }
                                }
                                *ret = m;
                        }
                }
                line = nl ? nl + 1 : NULL;
        }
}

/* The four ids (real, effective, saved, filesystem) of a status line. */
static bool status_ids(const char *status, const char *key, uint32_t ids[4]) {
        size_t n;
        return procfs_parse_status_ids(status, key, ids, 4, &n) == 0 && n == 4;
}

bool peer_ptrace_readable_buf(const PeerCreds *c, pid_t pid, const char *status, uid_t proc_owner) {
        uint32_t uids[4], gids[4], tgid;
        size_t n;

        if (c->root)
                return true;
        if (procfs_parse_status_ids(status, "Tgid", &tgid, 1, &n) == 0 && n == 1 && (pid_t) tgid == c->pid)
                return true; /* its own process */
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
        return peer_ptrace_readable_buf(v->creds, pid, buf, st.st_uid);
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

/* ---- at connect ---- */

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

static bool same_inode(const char *a, const char *b) {
        struct stat x, y;
        return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* Read pid's view. True only when it is still the peer's process
 * afterwards: alive (its pidfd), and owned by the peer's uid (a pid
 * recycled by another user's process would lend the peer its view). */
static bool read_view(PeerCreds *c, int pidfd) {
        char path[64], status[4096];
        _cleanup_(freep) char *mi = NULL;
        size_t len;
        uint32_t uids[4];
        int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (proc < 0)
                return false;
        snprintf(path, sizeof path, "%d/mountinfo", (int) c->pid);
        int r = read_file_alloc_at(proc, path, 4 * 1024 * 1024, &mi, &len);
        bool ok = r >= 0 && procfs_read_status(proc, c->pid, status, sizeof status) >= 0 &&
                  status_ids(status, "Uid", uids) && uids[1] == c->uid;
        close(proc);
        if (!ok)
                return false;
        peer_parse_proc_mount(mi, &c->proc);
        snprintf(path, sizeof path, "/proc/%d/ns/pid", (int) c->pid);
        c->same_pidns = same_inode(path, "/proc/self/ns/pid");
        /* Signal 0 to its pidfd: ESRCH once it has exited. (EPERM only
         * means the daemon may not signal it: the unit drops CAP_KILL.) */
        if (pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0 && errno == ESRCH)
                return false;
        return true;
}

int peer_creds_read(int sockfd, PeerCreds *ret) {
        struct ucred cred;
        socklen_t len = sizeof cred;
        PeerCreds c = {0};

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
                int pidfd = c.pid > 0 ? pidfd_of(sockfd, c.pid) : -1;
                c.view_known = c.pid > 0 && read_view(&c, pidfd);
                if (pidfd >= 0)
                        close(pidfd);
        }
        *ret = c;
        return 0;
}
