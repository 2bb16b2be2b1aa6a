#!/usr/bin/env bats
# overlay2 size limits (docker's rule): --storage-opt size= works where the
# backing filesystem is xfs mounted with project quotas — here an xfs loop
# filesystem made by the suite, mounted with prjquota — and a 20 MB write
# into a 10 MB container fails. On a kernel without XFS quota support the
# filesystem is mounted without it and the refusal is checked instead.

load helpers
load storage_lib

setup_file()
{
	command -v mkfs.xfs >/dev/null || skip "mkfs.xfs not installed"
	# does this kernel mount xfs with project quotas? (a throwaway loop fs)
	local img=$BATS_FILE_TMPDIR/probe.img mnt=$BATS_FILE_TMPDIR/probe loop
	truncate -s 320M "$img" && mkfs.xfs -q -f "$img" && mkdir -p "$mnt"
	loop=$(losetup --find --show "$img")
	XFS_PQUOTA=0
	if mount -oprjquota "$loop" "$mnt" 2>/dev/null; then
		XFS_PQUOTA=1
		umount "$mnt"
	fi
	losetup -d "$loop"
	rm -f "$img"
	export XFS_PQUOTA
	export E2E_STORAGE_DRIVER=overlay2 E2E_DATA_FS=xfs E2E_DATA_FS_QUOTA=$XFS_PQUOTA E2E_DATA_FS_HOOK=storage_fs_hook
	berthd_start
	berth load -i "$E2E_FIXTURES/busybox-docker-archive.tar" >/dev/null
}
teardown_file() { berthd_stop; }
setup() { berthd_ensure; }
teardown() { reset_containers; }

@test "overlay2 on an xfs loop data root" {
	run -0 berth info --format '{{.Driver}} {{json .DriverStatus}}'
	[[ "$output" == "overlay2 "*'"Backing Filesystem","xfs"'* ]]
}

@test "overlay2 on xfs with pquota: --storage-opt size=10M stops a 20 MB write" {
	[ "$XFS_PQUOTA" = 1 ] || skip "this kernel has no XFS quota support"
	run berth run --rm --storage-opt size=10M busybox sh -c 'dd if=/dev/zero of=/big bs=1M count=20 && sync && echo wrote-all'
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" != *wrote-all* ]]
	[[ "$output" == *"quota exceeded"* || "$output" == *"No space left"* ]]
	run -0 berth run --rm busybox sh -c 'dd if=/dev/zero of=/big bs=1M count=20 2>/dev/null && echo wrote-all'
	[ "$output" = wrote-all ]
}

@test "overlay2 on xfs without pquota: --storage-opt refused with docker's message" {
	[ "$XFS_PQUOTA" = 0 ] || skip "the data root is mounted with pquota"
	run berth run --rm --storage-opt size=10M busybox true
	[ "$status" -ne 0 ]
	[[ "$output" == *"--storage-opt is supported only for overlay over xfs with 'pquota' mount option"* ]]
	[ "$(berth ps -aq | wc -l)" = 0 ]
}
