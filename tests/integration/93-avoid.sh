#!/bin/bash
# avoid = CPUS keeps threads off CPUs without ever giving them one they did
# not have: the mask is the thread's original minus the avoided CPUs.
#   A (0-1), avoid = 1 -> 0;   B (taskset -c 0) -> 0, never written;
#   C (taskset -c 1) -> nothing left: left alone, with a reason.
# The original, not the current mask, is the base: A moved to 1 by someone
# else is put back on 0 (1 - 1 would leave nothing). A reload to avoid = 0
# puts A on 1 and leaves B on 0 (it never had 1). Stop restores A to 0-1.
# cpus and avoid together, an empty or garbage avoid: file:line errors.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2

A=$(unique_comm a)
B=$(unique_comm b)
C=$(unique_comm c)
shield() { # CPUS
        write_conf "[pinnerd]
restore = yes
rescan = 0
verify = 1
drift = reapply

[rule:shield]
comm = pt$$?
avoid = $1"
}
shield 1
start_daemon

PT_LAUNCH= pt_start "$A"
pa=$PT_PID
PT_LAUNCH="taskset -c 0" pt_start "$B"
pb=$PT_PID
PT_LAUNCH="taskset -c 1" pt_start "$C"
pc=$PT_PID
wait_mask "$pa" 0
wait_event applied rule=shield pid="$pa" cpus=0
ok "A (0-1) off CPU 1: 0"
wait_event skipped rule=shield pid="$pc"
expect_eq "$(mask "$pc")" 1 "C (taskset -c 1) keeps 1"
l=$(event_lines skipped rule=shield pid="$pc")
case $l in *"no CPU"* | *"nothing"* | *"left"*) ok "C left alone, said why: ${l%% \[*}" ;; *) fail "C: $l" ;; esac
sleep 0.3
expect_eq "$(mask "$pb")" 0 "B (taskset -c 0) stays on 0"
no_event applied rule=shield pid="$pb"
ok "B never written (its mask already had no CPU 1)"

# Someone moves A onto the avoided CPU: the original is the base.
taskset -p -c 1 "$pa" >/dev/null
wait_mask "$pa" 0 5
wait_event drift pid="$pa"
ok "A moved to 1 by taskset: drift, back on 0 (original 0-1 minus 1)"

# A reload to avoid = 0: A goes to 1; B never had 1, so it is left alone.
shield 0
out=$(ctl reload 2>&1) || fail "reload: $out"
wait_mask "$pa" 1
expect_eq "$(mask "$pb")" 0 "B after avoid = 0: stays on 0, never widened to 1"
expect_eq "$(mask "$pc")" 1 "C after avoid = 0: keeps 1"
ok "reload to avoid = 0: A on 1 ($out)"

stop_daemon
expect_eq "$(mask "$pa")" 0-1 "A restored at stop"
expect_eq "$(mask "$pb")" 0 "B as it was"
expect_eq "$(mask "$pc")" 1 "C as it was"

# ---- configuration errors name file:line -------------------------------------
bad() { # WHAT TEXT EXPECTED-SUBSTRING
        write_conf "$2"
        out=$("$PINNERD" --check --config "$T/pinnerd.conf" --config-dir "$T/d" 2>&1) &&
                fail "$1: accepted: $out"
        case $out in *pinnerd.conf:[0-9]*"$3"*) ok "$1: $(echo "$out" | head -n 1)" ;;
        *) fail "$1: no file:line with '$3': $out" ;; esac
}
bad "cpus and avoid" "[rule:x]
comm = x
cpus = 0
avoid = 1" "avoid"
bad "empty avoid" "[rule:x]
comm = x
avoid =" "avoid"
bad "garbage avoid" "[rule:x]
comm = x
avoid = 0-1,zz" "avoid"
