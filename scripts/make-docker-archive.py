#!/usr/bin/env python3
"""Write a docker-archive (the `docker save` layout) from layer tarballs or directories.

    make-docker-archive.py OUT.tar -t repo:tag [-t ...] [--cmd '["/bin/sh"]'] [-e K=V ...]
                           [-l k=v ...] [--created 2024-01-01T00:00:00Z] LAYER [LAYER ...]

Each LAYER is an uncompressed tar file (used byte for byte: its sha256 is the
diff ID) or a directory (packed reproducibly: sorted names, uid/gid 0, mtime
0). Layers are listed base first. The output is deterministic for the same
inputs. Used by the e2e suites (multi-layer images, whiteouts) and bench/.
"""
import argparse
import hashlib
import io
import json
import os
import sys
import tarfile


def tar_dir(path):
    """Pack a directory into an uncompressed tar held in memory, reproducibly."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        entries = []
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(dirs + files):
                full = os.path.join(root, name)
                entries.append(full)
        for full in sorted(entries, key=lambda p: os.path.relpath(p, path)):
            ti = tf.gettarinfo(full, arcname=os.path.relpath(full, path))
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            ti.mtime = 0
            if ti.isreg():
                with open(full, "rb") as f:
                    tf.addfile(ti, f)
            else:
                tf.addfile(ti)
    return buf.getvalue()


def add_bytes(tf, name, data, mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = mode
    ti.mtime = 0
    tf.addfile(ti, io.BytesIO(data))


def add_dir(tf, name):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE
    ti.mode = 0o755
    ti.mtime = 0
    tf.addfile(ti)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("layers", nargs="+")
    ap.add_argument("-t", "--tag", action="append", default=[])
    ap.add_argument("--cmd", default='["/bin/sh"]', help="JSON array")
    ap.add_argument("-e", "--env", action="append", default=[])
    ap.add_argument("-l", "--label", action="append", default=[])
    ap.add_argument("--created", default="2024-01-01T00:00:00Z")
    ap.add_argument("--arch", default="amd64")
    ap.add_argument("--comment", default="")
    a = ap.parse_args()

    layers = []  # (diff_id hex, path or bytes)
    for src in a.layers:
        if os.path.isdir(src):
            data = tar_dir(src)
            layers.append((hashlib.sha256(data).hexdigest(), data))
        else:
            h = hashlib.sha256()
            with open(src, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            layers.append((h.hexdigest(), src))

    labels = dict(kv.split("=", 1) for kv in a.label) or None
    config = {
        "architecture": a.arch,
        "config": {
            "Env": a.env or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": json.loads(a.cmd),
            "Labels": labels,
        },
        "created": a.created,
        "history": [
            {"created": a.created, "created_by": "make-docker-archive.py layer %d" % i,
             **({"comment": a.comment} if a.comment else {})}
            for i in range(len(layers))
        ],
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + d for d, _ in layers]},
    }
    config_bytes = json.dumps(config, separators=(",", ":"), sort_keys=True).encode()
    config_hex = hashlib.sha256(config_bytes).hexdigest()

    manifest = [{
        "Config": config_hex + ".json",
        "RepoTags": a.tag or None,
        "Layers": ["%s/layer.tar" % d for d, _ in layers],
    }]
    repositories = {}
    for t in a.tag:
        repo, _, tag = t.rpartition(":")
        repositories.setdefault(repo, {})[tag] = layers[-1][0]

    tmp = a.out + ".tmp"
    with tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tf:
        done = set()
        for d, src in layers:
            if d in done:
                continue
            done.add(d)
            add_dir(tf, d + "/")
            add_bytes(tf, d + "/VERSION", b"1.0")
            if isinstance(src, bytes):
                add_bytes(tf, d + "/layer.tar", src)
            else:
                ti = tarfile.TarInfo(d + "/layer.tar")
                ti.size = os.path.getsize(src)
                ti.mode = 0o644
                with open(src, "rb") as f:
                    tf.addfile(ti, f)
        add_bytes(tf, config_hex + ".json", config_bytes)
        add_bytes(tf, "manifest.json", json.dumps(manifest, separators=(",", ":")).encode())
        if repositories:
            add_bytes(tf, "repositories", json.dumps(repositories, separators=(",", ":")).encode())
    os.replace(tmp, a.out)
    print("sha256:" + config_hex)


if __name__ == "__main__":
    sys.exit(main())
