#!/usr/bin/env bash
# `make check`: build with ASan/UBSan, run the unit tests (meson test, TAP),
# the format check and the e2e suites (bats, TAP) against the sanitizer
# binaries, then print one summary line `N passed, N failed`.
#
# Environment: ASAN_BUILD (default build-asan), E2E_SUITES (bats files, default
# tests/e2e/*.bats), E2E_JOBS (suites run at a time, default nproc + 1, 2 to 4;
# see scripts/e2e-run.sh), E2E_SUITE_TIMEOUT (per suite, default 20m),
# E2E_TARGET (berthd; dockerd runs the suites against docker 20.10 instead).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

B=${ASAN_BUILD:-build-asan}
results=$B/test-results
mkdir -p "$B"
rm -rf "$results"
mkdir -p "$results/e2e" "$results/sanitizer"

summary() { python3 scripts/test-summary.py "$@"; }

echo "== build ($B: ASan + UBSan)"
build=ok
if [ ! -f "$B/build.ninja" ]; then
	meson setup "$B" -Db_sanitize=address,undefined -Db_lundef=false || build=fail
fi
if [ $build = ok ] && ! ninja -C "$B"; then
	build=fail
fi
if [ $build = fail ]; then
	echo "check: build failed"
	# Nothing to test with E2E_TARGET=berthd; dockerd (the reference) needs no build.
	if [ "${E2E_TARGET:-berthd}" = berthd ]; then
		summary --extra build=fail
		exit 1
	fi
fi

if [ $build = ok ]; then
	echo "== unit tests"
	meson test -C "$B" --print-errorlogs --num-processes "$(nproc)" --timeout-multiplier 3 || true
fi

echo "== format check"
fmt=ok
if ! make -s format-check; then
	fmt=fail
	echo "check: run 'make format'"
fi

echo "== include rule"
includes=ok
scripts/check-includes.sh || includes=fail

echo "== fuzz smoke (scripts/fuzz.sh smoke: each target ~20 s on its seed corpus)"
fuzz=ok
if ! scripts/fuzz.sh smoke; then
	fuzz=fail
	echo "check: fuzz smoke failed (inputs in tests/fuzz/crashes/)"
fi

echo "== e2e"
# Services the suites use (a local registry on 127.0.0.1 when a suite wants one).
services_env=$results/services.env
scripts/e2e-services.sh start "$services_env" || echo "check: services failed to start"
trap 'scripts/e2e-services.sh stop "$services_env" >/dev/null 2>&1 || true' EXIT
set -a
# shellcheck disable=SC1090
[ -f "$services_env" ] && . "$services_env"
set +a

export E2E_TARGET=${E2E_TARGET:-berthd}
export BERTHD=${BERTHD:-$root/$B/src/berthd/berthd}
if [ "$E2E_TARGET" = berthd ]; then
	export BERTH_CLI=${BERTH_CLI:-$root/$B/src/berth/berth}
fi
export E2E_SANITIZER_DIR=$root/$results/sanitizer
# Containers that log to a file run berth-shim-lean (static musl, not
# instrumented), as users' do; the suites marked `# e2e: full-shim` run the
# instrumented shim for all containers, through a name that is not
# berth-shim (berth_shim_spawn only swaps a shim called berth-shim).
if [ "$E2E_TARGET" = berthd ] && [ -x "$root/$B/src/shim/berth-shim" ]; then
	ln -sfn berth-shim "$root/$B/src/shim/berth-shim-full"
	export E2E_FULL_SHIM=$root/$B/src/shim/berth-shim-full
fi
suites=${E2E_SUITES:-$(ls tests/e2e/*.bats)}
taps=()
for s in $suites; do
	taps+=("$results/e2e/$(basename "$s" .bats).tap")
done
# several suites at a time (E2E_JOBS), each printed whole when it ends; a
# suite's .rc next to its .tap lets the summary count a timeout or crash
# shellcheck disable=SC2086
# shellcheck disable=SC2086
scripts/host-leftovers.sh snapshot "$results/host-before" $suites
# shellcheck disable=SC2086
E2E_DURATIONS=${E2E_DURATIONS:-$B/e2e-durations} scripts/e2e-run.sh "$results/e2e" $suites
# no suite may leave a bridge, rule or process of this checkout behind
host=ok
# shellcheck disable=SC2086
scripts/host-leftovers.sh check "$results/host-before" $suites || host=fail

echo "== summary"
unit=()
[ $build = ok ] && unit=(--meson "$B/meson-logs/testlog.json")
summary "${unit[@]}" --tap "${taps[@]}" --sanitizer-dir "$results/sanitizer" \
	--extra "build=$build" --extra "format-check=$fmt" --extra "fuzz=$fuzz" --extra "check-includes=$includes" --extra "host-clean=$host"
