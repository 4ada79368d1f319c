# control_lib.sh - for the two-relay control channel tests behind
# Sentinel and on Cluster (sentinel_control.sh, cluster_control.sh):
# relays a and b whose hold commands record their arguments in
# $T/held-NAME.out, sluicectl on a relay's config, and the checks both
# make. Sourced after lib.sh.
: "${SLUICECTL:?SLUICECTL must name the sluicectl binary}"
for r in a b; do
	printf '#!/bin/sh\necho "$*" >> %s\n' "$T/held-$r.out" > "$T/hold-$r.sh"
	chmod +x "$T/hold-$r.sh"
done

# ctl CMD... - sluicectl on relay a's config, output in $T/ctl.out
ctl() {
	"$SLUICECTL" -c "$T/a.conf" "$@" > "$T/ctl.out" 2>&1 ||
	    fail "sluicectl $*: $(cat "$T/ctl.out")"
}

# ctl_class LOGIN CLASS - sluicectl class; both relays apply it
ctl_class() {
	na=$(grep -c "live classes:" "$T/a.log" || true)
	nb=$(grep -c "live classes:" "$T/b.log" || true)
	ctl class "$1" "$2"
	wait_until 10 "relay a: sluicectl class $1 $2 was not applied" \
	    sh -c "[ \$(grep -c 'live classes:' '$T/a.log') -gt $na ]"
	wait_until 10 "relay b: sluicectl class $1 $2 was not applied" \
	    sh -c "[ \$(grep -c 'live classes:' '$T/b.log') -gt $nb ]"
}

# class_on_both LOGIN bulk - sluicectl puts LOGIN in class bulk (50/1h,
# default 3/1h): 4 messages pass on each relay, logged class=bulk
class_on_both() {
	ctl_class "$1" "$2"
	for r in a b; do
		bench $r -c 1 -n 4 --login "$1"
		expect_field accept 4 "relay $r: $1 has $2's 50/1h (default 3/1h)"
		eom_class $r "$1" "$2"
	done
}

# lock_on_a_refused_on_b - relay A's lock rule locks a login: relay B
# holds the 2 messages it accepted from it, naming A, and refuses it
lock_on_a_refused_on_b() {
	bench b -c 1 -n 2 --login hijacked@example.test --qid-prefix B1
	expect_field accept 2 "relay B accepts 2 messages of hijacked@example.test"
	bench a -c 1 -n 20 --login hijacked@example.test --qid-prefix A1
	expect_log a 'login=hijacked@example.test origin=sasl client=127\.0\.0\.1 locked on every relay' \
	    "relay A: the lock rule locks the login"
	wait_until 10 "relay B never ran hold_command" test -s "$T/held-b.out"
	[ "$(cat "$T/held-b.out")" = "-h B10000000001 B10000000002" ] ||
	    fail "relay B hold: $(cat "$T/held-b.out")"
	wait_until 10 "relay B does not log the hold" grep -Eq \
	    "login=hijacked@example.test origin=sasl locked on relay $(hostname): held 2 queued messages \\(hold_command exit 0\\)" \
	    "$T/b.log"
	pass "relay B holds the 2 messages it accepted, naming relay A"
	bench b -c 1 -n 1 --login hijacked@example.test
	expect_field tempfail 1 "relay B refuses the login locked on A"
	expect_log b ': mail login=hijacked@example.test .*action=tempfail hits=locked' \
	    "relay B's log names the lock"
}

# ctl_lock_holds - sluicectl lock: each relay holds the id it accepted
# from the login, and refuses it
ctl_lock_holds() {
	: > "$T/held-a.out"; : > "$T/held-b.out"
	bench a -c 1 -n 1 --login byhand@example.test --qid-prefix A2
	bench b -c 1 -n 1 --login byhand@example.test --qid-prefix B2
	ctl lock byhand@example.test --for 1h
	wait_until 10 "relay A: no hold after sluicectl lock" test -s "$T/held-a.out"
	wait_until 10 "relay B: no hold after sluicectl lock" test -s "$T/held-b.out"
	[ "$(cat "$T/held-a.out")" = "-h A20000000001" ] &&
	    [ "$(cat "$T/held-b.out")" = "-h B20000000001" ] ||
	    fail "holds after sluicectl lock: A '$(cat "$T/held-a.out")' B '$(cat "$T/held-b.out")'"
	pass "sluicectl lock: each relay held its own id"
	for r in a b; do
		bench $r -c 1 -n 1 --login byhand@example.test
		expect_field tempfail 1 "relay $r refuses the login sluicectl locked"
	done
}
