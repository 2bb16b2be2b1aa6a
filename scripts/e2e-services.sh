#!/usr/bin/env bash
# Services shared by the e2e suites, started once per test run.
#
#   e2e-services.sh start ENVFILE   start what the suites need; write VAR=value lines to ENVFILE
#   e2e-services.sh stop  ENVFILE   stop them (by the PIDs recorded in ENVFILE) and remove their files
#
# Today: a local docker-registry (Debian's distribution 2.x) on 127.0.0.1, only
# when some suite mentions E2E_REGISTRY. Nothing listens beyond loopback.
set -uo pipefail
cd "$(dirname "$0")/.."

cmd=${1:?usage: $0 start|stop ENVFILE}
envfile=${2:?usage: $0 start|stop ENVFILE}

free_port()
{
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_registry()
{
	local dir port pid i
	command -v docker-registry >/dev/null || {
		echo "e2e-services: docker-registry not installed" >&2
		return 1
	}
	dir=$(mktemp -d /tmp/berth-registry.XXXXXX)
	port=$(free_port)
	cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
	setsid docker-registry serve "$dir/config.yml" </dev/null >"$dir/registry.log" 2>&1 &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		curl -sf "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! curl -sf "http://127.0.0.1:$port/v2/" >/dev/null 2>&1; then
		echo "e2e-services: registry did not start:" >&2
		tail -20 "$dir/registry.log" >&2
		kill "$pid" 2>/dev/null
		rm -rf "$dir"
		return 1
	fi
	{
		echo "E2E_REGISTRY=127.0.0.1:$port"
		echo "E2E_REGISTRY_PID=$pid"
		echo "E2E_REGISTRY_DIR=$dir"
	} >>"$envfile"
	echo "e2e-services: registry on 127.0.0.1:$port (pid $pid)"
}

case $cmd in
start)
	: >"$envfile"
	if grep -qs E2E_REGISTRY tests/e2e/*.bats; then
		start_registry || exit 1
	fi
	;;
stop)
	[ -f "$envfile" ] || exit 0
	pid=$(sed -n 's/^E2E_REGISTRY_PID=//p' "$envfile")
	dir=$(sed -n 's/^E2E_REGISTRY_DIR=//p' "$envfile")
	if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			[ -d "/proc/$pid" ] || break
			sleep 0.1
		done
		[ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null
	fi
	case $dir in /tmp/berth-registry.*) rm -rf "$dir" ;; esac
	: >"$envfile"
	;;
*)
	echo "usage: $0 start|stop ENVFILE" >&2
	exit 2
	;;
esac
