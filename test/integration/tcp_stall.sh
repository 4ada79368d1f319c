#!/bin/bash
# tcp_stall.sh - no delayed-ACK stall over TCP (milter/tcpconn.c).
#
# sluice runs the production sample config (contrib/sluice.conf: copies,
# repeats, body_senders, which read the body) with the hop marker on
# (an inserted header, then the reply: two writes at end of message) on
# an inet: loopback socket, with the memory store and with Redis. 200
# messages on one milter connection, sluice-bench writing the way Postfix
# does: a stall costs ~40 ms a message, so the median must be far below
# (10 ms: an order of magnitude under, with room for a loaded CI machine
# and the sanitizers). The start-up line that confirms TCP_NODELAY and
# TCP_QUICKACK is asserted too, and that a unix: socket says nothing.
. "$(dirname "$0")/lib.sh"

head -c 32 /dev/urandom > "$T/hop.key"
chmod 0600 "$T/hop.key"

# production NAME SOCKET STORE... - contrib/sluice.conf, run as a test:
# our socket, no user or pidfile, the hop key, limits no test reaches
production() {
	name=$1 sock=$2
	shift 2
	sed -e "s|^socket .*|socket $sock|" -e '/^user /d' -e '/^pidfile /d' \
	    -e '/^class_map /d' -e '/^lock_after /d' \
	    -e "s|^#hop_key_file .*|hop_key_file $T/hop.key|" \
	    -e 's|^copies .*|copies 100000/1h|' \
	    -e 's|^\( *messages \).*|\1100000/1h|' \
	    -e 's|^\( *recipients \).*|\11000000/1h|' \
	    -e 's|^\( *repeats \).*|\1100000/1h|' \
	    -e 's|^\( *body_senders \).*|\1100000/1h|' \
	    "$SLUICE_SRC/contrib/sluice.conf" > "$T/$name.conf"
	printf '%s\n' "syslog no" "control_socket $T/$name.ctl" \
	    "state_file $T/$name.state" "$@" >> "$T/$name.conf"
	grep -q "^hop_key_file $T/hop.key" "$T/$name.conf" ||
	    fail "contrib/sluice.conf has no #hop_key_file line to turn on"
	"$SLUICE" -n -c "$T/$name.conf" > /dev/null ||
	    fail "the production config does not load"
}

# no_stall NAME WHAT - 200 messages through NAME on one connection
no_stall() {
	bench "$1" -c 1 -n 200 -l 20 -r 3 -t 5 -b 2048
	expect_field accept 200 "$2: 200 messages accepted"
	expect_field headers_added 200 "$2: the hop marker added to each"
	p50=$(field p50_ms)
	awk -v v="$p50" 'BEGIN { exit !(v + 0 < 10) }' || {
		cat "$T/bench.out" >&2
		fail "$2: p50 $p50 ms a message: the delayed-ACK stall is back"; }
	pass "$2: p50 $p50 ms a message (a stall: ~40 ms)"
}

production mem "inet:$(free_port)@127.0.0.1" "store memory"
start_sluice mem
expect_log mem 'milter socket inet:[0-9]+@127\.0\.0\.1: TCP_NODELAY and TCP_QUICKACK on each connection' \
    "the start-up line confirms TCP_NODELAY and TCP_QUICKACK"
no_stall mem "inet:, memory store"
stop_sluice mem

production red "inet:$(free_port)@127.0.0.1" "store redis" \
    "redis_server 127.0.0.1:$(redis_port)" "redis_prefix t-tcp-$$:"
start_sluice red
no_stall red "inet:, Redis store"
stop_sluice red

production unix "unix:$T/s.sock" "store memory"
start_sluice unix
no_stall unix "unix:, memory store"
grep -q 'TCP_NODELAY' "$T/unix.log" &&
    fail "a unix: socket logged a TCP line"
pass "a unix: socket logs no TCP line"
stop_sluice unix
echo "tcp_stall: all passed"
