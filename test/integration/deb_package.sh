#!/bin/bash
# deb_package.sh - the Debian package (debian/), built, checked, installed
# on this machine, run behind a real Postfix, purged:
#
# - dpkg-buildpackage -us -uc -b on a copy of the source tree in $T
#   (DEB_BUILD_OPTIONS=nocheck: the package build runs no test, this suite
#   does); lintian on the result: no E: line;
# - dpkg -i: the system user and group sluice, /etc/sluice/{sluice.conf,
#   classes} as conffiles, the unit enabled (no systemd runs here, so not
#   started), systemd-analyze verify on the installed unit, sluice -n on
#   the installed configuration;
# - the installed /usr/sbin/sluice with the installed configuration as
#   its unit would run it (emulated: no systemd here): user sluice from
#   the start, no new privileges, no capabilities, umask 0007, a private
#   /run with /run/sluice as RuntimeDirectory makes it (0750 sluice:sluice),
#   the file system read-only but for /run/sluice, a private /tmp. Postfix
#   (e2e/sandbox.sh) sees that directory as /run/sluice and reaches the
#   socket through the group sluice that its user joined
#   ("usermod -aG sluice postfix", run inside the sandbox, whose /etc is
#   an overlay); one authenticated message goes through to smtp-sink;
# - dpkg --purge: no file of the package, no /etc/sluice, no user or
#   group sluice, no enablement symlink is left.
#
# It installs a package system-wide: it refuses to run where a package or
# a user called sluice already exists, and purges on exit, whatever
# happened. The other tests run the build tree's binaries, never /usr/sbin.
. "$(dirname "$0")/lib.sh"

for tool in dpkg-buildpackage dpkg-checkbuilddeps lintian fakeroot; do
	command -v "$tool" > /dev/null 2>&1 || sh "$SLUICE_SRC/scripts/deps.sh" >&2 || true
	command -v "$tool" > /dev/null 2>&1 || {
		echo "deb_package: SKIPPED: $tool is missing (scripts/deps.sh installs it)"
		exit 77
	}
done
. "$(dirname "$0")/e2e/lib_e2e.sh"

if dpkg-query -W -f='${Status}' sluice 2>/dev/null | grep -q 'installed\|config-files'; then
	fail "a package sluice is already on this machine: this test would replace and purge it"
fi
getent passwd sluice > /dev/null || getent group sluice > /dev/null &&
    fail "a user or group sluice already exists: the test's purge would remove it"

INSTALLED=0
deb_cleanup() {
	st=$?
	if [ "$INSTALLED" = 1 ]; then
		if [ -n "${CT_NSPAWN:-}" ]; then
			kill -TERM "$CT_NSPAWN" 2>/dev/null || true
			wait "$CT_NSPAWN" 2>/dev/null || true
		fi
		if [ -n "${SLUICE_NS:-}" ]; then
			kill -TERM "$SLUICE_NS" 2>/dev/null || true
			wait "$SLUICE_NS" 2>/dev/null || true
		fi
		dpkg --purge sluice > "$T/purge-on-exit.log" 2>&1 ||
		    { cat "$T/purge-on-exit.log" >&2; echo "deb_package: dpkg --purge sluice failed" >&2; }
	fi
	e2e_cleanup
	exit $st
}
trap deb_cleanup EXIT
trap "exit 143" TERM INT HUP

# ------------------------------------------------------------- build
version=$(sed -n '1s/^sluice (\([^)]*\)).*/\1/p' "$SLUICE_SRC/debian/changelog")
[ -n "$version" ] || fail "no version in debian/changelog"
arch=$(dpkg --print-architecture)
if [ -n "${SLUICE_TEST_DEB:-}" ]; then
	# to rerun the steps after the build: a .deb this test built before
	DEB=$SLUICE_TEST_DEB
	echo "# SKIPPED: dpkg-buildpackage and lintian: SLUICE_TEST_DEB=$DEB"
