#!/bin/bash
# bench_writes.sh - sluice-bench writes as Postfix 3.7 does (an strace of
# its smtpd and cleanup, bench/README.md "How Postfix writes"): Nagle on,
# one write per reply awaited, but the DATA stage's macros alone and the
# first header after them. Against the empty filter (libmilter, nothing
# done to its socket) over inet that meets the milter's delayed ACK, as
# Postfix does: ~40 ms a message. The old way of writing (--writes stage
# --nodelay) hid it. Also: --duration with --interval runs for a time and
# reports each interval.
. "$(dirname "$0")/lib.sh"

EMPTY=$(dirname "$SLUICE_BENCH")/empty-milter
[ -x "$EMPTY" ] || fail "no empty-milter next to sluice-bench"
port=$(free_port)
"$EMPTY" -p "inet:$port@127.0.0.1" >> "$T/empty.log" 2>&1 &
PIDS="$PIDS $!"
wait_until 10 "empty-milter did not listen" sock_ready "inet:$port@127.0.0.1"

# run NAME ARGS... - sluice-bench against the empty filter, JSON in $T/NAME.json
run() {
	n=$1
	shift
	"$SLUICE_BENCH" -s "inet:$port@127.0.0.1" --json -q "$@" > "$T/$n.out" 2>&1 ||
	    { cat "$T/$n.out" >&2; fail "sluice-bench $*"; }
	grep '^{' "$T/$n.out" | tail -n 1 > "$T/bench.json"
	cp "$T/bench.json" "$T/$n.json"
}
p50() { sed -n 's/.*"p50_ms":\([0-9.]*\).*/\1/p' "$T/$1.json"; }

run postfix -c 4 -n 100
expect_field errors 0 "as Postfix writes: no error"
# a delayed ACK is at least 40 ms on Linux: so is a message that meets one
awk -v p="$(p50 postfix)" 'BEGIN {exit !(p >= 35)}' ||
    fail "as Postfix writes, p50 $(p50 postfix) ms: no delayed-ACK stall seen"
pass "as Postfix writes (default), over inet the empty filter waits on a delayed ACK: p50 $(p50 postfix) ms"

run old -c 4 -n 400 --writes stage --nodelay
expect_field errors 0 "--writes stage --nodelay: no error"
# (a loaded machine slows it too: half the stalled figure at most)
awk -v p="$(p50 old)" -v q="$(p50 postfix)" 'BEGIN {exit !(p < q / 2)}' ||
    fail "--writes stage --nodelay, p50 $(p50 old) ms: stalls too"
pass "one write per reply, TCP_NODELAY (the old client): no stall, p50 $(p50 old) ms"

run duration -c 4 --duration 3 --interval 1 --writes stage --nodelay
expect_field errors 0 "--duration 3: no error"
# intervals: 3, holding every transaction of the run
r=$(python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
iv = j["intervals"]
print(len(iv), j["transactions"], sum(x["transactions"] for x in iv))' "$T/duration.json")
set -- $r
[ "$1" = 3 ] || fail "--duration 3 --interval 1: $1 intervals, expected 3"
[ "$2" -gt 0 ] || fail "--duration 3: no transaction"
[ "$3" = "$2" ] || fail "the intervals hold $3 transactions, the run $2"
pass "--duration 3 --interval 1: $2 transactions, all in 3 intervals"
