#!/bin/bash
# `list` of more threads than an answer may hold (1 MiB for a non-root
# caller, ~10,000 rows): the rows that fit, a line saying how many more
# there are and how to ask for fewer, and the skip reasons of all of them;
# the same for JSON, with the line on stderr. Before, nobody's list of its
# own 20,000-thread process failed with "No buffer space available" after a
# megabyte of rows. Root's list of it is whole, and its table is rendered in
# slices, so root's status is not held behind nobody's list either.
. "$(dirname "$0")/lib.sh"
need_root
command -v chrt >/dev/null || skip "needs chrt to run the daemon at SCHED_FIFO 1"
NTHREADS=${LIST_THREADS:-20000}
MAX_MS=${LIST_MAX_MS:-150}
[ "$(ulimit -u)" = unlimited ] || [ "$(ulimit -u)" -gt $((NTHREADS + 200)) ] || skip "RLIMIT_NPROC $(ulimit -u) is below $NTHREADS threads"
[ "$(cat /proc/sys/kernel/threads-max)" -gt $((NTHREADS * 2)) ] || skip "threads-max is too small for $NTHREADS threads"

name=$(unique_comm lb)
nobody_setup "$HELPERS/manythreads:$name"

write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:lb]
comm = $name
cpus = 0-1"
start_daemon_fifo --log-level info

"${NOBODY[@]}" "$T/$name" "$NTHREADS" 300 >"$T/mt.out" 2>&1 &
mtp=$!
cleanup_add "kill -KILL $mtp"
wait_until 60 "nobody's $NTHREADS-thread process" grep -q '^ready' "$T/mt.out"
wait_until 60 "the rule to take its $NTHREADS threads" sh -c "[ \$('$PINNERCTL' --socket '$SOCK' status --json | jq -r .managed_threads) -ge $NTHREADS ]"

base=$(status_slowest true) || exit 1
max=$(status_slowest "${NOBODY[@]}" "$T/pinnerctl" --socket "$SOCK" list) || exit 1
echo "root's slowest status: $max ms while nobody lists $NTHREADS threads, $base ms alone"
[ "$max" -le $((base + MAX_MS)) ] || fail "nobody's list held root's status $max ms (alone: $base ms)"
ok "root is answered at once while nobody lists $NTHREADS threads"

listed=$(grep -cE "^ *$mtp +[0-9]+ +$name " "$T/out")
more=$(sed -n 's/^\([0-9]*\) more threads not listed: an answer to a non-root caller is at most 1 MiB; name one process (list PID) or rule (list --rule NAME)$/\1/p' "$T/out")
[ -n "$more" ] || fail "nobody's list does not say what it left out: $(tail -n 3 "$T/out")"
[ "$listed" -ge 1000 ] || fail "nobody's list shows $listed rows"
[ $((listed + more)) -ge "$NTHREADS" ] || fail "nobody's list: $listed rows and $more more, of $NTHREADS"
widths=$(grep -E "^ *$mtp +[0-9]+ +$name " "$T/out" | awk -v n="$name" '{ print index($0, n) }' | sort -u | wc -l)
[ "$widths" = 1 ] || fail "nobody's list: rows not aligned ($widths different columns)"
grep -qE "^$listed threads$" "$T/out" || fail "nobody's list: no count line: $(tail -n 2 "$T/out")"
[ ! -s "$T/err" ] || fail "nobody's list said on stderr: $(cat "$T/err")"
ok "nobody's list: $listed rows that fit, and $more more said ($(wc -c <"$T/out") bytes)"

"${NOBODY[@]}" "$T/pinnerctl" --socket "$SOCK" list --json >"$T/json" 2>"$T/err" || fail "nobody's list --json: $(cat "$T/err")"
n=$(jq --argjson p "$mtp" '[.[] | select(.pid == $p)] | length' "$T/json") || fail "nobody's list --json is not JSON"
grep -qE "[0-9]+ more threads not listed: an answer to a non-root caller" "$T/err" || fail "nobody's list --json: nothing said of the rest: $(cat "$T/err")"
[ "$n" -ge 1000 ] || fail "nobody's list --json has $n rows"
ok "nobody's list --json: $n rows, and on stderr: $(cat "$T/err")"

ctl list >"$T/root" 2>"$T/err" || fail "root's list: $(cat "$T/err")"
n=$(grep -cE "^ *$mtp +[0-9]+ +$name " "$T/root")
[ "$n" -ge "$NTHREADS" ] || fail "root's list shows $n of $NTHREADS threads"
grep -q "not listed" "$T/root" && fail "root's list left rows out"
ok "root's list shows all $n"
kill -0 "$DAEMON_PID" || fail "the daemon died"
