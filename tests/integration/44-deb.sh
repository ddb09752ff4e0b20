#!/bin/bash
# The Debian package as `make deb` builds it: lintian has no error or warning,
# the files are where Debian puts them, /etc/pinnerd.conf is a conffile, the
# unit is enabled and started by the maintainer scripts, purge removes what the
# daemon and the administrator left, the version is the Makefile's, and the
# build leaves the checkout as it was.
. "$HERE/lib.sh"
REPO=$(cd "$HERE/../.." && pwd)
for c in dpkg-buildpackage dh lintian git; do
        command -v $c >/dev/null || skip "needs $c (make deps installs dpkg-dev, debhelper, lintian)"
done
git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1 || skip "not a git checkout: make deb packs the tracked files"

before=$(git -C "$REPO" status --porcelain)
make -C "$REPO" --no-print-directory deb DEB_OUT="$T/out" >"$T/deb.log" 2>&1 || fail "make deb: $(tail -n 30 "$T/deb.log")"
after=$(git -C "$REPO" status --porcelain)
[ "$before" = "$after" ] || fail "make deb changed the checkout: before '$before', after '$after'"
ok "make deb leaves git status as it was"

version=$(sed -n 's/^VERSION *:= *//p' "$REPO/Makefile")
arch=$(dpkg --print-architecture)
deb=$T/out/pinnerd_${version}_${arch}.deb
[ -f "$deb" ] || fail "no $deb; made: $(ls "$T/out")"
expect_eq "$(dpkg-deb -f "$deb" Version)" "$version" "package version is the Makefile's VERSION"

lintian_args=(--fail-on error,warning)
[ "$(id -u)" = 0 ] && lintian_args+=(--allow-root)
lintian "${lintian_args[@]}" "$deb" >"$T/lintian" 2>&1 || fail "lintian: $(cat "$T/lintian")"
ok "lintian --fail-on error,warning: clean ($(grep -c . "$T/lintian") info lines)"

dpkg-deb -c "$deb" | awk '{print $1, $2, $6}' | sed 's|\./|/|' >"$T/contents"
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd)
has() { # MODE PATH
        grep -qx -- "$1 root/root $2" "$T/contents" || fail "package lacks $1 root/root $2: $(grep -F "$2" "$T/contents")"
}
has -rwxr-xr-x /usr/sbin/pinnerd
has -rwxr-xr-x /usr/bin/pinnerctl
has -rw-r--r-- /etc/pinnerd.conf
has drwxr-xr-x /etc/pinnerd.d/
has -rw-r--r-- "$unitdir/pinnerd.service"
has -rw-r--r-- "$unitdir/pinnerd-metrics.service"
has -rw-r--r-- "$unitdir/pinnerd-metrics.timer"
has -rw-r--r-- /usr/share/man/man8/pinnerd.8.gz
has -rw-r--r-- /usr/share/man/man8/pinnerctl.8.gz
has -rw-r--r-- /usr/share/man/man5/pinnerd.conf.5.gz
has -rw-r--r-- /usr/share/doc/pinnerd/copyright
has -rw-r--r-- /usr/share/bash-completion/completions/pinnerctl
has -rw-r--r-- /usr/lib/systemd/catalog/pinnerd.catalog
has -rw-r--r-- /usr/share/doc/pinnerd/examples/pinnerd-alerts.yml
ok "files at Debian's paths (unit under $unitdir)"
if grep -q '/usr/local' "$T/contents"; then fail "something under /usr/local: $(grep /usr/local "$T/contents")"; fi

dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ".$unitdir/pinnerd.service" >"$T/unit"
grep -qx 'ExecStart=/usr/sbin/pinnerd' "$T/unit" || fail "unit ExecStart: $(grep ExecStart "$T/unit")"
grep -qx 'ExecReload=/usr/bin/pinnerctl reload' "$T/unit" || fail "unit ExecReload: $(grep ExecReload "$T/unit")"
ok "the unit runs /usr/sbin/pinnerd and /usr/bin/pinnerctl"

mkdir "$T/ctrl"
dpkg-deb -e "$deb" "$T/ctrl"
expect_eq "$(cat "$T/ctrl/conffiles")" "/etc/pinnerd.conf" "conffiles"
grep -q "deb-systemd-helper enable 'pinnerd.service'" "$T/ctrl/postinst" || fail "postinst does not enable pinnerd.service"
grep -q "deb-systemd-invoke \$_dh_action 'pinnerd.service'" "$T/ctrl/postinst" || fail "postinst does not start pinnerd.service"
ok "postinst enables and starts pinnerd.service"
# --no-enable: enabled again on upgrade only where the administrator had it
# enabled (debian-installed); never started.
awk "/debian-installed 'pinnerd-metrics.timer'/ {g = 1} /enable 'pinnerd-metrics.timer'/ && !g {bad = 1} END {exit bad}" \
        "$T/ctrl/postinst" || fail "postinst enables the metrics timer on a new install: $(grep pinnerd-metrics "$T/ctrl/postinst")"
if grep -q "invoke .*pinnerd-metrics" "$T/ctrl/postinst"; then
        fail "postinst starts the metrics timer: $(grep pinnerd-metrics "$T/ctrl/postinst")"
fi
dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ".$unitdir/pinnerd-metrics.service" | grep -q "/usr/bin/pinnerctl metrics" ||
        fail "pinnerd-metrics.service does not run /usr/bin/pinnerctl metrics"
ok "the metrics timer is shipped, not enabled or started"
grep -q 'rm -rf /etc/pinnerd.d /run/pinnerd' "$T/ctrl/postrm" || fail "postrm purge keeps /etc/pinnerd.d or /run/pinnerd"
grep -q 'rm -f /var/lib/prometheus/node-exporter/pinnerd.prom' "$T/ctrl/postrm" || fail "postrm purge keeps pinnerd.prom"
grep -q "deb-systemd-helper purge 'pinnerd.service'" "$T/ctrl/postrm" || fail "postrm does not purge the unit's state"
ok "postrm purges the unit state, /etc/pinnerd.d, /run/pinnerd and pinnerd.prom"

# Hardening (hardening=+all): fortified calls, full RELRO, PIE.
dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./usr/sbin/pinnerd >"$T/pinnerd"
readelf -d "$T/pinnerd" | grep -q 'BIND_NOW' || fail "pinnerd is not linked with -z now"
readelf -lW "$T/pinnerd" | grep -q GNU_RELRO || fail "pinnerd has no RELRO segment"
readelf -h "$T/pinnerd" | grep -q 'DYN' || fail "pinnerd is not PIE"
readelf -sW --dyn-syms "$T/pinnerd" | grep -q '__[a-z]*_chk' || fail "pinnerd has no fortified calls"
ok "pinnerd is built with hardening (PIE, RELRO, BIND_NOW, _FORTIFY_SOURCE)"
exit 0
