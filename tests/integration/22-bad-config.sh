#!/bin/bash
# pinnerd --check says "configuration OK: N rules (files read: ...)" (exit 0) or every error
# with file:line (exit 1); the daemon refuses a bad config and a config others
# could have written (exit 1, saying why); bad usage exits 2.
. "$(dirname "$0")/lib.sh"
need_root

C=$(unique_comm g)
run() { "$PINNERD" --config "$T/pinnerd.conf" --config-dir "$T/d" --socket "$SOCK" --log-target stderr "$@" \
        >"$T/out" 2>"$T/err"; }
out() { cat "$T/out" "$T/err"; }

write_conf "[pinnerd]
restore = yes

[rule:one]
comm = ${C}a
cpus = 0

[rule:two]
comm = ${C}b
cpus = 0-1"
printf '[rule:three]\ncomm = %sc\ncpus = all\n' "$C" >"$T/d/10-three.conf"
chmod 0644 "$T/d/10-three.conf"
run --check
expect_eq "$?" 0 "--check on a good config: exit status"
# It says which files it read: the main file and the drop-in.
grep -qxF "configuration OK: 3 rules (files read: $T/pinnerd.conf, $T/d/10-three.conf)" "$T/out" ||
        fail "--check printed: $(out)"
ok "--check: $(cat "$T/out")"
run -t
expect_eq "$?" 0 "-t on a good config: exit status"

# Two errors in the main file (lines 6 and 9), one in a drop-in (line 3).
write_conf "[pinnerd]
restore = yes

[rule:one]
comm = ${C}a
cpus = 0-1,x

[rule:two]
colour = blue
comm = ${C}b
cpus = 0"
printf '[rule:three]\ncomm = %sc\ncpus = 0\nspread = perhaps\n' "$C" >"$T/d/10-three.conf"
run --check
expect_eq "$?" 1 "--check on a bad config: exit status"
for where in "$T/pinnerd.conf:6" "$T/pinnerd.conf:9" "$T/d/10-three.conf:4"; do
        out | grep -q -- "$where" || fail "--check does not name $where: $(out)"
done
out | grep -q 'configuration OK' && fail "--check said OK on a bad config"
ok "--check names every error: $(out | tr '\n' '|')"

# The daemon refuses it and exits 1, without a control socket.
run --once
expect_eq "$?" 1 "pinnerd --once on a bad config: exit status"
timeout 10 "$PINNERD" --config "$T/pinnerd.conf" --config-dir "$T/d" --socket "$SOCK" --log-target stderr \
        >"$T/out" 2>"$T/err"
expect_eq "$?" 1 "pinnerd (daemon) on a bad config: exit status"
out | grep -q "$T/pinnerd.conf:6" || fail "the daemon does not say which line: $(out)"
[ ! -e "$SOCK" ] || fail "control socket created for a rejected config"

# A good config that the wrong people could have written.
write_conf "[pinnerd]
[rule:one]
comm = ${C}a
cpus = 0"
rm -f "$T/d/10-three.conf"
chmod 0664 "$T/pinnerd.conf"
timeout 10 "$PINNERD" --config "$T/pinnerd.conf" --config-dir "$T/d" --socket "$SOCK" --log-target stderr \
        >"$T/out" 2>"$T/err"
expect_eq "$?" 1 "group-writable config: exit status"
out | grep -qiE 'group|writ' || fail "no reason given for refusing a group-writable config: $(out)"
ok "group-writable config refused: $(out | grep -iE 'group|writ' | head -1)"
chmod 0646 "$T/pinnerd.conf"
run --once
expect_eq "$?" 1 "world-writable config: exit status"
chmod 0644 "$T/pinnerd.conf"
chown nobody "$T/pinnerd.conf" 2>/dev/null || chown 65534 "$T/pinnerd.conf"
run --once
expect_eq "$?" 1 "config not owned by root: exit status"
out | grep -qiE 'own' || fail "no reason given for refusing a config owned by someone else: $(out)"
chown 0 "$T/pinnerd.conf"
printf '[rule:three]\ncomm = %sc\ncpus = 0\n' "$C" >"$T/d/10-three.conf"
chmod 0666 "$T/d/10-three.conf"
run --once
expect_eq "$?" 1 "world-writable drop-in: exit status"
out | grep -q "10-three.conf" || fail "the refused drop-in is not named: $(out)"
rm -f "$T/d/10-three.conf"
run --once
expect_eq "$?" 0 "the same config, root-owned 0644: exit status"

# Usage errors: exit 2.
for args in "--no-such-option" "--log-level chatty" "--log-target paper" "stray-argument" "--config"; do
        # shellcheck disable=SC2086
        "$PINNERD" $args >"$T/out" 2>"$T/err" </dev/null
        expect_eq "$?" 2 "pinnerd $args: exit status"
done
"$PINNERD" --version >"$T/out" 2>&1
expect_eq "$?" 0 "--version exit status"
grep -q '^pinnerd [0-9]' "$T/out" || fail "--version printed: $(cat "$T/out")"
"$PINNERD" --help >"$T/out" 2>&1
expect_eq "$?" 0 "--help exit status"
