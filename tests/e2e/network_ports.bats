#!/usr/bin/env bats
# Published ports (issue 8, item 3): -P over EXPOSE into the ephemeral range,
# -p forms, the userland proxy (loopback) and DNAT (host address), hairpin NAT
# with --userland-proxy=false, rules while running and none after stop, no
# duplicates across daemon restarts, kill -9 of berthd with a published
# container (adopted), a taken port, and nothing left after the suite.
# e2e: serial
# (iptables chains are global: the network suites run alone)

load helpers
load lib/net

setup_file()
{
	[ "$E2E_TARGET" = berthd ] || skip "berthd's own bridge and chains"
	net_cleanup
	net_daemon_start
	load_busybox
	# an image that EXPOSEs 80 and serves a file with busybox httpd
	berth run --name np-base busybox sh -c 'mkdir -p /www && echo hello >/www/index.html' >/dev/null
	berth commit -c 'EXPOSE 80' -c 'CMD ["httpd", "-f", "-p", "80", "-h", "/www"]' np-base np-web:1 >/dev/null
	berth rm np-base >/dev/null
}

teardown_file()
{
	[ "$E2E_TARGET" = berthd ] || return 0
	berth rm -f $(berth ps -aq) >/dev/null 2>&1 || true
	berthd_stop
	net_cleanup
}

setup() { berthd_ensure; }

teardown() { berth rm -f $(berth ps -aq) >/dev/null 2>&1 || true; }

host_port() { berth port "$1" "$2" | head -1 | sed 's/.*://'; }

@test "-P: a port of the ephemeral range; the file on 127.0.0.1 and on the host's address" {
	run -0 berth run -d --name np-p -P np-web:1
	run -0 berth port np-p
	# dockerd 20.10: the same port on "::" too (its proxy goes to the IPv4 address)
	assert_match "$output" '^80/tcp -> 0\.0\.0\.0:[0-9]+
80/tcp -> :::[0-9]+$'
	local port lo hi
	port=$(host_port np-p 80/tcp)
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
	[ "$port" -ge "$lo" ] && [ "$port" -le "$hi" ] || fail "port $port not in $lo-$hi"
	wait_for 20 net_fetch_ok "http://127.0.0.1:$port/index.html"
	assert_eq "$(net_fetch "http://127.0.0.1:$port/index.html")" hello
	assert_eq "$(net_fetch "http://$(net_host_ip):$port/index.html")" hello
	# inspect and ps show the mapping
	assert_eq "$(berth inspect -f '{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}' np-p)" "$port"
	assert_eq "$(berth ps --format '{{.Ports}}' -f name=np-p)" "0.0.0.0:$port->80/tcp, :::$port->80/tcp"
	assert_eq "$(berth port np-p 80/tcp | tail -1)" ":::$port"
	assert_eq "$(net_fetch "http://[::1]:$port/index.html")" hello
}

@test "-p 127.0.0.1:port:80 answers on loopback only; -p ip::port and --expose" {
	run -0 berth run -d --name np-lo -p 127.0.0.1:18391:80 np-web:1
	wait_for 20 net_fetch_ok "http://127.0.0.1:18391/index.html"
	run net_fetch "http://$(net_host_ip):18391/index.html"
	assert_eq "$output" ""
	run -0 berth port np-lo
	assert_eq "$output" "80/tcp -> 127.0.0.1:18391"
	run -0 berth run -d --name np-eph -p 127.0.0.1::80 --expose 81 np-web:1
	run -0 berth port np-eph 80
	assert_match "$output" '^127\.0\.0\.1:[0-9]+$'
	# an exposed port without binding is listed with no host side
	assert_eq "$(berth inspect -f '{{json (index .NetworkSettings.Ports "81/tcp")}}' np-eph)" null
}

