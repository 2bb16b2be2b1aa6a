#!/usr/bin/env bats
# --userns-remap (issue 11, item 5): "default" creates the berthremap user
# and its subordinate ranges, the data root moves to <data-root>/<uid>.<gid>,
# layers and volumes belong to the remapped root, containers run in a user
# namespace (root inside, the mapped uid on the host), docker's refusals and
# --userns=host. The user and the /etc/subuid, /etc/subgid lines are removed
# again only when this suite added them.

load helpers
load storage_lib

REMAP_USER=berthremap

# the temp dir berthd_start makes is 0700: the remapped root must traverse it
_userns_data_hook()
{
	[ "$1" = setup ] && chmod 0711 "$E2E_TMP"
	return 0
}

setup_file()
{
	skip_on_dockerd
	USERNS_HAD_USER=0 USERNS_HAD_SUBUID=0 USERNS_HAD_SUBGID=0
	getent passwd $REMAP_USER >/dev/null && USERNS_HAD_USER=1
	grep -q "^$REMAP_USER:" /etc/subuid 2>/dev/null && USERNS_HAD_SUBUID=1
	grep -q "^$REMAP_USER:" /etc/subgid 2>/dev/null && USERNS_HAD_SUBGID=1
	export USERNS_HAD_USER USERNS_HAD_SUBUID USERNS_HAD_SUBGID
	E2E_DATA_FS_HOOK=_userns_data_hook
	export E2E_DATA_FS_HOOK
	berthd_start --userns-remap=default
	load_busybox
	USERNS_UID=$(awk -F: -v u=$REMAP_USER '$1 == u { print $2; exit }' /etc/subuid)
	USERNS_GID=$(awk -F: -v u=$REMAP_USER '$1 == u { print $2; exit }' /etc/subgid)
	export USERNS_UID USERNS_GID
}

teardown_file()
{
	berthd_stop
	if [ "${USERNS_HAD_USER:-1}" = 0 ] && getent passwd $REMAP_USER >/dev/null; then
		userdel $REMAP_USER
	fi
	if [ "${USERNS_HAD_USER:-1}" = 0 ] && getent group $REMAP_USER >/dev/null; then
		groupdel $REMAP_USER
	fi
	[ "${USERNS_HAD_SUBUID:-1}" = 1 ] || sed -i "/^$REMAP_USER:/d" /etc/subuid
	[ "${USERNS_HAD_SUBGID:-1}" = 1 ] || sed -i "/^$REMAP_USER:/d" /etc/subgid
}

setup() { berthd_ensure; }
teardown()
{
	# the btrfs test's second daemon (by PID) and its loop filesystem
	st_daemon2_stop
	if [ -n "${USERNS_BTRFS:-}" ]; then
		E2E_DATA=$USERNS_BTRFS E2E_TMP=$BATS_TEST_TMPDIR E2E_DATA_FS=btrfs storage_fs_hook teardown
		USERNS_BTRFS=
	fi
	reset_containers
	berth rmi -f usns-commit:1 >/dev/null 2>&1 || true
	berth volume rm -f usv >/dev/null 2>&1 || true
	rm -f "$BATS_TEST_TMPDIR/secret"
}

