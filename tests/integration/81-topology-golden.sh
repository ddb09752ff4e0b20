#!/bin/bash
# The golden tier: `pinnerd --root FIXTURE --once` (a dry run, no root
# needed) on the topology, partition and NUMA fixtures (where memory
# follows the CPUs, the dry run says what would move, from numa_maps), its decisions compared
# with tests/integration/golden/FIXTURE.expected. After a deliberate change
# of decisions, regenerate with GOLDEN_UPDATE=1 and review the diff.
. "$(dirname "$0")/lib.sh"

G=$HERE/golden
FIXTURES=$HERE/../fixtures

# The records of one run, normalised: no version, no temp paths, no timings;
# sorted, since the scan order of a tree is the directory order.
decisions() {
        local fix=$1 conf=$2
        timeout 20 "$PINNERD" --root "$FIXTURES/$fix" --once --config "$conf" --config-dir "$T/no-such-dir" \
                --socket "$T/control" --log-target stderr --log-level info >"$T/$fix.log" 2>&1
        local rc=$?
        [ "$rc" = 0 ] || fail "pinnerd --root $fix exited $rc: $(tail -n 5 "$T/$fix.log")"
        sed -e "s|$G/||g" -e 's/pinnerd [0-9][0-9.]* started/pinnerd VERSION started/' "$T/$fix.log" |
                LC_ALL=C sort
}

# pinnerd reads only root-owned configs, also with --root; nothing else here
# needs root.
[ "$(id -u)" = 0 ] || [ "$(stat -c %u "$G/host-smt.conf")" = 0 ] ||
        skip "pinnerd reads only root-owned configs: run as root or from a root-owned checkout"

for fix in host-smt host-far64 host-cgv2iso host-cgv2iso-6.1 host-irq host-numa2 host-numa4; do
        [ -d "$FIXTURES/$fix" ] || skip "no tests/fixtures/$fix"
        base=${fix%-6.1} # 6.1 has no root cpuset.cpus.isolated, and decides the same
        decisions "$fix" "$G/$base.conf" >"$T/$fix.out"
        if [ "${GOLDEN_UPDATE:-}" = 1 ] && [ "$fix" = "$base" ]; then
                cp "$T/$fix.out" "$G/$base.expected"
                echo "updated golden/$base.expected"
        fi
        diff -u "$G/$base.expected" "$T/$fix.out" >"$T/$fix.diff" ||
                fail "$fix: decisions differ from golden/$base.expected:
$(cat "$T/$fix.diff")"
        ok "$fix: $(grep -c 'event=applied' "$T/$fix.out") applied, $(grep -c 'event=skipped' "$T/$fix.out") skipped, $(grep -c 'event=memory' "$T/$fix.out") memory, as golden/$base.expected"
done

# --check on the same host says the same, and a term with no CPU there is a
# warning, not an error (one file serves many machines).
out=$("$PINNERD" --root "$FIXTURES/host-smt" --check --config "$G/host-smt.conf" --config-dir "$T/no-such-dir" 2>&1)
expect_eq "$?" 0 "--check exit status with a term empty on this host"
grep -q "host-smt.conf:12: warning: cpus 'package:7': package:7 has no CPU on this host (packages: 0-1)" <<<"$out" ||
        fail "--check did not warn about package:7: $out"
grep -q "configuration OK: 5 rules" <<<"$out" || fail "--check: $out"
ok "--check warns about package:7 on host-smt and accepts the file"
