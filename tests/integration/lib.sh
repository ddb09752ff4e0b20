# Shared by the integration tests: a private directory, the real daemon on a
# private socket, and assertions on what the kernel reports. Sourced by bash.
# Every test cleans up what it started (trap), whatever happens.
set -u
BUILD=${BUILD:?BUILD must point at the build directory}
PINNERD=$BUILD/pinnerd
PINNERCTL=$BUILD/pinnerctl
HELPERS=$BUILD/helpers

T=$(mktemp -d /tmp/pinnerd-it.XXXXXX)
chmod 755 "$T"
mkdir -p "$T/d"
SOCK=$T/control
DAEMON_PID=
_CLEANUPS=()

cleanup_add() { _CLEANUPS+=("$*"); }
_cleanup() {
        local i
        for ((i = ${#_CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${_CLEANUPS[$i]}" >/dev/null 2>&1 || true; done
        if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
                kill -TERM "$DAEMON_PID" 2>/dev/null; wait "$DAEMON_PID" 2>/dev/null
        fi
        rm -rf "$T"
}
trap _cleanup EXIT
trap 'exit 1' INT TERM

skip() { echo "$*"; exit 77; }
fail() { echo "FAIL: $*"; [ -f "$T/daemon.log" ] && { echo "--- daemon log (tail)"; tail -n 40 "$T/daemon.log"; }; exit 1; }
ok() { echo "ok: $*"; }

need_root() { [ "$(id -u)" = 0 ] || skip "needs root (sched_setaffinity on other users' threads, the proc connector)"; }
need_cpus() { [ "$(nproc --all)" -ge "$1" ] || skip "needs at least $1 CPUs, this machine has $(nproc --all)"; }

# write_conf TEXT: the main config, root-owned and 0644 as pinnerd demands.
write_conf() { printf '%s\n' "$1" >"$T/pinnerd.conf"; chmod 0644 "$T/pinnerd.conf"; }

# start_daemon [ARGS...]: run pinnerd on $T/pinnerd.conf and wait until it
# has applied its first scan ("started" in its log).
start_daemon() {
        # Emptied here, not only by the redirection below: that happens in the
        # child, and a second start could find the previous run's "started".
        : >"$T/daemon.log"
        "$PINNERD" --config "$T/pinnerd.conf" --config-dir "$T/d" --socket "$SOCK" \
                --log-target stderr --log-level debug "$@" >"$T/daemon.log" 2>&1 &
        DAEMON_PID=$!
        local i
        for i in $(seq 200); do
                grep -q 'event=started' "$T/daemon.log" 2>/dev/null && return 0
                kill -0 "$DAEMON_PID" 2>/dev/null || fail "pinnerd exited during start-up"
                sleep 0.05
        done
        fail "pinnerd did not start within 10 s"
}

# start_daemon_fifo [ARGS...]: start_daemon with pinnerd at SCHED_FIFO 1, as
# the unit runs it (the flood tests measure what the loop costs then).
start_daemon_fifo() {
        printf '#!/bin/sh\nexec chrt -f 1 %s "$@"\n' "$PINNERD" >"$T/fifo-pinnerd"
        chmod 0755 "$T/fifo-pinnerd"
        local PINNERD=$T/fifo-pinnerd
        start_daemon "$@"
}

# daemon_ticks: the daemon's CPU time so far (user + system), in clock ticks.
daemon_ticks() { awk '{print $14 + $15}' "/proc/$DAEMON_PID/stat"; }

stop_daemon() {
        [ -n "$DAEMON_PID" ] || return 0
        kill -TERM "$DAEMON_PID" 2>/dev/null
        wait "$DAEMON_PID" 2>/dev/null
        DAEMON_STATUS=$?
        DAEMON_PID=
}

ctl() { "$PINNERCTL" --socket "$SOCK" "$@"; }

# nobody_setup PROGRAM[:NAME]...: pinnerctl and these built programs copied
# into $T where nobody may run them (NAME: the copy's name, a comm a rule
# matches), and NOBODY, the command prefix that runs as nobody. Skips when
# this machine cannot.
nobody_setup() {
        command -v setpriv >/dev/null || skip "needs setpriv to run as nobody"
        NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
        chmod 0755 "$T"
        local spec src dst
        for spec in "$PINNERCTL" "$@"; do
                src=${spec%%:*}
                dst=$T/$(basename "$src")
                [ "$spec" = "$src" ] || dst=$T/${spec#*:}
                [ -x "$src" ] || fail "$src is not built"
                cp "$src" "$dst" && chmod 0755 "$dst"
        done
        "${NOBODY[@]}" test -x "$T/pinnerctl" || skip "nobody cannot execute $T/pinnerctl"
}

# status_slowest CMD...: root asks `status` in a loop, each answer timed, from
# 0.5 s before CMD runs (once, output in $T/out and $T/err) until 0.5 s
# after it exits: the whole of a request, its last slice and the rendering
# of its answer too ("true": 4 s with no request). Prints root's slowest
# answer (ms). Fails when a status fails or CMD exits past 1.
status_slowest() {
        rm -f "$T/cmd-done"
        (
                end=$(($(date +%s%N) + 4000000000))
                while :; do
                        t0=$(date +%s%N)
                        "$PINNERCTL" --socket "$SOCK" status >/dev/null 2>&1 || echo fail
                        echo $((($(date +%s%N) - t0) / 1000000))
                        if [ -e "$T/cmd-done" ]; then
                                [ "$(date +%s%N)" -ge "$(cat "$T/cmd-done")" ] && break
                        elif [ "$(date +%s%N)" -ge "$end" ] && [ "$1" = true ]; then
                                break
                        fi
                done
        ) >"$T/lat" &
        local lp=$! rc=0
        cleanup_add "kill $lp"
        sleep 0.5
        if [ "$1" != true ]; then
                "$@" >"$T/out" 2>"$T/err"
                rc=$?
                echo $(($(date +%s%N) + 500000000)) >"$T/cmd-done.tmp"
                mv "$T/cmd-done.tmp" "$T/cmd-done"
        fi
        wait "$lp"
        case $rc in 0 | 1) ;; *) fail "$*: exit $rc: $(head -c 300 "$T/err")" ;; esac
        grep -q fail "$T/lat" && fail "root's status failed while $* ran"
        sort -n "$T/lat" | tail -1
}

# mask TID: the kernel's view of a thread's CPUs (Cpus_allowed_list).
mask() { awk '/^Cpus_allowed_list:/ {print $2}' "/proc/$1/status" 2>/dev/null; }

# wait_mask TID EXPECTED [SECONDS]: until the kernel reports EXPECTED.
wait_mask() {
        local tid=$1 want=$2 secs=${3:-5} i
        for i in $(seq $((secs * 20))); do
                [ "$(mask "$tid")" = "$want" ] && return 0
                sleep 0.05
        done
        fail "tid $tid has CPUs '$(mask "$tid")', expected '$want'"
}

expect_eq() { [ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"; ok "$3"; }

# wait_log PATTERN [SECONDS]: until the daemon log has a line matching PATTERN (grep -E).
wait_log() {
        local pat=$1 secs=${2:-5} i
        for i in $(seq $((secs * 20))); do
                grep -Eq -- "$pat" "$T/daemon.log" 2>/dev/null && return 0
                sleep 0.05
        done
        fail "no log line matching '$pat' within ${secs}s"
}

# A private copy of a binary under a unique name, so rules match only our
# processes (this machine runs other things too).
unique_comm() { echo "pt$$${1:-}" | cut -c1-15; }

# ---- tests 10-29: pintest processes and daemon log records -----------------
# (added for the 10-29 tests; helpers only, nothing runs on sourcing)

# pt_start NAME [PINTEST ARGS...]: run tests/helpers/pintest copied to
# $T/NAME (so its comm is NAME), taking commands from the FIFO $T/NAME.in,
# output in $T/NAME.out. Sets PT_PID (its pid); waits until its initial
# threads exist. Killed at exit.
declare -A PT_FD=()
pt_start() {
        local name=$1 fd i
        shift
        [ -x "$HELPERS/pintest" ] || fail "$HELPERS/pintest is not built (make BUILD=... \$BUILD/helpers/pintest)"
        cp "$HELPERS/pintest" "$T/$name"
        mkfifo "$T/$name.in"
        # Read-write open: does not wait for the reader, and the FIFO never sees EOF.
        exec {fd}<>"$T/$name.in"
        PT_FD[$name]=$fd
        # PT_LAUNCH: a command to start it through (e.g. withpid PID).
        ${PT_LAUNCH:-} "$T/$name" --commands "$@" <"$T/$name.in" >"$T/$name.out" 2>"$T/$name.err" &
        local bg=$!
        cleanup_add "kill -KILL \$(pt_tid $name main) $bg; wait $bg"
        for i in $(seq 200); do
                if grep -q '^ready$' "$T/$name.out" 2>/dev/null; then
                        PT_PID=$(pt_tid "$name" main)
                        return 0
                fi
                kill -0 "$bg" 2>/dev/null || fail "pintest $name exited: $(cat "$T/$name.err")"
                sleep 0.05
        done
        fail "pintest $name did not start"
}

# pt_cmd NAME COMMAND...: send one command (spawn NAME | rename TID NAME | exit TID).
pt_cmd() { local name=$1; shift; echo "$*" >&"${PT_FD[$name]}"; }

# pt_wait NAME REGEX [SECONDS]: until pintest NAME printed a line matching REGEX.
pt_wait() {
        local name=$1 pat=$2 secs=${3:-5} i
        for i in $(seq $((secs * 20))); do
                grep -Eq -- "$pat" "$T/$name.out" 2>/dev/null && return 0
                sleep 0.05
        done
        fail "pintest $name printed no line matching '$pat' within ${secs}s"
}

# pt_tid NAME THREAD: tid of pintest NAME's (latest) thread named THREAD;
# THREAD "main" gives the main thread.
pt_tid() {
        if [ "$2" = main ]; then awk '$1 == "main" {print $2; exit}' "$T/$1.out"; return; fi
        awk -v n="$2" '$1 == "thread" && $3 == n {t = $2} END {print t}' "$T/$1.out"
}

# pt_spawn NAME THREAD: start a worker THREAD in pintest NAME; prints its tid.
pt_spawn() {
        pt_cmd "$1" "spawn $2"
        pt_wait "$1" "^thread [0-9]+ $2\$"
        pt_tid "$1" "$2"
}

# event_lines EVENT [KEY=VALUE...]: the daemon log records of EVENT whose
# fields include every KEY=VALUE given (exact values).
event_lines() {
        local ev=$1
        shift
        # Through the environment: awk -v would turn a backslash in a value into an escape.
        EV_NAME=$ev EV_WANT="$*" awk '
                BEGIN { ev = ENVIRON["EV_NAME"]; want = ENVIRON["EV_WANT"] }
                index($0, "[event=" ev " ") || index($0, "[event=" ev "]") {
                        n = split(want, w, " ")
                        for (i = 1; i <= n; i++)
                                if (!index($0, " " w[i] " ") && !index($0, " " w[i] "]")) next
                        print
                }' "$T/daemon.log" 2>/dev/null
}
count_events() { event_lines "$@" | wc -l; }

# wait_event EVENT [KEY=VALUE...]: until such a record is in the daemon log;
# WAIT_SECS (default 5) bounds the wait.
wait_event() {
        local secs=${WAIT_SECS:-5} i
        for i in $(seq $((secs * 20))); do
                [ -n "$(event_lines "$@")" ] && return 0
                sleep 0.05
        done
        fail "no [event=$1] record with '${*:2}' within ${secs}s"
}

# no_event EVENT [KEY=VALUE...]: fail when such a record is in the log.
no_event() {
        local l
        l=$(event_lines "$@")
        [ -z "$l" ] || fail "unexpected record: $l"
}

# hold_mask TID EXPECTED SECONDS: the kernel reports EXPECTED the whole time.
hold_mask() {
        local i
        for i in $(seq $(($3 * 10))); do
                [ "$(mask "$1")" = "$2" ] || fail "tid $1 has CPUs '$(mask "$1")', expected '$2' to stay"
                sleep 0.1
        done
}
# ---- end of tests 10-29 block ---------------------------------------------

# ---- added for tests 30-49 (ctl verbs, journal, unit, man, notify) ----------
# wait_until SECONDS DESCRIPTION COMMAND [ARGS...]: poll COMMAND every 50 ms
# until it succeeds; fail naming DESCRIPTION when SECONDS pass.
wait_until() {
        local secs=$1 what=$2 i
        shift 2
        for i in $(seq $((secs * 20))); do
                "$@" >/dev/null 2>&1 && return 0
                sleep 0.05
        done
        fail "timed out after ${secs}s waiting for: $what"
}

# spawn_named NAME: run a private copy of sleep(1) called NAME (its comm),
# killed at cleanup; sets SPAWNED_PID.
spawn_named() {
        cp /bin/sleep "$T/$1"
        "$T/$1" 3600 &
        SPAWNED_PID=$!
        cleanup_add "kill $SPAWNED_PID"
        wait_until 5 "$T/$1 to run" _spawned_execd "$T/$1"
}
_spawned_execd() { [ "$(readlink "/proc/$SPAWNED_PID/exe" 2>/dev/null)" = "$1" ]; }
# ---- end of the block for tests 30-49 ----------------------------------------
