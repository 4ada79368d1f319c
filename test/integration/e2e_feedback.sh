#!/bin/bash
# e2e_feedback.sh - delivery feedback (doc/feedback.md) with a real Postfix:
# seed 001 replayed, with the Redis store (counted cluster-wide). An account under its sending limit (messages 100/1h)
# whose mail remote servers refuse (550 5.1.1) is locked by sluice's
# feedback reader, which follows Postfix's own log (maillog_file), within
# the window: the log line, then its next message refused as locked. A
# normal account with a few bounces is not locked. Deferrals (451) are
# counted and shown in the metrics. Then sluice is restarted: it resumes
# where it stopped (feedback_state) and counts nothing twice.
# sluicectl show lists the login's remote_* windows.
#
# Postfix relays everything to e2e/rejsink.py, which answers 550 5.1.1
# for recipients bad*@, 451 4.7.1 for slow*@ and 250 for the rest.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e/lib_e2e.sh"

P=$T/pf
SOCK=$T/sluice/sluice.sock
SPAMMER=spammer@e2e.test
NORMAL=normal@e2e.test

submit() {
	out=$1 login=$2
	shift 2
	smtpc "$out" --port "$SUB_PORT" --starttls --auth "$login:pw-$login" \
	    --from "$login" "$@"
}

step "setup: rejsink, sasldb, sluice (feedback_log = Postfix's log), Postfix"
SINK_PORT=$(free_port)
python3 "$E2E/rejsink.py" "$SINK_PORT" >> "$T/rejsink.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$SINK_PORT" "rejsink" 100
SASLDB_GROUP=postfix sasldb "$SPAMMER" "$NORMAL" other@e2e.test

mkdir -p "$T/sluice"
chown postfix "$T/sluice"
# Postfix's postlogd appends to it; sluice (user postfix here) reads it
: > "$T/postfix.log"
chmod 0644 "$T/postfix.log"
METRICS_PORT=$(free_port)
cat > "$T/sluice.conf" <<EOF
socket unix:$SOCK
user postfix
syslog no
pidfile $T/sluice/sluice.pid
store redis
redis_server 127.0.0.1:$(redis_port)
redis_prefix t-e2e-feedback-$$:
metrics_listen 127.0.0.1:$METRICS_PORT
feedback_log $T/postfix.log
feedback_format postfix
feedback_state $T/sluice/feedback.state
feedback_action lock
feedback_poll 200ms
class default {
    messages          100/1h
    recipients        500/1h
    remote_rejects    5/1h
    remote_deferrals  50/1h
    remote_unknown    5/1h
}
EOF
start_sluice sluice
wait_until 10 "sluice did not start its feedback reader" \
    grep -q "feedback: reading $T/postfix.log (postfix)" "$T/sluice.log"
pass "sluice reads $T/postfix.log (postfix) in its own thread"

IN_PORT=$(free_port)
SUB_PORT=$(free_port_but "$IN_PORT" "$SINK_PORT")
# the shared throw-away Postfix (e2e/mta.sh): everything relayed to the sink
postfix_setup
postconf -c "$P/etc" -e "smtpd_milters = unix:$SOCK" \
    "non_smtpd_milters =" || fail "postconf smtpd_milters"
echo "127.0.0.1:$IN_PORT inet n - n - - smtpd" >> "$P/etc/master.cf"
postfix_submission "$SUB_PORT"
postfix_start "$SUB_PORT"
pass "Postfix $(postconf -c "$P/etc" -h mail_version) submission on 127.0.0.1:$SUB_PORT relays to rejsink :$SINK_PORT"

# outcomes STATUS - queue ids Postfix's smtp logged with status=STATUS
outcomes() {
	grep -h " status=$1 " "$T/postfix.log" 2>/dev/null |
	    sed -n 's/.*postfix\/smtp\[[0-9]*\]: \([0-9A-Za-z]*\): .*/\1/p' |
	    sort -u | wc -l
}

# at_least N COMMAND... - COMMAND prints a number >= N (for wait_until:
# its arguments are expanded once, the command runs each time)
at_least() {
	n=$1
	shift
	[ "$("$@")" -ge "$n" ] 2>/dev/null
}

# lines_with TEXT - lines of Postfix's log with TEXT
lines_with() {
	grep -c -- "$1" "$T/postfix.log"
}

# metric NAME - a value from the metrics page
metric() {
	page_metric "$METRICS_PORT" "$1"
}

