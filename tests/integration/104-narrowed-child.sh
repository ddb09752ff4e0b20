#!/bin/bash
# A child of a shielded parent that narrows itself before exec (taskset -c
# 1 sleep) keeps its own choice. The parent is shielded off CPU 1, the
# child starts on the parent's mask (pinnerd remembers the parent's
# original for it), then taskset puts it on 1 and execs: that mask is the
# new program's own, and 'avoid = 1' leaves it as it is (nothing would be
# left), with drift events on or off. Found in the SMT VM when children
# began to inherit their creator's original.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
command -v taskset >/dev/null || skip "needs taskset"

P=$(unique_comm q)
cp "$(command -v bash)" "$T/$P"
write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:shield]
comm = $P
avoid = 1

[rule:kids]
parent = $P
avoid = 1"
start_daemon
for round in 1 2 3 4 5; do
        "$T/$P" -c "sleep 0.3; taskset -c 1 sleep 30 & echo \$! >'$T/child.$round'; wait" &
        par=$!
        cleanup_add "kill $par"
        wait_mask "$par" 0
        wait_until 5 "the child" test -s "$T/child.$round"
        c=$(cat "$T/child.$round")
        cleanup_add "kill $c"
        wait_until 5 "the child's exec" sh -c "[ \"\$(cat /proc/$c/comm)\" = sleep ]"
        hold_mask "$c" 1 1
        ok "round $round: the child that narrowed itself to 1 before exec stays on 1 (parent on $(mask "$par"))"
        kill "$c" "$par"
done
