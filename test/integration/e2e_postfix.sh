#!/bin/bash
# e2e_postfix.sh - sluice behind a real Postfix (Debian's), end to end:
# SMTP clients on one side, smtp-sink on the other, everything on loopback.
#
# Postfix runs from a config directory of the test ($T/pf/etc: main.cf,
# master.cf, the contrib/postfix snippets an administrator would add), its
# own queue, in a sandbox (e2e/sandbox.sh: private /etc view, no DNS).
# Listeners: 127.0.0.1:IN (inbound, no AUTH, mail for local.e2e.test
# only), 127.0.0.1:SUB (submission, STARTTLS + SASL AUTH required, Cyrus
# SASL with a private sasldb) and 127.0.0.1:SUB_B, the same submission
# service whose smtpd_milters is a second sluice (another relay of the
# cluster: same Redis). All go through sluice (unix sockets, Redis
# fixture). Every message Postfix accepts is relayed to smtp-sink.
#
# What the client sees is asserted (250, 451 4.7.1, 452 4.5.3, 550 5.7.1
# and their texts), what reaches the sink, what Postfix holds
# (postqueue), sluice's log lines and Redis's keys. The incident replays
# (e2e/lib_e2e.sh): seed000_inbound, seed002_burst, the short window's
# retries, seed003_fanout, seed004_wave (held, then released with the
# commands of doc/held-mail.md), lock_across_relays, nothing_lost.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e/lib_e2e.sh"

P=$T/pf
SOCK=$T/sluice/sluice.sock
MTA=Postfix
# Postfix sends the queue id ({i}) from RCPT on: a refusal at MAIL is logged
# NOQUEUE
MAIL_QID=NOQUEUE

# submit OUT LOGIN ARGS... - smtpc through submission, STARTTLS + AUTH
submit() {
	out=$1 login=$2
	shift 2
	smtpc "$out" --port "$SUB_PORT" --starttls --auth "$login:pw-$login" \
	    --from "$login" "$@"
}


# held_qids - the queue ids "postqueue -j" lists in the hold queue
held_qids() {
	postqueue -c "$P/etc" -j | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m["queue_name"] == "hold":
        print(m["queue_id"])' | sort
}

# release_held - the commands of doc/held-mail.md: "postqueue -p" marks held mail
# with "!"; "postsuper -H QUEUEID" releases one (to the deferred queue),
# "postsuper -H ALL" the rest; "postqueue -f" has them delivered now
release_held() {
	postqueue -c "$P/etc" -p > "$T/postqueue-p.out"
	for q in $(held_qids); do
		grep -q "^$q! " "$T/postqueue-p.out" ||
		    { cat "$T/postqueue-p.out"; fail "postqueue -p does not mark $q held with !"; }
	done
	pass "postqueue -p marks each held message with ! (as doc/held-mail.md says)"
	postcat -c "$P/etc" -q "$(head -n 1 "$T/wave-held.expected")" \
	    > "$T/postcat.out" 2>&1 || { cat "$T/postcat.out"; fail "postcat -q"; }
	grep -q '^The same text, sent by many accounts' "$T/postcat.out" ||
	    fail "postcat -q does not show the held message"
	pass "postcat -q QUEUEID shows a held message"
	first=$(head -n 1 "$T/wave-held.expected")
	postsuper -c "$P/etc" -H "$first" > "$T/postsuper.out" 2>&1 ||
	    { cat "$T/postsuper.out"; fail "postsuper -H $first"; }
	held_qids | grep -qx "$first" && fail "postsuper -H $first did not release it"
	[ "$(held_qids | wc -l)" = 9 ] || fail "postsuper -H $first released more"
	pass "postsuper -H $first releases that one only"
	postsuper -c "$P/etc" -H ALL > "$T/postsuper.out" 2>&1 ||
	    { cat "$T/postsuper.out"; fail "postsuper -H ALL"; }
	[ -z "$(held_qids)" ] || fail "postsuper -H ALL left some held"
	pass "postsuper -H ALL releases the other 9"
	postqueue -c "$P/etc" -f || fail "postqueue -f"
}

# drain - wait (up to 30 s) until Postfix has delivered everything
drain() {
	i=0
	until postfix_queue_empty; do
		i=$((i + 1))
		[ $i -lt 300 ] || { postqueue -c "$P/etc" -p >&2;
		    fail "Postfix's queue did not drain in 30 s"; }
		sleep 0.1
	done
	sleep 0.2
}