@test "iptables shows MASQUERADE and the DNAT while the container runs, nothing of it after stop" {
	run -0 berth run -d --name np-ipt -p 18392:80 np-web:1
	local ip
	ip=$(berth inspect -f '{{.NetworkSettings.IPAddress}}' np-ipt)
	run -0 iptables -w -t nat -S
	assert_contains "$output" "-A POSTROUTING -s $E2E_SUBNET ! -o $E2E_BRIDGE -j MASQUERADE"
	assert_contains "$output" "-A BERTH ! -i $E2E_BRIDGE -p tcp -m tcp --dport 18392 -j DNAT --to-destination $ip:80"
	assert_contains "$output" "-A POSTROUTING -s $ip/32 -d $ip/32 -p tcp -m tcp --dport 80 -j MASQUERADE"
	run -0 iptables -w -S BERTH
	assert_contains "$output" "-A BERTH -d $ip/32 ! -i $E2E_BRIDGE -o $E2E_BRIDGE -p tcp -m tcp --dport 80 -j ACCEPT"
	[ -n "$(net_proxies)" ] || fail "no userland proxy"
	run -0 berth stop -t 1 np-ipt
	run -0 iptables -w -t nat -S
	assert_not_contains "$output" "$ip"
	assert_not_contains "$output" "--dport 18392"
	assert_not_contains "$(iptables -w -S)" "$ip"
	net_assert_no_container_leftovers
	# the network's own rules stay while berthd runs
	assert_contains "$(iptables -w -t nat -S)" "-A POSTROUTING -s $E2E_SUBNET ! -o $E2E_BRIDGE -j MASQUERADE"
}

@test "a restart of berthd does not duplicate rules; kill -9 keeps the container reachable and the new daemon adopts it" {
	run -0 berth run -d --name np-live -p 18393:80 np-web:1
	wait_for 20 net_fetch_ok "http://127.0.0.1:18393/index.html"
	local before ip
	before=$(net_rules | sort)
	ip=$(berth inspect -f '{{.NetworkSettings.IPAddress}}' np-live)
	# a clean restart
	berthd_stop_keep() { local pid; pid=$(berthd_pid); kill -TERM "$pid"; _e2e_wait_gone 300 "$pid"; }
	berthd_stop_keep
	berthd_respawn
	assert_eq "$(net_rules | sort)" "$before"
	# kill -9: the container keeps answering while no daemon runs
	berthd_kill9
	assert_eq "$(net_fetch "http://127.0.0.1:18393/index.html")" hello
	assert_eq "$(net_fetch "http://$(net_host_ip):18393/index.html")" hello
	berthd_respawn
	assert_eq "$(net_rules | sort)" "$before"
	assert_eq "$(berth inspect -f '{{.NetworkSettings.IPAddress}}' np-live)" "$ip"
	assert_eq "$(net_fetch "http://127.0.0.1:18393/index.html")" hello
	# adopted: its port is still taken, and a stop removes its rules
	run -125 berth run -d --name np-dup -p 18393:80 np-web:1
	assert_contains "$output" "Bind for 0.0.0.0:18393 failed: port is already allocated"
	run -0 berth stop -t 1 np-live
	net_assert_no_container_leftovers
}

@test "a container that stopped while berthd was down: its rules are removed at start" {
	run -0 berth run -d --name np-gone -p 18394:80 np-web:1
	local ip pid
	ip=$(berth inspect -f '{{.NetworkSettings.IPAddress}}' np-gone)
	pid=$(berth inspect -f '{{.State.Pid}}' np-gone)
	berthd_kill9
	kill -KILL "$pid"
	wait_for 20 bash -c "! kill -0 $pid"
	berthd_respawn
	wait_status np-gone exited
	assert_not_contains "$(iptables -w -t nat -S)" "$ip"
	net_assert_no_container_leftovers
}

