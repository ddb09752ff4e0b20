#!/bin/bash
# Reload (SIGHUP): a rule that is gone gives its threads their original masks
# back (restore = yes); a config with an error is rejected whole and the
# previous rules keep working.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2

C=$(unique_comm h)
conf_with_rule() {
        write_conf "[pinnerd]
restore = yes
rescan = 0
verify = 0

[rule:other]
comm = ${C}zz

[rule:reloadme]
comm = ${C}*
cpus = 1"
}
# The other rule needs cpus too: keep the valid config valid.
conf_with_rule
sed -i 's/^comm = '"${C}"'zz$/&\ncpus = 0/' "$T/pinnerd.conf"
# Started before the daemon: its first scan pins all three threads itself.
pt_start "${C}a" --threads 2
a=$PT_PID
a0=$(pt_tid "${C}a" w0)
a1=$(pt_tid "${C}a" w1)
start_daemon
for t in "$a" "$a0" "$a1"; do wait_mask "$t" 1; done
ok "rule reloadme pins ${C}a's 3 threads on CPU 1"

# Drop the rule and reload.
write_conf "[pinnerd]
restore = yes
rescan = 0
verify = 0

[rule:other]
comm = ${C}zz
cpus = 0"
kill -HUP "$DAEMON_PID"
wait_event reloaded
for t in "$a" "$a0" "$a1"; do
        wait_mask "$t" 0-1
        wait_event restored rule=reloadme tid="$t" cpus=0-1 previous=1
done
ok "rule dropped: all 3 threads restored to 0-1"

# Back again, then a config with a syntax error.
conf_with_rule
sed -i 's/^comm = '"${C}"'zz$/&\ncpus = 0/' "$T/pinnerd.conf"
kill -HUP "$DAEMON_PID"
for t in "$a" "$a0" "$a1"; do wait_mask "$t" 1; done
ok "rule back: pinned again"

n_reloaded=$(count_events reloaded)
write_conf "[pinnerd]
restore = yes

[rule:reloadme
comm = ${C}*
cpus = 0"
kill -HUP "$DAEMON_PID"
wait_event reload-failed
grep -q "pinnerd.conf:[0-9]" "$T/daemon.log" || fail "the rejected config's error names no file:line"
ok "bad config rejected: $(grep -m1 'pinnerd.conf:[0-9]' "$T/daemon.log")"
expect_eq "$(count_events reloaded)" "$n_reloaded" "no reloaded record for the bad config"
hold_mask "$a" 1 1
[ "$(count_events restored)" = 3 ] || fail "restored records after the failed reload: $(count_events restored), expected the 3 from the first reload"
expect_eq "$(mask "$a0"),$(mask "$a1")" 1,1 "pinned threads stay pinned"

# The previous rules still apply to a process exec'd now.
pt_start "${C}b"
wait_mask "$PT_PID" 1
wait_event applied rule=reloadme pid="$PT_PID" cpus=1
ok "a new matching process is pinned by the previous rules"

# Threads born while their process was pinned inherited the pinned mask; when
# the rule goes, they go back to what the process had before pinnerd (else a
# dropped rule leaves most of a thread pool pinned, with no record of it).
b=$PT_PID
b0=$(pt_spawn "${C}b" w0)
wait_mask "$b0" 1
write_conf "[pinnerd]
restore = yes
rescan = 0
verify = 0

[rule:other]
comm = ${C}zz
cpus = 0"
kill -HUP "$DAEMON_PID"
wait_event reloaded
wait_mask "$b" 0-1
wait_mask "$b0" 0-1
ok "rule dropped: a thread created after the pin is restored to its process's original 0-1 too"
