#!/usr/bin/env bats
# Image builds (issue 10): POST /build with docker 20.10's classic builder
# stream, through berth build, the real docker CLIs (DOCKER_BUILDKIT=0) and
# docker-py: every instruction, multi-stage, ONBUILD, FROM scratch, the layer
# limit, bad input. Cache rules are in build_cache.bats.

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
}
teardown() {
	[ ! -f "$BATS_TEST_TMPDIR/http.pid" ] || kill "$(cat "$BATS_TEST_TMPDIR/http.pid")" 2>/dev/null || true
	reset_containers
	local ids id
	api GET '/images/json?all=1' || return 0
	ids=$(printf '%s' "$HTTP_BODY" | jq -r '.[] | select((.RepoTags // []) | index("busybox:latest") | not) | .Id')
	for id in $ids; do api DELETE "/images/$id?force=1" || true; done
}

# no container of a build is left and no image is tagged with the name
assert_clean_failure() {
	wait_for 30 container_count_is 0
	run berth image inspect "$1"
	[ "$status" -ne 0 ] || fail "$1 exists after a failed build"
}

# POST /build of the tar of $CTX with query $1: HTTP_CODE, HTTP_BODY
api_build() {
	tar -C "$CTX" -cf "$BATS_TEST_TMPDIR/ctx.tar" .
	api POST "/build?$1" -H 'Content-Type: application/x-tar' --data-binary "@$BATS_TEST_TMPDIR/ctx.tar"
}

@test "a Dockerfile with every instruction builds and the image behaves" {
	echo hello >"$CTX/f.txt"
	mkdir -p "$CTX/d/sub" && echo y >"$CTX/d/sub/y"
	cat >"$CTX/Dockerfile" <<'DF'
# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM ${BASE} AS base
maintainer someone <a@b.c>
ARG VERSION=1.0
ENV APP=/opt/app \
    # a comment between continued lines
    GREETING="hello world"
ENV OLDSTYLE plain value
WORKDIR $APP
WORKDIR sub
COPY f.txt ./
COPY --chown=1000:1000 d /data/d/
ADD f.txt /added.txt
RUN echo "version=$VERSION app=$APP" > /info && mkdir -p /data/vol && \
    chown 1000 /data/vol
SHELL ["/bin/sh", "-c"]
RUN ["sh", "-c", "echo exec form > /exec"]
LABEL com.example.spaces="a b c" com.example.quote="say \"hi\"" com.example.json='{"k":[1,2]}'
EXPOSE 8080 53/udp
VOLUME ["/data/vol"]
STOPSIGNAL SIGUSR1
HEALTHCHECK --interval=5s --timeout=3s --retries=2 CMD test -f /info
ONBUILD RUN echo child
USER 1000
ENTRYPOINT ["/bin/echo", "s3cmd"]
CMD ["--help"]
DF
	run -0 berth build -t every:1 "$CTX"
	assert_contains "$output" "Step 2/23 : FROM \${BASE} AS base"
	assert_contains "$output" "Successfully tagged every:1"
	assert_contains "$output" " ---> Running in "
	assert_contains "$output" "Removing intermediate container "
	run -0 berth image inspect every:1
	local c
	c=$(jq -c '.[0].Config' <<<"$output")
	assert_eq "$(jq -c .Env <<<"$c")" '["APP=/opt/app","GREETING=hello world","OLDSTYLE=plain value"]'
	assert_eq "$(jq -r .WorkingDir <<<"$c")" /opt/app/sub
	assert_eq "$(jq -r .User <<<"$c")" 1000
	assert_eq "$(jq -c .ExposedPorts <<<"$c")" '{"53/udp":{},"8080/tcp":{}}'
	assert_eq "$(jq -c .Volumes <<<"$c")" '{"/data/vol":{}}'
	assert_eq "$(jq -r .StopSignal <<<"$c")" SIGUSR1
	assert_eq "$(jq -c .Healthcheck <<<"$c")" '{"Test":["CMD-SHELL","test -f /info"],"Interval":5000000000,"Timeout":3000000000,"Retries":2}'
	assert_eq "$(jq -c .OnBuild <<<"$c")" '["RUN echo child"]'
	assert_eq "$(jq -c .Shell <<<"$c")" '["/bin/sh","-c"]'
	assert_eq "$(jq -r '.Labels["com.example.spaces"]' <<<"$c")" "a b c"
	assert_eq "$(jq -r '.Labels["com.example.quote"]' <<<"$c")" 'say "hi"'
	assert_eq "$(jq -r '.Labels["com.example.json"]' <<<"$c")" '{"k":[1,2]}'
	run -0 berth image inspect -f '{{.Author}}' every:1
	assert_eq "$output" "someone <a@b.c>"
	run -0 berth images -q --filter 'label=com.example.spaces=a b c'
	[ -n "$output" ] || fail "label filter found nothing"
	# ENTRYPOINT + CMD (the docs' s3cmd example)
	run -0 berth run --rm every:1
	assert_eq "$output" "s3cmd --help"
	run -0 berth run --rm every:1 ls
	assert_eq "$output" "s3cmd ls"
	run -0 berth run --rm --entrypoint sh every:1 -c 'id -u; pwd; cat /info /exec; ls -n /data/d/sub/y | awk "{print \$3}"; cat /opt/app/sub/f.txt /added.txt'
	assert_eq "$output" "1000
/opt/app/sub
version=1.0 app=/opt/app
exec form
1000
hello
hello"
	# metadata-only steps made no layer: busybox's one + WORKDIR x2, COPY x2, ADD, RUN x2
	run -0 berth image inspect -f '{{len .RootFS.Layers}}' every:1
	assert_eq "$output" 8
}

