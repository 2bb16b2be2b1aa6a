#!/usr/bin/env python3
"""A registry stub with the v1 search API (docker-registry has none):
/v2/ answers 200, /v1/search?q=&n= answers three fixed results whose names
contain q, at most n. Usage: search_stub.py PORT"""
import json
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RESULTS = [
    {"name": "library/busybox", "description": "Busybox base image.", "star_count": 3000, "is_official": True,
     "is_automated": False},
    {"name": "someone/busybox-tools",
     "description": "A very long description of busybox tools that goes on and on past forty-five characters",
     "star_count": 7, "is_official": False, "is_automated": True},
    {"name": "other/busybox-mini", "description": "tiny", "star_count": 0, "is_official": False,
     "is_automated": False},
]


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path == "/v2/":
            return self.send(200, {})
        if u.path == "/v1/search":
            q = urllib.parse.parse_qs(u.query)
            term = q.get("q", [""])[0]
            n = int(q.get("n", ["25"])[0])
            res = [r for r in RESULTS if term in r["name"]][:n]
            return self.send(200, {"num_results": len(res), "query": term, "results": res})
        self.send(404, {"errors": [{"code": "NOT_FOUND", "message": "not found"}]})


srv = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
srv.daemon_threads = True
srv.serve_forever()
