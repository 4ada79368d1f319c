# sentinel_lib.sh - for sentinel*.sh: a Redis primary, a replica and 3
# sentinels (quorum 2) on free loopback ports in $T, and helpers to read
# them. Sourced after lib.sh; the test sets its own EXIT trap calling
# stop_all before cleanup.

p1=$(free_port); p2=$(free_port)
s1=$(free_port); s2=$(free_port); s3=$(free_port)
rpids=""

# redis_up NAME ARGS... - a redis-server (or sentinel) in $T, daemonized
redis_up() {
	n=$1
	shift
	redis-server "$@" --bind 127.0.0.1 --save '' --appendonly no \
	    --daemonize yes --dir "$T" --pidfile "$T/$n.pid" \
	    --logfile "$T/redis-$n.txt"
	wait_until 10 "redis $n did not start" test -s "$T/$n.pid"
	rpids="$rpids $T/$n.pid"
}
stop_all() {
	pids=""
	for f in $rpids; do
		p=$(cat "$f" 2>/dev/null) && kill "$p" 2>/dev/null &&
		    pids="$pids $p"
	done
	for p in $pids; do	# gone before cleanup removes their files
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do
			i=$((i + 1))
			sleep 0.05
		done
	done
}
# sentinel_up NAME PORT - a sentinel watching the primary as "mymaster"
sentinel_up() {
	cat > "$T/$1.conf" <<EOC
port $2
bind 127.0.0.1
sentinel monitor mymaster 127.0.0.1 $p1 2
sentinel down-after-milliseconds mymaster 1000
sentinel failover-timeout mymaster 10000
EOC
	redis-server "$T/$1.conf" --sentinel --daemonize yes --dir "$T" \
	    --pidfile "$T/$1.pid" --logfile "$T/redis-$1.txt"
	wait_until 10 "sentinel $1 did not start" test -s "$T/$1.pid"
	rpids="$rpids $T/$1.pid"
}

# role PORT - master or slave
role() {
	redis-cli -p "$1" ROLE 2>/dev/null | head -n 1
}

# sum_msg PORT LOGIN - messages counted for LOGIN on that server
sum_msg() {
	k=$(python3 -c 'import hashlib,sys; print(hashlib.blake2b(sys.argv[1].lower().encode(), digest_size=16).hexdigest())' "$2")
	redis-cli -p "$1" HVALS "sluice:{$k}:msg:3600:12" |
	    awk '{ s += $1 } END { print s + 0 }'
}

# sentinel_topology - start them all; return when a failover can happen
sentinel_topology() {
	redis_up primary --port "$p1"
	redis_up replica --port "$p2" --replicaof 127.0.0.1 "$p1"
	wait_until 20 "the replica did not sync" sh -c \
	    "redis-cli -p $p2 INFO replication | grep -q master_link_status:up"
	sentinel_up sen1 "$s1"
	sentinel_up sen2 "$s2"
	sentinel_up sen3 "$s3"
	# the sentinels know each other and the replica: a failover can happen
	wait_until 30 "the sentinels did not reach a quorum" sh -c \
	    "redis-cli -p $s1 SENTINEL ckquorum mymaster | grep -q '^OK 3 usable'"
	wait_until 30 "the sentinels do not see the replica" sh -c \
	    "redis-cli -p $s1 SENTINEL replicas mymaster | grep -q '^$p2\$'"
}
