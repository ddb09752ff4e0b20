#!/bin/bash
# A user's `list` and `explain` read where a process's memory is
# (numa_maps) a piece at a time. With a rule that moves memory (or on a
# host with several nodes), both show the memory locality of the processes
# they name; the kernel walks every mapping as numa_maps is read, and
# nobody can make a process with 50,000 of them: read whole, ~70 ms in one
# piece of nobody's work, and the daemon (at SCHED_FIFO 1, as the unit runs
# it) then pauses accepting for nine times that (budget.h), so root's
# status waited ~0.5 s. Now a slice reads 64 KiB of it: root's slowest
# status stays within MAX_MS of its slowest with no request of nobody's,
# and the figure is still there.
. "$(dirname "$0")/lib.sh"
need_root
command -v chrt >/dev/null || skip "needs chrt to run the daemon at SCHED_FIFO 1"
[ -r /proc/self/numa_maps ] || skip "this kernel has no numa_maps (no NUMA support)"
NMAPS=${NUMA_MAPS_MAPPINGS:-50000}
[ "$(cat /proc/sys/vm/max_map_count)" -gt $((NMAPS + 1000)) ] || skip "vm.max_map_count is below $NMAPS mappings"
MAX_MS=${NUMA_MAPS_MAX_MS:-150}

# Named at its exec, so the rule takes it from the exec event.
name=$(unique_comm nm)
nobody_setup "$HELPERS/manymaps:$name"
write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:nm]
comm = $name
cpus = 0-1
memory = follow"
start_daemon_fifo --log-level info

"${NOBODY[@]}" "$T/$name" "$name" "$NMAPS" 300 >"$T/mm.out" 2>&1 &
mm=$!
cleanup_add "kill -KILL $mm"
wait_until 60 "nobody's process with $NMAPS mappings" grep -q '^ready' "$T/mm.out"
wait_until 10 "the rule to take it" sh -c "'$PINNERCTL' --socket '$SOCK' list $mm | grep -qE '^ *$mm +$mm '"

base=$(status_slowest true) || exit 1
echo "root's slowest status while nobody asks nothing: $base ms"
for verb in "list" "explain $mm"; do
        # Past the once-a-second cache of the last read.
        sleep 1.1
        # shellcheck disable=SC2086
        max=$(status_slowest "${NOBODY[@]}" "$T/pinnerctl" --socket "$SOCK" $verb) || exit 1
        echo "root's slowest status while nobody's $verb reads $NMAPS mappings: $max ms"
        [ "$max" -le $((base + MAX_MS)) ] || fail "nobody's $verb held root's status $max ms (alone: $base ms)"
        case $verb in
        list) grep -qE "^ *$mm +$mm .* 100%$" "$T/out" || fail "nobody's list: no LOCAL 100% for $mm: $(head -c 600 "$T/out")" ;;
        *) grep -q "^memory: 100% of " "$T/out" || fail "nobody's explain: no memory line: $(head -c 600 "$T/out")" ;;
        esac
        ok "root is answered at once while nobody's $verb reads the numa_maps of $NMAPS mappings, and it shows them"
done
# Root's own request, the same way.
sleep 1.1
ctl explain "$mm" --json >"$T/json" || fail "root's explain --json"
[ "$(jq -r .memory.local_permille "$T/json")" = 1000 ] || fail "root's explain --json: $(jq -c .memory "$T/json")"
ok "root's explain --json: local_permille 1000"
kill -0 "$DAEMON_PID" || fail "the daemon died"
