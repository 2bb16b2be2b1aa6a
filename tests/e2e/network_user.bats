#!/usr/bin/env bats
# User-defined networks (issue 8, items 4-5): the network API and CLI
# (create/ls/inspect/rm/connect/disconnect/prune) through berth and both docker
# CLIs, NetworkSettings as dockerd shapes it, name resolution by name, alias
# and short ID through the embedded DNS at 127.0.0.11, legacy --link on the
# default bridge with its variables and hosts entry, an internal network
# without a way out, bad input (overlap, unknown network, invalid --ip) that
# leaves nothing behind, and no bridge, veth, netns or rule left at the end.
# The swarm endpoints answer as a non-swarm dockerd.
# e2e: serial
# (iptables chains are global: this suite runs alone)

load helpers
load lib/net

setup_file()
{
	export E2E_NETWORK=1
	_e2e_net_names
	# the default bridge of this suite: its own name and subnet
	local gw=${E2E_SUBNET%.0/24}.1
	berthd_start --default-bridge-name "$E2E_BRIDGE" --bip "$gw/24"
	load_busybox
	# user networks of this suite: 10.250.x (E2E_SUBNET uses 10.20-219.x)
	export NET_A=10.250.11.0/24 NET_B=10.250.12.0/24 NET_I=10.250.13.0/24
}

teardown_file()
{
	local id
	for id in $(berth ps -aq 2>/dev/null); do berth rm -f "$id" >/dev/null 2>&1 || true; done
	for id in $(berth network ls -q --filter type=custom 2>/dev/null); do berth network rm "$id" >/dev/null 2>&1 || true; done
	berthd_stop
	# the suite's default bridge and its rules stay after berthd stops (as docker0 does)
	net_cleanup
}

setup() { berthd_ensure; }

# Every test leaves no container and no user network behind.
teardown()
{
	local id
	for id in $(berth ps -aq 2>/dev/null); do berth rm -f "$id" >/dev/null 2>&1 || true; done
	for id in $(berth network ls -q --filter type=custom 2>/dev/null); do berth network rm "$id" >/dev/null 2>&1 || true; done
}

# Berth's Linux bridges (berth0-like default of this suite and br-*).
our_bridges() { ip -br link show type bridge | awk '{print $1}' | grep -E "^(br-[0-9a-f]{12}|$E2E_BRIDGE)" || true; }

httpd_cmd='mkdir -p /www && echo "hello from $(hostname)" >/www/index.html && exec httpd -f -p 80 -h /www'

@test "swarm, node, service, task, secret and config endpoints answer as a non-swarm dockerd" {
	local p
	for p in "GET /swarm" "GET /nodes" "GET /services" "GET /tasks" "GET /secrets" "GET /configs" \
		"GET /nodes/x" "GET /services/x" "GET /tasks/x" "GET /secrets/x" "GET /configs/x" \
		"POST /swarm/update" "GET /swarm/unlockkey" "POST /swarm/unlock"; do
		api ${p% *} "${p#* }"
		assert_status 503
		assert_message 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.'
	done
	api POST /swarm/leave
	assert_status 503
	assert_message "This node is not part of a swarm"
	api POST /swarm/init -H 'Content-Type: application/json' -d '{}'
	assert_status 503
}

