#!/usr/bin/env bats
# The layer store on disk: a layer shared by several images is stored once,
# removing one image leaves the others intact, the last one frees the layer,
# whiteouts and hard links survive a load/save round trip.

load helpers

setup_file()
{
	berthd_start
	# Layers for multi-layer images, built once per suite.
	local d=$BATS_FILE_TMPDIR
	mkdir -p "$d/top-a/etc" "$d/top-b/etc" "$d/wh/etc" "$d/wh/usr" "$d/opq/var/tmp" "$d/hl/data"
	echo a >"$d/top-a/etc/layer-a"
	echo b >"$d/top-b/etc/layer-b"
	# whiteouts: delete /etc/hostname, make /var/tmp opaque with one new file
	: >"$d/wh/etc/.wh.hostname"
	: >"$d/opq/var/tmp/.wh..wh..opq"
	echo kept >"$d/opq/var/tmp/new"
	# hard links inside one layer
	echo linked >"$d/hl/data/one"
	ln "$d/hl/data/one" "$d/hl/data/two"
	export LAYER_DIR=$d
}

teardown_file() { berthd_stop; }
setup() { berthd_ensure; }
teardown() { reset_images; }

mkarchive() { python3 "$E2E_ROOT/scripts/make-docker-archive.py" "$@"; }

# The storage driver's directory of an image's top layer (overlay2: UpperDir).
layer_dir_of()
{
	local d
	d=$(berth image inspect -f '{{.GraphDriver.Data.UpperDir}}' "$1")
	if [ -z "$d" ] || [ "$d" = "<no value>" ]; then
		d=$(berth image inspect -f '{{.GraphDriver.Data.Dir}}' "$1")
	fi
	echo "$d"
}

@test "two images imported from the same rootfs share one layer directory" {
	local rootfs
	rootfs=$(busybox_rootfs)
	assert_eq "$(driver_layer_dirs)" 0
	run -0 berth import -c 'ENV N=1' "$rootfs" one:1
	run -0 berth import -c 'ENV N=2' "$rootfs" two:1
	assert_eq "$(image_count)" 2
	assert_eq "$(driver_layer_dirs)" 1
	local d1 d2
	d1=$(layer_dir_of one:1)
	d2=$(layer_dir_of two:1)
	assert_eq "$d1" "$d2"
	[[ $d1 == "$E2E_DATA"/* ]] || fail "layer dir $d1 not under the data root"
	[ -x "$d1/bin/busybox" ] || fail "no bin/busybox in $d1"
}

@test "removing one image leaves the other and the shared layer intact" {
	local rootfs
	rootfs=$(busybox_rootfs)
	run -0 berth import -c 'ENV N=1' "$rootfs" one:1
	run -0 berth import -c 'ENV N=2' "$rootfs" two:1
	local d
	d=$(layer_dir_of two:1)
	run -0 berth rmi one:1
	assert_contains "$output" "Untagged: one:1"
	# the shared layer is not in the Deleted list
	assert_not_contains "$output" "Deleted: $BUSYBOX_DIFF_ID"
	assert_eq "$(driver_layer_dirs)" 1
	[ -x "$d/bin/busybox" ] || fail "shared layer damaged: $d"
	cmp "$d/bin/busybox" /bin/busybox || fail "bin/busybox differs"
	run -0 berth image inspect -f '{{index .RootFS.Layers 0}}' two:1
	assert_eq "$output" "$BUSYBOX_DIFF_ID"
	# the survivor still saves to the original layer bytes
	berth save two:1 >"$BATS_TEST_TMPDIR/two.tar"
	local layer
	layer=$(tar -xOf "$BATS_TEST_TMPDIR/two.tar" manifest.json | jq -r '.[0].Layers[0]')
	assert_eq "sha256:$(tar -xOf "$BATS_TEST_TMPDIR/two.tar" "$layer" | sha256sum | cut -c1-64)" "$BUSYBOX_DIFF_ID"
	run -0 berth rmi two:1
	assert_contains "$output" "Deleted: $BUSYBOX_DIFF_ID"
	assert_eq "$(driver_layer_dirs)" 0
}

@test "multi-layer images on a common base: base stored once, freed with the last user" {
	local rootfs
	rootfs=$(busybox_rootfs)
	run -0 mkarchive "$BATS_TEST_TMPDIR/a.tar" -t multi:a "$rootfs" "$LAYER_DIR/top-a"
	local ida=$output
	run -0 mkarchive "$BATS_TEST_TMPDIR/b.tar" -t multi:b "$rootfs" "$LAYER_DIR/top-b"
	local idb=$output
	run -0 berth load -i "$BATS_TEST_TMPDIR/a.tar"
	assert_eq "$output" "Loaded image: multi:a"
	run -0 berth load -i "$BATS_TEST_TMPDIR/b.tar"
	assert_eq "$output" "Loaded image: multi:b"
	run -0 berth image inspect -f '{{.Id}} {{len .RootFS.Layers}}' multi:a multi:b
	assert_eq "$output" "$(printf '%s 2\n%s 2' "$ida" "$idb")"
	assert_eq "$(driver_layer_dirs)" 3
	run -0 berth rmi multi:a
	assert_eq "$(driver_layer_dirs)" 2
	local d
	d=$(layer_dir_of multi:b)
	assert_eq "$(cat "$d/etc/layer-b")" b
	run -0 berth rmi multi:b
	assert_eq "$(driver_layer_dirs)" 0
}

@test "loading the same image twice adds nothing" {
	load_busybox
	assert_eq "$(driver_layer_dirs)" 1
	load_busybox
	assert_eq "$(driver_layer_dirs)" 1
	assert_eq "$(image_count)" 1
}

@test "whiteouts: stored in the driver's form, saved back as .wh. entries" {
	local rootfs
	rootfs=$(busybox_rootfs)
	run -0 mkarchive "$BATS_TEST_TMPDIR/wh.tar" -t wh:1 "$rootfs" "$LAYER_DIR/wh" "$LAYER_DIR/opq"
	local id=$output
	local wh_diff opq_diff
	wh_diff=$(tar -xOf "$BATS_TEST_TMPDIR/wh.tar" manifest.json | jq -r '.[0].Layers[1]' | cut -d/ -f1)
	opq_diff=$(tar -xOf "$BATS_TEST_TMPDIR/wh.tar" manifest.json | jq -r '.[0].Layers[2]' | cut -d/ -f1)
	run -0 berth load -i "$BATS_TEST_TMPDIR/wh.tar"
	run -0 berth image inspect -f '{{.Id}} {{len .RootFS.Layers}}' wh:1
	assert_eq "$output" "$id 3"
	if [ "$E2E_STORAGE_DRIVER" = overlay2 ]; then
		# overlay2: a whiteout is a 0/0 character device; an opaque dir has trusted.overlay.opaque=y
		local top
		top=$(layer_dir_of wh:1)
		local lower_wh
		lower_wh=$(find "$E2E_DATA/overlay2" -path '*/etc/hostname' -type c 2>/dev/null | head -1)
		[ -n "$lower_wh" ] || fail "no character-device whiteout for etc/hostname under $E2E_DATA/overlay2"
		assert_eq "$(stat -c '%t:%T' "$lower_wh")" "0:0"
		[ -e "$top/var/tmp/new" ] || fail "no var/tmp/new in $top"
		run -0 python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "trusted.overlay.opaque").decode())' "$top/var/tmp"
		assert_eq "$output" y
		[ ! -e "$top/var/tmp/.wh..wh..opq" ] || fail "opaque marker left as a file"
	fi
	# save gives back the exact layer bytes (diff ids verified by load into a fresh name)
	berth save wh:1 >"$BATS_TEST_TMPDIR/wh-saved.tar"
	run -0 tar -xOf "$BATS_TEST_TMPDIR/wh-saved.tar" manifest.json
	local l1 l2
	l1=$(jq -r '.[0].Layers[1]' <<<"$output")
	l2=$(jq -r '.[0].Layers[2]' <<<"$output")
	run -0 tar -tf <(tar -xOf "$BATS_TEST_TMPDIR/wh-saved.tar" "$l1")
	assert_contains "$output" "etc/.wh.hostname"
	run -0 tar -tf <(tar -xOf "$BATS_TEST_TMPDIR/wh-saved.tar" "$l2")
	assert_contains "$output" "var/tmp/.wh..wh..opq"
	assert_eq "$(tar -xOf "$BATS_TEST_TMPDIR/wh-saved.tar" "$l1" | sha256sum | cut -c1-64)" "$wh_diff"
	assert_eq "$(tar -xOf "$BATS_TEST_TMPDIR/wh-saved.tar" "$l2" | sha256sum | cut -c1-64)" "$opq_diff"
}

