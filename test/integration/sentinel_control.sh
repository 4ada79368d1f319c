#!/bin/bash
# sentinel_control.sh - the control channel behind Redis Sentinel: two
# relays find the primary through the sentinels; a class set by sluicectl
# applies on both; a login locked by relay A's lock rule is refused on B
# and B's hold_command holds what B accepted from it; sluicectl lock and
# show work there; after SENTINEL FAILOVER both channels reconnect to
# the new primary and a class change by sluicectl still applies.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sentinel_lib.sh"
: "${SLUICECTL:?SLUICECTL must name the sluicectl binary}"

trap 'stop_all; cleanup' EXIT

sentinel_topology
pass "primary :$p1, replica :$p2, 3 sentinels with quorum 2"

for r in a b; do
	printf '#!/bin/sh\necho "$*" >> %s\n' "$T/held-$r.out" > "$T/hold-$r.sh"
	chmod +x "$T/hold-$r.sh"
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

# ctl_class CONF LOGIN CLASS - sluicectl class; both relays apply it
ctl_class() {
	na=$(grep -c "live classes:" "$T/a.log" || true)
	nb=$(grep -c "live classes:" "$T/b.log" || true)
	"$SLUICECTL" -c "$T/a.conf" class "$1" "$2" > "$T/ctl.out" 2>&1 ||
	    fail "sluicectl class $1 $2: $(cat "$T/ctl.out")"
	wait_until 10 "relay a: sluicectl class $1 $2 was not applied" \
	    sh -c "[ \$(grep -c 'live classes:' '$T/a.log') -gt $na ]"
	wait_until 10 "relay b: sluicectl class $1 $2 was not applied" \
	    sh -c "[ \$(grep -c 'live classes:' '$T/b.log') -gt $nb ]"
}
### a class set by sluicectl applies on both relays
ctl_class heavy@example.test bulk
for r in a b; do
	bench $r -c 1 -n 4 --login heavy@example.test
	expect_field accept 4 "relay $r: heavy@example.test has bulk's 50/1h (default 3/1h)"
	eom_class $r heavy@example.test bulk
done
pass "sluicectl class through the sentinels applies on both relays"

### a lock on relay A: refused on B, B holds its queued mail
bench b -c 1 -n 2 --login hijacked@example.test --qid-prefix B1
expect_field accept 2 "relay B accepts 2 messages of hijacked@example.test"
bench a -c 1 -n 20 --login hijacked@example.test --qid-prefix A1
expect_log a 'login=hijacked@example.test origin=sasl client=127\.0\.0\.1 locked on every relay' \
    "relay A: the lock rule locks the login"
wait_until 10 "relay B never ran hold_command" test -s "$T/held-b.out"
[ "$(cat "$T/held-b.out")" = "-h B10000000001 B10000000002" ] ||
    fail "relay B hold: $(cat "$T/held-b.out")"
expect_log b "login=hijacked@example.test origin=sasl locked on relay $(hostname): held 2 queued messages \(hold_command exit 0\)" \
    "relay B holds the 2 messages it accepted, naming relay A"
bench b -c 1 -n 1 --login hijacked@example.test
expect_field tempfail 1 "relay B refuses the login locked on A"
expect_log b ': mail login=hijacked@example.test .*action=tempfail hits=locked' \
    "relay B's log names the lock"

### sluicectl lock and show through the sentinels
: > "$T/held-a.out"; : > "$T/held-b.out"
bench a -c 1 -n 1 --login byhand@example.test --qid-prefix A2
bench b -c 1 -n 1 --login byhand@example.test --qid-prefix B2
"$SLUICECTL" -c "$T/b.conf" lock byhand@example.test --for 1h > "$T/ctl.out" 2>&1 ||
    fail "sluicectl lock: $(cat "$T/ctl.out")"
wait_until 10 "relay A: no hold after sluicectl lock" test -s "$T/held-a.out"
wait_until 10 "relay B: no hold after sluicectl lock" test -s "$T/held-b.out"
[ "$(cat "$T/held-a.out")" = "-h A20000000001" ] &&
    [ "$(cat "$T/held-b.out")" = "-h B20000000001" ] ||
    fail "holds after sluicectl lock: A '$(cat "$T/held-a.out")' B '$(cat "$T/held-b.out")'"
pass "sluicectl lock through the sentinels: each relay held its own id"
"$SLUICECTL" -c "$T/a.conf" show byhand@example.test > "$T/ctl.out" 2>&1 ||
    fail "sluicectl show: $(cat "$T/ctl.out")"
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
