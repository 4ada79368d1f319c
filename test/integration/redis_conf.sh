#!/bin/bash
# redis_conf.sh - contrib/redis/redis.conf as shipped (its port, directory
# and an extra admin user for the test's own checks given on the command
# line): sluice works through its ACL user "sluice" and nothing else
# does; the memory policy is noeviction; when Redis is full, sluice's
# counters stay (nothing evicted) and sluice logs the OOM error and counts
# by its fallback.
. "$(dirname "$0")/lib.sh"

CONF=$SLUICE_SRC/contrib/redis/redis.conf
PW=$(sed -n 's/^user sluice on >\([^ ]*\) .*/\1/p' "$CONF")
[ -n "$PW" ] || fail "no 'user sluice on >PASSWORD' line in $CONF"
mkdir -p "$T/redis"
for try in 1 2 3 4 5; do
	RPORT=$(free_port)
	redis-server "$CONF" --port "$RPORT" --bind 127.0.0.1 --dir "$T/redis" \
	    --save '' --daemonize no --logfile "$T/redis.log" \
	    --user admin on '>admin-pw' '~*' '&*' +@all > /dev/null 2>&1 &
	RPID=$!
	PIDS="$PIDS $RPID"
	i=0
	while [ $i -lt 100 ]; do
		redis-cli -p "$RPORT" --user admin --pass admin-pw --no-auth-warning \
		    ping 2>/dev/null | grep -q PONG && break 2
		kill -0 "$RPID" 2>/dev/null || break
		sleep 0.05
		i=$((i + 1))
	done
done
admin() {
	redis-cli -p "$RPORT" --user admin --pass admin-pw --no-auth-warning "$@"
}
admin ping | grep -q PONG || fail "redis-server did not start with $CONF"
pass "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') runs contrib/redis/redis.conf"

[ "$(admin config get maxmemory-policy | tail -n 1)" = noeviction ] ||
    fail "maxmemory-policy is not noeviction"
[ "$(admin config get protected-mode | tail -n 1)" = yes ] ||
    fail "protected-mode is not yes"
pass "maxmemory-policy noeviction, protected-mode yes"
r=$(redis-cli -p "$RPORT" ping 2>&1)
case $r in *NOAUTH*|*WRONGPASS*|*"Authentication required"*) ;;
*) fail "the default user can still talk to Redis: $r" ;; esac
pass "the default user is off: $r"
r=$(redis-cli -p "$RPORT" --user sluice --pass "$PW" --no-auth-warning \
    set other:key 1 2>&1)
case $r in *NOPERM*) ;; *) fail "user sluice may write outside its prefix: $r" ;; esac
r=$(redis-cli -p "$RPORT" --user sluice --pass "$PW" --no-auth-warning \
    flushall 2>&1)
case $r in *NOPERM*) ;; *) fail "user sluice may FLUSHALL: $r" ;; esac
pass "user sluice may not write outside sluice:* nor FLUSHALL"

(umask 077; printf '%s\n' "$PW" > "$T/redis.password")
write_config s "store redis" "redis_server 127.0.0.1:$RPORT" \
    "redis_username sluice" "redis_password_file $T/redis.password" \
    "store_fallback local" "breaker_failures 1000" \
    "lock_after 3/1h" "copies 100/1h" \
    'class default {' '    messages 5/1h' '    repeats 50/1h' \
    '    body_senders 20/1h' '}'
start_sluice s
bench s -c 1 -n 8 --login alice@example.test
expect_field accept 5 "through the ACL user: 5 of 8 accepted"
expect_field tempfail 3 "through the ACL user: 3 tempfailed"
grep -q 'store_error' "$T/s.log" && { cat "$T/s.log";
    fail "sluice hit a Redis error through the ACL user"; }
pass "no store error: the ACL allows every command sluice sends"
keys=$(admin --scan --pattern 'sluice:*' | wc -l)
[ "$keys" -gt 0 ] || fail "sluice wrote no key under sluice:"
pass "sluice wrote $keys keys, all under sluice:"

# Redis full: nothing evicted; sluice logs the OOM error and counts by its
# fallback. (A second sluice with only a message limit: Redis refuses a
# script under OOM at its first write only if that write can grow memory;
# a script that first cleans up stale members, as the wave and repeats
# counters do, is let through - see contrib/redis/redis.conf.)
write_config s2 "store redis" "redis_server 127.0.0.1:$RPORT" \
    "redis_username sluice" "redis_password_file $T/redis.password" \
    "store_fallback local" "breaker_failures 1000" \
    'class default {' '    messages 5/1h' '}'
start_sluice s2
admin config set maxmemory 1 > /dev/null
bench s2 -c 1 -n 3 --login bob@example.test
expect_field accept 3 "Redis full: bob's messages are answered by the fallback"
expect_log s2 'login=bob@example.test .*store=local-fallback .*store_error=.*OOM command not allowed' \
    "sluice logs the OOM error and the local fallback"
[ "$(admin --scan --pattern 'sluice:*' | wc -l)" = "$keys" ] ||
    fail "keys were evicted (or written) while Redis was full"
pass "Redis full: none of sluice's $keys keys was evicted, none written"
admin config set maxmemory 256mb > /dev/null
# side by side: each takes seconds to stop
kill -TERM "$PID_s" "$PID_s2" 2>/dev/null || true
stop_sluice s
stop_sluice s2
# the sluices are gone (their pids may be reused): only redis-server is left
PIDS=$RPID
echo "redis_conf: all passed"
