#!/usr/bin/env bats
# The image-and-container suite (tests/e2e/storage_lib.bash) on vfs.

load helpers
load storage_lib

setup_file()
{
	export E2E_STORAGE_DRIVER=vfs
	st_body_setup_file
}

teardown_file() { berthd_stop; }
setup() { berthd_ensure; }
teardown() { st_body_teardown; }

@test "[vfs] the daemon runs the vfs driver" { st_body_driver; }
@test "[vfs] load and run" { st_body_load_run; }
@test "[vfs] diff, export, cp and commit (with an AUFS whiteout saved byte for byte)" { st_body_commit_diff_export_cp; }
@test "[vfs] opaque directory and file whiteouts apply" { st_body_opaque_whiteout; }
@test "[vfs] --storage-opt refused with docker's message where unsupported" { st_body_storage_opt_refused; }
@test "[vfs] bad daemon storage-opts stop the daemon with docker's message" { st_body_daemon_opts_refused; }
@test "[vfs] removing every container and image leaves no layer" { st_body_rm_all_leaves_nothing; }
