#!/bin/sh
# pinnerd benchmark: tests/bench/run.sh BUILD_DIR (what `sudo make bench` runs).
#
# Runs the real daemon on a private config and socket, with rules that match
# only this run's processes (copies of pinbench named pb?-RANDOM), measures it
# and the polling baseline (pollpin) in the same run, and prints a table with
# the goal next to each figure. PASS/MISS is information: the exit status is
# 0 whenever the benchmarks ran, 77 when they cannot run here (not root, one
# CPU), 1 when something broke. See tests/bench/README.md.
#
# Knobs (environment): BENCH_EXECS (1000), BENCH_STORM (20000),
# BENCH_IDLE_SEC (10), BENCH_PROCS x BENCH_THREADS (100 x 100),
# BENCH_VARIANTS (1: also re-run the latency phases at SCHED_OTHER nice 0,
# nice -10, and with info logging to a file and to journald), BENCH_TUNED (1:
# also measure Debian's TuneD on the same workload, installing it when
# missing; 0: not), BENCH_SHIELD (1: the shield phase, tests/bench/shield.sh;
# BENCH_SHIELD_SEC seconds a row, 10), BENCH_KEEP (1: keep the work directory
# and print its path).
#
# The daemon runs as systemd/pinnerd.service runs it: SCHED_FIFO priority 1
# (the unit's CPUSchedulingPolicy=fifo); the SCHED_OTHER variant shows why.
set -u

BUILD=${1:?usage: tests/bench/run.sh BUILD_DIR}
DAEMON_SCHED="chrt -f 1"
PINNERD=$BUILD/pinnerd
PINNERCTL=$BUILD/pinnerctl
PB=$BUILD/bench/pinbench
POLLPIN=$BUILD/bench/pollpin
EXECS=${BENCH_EXECS:-1000}
STORM=${BENCH_STORM:-20000}
IDLE_SEC=${BENCH_IDLE_SEC:-10}
PROCS=${BENCH_PROCS:-100}
THREADS=${BENCH_THREADS:-100}
VARIANTS=${BENCH_VARIANTS:-1}
TUNED=${BENCH_TUNED:-1}
HERE=$(cd "$(dirname "$0")" && pwd)

