#!/usr/bin/env bats
# The image-and-container suite (tests/e2e/storage_lib.bash) on overlay2.

load helpers
load storage_lib

setup_file()
{
	export E2E_STORAGE_DRIVER=overlay2
	st_body_setup_file
}

teardown_file() { berthd_stop; }
setup() { berthd_ensure; }
teardown() { st_body_teardown; }

@test "[overlay2] the daemon runs the overlay2 driver" { st_body_driver; }
@test "[overlay2] load and run" { st_body_load_run; }
@test "[overlay2] diff, export, cp and commit (with an AUFS whiteout saved byte for byte)" { st_body_commit_diff_export_cp; }
@test "[overlay2] opaque directory and file whiteouts apply" { st_body_opaque_whiteout; }
@test "[overlay2] --storage-opt refused with docker's message where unsupported" { st_body_storage_opt_refused; }
@test "[overlay2] bad daemon storage-opts stop the daemon with docker's message" { st_body_daemon_opts_refused; }
@test "[overlay2] removing every container and image leaves no layer" { st_body_rm_all_leaves_nothing; }

# berthd does not stat every l/ link at start: a link lost in a crash (or
# left half-made / dangling) is repaired by the first mount that misses it.
@test "[overlay2] l/ links lost in a crash are repaired on first use" {
	run -0 berth run --rm busybox true
	local base="" d
	for d in "$E2E_DATA"/overlay2/*/; do
		[ -f "$d/link" ] && [ ! -e "$d/lower" ] && [ ! -d "$d/work" ] && base=${d%/} && break
	done
	[ -n "$base" ] || fail "no base layer in $(ls "$E2E_DATA/overlay2")"
	local link
	link=$(cat "$base/link")
	berthd_kill9
	rm "$E2E_DATA/overlay2/l/$link"
	ln -s ../tmp-gone/diff "$E2E_DATA/overlay2/l/AAAAAAAAAAAAAAAAAAAAAAAAAA"
	ln -s "../$(basename "$base")/diff" "$E2E_DATA/overlay2/l/.tmp-BBBBBBBBBBBBBBBBBBBBBBBBBB"
	berthd_respawn
	run -0 berth run --rm busybox sh -c 'echo repaired'
	[ "$output" = repaired ]
	[ "$(readlink "$E2E_DATA/overlay2/l/$link")" = "../$(basename "$base")/diff" ]
	[ ! -L "$E2E_DATA/overlay2/l/AAAAAAAAAAAAAAAAAAAAAAAAAA" ] || fail "dangling link kept"
	[ ! -L "$E2E_DATA/overlay2/l/.tmp-BBBBBBBBBBBBBBBBBBBBBBBBBB" ] || fail "half-made link kept"
}

# The shim mounts a container's root filesystem in a mount namespace made
# for the runtime's run and holds it by an fd (docs/shim-protocol.md,
# rootfs_mount): the host's mount table never lists it, and berthd reaches
# the files through the shim (cp, export, exec -u), also after a restart.
@test "[overlay2] a running container's root filesystem is held by its shim, in no host mount table" {
	local major minor
	IFS=. read -r major minor _ <<<"$(uname -r)"
	((major > 6 || (major == 6 && minor >= 8))) || skip "needs overlayfs lowerdir+ (Linux 6.8)"
	run -0 berth run -d busybox sh -c 'echo hello > /f; sleep 3600'
	local id=$output merged
	merged=$(cjq "$id" .GraphDriver.Data.MergedDir)
	[ -d "$merged" ] || fail "no merged dir $merged"
	! grep -qF " $merged " /proc/self/mountinfo || fail "mounted on the host: $merged"
	run -0 berth exec -u nobody "$id" id
	assert_contains "$output" "uid=65534(nobody)"
	run -0 bash -c "'$BERTH_CLI' cp '$id:/f' - | tar -xO"
	assert_eq "$output" hello
	run -0 bash -c "'$BERTH_CLI' export '$id' | tar -t"
	assert_contains "$output" "bin/busybox"
	berthd_kill9
	berthd_respawn
	run -0 bash -c "'$BERTH_CLI' cp '$id:/f' - | tar -xO"
	assert_eq "$output" hello
	run -0 berth restart -t 1 "$id"
	run -0 berth exec "$id" cat /f
	assert_eq "$output" hello
	! grep -qF " $merged " /proc/self/mountinfo || fail "mounted on the host after a restart: $merged"
	run -0 berth rm -f "$id"
}
