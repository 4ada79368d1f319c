#!/bin/bash
# sluicectl.sh - the administrator's tool against a real redis-server and
# a real sluice daemon: status, top and show count what was sent (text
# and JSON), lock makes the daemon refuse the login, unlock lets it
# through, lock --for ends on time, reset forgets, class writes P:classes
# and publishes, hostile logins give valid JSON, bad arguments give the
# usage and exit 2, a config error 78, Redis down 3.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ctl_cases.sh"
: "${SLUICECTL:?SLUICECTL must name the sluicectl binary}"
port=$(redis_port)
P="t-ctl-$$:"
rcli() { redis-cli -p "$port" "$@"; }

# the domain class of ctl_cases' tabdom.test (top --domains)
printf 'tabdom.test bulk\n' > "$T/domains"
write_config a "store redis" "redis_server 127.0.0.1:$port" \
    "redis_prefix $P" "lock_after 50/1h" "lock_lifetime 1m" \
    "domain_class_map $T/domains" \
'class default {
    messages 5/1h 20/1d
    recipients 100/1h
    repeats 50/1h
}
class bulk {
    messages 1000/1h
    domain_messages 1000/1h
    domain_recipients 10000/1h
}'
start_sluice a

# ctl, expect_rc, js: lib.sh

# expect_js EXPR VALUE WHAT - assert on the last JSON output
expect_js() {
	got=$(js "$1")
	[ "$got" = "$2" ] || { cat "$T/ctl.out" >&2;
	    fail "$3: $1 = $got, expected $2"; }
	pass "$3"
}

# expect_out REGEX WHAT - a line of the last text output matches
expect_out() {
	grep -Eq -- "$1" "$T/ctl.out" || { cat "$T/ctl.out" >&2;
	    fail "$2: no line matching /$1/"; }
	pass "$2"
}

# every event sluicectl publishes, as redis-cli prints them
rcli SUBSCRIBE "${P}events" > "$T/events.out" 2>&1 &
PIDS="$PIDS $!"
wait_until 10 "the subscriber did not start" grep -q subscribe "$T/events.out"

# --- counting: 3 messages x 4 recipients from alice, 2 x 2 from bob
bench a -c 1 -n 3 -r 4 --login 'Alice@Example.test'
expect_field accept 3 "alice's 3 messages are accepted"
bench a -c 1 -n 2 -r 2 --login 'bob@example.test'
expect_field accept 2 "bob's 2 messages are accepted"

