# shellcheck shell=bash
# mta.sh - a real MTA on loopback, sourced after ../lib.sh (which gives
# $T, $SLUICE_SRC, fail, cleanup): Postfix or Sendmail (Debian's) in a
# sandbox (sandbox.sh), smtp-sink as the destination of every message it
# relays, Cyrus SASL logins in a private sasldb. Shared by the e2e tests
# (lib_e2e.sh adds their scenarios) and bench/run --mta (bench/mta.sh).
# Loopback only. See doc/e2e.md.
#
#   postfix_setup; postfix_submission PORT [-o OPTION...]...; postfix_start PORT...
#   sendmail_setup; (write $S/daemons.m4); sendmail_start PORT...

E2E=$SLUICE_SRC/test/integration/e2e
# the test's own processes that lib.sh's cleanup does not know how to stop
SANDBOXES=""
E2E_T0=$(date +%s)

# the packages (scripts/deps.sh installs only what is missing; quiet then)
sh "$SLUICE_SRC/scripts/deps.sh" >&2 ||
    fail "scripts/deps.sh could not install the e2e packages"
for tool in unshare smtp-sink saslpasswd2 m4 python3 redis-cli; do
	command -v "$tool" > /dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] ||
	    fail "$tool not found (scripts/deps.sh should install it)"
done
PATH=$PATH:/usr/sbin:/sbin
[ "$(id -u)" = 0 ] || fail "the e2e tests run the MTA as root (namespaces, ports)"

# the MTA's unprivileged processes (postfix, nobody) read files under $T
chmod 0711 "$T"

