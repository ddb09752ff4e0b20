#!/bin/bash
# Drift events from the BPF source, with kernel.perf_event_paranoid left as
# it is: a pinned thread moved by another process's taskset, and by the
# 32-bit system call (which the tracepoints never see), is back on its CPU
# within 2 s with no verify timer at all; a call from another pid namespace
# is caught by a full check; one thread setting its own mask in a loop costs
# the daemon a bounded share of a CPU (paced), managed or not; the sysctl is
# untouched. PINNERD_DRIFT_SOURCE=verify says so in status.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2

paranoid_before=$(cat /proc/sys/kernel/perf_event_paranoid)
C=$(unique_comm b)
write_conf "[pinnerd]
verify = 0
drift = reapply

[rule:held]
comm = $C
threads = w*
cpus = 1

[rule:loop]
comm = ${C}l
cpus = 1"
start_daemon
src=$(ctl status --json | grep -o '"drift_events":"[a-z]*"' | cut -d'"' -f4)
if [ "$src" != bpf ]; then
        skip "the BPF drift source does not load here: $(ctl status | grep '^drift-events:')"
fi
ctl status | grep '^drift-events: bpf (' || fail "status: $(ctl status | grep '^drift-events:')"
ok "status: drift-events: bpf, with the program"

pt_start "$C" --threads 1
w0=$(pt_tid "$C" w0)
wait_mask "$w0" 1
taskset -pc 0 "$w0" >/dev/null
wait_event drift rule=held tid="$w0"
wait_mask "$w0" 1 2
ok "taskset from another process: drift recorded, tid $w0 back on CPU 1 within 2 s (verify = 0)"

if [ "$(uname -m)" = x86_64 ] && [ -x "$HELPERS/setaff32" ]; then
        n=$(count_events drift)
        "$HELPERS/setaff32" "$w0" 0 || fail "setaff32 failed (no IA32 emulation?)"
        wait_mask "$w0" 1 2
        [ "$(count_events drift)" -gt "$n" ] || fail "no drift record for the 32-bit call"
        ok "the 32-bit sched_setaffinity (int 0x80): seen, back on CPU 1"
fi

# A call that names a thread by its pid in another pid namespace: which
# thread, the daemon cannot tell; a full check (at most once a second) puts
# it back.
if command -v unshare >/dev/null && command -v nsenter >/dev/null; then
        cp "$(command -v sleep)" "$T/${C}n"
        write_conf "[pinnerd]
verify = 0
drift = reapply

[rule:held]
comm = $C
threads = w*
cpus = 1

[rule:ns]
comm = ${C}n
cpus = 1"
        ctl reload >/dev/null || fail "reload"
        unshare -pf --mount-proc "$T/${C}n" 60 &
        NSU=$!
        cleanup_add "kill $NSU"
        inner=
        for i in $(seq 100); do
                inner=$(pgrep -f "^$T/${C}n 60" | grep -v "^$NSU\$" | head -n1)
                [ -n "$inner" ] && break
                sleep 0.05
        done
        [ -n "$inner" ] || fail "the process in the new pid namespace did not start"
        wait_mask "$inner" 1
        nsenter -t "$inner" -p -m taskset -pc 0 1 >/dev/null || fail "taskset inside the namespace"
        wait_mask "$inner" 1 2
        ok "a call from another pid namespace: back on CPU 1 within 2 s (full check)"
fi

# Pacing: one thread resetting its own mask in a loop for 3 s.
hz=$(getconf CLK_TCK)
t0=$(daemon_ticks)
out=$("$HELPERS/affloop" 3)
t1=$(daemon_ticks)
share=$(((t1 - t0) * 100 / hz / 3))
calls=$(echo "$out" | awk '/^calls/ {print $2}')
echo "info: a thread no rule manages calling sched_setaffinity on itself $calls times in 3 s: daemon at ${share}% of a CPU"
[ "$share" -le 15 ] || fail "the daemon used ${share}% of a CPU for someone else's loop"
ok "an unmanaged loop costs the daemon at most 15% of a CPU (${share}%)"
cp "$HELPERS/affloop" "$T/${C}l"
t0=$(daemon_ticks)
out=$("$T/${C}l" 3 wl)
t1=$(daemon_ticks)
share=$(((t1 - t0) * 100 / hz / 3))
calls=$(echo "$out" | awk '/^calls/ {print $2}')
echo "info: a managed thread (drift = reapply) resetting its own mask $calls times in 3 s: daemon at ${share}% of a CPU"
[ "$share" -le 25 ] || fail "the daemon used ${share}% of a CPU fighting one thread"
ok "a managed thread fighting its pin costs the daemon at most 25% of a CPU (${share}%)"

# Lost records with 2,000 pinned threads: four loops overflow the ring
# buffer; the full check that follows runs at most once a second.
M=$(unique_comm m)
cp "$HELPERS/manythreads" "$T/$M"
write_conf "[pinnerd]
verify = 0
drift = reapply

[rule:many]
comm = $M
cpus = 1"
ctl reload >/dev/null || fail "reload"
"$T/$M" 2000 300 >"$T/mt.out" 2>&1 &
MTP=$!
cleanup_add "kill -KILL $MTP"
wait_until 30 "2,000 threads" grep -q '^ready' "$T/mt.out"
wait_until 20 "2,000 threads pinned" sh -c "[ \"\$($PINNERCTL --socket $SOCK list --json | jq length)\" -ge 2000 ]"
t0=$(daemon_ticks)
lp=()
for i in 1 2 3 4; do
        "$HELPERS/affloop" 4 >/dev/null &
        lp+=($!)
done
wait "${lp[@]}"
t1=$(daemon_ticks)
cpu_ms=$(((t1 - t0) * 1000 / hz))
echo "info: four self-setting loops for 4 s beside 2,000 pinned threads: daemon CPU ${cpu_ms} ms"
[ "$cpu_ms" -le 1000 ] || fail "lost records with 2,000 pinned threads cost the daemon ${cpu_ms} ms of CPU in 4 s"
ok "the full checks after lost records are bounded: ${cpu_ms} ms in 4 s"
kill -KILL "$MTP" 2>/dev/null

expect_eq "$(cat /proc/sys/kernel/perf_event_paranoid)" "$paranoid_before" "kernel.perf_event_paranoid untouched"
stop_daemon

PINNERD_DRIFT_SOURCE=verify start_daemon
ctl status | grep -q '^drift-events: verify (no bpf: not tried (PINNERD_DRIFT_SOURCE=verify)' ||
        fail "status: $(ctl status | grep '^drift-events:')"
ok "PINNERD_DRIFT_SOURCE=verify: status says so"
