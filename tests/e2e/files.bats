#!/usr/bin/env bats
# Files in and out of containers, changes and commit: cp both ways (running,
# stopped, never started; stdin/stdout tars; -a; -L; docker's path rules),
# the archive API (stat header, HEAD, PUT refusals), symlinks to "/" and
# "../.." never reaching the host, diff after a known set of changes, commit
# (-m -a -c, pause) whose image runs with the same tree, export of the whole
# filesystem; the same through docker CLI 28 and 20.10.
# Run it against dockerd 20.10 too: E2E_TARGET=dockerd.

load helpers

setup_file()
{
	berthd_start
	load_busybox
	# A host tree with what cp must keep: modes, owners, a hard link,
	# symlinks (relative inside the tree, absolute), an empty directory.
	local t=$BATS_FILE_TMPDIR/tree
	mkdir -p "$t/sub/deeper" "$t/empty"
	echo hello >"$t/a"
	echo world >"$t/sub/b"
	printf 'x%.0s' $(seq 1 5000) >"$t/sub/deeper/big"
	ln "$t/sub/b" "$t/hardlink"
	ln -s sub/b "$t/rel-link"
	ln -s /etc/passwd "$t/abs-link"
	ln -s ../a "$t/sub/up-link"
	chmod 0640 "$t/a"
	chmod 0750 "$t/sub"
	chmod 4755 "$t/sub/deeper/big"
	chmod 0700 "$t/empty"
	chown 1234:5678 "$t/a"
	chown 42:43 "$t/sub" "$t/sub/b"
	chown -h 7:8 "$t/rel-link"
	touch -d '2020-02-02 02:02:02' "$t/a" "$t/sub/deeper"
	TREE=$t
	# A secret outside every container: nothing may read or write it.
	HOSTDIR=$BATS_FILE_TMPDIR/host-secret
	mkdir -p "$HOSTDIR"
	echo "host secret" >"$HOSTDIR/secret"
	export TREE HOSTDIR
}

teardown_file() { berthd_stop; }
setup() { berthd_ensure; }
teardown()
{
	reset_containers
	berth volume rm -f files-vol >/dev/null 2>&1 || true
	local id
	for id in $(berth images -q --filter reference='files-*' 2>/dev/null); do
		berth rmi -f "$id" >/dev/null 2>&1 || true
	done
}

# Numeric listing of a directory: path type mode uid gid size link-target
# (directory sizes and times left out: they differ between file systems).
listing()
{
	(cd "$1" && find . -mindepth 1 -printf '%P %y %m %U %G %l\n' | sort)
	(cd "$1" && find . -mindepth 1 -type f -printf '%P %s\n' | sort)
}

# The same, read from a tar stream on stdin (numeric owners).
tar_listing()
{
	local d
	d=$(mktemp -d "$BATS_TEST_TMPDIR/x.XXXXXX")
	tar -C "$d" --numeric-owner --same-owner -xpf -
	listing "$d/$1"
}

run_sleeper() { berth run -d --name "$1" busybox sh -c 'trap "exit 0" TERM; while true; do sleep 0.2; done' >/dev/null; }

# --- cp round trips ----------------------------------------------------------------

