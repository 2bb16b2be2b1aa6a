#!/usr/bin/env bats
# Volumes: named volumes outlive their containers, anonymous volumes get the
# image's content at their path, --volumes-from shares, :ro refuses writes,
# local-driver options (tmpfs, bind), rm -v, volume ls/inspect/rm/prune
# through berth and both docker CLIs, bad input, events, and no mount left
# behind. Run it against dockerd 20.10 too: E2E_TARGET=dockerd.

load helpers

setup_file()
{
	berthd_start
	load_busybox
	# An image whose config has VOLUME /data over a rootfs holding files there:
	# a file, a symlink and a directory with its own owner and mode.
	local d=$BATS_FILE_TMPDIR/volroot
	mkdir -p "$d"
	tar -C "$d" -xf "$(busybox_rootfs)"
	mkdir -p "$d/data/sub"
	echo from-image >"$d/data/hello"
	echo deep >"$d/data/sub/f"
	ln -s hello "$d/data/link"
	chown 1000:1000 "$d/data/sub"
	chmod 0750 "$d/data/sub"
	tar -C "$d" -cf "$BATS_FILE_TMPDIR/volroot.tar" .
	rm -rf "$d"
	berth import -c 'VOLUME /data' -c 'CMD ["/bin/sh"]' "$BATS_FILE_TMPDIR/volroot.tar" volimg:latest >/dev/null
	BIND_SRC=$BATS_FILE_TMPDIR/bindsrc
	mkdir -p "$BIND_SRC"
	echo on-host >"$BIND_SRC/f"
	export BIND_SRC
}

teardown_file() { berthd_stop; }
setup() { berthd_ensure; }

# Every test leaves no container and no volume behind.
teardown()
{
	local id name
	api GET '/containers/json?all=1' || return 0
	for id in $(printf '%s' "$HTTP_BODY" | jq -r '.[].Id' 2>/dev/null); do
		api DELETE "/containers/$id?force=1&v=1" || true
	done
	api GET '/volumes' || return 0
	for name in $(printf '%s' "$HTTP_BODY" | jq -r '.Volumes[]?.Name' 2>/dev/null); do
		api DELETE "/volumes/$name?force=1" || true
	done
}

volume_count()
{
	api GET '/volumes'
	printf '%s' "$HTTP_BODY" | jq '.Volumes | length'
}

container_count()
{
	api GET '/containers/json?all=1'
	printf '%s' "$HTTP_BODY" | jq length
}

