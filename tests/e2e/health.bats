#!/usr/bin/env bats
# Healthchecks at run time (issue 10 item 4): the daemon runs the test of
# Config.Healthcheck (from --health-* flags, the create body or the image's
# HEALTHCHECK) as an exec in the running container and keeps State.Health
# {Status, FailingStreak, Log}; ps shows "(healthy)"/"(health: starting)"/
# "(unhealthy)" and filters on health=; status changes are
# "health_status: <status>" events; a daemon restart keeps the record and
# the checks go on.

load helpers

setup_file() {
	berthd_start
	load_busybox
}
teardown_file() { berthd_stop; }
setup() { berthd_ensure; }
teardown() {
	reset_containers
	api DELETE '/images/hc-image:1?force=1' || true
}

hstatus() { cjq "$1" '.State.Health.Status'; }
health_is() { [ "$(hstatus "$1" 2>/dev/null)" = "$2" ]; }
log_len_at_least() { [ "$(cjq "$1" '.State.Health.Log | length' 2>/dev/null)" -ge "$2" ]; }
ps_status() { berth ps -a --filter "name=^$1\$" --format '{{.Status}}'; }

# events of container $1 since $2 (unix time) up to now: their actions
# (until counts whole seconds and, as dockerd's, leaves out the rest of that
# second: one more, or an event of this very second is missed)
actions_since() {
	api GET "/events?since=$2&until=$(($(date +%s) + 1))&filters=$(jq -rn --arg c "$1" '{container: [$c]} | @uri')" ||
		return 1
	printf '%s' "$HTTP_BODY" | jq -r '.Action'
}

@test "a passing check: starting, then healthy; ps status, filter, events, inspect shape" {
	local t0
	t0=$(date +%s)
	run -0 berth run -d --name hc --health-cmd 'echo ok' --health-interval 1s busybox sleep 300
	run -0 berth run -d --name slow --health-cmd 'true' --health-interval 5m busybox sleep 300
	run -0 berth run -d --name plain busybox sleep 300
	# before its first probe (after Interval) a container is starting
	assert_eq "$(hstatus slow)" starting
	assert_eq "$(cjq slow '.State.Health.FailingStreak')" 0
	assert_match "$(ps_status slow)" '^Up .* \(health: starting\)$'
	wait_for 30 health_is hc healthy
	assert_match "$(ps_status hc)" '^Up .* \(healthy\)$'
	assert_match "$(ps_status plain)" '^Up [^(]*$'
	assert_eq "$(cjq plain '.State.Health')" null
	# State.Health as dockerd: the keys, a Log entry per probe
	assert_eq "$(cjq hc '.State.Health | keys | join(",")')" "FailingStreak,Log,Status"
	assert_eq "$(cjq hc '.State.Health.Log[0] | keys | join(",")')" "End,ExitCode,Output,Start"
	assert_eq "$(cjq hc '.State.Health.Log[0].ExitCode')" 0
	assert_eq "$(cjq hc '.State.Health.Log[0].Output')" ok
	assert_match "$(cjq hc '.State.Health.Log[0].Start')" '^20[0-9-]+T[0-9:.]+Z$'
	# the state list stays at the last 5 results
	wait_for 30 log_len_at_least hc 5
	local last
	last=$(cjq hc '.State.Health.Log[-1].End')
	newer() { [ "$(cjq hc '.State.Health.Log[-1].End')" != "$last" ]; }
	wait_for 30 newer
	assert_eq "$(cjq hc '.State.Health.Log | length')" 5
	# ps filters
	run -0 berth ps --filter health=healthy --format '{{.Names}}'
	assert_eq "$output" hc
	run -0 berth ps --filter health=starting --format '{{.Names}}'
	assert_eq "$output" slow
	run -0 berth ps --filter health=none --format '{{.Names}}'
	assert_eq "$output" plain
	run -0 berth ps --filter health=unhealthy --format '{{.Names}}'
	assert_eq "$output" ""
	api GET "/containers/json?filters=$(jq -rn '{health: ["bogus"]} | @uri')"
	assert_status 400
	assert_message "Unrecognised filter value for health: bogus"
	# events: the probe is an exec; the change of status is announced once
	run -0 actions_since hc "$t0"
	assert_contains "$output" "exec_create: /bin/sh -c echo ok"
	assert_contains "$output" "exec_start: /bin/sh -c echo ok"
	assert_contains "$output" "exec_die"
	assert_eq "$(grep -c '^health_status' <<<"$output")" 1
	assert_contains "$output" "health_status: healthy"
	# finished probes are not left in the container's ExecIDs (one may be running)
	[ "$(cjq hc '.ExecIDs // [] | length')" -le 1 ] || fail "ExecIDs: $(cjq hc .ExecIDs)"
}

