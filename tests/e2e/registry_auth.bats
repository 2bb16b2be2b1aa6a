#!/usr/bin/env bats
# Registry credentials (issue 9, items 4-5): login/logout against a registry
# behind htpasswd Basic auth and one behind a Bearer token issuer
# (lib/token_issuer.py), push and pull with the stored credentials, dockerd's
# messages for a wrong password, credentials in no log, the real docker CLIs
# logging in and pushing through the daemon. Each suite run starts its own two
# registries on 127.0.0.1 (lib/registry.bash).

load helpers
load lib/registry

setup_file()
{
	berthd_start
	AUTH_DIR=$(mktemp -d /tmp/berth-regauth.XXXXXX)
	export AUTH_DIR
	reg_start "$AUTH_DIR/basic" htpasswd
	export BASIC_REG=$REG
	reg_start "$AUTH_DIR/token" token
	export TOKEN_REG=$REG
}

teardown_file()
{
	reg_stop "$AUTH_DIR/basic"
	reg_stop "$AUTH_DIR/token"
	rm -rf "$AUTH_DIR"
	berthd_stop
}

setup()
{
	berthd_ensure
	load_busybox
}

teardown()
{
	reset_images
	rm -f "$DOCKER_CONFIG/config.json" "$HOME/.berth/config.json"
}

login_ok()
{
	run -0 --separate-stderr berth login -u "$REG_USER" --password-stdin "$1" <<<"$REG_PASSWORD"
	assert_contains "$output" "Login Succeeded"
}

config_json() { cat "$DOCKER_CONFIG/config.json"; }

@test "htpasswd: login stores the credentials in config.json, logout removes them" {
	login_ok "$BASIC_REG"
	run -0 jq -r --arg r "$BASIC_REG" '.auths[$r].auth' "$DOCKER_CONFIG/config.json"
	assert_eq "$(printf '%s' "$output" | base64 -d)" "$REG_USER:$REG_PASSWORD"
	run -0 berth logout "$BASIC_REG"
	assert_eq "$output" "Removing login credentials for $BASIC_REG"
	run -0 jq -r --arg r "$BASIC_REG" '.auths | has($r)' "$DOCKER_CONFIG/config.json"
	assert_eq "$output" false
}

@test "htpasswd: a wrong password fails with dockerd's message and stores nothing" {
	run -1 --separate-stderr berth login -u "$REG_USER" --password-stdin "$BASIC_REG" <<<"wrong-password"
	assert_eq "$stderr" "Error response from daemon: login attempt to http://$BASIC_REG/v2/ failed with status: 401 Unauthorized"
	[ ! -f "$DOCKER_CONFIG/config.json" ] || {
		run -0 jq -r --arg r "$BASIC_REG" '.auths | has($r)' "$DOCKER_CONFIG/config.json"
		assert_eq "$output" false
	}
}

@test "htpasswd: POST /auth answers dockerd's body; a wrong password is dockerd's error" {
	api POST /auth -H 'Content-Type: application/json' \
		-d "{\"username\":\"$REG_USER\",\"password\":\"$REG_PASSWORD\",\"serveraddress\":\"$BASIC_REG\"}"
	assert_status 200
	assert_eq "$(jq -c . <<<"$HTTP_BODY")" '{"IdentityToken":"","Status":"Login Succeeded"}'
	api POST /auth -H 'Content-Type: application/json' \
		-d "{\"username\":\"$REG_USER\",\"password\":\"nope\",\"serveraddress\":\"$BASIC_REG\"}"
	assert_message "login attempt to http://$BASIC_REG/v2/ failed with status: 401 Unauthorized"
}

