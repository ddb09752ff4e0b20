#!/bin/bash
# A log reader that goes away never stops the daemon: pinnerd's stderr is a
# pipe into `head -1`, which exits after the first line. The records that
# follow meet a closed pipe (EPIPE, SIGPIPE ignored); pinnerd keeps pinning,
# answers pinnerctl, and on SIGTERM restores, removes its socket and exits 0.
. "$HERE/lib.sh"
need_root
need_cpus 2

a=$(unique_comm a)
b=$(unique_comm b)
spawn_named "$a"; pa=$SPAWNED_PID
orig=$(mask "$pa")
[ "$orig" != 1 ] || fail "test bug: $a already on CPU 1"
write_conf "[pinnerd]
restore = yes
[rule:r$$]
comm = $a
comm = $b
cpus = 1"

mkfifo "$T/err"
head -n 1 <"$T/err" >"$T/first" &
hpid=$!
cleanup_add "kill $hpid"
# No journal to fall back to, so the records after the first are lost.
"$PINNERD" --config "$T/pinnerd.conf" --config-dir "$T/d" --socket "$SOCK" \
        --log-target stderr --log-level debug 2>"$T/err" >/dev/null &
DAEMON_PID=$!
wait_mask "$pa" 1
wait "$hpid"
[ -s "$T/first" ] || fail "head read nothing from pinnerd's stderr"
ok "the log reader exited after: $(cat "$T/first")"

# Records now go to a pipe without a reader.
spawn_named "$b"; pb=$SPAWNED_PID
wait_mask "$pb" 1
ctl rescan >/dev/null || fail "rescan: exit $?"
ctl reload >/dev/null || fail "reload: exit $?"
kill -0 "$DAEMON_PID" 2>/dev/null || { wait "$DAEMON_PID"; fail "pinnerd died with status $? after its log reader left"; }
ctl status >/dev/null || fail "status after the reader left: exit $?"
ok "pinnerd keeps pinning and answering with its log reader gone"

stop_daemon
expect_eq "$DAEMON_STATUS" 0 "exit status at SIGTERM"
expect_eq "$(mask "$pa")" "$orig" "mask of $a restored at stop"
expect_eq "$(mask "$pb")" "$orig" "mask of $b restored at stop"
[ -e "$SOCK" ] && fail "control socket $SOCK left behind"
ok "control socket removed"
exit 0