@test "docker CLIs show the same ps status" {
	need_cli /usr/local/bin/docker
	run -0 berth run -d --name hc --health-cmd 'true' --health-interval 1s busybox sleep 300
	wait_for 30 health_is hc healthy
	run -0 /usr/local/bin/docker ps --filter name=hc --filter health=healthy --format '{{.Names}} {{.Status}}'
	assert_match "$output" '^hc Up .* \(healthy\)$'
	run -0 /usr/local/bin/docker inspect -f '{{.State.Health.Status}} {{.State.Health.FailingStreak}}' hc
	assert_eq "$output" "healthy 0"
}

@test "a failing check: unhealthy after Retries failures, output and exit code logged" {
	local t0
	t0=$(date +%s)
	run -0 berth run -d --name bad --health-cmd 'echo broken >&2; exit 3' --health-interval 1s \
		--health-retries 2 busybox sleep 300
	wait_for 30 health_is bad unhealthy
	[ "$(cjq bad '.State.Health.FailingStreak')" -ge 2 ] || fail "streak: $(cjq bad .State.Health)"
	assert_eq "$(cjq bad '.State.Health.Log[0].ExitCode')" 3
	assert_eq "$(cjq bad '.State.Health.Log[0].Output')" broken
	assert_match "$(ps_status bad)" '^Up .* \(unhealthy\)$'
	run -0 berth ps --filter health=unhealthy --format '{{.Names}}'
	assert_eq "$output" bad
	run -0 actions_since bad "$t0"
	assert_contains "$output" "health_status: unhealthy"
	assert_not_contains "$output" "health_status: healthy"
}

@test "a probe over its timeout is killed: exit code -1 and docker's message; output is capped" {
	run -0 berth run -d --name slowprobe --health-cmd 'sleep 30' --health-interval 1s --health-timeout 1s \
		--health-retries 1 busybox sleep 300
	run -0 berth run -d --name chatty --health-cmd 'head -c 5000 /dev/zero | tr "\0" a' --health-interval 1s \
		busybox sleep 300
	wait_for 60 health_is slowprobe unhealthy
	assert_eq "$(cjq slowprobe '.State.Health.Log[0].ExitCode')" -1
	assert_eq "$(cjq slowprobe '.State.Health.Log[0].Output')" "Health check exceeded timeout (1s)"
	# the probe process is gone from the container
	run -0 berth exec slowprobe ps -o comm
	assert_not_contains "$output" "sleep 30"
	wait_for 30 health_is chatty healthy
	assert_eq "$(cjq chatty '.State.Health.Log[0].Output | length')" 4099
	assert_match "$(cjq chatty '.State.Health.Log[0].Output')" '^a+\.\.\.$'
}

