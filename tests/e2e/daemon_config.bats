#!/usr/bin/env bats
# Nothing security-relevant is silently ignored (issue 7, item 5): every
# daemon.json key and flag either works or makes berthd refuse to start with
# a message naming it; a plaintext tcp:// listener is refused on a
# non-loopback address unless --tls=false is given (docker 27's rule) and
# gets docker's warning on loopback.
#
# berthd is started directly with a crafted daemon.json and flags.

load helpers

setup()
{
	[ "${E2E_TARGET:-berthd}" = berthd ] || skip "berthd only: starts the daemon binary directly"
	D=$(mktemp -d /tmp/berth-cfg.XXXXXX)
	mkdir -p "$D/data" "$D/exec"
	export D
}

teardown()
{
	berthd_stop
	if [ -n "${D:-}" ]; then
		rm -rf --one-file-system "$D"
	fi
}

# cfg JSON: write the daemon.json
cfg() { printf '%s\n' "$1" >"$D/daemon.json"; }

# refuse [flags...]: berthd must exit non-zero before serving; sets output
refuse()
{
	run timeout 60 "$BERTHD" --config-file "$D/daemon.json" -H "unix://$D/s.sock" --data-root "$D/data" \
		--exec-root "$D/exec" --pidfile "$D/pid" --bridge=none --iptables=false "$@"
	echo "# exit $status: $output" >&3
	[ "$status" -ne 0 ] || fail "berthd exited 0: $output"
	[ "$status" -ne 124 ] || fail "berthd started instead of refusing: $output"
	[ ! -S "$D/s.sock" ] || fail "berthd listened before refusing"
}

free_port()
{
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

@test "the issue's daemon.json (tcp without TLS, missing certs, authz, seccomp) is refused, naming each key" {
	cfg '{"hosts":["tcp://127.0.0.1:23752"], "tlsverify":true, "tlscert":"/nonexistent/c.pem",
	      "tlskey":"/nonexistent/k.pem", "tlscacert":"/nonexistent/ca.pem",
	      "authorization-plugins":["x"], "seccomp-profile":"/nonexistent"}'
	# the file's hosts conflict with -H: give the other flags only
	run timeout 60 "$BERTHD" --config-file "$D/daemon.json" --data-root "$D/data" --exec-root "$D/exec" \
		--pidfile "$D/pid"
	echo "# exit $status: $output" >&3
	[ "$status" -ne 0 ] && [ "$status" -ne 124 ] || fail "berthd did not refuse: $status $output"
	local k
	for k in tlscert tlskey tlscacert seccomp-profile; do
		assert_contains "$output" "$k"
	done
	assert_contains "$output" "/nonexistent/c.pem"
	assert_contains "$output" "No such file or directory"
	! curl -s --max-time 2 http://127.0.0.1:23752/_ping || fail "something answers on 127.0.0.1:23752"
}

@test "an unknown key is refused with dockerd's message" {
	cfg '{"debug": true, "no-such-option": 1}'
	refuse
	assert_contains "$output" "the following directives don't match any configuration option: no-such-option"
}

@test "a key given both as a flag and in the file is refused" {
	cfg '{"debug": true}'
	refuse --debug
	assert_contains "$output" "the following directives are specified both as a flag and in the configuration file: debug"
}

@test "security keys Berth does not implement refuse to start, each named" {
	local -a cases=(
		'"selinux-enabled": true'
		'"no-new-privileges": true'
		'"default-ulimits": {"nofile": {"Name": "nofile", "Hard": 10, "Soft": 10}}'
		'"exec-opts": ["native.cgroupdriver=systemd"]'
		'"live-restore": false'
	)
	local c key
	for c in "${cases[@]}"; do
		key=$(printf '{%s}' "$c" | jq -r 'keys[0]')
		cfg "{$c}"
		refuse
		assert_contains "$output" "$key"
		assert_contains "$output" "not supported yet"
	done
}

@test "seccomp-profile: a missing file is named, a file that is not JSON is refused" {
	cfg '{"seccomp-profile": "/nonexistent/profile.json"}'
	refuse
	assert_contains "$output" "opening seccomp profile (/nonexistent/profile.json) failed"
	echo '{"defaultAction":' >"$D/profile.json"
	cfg "{\"seccomp-profile\": \"$D/profile.json\"}"
	refuse
	assert_contains "$output" "seccomp-profile: decoding seccomp profile ($D/profile.json) failed"
	# the flag behaves the same
	cfg '{}'
	refuse --seccomp-profile /nonexistent/profile.json
	assert_contains "$output" "--seccomp-profile"
	assert_contains "$output" "/nonexistent/profile.json"
}

