#!/usr/bin/env python3
"""Raw exec/attach requests on the daemon socket (for exec_attach.bats).

  exec_api.py parallel SOCK CONTAINER N
      N execs at once, each `echo out<i>` with stdout attached, started
      with {"Detach":false,"Tty":false}: every one must answer 101 and
      carry its own line in a stdout frame; prints what went wrong and
      exits 1 otherwise.
  exec_api.py start SOCK PATH BODY [STDIN]
      POST PATH (an exec start or container attach) as a hijacked stream,
      BODY a JSON string; STDIN (python bytes literal) is sent once the
      101 is read, then the stream is read to EOF (the peer closes it; a
      bound of 60 s without data fails). Prints a JSON object: status
      (the status line), body (the bytes after the headers, latin-1),
      eof (true when the peer closed the stream).
"""
import ast
import json
import socket
import sys
import threading


def request(sock, method, path, body=None, hijack=False):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.settimeout(60)
    b = json.dumps(body).encode() if body is not None else b""
    h = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(b)}\r\n"
    if hijack:
        h += "Connection: Upgrade\r\nUpgrade: tcp\r\n"
    s.sendall(h.encode() + b"\r\n" + b)
    return s


def read_headers(s):
    data = b""
    while b"\r\n\r\n" not in data:
        x = s.recv(65536)
        if not x:
            break
        data += x
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def read_all(s, rest):
    data = rest
    eof = False
    try:
        while True:
            x = s.recv(65536)
            if not x:
                eof = True
                break
            data += x
    except socket.timeout:
        pass
    return data, eof


def simple(sock, method, path, body=None):
    s = request(sock, method, path, body)
    head, rest = read_headers(s)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(rest) < length:
        x = s.recv(65536)
        if not x:
            break
        rest += x
    s.close()
    return head.split(b"\r\n")[0].decode(), rest


def frames(data):
    out = []
    while len(data) >= 8:
        n = int.from_bytes(data[4:8], "big")
        out.append((data[0], data[8:8 + n]))
        data = data[8 + n:]
    return out, data


def parallel(sock, ctr, n):
    results = {}

    def one(i):
        try:
            st, b = simple(sock, "POST", f"/containers/{ctr}/exec",
                           {"Cmd": ["echo", f"out{i}"], "AttachStdout": True, "AttachStderr": True})
            eid = json.loads(b)["Id"]
            s = request(sock, "POST", f"/exec/{eid}/start", {"Detach": False, "Tty": False}, hijack=True)
            head, rest = read_headers(s)
            body, _ = read_all(s, rest)
            s.close()
            results[i] = (head.split(b"\r\n")[0].decode(), body)
        except Exception as e:  # noqa: BLE001 - reported as a failure below
            results[i] = (f"exception {e!r}", b"")

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    bad = 0
    for i in range(n):
        st, body = results.get(i, ("no result", b""))
        fr, left = frames(body)
        want = [(1, f"out{i}\n".encode())]
        if "101" not in st or fr != want or left:
            bad += 1
            print(f"exec {i}: {st} {body[:200]!r}")
    print(f"{n - bad} of {n} execs delivered their output")
    return 1 if bad else 0


def start(sock, path, body, stdin):
    s = request(sock, "POST", path, json.loads(body), hijack=True)
    head, rest = read_headers(s)
    status = head.split(b"\r\n")[0].decode()
    if status.split(" ")[1:2] == ["101"]:
        if stdin is not None:
            s.sendall(stdin)
        data, eof = read_all(s, rest)
    else:
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v.strip())
        data, eof = rest, True
        while len(data) < length:
            x = s.recv(65536)
            if not x:
                break
            data += x
    s.close()
    print(json.dumps({"status": status, "body": data.decode("latin-1"), "eof": eof}))
    return 0


def main():
    if sys.argv[1] == "parallel":
        return parallel(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    if sys.argv[1] == "start":
        stdin = ast.literal_eval(sys.argv[5]) if len(sys.argv) > 5 else None
        return start(sys.argv[2], sys.argv[3], sys.argv[4], stdin)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
