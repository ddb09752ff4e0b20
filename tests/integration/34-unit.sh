#!/bin/bash
# The systemd unit as `make install` installs it: `systemd-analyze verify`
# clean (no output at all), the `systemd-analyze security` exposure printed
# and bounded, and the settings the SPEC requires. systemd need not be
# PID 1: both run --offline against a DESTDIR root that also holds the
# host's stock units (sysinit.target and friends the unit depends on).
. "$HERE/lib.sh"
command -v systemd-analyze >/dev/null || skip "needs systemd-analyze (package systemd)"
REPO=$(cd "$HERE/../.." && pwd)
B=$(cd "$BUILD" && pwd)
ROOT=$T/root
UNIT=$ROOT/usr/lib/systemd/system/pinnerd.service
[ -f "$REPO/systemd/pinnerd.service.in" ] || fail "no systemd/pinnerd.service.in"
[ -x "$B/pinnerd" ] && [ -x "$B/pinnerctl" ] || skip "build $B/pinnerd and $B/pinnerctl first"

# Install without rebuilding (-o: the binaries are taken as they are).
if ! make -s -C "$REPO" BUILD="$B" -o "$B/pinnerd" -o "$B/pinnerctl" install DESTDIR="$ROOT" PREFIX=/usr \
        >"$T/install.log" 2>&1; then
        echo "note: make install failed (the unit is installed before the man pages):"
        sed 's/^/    /' "$T/install.log"
fi
[ -f "$UNIT" ] || fail "make install did not install $UNIT: $(cat "$T/install.log")"
[ -x "$ROOT/usr/sbin/pinnerd" ] && [ -x "$ROOT/usr/bin/pinnerctl" ] || fail "make install did not install the binaries"
expect_eq "$(stat -c %a "$UNIT")" 644 "unit file mode"
grep -n '@[A-Z]*@' "$UNIT" && fail "unsubstituted placeholders left in the unit"

# The stock units the unit's default dependencies name.
mkdir -p "$ROOT/usr/lib/systemd/system"
cp -an /usr/lib/systemd/system/. "$ROOT/usr/lib/systemd/system/" 2>/dev/null ||
        cp -an /lib/systemd/system/. "$ROOT/usr/lib/systemd/system/"

# Documentation= names man pages: verify runs man(1) on each. Those not in
# the tree yet are skipped with --man=no, and said so.
man_opt=--man=yes
for p in pinnerd.8 pinnerctl.8 pinnerd.conf.5; do
        sec=${p##*.}
        if [ -f "$REPO/man/$p" ]; then
                install -D -m 0644 "$REPO/man/$p" "$ROOT/usr/share/man/man$sec/$p"
        else
                echo "note: man/$p is missing; verify runs with --man=no"
                man_opt=--man=no
        fi
done
export MANPATH=$ROOT/usr/share/man

out=$(systemd-analyze verify "$man_opt" --root="$ROOT" pinnerd.service 2>&1)
rc=$?
[ "$rc" = 0 ] && [ -z "$out" ] || fail "systemd-analyze verify is not clean (exit $rc): $out"
ok "systemd-analyze verify $man_opt: clean"

# A deliberate mistake must show up, or the clean result proves nothing.
cp "$UNIT" "$T/good.service"
sed -i 's/^Type=notify$/Type=notify\nFrobnicate=yes/' "$UNIT"
systemd-analyze verify --man=no --root="$ROOT" pinnerd.service 2>&1 | grep -q Frobnicate ||
        fail "systemd-analyze verify did not read $UNIT (a planted error went unnoticed)"
cp "$T/good.service" "$UNIT"

systemd-analyze security --offline=true --root="$ROOT" --no-pager pinnerd.service >"$T/security.txt" 2>&1
line=$(grep 'Overall exposure level' "$T/security.txt")
[ -n "$line" ] || fail "systemd-analyze security printed no exposure: $(tail "$T/security.txt")"
echo "$line"
exposure=$(sed -n 's/.*pinnerd.service: \([0-9.]*\).*/\1/p' <<<"$line")
awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 2.5) }' ||
        fail "exposure $exposure is above 2.5; what changed: $(grep '✗' "$T/security.txt")"
ok "systemd-analyze security: exposure $exposure (at most 2.5)"

# The opt-in drop-in for guarantee = exec, as an administrator links it.
DROPIN=$ROOT/usr/share/pinnerd/guarantee.conf
[ -f "$DROPIN" ] || fail "make install did not install $DROPIN"
mkdir -p "$ROOT/etc/systemd/system/pinnerd.service.d"
cp "$DROPIN" "$ROOT/etc/systemd/system/pinnerd.service.d/guarantee.conf" # (ln -s in life; offline, a copy)
out=$(systemd-analyze verify "$man_opt" --root="$ROOT" pinnerd.service 2>&1)
rc=$?
[ "$rc" = 0 ] && [ -z "$out" ] || fail "systemd-analyze verify with the guarantee drop-in (exit $rc): $out"
line=$(systemd-analyze security --offline=true --root="$ROOT" --no-pager pinnerd.service 2>&1 | grep 'Overall exposure level')
echo "with the guarantee drop-in: $line"
with=$(sed -n 's/.*pinnerd.service: \([0-9.]*\).*/\1/p' <<<"$line")
awk -v e="$with" -v b="$exposure" 'BEGIN { exit !(e != "" && e > b && e <= 3.0) }' ||
        fail "exposure with the drop-in $with: expected above $exposure and at most 3.0"
