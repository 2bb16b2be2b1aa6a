#!/usr/bin/env bash
# API server benchmark (issue 7), berthd against docker 20.10's dockerd in
# the same run, each on a private socket and data root:
#   - daemon RSS idle and with 2,000 idle connections open
#   - GET /containers/json?all=1 with 20 containers, 1 and 50 concurrent
#     keep-alive clients (a small C load client, compiled here), req/s
# Numbers, not assertions; never run in CI.
#
#   bench/api.sh [-d SECONDS]      (default 10 s per load run)
#
# Environment: BERTHD, BERTH_CLI (default build/src/...), BENCH_DIR (default
# /var/tmp/berth-bench), BENCH_DOCKERD=0 to leave dockerd out.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
DUR=10
while [ $# -gt 0 ]; do
	case $1 in
	-d) DUR=$2; shift ;;
	*) echo "usage: $0 [-d SECONDS]" >&2; exit 2 ;;
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

LOAD=$BENCH_DIR/api-load
cat >"$BENCH_DIR/api-load.c" <<'CEOF'
/* Closed-loop HTTP/1.1 load over a unix socket for bench/api.sh: N client
 * threads, each on one keep-alive connection, send GET PATH back to back for
 * S seconds; prints "<requests> <errors> <seconds>". Handles Content-Length
 * and chunked replies (dockerd chunks bodies over 4 KiB). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *sock_path, *req_path;
static double secs;
static atomic_long total, errors;

struct rd {
	int fd;
	char buf[65536];
	size_t off, len;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fill(struct rd *r)
{
	if (r->off == r->len) {
		r->off = r->len = 0;
	} else if (r->off > 0) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	if (r->len == sizeof(r->buf))
		return -1;
	ssize_t n = read(r->fd, r->buf + r->len, sizeof(r->buf) - r->len);
	if (n <= 0)
		return -1;
	r->len += (size_t)n;
	return 0;
}

/* A line ending in CRLF (returned without it, NUL-terminated in place). */
static char *line(struct rd *r)
{
	for (;;) {
		char *p = memmem(r->buf + r->off, r->len - r->off, "\r\n", 2);
		if (p) {
			*p = '\0';
			char *l = r->buf + r->off;
			r->off = (size_t)(p - r->buf) + 2;
			return l;
		}
		if (fill(r) < 0)
			return NULL;
	}
}

static int skip(struct rd *r, size_t n)
{
	while (n) {
		if (r->off == r->len && fill(r) < 0)
			return -1;
		size_t k = r->len - r->off < n ? r->len - r->off : n;
		r->off += k;
		n -= k;
	}
	return 0;
}

/* One response; 0 when it was a 200. */
static int response(struct rd *r)
{
	char *l = line(r);
	if (!l)
		return -1;
	int ok = strncmp(l, "HTTP/1.1 200", 12) == 0;
	long clen = -1;
	int chunked = 0;
	while ((l = line(r)) && *l) {
		if (!strncasecmp(l, "Content-Length:", 15))
			clen = atol(l + 15);
		else if (!strncasecmp(l, "Transfer-Encoding:", 18) && strstr(l, "chunked"))
			chunked = 1;
	}
	if (!l)
		return -1;
	if (chunked) {
		for (;;) {
			char *c = line(r);
			if (!c)
				return -1;
			long n = strtol(c, NULL, 16);
			if (n == 0) {
				if (!line(r))
					return -1;
				break;
			}
			if (skip(r, (size_t)n) < 0 || !line(r))
				return -1;
		}
	} else if (clen > 0 && skip(r, (size_t)clen) < 0) {
		return -1;
	}
	return ok ? 0 : 1;
}

static void *client(void *arg)
{
	(void)arg;
	struct rd *r = calloc(1, sizeof(*r));
	char req[1024];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: docker\r\nUser-Agent: api-load\r\n\r\n", req_path);
	double end = now() + secs;
	long done = 0, bad = 0;
	r->fd = -1;
	while (now() < end) {
		if (r->fd < 0) {
			struct sockaddr_un sa = {.sun_family = AF_UNIX};
			snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
			r->fd = socket(AF_UNIX, SOCK_STREAM, 0);
			r->off = r->len = 0;
			if (connect(r->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
				close(r->fd);
				r->fd = -1;
				bad++;
				usleep(1000);
				continue;
			}
		}
		if (write(r->fd, req, (size_t)n) != n) {
			close(r->fd);
			r->fd = -1;
			bad++;
			continue;
		}
		int rc = response(r);
		if (rc < 0) {
			close(r->fd);
			r->fd = -1;
			bad++;
			continue;
		}
		if (rc)
			bad++;
		else
			done++;
	}
	if (r->fd >= 0)
		close(r->fd);
	free(r);
	atomic_fetch_add(&total, done);
	atomic_fetch_add(&errors, bad);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s SOCKET PATH CLIENTS SECONDS\n", argv[0]);
		return 2;
	}
	sock_path = argv[1];
	req_path = argv[2];
	int nc = atoi(argv[3]);
	secs = atof(argv[4]);
	pthread_t *t = calloc((size_t)nc, sizeof(*t));
	double t0 = now();
	for (int i = 0; i < nc; i++)
		pthread_create(&t[i], NULL, client, NULL);
	for (int i = 0; i < nc; i++)
		pthread_join(t[i], NULL);
	printf("%ld %ld %.3f\n", atomic_load(&total), atomic_load(&errors), now() - t0);
	free(t);
	return 0;
}
CEOF
cc -O2 -pthread -o "$LOAD" "$BENCH_DIR/api-load.c" || exit 1

