#!/bin/bash
# client_addresses.sh - seed 002: one password used from many places. A
# login seen from more client addresses in a window than its class's
# client_addresses allows is refused from the next new address on, on
# both stores; its known addresses still work; other logins on the same
# addresses are not affected; no address is kept in Redis as such.
. "$(dirname "$0")/lib.sh"
port=$(redis_port)

for store in memory redis; do
	name=$store
	storecfg=$(store_config $store clients)
	write_config $name "$storecfg" "log_accepts yes" \
	    'class default {' \
	    '    messages 1000/1h' \
	    '    recipients 100000/1h' \
	    '    client_addresses 10/1h' \
	    '}'
	start_sluice $name

	# one login from 20 addresses (10.0.0.1 .. 10.0.0.20), one each
	bench $name -c 1 -n 20 --per-connection 1 --client-addrs 20 \
	    --login phished@example.test
	expect_field accept 10 "$store: the first 10 addresses are accepted"
	expect_field tempfail 10 "$store: the 11th to 20th addresses are deferred"
	grep -q '451 4.7.1 Message deferred: this account was used from more than 10 client addresses per 1h; please try again in' \
	    "$T/bench.out" || fail "$store: no 451 reply naming the client addresses"
	pass "$store: the client reads 451 4.7.1 ... used from more than 10 client addresses per 1h"
	expect_log $name ': mail login=phished@example.test origin=sasl class=default client=10\.0\.0\.20 .*clients/1h=10/10 action=tempfail hits=clients$' \
	    "$store: refused at MAIL, logged hits=clients"
	# a known address still works; so does another login from anywhere
	bench $name -c 1 -n 3 --client-addr 10.0.0.1 --login phished@example.test
	expect_field accept 3 "$store: the login still sends from a known address"
	bench $name -c 1 -n 20 --per-connection 1 --client-addrs 10 \
	    --login colleague@example.test
	expect_field accept 20 "$store: another login on 10 of the addresses passes"
	if [ $store = redis ]; then
		keys=$(redis-cli -p "$port" --scan --pattern "t-clients-$$:*")
		echo "$keys" | grep -q ':clients:3600:set$' ||
		    fail "redis: no clients set among: $keys"
		members=$(for k in $(echo "$keys" | grep ':clients:3600:set$'); do
			redis-cli -p "$port" ZRANGE "$k" 0 -1; done)
		echo "$members" | grep -q '10\.0\.0' &&
		    fail "redis: a client address is stored as such"
		echo "$members" | grep -Eqv '^[0-9a-f]{32}$' &&
		    fail "redis: a member is not a 32-digit hex hash: $members"
		pass "redis: the set holds hashes of the addresses, never the addresses"
	fi
	stop_sluice $name
done
echo "client_addresses: all passed"
