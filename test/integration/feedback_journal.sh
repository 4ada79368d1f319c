#!/bin/bash
# feedback_journal.sh - delivery feedback read from a real systemd journal
# (feedback_log journal, doc/feedback.md): journal files written by
# systemd-journal-remote from Export Format text, in feedback_journal_dir.
# On its first start sluice begins at the journal's tail (the old entries
# are not read); an account whose accepted mail (queue ids through
# sluice-bench, as Postfix sends {i}) is bounced 6 times by remote servers
# (postfix/smtp entries) is locked per remote_rejects 5/1h and its next
# message refused; a normal account with 2 bounces is not; postfix/local
# and relay=none entries are not counted. Restarted, it resumes at the
# saved cursor: the entries added while it was down (in a new journal
# file) are counted, none read before is counted again; a file added
# while it runs is picked up too. The files of the cursor's entry and
# of those read before vacuumed while it is down: it goes on at the
# oldest entry after the cursor's in the files left (counted; none read
# before counted again). The whole journal gone (a reboot with a
# volatile journal): the first entries of the new boot are read.
. "$(dirname "$0")/lib.sh"

JR=/lib/systemd/systemd-journal-remote
[ -x "$JR" ] || fail "$JR missing (apt-get install systemd-journal-remote)"
J=$T/journal
mkdir -p "$J"
BOOT=0123456789abcdef0123456789abcdef
SPAM=spam@j.test
NORMAL=normal@j.test

# entry IDENT MESSAGE - one entry in Export Format (the time: now, in
# us; the monotonic time $MONO if set, e.g. of a new boot $BOOT)
entry() {
	printf '__REALTIME_TIMESTAMP=%s\n__MONOTONIC_TIMESTAMP=%s\n' \
	    "$(date +%s%6N)" "${MONO:-$(date +%s%6N)}"
	printf '_BOOT_ID=%s\n_HOSTNAME=relay\n_PID=4242\nSYSLOG_PID=4242\n' "$BOOT"
	printf 'SYSLOG_IDENTIFIER=%s\nMESSAGE=%s\n\n' "$1" "$2"
}
# bounce QID [DSN] - a postfix/smtp line: the remote server said 5xx
bounce() {
	entry postfix/smtp "$1: to=<u@remote.test>, relay=mx.remote.test[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=${2:-5.1.1}, status=bounced (host mx.remote.test[192.0.2.1] said: 550 5.1.1 no such user (in reply to RCPT TO command))"
}
# defer QID - a postfix/smtp line: 4xx
defer() {
	entry postfix/smtp "$1: to=<u@remote.test>, relay=mx.remote.test[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=4.7.1, status=deferred (host mx.remote.test[192.0.2.1] said: 451 4.7.1 slow down (in reply to RCPT TO command))"
}
# jwrite FILE - stdin (Export Format) appended to journal file J/FILE
jwrite() {
	"$JR" -o "$J/$1" - >> "$T/journal-remote.log" 2>&1 ||
	    fail "systemd-journal-remote could not write $1"
}
# metric SAMPLE - one value of the metrics page
metric() {
	page_metric "$MPORT" "$1"
}
metric_is() {
	[ "$(metric "$1")" = "$2" ]
}
expect_metric() {
	got=$(metric "$1")
	[ "$got" = "$2" ] || fail "$3: $1 = $got, expected $2"
	pass "$3: $1 = $2"
}
B='sluice_feedback_outcomes_total{outcome="bounced"}'
D='sluice_feedback_outcomes_total{outcome="deferred"}'

# old entries (of an earlier day): never read, since no cursor is saved
{ bounce JSP0000000001; bounce JSP0000000002; entry kernel "boot"; } |
    jwrite a.journal

MPORT=$(free_port)
write_config sluice "store memory" "metrics_listen 127.0.0.1:$MPORT" \
    "feedback_log journal" "feedback_journal_dir $J" \
    "feedback_state $T/feedback.state" "feedback_action lock" \
    "feedback_poll 200ms" \
    "class default {" "    messages 100/1h" "    remote_rejects 5/1h" \
    "    remote_deferrals 50/1h" "}"
start_sluice sluice
wait_until 10 "metrics page" metric_is sluice_feedback_lines_total 0
expect_log sluice "feedback: journal $J, entries with SYSLOG_IDENTIFIER=postfix/smtp SYSLOG_IDENTIFIER=postfix/lmtp" \
    "the journal source with its default match is logged"
