#!/usr/bin/env bats
# The image store through the berth CLI, the real docker CLIs (28.x and 20.10)
# and the raw API: load (docker-archive, OCI, multi-platform OCI), images
# (table, -q, --digests, --no-trunc, filters, --format), tag, rmi, history,
# save, import, inspect, system df, events.
# Every test starts from an empty image store (teardown removes all images).

load helpers

setup_file() { berthd_start; }
teardown_file() { berthd_stop; }
setup() { berthd_ensure; }
teardown() { reset_images; }

# rows of a table without its header, sorted (equal CREATED times have no order)
rows() { tail -n +2 <<<"$1" | sort; }

@test "load the docker-archive fixture: dockerd's image id" {
	local f
	f=$(fixture busybox-docker-archive.tar)
	run -0 --separate-stderr berth load -i "$f"
	assert_eq "$output" "Loaded image: busybox:latest"
	run -0 berth image inspect -f '{{.Id}} {{index .RootFS.Layers 0}} {{json .RepoTags}}' busybox
	assert_eq "$output" "$BUSYBOX_ID $BUSYBOX_DIFF_ID [\"busybox:latest\"]"
	run -0 berth inspect -f '{{.Os}}/{{.Architecture}} {{json .Config.Cmd}} {{.Comment}} {{.Size}}' busybox
	assert_eq "$output" 'linux/amd64 ["/bin/sh"] Imported from - 1985581'
}

@test "load from stdin and with -q" {
	local f
	f=$(fixture busybox-docker-archive.tar)
	run -0 --separate-stderr berth load -q <"$f"
	assert_eq "$output" "Loaded image: busybox:latest"
	run -0 berth images -q
	assert_eq "$output" "$BUSYBOX_SHORT"
}

@test "docker CLI 28 loads the fixture" {
	need_cli "$DOCKER_CLI_28"
	run -0 --separate-stderr docker28 load -i "$(fixture busybox-docker-archive.tar)"
	assert_eq "$output" "Loaded image: busybox:latest"
	run -0 docker28 image inspect -f '{{.Id}}' busybox:latest
	assert_eq "$output" "$BUSYBOX_ID"
}

@test "docker CLI 20.10 loads the fixture" {
	need_cli "$DOCKER_CLI_20"
	run -0 --separate-stderr docker20 load -i "$(fixture busybox-docker-archive.tar)"
	assert_eq "$output" "Loaded image: busybox:latest"
	run -0 docker20 image inspect -f '{{.Id}}' busybox:latest
	assert_eq "$output" "$BUSYBOX_ID"
}

@test "load an OCI image-layout archive" {
	skip_on_dockerd "cannot load OCI archives (docker 25+ can)"
	local f
	f=$(fixture busybox-oci-archive.tar)
	run -0 --separate-stderr berth load -i "$f"
	assert_contains "$output" "Loaded image"
	run -0 berth image inspect -f '{{.Id}} {{index .RootFS.Layers 0}} {{.Os}}/{{.Architecture}}' busybox:latest
	assert_eq "$output" "sha256:a41b21958f0e1611e22cd3a2042379bccf63b6036b19f7ab995eb1d3d801b452 $BUSYBOX_DIFF_ID linux/amd64"
}

@test "load a multi-platform OCI archive picks the host's platform" {
	skip_on_dockerd "cannot load OCI archives (docker 25+ can)"
	local f
	f=$(fixture busybox-multiarch-oci-archive.tar)
	run -0 --separate-stderr berth load -i "$f"
	assert_contains "$output" "Loaded image"
	run -0 berth image inspect -f '{{.Os}}/{{.Architecture}} {{index .RootFS.Layers 0}}' busybox:latest
	assert_eq "$output" "linux/amd64 $BUSYBOX_DIFF_ID"
	run -0 berth images -q
	assert_eq "$(wc -l <<<"$output")" 1
}

@test "images: docker's table columns and units" {
	load_busybox
	run -0 berth images
	assert_match "${lines[0]}" '^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$'
	assert_match "${lines[1]}" "^busybox +latest +$BUSYBOX_SHORT +[0-9A-Za-z ]+ ago +1\\.99MB\$"
	assert_eq "${#lines[@]}" 2
	# column starts line up between header and rows (3 spaces of padding)
	assert_eq "$(awk 'NR == 1 { print index($0, "TAG") }' <<<"$output")" \
		"$(awk 'NR == 2 { print index($0, "latest") }' <<<"$output")"
}

