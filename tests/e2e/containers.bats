#!/usr/bin/env bats
# Containers through the berth CLI (and the raw API where the CLI hides the
# daemon's answer): run, exit codes, detached containers and their logs,
# ps, inspect, top, pause, rename, kill, restart, wait, create + start -a,
# bad input (nothing created), the container config (env, workdir, user,
# entrypoint, hostname, hosts, labels), --read-only, network modes, --init,
# exec.
# Every test starts from an empty container table (teardown removes all).

load helpers

setup_file()
{
	berthd_start
	load_busybox
}
teardown_file() { berthd_stop; }
setup() { berthd_ensure; }
teardown()
{
	reset_containers
	# an image a test made (CLEANUP_IMAGE=ref)
	[ -z "${CLEANUP_IMAGE:-}" ] || api DELETE "/images/$CLEANUP_IMAGE?force=1" || true
}

# A process that logs "ready", and "got TERM" then exits 0 on SIGTERM.
TRAP_TERM='trap "echo got TERM; exit 0" TERM; echo ready; while true; do sleep 0.1; done'

# --- run -----------------------------------------------------------------------

@test "run --rm echo hello prints hello and leaves nothing" {
	run -0 --separate-stderr berth run --rm busybox echo hello
	assert_eq "$output" hello
	assert_eq "$(container_count)" 0
}

@test "run: exit code of the container (sh -c 'exit 3')" {
	run -3 berth run --rm busybox sh -c 'exit 3'
	run -0 berth run --rm busybox true
	run -1 berth run --rm busybox false
	assert_eq "$(container_count)" 0
}

@test "run: 127 for a command that does not exist, nothing left with --rm" {
	run -127 --separate-stderr berth run --rm busybox nonexistent-cmd
	assert_contains "$stderr" 'executable file not found'
	assert_contains "$stderr" 'OCI runtime create failed'
	wait_for 30 container_count_is 0
}

@test "run -d: 127 and docker's message when the one runtime exec (run) fails; the container records it" {
	run -127 --separate-stderr berth run -d --name nf_d busybox nonexistent-cmd
	assert_contains "$stderr" 'executable file not found'
	assert_contains "$stderr" 'OCI runtime create failed'
	assert_eq "$(berth inspect -f '{{.State.ExitCode}} {{.State.Status}}' nf_d)" "127 created"
	assert_contains "$(berth inspect -f '{{.State.Error}}' nf_d)" 'executable file not found'
	run -0 berth rm nf_d
}

@test "run: 126 for a command that cannot be executed" {
	run -126 --separate-stderr berth run --rm busybox /etc
	assert_contains "$stderr" 'permission denied'
	wait_for 30 container_count_is 0
}

@test "run: 125 for a bad flag, nothing created" {
	run -125 --separate-stderr berth run --rm --no-such-flag busybox true
	assert_contains "$stderr" 'unknown flag'
	assert_eq "$(container_count)" 0
}

@test "run without --rm keeps the exited container with its exit code" {
	run -7 berth run --name keep busybox sh -c 'echo out; echo err >&2; exit 7'
	assert_eq "$(cstatus keep)" exited
	assert_eq "$(cjq keep .State.ExitCode)" 7
	run -0 --separate-stderr berth logs keep
	assert_eq "$output" out
	assert_eq "$stderr" err
}

@test "run reads stdin with -i" {
	run -0 bash -c "printf 'line1\nline2\n' | '$BERTH_CLI' run --rm -i busybox sh -c 'wc -l; cat /proc/self/fd/0 >/dev/null'"
	assert_eq "$(tr -d ' ' <<<"$output")" 2
}

# random bytes hold ctrl-p ctrl-q: without a tty they are data, not detach keys;
# and stdin faster than the container reads must not stall its output
_stdin_roundtrip()
{
	local cli=$1
	need_cli "$cli"
	head -c 10000000 /dev/urandom >"$BATS_TEST_TMPDIR/in"
	run -0 berth run -d --name cat busybox sleep 1000
	"$cli" run --rm -i busybox cat <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out" ||
		fail "$cli run -i failed"
	cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out" || fail "$cli run -i: output differs"
	"$cli" exec -i cat cat <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out" || fail "$cli exec -i failed"
	cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out" || fail "$cli exec -i: output differs"
}

@test "stdin: 10 MB of binary data round-trip through run -i and exec -i (berth)" {
	_stdin_roundtrip "$BERTH_CLI"
	run -0 berth run --rm -i busybox sh -c 'cat >/dev/null; echo read all' <"$BATS_TEST_TMPDIR/in"
	assert_eq "$output" 'read all'
}
@test "stdin: 10 MB of binary data round-trip through run -i and exec -i (docker 20.10)" { _stdin_roundtrip "$DOCKER_CLI_20"; }
@test "stdin: 10 MB of binary data round-trip through run -i and exec -i (docker 28)" { _stdin_roundtrip "$DOCKER_CLI_28"; }

@test "run -a stdout only shows stdout" {
	run -0 --separate-stderr berth run --rm -a stdout busybox sh -c 'echo out; echo err >&2'
	assert_eq "$output" out
	assert_eq "$stderr" ""
}

# --- detached: logs, stop, rm ------------------------------------------------------

@test "run -d, logs -f, stop, rm" {
	run -0 berth run -d --name det busybox sh -c "$TRAP_TERM"
	local id=$output
	assert_match "$id" '^[0-9a-f]{64}$'
	wait_for 30 logs_contain det ready
	assert_eq "$(cstatus det)" running
	local out=$BATS_TEST_TMPDIR/follow.out
	berth logs -f det >"$out" 2>&1 3>&- &
	local follower=$!
	wait_for 30 grep -q ready "$out"
	run -0 berth stop det
	assert_eq "$output" det
	# logs -f ends by itself when the container stops
	wait "$follower"
	assert_eq "$(cat "$out")" "ready
got TERM"
	assert_eq "$(cstatus det)" exited
	assert_eq "$(cjq det .State.ExitCode)" 0
	run -0 berth rm det
	assert_eq "$output" det
	run -1 berth inspect det
	api GET "/containers/$id/json"
	assert_status 404
	assert_message "No such container: $id"
}

