#!/bin/bash
# Who may ask what. Root is served however many connections another user
# holds; a non-root uid gets at most 4 at once, the 5th is refused at once.
# For a non-root peer `explain` shows facts it could not read itself (exe of
# a root process) as `withheld`, and under hidepid `list` and `explain` do
# not show processes it cannot see in /proc. Root sees everything.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
PY=/usr/bin/python3
[ -x "$PY" ] || skip "needs $PY (the connection holder runs as nobody)"
command -v setpriv >/dev/null || skip "needs setpriv to run as nobody"

# Copies nobody can execute (the build tree may not be world-readable).
cp "$PINNERCTL" "$T/pinnerctl"
cp "$(dirname "$0")/../helpers/holdconn.py" "$T/holdconn.py"
chmod 0755 "$T/pinnerctl" "$T/holdconn.py"
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
NS=
asnobody() { ${NS:+nsenter -m -t "$NS" --} setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
nctl() { asnobody "$T/pinnerctl" --socket "$SOCK" "$@"; }
asnobody test -x "$T/pinnerctl" || skip "nobody cannot execute $T/pinnerctl"

C=$(unique_comm p)
write_conf "[pinnerd]
restore = yes
rescan = 0
verify = 0

[rule:by-exe]
comm = $C
exe = /nonexistent-pinnerd-test/*
cpus = 0

[rule:mine]
comm = $C
cpus = 1"
start_daemon

# ---- 70 idle connections of nobody: root's reload still works -------------------
# Not through the function: $! must be the holder itself, to kill it.
"${NOBODY[@]}" "$PY" "$T/holdconn.py" "$SOCK" 70 8 >"$T/hold70.out" 2>&1 &
hp=$!
cleanup_add "kill $hp"
wait_until 5 "nobody's 70 connections" grep -q '^opened' "$T/hold70.out"
ok "nobody holds: $(cat "$T/hold70.out")"
out=$(ctl reload 2>&1)
rc=$?
expect_eq "$rc" 0 "root's reload while nobody holds 70 connections: exit status ($out)"
grep -q '^reloaded' <<<"$out" || fail "root's reload: $out"
ctl status >/dev/null || fail "root's status while nobody holds 70 connections: exit $?"
ok "root's status answered too"
alive=$(awk '{print $4}' "$T/hold70.out")
[ "$alive" -le 4 ] || fail "nobody kept $alive of 70 connections; at most 4 per non-root uid"
ok "nobody kept $alive of 70 connections"
kill "$hp"
wait "$hp" 2>/dev/null

# ---- the 5th simultaneous connection of nobody is refused at once -----------------
sleep 0.3
"${NOBODY[@]}" "$PY" "$T/holdconn.py" "$SOCK" 4 3 --probe >"$T/hold5.out" 2>&1 &
hp=$!
cleanup_add "kill $hp"
wait_until 5 "the probe" grep -q '^probe' "$T/hold5.out"
grep -q '^opened 4 alive 4 ' "$T/hold5.out" || fail "nobody's first 4 connections were not all kept: $(cat "$T/hold5.out")"
grep -q '^probe refused' "$T/hold5.out" || fail "nobody's 5th connection was not refused: $(cat "$T/hold5.out")"
ms=$(awk '/^probe refused/ {print $4}' "$T/hold5.out")
[ "$ms" -lt 1000 ] || fail "nobody's 5th connection refused only after $ms ms"
ok "4 kept, the 5th refused after $ms ms"
# A connection of another uid is not counted against nobody.
ctl status >/dev/null || fail "root's status while nobody holds 4: exit $?"
kill "$hp"
wait "$hp" 2>/dev/null
sleep 0.3

# ---- explain: the exe of a root process is withheld from nobody --------------------
cp /bin/sleep "$T/$C"
(exec -a "not-the-path" "$T/$C" 3600) &
rootp=$!
cleanup_add "kill $rootp"
wait_until 5 "$T/$C to run" sh -c "[ \"\$(readlink /proc/$rootp/exe)\" = '$T/$C' ]"
wait_mask "$rootp" 1
asnobody readlink "/proc/$rootp/exe" >/dev/null 2>&1 && skip "nobody can read /proc/$rootp/exe here: nothing is withheld"
ok "nobody cannot readlink /proc/$rootp/exe"
out=$(ctl explain "$rootp")
grep -qF "$T/$C" <<<"$out" || fail "root's explain does not show the exe (the rule's exe mismatch): $out"
ok "root's explain shows the exe $T/$C"
out=$(nctl explain "$rootp" 2>&1)
rc=$?
expect_eq "$rc" 0 "nobody's explain of root's process: exit status"
grep -qF "$T/" <<<"$out" && fail "nobody's explain shows the exe path of a root process: $(grep -F "$T/" <<<"$out" | head -n 2)"
grep -q withheld <<<"$out" || fail "nobody's explain does not say the exe is withheld: $out"
ok "nobody's explain: exe withheld ($(grep withheld <<<"$out" | head -n 1 | sed 's/^ *//'))"
out=$(nctl explain --json "$rootp" 2>&1)
grep -qF "$T/" <<<"$out" && fail "nobody's explain --json shows the exe path: $out"
grep -q withheld <<<"$out" || fail "nobody's explain --json does not say withheld: $out"
ok "nobody's explain --json: exe withheld"

# ---- hidepid: what nobody cannot see in /proc is not listed or explained ------------
stop_daemon
# A mount namespace whose /proc has hidepid=2; the daemon and nobody's
# pinnerctl both run in it (the host's /proc is left alone).
unshare -m --propagation private sh -c 'mount -t proc -o hidepid=2 proc /proc && exec sleep 3600' &
NSH=$!
cleanup_add "kill $NSH"
wait_until 5 "the hidepid namespace" sh -c "nsenter -m -t $NSH -- grep -q 'hidepid' /proc/self/mountinfo"
printf '#!/bin/sh\nexec nsenter -m -t %s -- %s "$@"\n' "$NSH" "$PINNERD" >"$T/ns-pinnerd"
chmod 0755 "$T/ns-pinnerd"
NS=$NSH
asnobody test -d "/proc/$rootp" && skip "hidepid=2 does not hide root's processes from nobody here"
ok "under hidepid=2 nobody cannot see /proc/$rootp"
# nobody's own matching process, which it can see.
cp /bin/sleep "$T/${C}n"
chmod 0755 "$T/${C}n"
write_conf "[pinnerd]
restore = yes
rescan = 0
verify = 0

[rule:mine]
comm = $C*
cpus = 1"
"${NOBODY[@]}" "$T/${C}n" 3600 &
nobp=$!
cleanup_add "kill $nobp"
PINNERD=$T/ns-pinnerd start_daemon
wait_mask "$nobp" 1
out=$(nctl list 2>&1)
expect_eq "$?" 0 "nobody's list under hidepid: exit status"
awk -v t="$nobp" '$2 == t {f = 1} END {exit !f}' <<<"$out" || fail "nobody's list does not show nobody's own process $nobp: $out"
awk -v t="$rootp" '$2 == t {f = 1} END {exit !f}' <<<"$out" && fail "nobody's list shows root's process $rootp it cannot see: $out"
ok "nobody's list shows its own $nobp, not root's $rootp"
nctl list --json | grep -q "\"pid\":$rootp\b" && fail "nobody's list --json shows root's process $rootp"
# The filters go through the same check: asking for root's pid or the rule
# that holds it shows nobody nothing of it.
out=$(nctl list "$rootp" 2>&1)
expect_eq "$?" 0 "nobody's list $rootp: exit status"
expect_eq "$(tail -n 1 <<<"$out")" "0 threads" "nobody's list $rootp: nothing of root's process"
out=$(nctl list --rule mine 2>&1)
awk -v t="$rootp" '$2 == t {f = 1} END {exit !f}' <<<"$out" && fail "nobody's list --rule mine shows $rootp: $out"
awk -v t="$nobp" '$2 == t {f = 1} END {exit !f}' <<<"$out" || fail "nobody's list --rule mine lacks its own $nobp: $out"
out=$(nctl list "$nobp" 2>&1)
awk -v t="$nobp" '$2 == t {f = 1} END {exit !f}' <<<"$out" || fail "nobody's list $nobp lacks it: $out"
ok "nobody's list PID and list --rule show only what nobody can see"
out=$(nctl explain "$rootp" 2>&1)
rc=$?
[ "$rc" != 0 ] || fail "nobody's explain of the invisible $rootp succeeded: $out"
grep -q "tid $rootp" <<<"$out" && fail "nobody's explain of the invisible $rootp shows its threads: $out"
ok "nobody's explain of the invisible $rootp: exit $rc ($(head -n 1 <<<"$out"))"
nctl explain "$nobp" >/dev/null || fail "nobody's explain of its own process $nobp: exit $?"
out=$(NS=$NSH ctl list)
awk -v t="$rootp" '$2 == t {f = 1} END {exit !f}' <<<"$out" || fail "root's list does not show $rootp: $out"
ok "root's list shows everything"
stop_daemon
expect_eq "$DAEMON_STATUS" 0 "exit status after SIGTERM"
