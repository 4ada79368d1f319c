#!/bin/bash
# us.sh MONFILE SCRIPT WARM TOTAL - usec_per_call of EVALSHA, plain redis-server
H=$(cd "$(dirname "$0")" && pwd)
set -e
mon=$(realpath $1) script=$(realpath $2) warm=$3 total=$4
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
redis-server --port $port --bind 127.0.0.1 --save '' --appendonly no > /dev/null 2>&1 &
rp=$!
for i in $(seq 100); do redis-cli -p $port ping >/dev/null 2>&1 && break; sleep 0.1; done
python3 "$H/replay.py" $port $mon $script 0 $warm 2>/dev/null
redis-cli -p $port CONFIG RESETSTAT > /dev/null
python3 "$H/replay.py" $port $mon $script $warm $total 2>/dev/null
echo "$(basename $script) $(redis-cli -p $port INFO commandstats | grep evalsha | tr -d '\r')"
redis-cli -p $port INFO commandstats | tr -d '\r' | grep cmdstat_ | sed 's/:calls=\([0-9]*\).*/ \1/' | tr '\n' ' ' ; echo
redis-cli -p $port shutdown nosave >/dev/null 2>&1 || true
wait $rp || true
