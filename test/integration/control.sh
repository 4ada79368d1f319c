#!/bin/bash
# control.sh - the control channel between relays, through one Redis:
# (a) a class set in P:classes (HSET + PUBLISH class) applies to the next
#     message on both relays, @domain too; unknown classes are ignored
#     with one warning; clearing it restores the map file's class; a
#     class lowered by sluicectl refuses the login's next MAIL at MAIL,
#     though its last answers were cached as far from every limit;
# (b) a login locked by relay A's lock rule: A and B each run
#     hold_command once, with exactly the queue ids they accepted from it;
#     a "lock H" published by redis-cli does the same, once per lock; a
#     lock found only in P:locked (no event) is caught by the poll;
# (c) Redis restarted: the control thread reconnects and picks up a class
#     change made meanwhile, by its poll.
. "$(dirname "$0")/lib.sh"
port=$(redis_port)
P="t-ctl-$$:"
host=$(hostname)
rc() { redis-cli -p "$port" "$@"; }

# key LOGIN - the sender key (BLAKE2b-128 hex of the lower-cased login)
key() {
	python3 -c 'import hashlib,sys; print(hashlib.blake2b(sys.argv[1].lower().encode(), digest_size=16).hexdigest())' "$1"
}

# the hold commands record their arguments, one line per run, with the
# time in ns first; the lock command records when A locked
for r in a b c; do
	printf '#!/bin/sh\necho "$(date +%%s%%N) $*" >> %s\n' \
	    "$T/held-$r.out" > "$T/hold-$r.sh"
	chmod +x "$T/hold-$r.sh"
done
printf '#!/bin/sh\necho "$(date +%%s%%N) $1" >> %s\n' "$T/locked.out" \
    > "$T/lock.sh"
chmod +x "$T/lock.sh"

CLASSES='class default {
    messages 3/1h
}
class bulk {
    messages 50/1h
}
class tiny {
    messages 1/1h
}'
for r in a b; do
	write_config $r "store redis" "redis_server 127.0.0.1:$port" \
	    "redis_prefix $P" "lock_after 5/1h" "lock_lifetime 1h" \
	    "lock_command $T/lock.sh" "hold_command $T/hold-$r.sh -h" \
	    "control_poll 1s" "early_check_cache 1h" "$CLASSES"
	start_sluice $r
	wait_until 10 "relay $r: control thread not connected" \
	    grep -q "control: connected to redis" "$T/$r.log"
done

### (a) live classes
bench a -c 1 -n 1 --login heavy@example.test
eom_class a heavy@example.test default
pass "before: heavy@example.test has the map file's class (default)"

t0=$(date +%s%N)
rc HSET "${P}classes" heavy@example.test bulk >/dev/null
rc PUBLISH "${P}events" class >/dev/null
for r in a b; do
	wait_until 10 "relay $r: the class event was not applied" \
	    grep -q "live classes: 1 overrides from ${P}classes" "$T/$r.log"
done
t1=$(date +%s%N)
pass "class event applied on both relays within $(( (t1 - t0) / 1000000 )) ms"
bench a -c 1 -n 4 --login heavy@example.test
expect_field accept 4 "relay A: heavy@example.test now has bulk's 50/1h (default: 3/1h)"
eom_class a heavy@example.test bulk
bench b -c 1 -n 5 --login HEAVY@example.test
expect_field accept 5 "relay B: the same, without a restart, case folded"
eom_class b HEAVY@example.test bulk
pass "both relays log class=bulk for the next messages"

rc HSET "${P}classes" @corp.test tiny odd@example.test nosuch >/dev/null
rc PUBLISH "${P}events" class >/dev/null
wait_until 10 "relay b: second class event" \
    grep -q "live classes: 3 overrides" "$T/b.log"
bench b -c 1 -n 3 --login someone@CORP.test
expect_field accept 1 "relay B: @corp.test -> tiny (1/1h)"
expect_field tempfail 2 "relay B: tiny's limit refuses the rest"
grep -q '451 4.7.1 Sending limit reached (1 messages per 1h)' "$T/bench.out" ||
    fail "relay B: the reply does not name tiny's limit"
pass "relay B: the client reads tiny's limit: 1 messages per 1h"
bench b -c 1 -n 1 --login odd@example.test
eom_class b odd@example.test default
pass "an unknown class is ignored: the map file's class applies"
sleep 2.5	# two more polls: the warning must not come again
for r in a b; do
	n=$(grep -c 'live classes: odd@example.test has class "nosuch", which this relay.s configuration does not define; ignored' "$T/$r.log" || true)
	[ "$n" = 1 ] || fail "relay $r: the unknown-class warning came $n times"
done
pass "the unknown class is warned about once per relay"

