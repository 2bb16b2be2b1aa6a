#!/usr/bin/env bats
# Push (issue 9, item 3 and the push part of item 5): berth push / the API /
# the real docker CLIs against a plain docker-registry on 127.0.0.1
# ($E2E_REGISTRY from scripts/e2e-services.sh, or one started here):
# dockerd's progress stream, layers the registry has skipped, cross-repository
# mounts, a second push that sends nothing, layers compressed while they
# stream up (one PATCH each), -a, errors, and the pushed image pulled back
# (same image ID, runs) and read by a peer (skopeo).

load helpers
load lib/registry

setup_file()
{
	berthd_start
	PUSH_DIR=$(mktemp -d /tmp/berth-regpush.XXXXXX)
	export PUSH_DIR
	if [ -n "${E2E_REGISTRY:-}" ]; then
		PREG=$E2E_REGISTRY
	else
		reg_start "$PUSH_DIR/reg" none
		PREG=$REG
	fi
	# each run of the suite uses its own repositories (a shared registry keeps blobs)
	PREFIX=push$$-$RANDOM
	export PREG PREFIX
}

teardown_file()
{
	[ -f "$PUSH_DIR/search.pid" ] && kill "$(cat "$PUSH_DIR/search.pid")" 2>/dev/null
	[ -f "$PUSH_DIR/proxy.pid" ] && kill "$(cat "$PUSH_DIR/proxy.pid")" 2>/dev/null
	reg_stop "$PUSH_DIR/reg"
	rm -rf "$PUSH_DIR"
	berthd_stop
}

setup()
{
	berthd_ensure
	load_busybox
}

teardown() { reset_images; }

@test "push the busybox fixture: dockerd's stream, digest recorded, second push sends nothing" {
	local repo=$PREG/$PREFIX/busybox
	berth tag busybox "$repo:1"
	run -0 --separate-stderr berth push "$repo:1"
	assert_contains "$output" "The push refers to repository [$repo]"
	assert_contains "$output" "${BUSYBOX_DIFF_ID:7:12}: Preparing"
	assert_contains "$output" "${BUSYBOX_DIFF_ID:7:12}: Pushed"
	assert_match "$output" "1: digest: (sha256:[0-9a-f]{64}) size: ([0-9]+)"
	local digest=${BASH_REMATCH[1]}
	run -0 berth images --digests --format '{{.Repository}}:{{.Tag}} {{.Digest}}' "$repo"
	assert_eq "$output" "$repo:1 $digest"
	# the second push compresses and sends nothing
	run -0 --separate-stderr berth push "$repo:1"
	assert_contains "$output" "${BUSYBOX_DIFF_ID:7:12}: Layer already exists"
	assert_not_contains "$output" "Pushed"
	assert_contains "$output" "1: digest: $digest size:"
}

@test "API: the push stream as dockerd writes it, aux Tag/Digest/Size" {
	local repo=$PREG/$PREFIX/api dir=$BATS_TEST_TMPDIR/api
	# a layer of its own (busybox's would be mounted from the other repositories)
	mkdir -p "$dir"
	head -c 300000 /dev/urandom >"$dir/data"
	tar -C "$dir" -cf "$BATS_TEST_TMPDIR/api.tar" data
	run -0 berth import "$BATS_TEST_TMPDIR/api.tar" "$repo:2"
	run -0 berth image inspect -f '{{index .RootFS.Layers 0}}' "$repo:2"
	local short=${output:7:12}
	api POST "/images/$repo/push?tag=2" -H "X-Registry-Auth: $(printf '{}' | base64)"
	assert_status 200
	local body
	body=$(tr -d '\r' <<<"$HTTP_BODY")
	assert_eq "$(head -1 <<<"$body")" "{\"status\":\"The push refers to repository [$repo]\"}"
	assert_contains "$body" "{\"status\":\"Preparing\",\"progressDetail\":{},\"id\":\"$short\"}"
	assert_contains "$body" "{\"status\":\"Pushed\",\"progressDetail\":{},\"id\":\"$short\"}"
	run -0 jq -c 'select(.status == "Pushing") | [.id, .progressDetail.current >= .progressDetail.total, (.progress | test("^\\[=+>\\]"))]' <<<"$body"
	assert_eq "$(tail -1 <<<"$output")" "[\"$short\",true,true]"
	run -0 jq -c 'select(.aux) | [.aux.Tag, (.aux.Digest | test("^sha256:[0-9a-f]{64}$")), .aux.Size > 0, .progressDetail]' <<<"$body"
	assert_eq "$output" '["2",true,true,{}]'
	# the digest line comes right before aux
	run -0 jq -r 'select(.status) | .status' <<<"$body"
	assert_match "$(tail -1 <<<"$output")" '^2: digest: sha256:[0-9a-f]{64} size: [0-9]+$'
}