@test "TLS flags without certificate files refuse: --tlsverify, --tls, a missing --tlscert" {
	cfg '{}'
	[ -e /etc/berth/cert.pem ] && skip "/etc/berth/cert.pem exists on this host"
	refuse --tlsverify
	assert_contains "$output" "/etc/berth/cert.pem"
	refuse --tls
	assert_contains "$output" "/etc/berth/cert.pem"
	refuse --tlscert /nonexistent/cert.pem
	assert_contains "$output" "tlscert"
	assert_contains "$output" "/nonexistent/cert.pem"
	# dockerd flags Berth does not have are refused by name
	refuse --selinux-enabled
	assert_contains "$output" "selinux-enabled"
}

@test "wrong types and bad values are refused, naming the key" {
	cfg '{"debug": "yes"}'
	refuse
	assert_contains "$output" "Config.debug of type bool"
	cfg '{"labels": "a=b"}'
	refuse
	assert_contains "$output" "Config.labels"
	cfg '{"max-connections": 0}'
	refuse
	assert_contains "$output" "max-connections"
	cfg '{"log-level": "loud"}'
	refuse
	assert_contains "$output" "unable to parse logging level: loud"
	cfg '{}'
	refuse --max-connections lots
	assert_contains "$output" "--max-connections"
}

@test "tcp:// without TLS on a non-loopback address is refused" {
	cfg '{}'
	local port
	port=$(free_port)
	refuse -H "tcp://0.0.0.0:$port"
	assert_contains "$output" "without encryption"
	assert_contains "$output" "--tls=false"
	refuse -H "tcp://:$port"
	assert_contains "$output" "without encryption"
	cfg "{\"hosts\": [\"unix://$D/s.sock\", \"tcp://0.0.0.0:$port\"]}"
	run timeout 60 "$BERTHD" --config-file "$D/daemon.json" --data-root "$D/data" --exec-root "$D/exec" \
		--pidfile "$D/pid"
	[ "$status" -ne 0 ] && [ "$status" -ne 124 ] || fail "berthd did not refuse: $status $output"
	assert_contains "$output" "without encryption"
}

@test "tcp:// with --tls=false on all interfaces starts, with docker's warning" {
	local port
	port=$(free_port)
	berthd_start -H "tcp://0.0.0.0:$port" --tls=false
	run curl -sf --max-time 10 "http://127.0.0.1:$port/_ping"
	assert_eq "$output" OK
	assert_contains "$(cat "$E2E_LOG")" "Binding to IP address without --tlsverify is insecure and gives root access on this machine to everyone who has access to your network."
}

@test "tcp:// on loopback starts with docker's warning" {
	local port
	port=$(free_port)
	berthd_start -H "tcp://127.0.0.1:$port"
	run curl -sf --max-time 10 "http://127.0.0.1:$port/_ping"
	assert_eq "$output" OK
	assert_contains "$(cat "$E2E_LOG")" "Binding to IP address without --tlsverify is insecure"
}

@test "keys with their off value and the implemented bounds start" {
	cfg '{"selinux-enabled": false, "userns-remap": "", "authorization-plugins": [], "tls": false,
	      "iptables": false, "bridge": "none", "seccomp-profile": "builtin", "log-level": "info",
	      "max-connections": 50, "http-idle-timeout": 30, "http-read-timeout": 10}'
	berthd_start --config-file "$D/daemon.json"
	api GET /_ping
	assert_status 200
	assert_contains "$(cat "$E2E_LOG")" "API server bounds: 50 connections, idle timeout 30 s, read timeout 10 s"
}

@test "registry keys: insecure-registries, registry-mirrors, max-concurrent-* work; bad values and flag+file conflicts are refused" {
	cfg '{"insecure-registries": ["10.0.0.0/8", "myreg:5000"], "registry-mirrors": ["http://127.0.0.1:1"],
	      "max-concurrent-downloads": 4, "max-concurrent-uploads": 2}'
	berthd_start --config-file "$D/daemon.json"
	api GET /_ping
	assert_status 200
	berthd_stop
	cfg '{"insecure-registries": ["http://x:5000"]}'
	refuse
	assert_contains "$output" "insecure registry http://x:5000 should not contain '://'"
	cfg '{"registry-mirrors": ["ftp://m"]}'
	refuse
	assert_contains "$output" "invalid mirror"
	cfg '{"max-concurrent-downloads": 0}'
	refuse
	assert_contains "$output" "invalid max concurrent downloads: 0"
	cfg '{"insecure-registries": ["10.0.0.0/8"]}'
	refuse --insecure-registry 10.1.0.0/16
	assert_contains "$output" "insecure-registries"
	cfg '{}'
	refuse --max-concurrent-uploads x
	assert_contains "$output" "max-concurrent-uploads"
}