@test "a taken port fails the start with docker's message; nothing is left of it" {
	run -0 berth run -d --name np-a -p 18395:80 np-web:1
	local veths
	veths=$(net_veths | wc -l)
	run -125 berth run -d --name np-b -p 18395:80 np-web:1
	assert_contains "$output" "driver failed programming external connectivity on endpoint np-b"
	assert_contains "$output" "Bind for 0.0.0.0:18395 failed: port is already allocated"
	assert_eq "$(net_veths | wc -l)" "$veths"
	assert_eq "$(cstatus np-b)" created
	[ ! -e "$E2E_EXEC/netns/$(berth inspect -f '{{.Id}}' np-b | cut -c1-12)" ] || fail "sandbox left"
	# a port a host process holds: the proxy cannot bind it
	python3 -c 'import socket,time,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0",18396)); s.listen(); sys.stdout.write("ok\n"); sys.stdout.flush(); time.sleep(60)' >"$BATS_TEST_TMPDIR/hold" &
	local holder=$!
	wait_for 10 grep -q ok "$BATS_TEST_TMPDIR/hold"
	run -125 berth run -d --name np-c -p 18396:80 np-web:1
	kill "$holder"
	assert_contains "$output" "Error starting userland proxy: listen tcp4 0.0.0.0:18396: bind: address already in use"
	assert_not_contains "$(iptables -w -t nat -S)" "--dport 18396"
	assert_eq "$(net_veths | wc -l)" "$veths"
}

@test "malformed -p and bad addresses: clear errors, nothing created" {
	local n
	n=$(container_count)
	run -125 berth run -d -p 80a:80 np-web:1
	assert_contains "$output" "80a"
	run -125 berth run -d -p 1.2.3:8080:80 np-web:1
	assert_contains "$output" "1.2.3"
	# the API refuses a bad binding at create, as dockerd does
	api POST /containers/create -H 'Content-Type: application/json' \
		-d '{"Image":"np-web:1","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"x1"}]}}}'
	assert_status 400
	assert_contains "$HTTP_BODY" 'invalid port specification: \"x1\"'
	assert_eq "$(container_count)" "$n"
	net_assert_no_container_leftovers
}

@test "the real docker CLIs (28.x and 20.10): run -d -p and port" {
	local cli hp=18397 ran=0
	for cli in "$DOCKER_CLI_28" "$DOCKER_CLI_20"; do
		[ -x "$cli" ] || continue
		ran=1
		run -0 "$cli" run -d --name np-cli -p 127.0.0.1:$hp:80 np-web:1
		run -0 "$cli" port np-cli
		assert_eq "$output" "80/tcp -> 127.0.0.1:$hp"
		run -0 "$cli" port np-cli 80/tcp
		assert_eq "$output" "127.0.0.1:$hp"
		wait_for 20 net_fetch_ok "http://127.0.0.1:$hp/index.html"
		run -0 "$cli" ps --format '{{.Ports}}' -f name=np-cli
		assert_eq "$output" "127.0.0.1:$hp->80/tcp"
		run -0 "$cli" rm -f np-cli
		hp=$((hp + 1))
	done
	[ "$ran" = 1 ] || skip "no docker CLI installed"
}