grep -q '^journal s=' "$T/feedback.state" ||
    fail "no cursor in feedback_state: $(cat "$T/feedback.state")"
pass "first start: the cursor of the tail is saved at once"

bench sluice --login "$SPAM" --qid-prefix JSP -n 10 -r 1 -t 1
expect_field accept 10 "the spammer's 10 messages (under messages 100/1h) accepted"
bench sluice --login "$NORMAL" --qid-prefix JNO -n 5 -r 1 -t 1
expect_field accept 5 "the normal account's 5 messages accepted"
sleep 0.5
expect_metric sluice_feedback_lines_total 0 "the old entries were not read (tail)"

# appended to the same file while sluice runs
{
	for i in 1 2 3 4 5 6; do bounce "JSP000000000$i"; done
	bounce JNO0000000001; bounce JNO0000000002
	entry postfix/local "JSP0000000007: to=<x@j.test>, relay=local, delay=0, dsn=5.1.1, status=bounced (unknown user)"
	entry postfix/smtp "JSP0000000008: to=<y@gone.test>, relay=none, delay=0, dsn=5.4.4, status=bounced (Host not found)"
} | jwrite a.journal
wait_until 10 "the spammer was not locked" grep -q \
    "feedback: JSP0000000006: login=$SPAM locked on every relay: remote_rejects 5/1h" \
    "$T/sluice.log"
pass "6th remote bounce: login=$SPAM locked (remote_rejects 5/1h)"
wait_until 5 "8 bounces counted" metric_is "$B" 8
pass "8 bounces counted: postfix/local and relay=none were not"
expect_metric sluice_feedback_lines_total 9 "the 9 postfix/smtp entries read, not postfix/local (default match)"
grep -q "login=$NORMAL .*over" "$T/sluice.log" &&
    fail "the normal account went over"
pass "the normal account with 2 bounces is not over"
bench sluice --login "$SPAM" --qid-prefix JSQ -n 1 -r 1 -t 1
expect_field accept 0 "the locked account's next message is refused"
grep -q '451 4.7.1 This account is locked' "$T/bench.out" ||
    fail "no 451 This account is locked"
pass "its reply: 451 4.7.1 This account is locked"
bench sluice --login "$NORMAL" --qid-prefix JNP -n 1 -r 1 -t 1
expect_field accept 1 "the normal account still sends"

# restart: what is written while sluice is down (a new file) is read
# after, nothing before is read again
stop_sluice sluice
{ defer JNO0000000003; defer JNO0000000004; bounce JSP0000000009; } |
    jwrite b.journal
start_sluice sluice
wait_until 10 "the deferrals logged while down" metric_is "$D" 2
sleep 0.6
expect_metric "$B" 1 "after the restart: only the new bounce (none read before counted again)"
expect_metric sluice_feedback_lines_total 3 "after the restart: 3 lines read"
[ "$(grep -c "login=$SPAM class=default over remote_rejects" "$T/sluice.log")" = 1 ] ||
    fail "the spammer went over more than once"
pass "one 'over remote_rejects' line in both runs"

# a journal file added while sluice runs (journald's rotation)
defer JNO0000000005 | jwrite c.journal
wait_until 10 "an entry of a file added while running" metric_is "$D" 3
pass "an entry in a journal file added while running is read"

# journald's vacuum while sluice is down: the files holding the saved
# cursor's entry and those read before it are deleted. y.journal stays:
# an entry read before the cursor's (in x.journal), then the 3 written
# while down; only these 3 are counted, the first of them too
defer JNO0000000001 | jwrite y.journal
wait_until 10 "an entry of y.journal" metric_is "$D" 4
defer JNO0000000002 | jwrite x.journal
wait_until 10 "an entry of x.journal" metric_is "$D" 5
stop_sluice sluice
cursor=$(cat "$T/feedback.state")
{ defer JNO0000000003; bounce JNO0000000004; defer JNO0000000005; } |
    jwrite y.journal
rm "$J/a.journal" "$J/b.journal" "$J/c.journal" "$J/x.journal"
start_sluice sluice
wait_until 10 "the entries after a vacuumed cursor" metric_is "$B" 1
sleep 0.6
expect_metric "$D" 2 "cursor vacuumed: both deferrals after it counted"
expect_metric sluice_feedback_lines_total 3 \
    "cursor vacuumed: the 3 entries after it read, the first too, none before again"
