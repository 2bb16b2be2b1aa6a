#!/usr/bin/env bats
# Authorization plugins (issue 11), docker's protocol: a test plugin
# (lib/authz_plugin.py, a python HTTP server on a unix socket in the plugins
# directory) allows everything except creating containers with bind mounts.
# BERTH_PLUGIN_DIRS points berthd's plugin discovery at the suite's own
# directory instead of /run/berth/plugins, /etc/berth/plugins, ...

load helpers

PLUGIN=$BATS_TEST_DIRNAME/lib/authz_plugin.py

# plugin_start NAME [MODE]: start the plugin on $PLUGINS/NAME.sock (its log
# in $PLUGINS/NAME.log), wait for its socket.
plugin_start()
{
	local name=$1 mode=${2:-nobind}
	rm -f "$PLUGINS/$name.sock"
	python3 "$PLUGIN" "$PLUGINS/$name.sock" "$PLUGINS/$name.log" "$mode" </dev/null >/dev/null 2>&1 3>&- &
	echo $! >"$PLUGINS/$name.pid"
	wait_for 30 test -S "$PLUGINS/$name.sock"
}
plugin_stop()
{
	local pid
	pid=$(cat "$PLUGINS/$1.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || true
	wait_for 30 _gone "$pid" || true
	rm -f "$PLUGINS/$1.pid" "$PLUGINS/$1.sock"
}
_gone() { ! kill -0 "$1" 2>/dev/null; }
# plugin_log NAME: the AuthZ requests it saw, one JSON line each
plugin_log() { cat "$PLUGINS/$1.log" 2>/dev/null; }

setup_file()
{
	skip_on_dockerd
	PLUGINS=$(mktemp -d /tmp/berth-authz.XXXXXX)
	export PLUGINS BERTH_PLUGIN_DIRS=$PLUGINS
	plugin_start nobind
	plugin_start denyall denyall
	plugin_start second nobind
	# the chain lives in a daemon.json of our own so SIGHUP can change it
	echo '{"authorization-plugins": ["nobind"]}' >"$PLUGINS/daemon.json"
	berthd_start --config-file "$PLUGINS/daemon.json"
	load_busybox
}
teardown_file()
{
	berthd_stop
	local p
	for p in nobind denyall second broken; do plugin_stop "$p"; done
	[ -n "${PLUGINS:-}" ] && rm -rf "$PLUGINS"
}
setup() { berthd_ensure; }
teardown() { reset_containers; }

# set_chain NAME...: rewrite daemon.json's chain (SIGHUP applies it)
set_chain()
{
	local json=""
	[ $# -gt 0 ] && json=$(printf '"%s",' "$@")
	echo "{\"authorization-plugins\": [${json%,}]}" >"$PLUGINS/daemon.json"
}

@test "authz: allowed requests pass and the plugin sees them (AuthZReq and AuthZRes)" {
	: >"$PLUGINS/nobind.log"
	run berth run --rm busybox echo allowed
	[ "$status" -eq 0 ] || fail "run: $output"
	assert_eq "$output" "allowed"
	local log
	log=$(plugin_log nobind)
	assert_contains "$log" '"method": "AuthZPlugin.AuthZReq"'
	assert_contains "$log" '"method": "AuthZPlugin.AuthZRes"'
	# the create request with its JSON body, and its 201 response with the new id
	run python3 -c '
import json, sys, base64
seen_req = seen_res = False
for line in open(sys.argv[1]):
    e = json.loads(line)
    b = e["body"]
    if "/containers/create" not in b.get("RequestURI", ""):
        continue
    if e["method"] == "AuthZPlugin.AuthZReq":
        body = json.loads(base64.b64decode(b["RequestBody"]))
        assert body["Cmd"] == ["echo", "allowed"], body
        assert b["RequestMethod"] == "POST"
        assert b["RequestHeaders"]["Content-Type"].startswith("application/json")
        seen_req = True
    if e["method"] == "AuthZPlugin.AuthZRes":
        assert b["ResponseStatusCode"] == 201, b
        res = json.loads(base64.b64decode(b["ResponseBody"]))
        assert len(res["Id"]) == 64, res
        seen_res = True
assert seen_req and seen_res, (seen_req, seen_res)
' "$PLUGINS/nobind.log"
	[ "$status" -eq 0 ] || fail "$output"
}

@test "authz: a container with a bind mount is denied with docker's exact 403 message" {
	api POST /containers/create -H 'Content-Type: application/json' -d '{"Image":"busybox","Cmd":["true"],"HostConfig":{"Binds":["/tmp:/x"]}}'
	assert_status 403
	assert_message "authorization denied by plugin nobind: bind mounts are not allowed"
	run berth run --rm -v /tmp:/x busybox true
	[ "$status" -ne 0 ]
	assert_contains "$output" "authorization denied by plugin nobind: bind mounts are not allowed"
	# with the docker CLI too, and nothing was created
	run "$DOCKER_CLI_28" create --mount type=bind,source=/tmp,target=/x busybox true
	[ "$status" -ne 0 ]
	assert_contains "$output" "authorization denied by plugin nobind: bind mounts are not allowed"
	[ "$(container_count)" = 0 ]
	# a volume is fine
	run berth run --rm -v authzvol:/x busybox true
	[ "$status" -eq 0 ] || fail "$output"
	berth volume rm authzvol >/dev/null
}

@test "authz: hijacked and streamed endpoints are authorized before they start" {
	run berth run -d --name authzx busybox sleep 300
	[ "$status" -eq 0 ] || fail "$output"
	: >"$PLUGINS/nobind.log"
	run berth exec authzx echo from-exec
	[ "$status" -eq 0 ] || fail "$output"
	assert_eq "$output" "from-exec"
	assert_contains "$(plugin_log nobind)" '/exec/'
	assert_contains "$(plugin_log nobind)" '/start'
	run timeout 20 "$BERTH_CLI" logs authzx
	[ "$status" -eq 0 ] || fail "$output"
	assert_contains "$(plugin_log nobind)" '/logs'
}

@test "authz: two plugins are asked in chain order; the first denial wins" {
	: >"$PLUGINS/nobind.log"
	: >"$PLUGINS/denyall.log"
	set_chain nobind denyall
	kill -HUP "$(berthd_pid)"
	wait_for 30 _denied_by denyall
	api GET /containers/json
	assert_status 403
	assert_message "authorization denied by plugin denyall: denied by MODE denyall"
	# nobind saw the request first (it allowed it), then denyall denied it
	assert_contains "$(plugin_log nobind)" '/containers/json'
	assert_contains "$(plugin_log denyall)" '/containers/json'
	# reversed: denyall first, nobind is never asked
	: >"$PLUGINS/nobind.log"
	set_chain denyall nobind
	kill -HUP "$(berthd_pid)"
	api GET /images/json
	assert_status 403
	assert_message "authorization denied by plugin denyall: denied by MODE denyall"
	assert_not_contains "$(plugin_log nobind)" '/images/json'
	# back to the single plugin
	set_chain nobind
	kill -HUP "$(berthd_pid)"
	wait_for 30 _allowed
}
_denied_by() { api GET /_ping; [ "$HTTP_CODE" = 403 ] && [[ $HTTP_BODY == *"plugin $1"* ]]; }
_allowed() { api GET /_ping; [ "$HTTP_CODE" = 200 ]; }

@test "authz: SIGHUP changes the chain (an empty chain allows everything)" {
	set_chain denyall
	kill -HUP "$(berthd_pid)"
	wait_for 30 _denied_by denyall
	set_chain
	kill -HUP "$(berthd_pid)"
	wait_for 30 _allowed
	api POST /containers/create -H 'Content-Type: application/json' -d '{"Image":"busybox","Cmd":["true"],"HostConfig":{"Binds":["/tmp:/x"]}}'
	assert_status 201
	set_chain nobind
	kill -HUP "$(berthd_pid)"
	wait_for 30 _bind_denied
}
_bind_denied()
{
	api POST /containers/create -H 'Content-Type: application/json' -d '{"Image":"busybox","Cmd":["true"],"HostConfig":{"Binds":["/tmp:/y"]}}'
	[ "$HTTP_CODE" = 403 ]
}

@test "authz: a stopped plugin makes requests fail closed; a plugin error is docker's 500" {
	plugin_start broken
	set_chain broken
	kill -HUP "$(berthd_pid)"
	wait_for 30 _allowed
	plugin_stop broken
	api GET /containers/json
	assert_status 500
	assert_contains "$HTTP_BODY" "plugin broken failed with error:"
	run berth ps
	[ "$status" -ne 0 ]
	assert_contains "$output" "plugin broken failed with error:"
	# a plugin answering an error
	plugin_start broken error
	api GET /containers/json
	assert_status 500
	assert_message "plugin broken failed with error: AuthZPlugin.AuthZReq: plugin broke"
	plugin_stop broken
	set_chain nobind
	kill -HUP "$(berthd_pid)"
	wait_for 30 _allowed
}

@test "authz: connections to a plugin are kept alive, shared by concurrent requests and re-made after a restart" {
	: >"$PLUGINS/nobind.log"
	local i
	for i in 1 2 3 4 5 6 7 8; do
		api GET /_ping
		assert_status 200
	done
	# 16 calls (AuthZReq and AuthZRes) on one or two connections, not 16
	run python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
conns = {l["conn"] for l in lines}
assert len(lines) >= 16 and len(conns) <= 2, (len(lines), sorted(conns))
' "$PLUGINS/nobind.log"
	[ "$status" -eq 0 ] || fail "$output"
	# concurrent requests (the server's threads share the plugin's connections)
	local pids=()
	for i in $(seq 1 16); do
		curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 --unix-socket "$E2E_SOCK" \
			"http://localhost/v1.41/containers/json?all=1" >"$PLUGINS/par.$i" 3>&- &
		pids+=($!)
	done
	wait "${pids[@]}"
	for i in $(seq 1 16); do assert_eq "$(cat "$PLUGINS/par.$i")" 200; done
	# the plugin restarts: its old connections are dead, new ones are made
	plugin_stop nobind
	api GET /_ping
	assert_status 500
	plugin_start nobind
	for i in 1 2 3; do
		api GET /_ping
		assert_status 200
	done
	api POST /containers/create -H 'Content-Type: application/json' -d '{"Image":"busybox","Cmd":["true"],"HostConfig":{"Binds":["/tmp:/x"]}}'
	assert_status 403
}

@test "authz: no password reaches the plugin on login (and X-Registry-Auth is redacted)" {
	: >"$PLUGINS/nobind.log"
	api POST /auth -H 'Content-Type: application/json' -d '{"username":"alice","password":"s3cret-pw","serveraddress":"127.0.0.1:1"}'
	local auth
	auth=$(printf '{"username":"alice","password":"s3cret-pw"}' | base64 -w0)
	curl -s --max-time 30 --unix-socket "$E2E_SOCK" -X POST -H "X-Registry-Auth: $auth" \
		"http://localhost/images/create?fromImage=127.0.0.1:1/none&tag=latest" >/dev/null || true
	run berth login -u alice -p s3cret-pw 127.0.0.1:1
	local log
	log=$(plugin_log nobind)
	assert_contains "$log" '/auth'
	assert_contains "$log" '<redacted>'
	assert_not_contains "$log" 's3cret-pw'
	assert_not_contains "$log" "$auth"
	assert_not_contains "$log" "$(printf 's3cret-pw' | base64 -w0)"
}

@test "authz: a missing plugin or one that does not implement authz stops berthd" {
	local d=$E2E_TMP/authzfail
	mkdir -p "$d"
	run timeout 60 "$BERTHD" -H "unix://$d/s.sock" --data-root "$d/data" --exec-root "$d/exec" \
		--authorization-plugin nosuchplugin
	[ "$status" -ne 0 ] && [ "$status" -ne 124 ] || fail "berthd started: $output"
	assert_contains "$output" "Error validating authorization plugin"
	assert_contains "$output" "nosuchplugin"
	plugin_start notauthz notauthz
	run timeout 60 "$BERTHD" -H "unix://$d/s.sock" --data-root "$d/data" --exec-root "$d/exec" \
		--authorization-plugin notauthz
	plugin_stop notauthz
	[ "$status" -ne 0 ] && [ "$status" -ne 124 ] || fail "berthd started: $output"
	assert_contains "$output" "does not implement authz"
}

@test "authz: the daemon did not crash" {
	assert_no_daemon_crash
}
