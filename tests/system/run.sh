#!/bin/sh
# tests/system/run.sh REPO_DIR — pinnerd on a real systemd machine (`sudo make check-vm`).
#
# Builds the Debian package once (`make deb`), then for each suite in VM_SUITES
# (default "trixie bookworm": Debian 13 and 12) boots a Debian VM under qemu (TCG,
# cgroup v2, journald), installs the package there with `apt install ./pinnerd_*.deb`,
# runs a guest script as an administrator would (and `apt purge` at the end), and
# reports the guest's PASS/FAIL lines and exit status. The boots, one image per suite:
#
#   trixie      Debian 13, 6 vCPUs, isolcpus=4-5: guest-test.sh (the whole story)
#   trixie-smt  Debian 13 again (same cached image), 8 vCPUs as 2 sockets x 2 cores
#               x 2 SMT threads, nothing isolated: guest-topo.sh (topology terms,
#               spread, policy, runtime isolation, shield, negation, drift events)
#   trixie-irq  Debian 13 again, 4 vCPUs, nothing isolated, a virtio NIC (qemu user
#               networking) and a SATA controller beside the virtio disks: guest-irq.sh
#               (a full shield of CPU 3: IRQs, workqueues, audit, follow, stop)
#   trixie-numa Debian 13 again (same cached image), 2 vCPUs and 2 GiB over 2 NUMA
#               nodes (qemu -numa): guest-numa.sh (memory that follows the CPUs)
#   bookworm    Debian 12, 6 vCPUs, isolcpus=4-5: guest-test.sh
#
#   phase 0  deb     make deb on the host (once for every suite)
#   phase 1  image   debootstrap from the host's own apt mirror, cached under
#                    /var/tmp/pinnerd-vm/<hash of the scripts that build it + suite>/
#   phase 2  stage   the .deb + the test files onto a small ext4 data disk
#   phase 3  boot    qemu with a qcow2 overlay per run (the cached image is never written)
#   phase 4  test    guest-test.sh in the guest; output, journal and exit status come
#                    back through virtio-serial ports into files on the host
#
# Exit: 0 all passed, 1 a step failed or the VM did not report, 77 cannot run here
# (not root, no qemu/debootstrap, no mirror) with a "check-vm: SKIP:" line.
#
# Environment: VM_SUITES (default "trixie bookworm"); VM_BOOTS (default every boot
# of VM_SUITES, e.g. VM_BOOTS=trixie-smt or trixie-numa for that boot alone); PINNERD_VM_README=1 instead
# proves the README's `make check` in a fresh guest of each suite (readme-guest.sh:
# an image with exactly the packages `make deps` asks for, 2 CPUs, no isolcpus,
# a copy of the tree; slow under TCG, so not part of the default run); PINNERD_VM_SMOKE=1 boots the image and runs only smoke-guest.sh (no
# daemon needed: proves the VM machinery); PINNERD_VM_CACHE (default /var/tmp/pinnerd-vm);
# PINNERD_VM_TIMEOUT seconds for boot + test per boot (default 300, 450 for trixie-smt,
# whose 8 emulated CPUs share the host's cores, 400 for trixie-irq); PINNERD_VM_KEEP=1 keeps the
# run directory for debugging.
set -eu

repo=$(cd "${1:?usage: run.sh REPO_DIR}" && pwd)
here=$repo/tests/system
cache=${PINNERD_VM_CACHE:-/var/tmp/pinnerd-vm}
smoke=${PINNERD_VM_SMOKE:-0}
readme=${PINNERD_VM_README:-0}

say() { printf 'check-vm: %s\n' "$*"; }
skip() {
	printf 'check-vm: SKIP: %s\n' "$*" >&2
	exit 77
}
die() {
	printf 'check-vm: FAIL: %s\n' "$*" >&2
	exit 1
}
ms() { date +%s%3N; }
secs() { # START_MS [END_MS]
	end=${2:-$(ms)}
	echo $(((end - $1) / 1000)).$((((end - $1) % 1000) / 100))
}

t_start=$(ms)

# ---------------------------------------------------------------- preconditions
[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, the image cache in /var/tmp); run: sudo make check-vm"
[ "$(uname -m)" = x86_64 ] || skip "the VM is x86_64 and the host is $(uname -m)"
[ -r /etc/os-release ] || skip "no /etc/os-release: cannot tell which Debian release this is"
# The package is built here, so the host must be Debian; its libc must not be newer
# than the guests' (a package built on Debian 12 installs on 12 and 13).
. /etc/os-release
[ "${ID:-}" = debian ] && [ -n "${VERSION_CODENAME:-}" ] ||
	skip "the host is not Debian (${ID:-unknown}): the package is built here"