round_trip()
{
	local ctr=$1 out=$BATS_TEST_TMPDIR/out-$1
	run -0 berth cp "$TREE" "$ctr:/copied"
	# in the container: everything kept (read back as a tar stream)
	berth cp "$ctr:/copied" - | tar_listing copied >"$BATS_TEST_TMPDIR/in.txt"
	listing "$TREE" >"$BATS_TEST_TMPDIR/want.txt"
	diff -u "$BATS_TEST_TMPDIR/want.txt" "$BATS_TEST_TMPDIR/in.txt" || fail "tree changed on the way in"
	# and out again
	mkdir -p "$out"
	if [ "$E2E_TARGET" = berthd ]; then
		run -0 berth cp -a "$ctr:/copied" "$out/tree"
		listing "$out/tree" >"$BATS_TEST_TMPDIR/out.txt"
		diff -u "$BATS_TEST_TMPDIR/want.txt" "$BATS_TEST_TMPDIR/out.txt" || fail "tree changed on the way out"
	else # docker's cp never chowns on the host
		run -0 berth cp "$ctr:/copied" "$out/tree"
	fi
	cmp "$TREE/sub/deeper/big" "$out/tree/sub/deeper/big"
	[ "$(stat -c %i "$out/tree/hardlink")" = "$(stat -c %i "$out/tree/sub/b")" ] || fail "hard link lost"
	assert_eq "$(readlink "$out/tree/rel-link")" sub/b
	assert_eq "$(stat -c %Y "$out/tree/a")" "$(stat -c %Y "$TREE/a")"
}

@test "cp round-trips a tree (modes, owners, hard link, symlinks) with a running container" {
	run_sleeper run1
	round_trip run1
	# the container sees it too
	run -0 berth exec run1 stat -c '%a %u:%g' /copied/a /copied/sub
	assert_eq "$output" "640 1234:5678
750 42:43"
}

@test "cp round-trips with a stopped and a never started container" {
	berth run --name stopped busybox true
	round_trip stopped
	berth create --name fresh busybox >/dev/null
	round_trip fresh
	run -0 berth start -a fresh
	berth rm -f fresh >/dev/null
}

@test "cp: docker's path rules (dest exists or not, trailing /, /., file to dir)" {
	run_sleeper rules
	local o=$BATS_TEST_TMPDIR/rules
	mkdir -p "$o/exists"
	berth exec rules sh -c 'mkdir -p /d/sub && echo f >/d/f && echo s >/d/sub/s'
	run -0 berth cp rules:/d "$o/new"            # new name
	[ -f "$o/new/f" ] && [ -f "$o/new/sub/s" ]
	run -0 berth cp rules:/d "$o/exists"         # into an existing dir
	[ -f "$o/exists/d/f" ]
	run -0 berth cp rules:/d/. "$o/exists"       # contents only
	[ -f "$o/exists/f" ] && [ -d "$o/exists/sub" ]
	run -0 berth cp rules:/d/f "$o/file-copy"    # a file to a new name
	assert_eq "$(cat "$o/file-copy")" f
	run -1 --separate-stderr berth cp rules:/d/f "$o/nodir/"
	assert_eq "$stderr" "no such directory"
	run -1 --separate-stderr berth cp rules:/d "$o/file-copy"
	assert_eq "$stderr" "cannot copy directory"
	run -1 --separate-stderr berth cp rules:/nonexistent "$o/x"
	assert_eq "$stderr" "Error: No such container:path: rules:/nonexistent"
	run -1 --separate-stderr berth cp "$TREE/a" rules:/d/f/x
	# into the container: a file onto a file, a dir into a dir, -L
	run -0 berth cp "$TREE/a" rules:/d/f
	run -0 berth exec rules cat /d/f
	assert_eq "$output" hello
	run -0 berth cp "$TREE/sub" rules:/d/
	run -0 berth exec rules cat /d/sub/b
	assert_eq "$output" world
	run -0 berth cp -L "$TREE/rel-link" rules:/followed
	run -0 berth exec rules cat /followed
	assert_eq "$output" world
	run -0 berth cp "$TREE/rel-link" rules:/kept-link
	run -0 berth exec rules readlink /kept-link
	assert_eq "$output" sub/b
	run -1 --separate-stderr berth cp "$TREE/a" "rules:/nonexistent/dir/"
	run -1 --separate-stderr berth cp a b
	assert_eq "$stderr" "must specify at least one container source"
	run -1 --separate-stderr berth cp rules:/a rules:/b
	assert_eq "$stderr" "copying between containers is not supported"
}

