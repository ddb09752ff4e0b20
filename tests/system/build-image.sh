#!/bin/sh
# build-image.sh OUT MIRROR SUITE DEBCACHE [MAKEFILE]
#
# MAKEFILE (the README check): after debootstrap, run that Makefile's `make deps`
# in the new system, with apt from the mirror, as a new user's first command
# would, and add git (a checkout).
# Builds the guest for the system tests into the empty directory OUT:
#   OUT/rootfs.img   raw ext4: Debian (debootstrap minbase) with systemd, dbus, udev,
#                    the Debian kernel and pinnerd's runtime libraries, plus the
#                    pinnerd-system-test.service that runs the test when the kernel
#                    command line says pinnerd.test
#   OUT/kernel       the uncompressed vmlinux (ELF, booted by qemu through its PVH
#                    entry point) or, when that cannot be had, the bzImage
#   OUT/kernel-kind  "pvh" or "bzimage"
#   OUT/initrd.img   a tiny busybox initramfs that loads virtio/ext4 and mounts /dev/vda
#
# Runs as root (debootstrap). Every input that changes the image lives in this
# directory, so run.sh keys the cache on a hash of tests/system/image/ and this file.
# Nothing is mounted outside OUT: the disk image is made with `mke2fs -d`.
set -eu

out=$1 mirror=$2 suite=$3 debcache=$4 depsmk=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
root=$out/root

# Packages the guest needs beyond minbase. procps for ps/pgrep, kmod for modprobe;
# pinnerd's dependencies (libsystemd0, libinih1, libbpf1) so `apt install ./pinnerd_*.deb`
# needs no network; bash-completion and python3-prometheus-client for the
# administrator's tools the test uses (TAB completion, a Prometheus text parser).
packages=systemd,systemd-sysv,dbus,udev,linux-image-amd64,kmod,libsystemd0,libinih1,libbpf1,procps
packages=$packages,bash-completion,python3-prometheus-client

step() { printf 'build-image: %s\n' "$*"; }

mkdir -p "$root" "$debcache"
step "debootstrap $suite (minbase + $packages)"
# unsafe-io: the image is thrown away if the build dies, so dpkg's fsyncs only cost time
# (measured: several seconds of the build on this 2-core machine).
mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/pinnerd-vm-unsafe-io"
debootstrap --variant=minbase --include="$packages" --cache-dir="$debcache" \
	"$suite" "$root" "$mirror" >"$out/debootstrap.log" 2>&1 || {
	tail -n 30 "$out/debootstrap.log" >&2
	[ -f "$root/debootstrap/debootstrap.log" ] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
	exit 1
}

if [ -n "$depsmk" ]; then
	step "make deps in the new system (apt-get from $mirror)"
	# No services start in a chroot; dpkg's scripts need /proc and /dev.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 0755 "$root/usr/sbin/policy-rc.d"
	mount -t proc proc "$root/proc"
	mount --bind /dev "$root/dev"
	cp "$depsmk" "$root/root/deps.mk"
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	rc=0
	chroot "$root" sh -c 'export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq && apt-get install -y -qq --no-install-recommends make git &&
		cd /root && make -f deps.mk deps && make -f deps.mk deps' >"$out/deps.log" 2>&1 || rc=$?
	umount "$root/dev" "$root/proc"
	rm -f "$root/usr/sbin/policy-rc.d" "$root/root/deps.mk"
	grep '^deps:' "$out/deps.log" | sed 's/^/build-image: /'
	if [ "$rc" != 0 ]; then
		tail -n 30 "$out/deps.log" >&2
		exit 1
	fi
	rm -f "$out/deps.log"
fi
rm -f "$root/etc/dpkg/dpkg.cfg.d/pinnerd-vm-unsafe-io"

step "configure guest"
img=$here/image
echo pinnerd-vm >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 pinnerd-vm\n' >"$root/etc/hosts"
# A fixed machine id: not a first boot (no systemd-firstboot prompt), and every run
# starts from the same image anyway.
echo 5a1e7f3b0c9d4e2f8a6b7c8d9e0f1a2b >"$root/etc/machine-id"
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >"$root/etc/fstab"
# Root without password on the serial console, for debugging a run by hand.
sed -i 's/^root:[^:]*:/root::/' "$root/etc/shadow"
install -D -m 0644 "$img/pinnerd-system-test.service" \
	"$root/etc/systemd/system/pinnerd-system-test.service"
install -D -m 0755 "$img/pinnerd-system-test" "$root/usr/local/libexec/pinnerd-system-test"
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf ../pinnerd-system-test.service \
	"$root/etc/systemd/system/multi-user.target.wants/pinnerd-system-test.service"
mkdir -p "$root/mnt/pinnerd-test"
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"* 2>/dev/null || true
# initramfs-tools' initrd is not used (we boot our own, below): 30 MB less to copy.
rm -f "$root/boot/initrd.img"*

kver=$(ls "$root/lib/modules" | sort -V | tail -n 1)
[ -n "$kver" ] || { echo "build-image: no kernel modules in the image" >&2; exit 1; }
step "kernel $kver"

