#!/bin/bash
# Journald records, end to end: a real journald (started here when none
# runs), the daemon with --log-target journal, and journalctl reading back
# the structured fields: SYSLOG_IDENTIFIER, PRIORITY, MESSAGE, MESSAGE_ID
# (as pinnerd(8) lists it), PINNERD_EVENT, and the thread fields.
# Covered: started, applied, skipped, drift, rescan, reloaded, reload-failed,
# restored, stopping. Not here: failed (needs an EPERM root cannot provoke
# cheaply) and events-lost (needs a proc-connector overflow: test 19).
. "$HERE/lib.sh"
need_root
need_cpus 2
command -v jq >/dev/null || skip "needs jq to read journalctl -o json"
command -v journalctl >/dev/null || skip "needs journalctl"
JOURNALD=/lib/systemd/systemd-journald
MAN=$HERE/../../man/pinnerd.8
[ -f "$MAN" ] || fail "no $MAN to take the MESSAGE_IDs from"

# ---- a journald ----
if pgrep -x systemd-journal >/dev/null && [ -S /run/systemd/journal/socket ]; then
        echo "using the running journald (pid $(pgrep -x systemd-journal | head -n 1))"
else
        [ -x "$JOURNALD" ] || skip "no journald running and no $JOURNALD to start"
        [ -e /run/systemd/journal ] && had_dir=1 || had_dir=0
        [ -e /run/log/journal ] && had_log=1 || had_log=0
        "$JOURNALD" >"$T/journald.log" 2>&1 &
        jpid=$!
        # Restore the previous state: stop it, and remove what it created.
        [ $had_log = 0 ] && cleanup_add "rm -rf /run/log/journal"
        [ $had_dir = 0 ] && cleanup_add "rm -rf /run/systemd/journal"
        cleanup_add "kill $jpid; wait $jpid"
        wait_until 10 "journald to listen on /run/systemd/journal/socket" test -S /run/systemd/journal/socket
        # journald is up once what we send comes back.
        tag="pinnerd-it-$$"
        echo probe | systemd-cat -t "$tag"
        wait_until 10 "journald to store a probe record" sh -c "journalctl --no-pager -q -t '$tag' | grep -q probe"
        echo "started journald (pid $jpid)"
fi

# MESSAGE_ID per event, as pinnerd(8) documents it: a ".B event" tag line
# followed by "MESSAGE_ID=...".
man_id() {
        sed 's/\\-/-/g' "$MAN" | awk -v ev="$1" '$0 == ".B " ev {getline; if (sub(/^MESSAGE_ID=/, "")) {print; exit}}'
}
for ev in started applied skipped drift rescan reloaded reload-failed restored stopping; do
        [ -n "$(man_id "$ev")" ] || fail "pinnerd(8) lists no MESSAGE_ID for $ev"
done

a=$(unique_comm a)
s=$(unique_comm s)
spawn_named "$a"; pa=$SPAWNED_PID
spawn_named "$s"; ps=$SPAWNED_PID
orig=$(mask "$pa")
[ "$orig" != 1 ] || fail "test bug: $a already on CPU 1"
maxcpu=$(($(nproc --all) + 5))

write_conf "[pinnerd]
restore = yes
verify = 1
drift = reapply
[rule:ra$$]
comm = $a
cpus = 1
[rule:rs$$]
comm = $s
cpus = $maxcpu"
"$PINNERD" --config "$T/pinnerd.conf" --config-dir "$T/d" --socket "$SOCK" \
        --log-target journal --log-level debug >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
wait_until 10 "pinnerd to answer on $SOCK" "$PINNERCTL" --socket "$SOCK" status
wait_mask "$pa" 1
[ -s "$T/daemon.log" ] && fail "--log-target journal still wrote to stderr: $(cat "$T/daemon.log")"

# drift: someone else moves the thread; pinnerd notices within verify = 1 s.
taskset -p -c 0 "$pa" >/dev/null || fail "taskset failed"
wait_until 5 "drift to be re-applied" sh -c "[ \"\$(awk '/^Cpus_allowed_list:/ {print \$2}' /proc/$pa/status)\" = 1 ] && $PINNERCTL --socket $SOCK status --json | grep -q '\"drift\":[1-9]'"
ctl rescan >/dev/null || fail "rescan: exit $?"
ctl reload >/dev/null || fail "good reload: exit $?"
cp "$T/pinnerd.conf" "$T/good.conf"
printf '%s\nfrobnicate = 1\n' "$(cat "$T/good.conf")" >"$T/pinnerd.conf"
ctl reload >/dev/null 2>&1
expect_eq "$?" 1 "broken reload: exit status"
cp "$T/good.conf" "$T/pinnerd.conf"
dpid=$DAEMON_PID
stop_daemon
expect_eq "$DAEMON_STATUS" 0 "pinnerd exit status"
expect_eq "$(mask "$pa")" "$orig" "mask restored at stop"

