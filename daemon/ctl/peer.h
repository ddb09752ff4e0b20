/* SPDX-License-Identifier: MIT */
/* What a control-socket peer may see: exactly what its own /proc shows it.
 *
 * Root (and the daemon's own user) sees everything. For anyone else the
 * kernel's rules are applied with the peer's credentials as they were at
 * connect (SO_PEERCRED, SO_PEERGROUPS) and the /proc of the peer's own
 * mount namespace, as it was at connect (its mountinfo is opened then and
 * read, a slice at a time, when the peer asks something), that is
 * hidepid= and gid= of the proc mounted at its /proc (under
 * a hardened unit pinnerd has a /proc of its own, a sandboxed peer —
 * ProtectProc=invisible, a container — has another):
 *
 * - no /proc at its /proc, another pid namespace, or a view that could not
 *   be read: nothing is shown;
 * - hidepid off: every process;
 * - hidepid on (noaccess, invisible, ptraceable): processes the peer could
 *   ptrace-read (below), or all when it is in the mount's gid= group.
 *
 * ptrace-read, as the kernel's ptrace_may_access(PTRACE_MODE_READ_FSCREDS)
 * decides it for an unprivileged peer: its own process; otherwise a process
 * whose real, effective and saved uids are all the peer's uid and whose
 * real, effective and saved gids are all its gid, and that is dumpable (a
 * process that dropped privileges, or ssh-agent, is not: the files below
 * its /proc/PID belong to root). /proc/PID/exe needs the same access, so a fact read
 * through it is "withheld" from a peer without it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PEER_MAX_GROUPS 256

/* hidepid= values (proc(5)). */
enum {
        PEER_HIDEPID_OFF = 0,
        PEER_HIDEPID_NOACCESS = 1,
        PEER_HIDEPID_INVISIBLE = 2,
        PEER_HIDEPID_PTRACEABLE = 4
};

typedef struct PeerProcMount {
        bool found; /* a proc file system is mounted at /proc */
        int hidepid;
        bool has_gid;
        gid_t gid;
} PeerProcMount;

typedef struct PeerCreds {
        bool root; /* uid 0, or the daemon's own uid */
        pid_t pid;
        uint64_t start; /* the peer process's start time: pid is it only while this matches */
        uid_t uid;      /* effective, at connect */
        gid_t gid;
        gid_t groups[PEER_MAX_GROUPS]; /* supplementary, at connect */
        size_t n_groups;
        /* The peer's /proc, read at connect; nothing is shown when unknown. */
        bool view_known;
        bool same_pidns;
        PeerProcMount proc;
} PeerCreds;

/* Pure: the proc mounted at /proc in a mountinfo text (the last one wins:
 * mounts stack). hidepid accepts numbers and names. */
void peer_parse_proc_mount(const char *mountinfo, PeerProcMount *ret);
/* Pure: the same for one line (without its newline), on top of what the
 * lines before it gave *acc. */
void peer_parse_proc_mount_line(const char *line, size_t len, PeerProcMount *acc);

/* A peer's mountinfo is as long as its mount namespace, which any user
 * can fill in a user namespace of its own: 20,000 bind mounts took the
 * kernel 29 ms to list, and 10,000 stacked on one directory 0.56 s, where
 * one read of the whole file held the SCHED_FIFO daemon. So it is read a
 * slice at a time (peer_view_step), each charged to the peer's uid, and a
 * namespace past these bounds shows nothing. */
#define PEER_MOUNTINFO_MAX ((size_t) 4 * 1024 * 1024)
#define PEER_MOUNTINFO_LINE_MAX 8192

typedef struct PeerViewReader {
        int mountinfo_fd; /* the peer's /proc/PID/mountinfo, opened at connect */
        int pidfd;        /* the peer process (SO_PEERPIDFD), -1 when unknown */
        char *line;       /* the start of a line the next slice ends */
        size_t line_len, bytes;
        bool failed;
        PeerProcMount mount; /* the /proc mount of the lines read so far */
} PeerViewReader;

/* At connect: the peer of a connected unix socket as the kernel says
 * (SO_PEERCRED, SO_PEERGROUPS), and for a non-root peer its mountinfo
 * opened in *reader (cheap; nothing is read yet). -errno when even
 * SO_PEERCRED fails. */
int peer_creds_begin(int sockfd, PeerCreds *ret, PeerViewReader *reader);
/* Read about max_usec more of the peer's view into *c: 1 when there
 * is more, 0 when it is done (c->view_known says whether the view could be
 * read and the pid is still the peer's; else nothing is shown), -ENOMEM.
 * The reader is released when it returns 0. */
int peer_view_step(PeerViewReader *r, PeerCreds *c, uint64_t max_usec);
void peer_view_reader_done(PeerViewReader *r);
/* Pure: may the peer ptrace-read process pid, whose status file reads
 * status and belongs to proc_owner (root when it is not dumpable), and which
 * started at start (its stat file; 0 when unknown)? The peer's own process
 * is always readable, but a pid names it only while the start time is the
 * one taken at connect: the peer may exit and leave its connection to a
 * child, and its pid to anyone. */
bool peer_ptrace_readable_buf(const PeerCreds *c, pid_t pid, const char *status, uid_t proc_owner,
                              uint64_t start);

typedef struct PeerView {
        const PeerCreds *creds;
        int procfd; /* the daemon's /proc; not owned */
} PeerView;

void peer_view_init(PeerView *v, int procfd, const PeerCreds *creds);
/* Could the peer see process pid in its /proc? */
bool peer_may_see(const PeerView *v, pid_t pid);
/* Could the peer read pid's exe link itself? */
bool peer_may_read_exe(const PeerView *v, pid_t pid);