# Stop the daemon (SIGTERM; containers keep running in their shims) and start
# it again on the same data root.
restart_daemon()
{
	local pid
	pid=$(cat "$E2E_PIDFILE")
	kill -TERM "$pid"
	_e2e_wait_gone 300 "$pid" || fail "daemon $pid did not stop"
	local -a cmd
	# shellcheck disable=SC1091
	. "$E2E_TMP/daemon.cmd"
	rm -f "$E2E_SOCK" "$E2E_PIDFILE"
	# daemon.args holds "'' " when berthd_start had no arguments
	local extra
	extra=$(cat "$E2E_TMP/daemon.args")
	[[ $extra =~ ^\'\'\ *$ ]] && extra=
	eval "_e2e_spawn \"\${cmd[@]}\" $extra"
}

# Mounts below the daemon's data root that are volumes.
volume_mounts() { awk -v p="$E2E_DATA/volumes/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo; }

@test "data in a named volume survives rm of the container and shows in a new one" {
	run -0 berth run --name writer -v keep:/x busybox sh -c 'echo persisted >/x/f'
	run -0 berth rm writer
	run -0 berth volume inspect -f '{{.Name}} {{.Driver}}' keep
	assert_eq "$output" "keep local"
	run -0 berth run --rm -v keep:/y busybox cat /y/f
	assert_eq "$output" "persisted"
	run -0 berth volume inspect -f '{{.Mountpoint}}' keep
	assert_eq "$output" "$E2E_DATA/volumes/keep/_data"
	[ "$(cat "$E2E_DATA/volumes/keep/_data/f")" = persisted ]
}

_named_volume_docker()
{
	local cli=$1
	need_cli "$cli"
	run -0 "$cli" run --name wr -v dk:/x busybox sh -c 'echo via-docker >/x/f'
	run -0 "$cli" rm wr
	run -0 "$cli" run --rm --mount type=volume,src=dk,dst=/y busybox cat /y/f
	assert_eq "$output" "via-docker"
	run -0 "$cli" volume rm dk
}

@test "the same through docker CLI 28" { _named_volume_docker "$DOCKER_CLI_28"; }
@test "the same through docker CLI 20.10" { _named_volume_docker "$DOCKER_CLI_20"; }

@test "an anonymous volume gets the image's files at its path" {
	run -0 berth create --name anon volimg ls -la /data /data/sub
	run -0 berth inspect -f '{{range .Mounts}}{{.Type}} {{.Destination}} {{.Driver}} {{.RW}} {{len .Name}}{{end}}' anon
	assert_eq "$output" "volume /data local true 64"
	local vol
	vol=$(berth inspect -f '{{(index .Mounts 0).Name}}' anon)
	# copied at create, as docker does: owner, mode and symlink kept
	[ "$(cat "$E2E_DATA/volumes/$vol/_data/hello")" = from-image ]
	[ "$(readlink "$E2E_DATA/volumes/$vol/_data/link")" = hello ]
	[ "$(stat -c '%u:%g %a' "$E2E_DATA/volumes/$vol/_data/sub")" = "1000:1000 750" ]
	run -0 berth start -a anon
	assert_contains "$output" "hello"
	assert_contains "$output" "link -> hello"
	assert_match "$output" "drwxr-x---[ ]+[0-9]+ 1000 +1000 .* sub"
	# not copied again into a volume that has content
	echo mine >"$E2E_DATA/volumes/$vol/_data/hello"
	run -0 berth start -a anon
	[ "$(cat "$E2E_DATA/volumes/$vol/_data/hello")" = mine ]
}

@test "a named volume mounted over image content is filled once; nocopy leaves it empty" {
	run -0 berth run --rm -v filled:/data volimg cat /data/hello
	assert_eq "$output" "from-image"
	run -0 berth run --rm --mount type=volume,src=empty,dst=/data,volume-nocopy volimg ls -A /data
	assert_eq "$output" ""
	run -0 berth run --rm -v empty2:/data:nocopy volimg ls -A /data
	assert_eq "$output" ""
}

@test "--volumes-from shares the volumes, :ro makes them read-only" {
	run -0 berth create --name data -v shared:/shared volimg true
	run -0 berth run --rm --volumes-from data busybox sh -c 'echo written >/shared/w; cat /data/hello'
	assert_eq "$output" "from-image"
	run -0 berth run --rm --volumes-from data:ro busybox cat /shared/w
	assert_eq "$output" "written"
	run -1 berth run --rm --volumes-from data:ro busybox touch /shared/x
	assert_contains "$output" "Read-only file system"
	run -0 berth inspect -f '{{.HostConfig.VolumesFrom}}' data
	run -0 berth create --name from --volumes-from data:ro busybox true
	run -0 berth inspect -f '{{range .Mounts}}{{.Destination}}={{.RW}} {{end}}' from
	assert_contains "$output" "/shared=false"
	assert_contains "$output" "/data=false"
}

@test ":ro and readonly refuse writes, :rw and the default allow them" {
	run -1 berth run --rm -v rov:/x:ro busybox touch /x/a
	assert_contains "$output" "Read-only file system"
	run -1 berth run --rm --mount type=volume,src=rov,dst=/x,readonly busybox touch /x/a
	assert_contains "$output" "Read-only file system"
	run -1 berth run --rm -v "$BIND_SRC:/b:ro" busybox touch /b/a
	assert_contains "$output" "Read-only file system"
	run -0 berth run --rm -v rov:/x:rw busybox touch /x/a
	run -0 berth run --rm -v "$BIND_SRC:/b" busybox cat /b/f
	assert_eq "$output" "on-host"
	run -0 berth run --rm --mount "type=bind,src=$BIND_SRC,dst=/b,readonly" busybox cat /b/f
	assert_eq "$output" "on-host"
}

@test "bind mounts: -v creates a missing source, :z/:Z are accepted" {
	local src=$BATS_TEST_TMPDIR/created-by-v
	[ ! -e "$src" ]
	run -0 berth run --rm -v "$src:/m:z" busybox sh -c 'echo x >/m/y'
	[ -d "$src" ] && [ "$(cat "$src/y")" = x ]
	run -0 berth run --rm -v "$src:/m:Z,ro" busybox cat /m/y
	assert_eq "$output" x
}

@test "inspect Mounts as docker shows them" {
	run -0 berth create --name mm -v named:/n -v "$BIND_SRC:/b:ro" -v /anon --mount type=tmpfs,dst=/t busybox true
	run -0 berth inspect -f '{{json .Mounts}}' mm
	local mounts=$output
	run -0 jq -c '.[] | select(.Destination == "/n")' <<<"$mounts"
	assert_eq "$output" "{\"Type\":\"volume\",\"Name\":\"named\",\"Source\":\"$E2E_DATA/volumes/named/_data\",\"Destination\":\"/n\",\"Driver\":\"local\",\"Mode\":\"z\",\"RW\":true,\"Propagation\":\"\"}"
	run -0 jq -c '.[] | select(.Destination == "/b")' <<<"$mounts"
	assert_eq "$output" "{\"Type\":\"bind\",\"Source\":\"$BIND_SRC\",\"Destination\":\"/b\",\"Mode\":\"ro\",\"RW\":false,\"Propagation\":\"rprivate\"}"
	run -0 jq -c '.[] | select(.Destination == "/anon") | [.Type, .Mode, .RW, (.Name | length)]' <<<"$mounts"
	assert_eq "$output" '["volume","",true,64]'
	run -0 jq -c '.[] | select(.Destination == "/t")' <<<"$mounts"
	assert_eq "$output" '{"Type":"tmpfs","Source":"","Destination":"/t","Mode":"","RW":true,"Propagation":""}'
}

@test "rm -v removes anonymous volumes, keeps named ones; plain rm keeps both" {
	run -0 berth create --name a1 -v /anon -v named1:/n busybox true
	run -0 berth create --name a2 -v /anon busybox true
	assert_eq "$(volume_count)" 3
	run -0 berth rm a2
	assert_eq "$(volume_count)" 3
	run -0 berth volume ls -q -f dangling=true
	assert_eq "$(wc -l <<<"$output")" 1
	run -0 berth rm -v a1
	run -0 berth volume ls -q
	assert_eq "$(sort <<<"$output" | grep -c .)" 2
	assert_contains "$output" named1
	# --rm removes the anonymous volumes too
	run -0 berth run --rm -v /gone busybox true
	run -0 berth volume ls -q
	assert_eq "$(grep -c . <<<"$output")" 2
}

@test "a volume in use cannot be removed (409, docker's message), not even with -f" {
	run -0 berth create --name user1 -v busy:/x busybox true
	local id
	id=$(berth inspect -f '{{.Id}}' user1)
	api DELETE /volumes/busy
	assert_status 409
	assert_message "remove busy: volume is in use - [$id]"
	api DELETE '/volumes/busy?force=1'
	assert_status 409
	run -1 berth volume rm busy
	assert_eq "$output" "Error response from daemon: remove busy: volume is in use - [$id]"
	run -0 berth rm user1
	run -0 berth volume rm busy
	assert_eq "$output" busy
}

_volume_cli_tour()
{
	local cli=$1 out
	case $cli in
	docker28) need_cli "$DOCKER_CLI_28" ;;
	docker20) need_cli "$DOCKER_CLI_20" ;;
	esac
	run -0 $cli volume create --label team=a --label solo -o type=tmpfs -o device=tmpfs -o o=size=1m lv1
	assert_eq "$output" lv1
	run -0 $cli volume create lv10
	run -0 $cli volume create lv2
	run -0 $cli volume ls
	assert_eq "$output" "DRIVER    VOLUME NAME
local     lv1
local     lv2
local     lv10"
	run -0 $cli volume ls -q -f label=team=a
	assert_eq "$output" lv1
	run -0 $cli volume ls -q -f name=lv1
	assert_eq "$output" "lv1
lv10"
	run -0 $cli volume ls --format '{{.Name}}|{{.Driver}}|{{.Scope}}|{{.Labels}}|{{.Label "team"}}' -f name=^lv1$
	# docker's CLI joins the labels in map order
	assert_match "$output" '^lv1\|local\|local\|(solo=,team=a|team=a,solo=)\|a$'
	run -0 $cli volume inspect -f '{{.Name}} {{json .Options}} {{json .Labels}}' lv1
	assert_eq "$output" 'lv1 {"device":"tmpfs","o":"size=1m","type":"tmpfs"} {"solo":"","team":"a"}'
	run -0 $cli volume inspect lv2
	out=$output
	assert_eq "$(jq -r '.[0].Mountpoint' <<<"$out")" "$E2E_DATA/volumes/lv2/_data"
	assert_eq "$(jq -r '.[0] | keys | join(",")' <<<"$out")" "CreatedAt,Driver,Labels,Mountpoint,Name,Options,Scope"
	run -1 $cli volume inspect nope
	run -0 $cli volume rm lv1 lv2 lv10
	assert_eq "$output" "lv1
lv2
lv10"
	run -0 $cli volume rm -f nope
	assert_eq "$(volume_count)" 0
}

@test "volume create/ls/inspect/rm through berth" { _volume_cli_tour berth; }
@test "volume create/ls/inspect/rm through docker CLI 28" { _volume_cli_tour docker28; }
@test "volume create/ls/inspect/rm through docker CLI 20.10" { _volume_cli_tour docker20; }

@test "volume prune removes unused local volumes (not those with options), prints docker's summary" {
	run -0 berth volume create pk
	run -0 berth volume create -o type=tmpfs -o device=tmpfs withopts
	run -0 berth volume create --label keep=1 labelled
	run -0 berth create --name holder -v held:/x busybox true
	printf '12345' >"$E2E_DATA/volumes/pk/_data/f"
	run -0 berth volume prune -f --filter label!=keep
	assert_eq "$output" "Deleted Volumes:
pk

Total reclaimed space: 5B"
	run -0 berth volume ls -q
	assert_eq "$output" "held
labelled
withopts"
	# the prompt: no means nothing removed
	run -0 bash -c "echo n | '$BERTH_CLI' volume prune"
	assert_eq "$output" "WARNING! This will remove all local volumes not used by at least one container.
Are you sure you want to continue? [y/N] Total reclaimed space: 0B"
	assert_eq "$(volume_count)" 3
	api POST '/volumes/prune?filters=%7B%22until%22%3A%5B%221h%22%5D%7D'
	assert_status 400
	assert_message "Invalid filter 'until'"
	need_cli "$DOCKER_CLI_20"
	run -0 docker20 volume prune -f
	assert_eq "$output" "Deleted Volumes:
labelled

Total reclaimed space: 0B"
}

@test "API: list filters and docker's errors" {
	run -0 berth volume create --label a=b fa
	run -0 berth volume create fb
	run -0 berth create --name fc -v fb:/x busybox true
	api GET '/volumes?filters=%7B%22dangling%22%3A%5B%22true%22%5D%7D'
	assert_status 200
	assert_eq "$(jq -r '[.Volumes[].Name] | join(",")' <<<"$HTTP_BODY")" fa
	assert_eq "$(jq -c .Warnings <<<"$HTTP_BODY")" null
	api GET '/volumes?filters=%7B%22dangling%22%3A%5B%22false%22%5D%7D'
	assert_eq "$(jq -r '[.Volumes[].Name] | join(",")' <<<"$HTTP_BODY")" fb
	api GET '/volumes?filters=%7B%22driver%22%3A%5B%22local%22%5D%2C%22label%22%3A%5B%22a%22%5D%7D'
	assert_eq "$(jq -r '[.Volumes[].Name] | join(",")' <<<"$HTTP_BODY")" fa
	api GET '/volumes?filters=%7B%22dangling%22%3A%5B%22xx%22%5D%7D'
	assert_status 400
	assert_message "Invalid filter 'dangling=[xx]'"
	api GET '/volumes?filters=%7B%22foo%22%3A%5B%22x%22%5D%7D'
	assert_status 400
	assert_message "Invalid filter 'foo'"
	api GET /volumes/nope
	assert_status 404
	assert_message "get nope: no such volume"
	api DELETE /volumes/nope
	assert_status 404
	api DELETE '/volumes/nope?force=1'
	assert_status 204
	api POST /volumes/create -H 'Content-Type: application/json' -d '{"Name":"v3","DriverOpts":{"bad":"x"}}'
	assert_status 400
	assert_message 'create v3: invalid option: "bad"'
	api POST /volumes/create -H 'Content-Type: application/json' -d '{"Name":"v3","Driver":"foo"}'
	assert_status 404
	assert_message 'create v3: error looking up volume plugin foo: plugin "foo" not found'
	api POST /volumes/create -H 'Content-Type: application/json' -d '{}'
	assert_status 201
	assert_match "$(jq -r .Name <<<"$HTTP_BODY")" '^[0-9a-f]{64}$'
}

@test "bad input: a volume name with '/' and a --mount bind source that does not exist" {
	local nv nc
	nv=$(volume_count)
	nc=$(container_count)
	run -1 berth volume create x/y
	assert_eq "$output" 'Error response from daemon: create x/y: "x/y" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path'
	run -125 berth run --rm -v x/y:/x busybox true
	assert_contains "$output" 'create x/y: "x/y" includes invalid characters for a local volume name'
	run -125 berth run --rm --mount type=bind,src=/nonexistent-berth-src,dst=/x busybox true
	assert_contains "$output" 'invalid mount config for type "bind": bind source path does not exist: /nonexistent-berth-src'
	[ ! -e /nonexistent-berth-src ]
	api POST /volumes/create -H 'Content-Type: application/json' -d '{"Name":"x/y"}'
	assert_status 400
	run -1 berth create -v "$BIND_SRC:/x" -v nv:/x busybox true
	assert_contains "$output" "Duplicate mount point: /x"
	run -1 berth create --volumes-from nope busybox true
	assert_contains "$output" "No such container: nope"
	run -1 berth create -v 'a:b:c:d' busybox true
	assert_contains "$output" "invalid volume specification: 'a:b:c:d'"
	# nothing was created
	assert_eq "$(volume_count)" "$nv"
	assert_eq "$(container_count)" "$nc"
	[ ! -e "$E2E_DATA/volumes/x" ]
	[ ! -e "$E2E_DATA/volumes/nv" ]
}

@test "local driver options: a tmpfs volume is mounted while in use, shared, and unmounted after" {
	run -0 berth volume create -o type=tmpfs -o device=tmpfs -o o=size=2m,mode=1777 tv
	run -0 berth run -d --name t1 -v tv:/x busybox sh -c 'echo in-tmpfs >/x/f; sleep 300'
	local i
	for i in $(seq 50); do [ -s "$E2E_DATA/volumes/tv/_data/f" ] && break; sleep 0.1; done
	assert_eq "$(volume_mounts)" "$E2E_DATA/volumes/tv/_data"
	run -0 berth run --rm -v tv:/y busybox sh -c 'cat /y/f; grep " /y " /proc/mounts'
	assert_contains "$output" "in-tmpfs"
	assert_contains "$output" "tmpfs"
	assert_eq "$(volume_mounts)" "$E2E_DATA/volumes/tv/_data"
	run -0 berth rm -f t1
	assert_eq "$(volume_mounts)" ""
	run -0 berth volume rm tv
}

@test "local driver options: a bind volume; a missing device fails the start with docker's message" {
	run -0 berth volume create -o type=none -o o=bind -o "device=$BIND_SRC" bv
	run -0 berth run --rm -v bv:/b busybox cat /b/f
	assert_eq "$output" "on-host"
	assert_eq "$(volume_mounts)" ""
	run -0 berth volume create -o type=none -o o=bind -o device=/nonexistent-berth-dev badbind
	run -0 berth create --name bad -v badbind:/b busybox true
	run -1 berth start bad
	assert_contains "$output" "error while mounting volume '$E2E_DATA/volumes/badbind/_data': failed to mount local volume: mount /nonexistent-berth-dev:$E2E_DATA/volumes/badbind/_data, flags: 0x1000: no such file or directory"
	assert_eq "$(volume_mounts)" ""
	run -0 berth rm bad
	run -0 berth volume rm bv badbind
	[ "$(cat "$BIND_SRC/f")" = on-host ]
}

@test "events: volume create, mount, unmount, destroy, prune" {
	local since
	since=$(date +%s.%N)
	run -0 berth volume create ev1
	run -0 berth run --name evc -v ev1:/x:ro busybox true
	run -0 berth rm evc
	run -0 berth volume rm ev1
	run -0 berth volume create ev2
	run -0 berth volume prune -f
	api GET "/events?since=$since&until=$(($(date +%s) + 1))&filters=%7B%22type%22%3A%5B%22volume%22%5D%7D"
	assert_status 200
	run -0 jq -r '[.Action, .Actor.ID] | join(" ")' <<<"$HTTP_BODY"
	assert_eq "$output" "create ev1
create ev1
mount ev1
unmount ev1
destroy ev1
create ev2
prune "
	run -0 jq -c 'select(.Action == "mount") | .Actor.Attributes | [.destination, .driver, .propagation, .["read/write"], (.container | length)]' <<<"$HTTP_BODY"
	assert_eq "$output" '["/x","local","","false",64]'
	run -0 jq -r 'select(.Action == "prune") | .Actor.Attributes.reclaimed' <<<"$HTTP_BODY"
	assert_eq "$output" 0
}

@test "volumes survive a daemon restart; running containers keep their tmpfs volume" {
	skip_on_dockerd "the suite's restart helper is berthd's"
	run -0 berth volume create -o type=tmpfs -o device=tmpfs keepme
	run -0 berth volume create plain
	run -0 berth run -d --name live -v keepme:/x busybox sh -c 'echo alive >/x/f; sleep 300'
	local i
	for i in $(seq 50); do [ -s "$E2E_DATA/volumes/keepme/_data/f" ] && break; sleep 0.1; done
	restart_daemon
	run -0 berth volume ls -q
	assert_eq "$output" "keepme
plain"
	run -0 berth run --rm -v keepme:/x busybox cat /x/f
	assert_eq "$output" "alive"
	run -0 berth rm -f live
	assert_eq "$(volume_mounts)" ""
}

@test "a container being created stays invisible until its record and volumes are complete" {
	# An image whose VOLUME holds many files: copying them up takes a while,
	# and during that time nobody may find a container without its Mounts.
	local d=$BATS_TEST_TMPDIR/bigroot i
	mkdir -p "$d"
	tar -C "$d" -xf "$(busybox_rootfs)"
	mkdir -p "$d/big"
	for i in $(seq 1 40); do
		mkdir "$d/big/d$i"
		(cd "$d/big/d$i" && seq 1 500 | xargs touch)
	done
	tar -C "$d" -cf "$BATS_TEST_TMPDIR/big.tar" .
	rm -rf "$d"
	berth import -c 'VOLUME /big' "$BATS_TEST_TMPDIR/big.tar" bigvol:latest >/dev/null
	berth create --name slowvol bigvol:latest true >"$BATS_TEST_TMPDIR/create.out" 2>&1 &
	local cpid=$! seen=0 mounts done=0
	# poll until the container is found or create has finished (then once more)
	for i in $(seq 1 100000); do
		kill -0 "$cpid" 2>/dev/null || done=1
		if api GET /containers/slowvol/json && [ "$HTTP_CODE" = 200 ]; then
			seen=1
			mounts=$(printf '%s' "$HTTP_BODY" | jq -r '[.Mounts[] | select(.Destination == "/big")] | length')
			# the first time it is visible, its volume is recorded and complete
			assert_eq "$mounts" 1
			local src
			src=$(printf '%s' "$HTTP_BODY" | jq -r '.Mounts[] | select(.Destination == "/big") | .Source')
			assert_eq "$(find "$src" -type f | wc -l)" 20000
			break
		fi
		[ "$done" = 1 ] && break
	done
	wait "$cpid" || fail "create failed: $(cat "$BATS_TEST_TMPDIR/create.out")"
	assert_eq "$seen" 1
	run -0 berth rm -v slowvol
	run -0 berth rmi bigvol:latest
}

@test "no volume mounts are left behind" {
	assert_eq "$(volume_mounts)" ""
}

@test "the daemon never crashed during the suite" {
	assert_no_daemon_crash
}