@test "stop: SIGKILL after the timeout when SIGTERM is ignored" {
	run -0 berth run -d --name stubborn busybox sh -c 'trap "" TERM; echo ready; while true; do sleep 0.1; done'
	wait_for 30 logs_contain stubborn ready
	run -0 berth stop -t 1 stubborn
	assert_eq "$(cstatus stubborn)" exited
	assert_eq "$(cjq stubborn .State.ExitCode)" 137
}

@test "--stop-signal is used by stop" {
	run -0 berth run -d --name sig --stop-signal USR1 busybox sh -c 'trap "echo got USR1; exit 9" USR1; echo ready; while true; do sleep 0.1; done'
	wait_for 30 logs_contain sig ready
	assert_eq "$(cjq sig .Config.StopSignal)" USR1
	run -0 berth stop sig
	assert_eq "$(cjq sig .State.ExitCode)" 9
	logs_contain sig 'got USR1'
}

@test "rm of a running container is refused (409) unless forced" {
	run -0 berth run -d --name busy busybox sleep 1000
	api DELETE /containers/busy
	assert_status 409
	assert_contains "$(jq -r .message <<<"$HTTP_BODY")" 'You cannot remove a running container'
	run -1 --separate-stderr berth rm busy
	assert_contains "$stderr" 'You cannot remove a running container'
	run -0 berth rm -f busy
	assert_eq "$(container_count)" 0
}

# the host pids of a container's init and of its children
ctr_pids()
{
	local pid
	pid=$(cjq "$1" .State.Pid) || return 1
	echo "$pid"
	tr ' ' '\n' <"/proc/$pid/task/$pid/children" | grep .
}

pids_gone()
{
	local p
	for p in "$@"; do
		[ ! -e "/proc/$p" ] || grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null || return 1
	done
}

@test "rm -f of many running containers at once: each goes with its processes, mount and layer directories" {
	local base pids=() names=()
	# the image's init layer is made by its first container and stays
	run -0 berth rm "$(berth create busybox true)"
	base=$(driver_layer_dirs)
	local name
	names=(many1 many2 many3 many4 many5 many6 many7 many8)
	for name in "${names[@]}"; do
		run -0 berth run -d --name "$name" busybox sh -c 'sleep 1000 & sleep 1000'
	done
	for name in "${names[@]}"; do
		wait_for 30 test "$(ctr_pids "$name" | wc -l)" -ge 2 || fail "$name has no child yet"
		pids+=($(ctr_pids "$name"))
	done
	run -0 berth rm -f "${names[@]}"
	assert_eq "$(container_count)" 0
	wait_for 30 pids_gone "${pids[@]}" || fail "processes left: $(for p in "${pids[@]}"; do [ -e /proc/$p ] && echo $p; done)"
	assert_eq "$(driver_layer_dirs)" "$base"
	run -1 grep -F "$E2E_DATA/" /proc/self/mountinfo
}

@test "rm -f of a container in the host's pid namespace ends its other processes too" {
	local pids
	run -0 berth run -d --pid=host --name hostpid busybox sh -c 'sleep 1000 & sleep 1000'
	wait_for 30 test "$(ctr_pids hostpid | wc -l)" -ge 2 || fail "no child yet"
	pids=$(ctr_pids hostpid)
	run -0 berth rm -f hostpid
	wait_for 30 pids_gone $pids || fail "processes left of $pids"
}

@test "logs: --tail, -t, stdout/stderr streams" {
	run -0 berth run --name lg busybox sh -c 'for i in 1 2 3 4 5; do echo line$i; done'
	run -0 --separate-stderr berth logs --tail 2 lg
	assert_eq "$output" "$(printf 'line4\nline5')"
	run -0 berth logs --tail 1 -t lg
	assert_match "$output" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z line5$'
	run -0 berth run --name lg2 busybox sh -c 'echo out1; echo err1 >&2; echo out2'
	run -0 --separate-stderr berth logs lg2
	assert_eq "$output" "$(printf 'out1\nout2')"
	assert_eq "$stderr" err1
	api GET '/containers/lg2/logs?stderr=1'
	assert_status 200
	assert_eq "$(printf '%s' "$HTTP_BODY" | head -c 1 | od -An -tu1 | tr -d ' ')" 2
	api GET '/containers/lg2/logs'
	assert_status 400
}

@test "logs --since / --until select by the line's time (inclusive)" {
	run -0 berth run --name lsu busybox sh -c 'for i in 1 2 3 4 5; do echo l$i; sleep 0.05; done'
	run -0 berth logs -t lsu
	local t2=${lines[1]%% *} t4=${lines[3]%% *}
	run -0 berth logs --since "$t2" lsu
	assert_eq "$output" "$(printf 'l2\nl3\nl4\nl5')"
	run -0 berth logs --until "$t4" lsu
	assert_eq "$output" "$(printf 'l1\nl2\nl3\nl4')"
	run -0 berth logs --since "$t2" --until "$t4" lsu
	assert_eq "$output" "$(printf 'l2\nl3\nl4')"
}

@test "logs of a tty container are raw" {
	run -0 berth run -t --name tlog busybox sh -c 'printf "a\tb\n"'
	run -0 berth logs tlog
	assert_eq "$output" $'a\tb\r'
}

# --- ps --------------------------------------------------------------------------

@test "ps: running only by default, -a, -q, -n, -l, newest first" {
	run -0 berth create --name c1 busybox true
	local id1=$output
	run -0 berth run -d --name c2 busybox sleep 1000
	local id2=$output
	run -4 berth run --name c3 busybox sh -c 'exit 4'
	local id3
	id3=$(cjq c3 .Id)
	run -0 berth ps
	assert_match "${lines[0]}" '^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$'
	assert_eq "${#lines[@]}" 2
	assert_match "${lines[1]}" "^${id2:0:12} +busybox +\"sleep 1000\" +.* ago +Up .* +c2\$"
	run -0 berth ps -a -q
	assert_eq "${#lines[@]}" 3
	run -0 berth ps -a --format '{{.Names}}'
	assert_eq "$output" "$(printf 'c3\nc2\nc1')"
	run -0 berth ps -a --format '{{.Names}} {{.Status}}'
	assert_match "${lines[0]}" '^c3 Exited \(4\) .* ago$'
	assert_match "${lines[1]}" '^c2 Up '
	assert_eq "${lines[2]}" 'c1 Created'
	run -0 berth ps -n 2 --format '{{.Names}}'
	assert_eq "$output" "$(printf 'c3\nc2')"
	run -0 berth ps -l -q --no-trunc
	assert_eq "$output" "$id3"
	run -0 berth ps -a --no-trunc --format '{{.ID}}'
	assert_contains "$output" "$id1"
}

