# Helpers of the network suites (network_bridge.bats, network_ports.bats).
# The suite's default bridge is $E2E_BRIDGE on $E2E_SUBNET (helpers.bash),
# made by berthd through the hidden --default-bridge-name flag.

net_gw() { echo "${E2E_SUBNET%.0/24}.1"; }
net_prefix() { echo "${E2E_SUBNET%.0/24}."; }

# berthd with the suite's bridge; extra daemon flags as arguments.
net_daemon_start()
{
	export E2E_NETWORK=1
	berthd_start --default-bridge-name "$E2E_BRIDGE" --bip "$(net_gw)/24" "$@"
}

# Stop berthd and start it again with these flags instead of the ones it had
# (the base command of berthd_start stays); NET_RESTART_HOOK: a command run
# in between.
net_daemon_restart()
{
	local pid
	pid=$(berthd_pid)
	kill -TERM "$pid"
	_e2e_wait_gone 300 "$pid"
	rm -f "$E2E_SOCK" "$E2E_PIDFILE"
	[ -z "${NET_RESTART_HOOK:-}" ] || "$NET_RESTART_HOOK" # runs while no berthd is up
	local -a cmd
	. "$E2E_TMP/daemon.cmd"
	printf '%q ' "$@" >"$E2E_TMP/daemon.args"
	_e2e_spawn "${cmd[@]}" "$@"
}

# The host's own (non-loopback) IPv4 address.
net_host_ip() { ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | grep -v "^$(net_prefix)" | head -1; }

# GET a URL from the host (no proxy, bounded).
net_fetch() { curl -s --noproxy '*' --max-time 10 "$1"; }
net_fetch_ok() { [ "$(net_fetch "$1")" = "${2:-hello}" ]; }

# Every iptables rule (nat and filter) naming the suite's bridge or subnet.
net_rules()
{
	{
		iptables -w -t nat -S
		iptables -w -t filter -S
	} | grep -F -e "$E2E_BRIDGE" -e "$(net_prefix)" || true
}

# veth interfaces attached to the suite's bridge.
net_veths() { ip -o link show master "$E2E_BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1; }

# berth-proxy processes of this suite's containers.
net_proxies() { pgrep -a -f "berth-proxy .*-container-ip $(net_prefix)" || true; }

# Remove what berthd keeps by design after it stopped (like docker0 and
# its rules): the suite's bridge, its rules, the BERTH chains when no other
# bridge uses them. Also anything a failed test left.
net_cleanup()
{
	[ -n "${E2E_BRIDGE:-}" ] || _e2e_net_names
	[ -n "$E2E_BRIDGE" ] && [ -n "$E2E_SUBNET" ] || return 1
	local t line ipt lo
	local -a w
	# IPv4 and IPv6 (IPv6 networks write the same layout with ip6tables)
	for ipt in iptables ip6tables; do
		for t in nat filter; do
			while IFS= read -r line; do
				read -ra w <<<"$line"
				[ "${w[0]}" = -A ] || continue
				w[0]=-D
				"$ipt" -w -t "$t" "${w[@]}" 2>/dev/null || true
			done < <("$ipt" -w -t "$t" -S | grep -F -e "$E2E_BRIDGE" -e "$(net_prefix)" -e "${NET_EXTRA_BRIDGE:-@none@}" -e "${NET_EXTRA_SUBNET6:-@none@}")
		done
	done
	local p
	for p in $(pgrep -f "berth-proxy .*-container-ip $(net_prefix)" || true); do kill "$p" 2>/dev/null || true; done
	if [ -n "${NET_EXTRA_SUBNET6:-}" ]; then
		for p in $(pgrep -f "berth-proxy .*-container-ip $NET_EXTRA_SUBNET6" || true); do kill "$p" 2>/dev/null || true; done
	fi
	ip link del "$E2E_BRIDGE" 2>/dev/null || true
	if [ -n "${NET_EXTRA_BRIDGE:-}" ]; then ip link del "$NET_EXTRA_BRIDGE" 2>/dev/null || true; fi
	# the shared chains go only when nothing else uses them
	for ipt in iptables ip6tables; do
		lo=127.0.0.0/8
		[ "$ipt" = ip6tables ] && lo=::1/128
		"$ipt" -w -t nat -S BERTH >/dev/null 2>&1 || "$ipt" -w -S BERTH >/dev/null 2>&1 || continue
		if ! "$ipt" -w -t nat -S BERTH 2>/dev/null | grep -q -- '^-A' &&
			! "$ipt" -w -S BERTH 2>/dev/null | grep -q -- '^-A' &&
			! "$ipt" -w -S BERTH-ISOLATION-STAGE-2 2>/dev/null | grep -q -- '-o '; then
			"$ipt" -w -t nat -D PREROUTING -m addrtype --dst-type LOCAL -j BERTH 2>/dev/null || true
			"$ipt" -w -t nat -D OUTPUT ! -d "$lo" -m addrtype --dst-type LOCAL -j BERTH 2>/dev/null || true
			"$ipt" -w -t nat -D OUTPUT -m addrtype --dst-type LOCAL -j BERTH 2>/dev/null || true
			"$ipt" -w -t nat -X BERTH 2>/dev/null || true
			"$ipt" -w -D FORWARD -j BERTH-USER 2>/dev/null || true
			"$ipt" -w -D FORWARD -j BERTH-ISOLATION-STAGE-1 2>/dev/null || true
			for t in BERTH BERTH-USER BERTH-ISOLATION-STAGE-1 BERTH-ISOLATION-STAGE-2; do
				"$ipt" -w -F "$t" 2>/dev/null || true
				"$ipt" -w -X "$t" 2>/dev/null || true
			done
		fi
	done
	true
}

# The suite left nothing: no veth on its bridge, no sandbox, no proxy, no
# rule naming a container address of its subnet (the network-level rules
# of the bridge itself stay while berthd runs, as docker's do).
net_assert_no_container_leftovers()
{
	[ -z "$(net_veths)" ] || fail "veths left on $E2E_BRIDGE: $(net_veths)"
	[ -z "$(ls -A "$E2E_EXEC/netns" 2>/dev/null)" ] || fail "sandboxes left: $(ls "$E2E_EXEC/netns")"
	[ -z "$(ls -A "$E2E_EXEC/network/endpoints" 2>/dev/null)" ] || fail "endpoint records left"
	[ -z "$(net_proxies)" ] || fail "proxies left: $(net_proxies)"
	local r
	r=$(net_rules | grep -E -e "--to-destination" -e "$(net_prefix)[0-9]+/32" || true)
	[ -z "$r" ] || fail "container rules left: $r"
}

# After berthd stopped and net_cleanup: nothing of the suite anywhere.
net_assert_clean()
{
	local tmp=$1 # the suite's temp dir (berthd_stop unsets E2E_TMP)
	! ip link show "$E2E_BRIDGE" >/dev/null 2>&1 || fail "bridge $E2E_BRIDGE left"
	[ -z "$(net_rules)" ] || fail "rules left: $(net_rules)"
	[ -z "$(ip -o link show type veth 2>/dev/null | grep -F "master $E2E_BRIDGE")" ] || fail "veth left"
	[ -z "$(net_proxies)" ] || fail "proxies left"
	! grep -qsF "$tmp" /proc/mounts || fail "mounts left: $(grep -F "$tmp" /proc/mounts)"
}