say() { printf '%s\n' "bench: $*" >&2; }
skip() { say "cannot run: $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root (the proc connector, sched_setaffinity on any thread)"
for f in "$PINNERD" "$PINNERCTL" "$PB" "$POLLPIN"; do
        [ -x "$f" ] || { say "missing $f (build with make bench)"; exit 1; }
done
# The bench CPU: the last one we may use. One CPU leaves nothing to pin to.
CPUS=$(taskset -pc $$ 2>/dev/null | sed 's/.*: //')
CPU=$(awk -v l="$CPUS" 'BEGIN { n = split(l, a, ","); split(a[n], b, "-"); print (b[2] != "" ? b[2] : b[1]) }')
[ "$(nproc)" -ge 2 ] || skip "needs at least 2 usable CPUs (this process may use $CPUS)"

T=$(mktemp -d /tmp/pinnerd-bench.XXXXXX) || exit 1
chmod 755 "$T"
mkdir "$T/d"
ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
# The socket and the state file beside it on tmpfs, as the unit's
# /run/pinnerd is: on ext4 the state file's writes (a new inode each) were a
# fifth of the daemon's CPU in the storm. /dev/shm when /run is no tmpfs.
RUNDIR=
for d in /run /dev/shm; do
        if [ "$(stat -f -c %T "$d" 2>/dev/null)" = tmpfs ]; then
                RUNDIR=$(mktemp -d "$d/pinnerd-bench.XXXXXX") && break
        fi
done
# Any user may connect, as to the unit's /run/pinnerd/control (the flood
# phase below runs as nobody).
[ -n "$RUNDIR" ] && chmod 0755 "$RUNDIR"
SOCK=${RUNDIR:-$T}/control
# The sched_setaffinity tracepoints (drift events, the perf timing) need
# tracefs; a host without systemd may not have it mounted.
TRACEFS_MOUNTED=0
if [ ! -e /sys/kernel/tracing/events ] && grep -qw tracefs /proc/filesystems &&
        mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; then
        TRACEFS_MOUNTED=1
fi
DP=
BP=
PERFP=
TREE=
TP=
JP=

cleanup() {
        [ -n "$PERFP" ] && kill -INT "$PERFP" 2>/dev/null
        [ -n "$BP" ] && kill "$BP" 2>/dev/null
        [ -n "$DP" ] && kill "$DP" 2>/dev/null
        [ -n "$TP" ] && kill "$TP" 2>/dev/null
        [ -n "$TREE" ] && kill -KILL $TREE 2>/dev/null
        [ -n "$JP" ] && kill "$JP" 2>/dev/null
        wait 2>/dev/null
        [ "${JOURNAL_DIR_CREATED:-0}" = 1 ] && rm -rf /run/systemd/journal
        [ "${JOURNAL_LOG_CREATED:-0}" = 1 ] && rm -rf /run/log/journal
        [ -n "$RUNDIR" ] && rm -rf "$RUNDIR"
        [ "$TRACEFS_MOUNTED" = 1 ] && umount /sys/kernel/tracing
        if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# pb?-ID: the process names (comm = the file name). pbe: exec latency,
# pbt: thread latency, pbs: long-lived storm processes, pbm: the 10,000
# threads, pbb: exec latency under the polling baseline (no pinnerd rule).
# pbx: the escaped thread (someone else widens its mask).
for n in pbe pbt pbs pbm pbb pbx; do cp "$PB" "$T/$n-$ID" || exit 1; done
cat >"$T/pinnerd.conf" <<EOF
# pinnerd benchmark $ID: matches only this run's processes.
[pinnerd]
verify  = 0
rescan  = 0
restore = no
drift   = reapply

[rule:bench-exec-$ID]
comm = pbe-$ID
cpus = $CPU

[rule:bench-threads-$ID]
comm    = pbt-$ID
threads = worker*
cpus    = $CPU

[rule:bench-storm-$ID]
comm = pbs-$ID
cpus = $CPU

[rule:bench-many-$ID]
comm = pbm-$ID
cpus = $CPU

[rule:bench-escape-$ID]
comm = pbx-$ID
cpus = $CPU
EOF
chmod 0644 "$T/pinnerd.conf"
chown root:root "$T/pinnerd.conf"

ctl() { "$PINNERCTL" --socket "$SOCK" "$@"; }
# get FILE KEY: the value of a key=value line.
get() { sed -n "s/^$2=//p" "$1" 2>/dev/null | head -n 1; }
# jnum KEY: a number from `pinnerctl status --json`.
jnum() { ctl status --json 2>/dev/null | grep -o "\"$1\":[0-9]*" | head -n 1 | cut -d: -f2; }
now_ns() { date +%s%N; }

# start_daemon LOGLEVEL [PREFIX...]: pinnerd on the bench config, until its
# control socket answers (it opens it after the start-up scan). LOG_TARGET
# (stderr) says where its records go.
LOG_TARGET=stderr
start_daemon() {
        level=$1
        shift
        "$@" "$PINNERD" --config "$T/pinnerd.conf" --config-dir "$T/d" --socket "$SOCK" \
                --log-target "$LOG_TARGET" --log-level "$level" 2>>"$T/daemon.log" &
        DP=$!
        i=0
        while ! ctl status >/dev/null 2>&1; do
                i=$((i + 1))
                if [ $i -gt 200 ] || ! kill -0 "$DP" 2>/dev/null; then
                        say "pinnerd did not start:"
                        tail -n 20 "$T/daemon.log" >&2
                        exit 1
                fi
                sleep 0.05
        done
}
stop_daemon() {
        [ -n "$DP" ] || return 0
        kill "$DP" 2>/dev/null
        wait "$DP" 2>/dev/null
        DP=
}

HAVE_PERF=0
if command -v perf >/dev/null 2>&1 && perf list 'syscalls:sys_exit_sched_setaffinity' 2>/dev/null | grep -q exit; then
        HAVE_PERF=1
fi

# exec_phase OUT: EXECS sequential execs of pbe, each spinning on its mask;
# with perf, the daemon's sched_setaffinity calls are recorded too.
exec_phase() {
        out=$1
        n=${2:-$EXECS}
        if [ $HAVE_PERF = 1 ]; then
                perf record -q -k CLOCK_MONOTONIC -e syscalls:sys_enter_sched_setaffinity \
                        -e syscalls:sys_exit_sched_setaffinity -p "$DP" -o "$out.perf" >/dev/null 2>&1 &
                PERFP=$!
                sleep 0.5
        fi
        PINBENCH_RAW=$out.raw "$PB" exec-latency "$T/pbe-$ID" "$CPU" "$n" 0 0 2000 "$DP" >"$out" || exit 1
        if [ -n "$PERFP" ]; then
                sleep 0.1
                kill -INT "$PERFP" 2>/dev/null
                wait "$PERFP" 2>/dev/null
                PERFP=
                perf script --ns -i "$out.perf" >"$out.script" 2>/dev/null &&
                        "$PB" perf-join "$out.raw" "$out.script" >>"$out"
        fi
}

# start_journald: a journald for the "as the unit runs it" variant: the
# running one, or /lib/systemd/systemd-journald started here (and stopped,
# with what it created, at the end).
start_journald() {
        if [ -S /run/systemd/journal/socket ]; then
                return 0
        fi
        [ -x /lib/systemd/systemd-journald ] || { say "no journald: skipping the journal variant"; return 1; }
        [ -e /run/systemd/journal ] || JOURNAL_DIR_CREATED=1
        [ -e /run/log/journal ] || JOURNAL_LOG_CREATED=1
        /lib/systemd/systemd-journald >"$T/journald.log" 2>&1 &
        JP=$!
        i=0
        while [ ! -S /run/systemd/journal/socket ] && [ $i -lt 100 ]; do
                sleep 0.1
                i=$((i + 1))
        done
        [ -S /run/systemd/journal/socket ] || { say "journald did not start"; return 1; }
}

# tuned_phase FORK OUT: Debian's TuneD, scheduler plugin with perf
# (runtime=1, perf_process_fork=FORK), pinning the same names to the same CPU
# (its affinity is a hex mask). TuneD matches the command line, so the
# regex is anchored at the copy's path (argv[0]): the drivers name the copies
# in their arguments and, matched, would pass their mask to every child. It
# runs as `tuned` itself, no D-Bus, with
# /etc/tuned replaced by a private copy in a mount namespace of its own, so
# nothing of the host's TuneD configuration changes. Then the sequential execs
# (300), the storm and the idle window against its pid.
tuned_phase() {
        fork=$1
        out=$2
        et=$T/tuned-etc-$fork
        mkdir -p "$et/pb-$ID"
        [ -f /etc/tuned/tuned-main.conf ] && cp /etc/tuned/tuned-main.conf "$et/"
        hex=$(printf '%x' $((1 << CPU)))
        printf '%s\n' "[main]" "summary=pinnerd benchmark $ID" "[scheduler]" "runtime=1" \
                "perf_process_fork=$fork" "group.pbe=0:*:0:$hex:^$T/pbe-$ID" "group.pbs=0:*:0:$hex:^$T/pbs-$ID" \
                >"$et/pb-$ID/tuned.conf"
        unshare -m --propagation private sh -c "mount --bind '$et' /etc/tuned && exec tuned --no-dbus --no-socket \
                -P '$T/tuned.pid' -l '$T/tuned-$fork.log' -p pb-$ID" 2>"$T/tuned-$fork.err" &
        TP=$!
        # Ready once it pins a matching process.
        "$T/pbs-$ID" sleeper 1 >/dev/null &
        probe=$!
        i=0
        while ! taskset -pc "$probe" 2>/dev/null | grep -q ": $CPU\$" && [ $i -lt 300 ]; do
                sleep 0.1
                i=$((i + 1))
        done
        kill "$probe"
        wait "$probe" 2>/dev/null
        if [ $i -ge 300 ]; then
                say "TuneD (perf_process_fork=$fork) never pinned a matching process:"
                tail -n 5 "$T/tuned-$fork.err" "$T/tuned-$fork.log" >&2
                echo "tuned_failed=1" >"$out"
        else
                say "TuneD perf_process_fork=$fork: 300 execs, $STORM fork+exec storm, idle $IDLE_SEC s"
                # 200 ms per child at most: one TuneD misses would otherwise
                # hold the run for the full 2 s each.
                "$PB" exec-latency "$T/pbe-$ID" "$CPU" 300 0 0 200 "$TP" >"$out" || exit 1
                "$PB" storm /bin/true "$T/pbs-$ID" "$CPU" "$STORM" 100 4 "$TP" >>"$out" || exit 1
                sleep 1
                "$PB" idle "$TP" "$IDLE_SEC" >>"$out" || exit 1
                echo "tuned_rss_kib=$(awk '/^VmRSS:/ {print $2}' /proc/$TP/status)" >>"$out"
                # Its perf thread dies on an exception (e.g. a comm that is
                # not UTF-8): then it pins nothing more; say so.
                grep -q 'Exception in thread' "$T/tuned-$fork.err" && echo "tuned_perf_thread_died=1" >>"$out"
        fi
        kill "$TP" 2>/dev/null
        wait "$TP" 2>/dev/null
        TP=
}

T_START=$(now_ns)
say "run $ID in $T; bench CPU $CPU; perf $([ $HAVE_PERF = 1 ] && echo yes || echo no)"
start_daemon notice $DAEMON_SCHED
{
        echo "start_rss_kib=$(awk '/^VmRSS:/ {print $2}' /proc/$DP/status)"
        echo "start_rss_anon_kib=$(awk '/^RssAnon:/ {print $2}' /proc/$DP/status)"
} >"$T/start.out"

# 1. exec -> pinned
say "exec -> pinned: $EXECS execs"
exec_phase "$T/exec.out"

# 1b. exec -> pinned while nobody runs `pinnerctl explain` of its own
# 8,000-thread process in two loops (any user can do that).
FLOOD=0
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
cp "$PB" "$T/pbx-$ID" && cp "$PINNERCTL" "$T/pinnerctl" && chmod 0755 "$T/pbx-$ID" "$T/pinnerctl"
if command -v setpriv >/dev/null && $NOBODY test -x "$T/pinnerctl"; then
        say "exec -> pinned under nobody's explain flood: 300 execs"
        XP=$($NOBODY "$T/pbx-$ID" spawn "$T/pbx-$ID" 1 8000 | head -n 1)
        FL=
        : >"$T/flood.count"
        chown 65534 "$T/flood.count"
        for k in 1 2; do
                # An explain of more than 256 threads answers with exit 1 and a
                # note: both count as answered. A refused connection would be
                # a fork storm, not a flood of requests.
                $NOBODY sh -c 'while :; do "$1" --socket "$2" explain "$3" >/dev/null 2>&1; [ $? -le 1 ] && echo >>"$4"; done' \
                        flood "$T/pinnerctl" "$SOCK" "$XP" "$T/flood.count" &
                FL="$FL $!"
        done
        sleep 1
        f0=$(wc -l <"$T/flood.count") t0=$(now_ns)
        exec_phase "$T/exec-flood.out" 300
        echo "flood_explains=$(($(wc -l <"$T/flood.count") - f0))" >>"$T/exec-flood.out"
        echo "flood_seconds=$(awk -v a="$t0" -v b="$(now_ns)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')" >>"$T/exec-flood.out"
        kill $FL 2>/dev/null
        kill -KILL "$XP" 2>/dev/null
        wait $FL 2>/dev/null
        FLOOD=1
fi

# 2. new thread and renamed thread -> pinned
say "new thread / renamed thread -> pinned: $EXECS each"
"$PB" thread-latency "$T/pbt-$ID" "$CPU" "$EXECS" "$DP" >"$T/threads.out" || exit 1

# 2b. an escaped thread: another process widens a pinned thread's mask; how
# long until pinnerd puts it back (verify = 0: only an event can tell it).
say "escaped thread -> re-pinned: 200 times"
"$PB" escape "$T/pbx-$ID" "$CPU" 200 "$DP" >"$T/escape.out" || exit 1
echo "drift_events=$(ctl status --json 2>/dev/null | grep -o '"drift_events":"[a-z]*"' | cut -d'"' -f4)" >>"$T/escape.out"

# 3. the polling baseline's exec -> pinned: a child every 10 ms for 2 s,
# each looking at its mask every 1 ms (one at a time would take minutes).
say "baseline exec -> pinned: 200 execs under a 1 s poller"
"$POLLPIN" 1000 "$CPU" "pbb-$ID" >"$T/bpoll1.out" &
BP=$!
"$PB" exec-latency "$T/pbb-$ID" "$CPU" 200 1000 10000 3000 >"$T/bexec.out" || exit 1
kill "$BP"
wait "$BP"
BP=

# 4. idle: nothing of ours happens; every process event on the machine still
# wakes the daemon, so count those too.
say "idle: $IDLE_SEC s"
sleep 1
# The phases before leave timers of their own (the log storm limiter's
# summary, storm pacing): the window starts once the daemon has had none
# armed for a second (pinbench waits, without forking, at most 15 s).
"$PB" idle "$DP" "$IDLE_SEC" 15 >"$T/idle.out" || exit 1

# 5. fork+exec storm, 1% long-lived matching processes.
say "storm: $STORM fork+exec"
EV0=$(jnum events)
"$PB" storm /bin/true "$T/pbs-$ID" "$CPU" "$STORM" 100 4 "$DP" >"$T/storm.out" || exit 1
EV1=$(jnum events)
echo "storm_daemon_events=$((EV1 - EV0))" >>"$T/storm.out"

# 6. 10,000 threads: managed, RSS, rescan vs ps, CPU while they sleep.
NT=$((PROCS * THREADS))
say "$PROCS processes x $THREADS threads"
t0=$(now_ns)
TREE=$("$PB" spawn "$T/pbm-$ID" "$PROCS" "$THREADS" | tr '\n' ' ')
t1=$(now_ns)
i=0
while [ "$(jnum managed_threads)" -lt "$NT" ] 2>/dev/null && [ $i -lt 300 ]; do
        sleep 0.1
        i=$((i + 1))
done
t2=$(now_ns)
{
        echo "tree_threads=$NT"
        echo "tree_spawn_ms=$(((t1 - t0) / 1000000))"
        echo "tree_managed=$(jnum managed_threads)"
        echo "tree_all_managed_after_ms=$(((t2 - t0) / 1000000))"
        echo "host_threads=$(ps -eLo tid= | wc -l)"
        echo "rss_kib=$(awk '/^VmRSS:/ {print $2}' /proc/$DP/status)"
        echo "hwm_kib=$(awk '/^VmHWM:/ {print $2}' /proc/$DP/status)"
        echo "rss_anon_kib=$(awk '/^RssAnon:/ {print $2}' /proc/$DP/status)"
} >"$T/tree.out"
"$PB" cpu "$DP" 3 | sed 's/^/tree_daemon_/' >>"$T/tree.out"
for k in 1 2 3; do
        a=$(now_ns)
        ctl rescan >"$T/rescan.$k" 2>&1
        b=$(now_ns)
        ps -eLo tid,comm >/dev/null
        c=$(now_ns)
        echo "rescan_wall_us_$k=$(((b - a) / 1000))"
        echo "rescan_self_ms_$k=$(sed -n 's/^rescanned in \([0-9.]*\) ms.*/\1/p' "$T/rescan.$k")"
        echo "ps_wall_us_$k=$(((c - b) / 1000))"
done >>"$T/tree.out"

# 7. the baseline at the same 10,000 threads: CPU per second, scan time.
say "baseline at $NT threads: 5 s"
"$POLLPIN" 1000 "$CPU" "pbm-$ID" >"$T/bpoll2.out" &
BP=$!
sleep 0.2
"$PB" cpu "$BP" 5 | sed 's/^/base_/' >>"$T/tree.out"
kill "$BP"
wait "$BP"
BP=

# 8. start-up scan of the same tree (the debug record gives its time).
stop_daemon
: >"$T/daemon.log"
start_daemon debug $DAEMON_SCHED
echo "startup_scan_ms=$(sed -n 's/.*rescan (start) took \([0-9.]*\) ms.*/\1/p' "$T/daemon.log" | head -n 1)" >>"$T/tree.out"
stop_daemon
kill -KILL $TREE 2>/dev/null
TREE=
sleep 0.5

# 9. variants of the latency phases, for information.
if [ "$VARIANTS" = 1 ]; then
        for v in other nice info journal; do
                case $v in
                other) start_daemon notice ;;
                nice) start_daemon notice nice -n -10 ;;
                info) start_daemon info $DAEMON_SCHED ;;
                journal)
                        start_journald || continue
                        LOG_TARGET=journal
                        start_daemon info $DAEMON_SCHED
                        LOG_TARGET=stderr
                        ;;
                esac
                say "variant: $v"
                exec_phase "$T/var-$v.out" 300
                "$PB" thread-latency "$T/pbt-$ID" "$CPU" 300 "$DP" >>"$T/var-$v.out" || exit 1
                stop_daemon
        done