@test "network create, ls, inspect and rm: dockerd's shapes" {
	run berth network create --subnet "$NET_A" --label purpose=sample -o com.docker.network.bridge.name="${E2E_BRIDGE}a" samplenet
	[ "$status" -eq 0 ] || fail "$output"
	local id=$output
	assert_match "$id" '^[0-9a-f]{64}$'
	ip link show "${E2E_BRIDGE}a" >/dev/null || fail "bridge ${E2E_BRIDGE}a not made"

	api GET /networks/samplenet
	assert_status 200
	assert_eq "$(jq -r .Id <<<"$HTTP_BODY")" "$id"
	assert_eq "$(jq -c '[.Name,.Scope,.Driver,.EnableIPv6,.Internal,.Attachable,.Ingress,.ConfigOnly]' <<<"$HTTP_BODY")" \
		'["samplenet","local","bridge",false,false,false,false,false]'
	assert_eq "$(jq -c .IPAM <<<"$HTTP_BODY")" "{\"Driver\":\"default\",\"Options\":{},\"Config\":[{\"Subnet\":\"$NET_A\"$(jq -r '.IPAM.Config[0] | if .Gateway then ",\"Gateway\":\"" + .Gateway + "\"" else "" end' <<<"$HTTP_BODY")}]}"
	assert_eq "$(jq -c '[.Containers,.Labels,.ConfigFrom]' <<<"$HTTP_BODY")" '[{},{"purpose":"sample"},{"Network":""}]'
	# dockerd's key order
	assert_eq "$(jq -c keys_unsorted <<<"$HTTP_BODY")" \
		'["Name","Id","Created","Scope","Driver","EnableIPv6","IPAM","Internal","Attachable","Ingress","ConfigFrom","ConfigOnly","Containers","Options","Labels"]'

	run berth network ls
	[ "$status" -eq 0 ]
	assert_match "${lines[0]}" '^NETWORK ID +NAME +DRIVER +SCOPE$'
	assert_contains "$output" "${id:0:12}   samplenet"
	assert_match "$output" 'bridge +bridge +local'
	assert_match "$output" 'host +host +local'
	assert_match "$output" 'none +null +local'
	run berth network ls --filter type=custom -q
	assert_eq "$output" "${id:0:12}"
	run berth network ls --filter label=purpose=sample --format '{{.Name}} {{.Labels}}'
	assert_eq "$output" "samplenet purpose=sample"

	run berth network inspect -f '{{.Name}} {{(index .IPAM.Config 0).Subnet}}' "${id:0:10}"
	assert_eq "$output" "samplenet $NET_A"

	run berth network create samplenet
	[ "$status" -ne 0 ]
	assert_contains "$output" "network with name samplenet already exists"

	run berth network rm samplenet
	[ "$status" -eq 0 ]
	assert_eq "$output" samplenet
	! ip link show "${E2E_BRIDGE}a" >/dev/null 2>&1 || fail "bridge left after rm"
	run berth network inspect samplenet
	[ "$status" -eq 1 ]
	assert_contains "$output" "Error: No such network: samplenet"
}

@test "CheckDuplicate false allows a second network of one name, whose name is then ambiguous" {
	api POST /networks/create -H 'Content-Type: application/json' -d '{"Name":"dupnet","CheckDuplicate":false}'
	assert_status 201
	local id1
	id1=$(jq -r .Id <<<"$HTTP_BODY")
	assert_eq "$(jq -r .Warning <<<"$HTTP_BODY")" ""
	api POST /networks/create -H 'Content-Type: application/json' -d '{"Name":"dupnet","CheckDuplicate":false}'
	assert_status 201
	local id2
	id2=$(jq -r .Id <<<"$HTTP_BODY")
	assert_eq "$(jq -r .Warning <<<"$HTTP_BODY")" "Network with name dupnet (id : $id1) already exists"
	[ "$id1" != "$id2" ] || fail "same id twice"
	api POST /networks/create -H 'Content-Type: application/json' -d '{"Name":"dupnet","CheckDuplicate":true}'
	assert_status 409
	assert_message "network with name dupnet already exists"
	run berth network ls -q --filter name=dupnet
	assert_eq "$(sort <<<"$output" | tr '\n' ' ')" "$(printf '%s\n' "${id1:0:12}" "${id2:0:12}" | sort | tr '\n' ' ')"

	# dockerd 20.10's words, per code path
	api GET /networks/dupnet
	assert_status 400
	assert_message "2 matches found based on name: network dupnet is ambiguous"
	api DELETE /networks/dupnet
	assert_status 400
	assert_message "network dupnet is ambiguous (2 matches found based on name)"
	run berth run --rm --network dupnet busybox true
	[ "$status" -ne 0 ]
	assert_contains "$output" "network dupnet is ambiguous (2 matches found on name)"

	# by ID each one works, and each has its own bridge and containers
	berth run -d --name dupc --network "$id2" busybox sleep 600 >/dev/null
	api GET "/networks/$id1"
	assert_status 200
	assert_eq "$(jq -c .Containers <<<"$HTTP_BODY")" '{}'
	api GET "/networks/$id2"
	assert_eq "$(jq -r '.Containers[].Name' <<<"$HTTP_BODY")" dupc
	run berth network rm "$id1"
	[ "$status" -eq 0 ] || fail "$output"
	berth rm -f dupc >/dev/null
	# one left: the name is no longer ambiguous
	run berth network rm dupnet
	[ "$status" -eq 0 ] || fail "$output"
	api GET /networks/dupnet
	assert_status 404
}

