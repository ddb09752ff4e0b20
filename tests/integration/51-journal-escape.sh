#!/bin/bash
# Names with a newline and a byte that is not UTF-8, through a real journald:
# MESSAGE stays one line of text (a JSON string, the name escaped once) and
# PINNERD_COMM / PINNERD_THREAD carry the exact bytes (journalctl -o json
# prints a non-UTF-8 value as an array of bytes).
. "$HERE/lib.sh"
need_root
need_cpus 2
command -v jq >/dev/null || skip "needs jq to read journalctl -o json"
command -v journalctl >/dev/null || skip "needs journalctl"
JOURNALD=/lib/systemd/systemd-journald

if pgrep -x systemd-journal >/dev/null && [ -S /run/systemd/journal/socket ]; then
        echo "using the running journald (pid $(pgrep -x systemd-journal | head -n 1))"
else
        [ -x "$JOURNALD" ] || skip "no journald running and no $JOURNALD to start"
        [ -e /run/systemd/journal ] && had_dir=1 || had_dir=0
        [ -e /run/log/journal ] && had_log=1 || had_log=0
        "$JOURNALD" >"$T/journald.log" 2>&1 &
        jpid=$!
        [ $had_log = 0 ] && cleanup_add "rm -rf /run/log/journal"
        [ $had_dir = 0 ] && cleanup_add "rm -rf /run/systemd/journal"
        cleanup_add "kill $jpid; wait $jpid"
        wait_until 10 "journald to listen" test -S /run/systemd/journal/socket
        tag="pinnerd-it-$$"
        echo probe | systemd-cat -t "$tag"
        wait_until 10 "journald to store a probe record" sh -c "journalctl --no-pager -q -t '$tag' | grep -q probe"
fi

# comm: "j<pid>" newline "x" 0xff — 15 bytes at most.
n="j$$"$'\nx\xff'
[ "$(printf '%s' "$n" | wc -c)" -le 15 ] || fail "test bug: name too long"
spawn_named "$n"; p=$SPAWNED_PID
write_conf "[rule:esc$$]
comm = j$$*
cpus = 1"
"$PINNERD" --config "$T/pinnerd.conf" --config-dir "$T/d" --socket "$SOCK" \
        --log-target journal --log-level debug >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
wait_mask "$p" 1
dpid=$DAEMON_PID
stop_daemon
expect_eq "$DAEMON_STATUS" 0 "pinnerd exit status"

wait_until 10 "the applied record in the journal" sh -c \
        "journalctl --no-pager -o json _PID=$dpid PINNERD_EVENT=applied | grep -q ."
journalctl --no-pager -o json _PID="$dpid" PINNERD_EVENT=applied >"$T/applied.json"
jq -c . "$T/applied.json" | head -n 3

# PINNERD_COMM: exactly the bytes of the name.
want=$(printf '%s' "$n" | od -An -tu1 | tr -s ' \n' ' ' | sed 's/^ //; s/ $//; s/ /,/g')
got=$(jq -r -s --argjson t "$p" '[.[] | select(.PINNERD_TID == ($t | tostring))][0].PINNERD_COMM | if type == "array" then map(tostring) | join(",") else "not an array: \(.)" end' "$T/applied.json")
expect_eq "$got" "$want" "PINNERD_COMM holds the raw bytes (newline and 0xff)"
got=$(jq -r -s --argjson t "$p" '[.[] | select(.PINNERD_TID == ($t | tostring))][0].PINNERD_THREAD | if type == "array" then map(tostring) | join(",") else "not an array" end' "$T/applied.json")
expect_eq "$got" "$want" "PINNERD_THREAD holds the raw bytes"

# MESSAGE: a string, one line, the name escaped once.
jq -e -s 'all(.[]; .MESSAGE | type == "string")' "$T/applied.json" >/dev/null ||
        fail "MESSAGE is not a string (stored as a blob): $(jq -c '.MESSAGE' "$T/applied.json" | head -n 2)"
msg=$(jq -r -s --argjson t "$p" '[.[] | select(.PINNERD_TID == ($t | tostring))][0].MESSAGE' "$T/applied.json")
case $msg in *$'\n'*) fail "MESSAGE holds a newline: $msg" ;; esac
esc="j$$\\nx\\xff"
case $msg in *"$esc"*) ok "MESSAGE is one line with the name escaped once: $msg" ;;
*) fail "MESSAGE does not show the name as '$esc': $msg" ;; esac
# Every record of this daemon is text.
journalctl --no-pager -o json _PID="$dpid" | jq -e -s 'all(.[]; .MESSAGE | type == "string")' >/dev/null ||
        fail "a record of pid $dpid has a binary MESSAGE"
ok "every MESSAGE of pid $dpid is a string"
exit 0
