#!/bin/bash
# Drift from an event: with verify = 0 (no periodic check at all), another
# process's sched_setaffinity on a pinned thread is noticed through the
# syscall tracepoints. drift = reapply: recorded and put back; log: recorded
# once, left as the other tool set it; ignore: neither. pinnerd's own pins
# are not drift, and a thread pinnerd does not manage is left alone.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2

# The tracepoints' ids live in tracefs; a host without it mounted (no
# systemd) gets it for this test only.
if [ ! -e /sys/kernel/tracing/events/syscalls ] && [ ! -e /sys/kernel/debug/tracing/events/syscalls ]; then
        grep -qw tracefs /proc/filesystems || skip "kernel without tracefs"
        mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || skip "cannot mount tracefs on /sys/kernel/tracing"
        cleanup_add "umount /sys/kernel/tracing"
fi
[ -e /sys/kernel/tracing/events/syscalls/sys_enter_sched_setaffinity ] ||
        [ -e /sys/kernel/debug/tracing/events/syscalls/sys_enter_sched_setaffinity ] ||
        skip "kernel without syscall tracepoints (CONFIG_FTRACE_SYSCALLS)"

C=$(unique_comm d)
conf() {
        write_conf "[pinnerd]
verify = 0
drift = $1
rescan = 0

[rule:held]
comm = $C
threads = w*
cpus = 1"
}
conf reapply
# This test is about the tracepoint source; the BPF source, preferred where
# it loads, has its own (74).
export PINNERD_DRIFT_SOURCE=tracepoint
start_daemon
src=$(ctl status --json | grep -o '"drift_events":"[a-z]*"' | cut -d'"' -f4)
[ "$src" = tracepoint ] || fail "drift-events: $src ($(ctl status --json | grep -o '"drift_events_reason":"[^"]*"'))"
ctl status | grep -q '^drift-events: tracepoint' || fail "status does not say drift-events: tracepoint"
ok "status: drift-events: tracepoint"

pt_start "$C" --threads 2
w0=$(pt_tid "$C" w0)
w1=$(pt_tid "$C" w1)
wait_mask "$w0" 1
wait_mask "$w1" 1
applied0=$(count_events applied)
no_event drift

# reapply: put back by the event path (verify = 0: nothing else could).
taskset -pc 0 "$w0" >/dev/null
wait_event drift rule=held tid="$w0" cpus=1 previous=0
wait_mask "$w0" 1 2
ok "drift = reapply: recorded, tid $w0 back on CPU 1 without any verify timer"
expect_eq "$(mask "$w1")" 1 "the other worker untouched"
expect_eq "$(count_events drift)" 1 "one drift record: pinnerd's own re-pin is not drift"

# A thread no rule manages: somebody may set any mask on it.
pt_cmd "$C" "spawn x0"
pt_wait "$C" "^thread [0-9]+ x0\$"
x0=$(pt_tid "$C" x0)
sleep 0.2
taskset -pc 0 "$x0" >/dev/null
hold_mask "$x0" 0 1
expect_eq "$(count_events drift)" 1 "an unmanaged thread's new mask is nobody's drift"

# log: recorded once, left as the other tool set it.
conf log
kill -HUP "$DAEMON_PID"
wait_event reloaded
taskset -pc 0 "$w1" >/dev/null
wait_event drift rule=held tid="$w1" previous=0
hold_mask "$w1" 0 2
taskset -pc 0 "$w1" >/dev/null
sleep 0.3
expect_eq "$(count_events drift tid="$w1")" 1 "drift = log: reported once, not re-applied"

# ignore: neither.
conf ignore
kill -HUP "$DAEMON_PID"
wait_mask "$w1" 1 3
before=$(count_events drift)
taskset -pc 0 "$w0" >/dev/null
hold_mask "$w0" 0 2
expect_eq "$(count_events drift)" "$before" "drift = ignore: no record, mask left as set"

# A dry run sets no mask: it has no drift to watch for, and says so.
stop_daemon
: >"$T/daemon.log"
start_daemon --dry-run
expect_eq "$(ctl status --json | grep -o '"drift_events":"[a-z]*"' | cut -d'"' -f4)" verify "dry run: drift-events: verify"
ctl status | grep -q '^drift-events: verify (a dry run sets no mask)$' || fail "status does not say why drift events are off"
ok "dry run: status says why"