fi

# 10. TuneD on the same workload, both perf_process_fork settings.
if [ "$TUNED" = 1 ]; then
        if sh "$HERE/tuned-setup.sh"; then
                for fork in false true; do
                        tuned_phase "$fork" "$T/tuned-$fork.out"
                done
        else
                echo "tuned_skipped=1" >"$T/tuned-false.out"
        fi
fi
T_END=$(now_ns)

# ---- the table ------------------------------------------------------------------
E=$T/exec.out
TH=$T/threads.out
S=$T/storm.out
TR=$T/tree.out
BE=$T/bexec.out

med3() { printf '%s\n%s\n%s\n' "$1" "$2" "$3" | sort -n | sed -n 2p; }
RESCAN_US=$(med3 "$(get $TR rescan_wall_us_1)" "$(get $TR rescan_wall_us_2)" "$(get $TR rescan_wall_us_3)")
RESCAN_SELF=$(med3 "$(get $TR rescan_self_ms_1)" "$(get $TR rescan_self_ms_2)" "$(get $TR rescan_self_ms_3)")
PS_US=$(med3 "$(get $TR ps_wall_us_1)" "$(get $TR ps_wall_us_2)" "$(get $TR ps_wall_us_3)")
STORM_CPU=$(get $S storm_daemon_cpu_ns)
STORM_EV=$(get $S storm_daemon_events)
STORM_SEEN=$(get $S storm_seen_events)