step "a normal account: 8 messages, 2 of them to an unknown recipient"
submit normal.out "$NORMAL" --to friend@remote.test --count 6 --tag n1
submit normal-bad.out "$NORMAL" --to bad-typo@remote.test --count 2 --tag n2
expect_summary normal.out accepted 6 "the normal account's 6 messages accepted"
expect_summary normal-bad.out accepted 2 "its 2 to an unknown recipient accepted (refused later, remotely)"
wait_until 30 "Postfix did not log the normal account's 2 bounces" \
    at_least 2 outcomes bounced

step "seed 001: an account far under messages 100/1h whose mail is refused remotely"
T0=$(date +%s)
submit spam-slow.out "$SPAMMER" --to slow-1@remote.test --count 3 --tag s2
expect_summary spam-slow.out accepted 3 "its 3 to a deferring server accepted"
submit spam.out "$SPAMMER" --to bad-1@remote.test --to bad-2@remote.test \
    --count 6 --tag s1
# 3 messages make the 6th bounce: the lock may come while it still sends
acc=$(summary spam.out accepted)
[ "$acc" -ge 3 ] || { cat "$T/spam.out"; fail "only $acc of its messages accepted"; }
pass "$acc of its 6 messages to unknown recipients accepted (under every sending limit; the rest refused once locked)"
wait_until 30 "sluice did not lock the spammer from its bounces" \
    grep -q "feedback: .* login=$SPAMMER locked on every relay" "$T/sluice.log"
T1=$(date +%s)
grep -E "feedback: [0-9A-Za-z]+: login=$SPAMMER class=default over remote_(rejects|unknown) 5/1h \(last [0-9A-Za-z]+ dsn=5\.1\.1\): lock$" \
    "$T/sluice.log" > "$T/fired.txt" ||
    fail "no feedback line naming remote_rejects/remote_unknown 5/1h"
pass "the log line: $(head -n 1 "$T/fired.txt" | sed 's/.*feedback: //')"
pass "locked $((T1 - T0)) s after its first message (window 1h)"
[ "$(grep -c "login=$SPAMMER locked on every relay" "$T/sluice.log")" = 1 ] ||
    fail "locked more than once"

"$SLUICECTL" -c "$T/sluice.conf" show "$SPAMMER" > "$T/show.out" 2>&1 ||
    { cat "$T/show.out"; fail "sluicectl show"; }
grep -Eq '^remote_rejects +1h +([6-9]|[1-9][0-9]) +5$' "$T/show.out" ||
    { cat "$T/show.out"; fail "sluicectl show: no remote_rejects 1h count over 5"; }
pass "sluicectl show: $(grep '^remote_rejects' "$T/show.out" | tr -s ' ')"
grep -Eq '^remote_deferrals +1h +[0-9]+ +50$' "$T/show.out" ||
    { cat "$T/show.out"; fail "sluicectl show: no remote_deferrals line"; }

step "its next message is refused as locked; the normal account's is not"
submit spam-after.out "$SPAMMER" --to friend@remote.test --count 1 --tag s3
expect_summary spam-after.out accepted 0 "the locked account's next message refused"
replies spam-after.out refused | grep -q '451 4.7.1 This account is locked' ||
    { cat "$T/spam-after.out"; fail "not refused with 451 4.7.1 This account is locked"; }
pass "refused: 451 4.7.1 This account is locked; please contact your provider"
expect_log sluice "login=$SPAMMER .*hits=locked" "sluice logged the refusal hits=locked"
submit normal-after.out "$NORMAL" --to friend@remote.test --count 1 --tag n3
expect_summary normal-after.out accepted 1 "the normal account (2 bounces, under remote_rejects 5/1h) still sends"
grep -q "login=$NORMAL .*over remote" "$T/sluice.log" &&
    fail "the normal account tripped a feedback limit"
pass "no feedback line for the normal account"

step "metrics: lines read, outcomes, the detector label"
wait_until 30 "the deferrals were not logged" at_least 3 outcomes deferred
sleep 1
lines=$(metric sluice_feedback_lines_total)
[ "${lines:-0}" -gt 0 ] || fail "sluice_feedback_lines_total = '$lines'"
b=$(metric 'sluice_feedback_outcomes_total{outcome="bounced"}')
d=$(metric 'sluice_feedback_outcomes_total{outcome="deferred"}')
[ "${b:-0}" -ge 8 ] || fail "bounced outcomes = $b, expected >= 8 (2 normal + 2 per spam message)"
[ "${d:-0}" -ge 3 ] || fail "deferred outcomes = $d, expected >= 3"
h=$(metric 'sluice_detector_hits_total{detector="remote_rejects"}')
[ "$h" = 1 ] || fail "remote_rejects hits = $h"
lag=$(metric sluice_feedback_lag_bytes)
bb=$b
pass "sluice_feedback_lines_total $lines, outcomes bounced $b deferred $d, remote_rejects hits 1, lag $lag bytes"

