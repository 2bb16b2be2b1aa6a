#!/usr/bin/env bats
# exec and attach streams as dockerd 20.10 serves them: many execs at once
# (every output arrives), framing chosen by the start request's Tty, the
# detach keys ending a tty exec session, a missing binary (126), and a
# failed shim attach failing the request before anything runs.

# e2e: full-shim (scripts/e2e-run.sh: the instrumented shim, not berth-shim-lean)
load helpers

setup_file()
{
	berthd_start
	load_busybox
}
teardown_file() { berthd_stop; }
setup() { berthd_ensure; }
teardown() { reset_containers; }

EXEC_API=$BATS_TEST_DIRNAME/lib/exec_api.py

# exec_new CONTAINER JSON: create an exec, its id in EXEC_ID.
exec_new()
{
	api POST "/containers/$1/exec" -H 'Content-Type: application/json' -d "$2"
	assert_status 201
	EXEC_ID=$(printf '%s' "$HTTP_BODY" | jq -r .Id)
}

# stream_start PATH BODY [STDIN]: hijacked request; the result (status,
# body, eof) in STREAM.
stream_start()
{
	STREAM=$(python3 "$EXEC_API" start "$E2E_SOCK" "$@") || fail "exec_api.py start failed"
}
sjq() { printf '%s' "$STREAM" | jq -e "$@"; }

exec_inspect() { api GET "/exec/$EXEC_ID/json" && printf '%s' "$HTTP_BODY" | jq -c "$1"; }

@test "100 parallel execs with attach: every output arrives" {
	run -0 berth run -d --name par busybox sleep 1000
	run python3 "$EXEC_API" parallel "$E2E_SOCK" par 100
	echo "$output"
	[ "$status" -eq 0 ]
	assert_contains "$output" "100 of 100 execs delivered their output"
}

@test "parallel exec through the CLI: every output arrives" {
	run -0 berth run -d --name parcli busybox sleep 1000
	local dir=$BATS_TEST_TMPDIR/cli i
	local -a pids=()
	mkdir -p "$dir"
	for ((i = 0; i < 30; i++)); do
		berth exec parcli echo "line $i" >"$dir/$i" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i"
	done
	for ((i = 0; i < 30; i++)); do
		assert_eq "$(cat "$dir/$i")" "line $i"
	done
}

@test "exec start frames by the start request's Tty, not the exec's" {
	run -0 berth run -d --name fr busybox sleep 1000
	# a tty exec started with Tty:false: one stdout frame
	exec_new fr '{"Cmd":["echo","hi"],"Tty":true,"AttachStdout":true,"AttachStderr":true}'
	stream_start "/exec/$EXEC_ID/start" '{"Detach":false,"Tty":false}'
	sjq '.status | test(" 101 ")'
	sjq '.body == "\u0001\u0000\u0000\u0000\u0000\u0000\u0000\u0004hi\r\n"' || fail "got $STREAM"
	# an exec without a tty started with Tty:true: raw stdout, no stderr
	exec_new fr '{"Cmd":["sh","-c","echo out; echo err >&2"],"AttachStdout":true,"AttachStderr":true}'
	stream_start "/exec/$EXEC_ID/start" '{"Detach":false,"Tty":true}'
	sjq '.body == "out\n"' || fail "got $STREAM"
	# both without a tty: stdout and stderr frames
	exec_new fr '{"Cmd":["sh","-c","echo out; sleep 0.2; echo err >&2"],"AttachStdout":true,"AttachStderr":true}'
	stream_start "/exec/$EXEC_ID/start" '{"Detach":false,"Tty":false}'
	sjq '.body == "\u0001\u0000\u0000\u0000\u0000\u0000\u0000\u0004out\n\u0002\u0000\u0000\u0000\u0000\u0000\u0000\u0004err\n"' ||
		fail "got $STREAM"
}

@test "tty exec: ctrl-p ctrl-q ends the session and closes the stream" {
	run -0 berth run -d --name dk busybox sleep 1000
	exec_new dk '{"Cmd":["sh"],"Tty":true,"AttachStdin":true,"AttachStdout":true,"AttachStderr":true}'
	stream_start "/exec/$EXEC_ID/start" '{"Detach":false,"Tty":true}' "b'\\x10\\x11'"
	sjq '.status | test(" 101 ")'
	sjq '.eof' || fail "the stream was not closed: $STREAM"
	sjq '.body | endswith("exec attach failed: error on attach stdin: read escape sequence\r\n")' ||
		fail "got $STREAM"
	assert_eq "$(exec_inspect '[.Running, .ExitCode]')" '[false,126]'
}

@test "tty exec: the exec's DetachKeys end the session" {
	run -0 berth run -d --name dk2 busybox sleep 1000
	exec_new dk2 '{"Cmd":["sh"],"Tty":true,"DetachKeys":"ctrl-x,x","AttachStdin":true,"AttachStdout":true}'
	stream_start "/exec/$EXEC_ID/start" '{"Detach":false,"Tty":true}' "b'\\x10\\x11\\x18x'"
	sjq '.eof' || fail "the stream was not closed: $STREAM"
	sjq '.body | endswith("exec attach failed: error on attach stdin: read escape sequence\r\n")' ||
		fail "got $STREAM"
	assert_eq "$(exec_inspect '[.Running, .ExitCode]')" '[false,126]'
}

