#!/bin/bash
# Signals are blocked before the first scan: a SIGTERM that arrives while the
# start-up scan is still pinning threads is handled once it is done, the
# daemon restores every thread and exits 0, instead of dying with the masks
# it had just set (and nothing to restore them from).
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
N=${SCAN_THREADS:-4000}
X=0
C=$(unique_comm g)
cp "$HELPERS/manythreads" "$T/$C"
write_conf "[pinnerd]
restore = yes
rescan = 0
verify = 0

[rule:many]
comm = $C
cpus = 1"
taskset -c $X "$T/$C" "$N" 300 >"$T/mt.out" 2>&1 &
mp=$!
cleanup_add "kill -KILL $mp"
wait_until 60 "$N threads" grep -q '^ready' "$T/mt.out"
last=$(ls "/proc/$mp/task" | sort -n | tail -n 1)

# first_pinned: until any thread of $mp is on CPU 1 (the scan is under way).
first_pinned() {
        local i l
        for i in $(seq 20000); do
                while IFS= read -r l; do
                        case $l in "Cpus_allowed_list:"*) [ "${l##*[[:space:]]}" = 1 ] && return 0 ;; esac
                done <"/proc/$mp/status"
        done
        return 1
}

hit=0
for attempt in 1 2 3; do
        "$PINNERD" --config "$T/pinnerd.conf" --config-dir "$T/d" --socket "$SOCK" \
                --log-target stderr --log-level debug >"$T/daemon.log" 2>&1 &
        DAEMON_PID=$!
        first_pinned || fail "no thread of $mp was pinned within the wait"
        kill -TERM "$DAEMON_PID"
        late=$(mask "$last")
        started=$(grep -c 'event=started' "$T/daemon.log")
        wait "$DAEMON_PID"
        rc=$?
        DAEMON_PID=
        if [ "$started" = 0 ] && [ "$late" != 1 ]; then
                hit=1
                break
        fi
        echo "attempt $attempt: the scan was over before SIGTERM (started records $started, last tid on '$late'); again"
        taskset -apc $X "$mp" >/dev/null
        sleep 0.2
done
[ $hit = 1 ] || skip "could not send SIGTERM during the first scan of $N threads in 3 attempts (the scan is too fast here)"
ok "SIGTERM sent during the first scan (thread $last not pinned yet)"
[ "$rc" = 143 ] && fail "pinnerd was killed by the SIGTERM during its first scan (exit 143)"
expect_eq "$rc" 0 "exit status after a SIGTERM during the first scan"
bad=$(for t in $(ls "/proc/$mp/task"); do [ "$(mask "$t")" = "$X" ] || echo "$t"; done | wc -l)
expect_eq "$bad" 0 "threads of $mp not back on CPU $X"
