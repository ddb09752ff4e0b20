#!/bin/bash
# Without the proc connector the daemon says so once and polls /proc every
# `rescan` seconds (2 when rescan = 0); what it finds is pinned within that.
#
# How to lose the connector: Linux >= 6.6 lets unprivileged listeners
# subscribe, so dropping CAP_NET_ADMIN no longer does it; but the kernel still
# ignores subscribers outside the initial pid namespace. So the test runs
# itself in a new pid namespace with its own /proc, daemon and processes alike.
if [ -z "${PT_IN_PIDNS:-}" ]; then
        [ "$(id -u)" = 0 ] || { echo "needs root (pid namespace)"; exit 77; }
        command -v unshare >/dev/null || { echo "needs unshare(1) from util-linux"; exit 77; }
        exec unshare --pid --fork --mount-proc env PT_IN_PIDNS=$$ bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2

C=pt${PT_IN_PIDNS}o
write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:polled]
comm = ${C}*
threads = w*
cpus = 1"
start_daemon
wait_log 'polling /proc every 2 s' 1
wait_log 'event=started.*' 1
grep -q 'started.*events from polling' "$T/daemon.log" || fail "started record does not say 'events from polling'"
expect_eq "$(grep -c 'polling /proc every' "$T/daemon.log")" 1 "said once"

# elapsed_since T0: seconds since T0 (date +%s.%N).
elapsed_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

t0=$(date +%s.%N)
pt_start "${C}a" --threads 2
w0=$(pt_tid "${C}a" w0)
wait_mask "$w0" 1 4
wait_mask "$(pt_tid "${C}a" w1)" 1 1
ok "a process started later pinned after $(elapsed_since "$t0") s (poll interval 2 s)"
expect_eq "$(mask "$PT_PID")" 0-1 "its main thread (not w*) left alone"

t0=$(date +%s.%N)
late=$(pt_spawn "${C}a" w9)
wait_mask "$late" 1 4
ok "a thread started later pinned after $(elapsed_since "$t0") s"

# rescan = 1: polls every second.
write_conf "[pinnerd]
rescan = 1
verify = 0

[rule:polled]
comm = ${C}*
threads = w*
cpus = 1"
kill -HUP "$DAEMON_PID"
wait_event reloaded
sleep 0.2
t0=$(date +%s.%N)
pt_start "${C}b" --threads 1
wait_mask "$(pt_tid "${C}b" w0)" 1 2
ok "rescan = 1: pinned after $(elapsed_since "$t0") s"
no_event events-lost
