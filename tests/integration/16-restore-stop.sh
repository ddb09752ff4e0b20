#!/bin/bash
# At stop (SIGTERM) every live managed thread gets its original mask back with
# restore = yes; with restore = no the pins stay.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2

C=$(unique_comm t)
conf() {
        write_conf "[pinnerd]
restore = $1
rescan = 0
verify = 0

[rule:stopme]
comm = $C
cpus = 1"
}

# Threads whose masks pinnerd replaced itself: running before it starts, and
# on CPU 0 so the original differs from the default.
pt_start "$C" --threads 2
p=$PT_PID
w0=$(pt_tid "$C" w0)
w1=$(pt_tid "$C" w1)
taskset -apc 0 "$p" >/dev/null
for t in "$p" "$w0" "$w1"; do expect_eq "$(mask "$t")" 0 "tid $t starts on CPU 0"; done

conf yes
start_daemon
for t in "$p" "$w0" "$w1"; do wait_mask "$t" 1; done
ok "3 threads pinned to CPU 1"

# One of them exits before the stop: nothing to restore there, no error.
pt_cmd "$C" "exit $w1"
pt_wait "$C" "^exited $w1\$"
stop_daemon
expect_eq "$DAEMON_STATUS" 0 "exit status after SIGTERM"
for t in "$p" "$w0"; do
        expect_eq "$(mask "$t")" 0 "tid $t back on its original CPU 0"
        [ -n "$(event_lines restored rule=stopme tid="$t" cpus=0 previous=1)" ] || fail "no restored record for tid $t"
done
no_event failed
grep -q 'event=stopping' "$T/daemon.log" || fail "no stopping record"
ok "stopping record: $(grep 'event=stopping' "$T/daemon.log")"

# restore = no: the pins stay after the stop.
conf no
mv "$T/daemon.log" "$T/daemon1.log"
start_daemon
for t in "$p" "$w0"; do wait_mask "$t" 1; done
stop_daemon
expect_eq "$DAEMON_STATUS" 0 "exit status after SIGTERM"
for t in "$p" "$w0"; do expect_eq "$(mask "$t")" 1 "restore = no: tid $t stays on CPU 1"; done
no_event restored
