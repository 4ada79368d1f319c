#!/bin/bash
# identity.sh - issue 5 items 5(b) and 6 over the milter protocol
# (miltertest): From: addresses a login may not use are caught with the
# configured action and the allowed ones pass; a trusted relay's login
# header is ignored from anyone else (the mail stays inbound, uncounted),
# keys the counting from a trusted relay, and without it the envelope
# sender does; local submission (Postfix non_smtpd_milters) is never
# refused at MAIL or RCPT, only at EOM.
. "$(dirname "$0")/lib.sh"
LUA="$(dirname "$0")/identity.lua"
CLASS='class default {
    messages        3/1h
    recipients      100/1h
    max_recipients  2
}'
# identities - the map the tests start from
identities() {
	printf '%s\n' '# login            may also use' \
	    'bob@example.test   sales@example.test,  @shop.example.test' \
	    > "$T/identities"
}
identities

# 1. the From: check, action reject: refused at EOM, logged as hits=from
write_config rej "store memory" "identity_map $T/identities" \
    "identity_action reject" "$CLASS"
start_sluice rej
miltertest_run rej "$LUA" scene=from action=reject
expect_log rej 'eom login=alice@example\.test origin=sasl class=default client=192\.0\.2\.1 .*action=reject hits=from$' \
    "reject: alice's foreign From: refused, hit named from"
n=$(grep -c 'eom login=alice@example.test .*action=reject hits=from' "$T/rej.log")
[ "$n" = 2 ] || fail "expected 2 refused messages of alice (foreign From:, two From:), got $n"
pass "reject: the foreign From: and the two From: headers, nothing else"
grep 'login=bob@example.test' "$T/rej.log" | grep -q 'hits=' &&
    fail "bob's allowed identities were flagged"
pass "reject: bob's sales@ identity from the map passes"
grep 'login=carol ' "$T/rej.log" | grep -q 'hits=' &&
    fail "carol (no address, no entry) was checked"
pass "reject: a login that is no address and has no entry is not checked"
# what the client reads (sluice-bench sends its own From: too: two of them)
bench rej -c 1 -n 1 --login mallory@example.test --header 'From: ceo@victim.example'
expect_field reject 1 "reject: mallory's message refused"
grep -q '550 5.7.1 Message refused: 2 From: headers' "$T/bench.out" ||
    fail "no 550 5.7.1 reply naming the two From: headers"
pass "the client reads: 550 5.7.1 Message refused: 2 From: headers"
# the map is read again on SIGUSR1; a broken one keeps the running map
miltertest_run rej "$LUA" scene=alias expect=eom
echo 'dave@example.test  dave.alias@example.test' >> "$T/identities"
kill -USR1 "$PID_rej"
wait_until 10 "no reload logged" grep -q "configuration reloaded" "$T/rej.log"
miltertest_run rej "$LUA" scene=alias expect=ok
pass "SIGUSR1: dave's new identity passes"
echo 'dave@example.test  not-an-address' >> "$T/identities"
kill -USR1 "$PID_rej"
wait_until 10 "failed reload not logged" grep -q "reload failed" "$T/rej.log"
expect_log rej "reload failed, keeping the running configuration: $T/identities:4: \"not-an-address\": expected addr@domain, @domain or \\*" \
    "a bad identity map on reload: file:line, the running map stays"
miltertest_run rej "$LUA" scene=alias expect=ok
stop_sluice rej
identities

# 2. the default action, tag: accepted, X-Sluice-Flag added, logged
write_config tag "store memory" "identity_map $T/identities" "$CLASS"
start_sluice tag
miltertest_run tag "$LUA" scene=from action=tag
expect_log tag 'eom login=alice@example\.test .*action=tag hits=from$' \
    "tag (default): the foreign From: accepted, tagged and logged"
stop_sluice tag

# 3. trusted relays: the header keys the counting, only from them
write_config tru "store memory" "trusted_networks 192.0.2.0/24, 2001:db8::/32" \
    "trusted_header X-Webmail-User" "$CLASS"
start_sluice tru
miltertest_run tru "$LUA" scene=trusted
grep -q 'login=dave' "$T/tru.log" &&
    fail "the header of an untrusted client keyed its mail"
