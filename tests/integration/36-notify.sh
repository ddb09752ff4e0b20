#!/bin/bash
# sd_notify as systemd would see it, through a fake $NOTIFY_SOCKET: READY=1
# (with STATUS=) only after the first scan has been applied; RELOADING=1
# with MONOTONIC_USEC= then READY=1 on reload (accepted or rejected);
# WATCHDOG=1 while WATCHDOG_USEC/WATCHDOG_PID are set; STOPPING=1 at SIGTERM.
. "$HERE/lib.sh"
need_root
need_cpus 2
python3 -c 'import socket; socket.AF_UNIX' >/dev/null 2>&1 || skip "needs python3 to receive on a notify socket"

a=$(unique_comm a)
spawn_named "$a"
pa=$SPAWNED_PID
[ "$(mask "$pa")" != 1 ] || fail "test bug: $a already on CPU 1"

# The listener stamps each datagram with CLOCK_MONOTONIC and with the mask
# $a has at that moment, so "ready only after the first scan" is checkable.
cat >"$T/listen.py" <<'EOF'
import os, socket, sys, time
path, pid = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
print("listening", flush=True)
while True:
    msg = s.recv(65536).decode("utf-8", "replace")
    mask = "?"
    try:
        for line in open("/proc/%s/status" % pid):
            if line.startswith("Cpus_allowed_list:"):
                mask = line.split()[1]
    except OSError:
        pass
    print("%d %s %s" % (time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000, mask, msg.replace("\n", "|")), flush=True)
EOF
NS=$T/notify.sock
python3 "$T/listen.py" "$NS" "$pa" >"$T/notify.log" 2>&1 &
lp=$!
cleanup_add "kill $lp"
wait_until 5 "the notify listener" grep -q listening "$T/notify.log"

write_conf "[rule:rn]
comm = $a
cpus = 1"
# WATCHDOG_PID must be the daemon's own pid: the subshell's $BASHPID, which
# exec hands on to pinnerd.
(
        export NOTIFY_SOCKET=$NS WATCHDOG_USEC=2000000 WATCHDOG_PID=$BASHPID
        exec "$PINNERD" --config "$T/pinnerd.conf" --config-dir "$T/d" --socket "$SOCK" \
                --log-target stderr --log-level debug
) >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
msgs() { grep -E "^[0-9]+ [^ ]+ (.*\|)?$1" "$T/notify.log"; }
wait_until 10 "READY=1" msgs 'READY=1'
# WATCHDOG=1 may come first (sd_event_set_watchdog pings when enabled);
# anything else before READY=1 would be wrong.
first=$(grep -v '^listening' "$T/notify.log" | grep -v ' WATCHDOG=1$' | head -n 1)
echo "first notification: $first"
grep -Eq '^[0-9]+ [^ ]+ (.*\|)?READY=1' <<<"$first" || fail "the first notification is not READY=1: $(cat "$T/notify.log")"
grep -q 'STATUS=.' <<<"$first" || fail "READY=1 without STATUS=: $first"
expect_eq "$(awk '{print $2}' <<<"$first")" 1 "mask of $a when READY=1 arrived (first scan applied before)"
grep -q 'STATUS=1 rules, 1 threads pinned' <<<"$first" || fail "READY STATUS does not summarise the first scan: $first"
grep -q 'event=started' "$T/daemon.log" || fail "READY=1 before the started record"

# Watchdog: WATCHDOG_USEC = 2 s, so two pings within a few seconds.
wait_until 6 "two WATCHDOG=1 pings" sh -c "[ \$(grep -c 'WATCHDOG=1' '$T/notify.log') -ge 2 ]"
ok "WATCHDOG=1 sent while WATCHDOG_USEC and WATCHDOG_PID=$DAEMON_PID are set"

