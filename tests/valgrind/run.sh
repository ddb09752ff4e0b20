#!/bin/bash
# pinnerd under valgrind memcheck: tests/valgrind/run.sh BUILD_DIR (what
# `sudo make valgrind` runs).
#
# Runs the real daemon under memcheck on a private config and socket, through
# a short churn (processes with threads, new threads born to pinned ones,
# renames, exits, short-lived matching processes), every ctl verb (status,
# list, list PID and --rule, explain of a process, of a thread, of a worker tid
# and of no such pid, metrics, rescan, a good and a bad reload, text and JSON,
# a hostile request), then SIGTERM. Passes with
# "no error, no definite leak"; otherwise prints memcheck's report and exits 1.
# 77: cannot run here. VALGRIND_KEEP=1 keeps the work directory.
set -u
BUILD=${1:?usage: tests/valgrind/run.sh BUILD_DIR}
PINNERD=$BUILD/pinnerd
PINNERCTL=$BUILD/pinnerctl
PINTEST=$BUILD/helpers/pintest

say() { printf 'valgrind: %s\n' "$*"; }
[ "$(id -u)" = 0 ] || { say "cannot run: needs root (the proc connector, sched_setaffinity)"; exit 77; }
command -v valgrind >/dev/null || { say "cannot run: valgrind is not installed (apt-get install valgrind)"; exit 77; }
[ "$(nproc --all)" -ge 2 ] || { say "cannot run: needs at least 2 CPUs"; exit 77; }
for f in "$PINNERD" "$PINNERCTL" "$PINTEST"; do [ -x "$f" ] || { say "missing $f"; exit 1; }; done

T=$(mktemp -d /tmp/pinnerd-vg.XXXXXX) || exit 1
chmod 755 "$T"
mkdir "$T/d"
ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
P=vgP-$ID
Q=vgQ-$ID
SOCK=$T/control
VP=
KIDS=
cleanup() {
        [ -n "$VP" ] && kill -KILL "$VP" 2>/dev/null
        [ -n "$KIDS" ] && kill -KILL $KIDS 2>/dev/null
        wait 2>/dev/null
        if [ "${VALGRIND_KEEP:-0}" = 1 ]; then say "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
cp "$PINTEST" "$T/$P"
cp "$PINTEST" "$T/$Q"

conf() {
        cat >"$T/pinnerd.conf" <<EOC
[pinnerd]
restore = yes
rescan = 0
verify = 1

[rule:spread-$ID]
comm = $P
threads = w*
cpus = 0-1
spread = yes

[rule:short-$ID]
comm = $Q
cpus = $1
$2
EOC
        chmod 0644 "$T/pinnerd.conf"
        chown root:root "$T/pinnerd.conf"
}
conf 1 ""
ctl() { "$PINNERCTL" --socket "$SOCK" "$@"; }

say "starting pinnerd under memcheck"
valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
        --error-exitcode=99 --log-file="$T/memcheck.log" \
        "$PINNERD" --config "$T/pinnerd.conf" --config-dir "$T/d" --socket "$SOCK" \
        --log-target stderr --log-level debug 2>"$T/daemon.log" &
VP=$!
for i in $(seq 600); do
        ctl status >/dev/null 2>&1 && break
        kill -0 "$VP" 2>/dev/null || { say "pinnerd exited during start-up:"; tail -n 20 "$T/daemon.log" "$T/memcheck.log"; exit 1; }
        sleep 0.1
done
ctl status >/dev/null 2>&1 || { say "pinnerd did not answer within 60 s"; exit 1; }

# A long-lived process whose pinned workers create threads, rename, end.
mkfifo "$T/p.in"
exec 7<>"$T/p.in"
taskset -c 0 "$T/$P" --commands --threads 4 <"$T/p.in" >"$T/p.out" 2>&1 &
PP=$!
KIDS="$PP"
for i in $(seq 100); do grep -q '^ready$' "$T/p.out" && break; sleep 0.05; done
sleep 1
worker() { awk -v n="$1" '$1 == "thread" && $3 == n {t = $2} END {print t}' "$T/p.out"; }
for k in 1 2 3 4 5; do
        echo "child $(worker w0) w1$k" >&7
        echo "child $(worker w1) x$k" >&7
        sleep 0.2
        echo "rename $(worker x$k) w2$k" >&7
        echo "exit $(worker w1$k)" >&7
        # Short-lived matching processes with threads.
        for j in 1 2 3; do
                "$T/$Q" --threads 2 --hold 1 >/dev/null 2>&1 &
                disown
        done
        sleep 0.5
done
sleep 1.5 # the short-lived ones end

# Every verb, and a hostile request.
out() { "$@" >>"$T/ctl.log" 2>&1; echo "$* -> exit $?" >>"$T/ctl.log"; }
out ctl status
out ctl status --json
out ctl list
out ctl list --json
out ctl explain "$PP"
out ctl explain --json "$PP"
out ctl explain "$(worker w0)"
out ctl explain 999999999
out ctl explain "$PP" --thread "$(worker w0)"
out ctl list "$PP"
out ctl list --rule "spread-$ID" --json
out ctl metrics
out ctl metrics --json
out ctl rescan
out ctl rescan --json
conf 0 ""
out ctl reload
conf 0 "frobnicate = 1"
out ctl reload
out ctl reload --json
conf 1 ""
out ctl reload --json
if command -v python3 >/dev/null; then
        python3 -c '
import socket, sys
for payload in (b"\x00" * 5000, b"\xff" * 17, b"explain \x00\x01", b"A" * 70000):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    try:
        s.send(payload)
        s.settimeout(5)
        s.recv(65536)
    except OSError:
        pass
    s.close()' "$SOCK" >>"$T/ctl.log" 2>&1
fi
out ctl status
# The verbs must have been served (a daemon that stopped answering would
# leave memcheck nothing to find): exit 1 only for no such pid and the bad
# reload; explain of a worker tid may be either (pinnerctl(8)).
got=$(sed -n 's/^ctl \(.*\) -> exit \([0-9]*\)$/\2/p' "$T/ctl.log" | tr '\n' ' ')
want='^0 0 0 0 0 0 [01] 1 0 0 0 0 0 0 0 0 1 1 0 0 $'
if ! [[ $got =~ $want ]]; then
        say "ctl verbs under memcheck exited '$got', expected '$want':"
        grep ' -> exit ' "$T/ctl.log" | sed 's/^/  /'
        CTL_BAD=1
fi
sleep 2 # a verify pass

say "stopping pinnerd"
kill -TERM "$VP"
wait "$VP"
rc=$?
VP=
kill -KILL "$PP" 2>/dev/null
wait "$PP" 2>/dev/null
errors=$(grep -c '^==[0-9]*== [A-Z][a-z]' "$T/memcheck.log")
if [ "$rc" = 0 ] && [ -z "${CTL_BAD:-}" ] && ! grep -q 'definitely lost' "$T/memcheck.log" && [ ! -s "$T/memcheck.log" ]; then
        say "no error, no definite leak ($(grep -c ' -> exit ' "$T/ctl.log") ctl requests, daemon exit 0)"
        exit 0
fi
say "pinnerd exit status $rc; memcheck report ($errors lines starting a record):"
sed 's/^/  /' "$T/memcheck.log" | head -n 200
[ "$rc" = 99 ] && say "memcheck found errors or definite leaks" || say "pinnerd exit status $rc"
exit 1
