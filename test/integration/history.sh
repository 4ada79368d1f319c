#!/bin/bash
# history.sh - a login's own history over the milter protocol (issue 13):
# a login with a learned usual hour is flagged when it bursts (seed 004),
# a new login sending the same is judged by its class alone.
#   1. redis store, default hour buckets: the learned state is seeded in
#      Redis (what ten days of 3 messages an hour leave), then a burst;
#   2. memory store, a short learning period (1 s buckets, 3 s to learn):
#      learned for real, then a burst with history_action lock.
. "$(dirname "$0")/lib.sh"
CLASS='class default {
    messages        100000/1h
}'

# key LOGIN - sluice's store key of a login (sender_key: BLAKE2b-128)
key() {
	python3 -c 'import hashlib, sys
print(hashlib.blake2b(sys.argv[1].lower().encode(), digest_size=16).hexdigest())' "$1"
}

# 1. redis: seeded history, history_action tempfail
port=$(redis_port)
P="t-history-$$:"
write_config red "store redis" "redis_server 127.0.0.1:$port" \
    "redis_prefix $P" "early_check no" "history yes" \
    "history_action tempfail" "$CLASS"
start_sluice red
hour=$(( $(redis-cli -p "$port" TIME | head -n 1) / 3600 ))
# 10 days old, 200 active hours of 3 messages, the last one an hour ago:
# usual 3.0, so more than max(20, 10 x 3, 2 x peak 3) = 30 is a burst
redis-cli -p "$port" HSET "$P{$(key old@example.test)}:hist:3600:hist" \
    f $((hour - 240)) b $((hour - 1)) c 3 n 200 m 3 p 3 > /dev/null
bench red -c 1 -n 50 -r 1 --login old@example.test
expect_field accept 30 "redis: the learned login's first 30 of the hour accepted"
expect_field tempfail 20 "redis: the 20 beyond 10 times its usual hour refused"
grep -q '451 4.7.1 Message deferred: 31 messages this 1h, more than 10 times this account.s usual 3.0' \
    "$T/bench.out" || fail "no 451 4.7.1 reply naming the usual hour"
pass "the client reads: 451 4.7.1 Message deferred: 31 messages this 1h, more than 10 times this account's usual 3.0"
expect_log red 'eom login=old@example\.test .*hist/1h=30 typical=3\.0 .*action=tempfail hits=history' \
    "redis: one log line names hits=history, the current and the usual hour"
bench red -c 1 -n 50 -r 1 --login new@example.test
expect_field accept 50 "redis: a new login sending as much is not flagged"
grep 'login=new@example.test' "$T/red.log" | grep -q 'hits=history' &&
    fail "the new login was flagged"
expect_log red 'login=new@example\.test .*hist/1h=50 typical=learning .*action=accept' \
    "redis: the new login is logged as learning"
ttl=$(redis-cli -p "$port" PTTL "$P{$(key new@example.test)}:hist:3600:hist")
[ "$ttl" -gt $((13 * 86400000)) ] || fail "history key TTL $ttl, not 14 days"
pass "redis: one history key per login, kept history_window (14 days)"
"$SLUICECTL" -c "$T/red.conf" show old@example.test > "$T/show.out"
grep -q '^history     usual 3.0 per 1h, peak 3.0 (201 active buckets)' \
    "$T/show.out" || { cat "$T/show.out" >&2; fail "sluicectl show: no usual hour"; }
pass "sluicectl show: history     usual 3.0 per 1h, peak 3.0 (201 active buckets)"
stop_sluice red
redis-cli -p "$port" --scan --pattern "$P*" | xargs -r redis-cli -p "$port" DEL > /dev/null

# 2. memory: learned in 1 s buckets, then a burst; action lock
write_config mem "store memory" "early_check no" "history yes" \
    "history_bucket 1s" "history_learn 3s" "history_window 1m" \
    "history_factor 3" "history_floor 5" "history_action lock" "$CLASS"
start_sluice mem
for i in 1 2 3 4 5; do		# about 2 an active second, for 5 seconds
	bench mem -c 1 -n 2 -r 1 --login old@example.test
	sleep 1
done
expect_field accept 2 "memory: the usual traffic accepted"
bench mem -c 1 -n 200 -r 1 --login old@example.test
[ "$(field tempfail)" -gt 0 ] || fail "memory: the burst was not refused"
pass "memory: the burst refused ($(field accept) accepted before it)"
expect_log mem 'login=old@example\.test .*locked on every relay: [0-9]+ messages in one 1s, more than 3 times its usual [0-9.]+ \(history_action lock\)' \
    "memory: history_action lock locked the login"
bench mem -c 1 -n 1 -r 1 --login old@example.test
expect_field tempfail 1 "memory: the locked login stays refused"
grep -q 'This account is locked' "$T/bench.out" || fail "no 'locked' reply"
pass "memory: the client reads: This account is locked"
bench mem -c 1 -n 200 -r 1 --login new@example.test
expect_field accept 200 "memory: a new login's burst judged by its class only"
stop_sluice mem
echo "history: all passed"