@test "ONBUILD triggers run in the child build right after FROM" {
	printf 'FROM busybox\nONBUILD RUN echo triggered > /trig\nONBUILD ENV FROM_PARENT=yes\n' >"$CTX/Dockerfile"
	run -0 berth build -q -t parent:1 "$CTX"
	printf 'FROM parent:1\nCMD cat /trig; echo $FROM_PARENT\n' >"$CTX/Dockerfile"
	run -0 berth build -t child:1 "$CTX"
	assert_contains "$output" "# Executing 2 build triggers"
	run -0 berth run --rm child:1
	assert_eq "$output" "triggered
yes"
	run -0 berth image inspect -f '{{json .Config.OnBuild}}' child:1
	assert_eq "$output" null
	printf 'FROM busybox\nONBUILD ONBUILD RUN x\n' >"$CTX/Dockerfile"
	run -1 berth build "$CTX"
	assert_contains "$output" "line 2: Chaining ONBUILD via \`ONBUILD ONBUILD\` isn't allowed"
	printf 'FROM busybox\nONBUILD FROM busybox\n' >"$CTX/Dockerfile"
	run -1 berth build "$CTX"
	assert_contains "$output" "FROM isn't allowed as an ONBUILD trigger"
}

@test "multi-stage: COPY --from a stage and an image, --target" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox AS builder
RUN mkdir /out && echo built > /out/artifact && echo more > /out/other
FROM busybox AS tester
RUN echo tester > /t
FROM busybox
COPY --from=builder /out/artifact /artifact
COPY --from=0 /out/ /all/
COPY --from=busybox /bin/busybox /bb
CMD cat /artifact /all/other
DF
	run -0 berth build -t multi:1 "$CTX"
	run -0 berth run --rm multi:1
	assert_eq "$output" "built
more"
	run -0 berth run --rm multi:1 sh -c 'test -x /bb && test ! -e /t && echo ok'
	assert_eq "$output" ok
	run -0 berth build -t multi:tester --target tester "$CTX"
	assert_contains "$output" "Step 1/4 : FROM busybox AS builder"
	run -0 berth run --rm multi:tester cat /t
	assert_eq "$output" tester
	run -1 berth build --target nope "$CTX"
	assert_contains "$output" "failed to reach build target nope in Dockerfile"
}

