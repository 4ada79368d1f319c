#!/bin/bash
# diff.sh MONFILE A.lua B.lua - every reply of the capture, both scripts, fresh servers
H=$(cd "$(dirname "$0")" && pwd)
mon=$(realpath $1)
for s in $2 $3; do
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
redis-server --port $port --bind 127.0.0.1 --save '' --appendonly no > /dev/null 2>&1 &
rp=$!
for i in $(seq 100); do redis-cli -p $port ping >/dev/null 2>&1 && break; sleep 0.1; done
ALL=1 python3 "$H/replay.py" $port $mon $(realpath $s) 0 100000 2>/dev/null > ${OUT:-/tmp}/diff.$(basename $s).out
redis-cli -p $port shutdown nosave >/dev/null 2>&1; wait $rp
done
cmp ${OUT:-/tmp}/diff.$(basename $2).out ${OUT:-/tmp}/diff.$(basename $3).out && echo "replies identical: $(wc -l < ${OUT:-/tmp}/diff.$(basename $2).out)"
