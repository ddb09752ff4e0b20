#!/bin/bash
# Only the process events pinnerd uses reach it: with the kernel's
# per-listener filter (Linux >= 6.6, proved at start by a probe) and, on the
# path older kernels take (forced here with PINNERD_PROC_FILTER=socket), with
# the socket filter alone. Either way exec, new threads and renames are still
# seen and pinned, exits still forget, and a burst of 10,000 uid-change events
# never reaches the daemon's event counter while no rule matches on users;
# once a reload adds one, they do, and when it goes, they stop.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
command -v python3 >/dev/null || skip "needs python3 (the uid-change burst)"

C=$(unique_comm f)
write_conf "[pinnerd]
verify = 0
rescan = 0

[rule:filtered]
comm = $C-*
cpus = 1

[rule:renamed]
comm = $C-*
threads = hot*
cpus = 0
priority = 1"

jfield() { ctl status --json | grep -o "\"$1\":\"[a-z-]*\"" | cut -d'"' -f4; }
events() { ctl status --json | grep -o '"events":[0-9]*' | cut -d: -f2; }

# 5,000 times seteuid(65534) and back: 10,000 PROC_EVENT_UID, nothing else
# but one process's fork, exec and exit.
uid_burst() {
        /usr/bin/env python3 -c '
import os
for _ in range(5000):
    os.seteuid(65534)
    os.seteuid(0)
'
}

# check_path FILTER SUFFIX: the figures for one way of subscribing.
check_path() {
        local want=$1 s=$C-s$2 p=$C-p$2 n w
        expect_eq "$(jfield event_filter)" "$want" "status: event_filter $want"

        # exec: a new process named C is pinned.
        spawn_named "$s"
        wait_mask "$SPAWNED_PID" 1
        ok "$want filter: exec seen, pid $SPAWNED_PID pinned"

        # fork of a thread, then a rename (COMM event) to a name another
        # rule pins elsewhere.
        pt_start "$p" --threads 1
        w=$(pt_spawn "$p" late)
        wait_mask "$w" 1
        ok "$want filter: new thread $w seen and pinned"
        pt_cmd "$p" "rename $w hot1"
        pt_wait "$p" "^renamed $w hot1\$"
        wait_mask "$w" 0
        ok "$want filter: rename seen, thread $w re-pinned by the other rule"

        # exit: the thread is forgotten.
        pt_cmd "$p" "exit $w"
        pt_wait "$p" "^exited $w\$"
        wait_until 5 "tid $w to leave the list" sh -c "! '$PINNERCTL' --socket '$SOCK' list --json | grep -q '\"tid\":$w[,}]'"
        ok "$want filter: exit seen, tid $w forgotten"

        # Kinds nobody uses never count.
        local e0 e1
        e0=$(events)
        uid_burst
        sleep 0.2
        e1=$(events)
        n=$((e1 - e0))
        [ "$n" -lt 2000 ] || fail "$want filter: $n events counted during a burst of 10,000 uid changes"
        ok "$want filter: a burst of 10,000 uid changes counted $n events (only fork/exec/exit, and the host's)"

        # A rule on users, reloaded in: now they are asked for, and counted;
        # reloaded out: not any more.
        cp "$T/pinnerd.conf" "$T/without-users.conf"
        printf '\n[rule:users]\ncomm = %s-nothing\nuser = nobody\ncpus = 0\n' "$C" >>"$T/pinnerd.conf"
        ctl reload >/dev/null || fail "$want filter: reload with a user rule failed"
        e0=$(events)
        uid_burst
        sleep 0.2
        e1=$(events)
        n=$((e1 - e0))
        [ "$n" -ge 9000 ] || fail "$want filter: with a rule on users, only $n events counted for 10,000 uid changes"
        ok "$want filter: with a rule on users the 10,000 uid changes arrive ($n events)"
        cp "$T/without-users.conf" "$T/pinnerd.conf"
        ctl reload >/dev/null || fail "$want filter: reload without the user rule failed"
        e0=$(events)
        uid_burst
        sleep 0.2
        e1=$(events)
        n=$((e1 - e0))
        [ "$n" -lt 2000 ] || fail "$want filter: $n events counted after the rule on users went"
        ok "$want filter: without it again, $n"
        pt_cmd "$p" quit
        kill "$SPAWNED_PID"
}

# 1. As the daemon starts by default.
start_daemon
major=$(uname -r | cut -d. -f1)
minor=$(uname -r | cut -d. -f2)
if [ "$major" -gt 6 ] || { [ "$major" = 6 ] && [ "$minor" -ge 6 ]; }; then
        wait_log 'process events: kernel filter'
        check_path kernel 1
else
        # An older kernel ignores the filtered request: the probe tells.
        wait_log 'process events: socket filter \(kernel filter: not honoured'
        check_path socket 1
fi
stop_daemon

# 2. The older kernels' path, forced.
: >"$T/daemon.log"
export PINNERD_PROC_FILTER=socket
start_daemon
unset PINNERD_PROC_FILTER
wait_log 'process events: socket filter \(kernel filter: off by PINNERD_PROC_FILTER\)'
check_path socket 2
