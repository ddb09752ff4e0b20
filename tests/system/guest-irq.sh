#!/bin/sh
# guest-irq.sh DATADIR — owning a CPU on Debian 13 under the shipped unit: 4 vCPUs,
# virtio disks (kernel-managed queue IRQs, one per CPU), a virtio NIC and a SATA
# controller (IRQs that move). A full shield of CPU 3 (tasks, kernel threads, IRQs,
# workqueues) moves every movable IRQ and the workqueue masks off it; under network
# traffic no movable device IRQ is counted there; `pinnerctl audit 3` exits 0, and 1
# with a `taskset -c 3` intruder, which it names; `follow` puts the NIC's IRQ on its
# rule's thread's CPU and moves it with it; `systemctl stop pinnerd` puts every IRQ
# affinity, default_smp_affinity and workqueue mask back exactly. Runs in the VM as
# root (run.sh boots it as trixie-irq), installs the .deb, purges it at the end.
set -u

data=${1:?usage: guest-irq.sh DATADIR}
conf=/etc/pinnerd.conf
pintest=/usr/local/bin/pintest
WQ=/sys/devices/virtual/workqueue
. "$data/guest-lib.sh"

snapshot() { # every IRQ's requested CPUs, the default, the workqueue masks
	for d in /proc/irq/[0-9]*; do echo "irq $(basename "$d") $(cat "$d/smp_affinity_list")"; done
	echo "default $(cat /proc/irq/default_smp_affinity)"
	echo "wq * $(cat $WQ/cpumask_requested 2>/dev/null || cat $WQ/cpumask)"
	for f in $WQ/*/cpumask; do [ -f "$f" ] && echo "wq $(basename "$(dirname "$f")") $(cat "$f")"; done
}
# ICMP echo to qemu's user-network gateway (10.0.2.2 answers pings) as fast as
# it answers, for SECONDS: interrupts on the NIC's queues.
ping_flood() { # SECONDS
	python3 - "$1" <<'EOF'
import os, socket, struct, sys, time
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
sock.setblocking(False)
end, seq, got, ident = time.time() + float(sys.argv[1]), 0, 0, os.getpid() & 0xffff
while time.time() < end:
    seq = (seq + 1) & 0xffff
    body = struct.pack('!BBHHH', 8, 0, 0, ident, seq) + b'p' * 56
    sock.sendto(struct.pack('!BBHHH', 8, 0, csum(body), ident, seq) + b'p' * 56, ('10.0.2.2', 0))
    try:
        while True:
            sock.recv(2048)
            got += 1
    except BlockingIOError:
        pass
    time.sleep(0.0005)
print("sent %d answered %d" % (seq, got))
EOF
}
write_conf() { # VCPU_CPUS EXTRA...
	v=$1
	shift
	{
		echo "# pinnerd system test (tests/system/guest-irq.sh): CPU 3 owned"
		echo "[pinnerd]"
		echo "verify = ${VERIFY:-5}"
		echo "[rule:vcpu]"
		echo "comm = pintest"
		echo "threads = vcpu*"
		echo "cpus = $v"
		echo "priority = 10"
		echo "[rule:shield]"
		echo "comm = *"
		echo "avoid = 3"
		echo "[rule:kshield]"
		echo "kthreads = yes"
		echo "avoid = 3"
		echo "[rule:shield-irqs]"
		echo "irqs = *"
		echo "avoid = 3"
		echo "[rule:shield-workqueues]"
		echo "workqueues = yes"
		echo "avoid = 3"
		for l in "$@"; do echo "$l"; done
	} >"$conf"
	chmod 0644 "$conf"
}

echo "pinnerd IRQ test: $(nproc --all) CPUs, $(systemctl --version | head -n 1)"
cat /proc/interrupts

# ------------------------------------------------------------------ I0. setup
step I0 "the NIC up on qemu's user network; what the IRQs and workqueue masks are before pinnerd"
nic=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
nicirq=$(awk '/virtio[0-9]+-input\.0/ {sub(":", "", $1); print $1; exit}' /proc/interrupts)
nicname=$(awk -v n="$nicirq" '$1 == n ":" {print $NF}' /proc/interrupts)
check_true "a virtio NIC with an input queue IRQ" "$nic, IRQ ${nicirq:-none} ${nicname:-}" '[ -n "$nic" ] && [ -n "$nicirq" ]'
mkdir -p /run/systemd/network
printf '[Match]\nName=%s\n[Network]\nAddress=10.0.2.15/24\nLinkLocalAddressing=no\n' "$nic" \
	>/run/systemd/network/50-pinnerd-test.network
systemctl restart systemd-networkd 2>&1
i=0
while [ "$(cat /sys/class/net/$nic/operstate 2>/dev/null)" != up ] && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
check_eq "$nic is up" up "$(cat /sys/class/net/$nic/operstate 2>&1)"
check_contains "the gateway answers pings" "answered" "$(ping_flood 1 2>&1)"
snapshot >/root/irqs.before
info "$(grep -c '^irq' /root/irqs.before) IRQs; default $(cat /proc/irq/default_smp_affinity); workqueue cpumask $(cat $WQ/cpumask)"

# ------------------------------------------------------------------ I0b. the sandbox
step I0b "which unit settings leave /proc/irq writable (transient services, one write each)"
irq0=$nicirq
try_props() { # PROPERTY...: "ok" or the error of writing IRQ irq0's mask back
	props=
	for p in "$@"; do props="$props -p $p"; done
	systemd-run --wait --pipe --quiet $props sh -c \
		"cat /proc/irq/$irq0/smp_affinity_list > /proc/irq/$irq0/smp_affinity_list && echo ok; grep -E ' /proc/irq | /proc ' /proc/self/mountinfo | awk '{print \$5, \$6}' | tr '\n' ' '" 2>&1 | tr '\n' ' '
}
for set in "ProtectKernelTunables=yes" "ProtectKernelTunables=yes ReadWritePaths=/proc/irq" \
	"ProtectKernelTunables=yes BindPaths=/proc/irq" "ProtectKernelTunables=yes ReadWritePaths=/proc/irq/$irq0" \
	"ProtectKernelTunables=no ProtectSystem=strict ReadOnlyPaths=/proc/sys ReadOnlyPaths=/sys ReadWritePaths=/sys/devices/virtual/workqueue"; do
	# shellcheck disable=SC2086
	info "$set: $(try_props $set)"
done

# ------------------------------------------------------------------ I1. install
step I1 "apt install ./pinnerd_*.deb"
mkdir -p /root/pkg && cp "$data"/pinnerd_*.deb /root/pkg/
out=$(cd /root/pkg && apt install -y ./pinnerd_*.deb 2>&1)
check_eq "pinnerd active" active "$(systemctl is-active pinnerd 2>&1)"
check_eq "the shipped config moves no IRQ" "" "$(snapshot | diff /root/irqs.before - | grep '^>')"

# ------------------------------------------------------------------ I2. the full shield
step I2 "a full shield of CPU 3 under the shipped unit: systemctl reload pinnerd"
vcpu=$(start_pintest vm1 -- vcpu0 io) || vcpu=0
write_conf 3
systemctl reload pinnerd
check_eq "reload accepted" active "$(systemctl is-active pinnerd)"
eventually "vcpu0 on CPU 3" 3 20 tmask "$vcpu" vcpu0
info "pinnerd's /proc/irq and workqueue mounts: $(grep -E ' /proc/irq | /sys/devices/virtual/workqueue ' /proc/$(main_pid pinnerd)/mountinfo | awk '{print $5, $6}' | tr '\n' ';')"
check_eq "no write failed (the unit may write /proc/irq and the workqueue masks)" 0 \
	"$(jcount PINNERD_EVENT=failed)"
moved=0 stay=0 wrong=
for d in /proc/irq/[0-9]*; do
	n=$(basename "$d")
	grep -q "^ *$n:" /proc/interrupts || continue
	if pinnerctl explain "irq:$n" --json | grep -q '"movable":false'; then
		stay=$((stay + 1))
		continue
	fi
	l=$(cat "$d/smp_affinity_list")
	case ",$l," in *3*) wrong="$wrong $n:$l" ;; esac
	moved=$((moved + 1))
done
check_eq "every movable IRQ requested off CPU 3 ($moved movable, $stay cannot move)" "" "$wrong"
check_true "the virtio disks' managed queue IRQs cannot move" "$stay" '[ "$stay" -ge 1 ]'
j=$(journalctl --no-pager -u pinnerd PINNERD_RULE=shield-irqs PINNERD_EVENT=skipped -o cat)
check_contains "the managed IRQs named once, with the reason" "kernel-managed" "$j"
check_eq "named in one record" 1 "$(echo "$j" | grep -c 'cannot move')"
check_eq "default_smp_affinity" 7 "$(cat /proc/irq/default_smp_affinity)"
check_eq "the unbound workqueue cpumask" 7 "$(cat $WQ/cpumask)"
for f in $WQ/*/cpumask; do [ -f "$f" ] && check_eq "$f" 7 "$(cat "$f")"; done
check_contains "explain irq:$nicirq" "rule shield-irqs (priority 0) takes it" "$(pinnerctl explain "irq:$nicirq")"
check_contains "status" "irqs: " "$(pinnerctl status)"
info "$(pinnerctl status | grep -E '^(irqs|workqueues):')"

# ------------------------------------------------------------------ I3. traffic and audit
step I3 "traffic on the NIC: no movable device IRQ counted on CPU 3; audit 3 exits 0"
ping_flood 8 >/root/ping.out 2>&1 &
pp=$!
sleep 1
# Without interrupt remapping an IRQ's move takes effect at its next
# interrupt, which still comes on the old CPU: one interrupt on CPU 3 from an
# IRQ whose effective CPU was still 3 when the sample began is that move.
pending=
for d in /proc/irq/[0-9]*; do
	case ",$(cat "$d/effective_affinity_list" 2>/dev/null)," in *,3,*) pending="$pending $(basename "$d")" ;; esac
