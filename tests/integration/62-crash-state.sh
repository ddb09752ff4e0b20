#!/bin/bash
# Originals survive a crash: the state file next to the control socket
# ($(dirname SOCK)/state). After kill -9 and a restart, a stop puts the true
# originals back; --once writes the file too. A garbage, truncated, foreign
# (not root's, or mode 0666) or symlinked state file, and an entry whose tid
# was recycled, are reported once (a log line naming the file) and ignored;
# the daemon starts and pins as usual. A full disk under the state file does
# not stop pinning and is reported.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2

B=pt$$s
STATE=$T/state
X=0
write_conf "[pinnerd]
restore = yes
rescan = 0
verify = 0

[rule:crash]
comm = $B*
cpus = 1"
PT_LAUNCH="taskset -c $X"

# proc SUFFIX: a pintest ${B}SUFFIX with 2 workers, all on X; sets P.
proc() {
        pt_start "$B$1" --threads 2
        P=$PT_PID
}
# on PID CPUS WHAT: every thread of PID has CPUS.
on() {
        local t bad=""
        for t in $(ls "/proc/$1/task"); do [ "$(mask "$t")" = "$2" ] || bad="$bad $t=$(mask "$t")"; done
        [ -z "$bad" ] || fail "$3: expected every thread of $1 on CPUs $2, got:$bad"
        ok "$3: every thread of $1 on CPUs $2"
}
wait_on() {
        local i
        for i in $(seq 100); do
                [ -z "$(for t in $(ls "/proc/$1/task"); do [ "$(mask "$t")" = "$2" ] || echo x; done)" ] && break
                sleep 0.05
        done
        on "$@"
}
# crash: kill -9 the daemon, keep its log.
N=0
crash() {
        kill -KILL "$DAEMON_PID"
        wait "$DAEMON_PID" 2>/dev/null
        DAEMON_PID=
        N=$((N + 1))
        mv "$T/daemon.log" "$T/daemon.$N.log"
}
# restart: a new daemon on the same socket (the old log kept).
restart() {
        [ -f "$T/daemon.log" ] && { N=$((N + 1)); mv "$T/daemon.log" "$T/daemon.$N.log"; }
        start_daemon
}
# reports PATH: non-debug log lines of the current daemon naming PATH.
reports() { grep -F -- "$1" "$T/daemon.log" | grep -vc '^pinnerd: debug:'; }
# wait_state: until the state file exists and is not empty (coalesced writes).
wait_state() {
        wait_until 5 "the state file $STATE to be written" test -s "$STATE"
        sleep 0.3
}

# ---- 1. kill -9, restart, stop: the originals are back --------------------
proc a
start_daemon
wait_on "$P" 1 "pinned by the first daemon"
crash
on "$P" 1 "still pinned after kill -9"
restart
wait_on "$P" 1 "pinned by the second daemon"
stop_daemon
expect_eq "$DAEMON_STATUS" 0 "exit status after SIGTERM"
on "$P" "$X" "after kill -9, restart and stop, the originals (CPU $X) are back"
# Everything is back: a clean stop leaves nothing for a later start to take
# over (stale originals would undo what the administrator does meanwhile).
[ ! -e "$STATE" ] || fail "a clean stop left $STATE behind"
ok "a clean stop removed $STATE"

# ---- 2. --once writes it too ---------------------------------------------------
proc b
rm -f "$STATE"
"$PINNERD" --config "$T/pinnerd.conf" --config-dir "$T/d" --socket "$SOCK" --once \
        --log-target stderr >"$T/once.log" 2>&1 || fail "pinnerd --once: exit $?: $(tail -n 5 "$T/once.log")"
on "$P" 1 "--once pinned"
[ -s "$STATE" ] || fail "pinnerd --once wrote no state file at $STATE"
restart
stop_daemon
on "$P" "$X" "after --once, start and stop, the originals (CPU $X) are back"

# A valid state file naming live pinned threads, for the cases below.
proc c
start_daemon
wait_on "$P" 1 "pinned"
wait_state
cp -p "$STATE" "$T/state.good"
crash