@test "userns: default makes berthremap with subordinate ranges; info and the per-mapping data root" {
	getent passwd $REMAP_USER >/dev/null || fail "no $REMAP_USER user"
	[[ $USERNS_UID =~ ^[0-9]+$ ]] || fail "no $REMAP_USER line in /etc/subuid: $(cat /etc/subuid)"
	[[ $USERNS_GID =~ ^[0-9]+$ ]] || fail "no $REMAP_USER line in /etc/subgid: $(cat /etc/subgid)"
	api GET /info
	assert_status 200
	printf '%s' "$HTTP_BODY" | jq -e '.SecurityOptions | index("name=userns")' >/dev/null ||
		fail "SecurityOptions: $(printf '%s' "$HTTP_BODY" | jq -c .SecurityOptions)"
	local root
	root=$(printf '%s' "$HTTP_BODY" | jq -r .DockerRootDir)
	assert_eq "$root" "$E2E_DATA/$USERNS_UID.$USERNS_GID"
	assert_eq "$(stat -c '%u:%g %a' "$root")" "0:$USERNS_GID 710"
	# the top data root too, as dockerd 20.10 leaves it (also when it existed)
	assert_eq "$(stat -c '%u:%g %a' "$E2E_DATA")" "0:$USERNS_GID 710"
	# image layers were unpacked into the remapped range
	local dir
	dir=$(berth image inspect -f '{{with .GraphDriver.Data.UpperDir}}{{.}}{{else}}{{.GraphDriver.Data.Dir}}{{end}}' busybox)
	assert_eq "$(stat -c '%u:%g' "$dir/bin/busybox")" "$USERNS_UID:$USERNS_GID"
}

@test "userns: root in the container is the mapped uid on the host; volume files and bind mounts" {
	run berth run -d --name us1 --network none busybox sleep 300
	[ "$status" -eq 0 ] || fail "$output"
	local pid
	pid=$(berth inspect -f '{{.State.Pid}}' us1)
	[ "$pid" -gt 0 ]
	assert_eq "$(awk '/^Uid:/ { print $2 }' /proc/$pid/status)" "$USERNS_UID"
	assert_eq "$(awk '{ print $1, $2, $3 }' /proc/$pid/uid_map)" "0 $USERNS_UID 65536"
	run berth exec us1 id -u
	assert_eq "$output" 0
	# a file written to a volume belongs to the mapped uid on the host
	run berth run --rm --network none -v usv:/v busybox sh -c 'id -u && touch /v/f'
	[ "$status" -eq 0 ] || fail "$output"
	assert_eq "$output" 0
	local mp
	mp=$(berth volume inspect -f '{{.Mountpoint}}' usv)
	assert_eq "$(stat -c '%u:%g' "$mp/f")" "$USERNS_UID:$USERNS_GID"
	# a host file of real root, 0600, cannot be read through a bind mount
	echo topsecret >"$BATS_TEST_TMPDIR/secret"
	chmod 0600 "$BATS_TEST_TMPDIR/secret"
	chmod 0755 "$BATS_TEST_TMPDIR"
	run berth run --rm --network none -v "$BATS_TEST_TMPDIR/secret:/secret" busybox cat /secret
	[ "$status" -ne 0 ] || fail "read a root-owned 0600 file: $output"
	assert_contains "$output" "Permission denied"
	assert_not_contains "$output" topsecret
}

@test "userns: hosts, hostname, resolv.conf, a new working directory and a created bind source belong to the container's root" {
	# dockerd --userns-remap: root in the container may edit its /etc/hosts,
	# /etc/resolv.conf, /etc/hostname, and write in a -w directory made for it
	run berth run --rm --network none -w /newdir/sub busybox sh -c \
		'stat -c "%u:%g" /etc/hosts /etc/hostname /etc/resolv.conf /newdir /newdir/sub &&
		 echo "10.1.2.3 extra" >>/etc/hosts && echo nameserver 10.9.9.9 >/etc/resolv.conf &&
		 echo other >/etc/hostname && touch /newdir/sub/f && echo wrote'
	[ "$status" -eq 0 ] || fail "$output"
	assert_eq "$(echo $output)" "0:0 0:0 0:0 0:0 0:0 wrote"
	run berth run -d --name us3 --network none busybox sleep 300
	[ "$status" -eq 0 ] || fail "$output"
	local f
	for f in HostsPath HostnamePath ResolvConfPath; do
		assert_eq "$(stat -c '%u:%g' "$(berth inspect -f "{{.$f}}" us3)")" "$USERNS_UID:$USERNS_GID"
	done
	# a missing -v source is created for the remapped root (every new level)
	chmod 0755 "$BATS_TEST_TMPDIR"
	local src=$BATS_TEST_TMPDIR/newbind/a
	run berth run --rm --network none -v "$src:/x" busybox sh -c 'touch /x/f && stat -c "%u:%g" /x /x/f'
	[ "$status" -eq 0 ] || fail "$output"
	assert_eq "$(echo $output)" "0:0 0:0"
	assert_eq "$(stat -c '%u:%g' "$BATS_TEST_TMPDIR/newbind" "$src" "$src/f" | tr '\n' ' ')" \
		"$USERNS_UID:$USERNS_GID $USERNS_UID:$USERNS_GID $USERNS_UID:$USERNS_GID "
	rm -rf "$BATS_TEST_TMPDIR/newbind"
}