host_suite=$VERSION_CODENAME
suites=${VM_SUITES:-trixie bookworm}
# The boots of a suite. The SMT and NUMA boots need the package: not in the smoke and
# README modes.
boots_of() { # SUITE
	if [ "$1" = trixie ] && [ "$smoke" != 1 ] && [ "$readme" != 1 ]; then
		echo "trixie trixie-smt trixie-irq trixie-numa"
	else
		echo "$1"
	fi
}
all_boots=
for suite in $suites; do
	case $suite in
	bookworm | trixie) ;;
	*) die "VM_SUITES: unknown suite '$suite' (bookworm, trixie)" ;;
	esac
	all_boots="$all_boots $(boots_of "$suite")"
done
boots=${VM_BOOTS:-$all_boots}
for b in $boots; do
	case " $all_boots " in
	*" $b "*) ;;
	*) die "VM_BOOTS: unknown boot '$b' (boots of VM_SUITES='$suites' here:$all_boots)" ;;
	esac
done

need_pkgs=
need() { # COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 || need_pkgs="$need_pkgs $2"
}
need qemu-system-x86_64 qemu-system-x86
need qemu-img qemu-utils
need debootstrap debootstrap
need mke2fs e2fsprogs
need readelf binutils
need cc gcc
need make make
need flock util-linux
need dpkg-buildpackage dpkg-dev
need dh debhelper
[ -x /bin/busybox ] && ! readelf -l /bin/busybox 2>/dev/null | grep -q interpreter ||
	need_pkgs="$need_pkgs busybox-static"
if [ -n "$need_pkgs" ]; then
	say "installing$need_pkgs"
	if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need_pkgs; } \
		>/tmp/check-vm-apt.$$ 2>&1; then
		tail -n 5 /tmp/check-vm-apt.$$ >&2
		rm -f /tmp/check-vm-apt.$$
		skip "cannot install$need_pkgs with apt-get"
	fi
	rm -f /tmp/check-vm-apt.$$
fi
# mke2fs -d (populate from a directory) appeared in e2fsprogs 1.43.
mke2fs 2>&1 | grep -q -- '-d ' || skip "mke2fs has no -d (e2fsprogs >= 1.43 needed)"

