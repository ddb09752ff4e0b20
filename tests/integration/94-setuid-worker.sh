#!/bin/bash
# A pre-fork server's worker changes its user without exec (the kernel's UID
# event): a `user = nobody` rule pins it when it drops to nobody, and a
# `user = root` rule gives its mask back when it leaves root, with rescan = 0
# (no polling would ever see either).
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2

NOBODY=$(id -u nobody 2>/dev/null) || skip "no user nobody"
C=$(unique_comm u)
cp "$HELPERS/prefork" "$T/$C"

# start_prefork [--wait]: the master and its worker, commands through a
# FIFO; with --wait the master forks when told to (start_worker).
start_prefork() {
        rm -f "$T/pf.in" "$T/pf.out"
        mkfifo "$T/pf.in"
        exec {PF_FD}<>"$T/pf.in"
        "$T/$C" "$NOBODY" 2 "$@" <"$T/pf.in" >"$T/pf.out" 2>&1 &
        PF_BG=$!
        cleanup_add "kill -KILL $PF_BG; wait $PF_BG"
        wait_until 5 "the master started" grep -q '^master ' "$T/pf.out"
        MASTER=$(awk '$1 == "master" {print $2}' "$T/pf.out")
        [ $# -gt 0 ] || start_worker
}
start_worker() {
        grep -q '^worker ' "$T/pf.out" || echo fork >&"$PF_FD"
        wait_until 5 "the worker started" grep -q '^worker ' "$T/pf.out"
        WORKER=$(awk '$1 == "worker" {print $2}' "$T/pf.out")
}
stop_prefork() {
        echo exit >&"$PF_FD"
        wait "$PF_BG" 2>/dev/null
        exec {PF_FD}>&-
}
worker_tids() { ls "/proc/$WORKER/task"; }

write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:workers]
comm = $C
user = nobody
cpus = 1"
start_daemon

start_prefork
hold_mask "$WORKER" 0-1 1
ok "the worker runs as root: no rule for it yet"
echo drop >&"$PF_FD"
wait_until 5 "the worker dropped to nobody" grep -q '^dropped ' "$T/pf.out"
for t in $(worker_tids); do wait_mask "$t" 1 3; done
wait_event applied rule=workers pid="$WORKER"
expect_eq "$(mask "$MASTER")" 0-1 "the master (still root) untouched"
ok "setuid() to nobody without exec: every thread of the worker pinned by user = nobody"
stop_prefork
stop_daemon

# The reverse: pinned while root, given back when it leaves root.
write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:root-workers]
comm = $C
user = root
cpus = 1"
start_daemon
start_prefork
for t in $(worker_tids); do wait_mask "$t" 1 3; done
ok "the worker (root) pinned by user = root"
echo drop >&"$PF_FD"
wait_until 5 "the worker dropped to nobody" grep -q '^dropped ' "$T/pf.out"
for t in $(worker_tids); do wait_mask "$t" 0-1 3; done
wait_event restored pid="$WORKER" cpus=0-1
ctl list --json >"$T/list.json"
[ "$(jq --argjson p "$WORKER" '[.[] | select(.pid == $p)] | length' "$T/list.json")" = 0 ] ||
        fail "the worker is still listed after it left root: $(cat "$T/list.json")"
ok "left root: its original mask is back and pinnerd forgot it"
stop_prefork

# The master is pinned (root) before it forks: the worker starts on
# pinnerd's mask, and what it gets back when it leaves root is what it
# would have had without pinnerd, its creator's original.
start_prefork --wait
wait_mask "$MASTER" 1
start_worker
for t in $(worker_tids); do wait_mask "$t" 1 3; done
echo drop >&"$PF_FD"
wait_until 5 "the worker dropped to nobody" grep -q '^dropped ' "$T/pf.out"
for t in $(worker_tids); do wait_mask "$t" 0-1 3; done
expect_eq "$(mask "$MASTER")" 1 "the master stays pinned"
ok "a worker forked by a pinned master gets the master's original back when it leaves root"
stop_prefork

# The same, with the fork event read only after the worker left root (the
# daemon stopped meanwhile, as a busy one is late): no rule wants the worker
# when pinnerd first looks at it, and it still gets the creator's original.
start_prefork --wait
wait_mask "$MASTER" 1
kill -STOP "$DAEMON_PID"
cleanup_add "kill -CONT $DAEMON_PID"
start_worker
echo drop >&"$PF_FD"
wait_until 5 "the worker dropped to nobody" grep -q '^dropped ' "$T/pf.out"
expect_eq "$(mask "$WORKER")" 1 "the worker, still unseen, runs on the master's pinned mask"
kill -CONT "$DAEMON_PID"
for t in $(worker_tids); do wait_mask "$t" 0-1 3; done
wait_event restored pid="$WORKER" cpus=0-1
expect_eq "$(mask "$MASTER")" 1 "the master stays pinned"
ok "a worker seen only after it left root gets the master's original back"
stop_prefork
