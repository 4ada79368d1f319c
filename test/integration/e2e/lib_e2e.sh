# lib_e2e.sh - shared by e2e_postfix.sh and e2e_sendmail.sh, sourced after
# ../lib.sh: a real MTA in a sandbox (sandbox.sh), smtp-sink as the
# destination of every message the MTA relays, smtpc.py as the SMTP
# client, and the assertions on what each of them saw. Loopback only.
# See doc/e2e.md.

. "$SLUICE_SRC/test/integration/e2e/mta.sh"

# sluice_config NAME SOCKET BODY... - $T/NAME.conf for an e2e sluice: the
# Redis fixture under a prefix of its own ($PREFIX), logging to stderr
# ($T/NAME.log), and BODY. Sets PREFIX.
sluice_config() {
	name=$1 sock=$2
	shift 2
	PREFIX="t-e2e-$name-$$:"
	{
		echo "socket $sock"
		echo "syslog no"
		echo "store redis"
		echo "redis_server 127.0.0.1:$(redis_port)"
		echo "redis_prefix $PREFIX"
		printf '%s\n' "$@"
	} > "$T/$name.conf"
}

# redis_keys LOGIN - the Redis keys holding LOGIN's counters
redis_keys() {
	h=$(python3 -c 'import hashlib, sys
print(hashlib.blake2b(sys.argv[1].lower().encode(), digest_size=16).hexdigest())' "$1")
	redis-cli -p "$(redis_port)" --scan --pattern "$PREFIX{$h}:*"
}

# smtpc OUT ARGS... - run e2e/smtpc.py (see there), its output in $T/OUT
# (and appended to $T/clients.log); fails on client errors
smtpc() {
	out=$1
	shift
	python3 "$E2E/smtpc.py" "$@" > "$T/$out" 2>&1 ||
	    { cat "$T/$out" >&2; fail "smtpc $out failed"; }
	cat "$T/$out" >> "$T/clients.log"
	grep -q '^summary .* errors=0$' "$T/$out" ||
	    { cat "$T/$out" >&2; fail "$out: the client saw errors (not an SMTP reply)"; }
}

# summary OUT KEY - a number from the summary line of $T/OUT
summary() {
	sed -n "s/^summary .*[[:space:]]$2=\([0-9]*\).*/\1/p" "$T/$1"
}

# expect_summary OUT KEY VALUE WHAT
expect_summary() {
	got=$(summary "$1" "$2")
	[ "$got" = "$3" ] || { cat "$T/$1" >&2;
	    fail "$4: $2 = $got, expected $3"; }
	pass "$4: $2 = $3"
}

# replies OUT RESULT - the replies of the messages of $T/OUT with RESULT
replies() {
	sed -n "s/^msg .* result=$2 reply=\"\(.*\)\"$/\1/p" "$T/$1"
}

# accepted_ids OUT / refused_ids OUT - Message-IDs by what the client saw
accepted_ids() {
	sed -n 's/^msg [0-9]* id=\([^ ]*\) .* result=accepted .*/\1/p' "$T/$1"
}
refused_ids() {
	sed -n 's/^msg [0-9]* id=\([^ ]*\) .* result=refused .*/\1/p' "$T/$1"
}

# ------------------------------------------------------------------------
# The scenarios both MTAs go through. The test defines:
#   submit OUT LOGIN SMTPC-ARGS...  send through its submission port with AUTH
#   drain                           wait until the MTA's queue is empty
#                                   (held/quarantined mail aside)
#   qid_of OUT N                    the queue id in the MTA's reply to msg N
#   held_qids                       the queue ids of held mail, sorted,
#                                   listed the way doc/held-mail.md says
#   release_held                    release all held mail the way of doc/held-mail.md
#                                   and have it delivered now
#   mta_clean                       the MTA deferred and bounced nothing
# and sets IN_PORT (inbound, no AUTH), MTA (its name), MAIL_QID (what
# sluice's log line at MAIL carries: NOQUEUE for Postfix, a queue id for
# Sendmail). Every login is LOGIN@e2e.test, password pw-LOGIN@e2e.test.

# the classes every e2e sluice runs with, and what the client reads over
# them: "default" for everybody; "short" (a 12 s window: a retry after it
# is accepted) for retry@; "tiny" (one message an hour: refused at once)
# for locked@, whose refusals trip lock_after
printf 'retry@e2e.test short\nlocked@e2e.test tiny\nfast@e2e.test fast\n' > "$T/classes"
chmod 0644 "$T/classes"
CLASS="class_map $T/classes
lock_after 30/1h
lock_lifetime 1h
identity_action reject
wave_action quarantine
fanout_action reject
class default {
    messages        10/1h
    recipients      50/1h
    max_recipients  5
    max_header_recipients 100
    body_senders    10/1h
}
class short {
    messages        5/12s
}
class tiny {
    messages        1/1h
}
class fast {
    messages        1000/1h
    recipients      10000/1h
    repeats         1000/1h
}"
LIMIT_TEXT='451 4\.7\.1 Sending limit reached \(10 messages per 1h\); please try again in [0-9]+ minutes?'
WAVE_USERS=$(seq -f 'w%02g@e2e.test' 1 20 | tr '\n' ' ')
USERS="alice@e2e.test bob@e2e.test carol@e2e.test burst@e2e.test many@e2e.test
fanout@e2e.test retry@e2e.test locked@e2e.test fast@e2e.test percent@e2e.test $WAVE_USERS"

# tcp_no_stall PORT - fast@ sends 30 messages in one session through the
# usual submission port (sluice on unix:), then 30 through PORT, whose
# sluice listens on inet: with the hop marker on. A delayed-ACK stall
# (~40 ms for each pair of small writes, two a message: milter/tcpconn.c) adds
# 40 to 90 ms to every message over inet:, so the fastest of them (which
# a loaded machine spares best) must be within 25 ms of unix:'s
tcp_no_stall() {
	step "tcp_no_stall: 30 messages through sluice on inet:, hop marker on"
	for run in "$SUB_PORT tcpu unix" "$1 tcpi inet"; do
		set -- $run
		SUB_PORT=$1 submit "$2.out" fast@e2e.test --tag "$2" --count 30 \
		    --one-session --header-to 5 --to r1@remote.test \
		    --to r2@remote.test --to r3@remote.test
		expect_summary "$2.out" accepted 30 "30 messages over $3: accepted"
	done
	u=$(summary tcpu.out min_ms) i=$(summary tcpi.out min_ms)
	what="through $MTA: the fastest message $i ms with sluice on inet:, $u ms on unix: (p50 $(summary tcpi.out p50_ms) and $(summary tcpu.out p50_ms) ms)"
	[ "$i" -le $((u + 25)) ] ||
	    fail "$what: the delayed-ACK stall is back"
	pass "$what"
}

# one_message - alice, 3 recipients: accepted, logged with the queue id
# and counts, at the sink with its 3 recipients; then 3 more in one session
one_message() {
	step "one message through submission"
	submit basic.out alice@e2e.test --tag basic \
	    --to r1@remote.test --to r2@remote.test --to r3@remote.test
	expect_summary basic.out accepted 1 "alice's message, 3 recipients: 250"
	drain
	qid=$(qid_of basic.out 1)
	[ -n "$qid" ] || fail "no queue id in $MTA's reply: $(cat "$T/basic.out")"
	expect_log sluice "$qid: eom login=alice@e2e\.test origin=sasl class=default client=127\.0\.0\.1 rcpts=3 .*msg/1h=1/10 .*rcpt/1h=3/50 .*action=accept" \
	    "sluice's log line carries $MTA's queue id $qid, the login, the counts"
	f=$(sink_file "<e2e-basic-1@e2e.test>")
	[ -n "$f" ] || fail "alice's message did not reach the sink"
	[ "$(grep -c '^X-Rcpt-Args:' "$f")" = 3 ] ||
	    fail "the sink did not get 3 recipients"
	pass "the sink got alice's message with its 3 recipients"

	step "the same login, one SMTP session: 3 messages on one connection"
	submit session.out alice@e2e.test --tag session --count 3 \
	    --one-session --to r1@remote.test
	expect_summary session.out accepted 3 \
	    "3 messages in one SMTP session (one milter connection, reset between messages)"
	expect_log sluice 'eom login=alice@e2e\.test .*msg/1h=4/10 .*rcpt/1h=6/50 .*action=accept' \
	    "alice's 4th message counted: msg/1h=4/10 rcpt/1h=6/50"
}

# max_recipients - a message to 7: RCPT 6 and 7 get 452 4.5.3, the
# message goes to the other 5 only
max_recipients() {
	step "max_recipients 5: a message to 7"
	submit many.out many@e2e.test --tag many \
	    --to m1@remote.test --to m2@remote.test --to m3@remote.test \
	    --to m4@remote.test --to m5@remote.test --to m6@remote.test \
	    --to m7@remote.test
	grep -q '^msg 1 .* rcpt=250,250,250,250,250,452,452 .*result=accepted' \
	    "$T/many.out" ||
	    { cat "$T/many.out"; fail "RCPT replies not 5 x 250, 2 x 452"; }
	pass "RCPT 1-5: 250, RCPT 6-7: 452; the message is accepted for 5"
	n=$(grep -Ec '^rcpt 1 to=<m[67]@remote.test> reply="452 4\.5\.3 Too many recipients in one message \(at most 5\); send to the others in another message"$' \
	    "$T/many.out")
	[ "$n" = 2 ] || { cat "$T/many.out";
	    fail "the client did not read 452 4.5.3 Too many recipients ... (at most 5)"; }
	pass "the client reads: 452 4.5.3 Too many recipients in one message (at most 5)..."
	qid=$(qid_of many.out 1)
	expect_log sluice "$qid: rcpt login=many@e2e\.test .*action=tempfail hits=max_recipients" \
	    "the refused RCPT is logged with the queue id $qid"
	drain
	f=$(sink_file "<e2e-many-1@e2e.test>")
	[ -n "$f" ] || fail "many's message did not reach the sink"
	n=$(grep -c '^X-Rcpt-Args:' "$f")
	[ "$n" = 5 ] || fail "the sink got $n recipients, expected 5"
	grep -q '^X-Rcpt-Args: <m[67]@' "$f" &&
	    fail "a refused recipient reached the sink"
	pass "the sink got the message for the 5 accepted recipients only"
}

# identity_percent - a From: address holding '%' (identity_action
# reject): the client reads the whole reply, the '%' in it (a lone '%'
# made Sendmail drop the reply's text); nothing reaches the sink
identity_percent() {
	step "identity: a From: with a '%' is refused with the whole reply"
	submit percent.out percent@e2e.test --tag percent \
	    --header-from '"100%sure"@evil.example' --to r1@remote.test
	expect_summary percent.out refused 1 "a From: the login may not use is refused"
	r=$(replies percent.out refused)
	[ "$r" = "550 5.7.1 Message refused: From: 100%sure@evil.example is not an address of this account" ] ||
	    { cat "$T/percent.out"; fail "not the whole reply with its '%': $r"; }
	pass "the client reads, after DATA: $r"
	expect_log sluice 'eom login=percent@e2e\.test .*action=reject hits=from$' \
	    "sluice logs the refusal, hits=from"
	drain
	[ -z "$(sink_file "<e2e-percent-1@e2e.test>")" ] ||
	    fail "the refused message reached the sink"
	pass "the refused message did not reach the sink"
}

# seed000_inbound - seed 000: a flood of unauthenticated mail TO the users
# (forging their own addresses as the sender) never touches their outbound
# quota: all accepted, no Redis key, no decision; each can then still send
# exactly the class's 10
seed000_inbound() {
	step "seed000_inbound: 50 unauthenticated messages to bob and carol"
	for u in bob carol; do
		[ -z "$(redis_keys "$u@e2e.test")" ] ||
		    fail "Redis has keys for $u@e2e.test before the test"
	done
	smtpc inbound.out --port "$IN_PORT" --from bob@e2e.test \
	    --to bob@local.e2e.test --to carol@local.e2e.test \
	    --tag inbound --count 50 --sources 50
	expect_summary inbound.out accepted 50 "50 inbound messages: all 250"
	for u in bob carol; do
		k=$(redis_keys "$u@e2e.test")
		[ -z "$k" ] || fail "inbound mail moved $u's counters: $k"
	done
	pass "Redis holds no key for bob or carol: inbound mail counted nothing"
	grep -q 'login=bob\|login=carol' "$T/sluice.log" &&
	    fail "sluice logged a decision charging bob or carol"
	pass "no sluice decision charged bob or carol"
	for u in bob carol; do
		submit "quota-$u.out" "$u@e2e.test" --tag "quota-$u" --count 11 \
		    --to "friend-of-$u@remote.test"
		expect_summary "quota-$u.out" accepted 10 \
		    "$u still has the full quota: 10 of 11 accepted"
		replies "quota-$u.out" refused | grep -Eqx "$LIMIT_TEXT" ||
		    fail "$u's 11th message: no 451 4.7.1 limit reply"
	done
	pass "their 11th message: 451 4.7.1 Sending limit reached (10 messages per 1h)"
}

# seed002_burst - seed 002: one phished account bursting from many client
# addresses: exactly the limit gets through, the rest read 451 4.7.1
seed002_burst() {
	step "seed002_burst: burst@e2e.test sends 30 messages from 30 addresses"
	submit burst.out burst@e2e.test --tag burst --count 30 --sources 30 \
	    --to victim@remote.test
	expect_summary burst.out accepted 10 "burst of 30: exactly the limit (10) accepted"
	expect_summary burst.out refused 20 "burst of 30: 20 refused"
	n=$(replies burst.out refused | grep -Ecx "$LIMIT_TEXT")
	[ "$n" = 20 ] || { replies burst.out refused | sort | uniq -c;
	    fail "$n of 20 refusals read 451 4.7.1 Sending limit reached (10 messages per 1h)..."; }
	pass "the client reads, 20 times: $(replies burst.out refused | head -n 1)"
	n=$(grep -c '^msg .* mail=451 .*result=refused' "$T/burst.out")
	[ "$n" = 20 ] || fail "$n of 20 refused at MAIL FROM (early_check)"
	pass "refused at MAIL FROM, before any data was sent"
	expect_log sluice "$MAIL_QID: mail login=burst@e2e\.test origin=sasl class=default client=127\.0\.0\.[0-9]+ .*msg/1h=10/10 .*action=tempfail hits=messages" \
	    "sluice logs the refusals at MAIL ($MAIL_QID)"
	n=$(grep -c 'eom login=burst@e2e.test .*action=accept' "$T/sluice.log")
	[ "$n" = 10 ] || fail "sluice logged $n accepted messages for burst, expected 10"
	clients=$(grep -o 'login=burst@e2e.test origin=sasl class=default client=127\.0\.0\.[0-9]*' \
	    "$T/sluice.log" | sort -u | wc -l)
	[ "$clients" -ge 20 ] || fail "only $clients client addresses seen"
	pass "counted by login, from $clients different client addresses"
}

# seed003_fanout - seed 003: a message whose To: holds 630 addresses (one
# envelope recipient) is refused at the end of DATA with the reply the
# doc/tests.md documents; nothing of it reaches the sink. 100 addresses pass.
seed003_fanout() {
	step "seed003_fanout: a 630-address To:"
	submit fanout.out fanout@e2e.test --tag fanout --header-to 630 \
	    --to list@remote.test
	expect_summary fanout.out refused 1 "a 630-address To: is refused"
	r=$(replies fanout.out refused)
	[ "$r" = "550 5.7.1 Message refused: 630 addresses in To/Cc, at most 100 per message" ] ||
	    { cat "$T/fanout.out"; fail "not the documented 550 5.7.1 ... 630 addresses: $r"; }
	grep -q '^msg 1 .* mail=250 rcpt=250 data=550 ' "$T/fanout.out" ||
	    fail "not refused at the end of DATA"
	pass "the client reads, after DATA: $r"
	expect_log sluice 'eom login=fanout@e2e\.test .*addrs=630 .*action=reject hits=fanout' \
	    "sluice logs the refusal with addrs=630, hits=fanout"
	submit fanout100.out fanout@e2e.test --tag fanout100 --header-to 100 \
	    --to list@remote.test
	expect_summary fanout100.out accepted 1 "100 addresses in To: (the limit) pass"
	drain
	[ -z "$(sink_file "<e2e-fanout-1@e2e.test>")" ] ||
	    fail "the 630-address message reached the sink"
	[ -n "$(sink_file "<e2e-fanout100-1@e2e.test>")" ] ||
	    fail "the 100-address message did not reach the sink"
	pass "the sink got the 100-address message, not the 630-address one"
}

# seed004_wave - seed 004: one body sent by 20 accounts, body_senders
# 10/1h, wave_action quarantine: every client reads 250; the first 10 are
# delivered, the other 10 are held by the MTA (listed as the commands
# of doc/held-mail.md say), and released their way they reach the sink
seed004_wave() {
	step "seed004_wave: one body from 20 accounts"
	n=0
	for u in $WAVE_USERS; do
		n=$((n + 1))
		submit "wave-$n.out" "$u" --tag "wave-$n" --same-body \
		    --to wave@remote.test
		expect_summary "wave-$n.out" accepted 1 "wave: ${u%@*} reads 250" \
		    > /dev/null
	done
	pass "wave: all 20 clients read 250 (holding is silent to the sender)"
	n=$(grep -c 'eom login=w[0-9]*@e2e\.test .*action=quarantine hits=wave' \
	    "$T/sluice.log")
	[ "$n" = 10 ] || fail "sluice held $n of the wave, expected 10"
	grep -Eq 'eom login=w(0[1-9]|10)@e2e\.test .*action=quarantine' \
	    "$T/sluice.log" && fail "one of the first 10 accounts was held"
	pass "sluice: w01..w10 accepted, w11..w20 action=quarantine hits=wave"
	drain
	for n in $(seq 11 20); do
		qid_of "wave-$n.out" 1
	done | sort > "$T/wave-held.expected"
	wait_until 20 "$MTA does not hold w11..w20's messages: $(held_qids | tr '\n' ' ')" \
	    held_match
	pass "$MTA holds exactly the 10 messages of w11..w20: $(tr '\n' ' ' < "$T/wave-held.expected")"
	for n in $(seq 1 20); do
		f=$(sink_file "<e2e-wave-$n-1@e2e.test>")
		if [ "$n" -le 10 ]; then
			[ -n "$f" ] || fail "wave message $n (not held) did not reach the sink"
		else
			[ -z "$f" ] || fail "held wave message $n reached the sink"
		fi
	done
	pass "the sink got the 10 messages not held, none of the held ones"
	release_held
	wait_until 30 "the released messages did not reach the sink" wave_delivered
	[ -z "$(held_qids)" ] || fail "$MTA still holds: $(held_qids)"
	pass "released: the 10 held messages reached the sink; nothing is held"
}

# held_match - the MTA holds exactly the expected wave messages
held_match() {
	[ "$(held_qids)" = "$(cat "$T/wave-held.expected")" ]
}

# wave_delivered - all 20 wave messages are at the sink
wave_delivered() {
	for n in $(seq 1 20); do
		[ -n "$(sink_file "<e2e-wave-$n-1@e2e.test>")" ] || return 1
	done
}

# window_burst / window_retry - seed 002 with a short window (class
# "short": messages 5/12s): a burst of 8 gets 5 through, 3 read 451 4.7.1;
# retried at once they are still refused; retried after the window (a
# client's queue does) they are accepted and each reaches the sink once.
# window_burst starts it, other scenarios run meanwhile, window_retry ends it.
window_burst() {
	step "window: retry@ bursts 8 messages against messages 5/12s"
	t=$(date +%s)
	submit window.out retry@e2e.test --tag window --count 8 --sources 8 \
	    --to victim@remote.test
	WINDOW_T0=$(date +%s)
	# a machine so slow that the burst outlasted the window admits more:
	# say so rather than fail on the load
	[ $((WINDOW_T0 - t)) -lt 10 ] ||
	    fail "the burst of 8 took $((WINDOW_T0 - t)) s: too slow for a 12 s window"
	expect_summary window.out accepted 5 "burst of 8: exactly the limit (5) accepted"
	expect_summary window.out refused 3 "burst of 8: 3 refused"
	n=$(replies window.out refused | grep -Ecx '451 4\.7\.1 Sending limit reached \(5 messages per 12s\); please try again in [0-9]+ seconds?')
	[ "$n" = 3 ] || { cat "$T/window.out";
	    fail "not 451 4.7.1 Sending limit reached (5 messages per 12s) ... in N seconds"; }
	pass "the client reads: $(replies window.out refused | head -n 1)"
	WINDOW_REFUSED=$(sed -n 's/^msg \([0-9]*\) .* result=refused .*/\1/p' \
	    "$T/window.out" | tr '\n' ',' | sed 's/,$//')
	if [ $(($(date +%s) - t)) -lt 6 ]; then
		submit window-early.out retry@e2e.test --tag window \
		    --numbers "$WINDOW_REFUSED" --to victim@remote.test
		expect_summary window-early.out refused 3 \
		    "retried within the window ($WINDOW_REFUSED): still refused"
	fi
}

window_retry() {
	# 12 s, plus one bucket (12 s / 12 buckets: 1 s) of rounding, plus 1
	left=$((WINDOW_T0 + 14 - $(date +%s)))
	step "window: retry $WINDOW_REFUSED after the window (${left}s from now)"
	[ "$left" -le 0 ] || sleep "$left"
	submit window-retry.out retry@e2e.test --tag window \
	    --numbers "$WINDOW_REFUSED" --to victim@remote.test
	expect_summary window-retry.out accepted 3 \
	    "retried after the window: the 3 tempfailed messages are accepted"
	drain
	for n in $(echo "$WINDOW_REFUSED" | tr , ' '); do
		c=$(sink_file "<e2e-window-$n@e2e.test>" | wc -l)
		[ "$c" = 1 ] || fail "retried message $n reached the sink $c times"
	done
	n=$(sink_ids | grep -c '^<e2e-window-')
	[ "$n" = 8 ] || fail "the sink has $n of the 8 window messages"
	pass "all 8 messages of the burst reached the sink, each exactly once"
}

# sluice_down - with sluice gone (killed: a crash, its socket left
# behind), the MTA tempfails (the contrib snippets: milter_default_action =
# tempfail, F=T); then sluice is back
sluice_down() {
	step "sluice down: $MTA tempfails"
	eval "pid=\$PID_sluice"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	submit down.out alice@e2e.test --tag down --to r1@remote.test
	expect_summary down.out refused 1 "sluice killed: the message is refused"
	replies down.out refused | grep -Eq '^4[0-9][0-9] 4\.' ||
	    fail "not a 4xx while sluice is down: $(replies down.out refused)"
	pass "the client reads a 4xx: $(replies down.out refused)"
	s=$(sock_of sluice)
	case $s in unix:*) rm -f "${s#unix:}" ;; esac
	start_sluice sluice
}

