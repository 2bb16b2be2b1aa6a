#!/usr/bin/env bats
# docker-compose 1.29 (Debian's docker-compose, docker-py) through berthd: a
# two-service project — a web service publishing a port with busybox httpd,
# a client resolving it by service name on the project's network — comes up,
# works, and `down` leaves no network, bridge, container or rule behind.
# e2e: serial
# (iptables chains are global: this suite runs alone)

load helpers
load lib/net

setup_file()
{
	export E2E_NETWORK=1
	_e2e_net_names
	local gw=${E2E_SUBNET%.0/24}.1
	berthd_start --default-bridge-name "$E2E_BRIDGE" --bip "$gw/24"
	load_busybox
	command -v docker-compose >/dev/null || skip "docker-compose not installed (scripts/install-deps.sh)"
	PROJ=$BATS_FILE_TMPDIR/proj
	mkdir -p "$PROJ"
	# the project network gets a subnet of this suite (10.251.x: E2E_SUBNET uses 10.20-219.x)
	cat >"$PROJ/docker-compose.yml" <<'EOF'
version: "2.4"
services:
  web:
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo compose-web >/www/index.html && exec httpd -f -p 80 -h /www"]
    ports:
      - "127.0.0.1::80"
  client:
    image: busybox
    command: ["sh", "-c", "until wget -qO- http://web/ >/tmp/got 2>/dev/null; do sleep 0.2; done; cat /tmp/got; exec sleep 300"]
    depends_on:
      - web
networks:
  default:
    ipam:
      config:
        - subnet: 10.251.21.0/24
EOF
	export PROJ
}

teardown_file()
{
	if [ -n "${PROJ:-}" ] && [ -d "$PROJ" ]; then
		(cd "$PROJ" && docker-compose -p bcomp down -t 1 >/dev/null 2>&1) || true
	fi
	berthd_stop
	# the suite's default bridge and its rules stay after berthd stops (as docker0 does)
	net_cleanup
}

setup() { berthd_ensure; }

compose() { (cd "$PROJ" && docker-compose -p bcomp "$@"); }

client_got_page() { compose logs client 2>/dev/null | grep -q compose-web; }

@test "docker-compose up: the client reaches the web service by name; the published port answers" {
	run compose up -d
	[ "$status" -eq 0 ] || fail "$output"
	run berth network ls --format '{{.Name}}'
	assert_contains "$output" bcomp_default
	wait_for 60 client_got_page || fail "client never fetched http://web/: $(compose logs client 2>&1)"
	run compose port web 80
	[ "$status" -eq 0 ] || fail "$output"
	local hp=${output##*:}
	assert_match "$output" '^127\.0\.0\.1:[0-9]+$'
	run curl -sf --max-time 10 "http://127.0.0.1:$hp/"
	[ "$status" -eq 0 ] || fail "published port $hp: $output"
	assert_eq "$output" compose-web
	# compose's service alias is in the endpoint
	local cid
	cid=$(compose ps -q web)
	run berth inspect -f '{{json .NetworkSettings.Networks.bcomp_default.Aliases}}' "$cid"
	assert_contains "$output" '"web"'
}

@test "docker-compose down leaves no network, bridge, container or rule behind" {
	compose up -d >/dev/null 2>&1 || true
	local netid
	netid=$(berth network inspect -f '{{.Id}}' bcomp_default)
	[ -n "$netid" ] || fail "project network missing"
	run compose down -t 1
	[ "$status" -eq 0 ] || fail "$output"
	run berth network ls --format '{{.Name}}'
	assert_not_contains "$output" bcomp_default
	assert_eq "$(berth ps -aq | wc -l)" 0
	! ip link show "br-${netid:0:12}" >/dev/null 2>&1 || fail "bridge br-${netid:0:12} left behind"
	run ip -br link show master "$E2E_BRIDGE"
	assert_eq "$output" ""
	run ls "$E2E_EXEC/netns"
	assert_eq "$output" ""
	run sh -c 'iptables-save; ip6tables-save'
	assert_not_contains "$output" "10.251.21"
	assert_not_contains "$output" "br-${netid:0:12}"
}
