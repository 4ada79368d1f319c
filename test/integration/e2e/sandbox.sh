#!/bin/sh
# sandbox.sh DIR HOSTNAME COMMAND... - run an MTA (COMMAND, in the
# foreground) in private mount, UTS and PID namespaces, so that nothing it
# does reaches the machine's own configuration or leaves loopback:
#
# - /etc is an overlay (upper layer DIR/etc.up): the MTA sees the machine's
#   /etc with a private hosts (HOSTNAME and localhost on 127.0.0.1),
#   nsswitch.conf ("hosts: files": no DNS), resolv.conf (nameserver
#   127.0.0.1, should anything still ask), plus the files found under
#   DIR/sandbox-etc/ (e.g. sasl2/Sendmail.conf). The real /etc is never written.
# - /dev is an overlay too, with a /dev/log of its own: what the MTA sends
#   to syslog is written to DIR/syslog (Sendmail can log nowhere else).
# - with SANDBOX_SLUICE_DIR=DIR, that directory (where the test's sluice
#   has its socket) is also /run/sluice inside, so the MTA uses the path
#   of an installation, unix:/run/sluice/sluice.sock (/run is an overlay
#   as well). Sendmail wants it so: it refuses a socket under /tmp
#   (a world-writable directory on the path).
# - the host name is HOSTNAME (Sendmail wants a qualified one, or it
#   sleeps 60 s at every start trying to qualify it through DNS).
# - this script is PID 1 of the namespace: on SIGTERM it runs
#   $SANDBOX_STOP if set (inside the namespace, where the MTA's pid files
#   make sense: e.g. "postfix -c DIR stop"), sends SIGTERM to COMMAND,
#   waits for it (up to 15 s) and exits; the kernel then kills whatever is
#   left inside. Never run an MTA's own stop command from outside: its pid
#   file holds a pid of the namespace, not of the machine.
#   From outside, send SIGTERM to the child of the unshare process (unshare
#   itself ignores it); killing unshare sends SIGTERM here too.
#
# The network is NOT private: the MTA listens on, and connects to, the
# machine's loopback, where the test's sluice, smtp-sink and client are.
set -eu

if [ "${SLUICE_SANDBOX_INNER:-}" != 1 ]; then
	SLUICE_SANDBOX_INNER=1 exec unshare --mount --uts --pid --fork \
	    --kill-child=TERM --propagation private sh "$0" "$@"
fi
unset SLUICE_SANDBOX_INNER
# never change the host name or mount anything outside the namespaces
if [ $$ != 1 ]; then
	echo "sandbox.sh: not PID 1 of a new PID namespace: refusing" >&2
	exit 1
fi
D=$1 H=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$D/etc.up" "$D/etc.work" "$D/dev.up" "$D/dev.work"
hostname "$H"
mount -t overlay sluice-e2e-etc \
    -o "lowerdir=/etc,upperdir=$D/etc.up,workdir=$D/etc.work" /etc
mount -t overlay sluice-e2e-dev \
    -o "lowerdir=/dev,upperdir=$D/dev.up,workdir=$D/dev.work" /dev
rm -f /etc/hosts /etc/nsswitch.conf /etc/resolv.conf
printf '127.0.0.1\t%s %s localhost\n::1\tlocalhost\n' "$H" "${H%%.*}" \
    > /etc/hosts
printf '%s: files\n' passwd group shadow hosts networks services \
    protocols > /etc/nsswitch.conf
echo "nameserver 127.0.0.1" > /etc/resolv.conf
chmod 0644 /etc/hosts /etc/nsswitch.conf /etc/resolv.conf
if [ -n "${SANDBOX_SLUICE_DIR:-}" ]; then
	mkdir -p "$D/run.up" "$D/run.work"
	mount -t overlay sluice-e2e-run \
	    -o "lowerdir=/run,upperdir=$D/run.up,workdir=$D/run.work" /run
	mkdir -p /run/sluice
	mount --bind "$SANDBOX_SLUICE_DIR" /run/sluice
fi
if [ -d "$D/sandbox-etc" ]; then
	cp -R "$D/sandbox-etc/." /etc/
fi

python3 "$here/syslog.py" /dev/log "$D/syslog" &
syslogd=$!
i=0
while [ ! -S /dev/log ] && [ $i -lt 100 ]; do
	sleep 0.02
	i=$((i + 1))
done

"$@" &
mta=$!
stopping=0
stop() {
	stopping=1
	if [ -n "${SANDBOX_STOP:-}" ]; then
		sh -c "$SANDBOX_STOP" > /dev/null 2>&1 || true
	fi
	kill -TERM "$mta" 2>/dev/null || true
}
trap stop TERM INT HUP
st=0
wait "$mta" || st=$?
if [ $stopping = 1 ]; then
	# interrupted by the trap: give the command 15 s to finish stopping
	( sleep 15; kill -KILL "$mta" 2>/dev/null ) &
	wait "$mta" 2>/dev/null || true
fi
kill -TERM "$syslogd" 2>/dev/null || true
exit "$st"
