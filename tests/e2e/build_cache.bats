#!/usr/bin/env bats
# The build cache (issue 10): docker's rules (parent image + instruction
# after substitution; ADD/COPY by content and mode/owner, not mtime; after
# the first miss every step runs), .dockerignore, restarts, builder prune.

load helpers

setup_file() {
	berthd_start
	load_busybox
}
teardown_file() { berthd_stop; }
setup() {
	berthd_ensure
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX"
	echo one >"$CTX/a.txt"
	echo two >"$CTX/b.txt"
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
ENV A=1
COPY a.txt /a.txt
RUN cat /a.txt > /copy
COPY b.txt /b.txt
RUN echo done
CMD ["cat","/copy"]
DF
}
teardown() {
	reset_containers
	local ids id
	api GET '/images/json?all=1' || return 0
	ids=$(printf '%s' "$HTTP_BODY" | jq -r '.[] | select((.RepoTags // []) | index("busybox:latest") | not) | .Id')
	for id in $ids; do api DELETE "/images/$id?force=1" || true; done
	berth builder prune -f >/dev/null || true
}

# steps (numbers) that were served from the cache
cached_steps() {
	awk '/^Step [0-9]+\//{split($2, s, "/"); step = s[1]} / ---> Using cache/{print step}' <<<"$1" | tr '\n' ' '
}

@test "a second build is all Using cache, with the same image" {
	run -0 berth build -t c:1 "$CTX"
	assert_eq "$(cached_steps "$output")" ""
	local id1
	id1=$(berth image inspect -f '{{.Id}}' c:1)
	run -0 berth build -t c:2 "$CTX"
	assert_eq "$(cached_steps "$output")" "2 3 4 5 6 7 "
	assert_eq "$(berth image inspect -f '{{.Id}}' c:2)" "$id1"
}

@test "a changed COPY source reruns from that step; touch alone does not" {
	run -0 berth build -t c:1 "$CTX"
	touch "$CTX/a.txt" "$CTX/b.txt"
	run -0 berth build -t c:1 "$CTX"
	assert_eq "$(cached_steps "$output")" "2 3 4 5 6 7 "
	echo changed >"$CTX/b.txt"
	run -0 berth build -t c:1 "$CTX"
	assert_eq "$(cached_steps "$output")" "2 3 4 "
	echo changed >"$CTX/a.txt"
	run -0 berth build -t c:1 "$CTX"
	assert_eq "$(cached_steps "$output")" "2 "
	run -0 berth run --rm c:1
	assert_eq "$output" changed
	# the mode counts
	chmod 600 "$CTX/a.txt"
	run -0 berth build -t c:1 "$CTX"
	assert_eq "$(cached_steps "$output")" "2 "
}

@test "a changed RUN reruns it and every step after; --no-cache reruns all" {
	run -0 berth build -t c:1 "$CTX"
	sed -i 's/cat \/a.txt > \/copy/cat \/a.txt >\/copy/' "$CTX/Dockerfile"
	run -0 berth build -t c:1 "$CTX"
	assert_eq "$(cached_steps "$output")" "2 3 "
	run -0 berth build --no-cache -t c:1 "$CTX"
	assert_eq "$(cached_steps "$output")" ""
	# a build arg in play is part of a RUN's key
	printf 'FROM busybox\nARG V=1\nRUN echo $V\n' >"$CTX/Dockerfile"
	run -0 berth build -t c:2 "$CTX"
	run -0 berth build --build-arg V=2 -t c:2 "$CTX"
	assert_eq "$(cached_steps "$output")" "2 "
	run -0 berth build --build-arg V=2 -t c:2 "$CTX"
	assert_eq "$(cached_steps "$output")" "2 3 "
}

@test ".dockerignored files never bust the cache" {
	echo 'ignored.txt' >"$CTX/.dockerignore"
	sed -i 's/^COPY a.txt/COPY . \/ctx\/\nCOPY a.txt/' "$CTX/Dockerfile"
	echo v1 >"$CTX/ignored.txt"
	run -0 berth build -t c:1 "$CTX"
	echo v2 >"$CTX/ignored.txt"
	run -0 berth build -t c:1 "$CTX"
	assert_eq "$(cached_steps "$output")" "2 3 4 5 6 7 8 "
	run -1 berth run --rm c:1 cat /ctx/ignored.txt
}

@test "a context over 32 MiB (extracted on disk, not in memory) builds; COPY of a directory keys the same both ways" {
	mkdir -p "$CTX/dir/sub"
	echo x >"$CTX/dir/sub/x"
	printf 'FROM busybox\nCOPY dir /dir\nRUN test -f /dir/sub/x\n' >"$CTX/Dockerfile"
	head -c 34000000 /dev/zero >"$CTX/big.bin"
	run -0 berth build -t c:big "$CTX"
	assert_eq "$(cached_steps "$output")" ""
	rm "$CTX/big.bin"
	run -0 berth build -t c:small "$CTX"
	assert_eq "$(cached_steps "$output")" "2 3 "
	[ -z "$(ls -A "$E2E_DATA/builder" 2>/dev/null)" ] || fail "builder dir not cleaned: $(ls -A "$E2E_DATA/builder")"
}

