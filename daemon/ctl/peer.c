/* SPDX-License-Identifier: MIT */
#include "ctl/peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/procfs.h"
#include "lib/util.h"

int peer_parse_proc_mount(const char *mountinfo, bool *ret_hidepid, gid_t *ret_gid, bool *ret_has_gid) {
        const char *line = mountinfo;

        *ret_hidepid = false;
        *ret_has_gid = false;
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
                                char *save = NULL;
                                for (char *o = strtok_r(super, ",", &save); o;
                                     o = strtok_r(NULL, ",", &save)) {
                                        if (strncmp(o, "hidepid=", 8) == 0)
                                                *ret_hidepid =
                                                        strcmp(o + 8, "0") != 0 && strcmp(o + 8, "off") != 0;
                                        else if (strncmp(o, "gid=", 4) == 0) {
                                                unsigned g;
                                                if (parse_uint(o + 4, &g) >= 0) {
                                                        *ret_gid = (gid_t) g;
                                                        *ret_has_gid = true;
                                                }
                                        }
                                }
                        }
                }
                line = nl ? nl + 1 : NULL;
        }
        return 0;
}

/* The four ids (real, effective, saved, filesystem) of a status line. */
static bool status_ids(const char *status, const char *key, uint32_t ids[4]) {
        size_t n;
        return procfs_parse_status_ids(status, key, ids, 4, &n) == 0 && n == 4;
}

static bool peer_in_group(int procfd, pid_t peer_pid, gid_t gid) {
        char buf[8192];
        uint32_t ids[4];

        if (procfs_read_status(procfd, peer_pid, buf, sizeof buf) < 0)
                return false;
        if (status_ids(buf, "Gid", ids))
                for (int i = 0; i < 4; i++)
                        if (ids[i] == gid)
                                return true;
        return procfs_status_has_id(buf, "Groups", gid);
}

void peer_view_init(PeerView *v, int procfd, bool privileged, uid_t uid, pid_t peer_pid) {
        *v = (PeerView){.privileged = privileged, .uid = uid, .procfd = procfd};
        if (privileged)
                return;
        _cleanup_(freep) char *mi = NULL;
        size_t len;
        bool has_gid = false;
        gid_t gid = 0;
        if (read_file_alloc_at(procfd, "self/mountinfo", 4 * 1024 * 1024, &mi, &len) >= 0)
                (void) peer_parse_proc_mount(mi, &v->hidepid, &gid, &has_gid);
        v->in_proc_gid = v->hidepid && has_gid && peer_pid > 0 && peer_in_group(procfd, peer_pid, gid);
}

static bool all_ids_are(int procfd, pid_t pid, uid_t uid) {
        char buf[4096];
        uint32_t ids[4];

        if (procfs_read_status(procfd, pid, buf, sizeof buf) < 0 || !status_ids(buf, "Uid", ids))
                return false;
        for (int i = 0; i < 4; i++)
                if (ids[i] != uid)
                        return false;
        return true;
}

bool peer_may_see(const PeerView *v, pid_t pid) {
        if (v->privileged || !v->hidepid || v->in_proc_gid)
                return true;
        return all_ids_are(v->procfd, pid, v->uid);
}

bool peer_may_read_exe(const PeerView *v, pid_t pid) {
        return v->privileged || all_ids_are(v->procfd, pid, v->uid);
}
