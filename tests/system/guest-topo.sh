#!/bin/sh
# guest-topo.sh DATADIR — pinnerd on a machine with real SMT siblings (run.sh's
# trixie-smt boot: Debian 13, 8 vCPUs as 2 sockets x 2 cores x 2 threads, nothing
# isolated at boot, cgroup v2 only). Installs DATADIR/pinnerd_*.deb with `apt install`
# as guest-test.sh does, then proves on the real unit:
#   - topology terms and spread: `spread = index` maps vCPU-like threads created out of
#     order (and re-created, and after a restart of pinnerd); `spread = yes` uses
#     distinct cores; `spread = rule` stacks nothing across processes;
#     `package:1 & smt-primary` is the first thread of each core of socket 1
#   - `policy = fifo`, `rtprio = 1` shows in chrt -p and is undone at stop
#   - CPUs isolated at run time by a cgroup v2 isolated partition: no drift, no second
#     write, `status` names the partition, `housekeeping` leaves the CPU out
#   - a shield (`avoid`) below a vCPU rule; a negated `cgroup =` line
#   - drift noticed from the sched_setaffinity tracepoint with verify = 0, under the
#     unit's sandbox; `systemd-analyze security` stays <= 2.5
#   - what `systemctl daemon-reload` does to the partition, and the documented cure
# Every expectation about the CPUs is derived from sysfs, not from the qemu line.
# Ends with `apt purge`. Exit status 0 only when nothing failed.
set -u

data=${1:?usage: guest-topo.sh DATADIR}
conf=/etc/pinnerd.conf
pintest=/usr/local/bin/pintest
. "$data/guest-lib.sh" # step, ok, bad, check_*, eventually, mask, start_pintest, stop_units, reload_conf, j*

sys=/sys/devices/system/cpu
cg=/sys/fs/cgroup
iso=$cg/iso
units=

# ------------------------------------------------------------------ helpers
cpus_expand() { # CPULIST: one CPU number per line
	echo "$1" | tr ',' '\n' | awk -F- 'NF == 1 && $1 != "" { print $1 } NF == 2 { for (i = $1; i <= $2; i++) print i }'
}
cpus_list() { # CPU numbers on stdin, one per line: the kernel's list syntax
	sort -n -u | awk '
		function flush() { out = out (out == "" ? "" : ",") (s == p ? s : s "-" p) }
		NF == 0 { next }
		n++ == 0 { s = p = $1; next }
		$1 == p + 1 { p = $1; next }
		{ flush(); s = p = $1 }
		END { if (n) flush(); print out }'
}
cpus_minus() { # LIST MINUS: LIST without the CPUs of MINUS
	cpus_expand "$1" | awk -v m="$2" '
		BEGIN { n = split(m, r, ","); for (i = 1; i <= n; i++) {
			k = split(r[i], e, "-"); for (c = e[1]; c <= e[k]; c++) out[c] = 1 } }
		!($1 in out)' | cpus_list
}
nth_cpu() { # LIST N: the Nth CPU of LIST (0 first), modulo its size
	n=$(cpus_expand "$1" | wc -l)
	cpus_expand "$1" | sed -n "$(($2 % n + 1))p"
}
topo() { cat "$sys/cpu$1/topology/$2" 2>/dev/null || echo "?"; }
core_of() { echo "package $(topo "$1" physical_package_id) core $(topo "$1" core_id)"; }
primary_of() { cpus_expand "$(topo "$1" thread_siblings_list)" | head -n 1; }
policy_of() { # TID: "SCHED_X PRIO" as chrt -p says it
	chrt -p "$1" 2>&1 | awk -F': ' '/policy/ { p = $2 } /priority/ { q = $2 } END { print p, q }'
}
run_unit() { # UNIT COMMAND...: a transient service, stopped at the end
	u=$1
	shift
	units="$units $u"
	systemd-run --quiet --unit="$u" "$@"
}
unit_pid() { # UNIT: its MainPID once it is up (sleep/taskset have no threads to wait for)
	i=0
	while [ $i -lt 300 ]; do
		p=$(main_pid "$1")
		if [ "${p:-0}" != 0 ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "${2:-sleep}" ]; then
			echo "$p"
			return 0
		fi
		i=$((i + 1))
		sleep 0.1
	done
	echo 0
	return 1
}
spawn() { # UNIT NAME...: a pintest process with those threads, in that order; prints its pid
	units="$units $1"
	u=$1
	shift
	start_pintest "$u" -- "$@" || echo 0
}
pinnerd_pid() { main_pid pinnerd; }
json_get() { # PYTHON-EXPRESSION on the JSON document d, read from stdin
	python3 -c 'import json, sys; d = json.load(sys.stdin); print('"$1"')' 2>&1
}
list_effective() { # TID: the effective CPUs pinnerctl list --json reports for it
	pinnerctl list --json 2>/dev/null | json_get "next((t['effective'] for t in d if t['tid'] == $1), 'not listed')"
}
partition_gone() {
	[ -d "$iso" ] || return 0
	echo member >"$iso/cpuset.cpus.partition" 2>/dev/null
	rmdir "$iso" 2>/dev/null
}
cleanup() {
	stop_units
	partition_gone
	systemctl set-property --runtime system.slice AllowedCPUs= 2>/dev/null
}
trap cleanup EXIT

