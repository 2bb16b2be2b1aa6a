#!/usr/bin/env python3
"""Test receivers for Berth's log drivers (tests/e2e/logging*.bats).

  logsink.py KIND ADDR OUT [READY]

KIND: syslog-udp, syslog-tcp (ADDR 127.0.0.1:0), syslog-unix, syslog-unixgram,
journald (ADDR a socket path), gelf-udp, gelf-tcp, fluentd (ADDR 127.0.0.1:0),
syslog-tls (ADDR 127.0.0.1:0; server certificate and key in SINK_TLS_CERT and
SINK_TLS_KEY, client certificates required and checked against SINK_TLS_CA).
Every message received is appended to OUT as one JSON line; once bound,
READY (default OUT.ready) gets the port (or path). Runs until killed.
"""
import gzip
import json
import os
import socket
import struct
import sys
import threading
import zlib

kind, addr, out = sys.argv[1], sys.argv[2], sys.argv[3]
ready = sys.argv[4] if len(sys.argv) > 4 else out + ".ready"
lock = threading.Lock()
outf = open(out, "a", buffering=1)


def emit(rec):
    with lock:
        outf.write(json.dumps(rec) + "\n")


def bind(stype, family=socket.AF_INET):
    if family == socket.AF_UNIX:
        if os.path.exists(addr):
            os.unlink(addr)
        s = socket.socket(socket.AF_UNIX, stype)
        s.bind(addr)
        where = addr
    else:
        host, port = addr.rsplit(":", 1)
        s = socket.socket(socket.AF_INET, stype)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, int(port)))
        where = str(s.getsockname()[1])
    if stype == socket.SOCK_STREAM:
        s.listen(16)
    tmp = ready + ".tmp"
    with open(tmp, "w") as f:
        f.write(where)
    os.rename(tmp, ready)
    return s


def serve_stream(s, handle):
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


def syslog_record(raw):
    return {"raw": raw.decode("utf-8", "replace").rstrip("\n")}


def syslog_stream(c):
    """Newline-framed messages, or RFC 5425 octet-counted frames ("LEN SP MSG",
    told apart by a leading digit: a syslog message starts with '<'); an
    octet-counted record carries "octets": LEN and "msg" ends with the frame's
    last byte as received."""
    buf = b""
    while True:
        d = c.recv(65536)
        if not d:
            return
        buf += d
        while buf:
            if buf[:1].isdigit():
                sp = buf.find(b" ")
                if sp < 0:
                    break
                n = int(buf[:sp])
                if len(buf) < sp + 1 + n:
                    break
                msg, buf = buf[sp + 1 : sp + 1 + n], buf[sp + 1 + n :]
                rec = syslog_record(msg)
                rec["octets"] = n
                rec["nl"] = msg.endswith(b"\n")
                emit(rec)
            elif b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                emit(syslog_record(line))
            else:
                break


def journal_parse(d):
    rec = {}
    i = 0
    while i < len(d):
        nl = d.index(b"\n", i)
        line = d[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            rec[k.decode()] = v.decode("utf-8", "replace")
            i = nl + 1
        else:
            n = struct.unpack("<Q", d[nl + 1:nl + 9])[0]
            rec[line.decode()] = d[nl + 9:nl + 9 + n].decode("utf-8", "replace")
            i = nl + 9 + n + 1
    return rec


def gelf_decode(d):
    if d[:2] == b"\x1f\x8b":
        d = gzip.decompress(d)
        comp = "gzip"
    elif d[:1] == b"\x78":
        d = zlib.decompress(d)
        comp = "zlib"
    else:
        comp = "none"
    rec = json.loads(d)
    rec["__compression"] = comp
    return rec


def mp_decode(b, i=0):
    t = b[i]
    if t <= 0x7F:
        return t, i + 1
    if 0x80 <= t <= 0x8F:
        return mp_map(b, i + 1, t & 0x0F)
    if 0x90 <= t <= 0x9F:
        return mp_arr(b, i + 1, t & 0x0F)
    if 0xA0 <= t <= 0xBF:
        n = t & 0x1F
        return b[i + 1:i + 1 + n].decode("utf-8", "replace"), i + 1 + n
    if t == 0xC0:
        return None, i + 1
    if t in (0xC2, 0xC3):
        return t == 0xC3, i + 1
    sizes = {0xD9: 1, 0xDA: 2, 0xDB: 4}
    if t in sizes:
        k = sizes[t]
        n = int.from_bytes(b[i + 1:i + 1 + k], "big")
        s = i + 1 + k
        return b[s:s + n].decode("utf-8", "replace"), s + n
    ints = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8}
    if t in ints:
        k = ints[t]
        return int.from_bytes(b[i + 1:i + 1 + k], "big"), i + 1 + k
    if t == 0xD7:  # fixext8: EventTime
        sec, ns = struct.unpack(">II", b[i + 2:i + 10])
        return sec + ns / 1e9, i + 10
    if t in (0xDC, 0xDD):
        k = 2 if t == 0xDC else 4
        return mp_arr(b, i + 1 + k, int.from_bytes(b[i + 1:i + 1 + k], "big"))
    if t in (0xDE, 0xDF):
        k = 2 if t == 0xDE else 4
        return mp_map(b, i + 1 + k, int.from_bytes(b[i + 1:i + 1 + k], "big"))
    raise ValueError("msgpack type %#x" % t)


