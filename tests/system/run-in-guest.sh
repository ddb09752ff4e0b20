#!/bin/sh
# run-in-guest.sh DATADIR — first thing on the data disk the guest runs (from the
# image's pinnerd-system-test.service): report the boot, install a staged tree
# (DATADIR/stage, from `make install DESTDIR=`) if there is one, then run test.sh
# (guest-test.sh installs the package itself, as its first step).
d=$1
echo "boot: uptime $(cut -d' ' -f1 /proc/uptime) s, system $(systemctl is-system-running 2>&1)," \
	"kernel $(uname -r), $(nproc --all) CPUs"
systemd-analyze time 2>/dev/null | sed -n 's/^Startup finished in /boot: startup /p'
if [ -d "$d/stage" ]; then
	cp -a "$d/stage/." / || { echo "install: copying the staged tree failed"; exit 1; }
	systemctl daemon-reload
	echo "install: $(cd "$d/stage" && find . -type f | sed 's/^\.//' | sort | tr '\n' ' ')"
fi
cp "$d/pintest" /usr/local/bin/pintest 2>/dev/null || true
# The first-instruction probe and the 32-bit caller (x86-64), when built.
for f in firstmask setaff32; do cp "$d/$f" "/usr/local/bin/$f" 2>/dev/null || true; done
cd /tmp && exec sh "$d/test.sh" "$d"
