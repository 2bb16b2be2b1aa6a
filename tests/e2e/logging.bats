#!/usr/bin/env bats
# Log drivers against local receivers (tests/e2e/lib/logsink.py): syslog over
# UDP, TCP and unix sockets, journald on a private socket, gelf (TCP; UDP chunked
# and compressed), fluentd (forward protocol); dual logging (`logs` for every
# driver, cache-disabled); docker's option validation at create; delivery
# off the stdio loop (a down endpoint does not block the container).
# Each receiver is started by the test and killed by PID in teardown.

# e2e: full-shim (scripts/e2e-run.sh: the instrumented shim, not berth-shim-lean)
load helpers

SINK=$BATS_TEST_DIRNAME/lib/logsink.py

setup_file()
{
	E2E_JOURNAL_DIR=$(mktemp -d /tmp/berth-journal.XXXXXX)
	export E2E_JOURNAL_DIR
	BERTH_JOURNAL_SOCKET=$E2E_JOURNAL_DIR/socket berthd_start
	load_busybox
}
teardown_file()
{
	berthd_stop
	rm -rf "$E2E_JOURNAL_DIR"
}
setup()
{
	berthd_ensure
	SINK_DIR=$(mktemp -d /tmp/berth-sink.XXXXXX)
	SINK_PIDS=()
}
teardown()
{
	reset_containers
	local p
	for p in "${SINK_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${SINK_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$SINK_DIR"
	rm -f "$E2E_JOURNAL_DIR/socket"
}

# sink_start NAME KIND ADDR: start a receiver; SINK_WHERE=its port or path.
sink_start()
{
	local name=$1 kind=$2 addr=$3
	python3 "$SINK" "$kind" "$addr" "$SINK_DIR/$name.out" "$SINK_DIR/$name.ready" 3>&- &
	SINK_PIDS+=($!)
	wait_for 30 test -s "$SINK_DIR/$name.ready"
	SINK_WHERE=$(cat "$SINK_DIR/$name.ready")
}
sink_count() { [ -f "$SINK_DIR/$1.out" ] && wc -l <"$SINK_DIR/$1.out" || echo 0; }
sink_has() { [ "$(sink_count "$1")" -ge "$2" ]; }
# sink_jq NAME FILTER: jq -r over every received record
sink_jq() { jq -r "$2" "$SINK_DIR/$1.out"; }

LINES3='echo one; echo two >&2; echo three'

@test "syslog over UDP: rfc5424 with facility and tag" {
	sink_start s syslog-udp 127.0.0.1:0
	run -0 berth run --name sl --log-driver syslog --log-opt "syslog-address=udp://127.0.0.1:$SINK_WHERE" \
		--log-opt syslog-facility=local3 --log-opt syslog-format=rfc5424 --log-opt 'tag={{.Name}}/x' \
		busybox sh -c "$LINES3"
	wait_for 30 sink_has s 3
	# stdout and stderr are separate pipes: compare each stream on its own
	# local3 = 19: info 19*8+6 = 158, err 19*8+3 = 155
	assert_match "$(sink_jq s .raw | grep ' - one$')" '^<158>1 [0-9T:-]+Z [^ ]+ sl/x [0-9]+ sl/x - one$'
	assert_match "$(sink_jq s .raw | grep ' - two$')" '^<155>1 [0-9T:-]+Z [^ ]+ sl/x [0-9]+ sl/x - two$'
	assert_eq "$(sink_jq s .raw | grep '^<158>' | sed 's/.* - //' | tr '\n' ' ')" "one three "
}