@test "--link on a user network: an alias in that network's DNS for the linking container only (berth and both docker CLIs)" {
	berth network create --subnet "$NET_A" lnet >/dev/null
	run berth run -d --name lsrv --network lnet busybox sh -c "$httpd_cmd"
	[ "$status" -eq 0 ] || fail "$output"
	local sid=${output:0:12} cli
	for cli in berth "$DOCKER_CLI_28" "$DOCKER_CLI_20"; do
		[ "$cli" = berth ] || [ -x "$cli" ] || continue
		run "$cli" run --rm --network lnet --link lsrv:lalias busybox wget -qO- http://lalias/
		[ "$status" -eq 0 ] || fail "$cli wget http://lalias/: $output"
		assert_eq "$output" "hello from $sid"
	done
	# the link is the linking container's: another container does not resolve it
	run berth run --rm --network lnet busybox nslookup lalias 127.0.0.11
	[ "$status" -ne 0 ] || fail "lalias resolved without a link: $output"
	# no legacy variables or hosts entry on a user network
	run berth run --rm --network lnet --link lsrv:lalias busybox sh -c 'env; cat /etc/hosts'
	[ "$status" -eq 0 ] || fail "$output"
	assert_not_contains "$output" "LALIAS_"
	assert_not_contains "$output" "lalias"
	# dockerd's places: the endpoint's Links; connect --link too
	berth create --name lcli --network lnet --link lsrv:lalias busybox sleep 300 >/dev/null
	assert_eq "$(berth inspect -f '{{json .NetworkSettings.Networks.lnet.Links}}' lcli)" '["lsrv:lalias"]'
	# dockerd 20.10 shows HostConfig.Links from its link graph, which holds
	# default-bridge links only: null here
	assert_eq "$(berth inspect -f '{{json .HostConfig.Links}}' lcli)" null
	api GET /containers/lcli/json
	assert_eq "$(jq -c .HostConfig.Links <<<"$HTTP_BODY")" null
	berth network create --subnet "$NET_B" lnet2 >/dev/null
	berth network connect lnet2 lsrv
	run berth network connect --link lsrv:other lnet2 lcli
	[ "$status" -eq 0 ] || fail "$output"
	assert_eq "$(berth inspect -f '{{json .NetworkSettings.Networks.lnet2.Links}}' lcli)" '["lsrv:other"]'
	assert_eq "$(berth inspect -f '{{json .HostConfig.Links}}' lcli)" null
	berth start lcli >/dev/null
	run berth exec lcli wget -qO- http://other/
	[ "$status" -eq 0 ] || fail "wget http://other/: $output"
	assert_eq "$output" "hello from $sid"
	run berth exec lcli wget -qO- http://lalias.lnet/
	[ "$status" -eq 0 ] || fail "wget http://lalias.lnet/: $output"
}

@test "predefined networks cannot be created or removed" {
	api POST /networks/create -H 'Content-Type: application/json' -d '{"Name":"host"}'
	assert_status 403
	assert_message "operation is not permitted on predefined host network "
	run berth network rm none
	[ "$status" -eq 1 ]
	assert_contains "$output" "none is a pre-defined network and cannot be removed"
	api GET /networks/nope
	assert_status 404
	assert_message "network nope not found"
}

