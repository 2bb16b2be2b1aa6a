#!/usr/bin/env bash
# The dependency rule (docs/ARCHITECTURE.md, "Dependency rule"): layers only
# point down.
#
#   front-ends (src/berthd, src/shim)
#     -> api -> daemon -> image, network -> storage, runtime, logger -> archive, metadata -> common
#
# A file in src/lib/<area>/ may include headers of its own area and of lower
# layers only (areas on the same level, e.g. storage and runtime, do not
# include each other). berthd and berth-shim may include any library area.
# The CLI (src/berth) talks to the daemon over HTTP only: it may include its
# own files, common/, archive/ and the pure-format headers listed in
# CLI_ALLOWED below.
#
# Prints every wrong-way include as "file:line: area -> area (include)" and
# exits 1 if there is one. Usage: scripts/check-includes.sh [repo root]
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2

exec python3 - <<'EOF'
import os, re, sys

# Lower number = lower layer. A library folder not listed here may include
# only common/ (add it to this table when it is created).
LEVEL = {
    "common": 1,
    "archive": 2, "metadata": 2,
    "storage": 3, "runtime": 3, "logger": 3,
    "image": 4, "network": 4, "builder": 4,
    "distribution": 4.5,  # registry transport, pull, push: may use image/ and storage/
    "daemon": 5,
    "api": 6,
}
FRONTENDS = {"berthd", "shim"}  # may include any library area
# The CLI: its own files, these areas, and the explicit exceptions below.
CLI_AREAS = {"common", "archive"}
# Explicit exceptions for the CLI: headers that are pure format code (parsing
# and printing, no I/O, no daemon state). References are docker's reference
# grammar; the CLI needs it to name images exactly as the daemon does.
CLI_ALLOWED = {
    "src/lib/image/reference.h",
}

INCLUDE = re.compile(r'^\s*#\s*include\s*["<]([^">]+)[">]')


def area_of(path):
    parts = path.split("/")
    if len(parts) >= 3 and parts[0] == "src" and parts[1] == "lib":
        return parts[2]
    if len(parts) >= 2 and parts[0] == "src":
        return {"berthd": "berthd", "shim": "shim", "berth": "cli"}.get(parts[1])
    return None


def resolve(path, inc):
    """Repo-relative path of an included header of ours, or None."""
    d = os.path.dirname(path)
    cands = [os.path.join(d, inc), os.path.join("src/lib", inc)]
    parts = path.split("/")
    if parts[0] == "src" and parts[1] != "lib":
        cands.append(os.path.join("src", parts[1], inc))  # a front-end's own include dir
    for c in cands:
        c = os.path.normpath(c)
        if os.path.isfile(c):
            return c
    return None


def allowed(frm, to, header):
    if to is None:
        return True
    if frm in FRONTENDS:
        return to in LEVEL or to == frm
    if frm == "cli":
        return to == "cli" or to in CLI_AREAS or header in CLI_ALLOWED
    if frm == to:
        return True
    if frm not in LEVEL:
        return to == "common"
    return to in LEVEL and LEVEL[to] < LEVEL[frm]


bad = 0
files = []
for top, dirs, names in os.walk("src"):
    dirs.sort()
    for n in sorted(names):
        if n.endswith((".c", ".h")):
            files.append(os.path.join(top, n))
for f in files:
    frm = area_of(f)
    if frm is None:
        continue
    try:
        with open(f, encoding="utf-8", errors="replace") as fh:
            lines = fh.readlines()
    except OSError:
        continue  # removed meanwhile
    for no, text in enumerate(lines, 1):
        m = INCLUDE.match(text)
        if not m:
            continue
        header = resolve(f, m.group(1))
        if header is None:
            continue  # system or generated header
        to = area_of(header)
        if not allowed(frm, to, header):
            print(f"{f}:{no}: {frm} -> {to} ({m.group(1)})")
            bad = 1
if bad:
    print("check-includes: wrong-way includes (see \"Dependency rule\" in docs/ARCHITECTURE.md)")
    sys.exit(1)
print("check-includes: ok")
EOF
