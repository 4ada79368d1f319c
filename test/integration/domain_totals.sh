#!/bin/bash
# domain_totals.sh - seed 000: every one of a customer's 30 accounts sent
# spam at once, and per-login limits let 30 times the limit out. A limit
# on the sum over all logins of a domain (domain_messages, the domain's
# class from domain_class_map) stops them as one customer: 30 logins,
# sending at once from 3 connections, get exactly the domain's 40
# messages an hour between them, though each login stays under its own
# 5; another domain of the same class is unaffected. With lock_after
# 1/1h, none of the 30 is locked: a refusal for the domain's total is
# not the login's doing (the innocent users of seed 000). Both stores.
. "$(dirname "$0")/lib.sh"
LUA="$(dirname "$0")/domains.lua"
: "${SLUICECTL:?SLUICECTL must name the sluicectl binary}"
printf 'customer.example customer\nother.example customer\n' \
    > "$T/domains"
CONF=("domain_class_map $T/domains" 'lock_after 1/1h' 'class default {'
    'messages 5/1h' '}'
    'class customer {' 'messages 5/1h' 'domain_messages 40/1h' '}'
    'class tight {' 'messages 5/1h' 'domain_messages 3/1h' '}')

# mt NAME DOMAIN FIRST LAST ROUNDS OUT - one miltertest run into OUT
mt() {
	miltertest -D socket="$(sock_of "$1")" \
	    -D common="$SLUICE_SRC/test/integration/common.lua" \
	    -D domain="$2" -D first="$3" -D last="$4" -D rounds="$5" \
	    -s "$LUA" > "$6" 2>&1
}

# sum OUT... - accepted and refused over the runs' outputs
sum() {
	cat "$@" | sed -n 's/^accepted=\([0-9]*\) refused=\([0-9]*\)$/\1 \2/p' |
	    awk '{ a += $1; r += $2 } END { print a + 0, r + 0 }'
}

# live_domain_class NAME - a domain's class set live by sluicectl class
# @domain: its domain totals follow at once, without a reload
live_domain_class() {
	mt "$1" third.example 1 1 2 "$T/$1.5" || fail "$1: miltertest failed"
	[ "$(sum "$T/$1.5")" = "2 0" ] || fail "$1: third.example before: $(sum "$T/$1.5")"
	n0=$(grep -c 'live classes:' "$T/$1.log" || true)
	"$SLUICECTL" -c "$T/$1.conf" class @third.example tight > "$T/ctl.out" 2>&1 ||
	    fail "$1: sluicectl class @third.example tight: $(cat "$T/ctl.out")"
	case $1 in mem) ;; *) wait_until 10 "$1: the class was not applied" \
	    sh -c "[ \$(grep -c 'live classes:' '$T/$1.log') -gt $n0 ]" ;; esac
	mt "$1" third.example 2 4 2 "$T/$1.6" || fail "$1: miltertest failed"
	got=$(sum "$T/$1.6")
	[ "$got" = "3 3" ] || { cat "$T/$1.6"; fail "$1: third.example after sluicectl class: $got, expected 3 3"; }
	expect_log "$1" 'login=u[0-9]@third\.example origin=sasl class=tight .*dom_msg/1h=3/3 .*action=tempfail hits=domain_messages$' \
	    "$1: sluicectl class @third.example tight: its domain gets tight's 3/1h at once (3 of 6 accepted)"
	"$SLUICECTL" -c "$T/$1.conf" show u2@third.example > "$T/ctl.out" 2>&1 ||
	    fail "$1: sluicectl show: $(cat "$T/ctl.out")"
	grep -Eq '^domain_msg +1h +3 +3$' "$T/ctl.out" ||
	    { cat "$T/ctl.out"; fail "$1: show: the domain's 3 of 3"; }
	pass "$1: sluicectl show counts the domain against tight's 3/1h"
}

