#!/bin/bash
# hook_fds.sh - the programs sluice runs (lock_command from an SMTP
# thread, hold_command from the control thread) inherit no descriptor of
# the daemon: not its Redis connections (authenticated: a hook could
# speak for sluice), not the milter socket or the MTA's connections, not
# the metrics endpoint, nor what sluice itself inherited. Each hook runs
# `ls -l /proc/self/fd`: ls sees what the hook's shell got from sluice,
# and may hold only 0 and 2 (/dev/null, as sluice gives them; the shell
# may keep copies of them), 1 (the shell's redirection to the output
# file) and ls's own handle on /proc/self/fd.
. "$(dirname "$0")/lib.sh"
port=$(redis_port)
mport=$(free_port)

# HOOK NAME - a script that records its descriptors to $T/fds-NAME
for h in lock hold; do
	cat > "$T/$h.sh" <<HOOK
#!/bin/sh
ls -l /proc/self/fd > "$T/fds-$h.tmp" 2>/dev/null
mv "$T/fds-$h.tmp" "$T/fds-$h"
HOOK
	chmod +x "$T/$h.sh"
done

write_config a "store redis" "redis_server 127.0.0.1:$port" \
    "redis_prefix t-fds-$$:" "lock_after 3/1h" "lock_lifetime 1h" \
    "lock_command $T/lock.sh" "hold_command $T/hold.sh" \
    "metrics_listen 127.0.0.1:$mport" 'class default {
    messages 2/1h
}'
start_sluice a
wait_until 10 "the control thread did not connect" \
    grep -q "control: connected to redis" "$T/a.log"
curl -sf "http://127.0.0.1:$mport/metrics" > /dev/null ||
    fail "no /metrics"

# 2 accepted (their queue ids are held), then refusals: the 4th locks;
# three connections at once, so the lock command starts while others
# are open
bench a -c 3 -n 12 --login fds@example.test --qid-prefix F1
expect_log a 'login=fds@example.test origin=sasl client=[^ ]* locked on every relay' \
    "the lock rule locks fds@example.test"
wait_until 10 "the lock command did not run" test -s "$T/fds-lock"
wait_until 10 "the hold command did not run" test -s "$T/fds-hold"
wait_until 10 "the hold command's end was not logged" grep -Eq \
    'login=fds@example.test origin=sasl locked on relay .*: held 2 queued messages \(hold_command exit 0\)' \
    "$T/a.log"
pass "the hold command ran over the 2 accepted messages"

# every entry of `ls -l /proc/PID/fd`: "lr-x... N -> target"
for h in lock hold; do
	bad=$(sed -n 's/.* \([0-9][0-9]*\) -> \(.*\)$/\1 \2/p' "$T/fds-$h" |
	    while read -r fd target; do
		case $fd:$target in
		*:/dev/null) ;;
		1:"$T/fds-$h.tmp") ;;
		*:/proc/[0-9]*/fd) ;;	# ls reading the directory
		*) echo "$fd -> $target" ;;
		esac
	done)
	[ -n "$(sed -n '/ -> /p' "$T/fds-$h")" ] ||
	    fail "$h: nothing listed: $(cat "$T/fds-$h")"
	[ -z "$bad" ] || fail "the $h command inherited: $(echo $bad)"
	pass "the $h command sees only /dev/null and its own output: $(sed -n 's/.* \([0-9]*\) -> .*/\1/p' "$T/fds-$h" | tr '\n' ' ')"
done
stop_sluice a
echo "hook_fds: all passed"
