#!/bin/bash
# cluster_control.sh - the control channel on a real 3-primary Redis
# Cluster: two relays subscribe to P:events on one node each and get
# every PUBLISH; P:classes, P:locked, P{H}:lockinfo and P{H}:who live in
# different slots, each read on the node serving it. A class set by
# sluicectl applies on both relays; a login locked by relay A's lock
# rule is refused on B, whose hold_command holds what B accepted;
# sluicectl show, top (every primary scanned), lock and unlock work.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster_lib.sh"
. "$(dirname "$0")/control_lib.sh"
P=t-clc:

# relay a is seeded with the first node, relay b with the third
write_config a "store redis" "redis_server 127.0.0.1:$P1" "redis_cluster yes" \
    "redis_prefix $P" "lock_after 5/1h" "lock_lifetime 1h" \
    "hold_command $T/hold-a.sh -h" "control_poll 1s" \
    'class default {' '    messages 3/1h' '}' 'class bulk {' '    messages 50/1h' '}'
sed -e "s/127\.0\.0\.1:$P1/127.0.0.1:$P3/" -e "s/hold-a/hold-b/" \
    -e "s/a\.sock/b.sock/; s/a\.pid/b.pid/; s/a\.ctl/b.ctl/; s/a\.state/b.state/" \
    "$T/a.conf" > "$T/b.conf"
for r in a b; do
	start_sluice $r
	wait_until 10 "relay $r: control thread not connected" grep -q \
	    "control: connected to redis cluster 127\.0\.0\.1:[0-9]*, listening on ${P}events" \
	    "$T/$r.log"
done
grep -q 'control channel off' "$T/a.log" "$T/b.log" && fail "control channel off"
pass "both relays' control channels are up on the cluster"

### a class set by sluicectl applies on both relays
class_on_both heavy@example.test bulk
pass "sluicectl class on the cluster applies on both relays"

### a lock on relay A: refused on B, B holds its queued mail
lock_on_a_refused_on_b

# the contract's keys are spread over the nodes: the two logins' keys
# (slots 2512 and 12489) on two different primaries
key() {
	python3 -c 'import hashlib,sys; print(hashlib.blake2b(sys.argv[1].lower().encode(), digest_size=16).hexdigest())' "$1"
}
# node_of KEY - the port of the node holding KEY
node_of() {
	for p in $P1 $P2 $P3; do
		if [ "$(redis-cli -p "$p" EXISTS "$1")" = 1 ]; then echo "$p"; fi
	done
}
nh=$(node_of "${P}{$(key heavy@example.test)}:who")
nj=$(node_of "${P}{$(key hijacked@example.test)}:who")
[ -n "$nh" ] && [ -n "$nj" ] && [ "$nh" != "$nj" ] ||
    fail "the two logins' who keys are on nodes '$nh' and '$nj'"
pass "heavy@example.test's keys live on :$nh, hijacked@example.test's on :$nj"

### sluicectl show, top, lock, unlock on the cluster
ctl show hijacked@example.test
grep -Eq '^locked +yes' "$T/ctl.out" || fail "show: not locked: $(cat "$T/ctl.out")"
grep -Eq '^messages +1h +3 +3$' "$T/ctl.out" || fail "show: counts: $(cat "$T/ctl.out")"
pass "sluicectl show: hijacked@example.test locked, 3 of 3 messages"
ctl top
grep -q '^messages in the last 1h: 2 senders, showing 2$' "$T/ctl.out" ||
    fail "top: $(cat "$T/ctl.out")"
sed -n 3p "$T/ctl.out" | grep -Eq '^heavy@example\.test +sasl +8 ' ||
    fail "top: heavy@example.test is not first with 8: $(cat "$T/ctl.out")"
sed -n 4p "$T/ctl.out" | grep -Eq '^hijacked@example\.test +sasl +3 ' ||
    fail "top: hijacked@example.test is not second with 3: $(cat "$T/ctl.out")"
pass "sluicectl top: both senders, from every primary, named from their who keys"
ctl unlock hijacked@example.test
ctl show hijacked@example.test
grep -Eq '^locked +no' "$T/ctl.out" || fail "unlock: $(cat "$T/ctl.out")"
pass "sluicectl unlock: no longer locked"

ctl_lock_holds
grep -q 'control: .*MOVED\|CROSSSLOT' "$T/a.log" "$T/b.log" &&
    fail "a redirection reached the log"
stop_sluice a
stop_sluice b
echo "cluster_control: all passed"
