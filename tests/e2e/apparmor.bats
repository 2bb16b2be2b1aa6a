#!/usr/bin/env bats
# AppArmor (issue 11) on a host without it (this one): the default profile
# is skipped as docker does, runs without a profile work, apparmor=unconfined
# is accepted, and an explicit profile is refused with a message naming
# AppArmor. The generated berth-default profile itself is checked with
# `apparmor_parser -Q` by the unit test tests/unit/test_apparmor.c.

load helpers

setup_file()
{
	skip_on_dockerd
	berthd_start
	load_busybox
}
teardown_file() { berthd_stop; }
setup()
{
	berthd_ensure
	[ ! -e /sys/kernel/security/apparmor ] || skip "this host has AppArmor"
}
teardown() { reset_containers; }

@test "apparmor: runs without a profile work and get no AppArmor profile" {
	run berth run --rm busybox cat /proc/self/attr/current
	[ "$status" -eq 0 ] || [[ $output == *"No such file"* ]] || [[ $output == *"Invalid argument"* ]] || fail "$output"
	run berth run --name aa1 busybox true
	[ "$status" -eq 0 ] || fail "$output"
	run berth inspect -f '{{.AppArmorProfile}}' aa1
	[ "$status" -eq 0 ] || fail "$output"
	assert_eq "$output" ""
}

@test "apparmor: an explicit profile is refused with a message naming AppArmor, nothing created" {
	run berth run --rm --security-opt apparmor=berth-default busybox true
	[ "$status" -ne 0 ]
	assert_contains "$output" "AppArmor"
	assert_contains "$output" "berth-default"
	run "$DOCKER_CLI_28" create --security-opt apparmor=my-profile busybox true
	[ "$status" -ne 0 ]
	assert_contains "$output" "AppArmor"
	[ "$(container_count)" = 0 ]
}

@test "apparmor: apparmor=unconfined is accepted" {
	run berth run --rm --security-opt apparmor=unconfined busybox echo fine
	[ "$status" -eq 0 ] || fail "$output"
	assert_eq "$output" "fine"
}

@test "apparmor: the daemon did not crash" {
	assert_no_daemon_crash
}
