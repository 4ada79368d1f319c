#!/bin/bash
# sentinel_control.sh - the control channel behind Redis Sentinel: two
# relays find the primary through the sentinels; a class set by sluicectl
# applies on both; a login locked by relay A's lock rule is refused on B
# and B's hold_command holds what B accepted from it; sluicectl lock and
# show work there; after SENTINEL FAILOVER both channels reconnect to
# the new primary and a class change by sluicectl still applies.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sentinel_lib.sh"
. "$(dirname "$0")/control_lib.sh"

trap 'stop_all; cleanup' EXIT

sentinel_topology
pass "primary :$p1, replica :$p2, 3 sentinels with quorum 2"

for r in a b; do
	write_config $r "store redis" \
	    "redis_sentinels 127.0.0.1:$s1, 127.0.0.1:$s2 127.0.0.1:$s3" \
	    "redis_sentinel_master mymaster" "redis_server 127.0.0.1:1" \
	    "redis_connect_timeout 500ms" "redis_command_timeout 1s" \
	    "store_fallback tempfail" "lock_after 5/1h" "lock_lifetime 1h" \
	    "hold_command $T/hold-$r.sh -h" "control_poll 1s" \
	    'class default {' '    messages 3/1h' '}' \
	    'class bulk {' '    messages 50/1h' '}'
	start_sluice $r
	wait_until 10 "relay $r: control thread not connected" grep -q \
	    "control: connected to redis master mymaster at 127\.0\.0\.1:$p1, listening on sluice:events" \
	    "$T/$r.log"
done
grep -q 'control channel off' "$T/a.log" && fail "relay a: control channel off"
pass "both relays' control channels found the primary :$p1 through the sentinels"

### a class set by sluicectl applies on both relays
class_on_both heavy@example.test bulk
pass "sluicectl class through the sentinels applies on both relays"

### a lock on relay A: refused on B, B holds its queued mail
lock_on_a_refused_on_b

### sluicectl lock and show through the sentinels
ctl_lock_holds
ctl show byhand@example.test
grep -Eq '^locked +yes' "$T/ctl.out" ||
    fail "sluicectl show does not say locked: $(cat "$T/ctl.out")"
pass "sluicectl show through the sentinels: locked"

### SENTINEL FAILOVER: both channels follow, a class change still applies
redis-cli -p "$s2" SENTINEL FAILOVER mymaster | grep -q OK ||
    fail "SENTINEL FAILOVER was refused"
t0=$(date +%s%N)
for r in a b; do
	wait_until 30 "relay $r: the control channel did not follow the failover" \
	    grep -q "control: connected to redis master mymaster at 127\.0\.0\.1:$p2, listening" \
	    "$T/$r.log"
done
pass "both control channels reconnected to the new primary :$p2 ($(( ($(date +%s%N) - t0) / 1000000 )) ms after SENTINEL FAILOVER)"
wait_until 30 "sluicectl does not see the new primary" sh -c \
    "redis-cli -p $s1 SENTINEL get-master-addr-by-name mymaster | grep -q '^$p2\$'"
ctl_class heavy@example.test default
for r in a b; do
	bench $r -c 1 -n 1 --login heavy@example.test
	eom_class $r heavy@example.test default
done
pass "after the failover a class change by sluicectl applies on both relays"
[ "$(redis-cli -p "$p2" HGET sluice:classes heavy@example.test)" = default ] ||
    fail "the class was not written to the new primary"
stop_sluice a
stop_sluice b
echo "sentinel_control: all passed"
