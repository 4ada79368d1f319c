# cluster_lib.sh - for cluster*.sh: a Redis Cluster of 3 primaries on
# free loopback ports in $T (P1 P2 P3; NODES: their addresses), killed
# by lib.sh's cleanup, and nodes() to ask each. Sourced after lib.sh.

NODES=""
for i in 1 2 3; do
	p=$(free_port)
	mkdir -p "$T/node$i"
	bus=$(free_port)
	redis-server --bind 127.0.0.1 --port "$p" --dir "$T/node$i" \
	    --cluster-enabled yes --cluster-port "$bus" --cluster-config-file nodes.conf \
	    --cluster-node-timeout 5000 --save '' --appendonly no \
	    --logfile "$T/node$i.redis" &
	PIDS="$PIDS $!"
	eval "P$i=$p"
	NODES="$NODES 127.0.0.1:$p"
done
for i in 1 2 3; do
	eval "p=\$P$i"
	wait_until 20 "redis node $i did not start" redis-cli -p "$p" PING \
	    > /dev/null 2>&1
done
# shellcheck disable=SC2086
redis-cli --cluster create $NODES --cluster-replicas 0 --cluster-yes \
    > "$T/create.out" 2>&1 || { cat "$T/create.out"; fail "cluster create"; }
cluster_ok() {
	for p in $P1 $P2 $P3; do
		redis-cli -p "$p" CLUSTER INFO | grep -q 'cluster_state:ok' ||
		    return 1
	done
}
wait_until 60 "the cluster did not reach cluster_state:ok" cluster_ok
pass "3-primary cluster up on $P1 $P2 $P3"

# nodes CMD... - a redis-cli command on every node, one output line each
nodes() {
	for p in $P1 $P2 $P3; do redis-cli -p "$p" "$@"; done
}
