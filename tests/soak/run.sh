#!/bin/bash
# pinnerd soak: tests/soak/run.sh BUILD_DIR (what `sudo make soak` runs).
#
# One daemon at SCHED_FIFO 1 (as the unit runs it) for SOAK_S seconds
# (default 600) under churn: short-lived matching processes with threads,
# long-lived processes whose pinned threads create threads, rename them and
# end them, spread rules, the long-lived processes restarted one at a time,
# a good reload every 10 s and a bad one every 30 s, and a kill -9 + restart
# of the daemon a quarter of the way in. Every 10 s it prints the daemon's
# RSS. It checks and prints: the daemon alive throughout, managed threads =
# live matching threads (pinnerctl list --json against /proc), that the
# second instance's RSS grows by at most 128 KiB over the second half of the
# run and its fd count stays the same, every reload verdict (0 good, 1 bad),
# and at the final stop every live thread back on its true original (the
# mask its process was started with). Ends with "N passed, N failed"; exit 1
# on any failure, 77 when it cannot run here.
#
# Knobs: SOAK_S (600), SOAK_LONG (3 long-lived processes), SOAK_KEEP=1 keeps
# the work directory. Rules match only this run's processes (sk?-RANDOM).
set -u
BUILD=${1:?usage: tests/soak/run.sh BUILD_DIR}
SOAK_S=${SOAK_S:-600}
NLONG=${SOAK_LONG:-3}
PINNERD=$BUILD/pinnerd
PINNERCTL=$BUILD/pinnerctl
PINTEST=$BUILD/helpers/pintest
RSS_LIMIT_KIB=128

