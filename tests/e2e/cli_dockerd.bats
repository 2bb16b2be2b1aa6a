#!/usr/bin/env bats
# The berth CLI's container commands against a private, real dockerd 20.10:
# berth must behave like docker's own CLI (output, exit codes 125/126/127 or
# the container's, streams, tty, detach keys, signal proxying).
#
# The daemon is always dockerd here (skipped when it is not installed); the
# CLI under test is berth's (BERTH_CLI), or docker 20.10's own with
# E2E_TARGET=dockerd, which checks this suite's expectations.

load helpers

setup_file()
{
	[ -x "$DOCKERD" ] || skip "dockerd not installed"
	E2E_TARGET=dockerd berthd_start
	load_busybox
}

teardown_file() { berthd_stop; }

setup()
{
	[ -x "$DOCKERD" ] || skip "dockerd not installed"
	E2E_TARGET=dockerd berthd_ensure
	TMUX_L=berth-e2e-$$-${BATS_TEST_NUMBER}
}

teardown()
{
	tmux -L "$TMUX_L" kill-server 2>/dev/null || true
	rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$TMUX_L"
	local ids
	ids=$(berth ps -aq 2>/dev/null) || true
	[ -z "$ids" ] || berth rm -f $ids >/dev/null 2>&1 || true
}