@test "htpasswd: push needs the credentials; with them it works and pulls back" {
	berth tag busybox "$BASIC_REG/auth/busybox:1"
	run -1 --separate-stderr berth push "$BASIC_REG/auth/busybox:1"
	assert_not_contains "$output" "digest:"
	assert_eq "$stderr" "no basic auth credentials"
	login_ok "$BASIC_REG"
	run -0 --separate-stderr berth push "$BASIC_REG/auth/busybox:1"
	assert_match "$output" "1: digest: sha256:[0-9a-f]{64} size: [0-9]+"
	berth rmi "$BASIC_REG/auth/busybox:1"
	run -0 --separate-stderr berth pull "$BASIC_REG/auth/busybox:1"
	run -0 berth image inspect -f '{{.Id}}' "$BASIC_REG/auth/busybox:1"
	assert_eq "$output" "$BUSYBOX_ID"
	# logged out: the pull fails as dockerd's does and changes nothing
	berth rmi "$BASIC_REG/auth/busybox:1"
	berth logout "$BASIC_REG"
	run -1 --separate-stderr berth pull "$BASIC_REG/auth/busybox:1"
	assert_eq "$stderr" "Error response from daemon: Head \"http://$BASIC_REG/v2/auth/busybox/manifests/1\": no basic auth credentials"
	run -1 berth image inspect "$BASIC_REG/auth/busybox:1"
}

@test "token: login, the identity token is stored instead of the password" {
	login_ok "$TOKEN_REG"
	run -0 jq -r --arg r "$TOKEN_REG" '.auths[$r].identitytoken' "$DOCKER_CONFIG/config.json"
	[ -n "$output" ] && [ "$output" != null ] || fail "no identity token: $(config_json)"
	assert_not_contains "$(config_json)" "$REG_PASSWORD"
	assert_not_contains "$(config_json | jq -r '.auths[].auth' | base64 -d)" "$REG_PASSWORD"
}

@test "token: a wrong password fails with dockerd's message" {
	run -1 --separate-stderr berth login -u "$REG_USER" --password-stdin "$TOKEN_REG" <<<"wrong-password"
	assert_eq "$stderr" "Error response from daemon: Get \"http://$TOKEN_REG/v2/\": unauthorized: incorrect username or password"
}

@test "token: push and pull with the stored identity token" {
	login_ok "$TOKEN_REG"
	berth tag busybox "$TOKEN_REG/auth/busybox:1"
	run -0 --separate-stderr berth push "$TOKEN_REG/auth/busybox:1"
	assert_match "$output" "1: digest: sha256:[0-9a-f]{64} size: [0-9]+"
	berth rmi "$TOKEN_REG/auth/busybox:1"
	run -0 --separate-stderr berth pull "$TOKEN_REG/auth/busybox:1"
	run -0 berth image inspect -f '{{.Id}}' "$TOKEN_REG/auth/busybox:1"
	assert_eq "$output" "$BUSYBOX_ID"
}

@test "login: docker's flag rules" {
	run -1 --separate-stderr berth login --password-stdin "$BASIC_REG" </dev/null
	assert_eq "$stderr" "Must provide --username with --password-stdin"
	run -1 --separate-stderr berth login -u "$REG_USER" -p x --password-stdin "$BASIC_REG" </dev/null
	assert_contains "$stderr" "--password and --password-stdin are mutually exclusive"
	run -0 --separate-stderr berth login -u "$REG_USER" -p "$REG_PASSWORD" "$BASIC_REG"
	assert_eq "$(head -1 <<<"$stderr")" "WARNING! Using --password via the CLI is insecure. Use --password-stdin."
	assert_contains "$output" "Login Succeeded"
	run -1 --separate-stderr berth login "$TOKEN_REG" </dev/null
	assert_eq "$stderr" "Error: Cannot perform an interactive login from a non TTY device"
}