say() { printf 'soak: %s\n' "$*"; }
skip() { say "cannot run: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (the proc connector, sched_setaffinity on any thread)"
[ "$(nproc --all)" -ge 2 ] || skip "needs at least 2 CPUs"
for f in "$PINNERD" "$PINNERCTL" "$PINTEST"; do [ -x "$f" ] || { say "missing $f (make all $BUILD/helpers/pintest)"; exit 1; }; done
command -v jq >/dev/null || skip "needs jq"
command -v chrt >/dev/null || skip "needs chrt"
[ "$SOAK_S" -ge 40 ] || { say "SOAK_S=$SOAK_S is too short to mean anything (>= 40)"; exit 2; }

T=$(mktemp -d /tmp/pinnerd-soak.XXXXXX) || exit 1
chmod 755 "$T"
mkdir "$T/d"
ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
S=skS-$ID # short-lived
L=skL-$ID # long-lived
SOCK=$T/control
DP=
PASS=0
FAIL=0
cp "$PINTEST" "$T/$S"
cp "$PINTEST" "$T/$L"

declare -a LPID LX LFD LGEN
cleanup() {
        local i
        [ -n "$DP" ] && kill -KILL "$DP" 2>/dev/null
        for i in "${!LPID[@]}"; do kill -KILL "${LPID[$i]}" 2>/dev/null; done
        kill_short
        wait 2>/dev/null
        if [ "${SOAK_KEEP:-0}" = 1 ]; then say "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

check() { # check OK|FAIL TEXT
        if [ "$1" = OK ]; then PASS=$((PASS + 1)); echo "PASS  $2"; else FAIL=$((FAIL + 1)); echo "FAIL  $2"; fi
}

# ---- configs ------------------------------------------------------------------
# A and B match the same threads (so "managed = live matching" has one
# meaning) and place them differently; BAD has an unknown key.
conf() {
        local short=$1 renamed=$2 extra=${3:-}
        cat >"$T/pinnerd.conf" <<EOC
# pinnerd soak $ID
[pinnerd]
restore = yes
rescan = 0
verify = 5
$extra

[rule:short-$ID]
comm = $S
cpus = $short

[rule:spread-$ID]
comm = $L
threads = w*
cpus = 0-1
spread = yes

[rule:renamed-$ID]
comm = $L
threads = r*
cpus = $renamed
EOC
        chmod 0644 "$T/pinnerd.conf"
        chown root:root "$T/pinnerd.conf"
}
conf_a() { conf 1 0; }
conf_b() { conf 0 1; }
conf_bad() { conf 1 0 "frobnicate = 1"; }

ctl() { "$PINNERCTL" --socket "$SOCK" "$@"; }
start_daemon() { # LOG
        chrt -f 1 "$PINNERD" --config "$T/pinnerd.conf" --config-dir "$T/d" --socket "$SOCK" \
                --log-target stderr --log-level info 2>>"$1" &
        DP=$!
        local i
        for i in $(seq 200); do
                ctl status >/dev/null 2>&1 && return 0
                kill -0 "$DP" 2>/dev/null || break
                sleep 0.05
        done
        say "pinnerd did not start:"
        tail -n 20 "$1"
        exit 1
}
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$DP/status" 2>/dev/null; }
fds() { ls "/proc/$DP/fd" 2>/dev/null | wc -l; }

# ---- long-lived processes: pintest --commands through a FIFO --------------------
XS=(0 1 0-1)
NGEN=0
long_start() { # SLOT
        local i=$1 fd k
        NGEN=$((NGEN + 1))
        LGEN[$i]=$NGEN
        LX[$i]=${XS[$((NGEN % 3))]}
        rm -f "$T/L$i.in"
        mkfifo "$T/L$i.in"
        [ -n "${LFD[$i]:-}" ] && eval "exec ${LFD[$i]}>&-"
        exec {fd}<>"$T/L$i.in"
        LFD[$i]=$fd
        taskset -c "${LX[$i]}" "$T/$L" --commands --threads 4 <"$T/L$i.in" >"$T/L$i.out.$NGEN" 2>>"$T/long.err" &
        disown
        for k in $(seq 100); do grep -q '^ready$' "$T/L$i.out.$NGEN" 2>/dev/null && break; sleep 0.05; done
        LPID[$i]=$(awk '$1 == "main" {print $2; exit}' "$T/L$i.out.$NGEN")
}
long_cmd() { echo "$2" >&"${LFD[$1]}"; }
# long_workers SLOT: live worker tids and names ("TID NAME" lines).
long_workers() {
        awk '$1 == "thread" {n[$2] = $3} $1 == "renamed" {n[$2] = $3} $1 == "exited" {delete n[$2]}
             END {for (t in n) if (t != "") print t, n[t]}' "$T/L$1.out.${LGEN[$1]}" |
                while read -r t n; do [ -d "/proc/${LPID[$1]}/task/$t" ] && echo "$t $n"; done
}
SEQ=0
long_churn() { # SLOT: one action on a long-lived process
        local i=$1 w n t name
        w=$(long_workers "$i")
        n=$(wc -l <<<"$w")
        SEQ=$((SEQ + 1))
        # A random worker; the pinned ones create threads that inherit their pin.
        read -r t name <<<"$(shuf -n 1 <<<"$w")"
        [ -n "$t" ] || { long_cmd "$i" "spawn w$SEQ"; return; }
        if [ "$n" -ge 10 ]; then
                long_cmd "$i" "exit $t"
                return
        fi
        case $((RANDOM % 5)) in
        0 | 1) long_cmd "$i" "child $t w$SEQ" ;;            # born pinned, matching
        2) long_cmd "$i" "child $t x$SEQ" ;;                # born pinned, no rule (yet)
        3) long_cmd "$i" "rename $t r$SEQ" ;;               # into the other rule
        4) [ "$n" -gt 2 ] && long_cmd "$i" "exit $t" || long_cmd "$i" "rename $t w$SEQ" ;;
        esac
        # An unmatched worker is renamed into a rule later.
        read -r t name <<<"$(grep ' x' <<<"$w" | head -n 1)"
        [ -n "$t" ] && long_cmd "$i" "rename $t w$SEQ"
}
long_restart() { # SLOT
        long_cmd "$1" quit
        local k
        for k in $(seq 100); do [ -d "/proc/${LPID[$1]}" ] || break; sleep 0.02; done
        long_start "$1"
}

# ---- short-lived processes --------------------------------------------------------
short_start() {
        "$T/$S" --threads 2 --hold 1 >/dev/null 2>&1 &
        disown
}
kill_short() {
        local p
        for p in /proc/[0-9]*; do [ "$(cat "$p/comm" 2>/dev/null)" = "$S" ] && kill -KILL "${p#/proc/}" 2>/dev/null; done
        return 0
}

