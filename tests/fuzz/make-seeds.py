#!/usr/bin/env python3
"""Write the generated seed corpora of the tar_apply, tar_in, image_load and context_index fuzz targets.

    tests/fuzz/make-seeds.py [CORPUS_DIR]   (default: tests/fuzz/corpus)

Deterministic (mtime 0, fixed gzip header), small (a few KB per file). The
reference and template seeds are hand-written files, not made here.
"""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile


def ti(name, type_=tarfile.REGTYPE, mode=0o644, **kw):
    t = tarfile.TarInfo(name)
    t.type = type_
    t.mode = mode
    t.mtime = 0
    for k, v in kw.items():
        setattr(t, k, v)
    return t


def make_tar(entries, fmt=tarfile.PAX_FORMAT):
    """entries: (TarInfo, data or None)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for t, data in entries:
            if data is not None:
                t.size = len(data)
                tf.addfile(t, io.BytesIO(data))
            else:
                tf.addfile(t)
    return buf.getvalue()


def gz(data):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as f:
        f.write(data)
    return buf.getvalue()


def zst(data):
    return subprocess.run(["zstd", "-q", "-c", "-3"], input=data, stdout=subprocess.PIPE, check=True).stdout


def sha(data):
    return hashlib.sha256(data).hexdigest()


def rootfs_layer():
    return make_tar([
        (ti("bin/", tarfile.DIRTYPE, 0o755), None),
        (ti("bin/sh", mode=0o755), b"#!fake\n"),
        (ti("etc/", tarfile.DIRTYPE, 0o755), None),
        (ti("etc/passwd"), b"root:x:0:0:root:/root:/bin/sh\n"),
        (ti("etc/hosts.lnk", tarfile.SYMTYPE, 0o777, linkname="hosts"), None),
    ])


def tar_seeds():
    s = {}
    long = "d/" + "x" * 120 + "/" + "y" * 120
    s["basic.tar"] = make_tar([
        (ti("a/", tarfile.DIRTYPE, 0o755), None),
        (ti("a/file", mode=0o640, uid=1000, gid=1000), b"hello\n"),
        (ti("a/link", tarfile.SYMTYPE, 0o777, linkname="file"), None),
        (ti("a/hard", tarfile.LNKTYPE, linkname="a/file"), None),
        (ti("a/fifo", tarfile.FIFOTYPE), None),
        (ti("a/chr", tarfile.CHRTYPE, devmajor=1, devminor=3), None),
        (ti("setuid", mode=0o4755), b"x"),
        (ti(long), b"long name"),
        (ti("x/", tarfile.DIRTYPE, 0o755, pax_headers={"SCHILY.xattr.user.k": "v", "mtime": "1.5"}), None),
    ])
    s["ustar.tar"] = make_tar([(ti("dir/", tarfile.DIRTYPE, 0o755), None), (ti("dir/f"), b"u")],
                              fmt=tarfile.USTAR_FORMAT)
    s["gnu_longname.tar"] = make_tar([(ti("g/" + "n" * 200), b"gnu")], fmt=tarfile.GNU_FORMAT)
    s["whiteouts.tar"] = make_tar([
        (ti("old/", tarfile.DIRTYPE, 0o755), None),
        (ti("old/keep"), b"k"),
        (ti("old/.wh..wh..opq"), b""),
        (ti(".wh.gone"), b""),
        (ti("old/.wh.keep"), b""),
        (ti("new"), b"n"),
    ])
    s["replace.tar"] = make_tar([
        (ti("f"), b"first"),
        (ti("f"), b"second"),
        (ti("f", tarfile.DIRTYPE, 0o755), None),
        (ti("f/g", tarfile.SYMTYPE, linkname="/etc"), None),
    ])
    s["basic.tar.gz"] = gz(s["basic.tar"])
    s["whiteouts.tar.zst"] = zst(s["whiteouts.tar"])
    # Hostile: each must be refused or contained in the root.
    s["dotdot.tar"] = make_tar([(ti("../sentinel/escaped"), b"x"), (ti("a/../../sentinel/b"), b"x")])
    s["absolute.tar"] = make_tar([(ti("/sentinel/abs"), b"x")])
    s["symlink_parent.tar"] = make_tar([
        (ti("up", tarfile.SYMTYPE, linkname="../sentinel"), None),
        (ti("up/escaped"), b"x"),
    ])
    s["symlink_abs_parent.tar"] = make_tar([
        (ti("abs", tarfile.SYMTYPE, linkname="/tmp"), None),
        (ti("abs/escaped"), b"x"),
    ])
    s["hardlink_out.tar"] = make_tar([
        (ti("h", tarfile.LNKTYPE, linkname="../sentinel/x"), None),
        (ti("h2", tarfile.LNKTYPE, linkname="/etc/passwd"), None),
    ])
    s["whiteout_escape.tar"] = make_tar([(ti("../sentinel/.wh.x"), b""), (ti(".wh.."), b""), (ti(".wh..wh..opq"), b"")])
    trunc = s["basic.tar"]
    s["truncated.tar"] = trunc[:700]
    s["bad_gzip.tar.gz"] = s["basic.tar.gz"][:40]
    big = bytearray(make_tar([(ti("big"), b"z")], fmt=tarfile.USTAR_FORMAT))
    big[124:136] = b"77777777777\0"  # size field: 8 GiB, data missing
    chk = sum(big[:148]) + 8 * 32 + sum(big[156:512])
    big[148:156] = b"%06o\0 " % chk
    s["huge_size.tar"] = bytes(big)
    s["empty"] = b""
    s.update(native_reader_seeds())
    return s


def raw_header(name, typ, size, magic=b"ustar\x0000", extra=None):
    """A header block by hand (fields tarfile cannot write); extra: {offset: bytes}."""
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size
    h[136:148] = b"%011o\0" % 0
    h[156:157] = typ
    h[257:265] = magic
    for off, v in (extra or {}).items():
        h[off:off + len(v)] = v
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def block(data):
    return data + b"\0" * ((512 - len(data) % 512) % 512)


def pax_rec(k, v):
    body = b" " + k + b"=" + v + b"\n"
    n = len(body) + 1
    while len(str(n)) + len(body) != n:
        n = len(str(n)) + len(body)
    return str(n).encode() + body


def native_reader_seeds():
    """Header kinds of the native reader (archive/tar_in.c): pax records,
    base-256, old GNU and pax sparse maps, odd typeflags."""
    s = {}
    s["pax_records.tar"] = make_tar([
        (ti("p", uid=70000, gid=70001, pax_headers={
            "SCHILY.xattr.user.a": "1", "LIBARCHIVE.xattr.user.b%3D": "aGk=", "atime": "5.25", "mtime": "-1.5",
            "linkpath": "ignored", "uname": "u", "SCHILY.devmajor": "1"}), b"pax"),
        (ti("big", uid=0o10000000 + 1, mtime=0o100000000000 + 1), b"b256"),
    ], fmt=tarfile.PAX_FORMAT) + make_tar([(ti("b256", uid=0o10000000 + 1), b"g")], fmt=tarfile.GNU_FORMAT)
    gnu = b"ustar  \0"
    sp = {386: b"%011o\0" % 0 + b"%011o\0" % 3 + b"%011o\0" % 4096 + b"%011o\0" % 2, 483: b"%011o\0" % 8192}
    s["sparse_oldgnu.tar"] = raw_header(b"s", b"S", 5, gnu, sp) + block(b"abcde") + b"\0" * 1024
    ext = dict(sp)
    ext[482] = b"\1"
    s["sparse_oldgnu_ext.tar"] = (raw_header(b"s", b"S", 6, gnu, ext) +
                                  block(b"%011o\0" % 6000 + b"%011o\0" % 1) + block(b"abcdef") + b"\0" * 1024)
    recs = (pax_rec(b"GNU.sparse.size", b"8192") + pax_rec(b"GNU.sparse.map", b"0,3,4096,2") +
            pax_rec(b"GNU.sparse.name", b"real"))
    s["sparse_pax01.tar"] = (raw_header(b"PaxHeaders/x", b"x", len(recs)) + block(recs) +
                             raw_header(b"GNUSparseFile.0/real", b"0", 5) + block(b"abcde") + b"\0" * 1024)
    recs = (pax_rec(b"GNU.sparse.major", b"1") + pax_rec(b"GNU.sparse.minor", b"0") +
            pax_rec(b"GNU.sparse.realsize", b"8192") + pax_rec(b"GNU.sparse.name", b"real"))
    data = block(b"2\n0\n3\n4096\n2\n") + b"abcde"
    s["sparse_pax10.tar"] = (raw_header(b"PaxHeaders/x", b"x", len(recs)) + block(recs) +
                             raw_header(b"GNUSparseFile.0/real", b"0", len(data)) + block(data) + b"\0" * 1024)
    recs = pax_rec(b"comment", b"global")
    s["odd_types.tar"] = (raw_header(b"g", b"g", len(recs)) + block(recs) + raw_header(b"olddir/", b"0", 0) +
                          raw_header(b"v7", b"\0", 2, b"\0" * 8) + block(b"v7") + raw_header(b"zz", b"Z", 1) +
                          block(b"z") + raw_header(b"vol", b"V", 0) + raw_header(b"cont", b"7", 1) + block(b"c") +
                          b"\0" * 1024)
    return s


def docker_archive(layers, tags, legacy=True, config_extra=None):
    diff_ids = ["sha256:" + sha(l) for l in layers]
    config = {"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
              "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]},
              "rootfs": {"type": "layers", "diff_ids": diff_ids},
              "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "seed"} for _ in layers]}
    config.update(config_extra or {})
    cb = json.dumps(config, separators=(",", ":"), sort_keys=True).encode()
    ch = sha(cb)
    entries = []
    paths = []
    for l in layers:
        d = sha(l)
        if legacy:
            entries += [(ti(d + "/", tarfile.DIRTYPE, 0o755), None), (ti(d + "/VERSION"), b"1.0"),
                        (ti(d + "/json"), json.dumps({"id": d}).encode()), (ti(d + "/layer.tar"), l)]
            paths.append(d + "/layer.tar")
        else:
            entries += [(ti("blobs/sha256/" + d), l)]
            paths.append("blobs/sha256/" + d)
    entries.append((ti(ch + ".json"), cb))
    manifest = [{"Config": ch + ".json", "RepoTags": tags or None, "Layers": paths}]
    entries.append((ti("manifest.json"), json.dumps(manifest).encode()))
    if tags and legacy:
        repo, _, tag = tags[0].rpartition(":")
        entries.append((ti("repositories"), json.dumps({repo: {tag: sha(layers[-1])}}).encode()))
    return make_tar(entries, fmt=tarfile.USTAR_FORMAT)


def blob(blobs, data, media):
    d = sha(data)
    blobs["blobs/sha256/" + d] = data
    return {"mediaType": media, "digest": "sha256:" + d, "size": len(data)}


def oci_archive(layer, platforms, nested=False, ref="busybox:latest"):
    blobs = {}
    diff = "sha256:" + sha(layer)
    lay = blob(blobs, gz(layer), "application/vnd.oci.image.layer.v1.tar+gzip")
    manifests = []
    for p in platforms:
        os_, arch, *var = p.split("/")
        cfg = {"architecture": arch, "os": os_, "created": "2024-01-01T00:00:00Z",
               "config": {"Cmd": ["/bin/sh"]}, "rootfs": {"type": "layers", "diff_ids": [diff]}}
        if var:
            cfg["variant"] = var[0]
        c = blob(blobs, json.dumps(cfg, separators=(",", ":")).encode(), "application/vnd.oci.image.config.v1+json")
        man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": c,
               "layers": [lay]}
        m = blob(blobs, json.dumps(man).encode(), "application/vnd.oci.image.manifest.v1+json")
        m["platform"] = {"os": os_, "architecture": arch, **({"variant": var[0]} if var else {})}
        manifests.append(m)
    if nested:
        inner = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}
        top = [blob(blobs, json.dumps(inner).encode(), "application/vnd.oci.image.index.v1+json")]
    else:
        top = manifests[:1]
    top[0]["annotations"] = {"org.opencontainers.image.ref.name": ref}
    index = {"schemaVersion": 2, "manifests": top}
    entries = [(ti("oci-layout"), b'{"imageLayoutVersion":"1.0.0"}'),
               (ti("index.json"), json.dumps(index).encode())]
    entries += [(ti(n), d) for n, d in sorted(blobs.items())]
    return make_tar(entries, fmt=tarfile.USTAR_FORMAT)


def image_seeds():
    s = {}
    l1 = rootfs_layer()
    l2 = make_tar([(ti("etc/.wh.passwd"), b""), (ti("new"), b"2")])
    s["docker_legacy.tar"] = docker_archive([l1], ["busybox:latest"])
    s["docker_two_layers.tar"] = docker_archive([l1, l2], ["a/b:1", "localhost:5000/c:2"])
    s["docker_blobs_untagged.tar"] = docker_archive([l1], [], legacy=False)
    s["docker_legacy.tar.gz"] = gz(s["docker_legacy.tar"])
    s["oci.tar"] = oci_archive(l1, ["linux/amd64"])
    s["oci_multiarch.tar"] = oci_archive(l1, ["linux/arm64/v8", "linux/amd64"], nested=True)
    # Invalid: wrong diff ID, layer path escaping, no manifest at all.
    s["bad_diffid.tar"] = docker_archive([l1], ["x:1"], config_extra={
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]}})
    # A diff ID that is not a digest (regression: the error message read the freed config).
    s["regress_bad_diffid_syntax.tar"] = docker_archive([l1], ["x:1"], config_extra={
        "rootfs": {"type": "layers", "diff_ids": ["sha256:c8fbe6)"]}})
    s["bad_paths.tar"] = make_tar([(ti("manifest.json"), json.dumps(
        [{"Config": "../../etc/passwd", "RepoTags": ["x:1"], "Layers": ["/etc/passwd", "../x/layer.tar"]}]).encode())])
    s["not_archive"] = b"this is not a tar\n"
    return s


def context_seeds():
    """Build contexts as the CLI sends them (plain ustar, pax, GNU long names) and odd ones."""
    s = {}
    plain = [(ti("Dockerfile"), b"FROM busybox\nCOPY . /x\n"), (ti("dir/", tarfile.DIRTYPE, 0o755), None),
             (ti("dir/file"), b"hello\n"), (ti("dir/.hidden", mode=0o600), b"")]
    s["plain.tar"] = make_tar(plain, tarfile.USTAR_FORMAT)
    s["pax.tar"] = make_tar(plain + [(ti("dir/" + "n" * 120), b"long")])
    s["gnu.tar"] = make_tar(plain + [(ti("dir/" + "m" * 120), b"long")], tarfile.GNU_FORMAT)
    s["symlink.tar"] = make_tar(plain + [(ti("dir/l", tarfile.SYMTYPE, linkname="file"), None)])
    # a pax record whose length ends before its space
    bad = bytearray(make_tar([(ti("x"), b"")], tarfile.USTAR_FORMAT))
    hdr = tarfile.TarInfo("PaxHeaders/x")
    hdr.type = tarfile.XHDTYPE
    rec = b"2\n 9 path=x\n"
    hdr.size = len(rec)
    s["bad_pax_length.tar"] = hdr.tobuf(tarfile.USTAR_FORMAT) + rec + b"\0" * (512 - len(rec)) + bytes(bad)
    return s


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    for target, seeds in (("tar_apply", tar_seeds()), ("tar_in", tar_seeds()), ("image_load", image_seeds()),
                          ("context_index", context_seeds())):
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    sys.exit(main())
