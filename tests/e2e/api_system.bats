#!/usr/bin/env bats
# System endpoints over the raw API: /_ping, /version, /info, version
# negotiation, unknown routes, malformed requests.

load helpers

setup_file() { berthd_start; }
teardown_file() { berthd_stop; }
setup() { berthd_ensure; }

@test "GET /_ping answers OK with docker's headers" {
	api GET /_ping
	assert_status 200
	assert_eq "$HTTP_BODY" OK
	assert_eq "$(header Api-Version)" 1.41
	assert_eq "$(header Ostype)" linux
	assert_match "$(header Server)" '^[A-Za-z]+/[^ ]+ \(linux\)$'
	assert_eq "$(header Cache-Control)" 'no-cache, no-store, must-revalidate'
	assert_eq "$(header Pragma)" no-cache
	assert_match "$(header Content-Type)" '^text/plain'
}

@test "HEAD /_ping has the headers and no body" {
	api HEAD /_ping
	assert_status 200
	assert_eq "$HTTP_BODY" ""
	assert_eq "$(header Api-Version)" 1.41
	assert_eq "$(header Ostype)" linux
	assert_match "$(header Server)" '\(linux\)$'
}

@test "versioned /_ping works too" {
	api GET /v1.41/_ping
	assert_status 200
	assert_eq "$HTTP_BODY" OK
}

@test "GET /version reports API 1.41 and the host" {
	api GET /version
	assert_status 200
	assert_match "$(header Content-Type)" '^application/json'
	assert_eq "$(jq -r .ApiVersion <<<"$HTTP_BODY")" 1.41
	assert_eq "$(jq -r .Os <<<"$HTTP_BODY")" linux
	assert_eq "$(jq -r .Arch <<<"$HTTP_BODY")" amd64
	assert_eq "$(jq -r .KernelVersion <<<"$HTTP_BODY")" "$(uname -r)"
	assert_match "$(jq -r .MinAPIVersion <<<"$HTTP_BODY")" '^1\.[0-9]+$'
	assert_match "$(jq -r .Version <<<"$HTTP_BODY")" '^[0-9]+\.[0-9]+'
	assert_eq "$(jq -r '.Components[0].Name' <<<"$HTTP_BODY")" Engine
	assert_eq "$(jq -r '.Components[0].Details.ApiVersion' <<<"$HTTP_BODY")" 1.41
}

@test "GET /info has the fields docker fills" {
	api GET /info
	assert_status 200
	local f
	for f in ID Name Containers ContainersRunning ContainersPaused ContainersStopped Images Driver DriverStatus \
		LoggingDriver CgroupDriver CgroupVersion KernelVersion OperatingSystem OSType Architecture NCPU MemTotal \
		DockerRootDir Labels ServerVersion Runtimes DefaultRuntime SecurityOptions Warnings; do
		jq -e "has(\"$f\")" <<<"$HTTP_BODY" >/dev/null || fail "info lacks $f: $HTTP_BODY"
	done
	assert_eq "$(jq -r .Driver <<<"$HTTP_BODY")" "$E2E_STORAGE_DRIVER"
	assert_eq "$(jq -r .DockerRootDir <<<"$HTTP_BODY")" "$E2E_DATA"
	assert_eq "$(jq -r .OSType <<<"$HTTP_BODY")" linux
	assert_eq "$(jq -r .Architecture <<<"$HTTP_BODY")" x86_64
	assert_eq "$(jq -r .NCPU <<<"$HTTP_BODY")" "$(nproc)"
	assert_eq "$(jq -r .KernelVersion <<<"$HTTP_BODY")" "$(uname -r)"
	assert_eq "$(jq -r .Images <<<"$HTTP_BODY")" 0
	assert_eq "$(jq -r .Containers <<<"$HTTP_BODY")" 0
	assert_eq "$(jq -r .Name <<<"$HTTP_BODY")" "$(uname -n)"
	assert_eq "$(jq -r .CgroupVersion <<<"$HTTP_BODY")" 1
	jq -e '.MemTotal > 0' <<<"$HTTP_BODY" >/dev/null || fail "MemTotal: $HTTP_BODY"
	jq -e '.DriverStatus | map(.[0]) | index("Backing Filesystem") != null' <<<"$HTTP_BODY" >/dev/null ||
		fail "DriverStatus lacks Backing Filesystem: $(jq -c .DriverStatus <<<"$HTTP_BODY")"
	jq -e '.DriverStatus | map(.[0]) | index("Supports d_type") != null' <<<"$HTTP_BODY" >/dev/null ||
		fail "DriverStatus lacks Supports d_type: $(jq -c .DriverStatus <<<"$HTTP_BODY")"
	jq -e '.DefaultRuntime as $d | .Runtimes | has($d)' <<<"$HTTP_BODY" >/dev/null ||
		fail "DefaultRuntime not among Runtimes: $(jq -c '{DefaultRuntime, Runtimes}' <<<"$HTTP_BODY")"
}