@test "syslog over TCP: rfc3164, default tag is the short id" {
	sink_start s syslog-tcp 127.0.0.1:0
	run -0 berth run --name st --log-driver syslog --log-opt "syslog-address=tcp://127.0.0.1:$SINK_WHERE" \
		--log-opt syslog-format=rfc3164 busybox sh -c "$LINES3"
	local id
	id=$(cjq st .Id)
	wait_for 30 sink_has s 3
	# daemon facility (3): 3*8+6 = 30
	assert_match "$(sink_jq s .raw | grep ': one$')" "^<30>[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} [^ ]+ ${id:0:12}\\[[0-9]+\\]: one\$"
	assert_match "$(sink_jq s .raw | grep ': two$')" "^<27>[A-Z].* ${id:0:12}\\[[0-9]+\\]: two\$"
	# rfc5424 over plain tcp keeps the newline frame (docker octet-counts over tcp+tls only)
	run -0 berth run --name s5 --log-driver syslog --log-opt "syslog-address=tcp://127.0.0.1:$SINK_WHERE" \
		--log-opt syslog-format=rfc5424 --log-opt tag=s5 busybox echo plain5424
	wait_for 30 grep -q plain5424 "$SINK_DIR/s.out"
	assert_match "$(sink_jq s 'select(.raw | endswith(" plain5424")) | [.octets, .raw] | @tsv')" \
		'^	<30>1 [0-9T:-]+Z [^ ]+ s5 [0-9]+ s5 - plain5424$'
}

# sink_tls_error NAME TEXT: the receiver saw a failed session whose error has TEXT
sink_tls_error() { sink_jq "$1" 'select(.tls_error) | .tls_error' | grep -q -- "$2"; }
# tls_certs DIR: a CA, a server certificate for 127.0.0.1 and a client certificate
tls_certs()
{
	local d=$1
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca -keyout "$d/ca-key.pem" \
		-out "$d/ca.pem" 2>/dev/null
	local n
	for n in server client; do
		openssl req -newkey rsa:2048 -nodes -subj "/CN=$n" -keyout "$d/$n-key.pem" -out "$d/$n.csr" 2>/dev/null
		printf 'subjectAltName=IP:127.0.0.1\n' >"$d/$n.ext"
		openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -CAcreateserial -days 2 \
			-extfile "$d/$n.ext" -out "$d/$n.pem" 2>/dev/null
	done
}

