#!/bin/bash
# Renames are comm events: a thread renamed to a name the rule's thread filter
# matches is pinned; renamed away, its original mask comes back (restore = yes).
# A renamed process leader re-evaluates every thread of the process.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2

C=$(unique_comm r)
P=$(unique_comm p)
Q=$(unique_comm q)
write_conf "[pinnerd]
restore = yes
rescan = 0
verify = 0

[rule:hot]
comm = $C
threads = hot*
cpus = 1

[rule:renamed-process]
comm = $Q
cpus = 0"
start_daemon

pt_start "$C" --threads 2 --name-prefix a
a0=$(pt_tid "$C" a0)
a1=$(pt_tid "$C" a1)
hold_mask "$a0" 0-1 1
no_event applied pid="$PT_PID"
ok "no thread matches hot* yet"

pt_cmd "$C" "rename $a0 hot0"
pt_wait "$C" "^renamed $a0 hot0\$"
wait_mask "$a0" 1
wait_event applied rule=hot tid="$a0" thread=hot0 cpus=1 previous=0-1
expect_eq "$(mask "$a1")" 0-1 "the other worker untouched"

pt_cmd "$C" "rename $a0 cold0"
pt_wait "$C" "^renamed $a0 cold0\$"
wait_mask "$a0" 0-1
wait_event restored tid="$a0" cpus=0-1 previous=1
ok "renamed away from hot*: restored to 0-1"

# Renamed back: pinned again (the daemon forgot it, it is a new decision).
pt_cmd "$C" "rename $a0 hot1"
wait_mask "$a0" 1
ok "renamed back: pinned again"

# The process name: a leader renamed into a rule's comm moves every thread.
pt_start "$P" --threads 2
pm=$PT_PID
pw0=$(pt_tid "$P" w0)
pw1=$(pt_tid "$P" w1)
pt_cmd "$P" "rename $pm $Q"
pt_wait "$P" "^renamed $pm $Q\$"
for t in "$pm" "$pw0" "$pw1"; do
        wait_mask "$t" 0
        wait_event applied rule=renamed-process pid="$pm" tid="$t" cpus=0
done
ok "leader renamed to $Q: all 3 threads on CPU 0"

pt_cmd "$P" "rename $pm $P"
for t in "$pm" "$pw0" "$pw1"; do
        wait_mask "$t" 0-1
        wait_event restored pid="$pm" tid="$t" cpus=0-1
done
ok "leader renamed away: all 3 threads restored to 0-1"
