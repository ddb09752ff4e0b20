#!/bin/bash
# A log reader that stops reading never holds the daemon: stderr into a pipe
# nobody reads, and a terminal paused with Ctrl-S (IXON), while a fork storm
# of matching processes writes far more records than either holds. The
# daemon still answers `status` at once, still pins a new process, acts on
# SIGTERM (restoring what it pinned); what it could not write waits in a
# bounded queue (past it, records are counted as lost).
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
command -v python3 >/dev/null || skip "needs python3 for the terminal"

C=$(unique_comm l)
C2=$(unique_comm m)
S=$(unique_comm s)
# The storm's processes are a sleep under a name the storm rule matches: each
# lives long enough to be pinned, an 'applied' record (and debug lines).
cp "$(command -v sleep)" "$T/$S"
write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:late]
comm = $C
comm = $C2
cpus = 1

[rule:storm]
comm = $S
cpus = 0"

# The daemon is up when it answers.
wait_ready() { wait_until 10 "pinnerd answers on $SOCK" ctl status; }
# flood: thousands of records the stalled reader will not take.
flood() {
        local i pids=()
        for i in $(seq 800); do
                "$T/$S" 0.5 &
                pids+=($!)
        done
        wait "${pids[@]}"
}
# alive PID: it runs (a zombie has stopped; the terminal's daemon is not our
# child, so it stays one until the terminal's script reaps it).
alive() { [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
# serves WHAT NAME: while its reader is stalled, the daemon answers, and
# pins process NAME started then.
serves() {
        local name=$2
        flood
        local t0=$(date +%s%N)
        timeout 2 "$PINNERCTL" --socket "$SOCK" status >/dev/null || fail "$1: status did not answer within 2 s"
        ok "$1: status answers in $((($(date +%s%N) - t0) / 1000000)) ms during the flood"
        pt_start "$name" --threads 1
        for t in $(ls "/proc/$PT_PID/task"); do wait_mask "$t" 1 2; done
        ok "$1: a process started during the flood is pinned"
}
# stops WHAT NAME: SIGTERM is acted on within 3 s, and NAME gets its mask back.
stops() {
        local name=$2 i
        kill -TERM "$DAEMON_PID"
        for i in $(seq 60); do alive "$DAEMON_PID" || break; sleep 0.05; done
        alive "$DAEMON_PID" && fail "$1: pinnerd still runs 3 s after SIGTERM"
        for t in $(ls "/proc/$PT_PID/task"); do expect_eq "$(mask "$t")" 0-1 "$1: tid $t restored at stop"; done
        pt_cmd "$name" quit
}

# ---- a pipe nobody reads --------------------------------------------------------
mkfifo "$T/err.fifo"
exec {HOLD}<>"$T/err.fifo"
"$PINNERD" --config "$T/pinnerd.conf" --config-dir "$T/d" --socket "$SOCK" --log-target stderr \
        --log-level debug 2>"$T/err.fifo" >/dev/null &
DAEMON_PID=$!
wait_ready
serves "a pipe nobody reads" "$C"
stops "a pipe nobody reads" "$C"
wait "$DAEMON_PID"
DAEMON_STATUS=$?
DAEMON_PID=
expect_eq "$DAEMON_STATUS" 0 "a pipe nobody reads: exit status after SIGTERM"
timeout 5 cat <&"$HOLD" >"$T/pipe.out" &
sleep 1
exec {HOLD}>&-
grep -q "event=started" "$T/pipe.out" || fail "nothing of the log came through the pipe afterwards"
ok "the pipe's reader got $(wc -l <"$T/pipe.out") lines afterwards"

# ---- a terminal paused with Ctrl-S ----------------------------------------------------
cat >"$T/term.py" <<'PY'
import os, pty, subprocess, sys, time
master, slave = pty.openpty()
os.write(master, b"\x13")  # Ctrl-S: the terminal stops output (IXON)
p = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, close_fds=True)
os.close(slave)
with open(sys.argv[1], "w") as f:
    f.write(str(p.pid))
while not os.path.exists(sys.argv[1] + ".resume"):
    time.sleep(0.05)
os.write(master, b"\x11")  # Ctrl-Q
os.set_blocking(master, False)
with open(sys.argv[1] + ".out", "wb") as out:
    while p.poll() is None:
        try:
            out.write(os.read(master, 65536))
            out.flush()
        except BlockingIOError:
            time.sleep(0.02)
        except OSError:
            break
with open(sys.argv[1] + ".status", "w") as f:
    f.write(str(p.wait()))
PY
python3 "$T/term.py" "$T/tty.pid" "$PINNERD" --config "$T/pinnerd.conf" --config-dir "$T/d" --socket "$SOCK" \
        --log-target stderr --log-level debug >/dev/null 2>&1 &
TTY_BG=$!
cleanup_add "touch $T/tty.pid.resume; kill $TTY_BG"
wait_until 5 "the terminal's pinnerd started" test -s "$T/tty.pid"
DAEMON_PID=$(cat "$T/tty.pid")
wait_ready
serves "a terminal paused with Ctrl-S" "$C2"
# Ctrl-Q: what the bounded queue held comes out, whole lines in order.
touch "$T/tty.pid.resume"
wait_until 10 "the flood's records on the terminal after Ctrl-Q" grep -aq "event=applied rule=storm" "$T/tty.pid.out"
ok "after Ctrl-Q the terminal shows the $(grep -ac 'event=applied' "$T/tty.pid.out") records held while it was paused"
stops "the terminal's pinnerd" "$C2"
wait "$TTY_BG"
DAEMON_PID=
expect_eq "$(cat "$T/tty.pid.status")" 0 "the terminal's pinnerd: exit status after SIGTERM"