@test "image HEALTHCHECK from a build; --no-healthcheck and Test NONE disable it; bad values refused" {
	local ctx=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$ctx"
	printf 'FROM busybox\nHEALTHCHECK --interval=1s --retries=4 CMD ["true"]\n' >"$ctx/Dockerfile"
	run -0 berth build -q -t hc-image:1 "$ctx"
	run -0 berth run -d --name fromimage hc-image:1 sleep 300
	assert_eq "$(cjq fromimage '.Config.Healthcheck.Test | join(",")')" "CMD,true"
	assert_eq "$(cjq fromimage '.Config.Healthcheck.Retries')" 4
	wait_for 30 health_is fromimage healthy
	# the user's flags override the image's fields one by one
	run -0 berth create --name mixed --health-retries 9 hc-image:1 sleep 300
	assert_eq "$(cjq mixed '[.Config.Healthcheck.Test[1], .Config.Healthcheck.Retries, .Config.Healthcheck.Interval] | join(",")')" \
		"true,9,1000000000"
	run -0 berth run -d --name off --no-healthcheck hc-image:1 sleep 300
	assert_eq "$(cjq off '.Config.Healthcheck.Test | join(",")')" NONE
	assert_eq "$(cjq off '.State.Health')" null
	assert_match "$(ps_status off)" '^Up [^(]*$'
	run -0 berth ps --filter health=none --format '{{.Names}}'
	assert_eq "$output" off
	run berth run -d --no-healthcheck --health-retries 2 busybox true
	[ "$status" -ne 0 ] || fail "--no-healthcheck with --health-retries accepted"
	assert_contains "$output" "--no-healthcheck conflicts with --health-* options"
	api POST /containers/create -H 'Content-Type: application/json' \
		-d '{"Image":"busybox","Cmd":["true"],"Healthcheck":{"Test":["CMD","true"],"Interval":1000}}'
	assert_status 400
	assert_message "Interval in Healthcheck cannot be less than 1ms"
	api POST /containers/create -H 'Content-Type: application/json' \
		-d '{"Image":"busybox","Cmd":["true"],"Healthcheck":{"Test":["CMD","true"],"Retries":-1}}'
	assert_status 400
	assert_message "Retries in Healthcheck cannot be negative"
}

@test "stop and pause end the checks (Status unhealthy, as docker); start and unpause resume them" {
	run -0 berth run -d --name keep --health-cmd 'true' --health-interval 1s busybox sleep 300
	wait_for 30 health_is keep healthy
	run -0 berth pause keep
	assert_eq "$(hstatus keep)" unhealthy
	assert_match "$(ps_status keep)" '^Up .* \(Paused\)$'
	run -0 berth unpause keep
	wait_for 30 health_is keep healthy
	run -0 berth stop -t 1 keep
	assert_eq "$(hstatus keep)" unhealthy
	assert_match "$(ps_status keep)" '^Exited '
	assert_eq "$(cjq keep '.State.Health.Log[-1].ExitCode')" 0
	run -0 berth start keep
	run -0 berth run -d --name slow --health-cmd 'true' --health-interval 5m busybox sleep 300
	assert_eq "$(hstatus slow)" starting
	wait_for 30 health_is keep healthy
}

@test "a daemon restart (live restore) keeps State.Health and the checks go on" {
	skip_on_dockerd "dockerd stops its containers when killed without --live-restore"
	run -0 berth run -d --name keep --health-cmd 'true' --health-interval 1s busybox sleep 300
	run -0 berth run -d --name slow --health-cmd 'true' --health-interval 5m busybox sleep 300
	wait_for 30 health_is keep healthy
	local n
	n=$(cjq keep '.State.Health.Log | length')
	berthd_kill9
	berthd_respawn
	# the record survived; the monitor of the restored container runs again
	[ "$(cjq keep '.State.Health.Log | length')" -ge "$n" ] || fail "Log lost: $(cjq keep .State.Health)"
	assert_eq "$(hstatus slow)" starting
	local last
	last=$(cjq keep '.State.Health.Log[-1].End')
	new_probe() { [ "$(cjq keep '.State.Health.Log[-1].End')" != "$last" ]; }
	wait_for 30 new_probe
	wait_for 30 health_is keep healthy
}

@test "no daemon crash during the suite" {
	assert_no_daemon_crash
}