# a reload (SIGUSR1) keeps the live classes and the control thread
eval "kill -USR1 \$PID_a"
wait_until 10 "relay a: no reload" grep -q "configuration reloaded" "$T/a.log"
rc HDEL "${P}classes" heavy@example.test >/dev/null
rc PUBLISH "${P}events" class >/dev/null
wait_until 10 "relay a: the class was not cleared after a reload" \
    grep -q "live classes: 2 overrides" "$T/a.log"
bench a -c 1 -n 1 --login heavy@example.test
eom_class a heavy@example.test default
pass "after SIGUSR1 and HDEL + class: back to the map file's class"

# a class change drops the login from the MAIL-time cache: after 4
# accepted messages under bulk (50/1h: far from the limit, so its next
# MAIL would skip the store for early_check_cache 1h), sluicectl puts it
# in tiny (1/1h); its next message is refused at MAIL, not after its data
# ctl_class LOGIN CLASS - sluicectl class on relay a's config; wait
# until relay a applied it
ctl_class() {
	n0=$(grep -c "live classes:" "$T/a.log" || true)
	"$SLUICECTL" -c "$T/a.conf" class "$1" "$2" > /dev/null ||
	    fail "sluicectl class $1 $2"
	wait_until 10 "relay a: sluicectl class $1 $2 was not applied" \
	    sh -c "[ \$(grep -c 'live classes:' '$T/a.log') -gt $n0 ]"
}
ctl_class mover@example.test bulk
bench a -c 1 -n 4 --login mover@example.test
expect_field accept 4 "mover@example.test: 4 accepted under bulk"
ctl_class mover@example.test tiny
bench a -c 1 -n 1 --login mover@example.test
expect_field tempfail 1 "mover@example.test: over tiny's 1/1h"
expect_log a ': mail login=mover@example.test origin=sasl class=tiny .*action=tempfail hits=messages' \
    "after sluicectl class ... tiny the next MAIL is refused at MAIL"
grep -q 'eom login=mover@example.test .*action=tempfail' "$T/a.log" &&
    fail "mover@example.test was refused at the end of the message"
pass "not at the end of the message (the cache was emptied by the class change)"
rc HDEL "${P}classes" mover@example.test >/dev/null
rc PUBLISH "${P}events" class >/dev/null

# the who key: the printable login, with a TTL of a day
H=$(key heavy@example.test)
# (the login as last sent: relay B saw HEAVY@example.test)
[ "$(rc GET "${P}{$H}:who" | tr A-Z a-z)" = heavy@example.test ] ||
    fail "no ${P}{$H}:who key"
ttl=$(rc TTL "${P}{$H}:who")
[ "$ttl" -gt 86000 ] && [ "$ttl" -le 86400 ] || fail "who TTL $ttl"
pass "${P}{H}:who names the login (TTL $ttl s)"

### (b) a lock on relay A holds the login's queued mail on A and B
bench b -c 1 -n 2 --login hijacked@example.test --qid-prefix B1
expect_field accept 2 "relay B accepts 2 messages of hijacked@example.test"
bench a -c 1 -n 20 --login hijacked@example.test --qid-prefix A1
expect_field accept 1 "relay A accepts the third (limit 3/1h, cluster-wide)"
expect_log a 'login=hijacked@example.test origin=sasl client=127\.0\.0\.1 locked on every relay' \
    "relay A: the lock rule locks the login"
# the ids each relay accepted, as its log says
accepted() {
	sed -n "s/^sluice: \([A-Za-z0-9]*\): eom login=$2 .*action=accept.*/\1/p" \
	    "$T/$1.log" | tr '\n' ' ' | sed 's/ $//'
}
ida=$(accepted a hijacked@example.test)
idb=$(accepted b hijacked@example.test)
[ "$ida" = A10000000001 ] || fail "relay A accepted '$ida'"
[ "$idb" = "B10000000001 B10000000002" ] || fail "relay B accepted '$idb'"
wait_until 10 "relay A never ran hold_command" test -s "$T/held-a.out"
wait_until 10 "relay B never ran hold_command" test -s "$T/held-b.out"
sleep 2		# a poll or two later: still once
[ "$(cut -d' ' -f2- "$T/held-a.out")" = "-h $ida" ] ||
    fail "relay A hold: $(cat "$T/held-a.out")"
[ "$(cut -d' ' -f2- "$T/held-b.out")" = "-h $idb" ] ||
    fail "relay B hold: $(cat "$T/held-b.out")"
pass "relay A ran '$(cut -d' ' -f2- "$T/held-a.out")' once, relay B '$(cut -d' ' -f2- "$T/held-b.out")' once"
expect_log a "login=hijacked@example.test origin=sasl locked on relay $host: held 1 queued messages \(hold_command exit 0\)" \
    "relay A logs the hold"
