#!/usr/bin/env bash
# `make demo`: start berthd in the background (if it is not running), import the
# bundled busybox image (if missing), show it, and run a container once the CLI
# can. `scripts/demo.sh stop` stops the demo daemon.
#
# Environment: BUILD (default build), BERTH_DATA_ROOT (/var/lib/berth),
# BERTH_EXEC_ROOT (/run/berth).
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BUILD:-build}
berthd=$build/src/berthd/berthd
cli=$build/src/berth/berth
data_root=${BERTH_DATA_ROOT:-/var/lib/berth}
exec_root=${BERTH_EXEC_ROOT:-/run/berth}
sock=$exec_root/berth.sock
pidfile=$exec_root/berthd.pid
log=$exec_root/berthd.log
host=unix://$sock

running()
{
	local pid
	pid=$(cat "$pidfile" 2>/dev/null) || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

ping() { curl -sf --max-time 2 --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1; }

if [ "${1:-}" = stop ]; then
	if running; then
		pid=$(cat "$pidfile")
		echo "demo: stopping berthd (pid $pid)"
		kill -TERM "$pid"
		for ((i = 0; i < 200; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	else
		echo "demo: berthd is not running"
	fi
	exit 0
fi

for b in "$berthd" "$cli"; do
	[ -x "$b" ] || {
		echo "demo: $b not built (make build)" >&2
		exit 1
	}
done

mkdir -p "$exec_root" "$data_root"
if running && ping; then
	echo "demo: berthd already running (pid $(cat "$pidfile")), socket $sock"
else
	echo "demo: starting berthd (data root $data_root, socket $sock, log $log)"
	setsid "$berthd" -H "$host" --data-root "$data_root" --exec-root "$exec_root" --pidfile "$pidfile" \
		</dev/null >>"$log" 2>&1 &
	for ((i = 0; i < 300; i++)); do
		ping && break
		kill -0 $! 2>/dev/null || break
		sleep 0.1
	done
	if ! ping; then
		echo "demo: berthd did not come up; last log lines:" >&2
		tail -20 "$log" >&2
		exit 1
	fi
fi

berth()
{
	local a shown=
	for a in "$@"; do
		case $a in
		*[!A-Za-z0-9_./:=@%+-]* | '') shown+=" '$a'" ;;
		*) shown+=" $a" ;;
		esac
	done
	echo "\$ berth$shown"
	"$cli" -H "$host" "$@"
}

if ! "$cli" -H "$host" image inspect busybox:latest >/dev/null 2>&1; then
	rootfs=$build/busybox-rootfs.tar
	echo "demo: building $rootfs from Debian's busybox-static"
	scripts/build-busybox-image.sh "$rootfs"
	berth import -c 'CMD ["/bin/sh"]' "$rootfs" busybox:latest
fi

berth images
berth inspect busybox
if "$cli" -H "$host" run --help >/dev/null 2>&1; then
	berth run --rm busybox echo "Hello from Berth"
fi
echo "demo: berthd keeps running (pid $(cat "$pidfile")); stop it with: make stop"
