#!/usr/bin/env bats
# Security defaults of a container (docker's): no mount, no module loading,
# no view of the host's processes, docker's capability set (--cap-drop ALL
# removes even chown), the default seccomp policy (unshare of a user
# namespace without CAP_SYS_ADMIN is refused), read-only /proc/sys, masked
# paths; --privileged, --cap-add and seccomp=unconfined lift them.
#
# dockerd 20.10 cannot run --privileged containers on this host (its
# bounding set lacks CAP_SYS_RESOURCE: "unable to apply caps"); Berth limits
# the privileged set to what the daemon has, so those tests skip there.

load helpers

setup_file()
{
	berthd_start
	load_busybox
}
teardown_file() { berthd_stop; }
setup() { berthd_ensure; }
teardown() { reset_containers; }

# capability bit N set in the hex mask $1?
has_cap() { (((0x$1 >> $2) & 1)); }
CAP_CHOWN=0
CAP_SYS_MODULE=16
CAP_SYS_ADMIN=21
CAP_NET_ADMIN=12

# insmod of a file of zeros: init_module(2) answers EPERM without the
# capability (or under seccomp), another error (bad module, or ENOSYS) with it.
INSMOD='head -c 4096 /dev/zero >/tmp/zero.ko; insmod /tmp/zero.ko'

@test "default: cannot mount" {
	run -0 berth run --rm busybox sh -c 'mkdir -p /m; mount -t tmpfs none /m; echo "mount=$?"'
	assert_contains "$output" 'mount=1'
	assert_contains "$output" 'permission denied'
}