# Kernel: qemu's -kernel boots an ELF vmlinux through its PVH entry note, which
# skips the in-guest decompression (seconds under TCG). The Debian package ships
# only the bzImage, so take the vmlinux back out of it the way the kernel's
# scripts/extract-vmlinux does: find a compressed stream's magic, decompress, keep
# the first result that is an ELF file.
vmlinuz=$root/boot/vmlinuz-$kver
extract_vmlinux() { # BZIMAGE OUT
	for spec in 'xz:fd377a585a00:xz -dc' 'gzip:1f8b0800:gzip -dc' 'zstd:28b52ffd:zstd -dc' \
		'lzma:5d000000:xz -dc --format=lzma' 'lz4:02214c18:lz4 -dc'; do
		magic=${spec#*:} magic=${magic%%:*} cmd=${spec##*:}
		for pos in $(od -An -v -tx1 "$1" | tr -d ' \n' | grep -bo "$magic" | cut -d: -f1); do
			# grep -bo counts hex digits: only even positions are byte aligned
			[ $((pos % 2)) -eq 0 ] || continue
			tail -c +$((pos / 2 + 1)) "$1" | $cmd >"$2" 2>/dev/null || true
			if [ "$(head -c 4 "$2" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
				return 0
			fi
		done
	done
	return 1
}
has_pvh_note() { # VMLINUX: the Xen ELF note type 18 (XEN_ELFNOTE_PHYS32_ENTRY)
	readelf -n "$1" 2>/dev/null | grep -Eq 'Xen[[:space:]]+0x[0-9a-f]+[[:space:]]+(Unknown note type: \(0x00000012\)|.*PHYS32_ENTRY)'
}
if command -v readelf >/dev/null && extract_vmlinux "$vmlinuz" "$out/kernel" && has_pvh_note "$out/kernel"; then
	echo pvh >"$out/kernel-kind"
else
	step "no usable PVH vmlinux (readelf missing, extraction failed or no PVH note): booting the bzImage"
	cp "$vmlinuz" "$out/kernel"
	echo bzimage >"$out/kernel-kind"
fi
step "kernel kind: $(cat "$out/kernel-kind")"

# Initramfs: static busybox, the modules for the root disk, and init. Debian builds
# virtio_blk and ext4 as modules, so the kernel cannot mount /dev/vda by itself.
step "initramfs"
ird=$out/initramfs
mkdir -p "$ird/bin" "$ird/dev" "$ird/proc" "$ird/sys" "$ird/newroot" "$ird/lib/modules"
bb=$(command -v busybox)
file_is_static() { ! readelf -l "$1" 2>/dev/null | grep -q 'Requesting program interpreter'; }
file_is_static "$bb" || { echo "build-image: $bb is not static (install busybox-static)" >&2; exit 1; }
cp "$bb" "$ird/bin/busybox"
install -m 0755 "$img/initramfs-init" "$ird/init"
moddir=$root/lib/modules/$kver
: >"$ird/modules.order"
add_module() { # NAME: the module and its dependencies, dependencies first
	# shellcheck disable=SC3043 # dash (Debian's sh) and bash both have local; recursion needs it
	local name line path dep d base
	name=$1
	grep -Eq "/$name\.ko" "$moddir/modules.builtin" 2>/dev/null && return 0
	line=$(grep -E "(^|/)$name\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | head -n 1)
	[ -n "$line" ] || { echo "build-image: module $name not found" >&2; return 1; }
	path=${line%%:*}
	for dep in ${line#*:}; do
		d=$(basename "$dep")
		add_module "${d%%.ko*}" || return 1
	done
	grep -qx "$(basename "${path%%.ko*}").ko" "$ird/modules.order" && return 0
	base=$(basename "${path%%.ko*}").ko
	case $path in
	*.ko) cp "$moddir/$path" "$ird/lib/modules/$base" ;;
	*.ko.xz) xz -dc "$moddir/$path" >"$ird/lib/modules/$base" ;;
	*.ko.zst) zstd -qdc "$moddir/$path" >"$ird/lib/modules/$base" ;;
	*.ko.gz) gzip -dc "$moddir/$path" >"$ird/lib/modules/$base" ;;
	esac
	echo "$base" >>"$ird/modules.order"
}
# crc32c: ext4 asks the crypto API for it at mount time, which is not a symbol dependency.
for m in virtio_pci virtio_blk crc32c_generic ext4; do
	add_module $m
done
step "initramfs modules: $(tr '\n' ' ' <"$ird/modules.order")"
(cd "$ird" && find . | sort | "$bb" cpio -o -H newc) >"$out/initrd.cpio" 2>/dev/null
gzip -1 <"$out/initrd.cpio" >"$out/initrd.img"
rm -f "$out/initrd.cpio"
rm -rf "$ird"

# The root disk: twice the tree plus room for the test, made without mounting anything.
step "rootfs.img"
used=$(du -sm "$root" | cut -f1)
size=$((used * 3 / 2 + 512))
truncate -s "${size}M" "$out/rootfs.img"
mke2fs -q -t ext4 -L pinnerd-root -E root_owner=0:0 -d "$root" "$out/rootfs.img"
echo "$kver" >"$out/kernel-version"
rm -rf "$root"
step "done: rootfs ${size} MiB, $(du -k "$out/initrd.img" | cut -f1) KiB initramfs"