# ---------------------------------------------------------------- cleanup
run=
debdir=
deb=
build_tmp=
build_pid=
qemu_pid=
cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null || true
		sleep 1
		kill -9 "$qemu_pid" 2>/dev/null || true
		wait "$qemu_pid" 2>/dev/null || true
	fi
	# The image build runs in a process group of its own (debootstrap, dpkg in the
	# chroot): end that group, by its id, before unmounting below it.
	if [ -n "$build_pid" ] && kill -0 "$build_pid" 2>/dev/null; then
		kill -TERM "-$build_pid" 2>/dev/null || true
		sleep 2
		kill -KILL "-$build_pid" 2>/dev/null || true
		wait "$build_pid" 2>/dev/null || true
	fi
	for d in $build_tmp $run; do
		[ -d "$d" ] || continue
		# debootstrap mounts proc, sys, dev/pts below its target; if it was
		# interrupted they are still there. Deepest first.
		findmnt -rn -o TARGET | grep -F "$d/" | sort -r | while read -r m; do
			umount -l "$m" 2>/dev/null || true
		done
	done
	[ -n "$build_tmp" ] && rm -rf "$build_tmp"
	[ -n "$debdir" ] && rm -rf "$debdir"
	if [ -n "$run" ]; then
		if [ "${PINNERD_VM_KEEP:-0}" = 1 ]; then say "kept $run"; else rm -rf "$run"; fi
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---------------------------------------------------------------- mirror
# The first enabled "deb" source of the host's apt that carries $suite: one-line
# sources.list files and deb822 .sources files ("URIs:"). Never a name of our own.
# Another suite (trixie on a bookworm host) comes from the archive that carries the
# host's own suite: a Debian archive carries every release.
apt_mirror() { # SUITE
	apt_mirror_for "$1"
	[ "$1" = "$host_suite" ] || apt_mirror_for "$host_suite"
}
apt_mirror_for() { # SUITE
	want=$1
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed 's/#.*//' "$f" | awk -v s="$want" '
			$1 == "deb" {
				i = 2
				if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
				if ($(i + 1) == s) print $i
			}'
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v s="$want" '
			BEGIN { RS = ""; FS = "\n" }
			{
				types = ""; uris = ""; suites = ""; enabled = "yes"; key = ""
				for (i = 1; i <= NF; i++) {
					line = $i
					if (line ~ /^#/) continue
					if (line ~ /^[ \t]/) { val[key] = val[key] " " line; continue }
					key = tolower(substr(line, 1, index(line, ":") - 1))
					val[key] = substr(line, index(line, ":") + 1)
				}
				n = split(val["suites"], sv, /[ \t]+/)
				ok = 0
				for (j = 1; j <= n; j++) if (sv[j] == s) ok = 1
				if (val["types"] !~ /(^|[ \t])deb([ \t]|$)/) ok = 0
				if (tolower(val["enabled"]) ~ /no/) ok = 0
				if (ok) { split(val["uris"], uv, /[ \t]+/); for (j in uv) if (uv[j] != "") { print uv[j]; break } }
				delete val
			}' "$f"
	done
}

# ---------------------------------------------------------------- phase 1: image
run_boot() { # BOOT; returns non-zero when a step failed
boot=$1
suite=${boot%%-*}
# The README check's image also has what `make deps` installs on this suite
# (build-image.sh runs it there, with apt), keyed on the lists it asks for.
extra= flavor=
if [ "$readme" = 1 ]; then
	extra=$(make -s -C "$repo" --no-print-directory print-deps | tr '\n' ' ')
	flavor=-readme
fi
key=$(cat "$here/build-image.sh" "$here"/image/* | { cat; echo "$suite $(uname -m) $extra"; } |
	sha256sum | cut -c1-16)
image=$cache/$key
mkdir -p "$cache"
t0=$(ms)
exec 9>"$cache/.lock"
flock 9 # one build at a time; a second run waits and then finds the cache
if [ -f "$image/complete" ]; then
	say "phase image: cache hit $image ($(secs "$t0") s)"
else
	mirror=$(apt_mirror "$suite" | grep -E '^(https?|file):' | head -n 1)
	[ -n "$mirror" ] || skip "no Debian mirror for '$suite' in /etc/apt/sources.list{,.d/*.list,.d/*.sources}"
	# debootstrap reads the proxy from the environment, apt from its config.
	if [ -z "${http_proxy:-}" ]; then
		eval "$(apt-config shell http_proxy Acquire::http::Proxy)"
		[ -n "${http_proxy:-}" ] && export http_proxy
	fi
	probe=$(mktemp /tmp/check-vm-release.XXXXXX)
	if ! /usr/lib/apt/apt-helper download-file "$mirror/dists/$suite/Release" "$probe" >/dev/null 2>&1; then
		rm -f "$probe"
		skip "the Debian mirror from apt's sources ($mirror) does not answer for $suite"
	fi
	rm -f "$probe"
	say "phase image: building $image from the host's apt mirror (cold cache: about 2 minutes)"
	# Old images of this suite from earlier versions of the scripts are of no further use.
	for old in "$cache"/*/; do
		[ -f "$old/complete" ] && [ "${old%/}" != "$image" ] &&
			[ "$(cat "$old/suite" 2>/dev/null)" = "$suite$flavor" ] && rm -rf "${old%/}"
	done
	build_tmp=$(mktemp -d "$cache/build.XXXXXX")
	# In the background and in its own process group, so that a signal to this script
	# ends the build at once (the trap runs as soon as `wait` is interrupted).
	setsid sh "$here/build-image.sh" "$build_tmp" "$mirror" "$suite" "$cache/debs-$suite" \
		${flavor:+"$repo/Makefile"} &
	build_pid=$!
	wait "$build_pid" || die "image build failed (log above)"
	build_pid=
	rm -f "$build_tmp/debootstrap.log"
	echo "$suite$flavor" >"$build_tmp/suite"
	date -u +%FT%TZ >"$build_tmp/complete"
	rm -rf "$image"
	mv "$build_tmp" "$image"
	build_tmp=
	say "phase image: built in $(secs "$t0") s"
fi
flock -u 9
exec 9>&-

# ---------------------------------------------------------------- phase 2: stage
t0=$(ms)
run=$(mktemp -d /tmp/check-vm.XXXXXX)
data=$run/data
mkdir -p "$data" "$run/out"
if [ "$smoke" = 1 ]; then
	cp "$here/smoke-guest.sh" "$data/test.sh"
elif [ "$readme" = 1 ]; then
	# The tree as it is (tracked and new files), to be a fresh checkout in the guest.
	mkdir "$data/src"
	(cd "$repo" && git ls-files -z -co --exclude-standard | xargs -0 tar -cf -) | tar -xf - -C "$data/src"
	cp "$here/readme-guest.sh" "$data/test.sh"
else
	cp "$deb" "$debdir/pintest" "$debdir/memtouch" "$here/guest-lib.sh" "$data/"
	for f in firstmask setaff32; do [ -x "$debdir/$f" ] && cp "$debdir/$f" "$data/"; done
	[ -x "$debdir/promtool" ] && cp "$debdir/promtool" "$data/"
	case $boot in
	*-smt) guest_script=guest-topo.sh ;;
	*-irq) guest_script=guest-irq.sh ;;
	*-numa) guest_script=guest-numa.sh ;;
	*) guest_script=guest-test.sh ;;
	esac
	cp "$here/$guest_script" "$data/test.sh"
	[ "$guest_script" = guest-numa.sh ] && cp "$repo/tests/bench/memory.sh" "$data/"
