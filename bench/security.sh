#!/usr/bin/env bash
# Security benchmark (issue 11), in one run on this machine:
#   - GET /containers/json?all=1 (20 containers) req/s over TLS (--tlsverify,
#     client certificate) against the unix socket, berthd and docker 20.10's
#     dockerd with the same certificates
#   - the per-request cost of one authorization plugin on berthd's unix
#     socket (aim: < 200 us), GET /containers/json?all=1 and GET /_ping:
#     no plugin, a minimal C plugin that allows at once (bench/authz_fast_plugin.c,
#     compiled here with cc: berthd's own share) and the e2e test plugin
#     (tests/e2e/lib/authz_plugin.py, Python: for reference), on one daemon
#     whose chain SIGHUP switches, measured in turn, best of R runs. Besides
#     wall clock, berthd's CPU time per request (utime+stime from /proc) is
#     given, which a loaded machine disturbs less.
# One client (python http.client) per measurement sends N requests back to
# back on one keep-alive connection (same client for every row, so ratios
# compare servers). Numbers, not assertions; never run in CI.
#
#   bench/security.sh [-n REQUESTS] [-r RUNS] [-p tls|authz]
#     (default 2000 requests; authz rows: best of 3 runs; both parts)
#
# Environment: BERTHD, BERTH_CLI (default build/src/...), BENCH_DIR (default
# /var/tmp/berth-bench), BENCH_DOCKERD=0 to leave dockerd out. Writes
# $BENCH_DIR/security.json.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
N=2000
R=3
PART=all
while [ $# -gt 0 ]; do
	case $1 in
	-n) N=$2; shift ;;
	-p) PART=$2; shift ;;
	-r) R=$2; shift ;;
	*) echo "usage: $0 [-n REQUESTS] [-r RUNS] [-p tls|authz]" >&2; exit 2 ;;
	esac
	shift
done

export E2E_ROOT=$root
export BERTHD=${BERTHD:-$root/build/src/berthd/berthd}
export BERTH_CLI=${BERTH_CLI:-$root/build/src/berth/berth}
BENCH_DIR=${BENCH_DIR:-/var/tmp/berth-bench}
mkdir -p "$BENCH_DIR"
exec 3>&2 # helpers.bash reports on fd 3
# shellcheck source=../tests/e2e/helpers.bash
. "$root/tests/e2e/helpers.bash"

have_dockerd() { [ "${BENCH_DOCKERD:-1}" = 1 ] && [ -x "$DOCKERD" ]; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a == a + 0) printf "%.2fx", a / b; else print "-" }'; }

WORK=$(mktemp -d /tmp/berth-bench-sec.XXXXXX)
PIDS=()
daemon_up()
{
	E2E_TARGET=$1
	shift
	export E2E_TARGET
	unset E2E_TMP
	berthd_start "$@" >/dev/null
}
daemon_down() { berthd_stop >/dev/null 2>&1; }
cleanup()
{
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	daemon_down
	rm -rf "$WORK"
}
trap cleanup EXIT

# certificates: a CA, a server certificate for 127.0.0.1, a client certificate
# shellcheck source=../tests/e2e/lib/certs.bash
. "$root/tests/e2e/lib/certs.bash"
gen_tls_certs "$WORK" bench || { echo "bench: openssl failed" >&2; exit 1; }
TLS_ARGS=(--tlsverify --tlscacert "$WORK/ca.pem" --tlscert "$WORK/server-cert.pem" --tlskey "$WORK/server-key.pem")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# N requests back to back on one keep-alive connection (python http.client:
# the same client for every row); prints requests per second
CLIENT=$WORK/client.py
cat >"$CLIENT" <<'PYEOF'
import http.client, socket, ssl, sys, time
import os
target, n = sys.argv[1], int(sys.argv[2])
class Unix(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(target)
if target.startswith("/"):
    c = Unix("localhost")
else:
    ctx = ssl.create_default_context(cafile=sys.argv[3])
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    host, port = target.split(":")
    c = http.client.HTTPSConnection(host, int(port), context=ctx)
path = os.environ.get("BENCH_PATH", "/v1.41/containers/json?all=1")
for _ in range(20):  # warm up (and the TLS handshake)
    c.request("GET", path); c.getresponse().read()
t0 = time.monotonic()
for _ in range(n):
    c.request("GET", path)
    r = c.getresponse(); r.read()
    if r.status != 200:
        sys.exit("status %d" % r.status)
print("%.0f" % (n / (time.monotonic() - t0)))
PYEOF
rps_unix() { python3 "$CLIENT" "$E2E_SOCK" "$N" 2>/dev/null || echo -; }
rps_tls() { python3 "$CLIENT" "127.0.0.1:$1" "$N" "$WORK/ca.pem" "$WORK/cert.pem" "$WORK/key.pem" 2>/dev/null || echo -; }
# berthd's CPU time (utime+stime, clock ticks)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$(cat "$E2E_PIDFILE")/stat" 2>/dev/null || echo 0; }
# rps_cpu PATH: "req/s cpu_us_per_request" for N requests of PATH on the unix socket
rps_cpu()
{
	local t0 t1 r
	t0=$(cpu_ticks)
	r=$(BENCH_PATH=$1 python3 "$CLIENT" "$E2E_SOCK" "$N" 2>/dev/null || echo -)
	t1=$(cpu_ticks)
	echo "$r $(awk -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" -v n="$N" \
		'BEGIN { printf "%.0f", (b - a) / hz / (n + 20) * 1e6 }')"
}

