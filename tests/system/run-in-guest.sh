#!/bin/sh
# run-in-guest.sh DATADIR — first thing on the data disk the guest runs (from the
# image's pinnerd-system-test.service): report the boot, install the staged tree
# from `make install DESTDIR=stage` the way a package would, then run test.sh.
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
cd /tmp && exec sh "$d/test.sh" "$d"
