#!/usr/bin/env bats
# Builds that reach outside the daemon (issue 10): a FROM image missing
# locally (or every one with --pull) is pulled from the registry with
# dockerd's pull progress inside the build stream; --cache-from with an image
# pulled from a registry (no local parent chain); remote contexts (a tarball
# URL, a git URL). The registry is scripts/e2e-services.sh's (E2E_REGISTRY),
# or one started here.

load helpers
load lib/registry

setup_file()
{
	shared_registry_start || return 1
	# a private namespace in a registry other suites may share
	export P="build$$"
	skopeo_push "docker-archive:$(fixture busybox-docker-archive.tar)" "docker://$E2E_REGISTRY/$P/busybox:1"
	berthd_start
}

teardown_file()
{
	berthd_stop
	shared_registry_stop
}

setup()
{
	berthd_ensure
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX"
}

teardown()
{
	[ -z "${AUTH_REG_DIR:-}" ] || reg_stop "$AUTH_REG_DIR"
	rm -f "$DOCKER_CONFIG/config.json"
	[ ! -f "$BATS_TEST_TMPDIR/http.pid" ] || kill "$(cat "$BATS_TEST_TMPDIR/http.pid")" 2>/dev/null || true
	reset_containers
	reset_images
	berth builder prune -f >/dev/null || true
}

@test "FROM a missing image pulls it with dockerd's progress in the stream; --pull pulls a present one" {
	local img=$E2E_REGISTRY/$P/busybox:1
	printf 'FROM %s\nRUN echo built > /built\n' "$img" >"$CTX/Dockerfile"
	run -0 berth build -t pulled:1 "$CTX"
	assert_contains "$output" "Step 1/2 : FROM $img
1: Pulling from $P/busybox"
	assert_contains "$output" ": Pull complete"
	assert_contains "$output" "Status: Downloaded newer image for $img"
	assert_contains "$output" "Successfully tagged pulled:1"
	run -0 berth image inspect -f '{{.Id}}' "$img"
	assert_eq "$output" "$BUSYBOX_ID"
	run -0 berth run --rm pulled:1 cat /built
	assert_eq "$output" built
	# the raw stream: the pull's own JSON messages between the step lines
	tar -C "$CTX" -cf "$BATS_TEST_TMPDIR/ctx.tar" .
	api POST "/build?t=pulled:2&pull=1" -H 'Content-Type: application/x-tar' --data-binary "@$BATS_TEST_TMPDIR/ctx.tar"
	assert_status 200
	assert_contains "$HTTP_BODY" "{\"status\":\"Pulling from $P/busybox\",\"id\":\"1\"}"
	assert_contains "$HTTP_BODY" "\"status\":\"Status: Image is up to date for $img\""
	# the same base: RUN comes from the cache
	assert_match "$HTTP_BODY" '" ---(>|\\u003e) Using cache\\n"'
	# a tag the registry does not have: the pull's error, nothing built
	printf 'FROM %s\nRUN true\n' "$E2E_REGISTRY/$P/busybox:nope" >"$CTX/Dockerfile"
	run berth build -t pulled:3 "$CTX"
	[ "$status" -ne 0 ] || fail "a build from a missing tag succeeded"
	assert_contains "$output" "manifest for $E2E_REGISTRY/$P/busybox:nope not found: manifest unknown: manifest unknown"
	run berth image inspect pulled:3
	[ "$status" -ne 0 ] || fail "pulled:3 exists"
}