@test "cp with - streams a tar on stdin and stdout" {
	run_sleeper streams
	tar -C "$TREE" -cf - . | berth cp - streams:/tmp
	run -0 berth exec streams cat /tmp/sub/b
	assert_eq "$output" world
	berth cp streams:/tmp/sub - | tar -tf - | sort >"$BATS_TEST_TMPDIR/names"
	assert_eq "$(cat "$BATS_TEST_TMPDIR/names")" "sub/
sub/b
sub/deeper/
sub/deeper/big
sub/up-link"
	run -1 --separate-stderr berth cp - streams:/tmp/sub/b </dev/null
	assert_eq "$stderr" 'destination "streams:/tmp/sub/b" must be a directory'
}

# --- never the host ----------------------------------------------------------------

@test "symlinks to / and ../.. in a container never make cp read or write the host" {
	run_sleeper links
	berth exec links sh -c "ln -s / /to-root && mkdir -p /a/b && ln -s ../.. /a/b/up && ln -s $HOSTDIR /hostlink && ln -s ../../../../../../..$HOSTDIR /a/deep && echo container >/marker"
	local o=$BATS_TEST_TMPDIR/links
	mkdir -p "$o"
	# reading through them gives the container's files
	run -0 berth cp links:/to-root/marker "$o/m1"
	assert_eq "$(cat "$o/m1")" container
	run -0 berth cp links:/a/b/up/marker "$o/m2"
	assert_eq "$(cat "$o/m2")" container
	run -0 berth cp links:/a/b/up/etc/passwd "$o/passwd"
	cmp -s "$o/passwd" /etc/passwd && fail "read the host's /etc/passwd"
	# a link naming the host directory leads nowhere
	run -1 berth cp links:/hostlink/secret "$o/s1"
	run -1 berth cp links:/a/deep/secret "$o/s2"
	[ ! -e "$o/s1" ] && [ ! -e "$o/s2" ]
	# writing through them stays inside
	echo planted >"$BATS_TEST_TMPDIR/planted"
	run -0 berth cp "$BATS_TEST_TMPDIR/planted" links:/to-root/
	run -0 berth cp "$BATS_TEST_TMPDIR/planted" links:/a/b/up/planted2
	run -0 berth exec links cat /planted /planted2
	berth cp "$BATS_TEST_TMPDIR/planted" links:/hostlink/ 2>/dev/null || true
	berth cp "$BATS_TEST_TMPDIR/planted" links:/a/deep/ 2>/dev/null || true
	[ ! -e /planted ] && [ ! -e "$HOSTDIR/planted" ] || fail "wrote on the host"
	assert_eq "$(ls "$HOSTDIR")" secret
}

@test "PUT /archive: a path escape is refused with a clear error and nothing is written" {
	run_sleeper esc
	local t=$BATS_TEST_TMPDIR/esc.tar
	python3 - "$t" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    for n in ["../escaped", "fine"]:
        i = tarfile.TarInfo(n); i.size = 1; t.addfile(i, io.BytesIO(b"x"))
EOF
	api PUT '/containers/esc/archive?path=/tmp' -H 'Content-Type: application/x-tar' --data-binary "@$t"
	[ "$HTTP_CODE" -ge 400 ] || fail "accepted: $HTTP_CODE"
	assert_message 'Error processing tar file(exit status 1): "../escaped" is outside of "/tmp"'
	run -1 berth exec esc ls /escaped /tmp/fine
	[ ! -e "$E2E_TMP/escaped" ] && [ ! -e /escaped ]
	api PUT '/containers/esc/archive?path=/etc/passwd' -H 'Content-Type: application/x-tar' --data-binary "@$t"
	assert_message "extraction point is not a directory"
	api PUT '/containers/esc/archive?path=/nope' -H 'Content-Type: application/x-tar' --data-binary "@$t"
	assert_status 404
	assert_message "Could not find the file /nope in container esc"
	api PUT '/containers/esc/archive' -H 'Content-Type: application/x-tar' --data-binary "@$t"
	assert_status 400
}