@test "ps --filter: label, name, status, exited, id, ancestor, before/since" {
	run -0 berth create --name f1 -l color=red -l tier=web busybox true
	run -0 berth run -d --name f2 -l color=blue busybox sleep 1000
	run -2 berth run --name f3 -l color=red busybox sh -c 'exit 2'
	run -0 berth ps -a --filter label=color=red --format '{{.Names}}'
	assert_eq "$output" "$(printf 'f3\nf1')"
	run -0 berth ps -a --filter label=tier --format '{{.Names}}'
	assert_eq "$output" f1
	run -0 berth ps -a --filter label=color=red --filter label=tier=web --format '{{.Names}}'
	assert_eq "$output" f1
	run -0 berth ps -a --filter name=f2 --format '{{.Names}}'
	assert_eq "$output" f2
	run -0 berth ps -a --filter status=exited --format '{{.Names}}'
	assert_eq "$output" f3
	run -0 berth ps -a --filter status=created --format '{{.Names}}'
	assert_eq "$output" f1
	run -0 berth ps --filter status=running --format '{{.Names}}'
	assert_eq "$output" f2
	run -0 berth ps -a --filter exited=2 --format '{{.Names}}'
	assert_eq "$output" f3
	run -0 berth ps -a --filter "id=$(cjq f2 .Id | cut -c1-10)" --format '{{.Names}}'
	assert_eq "$output" f2
	run -0 berth ps -a --filter ancestor=busybox --format '{{.Names}}'
	assert_eq "$output" "$(printf 'f3\nf2\nf1')"
	run -0 berth ps -a --filter before=f3 --format '{{.Names}}'
	assert_eq "$output" "$(printf 'f2\nf1')"
	run -0 berth ps -a --filter since=f1 --format '{{.Names}}'
	assert_eq "$output" "$(printf 'f3\nf2')"
	run -0 berth ps -a --filter label=color=green -q
	assert_eq "$output" ""
	run -1 --separate-stderr berth ps --filter status=bogus
	assert_contains "$stderr" "Invalid filter 'status=bogus'"
}

# _list_entry_is_inspect REF: its containers/json entry agrees with its
# inspect document (name, state, command, labels, networks)
_list_entry_is_inspect()
{
	local ins ent
	api GET "/containers/$1/json"
	ins=$HTTP_BODY
	api GET '/containers/json?all=1'
	ent=$(printf '%s' "$HTTP_BODY" | jq -c --arg id "$(printf '%s' "$ins" | jq -r .Id)" '.[] | select(.Id == $id)')
	assert_eq "$(printf '%s' "$ent" | jq -r '.Names[0]')" "$(printf '%s' "$ins" | jq -r .Name)"
	local st
	st=$(printf '%s' "$ins" | jq -r 'if .State.Status == "exited" and .State.StartedAt[0:4] == "0001" then "created" else .State.Status end')
	assert_eq "$(printf '%s' "$ent" | jq -r .State)" "$st"
	assert_eq "$(printf '%s' "$ent" | jq -c .Labels)" "$(printf '%s' "$ins" | jq -c '.Config.Labels // {}')"
	assert_eq "$(printf '%s' "$ent" | jq -c .NetworkSettings.Networks)" "$(printf '%s' "$ins" | jq -c .NetworkSettings.Networks)"
	assert_eq "$(printf '%s' "$ent" | jq -r .HostConfig.NetworkMode)" "$(printf '%s' "$ins" | jq -r .HostConfig.NetworkMode)"
}

# _ps_shows REF FORMAT REGEX: the list agrees with inspect, ps -a prints REGEX
_ps_shows()
{
	_list_entry_is_inspect "$1"
	run -0 berth ps -a --format "$2"
	assert_match "$output" "$3"
}

@test "containers/json follows every change of a container (start, pause, rename, stop, restart)" {
	run -0 berth create --name lc1 -l k=v --network none busybox sleep 1000
	_ps_shows lc1 '{{.Names}} {{.Status}} {{.Command}}' '^lc1 Created "sleep 1000"$'
	run -0 berth start lc1
	_ps_shows lc1 '{{.Names}} {{.State}}' '^lc1 running$'
	run -0 berth pause lc1
	_ps_shows lc1 '{{.Status}}' '^Up .* \(Paused\)$'
	run -0 berth unpause lc1
	run -0 berth rename lc1 lc2
	_ps_shows lc2 '{{.Names}}' '^lc2$'
	run -0 berth stop -t 0 lc2
	_ps_shows lc2 '{{.Names}} {{.Status}}' '^lc2 Exited \(137\) .* ago$'
	run -0 berth start lc2
	_ps_shows lc2 '{{.Names}} {{.State}}' '^lc2 running$'
}

@test "ps --format table and json-ish fields" {
	run -0 berth run -d --name fmt -l k=v busybox sleep 1000
	run -0 berth ps --format 'table {{.Names}}\t{{.Image}}\t{{.Command}}\t{{.Label "k"}}'
	assert_match "${lines[0]}" '^NAMES +IMAGE +COMMAND +'
	assert_match "${lines[1]}" '^fmt +busybox +"sleep 1000" +v$'
	run -0 berth ps --format '{{json .Labels}}'
	assert_eq "$output" '"k=v"'
}

# --- inspect ------------------------------------------------------------------------

