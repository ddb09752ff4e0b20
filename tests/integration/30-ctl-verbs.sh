#!/bin/bash
# pinnerctl against the real daemon: status, list, explain, rescan, check,
# and the exit codes a script relies on (1 no such pid / bad config,
# 2 bad usage, 3 daemon unreachable, 4 permission denied).
. "$HERE/lib.sh"
need_root
need_cpus 2
command -v jq >/dev/null || skip "needs jq to validate --json output"

name=$(unique_comm v)
other=$(unique_comm n)

# check runs without any daemon: nothing is listening yet.
cat >"$T/good.conf" <<EOF
[pinnerd]
restore = yes
[rule:r30]
comm = $name
cpus = 1
[rule:r30-idle]
comm = ${name}zz
cpus = 0
EOF
printf '[rule:broken]\ncomm = x\nfrobnicate = 1\ncpus = 1-zz\n' >"$T/bad.conf"
chmod 0644 "$T/good.conf" "$T/bad.conf"
out=$("$PINNERCTL" --socket "$T/nobody-here" check "$T/good.conf" 2>&1)
rc=$?
expect_eq "$rc" 0 "check good config: exit status"
# FILE replaces the main file; the drop-in directory is pinnerd's default,
# or none with --config-dir '', and the files read are named.
out=$("$PINNERCTL" --socket "$T/nobody-here" check --config-dir '' "$T/good.conf" 2>&1)
expect_eq "$out" "configuration OK: 2 rules (files read: $T/good.conf)" "check good config: output"
out=$("$PINNERCTL" --socket "$T/nobody-here" check "$T/bad.conf" 2>&1)
rc=$?
expect_eq "$rc" 1 "check bad config: exit status"
grep -qF "$T/bad.conf:3:" <<<"$out" || fail "check: no '$T/bad.conf:3:' for the unknown key in: $out"
grep -qF "$T/bad.conf:4:" <<<"$out" || fail "check: no '$T/bad.conf:4:' for the bad cpulist in: $out"
ok "check bad config names file:line of each error"

# Unreachable daemon.
"$PINNERCTL" --socket "$T/nobody-here" status >"$T/out" 2>&1
expect_eq "$?" 3 "status without a daemon: exit status"
grep -q . "$T/out" || fail "status without a daemon printed nothing"

spawn_named "$name"
pid=$SPAWNED_PID
orig=$(mask "$pid")
spawn_named "$other"
opid=$SPAWNED_PID

write_conf "$(cat "$T/good.conf")"
start_daemon
wait_mask "$pid" 1

# ---- status ----
out=$(ctl status)
expect_eq "$?" 0 "status: exit status"
ev=$(awk '/^events:/ {print $2}' <<<"$out")
expect_eq "$ev" proc-connector "status: events line"
threads=$(awk '$1 == "r30" {print $3}' <<<"$out")
expect_eq "$threads" 1 "status: threads of rule r30"
threads=$(awk '$1 == "r30-idle" {print $3}' <<<"$out")
expect_eq "$threads" 0 "status: threads of rule r30-idle"
grep -Eq '^counters:.*applied [1-9]' <<<"$out" || fail "status: no applied counter >= 1 in: $out"

ctl status --json >"$T/status.json" || fail "status --json: exit $?"
jq -e . "$T/status.json" >/dev/null || fail "status --json is not valid JSON: $(cat "$T/status.json")"
jq -e '.event_source == "proc-connector"
        and (.counters | has("events") and has("lost_event_rescans") and has("applied") and has("restored")
             and has("skipped") and has("failed") and has("drift"))
        and .counters.applied >= 1
        and ([.rules[] | select(.name == "r30") | .threads] == [1])
        and ([.rules[] | select(.name == "r30-idle") | .threads] == [0])
        and (.online_cpus | type == "string") and (.config_files | length >= 1)' \
        "$T/status.json" >/dev/null || fail "status --json lacks what the SPEC lists: $(cat "$T/status.json")"
ok "status --json: event source, counters, rules with thread counts"

# ---- list ----
out=$(ctl list)
expect_eq "$?" 0 "list: exit status"
row=$(awk -v t="$pid" '$2 == t' <<<"$out")
[ -n "$row" ] || fail "list: no row for tid $pid in: $out"
read -r l_pid l_tid l_comm l_thread l_rule l_req l_eff l_orig l_pol l_skip <<<"$row"
expect_eq "$l_pid/$l_comm/$l_rule/$l_req/$l_eff/$l_orig/$l_pol/$l_skip" "$pid/$name/r30/1/1/$orig/-/-" \
        "list: pid/process/rule/requested/effective/original/policy/skipped"
expect_eq "$(head -n 1 <<<"$out" | tr -s ' ' | sed 's/^ //')" \
        "PID TID PROCESS THREAD RULE REQUESTED EFFECTIVE ORIGINAL POLICY SKIPPED" "list: the columns"