# ---- read it back ----
J() { journalctl --no-pager -o json _PID="$dpid" "$@"; }
wait_until 10 "the stopping record in the journal" sh -c "journalctl --no-pager -o json _PID=$dpid PINNERD_EVENT=stopping | grep -q ."
J >"$T/all.json"
jq -e -s 'length > 0' "$T/all.json" >/dev/null || fail "no records from pid $dpid"
# Every record: identifier, priority, message; every event record its ID.
jq -e -s 'all(.[]; .SYSLOG_IDENTIFIER == "pinnerd" and (.PRIORITY | test("^[0-7]$")) and (.MESSAGE | length > 0))' \
        "$T/all.json" >/dev/null || fail "a record lacks SYSLOG_IDENTIFIER=pinnerd, PRIORITY or MESSAGE: $(jq -c . "$T/all.json" | head)"
ok "every record has SYSLOG_IDENTIFIER=pinnerd, PRIORITY, MESSAGE"

# check_event EVENT PRIORITY JQ-CONDITION: a record of EVENT, with the
# MESSAGE_ID of pinnerd(8) and PRIORITY, satisfying the condition.
check_event() {
        local ev=$1 prio=$2 cond=${3:-true} id
        id=$(man_id "$ev")
        jq -e -s --arg ev "$ev" '[.[] | select(.PINNERD_EVENT == $ev)] | length > 0' "$T/all.json" >/dev/null ||
                fail "no $ev record; events seen: $(jq -r .PINNERD_EVENT "$T/all.json" | sort | uniq -c | tr '\n' ' ')"
        jq -e -s --arg ev "$ev" --arg id "$id" 'all(.[] | select(.PINNERD_EVENT == $ev); .MESSAGE_ID == $id)' \
                "$T/all.json" >/dev/null ||
                fail "$ev: MESSAGE_ID $(jq -r -s --arg ev "$ev" '[.[] | select(.PINNERD_EVENT == $ev) | .MESSAGE_ID] | unique | join(",")' "$T/all.json"), pinnerd(8) says $id"
        jq -e -s --arg ev "$ev" --arg p "$prio" --argjson pa "$pa" --argjson ps "$ps" \
                --arg a "$a" --arg s "$s" --arg orig "$orig" --arg rule_a "ra$$" --arg rule_s "rs$$" \
                "[.[] | select(.PINNERD_EVENT == \$ev and .PRIORITY == \$p) | select($cond)] | length > 0" \
                "$T/all.json" >/dev/null ||
                fail "$ev: no record with PRIORITY $prio and $cond: $(jq -c --arg ev "$ev" 'select(.PINNERD_EVENT == $ev) | with_entries(select(.key | test("^(PINNERD_|PRIORITY|MESSAGE)")))' "$T/all.json")"
        ok "$ev: MESSAGE_ID $id, PRIORITY $prio, fields as expected"
}
thread_is() { echo ".PINNERD_PID == (\$$1 | tostring) and .PINNERD_TID == (\$$1 | tostring) and .PINNERD_COMM == \$$2 and .PINNERD_THREAD == \$$2 and .PINNERD_RULE == \$$3"; }

check_event started 6
check_event applied 6 "$(thread_is pa a rule_a) and .PINNERD_CPUS == \"1\" and .PINNERD_REQUESTED == \"1\" and .PINNERD_PREVIOUS == \$orig"
check_event skipped 5 "$(thread_is ps s rule_s) and (.PINNERD_REASON | length > 0) and (has(\"PINNERD_CPUS\") | not)"
check_event drift 4 "$(thread_is pa a rule_a) and .PINNERD_CPUS == \"1\" and .PINNERD_PREVIOUS == \"0\" and (.PINNERD_REASON | length > 0)"
check_event applied 6 "$(thread_is pa a rule_a) and .PINNERD_CPUS == \"1\" and .PINNERD_PREVIOUS == \"0\""
check_event rescan 7
check_event reloaded 6
check_event reload-failed 3 "(.PINNERD_REASON | test(\"frobnicate\"))"
check_event restored 6 "$(thread_is pa a rule_a) and .PINNERD_CPUS == \$orig and .PINNERD_PREVIOUS == \"1\" and .PINNERD_REASON == \"pinnerd stopping\""
check_event stopping 6
echo "skipped reason: $(jq -r 'select(.PINNERD_EVENT == "skipped") | .PINNERD_REASON' "$T/all.json" | head -n 1)"

# Records about the rules' threads are found by rule and by MESSAGE_ID.
n=$(journalctl --no-pager -o json -t pinnerd _PID="$dpid" PINNERD_RULE="ra$$" | jq -s 'map(.PINNERD_EVENT) | unique | join(",")')
expect_eq "$n" '"applied,drift,restored"' "journalctl -t pinnerd PINNERD_RULE=ra$$ finds its applied, drift and restored records"
n=$(journalctl --no-pager -o json MESSAGE_ID="$(man_id skipped)" _PID="$dpid" | jq -s --arg s "$s" '[.[] | select(.PINNERD_COMM == $s)] | length')
expect_eq "$n" 1 "journalctl MESSAGE_ID=<skipped> finds the one skipped record"
exit 0
