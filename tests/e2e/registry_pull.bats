#!/usr/bin/env bats
# Pull from a registry v2 (issue 9, pull side): images pushed by skopeo (a real
# peer) into Debian's docker-registry on 127.0.0.1 (E2E_REGISTRY from
# scripts/e2e-services.sh, or one started here) are pulled with berth, the
# raw API and the real docker CLIs: image IDs, digests, platform selection,
# run of a missing image, a corrupted blob (a proxy flips one byte), kill -9
# of berthd during a slow pull.

load helpers
load lib/registry

# A 2-layer image of incompressible data (~3 MiB a layer), as an OCI layout.
make_big_image()
{
	python3 - "$1" <<'EOF'
import gzip, hashlib, io, json, os, sys, tarfile
d = sys.argv[1]
os.makedirs(d + "/blobs/sha256", exist_ok=True)
def put(data):
    h = hashlib.sha256(data).hexdigest()
    open(d + "/blobs/sha256/" + h, "wb").write(data)
    return "sha256:" + h, len(data)
layers, diffs = [], []
for i in range(2):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        payload = os.urandom(3 << 20)
        ti = tarfile.TarInfo("big%d" % i)
        ti.size = len(payload)
        ti.mtime = 1700000000
        t.addfile(ti, io.BytesIO(payload))
    diffs.append("sha256:" + hashlib.sha256(raw.getvalue()).hexdigest())
    dg, size = put(gzip.compress(raw.getvalue(), 1, mtime=0))
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": dg, "size": size})
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/big0"]},
                  "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
cd, cs = put(cfg)
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
                  "layers": layers}).encode()
md, ms = put(man)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
           "digest": md, "size": ms, "annotations": {"org.opencontainers.image.ref.name": "latest"}}]},
          open(d + "/index.json", "w"))
json.dump({"imageLayoutVersion": "1.0.0"}, open(d + "/oci-layout", "w"))
print(cd)
EOF
}

# start_proxy MODE: a proxy in front of the registry; sets PROXY (host:port).
start_proxy()
{
	local pf=$BATS_FILE_TMPDIR/proxy-$1.port
	rm -f "$pf"
	setsid python3 "$BATS_TEST_DIRNAME/lib/registry_proxy.py" "${E2E_REGISTRY##*:}" "$pf" "$1" </dev/null \
		>"$BATS_FILE_TMPDIR/proxy-$1.log" 2>&1 3>&- &
	echo $! >>"$BATS_FILE_TMPDIR/proxy.pids"
	wait_for 30 test -s "$pf"
	PROXY=127.0.0.1:$(cat "$pf")
}

setup_file()
{
	shared_registry_start || return 1
	# a private namespace in a registry other suites may share
	export P="pull$$"
	skopeo_push "docker-archive:$(fixture busybox-docker-archive.tar)" "docker://$E2E_REGISTRY/$P/busybox:1"
	skopeo_push --all "oci-archive:$(fixture busybox-multiarch-oci-archive.tar)" "docker://$E2E_REGISTRY/$P/multi:1"
	BIG_ID=$(make_big_image "$BATS_FILE_TMPDIR/big")
	export BIG_ID
	skopeo_push "oci:$BATS_FILE_TMPDIR/big:latest" "docker://$E2E_REGISTRY/$P/big:1"
	# the registry also serves as the docker.io mirror (docker.io is unreachable here)
	berthd_start --max-concurrent-downloads 2 --registry-mirror "http://$E2E_REGISTRY"
}

teardown_file()
{
	berthd_stop
	local pid
	if [ -f "$BATS_FILE_TMPDIR/proxy.pids" ]; then
		while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$BATS_FILE_TMPDIR/proxy.pids"
	fi
	shared_registry_stop
}

setup() { berthd_ensure; }
teardown()
{
	reset_images
	[ -z "${CERTSD:-}" ] || rm -rf "$CERTSD"
}