# ---- managed = live matching ----------------------------------------------------------
live_matching() {
        local p t c pc
        for p in /proc/[0-9]*; do
                pc=$(cat "$p/comm" 2>/dev/null) || continue
                case $pc in
                "$S") for t in "$p"/task/*; do echo "${p#/proc/}/${t##*/}"; done ;;
                "$L")
                        for t in "$p"/task/*; do
                                c=$(cat "$t/comm" 2>/dev/null) || continue
                                case $c in w* | r*) echo "${p#/proc/}/${t##*/}" ;; esac
                        done
                        ;;
                esac
        done | sort
}
managed() { ctl list --json | jq -r '.[] | "\(.pid)/\(.tid)"' | sort; }
check_managed() { # WHEN
        local live man
        sleep 2.5 # the short-lived ones exit and their exit events arrive
        live=$(live_matching)
        man=$(managed)
        if [ "$live" = "$man" ]; then
                check OK "$1: managed threads = live matching threads ($(grep -c . <<<"$live"))"
        else
                check FAIL "$1: managed $(grep -c . <<<"$man") threads, live matching $(grep -c . <<<"$live"); only managed: $(comm -13 <(echo "$live") <(echo "$man") | head -n 5 | tr '\n' ' ') only live: $(comm -23 <(echo "$live") <(echo "$man") | head -n 5 | tr '\n' ' ')"
        fi
        local count
        count=$(ctl status --json | jq -r '.managed_threads')
        [ "$count" = "$(grep -c . <<<"$man")" ] && check OK "$1: status managed_threads = list ($count)" ||
                check FAIL "$1: status managed_threads $count, list $(grep -c . <<<"$man")"
}

# ---- the run --------------------------------------------------------------------------
say "run $ID in $T: ${SOAK_S} s, $NLONG long-lived processes, daemon at SCHED_FIFO 1"
conf_a
CONF=a
for i in $(seq 0 $((NLONG - 1))); do long_start "$i"; done
start_daemon "$T/daemon1.log"
START=$(date +%s)
CRASH_AT=$((START + SOAK_S / 4))
HALF=$((START + SOAK_S / 2))
END=$((START + SOAK_S))
GOOD=0 GOOD_OK=0 BAD=0 BAD_OK=0 DEATHS=0 SHORTS=0 ACTIONS=0 RESTARTS=0
CRASHED=0 RSS0= FD0= NEXT_RELOAD=$((START + 10)) NEXT_BAD=$((START + 30)) NEXT_RESTART=$((START + 15)) NEXT_LONG=$START
LAST_REPORT=$START
NEXT_RSS=$START
NEXT_SLOT=0

while :; do
        now=$(date +%s)
        [ "$now" -ge "$END" ] && break
        if ! kill -0 "$DP" 2>/dev/null; then
                DEATHS=$((DEATHS + 1))
                say "the daemon died at $((now - START)) s; restarting it"
                start_daemon "$T/daemon$((CRASHED + 2)).log"
        fi
        # Short-lived: 4 per second, 2 workers each, 1 s of life.
        short_start
        SHORTS=$((SHORTS + 1))
        if [ "$now" -ge "$NEXT_LONG" ]; then
                for i in $(seq 0 $((NLONG - 1))); do long_churn "$i"; ACTIONS=$((ACTIONS + 1)); done
                NEXT_LONG=$((now + 1))
        fi
        if [ "$now" -ge "$NEXT_RESTART" ]; then
                long_restart "$NEXT_SLOT"
                NEXT_SLOT=$(((NEXT_SLOT + 1) % NLONG))
                RESTARTS=$((RESTARTS + 1))
                NEXT_RESTART=$((now + 15))
        fi
        if [ "$now" -ge "$NEXT_RELOAD" ]; then
                if [ $CONF = a ]; then conf_b; CONF=b; else conf_a; CONF=a; fi
                out=$(ctl reload 2>&1)
                rc=$?
                GOOD=$((GOOD + 1))
                if [ $rc = 0 ] && grep -q '^reloaded' <<<"$out"; then GOOD_OK=$((GOOD_OK + 1)); else say "good reload: exit $rc: $out"; fi
                NEXT_RELOAD=$((now + 10))
        fi
        if [ "$now" -ge "$NEXT_BAD" ]; then
                conf_bad
                out=$(ctl reload 2>&1)
                rc=$?
                BAD=$((BAD + 1))
                if [ $rc = 1 ] && grep -q 'kept previous configuration' <<<"$out"; then BAD_OK=$((BAD_OK + 1)); else say "bad reload: exit $rc: $out"; fi
                if [ $CONF = a ]; then conf_a; else conf_b; fi
                NEXT_BAD=$((now + 30))
        fi
        if [ $CRASHED = 0 ] && [ "$now" -ge "$CRASH_AT" ]; then
                check_managed "a quarter of the way, before kill -9"
                say "kill -9 of the daemon at $((now - START)) s, then a new one on the same socket"
                kill -KILL "$DP"
                wait "$DP" 2>/dev/null
                start_daemon "$T/daemon2.log"
                CRASHED=1
                RESTARTED_AT=$(date +%s)
        fi
        if [ $CRASHED = 1 ] && [ -z "$RSS0" ] && [ "$now" -ge "$HALF" ]; then
                RSS0=$(rss)
                FD0=$(fds)
                say "half-way, the second instance after $((now - RESTARTED_AT)) s: RSS $RSS0 KiB, $FD0 fds"
        fi
        if [ "$now" -ge "$NEXT_RSS" ]; then
                echo "rss: $((now - START)) s $(rss) KiB"
                NEXT_RSS=$((now + 10))
        fi
        if [ $((now - LAST_REPORT)) -ge 30 ]; then
                say "$((now - START)) s: $SHORTS short-lived, $ACTIONS thread actions, $RESTARTS restarts, reloads $GOOD_OK/$GOOD good $BAD_OK/$BAD bad, RSS $(rss) KiB, $(fds) fds"
                LAST_REPORT=$now
        fi
        sleep 0.25
