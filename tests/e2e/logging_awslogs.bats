#!/usr/bin/env bats
# awslogs against a local CloudWatch Logs endpoint (tests/e2e/lib/cwlogs.py)
# that checks every request's SigV4 signature with botocore; and kill -9 of
# berthd while containers log to syslog and awslogs (delivery lives in the
# shim: nothing lost, nothing twice).
# The daemon gets its credentials and region from its environment.

load helpers

CW=$BATS_TEST_DIRNAME/lib/cwlogs.py
SINK=$BATS_TEST_DIRNAME/lib/logsink.py
AK=AKIDBERTHTEST
SK=berth-secret-key-for-tests

setup_file()
{
	python3 -c 'import botocore' 2>/dev/null || skip "python3-botocore not installed"
	AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_REGION=us-east-1 berthd_start
	load_busybox
}
teardown_file() { berthd_stop; }
setup()
{
	skip_on_dockerd "needs the test endpoint (awslogs-endpoint over plain http)"
	berthd_ensure
	SRV_DIR=$(mktemp -d /tmp/berth-cw.XXXXXX)
	SRV_PIDS=()
}
teardown()
{
	rm -f "$SRV_DIR/stall"
	reset_containers
	local p
	for p in "${SRV_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${SRV_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$SRV_DIR"
}

# cw_start [SECRET] [PRECREATED_GROUP]: the endpoint; CW_URL its address.
cw_start()
{
	python3 "$CW" "$AK" "${1:-$SK}" us-east-1 "$SRV_DIR/cw.out" "$SRV_DIR/cw.ready" "$SRV_DIR/stall" \
		${2:+"$2"} 3>&- &
	SRV_PIDS+=($!)
	wait_for 30 test -s "$SRV_DIR/cw.ready"
	CW_URL=http://127.0.0.1:$(cat "$SRV_DIR/cw.ready")
}
cw_events() { jq -r 'select(.message != null) | .message' "$SRV_DIR/cw.out"; }
cw_count() { cw_events | wc -l; }
cw_has() { [ "$(cw_count)" -ge "$1" ]; }
# the syslog sink has at least $1 lines (counted at each try: wait_for 60 test "$(wc -l ...)" counted once)
sl_has() { [ "$(wc -l <"$SRV_DIR/sl.out" 2>/dev/null || echo 0)" -ge "$1" ]; }
shim_log() { cat "$E2E_EXEC/containers/$1/shim.log"; }
# every line-N for N in 0..$2-1 exactly once, in order
seq_check()
{
	local want
	want=$(seq 0 $(($2 - 1)) | sed 's/^/line-/')
	[ "$1" = "$want" ] || fail "got $(printf '%s\n' "$1" | wc -l) lines, first difference: $(diff <(printf '%s\n' "$want") <(printf '%s\n' "$1") | head -5)"
}

@test "awslogs: group created when asked, stream is the container id, every line in order" {
	cw_start
	run -0 berth run --name aw --log-driver awslogs --log-opt awslogs-endpoint="$CW_URL" \
		--log-opt awslogs-group=g1 --log-opt awslogs-create-group=true \
		busybox sh -c 'i=0; while [ $i -lt 500 ]; do echo line-$i; i=$((i+1)); done'
	local id
	id=$(cjq aw .Id)
	wait_for 60 cw_has 500
	assert_eq "$(jq -r 'select(.created_group) | .created_group' "$SRV_DIR/cw.out")" g1
	assert_eq "$(jq -r 'select(.created_stream) | .created_stream' "$SRV_DIR/cw.out")" "$id"
	assert_eq "$(jq -r 'select(.message) | .stream' "$SRV_DIR/cw.out" | sort -u)" "$id"
	seq_check "$(cw_events)" 500
	# every request was signed right
	assert_eq "$(jq -r .status "$SRV_DIR/cw.out.requests" | sort -u)" 200
	run -0 berth logs --tail 1 aw
	assert_eq "$output" line-499
}

@test "awslogs: awslogs-stream names the stream; an existing group is used as it is" {
	cw_start "$SK" pre
	run -0 berth run --name as --log-driver awslogs --log-opt awslogs-endpoint="$CW_URL" \
		--log-opt awslogs-group=pre --log-opt awslogs-stream=mystream busybox echo hello
	wait_for 60 cw_has 1
	assert_eq "$(jq -r 'select(.message) | "\(.group) \(.stream) \(.message)"' "$SRV_DIR/cw.out")" "pre mystream hello"
	assert_eq "$(jq -r 'select(.created_group) | .created_group' "$SRV_DIR/cw.out")" ""
}

