#!/usr/bin/env bash
# Security benchmark (issue 11), in one run on this machine:
#   - GET /containers/json?all=1 (20 containers) req/s over TLS (--tlsverify,
#     client certificate) against the unix socket, berthd and docker 20.10's
#     dockerd with the same certificates
#   - the per-request cost of one authorization plugin (the e2e test plugin
#     tests/e2e/lib/authz_plugin.py) on berthd's unix socket (aim: < 200 us)
# One client (python http.client) per measurement sends N requests back to
# back on one keep-alive connection (same client for every row, so ratios
# compare servers). Numbers, not assertions; never run in CI.
#
#   bench/security.sh [-n REQUESTS]     (default 2000)
#
# Environment: BERTHD, BERTH_CLI (default build/src/...), BENCH_DIR (default
# /var/tmp/berth-bench), BENCH_DOCKERD=0 to leave dockerd out. Writes
# $BENCH_DIR/security.json.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
N=2000
while [ $# -gt 0 ]; do
	case $1 in
	-n) N=$2; shift ;;
	*) echo "usage: $0 [-n REQUESTS]" >&2; exit 2 ;;
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
PLUGIN_PID=
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
	[ -z "$PLUGIN_PID" ] || kill "$PLUGIN_PID" 2>/dev/null
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
path = "/v1.41/containers/json?all=1"
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

echo "bench: TLS vs unix socket, berthd ($BERTHD), $N requests per run" >&2
read -r b_unix b_tls < <(measure_tls berthd || echo "- -")
d_unix=- d_tls=-
if have_dockerd; then
	echo "bench: TLS vs unix socket, dockerd ($DOCKERD)" >&2
	read -r d_unix d_tls < <(measure_tls dockerd || echo "- -")
fi

# authorization plugin cost on berthd's unix socket
echo "bench: one authorization plugin on berthd" >&2
PLUGINS=$WORK/plugins
mkdir -p "$PLUGINS"
python3 "$root/tests/e2e/lib/authz_plugin.py" "$PLUGINS/benchauthz.sock" /dev/null nobind </dev/null >/dev/null 2>&1 &
PLUGIN_PID=$!
for ((i = 0; i < 300; i++)); do [ -S "$PLUGINS/benchauthz.sock" ] && break; sleep 0.1; done
a_off=- a_on=-
if daemon_up berthd && populate; then
	a_off=$(rps_unix)
	daemon_down
	export BERTH_PLUGIN_DIRS=$PLUGINS
	if daemon_up berthd --authorization-plugin benchauthz && populate; then
		a_on=$(rps_unix)
	fi
	unset BERTH_PLUGIN_DIRS
	daemon_down
fi
cost=$(awk -v a="$a_on" -v b="$a_off" 'BEGIN { if (a > 0 && b > 0) printf "%.0f", (1 / a - 1 / b) * 1e6; else print "-" }')

printf '\n%-52s %12s %14s %8s\n' "benchmark (req/s, one keep-alive client)" "berthd" "dockerd 20.10" "ratio"
printf '%-52s %12s %14s %8s\n' "GET /containers/json, unix socket" "$b_unix" "$d_unix" "$(ratio "$b_unix" "$d_unix")"
printf '%-52s %12s %14s %8s\n' "GET /containers/json, TLS (--tlsverify)" "$b_tls" "$d_tls" "$(ratio "$b_tls" "$d_tls")"
printf '%-52s %12s %14s\n' "TLS / unix" "$(ratio "$b_tls" "$b_unix")" "$(ratio "$d_tls" "$d_unix")"
printf '%-52s %12s\n' "berthd unix socket, no authorization plugin" "$a_off"
printf '%-52s %12s\n' "berthd unix socket, one authorization plugin" "$a_on"
printf '%-52s %12s\n' "authorization plugin cost per request (us)" "$cost"
cat >"$BENCH_DIR/security.json" <<EOF
{"requests_per_run": $N,
 "berthd": {"unix_rps": "$b_unix", "tls_rps": "$b_tls", "authz_off_rps": "$a_off", "authz_on_rps": "$a_on", "authz_cost_us": "$cost"},
 "dockerd": {"unix_rps": "$d_unix", "tls_rps": "$d_tls"}}
EOF
echo "bench: $BENCH_DIR/security.json" >&2
