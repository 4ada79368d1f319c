#!/bin/bash
# embedded_store.sh - the memory store first class: sluicectl through the
# daemon's control socket (status, top, show, lock, unlock, reset, text
# and --json), a lock that survives a restart, kill -9 losing at most one
# save interval, a corrupt state file, the socket's permissions, a peer
# that is not allowed, and a client that says nothing while mail flows.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ctl_cases.sh"
: "${SLUICECTL:?SLUICECTL must name the sluicectl binary}"
chmod 0711 "$T"

# the domain class of ctl_cases' tabdom.test (top --domains)
printf 'tabdom.test bulk\n' > "$T/domains"
chmod 0644 "$T/domains"
write_config a "store memory" "control_socket $T/run/ctl.sock" \
    "domain_class_map $T/domains" \
    "state_file $T/lib/state" "state_save_interval 1s" \
    "lock_after 3/1h" "lock_lifetime 1d" \
'class default {
    messages 2/1h 20/1d
    recipients 100/1h
}
class bulk {
    messages 1000/1h
    domain_messages 1000/1h
    domain_recipients 10000/1h
}'
chmod 0644 "$T/a.conf"
start_sluice a
wait_until 10 "no control socket" test -S "$T/run/ctl.sock"

# start_a - start relay a, its milter socket removed first (a stale one
# would make start_sluice return before the daemon is up)
start_a() {
	rm -f "$T/a.sock"
	start_sluice a
	wait_until 10 "no control socket" test -S "$T/run/ctl.sock"
}

# ctl, expect_rc, js: lib.sh
expect_js() {
	got=$(js "$1")
	[ "$got" = "$2" ] || { cat "$T/ctl.out" >&2;
	    fail "$3: $1 = $got, expected $2"; }
	pass "$3"
}
expect_out() {
	grep -Eq -- "$1" "$T/ctl.out" || { cat "$T/ctl.out" "$T/ctl.err" >&2;
	    fail "$2: no line matching /$1/"; }
	pass "$2"
}

# --- the socket: 0660, owned by the daemon's user and group
[ "$(stat -c '%a %u %g' "$T/run/ctl.sock")" = "660 $(id -u) $(id -g)" ] ||
    fail "control socket: $(stat -c '%a %u %g' "$T/run/ctl.sock")"
pass "control socket: mode 0660, the daemon's uid and gid, directory made"

# --- sluicectl against the memory store: the table both stores pass
ctl_cases a
ctl status
expect_out "^store +memory, in the daemon: control socket $T/run/ctl.sock reachable" \
    "status: the memory store, through the control socket"
wait_until 10 "no save within 10 s" sh -c \
    "'$SLUICECTL' -c '$T/a.conf' status | grep -Eq '^state +$T/lib/state: saved [0-9]+ s ago, [0-9]+ bytes in [0-9]+ ms'"
pass "status: when the state was last saved, its size, how long it took"

# --- a lock survives a restart (lock_after 3/1h, lock_lifetime 1d)
bench a -c 1 -n 6 --login 'carol@example.test'
ctl --json show carol@example.test
expect_js 'd["lock"]["locked"]' True "carol locked by lock_after"
ctl class erin@example.test bulk
stop_sluice a
expect_log a "state: saved to $T/lib/state" "SIGTERM: the state is saved"
[ "$(stat -c %a "$T/lib/state")" = 600 ] || fail "state file mode $(stat -c %a "$T/lib/state")"
pass "the state file is 0600"
start_a
bench a -c 1 -n 1 --login 'carol@example.test'
grep -q '451 4.7.1 This account is locked' "$T/bench.out" ||
    { cat "$T/bench.out"; fail "after a restart carol is not locked"; }
pass "after a restart: 451 4.7.1 This account is locked"
ctl --json status
expect_js '[(l["login"], l["reason"]) for l in d["locked"] if l["login"] == "carol@example.test"]' \
    "[('carol@example.test', 'refused 4 times in 1h (lock_after 3/1h)')]" \
    "after a restart: status still names carol and why she is locked"
ctl --json show erin@example.test
expect_js 'd["class"]["name"], d["class"]["source"]' "('bulk', 'override (login)')" \
    "after a restart: a class override set with sluicectl is kept"

