#!/usr/bin/env python3
"""A local CloudWatch Logs endpoint for the awslogs e2e tests.

  cwlogs.py ACCESS_KEY SECRET_KEY REGION OUT READY [STALL_FILE]

Serves CreateLogGroup, CreateLogStream, PutLogEvents (JSON 1.1 protocol) on
127.0.0.1 (port written to READY). Every request's Signature Version 4 is
checked with botocore; a bad one gets 403 InvalidSignatureException.
Sequence tokens are enforced. Each accepted event is appended to OUT as
{"group","stream","message","timestamp"}; each request as
{"action", "status"} to OUT.requests. While STALL_FILE exists, PutLogEvents
waits (a stalled endpoint).
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AK, SK, REGION, OUT, READY = sys.argv[1:6]
STALL = sys.argv[6] if len(sys.argv) > 6 else None
lock = threading.Lock()
groups = {}  # name -> {stream: next token int}
out = open(OUT, "a", buffering=1)
reqlog = open(OUT + ".requests", "a", buffering=1)


def verify(handler, body):
    auth = handler.headers.get("Authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return "missing signature"
    parts = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    cred = parts["Credential"].split("/")
    if cred[0] != AK:
        return "unknown access key"
    if cred[2] != REGION or cred[3] != "logs":
        return "wrong scope"
    signed = parts["SignedHeaders"].split(";")
    for must in ("host", "x-amz-date", "x-amz-target"):
        if must not in signed:
            return "header %s not signed" % must
    headers = {h: handler.headers[h] for h in signed if handler.headers.get(h) is not None}
    req = AWSRequest(method="POST", url="http://%s/" % handler.headers["Host"], data=body, headers=headers)
    amzdate = handler.headers["X-Amz-Date"]
    req.context["timestamp"] = amzdate
    signer = SigV4Auth(Credentials(AK, SK, handler.headers.get("X-Amz-Security-Token")), "logs", REGION)
    canonical = signer.canonical_request(req)
    sts = signer.string_to_sign(req, canonical)
    want = signer.signature(sts, req)
    if want != parts["Signature"]:
        return "signature mismatch"
    return None


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def err(self, code, typ, msg, **extra):
        d = {"__type": typ, "message": msg}
        d.update(extra)
        self.reply(code, d)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        action = self.headers.get("X-Amz-Target", "").split(".")[-1]
        bad = verify(self, body)
        reqlog.write(json.dumps({"action": action, "status": 403 if bad else 200, "why": bad}) + "\n")
        if bad:
            return self.err(403, "InvalidSignatureException",
                            "The request signature we calculated does not match the signature you provided.")
        req = json.loads(body)
        if action == "PutLogEvents" and STALL:
            while os.path.exists(STALL):
                time.sleep(0.05)
        with lock:
            g = req.get("logGroupName")
            if action == "CreateLogGroup":
                if g in groups:
                    return self.err(400, "ResourceAlreadyExistsException", "The specified log group already exists")
                groups[g] = {}
                out.write(json.dumps({"created_group": g}) + "\n")
                return self.reply(200, {})
            if g not in groups:
                return self.err(400, "ResourceNotFoundException", "The specified log group does not exist.")
            s = req.get("logStreamName")
            if action == "CreateLogStream":
                if s in groups[g]:
                    return self.err(400, "ResourceAlreadyExistsException", "The specified log stream already exists")
                groups[g][s] = 0
                out.write(json.dumps({"created_stream": s, "group": g}) + "\n")
                return self.reply(200, {})
            if action == "PutLogEvents":
                if s not in groups[g]:
                    return self.err(400, "ResourceNotFoundException", "The specified log stream does not exist.")
                tok = groups[g][s]
                if tok and req.get("sequenceToken") != str(tok):
                    return self.err(400, "InvalidSequenceTokenException", "bad token",
                                    expectedSequenceToken=str(tok))
                evs = req["logEvents"]
                ts = [e["timestamp"] for e in evs]
                if ts != sorted(ts) or len(evs) > 10000:
                    return self.err(400, "InvalidParameterException", "events not in order or too many")
                size = sum(len(e["message"].encode()) + 26 for e in evs)
                if size > 1048576:
                    return self.err(400, "InvalidParameterException", "batch too large")
                for e in evs:
                    out.write(json.dumps({"group": g, "stream": s, "message": e["message"],
                                          "timestamp": e["timestamp"]}) + "\n")
                groups[g][s] = tok + 1
                return self.reply(200, {"nextSequenceToken": str(tok + 1)})
        return self.err(400, "UnknownOperationException", action)


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(READY + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(READY + ".tmp", READY)
if len(sys.argv) > 7:
    # pre-create a group (a test of awslogs-create-group=false)
    groups[sys.argv[7]] = {}
srv.serve_forever()
