#!/bin/sh
# guest-test.sh DATADIR — pinnerd as an administrator lives it, on a real systemd
# machine: 6 CPUs with isolcpus=4-5, cgroup v2, journald. Runs inside the VM as root
# (run.sh boots it); installs DATADIR/pinnerd_*.deb with `apt install`, walks the
# administrator's story on it, and ends with `apt purge`.
#
# Every check prints "[STEP] PASS|FAIL what: what it saw"; the last line is
# "N passed, N failed"; the exit status is 0 only when nothing failed.
set -u

data=${1:?usage: guest-test.sh DATADIR}
conf=/etc/pinnerd.conf
pintest=/usr/local/bin/pintest
prom=/var/lib/prometheus/node-exporter/pinnerd.prom
. "$data/guest-lib.sh" # step, ok, bad, check_*, eventually, mask, start_pintest, j*

write_conf() { # WORKER_CPUS SVC_CPUS
	cat >"$conf" <<EOF
# pinnerd system test (tests/system/guest-test.sh)
[pinnerd]
isolated = exclude
restore = yes

[rule:workers]
comm = pintest
threads = worker*
cpus = $1

[rule:rt]
comm = pintest
threads = rt*
cpus = 4-5
isolated = allow

[rule:svc]
unit = pinned-test.service
cpus = $2
EOF
	chown root:root "$conf"
	chmod 0644 "$conf"
}

echo "pinnerd system test: $(nproc --all) CPUs, online $(cat /sys/devices/system/cpu/online)," \
	"isolated $(cat /sys/devices/system/cpu/isolated), $(stat -f -c %T /sys/fs/cgroup)," \
	"$(systemctl --version | head -n 1)"

# ------------------------------------------------------------------ 0. setup
step 0 "a service confined by its cgroup cpuset: systemd-run -p AllowedCPUs=1-2 --unit=pinned-test"
# Started before pinnerd on purpose: on this kernel (6.1) the first AllowedCPUs= makes
# systemd enable the cpuset controller, and the kernel then resets the affinity of every
# task in the tree to its cpuset, PID 1 included (measured: 0-3 -> 0-5). Doing that
# first keeps the later steps about pinnerd, not about that reset.
svc=$(start_pintest pinned-test -p AllowedCPUs=1-2 -- svc1 svc2) || svc=0
check_eq "cpuset.cpus.effective of pinned-test.service" 1-2 \
	"$(cat /sys/fs/cgroup/system.slice/pinned-test.service/cpuset.cpus.effective 2>&1)"
check_eq "pinned-test's svc1 before pinnerd" 1-2 "$(tmask "$svc" svc1)"
info "PID 1 affinity now $(mask 1)"

# ------------------------------------------------------------------ 0b. apt install
step 0b "apt install ./pinnerd_*.deb: the unit is enabled and started, the timer is not"
deb=$(ls "$data"/pinnerd_*.deb 2>/dev/null | head -n 1)
info "$(basename "${deb:-none}"): Depends: $(dpkg-deb -f "$deb" Depends 2>&1)"
# As an administrator does, from a directory of their own (the data disk is
# read-only). No network in the guest: the image has the dependencies already
# (and not --no-download: apt then loses the local file's directory, "Pathname to
# install is not absolute").
mkdir -p /root/pkg && cp "$deb" /root/pkg/
out=$(cd /root/pkg && apt install -y ./pinnerd_*.deb 2>&1)
rc=$?
check_true "apt install ./$(basename "$deb") (exit $rc)" "$(echo "$out" | grep -E '^(Setting up|E:)' | tr '\n' ' ')" '[ $rc = 0 ]'
check_eq "dpkg-query status" "install ok installed" "$(dpkg-query -W -f='${Status}' pinnerd 2>&1)"
check_eq "systemctl is-enabled pinnerd (enabled by the package)" enabled "$(systemctl is-enabled pinnerd 2>&1)"
check_eq "systemctl is-active pinnerd (started by the package)" active "$(systemctl is-active pinnerd 2>&1)"
check_eq "systemctl is-enabled pinnerd-metrics.timer (shipped disabled)" disabled "$(systemctl is-enabled pinnerd-metrics.timer 2>&1)"
check_eq "systemctl is-active pinnerd-metrics.timer" inactive "$(systemctl is-active pinnerd-metrics.timer 2>&1)"
check_eq "/etc/pinnerd.conf is a conffile" /etc/pinnerd.conf "$(dpkg-query -W -f='${Conffiles}' pinnerd | awk '{print $1}')"
for f in /usr/sbin/pinnerd /usr/bin/pinnerctl /usr/lib/systemd/catalog/pinnerd.catalog \
	/usr/share/bash-completion/completions/pinnerctl /usr/share/man/man8/pinnerctl.8.gz; do
	check_true "installed: $f" "$(ls -l "$f" 2>&1)" "[ -f '$f' ]"
