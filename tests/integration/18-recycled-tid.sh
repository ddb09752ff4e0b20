#!/bin/bash
# A recycled tid is never touched: pinnerd knows a thread as (tid, start time)
# and checks both before it acts on a remembered thread.
#
# To get a stale entry on purpose the daemon must not hear of the exit, so the
# whole test runs in a new pid namespace (with its own /proc): the proc
# connector ignores subscribers outside the initial namespaces, so the daemon
# polls, here only when we let it. The dead thread's pid is then handed to a
# new process with clone3(set_tid) (tests/helpers/withpid), exactly, no races.
# The same stale entry is looked at three ways:
#   1. at stop with restore = yes: the new process must not get the old
#      thread's original mask;
#   2. by the drift check (verify = 1): no drift record, no re-pin;
#   3. by a scan that finds a matching process under the recycled pid: it is a
#      new thread, whose own mask is what a later restore puts back.
# Limitation: a start time has clock-tick (10 ms) resolution; a tid recycled
# within the same tick would look like the same thread. Here seconds pass.
if [ -z "${PT_IN_PIDNS:-}" ]; then
        [ "$(id -u)" = 0 ] || { echo "needs root (pid namespace, clone3 set_tid)"; exit 77; }
        command -v unshare >/dev/null || { echo "needs unshare(1) from util-linux"; exit 77; }
        exec unshare --pid --fork --mount-proc env PT_IN_PIDNS=$$ bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
[ -x "$HELPERS/withpid" ] || fail "$HELPERS/withpid is not built"

# unique_comm uses $$, which is 1 in here: name after the outer shell instead.
C=pt${PT_IN_PIDNS}k
R=pt${PT_IN_PIDNS}n
conf() {
        write_conf "[pinnerd]
restore = yes
rescan = $1
verify = $2
drift = reapply

[rule:recycle]
comm = ${C}*
cpus = 1"
}

# old NAME: a matching process with one worker, on CPU 0; sets O and OW.
old() {
        pt_start "$1" --threads 1
        O=$PT_PID
        OW=$(pt_tid "$1" w0)
        taskset -apc 0 "$O" >/dev/null
}
# recycle NAME PID: a process named NAME running as PID (on CPUs 0-1).
recycle() {
        PT_LAUNCH="$HELPERS/withpid $2" pt_start "$1"
        [ "$PT_PID" = "$2" ] || fail "withpid gave pid $PT_PID, wanted $2"
        expect_eq "$(mask "$2")" 0-1 "$1 runs as recycled pid $2"
}
# kill_wait PID: end a process and reap it, so its pid and tids are free.
kill_wait() { kill -KILL "$1"; wait "$1" 2>/dev/null; [ ! -e "/proc/$1" ] || fail "pid $1 still there"; }

# 1. Stop restores only threads that are still the ones it pinned.
conf 3600 0
old "${C}a"
start_daemon
wait_log 'events from polling' 1
ok "no proc connector in a pid namespace: the daemon polls (every 3600 s here)"
wait_mask "$O" 1
wait_mask "$OW" 1
kill_wait "$O"
recycle "${R}a" "$O"
recycle "${R}b" "$OW"
stop_daemon
expect_eq "$DAEMON_STATUS" 0 "daemon exit status"
expect_eq "$(mask "$O")" 0-1 "recycled pid $O (was a pinned leader, original 0) untouched at stop"
expect_eq "$(mask "$OW")" 0-1 "recycled pid $OW (was a pinned worker, original 0) untouched at stop"
no_event restored tid="$O"
no_event restored tid="$OW"
no_event failed

# 2. The drift check sees the stale entries: not our threads, not our drift.
mv "$T/daemon.log" "$T/daemon1.log"
conf 3600 1
old "${C}b"
start_daemon
wait_mask "$O" 1
wait_mask "$OW" 1
kill_wait "$O"
recycle "${R}c" "$O"
recycle "${R}d" "$OW"
hold_mask "$O" 0-1 3
ok "recycled pid $O untouched by 3 drift checks"
expect_eq "$(mask "$OW")" 0-1 "recycled pid $OW untouched by 3 drift checks"
no_event drift tid="$O"
no_event drift tid="$OW"
ok "no drift record about a recycled tid"
stop_daemon
expect_eq "$(mask "$O"),$(mask "$OW")" 0-1,0-1 "recycled pids untouched at stop"

# 3. A matching process under a recycled pid is a new thread with its own
# original mask. The daemon is stopped while the pid changes hands, so its
# next poll is the first to see the new process.
mv "$T/daemon.log" "$T/daemon2.log"
conf 1 0
old "${C}c"
start_daemon
wait_mask "$O" 1
kill -STOP "$DAEMON_PID"
kill_wait "$O"
recycle "${C}d" "$O"
kill -CONT "$DAEMON_PID"
WAIT_SECS=4 wait_event applied rule=recycle pid="$O" tid="$O" comm="${C}d" cpus=1 previous=0-1
wait_mask "$O" 1
ok "${C}d under recycled pid $O pinned as a new thread (was 0-1)"
stop_daemon
expect_eq "$(mask "$O")" 0-1 "at stop ${C}d gets its own original 0-1, not the dead thread's 0"
