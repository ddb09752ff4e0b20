#!/bin/bash
# Exit events are authoritative: a matching process that exited (reaped, or
# still a zombie) is forgotten at its exit event. `status` does not count it,
# `list` does not show it, its rule's count drops back, all without a rescan
# or reload (rescan = 0, verify = 0: nothing else would ever clean up).
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
command -v jq >/dev/null || skip "needs jq to read --json output"

C=$(unique_comm x)
write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:short]
comm = $C
cpus = 1"
start_daemon
cp "$HELPERS/pintest" "$T/$C"

managed() { ctl status --json | jq -r '.managed_threads'; }
rule_threads() { ctl status --json | jq -r '.rules[] | select(.name == "short") | .threads'; }
# listed PIDS...: the managed threads whose pid is one of PIDS.
listed() {
        ctl list --json >"$T/list.json" || fail "list --json: exit $?"
        jq -r --arg p " $* " '.[] | .pid as $x | select($p | contains(" \($x) ")) | "\(.pid)/\(.tid)"' \
                "$T/list.json" || fail "list --json is not what jq expects: $(head -c 300 "$T/list.json")"
}

base=$(managed)
expect_eq "$base" 0 "nothing managed before the test processes"

# 30 short-lived processes with 2 workers each, 10 at a time; each lives 1 s
# (long enough to be pinned) and is reaped by this shell.
pids=()
for batch in 1 2 3; do
        bp=()
        for i in $(seq 10); do
                "$T/$C" --threads 2 --hold 1 >/dev/null 2>&1 &
                bp+=($!)
        done
        pids+=("${bp[@]}")
        wait "${bp[@]}"
done
expect_eq "${#pids[@]}" 30 "30 processes started and reaped"
seen=0
for p in "${pids[@]}"; do [ -n "$(event_lines applied rule=short pid="$p")" ] && seen=$((seen + 1)); done
[ "$seen" -ge 25 ] || fail "only $seen of 30 processes were pinned while they lived; the test needs them managed first"
ok "$seen of 30 processes were pinned while alive"

# The exit events are in the daemon's queue by now; give it a moment, no more.
for i in $(seq 40); do
        [ "$(managed)" = "$base" ] && [ -z "$(listed "${pids[@]}")" ] && break
        sleep 0.05
done
left=$(listed "${pids[@]}")
[ -z "$left" ] || fail "list --json still shows $(wc -l <<<"$left") threads of reaped processes 2 s after they exited: $(head -n 5 <<<"$left" | tr '\n' ' ')"
ok "list shows none of the reaped processes"
expect_eq "$(managed)" "$base" "status managed_threads back to $base"
expect_eq "$(rule_threads)" 0 "rule 'short' counts no threads"

# A zombie: the parent never reaps it. It is dead at its exit event, so it is
# forgotten although /proc/PID still exists.
/usr/bin/python3 -c '
import os, sys, time
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "--threads", "2", "--hold", "1"])
print(pid, flush=True)
time.sleep(60)' "$T/$C" >"$T/zombie.pid" 2>&1 &
zparent=$!
cleanup_add "kill $zparent"
wait_until 5 "the zombie's pid" test -s "$T/zombie.pid"
zpid=$(head -n 1 "$T/zombie.pid")
WAIT_SECS=5 wait_event applied rule=short pid="$zpid"
wait_until 5 "pid $zpid to become a zombie" sh -c "awk '{print \$3}' /proc/$zpid/stat | grep -qx Z"
ok "pid $zpid is a zombie (state Z), not reaped"
for i in $(seq 40); do
        [ -z "$(listed "$zpid")" ] && break
        sleep 0.05
done
left=$(listed "$zpid")
[ -z "$left" ] || fail "list --json shows the zombie's threads: $(tr '\n' ' ' <<<"$left")"
expect_eq "$(managed)" "$base" "status does not count the zombie"
expect_eq "$(rule_threads)" 0 "rule 'short' does not count the zombie"
no_event failed
stop_daemon
expect_eq "$DAEMON_STATUS" 0 "exit status after SIGTERM"
