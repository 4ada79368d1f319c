# ctl_cases.sh - the sluicectl cases both stores pass, one table: sourced
# by sluicectl.sh (store redis, through Redis) and embedded_store.sh
# (store memory, through the daemon's control socket).
#
# ctl_cases NAME - run the table against relay NAME ($T/NAME.conf); its
# class default must allow 2 messages an hour and 100 recipients, and a
# class bulk must allow 3 and be the domain class of tabdom.test, with
# domain_messages and domain_recipients in 1h (top --domains).
# The logins are tab-* so the callers' own cases are not disturbed.

# row WHAT RC CHECK ARGS... - run sluicectl ARGS; exit RC; CHECK is
# "re:REGEX" (a line of stdout), "js:EXPR=VALUE" (over the JSON), "err:REGEX"
# (stderr), or "" (the exit code only)
row() {
	what=$1 want_rc=$2 check=$3
	shift 3
	RC=0
	"$SLUICECTL" -c "$T/$CASES_RELAY.conf" "$@" > "$T/row.out" \
	    2> "$T/row.err" || RC=$?
	[ "$RC" = "$want_rc" ] || { cat "$T/row.out" "$T/row.err" >&2;
	    fail "$what: sluicectl $*: exit $RC, expected $want_rc"; }
	case $check in
	re:*)
		grep -Eq -- "${check#re:}" "$T/row.out" || { cat "$T/row.out" >&2;
		    fail "$what: no line matching /${check#re:}/"; } ;;
	err:*)
		grep -Eq -- "${check#err:}" "$T/row.err" || { cat "$T/row.err" >&2;
		    fail "$what: stderr does not match /${check#err:}/"; } ;;
	js:*)
		expr=${check#js:}
		got=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
		    "$T/row.out" "${expr%=*}") || { cat "$T/row.out" >&2;
		    fail "$what: no valid JSON"; }
		[ "$got" = "${expr##*=}" ] || { cat "$T/row.out" >&2;
		    fail "$what: ${expr%=*} = $got, expected ${expr##*=}"; } ;;
	esac
	pass "$what"
}

ctl_cases() {
	CASES_RELAY=$1
	evil=$'tab-ev"il\\\x01\xff@table.test'
	bench "$1" -c 1 -n 2 -r 3 --login 'tab-alice@table.test'
	expect_field accept 2 "table: tab-alice sends 2 messages of 3 recipients"
	bench "$1" -c 1 -n 1 --login "$evil"
	expect_field accept 1 "table: a hostile login sends"

	row "table: show counts messages" 0 're:^messages +1h +2 +[0-9]+$' show tab-alice@table.test
	row "table: show counts recipients" 0 're:^recipients +1h +6 +100$' show TAB-ALICE@table.test
	row "table: show says not locked" 0 're:^locked +no$' show tab-alice@table.test
	row "table: show --json" 0 'js:[l["count"] for l in d["limits"] if l["name"] == "recipients"], d["lock"]["locked"]=([6], False)' --json show tab-alice@table.test
	row "table: show --json of a hostile login parses" 0 'js:d["login"] == "tab-ev\"il\\\x01\xff@table.test", d["limits"][0]["count"]=(True, 1)' --json show "$evil"
	row "table: top lists tab-alice" 0 're:^(tab-alice@table\.test|[0-9a-f]{32}) +sasl +2 +6$' top -n 100
	row "table: top --json" 0 'js:[(s["messages"], s["recipients"]) for s in d["senders"] if s["recipients"] == 6][:1]=[(2, 6)]' --json top -n 100
	# the domain totals: two logins of tabdom.test, 3 messages in all
	bench "$1" -c 1 -n 2 -r 3 --login 'tab-d1@tabdom.test'
	bench "$1" -c 1 -n 1 -r 2 --login 'tab-d2@tabdom.test'
	row "table: top --domains sums @tabdom.test" 0 're:^@tabdom\.test +sasl +3 +8$' top --domains -n 100
	row "table: top --domains --json" 0 'js:[(s["domain"], s["origin"], s["messages"], s["recipients"]) for s in d["domains"] if s["domain"] == "@tabdom.test"]=[('"'"'@tabdom.test'"'"', '"'"'sasl'"'"', 3, 8)]' --json top --domains -n 100
	row "table: top --domains lists no login, no domain without totals" 0 'js:[s["domain"] for s in d["domains"] if s["domain"] != "@tabdom.test"]=[]' --json top --domains -n 100
	row "table: lock" 0 're:^locked tab-alice@table.test on every relay until ' lock tab-alice@table.test --reason 'table test'
	bench "$1" -c 1 -n 1 --login 'tab-alice@table.test'
	grep -q '451 4.7.1 This account is locked' "$T/bench.out" ||
	    fail "table: a locked login is not refused"
	pass "table: lock: 451 4.7.1 This account is locked"
	row "table: status lists the lock" 0 're:^  tab-alice@table\.test +sasl +20[0-9-]+T[0-9:]+Z sluicectl +table test$' status
	row "table: status --json" 0 'js:[(l["login"], l["by"], l["reason"]) for l in d["locked"] if l["login"] == "tab-alice@table.test"]=[('"'"'tab-alice@table.test'"'"', '"'"'sluicectl'"'"', '"'"'table test'"'"')]' --json status
	row "table: show --json: locked, with the reason" 0 'js:d["lock"]["locked"], d["lock"]["reason"]=(True, '"'"'table test'"'"')' --json show tab-alice@table.test
	row "table: unlock" 0 're:^tab-alice@table.test: unlocked on every relay$' unlock tab-alice@table.test
	bench "$1" -c 1 -n 1 --login 'tab-bob@table.test'
	row "table: unlock again: exit 1" 1 're:: was not locked$' unlock tab-alice@table.test
	row "table: lock --for" 0 'js:d["locked"]=True' --json lock tab-alice@table.test --for 5s
	row "table: lock --for longer than lock_lifetime" 2 'err:longer than lock_lifetime' lock tab-alice@table.test --for 400d
	row "table: unlock after --for" 0 '' unlock tab-alice@table.test
	row "table: reset" 0 're:^tab-alice@table.test: [1-9][0-9]* counters? forgotten$' reset tab-alice@table.test
	row "table: reset: counts are 0" 0 'js:sum(l["count"] for l in d["limits"])=0' --json show tab-alice@table.test
	row "table: class LOGIN bulk" 0 're:^tab-alice@table.test: class bulk on every relay$' class Tab-Alice@table.test bulk
	row "table: show: the override applies" 0 're:^class +bulk \(override \(login\)\)$' show tab-alice@table.test
	bench "$1" -c 1 -n 3 --login 'tab-alice@table.test'
	expect_field accept 3 "table: the daemon counts tab-alice in class bulk"
	row "table: class --clear" 0 're:: class override cleared$' class tab-alice@table.test --clear
	row "table: class --clear again: exit 1" 1 're:: had no class override$' class tab-alice@table.test --clear
	row "table: class with an undefined class: exit 2" 2 'err:class "nosuch" is not defined' class tab-alice@table.test nosuch
	row "table: bad arguments: usage, exit 2" 2 'err:^usage: sluicectl' show
	row "table: an unknown command: exit 2" 2 'err:^usage: sluicectl' nosuch
}
