#!/bin/bash
# memory = follow on a host with one NUMA node (this project's machines): it
# does nothing, and pinnerd says so once, whatever happens after (a reload, a
# rescan, more processes); explain, list and metrics still show the locality
# (all of a process's memory is on its one node) and count nothing moved.
# Bad values of the key are refused with file:line by --check and by a reload,
# which keeps the rules in force. A host with several nodes is 111's.
. "$HERE/lib.sh"
need_root
[ -x "$HELPERS/memtouch" ] || fail "$HELPERS/memtouch is not built"
nodes=$(ls -d /sys/devices/system/node/node[0-9]* 2>/dev/null | wc -l)
[ "$nodes" -le 1 ] || skip "this host has $nodes NUMA nodes: 111-memory-follow covers it, not the one-node path"

name=$(unique_comm mf)
write_conf "[rule:m94]
comm = $name
cpus = 0
memory = follow

[rule:m94-keep]
comm = ${name}k
cpus = 0"
start_daemon

# The notice, once, at start.
wait_log "event=memory" 5
grep -q "memory = follow or interleave does nothing on this host (rule m94): it has one NUMA node" "$T/daemon.log" ||
        fail "no one-node notice: $(grep event=memory "$T/daemon.log")"
ok "one-node notice at start"

# A process that fills 16 MiB and takes the rule's name: pinned, memory left alone.
"$HELPERS/memtouch" "$name" 16 0-1 "$T/mt.report" >"$T/mt.out" 2>&1 &
mt=$!
cleanup_add "kill $mt; wait $mt"
wait_mask "$mt" 0 10
for i in $(seq 100); do grep -q phase=running "$T/mt.report" 2>/dev/null && break; sleep 0.1; done

ctl reload >"$T/reload" 2>&1 || fail "reload: $(cat "$T/reload")"
ctl rescan >/dev/null 2>&1 || fail "rescan"
"$HELPERS/memtouch" -t "$name" 4 0-1 "$T/mt2.report" >/dev/null 2>&1 &
mt2=$!
cleanup_add "kill $mt2; wait $mt2"
wait_mask "$mt2" 0 10
sleep 1
expect_eq "$(grep -c 'event=memory' "$T/daemon.log")" 1 "memory records after a reload, a rescan and a second process"
grep -q 'moved [0-9]* pages' "$T/daemon.log" && fail "pages were moved on a one-node host: $(grep 'moved' "$T/daemon.log")"

# explain: the locality, and why nothing moves.
out=$(ctl explain "$mt") || fail "explain $mt"
grep -q "^memory: 100% of [0-9.]* MiB on node 0, its CPUs' node (node 0: " <<<"$out" ||
        fail "explain: no locality line: $out"
grep -qF "memory = follow (rule m94): pages stay where they are: this host has one NUMA node" <<<"$out" ||
        fail "explain: no memory rule line: $out"
ok "explain: 100% on node 0, and why nothing moves"
json=$(ctl explain "$mt" --json) || fail "explain --json"
expect_eq "$(jq -r '.memory.local_permille, .memory.verdict, .memory.mode, .memory.rule, .memory.pages_moved' <<<"$json" | tr '\n' ' ')" \
        "1000 one-node follow m94 0 " "explain --json: memory"
[ "$(jq -r .memory.resident_kb <<<"$json")" -ge 16384 ] || fail "explain --json: resident_kb $(jq .memory <<<"$json")"
ok "explain --json: resident_kb $(jq -r .memory.resident_kb <<<"$json") (16 MiB filled)"

# list: JSON has the figure; the text has a LOCAL column (a rule moves memory).
expect_eq "$(ctl list --json | jq -r --argjson p "$mt" '[.[] | select(.pid == $p) | .memory_local_permille] | unique | .[]')" \
        1000 "list --json: memory_local_permille of each of its threads"
ctl list >"$T/list"
head -n 1 "$T/list" | grep -q 'LOCAL$' || fail "list: no LOCAL column: $(head -n 1 "$T/list")"
grep -E "^ *$mt +$mt .* 100%$" "$T/list" >/dev/null || fail "list: no 100% for $mt: $(cat "$T/list")"
ok "list: LOCAL 100%"

# A process pinnerd manages no thread of: explain still shows its locality.
sleep 60 &
other=$!
cleanup_add "kill $other"
out=$(ctl explain "$other") || fail "explain $other"
grep -q "^memory: 100% of .* on node 0" <<<"$out" || fail "explain of an unmanaged process: $out"
grep -q "^memory = " <<<"$out" && fail "explain of an unmanaged process names a memory rule: $out"
ok "explain of a process no rule manages: its locality, no memory rule"

# metrics: nothing moved, nothing failed.
ctl metrics >"$T/metrics"
for m in 'pinnerd_memory_pages_moved_total 0' 'pinnerd_memory_pages_unmovable_total{reason="shared"} 0' \
        'pinnerd_memory_pages_unmovable_total{reason="busy"} 0' 'pinnerd_memory_move_seconds_total 0.000000'; do
        grep -qxF "$m" "$T/metrics" || fail "metrics: no '$m' in: $(grep memory "$T/metrics")"
done
ok "metrics: 0 pages moved, none failed, no time spent"

# Bad values: --check names file:line, a reload refuses them and keeps the rules.
printf '[rule:x]\ncomm = x\ncpus = 0\nmemory = bind:1\n' >"$T/bad.conf"
chmod 0644 "$T/bad.conf"
out=$("$PINNERD" --check --config "$T/bad.conf" --config-dir "$T/none" 2>&1)
rc=$?
expect_eq "$rc" 1 "--check exit status for memory = bind:1"
grep -qF "$T/bad.conf:4: memory 'bind:1' must be keep, follow or interleave" <<<"$out" || fail "--check: $out"
ok "--check names file:line"
cp "$T/pinnerd.conf" "$T/good.conf"
printf '\n[rule:k]\nkthreads = yes\ncpus = 0\nmemory = interleave\n' >>"$T/pinnerd.conf"
out=$(ctl reload 2>&1)
rc=$?
expect_eq "$rc" 1 "reload exit status with memory on a kthreads rule"
grep -qF "pinnerd.conf:13: [rule:k]: memory = interleave is for processes" <<<"$out" || fail "reload: $out"
grep -q "kept previous configuration" <<<"$out" || fail "reload: $out"
cp "$T/good.conf" "$T/pinnerd.conf"
expect_eq "$(mask "$mt")" 0 "still pinned after the refused reload"
expect_eq "$(grep -c 'event=memory' "$T/daemon.log")" 1 "still one memory record"