@test "FROM a private registry: berth build sends the stored logins as X-Registry-Config" {
	AUTH_REG_DIR=$BATS_TEST_TMPDIR/authreg
	reg_start "$AUTH_REG_DIR" htpasswd
	skopeo_push --dest-creds "$REG_USER:$REG_PASSWORD" "docker-archive:$(fixture busybox-docker-archive.tar)" \
		"docker://$REG/priv/busybox:1"
	printf 'FROM %s\nRUN echo private > /p\n' "$REG/priv/busybox:1" >"$CTX/Dockerfile"
	# no credentials: the registry refuses the pull, nothing is built
	run -1 berth build -t priv:1 "$CTX"
	assert_contains "$output" "no basic auth credentials"
	run -1 berth image inspect priv:1
	run -0 --separate-stderr berth login -u "$REG_USER" --password-stdin "$REG" <<<"$REG_PASSWORD"
	run -0 berth build -t priv:1 "$CTX"
	assert_contains "$output" "Status: Downloaded newer image for $REG/priv/busybox:1"
	assert_contains "$output" "Successfully tagged priv:1"
	run -0 berth run --rm priv:1 cat /p
	assert_eq "$output" private
}

@test "remote contexts: a tar URL, a Dockerfile URL, a git URL with #ref:dir; clear errors" {
	command -v git >/dev/null || skip "git not installed"
	load_busybox
	local www=$BATS_TEST_TMPDIR/www port
	mkdir -p "$www" "$CTX/sub"
	echo from-tar >"$CTX/f"
	printf 'FROM busybox\nCOPY f /f\n' >"$CTX/Dockerfile"
	tar -C "$CTX" -czf "$www/ctx.tar.gz" .
	printf 'FROM busybox\nRUN echo from-dockerfile-url > /f\n' >"$www/Dockerfile"
	# a repository served over dumb http: the context is sub/ of branch "dev"
	local repo=$BATS_TEST_TMPDIR/repo
	git init -q -b main "$repo"
	printf 'FROM busybox\nCOPY g /g\n' >"$repo/Dockerfile"
	mkdir "$repo/sub" && printf 'FROM busybox\nCOPY h /h\n' >"$repo/sub/Dockerfile" && echo from-git-dev >"$repo/sub/h"
	echo from-git-main >"$repo/g"
	git -C "$repo" add -A && git -C "$repo" -c user.name=t -c user.email=t@t commit -qm one
	git -C "$repo" checkout -q -b dev && echo from-git-dev2 >"$repo/sub/h"
	git -C "$repo" -c user.name=t -c user.email=t@t commit -qam two
	git clone -q --bare "$repo" "$www/repo.git" && git -C "$www/repo.git" update-server-info
	port=$((20000 + RANDOM % 20000))
	(cd "$www" && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
	echo $! >"$BATS_TEST_TMPDIR/http.pid"
	wait_for 30 curl -sf -o /dev/null "http://127.0.0.1:$port/Dockerfile"
	run -0 berth build -t r:1 "http://127.0.0.1:$port/ctx.tar.gz"
	run -0 berth run --rm r:1 cat /f
	assert_eq "$output" from-tar
	run -0 berth build -t r:2 "http://127.0.0.1:$port/Dockerfile"
	run -0 berth run --rm r:2 cat /f
	assert_eq "$output" from-dockerfile-url
	run -0 berth build -t r:3 "http://127.0.0.1:$port/repo.git"
	run -0 berth run --rm r:3 cat /g
	assert_eq "$output" from-git-main
	run -0 berth build -t r:4 "http://127.0.0.1:$port/repo.git#dev:sub"
	run -0 berth run --rm r:4 cat /h
	assert_eq "$output" from-git-dev2
	# errors: a missing URL, a missing branch; nothing tagged
	run berth build -t r:5 "http://127.0.0.1:$port/nothing.tar"
	[ "$status" -ne 0 ] || fail "a missing remote context built"
	assert_contains "$output" "error downloading remote context http://127.0.0.1:$port/nothing.tar: failed to GET http://127.0.0.1:$port/nothing.tar with status 404"
	run berth build -t r:5 "http://127.0.0.1:$port/repo.git#nope"
	[ "$status" -ne 0 ] || fail "a missing branch built"
	assert_contains "$output" "error fetching: "
	run berth image inspect r:5
	[ "$status" -ne 0 ] || fail "r:5 exists"
}