done
info "IRQs whose effective CPU is still 3 when the sample begins:${pending:- none}"
pinnerctl audit 3 --sample 5 --json >/root/audit.json
rc=$?
wait $pp
info "ping: $(cat /root/ping.out)"
dev=$(python3 -c '
import json, sys
a = json.load(open("/root/audit.json"))
pending = {int(n) for n in sys.argv[1].split()}
irqs = {q["irq"]: q for q in a["irqs"]}
fired = a["interrupts"][0]["device_irqs"]
movable = [f for f in fired if irqs.get(f["irq"], {}).get("movable", True)]
# The one interrupt that completes a pending move is not a stay.
print(sum(f["count"] - (1 if f["irq"] in pending else 0) for f in movable), sum(f["count"] for f in fired),
      a["interrupts"][0]["device"], [(f["irq"], f["name"], f["count"]) for f in fired])' "$pending")
info "device IRQs on CPU 3 over 5 s: movable, all, per second by kind, which: $dev"
check_eq "movable device IRQs counted on CPU 3 under traffic" 0 "${dev%% *}"
nic_on=$(python3 -c '
import json
a = json.load(open("/root/audit.json"))
print(sum(f["count"] for f in a["interrupts"][0]["device_irqs"] if f["irq"] == '"$nicirq"'))')
check_eq "IRQ $nicirq ($nicname) on CPU 3 under traffic" 0 "$nic_on"
check_eq "audit 3 exit status (0: nothing movable intrudes)" 0 "$rc"
[ "$rc" = 0 ] || info "$(pinnerctl audit 3 --sample 0 | tail -n 40)"
check_contains "audit lists what cannot move" '"state":"cannot move"' "$(cat /root/audit.json)"

# ------------------------------------------------------------------ I4. an intruder
step I4 "taskset -c 3: audit names it and exits 1"
taskset -c 3 sleep 300 &
intr=$!
sleep 1
out=$(pinnerctl audit 3 --sample 1)
rc=$?
check_eq "audit 3 exit status with an intruder" 1 "$rc"
check_true "the intruder named, with its owner's narrowing" \
	"$(echo "$out" | grep -E "^ *$intr " | head -n 1)" \
	'echo "$out" | grep -Eq "^ *$intr +$intr +sleep +sleep +3 +its owner narrowed it"'
kill $intr
wait $intr 2>/dev/null

# ------------------------------------------------------------------ I5. follow
step I5 "follow: the NIC's IRQ on the vCPU's CPU, and with it when it moves"
write_conf 3 "[rule:nic]" "irqs = $nicname" "follow = vcpu" "priority = 10"
systemctl reload pinnerd
eventually "IRQ $nicirq ($nicname) follows vcpu0 to CPU 3" 3 10 cat "/proc/irq/$nicirq/smp_affinity_list"
out=$(pinnerctl audit 3 --sample 0 --json)
check_contains "audit: the followed IRQ is owned, not an intruder" "\"irq\":$nicirq,\"name\":\"$nicname\"" "$out"
check_true "its state" "$(echo "$out" | grep -o "\"irq\":$nicirq,[^}]*" | grep -o '"state":"[a-z ]*"')" \
	'echo "$out" | grep -o "\"irq\":$nicirq,[^}]*" | grep -q "\"state\":\"owned\""'
write_conf 2 "[rule:nic]" "irqs = $nicname" "follow = vcpu" "priority = 10"
systemctl reload pinnerd
eventually "vcpu0 to CPU 2" 2 20 tmask "$vcpu" vcpu0
eventually "IRQ $nicirq follows it to CPU 2" 2 10 cat "/proc/irq/$nicirq/smp_affinity_list"

# ------------------------------------------------------------------ I5b. a device comes
step I5b "an IRQ that appears later: the SATA controller unbound and bound again, verify = 0"
ahci=$(basename "$(ls -d /sys/bus/pci/drivers/ahci/0000:* 2>/dev/null | head -n 1)")
if [ -n "$ahci" ]; then
	VERIFY=0 write_conf 2 "[rule:nic]" "irqs = $nicname" "follow = vcpu" "priority = 10" \
		"[rule:sata]" "irqs = ahci*" "cpus = 1" "priority = 10"
	systemctl reload pinnerd
	echo "$ahci" >/sys/bus/pci/drivers/ahci/unbind
	sleep 1
	echo "$ahci" >/sys/bus/pci/drivers/ahci/bind
	airq=
	i=0
	while [ -z "$airq" ] && [ $i -lt 50 ]; do
		airq=$(awk '/ahci/ {sub(":", "", $1); print $1; exit}' /proc/interrupts)
		i=$((i + 1))
		sleep 0.1
	done
	info "$ahci bound again: IRQ ${airq:-none}, default_smp_affinity $(cat /proc/irq/default_smp_affinity)"
	eventually "its IRQ on CPU 1 from the device's uevents (no verify)" 1 5 cat "/proc/irq/$airq/smp_affinity_list"
else
	info "no ahci device: skipped"
fi

# ------------------------------------------------------------------ I6. stop
step I6 "systemctl stop pinnerd: every IRQ affinity, default_smp_affinity and workqueue mask back"
systemctl stop pinnerd
snapshot >/root/irqs.after
# IRQs there before and after: exactly as before. One that appeared meanwhile
# (the SATA controller bound again) has what it would have had without
# pinnerd: the default IRQs get, put back too.
grep '^irq' /root/irqs.before | sort -k2,2 >/root/b.irq
grep '^irq' /root/irqs.after | sort -k2,2 >/root/a.irq
d=$(join -j 2 -o 1.2,1.3,2.3 /root/b.irq /root/a.irq | awk '$2 != $3 {print "IRQ " $1 ": " $2 " -> " $3}')
check_eq "IRQs there before: what differs" "" "$d"
grep -v '^irq' /root/irqs.before >/root/b.rest
grep -v '^irq' /root/irqs.after >/root/a.rest
check_eq "default and workqueue masks: what differs" "" "$(diff /root/b.rest /root/a.rest | grep '^[<>]' | tr '\n' ' ')"
dflt=$(cat /proc/irq/default_smp_affinity)
want=$(python3 -c "
m = int('$dflt'.replace(',', ''), 16)
c = [i for i in range(4096) if m >> i & 1]
r = []
for x in c:
    if r and r[-1][1] == x - 1: r[-1][1] = x
    else: r.append([x, x])
print(','.join(str(a) if a == b else '%d-%d' % (a, b) for a, b in r))")
for n in $(awk '{print $2}' /root/a.irq); do
	grep -q "^irq $n " /root/irqs.before && continue
	check_eq "IRQ $n, which appeared meanwhile, on what default_smp_affinity gives" "$want" \
		"$(cat /proc/irq/$n/smp_affinity_list)"
done
n=$(journalctl --no-pager -u pinnerd PINNERD_EVENT=restored -o cat | grep -c '^restored IRQ')
check_true "restored IRQ records in the journal" "$n" '[ "$n" -ge 1 ]'
systemctl stop vm1 2>/dev/null
info "systemd-analyze security: $(systemd-analyze security pinnerd 2>&1 | tail -n 1)"
e=$(systemd-analyze security pinnerd 2>&1 | sed -n 's/.*pinnerd.service: \([0-9.]*\).*/\1/p')
check_true "systemd-analyze security pinnerd <= 2.5" "$e" "awk -v e='$e' 'BEGIN { exit !(e != \"\" && e <= 2.5) }'"

# ------------------------------------------------------------------ I7. purge
step I7 "apt purge pinnerd"
apt purge -y pinnerd >/dev/null 2>&1
check_eq "purged" "" "$(dpkg-query -W -f='${Status}' pinnerd 2>/dev/null | grep installed)"
finish
