#!/bin/bash
# sentinel_wait.sh - redis_wait_replicas 1 across a SENTINEL FAILOVER:
# a primary, a replica and 3 sentinels on loopback; two sluices on them,
# "wait" (redis_wait_replicas 1) and "nowait" (0), both with
# store_fallback tempfail (the fallback admits nothing). One login per
# sluice sends over its limit while the failover happens. Asserted: with
# WAIT, accepted <= limit exactly and no accepted count is missing on
# the new primary; MONITOR on the primary sees one WAIT per accepted
# message, on the connection of its EVALSHA, right behind it. Printed
# (FIGURES): lost counts with and without WAIT, the longest stall, and
# throughput and p99 with and without WAIT, measured in the same run.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sentinel_lib.sh"
LIMIT=400
WAITER=wait@example.test
PLAIN=nowait@example.test

trap 'touch "$T/stop"; [ -n "${mon:-}" ] && kill "$mon" 2>/dev/null; stop_all; cleanup' EXIT

sentinel_topology
pass "primary :$p1, replica :$p2, 3 sentinels with quorum 2"

for w in wait nowait; do
	n=0
	[ "$w" = wait ] && n=1
	write_config "$w" "store redis" \
	    "redis_sentinels 127.0.0.1:$s1, 127.0.0.1:$s2 127.0.0.1:$s3" \
	    "redis_sentinel_master mymaster" "redis_wait_replicas $n" \
	    "redis_connect_timeout 200ms" "redis_command_timeout 500ms" \
	    "store_fallback tempfail" "breaker_failures 3" \
	    "breaker_cooldown 1s" 'class default {' "messages $LIMIT/1h" '}'
	start_sluice "$w"
	bench "$w" -c 2 -n 10 -r 1 --login "warm-$w@example.test"
	expect_field accept 10 "$w: traffic through the sentinels' primary"
done

# 1. MONITOR on the primary: what one message costs on the wire
redis-cli -p "$p1" MONITOR > "$T/monitor.txt" 2>&1 &
mon=$!
PIDS="$PIDS $mon"
wait_until 10 "MONITOR did not start" sh -c \
    "redis-cli -p $p1 PING >/dev/null; grep -q PING '$T/monitor.txt'"
MSGS=50
bench wait -c 2 -n $MSGS -r 1 --login monitor@example.test
expect_field accept $MSGS "wait: messages under MONITOR"
# MONITOR prints a command after it ran: wait for the last WAIT
wait_until 10 "MONITOR did not show $MSGS WAITs" sh -c \
    "[ \$(grep -c '\"WAIT\"' '$T/monitor.txt') -ge $MSGS ]"
kill "$mon"
wait "$mon" 2>/dev/null || true
mon=""
# the sluice's commands only: not the script's ([0 lua]), not redis-cli's
grep -v ' lua\]' "$T/monitor.txt" | grep -E '"(EVALSHA|WAIT|ROLE|SCRIPT)"' \
    > "$T/mon.sluice"
nwait=$(grep -c '"WAIT"' "$T/mon.sluice" || true)
neval=$(grep -c '"EVALSHA"' "$T/mon.sluice" || true)
nother=$(grep -vc '"EVALSHA"\|"WAIT"' "$T/mon.sluice" || true)
[ "$nwait" = $MSGS ] || fail "MONITOR: $nwait WAIT for $MSGS messages"
# an end-of-message commit carries the message's txn key (the bench
# sends queue ids); a MAIL-time check does not, and writes nothing
ncommit=$(grep '"EVALSHA"' "$T/mon.sluice" | grep -c ':txn:' || true)
[ "$ncommit" = $MSGS ] ||
    fail "MONITOR: $ncommit commits (EVALSHA with a txn key) for $MSGS messages"
# each WAIT follows, on the same client connection, a commit EVALSHA:
# the pair is sent in one write (redisAppendCommandArgv twice), one
# round trip; no WAIT follows a check
awk '{ c = $0; sub(/^[^[]*\[[0-9]+ /, "", c); sub(/\].*/, "", c)
	if ($0 ~ /"WAIT"/) { if (prev[c] != "commit") bad++; prev[c] = "WAIT" }
	else if ($0 ~ /"EVALSHA".*:txn:/) prev[c] = "commit"
	else if ($0 ~ /"EVALSHA"/) prev[c] = "check"
	else prev[c] = "other" }
	END { exit bad > 0 }' "$T/mon.sluice" ||
    fail "MONITOR: a WAIT that does not follow a commit on its connection"
rt=$((neval + nother))	# a WAIT travels with its EVALSHA
pass "MONITOR: $MSGS messages = $ncommit commit EVALSHA + $nwait WAIT + $((neval - ncommit)) check EVALSHA (+ $nother other); each WAIT right behind a commit on its connection: $rt round trips, $(awk -v r=$rt -v m=$MSGS 'BEGIN { printf "%.2f", r / m }') per message (a pipelined EVALSHA+WAIT counted as one)"
[ "$rt" -le $((2 * MSGS)) ] || fail "more than 2 round trips per message"

# 2. throughput and latency, WAIT vs none, same Redis, same moment
for w in wait nowait wait nowait; do
	bench "$w" -c 2 -n 200 -r 1 --login "speed-$w-$RANDOM@example.test"
	echo "$(field tps) $(field p99_ms) $(field max_ms)" >> "$T/speed.$w"
