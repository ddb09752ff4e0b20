#!/bin/bash
# cgroup = !/pinnerd-it-excluded*: a rule pins a process outside that cgroup
# and leaves one inside alone; a process moved in before its comm or fork
# event is not pinned, nor its new thread; a pinned process or thread that
# moves in is released (its original mask back) at its next event or rescan.
# The cgroup key matches the name=systemd path on a hybrid host, so the
# cgroups are made there (or in the unified tree when there is none).
# Original mask X = CPU 0 (taskset), the rule pins to CPU 1.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2

if grep -q '^[0-9]*:name=systemd:' /proc/self/cgroup; then
        HIER=$(awk '$3 == "cgroup" && $4 ~ /(^|,)name=systemd(,|$)/ {print $2; exit}' /proc/self/mounts)
else
        HIER=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts)
fi
[ -n "$HIER" ] && [ -w "$HIER/cgroup.procs" ] || skip "no writable hierarchy for the cgroup key (name=systemd or cgroup2)"
EXCL=$HIER/pinnerd-it-excluded-$$
# A thread-granular move needs the v1 'tasks' file (v2 moves whole processes).
TASKS=$EXCL/tasks

cg_remove() {
        local t
        [ -d "$EXCL" ] || return 0
        for t in $(cat "$EXCL/cgroup.threads" "$EXCL/tasks" 2>/dev/null); do
                echo "$t" >"$HIER/tasks" 2>/dev/null || echo "$t" >"$HIER/cgroup.procs" 2>/dev/null
        done
        rmdir "$EXCL"
}
cleanup_add cg_remove
cleanup_add "echo $$ > $HIER/cgroup.procs"
mkdir "$EXCL" || skip "cannot create a cgroup under $HIER"

C=$(unique_comm n)
B=$(unique_comm b)
N=$(unique_comm m)
write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:not-excluded]
comm = $C
comm = $B
cgroup = !/pinnerd-it-excluded*
cpus = 1"
start_daemon
PT_LAUNCH="taskset -c 0"

# in_excl CMD...: run CMD with the test shell in the excluded cgroup (the
# processes it starts are born there), then step out again.
in_excl() {
        echo $$ >"$EXCL/cgroup.procs"
        "$@"
        echo $$ >"$HIER/cgroup.procs"
}
# cg_of PID TID: the path the cgroup key matches for TID.
cg_of() { awk -F: '$2 == "name=systemd" {print $3; f = 1} $1 == 0 {v = $3} END {if (!f) print v}' "/proc/$1/task/$2/cgroup"; }
[ "$(cg_of $$ $$)" = / ] || skip "the test shell is not in the root cgroup of $HIER"

# ---- 1. outside: pinned; inside from birth: left alone -------------------------
pt_start "$C" --threads 1
a=$PT_PID
a0=$(pt_tid "$C" w0)
wait_mask "$a" 1
wait_mask "$a0" 1
ok "outside the excluded cgroup: $a and its worker pinned to 1"

in_excl pt_start "$B" --threads 1
b=$PT_PID
b0=$(pt_tid "$B" w0)
expect_eq "$(cg_of "$b" "$b")" "/pinnerd-it-excluded-$$" "the process inside is in the excluded cgroup"
ctl rescan >/dev/null || fail "rescan"
hold_mask "$b" 0 1
hold_mask "$b0" 0 0
no_event applied pid="$b"
ctl explain "$b" >"$T/explain.b" 2>&1
grep -q "excluded by '!/pinnerd-it-excluded\*'" "$T/explain.b" || fail "explain does not name the exclusion: $(cat "$T/explain.b")"
ok "inside the excluded cgroup from birth: $b left on 0, explain names the exclusion"

# ---- 2. moved in, then a comm event and a fork event ---------------------------
# Control first: outside, a rename into the rule's comm pins it.
pt_start "$N"
e=$PT_PID
hold_mask "$e" 0 0
pt_cmd "$N" "rename $e $C"
pt_wait "$N" "^renamed $e $C\$"
wait_mask "$e" 1
ok "control: outside, renamed into the rule's comm, $e is pinned (the comm event is acted on)"

N2=${N}2
N2=${N2:0:15}
pt_start "$N2"
d=$PT_PID
echo "$d" >"$EXCL/cgroup.procs"
expect_eq "$(cg_of "$d" "$d")" "/pinnerd-it-excluded-$$" "$d moved into the excluded cgroup"
pt_cmd "$N2" "rename $d $C"
pt_wait "$N2" "^renamed $d $C\$"
d1=$(pt_spawn "$N2" w1)
hold_mask "$d" 0 1
expect_eq "$(mask "$d1")" 0 "its new thread $d1 is not pinned"
no_event applied pid="$d"
ok "moved into the excluded cgroup, then renamed and given a thread: $d not pinned"

# ---- 3. pinned, then moved in: released at the next event or rescan -------------
# a thread-granular move (v1): the worker alone goes in, the leader stays
# out. Its rename (an event about it) releases it; a thread it creates there
# is not pinned.
if [ -e "$TASKS" ]; then
        echo "$a0" >"$TASKS"
        expect_eq "$(cg_of "$a" "$a0"),$(cg_of "$a" "$a")" "/pinnerd-it-excluded-$$,/" "worker $a0 alone moved in"
        pt_cmd "$C" "rename $a0 w0b"
        pt_wait "$C" "^renamed $a0 w0b\$"
        wait_mask "$a0" 0
        wait_event restored pid="$a" tid="$a0"
        pt_cmd "$C" "child $a0 wc"
        pt_wait "$C" '^thread [0-9]+ wc$'
        ac=$(pt_tid "$C" wc)
        expect_eq "$(cg_of "$a" "$ac")" "/pinnerd-it-excluded-$$" "thread $ac was born in the excluded cgroup"
        hold_mask "$ac" 0 1
        no_event applied tid="$ac"
        expect_eq "$(mask "$a")" 1 "the leader, still outside, stays pinned"
        ok "a pinned thread moved in alone is released at its event; the thread it creates is not pinned"
else
        echo "no v1 tasks file: whole processes only"
fi

# The whole process moved in: released at the next rescan.
echo "$e" >"$EXCL/cgroup.procs"
ctl rescan >/dev/null || fail "rescan"
wait_mask "$e" 0
wait_event restored pid="$e" tid="$e"
ok "a pinned process moved into the excluded cgroup is restored at the rescan"

# Moving out again makes it a match again.
echo "$e" >"$HIER/cgroup.procs"
ctl rescan >/dev/null || fail "rescan"
wait_mask "$e" 1
ok "moved out again: pinned again at the rescan"
no_event failed
stop_daemon
expect_eq "$DAEMON_STATUS" 0 "exit status after SIGTERM"
