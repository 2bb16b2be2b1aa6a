#!/usr/bin/env bash
# Run e2e bats suites several at a time (each suite starts its own daemon on
# its own temp dir, socket, bridge name and subnet, so suites are independent).
# Used by scripts/check.sh; runnable alone:
#
#   scripts/e2e-run.sh OUTDIR SUITE.bats...
#
# For each suite it writes OUTDIR/<name>.tap (bats --tap, stderr included),
# OUTDIR/<name>.rc (bats' exit status; 124 or 137: the suite timed out) and
# OUTDIR/<name>.secs. A suite's output is printed in one piece when the suite
# ends, headed by its name, exit status and time, never interleaved with
# another suite's. Longest suites start first (times of earlier runs, kept in
# E2E_DURATIONS). A suite whose file has a line `# e2e: serial` runs alone,
# after the others (for suites that measure the machine: RSS, CPU, timing).
#
# Environment: E2E_JOBS (suites at a time; default nproc + 1, 2 to 4),
# E2E_SUITE_TIMEOUT (per suite, default 20m), E2E_DURATIONS (file of
# "name seconds" lines; read to order the suites, updated at the end),
# E2E_FULL_SHIM (the shim for suites marked `# e2e: full-shim`).
# Exit status: 0 when every suite exited 0.
set -uo pipefail

if [ $# -lt 1 ]; then
	echo "usage: $0 OUTDIR SUITE.bats..." >&2
	exit 2
fi
out=$1
shift
mkdir -p "$out"

jobs=${E2E_JOBS:-}
if [ -z "$jobs" ]; then
	jobs=$(($(nproc) + 1))
	((jobs < 2)) && jobs=2
	((jobs > 4)) && jobs=4
fi
suite_timeout=${E2E_SUITE_TIMEOUT:-20m}
durations=${E2E_DURATIONS:-}
lock=$out/.print-lock
: >"$lock"

# printed under a lock: whole blocks, one suite at a time
say()
{
	{
		flock 9
		cat
	} 9>>"$lock"
}

run_one()
{
	local s=$1 name t0 t1 rc note=
	name=$(basename "$s" .bats)
	t0=$(date +%s)
	echo "-- $name: started" | say
	# `# e2e: full-shim`: every container of the suite runs the full
	# (sanitizer-instrumented) shim, not berth-shim-lean (E2E_FULL_SHIM:
	# a path to it under another name, see scripts/check.sh)
	local -a env=()
	if [ -n "${E2E_FULL_SHIM:-}" ] && grep -q '^# e2e: full-shim' "$s"; then
		env=(env "BERTH_SHIM=$E2E_FULL_SHIM")
	fi
	timeout --kill-after=30 "$suite_timeout" "${env[@]}" bats --tap "$s" >"$out/$name.tap" 2>&1 </dev/null
	rc=$?
	t1=$(date +%s)
	echo "$rc" >"$out/$name.rc"
	echo "$name $((t1 - t0))" >"$out/$name.secs"
	case $rc in
	124 | 137) note=" (TIMED OUT after $suite_timeout)" ;;
	esac
	{
		echo "-- $name: exit $rc, $((t1 - t0))s$note"
		cat "$out/$name.tap"
		echo "-- $name: end"
	} | say
	return "$rc"
}

# order: longest first by earlier times; suites never timed go first
declare -A secs=()
if [ -n "$durations" ] && [ -f "$durations" ]; then
	while read -r n t; do
		[[ $t =~ ^[0-9]+$ ]] && secs[$n]=$t
	done <"$durations"
fi
parallel=()
serial=()
while read -r _ s; do
	if grep -q '^# e2e: serial' "$s"; then
		serial+=("$s")
	else
		parallel+=("$s")
	fi
done < <(for s in "$@"; do
	n=$(basename "$s" .bats)
	echo "${secs[$n]:-999999} $s"
done | sort -k1,1nr -k2,2)

echo "e2e: ${#parallel[@]} suites, $jobs at a time; ${#serial[@]} alone after them"
for s in "${parallel[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n
	done
	run_one "$s" &
done
wait
for s in "${serial[@]}"; do
	run_one "$s"
done

status=0
for s in "$@"; do
	n=$(basename "$s" .bats)
	[ "$(cat "$out/$n.rc" 2>/dev/null)" = 0 ] || status=1
done

if [ -n "$durations" ]; then
	# this run's times, plus the older ones of suites not run this time
	{
		cat "$out"/*.secs 2>/dev/null
		if [ -f "$durations" ]; then cat "$durations"; fi
	} | awk '!seen[$1]++' >"$durations.new"
	mv "$durations.new" "$durations"
fi
exit $status