@test "syslog over tcp+tls: CA, client certificate; an untrusted server is refused" {
	tls_certs "$SINK_DIR"
	SINK_TLS_CERT=$SINK_DIR/server.pem SINK_TLS_KEY=$SINK_DIR/server-key.pem SINK_TLS_CA=$SINK_DIR/ca.pem \
		sink_start s syslog-tls 127.0.0.1:0
	local port=$SINK_WHERE
	run -0 berth run --name tl --log-driver syslog --log-opt "syslog-address=tcp+tls://127.0.0.1:$port" \
		--log-opt "syslog-tls-ca-cert=$SINK_DIR/ca.pem" --log-opt "syslog-tls-cert=$SINK_DIR/client.pem" \
		--log-opt "syslog-tls-key=$SINK_DIR/client-key.pem" --log-opt tag=tl busybox sh -c "$LINES3"
	wait_for 30 sink_has s 3
	assert_eq "$(sink_jq s .raw | sed 's/.*: //' | sort | tr '\n' ' ')" "one three two "
	assert_match "$(sink_jq s .raw | head -1)" '^<[0-9]+>.* tl\[[0-9]+\]: '
	assert_eq "$(sink_jq s 'select(.octets) | .raw' | wc -l)" 0
	# rfc5424 and rfc5424micro over tcp+tls: RFC 5425 octet counting, "LEN SP MSG",
	# LEN counting MSG's bytes with its trailing newline (docker 20.10's framer)
	local f
	for f in rfc5424 rfc5424micro; do
		run -0 berth run --name "t$f" --log-driver syslog --log-opt "syslog-address=tcp+tls://127.0.0.1:$port" \
			--log-opt "syslog-tls-ca-cert=$SINK_DIR/ca.pem" --log-opt "syslog-tls-cert=$SINK_DIR/client.pem" \
			--log-opt "syslog-tls-key=$SINK_DIR/client-key.pem" --log-opt syslog-format=$f --log-opt tag=t5 \
			busybox sh -c "echo $f-a; echo $f-b"
	done
	wait_for 30 sh -c "[ \$(grep -c -e rfc5424-. -e rfc5424micro-. '$SINK_DIR/s.out') -ge 4 ]"
	local line
	for line in rfc5424-a rfc5424-b rfc5424micro-a rfc5424micro-b; do
		run -0 sink_jq s "select(.raw | endswith(\" $line\")) | .octets == (.raw | utf8bytelength) + 1 and .nl"
		assert_eq "$output" true
	done
	assert_match "$(sink_jq s 'select(.raw | endswith(" rfc5424-a")) | .raw')" \
		'^<30>1 [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z [^ ]+ t5 [0-9]+ t5 - rfc5424-a$'
	assert_match "$(sink_jq s 'select(.raw | endswith(" rfc5424micro-a")) | .raw')" \
		'^<30>1 [0-9-]{10}T[0-9:]{8}(\.[0-9]{1,6})?Z [^ ]+ t5 [0-9]+ t5 - rfc5424micro-a$'
	# the server's certificate is not signed by the given CA: nothing is delivered
	run -0 berth run --name tu --log-driver syslog --log-opt "syslog-address=tcp+tls://127.0.0.1:$port" \
		--log-opt "syslog-tls-ca-cert=$SINK_DIR/client.pem" --log-opt "syslog-tls-cert=$SINK_DIR/client.pem" \
		--log-opt "syslog-tls-key=$SINK_DIR/client-key.pem" --log-opt mode=non-blocking busybox echo untrusted
	local id
	id=$(cjq tu .Id)
	wait_for 30 grep -q "failed to verify certificate" "$E2E_EXEC/containers/$id/shim.log"
	# skip-verify, but no client certificate: the server refuses the session
	run -0 berth run --name tk --log-driver syslog --log-opt "syslog-address=tcp+tls://127.0.0.1:$port" \
		--log-opt syslog-tls-skip-verify=true --log-opt mode=non-blocking busybox echo nocert
	wait_for 30 sink_tls_error s PEER_DID_NOT_RETURN_A_CERTIFICATE || {
		cat "$SINK_DIR/s.out" >&2
		false
	}
	assert_eq "$(sink_jq s 'select(.raw) | .raw' | grep -c -e untrusted -e nocert)" 0
}

@test "syslog over a unix socket (stream and datagram)" {
	sink_start u syslog-unix "$SINK_DIR/syslog.sock"
	run -0 berth run --name su --log-driver syslog --log-opt "syslog-address=unix://$SINK_DIR/syslog.sock" \
		--log-opt syslog-facility=user --log-opt tag=app busybox sh -c "$LINES3"
	wait_for 30 sink_has u 3
	assert_match "$(sink_jq u .raw | grep ': one$')" '^<14>[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} app\[[0-9]+\]: one$'
	sink_start g syslog-unixgram "$SINK_DIR/syslog.dgram"
	run -0 berth run --name sg --log-driver syslog --log-opt "syslog-address=unixgram://$SINK_DIR/syslog.dgram" \
		--log-opt tag=app2 busybox sh -c "$LINES3"
	wait_for 30 sink_has g 3
	assert_match "$(sink_jq g .raw | grep ': three$')" '^<30>[A-Z].* app2\[[0-9]+\]: three$'
}

