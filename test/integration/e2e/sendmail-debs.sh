#!/bin/sh
# sendmail-debs.sh CACHE - Debian's Sendmail, unpacked (never installed:
# Debian will not install it beside Postfix, both being the system's
# mail-transport-agent) into CACHE/<version>/root, downloaded once with
# "apt-get download" and reused while that version stays current. Prints
# the root directory: sendmail is ROOT/usr/libexec/sendmail/sendmail,
# the m4 configuration kit ROOT/usr/share/sendmail/cf. Its libraries are
# installed by scripts/deps.sh.
set -eu
cache=$1
PKGS="sendmail-bin sendmail-base sendmail-cf"

candidate() {
	apt-cache policy sendmail-bin 2>/dev/null |
	    sed -n 's/^ *Candidate: *//p' | tr -c 'A-Za-z0-9.+~\n-' _
}
ver=$(candidate)
if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
	# no package lists yet (a fresh machine whose deps.sh had nothing to do)
	apt-get update -qq >&2
	ver=$(candidate)
fi
[ -n "$ver" ] && [ "$ver" != "_none_" ] ||
    { echo "sendmail-debs: no sendmail-bin package known to apt" >&2; exit 1; }
dir=$cache/$ver
sm=$dir/root/usr/libexec/sendmail/sendmail
if [ -x "$sm" ] && [ -f "$dir/root/usr/share/sendmail/cf/m4/cf.m4" ]; then
	echo "$dir/root"
	exit 0
fi

rm -rf "$dir.tmp"
mkdir -p "$dir.tmp/debs"
(
	cd "$dir.tmp/debs"
	# shellcheck disable=SC2086
	apt-get download -qq -o APT::Sandbox::User=root $PKGS >&2 || {
		apt-get update -qq >&2
		apt-get download -qq -o APT::Sandbox::User=root $PKGS >&2
	}
)
for deb in "$dir.tmp"/debs/*.deb; do
	dpkg-deb -x "$deb" "$dir.tmp/root"
done
# the binary is set-group-id "mail" in the package: not wanted here (the
# test runs it as root; a set-gid binary also loses its environment)
chmod 0755 "$dir.tmp/root/usr/libexec/sendmail/sendmail"
[ -x "$dir.tmp/root/usr/libexec/sendmail/sendmail" ] ||
    { echo "sendmail-debs: no sendmail binary in the packages" >&2; exit 1; }
rm -rf "$dir"
mv "$dir.tmp" "$dir"
echo "$dir/root"