ctl --json show alice@example.test
expect_rc 0 "show --json"
A=$(js 'd["key"]')
B=$("$SLUICECTL" -c "$T/a.conf" --json show bob@example.test |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
expect_js '[(l["name"], l["window"], l["count"], l["limit"]) for l in d["limits"]][:3]' \
    "[('messages', 3600, 3, 5), ('messages', 86400, 3, 20), ('recipients', 3600, 12, 100)]" \
    "show --json: alice's messages and recipients against each limit"
expect_js 'd["class"]["name"], d["lock"]["locked"]' "('default', False)" \
    "show --json: class default, not locked"
ctl show ALICE@example.test
expect_out '^messages +1h +3 +5$' "show: 3 of 5 messages in 1h"
expect_out '^messages +1d +3 +20$' "show: 3 of 20 messages in 1d"
expect_out '^recipients +1h +12 +100$' "show: 12 of 100 recipients in 1h"
expect_out '^class +default \(default\)$' "show: the class and where it comes from"
expect_out '^locked +no$' "show: not locked"

# top: alice named through her who key (as the daemons write it), bob
# by name if a daemon wrote his, else by his key
rcli SET "${P}{$A}:who" 'alice@example.test' EX 86400 > /dev/null
ctl top
expect_rc 0 "top"
expect_out '^messages in the last 1h: 2 senders, showing 2$' "top: 2 senders in 1h"
sed -n 3p "$T/ctl.out" | grep -Eiq '^alice@example\.test +sasl +3 +12$' ||
    { cat "$T/ctl.out"; fail "top: alice is not first with 3 messages, 12 recipients"; }
pass "top: alice first, 3 messages, 12 recipients, named from her who key"
sed -n 4p "$T/ctl.out" | grep -Eiq "^(bob@example\.test +sasl|$B +\?) +2 +4$" ||
    { cat "$T/ctl.out"; fail "top: bob second with 2 messages"; }
pass "top: bob second, by name or by key ($(sed -n 4p "$T/ctl.out" | cut -c1-32))"
ctl top --json -n 1 --window 1h
expect_js '[(s["login"].lower(), s["messages"], s["recipients"]) for s in d["senders"]], d["senders_counted"], d["window"]' \
    "([('alice@example.test', 3, 12)], 2, 3600)" "top --json -n 1: alice, and 2 senders counted"
ctl top --window 1d --json
expect_js '[s["messages"] for s in d["senders"]]' "[3, 2]" "top --window 1d: the day window"

# --- status
ctl status
expect_rc 0 "status"
expect_out "^store +redis 127\.0\.0\.1:$port, prefix \"$P\": reachable, redis [0-9.]+, ping [0-9.]+ ms$" \
    "status: the store is reachable, with its version and latency"
expect_out '^  default +messages 5/1h 20/1d  recipients 100/1h  repeats 50/1h$' \
    "status: the classes and their limits"
expect_out '^locked +0 logins$' "status: nobody locked yet"

# --- lock: the daemon refuses the login at its next message
t_before=$(date +%s)
ctl lock alice@example.test --reason 'phished: "x" \ y'
expect_rc 0 "lock"
t_after=$(date +%s)
expect_out '^locked alice@example.test on every relay until ' "lock: says until when"
bench a -c 1 -n 1 --login 'alice@example.test'
expect_field tempfail 1 "lock: the next message of the login is refused"
grep -q '451 4.7.1 This account is locked' "$T/bench.out" ||
    fail "lock: no 451 4.7.1 'locked' reply"
pass "lock: the client reads 451 4.7.1 This account is locked"
bench a -c 1 -n 1 --login 'bob@example.test'
expect_field accept 1 "lock: other logins pass"
wait_until 10 "no 'lock H' event published" grep -qx "lock $A" "$T/events.out"
pass "lock: 'lock $A' published on ${P}events"
[ "$(rcli ZSCORE "${P}locked" "$A")" != "" ] || fail "lock: not in ${P}locked"
[ "$(rcli HGET "${P}{$A}:lockinfo" reason)" = 'phished: "x" \ y' ] ||
    fail "lock: lockinfo reason is $(rcli HGET "${P}{$A}:lockinfo" reason)"
[ "$(rcli HGET "${P}{$A}:lockinfo" by)" = sluicectl ] || fail "lock: lockinfo by"
pass "lock: ${P}locked and lockinfo (reason, by) written"
ctl status --json
expect_js '[(l["login"], l["by"], l["reason"]) for l in d["locked"]]' \
    "[('alice@example.test', 'sluicectl', 'phished: \"x\" \\\\ y')]" \
    "status --json: the locked login, who locked it and why"
ctl status
expect_out '^locked +1 login$' "status: one locked login"
expect_out '^  alice@example\.test +sasl +20[0-9-]+T[0-9:]+Z sluicectl +phished' \
    "status: the locked login's line"
ctl show --json alice@example.test
expect_js 'd["lock"]["locked"], d["lock"]["reason"]' "(True, 'phished: \"x\" \\\\ y')" \
    "show --json: locked, with the reason"
until=$(js 'd["lock"]["until"]')
[ "$until" -ge $((t_before + 60)) ] && [ "$until" -le $((t_after + 62)) ] ||
    fail "lock: ends at $until, expected lock_lifetime 60 s (+1 s bucket) after $t_before..$t_after"
pass "lock: ends $((until - t_before)) s after the command began (lock_lifetime 1m, buckets of 1 s)"

# --- unlock
ctl unlock alice@example.test
expect_rc 0 "unlock"
expect_out '^alice@example.test: unlocked on every relay$' "unlock: says so"
bench a -c 1 -n 1 --login 'alice@example.test'
expect_field accept 1 "unlock: the login sends again"
wait_until 10 "no 'unlock H' event" grep -qx "unlock $A" "$T/events.out"
pass "unlock: 'unlock $A' published"
[ "$(rcli ZSCORE "${P}locked" "$A")" = "" ] || fail "unlock: still in ${P}locked"
[ "$(rcli EXISTS "${P}{$A}:lockinfo")" = 0 ] || fail "unlock: lockinfo left"
pass "unlock: ${P}locked and lockinfo cleared"
ctl unlock alice@example.test
expect_rc 1 "unlock of a login that is not locked"
pass "unlock of a login that is not locked: exit 1"

# --- lock --for: ends after about D, within one bucket (1 s here)
t0=$(date +%s%N)
ctl --json lock alice@example.test --for 5s
expect_rc 0 "lock --for 5s"
expect_js 'd["locked"], d["precision_s"]' "(True, 1)" "lock --for --json: locked, 1 s precision"
bench a -c 1 -n 1 --login 'alice@example.test'
expect_field tempfail 1 "lock --for 5s: refused meanwhile"
locked() {
	"$SLUICECTL" -c "$T/a.conf" --json show alice@example.test |
	    python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["lock"]["locked"] else 1)'
}
i=0
while locked; do
	i=$((i + 1))
	[ $i -lt 600 ] || fail "lock --for 5s never ended"
	sleep 0.05
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -ge 5000 ] && [ "$ms" -le 20000 ] || fail "lock --for 5s lasted $ms ms"
bench a -c 1 -n 1 --login 'alice@example.test'
expect_field accept 1 "lock --for 5s: the login sends again after it"
pass "lock --for 5s: over $ms ms after the command began (due 5000 to 6000 after the lock)"
ctl lock alice@example.test --for 2m
expect_rc 2 "lock --for longer than lock_lifetime"
grep -q 'longer than lock_lifetime 1m' "$T/ctl.err" || fail "lock --for 2m: $(cat "$T/ctl.err")"
pass "lock --for 2m > lock_lifetime 1m: refused, exit 2, says why"
ctl unlock alice@example.test

