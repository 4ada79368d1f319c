#!/bin/bash
# daemon_cli.sh - the daemon as an administrator meets it: -V, -n, config
# errors with file:line and EX_CONFIG, pidfile, SIGUSR1 reload without a
# restart, SIGTERM stopping cleanly.
. "$(dirname "$0")/lib.sh"

"$SLUICE" -V | grep -Eq '^sluice [0-9]+\.[0-9]+' || fail "-V prints no version"
pass "-V prints the version"

set +e
"$SLUICE" -x > "$T/out" 2>&1; rc=$?
set -e
[ $rc = 64 ] && grep -q usage "$T/out" || fail "bad option: rc $rc"
pass "a bad option prints usage, exit 64"

write_config good "store memory" 'class default {' 'messages 2/1h' '}'
"$SLUICE" -n -c "$T/good.conf" | grep -q "configuration OK" ||
    fail "-n rejects a good config"
pass "-n accepts a good config"

# -n -v: the effective configuration, itself a config that loads again
printf 'bulk@example.com sluice\n' > "$T/classes"
printf 'hunter2-not-printed\n' > "$T/redis.pw"
chmod 600 "$T/redis.pw"
write_config verbose "store redis" "redis_password_file $T/redis.pw" \
    "class_map $T/classes" "trusted_networks 10.0.0.0/8 ::1" \
    'class sluice {' 'messages 3/1h' '}'
"$SLUICE" -n -v -c "$T/verbose.conf" > "$T/dump.conf" ||
    fail "-n -v refuses a good config"
for line in "store redis" "redis_password_file $T/redis.pw" \
    "class_map $T/classes" "trusted_networks 10.0.0.0/8, ::1" \
    "redis_pool 16" "# user (unset)" "class sluice {" "    messages 3/1h"; do
	grep -qxF "$line" "$T/dump.conf" || { cat "$T/dump.conf";
	    fail "-n -v: no line '$line'"; }
done
grep -q hunter2 "$T/dump.conf" && fail "-n -v printed the Redis password"
"$SLUICE" -n -v -c "$T/dump.conf" > "$T/dump2.conf" ||
    fail "the output of -n -v is not a valid configuration"
diff <(tail -n +2 "$T/dump.conf") <(tail -n +2 "$T/dump2.conf") ||
    fail "-n -v of its own output differs"
pass "-n -v prints every key, no secret, and reads back to the same text"

set +e
"$SLUICE" -v -c "$T/good.conf" > "$T/out" 2>&1; rc=$?
set -e
[ $rc = 64 ] && grep -q usage "$T/out" || fail "-v without -n: rc $rc"
pass "-v without -n is a usage error"

printf 'socket unix:%s/x.sock\nmode enforce\nmesages 10/1h\n' "$T" > "$T/bad.conf"
set +e
"$SLUICE" -n -c "$T/bad.conf" > "$T/out" 2>&1; rc=$?
set -e
[ $rc = 78 ] || fail "bad config: exit $rc, expected 78 (EX_CONFIG)"
grep -q "bad.conf:3: .*mesages" "$T/out" || { cat "$T/out";
    fail "bad config error does not name file:line and the key"; }
pass "bad config: file:line named, exit 78"

set +e
"$SLUICE" -f -c "$T/bad.conf" > "$T/out" 2>&1; rc=$?
set -e
[ $rc = 78 ] || fail "starting with a bad config: exit $rc"
pass "the daemon refuses to start with a bad config"

set +e
"$SLUICE" -n -c "$T/missing.conf" > "$T/out" 2>&1; rc=$?
set -e
[ $rc = 78 ] && grep -q "missing.conf" "$T/out" || fail "missing config: rc $rc"
pass "missing config: named, exit 78"

# running: pidfile, reload, stop
start_sluice good
[ "$(cat "$T/good.pid")" = "$PID_good" ] || fail "pidfile does not hold the pid"
pass "pidfile written"

bench good -c 1 -n 5 --login reload@example.test
expect_field accept 2 "limit 2/1h before reload"
expect_field tempfail 3 "limit 2/1h before reload"

write_config good "store memory" 'class default {' 'messages 10/1h' '}'
kill -USR1 "$PID_good"
wait_until 5 "no reload logged" grep -q "configuration reloaded" "$T/good.log"
bench good -c 1 -n 5 --login reload@example.test
expect_field accept 5 "limit 10/1h after SIGUSR1 (2 + 5 sent)"

# a broken config on reload keeps the running one
printf 'bogus line\n' >> "$T/good.conf"
kill -USR1 "$PID_good"
wait_until 5 "failed reload not logged" grep -q "reload failed" "$T/good.log"
expect_log good 'reload failed, keeping the running configuration: .*good.conf:[0-9]+' \
    "a bad reload names file:line and keeps running"
bench good -c 1 -n 4 --login reload@example.test
expect_field accept 3 "old limits still apply (7 + 3 = 10)"

