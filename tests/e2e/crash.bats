#!/usr/bin/env bats
# Crash reconciliation (issue 7): berthd is SIGKILLed while 10 `berth run -d`
# run in parallel, then started again on the same roots. Afterwards every
# container it lists exists whole and works (a created one starts, a running
# one runs execs), or it does not exist at all: no orphan directory under
# containers/, no read-write or init layer without a container, no mount
# under the data root that belongs to no running container, no shim and no
# runtime state of a container that is not running.
#
# The kill lands at a few points of the creates/starts (the delays only pick
# where it lands; nothing here asserts a duration). berthd only: dockerd
# without --live-restore stops its containers when it dies.

# e2e: full-shim (scripts/e2e-run.sh: the instrumented shim, not berth-shim-lean)
load helpers

setup_file()
{
	[ "${E2E_TARGET:-berthd}" = berthd ] || skip "berthd only (dockerd needs --live-restore)"
	berthd_start
	# an empty argument list must stay empty when the daemon is spawned again
	[ "$(tr -d ' ' <"$E2E_TMP/daemon.args")" != "''" ] || : >"$E2E_TMP/daemon.args"
	load_busybox
	# layer directories of the image alone: every other one is a container's
	driver_layer_dirs >"$E2E_TMP/image-layer-dirs"
}