# --- reset
ctl reset Alice@example.test
expect_rc 0 "reset"
expect_out '^Alice@example.test: [0-9]+ counters forgotten$' "reset: says how many"
wait_until 10 "no 'reset H' event" grep -qx "reset $A" "$T/events.out"
pass "reset: 'reset $A' published"
ctl --json show alice@example.test
expect_js '[l["count"] for l in d["limits"]]' "[0, 0, 0, 0, 0]" "reset: every count is 0"
ctl top --json
expect_js '[s["key"] for s in d["senders"]]' "['$B']" "reset: alice gone from top"

# --- class
ctl class Alice@Example.test bulk
expect_rc 0 "class LOGIN bulk"
[ "$(rcli HGET "${P}classes" alice@example.test)" = bulk ] ||
    fail "class: ${P}classes[alice@example.test] = $(rcli HGET "${P}classes" alice@example.test)"
pass "class: ${P}classes holds the folded login -> bulk"
wait_until 10 "no 'class' event" grep -qx class "$T/events.out"
pass "class: 'class' published"
ctl show alice@example.test
expect_out '^class +bulk \(override \(login\)\)$' "show: the override applies"
expect_out '^messages +1h +0 +1000$' "show: the limits of class bulk"
ctl --json class alice@example.test nosuch
expect_rc 2 "class with an undefined class"
grep -q 'class "nosuch" is not defined in .*; its classes: default bulk' "$T/ctl.err" ||
    fail "class nosuch: $(cat "$T/ctl.err")"
pass "class nosuch: refused, exit 2, the defined classes listed"
rcli HSET "${P}classes" '@example.test' bulk > /dev/null
ctl class alice@example.test --clear
expect_rc 0 "class --clear"
[ "$(rcli HEXISTS "${P}classes" alice@example.test)" = 0 ] || fail "class --clear: field left"
ctl --json show carol@EXAMPLE.test
expect_js 'd["class"]["name"], d["class"]["source"]' "('bulk', 'override (@domain)')" \
    "show: a @domain override"
rcli HDEL "${P}classes" '@example.test' > /dev/null
# the daemons see a bare HDEL at their next poll: tell them now, or the
# table below may run under the @domain override (class bulk)
rcli PUBLISH "${P}events" class > /dev/null
ctl class alice@example.test --clear
expect_rc 1 "class --clear without an override"
pass "class --clear: exit 0, then 1 when there is none"

# (sluice picks the @domain override's removal up at its next poll: the
# table below uses logins of another domain)
# --- hostile logins: quotes, backslash, control bytes, invalid UTF-8
evil=$'ev"il\\\x01\t\xff\xc3\xa9@example.test'
bench a -c 1 -n 2 --login "$evil"
expect_field accept 2 "a hostile login sends"
ctl --json show "$evil"
expect_js 'd["login"] == "ev\"il\\\x01\t\xff\xe9@example.test", d["limits"][0]["count"]' \
    "(True, 2)" "show --json: a hostile login is valid JSON, bytes kept"
