# Benchmarks for files in and out of containers (issue 4), sourced by
# bench/run.sh (its helpers: time_cmd, median, ratio, row, daemon_up/down).
#
#   cp      `cp` of a 200 MB tree (2,000 files) out of a running container to
#           a host directory, against `tar -c` of the same tree (the floor:
#           reading it) and `tar -c | tar -x` (reading and writing it), and
#           docker 20.10's `docker cp` on a private dockerd
#   commit  `commit` of a container with 10,000 changed small files, against
#           `tar -c` of its upper layer (the floor), and docker 20.10

# 40 directories x 50 files x 100 KiB of random data.
files_make_tree()
{
	local t=$BENCH_DIR/cptree d f
	[ -f "$t/.done" ] && return 0
	rm -rf "$t"
	for ((d = 0; d < 40; d++)); do
		mkdir -p "$t/tree/d$d"
		for ((f = 0; f < 50; f++)); do
			head -c 102400 /dev/urandom >"$t/tree/d$d/f$f"
		done
	done
	touch "$t/.done"
}

# 10,000 files of 16-100 bytes in 100 directories.
files_make_small()
{
	local t=$BENCH_DIR/smalltree d f
	[ -f "$t/.done" ] && return 0
	rm -rf "$t"
	for ((d = 0; d < 100; d++)); do
		mkdir -p "$t/small/d$d"
		for ((f = 0; f < 100; f++)); do
			printf 'file %d/%d %s\n' "$d" "$f" "$RANDOM$RANDOM" >"$t/small/d$d/f$f"
		done
	done
	touch "$t/.done"
}

# tar -c read floor: to a pipe (GNU tar skips reading when writing to /dev/null)
files_tar_read() { tar -C "$1" -cf - "$2" | cat >/dev/null; }
files_tar_copy() { tar -C "$1" -cf - "$2" | tar -C "$3" -xf -; }

# files_cp_run CLI: median seconds of CLI cp out of container "benchcp"
files_cp_run()
{
	local cli=$1 i t out
	local -a s=()
	"$cli" rm -f benchcp >/dev/null 2>&1
	"$cli" run -d --name benchcp busybox sleep 100000 >/dev/null || return 1
	"$cli" cp "$BENCH_DIR/cptree/tree" benchcp:/tree >/dev/null || return 1
	sync
	for ((i = 0; i <= N; i++)); do
		out=$(mktemp -d /var/tmp/berth-bench-cp.XXXXXX)
		t=$(time_cmd "$cli" cp benchcp:/tree "$out/tree") || { rm -rf "$out"; return 1; }
		[ "$(find "$out/tree" -type f | wc -l)" = 2000 ] || { echo "bench: incomplete copy" >&2; rm -rf "$out"; return 1; }
		rm -rf "$out"
		sync # the next run must not pay for this one's writeback
		[ $i -gt 0 ] && s+=("$t") # the first run warms the page cache
	done
	"$cli" rm -f benchcp >/dev/null 2>&1
	printf '%s\n' "${s[@]}" | median
}

bench_cp()
{
	files_make_tree
	local size
	size=$(du -sm "$BENCH_DIR/cptree/tree" | cut -f1)
	echo "bench: cp of a ${size} MB tree (2,000 files) out of a container, median of $N" >&2
	local i out
	local -a s1=() s2=()
	for ((i = 0; i <= N; i++)); do
		s1+=("$(time_cmd files_tar_read "$BENCH_DIR/cptree" tree)")
		out=$(mktemp -d /var/tmp/berth-bench-cp.XXXXXX)
		s2+=("$(time_cmd files_tar_copy "$BENCH_DIR/cptree" tree "$out")")
		rm -rf "$out"
		sync
	done
	local floor copy
	floor=$(printf '%s\n' "${s1[@]:1}" | median)
	copy=$(printf '%s\n' "${s2[@]:1}" | median)
	local berth_t=- docker_t=-
	if [ -x "$BERTHD" ] && [ -x "$BERTH_CLI" ] && daemon_up berthd; then
		"$BERTH_CLI" load -q -i "$E2E_FIXTURES/busybox-docker-archive.tar" >/dev/null
		berth_t=$(files_cp_run "$BERTH_CLI") || { echo "bench: berth cp failed" >&2; berth_t=-; }
		daemon_down
	fi
	if have_dockerd && daemon_up dockerd; then
		"$DOCKER_CLI_20" load -q -i "$E2E_FIXTURES/busybox-docker-archive.tar" >/dev/null
		docker_t=$(files_cp_run "$DOCKER_CLI_20") || { echo "bench: docker cp failed" >&2; docker_t=-; }
		daemon_down
	fi
	row "cp ${size} MB tree out of a container, s" "$berth_t" "tar -c floor $floor" "$(ratio "$berth_t" "$floor")"
	row "" "" "tar -c | tar -x $copy" "$(ratio "$berth_t" "$copy")"
	row "" "" "docker cp (20.10) $docker_t" "$(ratio "$berth_t" "$docker_t")"
}

