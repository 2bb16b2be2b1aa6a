#!/usr/bin/env bash
# Berth benchmarks against its peers, measured in the same run on this machine,
# reported as medians and ratios. Never run in CI (numbers, not assertions).
#
#   bench/run.sh [AREA...] [-n N] [-o FILE.json]     (no AREA: all)
#
# An AREA is a bench_<AREA> function (load, rss here; run, cp, commit, core,
# ... from the area scripts) or the name of an area script: every
# bench/<name>.sh without a #! line is sourced and adds bench_* functions
# (its rows go through row()); one with a #! line runs on its own
# (`bench/<name>.sh`, its output printed after the table). Areas may add JSON
# of their own as $BENCH_JSON_PARTS/<name>.json; the run writes one JSON file
# (-o, default $BENCH_DIR/bench.json): every row with its area, and the parts.
#
#   load  `berth load` of a ~100 MB docker-archive vs `tar -xf` of the same
#         layers (the floor) vs `docker load` on a private dockerd 20.10
#   rss   berthd idle RSS after start and after loading 50 images
#         (dockerd + its containerd in the same conditions, when installed)
#   run   container start, 20 detached runs + rm -f, RSS per container (issue 3)
#   cp, commit  files in and out of containers (issue 4): see bench/files.sh
#   net   networking (issue 8): run on the bridge vs --network none, published
#         port throughput (proxy, DNAT, direct), 100 containers on a bridge:
#         see bench/network.sh
#   logging  lines/s through json-file, local, syslog (udp), awslogs vs docker
#         run with the same drivers; stalled-endpoint write latency: bench/logging.sh
#   build a 10-step Dockerfile, first and cached, vs docker classic, BuildKit,
#         podman (issue 10): see bench/build.sh
#   core  speed and weight (issue 13): run vs the raw runtimes, RSS, 1,000
#         containers, cold start: see bench/core.sh
#   api   API server: RSS with 2,000 idle connections, containers/json req/s
#         with 1 and 50 clients vs dockerd (bench/api.sh, its own program)
#   security  containers/json over TLS vs unix socket (berthd, dockerd), the
#         per-request cost of one authz plugin (bench/security.sh, its own program)
#
# Environment: BERTHD, BERTH_CLI (default build/src/...), BENCH_DIR (image
# cache, default /var/tmp/berth-bench), BENCH_N (iterations, default 5),
# BENCH_DOCKERD=0 to leave dockerd out.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

areas=()
N=${BENCH_N:-5}
BENCH_DIR=${BENCH_DIR:-/var/tmp/berth-bench}
json_out=$BENCH_DIR/bench.json
while [ $# -gt 0 ]; do
	case $1 in
	-n) N=$2; shift ;;
	-o) json_out=$2; shift ;;
	-h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d' >&2; exit 0 ;;
	-*) echo "usage: $0 [AREA...] [-n N] [-o FILE.json]" >&2; exit 2 ;;
	*) areas+=("$1") ;;
	esac
	shift
done

export E2E_ROOT=$root
# Runtime state lives on tmpfs, as /run is on a standard Debian host (here
# it is not): the daemons' exec roots (tests/e2e/helpers.bash mounts one),
# the raw runtimes' --root and podman's --runroot. Data roots stay on disk.
export E2E_EXEC_TMPFS=1
bench_state_dir() { mktemp -d /dev/shm/berth-bench-state.XXXXXX; }
export BERTHD=${BERTHD:-$root/build/src/berthd/berthd}
export BERTH_CLI=${BERTH_CLI:-$root/build/src/berth/berth}
mkdir -p "$BENCH_DIR"
BENCH_JSON_PARTS=$(mktemp -d /var/tmp/berth-bench-json.XXXXXX)
export BENCH_DIR BENCH_JSON_PARTS
exec 3>&2 # helpers.bash reports on fd 3 (bats' channel)
# shellcheck source=../tests/e2e/helpers.bash
. "$root/tests/e2e/helpers.bash"

have_dockerd() { [ "${BENCH_DOCKERD:-1}" = 1 ] && [ -x "$DOCKERD" ] && [ -x "$DOCKER_CLI_20" ]; }

# --- measurement helpers -----------------------------------------------------

now_ns() { date +%s%N; }
# secs_between T0 T1: seconds from now_ns T0 to T1 ("1.234")
secs_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'; }
# time_cmd CMD...: prints elapsed seconds of one run (fails if CMD fails)
time_cmd()
{
	local t0 t1
	t0=$(now_ns)
	"$@" >/dev/null 2>&1 || return 1
	t1=$(now_ns)
	secs_between "$t0" "$t1"
}
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a == a + 0) printf "%.2fx", a / b; else print "-" }'; }
rss_kib() { ps -o rss= -p "$1" 2>/dev/null | tr -d ' '; }
mib() { awk -v k="$1" 'BEGIN { if (k == "" || k == "-") print "-"; else printf "%.1f MiB", k / 1024 }'; }