# qid_of OUT N - the queue id in Postfix's reply to message N of $T/OUT
qid_of() {
	sed -n "s/^msg $2 .*result=accepted reply=\"250 .* queued as \([0-9A-Za-z]*\)\"$/\1/p" "$T/$1"
}

# mta_clean - Postfix deferred and bounced nothing, holds nothing
mta_clean() {
	grep -E 'status=(deferred|bounced)' "$T/postfix.log" &&
	    fail "Postfix deferred or bounced mail"
	[ -z "$(find "$P/spool/hold" -type f 2>/dev/null)" ] ||
	    fail "Postfix still holds mail"
	pass "Postfix deferred and bounced nothing, holds nothing"
}

# lock_across_relays - seeds 001/002/004: locked@ (class "tiny", 1
# message an hour) keeps sending through submission port A (sluice A);
# its 31st refusal trips lock_after 30/1h; its next message through port B
# (a second submission service whose smtpd_milters is sluice B, same Redis)
# is refused as locked at once; other logins still pass through B
lock_across_relays() {
	step "lock_across_relays: locked@ trips the lock on A, is refused on B"
	submit lock-a.out locked@e2e.test --tag lock-a --count 33 \
	    --one-session --to x@remote.test
	expect_summary lock-a.out accepted 1 "relay A: the class's 1 message accepted"
	expect_summary lock-a.out refused 32 "relay A: 32 refused"
	expect_log sluice 'login=locked@e2e\.test origin=sasl client=127\.0\.0\.1 locked on every relay: refused 31 times in 1h \(lock_after 30/1h\)' \
	    "relay A: the lock is logged with its reason"
	SUB_PORT=$SUB_B_PORT submit lock-b.out locked@e2e.test --tag lock-b \
	    --to x@remote.test
	expect_summary lock-b.out refused 1 "relay B: the locked login's next message is refused"
	r=$(replies lock-b.out refused)
	[ "$r" = "451 4.7.1 This account is locked; please contact your provider" ] ||
	    fail "relay B: not the locked reply: $r"
	pass "relay B: the client reads $r"
	expect_log sluiceb 'mail login=locked@e2e\.test .*action=tempfail hits=.*locked' \
	    "relay B (sluice B) refused it at MAIL as locked"
	SUB_PORT=$SUB_B_PORT submit lock-b2.out alice@e2e.test --tag lock-b2 \
	    --to r1@remote.test
	expect_summary lock-b2.out accepted 1 "relay B: another login still passes"
	expect_log sluiceb 'eom login=alice@e2e\.test .*action=accept' \
	    "relay B: its message went through sluice B"
}

# local_seen N - sluice has decided on N messages of www@e2e.test
local_seen() {
	[ "$(grep -c 'eom login=www@e2e.test ' "$T/sluice.log")" -ge "$1" ]
}

# local_submission - sendmail(1) through non_smtpd_milters: no SASL,
# Postfix's client "localhost" [127.0.0.1] port 0; sluice counts the
# sender (local_submission key-by-sender) and never refuses at RCPT
# (Postfix would call that a configuration error): only at EOM
local_submission() {
	step "local submission: sendmail(1) mail, counted by its sender at EOM"
	printf 'From: www@e2e.test\nSubject: local many\nMessage-ID: <e2e-local-many@e2e.test>\n\nhi\n' |
	    sendmail -C "$P/etc" -f www@e2e.test r1@remote.test r2@remote.test \
	    r3@remote.test r4@remote.test r5@remote.test r6@remote.test \
	    r7@remote.test || fail "sendmail(1) failed"
	wait_until 60 "sluice decided on the local message to 7" \
	    grep -q 'eom login=www@e2e.test .*rcpts=7 ' "$T/sluice.log"
	for i in $(seq 1 11); do
		printf 'From: www@e2e.test\nTo: r1@remote.test\nSubject: local %s\nMessage-ID: <e2e-local-%s@e2e.test>\n\nhi\n' \
		    "$i" "$i" | sendmail -C "$P/etc" -f www@e2e.test \
		    r1@remote.test || fail "sendmail(1) failed"
	done
	wait_until 60 "sluice decided on 12 local messages" local_seen 12
	expect_log sluice 'eom login=www@e2e\.test origin=envelope class=default client=127\.0\.0\.1 via=local-sender rcpts=1 .*msg/1h=10/10 .*action=accept' \
	    "sendmail(1) mail seen as local submission, keyed by its sender"
	expect_log sluice 'eom login=www@e2e\.test .*via=local-sender .*action=tempfail hits=messages' \
	    "the 11th local message refused at EOM (4xx: Postfix keeps it queued)"
	expect_log sluice 'eom login=www@e2e\.test .*via=local-sender rcpts=7 .*action=reject hits=max_recipients' \
	    "7 recipients over max_recipients 5: refused at EOM"
	grep -q ' mail login=www@\| rcpt login=www@' "$T/sluice.log" &&
	    fail "local submission decided at MAIL or RCPT"
	grep -q "can't reject recipient" "$T/postfix.log" &&
	    fail "Postfix: milter configuration error (recipient refused)"
	pass "never refused at MAIL or RCPT (Postfix logged no configuration error)"
	grep -q 'milter-reject: END-OF-MESSAGE from localhost\[127\.0\.0\.1\]: 4\.7\.1 Sending limit reached' \
	    "$T/postfix.log" || fail "Postfix did not log the EOM tempfail"
	pass "Postfix: milter-reject: END-OF-MESSAGE from localhost[127.0.0.1]: 4.7.1 ..."
}