populate()
{
	local f i
	f=$(fixture busybox-docker-archive.tar) || return 1
	curl -sf --unix-socket "$E2E_SOCK" -X POST -H 'Content-Type: application/x-tar' --data-binary "@$f" \
		'http://localhost/images/load?quiet=1' >/dev/null || return 1
	for ((i = 0; i < 20; i++)); do
		curl -sf --unix-socket "$E2E_SOCK" -X POST -H 'Content-Type: application/json' \
			-d '{"Image":"busybox:latest","Cmd":["true"]}' \
			"http://localhost/containers/create?name=bench-sec-$i" >/dev/null || return 1
	done
}

# measure_tls TARGET: prints "unix_rps tls_rps"
measure_tls()
{
	local port
	port=$(free_port)
	daemon_up "$1" -H "tcp://127.0.0.1:$port" "${TLS_ARGS[@]}" || return 1
	populate || return 1
	echo "$(rps_unix) $(rps_tls "$port")"
	daemon_down
}

b_unix=- b_tls=- d_unix=- d_tls=-
if [ "$PART" != authz ]; then
	echo "bench: TLS vs unix socket, berthd ($BERTHD), $N requests per run" >&2
	read -r b_unix b_tls < <(measure_tls berthd || echo "- -")
	d_unix=- d_tls=-
	if have_dockerd; then
		echo "bench: TLS vs unix socket, dockerd ($DOCKERD)" >&2
		read -r d_unix d_tls < <(measure_tls dockerd || echo "- -")
	fi
fi

# authorization plugin cost on berthd's unix socket, containers/json and _ping:
# no plugin, the fast C plugin, the Python one. One daemon whose chain is
# switched by SIGHUP (daemon.json), the three measured in turn R times, the
# best run of each kept (highest rate, lowest CPU): a busy machine's load
# drifts less between rows measured seconds apart.
PLUGINS=$WORK/plugins
mkdir -p "$PLUGINS"
PATHS=(/v1.41/containers/json?all=1 /_ping)
declare -A A_RPS A_CPU
wait_sock() { local i; for ((i = 0; i < 300; i++)); do [ -S "$1" ] && return 0; sleep 0.1; done; return 1; }
# set_chain NAME: "off" or a plugin name; SIGHUP and wait for the reload
set_chain()
{
	local n i
	if [ "$1" = off ]; then echo '{"authorization-plugins": []}'; else echo "{\"authorization-plugins\": [\"$1\"]}"; fi \
		>"$WORK/daemon.json"
	n=$(grep -c 'Reloaded configuration' "$E2E_LOG")
	kill -HUP "$(cat "$E2E_PIDFILE")"
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c 'Reloaded configuration' "$E2E_LOG")" -gt "$n" ] && break
		sleep 0.1
	done
	sleep 0.3 # the plugin's activation follows the log line
}
keep_best()
{
	local key=$1 r=$2 c=$3
	A_RPS[$key]=$(awk -v a="${A_RPS[$key]:--}" -v b="$r" 'BEGIN { print (b == b + 0 && (a == "-" || b + 0 > a + 0)) ? b : a }')
	A_CPU[$key]=$(awk -v a="${A_CPU[$key]:--}" -v b="$c" 'BEGIN { print (b == b + 0 && (a == "-" || b + 0 < a + 0)) ? b : a }')
}
if [ "$PART" != tls ]; then
	echo "bench: one authorization plugin on berthd (no plugin, fast C plugin, Python test plugin), best of $R" >&2
	names=(off)
	if cc -O2 -pthread -o "$WORK/authz_fast_plugin" "$root/bench/authz_fast_plugin.c"; then
		"$WORK/authz_fast_plugin" "$PLUGINS/benchfast.sock" </dev/null >/dev/null 2>&1 &
		PIDS+=($!)
		wait_sock "$PLUGINS/benchfast.sock" && names+=(fast)
	fi
	python3 "$root/tests/e2e/lib/authz_plugin.py" "$PLUGINS/benchauthz.sock" /dev/null nobind </dev/null >/dev/null 2>&1 &
	PIDS+=($!)
	wait_sock "$PLUGINS/benchauthz.sock" && names+=(python)
	export BERTH_PLUGIN_DIRS=$PLUGINS
	echo '{"authorization-plugins": []}' >"$WORK/daemon.json"
	if daemon_up berthd --config-file "$WORK/daemon.json" && populate; then
		for ((k = 0; k < R; k++)); do
			for name in "${names[@]}"; do
				plugin=$name
				[ "$name" = fast ] && plugin=benchfast
				[ "$name" = python ] && plugin=benchauthz
				set_chain "$plugin"
				for i in "${!PATHS[@]}"; do
					read -r r c < <(rps_cpu "${PATHS[$i]}")
					echo "bench: run $k $name ${PATHS[$i]}: $r req/s, $c us cpu" >&2
					keep_best "$name,$i" "$r" "$c"
				done
			done
		done
	fi
	unset BERTH_PLUGIN_DIRS
	daemon_down
