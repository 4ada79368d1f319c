#!/bin/sh
# redis-fixture.sh start|stop DIR - a throw-away redis-server on a free
# loopback port for the tests; its port is written to DIR/port.
set -eu
cmd=$1 dir=$2
case $cmd in
start)
	rm -rf "$dir"; mkdir -p "$dir"
	for try in 1 2 3 4 5 6 7 8 9 10; do
		port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
		    shuf -i 20000-60000 -n 1)
		redis-server --bind 127.0.0.1 --port "$port" --save '' \
		    --appendonly no --daemonize yes --dir "$dir" \
		    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" || continue
		i=0
		while [ $i -lt 50 ]; do
			if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
				echo "$port" > "$dir/port"
				echo "redis-server on 127.0.0.1:$port"
				exit 0
			fi
			sleep 0.1; i=$((i + 1))
		done
		[ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
	done
	echo "could not start redis-server" >&2
	cat "$dir/redis.log" >&2 || true
	exit 1
	;;
stop)
	if [ -f "$dir/redis.pid" ]; then
		kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
	fi
	;;
*)
	echo "usage: $0 start|stop DIR" >&2; exit 2
	;;
esac
