#!/bin/bash
# origin_keys.sh - issue 12.1: keys of different origin never meet. Local
# submission (Postfix non_smtpd_milters) with a forged MAIL FROM of a SASL
# account's address bursts until the lock rule trips: only the envelope
# sender's key is locked; the SASL account still sends, is not locked,
# the lock command never gets its login and the hold command none of its
# queue ids. A trusted relay's header keys apart too. sluicectl tells the
# origins apart (redis). Then login_default_domain (issue 12, "Also"):
# "alice" and "alice@example.test" are one account. Memory and Redis.
. "$(dirname "$0")/lib.sh"
: "${SLUICECTL:?SLUICECTL must name the sluicectl binary}"

cat > "$T/hook.sh" <<HOOK
#!/bin/sh
printf '%s|%s|%s\n' "\$1" "\$2" "\$3" >> "$T/hook.out"
HOOK
printf '#!/bin/sh\necho "$*" >> %s\n' "$T/held.out" > "$T/hold.sh"
chmod +x "$T/hook.sh" "$T/hold.sh"

CLASS='class default {
    messages 3/1h
}'

for store in memory redis; do
	: > "$T/hook.out"
	: > "$T/held.out"
	S=$(store_config $store origin)
	n=$store
	write_config $n "$S" "lock_after 2/1h" "lock_lifetime 1h" \
	    "lock_command $T/hook.sh" "hold_command $T/hold.sh" \
	    "trusted_networks 192.0.2.10" "trusted_header X-Webmail-User" \
	    "$CLASS"
	start_sluice $n
	if [ $store = redis ]; then
		wait_until 10 "control thread not connected" \
		    grep -q "control: connected to redis" "$T/$n.log"
	fi

	# bob's own mail, accepted: a later lock of his would hold these
	bench $n -c 1 -n 2 --login bob@example.test --qid-prefix S1
	expect_field accept 2 "$store: bob@example.test (SASL) sends 2"

	# a local user forges bob's address: 3 accepted, 3 refused, locked
	bench $n -c 1 -n 6 --inbound --local-submission \
	    --from bob@example.test --qid-prefix L1
	expect_field accept 3 "$store: the forged envelope sender has its own 3/1h"
	expect_field tempfail 3 "$store: then it is tempfailed"
	expect_log $n 'eom login=bob@example\.test origin=envelope class=default client=127\.0\.0\.1 via=local-sender .*msg/1h=3/3 .*action=tempfail hits=messages' \
	    "$store: the decision line names the envelope origin"
	expect_log $n 'login=bob@example\.test origin=envelope client=127\.0\.0\.1 locked on every relay: refused 3 times in 1h' \
	    "$store: the envelope sender's key is locked, logged with its origin"

	# the SASL account: not locked, not counted, nothing held
	bench $n -c 1 -n 1 --login bob@example.test --qid-prefix S2
	expect_field accept 1 "$store: the SASL account bob@example.test still sends"
	last=$(grep 'login=bob@example.test origin=sasl' "$T/$n.log" | tail -n 1)
	case $last in
	*'msg/1h=3/3'*'action=accept'*) ;;
	*) fail "$store: the SASL account's count: $last" ;;
	esac
	if grep 'origin=sasl' "$T/$n.log" | grep -q 'hits=.*locked\|locked on'; then
		fail "$store: the SASL account was locked"
	fi
	pass "$store: the SASL account counts its own 3 messages and is not locked"

	wait_until 10 "$store: the lock command never ran" test -s "$T/hook.out"
	wait_until 10 "$store: the hold command never ran" test -s "$T/held.out"
	sleep 0.5
	grep -qx 'envelope:bob@example.test|refused 3 times in 1h (lock_after 2/1h)|envelope' \
	    "$T/hook.out" || { cat "$T/hook.out"; fail "$store: lock command arguments"; }
	if cut -d'|' -f1 "$T/hook.out" | grep -qix 'bob@example.test'; then
		fail "$store: the lock command got the SASL login: $(cat "$T/hook.out")"
	fi
	pass "$store: the lock command got envelope:bob@example.test and its origin, never the SASL login"
	if grep -q 'S1' "$T/held.out"; then
		fail "$store: the hold command got the SASL account's queue ids: $(cat "$T/held.out")"
	fi
	[ "$(cat "$T/held.out")" = "L10000000001 L10000000002 L10000000003" ] ||
	    fail "$store: held: $(cat "$T/held.out")"
	pass "$store: the hold command got the forged mail's 3 queue ids, none of bob's"

	# a trusted relay's header names bob: a key of its own as well
	bench $n -c 1 -n 1 --inbound --client-addr 192.0.2.10 \
	    --header 'X-Webmail-User: bob@example.test' --from bob@example.test
	expect_field accept 1 "$store: the webmail's bob is neither locked nor over"
	expect_log $n 'eom login=bob@example\.test origin=header class=default client=192\.0\.2\.10 via=trusted-header .*msg/1h=1/3 .*action=accept' \
	    "$store: the trusted header's key counts apart (msg/1h=1/3)"

	if [ $store = redis ]; then
		ctl() { "$SLUICECTL" -c "$T/$n.conf" "$@" > "$T/ctl.out" 2>&1 ||
		    { cat "$T/ctl.out" >&2; fail "sluicectl $*"; }; }
		ctl show bob@example.test
		grep -q '^origin      sasl$' "$T/ctl.out" &&
		    grep -q '^locked      no$' "$T/ctl.out" &&
		    grep -Eq '^messages +1h +3 +3$' "$T/ctl.out" ||
		    { cat "$T/ctl.out"; fail "sluicectl show (sasl)"; }
		pass "sluicectl show bob@example.test: origin sasl, 3 messages, not locked"
		ctl show --origin envelope bob@example.test
		grep -q '^origin      envelope$' "$T/ctl.out" &&
		    grep -q '^locked      yes' "$T/ctl.out" &&
		    grep -q '^  origin    envelope$' "$T/ctl.out" ||
		    { cat "$T/ctl.out"; fail "sluicectl show --origin envelope"; }
		pass "sluicectl show --origin envelope: locked, lockinfo says envelope"
		ctl --json top
		python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