@test "pull of an image skopeo pushed: the same image ID as berth load, dockerd's progress" {
	run -0 --separate-stderr berth pull "$E2E_REGISTRY/$P/busybox:1"
	assert_contains "$output" "1: Pulling from $P/busybox"
	assert_contains "$output" ": Pulling fs layer"
	assert_contains "$output" ": Download complete"
	assert_contains "$output" ": Pull complete"
	assert_match "$output" "Digest: sha256:[0-9a-f]{64}"
	assert_contains "$output" "Status: Downloaded newer image for $E2E_REGISTRY/$P/busybox:1"
	assert_eq "$(tail -n 1 <<<"$output")" "$E2E_REGISTRY/$P/busybox:1"
	run -0 berth image inspect -f '{{.Id}} {{index .RootFS.Layers 0}}' "$E2E_REGISTRY/$P/busybox:1"
	assert_eq "$output" "$BUSYBOX_ID $BUSYBOX_DIFF_ID"
	# layers are read natively (archive/tar_in.c): libarchive and the
	# libstdc++ it drags in never enter berthd (issue 13); an ASan build
	# maps libstdc++ for libasan from the start: there only libarchive is
	# checked
	if [ "$E2E_TARGET" = berthd ]; then
		! grep -q libarchive "/proc/$E2E_DAEMON_PID/maps" || fail "pull mapped libarchive"
		if ! ldd "$BERTHD" | grep -q libasan; then
			! grep -q libstdc++ "/proc/$E2E_DAEMON_PID/maps" || fail "pull mapped libstdc++"
		fi
	fi
	# berth load of the same fixture: the same ID
	berth rmi "$E2E_REGISTRY/$P/busybox:1" >/dev/null
	run -0 --separate-stderr berth load -i "$(fixture busybox-docker-archive.tar)"
	run -0 berth image inspect -f '{{.Id}}' busybox:latest
	assert_eq "$output" "$BUSYBOX_ID"
	# present already: no layer lines, "up to date" once tagged
	run -0 --separate-stderr berth pull "$E2E_REGISTRY/$P/busybox:1"
	assert_not_contains "$output" "Pulling fs layer"
	assert_contains "$output" "Status: Downloaded newer image for"
	run -0 --separate-stderr berth pull "$E2E_REGISTRY/$P/busybox:1"
	assert_contains "$output" "Status: Image is up to date for $E2E_REGISTRY/$P/busybox:1"
}

@test "API stream: dockerd's JSON lines in order; a missing tag is a 404 with dockerd's message" {
	api POST "/images/create?fromImage=$E2E_REGISTRY/$P/busybox&tag=1"
	assert_status 200
	local statuses
	statuses=$(printf '%s\n' "$HTTP_BODY" | jq -r .status | uniq | tr '\n' '|')
	assert_match "$statuses" "^Pulling from $P/busybox\|Pulling fs layer\|(Downloading\|)?Verifying Checksum\|Download complete\|Extracting\|Pull complete\|Digest: sha256:[0-9a-f]{64}\|Status: Downloaded newer image for $E2E_REGISTRY/$P/busybox:1\|$"
	assert_eq "$(printf '%s\n' "$HTTP_BODY" | head -1 | jq -c .)" "{\"status\":\"Pulling from $P/busybox\",\"id\":\"1\"}"
	api POST "/images/create?fromImage=$E2E_REGISTRY/$P/busybox&tag=nope"
	assert_status 404
	assert_message "manifest for $E2E_REGISTRY/$P/busybox:nope not found: manifest unknown: manifest unknown"
	run -1 --separate-stderr berth pull "$E2E_REGISTRY/$P/busybox:nope"
	assert_eq "$stderr" "Error response from daemon: manifest for $E2E_REGISTRY/$P/busybox:nope not found: manifest unknown: manifest unknown"
	api POST "/images/create?fromImage=$E2E_REGISTRY/$P/busybox&tag=1&platform=plan9/amd64"
	assert_status 400
}

