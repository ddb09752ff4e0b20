#!/bin/bash
# pinnerctl metrics against the real daemon, read by a real Prometheus text
# parser (python3-prometheus-client): every SPEC name with HELP and TYPE, the
# counters equal status's, per-rule thread gauges with the rule names as they
# are, the event-to-pin histogram filled by processes pinned from their exec
# event, no pid/tid labels, allowed to anyone. Then the command of
# pinnerd-metrics.service: an atomic write, and a failure that keeps the old file.
. "$HERE/lib.sh"
need_root
need_cpus 2
# Debian's python3, where the package puts the module (PATH may have another).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c 'import prometheus_client.parser' 2>/dev/null ||
        skip "needs python3-prometheus-client (make deps) to parse the exposition"
REPO=$(cd "$HERE/../.." && pwd)

name=$(unique_comm m)
cp /bin/sleep "$T/$name"
# Punctuation config allows in a rule name, to see it through the label unchanged.
write_conf "[rule:m42.a:b@c-d]
comm = $name
cpus = 1
[rule:m42-idle]
comm = ${name}zz
cpus = 0"
start_daemon

# Started after the daemon: pinned from their exec events.
pids=()
for i in 1 2 3; do
        "$T/$name" 60 &
        pids+=($!)
        cleanup_add "kill $!"
done
for p in "${pids[@]}"; do wait_mask "$p" 1; done

ctl metrics >"$T/metrics" 2>"$T/err" || fail "pinnerctl metrics exited $?: $(cat "$T/err")"
ctl status --json >"$T/status.json" || fail "status --json"
cat >"$T/check.py" <<'PY'
import json, sys
from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1], encoding="utf-8").read()
status = json.load(open(sys.argv[2]))
fams = {f.name: f for f in text_string_to_metric_families(text)}
def fail(msg):
    print("FAIL: " + msg); sys.exit(1)

# The parser names counter families without _total.
want = {
    "pinnerd_events": ("counter", "events"),
    "pinnerd_lost_event_rescans": ("counter", "lost_event_rescans"),
    "pinnerd_rescans": ("counter", "rescans"),
    "pinnerd_applied": ("counter", "applied"),
    "pinnerd_restored": ("counter", "restored"),
    "pinnerd_skipped": ("counter", "skipped"),
    "pinnerd_failed": ("counter", "failed"),
    "pinnerd_drift": ("counter", "drift"),
    "pinnerd_managed_threads": ("gauge", None),
    "pinnerd_rule_threads": ("gauge", None),
    "pinnerd_rule_outcomes": ("counter", None),
    "pinnerd_event_to_pin_seconds": ("histogram", None),
    "pinnerd_memory_pages_moved": ("counter", None),
    "pinnerd_memory_pages_unmovable": ("counter", None),
    "pinnerd_memory_move_seconds": ("counter", None),
    "pinnerd_build_info": ("gauge", None),
    "pinnerd_start_time_seconds": ("gauge", None),
    "pinnerd_config_last_reload_successful": ("gauge", None),
    "pinnerd_config_last_reload_success_timestamp_seconds": ("gauge", None),
    "pinnerd_event_source": ("gauge", None),
    "pinnerd_drift_events_source": ("gauge", None),
}
if set(fams) != set(want):
    fail("families %s, expected %s" % (sorted(fams), sorted(want)))
for n, (typ, key) in want.items():
    f = fams[n]
    if f.type != typ: fail("%s is %s, expected %s" % (n, f.type, typ))
    if not f.documentation: fail("%s has no HELP" % n)
    for s in f.samples:
        if set(s.labels) & {"pid", "tid"}: fail("%s has a pid/tid label" % s.name)
    if key:
        (s,) = [s for s in f.samples if s.name == n + "_total"]
        # Events go on arriving between the two reads: only that there are some.
        if key == "events":
            if not s.value > 0: fail("events %s" % s.value)
        elif s.value != status["counters"][key]:
            fail("%s_total %s, status says %s" % (n, s.value, status["counters"][key]))
# No rule here moves memory: nothing moved, every reason present and 0.
unmovable = {s.labels["reason"]: s.value for s in fams["pinnerd_memory_pages_unmovable"].samples if s.name.endswith("_total")}
if unmovable != {"shared": 0, "busy": 0, "no-memory": 0, "other": 0}: fail("memory_pages_unmovable %s" % unmovable)
for n in ("pinnerd_memory_pages_moved", "pinnerd_memory_move_seconds"):
    if [s.value for s in fams[n].samples if s.name.endswith("_total")] != [0]: fail("%s %s" % (n, fams[n].samples))
# What an operator alerts on.
import time
(b,) = fams["pinnerd_build_info"].samples
if b.value != 1 or b.labels.get("version") != status["version"]: fail("build_info %s" % (b,))
start = fams["pinnerd_start_time_seconds"].samples[0].value
if not time.time() - 600 < start <= time.time(): fail("start_time_seconds %s" % start)
if fams["pinnerd_config_last_reload_successful"].samples[0].value != 1: fail("last reload not successful")
ok_at = fams["pinnerd_config_last_reload_success_timestamp_seconds"].samples[0].value
if not start <= ok_at <= time.time(): fail("last reload success at %s, started %s" % (ok_at, start))
src = {s.labels["source"]: s.value for s in fams["pinnerd_event_source"].samples}
if src != {"proc-connector": 1, "polling": 0}: fail("event_source %s" % src)
drift = {s.labels["source"]: s.value for s in fams["pinnerd_drift_events_source"].samples}
if sorted(drift.values()) != [0] * (len(drift) - 1) + [1] or drift.get(status["drift_events"]) != 1:
    fail("drift_events_source %s, status says %s" % (drift, status["drift_events"]))
