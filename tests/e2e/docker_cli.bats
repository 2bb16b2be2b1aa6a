#!/usr/bin/env bats
# The real docker CLIs (28.x at $DOCKER_CLI_28, 20.10 at $DOCKER_CLI_20) and
# docker-py pointed at the suite's daemon: run --rm, run -d + logs -f + stop
# + rm, inspect -f, ps --filter label=, top, pause/unpause, exec (exit code),
# wait, run -it / exec -it under a real pty (script(1)).
# Each scenario is a function taking the CLI; one @test per CLI.

load helpers

setup_file()
{
	berthd_start
	load_busybox
}
teardown_file() { berthd_stop; }
setup() { berthd_ensure; }
teardown() { reset_containers; }

# A process that logs "ready", and "got TERM" then exits 0 on SIGTERM.
TRAP_TERM='trap "echo got TERM; exit 0" TERM; echo ready; while true; do sleep 0.1; done'

# pty CMDLINE: run a shell command line under a new pseudo-terminal
# (script(1)); its exit code is the command's.
pty() { script -qec "$1" /dev/null </dev/null; }

file_has() { grep -qF -- "$2" "$1"; }

# --- scenarios (each takes the docker CLI binary) -------------------------------------

_run_rm()
{
	local D=$1
	need_cli "$D"
	local i
	# a few times: the output of a short container must never be lost
	# (the CLI half-closes the attach and starts the container at once)
	for i in 1 2 3 4 5; do
		run -0 --separate-stderr "$D" run --rm busybox echo hello
		assert_eq "$output" hello
	done
	run -3 "$D" run --rm busybox sh -c 'exit 3'
	run -127 --separate-stderr "$D" run --rm busybox nonexistent-cmd
	wait_for 30 container_count_is 0
}

_run_d_logs_stop_rm()
{
	local D=$1 lp rc=0
	need_cli "$D"
	run -0 "$D" run -d --name det busybox sh -c "$TRAP_TERM"
	local id=$output
	assert_match "$id" '^[0-9a-f]{64}$'
	wait_for 30 logs_contain det ready
	# logs -f follows until the container stops (bounded by timeout(1))
	timeout 120 "$D" logs -f det >"$BATS_TEST_TMPDIR/follow.log" 2>&1 &
	lp=$!
	wait_for 30 file_has "$BATS_TEST_TMPDIR/follow.log" ready
	run -0 "$D" stop det
	assert_eq "$output" det
	wait "$lp" || rc=$?
	assert_eq "$rc" 0
	grep -qx 'got TERM' "$BATS_TEST_TMPDIR/follow.log" || fail "logs -f: $(cat "$BATS_TEST_TMPDIR/follow.log")"
	run -0 "$D" inspect -f '{{.State.Status}} {{.State.ExitCode}}' det
	assert_eq "$output" 'exited 0'
	run -0 "$D" logs det
	assert_eq "$output" "ready
got TERM"
	run -0 "$D" rm det
	assert_eq "$output" det
	assert_eq "$(container_count)" 0
}

_inspect_status()
{
	local D=$1
	need_cli "$D"
	run -0 "$D" create --name st busybox sleep 3600
	run -0 "$D" inspect -f '{{.State.Status}}' st
	assert_eq "$output" created
	run -0 "$D" start st
	run -0 "$D" inspect -f '{{.State.Status}} {{.State.Running}} {{.Config.Image}}' st
	assert_eq "$output" 'running true busybox'
	run -0 "$D" kill st
	wait_status st exited
	run -0 "$D" inspect -f '{{.State.Status}} {{.State.ExitCode}}' st
	assert_eq "$output" 'exited 137'
	run -1 --separate-stderr "$D" inspect -f '{{.State.Status}}' nosuchcontainer
	assert_contains "$stderr" 'No such'
}

_ps_filter_label()
{
	local D=$1
	need_cli "$D"
	run -0 "$D" run -d --name lab --label a=b --label c=d busybox sleep 3600
	run -0 "$D" run -d --name lab2 --label a=x busybox sleep 3600
	run -0 "$D" run -d --name nolab busybox sleep 3600
	run -0 "$D" ps --filter label=a=b --format '{{.Names}}'
	assert_eq "$output" lab
	run -0 "$D" ps --filter label=a --format '{{.Names}}'
	assert_eq "$(sort <<<"$output" | tr '\n' ' ')" 'lab lab2 '
	run -0 "$D" ps -q --filter label=a=b --filter label=c=d
	assert_eq "$(grep -c . <<<"$output")" 1
	run -0 "$D" ps -q --filter label=nosuch
	assert_eq "$output" ""
	run -0 "$D" ps --format '{{.Names}}'
	assert_eq "$(grep -c . <<<"$output")" 3
}

