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
