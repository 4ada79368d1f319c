#!/bin/bash
# cg.sh MONFILE SCRIPT WARM TOTAL - instructions per EVALSHA inside
# redis-server under callgrind: WARM commits, zero, TOTAL-WARM commits, dump
H=$(cd "$(dirname "$0")" && pwd)
set -e
mon=$(realpath $1) script=$(realpath $2) warm=$3 total=$4
D=$(mktemp -d /tmp/script-cost.XXXX)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
cd $D
valgrind --tool=callgrind --callgrind-out-file=$D/cg.out redis-server --port $port --bind 127.0.0.1 --save '' --appendonly no > $D/vg.log 2>&1 &
vp=$!
for i in $(seq 100); do redis-cli -p $port ping >/dev/null 2>&1 && break; sleep 0.2; done
python3 "$H/replay.py" $port $mon $script 0 $warm
callgrind_control -z $vp > /dev/null
python3 "$H/replay.py" $port $mon $script $warm $total
callgrind_control -d $vp > /dev/null
redis-cli -p $port INFO commandstats | grep -E 'evalsha|cmdstat_' | tr -d '\r' > $D/stats
redis-cli -p $port shutdown nosave >/dev/null 2>&1 || true
wait $vp || true
ir=$(ls $D/cg.out* | grep -v '\.out$' | head -1)
tot=$(callgrind_annotate "$ir" 2>/dev/null | grep -m1 'PROGRAM TOTALS' | awk '{gsub(",","",$1); print $1}')
echo "$(basename $script) Ir/EVALSHA: $((tot / (total - warm)))  (total $tot, $((total - warm)) commits, $ir)"
