#!/bin/bash
# Lost events: with the daemon stopped (SIGSTOP), a storm of process events
# fills its connector receive buffer and the kernel drops the rest, among them
# the exec of a process a rule matches. On SIGCONT the daemon must notice the
# loss (ENOBUFS), say so, rescan, and pin that process.
#
# Measured on a 2-CPU VM (Linux 6.18): each connector message costs ~800 bytes
# of the 32 MiB the daemon's 16 MiB SO_RCVBUFFORCE grants, so ~40,000 events
# fill it; prctl(PR_SET_NAME) raises one comm event each at ~300,000/s with a
# listener, so a 100,000-event storm takes ~0.3 s. The kernel's per-socket
# drop counter (/proc/net/netlink) tells when the buffer really overflowed.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
[ -x "$HELPERS/forkstorm" ] || fail "$HELPERS/forkstorm is not built"
[ -r /proc/net/netlink ] || skip "no /proc/net/netlink to see the drop counter"

C=$(unique_comm b)
write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:storm]
comm = ${C}*
cpus = 1"
start_daemon
wait_log 'events from proc-connector' 1

# The connector socket of our daemon (netlink protocol 11, port = its pid,
# the proc group 1 bound): its Drops column.
drops() { awk -v p="$DAEMON_PID" '$2 == 11 && $3 == p && $4 == "00000001" {print $9; exit}' /proc/net/netlink; }
[ -n "$(drops)" ] || fail "no connector socket of pid $DAEMON_PID in /proc/net/netlink"
d0=$(drops)

kill -STOP "$DAEMON_PID"
cleanup_add "kill -CONT $DAEMON_PID"
for round in 1 2 3 4 5; do
        echo "storm $round: $("$HELPERS/forkstorm" comm 100000)"
        [ "$(drops)" -gt "$d0" ] && break
done
[ "$(drops)" -gt "$d0" ] || fail "500,000 events did not overflow the daemon's receive buffer (drops $(drops))"
ok "receive buffer overflowed: $(($(drops) - d0)) events dropped"

# The buffer stays full while the daemon sleeps: this exec is lost too.
d1=$(drops)
pt_start "$C" --threads 2
[ "$(drops)" -gt "$d1" ] || fail "the matching process's events were not dropped (drops $d1 -> $(drops))"
expect_eq "$(mask "$PT_PID")" 0-1 "$C not pinned while the daemon is stopped"
no_event events-lost

t0=$(date +%s.%N)
kill -CONT "$DAEMON_PID"
wait_event events-lost
for t in "$PT_PID" $(pt_tid "$C" w0) $(pt_tid "$C" w1); do wait_mask "$t" 1 10; done
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
wait_event applied rule=storm pid="$PT_PID" tid="$PT_PID" cpus=1
lost_line=$(grep -n 'event=events-lost' "$T/daemon.log" | head -1 | cut -d: -f1)
applied_line=$(grep -n "event=applied rule=storm pid=$PT_PID tid=$PT_PID " "$T/daemon.log" | head -1 | cut -d: -f1)
[ "$applied_line" -gt "$lost_line" ] || fail "applied record (line $applied_line) before the events-lost record (line $lost_line)"
grep -q 'rescan (events lost)' "$T/daemon.log" || fail "no rescan after the loss"
ok "events-lost, rescan, then $C's 3 threads pinned ${secs}s after SIGCONT"
expect_eq "$(count_events events-lost)" 1 "one events-lost record for one burst"

# Back to normal: the next exec is handled from its event, no rescan.
n_rescans=$(grep -c 'rescan (' "$T/daemon.log")
pt_start "${C}2"
wait_mask "$PT_PID" 1
wait_event applied rule=storm pid="$PT_PID" cpus=1
expect_eq "$(grep -c 'rescan (' "$T/daemon.log")" "$n_rescans" "the next exec pinned from its event, without a rescan"
