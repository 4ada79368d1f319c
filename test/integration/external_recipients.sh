#!/bin/bash
# external_recipients.sh - recipients outside local_domains counted apart
# from internal ones (Microsoft 365's outbound presets, 500 external and
# 1,000 internal an hour), over the milter protocol: an account under its
# total recipient limit but over its external limit is refused, with a
# reply naming external recipients; its internal mail still flows. Both
# stores; the log line, the metric and sluicectl show/top.
. "$(dirname "$0")/lib.sh"
: "${SLUICECTL:?SLUICECTL must name the sluicectl binary}"
LUA="$(dirname "$0")/external.lua"
CONF=("local_domains example.test, .corp.example" 'class default {'
    '    messages            100/1h'
    '    recipients          100/1h' '    external_recipients 5/1h'
    '    internal_recipients 50/1h' '}')

# scrape PORT - the metrics page into $T/metrics.txt
scrape() {
	python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen("http://127.0.0.1:%s/metrics"
    % sys.argv[1], timeout=5).read().decode())' "$1" > "$T/metrics.txt"
}

# run_case NAME CONFIG... - the replay on one daemon
run_case() {
	name=$1
	shift
	write_config "$name" "$@" "${CONF[@]}"
	start_sluice "$name"
	miltertest_run "$name" "$LUA"
	expect_log "$name" 'eom login=alice@example\.test .* rcpts=1 .*rcpt/1h=5/100 ext_rcpt/1h=5/5 int_rcpt/1h=0/50 .*action=tempfail hits=external_recipients$' \
	    "$name: the 6th external recipient refused, logged with both counts"
	expect_log "$name" 'eom login=alice@example\.test .* rcpts=4 .*rcpt/1h=17/100 ext_rcpt/1h=5/5 int_rcpt/1h=12/50 .*action=accept' \
	    "$name: internal mail accepted after it (17 of 100 recipients)"
	expect_log "$name" 'eom login=alice@example\.test .* rcpts=2 .*ext_rcpt/1h=5/5 int_rcpt/1h=12/50 .*hits=external_recipients$' \
	    "$name: one external recipient in an internal message refused"
	expect_log "$name" 'eom login=bob@example\.test .*ext_rcpt/1h=5/5 .*action=accept' \
	    "$name: bob's external quota is his own"
	# what the client reads (sluice-bench's recipients are @dest.test)
	bench "$name" -c 1 -n 2 -r 3 --login carol@example.test
	expect_field accept 1 "$name: carol's first 3 external recipients"
	expect_field tempfail 1 "$name: the next 3 are over 5/1h"
	grep -q '451 4.7.1 Sending limit reached (5 external recipients per 1h); please try again in [0-9]* minutes' \
	    "$T/bench.out" || { cat "$T/bench.out"; fail "no 451 reply naming external recipients"; }
	pass "$name: the client reads: 451 4.7.1 Sending limit reached (5 external recipients per 1h)..."
}

# 1. memory store, with the metrics page
MPORT=$(free_port)
run_case mem "store memory" "metrics_listen 127.0.0.1:$MPORT"
scrape "$MPORT"
grep -qx 'sluice_detector_hits_total{detector="external_recipients"} 3' \
    "$T/metrics.txt" || { grep detector "$T/metrics.txt"; fail "metric"; }
pass "mem: sluice_detector_hits_total{detector=\"external_recipients\"} 3"
stop_sluice mem

# 2. redis store; sluicectl reads the same counters
port=$(redis_port)
P="t-ext-$$:"
run_case red "store redis" "redis_server 127.0.0.1:$port" "redis_prefix $P"
"$SLUICECTL" -c "$T/red.conf" show alice@example.test > "$T/ctl.out" ||
    fail "sluicectl show failed"
grep -Eq '^external +1h +5 +5$' "$T/ctl.out" &&
    grep -Eq '^internal +1h +16 +50$' "$T/ctl.out" ||
    { cat "$T/ctl.out"; fail "show: external 5/5, internal 16/50"; }
pass "sluicectl show: external 5 of 5, internal 16 of 50 in 1h"
"$SLUICECTL" -c "$T/red.conf" --json top > "$T/ctl.out" 2>&1 ||
    { cat "$T/ctl.out"; fail "sluicectl top failed"; }
got=$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print([(s["login"], s["recipients"], s["external_recipients"],
    s["internal_recipients"]) for s in d["senders"]][0])' "$T/ctl.out")
[ "$got" = "('alice@example.test', 21, 5, 16)" ] ||
    { cat "$T/ctl.out"; fail "top: alice $got"; }
pass "sluicectl top: alice 21 recipients, 5 external, 16 internal"
stop_sluice red
redis-cli -p "$port" --scan --pattern "$P*" | xargs -r redis-cli -p "$port" \
    DEL > /dev/null
echo "external_recipients: all passed"
