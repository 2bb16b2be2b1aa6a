#!/usr/bin/env bats
# Idle containers' inspect documents are freed by the daemon's idle tick and
# read back from their records when used (issue 13): everything a container
# shows or does is the same before and after. The daemon logs (--debug)
# "idle: N container documents freed" when its tick frees some: the tests
# wait for that line, never for a time.

load helpers

setup_file()
{
	berthd_start
	load_busybox
}
teardown_file() { berthd_stop; }
setup() { berthd_ensure; }
teardown() { reset_containers; }

# freed_since LINE N: the log has, after line LINE, passes that freed N or more
freed_since()
{
	tail -n "+$(($1 + 1))" "$E2E_LOG" | grep -o 'idle: [0-9]* container documents freed' |
		awk -v n="$2" '{ s += $2 } END { exit !(s >= n) }'
}
log_lines() { wc -l <"$E2E_LOG"; }

# inspect REF: the document, keys sorted
inspect_json()
{
	api GET "/containers/$1/json" || return 1
	[ "$HTTP_CODE" = 200 ] || {
		echo "inspect $1: HTTP $HTTP_CODE $HTTP_BODY" >&2
		return 1
	}
	printf '%s' "$HTTP_BODY" | jq -S .
}

# the list without Status (its "... seconds ago" moves on)
list_json()
{
	api GET "/containers/json?all=1$1" || return 1
	printf '%s' "$HTTP_BODY" | jq -S 'map(del(.Status)) | sort_by(.Names[0])'
}

@test "freed documents read back: inspect, ps, labels filter, start, rename, update as before" {
	run -0 berth create --name lz1 --label app=lz -e X=1 --restart on-failure:3 --workdir /tmp busybox sh -c 'echo hi; exit 2'
	run -0 berth create --name lz2 -v /data --label app=other busybox true
	run -3 berth run --name lz3 --health-cmd true --health-interval 5s busybox sh -c 'exit 3'
	run -0 berth create --name lz4 --entrypoint /bin/echo busybox one two
	local ci
	for ci in 1 2 3 4; do inspect_json lz$ci >"$BATS_TEST_TMPDIR/before$ci"; done
	list_json >"$BATS_TEST_TMPDIR/list-before"
	list_json '&filters=%7B%22label%22%3A%5B%22app%3Dlz%22%5D%7D' >"$BATS_TEST_TMPDIR/label-before"
	berth ps -a --format '{{.Names}}|{{.Image}}|{{.Command}}|{{.Labels}}|{{.State}}' | sort >"$BATS_TEST_TMPDIR/ps-before"

	local mark
	mark=$(log_lines)
	wait_for 60 freed_since "$mark" 4
	for ci in 1 2 3 4; do
		inspect_json lz$ci >"$BATS_TEST_TMPDIR/after$ci"
		run -0 diff "$BATS_TEST_TMPDIR/before$ci" "$BATS_TEST_TMPDIR/after$ci"
	done

	mark=$(log_lines)
	wait_for 60 freed_since "$mark" 4
	list_json >"$BATS_TEST_TMPDIR/list-after"
	run -0 diff "$BATS_TEST_TMPDIR/list-before" "$BATS_TEST_TMPDIR/list-after"
	list_json '&filters=%7B%22label%22%3A%5B%22app%3Dlz%22%5D%7D' >"$BATS_TEST_TMPDIR/label-after"
	run -0 diff "$BATS_TEST_TMPDIR/label-before" "$BATS_TEST_TMPDIR/label-after"
	assert_eq "$(jq -r '.[].Names[0]' "$BATS_TEST_TMPDIR/label-after")" /lz1
	berth ps -a --format '{{.Names}}|{{.Image}}|{{.Command}}|{{.Labels}}|{{.State}}' | sort >"$BATS_TEST_TMPDIR/ps-after"
	run -0 diff "$BATS_TEST_TMPDIR/ps-before" "$BATS_TEST_TMPDIR/ps-after"
	run -0 berth ps -a --filter status=exited --format '{{.Names}} {{.Status}}'
	assert_match "$output" '^lz3 Exited \(3\) .* ago$'

	# operations on freed documents (the lists above read them back one at a
	# time and freed each again at once)
	run -0 berth rename lz1 lz1b
	run -2 --separate-stderr berth start -a lz1b
	assert_eq "$output" hi
	run -0 berth update --cpu-shares 512 lz2
	run -0 berth start -a lz4
	assert_eq "$output" "one two"
	run -3 berth start -a lz3

	mark=$(log_lines)
	wait_for 60 freed_since "$mark" 3
	assert_eq "$(cjq lz1b '.Name + " " + (.State.ExitCode | tostring) + " " + .Config.WorkingDir')" "/lz1b 2 /tmp"
	assert_eq "$(cjq lz2 .HostConfig.CpuShares)" 512
	assert_eq "$(cjq lz4 '.State.Status + " " + (.State.ExitCode | tostring)')" "exited 0"
	assert_eq "$(cjq lz3 .State.ExitCode)" 3
	run -0 berth inspect -f '{{.Config.Labels.app}} {{index .Config.Env 0}}' lz1b
	assert_eq "$output" "lz X=1"
	# unchanged parts of the documents
	inspect_json lz2 | jq 'del(.HostConfig.CpuShares)' >"$BATS_TEST_TMPDIR/now2"
	jq 'del(.HostConfig.CpuShares)' "$BATS_TEST_TMPDIR/before2" >"$BATS_TEST_TMPDIR/was2"
	run -0 diff "$BATS_TEST_TMPDIR/was2" "$BATS_TEST_TMPDIR/now2"
	run -0 berth rm lz1b lz2 lz3 lz4
	assert_eq "$(container_count)" 0
}

