#!/bin/bash
# No user buys the daemon's time: four users each run `explain` of a big
# process in a loop (before, the pause between slices was per connection,
# and four such loops kept the SCHED_FIFO daemon at ~60% of a CPU). Each uid
# now gets at most 5% of a CPU and all non-root peers together 10%: the
# daemon's CPU over the flood stays within that (plus the cost of taking
# connections), and root is still answered at once.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
command -v setpriv >/dev/null || skip "needs setpriv to act as other users"
command -v chrt >/dev/null || skip "needs chrt to run the daemon at SCHED_FIFO 1"

cp "$PINNERCTL" "$HELPERS/manythreads" "$T/"
chmod 0755 "$T" "$T/pinnerctl" "$T/manythreads"
M=$(unique_comm f)
cp "$HELPERS/manythreads" "$T/$M"
write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:big]
comm = $M
cpus = 1"
start_daemon_fifo --log-level info
"$T/$M" 1000 300 >"$T/mt.out" 2>&1 &
mtp=$!
cleanup_add "kill -KILL $mtp"
wait_until 30 "the 1000-thread process" grep -q '^ready' "$T/mt.out"
wait_until 10 "its threads pinned" sh -c "[ \"\$($PINNERCTL --socket $SOCK list --json | jq length)\" -ge 1000 ]"

hz=$(getconf CLK_TCK)
flooders=()
for uid in 60001 60002 60003 60004; do
        setpriv --reuid=$uid --regid=$uid --clear-groups bash -c \
                'while :; do "$1" --socket "$2" explain "$3" >/dev/null 2>&1; done' flood "$T/pinnerctl" "$SOCK" "$mtp" &
        flooders+=($!)
done
cleanup_add "kill ${flooders[*]}"
sleep 1
c0=$(daemon_ticks)
t0=$(date +%s%N)
# Root is served during the flood, at once.
r0=$(date +%s%N)
ctl status >/dev/null || fail "root's status failed during the flood"
r1=$(date +%s%N)
sleep 4
c1=$(daemon_ticks)
t1=$(date +%s%N)
kill "${flooders[@]}"
wait "${flooders[@]}" 2>/dev/null
cpu_ms=$(((c1 - c0) * 1000 / hz))
wall_ms=$(((t1 - t0) / 1000000))
share=$((cpu_ms * 100 / wall_ms))
echo "daemon CPU during four users' explain loops: ${cpu_ms} ms in ${wall_ms} ms (${share}%); root's status took $(((r1 - r0) / 1000000)) ms"
[ "$share" -le 25 ] || fail "four users kept the daemon at ${share}% of a CPU"
ok "four flooding users cost the daemon ${share}% of a CPU"
kill -0 "$DAEMON_PID" || fail "the daemon died"
