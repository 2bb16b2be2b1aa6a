# Logging benchmarks (issue 12), sourced by bench/run.sh: `bench/run.sh logging`.
# In one run, on berthd and on a private dockerd 20.10: the lines per second
# a container can write (`yes | head -n L`, timed inside the container)
# through json-file, local, syslog over UDP (a local receiver that discards)
# and awslogs (the local CloudWatch Logs endpoint of the e2e tests,
# tests/e2e/lib/cwlogs.py); and the time per line a container takes to write
# L lines to awslogs in non-blocking mode while the endpoint is stalled. A driver the peer cannot
# run (docker 20.10's awslogs refuses a plain-http endpoint) shows "-".

LOG_LINES=${BENCH_LOG_LINES:-100000}
LOG_N=${BENCH_LOG_N:-3}
LOG_AK=AKIDBERTHBENCH
LOG_SK=berth-bench-secret

# log_run CLI DRIVER-ARGS...: seconds a container takes to write LOG_LINES
# lines, timed inside it (/proc/uptime before and after; the result is its
# last line on stderr, read back with `logs`, so start and exit are left out)
log_run()
{
	local cli=$1 id out=
	shift
	id=$("$cli" run -d --network none "$@" busybox sh -c \
		"s=\$(cat /proc/uptime); yes 'a benchmark log line of sixty-four bytes ......................' |
		head -n $LOG_LINES; e=\$(cat /proc/uptime); echo \"elapsed \${s%% *} \${e%% *}\" >&2") || return 1
	# stderr only: the stdout lines before it may be stored after it (two pipes)
	# bounded by the clock: a `logs` that blocks (docker's awslogs with a
	# stalled endpoint) takes its 10 s each try, and wait_for counts tries
	local end=$((SECONDS + 120))
	while [ -z "$out" ] && ((SECONDS < end)); do
		out=$(timeout 10 "$cli" logs "$id" 2>&1 >/dev/null | grep '^elapsed')
		[ -n "$out" ] || sleep 0.2
	done
	timeout 60 "$cli" rm -f "$id" >/dev/null 2>&1
	[ -n "$out" ] || return 1
	awk -v a="$(echo "$out" | cut -d' ' -f2)" -v b="$(echo "$out" | cut -d' ' -f3)" \
		'BEGIN { t = b - a; if (t < 0.01) t = 0.01; printf "%.3f\n", t }'
}

# log_rate CLI DRIVER-ARGS...: median lines/s over LOG_N runs, "-" when the driver fails
log_rate()
{
	local samples=() t i
	for ((i = 0; i < LOG_N; i++)); do
		t=$(log_run "$@") || {
			echo "bench: logging: $1 $2 $3 failed" >&2
			echo -
			return
		}
		samples+=("$t")
	done
	awk -v l="$LOG_LINES" -v t="$(printf '%s\n' "${samples[@]}" | median)" 'BEGIN { printf "%.0f\n", l / t }'
}

# log_series TARGET: "json local syslog awslogs stalled_us_per_line"
log_series()
{
	local target=$1 cli dir rpid cpid port cw_port
	cli=$(cli_for)
	"$cli" load -q -i "$E2E_FIXTURES/busybox-docker-archive.tar" >/dev/null 2>&1
	log_run "$cli" --log-driver json-file >/dev/null # warm up
	dir=$(mktemp -d /tmp/berth-bench-log.XXXXXX)
	# syslog receiver: binds a UDP port, discards what it gets
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
while True: s.recv(65536)' "$dir/udp.port" &
	rpid=$!
	python3 "$E2E_ROOT/tests/e2e/lib/cwlogs.py" "$LOG_AK" "$LOG_SK" us-east-1 /dev/null "$dir/cw.ready" \
		"$dir/stall" &
	cpid=$!
	wait_for 30 test -s "$dir/udp.port"
	wait_for 30 test -s "$dir/cw.ready"
	port=$(cat "$dir/udp.port")
	cw_port=$(cat "$dir/cw.ready")
	local aws=(--log-driver awslogs --log-opt "awslogs-endpoint=http://127.0.0.1:$cw_port" --log-opt
		awslogs-group=bench --log-opt awslogs-create-group=true)
	local json local syslog awslogs stalled=-
	json=$(log_rate "$cli" --log-driver json-file)
	local=$(log_rate "$cli" --log-driver local)
	syslog=$(log_rate "$cli" --log-driver syslog --log-opt "syslog-address=udp://127.0.0.1:$port")
	awslogs=$(log_rate "$cli" "${aws[@]}")
	if [ "$awslogs" != - ]; then
		touch "$dir/stall"
		local t
		t=$(log_run "$cli" "${aws[@]}" --log-opt mode=non-blocking) &&
			stalled=$(awk -v t="$t" -v l="$LOG_LINES" 'BEGIN { printf "%.2f\n", t * 1e6 / l }')
		rm -f "$dir/stall"
	fi
	kill "$rpid" "$cpid" 2>/dev/null
	wait "$rpid" "$cpid" 2>/dev/null
	rm -rf "$dir"
	echo "$json $local $syslog $awslogs $stalled"
}

bench_logging()
{
	local b=(- - - - -) d=(- - - - -)
	echo "bench: logging, $LOG_LINES lines a run, median of $LOG_N" >&2
	if [ -x "$BERTHD" ] && [ -x "$BERTH_CLI" ] &&
		AWS_ACCESS_KEY_ID=$LOG_AK AWS_SECRET_ACCESS_KEY=$LOG_SK AWS_REGION=us-east-1 daemon_up berthd; then
		read -r -a b < <(log_series berthd)
		daemon_down
	fi
	if have_dockerd && AWS_ACCESS_KEY_ID=$LOG_AK AWS_SECRET_ACCESS_KEY=$LOG_SK AWS_REGION=us-east-1 \
		daemon_up dockerd; then
		read -r -a d < <(log_series dockerd)
		daemon_down
	fi
	local names=(json-file local "syslog (udp)" "awslogs (local endpoint)") i
	for i in 0 1 2 3; do
		row "log lines/s, ${names[$i]}" "${b[$i]}" "docker run (20.10) ${d[$i]}" "$(ratio "${b[$i]}" "${d[$i]}")"
	done
	row "awslogs stalled, non-blocking, us/line" "${b[4]}" "docker run (20.10) ${d[4]}" \
		"$(ratio "${b[4]}" "${d[4]}")"
	local up
	up=$(awk -v r="${b[3]}" 'BEGIN { if (r > 0) printf "%.2f", 1e6 / r; else print "-" }')
	row "" "" "berth, endpoint up (blocking) $up" "$(ratio "${b[4]}" "$up")"
}
