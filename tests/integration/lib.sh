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

stop_daemon() {
        [ -n "$DAEMON_PID" ] || return 0
        kill -TERM "$DAEMON_PID" 2>/dev/null
        wait "$DAEMON_PID" 2>/dev/null
        DAEMON_STATUS=$?
        DAEMON_PID=
}

ctl() { "$PINNERCTL" --socket "$SOCK" "$@"; }

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
