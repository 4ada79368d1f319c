#!/bin/bash
# concurrency.sh - no over-admission: many connections on several sluice
# daemons charging one login at once through one Redis; the messages
# accepted equal the limit exactly, never more. Also one daemon with the
# memory store, and round trips per message counted from Redis itself.
. "$(dirname "$0")/lib.sh"
port=$(redis_port)
# near_repeats and client_addresses (observed) ride in the same store
# call: the round trips below count them too
CLASS='near_action observe
near_min_words 1
client_addresses_action observe
class default {
    messages        500/1h
    recipients      100000/1h
    max_recipients  100
    near_repeats    31/1h
    client_addresses 1000/1h
}'

# run_bench NAME OUTFILE ARGS... - sluice-bench in the background
run_bench() {
	name=$1 out=$2
	shift 2
	"$SLUICE_BENCH" -s "$(sock_of "$name")" --json "$@" > "$out" 2>&1 &
	BENCHES="$BENCHES $!"
}
BENCHES=""

# json_field FILE KEY
json_field() {
	grep '^{' "$1" | tail -n 1 | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}

# 1. three relays, one Redis, one login, 3 x 16 connections x 300 messages
for r in r1 r2 r3; do
	# generous timeouts, and a fallback that admits nothing: on a loaded
	# machine a timeout must never turn into per-relay counting here
	write_config $r "store redis" "redis_server 127.0.0.1:$port" \
	    "redis_prefix t-conc-$$:" "log_accepts no" \
	    "redis_command_timeout 10s" "redis_connect_timeout 10s" \
	    "store_fallback tempfail" "$CLASS"
	start_sluice $r
done
for r in r1 r2 r3; do
	run_bench $r "$T/$r.bench" -c 16 -n 300 --login burst@example.test -r 2
done
wait_benches() {
	for j in $BENCHES; do wait "$j" || fail "sluice-bench failed"; done
	BENCHES=""
}
wait_benches
total=0
for r in r1 r2 r3; do
	a=$(json_field "$T/$r.bench" accept)
	e=$(json_field "$T/$r.bench" errors)
	[ "$e" = 0 ] || { cat "$T/$r.bench"; fail "$r: $e protocol errors"; }
	total=$((total + a))
done
fb=$(cat "$T"/r[123].log | grep -c 'fallback' || true)
[ "$total" -le 500 ] || fail "3 relays accepted $total messages, limit is 500"
[ "$fb" = 0 ] || fail "$fb decisions by the fallback: Redis answered slower than 10 s"
[ "$total" = 500 ] || fail "3 relays accepted $total messages, limit is 500"
pass "3 relays x 16 connections, 900 messages: exactly 500 accepted"

# 2. round trips: every command a client sent, from MONITOR (commands a
#    script runs inside Redis are tagged "lua" there and are not trips;
#    the control thread's who writes and polls are not on the message
#    path and are counted apart)
CONTROL='"(SET|GET)" "[^"]*:who"|"HGETALL" "[^"]*classes"|"ZRANGEBYSCORE" "[^"]*locked"'
# monitored OUT ARGS... - sluice-bench on r1 while MONITOR writes to OUT;
#                         sets trips (client commands on the message path),
#                         control (the control thread's) and evalsha
monitored() {
	out=$1
	shift
	redis-cli -p "$port" MONITOR > "$out" &
	mon=$!
	sleep 0.2
	bench r1 "$@"
	sleep 0.2
	kill "$mon"; wait "$mon" 2>/dev/null || true
	grep -v '\[[0-9]* lua\]' "$out" | grep '"' > "$out.trips" || true
	control=$(grep -Ec "$CONTROL" "$out.trips" || true)
	trips=$(grep -Evc "$CONTROL" "$out.trips" || true)
	echo "control thread, off the message path: $control commands (who keys, polls)"
	evalsha=$(grep -ci '"evalsha"' "$out.trips" || true)
}
monitored "$T/monitor.out" -c 4 -n 200 -l 200 -r 5
echo "round trips for 200 messages: $trips ($evalsha EVALSHA)"
[ "$evalsha" -gt 0 ] || fail "no EVALSHA seen: is MONITOR working?"
grep -q ':near:3600:sims".*:clients:3600:set"\|:clients:3600:set".*:near:3600:sims"' \
    "$T/monitor.out" || fail "the near and clients keys are not in the EVALSHA"
[ "$trips" -le 400 ] || fail "$trips store round trips for 200 messages (max 2 each)"
pass "store round trips: $trips for 200 messages of 5 recipients ($(( trips * 100 / 200 ))/100 per message)"

# 2b. a login that sends again soon, far from its limits, skips the MAIL
#     check (early_check_cache): 1 round trip per message after its first
monitored "$T/monitor2.out" -c 4 -n 200 -l 10 -r 5
echo "round trips for 200 messages of 10 logins: $trips"
# 200 charges + 10 first MAIL checks + at most 3 more in flight per login
[ "$trips" -le 250 ] || fail "$trips store round trips for 200 messages of 10 logins (max 250)"
[ "$trips" -ge 200 ] || fail "$trips store round trips for 200 messages: some were not charged?"
pass "early check cache: $trips round trips for 200 messages of 10 logins ($(( trips * 100 / 200 ))/100 per message)"
for r in r1 r2 r3; do stop_sluice $r; done

# 3. one daemon, memory store, 32 connections
write_config mem "store memory" "log_accepts no" "$CLASS"
start_sluice mem
bench mem -c 32 -n 2000 --login burst@example.test
expect_field accept 500 "memory store, 32 connections, 2000 messages"
expect_field errors 0 "memory store: no protocol errors"
stop_sluice mem
echo "concurrency: all passed"
