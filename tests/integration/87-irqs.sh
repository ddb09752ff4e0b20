#!/bin/bash
# irqs and workqueues rules on this machine's real IRQs: every IRQ that can
# move goes off the shielded CPU, default_smp_affinity and the workqueue
# masks too; an IRQ the kernel will not move (this machine's disk queue,
# EPERM) is named once per rule, however often the rules are decided again;
# originals are in the state file before the first write, a killed daemon's
# successor puts them back, and a stop puts back every IRQ affinity,
# default_smp_affinity and workqueue mask exactly. Drift (a hand-written
# mask) is undone at verify; follow puts an IRQ on its rule's thread's CPU
# and moves it with the thread; irqbalance that does not ban the shielded
# CPU is named with the fix. The test puts back everything it found, even
# when it fails.
. "$HERE/lib.sh"
need_root
need_cpus 2
[ -r /proc/interrupts ] && [ -d /proc/irq ] || skip "no /proc/interrupts or /proc/irq"
[ -w /proc/irq/default_smp_affinity ] || skip "/proc/irq is read-only here"
. "$HERE/kmasks.sh"

# What this machine has now: every IRQ's affinity, the default and the
# workqueue masks; put back at the end whatever happens.
kernel_masks_save >"$T/orig"
cleanup_add "kernel_masks_restore $T/orig"

# The IRQs that can move: this kernel says so when the current mask is
# written back (an IRQ that cannot move refuses even that).
movable=() unmovable=()
for d in /proc/irq/[0-9]*; do
        n=$(basename "$d")
        grep -q "^ *$n:" /proc/interrupts || continue
        if (cat "$d/smp_affinity_list" >"$d/smp_affinity_list") 2>/dev/null; then movable+=("$n"); else unmovable+=("$n"); fi
