#!/usr/bin/env bats
# Security options and refused input, through the berth CLI (the defaults,
# --privileged, --cap-*, seccomp are in security.bats): --read-only with a
# --tmpfs /tmp; a bad --security-opt (foo=bar), apparmor= on a host without
# AppArmor, a bad memory string, a bad --log-opt, an unknown image (404) and a
# name conflict (409) each give a clear error and create nothing (the count
# of `ps -a -q` is unchanged).
# Runs against dockerd 20.10 too (E2E_TARGET=dockerd) to check expectations.

load helpers

setup_file()
{
	berthd_start
	load_busybox
}
teardown_file() { berthd_stop; }
setup() { berthd_ensure; }
teardown() { reset_containers; }

# Lines of `ps -a -q` (the CLI's view of "nothing created").
ps_count() { berth ps -a -q | grep -c . || true; }

@test "--read-only refuses writes to / but a --tmpfs /tmp is writable" {
	run ! --separate-stderr berth run --rm --read-only busybox touch /x
	assert_contains "$stderr$output" 'Read-only file system'
	run ! berth run --rm --read-only busybox touch /tmp/x
	run -0 berth run --rm --read-only --tmpfs /tmp busybox sh -c 'echo hi >/tmp/x && cat /tmp/x'
	assert_eq "$output" hi
	run -0 berth run --rm --read-only --tmpfs /tmp busybox sh -c 'grep " /tmp " /proc/mounts'
	assert_contains "$output" tmpfs
	# the root stays read-only next to the tmpfs
	run ! berth run --rm --read-only --tmpfs /tmp busybox touch /etc/x
	run -0 berth inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$(berth create --read-only busybox true)"
	assert_eq "$output" true
}

@test "no-new-privileges is recorded in HostConfig.SecurityOpt" {
	run -0 berth create --security-opt no-new-privileges busybox true
	run -0 berth inspect -f '{{.HostConfig.SecurityOpt}}' "$output"
	assert_contains "$output" no-new-privileges
}

@test "bad --security-opt foo=bar: clear error, nothing created" {
	local n
	n=$(ps_count)
	run -125 --separate-stderr berth run --rm --security-opt foo=bar busybox true
	assert_contains "$stderr" 'foo=bar'
	assert_match "$stderr" '[Ii]nvalid'
	run -125 --separate-stderr berth create --security-opt seccomp busybox true
	assert_contains "$stderr" seccomp
	run ! --separate-stderr berth create --security-opt no-new-privileges=maybe busybox true
	assert_eq "$(ps_count)" "$n"
}

@test "--security-opt apparmor=x without AppArmor: clear error, nothing created" {
	skip_on_dockerd "ignores apparmor= when AppArmor is not enabled"
	[ ! -e /sys/kernel/security/apparmor ] || skip "this host has AppArmor"
	local n
	n=$(ps_count)
	run -125 --separate-stderr berth run --rm --security-opt apparmor=x busybox true
	assert_match "$stderr" '[Aa]pp[Aa]rmor'
	assert_eq "$(ps_count)" "$n"
	# info does not claim AppArmor, and lists what applies
	run -0 berth info -f '{{.SecurityOptions}}'
	assert_not_contains "$output" apparmor
	assert_contains "$output" seccomp
}

@test "bad memory string -m 12q: clear error, nothing created" {
	local n
	n=$(ps_count)
	run -125 --separate-stderr berth run --rm -m 12q busybox true
	assert_contains "$stderr" "12q"
	run -125 --separate-stderr berth run --rm --memory-swap 1x -m 10m busybox true
	assert_contains "$stderr" "1x"
	assert_eq "$(ps_count)" "$n"
}

@test "bad --log-opt foo=bar: clear error, nothing created" {
	local n
	n=$(ps_count)
	run -125 --separate-stderr berth run --rm --log-opt foo=bar busybox true
	assert_contains "$stderr" "unknown log opt 'foo'"
	run -125 --separate-stderr berth run -d --log-opt foo=bar busybox true
	assert_contains "$stderr" "unknown log opt 'foo'"
	assert_eq "$(ps_count)" "$n"
}

@test "unknown image: 404 No such image, nothing created" {
	local n
	n=$(ps_count)
	run ! --separate-stderr berth create --pull never nosuch/image:9 true
	assert_contains "$stderr" 'No such image: nosuch/image:9'
	api POST /containers/create -H 'Content-Type: application/json' -d '{"Image":"nosuch/image:9"}'
	assert_status 404
	assert_message 'No such image: nosuch/image:9'
	assert_eq "$(ps_count)" "$n"
}

@test "name conflict: 409, nothing more created" {
	run -0 berth create --name taken busybox true
	local id=$output n
	n=$(ps_count)
	assert_eq "$n" 1
	run -125 --separate-stderr berth run --name taken busybox true
	assert_contains "$stderr" "Conflict. The container name \"/taken\" is already in use by container \"$id\""
	api POST '/containers/create?name=taken' -H 'Content-Type: application/json' -d '{"Image":"busybox"}'
	assert_status 409
	assert_eq "$(ps_count)" "$n"
	# a refused create with several problems at once still creates nothing
	run -125 berth run --name taken -m 12q busybox true
	assert_eq "$(ps_count)" "$n"
}

@test "the daemon did not crash during the suite" {
	assert_no_daemon_crash
}
