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

# kthreads = yes, dry run: a kernel thread that can move (kcompactd) is a
# candidate; workqueue workers (kworker/u*: PF_NO_SETAFFINITY, they follow
# the workqueue cpumask) are said once not to move; nothing moves.
write_conf "[pinnerd]
restore = yes
rescan = 0
verify = 0

[rule:unbound]
comm = kworker/u*
kthreads = yes
cpus = 1

[rule:compact]
comm = kcompactd*
kthreads = yes
cpus = 1"
kthread_masks >"$T/before"
start_daemon --dry-run
kthread_masks >"$T/after"
if grep -q ' kcompactd' "$T/before" && grep ' kcompactd' "$T/before" | grep -qv ' 1$'; then
        wait_event applied rule=compact
        ok "kthreads = yes (dry run): $(event_lines applied rule=compact | head -1 | sed 's/ \[.*//')"
fi
if grep -q ' kworker/u' "$T/before"; then
        wait_event skipped rule=unbound
        l=$(event_lines skipped rule=unbound | grep 'cannot move (')
        expect_eq "$(printf '%s\n' "$l" | wc -l)" 1 "one record for the unbound kworkers"
        case $l in *"cannot move"*workqueue/cpumask*) ok "said: ${l%% [*}" ;; *) fail "no summary: $l" ;; esac
        no_event applied rule=unbound
fi
no_event applied rule=unbound pid="$PT_PID"
changed=$(join <(sort "$T/before") <(sort "$T/after") | awk '$3 != $5 {print $1 "(" $4 "): " $3 " -> " $5}')
[ -z "$changed" ] || fail "kernel thread masks changed in a dry run: $changed"
ok "dry run moved nothing"
stop_daemon
mv "$T/daemon.log" "$T/daemon2.log"

# kthreads = yes for real, on kernel threads the kernel keeps on their CPUs
# (PF_NO_SETAFFINITY: ksoftirqd/N, migration/N): nothing can move, so the
# test moves nothing, and the daemon says so once per rule, not per thread,
# also through a rescan and a reload.
nbound() { # GLOB: how many kernel threads named GLOB are PF_NO_SETAFFINITY
        local n=0 p f
        for p in $(ps -eo pid=,ppid=,comm= | awk -v g="$1" '($1 == 2 || $2 == 2) && $3 ~ g {print $1}'); do
                f=$(awk '{sub(/.*\) /, ""); print $7}' "/proc/$p/stat" 2>/dev/null) || continue
                [ -n "$f" ] && (((f & 0x04000000) != 0)) && n=$((n + 1))
        done
        echo "$n"
}
nsoft=$(nbound '^ksoftirqd/')
nmig=$(nbound '^migration/')
[ "$nsoft" -gt 0 ] && [ "$nmig" -gt 0 ] || skip "no bound ksoftirqd/migration kernel threads ($nsoft, $nmig)"
write_conf "[pinnerd]
restore = yes
rescan = 0
verify = 0

[rule:bound]
comm = ksoftirqd/*
kthreads = yes
cpus = 0-1

[rule:shield]
comm = migration/*
kthreads = yes
avoid = 1"
kthread_masks >"$T/before"
start_daemon
wait_event skipped rule=bound
wait_event skipped rule=shield
case $(event_lines skipped rule=bound) in *"ksoftirqd/N ($nsoft)"*) ;; *) fail "bound: $(event_lines skipped rule=bound)" ;; esac
case $(event_lines skipped rule=shield) in *"migration/N ($nmig)"*) ;; *) fail "shield: $(event_lines skipped rule=shield)" ;; esac
ok "one summary per rule: $(event_lines skipped rule=bound | sed 's/ \[.*//' | sed 's/^pinnerd: notice: //')"
ctl rescan >/dev/null || fail "pinnerctl rescan failed"
kill -HUP "$DAEMON_PID"
wait_event reloaded
sleep 0.3
expect_eq "$(grep -c 'kernel threads\? cannot move (' "$T/daemon.log")" 2 "summaries after a rescan and a reload"
expect_eq "$(grep 'event=skipped' "$T/daemon.log" | grep -v 'cannot move' | grep -c 'notice:')" 0 \
        "no per-thread notice about them"
no_event applied rule=bound
no_event applied rule=shield
no_event failed
kthread_masks >"$T/after"
changed=$(join <(sort "$T/before") <(sort "$T/after") | awk '$3 != $5 {print $1 "(" $4 "): " $3 " -> " $5}')
[ -z "$changed" ] || fail "kernel thread masks changed: $changed"
ok "no kernel thread mask changed"