@test "FROM scratch + ADD rootfs.tar / makes a runnable image; ADD extracts compressed archives" {
	local f
	f=$(busybox_rootfs)
	cp "$f" "$CTX/rootfs.tar"
	mkdir -p "$BATS_TEST_TMPDIR/a" && echo inside >"$BATS_TEST_TMPDIR/a/in.txt"
	tar -C "$BATS_TEST_TMPDIR/a" -czf "$CTX/a.tgz" in.txt
	tar -C "$BATS_TEST_TMPDIR/a" -cJf "$CTX/a.txz" in.txt
	tar -C "$BATS_TEST_TMPDIR/a" -cjf "$CTX/a.tbz" in.txt
	printf 'FROM scratch\nADD rootfs.tar /\nADD a.tgz /gz/\nADD a.txz /xz/\nADD a.tbz /bz/\nCMD ["sh", "-c", "echo from scratch; cat /gz/in.txt /xz/in.txt /bz/in.txt"]\n' >"$CTX/Dockerfile"
	run -0 berth build -t scratchy:1 "$CTX"
	run -0 berth run --rm scratchy:1
	assert_eq "$output" "from scratch
inside
inside
inside"
}

@test "a failing RUN: docker's message and exit code, nothing tagged, no container left" {
	printf 'FROM busybox\nRUN echo out; echo err >&2; exit 3\n' >"$CTX/Dockerfile"
	run -3 --separate-stderr berth build -t failing:1 "$CTX"
	assert_contains "$output" "Step 2/2 : RUN echo out; echo err >&2; exit 3"
	assert_contains "$output" "out"
	assert_contains "$output" "err"
	assert_eq "$stderr" "The command '/bin/sh -c echo out; echo err >&2; exit 3' returned a non-zero code: 3"
	assert_clean_failure failing:1
	# the API stream: dockerd's errorDetail with the code
	api_build 't=failing:2'
	assert_status 200
	assert_contains "$HTTP_BODY" '{"errorDetail":{"message":"The command '"'"'/bin/sh -c echo out; echo err >&2; exit 3'"'"' returned a non-zero code: 3","code":3},"error":"The command '
	assert_clean_failure failing:2
}

@test "--rm=false keeps the step containers, with their logs; --rm removes them and writes none" {
	printf 'FROM busybox\nRUN echo step-output\n' >"$CTX/Dockerfile"
	run -0 berth build --rm=false -t kept:1 "$CTX"
	local id
	id=$(sed -n 's/^ ---> Running in \([0-9a-f]*\)$/\1/p' <<<"$output")
	[ -n "$id" ] || fail "no 'Running in' line: $output"
	assert_eq "$(berth inspect -f '{{.HostConfig.LogConfig.Type}}' "$id")" json-file
	run -0 berth logs "$id"
	assert_eq "$output" step-output
	# the default (--rm): the step's container logs nowhere and is gone
	printf 'FROM busybox\nRUN echo other-output\n' >"$CTX/Dockerfile"
	run -0 berth build -t kept:2 "$CTX"
	id=$(sed -n 's/^ ---> Running in \([0-9a-f]*\)$/\1/p' <<<"$output")
	[ -n "$id" ] || fail "no 'Running in' line: $output"
	assert_contains "$output" "Removing intermediate container ${id:0:12}"
	wait_for 30 container_count_is 1
}

@test "bad Dockerfiles: clear errors with the line, nothing built" {
	local before
	before=$(image_count)
	printf 'FROM busybox\nFROBNICATE x\n' >"$CTX/Dockerfile"
	api_build 't=bad:1'
	assert_status 400
	assert_message "dockerfile parse error line 2: unknown instruction: FROBNICATE"
	printf 'FROM busybox\n\nSHELL /bin/sh -c\n' >"$CTX/Dockerfile"
	run -1 berth build -t bad:1 "$CTX"
	assert_contains "$output" "dockerfile parse error line 3: SHELL requires the arguments to be in JSON form"
	printf 'FROM busybox\nCOPY ../x /x\n' >"$CTX/Dockerfile"
	run -1 berth build -t bad:1 "$CTX"
	assert_contains "$output" "Step 2/2 : COPY ../x /x"
	assert_contains "$output" "Forbidden path outside the build context: ../x ()"
	ln -s /etc/passwd "$CTX/escape"
	printf 'FROM busybox\nCOPY escape /x\n' >"$CTX/Dockerfile"
	run -1 berth build -t bad:1 "$CTX"
	assert_contains "$output" "COPY failed: file not found in build context or excluded by .dockerignore: stat escape: file does not exist"
	printf 'RUN true\n' >"$CTX/Dockerfile"
	run -1 berth build -t bad:1 "$CTX"
	assert_contains "$output" "no build stage in current context"
	assert_clean_failure bad:1
	assert_eq "$(image_count)" "$before"
}

