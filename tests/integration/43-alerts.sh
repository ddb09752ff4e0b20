#!/bin/bash
# What an operator alerts on, as it happens: a rejected reload turns
# pinnerd_config_last_reload_successful to 0 (its success timestamp stays),
# through the textfile collector's file too; the fix turns it back to 1. The
# shipped alerting rules (conf/pinnerd-alerts.yml) pass `promtool check
# rules`, their unit tests (tests/alerts/) pass `promtool test rules`, the
# exposition passes `promtool check metrics`, and PinnerdConfigReloadFailed
# fires on the very series this daemon exposed after the rejected reload.
# promtool is Debian's prometheus package; PROMTOOL= may point at one. Without
# it those parts are skipped with a note, the rest still runs.
. "$HERE/lib.sh"
need_root
REPO=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c 'import prometheus_client.parser' 2>/dev/null ||
        skip "needs python3-prometheus-client (make deps) to parse the exposition"

# VALUE NAME FILE: the value of an unlabelled sample, by a real parser.
value() {
        "$PY" - "$1" "$2" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
for f in text_string_to_metric_families(open(sys.argv[2]).read()):
    for s in f.samples:
        if s.name == sys.argv[1] and not s.labels:
            print(repr(s.value)); sys.exit(0)
sys.exit(1)
PY
}

write_conf "[rule:r43]
comm = nothing-like-this-43
cpus = 0"
start_daemon
ctl metrics >"$T/m0" || fail "metrics: exit $?"
expect_eq "$(value pinnerd_config_last_reload_successful "$T/m0")" 1.0 "last reload successful after start"
ok0=$(value pinnerd_config_last_reload_success_timestamp_seconds "$T/m0")
start=$(value pinnerd_start_time_seconds "$T/m0")
expect_eq "$ok0" "$start" "the success timestamp is the start's"
grep -q '^pinnerd_build_info{version="[0-9.]*"} 1$' "$T/m0" || fail "no build info: $(grep build_info "$T/m0")"

# ---- a broken edit, reloaded: rejected; the metric says so ----
sleep 1.1
write_conf "[rule:r43]
comm = nothing-like-this-43
cpu = 0"
ctl reload >"$T/out" 2>&1
expect_eq "$?" 1 "reload of a broken config: exit status"
ctl metrics >"$T/m1" || fail "metrics: exit $?"
expect_eq "$(value pinnerd_config_last_reload_successful "$T/m1")" 0.0 "last reload successful after a rejected reload"
expect_eq "$(value pinnerd_config_last_reload_success_timestamp_seconds "$T/m1")" "$ok0" \
        "the success timestamp stays at the last good load"
# JSON errors as {file, line, message}, for scripts.
ctl reload --json >"$T/reload.json"
expect_eq "$?" 1 "reload --json of a broken config: exit status"
"$PY" - "$T/reload.json" "$T/pinnerd.conf" <<'PY' || fail "reload --json: $(cat "$T/reload.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["reloaded"] is False and r["kept_previous_configuration"] is True, r
assert r["errors"][0] == {"file": sys.argv[2], "line": 1, "message": "[rule:r43] has no 'cpus' (or 'avoid')"}, r
assert r["errors"][1]["line"] == 3 and "did you mean 'cpus'" in r["errors"][1]["message"], r
PY
ok "a rejected reload: pinnerd_config_last_reload_successful 0, errors as {file, line, message}"

# ---- the same through the textfile collector's file (the unit's command) ----
cmd=$(sed -n "s/^ExecStart=\/bin\/sh -ec '\(.*\)'$/\1/p" "$REPO/systemd/pinnerd-metrics.service.in" |
        sed -e 's/\$\$/$/g' -e 's/%%/%/g')
mkdir "$T/textfile"
cmd=${cmd//\/var\/lib\/prometheus\/node-exporter/$T/textfile}
cmd=${cmd//@BINDIR@\/pinnerctl/$PINNERCTL --socket $SOCK}
sh -ec "$cmd" || fail "the unit's command failed: $cmd"
expect_eq "$(value pinnerd_config_last_reload_successful "$T/textfile/pinnerd.prom")" 0.0 \
        "pinnerd.prom says the last reload failed"

# ---- fixed: back to 1, a newer timestamp ----
write_conf "[rule:r43]
comm = nothing-like-this-43
cpus = 0"
ctl reload >/dev/null || fail "reload of the fixed config: exit $?"
ctl metrics >"$T/m2"
expect_eq "$(value pinnerd_config_last_reload_successful "$T/m2")" 1.0 "last reload successful after the fix"
ok2=$(value pinnerd_config_last_reload_success_timestamp_seconds "$T/m2")
"$PY" -c "import sys; sys.exit(not float('$ok2') > float('$ok0'))" || fail "success timestamp $ok2, not after $ok0"
ok "fixed: 1 again, success timestamp moved on"

# ---- promtool ----
PROMTOOL=${PROMTOOL:-$(command -v promtool)}
if [ -z "$PROMTOOL" ] || ! "$PROMTOOL" --version >/dev/null 2>&1; then
        echo "note: no promtool (Debian package prometheus, or PROMTOOL=); rules and alert tests not run"
        exit 0
fi
"$PROMTOOL" check rules "$REPO/conf/pinnerd-alerts.yml" || fail "promtool check rules conf/pinnerd-alerts.yml"
(cd "$REPO/tests/alerts" && "$PROMTOOL" test rules pinnerd-alerts-test.yml) || fail "promtool test rules"
"$PROMTOOL" check metrics <"$T/m1" || fail "promtool check metrics: the exposition has lint problems"
# The exposition after the rejected reload, as 20 minutes of a scrape that
# did not change, and the alert that must fire on it.
{
        printf 'rule_files:\n  - %s\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n' \
                "$REPO/conf/pinnerd-alerts.yml"
        grep -v '^#' "$T/m1" | grep -v '_bucket{' | sed 's/^\([^ {]*\)\({[^}]*}\)\{0,1\} \(.*\)$/\1\2 \3/' |
                awk '{ v = $NF; $NF = ""; sub(/ $/, ""); s = $0
                        if (index(s, "{")) sub(/{/, "{instance=\"h43\",", s); else s = s "{instance=\"h43\"}"
                        gsub(/\x27/, "\x27\x27", s)
                        printf "      - series: \x27%s\x27\n        values: \x27%sx20\x27\n", s, v }'
        printf '    alert_rule_test:\n'
        printf '      - {eval_time: 3m, alertname: PinnerdConfigReloadFailed, exp_alerts: []}\n'
        printf '      - eval_time: 10m\n        alertname: PinnerdConfigReloadFailed\n        exp_alerts:\n'
        printf '          - exp_labels: {severity: warning, instance: h43}\n'
} >"$T/live-test.yml"
"$PROMTOOL" test rules "$T/live-test.yml" >"$T/promtool.out" 2>&1 || true
# The annotations are left out of exp_alerts above, so promtool reports the
# 10m case with what fired; the 3m case (nothing yet) must pass.
grep -qF 'Labels:{alertname="PinnerdConfigReloadFailed", instance="h43", severity="warning"}' "$T/promtool.out" &&
        grep -qF 'summary="pinnerd rejected its configuration on h43"' "$T/promtool.out" ||
        fail "PinnerdConfigReloadFailed does not fire on the live series: $(cat "$T/promtool.out")"
grep -q 'time: 3m' "$T/promtool.out" && fail "PinnerdConfigReloadFailed fired before its 5 minutes: $(cat "$T/promtool.out")"
ok "promtool: rules valid, their tests pass, the metrics lint clean, and the alert fires on this daemon's series"
exit 0
