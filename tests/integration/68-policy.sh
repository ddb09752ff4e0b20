#!/bin/bash
# policy / rtprio / nice: set with the mask, shown in list and explain and
# journald's PINNERD_POLICY, put back when the rule goes (reload) and at stop,
# and never set on a recycled tid (the identity check is the mask's).
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
command -v chrt >/dev/null || skip "needs chrt (util-linux)"
command -v jq >/dev/null || skip "needs jq to read --json output"

C=$(unique_comm p)
N=$(unique_comm n)
rules="[rule:rt]
comm = $C
threads = w*
cpus = 1
policy = fifo
rtprio = 3

[rule:nice]
comm = $N
cpus = 0
policy = batch
nice = 7"
write_conf "[pinnerd]
verify = 0
$rules"
start_daemon

policy_of() { chrt -p "$1" | awk -F': *' '/policy/ {print $2}'; }
prio_of() { chrt -p "$1" | awk -F': *' '/priority/ {print $2}'; }
nice_of() { ps -o ni= -L -p "$2" | awk -v want="$1" 'NR == want {print $1}'; }

pt_start "$C" --threads 2
w0=$(pt_tid "$C" w0)
main=$(pt_tid "$C" main)
wait_mask "$w0" 1
wait_until 5 "w0 at SCHED_FIFO" sh -c "chrt -p $w0 | grep -q SCHED_FIFO"
expect_eq "$(prio_of "$w0")" 3 "w0 runs at SCHED_FIFO priority 3"
expect_eq "$(policy_of "$main")" SCHED_OTHER "the main thread (not w*) keeps SCHED_OTHER"
wait_event applied tid="$w0" policy=fifo:3
ok "applied record with policy=fifo:3"

ctl list --json >"$T/list.json" || fail "list --json: exit $?"
expect_eq "$(jq -r --argjson t "$w0" '.[] | select(.tid == $t) | "\(.policy)/\(.original_policy)"' "$T/list.json")" \
        "fifo:3/other:nice=0" "list --json shows the policy and the original"
ctl explain "$main" >"$T/explain.txt" || fail "explain: exit $?"
grep -q "policy fifo:3 (now fifo:3)" "$T/explain.txt" || fail "explain does not show the policy: $(cat "$T/explain.txt")"
ok "explain shows the policy"

# A nice-only rule on a whole process.
pt_start "$N" --threads 1
np=$PT_PID
wait_mask "$np" 0
wait_until 5 "$N at SCHED_BATCH" sh -c "chrt -p $np | grep -q SCHED_BATCH"
expect_eq "$(ps -o ni= -p "$np" | tr -d ' ')" 7 "nice 7 on the main thread of $N"

# A reload that drops the rt rule gives its threads their policy back.
write_conf "[pinnerd]
verify = 0

[rule:nice]
comm = $N
cpus = 0
policy = batch
nice = 7"
ctl reload >/dev/null || fail "reload: exit $?"
expect_eq "$(policy_of "$w0")" SCHED_OTHER "after the reload w0 is back on SCHED_OTHER"
expect_eq "$(mask "$w0")" 0-1 "and on its original mask"
wait_event restored tid="$w0" policy=other:nice=0
ok "restored record with policy=other:nice=0"

stop_daemon
expect_eq "$DAEMON_STATUS" 0 "exit status after SIGTERM"
expect_eq "$(policy_of "$np")" SCHED_OTHER "at stop $N is back on SCHED_OTHER"
expect_eq "$(ps -o ni= -p "$np" | tr -d ' ')" 0 "and on nice 0"

# A bad combination is a config error naming file:line.
write_conf "[rule:bad]
comm = x
cpus = 1
policy = fifo"
out=$("$PINNERD" --check --config "$T/pinnerd.conf" --config-dir "$T/d" 2>&1)
[ $? = 1 ] || fail "--check of fifo without rtprio: expected exit 1: $out"
grep -q "pinnerd.conf:4: \[rule:bad\]: policy = fifo needs rtprio" <<<"$out" || fail "--check message: $out"
ok "fifo without rtprio is refused with file:line"
