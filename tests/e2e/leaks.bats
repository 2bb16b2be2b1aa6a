#!/usr/bin/env bats
# No leaks: LEAK_CYCLES (500) create/start/rm cycles through the API, four at
# a time, of several kinds (a container that exits by itself and is removed,
# a running one removed with force, one with a tty, one with an exec, one
# that fails to start), then the daemon is back where it started: the same
# number of open fds and threads, no mounts, no cgroups, no shim or runtime
# processes, no state or container directories, no runtime state.

BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-1800}
load helpers

LEAK_CYCLES=${LEAK_CYCLES:-500}
LEAK_JOBS=${LEAK_JOBS:-4}

setup_file()
{
	berthd_start
	load_busybox
}
teardown_file() { berthd_stop; }
setup() { berthd_ensure; }

fd_count() { ls "/proc/$(berthd_pid)/fd" | wc -l; }
thread_count() { ls "/proc/$(berthd_pid)/task" | wc -l; }
# mounts below the suite's temp dir (the daemon's data and exec roots)
mount_count() { awk -v pfx="$E2E_TMP/" 'index($5, pfx) == 1' /proc/self/mountinfo | wc -l; }
no_shims() { [ -z "$(exec_root_procs)" ]; }
fds_back() { [ "$(fd_count)" -le "$1" ]; }
threads_back() { [ "$(thread_count)" -le "$1" ]; }

# lc_req EXPECTED METHOD PATH [BODY]: one request; fails (saying what
# happened) unless the status is EXPECTED; the body goes to stdout.
lc_req()
{
	local want=$1 method=$2 path=$3 body=${4:-} out code
	local -a c=(curl -s --max-time 120 --unix-socket "$E2E_SOCK" -X "$method" -w '\n%{http_code}')
	[ -z "$body" ] || c+=(-H 'Content-Type: application/json' -d "$body")
	out=$("${c[@]}" "http://localhost$path") || {
		echo "$method $path: curl failed" >&2
		return 1
	}
	code=${out##*$'\n'}
	out=${out%$'\n'*}
	if [[ $code != $want ]]; then
		echo "$method $path: HTTP $code (want $want): $out" >&2
		return 1
	fi
	printf '%s' "$out"
}

# one cycle: leak_cycle N (run by xargs in a child bash); prints the id
leak_cycle()
{
	local n=$1 body id eid kind=$(($1 % 5))
	case $kind in
	0) body='{"Image":"busybox","Cmd":["true"]}' ;;
	1) body='{"Image":"busybox","Cmd":["sleep","1000"]}' ;;
	2) body='{"Image":"busybox","Cmd":["sh","-c","echo tty; sleep 1000"],"Tty":true,"OpenStdin":true}' ;;
	3) body='{"Image":"busybox","Cmd":["sleep","1000"]}' ;;
	4) body='{"Image":"busybox","Cmd":["/nonexistent"]}' ;;
	esac
	id=$(lc_req 201 POST /containers/create "$body" | jq -r .Id) || return 1
	echo "$id"
	case $kind in
	0)
		lc_req 204 POST "/containers/$id/start" >/dev/null || return 1
		lc_req 200 POST "/containers/$id/wait" >/dev/null || return 1
		lc_req 204 DELETE "/containers/$id" || return 1
		;;
	1 | 2)
		lc_req 204 POST "/containers/$id/start" || return 1
		lc_req 204 DELETE "/containers/$id?force=1" || return 1
		;;
	3)
		lc_req 204 POST "/containers/$id/start" || return 1
		eid=$(lc_req 201 POST "/containers/$id/exec" '{"Cmd":["true"],"AttachStdout":true}' | jq -r .Id) || return 1
		lc_req 200 POST "/exec/$eid/start" '{}' >/dev/null || return 1
		lc_req 204 POST "/containers/$id/stop?t=0" || return 1
		lc_req 204 DELETE "/containers/$id" || return 1
		;;
	4)
		# start fails (127): nothing of it may stay
		lc_req 400 POST "/containers/$id/start" >/dev/null || return 1
		lc_req 204 DELETE "/containers/$id" || return 1
		;;
	esac
}

@test "$LEAK_CYCLES create/start/rm cycles leave no fds, threads, mounts, cgroups, shims or state behind" {
	# warm up (lazily opened files, thread pools), then take the baseline
	local i
	for i in 0 1 2 3 4; do leak_cycle $i >>"$BATS_FILE_TMPDIR/ids"; done
	wait_for 60 no_shims
	sleep 1
	local fds threads mounts
	fds=$(fd_count)
	threads=$(thread_count)
	mounts=$(mount_count)

	export -f leak_cycle lc_req
	export E2E_SOCK
	seq 5 $((LEAK_CYCLES - 1)) | xargs -P "$LEAK_JOBS" -I{} bash -c 'leak_cycle {} || { echo "cycle {} failed" >&2; exit 255; }' \
		>>"$BATS_FILE_TMPDIR/ids"
	assert_eq "$(wc -l <"$BATS_FILE_TMPDIR/ids")" "$LEAK_CYCLES"
	assert_eq "$(container_count)" 0

	# processes: no shim, no runtime, no container process left
	wait_for 60 no_shims || fail "processes left: $(exec_root_procs | xargs -r ps -o pid,args -p)"
	# fds and threads back to the baseline (connection threads end after their request)
	wait_for 30 fds_back "$fds" || fail "berthd has $(fd_count) fds, $fds before: $(ls -l /proc/$(berthd_pid)/fd)"
	wait_for 30 threads_back "$threads" || fail "berthd has $(thread_count) threads, $threads before"
	# mounts
	assert_eq "$(mount_count)" "$mounts"
	# cgroups of the containers (any hierarchy)
	local left
	left=$(find /sys/fs/cgroup -mindepth 1 -maxdepth 6 -type d -path '*berth*' 2>/dev/null |
		grep -Ff <(cut -c1-64 "$BATS_FILE_TMPDIR/ids") || true)
	[ -z "$left" ] || fail "cgroups left: $left"
	# state: container dirs, shim state dirs, the runtime's state
	assert_eq "$(find "$E2E_DATA/containers" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)" 0
	assert_eq "$(find "$E2E_EXEC/containers" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)" 0
	left=$(find "$E2E_EXEC" -mindepth 2 -maxdepth 3 -type d 2>/dev/null | grep -Ff <(cut -c1-64 "$BATS_FILE_TMPDIR/ids") || true)
	[ -z "$left" ] || fail "runtime state left: $left"
	# the writable layers went with their containers (the image's shared
	# init layer stays with the image)
	left=$(find "$E2E_DATA" -maxdepth 3 2>/dev/null | grep -Ff <(cut -c1-64 "$BATS_FILE_TMPDIR/ids") || true)
	[ -z "$left" ] || fail "container layers left: $left"
	[ "$(find "$E2E_DATA" -maxdepth 3 -name '*-init' 2>/dev/null | wc -l)" -le 1 ] ||
		fail "init layers left: $(find "$E2E_DATA" -maxdepth 3 -name '*-init')"
}

@test "the daemon did not crash during the suite" {
	assert_no_daemon_crash
}
