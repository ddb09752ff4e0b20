#!/bin/bash
# A thread name may hold any byte but NUL, and any user names their own
# threads. Characters that reorder or hide text (U+202E RIGHT-TO-LEFT
# OVERRIDE, U+200B ZERO WIDTH SPACE) are escaped wherever people read:
# `list`, `explain`, the log line. JSON and the PINNERD_* fields stay exact.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2

C=$(unique_comm b)
RLO=$'\xe2\x80\xae'
ZWSP=$'\xe2\x80\x8b'
write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:names]
comm = $C
threads = w*
cpus = 1"
start_daemon
pt_start "$C" --threads 1 --name-prefix a
a0=$(pt_tid "$C" a0)
name="w${RLO}0/KVM${ZWSP}"
pt_cmd "$C" "rename $a0 $name"
wait_mask "$a0" 1

ctl list >"$T/list.txt"
grep -q "w\\\\u202e0/KVM\\\\u200b" "$T/list.txt" || fail "list does not show the name escaped: $(cat "$T/list.txt")"
grep -q "$RLO" "$T/list.txt" && fail "list printed a raw U+202E"
grep -q "$ZWSP" "$T/list.txt" && fail "list printed a raw U+200B"
ok "list: $(grep -o 'w\\u202e0/KVM\\u200b' "$T/list.txt" | head -n 1)"

ctl explain "$PT_PID" >"$T/explain.txt"
grep -q "$RLO" "$T/explain.txt" && fail "explain printed a raw U+202E"
grep -q 'w\\u202e0/KVM' "$T/explain.txt" || fail "explain does not show the name escaped: $(cat "$T/explain.txt")"
ok "explain escapes it too"

line=$(event_lines applied tid="$a0" | tail -n 1)
[ -n "$line" ] || fail "no applied record for tid $a0"
case $line in *"$RLO"* | *"$ZWSP"*) fail "the log line holds the raw characters: $line" ;; esac
ok "the log line escapes them"

ctl list --json >"$T/list.json"
got=$(jq -r --argjson t "$a0" '.[] | select(.tid == $t) | .thread' "$T/list.json")
expect_eq "$got" "$name" "list --json gives the exact name"