# row NAME VALUE GOAL VERDICT
row() { printf '%-52s %14s  %-16s %s\n' "$1" "$2" "$3" "$4"; }
# le VALUE LIMIT: PASS when VALUE <= LIMIT.
le() { awk -v v="$1" -v l="$2" 'BEGIN { if (v == "" || v == "-") print "n/a"; else print (v + 0 <= l + 0 ? "PASS" : "MISS") }'; }
calc() { awk "BEGIN { printf \"$1\", $2 }" 2>/dev/null; }

echo
echo "pinnerd benchmark  $(date -u +%Y-%m-%dT%H:%MZ)  $(uname -r)  $(nproc) CPUs  load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "run $ID, bench CPU $CPU, $(((T_END - T_START) / 1000000000)) s; daemon: --log-level notice, stderr, SCHED_FIFO 1 as the unit runs it"
echo
row "measure" "pinnerd" "goal" "result"
row "-------" "-------" "----" "------"
# The goal is timed from the kernel's exec event (its timestamp) to the mask
# set, as the issue allows; from a clock read before execve the child cannot
# even reach main() sooner than the floor shown below.
if [ -n "$(get $E perf_event2set_p50_us)" ]; then
        v=$(get $E perf_event2set_p50_us); row "exec event->pinned p50 (us, daemon's setaffinity)" "$v" "<= 100" "$(le "$v" 100)"
        v=$(get $E perf_event2set_p99_us); row "exec event->pinned p99 (us, daemon's setaffinity)" "$v" "<= 1000" "$(le "$v" 1000)"
        row "  clock before execve->setaffinity p50/p99 (us)" "$(get $E perf_exec2set_p50_us)/$(get $E perf_exec2set_p99_us)" "" "info"