@test "default: cannot load kernel modules" {
	run -0 berth run --rm busybox sh -c "$INSMOD; echo insmod=\$?"
	assert_contains "$output" "can't insert '/tmp/zero.ko': Operation not permitted"
	assert_contains "$output" 'insmod=1'
	run -0 berth run --rm busybox sh -c 'grep CapBnd /proc/self/status'
	local bnd=${output##*[[:space:]]}
	! has_cap "$bnd" $CAP_SYS_MODULE || fail "CAP_SYS_MODULE in the bounding set: $bnd"
	! has_cap "$bnd" $CAP_SYS_ADMIN || fail "CAP_SYS_ADMIN in the bounding set: $bnd"
}

@test "default: docker's capability set" {
	run -0 berth run --rm busybox sh -c 'grep CapEff /proc/self/status'
	assert_eq "${output##*[[:space:]]}" 00000000a80425fb
}

@test "default: cannot see the host's processes" {
	run -0 berth run --rm busybox sh -c 'ls /proc | grep -c "^[0-9]"; ps -o pid,comm'
	# sh, ls, grep at most
	[ "${lines[0]}" -le 4 ] || fail "sees ${lines[0]} processes: $output"
	run -0 berth run --rm busybox sh -c "test -e /proc/$(berthd_pid)/cmdline && cat /proc/$(berthd_pid)/cmdline; echo end"
	assert_not_contains "$output" berthd
	run -0 berth run --rm busybox sh -c 'echo $$'
	assert_eq "$output" 1
}

@test "default: /proc/sys and /sys are read-only, /proc/kcore is masked" {
	run -0 berth run --rm busybox sh -c 'echo x >/proc/sys/kernel/hostname; echo rc=$?; touch /sys/x; echo rc=$?; wc -c </proc/kcore; echo $?'
	assert_contains "$output" 'Read-only file system'
	assert_not_contains "$output" 'rc=0'
	run -0 berth run --rm busybox sh -c 'ls /proc/acpi 2>/dev/null | wc -l'
	assert_eq "$output" 0
}

@test "default seccomp: unshare of a user namespace is refused" {
	run -0 berth run --rm busybox sh -c 'grep Seccomp: /proc/self/status; unshare -U true; echo unshare=$?'
	assert_contains "$output" $'Seccomp:\t2'
	assert_contains "$output" 'unshare=1'
	assert_contains "$output" 'Operation not permitted'
	# keyctl, the kernel keyring is another of docker's refusals: not in busybox
}

@test "seccomp=unconfined lifts the policy" {
	unshare -U true || skip "the host does not allow user namespaces"
	run -0 berth run --rm --security-opt seccomp=unconfined busybox sh -c 'grep Seccomp: /proc/self/status; unshare -U true; echo unshare=$?'
	assert_contains "$output" $'Seccomp:\t0'
	assert_contains "$output" 'unshare=0'
}

@test "a custom seccomp profile from a file" {
	cat >"$BATS_TEST_TMPDIR/profile.json" <<-'EOF'
		{"defaultAction": "SCMP_ACT_ALLOW",
		 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
	EOF
	run -0 berth run --rm --security-opt "seccomp=$BATS_TEST_TMPDIR/profile.json" busybox sh -c 'mkdir /x; echo mkdir=$?'
	assert_contains "$output" 'mkdir=1'
	assert_contains "$output" 'Operation not permitted'
}

@test "--cap-drop ALL removes even chown" {
	run -0 berth run --rm busybox sh -c 'touch /f; chown 1:1 /f; echo chown=$?'
	assert_contains "$output" 'chown=0'
	run -0 berth run --rm --cap-drop ALL busybox sh -c 'touch /f; chown 1:1 /f; echo chown=$?; grep CapEff /proc/self/status'
	assert_contains "$output" 'Operation not permitted'
	assert_contains "$output" 'chown=1'
	assert_contains "$output" $'CapEff:\t0000000000000000'
	run -0 berth run --rm --cap-drop chown busybox sh -c 'touch /f; chown 1:1 /f; echo chown=$?'
	assert_contains "$output" 'chown=1'
}

@test "--cap-add SYS_ADMIN allows mount and unshare" {
	run -0 berth run --rm --cap-add SYS_ADMIN busybox sh -c 'grep CapEff /proc/self/status; mkdir -p /m; mount -t tmpfs none /m && echo mounted; umount /m'
	has_cap "${lines[0]##*[[:space:]]}" $CAP_SYS_ADMIN || fail "no CAP_SYS_ADMIN: ${lines[0]}"
	assert_contains "$output" mounted
	run -0 berth run --rm --cap-add NET_ADMIN busybox sh -c 'ip link set lo down && echo down'
	assert_contains "$output" down
	run -125 --separate-stderr berth run --rm --cap-add NOT_A_CAP busybox true
	assert_contains "$stderr" 'NOT_A_CAP'
}

@test "--security-opt no-new-privileges" {
	run -0 berth run --rm --security-opt no-new-privileges busybox grep NoNewPrivs /proc/self/status
	assert_eq "$output" $'NoNewPrivs:\t1'
	run -0 berth run --rm busybox grep NoNewPrivs /proc/self/status
	assert_eq "$output" $'NoNewPrivs:\t0'
}

@test "--privileged lifts them: mount, modules, seccomp, capabilities, devices" {
	skip_on_dockerd "cannot run --privileged here (unable to apply caps)"
	run -0 berth run --rm --privileged busybox sh -c 'grep -E "CapEff|Seccomp:" /proc/self/status; mkdir -p /m; mount -t tmpfs none /m && echo mounted; umount /m'
	local eff=${lines[0]##*[[:space:]]}
	has_cap "$eff" $CAP_SYS_ADMIN || fail "no CAP_SYS_ADMIN: $eff"
	has_cap "$eff" $CAP_SYS_MODULE || fail "no CAP_SYS_MODULE: $eff"
	assert_contains "$output" $'Seccomp:\t0'
	assert_contains "$output" mounted
	run -0 berth run --rm --privileged busybox sh -c "$INSMOD; echo insmod=\$?"
	assert_not_contains "$output" 'Operation not permitted'
	assert_contains "$output" "can't insert"
	assert_not_contains "$output" 'insmod=0'
	if unshare -U true; then
		run -0 berth run --rm --privileged busybox sh -c 'unshare -U true; echo unshare=$?'
		assert_contains "$output" 'unshare=0'
	fi
	# the host's devices, and a writable /sys
	run -0 berth run --rm --privileged busybox sh -c 'ls /dev | wc -l'
	[ "$output" -gt 20 ] || fail "only $output devices"
}

@test "the daemon did not crash during the suite" {
	assert_no_daemon_crash
}
