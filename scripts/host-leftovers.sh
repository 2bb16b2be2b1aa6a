#!/usr/bin/env bash
# What the e2e suites of this checkout may leave on the host if one of them
# forgets to clean up: their bridges (bth<hash of the suite's path>, see
# _e2e_net_names in tests/e2e/helpers.bash, and berth0 when it was not there
# before), the iptables rules naming those bridges, processes of this
# checkout's binaries (berthd, berth-shim, berth-proxy). Only this checkout's
# things are looked at, so other work on the machine is left alone.
#
#   scripts/host-leftovers.sh snapshot FILE           before the suites
#   scripts/host-leftovers.sh check FILE SUITE.bats...  after them: print what is
#        new, remove the bridges and rules, exit 1 when anything was left
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bridges_of()
{
	local s
	for s in "$@"; do
		s=$(realpath "$s")
		echo "bth$(printf '%s' "$s" | sha256sum | cut -c1-6)"
	done
	echo berth0
}

state()
{
	local names
	names=$(bridges_of "$@")
	ip -o link show type bridge 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -Fxf <(echo "$names") |
		sed 's/^/bridge /'
	local t
	for t in filter nat; do
		iptables -w -t "$t" -S 2>/dev/null | grep -Fwf <(echo "$names") | sed "s/^/iptables $t /"
	done
	local p
	for p in $(pgrep -x berthd; pgrep -x berth-shim; pgrep -x berth-proxy); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$root/" && echo "process $p $(tr '\0' ' ' <"/proc/$p/cmdline" | cut -c1-160)"
	done
}

case ${1:-} in
snapshot)
	shift
	f=$1
	shift
	state "$@" | sort >"$f"
	;;
check)
	shift
	f=$1
	shift
	new=$(state "$@" | sort | comm -13 "$f" -)
	[ -z "$new" ] && exit 0
	echo "host leftovers after the e2e suites (removed now):"
	sed 's/^/  /' <<<"$new"
	while read -r kind a b rest; do
		case $kind in
		# shellcheck disable=SC2086 # the rule as iptables -S printed it
		iptables) [ "$b" = -A ] && iptables -w -t "$a" -D $rest 2>/dev/null ;;
		process) kill -KILL "$a" 2>/dev/null ;;
		esac
	done <<<"$new"
	while read -r kind a _; do
		[ "$kind" = bridge ] && ip link del "$a" 2>/dev/null
	done <<<"$new"
	exit 1
	;;
*)
	echo "usage: $0 snapshot|check FILE SUITE.bats..." >&2
	exit 2
	;;
esac