got=sorted((s["login"],s["origin"],s["messages"]) for s in d["senders"])
want=[("bob@example.test","envelope",3),("bob@example.test","header",1),("bob@example.test","sasl",3)]
assert got==want,got' "$T/ctl.out" || { cat "$T/ctl.out"; fail "sluicectl top: origins"; }
		pass "sluicectl top: bob three times, one row per origin"
		ctl status
		grep -Eq '^  bob@example\.test +envelope ' "$T/ctl.out" ||
		    { cat "$T/ctl.out"; fail "sluicectl status: origin"; }
		pass "sluicectl status: the locked key is bob's envelope one"
		ctl unlock --origin envelope bob@example.test
		grep -qx 'bob@example.test (origin envelope): unlocked on every relay' \
		    "$T/ctl.out" || { cat "$T/ctl.out"; fail "sluicectl unlock --origin"; }
		pass "sluicectl unlock --origin envelope"
		rc=0
		"$SLUICECTL" -c "$T/$n.conf" show --origin Envelope bob \
		    > "$T/ctl.out" 2>&1 || rc=$?
		[ $rc = 2 ] && grep -q 'expected sasl, header or envelope' \
		    "$T/ctl.out" || { cat "$T/ctl.out"; fail "bad --origin: exit $rc"; }
		pass "sluicectl: an unknown --origin is a usage error (exit 2)"
	fi
	stop_sluice $n
done

# login_default_domain: a bare login is the same account as its address
write_config dd "store memory" "login_default_domain example.test" "$CLASS"
start_sluice dd
bench dd -c 1 -n 2 --login alice --from alice@example.test
expect_field accept 2 "login_default_domain: alice sends 2"
bench dd -c 1 -n 2 --login Alice@Example.Test
expect_field accept 1 "login_default_domain: alice@example.test has 1 left of the same 3/1h"
expect_log dd 'eom login=alice@example\.test origin=sasl class=default .*msg/1h=2/3 .*action=accept' \
    "login_default_domain: the bare login is logged as alice@example.test"
stop_sluice dd
