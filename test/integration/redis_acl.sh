#!/bin/bash
# redis_acl.sh - contrib/redis/users.acl as shipped (but for the password
# hash): two relays (sluice with its control channel) and sluicectl work
# as ACL user "sluice" with every detector on (so every command of the
# script is used); a lock tripped on relay A reaches relay B with A's
# name, and its lockinfo key expires; Redis's ACL LOG records no command
# refused to them; and that user is refused what it does not need
# (FLUSHALL, CONFIG, keys outside the prefix, other channels); the
# default user is off.
. "$(dirname "$0")/lib.sh"
: "${SLUICECTL:?SLUICECTL must name the sluicectl binary}"
rport=$(free_port)
pw="acl-test-$$-$(date +%s%N)"
hash=$(printf %s "$pw" | sha256sum | cut -d' ' -f1)
sed "/^user sluice /s/#[0-9a-f]\{64\}/#$hash/" \
    "$SLUICE_SRC/contrib/redis/users.acl" > "$T/users.acl"
grep -q "#$hash" "$T/users.acl" || fail "no hash of user sluice to replace"
# a user of the test's own, to read the ACL LOG (the default user is off)
apw="acl-admin-$$-$(date +%s%N)"
echo "user admin on >$apw ~* &* +@all" >> "$T/users.acl"
redis-server --bind 127.0.0.1 --port "$rport" --aclfile "$T/users.acl" \
    --save '' --appendonly no --daemonize yes --dir "$T" \
    --pidfile "$T/redis.pid" --logfile "$T/redis.txt"
stop_redis() {
	p=$(cat "$T/redis.pid" 2>/dev/null) || return 0
	kill "$p" 2>/dev/null || true
	while kill -0 "$p" 2>/dev/null; do sleep 0.05; done
}
trap 'stop_redis; cleanup' EXIT
noauth() {
	redis-cli -p "$rport" PING 2>&1 | grep -q NOAUTH
}
wait_until 10 "redis did not start with the ACL file" noauth
pass "the default user is off: $(redis-cli -p "$rport" PING 2>&1)"
as_sluice() {
	redis-cli -p "$rport" --user sluice --pass "$pw" --no-auth-warning "$@" 2>&1
}
as_admin() {
	redis-cli -p "$rport" --user admin --pass "$apw" --no-auth-warning "$@" 2>&1
}

umask 077
printf '%s\n' "$pw" > "$T/pw"
host=$(hostname)
for r in acl b; do
	write_config $r "store redis" "redis_server 127.0.0.1:$rport" \
	    "redis_username sluice" "redis_password_file $T/pw" \
	    "store_fallback tempfail" "lock_after 4/1h" "near_min_words 1" \
	    "lock_lifetime 1h" "control_poll 1s" \
'class default {
    messages 3/1h 100/1d
    recipients 100/1h
    repeats 50/1h
    body_senders 50/1h
    near_repeats 30/1h
    client_addresses 10/1h
}'
	start_sluice $r
	wait_until 10 "relay $r: control thread not connected as user sluice" \
	    grep -q "control: connected to redis" "$T/$r.log"
done
pass "both relays' control threads connect and subscribe as user sluice"
bench acl -c 1 -n 5 -r 1 --login alice@example.test --vary-body
expect_field accept 3 "messages counted through the ACL user (limit 3)"
expect_field tempfail 2 "the limit holds through the ACL user"
expect_field errors 0 "no protocol errors"
grep -q 'store_error\|fallback' "$T/acl.log" &&
    fail "a store error with the ACL user: $(grep -m1 store_error "$T/acl.log")"
pass "no store error: every command of the script is allowed"

# the control channel: relay A's lock rule locks mallory; relay B hears
# "lock H" and names the login and the relay from A's lockinfo (HMGET);
# the lockinfo key lives as long as the lock (EXPIRE)
bench acl -c 1 -n 10 -r 1 --login mallory@example.test
expect_log acl 'login=mallory@example.test origin=sasl client=[^ ]* locked on every relay' \
    "relay A: the lock rule locks mallory@example.test"
wait_until 10 "relay B: the lock of relay A was not seen" \
    grep -q 'login=mallory@example.test origin=sasl locked on relay ' "$T/b.log"
grep -q "login=mallory@example.test origin=sasl locked on relay $host: " "$T/b.log" ||
    fail "relay B does not name relay A ($host): $(grep -m1 'login=mallory@example.test origin=sasl locked on relay' "$T/b.log")"