fi
cp "$here/run-in-guest.sh" "$data/run-in-guest.sh"
size=$(($(du -sm "$data" | cut -f1) + 32))
truncate -s "${size}M" "$run/data.img"
mke2fs -q -t ext4 -L pinnerd-data -E root_owner=0:0 -d "$data" "$run/data.img"
qemu-img create -q -f qcow2 -F raw -b "$image/rootfs.img" "$run/root.qcow2"
what="$(basename "${deb:-none}") + ${guest_script:-}"
[ "$smoke" = 1 ] && what="smoke test"
[ "$readme" = 1 ] && what="the tree + readme-guest.sh"
say "phase stage: $what, data disk ${size} MiB, overlay on $key ($(secs "$t0") s)"

# ---------------------------------------------------------------- phase 3+4: boot, test
out=$run/out
: >"$out/test.log"
: >"$out/status"
: >"$out/journal.log"
cmdline="console=ttyS0 root=/dev/vda rw quiet isolcpus=4-5 pinnerd.test panic=-1 mitigations=off systemd.firstboot=off"
smp=6 mem=1536 vm_timeout=${PINNERD_VM_TIMEOUT:-300}
if [ "$boot" = trixie-smt ]; then
	# Real SMT siblings for the topology terms and spread; nothing isolated at boot
	# (the test isolates a CPU at run time with a cgroup v2 partition).
	cmdline="console=ttyS0 root=/dev/vda rw quiet pinnerd.test panic=-1 mitigations=off systemd.firstboot=off"
	smp=8,sockets=2,cores=2,threads=2 mem=1536 vm_timeout=${PINNERD_VM_TIMEOUT:-450}
fi
devices=
if [ "$boot" = trixie-irq ]; then
	# IRQs that move beside the virtio disks' managed queue IRQs: a virtio NIC on
	# qemu's user network (the guest pings its gateway for traffic) and a SATA
	# controller; 4 vCPUs so the disk has a queue per CPU; nothing isolated.
	cmdline="console=ttyS0 root=/dev/vda rw quiet pinnerd.test panic=-1 mitigations=off systemd.firstboot=off"
	smp=4 mem=1536 vm_timeout=${PINNERD_VM_TIMEOUT:-400}
	devices="-netdev user,id=n0 -device virtio-net-pci,netdev=n0 -device ahci,id=ahci0"
fi
numa=
if [ "$boot" = trixie-numa ]; then
	# Two NUMA nodes, each with a CPU and 1 GiB: memory that follows the CPUs.
	# One vCPU per node, no more vCPUs than the host's 2 cores: the stalls a
	# process sees are then the guest's, not qemu's threads waiting for a core.
	cmdline="console=ttyS0 root=/dev/vda rw quiet pinnerd.test panic=-1 mitigations=off systemd.firstboot=off"
	smp=2 mem=2048 vm_timeout=${PINNERD_VM_TIMEOUT:-360}
	numa="-object memory-backend-ram,id=m0,size=1024M -object memory-backend-ram,id=m1,size=1024M
		-numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1"
