#!/usr/bin/env bats
# Per-phase timings (issue 13): with --debug (the suites' daemons run with
# it) berthd logs one line per container start, exit and removal naming each
# phase and its duration in µs. Names only: no timing is asserted.

load helpers

setup_file()
{
	berthd_start
	load_busybox
}
teardown_file() { berthd_stop; }
setup() { berthd_ensure; }
teardown() { reset_containers; }

# timing_line OP ID: the daemon log's "timings OP <id12>: ..." line
timing_line() { grep -F "timings $1 ${2:0:12}: " "$E2E_LOG" | tail -n 1; }
has_timing_line() { [ -n "$(timing_line "$1" "$2")" ]; }

# assert_phases LINE PHASE...: each phase named with a number of µs
assert_phases()
{
	local line=$1 p
	shift
	for p in "$@"; do
		[[ $line == *"$p "[0-9]*" us"* ]] || fail "phase '$p' missing from: $line"
	done
}

@test "timings: start, exit and auto-removal of run --rm each log their phases" {
	skip_on_dockerd
	run berth run --name timings_rm --rm --network none busybox true
	[ "$status" -eq 0 ] || fail "run: $output"
	local id
	id=$(grep -oE "timings start [0-9a-f]{12}: " "$E2E_LOG" | tail -n 1 | awk '{ print $3 }' | tr -d :)
	[ -n "$id" ] || fail "no start timings in the daemon log"
	assert_phases "$(timing_line start "$id")" "api parse" "rootfs mount" "bundle/spec write" "shim spawn" \
		"runtime run" "record write"
	wait_for 30 has_timing_line exit "$id"
	assert_phases "$(timing_line exit "$id")" "exit notification" "runtime delete" "unmount" "record write"
	wait_for 30 has_timing_line remove "$id"
	assert_phases "$(timing_line remove "$id")" "shim exit wait" "unmount and layer remove" "record write"
}

@test "timings: rm -f of a running container logs its phases" {
	skip_on_dockerd
	local id
	id=$(berth run -d --network none busybox sleep 1000)
	[ -n "$id" ] || fail "run -d failed"
	run berth rm -f "$id"
	[ "$status" -eq 0 ] || fail "rm -f: $output"
	wait_for 30 has_timing_line remove "$id"
	assert_phases "$(timing_line remove "$id")" "api parse" "kill and exit" "shim exit wait" \
		"unmount and layer remove" "record write"
}
