#!/bin/bash
# loops.sh - reflection loops (seed 003) through two relays sharing a
# hop-marker key and one Redis: the signed marker stops a bounced message
# at the hop limit, a forged marker stops nothing, too many Received:
# headers are refused, and the 1000th copy of one message is refused.
. "$(dirname "$0")/lib.sh"
port=$(redis_port)

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/hop.key"
chmod 600 "$T/hop.key"
for r in a b; do
	write_config $r "store redis" "redis_server 127.0.0.1:$port" \
	    "redis_prefix t-loops-$$:" "cluster_id shropshire" \
	    "hop_key_file $T/hop.key" "hop_limit 5" "max_received 30" \
	    "copies 999/1h" "copies_action tempfail"
	start_sluice $r
done
miltertest_run a "$(dirname "$0")/loops.lua" "socketA=$(sock_of a)" \
    "socketB=$(sock_of b)" limit=5 cluster=shropshire
grep -q 'loop stopped after 5 passes' "$T/miltertest.out" ||
    fail "miltertest did not report the loop"
expect_log b 'action=reject hits=loop' "the looping message is refused, logged as a loop"
expect_log a 'header\(s\) with a bad MAC ignored' "the forged marker is logged"
expect_log b 'action=reject hits=received' "too many Received: headers refused"

# the 1000th copy of one message, arriving through both relays
redis-cli -p "$port" --scan --pattern "t-loops-$$:*:copy:*" | xargs -r redis-cli -p "$port" DEL > /dev/null
"$SLUICE_BENCH" -s "$(sock_of a)" --json --inbound --same-message-id -c 2 -n 500 \
    > "$T/a.bench" 2>&1 &
ba=$!
"$SLUICE_BENCH" -s "$(sock_of b)" --json --inbound --same-message-id -c 2 -n 500 \
    > "$T/b.bench" 2>&1 &
bb=$!
wait $ba || fail "bench a failed"
wait $bb || fail "bench b failed"
acc=0 tf=0
for f in "$T/a.bench" "$T/b.bench"; do
	j=$(grep '^{' "$f" | tail -n 1)
	acc=$((acc + $(echo "$j" | sed -n 's/.*"accept":\([0-9]*\).*/\1/p')))
	tf=$((tf + $(echo "$j" | sed -n 's/.*"tempfail":\([0-9]*\).*/\1/p')))
done
[ "$acc" = 999 ] && [ "$tf" = 1 ] ||
    fail "1000 copies through 2 relays: $acc accepted, $tf tempfailed (want 999, 1)"
pass "1000 copies of one message through 2 relays: 999 accepted, the 1000th refused"
grep -q '451 4.4.6 Message deferred: more than 999 copies of this message per 1h' \
    "$T/a.bench" "$T/b.bench" || fail "no 451 4.4.6 reply for the copy"
pass "the client reads 451 4.4.6 ... more than 999 copies of this message"

# a world-readable key is refused at start
chmod 644 "$T/hop.key"
set +e
"$SLUICE" -n -c "$T/a.conf" > "$T/out" 2>&1; rc=$?
set -e
[ $rc = 78 ] && grep -q "hop_key_file" "$T/out" || { cat "$T/out";
    fail "a world-readable hop key was accepted (rc $rc)"; }
pass "a world-readable hop key is refused: $(head -c 120 "$T/out")"
stop_sluice a
stop_sluice b
echo "loops: all passed"
