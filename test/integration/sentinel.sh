#!/bin/bash
# sentinel.sh - Redis Sentinel: a primary, a replica and 3 sentinels on
# loopback; sluice finds the primary through the sentinels, follows a
# failover made while traffic runs (no protocol error, a log line, new
# messages counted on the new primary), and the limit holds across it:
# accepted <= limit + what the fallback admitted + what the failover lost
# (replication is asynchronous). Prints the measured stall and fallback use.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sentinel_lib.sh"
: "${SLUICECTL:?SLUICECTL must name the sluicectl binary}"
LIMIT=400
CAPPED=capped@example.test
KILLED=killed@example.test
AFTER=after@example.test

trap 'touch "$T/stop"; stop_all; cleanup' EXIT

sentinel_topology
pass "primary :$p1, replica :$p2, 3 sentinels with quorum 2"

write_config sen "store redis" \
    "redis_sentinels 127.0.0.1:1, 127.0.0.1:$s1, 127.0.0.1:$s2 127.0.0.1:$s3" \
    "redis_sentinel_master mymaster" "redis_server 127.0.0.1:1" \
    "redis_connect_timeout 200ms" "redis_command_timeout 500ms" \
    "store_fallback local" "breaker_failures 3" "breaker_cooldown 1s" \
    'class default {' "messages $LIMIT/1h" '}'
start_sluice sen
bench sen -c 2 -n 20 -r 1 --login warmup@example.test
expect_field accept 20 "traffic through the sentinels' primary"
expect_log sen "redis: primary of mymaster is 127\.0\.0\.1:$p1" \
    "the primary found through the sentinels is logged"
[ "$(sum_msg "$p1" warmup@example.test)" = 20 ] ||
    fail "not counted on the primary"
pass "counted on the primary :$p1 (redis_server is not used)"

# traffic_start LOGIN - messages of LOGIN in small runs, in the
# background, until traffic_stop; one JSON line per run in $T/LOGIN.out
traffic_start() {
	rm -f "$T/stop"
	(
		while [ ! -e "$T/stop" ]; do
			"$SLUICE_BENCH" -s "$(sock_of sen)" --json -q -c 2 \
			    -n 20 -r 1 --login "$1" >> "$T/$1.out" 2>&1 ||
			    echo '{"bench_failed":1}' >> "$T/$1.out"
			sleep 0.1
		done
	) &
	traffic=$!
	PIDS="$PIDS $traffic"
}
traffic_stop() {
	touch "$T/stop"
	wait "$traffic" || true
}
# runs LOGIN - bench runs done so far
runs() {
	n=$(grep -c '^{' "$T/$1.out" 2>/dev/null || true)
	echo "${n:-0}"
}
# has_runs LOGIN N - have N runs been done?
has_runs() {
	[ "$(runs "$1")" -ge "$2" ]
}
# sumf LOGIN KEY MAX - sum (MAX=0) or maximum (MAX=1) of KEY over the runs
sumf() {
	grep '^{' "$T/$1.out" | sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" |
	    awk -v m="$3" '{ if (m) { if ($1 > s) s = $1 } else s += $1 }
	    END { printf "%d\n", s }'
}
# accepted LOGIN - messages of LOGIN accepted so far
accepted() {
	sumf "$1" accept 0
}
# traffic_report WHAT LOGIN PORT - assert and print what the failover did
traffic_report() {
	what=$1 login=$2 port=$3
	grep -q bench_failed "$T/$login.out" &&
	    fail "$what: a sluice-bench run failed: $(grep -v '^{' "$T/$login.out" | head -3)"
	sent=$(sumf "$login" transactions 0); acc=$(accepted "$login")
	errs=$(sumf "$login" errors 0); stall=$(sumf "$login" max_ms 1)
	[ "$errs" = 0 ] || fail "$what: $errs protocol errors"
	pass "$what: no protocol errors in $sent messages, $acc accepted"
	fb=$(grep -c "login=$login .*store=local-fallback" "$T/sen.log" || true)
	fba=$(grep "login=$login .*store=local-fallback" "$T/sen.log" |
	    grep -c ': eom .*action=accept' || true)
	pacc=$(grep "login=$login " "$T/sen.log" | grep -v 'store=' |
	    grep -c ': eom .*action=accept' || true)
	newc=$(sum_msg "$port" "$login")
	lost=$((pacc - newc))
	grep -q "login=$login .*action=tempfail hits=messages" "$T/sen.log" ||
	    fail "$what: the limit was never reached"
	[ "$newc" -le "$LIMIT" ] ||
	    fail "$what: the new primary counted $newc > limit $LIMIT"
	[ "$lost" -ge 0 ] || fail "$what: double charge: $newc counted on" \
	    "the new primary, only $pacc accepted by it"
	[ "$acc" -le $((LIMIT + fba + lost)) ] || fail "$what: over-admission:" \
	    "$acc accepted > $LIMIT + $fba (fallback) + $lost (lost)"
	pass "$what: no over-admission: $acc accepted <= limit $LIMIT + $fba by the fallback + $lost lost"
	echo "FIGURES $what: longest stall $stall ms; $fb decisions by the fallback ($fba accepted); $lost accepted counts lost (asynchronous replication); $newc counted on the new primary"
}

