#!/bin/bash
# ops_contrib.sh - contrib/prometheus and contrib/grafana against the
# running daemon: the alert rules pass "promtool check rules" and their
# unit tests ("promtool test rules": input series, expected alerts); the
# live /metrics page passes "promtool check metrics"; every metric the
# rules and the dashboard name, and every detector the rules match, is
# on that page; the dashboard is valid JSON whose every panel queries.
. "$(dirname "$0")/lib.sh"

command -v promtool > /dev/null 2>&1 || sh "$SLUICE_SRC/scripts/deps.sh" >&2 ||
    fail "scripts/deps.sh could not install promtool (package prometheus)"
command -v promtool > /dev/null 2>&1 || fail "promtool not found"
PROM=$SLUICE_SRC/contrib/prometheus
DASH=$SLUICE_SRC/contrib/grafana/sluice.json

# 1. the rules
promtool check rules "$PROM/sluice.rules.yml" > "$T/check-rules.log" 2>&1 ||
    fail "promtool check rules"
pass "promtool check rules: $(grep -o '[0-9]* rules found' "$T/check-rules.log")"
(cd "$PROM" && promtool test rules sluice.rules.test.yml) > "$T/test-rules.log" 2>&1 ||
    fail "promtool test rules sluice.rules.test.yml"
pass "promtool test rules: $(grep -c 'alertname:' "$PROM/sluice.rules.test.yml") expectations on $(grep -c -- '- interval:' "$PROM/sluice.rules.test.yml") cases hold"

# 2. the dashboard: JSON, each panel with a query; the queries' text
python3 - "$DASH" "$T/dash.exprs" <<'PY' || fail "contrib/grafana/sluice.json is not a dashboard"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["title"] and d["panels"], "no title or panels"
out = open(sys.argv[2], "w")
for p in d["panels"]:
    ex = [t["expr"] for t in p.get("targets", []) if t.get("expr")]
    assert ex, "panel %r has no query" % p["title"]
    for e in ex:
        out.write(e + "\n")
PY
pass "contrib/grafana/sluice.json: $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["panels"]))' "$DASH") panels, each with a query"

# 3. the live page of a daemon that refused and accepted mail
MPORT=$(free_port)
: > "$T/mail.log"	# a feedback reader on: its metrics are on the page
write_config m "metrics_listen 127.0.0.1:$MPORT" "feedback_log $T/mail.log" \
    "feedback_state $T/feedback.pos" 'class default {' 'messages 2/1h' '}'
start_sluice m
"$SLUICE_BENCH" -s "$(sock_of m)" -c 1 -n 4 -r 1 --login ops@example.test \
    > "$T/bench.out" 2>&1 || { cat "$T/bench.out"; fail "sluice-bench"; }
python3 - "$MPORT" "$T/metrics.txt" <<'PY' || fail "cannot read the metrics page"
import sys, urllib.request
r = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=10)
open(sys.argv[2], "wb").write(r.read())
PY
grep -q '^sluice_messages_total{verdict="tempfail"} 2$' "$T/metrics.txt" ||
    { cat "$T/metrics.txt"; fail "the page does not count the 2 refused messages"; }
promtool check metrics < "$T/metrics.txt" > "$T/check-metrics.log" 2>&1 ||
    { cat "$T/check-metrics.log"; fail "promtool check metrics on the live page"; }
pass "promtool check metrics: the live /metrics page has no problem"

# 4. every name the rules and the dashboard use is exported
sed 's/[{ ].*//' "$T/metrics.txt" | grep '^sluice_' | sort -u > "$T/exported"
grep -ho 'sluice_[a-z0-9_]*' "$PROM/sluice.rules.yml" "$T/dash.exprs" |
    sort -u > "$T/named"
missing=$(comm -23 "$T/named" "$T/exported")
[ -z "$missing" ] || { cat "$T/exported"; fail "named but not exported: $missing"; }
pass "all $(wc -l < "$T/named") metric names of the rules and the dashboard are exported: $(tr '\n' ' ' < "$T/named")"
sed -n 's/^sluice_detector_hits_total{detector="\([^"]*\)"}.*/\1/p' \
    "$T/metrics.txt" | sort -u > "$T/detectors"
grep -ho 'detector=~"[^"]*"' "$PROM/sluice.rules.yml" "$T/dash.exprs" |
    sed 's/detector=~"//; s/"$//' | tr '|' '\n' | sort -u > "$T/named-detectors"
missing=$(comm -23 "$T/named-detectors" "$T/detectors")
[ -z "$missing" ] || fail "detectors the rules match that the page does not have: $missing"
pass "the $(wc -l < "$T/named-detectors") detectors the rules match are labels on the page"
stop_sluice m
echo "ops_contrib: all passed"
