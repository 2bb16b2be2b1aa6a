#!/usr/bin/env bats
# IPv6 (issue 8, item 4): berthd --ipv6 --fixed-cidr-v6 gives default-bridge
# containers a global IPv6 address (NetworkSettings.GlobalIPv6Address); a
# user network created with --ipv6 --subnet <v6> gives its containers an
# IPv6 address on eth0 and an IPv6 default route, static --ip6, name
# resolution to the IPv6 address (AAAA), ping6 between containers, the
# network's rules in Berth's ip6tables chains (gone with the network);
# --link-local-ip addresses on the interface; bad input refused; an IPv6
# daemon --ip (the default host address of published ports);
# --ip6tables=false (no ip6tables rule, IPv6 ports through the proxy only).
# e2e: serial
# (iptables chains are global: the network suites run alone)

load helpers
load lib/net

setup_file()
{
	[ "$E2E_TARGET" = berthd ] || skip "berthd's own bridge and chains"
	_e2e_net_names
	# this suite's IPv6 prefixes: fd42:<hash>:: (the host has fd00::/64)
	local h=${E2E_BRIDGE#bth}
	export V6_DEF="fd42:${h:0:4}:1::/64" V6_NET="fd42:${h:0:4}:2::/64" V6_PREFIX="fd42:${h:0:4}:"
	export NET_EXTRA_BRIDGE=${E2E_BRIDGE}6 NET_EXTRA_SUBNET6=$V6_PREFIX
	export NET_V4=10.250.21.0/24
	# berthd --ipv6 turns IPv6 forwarding on, as dockerd does: put it back after
	cat /proc/sys/net/ipv6/conf/all/forwarding >"$BATS_FILE_TMPDIR/fwd6"
	net_cleanup
	net_daemon_start --ipv6 --fixed-cidr-v6 "$V6_DEF"
	load_busybox
}

teardown_file()
{
	[ "$E2E_TARGET" = berthd ] || return 0
	berth rm -f $(berth ps -aq) >/dev/null 2>&1 || true
	berth network rm v6net >/dev/null 2>&1 || true
	berthd_stop
	net_cleanup
	cat "$BATS_FILE_TMPDIR/fwd6" >/proc/sys/net/ipv6/conf/all/forwarding
}

setup() { berthd_ensure; }

teardown()
{
	berth rm -f $(berth ps -aq) >/dev/null 2>&1 || true
	berth network rm v6net >/dev/null 2>&1 || true
	# a test that restarted berthd with other flags: back to the suite's
	if [ -e "$BATS_TEST_TMPDIR/restarted" ]; then
		v6_restart
		wait_for 100 berth version >/dev/null
	fi
}

# Restart the suite's berthd with its flags plus these.
v6_restart()
{
	touch "$BATS_TEST_TMPDIR/restarted"
	net_daemon_restart --default-bridge-name "$E2E_BRIDGE" --bip "$(net_gw)/24" --ipv6 --fixed-cidr-v6 "$V6_DEF" "$@"
	wait_for 100 berth version >/dev/null
}

WWW='mkdir -p /www && echo hello >/www/index.html && exec httpd -f -p 80 -h /www'

# v6_web NAME NETWORK [RUN-FLAGS...]: busybox httpd serving "hello"; A6 is
# its IPv6 address on NETWORK ("" for the default bridge).
v6_web()
{
	local name=$1 net=$2 f='{{.NetworkSettings.GlobalIPv6Address}}'
	shift 2
	run berth run -d --name "$name" "$@" busybox sh -c "$WWW"
	[ "$status" -eq 0 ] || fail "$output"
	[ -z "$net" ] || f="{{with index .NetworkSettings.Networks \"$net\"}}{{.GlobalIPv6Address}}{{end}}"
	A6=$(berth inspect -f "$f" "$name")
	[ -n "$A6" ] || fail "no IPv6 address"
}

v6net_create()
{
	run berth network create --ipv6 --subnet "$NET_V4" --subnet "$V6_NET" \
		-o com.docker.network.bridge.name="$NET_EXTRA_BRIDGE" v6net
	[ "$status" -eq 0 ] || fail "network create: $output"
}

@test "--ipv6 --fixed-cidr-v6: a default-bridge container has a global IPv6 address and route" {
	run berth network inspect -f '{{.EnableIPv6}} {{(index .IPAM.Config 1).Subnet}}' bridge
	assert_eq "$output" "true $V6_DEF"
	ip -6 addr show dev "$E2E_BRIDGE" | grep -qF "inet6 ${V6_PREFIX}1::1/64" || fail "no gateway address on $E2E_BRIDGE"
	run berth run -d --name d6 busybox sleep 300
	[ "$status" -eq 0 ] || fail "$output"
	run berth inspect -f '{{.NetworkSettings.GlobalIPv6Address}} {{.NetworkSettings.GlobalIPv6PrefixLen}} {{.NetworkSettings.IPv6Gateway}}' d6
	assert_eq "$output" "${V6_PREFIX}1::2 64 ${V6_PREFIX}1::1"
	run berth exec d6 ip -6 addr show eth0
	assert_contains "$output" "inet6 ${V6_PREFIX}1::2/64"
	run berth exec d6 ip -6 route
	assert_contains "$output" "default via ${V6_PREFIX}1::1 dev eth0"
	# the container reaches its gateway (the host's bridge address)
	run berth exec d6 ping6 -c1 -W5 "${V6_PREFIX}1::1"
	[ "$status" -eq 0 ] || fail "ping6 to the gateway: $output"
	# a published port: [::]:port goes to its IPv6 address (proxy, ip6tables DNAT)
	run berth run -d --name d6p -p 18493:80 busybox sh -c 'mkdir -p /www && echo hello >/www/index.html && exec httpd -f -p 80 -h /www'
	[ "$status" -eq 0 ] || fail "$output"
	local a6
	a6=$(berth inspect -f '{{.NetworkSettings.GlobalIPv6Address}}' d6p)
	wait_for 20 net_fetch_ok "http://[::1]:18493/index.html"
	run -0 ip6tables -w -t nat -S BERTH
	assert_contains "$output" "-A BERTH ! -i $E2E_BRIDGE -p tcp -m tcp --dport 18493 -j DNAT --to-destination [$a6]:80"
	pgrep -f "berth-proxy -proto tcp -host-ip :: -host-port 18493 -container-ip $a6 " >/dev/null ||
		fail "no [::] proxy to $a6: $(pgrep -af berth-proxy)"
}

@test "IPv6 user network: addresses, --ip6, AAAA by name, ping6 between containers, ip6tables rules" {
	v6net_create
	run berth network inspect -f '{{.EnableIPv6}} {{range .IPAM.Config}}{{.Subnet}},{{.Gateway}} {{end}}' v6net
	assert_eq "$output" "true $NET_V4,${NET_V4%.0/24}.1 $V6_NET,${V6_PREFIX}2::1 "
	ip6tables -w -t nat -S POSTROUTING | grep -qF -- "-s $V6_NET ! -o $NET_EXTRA_BRIDGE -j MASQUERADE" ||
		fail "no ip6tables MASQUERADE: $(ip6tables -w -t nat -S POSTROUTING)"
	ip6tables -w -S BERTH-ISOLATION-STAGE-2 | grep -qF -- "-o $NET_EXTRA_BRIDGE -j DROP" || fail "no isolation rule"

	run berth run -d --name srv6 --network v6net --ip6 "${V6_PREFIX}2::33" busybox sleep 300
	[ "$status" -eq 0 ] || fail "$output"
	run berth inspect -f '{{with index .NetworkSettings.Networks "v6net"}}{{.GlobalIPv6Address}}/{{.GlobalIPv6PrefixLen}} {{.IPv6Gateway}} {{.IPAMConfig.IPv6Address}}{{end}}' srv6
	assert_eq "$output" "${V6_PREFIX}2::33/64 ${V6_PREFIX}2::1 ${V6_PREFIX}2::33"
	run berth network inspect -f '{{range .Containers}}{{.IPv6Address}}{{end}}' v6net
	assert_eq "$output" "${V6_PREFIX}2::33/64"
	# /etc/hosts: the container's IPv4 line, then its IPv6 line (libnetwork's order)
	local h
	h=$(berth inspect -f '{{.Config.Hostname}}' srv6)
	run berth exec srv6 sh -c "grep -E '	$h\$' /etc/hosts | cut -f1"
	[ "$status" -eq 0 ] || fail "$output"
	assert_eq "$output" "$(berth inspect -f '{{with index .NetworkSettings.Networks "v6net"}}{{.IPAddress}}{{end}}' srv6)
${V6_PREFIX}2::33"

	run berth run --rm --network v6net busybox sh -c 'ip -6 addr show eth0; nslookup -type=AAAA srv6 127.0.0.11; ping6 -c1 -W5 srv6'
	[ "$status" -eq 0 ] || fail "client: $output"
	assert_contains "$output" "inet6 ${V6_PREFIX}2::2/64"
	assert_contains "$output" "Address: ${V6_PREFIX}2::33"
	assert_contains "$output" "1 packets received"

	# the same static address twice: refused, nothing left
	run berth run --rm --network v6net --ip6 "${V6_PREFIX}2::33" busybox true
	[ "$status" -ne 0 ]
	assert_contains "$output" "Address already in use"

	berth rm -f srv6 >/dev/null
	run berth network rm v6net
	[ "$status" -eq 0 ]
	! ip link show "$NET_EXTRA_BRIDGE" >/dev/null 2>&1 || fail "bridge left"
	local left
	left=$({ ip6tables -w -S; ip6tables -w -t nat -S; } | grep -F -e "$NET_EXTRA_BRIDGE" -e "$V6_NET" || true)
	[ -z "$left" ] || fail "ip6tables rules left: $left"
}

@test "published ports on IPv6: [::]:port beside 0.0.0.0:port, -p [::1]:port:80, ip6tables DNAT; nothing left after stop" {
	v6net_create
	v6_web pub6 v6net --network v6net -p 18491:80 -p '[::1]:18492:80'
	local a6=$A6
	# dockerd 20.10: a binding on the default address is also one on "::"
	run -0 berth port pub6
	assert_eq "$(sort <<<"$output")" "80/tcp -> 0.0.0.0:18491
80/tcp -> ::1:18492
80/tcp -> :::18491"
	assert_contains "$(berth inspect -f '{{json .NetworkSettings.Ports}}' pub6)" '{"HostIp":"::","HostPort":"18491"}'
	assert_contains "$(berth ps --format '{{.Ports}}' -f name=pub6)" ":::18491->80/tcp"
	wait_for 20 net_fetch_ok "http://[::1]:18491/index.html"
	assert_eq "$(net_fetch "http://127.0.0.1:18491/index.html")" hello
	assert_eq "$(net_fetch "http://[::1]:18492/index.html")" hello
	local h6
	h6=$(ip -6 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | grep -v "^$V6_PREFIX" | head -1)
	if [ -n "$h6" ]; then
		assert_eq "$(net_fetch "http://[$h6]:18491/index.html")" hello
		run net_fetch "http://[$h6]:18492/index.html"
		assert_eq "$output" ""
	fi
	# the IPv6 proxies go to the container's IPv6 address, the DNATs are in ip6tables
	pgrep -f "berth-proxy -proto tcp -host-ip :: -host-port 18491 -container-ip $a6 -container-port 80" >/dev/null ||
		fail "no [::] proxy: $(pgrep -af berth-proxy)"
	pgrep -f "berth-proxy -proto tcp -host-ip ::1 -host-port 18492 -container-ip $a6 -container-port 80" >/dev/null ||
		fail "no [::1] proxy: $(pgrep -af berth-proxy)"
	run -0 ip6tables -w -t nat -S BERTH
	assert_contains "$output" "-A BERTH ! -i $NET_EXTRA_BRIDGE -p tcp -m tcp --dport 18491 -j DNAT --to-destination [$a6]:80"
	assert_contains "$output" "-A BERTH -d ::1/128 ! -i $NET_EXTRA_BRIDGE -p tcp -m tcp --dport 18492 -j DNAT --to-destination [$a6]:80"
	assert_contains "$(ip6tables -w -S BERTH)" "-A BERTH -d $a6/128 ! -i $NET_EXTRA_BRIDGE -o $NET_EXTRA_BRIDGE -p tcp -m tcp --dport 80 -j ACCEPT"
	# "::" is taken for the next container, 0.0.0.0 too
	run berth run -d --name pub6b --network v6net -p '[::]:18491:80' busybox true
	[ "$status" -ne 0 ]
	assert_contains "$output" "Bind for :::18491 failed: port is already allocated"
	run -0 berth stop -t 1 pub6
	[ -z "$(pgrep -f "berth-proxy .*-container-ip $a6" || true)" ] || fail "proxies left: $(pgrep -af berth-proxy)"
	local left
	left=$({ ip6tables -w -S; ip6tables -w -t nat -S; } | grep -F -e "$a6" -e "--dport 18491" -e "--dport 18492" || true)
	[ -z "$left" ] || fail "ip6tables rules left: $left"
	[ "$(cstatus pub6b)" = created ] || fail "pub6b: $(cstatus pub6b)"
}

@test "--link-local-ip addresses are on the interface; a non-link-local one is refused" {
	v6net_create
	run berth run --rm --network v6net --link-local-ip 169.254.9.9 --link-local-ip fe80::99 busybox ip addr show eth0
	[ "$status" -eq 0 ] || fail "$output"
	assert_contains "$output" "inet 169.254.9.9/16"
	assert_contains "$output" "inet6 fe80::99/64"
	run berth run --rm --network v6net --link-local-ip 10.1.2.3 busybox true
	[ "$status" -ne 0 ]
	assert_contains "$output" "invalid link local IP address: 10.1.2.3"
	[ -z "$(net_veths)" ] && [ -z "$(ip -o link show master "$NET_EXTRA_BRIDGE")" ] || fail "veth left"
}

@test "bad IPv6 input: no IPv6 pool, overlapping IPv6 subnets, v6 subnet without --ipv6" {
	run berth network create --ipv6 nov6pool
	[ "$status" -ne 0 ]
	assert_contains "$output" "could not find an available, non-overlapping IPv6 address pool"
	run berth network create --ipv6 --subnet "$V6_DEF" overlap6
	[ "$status" -ne 0 ]
	assert_contains "$output" "Pool overlaps with other one on this address space"
	run berth network create --subnet "$V6_NET" nov6flag
	[ "$status" -ne 0 ]
	assert_contains "$output" "IPv6 is not enabled"
	run berth network ls -q --filter type=custom
	assert_eq "$output" ""
}

@test "--ip ::1 / --ip ::: a port published without a host address binds there only, to the IPv6 address; invalid --ip refused" {
	local -a base=(-H "unix://$BATS_TEST_TMPDIR/x.sock" --data-root "$BATS_TEST_TMPDIR/d"
		--exec-root "$BATS_TEST_TMPDIR/e" --pidfile "$BATS_TEST_TMPDIR/p" --bridge=none --iptables=false)
	run -1 timeout 60 "$BERTHD" "${base[@]}" --ip 1.2.3
	assert_contains "$output" 'invalid argument "1.2.3" for "--ip" flag: 1.2.3 is not an ip address'
	echo '{"ip": "fd00::zz"}' >"$BATS_TEST_TMPDIR/daemon.json"
	run -1 timeout 60 "$BERTHD" "${base[@]}" --config-file "$BATS_TEST_TMPDIR/daemon.json"
	assert_contains "$output" "invalid IP address: fd00::zz"
	[ ! -S "$BATS_TEST_TMPDIR/x.sock" ] || fail "berthd listened"

	v6_restart --ip ::1
	run -0 berth network inspect -f '{{index .Options "com.docker.network.bridge.host_binding_ipv4"}}' bridge
	assert_eq "$output" "::1"
	v6_web ip6d "" -p 18494:80 -p 127.0.0.1:18495:80
	local a6=$A6
	# dockerd 20.10: no IPv4 binding for it, no "::" twin; an explicit IPv4 host address stays IPv4
	run -0 berth port ip6d 80
	assert_eq "$(sort <<<"$output")" "127.0.0.1:18495
::1:18494"
	assert_contains "$(berth inspect -f '{{json .NetworkSettings.Ports}}' ip6d)" '{"HostIp":"::1","HostPort":"18494"}'
	wait_for 20 net_fetch_ok "http://[::1]:18494/index.html"
	assert_eq "$(net_fetch "http://127.0.0.1:18495/index.html")" hello
	run net_fetch "http://127.0.0.1:18494/index.html"
	assert_eq "$output" ""
	pgrep -f "berth-proxy -proto tcp -host-ip ::1 -host-port 18494 -container-ip $a6 -container-port 80" >/dev/null ||
		fail "no [::1] proxy to $a6: $(pgrep -af berth-proxy)"
	run -0 ip6tables -w -t nat -S BERTH
	assert_contains "$output" "-A BERTH -d ::1/128 ! -i $E2E_BRIDGE -p tcp -m tcp --dport 18494 -j DNAT --to-destination [$a6]:80"
	[ -z "$(iptables -w -t nat -S | grep -F -e "--dport 18494" || true)" ] || fail "an IPv4 rule for 18494"
	run -0 berth rm -f ip6d

	# --ip :: : the unspecified IPv6 address, IPv6 only
	v6_restart --ip ::
	run berth run -d --name ip6any -p 18496:80 busybox sh -c "$WWW"
	[ "$status" -eq 0 ] || fail "$output"
	run -0 berth port ip6any
	assert_eq "$output" "80/tcp -> :::18496"
	wait_for 20 net_fetch_ok "http://[::1]:18496/index.html"
	run net_fetch "http://127.0.0.1:18496/index.html"
	assert_eq "$output" ""
	run -0 berth rm -f ip6any
	[ -z "$({ ip6tables -w -t nat -S; iptables -w -t nat -S; } | grep -F -e "--dport 18494" -e "--dport 18496" || true)" ] ||
		fail "port rules left"
}

# ip6tables rules of the suite (its bridges, subnets) and Berth's chains.
v6_rules() { { ip6tables -w -S; ip6tables -w -t nat -S; } | grep -F -e BERTH -e "$E2E_BRIDGE" -e "$V6_PREFIX" || true; }

@test "--ip6tables=false: no ip6tables rule at all; IPv6 ports go through the userland proxy" {
	# start from an ip6tables without Berth's chains (this suite's daemon made them)
	NET_RESTART_HOOK=net_cleanup v6_restart --ip6tables=false
	[ -z "$(v6_rules)" ] || fail "ip6tables rules after the start: $(v6_rules)"
	v6_web nt6 "" -p 18497:80 -p '[::1]:18498:80'
	local a6=$A6
	run -0 berth port nt6
	assert_eq "$(sort <<<"$output")" "80/tcp -> 0.0.0.0:18497
80/tcp -> ::1:18498
80/tcp -> :::18497"
	wait_for 20 net_fetch_ok "http://[::1]:18497/index.html"
	assert_eq "$(net_fetch "http://[::1]:18498/index.html")" hello
	assert_eq "$(net_fetch "http://127.0.0.1:18497/index.html")" hello
	pgrep -f "berth-proxy -proto tcp -host-ip :: -host-port 18497 -container-ip $a6 -container-port 80" >/dev/null ||
		fail "no [::] proxy: $(pgrep -af berth-proxy)"
	# IPv4 rules as always
	iptables -w -t nat -S BERTH | grep -qF -- "--dport 18497 -j DNAT" || fail "no IPv4 DNAT"
	# an IPv6 user network: no ip6tables rule either
	v6net_create
	run -0 berth run --rm --network v6net busybox ip -6 addr show eth0
	assert_contains "$output" "inet6 ${V6_PREFIX}2::2/64"
	[ -z "$(v6_rules)" ] || fail "ip6tables rules with --ip6tables=false: $(v6_rules)"
}
