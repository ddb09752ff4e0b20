#!/bin/sh
# The guarantee and drift-event rows of `make bench`: tests/bench/guarantee.sh
# BUILD_DIR (run.sh calls it last; it also runs alone). Prints its part of
# the table; PASS/MISS is information.
#
#   guarantee = exec against the async path: how many execs see the rule's
#   CPU at their first instruction (firstmask), and what a held exec costs
#   (fork -> reaped exit, the same file marked and with no pinnerd at all);
#   an unmarked exec with guarantee rules in force against no pinnerd.
#
#   drift events through each source (bpf, tracepoint): another process's
#   sched_setaffinity -> re-pinned, and the daemon's share of a CPU while
#   one thread resets its own mask in a loop (pinbench escape, affloop).
#
# Knobs: BENCH_GUARANTEE_EXECS (1000 per kind and round),
# BENCH_GUARANTEE_ROUNDS (3), BENCH_KEEP.
set -u
BUILD=${1:?usage: tests/bench/guarantee.sh BUILD_DIR}
PINNERD=$BUILD/pinnerd
PINNERCTL=$BUILD/pinnerctl
PB=$BUILD/bench/pinbench
EC=$BUILD/bench/execcost
FM=$BUILD/helpers/firstmask
AL=$BUILD/helpers/affloop
N=${BENCH_GUARANTEE_EXECS:-1000}
ROUNDS=${BENCH_GUARANTEE_ROUNDS:-3}
say() { printf '%s\n' "bench: $*" >&2; }
row() { printf '%-52s %14s  %-16s %s\n' "$1" "$2" "$3" "$4"; }
le() { awk -v v="$1" -v l="$2" 'BEGIN { if (v == "" || v == "-") print "n/a"; else print (v + 0 <= l + 0 ? "PASS" : "MISS") }'; }
get() { sed -n "s/^$2=//p" "$1" 2>/dev/null | head -n 1; }

[ "$(id -u)" = 0 ] || { say "guarantee rows need root"; exit 77; }
for f in "$PINNERD" "$PINNERCTL" "$PB" "$EC" "$FM" "$AL"; do
        [ -x "$f" ] || { say "missing $f (make bench builds it; firstmask is x86-64 only)"; exit 77; }
done
CPUS=$(taskset -pc $$ 2>/dev/null | sed 's/.*: //')
CPU=$(awk -v l="$CPUS" 'BEGIN { n = split(l, a, ","); split(a[n], b, "-"); print (b[2] != "" ? b[2] : b[1]) }')
[ "$CPU" -lt 63 ] || { say "the first-instruction probe reads 64 CPUs"; exit 77; }
MASK=$(printf '0x%x' $((1 << CPU)))
# pinnerd on another CPU, as the shipped config keeps it on housekeeping
# CPUs: at SCHED_FIFO on the rule's CPU it would preempt the very program it
# just pinned there, and that would be measured instead of the hold.
HK=$(awk -v l="$CPUS" -v c="$CPU" 'BEGIN { split(l, a, "[,-]"); print (a[1] != c ? a[1] : c - 1) }')

T=$(mktemp -d /tmp/pinnerd-gbench.XXXXXX) || exit 1
chmod 755 "$T"
mkdir "$T/d" "$T/bin"
ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
SOCK=$T/control
DP=
TRACEFS_MOUNTED=0
if [ ! -e /sys/kernel/tracing/events ] && grep -qw tracefs /proc/filesystems &&
        mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; then
        TRACEFS_MOUNTED=1
