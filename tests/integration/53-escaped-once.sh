#!/bin/bash
# Names and values are escaped exactly once wherever people read them:
# explain's reasons quote a name with a quote and a backslash as conf_escape
# writes it (\' and \\), not escaped a second time ('it\\'s'); reload errors
# likewise; the daemon's stderr record of a config error too.
. "$HERE/lib.sh"
need_root

n="q$$'x\\y"
[ "$(printf '%s' "$n" | wc -c)" -le 15 ] || fail "test bug: name too long"
spawn_named "$n"; p=$SPAWNED_PID
write_conf "[rule:other]
comm = nomatch$$
cpus = 1"
start_daemon

ctl explain "$p" >"$T/explain.txt" || fail "explain: exit $?"
cat "$T/explain.txt"
once="comm 'q$$\\'x\\\\y' does not match"
grep -qF -- "$once" "$T/explain.txt" || fail "explain does not show the reason escaped once ($once)"
grep -qF -- "\\\\'" "$T/explain.txt" && fail "explain escapes a reason twice"
ok "explain: reason escaped once"

cp "$T/pinnerd.conf" "$T/good.conf"
write_conf "[rule:other]
comm = nomatch$$
cpus = it's"
ctl reload >"$T/reload.out" 2>"$T/reload.err"
expect_eq "$?" 1 "bad reload: exit status"
cat "$T/reload.err"
grep -qF -- "'it\\'s'" "$T/reload.err" || fail "reload error does not quote the value escaped once"
grep -qF -- "\\\\'" "$T/reload.err" && fail "reload error escaped twice"
ok "reload: error escaped once"
wait_log "it\\\\'s'" 5
grep -F "it\\'s" "$T/daemon.log" | grep -qF -- "\\\\'" && fail "daemon log escapes the config error twice: $(grep -F "it" "$T/daemon.log" | tail -n 2)"
ok "daemon log: config error escaped once"
exit 0
