#!/bin/sh
# test.sh - install what is missing, build, and run the whole test suite:
# once as built (warnings are errors), once under AddressSanitizer and
# UndefinedBehaviorSanitizer; then each libFuzzer target for
# FUZZ_SECONDS (default 10) with clang. Usage: ./test.sh [ctest arguments...]
set -eu
cd "$(dirname "$0")"
sh scripts/deps.sh

run_suite() {
	dir=$1
	shift
	cmake -S . -B "$dir" -DSLUICE_WERROR=ON "$@" > "$dir.cmake.log" 2>&1 ||
	    { cat "$dir.cmake.log"; exit 1; }
	cmake --build "$dir" -j "$(nproc)" > "$dir.build.log" 2>&1 ||
	    { cat "$dir.build.log"; exit 1; }
	# two at a time: most integration tests wait on daemons, not CPUs
	# (those sharing the test redis-server take RESOURCE_LOCK redis)
	(cd "$dir" && ctest --output-on-failure -j "${SLUICE_TEST_JOBS:-2}" \
	    $CTEST_ARGS)
}

mkdir -p build
CTEST_ARGS="$*"
echo "== build and test (build/)"
run_suite build
echo "== build and test under ASan + UBSan (build-asan/)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build-asan -DSANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug
echo "== fuzz each parser for a short while (build-fuzz/)"
if command -v clang > /dev/null 2>&1; then
	nice sh test/fuzz/run.sh "${FUZZ_SECONDS:-10}" build-fuzz
else
	echo "test.sh: fuzzing skipped: clang is not installed" \
	    "(scripts/deps.sh installs clang and libclang-rt-14-dev)"
fi
echo "== the daemon under valgrind memcheck in the milter-protocol tests (build/)"
if command -v valgrind > /dev/null 2>&1; then
	(cd build && SLUICE_VALGRIND=1 ctest --output-on-failure \
	    -R '^(milter_limits|content_detectors|loops|kill_switch|identity|client_addresses)$') ||
	    exit 1
else
	echo "test.sh: valgrind skipped: not installed (scripts/deps.sh installs it)"
fi
echo "test.sh: all suites passed"