# files_commit_run CLI: "commit tar-c tar-c|tar-x" median seconds for a
# container holding the 10,000 small files in its writable layer. Each round
# changes one more file, so every commit makes a new layer (none is a
# duplicate thrown away, whose 10,000 deleted inodes would slow ext4's next
# allocations); nothing is removed before the end.
files_commit_run()
{
	local cli=$1 i t upper out
	local -a s=() f=() x=()
	"$cli" rm -f benchcommit >/dev/null 2>&1
	"$cli" run -d --name benchcommit busybox sleep 100000 >/dev/null || return 1
	"$cli" cp "$BENCH_DIR/smalltree/small" benchcommit:/small >/dev/null || return 1
	upper=$("$cli" inspect -f '{{.GraphDriver.Data.UpperDir}}' benchcommit 2>/dev/null)
	if [ ! -d "$upper" ]; then # no GraphDriver.Data in inspect: the overlay2 layout
		upper=$E2E_DATA/overlay2/$("$cli" inspect -f '{{.Id}}' benchcommit)/diff
	fi
	[ -d "$upper/small" ] || upper= # btrfs, vfs: no upper dir, so no tar floor (bench/storage.sh)
	sync
	for ((i = 0; i <= N; i++)); do
		"$cli" exec benchcommit sh -c "echo $i >/small/round" || return 1
		sync
		t=$(time_cmd "$cli" commit benchcommit bench/commit:$i) || return 1
		[ $i -gt 0 ] && s+=("$t")
		sync
		[ -n "$upper" ] || continue
		f+=("$(time_cmd files_tar_read "$upper" .)")
		out=$(mktemp -d /var/tmp/berth-bench-commit.XXXXXX)
		x+=("$(time_cmd files_tar_copy "$upper" . "$out")")
		sync
	done
	for ((i = 0; i <= N; i++)); do
		"$cli" rmi -f bench/commit:$i >/dev/null 2>&1
	done
	rm -rf /var/tmp/berth-bench-commit.*
	"$cli" rm -f benchcommit >/dev/null 2>&1
	echo "$(printf '%s\n' "${s[@]}" | median) $(printf '%s\n' "${f[@]:1}" | median) $(printf '%s\n' "${x[@]:1}" | median)"
}

bench_commit()
{
	files_make_small
	echo "bench: commit of a container with 10,000 changed small files, median of $N" >&2
	local berth_t=- floor=- copy=- docker_t=- dfloor=- dcopy=-
	if [ -x "$BERTHD" ] && [ -x "$BERTH_CLI" ] && daemon_up berthd; then
		"$BERTH_CLI" load -q -i "$E2E_FIXTURES/busybox-docker-archive.tar" >/dev/null
		read -r berth_t floor copy < <(files_commit_run "$BERTH_CLI" || echo "- - -")
		daemon_down
	fi
	if have_dockerd && daemon_up dockerd; then
		"$DOCKER_CLI_20" load -q -i "$E2E_FIXTURES/busybox-docker-archive.tar" >/dev/null
		read -r docker_t dfloor dcopy < <(files_commit_run "$DOCKER_CLI_20" || echo "- - -")
		daemon_down
	fi
	row "commit of 10,000 changed small files, s" "$berth_t" "tar -c upper layer $floor" "$(ratio "$berth_t" "$floor")"
	row "" "" "tar -c | tar -x upper $copy" "$(ratio "$berth_t" "$copy")"
	row "" "" "docker commit (20.10) $docker_t" "$(ratio "$berth_t" "$docker_t")"
	row "" "" "(dockerd run: tar -c $dfloor, | tar -x $dcopy)" ""
}
