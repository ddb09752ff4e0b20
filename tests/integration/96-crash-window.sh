#!/bin/bash
# An original is on disk before pinnerd relies on it. Two processes start
# 10 ms apart and the daemon is killed 20 ms later, well inside the 100 ms
# that snapshots of the state file are coalesced over: a restarted daemon
# still knows both originals, and its stop puts both back. Done several
# times, since the kill lands at a different moment each time.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2

B=pt$$w
X=0
write_conf "[pinnerd]
restore = yes
rescan = 0
verify = 0

[rule:window]
comm = $B*
cpus = 1"
PT_LAUNCH="taskset -c $X"

# all_on PID CPUS: every thread of PID has CPUS (no wait).
all_on() {
        local t
        for t in $(ls "/proc/$1/task"); do [ "$(mask "$t")" = "$2" ] || return 1; done
}
wait_all_on() {
        wait_until 5 "every thread of $1 on CPUs $2" all_on "$1" "$2"
}

for round in 1 2 3 4 5; do
        start_daemon
        pt_start "${B}a$round" --threads 1
        pa=$PT_PID
        sleep 0.01
        pt_start "${B}b$round" --threads 1
        pb=$PT_PID
        sleep 0.02
        kill -KILL "$DAEMON_PID"
        wait "$DAEMON_PID" 2>/dev/null
        DAEMON_PID=
        mv "$T/daemon.log" "$T/daemon.$round.crashed.log"
        start_daemon
        wait_all_on "$pa" 1
        wait_all_on "$pb" 1
        stop_daemon
        expect_eq "$DAEMON_STATUS" 0 "round $round: exit status after SIGTERM"
        all_on "$pa" "$X" || fail "round $round: the first process did not get its original CPU $X back"
        all_on "$pb" "$X" || fail "round $round: the second process (pinned 10 ms later, killed 20 ms after) did not get its original CPU $X back: $(for t in $(ls /proc/$pb/task); do echo "$t=$(mask "$t")"; done)"
        ok "round $round: both originals survived kill -9 inside the coalescing window"
        pt_cmd "${B}a$round" quit
        pt_cmd "${B}b$round" quit
done
