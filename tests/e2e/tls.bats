#!/usr/bin/env bats
# TLS on tcp:// (issue 11): berthd --tlsverify on 127.0.0.1 with certificates
# made here by openssl; the real docker CLI and berth with a client
# certificate run version, run, exec -it (under a tmux pty) and logs -f;
# without a certificate, or with one from another CA, the handshake fails;
# missing certificate files stop berthd with a clear message.

load helpers
load lib/certs

_free_port()
{
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

setup_file()
{
	skip_on_dockerd
	TLS_CERTS=$(mktemp -d /tmp/berth-tls-certs.XXXXXX)
	gen_tls_certs "$TLS_CERTS"
	TLS_PORT=$(_free_port)
	export TLS_CERTS TLS_PORT
	berthd_start -H "tcp://127.0.0.1:$TLS_PORT" --tlsverify --tlscacert "$TLS_CERTS/ca.pem" \
		--tlscert "$TLS_CERTS/server-cert.pem" --tlskey "$TLS_CERTS/server-key.pem"
	load_busybox
}
teardown_file()
{
	tmux_stop
	berthd_stop
	[ -n "${TLS_CERTS:-}" ] && rm -rf "$TLS_CERTS"
}
setup() { berthd_ensure; }
teardown()
{
	tmux_stop
	reset_containers
}

# _ok: the last `run` exited 0 (shows its output when not)
_ok() { [ "$status" -eq 0 ] || { echo "exit $status: $output" >&2; return 1; }; }
TLS_TCP() { echo "tcp://127.0.0.1:$TLS_PORT"; }
# docker28 / bclient: the CLIs over TLS with alice's certificate
docker28()
{
	"$DOCKER_CLI_28" -H "$(TLS_TCP)" --tlsverify --tlscacert "$TLS_CERTS/ca.pem" --tlscert "$TLS_CERTS/cert.pem" \
		--tlskey "$TLS_CERTS/key.pem" "$@"
}
bclient()
{
	"$BERTH_CLI" -H "$(TLS_TCP)" --tlsverify --tlscacert "$TLS_CERTS/ca.pem" --tlscert "$TLS_CERTS/cert.pem" \
		--tlskey "$TLS_CERTS/key.pem" "$@"
}

@test "tls: version over TLS with a client certificate (docker 28 and berth)" {
	run docker28 version --format '{{.Server.Version}} {{.Server.APIVersion}}'
	_ok
	assert_contains "$output" "1.41"
	run bclient version
	_ok
	assert_contains "$output" "Server"
}

@test "tls: DOCKER_CERT_PATH, BERTH_CERT_PATH and DOCKER_TLS_VERIFY pick the certificates" {
	run env DOCKER_HOST="$(TLS_TCP)" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$TLS_CERTS" "$DOCKER_CLI_28" version \
		--format '{{.Server.APIVersion}}'
	_ok
	assert_eq "$output" "1.41"
	run env DOCKER_HOST="$(TLS_TCP)" BERTH_HOST= DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$TLS_CERTS" "$BERTH_CLI" ps -q
	_ok
	run env BERTH_HOST="https://127.0.0.1:$TLS_PORT" DOCKER_TLS_VERIFY=1 BERTH_CERT_PATH="$TLS_CERTS" "$BERTH_CLI" ps -q
	_ok
}

@test "tls: run and logs -f over TLS (docker 28 and berth)" {
	run docker28 run --rm busybox echo hello-from-docker
	_ok
	assert_eq "$output" "hello-from-docker"
	run bclient run --rm busybox echo hello-from-berth
	_ok
	assert_eq "$output" "hello-from-berth"
	run bclient run -d --name tlslogs busybox sh -c 'for i in 1 2 3; do echo line$i; sleep 0.2; done'
	_ok
	run docker28 logs -f tlslogs
	_ok
	assert_eq "$output" "$(printf 'line1\nline2\nline3')"
	run bclient logs -f tlslogs
	_ok
	assert_eq "$output" "$(printf 'line1\nline2\nline3')"
}

@test "tls: exec -it over TLS under a pty (docker 28 and berth)" {
	run bclient run -d --name tlsexec busybox sleep 300
	_ok
	local certs="--tlsverify --tlscacert $TLS_CERTS/ca.pem --tlscert $TLS_CERTS/cert.pem --tlskey $TLS_CERTS/key.pem"
	tmux_start tx1 80 24 "$DOCKER_CLI_28 -H $(TLS_TCP) $certs exec -it tlsexec sh"
	tmux_wait tx1 '/ # '
	tmux_send tx1 'echo $((6*7))x' Enter
	tmux_wait tx1 '42x'
	tmux_send tx1 'exit 3' Enter
	tmux_wait tx1 '[exit 3]'
	tmux_start tx2 80 24 "$BERTH_CLI -H $(TLS_TCP) $certs exec -it tlsexec sh"
	tmux_wait tx2 '/ # '
	tmux_send tx2 'echo $((7*7))y' Enter
	tmux_wait tx2 '49y'
	tmux_send tx2 'exit 4' Enter
	tmux_wait tx2 '[exit 4]'
}

@test "tls: exec with stdin over TLS: input reaches the process and its end is seen" {
	run bclient run -d --name tlsin busybox sleep 300
	_ok
	run bash -c "printf 'abc\ndef\n' | \"\$0\" -H \"\$1\" --tlsverify --tlscacert \"\$2/ca.pem\" --tlscert \"\$2/cert.pem\" --tlskey \"\$2/key.pem\" exec -i tlsin wc -l" \
		"$BERTH_CLI" "$(TLS_TCP)" "$TLS_CERTS"
	_ok
	assert_eq "$(echo "$output" | tr -d ' ')" "2"
	run bash -c "printf 'abc\ndef\n' | \"\$0\" -H \"\$1\" --tlsverify --tlscacert \"\$2/ca.pem\" --tlscert \"\$2/cert.pem\" --tlskey \"\$2/key.pem\" exec -i tlsin wc -l" \
		"$DOCKER_CLI_28" "$(TLS_TCP)" "$TLS_CERTS"
	_ok
	assert_eq "$(echo "$output" | tr -d ' ')" "2"
}

@test "tls: without a client certificate the handshake fails" {
	run "$DOCKER_CLI_28" -H "$(TLS_TCP)" --tlsverify --tlscacert "$TLS_CERTS/ca.pem" version --format '{{.Server.Version}}'
	[ "$status" -ne 0 ]
	# TLS 1.3: the client finishes its side before the server checks for a
	# certificate, so the server's "certificate required" alert can race
	# with the client's first write and show as a reset instead
	[[ $output == *"certificate required"* || $output == *"connection reset by peer"* ]] ||
		fail "expected a refused handshake, got: $output"
	[[ $output != *"Server: "* ]] || fail "the server answered: $output"
	run "$BERTH_CLI" -H "$(TLS_TCP)" --tlsverify --tlscacert "$TLS_CERTS/ca.pem" ps
	[ "$status" -ne 0 ]
	assert_contains "$output" "certificate required"
	# plain HTTP on the TLS port gets nothing useful
	run curl -sS --max-time 10 "http://127.0.0.1:$TLS_PORT/_ping"
	[ "$status" -ne 0 ]
	run curl -sS --max-time 10 --cacert "$TLS_CERTS/ca.pem" "https://127.0.0.1:$TLS_PORT/_ping"
	[ "$status" -ne 0 ]
	# with the certificate, curl gets OK
	run curl -sS --max-time 10 --cacert "$TLS_CERTS/ca.pem" --cert "$TLS_CERTS/cert.pem" --key "$TLS_CERTS/key.pem" \
		"https://127.0.0.1:$TLS_PORT/_ping"
	_ok
	assert_eq "$output" "OK"
}

@test "tls: a client certificate from another CA is refused" {
	run "$DOCKER_CLI_28" -H "$(TLS_TCP)" --tlsverify --tlscacert "$TLS_CERTS/ca.pem" \
		--tlscert "$TLS_CERTS/other/cert.pem" --tlskey "$TLS_CERTS/other/key.pem" version --format '{{.Server.Version}}'
	[ "$status" -ne 0 ]
	# Go sends no certificate the server's CA list does not name
	assert_match "$output" "certificate required|unknown certificate authority|bad certificate"
	run "$BERTH_CLI" -H "$(TLS_TCP)" --tlsverify --tlscacert "$TLS_CERTS/ca.pem" \
		--tlscert "$TLS_CERTS/other/cert.pem" --tlskey "$TLS_CERTS/other/key.pem" ps
	[ "$status" -ne 0 ]
	assert_contains "$output" "unknown ca"
	# and the CLI refuses a daemon whose certificate it cannot verify
	run "$BERTH_CLI" -H "$(TLS_TCP)" --tlsverify --tlscacert "$TLS_CERTS/other/ca.pem" \
		--tlscert "$TLS_CERTS/cert.pem" --tlskey "$TLS_CERTS/key.pem" ps
	[ "$status" -ne 0 ]
	assert_contains "$output" "certificate"
}

@test "tls: missing or unreadable certificate files stop berthd with a clear message" {
	local port d
	port=$(_free_port)
	d=$E2E_TMP/tlsfail
	mkdir -p "$d"
	run "$BERTHD" -H "tcp://127.0.0.1:$port" --data-root "$d/data" --exec-root "$d/exec" --tlsverify \
		--tlscacert "$TLS_CERTS/ca.pem" --tlscert "$d/nope-cert.pem" --tlskey "$TLS_CERTS/server-key.pem"
	[ "$status" -ne 0 ]
	assert_contains "$output" "$d/nope-cert.pem"
	run "$BERTHD" -H "tcp://127.0.0.1:$port" --data-root "$d/data" --exec-root "$d/exec" --tlsverify \
		--tlscert "$TLS_CERTS/server-cert.pem" --tlskey "$TLS_CERTS/server-key.pem" --tlscacert "$d/nope-ca.pem"
	[ "$status" -ne 0 ]
	assert_contains "$output" "$d/nope-ca.pem"
	# a key that does not belong to the certificate
	run "$BERTHD" -H "tcp://127.0.0.1:$port" --data-root "$d/data" --exec-root "$d/exec" --tlsverify \
		--tlscacert "$TLS_CERTS/ca.pem" --tlscert "$TLS_CERTS/server-cert.pem" --tlskey "$TLS_CERTS/key.pem"
	[ "$status" -ne 0 ]
	assert_contains "$output" "X509 key pair"
	# defaults under /etc/berth when no file is named (none exist here)
	if [ ! -e /etc/berth/cert.pem ]; then
		run "$BERTHD" -H "tcp://127.0.0.1:$port" --data-root "$d/data" --exec-root "$d/exec" --tlsverify
		[ "$status" -ne 0 ]
		assert_contains "$output" "/etc/berth/"
	fi
	# nothing listens afterwards
	run curl -sS --max-time 5 "http://127.0.0.1:$port/_ping"
	[ "$status" -ne 0 ]
}

@test "tls: a plaintext tcp:// listener off loopback is still refused without --tls=false" {
	local port
	port=$(_free_port)
	run "$BERTHD" -H "tcp://0.0.0.0:$port" --data-root "$E2E_TMP/x/data" --exec-root "$E2E_TMP/x/exec"
	[ "$status" -ne 0 ]
	assert_contains "$output" "without encryption"
	assert_contains "$output" "--tlsverify"
}

@test "tls: the daemon did not crash" {
	assert_no_daemon_crash
}
