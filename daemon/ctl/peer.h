/* SPDX-License-Identifier: MIT */
/* What a control-socket peer may see: exactly what its own /proc shows it.
 *
 * Root (and the daemon's own user) sees everything. For anyone else the
 * kernel's rules are applied with the peer's credentials as they were at
 * connect (SO_PEERCRED, SO_PEERGROUPS) and the /proc of the peer's own
 * mount namespace (hidepid= and gid= of the proc mounted at its /proc: under
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
        uid_t uid; /* effective, at connect */
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

/* The peer of a connected unix socket, as the kernel says. Root needs
 * nothing more; for anyone else its /proc is read from its mount namespace
 * (view_known false when that fails or the process is not the peer any
 * more). -errno when even SO_PEERCRED fails. */
int peer_creds_read(int sockfd, PeerCreds *ret);
/* Pure: may the peer ptrace-read process pid, whose status file reads
 * status and belongs to proc_owner (root when it is not dumpable)? */
bool peer_ptrace_readable_buf(const PeerCreds *c, pid_t pid, const char *status, uid_t proc_owner);

typedef struct PeerView {
        const PeerCreds *creds;
        int procfd; /* the daemon's /proc; not owned */
} PeerView;

void peer_view_init(PeerView *v, int procfd, const PeerCreds *creds);
/* Could the peer see process pid in its /proc? */
bool peer_may_see(const PeerView *v, pid_t pid);
/* Could the peer read pid's exe link itself? */
bool peer_may_read_exe(const PeerView *v, pid_t pid);
