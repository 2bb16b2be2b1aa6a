# Speed and weight (issue 13), sourced by bench/run.sh: `bench/run.sh core`.
# Each figure against the floor and the peers, measured in this one run:
#   run    `run --rm --network none busybox true`, median of RUN_N, against
#          `runc run` of the same bundle (the floor; the config.json berthd
#          generated), `crun run` of it where crun works (skipped with crun's
#          own reason where it refuses the host), docker 20.10 and podman
#          (runc, private root)
#   weight daemon RSS idle, after 50 images + 20 containers; RSS and PSS
#          each running container adds (shim + daemon growth), vs dockerd
#   scale  1,000 containers (100 running): GET /containers/json?all=1
#          latency, ps (-f id=)/inspect/start/rm of one at 1,000 vs at 1
#          (and ps -a listing all 1,000, which cannot be flat), 100
#          parallel `run -d` vs 100 parallel `runc run -d` of the same
#          bundle, docker's three bind mounts included (the floor; the
#          bursts alternate, BENCH_PAR_ROUNDS of each, medians),
#          `rm -f` of 20 running (parallel in both CLIs, median of -n)
#          vs docker, list throughput
#          with 20 containers vs dockerd, cold start to the first /_ping
#          with 1,000 containers on disk
# The berthd --debug phase timings of a `run --rm` are printed after the
# table (the mean of each phase over the runs).

CORE_MANY=${BENCH_CORE_MANY:-1000}
CORE_RUNNING=${BENCH_CORE_RUNNING:-100}
# BENCH_CORE_PARTS: which parts to measure ("run weight scale" by default;
# run and weight share their daemons, so either one measures both)
CORE_PARTS=${BENCH_CORE_PARTS:-run weight scale}
# rounds of the parallel run figure (a burst of the runtime's and one of
# berth's each; medians), and the pause after a burst's removal
PAR_ROUNDS=${BENCH_PAR_ROUNDS:-5}
PAR_SETTLE=${BENCH_PAR_SETTLE:-2}
core_part() { [[ " $CORE_PARTS " == *" $1 "* ]]; }
core_run_part() { core_part run || core_part weight; }