pass "relay B: login=mallory@example.test origin=sasl locked on relay $host"
li=$(as_sluice --scan --pattern 'sluice:*:lockinfo')
[ "$(printf '%s\n' "$li" | grep -c .)" = 1 ] || fail "lockinfo keys: '$li'"
ttl=$(as_admin TTL "$li")
[ "$ttl" -gt 3500 ] && [ "$ttl" -le 3600 ] ||
    fail "the lockinfo key $li has TTL $ttl, expected about 3600 (lock_lifetime)"
pass "relay A's lockinfo key expires with the lock (TTL $ttl s)"

ctl() {
	"$SLUICECTL" -c "$T/acl.conf" "$@" > "$T/ctl.out" 2>&1 ||
	    { cat "$T/ctl.out" >&2; fail "sluicectl $* as user sluice"; }
}
ctl show alice@example.test
grep -Eq '^messages +1h +3 +3$' "$T/ctl.out" || fail "sluicectl show: $(cat "$T/ctl.out")"
pass "sluicectl show reads the counters as user sluice"
for c in status top "lock alice@example.test --for 2m" \
    "unlock alice@example.test" "class alice@example.test default" \
    "class alice@example.test --clear" "reset alice@example.test"; do
	# shellcheck disable=SC2086
	ctl $c
done
pass "sluicectl status, top, lock, unlock, class, reset as user sluice"
for r in acl b; do
	wait_until 10 "relay $r: the class event of sluicectl was not read" \
	    grep -q "live classes: 1 overrides from sluice:classes" "$T/$r.log"
done
pass "both relays read the live class sluicectl set (HGETALL)"
bench acl -c 1 -n 1 -r 1 --login alice@example.test
expect_field accept 1 "reset through the ACL user"

# whatever sluice, its control channel and sluicectl sent above, Redis
# refused none of it (a script's calls included)
for r in acl b; do
	grep -Eqi 'noperm|no permissions' "$T/$r.log" &&
	    fail "relay $r was refused a command: $(grep -Eim1 'noperm|no permissions' "$T/$r.log")"
done
log=$(as_admin ACL LOG)
[ -z "$log" ] || fail "Redis refused user sluice: $(printf '%s' "$log" | tr '\n' ' ')"
pass "ACL LOG is empty: no command of sluice, its control channel or sluicectl was refused"

# refused: what sluice never sends, and anything outside its prefix
# (a script runs with the caller's ACL: EVAL cannot reach other keys)
set -f
for cmd in "FLUSHALL" "FLUSHDB" "CONFIG GET requirepass" "KEYS *" \
    "CLIENT LIST" "SHUTDOWN" "ACL LIST" "SET other:key 1" \
    "GET other:key" "EVAL redis.call('GET','other:key') 0" \
    "PUBLISH other:events x" "SUBSCRIBE other:events"; do
	# shellcheck disable=SC2086
	if [ "${cmd#EVAL}" != "$cmd" ]; then
		out=$(as_sluice EVAL "redis.call('GET','other:key')" 0)
	else
		out=$(as_sluice $cmd | head -n 1)
	fi
	case $out in
	NOPERM*|*"No permissions"*|*"no permissions"*|*"can't access"*) ;;
	*) fail "user sluice was allowed: $cmd -> $out" ;;
	esac
done
set +f
pass "user sluice is refused FLUSHALL, CONFIG, KEYS, CLIENT, SHUTDOWN, ACL, other keys and channels"
[ "$(as_sluice PING)" = PONG ] || fail "PING as user sluice"
n=$(as_sluice --scan --pattern 'sluice:*' | wc -l)
[ "$n" -gt 0 ] || fail "no sluice keys"
pass "user sluice sees its $n keys"
a=$(sed -n 's/^user sluice on [^ ]* //p' "$SLUICE_SRC/contrib/redis/users.acl")
b=$(sed -n 's/^user sluice on [^ ]* //p' "$SLUICE_SRC/contrib/redis/redis.conf")
[ -n "$a" ] && [ "$a" = "$b" ] ||
    fail "user sluice differs between users.acl and redis.conf"
pass "redis.conf gives user sluice the same rights as users.acl"
stop_sluice acl
stop_sluice b
echo "redis_acl: all passed"
