#!/bin/bash
# capture.sh NAME CONFKIND - run sluice (redis store) under sluice-bench,
# MONITOR the EVALSHAs into NAME.mon. CONFKIND: sample | two
set -e
S=$(cd "$(dirname "$0")/../.." && pwd) B=${BUILD:-$S/build}
name=$1 kind=$2 D=${OUT:-/tmp/script-cost}/$name
rm -rf $D; mkdir -p $D
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
redis-server --port $port --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --pidfile $D/redis.pid --logfile $D/redis.log
sleep 0.3
head -c 32 /dev/urandom > $D/hop.key; chmod 600 $D/hop.key
if [ $kind = sample ]; then
sed -e "s|^socket .*|socket unix:$D/s.sock|" -e '/^user /d' -e '/^pidfile /d' \
    -e '/^class_map /d' -e "s|^#hop_key_file .*|hop_key_file $D/hop.key|" \
    ${SEDX:+-e "$SEDX"} $S/contrib/sluice.conf > $D/c.conf
else
printf '%s\n' "socket unix:$D/s.sock" 'class default {' 'messages 100000/1h' 'recipients 1000000/1h' '}' > $D/c.conf
fi
printf '%s\n' "syslog no" "store redis" "redis_server 127.0.0.1:$port" "early_check no" \
    "control_socket $D/ctl" "state_file $D/state" "log_accepts no" >> $D/c.conf
$B/sluice -n -c $D/c.conf
$B/sluice -f -c $D/c.conf > $D/sluice.log 2>&1 &
echo $! > $D/sluice.pid
sleep 0.5
redis-cli -p $port MONITOR > $D/mon &
mon=$!
sleep 0.2
$B/sluice-bench -s unix:$D/s.sock --json -c 4 -n ${N:-1300} -l ${L:-1000} -r 3 -t 5 -b 2048 --vary-body > $D/bench.json
sleep 0.3
kill $mon; kill $(cat $D/sluice.pid); redis-cli -p $port shutdown nosave || true
grep -v '\[[0-9]* lua\]' $D/mon | grep -i '"evalsha"' > $D/evalsha.mon
wc -l $D/evalsha.mon
cat $D/bench.json | head -c 600