fi
if [ "$readme" = 1 ]; then
	# Like this project's machines: 2 CPUs, nothing isolated.
	cmdline="console=ttyS0 root=/dev/vda rw quiet pinnerd.test panic=-1 mitigations=off systemd.firstboot=off"
	smp=2 mem=3072 vm_timeout=${PINNERD_VM_TIMEOUT:-5400}
fi
t_boot=$(ms)
qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot \
	-machine pc,accel=tcg -cpu Nehalem -smp "$smp" -m "$mem" $numa \
	-kernel "$image/kernel" -initrd "$image/initrd.img" -append "$cmdline" \
	-drive "file=$run/root.qcow2,format=qcow2,if=virtio,cache=unsafe" \
	-drive "file=$run/data.img,format=raw,if=virtio,readonly=on" \
	-device virtio-rng-pci $devices \
	-device virtio-serial-pci \
	-chardev "file,id=log,path=$out/test.log" -device virtserialport,chardev=log,name=pinnerd.log \
	-chardev "file,id=status,path=$out/status" -device virtserialport,chardev=status,name=pinnerd.status \
	-chardev "file,id=journal,path=$out/journal.log" -device virtserialport,chardev=journal,name=pinnerd.journal \
	-serial "file:$out/console.log" \
	>"$out/qemu.log" 2>&1 &
qemu_pid=$!

# Boot ends when the guest writes its first line; then stream the test's output.
booted=0
while kill -0 "$qemu_pid" 2>/dev/null; do
	if [ -s "$out/test.log" ]; then booted=1; break; fi
	[ $((($(ms) - t_boot) / 1000)) -lt "$vm_timeout" ] || break
	sleep 0.2
done
t_test=$(ms)
timed_out=0
if [ "$booted" = 1 ]; then
	say "phase boot: guest up after $(secs "$t_boot") s"
	tail -n +1 -f --pid="$qemu_pid" "$out/test.log" | sed "s/^/guest $boot: /" &
	tail_pid=$!
	while kill -0 "$qemu_pid" 2>/dev/null; do
		if [ $((($(ms) - t_boot) / 1000)) -ge "$vm_timeout" ]; then timed_out=1; break; fi
		sleep 0.5
	done
	[ "$timed_out" = 0 ] || kill "$qemu_pid" 2>/dev/null || true
	wait "$tail_pid" 2>/dev/null || true
elif kill -0 "$qemu_pid" 2>/dev/null; then
	timed_out=1
fi
if [ "$timed_out" = 1 ]; then
	kill "$qemu_pid" 2>/dev/null || true
fi
wait "$qemu_pid" 2>/dev/null && qemu_rc=0 || qemu_rc=$?
qemu_pid=
t_end=$(ms)
[ "$booted" = 1 ] && say "phase test: $(secs "$t_test" "$t_end") s (guest powered off)"

# Keep the last run's logs next to the cache for whoever looks at a failure.
last=$cache/last-run-$boot
rm -rf "$last"
mkdir -p "$last"
cp "$out/test.log" "$out/console.log" "$out/journal.log" "$out/qemu.log" "$last/" 2>/dev/null || true

status=$(tr -dc '0-9' <"$out/status")
rm -rf "$run"
run=
say "logs of this run in $last/"
if [ "$timed_out" = 1 ]; then
	tail -n 40 "$last/console.log" | sed 's/^/console: /' >&2
	say "FAIL: VM did not finish within ${vm_timeout} s (PINNERD_VM_TIMEOUT)"
	return 1
fi
if [ -z "$status" ]; then
	tail -n 40 "$last/console.log" | sed 's/^/console: /' >&2
	sed 's/^/qemu: /' "$last/qemu.log" >&2
	# The guest kernel died of an unexpected breakpoint ("Oops: int3"): under
	# TCG the kernel's live text patching (static keys at boot, syscall
	# tracepoints when a perf event enables them) races with the other
	# vCPUs' translated code. Seen 3 times in a day: twice in sched_clock_cpu
	# 2 s into boot, once in syscall_trace_enter when the test turned the
	# drift tracepoint on. An emulator fault, not a result: the caller boots
	# it again. Any other panic, or none, is a failure.
	if grep -q 'Kernel panic' "$last/console.log" &&
		{ [ "$booted" = 0 ] || grep -q 'Oops: int3' "$last/console.log"; }; then
		say "the guest kernel panicked ($( [ "$booted" = 0 ] && echo 'during boot' || echo 'mid-test, a TCG text-patching fault')): $(grep -m1 -E 'Oops|BUG:|Kernel panic' "$last/console.log" | cut -c1-120)"
		return 2
	fi
	say "FAIL: the guest reported no exit status (qemu exit $qemu_rc)"
	return 1
