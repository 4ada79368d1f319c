#!/bin/bash
# bench/mta.sh - the MTA mode of bench/run (bench/run --mta runs this
# after building; see bench/README.md "Through real MTAs").
#
# Real Postfix and real Sendmail (Debian's, on loopback, in sandboxes:
# test/integration/e2e/mta.sh, shared with the e2e tests), smtp-sink as
# the destination, in front of: no milter, the empty filter
# (tools/empty-milter.c, which negotiates the steps sluice does, body
# included) and sluice with the memory store and with Redis, each over a
# unix socket and over inet (TCP loopback). One MTA listener per
# configuration (Postfix: a submission service of contrib/postfix/master.cf
# with its own smtpd_milters; Sendmail: an MSA daemon with its own
# InputMailFilters, flags and timeouts of contrib/sendmail/sluice.m4), so
# nothing restarts between runs. sluice runs contrib/sluice.conf with only
# the socket, user, pid file, logging, store, a hop key (the hop marker
# on) and limits high enough never to refuse changed.
#
# The load (bench/smtpload.py): C connections, each running SMTP sessions
# (Postfix: STARTTLS, then AUTH PLAIN; Sendmail: AUTH PLAIN) of up to 10
# messages, 20 logins in turn, 3 recipients, 5 To: addresses, 2 KiB body,
# for D seconds per run; the queue drains before the next run. Rounds
# alternate the configurations (the order rotates each round); each figure
# is compared with no milter of the same round and with the empty filter
# over unix of the same round.
#
# Usage: bench/mta.sh BINDIR [--quick] [--rounds N] [--duration S]
#                    [--connections C] [--mtas postfix,sendmail]
#                    [--confs none,redis-inet,...] [--no-write] [--keep]
# (normally through bench/run --mta [--quick] ...). --quick: 1 round of
# 3 s runs, under 3 minutes, RESULTS.md left alone unless --write.
# --confs: only these configurations (and the two baselines, no milter
# and the empty filter over unix, always), to chase one of them.
set -euo pipefail

BIN=${1:?usage: bench/mta.sh BINDIR [options]}
shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
QUICK=0 ROUNDS=3 DUR=15 CONNS=4 MTAS="postfix sendmail" WRITE=1 ONLY=""
CMDLINE=${BENCH_CMDLINE:-bench/mta.sh}
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--rounds) ROUNDS=${2:?}; shift ;;
	--duration) DUR=${2:?}; shift ;;
	--connections) CONNS=${2:?}; shift ;;
	--mtas) MTAS=$(echo "${2:?}" | tr ',' ' '); shift ;;
	--confs) ONLY=" $(echo "${2:?}" | tr ',' ' ') "; shift ;;
	--no-write) WRITE=0 ;;
	--write) WRITE=2 ;;
	--keep) export KEEP_TMP=1 ;;
	*) echo "bench/mta.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
if [ "$QUICK" = 1 ]; then
	ROUNDS=1 DUR=3
	[ "$WRITE" = 2 ] || WRITE=0
fi

export SLUICE=$BIN/sluice SLUICE_BENCH=$BIN/sluice-bench SLUICE_SRC=$ROOT
EMPTY=$BIN/empty-milter
# lib.sh: $T, fail, start_sluice, start_redis; mta.sh: the MTAs
. "$ROOT/test/integration/lib.sh"
. "$ROOT/test/integration/e2e/mta.sh"
START=$(date +%s)
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
log() { printf 'bench/mta: [%3ss] %s\n' "$(elapsed)" "$*" >&2; }

rport=$(free_port)
bench_cleanup() {
	[ -f "$T/redis.pid" ] && kill "$(cat "$T/redis.pid")" 2> /dev/null || true
	e2e_cleanup
}
trap bench_cleanup EXIT
start_redis

# ---------------------------------------------------------------- logins
LOGINS=""
for i in $(seq 1 20); do LOGINS="$LOGINS user$i@bench.test"; done
SINK_FILES=0 sink_start
# shellcheck disable=SC2086
SASLDB_GROUP=postfix sasldb $LOGINS

# ---------------------------------------------------------------- milters
# The milters' unix sockets live in $D, owned by postfix (Postfix's smtpd
# connects as postfix; Sendmail, as root, sees $D as /run/sluice)
D=$T/sluice
mkdir -p "$D"
chown postfix "$D"
chmod 0755 "$D"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$D/hop.key"
chown postfix "$D/hop.key"
chmod 0600 "$D/hop.key"

