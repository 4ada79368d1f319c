#!/bin/bash
# metrics.sh - the Prometheus page counts what the milter did: messages by
# verdict, detector hits, store calls, connections, reloads; with Redis
# down the breaker and fallback metrics move. Only loopback is accepted.
. "$(dirname "$0")/lib.sh"

# scrape PORT [PATH] - GET the page into $T/metrics.txt; HTTP status in $T/status
scrape() {
	python3 - "$1" "${2:-/metrics}" "$T/metrics.txt" "$T/status" <<'PY' ||
import sys, urllib.request, urllib.error
port, path, out, st = sys.argv[1:5]
try:
    r = urllib.request.urlopen("http://127.0.0.1:%s%s" % (port, path), timeout=10)
    code, body, ctype = r.status, r.read(), r.headers.get("Content-Type", "")
except urllib.error.HTTPError as e:
    code, body, ctype = e.code, e.read(), ""
open(out, "wb").write(body)
open(st, "w").write("%d %s\n" % (code, ctype))
PY
	    fail "cannot reach the metrics page on 127.0.0.1:$1"
}

# metric SAMPLE - the value of one sample ("name" or 'name{label="v"}')
metric() {
	awk -v s="$1" '$1 == s { print $2; found = 1 } END { if (!found) print "missing" }' \
	    "$T/metrics.txt"
}

# expect_metric SAMPLE VALUE WHAT
expect_metric() {
	got=$(metric "$1")
	[ "$got" = "$2" ] || { cat "$T/metrics.txt" >&2;
	    fail "$3: $1 = $got, expected $2"; }
	pass "$3: $1 = $2"
}

# metric_is SAMPLE VALUE - for wait_until
metric_is() {
	scrape "$MPORT" && [ "$(metric "$1")" = "$2" ]
}

# 0. the page is never offered to the network
write_config open "metrics_listen 0.0.0.0:9188"
if "$SLUICE" -n -c "$T/open.conf" > "$T/open.out" 2>&1; then
	fail "metrics_listen 0.0.0.0 was accepted"
fi
grep -q "open.conf:4: metrics_listen: 0.0.0.0 is not a loopback address" \
    "$T/open.out" || { cat "$T/open.out" >&2; fail "no file:line error"; }
pass "a non-loopback metrics_listen is refused with file:line"

# 1. memory store: 12 messages of one login, limit 5/1h, 3 recipients
# each and at most 2 per message
MPORT=$(free_port)
write_config mem "metrics_listen 127.0.0.1:$MPORT" 'class default {' \
    'messages 5/1h' 'max_recipients 2' '}'
start_sluice mem
wait_until 10 "metrics page did not come up" scrape "$MPORT"
grep -q '^200 text/plain; version=0.0.4' "$T/status" ||
    fail "page served as $(cat "$T/status")"
pass "GET /metrics: 200, text/plain; version=0.0.4"
expect_metric 'sluice_messages_total{verdict="accept"}' 0 "nothing sent yet"
grep -q "^sluice_build_info{version=\"[0-9.]*\"} 1$" "$T/metrics.txt" ||
    fail "no build info"
pass "build info"

bench mem -c 1 -n 12 -r 3 --login over@example.test
expect_field accept 5 "bench: 5 accepted"
expect_field tempfail 7 "bench: 7 refused"
scrape "$MPORT"
expect_metric 'sluice_messages_total{verdict="accept"}' 5 "accepted messages"
expect_metric 'sluice_messages_total{verdict="tempfail"}' 7 "refused messages"
expect_metric 'sluice_messages_total{verdict="reject"}' 0 "no rejects"
expect_metric 'sluice_detector_hits_total{detector="messages"}' 7 \
    "the messages limit fired 7 times"
expect_metric 'sluice_detector_hits_total{detector="max_recipients"}' 5 \
    "one recipient over max_recipients in each of the 5 accepted"
# 12 checks at MAIL, 5 charges at end of message
expect_metric 'sluice_store_call_seconds_count' 17 "store calls timed"
expect_metric 'sluice_store_call_seconds_bucket{le="+Inf"}' 17 \
    "histogram +Inf bucket = count"
