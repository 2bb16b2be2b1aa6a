# Benchmark of image builds (issue 10), sourced by bench/run.sh (its helpers:
# time_cmd, median, ratio, row, daemon_up/down, have_dockerd).
#
#   build   the 10-step Dockerfile (FROM busybox, ENV, WORKDIR, 3x RUN,
#           2x COPY, LABEL, CMD): a first build (--no-cache, every step
#           runs) and a fully cached rebuild, medians of N, for berth against
#           docker 20.10's classic builder and BuildKit (DOCKER_BUILDKIT=1)
#           on a private dockerd, and podman build (private --root/--runroot,
#           runc), all in the same run. RUN steps use --network none
#           everywhere (no bridge, no iptables rule). A peer that is missing
#           is skipped. Also writes the figures as JSON to
#           $BENCH_DIR/build.json and prints that JSON line.

build_make_ctx()
{
	local c=$BENCH_DIR/buildctx i
	rm -rf "$c"
	mkdir -p "$c/dir"
	head -c 65536 /dev/urandom | base64 >"$c/a.txt"
	for ((i = 0; i < 20; i++)); do head -c 4096 /dev/urandom | base64 >"$c/dir/f$i"; done
	cat >"$c/Dockerfile" <<'EOF'
FROM busybox
ENV APP=/app MODE=bench
WORKDIR /app
COPY a.txt /app/a.txt
RUN echo one > /app/one
COPY dir /app/dir
RUN cat /app/a.txt > /app/two
RUN ls /app/dir | wc -l > /app/count
LABEL bench=build
CMD ["cat", "/app/count"]
EOF
	echo "$c"
}

# build_series CMD...: "first cached" medians of N for CMD [--no-cache] -t bench/build:1 CTX
build_series()
{
	local ctx=$BENCH_DIR/buildctx i t
	local -a f=() c=()
	"$@" --no-cache -t bench/build:1 "$ctx" >/dev/null 2>&1 || { echo "bench: $* build failed" >&2; return 1; }
	for ((i = 0; i < N; i++)); do
		t=$(time_cmd "$@" --no-cache -t bench/build:1 "$ctx") || return 1
		f+=("$t")
		t=$(time_cmd "$@" -t bench/build:1 "$ctx") || return 1
		c+=("$t")
	done
	echo "$(printf '%s\n' "${f[@]}" | median) $(printf '%s\n' "${c[@]}" | median)"
}

build_podman() { podman --root "$BENCH_DIR/podman/root" --runroot "$BENCH_DIR/podman/run" \
	--cgroup-manager cgroupfs --events-backend file --runtime runc "$@"; }

bench_build()
{
	build_make_ctx >/dev/null
	echo "bench: build of a 10-step Dockerfile, first (--no-cache) and cached rebuild, median of $N" >&2
	local bf=- bc=- cf=- cc=- kf=- kc=- pf=- pc=-
	if [ -x "$BERTHD" ] && [ -x "$BERTH_CLI" ] && daemon_up berthd; then
		"$BERTH_CLI" load -q -i "$E2E_FIXTURES/busybox-docker-archive.tar" >/dev/null
		read -r bf bc < <(build_series "$BERTH_CLI" build --network none)
		daemon_down
	fi
	if have_dockerd && daemon_up dockerd; then
		"$DOCKER_CLI_20" load -q -i "$E2E_FIXTURES/busybox-docker-archive.tar" >/dev/null
		read -r cf cc < <(DOCKER_BUILDKIT=0 build_series "$DOCKER_CLI_20" build --network none)
		read -r kf kc < <(DOCKER_BUILDKIT=1 build_series "$DOCKER_CLI_20" build --network none)
		daemon_down
	fi
	if command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1; then
		rm -rf "$BENCH_DIR/podman"
		if build_podman load -q -i "$E2E_FIXTURES/busybox-docker-archive.tar" >/dev/null 2>&1; then
			read -r pf pc < <(build_series build_podman build --network none)
		fi
		build_podman rmi -a -f >/dev/null 2>&1
		rm -rf "$BENCH_DIR/podman"
	fi
	row "build, 10 steps, first (no cache), s" "$bf" "docker classic (20.10) $cf" "$(ratio "$bf" "$cf")"
	row "" "" "docker BuildKit (20.10) $kf" "$(ratio "$bf" "$kf")"
	row "" "" "podman build $pf" "$(ratio "$bf" "$pf")"
	row "build, 10 steps, cached rebuild, s" "$bc" "docker classic (20.10) $cc" "$(ratio "$bc" "$cc")"
	row "" "" "docker BuildKit (20.10) $kc" "$(ratio "$bc" "$kc")"
	row "" "" "podman build $pc" "$(ratio "$bc" "$pc")"
	local js
	js=$(jq -cn --arg n "$N" --arg bf "$bf" --arg bc "$bc" --arg cf "$cf" --arg cc "$cc" --arg kf "$kf" \
		--arg kc "$kc" --arg pf "$pf" --arg pc "$pc" '
		def num: if . == "-" then null else tonumber end;
		def r(a; b): if (a | num) == null or (b | num) == null or (b | num) == 0 then null
			else ((a | num) / (b | num) * 100 | round) / 100 end;
		{benchmark: "build", steps: 10, runs: ($n | tonumber), unit: "s",
		 first: {berth: ($bf | num), docker_classic: ($cf | num), docker_buildkit: ($kf | num), podman: ($pf | num)},
		 cached: {berth: ($bc | num), docker_classic: ($cc | num), docker_buildkit: ($kc | num), podman: ($pc | num)},
		 ratios: {first_vs_classic: r($bf; $cf), first_vs_buildkit: r($bf; $kf), first_vs_podman: r($bf; $pf),
			  cached_vs_classic: r($bc; $cc), cached_vs_buildkit: r($bc; $kc), cached_vs_podman: r($bc; $pc)}}')
	echo "$js" >"$BENCH_DIR/build.json"
	[ -z "${BENCH_JSON_PARTS:-}" ] || echo "$js" >"$BENCH_JSON_PARTS/build.json"
	echo "$js"
}