else
	step "dpkg-buildpackage on a copy of the source tree"
	S=$T/src/sluice-$version
	mkdir -p "$S"
	tar -C "$SLUICE_SRC" --exclude='./build*' --exclude=./.git \
	    --exclude=./obj-\* -cf - . | tar -C "$S" -xf - || fail "copying the source tree"
	(cd "$S" && dpkg-checkbuilddeps) > "$T/builddeps.log" 2>&1 ||
	    { cat "$T/builddeps.log"; fail "build dependencies missing"; }
	(cd "$S" && DEB_BUILD_OPTIONS="nocheck parallel=2" nice \
	    dpkg-buildpackage -us -uc -b) > "$T/dpkg-buildpackage.log" 2>&1 ||
	    { tail -n 40 "$T/dpkg-buildpackage.log"; fail "dpkg-buildpackage -us -uc -b"; }
	DEB=$T/src/sluice_${version}_$arch.deb
	[ -f "$DEB" ] || { ls "$T/src"; fail "no sluice_${version}_$arch.deb"; }
	pass "dpkg-buildpackage -us -uc -b (nocheck, -j2): $(basename "$DEB") in $(elapsed)s"

	rc=0
	lintian --allow-root --fail-on error "$T/src/sluice_${version}_$arch.changes" \
	    > "$T/lintian.out" 2>&1 || rc=$?
	[ "$rc" = 0 ] && ! grep -q '^E: ' "$T/lintian.out" ||
	    { cat "$T/lintian.out"; fail "lintian reports errors (exit $rc)"; }
	pass "lintian: no error ($(grep -c '^W: ' "$T/lintian.out" || true) warnings)"
fi

dpkg-deb -c "$DEB" | awk '{ print $6 }' | sed 's|^\./|/|' > "$T/contents"
for f in /usr/sbin/sluice /usr/sbin/sluicectl /etc/sluice/sluice.conf \
    /etc/sluice/classes /lib/systemd/system/sluice.service \
    /usr/share/man/man8/sluice.8.gz /usr/share/man/man8/sluicectl.8.gz \
    /usr/share/man/man5/sluice.conf.5.gz /usr/share/sluice/sluice.conf \
    /usr/share/sluice/postfix/main.cf /usr/share/sluice/postfix/master.cf \
    /usr/share/sluice/sendmail/sluice.m4 /usr/share/sluice/redis/redis.conf \
    /usr/share/sluice/prometheus/sluice.rules.yml \
    /usr/share/sluice/grafana/sluice.json /usr/share/doc/sluice/copyright; do
	grep -qx -- "$f" "$T/contents" || { cat "$T/contents"; fail "the package lacks $f"; }
done
pass "the package holds the daemon, sluicectl, the man pages, the unit, /etc/sluice, /usr/share/sluice (MTA, Redis, Prometheus, Grafana)"

# ----------------------------------------------------------- install
step "dpkg -i"
INSTALLED=1
if ! dpkg -i "$DEB" > "$T/dpkg-i.log" 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get install -f -y -qq \
	    --no-install-recommends >> "$T/dpkg-i.log" 2>&1 ||
	    { cat "$T/dpkg-i.log"; fail "dpkg -i (then apt-get install -f)"; }
fi
dpkg-query -W -f='${Status}' sluice | grep -q 'install ok installed' ||
    { cat "$T/dpkg-i.log"; fail "sluice is not installed after dpkg -i"; }
pass "dpkg -i $(basename "$DEB")"
uid=$(getent passwd sluice | cut -d: -f3)
[ -n "$uid" ] && [ "$uid" -lt 1000 ] || fail "no system user sluice (uid $uid)"
[ "$(id -gn sluice)" = sluice ] || fail "the user sluice's group is $(id -gn sluice)"
case $(getent passwd sluice | cut -d: -f7) in
*/nologin|*/false) ;;
*) fail "the user sluice can log in: $(getent passwd sluice)" ;;
esac
pass "postinst made the system user sluice (uid $uid, group sluice, no login)"
dpkg-query -W -f='${Conffiles}\n' sluice > "$T/conffiles"
for f in /etc/sluice/sluice.conf /etc/sluice/classes; do
	grep -q "^ $f " "$T/conffiles" || { cat "$T/conffiles"; fail "$f is not a conffile"; }
done
pass "conffiles: /etc/sluice/sluice.conf, /etc/sluice/classes"
WANTS=/etc/systemd/system/multi-user.target.wants/sluice.service
[ "$(readlink "$WANTS")" = /lib/systemd/system/sluice.service ] ||
    fail "the unit is not enabled ($WANTS)"
if [ -d /run/systemd/system ]; then
	pass "the unit is enabled (systemd runs here)"
