#!/usr/bin/env python3
"""A small HTTP proxy in front of a registry on 127.0.0.1, for the pull and push tests.

usage: registry_proxy.py UPSTREAM_PORT PORTFILE MODE
  MODE flip:  the body of every blob GET over 64 KiB (layers, not configs)
              has one byte flipped (in the middle)
  MODE slow:  blob bodies over 64 KiB are sent at about 512 KiB/s
  MODE pass:  unchanged
  MODE breakupload: the first blob upload PATCH whose body passes 256 KiB
              has its connection closed there, unanswered (a line
              "broke PATCH <path>" goes to PORTFILE.log); the rest passes
Request bodies (Content-Length or chunked) are forwarded with a
Content-Length. Writes the port it listens on to PORTFILE. Only loopback.
"""
import http.client
import http.server
import socket
import socketserver
import sys
import threading
import time

UP = int(sys.argv[1])
PORTFILE = sys.argv[2]
MODE = sys.argv[3]
BREAK_AT = 256 * 1024
broke = [False]
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def read_chunked(self, limit):
        """The chunked body, or None once more than limit bytes came (limit 0: no limit)."""
        parts, total = [], 0
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()
            total += size
            if limit and total > limit:
                return None

    def forward(self):
        breaking = False
        if MODE == "breakupload" and self.command == "PATCH" and "/blobs/uploads/" in self.path:
            with lock:  # claimed by one request at a time
                breaking = not broke[0]
                broke[0] = True
        n = int(self.headers.get("Content-Length") or 0)
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            body = self.read_chunked(BREAK_AT if breaking else 0)
        else:
            body = self.rfile.read(min(n, BREAK_AT + 1) if breaking else n) if n else None
        if breaking and (body is None or len(body) > BREAK_AT):
            with open(PORTFILE + ".log", "a") as f:
                f.write("broke PATCH %s\n" % self.path)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if breaking:
            with lock:  # too small: the next one breaks
                broke[0] = False
        if body is not None and len(body) == 0 and self.command in ("GET", "HEAD", "DELETE"):
            body = None
        hdrs = {k: v for k, v in self.headers.items()
                if k.lower() not in ("host", "connection", "transfer-encoding", "content-length")}
        if body is not None:
            hdrs["Content-Length"] = str(len(body))
        c = http.client.HTTPConnection("127.0.0.1", UP, timeout=120)
        c.request(self.command, self.path, body=body, headers=hdrs)
        r = c.getresponse()
        data = r.read()
        blob = ("/blobs/sha256:" in self.path and self.command == "GET" and r.status in (200, 206)
                and len(data) > 65536)
        if blob and MODE == "flip" and data:
            b = bytearray(data)
            b[len(b) // 2] ^= 0x01
            data = bytes(b)
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() in ("content-length", "transfer-encoding", "connection"):
                continue
            if k.lower() == "location" and v.startswith("http://127.0.0.1:%d" % UP):
                v = "http://127.0.0.1:%d" % self.server.server_address[1] + v[len("http://127.0.0.1:%d" % UP):]
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if blob and MODE == "slow":
            for i in range(0, len(data), 16384):
                self.wfile.write(data[i:i + 16384])
                self.wfile.flush()
                time.sleep(16384 / (512 * 1024))
        else:
            self.wfile.write(data)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = forward


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