done
check_true "installed: /etc/pinnerd.d/" "$(ls -ld /etc/pinnerd.d 2>&1)" '[ -d /etc/pinnerd.d ]'
alerts=/usr/share/doc/pinnerd/examples/pinnerd-alerts.yml
check_true "installed: $alerts" "$(ls -l "$alerts" 2>&1)" "[ -f '$alerts' ]"
info "unit file: $(systemctl show -p FragmentPath --value pinnerd)"

# ------------------------------------------------------------------ 1. config
step 1 "the shipped config is valid; the test's config passes pinnerctl check"
out=$(pinnerd --check 2>&1)
rc=$?
check_true "pinnerd --check on the shipped $conf (exit $rc)" "$out" '[ $rc = 0 ]'
check_contains "pinnerd --check says" "configuration OK" "$out"
write_conf 3-5 0-3
out=$(pinnerctl check "$conf" 2>&1)
rc=$?
check_true "pinnerctl check $conf (exit $rc)" "$out" '[ $rc = 0 ]'
check_contains "pinnerctl check counts the rules" "configuration OK: 3 rules" "$out"
unitfile=$(systemctl show -p FragmentPath --value pinnerd)
# --man=no: the guest has no man-db; the pages are linted on the host (make man-lint).
out=$(systemd-analyze verify --man=no "$unitfile" 2>&1)
rc=$?
check_true "systemd-analyze verify $unitfile (exit $rc)" "${out:-clean}" '[ $rc = 0 ] && [ -z "$out" ]'

# ------------------------------------------------------------------ 2. reload onto the test's rules
step 2 "systemctl reload pinnerd: the package's running daemon takes the edited $conf"
out=$(systemctl reload pinnerd 2>&1)
rc=$?
check_true "systemctl reload pinnerd (exit $rc)" "${out:-ok}" '[ $rc = 0 ]'
check_eq "systemctl is-enabled pinnerd" enabled "$(systemctl is-enabled pinnerd 2>&1)"
check_eq "systemctl is-active pinnerd" active "$(systemctl is-active pinnerd 2>&1)"
daemon_pid=$(main_pid pinnerd)
info "MainPID $daemon_pid, NRestarts $(systemctl show -p NRestarts --value pinnerd)"
wd_start=$(systemctl show -p WatchdogTimestampMonotonic --value pinnerd)

# ------------------------------------------------------------------ 3. status
step 3 "systemctl status pinnerd shows the daemon's STATUS= line"
out=$(systemctl status --no-pager pinnerd 2>&1)
st=$(echo "$out" | sed -n 's/^[[:space:]]*Status: //p')
check_true "Status: line in systemctl status" "${st:-none}" '[ -n "$st" ]'
check_contains "STATUS= names the event source" "proc-connector" "$st"

# ------------------------------------------------------------------ 4. new process
step 4 "a process started afterwards: its worker* threads get cpus = 3-5 minus isolated 4-5 = 3"
a=$(start_pintest pintest-a -- worker1 worker2 rt1 other) || a=0
info "pintest-a pid $a, threads: $(for t in /proc/$a/task/*; do printf '%s=%s ' "$(cat "$t/comm")" "$(mask "${t##*/}")"; done)"
eventually "worker1 (rule workers, cpus = 3-5)" 3 20 tmask "$a" worker1
eventually "worker2 (rule workers, cpus = 3-5)" 3 20 tmask "$a" worker2
main_mask=$(mask "$a")
check_eq "thread 'other' matches no rule and keeps the process's mask" "$main_mask" "$(tmask "$a" other)"

# ------------------------------------------------------------------ 5. isolated = allow
step 5 "a rule with isolated = allow places rt* threads on the isolated CPUs 4-5"
eventually "rt1 (rule rt, cpus = 4-5, isolated = allow)" 4-5 20 tmask "$a" rt1

# ------------------------------------------------------------------ 6. unit = and cpuset
step 6 "a unit = rule on pinned-test.service (AllowedCPUs=1-2) asking cpus = 0-3 gives 1-2"
eventually "pinned-test svc1" 1-2 10 tmask "$svc" svc1
check_eq "pinned-test svc2" 1-2 "$(tmask "$svc" svc2)"
out=$(pinnerctl explain "$svc" 2>&1)
check_contains "pinnerctl explain $svc names the rule" "rule svc" "$out"
check_contains "pinnerctl explain $svc intersects with the cpuset" "cpuset 1-2" "$out"