teardown_file()
{
	# clients of a failed round
	local p
	for p in $(cat "$E2E_TMP"/clients.* 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null || true
	done
	berthd_stop
}

# ids of every container the daemon lists, one a line
crash_ids()
{
	api GET '/containers/json?all=1' || return 1
	[ "$HTTP_CODE" = 200 ] || fail "list: HTTP $HTTP_CODE $HTTP_BODY"
	printf '%s' "$HTTP_BODY" | jq -r '.[].Id'
}

crash_running_ids()
{
	api GET '/containers/json' || return 1
	printf '%s' "$HTTP_BODY" | jq -r '.[].Id'
}

# crash_round DELAY: 10 parallel run -d, kill -9 of berthd after DELAY
# seconds, start it again.
crash_round()
{
	local delay=$1 i
	local -a pids=()
	for ((i = 0; i < 10; i++)); do
		"$BERTH_CLI" run -d busybox sleep 1000 >"$BATS_TEST_TMPDIR/run.$i.out" 2>&1 &
		pids+=($!)
	done
	printf '%s\n' "${pids[@]}" >"$E2E_TMP/clients.$delay"
	sleep "$delay"
	berthd_kill9 || fail "berthd survived SIGKILL"
	# the clients end when their connection does (or they finished before)
	for i in "${pids[@]}"; do
		wait "$i" || true # a client cut off by the kill fails: expected
	done
	rm -f "$E2E_TMP/clients.$delay"
	berthd_respawn
}

# Everything on disk, in /proc/mounts and among the processes belongs to a
# container that is listed (and, for mounts, shims and runtime state, one
# that is running).
assert_consistent()
{
	local ids running id d n base
	ids=$(crash_ids) || return 1
	running=$(crash_running_ids) || return 1
	# container directories
	for d in "$E2E_DATA"/containers/*; do
		[ -e "$d" ] || continue
		id=$(basename "$d")
		grep -qx "$id" <<<"$ids" || fail "orphan container directory $d"
	done
	# read-write layers: one per container besides the image's, and on
	# overlay2 the image's init layer (there while a container uses it;
	# after the last one goes, until the next restart's sweep)
	local extra
	base=$(cat "$E2E_TMP/image-layer-dirs")
	n=$(grep -c . <<<"$ids" || true)
	extra=$(($(driver_layer_dirs) - base - n))
	if [ "$E2E_STORAGE_DRIVER" != overlay2 ]; then
		extra=$((extra - n + (n > 0))) # vfs, btrfs: each container has its own init layer
	fi
	[ "$extra" -eq 1 ] || { [ "$n" -eq 0 ] && [ "$extra" -eq 0 ]; } ||
		fail "layer directories: $(driver_layer_dirs), expected $base of the image + $n containers + init:
$(ls "$E2E_DATA/$E2E_STORAGE_DRIVER")"
	if [ "$E2E_STORAGE_DRIVER" = overlay2 ]; then
		for d in "$E2E_DATA"/overlay2/*-init; do
			[ -e "$d" ] || continue
			id=$(basename "$d" -init)
			# a container's own, or the image layer's shared one
			grep -qx "$id" <<<"$ids" || [ -e "$E2E_DATA/overlay2/$id/diff/bin" ] ||
				fail "init layer without a container: $d"
		done
	fi
	# mounts under the data root: only running containers' root filesystems
	local merged=""
	for id in $running; do
		merged+="$(cjq "$id" '.GraphDriver.Data.MergedDir // empty')"$'\n'
	done
	local m
	while IFS= read -r m; do
		[ -n "$m" ] || continue
		grep -qxF "$m" <<<"$merged" || fail "mount $m belongs to no running container"
	done < <(awk -v pfx="$E2E_DATA/" 'index($5, pfx) == 1 { print $5 }' /proc/self/mountinfo)
	# shims: only of running containers
	local p cmd
	for p in $(exec_root_procs); do
		cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) || continue
		[[ $cmd == *berth-shim* ]] || continue
		id=$(sed -E 's|.*/containers/([0-9a-f]{64})/shim\.json.*|\1|' <<<"$cmd")
		grep -qx "$id" <<<"$running" || fail "shim of a container that is not running: $cmd"
	done
	# runtime state: only of running containers
	for d in "$E2E_EXEC"/runtime/*/*; do
		[ -d "$d" ] || continue
		id=$(basename "$d")
		[[ $id =~ ^[0-9a-f]{64}$ ]] || continue
		grep -qx "$id" <<<"$running" || fail "runtime state of a container that is not running: $d"
	done
}

# Every listed container works: a running one runs an exec, any other one
# starts (then runs an exec).
assert_all_work()
{
	local id st
	for id in $(crash_ids); do
		st=$(cstatus "$id") || return 1
		if [ "$st" != running ]; then
			run berth start "$id"
			[ "$status" -eq 0 ] || fail "start of $st container $id failed: $output"
		fi
		wait_status "$id" running 30 || return 1
		run berth exec "$id" true
		[ "$status" -eq 0 ] || fail "exec in $id failed: $output"
	done
}

crash_test()
{
	local delay=$1
	crash_round "$delay"
	assert_consistent
	assert_all_work
	assert_consistent
	# and it all goes away
	run berth rm -f $(crash_ids)
	[ "$(crash_ids | grep -c .)" -eq 0 ] || fail "containers left after rm -f: $(crash_ids)"
	assert_consistent
}

@test "kill -9 during 10 parallel run -d (kill at 0.6 s), restart: nothing orphaned, everything works" {
	crash_test 0.6
}

@test "kill -9 during 10 parallel run -d (kill at 0.2 s)" {
	crash_test 0.2
}

@test "kill -9 during 10 parallel run -d (kill at 0.4 s)" {
	crash_test 0.4
}

@test "kill -9 during 10 parallel run -d (kill at 1 s)" {
	crash_test 1
}

@test "kill -9 during 10 parallel run -d (kill at 1.5 s)" {
	crash_test 1.5
}

@test "a second restart finds nothing to repair and keeps the containers" {
	run -0 berth run -d --name keep busybox sleep 1000
	run -0 berth create --name made busybox true
	berthd_kill9
	berthd_respawn
	assert_eq "$(cstatus keep)" running
	assert_eq "$(cstatus made)" created
	assert_consistent
	run -0 berth start made
	run -0 berth rm -f keep made
}

@test "the first requests after /_ping see every container, reconciled (they are read after the API listens)" {
	local i pid
	run -0 berth run -d --name early busybox sleep 1000
	pid=$(cjq early .State.Pid)
	for ((i = 0; i < 40; i++)); do
		berth create busybox true >/dev/null || fail "create $i"
	done
	run -0 berth create --name early-made busybox true
	berthd_kill9
	berthd_respawn
	# no wait: the first requests after the ping
	api GET '/containers/json?all=1'
	assert_eq "$HTTP_CODE" 200
	assert_eq "$(printf '%s' "$HTTP_BODY" | jq length)" 42
	assert_eq "$(cjq early .State.Status)/$(cjq early .State.Pid)" "running/$pid"
	api GET /info
	assert_eq "$(printf '%s' "$HTTP_BODY" | jq -r '"\(.Containers)/\(.ContainersRunning)"')" 42/1
	assert_consistent
	run -0 berth start early-made
	run -0 berth exec early true
	run -0 berth rm -f $(crash_ids)
	assert_consistent
}

@test "the daemon never crashed" {
	assert_no_daemon_crash
}