expect_log b "login=hijacked@example.test origin=sasl locked on relay $host: held 2 queued messages \(hold_command exit 0\)" \
    "relay B logs the hold, naming the relay that locked"
tl=$(head -n 1 "$T/locked.out" | cut -d' ' -f1)
tb=$(head -n 1 "$T/held-b.out" | cut -d' ' -f1)
pass "FIGURE lock on A -> hold_command on B: $(( (tb - tl) / 1000000 )) ms"
H=$(key hijacked@example.test)
[ "$(rc HGET "${P}{$H}:lockinfo" by)" = "$host" ] || fail "lockinfo by"
[ "$(rc HGET "${P}{$H}:lockinfo" login)" = hijacked@example.test ] ||
    fail "lockinfo login"
rc HGET "${P}{$H}:lockinfo" reason | grep -q 'refused 6 times in 1h' ||
    fail "lockinfo reason"
until=$(rc HGET "${P}{$H}:lockinfo" until)
[ "$(rc ZSCORE "${P}locked" "$H")" = "$until" ] || fail "P:locked score"
ttl=$(rc TTL "${P}{$H}:lockinfo")
[ "$ttl" -gt 3500 ] && [ "$ttl" -le 3600 ] || fail "lockinfo TTL $ttl"
pass "lockinfo (login, by, reason, until) and P:locked written by relay A"

# a lock published by hand (as sluicectl does): both relays hold, once
: > "$T/held-a.out"; : > "$T/held-b.out"
bench b -c 1 -n 1 --login second@example.test --qid-prefix B2
bench a -c 1 -n 1 --login second@example.test --qid-prefix A2
H2=$(key second@example.test)
now=$(date +%s)
rc HSET "${P}{$H2}:lockinfo" login second@example.test reason "by hand" \
    by sluicectl at "$now" until $((now + 3600)) >/dev/null
rc ZADD "${P}locked" $((now + 3600)) "$H2" >/dev/null
t0=$(date +%s%N)
rc PUBLISH "${P}events" "lock $H2" >/dev/null
wait_until 10 "relay A: no hold after lock H" test -s "$T/held-a.out"
wait_until 10 "relay B: no hold after lock H" test -s "$T/held-b.out"
ta=$(cut -d' ' -f1 "$T/held-a.out")
tb=$(cut -d' ' -f1 "$T/held-b.out")
rc PUBLISH "${P}events" "lock $H2" >/dev/null	# the same lock again
sleep 2
[ "$(cut -d' ' -f2- "$T/held-a.out")" = "-h A20000000001" ] ||
    fail "relay A hold after lock H: $(cat "$T/held-a.out")"
[ "$(cut -d' ' -f2- "$T/held-b.out")" = "-h B20000000001" ] ||
    fail "relay B hold after lock H: $(cat "$T/held-b.out")"
pass "lock H from redis-cli: each relay held its own ids, once"
pass "FIGURE PUBLISH lock H -> hold_command: A $(( (ta - t0) / 1000000 )) ms, B $(( (tb - t0) / 1000000 )) ms"
expect_log b 'login=second@example.test origin=sasl locked on relay sluicectl: held 1 queued messages \(hold_command exit 0\)' \
    "the hold line names sluicectl as the locker"

# unlock, one more message, lock again: a new lock, a new hold
rc ZREM "${P}locked" "$H2" >/dev/null
rc PUBLISH "${P}events" "unlock $H2" >/dev/null
bench b -c 1 -n 1 --login second@example.test --qid-prefix B3
rc ZADD "${P}locked" $((now + 3600)) "$H2" >/dev/null
rc PUBLISH "${P}events" "lock $H2" >/dev/null
wait_until 10 "relay B: no hold after the second lock" \
    grep -q -- '-h B30000000001$' "$T/held-b.out"
[ "$(wc -l < "$T/held-b.out")" = 2 ] ||
    fail "second lock: $(cat "$T/held-b.out")"
pass "unlock then lock: a new lock holds what came in between, only that"

# the poll: a lock in P:locked whose event was lost
bench b -c 1 -n 1 --login third@example.test --qid-prefix B4
H3=$(key third@example.test)
rc ZADD "${P}locked" $((now + 3600)) "$H3" >/dev/null
wait_until 10 "relay B: the poll did not find the lock" \
    grep -q -- '-h B40000000001$' "$T/held-b.out"
pass "a lock without an event is found by the poll (control_poll 1s)"
stop_sluice a
stop_sluice b
pass "both relays stop cleanly on SIGTERM"

