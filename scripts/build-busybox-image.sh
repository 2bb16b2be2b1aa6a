#!/usr/bin/env bash
# Build the bundled busybox root filesystem tarball from Debian's busybox-static.
#
#   scripts/build-busybox-image.sh OUTPUT.tar [BUSYBOX_BINARY]
#
# The result is byte-reproducible (GNU tar, sorted names, fixed mtime, numeric
# root ownership) and, with Debian 12's busybox-static 1:1.35.0-4+deb12u1+b1,
# identical to ../shared/fixtures/images/busybox-rootfs.tar:
#   /bin/busybox, one symlink per applet (busybox --list-full) to /bin/busybox,
#   /etc/{passwd,group,hostname}, empty /etc/hosts and /etc/resolv.conf,
#   /tmp and /var/tmp (1777), /root (0700), /home, and /proc /sys /dev mount points.
# Import it with:  berth import -c 'CMD ["/bin/sh"]' OUTPUT.tar busybox:latest
set -euo pipefail

out=${1:?usage: $0 OUTPUT.tar [BUSYBOX_BINARY]}
busybox=${2:-/bin/busybox}
mtime='2024-01-01 00:00:00Z'

if [ ! -x "$busybox" ]; then
	echo "build-busybox-image: $busybox not found (apt-get install busybox-static)" >&2
	exit 1
fi
if ! file_out=$(LC_ALL=C od -An -c -N4 "$busybox" | tr -d ' ') || [ "$file_out" != '177ELF' ]; then
	echo "build-busybox-image: $busybox is not an ELF binary" >&2
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/berth-busybox.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
umask 022
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,home,root,tmp,var/tmp}
chmod 0700 "$root/root"
chmod 1777 "$root/tmp" "$root/var/tmp"

install -m 0755 "$busybox" "$root/bin/busybox"
# --list-full prints paths relative to / (bin/ls, usr/bin/env, linuxrc, ...).
"$busybox" --list-full | while IFS= read -r applet; do
	[ -n "$applet" ] || continue
	[ "$applet" = bin/busybox ] && continue
	case $applet in /* | *..*) continue ;; esac
	mkdir -p "$root/$(dirname "$applet")"
	ln -sfn /bin/busybox "$root/$applet"
done

printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
printf 'anchor\n' >"$root/etc/hostname"
: >"$root/etc/hosts"
: >"$root/etc/resolv.conf"
chmod 0644 "$root"/etc/*

tmp_out=$out.tmp.$$
tar --sort=name --mtime="$mtime" --owner=0 --group=0 --numeric-owner --format=gnu \
	-C "$root" -cf "$tmp_out" .
mv -f "$tmp_out" "$out"
