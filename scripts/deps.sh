#!/bin/sh
# deps.sh - install the Debian packages sluice needs to build, run and test,
# when any is missing. Used by run.sh and test.sh; safe to run again.
set -eu

PKGS="build-essential cmake pkg-config libmilter-dev libhiredis-dev
libsodium-dev libcmocka-dev redis-server redis-tools miltertest python3"

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
# the redis-server package must not grab port 6379 with a service of its own
# where a policy-rc.d says no; the tests start their own on free ports.
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