grep -Eq 'client=198\.51\.100\.7 .*msg/' "$T/tru.log" &&
    fail "mail of an untrusted client without SASL was counted"
pass "trusted header from an untrusted client ignored: the mail stays inbound"
expect_log tru 'eom login=WebUser1 origin=header class=default client=192\.0\.2\.10 via=trusted-header .*msg/1h=3/3 .*action=accept' \
    "trusted header keys the counting (3rd message of WebUser1 accepted)"
expect_log tru 'eom login=WebUser1 .*via=trusted-header .*action=tempfail hits=messages' \
    "trusted header user refused at its limit, at EOM"
expect_log tru 'eom login=webuser2 .*via=trusted-header .*msg/1h=1/3 .*action=accept' \
    "another header user has its own quota"
expect_log tru 'eom login=Cron@Example\.TEST .*via=trusted-sender .*action=tempfail hits=messages' \
    "trusted relay without the header: keyed by the envelope sender"
expect_log tru 'eom login=webuser3 .*action=reject hits=max_recipients' \
    "trusted relay over max_recipients: refused at EOM, not at RCPT"
grep -q ' mail login=\| rcpt login=' "$T/tru.log" &&
    fail "trusted relay mail was decided at MAIL or RCPT"
pass "trusted relay mail decided at EOM only"
stop_sluice tru

# 4. local submission, keyed by sender (the default)
write_config loc "store memory" "$CLASS"
start_sluice loc
miltertest_run loc "$LUA" scene=local localmode=key-by-sender
expect_log loc 'eom login=www-data@example\.test origin=envelope class=default client=unknown via=local-sender .*action=reject hits=max_recipients' \
    "no client address: over max_recipients refused at EOM"
expect_log loc 'eom login=www-data@example\.test .*via=local-sender .*msg/1h=3/3 .*action=tempfail hits=messages' \
    "no client address: counted by its sender, refused at EOM"
# as Postfix's cleanup connects for sendmail(1): localhost [127.0.0.1]:0
bench loc -c 1 -n 2 --inbound --local-submission -r 5
expect_field rcpt_refused 0 "sendmail(1) form: 5 recipients, cap 2, none refused at RCPT"
expect_field mail_refused 0 "sendmail(1) form: nothing refused at MAIL"
expect_field reject 2 "sendmail(1) form: over the cap, refused at EOM"
grep -q '550 5.5.3 Too many recipients in one message (5, at most 2)' \
    "$T/bench.out" || fail "no 550 5.5.3 reply for the local message over the cap"
pass "the local sender reads: 550 5.5.3 Too many recipients in one message (5, at most 2)"
bench loc -c 1 -n 5 --inbound --local-submission -r 2
expect_field accept 3 "sendmail(1) form: 3 messages of bench@bench.test accepted"
expect_field tempfail 2 "sendmail(1) form: the 4th and 5th refused"
expect_field eom_refused 2 "sendmail(1) form: refused at EOM"
expect_log loc 'eom login=bench@bench\.test origin=envelope class=default client=127\.0\.0\.1 via=local-sender .*action=tempfail hits=messages' \
    "sendmail(1) form: keyed by the envelope sender"
grep -q ' mail login=\| rcpt login=' "$T/loc.log" &&
    fail "local submission decided at MAIL or RCPT"
pass "local submission never refused at MAIL or RCPT"
# a real TCP client on loopback (a port) without SASL stays inbound
bench loc -c 1 -n 6 --inbound --client-addr 127.0.0.1 -r 5
expect_field accept 6 "loopback SMTP client without SASL: inbound, not counted"
stop_sluice loc

# 5. local submission as inbound: never counted
write_config lin "store memory" "local_submission inbound" "$CLASS"
start_sluice lin
miltertest_run lin "$LUA" scene=local localmode=inbound
bench lin -c 1 -n 6 --inbound --local-submission -r 5
expect_field accept 6 "local_submission inbound: sendmail(1) mail accepted"
grep -q 'login=www-data\|login=bench' "$T/lin.log" &&
    fail "local_submission inbound counted local mail"
pass "local_submission inbound: never counted"
stop_sluice lin
echo "identity: all passed"