@test "login with the stored credentials again, then with a credential helper" {
	login_ok "$BASIC_REG"
	run -0 --separate-stderr berth login "$BASIC_REG" </dev/null
	assert_contains "$output" "Authenticating with existing credentials..."
	assert_contains "$output" "Login Succeeded"
	# a credsStore helper run as docker runs it: docker-credential-<name> get|store|erase
	local bin=$BATS_TEST_TMPDIR/bin store=$BATS_TEST_TMPDIR/helper-store
	mkdir -p "$bin" "$store"
	cat >"$bin/docker-credential-berthtest" <<EOH
#!/bin/sh
case "\$1" in
store) cat >"$store/last.json" ;;
get) read -r url; [ -f "$store/last.json" ] && cat "$store/last.json" || { echo "credentials not found in native keychain"; exit 1; } ;;
erase) read -r url; rm -f "$store/last.json"; echo "\$url" >"$store/erased" ;;
esac
EOH
	chmod +x "$bin/docker-credential-berthtest"
	echo '{"auths":{},"credsStore":"berthtest"}' >"$DOCKER_CONFIG/config.json"
	PATH=$bin:$PATH run -0 --separate-stderr berth login -u "$REG_USER" --password-stdin "$BASIC_REG" <<<"$REG_PASSWORD"
	assert_not_contains "$output$stderr" "WARNING! Your password will be stored unencrypted"
	run -0 jq -r '.ServerURL + " " + .Username + " " + .Secret' "$store/last.json"
	assert_eq "$output" "$BASIC_REG $REG_USER $REG_PASSWORD"
	assert_not_contains "$(config_json)" "$REG_PASSWORD"
	berth tag busybox "$BASIC_REG/helper/busybox:1"
	PATH=$bin:$PATH run -0 --separate-stderr berth push "$BASIC_REG/helper/busybox:1"
	PATH=$bin:$PATH run -0 berth logout "$BASIC_REG"
	assert_contains "$(cat "$store/erased")" "$BASIC_REG"
}

@test "the real docker CLIs log in and push through the daemon" {
	local cli
	for cli in "$DOCKER_CLI_20" "$DOCKER_CLI_28"; do
		need_cli "$cli"
		rm -f "$DOCKER_CONFIG/config.json"
		run -0 --separate-stderr "$cli" login -u "$REG_USER" --password-stdin "$BASIC_REG" <<<"$REG_PASSWORD"
		assert_contains "$output" "Login Succeeded"
		run -1 --separate-stderr "$cli" login -u "$REG_USER" --password-stdin "$BASIC_REG" <<<"wrong"
		assert_contains "$stderr" "login attempt to http://$BASIC_REG/v2/ failed with status: 401 Unauthorized"
		berth tag busybox "$BASIC_REG/cli/busybox:1"
		run -0 --separate-stderr "$cli" push "$BASIC_REG/cli/busybox:1"
		assert_match "$output" "1: digest: sha256:[0-9a-f]{64} size: [0-9]+"
		run -0 --separate-stderr "$cli" login -u "$REG_USER" --password-stdin "$TOKEN_REG" <<<"$REG_PASSWORD"
		assert_contains "$output" "Login Succeeded"
		berth tag busybox "$TOKEN_REG/cli/busybox:1"
		run -0 --separate-stderr "$cli" push "$TOKEN_REG/cli/busybox:1"
		assert_match "$output" "1: digest: sha256:[0-9a-f]{64} size: [0-9]+"
	done
}

@test "the password appears in no log and no output" {
	login_ok "$BASIC_REG"
	local out1=$output
	login_ok "$TOKEN_REG"
	local out2=$output
	berth tag busybox "$TOKEN_REG/logs/busybox:1"
	run -0 berth push "$TOKEN_REG/logs/busybox:1"
	local out3=$output
	run -1 berth login -u "$REG_USER" --password-stdin "$BASIC_REG" <<<"$REG_PASSWORD-wrong"
	local out4=$output
	local f
	for f in "$out1" "$out2" "$out3" "$out4"; do
		assert_not_contains "$f" "$REG_PASSWORD"
	done
	[ -s "$E2E_LOG" ] || fail "daemon log is empty"
	run grep -c -F -- "$REG_PASSWORD" "$E2E_LOG"
	assert_eq "$output" 0
	run grep -c -F -- "$(printf '%s:%s' "$REG_USER" "$REG_PASSWORD" | base64)" "$E2E_LOG"
	assert_eq "$output" 0
	run grep -c -F -- "$REG_PASSWORD" "$AUTH_DIR/token/issuer.log"
	assert_eq "$output" 0
}