@test "exec without a tty: ctrl-p ctrl-q is data" {
	run -0 berth run -d --name bin busybox sleep 1000
	exec_new bin '{"Cmd":["od","-An","-tx1"],"AttachStdin":true,"AttachStdout":true}'
	# stdin is closed after the keys (the client's EOF): od prints them
	STREAM=$(python3 - "$E2E_SOCK" "$EXEC_ID" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(60)
b = b'{"Detach":false,"Tty":false}'
s.sendall(b"POST /exec/%s/start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: %d\r\n\r\n" % (sys.argv[2].encode(), len(b)) + b)
d = b""
while b"\r\n\r\n" not in d:
    d += s.recv(4096)
s.sendall(b"\x10\x11")
s.shutdown(socket.SHUT_WR)
while True:
    x = s.recv(4096)
    if not x:
        break
    d += x
print(json.dumps({"body": d.partition(b"\r\n\r\n")[2].decode("latin-1")}))
PY
	)
	sjq '.body | test("10 11")' || fail "got $STREAM"
	assert_eq "$(exec_inspect .ExitCode)" 0
}

@test "exec of a missing binary: 126, as dockerd 20.10" {
	run -0 berth run -d --name nf busybox sleep 1000
	# detached: the error as the response
	exec_new nf '{"Cmd":["nope-not-here"]}'
	api POST "/exec/$EXEC_ID/start" -H 'Content-Type: application/json' -d '{"Detach":true}'
	assert_status 400
	assert_contains "$HTTP_BODY" 'executable file not found'
	assert_eq "$(exec_inspect '[.Running, .ExitCode]')" '[false,126]'
	# attached: the error in a stdout frame
	exec_new nf '{"Cmd":["nope-not-here"],"AttachStdout":true,"AttachStderr":true}'
	stream_start "/exec/$EXEC_ID/start" '{"Detach":false,"Tty":false}'
	sjq '.body | startswith("\u0001\u0000\u0000\u0000")' || fail "got $STREAM"
	sjq '.body | test("executable file not found.*\r\n$")' || fail "got $STREAM"
	assert_eq "$(exec_inspect '[.Running, .ExitCode]')" '[false,126]'
	# the CLIs exit with it
	run -126 berth exec nf nope-not-here
	if [ -x "$DOCKER_CLI_20" ]; then run -126 docker20 exec nf nope-not-here; fi
	if [ -x "$DOCKER_CLI_28" ]; then run -126 docker28 exec nf nope-not-here; fi
}

@test "docker-py: exec_run with and without a tty, missing binary" {
	python3 -c 'import docker' 2>/dev/null || skip "docker-py not installed"
	run -0 berth run -d --name py busybox sleep 1000
	run -0 python3 - <<'PY'
import docker
c = docker.DockerClient(base_url="unix://" + __import__("os").environ["E2E_SOCK"], version="1.41")
ctr = c.containers.get("py")
r = ctr.exec_run(["echo", "plain"])
assert r.exit_code == 0 and r.output == b"plain\n", r
r = ctr.exec_run(["echo", "tty"], tty=True)
assert r.exit_code == 0 and r.output == b"tty\r\n", r
r = ctr.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True)
assert r.output == (b"o\n", b"e\n"), r
r = ctr.exec_run(["nope-not-here"])
assert r.exit_code == 126, r
PY
}

@test "a failed shim attach fails exec start and attach before anything runs" {
	skip_on_dockerd "no shim"
	run -0 berth run -d --name fa busybox sleep 1000
	local id sock
	id=$(cjq fa .Id)
	sock=$E2E_EXEC/containers/$id/attach.sock
	[ -S "$sock" ] || fail "no attach socket at $sock"
	mv "$sock" "$sock.away"
	exec_new fa '{"Cmd":["touch","/ran"],"AttachStdout":true,"AttachStderr":true}'
	stream_start "/exec/$EXEC_ID/start" '{"Detach":false,"Tty":false}'
	mv "$sock.away" "$sock"
	sjq '.status | test(" 500 ")' || fail "got $STREAM"
	sjq '.body | fromjson | .message | test("attach")' || fail "got $STREAM"
	# nothing ran
	api GET "/containers/fa/archive?path=/ran"
	assert_status 404
	# a container attach gets its error too
	mv "$sock" "$sock.away"
	stream_start "/containers/fa/attach?stream=1&stdout=1&stderr=1" '{}'
	mv "$sock.away" "$sock"
	sjq '.status | test(" 500 ")' || fail "got $STREAM"
	# with the socket back, exec works again
	run -0 berth exec fa echo back
	assert_eq "$output" back
}

@test "no daemon crash during the suite" { assert_no_daemon_crash; }
