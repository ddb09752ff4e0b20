#!/bin/bash
# verify = 1: someone else (taskset) changes a pinned thread's mask.
# drift = reapply: a drift record and the pin is back within ~2 s;
# drift = log: one drift record, the mask stays as the other tool left it;
# drift = ignore: neither.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2

C=$(unique_comm v)
conf() {
        write_conf "[pinnerd]
verify = 1
drift = $1
rescan = 0

[rule:steady]
comm = $C
threads = w*
cpus = 1"
}
conf reapply
start_daemon
pt_start "$C" --threads 2
w0=$(pt_tid "$C" w0)
w1=$(pt_tid "$C" w1)
wait_mask "$w0" 1
wait_mask "$w1" 1

taskset -pc 0 "$w0" >/dev/null
# (With drift events, test 71, pinnerd may have put it back already.)
WAIT_SECS=3 wait_event drift rule=steady tid="$w0" cpus=1 previous=0
wait_mask "$w0" 1 3
ok "drift = reapply: drift recorded, tid $w0 back on CPU 1"
expect_eq "$(mask "$w1")" 1 "the other worker untouched"

# Drift again: reported again (the re-apply re-arms the report).
taskset -pc 0 "$w0" >/dev/null
for i in $(seq 60); do [ "$(count_events drift tid="$w0")" -ge 2 ] && break; sleep 0.05; done
expect_eq "$(count_events drift tid="$w0")" 2 "second drift reported"
wait_mask "$w0" 1 3

conf log
kill -HUP "$DAEMON_PID"
wait_event reloaded
taskset -pc 0 "$w1" >/dev/null
WAIT_SECS=3 wait_event drift rule=steady tid="$w1" previous=0
hold_mask "$w1" 0 3
expect_eq "$(count_events drift tid="$w1")" 1 "drift = log: reported once over 3 verify periods"
ok "drift = log: logged, not re-applied"

# Back to the pin: a reload with the rule re-plans every thread.
conf ignore
kill -HUP "$DAEMON_PID"
wait_mask "$w1" 1 3
before=$(count_events drift)
taskset -pc 0 "$w0" >/dev/null
hold_mask "$w0" 0 3
expect_eq "$(count_events drift)" "$before" "drift = ignore: no drift record"
ok "drift = ignore: neither logged nor re-applied"
