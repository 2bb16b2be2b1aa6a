# Registry benchmarks (issue 9), sourced by bench/run.sh: `bench/run.sh registry`
# (or `pull` / `push` alone). A private docker-registry on 127.0.0.1 (its own
# port and storage directory, stopped by PID after; tests/e2e/lib/registry.bash)
# is seeded by skopeo with busybox (the e2e fixture) and a ~100 MB 4-layer
# image (bench/make-image.sh's layers plus a fourth of random files).
#
#   pull  into an empty store (image removed before each pull), median of N:
#         berth vs `docker pull` (20.10, private dockerd, --bridge=none
#         --iptables=false, --insecure-registry) vs `podman pull` (private
#         --root/--runroot) vs the floor: curl of the manifest, config and
#         layer blobs + tar -xzf of each layer into an empty directory (and
#         the same followed by syncfs)
#   push  to an empty registry (a fresh one for each push), median of N:
#         `berth push` of the image `berth load`ed from its docker-archive vs
#         `skopeo copy docker-archive:... docker://...` (the archive holds
#         uncompressed layer tars: skopeo compresses them with pgzip's
#         default level) vs `docker push` (20.10, private dockerd, the image
#         `docker load`ed: Go's gzip at its default level, up to 5 layers at
#         once) vs `podman push` (when installed) vs two floors: gzip -L
#         (BENCH_PUSH_LEVEL, default 4, berth's level) of each layer tar +
#         sha256sum + curl POST/PUT of each blob, the config and the manifest,
#         one after the other; and the same with the blobs compressed before
#         the clock starts (upload only)

REG_N=${BENCH_REG_N:-$N}

# shellcheck source=../tests/e2e/lib/registry.bash
. "$root/tests/e2e/lib/registry.bash"

# name:docker-archive pairs
reg_images()
{
	local work
	if [ ! -f "$BENCH_DIR/reg4.tar" ]; then
		"$root/bench/make-image.sh" "$BENCH_DIR" || return 1
		work=$(mktemp -d "$BENCH_DIR/work.XXXXXX")
		mkdir -p "$work/extra/opt/extra"
		for i in $(seq -w 1 8); do
			head -c 1048576 /dev/urandom >"$work/extra/opt/extra/blob-$i.bin"
		done
		python3 "$root/scripts/make-docker-archive.py" "$BENCH_DIR/reg4.tar.tmp" -t bench/reg4:latest \
			"$BENCH_DIR/layers/base.tar" "$BENCH_DIR/layers/random.tar" "$BENCH_DIR/layers/text.tar" \
			"$work/extra" >/dev/null || {
			rm -rf "$work"
			return 1
		}
		mv "$BENCH_DIR/reg4.tar.tmp" "$BENCH_DIR/reg4.tar"
		rm -rf "$work"
	fi
	REG_IMAGES=("busybox:$E2E_FIXTURES/busybox-docker-archive.tar" "reg4:$BENCH_DIR/reg4.tar")
}

# seeded registry for the pulls: REG (host:port), REG_DIR
reg_seed_up()
{
	local e
	REG_DIR=$(mktemp -d /var/tmp/berth-bench-reg.XXXXXX)
	reg_start "$REG_DIR/reg" none || return 1
	for e in "${REG_IMAGES[@]}"; do
		skopeo copy --quiet --dest-tls-verify=false "docker-archive:${e#*:}" "docker://$REG/bench/${e%%:*}:1" \
			>/dev/null || { echo "bench: skopeo could not seed $e" >&2; return 1; }
	done
}
reg_seed_down()
{
	[ -n "${REG_DIR:-}" ] || return 0
	reg_stop "$REG_DIR/reg"
	rm -rf "$REG_DIR"
	REG_DIR=
}

# reg_pull_series CMD...: median seconds of REG_N pulls of $REF by CMD after
# `$RMI $REF` (the image and its layers gone)
reg_pull_series()
{
	local i t s=()
	for ((i = 0; i < REG_N; i++)); do
		$RMI "$REF" >/dev/null 2>&1
		t=$(time_cmd "$@" "$REF") || { echo "bench: $* $REF failed" >&2; return 1; }
		s+=("$t")
	done
	$RMI "$REF" >/dev/null 2>&1
	printf '%s\n' "${s[@]}" | median
}

