#!/bin/bash
# No user buys the daemon's time with bare connects. Four users connect to
# the control socket and close again in a loop, never sending a request.
# Before, taking a connection (accept, SO_PEERCRED, reading the peer's
# /proc view) was charged to nobody: one user's loop kept the SCHED_FIFO
# daemon at ~95% of a CPU. Accepting is now non-root work like a request,
# and pauses while non-root peers are over their share: the daemon's CPU
# over the flood stays near that share, root is still answered, and a
# process started during the flood is still pinned.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
command -v setpriv >/dev/null || skip "needs setpriv to act as other users"
command -v chrt >/dev/null || skip "needs chrt to run the daemon at SCHED_FIFO 1"
[ -x "$HELPERS/connflood" ] || fail "$HELPERS/connflood is not built"

cp "$HELPERS/connflood" "$T/"
chmod 0755 "$T" "$T/connflood"
C=$(unique_comm c)
write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:probe]
comm = $C
cpus = 1"
start_daemon_fifo --log-level info

hz=$(getconf CLK_TCK)
flooders=()
for uid in 60011 60012 60013 60014; do
        setpriv --reuid=$uid --regid=$uid --clear-groups "$T/connflood" "$SOCK" 6 >"$T/flood.$uid" 2>&1 &
        flooders+=($!)
done
cleanup_add "kill ${flooders[*]}"
sleep 1
c0=$(daemon_ticks)
t0=$(date +%s%N)
r0=$(date +%s%N)
ctl status >/dev/null || fail "root's status failed during the flood"
r1=$(date +%s%N)
spawn_named "$C"
wait_mask "$SPAWNED_PID" 1
sleep 3
c1=$(daemon_ticks)
t1=$(date +%s%N)
wait "${flooders[@]}" 2>/dev/null
cpu_ms=$(((c1 - c0) * 1000 / hz))
wall_ms=$(((t1 - t0) / 1000000))
share=$((cpu_ms * 100 / wall_ms))
echo "connects: $(cat "$T"/flood.* | tr '\n' ' ')"
echo "daemon CPU during four users' connect loops: ${cpu_ms} ms in ${wall_ms} ms (${share}%); root's status took $(((r1 - r0) / 1000000)) ms"
ok "a process started during the flood was pinned"
[ "$share" -le 25 ] || fail "four users' bare connects kept the daemon at ${share}% of a CPU"
ok "four users' connect loops cost the daemon ${share}% of a CPU"
kill -0 "$DAEMON_PID" || fail "the daemon died"
ctl status >/dev/null || fail "root's status after the flood"
ok "root is answered after the flood"
