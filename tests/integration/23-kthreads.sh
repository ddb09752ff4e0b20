#!/bin/bash
# Kernel threads are never touched unless a rule says kthreads = yes: a rule
# comm = kworker* pins a user process of that name but no kworker. The
# positive case runs with --dry-run only: moving real kernel threads of a
# shared machine is not a test's business.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2

# kthread_masks: "pid comm mask" of every kernel thread (children of kthreadd).
# Compared by pid: a kworker's comm names the work it last did and changes.
kthread_masks() {
        ps -eo pid=,ppid=,comm= | awk '$1 == 2 || $2 == 2 {print $1, $3}' | while read -r pid comm; do
                m=$(mask "$pid") && [ -n "$m" ] && echo "$pid $comm $m"
        done
}
kthread_masks >"$T/before"
grep -q ' kworker' "$T/before" || skip "no kworker threads visible"
ok "$(wc -l <"$T/before") kernel threads, $(grep -c ' kworker' "$T/before") kworkers"

K=kworker$$
K=${K:0:15}
write_conf "[pinnerd]
restore = yes
rescan = 0
verify = 0

[rule:kworkers]
comm = kworker*
cpus = 1

[rule:kthreadd]
comm = kthreadd
cpus = 1"
start_daemon
# A user process with a kworker-like name: the rule is live.
pt_start "$K"
wait_mask "$PT_PID" 1
wait_event applied rule=kworkers pid="$PT_PID" cpus=1
ok "user process $K matched by comm = kworker* and pinned"
# Let a few rounds of kworker churn go by, events and all.
kill -HUP "$DAEMON_PID"
wait_event reloaded
sleep 1

kthread_masks >"$T/after"
changed=$(join <(sort "$T/before") <(sort "$T/after") | awk '$3 != $5 {print $1 "(" $4 "): " $3 " -> " $5}')
[ -z "$changed" ] || fail "kernel thread masks changed: $changed"
n=$(join <(sort "$T/before") <(sort "$T/after") | wc -l)
ok "$n kernel threads alive before and after: masks unchanged"
if kt=$(event_lines applied rule=kworkers | grep -v "pid=$PT_PID "); [ -n "$kt" ]; then fail "kernel thread pinned: $kt"; fi
no_event applied rule=kthreadd
no_event skipped rule=kworkers
no_event failed
ok "no record about any kernel thread"
stop_daemon
expect_eq "$(mask "$PT_PID")" 0-1 "user process restored at stop"
mv "$T/daemon.log" "$T/daemon1.log"

# kthreads = yes, dry run: unbound kworkers are candidates, nothing moves.
write_conf "[pinnerd]
restore = yes
rescan = 0
verify = 0

[rule:unbound]
comm = kworker/u*
kthreads = yes
cpus = 1"
kthread_masks >"$T/before"
start_daemon --dry-run
kthread_masks >"$T/after"
ku=$(event_lines applied rule=unbound | head -1)
if grep -q ' kworker/u' "$T/before"; then
        [ -n "$ku" ] || fail "kthreads = yes did not consider any unbound kworker"
        ok "kthreads = yes (dry run): $ku"
fi
no_event applied rule=unbound pid="$PT_PID"
changed=$(join <(sort "$T/before") <(sort "$T/after") | awk '$3 != $5 {print $1 "(" $4 "): " $3 " -> " $5}')
[ -z "$changed" ] || fail "kernel thread masks changed in a dry run: $changed"
ok "dry run moved nothing"
