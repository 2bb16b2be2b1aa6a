# Per-suite registries for the push and auth suites (registry_push.bats,
# registry_auth.bats): Debian's docker-registry on 127.0.0.1, plain, behind
# htpasswd Basic auth, or behind tests/e2e/lib/token_issuer.py (Bearer).
#
#   reg_start DIR none|htpasswd|token   start one; sets REG (host:port) and
#                                       writes DIR/pids; user "alice" with
#                                       password $REG_PASSWORD
#   reg_stop DIR                        stop what DIR/pids lists (by PID), remove DIR
#
# The registry the pull and build suites share (call from setup_file /
# teardown_file; needs skopeo):
#   shared_registry_start               E2E_REGISTRY from scripts/e2e-services.sh,
#                                       or one started for this file
#   shared_registry_stop                stop the one started for this file
#   skopeo_push SRC DEST [ARGS]         skopeo copy into a plain-HTTP registry

REG_USER=alice
REG_PASSWORD=Pw-9f3c1e-not-in-logs

_reg_free_port()
{
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# _reg_wait URL PID: until URL answers (any HTTP status) or PID is gone.
_reg_wait()
{
	local i code
	for ((i = 0; i < 200; i++)); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2>/dev/null) || code=000
		[ "$code" != 000 ] && [ -n "$code" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

reg_start()
{
	local dir=$1 auth=$2 port tport pid tpid
	mkdir -p "$dir/data"
	port=$(_reg_free_port)
	cat >"$dir/config.yml" <<EOC
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOC
	case $auth in
	none) ;;
	htpasswd)
		htpasswd -Bbc "$dir/htpasswd" "$REG_USER" "$REG_PASSWORD" >/dev/null 2>&1 || return 1
		cat >>"$dir/config.yml" <<EOC
auth:
  htpasswd:
    realm: berth-test
    path: $dir/htpasswd
EOC
		;;
	token)
		openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 2 \
			-subj /CN=berth-test-issuer >/dev/null 2>&1 || return 1
		tport=$(_reg_free_port)
		setsid python3 "$E2E_ROOT/tests/e2e/lib/token_issuer.py" --port "$tport" --key "$dir/key.pem" \
			--cert "$dir/cert.pem" --service berth-test-registry --issuer berth-test-issuer \
			--user "$REG_USER:$REG_PASSWORD" --log "$dir/issuer.log" </dev/null >"$dir/issuer.out" 2>&1 3>&- &
		tpid=$!
		echo "$tpid" >>"$dir/pids"
		_reg_wait "http://127.0.0.1:$tport/token" "$tpid" || {
			cat "$dir/issuer.out" >&2
			return 1
		}
		cat >>"$dir/config.yml" <<EOC
auth:
  token:
    realm: http://127.0.0.1:$tport/token
    service: berth-test-registry
    issuer: berth-test-issuer
    rootcertbundle: $dir/cert.pem
EOC
		;;
	*)
		echo "reg_start: unknown auth $auth" >&2
		return 1
		;;
	esac
	setsid docker-registry serve "$dir/config.yml" </dev/null >"$dir/registry.log" 2>&1 3>&- &
	pid=$!
	echo "$pid" >>"$dir/pids"
	_reg_wait "http://127.0.0.1:$port/v2/" "$pid" || {
		tail -20 "$dir/registry.log" >&2
		return 1
	}
	REG=127.0.0.1:$port
}

reg_stop()
{
	local dir=$1 pid i
	[ -f "$dir/pids" ] || { rm -rf "$dir"; return 0; }
	for pid in $(cat "$dir/pids"); do
		[ -d "/proc/$pid" ] && kill -TERM "$pid" 2>/dev/null
	done
	for pid in $(cat "$dir/pids"); do
		for ((i = 0; i < 50; i++)); do
			[ -d "/proc/$pid" ] || break
			sleep 0.1
		done
		[ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null
	done
	rm -rf "$dir"
}

skopeo_push()
{
	skopeo copy --quiet --dest-tls-verify=false "$@" >/dev/null
}

shared_registry_start()
{
	command -v skopeo >/dev/null || skip "skopeo not installed"
	[ -z "${E2E_REGISTRY:-}" ] || return 0
	"$E2E_ROOT/scripts/e2e-services.sh" start "$BATS_FILE_TMPDIR/services.env" >&2 || return 1
	# shellcheck disable=SC1091
	. "$BATS_FILE_TMPDIR/services.env"
	export E2E_REGISTRY E2E_OWN_SERVICES=1
}

shared_registry_stop()
{
	[ "${E2E_OWN_SERVICES:-}" = 1 ] || return 0
	"$E2E_ROOT/scripts/e2e-services.sh" stop "$BATS_FILE_TMPDIR/services.env" >/dev/null
}