@test "pull by digest; images --digests and RepoDigests show it; -q prints the reference only" {
	run -0 --separate-stderr berth pull -q "$E2E_REGISTRY/$P/busybox:1"
	assert_eq "$output" "$E2E_REGISTRY/$P/busybox:1"
	local digest
	digest=$(berth image inspect -f '{{index .RepoDigests 0}}' "$E2E_REGISTRY/$P/busybox:1")
	assert_match "$digest" "^$E2E_REGISTRY/$P/busybox@sha256:[0-9a-f]{64}$"
	reset_images
	run -0 --separate-stderr berth pull "$digest"
	assert_contains "$output" "Digest: ${digest#*@}"
	assert_contains "$output" "Status: Downloaded newer image for $digest"
	run -0 berth image inspect -f '{{.Id}}' "$digest"
	assert_eq "$output" "$BUSYBOX_ID"
	run -0 berth images --digests --format '{{.Repository}} {{.Tag}} {{.Digest}}'
	assert_eq "$output" "$E2E_REGISTRY/$P/busybox <none> ${digest#*@}"
	# a digest the registry does not have
	run -1 --separate-stderr berth pull "$E2E_REGISTRY/$P/busybox@sha256:$(printf '0%.0s' {1..64})"
	assert_contains "$stderr" "not found: manifest unknown"
}

@test "multi-platform image: amd64 by default, --platform linux/arm64/v8 picks the other entry" {
	run -0 --separate-stderr berth pull "$E2E_REGISTRY/$P/multi:1"
	run -0 berth image inspect -f '{{.Os}}/{{.Architecture}}' "$E2E_REGISTRY/$P/multi:1"
	assert_eq "$output" "linux/amd64"
	local amd
	amd=$(berth image inspect -f '{{.Id}}' "$E2E_REGISTRY/$P/multi:1")
	run -0 --separate-stderr berth pull --platform linux/arm64/v8 "$E2E_REGISTRY/$P/multi:1"
	assert_contains "$output" "Already exists"
	run -0 berth image inspect -f '{{.Os}}/{{.Architecture}}/{{.Variant}} {{.Id}}' "$E2E_REGISTRY/$P/multi:1"
	assert_match "$output" "^linux/arm64/v8 sha256:"
	assert_not_contains "$output" "$amd"
	run -1 --separate-stderr berth pull --platform linux/s390x "$E2E_REGISTRY/$P/multi:1"
	assert_contains "$stderr" "no matching manifest for linux/s390x in the manifest list entries"
}

@test "berth run of a missing image pulls it first" {
	run -0 --separate-stderr berth run --rm "$E2E_REGISTRY/$P/busybox:1" echo hello-from-pull
	assert_eq "$output" "hello-from-pull"
	assert_contains "$stderr" "Unable to find image '$E2E_REGISTRY/$P/busybox:1' locally"
	assert_contains "$stderr" "Status: Downloaded newer image for $E2E_REGISTRY/$P/busybox:1"
	run -0 berth image inspect -f '{{.Id}}' "$E2E_REGISTRY/$P/busybox:1"
	assert_eq "$output" "$BUSYBOX_ID"
}

@test "a corrupted blob fails the pull with a digest error and leaves no layer or image" {
	start_proxy flip
	run -1 --separate-stderr berth pull "$PROXY/$P/busybox:1"
	assert_contains "$stderr" "filesystem layer verification failed for digest sha256:"
	assert_eq "$(image_count)" 0
	assert_eq "$(driver_layer_dirs)" 0
	api GET /images/json?all=1
	assert_eq "$HTTP_BODY" "[]"
	# nothing half-verified is kept for a later pull
	run -0 find "$E2E_DATA/distribution/blobs" -type f
	assert_eq "$output" ""
}

partial_started() { [ -n "$(find "$E2E_DATA/distribution/partial" -type f -size +64k 2>/dev/null)" ]; }

@test "kill -9 of berthd during a pull leaves nothing visible; the next pull completes" {
	start_proxy slow
	berth pull "$PROXY/$P/big:1" >"$BATS_TEST_TMPDIR/pull.out" 2>&1 &
	local cli=$!
	wait_for 120 partial_started
	berthd_kill9
	wait "$cli" || true
	berthd_respawn
	assert_eq "$(image_count)" 0
	assert_eq "$(driver_layer_dirs)" 0
	# a staged file nobody came back for in a day is dropped by the next pull
	touch -d '2 days ago' "$E2E_DATA/distribution/partial/stale"
	run -0 --separate-stderr berth pull "$E2E_REGISTRY/$P/big:1"
	assert_contains "$output" "Status: Downloaded newer image for $E2E_REGISTRY/$P/big:1"
	run -0 berth image inspect -f '{{.Id}} {{len .RootFS.Layers}}' "$E2E_REGISTRY/$P/big:1"
	assert_eq "$output" "$BIG_ID 2"
	# staging is empty again once the layers are in
	run -0 find "$E2E_DATA/distribution/partial" "$E2E_DATA/distribution/blobs" -type f
	assert_eq "$output" ""
}