# wait_for CMD...: retry a command for up to 30 s (no timing assertion: a
# bound so that a broken build fails instead of hanging).
wait_for()
{
	local i
	for ((i = 0; i < 300; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

state_is() { [ "$(berth inspect -f '{{.State.Status}}' "$1" 2>/dev/null)" = "$2" ]; }

# ---- a terminal (tmux) for -it ----

tmux_start() # CMD: run CMD in a 100x30 terminal
{
	tmux -L "$TMUX_L" new-session -d -s t -x 100 -y 30 "bash --norc --noprofile"
	tmux -L "$TMUX_L" send-keys -t t "export PS1='$ '" Enter
}
keys() { tmux -L "$TMUX_L" send-keys -t t "$@"; }
screen() { tmux -L "$TMUX_L" capture-pane -p -S -200 -t t; }
screen_has() { screen | grep -qF -- "$1"; }

# ---- run ----

@test "run --rm prints the output and exits 0" {
	run -0 --separate-stderr berth run --rm busybox echo hello
	assert_eq "$output" "hello"
	assert_eq "$stderr" ""
	run -0 berth ps -aq
	assert_eq "$output" ""
}

@test "run: the container's exit code" {
	run -3 berth run --rm busybox sh -c 'exit 3'
	run -0 berth run --rm busybox true
	run -1 berth run --rm busybox false
}

@test "run: stdout and stderr stay separate" {
	run -0 --separate-stderr berth run --rm busybox sh -c 'echo out; echo err >&2'
	assert_eq "$output" "out"
	assert_eq "$stderr" "err"
	run -0 --separate-stderr berth run --rm -a stderr busybox sh -c 'echo out; echo err >&2'
	assert_eq "$output" ""
	assert_eq "$stderr" "err"
}

@test "run: 127 for a missing command, 126 for a non-executable one" {
	run -127 --separate-stderr berth run --rm busybox nosuchcmd
	assert_contains "$stderr" ': Error response from daemon: '
	assert_contains "$stderr" 'executable file not found'
	run -126 --separate-stderr berth run --rm busybox /etc
	assert_contains "$stderr" 'permission denied'
}

@test "run: 125 for an unknown image, after docker's pull attempt" {
	run -125 --separate-stderr berth run --rm --pull missing nosuchimage:1.0
	assert_contains "$stderr" "Unable to find image 'nosuchimage:1.0' locally"
	assert_contains "$stderr" "See '"
	run -125 --separate-stderr berth run --rm --pull never nosuchimage:1.0
	assert_contains "$stderr" "No such image: nosuchimage:1.0"
}

@test "run: flag errors are 125 with docker's messages" {
	run -125 --separate-stderr berth run -m 1x busybox
	assert_contains "$stderr" "invalid argument \"1x\" for \"-m, --memory\" flag: invalid size: '1x'"
	run -125 --separate-stderr berth run --rm --restart always busybox
	assert_contains "$stderr" "Conflicting options: --restart and --rm."
	run -125 --separate-stderr berth run --nosuchflag busybox
	assert_contains "$stderr" "unknown flag: --nosuchflag"
	run -1 --separate-stderr berth run
	assert_contains "$stderr" "requires at least 1 argument"
	run -0 berth ps -aq
	assert_eq "$output" ""
}

@test "run: the input device is not a TTY" {
	run -1 --separate-stderr berth run -it --rm busybox true </dev/null
	assert_eq "$stderr" "the input device is not a TTY"
}

@test "run -i passes stdin and closes it at EOF" {
	run -0 --separate-stderr berth run -i --rm busybox sh -c 'cat; echo end' <<<"piped line"
	assert_eq "$output" "piped line
end"
}

@test "run: config flags reach the container" {
	run -0 berth run --rm -e FOO=bar -w /tmp -u 1:2 -h boxname --add-host db:10.1.2.3 busybox \
		sh -c 'echo $FOO $(pwd) $(id -u):$(id -g) $(hostname) $(grep db /etc/hosts | cut -f1)'
	assert_eq "$output" "bar /tmp 1:2 boxname 10.1.2.3"
	printf 'A=1\n# comment\nB=two words\n' >"$BATS_TEST_TMPDIR/env"
	run -0 berth run --rm --env-file "$BATS_TEST_TMPDIR/env" busybox sh -c 'echo "$A|$B"'
	assert_eq "$output" "1|two words"
	run -0 berth run --rm --entrypoint echo busybox a b
	assert_eq "$output" "a b"
	run -1 berth run --rm --read-only busybox touch /x
	run -0 berth run --rm --tmpfs /scratch busybox sh -c 'touch /scratch/x && echo ok'
	assert_eq "$output" "ok"
	run -0 berth run --rm --ulimit nofile=100:200 busybox sh -c 'ulimit -n'
	assert_eq "$output" "100"
	run -0 berth run --rm -v "$BATS_TEST_TMPDIR:/mnt:ro" busybox cat /mnt/env
	assert_contains "$output" "B=two words"
	run -0 berth run --rm --init busybox ps -o comm
	assert_contains "$output" "init"
}

@test "run -d prints the full ID; logs -f follows until the container exits" {
	run -0 berth run -d --name counter busybox sh -c 'for i in 1 2 3; do echo line $i; echo err $i >&2; sleep 0.2; done'
	assert_match "$output" '^[0-9a-f]{64}$'
	run -0 --separate-stderr berth logs -f counter
	assert_eq "$output" "line 1
line 2
line 3"
	assert_eq "$stderr" "err 1
err 2
err 3"
	run -0 --separate-stderr berth logs --tail 2 counter
	assert_eq "$output" "line 3"
	assert_eq "$stderr" "err 3"
	run -0 --separate-stderr berth logs -t --tail 2 counter
	assert_match "$output" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z line 3$'
	run -0 berth wait counter
	assert_eq "$output" "0"
	run -0 berth rm counter
	assert_eq "$output" "counter"
}

@test "run -d + stop + start + restart + rm" {
	run -0 berth run -d --name svc busybox sleep 1000
	run -0 berth stop -t 1 svc
	assert_eq "$output" "svc"
	state_is svc exited
	run -0 berth start svc
	assert_eq "$output" "svc"
	state_is svc running
	run -0 berth restart -t 0 svc
	state_is svc running
	run -1 --separate-stderr berth rm svc
	assert_contains "$stderr" "You cannot remove a running container"
	run -0 berth rm -f svc
	run -1 --separate-stderr berth rm svc
	assert_eq "$stderr" "Error: No such container: svc"
	run -0 --separate-stderr berth rm -f svc
	assert_eq "$stderr" "Error: No such container: svc"
}

@test "logs of a tty container are raw" {
	run -0 berth run -d -t --name ttyc busybox sh -c 'echo tty-out; echo tty-err >&2'
	wait_for state_is ttyc exited
	run -0 --separate-stderr berth logs ttyc
	assert_eq "$output" $'tty-out\r\ntty-err\r'
	assert_eq "$stderr" ""
}

# ---- ps ----

@test "ps: docker's columns, -q, -a, --filter, --format" {
	berth run -d --name web -l app=web busybox sleep 1000 >/dev/null
	berth create --name made busybox true >/dev/null
	run -0 berth ps
	assert_match "${lines[0]}" '^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$'
	assert_match "${lines[1]}" '^[0-9a-f]{12} +busybox +"sleep 1000" +.* ago +Up .* +web$'
	assert_eq "${#lines[@]}" 2
	run -0 berth ps -a --format '{{.Names}} {{.State}} {{.Label "app"}}'
	assert_eq "$output" "made created 
web running web"
	run -0 berth ps -q --filter label=app=web
	assert_match "$output" '^[0-9a-f]{12}$'
	run -0 berth ps -a --no-trunc -q
	assert_eq "${#lines[@]}" 2
	assert_match "${lines[0]}" '^[0-9a-f]{64}$'
	run -0 berth ps -l --format '{{.Names}} {{.Command}}'
	assert_eq "$output" 'made "true"'
	run -0 berth container ls -a -n 5 --format 'table {{.Names}}\t{{.Image}}'
	assert_match "${lines[0]}" '^NAMES +IMAGE$'
	run -125 --separate-stderr berth ps --filter nonsense
	assert_contains "$stderr" "bad format of filter (expected name=value)"
}

@test "ps --format json and -s" {
	berth run -d --name jj busybox sleep 1000 >/dev/null
	run -0 berth ps --format '{{json .}}'
	assert_eq "$(jq -r '.Names + " " + .State' <<<"$output")" "jj running"
	run -0 berth ps -s --format '{{.Size}}'
	assert_match "$output" 'B \(virtual .*B\)$'
}

# ---- exec / top / pause / rename / kill ----

@test "exec: output, exit code, -i, -e, -w, -u, -d" {
	berth run -d --name ex busybox sleep 1000 >/dev/null
	run -0 berth exec ex echo hi
	assert_eq "$output" "hi"
	run -4 berth exec ex sh -c 'exit 4'
	run -0 berth exec -e A=1 -w /tmp -u 5 ex sh -c 'echo $A $(pwd) $(id -u)'
	assert_eq "$output" "1 /tmp 5"
	run -0 berth exec -i ex cat <<<"stdin to exec"
	assert_eq "$output" "stdin to exec"
	run -0 berth exec -d ex touch /detached
	wait_for berth exec ex test -f /detached
	run -1 --separate-stderr berth exec nosuch true
	assert_eq "$stderr" "Error: No such container: nosuch"
	berth stop -t 0 ex >/dev/null
	run -1 --separate-stderr berth exec ex true
	assert_contains "$stderr" "is not running"
}

@test "top, pause, unpause, rename, kill, wait" {
	berth run -d --name t1 busybox sleep 1000 >/dev/null
	run -0 berth top t1
	assert_match "${lines[0]}" '^UID +PID +PPID +C +STIME +TTY +TIME +CMD$'
	assert_contains "$output" "sleep 1000"
	run -0 berth top t1 -o pid,comm
	assert_match "${lines[0]}" '^PID +COMMAND$'
	run -0 berth pause t1
	assert_eq "$output" "t1"
	state_is t1 paused
	run -0 berth unpause t1
	state_is t1 running
	run -0 berth rename t1 t2
	assert_eq "$output" ""
	run -1 --separate-stderr berth rename t1 t3
	assert_eq "$stderr" "Error response from daemon: No such container: t1
Error: failed to rename container named t1"
	run -0 berth kill -s KILL t2
	assert_eq "$output" "t2"
	run -0 berth wait t2
	assert_eq "$output" "137"
	run -1 --separate-stderr berth kill t2
	assert_contains "$stderr" "is not running"
}

@test "start -a returns the exit code; start of several, one missing" {
	berth create --name s1 busybox sh -c 'echo from-s1; exit 7' >/dev/null
	run -7 berth start -a s1
	assert_eq "$output" "from-s1"
	berth create --name s2 busybox true >/dev/null
	run -1 --separate-stderr berth start s2 nosuch
	assert_eq "$output" "s2"
	assert_eq "$stderr" "Error response from daemon: No such container: nosuch
Error: failed to start containers: nosuch"
}

@test "container prune removes stopped containers" {
	berth create --name p1 busybox true >/dev/null
	berth run -d --name p2 busybox sleep 1000 >/dev/null
	run -0 berth container prune -f
	assert_contains "$output" "Deleted Containers:"
	assert_contains "$output" "Total reclaimed space:"
	run -0 berth ps -a --format '{{.Names}}'
	assert_eq "$output" "p2"
}

# ---- signals ----

@test "run proxies SIGTERM to the container (sig-proxy)" {
	"$BERTH_CLI" run --rm --name sp busybox sh -c 'trap "echo got TERM; exit 4" TERM; echo ready; while :; do sleep 0.1; done' \
		>"$BATS_TEST_TMPDIR/out" 2>&1 &
	local pid=$!
	wait_for grep -q ready "$BATS_TEST_TMPDIR/out"
	kill -TERM $pid
	local rc=0
	wait $pid || rc=$?
	assert_eq "$rc" 4
	assert_eq "$(cat "$BATS_TEST_TMPDIR/out")" "ready
got TERM"
}

@test "run --sig-proxy=false: the CLI dies of the signal, the container runs on" {
	"$BERTH_CLI" run --name nsp --sig-proxy=false busybox sh -c 'echo ready; sleep 1000' >"$BATS_TEST_TMPDIR/out" 2>&1 &
	local pid=$!
	wait_for grep -q ready "$BATS_TEST_TMPDIR/out"
	kill -TERM $pid
	local rc=0
	wait $pid || rc=$?
	assert_eq "$rc" 143
	state_is nsp running
}

# ---- terminals ----

# term_run NAME ARGS...: run `berth ARGS...` in the terminal through a script
# that records the CLI's pid in $BATS_TEST_TMPDIR/NAME.pid.
term_run()
{
	local name=$1 f
	shift
	f=$BATS_TEST_TMPDIR/$name.sh
	rm -f "$BATS_TEST_TMPDIR/$name.pid"
	{
		echo "echo \$\$ >'$BATS_TEST_TMPDIR/$name.pid'"
		printf 'exec %q' "$BERTH_CLI"
		printf ' %q' "$@"
		echo
	} >"$f"
	keys "clear; sh $f; echo $name-rc=\$?" Enter
	wait_for test -s "$BATS_TEST_TMPDIR/$name.pid"
}
term_pid() { cat "$BATS_TEST_TMPDIR/$1.pid"; }
gone() { ! kill -0 "$1" 2>/dev/null; }

@test "run -it under a terminal: tty size, resize, detach with ctrl-p ctrl-q, re-attach" {
	command -v tmux >/dev/null || skip "tmux not installed"
	tmux_start
	term_run run run -it --name itx busybox sh
	wait_for screen_has "/ #"
	keys "echo size-1:\$(stty size) \$((6*7))" Enter
	wait_for screen_has "size-1:30 100 42"
	tmux -L "$TMUX_L" resize-window -t t -x 120 -y 40
	keys "echo size-2:\$(stty size)" Enter
	wait_for screen_has "size-2:40 120"
	keys C-p C-q
	wait_for screen_has "run-rc=0"
	state_is itx running

	term_run att attach itx
	keys "echo back-in" Enter
	wait_for screen_has "back-in"
	keys C-p C-q
	wait_for screen_has "att-rc=1"
	screen_has "read escape sequence"

	term_run ex exec -it itx sh
	keys "echo size-3:\$(stty size)" Enter
	wait_for screen_has "size-3:40 120"
	keys "exit 5" Enter
	wait_for screen_has "ex-rc=5"

	term_run att2 attach itx
	keys "exit 9" Enter
	wait_for screen_has "att2-rc=9"
	state_is itx exited
}

@test "run -it restores the terminal when the CLI is killed" {
	command -v tmux >/dev/null || skip "tmux not installed"
	tmux_start
	term_run kt run -it --rm --sig-proxy=false --name kt busybox sh
	wait_for screen_has "/ #"
	local pid
	pid=$(term_pid kt)
	kill -TERM "$pid"
	wait_for gone "$pid"
	wait_for screen_has "kt-rc=143"
	keys "clear; stty -a | grep -o -- '-*icanon' | head -1" Enter
	wait_for screen_has "icanon"
	run screen
	assert_not_contains "$output" "-icanon"
}

@test "the daemon survived the suite" {
	assert_no_daemon_crash
}
