#!/bin/bash
# cluster.sh - the redis store on a real 3-primary Redis Cluster: no
# over-admission from several daemons, exact counts while the slot of a
# busy login migrates under traffic (ASK, TRYAGAIN, then MOVED followed),
# the cross-account wave detector across slots, round trips per message;
# the ACL user of contrib/redis/users.acl is enough on a cluster.
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/cluster_lib.sh"

# errstat NAME - sum of errorstat_NAME over the nodes (INFO errorstats)
errstat() {
	nodes INFO errorstats | sed -n "s/^errorstat_$1:count=\([0-9]*\).*/\1/p" |
	    awk '{ s += $1 } END { print s + 0 }'
}
# cmdstat NAME - sum of calls of one command over the nodes
cmdstat() {
	nodes INFO commandstats | sed -n "s/^cmdstat_$1:calls=\([0-9]*\).*/\1/p" |
	    awk '{ s += $1 } END { print s + 0 }'
}
# counter PREFIX NAME - the events in the one NAME hash under PREFIX
counter() {
	for p in $P1 $P2 $P3; do
		for k in $(redis-cli -p "$p" --scan --pattern "$1*}:$2:*"); do
			redis-cli -p "$p" HVALS "$k"
		done
	done | awk '{ s += $1 } END { print s + 0 }'
}
# json_field FILE KEY
json_field() {
	grep '^{' "$1" | tail -n 1 | sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p"
}
CONF="store redis
redis_server 127.0.0.1:$P1
redis_cluster yes
redis_command_timeout 10s
redis_connect_timeout 10s
store_fallback tempfail
log_accepts no"

# --- (a) three daemons, one login, 3 x 8 connections x 200 messages
for r in r1 r2 r3; do
	write_config $r "$CONF" "redis_prefix t-cla:" 'class default {' \
	    '    messages 250/1h' '    recipients 100000/1h' '}'
	start_sluice $r
done
BENCHES=""
for r in r1 r2 r3; do
	"$SLUICE_BENCH" -s "$(sock_of $r)" --json -c 8 -n 200 -r 2 \
	    --login burst@example.test > "$T/$r.bench" 2>&1 &
	BENCHES="$BENCHES $!"
done
for j in $BENCHES; do wait "$j" || fail "sluice-bench failed"; done
total=0
for r in r1 r2 r3; do
	e=$(json_field "$T/$r.bench" errors)
	[ "$e" = 0 ] || { cat "$T/$r.bench"; fail "$r: $e protocol errors"; }
	total=$((total + $(json_field "$T/$r.bench" accept)))
done
[ "$total" = 250 ] || fail "3 daemons accepted $total messages, limit is 250"
pass "3 daemons x 8 connections, 600 messages, one login: exactly 250 accepted"
[ "$(counter t-cla: msg)" = 250 ] || fail "counter holds $(counter t-cla: msg), not 250"
pass "the cluster's counter reads 250"
for r in r2 r3; do stop_sluice $r; done

# round trips: every EVALSHA the nodes saw (MONITOR on each node)
# monitor_bench NAME OUT ARGS... - sluice-bench against NAME under MONITOR;
#                                  sets evalsha and trips
monitor_bench() {
	name=$1 out=$2
	shift 2
	mons=""
	for p in $P1 $P2 $P3; do
		redis-cli -p "$p" MONITOR > "$out.$p" &
		mons="$mons $!"
	done
	sleep 0.3
	bench "$name" "$@"
	sleep 0.3
	for m in $mons; do kill "$m"; wait "$m" 2>/dev/null || true; done
	evalsha=$(cat "$out".* | grep -v '\[[0-9]* lua\]' | grep -ci '"evalsha"' || true)
	# the control thread's own connection (who writes, its poll, its
	# slot map) is off the message path: counted apart
	ctl_trips=$(cat "$out".* | grep -v '\[[0-9]* lua\]' | grep -Ec \
	    '"SET" "[^"]*:who"|"HGETALL" "[^"]*:classes"|"ZRANGEBYSCORE" "[^"]*:locked"' || true)
	trips=$(( $(cat "$out".* | grep -v '\[[0-9]* lua\]' | grep -c '"' || true) - ctl_trips ))
}
monitor_bench r1 "$T/mon-a" -c 4 -n 200 -l 200 -r 2
[ "$(field accept)" = 200 ] || fail "200 logins: $(field accept) accepted"
echo "no scoped items: $trips round trips ($evalsha EVALSHA) for 200 messages; the control thread's, apart: $ctl_trips"
# once per node and daemon: SCRIPT LOAD, maybe CLUSTER SLOTS
[ "$evalsha" -le 400 ] || fail "$evalsha EVALSHA for 200 messages (max 2 each)"
[ "$trips" -le 406 ] || fail "$trips round trips for 200 messages (max 2 each, + 6 once)"
pass "no scoped items: $trips round trips for 200 messages ($((trips * 100 / 200))/100 per message)"
stop_sluice r1

