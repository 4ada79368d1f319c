#!/bin/bash
# txn_retry.sh - exactly once under failure, through the daemon: Redis is
# paused (CLIENT PAUSE WRITE) past the command timeout across the
# end-of-message commit; the commit, keyed by MTA name and queue id, is
# retried once on a fresh connection and the message is counted once.
. "$(dirname "$0")/lib.sh"
rport=$(free_port)
redis-server --bind 127.0.0.1 --port "$rport" --save '' --appendonly no \
    --daemonize yes --dir "$T" --pidfile "$T/redis.pid" \
    --logfile "$T/redis.txt"
stop_redis() {
	p=$(cat "$T/redis.pid" 2>/dev/null) || return 0
	kill "$p" 2>/dev/null || true
	while kill -0 "$p" 2>/dev/null; do sleep 0.05; done
}
trap 'stop_redis; cleanup' EXIT
up() { redis-cli -p "$rport" PING 2>/dev/null | grep -q PONG; }
wait_until 10 "redis did not start" up
# sum_msg LOGIN - messages counted for LOGIN
sum_msg() {
	k=$(python3 -c 'import hashlib,sys; print(hashlib.blake2b(sys.argv[1].lower().encode(), digest_size=16).hexdigest())' "$1")
	redis-cli -p "$rport" HVALS "sluice:{$k}:msg:3600:12" |
	    awk '{ s += $1 } END { print s + 0 }'
}

write_config tx "store redis" "redis_server 127.0.0.1:$rport" \
    "redis_command_timeout 1s" "early_check no" "store_fallback local" \
    'class default {' 'messages 100/1h' '}'
start_sluice tx
bench tx -c 1 -n 1 -r 1 --login warm@example.test	# connected, loaded
redis-cli -p "$rport" CLIENT PAUSE 1500 WRITE > /dev/null
bench tx -c 1 -n 1 -r 1 --login once@example.test
expect_field accept 1 "paused across the commit: accepted"
expect_field errors 0 "no protocol error"
max=$(field max_ms | cut -d. -f1)
[ "$max" -ge 1000 ] || fail "the message did not wait on the pause ($max ms)"
grep -q 'login=once@example.test .*store=' "$T/tx.log" &&
    fail "the fallback answered: $(grep 'login=once' "$T/tx.log")"
pass "the retried commit answered after the pause (stall $max ms), no fallback"
sleep 0.5
[ "$(sum_msg once@example.test)" = 1 ] ||
    fail "counted $(sum_msg once@example.test) times, not once"
pass "the message is counted exactly once after the pause ends"
stop_sluice tx
echo "txn_retry: all passed"