@test "inspect -f '{{.State.Status}}' through the lifecycle" {
	run -0 berth create --name life busybox sleep 1000
	run -0 berth inspect -f '{{.State.Status}}' life
	assert_eq "$output" created
	run -0 berth start life
	run -0 berth inspect -f '{{.State.Status}} {{.State.Running}}' life
	assert_eq "$output" 'running true'
	run -0 berth pause life
	run -0 berth inspect -f '{{.State.Status}} {{.State.Paused}}' life
	assert_eq "$output" 'paused true'
	run -0 berth unpause life
	run -0 berth kill life
	run -0 berth inspect -f '{{.State.Status}} {{.State.ExitCode}}' life
	assert_eq "$output" 'exited 137'
}

@test "inspect: docker's shape; Config.Image as given; Path and Args" {
	run -0 berth create --name shape busybox:latest echo a b
	run -0 berth inspect shape
	local doc=$output
	assert_eq "$(jq -r '.[0].Config.Image' <<<"$doc")" busybox:latest
	assert_eq "$(jq -r '.[0].Image' <<<"$doc")" "$BUSYBOX_ID"
	assert_eq "$(jq -r '.[0].Path' <<<"$doc")" echo
	assert_eq "$(jq -c '.[0].Args' <<<"$doc")" '["a","b"]'
	assert_eq "$(jq -r '.[0].Name' <<<"$doc")" /shape
	assert_eq "$(jq -r '.[0].State.StartedAt' <<<"$doc")" 0001-01-01T00:00:00Z
	assert_eq "$(jq -r '.[0].HostConfig.LogConfig.Type' <<<"$doc")" json-file
	local k
	for k in Id Created Path Args State Image ResolvConfPath HostnamePath HostsPath LogPath Name RestartCount \
		Driver Platform MountLabel ProcessLabel AppArmorProfile ExecIDs HostConfig GraphDriver Mounts Config \
		NetworkSettings; do
		jq -e ".[0] | has(\"$k\")" <<<"$doc" >/dev/null || fail "inspect lacks $k"
	done
	run -0 berth container inspect -f '{{.Config.Cmd}}' shape
	assert_eq "$output" '[echo a b]'
}

@test "create: docker's warnings and the HostConfig defaults it fills" {
	api POST /containers/create -H 'Content-Type: application/json' -d '{"Image":"busybox","HostConfig":{"OomKillDisable":true}}'
	assert_status 201
	assert_eq "$(jq -c .Warnings <<<"$HTTP_BODY")" '["OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources."]'
	api POST /containers/create -H 'Content-Type: application/json' \
		-d '{"Image":"busybox","HostConfig":{"Memory":67108864,"ShmSize":0,"IpcMode":"","PidsLimit":0}}'
	assert_status 201
	assert_eq "$(jq -c .Warnings <<<"$HTTP_BODY")" '[]'
	local id
	id=$(jq -r .Id <<<"$HTTP_BODY")
	assert_eq "$(cjq "$id" '[.HostConfig.MemorySwap, .HostConfig.ShmSize, .HostConfig.IpcMode, .HostConfig.PidsLimit, .HostConfig.KernelMemory, (.HostConfig.MaskedPaths | length), .Config.Labels, .Config.Volumes] | @json')" \
		'[134217728,67108864,"private",null,0,10,{},null]'
	run -0 berth create --name priv --privileged busybox true
	assert_eq "$(cjq priv '.HostConfig.SecurityOpt | @json')" '["label=disable"]'
	assert_eq "$(cjq priv '.HostConfig.MaskedPaths')" null
}

@test "inspect of an unknown container: 404 No such container" {
	api GET /containers/nosuchthing/json
	assert_status 404
	assert_message 'No such container: nosuchthing'
	run -1 --separate-stderr berth inspect nosuchthing
	assert_contains "$stderr" 'No such'
}

# --- top, pause, rename, kill, restart, wait -----------------------------------------

@test "top lists the container's processes" {
	run -0 berth run -d --name tp busybox sh -c 'sleep 1001 & sleep 1002; true'
	wait_for 30 bash -c "'$BERTH_CLI' top tp | grep -q 'sleep 1002'"
	run -0 berth top tp
	assert_match "${lines[0]}" '^UID +PID +PPID +C +STIME +TTY +TIME +CMD$'
	assert_contains "$output" 'sleep 1001'
	assert_contains "$output" 'sleep 1002'
	# sh, and its two sleeps
	assert_eq "${#lines[@]}" 4
	run -0 berth top tp -o pid,comm
	assert_match "${lines[0]}" '^ *PID +COMMAND$'
	assert_contains "$output" sleep
	run -0 berth stop -t 0 tp
	run -1 --separate-stderr berth top tp
	assert_contains "$stderr" 'is not running'
}

@test "pause / unpause freeze the processes" {
	run -0 berth run -d --name pz busybox sh -c 'i=0; while true; do i=$((i+1)); echo $i >/tmp/n; sleep 0.05; done'
	run -0 berth pause pz
	assert_eq "$(cstatus pz)" paused
	run -0 berth ps --format '{{.Status}}'
	assert_match "$output" '^Up .* \(Paused\)$'
	run -1 --separate-stderr berth exec pz true
	assert_contains "$stderr" 'is paused'
	run -1 --separate-stderr berth pause pz
	assert_contains "$stderr" 'is already paused'
	run -0 berth unpause pz
	assert_eq "$(cstatus pz)" running
	run -0 berth exec pz cat /tmp/n
	run -1 --separate-stderr berth unpause pz
	assert_contains "$stderr" 'is not paused'
}

@test "rename" {
	run -0 berth create --name old busybox true
	local id=$output
	run -0 berth create --name other busybox true
	run -0 berth rename old new
	assert_eq "$(cjq "$id" .Name)" /new
	run -1 berth inspect old
	run -0 berth inspect -f '{{.Id}}' new
	assert_eq "$output" "$id"
	run -1 --separate-stderr berth rename new other
	assert_contains "$stderr" 'is already in use'
	api POST "/containers/new/rename?name=other"
	assert_status 409
	api POST "/containers/new/rename?name=-bad"
	assert_status 400
}

