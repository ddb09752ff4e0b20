#!/bin/bash
# explain and list of real processes, as an administrator reads them: a
# 40-thread process no rule matches is explained in a few lines (what is about
# the process once, the 40 identical threads as one group), --thread TID
# explains one thread, --json has every thread with the process-level reasons
# once; list PID and list --rule NAME filter, with stable columns.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
command -v jq >/dev/null || skip "needs jq to read --json"
[ -x "$HELPERS/manythreads" ] || fail "$HELPERS/manythreads is not built"

u=$(unique_comm u) m=$(unique_comm m)
cp "$HELPERS/manythreads" "$T/$u"
cp "$HELPERS/manythreads" "$T/$m"
"$T/$u" 40 300 >"$T/u.out" 2>&1 &
pu=$!
cleanup_add "kill $pu"
"$T/$m" 3 300 >"$T/m.out" 2>&1 &
pm=$!
cleanup_add "kill $pm"
wait_until 10 "the two processes" sh -c "grep -q ready '$T/u.out' && grep -q ready '$T/m.out'"

write_conf "[rule:r85-other]
comm = nothing85
cpus = 0
[rule:r85-threads]
comm = $u
threads = nomatch*
cpus = 0
[rule:r85-m]
comm = $m
cpus = 1"
start_daemon
for t in /proc/$pm/task/*; do wait_mask "${t##*/}" 1; done

# ---- explain of the unmatched 40-thread process: a few lines ----
out=$(ctl explain "$pu")
expect_eq "$?" 0 "explain $pu: exit status"
echo "$out"
[ "$(wc -l <<<"$out")" -le 12 ] || fail "explain of 40 identical threads is $(wc -l <<<"$out") lines"
expect_eq "$(grep -c "rule r85-other: comm '$u' does not match 'nothing85'" <<<"$out")" 1 "the process-level reason, once"
first=$(ls /proc/$pu/task | sort -n | head -n 1) last=$(ls /proc/$pu/task | sort -n | tail -n 1)
grep -qx "40 threads (tids $first-$last: \"$u\"): no rule matches" <<<"$out" ||
        grep -qx "40 threads (tids [0-9,-]*: \"$u\"): no rule matches" <<<"$out" || fail "no group of the 40 threads: $out"
expect_eq "$(grep -c "rule r85-threads: thread name '$u' does not match 'nomatch\*'" <<<"$out")" 1 \
        "the thread-level reason, once for the group"
ok "explain $pu: 40 threads in $(wc -l <<<"$out") lines"

# ---- --thread TID: that thread only ----
tid=$(ls /proc/$pu/task | sort -n | sed -n 5p)
out=$(ctl explain "$pu" --thread "$tid")
expect_eq "$?" 0 "explain --thread: exit status"
grep -qx "tid $tid \"$u\": no rule matches" <<<"$out" || fail "explain --thread $tid: $out"
expect_eq "$(grep -c '^tid \|threads (tids' <<<"$out")" 1 "explain --thread shows one thread"
ctl explain "$pu" --thread "$pm" >"$T/err" 2>&1
expect_eq "$?" 1 "explain --thread of another process's thread: exit status"
grep -q "no thread $pm in process $pu" "$T/err" || fail "explain --thread $pm: $(cat "$T/err")"
ctl explain "$pu" --thread x >/dev/null 2>&1
expect_eq "$?" 2 "explain --thread x: usage"
ctl status --thread 1 >/dev/null 2>&1
expect_eq "$?" 2 "--thread with status: usage"

# ---- --json: every thread, the process-level reason once ----
ctl explain --json "$pu" >"$T/ex.json" || fail "explain --json: exit $?"
jq -e '(.threads | length) == 40 and (.not_matched | length) == 2
        and ([.threads[] | .not_matched | length] | unique) == [1] and ([.threads[].rule] | unique) == [null]' \
        "$T/ex.json" >/dev/null || fail "explain --json: $(head -c 600 "$T/ex.json")"
ok "explain --json: 40 threads, the process-level reasons once"

# ---- list PID, list --rule ----
out=$(ctl list "$pm")
expect_eq "$(tail -n 1 <<<"$out")" "3 threads" "list $pm"
expect_eq "$(awk '$1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ {print $1}' <<<"$out" | sort -u)" "$pm" "list $pm: only its threads"
expect_eq "$(ctl list "$pu" | tail -n 1)" "0 threads" "list of an unmanaged process"
expect_eq "$(ctl list --rule r85-m | tail -n 1)" "3 threads" "list --rule r85-m"
expect_eq "$(ctl list --rule r85-other | tail -n 1)" "0 threads" "list --rule of a rule that matches nothing"
expect_eq "$(ctl list --rule r85-m "$pu" | tail -n 1)" "0 threads" "both filters: AND"
ctl list --rule r85-n >"$T/err" 2>&1
expect_eq "$?" 1 "list --rule of no such rule: exit status"
grep -q "no rule 'r85-n' in the configuration (did you mean 'r85-m'?)" "$T/err" || fail "list --rule r85-n: $(cat "$T/err")"
ctl list x >/dev/null 2>&1
expect_eq "$?" 2 "list x: usage"
ctl list --json --rule r85-m | jq -e --argjson p "$pm" 'length == 3 and all(.pid == $p and .action == "cpus")' >/dev/null ||
        fail "list --json --rule r85-m: $(ctl list --json --rule r85-m)"
ok "list PID and list --rule"
stop_daemon
exit 0
