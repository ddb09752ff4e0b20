#!/bin/bash
# A non-root peer sees exactly what its own /proc shows it. The daemon runs
# in the host's mount namespace (no hidepid) while nobody's pinnerctl runs
# in one whose /proc is mounted hidepid=invisible (what the unit's mount
# namespace does the other way round): list, explain, status and metrics
# reveal none of root's processes to nobody, and, where the kernel hides a
# process of nobody's own uid (another gid; not dumpable), neither do they.
# A withheld exe longer than 200 bytes never shows up in a reason. Root sees
# everything.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
command -v setpriv >/dev/null || skip "needs setpriv to act as nobody"
command -v unshare >/dev/null && command -v nsenter >/dev/null || skip "needs unshare and nsenter (util-linux)"
[ -x /usr/bin/python3 ] || skip "needs /usr/bin/python3 for a non-dumpable process (run as nobody)"

cp "$PINNERCTL" "$T/pinnerctl"
chmod 0755 "$T" "$T/pinnerctl"
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
C=$(unique_comm v)
# A copy of sleep under a path longer than 200 bytes, run by root.
long=$T/$(printf 'd%.0s' $(seq 120))/$(printf 'e%.0s' $(seq 120))
mkdir -p "$long"
chmod -R 0755 "$T"
cp /bin/sleep "$long/$C"
cp /bin/sleep "$T/${C}n"
chmod 0755 "$long/$C" "$T/${C}n"
write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:by-exe]
comm = $C*
exe = /nonexistent-pinnerd-test/*
cpus = 0

[rule:all]
comm = $C*
cpus = 1"
# Without CAP_KILL, as the unit runs it: the peer's liveness check must not
# need to be allowed to signal the peer.
printf '#!/bin/sh\nexec setpriv --bounding-set -kill %s "$@"\n' "$PINNERD" >"$T/nokill-pinnerd"
chmod 0755 "$T/nokill-pinnerd"
PINNERD=$T/nokill-pinnerd start_daemon

"$long/$C" 3600 &
rootp=$!
"${NOBODY[@]}" "$T/${C}n" 3600 &
nobp=$!
setpriv --reuid=65534 --regid=100 --clear-groups "$T/${C}n" 3600 &
othergid=$!
"${NOBODY[@]}" /usr/bin/python3 -c 'import ctypes, sys, time
libc = ctypes.CDLL(None)
libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0, as ssh-agent does
libc.prctl(15, sys.argv[1].encode(), 0, 0, 0)  # PR_SET_NAME: a name the rule matches
time.sleep(3600)' "${C}u" &
undump=$!
cleanup_add "kill $rootp $nobp $othergid $undump"
wait_mask "$rootp" 1
wait_mask "$nobp" 1
wait_mask "$othergid" 1
wait_mask "$undump" 1

# nobody's view: a private mount namespace with /proc hidepid=invisible.
unshare -m --propagation private sh -c 'mount -t proc -o hidepid=invisible proc /proc && exec sleep 3600' &
NSH=$!
cleanup_add "kill $NSH"
wait_until 5 "the hidepid namespace" sh -c "nsenter -m -t $NSH -- grep -q 'hidepid=invisible' /proc/self/mountinfo"
asn() { nsenter -m -t "$NSH" -- "${NOBODY[@]}" "$@"; }
nctl() { asn "$T/pinnerctl" --socket "$SOCK" "$@"; }
asn test -d "/proc/$rootp" && skip "hidepid=invisible does not hide root's process from nobody here"
asn test -d "/proc/$othergid" && skip "the kernel shows nobody its other-gid process here"
asn test -d "/proc/$nobp" || fail "nobody cannot see its own process in its /proc"
ok "nobody's /proc shows $nobp only (root's $rootp, other-gid $othergid, non-dumpable $undump hidden)"

out=$(nctl list)
expect_eq "$?" 0 "nobody's list: exit status"
for p in $rootp $othergid $undump; do
        awk -v t="$p" '$1 == t {f = 1} END {exit !f}' <<<"$out" && fail "nobody's list shows $p, which its /proc hides: $out"
done
awk -v t="$nobp" '$1 == t {f = 1} END {exit !f}' <<<"$out" || fail "nobody's list does not show its own $nobp: $out"
ok "list: nobody's own process only"
for p in $rootp $othergid $undump; do
        nctl explain "$p" >/dev/null 2>&1 && fail "nobody's explain of $p (hidden from it) succeeded"
done
ok "explain: 'no such process' for each hidden one"
total=$(ctl status --json | jq '.managed_threads')
mine=$(nctl status --json | jq '.managed_threads')
expect_eq "$mine" 1 "nobody's status counts only its own managed thread (root's counts $total)"
m=$(nctl metrics | awk '$1 == "pinnerd_managed_threads" {print $2}')
expect_eq "$m" 1 "nobody's metrics: pinnerd_managed_threads"
r=$(nctl metrics | awk '$1 == "pinnerd_rule_threads{rule=\"all\"}" {print $2}')
expect_eq "$r" 1 "nobody's metrics: pinnerd_rule_threads{rule=\"all\"}"
[ "$(ctl list --json | jq 'length')" -ge 4 ] || fail "root's list does not show every managed process"
ok "root sees all $(ctl list --json | jq 'length') managed threads"

# ---- without hidepid: visible, but the exe (a ptrace-level fact) withheld ----------------
out=$("${NOBODY[@]}" "$T/pinnerctl" --socket "$SOCK" explain "$rootp" 2>&1)
expect_eq "$?" 0 "nobody's explain of root's process in the host's /proc: exit status"
grep -q "$(printf 'd%.0s' $(seq 40))" <<<"$out" && fail "nobody's explain shows part of the withheld exe path: $(grep -m1 dddd <<<"$out")"
grep -q "exe (withheld) does not match" <<<"$out" || fail "the exe mismatch reason does not say withheld: $out"
out=$("${NOBODY[@]}" "$T/pinnerctl" --socket "$SOCK" explain --json "$rootp" 2>&1)
grep -q "$(printf 'e%.0s' $(seq 40))" <<<"$out" && fail "nobody's explain --json shows part of the withheld exe path"
ok "a 250-byte exe path stays withheld in every reason"
ctl explain "$rootp" | grep -q "$(printf 'e%.0s' $(seq 40))" || fail "root's explain does not show the exe"
ok "root's explain shows it"