### (c) Redis restarted: reconnect, and the poll picks up what changed
rport=$(free_port)
trap 'stop_redis 2>/dev/null; cleanup' EXIT
start_redis
write_config c "store redis" "redis_server 127.0.0.1:$rport" \
    "redis_prefix $P" "control_poll 2s" "hold_command $T/hold-c.sh" \
    "hold_batch 2" "$CLASSES"
start_sluice c
wait_until 10 "relay c: not connected" grep -q "control: connected" "$T/c.log"
bench c -c 1 -n 1 --login moved@example.test
eom_class c moved@example.test default
stop_redis
wait_until 15 "relay c: the outage is not noticed" \
    grep -Eq "control: redis .*(reconnecting|retrying)" "$T/c.log"
start_redis
redis-cli -p "$rport" HSET "${P}classes" moved@example.test bulk >/dev/null
t0=$(date +%s%N)
wait_until 30 "relay c: did not reconnect" \
    sh -c "[ \$(grep -c 'control: connected' '$T/c.log') -ge 2 ]"
wait_until 30 "relay c: the class change made during the outage was not polled" \
    grep -q "live classes: 1 overrides" "$T/c.log"
t1=$(date +%s%N)
bench c -c 1 -n 1 --login moved@example.test
eom_class c moved@example.test bulk
pass "Redis restarted: reconnected, class change picked up by the poll in $(( (t1 - t0) / 1000000 )) ms"

# batches of hold_batch ids, one run after another; a failing run is logged
printf '#!/bin/sh\necho "$(date +%%s%%N) $*" >> %s\n[ "$1" != C10000000003 ]\n' \
    "$T/held-c.out" > "$T/hold-c.sh"
bench c -c 1 -n 3 --login batch@example.test --qid-prefix C1
expect_field accept 3 "relay C accepts 3 messages of batch@example.test"
redis-cli -p "$rport" PUBLISH "${P}events" "lock $(key batch@example.test)" \
    >/dev/null
wait_until 10 "relay C: the batches did not run" grep -q \
    'login=batch@example.test origin=sasl locked on relay unknown: held 3 queued messages (hold_command exit 1; 1 of 2 runs failed)' \
    "$T/c.log"
[ "$(cut -d' ' -f2- "$T/held-c.out")" = "$(printf 'C10000000001 C10000000002\nC10000000003')" ] ||
    fail "hold batches: $(cat "$T/held-c.out")"
pass "hold_batch 2: 3 ids in 2 runs; the failing run's exit status is logged; the login named from its who key"
stop_sluice c

### (d) the shipped hold scripts, with stand-ins for postsuper and sendmail
printf '#!/bin/sh\necho "args: $*" >> %s\ncat >> %s\n' "$T/ps.out" \
    "$T/ps.out" > "$T/postsuper"
printf '#!/bin/sh\necho "args: $*" >> %s\n' "$T/sm.out" > "$T/sendmail"
chmod +x "$T/postsuper" "$T/sendmail"
POSTSUPER=$T/postsuper "$SLUICE_SRC/contrib/postfix/sluice-hold" \
    4XbT2k0mZz 3F1A2B || fail "contrib/postfix/sluice-hold failed"
[ "$(cat "$T/ps.out")" = "$(printf 'args: -h -\n4XbT2k0mZz\n3F1A2B')" ] ||
    fail "postfix sluice-hold ran: $(cat "$T/ps.out")"
for bad in -d ALL 'a b' ''; do
	if POSTSUPER=$T/postsuper "$SLUICE_SRC/contrib/postfix/sluice-hold" \
	    OK1 "$bad" 2>/dev/null; then
		fail "postfix sluice-hold accepted the id '$bad'"
	fi
done
[ "$(wc -l < "$T/ps.out")" = 3 ] || fail "postsuper ran for a bad id"
pass "contrib/postfix/sluice-hold: ids to postsuper -h - on stdin, bad ids refused"
SENDMAIL=$T/sendmail "$SLUICE_SRC/contrib/sendmail/sluice-hold" \
    5AUJ1Ynq012345 5AUJ1Ynq012346 || fail "contrib/sendmail/sluice-hold failed"
[ "$(cat "$T/sm.out")" = "$(printf 'args: -Qsluice: account locked -qI5AUJ1Ynq012345\nargs: -Qsluice: account locked -qI5AUJ1Ynq012346')" ] ||
    fail "sendmail sluice-hold ran: $(cat "$T/sm.out")"
if SENDMAIL=$T/sendmail "$SLUICE_SRC/contrib/sendmail/sluice-hold" \
    '-X/tmp/log' 2>/dev/null; then
	fail "sendmail sluice-hold accepted an option as an id"
fi
pass "contrib/sendmail/sluice-hold: one sendmail -Q... -qI<id> per id"
echo "control: all passed"
