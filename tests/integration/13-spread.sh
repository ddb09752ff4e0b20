#!/bin/bash
# spread = yes: one CPU per matching thread, round robin in tid order; a thread
# leaving does not move the others.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
[ "$(nproc --all)" -eq 2 ] || skip "expects exactly 2 CPUs for the 0,1,0,1 placement, this machine has $(nproc --all)"

C=$(unique_comm s)
write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:spread]
comm = $C
threads = w*
cpus = 0-1
spread = yes"
start_daemon

pt_start "$C" --threads 4
tids=$(for i in 0 1 2 3; do pt_tid "$C" w$i; done | sort -n)
i=0
for t in $tids; do
        wait_mask "$t" $((i % 2))
        wait_event applied rule=spread tid="$t" cpus=$((i % 2))
        i=$((i + 1))
done
# shellcheck disable=SC2086 # one word per tid
set -- $tids
ok "4 workers in tid order on CPUs 0,1,0,1: $(for t in $tids; do printf '%s:%s ' "$t" "$(mask "$t")"; done)"
expect_eq "$(mask "$(pt_tid "$C" main)")" 0-1 "main thread (not w*) left alone"

# The second worker (CPU 1) leaves: nobody is moved.
before=$(count_events applied rule=spread)
pt_cmd "$C" "exit $2"
pt_wait "$C" "^exited $2\$"
for k in $(seq 10); do
        got="$(mask "$1"),$(mask "$3"),$(mask "$4")"
        [ "$got" = 0,0,1 ] || fail "after the exit the remaining workers have CPUs $got, expected 0,0,1"
        sleep 0.1
done
ok "remaining workers keep their CPUs for 1 s after the exit"
expect_eq "$(count_events applied rule=spread)" "$before" "no applied record after the exit"

# A new worker gets exactly one CPU (the free one, if the daemon balances).
n=$(pt_spawn "$C" w4)
for k in $(seq 100); do case $(mask "$n") in 0|1) break ;; esac; sleep 0.05; done
case $(mask "$n") in
0 | 1) ok "new worker $n got one CPU: $(mask "$n")" ;;
*) fail "new worker $n has CPUs '$(mask "$n")', expected a single CPU" ;;
esac
expect_eq "$(mask "$1"),$(mask "$3"),$(mask "$4")" "0,0,1" "earlier workers still in place"
