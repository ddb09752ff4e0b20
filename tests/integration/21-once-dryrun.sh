#!/bin/bash
# --once pins what is running and exits 0, leaving the pins (no restore);
# --dry-run decides and logs "would pin" but never changes a mask;
# --root DIR --once runs the whole daemon on a captured tree (dry run).
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2

C=$(unique_comm o)
conf() {
        write_conf "[pinnerd]
restore = yes
rescan = 0
verify = $1

[rule:once]
comm = ${C}*
cpus = 1"
}

# --once
conf 0
pt_start "${C}a" --threads 2
a=$PT_PID
timeout 20 "$PINNERD" --once --config "$T/pinnerd.conf" --config-dir "$T/d" --socket "$SOCK" \
        --log-target stderr --log-level debug >"$T/daemon.log" 2>&1
expect_eq "$?" 0 "pinnerd --once exit status"
for t in "$a" $(pt_tid "${C}a" w0) $(pt_tid "${C}a" w1); do
        expect_eq "$(mask "$t")" 1 "--once: tid $t pinned and left pinned"
        [ -n "$(event_lines applied rule=once tid="$t" cpus=1)" ] || fail "no applied record for tid $t"
done
no_event restored
[ ! -e "$SOCK" ] || fail "--once left a control socket"
ok "--once: applied, exited, nothing restored"
mv "$T/daemon.log" "$T/daemon-once.log"

# --dry-run, as a daemon, with the drift check on: a process found by the
# first scan and one found by its exec event.
conf 1
pt_start "${C}b" --threads 1
b=$PT_PID
start_daemon --dry-run
grep -q '(dry run) \[event=started' "$T/daemon.log" || fail "started record does not say dry run"
wait_event applied rule=once tid="$b" cpus=1 previous=0-1
pt_start "${C}c"
c=$PT_PID
wait_event applied rule=once tid="$c" cpus=1 previous=0-1
grep -q "would pin ${C}c/${C}c (pid $c, tid $c)" "$T/daemon.log" || fail "no 'would pin' message for $c"
hold_mask "$c" 0-1 3
for t in "$b" $(pt_tid "${C}b" w0); do expect_eq "$(mask "$t")" 0-1 "--dry-run: tid $t untouched"; done
if grep -q "pinned ${C}b/" "$T/daemon.log"; then fail "--dry-run logged 'pinned' instead of 'would pin'"; fi
# The masks stay as they are: that is not drift (pinnerd never set them), and
# the decision is not news each time the daemon looks again (SPEC: nothing is
# logged more than once per tid, start time and reason).
problems=
n_drift=$(count_events drift)
[ "$n_drift" = 0 ] || problems="$problems; $n_drift drift records for masks pinnerd never set (first: $(event_lines drift | head -1))"
for t in "$b" $(pt_tid "${C}b" w0) "$c"; do
        n=$(count_events applied rule=once tid="$t")
        [ "$n" = 1 ] || problems="$problems; $n 'would pin' records for tid $t in 3 s"
done
[ -z "$problems" ] || fail "--dry-run with verify = 1${problems}"
ok "--dry-run: would pin once per thread, masks untouched, no drift reported over 3 verify periods"
stop_daemon
expect_eq "$DAEMON_STATUS" 0 "--dry-run daemon exit status"
expect_eq "$(mask "$c")" 0-1 "still untouched after stop"
mv "$T/daemon.log" "$T/daemon-dry.log"

# --root on the captured 2-CPU host (tests/fixtures/README.md): qemu vCPU
# threads in a v1 cpuset of CPU 1, and a process with a hostile name whose
# thread name holds a newline.
FIX=$(cd "$HERE/../fixtures/host-2cpu" 2>/dev/null && pwd) || skip "no tests/fixtures/host-2cpu"
write_conf "[pinnerd]
[rule:vcpus]
comm = qemu-system-*
threads = CPU */KVM
cpus = 0-1
spread = yes

[rule:hostile]
comm = a) b (c
cpus = 0"
timeout 20 "$PINNERD" --root "$FIX" --once --config "$T/pinnerd.conf" --config-dir "$T/d" --socket "$SOCK" \
        --log-target stderr --log-level debug >"$T/daemon.log" 2>&1
expect_eq "$?" 0 "pinnerd --root $FIX --once exit status"
grep -q '(dry run) \[event=started' "$T/daemon.log" || fail "--root did not imply --dry-run"
wait_event applied rule=hostile pid=777 tid=777 cpus=0 previous=0-1
wait_event applied rule=hostile pid=777 tid=778 'thread=x\ny' cpus=0
grep -q 'would pin a) b (c/x\\ny (pid 777, tid 778)' "$T/daemon.log" || fail "hostile thread name not escaped on one line"
no_event applied rule=vcpus
no_event failed
no_event skipped
grep -q '^pinnerd: info: pinned ' "$T/daemon.log" && fail "--root run claims to have pinned something"
ok "--root fixture: would pin both threads of pid 777; vCPUs already on their cpuset's CPU 1"