expect_metric 'sluice_store_errors_total' 0 "no store errors"
expect_metric 'sluice_breaker_state' 0 "memory store: breaker closed"
expect_metric 'sluice_connections_total' 1 "one milter connection"
wait_until 10 "connection gauge did not go back to 0" \
    metric_is sluice_connections 0
pass "connection gauge back to 0 after the client left"

scrape "$MPORT" /other
grep -q '^404' "$T/status" || fail "GET /other: $(cat "$T/status")"
pass "GET /other: 404"

# reloads: one good, one refused
kill -USR1 "$PID_mem"
wait_until 10 "reload not counted" metric_is \
    'sluice_config_reloads_total{result="ok"}' 1
pass "a reload is counted"
echo "mode bogus" >> "$T/mem.conf"
kill -USR1 "$PID_mem"
wait_until 10 "refused reload not counted" metric_is \
    'sluice_config_reloads_total{result="error"}' 1
pass "a refused reload is counted"

# the port is taken: a second sluice says so and stops
write_config dup "metrics_listen 127.0.0.1:$MPORT"
rc=0
timeout 30 "$SLUICE" -f -c "$T/dup.conf" > "$T/dup.log" 2>&1 || rc=$?
[ "$rc" = 69 ] || fail "second sluice on a taken metrics port: exit $rc, expected 69"
grep -q "metrics_listen 127.0.0.1:$MPORT: cannot listen" "$T/dup.log" ||
    fail "no log line about the taken metrics port"
pass "a taken metrics port stops sluice at start (exit 69, logged)"
stop_sluice mem

# 1b. the kill switch: a login refused too often is locked, once
MPORT=$(free_port)
write_config lock "metrics_listen 127.0.0.1:$MPORT" "lock_after 3/1h" \
    'class default {' 'messages 2/1h' '}'
start_sluice lock
wait_until 10 "metrics page did not come up" scrape "$MPORT"
bench lock -c 1 -n 10 --login hijacked@example.test
expect_field accept 2 "lock: 2 accepted"
scrape "$MPORT"
expect_metric sluice_locks_total 1 "the login was locked once"
expect_metric 'sluice_messages_total{verdict="accept"}' 2 "lock: accepted"
expect_metric 'sluice_messages_total{verdict="tempfail"}' 8 "lock: refused"
locked=$(metric 'sluice_detector_hits_total{detector="locked"}')
[ "$locked" != missing ] && [ "$locked" -ge 1 ] ||
    fail "no refusal counted as locked ($locked)"
pass "refusals of the locked login counted: $locked"
stop_sluice lock

# 1c. every detector under its own label: near, clients and from were
# counted as detector="other"; fanout and repeats beside them
MPORT=$(free_port)
write_config det "metrics_listen 127.0.0.1:$MPORT" "identity_action reject" \
    "near_action tempfail" "repeats_action tempfail" 'class default {' \
    'messages 1000/1h' 'recipients 100000/1h' 'near_repeats 3/1h' \
    'client_addresses 2/1h' 'repeats 2/1h' 'max_header_recipients 10' '}'
start_sluice det
wait_until 10 "metrics page did not come up" scrape "$MPORT"
# near: 3 variants of one text pass, 3 more are refused
miltertest_run det "$(dirname "$0")/near.lua" limit=3 login=near@example.test
# clients: one login from 4 addresses, client_addresses 2/1h
bench det -c 1 -n 4 --per-connection 1 --client-addrs 4 --vary-body \
    --login roaming@example.test
expect_field tempfail 2 "clients: the 3rd and 4th address refused"
# from: sluice-bench's own From: and one more (2 From: headers)
bench det -c 1 -n 1 --login mallory@example.test --vary-body \
    --header 'From: ceo@victim.example'
expect_field reject 1 "from: two From: headers refused"
# repeats: one body 3 times, repeats 2/1h; fanout: 11 To: addresses
bench det -c 1 -n 3 --login repeater@example.test -b 1000
expect_field tempfail 1 "repeats: the 3rd copy refused"
bench det -c 1 -n 1 --login wide@example.test -t 11 --vary-body
expect_field reject 1 "fanout: 11 To: addresses refused"
scrape "$MPORT"
expect_metric 'sluice_detector_hits_total{detector="near"}' 3 \
    "near hits under detector=near"
