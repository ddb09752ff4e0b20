#!/bin/bash
# The golden tier for what an administrator reads: `status`, `list` and
# `explain`, text and JSON, against pinnerd --root tests/fixtures/host-admin
# (a dry run, no masks change) with golden/host-admin.conf: a shield (avoid)
# that moves a shell and leaves a narrowed job alone by design, a spread of a
# VM's vCPUs, a kernel thread, and a 40-thread process no rule matches. The
# outputs are compared with golden/host-admin.*.expected; after a deliberate
# change of the output, regenerate with GOLDEN_UPDATE=1 and review the diff.
. "$(dirname "$0")/lib.sh"

G=$HERE/golden
FIX=$HERE/../fixtures/host-admin
[ -d "$FIX" ] || skip "no tests/fixtures/host-admin"
# pinnerd reads only root-owned configs, also with --root.
[ "$(id -u)" = 0 ] || skip "pinnerd reads only root-owned configs: run as root"
command -v jq >/dev/null || skip "needs jq to check the JSON documents"

cp "$G/host-admin.conf" "$T/pinnerd.conf"
chmod 0644 "$T/pinnerd.conf"
"$PINNERD" --root "$FIX" --config "$T/pinnerd.conf" --config-dir "$T/d" --socket "$SOCK" \
        --log-target stderr --log-level info >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
wait_until 10 "pinnerd --root to answer" "$PINNERCTL" --socket "$SOCK" status

# Everything that is not the same from one run to the next: the temporary
# directory, the uptime, the version.
normalise() {
        sed -e "s|$T/||g" -e 's/, up [0-9][0-9hdms ]*$/, up TIME/' -e 's/"uptime_usec":[0-9]*/"uptime_usec":0/' \
                -e 's/^pinnerd [0-9.]* /pinnerd VERSION /' -e 's/"version":"[0-9.]*"/"version":"VERSION"/'
}

# NAME ARGS...: one pinnerctl call into the golden file host-admin.NAME.expected.
n=0
golden() {
        local name=$1
        shift
        { echo "\$ pinnerctl $*"; ctl "$@" 2>&1; echo "(exit $?)"; } | normalise >"$T/$name.out"
        if [ "${GOLDEN_UPDATE:-}" = 1 ]; then
                cp "$T/$name.out" "$G/host-admin.$name.expected"
                echo "updated golden/host-admin.$name.expected"
        fi
        diff -u "$G/host-admin.$name.expected" "$T/$name.out" >"$T/$name.diff" ||
                fail "pinnerctl $*: differs from golden/host-admin.$name.expected:
$(cat "$T/$name.diff")"
        n=$((n + 1))
}

golden status status
golden status-json status --json
golden list list
golden list-json list --json
golden list-pid list 2100
golden list-rule list --rule shield
golden list-rule-typo list --rule sheild
golden explain-vm explain 1000
golden explain-shield explain 2100
golden explain-kthread explain 50
golden explain-java explain 3000
golden explain-java-thread explain 3000 --thread 3011
golden explain-java-json explain --json 3000
golden explain-vm-json explain --json 1000
golden reload reload
golden reload-json reload --json
ok "$n outputs as golden/host-admin.*.expected"

# What the golden files must show, said plainly (a regenerated file that
# lost it fails here, not only in review).
grep -qE '^shield +0 +1  avoid 1-3$' "$G/host-admin.status.expected" || fail "status does not show the shield as avoid"
sed '1d;$d' "$T/status-json.out" |
        jq -e '.rules[] | select(.name == "shield") | .action == "avoid" and .avoid == "1-3" and .cpus == null' >/dev/null ||
        fail "status --json: the shield's CPUs are not 'avoid'"
grep -Eq '^2100 +2100 +taskset-job +taskset-job +shield +avoid 1-3 +- +- +- +\[1\]$' "$G/host-admin.list.expected" ||
        fail "list: the skipped job has no skip mark"
grep -q '^\[1\] skipped (1 thread): ' "$G/host-admin.list.expected" || fail "list: no reason for the mark"
grep -q '^40 threads (tids 3000-3039: "java", "GC Thread#0", "GC Thread#1", ...): no rule matches$' \
        "$G/host-admin.explain-java.expected" || fail "explain does not group the 40 threads"
[ "$(wc -l <"$G/host-admin.explain-java.expected")" -lt 20 ] || fail "explain of the 40-thread process is long"
grep -q '\[kswapd0\]' "$G/host-admin.list.expected" || fail "list does not mark the kernel thread"
ok "shield as avoid, a skip mark with its reason, 40 threads in one group, kernel threads marked"
stop_daemon
exit 0
