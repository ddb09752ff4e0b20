#!/bin/bash
# A rule never pins a thread outside its cgroup v1 cpuset: the requested CPUs
# are cut to the cpuset's effective CPUs, and a rule that leaves nothing is
# skipped with a reason, the mask untouched. The thread's own cpuset decides
# (v1 lets threads of one process sit in different cpusets).
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2

V1=/sys/fs/cgroup/cpuset
[ -w "$V1/tasks" ] && [ -e "$V1/cpuset.effective_cpus" ] || skip "no writable cgroup v1 cpuset hierarchy at $V1"
CG=$V1/pinnerd-it-$$

# Registered before any process starts, so it runs after they are killed.
cg_remove() {
        local t
        [ -d "$CG" ] || return 0
        for t in $(cat "$CG/tasks" 2>/dev/null); do echo "$t" >"$V1/tasks" 2>/dev/null; done
        rmdir "$CG"
}
cleanup_add cg_remove
# Put the test shell back too, whatever happened in between.
cleanup_add "echo $$ > $V1/cgroup.procs"

mkdir "$CG" || skip "cannot create a cpuset under $V1"
echo 1 >"$CG/cpuset.cpus"
echo 0 >"$CG/cpuset.mems"

C=$(unique_comm c)
D=$(unique_comm d)
E=$(unique_comm e)
write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:wide]
comm = $C
cpus = 0-1

[rule:outside]
comm = $D
cpus = 0

[rule:per-thread]
comm = $E
cpus = 0"
start_daemon

# Start C and D inside the cpuset: the test shell steps in, forks them (they
# exec inside), and steps out again.
echo $$ >"$CG/cgroup.procs"
pt_start "$C"
c=$PT_PID
pt_start "$D"
d=$PT_PID
echo $$ >"$V1/cgroup.procs"
expect_eq "$(cat "/proc/$c/cpuset")" "/pinnerd-it-$$" "$C runs in the cpuset"
expect_eq "$(mask "$$")" 0-1 "the test shell is back in the root cpuset"

# cpus = 0-1 in a cpuset of {1}: effective 1 (the cpuset already put it
# there, so there is nothing to apply), and the dropped CPU is said once.
wait_log "rule wide: CPUs 0 of 0-1 left out for $C \\(pid $c\\).*\\[rule=wide pid=$c tid=$c .*cpus=1 requested=0-1" 3
expect_eq "$(mask "$c")" 1 "$C's mask"
no_event applied rule=wide cpus=0-1
no_event failed rule=wide
ok "rule wide: requested 0-1, effective 1 (the cpuset)"

# cpus = 0 in a cpuset of {1}: nothing left, skipped with a reason, untouched.
wait_event skipped rule=outside pid="$d" tid="$d" requested=0
grep -E "event=skipped .*tid=$d .*reason=" "$T/daemon.log" >/dev/null || fail "skipped record without a reason"
hold_mask "$d" 1 1
no_event applied rule=outside
no_event failed rule=outside
ok "rule outside: skipped ($(event_lines skipped tid="$d" | sed -n 's/.*reason="\{0,1\}\([^"]*\).*/\1/p' | head -1)), mask still 1"

# One process, one worker in the cpuset: only that worker is skipped.
pt_start "$E" --threads 2
e=$PT_PID
e0=$(pt_tid "$E" w0)
e1=$(pt_tid "$E" w1)
wait_mask "$e" 0
wait_mask "$e0" 0
wait_mask "$e1" 0
echo "$e1" >"$CG/tasks"
expect_eq "$(mask "$e1")" 1 "worker $e1 moved into the cpuset (the kernel set its mask to 1)"
# A rename is an event that makes the daemon look at the thread again.
pt_cmd "$E" "rename $e1 w1b"
wait_event skipped rule=per-thread tid="$e1"
hold_mask "$e1" 1 1
expect_eq "$(mask "$e"),$(mask "$e0")" 0,0 "the other threads stay on CPU 0"
ok "a thread in its own cpuset is judged by that cpuset"