# ------------------------------------------------------------------ setup
step "setup: smtp-sink, sasldb, sluice, Postfix"
sink_start
SASLDB_GROUP=postfix sasldb $USERS

# sluice becomes "postfix" so that smtpd can use its 0660 socket (an
# installation uses a user "sluice" and adds postfix to its group)
mkdir -p "$T/sluice"
chown postfix "$T/sluice"
sluice_config sluice "unix:$SOCK" "user postfix" \
    "pidfile $T/sluice/sluice.pid" "$CLASS"
rm -f "$SOCK"
start_sluice sluice
# a second relay: the same configuration and Redis prefix, on TCP
# (inet:, loopback) with the hop marker on: tcp_no_stall runs through it
MILTER_B_PORT=$(free_port)
SOCKB=inet:127.0.0.1:$MILTER_B_PORT
head -c 32 /dev/urandom > "$T/hop.key"
chown postfix "$T/hop.key"
chmod 0600 "$T/hop.key"
sed -e "s|^socket .*|socket inet:$MILTER_B_PORT@127.0.0.1|" \
    -e "s|^pidfile .*|pidfile $T/sluice/sluiceb.pid|" "$T/sluice.conf" \
    > "$T/sluiceb.conf"
echo "hop_key_file $T/hop.key" >> "$T/sluiceb.conf"
start_sluice sluiceb
wait_port "$MILTER_B_PORT" "sluice B (inet:)" 100
grep -q "milter socket inet:$MILTER_B_PORT@127.0.0.1: TCP_NODELAY and TCP_QUICKACK on each connection" \
    "$T/sluiceb.log" || { cat "$T/sluiceb.log"; fail "sluice B did not confirm TCP_NODELAY and TCP_QUICKACK"; }
pass "sluice B on inet: says TCP_NODELAY and TCP_QUICKACK on each connection"

IN_PORT=$(free_port)
SUB_PORT=$(free_port_but "$IN_PORT" "$SINK_PORT")
SUB_B_PORT=$(free_port_but "$IN_PORT" "$SINK_PORT" "$SUB_PORT")
postfix_setup
postconf -c "$P/etc" -e "smtpd_milters = unix:$SOCK" \
    "non_smtpd_milters = unix:$SOCK" || fail "postconf smtpd_milters"
# inbound on 127.0.0.1:$IN_PORT, submission (contrib/postfix/master.cf)
# on :$SUB_PORT, the same on :$SUB_B_PORT through sluice B (another relay)
echo "127.0.0.1:$IN_PORT inet n - n - - smtpd" >> "$P/etc/master.cf"
postfix_submission "$SUB_PORT"
postfix_submission "$SUB_B_PORT" "smtpd_milters=$SOCKB"
postfix_start "$IN_PORT" "$SUB_PORT" "$SUB_B_PORT"
pass "Postfix $(postconf -c "$P/etc" -h mail_version) on 127.0.0.1:$IN_PORT (inbound), :$SUB_PORT (submission), :$SUB_B_PORT (submission B, sluice B), sink :$SINK_PORT"

one_message
window_burst
max_recipients
identity_percent
seed000_inbound
seed002_burst
seed003_fanout
seed004_wave
lock_across_relays
tcp_no_stall "$SUB_B_PORT"
window_retry
sluice_down
nothing_lost
local_submission
step "done"
kill -TERM "$PID_sluice" "$PID_sluiceb" 2>/dev/null || true
sandbox_stop "$PF_SANDBOX"
stop_sluice sluice
stop_sluice sluiceb
echo "e2e_postfix: all passed in $(elapsed)s"