# --- (b) the slot of a busy login migrates while it sends
write_config rb "$CONF" "redis_prefix t-clb:" 'class default {' \
    '    messages 100000/1h' '    recipients 100000/1h' '}'
start_sluice rb
bench rb -c 1 -n 1 -r 1 --login busy@example.test
key=$(for p in $P1 $P2 $P3; do redis-cli -p "$p" --scan --pattern 't-clb:*}:msg:*'; done)
[ -n "$key" ] || fail "no msg key for the busy login"
slot=$(redis-cli -p "$P1" CLUSTER KEYSLOT "$key")
# owner SLOT - port of the node serving a slot (its own CLUSTER NODES line)
owner() {
	for p in $P1 $P2 $P3; do
		mine=$(redis-cli -p "$p" CLUSTER NODES | grep myself |
		    awk -v s="$1" '{ for (i = 9; i <= NF; i++) {
		        n = split($i, r, "-"); if (n == 1) r[2] = r[1];
		        if (s + 0 >= r[1] + 0 && s + 0 <= r[2] + 0) print "yes" } }')
		[ "$mine" = yes ] && { echo "$p"; return; }
	done
}
id_of() { redis-cli -p "$1" CLUSTER MYID; }
# migrate SLOT FROM TO - move a slot by hand, slowly: importing, migrating,
# keys one by one with pauses (calls see ASK, then TRYAGAIN), then MOVED
migrate() {
	s=$1 src=$2 dst=$3
	redis-cli -p "$dst" CLUSTER SETSLOT "$s" IMPORTING "$(id_of "$src")" > /dev/null
	redis-cli -p "$src" CLUSTER SETSLOT "$s" MIGRATING "$(id_of "$dst")" > /dev/null
	sleep 0.3
	for k in $(redis-cli -p "$src" CLUSTER GETKEYSINSLOT "$s" 1000); do
		redis-cli -p "$src" MIGRATE 127.0.0.1 "$dst" "$k" 0 5000 > /dev/null
		sleep 0.1
	done
	# keys the traffic made meanwhile (a txn key per message)
	while :; do
		ks=$(redis-cli -p "$src" CLUSTER GETKEYSINSLOT "$s" 1000)
		[ -n "$ks" ] || break
		# shellcheck disable=SC2086
		redis-cli -p "$src" MIGRATE 127.0.0.1 "$dst" "" 0 5000 KEYS $ks > /dev/null
	done
	for p in $dst $src $P1 $P2 $P3; do
		redis-cli -p "$p" CLUSTER SETSLOT "$s" NODE "$(id_of "$dst")" > /dev/null
	done
}
src=$(owner "$slot")
[ -n "$src" ] || fail "no node serves slot $slot"
dst=$P2
[ "$src" = "$P2" ] && dst=$P3
ask0=$(errstat ASK) moved0=$(errstat MOVED) try0=$(errstat TRYAGAIN)
asking0=$(cmdstat asking)
"$SLUICE_BENCH" -s "$(sock_of rb)" --json -c 8 -n 8000 -r 2 \
    --login busy@example.test > "$T/rb.bench" 2>&1 &
