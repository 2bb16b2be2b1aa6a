#!/usr/bin/env bats
# Layer formats on load and import: gzip / zstd / bzip2 / xz layers give the
# diff IDs of the plain tar; absolute member names land where docker puts
# them; a layer writing one path twice applies as docker applies it and is
# saved back byte for byte.

load helpers
load storage_lib

setup_file() { berthd_start; }
teardown_file() { berthd_stop; }
setup() { berthd_ensure; }
teardown() { reset_containers; reset_images; }

@test "layers compressed with gzip, zstd, bzip2 and xz load with the plain tar's diff IDs" {
	local c
	for c in "gzip -n" zstd bzip2 xz; do
		run -0 st_compress_archive "$E2E_FIXTURES/busybox-docker-archive.tar" "$BATS_TEST_TMPDIR/c.tar" "$c"
		run -0 berth load -i "$BATS_TEST_TMPDIR/c.tar"
		run -0 berth image inspect -f '{{index .RootFS.Layers 0}}' "$BUSYBOX_ID"
		[ "$output" = "$BUSYBOX_DIFF_ID" ]
		run -0 berth run --rm busybox echo "ran $c"
		[ "$output" = "ran $c" ]
		run -0 berth rmi -f "$BUSYBOX_ID"
	done
}

@test "import takes compressed tarballs (gzip, zstd, bzip2, xz)" {
	local c
	printf 'imported\n' >"$BATS_TEST_TMPDIR/hello"
	tar -cf "$BATS_TEST_TMPDIR/plain.tar" -C "$BATS_TEST_TMPDIR" hello
	local want
	want=sha256:$(sha256sum "$BATS_TEST_TMPDIR/plain.tar" | cut -d' ' -f1)
	for c in "gzip -n" zstd bzip2 xz; do
		$c -c <"$BATS_TEST_TMPDIR/plain.tar" >"$BATS_TEST_TMPDIR/imp"
		run -0 berth import "$BATS_TEST_TMPDIR/imp" "st-imp:${c%% *}"
		run -0 berth image inspect -f '{{index .RootFS.Layers 0}}' "st-imp:${c%% *}"
		[ "$output" = "$want" ]
	done
}

@test "a layer with absolute member names loads as docker loads it" {
	python3 - "$BATS_TEST_TMPDIR/abs.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as tf:
    for name, data in (("/abs", None), ("/abs/file", b"absolute\n"), ("/../top", b"top\n")):
        ti = tarfile.TarInfo(name)
        ti.mtime = 0
        if data is None:
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o755
            tf.addfile(ti)
        else:
            ti.size = len(data)
            ti.mode = 0o644
            tf.addfile(ti, io.BytesIO(data))
PY
	tar -xf "$E2E_FIXTURES/busybox-docker-archive.tar" -C "$BATS_TEST_TMPDIR" --wildcards '*/layer.tar'
	run -0 mkarchive "$BATS_TEST_TMPDIR/img.tar" -t st-abs:1 "$BATS_TEST_TMPDIR"/*/layer.tar "$BATS_TEST_TMPDIR/abs.tar"
	run -0 berth load -i "$BATS_TEST_TMPDIR/img.tar"
	run -0 berth run --rm st-abs:1 cat /abs/file /top
	[ "$output" = "$(printf 'absolute\ntop')" ]
	# saved back unchanged
	local l
	l=$(st_saved_top_layer st-abs:1)
	cmp "$l" "$BATS_TEST_TMPDIR/abs.tar"
}

@test "a layer writing one path twice: the last entry wins and save gives it back byte for byte" {
	python3 - "$BATS_TEST_TMPDIR/dup.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as tf:
    def add(name, data=None, kind=tarfile.REGTYPE):
        ti = tarfile.TarInfo(name)
        ti.mtime = 0
        ti.type = kind
        ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
        if data is not None:
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
        else:
            tf.addfile(ti)
    add("dup", b"first version\n")
    add("d", kind=tarfile.DIRTYPE)
    add("d/inner", b"inner\n")
    add("dup", b"second, longer version\n")
    add("d", b"d became a file\n")
PY
	tar -xf "$E2E_FIXTURES/busybox-docker-archive.tar" -C "$BATS_TEST_TMPDIR" --wildcards '*/layer.tar'
	run -0 mkarchive "$BATS_TEST_TMPDIR/img.tar" -t st-dup:1 "$BATS_TEST_TMPDIR"/*/layer.tar "$BATS_TEST_TMPDIR/dup.tar"
	run -0 berth load -i "$BATS_TEST_TMPDIR/img.tar"
	run -0 berth run --rm st-dup:1 cat /dup /d
	[ "$output" = "$(printf 'second, longer version\nd became a file')" ]
	local l
	l=$(st_saved_top_layer st-dup:1)
	cmp "$l" "$BATS_TEST_TMPDIR/dup.tar"
}

@test "GNU sparse files in a layer (old GNU, pax 0.0, 0.1, 1.0) load with their holes and save back byte for byte" {
	command -v tar >/dev/null && tar --version | grep -q GNU || skip "needs GNU tar"
	local d=$BATS_TEST_TMPDIR/sp v
	mkdir -p "$d"
	python3 - "$d/sparse" <<'PY'
import sys
with open(sys.argv[1], "wb") as f:
    f.write(b"a" * 5000); f.seek(1 << 20); f.write(b"b" * 5000); f.seek((3 << 20) + 5); f.write(b"c" * 100)
    f.truncate((8 << 20) + 7)
PY
	tar -xf "$E2E_FIXTURES/busybox-docker-archive.tar" -C "$BATS_TEST_TMPDIR" --wildcards '*/layer.tar'
	for v in gnu 0.0 0.1 1.0; do
		if [ $v = gnu ]; then
			tar -c --sparse --format=gnu --owner=0 --group=0 -f "$d/l.tar" -C "$d" sparse
		else
			tar -c --sparse --format=posix --sparse-version=$v --owner=0 --group=0 -f "$d/l.tar" -C "$d" sparse
		fi
		run -0 mkarchive "$d/img.tar" -t "st-sparse:$v" "$BATS_TEST_TMPDIR"/*/layer.tar "$d/l.tar"
		run -0 berth load -i "$d/img.tar"
		run -0 berth run --rm "st-sparse:$v" sh -c 'stat -c "%s %b" /sparse; md5sum </sparse'
		local want
		want="$(stat -c %s "$d/sparse") $(md5sum <"$d/sparse")"
		[ "${lines[0]%% *} ${lines[1]}" = "$want" ] || fail "$v: got $output, want $want"
		# allocated blocks: the data, not 8 MiB
		[ "${lines[0]#* }" -lt 1000 ] || fail "$v: holes not kept: $output"
		cmp "$(st_saved_top_layer "st-sparse:$v")" "$d/l.tar"
	done
}
