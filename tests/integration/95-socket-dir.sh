#!/bin/bash
# The control socket's directory also holds the instance lock and the state
# file: one that other users can write is refused with the reason, before
# anything is touched. The attacks: a user holds the lock in a shared 1777
# directory (without the check pinnerd would not start, blaming "another
# pinnerd"), and a user creates the directory first (/tmp/x owned by them).
. "$(dirname "$0")/lib.sh"
need_root
command -v setpriv >/dev/null || skip "needs setpriv (util-linux) to act as nobody"
command -v flock >/dev/null || skip "needs flock (util-linux)"

write_conf "[pinnerd]
verify = 0"

# try DIR: run pinnerd on DIR/control; prints its exit status.
try() {
        timeout 10 "$PINNERD" --config "$T/pinnerd.conf" --config-dir "$T/d" --socket "$1/control" \
                --log-target stderr >"$T/try.log" 2>&1
        echo $?
}

shared=$T/shared
mkdir -m 1777 "$shared"
setpriv --reuid=nobody --regid=nogroup --clear-groups flock "$shared/lock" sleep 30 &
holder=$!
cleanup_add "kill $holder"
wait_until 5 "nobody holds $shared/lock" test -e "$shared/lock"
expect_eq "$(try "$shared")" 3 "a 1777 directory: exit status"
grep -q "refusing $shared .*writable by group or others" "$T/try.log" ||
        fail "the refusal does not say why: $(cat "$T/try.log")"
grep -q "another pinnerd" "$T/try.log" && fail "it blames another pinnerd: $(cat "$T/try.log")"
[ -e "$shared/control" ] && fail "a socket was created in $shared"
ok "a directory others can write is refused, saying why: $(head -n 1 "$T/try.log")"

planted=$T/planted
mkdir "$planted"
chown nobody "$planted"
expect_eq "$(try "$planted")" 3 "a directory owned by another user: exit status"
grep -q "refusing $planted .*owned by another user" "$T/try.log" ||
        fail "the refusal does not say why: $(cat "$T/try.log")"
ok "a directory another user created first is refused"

mine=$T/mine
mkdir -m 0755 "$mine"
SOCK=$mine/control
start_daemon
ctl status >/dev/null || fail "pinnerd on a private directory does not answer"
ok "a root-owned 0755 directory is fine"
