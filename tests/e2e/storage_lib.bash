# Storage suites' shared helpers and the one image-and-container suite body
# every driver runs (storage_overlay2.bats, storage_vfs.bats,
# storage_btrfs.bats call the st_body_* functions from their @tests).
#
# A suite that needs its own filesystem for the data root exports
# E2E_DATA_FS=btrfs|xfs (and E2E_DATA_FS_QUOTA=1 for quotas) and
# E2E_DATA_FS_HOOK=storage_fs_hook before berthd_start: the hook makes a
# loop file below the suite's temp dir, attaches a loop device, mounts it on
# the data root, and in berthd_stop (also after a failure) unmounts it and
# detaches the loop device.

storage_fs_hook()
{
	local img=$E2E_TMP/fs.img loopf=$E2E_TMP/fs.loop
	case $1 in
	setup)
		command -v "mkfs.$E2E_DATA_FS" >/dev/null || {
			echo "mkfs.$E2E_DATA_FS not installed (scripts/install-deps.sh)" >&2
			return 1
		}
		truncate -s "${E2E_DATA_FS_SIZE:-1G}" "$img" || return 1
		if [ "$E2E_DATA_FS" = btrfs ]; then
			mkfs.btrfs -q -f "$img" >/dev/null || return 1
		else
			mkfs.xfs -q -f "$img" >/dev/null || return 1
		fi
		local loop
		loop=$(losetup --find --show "$img") || return 1
		echo "$loop" >"$loopf"
		local opts=
		[ "$E2E_DATA_FS" = xfs ] && [ "${E2E_DATA_FS_QUOTA:-0}" = 1 ] && opts=-oprjquota
		mount $opts "$loop" "$E2E_DATA" || return 1
		if [ "$E2E_DATA_FS" = btrfs ] && [ "${E2E_DATA_FS_QUOTA:-0}" = 1 ]; then
			btrfs quota enable "$E2E_DATA" || return 1
		fi
		;;
	teardown)
		local m
		for m in $(awk -v pfx="$E2E_DATA" '$5 == pfx || index($5, pfx "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
		done
		if [ -s "$loopf" ]; then
			losetup -d "$(cat "$loopf")" 2>/dev/null || true
			rm -f "$loopf"
		fi
		rm -f "$img"
		;;
	esac
}

mkarchive() { python3 "$E2E_ROOT/scripts/make-docker-archive.py" "$@"; }

# st_compress_archive IN.tar OUT.tar CMD: every layer file of a docker-archive
# compressed with CMD (gzip -n, zstd, bzip2, xz); the config keeps the diff
# IDs of the plain layers, as docker save/load expect.
st_compress_archive()
{
	local in=$1 out=$2 cmd=$3 d
	d=$(mktemp -d "$BATS_TEST_TMPDIR/arch.XXXXXX")
	tar -xf "$in" -C "$d" || return 1
	local l
	for l in $(jq -r '.[0].Layers[]' "$d/manifest.json"); do
		$cmd -c <"$d/$l" >"$d/$l.c" && mv "$d/$l.c" "$d/$l" || return 1
	done
	tar -cf "$out" -C "$d" . || return 1
	rm -rf "$d"
}

# The top layer tar of IMAGE as `save` gives it.
st_saved_top_layer()
{
	local d
	d=$(mktemp -d "$BATS_TEST_TMPDIR/save.XXXXXX")
	berth save -o "$d/s.tar" "$1" || return 1
	tar -xf "$d/s.tar" -C "$d" || return 1
	echo "$d/$(jq -r '.[0].Layers[-1]' "$d/manifest.json")"
}

# ---------------------------------------------------------------------------
# the suite body, the same on every driver

st_body_setup_file()
{
	berthd_start
	berth load -i "$E2E_FIXTURES/busybox-docker-archive.tar" >/dev/null
}

st_body_teardown()
{
	st_daemon2_stop
	reset_containers
	local i
	for i in $(berth images -q --no-trunc | sort -u); do
		[ "$i" = "$BUSYBOX_ID" ] || berth rmi -f "$i" >/dev/null 2>&1 || true
	done
}

st_body_driver()
{
	run -0 berth info --format '{{.Driver}}'
	[ "$output" = "$E2E_STORAGE_DRIVER" ]
}

st_body_load_run()
{
	run -0 berth image inspect -f '{{index .RootFS.Layers 0}}' busybox
	[ "$output" = "$BUSYBOX_DIFF_ID" ]
	run -0 berth run --rm busybox sh -c 'echo hello from $(cat /etc/hostname | wc -c) >/tmp/x && cat /tmp/x'
	[[ "$output" == "hello from"* ]]
}

st_body_commit_diff_export_cp()
{
	run -0 berth run --name st-c1 busybox sh -c 'echo data >/newfile && rm /etc/group && mkdir -p /var/st && echo v >/var/st/f'
	run -0 berth diff st-c1
	[[ "$output" == *"A /newfile"* ]]
	[[ "$output" == *"D /etc/group"* ]]
	[[ "$output" == *"A /var/st/f"* ]]
	run -0 berth export -o "$BATS_TEST_TMPDIR/c1.tar" st-c1
	run -0 tar -tf "$BATS_TEST_TMPDIR/c1.tar"
	[[ "$output" == *"newfile"* ]]
	! grep -qx 'etc/group' <<<"$output"
	run -0 berth cp st-c1:/newfile "$BATS_TEST_TMPDIR/newfile"
	[ "$(cat "$BATS_TEST_TMPDIR/newfile")" = data ]
	run -0 berth cp "$BATS_TEST_TMPDIR/newfile" st-c1:/copied
	run -0 berth commit st-c1 st-committed:1
	run -0 berth run --rm st-committed:1 sh -c 'cat /newfile /copied /var/st/f; test ! -e /etc/group && echo gone'
	[ "$output" = "$(printf 'data\ndata\nv\ngone')" ]
	# the committed layer carries the AUFS whiteout, byte for byte on save
	local l
	l=$(st_saved_top_layer st-committed:1)
	run -0 tar -tf "$l"
	grep -qx 'etc/.wh.group' <<<"$output"
	run -0 berth image inspect -f '{{index .RootFS.Layers 1}}' st-committed:1
	[ "$output" = "sha256:$(sha256sum "$l" | cut -d' ' -f1)" ]
}

