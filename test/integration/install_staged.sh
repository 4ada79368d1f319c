#!/bin/bash
# install_staged.sh - "cmake --install" of this build into a staging
# directory (DESTDIR, prefix /usr), as a package build would: every file
# the README and the systemd unit rely on is in place, the installed
# binary runs (-V, and -n on the installed sample configuration), the man
# pages render without a groff warning, the unit runs as its own user
# with its hardening, and a second install keeps an administrator's
# /etc/sluice/sluice.conf.
. "$(dirname "$0")/lib.sh"
: "${SLUICE_BUILD:?SLUICE_BUILD must name the build directory}"

R=$T/root
DESTDIR=$R cmake --install "$SLUICE_BUILD" --prefix /usr > "$T/install.log" 2>&1 ||
    { cat "$T/install.log"; fail "cmake --install failed"; }
pass "cmake --install --prefix /usr with DESTDIR=\$T/root"

expect_file() {
	[ -f "$R/$1" ] || { find "$R" -type f | sort; fail "not installed: /$1"; }
}
for f in usr/sbin/sluice etc/sluice/sluice.conf etc/sluice/classes \
    usr/share/man/man8/sluice.8 usr/share/man/man5/sluice.conf.5 \
    usr/lib/systemd/system/sluice.service usr/share/sluice/sluice.conf \
    usr/share/sluice/classes usr/share/sluice/postfix/main.cf \
    usr/share/sluice/postfix/master.cf usr/share/sluice/sendmail/sluice.m4 \
    usr/share/sluice/redis/redis.conf usr/share/sluice/redis/users.acl; do
	expect_file "$f"
done
[ -x "$R/usr/sbin/sluice" ] || fail "/usr/sbin/sluice is not executable"
pass "installed: /usr/sbin/sluice, /etc/sluice/{sluice.conf,classes}, sluice(8), sluice.conf(5), the systemd unit, share/sluice/{postfix,sendmail,redis}"
# sluicectl, once the build has it
if [ -x "$SLUICE_BUILD/sluicectl" ]; then
	[ -x "$R/usr/bin/sluicectl" ] || [ -x "$R/usr/sbin/sluicectl" ] ||
	    fail "the build has sluicectl, the installation does not"
	pass "installed: sluicectl"
fi
cmp -s "$R/etc/sluice/sluice.conf" "$SLUICE_SRC/contrib/sluice.conf" ||
    fail "/etc/sluice/sluice.conf is not contrib/sluice.conf"
[ "$(stat -c %a "$R/etc/sluice/sluice.conf")" = 644 ] ||
    fail "/etc/sluice/sluice.conf mode $(stat -c %a "$R/etc/sluice/sluice.conf")"

# the installed binary, once
v=$("$R/usr/sbin/sluice" -V 2>&1) || fail "installed sluice -V: $v"
case $v in "sluice "[0-9]*) ;; *) fail "installed sluice -V printed: $v" ;; esac
pass "the installed binary runs: $v"
out=$("$R/usr/sbin/sluice" -n -c "$R/etc/sluice/sluice.conf" 2>&1) ||
    fail "the installed sample configuration does not pass sluice -n: $out"
pass "sluice -n -c /etc/sluice/sluice.conf (installed sample): $out"

# the man pages render without a warning
for m in "$R"/usr/share/man/man*/*; do
	w=$(groff -man -Tutf8 -ww -z "$m" 2>&1)
	[ -z "$w" ] || fail "groff warns on $(basename "$m"): $w"
	man -l "$m" > /dev/null 2> "$T/man.err" && [ ! -s "$T/man.err" ] ||
	    { cat "$T/man.err"; fail "man -l $(basename "$m")"; }
	pass "man -l $(basename "$m") renders, groff -ww: no warning"
done

# the unit: its own user, the installed paths, hardening
U=$R/usr/lib/systemd/system/sluice.service
for l in User=sluice Group=sluice RuntimeDirectory=sluice \
    'ExecStart=/usr/sbin/sluice -f -c /etc/sluice/sluice.conf' \
    NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
    CapabilityBoundingSet= SystemCallFilter=@system-service; do
	grep -qx -- "$l" "$U" || fail "the unit lacks $l"
done
pass "the unit runs /usr/sbin/sluice as User=sluice with NoNewPrivileges, ProtectSystem=strict, no capabilities, a syscall filter"
if systemd-analyze security --offline=yes "$U" > "$T/security.out" 2>&1; then
	score=$(sed -n 's/.*Overall exposure level for sluice.service: \([0-9.]*\).*/\1/p' \
	    "$T/security.out")
	[ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' ||
	    { cat "$T/security.out"; fail "systemd-analyze security: exposure $score > 2.5"; }
	pass "systemd-analyze security --offline: exposure $score"
fi

# a second install keeps the administrator's configuration
echo "# the administrator's" >> "$R/etc/sluice/sluice.conf"
cp "$R/etc/sluice/sluice.conf" "$T/admin.conf"
DESTDIR=$R cmake --install "$SLUICE_BUILD" --prefix /usr > "$T/install2.log" 2>&1 ||
    { cat "$T/install2.log"; fail "second cmake --install failed"; }
cmp -s "$R/etc/sluice/sluice.conf" "$T/admin.conf" ||
    fail "a second install overwrote /etc/sluice/sluice.conf"
grep -q 'Keeping: .*/etc/sluice/sluice.conf' "$T/install2.log" ||
    fail "the second install does not say it kept sluice.conf"
pass "a second install keeps /etc/sluice/sluice.conf (the sample stays in /usr/share/sluice)"
echo "install_staged: all passed"
