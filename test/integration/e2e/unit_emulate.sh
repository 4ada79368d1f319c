#!/bin/sh
# unit_emulate.sh RUNDIR COMMAND... - run COMMAND as the [Service] section
# of contrib/systemd/sluice.service would, where no systemd runs (this test
# machine). Run as root in a mount namespace of its own (unshare --mount
# --propagation private); it refuses otherwise. Emulated:
#
# - ProtectSystem=strict: every mount read-only but /proc, /sys, /dev and
#   ReadWritePaths=/run/sluice;
# - PrivateTmp=yes: an empty /tmp and /var/tmp; ProtectHome=yes: /home,
#   /root and /run/user empty and read-only;
# - RuntimeDirectory=sluice (0750, owned by User=): /run is a tmpfs of
#   this namespace and /run/sluice is RUNDIR (the caller makes it so);
# - User=sluice, Group=sluice (with its supplementary groups),
#   NoNewPrivileges=yes, CapabilityBoundingSet= (none), UMask=0007,
#   LimitNOFILE=65536.
#
# Not emulated (systemd alone applies them): SystemCallFilter,
# RestrictAddressFamilies, MemoryDenyWriteExecute, PrivateDevices, the
# Protect{Kernel*,Clock,Hostname,Proc} settings, RestrictNamespaces,
# RestrictRealtime, LockPersonality.
set -eu
[ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ] || {
	echo "unit_emulate.sh: not in a mount namespace of its own: refusing" >&2
	exit 1
}
RUNDIR=$1
shift

# RuntimeDirectory=sluice: first, while RUNDIR's file system is writable
# (a bind mount takes over the read-only flag of its source mount)
mount -t tmpfs -o mode=0755 unit-run /run
mkdir /run/sluice
mount --bind "$RUNDIR" /run/sluice

# ProtectSystem=strict but ReadWritePaths=/run/sluice (mount points with
# blanks in their names are skipped)
awk '{ print $5 }' /proc/self/mountinfo | sort -u | while read -r mp; do
	case $mp in
	/proc|/proc/*|/sys|/sys/*|/dev|/dev/*|/run/sluice|*\\*) continue ;;
	esac
	mount -o remount,bind,ro "$mp" 2> /dev/null || true
done
if touch /usr/.unit_emulate 2> /dev/null; then
	echo "unit_emulate.sh: / is still writable" >&2
	exit 1
fi
# PrivateTmp, ProtectHome
mount -t tmpfs -o mode=1777 unit-tmp /tmp
mount -t tmpfs -o mode=1777 unit-vartmp /var/tmp
for d in /home /root; do
	if [ -d "$d" ]; then mount -t tmpfs -o ro,mode=0755 unit-home "$d"; fi
done

# (where the hard limit is lower, as in this test sandbox: that limit)
ulimit -n 65536 2> /dev/null || ulimit -n "$(ulimit -Hn)"
umask 0007
exec setpriv --reuid=sluice --regid=sluice --init-groups --no-new-privs \
    --bounding-set=-all --inh-caps=-all -- "$@"