@test "userns: docker's refusals; --userns=host runs in the host's user namespace" {
	run berth run --rm --privileged busybox true
	[ "$status" -ne 0 ]
	assert_contains "$output" "privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode"
	run berth run --rm --pid host busybox true
	[ "$status" -ne 0 ]
	assert_contains "$output" "cannot share the host PID namespace when user namespaces are enabled"
	run berth create --network host busybox true
	[ "$status" -ne 0 ]
	assert_contains "$output" "cannot share the host's network namespace when user namespaces are enabled"
	run berth run --rm --network none --userns host busybox cat /proc/self/uid_map
	[ "$status" -eq 0 ] || fail "$output"
	assert_eq "$(echo $output)" "0 0 4294967295"
	run berth run --rm --network none --userns host --privileged busybox true
	[ "$status" -eq 0 ] || fail "--privileged with --userns=host: $output"
}

@test "userns: a bad --userns-remap stops berthd with docker's message" {
	local d=$BATS_TEST_TMPDIR/bad
	mkdir -p "$d"
	run "$BERTHD" -H "unix://$d/s.sock" --data-root "$d/data" --exec-root "$d/exec" --bridge=none --iptables=false \
		--userns-remap=no-such-user-zz
	[ "$status" -ne 0 ]
	assert_contains "$output" 'Error during uid lookup for "no-such-user-zz"'
	run "$BERTHD" -H "unix://$d/s.sock" --data-root "$d/data" --exec-root "$d/exec" --bridge=none --iptables=false \
		--userns-remap=a:b:c
	[ "$status" -ne 0 ]
	assert_contains "$output" 'Invalid user/group specification in --userns-remap: "a:b:c"'
}

# tar listing "uid/gid name" (numeric owners) of the entry whose name is $2 in the tar file $1
_tar_owner()
{
	tar -tvf "$1" --numeric-owner | awk -v n="$2" '$NF == n { print $2; exit }'
}