@test "PUT /archive: a later escaping entry leaves the earlier ones unwritten too" {
	skip_on_dockerd "extracts entries up to the bad one"
	run_sleeper esc2
	local t=$BATS_TEST_TMPDIR/esc2.tar
	python3 - "$t" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    for n in ["first", "dir/second", "dir/../../../third"]:
        i = tarfile.TarInfo(n); i.size = 1; t.addfile(i, io.BytesIO(b"x"))
    i = tarfile.TarInfo("link"); i.type = tarfile.SYMTYPE; i.linkname = "../../../etc"; t.addfile(i)
EOF
	api PUT '/containers/esc2/archive?path=/tmp' -H 'Content-Type: application/x-tar' --data-binary "@$t"
	assert_status 500
	assert_contains "$HTTP_BODY" 'is outside of'
	run -1 berth exec esc2 ls /tmp/first /tmp/dir
}

# --- the archive API ----------------------------------------------------------------

@test "HEAD/GET /archive: docker's stat header, names rebased as docker does" {
	run_sleeper stat
	api HEAD '/containers/stat/archive?path=/etc/passwd'
	assert_status 200
	local st
	st=$(header X-Docker-Container-Path-Stat | base64 -d)
	assert_eq "$(jq -c '{name,size,mode,linkTarget}' <<<"$st")" '{"name":"passwd","size":75,"mode":420,"linkTarget":""}'
	api HEAD '/containers/stat/archive?path=/bin/sh'
	st=$(header X-Docker-Container-Path-Stat | base64 -d)
	assert_eq "$(jq -c '{name,mode,linkTarget}' <<<"$st")" '{"name":"sh","mode":134218239,"linkTarget":"/bin/busybox"}'
	api HEAD '/containers/stat/archive?path=/nonexistent'
	assert_status 404
	api GET '/containers/stat/archive?path=/nonexistent'
	assert_message "Could not find the file /nonexistent in container stat"
	berth cp stat:/etc/. - | tar -tf - | head -2 >"$BATS_TEST_TMPDIR/n"
	assert_eq "$(cat "$BATS_TEST_TMPDIR/n")" "./
./group"
	curl -sf --unix-socket "$E2E_SOCK" 'http://localhost/containers/stat/archive?path=/' | tar -tf - 2>/dev/null | head -2 >"$BATS_TEST_TMPDIR/n"
	assert_eq "$(cat "$BATS_TEST_TMPDIR/n")" "/
/.dockerenv"
	# the container's /etc/hosts is the one berthd wrote for it
	berth cp stat:/etc/hosts - | tar -xOf - >"$BATS_TEST_TMPDIR/hosts"
	grep -q localhost "$BATS_TEST_TMPDIR/hosts"
}

# --- what the container sees: volumes, bind mounts, tmpfs ---------------------------

# one_file_tar NAME TEXT: a tar holding the file NAME with TEXT, on stdout.
one_file_tar()
{
	local d
	d=$(mktemp -d "$BATS_TEST_TMPDIR/t.XXXXXX")
	printf '%s' "$2" >"$d/$1"
	tar -C "$d" -cf - "$1"
}

# put_file CTR DIR NAME TEXT: PUT a one-file tar into DIR of CTR.
put_file()
{
	one_file_tar "$3" "$4" >"$BATS_TEST_TMPDIR/put.tar"
	api PUT "/containers/$1/archive?path=$2" -H 'Content-Type: application/x-tar' \
		--data-binary "@$BATS_TEST_TMPDIR/put.tar"
}

# A bind source ($SRC, with hostfile and two symlinks that would leave the
# container), the named volume files-vol ($VOLDIR, with volfile).
mounts_setup()
{
	SRC=$BATS_TEST_TMPDIR/src
	mkdir -p "$SRC"
	echo from-host >"$SRC/hostfile"
	ln -s "$HOSTDIR" "$SRC/hostlink"
	ln -s ../../../../../.. "$SRC/up"
	berth volume create files-vol >/dev/null
	VOLDIR=$(berth volume inspect -f '{{.Mountpoint}}' files-vol)
	echo in-volume >"$VOLDIR/volfile"
	MOUNT_ARGS=(-v "$SRC:/data" -v files-vol:/srv/nv -v "$SRC:/ro:ro")
}

