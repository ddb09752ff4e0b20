/* SPDX-License-Identifier: MIT */
/* What a control-socket peer may see. Root sees everything. Anyone else sees
 * only the processes it could see in /proc itself (hidepid= honoured: under
 * hidepid, only its own processes, or all when it is in the gid= group), and
 * no fact it could not read itself: /proc/PID/exe needs ptrace-level access,
 * which an unprivileged peer has only to processes whose user ids are all
 * its own. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

typedef struct PeerView {
        bool privileged;
        uid_t uid;
        bool hidepid;     /* /proc is mounted with hidepid >= 1 */
        bool in_proc_gid; /* the peer is in /proc's gid= group */
        int procfd;       /* not owned */
} PeerView;

/* hidepid and gid from the /proc mount's options in mountinfo (pure). */
int peer_parse_proc_mount(const char *mountinfo, bool *ret_hidepid, gid_t *ret_gid, bool *ret_has_gid);

/* For a request from (uid, pid). */
void peer_view_init(PeerView *v, int procfd, bool privileged, uid_t uid, pid_t peer_pid);
/* Could the peer see process pid in /proc? */
bool peer_may_see(const PeerView *v, pid_t pid);
/* Could the peer read pid's exe link itself? */
bool peer_may_read_exe(const PeerView *v, pid_t pid);