_top()
{
	local D=$1
	need_cli "$D"
	run -0 "$D" run -d --name tp busybox sleep 3600
	run -0 "$D" top tp
	assert_match "$(head -1 <<<"$output")" 'PID'
	assert_contains "$output" 'sleep 3600'
	run -0 "$D" top tp -o pid,comm
	assert_contains "$output" sleep
}

_pause_unpause()
{
	local D=$1
	need_cli "$D"
	run -0 "$D" run -d --name pz busybox sleep 3600
	run -0 "$D" pause pz
	assert_eq "$output" pz
	run -0 "$D" inspect -f '{{.State.Status}} {{.State.Paused}}' pz
	assert_eq "$output" 'paused true'
	run -0 "$D" ps --format '{{.Status}}' --filter name=pz
	assert_contains "$output" '(Paused)'
	run ! "$D" exec pz true
	run -0 "$D" unpause pz
	run -0 "$D" inspect -f '{{.State.Status}} {{.State.Paused}}' pz
	assert_eq "$output" 'running false'
	run -0 "$D" exec pz echo alive
	assert_eq "$output" alive
}

_exec()
{
	local D=$1
	need_cli "$D"
	run -0 "$D" run -d --name ex busybox sleep 3600
	run -0 "$D" exec ex echo hi
	assert_eq "$output" hi
	run -4 "$D" exec ex sh -c 'exit 4'
	run -0 "$D" exec -e FOO=bar -w /tmp ex sh -c 'echo $FOO $(pwd)'
	assert_eq "$output" 'bar /tmp'
	run -0 "$D" exec -u nobody ex id -un
	assert_eq "$output" nobody
	run -0 bash -c "echo piped | '$D' exec -i ex cat"
	assert_eq "$output" piped
	# docker 20.10 answers 126 (any failed exec start records 126)
	run -126 "$D" exec ex nonexistent-cmd
	run -126 "$D" exec ex /etc
	run -1 --separate-stderr "$D" exec nosuchcontainer true
	assert_contains "$stderr" 'No such container'
}

_wait()
{
	local D=$1 wp
	need_cli "$D"
	run -0 "$D" run -d --name w5 busybox sh -c 'exit 5'
	run -0 "$D" wait w5
	assert_eq "$output" 5
	run -0 "$D" run -d --name wl busybox sleep 3600
	"$D" wait wl >"$BATS_TEST_TMPDIR/wait.out" 2>&1 &
	wp=$!
	run -0 "$D" kill wl
	wait "$wp"
	assert_eq "$(cat "$BATS_TEST_TMPDIR/wait.out")" 137
}

_run_it()
{
	local D=$1
	need_cli "$D"
	run -0 pty "$D run -it --rm busybox sh -c 'tty; echo ok'"
	assert_contains "$output" /dev/pts/
	assert_contains "$output" ok
	run -3 pty "$D run -it --rm busybox sh -c 'exit 3'"
	wait_for 30 container_count_is 0
}

_exec_it()
{
	local D=$1
	need_cli "$D"
	run -0 "$D" run -d --name xi busybox sleep 3600
	run -0 pty "$D exec -it xi sh -c 'tty; stty size; echo ok'"
	assert_contains "$output" /dev/pts/
	assert_contains "$output" ok
	run -6 pty "$D exec -it xi sh -c 'exit 6'"
	run -0 "$D" inspect -f '{{.State.Status}}' xi
	assert_eq "$output" running
}

# --- docker 28.x ---------------------------------------------------------------------------

