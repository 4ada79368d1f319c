#!/bin/bash
# content_detectors.sh - To/Cc fan-out, repeated bodies and waves of one
# body from many accounts, over the milter protocol, on both stores: the
# seed-003 630-address To: is refused, seed-004's identical bodies are
# caught per account and across accounts, quarantine is asked of the MTA.
. "$(dirname "$0")/lib.sh"

for store in memory redis; do
	name=$store
	storecfg=$(store_config $store content)
	write_config $name "$storecfg" "log_accepts yes" \
	    "repeats_action tempfail" "wave_action quarantine" \
	    "near_action tempfail" \
	    'class default {' \
	    '    messages 1000/1h' \
	    '    recipients 100000/1h' \
	    '    max_header_recipients 100' \
	    '    repeats 5/1h' \
	    '    body_senders 10/1h' \
	    '    near_repeats 3/1h' \
	    '}'
	start_sluice $name

	# seed 003: 630 addresses in To: -> 550 with the count
	bench $name -c 1 -n 1 --login promo@example.test -t 630 -r 1
	expect_field reject 1 "$store: a 630-address To: is refused"
	grep -q '550 5.7.1 Message refused: 630 addresses in To/Cc, at most 100 per message' \
	    "$T/bench.out" || fail "$store: no 550 reply naming the 630 addresses"
	pass "$store: the client reads 550 5.7.1 ... 630 addresses in To/Cc"
	bench $name -c 1 -n 1 --login promo2@example.test -t 100 -r 1
	expect_field accept 1 "$store: 100 addresses in To: pass"

	# seed 004: one account, one body, 8 times -> 5 pass, 3 deferred
	bench $name -c 1 -n 8 --login webmail@example.test --vary-body
	expect_field accept 8 "$store: 8 different bodies from one account pass"
	bench $name -c 1 -n 8 --login hijacked@example.test -b 3000
	expect_field accept 5 "$store: identical bodies, repeats 5/1h"
	expect_field tempfail 3 "$store: identical bodies beyond 5 deferred"
	grep -q '451 4.7.1 Message deferred: more than 5 identical messages from this account per 1h' \
	    "$T/bench.out" || fail "$store: no 451 reply naming the repeats"
	pass "$store: the client reads 451 4.7.1 Message deferred: more than 5 identical messages..."

	# seed 004: a wave: 20 accounts send one body -> the 11th on held
	bench $name -c 1 -n 20 -l 20 -b 2500 --header 'X-Wave: 1'
	expect_field accept 20 "$store: a wave of 20 accounts is accepted..."
	expect_field quarantine 10 "$store: ...and the 10 beyond body_senders 10/1h are held"
	expect_log $name 'eom login=user1[0-9]@bench.test .*action=quarantine hits=wave' \
	    "$store: the wave is logged with its detector"

	# near-duplicates: one text, a new greeting name and token each time
	miltertest_run $name "$(dirname "$0")/near.lua" limit=3 \
	    login=mailbox-notice@example.test
	n=$(grep -c 'eom login=mailbox-notice@example.test .*near/1h=3/3 .*action=tempfail hits=near$' \
	    "$T/$name.log" || true)
	[ "$n" = 3 ] || fail "$store: expected 3 near refusals logged, got $n"
	pass "$store: variants 4 to 6 refused, logged hits=near and nothing else"
	grep 'login=mailbox-notice@example.test' "$T/$name.log" |
	    grep -q 'hits=.*repeats' && fail "$store: the exact detector fired"
	pass "$store: the exact repeats detector did not fire on the variants"
	n=$(grep -c 'eom login=mailbox-notice@example.test .*near/1h=1/3 .*action=accept' \
	    "$T/$name.log" || true)
	[ "$n" -ge 6 ] || fail "$store: the first variant and 5 unrelated texts: expected 6 accepted as unlike the others, got $n"
	pass "$store: unrelated texts from the same login pass"
	stop_sluice $name
done

# one verdict, the strictest, naming every detector that fired
write_config strict "store memory" "repeats_action quarantine" \
    'class default {' '    messages 3/1h' '    repeats 2/1h' '}'
start_sluice strict
bench strict -c 1 -n 4 --login both@example.test
expect_field accept 3 "strictest: first three accepted"
expect_field quarantine 1 "strictest: the third, a repeat, is held"
expect_field tempfail 1 "strictest: the fourth is over the limit"
expect_log strict 'eom login=both@example.test .*action=quarantine hits=repeats' \
    "strictest: quarantine logged with its detector"
stop_sluice strict
echo "content_detectors: all passed"
