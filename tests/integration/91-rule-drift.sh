#!/bin/bash
# Per-rule drift overrides [pinnerd] drift = reapply (verify = 1). Another
# program (taskset) changes a pinned thread of each rule:
#   drift = ignore  -> left as taskset set it, no drift record;
#   drift = log     -> one drift record, left as taskset set it;
#   no drift key    -> the [pinnerd] policy: drift record, re-applied.
# Neither a rescan nor an event about the thread undoes ignore or log; a
# reload re-applies every rule.
# Then a reload that swaps the policies shows the override follows the rule.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2

I=$(unique_comm i)
L=$(unique_comm l)
D=$(unique_comm d)
conf() {
        write_conf "[pinnerd]
verify = 1
drift = reapply
rescan = 0

[rule:self-pinning]
comm = $I
cpus = 1
drift = $1

[rule:watched]
comm = $L
cpus = 1
drift = $2

[rule:default]
comm = $D
cpus = 1"
}
conf ignore log
start_daemon
pt_start "$I" --threads 1
i0=$(pt_tid "$I" w0)
pt_start "$L" --threads 1
l0=$(pt_tid "$L" w0)
pt_start "$D" --threads 1
d0=$(pt_tid "$D" w0)
for t in "$i0" "$l0" "$d0"; do wait_mask "$t" 1; done
ok "all three workers pinned to CPU 1"

taskset -pc 0 "$i0" >/dev/null
taskset -pc 0 "$l0" >/dev/null
taskset -pc 0 "$d0" >/dev/null
# The default rule's drift is re-applied within a verify period or two.
WAIT_SECS=3 wait_event drift rule=default tid="$d0" cpus=1 previous=0
wait_mask "$d0" 1 3
ok "no drift key: [pinnerd] drift = reapply, recorded and back on CPU 1"
WAIT_SECS=3 wait_event drift rule=watched tid="$l0" cpus=1 previous=0
# Three more verify periods: nothing changes either of them back.
hold_mask "$l0" 0 3
hold_mask "$i0" 0 0
expect_eq "$(count_events drift tid="$l0")" 1 "drift = log: one drift record over 4 verify periods"
expect_eq "$(count_events drift tid="$i0")" 0 "drift = ignore: no drift record"
expect_eq "$(mask "$i0")" 0 "drift = ignore: the thread stays where taskset put it"
ok "drift = log left tid $l0 on CPU 0, drift = ignore left tid $i0 on CPU 0"
# Nor does a rescan, or an event about the thread (a rename): while the
# rule's decision stands, the other program's choice stands.
ctl rescan >/dev/null || fail "rescan"
pt_cmd "$I" "rename $i0 w0b"
pt_wait "$I" "^renamed $i0 w0b\$"
pt_cmd "$L" "rename $l0 w0b"
pt_wait "$L" "^renamed $l0 w0b\$"
hold_mask "$i0" 0 1
expect_eq "$(mask "$l0")" 0 "drift = log: left after a rescan and a rename"
expect_eq "$(count_events drift tid="$l0"),$(count_events drift tid="$i0")" 1,0 "drift records after the rescan and the renames"
ok "a rescan and a rename leave both where taskset put them"
ctl list >"$T/list"
grep -Eq "^ *[0-9]+ +$i0 " "$T/list" || fail "tid $i0 (drift = ignore) is no longer managed: $(cat "$T/list")"
ok "a drift = ignore thread stays managed (its original is still known)"

# Swap: the watched rule ignores, the self-pinning rule logs. A reload
# re-plans both back to CPU 1 first.
conf log ignore
out=$(ctl reload 2>&1) || fail "reload: $out"
wait_mask "$i0" 1 3
wait_mask "$l0" 1 3
taskset -pc 0 "$i0" >/dev/null
taskset -pc 0 "$l0" >/dev/null
WAIT_SECS=3 wait_event drift rule=self-pinning tid="$i0" previous=0
hold_mask "$l0" 0 2
expect_eq "$(mask "$i0")" 0 "self-pinning now drift = log: left on CPU 0"
expect_eq "$(count_events drift tid="$l0")" 1 "watched now drift = ignore: no new drift record"
ok "after the reload the policies follow the rules"

# A bad per-rule value is a config error naming file:line and the text.
printf '[rule:bad]\ncomm = x\ncpus = 0\ndrift = sometimes\n' >"$T/bad.conf"
chmod 0644 "$T/bad.conf"
out=$("$PINNERD" --check --config "$T/bad.conf" --config-dir "$T/none" 2>&1)
expect_eq "$?" 1 "pinnerd --check of drift = sometimes: exit status"
echo "$out" | grep -q "$T/bad.conf:4:.*sometimes" || fail "no file:line naming 'sometimes': $out"
ok "drift = sometimes rejected: $(echo "$out" | grep -m1 sometimes)"
no_event failed