@test "kill -s sends the signal; plain kill is SIGKILL (137)" {
	run -0 berth run -d --name kl busybox sh -c 'trap "echo got USR1" USR1; trap "echo got HUP" HUP; echo ready; while true; do sleep 0.1; done'
	wait_for 30 logs_contain kl ready
	run -0 berth kill -s USR1 kl
	assert_eq "$output" kl
	wait_for 30 logs_contain kl 'got USR1'
	run -0 berth kill --signal SIGHUP kl
	wait_for 30 logs_contain kl 'got HUP'
	run -0 berth kill -s 10 kl
	assert_eq "$(cstatus kl)" running
	api POST '/containers/kl/kill?signal=NOPE'
	assert_status 400
	run -0 berth kill kl
	wait_status kl exited
	assert_eq "$(cjq kl .State.ExitCode)" 137
	run -1 --separate-stderr berth kill kl
	assert_contains "$stderr" 'is not running'
}

@test "kill and stop of a paused container" {
	run -0 berth run -d --name pk busybox sleep 1000
	run -0 berth pause pk
	run -0 berth kill pk
	assert_eq "$(cjq pk '"\(.State.Status) \(.State.ExitCode)"')" 'exited 137'
	run -0 berth run -d --name ps2 busybox sleep 1000
	run -0 berth pause ps2
	run -0 berth stop -t 1 ps2
	assert_eq "$(cjq ps2 '"\(.State.Status) \(.State.ExitCode)"')" 'exited 137'
}

@test "restart: stops and starts again, same container" {
	run -0 berth run -d --name rs busybox sh -c "$TRAP_TERM"
	local id=$output
	wait_for 30 logs_contain rs ready
	local pid1 started1
	pid1=$(cjq rs .State.Pid)
	started1=$(cjq rs .State.StartedAt)
	run -0 berth restart rs
	assert_eq "$output" rs
	assert_eq "$(cstatus rs)" running
	assert_eq "$(cjq rs .Id)" "$id"
	[ "$(cjq rs .State.Pid)" != "$pid1" ] || fail "same pid after restart"
	[ "$(cjq rs .State.StartedAt)" != "$started1" ] || fail "same StartedAt after restart"
	wait_for 30 bash -c "[ \$(cd / && '$BERTH_CLI' logs rs | grep -c ready) = 2 ]"
	run -0 berth logs rs
	assert_eq "$output" "ready
got TERM
ready"
}

@test "restart policy on-failure restarts until the limit" {
	run -0 berth run -d --name rp --restart on-failure:2 busybox sh -c 'echo run; exit 3'
	wait_for 60 bash -c "[ \"\$('$BERTH_CLI' inspect -f '{{.RestartCount}} {{.State.Status}}' rp)\" = '2 exited' ]"
	assert_eq "$(logs_text rp | grep -c run)" 3
	assert_eq "$(cjq rp .State.ExitCode)" 3
}

@test "wait prints the exit code" {
	run -0 berth run -d --name wt busybox sh -c 'trap "exit 5" TERM; while true; do sleep 0.1; done'
	run -0 berth create --name wt2 busybox true
	berth wait wt >"$BATS_TEST_TMPDIR/wait.out" 3>&- &
	local waiter=$!
	wait_status wt running
	run -0 berth kill -s TERM wt
	wait "$waiter"
	assert_eq "$(cat "$BATS_TEST_TMPDIR/wait.out")" 5
	run -0 berth start wt2
	run -0 berth wait wt2
	assert_eq "$output" 0
	run -0 berth run -d --name wt3 busybox sh -c 'exit 5'
	run -0 berth wait wt3
	assert_eq "$output" 5
}

@test "create + start -a streams the output and returns the exit code" {
	run -0 berth create --name ca busybox sh -c 'echo hi from start; exit 6'
	assert_eq "$(cstatus ca)" created
	run -6 berth start -a ca
	assert_eq "$output" 'hi from start'
	assert_eq "$(cstatus ca)" exited
	# a second start -a runs it again
	run -6 berth start -a ca
	assert_eq "$output" 'hi from start'
	assert_eq "$(logs_text ca | grep -c 'hi from start')" 2
}

@test "start -a -i with stdin" {
	run -0 berth create -i --name cai busybox sh -c 'read l; echo "got $l"'
	run -0 bash -c "echo hello | '$BERTH_CLI' start -a -i cai"
	assert_eq "$output" 'got hello'
}

@test "start of a running container is a no-op; stop of a stopped one too" {
	run -0 berth run -d --name nm busybox sleep 1000
	api POST /containers/nm/start
	assert_status 304
	run -0 berth stop -t 0 nm
	api POST /containers/nm/stop
	assert_status 304
}

# --- bad input: clear error, nothing created -------------------------------------------

@test "name conflict: 409" {
	run -0 berth create --name dup busybox true
	local id=$output
	run -125 --separate-stderr berth run --name dup busybox true
	assert_contains "$stderr" "Conflict. The container name \"/dup\" is already in use by container \"$id\""
	api POST '/containers/create?name=dup' -H 'Content-Type: application/json' -d '{"Image":"busybox"}'
	assert_status 409
	assert_message "Conflict. The container name \"/dup\" is already in use by container \"$id\". You have to remove (or rename) that container to be able to reuse that name."
	assert_eq "$(container_count)" 1
}

@test "invalid names are refused" {
	api POST '/containers/create?name=-x' -H 'Content-Type: application/json' -d '{"Image":"busybox"}'
	assert_status 400
	assert_message 'Invalid container name (-x), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed'
	assert_eq "$(container_count)" 0
}

@test "unknown image: 404 No such image" {
	api POST /containers/create -H 'Content-Type: application/json' -d '{"Image":"nosuchimage:1"}'
	assert_status 404
	assert_message 'No such image: nosuchimage:1'
	run -1 --separate-stderr berth create --pull never nosuchimage:1 true
	assert_contains "$stderr" 'No such image: nosuchimage:1'
	run -125 --separate-stderr berth run --pull never --rm nosuchimage:1 true
	assert_contains "$stderr" 'No such image: nosuchimage:1'
	assert_eq "$(container_count)" 0
}

