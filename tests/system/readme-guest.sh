#!/bin/sh
# readme-guest.sh DATADIR — the README's test command on a fresh Debian machine
# (PINNERD_VM_README=1 make check-vm): a checkout of the tree as it is, then
# the tiers of `make check` as root, as the README says (see below for the two
# left out under emulation). The image has what `make
# deps` installs and nothing of pinnerd; the guest has no network, so `make deps`
# must find everything installed, and every name it asks for must have been one
# debootstrap could install on this suite.
set -u
d=${1:?usage: readme-guest.sh DATADIR}
. /etc/os-release
echo "readme: $PRETTY_NAME, kernel $(uname -r), $(nproc) CPUs, $(stat -f -c %T /sys/fs/cgroup)"
rm -rf /root/pinnerd
cp -a "$d/src" /root/pinnerd || exit 1
cd /root/pinnerd || exit 1
# A checkout, as `git clone` would leave it (make deb packs the tracked files).
git init -q && git add -A && git -c user.name=check -c user.email=check@localhost commit -qm tree || exit 1
# qemu without KVM runs code 10-50 times slower than the host: Check's per-test
# timeout (4 s) is for real machines.
export CK_TIMEOUT_MULTIPLIER=20
# `make check` is deps, all unit, asan, man-lint, format-check, deb-check, fuzz,
# integration. Run here: all of it but asan and fuzz. Under TCG the sanitizer
# build's control-socket tests exceed their wall-clock bounds (measured: 2 of
# 433 in test_ctl.c after 11 minutes; the same 433 pass without sanitizers),
# which says nothing about Debian 13; fuzzing for a fixed time proves nothing
# more at a fiftieth of the speed. Set README_FULL=1 for the whole `make check`.
t0=$(date +%s)
if [ "${README_FULL:-0}" = 1 ]; then
	make check
else
	make deps && make all unit && make man-lint && make format-check && make deb-check && make integration
fi
rc=$?
echo "readme: make check tiers exited $rc after $(($(date +%s) - t0)) s"
exit "$rc"