# hex of layer N of the big image (its OCI layout)
big_layer_hex()
{
	local b=$BATS_FILE_TMPDIR/big/blobs/sha256 m
	m=$(jq -r '.manifests[0].digest' "$BATS_FILE_TMPDIR/big/index.json")
	jq -r ".layers[$1].digest" "$b/${m#sha256:}" | sed 's/^sha256://'
}

staged() { [ -e "$E2E_DATA/distribution/partial/$1" ] || [ -e "$E2E_DATA/distribution/blobs/$1" ]; }

@test "the layer whose turn has come is decompressed into the layer store as it arrives, never staged" {
	local l0 l1 cli
	l0=$(big_layer_hex 0)
	l1=$(big_layer_hex 1)
	start_proxy slow
	berth pull "$PROXY/$P/big:1" >"$BATS_TEST_TMPDIR/pull.out" 2>&1 &
	cli=$!
	# a download worker stages the second layer meanwhile; the first one is not in staging
	wait_for 120 staged "$l1"
	run staged "$l0"
	assert_eq "$status" 1
	wait "$cli"
	run -0 berth image inspect -f '{{.Id}}' "$PROXY/$P/big:1"
	assert_eq "$output" "$BIG_ID"
}

@test "on a terminal each layer keeps one line, redrawn in place with its bar" {
	command -v tmux >/dev/null || skip "tmux not installed"
	tmux_start tp 160 30 "$BERTH_CLI pull $E2E_REGISTRY/$P/big:1"
	tmux_wait tp "[exit 0]" 120
	local screen ids
	screen=$(tmux_screen tp)
	assert_contains "$screen" "Status: Downloaded newer image for $E2E_REGISTRY/$P/big:1"
	# two layers: two "<id>: Pull complete" lines and no other line of theirs
	ids=$(grep -oE '^[0-9a-f]{12}: ' <<<"$screen" | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')
	assert_eq "$ids" "1 1 "
	assert_eq "$(grep -cE '^[0-9a-f]{12}: Pull complete' <<<"$screen")" 2
	tmx kill-session -t tp
}

@test "three concurrent pulls of one image: all succeed, one image, no layer reference left behind" {
	local i pids=()
	for i in 1 2 3; do
		berth pull -q "$E2E_REGISTRY/$P/big:1" >"$BATS_TEST_TMPDIR/c$i.out" 2>&1 &
		pids+=($!)
	done
	for i in 0 1 2; do
		wait "${pids[$i]}" || fail "pull $i failed: $(cat "$BATS_TEST_TMPDIR/c$((i + 1)).out")"
	done
	assert_eq "$(image_count)" 1
	run -0 berth image inspect -f '{{.Id}}' "$E2E_REGISTRY/$P/big:1"
	assert_eq "$output" "$BIG_ID"
	run -0 berth rmi "$E2E_REGISTRY/$P/big:1"
	assert_eq "$(driver_layer_dirs)" 0
}

@test "docker.io names go to the registry mirror (--registry-mirror)" {
	run -0 --separate-stderr berth pull "$P/busybox:1"
	assert_contains "$output" "1: Pulling from $P/busybox"
	assert_contains "$output" "Status: Downloaded newer image for $P/busybox:1"
	assert_eq "$(tail -n 1 <<<"$output")" "docker.io/$P/busybox:1"
	run -0 berth image inspect -f '{{.Id}} {{json .RepoTags}}' "docker.io/$P/busybox:1"
	assert_eq "$output" "$BUSYBOX_ID [\"$P/busybox:1\"]"
	run -0 berth image inspect -f '{{index .RepoDigests 0}}' "$P/busybox:1"
	assert_match "$output" "^$P/busybox@sha256:[0-9a-f]{64}$"
}

# A TLS registry that wants a client certificate; certs.d holds the pair.
start_tls_registry()
{
	local d=$BATS_FILE_TMPDIR/tls port
	mkdir -p "$d/certs"
	(
		cd "$d" || exit 1
		openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=pull-test-ca
		openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1
		printf 'subjectAltName=IP:127.0.0.1\n' >san.ext
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile san.ext
		openssl req -newkey rsa:2048 -nodes -keyout certs/client.key -out client.csr -subj /CN=client
		openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out certs/client.cert -days 2
		cp ca.crt certs/ca.crt
	) >/dev/null 2>&1 || return 1
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	cat >"$d/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $d/data
http:
  addr: 127.0.0.1:$port
  tls:
    certificate: $d/server.crt
    key: $d/server.key
    clientcas:
      - $d/ca.crt
EOF
	setsid docker-registry serve "$d/config.yml" </dev/null >"$d/registry.log" 2>&1 3>&- &
	echo $! >>"$BATS_FILE_TMPDIR/proxy.pids"
	TLS_REG=127.0.0.1:$port
	wait_for 30 curl -sf --cacert "$d/ca.crt" --cert "$d/certs/client.cert" --key "$d/certs/client.key" \
		"https://$TLS_REG/v2/"
	TLS_CERTS=$d/certs
}

@test "certs.d: a client certificate from /etc/berth/certs.d/<host:port>/ reaches a TLS registry" {
	command -v openssl >/dev/null || skip "openssl not installed"
	start_tls_registry
	export CERTSD=/etc/berth/certs.d/$TLS_REG
	skopeo copy --quiet --dest-tls-verify=false --dest-cert-dir "$TLS_CERTS" \
		"docker-archive:$(fixture busybox-docker-archive.tar)" "docker://$TLS_REG/$P/busybox:1" >/dev/null
	# without the client pair the registry refuses the handshake
	run -1 --separate-stderr berth pull "$TLS_REG/$P/busybox:1"
	mkdir -p "$CERTSD"
	cp "$TLS_CERTS/ca.crt" "$TLS_CERTS/client.cert" "$TLS_CERTS/client.key" "$CERTSD/"
	run -0 --separate-stderr berth pull "$TLS_REG/$P/busybox:1"
	rm -rf "$CERTSD"
	assert_contains "$output" "Status: Downloaded newer image for $TLS_REG/$P/busybox:1"
	run -0 berth image inspect -f '{{.Id}}' "$TLS_REG/$P/busybox:1"
	assert_eq "$output" "$BUSYBOX_ID"
}

@test "the real docker CLIs pull through berthd" {
	need_cli "$DOCKER_CLI_28"
	need_cli "$DOCKER_CLI_20"
	run -0 --separate-stderr docker28 pull "$E2E_REGISTRY/$P/busybox:1"
	assert_contains "$output" "Status: Downloaded newer image for $E2E_REGISTRY/$P/busybox:1"
	assert_eq "$(tail -n 1 <<<"$output")" "$E2E_REGISTRY/$P/busybox:1"
	run -0 docker28 image inspect -f '{{.Id}}' "$E2E_REGISTRY/$P/busybox:1"
	assert_eq "$output" "$BUSYBOX_ID"
	reset_images
	run -0 --separate-stderr docker20 pull "$E2E_REGISTRY/$P/multi:1"
	assert_contains "$output" "Pull complete"
	run -0 --separate-stderr docker20 pull --platform linux/arm64/v8 "$E2E_REGISTRY/$P/multi:1"
	run -0 docker20 image inspect -f '{{.Architecture}}' "$E2E_REGISTRY/$P/multi:1"
	assert_eq "$output" "arm64"
	run -1 --separate-stderr docker20 pull "$E2E_REGISTRY/$P/busybox:nope"
	assert_contains "$stderr" "manifest for $E2E_REGISTRY/$P/busybox:nope not found: manifest unknown: manifest unknown"
}

@test "the daemon did not crash during the suite" {
	assert_no_daemon_crash
}
