#!/bin/bash
# CPUs a rule asks for but a thread may not use are reported once per rule
# and process, even when the rule's thread filter leaves the process leader
# alone (the report comes from whichever thread the rule reaches first).
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
[ "$(cat /sys/devices/system/cpu/online)" = 0-1 ] || skip "expects online CPUs 0-1 exactly, this host has $(cat /sys/devices/system/cpu/online)"

C=$(unique_comm d)
write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:wide]
comm = $C*
threads = w*
cpus = 1-3"
start_daemon

pt_start "$C" --threads 2
w0=$(pt_tid "$C" w0)
w1=$(pt_tid "$C" w1)
wait_mask "$w0" 1
wait_mask "$w1" 1
wait_log "rule wide: CPUs 2-3 of 1-3 left out for $C \\(pid $PT_PID\\)" 5
n=$(grep -c "rule wide: CPUs 2-3 of 1-3 left out" "$T/daemon.log")
expect_eq "$n" 1 "dropped CPUs reported once for the process, not per thread"

# A thread created later does not repeat it.
late=$(pt_spawn "$C" wlate)
wait_mask "$late" 1
n=$(grep -c "rule wide: CPUs 2-3 of 1-3 left out" "$T/daemon.log")
expect_eq "$n" 1 "still once after a late thread"

# A second process of the same rule gets its own report.
pt_start "${C}b" --threads 1
wait_until 5 "a second report" sh -c "[ \$(grep -c 'rule wide: CPUs 2-3 of 1-3 left out' '$T/daemon.log') -ge 2 ]"
ok "a second process is reported on its own"
