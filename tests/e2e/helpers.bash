# Shared helpers for Berth's end-to-end suites (bats).
#
# Each suite starts its own daemon in setup_file (berthd_start) and stops it in
# teardown_file (berthd_stop). The daemon gets a private temp dir holding its
# data root, exec root, socket and pidfile; everything it made (mounts, shim
# processes, cgroups, files) is removed again by berthd_stop, even after a
# failed test.
#
# Environment:
#   E2E_TARGET=berthd|dockerd  daemon under test (default berthd). dockerd runs
#                              docker 20.10 as the reference implementation, to
#                              check the suites' expectations against it.
#   BERTHD      berthd binary           (default build/src/berthd/berthd)
#   BERTH_CLI   CLI run by `berth`      (default build/src/berth/berth; with
#                                        E2E_TARGET=dockerd: /usr/bin/docker)
#   DOCKER_CLI_28 / DOCKER_CLI_20      the real docker CLIs (28.x, 20.10)
#   E2E_FIXTURES   image fixtures dir   (default ../shared/fixtures/images)
#   E2E_STORAGE_DRIVER                  (default overlay2)
#   E2E_SANITIZER_DIR   where ASan/UBSan reports of berthd and berth go
#   E2E_KEEP=1     keep the temp dir of a suite (debugging)

if type -t bats_require_minimum_version >/dev/null; then
	bats_require_minimum_version 1.5.0
fi

E2E_ROOT=${E2E_ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
E2E_TARGET=${E2E_TARGET:-berthd}
BERTHD=${BERTHD:-$E2E_ROOT/build/src/berthd/berthd}
DOCKERD=${DOCKERD:-/usr/sbin/dockerd}
DOCKER_CLI_28=${DOCKER_CLI_28:-/usr/local/bin/docker}
DOCKER_CLI_20=${DOCKER_CLI_20:-/usr/bin/docker}
if [ -z "${BERTH_CLI:-}" ]; then
	if [ "$E2E_TARGET" = dockerd ]; then
		BERTH_CLI=$DOCKER_CLI_20
	else
		BERTH_CLI=$E2E_ROOT/build/src/berth/berth
	fi
fi
if [ -z "${E2E_FIXTURES:-}" ]; then
	for d in "$E2E_ROOT/../shared/fixtures/images" /work/shared/fixtures/images; do
		if [ -d "$d" ]; then
			E2E_FIXTURES=$(cd "$d" && pwd)
			break
		fi
	done
	E2E_FIXTURES=${E2E_FIXTURES:-$E2E_ROOT/../shared/fixtures/images}
fi
E2E_STORAGE_DRIVER=${E2E_STORAGE_DRIVER:-overlay2}
# A hung test fails (and its processes are killed) instead of hanging the suite.
BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-600}
export E2E_ROOT E2E_TARGET BERTHD BERTH_CLI DOCKER_CLI_28 DOCKER_CLI_20 E2E_FIXTURES E2E_STORAGE_DRIVER

# The fixture image (see the fixtures' README).
BUSYBOX_ID=sha256:6d8f264bf1f91212333cd15d084aef66a11190ddbca4b32adcccdc2a22ec2ab7
BUSYBOX_SHORT=6d8f264bf1f9
BUSYBOX_DIFF_ID=sha256:0ee228408e13d8cfce836896e9dc03f484435e262c85bb37410afb3cea151b66

# Sanitizer reports (ASan/UBSan builds): one file per report, never mixed with
# the program's own output. `make check` counts them as failures.
if [ -n "${E2E_SANITIZER_DIR:-}" ]; then
	mkdir -p "$E2E_SANITIZER_DIR"
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:log_exe_name=1:log_path=$E2E_SANITIZER_DIR/asan"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:log_exe_name=1:log_path=$E2E_SANITIZER_DIR/ubsan"
fi

# ---------------------------------------------------------------------------
# daemon lifecycle

_e2e_ping()
{
	curl -sf --max-time 2 --unix-socket "$E2E_SOCK" http://localhost/_ping >/dev/null 2>&1
}

# Unique per suite file: a bridge name (<= 15 chars) and a /24 in 10.x.y.0.
_e2e_net_names()
{
	local h
	h=$(printf '%s' "${BATS_TEST_FILENAME:-$$}" | sha256sum | cut -c1-6)
	E2E_BRIDGE=bth$h
	E2E_SUBNET=10.$((0x${h:0:2} % 200 + 20)).$((0x${h:2:2})).0/24
	export E2E_BRIDGE E2E_SUBNET
}