@test "pushed image pulls back with the same image ID, also by digest; skopeo reads it" {
	local repo=$PREG/$PREFIX/roundtrip
	berth tag busybox "$repo:1"
	run -0 --separate-stderr berth push "$repo:1"
	assert_match "$output" "1: digest: (sha256:[0-9a-f]{64}) size:"
	local digest=${BASH_REMATCH[1]}
	run -0 skopeo inspect --tls-verify=false "docker://$repo:1"
	assert_eq "$(jq -r .Digest <<<"$output")" "$digest"
	run -0 skopeo inspect --raw --config --tls-verify=false "docker://$repo:1"
	assert_eq "sha256:$(printf '%s' "$output" | sha256sum | cut -c1-64)" "$BUSYBOX_ID"
	reset_images
	run -0 --separate-stderr berth pull "$repo:1"
	run -0 berth image inspect -f '{{.Id}}' "$repo:1"
	assert_eq "$output" "$BUSYBOX_ID"
	reset_images
	run -0 --separate-stderr berth pull "$repo@$digest"
	run -0 berth image inspect -f '{{.Id}}' "$repo@$digest"
	assert_eq "$output" "$BUSYBOX_ID"
}

@test "a layer in another repository of the registry is mounted, not uploaded" {
	berth tag busybox "$PREG/$PREFIX/src:1"
	run -0 berth push "$PREG/$PREFIX/src:1"
	berth tag busybox "$PREG/$PREFIX/dst:1"
	run -0 --separate-stderr berth push "$PREG/$PREFIX/dst:1"
	assert_contains "$output" "${BUSYBOX_DIFF_ID:7:12}: Mounted from $PREFIX/src"
	assert_not_contains "$output" "Pushed"
	run -0 skopeo inspect --tls-verify=false "docker://$PREG/$PREFIX/dst:1"
}

@test "push -a pushes every tag; errors for a missing repository or tag" {
	local repo=$PREG/$PREFIX/all
	berth tag busybox "$repo:a"
	berth tag busybox "$repo:b"
	run -0 --separate-stderr berth push -a "$repo"
	assert_match "$output" "a: digest: sha256:[0-9a-f]{64} size"
	assert_match "$output" "b: digest: sha256:[0-9a-f]{64} size"
	run -1 --separate-stderr berth push -a "$repo:a"
	assert_eq "$stderr" "tag can't be used with --all-tags/-a"
	run -1 --separate-stderr berth push "$PREG/$PREFIX/nothing"
	assert_eq "$stderr" "An image does not exist locally with the tag: $PREG/$PREFIX/nothing"
	run -1 --separate-stderr berth push "$repo:zz"
	assert_eq "$stderr" "tag does not exist: $repo:zz"
	run -0 skopeo list-tags --tls-verify=false "docker://$repo"
	assert_eq "$(jq -c '.Tags | sort' <<<"$output")" '["a","b"]'
}

@test "push after kill -9 of berthd mid-push: blobs the registry has are skipped, the push completes" {
	local repo=$PREG/$PREFIX/resume d=$BATS_TEST_TMPDIR id cli
	mkdir -p "$d/small/etc" "$d/big/opt"
	echo resume >"$d/small/etc/resume"
	head -c $((24 << 20)) /dev/urandom >"$d/big/opt/random.bin"
	python3 "$E2E_ROOT/scripts/make-docker-archive.py" "$d/img.tar" -t "$repo:1" "$d/small" "$d/big"
	berth load -q -i "$d/img.tar" >/dev/null
	id=$(berth image inspect -f '{{.Id}}' "$repo:1")
	berth push "$repo:1" >"$d/push.out" 2>&1 &
	cli=$!
	# the small layer is in the registry; the big one is still being compressed and sent
	wait_for 60 grep -q ": Pushed" "$d/push.out"
	berthd_kill9
	wait "$cli" || true
	berthd_respawn
	run -0 --separate-stderr berth push "$repo:1"
	assert_contains "$output" ": Layer already exists"
	assert_match "$output" "1: digest: sha256:[0-9a-f]{64} size: [0-9]+"
	berth rmi "$repo:1" >/dev/null
	run -0 --separate-stderr berth pull "$repo:1"
	run -0 berth image inspect -f '{{.Id}}' "$repo:1"
	assert_eq "$output" "$id"
}

