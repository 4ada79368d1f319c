#!/bin/sh
# deps.sh - install the Debian packages sluice needs to build, run and test,
# when any is missing. Used by run.sh and test.sh; safe to run again.
set -eu

# build, unit and integration tests
PKGS="build-essential cmake pkg-config libmilter-dev libhiredis-dev
libsodium-dev libcmocka-dev libmicrohttpd-dev redis-server redis-tools miltertest python3"
# the feedback reader's journal source (sd-journal), and real journal files
# written from Export Format text for its test (feedback_journal.sh)
PKGS="$PKGS libsystemd-dev systemd-journal-remote"
# fuzzing (test/fuzz/run.sh): clang and its libFuzzer runtime, which
# clang-14 only recommends
PKGS="$PKGS clang libclang-rt-14-dev"
# the daemon under memcheck in a few integration tests (test.sh)
PKGS="$PKGS valgrind"
# end-to-end tests (test/integration/e2e_*.sh, doc/e2e.md): a real Postfix
# (the system MTA package, never configured: each test runs its own instance
# from a private config directory) with Cyrus SASL; Sendmail cannot be
# installed beside Postfix, so its debs are unpacked by the test itself and
# only its libraries and m4 are installed here.
PKGS="$PKGS postfix sasl2-bin libsasl2-modules m4 liblockfile1 libwrap0
libdb5.3 libldap-2.5-0 libnsl2 libssl3"
# the Debian package (test/integration/deb_package.sh: dpkg-buildpackage,
# lintian; systemd-nspawn boots a real systemd for its unit) and the
# Prometheus rules and page (ops_contrib.sh: promtool)
PKGS="$PKGS debhelper fakeroot lintian systemd-container prometheus"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps.sh: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 || {
		echo "deps.sh: need root (or sudo) to install:$missing" >&2
		exit 1
	}
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# Postfix installed as "No configuration": no /etc/postfix/main.cf, no
# system instance started; the tests never use /etc/postfix.
echo "postfix postfix/main_mailer_type select No configuration" |
    $SUDO debconf-set-selections
# the redis-server package must not grab port 6379 with a service of its own
# where a policy-rc.d says no; the tests start their own on free ports.
log=$(mktemp "${TMPDIR:-/tmp}/deps.XXXXXX")
# shellcheck disable=SC2086
if ! { $SUDO apt-get update -qq &&
    $SUDO env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        $missing; } > "$log" 2>&1; then
	cat "$log" >&2
	rm -f "$log"
	echo "deps.sh: apt-get failed" >&2
	exit 1
fi
rm -f "$log"