@test "images -q, --no-trunc, --digests, -a" {
	load_busybox
	run -0 berth images -q
	assert_eq "$output" "$BUSYBOX_SHORT"
	run -0 berth images -q --no-trunc
	assert_eq "$output" "$BUSYBOX_ID"
	run -0 berth images --no-trunc
	assert_match "${lines[1]}" "^busybox +latest +$BUSYBOX_ID +"
	run -0 berth images --digests
	assert_match "${lines[0]}" '^REPOSITORY +TAG +DIGEST +IMAGE ID +CREATED +SIZE$'
	assert_match "${lines[1]}" "^busybox +latest +<none> +$BUSYBOX_SHORT +"
	run -0 berth images -a -q
	assert_eq "$output" "$BUSYBOX_SHORT"
}

@test "images --filter reference=, dangling=, label=" {
	load_busybox
	local rootfs
	rootfs=$(busybox_rootfs)
	run -0 berth tag busybox foo/bar:1
	run -0 berth import -c 'LABEL colour=blue' -c 'CMD ["/bin/sh"]' "$rootfs" labelled:1
	run -0 berth import "$rootfs"
	local dangling=${output#sha256:}
	dangling=${dangling:0:12}

	run -0 berth images --format '{{.Repository}}:{{.Tag}}' --filter 'reference=foo/*'
	assert_eq "$output" "foo/bar:1"
	run -0 berth images --format '{{.Repository}}:{{.Tag}}' --filter 'reference=busybox'
	assert_eq "$output" "busybox:latest"
	# path.Match semantics: '*' does not cross '/'
	run -0 berth images --format '{{.Repository}}:{{.Tag}}' --filter 'reference=*:1'
	assert_eq "$output" "labelled:1"
	run -0 berth images --format '{{.Repository}}:{{.Tag}}' --filter 'reference=*/*:1'
	assert_eq "$output" "foo/bar:1"
	run -0 berth images -q --filter dangling=true
	assert_eq "$output" "$dangling"
	run -0 berth images --format '{{.Repository}}:{{.Tag}}' --filter dangling=false
	assert_eq "$(sort <<<"$output")" "$(printf 'busybox:latest\nfoo/bar:1\nlabelled:1')"
	run -0 berth images --format '{{.Repository}}:{{.Tag}}' --filter label=colour=blue
	assert_eq "$output" "labelled:1"
	run -0 berth images --format '{{.Repository}}:{{.Tag}}' --filter label=colour
	assert_eq "$output" "labelled:1"
	run -0 berth images -q --filter label=colour=red
	assert_eq "$output" ""
}

@test "images --format templates" {
	load_busybox
	run -0 berth images --format '{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}'
	assert_eq "$output" "busybox:latest $BUSYBOX_SHORT 1.99MB"
	run -0 berth images --format 'table {{.Repository}}\t{{.Tag}}'
	assert_match "${lines[0]}" '^REPOSITORY +TAG$'
	assert_match "${lines[1]}" '^busybox +latest$'
	run -0 berth images --format '{{json .}}'
	assert_eq "$(jq -r .ID <<<"$output")" "$BUSYBOX_SHORT"
	assert_eq "$(jq -r .Repository <<<"$output")" busybox
	assert_eq "$(jq -r .Size <<<"$output")" 1.99MB
	run -0 berth images --format '{{upper .Repository}} {{lower "ABC"}} {{if eq .Tag "latest"}}yes{{else}}no{{end}}'
	assert_eq "$output" "BUSYBOX abc yes"
}

@test "tag: new names, registries with ports, the docker.io/library/ form" {
	load_busybox
	run -0 berth tag busybox:latest foo/bar:1
	run -0 berth tag busybox localhost:5000/x/y:z
	run -0 berth tag "$BUSYBOX_SHORT" docker.io/library/other
	run -0 berth images --format '{{.Repository}} {{.Tag}} {{.ID}}'
	assert_eq "$(sort <<<"$output")" "$(printf '%s\n' "busybox latest $BUSYBOX_SHORT" "foo/bar 1 $BUSYBOX_SHORT" \
		"localhost:5000/x/y z $BUSYBOX_SHORT" "other latest $BUSYBOX_SHORT")"
	run -0 berth image inspect -f '{{.Id}}' docker.io/library/busybox:latest
	assert_eq "$output" "$BUSYBOX_ID"
	run -0 berth image inspect -f '{{.Id}}' "${BUSYBOX_ID#sha256:}"
	assert_eq "$output" "$BUSYBOX_ID"
}

@test "tag: unknown source and invalid names fail" {
	load_busybox
	run -1 --separate-stderr berth tag nosuch x
	assert_contains "$stderr" "No such image: nosuch:latest"
	run -1 --separate-stderr berth tag busybox UPPER:x
	assert_contains "$stderr" "invalid reference format: repository name must be lowercase"
	run -1 --separate-stderr berth tag busybox 'ok:b@d'
	assert_contains "$stderr" "invalid reference format"
}

@test "rmi: untag keeps the image, the last tag deletes it" {
	load_busybox
	run -0 berth tag busybox foo/bar:1
	run -0 --separate-stderr berth rmi busybox
	assert_eq "$output" "Untagged: busybox:latest"
	run -0 berth images -q
	assert_eq "$output" "$BUSYBOX_SHORT"
	run -0 --separate-stderr berth rmi foo/bar:1
	assert_eq "$output" "$(printf 'Untagged: foo/bar:1\nDeleted: %s\nDeleted: %s' "$BUSYBOX_ID" "$BUSYBOX_DIFF_ID")"
	run -0 berth images -q
	assert_eq "$output" ""
}

@test "rmi: an image with two tags, by id, without -f is a 409 conflict" {
	load_busybox
	run -0 berth tag busybox a:1
	run -1 --separate-stderr berth rmi "$BUSYBOX_SHORT"
	assert_eq "$stderr" "Error response from daemon: conflict: unable to delete $BUSYBOX_SHORT (must be forced) - image is referenced in multiple repositories"
	api DELETE "/images/$BUSYBOX_SHORT"
	assert_status 409
	assert_message "conflict: unable to delete $BUSYBOX_SHORT (must be forced) - image is referenced in multiple repositories"
	run -0 berth images -q
	assert_eq "$(sort -u <<<"$output")" "$BUSYBOX_SHORT"
}

@test "rmi -f by id removes every tag and the image" {
	load_busybox
	run -0 berth tag busybox a:1
	run -0 --separate-stderr berth rmi -f "$BUSYBOX_SHORT"
	assert_eq "$(grep Untagged <<<"$output" | sort)" "$(printf 'Untagged: a:1\nUntagged: busybox:latest')"
	assert_eq "$(grep Deleted <<<"$output")" "$(printf 'Deleted: %s\nDeleted: %s' "$BUSYBOX_ID" "$BUSYBOX_DIFF_ID")"
	assert_eq "$(image_count)" 0
}

@test "rmi: unknown image and invalid name" {
	# the CLI rewrites the daemon's 404 for rmi
	run -1 --separate-stderr berth rmi nosuch
	assert_eq "$stderr" "Error: No such image: nosuch"
	run -1 --separate-stderr berth rmi UPPER
	assert_eq "$stderr" "Error response from daemon: invalid reference format: repository name must be lowercase"
}

@test "DELETE /images: the response list" {
	load_busybox
	run -0 berth tag busybox a:1
	api DELETE /images/a:1
	assert_status 200
	assert_eq "$HTTP_BODY" '[{"Untagged":"a:1"}]'
	api DELETE /images/busybox
	assert_status 200
	assert_eq "$(jq -c . <<<"$HTTP_BODY")" "[{\"Untagged\":\"busybox:latest\"},{\"Deleted\":\"$BUSYBOX_ID\"},{\"Deleted\":\"$BUSYBOX_DIFF_ID\"}]"
}

@test "history" {
	load_busybox
	run -0 berth history busybox
	assert_match "${lines[0]}" '^IMAGE +CREATED +CREATED BY +SIZE +COMMENT$'
	assert_match "${lines[1]}" "^$BUSYBOX_SHORT +[0-9A-Za-z ]+ ago +1\\.99MB +Imported from -\$"
	assert_eq "${#lines[@]}" 2
	run -0 berth history -q busybox
	assert_eq "$output" "$BUSYBOX_SHORT"
	run -0 berth history --no-trunc --format '{{.ID}} {{.Comment}}' busybox
	assert_eq "$output" "$BUSYBOX_ID Imported from -"
	api GET /images/busybox/history
	assert_status 200
	assert_eq "$(jq -r '.[0].Id, .[0].Size, .[0].Tags[0], .[0].Comment' <<<"$HTTP_BODY" | tr '\n' ' ')" \
		"$BUSYBOX_ID 1985581 busybox:latest Imported from - "
	run -1 --separate-stderr berth history nosuch
	assert_contains "$stderr" "No such image: nosuch"
}

@test "save -o then load back gives the same id" {
	load_busybox
	local out=$BATS_TEST_TMPDIR/saved.tar
	run -0 berth save -o "$out" busybox
	run -0 tar -tf "$out"
	assert_contains "$output" manifest.json
	assert_contains "$output" repositories
	assert_contains "$output" "${BUSYBOX_ID#sha256:}.json"
	run -0 tar -xOf "$out" manifest.json
	assert_eq "$(jq -r '.[0].Config, .[0].RepoTags[0], (.[0].Layers | length)' <<<"$output" | tr '\n' ' ')" \
		"${BUSYBOX_ID#sha256:}.json busybox:latest 1 "
	# the config blob's digest is the image id; the layer's is the diff id
	assert_eq "sha256:$(tar -xOf "$out" "${BUSYBOX_ID#sha256:}.json" | sha256sum | cut -c1-64)" "$BUSYBOX_ID"
	local layer
	layer=$(tar -xOf "$out" manifest.json | jq -r '.[0].Layers[0]')
	assert_eq "sha256:$(tar -xOf "$out" "$layer" | sha256sum | cut -c1-64)" "$BUSYBOX_DIFF_ID"
	run -0 berth rmi busybox
	run -0 --separate-stderr berth load -i "$out"
	assert_eq "$output" "Loaded image: busybox:latest"
	run -0 berth image inspect -f '{{.Id}}' busybox
	assert_eq "$output" "$BUSYBOX_ID"
}

# Loading images reads tars natively (archive/tar_in.c): libarchive, and the
# libstdc++ it drags in (never unloadable), stay out of berthd (issue 13).
# (An ASan build maps libstdc++ from the start, for libasan: then only
# libarchive can be checked.)
maps_lack() { ! grep -q "$1" "/proc/$E2E_DAEMON_PID/maps"; }
@test "load (plain and gzip) maps neither libarchive nor libstdc++" {
	[ "$E2E_TARGET" = berthd ] || skip "berthd's own behaviour"
	wait_for 30 maps_lack libarchive
	local stdcxx=libstdc++
	maps_lack libstdc++ || stdcxx=libarchive
	load_busybox
	run -0 maps_lack libarchive
	run -0 maps_lack "$stdcxx"
	run -0 berth rmi busybox
	gzip -c "$(fixture busybox-docker-archive.tar)" >"$BATS_TEST_TMPDIR/bb.tar.gz"
	run -0 --separate-stderr berth load -i "$BATS_TEST_TMPDIR/bb.tar.gz"
	assert_eq "$output" "Loaded image: busybox:latest"
	run -0 berth image inspect -f '{{.Id}}' busybox
	assert_eq "$output" "$BUSYBOX_ID"
	run -0 maps_lack libarchive
	run -0 maps_lack "$stdcxx"
}

@test "load takes a docker-archive compressed with gzip, bzip2, xz or zstd" {
	local c f
	f=$(fixture busybox-docker-archive.tar)
	for c in "gzip -n" bzip2 xz zstd; do
		$c -c <"$f" >"$BATS_TEST_TMPDIR/bb.z"
		run -0 --separate-stderr berth load -i "$BATS_TEST_TMPDIR/bb.z"
		assert_eq "$output" "Loaded image: busybox:latest"
		run -0 berth image inspect -f '{{.Id}}' busybox
		assert_eq "$output" "$BUSYBOX_ID"
		run -0 berth rmi busybox
	done
	# a truncated compressed archive is refused
	gzip -c <"$f" | head -c 100000 >"$BATS_TEST_TMPDIR/cut.gz"
	run --separate-stderr berth load -i "$BATS_TEST_TMPDIR/cut.gz"
	[ "$status" -ne 0 ] || fail "a truncated archive loaded"
	assert_contains "$stderr" "invalid tar archive"
}

# berthd unloads libarchive (and libzstd) when nothing has used them for a
# while (src/lazy/lazy.h): a copy into a container (PUT archive) maps it, the
# next one maps it again
@test "libarchive unloaded when idle: load and save work again after it, with the same bytes" {
	[ "$E2E_TARGET" = berthd ] || skip "berthd's own behaviour"
	load_busybox
	local a=$BATS_TEST_TMPDIR/a.tar b=$BATS_TEST_TMPDIR/b.tar c=$BATS_TEST_TMPDIR/c.tar
	run -0 berth save -o "$a" busybox
	run -0 berth create --name unload-cp busybox true
	echo hi >"$BATS_TEST_TMPDIR/f"
	run -0 berth cp "$BATS_TEST_TMPDIR/f" unload-cp:/f
	run -0 grep -c libarchive "/proc/$E2E_DAEMON_PID/maps"
	wait_for 30 maps_lack libarchive
	wait_for 30 maps_lack libzstd
	run -0 berth save -o "$b" busybox
	run -0 cmp "$a" "$b"
	run -0 berth cp "$BATS_TEST_TMPDIR/f" unload-cp:/g
	run -0 berth rm unload-cp
	run -0 berth rmi busybox
	wait_for 30 maps_lack libarchive
	run -0 --separate-stderr berth load -i "$b"
	assert_eq "$output" "Loaded image: busybox:latest"
	run -0 berth image inspect -f '{{.Id}}' busybox
	assert_eq "$output" "$BUSYBOX_ID"
	run -0 berth save -o "$c" busybox
	run -0 cmp "$a" "$c"
}

# zlib too (issue 13): an idle berthd does not map it, a gzip load maps it
# and it leaves again once nothing has used it for a while
@test "zlib mapped for a gzip load only, unloaded when idle" {
	[ "$E2E_TARGET" = berthd ] || skip "berthd's own behaviour"
	wait_for 30 maps_lack 'libz\.so'
	gzip -c "$(fixture busybox-docker-archive.tar)" >"$BATS_TEST_TMPDIR/bb.tar.gz"
	run -0 --separate-stderr berth load -i "$BATS_TEST_TMPDIR/bb.tar.gz"
	assert_eq "$output" "Loaded image: busybox:latest"
	run -0 grep -c 'libz\.so' "/proc/$E2E_DAEMON_PID/maps"
	wait_for 30 maps_lack 'libz\.so'
	run -0 berth rmi busybox
	run -0 --separate-stderr berth load -i "$BATS_TEST_TMPDIR/bb.tar.gz"
	assert_eq "$output" "Loaded image: busybox:latest"
	run -0 berth image inspect -f '{{.Id}}' busybox
	assert_eq "$output" "$BUSYBOX_ID"
	wait_for 30 maps_lack 'libz\.so'
}

@test "save to stdout, several images, GET /images/get" {
	load_busybox
	run -0 berth tag busybox other:2
	berth save busybox other:2 >"$BATS_TEST_TMPDIR/two.tar"
	run -0 tar -xOf "$BATS_TEST_TMPDIR/two.tar" manifest.json
	assert_eq "$(jq -r '.[].RepoTags[]' <<<"$output" | sort | tr '\n' ' ')" "busybox:latest other:2 "
	api_get_file '/images/get?names=busybox' "$BATS_TEST_TMPDIR/api.tar"
	assert_status 200
	run -0 tar -xOf "$BATS_TEST_TMPDIR/api.tar" manifest.json
	assert_eq "$(jq -r '.[0].RepoTags[0]' <<<"$output")" busybox:latest
	api_get_file /images/busybox/get "$BATS_TEST_TMPDIR/api2.tar"
	assert_status 200
	run -0 tar -tf "$BATS_TEST_TMPDIR/api2.tar"
	assert_contains "$output" manifest.json
	run -1 --separate-stderr berth save -o "$BATS_TEST_TMPDIR/x.tar" nosuch
	assert_contains "$stderr" "No such image: nosuch"
}

@test "save of the fixture loads into a real dockerd with the same id" {
	[ "$E2E_TARGET" != dockerd ] || skip "target is dockerd already"
	[ -x "$DOCKERD" ] || skip "dockerd not installed"
	[ "${E2E_REFERENCE_DOCKERD:-1}" = 1 ] || skip "E2E_REFERENCE_DOCKERD=0"
	load_busybox
	local out=$BATS_TEST_TMPDIR/saved.tar
	run -0 berth save -o "$out" busybox
	run -0 --separate-stderr bash -c '
		source "$1"
		E2E_TARGET=dockerd
		trap berthd_stop EXIT
		berthd_start >&2 || exit 1
		"$DOCKER_CLI_20" load -i "$2" &&
		"$DOCKER_CLI_20" image inspect -f "{{.Id}}" busybox:latest' _ "$BATS_TEST_DIRNAME/helpers.bash" "$out"
	assert_eq "${lines[-1]}" "$BUSYBOX_ID"
	assert_contains "$output" "Loaded image: busybox:latest"
}

@test "import a rootfs file with -c CMD -c ENV and --message" {
	local rootfs
	rootfs=$(busybox_rootfs)
	run -0 --separate-stderr berth import -c 'CMD ["/bin/sh"]' -c 'ENV FOO=bar' --message 'hello msg' "$rootfs" imp:1
	assert_match "$output" '^sha256:[0-9a-f]{64}$'
	local id=$output
	run -0 berth image inspect -f '{{.Id}}|{{.Comment}}|{{json .Config.Env}}|{{json .Config.Cmd}}|{{json .RepoTags}}|{{index .RootFS.Layers 0}}' imp:1
	assert_eq "$output" "$id|hello msg|[\"FOO=bar\"]|[\"/bin/sh\"]|[\"imp:1\"]|$BUSYBOX_DIFF_ID"
	run -0 berth history --format '{{.Comment}}' imp:1
	assert_eq "$output" "hello msg"
}

@test "import from stdin; WORKDIR, ENTRYPOINT, USER, EXPOSE, LABEL changes" {
	local rootfs
	rootfs=$(busybox_rootfs)
	run -0 --separate-stderr berth import -c 'WORKDIR /tmp' -c 'ENTRYPOINT ["/bin/echo"]' -c 'USER nobody' \
		-c 'EXPOSE 8080/tcp' -c 'LABEL a=b' - imp:2 <"$rootfs"
	assert_match "$output" '^sha256:[0-9a-f]{64}$'
	run -0 berth image inspect -f '{{.Config.WorkingDir}}|{{json .Config.Entrypoint}}|{{.Config.User}}|{{json .Config.ExposedPorts}}|{{json .Config.Labels}}|{{.Comment}}' imp:2
	assert_eq "$output" '/tmp|["/bin/echo"]|nobody|{"8080/tcp":{}}|{"a":"b"}|Imported from -'
}

@test "import twice: one shared layer, two images" {
	local rootfs
	rootfs=$(busybox_rootfs)
	run -0 berth import -c 'ENV N=1' "$rootfs" one:1
	run -0 berth import -c 'ENV N=2' "$rootfs" two:1
	assert_eq "$(image_count)" 2
	run -0 berth image inspect -f '{{index .RootFS.Layers 0}}' one:1 two:1
	assert_eq "$output" "$(printf '%s\n%s' "$BUSYBOX_DIFF_ID" "$BUSYBOX_DIFF_ID")"
}

@test "import of a file that is not a tarball fails" {
	head -c 4096 /dev/urandom >"$BATS_TEST_TMPDIR/junk"
	run -1 --separate-stderr berth import "$BATS_TEST_TMPDIR/junk" junk:1
	[ -n "$stderr" ] || fail "no error message"
	assert_eq "$(image_count)" 0
}

@test "import: the final message is {\"status\":\"<image id>\"} exactly as dockerd sends it (no newline in the ID)" {
	local out=$BATS_TEST_TMPDIR/import.out code id
	code=$(curl -sS --max-time 120 --unix-socket "$E2E_SOCK" -o "$out" -w '%{http_code}' -X POST \
		-H 'Content-Type: application/x-tar' --data-binary "@$(busybox_rootfs)" \
		'http://localhost/images/create?fromSrc=-&repo=imp&tag=raw')
	assert_eq "$code" 200
	id=$(berth image inspect -f '{{.Id}}' imp:raw)
	assert_match "$id" '^sha256:[0-9a-f]{64}$'
	printf '{"status":"%s"}\r\n' "$id" | cmp - "$out" || fail "body: $(od -c "$out" | tail -4)"
}

# The docker CLI prints the final status as one line: the ID, nothing else.
_import_prints_id()
{
	local cli=$1 out=$BATS_TEST_TMPDIR/cli.out
	need_cli "$cli"
	"$cli" import "$(busybox_rootfs)" imp:cli >"$out" || fail "$cli import failed"
	printf '%s\n' "$(berth image inspect -f '{{.Id}}' imp:cli)" | cmp - "$out" || fail "$cli printed: $(od -c "$out" | tail -4)"
}

@test "import through docker CLI 28 prints the ID line only" { _import_prints_id "$DOCKER_CLI_28"; }
@test "import through docker CLI 20.10 prints the ID line only" { _import_prints_id "$DOCKER_CLI_20"; }

@test "load of bytes that are not an image archive: 200, the error is the stream's last message (as dockerd; quiet or not)" {
	printf 'not an image archive\n' >"$BATS_TEST_TMPDIR/junk"
	local q last msg
	for q in 0 1; do
		api POST "/images/load?quiet=$q" -H 'Content-Type: application/x-tar' --data-binary "@$BATS_TEST_TMPDIR/junk"
		assert_status 200
		assert_match "$(header Content-Type)" '^application/json'
		last=$(printf '%s\n' "$HTTP_BODY" | tr -d '\r' | tail -1)
		assert_eq "$(jq -c 'keys' <<<"$last")" '["error","errorDetail"]'
		msg=$(jq -r .error <<<"$last")
		[ -n "$msg" ] || fail "empty error message: $last"
		assert_eq "$(jq -r .errorDetail.message <<<"$last")" "$msg"
	done
	assert_eq "$(image_count)" 0
	# berth load prints it and exits 1
	run -1 --separate-stderr berth load -i "$BATS_TEST_TMPDIR/junk"
	assert_eq "$stderr" "$msg"
	run -1 --separate-stderr berth load -q <"$BATS_TEST_TMPDIR/junk"
	assert_eq "$stderr" "$msg"
}

_load_junk()
{
	local cli=$1 msg
	need_cli "$cli"
	printf 'not an image archive\n' >"$BATS_TEST_TMPDIR/junk"
	api POST '/images/load?quiet=1' -H 'Content-Type: application/x-tar' --data-binary "@$BATS_TEST_TMPDIR/junk"
	msg=$(printf '%s\n' "$HTTP_BODY" | tr -d '\r' | tail -1 | jq -r .error)
	run -1 --separate-stderr "$cli" load -i "$BATS_TEST_TMPDIR/junk"
	assert_eq "$stderr" "$msg"
	assert_eq "$output" ""
	run -1 --separate-stderr "$cli" load -q -i "$BATS_TEST_TMPDIR/junk"
	assert_eq "$stderr" "$msg"
}

@test "docker CLI 28: load of a non-archive prints the daemon's error and exits 1" { _load_junk "$DOCKER_CLI_28"; }
@test "docker CLI 20.10: load of a non-archive prints the daemon's error and exits 1" { _load_junk "$DOCKER_CLI_20"; }

@test "inspect -f templates and errors" {
	load_busybox
	run -0 berth inspect -f '{{json .RepoTags}} {{len .RootFS.Layers}} {{.RootFS.Type}}' busybox
	assert_eq "$output" '["busybox:latest"] 1 layers'
	run -0 berth inspect -f '{{range .RootFS.Layers}}{{.}}{{end}}' busybox
	assert_eq "$output" "$BUSYBOX_DIFF_ID"
	run -0 berth inspect -f '{{join .Config.Cmd ","}}' busybox
	assert_eq "$output" "/bin/sh"
	run -0 berth inspect busybox
	assert_eq "$(jq -r '.[0].Id' <<<"$output")" "$BUSYBOX_ID"
	assert_eq "$(jq -r '.[0].GraphDriver.Name' <<<"$output")" "$E2E_STORAGE_DRIVER"
	run -1 --separate-stderr berth image inspect nosuch
	assert_contains "$stderr" "No such image: nosuch"
}

@test "system df counts images" {
	load_busybox
	run -0 berth system df
	assert_match "${lines[0]}" '^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE$'
	assert_match "${lines[1]}" '^Images +1 +0 +1\.986MB +1\.986MB \(100%\)$'
	api GET /system/df
	assert_status 200
	assert_eq "$(jq -r '.LayersSize, (.Images | length), .Images[0].Id' <<<"$HTTP_BODY" | tr '\n' ' ')" \
		"1985581 1 $BUSYBOX_ID "
}

@test "image prune removes dangling images" {
	load_busybox
	run -0 berth import "$(busybox_rootfs)"
	local id=$output
	run -0 berth image prune -f
	assert_eq "${lines[0]}" "Deleted Images:"
	assert_contains "$output" "deleted: $id"
	assert_contains "$output" "Total reclaimed space:"
	run -0 berth images -q
	assert_eq "$output" "$BUSYBOX_SHORT"
}

@test "events: import, tag, untag, delete, load, save with since/until" {
	local since
	# a full second after the previous test's teardown events
	sleep 1
	since=$(date +%s)
	load_busybox
	run -0 berth tag busybox ev:1
	run -0 berth rmi ev:1
	berth save busybox >/dev/null
	run -0 berth import "$(busybox_rootfs)" ev:imp
	local imp=$output
	run -0 berth rmi ev:imp
	local until=$(($(date +%s) + 1))
	run -0 berth events --since "$since" --until "$until" --format '{{.Type}} {{.Action}} {{.Actor.ID}} {{index .Actor.Attributes "name"}}'
	assert_eq "$output" "$(printf '%s\n' \
		"image load $BUSYBOX_ID $BUSYBOX_ID" \
		"image tag $BUSYBOX_ID ev:1" \
		"image untag $BUSYBOX_ID $BUSYBOX_ID" \
		"image save $BUSYBOX_ID $BUSYBOX_ID" \
		"image tag $imp ev:imp" \
		"image import $imp $imp" \
		"image untag $imp $imp" \
		"image delete $imp $imp")"
	run -0 berth events --since "$since" --until "$until" --filter event=tag --format '{{.Action}} {{.Actor.Attributes.name}}'
	assert_eq "$output" "$(printf 'tag ev:1\ntag ev:imp')"
	api GET "/events?since=$since&until=$until&filters=%7B%22event%22%3A%5B%22delete%22%5D%7D"
	assert_status 200
	assert_eq "$(jq -r '[.Type, .Action, .id, .status] | join(" ")' <<<"$HTTP_BODY")" "image delete $imp delete"
}

# The real docker CLIs against the daemon: the commands issue 2 names.
docker_cli_tour()
{
	local cli=$1
	need_cli "$cli"
	run -0 "$cli" version --format '{{.Server.APIVersion}}'
	assert_eq "$output" 1.41
	run -0 "$cli" info --format '{{.Images}}'
	assert_eq "$output" 0
	run -0 "$cli" import -c 'CMD ["/bin/sh"]' "$(busybox_rootfs)" tour:1
	local id=$output
	run -0 "$cli" images
	assert_match "${lines[0]}" '^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$'
	assert_match "${lines[1]}" "^tour +1 +${id:7:12} +.* ago +1\\.99MB\$"
	run -0 "$cli" image inspect -f '{{.Id}} {{json .Config.Cmd}}' tour:1
	assert_eq "$output" "$id [\"/bin/sh\"]"
	run -0 "$cli" tag tour:1 tour:2
	run -0 "$cli" history tour:2
	assert_match "${lines[1]}" "^${id:7:12} +.* ago +1\\.99MB +Imported from -\$"
	run -0 "$cli" save -o "$BATS_TEST_TMPDIR/tour.tar" tour:1 tour:2
	run -0 "$cli" rmi tour:1
	assert_eq "$output" "Untagged: tour:1"
	run -0 "$cli" rmi tour:2
	assert_eq "${lines[0]}" "Untagged: tour:2"
	assert_eq "${lines[1]}" "Deleted: $id"
	run -0 "$cli" load -i "$BATS_TEST_TMPDIR/tour.tar"
	assert_contains "$output" "Loaded image: tour:1"
	assert_contains "$output" "Loaded image: tour:2"
	run -0 "$cli" image inspect -f '{{.Id}}' tour:2
	assert_eq "$output" "$id"
}

@test "docker CLI 28: version, info, import, images, inspect, tag, history, save, rmi, load" {
	docker_cli_tour "$DOCKER_CLI_28"
}

@test "docker CLI 20.10: version, info, import, images, inspect, tag, history, save, rmi, load" {
	docker_cli_tour "$DOCKER_CLI_20"
}

@test "the daemon did not crash or hang during this suite" {
	assert_no_daemon_crash
}
