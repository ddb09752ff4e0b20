#!/bin/sh
# The shield phase of `make bench`: tests/bench/shield.sh BUILD_DIR (run.sh
# runs it last; BENCH_SHIELD=0 skips it).
#
# One CPU (the last usable one) is "owned" by a spinning program
# (shieldbench owner, pinned there with taskset) that measures every
# interruption; as load, CPU-bound neighbours (one per CPU, unpinned) and a
# direct-I/O writer (dd oflag=direct, so every write is a disk interrupt).
# Side by side in one run, each for BENCH_SHIELD_SEC seconds (10):
#   none     nothing keeps anything off the owned CPU
#   pinnerd  the full shield: comm = * and kthreads = yes with avoid, irqs = *
#            with avoid, workqueues = yes with avoid; the owner's rule wins
#   tuna     tuna --cpus CPU --isolate, when Debian's tuna is installed
#            (skipped otherwise, saying so; it is undone by hand, since its
#            --include crashes on Debian 12)
# and prints the time stolen from the owner per second, the p99 (and
# largest) interruption, and device IRQs per second on the owned CPU. After
# pinnerd stops, every IRQ, default_smp_affinity and workqueue mask and every
# thread's mask is compared with what it was: "left behind" must be 0. Then
# the window a shield leaves: a process forking a child every millisecond
# while pinnerd starts its shield; children born with the owned CPU after
# their parent left it (0 with parents moved first), and how long those born
# before kept it.
set -u
BUILD=${1:?usage: tests/bench/shield.sh BUILD_DIR}
PINNERD=$BUILD/pinnerd
PINNERCTL=$BUILD/pinnerctl
SB=$BUILD/bench/shieldbench
SECS=${BENCH_SHIELD_SEC:-10}
say() { printf '%s\n' "bench shield: $*" >&2; }
[ "$(id -u)" = 0 ] || { say "needs root"; exit 77; }
[ "$(nproc)" -ge 2 ] || { say "needs 2 CPUs"; exit 77; }
[ -x "$SB" ] && [ -x "$PINNERD" ] || { say "missing $SB or $PINNERD (make bench builds them)"; exit 1; }
CPUS=$(taskset -pc $$ 2>/dev/null | sed 's/.*: //')
CPU=$(awk -v l="$CPUS" 'BEGIN { n = split(l, a, ","); split(a[n], b, "-"); print (b[2] != "" ? b[2] : b[1]) }')
REST=$(awk -v c="$CPU" -v l="$CPUS" 'BEGIN { print (c > 0 ? "0-" c - 1 : "") }')

T=$(mktemp -d /tmp/pinnerd-shield.XXXXXX) || exit 1
chmod 755 "$T"
mkdir "$T/d"
ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
# Direct I/O needs a real file system (not tmpfs): /var/tmp.
DIO=$(mktemp /var/tmp/pinnerd-shield-dio.XXXXXX)
LOAD=
DP=
cleanup() {
        [ -n "$LOAD" ] && kill $LOAD 2>/dev/null
        [ -n "$DP" ] && kill "$DP" 2>/dev/null
        wait 2>/dev/null
        [ -f "$T/irqs.orig" ] && kernel_masks_restore "$T/irqs.orig"
        rm -rf "$T" "$DIO"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# The kernel's masks (IRQs, default_smp_affinity, workqueues); and threads.
. "$(dirname "$0")/../integration/kmasks.sh"
# Every thread's mask, "TID START MASK" (the start time tells a reused tid).
snap_threads() {
        for s in /proc/[0-9]*/task/[0-9]*/stat; do
                d=${s%/stat}
                st=$(cut -d')' -f2 "$s" 2>/dev/null | awk '{print $20}')
                m=$(awk '/^Cpus_allowed_list:/ {print $2}' "$d/status" 2>/dev/null)
                [ -n "$st" ] && [ -n "$m" ] && echo "${d##*/} $st $m"
        done | sort
}
restore_threads() {
        while read -r tid st m; do taskset -pc "$m" "$tid" >/dev/null 2>&1; done <"$1"
}
device_irqs() { # on CPU: the sum of the numbered rows' column for it
        awk -v c="$CPU" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "CPU" c) col = i; next }
                $1 ~ /^[0-9]+:$/ && col { s += $(col + 1) } END { print s + 0 }' /proc/interrupts
}

kernel_masks_save >"$T/irqs.orig"

load_start() {
        LOAD=
        for i in $(seq "$(nproc)"); do
                "$T/sbn-$ID" burn 3600 &
                LOAD="$LOAD $!"
        done
        if dd if=/dev/zero of="$DIO" bs=64k count=1 oflag=direct 2>/dev/null; then
                sh -c 'while :; do dd if=/dev/zero of="$1" bs=64k count=256 oflag=direct conv=notrunc 2>/dev/null; done' \
                        writer "$DIO" &
                LOAD="$LOAD $!"
                WRITER=yes
        else
                WRITER="no (O_DIRECT refused on $(stat -f -c %T "$DIO"))"
        fi
}
load_stop() {
        # The writer's shell and the dd it runs.
        for p in $LOAD; do pkill -P "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
        wait $LOAD 2>/dev/null
        LOAD=
}
measure() { # OUT
        a=$(device_irqs)
        taskset -c "$CPU" "$T/sbo-$ID" owner "$SECS" >"$1"
        b=$(device_irqs)
        echo "device_irqs_per_s=$(awk -v a="$a" -v b="$b" -v s="$SECS" 'BEGIN { printf "%.0f", (b - a) / s }')" >>"$1"
}