@test "journald: docker's fields on a private journal socket" {
	sink_start j journald "$E2E_JOURNAL_DIR/socket"
	run -0 berth run --name jn --label team=blue --env APP=demo --log-driver journald \
		--log-opt labels=team --log-opt env=APP --log-opt 'tag={{.ImageName}}' busybox sh -c "$LINES3"
	local id
	id=$(cjq jn .Id)
	wait_for 30 sink_has j 3
	assert_eq "$(sink_jq j 'select(.PRIORITY == "6") | .MESSAGE' | tr '\n' ' ')" "one three "
	assert_eq "$(sink_jq j 'select(.PRIORITY == "3") | .MESSAGE' | tr '\n' ' ')" "two "
	assert_eq "$(sink_jq j .CONTAINER_ID | head -1)" "${id:0:12}"
	assert_eq "$(sink_jq j .CONTAINER_ID_FULL | head -1)" "$id"
	assert_eq "$(sink_jq j .CONTAINER_NAME | head -1)" jn
	assert_eq "$(sink_jq j .CONTAINER_TAG | head -1)" busybox
	assert_eq "$(sink_jq j .SYSLOG_IDENTIFIER | head -1)" busybox
	assert_eq "$(sink_jq j .IMAGE_NAME | head -1)" busybox
	assert_eq "$(sink_jq j .TEAM | head -1)" blue
	assert_eq "$(sink_jq j .APP | head -1)" demo
}

@test "gelf over UDP: docker's fields, gzip, a long line in chunks" {
	sink_start g gelf-udp 127.0.0.1:0
	run -0 berth run --name gf --log-driver gelf --log-opt "gelf-address=udp://127.0.0.1:$SINK_WHERE" \
		busybox sh -c 'echo one; echo two >&2; head -c 6000 /dev/urandom | od -An -tx1 | tr -d " \n"; echo'
	local id
	id=$(cjq gf .Id)
	wait_for 30 sink_has g 3
	assert_eq "$(sink_jq g 'select(.level == 3) | .short_message')" two
	assert_eq "$(sink_jq g 'select(.level == 6) | .short_message' | head -1)" one
	assert_eq "$(sink_jq g '.version' | head -1)" 1.1
	assert_eq "$(sink_jq g '._container_id' | head -1)" "$id"
	assert_eq "$(sink_jq g '._container_name' | head -1)" gf
	assert_eq "$(sink_jq g '._image_name' | head -1)" busybox
	assert_eq "$(sink_jq g '._image_id' | head -1)" "$BUSYBOX_ID"
	assert_eq "$(sink_jq g '._tag' | head -1)" "${id:0:12}"
	assert_eq "$(sink_jq g '.__compression' | head -1)" gzip
	# 12000 hex characters, random so they do not compress into one datagram
	assert_eq "$(sink_jq g 'select(.level == 6) | .short_message' | tail -1 | tr -d '\n' | wc -c)" 12000
	[ "$(sink_jq g 'select(.level == 6) | .__chunks' | tail -1)" -gt 1 ]
	assert_match "$(sink_jq g '.host' | head -1)" '.'
	assert_match "$(sink_jq g '._command' | head -1)" '^sh -c echo one; echo two >&2; head'
	assert_eq "$(sink_jq g '._created' | head -1)" "$(cjq gf .Created)"
}

@test "gelf: zlib compression" {
	sink_start g gelf-udp 127.0.0.1:0
	run -0 berth run --name gz --log-driver gelf --log-opt "gelf-address=udp://127.0.0.1:$SINK_WHERE" \
		--log-opt gelf-compression-type=zlib busybox echo zipped
	wait_for 30 sink_has g 1
	assert_eq "$(sink_jq g '.__compression')" zlib
	assert_eq "$(sink_jq g '.short_message')" zipped
}

