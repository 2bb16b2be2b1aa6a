#!/usr/bin/env bats
# Live restore (issue 3, acceptance): with three containers running (one with
# a tty, one printing a numbered line every 100 ms, one sleeping), berthd is
# SIGKILLed and started again on the same data and exec roots. The containers
# keep running under their shims (same pids), no log line is lost or
# duplicated, logs/exec/attach/stop work on them afterwards, and a container
# that exited while berthd was down shows its real exit code.
#
# The tests run in order and share the containers made by the first one.
# berthd only: dockerd stops its containers when it dies without
# --live-restore.

load helpers

# Suite-local helpers (helpers.bash is shared; these names are ours).
lr_daemon_pid() { cat "$E2E_PIDFILE" 2>/dev/null || cat "$E2E_TMP/daemon.spawned-pid"; }

lr_respawn()
{
	local -a cmd
	# shellcheck disable=SC1091
	. "$E2E_TMP/daemon.cmd"
	rm -f "$E2E_SOCK" "$E2E_PIDFILE"
	eval "_e2e_spawn \"\${cmd[@]}\" $(cat "$E2E_TMP/daemon.args")"
}

lr_field() { berth inspect -f "$2" "$1"; }

# The counter's log as numbers, one a line; fails unless they are exactly
# 0, 1, 2, ... (no gap, no duplicate). Prints the last number.
lr_counter_last()
{
	berth logs counter >"$BATS_TEST_TMPDIR/counter.log" 2>&1 || return 1
	awk 'BEGIN { n = 0 }
	     $0 != n { printf "line %d: expected %d, got \"%s\"\n", NR, n, $0 > "/dev/stderr"; bad = 1; exit 1 }
	     { n++ }
	     END { if (bad) exit 1; if (n == 0) { print "empty log" > "/dev/stderr"; exit 1 } print n - 1 }' \
		"$BATS_TEST_TMPDIR/counter.log"
}

lr_counter_past() { [ "$(lr_counter_last)" -gt "$1" ]; }

setup_file()
{
	[ "${E2E_TARGET:-berthd}" = berthd ] || skip "berthd only (dockerd needs --live-restore)"
	berthd_start
	# an empty argument list must stay empty when the daemon is spawned again
	[ "$(tr -d ' ' <"$E2E_TMP/daemon.args")" != "''" ] || : >"$E2E_TMP/daemon.args"
	load_busybox
}

teardown_file() { berthd_stop; }

@test "kill -9 of berthd with four containers, start it again" {
	run -0 berth run -dit --name tty busybox sh
	run -0 berth run -d --name counter busybox sh -c 'i=0; while true; do echo $i; i=$((i+1)); sleep 0.1; done'
	run -0 berth run -d --name sleeper busybox sleep 1000
	wait_for 30 lr_counter_past 5
	# exits when told to (a file on a bind mount), while berthd is away
	mkdir -p "$E2E_TMP/trigger"
	run -0 berth run -d --name exits -v "$E2E_TMP/trigger:/trigger" busybox \
		sh -c 'while [ ! -e /trigger/go ]; do sleep 0.1; done; exit 7'
	local c
	for c in tty counter sleeper exits; do
		assert_eq "$(lr_field $c '{{.State.Status}}')" running
		lr_field $c '{{.State.Pid}}' >"$E2E_TMP/pid.$c"
	done
	lr_counter_last >"$E2E_TMP/counter.before"

	local pid
	pid=$(lr_daemon_pid)
	kill -KILL "$pid"
	_e2e_wait_gone 100 "$pid" || fail "berthd $pid survived SIGKILL"
	# the fourth exits while berthd is away
	touch "$E2E_TMP/trigger/go"
	_e2e_wait_gone 300 "$(cat "$E2E_TMP/pid.exits")" || fail "exits: its process did not end"
	sleep 3
	lr_respawn
	[ "$(lr_daemon_pid)" != "$pid" ] || fail "same daemon pid"
}

@test "the three containers are still running, with the same pids" {
	local c
	for c in tty counter sleeper; do
		assert_eq "$(lr_field $c '{{.State.Status}} {{.State.Running}} {{.State.Pid}}')" \
			"running true $(cat "$E2E_TMP/pid.$c")"
		[ -d "/proc/$(cat "$E2E_TMP/pid.$c")" ] || fail "$c: process is gone"
	done
	run -0 berth ps --format '{{.Names}}'
	assert_eq "$(sort <<<"$output" | tr '\n' ' ')" "counter sleeper tty "
}

@test "the container that exited while berthd was down shows exit code 7" {
	assert_eq "$(lr_field exits '{{.State.Status}} {{.State.Running}} {{.State.ExitCode}} {{.State.Pid}}')" \
		"exited false 7 0"
	local fin
	fin=$(lr_field exits '{{.State.FinishedAt}}')
	[[ $fin != 0001-* ]] || fail "FinishedAt not set: $fin"
	run -0 berth wait exits
	assert_eq "$output" 7
	run -0 berth ps -a --filter exited=7 --format '{{.Names}}'
	assert_eq "$output" exits
}

