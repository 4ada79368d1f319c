#!/bin/bash
# refusals.sh - issue 12.2: a message refused by a check that needs no
# store (the To/Cc cap max_header_recipients, max_received, a refusing
# identity_action) is never
# charged: 3 messages with 6 To addresses under max_header_recipients 5
# are rejected 550 and leave messages 3/1h whole, so the next normal
# message and 2 more still go through; a refusal still counts toward
# lock_after, except a loop's (max_received). Memory and Redis.
. "$(dirname "$0")/lib.sh"

CLASS='class default {
    messages 3/1h
    max_header_recipients 5
}'
recv="Received: from a.example by b.example; Mon, 30 Nov 2026 10:00:00 +0000"

for store in memory redis; do
	S=$(store_config $store refused)
	n=$store
	write_config $n "$S" "lock_after 10/1h" "max_received 5" \
	    "identity_action reject" "$CLASS"
	start_sluice $n

	bench $n -c 1 -n 3 --login carol@example.test -t 6
	expect_field reject 3 "$store: 6 To addresses, at most 5: rejected"
	grep -q '550 5.7.1 Message refused: 6 addresses in To/Cc, at most 5 per message' \
	    "$T/bench.out" || { cat "$T/bench.out"; fail "$store: no 550 fan-out reply"; }
	expect_log $n 'eom login=carol@example\.test origin=sasl .* msg/1h=0/3 .*refused/1h=3/10 action=reject hits=fanout$' \
	    "$store: the third is not charged (msg/1h=0/3) and counts as a refusal (refused/1h=3/10)"

	bench $n -c 1 -n 1 --login carol@example.test -t 1
	expect_field accept 1 "$store: the next normal message is accepted"

	bench $n -c 1 -n 2 --login carol@example.test -t 1 \
	    --header "$recv" --header "$recv" --header "$recv" \
	    --header "$recv" --header "$recv" --header "$recv"
	expect_field reject 2 "$store: 6 Received: headers, max_received 5: rejected"
	expect_log $n 'eom login=carol@example\.test origin=sasl .* msg/1h=1/3 .*refused/1h=3/10 action=reject hits=received$' \
	    "$store: not charged either, nor counted toward lock_after (a loop is not the login's doing)"

	# From: not carol's, identity_action reject: refused, named alone
	bench $n -c 1 -n 1 --login carol@example.test -t 1 \
	    --from mallory@example.test
	expect_field reject 1 "$store: a From: that is not carol's: rejected"
	expect_log $n 'eom login=carol@example\.test origin=sasl .* msg/1h=1/3 .*refused/1h=4/10 action=reject hits=from$' \
	    "$store: not charged, and refused for its From: alone"

	bench $n -c 1 -n 3 --login carol@example.test -t 1
	expect_field accept 2 "$store: 2 more normal messages are accepted (3 in all)"
	expect_field tempfail 1 "$store: the 4th is over messages 3/1h"
	stop_sluice $n
done