else
	pgrep -u sluice > /dev/null && fail "something runs as sluice: no systemd here, nothing should have started it"
	pass "the unit is enabled ($WANTS) and, with no systemd running, nothing was started"
fi
systemd-analyze verify /lib/systemd/system/sluice.service > "$T/verify.log" 2>&1 ||
    { cat "$T/verify.log"; fail "systemd-analyze verify on the installed unit"; }
grep -v '^$' "$T/verify.log" | grep -qv 'Failed to connect\|bus' &&
    { cat "$T/verify.log"; fail "systemd-analyze verify complains"; }
pass "systemd-analyze verify /lib/systemd/system/sluice.service: clean"
out=$(/usr/sbin/sluice -n -c /etc/sluice/sluice.conf 2>&1) ||
    fail "sluice -n on the installed configuration: $out"
pass "installed: $out"
for m in sluice.8 sluicectl.8 sluice.conf.5; do
	man "${m%.*}" > /dev/null 2>&1 || man -l "/usr/share/man/man${m##*.}/$m.gz" > /dev/null ||
	    fail "man ${m%.*}"
done
pass "man sluice, sluicectl, sluice.conf"

# ------------------------------------ the installed daemon, as the unit runs it
step "the installed daemon as its unit would run it"
grep -qx 'User=sluice' /lib/systemd/system/sluice.service &&
grep -qx 'RuntimeDirectory=sluice' /lib/systemd/system/sluice.service &&
grep -qx 'RuntimeDirectoryMode=0750' /lib/systemd/system/sluice.service &&
grep -qx 'UMask=0007' /lib/systemd/system/sluice.service ||
    fail "the unit's settings this emulation copies have changed"
RUN=$T/run-sluice
mkdir -p "$RUN"
chown sluice:sluice "$RUN"
chmod 0750 "$RUN"
# the unit's ExecStart in a mount namespace of its own (e2e/unit_emulate.sh)
unshare --mount --propagation private \
    sh "$E2E/unit_emulate.sh" "$RUN" /usr/sbin/sluice -f -c /etc/sluice/sluice.conf \
    > "$T/sluice.log" 2>&1 &
SLUICE_NS=$!
i=0
until [ -S "$RUN/sluice.sock" ]; do
	i=$((i + 1))
	[ $i -lt 400 ] || fail "the installed sluice made no socket in /run/sluice"
	kill -0 "$SLUICE_NS" 2>/dev/null || fail "the installed sluice exited at start"
	sleep 0.05
done
pid=$(cat "$RUN/sluice.pid" 2>/dev/null) || fail "no pid file /run/sluice/sluice.pid"
[ "$(stat -c %U "/proc/$pid")" = sluice ] || fail "pid $pid (pid file) is not run by sluice"
grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$pid/status" || fail "no_new_privs not set"
grep -q '^CapBnd:[[:space:]]*0000000000000000' "/proc/$pid/status" || fail "capabilities left"
[ "$(stat -c '%A %U %G' "$RUN/sluice.sock")" = "srw-rw---- sluice sluice" ] ||
    fail "socket $(stat -c '%A %U %G' "$RUN/sluice.sock")"
pass "/usr/sbin/sluice (pid $pid from /run/sluice/sluice.pid) runs as sluice, no_new_privs, no capabilities, read-only /; socket /run/sluice/sluice.sock srw-rw---- sluice sluice"

step "behind a real Postfix"
sink_start
SASLDB_GROUP=postfix sasldb alice@e2e.test
P=$T/pf
SUB_PORT=$(free_port_but "$SINK_PORT")
# the shared throw-away Postfix (e2e/mta.sh) with the package's snippets:
# its main.cf with the socket of the package, its master.cf's submission
sed 's|unix:sluice/sluice.sock|unix:/run/sluice/sluice.sock|' \
    /usr/share/sluice/postfix/main.cf > "$T/package-main.cf"
PF_MAIN_CF=$T/package-main.cf
PF_MASTER_CF=/usr/share/sluice/postfix/master.cf
postfix_setup
postfix_submission "$SUB_PORT"
# doc/packaging.md: the MTA's user joins the group (inside the sandbox:
# its /etc is an overlay, the machine's /etc/group is not touched)
PF_SLUICE_DIR=$RUN
PF_BEFORE="usermod -aG sluice postfix"
postfix_start "$SUB_PORT"
id -nG postfix | grep -qw sluice && fail "the machine's postfix user joined sluice"
smtpc one.out --port "$SUB_PORT" --starttls --auth "alice@e2e.test:pw-alice@e2e.test" \
    --from alice@e2e.test --to r1@remote.test --tag deb
