#!/bin/sh
# nspawn_boot.sh ROOTDIR ETCDIR ARGS... - boot a real systemd in a
# container (systemd-nspawn -b) whose file system is this machine's own,
# read-only (a bind mount of / at ROOTDIR; --volatile=state: /var is a
# tmpfs), with ETCDIR as its /etc/sluice and no network but its own
# loopback. ARGS go to systemd (e.g. systemd.unit=basic.target). Run it in
# a mount namespace of its own (unshare --mount); it refuses otherwise.
set -eu
[ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ] || {
	echo "nspawn_boot.sh: not in a mount namespace of its own: refusing" >&2
	exit 1
}
R=$1 E=$2
shift 2
mount --make-rprivate /
mount --bind / "$R"
mount -o remount,bind,ro "$R"
exec systemd-nspawn -D "$R" --volatile=state --private-network \
    --register=no --keep-unit -q --bind-ro="$E:/etc/sluice" -b "$@"