else
        v=$(get $E event2pinned_p50_us); row "exec event->pinned p50 (us, child sees it)" "$v" "<= 100" "$(le "$v" 100)"
        v=$(get $E event2pinned_p99_us); row "exec event->pinned p99 (us, child sees it)" "$v" "<= 1000" "$(le "$v" 1000)"
fi
row "  clock before execve->child sees it p50/p99 (us)" "$(get $E exec2pinned_p50_us)/$(get $E exec2pinned_p99_us)" "" "info"
row "  exec->main() of the child p50/p99 (us, the floor)" "$(get $E exec2main_p50_us)/$(get $E exec2main_p99_us)" "" "info"
row "  children already pinned when main() first looked" "$(get $E first_check_pinned)/$(get $E reports)" "" "info"
row "  daemon run-queue wait per wakeup (us)" "$(get $E exec_daemon_runq_wait_us_per_wakeup)" "" "info"
row "  daemon CPU per wakeup (us)" "$(get $E exec_daemon_cpu_us_per_wakeup)" "" "info"
[ $FLOOD = 1 ] && row "  under nobody's explain flood (8,000 threads): p50/p99 (us), pinned before main" \
        "$(get $T/exec-flood.out exec2pinned_p50_us)/$(get $T/exec-flood.out exec2pinned_p99_us)" \
        "$(get $T/exec-flood.out first_check_pinned)/$(get $T/exec-flood.out reports)" "info" &&
        row "    explains answered meanwhile" \
        "$(get $T/exec-flood.out flood_explains) in $(get $T/exec-flood.out flood_seconds) s" "" "info"