@test "docker 28: run --rm busybox echo hello; exit codes" { _run_rm "$DOCKER_CLI_28"; }
@test "docker 28: run -d, logs -f, stop, rm" { _run_d_logs_stop_rm "$DOCKER_CLI_28"; }
@test "docker 28: inspect -f '{{.State.Status}}'" { _inspect_status "$DOCKER_CLI_28"; }
@test "docker 28: ps --filter label=a=b" { _ps_filter_label "$DOCKER_CLI_28"; }
@test "docker 28: top" { _top "$DOCKER_CLI_28"; }
@test "docker 28: pause / unpause" { _pause_unpause "$DOCKER_CLI_28"; }
@test "docker 28: exec, exit code propagated" { _exec "$DOCKER_CLI_28"; }
@test "docker 28: wait" { _wait "$DOCKER_CLI_28"; }
@test "docker 28: run -it under a pty" { _run_it "$DOCKER_CLI_28"; }
@test "docker 28: exec -it under a pty" { _exec_it "$DOCKER_CLI_28"; }

# --- docker 20.10 --------------------------------------------------------------------------

@test "docker 20.10: run --rm busybox echo hello; exit codes" { _run_rm "$DOCKER_CLI_20"; }
@test "docker 20.10: run -d, logs -f, stop, rm" { _run_d_logs_stop_rm "$DOCKER_CLI_20"; }
@test "docker 20.10: inspect -f '{{.State.Status}}'" { _inspect_status "$DOCKER_CLI_20"; }
@test "docker 20.10: ps --filter label=a=b" { _ps_filter_label "$DOCKER_CLI_20"; }
@test "docker 20.10: top" { _top "$DOCKER_CLI_20"; }
@test "docker 20.10: pause / unpause" { _pause_unpause "$DOCKER_CLI_20"; }
@test "docker 20.10: exec, exit code propagated" { _exec "$DOCKER_CLI_20"; }
@test "docker 20.10: wait" { _wait "$DOCKER_CLI_20"; }
@test "docker 20.10: run -it under a pty" { _run_it "$DOCKER_CLI_20"; }
@test "docker 20.10: exec -it under a pty" { _exec_it "$DOCKER_CLI_20"; }

# --- docker-py -----------------------------------------------------------------------------

@test "docker-py: run detached, logs, wait, remove, images.list, containers.list" {
	python3 -c 'import docker' 2>/dev/null || skip "python3-docker not installed"
	run -0 --separate-stderr python3 - "$E2E_SOCK" <<-'EOF'
		import sys
		import docker

		c = docker.DockerClient(base_url="unix://" + sys.argv[1], version="auto")
		assert c.ping()
		tags = [t for i in c.images.list() for t in i.tags]
		assert "busybox:latest" in tags, tags
		k = c.containers.run("busybox", ["sh", "-c", "echo out; echo err >&2; exit 3"],
		                     detach=True, name="py1", labels={"via": "py"})
		res = k.wait(timeout=120)
		assert res["StatusCode"] == 3, res
		assert k.logs(stdout=True, stderr=False) == b"out\n", k.logs()
		assert k.logs(stdout=False, stderr=True) == b"err\n"
		k.reload()
		assert k.status == "exited", k.status
		names = [x.name for x in c.containers.list(all=True)]
		assert "py1" in names, names
		assert [x.name for x in c.containers.list()] == []
		assert [x.name for x in c.containers.list(all=True, filters={"label": "via=py"})] == ["py1"]
		# a running one: list, exec, stop
		r = c.containers.run("busybox", ["sleep", "3600"], detach=True, name="py2")
		assert [x.name for x in c.containers.list()] == ["py2"]
		code, out = r.exec_run(["sh", "-c", "echo inside; exit 2"])
		assert (code, out) == (2, b"inside\n"), (code, out)
		r.kill()
		assert r.wait(timeout=120)["StatusCode"] == 137
		# foreground run returns the output; remove=True leaves nothing
		assert c.containers.run("busybox", ["echo", "hello"], remove=True) == b"hello\n"
		k.remove()
		r.remove()
		assert c.containers.list(all=True) == []
		try:
		    c.containers.get("py1")
		    raise SystemExit("py1 still exists")
		except docker.errors.NotFound:
		    pass
		try:
		    c.api.create_container("nosuch/image:9", ["true"])
		    raise SystemExit("create of an unknown image worked")
		except docker.errors.ImageNotFound:
		    pass
		print("docker-py ok")
	EOF
	assert_eq "$output" "docker-py ok"
	assert_eq "$(container_count)" 0
}

@test "the daemon did not crash during the suite" {
	assert_no_daemon_crash
}
