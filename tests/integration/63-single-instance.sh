#!/bin/bash
# One instance per socket: a second pinnerd on the same socket exits 3
# having touched nothing. Its config would pin both the first instance's
# process (elsewhere) and one the first leaves alone; strace shows it makes no
# sched_setaffinity call at all, and both masks stay. The first instance keeps
# its socket and keeps answering.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
command -v strace >/dev/null || skip "needs strace to see the second instance's syscalls"

A=$(unique_comm a)
Bn=$(unique_comm b)
write_conf "[pinnerd]
restore = yes
rescan = 0
verify = 0

[rule:first]
comm = $A
cpus = 1"
cat >"$T/second.conf" <<EOC
[pinnerd]
restore = yes
rescan = 0
verify = 0

[rule:a-elsewhere]
comm = $A
cpus = 0

[rule:b-too]
comm = $Bn
cpus = 0
EOC
chmod 0644 "$T/second.conf"

pt_start "$A" --threads 2
pa=$PT_PID
pt_start "$Bn" --threads 2
pb=$PT_PID
b_before=$(for t in $(ls /proc/$pb/task); do echo "$t=$(mask "$t")"; done)
start_daemon
for t in $(ls /proc/$pa/task); do wait_mask "$t" 1; done
ok "instance 1 pinned $A to CPU 1"

mkdir "$T/d2"
timeout 20 strace -f -qq -e trace=sched_setaffinity -o "$T/second.strace" \
        "$PINNERD" --config "$T/second.conf" --config-dir "$T/d2" --socket "$SOCK" \
        --log-target stderr --log-level debug >"$T/second.log" 2>&1
rc=$?
[ "$rc" = 124 ] && fail "the second instance was still running after 20 s: $(tail -n 5 "$T/second.log")"
expect_eq "$rc" 3 "second instance on the same socket: exit status"
# It says why, naming the socket (or the lock beside it).
grep -qF "$T/" "$T/second.log" || fail "the second instance does not name the socket or lock it found taken: $(cat "$T/second.log")"
ok "second instance says why: $(grep -F "$T/" "$T/second.log" | head -n 1)"
calls=$(grep -c 'sched_setaffinity(' "$T/second.strace")
[ "$calls" = 0 ] || fail "the second instance called sched_setaffinity $calls times: $(grep 'sched_setaffinity(' "$T/second.strace" | head -n 4 | tr '\n' ' ')"
ok "the second instance made no sched_setaffinity call"
for t in $(ls /proc/$pa/task); do expect_eq "$(mask "$t")" 1 "tid $t keeps instance 1's CPU 1"; done
b_after=$(for t in $(ls /proc/$pb/task); do echo "$t=$(mask "$t")"; done)
expect_eq "$b_after" "$b_before" "$Bn's threads keep their masks"
grep -E 'event=(applied|restored)' "$T/second.log" && fail "the second instance logged pin or restore records"
# It never started, so it does not say it is stopping either.
grep -E 'event=(started|stopping)' "$T/second.log" && fail "the second instance logged a started or stopping record"
ok "the second instance logged neither 'started' nor 'stopping'"

# The first instance is untouched: its socket is there and answers.
[ -S "$SOCK" ] || fail "the socket $SOCK is gone after the second instance exited"
ctl status >/dev/null || fail "instance 1 does not answer after the second instance exited: exit $?"
ok "instance 1 still answers on $SOCK"
kill -0 "$DAEMON_PID" || fail "instance 1 died"
stop_daemon
expect_eq "$DAEMON_STATUS" 0 "instance 1: exit status after SIGTERM"
