#!/bin/bash
# pinnerd --check, pinnerctl check and a reload read the same files and say
# the same, as an administrator meets them: a drop-in with a typo breaks the
# configuration; both checks name the drop-in's file:line in line order, with
# "did you mean", and the files they read; `pinnerctl check FILE` reads the
# drop-in directory as `pinnerd --check -c FILE` does; the reload the daemon
# rejects says the same; a config that can never work (isolated CPUs a rule
# may not use) is an error in all three, a shadowed rule a warning; and the
# journal catalog's advice after a rejected reload is a command that reads
# the drop-ins too.
. "$HERE/lib.sh"
need_root
REPO=$(cd "$HERE/../.." && pwd)

c=$(unique_comm c)
write_conf "[pinnerd]
restore = yes

[rule:c84]
comm = $c
cpus = 1"
start_daemon

# NAME: both checks of $T/pinnerd.conf with the drop-in directory $T/d.
both() {
        "$PINNERD" --check -c "$T/pinnerd.conf" --config-dir "$T/d" >"$T/$1.pinnerd" 2>&1
        echo "exit $?" >>"$T/$1.pinnerd"
        "$PINNERCTL" --socket "$SOCK" check "$T/pinnerd.conf" --config-dir "$T/d" >"$T/$1.pinnerctl" 2>&1
        echo "exit $?" >>"$T/$1.pinnerctl"
        diff -u "$T/$1.pinnerd" "$T/$1.pinnerctl" >"$T/$1.diff" ||
                fail "$1: pinnerd --check and pinnerctl check disagree: $(cat "$T/$1.diff")"
}

# ---- a broken drop-in ----
printf '[rule:vm84]\ncomm = %sq\nthreds = CPU*\ncpus = 0\n[rule:bad84]\ncomm = x\n' "$c" >"$T/d/50-vm.conf"
chmod 0644 "$T/d/50-vm.conf"
both dropin
cat "$T/dropin.pinnerd"
expect_eq "$(tail -n 1 "$T/dropin.pinnerd")" "exit 1" "both checks reject the broken drop-in"
expect_eq "$(sed -n 1p "$T/dropin.pinnerd")" \
        "$T/d/50-vm.conf:3: unknown key 'threds' in [rule:vm84] (did you mean 'threads'?)" "first line: the typo"
expect_eq "$(sed -n 2p "$T/dropin.pinnerd")" "$T/d/50-vm.conf:5: [rule:bad84] has no 'cpus' (or 'avoid')" \
        "then the next line, in line order"
expect_eq "$(sed -n 3p "$T/dropin.pinnerd")" \
        "configuration invalid: 2 errors (files read: $T/pinnerd.conf, $T/d/50-vm.conf)" "the files read"
ok "pinnerd --check and pinnerctl check say the same of a broken drop-in"

# pinnerctl check FILE reads the same drop-in directory as pinnerd --check -c FILE
# by default (here /etc/pinnerd.d, whatever it holds on this machine).
"$PINNERD" --check -c "$T/pinnerd.conf" >"$T/def.pinnerd" 2>&1
"$PINNERCTL" check "$T/pinnerd.conf" >"$T/def.pinnerctl" 2>&1
diff -u "$T/def.pinnerd" "$T/def.pinnerctl" >"$T/def.diff" || fail "with their defaults they disagree: $(cat "$T/def.diff")"
grep -q "files read: $T/pinnerd.conf" "$T/def.pinnerd" || fail "no files read: $(cat "$T/def.pinnerd")"
ok "without --config-dir both read the default drop-in directory: $(grep -o 'files read: .*' "$T/def.pinnerd")"

# The daemon's reload says the same errors and keeps its rules.
ctl reload >"$T/reload.out" 2>&1
expect_eq "$?" 1 "reload with the broken drop-in: exit status"
expect_eq "$(head -n 2 "$T/reload.out")" "$(head -n 2 "$T/dropin.pinnerd")" "reload names the same errors"
expect_eq "$(tail -n 1 "$T/reload.out")" "kept previous configuration" "reload keeps the previous rules"

# ---- what can never work ----
printf '[rule:vm84]\ncomm = %sq\nthreads = CPU*\ncpus = isolated & smt-primary\n' "$c" >"$T/d/50-vm.conf"
both isolated
expect_eq "$(tail -n 1 "$T/isolated.pinnerd")" "exit 1" "isolated CPUs without isolated = allow: rejected"
grep -qF "$T/d/50-vm.conf:4: [rule:vm84]: cpus 'isolated & smt-primary' names isolated CPUs only, but isolated CPUs are excluded for this rule (isolated = exclude), so every thread it matches would be skipped; add 'isolated = allow' to [rule:vm84] (or to [pinnerd])" \
        "$T/isolated.pinnerd" || fail "isolated: $(cat "$T/isolated.pinnerd")"
ctl reload >"$T/reload.out" 2>&1
expect_eq "$?" 1 "reload of it: exit status"
grep -qF "$T/d/50-vm.conf:4: [rule:vm84]: cpus 'isolated & smt-primary' names isolated CPUs only" "$T/reload.out" ||
        fail "reload: $(cat "$T/reload.out")"
ok "isolated CPUs a rule may not use: an error in both checks and the reload"

printf '[rule:vm84]\ncomm = %s\ncpus = 0\n' "$c" >"$T/d/50-vm.conf"
both shadowed
expect_eq "$(tail -n 1 "$T/shadowed.pinnerd")" "exit 0" "a shadowed rule is valid"
grep -qF "$T/d/50-vm.conf:1: warning: [rule:vm84] can never apply: [rule:c84] ($T/pinnerd.conf line 4) matches every thread it matches and wins (same priority, defined first)" \
        "$T/shadowed.pinnerd" || fail "shadowed: $(cat "$T/shadowed.pinnerd")"
out=$(ctl reload 2>"$T/reload.err")
expect_eq "$?" 0 "reload with a shadowed rule: exit status"
grep -qF "warning: [rule:vm84] can never apply" "$T/reload.err" || fail "reload does not say the warning: $(cat "$T/reload.err")"
ok "a shadowed rule: a warning in both checks and the reload"

# ---- the catalog's advice reads the drop-ins too ----
advice=$(awk '/^-- 4eeca4b5ec9e403bbb9c137b1f434313/ {on = 1; next} /^-- / {on = 0} on' "$REPO/systemd/pinnerd.catalog")
grep -q 'pinnerd --check' <<<"$advice" || fail "the reload-failed entry does not advise pinnerd --check: $advice"
grep -Eq 'pinnerctl check /etc/pinnerd.conf( |$)' <<<"$advice" && ! grep -q 'drop-in' <<<"$advice" &&
        fail "the reload-failed entry advises checking /etc/pinnerd.conf alone: $advice"
ok "the catalog's advice after a rejected reload checks what the daemon reads"
stop_daemon
exit 0