# floor: curl of the manifest, the config and the layer blobs, tar -xzf of each
reg_floor_once()
{
	local name=$1 sync=$2 tmp dst m d
	tmp=$(mktemp -d /var/tmp/berth-bench-floor.XXXXXX)
	dst=$tmp/root
	mkdir -p "$dst" "$tmp/blobs"
	local t0 t1
	t0=$(now_ns)
	m=$(curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		"http://$REG/v2/bench/$name/manifests/1") || return 1
	local -a get=()
	for d in $(jq -r '.config.digest, .layers[].digest' <<<"$m"); do
		get+=(-o "$tmp/blobs/${d#sha256:}" "http://$REG/v2/bench/$name/blobs/$d")
	done
	curl -sf "${get[@]}" || return 1
	for d in $(jq -r '.layers[].digest' <<<"$m"); do
		tar -C "$dst" -xzf "$tmp/blobs/${d#sha256:}" || return 1
	done
	[ "$sync" = 0 ] || sync -f "$dst"
	t1=$(now_ns)
	rm -rf "$tmp"
	sync
	secs_between "$t0" "$t1"
}
reg_floor_series()
{
	local i s=()
	for ((i = 0; i < REG_N; i++)); do s+=("$(reg_floor_once "$1" "$2")"); done
	printf '%s\n' "${s[@]}" | median
}

