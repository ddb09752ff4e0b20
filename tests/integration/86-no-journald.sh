#!/bin/bash
# Without journald: `--log-target journal` where no journald listens (no
# system with systemd, a container, journald stopped for good). Records go to
# stderr, after one line saying so, and none is lost; pinning and the control
# socket work as usual. Where a journald runs, pinnerd is started in a mount
# namespace that hides its socket.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2

J=/run/systemd/journal
if [ -S "$J/socket" ]; then
        command -v unshare >/dev/null || skip "a journald runs here and there is no unshare to hide it"
        printf '#!/bin/sh\nexec unshare -m --propagation private sh -c '"'"'mount -t tmpfs none %s && exec "$0" "$@"'"'"' %s "$@"\n' \
                "$J" "$PINNERD" >"$T/hidden-journal-pinnerd"
        chmod 0755 "$T/hidden-journal-pinnerd"
        PINNERD=$T/hidden-journal-pinnerd
        echo "note: a journald runs here; pinnerd runs where $J is empty"
fi

c=$(unique_comm c)
write_conf "[rule:r86]
comm = $c
cpus = 1"
start_daemon --log-target journal --log-level info
spawn_named "$c"
wait_mask "$SPAWNED_PID" 1
wait_event applied rule=r86 pid="$SPAWNED_PID"
ctl status >/dev/null || fail "status: exit $?"
cat "$T/daemon.log"
expect_eq "$(grep -c "journald is not reachable at $J/socket" "$T/daemon.log")" 1 "said once"
grep -q "journald is not reachable at $J/socket (.*); records go to stderr until it is back" "$T/daemon.log" ||
        fail "does not say where records go: $(head -n 3 "$T/daemon.log")"
grep -q 'event=started' "$T/daemon.log" || fail "no started record on stderr"
grep -q 'records lost\|records-lost' "$T/daemon.log" && fail "records were lost: $(grep 'records lost' "$T/daemon.log")"
stop_daemon
expect_eq "$DAEMON_STATUS" 0 "exit status"
grep -q 'event=stopping' "$T/daemon.log" || fail "no stopping record on stderr"
ok "--log-target journal without journald: every record on stderr, said once"
exit 0