bpid=$!
has_traffic() { [ "$(counter t-clb: msg)" -ge 200 ]; }
wait_until 60 "the busy login's traffic did not start" has_traffic
t0=$(date +%s%N)
migrate "$slot" "$src" "$dst"
t1=$(date +%s%N)
during=$(counter t-clb: msg)
migrate "$slot" "$dst" "$src"
after=$(counter t-clb: msg)
wait "$bpid" || { cat "$T/rb.bench"; fail "sluice-bench failed"; }
cp "$T/rb.bench" "$T/bench.out"
grep '^{' "$T/bench.out" | tail -n 1 > "$T/bench.json"
echo "slot $slot moved $src -> $dst in $(( (t1 - t0) / 1000000 )) ms with $during messages counted, and back ($after)"
[ "$(field errors)" = 0 ] || { cat "$T/bench.out"; fail "protocol errors during the reshard"; }
[ "$(field tempfail)" = 0 ] || fail "$(field tempfail) messages tempfailed during the reshard (store errors)"
acc=$(field accept)
[ "$acc" = 8000 ] || fail "accepted $acc of 8000"
got=$(counter t-clb: msg)
[ "$got" = 8001 ] || fail "counter reads $got, accepted 8001: a message was lost or charged twice"
pass "reshard under traffic: 8000 accepted, counter 8001 (with the first): none lost, none twice"
[ "$(counter t-clb: rcpt)" = 16001 ] || fail "recipient counter reads $(counter t-clb: rcpt), not 16001"
pass "recipient counter exact too: 16001"
ask=$(( $(errstat ASK) - ask0 )) moved=$(( $(errstat MOVED) - moved0 ))
try=$(( $(errstat TRYAGAIN) - try0 )) asking=$(( $(cmdstat asking) - asking0 ))
echo "redirections: $moved MOVED, $ask ASK ($asking ASKING sent), $try TRYAGAIN; max latency $(field max_ms) ms, p99 $(field p99_ms) ms"
[ "$moved" -gt 0 ] || fail "no MOVED seen: did the migration happen during the traffic?"
[ "$asking" -gt 0 ] && [ "$ask" -gt 0 ] || fail "no ASK followed with ASKING"
[ "$during" -lt 8001 ] || fail "the bench ended before the first migration did"
pass "MOVED and ASK followed ($moved MOVED, $ask ASK, $try TRYAGAIN)"
stop_sluice rb

# --- (c) the wave detector: one body from 20 logins (many slots); the
#     body's counter lives in its own slot
write_config rc "$CONF" "redis_prefix t-clc:" "wave_action quarantine" \
    'class default {' '    messages 1000/1h' '    recipients 100000/1h' \
    '    body_senders 10/1h' '}'
start_sluice rc
monitor_bench rc "$T/mon-c" -c 1 -n 20 -l 20 -b 2500 --header 'X-Wave: 1'
expect_field accept 20 "cluster: a wave of 20 accounts is accepted..."
expect_field quarantine 10 "cluster: ...and the 10 beyond body_senders 10/1h are held"
echo "scoped items (wave): $trips round trips ($evalsha EVALSHA) for 20 messages"
[ "$evalsha" -le 60 ] || fail "$evalsha EVALSHA for 20 messages with a wave item (max 3 each)"
[ "$trips" -le 66 ] || fail "$trips round trips for 20 messages with a wave item (max 3 each, + 6 once)"
pass "with a scoped item: $trips round trips for 20 messages ($((trips * 100 / 20))/100 per message)"
stop_sluice rc

# --- (d) a wave that refuses (wave_action tempfail): the body's call runs
#     first; a refused message charges nothing of its sender but the
#     refusal itself (lock_after counts it)
write_config rd "$CONF" "redis_prefix t-cld:" "wave_action tempfail" \
    "lock_after 50/1h" 'class default {' '    messages 1000/1h' \
    '    recipients 100000/1h' '    body_senders 10/1h' '}'
start_sluice rd
bench rd -c 1 -n 20 -l 20 -b 2500 --header 'X-Wave: 2'
expect_field accept 10 "cluster: a refusing wave admits 10 accounts..."
expect_field tempfail 10 "cluster: ...and defers the 10 beyond body_senders 10/1h"
[ "$(counter t-cld: msg)" = 10 ] || fail "senders charged for $(counter t-cld: msg) messages, 10 were accepted"
pass "refused senders are not charged: msg counters sum to 10"
[ "$(counter t-cld: refused)" = 10 ] || fail "refusals counted: $(counter t-cld: refused), expected 10"
pass "each refusal counted once for lock_after: 10"
stop_sluice rd