ROWS=()
NOTES=() # printed after the table
AREA=-
JROWS=$BENCH_JSON_PARTS/.rows
row()
{
	ROWS+=("$(printf '%-44s %14s %-34s %8s' "$1" "$2" "$3" "$4")")
	jq -nc --arg area "$AREA" --arg name "$1" --arg berth "$2" --arg peer "$3" --arg ratio "$4" \
		'{area: $area, name: $name, berth: $berth, peer: $peer, ratio: $ratio}' >>"$JROWS"
}

# Daemon of a given target in its own temp dir (tests/e2e/helpers.bash).
daemon_up()
{
	E2E_TARGET=$1
	export E2E_TARGET
	unset E2E_TMP
	berthd_start >/dev/null
}
daemon_down() { berthd_stop >/dev/null 2>&1; }
trap 'daemon_down; rm -rf "$BENCH_JSON_PARTS"' EXIT

# daemon RSS; for dockerd add its containerd (pid file in the exec root)
daemon_rss()
{
	local total pid
	total=$(rss_kib "$E2E_DAEMON_PID")
	if [ "$E2E_TARGET" = dockerd ]; then
		pid=$(cat "$E2E_EXEC/containerd/containerd.pid" 2>/dev/null)
		[ -n "$pid" ] && total=$((total + $(rss_kib "$pid")))
	fi
	echo "$total"
}

# --- load ----------------------------------------------------------------------