# 1. SENTINEL FAILOVER while traffic runs, before the limit is reached
traffic_start "$CAPPED"
wait_until 30 "no traffic" has_runs "$CAPPED" 5
[ "$(accepted "$CAPPED")" -lt "$LIMIT" ] || fail "the limit was reached before the failover: lower the rate"
t0=$(date +%s%N)
redis-cli -p "$s2" SENTINEL FAILOVER mymaster | grep -q OK ||
    fail "SENTINEL FAILOVER was refused"
wait_until 30 "sluice did not follow the failover" grep -Eq \
    "redis: primary of mymaster moved to 127\.0\.0\.1:$p2 \(was 127\.0\.0\.1:$p1\)" \
    "$T/sen.log"
pass "sluice follows the new primary :$p2 ($(( ($(date +%s%N) - t0) / 1000000 )) ms after SENTINEL FAILOVER)"
[ "$(accepted "$CAPPED")" -lt "$LIMIT" ] || echo "note: the limit was reached during the switch"
wait_until 60 "the limit was not reached after the failover" grep -q \
    "login=$CAPPED .*action=tempfail hits=messages" "$T/sen.log"
traffic_stop
traffic_report failover "$CAPPED" "$p2"

# 2. the new primary is killed while traffic runs: the old one, demoted
# to its replica meanwhile, is promoted back
wait_until 30 "the old primary was not made a replica" sh -c \
    "redis-cli -p $p1 INFO replication | grep -q master_link_status:up"
wait_until 30 "the sentinels do not see the old primary as a replica" sh -c \
    "redis-cli -p $s1 SENTINEL replicas mymaster | grep -q '^$p1\$'"
traffic_start "$KILLED"
wait_until 30 "no traffic" has_runs "$KILLED" 5
t0=$(date +%s%N)
kill -9 "$(cat "$T/replica.pid")"
wait_until 30 "sluice did not follow the promotion" grep -Eq \
    "redis: primary of mymaster moved to 127\.0\.0\.1:$p1 \(was 127\.0\.0\.1:$p2\)" \
    "$T/sen.log"
pass "sluice follows the promoted replica :$p1 ($(( ($(date +%s%N) - t0) / 1000000 )) ms after the primary died)"
wait_until 60 "the limit was not reached after the promotion" grep -q \
    "login=$KILLED .*action=tempfail hits=messages" "$T/sen.log"
traffic_stop
traffic_report kill "$KILLED" "$p1"
p2=$p1

# after the failover: counted on the new primary, nothing on the old one
bench sen -c 2 -n 30 -r 1 --login "$AFTER"
expect_field accept 30 "after the failover"
expect_field errors 0 "after the failover: no protocol errors"
[ "$(sum_msg "$p2" "$AFTER")" = 30 ] || fail "after the failover: $(sum_msg "$p2" "$AFTER") counted on the new primary, not 30"
pass "messages after the failover are counted on the new primary :$p2"
"$SLUICECTL" -c "$T/sen.conf" show "$AFTER" > "$T/ctl.out" 2>&1 ||
    fail "sluicectl show with redis_sentinels: $(cat "$T/ctl.out")"
grep -Eq '^messages +1h +30 +400$' "$T/ctl.out" ||
    fail "sluicectl show did not read the new primary: $(cat "$T/ctl.out")"
"$SLUICECTL" -c "$T/sen.conf" reset "$AFTER" > "$T/ctl.out" 2>&1 ||
    fail "sluicectl reset with redis_sentinels: $(cat "$T/ctl.out")"
[ "$(sum_msg "$p2" "$AFTER")" = 0 ] || fail "sluicectl reset did not reach the new primary"
pass "sluicectl finds the new primary through the sentinels (show, reset)"
grep -q 'bad \|crash\|Assertion' "$T/sen.log" && fail "unexpected log line"
stop_sluice sen
echo "sentinel: all passed"
