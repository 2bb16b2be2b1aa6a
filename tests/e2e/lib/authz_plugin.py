#!/usr/bin/env python3
"""A docker authorization plugin for the e2e tests (authz.bats).

authz_plugin.py SOCKET LOG [MODE]

Serves docker's plugin protocol on the unix socket SOCKET: Plugin.Activate
(Implements: ["authz"]), AuthZPlugin.AuthZReq and AuthZPlugin.AuthZRes.
Every request it receives is appended to LOG as one JSON line
{"method": ..., "body": <the request object>, "conn": N} (N numbers the
connections it accepted: keep-alive reuse shows). MODE:
  nobind (default)  allow everything except creating a container with bind
                    mounts (HostConfig.Binds or Mounts of Type "bind")
  denyall           deny every request ("denied by MODE denyall")
  error             answer AuthZReq with HTTP 500 {"Err": "plugin broke"}
  notauthz          Plugin.Activate answers Implements ["VolumeDriver"]
"""
import base64
import itertools
import json
import os
import socket
import socketserver
import sys
from http.server import BaseHTTPRequestHandler

SOCK, LOG = sys.argv[1], sys.argv[2]
MODE = sys.argv[3] if len(sys.argv) > 3 else "nobind"


def has_bind(req):
    body = req.get("RequestBody")
    if not body:
        return False
    try:
        cfg = json.loads(base64.b64decode(body))
    except Exception:
        return False
    hc = cfg.get("HostConfig") or {}
    # "-v name:/x" also lands in Binds: only a host path source is a bind
    if any(b.startswith("/") for b in hc.get("Binds") or []):
        return True
    return any((m or {}).get("Type") == "bind" for m in hc.get("Mounts") or [])


CONNS = itertools.count(1)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.conn_no = next(CONNS)

    def log_message(self, *args):
        pass

    def answer(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/vnd.docker.plugins.v1.2+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            req = json.loads(raw) if raw else {}
        except Exception:
            req = {"unparsed": raw.decode("latin-1")}
        method = self.path.lstrip("/")
        with open(LOG, "a") as f:
            f.write(json.dumps({"method": method, "body": req, "conn": self.conn_no}) + "\n")
        if method == "Plugin.Activate":
            impl = ["VolumeDriver"] if MODE == "notauthz" else ["authz"]
            return self.answer(200, {"Implements": impl})
        if method == "AuthZPlugin.AuthZReq":
            if MODE == "error":
                return self.answer(500, {"Err": "plugin broke"})
            if MODE == "denyall":
                return self.answer(200, {"Allow": False, "Msg": "denied by MODE denyall"})
            uri = req.get("RequestURI", "")
            if req.get("RequestMethod") == "POST" and "/containers/create" in uri and has_bind(req):
                return self.answer(200, {"Allow": False, "Msg": "bind mounts are not allowed"})
            return self.answer(200, {"Allow": True})
        if method == "AuthZPlugin.AuthZRes":
            return self.answer(200, {"Allow": True})
        return self.answer(404, {"Err": "unknown method " + method})


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        conn, _ = self.socket.accept()
        return conn, ("plugin", 0)


if os.path.exists(SOCK):
    os.unlink(SOCK)
srv = Server(SOCK, Handler)
srv.serve_forever()
