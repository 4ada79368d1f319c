#!/bin/bash
# milter_limits.sh - limits enforced over the milter protocol, driven by
# Debian's miltertest (the harness OpenDKIM tests itself with): memory
# store refusing at MAIL, redis store refusing at EOM, observe mode.
. "$(dirname "$0")/lib.sh"
LUA="$(dirname "$0")/limits.lua"
CLASS='class default {
    messages        3/1h
    recipients      10/1h
    max_recipients  4
}'

# 1. memory store, refused early at MAIL
write_config mem "store memory" "early_check yes" "$CLASS"
start_sluice mem
miltertest_run mem "$LUA" early=1 observe=0
expect_log mem 'login=alice@example.test origin=sasl class=default client=192\.0\.2\.1 .*msg/1h=3/3 .*action=tempfail hits=messages' \
    "memory: alice refused at MAIL, logged with counts"
expect_log mem 'rcpt login=bob@example.test .*action=tempfail hits=max_recipients' \
    "memory: bob's 5th recipient refused"
expect_log mem 'eom login=bob@example.test .*rcpt/1h=8/10 .*action=tempfail hits=recipients' \
    "memory: bob's recipients window refused at EOM"
grep 'login=carol' "$T/mem.log" | grep -qv 'client=192\.0\.2\.2' &&
    fail "inbound mail produced a decision for carol"
pass "memory: inbound mail never counted"
# what the client reads: the reply texts
bench mem -c 1 -n 2 --login alice@example.test
expect_field tempfail 2 "memory: alice still refused"
grep -q '451 4.7.1 Sending limit reached (3 messages per 1h); please try again in [0-9]* minutes' \
    "$T/bench.out" || fail "no 451 4.7.1 reply with the limit and retry time"
pass "the client reads: 451 4.7.1 Sending limit reached (3 messages per 1h)..."
bench mem -c 1 -n 1 --login dave@example.test -r 6
grep -q '452 4.5.3 Too many recipients in one message (at most 4)' \
    "$T/bench.out" || fail "no 452 4.5.3 reply for the 5th recipient"
pass "the client reads: 452 4.5.3 Too many recipients in one message (at most 4)..."
stop_sluice mem

# 2. redis store, refused at EOM
port=$(redis_port)
write_config red "store redis" "redis_server 127.0.0.1:$port" \
    "redis_prefix t-limits-$$:" "early_check no" "$CLASS"
start_sluice red
miltertest_run red "$LUA" early=0 observe=0
expect_log red 'eom login=alice@example.test .*msg/1h=3/3 .*action=tempfail hits=messages' \
    "redis: alice refused at EOM"
n=$(redis-cli -p "$port" --scan --pattern "t-limits-$$:*" | wc -l)
[ "$n" -gt 0 ] || fail "redis holds no counters"
redis-cli -p "$port" --scan --pattern "t-limits-$$:*" |
    grep -Evq "^t-limits-$$:\{[0-9a-f]{32}\}:" &&
    fail "a redis key is not of the form prefix{hash}:..."
pass "redis: $n keys, all prefix{hash}:..."
stop_sluice red

# 3. observe mode: same traffic, everything accepted, decisions logged
write_config obs "store memory" "mode observe" "$CLASS"
start_sluice obs
miltertest_run obs "$LUA" early=1 observe=1
expect_log obs 'login=alice@example.test .*action=accept would=tempfail' \
    "observe: would-be refusals logged"
stop_sluice obs
echo "milter_limits: all passed"
