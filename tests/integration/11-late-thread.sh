#!/bin/bash
# A thread created after its process was pinned is pinned too. The rule's
# thread filter leaves the main thread alone, so new threads inherit its full
# mask and only the daemon's reaction to the fork (and comm) event can move them.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2

C=$(unique_comm l)
write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:workers]
comm = $C
threads = w*
cpus = 1"
start_daemon

pt_start "$C" --threads 2
main=$(pt_tid "$C" main)
w0=$(pt_tid "$C" w0)
wait_mask "$w0" 1
wait_mask "$(pt_tid "$C" w1)" 1
ok "workers present at exec pinned"
hold_mask "$main" 0-1 1
ok "main thread (not matching threads = w*) left on 0-1"

late=$(pt_spawn "$C" wlate)
expect_eq "$(mask "$main")" 0-1 "the new thread's creator still on 0-1"
wait_mask "$late" 1
wait_event applied rule=workers pid="$main" tid="$late" thread=wlate cpus=1 previous=0-1
ok "late thread $late pinned from 0-1 to 1"

other=$(pt_spawn "$C" other)
hold_mask "$other" 0-1 1
no_event applied tid="$other"
ok "late thread not matching the filter left alone"

# Many at once: every one is pinned.
for i in $(seq 10); do pt_cmd "$C" "spawn wb$i"; done
pt_wait "$C" "^thread [0-9]+ wb10\$"
for i in $(seq 10); do wait_mask "$(pt_tid "$C" "wb$i")" 1; done
ok "a burst of 10 new threads all pinned"