@test "two containers on a user network reach each other by name, alias and short ID" {
	berth network create --subnet "$NET_A" appnet >/dev/null
	run berth run -d --name srv --network appnet --network-alias www busybox sh -c "$httpd_cmd"
	[ "$status" -eq 0 ] || fail "$output"
	local sid=${output:0:12}
	run berth run --rm --network appnet busybox cat /etc/resolv.conf
	assert_contains "$output" "nameserver 127.0.0.11"
	local n
	for n in srv www "$sid" srv.appnet; do
		run berth run --rm --network appnet busybox wget -qO- "http://$n/"
		[ "$status" -eq 0 ] || fail "wget http://$n/: $output"
		assert_eq "$output" "hello from $sid"
	done
	run berth run --rm --network appnet busybox nslookup srv 127.0.0.11
	[ "$status" -eq 0 ] || fail "$output"
	local ip
	ip=$(berth inspect -f '{{.NetworkSettings.Networks.appnet.IPAddress}}' srv)
	assert_contains "$output" "$ip"
	# a name nobody has: NXDOMAIN or SERVFAIL from the forwarder, not an answer
	run berth run --rm --network appnet busybox nslookup nosuchname.invalid 127.0.0.11
	[ "$status" -ne 0 ]

	# NetworkSettings as dockerd shapes it
	run berth inspect -f '{{json .NetworkSettings.Networks.appnet}}' srv
	local ep=$output
	assert_eq "$(jq -c .Aliases <<<"$ep")" "[\"www\",\"$sid\"]"
	assert_eq "$(jq -c keys_unsorted <<<"$ep")" \
		'["IPAMConfig","Links","Aliases","NetworkID","EndpointID","Gateway","IPAddress","IPPrefixLen","IPv6Gateway","GlobalIPv6Address","GlobalIPv6PrefixLen","MacAddress","DriverOpts"]'
	assert_eq "$(jq -r .NetworkID <<<"$ep")" "$(berth network inspect -f '{{.Id}}' appnet)"
	assert_match "$(jq -r .IPAddress <<<"$ep")" '^10\.250\.11\.'
	assert_eq "$(jq -r .IPPrefixLen <<<"$ep")" 24
	assert_match "$(jq -r .EndpointID <<<"$ep")" '^[0-9a-f]{64}$'
	# the network lists its container
	api GET /networks/appnet
	local full
	full=$(berth inspect -f '{{.Id}}' srv)
	assert_eq "$(jq -r ".Containers[\"$full\"].Name" <<<"$HTTP_BODY")" srv
	assert_eq "$(jq -r ".Containers[\"$full\"].IPv4Address" <<<"$HTTP_BODY")" "$ip/24"

	# a container on another network does not resolve srv
	berth network create --subnet "$NET_B" othernet >/dev/null
	run berth run --rm --network othernet busybox nslookup srv 127.0.0.11
	[ "$status" -ne 0 ]
}

@test "connect and disconnect a running container; rm refuses a network in use" {
	berth network create --subnet "$NET_A" neta >/dev/null
	berth network create --subnet "$NET_B" netb >/dev/null
	berth run -d --name c1 --network neta busybox sh -c "$httpd_cmd" >/dev/null
	run berth network connect --alias second --ip 10.250.12.77 netb c1
	[ "$status" -eq 0 ] || fail "$output"
	assert_eq "$(berth inspect -f '{{.NetworkSettings.Networks.netb.IPAddress}}' c1)" 10.250.12.77
	assert_eq "$(berth inspect -f '{{json .NetworkSettings.Networks.netb.IPAMConfig}}' c1)" '{"IPv4Address":"10.250.12.77"}'
	run berth exec c1 ip -o -4 addr show
	assert_contains "$output" "10.250.12.77/24"
	run berth run --rm --network netb busybox wget -qO- http://second/
	[ "$status" -eq 0 ] || fail "$output"
	# stats: one entry per interface of the container's namespace
	api GET '/containers/c1/stats?stream=0'
	assert_status 200
	assert_eq "$(jq -c '.networks | keys' <<<"$HTTP_BODY")" '["eth0","eth1"]'

	run berth network rm netb
	[ "$status" -eq 1 ]
	assert_contains "$output" "has active endpoints"
	run berth network connect netb c1
	[ "$status" -eq 1 ]
	assert_contains "$output" "already exists in network netb"

	run berth network disconnect netb c1
	[ "$status" -eq 0 ] || fail "$output"
	assert_eq "$(berth inspect -f '{{json .NetworkSettings.Networks}}' c1 | jq 'has("netb")')" false
	run berth exec c1 ip -o -4 addr show
	assert_not_contains "$output" "10.250.12.77"
	run berth network rm netb
	[ "$status" -eq 0 ] || fail "$output"
}