# --- (f) domain totals (seed 000): 3 daemons, 300 logins of bench.test,
#     each far under its own limit; the domain's 250 hold exactly, though
#     its counter is in another slot than most logins' (one call more)
for r in r1 r2 r3; do
	write_config "f$r" "$CONF" "redis_prefix t-clf:" 'class default {' \
	    '    messages 100000/1h' '    domain_messages 250/1h' '}'
	start_sluice "f$r"
done
BENCHES=""
for r in r1 r2 r3; do
	"$SLUICE_BENCH" -s "$(sock_of "f$r")" --json -c 4 -n 200 -r 1 \
	    -l 300 > "$T/f$r.bench" 2>&1 &
	BENCHES="$BENCHES $!"
done
for j in $BENCHES; do wait "$j" || fail "sluice-bench failed"; done
total=0
for r in r1 r2 r3; do
	total=$((total + $(json_field "$T/f$r.bench" accept)))
done
[ "$total" = 250 ] || fail "3 daemons accepted $total messages of one domain, limit 250"
pass "3 daemons, 600 messages of 300 logins of one domain: exactly 250 accepted"
[ "$(counter t-clf: dom_msg)" = 250 ] || fail "domain counter holds $(counter t-clf: dom_msg)"
pass "the domain's counter reads 250"
for r in r2 r3; do stop_sluice "f$r"; done
write_config fr4 "$CONF" "redis_prefix t-clg:" 'class default {' \
    '    messages 100000/1h' '    domain_messages 100000/1h' '}'
start_sluice fr4
monitor_bench fr4 "$T/mon-f" -c 4 -n 200 -l 200 -r 2
[ "$(field accept)" = 200 ] || fail "domain totals: $(field accept) accepted"
echo "domain totals: $trips round trips ($evalsha EVALSHA) for 200 messages"
[ "$evalsha" -le 800 ] || fail "$evalsha EVALSHA for 200 messages with domain totals (max 4 each)"
pass "domain totals under Cluster: $trips round trips for 200 messages ($((trips * 100 / 200))/100 per message)"
stop_sluice fr1
stop_sluice fr4

# --- (e) the store API on this cluster (test_cluster's live test):
#     replays with a scoped item, a refusing scoped item, reset
SLUICE_TEST_CLUSTER=127.0.0.1:$P2 "$SLUICE_TEST_CLUSTER_BIN" \
    > "$T/live.out" 2>&1 || { cat "$T/live.out"; fail "test_cluster's live test"; }
grep -q 'OK \] test_live' "$T/live.out" || { cat "$T/live.out"; fail "test_live did not run"; }
pass "store API on the cluster: replays, scoped refusal, reset (test_live)"
# --- (f) contrib/redis/users.acl's user sluice on every node: a daemon
#     authenticated as it maps the slots (CLUSTER SLOTS) and charges
#     logins of every slot, and no node's ACL LOG records a refusal
rules=$(sed -n 's/^user sluice on [^ ]* //p' "$SLUICE_SRC/contrib/redis/users.acl")
[ -n "$rules" ] || fail "no user sluice in contrib/redis/users.acl"
pw="cl-acl-$$-$(date +%s%N)"
for p in $P1 $P2 $P3; do
	# shellcheck disable=SC2086
	redis-cli -p "$p" ACL SETUSER sluice on ">$pw" $rules > /dev/null
	redis-cli -p "$p" ACL LOG RESET > /dev/null
done
(umask 077; printf '%s\n' "$pw" > "$T/acl.pw")
write_config racl "$CONF" "redis_username sluice" \
    "redis_password_file $T/acl.pw" 'class default {' '    messages 3/1h' \
    '    repeats 50/1h' '}'
start_sluice racl
bench racl -c 2 -n 40 -l 10 --vary-body
expect_field accept 30 "cluster as ACL user sluice: 3 of each of 10 logins"
expect_field errors 0 "cluster as ACL user sluice: no protocol errors"
grep -q 'store_error' "$T/racl.log" &&
    fail "a store error as user sluice: $(grep -m1 store_error "$T/racl.log")"
for p in $P1 $P2 $P3; do
	log=$(redis-cli -p "$p" ACL LOG)
	[ -z "$log" ] || fail "node $p refused user sluice: $(echo $log)"
done
pass "cluster as ACL user sluice: no node's ACL LOG records a refusal"
stop_sluice racl

echo "cluster: all passed"