cp "$SB" "$T/sbo-$ID" && cp "$SB" "$T/sbn-$ID" && cp "$SB" "$T/sbf-$ID" || exit 1
cat >"$T/pinnerd.conf" <<EOF
# The shield bench $ID: CPU $CPU for the owner, everything else off it.
[pinnerd]
verify = 0
[rule:owner-$ID]
comm = sbo-$ID
cpus = $CPU
priority = 10
[rule:shield]
comm = *
avoid = $CPU
[rule:kshield]
kthreads = yes
avoid = $CPU
[rule:shield-irqs]
irqs = *
avoid = $CPU
[rule:shield-workqueues]
workqueues = yes
avoid = $CPU
EOF
chmod 0644 "$T/pinnerd.conf"
# At SCHED_FIFO 1, as the unit runs it: with CPU-bound neighbours on every
# CPU, a SCHED_OTHER daemon's start-up scan waits behind them.
start_pinnerd() {
        chrt -f 1 "$PINNERD" --config "$T/pinnerd.conf" --config-dir "$T/d" --socket "$T/control" --log-target stderr \
                --log-level notice 2>>"$T/daemon.log" &
        DP=$!
        i=0
        while ! "$PINNERCTL" --socket "$T/control" status >/dev/null 2>&1; do
                i=$((i + 1))
                [ $i -gt 200 ] && { say "pinnerd did not start"; tail "$T/daemon.log" >&2; exit 1; }
                sleep 0.05
        done
}
stop_pinnerd() {
        kill "$DP"
        wait "$DP" 2>/dev/null
        DP=
}

say "owned CPU $CPU, ${SECS} s per row, load: $(nproc) CPU-bound neighbours and a direct-I/O writer"
# none
load_start
sleep 1
say "none"
measure "$T/none.out"
load_stop

# pinnerd's full shield, over the load already running.
snap_threads >"$T/threads.before"
load_start
sleep 0.5
start_pinnerd
sleep 1
say "pinnerd"
measure "$T/pinnerd.out"
"$PINNERCTL" --socket "$T/control" audit "$CPU" --sample 1 --json >"$T/audit.json" 2>/dev/null
echo "audit_exit=$?" >>"$T/pinnerd.out"
stop_pinnerd
load_stop
kernel_masks_save >"$T/irqs.after"
snap_threads >"$T/threads.after"
# Left behind: kernel masks that differ, and threads alive before and after
# (same tid and start time) whose mask differs.
k=$(diff "$T/irqs.orig" "$T/irqs.after" | grep -c '^>')
t=$(join "$T/threads.before" "$T/threads.after" | awk '$2 == $4 && $3 != $5' | wc -l)
echo "left_behind_kernel=$k" >>"$T/pinnerd.out"
echo "left_behind_threads=$t" >>"$T/pinnerd.out"

# tuna
TUNA=$(command -v tuna)
if [ -n "$TUNA" ]; then
        snap_threads >"$T/threads.tuna"
        load_start
        sleep 0.5
        "$TUNA" --cpus "$CPU" --isolate >"$T/tuna.log" 2>&1 || say "tuna --isolate: $(tail -n 1 "$T/tuna.log")"
        sleep 1
        say "tuna"
        measure "$T/tuna.out"
        load_stop
        restore_threads "$T/threads.tuna"
        kernel_masks_restore "$T/irqs.orig"
fi

# The window: children forked while pinnerd starts its shield.
say "window: a child forked every ms while the shield starts"
"$T/sbf-$ID" forker "$CPU" 4 >"$T/window.out" &
FP=$!
while ! grep -q forker_ready "$T/window.out" 2>/dev/null; do sleep 0.05; done
# From the moment pinnerd is started: its start-up (config, host, proc
# connector, the scan) is the window.
kill -USR1 "$FP"
start_pinnerd
wait "$FP"
stop_pinnerd

get() { sed -n "s/^$2=//p" "$1" 2>/dev/null | head -n 1; }
row() { printf '%-34s %14s %18s %22s\n' "$1" "$2" "$3" "$4"; }
echo
echo "shield: CPU $CPU owned by a spinner, ${SECS} s each; load: $(nproc) CPU-bound neighbours, direct-I/O writer: $WRITER"
row "shield" "stolen ms/s" "p99 (max) gap us" "device IRQs/s on CPU $CPU"
row "------" "-----------" "----------------" "----------------------"
for m in none pinnerd tuna; do
        f=$T/$m.out
        case $m in
        none) name="none" ;;
        pinnerd) name="pinnerd full shield" ;;
        tuna) name="tuna --cpus $CPU --isolate" ;;
        esac
        if [ ! -f "$f" ]; then
                row "$name" "skipped" "" "(tuna is not installed)"
                continue
        fi
        row "$name" "$(get "$f" stolen_ms_per_s)" "$(get "$f" gap_p99_us) ($(get "$f" gap_max_us))" "$(get "$f" device_irqs_per_s)"
done
P=$T/pinnerd.out
echo
echo "after pinnerd stopped: masks left behind: $(get "$P" left_behind_kernel) IRQ/default/workqueue, $(get "$P" left_behind_threads) threads"
echo "pinnerctl audit $CPU under the shield: exit $(get "$P" audit_exit); $(jq -r '"\(.intruders) intruders; cannot move: \([.tasks[] | select(.class == "kthread-fixed" or .class == "kthread-moving")] | length) kernel threads, \([.irqs[] | select(.state == "cannot move")] | length) IRQs"' "$T/audit.json" 2>/dev/null)"
W=$T/window.out
echo "window: $(get "$W" children) children forked from pinnerd's start on (one a ms, 4 s); $(get "$W" born_with_cpu) born with CPU $CPU,"
echo "        $(get "$W" born_with_cpu_after_parent_left) of them after their parent had left it; they kept it p50 $(get "$W" held_p50_us) us, p99 $(get "$W" held_p99_us) us, max $(get "$W" held_max_us) us"
exit 0
