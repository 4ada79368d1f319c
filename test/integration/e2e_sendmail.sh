#!/bin/bash
# e2e_sendmail.sh - sluice behind a real Sendmail (Debian's), end to end:
# SMTP clients on one side, smtp-sink on the other, everything on loopback.
#
# Debian will not install Sendmail beside Postfix (both are the system's
# mail-transport-agent), so its packages are downloaded and unpacked into
# the build tree (e2e/sendmail-debs.sh), never installed. Its sendmail.cf
# is made by m4 from the unpacked sendmail-cf with e2e/sendmail.mc.in,
# which includes contrib/sendmail/sluice.m4 as an administrator would (the
# socket changed to the test's). It runs as "sendmail -bD" in a sandbox
# (e2e/sandbox.sh: private /etc view with Sendmail.conf for Cyrus SASL, a
# qualified host name, no DNS, its syslog caught), queue in the test dir.
# Listeners: 127.0.0.1:IN (inbound, no AUTH; local.e2e.test is relayed),
# 127.0.0.1:SUB (MSA, SMTP AUTH required, Cyrus SASL with a private
# sasldb). Both go through sluice (the snippet's unix:/run/sluice/sluice.sock,
# which the sandbox maps to $T/sluice; Redis fixture). Every message
# Sendmail accepts is relayed to smtp-sink.
#
# The same scenarios as e2e_postfix.sh (e2e/lib_e2e.sh) but the lock
# across relays: what the client sees, what reaches the sink, what
# Sendmail quarantines (mailq -qQ), sluice's log and Redis's keys; the
# incident replays seed000_inbound, seed002_burst, the short window's
# retries, seed003_fanout, seed004_wave, nothing_lost.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e/lib_e2e.sh"

S=$T/sm
MTA=Sendmail
# Sendmail sends the queue id ({i}) at MAIL already
MAIL_QID='[0-9A-Za-z]{14}'

# submit OUT LOGIN ARGS... - smtpc through the MSA port, AUTH PLAIN
submit() {
	out=$1 login=$2
	shift 2
	smtpc "$out" --port "$SUB_PORT" --auth "$login:pw-$login" \
	    --from "$login" "$@"
}

# drain - wait (up to 30 s) until Sendmail's queue is empty (quarantined
# messages, hf + df files, aside)
drain() {
	i=0
	until sendmail_queue_empty; do
		i=$((i + 1))
		[ $i -lt 300 ] || { ls -l "$S/mqueue" >&2;
		    fail "Sendmail's queue did not drain in 30 s"; }
		sleep 0.1
	done
	sleep 0.2
}

# qid_of OUT N - the queue id in Sendmail's reply to message N of $T/OUT
qid_of() {
	sed -n "s/^msg $2 .*result=accepted reply=\"250 2\.0\.0 \([0-9A-Za-z]*\) Message accepted for delivery\"$/\1/p" "$T/$1"
}

# smq ARGS... - Sendmail's own command (mailq, queue runs) in its sandbox
smq() {
	in_sandbox "$SM_SANDBOX" "$SENDMAIL" -C "$S/sendmail.cf" "$@"
}

# held_qids - the queue ids "mailq -qQ" lists (Sendmail's quarantine)
held_qids() {
	smq -bp -qQ > "$T/mailq-qQ.out" 2>&1 || { cat "$T/mailq-qQ.out" >&2;
	    fail "mailq -qQ failed"; }
	sed -n 's/^\([0-9A-Za-z]\{14\}\)[*X-]*[[:space:]].*/\1/p' \
	    "$T/mailq-qQ.out" | sort
}

# release_held - the commands of doc/held-mail.md: "mailq -qQ" shows each held
# message with its reason; "sendmail -Q -qQ -qI<id>" (-Q without a reason)
# takes one out of quarantine, "sendmail -Q -qQ" all of them; then
# "sendmail -q" delivers them now
release_held() {
	smq -bp -qQ > "$T/mailq-qQ.out" 2>&1
	n=$(grep -c 'QUARANTINE: wave: the same message from more than 10 accounts per 1h' \
	    "$T/mailq-qQ.out" || true)
	[ "$n" = 10 ] || { cat "$T/mailq-qQ.out";
	    fail "mailq -qQ shows $n QUARANTINE: reasons naming the wave, not 10"; }
	pass "mailq -qQ lists the 10, each with its reason: $(grep -m1 'QUARANTINE:' "$T/mailq-qQ.out" | sed 's/^ *//')"
	first=$(head -n 1 "$T/wave-held.expected")
	smq -Q -qQ "-qI$first" > "$T/release.out" 2>&1 || { cat "$T/release.out";
	    fail "sendmail -Q -qQ -qI$first"; }
	held_qids | grep -qx "$first" &&
	    fail "sendmail -Q -qQ -qI$first did not release $first"
	[ "$(held_qids | wc -l)" = 9 ] || fail "sendmail -Q -qQ -qI$first released more than $first"
	pass "sendmail -Q -qQ -qI$first releases that one only"
	smq -Q -qQ > "$T/release.out" 2>&1 || { cat "$T/release.out";
	    fail "sendmail -Q -qQ"; }
	[ -z "$(held_qids)" ] || fail "sendmail -Q -qQ left some quarantined"
	pass "sendmail -Q -qQ releases the other 9"
	smq -q > "$T/queuerun.out" 2>&1 || { cat "$T/queuerun.out";
	    fail "sendmail -q"; }
}

