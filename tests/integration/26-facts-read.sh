#!/bin/bash
# Only the facts some rule needs are read: with comm-only rules pinnerd never
# opens /proc/PID/cmdline, exe or status; with a cmdline rule it reads
# cmdline, and only of processes whose name a rule can match.
. "$(dirname "$0")/lib.sh"
need_root
command -v strace >/dev/null || skip "needs strace (make deps installs it)"

C=$(unique_comm f)
cp /bin/sleep "$T/$C"
"$T/$C" 30 &
S=$!
cleanup_add "kill $S"

# openat calls of a --once run, as "PID/file" paths below /proc.
opened() {
        strace -f -qq -e trace=openat -o "$T/strace.out" "$PINNERD" --once --config "$T/pinnerd.conf" \
                --config-dir "$T/d" --socket "$SOCK" --log-target stderr >"$T/daemon.log" 2>&1 ||
                fail "pinnerd --once failed: $(tail -n 3 "$T/daemon.log")"
}

write_conf "[rule:by-name]
comm = $C
cpus = 0-1"
opened
n=$(grep -cE '"[0-9]+/(cmdline|exe|status)"' "$T/strace.out")
expect_eq "$n" 0 "comm-only rules: no cmdline, exe or status opened"
# The leader's own task file (proc/PID/stat would sum every thread's times).
grep -q "\"$S/task/$S/stat\"" "$T/strace.out" || fail "the matching process's stat was not read"

write_conf "[rule:by-args]
comm = $C
cmdline = ^$T/$C 30\$
cpus = 0-1"
opened
grep -q "\"$S/cmdline\"" "$T/strace.out" || fail "a cmdline rule did not read $S/cmdline"
n=$(grep -cE '"[0-9]+/cmdline"' "$T/strace.out")
expect_eq "$n" 1 "cmdline read for the one process whose comm can match"
# Its mask is 0-1 already, so there is nothing to apply; it is managed.
grep -q "started: 1 rules, 1 threads managed" "$T/daemon.log" || fail "the cmdline rule did not match: $(cat "$T/daemon.log")"
ok "cmdline rule matched $S"
