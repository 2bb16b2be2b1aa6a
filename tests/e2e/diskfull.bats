#!/usr/bin/env bats
# A data root filled to 0 bytes by a container: deleting must still work
# (rm -f of the container, then rmi of its image), and free the space.
# The data root is a 64 MiB tmpfs mounted under the suite's temp dir.

load helpers

# every mount under the tmpfs (container rootfs, ...), deepest first, then it
_diskfull_umount()
{
	local m
	[ -n "${DISKFULL_ROOT:-}" ] || return 0
	mapfile -t mounts < <(awk -v pfx="$DISKFULL_ROOT" '$5 == pfx || index($5, pfx "/") == 1 { print $5 }' \
		/proc/self/mountinfo | sort -r)
	for m in "${mounts[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
}

setup_file()
{
	[ "$(id -u)" = 0 ] || skip "needs root (tmpfs)"
	DISKFULL_ROOT=$BATS_FILE_TMPDIR/dataroot
	export DISKFULL_ROOT
	mkdir -p "$DISKFULL_ROOT"
	mount -t tmpfs -o size=64m,mode=0711 tmpfs "$DISKFULL_ROOT"
	berthd_start --data-root "$DISKFULL_ROOT"
	# the helpers' cleanup (cgroups of our containers) looks here
	E2E_DATA=$DISKFULL_ROOT
	export E2E_DATA
}

teardown_file()
{
	berthd_stop
	_diskfull_umount
}

setup()
{
	berthd_ensure
}

# free bytes on the data root
avail() { echo $(($(stat -f -c %a "$DISKFULL_ROOT") * $(stat -f -c %S "$DISKFULL_ROOT"))); }

@test "diskfull: rm -f and rmi work on a data root filled to 0 bytes, and free it" {
	load_busybox
	berth run -d --name filler busybox sh -c 'dd if=/dev/zero of=/big bs=64k; touch /done; sleep 3600'
	# wait until dd hit ENOSPC (bounded number of polls, no time assertion)
	local i
	for ((i = 0; i < 600; i++)); do
		berth exec filler test -e /done 2>/dev/null && break
		[ "$(cstatus filler)" = running ] || fail "filler stopped: $(berth logs filler 2>&1 | tail -3)"
		sleep 0.2
	done
	berth exec filler test -e /done || fail "dd never hit the end of the disk"
	run berth exec filler sh -c 'ls -l /big'
	echo "# $output" >&3
	[ "$(avail)" -lt 65536 ] || fail "data root not full: $(avail) bytes free"

	run berth rm -f filler
	[ "$status" -eq 0 ] || fail "rm -f on a full disk: $output"
	run berth rmi busybox
	[ "$status" -eq 0 ] || fail "rmi on a full disk: $output"
	assert_contains "$output" "Deleted: $BUSYBOX_ID"

	run berth ps -a -q
	[ -z "$output" ] || fail "container still listed: $output"
	[ "$(image_count)" = 0 ] || fail "image still listed"
	# the 64 MiB are back, apart from the daemon's own small files and its reserve
	[ "$(avail)" -gt $((40 * 1024 * 1024)) ] || fail "space not freed: $(avail) bytes free"
	# and the daemon works again: load, run, remove
	load_busybox
	run berth run --rm busybox echo back
	[ "$status" -eq 0 ] && [ "$output" = back ] || fail "run after the cleanup: $output"
}