# sluice_conf NAME SOCKET STORE - $T/NAME.conf: contrib/sluice.conf with
# the socket, user, pid file, logging (stderr), store, hop key and
# limits (never refuse) changed
sluice_conf() {
	name=$1 sock=$2 store=$3
	big=1000000000
	sed -e "s|^socket .*|socket $sock|" \
	    -e "s|^user .*|user postfix|" \
	    -e "s|^pidfile .*|pidfile $D/$name.pid|" \
	    -e "s|^#syslog .*|syslog no|" \
	    -e "s|^#hop_key_file .*|hop_key_file $D/hop.key|" \
	    -e "s|^copies .*|copies $big/1h|" \
	    -e "s|^\(    messages \).*|\1$big/1h|" \
	    -e "s|^\(    recipients \).*|\1$big/1h|" \
	    -e "s|^\(    repeats \).*|\1$big/1h|" \
	    -e "s|^\(    body_senders \).*|\1$big/1h|" \
	    "$ROOT/contrib/sluice.conf" > "$T/$name.conf"
	# the memory store's control socket and state file, where "postfix"
	# may write (lib.sh's start_sluice would put them in $T)
	printf 'control_socket %s\nstate_file %s\n' "$D/$name.ctl" "$D/$name.state" \
	    >> "$T/$name.conf"
	if [ "$store" = redis ]; then
		printf 'store redis\nredis_server 127.0.0.1:%s\nredis_prefix bench-%s:\n' \
		    "$rport" "$name" >> "$T/$name.conf"
	fi
	for k in "socket $sock" "hop_key_file $D/hop.key" "syslog no"; do
		grep -qx "$k" "$T/$name.conf" ||
		    fail "contrib/sluice.conf changed: no '$k' in $T/$name.conf"
	done
	"$SLUICE" -n -c "$T/$name.conf" > /dev/null 2>&1 ||
	    { "$SLUICE" -n -c "$T/$name.conf"; fail "sluice -n $T/$name.conf"; }
}

# the configurations; a milter over inet listens on MPORT_<conf>
CONFS="none empty-unix empty-inet mem-unix mem-inet redis-unix redis-inet"
if [ -n "$ONLY" ]; then
	for c in $ONLY; do
		case " $CONFS " in *" $c "*) ;; *) fail "--confs: no configuration $c" ;; esac
	done
	CONFS=$(for c in $CONFS; do
		case "$c $ONLY" in none*|empty-unix*|*" $c "*) echo "$c" ;; esac
	done | tr '\n' ' ')
fi
for c in empty-inet mem-inet redis-inet; do
	eval "MPORT_${c//-/_}=$(free_port)"
done
mport() { eval "echo \$MPORT_${1//-/_}"; }
# pf_milter CONF / sm_milter CONF - the milter as Postfix and Sendmail name it
pf_milter() {
	case $1 in
	none) echo "" ;;
	*-unix) echo "unix:$D/${1%-unix}.sock" ;;
	*-inet) echo "inet:127.0.0.1:$(mport "$1")" ;;
	esac
}
sm_milter() {
	case $1 in
	*-unix) echo "unix:/run/sluice/${1%-unix}.sock" ;;
	*-inet) echo "inet:$(mport "$1")@127.0.0.1" ;;
	esac
}

# empty filter: as postfix, so that its socket is postfix's (umask 007)
start_empty() {
	name=$1 spec=$2
	( umask 007; exec setpriv --reuid=postfix --regid=postfix --init-groups \
	    "$EMPTY" -p "$spec" ) >> "$T/$name.log" 2>&1 &
	PIDS="$PIDS $!"
	eval "PID_$name=$!"
	i=0
	until sock_ready "$3"; do
		i=$((i + 1)); [ $i -lt 200 ] || fail "$name did not start"
		sleep 0.05
	done
}
start_empty empty "unix:$D/empty.sock" "unix:$D/empty.sock"
start_empty emptyi "inet:$(mport empty-inet)@127.0.0.1" \
    "inet:$(mport empty-inet)@127.0.0.1"