awk -v t="$opid" '$2 == t {found = 1} END {exit !found}' <<<"$out" && fail "list shows the unmatched tid $opid"
ctl list --json >"$T/list.json" || fail "list --json: exit $?"
jq -e --argjson t "$pid" --arg c "$name" '[.[] | select(.tid == $t)] | length == 1 and
        (.[0] | .pid == $t and .comm == $c and .rule == "r30" and .requested == "1" and .effective == "1")' \
        "$T/list.json" >/dev/null || fail "list --json lacks tid $pid with effective 1: $(cat "$T/list.json")"
ok "list --json: tid $pid with effective CPUs 1"

# ---- explain ----
out=$(ctl explain "$pid")
expect_eq "$?" 0 "explain: exit status"
for pat in "tid $pid \"$name\": rule r30" "requested 1" "∩ cpuset" "∩ online" "− isolated" "effective 1"; do
        grep -qF -- "$pat" <<<"$out" || fail "explain $pid: no '$pat' in: $out"
done
# The steps come in order: requested, cpuset, online, isolated, effective.
order=$(grep -nE '^  (requested|∩ cpuset|∩ online|− isolated|effective) ' <<<"$out" | cut -d: -f1 | tr '\n' ' ')
sorted=$(tr ' ' '\n' <<<"$order" | grep . | sort -n | tr '\n' ' ')
[ "$(wc -w <<<"$order")" = 5 ] && [ "$order" = "$sorted" ] || fail "explain: mask steps missing or out of order: $out"
ok "explain: rule and the mask steps requested → ∩ cpuset → ∩ online → − isolated = effective"
ctl explain --json "$pid" >"$T/explain.json" || fail "explain --json: exit $?"
jq -e --argjson t "$pid" '.pid == $t and (.threads | length == 1) and .threads[0].rule == "r30"
        and .threads[0].steps.requested == "1" and .threads[0].steps.effective == "1"
        and (.threads[0].steps | has("after_cpuset") and has("after_online"))' \
        "$T/explain.json" >/dev/null || fail "explain --json: $(cat "$T/explain.json")"
ok "explain --json: valid, with the steps"

out=$(ctl explain "$opid")
expect_eq "$?" 0 "explain of an unmatched process: exit status"
grep -qF "no rule matches" <<<"$out" || fail "explain $opid: no 'no rule matches' in: $out"
grep -qF "rule r30: comm '$other' does not match '$name'" <<<"$out" ||
        fail "explain $opid: does not say why r30 did not match: $out"
# Both rules fail on the process's name: said once for the process, not per thread.
ctl explain --json "$opid" | jq -e '.threads[0].rule == null and (.not_matched | length == 2)
        and (.threads[0].not_matched | length == 0)' >/dev/null ||
        fail "explain --json $opid: $(ctl explain --json "$opid")"
ok "explain of an unmatched process says why no rule matched"

out=$(ctl explain 999999999 2>&1)
expect_eq "$?" 1 "explain of no such pid: exit status"
grep -q 999999999 <<<"$out" || fail "explain 999999999 does not name the pid: $out"
ctl explain notapid >/dev/null 2>&1
expect_eq "$?" 2 "explain of a non-number: exit status"

# ---- rescan, unknown verb ----
out=$(ctl rescan)
expect_eq "$?" 0 "rescan: exit status"
grep -q . <<<"$out" || fail "rescan printed nothing"
ctl frobnicate >/dev/null 2>&1
expect_eq "$?" 2 "unknown verb: exit status"
ctl status extra >/dev/null 2>&1
expect_eq "$?" 2 "status with a stray argument: exit status"

# ---- not root: the socket is 0666, reading verbs work, changing ones are refused ----
expect_eq "$(stat -c %a "$SOCK")" 666 "socket mode"
asnobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
if asnobody test -x "$PINNERCTL"; then
        asnobody "$PINNERCTL" --socket "$SOCK" status >"$T/out" 2>&1
        expect_eq "$?" 0 "status as nobody: exit status"
        grep -q '^events:' "$T/out" || fail "status as nobody: $(cat "$T/out")"
        asnobody "$PINNERCTL" --socket "$SOCK" list >/dev/null 2>&1
        expect_eq "$?" 0 "list as nobody: exit status"
        asnobody "$PINNERCTL" --socket "$SOCK" reload >"$T/out" 2>&1
        expect_eq "$?" 4 "reload as nobody: exit status"
        grep -qi 'permission denied\|root' "$T/out" || fail "reload as nobody does not say why: $(cat "$T/out")"
        asnobody "$PINNERCTL" --socket "$SOCK" rescan >/dev/null 2>&1
        expect_eq "$?" 4 "rescan as nobody: exit status"
else
        echo "note: nobody cannot execute $PINNERCTL (build directory not world-readable); non-root part not run"
fi

# ---- daemon gone: exit 3 ----
stop_daemon
expect_eq "$(mask "$pid")" "$orig" "mask restored at stop"
ctl status >/dev/null 2>&1
expect_eq "$?" 3 "status after the daemon stopped: exit status"
exit 0
