#!/bin/bash
# memory = follow on a host with two or more NUMA nodes that have CPUs and
# memory: a process that filled 64 MiB on the first node and keeps touching
# it is pinned to the CPUs of another node; >= 95% of its pages follow within
# a minute, one memory record says so, and a memory = keep process beside it
# keeps its pages where they were. On a one-node host (this project's
# machines) it skips: the trixie-numa VM boot (make check-vm
# VM_BOOTS=trixie-numa) runs the same story on two emulated nodes.
. "$HERE/lib.sh"
need_root
[ -x "$HELPERS/memtouch" ] || fail "$HELPERS/memtouch is not built"
# Nodes with both CPUs and memory.
usable=()
for d in /sys/devices/system/node/node[0-9]*; do
        [ -d "$d" ] || continue
        cpus=$(cat "$d/cpulist" 2>/dev/null)
        mem=$(awk '/MemFree/ {print $4}' "$d/meminfo" 2>/dev/null)
        [ -n "$cpus" ] && [ "${mem:-0}" -gt 262144 ] && usable+=("${d##*/node}")
done
[ "${#usable[@]}" -ge 2 ] ||
        skip "this host has ${#usable[@]} NUMA node(s) with CPUs and free memory: the trixie-numa VM boot (make check-vm VM_BOOTS=trixie-numa) covers memory that follows the CPUs"
from=${usable[0]} to=${usable[1]}
from_cpus=$(cat "/sys/devices/system/node/node$from/cpulist")
to_cpus=$(cat "/sys/devices/system/node/node$to/cpulist")

f=$(unique_comm f) k=$(unique_comm k)
write_conf "[rule:m95]
comm = $f
cpus = node:$to
memory = follow

[rule:m95-keep]
comm = $k
cpus = node:$to"
start_daemon

# per mille of a memtouch's resident pages on NODE, from its report
share() {
        awk -v n="node$2" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
                END { print (v["resident"] > 0 ? int(v[n] * 1000 / v["resident"]) : 0) }' "$1" 2>/dev/null || echo 0
}

"$HELPERS/memtouch" "$k" 32 "$from_cpus" "$T/k.report" >/dev/null 2>&1 &
kp=$!
cleanup_add "kill $kp; wait $kp"
"$HELPERS/memtouch" "$f" 64 "$from_cpus" "$T/f.report" >/dev/null 2>&1 &
fp=$!
cleanup_add "kill $fp; wait $fp"
wait_mask "$fp" "$to_cpus" 20
wait_mask "$kp" "$to_cpus" 20
t0=$(date +%s)
while [ "$(share "$T/f.report" "$to")" -lt 950 ] && [ $(($(date +%s) - t0)) -lt 60 ]; do sleep 0.25; done
s=$(share "$T/f.report" "$to")
[ "$s" -ge 950 ] || fail "follow: $s per mille on node $to after 60 s: $(cat "$T/f.report")"
ok "follow: $s per mille of its pages on node $to after $(($(date +%s) - t0)) s"
wait_log "event=memory rule=m95 pid=$fp .*nodes=$to" 10
ok "one memory record: $(grep "event=memory rule=m95 " "$T/daemon.log" | cut -c1-200)"
sleep 1
stall=$(sed -n 's/.* max_stall_us=\([0-9]*\).*/\1/p' "$T/f.report")
[ "${stall:-999999}" -lt 100000 ] || fail "follow: its longest stall was $stall us: $(cat "$T/f.report")"
ok "follow: longest stall $stall us"
s=$(share "$T/k.report" "$from")
[ "$s" -ge 950 ] || fail "keep: $s per mille still on node $from: $(cat "$T/k.report")"
ok "keep: $s per mille of its pages still on node $from"
grep -q "event=memory rule=m95-keep" "$T/daemon.log" && fail "a memory record for the keep rule"
ctl metrics | grep -E '^pinnerd_memory_pages_moved_total [1-9]' >/dev/null || fail "metrics: $(ctl metrics | grep memory)"
ok "metrics count the pages moved"