# --- kill -9 loses at most one save interval (1 s)
bench a -c 1 -n 2 --login 'dave@example.test'
sleep 2.5
kill -9 "$PID_a"; wait "$PID_a" 2>/dev/null || true
start_a
ctl --json show dave@example.test
expect_js 'd["limits"][0]["count"]' 2 "kill -9: dave's 2 messages, sent 2.5 s before, are kept"

# --- a corrupt state file: logged, the daemon starts and works, next save heals
stop_sluice a
printf 'SLUICEST garbage' > "$T/lib/state"
start_a
expect_log a "state: $T/lib/state: .*ignored, starting with empty counters" \
    "a corrupt state file: one clear line"
bench a -c 1 -n 1 --login 'erin@example.test'
expect_field accept 1 "a corrupt state file: mail flows"
wait_until 10 "the next save did not rewrite the state file" \
    sh -c "head -c 8 '$T/lib/state' | grep -q SLUICEST && [ \$(stat -c %s '$T/lib/state') -gt 60 ]"
pass "a corrupt state file: the next save writes a good one"

# --- a peer that is not allowed: a clear error
RC=0; runuser -u nobody -- "$SLUICECTL" -c "$T/a.conf" status > "$T/ctl.out" 2> "$T/ctl.err" || RC=$?
expect_rc 3 "sluicectl as nobody"
grep -q "sluicectl: sluice $T/run/ctl.sock: Permission denied" "$T/ctl.err" ||
    fail "nobody: $(cat "$T/ctl.err")"
pass "nobody, socket 0660: $(cat "$T/ctl.err")"
chmod 0666 "$T/run/ctl.sock"; chmod 0751 "$T/run"
RC=0; runuser -u nobody -- "$SLUICECTL" -c "$T/a.conf" status > "$T/ctl.out" 2> "$T/ctl.err" || RC=$?
expect_rc 3 "sluicectl as nobody through an open socket"
grep -q "only root and the sluice daemon's user or group may use this socket" "$T/ctl.err" ||
    fail "nobody, peer check: $(cat "$T/ctl.err")"
pass "nobody, socket opened up: refused by SO_PEERCRED: $(cat "$T/ctl.err")"
chmod 0660 "$T/run/ctl.sock"; chmod 0750 "$T/run"

# --- a client that connects and says nothing: mail flows, it is dropped
python3 - "$T/run/ctl.sock" > "$T/silent.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); t = time.time()
s.settimeout(30); got = s.recv(100)
print("closed after %.1f s, got %r" % (time.time() - t, got))
PY
silent=$!
PIDS="$PIDS $silent"
sleep 0.2
t0=$(date +%s%N)
bench a -c 2 -n 400 --login "frank@example.test"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 1800 ] || fail "400 messages took $ms ms while a client hung"
pass "a silent client: 400 messages in $ms ms meanwhile"
wait "$silent"
grep -Eq '^closed after (1\.[5-9]|2\.[0-9]|3\.[0-9]) s' "$T/silent.out" ||
    fail "silent client: $(cat "$T/silent.out")"
pass "a silent client: $(cat "$T/silent.out")"
expect_log a "control socket: client uid 0 sent no request within 2000 ms: dropped" \
    "a silent client: logged"

# four silent clients take every slot: sluicectl is told "busy", waits and
# asks again, and gets its answer once the daemon drops them (2 s)
python3 - "$T/run/ctl.sock" > "$T/four.out" 2>&1 <<'PY' &
import socket, sys, time
ss = [socket.socket(socket.AF_UNIX) for _ in range(4)]
for s in ss:
    s.connect(sys.argv[1])
print("connected", flush=True)
time.sleep(3)
PY
four=$!
PIDS="$PIDS $four"
# the four hold their slots once connected (python may start slowly)
for _ in $(seq 50); do
	grep -q '^connected' "$T/four.out" && break
	sleep 0.1
done
grep -q '^connected' "$T/four.out" || fail "four clients: $(cat "$T/four.out")"
t0=$(date +%s%N)
ctl status
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_rc 0 "status while four clients hold every slot"
[ "$ms" -ge 1000 ] || fail "status answered in $ms ms: the slots were not taken"
pass "status while four silent clients hold every slot: answered after $ms ms (busy, asked again)"
wait "$four"

stop_sluice a
echo "embedded_store: all passed"
