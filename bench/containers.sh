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

# Sum of PSS (KiB) of the same: what they cost, shared library pages split
# between the processes that map them.
pss_matching()
{
	local total=0 p v
	for p in $(pgrep -f "$1" 2>/dev/null); do
		v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
		total=$((total + ${v:-0}))
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
	sleep 4 # berthd returns freed memory within 3 s of its last request
	idle=$(daemon_rss)
	t0=$(now_ns)
	for ((i = 0; i < 20; i++)); do
		ids+=("$("$cli" run -d --network none busybox sleep 3600)")
	done
	t1=$(now_ns)
	run_t=$(secs_between "$t0" "$t1")
	sleep 4
	after=$(daemon_rss)
	local pat="containerd-shim.*$E2E_EXEC"
	[ "$E2E_TARGET" = berthd ] && pat="berth-shim.*$E2E_EXEC"
	shim_rss=$(rss_matching "$pat")
	local shim_pss
	shim_pss=$(pss_matching "$pat")
	t0=$(now_ns)
	"$cli" rm -f "${ids[@]}" >/dev/null 2>&1
	t1=$(now_ns)
	rm_t=$(secs_between "$t0" "$t1")
	# KiB added per container: daemon growth + its monitor processes
	echo "$run_t $rm_t $idle $(((after - idle + shim_rss) / 20)) $(((after - idle + shim_pss) / 20))"
}

# raw_runc_series [CONFIG_JSON]: `runc run` of a bundle over the busybox rootfs,
# medians of RUN_N. With CONFIG_JSON (the config.json berthd generated for a
# `run --network none busybox` container: docker's mounts, capabilities,
# seccomp, masked paths...) it is the equivalent bundle, the floor; without,
# `runc spec`'s minimal default.
raw_runc_series()
{
	local dir st samples=() i t spec=${1:-}
	dir=$(mktemp -d /var/tmp/berth-bench-runc.XXXXXX)
	st=$(bench_state_dir)
	mkdir -p "$dir/rootfs"
	tar -C "$dir/rootfs" -xf "$E2E_FIXTURES/busybox-rootfs.tar"
	if [ -n "$spec" ]; then
		cp "$spec" "$dir/config.json"
	else
		(cd "$dir" && runc spec)
	fi
	printf '127.0.0.1\tlocalhost\n' >"$dir/hosts"
	echo bench >"$dir/hostname"
	cp /etc/resolv.conf "$dir/resolv.conf"
	python3 - "$dir" <<'PY'
import json, os, sys
d = sys.argv[1]
p = os.path.join(d, "config.json")
c = json.load(open(p))
c["root"] = {"path": os.path.join(d, "rootfs"), "readonly": c.get("root", {}).get("readonly", False)}
c["process"]["terminal"] = False
c["process"]["args"] = ["true"]
c["linux"]["cgroupsPath"] = "/berth-bench/raw"
for m in c.get("mounts", []):
    if m.get("type") == "bind" and m["destination"] in ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf"):
        m["source"] = os.path.join(d, os.path.basename(m["destination"]))
json.dump(c, open(p, "w"))
PY
	for ((i = 0; i < RUN_N; i++)); do
		t=$(time_cmd runc --root "$st" run --bundle "$dir" "bench$i") && samples+=("$t")
	done
	rm -rf "$dir" "$st"
	rmdir /sys/fs/cgroup/*/berth-bench/raw /sys/fs/cgroup/*/berth-bench 2>/dev/null
	printf '%s\n' "${samples[@]}" | median
}

# The OCI spec berthd writes for `run --network none busybox` (copied out of
# the state dir of a running container).
berth_spec()
{
	local cli id
	cli=$(cli_for)
	id=$("$cli" run -d --network none busybox sleep 3600) || return 1
	cp "$E2E_EXEC/containers/$id/config.json" "$1"
	"$cli" rm -f "$id" >/dev/null 2>&1
}

bench_run()
{
	if [ ! -x "$BERTH_CLI" ] || ! "$BERTH_CLI" run --help >/dev/null 2>&1; then
		row "run --rm busybox true" "-" "needs berth run" "-"
		return 0
	fi
	echo "bench: container runs (median of $RUN_N)" >&2
	local b_run=- d_run=- raw=- raw_min b_det="- - - - -" d_det="- - - - -" spec
	spec=$(mktemp /var/tmp/berth-bench-spec.XXXXXX)
	if daemon_up berthd; then
		b_run=$(run_series)
		b_det=$(detached_series)
		berth_spec "$spec" || echo "bench: could not get berthd's spec" >&2
		daemon_down
	fi
	[ -s "$spec" ] && raw=$(raw_runc_series "$spec")
	rm -f "$spec"
	raw_min=$(raw_runc_series)
	if have_dockerd && daemon_up dockerd; then
		d_run=$(run_series)
		d_det=$(detached_series)
		daemon_down
	fi
	local b_rt b_rm b_idle b_per b_pss d_rt d_rm d_idle d_per d_pss
	read -r b_rt b_rm b_idle b_per b_pss <<<"$b_det"
	read -r d_rt d_rm d_idle d_per d_pss <<<"$d_det"
	row "run --rm --network none busybox true, s" "$b_run" "runc run, same bundle $raw" "$(ratio "$b_run" "$raw")"
	row "" "" "runc run, runc spec bundle $raw_min" "$(ratio "$b_run" "$raw_min")"
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
	row "  the same counted as PSS (shared pages split)" "$(mib "$b_pss")" "docker 20.10 $(mib "$d_pss")" \
		"$(ratio "$b_pss" "$d_pss")"
}
