# lib.sh - shared by the integration tests: a scratch directory, daemons
# started on loopback or unix sockets with generated configs, assertions.
# Sourced; every test gets SLUICE, SLUICE_BENCH, SLUICE_SRC from CTest.
set -eu

: "${SLUICE:?SLUICE must name the sluice binary}"
: "${SLUICE_BENCH:?SLUICE_BENCH must name the sluice-bench binary}"
: "${SLUICE_SRC:?SLUICE_SRC must name the source tree}"

T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-test.XXXXXX")
PIDS=""
FAILED=0

# mine PID - is PID still a child of this script? (PIDs are reused fast:
#            never signal a process that merely inherited the number)
mine() {
	[ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f2)" = "$$" ]
}

cleanup() {
	for p in $PIDS; do
		mine "$p" && kill "$p" 2>/dev/null || true
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null || true
	done
	if [ "$FAILED" = 0 ] && [ -z "${KEEP_TMP:-}" ]; then
		rm -rf "$T"
	else
		echo "test files kept in $T" >&2
	fi
}
trap cleanup EXIT

# fail MSG - report and stop the test
fail() {
	FAILED=1
	echo "FAIL: $*" >&2
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		echo "--- $f (last 30 lines)" >&2
		tail -n 30 "$f" >&2
	done
	exit 1
}

# pass MSG - one check that held
pass() {
	echo "ok - $*"
}

# free_port - a TCP port free on 127.0.0.1 right now
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# free_port_but PORT... - a free port that is none of PORT (ports picked
# but not yet bound: free_port may hand one out again)
free_port_but() {
	while :; do
		_port=$(free_port)
		case " $* " in
		*" $_port "*) ;;
		*) echo "$_port"; return 0 ;;
		esac
	done
}

# redis_port - the port of the CTest fixture's redis-server
redis_port() {
	cat "${SLUICE_TEST_REDIS_DIR:?no redis fixture}/port"
}

# write_config NAME BODY... - write $T/NAME.conf: common settings + BODY
write_config() {
	name=$1
	shift
	{
		echo "socket unix:$T/$name.sock"
		echo "syslog no"
		echo "pidfile $T/$name.pid"
		printf '%s\n' "$@"
		# the memory store's socket and state file: this test's own
		# (last, so the body keeps its line numbers)
		case "$*" in *control_socket*) ;;
		*) echo "control_socket $T/$name.ctl" ;; esac
		case "$*" in *state_file*) ;;
		*) echo "state_file $T/$name.state" ;; esac
	} > "$T/$name.conf"
}

# store_config STORE TAG - the config lines of store STORE (memory or
# redis: the fixture's, with a prefix of its own made of TAG), for tests
# that run on both
store_config() {
	if [ "$1" = redis ]; then
		printf 'store redis\nredis_server 127.0.0.1:%s\nredis_prefix t-%s-%s:' \
		    "$(redis_port)" "$2" "$$"
	else
		printf 'store memory'
	fi
}

# start_sluice NAME - run sluice -f with $T/NAME.conf, wait for its socket
start_sluice() {
	name=$1
	shift
	# never the installed daemon's control socket and state file
	grep -q '^control_socket' "$T/$name.conf" ||
	    echo "control_socket $T/$name.ctl" >> "$T/$name.conf"
	grep -q '^state_file' "$T/$name.conf" ||
	    echo "state_file $T/$name.state" >> "$T/$name.conf"
	if [ -n "${SLUICE_VALGRIND:-}" ]; then
		# memcheck: any error, or a leak at exit, fails stop_sluice
		valgrind --quiet --error-exitcode=99 --leak-check=full \
		    --errors-for-leak-kinds=definite \
		    --show-leak-kinds=definite --log-file="$T/$name.vg" \
		    "$SLUICE" -f -c "$T/$name.conf" "$@" >> "$T/$name.log" 2>&1 &
	else
		"$SLUICE" -f -c "$T/$name.conf" "$@" >> "$T/$name.log" 2>&1 &
	fi
	pid=$!
	PIDS="$PIDS $pid"
	eval "PID_$name=$pid"
	i=0
	while ! sock_ready "$(sock_of "$name")"; do
		i=$((i + 1))
		[ $i -lt 600 ] || fail "sluice $name did not start"
		kill -0 "$pid" 2>/dev/null || fail "sluice $name exited at start"
		sleep 0.05
	done
}

# sock_ready SPEC - is a milter listening at unix:PATH or inet:PORT@HOST?
sock_ready() {
	case $1 in
	unix:*|local:*)
		[ -S "${1#*:}" ] ;;
	inet:*)
		p=${1#inet:}
		h=${p#*@}
		[ "$h" = "$p" ] && h=127.0.0.1
		(exec 3<>"/dev/tcp/$h/${p%@*}") 2>/dev/null ;;
	*)
		return 1 ;;
	esac
}

# sock_of NAME - the milter socket of a started sluice
sock_of() {
	sed -n 's/^socket[[:space:]]*//p' "$T/$1.conf" | tail -n 1
}

