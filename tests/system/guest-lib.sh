# guest-lib.sh — helpers shared by the guest scripts (guest-test.sh, guest-topo.sh, guest-irq.sh, guest-numa.sh),
# sourced from the data disk. Every check prints "[STEP] PASS|FAIL what: what it saw";
# `finish` prints "N passed, N failed" and returns non-zero when anything failed.
# Expects $pintest (the pintest binary) to be set by the script, or uses the default.
pintest=${pintest:-/usr/local/bin/pintest}
export DEBIAN_FRONTEND=noninteractive
cur=0 passed=0 failed=0

step() {
	cur=$1
	shift
	echo
	echo "== $cur. $* (at $(cut -d' ' -f1 /proc/uptime) s)"
}
ok() {
	passed=$((passed + 1))
	echo "[$cur] PASS $*"
}
bad() {
	failed=$((failed + 1))
	echo "[$cur] FAIL $*"
}
info() { echo "[$cur] info: $*"; }
check_eq() { # WHAT EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then ok "$1: $3"; else bad "$1: expected '$2', saw '$3'"; fi
}
check_true() { # WHAT SAW 'SHELL CONDITION' (evaluated here)
	if eval "$3"; then ok "$1: $2"; else bad "$1: saw '$2'"; fi
}
check_contains() { # WHAT NEEDLE TEXT
	case $3 in
	*"$2"*) ok "$1: found '$2'" ;;
	*) bad "$1: no '$2' in: $(printf '%s' "$3" | tr '\n' '|' | cut -c1-600)" ;;
	esac
}
# eventually WHAT EXPECTED SECONDS CMD...: pinnerd acts on events, so poll; but not
# for long when pinnerd is not even running (a broken daemon fails fast, not in minutes).
eventually() {
	what=$1 want=$2 end=$(($(date +%s) + $3))
	shift 3
	while :; do
		got=$("$@" 2>&1)
		[ "$got" = "$want" ] && break
		[ "$(date +%s)" -lt "$end" ] || break
		if [ "$(systemctl is-active pinnerd)" != active ]; then
			got="$got (pinnerd is $(systemctl is-active pinnerd))"
			break
		fi
		sleep 0.3
	done
	check_eq "$what" "$want" "$got"
}
mask() { # TID: the affinity the kernel reports
	sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null || echo "no task $1"
}
tid_of() { # PID NAME: the thread of PID named NAME
	for t in /proc/"$1"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = "$2" ] && { basename "$t"; return 0; }
	done
	return 1
}
tmask() { # PID NAME: the mask of PID's thread NAME
	t=$(tid_of "$1" "$2") || { echo "no thread '$2' in pid $1"; return; }
	mask "$t"
}
main_pid() { systemctl show -p MainPID --value "$1"; }
start_pintest() { # UNIT [systemd-run options] -- NAME...: prints the pid once all threads are named
	unit=$1
	shift
	opts=
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts="$opts $1"; shift; done
	shift
	systemd-run --quiet --unit="$unit" $opts "$pintest" -s 900 "$@" || return 1
	i=0
	while [ $i -lt 300 ]; do # 30 s: 8 emulated CPUs on 2 host cores are slow
		p=$(main_pid "$unit")
		if [ "${p:-0}" != 0 ] && [ "$(ls "/proc/$p/task" 2>/dev/null | wc -l)" -gt "$#" ]; then
			# Created; and named (pthread_setname_np comes right after)?
			named=1
			for n in "$@"; do tid_of "$p" "$n" >/dev/null || named=0; done
			if [ "$named" = 1 ]; then
				echo "$p"
				return 0
			fi
		fi
		i=$((i + 1))
		sleep 0.1
	done
	return 1
}
# The transient units a script started ($units, which it adds to), and the
# configuration it rewrites ($conf, which it sets).
stop_units() {
	for u in $units; do systemctl stop "$u" 2>/dev/null; done
	systemctl reset-failed 2>/dev/null
	units=
}
reload_conf() { # WHAT: write stdin to $conf, reload, check the answer
	cat >"$conf"
	chown root:root "$conf" && chmod 0644 "$conf"
	out=$(pinnerctl reload 2>&1)
	rc=$?
	check_true "pinnerctl reload: $1 (exit $rc)" "$out" '[ $rc = 0 ]'
}
# jvalues RULE FIELD: the values of FIELD in pinnerd's journal records for RULE
jvalues() {
	journalctl --no-pager -u pinnerd "PINNERD_RULE=$1" -o verbose 2>/dev/null |
		sed -n "s/^[[:space:]]*$2=//p" | sort -u | tr '\n' ' ' | sed 's/ $//'
}
jhas() { # RULE FIELD VALUE: "yes", or the values seen
	v=$(jvalues "$1" "$2")
	case " $v " in *" $3 "*) echo yes ;; *) echo "values: ${v:-none}" ;; esac
}
jcount() { # MATCH...: number of pinnerd journal records matching
	journalctl --no-pager -u pinnerd "$@" -o cat 2>/dev/null | wc -l
}
finish() {
	echo
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
}