# berthd_start [extra daemon args...]
berthd_start()
{
	E2E_TMP=$(mktemp -d /tmp/berth-e2e.XXXXXX)
	E2E_DATA=$E2E_TMP/data
	E2E_EXEC=$E2E_TMP/exec
	E2E_SOCK=$E2E_TMP/d.sock
	E2E_PIDFILE=$E2E_TMP/d.pid
	E2E_LOG=$E2E_TMP/daemon.log
	mkdir -p "$E2E_DATA" "$E2E_EXEC" "$E2E_TMP/home/.docker"
	# the benchmarks keep the exec root in memory, as /run is on a standard
	# host (unmounted with the rest by berthd_stop)
	if [ "${E2E_EXEC_TMPFS:-0}" = 1 ]; then
		mount -t tmpfs -o mode=0711,size=512m berth-e2e-exec "$E2E_EXEC" || return 1
	fi
	# a suite may put the data root on a filesystem of its own (storage_lib.bash)
	if [ -n "${E2E_DATA_FS_HOOK:-}" ]; then "$E2E_DATA_FS_HOOK" setup || return 1; fi
	_e2e_net_names
	export E2E_TMP E2E_DATA E2E_EXEC E2E_SOCK E2E_PIDFILE E2E_LOG

	local -a cmd
	case $E2E_TARGET in
	berthd)
		if [ ! -x "$BERTHD" ]; then
			echo "berthd binary not found: $BERTHD (run make build)" >&2
			return 1
		fi
		cmd=("$BERTHD" -H "unix://$E2E_SOCK" --data-root "$E2E_DATA" --exec-root "$E2E_EXEC"
			--pidfile "$E2E_PIDFILE" --storage-driver "$E2E_STORAGE_DRIVER" --debug)
		# No default bridge and no iptables rule unless the suite tests
		# networking (E2E_NETWORK=1 exported before berthd_start; such a
		# suite passes its own -b/--default-bridge-name with E2E_BRIDGE).
		if [ "${E2E_NETWORK:-0}" != 1 ]; then
			local _cf="" _a _prev="" _k
			for _a in "$@"; do
				[ "$_prev" = --config-file ] && _cf=$_a
				case $_a in --config-file=*) _cf=${_a#--config-file=} ;; esac
				_prev=$_a
			done
			# a key the suite's daemon.json sets itself is not given twice
			for _k in bridge iptables; do
				if [ -z "$_cf" ] || ! jq -e "has(\"$_k\")" "$_cf" >/dev/null 2>&1; then
					[ $_k = bridge ] && cmd+=(--bridge=none) || cmd+=(--iptables=false)
				fi
			done
		fi
		;;
	dockerd)
		cmd=("$DOCKERD" -H "unix://$E2E_SOCK" --data-root "$E2E_DATA" --exec-root "$E2E_EXEC"
			--pidfile "$E2E_PIDFILE" --storage-driver "$E2E_STORAGE_DRIVER"
			--config-file "$E2E_TMP/daemon.json")
		if [ "${E2E_NETWORK:-0}" != 1 ]; then
			cmd+=(--bridge=none --iptables=false --ip-masq=false)
		fi
		echo '{}' >"$E2E_TMP/daemon.json"
		;;
	*)
		echo "unknown E2E_TARGET=$E2E_TARGET (berthd or dockerd)" >&2
		return 1
		;;
	esac
	# Kept for berthd_ensure, which restarts a daemon that died mid-suite.
	declare -p cmd >"$E2E_TMP/daemon.cmd"
	if [ $# -gt 0 ]; then printf '%q ' "$@"; fi >"$E2E_TMP/daemon.args"
	_e2e_spawn "${cmd[@]}" "$@" || return 1
	export DOCKER_HOST=unix://$E2E_SOCK BERTH_HOST=unix://$E2E_SOCK
	# Private client config: never read or write ~/.docker.
	export DOCKER_CONFIG=$E2E_TMP/home/.docker HOME=$E2E_TMP/home
}