# check_mounts CTR: PUT, HEAD and GET reach the bind source and the volume,
# not the directories under the mount points.
check_mounts()
{
	local c=$1
	put_file "$c" /data put-bind "bind-$c"
	assert_status 200
	[ -f "$SRC/put-bind" ] || fail "PUT /data did not reach the bind source"
	assert_eq "$(cat "$SRC/put-bind")" "bind-$c"
	put_file "$c" /srv/nv put-vol "vol-$c"
	assert_status 200
	[ -f "$VOLDIR/put-vol" ] || fail "PUT /srv/nv did not reach the volume"
	assert_eq "$(cat "$VOLDIR/put-vol")" "vol-$c"
	api HEAD "/containers/$c/archive?path=/data/hostfile"
	assert_status 200
	api HEAD "/containers/$c/archive?path=/srv/nv/volfile"
	assert_status 200
	assert_eq "$(berth cp "$c:/data/hostfile" - | tar -xOf -)" from-host
	assert_eq "$(berth cp "$c:/srv/nv/volfile" - | tar -xOf -)" in-volume
	# a directory holding a mount point: the mount's content comes with it
	berth cp "$c:/srv" - | tar -tf - >"$BATS_TEST_TMPDIR/srv.txt"
	grep -qx 'srv/nv/volfile' "$BATS_TEST_TMPDIR/srv.txt" || fail "GET /srv: $(cat "$BATS_TEST_TMPDIR/srv.txt")"
	# a read-only mount refuses, nothing written
	put_file "$c" /ro put-ro x
	[ "$HTTP_CODE" -ge 400 ] || fail "PUT into a read-only mount: $HTTP_CODE"
	assert_message "mounted volume is marked read-only"
	[ ! -e "$SRC/put-ro" ] || fail "wrote into a read-only mount"
	# symlinks in a mount still resolve inside the container, never on the host
	api HEAD "/containers/$c/archive?path=/data/hostlink/secret"
	assert_status 404
	put_file "$c" /data/up escaped-up x
	[ ! -e /escaped-up ] && [ ! -e "$SRC/../escaped-up" ] || fail "wrote on the host"
	assert_eq "$(ls "$HOSTDIR")" secret
}

# run_mounted NAME: a running container with the mounts of mounts_setup and a
# tmpfs at /tm holding /tm/t.
run_mounted()
{
	berth run -d --name "$1" "${MOUNT_ARGS[@]}" --tmpfs /tm busybox \
		sh -c 'echo in-tmpfs >/tm/t; trap "exit 0" TERM; while true; do sleep 0.2; done' >/dev/null
	wait_for 30 berth exec "$1" test -f /tm/t
}

@test "archive API and cp reach bind mounts and volumes of a running container" {
	mounts_setup
	run_mounted mr
	check_mounts mr
	# the container sees what was written
	run -0 berth exec mr cat /data/put-bind /srv/nv/put-vol /escaped-up
	assert_eq "$output" "bind-mrvol-mrx"
	# kernel file systems are not archived
	api HEAD '/containers/mr/archive?path=/proc'
	assert_status 200
	assert_eq "$(berth cp mr:/proc - | tar -tf - | wc -l)" 1
}

@test "archive API and cp reach the tmpfs of a running container (its mount namespace)" {
	skip_on_dockerd "its archive API does not see a running container's tmpfs"
	mounts_setup
	run_mounted mt
	api HEAD '/containers/mt/archive?path=/tm/t'
	assert_status 200
	assert_eq "$(berth cp mt:/tm/t - | tar -xOf -)" in-tmpfs
	put_file mt /tm put-tmpfs in
	assert_status 200
	run -0 berth exec mt cat /tm/put-tmpfs
	assert_eq "$output" in
	# and the host never gets it
	[ ! -e /tm/put-tmpfs ] || fail "wrote on the host"
}