fi
if [ "$status" != 0 ]; then
	say "FAIL: guest test exited $status (journal of the guest: $last/journal.log)"
	return 1
fi
return 0
}

# ---------------------------------------------------------------- phase 0: deb
# One package for every suite, built here: what an administrator installs.
debdir=
deb=
if [ "$smoke" != 1 ] && [ "$readme" != 1 ]; then
	t0=$(ms)
	debdir=$(mktemp -d /tmp/check-vm-deb.XXXXXX)
	make -C "$repo" --no-print-directory deb DEB_OUT="$debdir" >"$debdir/make-deb.log" 2>&1 || {
		tail -n 30 "$debdir/make-deb.log" >&2
		die "make deb failed"
	}
	deb=$(ls "$debdir"/pinnerd_*.deb 2>/dev/null | head -n 1)
	[ -n "$deb" ] || die "make deb made no pinnerd_*.deb in $debdir"
	say "phase deb: $(basename "$deb"), Depends: $(dpkg-deb -f "$deb" Depends) ($(secs "$t0") s)"
	cc -O2 -Wall -Wextra -Werror -pthread -o "$debdir/pintest" "$here/threads.c" ||
		die "cannot build tests/system/threads.c"
	cc -O2 -Wall -Wextra -Werror -pthread -o "$debdir/memtouch" "$repo/tests/helpers/memtouch.c" ||
		die "cannot build tests/helpers/memtouch.c"
	# Static, no libc: they run on either guest as built here.
	if [ "$(uname -m)" = x86_64 ]; then
		for f in firstmask setaff32; do
			cc -O2 -Wall -Wextra -Werror -static -nostdlib -ffreestanding -fno-stack-protector -fno-builtin \
				-fno-pie -no-pie -o "$debdir/$f" "$repo/tests/helpers/nolibc/$f.c" ||
				die "cannot build tests/helpers/nolibc/$f.c"
		done
	fi
	# promtool, for the shipped alerting rules in the guest (which has no
	# network): the host's, or taken once from Debian's prometheus package
	# (apt-get download, nothing installed) and kept in the cache. Without it
	# the guest says so and skips that check.
	promtool=$(command -v promtool || true)
	if [ -z "$promtool" ] && [ ! -x "$cache/promtool/promtool" ]; then
		mkdir -p "$cache/promtool"
		if (cd "$cache/promtool" && apt-get download -q prometheus >/dev/null 2>&1 &&
			dpkg-deb --fsys-tarfile prometheus_*.deb | tar -xOf - ./usr/bin/promtool >promtool.new &&
			chmod 0755 promtool.new && ./promtool.new --version >/dev/null 2>&1 && mv promtool.new promtool); then
			say "phase deb: promtool from $(ls "$cache/promtool"/prometheus_*.deb | xargs -n 1 basename)"
		else
			say "phase deb: no promtool (the host's apt has no prometheus package): the guest skips the rules check"
		fi
		rm -f "$cache/promtool"/prometheus_*.deb "$cache/promtool/promtool.new"
	fi
	[ -n "$promtool" ] || promtool=$cache/promtool/promtool
	[ -x "$promtool" ] && cp "$promtool" "$debdir/promtool"
fi

# ---------------------------------------------------------------- per boot
failed_boots= summary=
for b in $boots; do
	say "==== $b"
	t_suite=$(ms)
	run_boot "$b" && rc=0 || rc=$?
	# Seen in 3 of ~20 boots of a day: at most two more tries.
	for again in 1 2; do
		[ "$rc" = 2 ] || break
		say "$b: booting again ($again of 2; a guest kernel fault of the emulator is not a test result)"
		run_boot "$b" && rc=0 || rc=$?
	done
	if [ "$rc" = 0 ]; then
		res=PASS
	else
		res=FAIL
		failed_boots="$failed_boots $b"
	fi
	say "$b: $res ($(secs "$t_suite") s)"
	summary="$summary $b $res $(secs "$t_suite") s;"
done
[ -n "$debdir" ] && rm -rf "$debdir"
say "boots:${summary%;}"
say "total $(secs "$t_start") s"
[ -z "$failed_boots" ] || die "failed on:$failed_boots (logs in $cache/last-run-BOOT/)"
say "PASS"