st_body_opaque_whiteout()
{
	mkdir -p "$BATS_TEST_TMPDIR/l2/etc"
	: >"$BATS_TEST_TMPDIR/l2/etc/.wh..wh..opq"
	echo only >"$BATS_TEST_TMPDIR/l2/etc/only"
	: >"$BATS_TEST_TMPDIR/l2/.wh.home"
	tar -xf "$E2E_FIXTURES/busybox-docker-archive.tar" -C "$BATS_TEST_TMPDIR" --wildcards '*/layer.tar'
	run -0 mkarchive "$BATS_TEST_TMPDIR/opq.tar" -t st-opq:1 "$BATS_TEST_TMPDIR"/*/layer.tar "$BATS_TEST_TMPDIR/l2"
	run -0 berth load -i "$BATS_TEST_TMPDIR/opq.tar"
	run -0 berth run --rm st-opq:1 sh -c 'cat /etc/only; ls /etc | grep -c -e passwd -e group; test -e /home && echo home-still-there; true'
	echo "$output"
	[ "$output" = "$(printf 'only\n0')" ]
}

st_body_rm_all_leaves_nothing()
{
	run -0 berth run -d --name st-bg busybox sleep 300
	run -0 berth rm -f st-bg
	run -0 berth rmi -f busybox
	[ "$(driver_layer_dirs)" = 0 ]
	berth load -i "$E2E_FIXTURES/busybox-docker-archive.tar" >/dev/null
}

st_body_storage_opt_refused()
{
	run berth run --rm --storage-opt size=10M busybox true
	[ "$status" -ne 0 ]
	case $E2E_STORAGE_DRIVER in
	overlay2) [[ "$output" == *"--storage-opt is supported only for overlay over xfs with 'pquota' mount option"* ]] ;;
	vfs) [[ "$output" == *"--storage-opt is not supported for vfs"* ]] ;;
	btrfs) [[ "$output" == *"quota"* ]] ;;
	esac
	run berth run --rm --storage-opt nosuch=1 busybox true
	[ "$status" -ne 0 ]
	[[ "$output" == *"Unknown option nosuch"* ]]
	[ "$(berth ps -aq | wc -l)" = 0 ]
}

# st_daemon2_start NAME [berthd args...]: a second berthd with its own data
# root on the suite's data filesystem ($E2E_DATA/NAME), its own exec root and
# socket (D2_SOCK); 0 once it answers /_ping, 1 when it exits first (its
# output in D2_LOG). Stop it with st_daemon2_stop (by PID), from teardown too.
st_daemon2_start()
{
	local name=$1
	shift
	local dir=$E2E_TMP/$name
	mkdir -p "$E2E_DATA/$name" "$dir/exec"
	D2_SOCK=$dir/s.sock D2_LOG=$dir/daemon.log
	setsid "$BERTHD" -H "unix://$D2_SOCK" --data-root "$E2E_DATA/$name" --exec-root "$dir/exec" \
		--pidfile "$dir/p.pid" --bridge=none --iptables=false "$@" </dev/null >"$D2_LOG" 2>&1 3>&- &
	D2_PID=$!
	local i
	for ((i = 0; i < 300; i++)); do
		curl -sf --unix-socket "$D2_SOCK" http://localhost/_ping >/dev/null 2>&1 && return 0
		kill -0 "$D2_PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$D2_PID" 2>/dev/null
	D2_PID=
	return 1
}

st_daemon2_stop()
{
	[ -n "${D2_PID:-}" ] || return 0
	kill -TERM "$D2_PID" 2>/dev/null
	wait_for 30 eval "! kill -0 $D2_PID 2>/dev/null"
	D2_PID=
}

# st_body_daemon_opts_refused: the daemon's --storage-opt / daemon.json
# "storage-opts" are checked at start as docker's driver checks them; a bad
# one stops the daemon with docker's message.
st_body_daemon_opts_refused()
{
	local bad want
	case $E2E_STORAGE_DRIVER in
	overlay2) bad=overlay2.size=10M want="Storage Option overlay2.size only supported for backingFS XFS. Found " ;;
	vfs) bad=size=10M want="Filesystem does not support, or has not enabled quotas" ;;
	btrfs) bad=overlay2.size=10M want="Unknown option overlay2.size" ;;
	esac
	! st_daemon2_start opts-flag --storage-driver "$E2E_STORAGE_DRIVER" --storage-opt "$bad"
	cat "$D2_LOG"
	grep -qF "error initializing graphdriver: $want" "$D2_LOG"
	echo "{\"storage-driver\": \"$E2E_STORAGE_DRIVER\", \"storage-opts\": [\"nosuch=1\"]}" >"$E2E_TMP/opts.json"
	! st_daemon2_start opts-file --config-file "$E2E_TMP/opts.json"
	cat "$D2_LOG"
	grep -qi "error initializing graphdriver: .*unknown option nosuch" "$D2_LOG"
}
