#!/usr/bin/env bash
# Build and run the libFuzzer targets of tests/fuzz.
#
#   scripts/fuzz.sh run   [TARGET...]   each target FUZZ_SECONDS (default 60); `make fuzz`
#   scripts/fuzz.sh smoke [TARGET...]   each target FUZZ_SMOKE_SECONDS (default 20) on its
#                                       seed corpus; CI (scripts/check.sh)
#   scripts/fuzz.sh build               only build
#
# Targets are tests/fuzz/fuzz_<name>.c (default: all), with an optional
# libFuzzer dictionary tests/fuzz/<name>.dict. The build dir
# (FUZZ_BUILD, default build-fuzz) is set up with clang, -Dfuzz=true and
# libberth instrumented (-fsanitize=fuzzer-no-link + ASan/UBSan). Each run
# starts from tests/fuzz/corpus/<name>/ (every seed is executed first); new
# inputs go to a working corpus ($FUZZ_BUILD/fuzz-corpus/<name>, kept between
# `run`s, thrown away by `smoke`), never into the committed seeds. A crash,
# leak, sanitizer report, timeout (FUZZ_TIMEOUT s for one input, default 10)
# or out-of-memory fails the run; the input is saved as
# tests/fuzz/crashes/<name>-{crash,leak,timeout,oom}-<sha1>; reproduce with
# build-fuzz/tests/fuzz/fuzz_<name> FILE. Scratch space: FUZZ_TMPDIR (default
# /dev/shm when writable). Logs: $FUZZ_BUILD/fuzz-logs/<name>.log. Prints the
# executions per second of each target. Seeds: tests/fuzz/make-seeds.py.
set -uo pipefail
cd "$(dirname "$0")/.."

mode=${1:-run}
shift || true
B=${FUZZ_BUILD:-build-fuzz}
case $mode in
run) secs=${FUZZ_SECONDS:-60} ;;
smoke) secs=${FUZZ_SMOKE_SECONDS:-20} ;;
build) secs=0 ;;
*)
	echo "usage: $0 run|smoke|build [TARGET...]" >&2
	exit 2
	;;
esac

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in tests/fuzz/fuzz_*.c; do
		n=$(basename "$f" .c)
		targets+=("${n#fuzz_}")
	done
fi

if [ ! -f "$B/build.ninja" ]; then
	# -Dwerror=false: clang warns where gcc does not; the fuzz targets
	# themselves stay -Werror (tests/fuzz/meson.build).
	CC=${FUZZ_CC:-clang} meson setup "$B" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
		-Dwerror=false -Dc_args=-fsanitize=fuzzer-no-link >/dev/null || {
		echo "fuzz: meson setup failed" >&2
		exit 1
	}
fi
ninja -C "$B" "${targets[@]/#/tests/fuzz/fuzz_}" || {
	echo "fuzz: build failed" >&2
	exit 1
}
[ "$mode" = build ] && exit 0

logs=$B/fuzz-logs
crashes=tests/fuzz/crashes
mkdir -p "$logs" "$crashes"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Scratch space of the targets (temp data roots, layer dirs): tmpfs when there
# is one (fsync-free, several times faster), else $TMPDIR.
scratch=${FUZZ_TMPDIR:-}
if [ -z "$scratch" ]; then
	scratch=${TMPDIR:-/tmp}
	[ -d /dev/shm ] && [ -w /dev/shm ] && scratch=/dev/shm
fi
failed=()
for t in "${targets[@]}"; do
	seeds=tests/fuzz/corpus/$t
	if [ "$mode" = smoke ]; then
		work=$(mktemp -d "${TMPDIR:-/tmp}/berth-fuzz-corpus-$t.XXXXXX")
	else
		work=$B/fuzz-corpus/$t
		mkdir -p "$work"
	fi
	# The targets' scratch directories go below a private TMPDIR, removed
	# even when a crash skipped the target's own cleanup.
	tmp=$(mktemp -d "$scratch/berth-fuzz-tmp-$t.XXXXXX")
	log=$logs/$t.log
	dict=
	[ -f "tests/fuzz/$t.dict" ] && dict=tests/fuzz/$t.dict
	# smoke (CI) replays one fixed mutation sequence (FUZZ_SEED, default 1), so
	# a CI run does not turn red by luck; `run` explores with a random seed
	seed=
	[ "$mode" = smoke ] && seed=${FUZZ_SEED:-1}
	TMPDIR=$tmp BERTH_FUZZ_PRIVATE_TMPDIR=1 "$B/tests/fuzz/fuzz_$t" "$work" "$seeds" -max_total_time="$secs" \
		-timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" -print_final_stats=1 \
		-artifact_prefix="$crashes/$t-" ${dict:+-dict="$dict"} ${seed:+-seed="$seed"} >"$log" 2>&1
	rc=$?
	rm -rf "$tmp"
	[ "$mode" = smoke ] && rm -rf "$work"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	if [ $rc -ne 0 ] || grep -qE '^(==[0-9]+==ERROR|SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer|libFuzzer))|runtime error:' "$log"; then
		failed+=("$t")
		echo "fuzz: $t FAILED (exit $rc): see $log"
		grep -E '==ERROR|runtime error:|SUMMARY:|Test unit written to|FUZZ_ASSERT' "$log" | head -8 | sed 's/^/  /'
	else
		echo "fuzz: $t ok: ${execs:-?} executions in ${secs}s, ${rate:-?} exec/s"
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: failed: ${failed[*]}"
	exit 1
fi
echo "fuzz: all ${#targets[@]} targets ok"
