#!/bin/bash
# pinnerctl reload: a good edit is applied with an exact summary and the
# kernel masks follow; a broken edit is rejected whole with every error's
# file:line, and the daemon keeps running on the previous rules.
. "$HERE/lib.sh"
need_root
need_cpus 2
command -v jq >/dev/null || skip "needs jq to read status --json"

a=$(unique_comm a)
b=$(unique_comm b)
c=$(unique_comm c)
spawn_named "$a"; pa=$SPAWNED_PID
spawn_named "$b"; pb=$SPAWNED_PID
spawn_named "$c"; pc=$SPAWNED_PID
orig_b=$(mask "$pb")
orig_c=$(mask "$pc")
# The edit below must change every mask it touches.
expect_eq "$orig_c" 0-1 "starting mask of $c"

write_conf "[pinnerd]
restore = yes
[rule:ra]
comm = $a
cpus = 1
[rule:rb]
comm = $b
cpus = 1"
start_daemon
wait_mask "$pa" 1
wait_mask "$pb" 1
expect_eq "$(mask "$pc")" "$orig_c" "$c untouched before the reload"

# Good edit: ra moves to CPU 0 (1 changed), rb goes away (1 restored),
# rc is new (1 changed).
write_conf "[pinnerd]
restore = yes
[rule:ra]
comm = $a
cpus = 0
[rule:rc]
comm = $c
cpus = 1"
out=$(ctl reload 2>"$T/err")
rc=$?
expect_eq "$rc" 0 "good reload: exit status"
expect_eq "$out" "reloaded: 2 rules, 2 threads changed, 1 restored" "good reload: summary"
[ -s "$T/err" ] && fail "good reload wrote to stderr: $(cat "$T/err")"
# The reply comes after the work is done: no waiting needed.
expect_eq "$(mask "$pa")" 0 "ra's process moved to CPU 0"
expect_eq "$(mask "$pb")" "$orig_b" "rb's process restored"
expect_eq "$(mask "$pc")" 1 "rc's process pinned to CPU 1"
expect_eq "$(ctl status --json | jq -c '[.rules[].name]')" '["ra","rc"]' "rules after the good reload"

# Broken edit: an unknown key on line 6 and a bad cpulist on line 9; the
# valid-looking rule rz must not come into force either.
write_conf "[pinnerd]
restore = yes
[rule:ra]
comm = $a
cpus = 1
frobnicate = yes
[rule:rz]
comm = $c
cpus = 0-zz"
out=$(ctl reload 2>"$T/err")
rc=$?
expect_eq "$rc" 1 "broken reload: exit status"
[ -z "$out" ] || fail "broken reload wrote to stdout: $out"
grep -qF "$T/pinnerd.conf:6:" "$T/err" || fail "broken reload: no '$T/pinnerd.conf:6:' (unknown key) in: $(cat "$T/err")"
grep -q "frobnicate" "$T/err" || fail "broken reload: the unknown key is not named: $(cat "$T/err")"
grep -qF "$T/pinnerd.conf:9:" "$T/err" || fail "broken reload: no '$T/pinnerd.conf:9:' (bad cpulist) in: $(cat "$T/err")"
grep -q "0-zz" "$T/err" || fail "broken reload: the bad cpulist is not named: $(cat "$T/err")"
expect_eq "$(tail -n 1 "$T/err")" "kept previous configuration" "broken reload: last line"
ok "broken reload prints every error with file:line"

kill -0 "$DAEMON_PID" 2>/dev/null || fail "pinnerd died after a broken reload"
expect_eq "$(ctl status --json | jq -c '[.rules[].name]')" '["ra","rc"]' "rules after the broken reload"
expect_eq "$(mask "$pa")" 0 "ra's mask kept after the broken reload"
expect_eq "$(mask "$pc")" 1 "rc's mask kept after the broken reload"
# The previous rules still act on new processes: another $c is pinned by rc.
"$T/$c" 3600 &
pc2=$!
cleanup_add "kill $pc2"
wait_mask "$pc2" 1
ok "daemon still runs with the previous rules"

# A later good reload still works (nothing half-applied got stuck).
write_conf "[pinnerd]
restore = yes
[rule:ra]
comm = $a
cpus = 0"
out=$(ctl reload)
expect_eq "$?" 0 "reload after a rejected one: exit status"
expect_eq "$out" "reloaded: 1 rules, 0 threads changed, 2 restored" "reload after a rejected one: summary"
expect_eq "$(mask "$pc")" "$orig_c" "rc's first process restored"
expect_eq "$(mask "$pc2")" 0-1 "rc's second process restored"
exit 0