# Outcomes per rule: every rule and outcome, summing to the totals.
out = {}
for s in fams["pinnerd_rule_outcomes"].samples:
    if s.name.endswith("_total"): out[(s.labels["rule"], s.labels["outcome"])] = s.value
for o in ("applied", "restored", "skipped", "failed", "drift"):
    for r in ("m42.a:b@c-d", "m42-idle"):
        if (r, o) not in out: fail("no rule_outcomes for %s %s" % (r, o))
    if sum(v for (r, oo), v in out.items() if oo == o) != status["counters"][o]:
        fail("rule_outcomes %s do not sum to %s_total" % (o, o))
if out[("m42.a:b@c-d", "applied")] != 3: fail("applied for m42.a:b@c-d: %s" % out[("m42.a:b@c-d", "applied")])
rules = {s.labels["rule"]: s.value for s in fams["pinnerd_rule_threads"].samples}
if rules != {"m42.a:b@c-d": 3, "m42-idle": 0}: fail("rule_threads %s" % rules)
if fams["pinnerd_managed_threads"].samples[0].value != 3: fail("managed_threads %s" % fams["pinnerd_managed_threads"].samples)
h = fams["pinnerd_event_to_pin_seconds"].samples
buckets = [(float(s.labels["le"]), s.value) for s in h if s.name.endswith("_bucket")]
count = [s.value for s in h if s.name.endswith("_count")][0]
total = [s.value for s in h if s.name.endswith("_sum")][0]
if buckets != sorted(buckets): fail("buckets not ascending")
if any(b[1] < a[1] for a, b in zip(buckets, buckets[1:])): fail("buckets not cumulative: %s" % buckets)
if buckets[-1] != (float("inf"), count): fail("+Inf bucket %s, count %s" % (buckets[-1], count))
if count < 3: fail("histogram count %s, expected at least the 3 execs" % count)
if not 0 < total < 10 * count: fail("histogram sum %s for %s observations" % (total, count))
if buckets[0][0] != 1e-05 or buckets[-2][0] != 10: fail("bucket bounds %s" % [b[0] for b in buckets])
print("parsed: %d families, %d event-to-pin observations, mean %.0f us" % (len(fams), count, total / count * 1e6))
PY
"$PY" "$T/check.py" "$T/metrics" "$T/status.json" || fail "the exposition: $(head -c 3000 "$T/metrics")"
ok "prometheus_client parses it: names, types, HELP, values as status says"

# Anyone may ask; --json gives the same numbers.
setpriv --reuid=65534 --regid=65534 --clear-groups "$PINNERCTL" --socket "$SOCK" metrics >"$T/nobody" 2>&1 ||
        fail "metrics as uid 65534: exit $?: $(cat "$T/nobody")"
grep -q '^pinnerd_rule_threads{rule="m42.a:b@c-d"} 3$' "$T/nobody" || fail "metrics as uid 65534: $(head -n 40 "$T/nobody")"
ok "metrics is allowed to anyone"
ctl metrics --json >"$T/metrics.json" || fail "metrics --json: exit $?"
"$PY" - "$T/metrics.json" <<'PY' || fail "metrics --json: $(cat "$T/metrics.json")"
import json, sys
m = json.load(open(sys.argv[1]))
r = {x["name"]: x for x in m["rules"]}
assert m["config_last_reload_successful"] is True and m["event_source"] == "proc-connector", m
assert r["m42.a:b@c-d"]["threads"] == 3 and r["m42.a:b@c-d"]["outcomes"]["applied"] == 3, r
assert r["m42-idle"]["threads"] == 0, r
assert m["event_to_pin_seconds"]["buckets"][-1] == {"le": "+Inf", "count": m["event_to_pin_seconds"]["count"]}, m
PY
ok "metrics --json: the same numbers as one JSON document"
ctl metrics extra >/dev/null 2>&1
expect_eq "$?" 2 "metrics with an argument: usage error"

# The unit's command, pointed at this test's directory and daemon.
cmd=$(sed -n "s/^ExecStart=\/bin\/sh -ec '\(.*\)'$/\1/p" "$REPO/systemd/pinnerd-metrics.service.in" |
        sed -e 's/\$\$/$/g' -e 's/%%/%/g')
[ -n "$cmd" ] || fail "no ExecStart=/bin/sh -ec '...' in systemd/pinnerd-metrics.service.in"
mkdir "$T/textfile"
cmd=${cmd//\/var\/lib\/prometheus\/node-exporter/$T/textfile}
cmd=${cmd//@BINDIR@\/pinnerctl/$PINNERCTL --socket $SOCK}
sh -ec "$cmd" || fail "the unit's command failed: $cmd"
f=$T/textfile/pinnerd.prom
[ -f "$f" ] || fail "no $f"
expect_eq "$(stat -c %a "$f")" 644 "pinnerd.prom is readable by node_exporter"
"$PY" "$T/check.py" "$f" "$T/status.json" >/dev/null || fail "pinnerd.prom does not parse: $(cat "$f")"
grep -q '^pinnerd_event_to_pin_seconds_count ' "$f" || fail "pinnerd.prom: $(cat "$f")"
expect_eq "$(ls -A "$T/textfile")" "pinnerd.prom" "only pinnerd.prom in the directory (no temporary file left)"
before=$(md5sum <"$f")
stop_daemon
if sh -ec "$cmd" 2>/dev/null; then fail "the unit's command succeeded without a daemon"; fi
expect_eq "$(md5sum <"$f")" "$before" "without a daemon the old pinnerd.prom stays whole"
expect_eq "$(ls -A "$T/textfile")" "pinnerd.prom" "and no temporary file is left"
exit 0
