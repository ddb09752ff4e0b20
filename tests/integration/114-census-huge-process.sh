#!/bin/bash
# A user's `cpus` and `audit` walk every thread a slice at a time, also
# inside one process. nobody runs a process with 20,000 threads and asks
# `cpus` (and `audit`); meanwhile root asks `status` in a loop (the daemon
# at SCHED_FIFO 1, as the unit runs it). Before, the census took a whole
# process in one slice: listing 20,000 tids and their stat and affinity
# reads held the loop ~0.2 s, and since non-root work pauses accepting for
# 9 times its cost (budget.h), root's status waited up to 1.8 s. Now the
# tids are listed and walked a piece at a time, the leader's stat is its
# own task's (proc/PID/stat sums 20,000 threads' times: ~3.5 ms), and
# audit renders its table of 20,000 tasks in slices too (~40 ms at once):
# root's slowest status, watched until nobody's answer is out, went from
# 431 ms to ~20 ms for cpus and ~20-60 ms for audit (6-17 ms with no
# request of nobody's).
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
command -v chrt >/dev/null || skip "needs chrt to run the daemon at SCHED_FIFO 1"
NTHREADS=${CENSUS_THREADS:-20000}
# Root's slowest status while nobody's census runs, at most this much
# (ms) over its slowest while nobody asks nothing: a slice is 0.2 ms; the
# rest is the shared share's pauses and this shared machine's noise.
MAX_MS=${CENSUS_MAX_MS:-150}

nobody_setup "$HELPERS/manythreads"
[ "$(ulimit -u)" = unlimited ] || [ "$(ulimit -u)" -gt $((NTHREADS + 200)) ] || skip "RLIMIT_NPROC $(ulimit -u) is below $NTHREADS threads"
[ "$(cat /proc/sys/kernel/threads-max)" -gt $((NTHREADS * 2)) ] || skip "threads-max is too small for $NTHREADS threads"

write_conf "[pinnerd]
rescan = 0
verify = 0"
start_daemon_fifo --log-level info

"${NOBODY[@]}" "$T/manythreads" "$NTHREADS" 300 >"$T/mt.out" 2>&1 &
mtp=$!
cleanup_add "kill -KILL $mtp"
wait_until 60 "nobody's $NTHREADS-thread process" grep -q '^ready' "$T/mt.out"

base=$(status_slowest true) || exit 1
echo "root's slowest status while nobody asks nothing: $base ms"
for verb in "cpus --sample 0" "audit 0-1 --sample 0"; do
        # shellcheck disable=SC2086
        max=$(status_slowest "${NOBODY[@]}" "$T/pinnerctl" --socket "$SOCK" $verb) || exit 1
        echo "root's slowest status while nobody's $verb walks $NTHREADS threads: $max ms"
        [ "$max" -le $((base + MAX_MS)) ] || fail "nobody's $verb held root's status $max ms (alone: $base ms)"
        ok "root is answered at once while nobody's $verb walks a $NTHREADS-thread process"
done
# The answer rendered in slices is whole up to what a non-root answer may
# hold (1 MiB): nobody's threads fill the table as far as they fit, aligned,
# a line says how many more there are, and the summary still counts them
# all; the same in JSON, with tasks_omitted.
grep -q "^audit of CPUs 0-1" "$T/out" || fail "audit's text has no heading: $(head -c 300 "$T/out")"
listed=$(grep -cE "^ *$mtp +[0-9]+ +manythreads " "$T/out")
more=$(sed -n 's/^  \.\.\. and \([0-9]*\) more not listed: an answer to a non-root caller is at most 1 MiB$/\1/p' "$T/out")
[ "$listed" -ge 1000 ] || fail "audit's text lists $listed of nobody's threads"
[ $((listed + ${more:-0})) -ge "$NTHREADS" ] || fail "audit's text lists $listed and says ${more:-no} more of $NTHREADS threads"
widths=$(grep -E "^ *$mtp +[0-9]+ +manythreads " "$T/out" | awk '{ print index($0, "manythreads") }' | sort -u | wc -l)
[ "$widths" = 1 ] || fail "audit's rows are not aligned ($widths different columns)"
grep -qE "^INTRUDERS: [0-9]{5,} tasks" "$T/out" || fail "audit's summary does not count every thread: $(tail -n 3 "$T/out")"
echo "nobody's audit lists $listed threads and says $more more; $(wc -c <"$T/out") bytes"
"${NOBODY[@]}" "$T/pinnerctl" --socket "$SOCK" --json audit 0-1 --sample 0 >"$T/json" 2>"$T/err"
case $? in 0 | 1) ;; *) fail "nobody's audit --json: $(head -c 300 "$T/err")" ;; esac
python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))
n = sum(1 for t in a["tasks"] if t["pid"] == int(sys.argv[2]))
print("nobody\x27s audit --json lists %d threads and omits %d" % (n, a["tasks_omitted"]))
sys.exit(0 if n >= 1000 and n + a["tasks_omitted"] >= int(sys.argv[3]) else "not whole")' "$T/json" "$mtp" "$NTHREADS" || fail "audit --json is not whole"
ok "audit's answer, rendered in slices, lists nobody's threads up to 1 MiB and counts the rest, in text and JSON"
kill -0 "$DAEMON_PID" || fail "the daemon died"