@test "legacy --link on the default bridge: variables and hosts entry; rm --link" {
	berth run -d --name web --expose 80 -e WEBVAR=hi busybox sh -c "$httpd_cmd" >/dev/null
	local wip
	wip=$(berth inspect -f '{{.NetworkSettings.IPAddress}}' web)
	[ -n "$wip" ] || fail "web has no address on the default bridge"
	run berth run --rm --name client --link web:alias busybox env
	[ "$status" -eq 0 ] || fail "$output"
	assert_contains "$output" "ALIAS_NAME=/client/alias"
	assert_contains "$output" "ALIAS_PORT=tcp://$wip:80"
	assert_contains "$output" "ALIAS_PORT_80_TCP=tcp://$wip:80"
	assert_contains "$output" "ALIAS_PORT_80_TCP_ADDR=$wip"
	assert_contains "$output" "ALIAS_PORT_80_TCP_PORT=80"
	assert_contains "$output" "ALIAS_PORT_80_TCP_PROTO=tcp"
	assert_contains "$output" "ALIAS_ENV_WEBVAR=hi"
	run berth run --rm --link web:alias busybox cat /etc/hosts
	assert_match "$output" "$wip	alias [0-9a-f]{12} web"
	run berth run --rm --link web:alias busybox wget -qO- http://alias/
	[ "$status" -eq 0 ] || fail "$output"
	assert_contains "$output" "hello from"

	berth create --name linker --link web:alias busybox true >/dev/null
	# the stored form, as dockerd shows it: /target:/container/alias
	assert_eq "$(berth inspect -f '{{json .HostConfig.Links}}' linker)" '["/web:/linker/alias"]'
	run berth rm --link /linker/alias
	[ "$status" -eq 0 ] || fail "$output"
	assert_eq "$(berth inspect -f '{{json .HostConfig.Links}}' linker)" null
}

@test "an internal network has no way out" {
	berth network create --internal --subnet "$NET_I" inet >/dev/null
	berth network create --subnet "$NET_B" outnet >/dev/null
	local gw_out
	gw_out=$(berth network inspect -f '{{(index .IPAM.Config 0).Gateway}}' outnet)
	[ -n "$gw_out" ] || gw_out=10.250.12.1
	# from a normal network the host's address on another bridge answers
	run berth run --rm --network outnet busybox ping -c1 -W2 "${E2E_SUBNET%.0/24}.1"
	[ "$status" -eq 0 ] || fail "control ping failed: $output"
	run berth run --rm --network inet busybox ping -c1 -W2 "${E2E_SUBNET%.0/24}.1"
	[ "$status" -ne 0 ] || fail "internal network reached the host: $output"
	run berth run --rm --network inet busybox ip route
	assert_not_contains "$output" "default"
	# but containers on it still reach each other
	berth run -d --name isrv --network inet busybox sh -c "$httpd_cmd" >/dev/null
	run berth run --rm --network inet busybox wget -qO- http://isrv/
	[ "$status" -eq 0 ] || fail "$output"
}

