#!/usr/bin/env bats
# berth system check [--repair] / POST /system/check (beyond docker): on a
# healthy store it reports nothing and changes nothing; it finds a flipped
# byte in a layer file, a deleted layer directory and an orphan layer
# directory made by the test, and --repair removes the orphan and
# quarantines the broken layers' images while a container keeps running.

load helpers
load storage_lib

setup_file()
{
	berthd_start
	berth load -i "$E2E_FIXTURES/busybox-docker-archive.tar" >/dev/null
}
teardown_file() { berthd_stop; }
setup() { berthd_ensure; }
teardown()
{
	reset_containers
	local i
	for i in $(berth images -q --no-trunc | sort -u); do
		[ "$i" = "$BUSYBOX_ID" ] || berth rmi -f "$i" >/dev/null 2>&1 || true
	done
	rm -rf "${ORPHAN:-/nonexistent}"
}

chain_of() { printf '%s %s' "$BUSYBOX_DIFF_ID" "$1" | sha256sum | cut -d' ' -f1; }

# The directory holding a layer's own files, by chain ID hex.
layer_files()
{
	case $E2E_STORAGE_DRIVER in
	overlay2) echo "$E2E_DATA/overlay2/$1/diff" ;;
	vfs) echo "$E2E_DATA/vfs/dir/$1" ;;
	btrfs) echo "$E2E_DATA/btrfs/subvolumes/$1" ;;
	esac
}

layer_root()
{
	case $E2E_STORAGE_DRIVER in
	overlay2) echo "$E2E_DATA/overlay2/$1" ;;
	*) layer_files "$1" ;;
	esac
}

make_image()
{
	mkdir -p "$BATS_TEST_TMPDIR/$1"
	head -c 100000 /dev/urandom >"$BATS_TEST_TMPDIR/$1/$1-data"
	tar -xf "$E2E_FIXTURES/busybox-docker-archive.tar" -C "$BATS_TEST_TMPDIR" --wildcards '*/layer.tar'
	mkarchive "$BATS_TEST_TMPDIR/$1.tar" -t "st-$1:1" "$BATS_TEST_TMPDIR"/*/layer.tar "$BATS_TEST_TMPDIR/$1" >/dev/null
	berth load -i "$BATS_TEST_TMPDIR/$1.tar" >/dev/null
	berth image inspect -f '{{index .RootFS.Layers 1}}' "st-$1:1"
}

store_state() { find "$E2E_DATA" -path "$E2E_DATA/berth.db*" -prune -o -printf '%P %y %s %T@\n' | sort; }

@test "a healthy store: check reports nothing, --repair changes nothing" {
	make_image healthy >/dev/null
	run -0 berth run -d --name st-live busybox sleep 300
	local before
	before=$(store_state)
	run -0 berth system check
	[[ "$output" == "No problems found"* ]]
	run -0 berth system check --repair --format json
	[ "$(jq '.Problems | length' <<<"$output")" = 0 ]
	[ "$(jq '.Checked.VerifiedLayers' <<<"$output")" -ge 2 ]
	[ "$(store_state)" = "$before" ]
	run -0 berth image inspect st-healthy:1
}

@test "finds a flipped byte, a deleted layer directory and an orphan layer; --repair fixes them while a container runs" {
	run -0 berth run -d --name st-run busybox sleep 300
	local da db ca cb
	da=$(make_image flip)
	db=$(make_image gone)
	ca=$(chain_of "$da")
	cb=$(chain_of "$db")
	# a flipped byte in a layer file
	local f
	f=$(layer_files "$ca")/flip-data
	[ -f "$f" ]
	python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[5000]^=0xff; open(p,"r+b").write(b)' "$f"
	# a deleted layer directory
	if [ "$E2E_STORAGE_DRIVER" = btrfs ]; then
		btrfs subvolume delete "$(layer_root "$cb")" >/dev/null
	else
		rm -rf "$(layer_root "$cb")"
	fi
	# an orphan layer directory no layer or container owns
	ORPHAN=$(layer_root st-orphan-rw)
	case $E2E_STORAGE_DRIVER in
	overlay2) mkdir -p "$ORPHAN/diff" "$ORPHAN/work" ;;
	btrfs) btrfs subvolume create "$ORPHAN" >/dev/null ;;
	*) mkdir -p "$ORPHAN" ;;
	esac
	echo junk >"$(layer_files st-orphan-rw)/junk"

	run -1 berth system check --format json
	local rep=$output
	echo "$rep"
	[ "$(jq -r '.Problems[] | select(.Type == "corrupt-layer") | .ID' <<<"$rep")" = "sha256:$ca" ]
	[ "$(jq -r '.Problems[] | select(.Type == "missing-layer") | .ID' <<<"$rep")" = "sha256:$cb" ]
	[ "$(jq -r '.Problems[] | select(.Type == "orphan-layer") | .ID' <<<"$rep")" = st-orphan-rw ]
	[ "$(jq -r '.Problems[] | select(.Type == "orphan-layer") | .Action' <<<"$rep")" = "would remove" ]
	jq -e '.Problems[] | select(.Type == "image-needs-bad-layer" and .Action == "would quarantine")' <<<"$rep" >/dev/null
	# reporting changed nothing
	[ -d "$ORPHAN" ]
	run -0 berth image inspect st-flip:1 st-gone:1
	run -1 berth system check
	[[ "$output" == *"TYPE"*"corrupt-layer"* ]] || { echo "$output"; false; }

	run -0 berth system check --repair --format json
	echo "$output"
	[ "$(jq -r '.Problems[] | select(.Type == "orphan-layer") | .Action' <<<"$output")" = removed ]
	[ ! -e "$ORPHAN" ]
	run -1 berth image inspect st-flip:1
	run -1 berth image inspect st-gone:1
	local fimg
	fimg=$(ls "$E2E_DATA/quarantine")
	[ "$(echo "$fimg" | wc -l)" = 2 ]
	grep -q 'st-flip:1' "$E2E_DATA/quarantine/"*.json
	# the running container and its image were not touched
	[ "$(berth inspect -f '{{.State.Running}}' st-run)" = true ]
	run -0 berth exec st-run echo still-running
	[ "$output" = still-running ]
	run -0 berth system check
	[[ "$output" == "No problems found"* ]]
	run -0 berth run --rm busybox echo ok
}

@test "POST /system/check answers JSON and rejects a bad repair value" {
	api POST /system/check
	[ "$HTTP_CODE" = 200 ]
	[ "$(printf '%s' "$HTTP_BODY" | jq '.Problems | length')" = 0 ]
	api POST '/system/check?repair=maybe'
	[ "$HTTP_CODE" = 400 ]
}