@test "a multi-layer image streams up (one PATCH per layer), peers read it, it pulls back and runs" {
	local repo=$PREG/$PREFIX/multi d=$BATS_TEST_TMPDIR id digest i pushed
	# busybox, ~2 MiB of text (compressed) and 12 MiB of noise (stored): several gzip blocks each
	mkdir -p "$d/text/usr/share/words" "$d/noise/opt"
	for i in $(seq 200); do seq "$i" 5000 >"$d/text/usr/share/words/f$i"; done
	head -c $((12 << 20)) /dev/urandom >"$d/noise/opt/noise.bin"
	berth save -o "$d/bb.tar" busybox
	tar -xOf "$d/bb.tar" "$(tar -xOf "$d/bb.tar" manifest.json | jq -r '.[0].Layers[0]')" >"$d/base.tar"
	python3 "$E2E_ROOT/scripts/make-docker-archive.py" "$d/img.tar" -t "$repo:1" "$d/base.tar" "$d/text" "$d/noise" \
		>/dev/null
	berth load -q -i "$d/img.tar" >/dev/null
	id=$(berth image inspect -f '{{.Id}}' "$repo:1")
	run -0 --separate-stderr berth push "$repo:1"
	assert_match "$output" "1: digest: (sha256:[0-9a-f]{64}) size:"
	digest=${BASH_REMATCH[1]}
	pushed=$(grep -c ': Pushed$' <<<"$output") # busybox's layer is mounted from an earlier test's repository
	[ "$pushed" -ge 2 ] || fail "expected the two new layers pushed: $output"
	# our own registry's log: each layer went up as one streamed PATCH closed by PUT ?digest=
	if [ -f "$PUSH_DIR/reg/registry.log" ]; then
		run -0 grep -c "http.request.method=PATCH .*http.request.uri=\"/v2/$PREFIX/multi/blobs/uploads/" \
			"$PUSH_DIR/reg/registry.log"
		assert_eq "$output" "$pushed"
	fi
	# skopeo verifies every blob's digest as it copies; the manifest digest is the one push printed
	run -0 skopeo copy --src-tls-verify=false "docker://$repo:1" "dir:$d/copy"
	assert_eq "sha256:$(sha256sum "$d/copy/manifest.json" | cut -c1-64)" "$digest"
	# each layer blob is one gzip member whose content hashes to the image's diff ID
	python3 - "$d/copy" <<'PY' || fail "a pushed layer is not one gzip member of its diff ID"
import hashlib, json, os, sys, zlib
d = sys.argv[1]
m = json.load(open(os.path.join(d, "manifest.json")))
cfg = json.load(open(os.path.join(d, m["config"]["digest"].split(":")[1])))
for layer, diff in zip(m["layers"], cfg["rootfs"]["diff_ids"]):
    blob = open(os.path.join(d, layer["digest"].split(":")[1]), "rb").read()
    z = zlib.decompressobj(31)
    raw = z.decompress(blob) + z.flush()
    assert z.eof and not z.unused_data, layer["digest"]
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == diff, layer["digest"]
PY
	reset_images
	run -0 --separate-stderr berth pull "$repo:1"
	run -0 berth image inspect -f '{{.Id}}' "$repo:1"
	assert_eq "$output" "$id"
	run -0 berth run --rm "$repo:1" sh -c 'wc -c </opt/noise.bin; cat /usr/share/words/f7 | wc -l'
	assert_eq "$output" "$((12 << 20))
4994"
}

# start_proxy MODE: tests/e2e/lib/registry_proxy.py in front of $PREG; PROXY (host:port)
start_proxy()
{
	local pf=$PUSH_DIR/proxy.port
	rm -f "$pf" "$pf.log"
	setsid python3 "$BATS_TEST_DIRNAME/lib/registry_proxy.py" "${PREG##*:}" "$pf" "$1" </dev/null \
		>"$PUSH_DIR/proxy.out" 2>&1 3>&- &
	echo $! >"$PUSH_DIR/proxy.pid"
	wait_for 30 test -s "$pf"
	PROXY=127.0.0.1:$(cat "$pf")
}
stop_proxy()
{
	kill "$(cat "$PUSH_DIR/proxy.pid")"
	rm -f "$PUSH_DIR/proxy.pid"
}