# ------------------------------------------------------------------ 7. hardened unit
step 7 "the hardened unit really works: pinning happened as the service, on proc-connector events"
out=$(pinnerctl status 2>&1)
rc=$?
check_true "pinnerctl status (exit $rc)" "$(echo "$out" | head -n 1)" '[ $rc = 0 ]'
check_contains "pinnerctl status: event source" "proc-connector" "$out"
info "$(echo "$out" | grep -E '^(events|counters|managed)' | tr '\n' ' ')"
n=$(jcount PINNERD_EVENT=applied _PID="$daemon_pid")
check_true "journal records PINNERD_EVENT=applied from the service's MainPID $daemon_pid" "$n records" '[ "$n" -gt 0 ]'
n=$(jcount PINNERD_EVENT=failed)
check_eq "journal records PINNERD_EVENT=failed (EPERM under the sandbox would land here)" 0 "$n"
caps=$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$daemon_pid/status")
check_true "CAP_SYS_NICE in the daemon's effective capabilities (CapEff $caps)" "$caps" \
	'[ -n "$caps" ] && [ $(((0x$caps >> 23) & 1)) = 1 ]'
# The unit asks for SCHED_FIFO 1 (latency: see the unit's comment); systemd
# sets it before the sandbox, RestrictRealtime= notwithstanding.
check_eq "the daemon's scheduling policy and priority" "SCHED_FIFO|SCHED_RESET_ON_FORK 1" \
	"$(chrt -p "$daemon_pid" | sed -n 's/.*scheduling policy: //p') $(chrt -p "$daemon_pid" | sed -n 's/.*scheduling priority: //p')"
info "unit: $(systemctl show -p User,NoNewPrivileges,ProtectSystem,ProtectHome,PrivateTmp,CapabilityBoundingSet,RestrictAddressFamilies pinnerd | tr '\n' ' ')"
info "$(systemd-analyze security --no-pager pinnerd 2>/dev/null | tail -n 1)"

# ------------------------------------------------------------------ 8. journal
step 8 "journalctl -u pinnerd PINNERD_RULE=... finds the decisions with PINNERD_CPUS"
eventually "PINNERD_RULE=workers has PINNERD_CPUS=3" yes 10 jhas workers PINNERD_CPUS 3
eventually "PINNERD_RULE=workers has PINNERD_THREAD=worker1" yes 5 jhas workers PINNERD_THREAD worker1
eventually "PINNERD_RULE=rt has PINNERD_CPUS=4-5" yes 5 jhas rt PINNERD_CPUS 4-5
info "PINNERD_RULE=workers: PINNERD_EVENT $(jvalues workers PINNERD_EVENT), PINNERD_REQUESTED $(jvalues workers PINNERD_REQUESTED), PINNERD_PREVIOUS $(jvalues workers PINNERD_PREVIOUS)"

# ------------------------------------------------------------------ 9. reload
step 9 "edit $conf (workers cpus = 0-1, svc cpus = 2-3) and systemctl reload pinnerd"
reloads=$(jcount PINNERD_EVENT=reloaded)
write_conf 0-1 2-3
out=$(systemctl reload pinnerd 2>&1)
rc=$?
check_true "systemctl reload pinnerd (exit $rc)" "${out:-ok}" '[ $rc = 0 ]'
eventually "worker1 after reload" 0-1 10 tmask "$a" worker1
eventually "pinned-test svc1 after reload (2-3 ∩ cpuset 1-2)" 2 10 tmask "$svc" svc1
check_eq "rt1 keeps its rule" 4-5 "$(tmask "$a" rt1)"
eventually "a PINNERD_EVENT=reloaded record was added" yes 5 \
	sh -c "[ \$(journalctl --no-pager -u pinnerd PINNERD_EVENT=reloaded -o cat | wc -l) -gt $reloads ] && echo yes || echo no"
check_eq "same daemon process after reload" "$daemon_pid" "$(main_pid pinnerd)"

# ------------------------------------------------------------------ 10. broken reload
step 10 "a broken edit: systemctl reload fails, file:line is named, the previous rules stay"
cp "$conf" /tmp/pinnerd.conf.good
printf '\n[rule:broken]\ncomm = pintest\n' >>"$conf"
bad_line=$(($(wc -l <"$conf") + 1))
printf 'cpus = 1-zz\n' >>"$conf"
since=$(date '+%Y-%m-%d %H:%M:%S')
sleep 1
out=$(systemctl reload pinnerd 2>&1)
rc=$?
check_true "systemctl reload pinnerd fails (exit $rc)" "$(echo "$out" | head -n 1)" '[ $rc != 0 ]'
out=$(pinnerctl reload 2>&1)
rc=$?
check_eq "pinnerctl reload exit status" 1 "$rc"
check_contains "pinnerctl reload names the place" "$conf:$bad_line" "$out"
check_contains "pinnerctl reload says" "kept previous configuration" "$out"
jout=$(journalctl --no-pager -u pinnerd --since "$since" -o cat 2>&1)
check_contains "the journal of pinnerd.service names the place" "$conf:$bad_line" "$jout"
check_eq "systemctl is-active pinnerd" active "$(systemctl is-active pinnerd)"
check_eq "same daemon process" "$daemon_pid" "$(main_pid pinnerd)"
check_eq "worker1 keeps the previous rules" 0-1 "$(tmask "$a" worker1)"
cp /tmp/pinnerd.conf.good "$conf"
out=$(systemctl reload pinnerd 2>&1)
rc=$?
check_true "systemctl reload after fixing the file (exit $rc)" "${out:-ok}" '[ $rc = 0 ]'

