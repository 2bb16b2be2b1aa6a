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
