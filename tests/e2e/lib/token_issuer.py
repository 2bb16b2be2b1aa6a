#!/usr/bin/env python3
"""A small Bearer token issuer for the registry auth tests (docker's token
auth spec, as Docker Hub's auth server answers it).

    token_issuer.py --port P --key key.pem --cert cert.pem --service S --issuer I \
                    --user alice:secret [--user bob:pw ...] [--log FILE]

GET  /token?service=&scope=&offline_token=&client_id=   with Basic credentials
     (or none: anonymous, no access granted)
POST /token  form grant_type=password (username, password) or
     grant_type=refresh_token (refresh_token)
Answers {"token", "access_token", "expires_in", "issued_at"[, "refresh_token"]}:
a JWT (RS256, x5c header with the certificate the registry trusts) granting
the requested scopes to a known user. Wrong credentials: 401
{"details":"incorrect username or password"} (Docker Hub's body). A refresh
token is given for offline_token=true and for the password grant. The log
(--log) records the requests' method, path without query and result only:
never a credential.
"""
import argparse
import base64
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Issuer:
    def __init__(self, args):
        with open(args.key, "rb") as f:
            self.key = serialization.load_pem_private_key(f.read(), password=None)
        with open(args.cert, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        self.x5c = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
        self.service = args.service
        self.issuer = args.issuer
        self.users = dict(u.split(":", 1) for u in args.user)
        self.refresh = {}
        self.lock = threading.Lock()
        self.logf = open(args.log, "a", buffering=1) if args.log else None

    def log(self, msg):
        if self.logf:
            self.logf.write(msg + "\n")

    def jwt(self, sub, scopes):
        access = []
        for s in scopes:
            parts = s.split(":")
            if len(parts) < 3 or parts[0] != "repository":
                continue
            actions = [a for a in parts[-1].split(",") if a in ("pull", "push", "delete", "*")]
            access.append({"type": "repository", "name": ":".join(parts[1:-1]), "actions": actions})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": self.x5c}
        claims = {"iss": self.issuer, "sub": sub, "aud": self.service, "exp": now + 300, "nbf": now - 10,
                  "iat": now, "jti": secrets.token_hex(8), "access": access}
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        sig = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(sig)

    def answer(self, user, scopes, offline):
        tok = self.jwt(user or "", scopes if user else [])
        out = {"token": tok, "access_token": tok, "expires_in": 300,
               "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if offline and user:
            rt = secrets.token_urlsafe(24)
            with self.lock:
                self.refresh[rt] = user
            out["refresh_token"] = rt
        return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.issuer.log("%s %s -> %d" % (self.command, self.path.split("?")[0], code))

    def denied(self):
        self.reply(401, {"details": "incorrect username or password"})

    def check(self, user, password):
        return user in self.server.issuer.users and self.server.issuer.users[user] == password

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path != "/token":
            return self.reply(404, {"details": "not found"})
        q = urllib.parse.parse_qs(u.query)
        user = None
        h = self.headers.get("Authorization", "")
        if h.startswith("Basic "):
            try:
                user, password = base64.b64decode(h[6:]).decode().split(":", 1)
            except Exception:
                return self.denied()
            if not self.check(user, password):
                return self.denied()
        offline = q.get("offline_token", ["false"])[0] == "true"
        self.reply(200, self.server.issuer.answer(user, q.get("scope", []), offline))

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length", "0") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(n).decode()) if n else {}
        if u.path != "/token":
            return self.reply(404, {"details": "not found"})
        grant = form.get("grant_type", [""])[0]
        scopes = " ".join(form.get("scope", [])).split()
        iss = self.server.issuer
        if grant == "password":
            user, password = form.get("username", [""])[0], form.get("password", [""])[0]
            if not self.check(user, password):
                return self.denied()
            return self.reply(200, iss.answer(user, scopes, True))
        if grant == "refresh_token":
            with iss.lock:
                user = iss.refresh.get(form.get("refresh_token", [""])[0])
            if not user:
                return self.reply(401, {"details": "invalid refresh token"})
            out = iss.answer(user, scopes, False)
            out["refresh_token"] = form.get("refresh_token", [""])[0]
            return self.reply(200, out)
        self.reply(400, {"details": "unsupported grant_type"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--service", required=True)
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--user", action="append", default=[])
    ap.add_argument("--log")
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.issuer = Issuer(args)
    sys.stdout.write("token issuer on 127.0.0.1:%d\n" % args.port)
    sys.stdout.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