v=$(get $TH newthread_p99_us); row "new thread->pinned p99 (us) [p50 $(get $TH newthread_p50_us)]" "$v" "<= 1000" "$(le "$v" 1000)"
v=$(get $TH rename_p99_us); row "renamed thread->pinned p99 (us) [p50 $(get $TH rename_p50_us)]" "$v" "<= 1000" "$(le "$v" 1000)"
row "  daemon run-queue wait per wakeup (us)" "$(get $TH threads_daemon_runq_wait_us_per_wakeup)" "" "info"
v="$(get $S storm_long_pinned)/$(get $S storm_long)"
row "storm: long-lived matching pinned" "$v" "all" "$([ "$(get $S storm_long_pinned)" = "$(get $S storm_long)" ] && echo PASS || echo MISS)"
row "  storm forks, wall (ms), rate (/s)" "$(get $S storm_forks), $(get $S storm_wall_ms), $(get $S storm_rate_per_s)" "" "info"
row "  all pinned after the storm ended (ms)" "$(get $S storm_all_pinned_after_ms)" "" "info"
v=$(calc "%.1f" "$STORM_CPU / 1000 / ($STORM_EV > 0 ? $STORM_EV : 1)")
row "storm: daemon CPU per event, its counter (us)" "$v" "<= 25" "$(le "$v" 25)"
row "  daemon CPU (ms) / events counted by it" "$(calc "%.1f" "$STORM_CPU / 1e6") / $STORM_EV" "" "info"
row "  per event our own listener saw ($STORM_SEEN) (us)" "$(calc "%.1f" "$STORM_CPU / 1000 / ($STORM_SEEN > 0 ? $STORM_SEEN : 1)")" "" "info"
row "  per fork+exec of the storm (us)" "$(calc "%.1f" "$STORM_CPU / 1000 / $(get $S storm_forks)")" "" "info"
# Every process event on the machine wakes an event-driven daemon; the goal is
# no wakeup of its own (timers, polling).
w=$(get $T/idle.out idle_voluntary)
ev=$(get $T/idle.out idle_machine_events)
v=$(awk -v w="${w:-0}" -v e="${ev:-0}" 'BEGIN { d = w - e; print (d > 0 ? d : 0) }')
row "idle ${IDLE_SEC} s, verify=0: wakeups beyond process events" "$v" "0" "$([ "$v" = 0 ] && echo PASS || echo MISS)"
row "  daemon wakeups / process events on the machine" "${w:-?} / ${ev:-?}" "" "info"
row "  daemon CPU meanwhile (us)" "$(get $T/idle.out idle_cpu_us)" "" "info"
row "  waited for the daemon's timers to settle before the window (s)" "$(get $T/idle.out idle_settle_s)" "" "info"
row "  daemon timers armed at the start / next due (s)" "$(get $T/idle.out idle_timers_armed) / $(get $T/idle.out idle_next_timer_s)" "none" \
        "$([ "$(get $T/idle.out idle_timers_armed)" = 0 ] && echo PASS || echo MISS)"