E=$(js 'd["key"]')
rcli SET "${P}{$E}:who" "$evil" > /dev/null
ctl --json top
expect_js 'sorted(s["messages"] for s in d["senders"])' "[2, 3]" "top --json with a hostile who name parses"
ctl top
# the daemon may have written its own (escaped) who meanwhile: either way
# nothing but printable ASCII reaches the terminal
grep -q 'ev"il\\' "$T/ctl.out" && ! LC_ALL=C grep -q '[^ -~]' "$T/ctl.out" ||
    { cat -v "$T/ctl.out"; fail "top: the hostile name is not escaped"; }
pass "top: a hostile name is escaped (\\xHH)"
ctl --json lock "$evil" --reason 'evil test'
expect_rc 0 "lock a hostile login"
ctl --json status
expect_js 'len(d["locked"])' 1 "status --json with a hostile locked login parses"
ctl unlock "$evil"

# --- bad arguments: usage on stderr, exit 2
for args in "" "nosuch" "show" "show a b" "top -n 0" "top -n x" \
    "top --window 1.5s" "top --for 1m" "lock" "lock a --for nonsense" \
    "lock a --for" "class a" "class a b c" "class a b --clear" \
    "unlock a --reason x" "--bogus status" "lock a --reason="; do
	# shellcheck disable=SC2086
	ctl $args
	[ "$RC" = 2 ] || fail "sluicectl $args: exit $RC, expected 2"
	grep -q '^usage: sluicectl' "$T/ctl.err" || fail "sluicectl $args: no usage"
	[ ! -s "$T/ctl.out" ] || fail "sluicectl $args: wrote to stdout"
done
pass "17 kinds of bad arguments: usage on stderr, exit 2"
ctl show "$(head -c 1100 /dev/zero | tr '\0' a)"
expect_rc 2 "a login of 1100 bytes"
pass "a login over 1024 bytes: exit 2"
"$SLUICECTL" --help | grep -q '^usage: sluicectl' || fail "--help"
pass "--help: usage on stdout, exit 0"

# --- config errors: 78
RC=0; "$SLUICECTL" -c "$T/nonexistent.conf" status 2> "$T/ctl.err" || RC=$?
expect_rc 78 "a missing config"
grep -q 'nonexistent.conf: No such file' "$T/ctl.err" || fail "missing config: $(cat "$T/ctl.err")"
printf 'store redis\nbogus_key 1\n' > "$T/bad.conf"
RC=0; "$SLUICECTL" -c "$T/bad.conf" status 2> "$T/ctl.err" || RC=$?
expect_rc 78 "a bad config"
grep -q 'bad.conf:2: ' "$T/ctl.err" || fail "bad config: $(cat "$T/ctl.err")"
pass "config errors: exit 78 with file:line"
printf 'store memory\ncontrol_socket %s\n' "$T/none.sock" > "$T/mem.conf"
RC=0; "$SLUICECTL" -c "$T/mem.conf" status 2> "$T/ctl.err" || RC=$?
expect_rc 3 "store memory, no daemon"
grep -q "none.sock: No such file.*is sluice running" "$T/ctl.err" ||
    fail "store memory, no daemon: $(cat "$T/ctl.err")"
pass "store memory, no daemon on its control socket: exit 3, says so"

# --- Redis down: exit 3, saying which Redis and why
dead=$(free_port)
printf 'store redis\nredis_server 127.0.0.1:%s\n' "$dead" > "$T/dead.conf"
for c in status top "show x" "lock x" "unlock x" "reset x" "class x default"; do
	RC=0
	# shellcheck disable=SC2086
	"$SLUICECTL" -c "$T/dead.conf" $c > "$T/ctl.out" 2> "$T/ctl.err" || RC=$?
	expect_rc 3 "sluicectl $c with Redis down"
	grep -q "^sluicectl: redis 127.0.0.1:$dead: connect: Connection refused$" \
	    "$T/ctl.err" || fail "Redis down: $(cat "$T/ctl.err")"
done
pass "Redis down: every command exits 3: $(cat "$T/ctl.err")"

# --- the cases both stores pass (embedded_store.sh runs them on memory)
ctl_cases a

stop_sluice a
rcli --scan --pattern "${P}*" | xargs -r redis-cli -p "$port" DEL > /dev/null
echo "sluicectl: all passed"