ok "with the guarantee drop-in: verify clean, exposure $with"
rm -r "$ROOT/etc/systemd/system/pinnerd.service.d"

# What the SPEC and the daemon rely on.
setting() { sed -n "s/^$1=//p" "$UNIT" | tail -n 1; }
expect_eq "$(setting Type)" notify "Type"
expect_eq "$(setting NotifyAccess)" main "NotifyAccess"
expect_eq "$(setting ExecStart)" /usr/sbin/pinnerd "ExecStart"
expect_eq "$(setting ExecReload)" "/usr/bin/pinnerctl reload" "ExecReload"
expect_eq "$(setting Restart)" on-failure "Restart"
expect_eq "$(setting WatchdogSec)" 30s "WatchdogSec"
expect_eq "$(setting RuntimeDirectory)" pinnerd "RuntimeDirectory (the socket /run/pinnerd/control)"
caps=$(setting CapabilityBoundingSet)
for c in CAP_SYS_NICE CAP_NET_ADMIN CAP_BPF CAP_PERFMON; do
        grep -qw "$c" <<<"$caps" || fail "CapabilityBoundingSet lacks $c: $caps"
done
grep -qw AF_NETLINK <<<"$(setting RestrictAddressFamilies)" || fail "RestrictAddressFamilies lacks AF_NETLINK"
grep -qw CAP_SYS_ADMIN <<<"$caps" && fail "the shipped unit grants CAP_SYS_ADMIN (only the opt-in drop-in may)"
grep -q '^SystemCallFilter=.*\bbpf\b' "$UNIT" || fail "SystemCallFilter does not allow bpf (drift events)"
# Settings that would break the proc connector or hide processes.
for bad in 'PrivateNetwork=yes' 'PrivateUsers=yes' 'ProtectProc=invisible' 'ProtectProc=noaccess' \
        'ProtectProc=ptraceable' 'User=[^r]'; do
        grep -q "^$bad" "$UNIT" && fail "the unit sets $bad, which breaks pinnerd"
done
# sched_setaffinity must survive the syscall filter.
filters=$(sed -n 's/^SystemCallFilter=//p' "$UNIT")
for set in $(grep -v '^~' <<<"$filters"); do
        systemd-analyze syscall-filter --no-pager "$set" 2>/dev/null | grep -qw sched_setaffinity && allowed=1
        for inc in $(systemd-analyze syscall-filter --no-pager "$set" 2>/dev/null | awk '$1 ~ /^@/ {print $1}'); do
                systemd-analyze syscall-filter --no-pager "$inc" 2>/dev/null | grep -qw sched_setaffinity && allowed=1
        done
done
[ "${allowed:-0}" = 1 ] || fail "SystemCallFilter ($filters) does not allow sched_setaffinity"
for set in $(grep '^~' <<<"$filters" | tr -d '~'); do
        systemd-analyze syscall-filter --no-pager "$set" 2>/dev/null | grep -qw sched_setaffinity &&
                fail "SystemCallFilter=~$set denies sched_setaffinity"
done
# irqs and workqueues rules write below /proc/irq and the workqueue masks:
# ProtectKernelTunables= (which systemd will not open /proc/irq again under)
# is spelled out without /proc/irq, and the workqueue masks are opened below a
# read-only /sys; nothing else in /proc or /sys.
ro=" $(sed -n 's/^ReadOnlyPaths=//p' "$UNIT" | tr '\n' ' ' | sed 's/-\//\//g') "
for p in /proc/acpi /proc/apm /proc/asound /proc/bus /proc/fs /proc/latency_stats /proc/mtrr /proc/scsi \
        /proc/sys /proc/sysrq-trigger /proc/timer_stats /sys; do
        case $ro in *" $p "*) ;; *) fail "ReadOnlyPaths lacks $p, which ProtectKernelTunables= would protect: $ro" ;; esac
done
case $ro in *" /proc/irq "*) fail "ReadOnlyPaths holds /proc/irq: irqs rules could not write" ;; esac
ia=" $(sed -n 's/^InaccessiblePaths=//p' "$UNIT" | tr '\n' ' ' | sed 's/-\//\//g') "
for p in /proc/kallsyms /proc/kcore; do
        case $ia in *" $p "*) ;; *) fail "InaccessiblePaths lacks $p: $ia" ;; esac
done
rw=$(sed -n 's/^ReadWritePaths=//p' "$UNIT" | tr ' ' '\n' | sed 's/^-//' | sort | tr '\n' ' ')
expect_eq "$rw" "/sys/devices/virtual/workqueue " "ReadWritePaths (workqueue masks only)"
expect_eq "$(setting PrivateMounts)" yes "PrivateMounts"
ok "the unit's key settings"
exit 0