# _e2e_spawn CMD...: start the daemon, wait for /_ping.
_e2e_spawn()
{
	# New session so the daemon ignores the terminal's signals; fd 3 closed so
	# bats does not wait for it.
	setsid "$@" </dev/null >>"$E2E_LOG" 2>&1 3>&- &
	E2E_DAEMON_PID=$!
	export E2E_DAEMON_PID
	echo "$E2E_DAEMON_PID" >"$E2E_TMP/daemon.spawned-pid"

	local i
	for ((i = 0; i < 600; i++)); do
		_e2e_ping && break
		if ! kill -0 "$E2E_DAEMON_PID" 2>/dev/null; then
			echo "daemon exited during start; log:" >&2
			tail -50 "$E2E_LOG" >&2
			return 1
		fi
		sleep 0.1
	done
	if ! _e2e_ping; then
		echo "daemon did not answer /_ping; log:" >&2
		tail -50 "$E2E_LOG" >&2
		return 1
	fi
}

# For setup(): if the suite's daemon died (crash in an earlier test), record
# it in $E2E_TMP/crashes and start it again on the same data root, so later
# tests stay independent. The suite's last test checks the record.
berthd_ensure()
{
	[ -n "${E2E_TMP:-}" ] || return 0
	_e2e_ping && return 0
	local pid
	pid=$(cat "$E2E_PIDFILE" 2>/dev/null || cat "$E2E_TMP/daemon.spawned-pid" 2>/dev/null)
	# a live but unresponsive daemon is a hang: count it too, then replace it
	if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then
		kill -KILL "$pid" 2>/dev/null || true
		_e2e_wait_gone 50 "$pid" || true
	fi
	{
		echo "daemon (pid ${pid:-?}) was down before test '${BATS_TEST_DESCRIPTION:-?}'; last log lines:"
		tail -20 "$E2E_LOG" | sed 's/^/    /'
	} >>"$E2E_TMP/crashes"
	echo "# daemon was down before this test: restarted (see the suite's crash test)" >&3
	local -a cmd
	# shellcheck disable=SC1091
	. "$E2E_TMP/daemon.cmd"
	rm -f "$E2E_SOCK" "$E2E_PIDFILE"
	eval "_e2e_spawn \"\${cmd[@]}\" $(cat "$E2E_TMP/daemon.args")"
}

# The last test of every suite: the daemon never died during the suite.
assert_no_daemon_crash()
{
	berthd_ensure || true
	if [ -s "$E2E_TMP/crashes" ]; then
		cat "$E2E_TMP/crashes" >&2
		return 1
	fi
}

# Pid files below the exec root (shims, runtimes, dockerd's containerd).
_e2e_pidfile_pids()
{
	local f p
	[ -d "$E2E_EXEC" ] || return 0
	while IFS= read -r -d '' f; do
		[ "$f" = "$E2E_PIDFILE" ] && continue
		p=$(tr -dc '0-9' <"$f" 2>/dev/null | head -c 10)
		[ -n "$p" ] && [ "$p" -gt 1 ] && echo "$p"
	done < <(find "$E2E_EXEC" \( -name '*.pid' -o -name pid -o -name 'pidfile' \) -type f -print0 2>/dev/null)
}