def mp_arr(b, i, n):
    r = []
    for _ in range(n):
        v, i = mp_decode(b, i)
        r.append(v)
    return r, i


def mp_map(b, i, n):
    r = {}
    for _ in range(n):
        k, i = mp_decode(b, i)
        v, i = mp_decode(b, i)
        r[k] = v
    return r, i


def fluent_stream(c):
    buf = b""
    while True:
        d = c.recv(65536)
        if not d:
            return
        buf += d
        while buf:
            try:
                msg, n = mp_decode(buf)
            except (IndexError, struct.error):
                break
            buf = buf[n:]
            emit({"tag": msg[0], "time": msg[1], "record": msg[2]})


def gelf_tcp(c):
    buf = b""
    while True:
        d = c.recv(65536)
        if not d:
            return
        buf += d
        while b"\0" in buf:
            m, buf = buf.split(b"\0", 1)
            emit(gelf_decode(m))


if kind == "syslog-udp":
    s = bind(socket.SOCK_DGRAM)
    while True:
        emit(syslog_record(s.recv(65536)))
elif kind == "syslog-unixgram":
    s = bind(socket.SOCK_DGRAM, socket.AF_UNIX)
    while True:
        emit(syslog_record(s.recv(65536)))
elif kind == "syslog-tcp":
    serve_stream(bind(socket.SOCK_STREAM), syslog_stream)
elif kind == "syslog-tls":
    import ssl

    tctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tctx.load_cert_chain(os.environ["SINK_TLS_CERT"], os.environ["SINK_TLS_KEY"])
    tctx.verify_mode = ssl.CERT_REQUIRED
    tctx.load_verify_locations(os.environ["SINK_TLS_CA"])

    def tls_stream(c):
        try:
            syslog_stream(tctx.wrap_socket(c, server_side=True))
        except (ssl.SSLError, OSError) as e:
            emit({"tls_error": str(e)})

    serve_stream(bind(socket.SOCK_STREAM), tls_stream)
elif kind == "syslog-unix":
    serve_stream(bind(socket.SOCK_STREAM, socket.AF_UNIX), syslog_stream)
elif kind == "journald":
    s = bind(socket.SOCK_DGRAM, socket.AF_UNIX)
    while True:
        emit(journal_parse(s.recv(1 << 20)))
elif kind == "gelf-udp":
    s = bind(socket.SOCK_DGRAM)
    chunks = {}
    while True:
        d = s.recv(65536)
        if d[:2] == b"\x1e\x0f":
            mid, seq, cnt = d[2:10], d[10], d[11]
            parts = chunks.setdefault(mid, {})
            parts[seq] = d[12:]
            if len(parts) == cnt:
                del chunks[mid]
                rec = gelf_decode(b"".join(parts[k] for k in range(cnt)))
                rec["__chunks"] = cnt
                emit(rec)
        else:
            rec = gelf_decode(d)
            rec["__chunks"] = 0
            emit(rec)
elif kind == "gelf-tcp":
    serve_stream(bind(socket.SOCK_STREAM), gelf_tcp)
elif kind == "fluentd":
    serve_stream(bind(socket.SOCK_STREAM), fluent_stream)
else:
    sys.exit("unknown kind " + kind)