@test "a hostile context tar is refused and nothing is written outside" {
	python3 - "$BATS_TEST_TMPDIR/evil.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    d = b"FROM busybox\n"
    i = tarfile.TarInfo("Dockerfile"); i.size = len(d); t.addfile(i, io.BytesIO(d))
    e = b"owned\n"
    i = tarfile.TarInfo("../../../../../../tmp/berth-build-evil"); i.size = len(e); t.addfile(i, io.BytesIO(e))
PY
	rm -f /tmp/berth-build-evil
	api POST '/build?t=evil:1' -H 'Content-Type: application/x-tar' --data-binary "@$BATS_TEST_TMPDIR/evil.tar"
	assert_status 400
	assert_contains "$HTTP_BODY" 'is outside of'
	[ ! -e /tmp/berth-build-evil ] || fail "a context entry was written outside"
	assert_clean_failure evil:1
	# leftovers of the build directory are gone
	[ -z "$(ls -A "$E2E_DATA/builder" 2>/dev/null)" ] || fail "builder dir not cleaned: $(ls -A "$E2E_DATA/builder")"
}

@test "130 layer-making steps fail with docker's limit message and tag nothing" {
	skip_on_dockerd "the overlay2 limit differs"
	{
		echo "FROM busybox"
		for i in $(seq 1 130); do echo "RUN echo $i > /f$i"; done
	} >"$CTX/Dockerfile"
	run berth build -t deep:1 "$CTX"
	[ "$status" -ne 0 ] || fail "a 131-layer build succeeded"
	assert_contains "$output" "max depth exceeded"
	assert_clean_failure deep:1
}

@test "COPY/ADD --chown: names from the image's /etc/passwd and /etc/group, docker's errors for unknown ones" {
	echo data >"$CTX/f"
	mkdir "$CTX/d" && echo x >"$CTX/d/x"
	printf 'FROM busybox\nCOPY --chown=nobody:nogroup f /a\nCOPY --chown=root d /d/\nADD --chown=1234 f /c\nCOPY --chown=nobody:0 f /e\n' >"$CTX/Dockerfile"
	run -0 berth build -t own:1 "$CTX"
	run -0 berth run --rm own:1 stat -c '%u:%g %n' /a /d /d/x /c /e
	assert_eq "$output" "65534:65534 /a
0:0 /d
0:0 /d/x
1234:1234 /c
65534:0 /e"
	# the group defaults to the user's name: busybox has no group "nobody"
	printf 'FROM busybox\nCOPY --chown=nobody f /a\n' >"$CTX/Dockerfile"
	run berth build -t own:2 "$CTX"
	[ "$status" -ne 0 ] || fail "an unknown group was accepted"
	assert_contains "$output" "unable to convert uid/gid chown string to host mapping: can't find gid for group nobody: no such group: nobody"
	printf 'FROM busybox\nCOPY --chown=ghost:0 f /a\n' >"$CTX/Dockerfile"
	run berth build -t own:2 "$CTX"
	[ "$status" -ne 0 ] || fail "an unknown user was accepted"
	assert_contains "$output" "unable to convert uid/gid chown string to host mapping: can't find uid for user ghost: no such user: ghost"
	assert_clean_failure own:2
}