@test "gelf over TCP: null-delimited uncompressed GELF with docker's fields, compression refused" {
	sink_start g gelf-tcp 127.0.0.1:0
	run -0 berth run --name gt --log-driver gelf --log-opt "gelf-address=tcp://127.0.0.1:$SINK_WHERE" \
		--log-opt 'tag={{.Name}}' --label team=blue --log-opt labels=team busybox sh -c "$LINES3"
	local id
	id=$(cjq gt .Id)
	# one record per NUL-terminated message: the three lines, nothing merged or split
	wait_for 30 sink_has g 3
	assert_eq "$(sink_count g)" 3
	assert_eq "$(sink_jq g 'select(.level == 6) | .short_message' | tr '\n' ' ')" "one three "
	assert_eq "$(sink_jq g 'select(.level == 3) | .short_message')" two
	assert_eq "$(sink_jq g '.__compression' | sort -u)" none
	assert_eq "$(sink_jq g '.version' | sort -u)" 1.1
	assert_eq "$(sink_jq g '.host' | sort -u)" "$(hostname)"
	assert_eq "$(sink_jq g '._container_name' | sort -u)" gt
	assert_eq "$(sink_jq g '._container_id' | sort -u)" "$id"
	assert_eq "$(sink_jq g '._image_name' | sort -u)" busybox
	assert_eq "$(sink_jq g '._image_id' | sort -u)" "$BUSYBOX_ID"
	assert_eq "$(sink_jq g '._tag' | sort -u)" gt
	assert_eq "$(sink_jq g '._team' | sort -u)" blue
	assert_eq "$(sink_jq g '._command' | sort -u)" "sh -c $LINES3"
	assert_eq "$(sink_jq g '._created' | sort -u)" "$(cjq gt .Created)"
	assert_match "$(sink_jq g '.timestamp | tostring' | head -1)" '^[0-9]{10}(\.[0-9]+)?$'
	assert_eq "$(sink_jq g 'has("full_message")' | sort -u)" false
	# compression options are refused for tcp, as docker 20.10 does
	local o
	for o in gelf-compression-type=gzip gelf-compression-level=3; do
		run -125 --separate-stderr berth run --rm --log-driver gelf \
			--log-opt "gelf-address=tcp://127.0.0.1:$SINK_WHERE" --log-opt "$o" busybox true
		assert_contains "$stderr" "compression is only supported on UDP"
	done
	assert_eq "$(sink_count g)" 3
}

@test "fluentd: forward protocol with docker's record fields" {
	sink_start f fluentd 127.0.0.1:0
	run -0 berth run --name fd --log-driver fluentd --log-opt "fluentd-address=127.0.0.1:$SINK_WHERE" \
		--log-opt 'tag=docker.{{.Name}}' busybox sh -c "$LINES3"
	local id
	id=$(cjq fd .Id)
	wait_for 30 sink_has f 3
	assert_eq "$(sink_jq f 'select(.record.source == "stdout") | .record.log' | tr '\n' ' ')" "one three "
	assert_eq "$(sink_jq f 'select(.record.source == "stderr") | .record.log')" two
	assert_eq "$(sink_jq f '.record.container_id' | head -1)" "$id"
	assert_eq "$(sink_jq f '.record.container_name' | head -1)" /fd
	assert_eq "$(sink_jq f '.tag' | head -1)" docker.fd
	assert_match "$(sink_jq f '.time' | head -1)" '^[0-9]+$'
}

@test "dual logging: logs works for every driver" {
	sink_start s syslog-udp 127.0.0.1:0
	local port=$SINK_WHERE
	run -0 berth run --name d1 --log-driver syslog --log-opt "syslog-address=udp://127.0.0.1:$port" \
		busybox sh -c "$LINES3"
	run -0 berth logs d1
	assert_eq "$(printf '%s\n' "${lines[@]}" | sort | tr '\n' ' ')" "one three two "
	run -0 --separate-stderr berth logs d1
	assert_eq "$output" "$(printf 'one\nthree')"
	assert_eq "$stderr" two
	run -0 berth run --name d2 --log-driver local --log-opt max-size=10k busybox sh -c "echo one; echo three"
	run -0 --separate-stderr berth logs --tail 1 d2
	assert_eq "$output" three
	# the endpoint is down: logs still has every line, the container is not held up
	kill "${SINK_PIDS[0]}"
	wait "${SINK_PIDS[0]}" 2>/dev/null || true
	run -0 berth run --name d3 --log-driver fluentd --log-opt fluentd-address=127.0.0.1:1 \
		--log-opt mode=non-blocking busybox sh -c "$LINES3"
	run -0 --separate-stderr berth logs d3
	assert_eq "$output" "$(printf 'one\nthree')"
	# attach with logs=1 replays the cache too (a tty container: no stream framing)
	run -0 berth create --name d4 -t --log-driver fluentd --log-opt fluentd-address=127.0.0.1:1 \
		--log-opt mode=non-blocking busybox echo replayed
	run -0 berth start d4
	wait_status d4 exited
	api POST "/containers/d4/attach?logs=1&stdout=1&stderr=1"
	assert_status 200
	assert_eq "$(printf '%s' "$HTTP_BODY" | tr -d '\r')" replayed
}

