#!/bin/bash
# kill_switch.sh - seeds 001, 002, 004: a hijacked account bursting on
# relay A trips the lock rule; the lock holds on relay B at the very next
# message; the lock command runs once, with the login and the reason as
# separate arguments (then its origin); a hanging lock command never stalls SMTP.
. "$(dirname "$0")/lib.sh"
port=$(redis_port)

cat > "$T/hook.sh" <<HOOK
#!/bin/sh
printf '%s|%s|%s|%s\n' "\$#" "\$1" "\$2" "\$3" >> "$T/hook.out"
HOOK
printf '#!/bin/sh\nsleep 30\n' > "$T/hang.sh"
chmod +x "$T/hook.sh" "$T/hang.sh"

CLASS='class default {
    messages 3/1h
}'
for r in a b; do
	write_config $r "store redis" "redis_server 127.0.0.1:$port" \
	    "redis_prefix t-lock-$$:" "lock_after 5/1h" "lock_lifetime 1h" \
	    "lock_command $T/hook.sh" "$CLASS"
	start_sluice $r
done

# relay A: 3 accepted, then refusals; the 6th refusal locks the login
bench a -c 1 -n 20 --login 'hijacked@example.test'
expect_field accept 3 "relay A: the limit of 3 holds"
expect_field tempfail 17 "relay A: the burst is tempfailed"
expect_log a 'login=hijacked@example.test origin=sasl client=127\.0\.0\.1 locked on every relay: refused 6 times in 1h \(lock_after 5/1h\)' \
    "relay A: the lock is logged at warning level with its reason"

# relay B: the next message of that login is refused as locked
bench b -c 1 -n 1 --login 'HIJACKED@example.test'
expect_field tempfail 1 "relay B: the locked login is refused at once"
grep -q '451 4.7.1 This account is locked; please contact your provider' \
    "$T/bench.out" || fail "relay B: no 'account is locked' reply"
pass "relay B: the client reads 451 4.7.1 This account is locked"
expect_log b 'mail login=HIJACKED@example.test .*action=tempfail hits=.*locked' \
    "relay B: refused at MAIL, logged as locked"
bench b -c 1 -n 2 --login 'innocent@example.test'
expect_field accept 2 "relay B: other logins are not affected"

# the lock command: once, argv = login, reason, origin
wait_until 5 "the lock command never ran" test -s "$T/hook.out"
sleep 0.5
[ "$(wc -l < "$T/hook.out")" = 1 ] || { cat "$T/hook.out";
    fail "the lock command ran $(wc -l < "$T/hook.out") times"; }
grep -qx '3|hijacked@example.test|refused 6 times in 1h (lock_after 5/1h)|sasl' \
    "$T/hook.out" || { cat "$T/hook.out"; fail "lock command arguments"; }
pass "the lock command ran once: $(cat "$T/hook.out")"
expect_log a 'lock command .*hook.sh for hijacked@example.test origin=sasl: exit 0' \
    "the lock command's exit status is logged"
stop_sluice a
stop_sluice b

# a hanging lock command: killed at its timeout, SMTP never waits on it
write_config c "store memory" "lock_after 2/1h" "lock_command $T/hang.sh" \
    "lock_command_timeout 1s" "$CLASS"
start_sluice c
bench c -c 1 -n 10 --login 'hang@example.test'
max=$(field max_ms | cut -d. -f1)
[ "$max" -lt 2000 ] || fail "a message waited $max ms behind a 30 s lock command"
pass "a hanging lock command: longest SMTP wait ${max} ms"
wait_until 6 "the hanging command was not killed" grep -q \
    'lock command .*hang.sh for hang@example.test origin=sasl killed after 1000 ms' \
    "$T/c.log"
pass "the hanging lock command is killed after its timeout, and logged"
stop_sluice c

# one relay, memory store: its own lock holds the queued mail it accepted
# from that login (hold_command gets exactly those queue ids, once)
printf '#!/bin/sh\necho "$*" >> %s\n' "$T/held.out" > "$T/hold.sh"
chmod +x "$T/hold.sh"
write_config m "store memory" "lock_after 5/1h" \
    "hold_command $T/hold.sh -h" "$CLASS"
start_sluice m
bench m -c 1 -n 20 --login 'single@example.test' --qid-prefix M1
expect_field accept 3 "memory store: the limit of 3 holds"
wait_until 10 "memory store: hold_command never ran" test -s "$T/held.out"
[ "$(cat "$T/held.out")" = "-h M10000000001 M10000000002 M10000000003" ] ||
    fail "memory store: hold_command got '$(cat "$T/held.out")'"
pass "memory store: the lock holds the 3 queue ids accepted from the login"
wait_until 10 "memory store: the hold is not logged" grep -Eq \
    'login=single@example.test origin=sasl locked on relay .*: held 3 queued messages \(hold_command exit 0\)' \
    "$T/m.log"
pass "memory store: the hold is logged with its exit status"
stop_sluice m
[ "$(wc -l < "$T/held.out")" = 1 ] || fail "hold_command ran more than once"
echo "kill_switch: all passed"
