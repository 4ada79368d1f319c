#!/bin/sh
# run.sh - install what is missing, build, and run sluice in the foreground
# with the embedded (memory) store and contrib/sluice-dev.conf, logging
# each decision to the terminal. Point an MTA at inet:8890@127.0.0.1.
# Extra arguments go to sluice (e.g. ./run.sh -p unix:/tmp/sluice.sock).
set -eu
cd "$(dirname "$0")"
sh scripts/deps.sh
cmake -S . -B build > /dev/null
cmake --build build -j "$(nproc)" --target sluice sluicectl > /dev/null
exec ./build/sluice -f -c contrib/sluice-dev.conf "$@"