@test "bad input: overlapping subnets, unknown network, invalid --ip leave nothing half-made" {
	berth network create --subnet "$NET_A" first >/dev/null
	local before
	before=$(our_bridges | sort)
	run berth network create --subnet 10.250.11.128/25 second
	[ "$status" -ne 0 ]
	assert_contains "$output" "overlaps"
	assert_eq "$(our_bridges | sort)" "$before"
	run berth network inspect second
	[ "$status" -eq 1 ]

	run berth run -d --network nope busybox true
	[ "$status" -ne 0 ]
	assert_contains "$output" "network nope not found"
	assert_eq "$(berth ps -aq | wc -l)" 0

	run berth run -d --network first --ip 10.250.99.5 busybox true
	[ "$status" -ne 0 ]
	assert_contains "$output" "no configured subnet or ip-range contain the IP address 10.250.99.5"
	api POST /containers/create -H 'Content-Type: application/json' \
		-d '{"Image":"busybox","HostConfig":{"NetworkMode":"first"},"NetworkingConfig":{"EndpointsConfig":{"first":{"IPAMConfig":{"IPv4Address":"300.1.2.3"}}}}}'
	assert_status 400
	assert_message "invalid IPv4 address: 300.1.2.3"
	run berth run -d --network bridge --ip 172.17.0.9 busybox true
	[ "$status" -ne 0 ]
	assert_contains "$output" "user specified IP address is supported on user defined networks only"
	assert_eq "$(berth ps -aq | wc -l)" 0

	api POST /networks/create -H 'Content-Type: application/json' -d '{"Name":"badsub","IPAM":{"Config":[{"Subnet":"10.250.300.0/24"}]}}'
	assert_status 400
	api POST /networks/create -H 'Content-Type: application/json' -d '{"Name":"baddrv","Driver":"overlay"}'
	assert_status 404
	run berth network ls -q --filter type=custom
	assert_eq "$(wc -l <<<"$output")" 1
	assert_eq "$(our_bridges | sort)" "$before"
}

@test "network prune removes unused networks only" {
	berth network create --subnet "$NET_A" --label keep=no unused1 >/dev/null
	berth network create --subnet "$NET_B" used1 >/dev/null
	berth create --name holder --network used1 busybox true >/dev/null
	run berth network prune -f --filter label=keep=no
	[ "$status" -eq 0 ]
	assert_eq "$output" "Deleted Networks:
unused1"
	run berth network prune -f
	assert_eq "$output" ""
	run berth network ls --format '{{.Name}}' --filter type=custom
	assert_eq "$output" used1
}

@test "the docker CLIs 28.x and 20.10 run network create/ls/inspect/connect/rm the same" {
	local cli
	for cli in "$DOCKER_CLI_28" "$DOCKER_CLI_20"; do
		[ -x "$cli" ] || skip "$cli not installed"
		run "$cli" network create --subnet "$NET_A" --label via=cli clinet
		[ "$status" -eq 0 ] || fail "$cli: $output"
		local id=$output
		run "$cli" network ls --filter name=clinet --format '{{.ID}} {{.Name}} {{.Driver}} {{.Labels}}'
		assert_eq "$output" "${id:0:12} clinet bridge via=cli"
		run "$cli" network inspect -f '{{.Name}} {{.Driver}} {{(index .IPAM.Config 0).Subnet}}' clinet
		assert_eq "$output" "clinet bridge $NET_A"
		"$cli" run -d --name clic busybox sleep 300 >/dev/null
		run "$cli" network connect --alias cal clinet clic
		[ "$status" -eq 0 ] || fail "$cli connect: $output"
		run "$cli" inspect -f '{{index .NetworkSettings.Networks.clinet.Aliases 0}}' clic
		assert_eq "$output" cal
		run "$cli" run --rm --network clinet busybox ping -c1 -W2 cal
		[ "$status" -eq 0 ] || fail "$cli ping cal: $output"
		run "$cli" network disconnect clinet clic
		[ "$status" -eq 0 ] || fail "$cli disconnect: $output"
		"$cli" rm -f clic >/dev/null
		run "$cli" network rm clinet
		[ "$status" -eq 0 ] || fail "$cli rm: $output"
		assert_eq "$output" clinet
		run "$cli" network inspect clinet
		[ "$status" -ne 0 ]
	done
}

@test "after the suite's work no bridge, veth, netns or rule of Berth remains" {
	# everything of the tests above is gone: no user bridge, no veth on our
	# bridges, no sandbox, no rule naming a user subnet
	run our_bridges
	assert_eq "$output" "$E2E_BRIDGE"
	run ip -br link show master "$E2E_BRIDGE"
	assert_eq "$output" ""
	run ls "$E2E_EXEC/netns"
	assert_eq "$output" ""
	run sh -c 'iptables-save; ip6tables-save'
	assert_not_contains "$output" "10.250.1"
	assert_not_contains "$output" "br-"
}
