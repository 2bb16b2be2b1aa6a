#!/usr/bin/env python3
"""Write hostile layer tarballs for tests/e2e/hostile.bats.

    hostile-tars.py OUTDIR CANARY_DIR

CANARY_DIR is an absolute directory outside the daemon's data root holding a
file `secret`; every tarball tries to write into it (or read it) from inside a
layer. Writes OUTDIR/<case>.tar for each case below, plus a plain valid
OUTDIR/good.tar for a control.
"""
import gzip
import io
import os
import sys
import tarfile

UP = "../" * 40  # from any extraction directory up to /


def ti(name, typ=tarfile.REGTYPE, size=0, mode=0o644, linkname=""):
    t = tarfile.TarInfo(name)
    t.type = typ
    t.size = size
    t.mode = mode
    t.linkname = linkname
    t.mtime = 0
    return t


def write(path, entries, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            else:
                tf.addfile(info)
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    return buf.getvalue()


def main():
    out, canary = sys.argv[1], sys.argv[2].rstrip("/")
    rel_canary = canary.lstrip("/")
    os.makedirs(out, exist_ok=True)
    base = [(ti("etc/", tarfile.DIRTYPE, mode=0o755), None), (ti("etc/ok", size=3), b"ok\n")]

    # control: a harmless layer
    write(os.path.join(out, "good.tar"), base)

    # 1. ../ traversal to the canary
    write(os.path.join(out, "traversal.tar"), base + [(ti(UP + rel_canary + "/traversal"), b"pwned\n")])

    # 2. a name made of dot-dot only
    write(os.path.join(out, "dotdot.tar"), base + [(ti("etc/../../" + "../" * 38 + rel_canary + "/dotdot"), b"pwned\n")])

    # 3. absolute path (docker strips the leading '/', keeping it inside the layer)
    write(os.path.join(out, "absolute.tar"), base + [(ti(canary + "/absolute"), b"pwned\n")])

    # 4. symlink to the canary (absolute), then a file written through it
    write(os.path.join(out, "symlink-abs.tar"), base + [
        (ti("escape", tarfile.SYMTYPE, linkname=canary), None),
        (ti("escape/symlink-abs"), b"pwned\n"),
    ])

    # 5. symlink to the canary through ../, then a file written through it
    write(os.path.join(out, "symlink-rel.tar"), base + [
        (ti("etc/escape", tarfile.SYMTYPE, linkname=UP + rel_canary), None),
        (ti("etc/escape/symlink-rel"), b"pwned\n"),
    ])

    # 6. symlink to the canary's secret file, then the file itself overwritten
    write(os.path.join(out, "symlink-file.tar"), base + [
        (ti("etc/secret", tarfile.SYMTYPE, linkname=canary + "/secret"), None),
        (ti("etc/secret"), b"pwned\n"),
    ])

    # 7. hard link to a file outside (relative), then written through
    write(os.path.join(out, "hardlink-rel.tar"), base + [
        (ti("etc/passwd", tarfile.LNKTYPE, linkname=UP + rel_canary + "/secret"), None),
        (ti("etc/passwd"), b"pwned\n"),
    ])

    # 8. hard link to /etc/passwd and to the canary by absolute name
    write(os.path.join(out, "hardlink-abs.tar"), base + [
        (ti("etc/hostpasswd", tarfile.LNKTYPE, linkname="/etc/passwd"), None),
        (ti("etc/secret", tarfile.LNKTYPE, linkname=canary + "/secret"), None),
    ])

    # 9. absurd size header (4 EiB) followed by a few bytes and EOF
    hdr = ti("etc/huge", size=0)
    hdr.size = 1 << 62
    data = ti("etc/", tarfile.DIRTYPE, mode=0o755).tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
    data += hdr.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape") + b"A" * 4096
    with open(os.path.join(out, "huge-size.tar"), "wb") as f:
        f.write(data)

    # 10. truncated gzip of a valid layer
    big = [(ti("etc/", tarfile.DIRTYPE, mode=0o755), None)] + [
        (ti("etc/f%03d" % i), os.urandom(2048)) for i in range(64)]
    raw = write(os.path.join(out, "_untruncated.tar"), big)
    os.unlink(os.path.join(out, "_untruncated.tar"))
    gz = gzip.compress(raw, mtime=0)
    with open(os.path.join(out, "truncated-gzip.tar"), "wb") as f:
        f.write(gz[: len(gz) // 2])

    # 11. truncated plain tar (cut inside a file's data)
    with open(os.path.join(out, "truncated-tar.tar"), "wb") as f:
        f.write(raw[: len(raw) // 2 + 100])


if __name__ == "__main__":
    main()