@test "berth build: -f outside the context, -f -, a context tar and a Dockerfile on stdin, --iidfile, --label, --build-arg" {
	echo data >"$CTX/data.txt"
	printf 'FROM busybox\nARG WHO=nobody\nCOPY data.txt /\nRUN echo "hi $WHO" > /who\n' >"$BATS_TEST_TMPDIR/Other.dockerfile"
	run -0 berth build -f "$BATS_TEST_TMPDIR/Other.dockerfile" --build-arg WHO=me --label a=b --label "c=d e" \
		--iidfile "$BATS_TEST_TMPDIR/iid" -t out:1 "$CTX"
	run -0 berth run --rm out:1 cat /data.txt /who
	assert_eq "$output" "data
hi me"
	run -0 berth image inspect -f '{{.Id}} {{index .Config.Labels "a"}} {{index .Config.Labels "c"}}' out:1
	assert_eq "$output" "$(cat "$BATS_TEST_TMPDIR/iid") b d e"
	run -0 berth build -f - -t out:2 "$CTX" <"$BATS_TEST_TMPDIR/Other.dockerfile"
	run -0 berth run --rm out:2 cat /data.txt
	assert_eq "$output" data
	tar -C "$CTX" -cf - . | berth build -t out:3 -f Dockerfile.none - && fail "a missing -f in a stdin tar worked"
	cp "$BATS_TEST_TMPDIR/Other.dockerfile" "$CTX/Dockerfile"
	run -0 bash -c "tar -C '$CTX' -cf - . | '$BERTH_CLI' build -q -t out:4 -"
	assert_match "$output" '^sha256:[0-9a-f]{64}$'
	run -0 bash -c "printf 'FROM busybox\nCMD echo stdin\n' | '$BERTH_CLI' build -q -t out:5 -"
	run -0 berth run --rm out:5
	assert_eq "$output" stdin
	# an unused build arg is reported as docker does
	run -0 berth build --build-arg UNUSED=1 -t out:6 "$CTX"
	assert_contains "$output" "[Warning] One or more build-args [UNUSED] were not consumed"
}

@test ".dockerignore: ignored files never reach the context, ! exceptions kept" {
	mkdir -p "$CTX/docs" "$CTX/secret"
	echo a >"$CTX/docs/a.md"
	echo keep >"$CTX/docs/keep.md"
	echo s >"$CTX/secret/key"
	echo t >"$CTX/top.txt"
	printf '# comment\nsecret\n**/*.md\n!docs/keep.md\n' >"$CTX/.dockerignore"
	printf 'FROM busybox\nCOPY . /ctx/\nCMD find /ctx -type f | sort\n' >"$CTX/Dockerfile"
	run -0 berth build -t ign:1 "$CTX"
	run -0 berth run --rm ign:1
	assert_eq "$output" "/ctx/.dockerignore
/ctx/Dockerfile
/ctx/docs/keep.md
/ctx/top.txt"
	# the daemon honours it for a context sent unfiltered (the raw API)
	api_build 't=ign:2'
	assert_status 200
	run -0 berth run --rm ign:2
	assert_eq "$output" "/ctx/.dockerignore
/ctx/Dockerfile
/ctx/docs/keep.md
/ctx/top.txt"
}

