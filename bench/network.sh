# Network benchmarks (issue 8), sourced by bench/run.sh: `bench/run.sh net`.
# In one run, on this suite's own bridges and subnets (10.249.x, bthbench*):
#   - `run --rm busybox true` on the default bridge vs `--network none`
#     (the cost of the network setup), berth vs docker 20.10 vs podman
#   - throughput of a published port: through the userland proxy
#     (127.0.0.1:port), through the DNAT (the host's own address:port) and
#     directly to the container's address
#   - 100 containers on one bridge: start time of the 100th vs the 1st,
#     without and with a published port each (-p 80: three rules per
#     container, so the 100th starts with 300 port rules in place)
#   (podman, rootful, on its own network file: all three when installed)
# Everything made is removed after: containers, bridges, the engines'
# iptables chains and rules (dockerd's DOCKER* chains, netavark's), the
# FORWARD policy dockerd changes.

NET_RUN_N=${BENCH_NET_RUN_N:-10}
NET_MANY=${BENCH_NET_MANY:-100}
NET_MB=${BENCH_NET_MB:-256}
NB_BR=bthbench        # berthd's default bridge
NB_BR_D=bthbenchd     # the bridge dockerd is given with -b
NB_BR_P=bthbenchp     # podman's network interface
NB_NET_B=10.249.1     # berthd
NB_NET_D=10.249.2     # dockerd
NB_NET_P=10.249.3     # podman

# --- host state: what is there before, restored after ---------------------------

nb_chains() { { iptables -w -t nat -S; iptables -w -t filter -S; } 2>/dev/null | awk '$1 == "-N" { print $2 }' | sort -u; }

nb_snapshot()
{
	NB_CHAINS_BEFORE=$(nb_chains)
	NB_FWD_POLICY=$(iptables -w -S FORWARD | awk '$1 == "-P" { print $3 }')
	NB_IPFWD=$(cat /proc/sys/net/ipv4/ip_forward)
}

# Remove rules naming our bridges or subnets, chains that were not there
# before (and the jumps to them), our bridges; put the FORWARD policy and
# ip_forward back.
nb_restore()
{
	local t c line
	local -a w
	for t in nat filter; do
		while IFS= read -r line; do
			read -ra w <<<"$line"
			[ "${w[0]}" = -A ] || continue
			w[0]=-D
			iptables -w -t "$t" "${w[@]}" 2>/dev/null
		done < <(iptables -w -t "$t" -S | grep -F -e "$NB_BR" -e "$NB_NET_B." -e "$NB_NET_D." -e "$NB_NET_P.")
	done
	# new chains; Berth's only when no other daemon's rule is in them
	local -a gone=()
	for c in $(comm -13 <(printf '%s\n' "$NB_CHAINS_BEFORE") <(nb_chains)); do
		case $c in
		BERTH*)
			{ iptables -w -t nat -S "$c"; iptables -w -S "$c"; } 2>/dev/null | grep -- '^-A' | grep -qv -- '-j RETURN$' && continue
			;;
		esac
		gone+=("$c")
	done
	# the jumps to them, by rule number (netavark's carry quoted comments)
	local parent num
	for c in "${gone[@]}"; do
		for t in nat filter; do
			for parent in $(iptables -w -t "$t" -S 2>/dev/null | awk -v c="$c" '$1 == "-A" && $NF == c { print $2 }' | sort -u); do
				while num=$(iptables -w -t "$t" -L "$parent" --line-numbers -n 2>/dev/null |
					awk -v c="$c" '$2 == c { print $1; exit }') && [ -n "$num" ]; do
					iptables -w -t "$t" -D "$parent" "$num" 2>/dev/null || break
				done
			done
		done
	done
	for c in "${gone[@]}"; do
		for t in nat filter; do
			iptables -w -t "$t" -F "$c" 2>/dev/null
			iptables -w -t "$t" -X "$c" 2>/dev/null
		done
	done
	iptables -w -P FORWARD "${NB_FWD_POLICY:-ACCEPT}"
	echo "${NB_IPFWD:-1}" >/proc/sys/net/ipv4/ip_forward
	for c in "$NB_BR" "$NB_BR_D" "$NB_BR_P"; do ip link del "$c" 2>/dev/null; done
	true
}