@test "dual logging: cache-disabled gives docker's error" {
	sink_start s syslog-udp 127.0.0.1:0
	run -0 berth run --name cd --log-driver syslog --log-opt "syslog-address=udp://127.0.0.1:$SINK_WHERE" \
		--log-opt cache-disabled=true busybox echo hi
	run -1 --separate-stderr berth logs cd
	assert_contains "$stderr" "configured logging driver does not support reading"
	api GET "/containers/cd/logs?stdout=1"
	assert_status 501
	assert_message "configured logging driver does not support reading"
}

@test "bad log options fail create with docker's messages" {
	run -125 --separate-stderr berth run --rm --log-driver syslog --log-opt foo=1 busybox true
	assert_contains "$stderr" "unknown log opt 'foo' for syslog log driver"
	run -125 --separate-stderr berth run --rm --log-driver gelf busybox true
	assert_contains "$stderr" "gelf-address is a required parameter"
	run -125 --separate-stderr berth run --rm --log-driver gelf --log-opt gelf-address=http://x:1 busybox true
	assert_contains "$stderr" "gelf: endpoint needs to be TCP or UDP"
	run -125 --separate-stderr berth run --rm --log-driver syslog --log-opt syslog-address=ftp://x busybox true
	assert_contains "$stderr" "unsupported scheme: 'ftp'"
	run -125 --separate-stderr berth run --rm --log-driver syslog --log-opt syslog-format=xml busybox true
	assert_contains "$stderr" "Invalid syslog format"
	run -125 --separate-stderr berth run --rm --log-driver syslog --log-opt syslog-facility=nope busybox true
	assert_contains "$stderr" "invalid syslog facility"
	run -125 --separate-stderr berth run --rm --log-driver journald --log-opt x=1 busybox true
	assert_contains "$stderr" "unknown log opt 'x' for journald log driver"
	run -125 --separate-stderr berth run --rm --log-driver fluentd --log-opt fluentd-retry-wait=abc busybox true
	assert_contains "$stderr" 'time: invalid duration'
	run -125 --separate-stderr berth run --rm --log-driver local --log-opt x=1 busybox true
	assert_contains "$stderr" "unknown log opt 'x' for log driver local"
	run -125 --separate-stderr berth run --rm --log-opt mode=fast busybox true
	assert_contains "$stderr" "logger: logging mode not supported: fast"
	run -125 --separate-stderr berth run --rm --log-opt max-buffer-size=1m busybox true
	assert_contains "$stderr" "max-buffer-size option is only supported with 'mode=non-blocking'"
	run -125 --separate-stderr berth run --rm --log-driver fluentd --log-opt cache-disabled=maybe busybox true
	assert_contains "$stderr" "cache-disabled"
	wait_for 30 container_count_is 0
}

# local_decode FILE: the records of a local-driver file, one "source|line" a
# line (docker's framing and LogEntry fields 1 and 3, decoded independently)
local_decode()
{
	python3 - "$1" <<'PY'
import gzip, struct, sys
p = sys.argv[1]
data = (gzip.open if p.endswith(".gz") else open)(p, "rb").read()
def varint(b, i):
    v = s = 0
    while True:
        c = b[i]; i += 1; v |= (c & 0x7f) << s; s += 7
        if not c & 0x80:
            return v, i
i = 0
while i < len(data):
    (n,) = struct.unpack(">I", data[i:i + 4]); msg = data[i + 4:i + 4 + n]
    assert struct.unpack(">I", data[i + 4 + n:i + 8 + n])[0] == n, "footer"
    i += 8 + n
    f, j = {}, 0
    while j < len(msg):
        tag, j = varint(msg, j)
        if tag & 7 == 2:
            ln, j = varint(msg, j); f[tag >> 3] = msg[j:j + ln]; j += ln
        else:
            f[tag >> 3], j = varint(msg, j)
    assert f[2] > 1500000000 * 10**9, "time_nano"
    print(f[1].decode() + "|" + f.get(3, b"").decode())
PY
}