@test "bad memory string: clear error, nothing created" {
	run -125 --separate-stderr berth run --rm -m 12zz busybox true
	assert_contains "$stderr" "invalid size: '12zz'"
	api POST /containers/create -H 'Content-Type: application/json' -d '{"Image":"busybox","HostConfig":{"Memory":1000}}'
	assert_status 400
	assert_message 'Minimum memory limit allowed is 6MB'
	assert_eq "$(container_count)" 0
}

@test "bad --security-opt: clear error, nothing created" {
	run -125 --separate-stderr berth run --rm --security-opt foo busybox true
	assert_contains "$stderr" 'Invalid --security-opt: "foo"'
	run -125 --separate-stderr berth run --rm --security-opt seccomp=/no/such/profile.json busybox true
	assert_contains "$stderr" '/no/such/profile.json'
	assert_eq "$(container_count)" 0
}

@test "bad --security-opt through the API: refused at create" {
	skip_on_dockerd "creates the container and fails at start"
	api POST /containers/create -H 'Content-Type: application/json' -d '{"Image":"busybox","HostConfig":{"SecurityOpt":["foo"]}}'
	assert_match "$HTTP_CODE" '^(400|500)$'
	assert_contains "$(jq -r .message <<<"$HTTP_BODY")" 'security-opt'
	api POST /containers/create -H 'Content-Type: application/json' -d '{"Image":"busybox","HostConfig":{"SecurityOpt":["seccomp=not json"]}}'
	assert_status 400
	api POST /containers/create -H 'Content-Type: application/json' -d '{"Image":"busybox","HostConfig":{"SecurityOpt":["apparmor=foo"]}}'
	assert_status 400
	assert_eq "$(container_count)" 0
}

@test "bad log options: clear error, nothing created" {
	run -125 --separate-stderr berth run --rm --log-opt max-size=abc busybox true
	assert_contains "$stderr" "invalid size: 'abc'"
	run -125 --separate-stderr berth run --rm --log-opt foo=bar busybox true
	assert_contains "$stderr" "unknown log opt 'foo' for json-file log driver"
	run -125 --separate-stderr berth run --rm --log-driver nosuchdriver busybox true
	assert_contains "$stderr" nosuchdriver
	wait_for 30 container_count_is 0
}

@test "bad log options through the API: refused at create" {
	skip_on_dockerd "validates max-size only when the container starts"
	api POST /containers/create -H 'Content-Type: application/json' \
		-d '{"Image":"busybox","HostConfig":{"LogConfig":{"Type":"json-file","Config":{"max-size":"abc"}}}}'
	assert_status 400
	assert_contains "$(jq -r .message <<<"$HTTP_BODY")" "invalid size: 'abc'"
	assert_eq "$(container_count)" 0
}

@test "log drivers: none has no logs, json-file options are kept" {
	run -0 berth run --name ln --log-driver none busybox echo hi
	assert_eq "$output" hi
	run -1 --separate-stderr berth logs ln
	assert_contains "$stderr" 'does not support reading'
	run -0 berth run --name lj --log-opt max-size=1k --log-opt max-file=2 busybox sh -c 'i=0; while [ $i -lt 200 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done'
	assert_eq "$(cjq lj '.HostConfig.LogConfig.Config["max-size"]')" 1k
	run -0 berth logs --tail 1 lj
	assert_eq "$output" line-199-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
}

# --- the container's configuration ------------------------------------------------------------

@test "env, workdir, user, hostname" {
	run -0 berth run --rm -e FOO=bar -e EMPTY= -w /tmp/wd -u 65534:65534 -h myhost busybox \
		sh -c 'echo "$FOO|$EMPTY|$(pwd)|$(id -u):$(id -g)|$(hostname)|$HOSTNAME|$HOME|$PATH"'
	assert_eq "$output" 'bar||/tmp/wd|65534:65534|myhost|myhost|/home|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
	run -0 berth run --rm -u nobody busybox id
	assert_eq "$output" 'uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)'
	run -0 berth run --rm busybox id
	assert_eq "$output" 'uid=0(root) gid=0(root) groups=0(root),10(wheel)' || assert_eq "$output" 'uid=0(root) gid=0(root) groups=0(root)'
	run -0 berth run --rm -u 1234 busybox sh -c 'id -u; echo $HOME'
	assert_eq "$output" "$(printf '1234\n/')"
	run -125 --separate-stderr berth run --rm -u nosuchuser busybox true
	assert_contains "$stderr" 'nosuchuser'
}

@test "--env-file and image env" {
	printf 'A=1\n# comment\nB=two words\n' >"$BATS_TEST_TMPDIR/env"
	run -0 berth run --rm --env-file "$BATS_TEST_TMPDIR/env" busybox sh -c 'echo "$A|$B"'
	assert_eq "$output" '1|two words'
}

@test "env: an entry without '=' stays in Config.Env when the image has an Env (dockerd's merge), and unsets in the process" {
	api POST '/images/create?fromSrc=-&repo=envimg&tag=latest&changes=ENV%20IMG%3D1&changes=ENV%20Bar%3Dimg' \
		-H 'Content-Type: application/x-tar' --data-binary "@$(busybox_rootfs)"
	assert_status 200
	CLEANUP_IMAGE=envimg:latest
	api POST '/containers/create?name=ev' -H 'Content-Type: application/json' \
		-d '{"Image":"envimg","Cmd":["env"],"Env":["Foo","A=1","Bar"]}'
	assert_status 201
	# the container's entries as given, then the image's not named by them
	assert_eq "$(cjq ev '.Config.Env | join(",")')" 'Foo,A=1,Bar,IMG=1'
	run -0 berth start -a ev
	assert_eq "$(sort <<<"$output" | grep -v '^HOSTNAME=' | tr '\n' ' ')" \
		'A=1 HOME=/root IMG=1 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin '
	# no Env at all: the image's
	run -0 berth create --name ev0 envimg true
	assert_eq "$(cjq ev0 '.Config.Env | join(",")')" 'IMG=1,Bar=img'
}

