#!/bin/bash
# The original of a thread that a pinned thread created is what it would have
# had without pinnerd: the process's own mask X, not its creator's pinned CPU.
# Shown for the paths the SPEC names: a new thread born to a pinned thread
# (spread), one born unmatched and renamed into the rule, a reload that drops
# the rule, and an exec from a non-leader thread. X is CPU 0 (taskset), the
# spread rule puts the creator on CPU 1, so a wrong original is visible.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
[ "$(nproc --all)" -eq 2 ] || skip "expects exactly 2 CPUs (spread over 0-1 puts the creator on 1), this machine has $(nproc --all)"

X=0
C=$(unique_comm o)
rules="[rule:spread]
comm = $C
threads = w*
cpus = 0-1
spread = yes"
conf_with_rule() {
        write_conf "[pinnerd]
restore = yes
rescan = 0
verify = 0

$rules"
}
conf_without_rule() {
        write_conf "[pinnerd]
restore = yes
rescan = 0
verify = 0

[rule:other]
comm = ${C}nomatch
cpus = 1"
}
PT_LAUNCH="taskset -c $X"

# managed TID: pinnerd lists TID (a thread already on its planned CPU gets
# no applied record: the write is skipped when the mask is equal).
managed() { "$PINNERCTL" --socket "$SOCK" list | awk -v t="$1" '$2 == t {f = 1} END {exit !f}'; }
wait_managed() { wait_until 5 "tid $1 managed (in pinnerctl list)" managed "$1"; }

# all_on_x PID WHAT: every live thread of PID has mask X.
all_on_x() {
        local t bad=""
        for t in $(ls "/proc/$1/task"); do
                [ "$(mask "$t")" = "$X" ] || bad="$bad $t($(cat "/proc/$1/task/$t/comm" 2>/dev/null))=$(mask "$t")"
        done
        [ -z "$bad" ] || fail "$2: threads not back on their original CPU $X:$bad"
        ok "$2: all $(ls "/proc/$1/task" | wc -l) threads of $1 on CPU $X"
}

# start_pinned NAME: pintest NAME with w0 and w1 on X, spread to 0 and 1;
# sets CREATOR to the worker the daemon put on CPU 1.
start_pinned() {
        pt_start "$1" --threads 2
        local w0 w1
        w0=$(pt_tid "$1" w0)
        w1=$(pt_tid "$1" w1)
        wait_managed "$w0"
        wait_managed "$w1"
        wait_until 5 "w0 and w1 spread over CPUs 0 and 1" sh -c "[ \"\$(cat /proc/$w0/status /proc/$w1/status | awk '/^Cpus_allowed_list/ {print \$2}' | sort | tr '\n' ,)\" = 0,1, ]"
        case "$(mask "$w0"),$(mask "$w1")" in
        0,1) CREATOR=$w1 ;;
        1,0) CREATOR=$w0 ;;
        *) fail "spread put w0/w1 on '$(mask "$w0")','$(mask "$w1")', expected CPUs 0 and 1" ;;
        esac
        expect_eq "$(mask "$(pt_tid "$1" main)")" "$X" "main thread (not w*) stays on X=$X"
        ok "creator $CREATOR pinned to CPU 1"
}

# ---- 1. new thread and renamed thread of a pinned creator; then stop --------
conf_with_rule
start_daemon
start_pinned "$C"
p=$PT_PID
pt_cmd "$C" "child $CREATOR wa"
pt_wait "$C" '^thread [0-9]+ wa$'
wa=$(pt_tid "$C" wa)
wait_managed "$wa"
# Born as "xb" (no rule) it inherits the creator's CPU 1, which is pinnerd's
# doing: pinnerd gives it what it would have had, X. Then renamed into w*.
pt_cmd "$C" "child $CREATOR xb"
pt_wait "$C" '^thread [0-9]+ xb$'
xb=$(pt_tid "$C" xb)
wait_mask "$xb" "$X"
ok "xb, born to a pinned creator and matched by no rule, is back on X=$X"
pt_cmd "$C" "rename $xb wb"
pt_wait "$C" "^renamed $xb wb\$"
# Renamed into the rule: it is managed now (spread may leave it on 1).
wait_managed "$xb"
ok "new thread $wa and renamed thread $xb are managed"
stop_daemon
expect_eq "$DAEMON_STATUS" 0 "exit status after SIGTERM"
all_on_x "$p" "stop after a new and a renamed thread of a pinned creator"
pt_cmd "$C" quit

# ---- 2. the same, then a reload that drops the rule --------------------------
C2=$(unique_comm r)
rules=${rules//$C/$C2}
conf_with_rule
mv "$T/daemon.log" "$T/daemon1.log"
start_daemon
start_pinned "$C2"
p=$PT_PID
pt_cmd "$C2" "child $CREATOR wa"
pt_wait "$C2" '^thread [0-9]+ wa$'
wa=$(pt_tid "$C2" wa)
wait_managed "$wa"
C_SAVE=$C
C=$C2
conf_without_rule
C=$C_SAVE
out=$(ctl reload 2>&1)
expect_eq "$?" 0 "reload without the rule: exit status"
all_on_x "$p" "reload that drops the rule"
stop_daemon
all_on_x "$p" "stop after that reload"
pt_cmd "$C2" quit

# ---- 3. exec from a non-leader thread ----------------------------------------
C3=$(unique_comm e)
rules=${rules//$C2/$C3}
conf_with_rule
mv "$T/daemon.log" "$T/daemon2.log"
start_daemon
start_pinned "$C3"
p=$PT_PID
# The creator (on CPU 1) execs: it takes over pid $p with its own mask, and
# the new image's workers are born from it. The exec'ing thread itself now
# bears the process name, which w* does not match: with restore = yes it is a
# thread no rule applies to any more, so it gets its original X back too.
pt_cmd "$C3" "execfrom $CREATOR --commands --threads 2"
wait_until 5 "the exec'd image of $p to start its workers" sh -c "[ \$(grep -c '^ready\$' '$T/$C3.out') -ge 2 ]"
nw0=$(pt_tid "$C3" w0)
nw1=$(pt_tid "$C3" w1)
[ -d "/proc/$p/task/$nw0" ] && [ -d "/proc/$p/task/$nw1" ] || fail "the exec'd image's workers are not threads of $p"
wait_managed "$nw0"
wait_managed "$nw1"
ok "after the exec from thread $CREATOR, new workers $nw0 $nw1 are pinned"
stop_daemon
expect_eq "$DAEMON_STATUS" 0 "exit status after SIGTERM"
all_on_x "$p" "stop after an exec from a non-leader thread"
no_event failed