@test "a build whose steps all hit the cache makes no work directory (--chown with names too)" {
	echo 'COPY --chown=nobody:nogroup a.txt /n.txt' >>"$CTX/Dockerfile"
	run -0 berth build -t c:1 "$CTX"
	run -0 berth run --rm c:1 stat -c %U:%G /n.txt
	assert_eq "$output" nobody:nogroup
	# with a file where the work directories go, only a build that needs none succeeds
	rm -rf "$E2E_DATA/builder"
	touch "$E2E_DATA/builder"
	run berth build -t c:1 "$CTX"
	rm -f "$E2E_DATA/builder"
	assert_eq "$status" 0
	assert_eq "$(cached_steps "$output")" "2 3 4 5 6 7 8 "
}

# the /dev/shm name prefix of a data root's build directories (FNV-1a 64 of the path)
mem_prefix() {
	local s=$1 h=-3750763034362895579 i c
	for ((i = 0; i < ${#s}; i++)); do
		printf -v c '%d' "'${s:i:1}"
		h=$(((h ^ c) * 1099511628211))
	done
	printf 'berth-build-%016x-' "$h"
}

@test "kill -9 of berthd during a build: the next start removes its /dev/shm and work directories, not another root's" {
	skip_on_dockerd "berth's own directories"
	local pre other
	pre=$(mem_prefix "$E2E_DATA")
	other=$(mktemp -d /dev/shm/berth-build-0000000000000000-XXXXXX)
	# COPY of context files stages in memory (/dev/shm), COPY --from on disk (the work directory)
	printf 'FROM busybox\nCOPY a.txt /a.txt\nCOPY --from=busybox /etc/passwd /p\nRUN sleep 1000\n' >"$CTX/Dockerfile"
	berth build --no-cache -t c:slow "$CTX" >"$BATS_TEST_TMPDIR/out" 2>&1 &
	local cli=$!
	running() { grep -q 'Running in' "$BATS_TEST_TMPDIR/out"; }
	wait_for 30 running
	local dirs
	dirs=$(compgen -G "/dev/shm/$pre*" || true)
	[ -n "$dirs" ] || fail "no /dev/shm/$pre* during the build"
	[ -n "$(ls -A "$E2E_DATA/builder")" ] || fail "no work directory during the build"
	berthd_kill9
	wait "$cli" || true
	[ -n "$(compgen -G "/dev/shm/$pre*")" ] || fail "the killed build left nothing to clean (test broken)"
	berthd_respawn
	[ -z "$(compgen -G "/dev/shm/$pre*")" ] || fail "left: $(compgen -G "/dev/shm/$pre*")"
	[ -z "$(ls -A "$E2E_DATA/builder" 2>/dev/null)" ] || fail "work left: $(ls -A "$E2E_DATA/builder")"
	[ -d "$other" ] || fail "another data root's directory was removed"
	rmdir "$other"
	# builds work again
	printf 'FROM busybox\nCOPY a.txt /a.txt\n' >"$CTX/Dockerfile"
	run -0 berth build -t c:after "$CTX"
}

@test "the cache survives a daemon restart and goes with builder prune" {
	run -0 berth build -t c:1 "$CTX"
	local pid
	pid=$(berthd_pid)
	kill -TERM "$pid"
	_e2e_wait_gone 100 "$pid"
	berthd_respawn
	run -0 berth build -t c:1 "$CTX"
	assert_eq "$(cached_steps "$output")" "2 3 4 5 6 7 "
	run -0 berth builder prune -f
	run -0 berth build -t c:1 "$CTX"
	assert_eq "$(cached_steps "$output")" ""
	# system prune drops it too (the docker CLI calls POST /build/prune)
	run -0 berth build -t c:1 "$CTX"
	need_cli "$DOCKER_CLI_20"
	run -0 "$DOCKER_CLI_20" system prune -f
	run -0 berth build -t c:1 "$CTX"
	assert_eq "$(cached_steps "$output")" ""
	# the raw API
	api POST /build/prune
	assert_status 200
	assert_eq "$(jq -c . <<<"$HTTP_BODY")" '{"CachesDeleted":null,"SpaceReclaimed":0}'
}

@test "--cache-from: a loaded image (no local parent chain) serves the cache; other local entries do not" {
	run -0 berth build -t c:1 "$CTX"
	local id1 ids id
	id1=$(berth image inspect -f '{{.Id}}' c:1)
	run -0 berth save -o "$BATS_TEST_TMPDIR/c.tar" c:1
	# a store without the build's chain and an empty build cache
	api GET '/images/json?all=1'
	ids=$(printf '%s' "$HTTP_BODY" | jq -r '.[] | select((.RepoTags // []) | index("busybox:latest") | not) | .Id')
	for id in $ids; do api DELETE "/images/$id?force=1"; done
	run -0 berth builder prune -f
	run -0 berth load -i "$BATS_TEST_TMPDIR/c.tar"
	run -0 berth build --cache-from c:1 -t c:2 "$CTX"
	assert_eq "$(cached_steps "$output")" "2 3 4 5 6 7 "
	assert_eq "$(berth image inspect -f '{{.Id}}' c:2)" "$id1"
	echo changed >"$CTX/b.txt"
	run -0 berth build --cache-from c:1 -t c:3 "$CTX"
	assert_eq "$(cached_steps "$output")" "2 3 4 "
	run -0 berth run --rm c:3 cat /copy /b.txt
	assert_eq "$output" "one
changed"
	# with --cache-from, a local entry counts only in a source's chain (docker)
	run -0 berth build --cache-from busybox -t c:4 "$CTX"
	assert_eq "$(cached_steps "$output")" ""
}
