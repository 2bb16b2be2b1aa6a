#!/usr/bin/env bats
# Resources and upkeep: GET /containers/{id}/stats (one-shot and streaming,
# docker's StatsJSON shape), POST /containers/{id}/update (validation,
# stored HostConfig, applied to the running container's cgroups), the CLI's
# stats / update / system prune, and the real docker CLIs (20.10 and 28)
# running stats --no-stream, update, system df and system prune -f.
#
# Expectations checked against dockerd 20.10 (E2E_TARGET=dockerd).

load helpers

setup_file()
{
	berthd_start
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
	# system prune tests may have untagged busybox
	api GET /images/busybox:latest/json
	[ "$HTTP_CODE" = 200 ] || load_busybox
}

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

# update NAME JSON: POST /containers/NAME/update
update()
{
	api POST "/containers/$1/update" -H 'Content-Type: application/json' -d "$2"
}

# ---- GET /containers/{id}/stats ----

@test "stats stream=false: docker's fields in docker's order, precpu from a second sample" {
	run -0 berth run -d --name sx busybox sleep 1000
	api GET '/containers/sx/stats?stream=false'
	assert_status 200
	assert_eq "$(header Content-Type)" application/json
	assert_eq "$(printf '%s' "$HTTP_BODY" | jq -c 'keys_unsorted')" \
		'["read","preread","pids_stats","blkio_stats","num_procs","storage_stats","cpu_stats","precpu_stats","memory_stats","name","id"]'
	local b=$HTTP_BODY id
	id=$(field sx '{{.Id}}')
	assert_eq "$(jq -r '.name + " " + .id' <<<"$b")" "/sx $id"
	# precpu_stats and preread come from the first of two samples
	[ "$(jq -r .preread <<<"$b")" != "0001-01-01T00:00:00Z" ] || fail "preread not set: $b"
	[[ "$(jq -r .preread <<<"$b")" < "$(jq -r .read <<<"$b")" ]] || fail "preread not before read: $b"
	[ "$(jq '.precpu_stats.system_cpu_usage' <<<"$b")" -gt 0 ] || fail "no precpu system usage: $b"
	[ "$(jq '.cpu_stats.system_cpu_usage > .precpu_stats.system_cpu_usage' <<<"$b")" = true ] || fail "$b"
	[ "$(jq '.cpu_stats.online_cpus' <<<"$b")" -ge 1 ] || fail "$b"
	assert_eq "$(jq -c '.cpu_stats | keys_unsorted' <<<"$b")" '["cpu_usage","system_cpu_usage","online_cpus","throttling_data"]'
	assert_eq "$(jq -c '.cpu_stats.throttling_data | keys_unsorted' <<<"$b")" '["periods","throttled_periods","throttled_time"]'
	[ "$(jq '.pids_stats.current' <<<"$b")" -ge 1 ] || fail "$b"
	[ "$(jq '.memory_stats.usage' <<<"$b")" -gt 0 ] || fail "$b"
	[ "$(jq '.memory_stats.limit' <<<"$b")" -gt 0 ] || fail "$b"
	assert_eq "$(jq '.num_procs' <<<"$b")" 0
	assert_eq "$(jq -c '.storage_stats' <<<"$b")" '{}'
	assert_eq "$(jq -c '.blkio_stats | keys_unsorted' <<<"$b")" \
		'["io_service_bytes_recursive","io_serviced_recursive","io_queue_recursive","io_service_time_recursive","io_wait_time_recursive","io_merged_recursive","io_time_recursive","sectors_recursive"]'
	# the memory.stat map is sorted like Go's map encoding
	assert_eq "$(jq -c '.memory_stats.stats | keys_unsorted' <<<"$b")" "$(jq -c '.memory_stats.stats | keys' <<<"$b")"
	assert_eq "$(jq -c '.memory_stats | keys_unsorted | map(select(. != "max_usage" and . != "failcnt"))' <<<"$b")" \
		'["usage","stats","limit"]'
}

