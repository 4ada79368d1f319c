#!/bin/bash
# redis_outage.sh - a dead or hung Redis never stalls the mail: the breaker
# opens, the configured fallback answers, recovery is automatic.
. "$(dirname "$0")/lib.sh"
CLASS='class default {
    messages        5/1h
}'

# our own redis-server, so the test may kill and pause it
rport=$(free_port)
trap 'stop_redis 2>/dev/null; cleanup' EXIT

# 1. Redis never there, fallback local: limits hold per relay, no stall
write_config loc "store redis" "redis_server 127.0.0.1:$rport" \
    "store_fallback local" "redis_connect_timeout 200ms" \
    "breaker_failures 3" "breaker_cooldown 60s" "$CLASS"
start_sluice loc
bench loc -c 4 -n 40 --login down@example.test
expect_field accept 5 "redis down, local fallback: limit still holds"
expect_field errors 0 "redis down: no protocol errors"
max=$(field max_ms | cut -d. -f1)
[ "$max" -lt 1000 ] || fail "a message waited $max ms on a dead Redis"
pass "longest wait with Redis down: ${max} ms (connect refused is immediate)"
expect_log loc 'store=local-fallback' "fallback use is logged"
stop_sluice loc

# 2. fallback tempfail: the client is told to retry, with 4.3.0
write_config tf "store redis" "redis_server 127.0.0.1:$rport" \
    "store_fallback tempfail" "$CLASS"
start_sluice tf
bench tf -c 1 -n 3 --login down@example.test
expect_field tempfail 3 "redis down, tempfail fallback"
grep -q '451 4.3.0' "$T/bench.out" || fail "no 451 4.3.0 reply seen"
pass "tempfail fallback answers 451 4.3.0"
stop_sluice tf

# 3. Redis dies mid-load, then hangs, then comes back
start_redis
write_config live "store redis" "redis_server 127.0.0.1:$rport" \
    "store_fallback accept" "redis_command_timeout 200ms" \
    "breaker_failures 2" "breaker_cooldown 1s" 'class default {' \
    'messages 100000/1h' '}'
start_sluice live
bench live -c 4 -n 200 -l 50
expect_field accept 200 "redis up"
grep -q 'fallback' "$T/live.log" && fail "fallback used while Redis is up"
stop_redis
bench live -c 4 -n 200 -l 50
expect_field accept 200 "redis killed: accept fallback"
expect_field errors 0 "redis killed: no protocol errors"
start_redis
sleep 1.2	# the breaker's cooldown: the next message probes Redis
bench live -c 1 -n 20 -l 5
n=$(redis-cli -p "$rport" --scan --pattern 'sluice:*' | wc -l)
[ "$n" -gt 0 ] || fail "no counters in Redis after it came back"
pass "recovery is automatic: $n keys written after Redis came back"
# a hung Redis: each request waits at most the command timeout (200 ms),
# and after 2 failures the breaker stops waiting at all
redis-cli -p "$rport" CLIENT PAUSE 5000 ALL > /dev/null
bench live -c 4 -n 100 -l 50
expect_field accept 100 "redis paused: accept fallback"
expect_field errors 0 "redis paused: no protocol errors"
max=$(field max_ms | cut -d. -f1)
[ "$max" -ge 150 ] || fail "no message waited on the paused Redis ($max ms): test did not reach it"
[ "$max" -lt 2500 ] || fail "a message waited $max ms on a Redis paused for 5000 ms"
pass "longest SMTP stall with Redis paused: ${max} ms (command timeout 200 ms, 2 at MAIL+EOM at most)"
expect_log live 'circuit breaker open after [0-9]+ errors, answering with the fallback: redis 127\.0\.0\.1:[0-9]+' \
    "the breaker opening is logged with the Redis address and error"
expect_log live 'circuit breaker closed, the store answers again' \
    "the recovery is logged"
stop_sluice live
echo "redis_outage: all passed"