run_case() {
	name=$1
	shift
	write_config "$name" "$@" "${CONF[@]}"
	start_sluice "$name"
	# 30 logins, 2 messages each, from 3 connections at once
	mt "$name" customer.example 1 10 2 "$T/$name.1" & p1=$!
	mt "$name" customer.example 11 20 2 "$T/$name.2" & p2=$!
	mt "$name" customer.example 21 30 2 "$T/$name.3" & p3=$!
	wait $p1 && wait $p2 && wait $p3 ||
	    { cat "$T/$name".[123]; fail "$name: miltertest failed"; }
	got=$(sum "$T/$name".[123])
	[ "$got" = "40 20" ] ||
	    { cat "$T/$name".[123]; fail "$name: accepted, refused = $got, expected 40 20"; }
	pass "$name: 30 logins of customer.example: exactly 40 of 60 accepted"
	n=$(grep -c 'eom login=u[0-9]*@customer\.example .*action=accept' \
	    "$T/$name.log")
	[ "$n" = 40 ] || fail "$name: $n accepted in the log, expected 40"
	pass "$name: the log agrees: 40 accepted"
	expect_log "$name" 'login=u[0-9]*@customer\.example origin=sasl class=default .*msg/1h=[0-4]/5 dom_msg/1h=40/40 refused/1h=0/1 action=tempfail hits=domain_messages$' \
	    "$name: refusals under the login's own limit name domain_messages, and count no refusal"
	! grep -E 'refused/1h=[1-9]' "$T/$name.log" ||
	    fail "$name: a refusal for the domain's total counted toward lock_after"
	! grep 'locked on every relay' "$T/$name.log" ||
	    fail "$name: a login of the domain was locked for its domain's total"
	pass "$name: lock_after 1/1h: no login locked for the domain's total"
	# another domain of the same class: its own total
	mt "$name" other.example 1 3 2 "$T/$name.4" ||
	    { cat "$T/$name.4"; fail "$name: miltertest failed"; }
	got=$(sum "$T/$name.4")
	[ "$got" = "6 0" ] || fail "$name: other.example: $got, expected 6 0"
	expect_log "$name" 'eom login=u3@other\.example .*dom_msg/1h=6/40 .*action=accept' \
	    "$name: other.example unaffected (6 of its own 40)"
	live_domain_class "$name"
	stop_sluice "$name"
}

run_case mem "store memory"
port=$(redis_port)
P="t-dom-$$:"
run_case red "store redis" "redis_server 127.0.0.1:$port" "redis_prefix $P"
"$SLUICECTL" -c "$T/red.conf" show U7@Customer.example > "$T/ctl.out" ||
    fail "sluicectl show failed"
grep -Eq '^domain_msg +1h +40 +40$' "$T/ctl.out" &&
    grep -Eq '^messages +1h +[0-5] +5$' "$T/ctl.out" ||
    { cat "$T/ctl.out"; fail "show: the domain's 40 of 40"; }
pass "sluicectl show: any login of the domain shows its domain_msg 40 of 40"

# single-node Redis: the domain's items ride in the login's EVALSHA (one
# atomic call): 100 messages of 100 logins of bench.test, MONITORed
write_config rt "store redis" "redis_server 127.0.0.1:$port" \
    "redis_prefix ${P}rt:" "early_check no" 'class default {' \
    'messages 1000/1h' 'domain_messages 1000/1h' '}'
start_sluice rt
redis-cli -p "$port" MONITOR > "$T/monitor.out" &
mon=$!
sleep 0.2
bench rt -c 2 -n 100 -l 100 -r 1
sleep 0.2
kill "$mon"; wait "$mon" 2>/dev/null || true
expect_field accept 100 "single node: 100 messages of one domain accepted"
evalsha=$(grep -v '\[[0-9]* lua\]' "$T/monitor.out" | grep -ci '"evalsha"' || true)
grep -i '"evalsha"' "$T/monitor.out" | grep -q ':dom_msg:3600:' ||
    fail "the domain's counter is not in the EVALSHA"
[ "$evalsha" = 100 ] || fail "$evalsha EVALSHA for 100 messages, expected 100"
pass "single node: $evalsha EVALSHA for 100 messages, the domain's keys in each"
stop_sluice rt
redis-cli -p "$port" --scan --pattern "$P*" | xargs -r redis-cli -p "$port" \
    DEL > /dev/null
echo "domain_totals: all passed"