HOLD=$BENCH_DIR/api-hold.py
cat >"$HOLD" <<'PYEOF'
import os, resource, socket, sys, time
path, n, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 256), hard))
socks = []
for i in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    socks.append(s)
time.sleep(2)
with open(ready, "w") as f:
    f.write("%d\n" % len(socks))
time.sleep(600)
PYEOF

rss_kib() { ps -o rss= -p "$1" 2>/dev/null | tr -d ' '; }
mib() { awk -v k="$1" 'BEGIN { if (k == "" || k == "-") print "-"; else printf "%.1f MiB", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a == a + 0) printf "%.2fx", a / b; else print "-" }'; }

daemon_up()
{
	E2E_TARGET=$1
	export E2E_TARGET
	unset E2E_TMP
	berthd_start >/dev/null
}
daemon_down() { berthd_stop >/dev/null 2>&1; }
HOLDER=
cleanup()
{
	[ -z "$HOLDER" ] || kill "$HOLDER" 2>/dev/null
	daemon_down
}
trap cleanup EXIT

# daemon_rss: the API process (dockerd alone: its containerd does not serve
# the API and idles the same)
daemon_rss() { rss_kib "$E2E_DAEMON_PID"; }

# measure TARGET: prints "idle_kib held_kib rps1 rps50 errors"
measure()
{
	daemon_up "$1" || return 1
	local f
	f=$(fixture busybox-docker-archive.tar) || return 1
	curl -sf --unix-socket "$E2E_SOCK" -X POST -H 'Content-Type: application/x-tar' --data-binary "@$f" \
		'http://localhost/images/load?quiet=1' >/dev/null || return 1
	local i
	for ((i = 0; i < 20; i++)); do
		curl -sf --unix-socket "$E2E_SOCK" -X POST -H 'Content-Type: application/json' \
			-d '{"Image":"busybox:latest","Cmd":["true"],"Labels":{"bench":"api"}}' \
			"http://localhost/containers/create?name=bench-api-$i" >/dev/null || return 1
	done
	sleep 2
	local idle held
	idle=$(daemon_rss)
	rm -f "$BENCH_DIR/hold.ready"
	python3 "$HOLD" "$E2E_SOCK" 2000 "$BENCH_DIR/hold.ready" &
	HOLDER=$!
	for ((i = 0; i < 600; i++)); do
		[ -s "$BENCH_DIR/hold.ready" ] && break
		sleep 0.1
	done
	held=$(daemon_rss)
	curl -sf --max-time 10 --unix-socket "$E2E_SOCK" http://localhost/_ping >/dev/null || held="$held(ping-failed)"
	kill "$HOLDER"
	wait "$HOLDER" 2>/dev/null
	HOLDER=
	sleep 1
	# cross-check of the load client: 100 curl processes in sequence
	local t0 t1 curl100
	t0=$(date +%s%N)
	for ((i = 0; i < 100; i++)); do
		curl -sf --unix-socket "$E2E_SOCK" 'http://localhost/v1.41/containers/json?all=1' >/dev/null
	done
	t1=$(date +%s%N)
	curl100=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
	local r1 r50
	r1=$("$LOAD" "$E2E_SOCK" '/v1.41/containers/json?all=1' 1 "$DUR")
	r50=$("$LOAD" "$E2E_SOCK" '/v1.41/containers/json?all=1' 50 "$DUR")
	echo "$idle $held $(awk '{ printf "%.0f", $1 / $3 }' <<<"$r1") $(awk '{ printf "%.0f", $1 / $3 }' <<<"$r50") $(($(cut -d' ' -f2 <<<"$r1") + $(cut -d' ' -f2 <<<"$r50"))) $curl100"
	daemon_down
}

echo "bench: berthd ($BERTHD), ${DUR}s per load run" >&2
measure berthd >"$BENCH_DIR/api.berthd" || echo "bench: berthd run failed" >&2
read -r b_idle b_held b_r1 b_r50 b_err b_curl <"$BENCH_DIR/api.berthd"
d_idle=- d_held=- d_r1=- d_r50=- d_err=- d_curl=-
if have_dockerd; then
	echo "bench: dockerd ($DOCKERD)" >&2
	measure dockerd >"$BENCH_DIR/api.dockerd" || echo "bench: dockerd run failed" >&2
	read -r d_idle d_held d_r1 d_r50 d_err d_curl <"$BENCH_DIR/api.dockerd"
fi

printf '\n%-48s %14s %14s %8s\n' "benchmark" "berthd" "dockerd 20.10" "ratio"
printf '%-48s %14s %14s %8s\n' "RSS idle (20 containers created)" "$(mib "$b_idle")" "$(mib "$d_idle")" \
	"$(ratio "$b_idle" "$d_idle")"
printf '%-48s %14s %14s %8s\n' "RSS with 2,000 idle connections" "$(mib "${b_held%%(*}")" "$(mib "${d_held%%(*}")" \
	"$(ratio "${b_held%%(*}" "${d_held%%(*}")"
printf '%-48s %14s %14s %8s\n' "GET /containers/json?all=1, 1 client (req/s)" "$b_r1" "$d_r1" "$(ratio "$b_r1" "$d_r1")"
printf '%-48s %14s %14s %8s\n' "GET /containers/json?all=1, 50 clients (req/s)" "$b_r50" "$d_r50" \
	"$(ratio "$b_r50" "$d_r50")"
printf '%-48s %14s %14s %8s\n' "100 sequential curl runs, same request (s)" "$b_curl" "$d_curl" \
	"$(ratio "$b_curl" "$d_curl")"
printf '%-48s %14s %14s\n' "non-200 replies or errors in the load runs" "$b_err" "$d_err"
case "$b_held$d_held" in *ping-failed*) echo "note: /_ping failed with 2,000 idle connections open: $b_held / $d_held" ;; esac