# sluice daemons: mem (unix), memi (inet), redis, redisi
sluice_conf mem "unix:$D/mem.sock" memory
sluice_conf memi "inet:$(mport mem-inet)@127.0.0.1" memory
sluice_conf redis "unix:$D/redis.sock" redis
sluice_conf redisi "inet:$(mport redis-inet)@127.0.0.1" redis
for n in mem memi redis redisi; do start_sluice "$n"; done
# milter_pid CONF - the daemon behind a configuration (for its CPU time)
milter_pid() {
	d=${1//-/_}
	d=${d%_unix}
	d=${d/%_inet/i}
	[ "$1" = none ] || eval "echo \$PID_$d"
}
log "milters up: empty filter, sluice memory and Redis, unix and inet; redis-server :$rport"

# ---------------------------------------------------------------- probes
cpu_ms() { [ -n "$1" ] && awk '{print ($14 + $15) * 10}' "/proc/$1/stat" 2> /dev/null || echo 0; }
host_ticks() { awk '/^cpu /{b=$2+$3+$4+$7+$8+$9; print b, b+$5+$6}' /proc/stat; }
# delayed_acks - the host's delayed ACKs sent so far (TcpExt DelayedACKs):
# a stall on a milter socket shows as one or more per message
delayed_acks() {
	awk '/^TcpExt:/ { if (!n) { for (i = 2; i <= NF; i++) if ($i == "DelayedACKs") k = i; n = 1 } else print $k }' /proc/net/netstat
}
RES=$T/mta.jsonl
: > "$RES"

# run MTA ROUND CONF PORT SECONDS [smtpload options] - one measured run,
# then wait for the queue to drain; one JSON line in $RES
run() {
	mta=$1 round=$2 conf=$3 port=$4 secs=$5
	shift 5
	pid=$(milter_pid "$conf")
	ca=$(cpu_ms "$pid"); ha=$(host_ticks); da=$(delayed_acks)
	j=$(python3 "$ROOT/bench/smtpload.py" --port "$port" -c "$CONNS" \
	    --duration "$secs" --tag "$mta-$round-$conf-$RANDOM" "$@") ||
	    fail "smtpload failed against $mta $conf"
	cb=$(cpu_ms "$pid"); hb=$(host_ticks); db=$(delayed_acks)
	t0=$(date +%s.%N)
	i=0
	until "${mta}_queue_empty"; do
		i=$((i + 1))
		[ $i -lt 1200 ] || fail "$mta's queue did not drain in 120 s"
		sleep 0.1
	done
	drain=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
	# shellcheck disable=SC2086
	set -- $ha $hb
	printf '{"kind":"mta","mta":"%s","round":%s,"conf":"%s","milter_cpu_ms":%s,"host_busy_ticks":%s,"host_all_ticks":%s,"delayed_acks":%s,"drain_s":%s,"load":%s}\n' \
	    "$mta" "$round" "$conf" $((cb - ca)) $(($3 - $1)) $(($4 - $2)) $((db - da)) \
	    "$drain" "$j" >> "$RES"
	printf '%s\n' "$j" | sed -n "s/.*\"messages\": \([0-9]*\), \"refused\": \([0-9]*\), \"errors\": \([0-9]*\).*\"msg_s\": \([0-9.]*\), \"p50_ms\": \([0-9.]*\), \"p99_ms\": \([0-9.]*\).*/  $mta r$round $conf: \4 msg\/s p50 \5 ms p99 \6 ms (messages \1, refused \2, errors \3; delayed ACKs $((db - da)); drained in $drain s)/p" >&2
}

# rounds MTA - a warm-up run of each configuration, then the rounds
# (smtpload options in OPTS)
rounds() {
	mta=$1
	log "$mta: warm-up"
	for c in $CONFS; do
		run "$mta" 0 "$c" "$(port_of "$c")" 1 "${OPTS[@]}"
	done
	read -ra cs <<< "$CONFS"
	for r in $(seq "$ROUNDS"); do
		log "$mta: round $r of $ROUNDS"
		# rotate the order each round: no configuration always first
		for k in "${!cs[@]}"; do
			c=${cs[$(( (k + r - 1) % ${#cs[@]} ))]}
			run "$mta" "$r" "$c" "$(port_of "$c")" "$DUR" "${OPTS[@]}"
		done
	done
}
port_of() { eval "echo \$PORT_${1//-/_}"; }

# ---------------------------------------------------------------- Postfix
if echo " $MTAS " | grep -q ' postfix '; then
	P=$T/pf
	postfix_setup
	# no milter outside the submission services below, none for sendmail(1)
	postconf -c "$P/etc" -e "smtpd_milters =" "non_smtpd_milters =" ||
	    fail "postconf smtpd_milters"
	ports=""
	for c in $CONFS; do
		p=$(free_port)
		eval "PORT_${c//-/_}=$p"
		ports="$ports $p"
		postfix_submission "$p" "smtpd_milters=$(pf_milter "$c")" \
		    "syslog_name=postfix/sub-$c"
	done
	# shellcheck disable=SC2086
	postfix_start $ports
	log "Postfix $(postconf -c "$P/etc" -h mail_version): submission (STARTTLS + AUTH) per configuration on$ports"
	OPTS=(--starttls)
	rounds postfix
	grep -E 'warning: milter|fatal|panic' "$T/postfix.log" | head -n 5 > "$T/postfix-warnings" || true
	sandbox_stop "$PF_SANDBOX"
fi

# ---------------------------------------------------------------- Sendmail
if echo " $MTAS " | grep -q ' sendmail '; then
	S=$T/sm
	sendmail_setup
	# Sendmail refuses a group-readable sasldb
	chmod 0600 "$T/sasldb2"
	chgrp root "$T/sasldb2"
	# every milter as contrib/sendmail/sluice.m4 declares sluice (its flags
	# and timeouts), each listener with its own; no global filter list
	flags=$(sed -n "s/^INPUT_MAIL_FILTER(\`sluice', \`S=[^,]*, \(.*\)')\$/\1/p" \
	    "$S/sluice.m4")
	[ -n "$flags" ] || fail "no INPUT_MAIL_FILTER line in contrib/sendmail/sluice.m4"
	{
		grep "^define(\`confMILTER_MACROS_ENVFROM'" "$S/sluice.m4"
		for c in $CONFS; do
			p=$(free_port)
			eval "PORT_${c//-/_}=$p"
			f=f${c//-/}
			if [ "$c" = none ]; then
				echo "DAEMON_OPTIONS(\`Port=$p, Addr=127.0.0.1, Name=MSA$f, M=Ea')dnl"
			else
				echo "MAIL_FILTER(\`$f', \`S=$(sm_milter "$c"), $flags')dnl"
				echo "DAEMON_OPTIONS(\`Port=$p, Addr=127.0.0.1, Name=MSA$f, M=Ea, InputMailFilters=$f')dnl"
			fi
		done
	} > "$S/daemons.m4"
	ports=$(for c in $CONFS; do port_of "$c"; done | tr '\n' ' ')
	# shellcheck disable=SC2086
	sendmail_start "$D" $ports
	log "Sendmail: MSA (AUTH) per configuration on $ports"
	OPTS=()
	rounds sendmail
	sandbox_stop "$SM_SANDBOX"
fi

# ---------------------------------------------------------------- report
errs=$(cat "$T"/mem.log "$T"/memi.log "$T"/redis.log "$T"/redisi.log |
    grep -c 'store_error\|error\|fatal' || true)
END=$(date +%s)
commit=$(git -C "$ROOT" rev-parse --short HEAD 2> /dev/null || echo '?')
dirty=$(git -C "$ROOT" diff --name-only HEAD 2> /dev/null | wc -l)
[ "$dirty" = 0 ] || commit="$commit + $dirty uncommitted files"
python3 - "$T/meta.json" << EOF
import json, sys
json.dump({
  'date': "$(date -u '+%Y-%m-%d %H:%M UTC')", 'command': "$CMDLINE",
  'duration': $((END - START)), 'loadavg': "$LOADAVG",
  'machine': "$(nproc) vCPU, Linux $(uname -r)",
  'software': "sluice $commit; Postfix $(postconf -d -h mail_version 2> /dev/null); Sendmail $(basename "$(dirname "${SM_ROOT:-?/?}")"); $(redis-server --version | awk '{print $1, $3}')",
  'rounds': $ROUNDS, 'run_s': $DUR, 'connections': $CONNS, 'quick': $QUICK,
  'sluice_log_errors': $errs,
  'postfix_warnings': open("$T/postfix-warnings").read() if __import__('os').path.exists("$T/postfix-warnings") else '',
}, open(sys.argv[1], 'w'))
EOF
mkdir -p "$BIN/last-mta"
cp "$RES" "$T/meta.json" "$BIN/last-mta/"
OUT=-
[ "$WRITE" != 0 ] && OUT=$ROOT/bench/RESULTS.md
python3 "$ROOT/bench/report_sections.py" mta "$RES" "$T/meta.json" "$OUT"
[ "$OUT" = - ] || log "wrote its section of bench/RESULTS.md"
log "done in $((END - START)) s"