@test "the counter's log has every line once, also those written while berthd was down" {
	local before now
	before=$(cat "$E2E_TMP/counter.before")
	# it still logs after the restart
	wait_for 30 lr_counter_past $((before + 40))
	now=$(lr_counter_last) || fail "$(cat "$BATS_TEST_TMPDIR/counter.log" | head -50)"
	[ "$now" -gt "$before" ] || fail "no new lines: $before -> $now"
	# the API's logs endpoint agrees with the CLI (multiplexed stream, stdout)
	local api_last
	api_last=$(logs_text counter | awk 'BEGIN { n = 0 } $0 != n { exit 1 } { n++ } END { print n - 1 }') ||
		fail "API logs: gap or duplicate"
	[ "$api_last" -ge "$now" ] || fail "API logs end at $api_last, CLI saw $now"
	# tail and follow work on a re-adopted container
	run -0 --separate-stderr timeout 5 "$BERTH_CLI" logs --tail 3 counter
	[ "$(wc -l <<<"$output")" = 3 ] || fail "logs --tail 3: [$output] stderr: [$stderr]"
	run timeout 2 "$BERTH_CLI" logs -f --tail 1 counter
	[ "$status" -eq 124 ] || fail "logs -f ended by itself ($status): $output"
	[ "$(wc -l <<<"$output")" -ge 2 ] || fail "logs -f showed no new line: $output"
}

@test "the tty container's log and exec work" {
	run -0 berth exec tty sh -c 'echo exec-$((6*7))'
	assert_eq "$output" exec-42
	run -0 berth exec counter cat /proc/1/cmdline
	assert_contains "$output" "while true"
	run -0 berth exec sleeper sh -c 'exit 0'
	run -3 berth exec sleeper sh -c 'exit 3'
	# a tty's log: docker's bytes (CR LF), no NUL
	berth logs tty >"$BATS_TEST_TMPDIR/tty.log"
	assert_contains "$(cat "$BATS_TEST_TMPDIR/tty.log")" "built-in shell"
	assert_eq "$(tr -dc '\000' <"$BATS_TEST_TMPDIR/tty.log" | wc -c)" 0 ||
		{ od -c "$BATS_TEST_TMPDIR/tty.log" | head -20 >&2; cat "$E2E_DATA"/containers/*/*-json.log | grep -v '"[0-9]*\\n"' >&2; return 1; }
}

@test "attach to the counter shows new lines" {
	local last
	last=$(lr_counter_last)
	run timeout 3 "$BERTH_CLI" attach --no-stdin --sig-proxy=false counter
	[ "$status" -eq 124 ] || fail "attach ended by itself ($status): $output"
	# consecutive numbers, all after what the log held before
	local first
	first=$(head -1 <<<"$output")
	[ "$first" -gt "$last" ] || fail "attach started at $first, log was at $last"
	awk -v n="$first" '$0 != n { exit 1 } { n++ }' <<<"$output" || fail "attach output not consecutive: $output"
	[ "$(wc -l <<<"$output")" -ge 2 ] || fail "attach showed too little: $output"
	assert_eq "$(lr_field counter '{{.State.Status}}')" running
}

@test "attach to the tty container under a pty: a command runs, ctrl-p ctrl-q detaches" {
	local out=$BATS_TEST_TMPDIR/tty.out
	# script gives the CLI a pty; input comes from the pipe after a pause
	{
		sleep 1
		printf 'echo attach-$((6*7))\r'
		sleep 1
		printf '\020\021'
		sleep 2
	} | timeout 20 script -qec "$BERTH_CLI attach tty" /dev/null >"$out" 2>&1 || true
	assert_contains "$(cat "$out")" "attach-42"
	assert_eq "$(lr_field tty '{{.State.Status}} {{.State.Pid}}')" "running $(cat "$E2E_TMP/pid.tty")"
	run -0 berth logs tty
	assert_contains "$output" "attach-42"
}

@test "stop works on the re-adopted containers" {
	run -0 berth stop -t 1 tty counter sleeper
	local c
	for c in tty counter sleeper; do
		assert_eq "$(lr_field $c '{{.State.Status}} {{.State.Running}}')" "exited false"
		[ ! -d "/proc/$(cat "$E2E_TMP/pid.$c")" ] || fail "$c: process still there"
	done
	# and they start again
	run -0 berth start counter
	wait_for 30 status_is counter running
	run -0 berth rm -f tty counter sleeper exits
	assert_eq "$(container_count)" 0
	# their shims are gone
	local procs
	procs=$(exec_root_procs)
	[ -z "$procs" ] || fail "processes of the exec root left: $(for p in $procs; do tr '\0' ' ' </proc/$p/cmdline; echo; done)"
}

@test "the daemon did not crash or hang during this suite" {
	assert_no_daemon_crash
}
