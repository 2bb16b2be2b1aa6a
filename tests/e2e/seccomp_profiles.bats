#!/usr/bin/env bats
# Seccomp profiles in docker's JSON format (issue 11): the daemon-wide
# --seccomp-profile, per-container --security-opt seccomp=FILE (the CLI sends
# the file's content, as docker's does) and seccomp=unconfined; errnoRet,
# archMap, includes/excludes by capability; a broken profile fails create
# with a clear error and creates nothing.

load helpers

setup_file()
{
	skip_on_dockerd
	SC_DIR=$(mktemp -d /tmp/berth-seccomp.XXXXXX)
	export SC_DIR
	# the daemon's default profile: docker's default action, but mkdir denied
	cat >"$SC_DIR/daemon-profile.json" <<-'EOF'
		{"defaultAction": "SCMP_ACT_ALLOW",
		 "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
		 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
	EOF
	berthd_start --seccomp-profile "$SC_DIR/daemon-profile.json"
	load_busybox
}
teardown_file()
{
	berthd_stop
	[ -n "${SC_DIR:-}" ] && rm -rf "$SC_DIR"
}
setup() { berthd_ensure; }
teardown() { reset_containers; }

@test "seccomp: the daemon's --seccomp-profile applies to every container: mkdir fails with EPERM" {
	run berth run --rm busybox sh -c 'grep Seccomp: /proc/self/status; mkdir /x; echo mkdir=$?'
	[ "$status" -eq 0 ] || fail "$output"
	assert_contains "$output" $'Seccomp:\t2'
	assert_contains "$output" 'Operation not permitted'
	assert_contains "$output" 'mkdir=1'
	# the daemon's profile replaces docker's default: unshare is not filtered here
	run berth run --rm busybox sh -c 'touch /f && echo touched'
	assert_contains "$output" touched
}

@test "seccomp: a per-container profile file (berth and docker 28) replaces the daemon's" {
	cat >"$BATS_TEST_TMPDIR/rmdir.json" <<-'EOF'
		{"defaultAction": "SCMP_ACT_ALLOW",
		 "syscalls": [{"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
	EOF
	run berth run --rm --security-opt "seccomp=$BATS_TEST_TMPDIR/rmdir.json" busybox \
		sh -c 'mkdir /x && echo made; rmdir /x; echo rmdir=$?'
	[ "$status" -eq 0 ] || fail "$output"
	assert_contains "$output" made
	assert_contains "$output" 'Permission denied'
	assert_contains "$output" 'rmdir=1'
	run "$DOCKER_CLI_28" run --rm --security-opt "seccomp=$BATS_TEST_TMPDIR/rmdir.json" busybox \
		sh -c 'mkdir /x && echo made; rmdir /x; echo rmdir=$?'
	[ "$status" -eq 0 ] || fail "$output"
	assert_contains "$output" made
	assert_contains "$output" 'rmdir=1'
}

@test "seccomp: unconfined lifts the daemon's profile and docker's default (unshare)" {
	run berth run --rm --security-opt seccomp=unconfined busybox sh -c 'grep Seccomp: /proc/self/status; mkdir /x && echo made'
	[ "$status" -eq 0 ] || fail "$output"
	assert_contains "$output" $'Seccomp:\t0'
	assert_contains "$output" made
	unshare -U true || skip "the host does not allow user namespaces"
	run berth run --rm --security-opt seccomp=unconfined busybox sh -c 'unshare -U true; echo unshare=$?'
	assert_contains "$output" 'unshare=0'
}

@test "seccomp: includes and excludes by capability" {
	cat >"$BATS_TEST_TMPDIR/caps.json" <<-'EOF'
		{"defaultAction": "SCMP_ACT_ALLOW",
		 "syscalls": [
		  {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
		  {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_ADMIN"]}}]}
	EOF
	local p="seccomp=$BATS_TEST_TMPDIR/caps.json"
	run berth run --rm --security-opt "$p" busybox sh -c 'mkdir /x; echo mkdir=$?; rmdir /x; echo rmdir=$?'
	assert_contains "$output" 'mkdir=0'
	assert_contains "$output" 'rmdir=1'
	run berth run --rm --cap-add SYS_ADMIN --security-opt "$p" busybox sh -c 'mkdir /x; echo mkdir=$?'
	assert_contains "$output" 'mkdir=1'
}

@test "seccomp: a broken profile fails create with a clear error and creates nothing" {
	echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [' >"$BATS_TEST_TMPDIR/broken.json"
	run berth create --security-opt "seccomp=$BATS_TEST_TMPDIR/broken.json" busybox true
	[ "$status" -ne 0 ]
	# the CLI checks the JSON first, as docker's does
	assert_contains "$output" "seccomp profile ($BATS_TEST_TMPDIR/broken.json) failed"
	# the daemon refuses it too when a client sends it as it is
	api POST /containers/create -H 'Content-Type: application/json' \
		-d '{"Image":"busybox","Cmd":["true"],"HostConfig":{"SecurityOpt":["seccomp={\"defaultAction\": ["]}}'
	assert_status 400
	assert_contains "$HTTP_BODY" "Decoding seccomp profile failed"
	echo '{"defaultAction": "SCMP_ACT_BOGUS"}' >"$BATS_TEST_TMPDIR/bogus.json"
	run berth create --security-opt "seccomp=$BATS_TEST_TMPDIR/bogus.json" busybox true
	[ "$status" -ne 0 ]
	assert_contains "$output" "SCMP_ACT_BOGUS"
	echo '{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}' \
		>"$BATS_TEST_TMPDIR/both.json"
	run berth create --security-opt "seccomp=$BATS_TEST_TMPDIR/both.json" busybox true
	[ "$status" -ne 0 ]
	assert_contains "$output" "use either 'architectures' or 'archMap'"
	run berth create --security-opt "seccomp=$BATS_TEST_TMPDIR/missing.json" busybox true
	[ "$status" -ne 0 ]
	assert_contains "$output" "missing.json"
	[ "$(container_count)" = 0 ]
}

@test "seccomp: the daemon did not crash" {
	assert_no_daemon_crash
}
