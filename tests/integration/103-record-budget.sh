#!/bin/bash
# One user's flood under a broad rule cannot push everyone else's records
# out of the journal: nobody starts 1,200 matching processes (1,200
# 'applied' records, past the 1,000 a user gets per window); a process of
# root's started right after still gets its record, and the summary says
# whose records were held back.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
command -v setpriv >/dev/null || skip "needs setpriv to act as nobody"

C=$(unique_comm r)
cp /bin/sleep "$T/${C}n"
cp /bin/sleep "$T/${C}r"
chmod 0755 "$T" "$T/${C}n" "$T/${C}r"
write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:broad]
comm = $C*
cpus = 1"
start_daemon --log-level info
setpriv --reuid=65534 --regid=65534 --clear-groups bash -c \
        'for i in $(seq 1200); do "$0" 3 & done; wait' "$T/${C}n" &
fl=$!
cleanup_add "kill $fl; pkill -KILL -f '$T/${C}n'"
wait_until 30 "nobody's 1,200 processes pinned" sh -c "[ \$(grep -c 'event=applied' '$T/daemon.log') -ge 1000 ]"
"$T/${C}r" 30 &
rootp=$!
cleanup_add "kill $rootp"
wait_mask "$rootp" 1
wait_event applied pid="$rootp"
ok "root's process still has its record after nobody's 1,200"
wait "$fl"
n=$(grep -c 'event=applied' "$T/daemon.log")
echo "$n applied records in the log"
[ "$n" -le 1010 ] || fail "$n applied records: nobody's flood was not held back"
# The summary comes when the window ends (10 s): ask for it now by waiting.
wait_until 15 "the summary naming nobody's uid" grep -q 'about processes of uid 65534' "$T/daemon.log"
ok "$(grep -o 'suppressed [0-9]* thread records[^;]*; about processes of [^)]*' "$T/daemon.log" | head -n 1)"
