#!/bin/bash
# Drift events cannot be used to buy the daemon's time. A process sets its
# own mask in a tight loop (one tracepoint record per call): the SCHED_FIFO
# daemon reads the records in batches once they come fast, instead of one
# wakeup each (36% of a CPU before). A pinned thread moved by someone else
# meanwhile is still put back at once. Then 2,000 pinned threads and a flood
# that overflows the record buffers: the full check after lost records runs
# at most once a second (before, millions of sched_getaffinity calls).
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
command -v chrt >/dev/null || skip "needs chrt to run the daemon at SCHED_FIFO 1"
command -v python3 >/dev/null || skip "needs python3 for the setter loop"
if [ ! -e /sys/kernel/tracing/events/syscalls ] && [ ! -e /sys/kernel/debug/tracing/events/syscalls ]; then
        grep -qw tracefs /proc/filesystems || skip "kernel without tracefs"
        mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || skip "cannot mount tracefs on /sys/kernel/tracing"
        cleanup_add "umount /sys/kernel/tracing"
fi

C=$(unique_comm d)
M=$(unique_comm n)
cp "$HELPERS/manythreads" "$T/$M"
write_conf "[pinnerd]
verify = 0
rescan = 0

[rule:held]
comm = $C
threads = w*
cpus = 1

[rule:many]
comm = $M
cpus = 1"
# The tracepoint source (74 floods the BPF source, the default where it loads).
export PINNERD_DRIFT_SOURCE=tracepoint
start_daemon_fifo --log-level info
[ "$(ctl status --json | jq -r .drift_events)" = tracepoint ] || skip "drift events are not from the tracepoints here: $(ctl status --json | jq -r .drift_events_reason)"

hz=$(getconf CLK_TCK)
# setter SECONDS: a process (not pinned) setting its own mask in a loop.
setter() {
        python3 -c 'import os, sys, time
end = time.time() + float(sys.argv[1]); n = 0
while time.time() < end:
    os.sched_setaffinity(0, {0, 1}); n += 1
print(n)' "$1"
}

pt_start "$C" --threads 1 --name-prefix w
w0=$(pt_tid "$C" w0)
wait_mask "$w0" 1
c0=$(daemon_ticks)
setter 4 >"$T/calls" &
sp=$!
sleep 1
taskset -pc 0 "$w0" >/dev/null
wait_mask "$w0" 1 2
ok "a pinned thread moved during the flood is put back"
wait "$sp"
c1=$(daemon_ticks)
cpu_ms=$(((c1 - c0) * 1000 / hz))
echo "$(cat "$T/calls") sched_setaffinity calls in 4 s cost the daemon ${cpu_ms} ms of CPU"
[ "$cpu_ms" -le 400 ] || fail "a sched_setaffinity loop cost the daemon ${cpu_ms} ms of CPU in 4 s"
ok "a sched_setaffinity loop costs the daemon ${cpu_ms} ms in 4 s"

# ---- lost records with 2,000 pinned threads ------------------------------------
"$T/$M" 2000 300 >"$T/mt.out" 2>&1 &
mtp=$!
cleanup_add "kill -KILL $mtp"
wait_until 30 "2,000 threads" grep -q '^ready' "$T/mt.out"
wait_until 20 "2,000 threads pinned" sh -c "[ \"\$($PINNERCTL --socket $SOCK list --json | jq length)\" -ge 2000 ]"
c0=$(daemon_ticks)
sp=()
for i in 1 2 3 4; do
        setter 4 >/dev/null &
        sp+=($!)
done
wait "${sp[@]}"
c1=$(daemon_ticks)
cpu_ms=$(((c1 - c0) * 1000 / hz))
lost=$(ctl status --json | jq -r '.drift_lost // empty')
echo "four setter loops with 2,000 pinned threads: daemon CPU ${cpu_ms} ms in 4 s${lost:+, lost-record batches $lost}"
[ "$cpu_ms" -le 1000 ] || fail "lost records with 2,000 pinned threads cost the daemon ${cpu_ms} ms of CPU in 4 s"
ok "the full checks after lost records are bounded: ${cpu_ms} ms in 4 s"