# nothing_lost - what the MTA accepted reached the sink exactly once; what
# it refused, the client read as a 4xx/5xx; nothing vanished
nothing_lost() {
	step "nothing_lost: every message accounted for"
	drain
	sent=0 acc=0 ref=0
	for f in "$T"/*.out; do
		grep -q '^summary ' "$f" || continue
		sent=$((sent + $(sed -n 's/^summary .* sent=\([0-9]*\).*/\1/p' "$f")))
		acc=$((acc + $(sed -n 's/^summary .* accepted=\([0-9]*\).*/\1/p' "$f")))
		ref=$((ref + $(sed -n 's/^summary .* refused=\([0-9]*\).*/\1/p' "$f")))
	done
	[ $((acc + ref)) = "$sent" ] ||
	    fail "sent $sent, accepted $acc + refused $ref: some got no answer"
	pass "sent $sent = accepted $acc + refused $ref (every message got a reply)"
	grep -h '^msg .* result=refused ' "$T"/*.out |
	    grep -Ev 'reply="[45][0-9][0-9] [45]\.[0-9]+\.[0-9]+ ' &&
	    fail "a refusal without a 4xx/5xx reply and status code"
	pass "each of the $ref refusals was a 4xx/5xx reply the client read"
	for f in "$T"/*.out; do
		grep -q '^summary ' "$f" && accepted_ids "$(basename "$f")"
	done | sort > "$T/accepted.ids"
	sink_ids > "$T/sink.ids"
	dups=$(uniq -d "$T/sink.ids")
	[ -z "$dups" ] || fail "delivered more than once: $dups"
	missing=$(comm -23 "$T/accepted.ids" "$T/sink.ids")
	[ -z "$missing" ] || fail "accepted but never delivered: $missing"
	extra=$(comm -13 "$T/accepted.ids" "$T/sink.ids")
	[ -z "$extra" ] || fail "delivered but never accepted (refused?): $extra"
	pass "the sink got each of the $acc accepted messages exactly once, and nothing else"
	mta_clean
}