@test "POST /build: compressed contexts, dockerfile path nested, query parameters dockerd 20.10 takes" {
	mkdir -p "$CTX/sub/dir"
	printf 'FROM busybox\nRUN echo built\n' >"$CTX/sub/dir/Build.file"
	tar -C "$CTX" -czf "$BATS_TEST_TMPDIR/c.tgz" .
	api POST '/build?dockerfile=sub/dir/Build.file&t=q:1&rm=1&forcerm=1&nocache=1&pull=0&memory=0&memswap=0&cpushares=0&cpusetcpus=&cpuperiod=0&cpuquota=0&shmsize=0&networkmode=none&extrahosts=h1:10.0.0.1&platform=&target=&isolation=&cachefrom=%5B%5D&buildargs=%7B%7D&labels=%7B%22x%22%3A%22y%22%7D' \
		-H 'Content-Type: application/x-tar' -H 'X-Registry-Config: e30=' --data-binary "@$BATS_TEST_TMPDIR/c.tgz"
	assert_status 200
	assert_contains "$HTTP_BODY" '{"stream":"Step 1/3 : FROM busybox"}'
	assert_contains "$HTTP_BODY" '{"stream":"built\n"}'
	assert_contains "$HTTP_BODY" '{"aux":{"ID":"sha256:'
	assert_contains "$HTTP_BODY" '{"stream":"Successfully tagged q:1\n"}'
	run -0 berth image inspect -f '{{index .Config.Labels "x"}}' q:1
	assert_eq "$output" y
	xz -c <(tar -C "$CTX" -cf - .) >"$BATS_TEST_TMPDIR/c.txz"
	api POST '/build?dockerfile=/sub/dir/Build.file&t=q:2&q=1' -H 'Content-Type: application/x-tar' --data-binary "@$BATS_TEST_TMPDIR/c.txz"
	assert_status 200
	assert_contains "$HTTP_BODY" '{"stream":"sha256:'
	assert_not_contains "$HTTP_BODY" 'Step 1'
	api POST '/build?dockerfile=nope' -H 'Content-Type: application/x-tar' --data-binary "@$BATS_TEST_TMPDIR/c.tgz"
	assert_status 400
	assert_message "Cannot locate specified Dockerfile: nope"
	wait_for 30 container_count_is 0
}

@test "reproducible builds: the same image ID twice with SOURCE_DATE_EPOCH" {
	echo same >"$CTX/f"
	mkdir -p "$CTX/d" && echo x >"$CTX/d/x"
	printf 'FROM busybox\nENV A=1\nWORKDIR /w\nCOPY f d /w/\nLABEL l=v\nCMD ["cat","/w/f"]\n' >"$CTX/Dockerfile"
	run -0 env SOURCE_DATE_EPOCH=1700000000 "$BERTH_CLI" build -q --no-cache "$CTX"
	local a=$output
	touch "$CTX/Dockerfile"
	run -0 env SOURCE_DATE_EPOCH=1700000000 "$BERTH_CLI" build -q --no-cache "$CTX"
	assert_eq "$output" "$a"
	run -0 berth build -q --no-cache --reproducible "$CTX"
	local b=$output
	run -0 berth build -q --no-cache --reproducible "$CTX"
	assert_eq "$output" "$b"
	run -0 berth image inspect -f '{{.Created}}' "$a"
	assert_eq "$output" "2023-11-14T22:13:20Z"
}

_docker_cli_build() {
	local D=$1
	need_cli "$D"
	echo hi >"$CTX/f.txt"
	printf 'FROM busybox\nENV A=1\nCOPY f.txt /f.txt\nRUN echo built && cat /f.txt\nCMD ["cat","/f.txt"]\n' >"$CTX/Dockerfile"
	run -0 --separate-stderr env DOCKER_BUILDKIT=0 "$D" build -t dk:1 "$CTX"
	assert_contains "$output" "Step 1/5 : FROM busybox"
	assert_contains "$output" " ---> Running in "
	assert_contains "$output" "built
hi"
	assert_match "$output" "Successfully built [0-9a-f]{12}"
	assert_contains "$output" "Successfully tagged dk:1"
	run -0 --separate-stderr env DOCKER_BUILDKIT=0 "$D" build -t dk:1 "$CTX"
	assert_eq "$(grep -c 'Using cache' <<<"$output")" 4
	run -0 berth run --rm dk:1
	assert_eq "$output" hi
	printf 'FROM busybox\nRUN exit 7\n' >"$CTX/Dockerfile"
	run -7 --separate-stderr env DOCKER_BUILDKIT=0 "$D" build -t dk:2 "$CTX"
	assert_contains "$stderr" "The command '/bin/sh -c exit 7' returned a non-zero code: 7"
	wait_for 30 container_count_is 0
}

@test "docker 20.10 CLI (DOCKER_BUILDKIT=0) builds through the daemon" { _docker_cli_build "$DOCKER_CLI_20"; }
@test "docker 28 CLI (DOCKER_BUILDKIT=0) builds through the daemon" { _docker_cli_build "$DOCKER_CLI_28"; }

