#!/bin/bash
# CPU hotplug re-plans every managed thread: a process spread over cpus = 0-1
# with CPU 1 taken offline ends up wholly on CPU 0, and gets CPU 1 back when
# it returns. The daemon hears of it through udev (sd-device), so this needs
# systemd-udevd, and it offlines a CPU of the whole machine: it runs only when
# asked to (PINNERD_TEST_HOTPLUG=1), on a machine of one's own.
# The VM system test (tests/system, step 14) proves the same on every CI run,
# where systemd-udevd does run.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
ONLINE=/sys/devices/system/cpu/cpu1/online
[ "${PINNERD_TEST_HOTPLUG:-0}" = 1 ] || skip "would offline a CPU of a shared machine; set PINNERD_TEST_HOTPLUG=1 to run it"
[ -w "$ONLINE" ] || skip "CPU 1 cannot be taken offline here ($ONLINE not writable)"
{ [ -S /run/udev/control ] || pidof systemd-udevd >/dev/null; } || skip "no systemd-udevd: the daemon gets no CPU hotplug events"
[ "$(cat "$ONLINE")" = 1 ] || skip "CPU 1 is offline already"
cleanup_add "echo 1 > $ONLINE"

C=$(unique_comm u)
write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:spread]
comm = $C
threads = w*
cpus = 0-1
spread = yes"
start_daemon
pt_start "$C" --threads 2
w0=$(pt_tid "$C" w0)
w1=$(pt_tid "$C" w1)
wait_mask "$w0" 0
wait_mask "$w1" 1

echo 0 >"$ONLINE"
wait_log 'online CPUs changed from 0-1 to 0' 5
wait_mask "$w0" 0
wait_mask "$w1" 0
ok "CPU 1 offline: both workers on CPU 0"

echo 1 >"$ONLINE"
wait_log 'online CPUs changed from 0 to 0-1' 5
for i in $(seq 100); do [ "$(mask "$w0")$(mask "$w1")" = 01 ] || [ "$(mask "$w0")$(mask "$w1")" = 10 ] && break; sleep 0.05; done
case "$(mask "$w0"),$(mask "$w1")" in
0,1 | 1,0) ok "CPU 1 back: workers spread again ($(mask "$w0"),$(mask "$w1"))" ;;
*) fail "CPU 1 back: workers on $(mask "$w0") and $(mask "$w1"), expected one each on 0 and 1" ;;
esac