@test "/v1.99 is too new: 400 with docker's message" {
	api GET /v1.99/version
	assert_status 400
	assert_message "client version 1.99 is too new. Maximum supported API version is 1.41"
}

@test "/v1.12 (the minimum) and /v1.24 are accepted" {
	api GET /v1.12/version
	assert_status 200
	api GET /v1.24/version
	assert_status 200
	api GET /v1.41/version
	assert_status 200
}

@test "/v1.11 is too old: 400" {
	api GET /v1.11/version
	assert_status 400
	assert_contains "$HTTP_BODY" "client version 1.11 is too old"
}

@test "unknown route: 404 page not found" {
	api GET /nonexistent
	assert_status 404
	assert_eq "$HTTP_BODY" '{"message":"page not found"}'
	api GET /v1.41/nonexistent
	assert_status 404
	assert_eq "$HTTP_BODY" '{"message":"page not found"}'
	api POST /v1.41/images/nosuch/frobnicate
	assert_status 404
}

@test "unknown image: 404 No such image" {
	api GET /images/nosuch/json
	assert_status 404
	# dockerd 20.10 says "no such image: nosuch: No such image: nosuch:latest"
	assert_contains "$(jq -r .message <<<"$HTTP_BODY")" "No such image: nosuch:latest"
	api DELETE /images/nosuch
	assert_status 404
	assert_message "No such image: nosuch:latest"
}

@test "invalid reference: 400 with docker's message" {
	api DELETE /images/UPPER
	assert_status 400
	assert_message "invalid reference format: repository name must be lowercase"
}

@test "malformed JSON body is rejected with a JSON error" {
	# dockerd 20.10 answers 500 here (newer engines: 400); Berth answers 400.
	api POST /containers/create -H 'Content-Type: application/json' -d '{bad'
	if [ "$E2E_TARGET" = dockerd ]; then
		assert_status 500
	else
		[ "$HTTP_CODE" = 400 ] || [ "$HTTP_CODE" = 404 ] || fail "expected 400, got $HTTP_CODE: $HTTP_BODY"
	fi
	assert_contains "$HTTP_BODY" '"message"'
	# filters is JSON too
	api GET '/images/json?filters=%7Bbad'
	if [ "$E2E_TARGET" = dockerd ]; then
		assert_status 500
	else
		assert_status 400
	fi
	assert_contains "$HTTP_BODY" '"message"'
}

@test "errors on image routes carry the API headers" {
	api GET /images/nosuch/json
	assert_status 404
	assert_eq "$(header Api-Version)" 1.41
	assert_match "$(header Content-Type)" '^application/json'
}

_docker_version_info()
{
	local cli=$1
	need_cli "$cli"
	run -0 "$cli" version --format '{{.Server.APIVersion}}'
	assert_eq "$output" 1.41
	run -0 "$cli" info --format '{{.OSType}} {{.Driver}}'
	assert_eq "$output" "linux $E2E_STORAGE_DRIVER"
}

@test "docker CLI 28 can talk to the daemon (version, info)" { _docker_version_info "$DOCKER_CLI_28"; }
@test "docker CLI 20.10 can talk to the daemon (version, info)" { _docker_version_info "$DOCKER_CLI_20"; }

@test "info: LiveRestoreEnabled is true (containers outlive the daemon)" {
	skip_on_dockerd "live restore is off unless configured"
	api GET /info
	assert_status 200
	assert_eq "$(jq -r .LiveRestoreEnabled <<<"$HTTP_BODY")" true
	run -0 berth info
	assert_contains "$output" "Live Restore Enabled: true"
}

_docker_info_live_restore()
{
	local cli=$1
	need_cli "$cli"
	skip_on_dockerd "live restore is off unless configured"
	run -0 "$cli" info
	assert_contains "$output" "Live Restore Enabled: true"
}

@test "docker CLI 28 info: Live Restore Enabled: true" { _docker_info_live_restore "$DOCKER_CLI_28"; }
@test "docker CLI 20.10 info: Live Restore Enabled: true" { _docker_info_live_restore "$DOCKER_CLI_20"; }

@test "berth version and info" {
	run -0 berth version
	assert_contains "$output" "API version:"
	assert_contains "$output" "Server:"
	run -0 berth info --format '{{.Images}} {{.Driver}}'
	assert_match "$output" "^[0-9]+ $E2E_STORAGE_DRIVER\$"
}

@test "daemon still answers after the malformed requests" {
	api GET /_ping
	assert_status 200
}

@test "the daemon did not crash or hang during this suite" {
	assert_no_daemon_crash
}