@test "a running container, its exec, stop and restart policy with its document freed in between" {
	# runs until told (a file), then fails: once more by its policy
	run -0 berth run -d --name lzr --restart on-failure:1 busybox sh -c 'until [ -f /go ]; do sleep 0.1; done; exit 1'
	run -0 berth create --name lzidle busybox true
	local mark
	mark=$(log_lines)
	wait_for 60 freed_since "$mark" 1
	run -0 berth exec lzr echo in
	assert_eq "$output" in
	run -0 berth exec lzr touch /go
	# the restart policy (in the freed document or not) restarts it once
	wait_for 60 eval '[ "$(cjq lzr .RestartCount)" = 1 ]'
	wait_status lzr exited 60
	assert_eq "$(cjq lzr '.State.ExitCode')" 1
	run -0 berth start lzr
	run -0 berth stop -t 1 lzr
	assert_eq "$(cjq lzr .State.Status)" exited
}

@test "an inspect and list storm while documents are freed: every answer the same" {
	local ci n=6
	for ci in $(seq $n); do
		run -0 berth create --name storm$ci --label s=$ci -e I=$ci busybox echo $ci
		inspect_json storm$ci >"$BATS_TEST_TMPDIR/want$ci"
	done
	list_json >"$BATS_TEST_TMPDIR/list-want"
	local mark
	mark=$(log_lines)
	local bad=$BATS_TEST_TMPDIR/bad
	: >"$bad"
	local -a pids=()
	local w
	for w in 1 2 3 4; do
		(
			for k in $(seq 40); do
				j=$(((RANDOM % n) + 1))
				if ! inspect_json storm$j | cmp -s - "$BATS_TEST_TMPDIR/want$j"; then
					echo "worker $w: inspect storm$j differs" >>"$bad"
				fi
				if [ $((k % 5)) = 0 ] && ! list_json | cmp -s - "$BATS_TEST_TMPDIR/list-want"; then
					echo "worker $w: list differs" >>"$bad"
				fi
				# some pauses long enough for the idle tick to free them
				if [ $((RANDOM % 6)) = 0 ]; then sleep 2.$((RANDOM % 10)); fi
			done
			exit 0
		) &
		pids+=($!)
	done
	for w in "${pids[@]}"; do wait "$w"; done
	[ ! -s "$bad" ] || fail "$(cat "$bad")"
	run -0 freed_since "$mark" 1
	for ci in $(seq $n); do
		inspect_json storm$ci | cmp - "$BATS_TEST_TMPDIR/want$ci"
	done
}

@test "no daemon crash" {
	assert_no_daemon_crash
}