# mta_clean - Sendmail deferred and bounced nothing
mta_clean() {
	grep -E 'stat=(Deferred|Service unavailable)|DSN:|return to sender' \
	    "$T/sm.syslog.log" && fail "Sendmail deferred or bounced mail"
	pass "Sendmail deferred and bounced nothing"
}

# ------------------------------------------------------------------ setup
step "setup: Sendmail's packages, smtp-sink, sasldb, sluice, Sendmail"
sendmail_setup
# (not "sendmail -d0.1" here: outside the sandbox it would look its host
# name up in DNS and sleep a minute)
pass "Debian's Sendmail $(basename "$(dirname "$SM_ROOT")") unpacked in $SM_ROOT"

sink_start
# Sendmail refuses a group-readable sasldb
SASLDB_MODE=0600 sasldb $USERS

# the socket of contrib/sendmail/sluice.m4, /run/sluice/sluice.sock, is
# $T/sluice/sluice.sock outside the sandbox
mkdir -p "$T/sluice"
chmod 0755 "$T/sluice"
sluice_config sluice "unix:$T/sluice/sluice.sock" "pidfile $T/sluice.pid" \
    "$CLASS"
start_sluice sluice
# sluice B: the same configuration and Redis prefix on TCP (inet:,
# loopback) with the hop marker on, the filter of the MSA port B
MILTER_B_PORT=$(free_port)
head -c 32 /dev/urandom > "$T/hop.key"
chmod 0600 "$T/hop.key"
sed -e "s|^socket .*|socket inet:$MILTER_B_PORT@127.0.0.1|" \
    -e "s|^pidfile .*|pidfile $T/sluiceb.pid|" "$T/sluice.conf" \
    > "$T/sluiceb.conf"
echo "hop_key_file $T/hop.key" >> "$T/sluiceb.conf"
start_sluice sluiceb
expect_log sluiceb "milter socket inet:$MILTER_B_PORT@127\.0\.0\.1: TCP_NODELAY and TCP_QUICKACK on each connection" \
    "sluice B on inet: says TCP_NODELAY and TCP_QUICKACK on each connection"

IN_PORT=$(free_port)
SUB_PORT=$(free_port_but "$IN_PORT" "$SINK_PORT")
SUB_B_PORT=$(free_port_but "$IN_PORT" "$SINK_PORT" "$SUB_PORT")
# inbound (no AUTH; mail for local.e2e.test is relayed on), submission
# (AUTH required: M=a), and sluice as an administrator adds it; a second
# MSA port whose only filter is sluice B, on TCP (inet:, loopback) with
# the hop marker on: tcp_no_stall runs through it
cat > "$S/daemons.m4" <<EOF2
DAEMON_OPTIONS(\`Port=$IN_PORT, Addr=127.0.0.1, Name=MTA')dnl
DAEMON_OPTIONS(\`Port=$SUB_PORT, Addr=127.0.0.1, Name=MSA, M=Ea')dnl
include(\`$S/sluice.m4')dnl
MAIL_FILTER(\`sluiceb', \`S=inet:$MILTER_B_PORT@127.0.0.1, F=T, T=S:30s;R:30s;E:1m')dnl
DAEMON_OPTIONS(\`Port=$SUB_B_PORT, Addr=127.0.0.1, Name=MSAB, M=Ea, InputMailFilters=sluiceb')dnl
EOF2
sendmail_start "$T/sluice" "$IN_PORT" "$SUB_PORT" "$SUB_B_PORT"
grep -q "^Xsluice, S=unix:/run/sluice/sluice.sock, F=T" "$S/sendmail.cf" ||
    fail "sendmail.cf has no sluice filter on unix:/run/sluice/sluice.sock"
grep -q '^O Milter.macros.envfrom=.*{auth_authen}' "$S/sendmail.cf" ||
    fail "sendmail.cf does not send {auth_authen} at MAIL"
pass "sendmail.cf made by m4 with contrib/sendmail/sluice.m4"
pass "Sendmail on 127.0.0.1:$IN_PORT (inbound), :$SUB_PORT (MSA, AUTH), sink :$SINK_PORT"

one_message
window_burst
max_recipients
identity_percent
seed000_inbound
seed002_burst
seed003_fanout
seed004_wave
tcp_no_stall "$SUB_B_PORT"
window_retry
sluice_down
nothing_lost
step "done"
sandbox_stop "$SM_SANDBOX"
stop_sluice sluice
stop_sluice sluiceb
echo "e2e_sendmail: all passed in $(elapsed)s"
