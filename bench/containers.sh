# Container benchmarks (issue 3), sourced by bench/run.sh: `bench/run.sh run`.
# In one run: `run --rm --network none busybox true` through berth, a raw
# `runc run` of an equivalent bundle (the floor), and docker 20.10 on a
# private dockerd; 20 sequential `run -d ... sleep 3600` and `rm -f` of them;
# daemon RSS idle and the RSS each running container adds.

RUN_N=${BENCH_RUN_N:-20}

# one CLI invocation against the daemon the harness started
cli_for() { if [ "$E2E_TARGET" = dockerd ]; then echo "$DOCKER_CLI_20"; else echo "$BERTH_CLI"; fi; }

# Sum of RSS (KiB) of processes whose command line mentions $1.
rss_matching()
{
	local total=0 p
	for p in $(pgrep -f "$1" 2>/dev/null); do
		total=$((total + $(rss_kib "$p" || echo 0)))
	done
	echo "$total"
}

run_series()
{
	local cli samples=() i t
	cli=$(cli_for)
	"$cli" load -q -i "$E2E_FIXTURES/busybox-docker-archive.tar" >/dev/null 2>&1
	"$cli" run --rm --network none busybox true >/dev/null 2>&1 # warm up
	for ((i = 0; i < RUN_N; i++)); do
		t=$(time_cmd "$cli" run --rm --network none busybox true) && samples+=("$t")
	done
	printf '%s\n' "${samples[@]}" | median
}

# 20 x run -d sleep, then rm -f of them all; RSS per running container.
detached_series()
{
	local cli t0 t1 ids=() i idle after shim_rss=0 run_t rm_t
	cli=$(cli_for)
	sleep 1
	idle=$(daemon_rss)
	t0=$(now_ns)
	for ((i = 0; i < 20; i++)); do
		ids+=("$("$cli" run -d --network none busybox sleep 3600)")
	done
	t1=$(now_ns)
	run_t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }')
	sleep 1
	after=$(daemon_rss)
	if [ "$E2E_TARGET" = berthd ]; then
		shim_rss=$(rss_matching "berth-shim.*$E2E_EXEC")
	else
		shim_rss=$(rss_matching "containerd-shim")
	fi
	t0=$(now_ns)
	"$cli" rm -f "${ids[@]}" >/dev/null 2>&1
	t1=$(now_ns)
	rm_t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }')
	# KiB added per container: daemon growth + its monitor processes
	echo "$run_t $rm_t $idle $(((after - idle + shim_rss) / 20))"
}

raw_runc_series()
{
	local dir samples=() i t
	dir=$(mktemp -d /var/tmp/berth-bench-runc.XXXXXX)
	mkdir -p "$dir/rootfs" "$dir/state"
	tar -C "$dir/rootfs" -xf "$E2E_FIXTURES/busybox-rootfs.tar"
	(cd "$dir" && runc spec)
	python3 - "$dir/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["true"]
c["linux"]["cgroupsPath"] = "/berth-bench/raw"
json.dump(c, open(p, "w"))
PY
	for ((i = 0; i < RUN_N; i++)); do
		t=$(time_cmd runc --root "$dir/state" run --bundle "$dir" "bench$i") && samples+=("$t")
	done
	rm -rf "$dir"
	rmdir /sys/fs/cgroup/*/berth-bench/raw /sys/fs/cgroup/*/berth-bench 2>/dev/null
	printf '%s\n' "${samples[@]}" | median
}

bench_run()
{
	if [ ! -x "$BERTH_CLI" ] || ! "$BERTH_CLI" run --help >/dev/null 2>&1; then
		row "run --rm busybox true" "-" "needs berth run" "-"
		return 0
	fi
	echo "bench: container runs (median of $RUN_N)" >&2
	local b_run=- d_run=- raw b_det="- - - -" d_det="- - - -"
	raw=$(raw_runc_series)
	if daemon_up berthd; then
		b_run=$(run_series)
		b_det=$(detached_series)
		daemon_down
	fi
	if have_dockerd && daemon_up dockerd; then
		d_run=$(run_series)
		d_det=$(detached_series)
		daemon_down
	fi
	local b_rt b_rm b_idle b_per d_rt d_rm d_idle d_per
	read -r b_rt b_rm b_idle b_per <<<"$b_det"
	read -r d_rt d_rm d_idle d_per <<<"$d_det"
	row "run --rm --network none busybox true, s" "$b_run" "raw runc run $raw" "$(ratio "$b_run" "$raw")"
	row "" "" "docker run (20.10) $d_run" "$(ratio "$b_run" "$d_run")"
	if command -v podman >/dev/null 2>&1; then
		row "" "" "podman: installed, not measured here" "-"
	else
		row "" "" "podman: not installed" "-"
	fi
	row "20 x run -d sleep 3600, s" "$b_rt" "docker 20.10 $d_rt" "$(ratio "$b_rt" "$d_rt")"
	row "rm -f of those 20, s" "$b_rm" "docker 20.10 $d_rm" "$(ratio "$b_rm" "$d_rm")"
	row "daemon RSS idle" "$(mib "$b_idle")" "dockerd+containerd $(mib "$d_idle")" "$(ratio "$b_idle" "$d_idle")"
	row "RSS added per running container" "$(mib "$b_per")" "docker 20.10 $(mib "$d_per")" "$(ratio "$b_per" "$d_per")"
}
