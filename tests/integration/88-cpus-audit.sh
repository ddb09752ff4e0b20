#!/bin/bash
# pinnerctl cpus and audit against the real machine: one row per CPU with
# its rules, tasks, IRQs and rates; audit CPUS names what can still run
# there and why, exits 1 exactly when something that could be moved does
# (a `taskset -c 1` intruder is named with "its owner narrowed it"), lists
# what cannot move without failing; a sample is a timer (the daemon keeps
# pinning meanwhile); a shield moves parents before children; hostile
# arguments are refused. IRQ and workqueue masks are put back at the end.
. "$HERE/lib.sh"
need_root
need_cpus 2
command -v jq >/dev/null || skip "needs jq"
[ -w /proc/irq/default_smp_affinity ] || skip "/proc/irq is read-only here"
. "$HERE/kmasks.sh"
kernel_masks_save >"$T/orig"
cleanup_add "kernel_masks_restore $T/orig"

C=$(unique_comm v)
cp /bin/sleep "$T/$C"
"$T/$C" 120 &
vm=$!
cleanup_add "kill $vm"
write_conf "[pinnerd]
verify = 0
[rule:vm]
comm = $C
cpus = 1
priority = 10
[rule:shield]
comm = *
avoid = 1
[rule:kshield]
kthreads = yes
avoid = 1
[rule:shield-irqs]
irqs = *
avoid = 1
[rule:shield-wq]
workqueues = yes
avoid = 1"
start_daemon
wait_mask "$vm" 1

# cpus: a row per CPU, the vm rule on CPU 1, and JSON with every field.
ctl cpus --sample 1 >"$T/cpus" || fail "cpus: $(cat "$T/cpus")"
grep -q '^CPU  CORE  PKG  NODE  LLC  ONLINE  ISOLATED  RULES' "$T/cpus" || fail "cpus header: $(cat "$T/cpus")"
awk '$1 == 1' "$T/cpus" | grep -q 'vm 1' || fail "cpus: CPU 1 does not show rule vm: $(cat "$T/cpus")"
ctl cpus --json --sample 0 | jq -e '.cpus | length >= 2 and (.[1].rules.vm == 1) and (.[0].online == true)
        and (.[1].pinned >= 1) and (.[0] | has("interrupts_per_sec") and has("context_switches_per_sec"))' >/dev/null ||
        fail "cpus --json: $(ctl cpus --json --sample 0)"
ctl cpus 1 --sample 0 | awk 'NR > 2 && /^ *[0-9]/' | wc -l | grep -qx 1 || fail "cpus 1 shows more than CPU 1: $(ctl cpus 1 --sample 0)"
ok "cpus"

# audit 1: the vm's thread is an owner; the rest that can run there, each
# with a reason; exit status 1 exactly when something movable intrudes.
ctl audit 1 --json >"$T/a.json"
rc=$?
jq -e . "$T/a.json" >/dev/null || fail "audit --json is not JSON: $(head -c 500 "$T/a.json")"
n=$(jq '.intruders' "$T/a.json")
expect_eq "$rc" "$([ "$n" = 0 ] && echo 0 || echo 1)" "audit's exit status says whether something intrudes ($n)"
jq -e --argjson p "$vm" '[.tasks[] | select(.pid == $p and .class == "owner" and .rule == "vm")] | length == 1' "$T/a.json" >/dev/null ||
        fail "the vm thread is not listed as an owner: $(jq -c '.tasks' "$T/a.json")"
jq -e '[.tasks[] | select(.intruder and (.why | length) == 0)] | length == 0' "$T/a.json" >/dev/null ||
        fail "an intruder without a reason: $(jq -c '.tasks' "$T/a.json")"
# No user task of ours intrudes: the shield moved them.
jq -e '[.tasks[] | select(.class == "movable" and (.why | test("narrowed") | not))] | length == 0' "$T/a.json" >/dev/null ||
        fail "user tasks still on CPU 1: $(jq -c '[.tasks[] | select(.class == "movable")]' "$T/a.json")"
jq -e '[.irqs[] | select(.state == "intruder")] | length == 0' "$T/a.json" >/dev/null ||
        fail "movable IRQs still on CPU 1: $(jq -c '.irqs' "$T/a.json")"
jq -e '[.workqueues[] | select(.intruder)] | length == 0' "$T/a.json" >/dev/null ||
        fail "workqueue masks still include CPU 1: $(jq -c '.workqueues' "$T/a.json")"
jq -e '.interrupts[0] | .cpu == 1 and has("device") and has("timer") and has("resched") and has("call") and has("tlb")' \
        "$T/a.json" >/dev/null || fail "no interrupts by kind: $(jq -c '.interrupts' "$T/a.json")"
ok "audit 1 after a full shield: no task, IRQ or workqueue mask that could move (what cannot move is listed)"

# A taskset intruder: named, with why, and audit fails.
taskset -c 1 sleep 120 &
intr=$!
cleanup_add "kill $intr"
wait_mask "$intr" 1
sleep 0.3
ctl audit 1 >"$T/a.txt"
expect_eq "$?" 1 "audit exits 1 with a taskset -c 1 intruder"
grep -E "^ *$intr +$intr +sleep +sleep +1 +its owner narrowed it to CPUs 1, and rule shield \(avoid\) never widens" "$T/a.txt" ||
        fail "the intruder is not named with the reason: $(cat "$T/a.txt")"
grep -q '^INTRUDERS: [1-9]' "$T/a.txt" || fail "no INTRUDERS verdict: $(tail -n 3 "$T/a.txt")"
kill "$intr"
wait "$intr" 2>/dev/null
ok "a taskset -c 1 intruder is named and fails the audit"

# The sample is a timer: the daemon pins a new process while an audit samples.
ctl audit 1 --sample 3 >/dev/null &
ap=$!
sleep 0.5
"$T/$C" 120 &
vm2=$!
cleanup_add "kill $vm2"
wait_mask "$vm2" 1 1
kill -0 "$ap" 2>/dev/null || fail "the audit finished before its 3 s sample"
ok "pinned during a 3 s audit sample"
wait "$ap"

# A non-root peer gets an answer about what it may see.
su nobody -s /bin/sh -c "$PINNERCTL --socket $SOCK audit 1 --sample 0 --json" >"$T/nobody.json" 2>&1
rc=$?
[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "audit as nobody exited $rc: $(cat "$T/nobody.json")"
jq -e '.tasks | type == "array"' "$T/nobody.json" >/dev/null || fail "audit as nobody: $(head -c 300 "$T/nobody.json")"
ok "audit as nobody"

# Hostile arguments: usage errors, nothing asked of the daemon.
for args in "audit" "audit x" "audit 1-" "audit 99999" "audit 1 2" "audit 1 --sample 61" "audit 1 --sample -1" \
        "audit 1 --sample 1.5" "cpus --sample x" "cpus 0,,1" "status --sample 1" "audit sample=1"; do
        # shellcheck disable=SC2086
        ctl $args >/dev/null 2>"$T/err"
        expect_eq "$?" 2 "pinnerctl $args"
done
"$PINNERCTL" --socket "$SOCK" audit "$(printf '1\001')" >/dev/null 2>&1
expect_eq "$?" 2 "audit with a control byte"

stop_daemon
kernel_masks_save >"$T/after"
diff "$T/orig" "$T/after" || fail "IRQ, default or workqueue masks not back as they were"
ok "every mask back at stop"
exit 0