@test "binding order as dockerd 20.10: a port's tcp bindings reversed, -P from the largest port, Ports keys sorted" {
	run berth run -d --name np-ord -p 18180:80 -p 127.0.0.1:19190:80 -p 17170:80 -p 18143:443 --expose 22 busybox sleep 300
	[ "$status" -eq 0 ] || fail "$output"
	# the "::" twin of a default-address binding when the host can listen on IPv6 (as dockerd)
	local t80a= t80b= t443=
	if [ -e /proc/net/if_inet6 ]; then
		t80a=',{"HostIp":"::","HostPort":"17170"}' t80b=',{"HostIp":"::","HostPort":"18180"}'
		t443=',{"HostIp":"::","HostPort":"18143"}'
	fi
	api GET /containers/np-ord/json
	assert_status 200
	# captured from dockerd 20.10.24 with the same flags
	assert_eq "$(jq -c .NetworkSettings.Ports <<<"$HTTP_BODY")" \
		'{"22/tcp":null,"443/tcp":[{"HostIp":"0.0.0.0","HostPort":"18143"}'"$t443"'],"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"17170"}'"$t80a"',{"HostIp":"127.0.0.1","HostPort":"19190"},{"HostIp":"0.0.0.0","HostPort":"18180"}'"$t80b"']}'
	run -0 berth port np-ord 80
	assert_eq "$(head -1 <<<"$output")" "0.0.0.0:17170"
	assert_eq "$(tail -1 <<<"$output")" "$([ -n "$t80b" ] && echo ":::18180" || echo "0.0.0.0:18180")"
	run -0 berth port np-ord
	assert_eq "$(head -1 <<<"$output")" "443/tcp -> 0.0.0.0:18143"
	# -P: dockerd allocates the ephemeral ports from the largest container port down
	run berth run -d --name np-ordp --expose 53/udp --expose 8080 --expose 443 --expose 80 -P busybox sleep 300
	[ "$status" -eq 0 ] || fail "$output"
	local p8080 p443 p80
	p8080=$(host_port np-ordp 8080) p443=$(host_port np-ordp 443) p80=$(host_port np-ordp 80)
	[ "$p8080" -lt "$p443" ] && [ "$p443" -lt "$p80" ] || fail "allocation order: 8080:$p8080 443:$p443 80:$p80"
	api GET /containers/np-ordp/json
	assert_eq "$(jq -c '.NetworkSettings.Ports | keys_unsorted' <<<"$HTTP_BODY")" '["443/tcp","53/udp","80/tcp","8080/tcp"]'
}

@test "--userland-proxy=false: DNAT from loopback (route_localnet) and hairpin NAT, no proxy" {
	berth rm -f $(berth ps -aq) >/dev/null 2>&1 || true
	berthd_stop_keep() { local pid; pid=$(berthd_pid); kill -TERM "$pid"; _e2e_wait_gone 300 "$pid"; }
	berthd_stop_keep
	rm -f "$E2E_SOCK" "$E2E_PIDFILE"
	# same roots, one more flag
	local -a cmd
	. "$E2E_TMP/daemon.cmd"
	_e2e_spawn "${cmd[@]}" --default-bridge-name "$E2E_BRIDGE" --bip "$(net_gw)/24" --userland-proxy=false
	printf '%q ' --default-bridge-name "$E2E_BRIDGE" --bip "$(net_gw)/24" --userland-proxy=false >"$E2E_TMP/daemon.args"
	run -0 berth run -d --name np-hp -p 18398:80 np-web:1
	[ -z "$(net_proxies)" ] || fail "a proxy runs: $(net_proxies)"
	assert_eq "$(cat "/proc/sys/net/ipv4/conf/$E2E_BRIDGE/route_localnet")" 1
	wait_for 20 net_fetch_ok "http://127.0.0.1:18398/index.html"
	assert_eq "$(net_fetch "http://$(net_host_ip):18398/index.html")" hello
	# hairpin: another container, and the container itself, through the host's address
	local req='GET /index.html HTTP/1.0\r\n\r\n'
	run -0 berth run --rm busybox sh -c "printf '$req' | nc -w 5 $(net_host_ip) 18398"
	assert_contains "$output" hello
	run -0 berth exec np-hp sh -c "printf '$req' | nc -w 5 $(net_host_ip) 18398"
	assert_contains "$output" hello
	run -0 iptables -w -t nat -S
	assert_contains "$output" "-A BERTH -p tcp -m tcp --dport 18398 -j DNAT"
	assert_contains "$output" "-A POSTROUTING -o $E2E_BRIDGE -m addrtype --src-type LOCAL -j MASQUERADE"
	assert_not_contains "$output" "-A BERTH -i $E2E_BRIDGE -j RETURN"
	run -0 berth rm -f np-hp
	net_assert_no_container_leftovers
}

@test "after the suite: no veth, sandbox, proxy or rule remains" {
	berth rm -f $(berth ps -aq) >/dev/null 2>&1 || true
	net_assert_no_container_leftovers
	assert_no_daemon_crash
	local tmp=$E2E_TMP
	berthd_stop
	net_cleanup
	net_assert_clean "$tmp"
}