@test "a layer upload broken mid-body is retried from its kept compressed copy, not compressed again" {
	local d=$BATS_TEST_TMPDIR pf=$PUSH_DIR/proxy.port repo id
	# the proxy closes the connection of the first upload PATCH after 256 KiB of its body
	start_proxy breakupload
	repo=$PROXY/$PREFIX/retry
	# one layer of ~20 MB of text: still being compressed when its upload breaks
	mkdir -p "$d/seq/opt"
	seq 1 2500000 >"$d/seq/opt/seq"
	berth save -o "$d/bb.tar" busybox
	tar -xOf "$d/bb.tar" "$(tar -xOf "$d/bb.tar" manifest.json | jq -r '.[0].Layers[0]')" >"$d/base.tar"
	python3 "$E2E_ROOT/scripts/make-docker-archive.py" "$d/img.tar" -t "$repo:1" "$d/base.tar" "$d/seq" >/dev/null
	berth load -q -i "$d/img.tar" >/dev/null
	id=$(berth image inspect -f '{{.Id}}' "$repo:1")
	run -0 --separate-stderr berth push "$repo:1"
	assert_contains "$output" ": Retrying in 2 seconds"
	assert_contains "$output" ": Pushed"
	assert_match "$output" "1: digest: sha256:[0-9a-f]{64} size: [0-9]+"
	run -0 grep -c "^broke PATCH " "$pf.log"
	assert_eq "$output" 1
	# the first attempt's compression went on into the kept copy; the retry sent that
	run -0 grep -c "attempt 1 failed: .*(the retry sends its compressed copy)" "$E2E_LOG"
	assert_eq "$output" 1
	run -0 find "$E2E_DATA/distribution" -name 'push-spool*'
	assert_eq "$output" ""
	berth rmi "$repo:1" >/dev/null
	run -0 --separate-stderr berth pull "$repo:1"
	run -0 berth image inspect -f '{{.Id}}' "$repo:1"
	assert_eq "$output" "$id"
	run -0 berth run --rm "$repo:1" sh -c 'tail -n 1 /opt/seq'
	assert_eq "$output" 2500000
	stop_proxy
}

@test "a layer whose digest is known from another registry is found there by HEAD, not uploaded" {
	berth tag busybox "$PREG/$PREFIX/known:1"
	run -0 berth push "$PREG/$PREFIX/known:1"
	# the same storage under another name (host:port): no record for it, no mount source
	start_proxy pass
	berth tag busybox "$PROXY/$PREFIX/known:1"
	run -0 --separate-stderr berth push "$PROXY/$PREFIX/known:1"
	assert_contains "$output" "${BUSYBOX_DIFF_ID:7:12}: Layer already exists"
	assert_not_contains "$output" "Pushed"
	# recorded for the new name: the next push HEADs it straight away
	run -0 --separate-stderr berth push "$PROXY/$PREFIX/known:1"
	assert_contains "$output" "${BUSYBOX_DIFF_ID:7:12}: Layer already exists"
	stop_proxy
}

@test "the real docker CLIs push through the daemon" {
	local cli
	for cli in "$DOCKER_CLI_20" "$DOCKER_CLI_28"; do
		need_cli "$cli"
		berth tag busybox "$PREG/$PREFIX/cli:1"
		run -0 --separate-stderr "$cli" push "$PREG/$PREFIX/cli:1"
		assert_contains "$output" "The push refers to repository [$PREG/$PREFIX/cli]"
		assert_match "$output" "1: digest: sha256:[0-9a-f]{64} size: [0-9]+"
	done
}

@test "search: the registry's v1 search API, docker's columns, filters and limit" {
	local port
	port=$(_reg_free_port)
	setsid python3 "$E2E_ROOT/tests/e2e/lib/search_stub.py" "$port" </dev/null >/dev/null 2>&1 3>&- &
	echo $! >"$PUSH_DIR/search.pid"
	_reg_wait "http://127.0.0.1:$port/v2/" "$(cat "$PUSH_DIR/search.pid")"
	local s=127.0.0.1:$port
	run -0 --separate-stderr berth search "$s/busybox"
	assert_eq "$(head -1 <<<"$output" | tr -s ' ')" "NAME DESCRIPTION STARS OFFICIAL AUTOMATED"
	assert_match "$(sed -n 2p <<<"$output")" '^library/busybox +Busybox base image\. +3000 +\[OK\] *$'
	assert_match "$(sed -n 3p <<<"$output")" '^someone/busybox-tools +A very long description of busybox tools tha… +7 +\[OK\]$'
	run -0 berth search --no-trunc "$s/busybox-tools"
	assert_contains "$output" "goes on and on past forty-five characters"
	run -0 berth search --filter stars=5 --format '{{.Name}}' "$s/busybox"
	assert_eq "$output" "library/busybox
someone/busybox-tools"
	run -0 berth search -f is-official=true --format '{{.Name}}' "$s/busybox"
	assert_eq "$output" "library/busybox"
	run -0 berth search -f is-automated=true --format '{{.Name}}' "$s/busybox"
	assert_eq "$output" "someone/busybox-tools"
	run -0 berth search --limit 1 --format '{{.Name}}' "$s/busybox"
	assert_eq "$output" "library/busybox"
	api GET "/images/search?term=$s/busybox&filters=%7B%22stars%22%3A%5B%22x%22%5D%7D"
	assert_message "Invalid filter 'stars=x'"
	api GET "/images/search?term=$s/busybox&limit=101"
	assert_message "Limit 101 is outside the range of [1, 100]"
	api GET "/images/search?term=$s/busybox&limit=2"
	assert_status 200
	assert_eq "$(jq -c '[.[] | .name]' <<<"$HTTP_BODY")" '["library/busybox","someone/busybox-tools"]'
	kill "$(cat "$PUSH_DIR/search.pid")"
}