stop_sluice good
[ ! -e "$T/good.pid" ] || fail "pidfile left behind after SIGTERM"
expect_log good 'stopping' "SIGTERM stops cleanly and removes the pidfile"
# started as root with "user nobody": socket handed over, root dropped;
# the pid file is written as root (before the drop), so it may live in a
# directory only root can write; at stop it is removed where nobody may
# remove it, else emptied (never left naming a pid that is not sluice's)
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	d=$(mktemp -d /tmp/sluice-priv.XXXXXX)
	chmod 755 "$d"
	mkdir "$d/run"
	chown nobody "$d/run"
	# priv_start NAME PIDFILE - sluice -f as root with "user nobody"
	priv_start() {
		printf 'socket unix:%s/%s.sock\nuser nobody\nsyslog no\npidfile %s\ncontrol_socket %s/ctl/%s.ctl\nstate_file %s/state/%s.state\n' \
		    "$d" "$1" "$2" "$d" "$1" "$d" "$1" > "$T/$1.conf"
		"$SLUICE" -f -c "$T/$1.conf" >> "$T/$1.log" 2>&1 &
		ppid=$!
		PIDS="$PIDS $ppid"
		wait_until 5 "$1: no socket" test -S "$d/$1.sock"
		kill -0 "$ppid" 2>/dev/null || fail "$1: sluice exited at start"
		sleep 0.2
		kill -0 "$ppid" 2>/dev/null || fail "$1: sluice exited at start"
	}
	# priv_stop - SIGTERM, and the exit status
	priv_stop() {
		kill "$ppid"
		rc=0
		wait "$ppid" 2>/dev/null || rc=$?
		[ "$rc" = 0 ] || fail "sluice exited $rc on SIGTERM"
	}
	# one left behind by a run as nobody: root's again once written
	echo 1 > "$d/sluice.pid"
	chown nobody "$d/sluice.pid"
	priv_start priv "$d/sluice.pid"
	uid=$(awk '/^Uid:/ { print $2 }' "/proc/$ppid/status")
	[ "$uid" = "$(id -u nobody)" ] || fail "still uid $uid after user nobody"
	[ "$(stat -c '%U %a' "$d/priv.sock")" = "nobody 660" ] ||
	    fail "socket is $(stat -c '%U %a' "$d/priv.sock"), expected nobody 660"
	"$SLUICE_BENCH" -s "unix:$d/priv.sock" -c 1 -n 3 --login p@example.test \
	    -q > "$T/bench.out" 2>&1 || fail "no service after dropping root"
	pass "user nobody: root dropped, socket nobody 0660, mail flows"
	[ "$(cat "$d/sluice.pid")" = "$ppid" ] ||
	    fail "pid file in root's 0755 directory holds '$(cat "$d/sluice.pid")', not $ppid"
	[ "$(stat -c %U "$d/sluice.pid")" = root ] ||
	    fail "the pid file belongs to $(stat -c %U "$d/sluice.pid")"
	pass "user nobody, pid file in a root-owned 0755 directory: written (by root, owned by root) with the daemon's pid"
	priv_stop
	[ -e "$d/sluice.pid" ] && [ ! -s "$d/sluice.pid" ] ||
	    fail "pid file at stop: $(ls -l "$d/sluice.pid" 2>&1)"
	grep -q "pidfile $d/sluice.pid: emptied, not removed (Permission denied)" \
	    "$T/priv.log" || fail "no log line says the pid file was emptied"
	pass "at stop nobody may not remove it: emptied, and logged"

	priv_start privrun "$d/run/sluice.pid"
	[ "$(cat "$d/run/sluice.pid")" = "$ppid" ] ||
	    fail "pid file in nobody's directory: '$(cat "$d/run/sluice.pid")'"
	priv_stop
	[ ! -e "$d/run/sluice.pid" ] || fail "pid file left in nobody's directory"
	pass "pid file in a directory of the user (as systemd's RuntimeDirectory): removed at stop"
	rm -rf "$d"
fi
# under systemd (JOURNAL_STREAM names stderr) with syslog on, a line goes
# to syslog only: the journal would get it twice otherwise
: > "$T/journal.err"
printf 'socket unix:%s/j.sock\nsyslog yes\ncontrol_socket %s/j.ctl\nstate_file %s/j.state\n' \
    "$T" "$T" "$T" > "$T/j.conf"
(
	exec 2>> "$T/journal.err"
	JOURNAL_STREAM=$(stat -c '%d:%i' "$T/journal.err") exec "$SLUICE" -f \
	    -c "$T/j.conf"
) > /dev/null &
jpid=$!
PIDS="$PIDS $jpid"
wait_until 10 "sluice under JOURNAL_STREAM: no socket" test -S "$T/j.sock"
"$SLUICE_BENCH" -s "unix:$T/j.sock" -c 1 -n 2 --login j@example.test -q \
    > "$T/bench.out" 2>&1 || fail "no service under JOURNAL_STREAM"
kill "$jpid"; wait "$jpid" 2>/dev/null || true
grep -q 'eom login=j@example.test' "$T/journal.err" &&
    fail "stderr is the journal (JOURNAL_STREAM) and syslog is on, yet lines went to stderr too"
grep -q 'eom login=good@\|starting' "$T/good.log" ||
    fail "without JOURNAL_STREAM, -f logs to stderr"
pass "stderr is the journal and syslog is on: each line logged once (syslog)"
echo "daemon_cli: all passed"