@test "hard links inside a layer are kept" {
	local rootfs
	rootfs=$(busybox_rootfs)
	run -0 mkarchive "$BATS_TEST_TMPDIR/hl.tar" -t hl:1 "$rootfs" "$LAYER_DIR/hl"
	run -0 berth load -i "$BATS_TEST_TMPDIR/hl.tar"
	local top
	top=$(layer_dir_of hl:1)
	assert_eq "$(stat -c %i "$top/data/one")" "$(stat -c %i "$top/data/two")"
	assert_eq "$(cat "$top/data/two")" linked
	local diff
	diff=$(tar -xOf "$BATS_TEST_TMPDIR/hl.tar" manifest.json | jq -r '.[0].Layers[1]' | cut -d/ -f1)
	berth save hl:1 >"$BATS_TEST_TMPDIR/hl-saved.tar"
	local l
	l=$(tar -xOf "$BATS_TEST_TMPDIR/hl-saved.tar" manifest.json | jq -r '.[0].Layers[1]')
	assert_eq "$(tar -xOf "$BATS_TEST_TMPDIR/hl-saved.tar" "$l" | sha256sum | cut -c1-64)" "$diff"
}

@test "a layer whose content does not match its diff id is refused" {
	local rootfs
	rootfs=$(busybox_rootfs)
	run -0 mkarchive "$BATS_TEST_TMPDIR/bad.tar" -t bad:1 "$rootfs"
	# swap the layer for other content under the same name
	mkdir -p "$BATS_TEST_TMPDIR/x"
	tar -C "$BATS_TEST_TMPDIR/x" -xf "$BATS_TEST_TMPDIR/bad.tar"
	local l
	l=$(jq -r '.[0].Layers[0]' "$BATS_TEST_TMPDIR/x/manifest.json")
	tar -C "$LAYER_DIR/top-a" -cf "$BATS_TEST_TMPDIR/x/$l" .
	tar -C "$BATS_TEST_TMPDIR/x" -cf "$BATS_TEST_TMPDIR/bad2.tar" .
	run -1 --separate-stderr berth load -i "$BATS_TEST_TMPDIR/bad2.tar"
	[ -n "$stderr" ] || fail "no error message"
	assert_eq "$(image_count)" 0
	assert_eq "$(driver_layer_dirs)" 0
}

@test "the daemon did not crash or hang during this suite" {
	assert_no_daemon_crash
}
