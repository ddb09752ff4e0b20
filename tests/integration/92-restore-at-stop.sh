#!/bin/bash
# [pinnerd] restore-at-stop = no: at SIGTERM pinned masks stay and the state
# file next to the socket keeps the originals; a reload that drops the rule
# still restores. A restarted daemon takes the originals over from the state
# file, so a reload that then drops the rule puts the true original (X = CPU
# 0) back, not the CPU 1 it finds. restore = no with restore-at-stop is a
# config error naming file:line.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2

C=$(unique_comm s)
with_rule() {
        write_conf "[pinnerd]
restore = yes
restore-at-stop = no
rescan = 0
verify = 0

[rule:kept]
comm = $C
cpus = 1"
}
without_rule() {
        write_conf "[pinnerd]
restore = yes
restore-at-stop = no
rescan = 0
verify = 0

[rule:other]
comm = ${C}none
cpus = 1"
}
PT_LAUNCH="taskset -c 0"

with_rule
start_daemon
pt_start "$C" --threads 1
p=$PT_PID
w0=$(pt_tid "$C" w0)
wait_mask "$p" 1
wait_mask "$w0" 1
ok "pinned to CPU 1 (original 0)"

# ---- a reload that drops the rule still restores -----------------------------
without_rule
out=$(ctl reload 2>&1) || fail "reload: $out"
wait_mask "$p" 0
wait_mask "$w0" 0
ok "reload without the rule: back on the original CPU 0 ($out)"
with_rule
out=$(ctl reload 2>&1) || fail "reload: $out"
wait_mask "$p" 1
wait_mask "$w0" 1

# ---- stop: masks stay, the state file stays -----------------------------------
[ -s "$T/state" ] || wait_until 3 "the state file $T/state" test -s "$T/state"
stop_daemon
expect_eq "$DAEMON_STATUS" 0 "exit status after SIGTERM"
expect_eq "$(mask "$p"),$(mask "$w0")" 1,1 "masks after the stop"
no_event restored reason="pinnerd stopping"
grep -q "restore-at-stop = no" "$T/daemon.log" || fail "the stop does not say why nothing was restored"
[ -s "$T/state" ] || fail "the state file $T/state is gone after the stop"
for t in "$p" "$w0"; do
        grep -Eq "(^|[^0-9])$t([^0-9]|$)" "$T/state" || fail "the state file has no entry for tid $t: $(head -c 400 "$T/state")"
done
ok "SIGTERM left both threads on CPU 1 and the state file with their entries"

# ---- restart on the old state; a reload that drops the rule -----------------------
mv "$T/daemon.log" "$T/daemon1.log"
start_daemon
wait_log "original masks taken over from a previous run" 3
expect_eq "$(mask "$p"),$(mask "$w0")" 1,1 "masks after the restart"
without_rule
out=$(ctl reload 2>&1) || fail "reload: $out"
wait_mask "$p" 0
wait_mask "$w0" 0
ok "after the restart, a reload without the rule put the true original CPU 0 back"
stop_daemon
expect_eq "$(mask "$p"),$(mask "$w0")" 0,0 "nothing managed, nothing changed at the stop"

# ---- restore = no with restore-at-stop: a config error -----------------------------
printf '[pinnerd]\nrestore = no\nrescan = 0\nrestore-at-stop = no\n\n[rule:r]\ncomm = x\ncpus = 0\n' >"$T/bad.conf"
chmod 0644 "$T/bad.conf"
out=$("$PINNERD" --check --config "$T/bad.conf" --config-dir "$T/none" 2>&1)
expect_eq "$?" 1 "pinnerd --check of restore = no + restore-at-stop = no: exit status"
echo "$out" | grep -q "$T/bad.conf:4:.*restore-at-stop.*restore = yes" || fail "no error at bad.conf:4 naming restore-at-stop: $out"
ok "rejected: $(echo "$out" | grep -m1 restore-at-stop)"

# Any restore-at-stop line says something restore = no would not do.
printf '[pinnerd]\nrestore-at-stop = yes\nrestore = off\n\n[rule:r]\ncomm = x\ncpus = 0\n' >"$T/bad3.conf"
chmod 0644 "$T/bad3.conf"
out=$("$PINNERD" --check --config "$T/bad3.conf" --config-dir "$T/none" 2>&1)
expect_eq "$?" 1 "restore-at-stop = yes before restore = off: exit status"
echo "$out" | grep -q "$T/bad3.conf:2:.*restore-at-stop" || fail "no error at bad3.conf:2: $out"
ok "restore-at-stop = yes with restore = off rejected, whatever the order"

# Across files: the error names the drop-in that set restore-at-stop.
mkdir "$T/d2"
printf '[pinnerd]\nrestore = no\n\n[rule:r]\ncomm = x\ncpus = 0\n' >"$T/main2.conf"
printf '[pinnerd]\nrestore-at-stop = no\n' >"$T/d2/50-site.conf"
chmod 0644 "$T/main2.conf" "$T/d2/50-site.conf"
out=$("$PINNERD" --check --config "$T/main2.conf" --config-dir "$T/d2" 2>&1)
expect_eq "$?" 1 "restore = no in the main file, restore-at-stop in a drop-in: exit status"
echo "$out" | grep -q "$T/d2/50-site.conf:2:.*restore-at-stop" || fail "no error at 50-site.conf:2: $out"
ok "the drop-in's line is named"

# A hostile value: not a boolean.
printf '[pinnerd]\nrestore-at-stop = sometimes\n\n[rule:r]\ncomm = x\ncpus = 0\n' >"$T/bad2.conf"
chmod 0644 "$T/bad2.conf"
out=$("$PINNERD" --check --config "$T/bad2.conf" --config-dir "$T/none" 2>&1)
expect_eq "$?" 1 "restore-at-stop = sometimes: exit status"
echo "$out" | grep -q "$T/bad2.conf:2:.*sometimes" || fail "no error at bad2.conf:2 naming the value: $out"
ok "restore-at-stop = sometimes rejected"