row "full rescan, $(get $TR tree_managed) managed threads (ms, median of 3)" "$(calc "%.1f" "$RESCAN_US / 1000")" "" "info"
row "  as the daemon times it (ms)" "$RESCAN_SELF" "" "info"
row "  ps -eLo tid,comm, $(get $TR host_threads) threads (ms)" "$(calc "%.1f" "$PS_US / 1000")" "" "info"
v=$(calc "%.2f" "$RESCAN_US / $PS_US"); row "rescan / ps ratio" "$v" "<= 0.5" "$(le "$v" 0.5)"
row "  start-up scan of the same tree (ms)" "$(get $TR startup_scan_ms)" "" "info"
v=$(calc "%.2f" "$(get $TR rss_kib) / 1024"); row "RSS with $(get $TR tree_managed) managed threads (MiB)" "$v" "<= 8" "$(le "$v" 8)"
row "  of which anonymous (heap, stacks) (MiB)" "$(calc "%.2f" "$(get $TR rss_anon_kib) / 1024")" "" "info"
row "  at start, 0 managed: RSS / anonymous (MiB)" "$(calc "%.2f" "$(get $T/start.out start_rss_kib) / 1024") / $(calc "%.2f" "$(get $T/start.out start_rss_anon_kib) / 1024")" "" "info"
row "  per managed thread, RSS growth (bytes)" "$(calc "%.0f" "($(get $TR rss_kib) - $(get $T/start.out start_rss_kib)) * 1024 / $(get $TR tree_managed)")" "" "info"
row "  peak RSS (MiB)" "$(calc "%.2f" "$(get $TR hwm_kib) / 1024")" "" "info"
row "  10,000 threads spawned -> all managed (ms)" "$(get $TR tree_all_managed_after_ms)" "" "info"
echo
row "baseline (pollpin, 1 s poll)" "baseline" "pinnerd" "pinnerd/baseline"
row "----------------------------" "--------" "-------" "----------------"
bp50=$(get $BE exec2pinned_p50_us); bp99=$(get $BE exec2pinned_p99_us); bmean=$(get $BE exec2pinned_mean_us)
pp50=$(get $E exec2pinned_p50_us); pp99=$(get $E exec2pinned_p99_us); pmean=$(get $E exec2pinned_mean_us)
row "exec->pinned p50 (us, child sees it)" "$bp50" "$pp50" "$(calc "%.4f" "$pp50 / $bp50")"
row "exec->pinned mean (us)" "$bmean" "$pmean" "$(calc "%.4f" "$pmean / $bmean")"
row "exec->pinned p99 (us)" "$bp99" "$pp99" "$(calc "%.4f" "$pp99 / $bp99")"
row "  baseline children pinned / started" "$(($(get $BE reports) - $(get $BE unpinned)))/$(get $BE execs)" "" ""
bcpu=$(get $TR base_cpu_ms_per_s); pcpu=$(get $TR tree_daemon_cpu_ms_per_s)
row "CPU per second at $NT threads, nothing happening (ms/s)" "$bcpu" "$pcpu" "$(calc "%.4f" "$pcpu / ($bcpu > 0 ? $bcpu : 1)")"
row "one full scan at $NT threads (ms)" "$(get $T/bpoll2.out scan_ms_mean)" "$(calc "%.1f" "$RESCAN_US / 1000")" \
        "$(calc "%.2f" "$RESCAN_US / 1000 / $(get $T/bpoll2.out scan_ms_mean)")"

if [ "$VARIANTS" = 1 ]; then
        echo
        row "variants (300 samples each, us)" "exec p50/p99" "event->set p50/p99" "rename p50/p99; daemon runq wait/wakeup"
        for v in other nice info journal; do
                f=$T/var-$v.out
                [ -f "$f" ] || continue
                case $v in
                other) name="SCHED_OTHER nice 0 (no unit policy)" ;;
                nice) name="SCHED_OTHER nice -10" ;;
                info) name="FIFO 1, --log-level info (stderr to a file)" ;;
                journal) name="FIFO 1, --log-level info to journald" ;;
                esac
                row "$name" "$(get $f exec2pinned_p50_us)/$(get $f exec2pinned_p99_us)" \
                        "$(get $f perf_event2set_p50_us)/$(get $f perf_event2set_p99_us)" \
                        "$(get $f rename_p50_us)/$(get $f rename_p99_us); $(get $f exec_daemon_runq_wait_us_per_wakeup)"
        done