[ "$(cat "$T/feedback.state")" != "$cursor" ] ||
    fail "the cursor of the vacuumed entry is still saved"
pass "the cursor moved on to the entries read"
stop_sluice sluice

# the lag: 30,000 entries (~7 MiB of lines) at once; a read hands over
# 4 MiB and waits feedback_poll (5 s here): sluice_feedback_lag_bytes
# shows the rest (what SluiceFeedbackLagging watches), then 0
# (from another Postfix instance: a feedback_journal_match of their own)
sed -i 's/^feedback_poll .*/feedback_poll 5s/' "$T/sluice.conf"
echo 'feedback_journal_match "SYSLOG_IDENTIFIER=postfix-out/smtp SYSLOG_IDENTIFIER=postfix-out/lmtp"' \
    >> "$T/sluice.conf"
start_sluice sluice
wait_until 10 "restarted" metric_is sluice_feedback_lines_total 0
expect_log sluice "entries with SYSLOG_IDENTIFIER=postfix-out/smtp SYSLOG_IDENTIFIER=postfix-out/lmtp" \
    "feedback_journal_match (quoted words) is used"
defer JNO0000000006 | jwrite d.journal	# postfix/smtp: not matched now
python3 - "$BOOT" <<'PY' | jwrite d.journal
import sys, time
t = int(time.time() * 1e6)
out = sys.stdout
for i in range(30000):
    out.write("__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n"
              "_BOOT_ID=%s\nSYSLOG_PID=4242\nSYSLOG_IDENTIFIER=postfix-out/smtp\n"
              "MESSAGE=LAG%010X: to=<u@remote.test>, relay=mx.remote.test"
              "[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=4.7.1, "
              "status=deferred (host mx.remote.test[192.0.2.1] said: 451 "
              "4.7.1 slow down (in reply to RCPT TO command) %s)\n\n"
              % (t + i, t + i, sys.argv[1], i, "x" * 40))
PY
lagging() {
	l=$(metric sluice_feedback_lag_bytes)
	[ -n "$l" ] && [ "$l" -gt 1048576 ]
}
wait_until 15 "no lag shown after a 4 MiB read" lagging
pass "lag shown while behind: sluice_feedback_lag_bytes = $l (> 1 MiB)"
wait_until 20 "the reader did not catch up" metric_is sluice_feedback_lag_bytes 0
expect_metric sluice_feedback_lines_total 30000 "caught up: each postfix-out/smtp entry read once, no postfix/smtp one"
expect_metric 'sluice_feedback_outcomes_total{outcome="unmatched"}' 30000 \
    "their queue ids are not of mail accepted here: unmatched"
stop_sluice sluice

# a journal directory empty at the first start (nothing to seek the tail
# of): what comes later is read from its first entry
mkdir -p "$T/empty"
MPORT=$(free_port)
write_config e "store memory" "metrics_listen 127.0.0.1:$MPORT" \
    "feedback_log journal" "feedback_journal_dir $T/empty" \
    "feedback_state $T/e-feedback.state" "feedback_poll 200ms"
start_sluice e
wait_until 10 "metrics page of e" metric_is sluice_feedback_lines_total 0
{ defer JEM0000000001; defer JEM0000000002; } | J=$T/empty jwrite e.journal
wait_until 10 "the entries of a journal empty at start" \
    metric_is sluice_feedback_lines_total 2
pass "a journal empty at the first start: its first entries are read"

# the whole journal gone (Storage=volatile and a reboot): the cursor
# names an entry of no file and nothing newer exists; the entries of
# the new boot, in a file that comes later, are read from the first
stop_sluice e
rm "$T/empty/e.journal"
start_sluice e
wait_until 10 "metrics page of e" metric_is sluice_feedback_lines_total 0
{
	BOOT=fedcba9876543210fedcba9876543210
	MONO=4000001 defer JEM0000000003; MONO=4000002 defer JEM0000000004
} | J=$T/empty jwrite f.journal
wait_until 10 "journal gone: not the new boot's 2 entries read (one skipped?)" \
    metric_is sluice_feedback_lines_total 2
sleep 0.6
expect_metric sluice_feedback_lines_total 2 \
    "journal gone: the new boot's 2 entries read, the first too"
stop_sluice e
echo "all feedback_journal checks passed"
