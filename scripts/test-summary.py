#!/usr/bin/env python3
"""Sum unit (meson testlog.json, TAP) and e2e (bats --tap files) results.

    test-summary.py [--meson TESTLOG.json] [--tap FILE.tap ...] [--sanitizer-dir DIR] [--extra NAME=ok|fail ...]

Prints per-source lines, then one last plain line `N passed, N failed`.
Exit status: 0 when nothing failed and something passed, else 1.
Counting rules:
- every TAP `ok` line counts as passed unless it carries `# SKIP`/`# skip`
  (skipped tests are reported, not counted), every `not ok` as failed
  (`# TODO` lines are reported, not counted);
- a TAP stream whose plan `1..N` promises more results than it printed
  counts the missing ones as failed (a crashed test binary or bats file);
- an e2e TAP file X.tap with an X.rc next to it (the suite's exit status,
  written by scripts/e2e-run.sh) that is not 0 while no failure was counted
  counts as one failure (a suite that timed out or died after its last
  result, or a bats file that did not parse);
- a meson test with no TAP output that failed counts as one failure;
- every sanitizer report file (asan.*, ubsan.*) in --sanitizer-dir counts as
  one failure;
- each --extra NAME=ok|fail (e.g. the format check) counts as one test.
"""
import argparse
import json
import os
import re
import sys

PLAN = re.compile(r"^\s*1\.\.(\d+)")
RESULT = re.compile(r"^\s*(not ok|ok)\b(.*)$")


def count_tap(text):
    passed = failed = skipped = todo = 0
    plan = None
    seen = 0
    failures = []
    for line in text.splitlines():
        m = PLAN.match(line)
        if m and plan is None:
            plan = int(m.group(1))
            continue
        m = RESULT.match(line)
        if not m:
            continue
        seen += 1
        directive = m.group(2)
        low = directive.lower()
        if re.search(r"#\s*skip", low):
            skipped += 1
        elif re.search(r"#\s*todo", low):
            todo += 1
        elif m.group(1) == "ok":
            passed += 1
        else:
            failed += 1
            failures.append(directive.strip())
    missing = max(0, (plan or 0) - seen)
    return passed, failed + missing, skipped, todo, missing, failures, plan


def read_rc(tap_path):
    """The suite's exit status from X.rc next to X.tap, or None."""
    rc_path = tap_path[:-4] + ".rc" if tap_path.endswith(".tap") else tap_path + ".rc"
    try:
        with open(rc_path) as f:
            return int(f.read().strip() or "0")
    except (OSError, ValueError):
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meson")
    ap.add_argument("--tap", nargs="*", default=[])
    ap.add_argument("--sanitizer-dir")
    ap.add_argument("--extra", action="append", default=[])
    a = ap.parse_args()

    total_p = total_f = total_s = 0

    if a.meson:
        up = uf = us = 0
        if os.path.exists(a.meson):
            with open(a.meson) as f:
                for line in f:
                    line = line.strip()
                    if not line:
                        continue
                    t = json.loads(line)
                    out = t.get("stdout") or ""
                    p, fl, s, _, missing, failures, plan = count_tap(out)
                    result = t.get("result", "")
                    if plan is None and p + fl + s == 0:
                        if result in ("OK", "EXPECTEDFAIL"):
                            p = 1
                        elif result != "SKIP":
                            fl = 1
                            failures = ["no TAP output (%s)" % result]
                    elif result not in ("OK", "SKIP", "EXPECTEDFAIL") and fl == 0:
                        fl = 1  # crashed/timed out after printing all its lines
                        failures.append("exit: %s" % result)
                    for x in failures:
                        print("unit: %s: not ok %s" % (t.get("name"), x))
                    if missing:
                        print("unit: %s: %d planned results missing" % (t.get("name"), missing))
                    up, uf, us = up + p, uf + fl, us + s
        else:
            print("unit: no meson test log at %s" % a.meson)
        print("unit: %d passed, %d failed, %d skipped" % (up, uf, us))
        total_p, total_f, total_s = total_p + up, total_f + uf, total_s + us

    ep = ef = es = 0
    for path in a.tap:
        try:
            with open(path, errors="replace") as f:
                text = f.read()
        except OSError:
            text = ""
        p, fl, s, _, missing, failures, plan = count_tap(text)
        if plan is None and p + fl + s == 0:
            fl = 1
            failures = ["no TAP output"]
        rc = read_rc(path)
        if rc in (124, 137):
            failures.append("suite timed out (exit %d)" % rc)
        elif rc and fl == 0:
            failures.append("suite exited %d" % rc)
        if rc and fl == 0:
            fl = 1  # every result it printed was ok, yet the suite failed
        name = os.path.basename(path)
        for x in failures:
            print("e2e: %s: not ok %s" % (name, x))
        if missing:
            print("e2e: %s: %d planned tests did not report" % (name, missing))
        ep, ef, es = ep + p, ef + fl, es + s
    if a.tap:
        print("e2e: %d passed, %d failed, %d skipped" % (ep, ef, es))
        total_p, total_f, total_s = total_p + ep, total_f + ef, total_s + es

    if a.sanitizer_dir and os.path.isdir(a.sanitizer_dir):
        reports = sorted(x for x in os.listdir(a.sanitizer_dir) if x.startswith(("asan", "ubsan")))
        for r in reports:
            print("sanitizer: report %s" % os.path.join(a.sanitizer_dir, r))
        total_f += len(reports)

    for e in a.extra:
        name, _, res = e.partition("=")
        if res == "ok":
            total_p += 1
        else:
            total_f += 1
            print("check: %s failed" % name)

    if total_s:
        print("(%d skipped)" % total_s)
    print("%d passed, %d failed" % (total_p, total_f))
    return 0 if total_f == 0 and total_p > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
