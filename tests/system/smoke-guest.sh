#!/bin/sh
# smoke-guest.sh — the VM machinery alone (PINNERD_VM_SMOKE=1): the guest has the
# CPUs, isolation, cgroup v2 and journald the real test relies on.
fails=0 n=0
check() { # WHAT EXPECTED ACTUAL
	n=$((n + 1))
	if [ "$2" = "$3" ]; then echo "$n PASS $1: $3"; else echo "$n FAIL $1: expected '$2', saw '$3'"; fails=$((fails + 1)); fi
}
mask() { sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$1/status"; }
check "nproc --all" 6 "$(nproc --all)"
check "isolated CPUs" 4-5 "$(cat /sys/devices/system/cpu/isolated)"
check "cgroup2 at /sys/fs/cgroup" cgroup2fs "$(stat -f -c %T /sys/fs/cgroup)"
# This test's own unit is the boot's last job, so the state is "starting" until it ends.
check "failed units" 0 "$(systemctl list-units --failed --no-legend | wc -l)"
check "jobs besides this test" "" "$(systemctl list-jobs --no-legend | grep -v pinnerd-system-test)"
check "journald" active "$(systemctl is-active systemd-journald)"
echo "info: root subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
systemd-run --quiet --unit=probe-a sleep 60
sleep 0.5
a=$(systemctl show -p MainPID --value probe-a)
echo "info: before any AllowedCPUs: probe-a $(mask "$a"), pid1 $(mask 1), test shell $(mask $$)"
systemd-run --quiet -p AllowedCPUs=1-2 --unit=smoke-cpuset sleep 30
sleep 0.5
pid=$(systemctl show -p MainPID --value smoke-cpuset)
echo "info: root subtree_control now: $(cat /sys/fs/cgroup/cgroup.subtree_control); system.slice: $(cat /sys/fs/cgroup/system.slice/cgroup.subtree_control)"
echo "info: after AllowedCPUs: probe-a $(mask "$a"), pid1 $(mask 1), test shell $(mask $$)"
systemd-run --quiet --unit=probe-b sleep 60
sleep 0.5
echo "info: probe-b started after: $(mask "$(systemctl show -p MainPID --value probe-b)")"
check "cpuset of a unit with AllowedCPUs=1-2" 1-2 "$(cat /sys/fs/cgroup/system.slice/smoke-cpuset.service/cpuset.cpus.effective)"
check "mask of its process" 1-2 "$(mask "$pid")"
systemctl stop smoke-cpuset probe-a probe-b
echo "$((n - fails)) passed, $fails failed"
[ "$fails" = 0 ]