done
spd() {	# spd WHICH - "tps p99 max", the mean of the runs
	awk '{ t += $1; p += $2; if ($3 > m) m = $3; n++ }
	    END { printf "%.0f msg/s, p99 %.2f ms, max %.2f ms", t / n, p / n, m }' "$T/speed.$1"
}
echo "FIGURES speed (2 connections, 2x200 messages each, limit $LIMIT/1h): with WAIT $(spd wait); without $(spd nowait)"

# traffic_start NAME LOGIN - messages of LOGIN through sluice NAME in
# small runs, in the background, until $T/stop
traffic_start() {
	(
		while [ ! -e "$T/stop" ]; do
			"$SLUICE_BENCH" -s "$(sock_of "$1")" --json -q -c 2 \
			    -n 20 -r 1 --login "$2" >> "$T/$2.out" 2>&1 ||
			    echo '{"bench_failed":1}' >> "$T/$2.out"
			sleep 0.1
		done
	) &
	PIDS="$PIDS $!"
	eval "TRAFFIC_$1=$!"
}
# sumf LOGIN KEY MAX - sum (MAX=0) or maximum (MAX=1) of KEY over the runs
sumf() {
	grep '^{' "$T/$1.out" | sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" |
	    awk -v m="$3" '{ if (m) { if ($1 > s) s = $1 } else s += $1 }
	    END { printf "%d\n", s }'
}
runs() {
	n=$(grep -c '^{' "$T/$1.out" 2>/dev/null || true)
	[ "${n:-0}" -ge "$2" ]
}

# 3. SENTINEL FAILOVER while both logins send, before their limit
rm -f "$T/stop"
traffic_start wait "$WAITER"
traffic_start nowait "$PLAIN"
wait_until 30 "no traffic" runs "$WAITER" 4
wait_until 30 "no traffic" runs "$PLAIN" 4
[ "$(sumf "$WAITER" accept 0)" -lt "$LIMIT" ] ||
    fail "the limit was reached before the failover: lower the rate"
redis-cli -p "$s2" SENTINEL FAILOVER mymaster | grep -q OK ||
    fail "SENTINEL FAILOVER was refused"
for w in wait nowait; do
	wait_until 30 "sluice $w did not follow the failover" grep -Eq \
	    "redis: primary of mymaster moved to 127\.0\.0\.1:$p2" "$T/$w.log"
done
pass "both sluices follow the new primary :$p2"
wait_until 60 "$WAITER never reached the limit" grep -q \
    "login=$WAITER .*action=tempfail hits=messages" "$T/wait.log"
wait_until 60 "$PLAIN never reached the limit" grep -q \
    "login=$PLAIN .*action=tempfail hits=messages" "$T/nowait.log"
touch "$T/stop"
wait "$TRAFFIC_wait" "$TRAFFIC_nowait" || true

for w in wait nowait; do
	[ "$w" = wait ] && login=$WAITER || login=$PLAIN
	grep -q bench_failed "$T/$login.out" &&
	    fail "$w: a sluice-bench run failed"
	errs=$(sumf "$login" errors 0)
	[ "$errs" = 0 ] || fail "$w: $errs protocol errors"
	acc=$(sumf "$login" accept 0); sent=$(sumf "$login" transactions 0)
	stall=$(sumf "$login" max_ms 1)
	newc=$(sum_msg "$p2" "$login")
	nd=$(grep -c "login=$login .*store_error=.*WAIT" "$T/$w.log" || true)
	fb=$(grep -c "login=$login .*store=tempfail-fallback" "$T/$w.log" ||
	    true)
	lost=$((acc - newc))
	[ "$lost" -lt 0 ] && lost=0
	eval "acc_$w=$acc lost_$w=$lost"
	echo "FIGURES failover $w: $sent messages, $acc accepted (limit $LIMIT), $newc counted on the new primary, $lost accepted counts lost, $fb tempfails by the fallback ($nd naming WAIT in store_error), longest stall $stall ms"
done
[ "$acc_wait" -le "$LIMIT" ] ||
    fail "with WAIT: over-admission: $acc_wait accepted > limit $LIMIT"
[ "$lost_wait" = 0 ] ||
    fail "with WAIT: $lost_wait accepted messages not counted on the new primary"
pass "with WAIT: $acc_wait accepted <= limit $LIMIT exactly; 0 counts lost (without WAIT: $acc_nowait accepted, $lost_nowait lost)"

# 4. the replica (the old primary now) stopped: a commit it cannot
# acknowledge is tempfailed, and the log says why
wait_until 30 "the old primary did not become a replica" sh -c \
    "redis-cli -p $p1 INFO replication | grep -q master_link_status:up"
kill -STOP "$(cat "$T/primary.pid")"
bench wait -c 1 -n 1 -r 1 --login stopped@example.test
kill -CONT "$(cat "$T/primary.pid")"
expect_field tempfail 1 "a commit no replica acknowledged"
expect_log wait "login=stopped@example\.test .*action=tempfail .*store_error=.*WAIT: 0 of 1 replicas acknowledged the commit" \
    "the log names the missing acknowledgement"
grep -q 'crash\|Assertion' "$T/wait.log" "$T/nowait.log" &&
    fail "unexpected log line"
stop_sluice wait
stop_sluice nowait
echo "sentinel_wait: all passed"