# Reload, accepted: RELOADING=1 with MONOTONIC_USEC=, then READY=1.
n0=$(wc -l <"$T/notify.log")
before=$(python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)')
ctl reload >/dev/null || fail "reload: exit $?"
after=$(python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)')
check_reload() {
        local what=$1 from=$2 rel ready
        wait_until 5 "READY=1 after $what" sh -c "tail -n +$((from + 1)) '$T/notify.log' | grep -q 'READY=1'"
        tail -n +$((from + 1)) "$T/notify.log" | grep -v 'WATCHDOG=1$' >"$T/after"
        rel=$(grep -n 'RELOADING=1' "$T/after" | head -n 1 | cut -d: -f1)
        ready=$(grep -n 'READY=1' "$T/after" | head -n 1 | cut -d: -f1)
        [ -n "$rel" ] || fail "$what: no RELOADING=1: $(cat "$T/after")"
        [ "$rel" -lt "$ready" ] || fail "$what: READY=1 came before RELOADING=1: $(cat "$T/after")"
        mono=$(sed -n "${rel}p" "$T/after" | grep -o 'MONOTONIC_USEC=[0-9]*' | cut -d= -f2)
        [ -n "$mono" ] || fail "$what: RELOADING=1 without MONOTONIC_USEC=: $(sed -n "${rel}p" "$T/after")"
        [ "$mono" -ge "$before" ] && [ "$mono" -le "$after" ] ||
                fail "$what: MONOTONIC_USEC=$mono is not CLOCK_MONOTONIC during the reload ($before..$after)"
        sed -n "${ready}p" "$T/after" | grep -q 'STATUS=.' || fail "$what: READY=1 without STATUS="
        ok "$what: RELOADING=1 with MONOTONIC_USEC=$mono, then READY=1"
}
check_reload "an accepted reload" "$n0"

# Reload, rejected: the same pair, the daemon stays ready.
printf 'frobnicate = 1\n' >>"$T/pinnerd.conf"
n0=$(wc -l <"$T/notify.log")
before=$(python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)')
ctl reload >/dev/null 2>&1
expect_eq "$?" 1 "rejected reload: exit status"
after=$(python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)')
check_reload "a rejected reload" "$n0"

# SIGHUP reloads too.
write_conf "[rule:rn]
comm = $a
cpus = 1"
n0=$(wc -l <"$T/notify.log")
before=$(python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)')
kill -HUP "$DAEMON_PID"
wait_until 5 "READY=1 after SIGHUP" sh -c "tail -n +$((n0 + 1)) '$T/notify.log' | grep -q 'READY=1'"
after=$(python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)')
check_reload "SIGHUP" "$n0"

# Stop: STOPPING=1. (Whether it precedes the restore cannot be observed
# without a race: the listener reads the mask after the fact.)
n0=$(wc -l <"$T/notify.log")
stop_daemon
expect_eq "$DAEMON_STATUS" 0 "pinnerd exit status"
wait_until 5 "STOPPING=1" sh -c "tail -n +$((n0 + 1)) '$T/notify.log' | grep -q 'STOPPING=1'"
ok "STOPPING=1 at SIGTERM"

# Without WATCHDOG_PID matching, no watchdog pings (sd_watchdog_enabled).
: >"$T/notify.log"
(
        export NOTIFY_SOCKET=$NS WATCHDOG_USEC=200000 WATCHDOG_PID=1
        exec "$PINNERD" --config "$T/pinnerd.conf" --config-dir "$T/d" --socket "$SOCK" \
                --log-target stderr --log-level debug
) >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
wait_until 10 "READY=1 (second run)" grep -q 'READY=1' "$T/notify.log"
# Ten watchdog periods with no ping: a negative can only be waited out.
sleep 2
grep -q 'WATCHDOG=1' "$T/notify.log" && fail "WATCHDOG=1 sent although WATCHDOG_PID is another process"
ok "no WATCHDOG=1 when WATCHDOG_PID names another process"
stop_daemon
exit 0