# the context counter docker 20.10's CLI prints (a progress.Reader over the
# upload): on a terminal an update "...daemon  X\r" after the first 512kB and
# the total "...\r\r\n"; otherwise only the total. Checked for berth and for
# docker 20.10 itself (DOCKER_BUILDKIT=0), which prints the same bytes.
_ctx_counter() {
	local B=$1 s='Sending build context to Docker daemon' before
	need_cli "$B"
	head -c 1500000 /dev/zero >"$CTX/big"
	printf 'FROM busybox\nCOPY big /big\n' >"$CTX/Dockerfile"
	run -0 --separate-stderr env DOCKER_BUILDKIT=0 "$B" build -t cnt:1 "$CTX"
	before=${output%%Step 1/2 :*}
	[[ "$before" =~ ^"$s  1.5"[0-9][0-9]"MB"$'\r\r\n'$ ]] || fail "not a terminal: $(printf '%q' "$before")"
	# under a pty every \n reaches the output as \r\n
	run -0 script -qec "DOCKER_BUILDKIT=0 '$B' build -t cnt:1 '$CTX'" /dev/null </dev/null
	before=${output%%Step 1/2 :*}
	[[ "$before" =~ ^("$s "" "?[0-9.]+kB$'\r')+"$s  1.5"[0-9][0-9]"MB"$'\r\r\r\n'$ ]] ||
		fail "terminal: $(printf '%q' "$before")"
	assert_contains "$output" "Successfully tagged cnt:1"
}

@test "berth build prints docker's context counter (terminal and not)" { _ctx_counter "$BERTH_CLI"; }
@test "docker 20.10 CLI prints the same context counter" { _ctx_counter "$DOCKER_CLI_20"; }

@test "docker-py images.build" {
	python3 -c 'import docker' 2>/dev/null || skip "docker-py not installed"
	printf 'FROM busybox\nLABEL py=yes\nRUN echo from-py\n' >"$CTX/Dockerfile"
	run -0 python3 - "$CTX" <<'PY'
import sys, docker
c = docker.from_env()
img, logs = c.images.build(path=sys.argv[1], tag="py:1", rm=True)
out = "".join(l.get("stream", "") for l in logs)
assert "from-py" in out, out
print(img.labels["py"], img.tags)
PY
	assert_eq "$output" "yes ['py:1']"
}

@test "ADD of a URL: named after the URL, mode 0600, mtime from Last-Modified, never extracted" {
	mkdir -p "$BATS_TEST_TMPDIR/www"
	echo "remote content" >"$BATS_TEST_TMPDIR/www/file.txt"
	touch -d '2020-01-02 03:04:05 UTC' "$BATS_TEST_TMPDIR/www/file.txt"
	tar -C "$BATS_TEST_TMPDIR/www" -czf "$BATS_TEST_TMPDIR/www/a.tgz" file.txt
	local port=$((20000 + RANDOM % 20000))
	(cd "$BATS_TEST_TMPDIR/www" && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
	HTTP_PID=$!
	echo "$HTTP_PID" >"$BATS_TEST_TMPDIR/http.pid"
	wait_for 30 curl -sf -o /dev/null "http://127.0.0.1:$port/file.txt"
	printf 'FROM busybox\nADD http://127.0.0.1:%s/file.txt /dl/\nADD http://127.0.0.1:%s/a.tgz /a.tgz\nADD http://127.0.0.1:%s/file.txt /named.txt\n' \
		"$port" "$port" "$port" >"$CTX/Dockerfile"
	run -0 berth build -t url:1 "$CTX"
	kill "$HTTP_PID"
	run -0 berth run --rm url:1 sh -c 'stat -c "%a %Y" /dl/file.txt /named.txt; cat /dl/file.txt; test -f /a.tgz && echo archive-kept'
	assert_eq "$output" "600 1577934245
600 1577934245
remote content
archive-kept"
	printf 'FROM busybox\nADD http://127.0.0.1:1/nothing /x\n' >"$CTX/Dockerfile"
	run -1 berth build -t url:2 "$CTX"
	assert_contains "$output" "failed to GET http://127.0.0.1:1/nothing"
	assert_clean_failure url:2
}