bench_load()
{
	local img=$BENCH_DIR/big.tar samples i t
	local size
	size=$(du -m "$img" | cut -f1)
	echo "bench: load of $img (${size} MB), median of $N" >&2

	# floor: tar -xf of the same layer tars into a fresh directory (and the
	# same followed by syncfs, as a store that makes layers durable must)
	local floor floor_sync dst layers=("$BENCH_DIR/layers/base.tar" "$BENCH_DIR/layers/random.tar" "$BENCH_DIR/layers/text.tar")
	local -a s1=() s2=()
	for ((i = 0; i < N; i++)); do
		dst=$(mktemp -d /var/tmp/berth-bench-floor.XXXXXX)
		s1+=("$(time_cmd bash -c 'd=$1; shift; for l in "$@"; do tar -C "$d" -xf "$l" || exit 1; done' _ "$dst" "${layers[@]}")")
		rm -rf "$dst"
		sync
		dst=$(mktemp -d /var/tmp/berth-bench-floor.XXXXXX)
		s2+=("$(time_cmd bash -c 'd=$1; shift; for l in "$@"; do tar -C "$d" -xf "$l" || exit 1; done; sync -f "$d"' _ "$dst" "${layers[@]}")")
		rm -rf "$dst"
		sync
	done
	floor=$(printf '%s\n' "${s1[@]}" | median)
	floor_sync=$(printf '%s\n' "${s2[@]}" | median)

	# berth
	local berth_t=-
	if [ -x "$BERTHD" ] && [ -x "$BERTH_CLI" ] && daemon_up berthd; then
		samples=()
		for ((i = 0; i < N; i++)); do
			"$BERTH_CLI" rmi -f bench/big:latest >/dev/null 2>&1
			t=$(time_cmd "$BERTH_CLI" load -i "$img") || { echo "bench: berth load failed" >&2; break; }
			samples+=("$t")
		done
		[ ${#samples[@]} -gt 0 ] && berth_t=$(printf '%s\n' "${samples[@]}" | median)
		daemon_down
	else
		echo "bench: berthd/berth not available ($BERTHD)" >&2
	fi

	# docker 20.10
	local docker_t=-
	if have_dockerd && daemon_up dockerd; then
		samples=()
		for ((i = 0; i < N; i++)); do
			"$DOCKER_CLI_20" rmi -f bench/big:latest >/dev/null 2>&1
			t=$(time_cmd "$DOCKER_CLI_20" load -i "$img") || { echo "bench: docker load failed" >&2; break; }
			samples+=("$t")
		done
		[ ${#samples[@]} -gt 0 ] && docker_t=$(printf '%s\n' "${samples[@]}" | median)
		daemon_down
	fi

	row "load ${size} MB image (median of $N), s" "$berth_t" "tar -xf floor $floor" "$(ratio "$berth_t" "$floor")"
	row "" "" "tar -xf + syncfs $floor_sync" "$(ratio "$berth_t" "$floor_sync")"
	row "" "" "docker load (20.10) $docker_t" "$(ratio "$berth_t" "$docker_t")"
}

# --- rss -----------------------------------------------------------------------

rss_for()
{
	local target=$1 cli=$2 idle after f
	daemon_up "$target" || return 1
	sleep 2
	idle=$(daemon_rss)
	for f in "$BENCH_DIR"/small-*.tar; do
		"$cli" load -q -i "$f" >/dev/null 2>&1 || { echo "bench: $target: load $f failed" >&2; break; }
	done
	sleep 2
	after=$(daemon_rss)
	daemon_down
	echo "$idle $after"
}

bench_rss()
{
	local b_idle=- b_after=- d_idle=- d_after=-
	echo "bench: daemon RSS idle and after loading 50 images" >&2
	if [ -x "$BERTHD" ] && [ -x "$BERTH_CLI" ]; then
		read -r b_idle b_after < <(rss_for berthd "$BERTH_CLI")
	fi
	if have_dockerd; then
		read -r d_idle d_after < <(rss_for dockerd "$DOCKER_CLI_20")
	fi
	row "berthd RSS idle" "$(mib "$b_idle")" "dockerd+containerd $(mib "$d_idle")" "$(ratio "$b_idle" "$d_idle")"
	row "berthd RSS after loading 50 images" "$(mib "$b_after")" "dockerd+containerd $(mib "$d_after")" \
		"$(ratio "$b_after" "$d_after")"
}

# --- the area scripts ------------------------------------------------------------

# Sourced ones (no #! line) define bench_* functions; SCRIPT_FNS[name] lists
# them. The others run as programs.
declare -A SCRIPT_FNS=()
STANDALONE=()
for f in "$root"/bench/*.sh; do
	name=$(basename "$f" .sh)
	case $name in run | make-image) continue ;; esac
	if head -c 2 "$f" | grep -q '^#!'; then
		STANDALONE+=("$name")
		continue
	fi
	before=$(compgen -A function bench_ | sort)
	# shellcheck disable=SC1090
	. "$f"
	SCRIPT_FNS[$name]=$(comm -13 <(printf '%s\n' "$before") <(compgen -A function bench_ | sort) | tr '\n' ' ')
done

# run_area NAME: bench_NAME, or every function of bench/NAME.sh, or the
# program bench/NAME.sh
run_area()
{
	local a=$1 fn
	AREA=$a
	if declare -F "bench_$a" >/dev/null; then
		"bench_$a"
	elif [ -n "${SCRIPT_FNS[$a]:-}" ]; then
		for fn in ${SCRIPT_FNS[$a]}; do AREA=${fn#bench_}; "$fn"; done
	elif printf '%s\n' "${STANDALONE[@]}" | grep -qx -- "$a"; then
		echo "bench: bench/$a.sh" >&2
		NOTES+=("== bench/$a.sh" "$("$root/bench/$a.sh" 2>&3)")
	else
		echo "bench: no area '$a' (areas: load rss $(compgen -A function bench_ | sed 's/^bench_//' | grep -vx -e load -e rss | tr '\n' ' ')${STANDALONE[*]})" >&2
		return 2
	fi
}

# --- main ----------------------------------------------------------------------

if [ ${#areas[@]} -eq 0 ] || [ "${areas[0]}" = all ]; then
	areas=(load rss)
	for fn in $(compgen -A function bench_ | sed 's/^bench_//'); do
		case $fn in load | rss) ;; *) areas+=("$fn") ;; esac
	done
	areas+=("${STANDALONE[@]}")
fi
for a in "${areas[@]}"; do
	case $a in load | rss | core | storage)
		echo "bench: preparing images in $BENCH_DIR" >&2
		bench/make-image.sh "$BENCH_DIR" || exit 1
		break
		;;
	esac
done
for a in "${areas[@]}"; do
	run_area "$a" || exit 2
done

echo
printf '%-44s %14s %-34s %8s\n' "benchmark" "berth" "peer / floor" "ratio"
printf '%s\n' "${ROWS[@]}"
[ ${#NOTES[@]} -eq 0 ] || { echo; printf '%s\n' "${NOTES[@]}"; }

# one JSON file: the rows, and the parts the areas wrote
{
	touch "$JROWS"
	jq -s '.' "$JROWS" >"$BENCH_JSON_PARTS/.rows.json"
	parts='{}'
	for f in "$BENCH_JSON_PARTS"/*.json; do
		[ -e "$f" ] || continue
		parts=$(jq -c --arg k "$(basename "$f" .json)" --slurpfile v "$f" '. + {($k): $v[0]}' <<<"$parts")
	done
	jq -n --arg date "$(date -u +%FT%TZ)" --arg host "$(uname -srm)" --arg n "$N" \
		--slurpfile rows "$BENCH_JSON_PARTS/.rows.json" --argjson parts "$parts" \
		'{date: $date, host: $host, n: ($n | tonumber), rows: $rows[0], parts: $parts}'
} >"$json_out" && echo "bench: wrote $json_out" >&2