# core_http SECONDS PATH: closed-loop keep-alive GETs on the daemon socket;
# prints "<req/s> <median ms>"
core_http()
{
	python3 - "$E2E_SOCK" "$2" "$1" <<'PY'
import socket, sys, time
sock, path, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
req = ("GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path).encode()
f = s.makefile("rb")
lat = []
end = time.monotonic() + secs
while time.monotonic() < end or not lat:
    t = time.monotonic()
    s.sendall(req)
    n, chunked = 0, False
    while True:
        h = f.readline()
        if h in (b"\r\n", b""):
            break
        k, _, v = h.decode().partition(":")
        if k.lower() == "content-length":
            n = int(v)
        if k.lower() == "transfer-encoding" and "chunked" in v:
            chunked = True
    if chunked:
        while True:
            sz = int(f.readline().strip(), 16)
            f.read(sz + 2)
            if sz == 0:
                break
    else:
        f.read(n)
    lat.append(time.monotonic() - t)
lat.sort()
print("%.0f %.3f" % (len(lat) / sum(lat), lat[len(lat) // 2] * 1000))
PY
}

# median seconds of RUN_N runs of CMD...
core_median() { local i s=(); for ((i = 0; i < RUN_N; i++)); do s+=("$(time_cmd "$@")"); done; printf '%s\n' "${s[@]}" | median; }

# core_cold_start: stop the daemon, start it again on the same roots; ms
# from exec to the first answered /_ping
core_cold_start()
{
	local pid
	pid=$(cat "$E2E_PIDFILE" 2>/dev/null || echo "$E2E_DAEMON_PID")
	kill -TERM "$pid" 2>/dev/null
	_e2e_wait_gone 600 "$pid"
	local -a cmd
	# shellcheck disable=SC1091
	. "$E2E_TMP/daemon.cmd"
	rm -f "$E2E_SOCK" "$E2E_PIDFILE"
	python3 - "$E2E_SOCK" "$E2E_LOG" "$E2E_TMP/daemon.spawned-pid" "${cmd[@]}" <<'PY'
import os, socket, subprocess, sys, time
sock, log, pidf, cmd = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
t0 = time.monotonic()
p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)
open(pidf, "w").write("%d\n" % p.pid)
while time.monotonic() - t0 < 60:
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock)
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        if s.recv(64).startswith(b"HTTP/1.1 200"):
            print("%.1f" % ((time.monotonic() - t0) * 1000))
            break
    except OSError:
        time.sleep(0.0005)
    finally:
        s.close()
else:
    print("-")
PY
	E2E_DAEMON_PID=$(cat "$E2E_TMP/daemon.spawned-pid")
}

# core_bundle DIR SPEC ARGS CGROUP: DIR/config.json from berthd's SPEC over
# DIR/rootfs, running ARGS (split on spaces), in CGROUP ("": the runtime's)
core_bundle()
{
	python3 - "$@" <<'PY'
import json, os, sys
d, spec, args, cg = sys.argv[1:5]
c = json.load(open(spec))
c["root"] = {"path": os.path.join(d, "rootfs"), "readonly": False}
c["process"]["terminal"] = False
c["process"]["args"] = args.split()
# docker's three files, as raw_runc_series gives them: the same bundle does
# the same mounts
for name, text in (("hosts", "127.0.0.1\tlocalhost\n"), ("hostname", "bench\n"), ("resolv.conf", open("/etc/resolv.conf").read())):
    open(os.path.join(d, name), "w").write(text)
for m in c.get("mounts", []):
    if m.get("type") == "bind" and m["destination"] in ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf"):
        m["source"] = os.path.join(d, os.path.basename(m["destination"]))
if cg:
    c["linux"]["cgroupsPath"] = cg
else:
    c["linux"].pop("cgroupsPath", None)
json.dump(c, open(os.path.join(d, "config.json"), "w"))
PY
}

# raw_par_bundle SPEC: the bundle of the runtime's parallel bursts (the
# busybox rootfs, berthd's SPEC running a sleep); prints its directory
raw_par_bundle()
{
	local dir
	dir=$(mktemp -d /var/tmp/berth-bench-runcp.XXXXXX)
	mkdir -p "$dir/rootfs"
	tar -C "$dir/rootfs" -xf "$E2E_FIXTURES/busybox-rootfs.tar"
	core_bundle "$dir" "$1" "sleep 3600" ""
	echo "$dir"
}

# raw_par_burst DIR STATE N: N `runc run -d` of the bundle at once; seconds
# until all returned; then deletes them (one by one, not timed)
raw_par_burst()
{
	local dir=$1 st=$2 n=$3 i t0 t1
	t0=$(now_ns)
	for ((i = 0; i < n; i++)); do
		runc --root "$st" run -d --bundle "$dir" "p$i" </dev/null >/dev/null 2>&1 &
	done
	wait
	t1=$(now_ns)
	for ((i = 0; i < n; i++)); do
		runc --root "$st" delete -f "p$i" >/dev/null 2>&1
	done
	secs_between "$t0" "$t1"
}

# crun where it works: its own error otherwise (this host: a controller on
# the cgroup2 mount)
crun_series()
{
	local spec=$1 dir st out
	command -v crun >/dev/null 2>&1 || { echo "- crun not installed"; return; }
	dir=$(mktemp -d /var/tmp/berth-bench-crun.XXXXXX)
	st=$(bench_state_dir)
	mkdir -p "$dir/rootfs"
	tar -C "$dir/rootfs" -xf "$E2E_FIXTURES/busybox-rootfs.tar"
	core_bundle "$dir" "$spec" true /berth-bench/crun
	if ! out=$(crun --root "$st" run --bundle "$dir" crunprobe 2>&1 </dev/null); then
		crun --root "$st" delete -f crunprobe >/dev/null 2>&1
		rm -rf "$dir" "$st"
		rmdir /sys/fs/cgroup/*/berth-bench/crun /sys/fs/cgroup/*/berth-bench 2>/dev/null
		echo "- crun refuses: $(printf '%s' "$out" | tail -n 1 | cut -c1-60)"
		return
	fi
	local i s=()
	for ((i = 0; i < RUN_N; i++)); do
		s+=("$(time_cmd crun --root "$st" run --bundle "$dir" "c$i")")
	done
	rm -rf "$dir" "$st"
	rmdir /sys/fs/cgroup/*/berth-bench/crun /sys/fs/cgroup/*/berth-bench 2>/dev/null
	echo "$(printf '%s\n' "${s[@]}" | median) crun"
}

# podman with runc on a private root (never the host's storage)
podman_series()
{
	command -v podman >/dev/null 2>&1 || { echo "- not installed"; return; }
	local d st
	d=$(mktemp -d /var/tmp/berth-bench-podman.XXXXXX)
	st=$(bench_state_dir)
	# its own HOME: podman writes ~/.config/containers, and the HOME the
	# e2e helpers exported belonged to a daemon already stopped
	local -a p=(env HOME="$d/home" podman --root "$d/root" --runroot "$st" --runtime runc --cgroup-manager cgroupfs
		--events-backend none)
	# podman raises nofile/nproc to the host's hard limits, which runc may not
	# set here ("error setting rlimit type 6"): fixed, modest limits
	local -a r=(run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 busybox true)
	if ! "${p[@]}" load -q -i "$E2E_FIXTURES/busybox-docker-archive.tar" >/dev/null 2>&1 ||
		! "${p[@]}" "${r[@]}" >/dev/null 2>&1; then
		echo "- podman run failed here"
	else
		echo "$(core_median "${p[@]}" "${r[@]}") ok"
	fi
	"${p[@]}" system reset -f >/dev/null 2>&1
	umount -R "$d/root/overlay" 2>/dev/null
	rm -rf "$d" "$st"
}

# core_rss_map PID: where a process's RSS is, by mapping (each shared
# library, the executable, [heap], other anonymous memory: malloc arenas and
# thread stacks), KiB, largest first
core_rss_map()
{
	awk '/^[0-9a-f]+-[0-9a-f]+ / { n = split($6, p, "/"); m = NF >= 6 ? p[n] : "[anon]" }
	     /^Rss:/ { kb[m] += $2 }
	     END { for (m in kb) if (kb[m] > 0) printf "  %6d KiB  %s\n", kb[m], m }' "/proc/$1/smaps" 2>/dev/null |
		sort -rn | head -n 16
}

# mean of each phase of the `timings start|exit|remove` lines in the log
core_phases()
{
	grep -oE "timings (start|exit|remove) [0-9a-f]{12}: .*" "$1" | sed 's/"$//' | awk '
	{ op = $2; sub(/^[^:]*: /, ""); n = split($0, ph, ", ")
	  for (i = 1; i <= n; i++) { m = split(ph[i], w, " "); name = op ": " w[1]; for (j = 2; j < m - 1; j++) name = name " " w[j]
	    if (!(name in sum)) order[++k] = name; sum[name] += w[m - 1]; cnt[name]++ } }
	END { for (i = 1; i <= k; i++) printf "  %-40s %9.0f us\n", order[i], sum[order[i]] / cnt[order[i]] }'
}

# core_starts CLI: median seconds of `start` of RUN_N created containers
# (each a first start: a restarted `true` may still run, a no-op), then
# removes them
core_starts()
{
	local cli=$1 i ids=() t=()
	for ((i = 0; i < RUN_N; i++)); do ids+=("$("$cli" create --network none busybox true)"); done
	for i in "${ids[@]}"; do t+=("$(time_cmd "$cli" start "$i")"); done
	"$cli" rm -f "${ids[@]}" >/dev/null 2>&1
	printf '%s\n' "${t[@]}" | median
}

# core_scale [SPEC]: the scale figures of the daemon up, as key=value lines;
# with berthd's SPEC (a config.json) the runtime's parallel bursts alternate
# with berth's
core_scale()
{
	local spec=${1:-} cli t id ids=() i
	cli=$(cli_for)
	"$cli" load -q -i "$E2E_FIXTURES/busybox-docker-archive.tar" >/dev/null 2>&1
	# at 1 container
	id=$("$cli" create --network none busybox true)
	echo "ps1=$(core_median "$cli" ps -a)"
	echo "psone1=$(core_median "$cli" ps -a --filter "id=$id")"
	echo "inspect1=$(core_median "$cli" inspect "$id")"
	echo "list1=$(core_http 2 '/containers/json?all=1' | awk '{ print $2 }')"
	"$cli" rm -f "$id" >/dev/null
	echo "start1=$(core_starts "$cli")"
	ids=()
	for ((i = 0; i < RUN_N; i++)); do ids+=("$("$cli" create --network none busybox true)"); done
	t=(); for id in "${ids[@]}"; do t+=("$(time_cmd "$cli" rm "$id")"); done
	echo "rm1=$(printf '%s\n' "${t[@]}" | median)"
	# rm -f of 20 running containers (both CLIs remove in parallel), median of
	# -n rounds (each round runs 20 containers first)
	local r rms=()
	for ((r = 0; r < N; r++)); do
		ids=()
		for ((i = 0; i < 20; i++)); do ids+=("$("$cli" run -d --network none busybox sleep 3600)"); done
		rms+=("$(time_cmd "$cli" rm -f "${ids[@]}")")
	done
	echo "rm20=$(printf '%s\n' "${rms[@]}" | median)"
	# 20 containers: list throughput
	for ((i = 0; i < 20; i++)); do "$cli" create --network none busybox true >/dev/null; done
	echo "list20=$(core_http 3 '/containers/json?all=1')" | tr ' ' '/'
	[ "$E2E_TARGET" = berthd ] || return 0
	# 100 parallel run -d against 100 parallel `runc run -d` of the same
	# bundle: PAR_ROUNDS rounds, each a burst of the runtime's then one of
	# berth's, so that a slow minute of the host weighs on both; every
	# burst starts PAR_SETTLE s after the last one's containers went (the
	# kernel finishes tearing them down in the background). Medians; the
	# last berth burst's containers stay running
	local t0 t1 pars=() raws=() out rdir rst
	out=$(mktemp /var/tmp/berth-bench-par.XXXXXX)
	if [ -s "$spec" ]; then
		rdir=$(raw_par_bundle "$spec")
		rst=$(bench_state_dir)
	fi
	for ((r = 0; r < PAR_ROUNDS; r++)); do
		if [ -n "$rdir" ]; then
			raws+=("$(raw_par_burst "$rdir" "$rst" "$CORE_RUNNING")")
			sleep "$PAR_SETTLE"
		fi
		: >"$out"
		t0=$(now_ns)
		for ((i = 0; i < CORE_RUNNING; i++)); do "$cli" run -d --network none busybox sleep 3600 >>"$out" & done
		wait
		t1=$(now_ns)
		pars+=("$(secs_between "$t0" "$t1")")
		if ((r + 1 < PAR_ROUNDS)); then
			xargs -r "$cli" rm -f <"$out" >/dev/null
			sleep "$PAR_SETTLE"
		fi
	done
	rm -f "$out"
	if [ -n "$rdir" ]; then
		rm -rf "$rdir" "$rst"
		echo "par_raw=$(printf '%s\n' "${raws[@]}" | median)"
		echo "par_rounds=$(paste -d/ <(printf '%s\n' "${raws[@]}") <(printf '%s\n' "${pars[@]}") | tr '\n' ' ')"
	fi
	echo "par_run=$(printf '%s\n' "${pars[@]}" | median)"
	# up to CORE_MANY, created (xargs: 4 at a time)
	local have
	have=$(("$CORE_RUNNING" + 20))
	seq $((CORE_MANY - have)) | xargs -P 4 -I{} "$cli" create --network none busybox true >/dev/null
	echo "count=$(curl -s --unix-socket "$E2E_SOCK" 'http://localhost/containers/json?all=1' | jq length)"
	echo "listN=$(core_http 2 '/containers/json?all=1' | awk '{ print $2 }')"
	id=$("$cli" create --network none busybox true)
	echo "psN=$(core_median "$cli" ps -a)"
	echo "psoneN=$(core_median "$cli" ps -a --filter "id=$id")"
	echo "inspectN=$(core_median "$cli" inspect "$id")"
	"$cli" rm -f "$id" >/dev/null
	echo "startN=$(core_starts "$cli")"
	ids=()
	for ((i = 0; i < RUN_N; i++)); do ids+=("$("$cli" create --network none busybox true)"); done
	t=(); for id in "${ids[@]}"; do t+=("$(time_cmd "$cli" rm "$id")"); done
	echo "rmN=$(printf '%s\n' "${t[@]}" | median)"
	# cold start with them on disk (the running ones removed first)
	"$cli" ps -q | xargs -r "$cli" rm -f >/dev/null
	echo "cold=$(core_cold_start)"
}

bench_core()
{
	echo "bench: core (issue 13): run floor, weight, scale; median of $RUN_N" >&2
	local spec b_run=- raw=- crun=- crun_note="not measured (BENCH_CORE_PARTS)" d_run=- pod=- pod_note
	local b_det="- - - - -" d_det="- - - - -" b_img=- d_img=-
	local bl dl
	spec=$(mktemp /var/tmp/berth-bench-spec.XXXXXX)
	rm -f "$BENCH_DIR/core-rss.txt"
	if ! core_run_part && daemon_up berthd; then
		"$BERTH_CLI" load -q -i "$E2E_FIXTURES/busybox-docker-archive.tar" >/dev/null 2>&1
		berth_spec "$spec" || echo "bench: could not get berthd's spec" >&2
		daemon_down
	fi
	local b_start=- d_start=-
	if core_run_part && daemon_up berthd; then
		sleep 1
		b_start=$(daemon_rss)
		b_run=$(run_series)
		core_phases "$E2E_LOG" >"$BENCH_DIR/core-phases.txt"
		b_det=$(detached_series)
		berth_spec "$spec" || echo "bench: could not get berthd's spec" >&2
		for f in "$BENCH_DIR"/small-*.tar; do "$BERTH_CLI" load -q -i "$f" >/dev/null 2>&1; done
		for ((i = 0; i < 20; i++)); do "$BERTH_CLI" create --network none busybox true >/dev/null; done
		sleep 4 # idle: berthd returns freed memory within 3 s of its last request
		b_img=$(daemon_rss)
		core_rss_map "$E2E_DAEMON_PID" >"$BENCH_DIR/core-rss.txt"
		daemon_down
	fi
	if core_part scale && daemon_up berthd; then
		bl=$(core_scale "$spec")
		daemon_down
	fi
	if [ -s "$spec" ] && core_run_part; then
		raw=$(raw_runc_series "$spec")
		read -r crun crun_note < <(crun_series "$spec")
	fi
	rm -f "$spec"
	if core_run_part && have_dockerd && daemon_up dockerd; then
		sleep 1
		d_start=$(daemon_rss)
		d_run=$(run_series)
		d_det=$(detached_series)
		for f in "$BENCH_DIR"/small-*.tar; do "$DOCKER_CLI_20" load -q -i "$f" >/dev/null 2>&1; done
		for ((i = 0; i < 20; i++)); do "$DOCKER_CLI_20" create --network none busybox true >/dev/null; done
		sleep 4
		d_img=$(daemon_rss)
		daemon_down
	fi
	if core_part scale && have_dockerd && daemon_up dockerd; then
		dl=$(core_scale)
		daemon_down
	fi
	pod_note="not measured (BENCH_CORE_PARTS)"
	core_run_part && read -r pod pod_note < <(podman_series)
	local b_rt b_rm b_idle b_per b_pss d_rt d_rm d_idle d_per d_pss
	read -r b_rt b_rm b_idle b_per b_pss <<<"$b_det"
	read -r d_rt d_rm d_idle d_per d_pss <<<"$d_det"
	kv() { printf '%s\n' "$1" | awk -F= -v k="$2" '$1 == k { print $2 }' | tail -n 1; }
	row "run --rm --network none busybox true, s" "$b_run" "runc run, same bundle (floor) $raw" "$(ratio "$b_run" "$raw")"
	if [ "$crun" = - ]; then
		row "" "" "crun: skipped ($crun_note)" "-"
	else
		row "" "" "crun run, same bundle $crun" "$(ratio "$b_run" "$crun")"
	fi
	row "" "" "docker run (20.10) $d_run" "$(ratio "$b_run" "$d_run")"
	if [ "$pod" = - ]; then
		row "" "" "podman: skipped ($pod_note)" "-"
	else
		row "" "" "podman run (runc) $pod" "$(ratio "$b_run" "$pod")"
	fi
	row "daemon RSS idle after start" "$(mib "$b_start")" "dockerd+containerd $(mib "$d_start")" "$(ratio "$b_start" "$d_start")"
	row "daemon RSS idle after 20 run --rm" "$(mib "$b_idle")" "dockerd+containerd $(mib "$d_idle")" "$(ratio "$b_idle" "$d_idle")"
	row "daemon RSS, 50 images + 20 containers" "$(mib "$b_img")" "dockerd+containerd $(mib "$d_img")" "$(ratio "$b_img" "$d_img")"
	row "RSS added per running container" "$(mib "$b_per")" "docker 20.10 $(mib "$d_per")" "$(ratio "$b_per" "$d_per")"
	row "PSS added per running container" "$(mib "$b_pss")" "docker 20.10 $(mib "$d_pss")" "$(ratio "$b_pss" "$d_pss")"
	row "20 x run -d sleep, s" "$b_rt" "docker 20.10 $d_rt" "$(ratio "$b_rt" "$d_rt")"
	row "rm -f of those 20 (parallel CLI), s" "$b_rm" "docker 20.10 $d_rm" "$(ratio "$b_rm" "$d_rm")"
	local b20 d20
	b20=$(kv "$bl" list20 | cut -d/ -f1)
	d20=$(kv "$dl" list20 | cut -d/ -f1)
	row "containers/json?all=1, 20 ctrs, req/s" "$b20" "docker 20.10 $d20" "$(ratio "$b20" "$d20")"
	row "rm -f of 20 running (parallel CLI), s" "$(kv "$bl" rm20)" "docker 20.10 $(kv "$dl" rm20)" \
		"$(ratio "$(kv "$bl" rm20)" "$(kv "$dl" rm20)")"
	local raw_par
	raw_par=$(kv "$bl" par_raw)
	row "$CORE_RUNNING parallel run -d, s" "$(kv "$bl" par_run)" "$CORE_RUNNING parallel runc run -d ${raw_par:--}" \
		"$(ratio "$(kv "$bl" par_run)" "${raw_par:--}")"
	row "containers at scale (created/100 running)" "$(kv "$bl" count)" "" ""
	row "containers/json?all=1 at $CORE_MANY, ms" "$(kv "$bl" listN)" "the same at 1 $(kv "$bl" list1)" \
		"$(ratio "$(kv "$bl" listN)" "$(kv "$bl" list1)")"
	row "ps -a -f id=<one> at $CORE_MANY, s" "$(kv "$bl" psoneN)" "the same at 1 $(kv "$bl" psone1)" \
		"$(ratio "$(kv "$bl" psoneN)" "$(kv "$bl" psone1)")"
	row "ps -a (all $CORE_MANY listed), s" "$(kv "$bl" psN)" "ps -a of 1 $(kv "$bl" ps1)" \
		"$(ratio "$(kv "$bl" psN)" "$(kv "$bl" ps1)")"
	row "inspect at $CORE_MANY, s" "$(kv "$bl" inspectN)" "the same at 1 $(kv "$bl" inspect1)" \
		"$(ratio "$(kv "$bl" inspectN)" "$(kv "$bl" inspect1)")"
	row "start at $CORE_MANY, s" "$(kv "$bl" startN)" "the same at 1 $(kv "$bl" start1)" \
		"$(ratio "$(kv "$bl" startN)" "$(kv "$bl" start1)")"
	row "rm at $CORE_MANY, s" "$(kv "$bl" rmN)" "the same at 1 $(kv "$bl" rm1)" "$(ratio "$(kv "$bl" rmN)" "$(kv "$bl" rm1)")"
	row "cold start to /_ping, $CORE_MANY on disk, ms" "$(kv "$bl" cold)" "" ""
	[ -n "$(kv "$bl" par_rounds)" ] &&
		NOTES+=("$CORE_RUNNING parallel run -d, each round's bursts (runc run -d/berth run -d), s: $(kv "$bl" par_rounds)")
	if core_run_part && [ -s "$BENCH_DIR/core-rss.txt" ]; then
		NOTES+=("berthd RSS by mapping after 50 images + 20 containers:" "$(cat "$BENCH_DIR/core-rss.txt")")
	fi
	if [ -s "$BENCH_DIR/core-phases.txt" ]; then
		NOTES+=("berthd --debug phase timings of run --rm (mean over the runs):" "$(cat "$BENCH_DIR/core-phases.txt")")
	fi
}
