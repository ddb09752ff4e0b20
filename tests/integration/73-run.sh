#!/bin/bash
# pinnerctl run RULE -- COMMAND: the command's first instruction already
# runs on the rule's CPUs, with its policy; any user may use it within what
# that user may set; a rule that cannot apply is an error and the command
# never runs; the command's exit status is pinnerctl's. Hostile rule names
# and usage.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
[ "$(uname -m)" = x86_64 ] || skip "the first-instruction probe is x86-64 only"

write_conf "[pinnerd]
verify = 0

[rule:cpu1]
comm = nothing-matches-this
cpus = 1

[rule:fifo]
comm = nothing-matches-this
cpus = 0
policy = fifo
rtprio = 2

[rule:avoid1]
comm = nothing-matches-this
avoid = 1

[rule:spread]
comm = nothing-matches-this
cpus = 0-1
spread = yes

[rule:gone]
comm = nothing-matches-this
cpus = 63

[rule:kt]
kthreads = yes
cpus = 0"
start_daemon

expect_eq "$(ctl run cpu1 -- "$HELPERS/firstmask")" 0x2 "run cpu1: the first instruction sees CPU 1"
expect_eq "$(ctl run cpu1 -- awk '/^Cpus_allowed_list/ {print $2}' /proc/self/status)" 1 \
        "run cpu1: the command's options after -- are its own"
expect_eq "$(ctl run spread -- "$HELPERS/firstmask")" 0x3 "run spread: the whole set (no thread to spread yet)"
expect_eq "$(taskset -c 0 "$PINNERCTL" --socket "$SOCK" run avoid1 -- "$HELPERS/firstmask")" 0x1 \
        "run avoid1 from CPU 0: its own mask minus CPU 1"
out=$(ctl run fifo -- chrt -p 0)
echo "$out" | grep -q 'SCHED_FIFO' && echo "$out" | grep -q 'priority: 2' || fail "run fifo: $out"
ok "run fifo: the command runs at SCHED_FIFO 2"
expect_eq "$(ctl run cpu1 -- sh -c 'exit 7'; echo $?)" 7 "the command's exit status is pinnerctl's"

# What cannot apply is an error, and the command does not run.
never() { # EXPECTED-RC EXPECTED-TEXT ARGS...: pinnerctl fails so, and the marker command never ran
        local rc=$1 text=$2 out
        shift 2
        rm -f "$T/ran"
        out=$("$@" 2>&1)
        local got=$?
        [ "$got" = "$rc" ] || fail "$* exited $got, expected $rc: $out"
        echo "$out" | grep -qF -- "$text" || fail "$*: expected '$text' in: $out"
        [ ! -e "$T/ran" ] || fail "$*: the command ran"
}
never 1 "no rule 'nosuch'" ctl run nosuch -- touch "$T/ran"
never 1 "is for kernel threads" ctl run kt -- touch "$T/ran"
never 1 "rule 'gone' cannot apply to the calling process: " ctl run gone -- touch "$T/ran"
never 1 "rule 'avoid1' cannot apply to the calling process: " taskset -c 1 "$PINNERCTL" --socket "$SOCK" run avoid1 -- touch "$T/ran"
never 2 "usage: pinnerctl run RULE -- COMMAND" ctl run cpu1
never 2 "usage: pinnerctl run RULE -- COMMAND" ctl run cpu1 --
never 2 "usage: pinnerctl run" ctl run -- touch "$T/ran"
never 2 "'--' and a command only go with run" ctl status -- touch "$T/ran"
never 127 "cannot execute '$T/no-such-program'" ctl run cpu1 -- "$T/no-such-program"
ok "no rule, a kernel-thread rule, no CPU left, bad usage: errors, nothing run"

# Hostile names: escaped in the answer, never a crash; too long for a request.
never 1 "no rule 'a\\nb\\x1b[31m'" ctl run "$(printf 'a\nb\033[31m')" -- touch "$T/ran"
never 2 "arguments too long" ctl run "$(head -c 5000 /dev/zero | tr '\0' x)" -- touch "$T/ran"
ok "hostile rule names"

# An ordinary user: within what the kernel lets that user set.
chmod 0755 "$T"
expect_eq "$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$PINNERCTL" --socket "$SOCK" run cpu1 -- \
        "$HELPERS/firstmask")" 0x2 "as nobody: run cpu1 works"
rm -f "$T/ran"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$PINNERCTL" --socket "$SOCK" run fifo -- \
        touch "$T/ran" 2>&1)
rc=$?
[ "$rc" = 1 ] || fail "as nobody: run fifo exited $rc: $out"
echo "$out" | grep -q 'policy fifo:2: Operation not permitted' || fail "as nobody: run fifo: $out"
[ ! -e "$T/ran" ] || fail "as nobody: the command ran without its policy"
ok "as nobody: a real-time rule is refused by the kernel, and said; nothing runs"

# The daemon gone: unreachable, nothing runs.
stop_daemon
never 3 "cannot reach pinnerd" ctl run cpu1 -- touch "$T/ran"
ok "without the daemon: exit 3, nothing runs"
