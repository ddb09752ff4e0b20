#!/bin/bash
# `explain TID` of a non-leader thread explains its process and says so (or
# fails with exit 1); it never treats the thread as a process of its own and
# never reports "no rule matches" for a thread that is pinned.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
command -v jq >/dev/null || skip "needs jq to read --json output"

# under_workers NAME: explain's text (stdin) has thread NAME under rule
# workers, on a line of its own or in a group of threads explained the same.
under_workers() { grep -Eq "^(tid [0-9]+ \"$1\"|[0-9]+ threads \(tids [0-9,-]+: (.*, )?\"$1\"(, .*)?\)): rule workers"; }

C=$(unique_comm t)
write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:workers]
comm = $C
threads = w*
cpus = 1"
start_daemon
pt_start "$C" --threads 2
p=$PT_PID
w0=$(pt_tid "$C" w0)
w1=$(pt_tid "$C" w1)
wait_mask "$w0" 1
wait_mask "$w1" 1
ok "workers $w0 $w1 of $p pinned"

out=$(ctl explain "$w0" 2>&1)
rc=$?
case $rc in
1)
        grep -q "$w0" <<<"$out" || fail "explain $w0 (exit 1) does not name the tid: $out"
        grep -qi thread <<<"$out" || fail "explain $w0 (exit 1) does not say it is a thread: $out"
        ok "explain of worker $w0 fails with exit 1: $out"
        ;;
0)
        head -n 1 <<<"$out" | grep -q "^pid $p " || fail "explain $w0 does not explain its process $p: $(head -n 3 <<<"$out")"
        # It says so: the tid asked for is named as a thread of pid $p.
        grep -Eiq "($w0.*thread.*$p|thread $w0.*$p|$w0 is a thread)" <<<"$out" ||
                fail "explain $w0 explains pid $p without saying that $w0 is one of its threads: $(head -n 3 <<<"$out")"
        # One line each, or (explained the same) one group naming both.
        for n in w0 w1; do
                under_workers "$n" <<<"$out" || fail "explain $w0: $n is not shown under rule workers: $out"
        done
        grep -q "^tid $p \"$C\": no rule matches" <<<"$out" || fail "explain $w0: the main thread $p is not shown as unmatched: $out"
        ok "explain of worker $w0 explains pid $p and says so"
        j=$(ctl explain --json "$w0") || fail "explain --json $w0: exit $?"
        jq -e --argjson p "$p" --argjson w "$w0" '.pid == $p and
                ([.threads[] | select(.tid == $w) | .rule] == ["workers"])' <<<"$j" >/dev/null ||
                fail "explain --json $w0 is not the process $p with $w0 under rule workers: $j"
        ok "explain --json $w0: pid $p, tid $w0 under rule workers"
        ;;
*) fail "explain $w0: exit $rc, expected 0 (its process explained) or 1: $out" ;;
esac

# The process itself is explained as before.
out=$(ctl explain "$p")
expect_eq "$?" 0 "explain of the process $p: exit status"
under_workers w0 <<<"$out" || fail "explain $p: w0 not under rule workers: $out"
stop_daemon