# ---- 3. foreign owner, mode 0666: reported once, not trusted ---------------------
for how in owner mode; do
        cp -p "$T/state.good" "$STATE"
        case $how in
        owner) chown 65534:65534 "$STATE"; chmod 0600 "$STATE" ;;
        mode) chown 0:0 "$STATE"; chmod 0666 "$STATE" ;;
        esac
        restart
        expect_eq "$(reports "$STATE")" 1 "state file with a wrong $how: log lines naming $STATE"
        wait_on "$P" 1 "wrong $how: pinned"
        stop_daemon
        # Not trusted: the daemon took the pinned CPU 1 as the original.
        on "$P" 1 "wrong $how: the file's originals were not used"
        # Make it pinned-by-a-crashed-daemon again for the next case.
        taskset -apc 1 "$P" >/dev/null
done

# ---- 4. garbage, truncated, symlink: reported once, the daemon starts normally -----
printf 'target precious\n' >"$T/victim"
chmod 0644 "$T/victim"
for how in garbage truncated empty symlink; do
        rm -f "$STATE"
        case $how in
        garbage) head -c 4096 /dev/urandom >"$STATE" ;;
        truncated) head -c $(($(stat -c %s "$T/state.good") / 2)) "$T/state.good" >"$STATE" ;;
        empty) : >"$STATE" ;;
        symlink) ln -s "$T/victim" "$STATE" ;;
        esac
        [ -L "$STATE" ] || chmod 0600 "$STATE"
        proc "$how"
        restart
        expect_eq "$(reports "$STATE")" 1 "$how state file: log lines naming $STATE"
        wait_on "$P" 1 "$how state file: pinned as usual"
        stop_daemon
        expect_eq "$DAEMON_STATUS" 0 "$how state file: exit status after SIGTERM"
        on "$P" "$X" "$how state file: originals restored at stop"
        pt_cmd "$B$how" quit
done
expect_eq "$(cat "$T/victim")" "target precious" "the symlink's target is untouched"

# ---- 5. an entry whose tid was recycled: dropped ----------------------------------
proc r
start_daemon
wait_on "$P" 1 "pinned"
wait_state
crash
old=$P
pt_cmd "${B}r" quit
wait_until 5 "pid $old to go away" sh -c "! test -d /proc/$old"
# A new process at the same pid, started on CPU 1 by someone else: CPU 1 is
# its true original. Trusting the stale entry would "restore" it to $X.
cp "$HELPERS/pintest" "$T/${B}n"
"$HELPERS/withpid" "$old" "$(command -v taskset)" -c 1 "$T/${B}n" --threads 1 >"$T/recycled.out" 2>&1 &
rp=$!
cleanup_add "kill -KILL $old $rp"
for i in $(seq 100); do grep -q '^ready$' "$T/recycled.out" 2>/dev/null && break; kill -0 $rp 2>/dev/null || break; sleep 0.05; done
wait_until 1 "withpid to run" kill -0 $rp || { wait $rp; rc=$?; [ $rc = 77 ] && skip "cannot recycle a pid here (clone3 set_tid)"; fail "withpid $old: exit $rc"; }
grep -q "^main $old " "$T/recycled.out" || fail "the recycled process did not get pid $old: $(cat "$T/recycled.out")"
restart
stop_daemon
on "$old" 1 "recycled pid $old: the stale entry was not trusted"
kill -KILL "$old"

# ---- 6. a full disk under the state file: pinning goes on, reported ---------------
mkdir "$T/full"
mount -t tmpfs -o size=16k,mode=0755 pinnerd-it-full "$T/full" || skip "cannot mount a tmpfs"
cleanup_add "umount -l '$T/full'"
dd if=/dev/zero of="$T/full/fill" bs=4k 2>/dev/null
SOCK=$T/full/control
restart
for s in f1 f2 f3 f4 f5; do
        proc "$s"
        wait_on "$P" 1 "full disk: $s pinned"
done
n=$(reports "$T/full/state")
[ "$n" -ge 1 ] || fail "full disk: no log line naming $T/full/state"
[ "$n" -lt 5 ] || fail "full disk: $n log lines naming $T/full/state for 5 batches (reported every time)"
ok "full disk reported ($n line): $(grep -F "$T/full/state" "$T/daemon.log" | grep -v '^pinnerd: debug:' | head -n 1)"
stop_daemon
expect_eq "$DAEMON_STATUS" 0 "full disk: exit status after SIGTERM"
on "$P" "$X" "full disk: originals restored at stop"