# Processes whose command line names this suite's temp dir.
_e2e_tmpdir_pids()
{
	local d p
	for d in /proc/[0-9]*; do
		p=${d#/proc/}
		[ "$p" = $$ ] && continue
		[ "$p" = "$BASHPID" ] && continue
		if tr '\0' ' ' 2>/dev/null <"$d/cmdline" | grep -qF "$E2E_TMP/"; then
			echo "$p"
		fi
	done
}

_e2e_kill_pids()
{
	local sig=$1 p
	shift
	for p in "$@"; do
		[ -d "/proc/$p" ] || continue
		[ "$p" = $$ ] && continue
		kill "-$sig" "$p" 2>/dev/null || true
	done
}

_e2e_wait_gone()
{
	local tries=$1 p alive
	shift
	while ((tries-- > 0)); do
		alive=0
		for p in "$@"; do
			if [ -d "/proc/$p" ] && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null; then
				alive=1
			fi
		done
		[ $alive = 0 ] && return 0
		sleep 0.1
	done
	return 1
}

_e2e_umount_all()
{
	local m pass
	for pass in 1 2 3; do
		# mountinfo field 5 is the mount point (octal escapes for spaces; our paths have none)
		mapfile -t mounts < <(awk -v pfx="$E2E_TMP/" 'index($5, pfx) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
		[ ${#mounts[@]} -eq 0 ] && return 0
		for m in "${mounts[@]}"; do
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
		done
	done
}

# cgroups of containers this daemon knew (their ids are the names of
# directories under <data-root>/containers), deepest first.
_e2e_remove_cgroups()
{
	local id dir
	[ -d "$E2E_DATA/containers" ] || return 0
	for id in $(ls "$E2E_DATA/containers" 2>/dev/null); do
		[ ${#id} -ge 12 ] || continue
		find /sys/fs/cgroup -mindepth 1 -maxdepth 6 -type d -name "*$id*" 2>/dev/null | sort -r |
			while IFS= read -r dir; do
				rmdir "$dir" 2>/dev/null || true
			done
	done
}

berthd_stop()
{
	[ -n "${E2E_TMP:-}" ] && [ -d "$E2E_TMP" ] || return 0
	local pid
	pid=$(cat "$E2E_PIDFILE" 2>/dev/null || cat "$E2E_TMP/daemon.spawned-pid" 2>/dev/null || true)
	if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		if ! _e2e_wait_gone 300 "$pid"; then
			echo "# daemon $pid ignored SIGTERM for 30s: SIGKILL" >&3
			kill -KILL "$pid" 2>/dev/null || true
			_e2e_wait_gone 50 "$pid" || true
		fi
	fi
	# Leftover shims/containers/containerd: by the pid files in our exec root
	# and by command lines naming our temp dir; never by process name.
	local -a pids
	mapfile -t pids < <({ _e2e_pidfile_pids; _e2e_tmpdir_pids; } | sort -u)
	if [ ${#pids[@]} -gt 0 ]; then
		_e2e_kill_pids TERM "${pids[@]}"
		_e2e_wait_gone 50 "${pids[@]}" || {
			_e2e_kill_pids KILL "${pids[@]}"
			_e2e_wait_gone 50 "${pids[@]}" || true
		}
	fi
	_e2e_umount_all
	if [ -n "${E2E_DATA_FS_HOOK:-}" ]; then "$E2E_DATA_FS_HOOK" teardown || true; fi
	_e2e_remove_cgroups
	if [ "${E2E_KEEP:-0}" = 1 ]; then
		echo "# kept $E2E_TMP" >&3
	else
		rm -rf --one-file-system "$E2E_TMP" 2>/dev/null || rm -rf --one-file-system "$E2E_TMP"
	fi
	unset E2E_TMP
}

# ---------------------------------------------------------------------------
# clients

# The CLI under test.
berth() { "$BERTH_CLI" "$@"; }
docker28() { "$DOCKER_CLI_28" "$@"; }
docker20() { "$DOCKER_CLI_20" "$@"; }

# api METHOD PATH [curl args...]: raw request on the daemon socket.
# Sets HTTP_CODE, HTTP_BODY and HTTP_HEADERS (CR stripped); returns 0 when
# curl itself worked.
api()
{
	local method=$1 path=$2
	shift 2
	local hdr body
	hdr=$(mktemp "${BATS_TEST_TMPDIR:-/tmp}/hdr.XXXXXX")
	body=$(mktemp "${BATS_TEST_TMPDIR:-/tmp}/body.XXXXXX")
	local -a m=(-X "$method")
	[ "$method" = HEAD ] && m=(-I)
	HTTP_CODE=$(curl -sS --max-time 120 --unix-socket "$E2E_SOCK" "${m[@]}" -D "$hdr" -o "$body" \
		-w '%{http_code}' "$@" "http://localhost$path") || {
		rm -f "$hdr" "$body"
		return 1
	}
	HTTP_HEADERS=$(tr -d '\r' <"$hdr")
	HTTP_BODY=$(cat "$body")
	[ "$method" = HEAD ] && HTTP_BODY=$(sed '1,/^\r\{0,1\}$/d' "$body")
	rm -f "$hdr" "$body"
}

# api_get_file PATH FILE: GET with the body written to FILE; sets HTTP_CODE.
api_get_file()
{
	HTTP_CODE=$(curl -sS --max-time 120 --unix-socket "$E2E_SOCK" -o "$2" -w '%{http_code}' "http://localhost$1")
	HTTP_BODY=
	[ "$HTTP_CODE" = 200 ] || HTTP_BODY=$(head -c 2000 "$2")
}

# header NAME: value of a response header from the last api call (case-insensitive).
header()
{
	printf '%s\n' "$HTTP_HEADERS" | awk -v n="$1" 'BEGIN { n = tolower(n) }
		{ i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) { print substr($0, i + 2); exit } }'
}

# ---------------------------------------------------------------------------
# assertions (print what was seen on failure)

fail()
{
	printf '%s\n' "$*" >&2
	return 1
}

assert_status()
{
	[ "$HTTP_CODE" = "$1" ] || fail "expected HTTP $1, got $HTTP_CODE: $HTTP_BODY"
}

# assert_message TEXT: body is {"message": TEXT}
assert_message()
{
	local got
	got=$(printf '%s' "$HTTP_BODY" | jq -r .message 2>/dev/null) || fail "body is not JSON: $HTTP_BODY"
	[ "$got" = "$1" ] || fail "expected message '$1', got '$got'"
}

assert_eq()
{
	[ "$1" = "$2" ] || fail "expected '$2'
got      '$1'"
}

assert_match()
{
	[[ $1 =~ $2 ]] || fail "'$1' does not match /$2/"
}

assert_contains()
{
	[[ $1 == *"$2"* ]] || fail "expected to find '$2' in:
$1"
}

assert_not_contains()
{
	[[ $1 != *"$2"* ]] || fail "did not expect '$2' in:
$1"
}

# ---------------------------------------------------------------------------
# images

fixture()
{
	local f=$E2E_FIXTURES/$1
	[ -f "$f" ] || skip "fixture $1 not found in $E2E_FIXTURES"
	echo "$f"
}

# Load the busybox docker-archive fixture (busybox:latest) through the API.
load_busybox()
{
	local f
	f=$(fixture busybox-docker-archive.tar) || return 1
	api POST '/images/load?quiet=1' -H 'Content-Type: application/x-tar' --data-binary "@$f"
	[ "$HTTP_CODE" = 200 ] || fail "load failed: $HTTP_CODE $HTTP_BODY"
	assert_not_contains "$HTTP_BODY" '"error'
}

# A rootfs tarball: the fixture, or built by scripts/build-busybox-image.sh.
busybox_rootfs()
{
	local f=$E2E_FIXTURES/busybox-rootfs.tar
	if [ ! -f "$f" ]; then
		f=${BATS_FILE_TMPDIR:-/tmp}/busybox-rootfs.tar
		[ -f "$f" ] || "$E2E_ROOT/scripts/build-busybox-image.sh" "$f" >&2
	fi
	echo "$f"
}

# Remove every image (force), so each test starts from an empty store.
reset_images()
{
	local ids id
	api GET '/images/json?all=1' || return 0
	ids=$(printf '%s' "$HTTP_BODY" | jq -r '.[].Id' 2>/dev/null) || return 0
	for id in $ids; do
		api DELETE "/images/$id?force=1" || true
	done
}

image_count()
{
	api GET '/images/json?all=1'
	printf '%s' "$HTTP_BODY" | jq length
}

# Number of layer directories the storage driver holds.
driver_layer_dirs()
{
	local d=$E2E_DATA/$E2E_STORAGE_DRIVER
	case $E2E_STORAGE_DRIVER in
	vfs) d=$E2E_DATA/vfs/dir ;;
	btrfs) d=$E2E_DATA/btrfs/subvolumes ;;
	esac
	[ -d "$d" ] || {
		echo 0
		return
	}
	find "$d" -mindepth 1 -maxdepth 1 -type d ! -name l ! -name '.*' ! -name 'tmp*' ! -name 'staging' | wc -l
}

skip_on_dockerd()
{
	[ "$E2E_TARGET" != dockerd ] || skip "dockerd 20.10: $*"
}

need_cli()
{
	[ -x "$1" ] || skip "$1 not installed"
}

# ---------------------------------------------------------------------------
# containers

# Remove every container (force), so each test starts from an empty table.
reset_containers()
{
	local ids id
	api GET '/containers/json?all=1' || return 0
	ids=$(printf '%s' "$HTTP_BODY" | jq -r '.[].Id' 2>/dev/null) || return 0
	for id in $ids; do
		api DELETE "/containers/$id?force=1" || true
	done
}

container_count()
{
	api GET '/containers/json?all=1'
	printf '%s' "$HTTP_BODY" | jq length
}

# For wait_for, which runs its command again on every try (a "$(...)" in its
# arguments would be expanded once, before the first try).
container_count_is() { [ "$(container_count)" = "$1" ]; }

# cjq REF FILTER: jq FILTER over the container's inspect document (raw output).
cjq()
{
	api GET "/containers/$1/json" || return 1
	[ "$HTTP_CODE" = 200 ] || {
		echo "inspect $1: HTTP $HTTP_CODE $HTTP_BODY" >&2
		return 1
	}
	printf '%s' "$HTTP_BODY" | jq -r "$2"
}

cstatus() { cjq "$1" .State.Status; }

# wait_for SECONDS CMD...: run CMD until it succeeds (every 0.1 s). A bound
# for progress, not a timing assertion: generous, and the failure says what
# was awaited.
wait_for()
{
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	"$@" >/dev/null 2>&1 && return 0
	fail "still not true after ${secs}s: $*"
}

status_is() { [ "$(cstatus "$1" 2>/dev/null)" = "$2" ]; }
wait_status() { wait_for "${3:-60}" status_is "$1" "$2"; }

# The container's log (API, both streams, no framing needed for a tty; for
# no tty the stdcopy headers are stripped).
logs_text()
{
	local tty
	tty=$(cjq "$1" .Config.Tty) || return 1
	if [ "$tty" = true ]; then
		curl -s --max-time 60 --unix-socket "$E2E_SOCK" "http://localhost/containers/$1/logs?stdout=1&stderr=1"
	else
		curl -s --max-time 60 --unix-socket "$E2E_SOCK" "http://localhost/containers/$1/logs?stdout=1&stderr=1" |
			python3 -c '
import sys
d = sys.stdin.buffer.read()
o = sys.stdout.buffer
while len(d) >= 8:
    n = int.from_bytes(d[4:8], "big")
    o.write(d[8:8 + n])
    d = d[8 + n:]
'
	fi
}
logs_contain() { logs_text "$1" | grep -qF -- "$2"; }

# Processes whose command line names this suite's exec root (shims).
exec_root_procs()
{
	local d
	for d in /proc/[0-9]*; do
		tr '\0' ' ' 2>/dev/null <"$d/cmdline" | grep -qF "$E2E_EXEC/" && echo "${d#/proc/}"
	done
	return 0
}

# ---------------------------------------------------------------------------
# daemon restarts (live restore)

berthd_pid() { cat "$E2E_PIDFILE" 2>/dev/null || cat "$E2E_TMP/daemon.spawned-pid"; }

# SIGKILL the daemon (not recorded as a crash).
berthd_kill9()
{
	local pid
	pid=$(berthd_pid)
	kill -KILL "$pid"
	_e2e_wait_gone 100 "$pid"
}

# Start the daemon again with the same command line, roots and socket.
berthd_respawn()
{
	local -a cmd
	# shellcheck disable=SC1091
	. "$E2E_TMP/daemon.cmd"
	rm -f "$E2E_SOCK" "$E2E_PIDFILE"
	eval "_e2e_spawn \"\${cmd[@]}\" $(cat "$E2E_TMP/daemon.args")"
}

# ---------------------------------------------------------------------------
# terminals: a private tmux server per suite (its socket is in the suite's
# temp dir, so berthd_stop also ends it)

tmx() { tmux -S "$E2E_TMP/tmux.sock" "$@"; }

# tmux_start NAME COLS ROWS CMD: run CMD (a shell command line) in a new
# session; when it ends the pane prints "[exit N]" and stays.
tmux_start()
{
	local name=$1 cols=$2 rows=$3 script
	shift 3
	script=$E2E_TMP/tmux-$name.sh
	{
		echo "export DOCKER_HOST=$DOCKER_HOST DOCKER_CONFIG=$DOCKER_CONFIG HOME=$HOME TERM=xterm"
		printf '%s\n' "$*"
		echo 'echo "[exit $?]"'
		echo 'exec sleep 3600'
	} >"$script"
	# a server that was just stopped may still be exiting ("server exited
	# unexpectedly"): try again a few times
	local i
	for ((i = 0; i < 20; i++)); do
		tmx new-session -d -s "$name" -x "$cols" -y "$rows" "bash $script" 3>&- && return 0
		sleep 0.2
	done
	tmx new-session -d -s "$name" -x "$cols" -y "$rows" "bash $script" 3>&-
}

tmux_screen() { tmx capture-pane -p -J -S -200 -t "$1"; }
tmux_has() { tmux_screen "$1" | grep -qF -- "$2"; }
tmux_wait() { wait_for "${3:-30}" tmux_has "$1" "$2" || { tmux_screen "$1" >&2; return 1; }; }
tmux_send() {
	local name=$1
	shift
	tmx send-keys -t "$name" "$@"
}
tmux_stop() { tmx kill-server 2>/dev/null || true; }