done

# ---- the end: quiesce, check, stop ----------------------------------------------------
# Threads born unmatched (x*) to a pinned thread are renamed into the rule, so
# that every thread whose mask pinnerd set is one it manages and restores.
for i in "${!LPID[@]}"; do
        long_workers "$i" | while read -r t name; do
                case $name in x*) long_cmd "$i" "rename $t w$t" ;; esac
        done
done
sleep 0.5
[ "$DEATHS" = 0 ] && check OK "daemon alive throughout (besides the kill -9)" || check FAIL "the daemon died $DEATHS times on its own"
check_managed "at the end"
RSS1=$(rss)
FD1=$(fds)
if [ -n "$RSS0" ]; then
        g=$((RSS1 - RSS0))
        [ "$g" -le $RSS_LIMIT_KIB ] && check OK "RSS growth over the second half: $g KiB ($RSS0 -> $RSS1 KiB, limit $RSS_LIMIT_KIB)" ||
                check FAIL "RSS growth over the second half: $g KiB ($RSS0 -> $RSS1 KiB), more than $RSS_LIMIT_KIB"
        [ "$FD1" = "$FD0" ] && check OK "fd count unchanged: $FD1" || check FAIL "fd count $FD0 -> $FD1"
else
        check FAIL "no RSS/fd baseline was taken half-way"
fi
[ $GOOD -gt 0 ] && [ $GOOD_OK = $GOOD ] && check OK "good reloads: $GOOD_OK of $GOOD exit 0" || check FAIL "good reloads: $GOOD_OK of $GOOD exit 0"
[ $BAD -gt 0 ] && [ $BAD_OK = $BAD ] && check OK "bad reloads: $BAD_OK of $BAD exit 1, previous kept" || check FAIL "bad reloads: $BAD_OK of $BAD exit 1"
kill_short
kill -TERM "$DP"
wait "$DP"
rc=$?
DP=
[ $rc = 0 ] && check OK "daemon exit status 0 after SIGTERM" || check FAIL "daemon exit status $rc after SIGTERM"
bad=
nthreads=0
for i in "${!LPID[@]}"; do
        p=${LPID[$i]}
        for t in /proc/$p/task/*; do
                [ -d "$t" ] || continue
                nthreads=$((nthreads + 1))
                m=$(awk '/^Cpus_allowed_list:/ {print $2}' "$t/status" 2>/dev/null)
                [ -z "$m" ] || [ "$m" = "${LX[$i]}" ] || bad="$bad $p/${t##*/}($(cat "$t/comm"))=$m!=${LX[$i]}"
        done
done
[ -z "$bad" ] && check OK "at the stop all $nthreads threads of the long-lived processes are back on their true originals" ||
        check FAIL "at the stop, threads not on their true original:$bad"
grep -h 'err:\|crit:' "$T"/daemon*.log | grep -v 'frobnicate' | head -n 5 | sed 's/^/soak: daemon said: /'
say "$SHORTS short-lived processes, $ACTIONS thread actions, $RESTARTS long-lived restarts, $GOOD good and $BAD bad reloads, 1 kill -9"
echo "$PASS passed, $FAIL failed"
[ $FAIL = 0 ]