step "another relay delivers mail this one accepted: it finds the login in Redis"
# relay B: no mail of its own (nothing in its memory), the same Redis,
# and the delivery log; A wrote P:fq:QUEUEID for each id it accepted
n=$(redis-cli -p "$(redis_port)" --scan --pattern "t-e2e-feedback-$$:fq:*" | wc -l)
acc=$(grep -c ': eom .*action=accept' "$T/sluice.log")
[ "$n" = "$acc" ] || fail "$n P:fq: keys in Redis, expected one per accepted message ($acc)"
pass "relay A wrote $n P:fq:QUEUEID keys (by its control thread, off the message path)"
B_METRICS=$(free_port)
sed -e "s|^socket .*|socket unix:$T/sluice/b.sock|" \
    -e "s|^pidfile .*|pidfile $T/sluice/b.pid|" \
    -e "s|^metrics_listen .*|metrics_listen 127.0.0.1:$B_METRICS|" \
    -e "/^feedback_state /d" -e "s|^feedback_action .*|feedback_action observe|" \
    "$T/sluice.conf" > "$T/sluiceb.conf"
start_sluice sluiceb
wait_until 10 "sluice B did not start its reader" \
    grep -q "feedback: reading" "$T/sluiceb.log"
sleep 0.5	# B starts at the end of the log (no feedback_state)
submit other.out other@e2e.test --to bad-once@remote.test --count 1 --tag o1
expect_summary other.out accepted 1 "a third account's message to an unknown recipient accepted by A"
bmetric() {
	METRICS_PORT=$B_METRICS metric "$@"
}
wait_until 30 "relay B did not charge the bounce of mail A accepted" \
    at_least 1 bmetric 'sluice_feedback_outcomes_total{outcome="bounced"}'
u=$(bmetric 'sluice_feedback_outcomes_total{outcome="unmatched"}')
[ "$u" = 0 ] || fail "relay B: $u outcomes unmatched"
pass "relay B charged the bounce to other@e2e.test through Redis (P:fq:), 0 unmatched"
stop_sluice sluiceb

step "restart: resumes at feedback_state: what was logged while down once, nothing twice"
stop_sluice sluice
[ -s "$T/sluice/feedback.state" ] || fail "no feedback_state written"
pass "state (inode offset head): $(tr -s ' ' < "$T/sluice/feedback.state")"
# while sluice is down, Postfix retries the 3 deferred messages: 3 more
# status=deferred lines that only the restarted reader can count
in_sandbox "$PF_SANDBOX" postqueue -c "$P/etc" -f > "$T/postqueue.out" 2>&1 ||
    { cat "$T/postqueue.out"; fail "postqueue -f"; }
wait_until 30 "Postfix did not retry the deferred mail" \
    at_least 6 lines_with ' status=deferred '
sleep 0.5
start_sluice sluice
wait_until 10 "sluice did not restart its reader" \
    at_least 2 grep -c 'feedback: reading' "$T/sluice.log"
wait_until 10 "the restarted reader did not count the 3 retries" \
    at_least 3 metric 'sluice_feedback_outcomes_total{outcome="deferred"}'
sleep 1
b=$(metric 'sluice_feedback_outcomes_total{outcome="bounced"}')
d=$(metric 'sluice_feedback_outcomes_total{outcome="deferred"}')
[ "$b" = 0 ] || fail "after the restart $b bounces counted again"
[ "$d" = 3 ] || fail "after the restart $d deferrals counted, expected the 3 logged while down"
grep -q "feedback: stopped after [1-9][0-9]* lines" "$T/sluice.log" ||
    fail "no 'feedback: stopped after N lines' line"
pass "after the restart: the 3 deferrals logged while down counted, the $bb bounces read before not again"

step "done"
sandbox_stop "$PF_SANDBOX"
stop_sluice sluice
echo "e2e_feedback: all passed in $(elapsed)s"
