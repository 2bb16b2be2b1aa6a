#!/usr/bin/env bats
# Restart policies (no, on-failure[:N], always, unless-stopped): docker's
# back-off restarts, RestartCount, `stop` winning over a policy, and what
# happens when the daemon starts again: after a clean restart (live restore),
# and after a simulated host reboot (daemon, shims, containerd and the
# containers' processes killed by pid, mounts and the exec root gone).
# Containers that use another one (--volumes-from, --network container:)
# start after it. `start -a` forwards signals and exits with the container's
# code, as systemd units like docker's examples need.
#
# Expectations checked against dockerd 20.10 (E2E_TARGET=dockerd).

load helpers

setup_file()
{
	berthd_start
	# helpers' berthd_start records no extra arguments as '' (one empty
	# argument), which berthd_ensure would pass on: record nothing instead
	[ "$(tr -d ' ' <"$E2E_TMP/daemon.args")" != "''" ] || : >"$E2E_TMP/daemon.args"
	load_busybox
}

teardown_file() { berthd_stop; }

setup() { berthd_ensure; }

teardown()
{
	local ids
	ids=$(berth ps -aq 2>/dev/null) || true
	[ -z "$ids" ] || berth rm -f $ids >/dev/null 2>&1 || true
}

# wait_for CMD...: retry for up to 60 s (a bound so that a broken build fails
# instead of hanging, not a timing assertion).
wait_for()
{
	local i
	for ((i = 0; i < 600; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

field() { berth inspect -f "$2" "$1"; }
status_is() { [ "$(field "$1" '{{.State.Status}}' 2>/dev/null)" = "$2" ]; }
count_is() { [ "$(field "$1" '{{.RestartCount}}' 2>/dev/null)" = "$2" ]; }

# Events of one container between two unix times: their actions, one a line.
actions_of()
{
	api GET "/events?since=$2&until=$3&filters=$(jq -rn --arg c "$1" '{container: [$c]} | @uri')"
	assert_status 200
	printf '%s\n' "$HTTP_BODY" | jq -r 'select(.Type == "container") | .Action'
}

# The daemon's own command line, saved by berthd_start.
_respawn()
{
	local -a cmd
	# shellcheck disable=SC1091
	. "$E2E_TMP/daemon.cmd"
	rm -f "$E2E_SOCK" "$E2E_PIDFILE"
	eval "_e2e_spawn \"\${cmd[@]}\" $(cat "$E2E_TMP/daemon.args")"
}

_daemon_pid() { cat "$E2E_PIDFILE" 2>/dev/null || cat "$E2E_TMP/daemon.spawned-pid"; }

# Stop the daemon cleanly (SIGTERM) and start it again: containers keep
# running under their shims (berthd) and are re-adopted.
daemon_restart()
{
	local pid
	pid=$(_daemon_pid)
	if [ "$E2E_TARGET" = dockerd ]; then
		# dockerd stops its containers at shutdown unless live-restore is on
		skip "dockerd without --live-restore stops containers on SIGTERM"
	fi
	kill -TERM "$pid"
	_e2e_wait_gone 300 "$pid" || fail "daemon $pid did not stop"
	_respawn
}

# A host reboot as far as containers can tell: every process of the daemon,
# its shims (and dockerd's containerd) and the containers is SIGKILLed by
# pid, mounts below the test dir disappear, the exec root (a tmpfs /run on a
# real host) is emptied, the containers' cgroups are gone. Then the daemon
# starts on the same data root.
daemon_reboot()
{
	daemon_kill_all
	_e2e_umount_all
	rm -rf --one-file-system "${E2E_EXEC:?}"/*
	_e2e_remove_cgroups
	_respawn
}

# SIGKILL the daemon, its shims (dockerd: containerd and its shims) and the
# containers' processes by pid; their runtime state, mounts and cgroup
# directories stay behind.
daemon_kill_all()
{
	local -a pids=()
	local id p
	for id in $(berth ps -q --no-trunc); do
		p=$(field "$id" '{{.State.Pid}}')
		[ "$p" -gt 0 ] && pids+=("$p")
	done
	pids+=("$(_daemon_pid)")
	mapfile -t -O "${#pids[@]}" pids < <({ _e2e_pidfile_pids; _e2e_tmpdir_pids; } | sort -u)
	_e2e_kill_pids KILL "${pids[@]}"
	_e2e_wait_gone 100 "${pids[@]}" || fail "processes survived SIGKILL: ${pids[*]}"
}

@test "on-failure:3: a failing command runs 4 times, RestartCount 3, then stays exited" {
	local t0 t1
	t0=$(date +%s)
	run -0 berth run -d --name of3 --restart on-failure:3 busybox sh -c 'exit 3'
	wait_for eval 'status_is of3 exited && count_is of3 3'
	assert_eq "$(field of3 '{{.RestartCount}} {{.State.ExitCode}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}')" \
		'3 3 on-failure:3'
	# the policy is done: no fourth restart
	sleep 2
	assert_eq "$(field of3 '{{.State.Status}} {{.RestartCount}}')" "exited 3"
	t1=$(($(date +%s) + 1))
	assert_eq "$(actions_of of3 "$t0" "$t1" | grep -c '^start$')" 4
	assert_eq "$(actions_of of3 "$t0" "$t1" | grep -c '^die$')" 4
}

@test "on-failure: a successful exit is not restarted" {
	run -0 berth run -d --name ok --restart on-failure busybox true
	wait_for status_is ok exited
	sleep 1
	assert_eq "$(field ok '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}')" "exited 0 0"
}

@test "always: an exiting container is started again and RestartCount grows" {
	run -0 berth run -d --name alw --restart always busybox sh -c 'sleep 0.2; exit 1'
	wait_for eval '[ "$(field alw "{{.RestartCount}}")" -ge 2 ]'
	run -0 berth ps --filter name=alw --format '{{.Names}}'
}

# wait CLI: prints the exit code of the container's first exit (bounded, so
# that a wait that never returns fails instead of hanging).
_wait_first_exit()
{
	local cli=$1
	need_cli "$cli"
	run -0 berth run -d --name wa --restart always busybox sh -c 'sleep 1; exit 3'
	run -0 timeout 60 "$cli" wait wa
	assert_eq "$output" 3
	# waiting again (running or between two runs) ends at the next exit
	run -0 timeout 60 "$cli" wait wa
	assert_eq "$output" 3
	wait_for eval '[ "$(field wa "{{.RestartCount}}")" -ge 2 ]'
	run -0 field wa '{{.HostConfig.RestartPolicy.Name}}'
	assert_eq "$output" always
}

@test "wait: an always container's first exit ends the wait with its code while it restarts (API)" {
	run -0 berth run -d --name wa --restart always busybox sh -c 'sleep 1; exit 3'
	local c
	for c in '' '?condition=not-running' '?condition=next-exit'; do
		api POST "/containers/wa/wait$c" --max-time 60
		assert_status 200
		assert_eq "$(jq -r .StatusCode <<<"$HTTP_BODY")" 3
	done
	wait_for eval '[ "$(field wa "{{.RestartCount}}")" -ge 3 ]'
}

@test "wait: an always container's first exit ends berth wait" { _wait_first_exit "$BERTH_CLI"; }
@test "wait: an always container's first exit ends docker 28 wait" { _wait_first_exit "$DOCKER_CLI_28"; }
@test "wait: an always container's first exit ends docker 20.10 wait" { _wait_first_exit "$DOCKER_CLI_20"; }

@test "stop wins over always, also while a restart is pending" {
	run -0 berth run -d --name alw --restart always busybox sleep 1000
	run -0 berth stop -t 1 alw
	assert_eq "$(field alw '{{.State.Status}}')" exited
	# longer than the first back-off steps: nothing brings it back
	sleep 2
	assert_eq "$(field alw '{{.State.Status}} {{.RestartCount}}')" "exited 0"

	# a crash loop: catch it between two runs (restarting) and stop it
	run -0 berth run -d --name loop --restart always busybox sh -c 'sleep 0.3; exit 1'
	wait_for eval '[ "$(field loop "{{.RestartCount}}")" -ge 2 ]'
	run -0 berth stop -t 1 loop
	local n
	n=$(field loop '{{.RestartCount}}')
	sleep 2
	assert_eq "$(field loop '{{.State.Status}} {{.RestartCount}}')" "exited $n"
}

@test "SIGTERM while a restart back-off and a detached exec are pending: the daemon stops cleanly, the container comes back" {
	# a crash loop whose back-off (100 ms doubling) is longer than the stop
	run -0 berth run -d --name loop --restart always busybox sh -c 'exit 3'
	wait_for eval '[ "$(field loop "{{.RestartCount}}")" -ge 4 ]'
	# and a detached exec, whose exit a background thread waits for
	run -0 berth run -d --name ex busybox sleep 1000
	run -0 berth exec -d ex sleep 1000
	local pid n
	pid=$(_daemon_pid)
	n=$(field loop '{{.RestartCount}}')
	kill -TERM "$pid"
	# bounded, not a timing assertion: a back-off sleep must not hold the stop
	_e2e_wait_gone 300 "$pid" || fail "daemon $pid did not stop"
	_respawn
	wait_for eval '[ "$(field loop "{{.RestartCount}}")" -gt '"$n"' ]'
	assert_eq "$(field ex '{{.State.Status}}')" running
	run -0 berth exec ex true
	assert_no_daemon_crash
}

@test "kill -9 of the container process restarts an always container" {
	run -0 berth run -d --name alw --restart always busybox sleep 1000
	local pid
	pid=$(field alw '{{.State.Pid}}')
	kill -KILL "$pid"
	wait_for eval 'status_is alw running && count_is alw 1'
	[ "$(field alw '{{.State.Pid}}')" != "$pid" ] || fail "same pid after restart"
}

@test "update --restart changes the policy of a running container" {
	# exits (2) only once the policy is changed, however slow the machine
	run -0 berth run -d --name up busybox sh -c 'while [ ! -e /go ]; do sleep 0.1; done; exit 2'
	run -0 berth update --restart on-failure:1 up
	assert_eq "$output" "up"
	run -0 berth exec up touch /go
	wait_for eval 'status_is up exited && count_is up 1'
	assert_eq "$(field up '{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}')" on-failure:1
}

@test "daemon restart: running containers stay up; always comes back even if stopped, unless-stopped does not" {
	run -0 berth run -d --name alw --restart always busybox sleep 1000
	run -0 berth run -d --name alws --restart always busybox sleep 1000
	run -0 berth run -d --name uss --restart unless-stopped busybox sleep 1000
	run -0 berth run -d --name nop busybox sleep 1000
	run -0 berth stop -t 1 alws uss
	local pid
	pid=$(field alw '{{.State.Pid}}')
	daemon_restart
	# live restore: the same process, not a restart
	assert_eq "$(field alw '{{.State.Status}} {{.State.Pid}} {{.RestartCount}}')" "running $pid 0"
	assert_eq "$(field nop '{{.State.Status}}')" running
	# docker: "always" containers the user stopped start again with the daemon
	wait_for status_is alws running
	assert_eq "$(field alws '{{.RestartCount}}')" 0
	sleep 1
	assert_eq "$(field uss '{{.State.Status}}')" exited
}

@test "reboot: always and unless-stopped are running again, user-stopped and policy-less ones are not" {
	run -0 berth run -d --name alw --restart always busybox sleep 1000
	run -0 berth run -d --name us --restart unless-stopped busybox sleep 1000
	run -0 berth run -d --name uss --restart unless-stopped busybox sleep 1000
	run -0 berth run -d --name alws --restart always busybox sleep 1000
	run -0 berth run -d --name nop busybox sleep 1000
	run -0 berth run -d --name of3 --restart on-failure:3 busybox sh -c 'exit 3'
	run -0 berth stop -t 1 uss alws
	wait_for eval 'status_is of3 exited && count_is of3 3'
	local old_alw old_us
	old_alw=$(field alw '{{.State.Pid}}')
	old_us=$(field us '{{.State.Pid}}')

	daemon_reboot

	wait_for status_is alw running
	wait_for status_is us running
	wait_for status_is alws running
	[ "$(field alw '{{.State.Pid}}')" != "$old_alw" ] || fail "alw: same pid after reboot"
	[ "$(field us '{{.State.Pid}}')" != "$old_us" ] || fail "us: same pid after reboot"
	# they work: exec into one
	run -0 berth exec alw echo alive
	assert_eq "$output" alive
	sleep 1
	assert_eq "$(field uss '{{.State.Status}}')" exited
	assert_eq "$(field nop '{{.State.Status}}')" exited
	assert_eq "$(field of3 '{{.State.Status}} {{.RestartCount}}')" "exited 3"
	# and the next reboot again
	daemon_reboot
	wait_for status_is alw running
	wait_for status_is us running
}

@test "daemon, shims and containers killed by pid (state left behind): always and unless-stopped come back" {
	run -0 berth run -d --name alw --restart always busybox sleep 1000
	run -0 berth run -d --name us --restart unless-stopped busybox sleep 1000
	run -0 berth run -d --name nop busybox sleep 1000
	local old
	old=$(field alw '{{.State.Pid}}')
	daemon_kill_all
	_respawn
	wait_for status_is alw running
	wait_for status_is us running
	[ "$(field alw '{{.State.Pid}}')" != "$old" ] || fail "same pid"
	run -0 berth exec us echo alive
	sleep 1
	assert_eq "$(field nop '{{.State.Status}}')" exited
	# and they stop and restart normally afterwards
	run -0 berth restart -t 1 alw
	assert_eq "$(field alw '{{.State.Status}}')" running
}

@test "reboot: stop still wins afterwards" {
	run -0 berth run -d --name alw --restart always busybox sleep 1000
	daemon_reboot
	wait_for status_is alw running
	run -0 berth stop -t 1 alw
	sleep 2
	assert_eq "$(field alw '{{.State.Status}}')" exited
}

@test "reboot: --volumes-from and --network container: start after what they use" {
	run -0 berth run -d --name base --restart always busybox sleep 1000
	run -0 berth run -d --name vf --restart always --volumes-from base busybox sleep 1000
	run berth run -d --name net --restart always --network container:base busybox sleep 1000
	if [ "$status" -ne 0 ]; then
		assert_contains "$output" "needs the joined container's namespace path"
		skip "berthd refuses --network container: at create (container_create.c dry-run spec): $output"
	fi
	# the netns is the base container's
	local ns_base ns_net
	ns_base=$(readlink "/proc/$(field base '{{.State.Pid}}')/ns/net")
	ns_net=$(readlink "/proc/$(field net '{{.State.Pid}}')/ns/net")
	assert_eq "$ns_net" "$ns_base"

	daemon_reboot

	wait_for status_is base running
	wait_for status_is vf running
	wait_for status_is net running
	ns_base=$(readlink "/proc/$(field base '{{.State.Pid}}')/ns/net")
	ns_net=$(readlink "/proc/$(field net '{{.State.Pid}}')/ns/net")
	assert_eq "$ns_net" "$ns_base"
	# dockerd 20.10 only waits for --link targets; Berth orders these too
	[ "$E2E_TARGET" = berthd ] || return 0
	local t_base t_vf t_net
	t_base=$(field base '{{.State.StartedAt}}')
	t_vf=$(field vf '{{.State.StartedAt}}')
	t_net=$(field net '{{.State.StartedAt}}')
	[[ ! $t_vf < $t_base ]] || fail "vf started ($t_vf) before base ($t_base)"
	[[ ! $t_net < $t_base ]] || fail "net started ($t_net) before base ($t_base)"
}

@test "reboot: a stopped always container used by --volumes-from starts first" {
	run -0 berth run -d --name data --restart always busybox sleep 1000
	run -0 berth run -d --name user --restart always --volumes-from data busybox sleep 1000
	run -0 berth stop -t 1 data
	daemon_reboot
	wait_for status_is data running
	wait_for status_is user running
	[ "$E2E_TARGET" = berthd ] || return 0
	local t_data t_user
	t_data=$(field data '{{.State.StartedAt}}')
	t_user=$(field user '{{.State.StartedAt}}')
	[[ ! $t_user < $t_data ]] || fail "user started ($t_user) before data ($t_data)"
}

@test "start -a forwards SIGTERM and exits with the container's code" {
	run -0 berth create --name sa busybox sh -c 'trap "echo got TERM; exit 3" TERM; echo ready; while :; do sleep 0.1; done'
	local out=$BATS_TEST_TMPDIR/out
	# the CLI itself, not the berth() function's subshell, gets the signal
	"$BERTH_CLI" start -a sa >"$out" 2>&1 &
	local cli=$!
	wait_for grep -q ready "$out"
	kill -TERM "$cli"
	local rc=0
	wait "$cli" || rc=$?
	assert_eq "$rc" 3
	assert_contains "$(cat "$out")" "got TERM"
	assert_eq "$(field sa '{{.State.Status}} {{.State.ExitCode}}')" "exited 3"
}

@test "start -a exits with the container's code; stop from another client ends it (137: sleep ignores SIGTERM)" {
	run -0 berth create --name sb busybox sh -c 'exit 7'
	run -7 berth start -a sb
	run -0 berth create --name sc busybox sh -c 'echo ready; exec sleep 1000'
	local out=$BATS_TEST_TMPDIR/out
	"$BERTH_CLI" start -a sc >"$out" 2>&1 &
	local cli=$!
	wait_for grep -q ready "$out"
	run -0 berth stop -t 1 sc
	local rc=0
	wait "$cli" || rc=$?
	assert_eq "$rc" 137
}

@test "the daemon did not crash or hang during this suite" {
	assert_no_daemon_crash
}
