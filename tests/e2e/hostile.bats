#!/usr/bin/env bats
# Hostile tarballs given to import (a rootfs tar) and load (as a layer of a
# docker-archive): path traversal, absolute names, symlink and hard-link
# escapes, absurd sizes, truncated streams. Each must be refused with a clear
# error, leave no image and no layer behind, write nothing outside the data
# root, and leave the daemon serving.
#
# dockerd 20.10 extracts inside a chroot, so it accepts some of these and
# keeps the files inside the layer; with E2E_TARGET=dockerd those cases only
# check containment. Berth refuses them (issue 2: "refuses any entry that
# would land outside the layer ... without writing anything").

load helpers

setup_file()
{
	berthd_start
	CANARY=$(mktemp -d /tmp/berth-canary.XXXXXX)
	echo secret >"$CANARY/secret"
	HOSTILE=$BATS_FILE_TMPDIR/hostile
	python3 "$BATS_TEST_DIRNAME/lib/hostile-tars.py" "$HOSTILE" "$CANARY"
	local f
	for f in "$HOSTILE"/*.tar; do
		python3 "$E2E_ROOT/scripts/make-docker-archive.py" "${f%.tar}.archive" -t "hostile:$(basename "${f%.tar}")" \
			"$f" >/dev/null
	done
	export CANARY HOSTILE
}

teardown_file()
{
	berthd_stop
	[ -z "${CANARY:-}" ] || rm -rf "$CANARY"
}

setup() { berthd_ensure; }
teardown() { reset_images; }

# Files (not directories) under the data root, minus the metadata database.
store_files()
{
	find "$E2E_DATA" -mindepth 1 \( -name '*.db' -o -name '*.db-wal' -o -name '*.db-shm' -o -name '*.db-journal' \
		-o -name '*.sqlite*' \) -prune -o ! -type d -print 2>/dev/null | sort
}

assert_canary_intact()
{
	assert_eq "$(ls -A "$CANARY")" secret
	assert_eq "$(cat "$CANARY/secret")" secret
	assert_eq "$(stat -c %h "$CANARY/secret")" 1
	[ ! -e /etc/hostpasswd ] || fail "/etc/hostpasswd was created"
	[ ! -e /escape ] || fail "/escape was created"
}

assert_serving()
{
	api GET /_ping
	assert_status 200
}

# refused KIND CASE: KIND is import or load; the daemon must refuse the tarball.
refused()
{
	local kind=$1 name=$2 before after
	before=$(store_files)
	local layers_before
	layers_before=$(driver_layer_dirs)
	if [ "$kind" = import ]; then
		run --separate-stderr berth import "$HOSTILE/$name.tar" "hostile:$name"
	else
		run --separate-stderr berth load -i "$HOSTILE/$name.archive"
	fi
	[ "$status" -ne 0 ] || fail "$kind of $name succeeded: $output"
	[ -n "$stderr" ] || fail "$kind of $name failed without a message"
	assert_eq "$(image_count)" 0
	assert_eq "$(driver_layer_dirs)" "$layers_before"
	after=$(store_files)
	[ "$before" = "$after" ] || fail "files left in the data root: $(diff <(echo "$before") <(echo "$after"))"
	assert_canary_intact
	assert_serving
}

# contained KIND CASE: accepted or refused; either way nothing escapes.
contained()
{
	local kind=$1 name=$2
	if [ "$kind" = import ]; then
		run berth import "$HOSTILE/$name.tar" "hostile:$name"
	else
		run berth load -i "$HOSTILE/$name.archive"
	fi
	assert_canary_intact
	assert_serving
	if [ "$status" -ne 0 ]; then
		assert_eq "$(image_count)" 0
	fi
}

# hostile CASE [dockerd-accepts]: refused by import and by load.
hostile()
{
	local name=$1 kind
	for kind in import load; do
		if [ "${2:-}" = dockerd-accepts ] && [ "$E2E_TARGET" = dockerd ]; then
			contained "$kind" "$name"
		else
			refused "$kind" "$name"
		fi
	done
}

@test "control: a harmless layer imports and loads" {
	run -0 berth import "$HOSTILE/good.tar" ok:1
	run -0 berth load -i "$HOSTILE/good.archive"
	assert_eq "$(image_count)" 2
	assert_canary_intact
}

@test "../ traversal is refused" {
	hostile traversal dockerd-accepts
}

@test "a dir/../../ name climbing out is refused" {
	hostile dotdot dockerd-accepts
}

@test "absolute names stay inside the layer (or are refused)" {
	contained import absolute
	contained load absolute
}

@test "symlink to an absolute outside dir, then a write through it, is refused" {
	hostile symlink-abs
}

@test "symlink climbing out with ../, then a write through it, is refused" {
	hostile symlink-rel
}

@test "symlink to an outside file, then the same name as a file: nothing written outside" {
	contained import symlink-file
	contained load symlink-file
}

@test "hard link to a file outside the layer (../) is refused" {
	hostile hardlink-rel
}

@test "hard link to /etc/passwd (absolute) is refused" {
	hostile hardlink-abs
}

@test "an absurd size header is refused without filling the disk" {
	hostile huge-size
}

@test "truncated gzip is refused" {
	hostile truncated-gzip
}

@test "truncated tar is refused" {
	hostile truncated-tar
}

@test "load: a manifest naming files outside the archive is refused" {
	local d=$BATS_TEST_TMPDIR/evil
	mkdir -p "$d"
	tar -C "$d" -xf "$HOSTILE/good.archive"
	jq -c '.[0].Layers = ["../../../../../../../../etc/passwd"] ' "$d/manifest.json" >"$d/m" && mv "$d/m" "$d/manifest.json"
	tar -C "$d" -cf "$BATS_TEST_TMPDIR/evil-layer.tar" .
	run --separate-stderr berth load -i "$BATS_TEST_TMPDIR/evil-layer.tar"
	[ "$status" -ne 0 ] || fail "load succeeded: $output"
	jq -c ".[0].Config = \"$CANARY/secret\"" "$d/manifest.json" >"$d/m" && mv "$d/m" "$d/manifest.json"
	tar -C "$d" -cf "$BATS_TEST_TMPDIR/evil-config.tar" .
	run --separate-stderr berth load -i "$BATS_TEST_TMPDIR/evil-config.tar"
	[ "$status" -ne 0 ] || fail "load succeeded: $output"
	assert_eq "$(image_count)" 0
	assert_canary_intact
	assert_serving
}

@test "load: an archive that is not a tar, and an empty one, are refused" {
	head -c 10000 /dev/urandom >"$BATS_TEST_TMPDIR/junk.tar"
	run --separate-stderr berth load -i "$BATS_TEST_TMPDIR/junk.tar"
	[ "$status" -ne 0 ] || fail "load of junk succeeded: $output"
	: >"$BATS_TEST_TMPDIR/empty.tar"
	run --separate-stderr berth load -i "$BATS_TEST_TMPDIR/empty.tar"
	[ "$status" -ne 0 ] || fail "load of an empty file succeeded: $output"
	assert_eq "$(image_count)" 0
	assert_serving
}

@test "the daemon still serves and has no leftovers after all hostile input" {
	assert_serving
	assert_eq "$(image_count)" 0
	assert_eq "$(driver_layer_dirs)" 0
	assert_canary_intact
	load_busybox
	run -0 berth image inspect -f '{{.Id}}' busybox
	assert_eq "$output" "$BUSYBOX_ID"
}

@test "the daemon did not crash or hang during this suite" {
	assert_no_daemon_crash
}