# --- the engines ----------------------------------------------------------------

nb_berthd_up()
{
	export E2E_NETWORK=1 E2E_TARGET=berthd
	unset E2E_TMP
	berthd_start --default-bridge-name "$NB_BR" --bip "$NB_NET_B.1/24" >/dev/null
}

nb_dockerd_up()
{
	ip link add "$NB_BR_D" type bridge || return 1
	ip addr add "$NB_NET_D.1/24" dev "$NB_BR_D" && ip link set "$NB_BR_D" up || return 1
	export E2E_NETWORK=1 E2E_TARGET=dockerd
	unset E2E_TMP
	berthd_start -b "$NB_BR_D" >/dev/null
}

nb_down() { berthd_stop >/dev/null 2>&1; unset E2E_NETWORK; }

# podman with its own storage, run root and network configuration
NB_PODMAN_DIR=
# (not the e2e helpers' DOCKER_CONFIG/HOME: podman reads its auth file there,
# and that temp dir is gone once the berthd of the run stopped)
# (runc: crun refuses this host's hybrid cgroups; its default RLIMIT_NOFILE is
# above the host's hard limit without explicit ulimits, as in bench/core.sh)
nb_podman()
{
	if [ "${1:-}" = run ]; then
		shift
		set -- run --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$@"
	fi
	env -u DOCKER_CONFIG HOME="$NB_PODMAN_DIR" podman --root "$NB_PODMAN_DIR/root" --runroot "$NB_PODMAN_DIR/run" \
		--network-config-dir "$NB_PODMAN_DIR/net" --runtime runc --cgroup-manager cgroupfs --events-backend none "$@"
}
nb_podman_up()
{
	command -v podman >/dev/null 2>&1 || return 1
	NB_PODMAN_DIR=$(mktemp -d /var/tmp/berth-bench-podman.XXXXXX)
	mkdir -p "$NB_PODMAN_DIR/net"
	# podman 4.3 has no --interface-name: the network's file names the bridge
	cat >"$NB_PODMAN_DIR/net/benchnet.json" <<-EOF
		{"name": "benchnet", "id": "$(printf benchnet | sha256sum | cut -c1-64)", "driver": "bridge",
		 "network_interface": "$NB_BR_P", "created": "2026-01-01T00:00:00Z",
		 "subnets": [{"subnet": "$NB_NET_P.0/24", "gateway": "$NB_NET_P.1"}], "ipv6_enabled": false,
		 "internal": false, "dns_enabled": false, "ipam_options": {"driver": "host-local"}}
	EOF
	nb_podman load -q -i "$E2E_FIXTURES/busybox-docker-archive.tar" >/dev/null 2>&1 || return 1
	local out
	if ! out=$(nb_podman run --rm --network none busybox true 2>&1); then
		echo "bench: podman cannot run a container here: ${out%%$'\n'*}" >&2
		return 1
	fi
}
nb_podman_down()
{
	[ -n "$NB_PODMAN_DIR" ] || return 0
	nb_podman rm -af >/dev/null 2>&1
	nb_podman system reset -f >/dev/null 2>&1
	rm -rf "$NB_PODMAN_DIR"
	NB_PODMAN_DIR=
}

# --- measurements ---------------------------------------------------------------

# median of NET_RUN_N runs of CLI... run --rm [NETOPT] busybox true
nb_run_series()
{
	local samples=() i t
	"$@" busybox true >/dev/null 2>&1 # warm up
	for ((i = 0; i < NET_RUN_N; i++)); do
		t=$(time_cmd "$@" busybox true) && samples+=("$t")
	done
	printf '%s\n' "${samples[@]}" | median
}