# no DOCKER_CONFIG: the dockerd helper's directory is gone by then and podman would stat its config.json
podman_cmd() { HOME=$PODMAN_DIR/home env -u DOCKER_CONFIG podman --root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/run" --storage-driver overlay "$@"; }
podman_pull() { podman_cmd pull -q --tls-verify=false "$@"; }
podman_rmi() { podman_cmd rmi -f "$@"; }

bench_pull()
{
	local e name b d p f fs
	reg_images || return 1
	reg_seed_up || { reg_seed_down; return 1; }
	echo "bench: pull from a local docker-registry ($REG), median of $REG_N" >&2
	declare -A B D P F FS
	if [ -x "$BERTHD" ] && daemon_up berthd; then
		for e in "${REG_IMAGES[@]}"; do
			REF=$REG/bench/${e%%:*}:1 RMI="$BERTH_CLI rmi -f"
			B[${e%%:*}]=$(reg_pull_series "$BERTH_CLI" pull -q) || B[${e%%:*}]=-
		done
		daemon_down
	fi
	if have_dockerd; then
		E2E_TARGET=dockerd
		export E2E_TARGET
		unset E2E_TMP
		if berthd_start --insecure-registry "$REG" >/dev/null; then
			for e in "${REG_IMAGES[@]}"; do
				REF=$REG/bench/${e%%:*}:1 RMI="$DOCKER_CLI_20 rmi -f"
				D[${e%%:*}]=$(reg_pull_series "$DOCKER_CLI_20" pull -q) || D[${e%%:*}]=-
			done
			daemon_down
		fi
	fi
	if command -v podman >/dev/null; then
		PODMAN_DIR=$(mktemp -d /var/tmp/berth-bench-podman.XXXXXX)
		mkdir -p "$PODMAN_DIR/home"
		for e in "${REG_IMAGES[@]}"; do
			REF=$REG/bench/${e%%:*}:1 RMI=podman_rmi
			P[${e%%:*}]=$(reg_pull_series podman_pull) || P[${e%%:*}]=-
		done
		podman_cmd rmi -af >/dev/null 2>&1
		findmnt -rn -o TARGET | grep "^$PODMAN_DIR" | sort -r | xargs -r umount
		rm -rf "$PODMAN_DIR"
	fi
	for e in "${REG_IMAGES[@]}"; do
		F[${e%%:*}]=$(reg_floor_series "${e%%:*}" 0)
		FS[${e%%:*}]=$(reg_floor_series "${e%%:*}" 1)
	done
	reg_seed_down
	for e in "${REG_IMAGES[@]}"; do
		name=${e%%:*}
		b=${B[$name]:--} d=${D[$name]:--} p=${P[$name]:--} f=${F[$name]:--} fs=${FS[$name]:--}
		row "pull $name ($(du -m "${e#*:}" | cut -f1) MB, median of $REG_N), s" "$b" "docker pull (20.10) $d" "$(ratio "$b" "$d")"
		row "" "" "podman pull $p" "$(ratio "$b" "$p")"
		row "" "" "curl + tar -xzf floor $f" "$(ratio "$b" "$f")"
		row "" "" "curl + tar -xzf + syncfs $fs" "$(ratio "$b" "$fs")"
	done
}

# reg_push_series CMD...: median seconds of REG_N runs of CMD (which pushes
# to $REG, a fresh empty registry each time; ${REG} in CMD is expanded late);
# with REG_SELF_TIMED=1 CMD prints its own seconds
reg_push_series()
{
	local i t s=() dir
	dir=$(mktemp -d /var/tmp/berth-bench-push.XXXXXX)
	for ((i = 0; i < REG_N; i++)); do
		reg_start "$dir/reg" none || break
		if [ "${REG_SELF_TIMED:-0}" = 1 ]; then t=$("$@"); else t=$(time_cmd "$@"); fi ||
			{ echo "bench: push by $1 failed" >&2; reg_stop "$dir/reg"; break; }
		s+=("$t")
		reg_stop "$dir/reg"
	done
	rm -rf "$dir"
	[ ${#s[@]} -gt 0 ] || return 1
	printf '%s\n' "${s[@]}" | median
}

berth_push_to_reg() { "$BERTH_CLI" tag "$1" "$REG/bench/$2:1" && "$BERTH_CLI" push -q "$REG/bench/$2:1"; }
skopeo_push_to_reg() { skopeo copy --quiet --dest-tls-verify=false "docker-archive:$1" "docker://$REG/bench/$2:1"; }
docker_push_to_reg() { "$DOCKER_CLI_20" tag "$1" "$REG/bench/$2:1" && "$DOCKER_CLI_20" push "$REG/bench/$2:1"; }
podman_push_to_reg() { podman_cmd push -q --tls-verify=false "$1" "$REG/bench/$2:1"; }

# curl_upload FILE DIGEST: POST + monolithic PUT ?digest= of one blob to $REG/bench/$FLOOR_NAME
curl_upload()
{
	local loc
	loc=$(curl -sf -X POST -D - -o /dev/null "http://$REG/v2/bench/$FLOOR_NAME/blobs/uploads/" |
		tr -d '\r' | sed -n 's/^[Ll]ocation: //p') || return 1
	[ -n "$loc" ] || return 1
	case $loc in /*) loc=http://$REG$loc ;; esac
	case $loc in *\?*) loc="$loc&digest=$2" ;; *) loc="$loc?digest=$2" ;; esac
	curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$1" "$loc" -o /dev/null
}

# reg_push_floor ARCHIVE PRE: layers from the archive's tars (PRE=1: compressed
# before the clock starts), each blob, the config and the manifest uploaded
# with curl; prints seconds. Expects $FLOOR_TMP with the archive unpacked.
reg_push_floor()
{
	local pre=$1 t0 t1 l d cfg cd m layers="" i=0
	local lvl=${BENCH_PUSH_LEVEL:-4}
	if [ "$pre" = 1 ]; then
		for l in $(jq -r '.[0].Layers[]' "$FLOOR_TMP/x/manifest.json"); do
			gzip -"$lvl" -n -c "$FLOOR_TMP/x/$l" >"$FLOOR_TMP/pre-$i.gz"
			i=$((i + 1))
		done
	fi
	i=0
	t0=$(now_ns)
	for l in $(jq -r '.[0].Layers[]' "$FLOOR_TMP/x/manifest.json"); do
		if [ "$pre" = 1 ]; then
			mv "$FLOOR_TMP/pre-$i.gz" "$FLOOR_TMP/blob"
		else
			gzip -"$lvl" -n -c "$FLOOR_TMP/x/$l" >"$FLOOR_TMP/blob" || return 1
		fi
		i=$((i + 1))
		d=sha256:$(sha256sum "$FLOOR_TMP/blob" | cut -d' ' -f1)
		curl_upload "$FLOOR_TMP/blob" "$d" || return 1
		layers="$layers{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":$(stat -c %s "$FLOOR_TMP/blob"),\"digest\":\"$d\"},"
	done
	cfg=$FLOOR_TMP/x/$(jq -r '.[0].Config' "$FLOOR_TMP/x/manifest.json")
	cd=sha256:$(sha256sum "$cfg" | cut -d' ' -f1)
	curl_upload "$cfg" "$cd" || return 1
	m="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"size\":$(stat -c %s "$cfg"),\"digest\":\"$cd\"},\"layers\":[${layers%,}]}"
	curl -sf -X PUT -H 'Content-Type: application/vnd.docker.distribution.manifest.v2+json' --data-binary "$m" \
		"http://$REG/v2/bench/$FLOOR_NAME/manifests/1" -o /dev/null || return 1
	t1=$(now_ns)
	secs_between "$t0" "$t1"
}

# reg_push_floor_series ARCHIVE NAME PRE: median of REG_N floors, a fresh registry each
reg_push_floor_series()
{
	local rc
	FLOOR_TMP=$(mktemp -d /var/tmp/berth-bench-floor.XXXXXX) FLOOR_NAME=$2
	mkdir -p "$FLOOR_TMP/x"
	tar -C "$FLOOR_TMP/x" -xf "$1" || { rm -rf "$FLOOR_TMP"; return 1; }
	REG_SELF_TIMED=1 reg_push_series reg_push_floor "$3"
	rc=$?
	rm -rf "$FLOOR_TMP"
	return $rc
}

# reg_push_loaded OUT LOAD PUSH: each image loaded by `LOAD ARCHIVE`, then
# pushed by `PUSH SRC NAME` (SRC its RepoTags[0]); medians into the array OUT
reg_push_loaded()
{
	local -n out=$1
	local e name src
	for e in "${REG_IMAGES[@]}"; do
		name=${e%%:*}
		$2 "${e#*:}" >/dev/null || continue
		src=$(tar -xOf "${e#*:}" manifest.json | jq -r '.[0].RepoTags[0]')
		out[$name]=$(reg_push_series "$3" "$src" "$name") || out[$name]=-
	done
}
berth_load() { "$BERTH_CLI" load -q -i "$1"; }
docker_load() { "$DOCKER_CLI_20" load -q -i "$1"; }
podman_load() { podman_cmd load -q -i "$1"; }

bench_push()
{
	local e name b s d p f fu
	reg_images || return 1
	echo "bench: push to an empty local docker-registry, median of $REG_N" >&2
	declare -A B S D P F FU
	if [ -x "$BERTHD" ] && daemon_up berthd; then
		reg_push_loaded B berth_load berth_push_to_reg
		daemon_down
	fi
	if command -v skopeo >/dev/null; then
		for e in "${REG_IMAGES[@]}"; do
			S[${e%%:*}]=$(reg_push_series skopeo_push_to_reg "${e#*:}" "${e%%:*}") || S[${e%%:*}]=-
		done
	fi
	if have_dockerd && daemon_up dockerd; then
		reg_push_loaded D docker_load docker_push_to_reg
		daemon_down
	fi
	if command -v podman >/dev/null; then
		PODMAN_DIR=$(mktemp -d /var/tmp/berth-bench-podman.XXXXXX)
		mkdir -p "$PODMAN_DIR/home"
		reg_push_loaded P podman_load podman_push_to_reg
		podman_cmd rmi -af >/dev/null 2>&1
		findmnt -rn -o TARGET | grep "^$PODMAN_DIR" | sort -r | xargs -r umount
		rm -rf "$PODMAN_DIR"
	fi
	for e in "${REG_IMAGES[@]}"; do
		F[${e%%:*}]=$(reg_push_floor_series "${e#*:}" "${e%%:*}" 0) || F[${e%%:*}]=-
		FU[${e%%:*}]=$(reg_push_floor_series "${e#*:}" "${e%%:*}" 1) || FU[${e%%:*}]=-
	done
	for e in "${REG_IMAGES[@]}"; do
		name=${e%%:*}
		b=${B[$name]:--} s=${S[$name]:--} d=${D[$name]:--} p=${P[$name]:--} f=${F[$name]:--} fu=${FU[$name]:--}
		row "push $name (median of $REG_N), s" "$b" "skopeo copy $s" "$(ratio "$b" "$s")"
		row "" "" "docker push (20.10) $d" "$(ratio "$b" "$d")"
		row "" "" "podman push $p" "$(ratio "$b" "$p")"
		row "" "" "gzip -${BENCH_PUSH_LEVEL:-4} + curl floor $f" "$(ratio "$b" "$f")"
		row "" "" "curl of gzipped blobs $fu" "$(ratio "$b" "$fu")"
	done
}
