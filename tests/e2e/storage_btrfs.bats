#!/usr/bin/env bats
# The image-and-container suite (tests/e2e/storage_lib.bash) on btrfs on a btrfs loop filesystem made by the suite.

load helpers
load storage_lib

setup_file()
{
	export E2E_STORAGE_DRIVER=btrfs E2E_DATA_FS=btrfs E2E_DATA_FS_HOOK=storage_fs_hook
	command -v mkfs.btrfs >/dev/null || skip "mkfs.btrfs not installed"
	st_body_setup_file
}

teardown_file() { berthd_stop; }
setup() { berthd_ensure; }
teardown() { st_body_teardown; }

@test "[btrfs] the daemon runs the btrfs driver" { st_body_driver; }
@test "[btrfs] load and run" { st_body_load_run; }
@test "[btrfs] diff, export, cp and commit (with an AUFS whiteout saved byte for byte)" { st_body_commit_diff_export_cp; }
@test "[btrfs] opaque directory and file whiteouts apply" { st_body_opaque_whiteout; }
@test "[btrfs] --storage-opt refused with docker's message where unsupported" { st_body_storage_opt_refused; }
@test "[btrfs] removing every container and image leaves no layer" { st_body_rm_all_leaves_nothing; }
@test "[btrfs] bad daemon storage-opts stop the daemon with docker's message" { st_body_daemon_opts_refused; }

# ---- btrfs only ----

subvols() { btrfs subvolume list -o "$E2E_DATA/btrfs/subvolumes" 2>/dev/null | awk '{print $NF}'; }
snapshots() { btrfs subvolume list -s "$E2E_DATA" 2>/dev/null | awk '{print $NF}'; }

@test "[btrfs] info shows docker's DriverStatus" {
	run -0 berth info --format '{{json .DriverStatus}}'
	[[ "$output" == *'["Build Version","Btrfs v'* ]]
	[[ "$output" == *'["Library Version","'* ]]
	# the btrfs-progs of this host, as docker built against them reports
	local progs
	progs=$(btrfs --version | awk '{print $2}')
	[[ "$output" == *"\"Btrfs ${progs}\""* ]]
}

@test "[btrfs] each layer is a subvolume, the container's layer a snapshot; rm removes nested subvolumes" {
	local hex=${BUSYBOX_DIFF_ID#sha256:}
	run -0 subvols
	grep -q "btrfs/subvolumes/$hex\$" <<<"$output"
	run -0 berth create --name st-snap busybox true
	local id
	id=$(berth inspect -f '{{.Id}}' st-snap)
	run -0 snapshots
	grep -q "btrfs/subvolumes/$id\$" <<<"$output"
	grep -q "btrfs/subvolumes/$id-init\$" <<<"$output"
	# a subvolume made inside the container's layer goes with it
	run -0 btrfs subvolume create "$E2E_DATA/btrfs/subvolumes/$id/nested"
	run -0 berth rm st-snap
	run -0 subvols
	! grep -q "$id" <<<"$output"
}

@test "[btrfs] removing everything leaves no subvolume" {
	run -0 berth run --name st-x busybox sh -c 'echo x >/x'
	run -0 berth commit st-x st-x:1
	run -0 berth rm -f st-x
	run -0 berth rmi -f st-x:1 busybox
	run -0 btrfs subvolume list "$E2E_DATA"
	[ -z "$output" ]
	berth load -i "$E2E_FIXTURES/busybox-docker-archive.tar" >/dev/null
}

@test "[btrfs] berthd picks btrfs by itself on a btrfs data root" {
	st_daemon2_start auto
	run -0 curl -sf --unix-socket "$D2_SOCK" http://localhost/info
	[ "$(jq -r .Driver <<<"$output")" = btrfs ]
}

@test "[btrfs] a data root that is not btrfs gets docker's error" {
	local d=$BATS_TEST_TMPDIR/notbtrfs
	mkdir -p "$d/data" "$d/exec"
	run timeout 60 "$BERTHD" -H "unix://$d/s.sock" --data-root "$d/data" --exec-root "$d/exec" \
		--pidfile "$d/p.pid" --storage-driver btrfs --bridge=none --iptables=false
	[ "$status" -ne 0 ]
	[[ "$output" == *"prerequisites for driver not satisfied (wrong filesystem?)"* ]]
}

@test "[btrfs] with quotas on, --storage-opt size=10M stops a 20 MB write" {
	run -0 btrfs quota enable "$E2E_DATA"
	run berth run --rm --storage-opt size=10M busybox sh -c 'dd if=/dev/zero of=/big bs=1M count=20 && sync && echo wrote-all'
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" != *wrote-all* ]]
	[[ "$output" == *"quota exceeded"* || "$output" == *"No space left"* ]]
	# without the limit the same write works
	run -0 berth run --rm busybox sh -c 'dd if=/dev/zero of=/big bs=1M count=20 2>/dev/null && echo wrote-all'
	[ "$output" = wrote-all ]
}

@test "[btrfs] btrfs.min_space: a smaller --storage-opt size= is refused with docker's message" {
	st_daemon2_start minspace --storage-driver btrfs --storage-opt btrfs.min_space=20M
	run -0 berth -H "unix://$D2_SOCK" load -i "$E2E_FIXTURES/busybox-docker-archive.tar"
	run berth -H "unix://$D2_SOCK" create --storage-opt size=10M busybox true
	[ "$status" -ne 0 ]
	[[ "$output" == *"btrfs: storage size cannot be less than 20.97MB"* ]]
	run berth -H "unix://$D2_SOCK" create --storage-opt size=0 busybox true
	[[ "$output" == *"btrfs: invalid storage size: 0B"* ]]
	run -0 berth -H "unix://$D2_SOCK" ps -aq
	[ -z "$output" ]
}