@test "local: docker's protobuf records, rotated and compressed, read back by logs" {
	run -0 berth run --name lc --log-driver local --log-opt max-size=10k --log-opt max-file=2 \
		busybox sh -c 'echo err >&2; i=0; while [ $i -lt 700 ]; do echo "line $i"; i=$((i+1)); done'
	local dir
	dir=$E2E_DATA/containers/$(cjq lc .Id)/local-logs
	[ -f "$dir/container.log.1.gz" ]
	[ ! -e "$dir/container.log.2.gz" ]
	assert_eq "$(local_decode "$dir/container.log" | tail -1)" "stdout|line 699"
	local rotated
	rotated=$(local_decode "$dir/container.log.1.gz" | head -1)
	assert_match "$rotated" '^stdout\|line [0-9]+$'
	# logs: the oldest file is gone, the rest in order, ending with the last line
	run -0 --separate-stderr berth logs lc
	assert_eq "${lines[0]}" "${rotated#stdout|}"
	assert_eq "${lines[-1]}" "line 699"
	run -0 --separate-stderr berth logs --tail 2 lc
	assert_eq "$output" "$(printf 'line 698\nline 699')"
	run -125 --separate-stderr berth run --rm --log-driver local --log-opt max-file=1 busybox true
	assert_contains "$stderr" "compression cannot be enabled when max file count is 1"
}

@test "info lists the log drivers; inspect shows LogConfig" {
	api GET /info
	assert_eq "$(printf '%s' "$HTTP_BODY" | jq -c '.Plugins.Log')" \
		'["awslogs","fluentd","gelf","journald","json-file","local","syslog"]'
	assert_eq "$(printf '%s' "$HTTP_BODY" | jq -r '.LoggingDriver')" json-file
	run -0 berth create --name ic --log-driver local --log-opt max-file=3 busybox true
	assert_eq "$(cjq ic .HostConfig.LogConfig | jq -c .)" '{"Type":"local","Config":{"max-file":"3"}}'
}

@test "a down endpoint in non-blocking mode does not hold the container up" {
	# nothing listens: every delivery fails and is retried in the background
	run -0 berth run --name nb --log-driver syslog --log-opt syslog-address=tcp://127.0.0.1:1 \
		--log-opt mode=non-blocking --log-opt max-buffer-size=64k \
		busybox sh -c 'i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done'
	wait_status nb exited
	assert_eq "$(cjq nb .State.ExitCode)" 0
	run -0 berth logs --tail 1 nb
	assert_eq "$output" line-2999
}

@test "the real docker CLI sets drivers and options" {
	need_cli "$DOCKER_CLI_28"
	sink_start s syslog-udp 127.0.0.1:0
	run -0 "$DOCKER_CLI_28" run --name dk --log-driver syslog --log-opt "syslog-address=udp://127.0.0.1:$SINK_WHERE" \
		--log-opt tag=dk busybox echo from-docker
	wait_for 30 sink_has s 1
	assert_match "$(sink_jq s .raw)" 'dk\[[0-9]+\]: from-docker$'
	run -0 "$DOCKER_CLI_28" logs dk
	assert_eq "$output" from-docker
	run -125 --separate-stderr "$DOCKER_CLI_28" run --rm --log-driver syslog --log-opt foo=1 busybox true
	assert_contains "$stderr" "unknown log opt 'foo' for syslog log driver"
}

@test "no daemon crash during the suite" {
	assert_no_daemon_crash
}