@test "awslogs: multiline pattern joins lines into one event" {
	cw_start
	run -0 berth run --name am --log-driver awslogs --log-opt awslogs-endpoint="$CW_URL" \
		--log-opt awslogs-group=g --log-opt awslogs-create-group=true \
		--log-opt awslogs-multiline-pattern='^INFO' \
		busybox sh -c 'echo "INFO first"; echo "  detail a"; echo "  detail b"; echo "INFO second"; echo "  detail c"'
	wait_for 60 cw_has 2
	run -0 jq -c 'select(.message) | .message' "$SRV_DIR/cw.out"
	assert_eq "${lines[0]}" '"INFO first\n  detail a\n  detail b\n"'
	assert_eq "${lines[1]}" '"INFO second\n  detail c\n"'
}

@test "awslogs: a wrong secret key is refused and reported; the secret is never logged" {
	cw_start not-the-daemons-secret
	run -0 berth run --name ak --log-driver awslogs --log-opt awslogs-endpoint="$CW_URL" \
		--log-opt awslogs-group=g --log-opt awslogs-create-group=true busybox echo refused
	local id
	id=$(cjq ak .Id)
	wait_for 60 grep -q InvalidSignatureException "$E2E_EXEC/containers/$id/shim.log"
	assert_eq "$(jq -r .status "$SRV_DIR/cw.out.requests" | sort -u)" 403
	assert_eq "$(cw_count)" 0
	run -0 shim_log "$id"
	assert_not_contains "$output" "$SK"
	assert_not_contains "$(cat "$E2E_LOG")" "$SK"
	# dual logging still has the line
	run -0 berth logs ak
	assert_eq "$output" refused
}

@test "awslogs: a stalled endpoint does not hold up the container in non-blocking mode" {
	cw_start
	run -0 berth run --name ag0 --log-driver awslogs --log-opt awslogs-endpoint="$CW_URL" \
		--log-opt awslogs-group=g --log-opt awslogs-create-group=true busybox echo warm
	wait_for 60 cw_has 1
	touch "$SRV_DIR/stall"
	run -0 berth run --name ag --log-driver awslogs --log-opt awslogs-endpoint="$CW_URL" \
		--log-opt awslogs-group=g --log-opt mode=non-blocking --log-opt max-buffer-size=1m \
		busybox sh -c 'i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done'
	# the container is done while the endpoint still holds the first request
	wait_status ag exited
	[ -e "$SRV_DIR/stall" ]
	assert_eq "$(cw_count)" 1
	run -0 berth logs --tail 1 ag
	assert_eq "$output" line-2999
	# every line is in the dual-logging cache
	run -0 berth logs ag
	seq_check "$output" 3000
}

@test "kill -9 of berthd while containers log to syslog and awslogs: nothing lost or doubled" {
	cw_start
	python3 "$SINK" syslog-tcp 127.0.0.1:0 "$SRV_DIR/sl.out" "$SRV_DIR/sl.ready" 3>&- &
	SRV_PIDS+=($!)
	wait_for 30 test -s "$SRV_DIR/sl.ready"
	local port
	port=$(cat "$SRV_DIR/sl.ready")
	# ~1000 lines/s for 4 s each (busybox usleep paces them)
	local prog='i=0; while [ $i -lt 4000 ]; do echo line-$i; i=$((i+1)); [ $((i % 100)) = 0 ] && usleep 100000; done'
	run -0 berth run -d --name k1 --log-driver syslog --log-opt syslog-address=tcp://127.0.0.1:$port \
		--log-opt syslog-format=rfc5424 busybox sh -c "$prog"
	run -0 berth run -d --name k2 --log-driver awslogs --log-opt awslogs-endpoint="$CW_URL" \
		--log-opt awslogs-group=k --log-opt awslogs-create-group=true busybox sh -c "$prog"
	local id1 id2
	id1=$(cjq k1 .Id)
	id2=$(cjq k2 .Id)
	wait_for 60 sl_has 500
	berthd_kill9
	berthd_respawn
	wait_status k1 exited 120
	wait_status k2 exited 120
	wait_for 120 sl_has 4000
	wait_for 120 cw_has 4000
	seq_check "$(jq -r .raw "$SRV_DIR/sl.out" | sed 's/.* - //')" 4000
	seq_check "$(cw_events)" 4000
	run -0 berth logs --tail 1 k1
	assert_eq "$output" line-3999
}

@test "no daemon crash during the suite" {
	assert_no_daemon_crash
}