online=$(cat $sys/online)
echo "pinnerd topology test: $(nproc --all) CPUs, online $online," \
	"isolated '$(cat $sys/isolated)', $(stat -f -c %T $cg), $(systemctl --version | head -n 1), kernel $(uname -r)"

# The effective capabilities that matter for drift events (info lines).
cap_bits() { # PID: the effective capabilities that matter here
	e=$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$1/status")
	echo "CapEff $e: CAP_SYS_ADMIN $(((0x$e >> 21) & 1)) CAP_PERFMON $(((0x$e >> 38) & 1)) CAP_BPF $(((0x$e >> 39) & 1))"
}
# ------------------------------------------------------------------ T0. topology
step T0 "the guest's topology, from sysfs (what pinnerd reads)"
for c in $(cpus_expand "$online"); do
	info "cpu$c: $(core_of "$c"), siblings $(topo "$c" thread_siblings_list)," \
		"llc $(cat $sys/cpu$c/cache/index3/shared_cpu_list 2>/dev/null || echo none)"
done
lscpu -e 2>/dev/null | sed 's/^/  /'
check_eq "online CPUs" 8 "$(cpus_expand "$online" | wc -l)"
smt=$(for c in $(cpus_expand "$online"); do cpus_expand "$(topo "$c" thread_siblings_list)" | wc -l; done | sort -u | tr '\n' ' ')
check_eq "hardware threads per core (thread_siblings_list of every CPU)" "2 " "$smt"
pkgs=$(for c in $(cpus_expand "$online"); do topo "$c" physical_package_id; done | sort -u | tr '\n' ' ')
check_eq "packages (physical_package_id)" "0 1 " "$pkgs"
cores=$(for c in $(cpus_expand "$online"); do core_of "$c"; done | sort -u | wc -l)
check_eq "distinct cores" 4 "$cores"
primaries=$(for c in $(cpus_expand "$online"); do [ "$(primary_of "$c")" = "$c" ] && echo "$c"; done | cpus_list)
pkg1=$(for c in $(cpus_expand "$online"); do [ "$(topo "$c" physical_package_id)" = 1 ] && echo "$c"; done | cpus_list)
pkg1_primary=$(cpus_expand "$pkg1" | grep -xF "$(cpus_expand "$primaries")" | cpus_list)
info "smt-primary = $primaries, package:1 = $pkg1, package:1 & smt-primary = $pkg1_primary"
check_true "package 1 has one primary per core" "$pkg1_primary" \
	'[ "$(cpus_expand "$pkg1_primary" | wc -l)" = 2 ]'

