#!/bin/bash
# A cmdline pattern that compiles fast but makes a backtracking or lazy-DFA
# matcher explode, against command lines an ordinary user chooses: eight
# execs by nobody with distinct 4 KB command lines of a/b. With glibc's
# regexec this grew the daemon from 3.4 to 310 MB and cost 1.7 s of CPU per
# exec; with the linear-time matcher the daemon's memory and CPU stay flat,
# and a process started meanwhile is pinned at once.
. "$(dirname "$0")/lib.sh"
need_root
need_cpus 2
command -v setpriv >/dev/null || skip "needs setpriv (util-linux) to act as nobody"

C=$(unique_comm h)
L=$(unique_comm k)
cp "$(command -v bash)" "$T/$C"
chmod 0755 "$T" "$T/$C"
write_conf "[pinnerd]
rescan = 0
verify = 0

[rule:hostile]
comm = $C
cmdline = (a|b)*a(a|b){20}x\$
cpus = 1

[rule:late]
comm = $L
cpus = 1"
start_daemon
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$DAEMON_PID/status"; }
rss0=$(rss)
cpu0=$(daemon_ticks)

pids=()
for i in 1 2 3 4 5 6 7 8; do
        arg=$(head -c 4000 /dev/urandom | tr -dc 'ab' | head -c 3990)
        arg=$(printf '%s' "$arg$(head -c 8000 /dev/urandom | tr -dc 'ab')" | head -c 3990)
        setpriv --reuid=nobody --regid=nogroup --clear-groups "$T/$C" -c 'sleep 2' "$arg" &
        pids+=($!)
done
pt_start "$L" --threads 1
for t in $(ls "/proc/$PT_PID/task"); do wait_mask "$t" 1 2; done
ok "a process started during the hostile execs is pinned"
wait "${pids[@]}"

rss1=$(rss)
cpu1=$(daemon_ticks)
hz=$(getconf CLK_TCK)
grow=$((rss1 - rss0))
ms=$(((cpu1 - cpu0) * 1000 / hz))
echo "daemon RSS ${rss0} -> ${rss1} KiB (+${grow}), CPU ${ms} ms for 8 hostile execs"
[ "$grow" -lt 4096 ] || fail "the daemon grew by ${grow} KiB matching eight command lines"
[ "$ms" -lt 1000 ] || fail "the daemon spent ${ms} ms of CPU matching eight command lines"
ok "eight hostile 4 KB command lines: +${grow} KiB, ${ms} ms of CPU"
