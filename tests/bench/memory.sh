#!/bin/sh
# Memory that follows the CPUs, measured: tests/bench/memory.sh BUILD_DIR (run by
# tests/bench/run.sh at the end of `sudo make bench`, or alone).
#
# On a host with two NUMA nodes that have CPUs and free memory: a memtouch
# (tests/helpers/memtouch.c) fills BENCH_MEM_MIB MiB (256) on the first node,
# then takes the name a `memory = follow` rule of a private pinnerd matches,
# which pins it to the second node's CPUs; it keeps writing every page and
# times itself. Prints pages moved per second (from pinnerd's record), the
# time until 95% of the pages were on the second node, pinnerd's own time
# spent moving, and the longest stall the process saw (wall clock, and
# blocked: the gap less its own CPU time). On a one-node host it says why it
# did not run: the trixie-numa VM boot prints the same figures
# (make check-vm VM_BOOTS=trixie-numa). Exit 0 whenever it ran or said why
# not, 1 when something broke.
set -u

BUILD=${1:?usage: tests/bench/memory.sh BUILD_DIR}
MIB=${BENCH_MEM_MIB:-256}
PINNERD=$BUILD/pinnerd
PINNERCTL=$BUILD/pinnerctl
MT=$BUILD/helpers/memtouch
row() { printf '%-52s %14s  %-16s %s\n' "$1" "$2" "$3" "$4"; }

echo
row "memory that follows the CPUs (issue 22)" "pinnerd" "goal" "result"
row "---------------------------------------" "-------" "----" "------"
usable=
for d in /sys/devices/system/node/node[0-9]*; do
        [ -d "$d" ] || continue
        cpus=$(cat "$d/cpulist" 2>/dev/null)
        free=$(awk '/MemFree/ {print $4}' "$d/meminfo" 2>/dev/null)
        [ -n "$cpus" ] && [ "${free:-0}" -gt $((MIB * 1024 * 2)) ] && usable="$usable ${d##*/node}"
done
set -- $usable
if [ $# -lt 2 ]; then
        row "memory = follow: pages moved per second" "not run" "" \
                "$# NUMA node(s) with CPUs here; make check-vm VM_BOOTS=trixie-numa prints it"
        exit 0
fi
[ "$(id -u)" = 0 ] || { row "memory = follow" "not run" "" "needs root"; exit 0; }
[ -x "$MT" ] || { echo "bench: missing $MT (make bench builds it)" >&2; exit 1; }
from=$1 to=$2
from_cpus=$(cat "/sys/devices/system/node/node$from/cpulist")

T=$(mktemp -d /tmp/pinnerd-membench.XXXXXX) || exit 1
chmod 755 "$T"
mkdir "$T/d"
ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
NAME=pbmem-$ID
DP= MP=
cleanup() {
        [ -n "$MP" ] && kill "$MP" 2>/dev/null
        [ -n "$DP" ] && kill "$DP" 2>/dev/null
        wait 2>/dev/null
        rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
cat >"$T/pinnerd.conf" <<EOF
[pinnerd]
verify  = 0
restore = no

[rule:bench-memory-$ID]
comm   = $NAME
cpus   = node:$to
memory = follow
EOF
chmod 0644 "$T/pinnerd.conf"
chown root:root "$T/pinnerd.conf"
chrt -f 1 "$PINNERD" --config "$T/pinnerd.conf" --config-dir "$T/d" --socket "$T/control" \
        --log-target stderr --log-level info 2>"$T/daemon.log" &
DP=$!
i=0
until "$PINNERCTL" --socket "$T/control" status >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt 200 ] && kill -0 "$DP" 2>/dev/null || { tail "$T/daemon.log" >&2; exit 1; }
        sleep 0.05
done
"$MT" "$NAME" "$MIB" "$from_cpus" "$T/report" >/dev/null 2>&1 &
MP=$!
key() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$T/report" 2>/dev/null; }
i=0
until grep -q phase=running "$T/report" 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 1200 ] || { echo "bench: memtouch did not fill $MIB MiB in 2 minutes" >&2; exit 1; }
        sleep 0.1
done
t0=$(date +%s%N)
reached=
while [ $(($(date +%s%N) - t0)) -lt 120000000000 ]; do
        r=$(key resident) n=$(key "node$to")
        if [ "${r:-0}" -gt 0 ] && [ $((n * 1000 / r)) -ge 950 ]; then
                reached=$((($(date +%s%N) - t0) / 1000000))
                break
        fi
        sleep 0.1
done
i=0
until grep -q "event=memory rule=bench-memory-$ID" "$T/daemon.log"; do
        i=$((i + 1))
        [ $i -lt 600 ] || break
        sleep 0.1
done
sleep 0.6 # a report after the pass
rec=$(grep "event=memory rule=bench-memory-$ID" "$T/daemon.log" | head -n 1)
rate=$(echo "$rec" | sed -n 's/.*(\([0-9]*\) pages\/s.*/\1/p')
own=$(echo "$rec" | sed -n "s/.*pages\/s; \([0-9]*\) ms of pinnerd's time.*/\1/p")
longest=$(echo "$rec" | sed -n 's/.* the longest \([0-9.]*\) ms).*/\1/p')
moved=$(echo "$rec" | sed -n 's/^.*moved \([0-9]*\) pages.*/\1/p')
secs=$(echo "$rec" | sed -n 's/.* in \([0-9.]*\) s (.*/\1/p')
stall=$(key max_stall_us) blocked=$(key max_blocked_us)
row "memory = follow: $MIB MiB, node $from -> node $to" "${moved:-?} pages" "" "in ${secs:-?} s"
row "  pages moved per second" "${rate:-?}" "" "info"
row "  95% on node $to after (ms)" "${reached:-never}" "<= 60000" \
        "$([ -n "$reached" ] && [ "$reached" -le 60000 ] && echo PASS || echo MISS)"
row "  pinnerd's time spent moving (ms)" "${own:-?}" "" "info"
row "  longest move_pages batch (ms): a page's longest wait" "${longest:-?}" "" "info"
row "  longest stall the process saw: wall / blocked (us)" "${stall:-?} / ${blocked:-?}" "< 100000" \
        "$([ "${stall:-999999}" -lt 100000 ] && echo PASS || echo MISS)"
exit 0