# ------------------------------------------------------------------ 11. watchdog
step 11 "the watchdog is armed and fed"
wd=$(systemctl show -p WatchdogUSec --value pinnerd)
check_true "WatchdogUSec" "$wd" '[ -n "$wd" ] && [ "$wd" != 0 ] && [ "$wd" != infinity ]'
info "WatchdogUSec=$wd; waiting for a ping newer than the one at start ($wd_start)"
end=$(($(date +%s) + 60))
while :; do
	now=$(systemctl show -p WatchdogTimestampMonotonic --value pinnerd)
	[ "${now:-0}" -gt "${wd_start:-0}" ] && break
	[ "$(date +%s)" -lt "$end" ] && [ "$(systemctl is-active pinnerd)" = active ] || break
	sleep 1
done
check_true "WatchdogTimestampMonotonic advanced (WATCHDOG=1 received)" "$wd_start -> $now" \
	'[ "${now:-0}" -gt "${wd_start:-0}" ]'
check_eq "same daemon process (not killed by the watchdog)" "$daemon_pid" "$(main_pid pinnerd)"

# ------------------------------------------------------------------ 12. stop restores
step 12 "systemctl stop pinnerd puts the original masks back"
out=$(systemctl stop pinnerd 2>&1)
rc=$?
check_true "systemctl stop pinnerd (exit $rc)" "${out:-ok}" '[ $rc = 0 ]'
check_eq "systemctl is-active pinnerd" inactive "$(systemctl is-active pinnerd)"
check_eq "worker1 back to the process's original mask" "$main_mask" "$(tmask "$a" worker1)"
check_eq "worker2 back to the original mask" "$main_mask" "$(tmask "$a" worker2)"
check_eq "rt1 back to the original mask" "$main_mask" "$(tmask "$a" rt1)"
check_eq "pinned-test svc1 back to its cpuset" 1-2 "$(tmask "$svc" svc1)"
n=$(jcount PINNERD_EVENT=restored)
check_true "journal has PINNERD_EVENT=restored records" "$n records" '[ "$n" -gt 0 ]'

# ------------------------------------------------------------------ 13. SIGKILL
step 13 "SIGKILL of the daemon: systemd restarts it (Restart=on-failure) and it pins again"
systemctl start pinnerd
check_eq "started again" active "$(systemctl is-active pinnerd)"
eventually "worker1 pinned again by the new daemon" 0-1 20 tmask "$a" worker1
old=$(main_pid pinnerd)
restarts=$(systemctl show -p NRestarts --value pinnerd)
[ "${old:-0}" -gt 1 ] && kill -KILL "$old" # never "kill -KILL 0": that is our own group
end=$(($(date +%s) + 30))
while :; do
	new=$(main_pid pinnerd)
	[ "$(systemctl is-active pinnerd)" = active ] && [ "${new:-0}" != 0 ] && [ "$new" != "$old" ] && break
	[ "$(date +%s)" -lt "$end" ] || break
	sleep 0.5
done
check_true "a new MainPID after SIGKILL of $old" "$new ($(systemctl is-active pinnerd))" \
	'[ "${new:-0}" != 0 ] && [ "$new" != "$old" ] && [ "$(systemctl is-active pinnerd)" = active ]'
check_true "NRestarts went up" "$restarts -> $(systemctl show -p NRestarts --value pinnerd)" \
	'[ "$(systemctl show -p NRestarts --value pinnerd)" -gt "$restarts" ]'
b=$(start_pintest pintest-b -- worker9 rt9) || b=0
eventually "worker9 of a process started after the restart" 0-1 20 tmask "$b" worker9
eventually "rt9 of a process started after the restart" 4-5 20 tmask "$b" rt9

step 14 "CPU hotplug: udev's cpu events make pinnerd re-plan every managed thread"
online=/sys/devices/system/cpu/cpu1/online
if [ -w "$online" ]; then
	echo 0 >"$online"
	eventually "worker9 (cpus 0-1) with CPU 1 offline" 0 20 tmask "$b" worker9
	msg=$(journalctl --no-pager -u pinnerd -o cat | grep -c "online CPUs changed from 0-5 to 0,2-5")
	check_true "the journal says the online CPUs changed" "$msg record(s)" '[ "$msg" -ge 1 ]'
	echo 1 >"$online"
	eventually "worker9 back on 0-1 once CPU 1 is online again" 0-1 20 tmask "$b" worker9