expect_summary one.out accepted 1 "an authenticated message through Postfix's submission: 250"
wait_until 30 "the message did not reach smtp-sink" test -n "$(sink_ids)"
[ "$(sink_ids)" = "<e2e-deb-1@e2e.test>" ] || fail "the sink got: $(sink_ids)"
grep -q 'eom login=alice@e2e\.test .*action=accept' "$T/sluice.log" ||
    fail "the installed sluice did not log its decision"
grep -q 'warning: milter' "$T/postfix.log" && fail "Postfix warned about the milter"
pass "the installed sluice decided (eom login=alice@e2e.test ... action=accept) and smtp-sink got the message"
sandbox_stop "$PF_SANDBOX"
kill -TERM "$SLUICE_NS"
wait "$SLUICE_NS" 2>/dev/null || true
SLUICE_NS=""
pgrep -u sluice > /dev/null && fail "the installed sluice did not stop on SIGTERM"
pass "the installed sluice stopped on SIGTERM"

# ------------------------------------------ the unit under a real systemd
# in_ct COMMAND... - run COMMAND in the booted container (all namespaces)
in_ct() {
	nsenter -t "$CT_INIT" -a -- "$@"
}

# under_systemd - boot systemd in a container of this machine's own file
# system (e2e/nspawn_boot.sh), start the installed unit, and check it does
# what the daemon needs under all its hardening: the runtime directory,
# the pid file, the hop key read as user sluice, a lock hook run, delivery
# feedback read from the system journal (feedback_log journal, with the
# drop-in doc/feedback.md gives), metrics, reload, stop
under_systemd() {
	C=$T/ct
	mkdir -p "$C/root" "$C/etc"
	cp /etc/sluice/classes "$C/etc/"
	{
		grep -E '^(socket|user|pidfile)[[:space:]]' /etc/sluice/sluice.conf
		echo "metrics_listen 127.0.0.1:9188"
		echo "cluster_id deb-test"
		echo "hop_key_file /etc/sluice/hop.key"
		echo "lock_after 2/1h"
		echo "lock_command /etc/sluice/lock-hook"
		# delivery feedback from the container's own journal
		echo "feedback_log journal"
		echo "feedback_state /var/lib/sluice/feedback.state"
		echo "feedback_poll 200ms"
		echo "class default {"
		echo "    messages 1/1h"
		echo "}"
	} > "$C/etc/sluice.conf"
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$C/etc/hop.key"
	chown root:sluice "$C/etc/hop.key"
	chmod 0640 "$C/etc/hop.key"
	printf '#!/bin/sh\necho "$1 $2" > /run/sluice/lock-hook.out\n' > "$C/etc/lock-hook"
	chmod 0755 "$C/etc/lock-hook"
	chmod 0755 "$C/etc"
	unshare --mount --propagation private sh "$E2E/nspawn_boot.sh" \
	    "$C/root" "$C/etc" systemd.unit=basic.target > "$T/nspawn.log" 2>&1 &
	CT_NSPAWN=$!
	CT_INIT=""
	i=0
	until [ -n "$CT_INIT" ] && in_ct systemctl is-system-running 2>/dev/null |
	    grep -qx 'running\|degraded'; do
		i=$((i + 1))
		[ $i -lt 600 ] || fail "the container's systemd did not come up in 60 s"
		kill -0 "$CT_NSPAWN" 2>/dev/null || fail "systemd-nspawn exited"
		# unshare and sh exec systemd-nspawn, whose child is the init
		CT_INIT=$(pgrep -P "$CT_NSPAWN" -x systemd | head -n 1)
		sleep 0.1
	done
	pass "systemd $(in_ct systemctl --version | sed -n '1s/systemd \([0-9]*\).*/\1/p') is PID 1 of a container of this machine's (read-only) file system: $(in_ct systemctl is-system-running)"
	[ "$(in_ct systemctl is-enabled sluice)" = enabled ] || fail "sluice.service is not enabled"
	# as doc/feedback.md says (systemctl edit sluice): the journal's group
	in_ct mkdir -p /run/systemd/system/sluice.service.d
	printf '[Service]\nSupplementaryGroups=systemd-journal\n' |
	    in_ct sh -c 'cat > /run/systemd/system/sluice.service.d/journal.conf'
	in_ct systemctl daemon-reload
	in_ct systemctl start sluice || { in_ct journalctl -u sluice --no-pager; fail "systemctl start sluice"; }
	[ "$(in_ct systemctl is-active sluice)" = active ] || fail "sluice.service is not active"
	i=0
	until in_ct test -S /run/sluice/sluice.sock; do
		i=$((i + 1))
		[ $i -lt 200 ] || fail "no socket /run/sluice/sluice.sock under the unit"
		sleep 0.05
	done
	main=$(in_ct systemctl show -p MainPID --value sluice)
	[ "$(in_ct cat /run/sluice/sluice.pid)" = "$main" ] || fail "the pid file does not hold MainPID $main"
	[ "$(in_ct stat -c '%a %U %G' /run/sluice)" = "750 sluice sluice" ] ||
	    fail "/run/sluice: $(in_ct stat -c '%a %U %G' /run/sluice)"
	[ "$(in_ct stat -c '%A %U %G' /run/sluice/sluice.sock)" = "srw-rw---- sluice sluice" ] ||
	    fail "the socket: $(in_ct stat -c '%A %U %G' /run/sluice/sluice.sock)"
	pass "systemctl start sluice: active, MainPID $main = /run/sluice/sluice.pid, /run/sluice 750 sluice:sluice (RuntimeDirectory), socket srw-rw---- sluice sluice"
	st=$(in_ct cat "/proc/$main/status")
	echo "$st" | grep -q "^Uid:[[:space:]]*$(id -u sluice)[[:space:]]" || fail "not run as sluice"
	echo "$st" | grep -q '^NoNewPrivs:[[:space:]]*1' || fail "no_new_privs not set"
	echo "$st" | grep -q '^Seccomp:[[:space:]]*2' || fail "no syscall filter"
	echo "$st" | grep -q '^CapBnd:[[:space:]]*0000000000000000' || fail "capabilities left"
	pass "the daemon runs as sluice with no_new_privs, a seccomp filter (SystemCallFilter), no capabilities; it read the hop key (root:sluice 0640) as sluice"
	in_ct journalctl -u sluice --no-pager > "$T/journal.log" 2>&1
	grep -q 'configuration OK' "$T/journal.log" || fail "ExecStartPre (sluice -n) not in the journal"
	pass "ExecStartPre: sluice -n logged configuration OK in the journal"

	# mail over the milter protocol to the socket in the container's /run
	"$SLUICE_BENCH" -s "unix:/proc/$(pgrep -P "$CT_INIT" -u sluice -x sluice | head -n 1)/root/run/sluice/sluice.sock" \
	    --json -c 1 -n 4 -r 1 --login locked@deb.test > "$T/bench.out" 2>&1 ||
	    { cat "$T/bench.out"; fail "sluice-bench to the unit's socket"; }
	grep -q '"accept":1,"tempfail":3' "$T/bench.out" ||
	    { cat "$T/bench.out"; fail "not 1 accepted, 3 refused (messages 1/1h)"; }
	grep -q '"headers_added":1' "$T/bench.out" ||
	    { cat "$T/bench.out"; fail "the accepted message got no hop marker"; }
	pass "sluice-bench through /run/sluice/sluice.sock: 1 accepted (with a hop marker signed with the key), 3 refused"
	i=0
	until in_ct test -s /run/sluice/lock-hook.out; do
		i=$((i + 1))
		[ $i -lt 200 ] || { in_ct journalctl -u sluice --no-pager | tail -n 20;
		    fail "the lock hook did not run under the unit"; }
		sleep 0.05
	done
	grep -q '^locked@deb.test ' <(in_ct cat /run/sluice/lock-hook.out) ||
	    fail "lock hook wrote: $(in_ct cat /run/sluice/lock-hook.out)"
	pass "lock_command ran under the unit (posix_spawn past the syscall filter, no new privileges) and wrote to ReadWritePaths /run/sluice: $(in_ct cat /run/sluice/lock-hook.out)"
	# Postfix's bounce of the accepted message, logged to the container's
	# journal with syslog(3) (logger), as Postfix under systemd logs it
	qid=$(in_ct journalctl -u sluice --no-pager -o cat |
	    sed -n 's/^\([0-9A-F]*\): eom login=locked@deb\.test .*action=accept.*/\1/p' |
	    head -n 1)
	[ -n "$qid" ] || fail "no queue id of the accepted message in the journal"
	in_ct logger -t postfix/local "$qid: to=<l@deb.test>, relay=local, delay=0, dsn=5.1.1, status=bounced (unknown user)"
	in_ct logger -t postfix/smtp "$qid: to=<u@remote.test>, relay=mx.remote.test[192.0.2.1]:25, delay=1, dsn=5.1.1, status=bounced (host said: 550 5.1.1 no such user)"
	i=0
	until in_ct python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:9188/metrics", timeout=10).read().decode())' |
	    grep -q '^sluice_feedback_outcomes_total{outcome="bounced"} 1$'; do
		i=$((i + 1))
		[ $i -lt 100 ] || { in_ct journalctl -u sluice --no-pager | tail -n 20;
		    fail "the bounce in the system journal was not counted"; }
		sleep 0.1
	done
	in_ct python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:9188/metrics", timeout=10).read().decode())' \
	    > "$T/ct-metrics.txt" || fail "the metrics page in the container"
	grep -q '^sluice_feedback_lines_total 1$' "$T/ct-metrics.txt" ||
	    fail "feedback lines: $(grep '^sluice_feedback_lines_total' "$T/ct-metrics.txt")"
	in_ct grep -q '^journal s=' /var/lib/sluice/feedback.state ||
	    fail "no journal cursor in /var/lib/sluice/feedback.state"
	pass "feedback_log journal under the unit (group systemd-journal, its hardening): the postfix/smtp bounce of $qid that logger wrote to the system journal is counted, postfix/local is not read; the cursor is in feedback_state"
	grep -q '^sluice_locks_total 1$' "$T/ct-metrics.txt" || fail "sluice_locks_total is not 1"
	in_ct systemctl reload sluice || fail "systemctl reload sluice"
	i=0
	until in_ct python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:9188/metrics", timeout=10).read().decode())' |
	    grep -q '^sluice_config_reloads_total{result="ok"} 1$'; do
		i=$((i + 1))
		[ $i -lt 100 ] || fail "systemctl reload: no reload counted"
		sleep 0.1
	done
	pass "metrics on 127.0.0.1:9188 (RestrictAddressFamilies lets AF_INET through): sluice_locks_total 1; systemctl reload (SIGUSR1) counted ok"
	in_ct systemctl stop sluice || fail "systemctl stop sluice"
	in_ct test -e /run/sluice && fail "/run/sluice is left after stop"
	pass "systemctl stop sluice: stopped, /run/sluice removed"
	in_ct systemctl poweroff || true
	i=0
	while kill -0 "$CT_NSPAWN" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 300 ] || { kill -TERM "$CT_NSPAWN"; break; }
		sleep 0.1
	done
	wait "$CT_NSPAWN" 2>/dev/null || true
	CT_NSPAWN=""
}

if command -v systemd-nspawn > /dev/null 2>&1 && [ ! -d /run/systemd/system ]; then
	step "the installed unit under a real systemd (systemd-nspawn)"
	under_systemd
else
	echo "# SKIPPED: the unit under a real systemd: no systemd-nspawn (package systemd-container)"
fi

# ------------------------------------------------------------- purge
step "dpkg --purge sluice"
dpkg --purge sluice > "$T/purge.log" 2>&1 || { cat "$T/purge.log"; fail "dpkg --purge sluice"; }
INSTALLED=0
left=""
for f in /etc/sluice /usr/sbin/sluice /usr/sbin/sluicectl /usr/share/sluice \
    /lib/systemd/system/sluice.service /usr/share/doc/sluice "$WANTS" \
    /var/lib/sluice /run/sluice; do
	[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done
[ -z "$left" ] || fail "left after purge:$left"
getent passwd sluice > /dev/null && fail "the user sluice is left after purge"
getent group sluice > /dev/null && fail "the group sluice is left after purge"
dpkg-query -W sluice > /dev/null 2>&1 && fail "dpkg still knows sluice"
pass "purged: no file, no /etc/sluice, no unit symlink, no user or group sluice left"
echo "deb_package: all passed in $(elapsed)s"
