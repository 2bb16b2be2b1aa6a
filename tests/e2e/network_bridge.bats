#!/usr/bin/env bats
# The default bridge (issue 8, items 1 and 2): berthd makes its bridge with
# --bip, containers get eth0 with an address of its subnet, docker's MAC,
# the default route, /etc/hosts, resolv.conf and hostname options; the
# endpoint goes at exit and on restart-policy restarts; --icc=false; a
# custom bridge given with -b; --bridge=none; bad daemon flags refused; and
# nothing left after the suite.
# e2e: serial
# (iptables chains are global: the network suites run alone)

load helpers
load lib/net

setup_file()
{
	[ "$E2E_TARGET" = berthd ] || skip "berthd's own bridge and chains"
	_e2e_net_names
	export NET_EXTRA_BRIDGE=${E2E_BRIDGE}c
	net_cleanup
	net_daemon_start
	load_busybox
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

# Restart the suite's daemon on the same roots with other flags.
nb_restart() { net_daemon_restart "$@"; }

@test "berthd makes the bridge; a container gets eth0, an address, docker's MAC, the default route" {
	run -0 ip -4 -o addr show "$E2E_BRIDGE"
	assert_contains "$output" "$(net_gw)/24"
	run -0 berth run -d --name nb-a busybox sleep 300
	local ip mac
	ip=$(berth inspect -f '{{.NetworkSettings.IPAddress}}' nb-a)
	mac=$(berth inspect -f '{{.NetworkSettings.MacAddress}}' nb-a)
	assert_match "$ip" "^$(net_prefix)[0-9]+$"
	assert_eq "$mac" "$(printf '02:42:%02x:%02x:%02x:%02x' ${ip//./ })"
	assert_eq "$(berth inspect -f '{{.NetworkSettings.Gateway}} {{.NetworkSettings.IPPrefixLen}}' nb-a)" "$(net_gw) 24"
	assert_eq "$(berth inspect -f '{{.NetworkSettings.Networks.bridge.IPAddress}}' nb-a)" "$ip"
	assert_eq "$(berth inspect -f '{{.HostConfig.NetworkMode}}' nb-a)" default
	run -0 berth exec nb-a ip -4 -o addr show eth0
	assert_contains "$output" "$ip/24"
	run -0 berth exec nb-a cat /sys/class/net/eth0/address
	assert_eq "$output" "$mac"
	run -0 berth exec nb-a ip route
	assert_contains "$output" "default via $(net_gw) dev eth0"
	run -0 berth exec nb-a cat /etc/hosts
	assert_contains "$output" "$ip	$(berth inspect -f '{{.Config.Hostname}}' nb-a)"
	# the container reaches the gateway; one veth on the bridge
	run -0 berth exec nb-a ping -c 1 -W 5 "$(net_gw)"
	assert_eq "$(net_veths | wc -l)" 1
	assert_contains "$(iptables -w -t nat -S)" "-A POSTROUTING -s $E2E_SUBNET ! -o $E2E_BRIDGE -j MASQUERADE"
	# two containers reach each other on the bridge
	run -0 berth run --rm busybox ping -c 1 -W 5 "$ip"
	# stop: the endpoint and the sandbox go
	run -0 berth stop -t 1 nb-a
	net_assert_no_container_leftovers
	assert_eq "$(berth inspect -f '{{.NetworkSettings.IPAddress}}' nb-a)" ""
}

@test "--hostname, --dns, --dns-search, --dns-option, --add-host, --mac-address reach the container" {
	run -0 berth run --rm --hostname web1 --dns 10.9.9.9 --dns-search example.org --dns-option ndots:3 \
		--add-host db:10.1.2.3 --mac-address 02:42:aa:bb:cc:dd busybox \
		sh -c 'hostname; cat /etc/resolv.conf; cat /etc/hosts; cat /sys/class/net/eth0/address'
	assert_contains "$output" "web1"
	assert_contains "$output" "nameserver 10.9.9.9"
	assert_contains "$output" "search example.org"
	assert_contains "$output" "options ndots:3"
	assert_contains "$output" "10.1.2.3	db"
	assert_contains "$output" "02:42:aa:bb:cc:dd"
	assert_match "$output" "$(net_prefix)[0-9]+	web1"
	net_assert_no_container_leftovers
}

@test "restart-policy restarts get a fresh endpoint; nothing accumulates" {
	run -0 berth run -d --name nb-rs --restart always busybox sh -c 'sleep 0.3; exit 3'
	wait_for 60 bash -c "[ \$(\"$BERTH_CLI\" inspect -f '{{.RestartCount}}' nb-rs) -ge 2 ]"
	run -0 berth stop -t 1 nb-rs
	net_assert_no_container_leftovers
}

@test "--icc=false blocks container-to-container traffic on the bridge" {
	nb_restart --default-bridge-name "$E2E_BRIDGE" --bip "$(net_gw)/24" --icc=false
	run -0 berth run -d --name nb-srv busybox sleep 300
	local ip
	ip=$(berth inspect -f '{{.NetworkSettings.IPAddress}}' nb-srv)
	assert_contains "$(iptables -w -S FORWARD)" "-A FORWARD -i $E2E_BRIDGE -o $E2E_BRIDGE -j DROP"
	run berth run --rm busybox ping -c 1 -W 2 "$ip"
	[ "$status" -ne 0 ] || fail "ping went through with --icc=false: $output"
	# the gateway (the host) still answers
	run -0 berth run --rm busybox ping -c 1 -W 5 "$(net_gw)"
	run -0 berth rm -f nb-srv
	nb_restart --default-bridge-name "$E2E_BRIDGE" --bip "$(net_gw)/24"
	assert_not_contains "$(iptables -w -S FORWARD)" "-A FORWARD -i $E2E_BRIDGE -o $E2E_BRIDGE -j DROP"
	assert_contains "$(iptables -w -S FORWARD)" "-A FORWARD -i $E2E_BRIDGE -o $E2E_BRIDGE -j ACCEPT"
	net_assert_no_container_leftovers
}

@test "-b: a bridge made beforehand at 192.168.5.1/24; MASQUERADE for it; berthd leaves the bridge" {
	ip link add "$NET_EXTRA_BRIDGE" type bridge
	ip addr add 192.168.5.1/24 dev "$NET_EXTRA_BRIDGE"
	ip link set "$NET_EXTRA_BRIDGE" up
	nb_restart -b "$NET_EXTRA_BRIDGE"
	run -0 berth run --rm busybox sh -c 'ip -4 -o addr show eth0; ip route'
	assert_contains "$output" "inet 192.168.5.2/24"
	assert_contains "$output" "default via 192.168.5.1 dev eth0"
	assert_contains "$(iptables -w -t nat -S)" "-A POSTROUTING -s 192.168.5.0/24 ! -o $NET_EXTRA_BRIDGE -j MASQUERADE"
	# -b and --bip together are refused, as dockerd does
	run -1 timeout 60 "$BERTHD" -H "unix://$BATS_TEST_TMPDIR/x.sock" --data-root "$BATS_TEST_TMPDIR/d" \
		--exec-root "$BATS_TEST_TMPDIR/e" --pidfile "$BATS_TEST_TMPDIR/p" -b "$NET_EXTRA_BRIDGE" --bip 10.1.1.1/24
	assert_contains "$output" "mutually exclusive"
	nb_restart --default-bridge-name "$E2E_BRIDGE" --bip "$(net_gw)/24"
	run -0 ip link show "$NET_EXTRA_BRIDGE"
	# the rules berthd made for it are the test's to remove now (the bridge is the user's)
	net_cleanup_extra() {
		local t line
		local -a w
		for t in nat filter; do
			while IFS= read -r line; do
				read -ra w <<<"$line"
				w[0]=-D
				iptables -w -t "$t" "${w[@]}"
			done < <(iptables -w -t "$t" -S | grep -F "$NET_EXTRA_BRIDGE" | grep '^-A' || true)
		done
		ip link del "$NET_EXTRA_BRIDGE"
	}
	net_cleanup_extra
}

@test "bad daemon flags and --bridge=none" {
	local -a base=(-H "unix://$BATS_TEST_TMPDIR/x.sock" --data-root "$BATS_TEST_TMPDIR/d"
		--exec-root "$BATS_TEST_TMPDIR/e" --pidfile "$BATS_TEST_TMPDIR/p")
	run -1 timeout 60 "$BERTHD" "${base[@]}" --ip 300.1.1.1
	assert_contains "$output" "300.1.1.1"
	run -1 timeout 60 "$BERTHD" "${base[@]}" --bip 10.1.1.1
	assert_contains "$output" "invalid bip"
	run -1 timeout 60 "$BERTHD" "${base[@]}" -b nbnosuchbr0
	assert_contains "$output" "bridge device nbnosuchbr0 not found"
	! ip link show nbnosuchbr0 >/dev/null 2>&1 || fail "a bridge was made"
	# --bridge=none: the default network mode runs without a network
	nb_restart --bridge=none
	run -0 berth run --rm busybox ls /sys/class/net
	assert_eq "$output" lo
	api POST /containers/create -H 'Content-Type: application/json' -d '{"Image":"busybox","HostConfig":{"NetworkMode":"bridge"}}'
	assert_status 404
	assert_contains "$HTTP_BODY" "network bridge not found"
	! ip link show "$E2E_BRIDGE" >/dev/null 2>&1 || ip -o link show master "$E2E_BRIDGE" | grep -q . && fail "a veth on the bridge"
	nb_restart --default-bridge-name "$E2E_BRIDGE" --bip "$(net_gw)/24"
}

@test "after the suite: no veth, bridge, sandbox or rule remains" {
	berth rm -f $(berth ps -aq) >/dev/null 2>&1 || true
	net_assert_no_container_leftovers
	assert_no_daemon_crash
	local tmp=$E2E_TMP
	berthd_stop
	net_cleanup
	net_assert_clean "$tmp"
	! ip link show "$NET_EXTRA_BRIDGE" >/dev/null 2>&1 || fail "bridge $NET_EXTRA_BRIDGE left"
}