_env_without_value_cli()
{
	local cli=$1
	need_cli "$cli"
	api POST '/images/create?fromSrc=-&repo=envimg&tag=latest&changes=ENV%20IMG%3D1' \
		-H 'Content-Type: application/x-tar' --data-binary "@$(busybox_rootfs)"
	assert_status 200
	CLEANUP_IMAGE=envimg:latest
	# the CLI sends "Foo" as is when Foo is not set in its own environment
	run -0 env -u Foo "$cli" create --name evc -e Foo -e A=1 envimg env
	run -0 "$cli" inspect -f '{{json .Config.Env}}' evc
	# (docker 28 may send the two -e entries in either order)
	assert_eq "$(jq -c 'sort' <<<"$output")" '["A=1","Foo","IMG=1"]'
}

@test "env: docker CLI 28 -e Foo (unset) is kept in Config.Env" { _env_without_value_cli "$DOCKER_CLI_28"; }
@test "env: docker CLI 20.10 -e Foo (unset) is kept in Config.Env" { _env_without_value_cli "$DOCKER_CLI_20"; }

@test "entrypoint and cmd" {
	run -0 berth run --rm --entrypoint echo busybox hello world
	assert_eq "$output" 'hello world'
	run -0 berth run --rm --entrypoint /bin/sh busybox -c 'echo via sh'
	assert_eq "$output" 'via sh'
	run -0 berth create --name ep --entrypoint echo busybox x
	assert_eq "$(cjq ep '.Config.Entrypoint | join(",")')" echo
	assert_eq "$(cjq ep '.Config.Cmd | join(",")')" x
	# the image's CMD (/bin/sh) when none is given
	run -0 bash -c "echo 'echo from image cmd' | '$BERTH_CLI' run --rm -i busybox"
	assert_eq "$output" 'from image cmd'
}

@test "hostname, /etc/hosts with --add-host, /etc/resolv.conf" {
	run -0 berth run --rm --name hn --add-host db.local:10.1.2.3 busybox sh -c 'hostname; cat /etc/hosts; cat /etc/hostname'
	assert_match "${lines[0]}" '^[0-9a-f]{12}$'
	assert_contains "$output" '127.0.0.1	localhost'
	assert_contains "$output" '10.1.2.3	db.local'
	assert_eq "${lines[-1]}" "${lines[0]}"
	run -0 berth run --rm busybox cat /etc/resolv.conf
	assert_contains "$output" nameserver
}

@test "labels from -l and --label-file" {
	printf 'from.file=yes\n' >"$BATS_TEST_TMPDIR/labels"
	run -0 berth create --name lb -l a=1 -l b --label-file "$BATS_TEST_TMPDIR/labels" busybox true
	assert_eq "$(cjq lb '.Config.Labels | to_entries | map("\(.key)=\(.value)") | join(",")')" 'a=1,b=,from.file=yes'
	run -0 berth inspect -f '{{index .Config.Labels "a"}}' lb
	assert_eq "$output" 1
}

@test "--read-only root filesystem" {
	run -1 --separate-stderr berth run --rm --read-only busybox touch /x
	assert_contains "$stderr$output" 'Read-only file system'
	run -0 berth run --rm --read-only busybox sh -c 'echo ok >/dev/shm/x && cat /dev/shm/x'
	assert_eq "$output" ok
	run -0 berth run --rm busybox sh -c 'touch /x && echo writable'
	assert_eq "$output" writable
}

@test "the writable layer survives stop/start and goes with the container" {
	run -0 berth run --name wl busybox sh -c 'echo x >>/data; cat /data'
	assert_eq "$output" x
	run -0 berth start -a wl
	assert_eq "$output" "$(printf 'x\nx')"
	run -1 berth run --rm busybox cat /data
	run -0 berth rm wl
	run -0 berth run --name wl busybox sh -c 'echo x >>/data; cat /data'
	assert_eq "$output" x
}

@test "--network none: only loopback" {
	run -0 berth run --rm --network none busybox sh -c 'ls /sys/class/net'
	assert_eq "$output" lo
	run -0 berth run --rm busybox sh -c 'ls /sys/class/net'
	skip_on_dockerd "the default network is a bridge"
	assert_eq "$output" lo
}

@test "--network host: the host's interfaces and hostname" {
	run -0 berth run --rm --network host busybox sh -c 'hostname; ls /sys/class/net | sort'
	assert_eq "${lines[0]}" "$(hostname)"
	assert_eq "$(printf '%s\n' "${lines[@]:1}")" "$(ls /sys/class/net | sort)"
}

@test "--network container:<id> shares the network namespace" {
	run -0 berth run -d --name netowner --network none busybox sleep 1000
	local id=$output
	local ns_owner ns_join ns_other
	ns_owner=$(berth exec netowner readlink /proc/self/ns/net)
	run -0 berth run --rm --network "container:$id" busybox readlink /proc/self/ns/net
	ns_join=$output
	run -0 berth run --rm --network container:netowner busybox readlink /proc/self/ns/net
	assert_eq "$output" "$ns_owner"
	run -0 berth run --rm --network none busybox readlink /proc/self/ns/net
	ns_other=$output
	assert_eq "$ns_join" "$ns_owner"
	[ "$ns_other" != "$ns_owner" ] || fail "a --network none container shares the namespace"
	run -0 berth stop -t 0 netowner
	run -125 --separate-stderr berth run --rm --network container:netowner busybox true
	assert_contains "$stderr" 'cannot join network of a non running container'
}

@test "--init runs an init as pid 1 that reaps" {
	run -0 berth run --rm --init busybox sh -c 'cat /proc/1/comm; echo $$'
	assert_match "${lines[0]}" '^(docker-init|tini|catatonit)$'
	[ "${lines[1]}" != 1 ] || fail "sh is pid 1 with --init"
	run -0 berth run --rm busybox sh -c 'echo $$'
	assert_eq "$output" 1
	# SIGTERM reaches the process through the init
	run -0 berth run -d --name it --init busybox sh -c "$TRAP_TERM"
	wait_for 30 logs_contain it ready
	run -0 berth stop it
	assert_eq "$(cjq it .State.ExitCode)" 0
}

