#!/usr/bin/env bats
# berth run -it / attach / exec -it under a real pty (a private tmux server):
# output and input, resize (stty size inside follows the terminal), detach
# with ctrl-p ctrl-q (and --detach-keys), attach again, exit codes.

# e2e: full-shim (scripts/e2e-run.sh: the instrumented shim, not berth-shim-lean)
load helpers

setup_file()
{
	berthd_start
	load_busybox
}
teardown_file()
{
	tmux_stop
	berthd_stop
}
setup() { berthd_ensure; }
teardown()
{
	tmux_stop
	reset_containers
}

# The shell prompt of busybox sh is "/ # ": wait for it before typing.
PROMPT='/ # '

# type_until SESSION LINE TEXT: type LINE (and Enter) until TEXT is on the
# screen (for effects that arrive asynchronously, such as a resize).
_typed_shows()
{
	tmux_send "$1" "$2" Enter
	sleep 0.3
	tmux_has "$1" "$3"
}
no_containers() { [ "$(container_count)" = 0 ]; }
type_until() { wait_for 30 _typed_shows "$@" || { tmux_screen "$1" >&2; return 1; }; }

@test "run -it: the shell answers under a pty" {
	tmux_start it1 80 24 "$BERTH_CLI run -it --rm --name it1 busybox sh"
	tmux_wait it1 "$PROMPT"
	tmux_send it1 'echo hel""lo from $(tty)' Enter
	tmux_wait it1 'hello from /dev/pts/0'
	tmux_send it1 'exit 3' Enter
	tmux_wait it1 '[exit 3]'
	wait_for 30 no_containers
}

@test "resize: stty size inside follows the terminal" {
	tmux_start rs 80 24 "$BERTH_CLI run -it --name rs busybox sh"
	tmux_wait rs "$PROMPT"
	tmux_send rs 'stty size' Enter
	tmux_wait rs '24 80'
	tmx resize-window -t rs -x 123 -y 37
	# the CLI sends the new size on SIGWINCH
	type_until rs 'stty size' '37 123'
	tmux_send rs 'exit' Enter
	tmux_wait rs '[exit 0]'
}

@test "ctrl-p ctrl-q detaches; attach again; exit ends the container" {
	tmux_start dt 80 24 "$BERTH_CLI run -it --name dt busybox sh"
	tmux_wait dt "$PROMPT"
	tmux_send dt 'echo first session' Enter
	tmux_wait dt 'first session'
	tmux_send dt C-p C-q
	tmux_wait dt '[exit 0]'
	assert_eq "$(cstatus dt)" running
	# the shell still runs and kept its state
	tmux_start at 100 30 "$BERTH_CLI attach dt"
	# attach shows nothing until there is output: make some
	type_until at 'echo second session' 'second session'
	type_until at 'stty size' '30 100'
	tmux_send at 'exit 5' Enter
	tmux_wait at '[exit 5]'
	wait_status dt exited
	assert_eq "$(cjq dt .State.ExitCode)" 5
	# the log of a tty container is the terminal's output
	logs_contain dt 'first session'
	logs_contain dt 'second session'
}

@test "--detach-keys: a custom sequence detaches, ctrl-p passes through" {
	tmux_start dk 80 24 "$BERTH_CLI run -it --detach-keys ctrl-x,x --name dk busybox sh"
	tmux_wait dk "$PROMPT"
	# ctrl-p is an ordinary key now (history in busybox sh): no detach
	tmux_send dk C-p C-q
	tmux_send dk C-u 'echo still here' Enter
	tmux_wait dk 'still here'
	tmux_send dk C-x x
	tmux_wait dk '[exit 0]'
	assert_eq "$(cstatus dk)" running
	run -0 berth stop -t 1 dk
}

@test "exec -it under a pty, with resize" {
	run -0 berth run -d --name ex busybox sleep 1000
	tmux_start ex 90 20 "$BERTH_CLI exec -it ex sh"
	tmux_wait ex "$PROMPT"
	tmux_send ex 'tty; stty size' Enter
	tmux_wait ex '20 90'
	tmx resize-window -t ex -x 70 -y 15
	type_until ex 'stty size' '15 70'
	tmux_send ex 'exit 4' Enter
	tmux_wait ex '[exit 4]'
	assert_eq "$(cstatus ex)" running
}

@test "exec -it: ctrl-p ctrl-q ends the exec session (berth and docker CLIs)" {
	run -0 berth run -d --name exd busybox sleep 1000
	local cli n=0
	for cli in "$BERTH_CLI" "$DOCKER_CLI_28" "$DOCKER_CLI_20"; do
		[ -x "$cli" ] || continue
		n=$((n + 1))
		tmux_start exd$n 80 24 "$cli exec -it exd sh"
		tmux_wait exd$n "$PROMPT"
		tmux_send exd$n 'echo in session' Enter
		tmux_wait exd$n 'in session'
		tmux_send exd$n C-p C-q
		# dockerd ends the session (and the CLI) instead of keeping the stream open
		tmux_wait exd$n '[exit '
		tmux_stop
	done
	assert_eq "$(cstatus exd)" running
}

@test "run -t without -i under script(1)" {
	run -0 script -qec "$BERTH_CLI run --rm -t busybox sh -c 'tty; echo done'" /dev/null
	assert_contains "$output" /dev/pts/0
	assert_contains "$output" done
	run -7 script -qec "$BERTH_CLI run --rm -t busybox sh -c 'exit 7'" /dev/null
}

@test "start -ai of a tty container" {
	run -0 berth create -it --name sa busybox sh
	tmux_start sa 80 24 "$BERTH_CLI start -ai sa"
	tmux_wait sa "$PROMPT"
	tmux_send sa 'echo started; exit 2' Enter
	tmux_wait sa '[exit 2]'
	assert_eq "$(cjq sa .State.ExitCode)" 2
}

@test "the daemon did not crash during the suite" {
	assert_no_daemon_crash
}
