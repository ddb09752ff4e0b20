#!/bin/bash
# journald that stops (SIGSTOP) or dies (kill -9) under a running pinnerd:
# pinning goes on (sd_journal_send would block once 10 datagrams are unread),
# records queued while journald was stopped arrive when it continues, records
# from while it was dead go to stderr (said once), and once a new journald
# runs, records flow there again after one record saying how many went to
# stderr. Needs its own journald.
. "$HERE/lib.sh"
need_root
need_cpus 2
command -v jq >/dev/null || skip "needs jq to read journalctl -o json"
command -v journalctl >/dev/null || skip "needs journalctl"
JOURNALD=/lib/systemd/systemd-journald
[ -x "$JOURNALD" ] || skip "no $JOURNALD to start"
pgrep -x systemd-journal >/dev/null && skip "a journald runs already; this test stops and kills its own"

[ -e /run/systemd/journal ] && had_dir=1 || had_dir=0
[ -e /run/log/journal ] && had_log=1 || had_log=0
[ $had_log = 0 ] && cleanup_add "rm -rf /run/log/journal"
[ $had_dir = 0 ] && cleanup_add "rm -rf /run/systemd/journal"
JPID=
start_journald() {
        # A killed journald leaves its sockets: a new one must be listening,
        # not its predecessor's dead socket file.
        rm -f /run/systemd/journal/socket /run/systemd/journal/stdout
        "$JOURNALD" >>"$T/journald.log" 2>&1 &
        JPID=$!
        cleanup_add "kill -CONT $JPID; kill $JPID; wait $JPID"
        wait_until 10 "journald to listen" test -S /run/systemd/journal/socket
        local tag="pinnerd-it-$$-$JPID"
        wait_until 10 "journald to store a probe record" \
                sh -c "echo probe | systemd-cat -t '$tag' 2>/dev/null; journalctl --no-pager -q -t '$tag' | grep -q probe"
}
start_journald

write_conf "[rule:k$$]
comm = k$$*
cpus = 1"
"$PINNERD" --config "$T/pinnerd.conf" --config-dir "$T/d" --socket "$SOCK" \
        --log-target journal --log-level debug >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
dpid=$DAEMON_PID
wait_until 10 "pinnerd to answer" "$PINNERCTL" --socket "$SOCK" status

# ---- journald stopped: 20 records cannot be taken, pinning goes on ----
kill -STOP "$JPID"
pids=()
for i in $(seq 20); do spawn_named "k$$s$i"; pids+=("$SPAWNED_PID"); done
for p in "${pids[@]}"; do wait_mask "$p" 1; done
ctl status >/dev/null || fail "status while journald is stopped: exit $?"
ok "20 processes pinned while journald was stopped"
kill -CONT "$JPID"
J() { journalctl --no-pager -o json _PID="$dpid" "$@"; }
wait_until 10 "the 20 applied records to reach journald" sh -c \
        "[ \$(journalctl --no-pager -o json _PID=$dpid PINNERD_EVENT=applied | grep -c .) -ge 20 ]"
ok "records queued while journald was stopped arrived when it continued"

# ---- journald killed: pinning goes on, records go to stderr ----
kill -KILL "$JPID"
wait "$JPID" 2>/dev/null
for i in $(seq 3); do spawn_named "k$$d$i"; wait_mask "$SPAWNED_PID" 1; done
kill -0 "$DAEMON_PID" 2>/dev/null || fail "pinnerd died with journald"
ok "3 processes pinned while journald was dead"
grep -q "journald is not reachable" "$T/daemon.log" || fail "pinnerd did not say journald was gone: $(cat "$T/daemon.log")"
expect_eq "$(grep -c 'journald is not reachable' "$T/daemon.log")" 1 "said once on stderr"
grep -q "journald is not reachable at .*; records go to stderr until it is back" "$T/daemon.log" ||
        fail "it does not say where records go: $(grep 'not reachable' "$T/daemon.log")"
# The record that found journald gone is lost (counted, said on stderr with
# the next); the later ones are on stderr.
wait_until 5 "the last one's record on stderr" grep -q "k$$d3 (pid .*event=applied" "$T/daemon.log"
ok "records went to stderr while journald was dead"

# ---- a new journald: records flow again; what went to stderr is said ----
start_journald
# The next connect is tried at most 250 ms after the last failure.
sleep 0.5
spawn_named "k$$b"; pb=$SPAWNED_PID
wait_mask "$pb" 1
wait_until 10 "the record of k$$b in the new journal" sh -c \
        "journalctl --no-pager -o json _PID=$dpid PINNERD_EVENT=applied PINNERD_PID=$pb | grep -q ."
wait_until 10 "the note that records went to stderr" sh -c \
        "journalctl --no-pager -o cat _PID=$dpid | grep -q 'journald is reachable again; [0-9]* records went to stderr meanwhile'"
journalctl --no-pager -o cat _PID="$dpid" | grep 'reachable again'
if grep -q 'event=records-lost' "$T/daemon.log"; then
        grep 'event=records-lost' "$T/daemon.log"
        grep -Eq '[0-9]+ log records lost \(journald unreachable [0-9]+\)' "$T/daemon.log" ||
                fail "records-lost says: $(grep 'event=records-lost' "$T/daemon.log")"
fi
ok "journald back: records in the journal again, with how many went to stderr"
stop_daemon
expect_eq "$DAEMON_STATUS" 0 "pinnerd exit status"
exit 0
