#!/bin/sh
# run.sh - build the libFuzzer targets with clang (ASan + UBSan) in their
# own tree and run each one on its corpus for a short while. A crash, a
# leak, a sanitizer report or a broken property fails the run and leaves
# the input in BUILD/artifacts/. The seed corpora (test/fuzz/corpus_*)
# are only read; what the fuzzer finds goes to BUILD/corpus_*.
#
# Usage: test/fuzz/run.sh [SECONDS_PER_TARGET [BUILD_DIR]]
#        (default 25 s, build-fuzz/ at the top of the tree)
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-25}
build=${2:-$src/build-fuzz}
targets="addr fingerprint hopmark config sender identity ctlproto mtalog"

command -v clang > /dev/null 2>&1 || {
	echo "fuzz/run.sh: clang is not installed (apt-get install clang" \
	    "libclang-rt-14-dev)" >&2
	exit 1
}
mkdir -p "$build"
build=$(cd "$build" && pwd)	# absolute: two targets chdir to a temp dir
CC=clang cmake -S "$src" -B "$build" -DSLUICE_FUZZ=ON -DBUILD_TESTING=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$build/cmake.log" 2>&1 ||
    { cat "$build/cmake.log" >&2; exit 1; }
cmake --build "$build" -j "$(nproc)" --target fuzz > "$build/build.log" 2>&1 ||
    { cat "$build/build.log" >&2; exit 1; }

mkdir -p "$build/artifacts"
MAX_LEN=8192

# fuzz TARGET ARGS... - run one target under the sanitizers
fuzz() {
	f=$1
	shift
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    "$build/test/fuzz/fuzz_$f" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$build/artifacts/${f}-" \
	    "$@"
}
failed=""
printf '%-12s %10s %10s %8s %s\n' target runs exec/s corpus result
for t in $targets; do
	work="$build/corpus_$t"
	mkdir -p "$work"
	log="$build/fuzz_$t.log"
	rc=0
	# every seed whole first (some are 64 KiB), then mutations of at
	# most MAX_LEN bytes: ten times the executions per second
	fuzz "$t" -runs=0 "$src/test/fuzz/corpus_$t" > "$log" 2>&1 || rc=$?
	[ "$rc" != 0 ] || fuzz "$t" -max_total_time="$secs" \
	    -max_len="$MAX_LEN" "$work" "$src/test/fuzz/corpus_$t" \
	    >> "$log" 2>&1 || rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
	    tail -n 1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	n=$(ls "$work" | wc -l)
	if [ "$rc" = 0 ]; then
		res=ok
	else
		res="FAILED (exit $rc, see $log)"
		failed="$failed $t"
	fi
	printf '%-12s %10s %10s %8s %s\n' "$t" "${runs:-?}" "${eps:-?}" "$n" \
	    "$res"
done
if [ -n "$failed" ]; then
	for t in $failed; do
		echo "--- fuzz_$t (last 40 lines)" >&2
		tail -n 40 "$build/fuzz_$t.log" >&2
	done
	echo "fuzz/run.sh: failed:$failed; inputs in $build/artifacts/" >&2
	exit 1
fi
echo "fuzz/run.sh: all targets ran ${secs} s without a finding"