fi
cleanup() {
        [ -n "$DP" ] && kill "$DP" 2>/dev/null && wait "$DP" 2>/dev/null
        [ $TRACEFS_MOUNTED = 1 ] && umount /sys/kernel/tracing 2>/dev/null
        if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

cp "$FM" "$T/bin/fm-$ID"   # marked
cp "$FM" "$T/bin/um-$ID"   # same program, no rule names it
cp "$PB" "$T/pbx-$ID"      # the escaped thread
conf() { # GUARANTEE
        cat >"$T/pinnerd.conf" <<EOF
[pinnerd]
verify  = 0
rescan  = 0
restore = no
drift   = reapply

[rule:held-$ID]
exe       = $T/bin/fm-$ID
cpus      = $CPU
guarantee = $1

[rule:escape-$ID]
comm = pbx-$ID
cpus = $CPU
EOF
        chmod 0644 "$T/pinnerd.conf"
}
ctl() { "$PINNERCTL" --socket "$SOCK" "$@"; }
start_daemon() { # as the unit runs it: SCHED_FIFO 1, on a housekeeping CPU
        taskset -c "$HK" chrt -f 1 "$PINNERD" --config "$T/pinnerd.conf" --config-dir "$T/d" --socket "$SOCK" \
                --log-target stderr --log-level notice 2>>"$T/daemon.log" &
        DP=$!
        i=0
        while ! ctl status >/dev/null 2>&1; do
                i=$((i + 1))
                [ $i -gt 200 ] || ! kill -0 "$DP" 2>/dev/null && { say "pinnerd did not start"; tail "$T/daemon.log" >&2; exit 1; }
                sleep 0.05
        done
}
stop_daemon() { [ -n "$DP" ] && kill "$DP" 2>/dev/null && wait "$DP" 2>/dev/null; DP=; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# 1-3, in ROUNDS rounds (this machine is shared and noisy: each figure is
# the median of the rounds' p50s, and of their p99s):
#   none      no pinnerd: the floor
#   marked    guarantee = exec, the marked file
#   unmarked  guarantee = exec in force, a file no rule names
#   async     guarantee = no: the same file pinned from the exec event
#   unmarked0 guarantee = no, the unnamed file: pinnerd without guarantee
GSTATE=
for r in $(seq "$ROUNDS"); do
        say "guarantee round $r/$ROUNDS: $N execs of each kind"
        "$EC" none "$T/bin/fm-$ID" "$N" "$MASK" >"$T/r$r-none.out"
        conf exec
        start_daemon
        GSTATE=$(ctl status | sed -n 's/^guarantee: *//p')
        if ctl status --json | grep -q '"guarantee":{"state":"exec"'; then
                "$EC" marked "$T/bin/fm-$ID" "$N" "$MASK" >"$T/r$r-marked.out"
                "$EC" unmarked "$T/bin/um-$ID" "$N" "$MASK" >"$T/r$r-unmarked.out"
                j=$(ctl status --json)
                echo "max_hold_us=$(echo "$j" | grep -o '"max_hold_usec":[0-9]*' | cut -d: -f2)" >>"$T/r$r-marked.out"
                held=$(echo "$j" | grep -o '"execs_held":[0-9]*' | cut -d: -f2)
                tot=$(echo "$j" | grep -o '"total_hold_usec":[0-9]*' | cut -d: -f2)
                echo "mean_hold_us=$(awk -v t="$tot" -v h="$held" 'BEGIN { if (h > 0) printf "%.1f", t / h }')" \
                        >>"$T/r$r-marked.out"
        fi
        conf no
        ctl reload >/dev/null
        "$EC" async "$T/bin/fm-$ID" "$N" "$MASK" >"$T/r$r-async.out"
        "$EC" unmarked0 "$T/bin/um-$ID" "$N" "$MASK" >"$T/r$r-unmarked0.out"
        stop_daemon
done
# med KIND KEY: the median over the rounds; sum KIND: first-instruction hits.
med() { for r in $(seq "$ROUNDS"); do get "$T/r$r-$1.out" "$1_$2"; done | sort -n | awk '{v[NR] = $1} END { if (NR) print v[int((NR + 1) / 2)] }'; }
hits() { for r in $(seq "$ROUNDS"); do get "$T/r$r-$1.out" "$1_first_on"; done | awk -F/ '{a += $1; b += $2} END { if (b) print a "/" b }'; }
for k in none marked unmarked async unmarked0; do
        for q in p50_us p99_us mean_us; do echo "${k}_$q=$(med $k $q)"; done
        echo "${k}_first_on=$(hits $k)"
done >"$T/g.out"
echo "max_hold_us=$(for r in $(seq "$ROUNDS"); do get "$T/r$r-marked.out" max_hold_us; done | sort -n | tail -n 1)" >>"$T/g.out"
echo "mean_hold_us=$(for r in $(seq "$ROUNDS"); do get "$T/r$r-marked.out" mean_hold_us; done | sort -n | awk '{v[NR] = $1} END { if (NR) print v[int((NR + 1) / 2)] }')" >>"$T/g.out"

# 4. Drift events through each source.
for src in bpf tracepoint; do
        PINNERD_DRIFT_SOURCE=$src
        export PINNERD_DRIFT_SOURCE
        start_daemon
        got=$(ctl status --json | grep -o '"drift_events":"[a-z]*"' | cut -d'"' -f4)
        echo "${src}_source=$got" >>"$T/g.out"
        if [ "$got" = "$src" ]; then
                say "drift: $src: 200 escapes, a 3 s self-setting loop"
                "$PB" escape "$T/pbx-$ID" "$CPU" 200 "$DP" | sed "s/^/${src}_/" >>"$T/g.out"
                c0=$(cpu_ticks "$DP")
                calls=$("$AL" 3 | awk '/^calls/ {print $2}')
                c1=$(cpu_ticks "$DP")
                echo "${src}_loop_calls=$calls" >>"$T/g.out"
                echo "${src}_loop_cpu_pct=$(((c1 - c0) * 100 / $(getconf CLK_TCK) / 3))" >>"$T/g.out"
        else
                echo "${src}_why=$(ctl status | sed -n 's/^drift-events: //p')" >>"$T/g.out"
        fi
        stop_daemon
        unset PINNERD_DRIFT_SOURCE
done

G=$T/g.out
add() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "-"; else printf "%.1f", a - b }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%+.1f%%", (a - b) * 100 / b }'; }
echo
row "guarantees and drift sources (issue 21)" "pinnerd" "goal" "result"
row "---------------------------------------" "-------" "----" "------"
if [ -n "$(get $G marked_p50_us)" ]; then
        v=$(get $G marked_first_on)
        row "guarantee = exec: first instruction on rule's CPU" "$v" "all" "$([ "${v%/*}" = "${v#*/}" ] && echo PASS || echo MISS)"
        row "  async path (exec event), same file" "$(get $G async_first_on)" "" "info"
        a50=$(add "$(get $G marked_p50_us)" "$(get $G none_p50_us)")
        a99=$(add "$(get $G marked_p99_us)" "$(get $G none_p99_us)")
        # Below zero, the floor's own spread is larger than what is measured.
        res=$(awk -v v="$a99" 'BEGIN { print (v + 0 < 0 ? "n/a (noise)" : "") }')
        row "marked exec: fork->exit added to no pinnerd p50/p99 (us)" "$a50/$a99" "p99 <= 50" "${res:-$(le "$a99" 50)}"
        row "  marked / async / none p50 (us)" "$(get $G marked_p50_us) / $(get $G async_p50_us) / $(get $G none_p50_us)" "" "info"
        row "  marked / async / none p99 (us)" "$(get $G marked_p99_us) / $(get $G async_p99_us) / $(get $G none_p99_us)" "" "info"
        row "  hold in the daemon, event read -> answer: mean / max (us)" "$(get $G mean_hold_us) / $(get $G max_hold_us)" "" "info"
        d=$(pct "$(get $G unmarked_p50_us)" "$(get $G unmarked0_p50_us)")
        row "unmarked exec p50: guarantee rules in force vs not" "$d" "<= +5%" \
                "$(awk -v d="${d%\%}" 'BEGIN { if (d == "-") print "n/a"; else print (d + 0 <= 5 ? "PASS" : "MISS") }')"
        row "  p50 unmarked / without guarantee / none (us)" "$(get $G unmarked_p50_us) / $(get $G unmarked0_p50_us) / $(get $G none_p50_us)" "" "info"
        row "  means, in force vs not; vs no pinnerd" "$(pct "$(get $G unmarked_mean_us)" "$(get $G unmarked0_mean_us)"); $(pct "$(get $G unmarked_mean_us)" "$(get $G none_mean_us)")" "" "info"
else
        row "guarantee = exec" "not in force" "" "$GSTATE"
        row "  async path: first instruction on rule's CPU" "$(get $G async_first_on)" "" "info"
fi
for src in bpf tracepoint; do
        if [ "$(get $G ${src}_source)" != "$src" ]; then
                row "drift events via $src" "not here" "" "$(get $G ${src}_why | cut -c1-60)"
                continue
        fi
        v=$(get $G ${src}_escape_p99_us)
        row "drift via $src: re-pinned p50/p99 (us)" "$(get $G ${src}_escape_p50_us)/$v" "p99 <= 1000" "$(le "$v" 1000)"
        v=$(get $G ${src}_loop_cpu_pct)
        row "  a self-setting loop ($(get $G ${src}_loop_calls) calls/3 s): daemon CPU %" "$v" "<= 10" "$(le "$v" 10)"
done
exit 0
