#!/bin/bash
# redis_acl.sh - contrib/redis/users.acl as shipped (but for the password
# hash): sluice and sluicectl work as ACL user "sluice" with every
# detector on (so every command of the script is used), and that user is
# refused what it does not need (FLUSHALL, CONFIG, keys outside the
# prefix, other channels); the default user is off.
. "$(dirname "$0")/lib.sh"
: "${SLUICECTL:?SLUICECTL must name the sluicectl binary}"
rport=$(free_port)
pw="acl-test-$$-$(date +%s%N)"
hash=$(printf %s "$pw" | sha256sum | cut -d' ' -f1)
sed "/^user sluice /s/#[0-9a-f]\{64\}/#$hash/" \
    "$SLUICE_SRC/contrib/redis/users.acl" > "$T/users.acl"
grep -q "#$hash" "$T/users.acl" || fail "no hash of user sluice to replace"
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

umask 077
printf '%s\n' "$pw" > "$T/pw"
write_config acl "store redis" "redis_server 127.0.0.1:$rport" \
    "redis_username sluice" "redis_password_file $T/pw" \
    "store_fallback tempfail" "lock_after 50/1h" "near_min_words 1" \
'class default {
    messages 3/1h 100/1d
    recipients 100/1h
    repeats 50/1h
    body_senders 50/1h
    near_repeats 30/1h
    client_addresses 10/1h
}'
start_sluice acl
bench acl -c 1 -n 5 -r 1 --login alice@example.test --vary-body
expect_field accept 3 "messages counted through the ACL user (limit 3)"
expect_field tempfail 2 "the limit holds through the ACL user"
expect_field errors 0 "no protocol errors"
grep -q 'store_error\|fallback' "$T/acl.log" &&
    fail "a store error with the ACL user: $(grep -m1 store_error "$T/acl.log")"
pass "no store error: every command of the script is allowed"

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
bench acl -c 1 -n 1 -r 1 --login alice@example.test
expect_field accept 1 "reset through the ACL user"

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
echo "redis_acl: all passed"