@test "userns: export, commit and cp show container ids; cp into the container maps them to host ids" {
	run berth run --name us2 --network none busybox sh -c \
		'mkdir -p /d/sub && echo x >/d/sub/f && chown -R 1000:1000 /d && touch /rootfile'
	[ "$status" -eq 0 ] || fail "$output"
	local t=$BATS_TEST_TMPDIR
	# export: the root filesystem as the container sees it
	berth export -o "$t/exp.tar" us2
	assert_eq "$(_tar_owner "$t/exp.tar" etc/passwd)" "0/0"
	assert_eq "$(_tar_owner "$t/exp.tar" rootfile)" "0/0"
	assert_eq "$(_tar_owner "$t/exp.tar" d/sub/f)" "1000/1000"
	# cp out (GET archive): the tar stream carries container ids
	berth cp us2:/d - >"$t/cp.tar"
	assert_eq "$(_tar_owner "$t/cp.tar" d/sub/f)" "1000/1000"
	berth cp us2:/etc/passwd - >"$t/cp2.tar"
	assert_eq "$(_tar_owner "$t/cp2.tar" passwd)" "0/0"
	# commit: the layer holds container ids; run in the committed image sees them
	berth commit us2 usns-commit:1 >/dev/null
	run berth run --rm --network none usns-commit:1 stat -c '%u:%g' /d/sub/f /rootfile
	[ "$status" -eq 0 ] || fail "$output"
	assert_eq "$(echo $output)" "1000:1000 0:0"
	mkdir "$t/save"
	berth save usns-commit:1 | tar -xf - -C "$t/save"
	local top
	top=$(jq -r '.[0].Layers[-1]' "$t/save/manifest.json")
	assert_eq "$(_tar_owner "$t/save/$top" d/sub/f)" "1000/1000"
	assert_eq "$(_tar_owner "$t/save/$top" rootfile)" "0/0"
	# cp in (PUT archive): container ids become host ids
	mkdir -p "$t/in/sub"
	echo y >"$t/in/sub/g"
	chown -R 1000:1000 "$t/in"
	echo z >"$t/rootfile"
	berth cp "$t/in" us2:/in
	berth cp "$t/rootfile" us2:/rootcopy
	local upper
	upper=$(berth inspect -f '{{with .GraphDriver.Data.UpperDir}}{{.}}{{else}}{{.GraphDriver.Data.Dir}}{{end}}' us2)
	assert_eq "$(stat -c '%u:%g' "$upper/in/sub/g")" "$((USERNS_UID + 1000)):$((USERNS_GID + 1000))"
	assert_eq "$(stat -c '%u:%g' "$upper/rootcopy")" "$USERNS_UID:$USERNS_GID"
	berth cp us2:/in - >"$t/cp3.tar"
	assert_eq "$(_tar_owner "$t/cp3.tar" in/sub/g)" "1000/1000"
}

@test "userns: btrfs driver with --userns-remap: layers in the remapped range, export shows container ids" {
	command -v mkfs.btrfs >/dev/null || skip "mkfs.btrfs not installed"
	# a btrfs loop filesystem (storage_lib.bash's hook) as a second daemon's data root
	USERNS_BTRFS=$E2E_DATA/usbtrfs
	mkdir -p "$USERNS_BTRFS"
	E2E_DATA=$USERNS_BTRFS E2E_TMP=$BATS_TEST_TMPDIR E2E_DATA_FS=btrfs E2E_DATA_FS_SIZE=512M \
		storage_fs_hook setup || fail "btrfs loop filesystem"
	st_daemon2_start usbtrfs --storage-driver btrfs --userns-remap=default || fail "berthd: $(cat "$D2_LOG")"
	local b=(berth -H "unix://$D2_SOCK")
	run "${b[@]}" info --format '{{.Driver}} {{.DockerRootDir}}'
	assert_eq "$output" "btrfs $USERNS_BTRFS/$USERNS_UID.$USERNS_GID"
	run "${b[@]}" load -i "$E2E_FIXTURES/busybox-docker-archive.tar"
	[ "$status" -eq 0 ] || fail "$output"
	local dir=$USERNS_BTRFS/$USERNS_UID.$USERNS_GID/btrfs/subvolumes/${BUSYBOX_DIFF_ID#sha256:}
	assert_eq "$(stat -c '%u:%g' "$dir" "$dir/bin/busybox" | tr '\n' ' ')" \
		"$USERNS_UID:$USERNS_GID $USERNS_UID:$USERNS_GID "
	run "${b[@]}" run --name usb1 --network none busybox sh -c 'id -u && touch /f && chown 1000:1000 /f'
	[ "$status" -eq 0 ] || fail "$output"
	assert_eq "$output" 0
	"${b[@]}" export -o "$BATS_TEST_TMPDIR/b.tar" usb1
	assert_eq "$(_tar_owner "$BATS_TEST_TMPDIR/b.tar" f)" "1000/1000"
	assert_eq "$(_tar_owner "$BATS_TEST_TMPDIR/b.tar" etc/passwd)" "0/0"
	run "${b[@]}" rm usb1
	[ "$status" -eq 0 ] || fail "$output"
}