# stop_sluice NAME - SIGTERM and wait; fails if it does not stop in 5 s
stop_sluice() {
	eval "pid=\$PID_$1"
	mine "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 600 ] || fail "sluice $1 did not stop on SIGTERM in 30 s"
		sleep 0.05
	done
	rc=0
	wait "$pid" 2>/dev/null || rc=$?
	if [ -n "${SLUICE_VALGRIND:-}" ] && { [ "$rc" = 99 ] ||
	    [ -s "$T/$1.vg" ]; }; then
		cat "$T/$1.vg" >&2
		fail "valgrind found errors in sluice $1 (exit $rc)"
	fi
	return 0
}

# start_redis / stop_redis - a redis-server of the test's own on $rport
# (set it first), for tests that kill or pause Redis
start_redis() {
	redis-server --bind 127.0.0.1 --port "$rport" --save '' \
	    --appendonly no --daemonize yes --dir "$T" \
	    --pidfile "$T/redis.pid" --logfile "$T/redis-server.log"
	i=0
	until redis-cli -p "$rport" ping 2>/dev/null | grep -q PONG; do
		i=$((i + 1)); [ $i -lt 200 ] || fail "redis did not start"
		sleep 0.05
	done
}
stop_redis() {
	kill "$(cat "$T/redis.pid")" 2>/dev/null || true
	i=0
	while redis-cli -p "$rport" ping >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -lt 200 ] || fail "redis did not stop"
		sleep 0.05
	done
}

# bench NAME ARGS... - run sluice-bench against NAME, JSON in $T/bench.json
bench() {
	name=$1
	shift
	"$SLUICE_BENCH" -s "$(sock_of "$name")" --json "$@" > "$T/bench.out" \
	    2>&1 || { cat "$T/bench.out" >&2; fail "sluice-bench failed"; }
	grep '^{' "$T/bench.out" | tail -n 1 > "$T/bench.json"
}

# field KEY - a number from the last bench JSON line
field() {
	sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" "$T/bench.json"
}

# expect_field KEY VALUE WHAT - assert a bench result
expect_field() {
	got=$(field "$1")
	[ "$got" = "$2" ] || { cat "$T/bench.out" >&2;
	    fail "$3: $1 = $got, expected $2"; }
	pass "$3: $1 = $2"
}

# wait_until SECONDS WHAT COMMAND... - poll COMMAND every 50 ms until it
# succeeds; fail with WHAT after SECONDS
wait_until() {
	limit=$(( $1 * 20 )) what=$2
	shift 2
	i=0
	until "$@"; do
		i=$((i + 1))
		[ $i -lt "$limit" ] || fail "$what"
		sleep 0.05
	done
}

# eom_class NAME LOGIN CLASS - the last decision line of LOGIN in NAME's
# log names CLASS
eom_class() {
	grep ": [a-z]* login=$2 " "$T/$1.log" | tail -n 1 |
	    grep -q "class=$3 " || fail "relay $1: $2 not in class $3: $(grep \
	    ": [a-z]* login=$2 " "$T/$1.log" | tail -n 1)"
}

# expect_log NAME REGEX WHAT - the daemon's log has a matching line
expect_log() {
	grep -Eq -- "$2" "$T/$1.log" || fail "$3: no log line matching /$2/"
	pass "$3"
}

# miltertest_run NAME SCRIPT [VAR=VALUE...] - a Lua script against NAME
miltertest_run() {
	name=$1 script=$2
	shift 2
	defs="-D socket=$(sock_of "$name")"
	defs="$defs -D common=$SLUICE_SRC/test/integration/common.lua"
	for d in "$@"; do
		defs="$defs -D $d"
	done
	# shellcheck disable=SC2086
	miltertest $defs -s "$script" > "$T/miltertest.out" 2>&1 ||
	    { cat "$T/miltertest.out" >&2;
	      fail "miltertest $(basename "$script") failed"; }
	pass "miltertest $(basename "$script")"
}

# page_metric PORT SAMPLE - one value of the metrics page on 127.0.0.1:PORT
# ("name" or 'name{label="v"}'); nothing when absent
page_metric() {
	python3 - "$1" "$2" <<'PY'
import sys, urllib.request
page = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1]).read().decode()
for line in page.splitlines():
    if line.startswith(sys.argv[2] + " "):
        print(line.split()[-1])
PY
}

# ctl ARGS... - run sluicectl with $CTL_CONF (default relay a's config,
# $T/a.conf): $T/ctl.out, $T/ctl.err, exit code in RC
ctl() {
	RC=0
	"$SLUICECTL" -c "${CTL_CONF:-$T/a.conf}" "$@" > "$T/ctl.out" \
	    2> "$T/ctl.err" || RC=$?
}

# expect_rc N WHAT - the last ctl exited with N
expect_rc() {
	[ "$RC" = "$1" ] || { cat "$T/ctl.out" "$T/ctl.err" >&2;
	    fail "$2: exit $RC, expected $1"; }
}

# js EXPR - a Python expression over the last ctl's JSON output, as d
js() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
	    "$T/ctl.out" "$1" || { cat "$T/ctl.out" >&2;
	    fail "sluicectl $* printed no valid JSON"; }
}