@test "stats one-shot=true: a single sample, empty precpu_stats" {
	run -0 berth run -d --name sx busybox sleep 1000
	api GET '/containers/sx/stats?stream=false&one-shot=true'
	assert_status 200
	assert_eq "$(jq -r .preread <<<"$HTTP_BODY")" "0001-01-01T00:00:00Z"
	assert_eq "$(jq -c .precpu_stats <<<"$HTTP_BODY")" \
		'{"cpu_usage":{"total_usage":0,"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}}'
	[ "$(jq '.cpu_stats.system_cpu_usage' <<<"$HTTP_BODY")" -gt 0 ] || fail "$HTTP_BODY"
	api GET '/containers/sx/stats?stream=true&one-shot=true'
	assert_status 400
	assert_message "cannot have stream=true and one-shot=true"
}

@test "stats of a container that is not running: name and id only" {
	run -0 berth create --name cx busybox true
	local id
	id=$(field cx '{{.Id}}')
	api GET '/containers/cx/stats?stream=false'
	assert_status 200
	assert_eq "$HTTP_BODY" "$(jq -c --arg id "$id" '.id = $id' <<<'{"read":"0001-01-01T00:00:00Z","preread":"0001-01-01T00:00:00Z","pids_stats":{},"blkio_stats":{"io_service_bytes_recursive":null,"io_serviced_recursive":null,"io_queue_recursive":null,"io_service_time_recursive":null,"io_wait_time_recursive":null,"io_merged_recursive":null,"io_time_recursive":null,"sectors_recursive":null},"num_procs":0,"storage_stats":{},"cpu_stats":{"cpu_usage":{"total_usage":0,"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},"precpu_stats":{"cpu_usage":{"total_usage":0,"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},"memory_stats":{},"name":"/cx","id":""}')"
	api GET '/containers/nosuch/stats?stream=false'
	assert_status 404
	assert_message "No such container: nosuch"
}

@test "stats stream: one JSON a line, each frame's preread is the previous read" {
	run -0 berth run -d --name sx busybox sleep 1000
	local out=$BATS_TEST_TMPDIR/stream
	curl -sN --max-time 30 --unix-socket "$E2E_SOCK" 'http://localhost/containers/sx/stats' | head -n 3 >"$out" || true
	assert_eq "$(wc -l <"$out")" 3
	local r1 p2 r2 p3
	r1=$(sed -n 1p "$out" | jq -r .read)
	p2=$(sed -n 2p "$out" | jq -r .preread)
	r2=$(sed -n 2p "$out" | jq -r .read)
	p3=$(sed -n 3p "$out" | jq -r .preread)
	assert_eq "$p2" "$r1"
	assert_eq "$p3" "$r2"
	# precpu of a frame is the previous frame's cpu_stats
	assert_eq "$(sed -n 2p "$out" | jq -c .precpu_stats)" "$(sed -n 1p "$out" | jq -c .cpu_stats)"
}

@test "stats: memory limit and pids limit of the container" {
	run -0 berth run -d --name sx -m 64m --pids-limit 20 busybox sleep 1000
	api GET '/containers/sx/stats?stream=false&one-shot=true'
	assert_eq "$(jq .memory_stats.limit <<<"$HTTP_BODY")" 67108864
	assert_eq "$(jq .pids_stats.limit <<<"$HTTP_BODY")" 20
}

# ---- POST /containers/{id}/update ----

@test "update a running container: HostConfig stored and the cgroup limits changed" {
	run -0 berth run -d --name ux busybox sleep 1000
	update ux '{"Memory":33554432,"MemorySwap":67108864,"PidsLimit":7,"CpuShares":512}'
	assert_status 200
	assert_eq "$HTTP_BODY" '{"Warnings":null}'
	assert_eq "$(field ux '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.PidsLimit}} {{.HostConfig.CpuShares}}')" \
		"33554432 67108864 7 512"
	api GET '/containers/ux/stats?stream=false&one-shot=true'
	assert_eq "$(jq .memory_stats.limit <<<"$HTTP_BODY")" 33554432
	assert_eq "$(jq .pids_stats.limit <<<"$HTTP_BODY")" 7
	# 0 (or negative) PidsLimit means unlimited
	update ux '{"PidsLimit":-1}'
	assert_status 200
	assert_eq "$(field ux '{{.HostConfig.PidsLimit}}')" 0
	api GET '/containers/ux/stats?stream=false&one-shot=true'
	assert_eq "$(jq .pids_stats.limit <<<"$HTTP_BODY")" null
	# the limit holds: a fork bomb stops at 7 processes after update
	update ux '{"PidsLimit":5}'
	run berth exec ux sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 30 & done; wait'
	[ "$status" -ne 0 ] || fail "8 forks under pids-limit 5 succeeded"
}

@test "update a stopped container: stored, applied at the next start" {
	run -0 berth create --name ux busybox sleep 1000
	update ux '{"Memory":41943040,"MemorySwap":83886080}'
	assert_status 200
	run -0 berth start ux
	api GET '/containers/ux/stats?stream=false&one-shot=true'
	assert_eq "$(jq .memory_stats.limit <<<"$HTTP_BODY")" 41943040
}

@test "update: docker's validation messages and status codes" {
	run -0 berth run -d --name ux busybox sleep 1000
	local id
	id=$(field ux '{{.Id}}')
	update ux '{"Memory":104857600}'
	assert_status 409
	assert_message "Cannot update container $id: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"
	update ux '{"Memory":1000}'
	assert_status 400
	assert_message "Minimum memory limit allowed is 6MB"
	update ux '{"CpuPeriod":50000}'
	assert_status 200
	update ux '{"NanoCpus":500000000}'
	assert_status 409
	assert_message "Cannot update container $id: Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set"
	update ux '{"CpuQuota":500}'
	assert_status 400
	assert_message "CPU cfs quota can not be less than 1ms (i.e. 1000)"
	update ux '{"RestartPolicy":{"Name":"bogus"}}'
	assert_status 400
	assert_message "invalid restart policy 'bogus'"
	update ux '{"RestartPolicy":{"Name":"always","MaximumRetryCount":3}}'
	assert_status 400
	assert_message "maximum retry count cannot be used with restart policy 'always'"
	update ux '{"CpusetCpus":"x"}'
	assert_status 400
	assert_message "Invalid value x for cpuset cpus: invalid format: x"
	update ux '{"CpusetCpus":"4000"}'
	assert_status 400
	assert_match "$(jq -r .message <<<"$HTTP_BODY")" '^Requested CPUs are not available - requested 4000, available: '
	update ux '{"Memory":"x"}'
	assert_status 400
	assert_message "json: cannot unmarshal string into Go struct field UpdateConfig.Memory of type int64"
	update nosuch '{}'
	assert_status 404
	assert_message "No such container: nosuch"
	api POST /containers/ux/update -d '{}'
	assert_status 400
	assert_message "Content-Type specified (application/x-www-form-urlencoded) must be 'application/json'"
	# nothing of the refused updates was stored
	assert_eq "$(field ux '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpuPeriod}} {{.HostConfig.RestartPolicy.Name}}')" "0 0 50000 no"
}

@test "update --restart of an --rm container is refused" {
	run -0 berth run -d --rm --name rx busybox sleep 1000
	local id
	id=$(field rx '{{.Id}}')
	update rx '{"RestartPolicy":{"Name":"always"}}'
	assert_status 409
	assert_message "Cannot update container $id: Restart policy cannot be updated because AutoRemove is enabled for the container"
}

@test "update emits an update event" {
	run -0 berth run -d --name ux busybox sleep 1000
	local t0 id=$output
	t0=$(date +%s)
	run -0 berth update --cpu-shares 256 ux
	# this container's only: an earlier test's "ux" may have been updated in the same second
	api GET "/events?since=$t0&until=$(($(date +%s) + 1))&filters=%7B%22event%22%3A%5B%22update%22%5D%2C%22container%22%3A%5B%22$id%22%5D%7D"
	assert_eq "$(jq -r '.Action + " " + .Actor.Attributes.name' <<<"$HTTP_BODY")" "update ux"
}

# ---- the CLI ----

@test "berth update: names on success, docker's errors" {
	run -0 berth run -d --name ux busybox sleep 1000
	run -0 --separate-stderr berth update -m 32m --memory-swap 64m --cpus 0.5 --pids-limit 9 --restart on-failure:2 ux
	assert_eq "$output" ux
	assert_eq "$(field ux '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}')" \
		"33554432 500000000 9 on-failure:2"
	run -1 --separate-stderr berth update --cpu-shares 100 ux nosuch
	assert_eq "$output" ux
	assert_eq "$stderr" "Error response from daemon: No such container: nosuch"
	run -1 --separate-stderr berth update ux
	assert_eq "$stderr" "you must provide one or more flags when using this command"
	run -125 --separate-stderr berth update -m x ux
	assert_contains "$stderr" "invalid argument \"x\" for \"-m, --memory\" flag: invalid size: 'x'"
	run -1 --separate-stderr berth update --cpu-shares 2
	assert_contains "$stderr" 'requires at least 1 argument'
}

@test "berth stats --no-stream: docker's table, --format, json, -a, --no-trunc" {
	run -0 berth run -d --name s1 busybox sleep 1000
	run -0 berth run -d --name s2 -m 64m busybox sleep 1000
	run -0 berth create --name cx busybox true
	run -0 berth stats --no-stream s1 s2
	assert_eq "${lines[0]}" "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   BLOCK I/O   PIDS"
	assert_match "${lines[1]}" "^$(field s1 '{{.Id}}' | cut -c1-12)   s1 +[0-9]+\.[0-9]{2}% +[0-9.]+[KMG]?i?B / [0-9.]+[KMG]iB +[0-9]+\.[0-9]{2}% +.* 1\$"
	assert_match "${lines[2]}" " / 64MiB "
	assert_eq "${#lines[@]}" 3
	run -0 berth stats --no-stream --format '{{.Container}} {{.Name}} {{.PIDs}}' s2
	assert_eq "$output" "s2 s2 1"
	run -0 berth stats --no-stream --format '{{json .}}' s1
	assert_eq "$(jq -c 'keys' <<<"$output")" '["BlockIO","CPUPerc","Container","ID","MemPerc","MemUsage","Name","NetIO","PIDs"]'
	# no arguments: running containers; -a: all of them
	run -0 berth stats --no-stream --format '{{.Name}}'
	assert_eq "$(sort <<<"$output" | tr '\n' ' ')" "s1 s2 "
	run -0 berth stats --no-stream -a --format '{{.Name}} {{.MemUsage}}'
	assert_contains "$output" "cx 0B / 0B"
	run -0 berth stats --no-stream --no-trunc --format '{{.ID}}' s1
	assert_eq "$output" "$(field s1 '{{.Id}}')"
	run -0 berth stats --no-stream --format 'table {{.Name}}\t{{.PIDs}}' s1
	assert_eq "${lines[0]}" "NAME      PIDS"
	run -1 --separate-stderr berth stats --no-stream nosuch
	assert_eq "$stderr" "Error response from daemon: No such container: nosuch"
}

@test "berth stats (live): redraws the table in place" {
	skip_on_dockerd "berth's own CLI feature"
	run -0 berth run -d --name s1 busybox sleep 1000
	local out=$BATS_TEST_TMPDIR/live
	timeout 2 "$BERTH_CLI" stats s1 >"$out" || true
	# cursor home, one line per row each ended by erase-line, erase below
	grep -q $'^\e\\[HCONTAINER ID ' "$out" || fail "no home+header: $(cat -v "$out")"
	grep -q $'s1 .*\e\\[K$' "$out" || fail "no row: $(cat -v "$out")"
	grep -q $'\e\\[J' "$out" || fail "no erase below: $(cat -v "$out")"
}

@test "system prune -f: stopped containers, dangling images, total reclaimed" {
	run -0 berth run -d --name keep busybox sleep 1000
	run -0 berth create --name gone busybox true
	local gone
	gone=$(field gone '{{.Id}}')
	run -0 berth system prune -f
	assert_eq "${lines[0]}" "Deleted Containers:"
	assert_eq "${lines[1]}" "$gone"
	assert_eq "${lines[-1]}" "Total reclaimed space: 0B"
	run -0 berth ps -aq --no-trunc
	assert_eq "$output" "$(field keep '{{.Id}}')"
	# nothing left to prune
	run -0 berth system prune -f --volumes
	assert_eq "$output" "Total reclaimed space: 0B"
}

@test "system prune: the confirmation prompt, filters and their checks" {
	run -0 berth create --name gone busybox true
	run -0 berth system prune -a --volumes --filter label=a=b --filter 'label!=c' <<<"n"
	assert_eq "$output" "WARNING! This will remove:
  - all stopped containers
  - all networks not used by at least one container
  - all volumes not used by at least one container
  - all images without at least one container associated to them
  - all build cache

  Items to be pruned will be filtered with:
  - label!=c
  - label=a=b

Are you sure you want to continue? [y/N] "
	# answered no: nothing removed
	status_is gone created
	run -1 --separate-stderr berth system prune -f --volumes --filter until=1h
	assert_eq "$stderr" 'ERROR: The "until" filter is not supported with "--volumes"'
	run -0 berth system prune -f --filter label=nomatch
	assert_eq "$output" "Total reclaimed space: 0B"
	status_is gone created
}

@test "POST /networks/prune and /build/prune answer like dockerd" {
	api POST /networks/prune
	assert_status 200
	assert_eq "$HTTP_BODY" '{"NetworksDeleted":null}'
	api POST '/networks/prune?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D'
	assert_status 400
	assert_message "Invalid filter 'bogus'"
	api POST '/build/prune?all=1&keep-storage=0'
	assert_status 200
	assert_eq "$HTTP_BODY" '{"CachesDeleted":null,"SpaceReclaimed":0}'
}

# ---- the real docker CLIs ----

@test "docker 20.10 and 28: stats --no-stream, update, system df, system prune -f" {
	local d
	for d in "$DOCKER_CLI_20" "$DOCKER_CLI_28"; do
		need_cli "$d"
		berth rm -f sx gone >/dev/null 2>&1 || true
		run -0 "$d" run -d --name sx busybox sleep 1000
		run -0 "$d" stats --no-stream sx
		assert_eq "${lines[0]}" "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   BLOCK I/O   PIDS"
		assert_match "${lines[1]}" "^[0-9a-f]{12}   sx +[0-9]+\.[0-9]{2}% .* 1\$"
		run -0 "$d" stats --no-stream --format '{{.Name}} {{.PIDs}}'
		assert_eq "$output" "sx 1"
		run -0 "$d" update -m 48m --memory-swap 96m --pids-limit 11 --restart unless-stopped sx
		assert_eq "$output" sx
		run -0 "$d" inspect -f '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}' sx
		assert_eq "$output" "50331648 11 unless-stopped"
		run -0 "$d" stats --no-stream --format '{{.MemUsage}}' sx
		assert_match "$output" " / 48MiB$"
		run -1 "$d" update -m 1000 sx
		assert_contains "$output" "Minimum memory limit allowed is 6MB"
		run -0 "$d" system df
		assert_eq "${lines[0]}" "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE"
		assert_match "${lines[1]}" '^Images +1 +1 '
		assert_match "${lines[2]}" '^Containers +1 +1 '
		run -0 "$d" create --name gone busybox true
		run -0 "$d" system prune -f
		assert_eq "${lines[0]}" "Deleted Containers:"
		assert_eq "${#lines[1]}" 64
		assert_eq "${lines[-1]}" "Total reclaimed space: 0B"
		run -0 "$d" ps -a --format '{{.Names}}'
		assert_eq "$output" sx
	done
}

@test "system df -v: per-image, per-container and per-volume tables (berth, docker 20.10 and 28)" {
	local d
	berth rm -f dfv >/dev/null 2>&1 || true
	berth volume rm dfvol >/dev/null 2>&1 || true
	run -0 berth run -d --name dfv -v dfvol:/data busybox sleep 1000
	for d in berth "$DOCKER_CLI_20" "$DOCKER_CLI_28"; do
		[ "$d" = berth ] || need_cli "$d"
		run -0 "$d" system df -v
		assert_contains "$output" "Images space usage:"
		assert_contains "$output" "REPOSITORY   TAG       IMAGE ID       CREATED"
		assert_contains "$output" "Containers space usage:"
		assert_match "$output" "dfv"
		assert_contains "$output" "Local Volumes space usage:"
		assert_match "$output" "dfvol +1 "
	done
	run -0 berth rm -f dfv
	run -0 berth volume rm dfvol
}

@test "the daemon did not crash or hang during this suite" {
	assert_no_daemon_crash
}