e2e_cleanup() {
	for u in $SANDBOXES; do
		sandbox_stop "$u" || true
	done
	# only processes of this test still running: PIDs wrap quickly on a
	# busy machine (pid_max 32768 here: about every 25 minutes), and the
	# pid of a daemon that already exited may now be someone else's
	live=$(cat /proc/$$/task/*/children 2>/dev/null | tr ' ' '\n')
	keep=""
	for p in $PIDS; do
		echo "$live" | grep -qx "$p" && keep="$keep $p"
	done
	PIDS=$keep
	cleanup
}
trap e2e_cleanup EXIT

# elapsed - seconds since the test started
elapsed() {
	echo $(($(date +%s) - E2E_T0))
}

# step MSG - a heading in the test's output
step() {
	echo "# [$(elapsed)s] $*"
}

# wait_port PORT WHAT [TRIES] - until something accepts on 127.0.0.1:PORT
wait_port() {
	i=0
	while ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt "${3:-200}" ] || fail "$2 is not listening on 127.0.0.1:$1"
		sleep 0.05
	done
}

# sandbox_start NAME COMMAND... - run an MTA in the foreground in a
# sandbox (e2e/sandbox.sh) with state in $T/NAME; its syslog goes to
# $T/NAME.syslog.log. Sets SANDBOX_PID (the unshare process).
sandbox_start() {
	name=$1
	shift
	mkdir -p "$T/$name"
	sh "$E2E/sandbox.sh" "$T/$name" relay.e2e.test "$@" \
	    > "$T/$name.sandbox.log" 2>&1 &
	SANDBOX_PID=$!
	SANDBOXES="$SANDBOXES $SANDBOX_PID"
	ln -sf "$name/syslog" "$T/$name.syslog.log"
}

# sandbox_stop PID - SIGTERM to the sandbox's PID 1 (unshare ignores it),
# wait up to 20 s, then SIGKILL unshare (its child then gets SIGTERM and
# the kernel ends the namespace).
sandbox_stop() {
	u=$1
	kill -0 "$u" 2>/dev/null || { wait "$u" 2>/dev/null || true; return 0; }
	for c in $(cat "/proc/$u/task/$u/children" 2>/dev/null); do
		kill -TERM "$c" 2>/dev/null || true
	done
	i=0
	while kill -0 "$u" 2>/dev/null && [ $i -lt 400 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	if kill -0 "$u" 2>/dev/null; then
		echo "sandbox $u did not stop on SIGTERM in 20 s: SIGKILL" >&2
		kill -KILL "$u" 2>/dev/null || true
	fi
	wait "$u" 2>/dev/null || true
	SANDBOXES=$(echo "$SANDBOXES" | tr ' ' '\n' | grep -vx "$u" | tr '\n' ' ')
}

# in_sandbox UNSHARE-PID COMMAND... - run COMMAND inside that sandbox's
# namespaces (its /etc, its host name, its pids): an MTA's own commands
# (mailq, postsuper) see what the MTA sees and never ask DNS
in_sandbox() {
	u=$1
	shift
	c=$(cut -d' ' -f1 "/proc/$u/task/$u/children")
	[ -n "$c" ] || fail "sandbox $u has no process inside"
	nsenter -t "$c" -m -u -p -- "$@"
}

# sink_start - smtp-sink on a free loopback port, as the destination of
# everything the MTA relays: one file per delivery in $T/sink/ (headers
# X-Mail-Args, X-Rcpt-Args, then the message; none with SINK_FILES=0).
# Sets SINK_PORT.
sink_start() {
	mkdir -p "$T/sink"
	chown nobody "$T/sink"
	for try in 1 2 3 4 5; do
		SINK_PORT=$(free_port)
		if [ "${SINK_FILES:-1}" = 0 ]; then
			set -- -u nobody -h sink.e2e.test
		else
			set -- -u nobody -h sink.e2e.test -d "$T/sink/m."
		fi
		smtp-sink "$@" "127.0.0.1:$SINK_PORT" 256 >> "$T/sink.log" 2>&1 &
		SINK_PID=$!
		PIDS="$PIDS $SINK_PID"
		i=0
		while [ $i -lt 100 ]; do
			if (exec 3<>"/dev/tcp/127.0.0.1/$SINK_PORT") 2>/dev/null
			then
				return 0
			fi
			kill -0 "$SINK_PID" 2>/dev/null || break
			sleep 0.05
			i=$((i + 1))
		done
	done
	fail "smtp-sink did not start"
}

# sink_ids - the Message-IDs the sink received, one per delivery, sorted
sink_ids() {
	find "$T/sink" -type f -name 'm.*' -exec \
	    sed -n 's/^Message-I[Dd]:[[:space:]]*//p' {} + 2>/dev/null | sort
}

# sink_file MSGID - the sink's file(s) holding MSGID (none: empty, status 0)
sink_file() {
	grep -lF "Message-ID: $1" "$T"/sink/m.* 2>/dev/null || true
}

# postfix_services - the internal services of Debian's master.cf, none
# chrooted (a test's Postfix adds its own smtpd listeners)
postfix_services() {
	cat <<'EOF'
pickup    unix  n       -       n       60      1       pickup
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

# sasldb USER... - $T/sasldb2 with each USER (login@domain), password
# "pw-LOGIN"; owned by root:$SASLDB_GROUP (default root), mode
# $SASLDB_MODE (default 0640)
sasldb() {
	for u in "$@"; do
		printf '%s' "pw-$u" | saslpasswd2 -f "$T/sasldb2" -c -p \
		    -u "${u#*@}" "${u%@*}" || fail "saslpasswd2 $u"
	done
	chgrp "${SASLDB_GROUP:-root}" "$T/sasldb2"
	chmod "${SASLDB_MODE:-0640}" "$T/sasldb2"
}

# postfix_setup - a throw-away Postfix in $P (set it; SINK_PORT too):
# $P/etc/main.cf (loopback only, queue and data under $P, log in
# $T/postfix.log, every message relayed to smtp-sink, Cyrus SASL with
# $T/sasldb2, a self-signed certificate for STARTTLS) followed by
# contrib/postfix/main.cf as it is (or the file PF_MAIN_CF names: a
# package's); $P/etc/master.cf with the internal services, none
# chrooted. The caller adds its listeners (its own lines,
# postfix_submission) and milters (postconf -c "$P/etc" -e ...), then
# calls postfix_start.
postfix_setup() {
	mkdir -p "$P/etc/sasl" "$P/spool" "$P/data"
	chown postfix "$P/data"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -days 2 -subj /CN=relay.e2e.test -keyout "$P/etc/key.pem" \
	    -out "$P/etc/cert.pem" > "$T/openssl.out" 2>&1 ||
	    { cat "$T/openssl.out"; fail "openssl req"; }
	chmod 0600 "$P/etc/key.pem"
	cat > "$P/etc/main.cf" <<PFEOF
# a throw-away Postfix on loopback (test/integration/e2e/mta.sh)
compatibility_level = 3.6
queue_directory = $P/spool
data_directory = $P/data
maillog_file = $T/postfix.log
maillog_file_prefixes = $T
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = relay.e2e.test
mydomain = e2e.test
myorigin = \$myhostname
# inbound: mail for the local users, which (to be counted at the sink)
# is also handed to smtp-sink
mydestination = local.e2e.test
local_recipient_maps =
local_transport = smtp:[127.0.0.1]:$SINK_PORT
alias_maps =
alias_database =
mynetworks =
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
# outbound: everything to smtp-sink
relayhost = [127.0.0.1]:$SINK_PORT
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtp_tls_security_level = none
smtpd_tls_cert_file = $P/etc/cert.pem
smtpd_tls_key_file = $P/etc/key.pem
# SASL: Cyrus, $P/etc/sasl/smtpd.conf (where Debian's Postfix looks: its
# config_directory/sasl), a private sasldb
smtpd_sasl_type = cyrus
cyrus_sasl_config_path = $P/etc/sasl
smtpd_sasl_path = smtpd
# a test sends fast: no flow control pauses, no tarpit after errors
in_flow_delay = 0
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
biff = no
PFEOF
	{
		echo
		echo "# ---- ${PF_MAIN_CF:-contrib/postfix/main.cf}"
		cat "${PF_MAIN_CF:-$SLUICE_SRC/contrib/postfix/main.cf}"
	} >> "$P/etc/main.cf"
	postfix_services > "$P/etc/master.cf"
	cat > "$P/etc/sasl/smtpd.conf" <<PFEOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $T/sasldb2
PFEOF
}

# postfix_submission PORT [OPTION...] - contrib/postfix/master.cf's (or
# PF_MASTER_CF's) submission service on 127.0.0.1:PORT, appended to
# $P/etc/master.cf, with "-o OPTION" for each OPTION (e.g.
# smtpd_milters=unix:/path)
postfix_submission() {
	port=$1
	shift
	{
		echo "# ---- ${PF_MASTER_CF:-contrib/postfix/master.cf} on 127.0.0.1:$port"
		sed "s/^submission\([[:space:]]\)/127.0.0.1:$port\1/" \
		    "${PF_MASTER_CF:-$SLUICE_SRC/contrib/postfix/master.cf}"
		for o in "$@"; do
			echo "  -o $o"
		done
	} >> "$P/etc/master.cf"
	grep -q "^127.0.0.1:$port" "$P/etc/master.cf" ||
	    fail "no submission service in contrib/postfix/master.cf"
}

# postfix_start PORT... - postfix check, then Postfix in a sandbox (sets
# PF_SANDBOX); waits until each PORT accepts. With PF_SLUICE_DIR, that
# directory is /run/sluice in the sandbox (e2e/sandbox.sh); PF_BEFORE is
# a command run in the sandbox before Postfix starts (e.g. usermod).
postfix_start() {
	postconf -c "$P/etc" -F '*/*/chroot = n' || fail "postconf -F chroot"
	postfix -c "$P/etc" check > "$T/postfix-check.out" 2>&1 ||
	    { cat "$T/postfix-check.out" "$T/postfix.log" 2>/dev/null;
	      fail "postfix check"; }
	# checked just now: "postfix start" need not check again
	touch "$P/spool/quick-start"
	# stopped from inside the sandbox: "postfix stop" from here would
	# signal a pid of the namespace in the machine's pid space
	export SANDBOX_STOP="postfix -c $P/etc stop"
	if [ -n "${PF_SLUICE_DIR:-}" ]; then
		export SANDBOX_SLUICE_DIR="$PF_SLUICE_DIR"
	fi
	if [ -n "${PF_BEFORE:-}" ]; then
		sandbox_start pf sh -c \
		    "$PF_BEFORE && exec postfix -c $P/etc start-fg"
	else
		sandbox_start pf postfix -c "$P/etc" start-fg
	fi
	unset SANDBOX_STOP SANDBOX_SLUICE_DIR
	PF_SANDBOX=$SANDBOX_PID
	for port in "$@"; do
		wait_port "$port" "Postfix (127.0.0.1:$port)" 300
	done
}

# postfix_queue_empty - Postfix's queue holds no message (held mail aside)
postfix_queue_empty() {
	[ -z "$(find "$P/spool/incoming" "$P/spool/active" \
	    "$P/spool/deferred" -type f 2>/dev/null)" ]
}

# sendmail_setup - Debian's Sendmail unpacked (sendmail-debs.sh; sets
# SENDMAIL) and a configuration in $S (set it; SINK_PORT, IN_PORT too):
# queue, service switch, Cyrus SASL's Sendmail.conf for the sandbox's
# /etc, contrib/sendmail/sluice.m4 copied to $S/sluice.m4. The caller
# writes $S/daemons.m4 (its DAEMON_OPTIONS and milters: e.g.
# include(`$S/sluice.m4')), then calls sendmail_start, which makes
# sendmail.cf from e2e/sendmail.mc.in with m4.
sendmail_setup() {
	SM_ROOT=$(sh "$E2E/sendmail-debs.sh" "${SLUICE_E2E_CACHE:-$(dirname "$SLUICE")/e2e-cache}") ||
	    fail "could not download and unpack Debian's sendmail packages"
	SENDMAIL=$SM_ROOT/usr/libexec/sendmail/sendmail
	mkdir -p "$S/mqueue" "$S/sandbox-etc/sasl2" "$S/sandbox-etc/mail"
	chmod 0700 "$S/mqueue"
	printf 'hosts\tfiles\naliases\tfiles\n' > "$S/service.switch"
	cp "$S/service.switch" "$S/sandbox-etc/mail/service.switch"
	: > "$S/helpfile"
	cat > "$S/sandbox-etc/sasl2/Sendmail.conf" <<SMEOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $T/sasldb2
SMEOF
	cp "$SLUICE_SRC/contrib/sendmail/sluice.m4" "$S/sluice.m4"
}

# sendmail_start DIR PORT... - sendmail.cf by m4, then "sendmail -bD" in a
# sandbox where DIR (the milters' unix sockets) is /run/sluice (sets
# SM_SANDBOX); waits until each PORT accepts
sendmail_start() {
	dir=$1
	shift
	cf=$SM_ROOT/usr/share/sendmail/cf
	sed -e "s|@D@|$S|g" -e "s|@SINK_PORT@|$SINK_PORT|g" \
	    "$E2E/sendmail.mc.in" > "$S/sendmail.mc"
	m4 -D_CF_DIR_="$cf/" "$cf/m4/cf.m4" "$S/sendmail.mc" > "$S/sendmail.cf" \
	    2> "$T/m4.out" || { cat "$T/m4.out"; fail "m4 sendmail.mc"; }
	export SANDBOX_SLUICE_DIR="$dir"
	sandbox_start sm "$SENDMAIL" -bD -C "$S/sendmail.cf"
	unset SANDBOX_SLUICE_DIR
	SM_SANDBOX=$SANDBOX_PID
	for port in "$@"; do
		wait_port "$port" "Sendmail (127.0.0.1:$port)" 300
	done
}

# sendmail_queue_empty - Sendmail's queue is empty (quarantined messages,
# hf + df files, aside)
sendmail_queue_empty() {
	[ -z "$(find "$S/mqueue" -type f -name '[qtx]f*' 2>/dev/null)" ]
}