fi
# ---- the event-cost goals: pinnerd beside TuneD -----------------------------
# per1k OUT: daemon CPU (ms) per 1,000 storm fork+execs; perev: per event its
# own connector listener saw (us); wps: voluntary context switches per spawn.
per1k() { calc "%.1f" "$(get "$1" storm_daemon_cpu_ns) / 1e6 / ($(get "$1" storm_forks) / 1000)"; }
perev() { calc "%.1f" "$(get "$1" storm_daemon_cpu_ns) / 1000 / $(get "$1" storm_seen_events)"; }
wps() { calc "%.2f" "$(get "$1" storm_daemon_wakeups) / $(get "$1" storm_forks)"; }
# before_main OUT / main2p99 OUT: sequential execs pinned before main(), and
# main() -> pinned p99 (0 for those pinned before).
before_main() { echo "$(get "$1" first_check_pinned)/$(get "$1" reports)"; }
echo
row "event cost and drift (issue 12)" "pinnerd" "goal" "result"
row "-------------------------------" "-------" "----" "------"
P1K=$(per1k $S)
row "storm: daemon CPU per 1,000 fork+exec (ms)" "$P1K" "<= 15" "$(le "$P1K" 15)"
row "  per event its listener saw (us); wakeups per spawn" "$(perev $S); $(wps $S)" "" "info"
for f in false true; do
        TO=$T/tuned-$f.out
        [ -f "$TO" ] || continue
        if [ -n "$(get "$TO" tuned_skipped)" ]; then
                row "TuneD" "not run" "" "tuned-setup.sh could not install it"
                break
        fi
        if [ -n "$(get "$TO" tuned_failed)" ]; then
                row "TuneD perf_process_fork=$f" "failed" "" "never pinned; see its log (BENCH_KEEP=1)"
                continue
        fi
        t1k=$(per1k "$TO")
        row "TuneD fork=$f: CPU per 1,000 fork+exec (ms)" "$t1k" ">= 8x pinnerd" \
                "$(awk -v t="$t1k" -v p="$P1K" 'BEGIN { r = (p > 0 ? t / p : 0); printf "%.1fx %s", r, (r >= 8 ? "PASS" : "MISS") }')"
        row "  per event (us); wakeups per spawn" "$(perev "$TO"); $(wps "$TO")" "" "info"
        row "  its storm processes pinned" "$(get "$TO" storm_long_pinned)/$(get "$TO" storm_long)" "" "info"
        row "  sequential execs pinned before main(); never (200 ms)" "$(before_main "$TO"); $(get "$TO" unpinned)" "" "info"
        row "  main() -> pinned p99 / max (us)" "$(get "$TO" main2pinned_p99_us) / $(get "$TO" main2pinned_max_us)" "" "info"
        row "  idle ${IDLE_SEC} s: wakeups; RSS (MiB)" "$(get "$TO" idle_voluntary); $(calc "%.1f" "$(get "$TO" tuned_rss_kib) / 1024")" "" "info"
        [ -n "$(get "$TO" tuned_perf_thread_died)" ] && row "  TuneD's perf thread died (exception)" "yes" "" "its figures are partial"
done
v=$(before_main $E)
row "sequential execs pinned before main(), notice" "$v" "all" \
        "$([ "$(get $E first_check_pinned)" = "$(get $E reports)" ] && echo PASS || echo MISS)"
v=$(get $E main2pinned_p99_us)
row "  main() -> pinned p99 / max (us)" "$v / $(get $E main2pinned_max_us)" "p99 <= 20" "$(le "$v" 20)"
for v in info journal; do
        f=$T/var-$v.out
        [ -f "$f" ] || continue
        case $v in
        info) name="journald off (info records to a file)" ;;
        journal) name="journald on (info records, as the unit)" ;;
        esac
        row "$name: before main()" "$(before_main "$f")" "all" \
                "$([ "$(get "$f" first_check_pinned)" = "$(get "$f" reports)" ] && echo PASS || echo MISS)"
        p=$(get "$f" main2pinned_p99_us)
        row "  main() -> pinned p99 / max (us)" "$p / $(get "$f" main2pinned_max_us)" "p99 <= 30" "$(le "$p" 30)"
done
X=$T/escape.out
row "escaped thread: drift events from" "$(get $X drift_events)" "bpf|tracepoint" \
        "$(case "$(get $X drift_events)" in bpf | tracepoint) echo PASS ;; *) echo MISS ;; esac)"
if [ "$(get $X escape_n)" -gt 0 ] 2>/dev/null; then
        v=$(get $X escape_p99_us)
        row "  other's sched_setaffinity -> re-pinned p99 (us)" "$v" "<= 1000" "$(le "$v" 1000)"
        row "  p50 / max (us); re-pinned / tries" "$(get $X escape_p50_us) / $(get $X escape_max_us); $(get $X escape_n)/$(get $X escape_tries)" "" "info"
else
        row "  other's sched_setaffinity -> re-pinned" "never (1 s)" "<= 1000 us" "MISS"
fi
# ---- memory that follows the CPUs: its own daemon and process ---------------------
stop_daemon
sh "$HERE/memory.sh" "$BUILD" || exit 1
# The guarantee = exec rows and each drift-event source (their own daemons).
sh "$HERE/guarantee.sh" "$BUILD"
# ---- 11. the shield: a CPU owned by a spinner, against no shield and tuna ----
if [ "${BENCH_SHIELD:-1}" = 1 ]; then
        sh "$HERE/shield.sh" "$BUILD"
fi
echo
echo "raw key=value output: rerun with BENCH_KEEP=1 and look in the work directory"
exit 0