@test "archive API and cp reach bind mounts and volumes of created and stopped containers" {
	mounts_setup
	berth create --name mc "${MOUNT_ARGS[@]}" busybox cat /data/put-bind /srv/nv/put-vol >/dev/null
	check_mounts mc
	rm -f "$SRC/put-bind" "$VOLDIR/put-vol"
	berth run --name ms "${MOUNT_ARGS[@]}" busybox true
	check_mounts ms
	# what was written is what the container reads when it runs
	run -0 berth start -a mc
	assert_eq "$output" "bind-msvol-ms"
	# no host mount is left behind
	run -1 grep -qF "$SRC" /proc/self/mountinfo
}

@test "a mount point under a symlink leaving the root stays inside the container" {
	mounts_setup
	local target=$BATS_TEST_TMPDIR/escape-target
	berth run --name lnk busybox ln -s "/../../../..$target" /lnk
	berth commit lnk files-lnk >/dev/null
	berth create --name lnk2 -v "$SRC:/lnk/data" files-lnk true >/dev/null
	put_file lnk2 /lnk/data via-link x
	assert_status 200
	assert_eq "$(cat "$SRC/via-link")" x
	[ ! -e "$target" ] || fail "made the mount point on the host: $target"
}

@test "docker CLI 28: cp in and out of a created container's volume and a running container's bind mount" {
	need_cli "$DOCKER_CLI_28"
	mounts_setup
	"$DOCKER_CLI_28" create --name dvc -v files-vol:/srv/nv busybox true >/dev/null
	echo via-cli >"$BATS_TEST_TMPDIR/cli-file"
	run -0 "$DOCKER_CLI_28" cp "$BATS_TEST_TMPDIR/cli-file" dvc:/srv/nv/
	assert_eq "$(cat "$VOLDIR/cli-file")" via-cli
	run -0 "$DOCKER_CLI_28" cp dvc:/srv/nv/volfile "$BATS_TEST_TMPDIR/back"
	assert_eq "$(cat "$BATS_TEST_TMPDIR/back")" in-volume
	run_mounted dvr
	run -0 "$DOCKER_CLI_28" cp "$BATS_TEST_TMPDIR/cli-file" dvr:/data/
	assert_eq "$(cat "$SRC/cli-file")" via-cli
	run -0 "$DOCKER_CLI_28" cp dvr:/srv/nv/volfile "$BATS_TEST_TMPDIR/back2"
	assert_eq "$(cat "$BATS_TEST_TMPDIR/back2")" in-volume
}

@test "docker CLI 28: cp in and out of a running container's tmpfs" {
	need_cli "$DOCKER_CLI_28"
	skip_on_dockerd "its archive API does not see a running container's tmpfs"
	mounts_setup
	run_mounted dvt
	run -0 "$DOCKER_CLI_28" cp dvt:/tm/t "$BATS_TEST_TMPDIR/t"
	assert_eq "$(cat "$BATS_TEST_TMPDIR/t")" in-tmpfs
	echo via-cli >"$BATS_TEST_TMPDIR/cli-file"
	run -0 "$DOCKER_CLI_28" cp "$BATS_TEST_TMPDIR/cli-file" dvt:/tm/
	run -0 "$DOCKER_CLI_28" exec dvt cat /tm/cli-file
	assert_eq "$output" via-cli
}

# --- diff, commit, export ----------------------------------------------------------

changed_container()
{
	berth run --name "$1" busybox sh -c 'touch /new; rm /etc/group; echo >> /etc/passwd'
}