done
[ ${#movable[@]} -gt 0 ] || skip "no IRQ here can move"
echo "IRQs that move: ${movable[*]}; that do not: ${unmovable[*]:-none}"

write_conf "[pinnerd]
verify = 1
[rule:shield-irqs]
irqs = *
avoid = 1
[rule:shield-wq]
workqueues = yes
avoid = 1"
start_daemon

# Every movable IRQ, default_smp_affinity and every workqueue mask off CPU 1.
for n in "${movable[@]}"; do
        l=$(cat "/proc/irq/$n/smp_affinity_list")
        [ "$l" = 0 ] || fail "IRQ $n: smp_affinity_list $l, expected 0"
done
ok "every movable IRQ requested off CPU 1 (${#movable[@]})"
expect_eq "$(cat /proc/irq/default_smp_affinity)" 1 "default_smp_affinity (hex) for IRQs that appear later"
if [ -f $WQ/cpumask ]; then
        expect_eq "$(cat $WQ/cpumask)" 1 "the unbound workqueue cpumask"
        for f in $WQ/*/cpumask; do [ -f "$f" ] && expect_eq "$(cat "$f")" 1 "$f"; done
fi
# The originals are on disk, one line per thing changed.
grep -q '^D 0-1$' "$T/state" || fail "no default_smp_affinity original in the state file: $(cat "$T/state")"
for n in "${movable[@]}"; do
        grep -q "^I $n " "$T/state" || fail "IRQ $n's original is not in the state file: $(cat "$T/state")"
done
[ ! -f $WQ/cpumask ] || grep -q '^W \* ' "$T/state" || fail "no workqueue original in the state file"
ok "originals in $T/state"
grep -q 'event=applied rule=shield-irqs cpus=0 irq=' "$T/daemon.log" || fail "no applied record with irq="
# Rules about IRQs and workqueues match no thread by design: not "unmatched".
! grep -q 'match nothing running' "$T/daemon.log" || fail "$(grep 'match nothing running' "$T/daemon.log")"
ctl status --json | jq -e '.rules[0].target == "irqs" and .rules[0].irqs > 0 and .rules[1].target == "workqueues" and (.rules[0].does | startswith("IRQs: avoid 1"))' >/dev/null ||
        fail "status --json rules: $(ctl status --json | jq -c .rules)"
# pinnerctl run takes rules about tasks only.
out=$(ctl run shield-irqs -- true 2>&1)
expect_eq "$?" 1 "run with a rule about IRQs: exit status"
grep -q "rule 'shield-irqs' is about IRQs, not for a command" <<<"$out" || fail "run shield-irqs: $out"

# An IRQ that cannot move: named once, with the reason, whatever happens after.
if [ ${#unmovable[@]} -gt 0 ]; then
        n=${unmovable[0]}
        wait_log "rule shield-irqs: [0-9]+ IRQs? cannot move.*$n [^:]*: "
        ctl reload >/dev/null || fail "reload"
        ctl rescan >/dev/null || fail "rescan"
        sleep 2.2 # two verify passes
        expect_eq "$(grep -c 'IRQs\? cannot move' "$T/daemon.log")" 1 "unmovable IRQs named once (reload, rescan, verify)"
        ctl explain "irq:$n" | grep -q 'cannot move:' || fail "explain irq:$n does not say it cannot move: $(ctl explain "irq:$n")"
        ctl status | grep -q "irqs: .* ${#unmovable[@]} cannot move" || fail "status: $(ctl status | grep irqs)"
        ok "IRQ $n cannot move: named once, in explain and status"
else
        echo "note: every IRQ here can move; the unmovable path is covered by the VM test"
fi

# Drift: someone writes an IRQ's mask; verify (1 s) writes the rule's back.
n=${movable[0]}
echo 0-1 >"/proc/irq/$n/smp_affinity_list"
for i in $(seq 60); do [ "$(cat /proc/irq/$n/smp_affinity_list)" = 0 ] && break; sleep 0.05; done
expect_eq "$(cat /proc/irq/$n/smp_affinity_list)" 0 "IRQ $n moved back after someone else's write"
grep -q "event=drift rule=shield-irqs cpus=0 irq=$n .*previous=0-1" "$T/daemon.log" || fail "no drift record for IRQ $n"

# explain irq:N and status.
ctl explain "irq:$n" >"$T/explain" || fail "explain irq:$n"
grep -q "rule shield-irqs (priority 0) takes it" "$T/explain" || fail "explain irq:$n: $(cat "$T/explain")"
grep -q "smp_affinity_list 0 (pinnerd's; originally" "$T/explain" || fail "explain irq:$n: $(cat "$T/explain")"
ctl explain "irq:$n" --json | jq -e --arg n "$n" '.irq == ($n | tonumber) and .rule == "shield-irqs" and .movable' >/dev/null ||
        fail "explain irq:$n --json: $(ctl explain "irq:$n" --json)"
ctl status --json | jq -e '.irqs.default_smp_affinity == "0" and .irqs.default_smp_affinity_original == "0-1"' >/dev/null ||
        fail "status --json: $(ctl status --json | jq -c .irqs)"
ok "explain irq:$n and status"

# Hostile arguments: refused with exit 2, nothing asked.
for bad in irq: irq:x irq:-1 irq:1x "irq: 3" irq:99999999999; do
        ctl explain "$bad" >/dev/null 2>"$T/err"
        rc=$?
        [ "$rc" = 2 ] || [ "$rc" = 1 ] || fail "explain '$bad' exited $rc: $(cat "$T/err")"
done
ctl explain irq:1048575 >/dev/null 2>&1
expect_eq "$?" 1 "explain of an IRQ that does not exist"

# kill -9: the successor takes the originals over and puts them back at stop.
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=
expect_eq "$(cat "/proc/irq/$n/smp_affinity_list")" 0 "IRQ $n still off CPU 1 after kill -9"
write_conf "[pinnerd]
verify = 0"
start_daemon
grep -q 'IRQ originals taken over from a previous run' "$T/daemon.log" || fail "the successor did not take the IRQ originals over"
# No rule any more: the reload-time release already put them back.
stop_daemon
kernel_masks_save >"$T/after"
diff <(grep -v '^irq' "$T/orig") <(grep -v '^irq' "$T/after") || fail "default or workqueue masks not back as they were"
diff <(grep '^irq' "$T/orig") <(grep '^irq' "$T/after") || fail "IRQ masks not back as they were"
ok "after kill -9, the successor put every IRQ, default and workqueue mask back exactly"

# follow: an IRQ on its rule's thread's CPU, and with it when it moves.
C=$(unique_comm f)
cp /bin/sleep "$T/$C"
"$T/$C" 60 &
sp=$!
cleanup_add "kill $sp"
write_conf "[pinnerd]
verify = 0
[rule:t]
comm = $C
cpus = 1
[rule:nic]
irqs = $n
follow = t"
start_daemon
wait_mask "$sp" 1
expect_eq "$(cat /proc/irq/$n/smp_affinity_list)" 1 "IRQ $n follows rule t's thread to CPU 1"
sed -i 's/^cpus = 1$/cpus = 0/' "$T/pinnerd.conf"
ctl reload >/dev/null || fail "reload"
wait_mask "$sp" 0
expect_eq "$(cat /proc/irq/$n/smp_affinity_list)" 0 "IRQ $n follows the thread to CPU 0 after the reload"
# The thread goes away: nothing to follow, the IRQ is left as it is.
kill "$sp"
wait "$sp" 2>/dev/null
for i in $(seq 40); do grep -q "left IRQ $n .* rule nic: rule t manages no thread now" "$T/daemon.log" && break; sleep 0.05; done
grep -q "left IRQ $n .*rule nic: rule t manages no thread now" "$T/daemon.log" || fail "no 'nothing to follow' record"
stop_daemon
expect_eq "$(cat /proc/irq/$n/smp_affinity_list)" "$(awk -v n="$n" '$1 == "irq" && $2 == n {print $3}' "$T/orig")" \
        "IRQ $n back at stop"
ok "follow"

# irqbalance running without banning the shielded CPU is named, with the fix.
cp /bin/sleep "$T/irqbalance"
IRQBALANCE_BANNED_CPULIST=0 "$T/irqbalance" 60 &
ib=$!
cleanup_add "kill $ib"
write_conf "[rule:shield-irqs]
irqs = *
avoid = 1"
start_daemon
ctl status >"$T/status"
grep -q "irqbalance:   irqbalance (pid $ib) does not ban CPUs 1, which rules keep IRQs off.*IRQBALANCE_BANNED_CPULIST=0-1" "$T/status" ||
        fail "status does not name irqbalance and the fix: $(cat "$T/status")"
grep -q "event=conflict rule=shield-irqs" "$T/daemon.log" || fail "no conflict record"
ctl status --json | jq -e --argjson p "$ib" '.irqbalance.pid == $p and (.irqbalance.fix | test("IRQBALANCE_BANNED_CPULIST"))' >/dev/null ||
        fail "status --json: $(ctl status --json | jq -c .irqbalance)"
kill "$ib"
wait "$ib" 2>/dev/null
IRQBALANCE_BANNED_CPULIST=1 "$T/irqbalance" 60 &
ib=$!
cleanup_add "kill $ib"
ctl reload >/dev/null
ctl status | grep -q '^irqbalance:' && fail "irqbalance that bans CPU 1 is still named: $(ctl status | grep irqbalance)"
expect_eq "$(grep -c 'event=conflict' "$T/daemon.log")" 1 "the conflict said once"
stop_daemon
ok "irqbalance named with the fix, and not when it bans the CPU"

# A dry run writes nothing.
write_conf "[rule:shield-irqs]
irqs = *
avoid = 1
[rule:wq]
workqueues = yes
avoid = 1"
kernel_masks_save >"$T/before-dry"
start_daemon --dry-run
grep -q "would move IRQ $n " "$T/daemon.log" || fail "the dry run says nothing about IRQ $n"
stop_daemon
kernel_masks_save >"$T/after-dry"
diff "$T/before-dry" "$T/after-dry" || fail "a dry run changed a mask"
ok "a dry run writes nothing"
exit 0
