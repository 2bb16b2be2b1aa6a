#!/usr/bin/env bash
# Build the benchmark images (docker-archive tars) into DIR, once (cached):
#   DIR/big.tar        ~100 MB image: busybox rootfs + 50 MB of random files
#                      (1 MiB each) + ~50 MB of compressible text in small files
#   DIR/small-NN.tar   50 small images (busybox base + one tiny unique layer)
#   DIR/layers/*.tar   the big image's layer tars (for the tar -xf floor)
#
#   bench/make-image.sh DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: $0 DIR}
mkdir -p "$dir/layers"
mkarchive() { python3 "$root/scripts/make-docker-archive.py" "$@" >/dev/null; }

if [ ! -f "$dir/layers/base.tar" ]; then
	"$root/scripts/build-busybox-image.sh" "$dir/layers/base.tar"
fi

if [ ! -f "$dir/big.tar" ]; then
	work=$(mktemp -d "$dir/work.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	# Layer 2: 50 random (incompressible) files of 1 MiB.
	mkdir -p "$work/random/opt/random"
	for i in $(seq -w 1 50); do
		head -c 1048576 /dev/urandom >"$work/random/opt/random/blob-$i.bin"
	done
	# Layer 3: ~50 MB of compressible text: 2000 files of ~25 KB in 20 dirs.
	python3 - "$work/text/usr/share/bench" <<'EOF'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(42)
words = ["berth", "layer", "image", "container", "overlay", "digest", "shim", "daemon", "socket", "runtime",
         "manifest", "config", "tarball", "registry", "network", "volume", "cgroup", "namespace"]
for d in range(20):
    p = os.path.join(root, "d%02d" % d)
    os.makedirs(p, exist_ok=True)
    for f in range(100):
        lines = []
        size = 0
        while size < 25000:
            line = " ".join(rnd.choice(words) for _ in range(12)) + "\n"
            lines.append(line)
            size += len(line)
        with open(os.path.join(p, "f%03d.txt" % f), "w") as fh:
            fh.write("".join(lines))
EOF
	tar --sort=name --mtime='2024-01-01 00:00:00Z' --owner=0 --group=0 --numeric-owner -C "$work/random" \
		-cf "$dir/layers/random.tar" .
	tar --sort=name --mtime='2024-01-01 00:00:00Z' --owner=0 --group=0 --numeric-owner -C "$work/text" \
		-cf "$dir/layers/text.tar" .
	mkarchive "$dir/big.tar.tmp" -t bench/big:latest "$dir/layers/base.tar" "$dir/layers/random.tar" \
		"$dir/layers/text.tar"
	mv "$dir/big.tar.tmp" "$dir/big.tar"
	rm -rf "$work"
	trap - EXIT
fi

if [ ! -f "$dir/small-50.tar" ]; then
	work=$(mktemp -d "$dir/work.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	for i in $(seq -w 1 50); do
		mkdir -p "$work/s$i/etc"
		echo "small image $i" >"$work/s$i/etc/bench-id"
		mkarchive "$dir/small-$i.tar" -t "bench/small:$i" "$dir/layers/base.tar" "$work/s$i"
	done
	rm -rf "$work"
	trap - EXIT
fi