expect_metric 'sluice_detector_hits_total{detector="clients"}' 2 \
    "clients hits under detector=clients"
expect_metric 'sluice_detector_hits_total{detector="from"}' 1 \
    "from hits under detector=from"
expect_metric 'sluice_detector_hits_total{detector="repeats"}' 1 \
    "repeats hits under detector=repeats"
expect_metric 'sluice_detector_hits_total{detector="fanout"}' 1 \
    "fanout hits under detector=fanout"
grep -q 'detector="other"' "$T/metrics.txt" && { cat "$T/metrics.txt" >&2;
    fail "a detector=\"other\" label is left"; }
pass "no hit is counted as detector=\"other\""
stop_sluice det

# 2. Redis up, then killed: breaker and fallback metrics move; back up:
# the breaker closes again
rport=$(free_port)
trap 'stop_redis 2>/dev/null; cleanup' EXIT
start_redis
MPORT=$(free_port)
write_config red "metrics_listen [::1]:$MPORT" "store redis" \
    "redis_server 127.0.0.1:$rport" "store_fallback local" \
    "breaker_failures 3" "breaker_cooldown 1s" "early_check_cache 0" \
    'class default {' 'messages 100/1h' '}'
if ! python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
	# no IPv6 loopback on this host: the v4 one
	write_config red "metrics_listen 127.0.0.1:$MPORT" "store redis" \
	    "redis_server 127.0.0.1:$rport" "store_fallback local" \
	    "breaker_failures 3" "breaker_cooldown 1s" "early_check_cache 0" \
	    'class default {' 'messages 100/1h' '}'
	SCRAPE_HOST=127.0.0.1
fi
start_sluice red
scrape6() {
	python3 - "$MPORT" "$T/metrics.txt" "${SCRAPE_HOST:-::1}" <<'PY'
import sys, urllib.request
port, out, host = sys.argv[1:4]
h = "[%s]" % host if ":" in host else host
open(out, "wb").write(urllib.request.urlopen("http://%s:%s/metrics" % (h, port), timeout=10).read())
PY
}
metric_is() {
	scrape6 && [ "$(metric "$1")" = "$2" ]
}
wait_until 10 "metrics page on ${SCRAPE_HOST:-[::1]} did not come up" scrape6
bench red -c 1 -n 10 -l 2
expect_field accept 10 "redis up"
scrape6
expect_metric sluice_store_errors_total 0 "redis up: no store errors"
expect_metric sluice_store_fallback_total 0 "redis up: no fallback"
expect_metric sluice_breaker_state 0 "redis up: breaker closed"
stop_redis
bench red -c 1 -n 10 -l 2
expect_field accept 10 "redis down: local fallback accepts"
scrape6
errs=$(metric sluice_store_errors_total)
[ "$errs" != missing ] && [ "$errs" -ge 3 ] ||
    fail "redis down: sluice_store_errors_total = $errs, expected >= 3"
pass "redis down: sluice_store_errors_total = $errs (>= breaker_failures 3)"
# every call of the 10 messages (MAIL and end of message) by the fallback
# (early_check_cache 0: every MAIL is checked)
expect_metric sluice_store_fallback_total 20 "redis down: fallback answers"
expect_metric sluice_breaker_state 1 "redis down: breaker open"
opened=$(metric sluice_breaker_opened_total)
[ "$opened" != missing ] && [ "$opened" -ge 1 ] ||
    fail "sluice_breaker_opened_total = $opened"
pass "breaker opened $opened time(s)"
start_redis
# after the cooldown one message probes Redis and closes the breaker
probe_closed() {
	"$SLUICE_BENCH" -s "$(sock_of red)" -q -c 1 -n 1 -l 1 >/dev/null 2>&1 &&
	    metric_is sluice_breaker_state 0
}
wait_until 20 "breaker did not close after Redis came back" probe_closed
pass "redis back: sluice_breaker_state = 0"
stop_sluice red
echo "metrics: all passed"
