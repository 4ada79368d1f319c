#!/bin/bash
# e2e_postfix_loop.sh - seed 003's reflection loop between two real
# Postfix instances: A relays the domain loop.e2e.test to B and B relays
# it back to A (transport_maps), as the faulty servers of seed 003 did.
# Each has its own sluice (one cluster: the same cluster_id and hop key,
# hop_limit 5, max_received 50). One inbound message to that domain goes
# round until a sluice refuses it with 554 5.4.6 at the hop limit - after
# 5 passes, not after 50 Received: headers (max_received, Postfix's own
# hop_count_limit) - the Postfix that was relaying it bounces it to its
# sender (at smtp-sink), and both queues are empty.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e/lib_e2e.sh"

MTA=Postfix
step "setup: smtp-sink, hop key, two sluices, two Postfix instances"
sink_start
A_PORT=$(free_port_but "$SINK_PORT")
B_PORT=$(free_port_but "$A_PORT" "$SINK_PORT")

mkdir -p "$T/sluice"
chown postfix "$T/sluice"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/sluice/hop.key"
chown postfix "$T/sluice/hop.key"
chmod 0600 "$T/sluice/hop.key"

# pf_start NAME PORT NEXT-PORT - start Postfix NAME on 127.0.0.1:PORT (inbound,
# no AUTH), relaying loop.e2e.test to 127.0.0.1:NEXT-PORT and everything
# else (bounces) to the sink, through sluice NAME
pf_start() {
	n=$1 port=$2 next=$3
	D=$T/pf-$n
	sock=$T/sluice/$n.sock
	cat > "$T/$n.conf" <<EOF
socket unix:$sock
user postfix
syslog no
pidfile $T/sluice/$n.pid
store memory
control_socket $T/sluice/$n.ctl
state_file $T/sluice/$n.state
cluster_id e2e-loop
hop_key_file $T/sluice/hop.key
hop_limit 5
max_received 50
EOF
	start_sluice "$n"
	mkdir -p "$D/etc" "$D/spool" "$D/data"
	chown postfix "$D/data"
	cat > "$D/etc/main.cf" <<EOF
# e2e_postfix_loop.sh: relay $n of a loop, on loopback
compatibility_level = 3.6
queue_directory = $D/spool
data_directory = $D/data
maillog_file = $T/postfix-$n.log
maillog_file_prefixes = $T
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = relay-$n.e2e.test
mydomain = e2e.test
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
mynetworks =
# the faulty routing: this domain goes to the other relay
relay_domains = loop.e2e.test
transport_maps = inline:{loop.e2e.test=smtp:[127.0.0.1]:$next}
smtpd_relay_restrictions = reject_unauth_destination
relayhost = [127.0.0.1]:$SINK_PORT
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtp_tls_security_level = none
in_flow_delay = 0
smtpd_error_sleep_time = 0
biff = no
EOF
	{
		echo
		echo "# ---- contrib/postfix/main.cf"
		cat "$SLUICE_SRC/contrib/postfix/main.cf"
	} >> "$D/etc/main.cf"
	postconf -c "$D/etc" -e "smtpd_milters = unix:$sock" ||
	    fail "postconf smtpd_milters"
	{
		echo "127.0.0.1:$port inet n - n - - smtpd"
		postfix_services
	} > "$D/etc/master.cf"
	postfix -c "$D/etc" check > "$T/postfix-check-$n.out" 2>&1 ||
	    { cat "$T/postfix-check-$n.out"; fail "postfix check ($n)"; }
	touch "$D/spool/quick-start"
	export SANDBOX_STOP="postfix -c $D/etc stop"
	sandbox_start "pf-$n" postfix -c "$D/etc" start-fg
	unset SANDBOX_STOP
	eval "SANDBOX_$n=\$SANDBOX_PID"
}
# both start side by side (a Postfix takes a few seconds)
pf_start a "$A_PORT" "$B_PORT"
pf_start b "$B_PORT" "$A_PORT"
wait_port "$A_PORT" "Postfix a" 300
wait_port "$B_PORT" "Postfix b" 300
pass "Postfix A on 127.0.0.1:$A_PORT relays loop.e2e.test to B on :$B_PORT, and B back to A; sink :$SINK_PORT"