fi
# cost OFF ON: microseconds a plugin adds per request (wall clock)
cost() { awk -v a="$2" -v b="$1" 'BEGIN { if (a > 0 && b > 0) printf "%.0f", (1 / a - 1 / b) * 1e6; else print "-" }'; }
cpudiff() { awk -v a="$2" -v b="$1" 'BEGIN { if (a == a + 0 && b == b + 0 && a != "" && b != "") printf "%.0f", a - b; else print "-" }'; }

printf '\n%-52s %12s %14s %8s\n' "benchmark (req/s, one keep-alive client)" "berthd" "dockerd 20.10" "ratio"
printf '%-52s %12s %14s %8s\n' "GET /containers/json, unix socket" "$b_unix" "$d_unix" "$(ratio "$b_unix" "$d_unix")"
printf '%-52s %12s %14s %8s\n' "GET /containers/json, TLS (--tlsverify)" "$b_tls" "$d_tls" "$(ratio "$b_tls" "$d_tls")"
printf '%-52s %12s %14s\n' "TLS / unix" "$(ratio "$b_tls" "$b_unix")" "$(ratio "$d_tls" "$d_unix")"
printf '\n%-44s %10s %10s %10s %12s\n' "authorization (berthd, unix socket)" "req/s" "cost us" "cpu us/req" "cpu cost us"
for i in 0 1; do
	for name in off fast python; do
		r=${A_RPS[$name,$i]:--} u=${A_CPU[$name,$i]:--}
		printf '%-44s %10s %10s %10s %12s\n' "${PATHS[$i]}, $name" "$r" \
			"$([ $name = off ] && echo - || cost "${A_RPS[off,$i]:--}" "$r")" "$u" \
			"$([ $name = off ] && echo - || cpudiff "${A_CPU[off,$i]:--}" "$u")"
	done
done
echo "load: $(uptime)"
cat >"$BENCH_DIR/security.json" <<EOF
{"requests_per_run": $N,
 "berthd": {"unix_rps": "$b_unix", "tls_rps": "$b_tls",
   "authz_off_rps": "${A_RPS[off,0]:--}", "authz_fast_rps": "${A_RPS[fast,0]:--}", "authz_python_rps": "${A_RPS[python,0]:--}",
   "authz_fast_cost_us": "$(cost "${A_RPS[off,0]:--}" "${A_RPS[fast,0]:--}")",
   "authz_python_cost_us": "$(cost "${A_RPS[off,0]:--}" "${A_RPS[python,0]:--}")",
   "authz_fast_cpu_cost_us": "$(cpudiff "${A_CPU[off,0]:--}" "${A_CPU[fast,0]:--}")",
   "ping_off_rps": "${A_RPS[off,1]:--}", "ping_fast_rps": "${A_RPS[fast,1]:--}",
   "ping_fast_cost_us": "$(cost "${A_RPS[off,1]:--}" "${A_RPS[fast,1]:--}")"},
 "dockerd": {"unix_rps": "$d_unix", "tls_rps": "$d_tls"}}
EOF
echo "bench: $BENCH_DIR/security.json" >&2
