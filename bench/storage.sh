# Storage driver benchmarks (issue 14), sourced by bench/run.sh (its helpers:
# time_cmd, median, ratio, row, daemon_up/down, have_dockerd).
#
#   storage  on one btrfs loop filesystem made here (every daemon gets a
#            subvolume of it as data root): berth's btrfs driver against
#            berth's overlay2 (data root on the host filesystem) and dockerd
#            20.10's btrfs driver, for `run --rm busybox true`, `commit` of a
#            container with 10,000 changed small files, and `load` of the
#            ~100 MB image; then `system check` (no peer has one) in seconds
#            per GB of layers against sha256sum of the same layer tars (the
#            re-hashing floor). The loop device is detached at the end.

STORAGE_MNT=
STORAGE_LOOP=
STORAGE_RUN=0

# E2E_DATA_FS_HOOK for daemon_up: a fresh subvolume of the bench's btrfs
# filesystem, bind-mounted on the daemon's data root; teardown unmounts
# whatever the daemon left mounted below it.
storage_bench_hook()
{
	case $1 in
	setup)
		STORAGE_RUN=$((STORAGE_RUN + 1))
		btrfs subvolume create "$STORAGE_MNT/run$STORAGE_RUN" >/dev/null || return 1
		mount --bind "$STORAGE_MNT/run$STORAGE_RUN" "$E2E_DATA"
		;;
	teardown)
		local m
		for m in $(awk -v pfx="$E2E_DATA" '$5 == pfx || index($5, pfx "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		done
		;;
	esac
}

storage_fs_up()
{
	command -v mkfs.btrfs >/dev/null || { echo "bench: mkfs.btrfs missing: storage skipped" >&2; return 1; }
	local img=$BENCH_DIR/storage-btrfs.img
	STORAGE_MNT=$(mktemp -d /var/tmp/berth-bench-btrfs.XXXXXX)
	rm -f "$img"
	truncate -s 6G "$img" && mkfs.btrfs -q -f "$img" >/dev/null || return 1
	STORAGE_LOOP=$(losetup --find --show "$img") || return 1
	mount "$STORAGE_LOOP" "$STORAGE_MNT" || { storage_fs_down; return 1; }
}

storage_fs_down()
{
	if [ -n "$STORAGE_MNT" ]; then
		local m
		for m in $(awk -v pfx="$STORAGE_MNT" '$5 == pfx || index($5, pfx "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
			umount "$m" 2>/dev/null || umount -l "$m"
		done
		rmdir "$STORAGE_MNT"
	fi
	[ -n "$STORAGE_LOOP" ] && losetup -d "$STORAGE_LOOP"
	rm -f "$BENCH_DIR/storage-btrfs.img"
	STORAGE_MNT= STORAGE_LOOP=
}

# storage_daemon TARGET DRIVER: daemon_up with DRIVER; btrfs on the bench fs.
storage_daemon()
{
	export E2E_STORAGE_DRIVER=$2
	if [ "$2" = btrfs ]; then
		export E2E_DATA_FS_HOOK=storage_bench_hook
	else
		unset E2E_DATA_FS_HOOK
	fi
	daemon_up "$1"
}

# storage_measure CLI: "run commit load check" seconds (medians of N; check once).
storage_measure()
{
	local cli=$1 i t run_t commit_t load_t check_t=-
	local -a s=()
	"$cli" load -q -i "$E2E_FIXTURES/busybox-docker-archive.tar" >/dev/null || return 1
	"$cli" run --rm busybox true >/dev/null 2>&1 # warm-up
	for ((i = 0; i < N; i++)); do
		s+=("$(time_cmd "$cli" run --rm busybox true)") || return 1
	done
	run_t=$(printf '%s\n' "${s[@]}" | median)
	read -r commit_t _ < <(files_commit_run "$cli" || echo "- -")
	s=()
	for ((i = 0; i < N; i++)); do
		"$cli" rmi -f bench/big:latest >/dev/null 2>&1
		t=$(time_cmd "$cli" load -i "$BENCH_DIR/big.tar") || return 1
		s+=("$t")
	done
	load_t=$(printf '%s\n' "${s[@]}" | median)
	if [ "$cli" = "$BERTH_CLI" ]; then # the image stays loaded: check its layers
		check_t=$(time_cmd "$cli" system check) || check_t=-
	fi
	echo "$run_t $commit_t $load_t $check_t"
}

bench_storage()
{
	files_make_small
	storage_fs_up || return 0
	echo "bench: storage drivers: run --rm, commit of 10,000 files, load of big.tar (median of $N), system check" >&2
	local bt_run=- bt_commit=- bt_load=- bt_check=- ov_run=- ov_commit=- ov_load=- ov_check=-
	local dk_run=- dk_commit=- dk_load=-
	if [ -x "$BERTHD" ] && [ -x "$BERTH_CLI" ]; then
		if storage_daemon berthd btrfs; then
			read -r bt_run bt_commit bt_load bt_check < <(storage_measure "$BERTH_CLI" || echo "- - - -")
			daemon_down
		fi
		if storage_daemon berthd overlay2; then
			read -r ov_run ov_commit ov_load ov_check < <(storage_measure "$BERTH_CLI" || echo "- - - -")
			daemon_down
		fi
	fi
	if have_dockerd && storage_daemon dockerd btrfs; then
		read -r dk_run dk_commit dk_load _ < <(storage_measure "$DOCKER_CLI_20" || echo "- - - -")
		daemon_down
	fi
	unset E2E_DATA_FS_HOOK
	storage_fs_down

	# system check: seconds per GB of layers, against sha256sum of the layer tars
	local layers=("$BENCH_DIR/layers/base.tar" "$BENCH_DIR/layers/random.tar" "$BENCH_DIR/layers/text.tar")
	local bytes hash_t gb
	bytes=$(cat "${layers[@]}" | wc -c)
	gb=$(awk -v b="$bytes" 'BEGIN { printf "%.4f", b / 1e9 }')
	hash_t=$(time_cmd sha256sum "${layers[@]}")
	per_gb() { awk -v t="$1" -v g="$gb" 'BEGIN { if (t == t + 0 && g > 0) printf "%.2f", t / g; else print "-" }'; }

	row "run --rm busybox true (btrfs), s" "$bt_run" "berth overlay2 $ov_run" "$(ratio "$bt_run" "$ov_run")"
	row "" "" "dockerd btrfs (20.10) $dk_run" "$(ratio "$bt_run" "$dk_run")"
	row "commit 10,000 small files (btrfs), s" "$bt_commit" "berth overlay2 $ov_commit" "$(ratio "$bt_commit" "$ov_commit")"
	row "" "" "dockerd btrfs (20.10) $dk_commit" "$(ratio "$bt_commit" "$dk_commit")"
	row "load big.tar (btrfs), s" "$bt_load" "berth overlay2 $ov_load" "$(ratio "$bt_load" "$ov_load")"
	row "" "" "dockerd btrfs (20.10) $dk_load" "$(ratio "$bt_load" "$dk_load")"
	row "system check (btrfs), s per GB of layers" "$(per_gb "$bt_check")" "sha256sum of the layers $(per_gb "$hash_t")" \
		"$(ratio "$(per_gb "$bt_check")" "$(per_gb "$hash_t")")"
	row "system check (overlay2), s per GB" "$(per_gb "$ov_check")" "sha256sum of the layers $(per_gb "$hash_t")" \
		"$(ratio "$(per_gb "$ov_check")" "$(per_gb "$hash_t")")"
}