# MB/s of NET_MB MiB sent to HOST:PORT (the server discards; the time ends
# when the server closed its side after the sender's EOF).
nb_throughput()
{
	python3 - "$1" "$2" "$NET_MB" <<'PY'
import socket, sys, time
host, port, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
buf = b"x" * (1 << 20)
s = socket.create_connection((host, port), timeout=30)
t0 = time.monotonic()
for _ in range(mb):
    s.sendall(buf)
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass
dt = time.monotonic() - t0
print("%.0f" % (mb / dt))
PY
}

# Published-port throughput: proxy, DNAT, direct (three numbers, MB/s).
# CLI [RUN-OPTION...]: the options put the container on the engine's bench
# network (podman); its address is read from NetworkSettings.Networks.
nb_port_series()
{
	local cli=$1 id ip hp host_ip out=() addr
	shift
	id=$("$cli" run -d "$@" -p 5000 busybox sh -c 'while true; do nc -l -p 5000 >/dev/null; done') || {
		echo "- - -"
		return
	}
	ip=$("$cli" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$id")
	hp=$("$cli" port "$id" 5000/tcp | head -1 | sed 's/.*://')
	host_ip=$(ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | grep -v -e "^10\.249\." | head -1)
	for addr in "127.0.0.1 $hp" "$host_ip $hp" "$ip 5000"; do
		# the server is up when a connection succeeds (bounded)
		local k
		for ((k = 0; k < 50; k++)); do
			python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()' $addr 2>/dev/null && break
			sleep 0.1
		done
		out+=("$(nb_throughput $addr 2>/dev/null || echo -)")
	done
	"$cli" rm -f "$id" >/dev/null 2>&1
	echo "${out[*]}"
}

# NET_MANY run -d on the default bridge (or the one of the RUN-OPTIONs);
# seconds of the first and the last ones: the median of the first 5 and of
# the last 5 (one start on a shared 2-core host is too noisy alone).
nb_many_series()
{
	local cli=$1 i t first=- last=- ids=() times=()
	shift
	for ((i = 0; i < NET_MANY; i++)); do
		local t0 t1 id
		t0=$(now_ns)
		id=$("$cli" run -d "$@" busybox sleep 3600) || break
		t1=$(now_ns)
		ids+=("$id")
		times+=("$(secs_between "$t0" "$t1")")
	done
	local k=$((NET_MANY < 5 ? NET_MANY : 5))
	if [ ${#ids[@]} -eq "$NET_MANY" ] && [ "$k" -gt 0 ]; then
		first=$(printf '%s\n' "${times[@]:0:k}" | median)
		last=$(printf '%s\n' "${times[@]: -k}" | median)
	fi
	"$cli" rm -f "${ids[@]}" >/dev/null 2>&1
	echo "$first $last"
}

nb_engine()
{
	local cli=$1 none bridge ports many manyp
	"$cli" load -q -i "$E2E_FIXTURES/busybox-docker-archive.tar" >/dev/null 2>&1
	none=$(nb_run_series "$cli" run --rm --network none)
	bridge=$(nb_run_series "$cli" run --rm)
	ports=$(nb_port_series "$cli")
	many=$(nb_many_series "$cli")
	manyp=$(nb_many_series "$cli" -p 80)
	echo "$none $bridge $ports $many $manyp"
}

bench_net()
{
	if [ ! -x "$BERTH_CLI" ] || [ ! -x "$BERTHD" ]; then
		row "network benchmarks" "-" "needs berthd and berth" "-"
		return 0
	fi
	echo "bench: networking (runs: median of $NET_RUN_N; $NET_MB MiB per transfer; $NET_MANY containers)" >&2
	nb_snapshot
	trap 'nb_down; nb_podman_down; nb_restore' EXIT
	local b="- - - - - - - - -" d="- - - - - - - - -" p_none=- p_br=- p_ports="- - -" p_many="- -"
	if nb_berthd_up; then
		b=$(nb_engine "$BERTH_CLI")
		nb_down
	fi
	nb_restore
	if have_dockerd && nb_dockerd_up; then
		d=$(nb_engine "$DOCKER_CLI_20")
		nb_down
	fi
	nb_restore
	if nb_podman_up; then
		p_none=$(nb_run_series nb_podman run --rm --network none)
		p_br=$(nb_run_series nb_podman run --rm --network benchnet)
		p_ports=$(nb_port_series nb_podman --network benchnet)
		p_many=$(nb_many_series nb_podman --network benchnet)
	else
		echo "bench: podman: skipped" >&2
	fi
	nb_podman_down
	nb_restore
	trap 'daemon_down' EXIT
	local b_none b_br b_px b_dn b_di b_1 b_n b_p1 b_pn d_none d_br d_px d_dn d_di d_1 d_n d_p1 d_pn p_px p_dn p_di p_1 p_n
	read -r b_none b_br b_px b_dn b_di b_1 b_n b_p1 b_pn <<<"$b"
	read -r d_none d_br d_px d_dn d_di d_1 d_n d_p1 d_pn <<<"$d"
	read -r p_px p_dn p_di <<<"$p_ports"
	read -r p_1 p_n <<<"$p_many"
	row "run --rm busybox true, default bridge, s" "$b_br" "berth --network none $b_none" "$(ratio "$b_br" "$b_none")"
	row "" "" "docker 20.10 bridge $d_br" "$(ratio "$b_br" "$d_br")"
	row "  docker 20.10: bridge vs its none" "$d_br" "docker --network none $d_none" "$(ratio "$d_br" "$d_none")"
	row "" "" "podman bridge $p_br" "$(ratio "$b_br" "$p_br")"
	row "  podman: bridge vs its none" "$p_br" "podman --network none $p_none" "$(ratio "$p_br" "$p_none")"
	row "published port via userland proxy, MB/s" "$b_px" "direct to container IP $b_di" "$(ratio "$b_px" "$b_di")"
	row "" "" "docker 20.10 proxy $d_px" "$(ratio "$b_px" "$d_px")"
	# podman (rootful) has no userland proxy: 127.0.0.1 goes through its DNAT (route_localnet)
	row "" "" "podman 127.0.0.1 (DNAT) $p_px" "$(ratio "$b_px" "$p_px")"
	row "published port via DNAT (host IP), MB/s" "$b_dn" "direct to container IP $b_di" "$(ratio "$b_dn" "$b_di")"
	row "" "" "docker 20.10 DNAT $d_dn" "$(ratio "$b_dn" "$d_dn")"
	row "" "" "podman DNAT $p_dn" "$(ratio "$b_dn" "$p_dn")"
	row "  docker 20.10 direct to container IP" "$d_di" "" ""
	row "  podman direct to container IP" "$p_di" "" ""
	# (medians of the last 5 and of the first 5 starts)
	row "run -d on one bridge: container #$NET_MANY, s" "$b_n" "berth container #1 $b_1" "$(ratio "$b_n" "$b_1")"
	row "  docker 20.10: container #$NET_MANY" "$d_n" "docker container #1 $d_1" "$(ratio "$d_n" "$d_1")"
	row "run -d -p 80 on one bridge: container #$NET_MANY, s" "$b_pn" "berth container #1 $b_p1" "$(ratio "$b_pn" "$b_p1")"
	row "  docker 20.10: -p 80, container #$NET_MANY" "$d_pn" "docker container #1 $d_p1" "$(ratio "$d_pn" "$d_p1")"
	row "  podman: container #$NET_MANY" "$p_n" "podman container #1 $p_1" "$(ratio "$p_n" "$p_1")"
}