else
	bad "CPU 1 cannot be taken offline in the guest ($online not writable)"
fi

# ------------------------------------------------------------------ 15. catalog
step 15 "journalctl -x explains pinnerd's records (the message catalog, compiled by the package's trigger)"
out=$(journalctl --no-pager -x -u pinnerd PINNERD_EVENT=applied PINNERD_RULE=workers -n 1 2>&1)
check_contains "journalctl -x on an applied record: the catalog's subject" "pinnerd pinned a thread" "$out"
check_contains "... with the record's fields substituted" "Rule workers matched thread" "$out"
check_contains "... and what to do" "pinnerctl explain" "$out"
n=$(journalctl --list-catalog 2>/dev/null | grep -c ' pinnerd: ')
check_eq "journalctl --list-catalog: pinnerd entries (one per entry in the file)" "$(grep -c "^-- " /usr/lib/systemd/catalog/pinnerd.catalog)" "$n"

# ------------------------------------------------------------------ 16. completion
step 16 "TAB completion of pinnerctl in a login shell"
# What TAB does: bash-completion's default handler (complete -D) loads the file
# for the command, then the command's own function answers.
out=$(HOME=/root bash -lic '
	f=$(complete -p -D 2>/dev/null | sed -n "s/.*-F \([^ ]*\).*/\1/p")
	[ -n "$f" ] || { echo "no default completion (bash-completion not loaded)"; exit 1; }
	COMP_WORDS=(pinnerctl re); COMP_CWORD=1; COMP_LINE="pinnerctl re"; COMP_POINT=12
	"$f" pinnerctl re pinnerctl >/dev/null 2>&1
	complete -p pinnerctl
	COMPREPLY=()
	_pinnerctl pinnerctl re pinnerctl
	echo "compgen: ${COMPREPLY[*]}"
	COMP_WORDS=(pinnerctl explain ""); COMP_CWORD=2; COMPREPLY=()
	_pinnerctl pinnerctl "" explain
	echo "explain: ${#COMPREPLY[@]} pids"' 2>/dev/null)
check_contains "complete -p pinnerctl after login" "complete -F _pinnerctl pinnerctl" "$out"
check_contains "pinnerctl re<TAB>" "compgen: reload rescan" "$out"
n=$(echo "$out" | sed -n 's/^explain: \([0-9]*\) pids/\1/p')
check_true "pinnerctl explain <TAB> offers pids" "${n:-0} pids" '[ "${n:-0}" -gt 10 ]'

# ------------------------------------------------------------------ 17. metrics
step 17 "pinnerctl metrics, parsed by python3-prometheus-client; the timer writes $prom"
cat >/tmp/parse-metrics.py <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
need = ["pinnerd_events", "pinnerd_lost_event_rescans", "pinnerd_rescans", "pinnerd_applied",
        "pinnerd_restored", "pinnerd_skipped", "pinnerd_failed", "pinnerd_drift",
        "pinnerd_managed_threads", "pinnerd_rule_threads", "pinnerd_event_to_pin_seconds"]
missing = [n for n in need if n not in fams]
rules = {s.labels["rule"]: int(s.value) for s in fams["pinnerd_rule_threads"].samples} if "pinnerd_rule_threads" in fams else {}
h = {s.name: s.value for s in fams["pinnerd_event_to_pin_seconds"].samples if not s.name.endswith("_bucket")} \
    if "pinnerd_event_to_pin_seconds" in fams else {}
c = h.get("pinnerd_event_to_pin_seconds_count", 0)
print("families %d missing %s rules %s event_to_pin count %d mean_us %.0f" %
      (len(fams), missing or "none", sorted(rules.items()), c,
       h.get("pinnerd_event_to_pin_seconds_sum", 0) / c * 1e6 if c else 0))
PY
pinnerctl metrics >/tmp/metrics.txt 2>&1
rc=$?
check_eq "pinnerctl metrics exit status" 0 "$rc"
out=$(python3 /tmp/parse-metrics.py /tmp/metrics.txt 2>&1)
check_contains "prometheus_client parses it, every SPEC family" "missing none" "$out"
check_contains "per-rule gauges" "('workers', " "$out"
n=$(echo "$out" | sed -n 's/.*event_to_pin count \([0-9]*\).*/\1/p')
check_true "event_to_pin histogram has observations ($out)" "${n:-0}" '[ "${n:-0}" -gt 0 ]'
# The same families for anyone (only the counts inside are the peer's view).
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups pinnerctl metrics 2>&1 | grep -c '^# TYPE')
check_eq "pinnerctl metrics as nobody: TYPE lines, as many as root's" "$(grep -c '^# TYPE' /tmp/metrics.txt)" "$out"
out=$(systemctl enable --now pinnerd-metrics.timer 2>&1)
rc=$?
check_true "systemctl enable --now pinnerd-metrics.timer (exit $rc)" "${out:-ok}" '[ $rc = 0 ]'
end=$(($(date +%s) + 30))
while [ ! -s "$prom" ] && [ "$(date +%s)" -lt "$end" ]; do sleep 0.5; done
check_true "the timer wrote $prom" "$(ls -l "$prom" 2>&1)" "[ -s '$prom' ]"
check_eq "mode of $prom" 644 "$(stat -c %a "$prom" 2>&1)"
out=$(python3 /tmp/parse-metrics.py "$prom" 2>&1)
check_contains "$prom parses" "missing none" "$out"
check_eq "pinnerd-metrics.service result" success "$(systemctl show -p Result --value pinnerd-metrics.service)"
check_eq "only pinnerd.prom in the textfile directory (no temporary file)" pinnerd.prom "$(ls -A "${prom%/*}")"
info "$(systemd-analyze security --no-pager pinnerd-metrics.service 2>/dev/null | tail -n 1)"

# ------------------------------------------------------------------ 17a. alerting
step 17a "a rejected reload, as Prometheus sees it through the textfile timer; the shipped alerting rules"
# What the collector would read: the timer's file, parsed by a real parser.
prom_value() { # NAME
	python3 -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
for f in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in f.samples:
        if s.name == sys.argv[2] and not s.labels: print(int(s.value))' "$prom" "$1" 2>&1
}
check_eq "pinnerd_config_last_reload_successful in $prom" 1 "$(prom_value pinnerd_config_last_reload_successful)"
cp "$conf" /tmp/pinnerd.conf.good
printf '\n[rule:typo]\ncomm = pintest\ncpu = 1\n' >>"$conf"
out=$(pinnerctl reload 2>&1)
rc=$?
check_eq "pinnerctl reload of a config with a typo: exit status" 1 "$rc"
check_contains "pinnerctl reload says what was meant" "(did you mean 'cpus'?)" "$out"
eventually "pinnerd_config_last_reload_successful in $prom (the timer writes every 15 s)" 0 60 \
	prom_value pinnerd_config_last_reload_successful
cp /tmp/pinnerd.conf.good "$conf"
out=$(systemctl reload pinnerd 2>&1)
rc=$?
check_true "systemctl reload pinnerd after the fix (exit $rc)" "${out:-ok}" '[ $rc = 0 ]'
eventually "pinnerd_config_last_reload_successful in $prom after the fix" 1 60 \
	prom_value pinnerd_config_last_reload_successful
if [ -x "$data/promtool" ]; then
	out=$("$data/promtool" check rules "$alerts" 2>&1)
	rc=$?
	check_true "promtool check rules $alerts (exit $rc)" "$(echo "$out" | tail -n 1)" '[ $rc = 0 ]'
	out=$("$data/promtool" check metrics <"$prom" 2>&1)
	rc=$?
	check_true "promtool check metrics < $prom (exit $rc)" "${out:-no lint problems}" '[ $rc = 0 ] && [ -z "$out" ]'
else
	info "no promtool on the data disk (the host's apt has no prometheus package): rules not checked"
fi

# ------------------------------------------------------------------ 17b. upgrade
step 17b "apt install --reinstall (what an upgrade does): the edited conffile stays, the daemon restarts, the timer stays enabled"
sum=$(md5sum <"$conf")
old=$(main_pid pinnerd)
out=$(cd /root/pkg && apt install -y --reinstall ./pinnerd_*.deb 2>&1)
rc=$?
check_true "apt install --reinstall (exit $rc)" "$(echo "$out" | grep -E '^(Setting up|E:)' | tr '\n' ' ')" '[ $rc = 0 ]'
check_eq "/etc/pinnerd.conf keeps the administrator's edit" "$sum" "$(md5sum <"$conf")"
new=$(main_pid pinnerd)
check_true "pinnerd restarted by the package ($old -> $new)" "$(systemctl is-active pinnerd)" \
	'[ "$(systemctl is-active pinnerd)" = active ] && [ "${new:-0}" != 0 ] && [ "$new" != "$old" ]'
check_eq "pinnerd-metrics.timer still enabled" enabled "$(systemctl is-enabled pinnerd-metrics.timer 2>&1)"
eventually "worker9 pinned by the restarted daemon" 0-1 20 tmask "$b" worker9

# ------------------------------------------------------------------ 17c. what an ordinary user sees
step 17c "an ordinary user sees through pinnerctl only what its own /proc shows (hidepid=invisible; a ProtectProc=invisible unit)"
id alice >/dev/null 2>&1 || useradd -M -s /bin/sh alice
al=$(start_pintest pintest-alice -p User=alice -- worker7) || al=0
eventually "alice's worker7 pinned by rule workers" 0-1 20 tmask "$al" worker7
as_alice() { setpriv --reuid=alice --regid=alice --init-groups "$@"; }
# view JSON: "ROOT_SHOWN OWN_SHOWN" for a list --json text on stdin.
cat >/tmp/view.py <<'PY'
import json, sys
rows = json.load(sys.stdin)
print(sum(1 for r in rows if r["pid"] == int(sys.argv[1])), sum(1 for r in rows if r["pid"] == int(sys.argv[2])))
PY
# seen_by WHAT LIST_JSON STATUS_JSON METRICS: alice's view hides root's pintest-a
seen_by() {
	check_eq "$1: list shows root's pintest-a, alice's pintest" "0 1" "$(printf '%s' "$2" | python3 /tmp/view.py "$a" "$al" 2>&1)"
	check_eq "$1: status counts alice's thread only" 1 \
		"$(printf '%s' "$3" | python3 -c 'import json,sys; print(json.load(sys.stdin)["managed_threads"])' 2>&1)"
	check_eq "$1: metrics count alice's thread only" 1 "$(printf '%s\n' "$4" | awk '$1 == "pinnerd_managed_threads" {print $2}')"
}
mount -o remount,hidepid=invisible /proc
check_true "alice's /proc (hidepid=invisible) hides root's pintest-a" "$(as_alice ls -d /proc/$a 2>&1)" "! as_alice test -d /proc/$a"
seen_by "hidepid=invisible" "$(as_alice pinnerctl list --json 2>&1)" "$(as_alice pinnerctl status --json 2>&1)" \
	"$(as_alice pinnerctl metrics 2>&1)"
out=$(as_alice pinnerctl explain "$a" 2>&1)
rc=$?
check_eq "hidepid=invisible: alice's explain of root's pintest-a (exit 1, $out)" 1 "$rc"
mount -o remount,hidepid=off /proc
run_alice() { systemd-run --quiet --wait --pipe -p User=alice -p ProtectProc=invisible pinnerctl "$@" 2>&1; }
seen_by "a ProtectProc=invisible unit" "$(run_alice list --json)" "$(run_alice status --json)" "$(run_alice metrics)"
out=$(pinnerctl list --json | python3 /tmp/view.py "$a" "$al" 2>&1)
check_true "root's list shows both ($out)" "$out" 'set -- $out; [ "$1" -ge 1 ] && [ "$2" -ge 1 ]'
systemctl stop pintest-alice 2>/dev/null

# ------------------------------------------------------------------ 17d. stock Debian
step 17d "drift events and guarantees on Debian as installed: paranoia as shipped, the unit as shipped"
paranoid=$(cat /proc/sys/kernel/perf_event_paranoid)
info "kernel.perf_event_paranoid=$paranoid (as the distribution ships it)"
sec=$(systemd-analyze security --no-pager pinnerd 2>/dev/null | tail -n 1)
score=$(echo "$sec" | grep -o '[0-9][0-9]*\.[0-9]' | head -n 1)
check_true "systemd-analyze security pinnerd <= 2.5 (the unit as shipped)" "$sec" \
	"awk -v s='$score' 'BEGIN { exit !(s != \"\" && s + 0 <= 2.5) }'"
cat >"$conf" <<EOF
# pinnerd system test (tests/system/guest-test.sh, 17c)
[pinnerd]
verify = 0
drift = reapply

[rule:held]
comm = pintest
threads = dr*
cpus = 1

[rule:first]
exe = /usr/local/bin/firstmask
cpus = 1
guarantee = exec
EOF
systemctl reload pinnerd
out=$(pinnerctl status 2>&1)
check_contains "drift-events: bpf under the shipped unit, no sysctl lowered" "drift-events: bpf" "$out"
info "$(echo "$out" | grep '^drift-events')"
p=$(start_pintest pintest-d -- dr0)
t=$(tid_of "$p" dr0)
eventually "dr0 pinned" 1 60 mask "$t"
taskset -p -c 0-3 "$t" >/dev/null 2>&1
eventually "dr0 back on CPU 1 within 2 s of another process's taskset (verify = 0)" 1 2 mask "$t"
if [ -x /usr/local/bin/setaff32 ]; then
	/usr/local/bin/setaff32 "$t" 0
	eventually "dr0 back on CPU 1 within 2 s of a 32-bit sched_setaffinity" 1 2 mask "$t"
fi
check_eq "kernel.perf_event_paranoid afterwards" "$paranoid" "$(cat /proc/sys/kernel/perf_event_paranoid)"
systemctl stop pintest-d 2>/dev/null

if [ -x /usr/local/bin/firstmask ]; then
	check_contains "guarantee without the drop-in: status says why" \
		"guarantee:    unavailable (fanotify permission events need CAP_SYS_ADMIN" "$(pinnerctl status 2>&1)"
	mkdir -p /etc/systemd/system/pinnerd.service.d
	ln -sf /usr/share/pinnerd/guarantee.conf /etc/systemd/system/pinnerd.service.d/guarantee.conf
	systemctl daemon-reload
	systemctl restart pinnerd
	check_contains "with the opt-in drop-in: guarantee in force" "guarantee:    exec (1 file marked" \
		"$(pinnerctl status 2>&1)"
	info "with the drop-in: $(systemd-analyze security --no-pager pinnerd 2>/dev/null | tail -n 1)"
	caps=$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$(main_pid pinnerd)/status")
	check_eq "CAP_SYS_ADMIN dropped once the group exists (CapEff $caps)" 0 "$(((0x$caps >> 21) & 1))"
	n=0
	for i in $(seq 100); do [ "$(/usr/local/bin/firstmask)" = 0x2 ] && n=$((n + 1)); done
	check_eq "first instructions on CPU 1, of 100 execs" 100 "$n"
	# A stopped daemon holds marked execs; the drop-in's watchdog ends that.
	kill -STOP "$(main_pid pinnerd)"
	t0=$(date +%s)
	timeout 30 /usr/local/bin/firstmask >/dev/null
	dt=$(($(date +%s) - t0))
	check_true "a marked exec held by a SIGSTOPped pinnerd went on when the watchdog killed it" "${dt} s" \
		"[ $dt -ge 2 ] && [ $dt -le 10 ]"
	# (eventually gives up at once while pinnerd is not active: wait here.)
	i=0
	while [ $i -lt 100 ] && [ "$(systemctl is-active pinnerd)" != active ]; do
		sleep 0.3
		i=$((i + 1))
	done
	check_eq "pinnerd active again (Restart=on-failure)" active "$(systemctl is-active pinnerd 2>&1)"
	rm -f /etc/systemd/system/pinnerd.service.d/guarantee.conf
	rmdir /etc/systemd/system/pinnerd.service.d 2>/dev/null
	systemctl daemon-reload
	systemctl restart pinnerd
fi

# ------------------------------------------------------------------ 18. purge
step 18 "apt purge pinnerd leaves nothing behind"
systemctl stop pintest-a pintest-b pinned-test 2>/dev/null
info "pinnerd journal: $(jcount) records; events: $(journalctl --no-pager -u pinnerd -o verbose | sed -n 's/^[[:space:]]*PINNERD_EVENT=//p' | sort | uniq -c | tr -s ' \n' ' ')"
# An administrator's drop-in: purge means the configuration goes too.
printf '[rule:dropin]\ncomm = nothing-like-this\ncpus = 0\n' >/etc/pinnerd.d/local.conf
out=$(apt purge -y pinnerd 2>&1)
rc=$?
check_true "apt purge -y pinnerd (exit $rc)" "$(echo "$out" | grep -E '^(Purging|Removing|E:)' | tr '\n' ' ')" '[ $rc = 0 ]'
check_eq "dpkg-query status" "" "$(dpkg-query -W -f='${Status}' pinnerd 2>/dev/null)"
left=
for f in /usr/sbin/pinnerd /usr/bin/pinnerctl /etc/pinnerd.conf /etc/pinnerd.d /run/pinnerd "$prom" \
	/usr/lib/systemd/catalog/pinnerd.catalog /usr/share/bash-completion/completions/pinnerctl \
	/lib/systemd/system/pinnerd.service /usr/lib/systemd/system/pinnerd.service \
	/usr/lib/systemd/system/pinnerd-metrics.timer /lib/systemd/system/pinnerd-metrics.timer \
	/etc/systemd/system/multi-user.target.wants/pinnerd.service \
	/etc/systemd/system/timers.target.wants/pinnerd-metrics.timer \
	/var/lib/systemd/deb-systemd-helper-enabled/pinnerd.service.dsh-also \
	/var/lib/prometheus/node-exporter /usr/share/doc/pinnerd /usr/share/pinnerd; do
	[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done
check_eq "files left after purge" "" "$left"
check_eq "pinnerd processes after purge" "" "$(pgrep -x pinnerd)"
check_eq "systemctl is-active pinnerd after purge" inactive "$(systemctl is-active pinnerd 2>&1)"
n=$(journalctl --list-catalog 2>/dev/null | grep -c ' pinnerd: ')
check_eq "catalog entries after purge" 0 "$n"
finish
