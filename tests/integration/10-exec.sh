#!/bin/bash
# A process exec'd after the daemon started is pinned, every thread of it, on
# its exec event from the proc connector (not by a later scan: rescan = 0).
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2

C=$(unique_comm x)
write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:exec]
comm = $C
cpus = 1"
start_daemon
wait_log 'events from proc-connector' 1
ok "daemon gets events from the proc connector"

# Exec leaves one thread; the daemon pins it on the exec event, before the
# program starts its workers, so they inherit CPU 1 from it.
pt_start "$C" --threads 3
main=$(pt_tid "$C" main)
wait_mask "$main" 1
wait_event applied rule=exec pid="$main" tid="$main" cpus=1 previous=0-1
for t in $(pt_tid "$C" w0) $(pt_tid "$C" w1) $(pt_tid "$C" w2); do
        wait_mask "$t" 1
done
ok "all 4 threads of $C on CPU 1, the exec'd thread with an applied record"

# No rescan ran since the start: the connector's events did it.
expect_eq "$(grep -c 'rescan (' "$T/daemon.log")" 1 "only the start-up scan ran"

# A thread started afterwards inherits the pinned mask; nothing else to do.
late=$(pt_spawn "$C" w3)
wait_mask "$late" 1
ok "later thread on CPU 1"