# queues_empty - neither Postfix holds a message
queues_empty() {
	[ -z "$(find "$T/pf-a/spool" "$T/pf-b/spool" -type f \
	    \( -path '*/incoming/*' -o -path '*/active/*' -o -path '*/deferred/*' \
	    -o -path '*/hold/*' \) 2>/dev/null)" ]
}

# bounced - one Postfix logged the bounce of the looping message
bounced() {
	grep -q 'to=<x@loop.e2e.test>.* status=bounced' "$T"/postfix-a.log \
	    "$T"/postfix-b.log 2>/dev/null
}

step "one inbound message to x@loop.e2e.test"
smtpc loop.out --port "$A_PORT" --from loop-sender@remote.test \
    --to x@loop.e2e.test --tag loop
expect_summary loop.out accepted 1 "Postfix A accepts the message (inbound, no AUTH)"
wait_until 60 "the loop was not stopped in 60 s" bounced
wait_until 30 "the queues did not drain" queues_empty
sleep 0.5
grep -h 'status=bounced' "$T"/postfix-a.log "$T"/postfix-b.log > "$T/bounced.txt"
[ "$(wc -l < "$T/bounced.txt")" = 1 ] || { cat "$T/bounced.txt";
    fail "not exactly one bounce"; }
grep -q 'said: 554 5\.4\.6 Message refused: .*(in reply to end of DATA command)' \
    "$T/bounced.txt" || { cat "$T/bounced.txt"; fail "not refused 554 5.4.6 at end of DATA"; }
pass "stopped: $(sed 's/.*said: //' "$T/bounced.txt")"

# passes: the client's delivery to A, then each relay's delivery that the
# other accepted (status=sent); then the refused one
rej=$(cat "$T/a.log" "$T/b.log" | grep -c 'eom .*action=reject hits=loop')
[ "$rej" = 1 ] || fail "$rej loop refusals logged by the sluices, expected 1"
sent=$(cat "$T/postfix-a.log" "$T/postfix-b.log" |
    grep -c 'to=<x@loop.e2e.test>.* status=sent')
[ $((sent + 1)) = 5 ] || fail "the message was accepted $((sent + 1)) times before it was stopped, expected hop_limit 5"
n=$(cat "$T/postfix-a.log" "$T/postfix-b.log" | grep -c 'milter-reject: END-OF-MESSAGE .* 5\.4\.6 ')
[ "$n" = 1 ] || fail "$n milter-reject lines with 5.4.6"
pass "accepted 5 times (hop_limit 5: the client's delivery + $sent relays), then refused once by sluice (milter-reject 5.4.6): far below max_received 50"
grep -q 'status=bounced' "$T/postfix-a.log" && by=A || by=B
pass "Postfix $by got the 554 and bounced it"

# the sink: only the bounce, to the sender, quoting the 554
grep -l 'X-Rcpt-Args: <loop-sender@remote.test>' "$T"/sink/m.* > "$T/dsn.files" 2>/dev/null || true
[ "$(wc -l < "$T/dsn.files")" = 1 ] || fail "the sender did not get exactly one bounce"
f=$(cat "$T/dsn.files")
grep -q '554 5.4.6' "$f" || fail "the bounce does not quote 554 5.4.6"
grep -q '^Message-ID: <e2e-loop-1@e2e.test>' "$f" ||
    fail "the bounce does not carry the looping message"
[ "$(find "$T/sink" -type f | wc -l)" = 1 ] ||
    fail "the sink got something besides the bounce"
pass "the sink got one bounce, to loop-sender@remote.test, quoting 554 5.4.6; nothing else left the loop"
rec=$(grep -c '^Received:' "$f" || true)
pass "the bounce (with the returned message) carries $rec Received: headers"

step "done"
# stopped side by side: each takes seconds
for u in "$SANDBOX_a" "$SANDBOX_b"; do
	kill -TERM $(cat "/proc/$u/task/$u/children") 2>/dev/null || true
done
kill -TERM "$PID_a" "$PID_b" 2>/dev/null || true
sandbox_stop "$SANDBOX_a"
sandbox_stop "$SANDBOX_b"
stop_sluice a
stop_sluice b
echo "e2e_postfix_loop: all passed in $(elapsed)s"
