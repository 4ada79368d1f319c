#!/bin/bash
# bench_smoke.sh - the benchmark as a smoke test: `bench/run --quick
# --no-write` must run to the end, and sluice with Redis must make at most
# 2 store round trips per message (counted by Redis MONITOR, for 1, 3 and
# 50 recipients and both worst cases). A regression in round trips per
# message fails this test. About 40 s; it starts its own redis-server.
#
# Under CTest, SLUICE names the built daemon; sluice-bench and empty-milter
# are built next to it and are used as they are (no second build). Run by
# hand, bench/run builds into build-bench-run/.
set -eu

SRC=${SLUICE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench-smoke.XXXXXX")
trap 'rm -rf "$T"' EXIT

args="--quick --no-write --summary $T/summary"
if [ -n "${SLUICE:-}" ]; then
	bindir=$(dirname "$SLUICE")
	if [ -x "$bindir/sluice-bench" ] && [ -x "$bindir/empty-milter" ]; then
		args="$args --bin-dir $bindir"
	fi
fi

# shellcheck disable=SC2086
if ! "$SRC/bench/run" $args > "$T/out" 2> "$T/err"; then
	tail -n 40 "$T/err" >&2
	echo "FAIL: bench/run --quick failed" >&2
	exit 1
fi
echo "ok - bench/run --quick ran to the end"

val() { sed -n "s/^$1=//p" "$T/summary"; }
max=$(val roundtrips_max)
[ -n "$max" ] || { cat "$T/summary" >&2; echo "FAIL: no round trip figure" >&2; exit 1; }
fail=0
for key in $(sed -n 's/^\(roundtrips_[a-z0-9_]*\)=.*/\1/p' "$T/summary"); do
	v=$(val "$key")
	echo "  $key = $v"
	if ! awk -v v="$v" 'BEGIN {exit !(v != "" && v + 0 <= 2.0)}'; then
		echo "FAIL: $key = $v store round trips per message (at most 2)" >&2
		fail=1
	fi
done
# accepted messages are charged in Redis: at least 1 trip each, or MONITOR
# did not see sluice at all and the count above proves nothing
for key in roundtrips_1_recipient roundtrips_3_recipients \
    roundtrips_50_recipients; do
	v=$(val "$key")
	awk -v v="$v" 'BEGIN {exit !(v != "" && v + 0 >= 1)}' ||
	    { echo "FAIL: $key = '$v': MONITOR saw no EVALSHA" >&2; fail=1; }
done
[ "$fail" = 0 ] || { sed -n '/## Store round trips/,/^## Instr/p' "$T/out" >&2; exit 1; }
echo "ok - at most 2 store round trips per message (max $max)"

# sluice must not have failed a milter transaction anywhere in the run
errs=$(sed -n 's/^many_[a-z_]*_errors=//p' "$T/summary" | awk '{s += $1} END {print s + 0}')
[ "$errs" = 0 ] || { echo "FAIL: $errs milter errors with many connections" >&2; exit 1; }
echo "ok - no milter errors with many connections"