@test "diff lists exactly the changes with their kinds (A 1, D 2, C 0)" {
	changed_container chg
	run -0 berth diff chg
	assert_eq "$(sort <<<"$output")" "A /new
C /etc
C /etc/passwd
D /etc/group"
	api GET /containers/chg/changes
	assert_eq "$(jq -c 'sort_by(.Path)' <<<"$HTTP_BODY")" \
		'[{"Path":"/etc","Kind":0},{"Path":"/etc/group","Kind":2},{"Path":"/etc/passwd","Kind":0},{"Path":"/new","Kind":1}]'
	berth create --name clean busybox >/dev/null
	api GET /containers/clean/changes
	assert_eq "$HTTP_BODY" null
	run -0 berth diff clean
	assert_eq "$output" ""
	run -1 --separate-stderr berth diff nope
	assert_eq "$stderr" "Error response from daemon: No such container: nope"
}

@test "commit: the image runs and shows the same tree; -m -a, history, parent layers" {
	changed_container com
	run -0 --separate-stderr berth commit -m "my message" -a "Me <me@x>" com files-com:v1
	assert_match "$output" '^sha256:[0-9a-f]{64}$'
	run -0 berth run --rm files-com:v1 sh -c 'test -e /new && ! test -e /etc/group && tail -c 1 /etc/passwd | od -An -c'
	assert_eq "$(echo $output)" '\n'
	run -0 berth run --name com2 files-com:v1 true
	run -0 berth diff com2
	assert_eq "$output" ""
	run -0 berth image inspect -f '{{.Author}}|{{.Comment}}|{{len .RootFS.Layers}}|{{.Config.Cmd}}' files-com:v1
	assert_eq "$output" "Me <me@x>|my message|2|[sh -c touch /new; rm /etc/group; echo >> /etc/passwd]"
	run -0 berth history --no-trunc --format '{{.CreatedBy}}|{{.Comment}}' files-com:v1
	assert_eq "$(head -1 <<<"$output")" "sh -c touch /new; rm /etc/group; echo >> /etc/passwd|my message"
	# the layer holds the whiteout for the deleted file
	api GET /images/files-com:v1/get
	[ "$HTTP_CODE" = 200 ]
	api_get_file /images/files-com:v1/get "$BATS_TEST_TMPDIR/img.tar"
	mkdir -p "$BATS_TEST_TMPDIR/img" && tar -C "$BATS_TEST_TMPDIR/img" -xf "$BATS_TEST_TMPDIR/img.tar"
	local found=0 l
	for l in "$BATS_TEST_TMPDIR"/img/*/layer.tar; do
		tar -tf "$l" | grep -qx 'etc/.wh.group' && found=1
	done
	assert_eq "$found" 1
}

@test "commit -c applies Dockerfile changes; the config merges the container's" {
	berth run --name cc -e FOO=bar -l x=y busybox sh -c 'echo hi >/hi'
	run -0 berth commit -c 'CMD ["cat", "/hi"]' -c 'ENV A=b' -c 'LABEL l=1' -c 'USER nobody' -c 'EXPOSE 80' cc files-cc:latest
	run -0 berth run --rm files-cc
	assert_eq "$output" hi
	run -0 berth image inspect -f '{{json .Config.Env}} {{json .Config.Labels}} {{.Config.User}} {{json .Config.ExposedPorts}}' files-cc
	assert_eq "$output" '["FOO=bar","A=b"] {"l":"1","x":"y"} nobody {"80/tcp":{}}'
	run -1 --separate-stderr berth commit -c 'FOO bar' cc
	assert_eq "$stderr" "Error response from daemon: foo is not a valid change command"
	run -1 --separate-stderr berth commit cc Bad:Repo
	assert_eq "$stderr" "invalid reference format: repository name must be lowercase"
	run -1 --separate-stderr berth commit nope
	assert_eq "$stderr" "Error response from daemon: No such container: nope"
}

@test "commit of a running container pauses it (events) and it keeps running" {
	run_sleeper live
	berth exec live sh -c 'echo live >/livefile'
	local since
	since=$(date +%s)
	run -0 berth commit live files-live
	run -0 berth run --rm files-live cat /livefile
	assert_eq "$output" live
	assert_eq "$(cstatus live)" running
	api GET "/events?since=$since&until=$(($(date +%s) + 1))&filters=%7B%22container%22%3A%5B%22live%22%5D%7D"
	local actions
	actions=$(jq -r '.Action' <<<"$HTTP_BODY" | tr '\n' ' ')
	assert_contains "$actions" "pause"
	assert_contains "$actions" "commit"
	assert_contains "$actions" "unpause"
	run -0 berth commit --pause=false live files-live:nopause
	assert_eq "$(cstatus live)" running
	# nothing changed: no layer added, history marks an empty layer
	berth run --name same busybox true
	run -0 berth commit same files-same
	run -0 berth image inspect -f '{{len .RootFS.Layers}}' files-same
	assert_eq "$output" 1
}

@test "export gives the whole filesystem" {
	changed_container exp
	run -0 berth export -o "$BATS_TEST_TMPDIR/exp.tar" exp
	tar -tf "$BATS_TEST_TMPDIR/exp.tar" | sort >"$BATS_TEST_TMPDIR/names"
	grep -qx 'bin/busybox' "$BATS_TEST_TMPDIR/names"
	grep -qx 'new' "$BATS_TEST_TMPDIR/names"
	grep -qx 'etc/passwd' "$BATS_TEST_TMPDIR/names"
	grep -qx '.dockerenv' "$BATS_TEST_TMPDIR/names"
	! grep -qx 'etc/group' "$BATS_TEST_TMPDIR/names"
	# the same tree as cp of /, without the leading "/"
	berth cp exp:/ - | tar -tf - 2>/dev/null | sed 's|^/||' | grep -v '^$' | sort >"$BATS_TEST_TMPDIR/cp-names"
	diff "$BATS_TEST_TMPDIR/names" "$BATS_TEST_TMPDIR/cp-names"
	# the same bytes every time
	berth export exp | cmp - "$BATS_TEST_TMPDIR/exp.tar"
	run -1 --separate-stderr berth export -o /nonexistent-dir/x exp
	assert_eq "$stderr" 'failed to export container: invalid output path: directory "/nonexistent-dir" does not exist'
}

# --- the real docker CLIs -------------------------------------------------------------

docker_cli_scenario()
{
	local cli=$1 tag=$2 o=$BATS_TEST_TMPDIR/$2
	need_cli "$cli"
	"$cli" run -d --name "dc-$tag" busybox sh -c 'trap "exit 0" TERM; while true; do sleep 0.2; done' >/dev/null
	run -0 "$cli" cp "$TREE" "dc-$tag:/copied"
	mkdir -p "$o"
	run -0 "$cli" cp "dc-$tag:/copied" "$o/back"
	cmp "$TREE/sub/deeper/big" "$o/back/sub/deeper/big"
	run -0 "$cli" exec "dc-$tag" stat -c '%a %u:%g' /copied/a
	assert_eq "$output" "640 1234:5678"
	"$cli" exec "dc-$tag" sh -c 'touch /new; rm /etc/group; echo >> /etc/passwd'
	run -0 "$cli" diff "dc-$tag"
	assert_contains "$output" "A /new"
	assert_contains "$output" "D /etc/group"
	assert_contains "$output" "C /etc/passwd"
	run -0 "$cli" commit -c 'CMD ["cat", "/copied/a"]' "dc-$tag" "files-$tag"
	run -0 "$cli" run --rm "files-$tag"
	assert_eq "$output" hello
	run -0 "$cli" export -o "$o/exp.tar" "dc-$tag"
	tar -tf "$o/exp.tar" | grep -qx 'copied/sub/b'
}

@test "docker CLI 28: cp, diff, commit, export" { docker_cli_scenario "$DOCKER_CLI_28" d28; }
@test "docker CLI 20.10: cp, diff, commit, export" { docker_cli_scenario "$DOCKER_CLI_20" d20; }

@test "the daemon never crashed during the suite" { assert_no_daemon_crash; }