# ------------------------------------------------------------------ T1. install
step T1 "apt install ./pinnerd_*.deb; the topology rules"
deb=$(ls "$data"/pinnerd_*.deb 2>/dev/null | head -n 1)
mkdir -p /root/pkg && cp "$deb" /root/pkg/
out=$(cd /root/pkg && apt install -y ./pinnerd_*.deb 2>&1)
rc=$?
check_true "apt install ./$(basename "$deb") (exit $rc)" "$(echo "$out" | grep -E '^(Setting up|E:)' | tr '\n' ' ')" '[ $rc = 0 ]'
check_eq "systemctl is-active pinnerd (started by the package)" active "$(systemctl is-active pinnerd 2>&1)"
reload_conf "issue 10 rules" <<EOF
# pinnerd topology test (tests/system/guest-topo.sh)
[pinnerd]
; drift is noticed from the tracepoint only (issue 12's check below)
verify = 0

[rule:vcpus]
comm = pintest
threads = CPU */KVM
cpus = 4-7
spread = index

[rule:spread-yes]
comm = pintest
threads = sy*
cpus = 0-3
spread = yes

[rule:spread-rule]
comm = pintest
threads = sr*
cpus = 0-3
spread = rule

[rule:socket1]
comm = pintest
threads = pk*
cpus = package:1 & smt-primary

[rule:rt]
comm = pintest
threads = rt*
cpus = 1
policy = fifo
rtprio = 1
EOF

# ------------------------------------------------------------------ T2. spread = index
step T2 "spread = index: 'CPU N/KVM' created out of order lands on the Nth CPU of 4-7"
vm=$(spawn vm1 "CPU 3/KVM" "CPU 1/KVM" "CPU 0/KVM" "CPU 2/KVM")
order=
for n in 3 1 0 2; do order="$order $(tid_of "$vm" "CPU $n/KVM")"; done
check_eq "tids ascend in creation order (CPU 3, 1, 0, 2)" "$(echo $order | tr ' ' '\n' | sort -n | tr '\n' ' ')" "$(echo $order | tr ' ' '\n' | tr '\n' ' ')"
for n in 3 1 0 2; do
	eventually "CPU $n/KVM on the CPU $n of 4-7" "$(nth_cpu 4-7 $n)" 60 tmask "$vm" "CPU $n/KVM"
done
out=$(pinnerctl explain "$vm" 2>&1)
check_contains "explain names the spread slot of CPU 3/KVM" \
	"spread: slot 3 of 4 CPUs (the number in the thread's name) → CPU $(nth_cpu 4-7 3)" "$out"
systemctl stop vm1
vm=$(spawn vm1b "CPU 2/KVM" "CPU 1/KVM")
eventually "CPU 1/KVM re-created (a new process) on the same CPU" "$(nth_cpu 4-7 1)" 60 tmask "$vm" "CPU 1/KVM"
eventually "CPU 2/KVM re-created on the same CPU" "$(nth_cpu 4-7 2)" 60 tmask "$vm" "CPU 2/KVM"
old=$(pinnerd_pid)
out=$(systemctl restart pinnerd 2>&1)
rc=$?
check_true "systemctl restart pinnerd (exit $rc)" "${out:-ok} (MainPID $old -> $(pinnerd_pid))" \
	'[ $rc = 0 ] && [ "$(pinnerd_pid)" != "$old" ]'
eventually "CPU 1/KVM after the restart" "$(nth_cpu 4-7 1)" 60 tmask "$vm" "CPU 1/KVM"
eventually "CPU 2/KVM after the restart" "$(nth_cpu 4-7 2)" 60 tmask "$vm" "CPU 2/KVM"
t=$(tid_of "$vm" "CPU 1/KVM")
eventually "the new daemon set it (an applied record from its pid)" yes 30 \
	sh -c "[ \$(journalctl --no-pager -u pinnerd PINNERD_EVENT=applied PINNERD_TID=$t _PID=$(pinnerd_pid) -o cat | wc -l) -gt 0 ] && echo yes || echo no"
systemctl stop vm1b

# ------------------------------------------------------------------ T3. spread = yes
step T3 "spread = yes over 0-3: two threads of one process on different physical cores"
p=$(spawn spready sy0 sy1)
eventually "sy0 on one CPU of 0-3" yes 60 sh -c "m=\$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/$(tid_of "$p" sy0)/status); case \$m in [0-3]) echo yes;; *) echo \$m;; esac"
eventually "sy1 on one CPU of 0-3" yes 60 sh -c "m=\$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/$(tid_of "$p" sy1)/status); case \$m in [0-3]) echo yes;; *) echo \$m;; esac"
a=$(tmask "$p" sy0) b=$(tmask "$p" sy1)
check_true "sy0 on CPU $a ($(core_of "$a")), sy1 on CPU $b ($(core_of "$b"))" "different cores" \
	'[ "$(core_of "$a")" != "$(core_of "$b")" ]'
systemctl stop spready

# ------------------------------------------------------------------ T4. spread = rule
step T4 "spread = rule: two processes under one rule get distinct CPUs"
p1=$(spawn sra sr0 sr1)
for t in sr0 sr1; do
	eventually "process 1 $t on one CPU of 0-3" yes 60 sh -c "m=\$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/$(tid_of "$p1" $t)/status); case \$m in [0-3]) echo yes;; *) echo \$m;; esac"
done
p2=$(spawn srb sr0 sr1)
for t in sr0 sr1; do
	eventually "process 2 $t on one CPU of 0-3" yes 60 sh -c "m=\$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/$(tid_of "$p2" $t)/status); case \$m in [0-3]) echo yes;; *) echo \$m;; esac"
done
all="$(tmask "$p1" sr0) $(tmask "$p1" sr1) $(tmask "$p2" sr0) $(tmask "$p2" sr1)"
n=$(echo $all | tr ' ' '\n' | sort -u | wc -l)
check_true "four threads of two processes on four distinct CPUs" "$all" '[ "$n" = 4 ]'
systemctl stop sra srb

# ------------------------------------------------------------------ T5. package:1 & smt-primary
step T5 "cpus = package:1 & smt-primary: the first thread of each core of socket 1"
p=$(spawn socket1 pk0)
eventually "pk0 (rule socket1)" "$pkg1_primary" 60 tmask "$p" pk0
out=$(pinnerctl explain "$p" 2>&1)
check_contains "explain shows how the terms resolved" \
	"terms on this host: package:1 = $pkg1, smt-primary = $primaries" "$out"
check_contains "explain: effective" "effective $pkg1_primary" "$out"
systemctl stop socket1

# ------------------------------------------------------------------ T6. policy
step T6 "policy = fifo, rtprio = 1: set with the mask, undone at stop"
p=$(spawn rt rt0 other)
t=$(tid_of "$p" rt0)
eventually "chrt -p $t (rt0)" "SCHED_FIFO 1" 60 policy_of "$t"
check_eq "rt0's mask" 1 "$(mask "$t")"
check_eq "the unmatched thread keeps SCHED_OTHER" "SCHED_OTHER 0" "$(policy_of "$(tid_of "$p" other)")"
out=$(pinnerctl explain "$p" 2>&1)
check_contains "explain shows the policy" "policy fifo:1 (now fifo:1)" "$out"
eventually "journal: PINNERD_POLICY=fifo:1 for rule rt" yes 20 jhas rt PINNERD_POLICY fifo:1
orig=$(mask "$p")
out=$(systemctl stop pinnerd 2>&1)
rc=$?
check_true "systemctl stop pinnerd (exit $rc)" "${out:-ok}" '[ $rc = 0 ]'
check_eq "rt0 after stop: chrt -p" "SCHED_OTHER 0" "$(policy_of "$t")"
check_eq "rt0 after stop: the mask is back" "$orig" "$(mask "$t")"
systemctl stop rt
systemctl start pinnerd
check_eq "started again" active "$(systemctl is-active pinnerd)"

# ------------------------------------------------------------------ T7. runtime isolation
step T7 "an isolated cgroup v2 partition made while pinnerd runs: re-planned, not drift"
reload_conf "issue 11 rules" <<EOF
# pinnerd topology test (tests/system/guest-topo.sh)
[pinnerd]
verify = 0

[rule:pair]
comm = pintest
threads = pair*
cpus = 2-3
priority = 10

[rule:hk]
comm = pintest
threads = hk*
cpus = housekeeping
priority = 10
EOF
p=$(spawn part pair0 hk0)
pt=$(tid_of "$p" pair0)
ht=$(tid_of "$p" hk0)
eventually "pair0 (rule pair, cpus = 2-3)" 2-3 60 mask "$pt"
eventually "hk0 (rule hk, cpus = housekeeping) before the partition" "$online" 60 mask "$ht"
eventually "an applied record for pair0" 1 20 jcount PINNERD_EVENT=applied PINNERD_TID="$pt"
drift0=$(jcount PINNERD_EVENT=drift)
info "root cgroup.subtree_control before: '$(cat $cg/cgroup.subtree_control)'"
echo +cpuset >$cg/cgroup.subtree_control
mkdir -p "$iso"
echo 3 >"$iso/cpuset.cpus"
echo isolated >"$iso/cpuset.cpus.partition"
check_eq "cat $iso/cpuset.cpus.partition" isolated "$(cat "$iso/cpuset.cpus.partition" 2>&1)"
part=$(cat "$iso/cpuset.cpus.effective" 2>/dev/null)
hk=$(cpus_minus "$online" "$part")
info "partition CPUs $part; root cpuset.cpus.isolated '$(cat $cg/cpuset.cpus.isolated 2>&1)'; housekeeping now $hk"
eventually "the kernel narrowed pair0 to 2-3 minus the partition" "$(cpus_minus 2-3 "$part")" 20 mask "$pt"
out=$(pinnerctl rescan 2>&1)
rc=$?
check_true "pinnerctl rescan (exit $rc)" "$out" '[ $rc = 0 ]'
check_contains "the rescan wrote no mask (the daemon's own count)" ": 0 applied, 0 restored" "$out"
out=$(pinnerctl status 2>&1)
check_contains "pinnerctl status: CPU 3 isolated by the partition" "isolated:     3 (partition $iso)" "$out"
out=$(pinnerctl status --json 2>&1 | json_get 'd["isolated_cpus"], d["isolated_sources"]')
check_eq "pinnerctl status --json: isolated_cpus, isolated_sources" "3 {'partition $iso': '3'}" "$out"
check_eq "no drift record for the narrowed thread" 0 "$(jcount PINNERD_EVENT=drift PINNERD_TID="$pt")"
check_eq "no 'moved ... outside pinnerd' message at all" 0 \
	"$(journalctl --no-pager -u pinnerd -o cat | grep -c 'outside pinnerd')"
check_eq "no drift record since the partition" "$drift0" "$(jcount PINNERD_EVENT=drift)"
check_eq "no second write of pair0 (applied records)" 1 "$(jcount PINNERD_EVENT=applied PINNERD_TID="$pt")"
check_eq "pair0 stays where the kernel put it" "$(cpus_minus 2-3 "$part")" "$(mask "$pt")"
check_eq "pinnerctl list: pair0's effective CPUs" "$(cpus_minus 2-3 "$part")" "$(list_effective "$pt")"
out=$(pinnerctl explain "$p" 2>&1)
check_contains "explain pair0: the isolated CPU and where it comes from" "− isolated 3 (partition $iso) = 2" "$out"
check_contains "explain hk0: the housekeeping term without CPU 3" "housekeeping = $hk" "$out"
check_eq "pinnerctl list: hk0 (cpus = housekeeping) without CPU 3" "$hk" "$(list_effective "$ht")"
check_eq "hk0's mask" "$hk" "$(mask "$ht")"
q=$(spawn part2 hk1)
eventually "hk1 of a process started afterwards" "$hk" 60 tmask "$q" hk1
systemctl stop part part2

# ------------------------------------------------------------------ T8. shield
step T8 "a shield (avoid = 2-5) below a vCPU rule (cpus = 2-5, priority 10)"
run_unit before-shield sleep 900
bp=$(unit_pid before-shield)
reload_conf "vCPUs on 2-5, everything else off them" <<EOF
# pinnerd topology test (tests/system/guest-topo.sh)
[pinnerd]
verify = 0

[rule:vm]
comm = pintest
threads = CPU */KVM
cpus = 2-5
priority = 10

[rule:shield]
comm = *
avoid = 2-5
EOF
run_unit unrelated sleep 900
up=$(unit_pid unrelated)
run_unit narrowed taskset -c 0 sleep 900
np=$(unit_pid narrowed)
run_unit inside taskset -c 4 sleep 900
ip=$(unit_pid inside)
vm=$(spawn vm2 "CPU 0/KVM" "CPU 1/KVM")
sysmask=$(cat $cg/system.slice/cpuset.cpus.effective 2>/dev/null || echo "$hk")
off=$(cpus_minus "$sysmask" 2-5)
vcpus=$(cpus_minus 2-5 "$part")
eventually "a sleep started before the shield, moved off 2-5" "$off" 60 mask "$bp"
eventually "a sleep started after it, moved off 2-5" "$off" 60 mask "$up"
eventually "CPU 0/KVM (rule vm) on 2-5 minus the partition" "$vcpus" 60 tmask "$vm" "CPU 0/KVM"
eventually "CPU 1/KVM (rule vm)" "$vcpus" 60 tmask "$vm" "CPU 1/KVM"
eventually "the vCPU process's main thread (rule shield) off 2-5" "$off" 60 mask "$vm"
check_eq "taskset -c 0 sleep stays on 0 (never widened)" 0 "$(mask "$np")"
eventually "taskset -c 4 sleep: nothing left, left alone with a reason" yes 30 \
	sh -c "pinnerctl explain $ip | grep -q 'effective: empty, thread left as it is' && echo yes || pinnerctl explain $ip"
check_eq "taskset -c 4 sleep keeps 4" 4 "$(mask "$ip")"
info "PID 1 now on $(mask 1), journald on $(mask "$(main_pid systemd-journald)")"
stop_units

# ------------------------------------------------------------------ T9. negation
step T9 "unit = X.service with a negated cgroup = line that matches it: left alone"
reload_conf "a unit rule with an exclusion" <<EOF
# pinnerd topology test (tests/system/guest-topo.sh)
[pinnerd]
verify = 0

[rule:excluded]
unit = negtest.service
cgroup = !/system.slice/negtest.service
cpus = 0

[rule:control]
unit = postest.service
cpus = 0
EOF
run_unit negtest sleep 900
xp=$(unit_pid negtest)
before=$(mask "$xp")
run_unit postest sleep 900
cp=$(unit_pid postest)
eventually "the same rule without the exclusion pins postest.service" 0 60 mask "$cp"
check_eq "negtest.service's mask unchanged" "$before" "$(mask "$xp")"
out=$(pinnerctl explain "$xp" 2>&1)
check_contains "explain says why" \
	"cgroup '/system.slice/negtest.service' is excluded by '!/system.slice/negtest.service'" "$out"
check_contains "explain: no rule matches" "no rule matches" "$out"
stop_units

# ------------------------------------------------------------------ T10. drift events
step T10 "drift events under the shipped unit at the shipped kernel.perf_event_paranoid (verify = 0): bpf; the tracepoints where paranoia allows"
reload_conf "a pinned thread, drift = reapply, no verify" <<EOF
# pinnerd topology test (tests/system/guest-topo.sh)
[pinnerd]
verify = 0
drift = reapply

[rule:held]
comm = pintest
threads = dr*
cpus = 1
EOF
paranoid=$(cat /proc/sys/kernel/perf_event_paranoid)
info "kernel.perf_event_paranoid=$paranoid; the unit's daemon: $(cap_bits "$(main_pid pinnerd)")"
out=$(pinnerctl status 2>&1)
check_contains "pinnerctl status (the shipped unit, its sandbox, paranoid $paranoid)" "drift-events: bpf" "$out"
check_contains "pinnerctl status --json" '"drift_events":"bpf"' "$(pinnerctl status --json 2>&1 | tr -d ' ')"
info "$(echo "$out" | grep '^drift-events')"
p=$(spawn drifter dr0)
t=$(tid_of "$p" dr0)
eventually "dr0 pinned" 1 60 mask "$t"
out=$(taskset -p -c "$online" "$t" 2>&1)
check_contains "taskset -p -c $online $t widened it" "new affinity list" "$out"
eventually "dr0 put back without verify, within 2 s" 1 2 mask "$t"
eventually "a drift record for dr0" 1 20 jcount PINNERD_EVENT=drift PINNERD_TID="$t"
info "$(journalctl --no-pager -u pinnerd PINNERD_EVENT=drift PINNERD_TID="$t" -o cat | tail -n 1)"
out=$(pinnerctl status 2>&1)
info "$(echo "$out" | grep -E '^(events|event-filter|drift-events|counters)' | tr '\n' ' ')"
check_true "status counts the drift" "$(echo "$out" | grep -o 'drift [0-9]*')" \
	'echo "$out" | grep -q "drift [1-9]"'
check_eq "kernel.perf_event_paranoid untouched" "$paranoid" "$(cat /proc/sys/kernel/perf_event_paranoid)"
# The tracepoint source is kept where it works: paranoia at 2, chosen by
# PINNERD_DRIFT_SOURCE (a drop-in), then everything put back as it was.
mkdir -p /etc/systemd/system/pinnerd.service.d
printf '[Service]\nEnvironment=PINNERD_DRIFT_SOURCE=tracepoint\n' >/etc/systemd/system/pinnerd.service.d/tp.conf
sysctl -q -w kernel.perf_event_paranoid=2
systemctl daemon-reload
systemctl restart pinnerd
check_contains "with paranoia at 2 the tracepoint source works too" "drift-events: tracepoint" "$(pinnerctl status 2>&1)"
eventually "dr0 pinned again" 1 60 mask "$t"
taskset -p -c "$online" "$t" >/dev/null 2>&1
eventually "dr0 put back from the tracepoints" 1 2 mask "$t"
rm -f /etc/systemd/system/pinnerd.service.d/tp.conf
rmdir /etc/systemd/system/pinnerd.service.d 2>/dev/null
sysctl -q -w kernel.perf_event_paranoid="$paranoid"
systemctl daemon-reload
systemctl restart pinnerd
info "unit: $(systemctl show -p CapabilityBoundingSet,SystemCallFilter pinnerd | cut -c1-200 | tr '\n' ' ')"
sec=$(systemd-analyze security --no-pager pinnerd 2>&1 | tail -n 1)
info "systemd-analyze security pinnerd: $sec"
lvl=$(echo "$sec" | sed -n 's/.*pinnerd.service: \([0-9.]*\).*/\1/p')
check_true "systemd-analyze security: exposure <= 2.5" "${lvl:-none}" \
	'[ -n "$lvl" ] && awk "BEGIN { exit !($lvl <= 2.5) }"'
stop_units
if [ "$(cat /proc/sys/kernel/perf_event_paranoid)" != "$paranoid" ]; then
	sysctl -q -w kernel.perf_event_paranoid="$paranoid"
	systemctl restart pinnerd
fi

# ------------------------------------------------------------------ T11. daemon-reload
step T11 "what systemd does to the partition (daemon-reload, a unit with AllowedCPUs= that stops), and the docs' cure"
observe() { # WHEN: what systemd left of the controller and the partition
	sc=$(cat $cg/cgroup.subtree_control)
	pa=$(cat "$iso/cpuset.cpus.partition" 2>&1)
	info "observed $1: root cgroup.subtree_control '$sc', $iso/cpuset.cpus.partition '$pa'"
}
systemctl daemon-reload
observe "after systemctl daemon-reload"
# A unit that asks for cpuset and goes away again: systemd then no longer needs it.
run_unit cpuset-user -p AllowedCPUs=0-1 sleep 900
unit_pid cpuset-user >/dev/null
observe "with a unit that has AllowedCPUs=0-1 running"
systemctl stop cpuset-user
observe "after that unit stopped"
systemctl daemon-reload
observe "after that and another daemon-reload"
pinnerctl rescan >/dev/null 2>&1
st=$(pinnerctl status 2>&1 | sed -n 's/^isolated: *//p')
info "pinnerd after a rescan: isolated: $st"
if [ "$pa" = isolated ]; then
	check_contains "pinnerd still sees the partition" "3 (partition $iso)" "$st"
else
	check_eq "pinnerd sees the partition is gone" none "$st"
fi
# The documented cure: a unit that stays asks systemd for the cpuset controller, with
# AllowedCPUs= on the housekeeping CPUs; then the partition survives units that come
# and go, and daemon-reloads.
out=$(systemctl set-property --runtime system.slice AllowedCPUs="$hk" 2>&1)
rc=$?
check_true "systemctl set-property --runtime system.slice AllowedCPUs=$hk (exit $rc)" "${out:-ok}" '[ $rc = 0 ]'
echo +cpuset >$cg/cgroup.subtree_control
mkdir -p "$iso"
echo 3 >"$iso/cpuset.cpus"
echo isolated >"$iso/cpuset.cpus.partition"
check_eq "the partition (again) after the cure" isolated "$(cat "$iso/cpuset.cpus.partition" 2>&1)"
run_unit cpuset-user2 -p AllowedCPUs=0-1 sleep 900
unit_pid cpuset-user2 >/dev/null
systemctl stop cpuset-user2
check_contains "root cgroup.subtree_control after a unit with AllowedCPUs= came and went" cpuset "$(cat $cg/cgroup.subtree_control)"
check_eq "the partition after that" isolated "$(cat "$iso/cpuset.cpus.partition" 2>&1)"
systemctl daemon-reload
systemctl daemon-reload
check_contains "root cgroup.subtree_control after two daemon-reloads" cpuset "$(cat $cg/cgroup.subtree_control)"
check_eq "the partition after two daemon-reloads" isolated "$(cat "$iso/cpuset.cpus.partition" 2>&1)"
pinnerctl rescan >/dev/null 2>&1
check_contains "pinnerd sees it" "isolated:     3 (partition $iso)" "$(pinnerctl status 2>&1)"

# ------------------------------------------------------------------ T12. cleanup, purge
step T12 "clean up: the partition goes, apt purge pinnerd"
stop_units
partition_gone
systemctl set-property --runtime system.slice AllowedCPUs= 2>/dev/null
check_true "partition removed" "$(ls -d "$iso" 2>&1)" '[ ! -d "$iso" ]'
out=$(apt purge -y pinnerd 2>&1)
rc=$?
check_true "apt purge -y pinnerd (exit $rc)" "$(echo "$out" | grep -E '^(Purging|Removing|E:)' | tr '\n' ' ')" '[ $rc = 0 ]'
check_eq "pinnerd processes after purge" "" "$(pgrep -x pinnerd)"
finish