@test "resource limits: -m, --cpus, --pids-limit are recorded and applied" {
	run -0 berth run --rm -m 64m --pids-limit 50 --cpus 0.5 busybox sh -c \
		'cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max; cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes'
	assert_eq "${lines[0]}" 50
	assert_eq "${lines[1]}" 67108864
	run -0 berth create --name lim -m 64m --cpus 1.5 --pids-limit 20 busybox true
	assert_eq "$(cjq lim '"\(.HostConfig.Memory) \(.HostConfig.NanoCpus) \(.HostConfig.PidsLimit)"')" '67108864 1500000000 20'
}

@test "shim: a file-logging container runs berth-shim-lean (when built), a remote log driver the full shim" {
	skip_on_dockerd "berth-shim only"
	[ -x "$(dirname "$BERTHD")/../shim/berth-shim-lean" ] || skip "no berth-shim-lean in this build (no musl-gcc)"
	[ -z "${BERTH_SHIM:-}" ] || skip "BERTH_SHIM names the shim of every container"
	local id shim
	id=$(berth run -d --network none busybox sleep 1000)
	shim=$(cat "$E2E_EXEC/containers/$id/shim.pid")
	assert_match "$(readlink "/proc/$shim/exe")" '/berth-shim-lean$'
	assert_eq "$(cat "/proc/$shim/comm")" berth-shim
	run -0 berth exec "$id" echo lean-exec
	assert_eq "$output" lean-exec
	id=$(berth run -d --network none --log-driver syslog --log-opt syslog-address=udp://127.0.0.1:9 busybox sleep 1000)
	shim=$(cat "$E2E_EXEC/containers/$id/shim.pid")
	assert_match "$(readlink "/proc/$shim/exe")" '/berth-shim$'
}

@test "a killed shim: its container is stopped and cleaned up, and can start again" {
	skip_on_dockerd "berth-shim only"
	run -0 berth run -d --name shk busybox sleep 1000
	local id pid shim
	id=$(cjq shk .Id)
	pid=$(cjq shk .State.Pid)
	shim=$(cat "$E2E_EXEC/containers/$id/shim.pid")
	kill -KILL "$shim"
	wait_status shk exited
	assert_eq "$(cjq shk .State.ExitCode)" 255
	assert_contains "$(cjq shk .State.Error)" 'berth-shim exited without recording'
	# the container's process went with it (a zombie until init reaps it)
	wait_for 30 bash -c "! kill -0 $pid 2>/dev/null || grep -q '^State:.*Z' /proc/$pid/status"
	run -0 find /sys/fs/cgroup -maxdepth 4 -type d -name "$id"
	assert_eq "$output" ""
	run -0 berth start shk
	run -0 berth exec shk echo again
	assert_eq "$output" again
}

# --- exec -------------------------------------------------------------------------------------

@test "exec: output, exit code, -e -u -w, not found 126/127" {
	run -0 berth run -d --name ex busybox sleep 1000
	run -0 berth exec ex echo hi
	assert_eq "$output" hi
	run -3 berth exec ex sh -c 'exit 3'
	run -0 berth exec -e X=1 -u 65534 -w /tmp ex sh -c 'echo "$X $(id -u) $(pwd)"'
	assert_eq "$output" '1 65534 /tmp'
	# docker 20.10 answers 126 for both (any failed exec start records 126)
	run -126 berth exec ex nonexistent-cmd
	run -126 berth exec ex /etc
	run -0 bash -c "echo piped | '$BERTH_CLI' exec -i ex cat"
	assert_eq "$output" piped
	run -0 berth exec -d ex sh -c 'echo detached >/tmp/d'
	wait_for 30 "$BERTH_CLI" exec ex test -f /tmp/d
	run -0 berth exec -d ex sleep 1000
	run -0 berth inspect -f '{{len .ExecIDs}}' ex
	[ "$output" -ge 1 ] || fail "ExecIDs: $output"
	run -0 berth stop -t 0 ex
	run -1 --separate-stderr berth exec ex true
	assert_contains "$stderr" 'is not running'
}

@test "exec inspect through the API" {
	run -0 berth run -d --name exi busybox sleep 1000
	api POST /containers/exi/exec -H 'Content-Type: application/json' -d '{"Cmd":["sh","-c","exit 4"],"AttachStdout":true}'
	assert_status 201
	local eid
	eid=$(jq -r .Id <<<"$HTTP_BODY")
	api GET "/exec/$eid/json"
	assert_status 200
	assert_eq "$(jq -r '"\(.Running) \(.ExitCode)"' <<<"$HTTP_BODY")" 'false null'
	api POST "/exec/$eid/start" -H 'Content-Type: application/json' -d '{"Detach":false}'
	api GET "/exec/$eid/json"
	assert_eq "$(jq -r '"\(.Running) \(.ExitCode) \(.ContainerID)"' <<<"$HTTP_BODY")" "false 4 $(cjq exi .Id)"
	api GET /exec/nosuchexec/json
	assert_status 404
}

# --- events ------------------------------------------------------------------------------------

@test "events: the lifecycle of a container" {
	local since
	since=$(date +%s)
	run -0 berth run --name ev busybox true
	run -0 berth rm ev
	run -0 berth events --since "$since" --until "$(($(date +%s) + 1))" --filter container=ev --format '{{.Action}}'
	assert_eq "$(grep -v '^exec' <<<"$output" | tr '\n' ' ')" 'create attach start die destroy '
}

@test "events: exec_create / exec_start carry the command, exec_die the exit code" {
	run -0 berth run -d --name evx busybox sleep 1000
	local since
	since=$(date +%s)
	run -2 berth exec evx sh -c 'exit 2'
	run -0 berth exec evx true
	run -0 berth events --since "$since" --until "$(($(date +%s) + 1))" --filter container=evx --filter event=exec_die \
		--filter event=exec_create --filter event=exec_start --format '{{.Action}}|{{.Actor.Attributes.exitCode}}'
	assert_eq "$output" 'exec_create: sh -c exit 2|<no value>
exec_start: sh -c exit 2|<no value>
exec_die|2
exec_create: true |<no value>
exec_start: true |<no value>
exec_die|0'
}

@test "the daemon did not crash during the suite" {
	assert_no_daemon_crash
}
